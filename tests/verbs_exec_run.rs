//! `wharf exec`, `run`, `attach`, `wait` and `up`'s attach and wait flags against the real
//! Docker Engine, through the real binary, compared with `docker compose` v2 on the same
//! project where both print the same thing. Every test has its own project and removes what it
//! made, even when it fails.

mod support;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use support::{
    Cleanup, busybox_image, docker_lines, inspect, project_containers, unique_project, wait_until,
    wharf_command,
};

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

/// A service that waits for a one-shot job to complete, as a migration before a web server.
const WITH_JOB: &str = r#"
services:
  web:
    image: IMAGE
    command: ["sleep", "300"]
    environment: [FOO=bar]
    ports: ["80"]
    depends_on:
      job: {condition: service_completed_successfully}
  job:
    image: IMAGE
    command: ["sh", "-c", "sleep 1; touch /tmp/ran"]
"#;

/// The one-off containers of a project: name → ID.
fn one_offs(project: &str) -> Vec<(String, String)> {
    let filter = format!("label=com.docker.compose.project={project}");
    docker_lines(&[
        "ps",
        "-a",
        "--no-trunc",
        "--filter",
        &filter,
        "--filter",
        "label=com.docker.compose.oneoff=True",
        "--format",
        "{{.Names}} {{.ID}}",
    ])
    .into_iter()
    .filter_map(|l| {
        l.split_once(' ')
            .map(|(n, i)| (n.to_string(), i.to_string()))
    })
    .collect()
}

/// The compose labels (`com.docker.compose.*`) of a container, by key.
fn compose_label_keys(container: &str) -> Vec<String> {
    let labels: std::collections::BTreeMap<String, String> =
        serde_json::from_str(&inspect(container, "{{json .Config.Labels}}")).unwrap();
    labels
        .into_keys()
        .filter(|k| k.starts_with("com.docker.compose."))
        .collect()
}

#[test]
fn run_makes_a_one_off_as_compose_does_after_its_dependencies_complete() {
    let project = Project::new("run-peer", WITH_JOB);
    let out = project.wharf(&["run", "web", "sh", "-c", "echo run $FOO; exit 5"]);
    assert_eq!(
        (code(&out), stdout(&out).as_str()),
        (5, "run bar\n"),
        "{}",
        text(&out)
    );
    // The dependency ran to completion first.
    let job = format!("{}-job-1", project.name);
    assert_eq!(
        inspect(&job, "{{.State.Status}} {{.State.ExitCode}}"),
        "exited 0"
    );
    let ours = one_offs(&project.name);
    assert_eq!(ours.len(), 1, "{ours:?}");
    let (name, id) = &ours[0];
    let slug = inspect(id, "{{index .Config.Labels \"com.docker.compose.slug\"}}");
    assert_eq!(slug.len(), 64, "{slug}");
    assert_eq!(*name, format!("{}-web-run-{}", project.name, &slug[..12]));
    // No ports without --service-ports; no TTY without a terminal; standard input open.
    assert_eq!(
        inspect(
            id,
            "{{index .Config.Labels \"com.docker.compose.service\"}} {{.Config.Tty}} {{.Config.OpenStdin}}"
        ),
        "web false true"
    );
    assert!(!inspect(id, "{{json .HostConfig.PortBindings}}").contains("80/tcp"));
    // compose v2's one-off on the same project has the same compose labels (but the image
    // digest, which wharf does not write on any container).
    let peer = project.compose(&["run", "--no-deps", "web", "true"]);
    assert!(peer.status.success(), "{}", text(&peer));
    let (peer_name, _) = one_offs(&project.name)
        .into_iter()
        .find(|(n, _)| n != name)
        .expect("compose's one-off");
    let mut theirs = compose_label_keys(&peer_name);
    theirs.retain(|k| k != "com.docker.compose.image");
    assert_eq!(compose_label_keys(id), theirs);
    // Neither is a replica: `ps` (both tools) does not list them.
    let ps = project.ok(&["ps", "-a", "--format", "json"]);
    assert!(!ps.contains("-web-run-"), "{ps}");
    // An unknown service, as compose says it.
    let (code, _, message) = same_as_compose(&project, &["run", "--rm", "nope", "true"]);
    assert_eq!((code, message.as_str()), (1, "no such service: nope\n"));
}

