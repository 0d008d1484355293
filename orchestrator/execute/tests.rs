//! The runner on the in-memory engine: order, bounds, skips, fallbacks, failure counts, waits.

use std::sync::Arc;
use std::time::Duration;

use super::{Call, CallKind, Event, ExecuteOptions, Report, run, settle_changes};
use crate::desired::{ContainerSpec, FailureAction};
use crate::engine::ContainerState;
use crate::engine::labels;
use crate::engine::memory::MemoryEngine;
use crate::plan::{
    Action, Cause, ContainerRef, ControlStep, Deps, EngineCall, Operation, Plan, WaitCondition,
};

/// The operations `container_parallelism` bounds.
fn creates_or_starts(op: &Operation) -> bool {
    matches!(
        op.action.engine_call().map(Call::kind),
        Some(CallKind::CreatesContainer | CallKind::StartsContainer)
    )
}

fn wait_plan(condition: WaitCondition) -> Plan {
    let mut plan = Plan::default();
    plan.push(
        ControlStep::WaitFor {
            service: "job".into(),
            container: None,
            condition,
            required: true,
        },
        Cause::Requested,
        Vec::new(),
    );
    plan
}

async fn wait_on_job(state: ContainerState, exit: Option<i64>, condition: WaitCondition) -> Report {
    let engine = MemoryEngine::new();
    engine.add_image("busybox");
    let labels = [
        (labels::PROJECT, "p"),
        (labels::SERVICE, "job"),
        (labels::NUMBER, "1"),
    ];
    engine.add_container("p-job-1", "busybox", &labels, state);
    engine.set_state("p-job-1", state, exit);
    run(
        &wait_plan(condition),
        Arc::new(engine),
        &ExecuteOptions::new("p"),
        &|_, _| {},
    )
    .await
}

#[tokio::test]
async fn running_fails_on_an_exited_container_where_started_does_not() {
    let exited = wait_on_job(ContainerState::Exited, Some(4), WaitCondition::Running).await;
    assert_eq!(exited.failures.len(), 1);
    assert!(
        exited.failures[0].message.contains("exited (4)"),
        "{:?}",
        exited.failures
    );
    let started = wait_on_job(ContainerState::Exited, Some(4), WaitCondition::Started).await;
    assert!(started.is_success());
    let running = wait_on_job(ContainerState::Running, None, WaitCondition::Running).await;
    assert!(running.is_success());
}

#[tokio::test]
async fn started_fails_at_once_on_a_container_nothing_starts() {
    let waited = tokio::time::timeout(
        Duration::from_secs(5),
        wait_on_job(ContainerState::Created, None, WaitCondition::Started),
    )
    .await
    .expect("the wait ends");
    assert_eq!(
        waited.failures[0].message,
        "dependency \"job\" is not started: container p-job-1 was created but never started"
    );
}

#[tokio::test]
async fn completed_successfully_needs_exit_code_zero() {
    let failed = wait_on_job(
        ContainerState::Exited,
        Some(3),
        WaitCondition::CompletedSuccessfully,
    )
    .await;
    assert!(failed.failures[0].message.contains("code 3"));
    let ok = wait_on_job(
        ContainerState::Exited,
        Some(0),
        WaitCondition::CompletedSuccessfully,
    )
    .await;
    assert!(ok.is_success());
}

#[tokio::test]
async fn a_failure_skips_what_waits_for_it_and_the_rest_goes_on() {
    let engine = Arc::new(MemoryEngine::new());
    let mut plan = wait_plan(WaitCondition::Running);
    let after = plan.push(network("after"), Cause::Missing, vec![0]);
    plan.push(network("independent"), Cause::Missing, Vec::new());
    let report = run(&plan, engine.clone(), &ExecuteOptions::new("p"), &|_, _| {}).await;
    assert_eq!(report.failures.len(), 1, "no container: the wait fails");
    assert_eq!(report.skipped, [after]);
    assert_eq!(engine.network_names(), ["independent"]);
}

