//! Golden tests of `reconcile` and `down`: a compose file and an engine state (made by applying
//! an earlier plan to a `MemoryEngine`, then changed by hand) give a plan whose text form is
//! compared with `specs/plans/<case>.txt`. `WHARF_BLESS=1` rewrites the files instead.
//!
//! Every plan is also applied to the in-memory engine, in id order, and must succeed; after a
//! plan of `up` is applied, a second reconcile must be empty: plans converge.
//!
//! The last tests run rolling updates with the executor instead, on an engine where the new
//! replicas crash or turn unhealthy: what `failure_action` and `max_failure_ratio` leave
//! behind depends on what the replicas do, which a plan alone cannot show.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::{
    Action, BuildPolicy, DownOptions, EngineCall, Plan, PlanError, ReconcileOptions, down,
    reconcile,
};
use crate::desired::{self, BuildOptions, Desired};
use crate::engine::labels;
use crate::engine::memory::{AfterStart, MemoryEngine};
use crate::engine::{BuildRequest, ContainerEngine, ContainerState, Health};
use crate::execute::{self, ExecuteOptions, Report};
use crate::observe::{self, Observed};
use crate::spec::{LoadOptions, load};

const PROJECT: &str = "demo";

/// The project most cases start from: a database with a healthcheck, a one-shot migration,
/// and a web front end on two networks, with two named volumes.
pub(super) const SHOP: &str = r#"
services:
  db:
    image: postgres:16
    environment:
      POSTGRES_PASSWORD: secret
    volumes:
      - dbdata:/var/lib/postgresql/data
    networks: [back]
    healthcheck:
      test: ["CMD", "pg_isready"]
      interval: 2s
  migrate:
    image: demo/app:1
    command: ["migrate"]
    networks: [back]
    depends_on:
      db:
        condition: service_healthy
  web:
    image: demo/app:1
    environment:
      GREETING: hello
    ports: ["8080:80"]
    volumes:
      - uploads:/srv/uploads
    networks: [front, back]
    depends_on:
      db:
        condition: service_healthy
      migrate:
        condition: service_completed_successfully
networks:
  front: {}
  back: {}
volumes:
  dbdata: {}
  uploads: {}
"#;

/// One test's world: a project directory and an engine.
pub(super) struct Fixture {
    dir: tempfile::TempDir,
    pub(super) engine: Arc<MemoryEngine>,
}

impl Fixture {
    /// An engine that has every image `SHOP` runs.
    pub(super) fn new() -> Fixture {
        let fixture = Fixture::empty();
        fixture.engine.add_image("postgres:16");
        fixture.engine.add_image("demo/app:1");
        fixture
    }

    fn empty() -> Fixture {
        Fixture {
            dir: tempfile::tempdir().expect("a temporary directory"),
            engine: Arc::new(MemoryEngine::new()),
        }
    }

    pub(super) fn desired(&self, yaml: &str) -> Desired {
        self.desired_scaled(yaml, &[])
    }

    fn desired_scaled(&self, yaml: &str, scale: &[(&str, u32)]) -> Desired {
        let project = load(&LoadOptions {
            files: vec!["-".into()],
            stdin: Some(yaml.to_string()),
            project_name: Some(PROJECT.into()),
            cwd: self.dir.path().to_path_buf(),
            ..LoadOptions::default()
        })
        .unwrap_or_else(|d| panic!("the compose file loads: {d:?}"));
        let scale = scale.iter().map(|(s, n)| (s.to_string(), *n)).collect();
        desired::build(
            &project,
            &BuildOptions {
                scale,
                ..BuildOptions::default()
            },
        )
    }

    pub(super) fn observe(&self, desired: Option<&Desired>) -> Observed {
        block_on(observe::observe(&*self.engine, PROJECT, desired)).expect("observe")
    }

    fn plan(&self, desired: &Desired, options: &ReconcileOptions) -> Result<Plan, PlanError> {
        reconcile(desired, &self.observe(Some(desired)), options)
    }

    /// Plans, applies and checks convergence, as `wharf up` would.
    pub(super) fn up(&self, desired: &Desired, options: &ReconcileOptions) -> Plan {
        let plan = self.plan(desired, options).expect("a plan");
        self.apply(&plan);
        plan
    }

    pub(super) fn down(&self, desired: Option<&Desired>, options: &DownOptions) -> Plan {
        let plan = down(PROJECT, desired, &self.observe(desired), options);
        self.apply(&plan);
        plan
    }

    /// Runs a plan on the in-memory engine in id order (a valid order, which is checked).
    pub(super) fn apply(&self, plan: &Plan) {
        block_on(apply(
            &self.engine,
            plan,
            plan.operations.len(),
            self.dir.path(),
        ));
    }

    /// Runs the first `count` operations of a plan, as an `up` interrupted there would.
    fn apply_first(&self, plan: &Plan, count: usize) {
        block_on(apply(&self.engine, plan, count, self.dir.path()));
    }

    /// Marks every container with a healthcheck healthy, and one-shot containers as done.
    pub(super) fn settle(&self, one_shot: &[&str]) {
        for c in self.engine.all_containers() {
            if c.health.is_some() {
                self.engine.set_health(&c.id, Some(Health::Healthy));
            }
            let service = c.labels.get(labels::SERVICE).cloned().unwrap_or_default();
            if one_shot.contains(&service.as_str()) {
                self.engine
                    .set_state(&c.id, ContainerState::Exited, Some(0));
            }
        }
    }
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a tokio runtime")
        .block_on(future)
}

async fn apply(engine: &MemoryEngine, plan: &Plan, count: usize, dir: &Path) {
    for op in plan.operations.iter().take(count) {
        for dep in op.after.iter().chain(&op.settled).chain(&op.if_failed) {
            assert!(*dep < op.id, "#{} waits for a later #{dep}", op.id);
        }
        // Every operation succeeds here, so no fallback is needed.
        if op.if_failed.is_some() {
            continue;
        }
        // The control steps wait, watch or count: here, where every call succeeds, nothing.
        let Action::Engine(call) = &op.action else {
            continue;
        };
        let result = match call {
            EngineCall::CreateNetwork(n) => engine.create_network(n).await,
            EngineCall::RemoveNetwork { name } => engine.remove_network(name).await,
            EngineCall::CreateVolume(v) => engine.create_volume(v).await,
            EngineCall::RemoveVolume { name } => engine.remove_volume(name).await,
            EngineCall::PullImage {
                image, platform, ..
            } => engine.pull_image(image, platform.as_deref()).await,
            EngineCall::BuildImage { image, build, .. } => engine
                .build_image(&BuildRequest {
                    context: dir.join(build.context.clone().unwrap_or_default()),
                    dockerfile: build.dockerfile.clone().unwrap_or("Dockerfile".into()),
                    dockerfile_inline: build.dockerfile_inline.clone(),
                    tag: image.clone(),
                    args: HashMap::new(),
                    target: build.target.clone(),
                    labels: HashMap::new(),
                    ..BuildRequest::default()
                })
                .await
                .map(drop),
            EngineCall::CreateContainer { name, spec, .. } => {
                engine.create_container(name, spec).await.map(drop)
            }
            EngineCall::StartContainer { container, .. } => {
                engine.start_container(container.target()).await
            }
            EngineCall::StopContainer {
                container, timeout, ..
            } => engine.stop_container(container.target(), *timeout).await,
            EngineCall::RemoveContainer {
                container, volumes, ..
            } => engine.remove_container(container.target(), *volumes).await,
            EngineCall::RenameContainer { container, to, .. } => {
                engine.rename_container(container.target(), to).await
            }
            EngineCall::RunHook {
                container, hook, ..
            } => engine
                .exec(container.target(), &hook.exec_request())
                .await
                .map(drop),
            EngineCall::RemoveImage { image, .. } => engine.delete_image(image).await,
        };
        if let Err(err) = result {
            panic!("#{} {} failed: {err}\nplan:\n{plan}", op.id, op.action);
        }
    }
}

fn specs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("specs/plans")
}

fn blessing() -> bool {
    std::env::var("WHARF_BLESS").is_ok_and(|v| !v.is_empty() && v != "0")
}

/// Compares (or with `WHARF_BLESS=1` writes) `specs/plans/<case>.txt`.
pub(super) fn golden(case: &str, about: &str, command: &str, result: Result<&Plan, &PlanError>) {
    let mut text = String::new();
    for line in about.trim().lines() {
        text.push_str("# ");
        text.push_str(line.trim());
        text.push('\n');
    }
    text.push_str(&format!("$ wharf {command}\n"));
    match result {
        Ok(plan) if plan.operations.is_empty() && plan.warnings.is_empty() => {
            text.push_str("(no operations)\n")
        }
        Ok(plan) => text.push_str(&plan.to_string()),
        Err(err) => text.push_str(&format!("error: {err}\n")),
    }
    let path = specs_dir().join(format!("{case}.txt"));
    if blessing() {
        fs::create_dir_all(specs_dir()).expect("specs/plans");
        fs::write(&path, &text).expect("write the golden file");
        return;
    }
    let expected = fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "no {} (run with WHARF_BLESS=1 to create it)\nactual:\n{text}",
            path.display()
        )
    });
    pretty_assertions::assert_eq!(
        expected,
        text,
        "{case}: plan differs from {}",
        path.display()
    );
}

