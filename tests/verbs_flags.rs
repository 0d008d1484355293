//! The flags of `ps`, `logs`, `down`, `build`, `restart` and the global ones, against the real
//! engine, through the real binary, compared with docker compose v2 where both print the same
//! thing. Every test has its own project and removes what it made, even when it fails.

mod support;

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::Value;
use support::{Cleanup, busybox_image, unique_project, wait_until, wharf_command};

/// A project directory with a compose file, and the guard that cleans its resources up.
struct Project {
    dir: tempfile::TempDir,
    name: String,
    state: tempfile::TempDir,
    _cleanup: Cleanup,
}

impl Project {
    fn new(prefix: &str, compose: &str) -> Project {
        let name = unique_project(prefix);
        let project = Project {
            _cleanup: Cleanup::new(&name),
            dir: tempfile::tempdir().unwrap(),
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
        let compose = compose.replace("IMAGE", busybox_image());
        std::fs::write(self.path().join("compose.yaml"), compose).unwrap();
    }

    fn wharf(&self, args: &[&str]) -> Output {
        wharf_command(&self.name, self.path(), self.state.path())
            .args(args)
            .output()
            .unwrap()
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
            .arg("compose")
            .args(["-p", &self.name])
            .args(args)
            .current_dir(self.path())
            .env_remove("COMPOSE_FILE")
            .env_remove("COMPOSE_PROJECT_NAME")
            .output()
            .expect("docker compose v2 is the peer: install it as the docker CLI plugin")
    }

    fn compose_ok(&self, args: &[&str]) -> String {
        let out = self.compose(args);
        assert!(
            out.status.success(),
            "docker compose {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn container(&self, service: &str) -> String {
        format!("{}-{service}-1", self.name)
    }
}

fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

const PS_PROJECT: &str = r#"
services:
  web:
    image: IMAGE
    command: ["sleep", "3600"]
    init: true
    ports: ["8080"]
    healthcheck:
      test: ["CMD", "true"]
      interval: 1s
    depends_on: [db]
  db:
    image: IMAGE
    command: ["sleep", "3600"]
    init: true
    volumes: ["data:/data"]
  job:
    image: IMAGE
    command: ["sh", "-c", "echo hi; exit 3"]
volumes:
  data: {}
"#;

/// A time-dependent text with its numbers taken out: `Up N seconds (healthy)`.
fn without_numbers(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            if !out.ends_with('N') {
                out.push('N');
            }
        } else {
            out.push(c);
        }
    }
    out.replace("N second", "N seconds")
        .replace("N secondss", "N seconds")
        .replace("Less than a second", "N seconds")
}