#[tokio::test]
async fn a_container_gone_or_a_name_taken_is_stale_and_a_failed_pull_is_not() {
    let engine = Arc::new(MemoryEngine::new());
    let mut plan = Plan::default();
    let gone = ContainerRef {
        name: "p-web-1".into(),
        id: Some("0123456789ab".into()),
    };
    plan.push(
        EngineCall::StartContainer {
            service: "web".into(),
            container: gone,
        },
        Cause::NotRunning,
        Vec::new(),
    );
    plan.push(
        EngineCall::PullImage {
            service: "web".into(),
            image: "nowhere/web:1".into(),
            platform: None,
        },
        Cause::Missing,
        Vec::new(),
    );
    let report = run(&plan, engine, &ExecuteOptions::new("p"), &|_, _| {}).await;
    let mut failures: Vec<(usize, bool)> = report
        .failures
        .iter()
        .map(|f| (f.operation, f.stale))
        .collect();
    failures.sort();
    assert_eq!(failures, [(0, true), (1, false)]);
}

#[tokio::test]
async fn the_critical_path_goes_first_and_at_most_parallelism_run_at_once() {
    let engine = Arc::new(MemoryEngine::new());
    let mut plan = Plan::default();
    let lone = plan.push(network("lone"), Cause::Missing, Vec::new());
    let head = plan.push(network("head"), Cause::Missing, Vec::new());
    let middle = plan.push(network("middle"), Cause::Missing, vec![head]);
    let tail = plan.push(network("tail"), Cause::Missing, vec![middle]);
    let order = std::sync::Mutex::new(Vec::new());
    let running = std::sync::atomic::AtomicUsize::new(0);
    let most = std::sync::atomic::AtomicUsize::new(0);
    let record = |_: &Operation, event: &Event| {
        use std::sync::atomic::Ordering::SeqCst;
        match event {
            Event::Started(id) => {
                order.lock().unwrap().push(*id);
                let now = running.fetch_add(1, SeqCst) + 1;
                most.fetch_max(now, SeqCst);
            }
            _ => {
                running.fetch_sub(1, SeqCst);
            }
        }
    };
    let serial = ExecuteOptions {
        parallelism: 1,
        ..ExecuteOptions::new("p")
    };
    let report = run(&plan, engine, &serial, &record).await;
    assert!(report.is_success());
    // The head of the three-long chain first, then the chain, the lone one where its id
    // puts it among equals.
    assert_eq!(*order.lock().unwrap(), [head, middle, lone, tail]);
    assert_eq!(most.load(std::sync::atomic::Ordering::SeqCst), 1);

    let mut wide = Plan::default();
    for n in 0..40 {
        wide.push(network(&format!("n{n}")), Cause::Missing, Vec::new());
    }
    most.store(0, std::sync::atomic::Ordering::SeqCst);
    let options = ExecuteOptions {
        parallelism: 4,
        ..ExecuteOptions::new("p")
    };
    run(&wide, Arc::new(MemoryEngine::new()), &options, &record).await;
    assert_eq!(
        most.load(std::sync::atomic::Ordering::SeqCst),
        4,
        "up to the bound, never more"
    );
}

#[tokio::test]
async fn container_creates_and_starts_have_a_bound_of_their_own_and_go_longest_chain_first() {
    let engine = MemoryEngine::new();
    engine.add_image("busybox");
    let mut plan = Plan::default();
    // Six replicas, each created then started; the fifth's start leads a chain of three
    // (two more networks after it), so its create goes before every other container call.
    let mut head = 0;
    for n in 1..=6 {
        let name = format!("p-web-{n}");
        let created = plan.push(create(&name), Cause::Missing, Vec::new());
        let started = plan.push(start(&name), Cause::Missing, vec![created]);
        if n == 5 {
            head = created;
            let next = plan.push(network("after"), Cause::Missing, vec![started]);
            plan.push(network("last"), Cause::Missing, vec![next]);
        }
    }
    // Networks that nothing waits for: other work, not bound by the containers' limit.
    for n in 0..4 {
        plan.push(network(&format!("n{n}")), Cause::Missing, Vec::new());
    }
    let order = std::sync::Mutex::new(Vec::new());
    let containers = std::sync::atomic::AtomicUsize::new(0);
    // The most container operations at once when a create went out: the bound holds while
    // containers are still to be created (the last starts then go together, see
    // `the_container_bound_is_lifted_once_only_starts_that_no_start_waits_for_are_left`).
    let most_containers = std::sync::atomic::AtomicUsize::new(0);
    let record = |op: &Operation, event: &Event| {
        use std::sync::atomic::Ordering::SeqCst;
        let on_containers = creates_or_starts(op);
        match event {
            Event::Started(id) => {
                order.lock().unwrap().push(*id);
                if on_containers {
                    let now = containers.fetch_add(1, SeqCst) + 1;
                    if matches!(
                        op.action,
                        Action::Engine(EngineCall::CreateContainer { .. })
                    ) {
                        most_containers.fetch_max(now, SeqCst);
                    }
                }
            }
            _ if on_containers => {
                containers.fetch_sub(1, SeqCst);
            }
            _ => {}
        }
    };
    let options = ExecuteOptions {
        parallelism: 16,
        container_parallelism: 2,
        ..ExecuteOptions::new("p")
    };
    let report = run(&plan, Arc::new(engine), &options, &record).await;
    assert!(report.is_success(), "{:?}", report.failures);
    assert_eq!(most_containers.load(std::sync::atomic::Ordering::SeqCst), 2);
    let order = order.lock().unwrap();
    assert_eq!(order[0], head, "{order:?}");
    // The networks did not wait for the containers' slots: all four went out at once,
    // beside the first two creates.
    let first_six: Vec<&Action> = order[..6]
        .iter()
        .map(|&id| &plan.operations[id].action)
        .collect();
    assert_eq!(
        first_six
            .iter()
            .filter(|a| matches!(a, Action::Engine(EngineCall::CreateNetwork(_))))
            .count(),
        4,
        "{first_six:?}"
    );
}

