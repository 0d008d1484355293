//! wharf's DNS against the real engine: an attached `wharf up` runs the supervisor and its
//! DNS on the project network's gateway; a client container asks through Docker's resolver,
//! and the test process asks the loopback listener (`WHARF_DNS_LISTEN`) directly. There is
//! no internet here: names outside the project are forwarded to a fake upstream on loopback
//! (`WHARF_DNS_UPSTREAM`).

mod support;

use std::collections::{BTreeMap, HashSet};
use std::net::{SocketAddr, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, OpCode, Query};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{Name, RData, Record, RecordType};
use support::{
    COMMAND_LIMIT, Cleanup, OutputWithin, busybox_image, docker, docker_lines, unique_project,
    wait_until, wharf_command,
};

/// What the fake upstream answers for every name.
const UPSTREAM_ANSWER: &str = "192.0.2.7";

/// `web` serves its own hostname over HTTP, with a healthcheck on a file the test removes to
/// make a replica unhealthy; `restart: "no"` so that the supervisor leaves a replica the
/// test kills or spoils as it is. `db` is on another network than the client.
const PROJECT_FILE: &str = r#"
services:
  web:
    image: IMAGE
    command: ["sh", "-c", "hostname > /tmp/index.html; touch /tmp/ok; exec httpd -f -p 80 -h /tmp"]
    deploy:
      replicas: 3
    restart: "no"
    expose: ["80"]
    networks: [default, back]
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ok"]
      interval: 1s
      timeout: 1s
      retries: 1
  db:
    image: IMAGE
    command: ["sleep", "3600"]
    networks: [back]
  client:
    image: IMAGE
    command: ["sleep", "3600"]
networks:
  back: {}
"#;

/// An attached `wharf up` with its DNS listening on a loopback port too, stopped when dropped.
struct Project {
    child: Child,
    name: String,
    dir: tempfile::TempDir,
    _state: tempfile::TempDir,
    dns: SocketAddr,
    _cleanup: Cleanup,
}

impl Project {
    /// Starts it and waits until every `web` replica is healthy in the DNS's answers.
    fn up(prefix: &str, upstream: SocketAddr) -> Project {
        let project = Project::launch(prefix, PROJECT_FILE, free_loopback_port(), upstream);
        project.until(
            "three healthy web replicas",
            Duration::from_secs(30),
            || exchange(project.dns, "web.", RecordType::A).is_some_and(|r| r.answers().len() == 3),
        );
        project
    }

    /// Starts the project of `file`, with the loopback listener on `dns`.
    fn launch(prefix: &str, file: &str, dns: SocketAddr, upstream: SocketAddr) -> Project {
        Project::launch_named(unique_project(prefix), file, dns, upstream)
    }

    fn launch_named(name: String, file: &str, dns: SocketAddr, upstream: SocketAddr) -> Project {
        let cleanup = Cleanup::new(&name);
        let dir = tempfile::tempdir().unwrap();
        let state = tempfile::tempdir().unwrap();
        let file = file.replace("IMAGE", busybox_image());
        std::fs::write(dir.path().join("compose.yaml"), file).unwrap();
        let log = std::fs::File::create(dir.path().join("wharf.log")).unwrap();
        let child = wharf_command(&name, dir.path(), state.path())
            .arg("up")
            .env("WHARF_DNS_LISTEN", dns.to_string())
            .env("WHARF_DNS_UPSTREAM", upstream.to_string())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        Project {
            child,
            name,
            dir,
            _state: state,
            dns,
            _cleanup: cleanup,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("wharf.log")).unwrap_or_default()
    }

