//! wharf and docker compose v2 (v2.40, the `docker compose` CLI plugin) on the same project,
//! against the real engine: both write the same config hash and image label on the containers
//! of the same file, so `docker compose up -d` after `wharf up -d` recreates nothing, and
//! `wharf up -d` after `docker compose up -d` recreates nothing either. Their networks and
//! volumes carry the same config hash, which compose reads back: compose neither recreates
//! wharf's networks nor asks to recreate its volumes.
//!
//! Without `docker compose` v2 the tests are skipped with a notice, except under `CI`, where
//! that is a failure.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use support::{
    Cleanup, busybox_image, docker_lines, project_containers, unique_project, wait_until,
};

/// Common keys over several services, one of them with two replicas.
const COMPOSE: &str = r#"
services:
  db:
    image: IMAGE
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
    environment:
      POSTGRES_DB: shop
      EMPTY:
    labels:
      com.example.role: database
    volumes:
      - data:/var/lib/data
    networks: [back]
    healthcheck:
      test: ["CMD", "true"]
      interval: 1s
      timeout: 5s
      retries: 3
      start_period: 30s
  web:
    image: IMAGE
    command: sh -c "trap 'exit 0' TERM; sleep 3600 & wait"
    environment:
      - DATABASE_URL=db://db/shop?a=1&b=<2>
      - MODE=web
    ports:
      - "80"
      - "127.0.0.1::81/udp"
    volumes:
      - ./conf:/conf:ro
      - type: tmpfs
        target: /cache
    networks:
      front:
        aliases: [www]
      back: {}
    depends_on:
      db:
        condition: service_healthy
    deploy:
      resources:
        limits:
          cpus: "0.5"
          memory: 64M
        reservations:
          memory: 16M
    scale: 2
    labels:
      - com.example.role=frontend
    stop_grace_period: 2s
  worker:
    image: IMAGE
    entrypoint: ["sh", "-c"]
    command: ["trap 'exit 0' TERM; sleep 3600 & wait"]
    working_dir: /tmp
    depends_on: [db]
    networks: [back]
networks:
  front:
  back:
    driver_opts:
      com.docker.network.bridge.enable_icc: "true"
    labels:
      com.example.tier: back
volumes:
  data:
    labels:
      com.example.backup: daily
"#;

/// Whether `docker compose` is v2; a failure under `CI` when it is not.
fn compose_v2() -> bool {
    let present = Command::new("docker")
        .args(["compose", "version", "--short"])
        .output()
        .is_ok_and(|out| out.status.success() && out.stdout.starts_with(b"2."));
    if !present {
        assert!(
            std::env::var_os("CI").is_none(),
            "`docker compose` v2 is not installed (CI must install it: see .ci/run)"
        );
        eprintln!("SKIPPED: `docker compose` v2 is not installed");
    }
    present
}

/// A project directory with its own state directory. Dropping it stops wharf's supervisor
/// (`wharf down`) before the label-based cleanup.
struct Project {
    name: String,
    dir: tempfile::TempDir,
    state: tempfile::TempDir,
    _cleanup: Cleanup,
}

impl Project {
    /// A new project, when `docker compose` v2 is there to compare with.
    fn beside_compose_v2(prefix: &str) -> Option<Project> {
        compose_v2().then(|| Project::new(prefix))
    }

    fn new(prefix: &str) -> Project {
        let name = unique_project(prefix);
        let project = Project {
            _cleanup: Cleanup::new(&name),
            name,
            dir: tempfile::tempdir().unwrap(),
            state: tempfile::tempdir().unwrap(),
        };
        std::fs::write(
            project.dir.path().join("compose.yaml"),
            COMPOSE.replace("IMAGE", busybox_image()),
        )
        .unwrap();
        std::fs::create_dir(project.dir.path().join("conf")).unwrap();
        project
    }

