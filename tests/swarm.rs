//! `--target swarm` on a real 3-node Docker Swarm made of lab nodes (`support::swarm`): the
//! swarm lives inside docker-in-docker nodes, never on the engine the other tests share, and
//! goes with the lab when the test ends, even when it panics. This host has no IPVS, so the
//! files use `endpoint_mode: dnsrr` and host-mode ports.

mod support;

use std::collections::BTreeSet;
use std::io::BufRead;
use std::path::Path;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use support::swarm::Swarm;
use support::{
    BUSYBOX_IMAGE, COMMAND_LIMIT, OutputWithin, succeeded, unique_project, wait_until, wait_within,
};

/// How long a stack's tasks may take to run on the lab (each task first tries to pull, fails
/// without a registry, then runs the local image).
const RUNNING_LIMIT: Duration = Duration::from_secs(90);

/// Two services with most of what the swarm target maps, so that a second `up` shows that
/// the engine's copy of each key reads as wharf wrote it.
fn compose_file(greeting: &str) -> String {
    format!(
        r#"services:
  web:
    image: {BUSYBOX_IMAGE}
    command: [sh, -c, "trap 'exit 0' TERM; sleep 3600 & wait"]
    environment: [GREETING={greeting}]
    labels: [tier=front]
    extra_hosts: ["gateway-host:10.9.8.7"]
    dns_search: [example.org]
    dns_opt: ["ndots:2"]
    group_add: ["1234"]
    ulimits: {{nofile: {{soft: 1024, hard: 2048}}}}
    logging: {{driver: json-file, options: {{max-size: 1m}}}}
    depends_on: [db]
    networks:
      front: {{}}
      back: {{aliases: [site]}}
    stop_grace_period: 5s
    deploy:
      replicas: 6
      endpoint_mode: dnsrr
      labels: [owner=wharf]
      # No start-first with it: a full node has no room for the new task.
      placement: {{max_replicas_per_node: 2}}
      resources: {{limits: {{memory: 64M}}, reservations: {{cpus: "0.01"}}}}
      update_config: {{parallelism: 2, delay: 1s, order: stop-first}}
      rollback_config: {{parallelism: 2}}
  db:
    image: {BUSYBOX_IMAGE}
    entrypoint: [sh, -c]
    command: ["trap 'exit 0' TERM; sleep 3600 & wait"]
    networks: [back]
    ports: [{{target: 5432, published: 15432, mode: host}}]
    healthcheck: {{test: [CMD, "true"], interval: 1s, retries: 3}}
    deploy:
      endpoint_mode: dnsrr
      restart_policy: {{condition: on-failure, delay: 1s}}
networks:
  front: {{}}
  back: {{internal: true}}
"#
    )
}

/// `wharf --target swarm ARGS` for `project` in `dir`, against the swarm's manager.
fn wharf(swarm: &Swarm, project: &str, dir: &Path, args: &[&str]) -> Output {
    swarm.wharf(project, dir, args)
}

/// Each service's `Version.Index`, by name.
fn versions(swarm: &Swarm, project: &str) -> Vec<(String, String)> {
    let filter = format!("label=com.docker.stack.namespace={project}");
    let ids = swarm
        .manager()
        .docker(&["service", "ls", "-q", "--filter", &filter]);
    let mut versions: Vec<(String, String)> = ids
        .lines()
        .map(|id| {
            let format = "{{.Spec.Name}} {{.Version.Index}}";
            let line = swarm
                .manager()
                .docker(&["service", "inspect", "-f", format, id]);
            let (name, version) = line.split_once(' ').expect("name and version");
            (name.to_string(), version.to_string())
        })
        .collect();
    versions.sort();
    versions
}

