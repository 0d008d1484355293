//! `wharf --target swarm watch` on a real one-node swarm (a lab node, never the shared engine):
//! a change of a file the model is read from deploys the stack again, an invalid save changes
//! nothing, and SIGTERM ends the watching with the stack left running.

mod support;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use support::swarm::Swarm;
use support::{
    BUSYBOX_IMAGE, COMMAND_LIMIT, OutputWithin, unique_project, wait_until, wait_within,
};

/// How long a deploy may take to show in the service's spec (the task first tries to pull).
const DEPLOY_LIMIT: Duration = Duration::from_secs(90);

fn compose_file() -> String {
    format!(
        r#"services:
  web:
    image: {BUSYBOX_IMAGE}
    command: [sh, -c, "trap 'exit 0' TERM; sleep 3600 & wait"]
    environment:
      - GREETING=${{GREETING}}
    develop:
      watch:
        - {{path: ./src, action: sync, target: /src}}
"#
    )
}

fn wharf(swarm: &Swarm, project: &str, dir: &Path) -> Command {
    let mut command = support::wharf_command(project, dir, &dir.join("state"));
    command
        .args(["--target", "swarm"])
        .env("DOCKER_HOST", swarm.docker_host());
    command
}

/// The service's `GREETING`, as its spec holds it; empty before it exists.
fn greeting(swarm: &Swarm, project: &str) -> String {
    let format = "{{range .Spec.TaskTemplate.ContainerSpec.Env}}{{println .}}{{end}}";
    let service = format!("{project}_web");
    let out = swarm
        .manager()
        .docker_command(&["service", "inspect", "-f", format, &service])
        .output_within(COMMAND_LIMIT);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|line| line.strip_prefix("GREETING="))
        .unwrap_or_default()
        .to_string()
}

/// A `watch` running in the background, its standard error in a file.
struct Watching {
    child: Child,
    log: std::path::PathBuf,
}

impl Watching {
    fn start(mut command: Command, dir: &Path) -> Watching {
        let log = dir.join("watch.log");
        let file = std::fs::File::create(&log).unwrap();
        let child = command
            .arg("watch")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .expect("wharf watch starts");
        Watching { child, log }
    }

    fn said(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Watching {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_changed_source_file_deploys_the_stack_again_until_the_watch_ends() {
    let swarm = Swarm::start("swarm-watch", 1);
    let project = unique_project("swarm-watch");
    let dir = tempfile::tempdir().expect("a project folder");
    std::fs::write(dir.path().join("compose.yaml"), compose_file()).unwrap();
    std::fs::write(dir.path().join(".env"), "GREETING=one\n").unwrap();
    std::fs::create_dir(dir.path().join("src")).unwrap();

    let mut watching = Watching::start(wharf(&swarm, &project, dir.path()), dir.path());
    let took = wait_until(
        "the first deploy, then watching",
        DEPLOY_LIMIT,
        || watching.said().contains("watch: watching"),
        || watching.said(),
    );
    eprintln!("first deploy and watching after {took:?}");
    assert_eq!(greeting(&swarm, &project), "one");
    assert!(
        watching.said().contains(
            "watch: services.web.develop.watch is not applied on a swarm: its sync, rebuild and \
             restart act on this host's containers"
        ),
        "{}",
        watching.said()
    );

    // `.env` is a file the model is read from.
    std::fs::write(dir.path().join(".env"), "GREETING=two\n").unwrap();
    let took = wait_until(
        "the changed .env deployed",
        DEPLOY_LIMIT,
        || greeting(&swarm, &project) == "two" && watching.said().contains("watch: deployed"),
        || watching.said(),
    );
    eprintln!("the change deployed after {took:?}");

    // An invalid save changes nothing; the next valid one deploys.
    std::fs::write(dir.path().join("compose.yaml"), "services:\n  web: [\n").unwrap();
    wait_until(
        "the invalid save reported",
        DEPLOY_LIMIT,
        || {
            watching
                .said()
                .contains("the project is not valid: nothing was changed")
        },
        || watching.said(),
    );
    assert_eq!(greeting(&swarm, &project), "two");

    let pid = watching.child.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    let status = wait_within(&mut watching.child, Duration::from_secs(10));
    assert!(
        status.success(),
        "SIGTERM ends watching with success: {status:?}"
    );
    assert_eq!(greeting(&swarm, &project), "two", "the stack keeps running");

    std::fs::write(dir.path().join("compose.yaml"), compose_file()).unwrap();
    let down = swarm.wharf(&project, dir.path(), &["down"]);
    assert!(
        down.status.success(),
        "{}",
        String::from_utf8_lossy(&down.stderr)
    );
}
