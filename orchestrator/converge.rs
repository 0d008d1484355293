//! The one converge path: (images) → observe → plan → run, written once for `up`, its
//! `--dry-run`, `create`, `watch`, the supervisor and the DNS's discovery, over any backend.
//! What varies between them is given to the path, not written again: the options (the
//! supervisor's restart book), who hears of a running plan (a `Reporter`), and whether the
//! plan runs or is printed (`Mode`). A caller that shapes the plan first (`create` leaves out
//! the starts, discovery keeps the networks and volumes) plans, shapes, then applies.

use crate::backend::{Backend, Planned};
use crate::desired::Desired;
use crate::engine::EngineError;
use crate::execute::{Event, Failure, Report};
use crate::plan::{Operation, PlanError, ReconcileOptions};

/// Why a pass did not converge.
#[derive(Debug, thiserror::Error)]
pub enum ConvergeError {
    #[error("cannot read the state of project {project}: {source}")]
    Observe {
        project: String,
        #[source]
        source: EngineError,
    },
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// Operations failed; each failure is reported with its operation.
    #[error("{}", .0.first().map_or("an operation failed", |f| f.message.as_str()))]
    Failed(Vec<Failure>),
}

impl ConvergeError {
    /// The engine changed under the plan (see `Failure::stale`): observing and planning again
    /// is the way out.
    pub fn is_stale(&self) -> bool {
        matches!(self, ConvergeError::Failed(failures) if failures.iter().any(|f| f.stale))
    }
}

/// Who hears of a running plan: the terminal's progress, the supervisor's log, a client of
/// the control socket.
pub trait Reporter: Sync {
    /// A plan of this many operations is about to run.
    fn plan(&self, operations: usize);
    fn warning(&self, text: &str);
    fn event(&self, op: &Operation, event: &Event);
}

/// Whether a plan runs, reported to someone, or is printed (`--dry-run`).
#[derive(Clone, Copy)]
pub enum Mode<'a> {
    Run(&'a dyn Reporter),
    Print,
}

/// Runs or prints one plan on `backend` for `project` (the images' builds and pulls, which run
/// before anything is observed so that a new image ID shows as "image changed"; a plan of
/// `down`, `stop`, `start`; a pass's plan).
pub async fn apply<B: Backend>(
    backend: &B,
    project: &str,
    plan: &B::Plan,
    mode: Mode<'_>,
) -> Result<(), ConvergeError> {
    let reporter = match mode {
        Mode::Print => {
            print!("{plan}");
            return Ok(());
        }
        Mode::Run(reporter) => reporter,
    };
    for warning in plan.warnings() {
        reporter.warning(warning);
    }
    if plan.is_noop() {
        return Ok(());
    }
    reporter.plan(plan.operations());
    let progress = |op: &Operation, event: &Event| reporter.event(op, event);
    succeeded(backend.execute(project, plan, &progress).await)
}

/// One project, described by its desired state, on one backend.
pub struct Converge<'a, B: Backend> {
    pub backend: &'a B,
    pub desired: &'a Desired,
}

/// What one pass saw, and the plan it made from it.
pub struct Pass<B: Backend> {
    pub observed: B::Observed,
    pub plan: B::Plan,
}

impl<'a, B: Backend> Converge<'a, B> {
    pub fn new(backend: &'a B, desired: &'a Desired) -> Converge<'a, B> {
        Converge { backend, desired }
    }

    /// What the backend holds for the project.
    pub async fn observe(&self) -> Result<B::Observed, ConvergeError> {
        let project = &self.desired.project;
        self.backend
            .observe(project, Some(self.desired))
            .await
            .map_err(|source| ConvergeError::Observe {
                project: project.clone(),
                source,
            })
    }

    /// Observe, then plan with `options`; nothing is run.
    pub async fn plan(&self, options: &ReconcileOptions) -> Result<Pass<B>, ConvergeError> {
        let observed = self.observe().await?;
        let plan = self.backend.plan(self.desired, &observed, options)?;
        Ok(Pass { observed, plan })
    }

    /// Runs or prints a plan of this project.
    pub async fn apply(&self, plan: &B::Plan, mode: Mode<'_>) -> Result<(), ConvergeError> {
        apply(self.backend, &self.desired.project, plan, mode).await
    }

    /// Observe, plan, then run or print the plan.
    pub async fn pass(
        &self,
        options: &ReconcileOptions,
        mode: Mode<'_>,
    ) -> Result<Pass<B>, ConvergeError> {
        let pass = self.plan(options).await?;
        self.apply(&pass.plan, mode).await?;
        Ok(pass)
    }
}

/// A run's report as a result: its failures, when there are any.
pub fn succeeded(report: Report) -> Result<(), ConvergeError> {
    match report.failures.is_empty() {
        true => Ok(()),
        false => Err(ConvergeError::Failed(report.failures)),
    }
}
