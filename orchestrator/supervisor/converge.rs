//! One converge of the supervisor: observe, plan with the restart history, publish the answers
//! of its DNS, execute, and record what was done.

use std::collections::{BTreeSet, HashSet};

use super::error::SupervisorError;
use super::{Supervisor, discovery};
use crate::backend::Backend;
use crate::backend::container::ContainerBackend;
use crate::converge::{self, Converge, ConvergeError, Mode, Reporter};
use crate::desired::Desired;
use crate::dns::PlanView;
use crate::execute::{Event, Failure, Report};
use crate::observe::{self, Listing, Observed};
use crate::plan::{
    Action, ControlStep, EngineCall, Operation, Plan, ReconcileOptions, Supervision,
};

/// How many times a plan that the engine outran is made again.
const STALE_RETRIES: usize = 2;

impl Supervisor {
    /// A plan made outside `converge` (builds, networks first), run with the same reporting.
    pub(super) async fn run_plan(
        &self,
        plan: &Plan,
        sink: &dyn Reporter,
    ) -> Result<(), SupervisorError> {
        let project = &self.desired.project;
        converge::apply(&self.backend(), project, plan, Mode::Run(sink))
            .await
            .map_err(|err| supervisor_error(plan, err))
    }

    /// The target the supervisor converges: the engine's containers.
    pub(super) fn backend(&self) -> ContainerBackend {
        ContainerBackend::new(self.runtime.clone())
    }

    /// What the engine holds for `desired`'s project.
    pub(super) async fn observe(&self, desired: &Desired) -> Result<Observed, SupervisorError> {
        let backend = self.backend();
        let observed = Converge::new(&backend, desired).observe().await;
        observed.map_err(|err| supervisor_error(&Plan::default(), err))
    }

    /// [`observe`](Self::observe), from the engine's listings when they were read a moment ago.
    pub(super) async fn observe_listed(
        &self,
        desired: &Desired,
        listing: Option<Listing>,
    ) -> Result<Observed, SupervisorError> {
        let Some(listing) = listing else {
            return self.observe(desired).await;
        };
        let project = &desired.project;
        observe::observe_listed(self.runtime.as_ref(), listing, project, Some(desired))
            .await
            .map_err(|source| {
                let project = project.clone();
                supervisor_error(&Plan::default(), ConvergeError::Observe { project, source })
            })
    }

    /// Observe, plan, execute, and record what the restart policy did, leaving out the
    /// services in `held` (and what waits for them). A plan that failed only because the engine
    /// changed under it (another process created or removed a container meanwhile) is made
    /// again from a new observation, up to `STALE_RETRIES` times.
    pub(super) async fn converge(
        &mut self,
        options: ReconcileOptions,
        sink: &dyn Reporter,
        held: &BTreeSet<String>,
    ) -> Result<(), SupervisorError> {
        self.converge_from(None, options, sink, held).await
    }

    /// [`converge`](Self::converge), its first plan made from `observed` when the engine was
    /// observed for the same desired state just before.
    pub(super) async fn converge_from(
        &mut self,
        mut observed: Option<Observed>,
        options: ReconcileOptions,
        sink: &dyn Reporter,
        held: &BTreeSet<String>,
    ) -> Result<(), SupervisorError> {
        let mut retries = 0;
        loop {
            match self
                .converge_once(observed.take(), options.clone(), sink, held)
                .await
            {
                Err(SupervisorError::Failed {
                    message,
                    stale: true,
                    ..
                }) if retries < STALE_RETRIES => {
                    retries += 1;
                    sink.warning(&format!(
                        "the engine changed while the plan ran ({message}); planning again"
                    ));
                }
                outcome => return outcome,
            }
        }
    }

    async fn converge_once(
        &mut self,
        observed: Option<Observed>,
        options: ReconcileOptions,
        sink: &dyn Reporter,
        held: &BTreeSet<String>,
    ) -> Result<(), SupervisorError> {
        let project = self.desired.project.clone();
        let backend = self.backend();
        let mut observed = match observed {
            Some(observed) => observed,
            None => self.observe(&self.desired).await?,
        };
        for (name, service) in &self.desired.services {
            for c in observed.services.get(name).into_iter().flatten() {
                self.book
                    .slot(name, c.number())
                    .observe_config(&service.config_hash);
            }
        }
        self.trust_recorded_exits(&mut observed);
        let user_stopped: HashSet<String> = self.state.user_stopped().into_iter().collect();
        let options = ReconcileOptions {
            supervision: Some(Supervision {
                book: self.book.clone(),
                now: self.clock.now(),
                drifted: self.drifted.clone(),
                user_stopped,
            }),
            ..options
        };
        if let (Some(settled), Some(supervision)) = (&self.settled, &options.supervision) {
            settled.send_if_modified(|services| {
                let now = supervision.settled(&self.desired, &observed);
                let changed = *services != now;
                *services = now;
                changed
            });
        }
        let plan = without(backend.plan(&self.desired, &observed, &options)?, held);
        tracing::debug!(wake_at = ?plan.wake_at, "supervisor plan:\n{plan}");
        for warning in &plan.warnings {
            sink.warning(warning);
        }
        if let Some(dns) = &mut self.dns {
            dns.publish(&self.desired, &observed).await;
        }
        self.wake_at = plan.wake_at;
        if self.lists_an_exit_as_running(&observed) {
            let soon = self.clock.now().plus(super::facts::LIST_LAG);
            self.wake_at = Some(self.wake_at.map_or(soon, |at| at.min(soon)));
        }
        if plan.operations.is_empty() {
            self.save();
            return Ok(());
        }
        self.expect_own_events(&plan);
        sink.plan(plan.operations.len());
        let view = self
            .dns
            .as_ref()
            .map(|dns| PlanView::new(dns, &self.desired, observed.clone()));
        let progress = |op: &Operation, event: &Event| {
            if let (Some(view), Event::Started(_)) = (&view, event) {
                view.operation_started(op);
            }
            sink.event(op, event)
        };
        let execution = backend.execute(&project, &plan, &progress);
        let report = match &view {
            Some(view) => {
                let events = self.events.subscribe();
                let runtime = self.runtime.as_ref();
                discovery::publishing(view, runtime, &self.desired, events, execution).await
            }
            None => execution.await,
        };
        self.record_starts(&plan, &report, &observed);
        self.save();
        outcome(&plan, &report)
    }

