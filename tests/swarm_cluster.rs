//! `--target swarm` across the nodes of a real 3-node Docker Swarm (`support::swarm`), with a
//! registry beside them (`support::lab_registry`): an image built and pushed by `up --build`
//! and run by digest on every node, traffic between tasks on different nodes over the
//! project's overlay network, and a worker node lost. One lab serves the three, in that order
//! (the lost node goes last). This host has no IPVS: `endpoint_mode: dnsrr` and `tasks.<svc>`.

mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use support::lab_registry::LabRegistry;
use support::swarm::Swarm;
use support::{
    BUSYBOX_IMAGE, COMMAND_LIMIT, OutputWithin, all_output, busybox_image, succeeded,
    unique_project, wait_until,
};

/// How long tasks may take to run again elsewhere once their node is gone (the swarm marks a
/// node down after ~15 s and reschedules after ~22 s on this kind of host).
const RESCHEDULE_LIMIT: Duration = Duration::from_secs(120);
/// How long the client may take to have fetched the server's page by both names.
const TRAFFIC_LIMIT: Duration = Duration::from_secs(60);

/// `web` is built and pushed (one task on every node); `server` (on node 2) serves its node's
/// hostname, which `client` (on node 3) fetches by the service's name and by `tasks.server`;
/// `spread` has a task on every node to be rescheduled.
fn compose_file(image: &str, server_node: &str, client_node: &str) -> String {
    format!(
        r#"services:
  web:
    build: .
    image: {image}
    deploy: {{mode: global, endpoint_mode: dnsrr}}
  server:
    image: {BUSYBOX_IMAGE}
    hostname: "{{{{.Node.Hostname}}}}"
    command: [sh, -c, "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www"]
    deploy:
      endpoint_mode: dnsrr
      placement: {{constraints: [node.hostname == {server_node}]}}
  client:
    image: {BUSYBOX_IMAGE}
    command:
      - sh
      - -c
      - |
        trap 'exit 0' TERM
        while true; do
          echo "by-name $$(timeout 5 wget -qO- http://server:8080/)"
          echo "by-tasks $$(timeout 5 wget -qO- http://tasks.server:8080/)"
          sleep 1 & wait
        done
    deploy:
      endpoint_mode: dnsrr
      placement: {{constraints: [node.hostname == {client_node}]}}
  spread:
    image: {BUSYBOX_IMAGE}
    command: [sh, -c, "trap 'exit 0' TERM; sleep 3600 & wait"]
    deploy: {{replicas: 3, endpoint_mode: dnsrr}}
"#
    )
}

/// The image `web` builds: an httpd serving a page the build wrote.
fn dockerfile() -> String {
    format!(
        "FROM {}\nRUN mkdir /www && echo built-by-wharf > /www/index.html\n\
         CMD [\"httpd\", \"-f\", \"-p\", \"8080\", \"-h\", \"/www\"]\n",
        busybox_image()
    )
}

/// `wharf ps --format json`'s rows of `service`.
fn tasks(swarm: &Swarm, project: &str, dir: &Path, service: &str) -> Vec<serde_json::Value> {
    let out = succeeded("ps", swarm.wharf(project, dir, &["ps", "--format", "json"]));
    out.lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|task| task["Service"] == service)
        .collect()
}

fn running(task: &serde_json::Value) -> bool {
    task["State"] == "running" && task["DesiredState"] == "running"
}

fn field(task: &serde_json::Value, key: &str) -> String {
    task[key].as_str().unwrap_or_default().to_string()
}

