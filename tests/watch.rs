//! `wharf watch` against the real Docker Engine, on real files in a temporary directory:
//! a model change replaces only what changed, a new service starts, an invalid save changes
//! nothing until it is fixed, a sync rule copies into every replica, a rebuild rule builds a
//! new image and replaces the replicas. Every test has its own project and removes what it
//! made, even when it fails.

mod support;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::{
    COMMAND_LIMIT, Cleanup, OutputWithin, busybox_image, docker_lines, project_containers,
    unique_project, wharf_command,
};

/// A project directory, a running `wharf watch` on it, and what it has printed so far.
struct Watched {
    dir: tempfile::TempDir,
    name: String,
    child: Child,
    output: Arc<Mutex<Vec<String>>>,
    cleanup: Cleanup,
}

impl Watched {
    /// Writes the files (`IMAGE` stands for the test image), starts `wharf watch` and waits
    /// until it watches.
    fn start(prefix: &str, files: &[(&str, &str)]) -> Watched {
        Watched::start_with(prefix, &["watch"], files)
    }

    /// The same with other arguments after `-p NAME` (`up --watch`).
    fn start_with(prefix: &str, args: &[&str], files: &[(&str, &str)]) -> Watched {
        Watched::start_after(prefix, &[], args, files)
    }

    /// The same after another command of wharf has run on the files (`up -d`).
    fn start_after(
        prefix: &str,
        before: &[&str],
        args: &[&str],
        files: &[(&str, &str)],
    ) -> Watched {
        let watched = Watched::spawn(prefix, before, args, files);
        watched.wait_for("watch: watching", Duration::from_secs(60));
        watched
    }

    /// The same without waiting until it watches.
    fn spawn(prefix: &str, before: &[&str], args: &[&str], files: &[(&str, &str)]) -> Watched {
        let name = unique_project(prefix);
        let dir = tempfile::tempdir().unwrap();
        for (path, content) in files {
            write(&dir.path().join(path), content);
        }
        let cleanup = Cleanup::new(&name);
        if !before.is_empty() {
            let output = wharf(dir.path(), &name)
                .args(before)
                .output_within(COMMAND_LIMIT);
            assert!(
                output.status.success(),
                "{}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        let mut child = wharf(dir.path(), &name)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let output = Arc::new(Mutex::new(Vec::new()));
        let lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let sink = output.clone();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        Watched {
            cleanup,
            dir,
            name,
            child,
            output,
        }
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    /// Saves a file as an editor does: a new file renamed over the old one.
    fn save(&self, relative: &str, content: &str) {
        let path = self.path(relative);
        let temporary = path.with_extension("wharf-test-tmp");
        write(&temporary, content);
        std::fs::rename(&temporary, &path).unwrap();
    }

    /// Everything printed so far, one line each.
    fn output(&self) -> String {
        self.output.lock().unwrap().join("\n")
    }

    /// How many lines printed so far contain `text`.
    fn count(&self, text: &str) -> usize {
        self.output
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains(text))
            .count()
    }

    /// Waits until `text` has been printed `times` times in all.
    fn wait_for_nth(&self, text: &str, times: usize, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while self.count(text) < times {
            assert!(
                Instant::now() < deadline,
                "no {text:?} (#{times}) within {timeout:?}; wharf watch printed:\n{}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn wait_for(&self, text: &str, timeout: Duration) {
        self.wait_for_nth(text, 1, timeout);
    }

    /// Container name → ID, for every container of the project.
    fn containers(&self) -> BTreeMap<String, String> {
        project_containers(&self.name)
    }

    /// Ctrl-C: SIGINT, then how the watcher ended, within `timeout`.
    fn interrupt(&mut self, timeout: Duration) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-INT", &pid]).status().unwrap();
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "watch did not end within {timeout:?} of SIGINT; it printed:\n{}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn container(&self, service: &str, number: u32) -> String {
        format!("{}-{service}-{number}", self.name)
    }

    /// A file's content in a container, `None` when it cannot be read.
    fn read(&self, container: &str, path: &str) -> Option<String> {
        let output = Command::new("docker")
            .args(["exec", container, "cat", path])
            .stderr(Stdio::null())
            .output()
            .unwrap();
        output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        // SIGTERM, as Ctrl-C would end it; the cleanup guard then removes the project.
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
        self.cleanup.run();
    }
}

/// `wharf -p NAME` in `dir`, with a state directory of its own there.
fn wharf(dir: &Path, name: &str) -> Command {
    wharf_command(name, dir, &dir.join(".wharf-state"))
}

fn write(path: &Path, content: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, content.replace("IMAGE", busybox_image())).unwrap();
}

/// Containers are killed when stopped: `sleep` as PID 1 ignores SIGTERM.
const TWO_SERVICES: &str = "services:
  web:
    image: IMAGE
    command: [sleep, '3600']
    stop_signal: SIGKILL
    scale: 2
    environment: [COLOR=blue]
  db:
    image: IMAGE
    command: [sleep, '3600']
    stop_signal: SIGKILL
";

const CONVERGE: Duration = Duration::from_secs(30);

#[test]
fn an_environment_change_replaces_that_service_only_and_a_touch_does_nothing() {
    let project = Watched::start("env", &[("compose.yaml", TWO_SERVICES)]);
    let before = project.containers();
    assert_eq!(before.len(), 3, "{before:?}");

    project.save("compose.yaml", &TWO_SERVICES.replace("blue", "green"));
    project.wait_for("watch: converged", CONVERGE);
    assert!(
        project
            .output()
            .contains("watch: web: configuration changed")
    );
    let after = project.containers();
    let db = project.container("db", 1);
    assert_eq!(after[&db], before[&db], "db keeps its container");
    for number in [1, 2] {
        let web = project.container("web", number);
        assert_ne!(after[&web], before[&web], "{web} is replaced");
    }
    let env = docker_lines(&["exec", &project.container("web", 2), "env"]);
    assert!(env.contains(&"COLOR=green".to_string()), "{env:?}");

    // Touched, and saved again with the same content: nothing is loaded, nothing changes.
    let file = project.path("compose.yaml");
    let content = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, content).unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        project.count("loading the project"),
        1,
        "{}",
        project.output()
    );
    assert_eq!(project.containers(), after);
}

