//! The seam between wharf and what runs a project: a backend (a target) observes what the
//! target holds for a project, plans — purely, so that plans are golden-tested — what turns
//! that into the desired state, executes a plan, and reports what happens on the target as
//! normalized facts. It also says what the target does by itself, so that wharf does not do it
//! a second time: a cluster scheduler restarts its tasks and rolls its updates, a container
//! engine does neither.
//!
//! `container::ContainerBackend` is the local target: compose's containers on one
//! Docker-compatible engine, through the `engine::ContainerEngine` port. A cluster target (a
//! Docker Swarm, whose unit is a service) plugs in here with plans of its own.

pub mod container;
pub mod swarm;

use async_trait::async_trait;
use futures_util::stream::BoxStream;

use crate::desired::Desired;
use crate::engine::EngineError;
use crate::execute::{Event, Report};
use crate::plan::{Operation, PlanError, ReconcileOptions};

/// What a target does by itself; what it does not, wharf's supervisor does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Owned {
    /// It restarts what exits or turns unhealthy, by the service's restart policy.
    pub restarts: bool,
    /// It replaces a service's replicas batch by batch (`deploy.update_config`).
    pub rollouts: bool,
    /// It resolves service names to the service's replicas.
    pub service_dns: bool,
}

/// Something that happened to a replica on the target, in words every target can say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fact {
    /// The replica's process ended, with this exit code when the target knows it.
    Exited { replica: Replica, code: Option<i64> },
    /// Its health check failed often enough to call it unhealthy.
    Unhealthy { replica: Replica },
    /// It became healthy.
    Healthy { replica: Replica },
    /// It started (a restart, a start by wharf or by someone else).
    Started { replica: Replica },
    /// It was stopped or killed on purpose (by wharf or by someone else).
    Stopped { replica: Replica },
    /// It is gone.
    Removed { replica: Replica },
    /// The facts may have a gap (the target's stream was lost and is back): observe again.
    Resync,
}

/// A replica named by its project's service and number, and the target's own ID for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replica {
    pub service: String,
    pub number: u32,
    pub id: String,
}

/// What the path needs to know of any backend's plan.
pub trait Planned: std::fmt::Display + Send + Sync {
    /// What the user should know that is not an operation.
    fn warnings(&self) -> &[String];
    /// How many operations it has.
    fn operations(&self) -> usize;
    /// Nothing to run.
    fn is_noop(&self) -> bool {
        self.operations() == 0
    }
}

/// Reports an operation's progress while a plan runs.
pub type Progress<'a> = &'a (dyn Fn(&Operation, &Event) + Sync);

/// A target wharf converges a project on.
#[async_trait]
pub trait Backend: Send + Sync {
    /// What the target holds for a project.
    type Observed: Send + Sync;
    /// What turns that into the desired state; `Display` is its golden text.
    type Plan: Planned;

    /// What the target does by itself.
    fn owns(&self) -> Owned;

    /// What the target holds for `project`; with the desired state, also what that names
    /// beyond the project's own labels (external networks, images).
    async fn observe(
        &self,
        project: &str,
        desired: Option<&Desired>,
    ) -> Result<Self::Observed, EngineError>;

    /// The plan from `observed` to `desired`. Pure: no I/O, no clock.
    fn plan(
        &self,
        desired: &Desired,
        observed: &Self::Observed,
        options: &ReconcileOptions,
    ) -> Result<Self::Plan, PlanError>;

    /// Runs a plan, reporting each operation's progress.
    async fn execute(&self, project: &str, plan: &Self::Plan, progress: Progress<'_>) -> Report;

    /// What happens on the target from now on, for one project, as facts. A stream that ends
    /// means the target's stream was lost: subscribe again (after observing).
    async fn facts(&self, project: &str) -> Result<BoxStream<'static, Fact>, EngineError>;
}
