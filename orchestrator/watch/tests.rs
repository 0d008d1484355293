//! The watcher's loop on real files, with a target that records what it is asked to do: a
//! failed converge is reported and watching goes on, an invalid save asks for nothing, the next
//! valid save converges, a save that changes nothing asks for nothing.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::{Outcome, TargetError, WatchTarget, Watcher};
use crate::desired::{self, BuildOptions, Desired};
use crate::engine::EngineError;
use crate::engine::memory::MemoryEngine;
use crate::spec::{self, LoadOptions};

/// Records each call as `converge COLOR=…`; the first converge fails, as with the engine away.
#[derive(Default)]
struct Recorder {
    calls: Mutex<Vec<String>>,
}

#[async_trait]
impl WatchTarget for Recorder {
    async fn converge(&self, desired: &Desired) -> Outcome {
        let environment = &desired.services["web"].container.env;
        let mut calls = self.calls.lock().unwrap();
        calls.push(format!("converge {}", environment.join(" ")));
        match calls.len() {
            1 => Err(TargetError::Observe {
                project: desired.project.clone(),
                source: EngineError::Unreachable("connection refused".to_string()),
            }),
            _ => Ok(()),
        }
    }

    async fn rebuild(&self, _: &Desired, service: &str) -> Outcome {
        self.calls
            .lock()
            .unwrap()
            .push(format!("rebuild {service}"));
        Ok(())
    }

    async fn restart(&self, _: &Desired, service: &str) -> Outcome {
        self.calls
            .lock()
            .unwrap()
            .push(format!("restart {service}"));
        Ok(())
    }
}

fn compose(color: &str) -> String {
    format!("services:\n  web:\n    image: busybox\n    environment: [COLOR={color}]\n")
}

fn save(path: &Path, content: &str) {
    let temporary = path.with_extension("tmp");
    std::fs::write(&temporary, content).unwrap();
    std::fs::rename(&temporary, path).unwrap();
}

async fn wait_for_calls(recorder: &Recorder, count: usize) -> Vec<String> {
    let calls = || recorder.calls.lock().unwrap().clone();
    at_least(count, Duration::from_secs(5), calls).await
}

/// What `read` gives, once it has `count` lines (or `limit` has passed).
async fn at_least(count: usize, limit: Duration, read: impl Fn() -> Vec<String>) -> Vec<String> {
    let deadline = Instant::now() + limit;
    loop {
        let lines = read();
        if lines.len() >= count || Instant::now() > deadline {
            return lines;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_converge_or_an_invalid_save_does_not_end_watching() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("compose.yaml");
    std::fs::write(&file, compose("blue")).unwrap();
    let options = LoadOptions {
        project_name: Some("demo".into()),
        cwd: dir.path().to_path_buf(),
        ..LoadOptions::default()
    };
    let load = move || {
        let project = spec::load(&options).ok()?;
        let desired = desired::build(&project, &BuildOptions::default());
        Some((project, desired))
    };
    let (project, desired) = load().unwrap();
    let recorder = Arc::new(Recorder::default());
    let watcher = Watcher::new(
        Arc::new(MemoryEngine::new()),
        recorder.clone(),
        &project,
        desired,
        Box::new(load),
    )
    .unwrap();
    let (stop, running) = run(watcher);
    // The subscription is made as soon as the task runs.
    tokio::time::sleep(Duration::from_millis(300)).await;

    save(&file, &compose("green"));
    assert_eq!(wait_for_calls(&recorder, 1).await, ["converge COLOR=green"]);

    save(&file, "services:\n  web: [unclosed\n");
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        recorder.calls.lock().unwrap().len(),
        1,
        "an invalid save asks nothing"
    );

    save(&file, &compose("red"));
    let calls = wait_for_calls(&recorder, 2).await;
    assert_eq!(calls, ["converge COLOR=green", "converge COLOR=red"]);

    save(&file, &compose("red"));
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        recorder.calls.lock().unwrap().len(),
        2,
        "the same content asks nothing"
    );

    stop.send(()).unwrap();
    assert!(running.await.unwrap().is_ok());
}

/// A project whose `web` service syncs `site/` into `/srv/site` (no initial sync), loaded from
/// `dir`; and an engine with one running replica of `web`.
fn synced_project(dir: &Path) -> (crate::spec::Project, Desired, Arc<MemoryEngine>) {
    std::fs::create_dir_all(dir.join("site")).unwrap();
    std::fs::write(dir.join("site/index.html"), "v0").unwrap();
    std::fs::write(
        dir.join("compose.yaml"),
        "services:\n  web:\n    image: busybox\n    develop:\n      watch:\n        - path: ./site\n          action: sync\n          target: /srv/site\n",
    )
    .unwrap();
    let options = LoadOptions {
        project_name: Some("demo".into()),
        cwd: dir.to_path_buf(),
        ..LoadOptions::default()
    };
    let project = spec::load(&options).unwrap();
    let desired = desired::build(&project, &BuildOptions::default());
    let engine = Arc::new(MemoryEngine::new());
    let labels = [
        (crate::engine::labels::PROJECT, "demo"),
        (crate::engine::labels::SERVICE, "web"),
        (crate::engine::labels::NUMBER, "1"),
    ];
    engine.add_container(
        "demo-web-1",
        "busybox",
        &labels,
        crate::engine::ContainerState::Running,
    );
    (project, desired, engine)
}