    /// Runs another wharf command on the project, as from a second terminal.
    fn wharf(&self, args: &[&str]) -> String {
        let out = wharf_command(&self.name, self.dir.path(), self._state.path())
            .args(args)
            .output_within(COMMAND_LIMIT);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            out.status.success(),
            "wharf {args:?}: {stderr}\n{}",
            self.log()
        );
        stderr
    }

    fn container(&self, service: &str, number: u32) -> String {
        format!("{}-{service}-{number}", self.name)
    }

    /// Asks the loopback listener; panics with the log when it does not answer.
    fn ask(&self, name: &str, kind: RecordType) -> Message {
        match exchange(self.dns, name, kind) {
            Some(reply) => reply,
            None => panic!("no answer for {name} from {}\n{}", self.dns, self.log()),
        }
    }

    fn addresses(&self, name: &str) -> Vec<String> {
        addresses(&self.ask(name, RecordType::A))
    }

    /// `nslookup` in the client container, through Docker's resolver: the addresses it
    /// prints for the name, and its whole output.
    fn nslookup(&self, args: &[&str]) -> (Vec<String>, String) {
        let client = self.container("client", 1);
        let out = Command::new("docker")
            .args(["exec", &client, "nslookup"])
            .args(args)
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        // The first block names the server; the addresses of the answer come after it.
        let answer = text.split("\n\n").skip(1).collect::<Vec<_>>().join("\n");
        let found = answer
            .lines()
            .filter_map(|l| l.strip_prefix("Address:"))
            .map(|a| a.trim().to_string())
            .collect();
        (found, text)
    }

    /// Waits for `condition`; fails with wharf's log after `limit`. Returns the time taken.
    fn until(&self, what: &str, limit: Duration, condition: impl Fn() -> bool) -> Duration {
        wait_until(what, limit, condition, || self.log())
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_loopback_port() -> SocketAddr {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.local_addr().unwrap()
}

/// One UDP exchange with a DNS server; `None` after a second without a reply.
fn exchange(server: SocketAddr, name: &str, kind: RecordType) -> Option<Message> {
    let mut message = Message::new();
    message
        .set_id(0x5151)
        .set_message_type(MessageType::Query)
        .set_op_code(OpCode::Query)
        .set_recursion_desired(true)
        .add_query(Query::query(Name::from_ascii(name).unwrap(), kind));
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(1)))
        .unwrap();
    socket.send_to(&message.to_vec().unwrap(), server).unwrap();
    let mut buffer = vec![0; 65_535];
    let length = socket.recv(&mut buffer).ok()?;
    Message::from_vec(&buffer[..length]).ok()
}

fn addresses(message: &Message) -> Vec<String> {
    message
        .answers()
        .iter()
        .filter_map(|r| match r.data() {
            RData::A(a) => Some(a.0.to_string()),
            _ => None,
        })
        .collect()
}

/// A resolver on loopback that answers [`UPSTREAM_ANSWER`] for every name, for as long as
/// the test process lives.
fn fake_upstream() -> SocketAddr {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let address = socket.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut buffer = vec![0; 4096];
        while let Ok((length, from)) = socket.recv_from(&mut buffer) {
            let Ok(request) = Message::from_vec(&buffer[..length]) else {
                continue;
            };
            let mut reply = Message::new();
            reply
                .set_id(request.id())
                .set_message_type(MessageType::Response)
                .set_recursion_available(true)
                .add_queries(request.queries().iter().cloned());
            if let Some(query) = request.query().filter(|q| q.query_type() == RecordType::A) {
                let address = UPSTREAM_ANSWER.parse().unwrap();
                let record = Record::from_rdata(query.name().clone(), 60, RData::A(A(address)));
                reply.add_answer(record);
            }
            let _ = socket.send_to(&reply.to_vec().unwrap(), from);
        }
    });
    address
}

fn rotated(list: &[String], by: usize) -> Vec<String> {
    let mut list = list.to_vec();
    let by = by % list.len().max(1);
    list.rotate_left(by);
    list
}

#[test]
fn a_client_container_resolves_the_service_and_reaches_every_replica_in_turn() {
    let project = Project::up("dns-rr", fake_upstream());
    let (first, output) = project.nslookup(&["web"]);
    assert_eq!(first.len(), 3, "three replicas:\n{output}");
    let replicas: HashSet<String> = (1..=3)
        .map(|n| {
            let name = project.container("web", n);
            let format = format!(
                "{{{{(index .NetworkSettings.Networks \"{}_default\").IPAddress}}}}",
                project.name
            );
            docker(&["inspect", "--format", &format, &name])
                .trim()
                .to_string()
        })
        .collect();
    assert_eq!(first.iter().cloned().collect::<HashSet<_>>(), replicas);
    // Every answer is a rotation of the one before it.
    let mut previous = first;
    for _ in 0..3 {
        let (next, output) = project.nslookup(&["web"]);
        assert!(
            (1..3).any(|k| next == rotated(&previous, k)),
            "{next:?} is not a rotation of {previous:?}:\n{output}"
        );
        previous = next;
    }
    let client = project.container("client", 1);
    let hosts: Vec<String> = (0..6)
        .map(|_| docker(&["exec", &client, "wget", "-q", "-O", "-", "http://web/"]))
        .collect();
    let distinct: HashSet<&String> = hosts.iter().collect();
    assert_eq!(
        distinct.len(),
        3,
        "six requests reach all three replicas: {hosts:?}"
    );
}

