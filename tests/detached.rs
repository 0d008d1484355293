//! The detached supervisor of `wharf up -d`, against the real engine: one per project, kept
//! alive by its keeper across a SIGKILL without touching a container, later `up -d`s going
//! through it, a lock between concurrent `up -d`s, a kill in the middle of an `up`, and an
//! engine event stream that drops.

mod support;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use support::{
    COMMAND_LIMIT, Cleanup, OutputWithin, busybox_image, docker, inspect_if_exists,
    project_containers, unique_project, wait_until, wait_with_output_within, wait_within,
    wharf_command, wharf_processes,
};

/// A project directory with its own state directory; `down -v` when dropped (the supervisor
/// first, or it would restore what the cleanup removes), then the label-based cleanup.
struct Project {
    name: String,
    dir: tempfile::TempDir,
    state: tempfile::TempDir,
    /// `DOCKER_HOST` for wharf, when a test puts a proxy in front of the engine.
    docker_host: Option<String>,
    _cleanup: Cleanup,
}

impl Project {
    fn new(prefix: &str, compose: &str) -> Project {
        let name = unique_project(prefix);
        let project = Project {
            _cleanup: Cleanup::new(&name),
            name,
            dir: tempfile::tempdir().unwrap(),
            state: tempfile::tempdir().unwrap(),
            docker_host: None,
        };
        project.write(compose);
        project
    }

    fn write(&self, compose: &str) {
        std::fs::write(
            self.dir.path().join("compose.yaml"),
            compose.replace("IMAGE", busybox_image()),
        )
        .unwrap();
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = wharf_command(&self.name, self.dir.path(), self.state.path());
        command.args(args).stdin(Stdio::null());
        if let Some(host) = &self.docker_host {
            command.env("DOCKER_HOST", host);
        }
        command
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output_within(COMMAND_LIMIT)
    }

    /// Runs wharf and insists that it succeeds; its standard error.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "wharf {args:?} failed: {}\nsupervisor log:\n{}",
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    fn state_dir(&self) -> PathBuf {
        self.state.path().join(&self.name)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.state_dir().join("supervisor.log")).unwrap_or_default()
    }

    fn pid(&self, file: &str) -> Option<u32> {
        let text = std::fs::read_to_string(self.state_dir().join(file)).ok()?;
        let pid: u32 = text.split_whitespace().next()?.parse().ok()?;
        Path::new(&format!("/proc/{pid}")).exists().then_some(pid)
    }

    fn supervisor_pid(&self) -> Option<u32> {
        self.pid("supervisor.pid")
    }

    /// The wharf processes serving this project: keepers and supervisors.
    fn processes(&self) -> Vec<String> {
        wharf_processes(&self.name)
            .into_iter()
            .filter(|process| process.args.iter().any(|arg| arg == "supervise"))
            .map(|process| process.args.join(" "))
            .collect()
    }

    /// Container name → ID, for the project's containers.
    fn containers(&self) -> BTreeMap<String, String> {
        project_containers(&self.name)
    }

    /// Waits until a detached supervisor runs and listens; its pid.
    fn supervised(&self) -> u32 {
        let socket = self.state_dir().join("control.sock");
        self.until("the supervisor listens", Duration::from_secs(10), || {
            socket.exists() && self.supervisor_pid().is_some()
        });
        self.supervisor_pid().unwrap()
    }

    /// Starts wharf in the background, its output discarded.
    fn spawn_quiet(&self, args: &[&str]) -> std::process::Child {
        self.command(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    }

    /// `down`, which must find the supervisor ready to stop: done within seconds, and no
    /// keeper or supervisor left.
    fn down_at_once(&self) {
        let started = std::time::Instant::now();
        self.ok(&["down", "-t", "1"]);
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(self.processes(), Vec::<String>::new());
        // Nothing of the project is left in its state directory either: pids, socket, log,
        // request, restart history (its containers are gone) and user stops.
        assert!(
            !self.state_dir().exists(),
            "down leaves {:?}",
            std::fs::read_dir(self.state_dir())
                .map(|d| d.flatten().map(|e| e.file_name()).collect::<Vec<_>>())
        );
    }

    /// Waits for `condition`, failing with the supervisor's log after `limit`.
    fn until(&self, what: &str, limit: Duration, condition: impl Fn() -> bool) -> Duration {
        wait_until(what, limit, condition, || self.log())
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        // Should `down` fail, the cleanup guard still kills the keeper and removes the rest.
        let _ = self.run(&["down", "-v", "-t", "1"]);
    }
}