    pub(super) fn save(&self) {
        if let Err(err) = self.state.save_book(&self.book) {
            tracing::error!(%err, "supervisor: cannot save the restart history");
        }
    }
}

/// A report as a result: the first failure's message, and whose operations failed.
fn outcome(plan: &Plan, report: &Report) -> Result<(), SupervisorError> {
    match report.failures.is_empty() {
        true => Ok(()),
        false => Err(failed(plan, &report.failures)),
    }
}

/// A pass of the converge path that did not converge, in the supervisor's words.
fn supervisor_error(plan: &Plan, err: ConvergeError) -> SupervisorError {
    match err {
        ConvergeError::Observe { source, .. } => SupervisorError::Observe(source),
        ConvergeError::Plan(err) => SupervisorError::Plan(err),
        ConvergeError::Failed(failures) => failed(plan, &failures),
    }
}

/// The first failure's message, whether they were all the engine changing under the plan,
/// and whose operations failed.
fn failed(plan: &Plan, failures: &[Failure]) -> SupervisorError {
    SupervisorError::Failed {
        message: failures
            .first()
            .map(|f| f.message.clone())
            .unwrap_or_default(),
        stale: failures.iter().all(|f| f.stale),
        services: failures
            .iter()
            .filter_map(|f| service_of(&plan.operations[f.operation].action))
            .map(str::to_string)
            .collect(),
    }
}

/// `plan` without the operations of the `held` services and those that wait for them.
fn without(plan: Plan, held: &BTreeSet<String>) -> Plan {
    if held.is_empty() {
        return plan;
    }
    let mut dropped: HashSet<usize> = HashSet::new();
    // Dependencies may come after their dependents in the list: until nothing changes.
    loop {
        let before = dropped.len();
        for op in &plan.operations {
            let of_held = service_of(&op.action).is_some_and(|s| held.contains(s));
            if of_held || op.after.iter().any(|a| dropped.contains(a)) {
                dropped.insert(op.id);
            }
        }
        if dropped.len() == before {
            break;
        }
    }
    let kept: BTreeSet<usize> = plan
        .operations
        .iter()
        .map(|op| op.id)
        .filter(|id| !dropped.contains(id))
        .collect();
    Plan {
        operations: sub_plan(&plan, &kept),
        ..plan
    }
}

/// The operations `kept` of `plan` (with every operation they wait for), numbered again.
pub(super) fn sub_plan(plan: &Plan, kept: &BTreeSet<usize>) -> Vec<Operation> {
    let new_id: std::collections::HashMap<usize, usize> =
        kept.iter().enumerate().map(|(n, id)| (*id, n)).collect();
    kept.iter()
        .map(|id| {
            let op = &plan.operations[*id];
            Operation {
                id: new_id[id],
                after: op.after.iter().map(|a| new_id[a]).collect(),
                ..op.clone()
            }
        })
        .collect()
}

/// The service an operation acts for; none for networks and volumes, which are the project's.
fn service_of(action: &Action) -> Option<&str> {
    let service = match action {
        Action::Engine(call) => match call {
            EngineCall::CreateNetwork(_)
            | EngineCall::RemoveNetwork { .. }
            | EngineCall::CreateVolume(_)
            | EngineCall::RemoveVolume { .. } => return None,
            EngineCall::PullImage { service, .. }
            | EngineCall::BuildImage { service, .. }
            | EngineCall::CreateContainer { service, .. }
            | EngineCall::StartContainer { service, .. }
            | EngineCall::StopContainer { service, .. }
            | EngineCall::RemoveContainer { service, .. }
            | EngineCall::RenameContainer { service, .. }
            | EngineCall::RunHook { service, .. }
            | EngineCall::RemoveImage { service, .. } => service,
        },
        Action::Control(step) => match step {
            ControlStep::WaitFor { service, .. }
            | ControlStep::Delay { service, .. }
            | ControlStep::Monitor { service, .. }
            | ControlStep::CheckFailures { service, .. } => service,
        },
    };
    Some(service)
}