#[test]
fn tasks_srv_ptr_nxdomain_and_forwarding() {
    let project = Project::up("dns-names", fake_upstream());
    let (tasks, output) = project.nslookup(&["tasks.web"]);
    assert_eq!(tasks.len(), 3, "{output}");
    let (_, srv) = project.nslookup(&["-type=srv", "_80._tcp.web"]);
    for n in 1..=3 {
        let target = project.container("web", n);
        assert!(
            srv.contains(&format!("80 {target}")),
            "SRV names {target}:\n{srv}"
        );
    }
    let srv = project.ask("_80._tcp.web.", RecordType::SRV);
    assert_eq!(srv.answers().len(), 3);
    assert_eq!(
        srv.additionals().len(),
        3,
        "each target's A record comes along"
    );

    // Inside a container, Docker's resolver answers PTR for container addresses itself;
    // wharf's own PTR answers the host.
    let address = &project.addresses("1.web.")[0];
    let (_, reverse) = project.nslookup(&[address]);
    assert!(reverse.contains(&project.container("web", 1)), "{reverse}");
    let arpa = Name::from(address.parse::<std::net::IpAddr>().unwrap()).to_ascii();
    let ptr = project.ask(&arpa, RecordType::PTR);
    let RData::PTR(name) = ptr.answers()[0].data() else {
        panic!("a PTR record: {ptr:?}");
    };
    assert!(name.0.to_ascii().starts_with(&project.container("web", 1)));

    let (_, unknown) = project.nslookup(&["nosuchservice"]);
    assert!(unknown.contains("NXDOMAIN"), "{unknown}");
    // `db` is only on `back`; the client only on `default`.
    let (_, isolated) = project.nslookup(&["db"]);
    assert!(isolated.contains("NXDOMAIN"), "{isolated}");
    let (external, output) = project.nslookup(&["example.org"]);
    assert_eq!(external, [UPSTREAM_ANSWER], "forwarded upstream:\n{output}");
}

#[test]
fn a_replica_that_dies_leaves_the_answers_promptly() {
    let project = Project::up("dns-die", fake_upstream());
    for n in [2, 3] {
        docker(&["kill", &project.container("web", n)]);
    }
    let took = project.until("one address left", Duration::from_secs(5), || {
        project.addresses("web.").len() == 1
    });
    eprintln!("the dead replicas left the answers after {took:?}");
    let (through_docker, output) = project.nslookup(&["web"]);
    assert_eq!(through_docker.len(), 1, "{output}");
}

#[test]
fn scaling_down_leaves_one_address() {
    let project = Project::up("dns-scale", fake_upstream());
    // An `up -d` from another terminal goes through the running supervisor's control socket.
    let output = project.wharf(&["up", "-d", "--scale", "web=1"]);
    assert!(output.contains("Removed"), "{output}");
    let took = project.until("one address left", Duration::from_secs(5), || {
        project.addresses("web.").len() == 1
    });
    eprintln!("scaled to one address after {took:?}");
    let (through_docker, output) = project.nslookup(&["web"]);
    assert_eq!(through_docker.len(), 1, "{output}");
    // And back to three.
    project.wharf(&["up", "-d", "--scale", "web=3"]);
    project.until("three addresses again", Duration::from_secs(15), || {
        project.addresses("web.").len() == 3
    });
}

