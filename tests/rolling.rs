//! Rolling updates (`deploy.update_config`) against the real Docker Engine, through the real
//! binary: `wharf up -d` after a change replaces the replicas batch by batch, and what a user
//! sees while it does (how many replicas run, in which order they are replaced, what a failed
//! new config leaves behind). Every test has its own project and removes what it made, even
//! when it fails.

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use support::{
    COMMAND_LIMIT, Cleanup, OutputWithin, all_output, busybox_image, inspect, project_containers,
    seconds_of_day, unique_project, wharf_command,
};

/// A project directory with a compose file and its own state directory, and the guard that
/// removes its resources.
struct Project {
    dir: tempfile::TempDir,
    name: String,
    _cleanup: Cleanup,
}

impl Project {
    fn new(prefix: &str, compose: &str) -> Project {
        let name = unique_project(prefix);
        let project = Project {
            _cleanup: Cleanup::new(&name),
            dir: tempfile::tempdir().unwrap(),
            name,
        };
        project.write(compose);
        project
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `compose.yaml`, with `IMAGE` standing for the test image.
    fn write(&self, compose: &str) {
        let compose = compose.replace("IMAGE", busybox_image());
        std::fs::write(self.path().join("compose.yaml"), compose).unwrap();
    }

    fn wharf(&self, args: &[&str]) -> Output {
        wharf_command(&self.name, self.path(), &self.path().join("state"))
            .args(args)
            .output_within(COMMAND_LIMIT)
    }

    /// Runs wharf and insists on success.
    fn ok(&self, args: &[&str]) {
        let out = self.wharf(args);
        assert!(
            out.status.success(),
            "wharf {args:?} failed:\n{}",
            all_output(&out)
        );
    }

    /// Container name → ID, for every container of the project, running or not.
    fn containers(&self) -> BTreeMap<String, String> {
        project_containers(&self.name)
    }

    fn running(&self) -> usize {
        support::running_containers(&self.name)
    }

    fn replica(&self, n: u32) -> String {
        format!("{}-web-{n}", self.name)
    }

    /// Waits until `count` containers of the project run.
    fn wait_running(&self, count: usize) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.running() != count {
            assert!(Instant::now() < deadline, "{count} replicas never ran");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// Counts the project's running containers with `docker ps`, over and over, until stopped;
/// `stop` returns the lowest count seen.
struct Sampler {
    done: Arc<AtomicBool>,
    thread: JoinHandle<(usize, usize)>,
}

impl Sampler {
    fn start(project: &Project) -> Sampler {
        let done = Arc::new(AtomicBool::new(false));
        let name = project.name.clone();
        let flag = done.clone();
        let thread = std::thread::spawn(move || {
            let (mut lowest, mut samples) = (usize::MAX, 0);
            while !flag.load(Ordering::Relaxed) {
                lowest = lowest.min(support::running_containers(&name));
                samples += 1;
            }
            (lowest, samples)
        });
        Sampler { done, thread }
    }

    /// The fewest running containers seen, and how many samples were taken.
    fn stop(self) -> (usize, usize) {
        self.done.store(true, Ordering::Relaxed);
        self.thread.join().unwrap()
    }
}

/// Three replicas of a web server; `UPDATE` stands for the `update_config` lines.
const WEB: &str = r#"
services:
  web:
    image: IMAGE
    command: ["httpd", "-f", "-p", "80"]
    init: true
    environment:
      GREETING: hello
    deploy:
      replicas: 3
      update_config:
UPDATE
"#;

fn web(update_config: &str, extra: &str) -> String {
    let update: Vec<String> = update_config
        .lines()
        .map(|l| format!("        {}", l.trim()))
        .collect();
    WEB.replace("UPDATE", &update.join("\n")) + extra
}

#[test]
fn start_first_keeps_three_replicas_running_through_the_update() {
    let healthcheck = "    healthcheck:\n      test: [\"CMD\", \"true\"]\n      interval: 300ms\n";
    let compose = web(
        "parallelism: 1\norder: start-first\nmonitor: 500ms",
        healthcheck,
    );
    let project = Project::new("roll-start-first", &compose);
    project.ok(&["up", "-d"]);
    project.wait_running(3);
    let before = project.containers();

    project.write(&compose.replace("GREETING: hello", "GREETING: bonjour"));
    let sampler = Sampler::start(&project);
    project.ok(&["up", "-d"]);
    let (lowest, samples) = sampler.stop();

    assert!(samples >= 5, "only {samples} samples of docker ps");
    assert!(lowest >= 3, "{lowest} replicas ran at one moment");
    let after = project.containers();
    let names: Vec<&String> = after.keys().collect();
    let expected: Vec<String> = (1..=3).map(|n| project.replica(n)).collect();
    assert_eq!(names, expected.iter().collect::<Vec<_>>());
    for (name, id) in &after {
        assert!(
            !before.values().any(|old| old == id),
            "{name} was not replaced"
        );
        let env = inspect(name, "{{json .Config.Env}}");
        assert!(env.contains("GREETING=bonjour"), "{name}: {env}");
        assert_eq!(inspect(name, "{{.State.Health.Status}}"), "healthy");
    }
}

#[test]
fn stop_first_with_parallelism_one_replaces_one_replica_at_a_time() {
    let compose = web("parallelism: 1\nmonitor: 1s", "");
    let project = Project::new("roll-stop-first", &compose);
    project.ok(&["up", "-d"]);
    project.wait_running(3);

    project.write(&compose.replace("GREETING: hello", "GREETING: bonjour"));
    let sampler = Sampler::start(&project);
    project.ok(&["up", "-d"]);
    let (lowest, _) = sampler.stop();

    // Never more than one replica down, and each one started a monitor period after the one
    // before: one batch at a time.
    assert!(lowest >= 2, "{lowest} replicas ran at one moment");
    let started: Vec<f64> = (1..=3)
        .map(|n| {
            let name = project.replica(n);
            assert!(inspect(&name, "{{json .Config.Env}}").contains("GREETING=bonjour"));
            seconds_of_day(&inspect(&name, "{{.State.StartedAt}}"))
        })
        .collect();
    for pair in started.windows(2) {
        assert!(
            pair[1] - pair[0] >= 1.0,
            "replicas started {:.2}s apart: {started:?}",
            pair[1] - pair[0]
        );
    }
}

#[test]
fn a_failing_new_config_is_rolled_back_and_up_names_the_service() {
    let compose = web("parallelism: 1\nmonitor: 2s\nfailure_action: rollback", "");
    let project = Project::new("roll-rollback", &compose);
    project.ok(&["up", "-d"]);
    project.wait_running(3);
    let before = project.containers();

    // The new command runs for a moment, then fails: the monitor catches it.
    project.write(&compose.replace(
        r#"command: ["httpd", "-f", "-p", "80"]"#,
        r#"command: ["sh", "-c", "sleep 0.5; exit 1"]"#,
    ));
    let out = project.wharf(&["up", "-d"]);
    let output = all_output(&out);
    assert!(!out.status.success(), "up succeeded:\n{output}");
    assert!(
        output.contains("service \"web\": update rolled back: 1 of 3 updated replicas failed"),
        "{output}"
    );
    assert!(
        output.contains("exited (1) during its 2s monitor"),
        "{output}"
    );

    // The very same old containers, running their old command; the failed one is gone.
    assert_eq!(project.containers(), before);
    assert_eq!(project.running(), 3);
    for name in before.keys() {
        let command = inspect(name, "{{json .Config.Cmd}}");
        assert_eq!(command, r#"["httpd","-f","-p","80"]"#, "{name}");
    }
}

#[test]
fn a_failing_new_config_pauses_the_update_by_default() {
    let compose = web("parallelism: 1\nmonitor: 2s", "");
    let project = Project::new("roll-pause", &compose);
    project.ok(&["up", "-d"]);
    project.wait_running(3);
    let before = project.containers();

    project.write(&compose.replace(
        r#"command: ["httpd", "-f", "-p", "80"]"#,
        r#"command: ["sh", "-c", "sleep 0.5; exit 1"]"#,
    ));
    let out = project.wharf(&["up", "-d"]);
    let output = all_output(&out);
    assert!(!out.status.success(), "up succeeded:\n{output}");
    assert!(
        output.contains("service \"web\": update paused: 1 of 3 updated replicas failed"),
        "{output}"
    );

    // The failed replica is on the new command (as in swarm); the other two were not touched.
    let after = project.containers();
    assert_eq!(after.len(), 3, "{after:?}");
    let first = project.replica(1);
    assert_ne!(after[&first], before[&first]);
    assert_eq!(inspect(&first, "{{.State.Status}}"), "exited");
    for n in [2, 3] {
        let name = project.replica(n);
        assert_eq!(after[&name], before[&name], "{name} was replaced");
        assert_eq!(inspect(&name, "{{.State.Status}}"), "running");
    }
}
