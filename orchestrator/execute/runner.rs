//! The run of one plan: operations sent as their dependencies allow, the outcomes recorded,
//! what they unblock decided, and every step reported. Generic over the backend: only its
//! [`Performer`] makes engine calls.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;

use super::check::FailureCount;
use super::dag::Dag;
use super::fallback::{Fate, State, fate};
use super::in_flight::InFlight;
use super::performer::{Call, CallKind, Performer};
use super::post_start;
use super::report::{Event, Failure, OperationError, Outcome, Report};
use super::schedule::{ExecuteOptions, Schedule};
use super::wait;
use crate::plan::{Action, ControlStep, Operation, Plan};

type Progress<'a, C> = &'a (dyn Fn(&Operation<C>, &Event) + Sync);

/// Runs `plan` on the backend `performer` stands for.
pub async fn run_with<P: Performer>(
    plan: &Plan<P::Call>,
    performer: Arc<P>,
    options: &ExecuteOptions,
    progress: Progress<'_, P::Call>,
) -> Report {
    let mut run = Run::new(plan, progress, options.container_parallelism);
    let mut tasks: JoinSet<(usize, Result<Outcome, OperationError>)> = JoinSet::new();
    let parallelism = options.parallelism.max(1);
    loop {
        while tasks.len() < parallelism {
            let Some(id) = run.take_next() else {
                break;
            };
            let op = &plan.operations[id];
            progress(op, &Event::Started(id));
            tracing::debug!(operation = id, action = %op.action, "operation started");
            spawn(&mut tasks, id, &op.action, &performer, options.poll);
        }
        let Some(joined) = tasks.join_next().await else {
            break;
        };
        let (id, result) = joined.expect("an operation task panicked");
        tracing::debug!(operation = id, ok = result.is_ok(), "operation ended");
        run.complete(id, result);
    }
    run.report
}

/// Sends one operation on its way. A change on the engine runs to its end even when the run is
/// dropped (the supervisor told to stop): cut short, the engine could still make what the
/// `down` that follows no longer sees. `settle_changes` waits for them. Control steps, and
/// calls the engine abandons when its client goes, are dropped with the run.
fn spawn<P: Performer>(
    tasks: &mut JoinSet<(usize, Result<Outcome, OperationError>)>,
    id: usize,
    action: &Action<P::Call>,
    performer: &Arc<P>,
    poll: Duration,
) {
    let performer = performer.clone();
    match action.clone() {
        Action::Control(step) => {
            tasks.spawn(async move { (id, wait::serve(&step, performer.as_ref(), poll).await) });
        }
        Action::Engine(call) if call.kind() == CallKind::EndsWithClient => {
            tasks.spawn(async move { (id, performer.perform(&call).await) });
        }
        Action::Engine(call) => {
            let change = tokio::spawn(InFlight::track(
                async move { performer.perform(&call).await },
            ));
            tasks.spawn(async move {
                let result = change.await.expect("an operation task panicked");
                (id, result)
            });
        }
    }
}

/// The state of one run: the DAG's bookkeeping, the schedule, and the report so far.
struct Run<'a, C> {
    plan: &'a Plan<C>,
    progress: Progress<'a, C>,
    dag: Dag,
    schedule: Schedule,
    report: Report,
}