/// The second `up` of a project that the first one converged is empty.
fn assert_converged(fixture: &Fixture, desired: &Desired, options: &ReconcileOptions) {
    let again = fixture.plan(desired, options).expect("a plan");
    assert!(
        again.operations.is_empty(),
        "a second reconcile is not empty:\n{again}"
    );
}

fn up() -> ReconcileOptions {
    ReconcileOptions::default()
}

/// `SHOP` brought up and settled (the database healthy, the migration done).
fn shop() -> (Fixture, Desired) {
    let fixture = Fixture::new();
    let desired = fixture.desired(SHOP);
    fixture.up(&desired, &up());
    fixture.settle(&["migrate"]);
    // The migration exited on its own: `up` would run it again. Tests that want a converged
    // project start it as if it were a long-running service.
    (fixture, desired)
}

/// `SHOP` with every container running.
fn shop_running() -> (Fixture, Desired) {
    let fixture = Fixture::new();
    let desired = fixture.desired(SHOP);
    fixture.up(&desired, &up());
    fixture.settle(&[]);
    (fixture, desired)
}

fn replace(yaml: &str, from: &str, to: &str) -> String {
    assert!(yaml.contains(from), "{from:?} is not in the file");
    yaml.replacen(from, to, 1)
}

#[test]
fn fresh_project() {
    let fixture = Fixture::new();
    let desired = fixture.desired(SHOP);
    let plan = fixture.up(&desired, &up());
    golden(
        "fresh_project",
        "Nothing exists yet: networks and volumes first, every container created at once,
         each started after the waits for its dependencies.",
        "up",
        Ok(&plan),
    );
    fixture.settle(&[]);
    assert_converged(&fixture, &desired, &up());
    // The number label is on every container.
    for c in fixture.engine.all_containers() {
        assert_eq!(c.labels[labels::NUMBER], "1", "{}", c.name);
        assert_eq!(c.labels[labels::PROJECT], PROJECT);
    }
}

#[test]
fn unchanged_project_is_an_empty_plan() {
    let (fixture, desired) = shop_running();
    fixture.engine.clear_calls();
    let plan = fixture.up(&desired, &up());
    assert!(plan.operations.is_empty(), "{plan}");
    assert!(plan.warnings.is_empty(), "{plan}");
    assert!(fixture.engine.calls().is_empty());
    golden(
        "unchanged",
        "Everything is running as the file says: zero operations, not even waits.",
        "up",
        Ok(&plan),
    );
}

#[test]
fn exited_one_shot_is_run_again() {
    let (fixture, desired) = shop();
    let plan = fixture.up(&desired, &up());
    golden(
        "exited_one_shot",
        "The migration exited: `up` starts it again, as compose does (db stays as it is).",
        "up",
        Ok(&plan),
    );
}

#[test]
fn env_change_recreates_only_that_service() {
    let (fixture, _) = shop_running();
    let changed = fixture.desired(&replace(SHOP, "GREETING: hello", "GREETING: bonjour"));
    let plan = fixture.up(&changed, &up());
    golden(
        "env_changed",
        "web's environment changed: only web is recreated, new container first, then the old one
         is stopped, removed, and the new one renamed and started.",
        "up",
        Ok(&plan),
    );
    fixture.settle(&[]);
    assert_converged(&fixture, &changed, &up());
    assert_eq!(
        fixture.engine.spec("demo-web-1").unwrap().env,
        ["GREETING=bonjour"]
    );
}

#[test]
fn a_recreated_container_keeps_its_anonymous_volumes_unless_renewed() {
    let fixture = Fixture::new();
    let file = "services:\n  web:\n    image: demo/app:1\n    environment: {V: '1'}\n    volumes: [/cache, /data, 'named:/named']\nvolumes:\n  named: {}\n";
    let first = fixture.desired(file);
    fixture.up(&first, &up());
    let volumes = |fixture: &Fixture| -> Vec<(String, String)> {
        let mounts = fixture.engine.spec("demo-web-1").unwrap().mounts;
        mounts
            .iter()
            .map(|m| (m.target.clone(), m.source.clone().unwrap_or_default()))
            .collect()
    };
    let before = volumes(&fixture);
    let anonymous: Vec<&(String, String)> = before.iter().filter(|(t, _)| t != "/named").collect();
    assert!(anonymous.iter().all(|(_, source)| source.is_empty()));

    // The first recreate passes the engine's anonymous volumes on, by name, at their targets.
    let observed = fixture.observe(Some(&first));
    let old: Vec<(String, String)> = observed.services["web"][0]
        .engine
        .volumes
        .iter()
        .filter(|v| v.anonymous)
        .map(|v| (v.target.clone(), v.name.clone()))
        .collect();
    assert_eq!(old.len(), 2);
    let second = fixture.desired(&file.replace("'1'", "'2'"));
    fixture.up(&second, &up());
    let after = volumes(&fixture);
    for (target, name) in &old {
        assert!(
            after.contains(&(target.clone(), name.clone())),
            "{target}: {after:?}"
        );
    }
    assert!(after.contains(&("/named".to_string(), "demo_named".to_string())));

    // And again on the next one: they are still anonymous volumes.
    let third = fixture.desired(&file.replace("'1'", "'3'"));
    fixture.up(&third, &up());
    assert_eq!(volumes(&fixture), after);

    // `up -V` starts the replacement with new ones.
    let fourth = fixture.desired(&file.replace("'1'", "'4'"));
    let renew = ReconcileOptions {
        renew_anon_volumes: true,
        ..up()
    };
    fixture.up(&fourth, &renew);
    let renewed = volumes(&fixture);
    assert!(
        renewed
            .iter()
            .filter(|(t, _)| t != "/named")
            .all(|(_, s)| s.is_empty()),
        "{renewed:?}"
    );
}

/// Every kind of supervised decision in one project, at one instant. crashed and backing_off
/// have policies the engine cannot apply (`any` with `max_attempts`): the supervisor alone
/// restarts them.
const SUPERVISED: &str = r#"
services:
  crashed:
    image: demo/app:1
    deploy:
      restart_policy: {condition: any, max_attempts: 5}
  backing_off:
    image: demo/app:1
    deploy:
      restart_policy: {condition: any, max_attempts: 10}
  gave_up:
    image: demo/app:1
    restart: "on-failure:1"
  finished:
    image: demo/app:1
  drifted:
    image: demo/app:1
  unhealthy:
    image: demo/app:1
    restart: always
    healthcheck:
      test: ["CMD", "check"]
  user_stopped:
    image: demo/app:1
    restart: always
"#;

#[test]
fn supervised_decisions() {
    use crate::restart::{Exit, Millis};
    use std::time::Duration;
    let fixture = Fixture::new();
    let desired = fixture.desired(SUPERVISED);
    fixture.up(&desired, &up());
    let t0 = Millis(1_000_000);
    let now = t0.plus(Duration::from_secs(30));
    let mut book = crate::restart::RestartBook::default();
    let policy = |service: &str| desired.services[service].restart;
    let exited = |service: &str, code: i64| {
        fixture.engine.set_state(
            &format!("{PROJECT}-{service}-1"),
            ContainerState::Exited,
            Some(code),
        )
    };
    let before = |ms: u64| Millis(now.0 - ms);
    // crashed: exited 5 s ago after a run of 25 s: restarted now.
    exited("crashed", 137);
    book.slot("crashed", 1).record_start(t0);
    book.slot("crashed", 1)
        .record_exit(&policy("crashed"), before(5_000), Exit::Code(137));
    // backing_off: its fourth quick exit in a row, 50 ms ago: 400 ms of backoff, 350 ms to go.
    exited("backing_off", 1);
    let slot = book.slot("backing_off", 1);
    slot.record_start(before(3_000));
    for (exit, restart) in [(2_900, 2_700), (2_600, 2_300), (2_200, 1_700)] {
        slot.record_exit(&policy("backing_off"), before(exit), Exit::Code(1));
        slot.record_restart(&policy("backing_off"), before(restart));
    }
    slot.record_exit(&policy("backing_off"), before(50), Exit::Code(1));
    // gave_up: restarted once already, `on-failure:1` allows no more.
    exited("gave_up", 2);
    let slot = book.slot("gave_up", 1);
    slot.record_start(t0);
    slot.record_exit(
        &policy("gave_up"),
        t0.plus(Duration::from_secs(1)),
        Exit::Code(2),
    );
    slot.record_restart(&policy("gave_up"), t0.plus(Duration::from_secs(2)));
    slot.record_exit(
        &policy("gave_up"),
        t0.plus(Duration::from_secs(3)),
        Exit::Code(2),
    );
    // finished: no policy, exited by itself: left exited.
    exited("finished", 0);
    // drifted: no policy, but `docker stop` behind wharf's back: started again.
    exited("drifted", 0);
    // unhealthy: running but unhealthy under `always`: stopped and started.
    fixture
        .engine
        .set_health(&format!("{PROJECT}-unhealthy-1"), Some(Health::Unhealthy));
    book.slot("unhealthy", 1).record_start(t0);
    // user_stopped: `wharf stop`: left alone.
    exited("user_stopped", 0);
    let options = ReconcileOptions {
        supervision: Some(super::Supervision {
            book,
            now,
            drifted: [("drifted".to_string(), 1)].into_iter().collect(),
            user_stopped: ["user_stopped".to_string()].into_iter().collect(),
        }),
        no_recreate: true,
        ..up()
    };
    let plan = fixture.plan(&desired, &options).expect("a plan");
    golden(
        "supervised",
        "The supervisor's plan at one instant: crashed restarts now (its backoff is over), backing_off
         waits (wake_at is when), gave_up and finished stay exited, drifted is started again
         whatever its policy, unhealthy is stopped and started, user_stopped is left alone.",
        "up (supervised)",
        Ok(&plan),
    );
    assert_eq!(plan.wake_at, Some(now.plus(Duration::from_millis(350))));
    // What an attached `up` waits for before it ends: the services that stay down.
    let observed = fixture.observe(Some(&desired));
    let settled = options
        .supervision
        .as_ref()
        .unwrap()
        .settled(&desired, &observed);
    assert_eq!(
        settled.iter().map(String::as_str).collect::<Vec<_>>(),
        ["finished", "gave_up", "user_stopped"]
    );
}