#[test]
fn run_applies_its_flags() {
    let project = Project::new("run-flags", WITH_JOB);
    let data = project.path().join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::write(data.join("hello.txt"), "from the host\n").unwrap();
    let out = project.wharf(&[
        "run",
        "--rm",
        "--no-deps",
        "-T",
        "-e",
        "A=1",
        "-u",
        "1000",
        "-w",
        "/tmp",
        "-v",
        "./data:/data:ro",
        "-l",
        "team=qa",
        "--name",
        "custom-one-off",
        "--entrypoint",
        "sh -c",
        "web",
        "echo $A $FOO; id -u; pwd; cat /data/hello.txt",
    ]);
    assert_eq!(
        (code(&out), stdout(&out).as_str()),
        (0, "1 bar\n1000\n/tmp\nfrom the host\n"),
        "{}",
        text(&out)
    );
    // --no-deps: the job was not created; --rm: nothing is left.
    assert_eq!(project_containers(&project.name).len(), 0);

    // -d prints the ID; -l, --name, -p and --service-ports reach the engine.
    let out = project.wharf(&[
        "run",
        "-d",
        "--no-deps",
        "--name",
        "kept",
        "-l",
        "team=qa",
        "-p",
        "127.0.0.1::81",
        "--service-ports",
        "web",
    ]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let id = stdout(&out).trim().to_string();
    assert_eq!(id.len(), 64, "{}", text(&out));
    assert_eq!(
        inspect(
            &id,
            "{{.Name}} {{index .Config.Labels \"team\"}} {{.State.Running}}"
        ),
        "/kept qa true"
    );
    let ports = inspect(&id, "{{json .HostConfig.PortBindings}}");
    assert!(
        ports.contains("\"80/tcp\"") && ports.contains("\"81/tcp\""),
        "{ports}"
    );
    assert!(ports.contains("127.0.0.1"), "{ports}");

    // -d --rm: the engine removes it when it exits.
    let out = project.wharf(&[
        "run",
        "-d",
        "--rm",
        "--no-deps",
        "--name",
        "gone",
        "web",
        "true",
    ]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    wait_until(
        "the -d --rm one-off removed",
        LIMIT,
        || !project_containers(&project.name).contains_key("gone"),
        String::new,
    );
}

#[test]
fn run_has_a_tty_when_standard_input_is_a_terminal() {
    let project = Project::new("run-tty", SLEEPER);
    let out = in_terminal(&project, "run --rm web sh -c 'tty; exit 4'", "");
    assert_eq!(code(&out), 4, "{}", text(&out));
    assert!(stdout(&out).contains("/dev/pts/"), "{}", text(&out));
    let out = in_terminal(&project, "run --rm web sh", "echo typed-$((6*7)); exit 7\n");
    assert_eq!(code(&out), 7, "{}", text(&out));
    assert!(stdout(&out).contains("typed-42"), "{}", text(&out));
    // Standard input that ends ends the one-off's input (no TTY).
    let mut child = wharf_command(&project.name, project.path(), project.state.path())
        .args(["run", "--rm", "-T", "web", "cat"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"piped\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        (code(&out), stdout(&out).as_str()),
        (0, "piped\n"),
        "{}",
        text(&out)
    );
}

#[test]
fn a_one_off_is_never_supervised() {
    let project = Project::new(
        "run-unsupervised",
        r#"
services:
  web:
    image: IMAGE
    command: ["sleep", "300"]
    restart: always
"#,
    );
    project.ok(&["up", "-d"]);
    let replica = project_containers(&project.name)[&format!("{}-web-1", project.name)].clone();
    // One that fails, one that is stopped behind wharf's back, one that keeps running.
    let out = project.wharf(&["run", "web", "sh", "-c", "exit 3"]);
    assert_eq!(code(&out), 3, "{}", text(&out));
    let stopped = stdout(&project.wharf(&["run", "-d", "web"]))
        .trim()
        .to_string();
    let running = stdout(&project.wharf(&["run", "-d", "web"]))
        .trim()
        .to_string();
    docker_lines(&["stop", "-t", "0", &stopped]);
    // Longer than the supervisor's 5 s resync: whatever it would do, it has done by then.
    std::thread::sleep(Duration::from_secs(7));
    let offs = one_offs(&project.name);
    assert_eq!(offs.len(), 3, "{offs:?}");
    assert_eq!(inspect(&stopped, "{{.State.Status}}"), "exited");
    assert_eq!(inspect(&running, "{{.State.Status}}"), "running");
    let failed = offs
        .iter()
        .find(|(_, id)| *id != stopped && *id != running)
        .unwrap();
    assert_eq!(
        inspect(&failed.1, "{{.State.Status}} {{.State.ExitCode}}"),
        "exited 3"
    );
    // The service still has its one replica, untouched, and `up` leaves the one-offs alone.
    project.ok(&["up", "-d"]);
    let all = project_containers(&project.name);
    assert_eq!(all.len(), 4, "{all:?}");
    assert_eq!(all[&format!("{}-web-1", project.name)], replica);
    let ps = project.ok(&["ps", "-a", "--format", "json"]);
    assert!(!ps.contains("-web-run-"), "{ps}");
}

#[test]
fn up_wait_takes_a_completed_migration_as_done() {
    let project = Project::new("up-wait-job", WITH_JOB);
    let out = project.wharf(&["up", "--wait"]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert_eq!(
        inspect(
            &format!("{}-job-1", project.name),
            "{{.State.Status}} {{.State.ExitCode}}"
        ),
        "exited 0"
    );
    assert_eq!(
        inspect(&format!("{}-web-1", project.name), "{{.State.Status}}"),
        "running"
    );
    // compose v2 agrees, on a project of its own (wharf's supervisor keeps this one).
    let peer = Project::new("up-wait-job-peer", WITH_JOB);
    let peer = peer.compose(&["up", "--wait"]);
    assert_eq!(code(&peer), 0, "{}", text(&peer));
}

const ENDING: &str = r#"
services:
  fails:
    image: IMAGE
    command: ["sh", "-c", "sleep 1; echo late; echo err >&2; exit 3"]
  passes:
    image: IMAGE
    command: ["sh", "-c", "sleep 4; exit 0"]
  talk:
    image: IMAGE
    command: ["sh", "-c", "trap 'echo got-int; exit 9' INT; echo ready; while true; do sleep 0.1; done"]
    stop_grace_period: 1s
  shell:
    image: IMAGE
    command: ["sh"]
    tty: true
    stdin_open: true
"#;

#[test]
fn wait_prints_each_exit_and_gives_the_last_code_as_compose() {
    let project = Project::new("wait", ENDING);
    let ids = |project: &Project| {
        ["fails", "passes"].map(|s| inspect(&format!("{}-{s}-1", project.name), "{{.Id}}"))
    };
    project.ok(&["up", "-d", "fails", "passes"]);
    let out = project.wharf(&["wait", "fails", "passes"]);
    let [fails, passes] = ids(&project);
    let expected = format!(
        "container \"{fails}\" exited with status code 3\ncontainer \"{passes}\" exited with status code 0\n"
    );
    assert_eq!(
        (code(&out), stdout(&out)),
        (0, expected.clone()),
        "{}",
        text(&out)
    );
    // compose v2 on its own project prints the same lines.
    let peer = Project::new("wait-peer", ENDING);
    assert!(
        peer.compose(&["up", "-d", "fails", "passes"])
            .status
            .success()
    );
    let theirs = peer.compose(&["wait", "fails", "passes"]);
    let [fails, passes] = ids(&peer);
    let expected = format!(
        "container \"{fails}\" exited with status code 3\ncontainer \"{passes}\" exited with status code 0\n"
    );
    assert_eq!((code(&theirs), stdout(&theirs)), (0, expected));
    // The exit code is the last container's.
    project.ok(&["up", "-d", "fails"]);
    let out = project.wharf(&["wait", "fails"]);
    assert_eq!(code(&out), 3, "{}", text(&out));
    assert_eq!(code(&project.wharf(&["wait", "nope"])), 1);

    // --down-project: the project goes once the first container has stopped.
    project.ok(&["up", "-d", "fails", "talk"]);
    // talk ignores SIGTERM: the down kills it after its grace period, and its code is the last.
    let [fails, talk] =
        ["fails", "talk"].map(|s| inspect(&format!("{}-{s}-1", project.name), "{{.Id}}"));
    let out = project.wharf(&["wait", "--down-project", "fails", "talk"]);
    assert_eq!(
        stdout(&out),
        format!(
            "container \"{fails}\" exited with status code 3\ncontainer \"{talk}\" exited with status code 137\n"
        ),
        "{}",
        text(&out)
    );
    assert_eq!(code(&out), 137, "{}", text(&out));
    assert_eq!(project_containers(&project.name).len(), 0);
}

#[test]
fn attach_follows_the_process_and_ends_with_its_exit_code() {
    let project = Project::new("attach", ENDING);
    project.ok(&["up", "-d", "fails", "talk", "shell"]);
    let out = project.wharf(&["attach", "--no-stdin", "fails"]);
    assert_eq!(
        (code(&out), stdout(&out).as_str(), stderr(&out).as_str()),
        (3, "late\n", "err\n")
    );
    // A stopped service, as compose says it.
    let (code_, _, message) = same_as_compose(&project, &["attach", "fails"]);
    assert_eq!(
        (code_, message.as_str()),
        (1, "service \"fails\" is not running\n")
    );
    let (code_, _, message) = same_as_compose(&project, &["attach", "--index", "2", "talk"]);
    assert_eq!(
        (code_, message.as_str()),
        (1, "service \"talk\" is not running container #2\n")
    );

    // Without a TTY, Ctrl-C (SIGINT to wharf) reaches the process, once wharf is attached
    // (the engine's `attach` event says so).
    let talk = format!("{}-talk-1", project.name);
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .saturating_sub(1)
        .to_string();
    let child = wharf_command(&project.name, project.path(), project.state.path())
        .args(["attach", "--no-stdin", "talk"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until(
        "wharf attached",
        LIMIT,
        || {
            let filter = format!("container={talk}");
            !docker_lines(&[
                "events",
                "--since",
                &since,
                "--until",
                "0s",
                "--filter",
                &filter,
                "--filter",
                "event=attach",
            ])
            .is_empty()
        },
        String::new,
    );
    send_signal(child.id(), 2);
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        (code(&out), stdout(&out).as_str()),
        (9, "got-int\n"),
        "{}",
        text(&out)
    );

    // With a TTY: what is typed reaches the service's shell.
    let out = in_terminal(&project, "attach shell", "echo typed-$((6*7))\nexit 6\n");
    assert_eq!(code(&out), 6, "{}", text(&out));
    assert!(stdout(&out).contains("typed-42"), "{}", text(&out));
}

/// `kill -SIGNAL PID`.
fn send_signal(pid: u32, signal: i32) {
    let status = Command::new("kill")
        .args([format!("-{signal}"), pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

const ABORTING: &str = r#"
services:
  fails:
    image: IMAGE
    command: ["sh", "-c", "sleep 1; echo bye; exit 3"]
  passes:
    image: IMAGE
    command: ["sh", "-c", "echo ok; exit 0"]
  long:
    image: IMAGE
    command: ["sleep", "300"]
    stop_grace_period: 1s
"#;

#[test]
fn up_abort_flags_stop_the_project_with_compose_exit_codes() {
    for (flags, expected) in [
        (&["--abort-on-container-exit"][..], 0),
        (&["--abort-on-container-failure"][..], 3),
        (&["--exit-code-from", "fails"][..], 3),
    ] {
        let ours = Project::new("up-abort", ABORTING);
        let theirs = Project::new("up-abort-peer", ABORTING);
        let mut args = vec!["up"];
        args.extend(flags);
        let out = ours.wharf(&args);
        assert_eq!(code(&out), expected, "wharf {args:?}: {}", text(&out));
        let peer = theirs.compose(&args);
        assert_eq!(code(&peer), expected, "compose {args:?}: {}", text(&peer));
        let long = format!("{}-long-1", ours.name);
        assert_eq!(inspect(&long, "{{.State.Running}}"), "false", "{args:?}");
    }
    // Only fails' output, without prefixes, then how it exited: compose's lines.
    let args = [
        "up",
        "--attach",
        "fails",
        "--no-log-prefix",
        "--abort-on-container-failure",
    ];
    let ours = Project::new("up-attach", ABORTING);
    let out = ours.wharf(&args);
    assert_eq!(
        (code(&out), stdout(&out).as_str()),
        (3, "Attaching to fails-1\nbye\nfails-1 exited with code 3\n"),
        "{}",
        text(&out)
    );
    assert!(
        stderr(&out).contains("Aborting on container exit..."),
        "{}",
        text(&out)
    );
    let theirs = Project::new("up-attach-peer", ABORTING);
    let peer = theirs.compose(&args);
    // compose starts its exit line with a carriage return and an erase, even into a pipe.
    assert_eq!(stdout(&peer).replace("\r\x1b[K", ""), stdout(&out));
}

const ONE_SHOTS: &str = r#"
services:
  quick:
    image: IMAGE
    command: ["sh", "-c", "echo hi; exit 3"]
  slow:
    image: IMAGE
    command: ["sh", "-c", "echo there; sleep 1; exit 0"]
  long:
    image: IMAGE
    command: ["sleep", "300"]
    stop_grace_period: 1s
"#;

/// The lines of standard output, without compose's erase before an exit line, sorted (the
/// services' lines interleave in the order they come).
fn sorted_lines(out: &Output) -> Vec<String> {
    let mut lines: Vec<String> = stdout(out)
        .replace("\r\x1b[K", "")
        .lines()
        .map(str::to_string)
        .collect();
    lines.sort();
    lines
}

#[test]
fn attached_up_ends_once_the_followed_containers_have_exited_as_compose_does() {
    let args = ["up", "--no-color", "--attach", "quick", "--attach", "slow"];
    let ours = Project::new("up-ends", ONE_SHOTS);
    let out = ours.wharf(&args);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let theirs = Project::new("up-ends-peer", ONE_SHOTS);
    let peer = theirs.compose(&args);
    assert_eq!(code(&peer), 0, "{}", text(&peer));
    // compose pads the prefixes to the longest name it has seen so far, which varies.
    let unpadded = |lines: Vec<String>| -> Vec<String> {
        lines
            .iter()
            .map(|l| match l.split_once(" | ") {
                Some((name, text)) => format!("{} | {text}", name.trim_end()),
                None => l.clone(),
            })
            .collect()
    };
    assert_eq!(unpadded(sorted_lines(&out)), unpadded(sorted_lines(&peer)));
    assert_eq!(
        sorted_lines(&out),
        [
            "Attaching to quick-1, slow-1",
            "quick-1  | hi",
            "quick-1 exited with code 3",
            "slow-1   | there",
            "slow-1 exited with code 0",
        ]
    );
    // The service nobody followed is left running, as compose leaves it.
    let long = format!("{}-long-1", ours.name);
    assert_eq!(inspect(&long, "{{.State.Running}}"), "true");

    // A restart policy that restarts once: both exits are printed, then the `up` ends. (With a
    // `delay`, the supervisor makes the restart: the engine's `on-failure:1` would make it
    // without the supervisor, see docs/decisions.md.)
    let restarting = Project::new(
        "up-ends-restart",
        &ONE_SHOTS.replace(
            "exit 3\"]",
            "exit 3\"]\n    deploy:\n      restart_policy: {condition: on-failure, max_attempts: 1, delay: 100ms}",
        ),
    );
    let out = restarting.wharf(&["up", "--attach", "quick"]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert_eq!(
        stdout(&out).matches("quick-1 exited with code 3").count(),
        2,
        "{}",
        text(&out)
    );
}

#[test]
fn up_wait_timeout_fails_in_time() {
    let project = Project::new(
        "up-wait-timeout",
        r#"
services:
  never:
    image: IMAGE
    command: ["sleep", "300"]
    healthcheck:
      test: ["CMD", "false"]
      interval: 1s
      retries: 100
"#,
    );
    let start = std::time::Instant::now();
    let out = project.wharf(&["up", "--wait", "--wait-timeout", "2"]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    assert!(stderr(&out).contains("--wait-timeout"), "{}", text(&out));
    assert!(
        start.elapsed() < Duration::from_secs(15),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn run_build_builds_the_image_first() {
    let project = Project::new(
        "run-build",
        r#"
services:
  app:
    build: ./app
"#,
    );
    let mut cleanup = Cleanup::new(&project.name);
    cleanup.image(&format!("{}-app", project.name));
    let app = project.path().join("app");
    std::fs::create_dir(&app).unwrap();
    let dockerfile =
        |marker: &str| format!("FROM {}\nRUN echo {marker} > /marker\n", busybox_image());
    std::fs::write(app.join("Dockerfile"), dockerfile("first")).unwrap();
    // A missing image is built without --build; --build builds the changed one again.
    let out = project.wharf(&["run", "--rm", "app", "cat", "/marker"]);
    assert_eq!(
        (code(&out), stdout(&out).as_str()),
        (0, "first\n"),
        "{}",
        text(&out)
    );
    std::fs::write(app.join("Dockerfile"), dockerfile("second")).unwrap();
    let out = project.wharf(&["run", "--rm", "app", "cat", "/marker"]);
    assert_eq!(stdout(&out), "first\n", "{}", text(&out));
    let out = project.wharf(&["run", "--rm", "--build", "app", "cat", "/marker"]);
    assert_eq!(
        (code(&out), stdout(&out).as_str()),
        (0, "second\n"),
        "{}",
        text(&out)
    );
}

#[test]
fn run_takes_env_from_file_pull_and_quiet_as_compose_does() {
    let project = Project::new(
        "run-env-pull",
        &format!(
            "{WITH_JOB}  missing:\n    image: wharf-test/never-made:{}\n",
            std::process::id()
        ),
    );
    let env = project.path().join("run.env");
    std::fs::write(&env, "A=1\nB=\"two words\"\nFOO=from-file\n").unwrap();
    let env = env.to_str().unwrap();
    let args = [
        "run",
        "--rm",
        "--no-deps",
        "-T",
        "--env-from-file",
        env,
        "-e",
        "A=over",
        "web",
        "sh",
        "-c",
        "echo $A $B $FOO",
    ];
    let ours = project.wharf(&args);
    assert_eq!(
        (code(&ours), stdout(&ours).as_str()),
        (0, "over two words from-file\n"),
        "{}",
        text(&ours)
    );
    let theirs = project.compose(&args);
    assert_eq!(stdout(&theirs), stdout(&ours), "{}", text(&theirs));

    // -q: no progress lines, the command's output all the same (compose prints it too).
    let out = project.wharf(&["run", "--rm", "-q", "-T", "web", "echo", "quiet"]);
    assert_eq!(
        (code(&out), stdout(&out).as_str()),
        (0, "quiet\n"),
        "{}",
        text(&out)
    );
    assert!(!stderr(&out).contains('✔'), "{}", text(&out));

    // --pull never: a missing image is not pulled, and the run fails naming it.
    let out = project.wharf(&["run", "--rm", "--pull", "never", "-T", "missing", "true"]);
    assert_ne!(code(&out), 0, "{}", text(&out));
    assert!(
        stderr(&out).contains("wharf-test/never-made"),
        "{}",
        text(&out)
    );
    assert!(!stderr(&out).contains("Pulling"), "{}", text(&out));
    // A bad file names itself.
    let out = project.wharf(&["run", "--rm", "--env-from-file", "nope.env", "web", "true"]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    assert!(stderr(&out).contains("nope.env"), "{}", text(&out));
}

const CHAIN: &str = r#"
services:
  a:
    image: IMAGE
    command: ["sh", "-c", "echo from-a"]
  b:
    image: IMAGE
    command: ["sh", "-c", "sleep 1; echo from-b"]
    depends_on: [a]
  c:
    image: IMAGE
    command: ["sh", "-c", "echo from-c"]
"#;

/// The services whose lines (`x-1  | …`, `x-1 exited …`) an attached `up` printed.
fn followed(out: &Output) -> Vec<String> {
    let mut services: Vec<String> = stdout(out)
        .replace("\r\x1b[K", "")
        .lines()
        .filter(|l| !l.starts_with("Attaching to"))
        .filter_map(|l| l.split_once("-1").map(|(service, _)| service.to_string()))
        .collect();
    services.sort();
    services.dedup();
    services
}

#[test]
fn up_attach_no_attach_attach_dependencies_and_timestamps_select_as_compose_does() {
    for args in [
        &["up", "--no-attach", "c"][..],
        &["up", "--attach", "b"],
        &["up", "--attach-dependencies", "b"],
    ] {
        let ours = Project::new("up-attach-sel", CHAIN);
        let out = ours.wharf(args);
        assert_eq!(code(&out), 0, "{args:?}: {}", text(&out));
        let theirs = Project::new("up-attach-sel-peer", CHAIN);
        let peer = theirs.compose(args);
        assert_eq!(code(&peer), 0, "{args:?}: {}", text(&peer));
        assert_eq!(followed(&out), followed(&peer), "{args:?}: {}", text(&out));
        assert!(!followed(&out).is_empty(), "{args:?}: {}", text(&out));
    }
    // compose refuses the two together, and so does wharf, before anything is made.
    let ours = Project::new("up-attach-both", CHAIN);
    let args = ["up", "--attach", "b", "--attach-dependencies"];
    let out = ours.wharf(&args);
    let peer = ours.compose(&args);
    assert_eq!((code(&out), code(&peer)), (1, 1));
    assert_eq!(stderr(&out), format!("error: {}", stderr(&peer)));
    assert!(project_containers(&ours.name).is_empty());

    // -t: each line carries the engine's time.
    let ours = Project::new("up-timestamps", CHAIN);
    let out = ours.wharf(&["up", "--timestamps", "--attach", "c"]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let line = stdout(&out)
        .lines()
        .find(|l| l.ends_with("from-c"))
        .unwrap_or_default()
        .to_string();
    let stamp = line
        .split_once(" | ")
        .map(|(_, rest)| rest.split(' ').next().unwrap_or_default())
        .unwrap_or_default();
    assert!(
        stamp.len() > 20 && stamp.starts_with("20") && stamp.ends_with('Z'),
        "{line:?} in {}",
        text(&out)
    );
}