#[test]
fn an_unhealthy_replica_leaves_the_answers_and_a_recovered_one_comes_back() {
    let project = Project::up("dns-health", fake_upstream());
    let spoiled = project.container("web", 2);
    let address = project.addresses("2.web.")[0].clone();
    docker(&["exec", &spoiled, "rm", "/tmp/ok"]);
    // The engine needs an interval or two to call it unhealthy; wharf follows within a second.
    project.until(
        "the unhealthy replica leaves",
        Duration::from_secs(6),
        || {
            let web = project.addresses("web.");
            web.len() == 2 && !web.contains(&address)
        },
    );
    assert_eq!(
        project.addresses("tasks.web.").len(),
        3,
        "tasks.web still lists it"
    );
    docker(&["exec", &spoiled, "touch", "/tmp/ok"]);
    project.until(
        "the recovered replica is back",
        Duration::from_secs(6),
        || project.addresses("web.").contains(&address),
    );
}

#[test]
fn when_port_53_is_taken_service_names_fall_back_to_docker_aliases() {
    // The project's network exists already (with its labels, so `up` adopts it), and
    // something holds port 53 on its gateway: wharf's DNS cannot listen there.
    let name = unique_project("dns-fallback");
    let network = format!("{name}_default");
    // Removes the network even if the test fails before the project starts.
    let _early_cleanup = Cleanup::new(&name);
    docker(&[
        "network",
        "create",
        "--label",
        &format!("com.docker.compose.project={name}"),
        "--label",
        "com.docker.compose.network=default",
        &network,
    ]);
    let gateway = docker(&[
        "network",
        "inspect",
        "--format",
        "{{(index .IPAM.Config 0).Gateway}}",
        &network,
    ]);
    let taken = UdpSocket::bind((gateway.trim(), 53)).expect("port 53 on the gateway is free");
    let project = Project::launch_named(name, PROJECT_FILE, free_loopback_port(), fake_upstream());
    project.until("the warning", Duration::from_secs(30), || {
        project
            .log()
            .contains(&format!("cannot listen on {}:53", gateway.trim()))
    });
    assert!(
        project
            .log()
            .contains("service names resolve through Docker aliases instead"),
        "{}",
        project.log()
    );
    project.until(
        "web resolves through Docker's aliases",
        Duration::from_secs(30),
        || project.nslookup(&["web"]).0.len() == 3,
    );
    drop(taken);
}

#[test]
fn a_network_with_ipv6_gets_aaaa_records() {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let subnet = format!(
        "fd00:{:x}:{:x}::/64",
        std::process::id() & 0xffff,
        nanos & 0xffff
    );
    let file = format!(
        r#"
services:
  web:
    image: IMAGE
    command: ["sleep", "3600"]
    deploy:
      replicas: 2
    networks: [v6]
networks:
  v6:
    enable_ipv6: true
    ipam:
      config:
        - subnet: "{subnet}"
"#
    );
    let project = Project::launch("dns-v6", &file, free_loopback_port(), fake_upstream());
    project.until("two AAAA records", Duration::from_secs(30), || {
        exchange(project.dns, "web.", RecordType::AAAA).is_some_and(|r| r.answers().len() == 2)
    });
    let reply = project.ask("web.", RecordType::AAAA);
    let prefix = subnet.trim_end_matches("::/64");
    for record in reply.answers() {
        let RData::AAAA(address) = record.data() else {
            panic!("an AAAA record: {record:?}");
        };
        assert!(
            address.0.to_string().starts_with(prefix),
            "{address} in {subnet}"
        );
    }
    assert_eq!(project.addresses("web.").len(), 2, "and the A records");
}