#[test]
fn an_added_service_starts_and_a_removed_one_is_left_as_an_orphan() {
    let project = Watched::start("add", &[("compose.yaml", TWO_SERVICES)]);
    let before = project.containers();
    let added = format!(
        "{TWO_SERVICES}  cache:\n    image: IMAGE\n    command: [sleep, '3600']\n    stop_signal: SIGKILL\n"
    );
    project.save("compose.yaml", &added);
    project.wait_for("watch: converged", CONVERGE);
    assert!(project.output().contains("watch: cache: new service"));
    let after = project.containers();
    let cache = project.container("cache", 1);
    assert!(after.contains_key(&cache), "{after:?}");
    let state = docker_lines(&["inspect", "-f", "{{.State.Status}}", &cache]);
    assert_eq!(state, ["running"]);
    for (name, id) in &before {
        assert_eq!(&after[name], id, "{name} is kept");
    }

    // Without --remove-orphans, a service taken out of the file keeps its container.
    let without_db = added.replace(
        "  db:\n    image: IMAGE\n    command: [sleep, '3600']\n    stop_signal: SIGKILL\n",
        "",
    );
    project.save("compose.yaml", &without_db);
    project.wait_for_nth("watch: converged", 2, CONVERGE);
    assert!(
        project
            .output()
            .contains("watch: db: removed from the project")
    );
    assert!(
        project
            .containers()
            .contains_key(&project.container("db", 1))
    );
}

#[test]
fn with_remove_orphans_a_removed_service_goes_and_ctrl_c_ends_watching() {
    let mut project = Watched::start_with(
        "orphans",
        &["watch", "--remove-orphans"],
        &[("compose.yaml", TWO_SERVICES)],
    );
    let before = project.containers();
    let db = project.container("db", 1);
    assert!(before.contains_key(&db), "{before:?}");
    let without_db = TWO_SERVICES.replace(
        "  db:\n    image: IMAGE\n    command: [sleep, '3600']\n    stop_signal: SIGKILL\n",
        "",
    );
    project.save("compose.yaml", &without_db);
    project.wait_for("watch: converged", CONVERGE);
    let after = project.containers();
    assert!(!after.contains_key(&db), "db is removed: {after:?}");
    for (name, id) in before.iter().filter(|(name, _)| **name != db) {
        assert_eq!(&after[name], id, "{name} is kept");
    }
    let status = project.interrupt(Duration::from_secs(15));
    assert!(
        status.success(),
        "Ctrl-C ends watch cleanly: {status:?}\n{}",
        project.output()
    );
}