#[test]
fn a_service_the_user_stopped_stays_stopped_when_its_containers_go() {
    use crate::restart::{Exit, Millis};
    let fixture = Fixture::new();
    let desired = fixture.desired_scaled(
        r#"
services:
  db:
    image: demo/app:1
    restart: always
  app:
    image: demo/app:1
    deploy:
      restart_policy: {condition: any, max_attempts: 5}
    depends_on: [db]
"#,
        &[("db", 2)],
    );
    fixture.up(&desired, &up());
    // `wharf stop db`, then one replica removed and one recreated (never started) behind
    // wharf's back; meanwhile app crashed, and its backoff is over.
    fixture
        .engine
        .set_state(&format!("{PROJECT}-db-1"), ContainerState::Created, None);
    fixture
        .engine
        .set_state(&format!("{PROJECT}-db-2"), ContainerState::Exited, Some(0));
    block_on(crate::engine::ContainerEngine::remove_container(
        &*fixture.engine,
        &format!("{PROJECT}-db-2"),
        false,
    ))
    .expect("remove db-2");
    fixture.engine.set_state(
        &format!("{PROJECT}-app-1"),
        ContainerState::Exited,
        Some(137),
    );
    let now = Millis(1_000_000);
    let mut book = crate::restart::RestartBook::default();
    let slot = book.slot("app", 1);
    slot.record_start(Millis(now.0 - 60_000));
    slot.record_exit(
        &desired.services["app"].restart,
        Millis(now.0 - 5_000),
        Exit::Code(137),
    );
    let options = ReconcileOptions {
        supervision: Some(super::Supervision {
            book,
            now,
            user_stopped: ["db".to_string()].into_iter().collect(),
            ..Default::default()
        }),
        ..up()
    };
    let plan = fixture.plan(&desired, &options).expect("a plan");
    golden(
        "supervised_user_stopped",
        "db was stopped with `wharf stop`; then db-2 was removed and db-1 recreated behind
         wharf's back. The supervisor creates and starts nothing of db, and app, whose crash it
         restarts, does not wait for db: nothing would ever start it.",
        "up (supervised)",
        Ok(&plan),
    );
}

/// The engine's own restart policy is the floor under the supervisor: it restarts the exits of
/// the services whose policy it can apply, and the supervisor does not race it.
#[test]
fn exits_the_engine_restarts_are_left_to_it() {
    use crate::restart::{EngineRestart, Millis};
    let fixture = Fixture::new();
    let desired = fixture.desired(
        r#"
services:
  restarting:
    image: demo/app:1
    restart: always
  killed:
    image: demo/app:1
    restart: unless-stopped
  stopped:
    image: demo/app:1
    restart: always
  retried:
    image: demo/app:1
    restart: "on-failure:3"
  sick:
    image: demo/app:1
    restart: always
    healthcheck:
      test: ["CMD", "check"]
"#,
    );
    assert_eq!(
        desired.services["retried"].container.restart,
        EngineRestart::OnFailure { max_retries: 3 }
    );
    fixture.up(&desired, &up());
    let state = |service: &str, state: ContainerState, code: Option<i64>| {
        fixture
            .engine
            .set_state(&format!("{PROJECT}-{service}-1"), state, code)
    };
    // restarting: the engine is restarting it after a crash.
    state("restarting", ContainerState::Restarting, Some(1));
    // killed: `docker kill` (the engine does not restart what its API stopped): drift.
    state("killed", ContainerState::Exited, Some(137));
    // stopped: `wharf stop`: left alone.
    state("stopped", ContainerState::Exited, Some(0));
    // retried: the engine used up its three retries.
    state("retried", ContainerState::Exited, Some(2));
    // sick: running but unhealthy: the engine never restarts that, the supervisor does.
    fixture
        .engine
        .set_health(&format!("{PROJECT}-sick-1"), Some(Health::Unhealthy));
    let options = ReconcileOptions {
        supervision: Some(super::Supervision {
            now: Millis(1_000_000),
            user_stopped: ["stopped".to_string()].into_iter().collect(),
            ..Default::default()
        }),
        no_recreate: true,
        ..up()
    };
    let plan = fixture.plan(&desired, &options).expect("a plan");
    assert_eq!(
        plan.to_string().lines().collect::<Vec<_>>(),
        [
            "#0 start container demo-killed-1 (stopped behind wharf's back)",
            "#1 stop container demo-sick-1 (unhealthy, attempt 1)",
            "#2 start container demo-sick-1 (unhealthy, attempt 1) [#1]",
        ],
    );
    let observed = fixture.observe(Some(&desired));
    let settled = options
        .supervision
        .as_ref()
        .unwrap()
        .settled(&desired, &observed);
    assert_eq!(
        settled.iter().map(String::as_str).collect::<Vec<_>>(),
        ["retried", "stopped"]
    );
}

#[test]
fn changed_while_stopped() {
    let (fixture, _) = shop_running();
    fixture
        .engine
        .set_state("demo-web-1", ContainerState::Exited, Some(0));
    let changed = fixture.desired(&replace(SHOP, "GREETING: hello", "GREETING: bonjour"));
    let plan = fixture.up(&changed, &up());
    golden(
        "changed_while_stopped",
        "web changed while its container was stopped: replaced without a stop.",
        "up",
        Ok(&plan),
    );
    fixture.settle(&[]);
    assert_converged(&fixture, &changed, &up());
}

#[test]
fn interrupted_replacement_is_finished() {
    let (fixture, _) = shop_running();
    let changed = fixture.desired(&replace(SHOP, "GREETING: hello", "GREETING: bonjour"));
    let plan = fixture.plan(&changed, &up()).unwrap();
    // Stopped after the old container was removed, before the rename.
    fixture.apply_first(&plan, 3);
    let plan = fixture.up(&changed, &up());
    golden(
        "interrupted_after_remove",
        "An `up` that replaced web stopped after removing the old container: the new one is
         kept, renamed to its name and started.",
        "up",
        Ok(&plan),
    );
    fixture.settle(&[]);
    assert_converged(&fixture, &changed, &up());
}

#[test]
fn interrupted_replacement_before_stop() {
    let (fixture, _) = shop_running();
    let changed = fixture.desired(&replace(SHOP, "GREETING: hello", "GREETING: bonjour"));
    let plan = fixture.plan(&changed, &up()).unwrap();
    // Stopped right after the new container was created.
    fixture.apply_first(&plan, 1);
    let plan = fixture.up(&changed, &up());
    golden(
        "interrupted_after_create",
        "An `up` that replaced web stopped after creating the new container: both carry replica
         number 1; the up-to-date new one keeps it, the old one is removed, the new one renamed.",
        "up",
        Ok(&plan),
    );
    fixture.settle(&[]);
    assert_converged(&fixture, &changed, &up());
}

#[test]
fn interrupted_replacement_then_changed_again() {
    let (fixture, _) = shop_running();
    let changed = fixture.desired(&replace(SHOP, "GREETING: hello", "GREETING: bonjour"));
    let plan = fixture.plan(&changed, &up()).unwrap();
    // Stopped right after the new container was created; then the file changed again.
    fixture.apply_first(&plan, 1);
    let again = fixture.desired(&replace(SHOP, "GREETING: hello", "GREETING: hola"));
    let plan = fixture.up(&again, &up());
    golden(
        "interrupted_then_changed",
        "An `up` that replaced web stopped after creating the new container, and the file
         changed again: both containers of replica 1 are out of date. The older one is replaced;
         the newer one, under the temporary name the replacement takes, is removed first.",
        "up",
        Ok(&plan),
    );
    fixture.settle(&[]);
    assert_converged(&fixture, &again, &up());
}

#[test]
fn a_replica_being_removed_is_waited_for_and_created_again() {
    let (fixture, desired) = shop_running();
    fixture
        .engine
        .set_state("demo-web-1", ContainerState::Removing, None);
    let plan = fixture.up(&desired, &up());
    golden(
        "being_removed",
        "The engine is removing web's replica (a wharf process was killed right after asking):
         its removal is waited for, and the replica created again under its name.",
        "up",
        Ok(&plan),
    );
    fixture.settle(&[]);
    assert_converged(&fixture, &desired, &up());
}

#[test]
fn dependency_scaled_to_zero_is_not_waited_for() {
    let fixture = Fixture::new();
    let desired = fixture.desired_scaled(SHOP, &[("migrate", 0)]);
    let plan = fixture.up(&desired, &up());
    golden(
        "scaled_to_zero",
        "migrate is scaled to 0: it gets no container, and web does not wait for it.",
        "up --scale migrate=0",
        Ok(&plan),
    );
    fixture.settle(&[]);
    assert_converged(&fixture, &desired, &up());
}