/// The running tasks' nodes, from `wharf ps --format json`.
fn running_nodes(swarm: &Swarm, project: &str, dir: &Path) -> Vec<String> {
    let out = succeeded(
        "ps",
        wharf(swarm, project, dir, &["ps", "--format", "json"]),
    );
    out.lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|task| task["State"] == "running" && task["DesiredState"] == "running")
        .map(|task| task["Node"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn stack_networks(swarm: &Swarm, project: &str) -> String {
    let filter = format!("label=com.docker.stack.namespace={project}");
    swarm
        .manager()
        .docker(&["network", "ls", "-q", "--filter", &filter])
}

/// The issue's first slice on a real cluster: dry run, deploy spread over the nodes, `docker
/// stack` seeing the project, the no-op re-run, drift restored, one changed service, and
/// `down`.
#[test]
fn a_project_is_deployed_as_a_stack_updated_only_where_it_changed_and_taken_down() {
    let swarm = Swarm::start("swarm", 3);
    let project = unique_project("swarm-stack");
    let dir = tempfile::tempdir().expect("a project folder");
    std::fs::write(dir.path().join("compose.yaml"), compose_file("hello")).unwrap();

    // --dry-run prints the plan and changes nothing.
    let plan = succeeded(
        "up --dry-run",
        wharf(&swarm, &project, dir.path(), &["--dry-run", "up", "-d"]),
    );
    assert!(
        plan.contains(&format!("create service {project}_db")),
        "{plan}"
    );
    assert!(
        plan.contains(&format!("create network {project}_front")),
        "{plan}"
    );
    assert!(versions(&swarm, &project).is_empty());
    assert!(stack_networks(&swarm, &project).is_empty());

    // up -d: every task runs, spread over the three nodes.
    succeeded("up -d", wharf(&swarm, &project, dir.path(), &["up", "-d"]));
    wait_until(
        "the stack's 7 tasks run",
        RUNNING_LIMIT,
        || running_nodes(&swarm, &project, dir.path()).len() == 7,
        || {
            swarm
                .manager()
                .docker(&["service", "ps", "--no-trunc", &format!("{project}_web")])
        },
    );
    let nodes: BTreeSet<String> = running_nodes(&swarm, &project, dir.path())
        .into_iter()
        .collect();
    let all: BTreeSet<String> = swarm.hostnames().into_iter().collect();
    assert_eq!(nodes, all, "tasks on every node");
    let table = succeeded("ps", wharf(&swarm, &project, dir.path(), &["ps"]));
    let header = table.lines().next().unwrap_or_default();
    let columns: Vec<&str> = header
        .split("   ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(
        columns,
        [
            "NAME",
            "SERVICE",
            "NODE",
            "DESIRED STATE",
            "CURRENT STATE",
            "ERROR"
        ]
    );
    let db = format!("{project}_db.1");
    assert!(
        table
            .lines()
            .any(|l| l.starts_with(&db) && l.contains("running")),
        "{table}"
    );

    // The container keys reach the tasks' spec as the swarm keeps it.
    let format = "{{json .Spec.TaskTemplate.ContainerSpec.Hosts}} \
                  {{json .Spec.TaskTemplate.ContainerSpec.DNSConfig}} \
                  {{json .Spec.TaskTemplate.ContainerSpec.Groups}} \
                  {{json .Spec.TaskTemplate.ContainerSpec.Ulimits}} \
                  {{json .Spec.TaskTemplate.LogDriver}}";
    let web = format!("{project}_web");
    assert_eq!(
        swarm
            .manager()
            .docker(&["service", "inspect", "-f", format, &web]),
        r#"["10.9.8.7 gateway-host"] {"Search":["example.org"],"Options":["ndots:2"]} ["1234"] [{"Name":"nofile","Hard":2048,"Soft":1024}] {"Name":"json-file","Options":{"max-size":"1m"}}"#
    );
    // And into a task's container (six tasks, at most two a node: the manager runs one).
    let on_manager = swarm.manager().docker(&[
        "ps",
        "-q",
        "--filter",
        &format!("label=com.docker.swarm.service.name={web}"),
    ]);
    let task = on_manager
        .lines()
        .next()
        .expect("a web task on the manager");
    let hosts = swarm.manager().docker(&["exec", task, "cat", "/etc/hosts"]);
    assert!(
        hosts
            .lines()
            .any(|l| l.split_whitespace().eq(["10.9.8.7", "gateway-host"])),
        "{hosts}"
    );

    // docker stack sees wharf's project.
    let stacks = swarm
        .manager()
        .docker(&["stack", "ls", "--format", "{{.Name}} {{.Services}}"]);
    assert!(
        stacks.lines().any(|l| l == format!("{project} 2")),
        "{stacks}"
    );
    let services = swarm.manager().docker(&[
        "stack",
        "services",
        &project,
        "--format",
        "{{.Name}} {{.Replicas}}",
    ]);
    assert!(
        services.contains(&format!("{project}_web 6/6")),
        "{services}"
    );

    // An unchanged up plans nothing and updates no service.
    let before = versions(&swarm, &project);
    let plan = succeeded(
        "dry run of the unchanged file",
        wharf(&swarm, &project, dir.path(), &["--dry-run", "up", "-d"]),
    );
    assert!(!plan.lines().any(|l| l.starts_with('#')), "{plan}");
    let started = std::time::Instant::now();
    let again = succeeded(
        "second up -d",
        wharf(&swarm, &project, dir.path(), &["up", "-d"]),
    );
    let took = started.elapsed();
    eprintln!("an unchanged up -d answered in {took:?}");
    // Generous: a hang or a needless wait crosses it, a loaded machine does not.
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert!(
        !again.contains("Updated") && !again.contains("Created"),
        "{again}"
    );
    assert_eq!(versions(&swarm, &project), before);

    // A service scaled behind wharf's back is restored by the next up, and only it.
    swarm
        .manager()
        .docker(&["service", "scale", "--detach", &format!("{project}_web=2")]);
    let drift = succeeded(
        "up -d after a scale",
        wharf(&swarm, &project, dir.path(), &["up", "-d"]),
    );
    assert!(
        drift.contains(&format!("Service {project}_web  Updated")),
        "{drift}"
    );
    let replicas = swarm.manager().docker(&[
        "service",
        "inspect",
        "-f",
        "{{.Spec.Mode.Replicated.Replicas}}",
        &format!("{project}_web"),
    ]);
    assert_eq!(replicas, "6");
    let before = versions(&swarm, &project);

    // One changed service is the only one updated.
    std::fs::write(dir.path().join("compose.yaml"), compose_file("bonjour")).unwrap();
    let plan = succeeded(
        "dry run of the change",
        wharf(&swarm, &project, dir.path(), &["--dry-run", "up", "-d"]),
    );
    assert!(
        plan.contains(&format!(
            "update service {project}_web (TaskTemplate.ContainerSpec.Env)"
        )),
        "{plan}"
    );
    succeeded(
        "changed up -d",
        wharf(&swarm, &project, dir.path(), &["up", "-d"]),
    );
    let after = versions(&swarm, &project);
    let version = |all: &[(String, String)], service: &str| {
        let name = format!("{project}_{service}");
        all.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone())
    };
    assert_eq!(
        version(&after, "db"),
        version(&before, "db"),
        "db is left alone"
    );
    assert_ne!(
        version(&after, "web"),
        version(&before, "web"),
        "web is updated"
    );

    // A mode the swarm cannot change in place: the service is replaced (a new ID), and runs
    // one task per node.
    let web = format!("{project}_web");
    let old_id = swarm
        .manager()
        .docker(&["service", "inspect", "-f", "{{.ID}}", &web]);
    let global = compose_file("bonjour").replace("replicas: 6", "mode: global");
    std::fs::write(dir.path().join("compose.yaml"), global).unwrap();
    let replaced = succeeded(
        "up -d to global",
        wharf(&swarm, &project, dir.path(), &["up", "-d"]),
    );
    assert!(
        replaced.contains(&format!("Service {web}  Recreated")),
        "{replaced}"
    );
    let new_id = swarm
        .manager()
        .docker(&["service", "inspect", "-f", "{{.ID}}", &web]);
    assert_ne!(new_id, old_id);
    wait_until(
        "one web task per node and db run",
        RUNNING_LIMIT,
        || running_nodes(&swarm, &project, dir.path()).len() == 4,
        || {
            swarm
                .manager()
                .docker(&["service", "ps", "--no-trunc", &web])
        },
    );

    // down removes the services and the networks.
    succeeded("down", wharf(&swarm, &project, dir.path(), &["down"]));
    assert!(versions(&swarm, &project).is_empty());
    wait_until(
        "the stack's networks are gone",
        Duration::from_secs(30),
        || stack_networks(&swarm, &project).is_empty(),
        || swarm.manager().docker(&["network", "ls"]),
    );
}

/// A verb the swarm target does not have fails naming itself, whichever way the target is
/// chosen; no engine is needed to say so.
#[test]
fn a_verb_the_swarm_target_lacks_is_refused_by_name() {
    let dir = tempfile::tempdir().expect("a project folder");
    let state = dir.path().join("state");
    let project = unique_project("swarm-verb");
    let mut flag = support::wharf_command(&project, dir.path(), &state);
    flag.args(["--target", "swarm", "top"]);
    let mut variable = support::wharf_command(&project, dir.path(), &state);
    variable.args(["stop"]).env("WHARF_TARGET", "swarm");
    for (mut command, verb) in [(flag, "top"), (variable, "stop")] {
        let out = command.output_within(COMMAND_LIMIT);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success());
        assert!(
            stderr.contains(&format!("`{verb}` is not available with --target swarm")),
            "{stderr}"
        );
    }
}

