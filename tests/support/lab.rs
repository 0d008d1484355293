//! A lab of private Docker Engines: docker-in-docker nodes on the shared engine, each with its
//! own `/var/lib/docker` on a named volume and its socket bind-mounted into a host folder, so
//! that a test can restart, kill or reboot an engine without touching the one every other test
//! shares (see the recipe in the repository's notes on a swarm lab: no `--privileged` on this
//! kind of host, so the node gets every capability but `SYS_RESOURCE`, and its entrypoint
//! remounts `/sys` and the cgroup hierarchies read-write before it starts `dockerd`).
//!
//! The node image is made once per machine and kept by tag: `FROM` a Debian base made with
//! `debootstrap` and `docker import` (or the one `examples/images.sh` made), with Debian's
//! `docker.io` installed. Everything a lab creates carries the label [`LAB_LABEL`] and is
//! removed when the lab is dropped, even when the test panics.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::{
    COMMAND_LIMIT, Lock, OutputWithin, image_exists, in_ci, unique_project,
    wait_with_output_within, wait_within,
};

/// The node image; the tag changes whenever its recipe below does.
pub const NODE_IMAGE: &str = "wharf-test/engine-node:2";
/// The Debian base the node image is made from.
pub const BASE_IMAGE: &str = "wharf-test/debian:bookworm";
/// The same base as `examples/images.sh` makes it: tagged instead of made again when present.
const DEMO_BASE_IMAGE: &str = "wharf-demo/debian:bookworm";
/// Every node and volume of a lab carries this label, with the lab's name as its value.
pub const LAB_LABEL: &str = "wharf.test-lab";
/// How long a node's engine may take to answer after a start or a restart.
pub const ENGINE_START_LIMIT: Duration = Duration::from_secs(60);