#[test]
fn a_built_image_runs_by_digest_on_every_node_tasks_talk_across_nodes_and_a_lost_worker_is_survived()
 {
    let swarm = Swarm::start("swarm-cluster", 3);
    let registry = LabRegistry::start(&swarm.lab);
    let project = unique_project("swarm-cluster");
    let dir = tempfile::tempdir().expect("a project folder");
    let nodes = swarm.hostnames();
    let image = format!("{}/{project}-web:1", registry.address);
    std::fs::write(
        dir.path().join("compose.yaml"),
        compose_file(&image, &nodes[1], &nodes[2]),
    )
    .unwrap();
    std::fs::write(dir.path().join("Dockerfile"), dockerfile()).unwrap();

    // --dry-run tells the build and builds nothing.
    let plan = succeeded(
        "up --build --dry-run",
        swarm.wharf(&project, dir.path(), &["--dry-run", "up", "-d", "--build"]),
    );
    assert!(
        plan.contains(&format!("Image {image}  Would be built and pushed")),
        "{plan}"
    );
    let mut inspect = swarm
        .manager()
        .docker_command(&["image", "inspect", &image]);
    let found = inspect.output_within(COMMAND_LIMIT).status.success();
    assert!(!found, "a dry run built {image}: {plan}");

    // Built on the manager, pushed, and deployed by the digest the registry holds.
    let out = succeeded(
        "up --build",
        swarm.wharf(&project, dir.path(), &["up", "-d", "--build"]),
    );
    assert!(out.contains(&format!("Image {image}  Built")), "{out}");
    assert!(out.contains(&format!("Image {image}  Pushed")), "{out}");
    let web = tasks(&swarm, &project, dir.path(), "web");
    let running_web: Vec<_> = web.iter().filter(|t| running(t)).collect();
    let on: BTreeSet<String> = running_web.iter().map(|t| field(t, "Node")).collect();
    let all: BTreeSet<String> = nodes.iter().cloned().collect();
    assert_eq!(on, all, "a web task on every node: {web:#?}");
    let pinned: BTreeSet<String> = running_web.iter().map(|t| field(t, "Image")).collect();
    assert_eq!(pinned.len(), 1, "one image for every task: {pinned:?}");
    let pinned = pinned.into_iter().next().unwrap();
    assert!(
        pinned.starts_with(&format!("{image}@sha256:")),
        "deployed by digest: {pinned}"
    );
    assert!(out.contains(&format!("Image {pinned}  Pinned")), "{out}");
    // Every node runs the very image the manager built (an image's ID is its config's digest).
    let built = swarm
        .manager()
        .docker(&["image", "inspect", "-f", "{{.Id}}", &image]);
    let service_filter = format!("label=com.docker.swarm.service.name={project}_web");
    for node in swarm.lab.nodes() {
        let container = node.docker(&["ps", "-q", "--filter", &service_filter]);
        let run = node.docker(&["inspect", "-f", "{{.Image}}", &container]);
        assert_eq!(run, built, "the image web runs on {}", node.container);
    }

    // Without --build the registry's image is deployed by the same digest: nothing to do.
    let again = succeeded("up", swarm.wharf(&project, dir.path(), &["up", "-d"]));
    assert!(!again.contains("Built"), "{again}");
    assert!(
        again.contains(&format!("Image {pinned}  Pinned")),
        "{again}"
    );
    assert!(!again.contains("Updated"), "an unchanged stack: {again}");

    // The client on node 3 reaches the server on node 2 over the overlay network, by the
    // service's name and by tasks.server.
    let placed = |service: &str| {
        let rows = tasks(&swarm, &project, dir.path(), service);
        rows.iter()
            .filter(|t| running(t))
            .map(|t| field(t, "Node"))
            .collect::<Vec<_>>()
    };
    assert_eq!(placed("server"), [nodes[1].clone()]);
    assert_eq!(placed("client"), [nodes[2].clone()]);
    let client_logs = || all_output(&swarm.wharf(&project, dir.path(), &["logs", "client"]));
    wait_until(
        "the client fetched the server's page by name and by tasks.server",
        TRAFFIC_LIMIT,
        || {
            let logs = client_logs();
            logs.contains(&format!("by-name {}", nodes[1]))
                && logs.contains(&format!("by-tasks {}", nodes[1]))
        },
        client_logs,
    );

    // Node 3 is lost: its spread task runs again on the others, and ps still answers, with the
    // task of the lost node not running.
    let spread_nodes = placed("spread");
    assert!(
        spread_nodes.contains(&nodes[2]),
        "a spread task on node 3: {spread_nodes:?}"
    );
    swarm.lab.node(3).kill();
    let spread = || tasks(&swarm, &project, dir.path(), "spread");
    wait_until(
        "the spread tasks of the lost node run on the others",
        RESCHEDULE_LIMIT,
        || {
            let rows = spread();
            let elsewhere = rows.iter().filter(|t| running(t) && t["Node"] != nodes[2]);
            elsewhere.count() == 3
        },
        || format!("{:#?}", spread()),
    );
    let lost: Vec<_> = spread()
        .into_iter()
        .filter(|t| t["Node"] == nodes[2])
        .collect();
    assert!(!lost.is_empty(), "ps shows the lost node's task");
    for task in &lost {
        assert_eq!(task["State"], "unknown", "{task:#}");
        let down = format!("node {} is down", nodes[2]);
        assert!(field(task, "Error").starts_with(&down), "{task:#}");
    }
    let table = succeeded("ps", swarm.wharf(&project, dir.path(), &["ps"]));
    assert!(table.contains(&nodes[2]), "{table}");
}

/// A service to build whose image names no registry cannot reach the nodes: refused before
/// anything is built or deployed, at the image's line, with the fix (no swarm needed).
#[test]
fn a_build_without_a_registry_in_its_image_is_refused_with_the_fix() {
    let project = unique_project("swarm-noreg");
    let dir = tempfile::tempdir().expect("a project folder");
    std::fs::write(
        dir.path().join("compose.yaml"),
        format!("services:\n  web:\n    build: .\n    image: {project}-web:1\n"),
    )
    .unwrap();
    let state = dir.path().join("state");
    let out = support::wharf_command(&project, dir.path(), &state)
        .args(["--target", "swarm", "up", "-d", "--build"])
        .output()
        .expect("wharf runs");
    let said = all_output(&out);
    assert!(!out.status.success(), "{said}");
    assert!(
        said.contains("compose.yaml:4:5: service web needs a build"),
        "{said}"
    );
    assert!(
        said.contains(&format!("`image: localhost:5000/{project}-web:1`")),
        "{said}"
    );
}

