//! Registry credentials: a private registry (Debian's `docker-registry` behind htpasswd, on
//! loopback) that the real `docker login` logged into, in a `DOCKER_CONFIG` of the test's own.
//! wharf pushes, pulls (on `pull` and when `create` needs the image) and builds from a private
//! base with the CLI's credentials, as `docker compose` v2 does; without them, both fail, and
//! wharf's message names the image and says to log in.

mod support;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use support::registry::Registry;
use support::{COMMAND_LIMIT, Cleanup, OutputWithin, busybox_image, unique_project, wharf_command};

const USER: &str = "alice";
const PASSWORD: &str = "s3cret-pw";

/// A project directory, wharf's state directory, and two docker CLI configurations: one
/// logged in to the registry, one empty.
struct Private {
    name: String,
    dir: tempfile::TempDir,
    state: tempfile::TempDir,
    logged_in: tempfile::TempDir,
    anonymous: tempfile::TempDir,
    registry: Registry,
    cleanup: Cleanup,
}

impl Private {
    fn new(prefix: &str) -> Private {
        let name = unique_project(prefix);
        let private = Private {
            cleanup: Cleanup::new(&name),
            name,
            dir: tempfile::tempdir().unwrap(),
            state: tempfile::tempdir().unwrap(),
            logged_in: tempfile::tempdir().unwrap(),
            anonymous: tempfile::tempdir().unwrap(),
            registry: Registry::private(USER, PASSWORD),
        };
        private.login();
        private
    }