/// A watcher of [`synced_project`], its target recording.
fn synced_watcher(
    project: &crate::spec::Project,
    desired: Desired,
    engine: &Arc<MemoryEngine>,
) -> Watcher {
    let target = Arc::new(Recorder::default());
    let load = Box::new(|| None);
    Watcher::new(engine.clone(), target, project, desired, load).unwrap()
}

/// Runs `watcher` until the sender is used.
fn run(
    watcher: Watcher,
) -> (
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<Result<(), super::WatchError>>,
) {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(watcher.run(async {
        let _ = stopped.await;
    }));
    (stop, running)
}

async fn wait_for_upload(engine: &MemoryEngine) -> Vec<String> {
    wait_for_uploads(engine, 1).await
}

/// The engine's uploads, once there are `count` (or 3 s have passed).
async fn wait_for_uploads(engine: &MemoryEngine, count: usize) -> Vec<String> {
    let uploads = || {
        let calls = engine.calls().into_iter();
        calls
            .filter(|call| call.starts_with("upload_archive"))
            .collect()
    };
    at_least(count, Duration::from_secs(3), uploads).await
}

/// `wharf watch` and `up --watch` make their watcher, converge, then run it: a save made
/// while they converge (the replicas may already be up: a user or a script sees them and
/// saves) is synced once watching runs. Until the watcher subscribed only when it ran, such a
/// save had no event, and its content was taken for the one the replicas had: it was never
/// synced.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_save_made_between_making_the_watcher_and_running_it_is_synced() {
    let dir = tempfile::tempdir().unwrap();
    let (project, desired, engine) = synced_project(dir.path());
    let watcher = synced_watcher(&project, desired, &engine);

    // The converge, during which the file is saved.
    save(&dir.path().join("site/index.html"), "v1");
    tokio::time::sleep(Duration::from_millis(100)).await;

    let (stop, running) = run(watcher);
    let uploads = wait_for_upload(&engine).await;
    assert_eq!(uploads.len(), 1, "the save is synced once: {uploads:?}");
    assert!(uploads[0].ends_with("[srv/site/index.html]"), "{uploads:?}");
    stop.send(()).unwrap();
    assert!(running.await.unwrap().is_ok());
}

/// A rule's directory made after watching began (it did not exist), or removed and made again
/// (`rm -rf` and a copy, a checkout): saves in it are synced, the first and every later one.
/// (Its subscription used to be made once: the parent's, or the one the removal ended.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saves_in_a_rule_directory_made_or_made_again_after_watching_began_are_synced() {
    for removed_first in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let (project, desired, engine) = synced_project(dir.path());
        let site = dir.path().join("site");
        if removed_first {
            std::fs::remove_dir_all(&site).unwrap();
        }
        let watcher = synced_watcher(&project, desired, &engine);
        let (stop, running) = run(watcher);
        tokio::time::sleep(Duration::from_millis(100)).await;
        if !removed_first {
            std::fs::remove_dir_all(&site).unwrap();
            tokio::time::sleep(Duration::from_millis(600)).await;
        }
        std::fs::create_dir(&site).unwrap();
        save(&site.join("index.html"), "v1");
        let uploads = wait_for_uploads(&engine, 1).await;
        assert_eq!(uploads.len(), 1, "made again: {uploads:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
        save(&site.join("index.html"), "v2");
        let uploads = wait_for_uploads(&engine, 2).await;
        assert_eq!(
            uploads.len(),
            2,
            "saved after (removed first: {removed_first}): {uploads:?}"
        );
        stop.send(()).unwrap();
        assert!(running.await.unwrap().is_ok());
    }
}

/// A sync that fails (the replica restarting, the engine away for a moment) is tried again
/// after `retry::DELAY`: the save still reaches the replica. (It used to be said and dropped:
/// the file's new content was recorded, so nothing synced it until it changed again.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_that_fails_is_tried_again_and_the_save_reaches_the_replica() {
    let dir = tempfile::tempdir().unwrap();
    let (project, desired, engine) = synced_project(dir.path());
    let id = crate::engine::ContainerEngine::container(engine.as_ref(), "demo-web-1")
        .await
        .unwrap()
        .id;
    engine.fail("upload_archive", &id, "container is restarting");
    let watcher = synced_watcher(&project, desired, &engine);
    let (stop, running) = run(watcher);
    tokio::time::sleep(Duration::from_millis(100)).await;
    save(&dir.path().join("site/index.html"), "v1");
    let calls = wait_for_uploads(&engine, 2).await;
    assert_eq!(
        calls,
        [
            format!("upload_archive {id}"),
            format!("upload_archive {id} / [srv/site/index.html]")
        ],
        "one failed upload, then the same file again"
    );
    stop.send(()).unwrap();
    assert!(running.await.unwrap().is_ok());
}