#[test]
fn ps_json_has_compose_keys_and_values_and_status_filters_select_as_compose_does() {
    let p = Project::new("ps-json", PS_PROJECT);
    p.ok(&["up", "-d"]);
    wait_until(
        "web healthy and job exited",
        Duration::from_secs(20),
        || {
            let ps = p.ok(&["ps", "-a"]);
            ps.contains("(healthy)") && ps.contains("Exited (3)")
        },
        || p.ok(&["ps", "-a"]),
    );

    let wharf = json_lines(&p.ok(&["ps", "-a", "--format", "json"]));
    let compose = json_lines(&p.compose_ok(&["ps", "-a", "--format", "json"]));
    assert_eq!(wharf.len(), 3);
    assert_eq!(compose.len(), 3);
    for theirs in &compose {
        let name = theirs["Name"].as_str().unwrap();
        let ours = wharf
            .iter()
            .find(|c| c["Name"] == name)
            .unwrap_or_else(|| panic!("{name} missing from wharf's ps"));
        for (key, value) in theirs.as_object().unwrap() {
            let mine = ours
                .get(key)
                .unwrap_or_else(|| panic!("{name}: key {key} missing: {ours}"));
            match key.as_str() {
                // Go's map order: the same labels, in any order.
                "Labels" => {
                    let set = |v: &Value| {
                        let mut labels: Vec<String> =
                            v.as_str().unwrap().split(',').map(str::to_string).collect();
                        labels.sort();
                        labels
                    };
                    // Compose's labels are a subset: wharf adds its own.
                    let ours = set(mine);
                    for label in set(value) {
                        let key = label.split('=').next().unwrap().to_string();
                        if key == "com.docker.compose.version" {
                            continue;
                        }
                        assert!(ours.contains(&label), "{name}: label {label} missing");
                    }
                }
                "Status" | "RunningFor" => assert_eq!(
                    without_numbers(mine.as_str().unwrap()),
                    without_numbers(value.as_str().unwrap()),
                    "{name}: {key}"
                ),
                _ => assert_eq!(mine, value, "{name}: {key}"),
            }
        }
        assert!(ours["Restarts"].is_u64(), "wharf's own fields stay: {ours}");
    }
    let web = wharf.iter().find(|c| c["Service"] == "web").unwrap();
    assert!(web["Status"].as_str().unwrap().starts_with("Up "), "{web}");
    assert!(web["Status"].as_str().unwrap().ends_with(" (healthy)"));

    // The table: compose's columns, and wharf's RESTARTS.
    let table = p.ok(&["ps", "-a"]);
    let header: Vec<&str> = table.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        [
            "NAME", "IMAGE", "COMMAND", "SERVICE", "CREATED", "STATUS", "RESTARTS", "PORTS"
        ]
    );
    assert!(table.contains("\"sh -c 'echo hi; exi…\""), "{table}");

    // Status filters show stopped containers without -a, and name the same ones as compose.
    let names = |out: String| -> Vec<String> {
        let mut names: Vec<String> = json_lines(&out)
            .iter()
            .map(|c| c["Name"].as_str().unwrap().to_string())
            .collect();
        names.sort();
        names
    };
    for args in [
        ["ps", "--status", "exited", "--format", "json"].as_slice(),
        &["ps", "--filter", "status=running", "--format", "json"],
        &[
            "ps", "--status", "exited", "--status", "running", "--format", "json",
        ],
        &["ps", "--status", "paused", "--format", "json"],
    ] {
        assert_eq!(names(p.ok(args)), names(p.compose_ok(args)), "{args:?}");
    }
    assert_eq!(
        names(p.ok(&["ps", "--status", "exited", "--format", "json"])),
        [p.container("job")]
    );
    for args in [
        ["ps", "--services"].as_slice(),
        &["ps", "--services", "-a"],
        &["ps", "--services", "--status", "exited"],
        &["ps", "-q", "--no-trunc"],
        &["ps", "-q", "-a"],
    ] {
        let sorted = |text: String| {
            let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
            lines.sort();
            lines
        };
        assert_eq!(sorted(p.ok(args)), sorted(p.compose_ok(args)), "{args:?}");
    }
    let full = p.ok(&["ps", "--no-trunc", "--format", "json", "job", "-a"]);
    assert_eq!(json_lines(&full)[0]["ID"].as_str().unwrap().len(), 64);

    // A filter compose does not know fails, as compose's does.
    for filter in ["foo=bar", "status"] {
        let out = p.wharf(&["ps", "--filter", filter]);
        assert_eq!(out.status.code(), Some(1), "{filter}");
        assert_eq!(
            p.compose(&["ps", "--filter", filter]).status.code(),
            Some(1)
        );
        assert!(stderr(&out).starts_with("error: "), "{}", stderr(&out));
    }

    // Orphans: listed by default, as compose does; left out with --orphans=false, as compose's
    // help says (v2.40.3 lists them anyway: its service filter does not apply to several).
    p.write(&PS_PROJECT.replace("  job:", "  batch:"));
    let names_of = |args: &[&str]| {
        let mut args = args.to_vec();
        args.extend(["--format", "json"]);
        (names(p.ok(&args)), names(p.compose_ok(&args)))
    };
    let (ours, theirs) = names_of(&["ps", "-a"]);
    assert_eq!(ours, theirs);
    assert!(ours.contains(&p.container("job")));
    let ours = names(p.ok(&["ps", "-a", "--orphans=false", "--format", "json"]));
    assert_eq!(ours, [p.container("db"), p.container("web")]);
}