#[test]
fn dependent_with_restart_true_is_recreated() {
    let yaml = replace(
        SHOP,
        "      migrate:\n        condition: service_completed_successfully",
        "      migrate:\n        condition: service_completed_successfully\n        restart: true",
    );
    let fixture = Fixture::new();
    let desired = fixture.desired(&yaml);
    fixture.up(&desired, &up());
    fixture.settle(&[]);
    let changed = fixture.desired(&replace(
        &yaml,
        "command: [\"migrate\"]",
        "command: [\"migrate\", \"--all\"]",
    ));
    let plan = fixture.up(&changed, &up());
    golden(
        "dependent_restart",
        "migrate changed, and web declared `restart: true` on it: both are recreated, web after
         migrate completed; db is untouched.",
        "up",
        Ok(&plan),
    );
    fixture.settle(&[]);
    assert_converged(&fixture, &changed, &up());
}

#[test]
fn dependent_without_restart_is_kept() {
    let (fixture, _) = shop_running();
    let changed = fixture.desired(&replace(
        SHOP,
        "POSTGRES_PASSWORD: secret",
        "POSTGRES_PASSWORD: other",
    ));
    let plan = fixture.up(&changed, &up());
    golden(
        "dependency_changed",
        "db changed; its dependents did not declare `restart: true`: only db is recreated.",
        "up",
        Ok(&plan),
    );
}

#[test]
fn image_id_change_recreates() {
    let (fixture, desired) = shop_running();
    // A new image under the same tag (a `docker build -t demo/app:1` or a pull elsewhere).
    fixture.engine.add_image("demo/app:1");
    let plan = fixture.up(&desired, &up());
    golden(
        "image_changed",
        "demo/app:1 now names another image: the two services running it are recreated.",
        "up",
        Ok(&plan),
    );
    fixture.settle(&[]);
    assert_converged(&fixture, &desired, &up());
}

#[test]
fn force_recreate() {
    let (fixture, desired) = shop_running();
    let options = ReconcileOptions {
        force_recreate: true,
        ..up()
    };
    let plan = fixture.up(&desired, &options);
    golden(
        "force_recreate",
        "--force-recreate replaces every container although nothing changed.",
        "up --force-recreate",
        Ok(&plan),
    );
    fixture.settle(&[]);
    assert_converged(&fixture, &desired, &up());
}

#[test]
fn a_replacement_names_the_replica_it_replaces_as_compose_does() {
    let (fixture, desired) = shop_running();
    let replaced = |plan: &Plan| -> Vec<Option<String>> {
        plan.operations
            .iter()
            .filter_map(|op| match op.action.engine_call()? {
                EngineCall::CreateContainer { spec, .. } => {
                    Some(spec.identity.as_ref().and_then(|i| i.replaces.clone()))
                }
                _ => None,
            })
            .collect()
    };
    let options = ReconcileOptions {
        force_recreate: true,
        ..up()
    };
    let mut labels = replaced(&fixture.up(&desired, &options));
    labels.sort();
    let expected = ["db-1", "migrate-1", "web-1"].map(|n| Some(n.to_string()));
    assert_eq!(labels, expected);

    let fresh = Fixture::new();
    let created = replaced(&fresh.up(&desired, &up()));
    assert!(!created.is_empty() && created.iter().all(Option::is_none));
}

