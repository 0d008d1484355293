//! The runner serves a backend that is not the container one: only its `Performer` differs.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::{
    Call, CallKind, ContainerFacts, ExecuteOptions, OperationError, Outcome, Performer, run_with,
};
use crate::engine::ContainerState;
use crate::plan::{Action, Cause, ContainerRef, ControlStep, Plan, WaitCondition};

/// A call of a made-up backend: it names a service to bring up, or to fail at.
#[derive(Debug, Clone)]
enum Deploy {
    Up(&'static str),
    Fail(&'static str),
}

impl std::fmt::Display for Deploy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Deploy::Up(service) => write!(f, "deploy {service}"),
            Deploy::Fail(service) => write!(f, "fail {service}"),
        }
    }
}

impl Call for Deploy {
    fn kind(&self) -> CallKind {
        CallKind::Other
    }
}

/// Brings services up in memory; what is up runs one task each.
#[derive(Default)]
struct Scheduler {
    up: Mutex<Vec<&'static str>>,
}

impl Performer for Scheduler {
    type Call = Deploy;

    async fn perform(&self, call: &Deploy) -> Result<Outcome, OperationError> {
        match call {
            Deploy::Up(service) => {
                self.up.lock().unwrap().push(service);
                Ok(Outcome::Changed)
            }
            Deploy::Fail(service) => Err(format!("{service}: no node fits").into()),
        }
    }

    async fn service_facts(&self, service: &str) -> Result<Vec<ContainerFacts>, String> {
        let up = self.up.lock().unwrap().contains(&service);
        Ok(up
            .then(|| ContainerFacts {
                name: format!("{service}.1"),
                state: ContainerState::Running,
                health: None,
                exit_code: None,
            })
            .into_iter()
            .collect())
    }

    async fn container_facts(&self, container: &ContainerRef) -> Result<ContainerFacts, String> {
        Err(format!(
            "{}: tasks are not watched one by one",
            container.name
        ))
    }
}

#[tokio::test]
async fn another_backend_gets_the_same_waits_skips_and_report_from_its_own_calls() {
    let mut plan: Plan<Deploy> = Plan::default();
    let db = plan.push(Action::Engine(Deploy::Up("db")), Cause::Missing, vec![]);
    let wait = ControlStep::WaitFor {
        service: "db".into(),
        container: None,
        condition: WaitCondition::Running,
        required: true,
    };
    let ready = plan.push(wait, Cause::DependedOn("web".into()), vec![db]);
    plan.push(
        Action::Engine(Deploy::Up("web")),
        Cause::Missing,
        vec![ready],
    );
    let failed = plan.push(
        Action::Engine(Deploy::Fail("cache")),
        Cause::Missing,
        vec![],
    );
    let behind = plan.push(
        Action::Engine(Deploy::Up("worker")),
        Cause::Missing,
        vec![failed],
    );
    assert_eq!(
        plan.to_string().lines().nth(1),
        Some("#1 wait for db running (web depends on it) [#0]")
    );

    let scheduler = Arc::new(Scheduler::default());
    let options = ExecuteOptions {
        poll: Duration::from_millis(1),
        ..ExecuteOptions::new("p")
    };
    let report = run_with(&plan, scheduler.clone(), &options, &|_, _| {}).await;
    assert_eq!(*scheduler.up.lock().unwrap(), ["db", "web"]);
    assert_eq!(report.mutations, 2);
    assert_eq!(report.skipped, [behind]);
    let messages: Vec<&str> = report.failures.iter().map(|f| f.message.as_str()).collect();
    assert_eq!(messages, ["cache: no node fits"]);
}
