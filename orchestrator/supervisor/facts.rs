//! What the supervisor records in the restart history, from the two sources that say what
//! happened: the engine's events (a crash, a `docker stop`, a start from another terminal, and
//! when) and the operations its plans carried out. What to do about them is decided in
//! `plan::reconcile`; the lines written here are the supervisor's account to the user.

use std::collections::HashSet;
use std::time::Duration;

use tokio::time::Instant;

use super::Supervisor;
use super::triggers::Target;
use crate::engine::{ContainerState, EngineEvent, EventAction, EventKind, Health};
use crate::execute::Report;
use crate::observe::Observed;
use crate::plan::{Cause, EngineCall, Plan};
use crate::restart::{self, Ended, Exit, Millis};

/// How long after a recorded exit the engine may still list the replica as running (it
/// lists it so until it has cleaned up after the exit); after that, it was started again.
const STALE_LIMIT: Duration = Duration::from_secs(1);

/// A decision for the log: `restarting in 0.4s`, `gave up: …`.
fn describe(decision: &restart::RestartDecision, at: Millis) -> String {
    match decision {
        restart::RestartDecision::RestartNow => "restarting".to_string(),
        restart::RestartDecision::RestartAt(due) => {
            format!("restarting in {}", restart::format_span(due.since(at)))
        }
        other => other.to_string(),
    }
}

impl Supervisor {
    /// Takes an engine event into account; what it calls a new plan for, if anything.
    pub(super) fn note(&mut self, event: EngineEvent) -> Option<Target> {
        tracing::debug!(?event.action, name = %event.name, "engine event");
        if event.kind != EventKind::Container {
            return matches!(event.action, EventAction::Destroy).then_some(Target::Project);
        }
        let service = event.service()?.to_string();
        let number = event.number()?;
        let desired = self.desired.services.get(&service)?;
        let policy = desired.restart;
        let engine_policy = desired.container.restart;
        let at = Millis(u64::try_from(event.time_nanos / 1_000_000).unwrap_or(0));
        let ours = self.ours.contains(&event.id);
        match event.action {
            EventAction::Kill { signal } if !ours => {
                self.burst.killed(&event.id, signal, Instant::now())
            }
            EventAction::Die { .. } | EventAction::Destroy => self.burst.ended(&event.id),
            _ => {}
        }
        let replan = match event.action {
            EventAction::Die { .. } if !ours && self.state.user_stopped().contains(&service) => {
                self.book.slot(&service, number).record_user_stop();
                tracing::info!("{} stopped by the user", event.name);
                true
            }
            EventAction::Die { exit_code } if !ours && engine_policy.restarts_exits() => {
                let exit = Exit::Code(exit_code.unwrap_or(0));
                tracing::info!(
                    "{} exited ({exit}): left to the engine's restart policy ({})",
                    event.name,
                    engine_policy.name()
                );
                self.engine_restarting.insert((service.clone(), number), at);
                true
            }
            EventAction::Die { exit_code } if !ours => {
                let exit = Exit::Code(exit_code.unwrap_or(0));
                let slot = self.book.slot(&service, number);
                let decision = slot.record_exit(&policy, at, exit);
                tracing::info!(
                    "{} exited ({exit}): {}",
                    event.name,
                    describe(&decision, at)
                );
                true
            }
            EventAction::HealthStatus(Health::Unhealthy) if !ours => {
                let slot = self.book.slot(&service, number);
                let decision = slot.record_exit(&policy, at, Exit::Unhealthy);
                tracing::warn!("{} is unhealthy: {}", event.name, describe(&decision, at));
                true
            }
            // The engine does not restart what its API killed (`docker kill`): under an engine
            // policy, that replica is left down, and it is drift. (A signal that does not end
            // the process marks nothing that matters: only a replica that is down is started.)
            EventAction::Kill { .. }
                if !ours
                    && engine_policy.restarts_exits()
                    && !self.state.user_stopped().contains(&service) =>
            {
                self.drifted.insert((service.clone(), number));
                false
            }
            EventAction::Stop if !ours => {
                if self.state.user_stopped().contains(&service) {
                    self.book.slot(&service, number).record_user_stop();
                } else {
                    tracing::warn!(
                        "{} was stopped behind wharf's back: starting it again",
                        event.name
                    );
                    self.drifted.insert((service.clone(), number));
                }
                true
            }
            EventAction::Start => {
                // A start the supervisor did not make is the engine's restart when it follows an
                // exit under an engine policy, and otherwise a user start (`wharf start`,
                // `wharf restart`, `docker start`): the slot gets a fresh count, and a user's
                // `stop` of it is over.
                let engine_restart = self
                    .engine_restarting
                    .remove(&(service.clone(), number))
                    .is_some();
                // Either way a drift noted for it is over: a `stop` event taken in after the
                // user's mark was lifted must not start a later exit of a `restart: no` replica.
                self.drifted.remove(&(service.clone(), number));
                if !self.starting.remove(&event.id) {
                    let slot = self.book.slot(&service, number);
                    match engine_restart {
                        true => slot.record_engine_restart(at),
                        false => slot.record_start(at),
                    }
                }
                // A plan saves the history with the engine's restart in it.
                engine_restart || self.dns.is_some()
            }
            EventAction::Destroy => {
                self.ours.remove(&event.id);
                true
            }
            // The last event of a stop the supervisor made: what follows is not its doing.
            EventAction::Stop => {
                self.ours.remove(&event.id);
                false
            }
            EventAction::HealthStatus(_) => self.dns.is_some(),
            _ => false,
        };
        replan.then_some(Target::Service(service))
    }