/// The text of a log line printed with `-t`: the time after the prefix.
fn time_of(line: &str) -> String {
    let after = line.split(" | ").nth(1).unwrap_or(line);
    after.split(' ').next().unwrap().to_string()
}

#[test]
fn logs_select_by_time_index_and_tail_and_print_as_compose_does() {
    let p = Project::new(
        "logs-flags",
        r#"
services:
  app:
    image: IMAGE
    command: ["sh", "-c", "echo one; sleep 1.5; echo two; exec sleep 3600"]
    init: true
    deploy:
      replicas: 2
  solo:
    image: IMAGE
    container_name: SOLO
    command: ["sh", "-c", "echo alone; exec sleep 3600"]
    init: true
"#
        .replace("SOLO", &format!("{}-solo-custom", unique_project("s")))
        .as_str(),
    );
    p.ok(&["up", "-d"]);
    wait_until(
        "every replica said two",
        Duration::from_secs(15),
        || p.ok(&["logs", "app"]).matches(" two").count() == 2,
        || p.ok(&["logs"]),
    );
    // Compose pads prefixes to the longest name registered so far, which depends on which
    // container's stream opens first: the padding is not compared.
    let sorted = |text: &str| {
        let mut lines: Vec<String> = text
            .lines()
            .map(|l| match l.split_once(" | ") {
                Some((name, rest)) => format!("{} | {rest}", name.trim_end()),
                None => l.to_string(),
            })
            .collect();
        lines.sort();
        lines
    };
    let stamped = p.ok(&["logs", "-t", "--index", "1", "app"]);
    let one = time_of(stamped.lines().find(|l| l.ends_with(" one")).unwrap());
    let two = time_of(stamped.lines().find(|l| l.ends_with(" two")).unwrap());
    let after_one = format!("{}Z", &two[..19]);
    for args in [
        ["logs"].as_slice(),
        &["logs", "--no-color"],
        &["logs", "--no-log-prefix", "app"],
        &["logs", "-t", "--index", "2", "app"],
        &["logs", "-n", "1", "app"],
        &["logs", "--tail", "0"],
        &["logs", "--since", &two, "--index", "1", "app"],
        &["logs", "--until", &one, "--index", "1", "app"],
        &["logs", "--since", "1h"],
        &["logs", "--until", "1h"],
        &["logs", "--since", &after_one, "solo"],
    ] {
        assert_eq!(sorted(&p.ok(args)), sorted(&p.compose_ok(args)), "{args:?}");
    }
    // Prefixes are compose's: the name without the project, a container_name whole.
    let all = p.ok(&["logs"]);
    // Padded to the longest name plus one.
    assert!(all.contains("-solo-custom  | alone"), "{all}");
    let width = all.find(" | ").unwrap();
    assert!(all.contains(&format!("{:<width$} | one", "app-1")), "{all}");
    assert_eq!(
        p.ok(&["logs", "--since", &two, "--index", "1", "app"]),
        "app-1  | two\n"
    );
    assert_eq!(
        p.ok(&["logs", "--until", &one, "--index", "1", "app"]),
        "app-1  | one\n"
    );
    // Colours: none off a terminal, compose's with --ansi always, none with --no-color.
    assert!(!p.ok(&["logs"]).contains('\x1b'));
    assert!(p.ok(&["--ansi", "always", "logs"]).contains("\x1b["));
    assert!(
        !p.ok(&["--ansi", "always", "logs", "--no-color"])
            .contains('\x1b')
    );

    // Mistakes fail as compose's do.
    for args in [
        ["logs", "--index", "1"].as_slice(),
        &["logs", "--index", "3", "app"],
        &["logs", "--since", "bogus"],
    ] {
        let out = p.wharf(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert_eq!(p.compose(args).status.code(), Some(1), "{args:?}");
    }
    assert!(stderr(&p.wharf(&["logs", "--index", "1"])).contains("--index requires one service"));
}

/// The project's containers as `name state id` lines: what a dry run must leave as it was.
fn engine_state(p: &Project) -> Vec<String> {
    let filter = format!("label=com.docker.compose.project={}", p.name);
    support::docker_lines(&[
        "ps",
        "-a",
        "--filter",
        &filter,
        "--format",
        "{{.Names}} {{.State}} {{.ID}}",
    ])
}

#[test]
fn dry_run_before_or_after_the_verb_prints_the_plan_and_changes_nothing() {
    let p = Project::new(
        "dry-run",
        r#"
services:
  web:
    image: IMAGE
    command: ["sleep", "3600"]
    init: true
    depends_on: [db]
  db:
    image: IMAGE
    command: ["sleep", "3600"]
    init: true
"#,
    );
    // Nothing exists yet: a dry `up` plans it all and creates nothing.
    let plan = p.ok(&["--dry-run", "up", "-d"]);
    assert!(plan.contains("create container"), "{plan}");
    assert!(engine_state(&p).is_empty());
    p.ok(&["up", "-d"]);
    let before = engine_state(&p);
    let runs = [
        (["--dry-run", "down"].as_slice(), "remove container"),
        (&["down", "--dry-run", "-v"], "remove network"),
        (&["stop", "--dry-run", "db"], "stop container"),
        (&["--dry-run", "restart"], "stop container"),
        (&["restart", "--dry-run", "db"], "start container"),
        (&["up", "--dry-run", "--force-recreate"], "create container"),
    ];
    for (args, expected) in runs {
        let plan = p.ok(args);
        assert!(plan.contains(expected), "{args:?}: {plan}");
        assert_eq!(engine_state(&p), before, "{args:?} changed the engine");
    }
    // The supervisor `up -d` left is still there: a dry `down` did not stop it.
    assert!(p.ok(&["ps"]).contains("supervisor: running"));

    // The verbs that act without a plan say what they would do, and do nothing.
    std::fs::write(p.path().join("f.txt"), "x").unwrap();
    let web = p.container("web");
    for (args, said) in [
        (
            &["--dry-run", "cp", "f.txt", "web:/tmp/"][..],
            "Copied f.txt to web:/tmp/",
        ),
        (&["--dry-run", "pull", "web"], "Pulled"),
        (
            &["--dry-run", "run", "-d", "web", "true"],
            "create container",
        ),
        (&["--dry-run", "exec", "-d", "web", "touch", "/tmp/x"], ""),
        (&["--dry-run", "watch"], ""),
    ] {
        let out = p.wharf(args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        let printed = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
        assert!(printed.contains(said), "{args:?}: {printed}");
        assert_eq!(engine_state(&p), before, "{args:?} changed the engine");
    }
    let files = support::docker(&["exec", &web, "ls", "/tmp"]);
    assert_eq!(files.trim(), "", "nothing copied, nothing touched");
    // Attached, `run` and `exec` are refused, in compose's words.
    for args in [
        &["--dry-run", "run", "web", "true"][..],
        &["--dry-run", "exec", "web", "true"],
    ] {
        let ours = p.wharf(args);
        let theirs = p.compose(args);
        // (compose first prints its dependencies' dry lines.)
        let last = |out: &Output| stderr(out).lines().last().unwrap_or_default().to_string();
        assert_eq!(last(&ours), format!("error: {}", last(&theirs)), "{args:?}");
        assert_eq!(
            (ours.status.code(), theirs.status.code()),
            (Some(1), Some(1))
        );
    }
}

#[test]
fn progress_json_and_quiet_as_compose_prints_them() {
    let p = Project::new(
        "progress",
        r#"
services:
  db:
    image: IMAGE
    command: ["sleep", "3600"]
    init: true
"#,
    );
    p.ok(&["up", "-d"]);
    let out = p.wharf(&["--progress", "json", "stop", "db"]);
    assert!(out.status.success());
    let lines = json_lines(&stderr(&out));
    assert_eq!(
        lines,
        [
            serde_json::json!({"id": format!("Container {}", p.container("db")), "status": "Stopped"})
        ]
    );
    // compose writes the same keys for the same operation.
    let theirs = json_lines(&stderr(&p.compose(&["--progress", "json", "start", "db"])));
    assert!(
        theirs
            .iter()
            .all(|l| l.get("id").is_some() && l.get("status").is_some())
    );
    // plain: compose's lines, without marks (compose also prints `Starting` first).
    p.ok(&["stop", "db"]);
    let ours = stderr(&p.wharf(&["--progress", "plain", "start", "db"]));
    assert_eq!(ours, format!(" Container {}  Started\n", p.container("db")));
    p.ok(&["stop", "db"]);
    let theirs = stderr(&p.compose(&["--progress", "plain", "start", "db"]));
    assert!(theirs.lines().any(|l| format!("{l}\n") == ours), "{theirs}");
    let out = p.wharf(&["--progress", "quiet", "restart", "db"]);
    assert!(out.status.success());
    assert_eq!(stderr(&out), "");
    let out = Command::new(env!("CARGO_BIN_EXE_wharf"))
        .args(["-p", &p.name, "stop", "db"])
        .current_dir(p.path())
        .env("WHARF_STATE_DIR", p.state.path())
        .env("COMPOSE_PROGRESS", "quiet")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(stderr(&out), "", "COMPOSE_PROGRESS=quiet");
}

fn started_at(container: &str) -> String {
    support::inspect(container, "{{.State.StartedAt}}")
}

#[test]
fn restart_takes_dependents_with_restart_true_unless_no_deps_as_compose_does() {
    let p = Project::new(
        "restart-deps",
        r#"
services:
  db:
    image: IMAGE
    command: ["sleep", "3600"]
    init: true
  api:
    image: IMAGE
    command: ["sleep", "3600"]
    init: true
    depends_on:
      db: {condition: service_started, restart: true}
  worker:
    image: IMAGE
    command: ["sleep", "3600"]
    init: true
    depends_on: [db]
"#,
    );
    p.ok(&["up", "-d"]);
    let times = || -> Vec<String> {
        ["db", "api", "worker"]
            .iter()
            .map(|s| started_at(&p.container(s)))
            .collect()
    };
    // Which containers each restart restarted: db, api, worker.
    let restarted = |run: &dyn Fn()| -> Vec<bool> {
        let before = times();
        run();
        before.iter().zip(times()).map(|(a, b)| *a != b).collect()
    };
    let ours = restarted(&|| {
        p.ok(&["restart", "db"]);
    });
    let theirs = restarted(&|| {
        p.compose_ok(&["restart", "db"]);
    });
    assert_eq!(ours, [true, true, false]);
    assert_eq!(ours, theirs);
    let ours = restarted(&|| {
        p.ok(&["restart", "--no-deps", "db"]);
    });
    let theirs = restarted(&|| {
        p.compose_ok(&["restart", "--no-deps", "db"]);
    });
    assert_eq!(ours, [true, false, false]);
    assert_eq!(ours, theirs);
}

#[test]
fn build_takes_build_args_no_cache_and_quiet() {
    let p = Project::new(
        "build-flags",
        r#"
services:
  app:
    build:
      context: ./app
      args: {WORD: file}
    command: ["sleep", "3600"]
"#,
    );
    let image = format!("{}-app", p.name);
    let mut cleanup = Cleanup::new(&format!("{}-images", p.name));
    cleanup.image(&image);
    let app = p.path().join("app");
    std::fs::create_dir(&app).unwrap();
    std::fs::write(
        app.join("Dockerfile"),
        format!(
            "FROM {}\nARG WORD\nRUN echo $WORD > /word; date +%s%N > /built\n",
            busybox_image()
        ),
    )
    .unwrap();
    let read = |file: &str| {
        support::docker(&["run", "--rm", &image, "cat", file])
            .trim()
            .to_string()
    };
    let out = p.wharf(&["build", "-q", "--build-arg", "WORD=flag"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stderr(&out), "", "-q prints nothing");
    assert_eq!(read("/word"), "flag");
    let built = read("/built");
    // The same arguments again: the cache answers, unless --no-cache.
    p.ok(&["build", "--build-arg", "WORD=flag"]);
    assert_eq!(read("/built"), built, "cached");
    p.ok(&["build", "--no-cache", "--build-arg", "WORD=flag"]);
    assert_ne!(read("/built"), built, "--no-cache rebuilt");
    // KEY alone takes the value from the environment.
    let out = wharf_command(&p.name, p.path(), p.state.path())
        .args(["build", "--build-arg", "WORD"])
        .env("WORD", "from-env")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(read("/word"), "from-env");
}

#[test]
fn down_with_services_removes_them_and_their_dependents_as_compose_does() {
    let p = Project::new(
        "down-some",
        r#"
services:
  db:
    image: IMAGE
    command: ["sleep", "3600"]
    init: true
  web:
    image: IMAGE
    command: ["sleep", "3600"]
    init: true
    depends_on: [db]
  other:
    image: IMAGE
    command: ["sleep", "3600"]
    init: true
"#,
    );
    let left = || -> Vec<String> {
        let mut names: Vec<String> = engine_state(&p)
            .iter()
            .map(|l| l.split(' ').next().unwrap().to_string())
            .collect();
        names.sort();
        names
    };
    let network = format!("{}_default", p.name);
    let networks = || {
        support::docker_lines(&[
            "network",
            "ls",
            "-q",
            "--filter",
            &format!("name=^{network}$"),
        ])
    };
    // compose first, without wharf's supervisor, which would restore what compose removes.
    p.compose_ok(&["up", "-d"]);
    p.compose_ok(&["down", "db"]);
    let theirs = left();
    p.compose_ok(&["down"]);
    p.ok(&["up", "-d"]);
    p.ok(&["down", "db"]);
    assert_eq!(left(), [p.container("other")]);
    assert_eq!(left(), theirs, "compose removes the same");
    assert_eq!(networks().len(), 1, "other still uses the network");
    // The supervisor leaves them down, as after `stop`; `up` brings them back.
    assert!(p.ok(&["ps"]).contains("supervisor: running"));
    p.ok(&["up", "-d"]);
    assert_eq!(left().len(), 3, "up brings them back");
    // The whole project still goes with a plain down.
    p.ok(&["down"]);
    assert!(left().is_empty());
    assert!(networks().is_empty());
}

#[test]
fn compose_variables_pick_env_files_status_stream_and_orphan_removal_as_compose_does() {
    let p = Project::new(
        "compose-env",
        r#"
services:
  app:
    image: IMAGE
    command: ["sleep", "3600"]
    init: true
    environment:
      X: ${X:-unset}
"#,
    );
    std::fs::write(p.path().join(".env"), "X=dotenv\n").unwrap();
    std::fs::write(p.path().join("custom.env"), "X=custom\n").unwrap();
    let x = |env: &[(&str, &str)], compose: bool| -> String {
        let mut command = match compose {
            true => {
                let mut c = Command::new("docker");
                c.args(["compose", "-p", &p.name]);
                c
            }
            false => wharf_command(&p.name, p.path(), p.state.path()),
        };
        command
            .args(["config", "--format", "json"])
            .current_dir(p.path())
            .env_remove("COMPOSE_ENV_FILES")
            .env_remove("COMPOSE_DISABLE_ENV_FILE");
        for (k, v) in env {
            command.env(k, v);
        }
        let out = command.output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        let config: Value = serde_json::from_slice(&out.stdout).unwrap();
        config["services"]["app"]["environment"]["X"]
            .as_str()
            .unwrap()
            .to_string()
    };
    for (env, expected) in [
        (&[][..], "dotenv"),
        (&[("COMPOSE_ENV_FILES", "custom.env")][..], "custom"),
        (&[("COMPOSE_DISABLE_ENV_FILE", "1")][..], "unset"),
        (&[("COMPOSE_DISABLE_ENV_FILE", "false")][..], "dotenv"),
    ] {
        assert_eq!(x(env, false), expected, "{env:?}");
        assert_eq!(x(env, true), expected, "compose, {env:?}");
    }

    // COMPOSE_STATUS_STDOUT: the progress lines on standard output.
    p.ok(&["up", "-d"]);
    let out = wharf_command(&p.name, p.path(), p.state.path())
        .args(["stop"])
        .env("COMPOSE_STATUS_STDOUT", "1")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("Stopped"));
    assert!(!stderr(&out).contains("Stopped"));

    // COMPOSE_REMOVE_ORPHANS: `down` removes the orphans as with --remove-orphans.
    p.write(&PS_PROJECT.replace("  web:", "  unused:"));
    let out = wharf_command(&p.name, p.path(), p.state.path())
        .args(["down"])
        .env("COMPOSE_REMOVE_ORPHANS", "true")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(engine_state(&p).is_empty(), "{:?}", engine_state(&p));
}

#[test]
fn graph_prints_dot_with_the_state_of_a_project_that_is_up_and_svg_through_graphviz() {
    let p = Project::new(
        "graph",
        r#"
services:
  web:
    image: IMAGE
    command: ["sleep", "3600"]
    init: true
    depends_on:
      db: {condition: service_started}
  db:
    image: IMAGE
    command: ["sleep", "3600"]
    init: true
"#,
    );
    let before = p.ok(&["graph"]);
    assert!(
        before.starts_with(&format!("digraph \"{}\" {{", p.name)),
        "{before}"
    );
    assert!(
        before.contains(r#""web" -> "db" [label="service_started"];"#),
        "{before}"
    );
    assert!(!before.contains("running:"), "not up yet: {before}");
    p.ok(&["up", "-d"]);
    let up = p.ok(&["graph"]);
    assert!(up.contains(r"replicas: 1\nrunning: 1/1 (running)"), "{up}");
    // SVG needs Graphviz's dot (CI installs it).
    assert!(
        Command::new("dot").arg("-V").output().is_ok(),
        "Graphviz's dot is missing: apt-get install graphviz"
    );
    let svg = p.ok(&["graph", "--output", "svg"]);
    assert!(svg.contains("<svg") && svg.contains("web"), "{svg}");
}

#[test]
fn completions_and_the_man_page_are_generated_from_the_command_line() {
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_wharf"))
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        String::from_utf8(out.stdout).unwrap()
    };
    for shell in ["bash", "zsh", "fish"] {
        let script = run(&["completion", shell]);
        for word in ["wharf", "graph", "logs", "since", "dry-run"] {
            assert!(script.contains(word), "{shell}: {word} missing");
        }
    }
    // The bash script is valid bash.
    let script = run(&["completion", "bash"]);
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), &script).unwrap();
    let check = Command::new("bash")
        .arg("-n")
        .arg(file.path())
        .output()
        .unwrap();
    assert!(check.status.success(), "{}", stderr(&check));
    let man = run(&["man"]);
    assert!(
        man.starts_with(".ie") || man.contains(".TH wharf"),
        "{}",
        &man[..200.min(man.len())]
    );
    assert!(man.contains("declarative container orchestrator"));
    let bad = Command::new(env!("CARGO_BIN_EXE_wharf"))
        .args(["completion", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2), "clap's usage error");
}

