//! `up` and `down` with service arguments, `--scale` and `--force-recreate` on a real 3-node
//! swarm of lab nodes (`support::swarm`, never the shared engine): what is out of scope is left
//! exactly as it is, as a user sees it through the manager (`docker service ls`, each service's
//! version, its tasks' IDs, the config versions). One lab for the whole scenario: a lab is slow
//! to make.

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use support::swarm::Swarm;
use support::{BUSYBOX_IMAGE, all_output, succeeded, unique_project, wait_until};

/// How long a scaled service may take to show its tasks running (each first tries to pull).
const RUNNING_LIMIT: Duration = Duration::from_secs(60);

/// Three services: web depends on db, other stands alone and says `greeting`; db and other
/// read the config `settings`, which holds `level=<level>`.
fn compose_file(greeting: &str, level: &str) -> String {
    format!(
        r#"services:
  web:
    image: {BUSYBOX_IMAGE}
    command: [sh, -c, "trap 'exit 0' TERM; sleep 3600 & wait"]
    depends_on: [db]
    deploy:
      endpoint_mode: dnsrr
      # Every task replaced at once: --force-recreate then takes one task start, not three.
      update_config: {{parallelism: 3}}
  db:
    image: {BUSYBOX_IMAGE}
    command: [sh, -c, "trap 'exit 0' TERM; sleep 3600 & wait"]
    configs: [settings]
    deploy: {{endpoint_mode: dnsrr}}
  other:
    image: {BUSYBOX_IMAGE}
    command: [sh, -c, "trap 'exit 0' TERM; sleep 3600 & wait"]
    environment: [GREETING={greeting}]
    configs: [settings]
    deploy: {{endpoint_mode: dnsrr}}
configs:
  settings:
    content: "level={level}"
"#
    )
}

/// What `docker service ls` shows of the stack: each service's name and replicas, sorted.
fn service_ls(swarm: &Swarm, project: &str) -> Vec<String> {
    let filter = format!("label=com.docker.stack.namespace={project}");
    let format = "{{.Name}} {{.Replicas}}";
    let listed = swarm
        .manager()
        .docker(&["service", "ls", "--filter", &filter, "--format", format]);
    let mut lines: Vec<String> = listed.lines().map(str::to_string).collect();
    lines.sort();
    lines
}

/// Waits until `docker service ls` shows `expected` (the running counts follow the tasks).
fn shows(swarm: &Swarm, project: &str, expected: &[String]) {
    wait_until(
        &format!("docker service ls shows {expected:?}"),
        RUNNING_LIMIT,
        || service_ls(swarm, project) == expected,
        || format!("{:?}", service_ls(swarm, project)),
    );
}

/// The names of the stack's config versions.
fn configs(swarm: &Swarm, project: &str) -> BTreeSet<String> {
    let filter = format!("label=com.docker.stack.namespace={project}");
    let listed =
        swarm
            .manager()
            .docker(&["config", "ls", "--filter", &filter, "--format", "{{.Name}}"]);
    listed.lines().map(str::to_string).collect()
}

/// A service's `Version.Index`.
fn version(swarm: &Swarm, service: &str) -> String {
    let format = "{{.Version.Index}}";
    swarm
        .manager()
        .docker(&["service", "inspect", "-f", format, service])
}

/// The IDs of a service's tasks the swarm keeps running.
fn running_tasks(swarm: &Swarm, service: &str) -> BTreeSet<String> {
    let listed = swarm.manager().docker(&[
        "service",
        "ps",
        "-q",
        "--filter",
        "desired-state=running",
        service,
    ]);
    listed.lines().map(str::to_string).collect()
}

