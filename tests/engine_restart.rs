//! Engine restarts and reboots, on a private engine (one docker-in-docker node of
//! `support::lab`), never on the engine the other tests share: the engine's own restart
//! policy is the floor under the supervisor, so services come back with no wharf process at
//! all, and a supervisor that outlives an engine restart picks up where it was.

mod support;

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use support::lab::{Lab, Node};
use support::{
    COMMAND_LIMIT, OutputWithin, busybox_image, kill_wharf_processes, unique_project, wait_until,
    wharf_command, wharf_processes,
};

/// How long after the engine answers again the services must run: the issue's 10 s.
const BACK_WITHIN: Duration = Duration::from_secs(10);

/// A process that waits for its TERM, with no network: wharf's DNS would listen on the host at
/// the gateways of networks that exist only inside the node.
const SERVICE: &str = r#"    image: IMAGE
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
    network_mode: none
"#;

/// A project on a node's engine, with its own folder and state directory. Dropped before the
/// lab: its wharf processes are killed first.
struct Project {
    name: String,
    dir: tempfile::TempDir,
    state: tempfile::TempDir,
    docker_host: String,
}

impl Project {
    fn new(prefix: &str, node: &Node, services: &[(&str, &str)]) -> Project {
        let mut compose = String::from("services:\n");
        for (service, policy) in services {
            compose.push_str(&format!("  {service}:\n{SERVICE}{policy}"));
        }
        let project = Project {
            name: unique_project(prefix),
            dir: tempfile::tempdir().unwrap(),
            state: tempfile::tempdir().unwrap(),
            docker_host: node.docker_host(),
        };
        std::fs::write(
            project.dir.path().join("compose.yaml"),
            compose.replace("IMAGE", busybox_image()),
        )
        .unwrap();
        project
    }

    fn wharf(&self, args: &[&str]) -> Output {
        wharf_command(&self.name, self.dir.path(), self.state.path())
            .env("DOCKER_HOST", &self.docker_host)
            .args(args)
            .output_within(COMMAND_LIMIT)
    }

    /// Runs wharf and insists that it succeeds; its standard output.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.wharf(args);
        assert!(
            out.status.success(),
            "wharf {args:?} failed: {}\nsupervisor log:\n{}",
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn state_dir(&self) -> PathBuf {
        self.state.path().join(&self.name)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.state_dir().join("supervisor.log")).unwrap_or_default()
    }

    /// The live process whose pid is in `file` of the state directory.
    fn pid(&self, file: &str) -> Option<u32> {
        let text = std::fs::read_to_string(self.state_dir().join(file)).ok()?;
        let pid: u32 = text.split_whitespace().next()?.parse().ok()?;
        PathBuf::from(format!("/proc/{pid}"))
            .exists()
            .then_some(pid)
    }

    /// `up -d`, then waits until the detached supervisor listens; its pid.
    fn up_detached(&self) -> u32 {
        self.ok(&["up", "-d"]);
        let socket = self.state_dir().join("control.sock");
        wait_until(
            "the supervisor listens",
            Duration::from_secs(10),
            || socket.exists() && self.pid("supervisor.pid").is_some(),
            || self.log(),
        );
        self.pid("supervisor.pid").unwrap()
    }

    fn container(&self, service: &str) -> String {
        format!("{}-{service}-1", self.name)
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        kill_wharf_processes(&self.name);
    }
}

/// `docker inspect -f FORMAT` of a container on the node; empty when it does not answer.
fn inspect(node: &Node, container: &str, format: &str) -> String {
    let out = node
        .docker_command(&["inspect", "-f", format, container])
        .output_within(Duration::from_secs(10));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn running(node: &Node, project: &Project, service: &str) -> bool {
    inspect(node, &project.container(service), "{{.State.Status}}") == "running"
}

/// A node with the test image loaded.
fn lab(prefix: &str) -> Lab {
    let lab = Lab::start(prefix, 1);
    lab.node(1).load_image(busybox_image());
    lab
}

/// SIGKILL to the keeper and the supervisor, by the pids in the state directory; then no wharf
/// process of the project is left.
fn kill_every_wharf_process(project: &Project) {
    let pids: Vec<u32> = ["keeper.pid", "supervisor.pid"]
        .iter()
        .filter_map(|file| project.pid(file))
        .collect();
    assert!(!pids.is_empty(), "no keeper or supervisor to kill");
    for pid in &pids {
        let status = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "kill -KILL {pid}");
    }
    wait_until(
        "no wharf process of the project is left",
        Duration::from_secs(5),
        || wharf_processes(&project.name).is_empty(),
        || format!("{:?}", wharf_processes(&project.name)),
    );
}

