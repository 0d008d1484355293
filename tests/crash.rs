//! Crashes, against the real engine: every wharf process of a project SIGKILLed at a chosen
//! point of the recreate of a 5-replica service (create under a temporary name, stop, remove,
//! rename, start), keeper included; then `up -d` → exactly the 5 replicas, numbered 1 to 5,
//! running the new config, no temporary container left, the named volume and its data intact.
//!
//! The point is chosen with the executor's test hook, `WHARF_TEST_CRASH_AT`
//! (`orchestrator/execute/perform/crash_point.rs`): the supervisor stops itself there, and the
//! test kills every wharf process of the project at once.

mod support;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use support::{
    COMMAND_LIMIT, Cleanup, OutputWithin, busybox_image, docker, inspect_if_exists,
    kill_wharf_processes, project_containers, unique_project, wait_until, wait_with_output_within,
    wharf_command, wharf_processes,
};

const REPLICAS: u32 = 5;

const WEB: &str = r#"
services:
  web:
    image: IMAGE
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
    environment:
      VERSION: "1"
    volumes:
      - data:/data
    deploy:
      replicas: 5
volumes:
  data: {}
"#;

/// A project directory with a state directory of its own; `down -v` when dropped, then the
/// label-based cleanup (which kills its wharf processes first).
struct Project {
    name: String,
    dir: tempfile::TempDir,
    state: tempfile::TempDir,
    _cleanup: Cleanup,
}

impl Project {
    fn new(prefix: &str) -> Project {
        let name = unique_project(prefix);
        let project = Project {
            _cleanup: Cleanup::new(&name),
            name,
            dir: tempfile::tempdir().unwrap(),
            state: tempfile::tempdir().unwrap(),
        };
        project.write("1");
        project
    }

    /// The compose file, with the web service's `VERSION`.
    fn write(&self, version: &str) {
        let compose = WEB
            .replace("IMAGE", busybox_image())
            .replace(r#"VERSION: "1""#, &format!("VERSION: {version:?}"));
        std::fs::write(self.dir.path().join("compose.yaml"), compose).unwrap();
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = wharf_command(&self.name, self.dir.path(), self.state.path());
        command.args(args).stdin(Stdio::null());
        command
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output_within(COMMAND_LIMIT)
    }

    fn ok(&self, args: &[&str]) {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "wharf {args:?} failed: {}\nsupervisor log:\n{}",
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
    }

    fn state_dir(&self) -> PathBuf {
        self.state.path().join(&self.name)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.state_dir().join("supervisor.log")).unwrap_or_default()
    }

    fn replica(&self, n: u32) -> String {
        format!("{}-web-{n}", self.name)
    }

    /// Container name → state, for every container of the project.
    fn states(&self) -> BTreeMap<String, String> {
        project_containers(&self.name)
            .into_keys()
            .map(|name| {
                let state = inspect_if_exists(&name, "{{.State.Status}}");
                (name, state)
            })
            .collect()
    }

    /// Whether a wharf process of the project stopped itself at the crash point.
    fn stopped_at_the_point(&self) -> bool {
        wharf_processes(&self.name)
            .iter()
            .any(|process| process_state(process.pid) == Some('T'))
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        let _ = self.run(&["down", "-v", "-t", "1"]);
    }
}

/// The state letter of a process (`R`, `S`, `T` when stopped, `Z`…), if it exists.
fn process_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    rest.trim_start().chars().next()
}

/// A replacement's container before it takes its replica's name: compose's
/// `<first 12 characters of the old ID>_<name>`.
fn is_temporary(name: &str) -> bool {
    name.split_once('_')
        .is_some_and(|(id, _)| id.len() == 12 && id.chars().all(|c| c.is_ascii_hexdigit()))
}

/// What a crash point must have left, so that the test shows it crashed where it says.
#[derive(Debug, Clone, Copy)]
enum Left {
    /// A replacement under its temporary name.
    Temporary,
    /// A replica under its own name, created and never started.
    NotStarted,
}