/// The docker CLI's configuration as `docker login` leaves it without a credentials store:
/// `user` logged in to `registry`.
fn logged_in(registry: &str, user: &str, password: &str) -> tempfile::TempDir {
    use base64::Engine as _;
    let dir = tempfile::tempdir().unwrap();
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    let config = format!(r#"{{"auths": {{"{registry}": {{"auth": "{auth}"}}}}}}"#);
    std::fs::write(dir.path().join("config.json"), config).unwrap();
    dir
}

/// A registry behind htpasswd beside a 2-node swarm. Without credentials, `up --build` is
/// refused at the push, naming the image and `docker login`. `web` first runs a public image,
/// deployed without credentials; with the CLI's credentials (`DOCKER_CONFIG`), it is then
/// changed to a private image built and pushed with them, and updated with them, while `copy`,
/// new, is created with them (`X-Registry-Auth`, as `docker stack deploy
/// --with-registry-auth`): the worker, which has no login of its own, pulls the private image
/// for both. (An update without credentials would leave `web` with none: the worker could not
/// pull.)
#[test]
fn a_private_image_is_pushed_and_pulled_by_every_node_with_the_clis_credentials() {
    let swarm = Swarm::start("swarm-auth", 2);
    let (user, password) = ("alice", "s3cret-pw");
    let registry = LabRegistry::private(&swarm.lab, &[(user, password)]);
    let project = unique_project("swarm-auth");
    let dir = tempfile::tempdir().expect("a project folder");
    let image = format!("{}/{project}-web:1", registry.address);
    let write = |compose: &str| std::fs::write(dir.path().join("compose.yaml"), compose).unwrap();
    let global = "deploy: {mode: global, endpoint_mode: dnsrr}";
    let private = format!(
        "services:\n  web:\n    build: .\n    image: {image}\n    {global}\n  \
         copy:\n    image: {image}\n    {global}\n"
    );
    std::fs::write(dir.path().join("Dockerfile"), dockerfile()).unwrap();
    let anonymous = tempfile::tempdir().unwrap();
    let alice = logged_in(&registry.address, user, password);
    let up = |config: &Path, args: &[&str]| {
        swarm
            .wharf_command(&project, dir.path())
            .arg("up")
            .args(args)
            .env("DOCKER_CONFIG", config)
            .output_within(COMMAND_LIMIT)
    };
    let all: BTreeSet<String> = swarm.hostnames().into_iter().collect();
    // The images `service`'s running tasks run, once it runs one on every node.
    let runs_everywhere = |service: &str| -> Option<BTreeSet<String>> {
        let web = tasks(&swarm, &project, dir.path(), service);
        let running: Vec<_> = web.iter().filter(|t| running(t)).collect();
        let nodes: BTreeSet<String> = running.iter().map(|t| field(t, "Node")).collect();
        (nodes == all).then(|| running.iter().map(|t| field(t, "Image")).collect())
    };
    let tasks_of = |service: &str| format!("{:#?}", tasks(&swarm, &project, dir.path(), service));

    write(&private);
    let refused = up(anonymous.path(), &["-d", "--build"]);
    let said = all_output(&refused);
    assert!(!refused.status.success(), "{said}");
    assert!(
        said.contains(&format!("cannot push image {image}")),
        "{said}"
    );
    let login = format!("log in with `docker login {}`", registry.address);
    assert!(said.contains(&login), "{said}");

    // A public image, deployed without credentials.
    write(&format!(
        "services:\n  web:\n    image: {BUSYBOX_IMAGE}\n    command: [sleep, '3600']\n    {global}\n"
    ));
    succeeded("up of a public image", up(anonymous.path(), &["-d"]));
    wait_until(
        "web runs on every node",
        TRAFFIC_LIMIT,
        || runs_everywhere("web").is_some(),
        || tasks_of("web"),
    );

    write(&private);
    let out = succeeded(
        "up --build with credentials",
        up(alice.path(), &["-d", "--build"]),
    );
    assert!(out.contains(&format!("Image {image}  Pushed")), "{out}");
    // (`up -d` may return before a global service's task runs on every node.)
    for service in ["web", "copy"] {
        wait_until(
            &format!("{service} runs the private image on every node"),
            TRAFFIC_LIMIT,
            || {
                runs_everywhere(service)
                    .is_some_and(|images| images.iter().all(|i| i.starts_with(&image)))
            },
            || tasks_of(service),
        );
    }
    // The worker has no login: it pulled with the credentials the services carry.
    let worker = &swarm.lab.nodes()[1];
    let repository = image.strip_suffix(":1").unwrap();
    let pulled = worker.docker(&["image", "ls", "-q", repository]);
    assert!(!pulled.is_empty(), "the worker holds the image");
}