    /// `docker login` (the real CLI, through the engine) into the logged-in configuration.
    fn login(&self) {
        let mut login = Command::new("docker");
        login
            .args([
                "login",
                "-u",
                USER,
                "--password-stdin",
                &self.registry.address,
            ])
            .env("DOCKER_CONFIG", self.logged_in.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = login.spawn().unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(PASSWORD.as_bytes())
            .unwrap();
        let out = support::wait_with_output_within(child, COMMAND_LIMIT);
        assert!(out.status.success(), "docker login: {}", stderr(&out));
        let config = std::fs::read_to_string(self.logged_in.path().join("config.json")).unwrap();
        assert!(config.contains(&self.registry.address), "{config}");
    }

    /// An image name on the private registry, removed at the end.
    fn image(&mut self, name: &str) -> String {
        let image = format!("{}/{}-{name}:1", self.registry.address, self.name);
        self.cleanup.image(&image);
        image
    }

    fn write(&self, file: &str, text: &str) {
        std::fs::write(self.dir.path().join(file), text).unwrap();
    }

    fn wharf(&self, config: &Path, args: &[&str]) -> Output {
        wharf_command(&self.name, self.dir.path(), self.state.path())
            .env("DOCKER_CONFIG", config)
            .args(args)
            .output_within(COMMAND_LIMIT)
    }

    fn compose(&self, config: &Path, args: &[&str]) -> Output {
        Command::new("docker")
            .args(["compose", "-p", &self.name])
            .args(args)
            .current_dir(self.dir.path())
            .env("DOCKER_CONFIG", config)
            .env("NO_COLOR", "1")
            .env_remove("COMPOSE_FILE")
            .env_remove("COMPOSE_PROJECT_NAME")
            .stdin(Stdio::null())
            .output_within(COMMAND_LIMIT)
    }

    /// `wharf ARGS` and `docker compose ARGS` with the logged-in configuration, both
    /// insisted on.
    fn both_ok(&self, args: &[&str]) -> String {
        let theirs = self.compose(self.logged_in.path(), args);
        assert!(
            theirs.status.success(),
            "compose {args:?}: {}",
            stderr(&theirs)
        );
        let ours = self.wharf(self.logged_in.path(), args);
        assert!(ours.status.success(), "wharf {args:?}: {}", stderr(&ours));
        stderr(&ours)
    }

    /// `wharf ARGS` and `docker compose ARGS` without credentials: both fail, and wharf's
    /// error names `image` and says to log in to the registry.
    fn both_refused(&self, args: &[&str], image: &str) {
        let theirs = self.compose(self.anonymous.path(), args);
        assert!(!theirs.status.success(), "compose {args:?} succeeded");
        assert!(
            stderr(&theirs).contains("no basic auth credentials"),
            "{}",
            stderr(&theirs)
        );
        let ours = self.wharf(self.anonymous.path(), args);
        let err = stderr(&ours);
        assert_eq!(ours.status.code(), Some(1), "wharf {args:?}: {err}");
        // The engine's words, as compose prints them, and what to do.
        assert!(err.contains("no basic auth credentials"), "{err}");
        assert!(
            err.contains(&format!("image {image}")),
            "names the image: {err}"
        );
        let login = format!(
            "authentication is required: log in with `docker login {}`",
            self.registry.address
        );
        assert!(err.contains(&login), "{err}");
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_private_image_is_pushed_and_pulled_with_the_clis_login_as_under_compose() {
    let mut p = Private::new("ra-pushpull");
    let image = p.image("app");
    p.write(
        "compose.yaml",
        &format!(
            "services:\n  app:\n    build: .\n    image: {image}\n  \
             puller:\n    image: {image}\n    command: [sleep, '60']\n"
        ),
    );
    p.write("Dockerfile", &format!("FROM {}\n", busybox_image()));
    let built = p.wharf(p.anonymous.path(), &["build"]);
    assert!(built.status.success(), "{}", stderr(&built));
    let id = support::inspect(&image, "{{.Id}}");

    p.both_refused(&["push"], &image);
    let pushed = p.both_ok(&["push"]);
    assert!(
        pushed.contains(&format!("Image {image}  Pushed")),
        "{pushed}"
    );

    support::docker(&["image", "rm", &image]);
    // (A service that can be built only warns when its pull fails, under both: `puller` cannot.)
    p.both_refused(&["pull", "puller"], &image);
    let pulled = p.both_ok(&["pull", "puller"]);
    assert!(
        pulled.contains(&format!("Image {image}  Pulled")),
        "{pulled}"
    );
    assert_eq!(
        support::inspect(&image, "{{.Id}}"),
        id,
        "the very image pushed"
    );

    // `create` pulls the missing image with the credentials too (its `PullImage` operation).
    support::docker(&["image", "rm", &image]);
    let refused = p.wharf(p.anonymous.path(), &["create", "puller"]);
    let err = stderr(&refused);
    assert!(!refused.status.success(), "{err}");
    assert!(
        err.contains(&format!("image {image}")) && err.contains("docker login"),
        "{err}"
    );
    let created = p.wharf(p.logged_in.path(), &["create", "puller"]);
    assert!(created.status.success(), "{}", stderr(&created));
    assert_eq!(support::inspect(&image, "{{.Id}}"), id);
}

/// A build whose `FROM` is a private image: the engine's builder pulls it with the credentials
/// wharf sends (`X-Registry-Config`, every registry of the CLI's configuration).
#[test]
fn a_build_from_a_private_base_image_uses_the_clis_login() {
    let mut p = Private::new("ra-base");
    let base = p.image("base");
    let built = p.image("built");
    support::docker(&["tag", busybox_image(), &base]);
    let pushed = Command::new("docker")
        .args(["push", "-q", &base])
        .env("DOCKER_CONFIG", p.logged_in.path())
        .output_within(COMMAND_LIMIT);
    assert!(pushed.status.success(), "{}", stderr(&pushed));
    support::docker(&["image", "rm", &base]);
    p.write(
        "compose.yaml",
        &format!("services:\n  app:\n    build: .\n    image: {built}\n"),
    );
    p.write(
        "Dockerfile",
        &format!("FROM {base}\nRUN echo built > /built\n"),
    );

    let refused = p.wharf(p.anonymous.path(), &["build"]);
    let err = stderr(&refused);
    assert!(!refused.status.success(), "{err}");
    assert!(err.contains("no basic auth credentials"), "{err}");

    let out = p.wharf(p.logged_in.path(), &["build"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(support::image_exists(&built));
    assert!(support::image_exists(&base), "the base was pulled");
}