#[test]
fn an_invalid_save_changes_nothing_and_the_fix_converges() {
    let project = Watched::start("invalid", &[("compose.yaml", TWO_SERVICES)]);
    let before = project.containers();

    project.save("compose.yaml", "services:\n  web:\n    image: [unclosed\n");
    project.wait_for("the project is not valid: nothing was changed", CONVERGE);
    let output = project.output();
    let diagnostic = output
        .lines()
        .find(|l| l.starts_with("error: ") && l.contains("compose.yaml:"))
        .unwrap_or_else(|| panic!("no diagnostic with file:line:col in:\n{output}"));
    let place = diagnostic.split("compose.yaml:").nth(1).unwrap();
    let mut numbers = place.split(':').take(2);
    assert!(
        numbers.all(|n| n.trim().parse::<u32>().is_ok()),
        "{diagnostic}"
    );
    assert_eq!(project.containers(), before, "nothing changed");

    project.save("compose.yaml", &TWO_SERVICES.replace("blue", "red"));
    project.wait_for("watch: converged", CONVERGE);
    let after = project.containers();
    let web = project.container("web", 1);
    assert_ne!(after[&web], before[&web]);
    let db = project.container("db", 1);
    assert_eq!(after[&db], before[&db]);
}

const SYNCED: &str = "services:
  web:
    image: IMAGE
    command: [sleep, '3600']
    stop_signal: SIGKILL
    scale: 2
    develop:
      watch:
        - path: ./site
          action: sync
          target: /srv/site
          ignore: ['*.tmp']
          initial_sync: true
";