/// Up with 5 replicas and a file on the named volume; every wharf process killed; the file
/// changed (`VERSION` 2) and `up -d` run with the crash point armed; at the point, every wharf
/// process killed (SIGKILL, keeper first); then, with the file at `VERSION` `then`, `up -d` must
/// leave the project as if nothing had happened.
fn crash_during_recreate(point: &str, left: Left, then: &str) {
    let project = Project::new(&format!("crash-{}", point.replace(':', "-")));
    project.ok(&["up", "-d"]);
    docker(&[
        "exec",
        &project.replica(1),
        "sh",
        "-c",
        "echo kept > /data/before",
    ]);
    // The supervisor that runs has no crash point: it goes, and the `up -d` below starts a
    // keeper and a supervisor that have one.
    kill_wharf_processes(&project.name);
    project.write("2");
    let up = project
        .command(&["up", "-d"])
        .env("WHARF_TEST_CRASH_AT", point)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let up_pid = up.id();
    wait_until(
        &format!("the supervisor at {point}"),
        Duration::from_secs(60),
        || project.stopped_at_the_point() || process_state(up_pid).is_none_or(|s| s == 'Z'),
        || project.log(),
    );
    assert!(
        project.stopped_at_the_point(),
        "the recreate ended without reaching {point}:\n{}",
        project.log()
    );
    kill_wharf_processes(&project.name);
    wait_with_output_within(up, COMMAND_LIMIT);

    let crashed = project.states();
    eprintln!("left by a crash at {point}: {crashed:?}");
    let shown = match left {
        Left::Temporary => crashed.keys().any(|name| is_temporary(name)),
        Left::NotStarted => crashed
            .iter()
            .any(|(name, state)| !is_temporary(name) && state == "created"),
    };
    assert!(shown, "a crash at {point} leaves {left:?}: {crashed:?}");

    project.write(then);
    let out = project.run(&["up", "-d"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{stderr}");
    assert!(out.status.success(), "{stderr}\n{}", project.log());
    assert!(
        !stderr.contains("planning again"),
        "planned right the first time: {stderr}"
    );
    assert_recreated(&project, then);
}

/// Exactly the 5 replicas, named and numbered 1 to 5, running `VERSION` `version`, with the
/// named volume's file.
fn assert_recreated(project: &Project, version: &str) {
    let states = project.states();
    let expected: BTreeMap<String, String> = (1..=REPLICAS)
        .map(|n| (project.replica(n), "running".to_string()))
        .collect();
    assert_eq!(states, expected, "{}", project.log());
    for n in 1..=REPLICAS {
        let replica = project.replica(n);
        let number = inspect_if_exists(
            &replica,
            r#"{{index .Config.Labels "com.docker.compose.container-number"}}"#,
        );
        assert_eq!(number, n.to_string(), "{replica}'s number");
        let env = inspect_if_exists(&replica, "{{json .Config.Env}}");
        assert!(
            env.contains(&format!("VERSION={version}")),
            "{replica}: {env}"
        );
        let file = docker(&["exec", &replica, "cat", "/data/before"]);
        assert_eq!(file.trim(), "kept", "{replica} sees the volume's file");
    }
    let volume = format!("{}_data", project.name);
    assert_eq!(
        inspect_if_exists(&volume, "{{.Name}}"),
        volume,
        "the named volume"
    );
}

#[test]
fn a_crash_after_a_temporary_create_is_repaired_by_the_next_up() {
    crash_during_recreate("after:create:3", Left::Temporary, "2");
}

/// The file changed again before the next `up`: the temporary containers the crash left are
/// out of date too, and go.
#[test]
fn a_crash_after_a_temporary_create_then_another_change_is_repaired_by_the_next_up() {
    crash_during_recreate("after:create:2", Left::Temporary, "3");
}

#[test]
fn a_crash_after_a_stop_is_repaired_by_the_next_up() {
    crash_during_recreate("after:stop:2", Left::Temporary, "2");
}

#[test]
fn a_crash_after_a_remove_is_repaired_by_the_next_up() {
    crash_during_recreate("after:remove:4", Left::Temporary, "2");
}

#[test]
fn a_crash_after_a_rename_is_repaired_by_the_next_up() {
    crash_during_recreate("after:rename:1", Left::NotStarted, "2");
}

#[test]
fn a_crash_before_a_start_is_repaired_by_the_next_up() {
    crash_during_recreate("before:start:5", Left::NotStarted, "2");
}

/// `wharf ARGS` for the project, in a mount namespace of its own where the shell `setup` ran
/// first: what it mounts there, only that wharf sees (`--map-root-user` needs no privilege).
fn wharf_in_namespace(project: &Project, setup: &str, args: &[&str]) -> Output {
    let wharf = project.command(args);
    let mut command = Command::new("unshare");
    command
        .args(["--mount", "--map-root-user", "sh", "-c"])
        .arg(format!("{setup} && exec \"$@\""))
        .arg("sh")
        .arg(wharf.get_program())
        .args(wharf.get_args())
        .current_dir(project.dir.path());
    for (key, value) in wharf.get_envs() {
        match value {
            Some(value) => command.env(key, value),
            None => command.env_remove(key),
        };
    }
    command.output_within(COMMAND_LIMIT)
}

/// An `up -d` that could not keep its state: it fails saying which directory and what to do,
/// and the project's containers (and its supervisor, when one runs) are as they were.
fn assert_refused_and_untouched(
    project: &Project,
    out: &Output,
    dir: &str,
    before: &BTreeMap<String, String>,
) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{stderr}");
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains(dir), "names the state directory: {stderr}");
    assert!(
        stderr.contains("WHARF_STATE_DIR"),
        "says what to do: {stderr}"
    );
    assert_eq!(&project_containers(&project.name), before, "{stderr}");
    let states: Vec<String> = project.states().into_values().collect();
    assert_eq!(states, vec!["running"; REPLICAS as usize]);
}