/// A flag of `up` that the swarm target does not apply is refused, naming it, before anything
/// is read or changed: never dropped silently.
#[test]
fn an_up_flag_the_swarm_target_does_not_apply_is_refused_by_name() {
    let dir = tempfile::tempdir().expect("a project folder");
    let state = dir.path().join("state");
    let project = unique_project("swarm-flag");
    let cases: [(&[&str], &str); 5] = [
        (&["--no-recreate"], "--no-recreate"),
        (&["--pull", "always"], "--pull"),
        (&["-V"], "-V/--renew-anon-volumes"),
        (&["-t", "3"], "-t/--timeout"),
        (&["--watch"], "--watch"),
    ];
    for (flag, named) in cases {
        let mut command = support::wharf_command(&project, dir.path(), &state);
        command.args(["--target", "swarm", "up", "-d"]).args(flag);
        let out = command.output_within(COMMAND_LIMIT);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{flag:?}: {stderr}");
        assert!(
            stderr.contains(&format!("`up` with {named}")),
            "{flag:?}: {stderr}"
        );
    }
}

/// `config` prints the same model on either target (the file is the same file); the keys
/// that only a swarm applies are warned about on the local target only.
#[test]
fn config_prints_the_same_model_with_either_target() {
    let dir = tempfile::tempdir().expect("a project folder");
    let state = dir.path().join("state");
    let project = unique_project("swarm-config");
    std::fs::write(dir.path().join("compose.yaml"), compose_file("hello")).unwrap();
    let config = |target: &str| {
        let mut command = support::wharf_command(&project, dir.path(), &state);
        command.args(["--target", target, "config"]);
        let out = command.output_within(COMMAND_LIMIT);
        let text = |b: &[u8]| String::from_utf8_lossy(b).to_string();
        assert!(out.status.success(), "{}", text(&out.stderr));
        (text(&out.stdout), text(&out.stderr))
    };
    let (local, local_warnings) = config("local");
    let (swarm, swarm_warnings) = config("swarm");
    assert!(local.contains("replicas: 6"), "{local}");
    assert_eq!(swarm, local);
    let swarm_setting = "deploy.placement is not applied: it is a swarm setting";
    assert!(local_warnings.contains(swarm_setting), "{local_warnings}");
    assert!(!swarm_warnings.contains(swarm_setting), "{swarm_warnings}");
}