#[test]
fn a_sync_rule_copies_a_saved_file_into_every_replica_within_two_seconds() {
    let project = Watched::start(
        "sync",
        &[("compose.yaml", SYNCED), ("site/index.html", "v1")],
    );
    let replicas = [project.container("web", 1), project.container("web", 2)];
    for replica in &replicas {
        assert_eq!(
            project.read(replica, "/srv/site/index.html").as_deref(),
            Some("v1"),
            "initial_sync"
        );
    }

    let saved = Instant::now();
    project.save("site/css/main.css", "body { color: green }");
    let copied_everywhere = || {
        replicas.iter().all(|r| {
            project.read(r, "/srv/site/css/main.css").as_deref() == Some("body { color: green }")
        })
    };
    while !copied_everywhere() {
        assert!(
            saved.elapsed() < Duration::from_secs(2),
            "not in every replica within 2 s:\n{}",
            project.output()
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    // Deleted on the host: deleted in the replicas; an ignored file is never copied.
    std::fs::remove_file(project.path("site/index.html")).unwrap();
    std::fs::write(project.path("site/scratch.tmp"), "x").unwrap();
    let deleted = Instant::now();
    while replicas
        .iter()
        .any(|r| project.read(r, "/srv/site/index.html").is_some())
    {
        assert!(
            deleted.elapsed() < Duration::from_secs(2),
            "{}",
            project.output()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    for replica in &replicas {
        assert_eq!(project.read(replica, "/srv/site/scratch.tmp"), None);
    }
}

#[test]
fn a_hundred_saves_in_a_row_each_reach_every_replica_within_two_seconds() {
    let project = Watched::start(
        "saves",
        &[("compose.yaml", SYNCED), ("site/index.html", "v0")],
    );
    let replicas = [project.container("web", 1), project.container("web", 2)];
    let mut latencies = Vec::new();
    for n in 1..=100 {
        let content = format!("save {n}");
        let saved = Instant::now();
        project.save("site/index.html", &content);
        while !replicas
            .iter()
            .all(|r| project.read(r, "/srv/site/index.html").as_deref() == Some(content.as_str()))
        {
            assert!(
                saved.elapsed() < Duration::from_secs(2),
                "save {n} not in every replica within 2 s:\n{}",
                project.output()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        latencies.push(saved.elapsed());
    }
    latencies.sort();
    println!(
        "100 saves: median {:?}, slowest {:?} (polling by docker exec, ~10 ms apart)",
        latencies[50], latencies[99]
    );
}

/// `web` syncs `site/` (no initial sync) and is up at once; `after` waits about 2 s for it to
/// be healthy, so the converge goes on while `web` runs.
const SLOW_CONVERGE: &str = "services:
  web:
    image: IMAGE
    command: [sh, -c, 'sleep 2; touch /tmp/ready; exec sleep 3600']
    stop_signal: SIGKILL
    healthcheck:
      test: [CMD, test, -f, /tmp/ready]
      interval: 200ms
      retries: 50
    develop:
      watch:
        - path: ./site
          action: sync
          target: /srv/site
  after:
    image: IMAGE
    command: [sleep, '3600']
    stop_signal: SIGKILL
    depends_on:
      web: {condition: service_healthy}
";

/// A save made while the project converges, once a replica is up, reaches it after the
/// converge. (The watcher used to subscribe only after converging: such a save had no event,
/// and was never synced.)
#[test]
fn a_save_made_while_watch_converges_reaches_the_replica_after_it() {
    for args in [&["watch"][..], &["up", "--watch"][..]] {
        let project = Watched::spawn(
            "early-save",
            &[],
            args,
            &[("compose.yaml", SLOW_CONVERGE), ("site/index.html", "v0")],
        );
        let web = project.container("web", 1);
        let started = Instant::now();
        while docker_lines(&["ps", "-q", "--filter", &format!("name=^{web}$")]).is_empty() {
            assert!(started.elapsed() < CONVERGE, "{}", project.output());
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(
            project.count("watch: watching"),
            0,
            "{args:?}: still converging"
        );
        project.save("site/index.html", "v1");
        project.wait_for("watch: watching", CONVERGE);
        let watching = Instant::now();
        while project.read(&web, "/srv/site/index.html").as_deref() != Some("v1") {
            assert!(
                watching.elapsed() < Duration::from_secs(2),
                "{args:?}: the save is not in {web} 2 s after watching began:\n{}",
                project.output()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

#[test]
fn a_rebuild_rule_builds_a_new_image_and_replaces_the_replicas() {
    let mut project = Watched::start(
        "rebuild",
        &[
            (
                "compose.yaml",
                "services:
  app:
    build: ./app
    command: [sleep, '3600']
    stop_signal: SIGKILL
    scale: 2
    develop:
      watch:
        - path: ./app
          action: rebuild
",
            ),
            (
                "app/Dockerfile",
                "FROM IMAGE\nCOPY message.txt /message.txt\n",
            ),
            ("app/message.txt", "one"),
        ],
    );
    let image = format!("{}-app", project.name);
    project.cleanup.image(&image);
    let image_id = || docker_lines(&["image", "inspect", "-f", "{{.Id}}", &image]);
    let before_image = image_id();
    let before = project.containers();
    assert_eq!(before.len(), 2, "{before:?}");

    project.save("app/message.txt", "two");
    project.wait_for("watch: app: rebuilt", Duration::from_secs(60));
    assert_ne!(image_id(), before_image, "a new image");
    let after = project.containers();
    for number in [1, 2] {
        let app = project.container("app", number);
        assert_ne!(after[&app], before[&app], "{app} is replaced");
        assert_eq!(project.read(&app, "/message.txt").as_deref(), Some("two"));
    }
}

#[test]
fn up_watch_supervises_the_reloaded_project() {
    let compose = TWO_SERVICES.replace("    scale: 2\n", "    scale: 2\n    restart: always\n");
    let project = Watched::start_with("up", &["up", "--watch"], &[("compose.yaml", &compose)]);
    let before = project.containers();
    project.save("compose.yaml", &compose.replace("blue", "green"));
    project.wait_for("watch: converged", CONVERGE);
    let after = project.containers();
    let web = project.container("web", 1);
    assert_ne!(after[&web], before[&web]);

    // The supervisor now keeps the new state: it neither brings the old one back nor fails
    // to restart a killed replica.
    support::docker(&["kill", &web]);
    let killed = Instant::now();
    loop {
        let state = docker_lines(&["inspect", "-f", "{{.State.Status}}", &web]);
        if state == ["running"] {
            break;
        }
        assert!(
            killed.elapsed() < Duration::from_secs(5),
            "{}",
            project.output()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(
        project.containers(),
        after,
        "the same containers, restarted in place"
    );
    let env = docker_lines(&["exec", &web, "env"]);
    assert!(env.contains(&"COLOR=green".to_string()), "{env:?}");
}

#[test]
fn watch_beside_a_detached_supervisor_sends_it_the_changes() {
    let compose = TWO_SERVICES.replace("    scale: 2\n", "    scale: 2\n    restart: always\n");
    let files = [("compose.yaml", compose.as_str())];
    let project = Watched::start_after("detached", &["up", "-d"], &["watch"], &files);
    let before = project.containers();
    project.save("compose.yaml", &compose.replace("blue", "green"));
    project.wait_for("watch: converged", CONVERGE);
    let web = project.container("web", 1);
    assert_ne!(project.containers()[&web], before[&web]);

    // The supervisor converges on the new files from now on: a replica removed behind its back
    // comes back as the files now say.
    support::docker(&["rm", "-f", &web]);
    let removed = Instant::now();
    loop {
        let env = docker_lines(&["exec", &web, "env"]);
        if env.contains(&"COLOR=green".to_string()) {
            break;
        }
        assert!(
            removed.elapsed() < Duration::from_secs(10),
            "{env:?}\n{}",
            project.output()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn sync_exec_runs_after_the_copy_and_restart_restarts_in_place() {
    let compose = "services:
  conf:
    image: IMAGE
    command: [sleep, '3600']
    stop_signal: SIGKILL
    develop:
      watch:
        - path: ./conf
          action: sync+exec
          target: /etc/app
          exec:
            command: sh -c 'cp /etc/app/app.conf /tmp/reloaded'
  api:
    image: IMAGE
    command: [sleep, '3600']
    stop_signal: SIGKILL
    develop:
      watch:
        - path: ./api.env
          action: restart
";
    let project = Watched::start(
        "actions",
        &[
            ("compose.yaml", compose),
            ("conf/app.conf", "level=info"),
            ("api.env", "A=1"),
        ],
    );
    let started_at =
        |container: &str| docker_lines(&["inspect", "-f", "{{.State.StartedAt}}", container]);
    let api = project.container("api", 1);
    let before = project.containers();
    let api_started = started_at(&api);

    project.save("conf/app.conf", "level=debug");
    project.save("api.env", "A=2");
    project.wait_for("watch: api: restarted", CONVERGE);
    let conf = project.container("conf", 1);
    let deadline = Instant::now() + Duration::from_secs(5);
    while project.read(&conf, "/tmp/reloaded").as_deref() != Some("level=debug") {
        assert!(Instant::now() < deadline, "{}", project.output());
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_ne!(started_at(&api), api_started, "api was restarted");
    assert_eq!(
        project.containers(),
        before,
        "in place: the same containers"
    );
}

#[test]
fn up_d_watch_leaves_watching_with_the_supervisor_until_watch_stop() {
    let name = unique_project("detached-watch");
    let dir = tempfile::tempdir().unwrap();
    let compose = dir.path().join("compose.yaml");
    write(&compose, TWO_SERVICES);
    let _cleanup = Cleanup::new(&name);
    // Runs wharf, insisting on success; the detached supervisor's log.
    let ok = |args: &[&str]| {
        let out = wharf(dir.path(), &name)
            .args(args)
            .output_within(COMMAND_LIMIT);
        let log = std::fs::read_to_string(
            dir.path()
                .join(".wharf-state")
                .join(&name)
                .join("supervisor.log"),
        )
        .unwrap_or_default();
        assert!(
            out.status.success(),
            "wharf {args:?}: {}\n{log}",
            String::from_utf8_lossy(&out.stderr)
        );
        log
    };
    // An editor's save: a new file renamed over the old one.
    let save = |content: &str| {
        let temporary = compose.with_extension("wharf-test-tmp");
        write(&temporary, content);
        std::fs::rename(&temporary, &compose).unwrap();
    };
    let web = format!("{name}-web-1");
    let env = || docker_lines(&["inspect", "--format", "{{json .Config.Env}}", &web]).join("");
    ok(&["up", "-d", "--watch"]);
    let started = Instant::now();
    while !ok(&["ps"]).contains("watch: watching") {
        assert!(
            started.elapsed() < CONVERGE,
            "the supervisor does not watch:\n{}",
            ok(&["ps"])
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    // `up -d` returned; the supervisor it left watches the files.
    save(&TWO_SERVICES.replace("blue", "green"));
    let saved = Instant::now();
    while !env().contains("COLOR=green") {
        assert!(
            saved.elapsed() < CONVERGE,
            "not re-converged:\n{}",
            ok(&["ps"])
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    eprintln!("re-converged {:?} after the save", saved.elapsed());

    // `watch --stop`: the project stays up, edits are no longer applied.
    ok(&["watch", "--stop"]);
    let kept = docker_lines(&["inspect", "--format", "{{.Id}}", &web]);
    save(&TWO_SERVICES.replace("blue", "red"));
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        docker_lines(&["inspect", "--format", "{{.Id}}", &web]),
        kept
    );
    assert!(env().contains("COLOR=green"));
    ok(&["down"]);
}
