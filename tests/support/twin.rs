//! One compose file run by wharf and by `docker compose` (v2), as twin projects.

use std::path::Path;
use std::process::{Command, Output};

use super::{COMMAND_LIMIT, Cleanup, OutputWithin, busybox_image, unique_project, wharf_command};

/// One compose file run twice: as `name` by wharf and as `peer` by docker compose, each with
/// its guard; wharf's state directory is the test's own.
pub struct Twin {
    pub name: String,
    pub peer: String,
    dir: tempfile::TempDir,
    pub state: tempfile::TempDir,
    _cleanups: [Cleanup; 2],
}

impl Twin {
    pub fn new(prefix: &str, compose: &str) -> Twin {
        let name = unique_project(prefix);
        let peer = unique_project(&format!("{prefix}-v2"));
        let twin = Twin {
            _cleanups: [Cleanup::new(&name), Cleanup::new(&peer)],
            name,
            peer,
            dir: tempfile::tempdir().unwrap(),
            state: tempfile::tempdir().unwrap(),
        };
        twin.write("compose.yaml", &compose.replace("IMAGE", busybox_image()));
        twin
    }

    pub fn write(&self, file: &str, text: &str) {
        std::fs::write(self.path().join(file), text).unwrap();
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn wharf(&self, args: &[&str]) -> Output {
        wharf_command(&self.name, self.path(), self.state.path())
            .args(args)
            .output_within(COMMAND_LIMIT)
    }

    /// `docker compose -f compose.yaml -p PEER ARGS`: with `-f`, since compose v2 reads no file
    /// (and runs no hook) for `stop` or `down` given `-p` alone.
    pub fn compose(&self, args: &[&str]) -> Output {
        Command::new("docker")
            .args(["compose", "-f", "compose.yaml", "-p", &self.peer])
            .args(args)
            .current_dir(self.path())
            .env("NO_COLOR", "1")
            .env_remove("COMPOSE_FILE")
            .env_remove("COMPOSE_PROJECT_NAME")
            .output_within(COMMAND_LIMIT)
    }

    /// Runs the same arguments under both, insisting on success.
    pub fn both(&self, args: &[&str]) {
        self.wharf_ok(args);
        self.compose_ok(args);
    }

    /// `wharf ARGS`, insisting on success.
    pub fn wharf_ok(&self, args: &[&str]) {
        succeeded("wharf", args, &self.wharf(args));
    }

    /// `docker compose ARGS`, insisting on success.
    pub fn compose_ok(&self, args: &[&str]) {
        succeeded("compose", args, &self.compose(args));
    }

    /// Removes this image at the end too (an image that the projects' labels do not find).
    pub fn guard_image(&mut self, reference: &str) {
        self._cleanups[0].image(reference);
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.state.path().join(&self.name).join("supervisor.log"))
            .unwrap_or_default()
    }
}

fn succeeded(who: &str, args: &[&str], out: &Output) {
    assert!(
        out.status.success(),
        "{who} {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