#[test]
fn service_arguments_scale_and_force_recreate_leave_the_rest_of_the_stack_as_it_is() {
    let swarm = Swarm::start("swarm-scope", 3);
    let project = unique_project("swarm-scope");
    let dir = tempfile::tempdir().expect("a project folder");
    let write = |greeting: &str, level: &str| {
        let file = compose_file(greeting, level);
        std::fs::write(dir.path().join("compose.yaml"), file).unwrap();
    };
    let wharf = |args: &[&str]| swarm.wharf(&project, dir.path(), args);
    let (web, db, other) = (
        format!("{project}_web"),
        format!("{project}_db"),
        format!("{project}_other"),
    );
    write("one", "info");

    // An unknown service fails with compose's words and changes nothing.
    let unknown = wharf(&["up", "-d", "web", "wbe"]);
    assert!(!unknown.status.success());
    assert!(
        all_output(&unknown).contains("no such service: wbe"),
        "{}",
        all_output(&unknown)
    );
    assert!(service_ls(&swarm, &project).is_empty());

    // up -d web: web and its dependency db, not other.
    succeeded("up -d web", wharf(&["up", "-d", "web"]));
    shows(
        &swarm,
        &project,
        &[format!("{db} 1/1"), format!("{web} 1/1")],
    );

    // up -d --scale web=3: the whole stack (other created), web with 3 tasks.
    succeeded(
        "up -d --scale web=3",
        wharf(&["up", "-d", "--scale", "web=3"]),
    );
    let all = [
        format!("{db} 1/1"),
        format!("{other} 1/1"),
        format!("{web} 3/3"),
    ];
    shows(&swarm, &project, &all);
    assert_eq!(running_tasks(&swarm, &web).len(), 3);

    // A changed file and up -d other: other is updated, web (3 tasks where the file says 1)
    // and db keep their versions.
    let (web_version, db_version) = (version(&swarm, &web), version(&swarm, &db));
    let other_version = version(&swarm, &other);
    write("two", "info");
    succeeded("up -d other", wharf(&["up", "-d", "other"]));
    assert_ne!(version(&swarm, &other), other_version, "other is updated");
    assert_eq!(version(&swarm, &web), web_version, "web is left as it is");
    assert_eq!(version(&swarm, &db), db_version, "db is left as it is");
    assert!(service_ls(&swarm, &project).contains(&format!("{web} 3/3")));
    // The whole stack's up would take web back to the file's count: it was left on purpose.
    let whole = succeeded("dry run of up -d", wharf(&["--dry-run", "up", "-d"]));
    assert!(
        whole.contains(&format!("update service {web} (Mode.Replicated.Replicas)")),
        "{whole}"
    );

    // --force-recreate web: nothing changed, yet web's tasks are replaced (new task IDs);
    // db, its dependency, and other keep their versions.
    let forced = ["up", "-d", "--force-recreate", "--scale", "web=3", "web"];
    let dry: Vec<&str> = ["--dry-run"].iter().chain(&forced).copied().collect();
    let plan = succeeded("dry run of --force-recreate", wharf(&dry));
    assert!(
        plan.contains(&format!("update service {web} (TaskTemplate.ForceUpdate)")),
        "{plan}"
    );
    assert!(!plan.contains(&format!("update service {db}")), "{plan}");
    let tasks_before = running_tasks(&swarm, &web);
    let (web_version, other_version) = (version(&swarm, &web), version(&swarm, &other));
    succeeded("up --force-recreate web", wharf(&forced));
    let tasks_after = running_tasks(&swarm, &web);
    assert_eq!(tasks_after.len(), 3, "{tasks_after:?}");
    assert!(
        tasks_before.is_disjoint(&tasks_after),
        "every web task is new: {tasks_before:?} then {tasks_after:?}"
    );
    assert_ne!(version(&swarm, &web), web_version, "web is updated");
    assert_eq!(version(&swarm, &db), db_version, "db is left as it is");
    assert_eq!(
        version(&swarm, &other),
        other_version,
        "other is left as it is"
    );
    // The moved counter is no change for the next up.
    let again = succeeded(
        "dry run after --force-recreate",
        wharf(&["--dry-run", "up", "-d", "--scale", "web=3"]),
    );
    assert!(!again.lines().any(|l| l.starts_with('#')), "{again}");

    // The config changes, and up -d other: other moves to its new version; db, out of scope,
    // keeps the old one, which stays, until up -d db moves db on: then it goes.
    let before = configs(&swarm, &project);
    assert_eq!(before.len(), 1, "{before:?}");
    write("two", "debug");
    let db_version = version(&swarm, &db);
    succeeded(
        "up -d other after a config change",
        wharf(&["up", "-d", "other"]),
    );
    let both = configs(&swarm, &project);
    assert_eq!(both.len(), 2, "the old version stays for db: {both:?}");
    assert!(both.is_superset(&before), "{both:?}");
    assert_eq!(version(&swarm, &db), db_version, "db is left as it is");
    succeeded("up -d db", wharf(&["up", "-d", "db"]));
    let after = configs(&swarm, &project);
    assert_eq!(after.len(), 1, "the old version is gone: {after:?}");
    assert!(after.is_disjoint(&before), "{after:?}");

    // down web removes web alone; the network db and other use stays.
    succeeded("down web", wharf(&["down", "web"]));
    shows(
        &swarm,
        &project,
        &[format!("{db} 1/1"), format!("{other} 1/1")],
    );
    let network = format!("{project}_default");
    let networks = swarm
        .manager()
        .docker(&["network", "ls", "--format", "{{.Name}}"]);
    assert!(networks.lines().any(|n| n == network), "{networks}");
}

/// Refused before any engine is reached: `--scale` on a global service, with why.
#[test]
fn scale_of_a_global_service_is_refused_with_why() {
    let dir = tempfile::tempdir().expect("a project folder");
    let file =
        format!("services:\n  agent:\n    image: {BUSYBOX_IMAGE}\n    deploy: {{mode: global}}\n");
    std::fs::write(dir.path().join("compose.yaml"), file).unwrap();
    let project = unique_project("swarm-scope-global");
    let state = dir.path().join("state");
    let out = support::wharf_command(&project, dir.path(), &state)
        .args(["--target", "swarm", "up", "-d", "--scale", "agent=2"])
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .output()
        .expect("wharf runs");
    assert!(!out.status.success());
    let said = all_output(&out);
    assert!(
        said.contains("--scale agent=2: service \"agent\" cannot be scaled")
            && said.contains("deploy.mode is global"),
        "{said}"
    );
}
