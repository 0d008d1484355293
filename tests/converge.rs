//! `wharf up`, `down`, `ps`, `logs`, `start`, `stop`, `restart`, `build` against the real
//! Docker Engine, through the real binary. Every test has its own project and removes what it
//! made, even when it fails.

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use support::{
    COMMAND_LIMIT, Cleanup, OutputWithin, busybox_image, docker, docker_lines, inspect,
    project_containers, seconds_of_day, tool_available, unique_project, wait_until, wharf_command,
};

/// A project directory with a compose file, and the guard that cleans its resources up.
struct Project {
    dir: tempfile::TempDir,
    name: String,
    /// The project's state directory (`up -d` leaves a supervisor, which keeps its files there).
    state: tempfile::TempDir,
    _cleanup: Cleanup,
}

impl Project {
    fn new(prefix: &str, compose: &str) -> Project {
        let name = unique_project(prefix);
        let dir = tempfile::tempdir().unwrap();
        let project = Project {
            _cleanup: Cleanup::new(&name),
            dir,
            name,
            state: tempfile::tempdir().unwrap(),
        };
        project.write(compose);
        project
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `compose.yaml`, with `IMAGE` standing for the test image.
    fn write(&self, compose: &str) {
        std::fs::write(
            self.path().join("compose.yaml"),
            compose.replace("IMAGE", busybox_image()),
        )
        .unwrap();
    }

    /// `wharf -p NAME ARGS` in the project's directory, with its state directory.
    fn command(&self, args: &[&str]) -> Command {
        let mut command = wharf_command(&self.name, self.path(), self.state.path());
        command.args(args);
        command
    }

    fn wharf(&self, args: &[&str]) -> Output {
        self.command(args).output_within(COMMAND_LIMIT)
    }

    /// Runs wharf and insists on success.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.wharf(args);
        assert!(
            out.status.success(),
            "wharf {args:?} failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr)
    }

    /// Container name → ID, for every container of the project.
    fn containers(&self) -> BTreeMap<String, String> {
        project_containers(&self.name)
    }

    fn container(&self, service: &str, n: u32) -> String {
        format!("{}-{service}-{n}", self.name)
    }

    /// Waits until `wharf logs` holds every one of `words`: a loaded engine may start a
    /// container, and its command may print, well after `up -d` returns.
    fn wait_for_logs(&self, words: &[&str]) {
        let logs = || String::from_utf8_lossy(&self.wharf(&["logs"]).stdout).into_owned();
        wait_until(
            &format!("logs holding {words:?}"),
            Duration::from_secs(20),
            || {
                let text = logs();
                words.iter().all(|word| text.contains(word))
            },
            logs,
        );
    }
}

const TWO_SERVICES: &str = r#"
services:
  db:
    image: IMAGE
    command: ["sleep", "3600"]
    init: true
    volumes:
      - data:/data
  web:
    image: IMAGE
    command: ["httpd", "-f", "-p", "80"]
    init: true
    environment:
      GREETING: hello
    depends_on: [db]
    networks: [front, back]
    ports:
      - "127.0.0.1::80"
networks:
  front:
  back:
volumes:
  data:
"#;

#[test]
fn up_creates_named_and_labelled_resources_and_a_second_up_changes_nothing() {
    let p = Project::new("up", TWO_SERVICES);
    p.ok(&["up", "-d"]);
    let containers = p.containers();
    let names: Vec<&String> = containers.keys().collect();
    assert_eq!(names, [&p.container("db", 1), &p.container("web", 1)]);
    let web = p.container("web", 1);
    assert_eq!(inspect(&web, "{{.State.Running}}"), "true");
    assert_eq!(
        inspect(
            &web,
            "{{index .Config.Labels \"com.docker.compose.service\"}}"
        ),
        "web"
    );
    assert_eq!(
        inspect(
            &web,
            "{{index .Config.Labels \"com.docker.compose.container-number\"}}"
        ),
        "1"
    );
    assert_eq!(
        inspect(
            &web,
            "{{index .Config.Labels \"com.docker.compose.oneoff\"}}"
        ),
        "False"
    );
    // No `restart:`: the empty name compose writes, which the engine reads as `no`.
    assert_eq!(inspect(&web, "{{.HostConfig.RestartPolicy.Name}}"), "");
    let networks = inspect(
        &web,
        "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}",
    );
    assert!(
        networks.contains(&format!("{}_front", p.name)),
        "{networks}"
    );
    assert!(networks.contains(&format!("{}_back", p.name)), "{networks}");
    let aliases = inspect(
        &web,
        &format!(
            "{{{{json (index .NetworkSettings.Networks \"{}_front\").Aliases}}}}",
            p.name
        ),
    );
    // wharf's DNS answers service names: not a Docker alias, and the container asks the
    // gateway of its first network.
    assert!(
        !aliases.contains("\"web\""),
        "service name is not an alias: {aliases}"
    );
    let gateway = docker(&[
        "network",
        "inspect",
        "--format",
        "{{range .IPAM.Config}}{{.Gateway}}{{end}}",
        &format!("{}_front", p.name),
    ]);
    let dns = inspect(&web, "{{json .HostConfig.Dns}}");
    assert!(dns.contains(gateway.trim()), "{dns} has {gateway}");
    assert!(inspect(&web, "{{json .Config.Env}}").contains("GREETING=hello"));
    let volume = format!("{}_data", p.name);
    assert_eq!(
        docker(&[
            "volume",
            "inspect",
            "--format",
            "{{index .Labels \"com.docker.compose.volume\"}}",
            &volume
        ])
        .trim(),
        "data"
    );

    // Unchanged: the same containers, nothing printed about any resource, and quickly.
    let started = Instant::now();
    let output = p.ok(&["up", "-d"]);
    let elapsed = started.elapsed();
    eprintln!("the no-op up took {elapsed:?}");
    assert_eq!(p.containers(), containers);
    assert!(
        !output.contains("Container"),
        "a no-op up touched something:\n{output}"
    );
    // A bound that only a hang crosses; how fast it is belongs to bench/.
    assert!(
        elapsed < Duration::from_secs(10),
        "no-op up took {elapsed:?}"
    );
    assert_eq!(p.ok(&["up", "-d", "--dry-run"]).trim(), "");
}

#[test]
fn a_changed_service_is_recreated_alone_and_dependents_that_asked_follow() {
    let compose = r#"
services:
  db:
    image: IMAGE
    command: ["sleep", "3600"]
    init: true
    environment: {VERSION: "1"}
  api:
    image: IMAGE
    command: ["sleep", "3600"]
    init: true
    depends_on:
      db: {condition: service_started, restart: true}
  cache:
    image: IMAGE
    command: ["sleep", "3600"]
    init: true
"#;
    let p = Project::new("recreate", compose);
    p.ok(&["up", "-d"]);
    let before = p.containers();
    p.write(&compose.replace("VERSION: \"1\"", "VERSION: \"2\""));
    let plan = p.ok(&["up", "-d", "--dry-run"]);
    let db = p.container("db", 1);
    let order: Vec<&str> = plan
        .lines()
        .filter(|l| l.contains(&db))
        .map(|l| l.split_whitespace().nth(1).unwrap())
        .collect();
    assert_eq!(
        order,
        ["create", "stop", "remove", "rename", "start"],
        "{plan}"
    );
    p.ok(&["up", "-d"]);
    let after = p.containers();
    assert_ne!(before[&db], after[&db], "db was not recreated");
    assert_ne!(
        before[&p.container("api", 1)],
        after[&p.container("api", 1)],
        "api asked to follow db"
    );
    assert_eq!(
        before[&p.container("cache", 1)],
        after[&p.container("cache", 1)],
        "cache must be kept"
    );
    assert!(inspect(&db, "{{json .Config.Env}}").contains("VERSION=2"));
    assert_eq!(after.len(), 3, "no temporary container is left: {after:?}");

    p.ok(&["up", "-d", "--force-recreate", "cache"]);
    assert_ne!(
        after[&p.container("cache", 1)],
        p.containers()[&p.container("cache", 1)]
    );
}

#[test]
fn scale_up_and_down_removes_the_highest_numbers() {
    let compose = r#"
services:
  web:
    image: IMAGE
    command: ["sleep", "3600"]
    init: true
    deploy:
      replicas: 3
"#;
    let p = Project::new("scale", compose);
    p.ok(&["up", "-d"]);
    let three = p.containers();
    assert_eq!(three.len(), 3);
    p.ok(&["up", "-d", "--scale", "web=1"]);
    let one = p.containers();
    assert_eq!(one.keys().collect::<Vec<_>>(), [&p.container("web", 1)]);
    assert_eq!(
        one[&p.container("web", 1)],
        three[&p.container("web", 1)],
        "replica 1 is kept"
    );
    p.ok(&["up", "-d"]);
    assert_eq!(p.containers().len(), 3);
}

#[test]
fn orphans_are_named_and_removed_only_when_asked() {
    let p = Project::new("orphans", TWO_SERVICES);
    p.ok(&["up", "-d"]);
    p.write(
        r#"
services:
  db:
    image: IMAGE
    command: ["sleep", "3600"]
    init: true
    volumes:
      - data:/data
volumes:
  data:
"#,
    );
    let output = p.ok(&["up", "-d"]);
    assert!(
        output.contains("orphan") && output.contains(&p.container("web", 1)),
        "{output}"
    );
    assert!(p.containers().contains_key(&p.container("web", 1)));
    p.ok(&["up", "-d", "--remove-orphans"]);
    assert!(!p.containers().contains_key(&p.container("web", 1)));
}

#[test]
fn health_gated_start_waits_and_a_failed_dependency_fails_up() {
    let compose = r#"
services:
  db:
    image: IMAGE
    command: ["sh", "-c", "sleep 2; touch /tmp/ready; exec sleep 3600"]
    init: true
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ready"]
      interval: 500ms
      retries: 20
  migrate:
    image: IMAGE
    command: ["sh", "-c", "exit 0"]
  app:
    image: IMAGE
    command: ["sleep", "3600"]
    init: true
    depends_on:
      db: {condition: service_healthy}
      migrate: {condition: service_completed_successfully}
"#;
    let p = Project::new("health", compose);
    p.ok(&["up", "-d"]);
    assert_eq!(
        inspect(&p.container("db", 1), "{{.State.Health.Status}}"),
        "healthy"
    );
    // db becomes healthy two seconds after it starts; app may only start after that.
    let db_started = seconds_of_day(&inspect(&p.container("db", 1), "{{.State.StartedAt}}"));
    let app_started = seconds_of_day(&inspect(&p.container("app", 1), "{{.State.StartedAt}}"));
    assert!(
        app_started - db_started >= 1.9,
        "app started {:.2}s after db, before db could be healthy",
        app_started - db_started
    );

    p.write(&compose.replace("exit 0", "exit 3"));
    p.ok(&["down"]);
    let out = p.wharf(&["up", "-d"]);
    assert!(
        !out.status.success(),
        "up must fail when a dependency fails"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("migrate") && stderr.contains("code 3"),
        "{stderr}"
    );
    assert_ne!(
        inspect(&p.container("app", 1), "{{.State.Running}}"),
        "true"
    );

    p.write(&compose.replace("exit 0", "exit 3").replace(
        "migrate: {condition: service_completed_successfully}",
        "migrate: {condition: service_completed_successfully, required: false}",
    ));
    p.ok(&["down"]);
    let output = p.ok(&["up", "-d"]);
    assert!(
        output.contains("migrate"),
        "the optional failure is reported: {output}"
    );
    assert_eq!(
        inspect(&p.container("app", 1), "{{.State.Running}}"),
        "true"
    );
}

#[test]
fn down_keeps_volumes_unless_asked_and_works_without_the_file() {
    let p = Project::new("down", TWO_SERVICES);
    p.ok(&["up", "-d"]);
    let volume = format!("{}_data", p.name);
    std::fs::remove_file(p.path().join("compose.yaml")).unwrap();
    p.ok(&["down"]);
    assert!(p.containers().is_empty());
    let filter = format!("label=com.docker.compose.project={}", p.name);
    assert!(docker_lines(&["network", "ls", "-q", "--filter", &filter]).is_empty());
    assert_eq!(
        docker_lines(&["volume", "ls", "-q", "--filter", &filter]),
        std::slice::from_ref(&volume)
    );
    p.write(TWO_SERVICES);
    p.ok(&["down", "-v"]);
    assert!(docker_lines(&["volume", "ls", "-q", "--filter", &filter]).is_empty());
}

#[test]
fn a_named_volume_keeps_its_data_across_down_and_up() {
    let compose = r#"
services:
  db:
    image: IMAGE
    command: ["sh", "-c", "test -f /data/born || date > /data/born; cat /data/born; exec sleep 3600"]
    init: true
    volumes: [data:/data]
volumes:
  data:
"#;
    let p = Project::new("persist", compose);
    p.ok(&["up", "-d"]);
    p.wait_for_logs(&["UTC"]);
    let born = docker(&["exec", &p.container("db", 1), "cat", "/data/born"]);
    p.ok(&["down"]);
    p.ok(&["up", "-d"]);
    p.wait_for_logs(&["UTC"]);
    assert_eq!(
        docker(&["exec", &p.container("db", 1), "cat", "/data/born"]),
        born
    );
}

#[test]
fn external_and_foreign_networks() {
    let foreign = unique_project("foreign-net");
    let p = Project::new(
        "external",
        &format!(
            r#"
services:
  web:
    image: IMAGE
    command: ["sleep", "3600"]
    init: true
    networks: [outside]
networks:
  outside:
    name: {foreign}
    external: true
"#
        ),
    );
    let mut cleanup = Cleanup::new(&foreign);
    let out = p.wharf(&["up", "-d"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains(&foreign));
    assert!(p.containers().is_empty(), "a failed plan changes nothing");

    docker(&["network", "create", &foreign]);
    cleanup.network(&foreign);
    p.ok(&["up", "-d"]);
    p.ok(&["down"]);
    assert_eq!(
        docker_lines(&[
            "network",
            "ls",
            "-q",
            "--filter",
            &format!("name=^{foreign}$")
        ])
        .len(),
        1,
        "external networks are never removed"
    );
}

#[test]
fn ps_lists_state_in_a_table_and_in_json() {
    let p = Project::new("ps", TWO_SERVICES);
    p.ok(&["up", "-d"]);
    p.ok(&["stop", "web"]);
    let table = p.ok(&["ps"]);
    assert!(table.starts_with("NAME"), "{table}");
    assert!(
        table.contains(&p.container("db", 1)) && !table.contains(&p.container("web", 1)),
        "{table}"
    );
    let all = p.ok(&["ps", "-a"]);
    assert!(
        all.contains(&p.container("web", 1)) && all.contains("Exited ("),
        "{all}"
    );
    // One object per line, as compose prints them.
    let items: Vec<serde_json::Value> = p
        .ok(&["ps", "-a", "--format", "json"])
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(items.len(), 2);
    let web = items.iter().find(|i| i["Service"] == "web").unwrap();
    assert_eq!(web["State"], "exited");
    let ids = p.ok(&["ps", "-q"]);
    assert_eq!(ids.lines().count(), 1);
    p.ok(&["start"]);
    assert_eq!(p.ok(&["ps", "-q"]).lines().count(), 2);
    let before = p.containers();
    p.ok(&["restart", "db"]);
    assert_eq!(p.containers(), before, "restart keeps the containers");
}

#[test]
fn logs_are_prefixed_tailed_and_in_time_order() {
    // The two hand off through files on a shared volume, so the lines are written in this
    // order however far apart the engine starts the containers.
    let compose = r#"
services:
  one:
    image: IMAGE
    command: ["sh", "-c", "echo first; touch /s/a; until [ -e /s/b ]; do sleep 0.05; done; echo third; exec sleep 3600"]
    volumes: ["s:/s"]
    init: true
  two:
    image: IMAGE
    command: ["sh", "-c", "until [ -e /s/a ]; do sleep 0.05; done; echo second; touch /s/b; exec sleep 3600"]
    volumes: ["s:/s"]
    init: true
volumes:
  s: {}
"#;
    let p = Project::new("logs", compose);
    p.ok(&["up", "-d"]);
    p.wait_for_logs(&["third"]);
    let out = p.wharf(&["logs"]);
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    let position = |word: &str| {
        lines
            .iter()
            .position(|l| l.ends_with(word))
            .unwrap_or_else(|| panic!("{word} missing: {text}"))
    };
    assert!(
        position("first") < position("second") && position("second") < position("third"),
        "{text}"
    );
    assert!(lines[position("second")].starts_with("two-1 "), "{text}");
    let tail = p.wharf(&["logs", "--tail", "1", "one"]);
    let tail = String::from_utf8_lossy(&tail.stdout);
    assert_eq!(tail.lines().count(), 1, "{tail}");
    assert!(tail.contains("third"));
    let stamped = p.wharf(&["logs", "-t", "two"]);
    assert!(
        String::from_utf8_lossy(&stamped.stdout).contains("T"),
        "timestamps"
    );
}

#[test]
fn images_are_built_with_dockerignore_and_a_missing_image_names_its_service() {
    let p = Project::new(
        "build",
        r#"
services:
  app:
    build:
      context: ./app
      args: {WORD: built}
    command: ["sleep", "3600"]
    init: true
"#,
    );
    let app = p.path().join("app");
    std::fs::create_dir(&app).unwrap();
    std::fs::write(
        app.join("Dockerfile"),
        format!(
            "FROM {}\nARG WORD\nCOPY . /src\nRUN echo $WORD > /word\n",
            busybox_image()
        ),
    )
    .unwrap();
    std::fs::write(app.join("kept.txt"), "kept").unwrap();
    std::fs::write(app.join("secret.txt"), "secret").unwrap();
    std::fs::write(app.join(".dockerignore"), "secret.txt\n").unwrap();
    let mut cleanup = Cleanup::new(&format!("{}-images", p.name));
    cleanup.image(&format!("{}-app", p.name));
    p.ok(&["build"]);
    assert!(
        support::image_exists(&format!("{}-app", p.name)),
        "wharf build tags <project>-<service>"
    );
    assert!(p.containers().is_empty(), "build creates no container");
    // As with compose v2, the image is the project's: its labels find it (and sweep it).
    let built = inspect(&format!("{}-app", p.name), "{{.Id}}");
    assert_eq!(
        inspect(
            &built,
            r#"{{index .Config.Labels "com.docker.compose.project"}} {{index .Config.Labels "com.docker.compose.service"}}"#
        ),
        format!("{} app", p.name)
    );
    p.ok(&["up", "-d"]);
    let container = p.container("app", 1);
    assert_eq!(
        docker(&["exec", &container, "cat", "/word"]).trim(),
        "built"
    );
    assert_eq!(
        docker(&["exec", &container, "ls", "/src"])
            .split_whitespace()
            .collect::<Vec<_>>(),
        ["Dockerfile", "kept.txt"]
    );

    std::fs::write(app.join("kept.txt"), "changed").unwrap();
    let before = p.containers();
    p.ok(&["up", "-d", "--build"]);
    assert_ne!(
        before,
        p.containers(),
        "a rebuilt image recreates the container"
    );
    assert_eq!(
        docker(&["exec", &container, "cat", "/src/kept.txt"]),
        "changed"
    );
    // The first image, now untagged, is still found by the project's label.
    let project_images = docker_lines(&[
        "image",
        "ls",
        "-q",
        "--no-trunc",
        "--filter",
        &format!("label=com.docker.compose.project={}", p.name),
    ]);
    assert!(project_images.contains(&built), "{project_images:?}");

    p.write(
        r#"
services:
  ghost:
    image: wharf-test/does-not-exist:1
"#,
    );
    let out = p.wharf(&["up", "-d", "--remove-orphans"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("ghost") && stderr.contains("wharf-test/does-not-exist:1"),
        "{stderr}"
    );
}

#[test]
fn the_container_spec_reaches_the_engine() {
    let p = Project::new(
        "spec",
        r#"
services:
  box:
    image: IMAGE
    entrypoint: ["sh", "-c"]
    command: ["exec sleep 3600"]
    working_dir: /tmp
    user: "1000"
    hostname: boxhost
    init: true
    stop_signal: SIGINT
    stop_grace_period: 3s
    extra_hosts: ["db.local:10.0.0.9"]
    cap_add: [NET_ADMIN]
    cap_drop: [MKNOD]
    labels: {team: infra}
    tmpfs: [/scratch]
    expose: ["9000"]
    ports: ["127.0.0.1:18000-18001:8000-8001/udp"]
    volumes:
      - ./site:/site:ro
      - type: tmpfs
        target: /cache
    healthcheck:
      test: ["CMD", "true"]
      interval: 2s
    deploy:
      resources:
        limits: {memory: 64m, cpus: "0.5"}
"#,
    );
    std::fs::create_dir(p.path().join("site")).unwrap();
    p.ok(&["up", "-d"]);
    let c = p.container("box", 1);
    assert_eq!(inspect(&c, "{{json .Config.Entrypoint}}"), r#"["sh","-c"]"#);
    assert_eq!(
        inspect(&c, "{{json .Config.Cmd}}"),
        r#"["exec sleep 3600"]"#
    );
    assert_eq!(
        inspect(
            &c,
            "{{.Config.WorkingDir}} {{.Config.User}} {{.Config.Hostname}}"
        ),
        "/tmp 1000 boxhost"
    );
    assert_eq!(
        inspect(&c, "{{.Config.StopSignal}} {{.Config.StopTimeout}}"),
        "SIGINT 3"
    );
    assert_eq!(inspect(&c, "{{.HostConfig.Init}}"), "true");
    assert_eq!(
        inspect(&c, "{{json .HostConfig.ExtraHosts}}"),
        r#"["db.local:10.0.0.9"]"#
    );
    assert!(inspect(&c, "{{json .HostConfig.CapAdd}}").contains("NET_ADMIN"));
    assert_eq!(inspect(&c, "{{index .Config.Labels \"team\"}}"), "infra");
    assert_eq!(
        inspect(&c, "{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}}"),
        "67108864 500000000"
    );
    let ports = inspect(&c, "{{json .HostConfig.PortBindings}}");
    assert!(
        ports.contains("8000/udp") && ports.contains("18001"),
        "{ports}"
    );
    assert!(inspect(&c, "{{json .Config.ExposedPorts}}").contains("9000/tcp"));
    let mounts = inspect(
        &c,
        "{{range .Mounts}}{{.Type}}:{{.Destination}}:{{.RW}} {{end}}",
    );
    assert!(mounts.contains("bind:/site:false"), "{mounts}");
    assert!(inspect(&c, "{{json .HostConfig.Tmpfs}}").contains("/scratch"));
    assert!(inspect(&c, "{{json .Config.Healthcheck.Test}}").contains("true"));
}

#[test]
fn docker_compose_sees_wharf_projects_and_wharf_removes_docker_compose_projects() {
    if !tool_available(
        "docker-compose",
        "the interoperability with docker-compose 1.29",
    ) {
        return;
    }
    let p = Project::new("interop", TWO_SERVICES);
    p.ok(&["up", "-d"]);
    let ps = Command::new("docker-compose")
        .args(["-p", &p.name, "ps"])
        .current_dir(p.path())
        .output_within(COMMAND_LIMIT);
    let listed = String::from_utf8_lossy(&ps.stdout);
    assert!(
        listed.contains(&p.container("web", 1)) && listed.contains(&p.container("db", 1)),
        "{listed}"
    );
    p.ok(&["down"]);

    let up = Command::new("docker-compose")
        .args(["-p", &p.name, "up", "-d"])
        .current_dir(p.path())
        .output_within(COMMAND_LIMIT);
    assert!(
        up.status.success(),
        "{}",
        String::from_utf8_lossy(&up.stderr)
    );
    assert_eq!(p.containers().len(), 2);
    p.ok(&["down"]);
    assert!(
        p.containers().is_empty(),
        "wharf down removes what docker-compose made"
    );
}

#[test]
fn a_failed_up_can_simply_be_run_again() {
    let p = Project::new("rerun", TWO_SERVICES);
    // Occupy the name wharf wants for `db` with a container that is not part of the project.
    let squatter = p.container("db", 1);
    let mut guard = Cleanup::new(&format!("{}-squat", p.name));
    guard.container(&squatter);
    docker(&["create", "--name", &squatter, busybox_image(), "true"]);
    let out = p.wharf(&["up", "-d"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains(&squatter));
    assert_eq!(
        inspect(
            &squatter,
            "{{index .Config.Labels \"com.docker.compose.project\"}}"
        ),
        "",
        "a foreign container is never touched"
    );
    docker(&["rm", "-f", &squatter]);
    p.ok(&["up", "-d"]);
    assert_eq!(p.containers().len(), 2);
}

#[test]
fn service_arguments_bring_their_dependencies_unless_no_deps() {
    let p = Project::new("args", TWO_SERVICES);
    p.ok(&["up", "-d", "--no-deps", "web"]);
    assert_eq!(
        p.containers().keys().collect::<Vec<_>>(),
        [&p.container("web", 1)]
    );
    p.ok(&["down"]);
    p.ok(&["up", "-d", "web"]);
    assert_eq!(p.containers().len(), 2, "web brings db");
    let out = p.wharf(&["up", "-d", "wbe"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("wbe"));
}

#[test]
fn dry_run_and_no_recreate_change_nothing() {
    let p = Project::new("dryrun", TWO_SERVICES);
    let plan = p.ok(&["up", "-d", "--dry-run"]);
    assert!(
        plan.contains(&format!("create container {}", p.container("web", 1))),
        "{plan}"
    );
    assert!(p.containers().is_empty(), "--dry-run created something");
    p.ok(&["up", "-d"]);
    let before = p.containers();
    p.write(&TWO_SERVICES.replace("GREETING: hello", "GREETING: bonjour"));
    p.ok(&["up", "-d", "--no-recreate"]);
    assert_eq!(p.containers(), before);
    assert!(inspect(&p.container("web", 1), "{{json .Config.Env}}").contains("GREETING=hello"));
}

#[test]
fn wait_returns_once_services_are_healthy() {
    let p = Project::new(
        "wait",
        r#"
services:
  slow:
    image: IMAGE
    command: ["sh", "-c", "sleep 1; touch /tmp/ok; exec sleep 3600"]
    init: true
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ok"]
      interval: 300ms
      retries: 30
"#,
    );
    p.ok(&["up", "-d", "--wait"]);
    assert_eq!(
        inspect(&p.container("slow", 1), "{{.State.Health.Status}}"),
        "healthy"
    );
}

#[test]
fn an_unlabelled_network_is_reused_with_a_warning_and_kept_on_down() {
    let p = Project::new(
        "reuse",
        r#"
services:
  web:
    image: IMAGE
    command: ["sleep", "3600"]
    init: true
"#,
    );
    let name = format!("{}_default", p.name);
    let mut guard = Cleanup::new(&format!("{}-net", p.name));
    guard.network(&name);
    docker(&["network", "create", &name]);
    let output = p.ok(&["up", "-d"]);
    assert!(
        output.contains(&name) && output.contains("warning"),
        "{output}"
    );
    p.ok(&["down"]);
    assert_eq!(
        docker_lines(&["network", "ls", "-q", "--filter", &format!("name=^{name}$")]).len(),
        1,
        "not ours to remove"
    );
}

#[test]
fn mistakes_in_service_arguments_and_scale_are_refused() {
    let p = Project::new(
        "mistakes",
        r#"
services:
  web:
    image: IMAGE
    command: ["sleep", "3600"]
    init: true
    container_name: CNAME
"#
        .replace("CNAME", &unique_project("fixed-name"))
        .as_str(),
    );
    for args in [
        &["stop", "nosuch"][..],
        &["start", "nosuch"],
        &["logs", "nosuch"],
        &["build", "nosuch"],
    ] {
        let out = p.wharf(args);
        assert!(
            !out.status.success(),
            "{args:?} accepted an unknown service"
        );
        assert!(String::from_utf8_lossy(&out.stderr).contains("no such service: nosuch"));
    }
    let out = p.wharf(&["up", "-d", "--scale", "web=2"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("container_name"));
    assert!(p.containers().is_empty());
}

#[test]
fn profile_services_are_not_orphans_and_namespaces_can_be_shared() {
    let p = Project::new(
        "profiles",
        r#"
services:
  app:
    image: IMAGE
    command: ["sleep", "3600"]
    init: true
  debug:
    image: IMAGE
    command: ["sleep", "3600"]
    init: true
    profiles: [debug]
    pid: "service:app"
"#,
    );
    p.ok(&["--profile", "debug", "up", "-d"]);
    assert_eq!(p.containers().len(), 2);
    let app_pid_ns = docker(&["exec", &p.container("app", 1), "readlink", "/proc/1/ns/pid"]);
    let debug_pid_ns = docker(&[
        "exec",
        &p.container("debug", 1),
        "readlink",
        "/proc/1/ns/pid",
    ]);
    assert_eq!(
        app_pid_ns, debug_pid_ns,
        "pid: service:app shares app's namespace"
    );
    let output = p.ok(&["up", "-d"]);
    assert!(
        !output.contains("orphan"),
        "a disabled profile is not an orphan: {output}"
    );
    p.ok(&["up", "-d", "--remove-orphans"]);
    assert_eq!(
        p.containers().len(),
        2,
        "--remove-orphans keeps the debug container"
    );
}

#[test]
fn logs_follow_streams_new_lines_until_interrupted() {
    let p = Project::new(
        "follow",
        r#"
services:
  ticker:
    image: IMAGE
    command: ["sh", "-c", "i=0; while true; do echo tick-$$i; i=$$((i+1)); sleep 0.2; done"]
    init: true
"#,
    );
    p.ok(&["up", "-d"]);
    let mut child = p
        .command(&["logs", "-f", "--tail", "1"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        use std::io::BufRead;
        std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .take(4)
            .collect::<Vec<_>>()
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    while !reader.is_finished() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let lines = reader.join().unwrap();
    assert_eq!(lines.len(), 4, "follow keeps streaming: {lines:?}");
    let numbers: Vec<u32> = lines
        .iter()
        .map(|l| l.rsplit("tick-").next().unwrap().parse().unwrap())
        .collect();
    assert!(
        numbers.windows(2).all(|w| w[1] == w[0] + 1),
        "in order, nothing lost: {lines:?}"
    );
    assert!(lines[0].starts_with("ticker-1 "), "prefixed: {lines:?}");
}

/// Runs wharf under a pseudo-terminal (util-linux `script`), as a user at a terminal would.
fn on_a_terminal(p: &Project, args: &str) -> String {
    let command = format!("{} -p {} {args}", env!("CARGO_BIN_EXE_wharf"), p.name);
    let out = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .current_dir(p.path())
        .env("WHARF_STATE_DIR", p.state.path())
        .env_remove("NO_COLOR")
        .output_within(COMMAND_LIMIT);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_terminal_gets_a_running_count_and_colours_and_a_pipe_gets_plain_lines() {
    let p = Project::new(
        "tty",
        r#"
services:
  hello:
    image: IMAGE
    command: ["sh", "-c", "echo hi; sleep 3600"]
    init: true
  other:
    image: IMAGE
    command: ["sh", "-c", "echo yo; sleep 3600"]
    init: true
"#,
    );
    let tty = on_a_terminal(&p, "up -d");
    assert!(
        tty.contains("\x1b[2K"),
        "the progress line is redrawn: {tty:?}"
    );
    assert!(tty.contains("[+] 4/4 "), "a running count: {tty:?}");
    assert!(tty.contains(&format!(
        " ✔ Container {}  Started",
        p.container("hello", 1)
    )));
    p.wait_for_logs(&["hi", "yo"]);
    let logs = on_a_terminal(&p, "logs");
    assert!(
        logs.contains("\x1b[36m"),
        "a colour per service prefix: {logs:?}"
    );
    assert!(
        logs.contains("\x1b[33m"),
        "another for the second service: {logs:?}"
    );

    p.ok(&["down"]);
    let piped = p.ok(&["up", "-d"]);
    assert!(!piped.contains('\x1b'), "no escapes into a pipe: {piped:?}");
    assert!(!piped.contains("[+]"), "{piped:?}");
    for line in piped.lines() {
        assert!(
            line.starts_with(" ✔ "),
            "one plain line per operation: {line:?}"
        );
    }
    let logs = p.ok(&["logs"]);
    assert!(!logs.contains('\x1b'), "{logs:?}");
}

#[test]
fn a_recreated_container_keeps_the_data_of_its_anonymous_volume_unless_renewed() {
    let file = r#"
services:
  app:
    image: IMAGE
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
    environment:
      VERSION: "1"
    volumes: ["/data"]
"#;
    let p = Project::new("anonvol", file);
    p.ok(&["up", "-d"]);
    let app = p.container("app", 1);
    docker(&["exec", &app, "sh", "-c", "echo kept > /data/file"]);
    let first = inspect(&app, "{{.Id}}");
    p.write(&file.replace(r#"VERSION: "1""#, r#"VERSION: "2""#));
    p.ok(&["up", "-d"]);
    assert_ne!(inspect(&app, "{{.Id}}"), first, "recreated");
    assert_eq!(docker(&["exec", &app, "cat", "/data/file"]).trim(), "kept");

    let volume = || inspect(&app, "{{range .Mounts}}{{.Name}}{{end}}");
    let carried = volume();
    p.write(&file.replace(r#"VERSION: "1""#, r#"VERSION: "3""#));
    p.ok(&["up", "-d", "-V"]);
    let out = Command::new("docker")
        .args(["exec", &app, "cat", "/data/file"])
        .output()
        .unwrap();
    assert!(!out.status.success(), "-V gives a new, empty volume");
    // `-V` leaves the old volume behind, unmounted, as compose does: it is this test's to remove.
    docker(&["volume", "rm", &carried]);

    // `down -v` removes the anonymous volume, also one passed on by a recreate.
    p.write(&file.replace(r#"VERSION: "1""#, r#"VERSION: "4""#));
    p.ok(&["up", "-d"]);
    let current = volume();
    p.ok(&["down", "-v"]);
    assert!(
        docker_lines(&["volume", "ls", "-q", "--filter", &format!("name={current}")]).is_empty(),
        "{current} is left after down -v"
    );
}

/// Secrets and configs from each source, with the long syntax's target, owner and mode.
const SECRETS_AND_CONFIGS: &str = r#"
services:
  box:
    image: IMAGE
    command: ["sleep", "3600"]
    init: true
    secrets:
      - pw
      - source: pw
        target: other
      - source: token
        target: /etc/token
        uid: "1000"
        gid: "1001"
        mode: 0400
      - envsecret
    configs:
      - appconf
      - source: inline
        target: /etc/inline.conf
        mode: 0640
      - source: fromenv
        target: rel.conf
secrets:
  pw:
    file: ./pw.txt
  token:
    environment: TOKEN
  envsecret:
    environment: TOKEN
configs:
  appconf:
    file: ./app.conf
  inline:
    content: "inline-content"
  fromenv:
    environment: TOKEN
"#;

/// Path, mode, owner, content and mount (a read-only bind, or none) of each secret and config.
fn secrets_seen_in(container: &str) -> String {
    let script = "for f in /run/secrets/pw /run/secrets/other /etc/token /run/secrets/envsecret \
                  /appconf /etc/inline.conf /rel.conf; do \
                  echo \"$(stat -c '%n %a %u:%g' $f) $(cat $f) \
                  $(grep -q \" $f \" /proc/mounts && echo mounted || echo copied)\"; done";
    docker(&["exec", container, "sh", "-c", script])
}

/// The project of `SECRETS_AND_CONFIGS`, with its two files.
fn secrets_project(prefix: &str) -> Project {
    let p = Project::new(prefix, SECRETS_AND_CONFIGS);
    std::fs::write(p.path().join("pw.txt"), "s3cret").unwrap();
    std::fs::write(p.path().join("app.conf"), "conf-file").unwrap();
    p
}

#[test]
fn secrets_and_configs_reach_the_container_as_docker_compose_gives_them() {
    let p = secrets_project("secrets");
    let up = p
        .command(&["up", "-d"])
        .env("TOKEN", "tok-value")
        .output()
        .unwrap();
    assert!(
        up.status.success(),
        "{}",
        String::from_utf8_lossy(&up.stderr)
    );
    let seen = secrets_seen_in(&p.container("box", 1));
    assert_eq!(
        seen,
        "/run/secrets/pw 644 0:0 s3cret mounted\n\
         /run/secrets/other 644 0:0 s3cret mounted\n\
         /etc/token 400 1000:1001 tok-value copied\n\
         /run/secrets/envsecret 444 0:0 tok-value copied\n\
         /appconf 644 0:0 conf-file mounted\n\
         /etc/inline.conf 640 0:0 inline-content copied\n\
         /rel.conf 444 0:0 tok-value copied\n"
    );

    // docker compose v2 on the same file gives the container the same files.
    let (peer, _peer_cleanup) = compose_v2_up(p.path(), "secrets-peer", &[("TOKEN", "tok-value")]);
    assert_eq!(secrets_seen_in(&format!("{peer}-box-1")), seen);
}

#[test]
fn a_secret_whose_variable_is_unset_fails_the_create_as_docker_compose_says() {
    let p = secrets_project("secretvar");
    let up = p
        .command(&["up", "-d"])
        .env_remove("TOKEN")
        .output()
        .unwrap();
    assert!(!up.status.success());
    let stderr = String::from_utf8_lossy(&up.stderr);
    let expected = format!(
        "error: create container {}: environment variable \"TOKEN\" required by secret \
         \"{}_token\" is not set",
        p.container("box", 1),
        p.name
    );
    assert!(stderr.contains(&expected), "{stderr}");
    assert!(p.containers().is_empty(), "nothing half made is left");
}

/// `web` links to `db` under an alias and to a container outside the project, and mounts the
/// volumes of both (`db`'s read-only).
const LINKS_AND_VOLUMES_FROM: &str = r#"
services:
  db:
    image: IMAGE
    command: ["sleep", "3600"]
    init: true
    volumes:
      - /dbdata
  web:
    image: IMAGE
    command: ["sleep", "3600"]
    init: true
    links:
      - db:database
    external_links:
      - OUTSIDE:outside
    volumes_from:
      - db:ro
      - container:OUTSIDE
"#;

#[test]
fn links_resolve_and_volumes_from_mounts_the_volumes_of_a_service_and_a_container() {
    let outside = unique_project("links-outside");
    let mut outside_cleanup = Cleanup::new(&outside);
    outside_cleanup.container(&outside);
    let p = Project::new(
        "links",
        &LINKS_AND_VOLUMES_FROM.replace("OUTSIDE", &outside),
    );
    docker(&[
        "run",
        "-d",
        "--name",
        &outside,
        "-v",
        "/extdata",
        busybox_image(),
        "sleep",
        "3600",
    ]);
    p.ok(&["up", "-d"]);
    let web = p.container("web", 1);
    let db = p.container("db", 1);
    let network = format!("{}_default", p.name);
    let links = inspect(
        &web,
        &format!("{{{{json (index .NetworkSettings.Networks \"{network}\").Links}}}}"),
    );
    assert_eq!(
        links,
        format!(r#"["{db}:database","{db}:db-1","{db}:{db}","{outside}:outside"]"#)
    );
    let db_address = inspect(
        &db,
        &format!("{{{{(index .NetworkSettings.Networks \"{network}\").IPAddress}}}}"),
    );
    let lookup = docker(&["exec", &web, "nslookup", "database"]);
    assert!(lookup.contains(&db_address), "{lookup}");
    assert_eq!(
        inspect(&web, "{{json .HostConfig.VolumesFrom}}"),
        format!(r#"["{}:ro","{outside}"]"#, inspect(&db, "{{.Id}}"))
    );
    let writes = docker(&[
        "exec",
        &web,
        "sh",
        "-c",
        "ls -d /dbdata /extdata; touch /dbdata/x 2>/dev/null || echo dbdata read-only; \
         touch /extdata/y && echo extdata writable",
    ]);
    assert_eq!(
        writes,
        "/dbdata\n/extdata\ndbdata read-only\nextdata writable\n"
    );

    // docker compose v2 gives the same links (it drops `:ro` from `volumes_from`: wharf keeps it).
    let (peer, _peer_cleanup) = compose_v2_up(p.path(), "links-peer", &[]);
    let peer_links = inspect(
        &format!("{peer}-web-1"),
        &format!("{{{{json (index .NetworkSettings.Networks \"{peer}_default\").Links}}}}"),
    );
    assert_eq!(peer_links.replace(&peer, &p.name), links);
}

/// The HostConfig keys of resources, namespaces and mount options.
const HOST_KEYS: &str = r#"
services:
  box:
    image: IMAGE
    command: ["sleep", "3600"]
    init: true
    cpu_shares: 512
    cpu_period: 100000
    cpu_quota: 50000
    cpuset: "0"
    mem_limit: 64m
    memswap_limit: 128m
    mem_swappiness: 10
    oom_kill_disable: true
    oom_score_adj: 100
    device_cgroup_rules: ["c 1:3 mr"]
    cgroup: private
    runtime: runc
    uts: host
    userns_mode: host
    volumes:
      - type: tmpfs
        target: /scratch
        tmpfs:
          mode: 1016
      - type: volume
        target: /data
        volume:
          labels: {team: infra}
"#;

const HOST_KEYS_FORMAT: &str = "{{.HostConfig.CpuShares}} {{.HostConfig.CpuPeriod}} \
    {{.HostConfig.CpuQuota}} {{.HostConfig.CpusetCpus}} {{.HostConfig.MemorySwap}} \
    {{.HostConfig.MemorySwappiness}} {{.HostConfig.OomKillDisable}} {{.HostConfig.OomScoreAdj}} \
    {{json .HostConfig.DeviceCgroupRules}} {{.HostConfig.CgroupnsMode}} {{.HostConfig.Runtime}} \
    {{.HostConfig.UTSMode}} {{.HostConfig.UsernsMode}} {{json .HostConfig.Mounts}}";

#[test]
fn the_resource_and_namespace_keys_reach_the_host_config_as_with_docker_compose() {
    let p = Project::new("hostkeys", HOST_KEYS);
    p.ok(&["up", "-d"]);
    let box1 = p.container("box", 1);
    let seen = inspect(&box1, HOST_KEYS_FORMAT);
    assert_eq!(
        seen,
        "512 100000 50000 0 134217728 10 true 100 [\"c 1:3 mr\"] private runc host host \
         [{\"Target\":\"/scratch\",\"TmpfsOptions\":{\"Mode\":1016},\"Type\":\"tmpfs\"},\
         {\"Target\":\"/data\",\"Type\":\"volume\",\"VolumeOptions\":{\"Labels\":{\"team\":\"infra\"}}}]"
    );
    assert_eq!(
        docker(&["exec", &box1, "stat", "-c", "%a", "/scratch"]),
        "1770\n"
    );

    let (peer, _peer_cleanup) = compose_v2_up(p.path(), "hostkeys-peer", &[]);
    let peer_box = format!("{peer}-box-1");
    let without_mounts = |seen: &str| seen[..seen.rfind(" [").unwrap()].to_string();
    assert_eq!(
        without_mounts(&inspect(&peer_box, HOST_KEYS_FORMAT)),
        without_mounts(&seen)
    );
    // Compose v2 builds its mounts from a map: their order changes from one create to the next.
    assert_eq!(mounts_by_target(&peer_box), mounts_by_target(&box1));
}

/// The cgroup parent, a bind's propagation and SELinux label, a link-local address.
const MORE_HOST_KEYS: &str = r#"
services:
  box:
    image: IMAGE
    command: ["sleep", "3600"]
    init: true
    cgroup_parent: wharf-test-parent
    volumes:
      - type: bind
        source: ./src
        target: /src
        bind:
          propagation: rprivate
          selinux: z
      - type: bind
        source: ./src
        target: /flat
        bind:
          recursive: disabled
    networks:
      front:
        link_local_ips: ["169.254.10.10"]
networks:
  front:
"#;

#[test]
fn cgroup_parent_bind_options_and_link_local_ips_reach_the_engine() {
    let p = Project::new("morekeys", MORE_HOST_KEYS);
    std::fs::create_dir(p.path().join("src")).unwrap();
    p.ok(&["up", "-d"]);
    let box1 = p.container("box", 1);
    let format = |project: &str| {
        format!(
            "{{{{.HostConfig.CgroupParent}}}} \
             {{{{json (index .NetworkSettings.Networks \"{project}_front\").IPAMConfig.LinkLocalIPs}}}}"
        )
    };
    let seen = inspect(&box1, &format(&p.name));
    assert_eq!(seen, "wharf-test-parent [\"169.254.10.10\"]");
    // The bind keeps its SELinux label (the `Mounts` syntax has no field for it: wharf gives
    // this bind in the `Binds` syntax, where compose v2 drops the label).
    let src = p.path().join("src").display().to_string();
    assert_eq!(
        inspect(&box1, "{{json .HostConfig.Binds}}"),
        format!("[\"{src}:/src:z,rprivate\"]")
    );
    assert_eq!(
        docker(&[
            "exec",
            &box1,
            "sh",
            "-c",
            "grep ' /src ' /proc/self/mountinfo | wc -l"
        ])
        .trim(),
        "1"
    );

    // `recursive: disabled` is the `Mounts` syntax's `NonRecursive`, as compose v2 sends it.
    let flat = |container: &str| {
        let mounts = mounts_by_target(container);
        let flat = mounts.iter().find(|m| m["Target"] == "/flat");
        flat.unwrap_or_else(|| panic!("/flat among {mounts:?}"))["BindOptions"].clone()
    };
    assert_eq!(flat(&box1), serde_json::json!({"NonRecursive": true}));

    let (peer, _peer_cleanup) = compose_v2_up(p.path(), "morekeys-peer", &[]);
    assert_eq!(inspect(&format!("{peer}-box-1"), &format(&peer)), seen);
    assert_eq!(flat(&format!("{peer}-box-1")), flat(&box1));
}

/// A container's `HostConfig.Mounts`, ordered by target.
fn mounts_by_target(container: &str) -> Vec<serde_json::Value> {
    let mut mounts: Vec<serde_json::Value> =
        serde_json::from_str(&inspect(container, "{{json .HostConfig.Mounts}}")).unwrap();
    mounts.sort_by_key(|m| m["Target"].as_str().unwrap_or_default().to_string());
    mounts
}

/// One service that reads a file secret.
const FILE_SECRET: &str = r#"
services:
  box:
    image: IMAGE
    command: ["sleep", "3600"]
    init: true
    secrets: [pw]
secrets:
  pw:
    file: ./pw.txt
"#;

/// Replaces a file as an editor saves it: a new file renamed over the old one (a bind mount
/// of the old one keeps showing the old content).
fn save(path: &Path, content: &str) {
    let temporary = path.with_extension("swp");
    std::fs::write(&temporary, content).unwrap();
    std::fs::rename(&temporary, path).unwrap();
}

#[test]
fn a_changed_secret_file_replaces_the_container_that_uses_it() {
    let p = Project::new("secretfile", FILE_SECRET);
    let secret = p.path().join("pw.txt");
    save(&secret, "first");
    p.ok(&["up", "-d"]);
    let box1 = p.container("box", 1);
    assert_eq!(docker(&["exec", &box1, "cat", "/run/secrets/pw"]), "first");
    let before = p.containers()[&box1].clone();

    save(&secret, "second");
    let out = p.ok(&["up", "-d"]);
    let after = p.containers()[&box1].clone();
    assert_ne!(after, before, "{out}");
    assert_eq!(docker(&["exec", &box1, "cat", "/run/secrets/pw"]), "second");
    p.ok(&["up", "-d"]);
    assert_eq!(
        p.containers()[&box1],
        after,
        "an unchanged secret recreates nothing"
    );

    // docker compose v2 hashes the service alone: it keeps its container on the same change.
    let (peer, _peer_cleanup) = compose_v2_up(p.path(), "secretfile-peer", &[]);
    let peer_box = format!("{peer}-box-1");
    let peer_before = project_containers(&peer)[&peer_box].clone();
    save(&secret, "third");
    let again = compose_v2_up_again(p.path(), &peer);
    assert_eq!(project_containers(&peer)[&peer_box], peer_before, "{again}");
}

/// `docker compose -p PEER up -d` again on a peer project; its progress (and its prompts,
/// which it writes to standard output).
fn compose_v2_up_again(dir: &Path, peer: &str) -> String {
    let up = Command::new("docker")
        .args(["compose", "-p", peer, "up", "-d"])
        .current_dir(dir)
        .stdin(std::process::Stdio::null())
        .output_within(COMMAND_LIMIT);
    let progress =
        String::from_utf8_lossy(&up.stdout).into_owned() + &String::from_utf8_lossy(&up.stderr);
    assert!(up.status.success(), "{progress}");
    progress
}

/// One service on a network and a volume that both carry options.
const RESOURCE_OPTIONS: &str = r#"
services:
  box:
    image: IMAGE
    command: ["sleep", "3600"]
    init: true
    networks: [net]
    volumes: [data:/data]
networks:
  net:
    labels: {tier: one}
volumes:
  data:
    labels: {backup: weekly}
"#;

/// `RESOURCE_OPTIONS` with other options for the network and for the volume.
fn resource_options_changed() -> String {
    RESOURCE_OPTIONS
        .replace(
            "labels: {tier: one}",
            "labels: {tier: two}\n    driver_opts: {com.docker.network.bridge.enable_icc: \"false\"}",
        )
        .replace(
            "labels: {backup: weekly}",
            "labels: {backup: daily}\n    driver_opts: {type: tmpfs, device: tmpfs}",
        )
}

/// The ID, labels and driver options of a network or volume (`kind`), as the engine has them.
fn resource(kind: &str, name: &str) -> (String, serde_json::Value, serde_json::Value) {
    let format = match kind {
        "network" => "{{.Id}}\t{{json .Labels}}\t{{json .Options}}",
        _ => "{{.Name}}\t{{json .Labels}}\t{{json .Options}}",
    };
    let line = docker(&[kind, "inspect", "--format", format, name]);
    let mut fields = line.trim().split('\t');
    let mut next = || fields.next().unwrap_or_default().to_string();
    let id = next();
    let labels = serde_json::from_str(&next()).unwrap();
    let options = serde_json::from_str(&next()).unwrap();
    (id, labels, options)
}

#[test]
fn changed_network_options_recreate_it_with_its_containers_and_a_changed_volume_is_kept() {
    let p = Project::new("resopts", RESOURCE_OPTIONS);
    p.ok(&["up", "-d"]);
    let (network, volume) = (format!("{}_net", p.name), format!("{}_data", p.name));
    let box1 = p.container("box", 1);
    docker(&["exec", &box1, "sh", "-c", "echo kept > /data/file"]);
    let (network_before, ..) = resource("network", &network);
    let container_before = p.containers()[&box1].clone();

    p.write(&resource_options_changed());
    let out = p.ok(&["up", "-d"]);
    // The volume is named with what differs and what to run, and kept with its data.
    assert!(
        out.contains(&format!(
            "warning: volume {volume} changed: driver_opts, labels; wharf never removes a volume"
        )) && out.contains(&format!("`docker volume rm {volume}`")),
        "{out}"
    );
    let (_, volume_labels, volume_options) = resource("volume", &volume);
    assert_eq!(volume_labels["backup"], "weekly", "{volume_labels}");
    assert!(volume_options.is_null(), "{volume_options}");
    // The network is created again with the new options, and the container anew on it.
    let (network_after, network_labels, network_options) = resource("network", &network);
    assert_ne!(network_after, network_before, "{out}");
    assert_eq!(network_labels["tier"], "two");
    assert_eq!(
        network_options["com.docker.network.bridge.enable_icc"],
        "false"
    );
    let container_after = p.containers()[&box1].clone();
    assert_ne!(container_after, container_before, "{out}");
    assert_eq!(docker(&["exec", &box1, "cat", "/data/file"]), "kept\n");
    let on_network = inspect(
        &box1,
        &format!("{{{{index .NetworkSettings.Networks \"{network}\" | json}}}}"),
    );
    assert_ne!(on_network.trim(), "null", "{box1} is on the new network");

    // Nothing more to do: the volume's warning again, nothing recreated.
    let again = p.ok(&["up", "-d"]);
    assert!(
        again.contains(&format!("warning: volume {volume} changed")),
        "{again}"
    );
    assert!(!again.contains("Network"), "{again}");
    assert_eq!(resource("network", &network).0, network_after);
    assert_eq!(p.containers()[&box1], container_after);

    // docker compose v2 on the same change: it recreates the network too (reconnecting the
    // same container), keeps the volume when it is not told `-y`, and succeeds.
    let (peer, _peer_cleanup) = {
        p.write(RESOURCE_OPTIONS);
        compose_v2_up(p.path(), "resopts-peer", &[])
    };
    let peer_network = format!("{peer}_net");
    let (peer_before, ..) = resource("network", &peer_network);
    p.write(&resource_options_changed());
    let progress = compose_v2_up_again(p.path(), &peer);
    assert!(
        progress.contains("exists but doesn't match configuration"),
        "{progress}"
    );
    let (peer_after, peer_labels, _) = resource("network", &peer_network);
    assert_ne!(peer_after, peer_before, "{progress}");
    assert_eq!(peer_labels["tier"], "two");
    let (_, peer_volume_labels, _) = resource("volume", &format!("{peer}_data"));
    assert_eq!(peer_volume_labels["backup"], "weekly");
}

/// `docker compose up -d` (v2, the peer) on a project directory, as a project of its own;
/// the guard removes what it made.
fn compose_v2_up(dir: &Path, prefix: &str, env: &[(&str, &str)]) -> (String, Cleanup) {
    let peer = unique_project(prefix);
    let cleanup = Cleanup::new(&peer);
    let up = Command::new("docker")
        .args(["compose", "-p", &peer, "up", "-d"])
        .current_dir(dir)
        .envs(env.iter().copied())
        .output()
        .expect("docker compose v2 is installed");
    assert!(
        up.status.success(),
        "{}",
        String::from_utf8_lossy(&up.stderr)
    );
    (peer, cleanup)
}