    fn wharf(&self, args: &[&str]) -> Output {
        support::wharf_command(&self.name, self.dir.path(), self.state.path())
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    fn compose(&self, args: &[&str]) -> Output {
        Command::new("docker")
            .args(["compose", "-p", &self.name])
            .args(args)
            .current_dir(self.dir.path())
            .env_remove("COMPOSE_FILE")
            .env_remove("COMPOSE_PROJECT_NAME")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// wharf's standard output; the command must succeed.
    fn wharf_ok(&self, args: &[&str]) -> String {
        ok(&format!("wharf {args:?}"), self.wharf(args), &self.log())
    }

    /// docker compose's standard error (where it reports progress); it must succeed.
    fn compose_ok(&self, args: &[&str]) -> String {
        let out = self.compose(args);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        ok(&format!("docker compose {args:?}"), out, "");
        stderr
    }

    fn log(&self) -> String {
        let log = self.state.path().join(&self.name).join("supervisor.log");
        std::fs::read_to_string(log).unwrap_or_default()
    }

    /// The four replicas: db, web ×2, worker.
    fn containers(&self) -> BTreeMap<String, String> {
        let containers = project_containers(&self.name);
        assert_eq!(containers.len(), 4, "{containers:?}");
        containers
    }

    /// Waits until every replica runs (and `db` is healthy, which `web` waits for).
    fn wait_running(&self) {
        wait_until(
            "all four replicas run",
            Duration::from_secs(30),
            || support::running_containers(&self.name) == 4,
            || self.log(),
        );
    }

    /// Per container, the compose labels compose v2 reads back (all `com.docker.compose.*`
    /// but `.version`, which names the tool) and the service's own labels; `depends_on` as a
    /// set, since compose writes its entries in Go's random map order.
    fn compose_labels(&self) -> BTreeMap<String, BTreeMap<String, String>> {
        self.containers()
            .into_keys()
            .map(|name| {
                let json = docker_lines(&["inspect", "--format", "{{json .Config.Labels}}", &name])
                    .join("");
                let labels: BTreeMap<String, String> = serde_json::from_str(&json).unwrap();
                let kept = labels
                    .into_iter()
                    .filter(|(key, _)| {
                        key != "com.docker.compose.version" && !key.starts_with("dev.wharf.")
                    })
                    .map(|(key, value)| match key.as_str() {
                        "com.docker.compose.depends_on" => {
                            let set: BTreeSet<&str> =
                                value.split(',').filter(|d| !d.is_empty()).collect();
                            let joined = set.into_iter().collect::<Vec<_>>().join(",");
                            (key, joined)
                        }
                        _ => (key, value),
                    })
                    .collect();
                (name, kept)
            })
            .collect()
    }
}

impl Project {
    /// Per network and volume of the project: its ID and the labels compose reads back (all
    /// but `com.docker.compose.version`).
    fn resources(&self) -> BTreeMap<String, (String, BTreeMap<String, String>)> {
        let mut resources = BTreeMap::new();
        for (kind, keys, id) in [
            ("network", ["front", "back"].as_slice(), "{{.Id}}"),
            ("volume", ["data"].as_slice(), "{{.CreatedAt}}"),
        ] {
            for key in keys {
                let name = format!("{}_{key}", self.name);
                let format = format!("{id}\t{{{{json .Labels}}}}");
                let line = docker_lines(&[kind, "inspect", "--format", &format, &name]).join("");
                let (id, labels) = line.split_once('\t').expect("an id and labels");
                let mut labels: BTreeMap<String, String> = serde_json::from_str(labels).unwrap();
                labels.remove("com.docker.compose.version");
                resources.insert(format!("{kind} {name}"), (id.to_string(), labels));
            }
        }
        resources
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        // The supervisor first, or it would restore what the cleanup removes.
        let _ = self.wharf(&["down", "-v", "-t", "1"]);
    }
}

/// The standard output of a command that must have succeeded.
fn ok(what: &str, out: Output, log: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}\n{}\nsupervisor log:\n{log}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `wharf down` ends the supervisor and removes every container.
fn down(project: &Project) {
    project.wharf_ok(&["down", "-t", "1"]);
    assert!(project_containers(&project.name).is_empty());
    assert!(
        support::wharf_processes(&project.name).is_empty(),
        "a wharf process outlived `down`"
    );
}

#[test]
fn compose_up_after_wharf_up_recreates_nothing() {
    let Some(project) = Project::beside_compose_v2("interop-w2c") else {
        return;
    };
    project.wharf_ok(&["up", "-d"]);
    project.wait_running();
    let before = project.containers();

    let resources = project.resources();

    let progress = project.compose_ok(&["up", "-d"]);
    assert!(!progress.contains("Recreate"), "{progress}");
    assert_eq!(project.containers(), before, "{progress}");
    assert!(!progress.contains("doesn't match"), "{progress}");
    assert_eq!(project.resources(), resources, "{progress}");
    down(&project);
}

#[test]
fn wharf_up_after_compose_up_recreates_nothing() {
    let Some(project) = Project::beside_compose_v2("interop-c2w") else {
        return;
    };
    project.compose_ok(&["up", "-d"]);
    project.wait_running();
    let before = project.containers();

    let plan = project.wharf(&["up", "-d", "--dry-run"]);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&plan.stdout),
        String::from_utf8_lossy(&plan.stderr),
    );
    assert!(plan.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.trim().is_empty() && !stderr.lines().any(|l| l.starts_with('#')),
        "wharf plans operations on containers compose just made:\n{stdout}\n{stderr}"
    );
    assert!(
        !stderr.contains(" changed: "),
        "wharf finds the options of compose's networks or volumes changed:\n{stderr}"
    );