#[test]
fn a_provider_service_is_left_to_compose_and_its_dependents_still_start() {
    let fixture = Fixture::new();
    let desired = fixture.desired(
        "services:\n  \
           db:\n    provider:\n      type: awesomecloud\n      options: {type: mysql}\n  \
           web:\n    image: demo/app:1\n    depends_on: [db]\n",
    );
    assert!(!desired.services.contains_key("db"));
    assert!(
        desired.disabled.contains(&"db".to_string()),
        "not an orphan"
    );
    let plan = fixture.up(&desired, &up());
    let created: Vec<&str> = plan
        .operations
        .iter()
        .filter_map(|op| match op.action.engine_call()? {
            EngineCall::CreateContainer { name, .. } => Some(name.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(created, ["demo-web-1"]);
}

#[test]
fn no_recreate() {
    let (fixture, _) = shop_running();
    fixture
        .engine
        .set_state("demo-web-1", ContainerState::Exited, Some(0));
    let changed = fixture.desired(&replace(SHOP, "GREETING: hello", "GREETING: bonjour"));
    let options = ReconcileOptions {
        no_recreate: true,
        ..up()
    };
    let plan = fixture.up(&changed, &options);
    golden(
        "no_recreate",
        "web changed and is stopped; --no-recreate keeps the old container and only starts it.",
        "up --no-recreate",
        Ok(&plan),
    );
    assert_converged(&fixture, &changed, &options);
}

#[test]
fn scale_up() {
    let (fixture, _) = shop_running();
    let scaled = fixture.desired_scaled(SHOP, &[("web", 3)]);
    let plan = fixture.up(&scaled, &up());
    golden(
        "scale_up",
        "web goes from 1 to 3 replicas: replicas 2 and 3 are created; replica 1 is kept.",
        "up --scale web=3",
        Ok(&plan),
    );
    fixture.settle(&[]);
    assert_converged(&fixture, &scaled, &up());
}

#[test]
fn scale_down_removes_diverged_first() {
    let fixture = Fixture::new();
    let three = fixture.desired_scaled(SHOP, &[("web", 3)]);
    fixture.up(&three, &up());
    fixture.settle(&[]);
    // Replica 1 was made from another configuration.
    fixture
        .engine
        .set_label("demo-web-1", labels::CONFIG_HASH, "0ld");
    let one = fixture.desired(SHOP);
    let plan = fixture.up(&one, &up());
    golden(
        "scale_down",
        "web goes from 3 to 1 replica and replica 1 has diverged: the diverged one goes first,
         then the highest number; replica 2 is kept as it is (numbers may have gaps).",
        "up (web: scale 3 -> 1)",
        Ok(&plan),
    );
    assert_converged(&fixture, &one, &up());
    let names: Vec<String> = fixture
        .engine
        .all_containers()
        .into_iter()
        .map(|c| c.name)
        .collect();
    assert!(names.contains(&"demo-web-2".to_string()), "{names:?}");
}

#[test]
fn duplicate_numbers_keep_the_oldest() {
    let (fixture, desired) = shop_running();
    let web = fixture.engine.container("demo-web-1");
    let web = block_on(web).unwrap();
    let labels: Vec<(&str, &str)> = web
        .labels
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    fixture.engine.add_container(
        "demo-web-copy",
        "demo/app:1",
        &labels,
        ContainerState::Running,
    );
    let plan = fixture.up(&desired, &up());
    golden(
        "duplicate_numbers",
        "Two containers carry web's replica number 1: the older one is kept, the other removed.",
        "up",
        Ok(&plan),
    );
    assert_converged(&fixture, &desired, &up());
}

const WITH_WORKER: &str =
    "  worker:\n    image: demo/app:1\n    command: [\"work\"]\n    networks: [back]\n";

#[test]
fn orphans_are_warned_about() {
    let fixture = Fixture::new();
    let before = fixture.desired(&replace(
        SHOP,
        "networks:\n  front",
        &format!("{WITH_WORKER}networks:\n  front"),
    ));
    fixture.up(&before, &up());
    fixture.settle(&[]);
    let after = fixture.desired(SHOP);
    let plan = fixture.up(&after, &up());
    golden(
        "orphans_warned",
        "worker was removed from the file: its container is an orphan, named in a warning and
         left alone.",
        "up",
        Ok(&plan),
    );
    assert!(plan.operations.is_empty());
}

#[test]
fn remove_orphans() {
    let fixture = Fixture::new();
    let before = fixture.desired(&replace(
        SHOP,
        "networks:\n  front",
        &format!("{WITH_WORKER}networks:\n  front"),
    ));
    fixture.up(&before, &up());
    fixture.settle(&[]);
    let after = fixture.desired(SHOP);
    let options = ReconcileOptions {
        remove_orphans: true,
        ..up()
    };
    let plan = fixture.up(&after, &options);
    golden(
        "remove_orphans",
        "--remove-orphans stops and removes the container of the service no longer in the file.",
        "up --remove-orphans",
        Ok(&plan),
    );
    assert_converged(&fixture, &after, &up());
}

#[test]
fn service_arguments_bring_dependencies() {
    let fixture = Fixture::new();
    let desired = fixture.desired(SHOP);
    let options = ReconcileOptions {
        services: vec!["migrate".into()],
        ..up()
    };
    let plan = fixture.up(&desired, &options);
    golden(
        "service_args",
        "`up migrate` on a fresh project: migrate and its dependency db, with only the network
         and volume they use; web and its network and volume are left out.",
        "up migrate",
        Ok(&plan),
    );
}

#[test]
fn service_arguments_without_dependencies() {
    let fixture = Fixture::new();
    let desired = fixture.desired(SHOP);
    let options = ReconcileOptions {
        services: vec!["migrate".into()],
        no_deps: true,
        ..up()
    };
    let plan = fixture.up(&desired, &options);
    golden(
        "service_args_no_deps",
        "`up --no-deps migrate`: migrate alone, with no wait for db (which is not brought up).",
        "up --no-deps migrate",
        Ok(&plan),
    );
}

#[test]
fn unknown_service_argument() {
    let fixture = Fixture::new();
    let desired = fixture.desired(SHOP);
    let options = ReconcileOptions {
        services: vec!["wbe".into()],
        ..up()
    };
    let result = fixture.plan(&desired, &options);
    assert_eq!(
        result.as_ref().unwrap_err(),
        &PlanError::UnknownService { name: "wbe".into() }
    );
    golden(
        "unknown_service",
        "A service argument the file does not define.",
        "up wbe",
        result.as_ref(),
    );
}

#[test]
fn stopped_container_is_started() {
    let (fixture, desired) = shop_running();
    fixture
        .engine
        .set_state("demo-web-1", ContainerState::Exited, Some(137));
    let plan = fixture.up(&desired, &up());
    golden(
        "stopped_started",
        "web's container is up to date but stopped: it is started (after its dependencies are
         waited for); nothing is recreated.",
        "up",
        Ok(&plan),
    );
    assert_converged(&fixture, &desired, &up());
}

#[test]
fn unlabelled_network_and_volume_are_reused() {
    let fixture = Fixture::new();
    fixture.engine.add_network("demo_back", &[]);
    fixture
        .engine
        .add_volume("demo_dbdata", &[(labels::PROJECT, "another")]);
    let desired = fixture.desired(SHOP);
    let plan = fixture.up(&desired, &up());
    golden(
        "foreign_resources_reused",
        "demo_back exists without labels and demo_dbdata belongs to another project: both are
         used as they are, with a warning each; the others are created.",
        "up",
        Ok(&plan),
    );
}

/// `SHOP` with other options for the network `back`, which every service is on.
fn shop_back_changed() -> String {
    replace(
        SHOP,
        "  back: {}",
        "  back:\n    internal: true\n    labels: {tier: data}",
    )
}

fn network_settings(fixture: &Fixture, name: &str) -> crate::engine::NetworkSettings {
    let observed = fixture.observe(None);
    observed.networks[name].engine.settings.clone()
}

#[test]
fn changed_network_is_recreated_with_its_containers() {
    let (fixture, _) = shop_running();
    let changed = fixture.desired(&shop_back_changed());
    let plan = fixture.up(&changed, &up());
    golden(
        "network_changed",
        "The network back now has other options (internal, labels): as compose v2 does, it is
         removed and created again. Every container on it is stopped and removed first, and its
         service's replicas are created anew on the new network (a reconnect would lose their
         aliases), once its create is over (`done`): should the engine refuse to remove the
         network, they are created on the old one again. front and the volumes stay.",
        "up",
        Ok(&plan),
    );
    fixture.settle(&[]);
    assert_converged(&fixture, &changed, &up());
    let settings = network_settings(&fixture, "demo_back");
    assert!(settings.internal, "{settings:?}");
    assert_eq!(fixture.engine.volume_names().len(), 2);
}

#[test]
fn a_network_the_engine_will_not_remove_gets_its_containers_back() {
    let (fixture, _) = shop_running();
    // Another project's container on it, which the engine's network list does not show.
    fixture.engine.fail(
        "remove_network",
        "demo_back",
        "error while removing network: network demo_back has active endpoints",
    );
    fixture
        .engine
        .after_start("demo-db-1", AfterStart::Health(Health::Healthy));
    fixture
        .engine
        .after_start("demo-migrate-1", AfterStart::Exit(0));
    let changed = fixture.desired(&shop_back_changed());
    let report = run_update(&fixture, &changed);
    assert_eq!(report.failures.len(), 1, "{report:?}");
    assert!(!network_settings(&fixture, "demo_back").internal);
    let running: Vec<String> = replicas(&fixture)
        .into_iter()
        .filter(|(_, _, running)| *running)
        .map(|(name, ..)| name)
        .collect();
    assert_eq!(
        running,
        ["demo-db-1", "demo-web-1"],
        "migrate ran and exited 0"
    );
}

#[test]
fn changed_network_is_kept_when_other_containers_are_on_it() {
    let (fixture, _) = shop_running();
    let changed = fixture.desired(&shop_back_changed());
    let options = ReconcileOptions {
        services: vec!["migrate".into()],
        no_deps: true,
        ..up()
    };
    let plan = fixture.up(&changed, &options);
    golden(
        "network_changed_kept",
        "back changed, but `up --no-deps migrate` leaves db and web alone, and they are on it:
         the network is kept as it is, with a warning that says what to run.",
        "up --no-deps migrate",
        Ok(&plan),
    );
    let no_recreate = ReconcileOptions {
        no_recreate: true,
        ..up()
    };
    let plan = fixture.up(&changed, &no_recreate);
    golden(
        "network_changed_no_recreate",
        "back changed, but `--no-recreate` keeps every container: so is the network.",
        "up --no-recreate",
        Ok(&plan),
    );
    assert!(!network_settings(&fixture, "demo_back").internal);
}

#[test]
fn changed_volume_is_kept_with_a_warning() {
    let (fixture, _) = shop_running();
    let changed = fixture.desired(&replace(
        SHOP,
        "  dbdata: {}",
        "  dbdata:\n    driver_opts: {type: tmpfs, device: tmpfs}\n    labels: {backup: daily}",
    ));
    let plan = fixture.up(&changed, &up());
    golden(
        "volume_changed",
        "The volume dbdata now has other driver_opts and labels: compose v2 asks whether to
         recreate it (data will be lost); wharf never removes a volume, so it keeps it and says
         which options differ and what to run. Nothing else changes.",
        "up",
        Ok(&plan),
    );
    assert!(plan.operations.is_empty());
    assert_eq!(fixture.engine.volume_names().len(), 2);
}

#[test]
fn resources_with_the_files_options_are_unchanged() {
    let fixture = Fixture::new();
    let yaml = replace(
        &shop_back_changed(),
        "  dbdata: {}",
        "  dbdata:\n    driver: local\n    labels: {backup: daily}",
    );
    let desired = fixture.desired(&yaml);
    fixture.up(&desired, &up());
    fixture.settle(&[]);
    let plan = fixture.plan(&desired, &up()).expect("a plan");
    assert!(plan.warnings.is_empty(), "{plan}");
    assert_converged(&fixture, &desired, &up());
}

/// A service that reads a password from a file secret, and one without secrets.
const WITH_SECRET: &str = r#"
services:
  db:
    image: postgres:16
    environment:
      POSTGRES_PASSWORD_FILE: /run/secrets/pw
    secrets: [pw]
  web:
    image: demo/app:1
secrets:
  pw:
    file: ./pw.txt
"#;

#[test]
fn a_changed_secret_file_recreates_the_services_that_use_it() {
    let fixture = Fixture::new();
    let secret = fixture.dir.path().join("pw.txt");
    fs::write(&secret, "first").unwrap();
    let desired = fixture.desired(WITH_SECRET);
    fixture.up(&desired, &up());
    fixture.settle(&[]);
    assert_converged(&fixture, &desired, &up());

    fs::write(&secret, "second").unwrap();
    let changed = fixture.desired(WITH_SECRET);
    let plan = fixture.up(&changed, &up());
    golden(
        "secret_changed",
        "The file of db's secret holds something else (the compose file is the same, and so is
         the config hash): db is recreated so that it reads the new content; web uses no
         secret and stays.",
        "up",
        Ok(&plan),
    );
    fixture.settle(&[]);
    assert_converged(&fixture, &changed, &up());
}

const EXTERNAL: &str = r#"
services:
  web:
    image: demo/app:1
    networks: [shared]
    volumes: [certs:/certs:ro]
networks:
  shared:
    external: true
    name: proxy
volumes:
  certs:
    external: true
"#;

#[test]
fn external_network_missing_is_an_error() {
    let fixture = Fixture::new();
    let desired = fixture.desired(EXTERNAL);
    let result = fixture.plan(&desired, &up());
    golden(
        "external_missing",
        "The file uses an external network that does not exist: wharf never creates it.",
        "up",
        result.as_ref(),
    );
    assert!(matches!(
        result,
        Err(PlanError::ExternalMissing { ref name, .. }) if name == "proxy"
    ));
}

#[test]
fn external_resources_present_are_used() {
    let fixture = Fixture::new();
    fixture.engine.add_network("proxy", &[]);
    fixture.engine.add_volume("certs", &[]);
    let desired = fixture.desired(EXTERNAL);
    let plan = fixture.up(&desired, &up());
    golden(
        "external_present",
        "External network and volume exist: used, never created, no warning.",
        "up",
        Ok(&plan),
    );
    fixture.settle(&[]);
    let down_plan = fixture.down(
        Some(&desired),
        &DownOptions {
            volumes: true,
            ..DownOptions::default()
        },
    );
    golden(
        "down_external",
        "`down -v` never removes external networks or volumes.",
        "down -v",
        Ok(&down_plan),
    );
    assert!(
        fixture
            .engine
            .network_names()
            .contains(&"proxy".to_string())
    );
    assert!(fixture.engine.volume_names().contains(&"certs".to_string()));
}

const BUILT: &str = r#"
services:
  api:
    build:
      context: ./api
    depends_on: [cache]
  cache:
    image: redis:7
"#;

#[test]
fn build_when_missing() {
    let fixture = Fixture::empty();
    fixture.engine.add_remote_image("redis:7");
    let desired = fixture.desired(BUILT);
    let plan = fixture.up(&desired, &up());
    golden(
        "build_missing",
        "api has a build section and no image yet: it is built; redis:7 is missing: pulled.",
        "up",
        Ok(&plan),
    );
    fixture.settle(&[]);
    assert_converged(&fixture, &desired, &up());
}