const IMAGE_LOCK: &str = "/tmp/wharf-test-engine-node-image.lock";
const MIRROR: &str = "http://deb.debian.org/debian";
const PATH_ENV: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// What the node runs as PID 1: the remounts this host needs, then `dockerd` listening on its
/// own socket and on the one in the bind-mounted `/lab` folder. A registry on a private
/// address (a lab's, `lab_registry.rs`) is spoken to without TLS.
const ENTRYPOINT: &str = r#"#!/bin/sh
set -e
mount -o remount,rw /sys
for d in /sys/fs/cgroup/*; do mount -o remount,bind,rw "$d" 2>/dev/null || true; done
mkdir -p /etc/docker
echo '{"storage-driver": "overlay2", "insecure-registries": ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]}' > /etc/docker/daemon.json
rm -f /lab/docker.sock
exec dockerd -H unix:///var/run/docker.sock -H unix:///lab/docker.sock
"#;

const DOCKERFILE: &str = "FROM wharf-test/debian:bookworm
RUN apt-get update -qq \\
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \\
    docker.io iproute2 iptables ca-certificates fuse-overlayfs procps \\
 && rm -rf /var/lib/apt/lists/*
COPY entrypoint.sh /usr/local/bin/lab-node
ENTRYPOINT [\"/bin/sh\", \"/usr/local/bin/lab-node\"]
";

/// N private engines, removed when dropped.
pub struct Lab {
    pub name: String,
    nodes: Vec<Node>,
    _sockets: tempfile::TempDir,
}

/// One private engine: a container of the shared engine running `dockerd`.
pub struct Node {
    /// The node's container on the shared engine.
    pub container: String,
    /// The named volume holding the node's `/var/lib/docker`.
    pub volume: String,
    /// The host folder holding the node's socket.
    pub socket_dir: PathBuf,
}

impl Lab {
    /// Starts `count` nodes (making the node image first if it is missing) and waits until
    /// each engine answers.
    pub fn start(prefix: &str, count: usize) -> Lab {
        node_image();
        let name = unique_project(prefix);
        let sockets = tempfile::tempdir().expect("a folder for the nodes' sockets");
        let mut lab = Lab {
            name,
            nodes: Vec::new(),
            _sockets: sockets,
        };
        for index in 1..=count {
            let node = lab.start_node(index);
            lab.nodes.push(node);
        }
        for node in &lab.nodes {
            let took = node.wait_until_answering();
            eprintln!("lab: {} answers after {took:?}", node.container);
        }
        lab
    }

    /// Node `index`, counted from 1.
    pub fn node(&self, index: usize) -> &Node {
        &self.nodes[index - 1]
    }

    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    fn start_node(&self, index: usize) -> Node {
        let container = format!("{}-node-{index}", self.name);
        let volume = format!("{container}-docker");
        let socket_dir = self._sockets.path().join(format!("node-{index}"));
        std::fs::create_dir_all(&socket_dir).expect("the node's socket folder");
        let label = format!("{LAB_LABEL}={}", self.name);
        shared_docker(&["volume", "create", "--label", &label, &volume]);
        let node = Node {
            container,
            volume,
            socket_dir,
        };
        let storage = format!("{}:/var/lib/docker", node.volume);
        let lab_dir = format!("{}:/lab", node.socket_dir.display());
        shared_docker(&[
            "run",
            "-d",
            "--name",
            &node.container,
            "--hostname",
            &node.container,
            "--label",
            &label,
            "--cap-add",
            "ALL",
            "--cap-drop",
            "SYS_RESOURCE",
            "--security-opt",
            "seccomp=unconfined",
            "--security-opt",
            "systempaths=unconfined",
            "--device",
            "/dev/fuse",
            // A fresh /run at every start: no pid file or socket of the engine's last life.
            "--tmpfs",
            "/run:exec",
            "-v",
            &storage,
            "-v",
            &lab_dir,
            NODE_IMAGE,
        ]);
        node
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for node in &self.nodes {
            let _ = quiet_shared_docker(&["rm", "-f", "-v", &node.container]);
            let _ = quiet_shared_docker(&["volume", "rm", "-f", &node.volume]);
        }
    }
}

impl Node {
    /// `DOCKER_HOST` for this node's engine.
    pub fn docker_host(&self) -> String {
        format!("unix://{}", self.socket().display())
    }

    pub fn socket(&self) -> PathBuf {
        self.socket_dir.join("docker.sock")
    }

    /// The node's address on the shared engine's default bridge, where the nodes reach each
    /// other (what a swarm advertises and listens on).
    pub fn ip(&self) -> String {
        let format = "{{.NetworkSettings.IPAddress}}";
        shared_docker(&["inspect", "-f", format, &self.container])
    }

    /// `docker ARGS` against this node's engine.
    pub fn docker_command(&self, args: &[&str]) -> Command {
        let mut command = Command::new("docker");
        command.args(args).env("DOCKER_HOST", self.docker_host());
        command
    }

    /// `docker ARGS` against this node's engine, which must succeed; its standard output.
    pub fn docker(&self, args: &[&str]) -> String {
        let out = self.docker_command(args).output_within(COMMAND_LIMIT);
        assert!(
            out.status.success(),
            "docker {args:?} on {}: {}",
            self.container,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Whether the node's engine answers now.
    pub fn answers(&self) -> bool {
        let mut version = self.docker_command(&["version", "--format", "{{.Server.Version}}"]);
        self.socket().exists()
            && version
                .output_within(Duration::from_secs(5))
                .status
                .success()
    }

    /// Waits until the engine answers and returns how long that took; fails with the end of
    /// the node's log after [`ENGINE_START_LIMIT`].
    pub fn wait_until_answering(&self) -> Duration {
        super::wait_until(
            &format!("the engine of {} answers", self.container),
            ENGINE_START_LIMIT,
            || self.answers(),
            || self.log(),
        )
    }

    /// Copies `image` from the shared engine into this node (`docker save | docker load`).
    pub fn load_image(&self, image: &str) {
        let mut save = Command::new("docker")
            .args(["save", image])
            .stdout(Stdio::piped())
            .spawn()
            .expect("docker save");
        let load = self
            .docker_command(&["load", "-q"])
            .stdin(save.stdout.take().expect("docker save's output"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("docker load");
        let out = wait_with_output_within(load, COMMAND_LIMIT);
        // The load has read all the save wrote, or failed: the save ends with it.
        let saved = wait_within(&mut save, COMMAND_LIMIT);
        assert!(
            out.status.success() && saved.success(),
            "docker save {image} ({saved}) | docker load into {}: {}",
            self.container,
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Restarts the node (its engine stops as at a shutdown, and starts again as at a boot)
    /// and waits until the engine answers; returns when it does.
    pub fn restart(&self) -> Instant {
        shared_docker(&["restart", "-t", "20", &self.container]);
        self.wait_until_answering();
        Instant::now()
    }

    /// Kills the node at once, as a machine that lost its power: its engine says nothing to
    /// the others before it goes.
    pub fn kill(&self) {
        shared_docker(&["kill", &self.container]);
    }

    /// The end of the node's own log (its `dockerd`).
    pub fn log(&self) -> String {
        let out = quiet_shared_docker(&["logs", "--tail", "40", &self.container]);
        let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).to_string();
        format!("{}{}", text(&out.stdout), text(&out.stderr))
    }
}

/// `docker ARGS` on the shared engine, whatever its outcome.
fn quiet_shared_docker(args: &[&str]) -> Output {
    Command::new("docker")
        .args(args)
        .output_within(COMMAND_LIMIT)
}

/// `docker ARGS` on the shared engine, which must succeed.
fn shared_docker(args: &[&str]) -> String {
    let out = quiet_shared_docker(args);
    assert!(
        out.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Makes [`NODE_IMAGE`] unless it exists: test processes running in parallel wait for the one
/// that makes it.
fn node_image() {
    if image_exists(NODE_IMAGE) {
        return;
    }
    let _lock = Lock::acquire(IMAGE_LOCK);
    if image_exists(NODE_IMAGE) {
        return;
    }
    base_image();
    let started = Instant::now();
    let context = tempfile::tempdir().expect("a build context");
    std::fs::write(context.path().join("Dockerfile"), DOCKERFILE).unwrap();
    std::fs::write(context.path().join("entrypoint.sh"), ENTRYPOINT).unwrap();
    let context_path = context.path().to_str().expect("a UTF-8 path");
    shared_docker(&["build", "-q", "-t", NODE_IMAGE, context_path]);
    eprintln!("lab: made {NODE_IMAGE} in {:?}", started.elapsed());
}

/// Makes [`BASE_IMAGE`] unless it exists: the base `examples/images.sh` made, tagged, or
/// `debootstrap --variant=minbase` and `docker import`.
fn base_image() {
    if image_exists(BASE_IMAGE) {
        return;
    }
    if image_exists(DEMO_BASE_IMAGE) {
        shared_docker(&["tag", DEMO_BASE_IMAGE, BASE_IMAGE]);
        return;
    }
    let debootstrap = Path::new("/usr/sbin/debootstrap");
    if !debootstrap.exists() {
        assert!(!in_ci(), "debootstrap is missing, and CI must run the lab");
        panic!(
            "the lab makes its Debian base with debootstrap: `apt-get install debootstrap` \
             (or run examples/images.sh)"
        );
    }
    let started = Instant::now();
    let root = tempfile::tempdir().expect("a folder for the root filesystem");
    let status = Command::new(debootstrap)
        .args(["--variant=minbase", "bookworm"])
        .arg(root.path())
        .arg(MIRROR)
        .stdout(Stdio::null())
        .status()
        .expect("debootstrap runs");
    assert!(status.success(), "debootstrap failed: {status}");
    let mut tar = Command::new("tar")
        .arg("-C")
        .arg(root.path())
        .args(["-c", "."])
        .stdout(Stdio::piped())
        .spawn()
        .expect("tar");
    let change = format!("ENV {PATH_ENV}");
    let out = Command::new("docker")
        .args(["import", "--change", &change, "-", BASE_IMAGE])
        .stdin(tar.stdout.take().expect("tar's output"))
        .output()
        .expect("docker import");
    let tarred = tar.wait().expect("tar ends");
    assert!(tarred.success(), "tar failed: {tarred}");
    assert!(
        out.status.success(),
        "docker import: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("lab: made {BASE_IMAGE} in {:?}", started.elapsed());
}