    /// Remembers which containers `plan` stops, removes and starts: their events are the
    /// supervisor's own doing.
    pub(super) fn expect_own_events(&mut self, plan: &Plan) {
        for op in &plan.operations {
            match op.action.engine_call() {
                Some(
                    EngineCall::StopContainer { container, .. }
                    | EngineCall::RemoveContainer { container, .. },
                ) => {
                    self.ours.extend(container.id.clone());
                }
                Some(EngineCall::StartContainer { container, .. }) => {
                    self.starting.extend(container.id.clone());
                }
                _ => {}
            }
        }
    }

    /// Records the starts `plan` carried out (not those that failed or were skipped): a
    /// restart of the policy counts one attempt, any other start gives a fresh count.
    pub(super) fn record_starts(&mut self, plan: &Plan, report: &Report, observed: &Observed) {
        let failed: HashSet<usize> = report
            .failures
            .iter()
            .map(|f| f.operation)
            .chain(report.skipped.iter().copied())
            .collect();
        let at = self.clock.now();
        for op in plan.operations.iter().filter(|op| !failed.contains(&op.id)) {
            let Some(EngineCall::StartContainer { service, container }) = op.action.engine_call()
            else {
                continue;
            };
            let Some(number) = observed
                .services
                .get(service)
                .into_iter()
                .flatten()
                .find(|c| c.name == container.name || Some(&c.id) == container.id.as_ref())
                .map(|c| c.number())
            else {
                continue;
            };
            let policy = self.desired.services[service].restart;
            let slot = self.book.slot(service, number);
            match op.cause {
                Cause::RestartPolicy { .. } | Cause::Unhealthy { .. } => {
                    slot.record_restart(&policy, at)
                }
                _ => slot.record_start(at),
            }
            self.drifted.remove(&(service.clone(), number));
            self.engine_restarting.remove(&(service.clone(), number));
            tracing::info!("{} started ({})", container.name, op.cause);
        }
    }

    /// The engine lists a container as running until it has cleaned up after its exit, tens of
    /// milliseconds after the `die` event the history recorded. Such a replica is taken as
    /// exited: the plan restarts it at once, and the engine serves the start after its cleanup
    /// (both hold the container's lock), instead of a second observe later. One still listed as
    /// running long after its recorded exit was started by someone else meanwhile (the `up`
    /// that launched this supervisor, before it subscribed): a user start.
    pub(super) fn trust_recorded_exits(&mut self, observed: &mut Observed) {
        let at = self.clock.now();
        for c in observed.services.values_mut().flatten() {
            let Some(slot) = self.book.get_mut(c.service(), c.number()) else {
                continue;
            };
            // An unhealthy replica is really still running: its restart stops it first.
            let Some(&Ended {
                at: exited,
                exit: Exit::Code(code),
                ..
            }) = slot.ended.as_ref()
            else {
                continue;
            };
            if !c.is_up() {
                continue;
            }
            if at.since(exited) > STALE_LIMIT {
                slot.record_start(at);
            } else {
                c.state = ContainerState::Exited;
                c.exit_code = Some(code);
            }
        }
    }
}

/// How soon a plan is made again when the engine's list lags behind an exit it reported.
pub(super) const LIST_LAG: Duration = Duration::from_millis(50);

impl Supervisor {
    /// Whether the engine still lists as running a replica whose `die` under an engine policy
    /// came less than `STALE_LIMIT` ago. Its list lags behind its events, and the plan could not
    /// tell a replica the engine will restart (`restarting`) from one it will not (`exited`,
    /// after a `docker kill`): observe again `LIST_LAG` later.
    pub(super) fn lists_an_exit_as_running(&self, observed: &Observed) -> bool {
        let at = self.clock.now();
        observed.services.values().flatten().any(|c| {
            c.state == ContainerState::Running
                && self
                    .engine_restarting
                    .get(&(c.service().to_string(), c.number()))
                    .is_some_and(|died| at.since(*died) <= STALE_LIMIT)
        })
    }
}