#[test]
fn build_never_pulls() {
    let fixture = Fixture::empty();
    fixture.engine.add_image("redis:7");
    let desired = fixture.desired(BUILT);
    let options = ReconcileOptions {
        build: BuildPolicy::Never,
        ..up()
    };
    let plan = fixture.plan(&desired, &options).unwrap();
    golden(
        "build_never",
        "`up --no-build` with api's image missing: it is pulled instead (the executor reports
         that it cannot be, naming the service).",
        "up --no-build",
        Ok(&plan),
    );
}

const PULL_POLICIES: &str = r#"
services:
  always:
    image: demo/always:1
    pull_policy: always
  never:
    image: demo/never:1
    pull_policy: never
  missing:
    image: demo/missing:1
  present:
    image: demo/present:1
"#;

#[test]
fn pull_policies() {
    let fixture = Fixture::empty();
    fixture.engine.add_image("demo/always:1");
    fixture.engine.add_image("demo/present:1");
    let desired = fixture.desired(PULL_POLICIES);
    let plan = fixture.plan(&desired, &up()).unwrap();
    golden(
        "pull_policies",
        "pull_policy always is pulled before planning (lifecycle::prepare_images), so the plan
         only sees the present image; never does not pull the missing image (creating the
         container will fail); the default pulls missing images only.",
        "up",
        Ok(&plan),
    );
}

#[test]
fn container_name_and_shared_image() {
    let yaml = r#"
services:
  proxy:
    image: demo/tools:1
    container_name: edge-proxy
  sidecar:
    image: demo/tools:1
    network_mode: service:proxy
"#;
    let fixture = Fixture::empty();
    fixture.engine.add_remote_image("demo/tools:1");
    let desired = fixture.desired(yaml);
    let plan = fixture.up(&desired, &up());
    golden(
        "container_name",
        "container_name is honoured; the image both services run is pulled once; the sidecar
         joins proxy's network namespace, so it is created once proxy's container exists.",
        "up",
        Ok(&plan),
    );
    fixture.settle(&[]);
    assert_converged(&fixture, &desired, &up());
}

#[test]
fn down_project() {
    let (fixture, desired) = shop_running();
    let plan = fixture.down(Some(&desired), &DownOptions::default());
    golden(
        "down",
        "`down`: containers stopped dependents first (web, then migrate, then db) and removed,
         then the project's networks; volumes are kept.",
        "down",
        Ok(&plan),
    );
    assert!(fixture.engine.all_containers().is_empty());
    assert!(fixture.engine.network_names().is_empty());
    assert_eq!(
        fixture.engine.volume_names(),
        ["demo_dbdata", "demo_uploads"]
    );
}

#[test]
fn down_with_volumes() {
    let (fixture, desired) = shop();
    let plan = fixture.down(
        Some(&desired),
        &DownOptions {
            volumes: true,
            ..DownOptions::default()
        },
    );
    golden(
        "down_volumes",
        "`down -v` after the migration exited: its container is only removed; containers go
         with their anonymous volumes, then the named volumes are removed too.",
        "down -v",
        Ok(&plan),
    );
    assert!(fixture.engine.volume_names().is_empty());
}

#[test]
fn down_without_file_removes_orphans_too() {
    let fixture = Fixture::new();
    let before = fixture.desired(&replace(
        SHOP,
        "networks:\n  front",
        &format!("{WITH_WORKER}networks:\n  front"),
    ));
    fixture.up(&before, &up());
    fixture.settle(&[]);
    // A network another tool made is never removed.
    fixture.engine.add_network("demo_other", &[]);
    let plan = fixture.down(None, &DownOptions::default());
    golden(
        "down_no_file",
        "`down` without a compose file: every container of the project (worker included), in the
         dependency order their labels record, then the networks labelled with the project.",
        "down (no compose file)",
        Ok(&plan),
    );
    assert!(fixture.engine.all_containers().is_empty());
    assert_eq!(fixture.engine.network_names(), ["demo_other"]);
}

#[test]
fn down_with_file_leaves_orphans_unless_asked() {
    let fixture = Fixture::new();
    let before = fixture.desired(&replace(
        SHOP,
        "networks:\n  front",
        &format!("{WITH_WORKER}networks:\n  front"),
    ));
    fixture.up(&before, &up());
    fixture.settle(&[]);
    let after = fixture.desired(SHOP);
    let plan = down(
        PROJECT,
        Some(&after),
        &fixture.observe(Some(&after)),
        &DownOptions::default(),
    );
    golden(
        "down_orphans_kept",
        "`down` with a file that no longer has worker: its running container is left, with a
         warning, and so is the network it still uses.",
        "down",
        Ok(&plan),
    );
    let plan = fixture.down(
        Some(&after),
        &DownOptions {
            remove_orphans: true,
            ..DownOptions::default()
        },
    );
    golden(
        "down_remove_orphans",
        "`down --remove-orphans`: worker's container goes too.",
        "down --remove-orphans",
        Ok(&plan),
    );
    assert!(fixture.engine.all_containers().is_empty());
}

#[test]
fn plans_are_deterministic() {
    let fixture = Fixture::new();
    let desired = fixture.desired(SHOP);
    let observed = fixture.observe(Some(&desired));
    let first = reconcile(&desired, &observed, &up()).unwrap().to_string();
    for _ in 0..20 {
        assert_eq!(
            reconcile(&desired, &observed, &up()).unwrap().to_string(),
            first
        );
    }
}

#[test]
fn every_golden_file_has_a_test() {
    let source = [
        include_str!("tests.rs"),
        include_str!("run.rs"),
        include_str!("hook_tests.rs"),
    ]
    .concat();
    for entry in fs::read_dir(specs_dir()).expect("specs/plans") {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        let case = name.trim_end_matches(".txt");
        assert!(
            source.contains(&format!("\"{case}\",")),
            "specs/plans/{name} belongs to no test"
        );
    }
}

/// `web` with `replicas` replicas and the given `update_config` lines (and a healthcheck when
/// `healthcheck` is set); `GREETING` is what the updates change.
fn rolling_project(replicas: u32, update_config: &str, healthcheck: bool) -> String {
    let mut yaml = format!(
        "services:\n  web:\n    image: demo/app:1\n    environment:\n      GREETING: hello\n    deploy:\n      replicas: {replicas}\n      update_config:\n"
    );
    for line in update_config.lines() {
        yaml.push_str(&format!("        {}\n", line.trim()));
    }
    if healthcheck {
        yaml.push_str("    healthcheck:\n      test: [\"CMD\", \"true\"]\n");
    }
    yaml
}

/// Brings up `yaml`, changes web's environment, and returns the plan of the update (applied,
/// as if every replica passed) and the fixture.
fn rolling_update(yaml: &str) -> (Fixture, Plan) {
    let fixture = Fixture::new();
    fixture.up(&fixture.desired(yaml), &up());
    fixture.settle(&[]);
    let changed = fixture.desired(&replace(yaml, "GREETING: hello", "GREETING: bonjour"));
    let plan = fixture.up(&changed, &up());
    fixture.settle(&[]);
    assert_converged(&fixture, &changed, &up());
    for c in fixture.engine.all_containers() {
        let spec = fixture.engine.spec(&c.id).unwrap();
        assert_eq!(spec.env, ["GREETING=bonjour"], "{}", c.name);
    }
    (fixture, plan)
}

#[test]
fn rolling_parallelism_two_of_five() {
    let yaml = rolling_project(5, "parallelism: 2", false);
    let (_, plan) = rolling_update(&yaml);
    golden(
        "rolling_parallelism",
        "5 replicas, update_config parallelism 2 (the rest are swarm's defaults: stop-first,
         monitor 5s, failure_action pause, max_failure_ratio 0): batches of 2, 2 and 1. Each
         replica: new container under a temporary name, old one stopped, new one started, waited
         for and monitored; the batch's failures are counted; then the old container is removed
         and the new one renamed. The next batch starts once the count passed.",
        "up",
        Ok(&plan),
    );
}

#[test]
fn rolling_delay_between_batches() {
    let yaml = rolling_project(3, "parallelism: 1\ndelay: 10s\nmonitor: 0s", false);
    let (_, plan) = rolling_update(&yaml);
    golden(
        "rolling_delay",
        "parallelism 1, delay 10s, monitor 0s: one replica at a time, a 10s delay operation
         between batches (none after the last), and no monitor: a replica passes once it runs.",
        "up",
        Ok(&plan),
    );
}

#[test]
fn rolling_start_first_waits_for_health() {
    let yaml = rolling_project(3, "parallelism: 1\norder: start-first\nmonitor: 2s", true);
    let (_, plan) = rolling_update(&yaml);
    golden(
        "rolling_start_first",
        "order start-first with a healthcheck: the new container is started and waited for until
         healthy before the old one is stopped, so 3 replicas run at every moment; the monitor
         runs beside the stop. A new container that never gets healthy is stopped and removed
         (`if #2 failed`), and the old one, never stopped, keeps serving.",
        "up",
        Ok(&plan),
    );
}

#[test]
fn rolling_start_first_with_a_fixed_host_port_is_stop_first() {
    let yaml = replace(
        &rolling_project(1, "order: start-first\nmonitor: 0s", false),
        "    deploy:",
        "    ports: [\"8080:80\"]\n    deploy:",
    );
    let (_, plan) = rolling_update(&yaml);
    golden(
        "rolling_start_first_port",
        "start-first cannot start a second container on host port 8080 while the old one holds
         it: the replica is replaced stop-first, with a warning.",
        "up",
        Ok(&plan),
    );
}