#[tokio::test]
async fn a_chain_is_counted_in_starts_first() {
    let engine = MemoryEngine::new();
    engine.add_image("busybox");
    let mut plan = Plan::default();
    // Once p-web-1 is created, two chains of two operations are ready: p-lone-1's create
    // and start, and p-web-1's start and p-web-2's. The second is two starts: it goes
    // first, though the first has the lower id.
    let lone = plan.push(create("p-lone-1"), Cause::Missing, Vec::new());
    plan.push(start("p-lone-1"), Cause::Missing, vec![lone]);
    let first = plan.push(create("p-web-1"), Cause::Missing, Vec::new());
    let first_start = plan.push(start("p-web-1"), Cause::Missing, vec![first]);
    let second = plan.push(create("p-web-2"), Cause::Missing, Vec::new());
    plan.push(start("p-web-2"), Cause::Missing, vec![second, first_start]);
    let order = std::sync::Mutex::new(Vec::new());
    let record = |_: &Operation, event: &Event| {
        if let Event::Started(id) = event {
            order.lock().unwrap().push(*id);
        }
    };
    let options = ExecuteOptions {
        container_parallelism: 1,
        ..ExecuteOptions::new("p")
    };
    let report = run(&plan, Arc::new(engine), &options, &record).await;
    assert!(report.is_success(), "{:?}", report.failures);
    assert_eq!(order.lock().unwrap()[..2], [first, first_start]);
}

#[tokio::test]
async fn the_container_bound_is_lifted_once_only_starts_that_no_start_waits_for_are_left() {
    let engine = MemoryEngine::new();
    engine.add_image("busybox");
    let mut plan = Plan::default();
    // p-web-2's start waits for p-web-1's: a chain of two starts. The other four are alone.
    let mut chain_head = 0;
    for n in 1..=6 {
        let name = format!("p-web-{n}");
        let created = plan.push(create(&name), Cause::Missing, Vec::new());
        let after = match n {
            2 => vec![created, chain_head],
            _ => vec![created],
        };
        let started = plan.push(start(&name), Cause::Missing, after);
        if n == 1 {
            chain_head = started;
        }
    }
    // Per operation started: how many container operations ran at that moment.
    let at_start = std::sync::Mutex::new(Vec::new());
    let running = std::sync::atomic::AtomicUsize::new(0);
    let record = |_: &Operation, event: &Event| {
        use std::sync::atomic::Ordering::SeqCst;
        match event {
            Event::Started(id) => {
                let now = running.fetch_add(1, SeqCst) + 1;
                at_start.lock().unwrap().push((*id, now));
            }
            _ => {
                running.fetch_sub(1, SeqCst);
            }
        }
    };
    let options = ExecuteOptions {
        container_parallelism: 1,
        ..ExecuteOptions::new("p")
    };
    let report = run(&plan, Arc::new(engine), &options, &record).await;
    assert!(report.is_success(), "{:?}", report.failures);
    let at_start = at_start.lock().unwrap();
    for &(id, running) in at_start.iter() {
        let action = &plan.operations[id].action;
        if matches!(action, Action::Engine(EngineCall::CreateContainer { .. })) || id == chain_head
        {
            assert_eq!(running, 1, "{action} ran beside another: {at_start:?}");
        }
    }
    // Then the five starts that no start waits for went out together.
    let most = at_start.iter().map(|&(_, running)| running).max();
    assert_eq!(most, Some(5), "{at_start:?}");
}