/// `--no-rollback` is the swarm target's: a local `up` refuses it, naming the target it is
/// for, before it touches any engine.
#[test]
fn no_rollback_is_refused_on_the_local_target() {
    let dir = tempfile::tempdir().expect("a project folder");
    let state = dir.path().join("state");
    let project = unique_project("swarm-no-rollback");
    let mut command = support::wharf_command(&project, dir.path(), &state);
    let out = command
        .args(["up", "-d", "--no-rollback"])
        .output_within(COMMAND_LIMIT);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("--no-rollback is for --target swarm"),
        "{stderr}"
    );
}

/// Interop with `docker stack`, both ways: wharf takes over a stack that `docker stack deploy`
/// made without updating any service, and `wharf down` removes it; `docker stack rm` removes
/// a project wharf deployed. On the same lab, an `up` that cannot converge fails naming the
/// service, the node and the task's error.
#[test]
fn wharf_and_docker_stack_manage_each_others_stacks() {
    let swarm = Swarm::start("swarm-interop", 3);
    let project = unique_project("swarm-interop");
    let dir = tempfile::tempdir().expect("a project folder");
    let file = format!(
        r#"services:
  app:
    image: {BUSYBOX_IMAGE}
    command: [sh, -c, "trap 'exit 0' TERM; sleep 3600 & wait"]
    environment: [B=2, A=1]
    labels: [tier=app]
    networks: [inner]
    deploy:
      replicas: 3
      endpoint_mode: dnsrr
      labels: [owner=ops]
      restart_policy: {{condition: on-failure}}
networks:
  inner: {{}}
"#
    );
    std::fs::write(dir.path().join("compose.yaml"), &file).unwrap();
    let compose = dir.path().join("compose.yaml");
    let compose = compose.to_str().expect("a UTF-8 path");
    swarm.manager().docker(&[
        "stack",
        "deploy",
        "--resolve-image",
        "never",
        "-c",
        compose,
        &project,
    ]);
    let deployed = versions(&swarm, &project);
    assert_eq!(deployed.len(), 1);

    let plan = succeeded(
        "dry run over stack deploy's stack",
        wharf(&swarm, &project, dir.path(), &["--dry-run", "up", "-d"]),
    );
    assert!(!plan.lines().any(|l| l.starts_with('#')), "{plan}");
    succeeded(
        "up -d over stack deploy's stack",
        wharf(&swarm, &project, dir.path(), &["up", "-d"]),
    );
    assert_eq!(versions(&swarm, &project), deployed, "no service updated");
    succeeded(
        "down of stack deploy's stack",
        wharf(&swarm, &project, dir.path(), &["down"]),
    );
    assert!(versions(&swarm, &project).is_empty());
    wait_until(
        "stack deploy's network is gone",
        Duration::from_secs(30),
        || stack_networks(&swarm, &project).is_empty(),
        || swarm.manager().docker(&["network", "ls"]),
    );

    let other = unique_project("swarm-interop-rm");
    succeeded("up -d", wharf(&swarm, &other, dir.path(), &["up", "-d"]));
    assert_eq!(versions(&swarm, &other).len(), 1);
    swarm.manager().docker(&["stack", "rm", &other]);
    assert!(versions(&swarm, &other).is_empty());
    wait_until(
        "wharf's network is gone after docker stack rm",
        Duration::from_secs(30),
        || stack_networks(&swarm, &other).is_empty(),
        || swarm.manager().docker(&["network", "ls"]),
    );

    let broken = unique_project("swarm-broken");
    let failing = format!(
        "services:\n  crash:\n    image: {BUSYBOX_IMAGE}\n    command: [sh, -c, 'exit 3']\n"
    );
    std::fs::write(dir.path().join("compose.yaml"), &failing).unwrap();
    let out = wharf(
        &swarm,
        &broken,
        dir.path(),
        &["up", "--wait", "--wait-timeout", "20"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("stack {broken} did not converge within 20s")),
        "{stderr}"
    );
    let named = format!("service crash: 0 of 1 tasks running; task {broken}_crash.1 on node wt-");
    assert!(stderr.contains(&named), "{stderr}");
    assert!(stderr.contains("task: non-zero exit (3)"), "{stderr}");

    // With a restart policy that replaces no task, up fails as soon as the task has failed,
    // not at the time limit.
    let given_up = format!("{failing}    deploy: {{restart_policy: {{condition: none}}}}\n");
    std::fs::write(dir.path().join("compose.yaml"), given_up).unwrap();
    let started = Instant::now();
    let out = wharf(
        &swarm,
        &broken,
        dir.path(),
        &["up", "--wait", "--wait-timeout", "300"],
    );
    let took = started.elapsed();
    eprintln!("up with a task ended for good failed in {took:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(took < Duration::from_secs(120), "{took:?}: {stderr}");
    assert!(
        stderr.contains(&format!("stack {broken} cannot converge")),
        "{stderr}"
    );
    let named = format!("service crash: task {broken}_crash.1 on node wt-");
    assert!(stderr.contains(&named), "{stderr}");
    assert!(
        stderr.contains("its restart policy (condition none) replaces no task"),
        "{stderr}"
    );
    succeeded("down", wharf(&swarm, &broken, dir.path(), &["down"]));
}

/// A service whose two tasks, one per node, count: `line 1`, `line 2`, … one a second.
fn counting_file() -> String {
    format!(
        r#"services:
  web:
    image: {BUSYBOX_IMAGE}
    command: [sh, -c, "trap 'exit 0' TERM; i=0; while true; do i=$$((i+1)); echo line $$i; sleep 1; done"]
    deploy:
      replicas: 2
      endpoint_mode: dnsrr
      placement: {{max_replicas_per_node: 1}}
"#
    )
}

/// The number a `web-N  | line K` line ends with.
fn counted(line: &str) -> Option<u64> {
    line.rsplit_once("line ")?.1.trim().parse().ok()
}

/// `logs` on a real 2-node swarm: both tasks' lines under compose's replica names, merged in
/// the engine's time (`-t` shows it), `--tail 1` one line per task, and `-f` printing a line
/// written after it started and those of the tasks a forced update starts, then ending when
/// `down` removed the service.
#[test]
fn logs_merge_the_tasks_lines_in_time_tail_each_task_and_follow_until_down() {
    let swarm = Swarm::start("swarm-logs", 2);
    let project = unique_project("swarm-logs");
    let dir = tempfile::tempdir().expect("a project folder");
    std::fs::write(dir.path().join("compose.yaml"), counting_file()).unwrap();
    succeeded("up", wharf(&swarm, &project, dir.path(), &["up", "-d"]));
    let nodes: BTreeSet<String> = running_nodes(&swarm, &project, dir.path())
        .into_iter()
        .collect();
    assert_eq!(nodes.len(), 2, "one task on each node: {nodes:?}");

    let logs = |args: &[&str]| {
        let mut all = vec!["logs", "--no-color"];
        all.extend(args);
        // Only stdout: stderr has the loader's warnings.
        let out = wharf(&swarm, &project, dir.path(), &all);
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        succeeded("logs", out);
        stdout
    };
    wait_until(
        "both tasks printed 3 lines",
        RUNNING_LIMIT,
        || {
            let out = logs(&[]);
            ["web-1  | line 3", "web-2  | line 3"]
                .iter()
                .all(|l| out.contains(l))
        },
        || logs(&[]),
    );

    // -t: every line is the engine's time then the task's; the times never go back.
    let out = logs(&["-t", "web"]);
    let mut times = Vec::new();
    for line in out.lines() {
        let Some((prefix, rest)) = line.split_once(" | ") else {
            panic!("a line without a prefix:\n{out}");
        };
        assert!(["web-1 ", "web-2 "].contains(&prefix), "{out}");
        let (time, text) = rest.split_once(' ').expect("a time and a text");
        assert!(text.starts_with("line "), "{out}");
        times.push(support::seconds_of_day(time));
    }
    assert!(
        times.windows(2).all(|t| t[0] <= t[1]),
        "not in time order:\n{out}"
    );

    // --tail 1: the last line of each task.
    let out = logs(&["--tail", "1"]);
    let last: Vec<&str> = out.lines().collect();
    assert_eq!(last.len(), 2, "{out}");
    assert!(
        last.iter().any(|l| l.starts_with("web-1  | line ")),
        "{out}"
    );
    assert!(
        last.iter().any(|l| l.starts_with("web-2  | line ")),
        "{out}"
    );
    let newest = last
        .iter()
        .filter_map(|l| counted(l))
        .max()
        .expect("numbers");

    // -f prints what the tasks write after it started, and ends once the service is gone.
    let state = dir.path().join("state");
    let mut follow = support::wharf_command(&project, dir.path(), &state);
    let mut child = follow
        .args([
            "--target",
            "swarm",
            "logs",
            "-f",
            "--tail",
            "0",
            "--no-color",
        ])
        .env("DOCKER_HOST", swarm.docker_host())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("logs -f starts");
    let (sender, lines) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().expect("its stdout");
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let _ = sender.send(line);
        }
    });
    let newer = loop {
        let line = lines
            .recv_timeout(Duration::from_secs(30))
            .expect("logs -f printed a new line within 30 s");
        if counted(&line).is_some_and(|n| n > newest) {
            break line;
        }
    };
    assert!(newer.starts_with("web-"), "{newer}");
    // A task that replaces one is followed too, under the same name: its count starts again.
    let service = format!("{project}_web");
    swarm
        .manager()
        .docker(&["service", "update", "--force", "--detach", &service]);
    let restarted = loop {
        let line = lines
            .recv_timeout(RUNNING_LIMIT)
            .expect("logs -f printed a replacing task's first line");
        if counted(&line) == Some(1) {
            break line;
        }
    };
    assert!(restarted.starts_with("web-"), "{restarted}");
    succeeded("down", wharf(&swarm, &project, dir.path(), &["down"]));
    let down = std::time::Instant::now();
    let status = wait_within(&mut child, Duration::from_secs(30));
    assert!(status.success(), "logs -f after down: {status}");
    eprintln!("logs -f ended {:?} after down", down.elapsed());
}