#[test]
fn rolling_rollback_plan() {
    let yaml = rolling_project(2, "failure_action: rollback\nmonitor: 3s", false);
    let (_, plan) = rolling_update(&yaml);
    golden(
        "rolling_rollback",
        "failure_action rollback: the old container is only stopped until its batch's count
         passed. The fallbacks `if #k failed` run only when the count failed: they stop and
         remove the new container and start the old one again; the next batch waits for the
         count and is skipped then, which stops the update.",
        "up",
        Ok(&plan),
    );
}

#[test]
fn rolling_pause_plan() {
    let yaml = rolling_project(
        3,
        "failure_action: pause\nmax_failure_ratio: 0.34\nmonitor: 3s",
        false,
    );
    let (_, plan) = rolling_update(&yaml);
    golden(
        "rolling_pause",
        "failure_action pause with max_failure_ratio 0.34 of 3 replicas: one failure is
         tolerated, the second stops the update. Each count covers every batch so far. A batch is
         kept on the new config whatever its count says (`done #k`: after it, whatever its
         outcome); only the next batch needs the count to pass.",
        "up",
        Ok(&plan),
    );
}

#[test]
fn rolling_continue_plan() {
    let yaml = rolling_project(2, "failure_action: continue\nmonitor: 3s", false);
    let (_, plan) = rolling_update(&yaml);
    golden(
        "rolling_continue",
        "failure_action continue: no failure count; the next batch waits for the previous one
         to be done, whatever its outcome.",
        "up",
        Ok(&plan),
    );
}

#[test]
fn without_update_config_replicas_are_replaced_at_once() {
    let yaml = "services:\n  web:\n    image: demo/app:1\n    environment:\n      GREETING: hello\n    deploy:\n      replicas: 2\n";
    let (_, plan) = rolling_update(yaml);
    golden(
        "replace_at_once",
        "No update_config: compose's replacement, every replica at once, with no wait, monitor
         or count.",
        "up",
        Ok(&plan),
    );
}

// Rolling updates run by the executor.

/// `rolling_project` brought up (every replica running and healthy), and the desired state
/// with `GREETING: bonjour`, the new config the tests make crash or turn unhealthy.
fn rolling_fixture(replicas: u32, update_config: &str, healthcheck: bool) -> (Fixture, Desired) {
    let yaml = rolling_project(replicas, update_config, healthcheck);
    let fixture = Fixture::new();
    fixture.up(&fixture.desired(&yaml), &up());
    fixture.settle(&[]);
    let changed = fixture.desired(&replace(&yaml, "GREETING: hello", "GREETING: bonjour"));
    (fixture, changed)
}

const NEW_CONFIG: &str = "GREETING=bonjour";

/// Plans the update and runs it with the executor, as `up` does.
fn run_update(fixture: &Fixture, desired: &Desired) -> Report {
    run_update_while(fixture, desired, async {})
}

/// Like `run_update`, with `meanwhile` running beside the update (what happens to a replica
/// while it is monitored).
fn run_update_while(
    fixture: &Fixture,
    desired: &Desired,
    meanwhile: impl std::future::Future<Output = ()>,
) -> Report {
    let plan = fixture.plan(desired, &up()).expect("a plan");
    let options = ExecuteOptions {
        poll: Duration::from_millis(5),
        ..ExecuteOptions::new(PROJECT)
    };
    let update = execute::run(&plan, fixture.engine.clone(), &options, &|_, _| {});
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(async { tokio::join!(update, meanwhile).0 })
}

/// Each container's name, its `GREETING` and whether it runs, by name.
fn replicas(fixture: &Fixture) -> Vec<(String, String, bool)> {
    let mut out: Vec<(String, String, bool)> = fixture
        .engine
        .all_containers()
        .into_iter()
        .map(|c| {
            let env = fixture.engine.spec(&c.id).unwrap().env.join(",");
            (c.name, env, c.state == ContainerState::Running)
        })
        .collect();
    out.sort();
    out
}

fn replica(name: &str, env: &str, running: bool) -> (String, String, bool) {
    (name.to_string(), format!("GREETING={env}"), running)
}

fn messages(report: &Report) -> Vec<&str> {
    report.failures.iter().map(|f| f.message.as_str()).collect()
}

#[test]
fn pause_stops_the_update_at_the_failed_batch() {
    let (fixture, changed) = rolling_fixture(3, "monitor: 0s", false);
    fixture.engine.after_start(NEW_CONFIG, AfterStart::Exit(1));
    let report = run_update(&fixture, &changed);
    let failures = messages(&report);
    assert_eq!(failures.len(), 2, "{failures:?}");
    assert!(
        failures[0].contains("container c0001_demo-web-1 exited (1)"),
        "{failures:?}"
    );
    assert!(
        failures[1].starts_with("service \"web\": update paused: 1 of 3 updated replicas failed (0 tolerated): container c0001_demo-web-1 exited (1);"),
        "{failures:?}"
    );
    // The failed batch stays on the new config, as in swarm; the others keep the old one.
    assert_eq!(
        replicas(&fixture),
        [
            replica("demo-web-1", "bonjour", false),
            replica("demo-web-2", "hello", true),
            replica("demo-web-3", "hello", true),
        ]
    );
}

#[test]
fn rollback_puts_the_failed_batch_back_on_its_old_containers() {
    let (fixture, changed) = rolling_fixture(3, "failure_action: rollback\nmonitor: 50ms", false);
    // The new config runs for a moment, then turns unhealthy: the monitor catches it.
    fixture
        .engine
        .after_start(NEW_CONFIG, AfterStart::Health(Health::Unhealthy));
    let before: Vec<String> = fixture
        .engine
        .all_containers()
        .into_iter()
        .map(|c| c.id)
        .collect();
    let report = run_update(&fixture, &changed);
    let failures = messages(&report);
    assert!(
        failures
            .iter()
            .any(|m| m.contains("container c0001_demo-web-1 is unhealthy")),
        "{failures:?}"
    );
    assert!(
        failures
            .iter()
            .any(|m| m.contains("update rolled back: 1 of 3")),
        "{failures:?}"
    );
    assert_eq!(
        replicas(&fixture),
        [
            replica("demo-web-1", "hello", true),
            replica("demo-web-2", "hello", true),
            replica("demo-web-3", "hello", true),
        ]
    );
    let after: Vec<String> = fixture
        .engine
        .all_containers()
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(after, before, "the very same old containers run again");
}

#[test]
fn continue_replaces_every_replica_despite_failures() {
    let (fixture, changed) = rolling_fixture(3, "failure_action: continue\nmonitor: 0s", false);
    fixture.engine.after_start(NEW_CONFIG, AfterStart::Exit(1));
    let report = run_update(&fixture, &changed);
    // Each failed replica is reported; nothing stops the update.
    assert_eq!(messages(&report).len(), 3, "{:?}", messages(&report));
    assert_eq!(
        replicas(&fixture),
        [
            replica("demo-web-1", "bonjour", false),
            replica("demo-web-2", "bonjour", false),
            replica("demo-web-3", "bonjour", false),
        ]
    );
}

#[test]
fn max_failure_ratio_tolerates_failures_up_to_the_ratio() {
    // 1 failure of 4 is not more than 0.25: the update goes on to the end.
    let (fixture, changed) = rolling_fixture(4, "max_failure_ratio: 0.25\nmonitor: 0s", false);
    fixture
        .engine
        .after_start("c0002_demo-web-2", AfterStart::Exit(1));
    let report = run_update(&fixture, &changed);
    let failures = messages(&report);
    assert_eq!(
        failures.len(),
        1,
        "only the replica's own failure: {failures:?}"
    );
    assert_eq!(
        replicas(&fixture),
        [
            replica("demo-web-1", "bonjour", true),
            replica("demo-web-2", "bonjour", false),
            replica("demo-web-3", "bonjour", true),
            replica("demo-web-4", "bonjour", true),
        ]
    );

    // A second failure is more than 0.25 of 4: the update pauses after it.
    let (fixture, changed) = rolling_fixture(4, "max_failure_ratio: 0.25\nmonitor: 0s", false);
    fixture
        .engine
        .after_start("c0002_demo-web-2", AfterStart::Exit(1));
    fixture
        .engine
        .after_start("c0003_demo-web-3", AfterStart::Exit(1));
    let report = run_update(&fixture, &changed);
    let failures = messages(&report);
    assert!(
        failures
            .last()
            .is_some_and(|m| m.contains("2 of 4 updated replicas failed (1 tolerated)")),
        "{failures:?}"
    );
    assert_eq!(
        replicas(&fixture),
        [
            replica("demo-web-1", "bonjour", true),
            replica("demo-web-2", "bonjour", false),
            replica("demo-web-3", "bonjour", false),
            replica("demo-web-4", "hello", true),
        ]
    );
}