#[test]
fn a_dependent_started_by_up_resolves_its_dependency_at_once() {
    // `app` looks `db` up the moment it starts, during `up`'s own plan, before the supervisor
    // runs; it exits (and stays exited: restart "no") if the name does not resolve.
    let file = r#"
services:
  db:
    image: IMAGE
    command: ["sleep", "3600"]
  app:
    image: IMAGE
    command: ["sh", "-c", "ping -c 1 -W 2 db || exit 1; exec sleep 3600"]
    restart: "no"
    depends_on: [db]
"#;
    let project = Project::launch("dns-early", file, free_loopback_port(), fake_upstream());
    let app = project.container("app", 1);
    let state = || {
        let out = Command::new("docker")
            .args([
                "inspect",
                "--format",
                "{{.State.Status}} {{.State.ExitCode}}",
                &app,
            ])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    // `ping` is done when the container exited (it could not resolve) or runs `sleep`.
    project.until("app's ping done", Duration::from_secs(30), || {
        state().starts_with("exited")
            || docker_lines(&["top", &app])
                .iter()
                .any(|line| line.ends_with("sleep 3600"))
    });
    assert_eq!(
        state(),
        "running 0",
        "app could not resolve db:\n{}",
        project.log()
    );
}

/// The names test's project: two networks and a service of each kind of name. `aliased` has
/// two replicas, so that its names give two addresses; `named` is on both networks, as a
/// client it finds the services of either. `named` and `hosted` share an internal network too,
/// `admin`, which sorts first by name but which Docker's resolver tries last.
const NAMES_FILE: &str = r#"
services:
  named:
    image: IMAGE
    command: ["sleep", "3600"]
    container_name: PROJECT-custom
    networks: [front, back, admin]
  hosted:
    image: IMAGE
    command: ["sleep", "3600"]
    hostname: myhost
    networks: [front, back, admin]
  aliased:
    image: IMAGE
    command: ["sleep", "3600"]
    deploy:
      replicas: 2
    networks:
      front:
        aliases: [fa]
      back:
        aliases: [ba]
  db:
    image: IMAGE
    command: ["sleep", "3600"]
    networks: [back]
  app:
    image: IMAGE
    command: ["sleep", "3600"]
    links: ["db:database"]
    networks: [back]
  pf:
    image: IMAGE
    command: ["sleep", "3600"]
    networks: [front]
  pb:
    image: IMAGE
    command: ["sleep", "3600"]
    networks: [back]
networks:
  front: {}
  back: {}
  admin:
    internal: true
"#;

/// A second compose file of the same project (`-p`), in another directory.
const OTHER_FILE: &str = r#"
services:
  other:
    image: IMAGE
    command: ["sleep", "3600"]
    hostname: otherhost
    networks:
      front:
        aliases: [oa]
networks:
  front: {}
"#;

/// The containers that ask: on `front` only, on `back` only, the one with the links, the one
/// on both networks, and the other file's.
const ASKERS: [&str; 5] = ["pf-1", "pb-1", "app-1", "custom", "other-1"];

/// Every kind of name Docker's resolver gives a compose project (`P` is the project's name).
const ASKED: [&str; 26] = [
    // service names
    "named",
    "hosted",
    "aliased",
    "db",
    "app",
    "pf",
    "pb",
    "other",
    // container names, `container_name`
    "P-custom",
    "P-hosted-1",
    "P-aliased-2",
    "P-db-1",
    "P-other-1",
    // hostnames
    "myhost",
    "otherhost",
    // network aliases
    "fa",
    "ba",
    "oa",
    // `links` aliases (compose links `db:database` as `database`, `db-1` and `P-db-1`)
    "database",
    "db-1",
    // names under a network's name
    "db.P_back",
    "aliased.P_front",
    "other.P_front",
    "fa.P_front",
    "db.P_front",
    // no such name
    "nosuch",
];

/// Who asks, and what, once the other file's container is killed.
const GONE_ASKERS: [&str; 2] = ["pf-1", "custom"];
const GONE_ASKED: [&str; 4] = ["other", "oa", "other.P_front", "P-other-1"];

/// The two compose files of one project in two directories, run by docker compose v2 or by
/// wharf (`up -d` in each, with one state directory, as one user would).
struct TwoFiles {
    name: String,
    main: tempfile::TempDir,
    other: tempfile::TempDir,
    state: tempfile::TempDir,
}

impl TwoFiles {
    fn new(name: &str) -> TwoFiles {
        let files = TwoFiles {
            name: name.to_string(),
            main: tempfile::tempdir().unwrap(),
            other: tempfile::tempdir().unwrap(),
            state: tempfile::tempdir().unwrap(),
        };
        for (dir, file) in [(&files.main, NAMES_FILE), (&files.other, OTHER_FILE)] {
            let file = file
                .replace("IMAGE", busybox_image())
                .replace("PROJECT", name);
            std::fs::write(dir.path().join("compose.yaml"), file).unwrap();
        }
        files
    }

    fn compose(&self, dir: &tempfile::TempDir, args: &[&str]) {
        let out = Command::new("docker")
            .args(["compose", "-p", &self.name])
            .args(args)
            .current_dir(dir.path())
            .env_remove("COMPOSE_FILE")
            .env_remove("COMPOSE_PROJECT_NAME")
            .stdin(Stdio::null())
            .output_within(COMMAND_LIMIT);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "docker compose {args:?}: {stderr}");
    }

    fn wharf(&self, dir: &tempfile::TempDir, args: &[&str]) {
        let out = wharf_command(&self.name, dir.path(), self.state.path())
            .args(args)
            .output_within(COMMAND_LIMIT);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "wharf {args:?}: {stderr}\n{}",
            self.log()
        );
    }

    fn log(&self) -> String {
        let log = self.state.path().join(&self.name).join("supervisor.log");
        std::fs::read_to_string(log).unwrap_or_default()
    }

    /// The pid of the running detached supervisor.
    fn supervisor(&self) -> Option<u32> {
        let file = self.state.path().join(&self.name).join("supervisor.pid");
        let text = std::fs::read_to_string(file).ok()?;
        let pid: u32 = text.split_whitespace().next()?.parse().ok()?;
        std::path::Path::new(&format!("/proc/{pid}"))
            .exists()
            .then_some(pid)
    }

    /// Kills the supervisor and waits for its keeper to start another, which resumes from the
    /// standing request: the last `up`'s file.
    fn restart_supervisor(&self) {
        let killed = self.supervisor().expect("a detached supervisor runs");
        kill_process(killed);
        wait_until(
            "the keeper starts another supervisor",
            Duration::from_secs(20),
            || self.supervisor().is_some_and(|pid| pid != killed),
            || self.log(),
        );
    }

    /// What each asker resolves each name to, from inside it through Docker's resolver: the
    /// containers and networks of the addresses (the tools give different subnets), or why
    /// there are none.
    fn resolutions(&self, askers: &[&str], asked: &[&str]) -> Resolutions {
        let owners = self.address_owners();
        let mut found = BTreeMap::new();
        for asker in askers {
            let container = format!("{}-{asker}", self.name);
            let names: Vec<String> = asked.iter().map(|n| n.replace('P', &self.name)).collect();
            // All at once, each for 3 s at most: a name nobody answers must not stall the test.
            let script = format!(
                "mkdir -p /answers; for n in {0}; do timeout 3 nslookup -type=a $n >/answers/$n 2>&1 & done; wait; \
                 for n in {0}; do echo \"== $n\"; cat /answers/$n; done",
                names.join(" ")
            );
            let out = Command::new("docker")
                .args(["exec", &container, "sh", "-c", &script])
                .output_within(COMMAND_LIMIT);
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            for block in text.split("== ").skip(1) {
                let (name, output) = block.split_once('\n').unwrap_or((block, ""));
                let answer = resolution(output, &owners);
                let key = (asker.to_string(), name.replace(&self.name, "P"));
                found.insert(key, answer);
            }
        }
        found
    }

    /// Each container address of the project → `container@network`, the project's name as `P`.
    fn address_owners(&self) -> BTreeMap<String, String> {
        let filter = format!("label=com.docker.compose.project={}", self.name);
        let ids = docker_lines(&["ps", "-q", "--filter", &filter]);
        let format =
            "{{.Name}}{{range $n, $e := .NetworkSettings.Networks}} {{$n}}={{$e.IPAddress}}{{end}}";
        let mut owners = BTreeMap::new();
        for id in ids {
            let line = docker(&["inspect", "--format", format, &id]);
            let mut fields = line.split_whitespace();
            let container = fields.next().unwrap_or_default().trim_start_matches('/');
            for field in fields {
                let (network, address) = field.split_once('=').unwrap_or((field, ""));
                let owner = format!("{container}@{network}").replace(&self.name, "P");
                owners.insert(address.to_string(), owner);
            }
        }
        owners
    }
}