fn create(name: &str) -> EngineCall {
    EngineCall::CreateContainer {
        service: "web".into(),
        number: 1,
        name: name.into(),
        spec: Box::new(ContainerSpec {
            image: "busybox".into(),
            ..ContainerSpec::default()
        }),
    }
}

fn start(name: &str) -> EngineCall {
    EngineCall::StartContainer {
        service: "web".into(),
        container: ContainerRef {
            name: name.into(),
            id: None,
        },
    }
}

#[tokio::test]
async fn a_container_is_created_once_the_rest_of_what_its_start_waits_for_is_under_way() {
    let engine = MemoryEngine::new();
    engine.add_image("busybox");
    engine.add_container("p-old-1", "busybox", &[], ContainerState::Running);
    let mut plan = Plan::default();
    // The start of p-web-1 also waits for the second of two networks.
    let first = plan.push(network("first"), Cause::Missing, Vec::new());
    let second = plan.push(network("second"), Cause::Missing, vec![first]);
    let web = plan.push(create("p-web-1"), Cause::Missing, Vec::new());
    plan.push(start("p-web-1"), Cause::Missing, vec![web, second]);
    // A replacement: its start waits for the old container's stop, which waits for the
    // create. The create cannot wait for that stop: it goes at once.
    let new = plan.push(create("p-new-1"), Cause::ConfigChanged, Vec::new());
    let stop = plan.push(
        EngineCall::StopContainer {
            service: "web".into(),
            container: ContainerRef {
                name: "p-old-1".into(),
                id: None,
            },
            timeout: None,
        },
        Cause::Replacing("p-new-1".into()),
        vec![new],
    );
    plan.push(start("p-new-1"), Cause::ConfigChanged, vec![new, stop]);
    let order = std::sync::Mutex::new(Vec::new());
    let record = |_: &Operation, event: &Event| {
        if let Event::Started(id) = event {
            order.lock().unwrap().push(*id);
        }
    };
    let report = tokio::time::timeout(
        Duration::from_secs(5),
        run(&plan, Arc::new(engine), &ExecuteOptions::new("p"), &record),
    )
    .await
    .expect("the run ends");
    assert!(report.is_success(), "{:?}", report.failures);
    let order = order.lock().unwrap();
    let at = |id: usize| order.iter().position(|&o| o == id).unwrap();
    assert!(at(second) < at(web), "{order:?}");
    assert!(at(new) < at(second), "{order:?}");
}

