//! `wharf exec`, `run`, `attach`, `wait` and `up`'s attach and wait flags against the real
//! Docker Engine, through the real binary, compared with `docker compose` v2 on the same
//! project where both print the same thing. Every test has its own project and removes what it
//! made, even when it fails.

mod support;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use support::{Cleanup, busybox_image, unique_project, wait_until, wharf_command};

/// A project directory with a compose file, and the guard that cleans its resources up.
struct Project {
    dir: tempfile::TempDir,
    name: String,
    state: tempfile::TempDir,
    _cleanup: Cleanup,
}

impl Project {
    fn new(prefix: &str, compose: &str) -> Project {
        let name = unique_project(prefix);
        let project = Project {
            _cleanup: Cleanup::new(&name),
            dir: tempfile::tempdir().unwrap(),
            name,
            state: tempfile::tempdir().unwrap(),
        };
        std::fs::write(
            project.path().join("compose.yaml"),
            compose.replace("IMAGE", busybox_image()),
        )
        .unwrap();
        project
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `wharf -p NAME ARGS` in the project's directory, with its state directory and no stdin.
    fn wharf(&self, args: &[&str]) -> Output {
        let mut command = wharf_command(&self.name, self.path(), self.state.path());
        command.args(args).stdin(Stdio::null());
        command.output().unwrap()
    }

    /// `docker compose -p NAME ARGS` in the project's directory, with no stdin.
    fn compose(&self, args: &[&str]) -> Output {
        Command::new("docker")
            .args(["compose", "-p", &self.name])
            .args(args)
            .current_dir(self.path())
            .stdin(Stdio::null())
            .env_remove("COMPOSE_FILE")
            .env_remove("COMPOSE_PROJECT_NAME")
            .output()
            .unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.wharf(args);
        assert!(
            out.status.success(),
            "wharf {args:?} failed:\n{}",
            text(&out)
        );
        stdout(&out)
    }
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).to_string()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).to_string()
}

fn text(out: &Output) -> String {
    stdout(out) + &stderr(out)
}

fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

const LIMIT: Duration = Duration::from_secs(20);

/// What a user sees of a command: its exit code, standard output, and standard error without
/// wharf's `error: ` prefix (compose prints its messages bare).
fn seen(out: &Output) -> (i32, String, String) {
    let err = stderr(out);
    let err = err.strip_prefix("error: ").unwrap_or(&err).to_string();
    (code(out), stdout(out), err)
}

/// Runs `args` with wharf and with compose v2 and insists that both give the same exit code,
/// output and message.
fn same_as_compose(project: &Project, args: &[&str]) -> (i32, String, String) {
    let ours = seen(&project.wharf(args));
    let theirs = seen(&project.compose(args));
    assert_eq!(ours, theirs, "wharf and docker compose differ on {args:?}");
    ours
}

