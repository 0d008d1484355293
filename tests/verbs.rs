//! compose's smaller verbs against the real engine, through the real binary, compared with
//! `docker compose` (v2) where it prints the same thing: `kill`, `rm`, `create`, `pause`,
//! `unpause`, `scale`, and how a running supervisor treats what they do.

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use support::registry::Registry;
use support::{
    Cleanup, OutputWithin, busybox_image, inspect_if_exists, project_containers, unique_project,
    wait_until, wharf_command,
};

/// A project directory with its own state directory, and the guard that removes what it made.
struct Project {
    name: String,
    dir: tempfile::TempDir,
    state: tempfile::TempDir,
    cleanup: Cleanup,
}

impl Project {
    fn new(prefix: &str, compose: &str) -> Project {
        let name = unique_project(prefix);
        let project = Project {
            cleanup: Cleanup::new(&name),
            name,
            dir: tempfile::tempdir().unwrap(),
            state: tempfile::tempdir().unwrap(),
        };
        project.write(compose);
        project
    }

    /// Writes `compose.yaml`, with `IMAGE` standing for the test image.
    fn write(&self, compose: &str) {
        std::fs::write(
            self.path().join("compose.yaml"),
            compose.replace("IMAGE", busybox_image()),
        )
        .unwrap();
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn wharf(&self, args: &[&str]) -> Output {
        self.cleanup.note_anonymous_volumes();
        wharf_command(&self.name, self.path(), self.state.path())
            .args(args)
            .output_within(support::COMMAND_LIMIT)
    }

    /// Runs wharf, insists on success, and returns its standard output.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.wharf(args);
        assert!(
            out.status.success(),
            "wharf {args:?} failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `docker compose -p NAME ARGS` (v2) in the project's directory.
    fn compose(&self, args: &[&str]) -> Output {
        Command::new("docker")
            .args(["compose", "-p", &self.name])
            .args(args)
            .current_dir(self.path())
            .env("NO_COLOR", "1")
            .env_remove("COMPOSE_FILE")
            .env_remove("COMPOSE_PROJECT_NAME")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    fn containers(&self) -> BTreeMap<String, String> {
        project_containers(&self.name)
    }

    fn container(&self, service: &str, n: u32) -> String {
        format!("{}-{service}-{n}", self.name)
    }

    fn state_of(&self, service: &str, n: u32) -> String {
        inspect_if_exists(&self.container(service, n), "{{.State.Status}}")
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.state.path().join(&self.name).join("supervisor.log"))
            .unwrap_or_default()
    }

    /// Makes the detached supervisor plan for the whole project once more, and waits until it
    /// has: `db-1` removed behind its back is recreated.
    fn resync(&self) {
        self.resync_with("db");
    }

    fn resync_with(&self, service: &str) {
        let name = self.container(service, 1);
        support::docker(&["rm", "-f", &name]);
        self.until(&format!("{name} recreated by the supervisor"), || {
            self.state_of(service, 1) == "running"
        });
    }

    fn until(&self, what: &str, condition: impl Fn() -> bool) {
        wait_until(what, Duration::from_secs(10), condition, || self.log());
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Two long-running services; `web` has a restart policy, an anonymous volume and reports a
/// SIGHUP in its log instead of dying from it.
const SLEEPERS: &str = r#"
services:
  web:
    image: IMAGE
    command: ["sh", "-c", "trap 'echo got-hup' HUP; trap 'exit 0' TERM; while true; do sleep 1; done"]
    restart: always
    volumes: ["/anon"]
  db:
    image: IMAGE
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
"#;

/// The project's anonymous volumes (those of its containers that no file names).
fn volumes_of(container: &str) -> Vec<String> {
    inspect_if_exists(container, "{{range .Mounts}}{{.Name}} {{end}}")
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

fn volume_exists(name: &str) -> bool {
    !inspect_if_exists(name, "{{.Name}}").is_empty()
}

/// `ps` lists the containers while it loads the files, for the name the command line, the
/// environment or the directory gives: a file's own `name:`, which wins over the directory, is
/// listed all the same, and `-p` still names another project.
#[test]
fn ps_lists_the_project_a_files_name_gives_not_the_directorys() {
    let project = Project::new("verbs-named", "");
    project.write(&format!(
        "name: {}\nservices:\n  web:\n    image: IMAGE\n    command: [\"sleep\", \"300\"]\n",
        project.name
    ));
    let unnamed = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_wharf"))
            .args(args)
            .current_dir(project.path())
            .env("WHARF_STATE_DIR", project.state.path())
            .env_remove("COMPOSE_FILE")
            .env_remove("COMPOSE_PROJECT_NAME")
            .stdin(Stdio::null())
            .output_within(support::COMMAND_LIMIT);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "wharf {args:?}: {stderr}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    unnamed(&["up", "-d"]);
    let web = inspect_if_exists(&project.container("web", 1), "{{.Id}}");
    assert!(!web.is_empty(), "up -d made web under the file's name");
    let listed = unnamed(&["ps", "-q", "--no-trunc"]);
    assert_eq!(
        listed.trim(),
        web,
        "the directory's name is not the project's"
    );
    let other = unique_project("verbs-other");
    let listed = unnamed(&["-p", &other, "ps", "-a", "-q"]);
    assert_eq!(listed.trim(), "", "-p names a project with no container");
    unnamed(&["down", "-t", "0"]);
}

#[test]
fn kill_sends_the_signal_and_a_supervisor_leaves_a_killed_service_down() {
    let p = Project::new("vb-kill", SLEEPERS);
    p.ok(&["up", "-d"]);
    let web = p.container("web", 1);
    let id = inspect_if_exists(&web, "{{.Id}}");

    // A signal that does not end the container: delivered, and the service stays supervised.
    let out = p.wharf(&["kill", "-s", "HUP", "web"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("Container {web}  Killed")),
        "{}",
        stderr(&out)
    );
    p.until("web logged the SIGHUP", || {
        String::from_utf8_lossy(&p.wharf(&["logs", "web"]).stdout).contains("got-hup")
    });
    assert_eq!(p.state_of("web", 1), "running");

    // SIGKILL: down, and left down by the supervisor even with `restart: always`, as the
    // engine leaves a container killed through its API.
    let out = p.wharf(&["kill", "web"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(p.state_of("web", 1), "exited");
    assert_eq!(inspect_if_exists(&web, "{{.State.ExitCode}}"), "137");
    p.until("the supervisor saw the kill", || {
        p.log().contains(&format!("{web} stopped by the user"))
    });
    p.resync();
    assert_eq!(p.state_of("web", 1), "exited", "{}", p.log());

    // Nothing left to kill: compose's message and success, like compose on the same project.
    p.ok(&["kill", "db"]);
    let out = p.wharf(&["kill"]);
    assert!(out.status.success());
    assert_eq!(stderr(&out).trim(), "no container to kill");
    let theirs = p.compose(&["kill"]);
    assert!(theirs.status.success());
    assert_eq!(stderr(&theirs).trim(), "no container to kill");

    // `start` gives the service back to the supervisor: the very same container runs again.
    p.ok(&["start"]);
    assert_eq!(p.state_of("web", 1), "running");
    assert_eq!(inspect_if_exists(&web, "{{.Id}}"), id);

    let out = p.wharf(&["kill", "nosuch"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr(&out).trim(), "error: no such service: nosuch");
}

#[test]
fn kill_remove_orphans_removes_the_containers_of_services_gone_from_the_file() {
    let p = Project::new("vb-kill-orphans", SLEEPERS);
    p.ok(&["up", "-d"]);
    let db_only = format!(
        "services:\n  db:{}",
        SLEEPERS.split("  db:").nth(1).unwrap()
    );
    p.write(&db_only);
    let out = p.wharf(&["kill", "--remove-orphans"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let names: Vec<String> = p.containers().into_keys().collect();
    assert_eq!(names, [p.container("db", 1)]);
    assert_eq!(p.state_of("db", 1), "exited");
}

#[test]
fn pause_is_left_paused_by_the_supervisor_until_unpause() {
    let p = Project::new("vb-pause", SLEEPERS);
    p.ok(&["up", "-d"]);
    let out = p.wharf(&["pause", "web"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains(&format!("Container {}  Paused", p.container("web", 1))));
    assert_eq!(p.state_of("web", 1), "paused");
    p.resync();
    assert_eq!(p.state_of("web", 1), "paused", "{}", p.log());
    // Nor does `up` unpause it (compose's `up` leaves a paused container as it is).
    p.ok(&["up", "-d"]);
    assert_eq!(p.state_of("web", 1), "paused");

    // Pausing it again is the engine's error, once, and a failure, as with compose.
    let out = p.wharf(&["pause", "web"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("error: ") && stderr(&out).contains("already paused"),
        "{}",
        stderr(&out)
    );
    assert_eq!(p.compose(&["pause", "web"]).status.code(), Some(1));

    let out = p.wharf(&["unpause"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "db is not paused: {}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("is not paused"), "{}", stderr(&out));
    assert_eq!(p.state_of("web", 1), "running");
    p.ok(&["pause"]);
    assert_eq!(
        (p.state_of("web", 1), p.state_of("db", 1)),
        ("paused".into(), "paused".into())
    );
    p.ok(&["unpause"]);
    assert_eq!(
        (p.state_of("web", 1), p.state_of("db", 1)),
        ("running".into(), "running".into())
    );
}

#[test]
fn rm_removes_stopped_containers_asks_first_and_keeps_named_volumes() {
    let p = Project::new("vb-rm", SLEEPERS);
    p.ok(&["up", "-d"]);
    let web = p.container("web", 1);
    let anon = volumes_of(&web);
    assert_eq!(anon.len(), 1, "{anon:?}");

    let out = p.wharf(&["rm", "-f"]);
    assert!(out.status.success());
    assert_eq!(stderr(&out).trim(), "No stopped containers");
    assert_eq!(
        stderr(&p.compose(&["rm", "-f"])).trim(),
        "No stopped containers"
    );

    p.ok(&["stop", "web"]);
    // Without -f it asks; no answer is a no, as with compose, which says the same first.
    let ours = p.ok(&["rm"]);
    let theirs = p.compose(&["rm"]);
    assert_eq!(ours.trim(), format!("Going to remove {web}"));
    assert_eq!(String::from_utf8_lossy(&theirs.stdout).trim(), ours.trim());
    assert!(p.containers().contains_key(&web));

    let out = p.wharf(&["rm", "-f", "-v"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains(&format!("Container {web}  Removed")));
    assert!(!p.containers().contains_key(&web));
    assert!(!volume_exists(&anon[0]), "-v removes the anonymous volume");
    assert_eq!(
        p.state_of("db", 1),
        "running",
        "rm leaves running containers alone"
    );

    // `rm -s`: stopped, then removed; the supervisor does not bring the service back.
    let out = p.wharf(&["rm", "-s", "-f", "db"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(p.containers().is_empty(), "{:?}", p.containers());
    p.ok(&["up", "-d", "--no-deps", "web"]);
    let names: Vec<String> = p.containers().into_keys().collect();
    assert_eq!(names, std::slice::from_ref(&web), "{}", p.log());
}

#[test]
fn rm_keeps_anonymous_volumes_without_v() {
    let p = Project::new("vb-rm-keep", SLEEPERS);
    p.ok(&["up", "-d", "web"]);
    let web = p.container("web", 1);
    let anon = volumes_of(&web);
    p.ok(&["rm", "-s", "-f"]);
    assert!(p.containers().is_empty());
    assert!(volume_exists(&anon[0]), "without -v the volume stays");
    support::docker(&["volume", "rm", &anon[0]]);
}

#[test]
fn create_leaves_containers_created_and_a_supervisor_does_not_start_them() {
    let p = Project::new("vb-create", SLEEPERS);
    p.ok(&["up", "-d", "web"]);
    let out = p.wharf(&["create", "db"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("Container {}  Created", p.container("db", 1))),
        "{}",
        stderr(&out)
    );
    assert_eq!(p.state_of("db", 1), "created");
    // compose sees the same state.
    let theirs = p.compose(&["ps", "-a", "--format", "{{.Name}} {{.State}}"]);
    let theirs = String::from_utf8_lossy(&theirs.stdout).into_owned();
    assert!(
        theirs.contains(&format!("{} created", p.container("db", 1))),
        "{theirs}"
    );
    p.resync_with("web");
    assert_eq!(p.state_of("db", 1), "created", "{}", p.log());
    p.ok(&["start", "db"]);
    assert_eq!(p.state_of("db", 1), "running");

    // `up --no-start` after a change: replaced by a created container, nothing started.
    let changed = SLEEPERS.replace("sleep 3600", "sleep 3601");
    p.write(&changed);
    let db = inspect_if_exists(&p.container("db", 1), "{{.Id}}");
    p.ok(&["up", "--no-start", "db"]);
    assert_ne!(inspect_if_exists(&p.container("db", 1), "{{.Id}}"), db);
    assert_eq!(p.state_of("db", 1), "created");
    assert_eq!(p.state_of("web", 1), "running");
}

#[test]
fn scale_changes_replicas_and_the_supervisor_keeps_the_counts() {
    let p = Project::new("vb-scale", SLEEPERS);
    p.ok(&["up", "-d"]);
    p.ok(&["scale", "web=3"]);
    for n in 1..=3 {
        assert_eq!(p.state_of("web", n), "running", "web-{n}");
    }
    p.ok(&["scale", "--no-deps", "db=2", "web=2"]);
    let names: Vec<String> = p.containers().into_keys().collect();
    assert_eq!(
        names,
        [
            p.container("db", 1),
            p.container("db", 2),
            p.container("web", 1),
            p.container("web", 2)
        ]
    );
    // A replica removed behind wharf's back comes back: the counts are the supervisor's now.
    support::docker(&["rm", "-f", &p.container("web", 2)]);
    p.until("web-2 recreated", || p.state_of("web", 2) == "running");
    p.ok(&["scale", "db=1"]);
    assert_eq!(p.state_of("web", 2), "running", "web keeps its count");
    assert!(!p.containers().contains_key(&p.container("db", 2)));

    let out = p.wharf(&["scale", "nosuch=2"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("nosuch"), "{}", stderr(&out));
    assert_eq!(p.compose(&["scale", "nosuch=2"]).status.code(), Some(1));
    assert_ne!(p.wharf(&["scale", "web=x"]).status.code(), Some(0));
    assert_ne!(p.wharf(&["scale"]).status.code(), Some(0));
}

/// Standard output, standard error (both trimmed at the end) and the exit code.
type Printed = (String, String, Option<i32>);

/// What wharf and compose print for the same arguments.
fn both(p: &Project, args: &[&str]) -> (Printed, Printed) {
    let text = |out: Output| {
        (
            String::from_utf8_lossy(&out.stdout).trim_end().to_string(),
            stderr(&out).trim_end().to_string(),
            out.status.code(),
        )
    };
    (text(p.wharf(args)), text(p.compose(args)))
}

const PUBLISHED: &str = r#"
services:
  web:
    image: IMAGE
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
    ports: ["127.0.0.1::80", "127.0.0.1::81/udp"]
    deploy:
      replicas: 2
  db:
    image: IMAGE
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
"#;

#[test]
fn port_images_and_top_print_what_compose_prints() {
    let p = Project::new("vb-port", PUBLISHED);
    p.ok(&["up", "-d"]);
    for args in [
        &["port", "web", "80"][..],
        &["port", "--protocol", "udp", "web", "81"],
        &["port", "--index", "2", "web", "80"],
        &["images", "-q"],
    ] {
        let (ours, theirs) = both(&p, args);
        assert_eq!(ours, theirs, "wharf {args:?}");
        assert!(!ours.0.is_empty(), "{args:?} printed nothing");
    }
    let port = p.ok(&["port", "web", "80"]);
    assert!(port.trim().starts_with("127.0.0.1:"), "{port}");

    // The failures: the same message (wharf's with `error: `) and exit code.
    for args in [
        &["port", "web", "82"][..],
        &["port", "--index", "3", "web", "80"],
    ] {
        let ((_, ours, ours_code), (_, theirs, theirs_code)) = both(&p, args);
        // compose lists the container's ports in a map's order, which changes.
        let ports_sorted = |message: &str| match message.rsplit_once(": ") {
            Some((text, ports)) => {
                let mut ports: Vec<&str> = ports.split(", ").collect();
                ports.sort();
                format!("{text}: {}", ports.join(", "))
            }
            None => message.to_string(),
        };
        assert_eq!(
            ports_sorted(&ours),
            ports_sorted(&format!("error: {theirs}")),
            "wharf {args:?}"
        );
        assert_eq!((ours_code, theirs_code), (Some(1), Some(1)));
    }

    // `images` in JSON is the same document; the table the same but for the age's words,
    // which may cross a boundary between the two runs.
    let ((ours, _, _), (theirs, _, _)) = both(&p, &["images", "--format", "json"]);
    // compose's order is not stable (a map's): compared by container name.
    let by_name = |text: &str| {
        let mut items: Vec<serde_json::Value> = serde_json::from_str(text).unwrap();
        items.sort_by_key(|item| item["ContainerName"].as_str().unwrap().to_string());
        items
    };
    assert_eq!(by_name(&ours), by_name(&theirs));
    assert_eq!(by_name(&ours).len(), 3);
    // compose v2.40.3 prints an odd age for an image older than an hour (`10 seconds ago` for
    // one imported an hour and ten seconds before): the age column is left out.
    let ((ours, _, _), (theirs, _, _)) = both(&p, &["images"]);
    let without_age = |table: &str| -> Vec<String> {
        table
            .lines()
            .map(|l| l.split("   ").take(6).collect::<Vec<_>>().join("|"))
            .collect()
    };
    assert_eq!(without_age(&ours), without_age(&theirs));
    assert!(ours.starts_with("CONTAINER "), "{ours}");

    // `top`: the same processes under the same columns (CPU and times may move between runs).
    let ((ours, _, _), (theirs, _, _)) = both(&p, &["top"]);
    let stable = |table: &str| -> Vec<String> {
        table
            .lines()
            .map(|l| {
                let cells: Vec<&str> = l.split_whitespace().collect();
                format!("{} {} {} {}", cells[0], cells[1], cells[2], cells[3])
            })
            .collect()
    };
    assert_eq!(stable(&ours), stable(&theirs));
    assert_eq!(ours.lines().count(), 1 + 3 * 2, "{ours}");
    assert!(ours.starts_with("SERVICE  #   UID"), "{ours}");
    // An unknown service is no error to compose's `top` and `images`: nothing (or the header)
    // and exit 0, where the other verbs say `no such service`.
    for args in [&["top", "nosuch"][..], &["images", "nosuch"]] {
        let (ours, theirs) = both(&p, args);
        assert_eq!(ours, theirs, "wharf {args:?}");
        assert_eq!(ours.2, Some(0));
    }
}

#[test]
fn ls_lists_wharf_and_compose_projects_as_compose_does() {
    let ours = Project::new("vb-ls-a", PUBLISHED);
    ours.ok(&["up", "-d"]);
    ours.ok(&["stop", "db"]);
    // A project that compose made, in another directory.
    let theirs = Project::new("vb-ls-b", SLEEPERS);
    let up = theirs.compose(&["up", "-d", "db"]);
    assert!(up.status.success(), "{}", stderr(&up));
    // Both projects' names begin so, and no other test's do.
    let filter = "name=wt-vb-ls-".to_string();
    for args in [
        vec!["ls", "--filter", filter.as_str()],
        vec!["ls", "-a", "--filter", filter.as_str()],
        vec!["ls", "-a", "-q", "--filter", filter.as_str()],
        vec!["ls", "-a", "--format", "json", "--filter", filter.as_str()],
    ] {
        let (mine, compose) = both(&ours, &args);
        assert_eq!(mine, compose, "wharf {args:?}");
    }
    let (table, _, _) = both(&ours, &["ls", "-a", "--filter", &filter]).0;
    let config = ours.path().join("compose.yaml");
    let line = |name: &str| -> String {
        let line = table
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_default();
        line.split("   ")
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .collect::<Vec<_>>()
            .join("|")
    };
    assert_eq!(
        line(&ours.name),
        format!("{}|exited(1), running(2)|{}", ours.name, config.display()),
        "{table}"
    );
    assert!(line(&theirs.name).contains("|running(1)|"), "{table}");
    // Names are regular expressions (any of several filters), as the docker CLI's filters.
    let anchored = format!("name=^{}$", theirs.name);
    let wrong = format!("name=^{}$", "x".repeat(8));
    for args in [
        vec!["ls", "-a", "-q", "--filter", anchored.as_str()],
        vec!["ls", "-a", "-q", "--filter", &anchored, "--filter", &wrong],
        vec!["ls", "-a", "-q", "--filter", "name=wt-vb-ls-[ab]"],
    ] {
        let (mine, compose) = both(&ours, &args);
        assert_eq!(mine, compose, "wharf {args:?}");
        assert!(mine.0.contains(&theirs.name), "{args:?}: {}", mine.0);
    }
    // The errors, in compose's words.
    for args in [
        &["ls", "--filter", "status=running"][..],
        &["ls", "--filter", "name"],
    ] {
        let ((_, mine, mine_code), (_, compose, compose_code)) = both(&ours, args);
        assert_eq!(mine, format!("error: {compose}"), "wharf {args:?}");
        assert_eq!((mine_code, compose_code), (Some(1), Some(1)), "{args:?}");
    }
}

#[test]
fn version_prints_wharfs_version_in_composes_shapes() {
    let p = Project::new("vb-version", SLEEPERS);
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(
        p.ok(&["version"]).trim(),
        format!("wharf version v{version}")
    );
    assert_eq!(p.ok(&["version", "--short"]).trim(), version);
    let json: serde_json::Value =
        serde_json::from_str(&p.ok(&["version", "--format", "json"])).unwrap();
    assert_eq!(
        json,
        serde_json::json!({ "version": format!("v{version}") })
    );
    // compose prints the same keys.
    let theirs = p.compose(&["version", "--format", "json"]);
    let theirs: serde_json::Value = serde_json::from_slice(&theirs.stdout).unwrap();
    assert!(theirs.get("version").is_some());
}

/// A service whose image is present, one whose image exists nowhere, one that can be built.
const IMAGES: &str = r#"
services:
  web:
    image: IMAGE
    pull_policy: missing
  gone:
    image: wharf-test/missing-PROJECT:1
  built:
    build: .
    image: wharf-test/built-PROJECT:1
"#;

#[test]
fn pull_names_the_service_whose_image_is_missing_and_skips_what_it_should() {
    let p = Project::new("vb-pull", "services: {}\n");
    p.write(&IMAGES.replace("PROJECT", &p.name));
    std::fs::write(p.path().join("Dockerfile"), "FROM scratch\n").unwrap();

    let out = p.wharf(&["pull"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("Service web  Skipped: Image is already present locally"),
        "{err}"
    );
    assert!(
        err.contains("error: service gone: cannot pull image wharf-test/missing-"),
        "{err}"
    );
    assert!(
        !err.contains("error: service built"),
        "a service that builds only warns: {err}"
    );
    assert!(
        err.contains("WARNING: Some service image(s) must be built from source by running:\n    wharf build built"),
        "{err}"
    );
    assert_eq!(p.compose(&["pull"]).status.code(), Some(1));

    let out = p.wharf(&["pull", "--ignore-pull-failures"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("warning: service gone: "),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        p.compose(&["pull", "--ignore-pull-failures"]).status.code(),
        Some(0)
    );

    // Quiet: no progress, the error still.
    let out = p.wharf(&["pull", "-q", "gone"]);
    assert_eq!(out.status.code(), Some(1));
    let lines: Vec<String> = stderr(&out).lines().map(str::to_string).collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].starts_with("error: service gone: "), "{lines:?}");

    let out = p.wharf(&["pull", "nosuch"]);
    assert_eq!(
        (out.status.code(), stderr(&out).trim()),
        (Some(1), "error: no such service: nosuch")
    );
}

#[test]
fn push_skips_services_that_are_not_built_and_fails_on_a_missing_image() {
    let p = Project::new("vb-push", "services: {}\n");
    p.write(&IMAGES.replace("PROJECT", &p.name));
    std::fs::write(p.path().join("Dockerfile"), "FROM scratch\n").unwrap();
    let out = p.wharf(&["push"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("Service web  Skipped") && err.contains("Service gone  Skipped"),
        "{err}"
    );
    // The engine's words, as compose prints them.
    let missing = format!(
        "An image does not exist locally with the tag: wharf-test/built-{}",
        p.name
    );
    assert!(
        err.contains(&format!("error: service built: {missing}")),
        "{err}"
    );
    let theirs = p.compose(&["push"]);
    assert_eq!(theirs.status.code(), Some(1));
    assert!(stderr(&theirs).contains(&missing), "{}", stderr(&theirs));

    let out = p.wharf(&["push", "--ignore-push-failures"]);
    assert!(out.status.success(), "{}", stderr(&out));
}

/// A process whose standard output goes to a file, killed when dropped.
struct Follower {
    child: std::process::Child,
    out: std::path::PathBuf,
}

impl Follower {
    fn start(mut command: Command, out: std::path::PathBuf) -> Follower {
        let file = std::fs::File::create(&out).unwrap();
        let child = command.stdout(file).stderr(Stdio::null()).spawn().unwrap();
        Follower { child, out }
    }

    /// The JSON objects printed so far.
    fn events(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.out)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    fn has(&self, action: &str, service: &str) -> bool {
        self.events()
            .iter()
            .any(|e| e["action"] == action && e["service"] == service)
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn events_print_what_compose_prints_for_the_same_engine_events() {
    let p = Project::new("vb-events", SLEEPERS);
    p.ok(&["up", "-d"]);
    let mut ours = wharf_command(&p.name, p.path(), p.state.path());
    ours.args(["events", "--json", "web"]).stdin(Stdio::null());
    let ours = Follower::start(ours, p.path().join("ours.jsonl"));
    let mut theirs = Command::new("docker");
    theirs
        .args(["compose", "-p", &p.name, "events", "--json", "web"])
        .current_dir(p.path())
        .stdin(Stdio::null());
    let theirs = Follower::start(theirs, p.path().join("theirs.jsonl"));
    // Both are listening once both have seen a signal sent after they started.
    p.until("both follow the events", || {
        p.ok(&["kill", "-s", "HUP", "web", "db"]);
        ours.has("kill", "web") && theirs.has("kill", "web")
    });
    p.ok(&["restart", "db", "web"]);
    p.until("both saw web restart", || {
        ours.has("start", "web") && theirs.has("start", "web")
    });
    let pick = |f: &Follower, action: &str| -> Vec<serde_json::Value> {
        f.events()
            .into_iter()
            .filter(|e| e["action"] == action)
            .collect()
    };
    for action in ["die", "stop", "start"] {
        let mine = pick(&ours, action);
        assert_eq!(mine.len(), 1, "{action}: {mine:?}");
        assert_eq!(mine, pick(&theirs, action), "{action}");
    }
    assert!(
        ours.events().iter().all(|e| e["service"] == "web"),
        "only web's: {:?}",
        ours.events()
    );
    let die = &pick(&ours, "die")[0];
    assert_eq!(die["attributes"]["name"], p.container("web", 1));
    assert_eq!(die["attributes"]["exitCode"], "0");
    assert_eq!(die["type"], "container");
}

#[test]
fn cp_copies_both_ways_into_every_replica_or_one() {
    let p = Project::new("vb-cp", PUBLISHED);
    p.ok(&["up", "-d", "web"]);
    let host = p.path();
    std::fs::write(host.join("f.txt"), "hello\n").unwrap();
    std::fs::create_dir_all(host.join("d/sub")).unwrap();
    std::fs::write(host.join("d/sub/a"), "x").unwrap();
    let cat = |n: u32, path: &str| -> String {
        let out = Command::new("docker")
            .args(["exec", &p.container("web", n), "cat", path])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };

    // Into the service: every replica; into an existing directory under the file's own name.
    let out = p.wharf(&["cp", "f.txt", "web:/tmp/"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        (cat(1, "/tmp/f.txt"), cat(2, "/tmp/f.txt")),
        ("hello\n".into(), "hello\n".into())
    );
    // `--index`: one replica; a new name for a directory.
    p.ok(&["cp", "--index", "2", "d", "web:/tmp/dd"]);
    assert_eq!(cat(2, "/tmp/dd/sub/a"), "x");
    assert_eq!(cat(1, "/tmp/dd/sub/a"), "", "replica 1 was not asked for");

    // Out of the service: a file under a new name, a directory into an existing one.
    p.ok(&["cp", "web:/tmp/f.txt", "out.txt"]);
    assert_eq!(
        std::fs::read_to_string(host.join("out.txt")).unwrap(),
        "hello\n"
    );
    std::fs::create_dir(host.join("existing")).unwrap();
    p.ok(&["cp", "--index", "2", "web:/tmp/dd", "existing"]);
    assert_eq!(
        std::fs::read_to_string(host.join("existing/dd/sub/a")).unwrap(),
        "x"
    );
    // compose lands the same file in the same place.
    let theirs = p.compose(&["cp", "--index", "2", "web:/tmp/dd", "theirs"]);
    assert!(theirs.status.success(), "{}", stderr(&theirs));
    assert_eq!(
        std::fs::read_to_string(host.join("theirs/sub/a")).unwrap(),
        "x"
    );
    p.ok(&["cp", "--index", "2", "web:/tmp/dd", "ours"]);
    assert_eq!(
        std::fs::read_to_string(host.join("ours/sub/a")).unwrap(),
        "x"
    );

    // Owners: with and without `-a`, what compose gives (the engine decides, from the flag).
    std::os::unix::fs::chown(host.join("f.txt"), Some(1234), Some(1234)).unwrap();
    let owner = |path: &str| -> String {
        support::docker(&["exec", &p.container("web", 1), "stat", "-c", "%u", path])
            .trim()
            .to_string()
    };
    for (flags, ours, theirs) in [
        (&["-a"][..], "/tmp/ours-a", "/tmp/theirs-a"),
        (&[][..], "/tmp/ours", "/tmp/theirs"),
    ] {
        let to = |path: &str| format!("web:{path}");
        let mut args = vec!["cp", "--index", "1"];
        args.extend(flags);
        args.push("f.txt");
        p.ok(&[&args[..], &[to(ours).as_str()]].concat());
        let compose = p.compose(&[&args[..], &[to(theirs).as_str()]].concat());
        assert!(compose.status.success(), "{}", stderr(&compose));
        assert_eq!(owner(ours), owner(theirs), "{flags:?}");
    }

    // Failures, as compose fails.
    let out = p.wharf(&["cp", "web:/nonexistent", "x"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).starts_with("error: "), "{}", stderr(&out));
    assert_eq!(
        p.compose(&["cp", "web:/nonexistent", "x"]).status.code(),
        Some(1)
    );
    let out = p.wharf(&["cp", "--index", "3", "f.txt", "web:/tmp/"]);
    assert_eq!(out.status.code(), Some(1));

    // --all: the one-off containers of `run` too.
    let one_off = p.ok(&[
        "run",
        "-d",
        "--no-deps",
        "--name",
        &format!("{}-oneoff", p.name),
        "web",
    ]);
    let one_off = one_off.trim();
    p.ok(&["cp", "f.txt", "web:/tmp/without-all"]);
    p.ok(&["cp", "--all", "f.txt", "web:/tmp/with-all"]);
    let has = |container: &str, path: &str| {
        Command::new("docker")
            .args(["exec", container, "test", "-f", path])
            .status()
            .unwrap()
            .success()
    };
    assert!(!has(one_off, "/tmp/without-all"));
    assert!(has(one_off, "/tmp/with-all"));
    assert!(has(&p.container("web", 2), "/tmp/with-all"));
}

#[test]
fn stats_no_stream_prints_what_compose_prints() {
    let p = Project::new("vb-stats", SLEEPERS);
    p.ok(&["up", "-d"]);
    let ((ours, _, code), (theirs, _, their_code)) =
        both(&p, &["stats", "--no-stream", "--format", "json"]);
    assert_eq!((code, their_code), (Some(0), Some(0)));
    let parse = |text: &str| -> Vec<serde_json::Value> {
        let mut items: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        items.sort_by_key(|i| i["Name"].as_str().unwrap().to_string());
        items
    };
    let (ours, theirs) = (parse(&ours), parse(&theirs));
    assert_eq!(ours.len(), 2);
    for (mine, compose) in ours.iter().zip(&theirs) {
        let keys = |v: &serde_json::Value| -> Vec<String> {
            v.as_object().unwrap().keys().cloned().collect()
        };
        assert_eq!(keys(mine), keys(compose));
        // What cannot move between the two samples of idle sleepers is equal.
        for key in ["Container", "ID", "Name", "PIDs", "BlockIO"] {
            assert_eq!(mine[key], compose[key], "{key}");
        }
        // The rest has the same shape.
        for key in ["CPUPerc", "MemPerc"] {
            assert!(mine[key].as_str().unwrap().ends_with('%'), "{mine}");
        }
        assert!(
            mine["MemUsage"].as_str().unwrap().contains("iB / "),
            "{mine}"
        );
        assert!(mine["NetIO"].as_str().unwrap().contains("B / "), "{mine}");
    }
    let ((ours, _, _), (theirs, _, _)) = both(&p, &["stats", "--no-stream"]);
    // The columns' widths follow the figures of the sample, which move between two samples.
    let columns = |text: &str| -> Vec<String> {
        let header = text.lines().next().unwrap_or_default();
        header
            .split("  ")
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(String::from)
            .collect()
    };
    assert_eq!(columns(&ours), columns(&theirs), "the header");
    assert_eq!(ours.lines().count(), 3, "{ours}");
}

#[test]
fn push_then_pull_through_a_real_registry() {
    let registry = Registry::start();
    let mut p = Project::new("vb-registry", "services: {}\n");
    let image = format!("{}/{}-built:1", registry.address, p.name);
    p.cleanup.image(&image);
    p.write(&format!(
        "services:\n  built:\n    build: .\n    image: {image}\n    pull_policy: always\n"
    ));
    std::fs::write(
        p.path().join("Dockerfile"),
        "FROM IMAGE\nRUN echo pushed > /pushed\n".replace("IMAGE", busybox_image()),
    )
    .unwrap();
    p.ok(&["build"]);
    let id = support::inspect(&image, "{{.Id}}");
    let out = p.wharf(&["push"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("Image {image}  Pushed")),
        "{}",
        stderr(&out)
    );
    // compose pushes the same image to the same place.
    let theirs = p.compose(&["push"]);
    assert!(theirs.status.success(), "{}", stderr(&theirs));

    support::docker(&["image", "rm", &image]);
    let out = p.wharf(&["pull"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("Image {image}  Pulled")),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        support::inspect(&image, "{{.Id}}"),
        id,
        "the very image pushed"
    );
    // -q: the same pull, and nothing printed.
    support::docker(&["image", "rm", &image]);
    let out = p.wharf(&["pull", "-q"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stderr(&out), "");
    assert_eq!(support::inspect(&image, "{{.Id}}"), id);
}

/// `docker ARGS` with a client configuration of its own (`docker manifest` keeps its lists
/// there), inside `config`.
fn docker_with_config(config: &Path, args: &[&str]) {
    let out = Command::new("docker")
        .args(args)
        .env("DOCKER_CONFIG", config)
        .output_within(support::COMMAND_LIMIT);
    assert!(out.status.success(), "docker {args:?}: {}", stderr(&out));
}

/// A service's `platform` reaches the pull: from a manifest list that has only `linux/amd64`,
/// `platform: linux/arm64` finds nothing to pull and `linux/amd64` pulls, under wharf as under
/// compose v2. (The engine here makes images of its own architecture only, so the list holds
/// one; asking for the other platform is what shows the pull asked for it.)
#[test]
fn the_service_platform_picks_the_manifest_a_pull_takes_as_under_compose() {
    let registry = Registry::start();
    let mut p = Project::new("vb-platform", "services: {}\n");
    let single = format!("{}/{}:amd64", registry.address, p.name);
    let list = format!("{}/{}:multi", registry.address, p.name);
    p.cleanup.image(&single).image(&list);
    let config = tempfile::tempdir().unwrap();
    support::docker(&["tag", busybox_image(), &single]);
    support::docker(&["push", "-q", &single]);
    docker_with_config(
        config.path(),
        &["manifest", "create", "--insecure", &list, &single],
    );
    docker_with_config(config.path(), &["manifest", "push", "--insecure", &list]);

    let file = |platform: &str| {
        format!("services:\n  app:\n    image: {list}\n    platform: {platform}\n")
    };
    p.write(&file("linux/arm64"));
    let ours = p.wharf(&["pull"]);
    let theirs = p.compose(&["pull"]);
    let refusal = "no matching manifest for linux/arm64 in the manifest list entries";
    assert!(
        !theirs.status.success() && stderr(&theirs).contains(refusal),
        "{}",
        stderr(&theirs)
    );
    assert!(!ours.status.success(), "{}", stderr(&ours));
    assert!(stderr(&ours).contains(refusal), "{}", stderr(&ours));
    assert!(
        stderr(&ours).contains("app"),
        "names the service: {}",
        stderr(&ours)
    );

    p.write(&file("linux/amd64"));
    let out = p.wharf(&["pull"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        support::inspect(&list, "{{.Os}}/{{.Architecture}}"),
        "linux/amd64"
    );
}

#[test]
fn dry_runs_print_what_would_happen_and_change_nothing() {
    let p = Project::new("vb-dry", SLEEPERS);
    let plan = p.ok(&["create", "--dry-run"]);
    assert!(
        plan.contains(&format!(
            "create container {} (missing)",
            p.container("db", 1)
        )),
        "{plan}"
    );
    assert!(!plan.contains("start container"), "{plan}");
    assert!(p.containers().is_empty());
    assert_eq!(p.ok(&["up", "--no-start", "--dry-run"]), plan);
    assert!(p.containers().is_empty());

    p.ok(&["up", "-d"]);
    let before = p.containers();
    let web = p.container("web", 1);
    for (args, word) in [
        (&["kill", "--dry-run", "web"][..], "Killed"),
        (&["pause", "--dry-run", "web"], "Paused"),
        (&["rm", "-s", "-f", "--dry-run", "web"], "Removed"),
    ] {
        let out = p.wharf(args);
        assert!(out.status.success(), "{}", stderr(&out));
        let line = format!(" DRY-RUN MODE -  Container {web}  {word}");
        assert!(
            stderr(&out).lines().any(|l| l == line),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    // compose says it in the same words.
    let theirs = Command::new("docker")
        .args(["compose", "-p", &p.name, "--dry-run", "kill", "web"])
        .current_dir(p.path())
        .output()
        .unwrap();
    assert!(stderr(&theirs).contains(&format!(" DRY-RUN MODE -  Container {web}  Killed")));
    assert_eq!(p.containers(), before);
    assert_eq!(p.state_of("web", 1), "running");
}

const VOLUMES: &str = r#"
services:
  a:
    image: IMAGE
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
    volumes: [data:/data, other:/o]
  b:
    image: IMAGE
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
    volumes: [other:/o]
volumes:
  data:
  other:
  unused:
"#;

/// A text's lines, sorted: compose prints some lists in a map's order, which changes.
fn sorted_lines(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines.sort();
    lines
}

#[test]
fn volumes_lists_the_projects_volumes_as_compose_does() {
    let p = Project::new("vb-vols", VOLUMES);
    p.ok(&["up", "-d"]);
    for args in [&["volumes"][..], &["volumes", "-q", "b"], &["volumes", "a"]] {
        let ((ours, _, ours_code), (theirs, _, theirs_code)) = both(&p, args);
        assert_eq!(sorted_lines(&ours), sorted_lines(&theirs), "wharf {args:?}");
        assert_eq!((ours_code, theirs_code), (Some(0), Some(0)));
    }
    assert_eq!(
        p.ok(&["volumes"]),
        format!(
            "DRIVER    VOLUME NAME\nlocal     {0}_data\nlocal     {0}_other\n",
            p.name
        )
    );
    assert_eq!(p.ok(&["volumes", "-q", "b"]), format!("{}_other\n", p.name));

    // JSON: the same objects (compose writes the lines, and the labels in them, in a map's
    // order).
    let objects = |text: &str| -> Vec<serde_json::Value> {
        let mut items: Vec<serde_json::Value> = text
            .lines()
            .map(|line| {
                let mut item: serde_json::Value = serde_json::from_str(line).unwrap();
                let labels = sorted_lines(&item["Labels"].as_str().unwrap().replace(',', "\n"));
                item["Labels"] = labels.join(",").into();
                item
            })
            .collect();
        items.sort_by_key(|item| item["Name"].as_str().unwrap().to_string());
        items
    };
    let ((ours, _, _), (theirs, _, _)) = both(&p, &["volumes", "--format", "json"]);
    assert_eq!(objects(&ours), objects(&theirs));
    assert_eq!(objects(&ours).len(), 2, "{ours}");

    // compose v2.40.3 says `no such service: nosuch` (exit 1) when the project is named by
    // its directory, but prints an empty table (exit 0) when it is named with `-p`: wharf
    // says the former either way.
    let out = p.wharf(&["volumes", "nosuch"]);
    assert_eq!(stderr(&out), "error: no such service: nosuch\n");
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn commit_and_export_take_the_containers_changes_as_compose_does() {
    let p = Project::new("vb-commit", VOLUMES);
    p.ok(&["up", "-d"]);
    let a = p.container("a", 1);
    support::docker(&["exec", &a, "touch", "/marker"]);

    let image = format!("wharf-test/{}:committed", p.name);
    let mut cleanup = Cleanup::new(&format!("{}-images", p.name));
    cleanup.image(&image);
    let out = p.wharf(&[
        "commit",
        "-a",
        "me",
        "-m",
        "a message",
        "-c",
        "ENV X=1",
        "-c",
        "LABEL k=v",
        "a",
        &image,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let id = support::inspect(&image, "{{.Id}}");
    assert!(
        stderr(&out).contains(&format!("{a} Commit {a} Committed as {id}")),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        support::inspect(&image, "{{.Author}}|{{.Comment}}|{{.Config.Labels.k}}"),
        "me|a message|v"
    );
    let env = support::inspect(&image, "{{json .Config.Env}}");
    assert!(env.contains("\"X=1\""), "{env}");
    // The image holds the file the container made.
    let listed = support::docker(&["run", "--rm", &image, "ls", "/marker"]);
    assert_eq!(listed.trim(), "/marker");

    // export: the same archive as compose's, with the file in it.
    let tars = tempfile::tempdir().unwrap();
    let ours = tars.path().join("ours.tar");
    let theirs = tars.path().join("theirs.tar");
    p.ok(&["export", "a", "-o", ours.to_str().unwrap()]);
    let out = p.compose(&["export", "a", "-o", theirs.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let entries = |tar: &Path| {
        let out = Command::new("tar").arg("-tf").arg(tar).output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        sorted_lines(&String::from_utf8_lossy(&out.stdout))
    };
    assert_eq!(entries(&ours), entries(&theirs));
    assert!(entries(&ours).contains(&"marker".to_string()));
    // Without -o, to standard output when it is not a terminal.
    let out = p.wharf(&["export", "a"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        out.stdout.len() as u64,
        std::fs::metadata(&ours).unwrap().len()
    );

    // The failures, in compose's words, and nothing written.
    let missing = tars.path().join("no/such/dir/x.tar");
    for args in [
        &["export", "--index", "2", "a"][..],
        &["commit", "--index", "2", "a"],
        &["export", "a", "-o", missing.to_str().unwrap()],
    ] {
        let ((_, ours, ours_code), (_, theirs, theirs_code)) = both(&p, args);
        assert_eq!(ours, format!("error: {theirs}"), "wharf {args:?}");
        assert_eq!((ours_code, theirs_code), (Some(1), Some(1)), "{args:?}");
    }
    let leftovers: Vec<_> = std::fs::read_dir(tars.path()).unwrap().collect();
    assert_eq!(leftovers.len(), 2, "only the two archives: {leftovers:?}");

    // --dry-run: compose's lines, and no image, no file.
    let dry = tars.path().join("dry.tar");
    for args in [
        &["--dry-run", "export", "a", "-o", dry.to_str().unwrap()][..],
        &["--dry-run", "commit", "a", "wharf-test/dry:never"],
    ] {
        let ((_, ours, _), (_, theirs, _)) = both(&p, args);
        assert_eq!(ours, theirs, "{args:?}");
    }
    assert!(!dry.exists());
    assert!(!support::image_exists("wharf-test/dry:never"));
}

#[test]
fn up_pull_overrides_every_services_pull_policy_for_one_up() {
    let registry = Registry::start();
    let mut p = Project::new("vb-uppull", "services: {}\n");
    let image = format!("{}/{}-app:1", registry.address, p.name);
    p.cleanup.image(&image);
    let build = |version: &str| {
        let context = tempfile::tempdir().unwrap();
        std::fs::write(
            context.path().join("Dockerfile"),
            format!("FROM {}\nRUN echo {version} > /version\n", busybox_image()),
        )
        .unwrap();
        let out = Command::new("docker")
            .args(["build", "-q", "-t", &image])
            .arg(context.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
    };
    // The registry has `pushed`; the engine has `local` under the same name.
    build("pushed");
    support::docker(&["push", &image]);
    build("local");
    p.write(&format!(
        "services:\n  app:\n    image: {image}\n    command: [\"sh\", \"-c\", \"trap 'exit 0' TERM; sleep 3600 & wait\"]\n"
    ));
    let version = || support::docker(&["exec", &p.container("app", 1), "cat", "/version"]);

    p.ok(&["up", "-d"]);
    assert_eq!(
        version().trim(),
        "local",
        "pull_policy missing: the local image"
    );
    let first = p.containers();
    p.ok(&["up", "-d", "--pull", "never"]);
    assert_eq!(p.containers(), first, "nothing pulled, nothing changed");

    let out = p.wharf(&["up", "-d", "--pull", "always"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        version().trim(),
        "pushed",
        "pulled, and the container replaced"
    );
    assert_ne!(p.containers(), first);
    // The file's policy is back for the next `up`: nothing pulled, nothing replaced.
    let second = p.containers();
    build("local");
    p.ok(&["up", "-d", "--pull", "missing"]);
    assert_eq!(
        version().trim(),
        "local",
        "a changed local image replaces as always"
    );
    assert_ne!(p.containers(), second);

    // `never` with the image gone: the create fails and says which image.
    p.ok(&["down"]);
    support::docker(&["image", "rm", &image]);
    let out = p.wharf(&["up", "-d", "--pull", "never"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains(&image), "{}", stderr(&out));
    assert!(!support::image_exists(&image), "nothing pulled");
    // `policy` (compose's default) pulls the missing image.
    p.ok(&["up", "-d", "--pull", "policy"]);
    assert_eq!(version().trim(), "pushed");

    // `build --pull`: the base image is pulled again first, so a local copy that differs from
    // the registry's does not make the build.
    build("local");
    let built = format!("{}-built", p.name);
    p.cleanup.image(&built);
    p.write(&format!(
        "services:\n  built:\n    build: .\n    image: {built}\n"
    ));
    std::fs::write(p.path().join("Dockerfile"), format!("FROM {image}\n")).unwrap();
    let built_version = || support::docker(&["run", "--rm", &built, "cat", "/version"]);
    p.ok(&["build"]);
    assert_eq!(built_version().trim(), "local");
    p.ok(&["build", "--pull"]);
    assert_eq!(built_version().trim(), "pushed");
}

#[test]
fn compose_ignore_orphans_silences_the_orphan_warning_and_refuses_remove_orphans() {
    let p = Project::new("vb-orphans", SLEEPERS);
    p.ok(&["up", "-d"]);
    p.write(&SLEEPERS.replace("  db:\n", "  db2:\n"));
    let warned = p.wharf(&["up", "-d"]);
    assert!(
        stderr(&warned).contains("orphan"),
        "without it, the warning: {}",
        stderr(&warned)
    );
    let quiet = wharf_command(&p.name, p.path(), p.state.path())
        .args(["up", "-d"])
        .env("COMPOSE_IGNORE_ORPHANS", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(quiet.status.success(), "{}", stderr(&quiet));
    assert!(!stderr(&quiet).contains("orphan"), "{}", stderr(&quiet));
    assert_eq!(p.state_of("db", 1), "running", "the orphan is left alone");

    // With --remove-orphans: compose's refusal, and nothing removed.
    let ours = wharf_command(&p.name, p.path(), p.state.path())
        .args(["up", "-d", "--remove-orphans"])
        .env("COMPOSE_IGNORE_ORPHANS", "true")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let theirs = Command::new("docker")
        .args(["compose", "-p", &p.name, "up", "-d", "--remove-orphans"])
        .env("COMPOSE_IGNORE_ORPHANS", "true")
        .current_dir(p.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(stderr(&ours), format!("error: {}", stderr(&theirs)));
    assert_eq!(
        (ours.status.code(), theirs.status.code()),
        (Some(1), Some(1))
    );
    assert_eq!(p.state_of("db", 1), "running");
}