#[tokio::test]
async fn a_dropped_run_lets_its_engine_changes_end_and_drops_its_waits() {
    let engine = Arc::new(MemoryEngine::new());
    engine.slow_network_creates(Duration::from_millis(300));
    let mut plan = Plan::default();
    plan.push(network("made"), Cause::Missing, Vec::new());
    plan.push(
        ControlStep::Delay {
            service: "web".into(),
            period: Duration::from_secs(60),
        },
        Cause::Missing,
        Vec::new(),
    );
    let options = ExecuteOptions::new("p");
    let running = run(&plan, engine.clone(), &options, &|_, _| {});
    // The supervisor told to stop drops its plan mid-way.
    assert!(
        tokio::time::timeout(Duration::from_millis(50), running)
            .await
            .is_err()
    );
    assert!(engine.network_names().is_empty());
    let started = tokio::time::Instant::now();
    assert!(settle_changes(Duration::from_secs(5)).await);
    assert_eq!(engine.network_names(), ["made"]);
    // The network's create, not the minute of delay, was waited for.
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

fn network(name: &str) -> EngineCall {
    EngineCall::CreateNetwork(crate::desired::DesiredNetwork {
        key: name.into(),
        name: name.into(),
        external: false,
        driver: None,
        driver_opts: Default::default(),
        internal: false,
        attachable: false,
        enable_ipv4: None,
        enable_ipv6: false,
        ipam: None,
        identity: None,
        labels: Default::default(),
    })
}

fn deps(after: &[usize], settled: &[usize], if_failed: Option<usize>) -> Deps {
    Deps {
        after: after.to_vec(),
        settled: settled.to_vec(),
        if_failed,
    }
}

/// Runs `plan` on an engine where creating the networks named in `failing` fails; returns
/// the report and the networks that exist, by name.
async fn run_failing(plan: &Plan, failing: &[&str]) -> (Report, Vec<String>) {
    let engine = Arc::new(MemoryEngine::new());
    for name in failing {
        engine.fail("create_network", name, "no address pool left");
    }
    let options = ExecuteOptions::new("p");
    let report = run(plan, engine.clone(), &options, &|_, _| {}).await;
    let mut networks = engine.network_names();
    networks.sort();
    (report, networks)
}

#[tokio::test]
async fn settled_waits_for_an_end_whatever_it_is_and_fallbacks_run_only_when_theirs_did_not_succeed()
 {
    let mut plan = Plan::default();
    let first = plan.push(network("first"), Cause::Missing, vec![]);
    let done = deps(&[], &[first], None);
    plan.push_with(network("after-either"), Cause::Missing, done);
    let fallback = deps(&[], &[], Some(first));
    let fallback = plan.push_with(network("fallback"), Cause::Missing, fallback);
    let behind = plan.push(network("behind-fallback"), Cause::Missing, vec![fallback]);
    let second = plan.push(network("second"), Cause::Missing, vec![first]);
    let skipped_fallback = deps(&[], &[], Some(second));
    plan.push_with(
        network("fallback-of-skipped"),
        Cause::Missing,
        skipped_fallback,
    );

    let (report, networks) = run_failing(&plan, &["first"]).await;
    let expected = [
        "after-either",
        "behind-fallback",
        "fallback",
        "fallback-of-skipped",
    ];
    assert_eq!(
        networks, expected,
        "a skipped operation did not succeed either"
    );
    assert_eq!(report.failures.len(), 1);
    assert_eq!(report.skipped, [second]);

    let (report, networks) = run_failing(&plan, &[]).await;
    assert_eq!(networks, ["after-either", "first", "second"]);
    assert!(report.is_success());
    // Not needed: neither the fallbacks nor what waits for them ran.
    let mut skipped = report.skipped.clone();
    skipped.sort_unstable();
    assert_eq!(skipped, [fallback, behind, second + 1]);
}

#[tokio::test]
async fn a_failure_count_fails_beyond_what_it_tolerates_and_names_the_failures() {
    let mut plan = Plan::default();
    let watched: Vec<usize> = ["a", "b", "c"]
        .iter()
        .map(|name| plan.push(network(name), Cause::Missing, vec![]))
        .collect();
    let check = ControlStep::CheckFailures {
        service: "web".into(),
        watched: watched.clone(),
        tolerated: 1,
        updated: 3,
        failure_action: FailureAction::Pause,
    };
    let check = plan.push_with(check, Cause::Missing, deps(&[], &watched, None));
    plan.push(network("next"), Cause::Missing, vec![check]);

    let (report, networks) = run_failing(&plan, &["b"]).await;
    assert_eq!(report.failures.len(), 1, "one failure is tolerated");
    assert!(networks.contains(&"next".to_string()));

    let (report, networks) = run_failing(&plan, &["a", "c"]).await;
    let count = &report.failures.last().unwrap().message;
    assert!(
        count.starts_with("service \"web\": update paused: 2 of 3 updated replicas failed (1 tolerated): create network a: "),
        "{count}"
    );
    assert!(!networks.contains(&"next".to_string()));
}

/// As compose: `Started` is told once the container's `post_start` hooks have run.
#[tokio::test]
async fn a_start_is_told_after_its_post_start_hooks() {
    let engine = MemoryEngine::new();
    engine.add_image("busybox");
    let mut plan = Plan::default();
    let created = plan.push(create("p-web-1"), Cause::Missing, Vec::new());
    let hook = |word: &str| crate::desired::Hook {
        command: vec!["echo".into(), word.into()],
        ..Default::default()
    };
    let container = ContainerRef {
        name: "p-web-1".into(),
        id: None,
    };
    let hooks = [hook("one"), hook("two")];
    let last = plan.push_start("web", container, &hooks, Cause::Missing, vec![created]);
    let told = std::sync::Mutex::new(Vec::new());
    let record = |op: &Operation, event: &Event| {
        if let Event::Succeeded(_) = event {
            told.lock().unwrap().push(op.action.to_string());
        }
    };
    let options = ExecuteOptions::new("p");
    let report = run(&plan, Arc::new(engine), &options, &record).await;
    assert!(report.is_success(), "{:?}", report.failures);
    assert_eq!(
        told.into_inner().unwrap(),
        [
            "create container p-web-1",
            "run post_start[0] in container p-web-1",
            "run post_start[1] in container p-web-1",
            "start container p-web-1",
        ],
        "the last hook is operation {last}"
    );
}