/// The project's state directory turned read-only under a running supervisor: `up -d` of a
/// changed file is refused, and nothing that runs changes.
#[test]
fn a_read_only_state_directory_refuses_up_and_touches_nothing() {
    let project = Project::new("crash-read-only-state");
    project.ok(&["up", "-d"]);
    let before = project_containers(&project.name);
    let supervisor = wharf_processes(&project.name).len();
    project.write("2");
    let base = project.state.path().display().to_string();
    let read_only = format!("mount --bind '{base}' '{base}' && mount -o remount,bind,ro '{base}'");
    let out = wharf_in_namespace(&project, &read_only, &["up", "-d"]);
    assert_refused_and_untouched(
        &project,
        &out,
        &project.state_dir().display().to_string(),
        &before,
    );
    assert_eq!(
        wharf_processes(&project.name).len(),
        supervisor,
        "the supervisor and its keeper run on"
    );
}

/// A state directory on a file system with no space left (a full 64 KiB tmpfs, mounted in a
/// namespace of the test's own), for a project whose containers run: `up -d` is refused and
/// they are left as they were.
#[test]
fn a_full_state_directory_refuses_up_and_touches_nothing() {
    let project = Project::new("crash-full-state");
    project.ok(&["up", "-d"]);
    kill_wharf_processes(&project.name);
    let before = project_containers(&project.name);
    project.write("2");
    let base = project.state.path().display().to_string();
    let full = format!(
        "mount -t tmpfs -o size=64k tmpfs '{base}' && \
         (dd if=/dev/zero of='{base}/filler' bs=4k 2>/dev/null; true)"
    );
    let out = wharf_in_namespace(&project, &full, &["up", "-d"]);
    assert_refused_and_untouched(
        &project,
        &out,
        &project.state_dir().display().to_string(),
        &before,
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("No space left"));
}

/// The pid files a crash leaves behind, naming pids the system has given out again since (as
/// after a reboot): neither `up -d` nor `down` takes that process for the project's keeper or
/// supervisor; it is not waited for, and not signalled.
#[test]
fn pid_files_naming_pids_given_out_again_are_not_trusted() {
    let project = Project::new("crash-reused-pids");
    project.ok(&["up", "-d"]);
    let mut stranger = Command::new("sleep").arg("120").spawn().unwrap();
    let hour_ago = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        - 3600;
    let reuse = || {
        kill_wharf_processes(&project.name);
        for file in ["keeper.pid", "supervisor.pid"] {
            let text = format!("{} {hour_ago}\n", stranger.id());
            std::fs::write(project.state_dir().join(file), text).unwrap();
        }
    };
    reuse();
    let started = std::time::Instant::now();
    project.ok(&["up", "-d"]);
    eprintln!("up -d took {:?}", started.elapsed());
    assert!(
        wharf_processes(&project.name).len() == 2,
        "a keeper and a supervisor of its own"
    );
    reuse();
    project.ok(&["down", "-t", "1"]);
    assert!(project_containers(&project.name).is_empty());
    assert!(
        stranger.try_wait().unwrap().is_none(),
        "the stranger was not signalled"
    );
    stranger.kill().unwrap();
    stranger.wait().unwrap();
}