/// A compose file whose one task prints its secret (from a file), its config (from
/// `content`) and its mounts into its log, with a named volume and a tmpfs mounted; its task
/// runs on the manager, the node wharf talks to, so that its volume is there.
fn files_compose_file() -> String {
    format!(
        r#"services:
  app:
    image: {BUSYBOX_IMAGE}
    command: [sh, -c, "echo token=$$(cat /run/secrets/token); echo settings=$$(cat /etc/app.conf); grep -E ' /(data|scratch) ' /proc/mounts | sed 's/^/mount=/'; trap 'exit 0' TERM; sleep 3600 & wait"]
    secrets: [token]
    configs: [{{source: settings, target: /etc/app.conf, mode: 0440}}]
    volumes:
      - data:/data
      - {{type: tmpfs, target: /scratch, tmpfs: {{size: 1m}}}}
    deploy:
      endpoint_mode: dnsrr
      update_config: {{order: stop-first}}
      placement: {{constraints: [node.role == manager]}}
secrets:
  token: {{file: ./token.txt}}
configs:
  settings: {{content: "level=debug"}}
volumes:
  data: {{labels: [kept=yes]}}
"#
    )
}

/// The stack's secrets (`kind` "secret") or configs ("config"), by name.
fn stack_files(swarm: &Swarm, project: &str, kind: &str) -> Vec<String> {
    let filter = format!("label=com.docker.stack.namespace={project}");
    let names = swarm
        .manager()
        .docker(&[kind, "ls", "--filter", &filter, "--format", "{{.Name}}"]);
    names.lines().map(str::to_string).collect()
}