/// Sends SIGKILL to a process this test started.
fn kill_process(pid: u32) {
    let status = Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill -9 {pid}");
}

/// (asker, name asked) → the containers and networks of its addresses, or the error.
type Resolutions = BTreeMap<(String, String), String>;

/// Asks until wharf's answers are compose's (wharf follows the engine within a second), and
/// fails naming every difference after 20 s.
fn assert_same_under_wharf(
    files: &TwoFiles,
    askers: &[&str],
    asked: &[&str],
    compose: &Resolutions,
) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let mut wharf = files.resolutions(askers, asked);
    while &wharf != compose && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(500));
        wharf = files.resolutions(askers, asked);
    }
    let differences: Vec<String> = compose
        .iter()
        .filter(|(key, answer)| wharf.get(*key) != Some(*answer))
        .map(|((asker, name), answer)| {
            let under_wharf = wharf.get(&(asker.clone(), name.clone()));
            format!("{asker} asks {name}: compose {answer}, wharf {under_wharf:?}")
        })
        .collect();
    assert!(
        differences.is_empty(),
        "names resolve differently under wharf:\n{}\n{}",
        differences.join("\n"),
        files.log()
    );
}

/// One `nslookup`'s result: its addresses' owners, sorted (wharf rotates a service's), or the
/// error it printed.
fn resolution(output: &str, owners: &BTreeMap<String, String>) -> String {
    let answer = output.split_once("\nName:").map_or("", |(_, rest)| rest);
    let mut addresses: Vec<String> = answer
        .lines()
        .filter_map(|l| l.strip_prefix("Address:"))
        .map(|a| {
            let a = a.trim();
            owners
                .get(a)
                .cloned()
                .unwrap_or_else(|| format!("{a} (not the project's)"))
        })
        .collect();
    addresses.sort();
    if !addresses.is_empty() {
        return addresses.join(" ");
    }
    let errors = ["NXDOMAIN", "SERVFAIL", "REFUSED", "timed out"];
    let error = errors.iter().find(|e| output.contains(*e));
    error.map_or_else(|| "no address".to_string(), |e| e.to_string())
}