    project.wharf_ok(&["up", "-d"]);
    assert_eq!(project.containers(), before);
    down(&project);
}

#[test]
fn both_tools_label_the_containers_of_one_file_alike() {
    let Some(project) = Project::beside_compose_v2("interop-labels") else {
        return;
    };
    project.compose_ok(&["up", "-d"]);
    let by_compose = project.compose_labels();
    let labels = |resources: BTreeMap<String, (String, BTreeMap<String, String>)>| {
        resources
            .into_iter()
            .map(|(name, (_, labels))| (name, labels))
            .collect::<BTreeMap<_, _>>()
    };
    let resources_by_compose = labels(project.resources());
    project.compose_ok(&["down", "-v", "-t", "1"]);
    assert!(project_containers(&project.name).is_empty());

    project.wharf_ok(&["up", "-d"]);
    pretty_assertions::assert_eq!(
        labels(project.resources()),
        resources_by_compose,
        "networks and volumes: wharf's labels (config hash) differ from docker compose v2's"
    );
    let by_wharf = project.compose_labels();
    // The config hash first, with its own message: it is the one compose decides on.
    for (name, labels) in &by_compose {
        let hash = "com.docker.compose.config-hash";
        assert_eq!(
            by_wharf[name].get(hash),
            labels.get(hash),
            "{name}: wharf's config hash differs from docker compose v2's"
        );
    }
    pretty_assertions::assert_eq!(by_wharf, by_compose);
    assert!(
        by_wharf
            .values()
            .all(|labels| labels.contains_key("com.docker.compose.image")),
        "{by_wharf:?}"
    );
    down(&project);
}

#[test]
fn the_test_project_is_what_compose_v2_prints() {
    // The project above is read alike by both tools, or the label comparison would mean little.
    let Some(project) = Project::beside_compose_v2("interop-config") else {
        return;
    };
    let wharf = project.wharf_ok(&["config", "--format", "json"]);
    let compose = ok(
        "docker compose config",
        project.compose(&["config", "--format", "json"]),
        "",
    );
    pretty_assertions::assert_eq!(wharf, compose);
}