/// A secret from a file and a config from `content` are readable in a task, a volume and a
/// tmpfs are mounted; a changed secret is a new version rolled into the service, the old one
/// removed; `down` removes the secrets and configs but leaves the volume on its node, `down -v`
/// removes it there.
#[test]
fn secrets_and_configs_reach_the_task_and_a_changed_secret_is_rotated() {
    let swarm = Swarm::start("swarm-files", 3);
    let project = unique_project("swarm-files");
    let dir = tempfile::tempdir().expect("a project folder");
    std::fs::write(dir.path().join("compose.yaml"), files_compose_file()).unwrap();
    std::fs::write(dir.path().join("token.txt"), "first-token").unwrap();
    let service = format!("{project}_app");
    let logs = || {
        swarm
            .manager()
            .docker(&["service", "logs", "--raw", &service])
    };

    succeeded("up -d", wharf(&swarm, &project, dir.path(), &["up", "-d"]));
    wait_until(
        "the task printed its files",
        RUNNING_LIMIT,
        || logs().contains("settings="),
        logs,
    );
    let printed = logs();
    assert!(printed.contains("token=first-token"), "{printed}");
    assert!(printed.contains("settings=level=debug"), "{printed}");
    assert!(
        printed.contains("mount=") && printed.contains(" /data "),
        "{printed}"
    );
    assert!(printed.contains(" /scratch tmpfs "), "{printed}");
    let deployed = versions(&swarm, &project);
    let plan = succeeded(
        "dry run of the unchanged file",
        wharf(&swarm, &project, dir.path(), &["--dry-run", "up", "-d"]),
    );
    assert!(!plan.lines().any(|l| l.starts_with('#')), "{plan}");
    succeeded(
        "unchanged up -d",
        wharf(&swarm, &project, dir.path(), &["up", "-d"]),
    );
    assert_eq!(
        versions(&swarm, &project),
        deployed,
        "the mounts and files read back as sent"
    );
    let first = stack_files(&swarm, &project, "secret");
    assert_eq!(first.len(), 1, "{first:?}");
    assert!(
        first[0].starts_with(&format!("{project}_token_")),
        "{first:?}"
    );

    std::fs::write(dir.path().join("token.txt"), "second-token").unwrap();
    let out = succeeded(
        "up -d after the secret changed",
        wharf(&swarm, &project, dir.path(), &["up", "-d"]),
    );
    assert!(
        out.contains(&format!("Secret {}  Removed", first[0])),
        "{out}"
    );
    wait_until(
        "the new task printed the new secret",
        RUNNING_LIMIT,
        || logs().contains("token=second-token"),
        logs,
    );
    let second = stack_files(&swarm, &project, "secret");
    assert_eq!(second.len(), 1, "the old version is removed: {second:?}");
    assert_ne!(second, first);

    succeeded("down", wharf(&swarm, &project, dir.path(), &["down"]));
    assert!(stack_files(&swarm, &project, "secret").is_empty());
    let volume = format!("{project}_data");
    let holders = || {
        swarm
            .lab
            .nodes()
            .iter()
            .filter(|node| {
                node.docker(&["volume", "ls", "-q"])
                    .lines()
                    .any(|v| v == volume)
            })
            .count()
    };
    assert_eq!(
        holders(),
        1,
        "down without -v keeps the volume on the manager"
    );

    // `down -v` removes it on the node wharf talks to, where the tasks ran.
    let out = succeeded(
        "down -v",
        wharf(&swarm, &project, dir.path(), &["down", "-v"]),
    );
    assert!(out.contains(&format!("Volume {volume}  Removed")), "{out}");
    assert_eq!(holders(), 0, "down -v removed the volume");
}

