//! A registry beside a lab's nodes: Debian's `docker-registry` (the host's binary, mounted into
//! a container of the lab's Debian base) on the shared engine's default bridge, where the nodes
//! reach it by its address, without TLS (the node image trusts private addresses). Its storage
//! is the container's own: it goes with the container when dropped, even when the test panics.

use std::path::Path;
use std::time::Duration;

use super::lab::{BASE_IMAGE, LAB_LABEL, Lab};
use super::{COMMAND_LIMIT, OutputWithin, docker, wait_until};

const BINARY: &str = "/usr/bin/docker-registry";
/// The registry's configuration: no authentication (the package's enables htpasswd), deletes
/// allowed, the port every node is told.
const CONFIG: &str = "version: 0.1
storage:
  filesystem: {rootdirectory: /var/lib/registry}
  delete: {enabled: true}
http: {addr: ':5000'}
";

/// A running registry of a lab.
pub struct LabRegistry {
    pub container: String,
    /// `IP:5000`, the registry host an image name starts with.
    pub address: String,
}

impl LabRegistry {
    /// Starts the registry of `lab` (made with the lab's base image, which `Lab::start` made)
    /// and waits until it answers.
    pub fn start(lab: &Lab) -> LabRegistry {
        LabRegistry::serve(lab, CONFIG.to_string(), "")
    }

    /// The same registry behind htpasswd authentication: only `users`, each with its password.
    pub fn private(lab: &Lab, users: &[(&str, &str)]) -> LabRegistry {
        let config = format!(
            "{CONFIG}auth:\n  htpasswd: {{realm: wharf-test, path: /etc/registry/htpasswd}}\n"
        );
        let htpasswd: String = users
            .iter()
            .map(|(user, password)| format!("{user}:{}\n", super::registry::bcrypt(password)))
            .collect();
        LabRegistry::serve(lab, config, &htpasswd)
    }

    fn serve(lab: &Lab, config: String, htpasswd: &str) -> LabRegistry {
        assert!(
            Path::new(BINARY).is_file(),
            "{BINARY} is missing: install it with `apt-get install docker-registry`"
        );
        let container = format!("{}-registry", lab.name);
        let label = format!("{LAB_LABEL}={}", lab.name);
        let mount = format!("{BINARY}:{BINARY}:ro");
        let script = format!(
            "mkdir -p /etc/registry && printf %s \"$CONFIG\" > /etc/registry/config.yml \
             && printf %s \"$HTPASSWD\" > /etc/registry/htpasswd \
             && exec {BINARY} serve /etc/registry/config.yml"
        );
        let config = format!("CONFIG={config}");
        let htpasswd = format!("HTPASSWD={htpasswd}");
        docker(&[
            "run", "-d", "--name", &container, "--label", &label, "-v", &mount, "-e", &config,
            "-e", &htpasswd, BASE_IMAGE, "sh", "-c", &script,
        ]);
        let format = "{{.NetworkSettings.IPAddress}}";
        let ip = docker(&["inspect", "-f", format, &container])
            .trim()
            .to_string();
        let registry = LabRegistry {
            container,
            address: format!("{ip}:5000"),
        };
        registry.wait_until_answering();
        registry
    }

    fn wait_until_answering(&self) {
        wait_until(
            "the lab's registry answers",
            Duration::from_secs(30),
            || std::net::TcpStream::connect(&self.address).is_ok(),
            || docker(&["logs", "--tail", "20", &self.container]),
        );
    }
}

impl Drop for LabRegistry {
    fn drop(&mut self) {
        let _ = std::process::Command::new("docker")
            .args(["rm", "-f", "-v", &self.container])
            .output_within(COMMAND_LIMIT);
    }
}