#[test]
fn every_name_docker_compose_resolves_resolves_the_same_under_wharf() {
    let compose_v2 = Command::new("docker")
        .args(["compose", "version", "--short"])
        .output()
        .is_ok_and(|out| out.status.success() && out.stdout.starts_with(b"2."));
    assert!(compose_v2, "this test compares with `docker compose` v2");
    let name = unique_project("dns-compose-names");
    let _cleanup = Cleanup::new(&name);
    let files = TwoFiles::new(&name);

    files.compose(&files.main, &["up", "-d"]);
    files.compose(&files.other, &["up", "-d"]);
    let under_compose = files.resolutions(&ASKERS, &ASKED);
    // The other file's service is gone once its container is.
    let other = format!("{name}-other-1");
    docker(&["kill", &other]);
    let gone_under_compose = files.resolutions(&GONE_ASKERS, &GONE_ASKED);
    assert!(
        gone_under_compose
            .values()
            .all(|answer| !answer.contains('@')),
        "no name of a killed container resolves under compose: {gone_under_compose:#?}"
    );
    files.compose(&files.main, &["down", "--remove-orphans"]);

    // The project has one supervisor, which converges the file of the last `up`: the other
    // file's services are then known from their containers alone; then the other way round.
    files.wharf(&files.main, &["up", "-d"]);
    files.wharf(&files.other, &["up", "-d"]);
    assert_same_under_wharf(&files, &ASKERS, &ASKED, &under_compose);
    // A supervisor that starts afresh on the other file listens on the first file's networks.
    files.restart_supervisor();
    assert_same_under_wharf(&files, &ASKERS, &ASKED, &under_compose);
    files.wharf(&files.main, &["down", "--remove-orphans"]);
    files.wharf(&files.other, &["up", "-d"]);
    files.wharf(&files.main, &["up", "-d"]);
    assert_same_under_wharf(&files, &ASKERS, &ASKED, &under_compose);
    docker(&["kill", &other]);
    assert_same_under_wharf(&files, &GONE_ASKERS, &GONE_ASKED, &gone_under_compose);
    // The comparison means something: every kind of name resolved somewhere.
    for asked in ASKED
        .iter()
        .filter(|n| !["nosuch", "db.P_front"].contains(n))
    {
        assert!(
            under_compose
                .iter()
                .any(|((_, a), answer)| a == asked && answer.contains('@')),
            "{asked} resolves for some asker under compose: {under_compose:#?}"
        );
    }
}
