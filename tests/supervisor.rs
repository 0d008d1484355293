//! The supervisor of an attached `wharf up`, against the real engine: restart policies, drift
//! correction, user stops, unhealthy restarts and a graceful stop on SIGTERM.

mod support;

use std::process::{Child, Command};
use std::time::Duration;

use support::{
    COMMAND_LIMIT, Cleanup, OutputWithin, busybox_image, docker, docker_lines, inspect_if_exists,
    unique_project, wait_until, wait_within, wharf_command,
};

/// An attached `wharf up` running in the background, stopped when dropped.
struct Attached {
    child: Child,
    project: String,
    dir: tempfile::TempDir,
    _state: tempfile::TempDir,
    _cleanup: Cleanup,
}

impl Attached {
    fn start(prefix: &str, compose: &str) -> Attached {
        let project = unique_project(prefix);
        let cleanup = Cleanup::new(&project);
        let dir = tempfile::tempdir().unwrap();
        let state = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("compose.yaml"),
            compose.replace("IMAGE", busybox_image()),
        )
        .unwrap();
        let log = std::fs::File::create(dir.path().join("wharf.log")).unwrap();
        let out = std::fs::File::create(dir.path().join("out.log")).unwrap();
        let child = wharf_command(&project, dir.path(), state.path())
            .arg("up")
            .env("RUST_LOG", "wharf=debug")
            .stdout(out)
            .stderr(log)
            .spawn()
            .unwrap();
        let attached = Attached {
            child,
            project,
            dir,
            _state: state,
            _cleanup: cleanup,
        };
        // The supervisor writes its pid file once the project has converged.
        let pid_file = attached
            ._state
            .path()
            .join(&attached.project)
            .join("supervisor.pid");
        attached.until("the supervisor is running", Duration::from_secs(20), || {
            pid_file.exists()
        });
        attached
    }

    fn name(&self, service: &str) -> String {
        format!("{}-{service}-1", self.project)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("wharf.log")).unwrap_or_default()
    }

    /// What the attached `up` printed on standard output: the containers' logs.
    fn output(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("out.log")).unwrap_or_default()
    }

    fn wharf(&self, args: &[&str]) -> String {
        let out = wharf_command(&self.project, self.dir.path(), self._state.path())
            .args(args)
            .output_within(COMMAND_LIMIT);
        assert!(
            out.status.success(),
            "wharf {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    }

    /// Waits for `condition`, failing with the supervisor's log after `limit`.
    fn until(&self, what: &str, limit: Duration, condition: impl Fn() -> bool) -> Duration {
        wait_until(what, limit, condition, || self.log())
    }

    fn state(&self, service: &str) -> String {
        inspect_if_exists(&self.name(service), "{{.State.Status}}")
    }
}

impl Drop for Attached {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const ALWAYS: &str = r#"
services:
  web:
    image: IMAGE
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
    restart: always
  plain:
    image: IMAGE
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
"#;

#[test]
fn a_killed_replica_is_restarted_and_drift_is_corrected() {
    let up = Attached::start("sv-always", ALWAYS);
    let web = up.name("web");
    let id = inspect_if_exists(&web, "{{.Id}}");
    // `docker kill`: the engine does not restart what its API killed, the supervisor does.
    docker(&["kill", &web]);
    let took = up.until("web restarted after a kill", Duration::from_secs(5), || {
        up.state("web") == "running"
    });
    eprintln!("restart after kill took {took:?}");
    // A crash of the process: the engine restarts it (`restart: always` is its policy too).
    let pid = inspect_if_exists(&web, "{{.State.Pid}}");
    let started = inspect_if_exists(&web, "{{.State.StartedAt}}");
    assert!(
        Command::new("kill")
            .args(["-KILL", &pid])
            .status()
            .unwrap()
            .success()
    );
    up.until(
        "web restarted after a crash",
        Duration::from_secs(5),
        || {
            up.state("web") == "running"
                && inspect_if_exists(&web, "{{.State.StartedAt}}") != started
        },
    );
    assert!(
        up.log()
            .contains("left to the engine's restart policy (always)"),
        "{}",
        up.log()
    );
    assert_eq!(
        inspect_if_exists(&web, "{{.Id}}"),
        id,
        "restarted, not recreated"
    );

    // `docker stop` behind wharf's back, on a service with no restart policy: drift, restored.
    docker(&["stop", "-t", "1", &up.name("plain")]);
    up.until(
        "plain restarted after docker stop",
        Duration::from_secs(5),
        || up.state("plain") == "running",
    );

    // `docker rm -f`: recreated.
    docker(&["rm", "-f", &web]);
    up.until("web recreated after rm -f", Duration::from_secs(5), || {
        up.state("web") == "running"
    });
    assert_ne!(inspect_if_exists(&web, "{{.Id}}"), id);
}

#[test]
fn the_logs_of_a_restarted_container_keep_streaming_without_repeats() {
    let up = Attached::start(
        "sv-relog",
        r#"
services:
  loop:
    image: IMAGE
    command: ["sh", "-c", "echo run-$$RANDOM-$$(date +%s); sleep 0.5; exit 1"]
    restart: always
"#,
    );
    let runs = || -> Vec<String> {
        up.output()
            .lines()
            .filter_map(|l| l.split_once("| ").map(|(_, text)| text.to_string()))
            .filter(|text| text.starts_with("run-"))
            .collect()
    };
    up.until("three runs in the stream", Duration::from_secs(15), || {
        runs().len() >= 3
    });
    let runs = runs();
    let mut unique = runs.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(
        unique.len(),
        runs.len(),
        "a line was printed twice: {runs:?}"
    );
}

#[test]
fn a_user_stop_is_respected_until_start() {
    let up = Attached::start("sv-userstop", ALWAYS);
    up.wharf(&["stop", "web"]);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        up.state("web"),
        "exited",
        "wharf stop is respected\n{}",
        up.log()
    );
    up.wharf(&["start", "web"]);
    up.until("web started again", Duration::from_secs(5), || {
        up.state("web") == "running"
    });
    docker(&["kill", &up.name("web")]);
    up.until(
        "the policy applies again after start",
        Duration::from_secs(5),
        || up.state("web") == "running",
    );
}

#[test]
fn on_failure_gives_up_after_max_attempts_and_no_is_never_restarted() {
    let up = Attached::start(
        "sv-onfailure",
        r#"
services:
  flaky:
    image: IMAGE
    command: ["sh", "-c", "sleep 0.3; exit 3"]
    restart: "on-failure:2"
  clean:
    image: IMAGE
    command: ["sh", "-c", "sleep 0.3; exit 0"]
    restart: on-failure
  never:
    image: IMAGE
    command: ["sh", "-c", "sleep 0.3; exit 1"]
"#,
    );
    // `on-failure:2` is the engine's own policy (the floor under the supervisor): the engine
    // makes the two restarts and gives up, and the supervisor leaves it to it.
    up.until("flaky gave up", Duration::from_secs(10), || {
        inspect_if_exists(&up.name("flaky"), "{{.RestartCount}} {{.State.Status}}") == "2 exited"
    });
    assert!(
        up.log()
            .contains("left to the engine's restart policy (on-failure)"),
        "{}",
        up.log()
    );
    up.until(
        "the three ran their course",
        Duration::from_secs(10),
        || {
            ["flaky", "clean", "never"]
                .iter()
                .all(|service| up.state(service) == "exited")
        },
    );
    let restarts = |service: &str| {
        up.wharf(&["ps", "-a", "--format", "json"])
            .lines()
            .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
            .find(|c| c["Service"] == service)
            .unwrap()["Restarts"]
            .as_u64()
            .unwrap()
    };
    // The engine's restarts are counted (the history is saved once the supervisor has seen the
    // events).
    up.until(
        "flaky's two restarts counted",
        Duration::from_secs(5),
        || restarts("flaky") == 2,
    );
    assert_eq!(
        restarts("clean"),
        0,
        "on-failure does not restart a clean exit"
    );
    assert_eq!(restarts("never"), 0, "no policy, no restart");
    assert_eq!(up.state("flaky"), "exited");
}

#[test]
fn a_crash_loop_backs_off_and_ps_says_so() {
    let up = Attached::start(
        "sv-backoff",
        r#"
services:
  loop:
    image: IMAGE
    command: ["sh", "-c", "exit 1"]
    restart: always
    deploy:
      restart_policy:
        delay: 2s
"#,
    );
    up.until("a restart is pending", Duration::from_secs(10), || {
        up.wharf(&["ps", "-a"]).contains("restarting (attempt")
    });
    let table = up.wharf(&["ps", "-a"]);
    assert!(table.contains("next in"), "{table}");
    assert!(table.contains("supervisor: running (pid"), "{table}");
}

#[test]
fn an_unhealthy_replica_is_restarted() {
    let up = Attached::start(
        "sv-unhealthy",
        r#"
services:
  sick:
    image: IMAGE
    command: ["sh", "-c", "touch /tmp/ok; (sleep 2; rm /tmp/ok) & trap 'exit 0' TERM; sleep 3600 & wait"]
    restart: always
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ok"]
      interval: 300ms
      retries: 2
"#,
    );
    let first = inspect_if_exists(&up.name("sick"), "{{.State.StartedAt}}");
    up.until(
        "sick restarted once unhealthy",
        Duration::from_secs(15),
        || inspect_if_exists(&up.name("sick"), "{{.State.StartedAt}}") != first,
    );
    assert!(up.log().contains("unhealthy"), "{}", up.log());
}

#[test]
fn sigterm_stops_the_project_gracefully() {
    let mut up = Attached::start("sv-sigterm", ALWAYS);
    let pid = up.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = wait_within(&mut up.child, COMMAND_LIMIT);
    assert!(status.success(), "{status:?}\n{}", up.log());
    assert_eq!(up.state("web"), "exited");
    assert_eq!(up.state("plain"), "exited");
    let pid_file = up._state.path().join(&up.project).join("supervisor.pid");
    assert!(!pid_file.exists(), "the pid file is removed");
}

#[test]
fn down_from_another_terminal_stops_the_supervisor_first() {
    let mut up = Attached::start("sv-down", ALWAYS);
    up.wharf(&["down"]);
    let status = wait_within(&mut up.child, COMMAND_LIMIT);
    assert!(
        status.success(),
        "the attached up ends cleanly: {status:?}\n{}",
        up.log()
    );
    std::thread::sleep(Duration::from_secs(1));
    let filter = format!("label=com.docker.compose.project={}", up.project);
    assert!(
        docker_lines(&["ps", "-aq", "--filter", &filter]).is_empty(),
        "nothing restored"
    );
    assert!(docker_lines(&["network", "ls", "-q", "--filter", &filter]).is_empty());
}