#[test]
fn down_rmi_local_removes_built_images_and_all_removes_every_tag_as_compose_does() {
    let p = Project::new("down-rmi", "");
    // A tag of the test image that only this test uses: `--rmi all` removes it, not the image.
    let tag = format!("{}-tag:1", p.name);
    let built = format!("{}-app", p.name);
    let mut cleanup = Cleanup::new(&format!("{}-images", p.name));
    cleanup.image(&tag).image(&built);
    support::docker(&["tag", busybox_image(), &tag]);
    p.write(&format!(
        r#"
services:
  app:
    build: ./app
    command: ["sleep", "3600"]
    init: true
  tagged:
    image: {tag}
    command: ["sleep", "3600"]
    init: true
"#
    ));
    let app = p.path().join("app");
    std::fs::create_dir(&app).unwrap();
    std::fs::write(
        app.join("Dockerfile"),
        format!("FROM {}\n", busybox_image()),
    )
    .unwrap();
    let exists = |image: &str| support::image_exists(image);

    for tool in ["compose", "wharf"] {
        let run = |args: &[&str]| match tool {
            "compose" => {
                p.compose_ok(args);
            }
            _ => {
                p.ok(args);
            }
        };
        run(&["up", "-d"]);
        assert!(exists(&built) && exists(&tag));
        run(&["down", "--rmi", "local"]);
        assert!(!exists(&built), "{tool}: the built image goes");
        assert!(exists(&tag), "{tool}: a tagged image stays");
        run(&["up", "-d"]);
        run(&["down", "--rmi", "all"]);
        assert!(!exists(&built) && !exists(&tag), "{tool}: every image goes");
        assert!(exists(busybox_image()), "{tool}: only the tag went");
        support::docker(&["tag", busybox_image(), &tag]);
    }
}