/// `script -qec COMMAND /dev/null`: the command with a pseudo-terminal as its standard
/// streams, as in an interactive shell.
fn in_terminal(project: &Project, command: &str, input: &str) -> Output {
    let wharf = env!("CARGO_BIN_EXE_wharf");
    let line = format!("{wharf} -p {} {command}", project.name);
    let mut child = Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .current_dir(project.path())
        .env("WHARF_STATE_DIR", project.state.path())
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("`script` (util-linux) runs");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

const SLEEPER: &str = r#"
services:
  web:
    image: IMAGE
    command: ["sleep", "300"]
    environment: [FOO=bar]
  job:
    image: IMAGE
    command: ["true"]
"#;

#[test]
fn exec_gives_the_output_messages_and_exit_codes_of_compose() {
    let project = Project::new("exec-peer", SLEEPER);
    let up = project.compose(&["up", "-d"]);
    assert!(up.status.success(), "{}", text(&up));
    let (code, out, _) = same_as_compose(
        &project,
        &["exec", "-T", "web", "sh", "-c", "echo hi $FOO; exit 3"],
    );
    assert_eq!((code, out.as_str()), (3, "hi bar\n"));
    let (code, _, message) = same_as_compose(&project, &["exec", "-T", "nope", "true"]);
    assert_eq!(
        (code, message.as_str()),
        (1, "service \"nope\" is not running\n")
    );
    // A one-shot service that has exited.
    let (code, _, message) = same_as_compose(&project, &["exec", "-T", "job", "true"]);
    assert_eq!(
        (code, message.as_str()),
        (1, "service \"job\" is not running\n")
    );
    let (code, _, message) = same_as_compose(&project, &["exec", "--index", "2", "web", "true"]);
    assert_eq!(
        (code, message.as_str()),
        (1, "service \"web\" is not running container #2\n")
    );
    // The engine's own failure: no such command is 126, a signal 128 + n.
    assert_eq!(
        same_as_compose(&project, &["exec", "-T", "web", "nosuchcommand"]).0,
        126
    );
    assert_eq!(
        same_as_compose(&project, &["exec", "-T", "web", "sh", "-c", "kill -9 $$"]).0,
        137
    );
    let (code, out, _) = same_as_compose(
        &project,
        &[
            "exec",
            "-T",
            "-u",
            "1000",
            "-w",
            "/tmp",
            "-e",
            "A=1",
            "web",
            "sh",
            "-c",
            "id -u; pwd; echo $A $FOO",
        ],
    );
    assert_eq!((code, out.as_str()), (0, "1000\n/tmp\n1 bar\n"));
    // `--privileged` reaches the engine (which may refuse it where wharf's tests run).
    same_as_compose(&project, &["exec", "-T", "--privileged", "web", "true"]);
    // Without a terminal there is no TTY, even without -T.
    let (_, out, _) = same_as_compose(&project, &["exec", "web", "sh", "-c", "tty; true"]);
    assert_eq!(out, "not a tty\n");
}

#[test]
fn exec_passes_standard_input_and_detaches() {
    let project = Project::new("exec-stdin", SLEEPER);
    project.ok(&["up", "-d", "web"]);
    let mut child = wharf_command(&project.name, project.path(), project.state.path())
        .args(["exec", "-T", "web", "sh", "-c", "cat; echo end"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"line one\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!((code(&out), stdout(&out).as_str()), (0, "line one\nend\n"));

    // -d returns at once; the command goes on in the container.
    let detached = project.wharf(&["exec", "-d", "web", "sh", "-c", "sleep 1; touch /tmp/done"]);
    assert_eq!((code(&detached), stdout(&detached).as_str()), (0, ""));
    assert_eq!(
        code(&project.wharf(&["exec", "web", "test", "-f", "/tmp/done"])),
        1
    );
    wait_until(
        "the detached command's file",
        LIMIT,
        || code(&project.wharf(&["exec", "web", "test", "-f", "/tmp/done"])) == 0,
        String::new,
    );
}

#[test]
fn exec_has_a_tty_when_standard_input_is_a_terminal() {
    let project = Project::new("exec-tty", SLEEPER);
    project.ok(&["up", "-d", "web"]);
    let out = in_terminal(&project, "exec web sh -c 'tty; exit 4'", "");
    assert_eq!(code(&out), 4, "{}", text(&out));
    assert!(stdout(&out).contains("/dev/pts/"), "{}", text(&out));
    let out = in_terminal(&project, "exec -T web sh -c 'tty; exit 5'", "");
    assert_eq!(code(&out), 5, "{}", text(&out));
    assert!(stdout(&out).contains("not a tty"), "{}", text(&out));
    // An interactive shell: what is typed reaches it through the TTY.
    let out = in_terminal(&project, "exec web sh", "echo typed-$((6*7)); exit 7\n");
    assert_eq!(code(&out), 7, "{}", text(&out));
    assert!(stdout(&out).contains("typed-42"), "{}", text(&out));
}