#[test]
fn start_first_stops_the_old_replica_only_once_the_new_one_is_healthy() {
    let (fixture, changed) = rolling_fixture(2, "order: start-first\nmonitor: 0s", true);
    fixture
        .engine
        .after_start(NEW_CONFIG, AfterStart::Health(Health::Healthy));
    fixture.engine.clear_calls();
    let report = run_update(&fixture, &changed);
    assert!(report.is_success(), "{:?}", messages(&report));
    let calls: Vec<String> = fixture
        .engine
        .calls()
        .into_iter()
        .filter(|c| c.starts_with("start") || c.starts_with("stop"))
        .collect();
    assert_eq!(
        calls,
        [
            "start_container c0001_demo-web-1",
            "stop_container c0001",
            "start_container c0002_demo-web-2",
            "stop_container c0002",
        ]
    );

    // A new replica that never gets healthy is discarded and the old one keeps running,
    // whatever the failure action.
    for action in ["pause", "rollback", "continue"] {
        let update = format!("order: start-first\nmonitor: 0s\nfailure_action: {action}");
        let (fixture, changed) = rolling_fixture(2, &update, true);
        fixture
            .engine
            .after_start(NEW_CONFIG, AfterStart::Health(Health::Unhealthy));
        let report = run_update(&fixture, &changed);
        assert!(!report.is_success(), "{action}");
        assert_eq!(
            replicas(&fixture),
            [
                replica("demo-web-1", "hello", true),
                replica("demo-web-2", "hello", true)
            ],
            "{action}"
        );
    }
}

#[test]
fn rolling_update_waits_for_dependencies() {
    let yaml = replace(
        SHOP,
        "    ports: [\"8080:80\"]\n",
        "    deploy:\n      replicas: 2\n      update_config:\n        monitor: 0s\n",
    );
    let (fixture, _) = {
        let fixture = Fixture::new();
        let desired = fixture.desired(&yaml);
        fixture.up(&desired, &up());
        fixture.settle(&[]);
        (fixture, desired)
    };
    let changed = fixture.desired(&replace(&yaml, "GREETING: hello", "GREETING: bonjour"));
    let plan = fixture.up(&changed, &up());
    golden(
        "rolling_dependencies",
        "web (2 replicas, update_config with monitor 0s) changed: each new container's start
         also waits for web's dependencies (db healthy, migrate completed), once.",
        "up",
        Ok(&plan),
    );
    fixture.settle(&[]);
    assert_converged(&fixture, &changed, &up());
}

#[test]
fn interrupted_rolling_update_is_finished() {
    let yaml = rolling_project(2, "monitor: 0s", false);
    let fixture = Fixture::new();
    fixture.up(&fixture.desired(&yaml), &up());
    fixture.settle(&[]);
    let changed = fixture.desired(&replace(&yaml, "GREETING: hello", "GREETING: bonjour"));
    let plan = fixture.plan(&changed, &up()).unwrap();
    // Stopped once replica 1's new container runs, before its batch was counted.
    fixture.apply_first(&plan, 3);
    let plan = fixture.up(&changed, &up());
    golden(
        "rolling_interrupted",
        "An `up` that updated web stopped while replica 1's new container ran under its
         temporary name beside the stopped old one: the new one keeps number 1 (it is up to
         date), the old one is removed, the new one renamed; replica 2 is updated as before.",
        "up",
        Ok(&plan),
    );
    fixture.settle(&[]);
    assert_converged(&fixture, &changed, &up());
}

#[test]
fn the_monitor_catches_a_replica_that_turns_unhealthy_after_it_ran() {
    let (fixture, changed) = rolling_fixture(2, "monitor: 2s", false);
    let engine = fixture.engine.clone();
    let turn_unhealthy = async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        engine.set_health("c0001_demo-web-1", Some(Health::Unhealthy));
    };
    let report = run_update_while(&fixture, &changed, turn_unhealthy);
    let failures = messages(&report);
    assert!(
        failures[0].contains("container c0001_demo-web-1 turned unhealthy during its 2s monitor"),
        "{failures:?}"
    );
    assert_eq!(
        replicas(&fixture),
        [
            replica("demo-web-1", "bonjour", true),
            replica("demo-web-2", "hello", true),
        ],
        "paused after the first batch"
    );
}

#[test]
fn create_leaves_every_container_created() {
    let fixture = Fixture::new();
    let desired = fixture.desired(SHOP);
    let plan = fixture.plan(&desired, &up()).unwrap().without_starts();
    golden(
        "create_fresh_project",
        "`create` (and `up --no-start`): `up`'s plan without starts and the waits that need
         running containers; the creates no longer wait for the dependencies' health.",
        "create",
        Ok(&plan),
    );
    fixture.apply(&plan);
    let states: Vec<_> = fixture
        .engine
        .all_containers()
        .iter()
        .map(|c| c.state)
        .collect();
    assert_eq!(states, [ContainerState::Created; 3]);
    // `up` then only starts them.
    let up_plan = fixture.plan(&desired, &up()).unwrap();
    assert!(
        up_plan.operations.iter().all(|op| !matches!(
            op.action,
            Action::Engine(EngineCall::CreateContainer { .. })
        )),
        "{up_plan}"
    );
}

#[test]
fn create_of_a_rolling_update_replaces_without_starting() {
    let yaml = rolling_project(3, "parallelism: 1\norder: start-first", true);
    let fixture = Fixture::new();
    fixture.up(&fixture.desired(&yaml), &up());
    fixture.settle(&[]);
    let changed = fixture.desired(&replace(&yaml, "GREETING: hello", "GREETING: bonjour"));
    let plan = fixture.plan(&changed, &up()).unwrap().without_starts();
    golden(
        "create_rolling",
        "`create` on a service with update_config: each replica is replaced by a created
         container, the old one stopped and removed; no waits, monitors, counts or fallbacks.",
        "create",
        Ok(&plan),
    );
    fixture.apply(&plan);
    for c in fixture.engine.all_containers() {
        assert_eq!(c.state, ContainerState::Created, "{}", c.name);
        let spec = fixture.engine.spec(&c.id).unwrap();
        assert_eq!(spec.env, ["GREETING=bonjour"], "{}", c.name);
    }
}

#[test]
fn restart_takes_the_dependents_that_asked_for_it_unless_no_deps() {
    let fixture = Fixture::new();
    let desired = fixture.desired(
        r#"
services:
  db: {image: app}
  api:
    image: app
    depends_on: {db: {condition: service_started, restart: true}}
  web:
    image: app
    depends_on: {api: {condition: service_started, restart: true}}
  worker:
    image: app
    depends_on: [db]
"#,
    );
    let scope = |services: &[&str], no_deps| {
        let services: Vec<String> = services.iter().map(|s| s.to_string()).collect();
        super::lifecycle::restart_scope(Some(&desired), &services, no_deps)
    };
    assert_eq!(scope(&["db"], false), ["db", "api", "web"]);
    assert_eq!(scope(&["db"], true), ["db"]);
    assert_eq!(scope(&["worker"], false), ["worker"]);
    assert!(scope(&[], false).is_empty(), "all services stay all");
}

#[test]
fn build_flags_change_every_build_and_can_take_the_dependencies() {
    let fixture = Fixture::new();
    let desired = fixture.desired(
        r#"
services:
  base:
    build: {context: ., args: {A: "1"}}
  app:
    build: {context: ., args: {A: "1", B: "2"}}
    depends_on: [base]
"#,
    );
    let flags = super::lifecycle::BuildFlags {
        args: vec![
            ("A".into(), Some("9".into())),
            ("C".into(), Some("3".into())),
        ],
        no_cache: true,
        pull: true,
        with_dependencies: false,
    };
    // Per build: service, arguments, no_cache, pull.
    type Built = (String, Vec<(String, Option<String>)>, bool, bool);
    let builds = |plan: &Plan| -> Vec<Built> {
        plan.operations
            .iter()
            .filter_map(|op| match op.action.engine_call()? {
                EngineCall::BuildImage { service, build, .. } => Some((
                    service.clone(),
                    build.args.clone().into_iter().collect(),
                    build.no_cache,
                    build.pull,
                )),
                _ => None,
            })
            .collect()
    };
    let app = ["app".to_string()];
    let plan = super::lifecycle::build_with(&desired, &app, &flags);
    let arg = |k: &str, v: &str| (k.to_string(), Some(v.to_string()));
    assert_eq!(
        builds(&plan),
        [(
            "app".to_string(),
            vec![arg("A", "9"), arg("B", "2"), arg("C", "3")],
            true,
            true
        )]
    );
    let with = super::lifecycle::BuildFlags {
        with_dependencies: true,
        ..Default::default()
    };
    let plan = super::lifecycle::build_with(&desired, &app, &with);
    let services: Vec<String> = builds(&plan).into_iter().map(|b| b.0).collect();
    assert_eq!(services, ["base", "app"]);
}

#[test]
fn down_rmi_local_takes_the_images_named_after_their_service_and_all_takes_every_one() {
    let fixture = Fixture::new();
    let desired = fixture.desired(
        r#"
services:
  app:
    build: {context: .}
  tagged:
    build: {context: .}
    image: registry.example/tagged:1
  db:
    image: postgres:16
"#,
    );
    let images = |rmi| -> Vec<String> {
        let options = DownOptions {
            rmi: Some(rmi),
            ..DownOptions::default()
        };
        down(
            PROJECT,
            Some(&desired),
            &fixture.observe(Some(&desired)),
            &options,
        )
        .operations
        .iter()
        .map(|op| op.action.to_string())
        .filter(|line| line.starts_with("remove image"))
        .collect()
    };
    assert_eq!(
        images(super::Rmi::Local),
        [format!("remove image {PROJECT}-app")]
    );
    assert_eq!(
        images(super::Rmi::All),
        [
            format!("remove image {PROJECT}-app"),
            "remove image postgres:16".to_string(),
            "remove image registry.example/tagged:1".to_string(),
        ]
    );
}