fn kill(pid: u32) {
    let status = Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

const TWO_SERVICES: &str = r#"
services:
  web:
    image: IMAGE
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
    restart: always
    environment:
      VERSION: "1"
    deploy:
      replicas: 2
  db:
    image: IMAGE
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
    restart: always
"#;

#[test]
fn up_d_leaves_one_supervisor_that_a_sigkill_does_not_stop() {
    let project = Project::new("detached-keep", TWO_SERVICES);
    project.ok(&["up", "-d"]);
    let state = project.state_dir();
    project.supervised();
    for (path, mode) in [
        (state.clone(), 0o700),
        (state.join("control.sock"), 0o600),
        (state.join("supervisor.log"), 0o600),
        (state.join("supervisor.pid"), 0o600),
        (state.join("request.json"), 0o600),
    ] {
        let actual = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(actual, mode, "{}", path.display());
    }
    assert_eq!(project.processes().len(), 2, "a keeper and its supervisor");

    let before = project.containers();
    let started_at = inspect_if_exists(&format!("{}-web-1", project.name), "{{.State.StartedAt}}");
    let first = project.supervisor_pid().unwrap();
    // An edit not yet applied with `up` must not reach the engine through a restarted
    // supervisor, which reads the files again.
    project.write(&TWO_SERVICES.replace(r#"VERSION: "1""#, r#"VERSION: "2""#));
    kill(first);
    let back = project.until("a new supervisor", Duration::from_secs(5), || {
        project.supervisor_pid().is_some_and(|pid| pid != first)
            && state.join("control.sock").exists()
    });
    eprintln!("supervisor back after {back:?}");
    // It adopted the project: nothing was restarted or recreated.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(project.containers(), before);
    assert_eq!(
        inspect_if_exists(&format!("{}-web-1", project.name), "{{.State.StartedAt}}"),
        started_at
    );
    assert!(project.log().contains("signal: 9"), "{}", project.log());

    // And it supervises: a killed replica comes back.
    docker(&["kill", &format!("{}-db-1", project.name)]);
    project.until("db-1 restarted", Duration::from_secs(5), || {
        inspect_if_exists(&format!("{}-db-1", project.name), "{{.State.Status}}") == "running"
            && inspect_if_exists(&format!("{}-db-1", project.name), "{{.State.StartedAt}}")
                != started_at
    });

    let ps = String::from_utf8(project.run(&["ps"]).stdout).unwrap();
    assert!(ps.contains("supervisor: running (pid"), "{ps}");
    assert!(ps.contains("detached"), "{ps}");
    let ps = String::from_utf8(project.run(&["ps", "--format", "json"]).stdout).unwrap();
    let json: serde_json::Value = serde_json::from_str(ps.lines().next().unwrap()).unwrap();
    let supervisor = &json["Supervisor"];
    assert_eq!(supervisor["State"], "running");
    assert_eq!(supervisor["Detached"], true);
    assert_eq!(
        supervisor["Pid"].as_u64().map(|p| p as u32),
        project.supervisor_pid()
    );

    project.ok(&["down"]);
    assert!(project.processes().is_empty(), "{:?}", project.processes());
    assert!(project.containers().is_empty());
}

#[test]
fn a_second_up_d_goes_through_the_running_supervisor() {
    let project = Project::new("detached-again", TWO_SERVICES);
    project.ok(&["up", "-d"]);
    let supervisor = project.supervised();
    let before = project.containers();
    project.write(&TWO_SERVICES.replace(r#"VERSION: "1""#, r#"VERSION: "2""#));
    let output = project.ok(&["up", "-d"]);
    assert!(
        output.contains(&format!("Container {}-web-1  Recreated", project.name)),
        "{output}"
    );
    let after = project.containers();
    let db = format!("{}-db-1", project.name);
    assert_eq!(
        after[&db], before[&db],
        "db did not change and keeps its container"
    );
    for n in [1, 2] {
        let web = format!("{}-web-{n}", project.name);
        assert_ne!(after[&web], before[&web], "{web} was replaced");
        let env = inspect_if_exists(&web, "{{json .Config.Env}}");
        assert!(env.contains("VERSION=2"), "{env}");
    }
    assert_eq!(
        project.supervisor_pid(),
        Some(supervisor),
        "the same supervisor"
    );
    assert_eq!(project.processes().len(), 2);
    // `--wait` through the supervisor: nothing to change, and the services are running.
    assert!(!project.ok(&["up", "--wait"]).contains("Recreated"));
    // The supervisor now keeps the new file: a replica it recreated is restored as such.
    docker(&["rm", "-f", &format!("{}-web-2", project.name)]);
    project.until("web-2 restored", Duration::from_secs(5), || {
        inspect_if_exists(&format!("{}-web-2", project.name), "{{json .Config.Env}}")
            .contains("VERSION=2")
    });

    // A broken file is refused by the `up` that reads it (which sent the supervisor the
    // request while it read the file: the supervisor refuses it too); the supervisor goes on,
    // and the next `up` of the file as it was changes nothing.
    let running = project.containers();
    project.write("services:\n  web:\n    image: [\n");
    let out = project.run(&["up", "-d"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("compose.yaml:"), "{stderr}");
    assert_eq!(project.supervisor_pid(), Some(supervisor));
    project.write(&TWO_SERVICES.replace(r#"VERSION: "1""#, r#"VERSION: "2""#));
    let output = project.ok(&["up", "-d"]);
    assert!(!output.contains("Recreated"), "{output}");
    assert_eq!(project.containers(), running);
    assert_eq!(project.supervisor_pid(), Some(supervisor));
}

#[test]
fn two_up_d_at_once_make_one_converged_project() {
    let project = Project::new("detached-race", TWO_SERVICES);
    let children: Vec<_> = (0..2)
        .map(|_| {
            project
                .command(&["up", "-d"])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    // Both are waited for before either is judged: an `up -d` left running by a failed
    // assertion could start a keeper after the cleanup.
    let outputs: Vec<Output> = children
        .into_iter()
        .map(|child| wait_with_output_within(child, COMMAND_LIMIT))
        .collect();
    for out in outputs {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let names: Vec<String> = project.containers().into_keys().collect();
    assert_eq!(
        names,
        ["db-1", "web-1", "web-2"].map(|n| format!("{}-{n}", project.name))
    );
    project.until(
        "one keeper and one supervisor",
        Duration::from_secs(10),
        || project.processes().len() == 2 && project.supervisor_pid().is_some(),
    );
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(project.processes().len(), 2, "{:?}", project.processes());
}

/// An `up` under way may be starting a keeper that no pid file names yet; a `down` that ran
/// beside it would find no supervisor to stop, and the keeper would restore what `down`
/// removed. So `down` waits for the `up`'s lock (held here by the test) before it acts.
#[test]
fn down_waits_for_an_up_under_way_then_leaves_nothing_behind() {
    let project = Project::new("detached-down-race", TWO_SERVICES);
    project.ok(&["up", "-d"]);
    project.supervised();
    let up_lock = std::fs::File::open(project.state_dir().join("up.lock")).unwrap();
    up_lock.lock().unwrap();
    let mut down = project
        .command(&["down", "-v", "-t", "1"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(1));
    assert!(down.try_wait().unwrap().is_none(), "down did not wait");
    assert_eq!(project.containers().len(), 3);
    drop(up_lock);
    let out = wait_with_output_within(down, COMMAND_LIMIT);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(project.processes(), Vec::<String>::new());
    assert_eq!(project.containers(), BTreeMap::new());
}

/// `wharf stop` leaves a project stopped, even when its containers are then removed behind
/// wharf's back: the supervisor recreates nothing, and `down` finds it ready to stop.
#[test]
fn a_stopped_project_whose_containers_are_removed_stays_as_the_user_left_it() {
    let project = Project::new(
        "detached-stopped-removed",
        r#"
services:
  db:
    image: IMAGE
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
    restart: always
  app:
    image: IMAGE
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
    restart: always
    depends_on: [db]
"#,
    );
    project.ok(&["up", "-d"]);
    project.supervised();
    project.ok(&["stop", "-t", "1"]);
    let ids: Vec<String> = project.containers().into_values().collect();
    assert_eq!(ids.len(), 2);
    let mut rm = vec!["rm", "-f"];
    rm.extend(ids.iter().map(String::as_str));
    docker(&rm);
    // Longer than the supervisor takes to notice (its events) and plan (tens of ms).
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(project.containers(), BTreeMap::new(), "{}", project.log());
    project.down_at_once();
}

/// A supervisor in the middle of a long plan (a dependency that takes minutes to turn
/// healthy) stops at once when `down` asks: the `up` that was waiting was interrupted.
#[test]
fn down_stops_a_supervisor_in_the_middle_of_a_long_wait() {
    let project = Project::new(
        "detached-down-mid-plan",
        r#"
services:
  slow:
    image: IMAGE
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
    healthcheck:
      test: ["CMD", "false"]
      interval: 1s
      start_period: 300s
  app:
    image: IMAGE
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
    depends_on:
      slow:
        condition: service_healthy
"#,
    );
    let mut up = project.spawn_quiet(&["up", "-d"]);
    let slow = format!("{}-slow-1", project.name);
    project.until("slow runs", Duration::from_secs(20), || {
        inspect_if_exists(&slow, "{{.State.Status}}") == "running"
    });
    // The user gives up on the `up` (Ctrl-C, or a closed terminal); the plan goes on in the
    // supervisor, waiting for slow.
    up.kill().unwrap();
    wait_within(&mut up, COMMAND_LIMIT);
    assert!(project.supervisor_pid().is_some());
    project.down_at_once();
    assert_eq!(project.containers(), BTreeMap::new());
}

fn ten_services() -> String {
    let mut compose = String::from("services:\n");
    for n in 0..10 {
        compose.push_str(&format!(
            "  s{n}:\n    image: IMAGE\n    command: [\"sh\", \"-c\", \"trap 'exit 0' TERM; sleep 3600 & wait\"]\n    restart: always\n"
        ));
    }
    compose
}

fn assert_ten_services_once(project: &Project) {
    let names: Vec<String> = project.containers().into_keys().collect();
    let mut expected: Vec<String> = (0..10)
        .map(|n| format!("{}-s{n}-1", project.name))
        .collect();
    expected.sort();
    assert_eq!(names, expected, "one container per service, no duplicates");
    for name in &names {
        assert_eq!(
            inspect_if_exists(name, "{{.State.Status}}"),
            "running",
            "{name}"
        );
    }
}

#[test]
fn a_supervisor_killed_in_the_middle_of_up_leaves_a_project_that_up_converges() {
    let project = Project::new(
        "detached-midup",
        "services:\n  s0:\n    image: IMAGE\n    command: [\"sh\", \"-c\", \"trap 'exit 0' TERM; sleep 3600 & wait\"]\n",
    );
    project.ok(&["up", "-d"]);
    project.supervised();
    project.write(&ten_services());
    let supervisor = project.supervisor_pid().unwrap();
    let up = project
        .command(&["up", "-d"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    project.until("the up is under way", Duration::from_secs(20), || {
        project.containers().len() > 2
    });
    kill(supervisor);
    let out = wait_with_output_within(up, COMMAND_LIMIT);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        assert!(stderr.contains("went away"), "{stderr}");
    }
    project.ok(&["up", "-d"]);
    assert_ten_services_once(&project);
    assert_eq!(project.processes().len(), 2, "{:?}", project.processes());
}

/// The supervisor does the converging; the `up` that asked is only its client. Killing that
/// client leaves the supervisor to finish, and the next `up -d` waits for it, then finds the
/// project converged.
#[test]
fn an_up_killed_mid_way_is_finished_by_the_supervisor_and_the_next_up() {
    let project = Project::new("detached-cli-kill", &ten_services());
    let mut up = project.spawn_quiet(&["up", "-d"]);
    project.until("the up is under way", Duration::from_secs(20), || {
        !project.containers().is_empty()
    });
    up.kill().unwrap();
    wait_within(&mut up, COMMAND_LIMIT);
    project.ok(&["up", "-d"]);
    assert_ten_services_once(&project);
}

/// A proxy in front of the engine's socket that can cut every connection through it and
/// refuse new ones for a while: the engine's event stream drops as it would on a daemon
/// restart, without restarting the daemon.
struct EngineProxy {
    path: PathBuf,
    open: Arc<Mutex<Vec<UnixStream>>>,
    refusing: Arc<AtomicBool>,
    _dir: tempfile::TempDir,
}

impl EngineProxy {
    fn start() -> EngineProxy {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("docker.sock");
        let listener = UnixListener::bind(&path).unwrap();
        let open = Arc::new(Mutex::new(Vec::new()));
        let refusing = Arc::new(AtomicBool::new(false));
        let (conns, refuse) = (open.clone(), refusing.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                if refuse.load(Ordering::SeqCst) {
                    continue;
                }
                let Ok(engine) = UnixStream::connect("/var/run/docker.sock") else {
                    continue;
                };
                let mut list = conns.lock().unwrap();
                list.push(client.try_clone().unwrap());
                list.push(engine.try_clone().unwrap());
                pipe(client.try_clone().unwrap(), engine.try_clone().unwrap());
                pipe(engine, client);
            }
        });
        EngineProxy {
            path,
            open,
            refusing,
            _dir: dir,
        }
    }

    fn host(&self) -> String {
        format!("unix://{}", self.path.display())
    }

    /// Cuts every open connection and refuses new ones until `restore`.
    fn cut(&self) {
        self.refusing.store(true, Ordering::SeqCst);
        for stream in self.open.lock().unwrap().drain(..) {
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
    }

    fn restore(&self) {
        self.refusing.store(false, Ordering::SeqCst);
    }
}

fn pipe(mut from: UnixStream, mut to: UnixStream) {
    std::thread::spawn(move || {
        let mut buffer = [0u8; 16 * 1024];
        while let Ok(n) = from.read(&mut buffer) {
            if n == 0 || to.write_all(&buffer[..n]).is_err() {
                break;
            }
        }
        let _ = to.shutdown(std::net::Shutdown::Write);
    });
}

#[test]
fn the_supervisor_reconnects_and_resyncs_when_the_event_stream_drops() {
    let proxy = EngineProxy::start();
    let mut project = Project::new("detached-events", TWO_SERVICES);
    project.docker_host = Some(proxy.host());
    project.ok(&["up", "-d"]);
    project.supervised();
    std::thread::sleep(Duration::from_millis(300));
    let db = format!("{}-db-1", project.name);
    let started = inspect_if_exists(&db, "{{.State.StartedAt}}");
    proxy.cut();
    // While the supervisor cannot hear the engine, a replica dies.
    docker(&["kill", &db]);
    std::thread::sleep(Duration::from_secs(1));
    assert_ne!(inspect_if_exists(&db, "{{.State.Status}}"), "running");
    proxy.restore();
    let took = project.until(
        "db-1 restarted after the stream came back",
        Duration::from_secs(5),
        || {
            inspect_if_exists(&db, "{{.State.Status}}") == "running"
                && inspect_if_exists(&db, "{{.State.StartedAt}}") != started
        },
    );
    eprintln!("restarted {took:?} after the engine came back");
    assert!(
        project.log().contains("engine events unavailable"),
        "{}",
        project.log()
    );
}