/// The most operations the executor had under way at once, from its `RUST_LOG` debug lines.
fn most_at_once(log: &str) -> usize {
    let (mut now, mut most) = (0usize, 0usize);
    for line in log.lines() {
        if line.contains("operation started") {
            now += 1;
            most = most.max(now);
        } else if line.contains("operation ended") {
            now -= 1;
        }
    }
    most
}

#[test]
fn parallel_bounds_the_engine_calls_at_once() {
    let services: String = (1..=4)
        .map(|n| format!("  s{n}:\n    image: IMAGE\n    command: [\"sleep\", \"3600\"]\n"))
        .collect();
    let p = Project::new("parallel", &format!("services:\n{services}"));
    let create = |global: &[&str]| {
        let out = wharf_command(&p.name, p.path(), p.state.path())
            .args(global)
            .arg("create")
            .env("RUST_LOG", "wharf::execute=debug")
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        let log = stderr(&out);
        assert_eq!(
            log.matches("operation started").count(),
            log.matches("operation ended").count(),
            "{log}"
        );
        assert!(log.matches("operation started").count() >= 5, "{log}");
        most_at_once(&log)
    };
    assert_eq!(create(&["--parallel", "1"]), 1, "one engine call at a time");
    p.ok(&["down"]);
    assert!(create(&[]) > 1, "by default, independent creates overlap");
    p.ok(&["down"]);
    assert!(create(&["--parallel", "-1"]) > 1, "-1 is the default");
}

#[test]
fn build_with_dependencies_builds_what_the_services_depend_on() {
    let p = Project::new(
        "build-deps",
        r#"
services:
  app:
    build: ./ctx
    depends_on: [lib]
  lib:
    build: ./ctx
  other:
    build: ./ctx
"#,
    );
    let mut cleanup = Cleanup::new(&format!("{}-images", p.name));
    for service in ["app", "lib", "other"] {
        cleanup.image(&format!("{}-{service}", p.name));
    }
    let ctx = p.path().join("ctx");
    std::fs::create_dir(&ctx).unwrap();
    std::fs::write(
        ctx.join("Dockerfile"),
        format!("FROM {}\n", busybox_image()),
    )
    .unwrap();
    let built = |service: &str| support::image_exists(&format!("{}-{service}", p.name));
    p.ok(&["build", "app"]);
    assert_eq!(
        (built("app"), built("lib"), built("other")),
        (true, false, false)
    );
    p.ok(&["build", "--with-dependencies", "app"]);
    assert_eq!(
        (built("app"), built("lib"), built("other")),
        (true, true, false)
    );
}
