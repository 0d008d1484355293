//! A Docker Swarm of lab nodes: node 1 is the manager (`swarm init`), the others join it as
//! workers, and every node holds the tests' busybox image (no registry: tasks find it locally
//! after their pull fails). The swarm lives inside the nodes' own engines, never on the shared
//! one, and goes with the lab when it is dropped, even when the test panics.

use std::time::Duration;

use super::busybox_image;
use super::lab::{Lab, Node};

/// How long the nodes may take to be `Ready` once they joined.
const READY_LIMIT: Duration = Duration::from_secs(60);

/// A swarm of `Lab` nodes; node 1 manages it.
pub struct Swarm {
    pub lab: Lab,
}

impl Swarm {
    /// Starts `nodes` lab nodes, makes a swarm of them and loads the busybox image into each.
    pub fn start(prefix: &str, nodes: usize) -> Swarm {
        let lab = Lab::start(prefix, nodes);
        let image = busybox_image();
        std::thread::scope(|scope| {
            for node in lab.nodes() {
                scope.spawn(|| node.load_image(image));
            }
        });
        let swarm = Swarm { lab };
        swarm.form();
        swarm
    }

    /// The manager: its `DOCKER_HOST` is the swarm's.
    pub fn manager(&self) -> &Node {
        self.lab.node(1)
    }

    /// `DOCKER_HOST` naming the manager.
    pub fn docker_host(&self) -> String {
        self.manager().docker_host()
    }

    /// The nodes' hostnames, as tasks name the node they run on.
    pub fn hostnames(&self) -> Vec<String> {
        self.lab
            .nodes()
            .iter()
            .map(|n| n.container.clone())
            .collect()
    }

    fn form(&self) {
        let manager = self.manager();
        let address = manager.ip();
        let listen = format!("{address}:2377");
        manager.docker(&[
            "swarm",
            "init",
            "--advertise-addr",
            &address,
            "--listen-addr",
            &listen,
        ]);
        let token = manager.docker(&["swarm", "join-token", "-q", "worker"]);
        for worker in &self.lab.nodes()[1..] {
            let own = worker.ip();
            worker.docker(&[
                "swarm",
                "join",
                "--token",
                &token,
                "--advertise-addr",
                &own,
                &listen,
            ]);
        }
        super::wait_until(
            "every swarm node is Ready",
            READY_LIMIT,
            || self.ready_nodes() == self.lab.nodes().len(),
            || manager.docker(&["node", "ls"]),
        );
    }

    fn ready_nodes(&self) -> usize {
        let states =
            self.manager()
                .docker(&["node", "ls", "--format", "{{.Status}} {{.Availability}}"]);
        states.lines().filter(|l| *l == "Ready Active").count()
    }
}

impl Swarm {
    /// `wharf --target swarm ARGS` for `project` in `dir`, against the manager.
    pub fn wharf(
        &self,
        project: &str,
        dir: &std::path::Path,
        args: &[&str],
    ) -> std::process::Output {
        use super::OutputWithin;
        self.wharf_command(project, dir)
            .args(args)
            .output_within(super::COMMAND_LIMIT)
    }

    /// `wharf --target swarm` for `project` in `dir`, against the manager, to be given its
    /// arguments (and environment).
    pub fn wharf_command(&self, project: &str, dir: &std::path::Path) -> std::process::Command {
        let state = dir.join("state");
        let mut command = super::wharf_command(project, dir, &state);
        command
            .args(["--target", "swarm"])
            .env("DOCKER_HOST", self.docker_host());
        command
    }
}