/// A database that turns healthy 4 s after it starts, a job that migrates, and a web service
/// that waits for both (`depends_on` with conditions), with the deploy settings that
/// `settings` adds to web; `round` is in db's and web's environment, `web_exit` and
/// `migrate_exit`, when set, make them exit with that status.
fn dependent_file(round: u32, settings: &str, web_exit: Option<u32>, migrate_exit: u32) -> String {
    let web_command = match web_exit {
        Some(status) => format!("exit {status}"),
        None => "trap 'exit 0' TERM; sleep 3600 & wait".to_string(),
    };
    format!(
        r#"services:
  db:
    image: {BUSYBOX_IMAGE}
    command: [sh, -c, "trap 'exit 0' TERM; sleep 4; touch /tmp/ready; sleep 3600 & wait"]
    environment: [ROUND={round}]
    configs: [round]
    healthcheck: {{test: [CMD, test, -f, /tmp/ready], interval: 1s, retries: 60}}
    deploy: {{endpoint_mode: dnsrr}}
  migrate:
    image: {BUSYBOX_IMAGE}
    command: [sh, -c, "sleep 2; exit {migrate_exit}"]
    deploy: {{mode: replicated-job, endpoint_mode: dnsrr}}
  web:
    image: {BUSYBOX_IMAGE}
    command: [sh, -c, "{web_command}"]
    environment: [ROUND={round}]
    depends_on:
      db: {{condition: service_healthy}}
      migrate: {{condition: service_completed_successfully}}
    deploy:
      endpoint_mode: dnsrr{settings}
configs:
  round: {{content: "round {round}"}}
"#
    )
}

/// Deploy settings that a later file removes.
const WEB_SETTINGS: &str = "
      update_config: {parallelism: 1, delay: 1s}
      placement: {max_replicas_per_node: 1}
      restart_policy: {condition: on-failure, delay: 1s}";

/// `docker [service] inspect -f '{{json FIELD}}'` of a swarm object on the manager (`verb`
/// is `service inspect` or `inspect`), a time in seconds of the day.
fn time_of(swarm: &Swarm, verb: &[&str], id: &str, field: &str) -> f64 {
    let format = format!("{{{{json {field}}}}}");
    let mut args = verb.to_vec();
    args.extend(["-f", &format, id]);
    let json = swarm.manager().docker(&args);
    support::seconds_of_day(json.trim_matches('"'))
}

/// When the service's task that is in `state` reached it.
fn task_reached(swarm: &Swarm, service: &str, state: &str) -> f64 {
    let ids = swarm
        .manager()
        .docker(&["service", "ps", "-q", "--no-trunc", service]);
    let task = ids
        .lines()
        .find(|id| {
            swarm
                .manager()
                .docker(&["inspect", "-f", "{{.Status.State}}", id])
                == state
        })
        .unwrap_or_else(|| panic!("no {state} task of {service}: {ids}"));
    time_of(swarm, &["inspect"], task, ".Status.Timestamp")
}

/// A service's environment and command, as the swarm holds them.
fn env_and_args(swarm: &Swarm, service: &str) -> String {
    let format = "{{json .Spec.TaskTemplate.ContainerSpec.Env}} {{json .Spec.TaskTemplate.ContainerSpec.Args}}";
    swarm
        .manager()
        .docker(&["service", "inspect", "-f", format, service])
}

/// The line of `out` that contains `text`, by its index.
fn line_of(out: &str, text: &str) -> usize {
    out.lines()
        .position(|l| l.contains(text))
        .unwrap_or_else(|| panic!("no line with {text:?} in:\n{out}"))
}