impl<'a, C: Call> Run<'a, C> {
    fn new(
        plan: &'a Plan<C>,
        progress: Progress<'a, C>,
        container_parallelism: usize,
    ) -> Run<'a, C> {
        let dag = Dag::new(plan);
        let schedule = Schedule::new(plan, dag.dependents(), container_parallelism);
        let mut run = Run {
            plan,
            progress,
            dag,
            schedule,
            report: Report::default(),
        };
        let free = run.dag.free();
        run.settle_ready(free);
        run
    }

    fn take_next(&mut self) -> Option<usize> {
        let dag = &self.dag;
        self.schedule
            .take_next(|id| dag.state(id) == State::Pending)
    }

    /// Decides, for operations whose dependencies have all finished, whether they run, and
    /// settles those that do not (and what that unblocks).
    fn settle_ready(&mut self, mut decidable: Vec<usize>) {
        let mut ready = Vec::new();
        decidable.sort_unstable_by(|a, b| b.cmp(a));
        while let Some(id) = decidable.pop() {
            let plan = self.plan;
            let op = &plan.operations[id];
            let unblocked = match fate(op, |d| self.dag.state(d)) {
                Fate::NotNeeded => self.finish(id, State::NotNeeded, None),
                Fate::Skipped { because } => {
                    let blame = self.dag.blame(because);
                    (self.progress)(op, &Event::Skipped(id));
                    self.finish(id, State::Skipped, blame)
                }
                Fate::Runs => match &op.action {
                    Action::Control(ControlStep::CheckFailures {
                        service,
                        watched,
                        tolerated,
                        updated,
                        failure_action,
                    }) => {
                        // A count of outcomes the run already has: no engine call to wait for.
                        (self.progress)(op, &Event::Started(id));
                        let count = FailureCount {
                            service,
                            tolerated: *tolerated,
                            updated: *updated,
                            failure_action: *failure_action,
                        };
                        let failures = watched.iter().filter_map(|&w| self.dag.failure(w));
                        let result = count.judge(failures).map(|()| Outcome::Unchanged);
                        self.settle(id, result.map_err(OperationError::from))
                    }
                    _ => {
                        ready.push(id);
                        Vec::new()
                    }
                },
            };
            decidable.extend(unblocked);
            decidable.sort_unstable_by(|a, b| b.cmp(a));
        }
        self.schedule.enqueue(ready);
    }

    /// An operation that ran has ended.
    fn complete(&mut self, id: usize, result: Result<Outcome, OperationError>) {
        self.schedule.ended(id);
        let unblocked = self.settle(id, result);
        self.settle_ready(unblocked);
    }

    /// Reports how an operation that ran ended; returns what became decidable.
    fn settle(&mut self, id: usize, result: Result<Outcome, OperationError>) -> Vec<usize> {
        let plan = self.plan;
        let op = &plan.operations[id];
        match result {
            Ok(outcome) => {
                if matches!(outcome, Outcome::Changed | Outcome::Printed(_)) {
                    self.report.mutations += 1;
                }
                if let Outcome::Printed(text) = &outcome
                    && !text.is_empty()
                {
                    (self.progress)(op, &Event::Output(id, text.clone()));
                }
                let dependents = self.dag.dependents();
                let hooks_follow = post_start::hook_after(plan, dependents, id).is_some();
                let is_start =
                    op.action.engine_call().map(Call::kind) == Some(CallKind::StartsContainer);
                match &outcome {
                    Outcome::Tolerated(message) => {
                        (self.progress)(op, &Event::Warning(id, message.clone()))
                    }
                    // As compose: a container is told started once its `post_start` hooks ran.
                    _ if hooks_follow && is_start => {}
                    _ => (self.progress)(op, &Event::Succeeded(id)),
                }
                if !hooks_follow
                    && let Some(start) = post_start::start_told_by(plan, dependents, id)
                {
                    (self.progress)(&plan.operations[start], &Event::Succeeded(start));
                }
                self.finish(id, State::Succeeded, None)
            }
            Err(OperationError { message, stale }) => {
                (self.progress)(op, &Event::Failed(id, message.clone()));
                self.report.failures.push(Failure {
                    operation: id,
                    message: message.clone(),
                    stale,
                });
                self.finish(id, State::Failed, Some(message))
            }
        }
    }

    /// Records how an operation ended; returns the operations that no longer wait for
    /// anything.
    fn finish(&mut self, id: usize, state: State, blame: Option<String>) -> Vec<usize> {
        self.schedule.finished(id);
        if matches!(state, State::Skipped | State::NotNeeded) {
            self.report.skipped.push(id);
        }
        self.dag.finish(id, state, blame)
    }
}
