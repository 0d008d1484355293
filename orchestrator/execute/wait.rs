//! The control steps that take time: a wait for a condition, a monitor, a delay. Each looks at
//! the facts its backend reports, asks the [judge](super::judge) what they mean, and words the
//! answer for the user. None of them changes anything.

use std::time::Duration;

use super::judge::{ContainerFacts, Expectation, Unmet, Verdict, judge, state_name};
use super::performer::Performer;
use super::report::{OperationError, Outcome};
use crate::plan::{ContainerRef, ControlStep, WaitCondition};
use crate::spec::short::Duration as GoDuration;

/// Runs a wait, a monitor or a delay; `poll` is how often a wait looks again.
pub(super) async fn serve(
    step: &ControlStep,
    performer: &impl Performer,
    poll: Duration,
) -> Result<Outcome, OperationError> {
    match step {
        ControlStep::WaitFor {
            service,
            container,
            condition,
            required,
        } => {
            let waited = match container {
                Some(container) => {
                    wait_for_replica(performer, poll, service, container, *condition).await
                }
                None => wait_for_service(performer, poll, service, *condition).await,
            };
            match waited {
                Ok(()) => Ok(Outcome::Unchanged),
                Err(message) if !required => Ok(Outcome::Tolerated(message)),
                Err(message) => Err(message.into()),
            }
        }
        ControlStep::Delay { period, .. } => {
            tokio::time::sleep(*period).await;
            Ok(Outcome::Unchanged)
        }
        ControlStep::Monitor {
            service,
            container,
            period,
        } => monitor(performer, poll, service, container, *period)
            .await
            .map(|()| Outcome::Unchanged)
            .map_err(OperationError::from),
        ControlStep::CheckFailures { .. } => {
            unreachable!("the run counts failures itself: it knows the outcomes")
        }
    }
}

/// Waits until every container of `service` meets `condition`; fails as soon as one cannot.
async fn wait_for_service(
    performer: &impl Performer,
    poll: Duration,
    service: &str,
    condition: WaitCondition,
) -> Result<(), String> {
    loop {
        let containers = performer
            .service_facts(service)
            .await
            .map_err(|e| format!("waiting for {service}: {e}"))?;
        if containers.is_empty() {
            return Err(format!("dependency {service:?} has no container"));
        }
        let mut met = true;
        for c in &containers {
            match judge(Expectation::Dependency(condition), c) {
                Verdict::Met => {}
                Verdict::NotYet => met = false,
                Verdict::Failed(unmet) => {
                    return Err(dependency_failed(service, condition, c, unmet));
                }
            }
        }
        if met {
            return Ok(());
        }
        tokio::time::sleep(poll).await;
    }
}

/// A dependency that cannot meet its condition, in compose's words where compose has some.
fn dependency_failed(
    service: &str,
    condition: WaitCondition,
    c: &ContainerFacts,
    unmet: Unmet,
) -> String {
    let name = &c.name;
    match (condition, unmet) {
        (_, Unmet::NeverStarted) => {
            format!("dependency {service:?} is not started: container {name} {unmet}")
        }
        (WaitCondition::Healthy, Unmet::NoHealthcheck) => format!(
            "dependency {service:?} is required to be healthy, but container {name} {unmet}"
        ),
        (WaitCondition::Healthy, _) => {
            format!("dependency failed to start: container {name} {unmet}")
        }
        (WaitCondition::CompletedSuccessfully, Unmet::Exited { code }) => format!(
            "service {service:?} didn't complete successfully: container {name} exited with code {code}"
        ),
        _ => format!("container {name} {unmet}"),
    }
}

/// Waits until a new replica is ready (`Running` or `Healthy`); fails as soon as it cannot be.
async fn wait_for_replica(
    performer: &impl Performer,
    poll: Duration,
    service: &str,
    container: &ContainerRef,
    condition: WaitCondition,
) -> Result<(), String> {
    loop {
        let c = inspect(performer, service, container).await?;
        let name = &container.name;
        match judge(Expectation::Replica(condition), &c) {
            Verdict::Met => return Ok(()),
            Verdict::NotYet => tokio::time::sleep(poll).await,
            Verdict::Failed(unmet) => {
                return Err(format!("service {service:?}: container {name} {unmet}"));
            }
        }
    }
}

/// Watches a container for `period`: it must keep running and must not turn unhealthy.
async fn monitor(
    performer: &impl Performer,
    poll: Duration,
    service: &str,
    container: &ContainerRef,
    period: Duration,
) -> Result<(), String> {
    let deadline = tokio::time::Instant::now() + period;
    let during = format!("during its {} monitor", GoDuration(period));
    loop {
        let c = inspect(performer, service, container).await?;
        if let Verdict::Failed(unmet) = judge(Expectation::KeepsRunning, &c) {
            let what = match unmet {
                Unmet::Unhealthy => "turned unhealthy".into(),
                Unmet::NotRunning(state) => format!("stopped running ({})", state_name(state)),
                other => other.to_string(),
            };
            let name = &container.name;
            return Err(format!(
                "service {service:?}: container {name} {what} {during}"
            ));
        }
        let now = tokio::time::Instant::now();
        if now >= deadline {
            return Ok(());
        }
        tokio::time::sleep(poll.min(deadline - now)).await;
    }
}

/// The container a step names, by ID when it had one when planned, else by name.
async fn inspect(
    performer: &impl Performer,
    service: &str,
    container: &ContainerRef,
) -> Result<ContainerFacts, String> {
    performer
        .container_facts(container)
        .await
        .map_err(|e| format!("service {service:?}: container {}: {e}", container.name))
}