/// `depends_on` with its conditions, settings removed from the file, and the stack-level
/// rollback, on one cluster: web is created only once db is healthy and the migrate job has
/// completed, with progress lines while `up` waits; removing web's deploy settings updates it
/// back to swarm's defaults; an `up` that changes db and web and whose web never converges
/// rolls both back (`--no-rollback` keeps both changed); a job that fails stops `up` before
/// its dependent, naming the job, its node and its error.
#[test]
fn dependencies_are_waited_for_and_a_failed_up_rolls_back_every_service_it_changed() {
    let swarm = Swarm::start("swarm-deps", 3);
    let project = unique_project("swarm-deps");
    let dir = tempfile::tempdir().expect("a project folder");
    let write = |text: String| std::fs::write(dir.path().join("compose.yaml"), text).unwrap();
    let (db, migrate, web) = (
        format!("{project}_db"),
        format!("{project}_migrate"),
        format!("{project}_web"),
    );
    let up = |args: &[&str]| {
        let mut all = vec!["up", "--wait"];
        all.extend(args);
        wharf(&swarm, &project, dir.path(), &all)
    };

    // 1. web is created after db is healthy and migrate has completed; up shows it waiting.
    write(dependent_file(1, WEB_SETTINGS, None, 0));
    let out = succeeded("up", up(&[]));
    eprintln!("{out}");
    let healthy = line_of(&out, &format!("Service {db}  Healthy"));
    let completed = line_of(&out, &format!("Service {migrate}  Completed"));
    let created = line_of(&out, &format!("Service {web}  Created"));
    assert!(
        line_of(&out, &format!("Service {db}  Waiting")) < healthy,
        "{out}"
    );
    assert!(healthy < created && completed < created, "{out}");
    assert!(out.contains("Service web  Running 1/1"), "{out}");
    let web_created = time_of(&swarm, &["service", "inspect"], &web, ".CreatedAt");
    let db_healthy = task_reached(&swarm, &db, "running");
    let migrated = task_reached(&swarm, &migrate, "complete");
    eprintln!(
        "db healthy at {db_healthy:.2}, migrate complete at {migrated:.2}, web created at {web_created:.2}"
    );
    assert!(
        db_healthy <= web_created,
        "web created before db was healthy"
    );
    assert!(
        migrated <= web_created,
        "web created before migrate completed"
    );

    // 2. Settings removed from the file take web back to swarm's defaults, once.
    write(dependent_file(1, "", None, 0));
    let plan = succeeded(
        "dry run without the settings",
        wharf(&swarm, &project, dir.path(), &["--dry-run", "up", "-d"]),
    );
    assert!(
        plan.contains(&format!(
            "update service {web} (TaskTemplate.Placement, TaskTemplate.RestartPolicy, UpdateConfig)"
        )),
        "{plan}"
    );
    succeeded("up without the settings", up(&[]));
    let plan = succeeded(
        "dry run after",
        wharf(&swarm, &project, dir.path(), &["--dry-run", "up", "-d"]),
    );
    assert!(!plan.lines().any(|l| l.starts_with('#')), "{plan}");
    let (db_before, web_before) = (env_and_args(&swarm, &db), env_and_args(&swarm, &web));
    let configs_before = stack_files(&swarm, &project, "config");
    assert_eq!(configs_before.len(), 1, "{configs_before:?}");

    // 3. db and web change, web never converges: up fails naming it, and both are rolled back.
    write(dependent_file(2, "", Some(1), 0));
    let out = up(&["--wait-timeout", "40"]);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    eprintln!("{stderr}");
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("did not converge within 40s"), "{stderr}");
    assert!(
        stderr.contains("service web: 0 of 1 tasks running; task "),
        "{stderr}"
    );
    assert!(stderr.contains("task: non-zero exit (1)"), "{stderr}");
    assert!(
        stderr.contains(&format!("Service {db}  Rolled back")),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("Service {web}  Rolled back")),
        "{stderr}"
    );
    assert_eq!(env_and_args(&swarm, &db), db_before);
    assert_eq!(env_and_args(&swarm, &web), web_before);
    assert_eq!(
        stack_files(&swarm, &project, "config"),
        configs_before,
        "the config version this up created is removed with it"
    );

    // 4. The same with --no-rollback: both keep the new spec.
    let out = up(&["--wait-timeout", "40", "--no-rollback"]);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("did not converge within 40s"), "{stderr}");
    assert!(!stderr.contains("Rolled back"), "{stderr}");
    assert!(env_and_args(&swarm, &db).contains("ROUND=2"), "{stderr}");
    let web_failing = env_and_args(&swarm, &web);
    assert!(web_failing.contains("exit 1"), "{web_failing}\n{stderr}");

    // 5. A job that fails: up stops before web, naming the job, its node and its error.
    let web_version = versions(&swarm, &project);
    write(dependent_file(2, "", None, 3));
    let out = up(&["--wait-timeout", "60"]);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!out.status.success(), "{stderr}");
    let named = format!("service migrate: task {migrate}.");
    assert!(stderr.contains(&named), "{stderr}");
    assert!(stderr.contains(" on node wt-"), "{stderr}");
    assert!(stderr.contains("task: non-zero exit (3)"), "{stderr}");
    assert!(stderr.contains(&format!("not deployed: {web}")), "{stderr}");
    assert_eq!(
        env_and_args(&swarm, &web),
        web_failing,
        "web is not deployed"
    );
    let version =
        |all: &[(String, String)]| all.iter().find(|(n, _)| *n == web).map(|(_, v)| v.clone());
    assert_eq!(version(&versions(&swarm, &project)), version(&web_version));
    assert!(
        env_and_args(&swarm, &migrate).contains("exit 0"),
        "migrate is rolled back"
    );
    succeeded("down", wharf(&swarm, &project, dir.path(), &["down"]));
}
