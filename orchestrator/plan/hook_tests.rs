//! Golden plans of lifecycle hooks: `post_start` after every start wharf makes, `pre_stop`
//! before every stop, each hook an operation that what follows waits for.

use super::tests::{Fixture, golden};
use super::{Action, DownOptions, EngineCall, ReconcileOptions, lifecycle};
use crate::desired::HookStage;

/// A database with two `post_start` hooks and a `pre_stop` hook, and a web front end that
/// depends on it being started, with a `pre_stop` hook of its own.
const HOOKED: &str = r#"
services:
  db:
    image: postgres:16
    post_start:
      - command: ["sh", "-c", "touch /run/ready"]
      - command: create-roles --all
        user: postgres
        working_dir: /var/lib/postgresql
        environment: [PGUSER=postgres]
    pre_stop:
      - command: ["pg_ctl", "stop", "-m", "fast"]
        user: postgres
  web:
    image: demo/app:1
    environment:
      GREETING: hello
    depends_on: [db]
    pre_stop:
      - command: ["drain", "--timeout", "5"]
"#;

fn hooked_running() -> (Fixture, crate::desired::Desired) {
    let fixture = Fixture::new();
    let desired = fixture.desired(HOOKED);
    fixture.up(&desired, &ReconcileOptions::default());
    (fixture, desired)
}

#[test]
fn post_start_hooks_follow_the_start_and_dependents_wait_for_them() {
    let fixture = Fixture::new();
    let desired = fixture.desired(HOOKED);
    let plan = fixture.up(&desired, &ReconcileOptions::default());
    golden(
        "hooks_up",
        "db's two post_start hooks run one after the other once it has started, and web (which
         depends on db being started) starts only after the last of them, as compose starts a
         dependent once its dependency's hooks are done.",
        "up",
        Ok(&plan),
    );
    // The hooks reached the engine as execs, in order, with what the file gives them.
    let execs: Vec<String> = fixture
        .engine
        .calls()
        .into_iter()
        .filter(|c| c.starts_with("exec "))
        .collect();
    assert_eq!(
        execs,
        [
            "exec c0001 sh -c touch /run/ready",
            "exec c0001 create-roles --all"
        ]
    );
    let Some(EngineCall::RunHook { hook, stage, .. }) = plan
        .operations
        .iter()
        .filter_map(|op| op.action.engine_call())
        .find(|call| matches!(call, EngineCall::RunHook { index: 1, .. }))
    else {
        panic!("no second hook in:\n{plan}");
    };
    assert_eq!(*stage, HookStage::PostStart);
    assert_eq!(hook.user.as_deref(), Some("postgres"));
    assert_eq!(hook.working_dir.as_deref(), Some("/var/lib/postgresql"));
    assert_eq!(hook.environment, ["PGUSER=postgres"]);
}

#[test]
fn a_recreated_container_gets_pre_stop_before_its_stop_and_post_start_after_its_start() {
    let (fixture, _) = hooked_running();
    let changed = fixture.desired(&HOOKED.replace("GREETING: hello", "GREETING: bonjour"));
    let plan = fixture.up(&changed, &ReconcileOptions::default());
    golden(
        "hooks_recreate",
        "web's environment changed: the old container's pre_stop hook runs before it is stopped
         (compose v2.40 skips it on a recreate; wharf runs it before every stop it makes, see
         decisions.md); web has no post_start hook, so its start ends the plan.",
        "up",
        Ok(&plan),
    );
}

#[test]
fn down_runs_pre_stop_before_each_stop() {
    let (fixture, desired) = hooked_running();
    let plan = fixture.down(Some(&desired), &DownOptions::default());
    golden(
        "hooks_down",
        "`down`: web's pre_stop, then its stop; db's pre_stop waits for web's stop (dependents
         stop first), then db stops; each removal after its stop.",
        "down",
        Ok(&plan),
    );
}

#[test]
fn down_without_a_file_has_no_hooks_to_run() {
    let (fixture, _) = hooked_running();
    let plan = fixture.down(None, &DownOptions::default());
    assert!(
        !plan
            .operations
            .iter()
            .any(|op| matches!(op.action, Action::Engine(EngineCall::RunHook { .. }))),
        "the hooks are in the file, and there is none:\n{plan}"
    );
}

#[test]
fn stop_then_start_run_the_hooks_of_each_container() {
    let (fixture, desired) = hooked_running();
    let stop = lifecycle::stop(Some(&desired), &fixture.observe(Some(&desired)), &[], None);
    golden(
        "hooks_stop",
        "`stop`: each pre_stop hook before its container's stop, dependents first.",
        "stop",
        Ok(&stop),
    );
    fixture.apply(&stop);
    let start = lifecycle::start(Some(&desired), &fixture.observe(Some(&desired)), &[]);
    golden(
        "hooks_start",
        "`start` after `stop`: db's post_start hooks after its start, and web's start after them.",
        "start",
        Ok(&start),
    );
    fixture.apply(&start);
}

#[test]
fn create_leaves_out_post_start_with_the_starts_but_keeps_pre_stop() {
    let (fixture, _) = hooked_running();
    let changed = fixture.desired(&HOOKED.replace("GREETING: hello", "GREETING: bonjour"));
    let observed = fixture.observe(Some(&changed));
    let plan = super::reconcile(&changed, &observed, &ReconcileOptions::default())
        .expect("a plan")
        .without_starts();
    let hooks: Vec<HookStage> = plan
        .operations
        .iter()
        .filter_map(|op| match op.action.engine_call()? {
            EngineCall::RunHook { stage, .. } => Some(*stage),
            _ => None,
        })
        .collect();
    assert_eq!(hooks, [HookStage::PreStop], "{plan}");
}