#[test]
fn after_a_reboot_the_engine_brings_back_what_its_policy_says() {
    let lab = lab("reboot");
    let node = lab.node(1);
    let project = Project::new(
        "reboot",
        node,
        &[
            ("always", "    restart: always\n"),
            ("unless", "    restart: unless-stopped\n"),
            (
                "any",
                "    deploy:\n      restart_policy:\n        condition: any\n",
            ),
            ("never", "    restart: \"no\"\n"),
        ],
    );
    project.up_detached();
    // What compose v2 writes for the same services.
    for (service, policy) in [
        ("always", "always:0"),
        ("unless", "unless-stopped:0"),
        ("any", "always:0"),
        ("never", "no:0"),
    ] {
        let written = inspect(
            node,
            &project.container(service),
            "{{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}}",
        );
        assert_eq!(written, policy, "{service}");
        assert!(running(node, &project, service), "{service} runs after up");
    }

    kill_every_wharf_process(&project);
    let answered = node.restart();
    let took = wait_until(
        "always, unless-stopped and any run again with no wharf process",
        BACK_WITHIN,
        || {
            ["always", "unless", "any"]
                .iter()
                .all(|s| running(node, &project, s))
        },
        || node.log(),
    );
    eprintln!(
        "back {:?} after the engine answered (measured {took:?} from the first look)",
        answered.elapsed()
    );
    assert!(
        !running(node, &project, "never"),
        "restart: \"no\" stays down"
    );
    assert!(
        wharf_processes(&project.name).is_empty(),
        "nobody ran wharf"
    );
}

#[test]
fn an_engine_restart_under_a_running_supervisor_loses_nothing() {
    let lab = lab("engine-restart");
    let node = lab.node(1);
    let project = Project::new(
        "engine-restart",
        node,
        &[
            ("always", "    restart: always\n"),
            // A delay the engine cannot apply: only the supervisor restarts it.
            (
                "delayed",
                "    deploy:\n      restart_policy:\n        condition: any\n        delay: 1s\n",
            ),
        ],
    );
    let supervisor = project.up_detached();
    assert_eq!(
        inspect(
            node,
            &project.container("delayed"),
            "{{.HostConfig.RestartPolicy.Name}}"
        ),
        "no",
        "the supervisor alone restarts delayed"
    );
    // One restart in the history before the engine restarts: delayed crashes once.
    let delayed = project.container("delayed");
    let first = inspect(node, &delayed, "{{.State.StartedAt}}");
    node.docker(&["kill", &delayed]);
    wait_until(
        "the supervisor restarted delayed",
        Duration::from_secs(10),
        || {
            running(node, &project, "delayed")
                && inspect(node, &delayed, "{{.State.StartedAt}}") != first
        },
        || project.log(),
    );
    let restarts = |project: &Project| -> u64 {
        let ps = project.ok(&["ps", "-a", "--format", "json"]);
        ps.lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .find(|c| c["Service"] == "delayed")
            .and_then(|c| c["Restarts"].as_u64())
            .unwrap_or_else(|| panic!("delayed in `wharf ps`:\n{ps}"))
    };
    wait_until(
        "the restart is in the history",
        Duration::from_secs(5),
        || restarts(&project) == 1,
        || project.log(),
    );

    let before = inspect(node, &delayed, "{{.State.StartedAt}}");
    let answered = node.restart();
    let took = wait_until(
        "every service runs again under the same supervisor",
        BACK_WITHIN,
        || {
            ["always", "delayed"]
                .iter()
                .all(|s| running(node, &project, s))
        },
        || {
            format!(
                "supervisor log:\n{}\nnode log:\n{}",
                project.log(),
                node.log()
            )
        },
    );
    eprintln!(
        "back {:?} after the engine answered (measured {took:?} from the first look)",
        answered.elapsed()
    );
    assert_ne!(
        inspect(node, &delayed, "{{.State.StartedAt}}"),
        before,
        "the engine's shutdown stopped delayed, and the supervisor started it again"
    );
    assert_eq!(
        project.pid("supervisor.pid"),
        Some(supervisor),
        "the supervisor outlived the engine restart"
    );
    assert!(
        project.state_dir().join("restarts.json").exists(),
        "the restart book is kept"
    );
    assert!(
        restarts(&project) >= 1,
        "the restart history is kept\n{}",
        project.log()
    );
    let started = Instant::now();
    let ps = project.ok(&["ps"]);
    assert!(ps.contains(&project.container("always")), "{ps}");
    eprintln!("ps answered in {:?}", started.elapsed());
}
