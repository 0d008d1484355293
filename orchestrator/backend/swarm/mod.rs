//! The Swarm target: a project as a stack of swarm services on a Docker Swarm, driven through
//! a manager's engine API. Swarm itself schedules, restarts, rolls updates out and resolves
//! service names, so wharf owns none of these here: it maps the compose model onto service
//! specs (`stack`, with `container` and `deploy`), compares them with what the swarm holds
//! (`diff`), plans purely (`plan`) and makes the plan's calls (`client`). Names and labels are
//! `docker stack deploy`'s (`names`), so `docker stack` and wharf see the same stacks.

mod client;
pub mod condition;
mod container;
pub mod converged;
mod deploy;
pub(crate) mod diff;
pub mod files;
pub mod images;
pub mod logs;
mod mounts;
pub mod names;
pub mod observed;
pub mod plan;
pub mod scope;
pub mod stack;
pub mod tasks;
mod unapplied;
mod wait;

#[cfg(test)]
mod plan_tests;

use std::time::{Duration, Instant};

use async_trait::async_trait;
use bollard::Docker;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;

use self::observed::ObservedStack;
use self::plan::{SwarmOperation, SwarmPlan};
use self::stack::Stack;
use self::tasks::TaskRow;
use super::{Backend, Fact, Owned, Progress};
use crate::desired::Desired;
use crate::engine::EngineError;
use crate::engine::registry_auth::RegistryAuth;
use crate::execute::{Failure, Report};
use crate::plan::{PlanError, ReconcileOptions};

/// How long `up` waits for dependencies and convergence unless `--wait-timeout` says.
pub const WAIT_LIMIT: Duration = Duration::from_secs(300);

/// Where an operation of a plan being run is.
pub enum Step<'a> {
    Begun,
    /// A wait is not over: where its dependency is.
    Pending(&'a str),
    Ended(&'a Result<(), EngineError>),
}

/// A project's stack on the swarm a manager's engine runs.
pub struct SwarmBackend {
    docker: Docker,
    stack: Option<Stack>,
    /// The docker CLI's registry credentials, sent with each service's create and update.
    auth: RegistryAuth,
}

impl SwarmBackend {
    /// The swarm behind `docker`, a manager's engine; `stack` is what the file wants (none for
    /// a verb run from the project's name alone). Services are created and updated with the
    /// registry credentials of the docker CLI's configuration (`DOCKER_CONFIG`).
    pub fn new(docker: Docker, stack: Option<Stack>) -> SwarmBackend {
        SwarmBackend {
            docker,
            stack,
            auth: RegistryAuth::from_environment(),
        }
    }

    /// The stack's volumes on the node wharf talks to.
    pub async fn node_volumes(&self, project: &str) -> Result<Vec<String>, EngineError> {
        client::node_volumes(&self.docker, project).await
    }

    /// The stack's tasks, one row each.
    pub async fn tasks(&self, project: &str) -> Result<Vec<TaskRow>, EngineError> {
        client::tasks(&self.docker, project).await
    }

    /// The lines of the stack's tasks `shown`, each stream tagged with its prefix name.
    pub async fn logs(
        &self,
        shown: &[logs::TaskLog],
        options: &crate::engine::LogOptions,
    ) -> Vec<logs::Tagged> {
        logs::open(&self.docker, shown, options).await
    }

    /// Runs a plan's operations in order, telling `step` of each as it goes; stops at the
    /// first failure (what follows may need it: a service needs its network, a dependent its
    /// dependency). Its waits fail past `deadline`.
    pub async fn run(
        &self,
        plan: &SwarmPlan,
        deadline: Instant,
        step: &(dyn Fn(&SwarmOperation, Step<'_>) + Sync),
    ) -> Report {
        let mut report = Report::default();
        for (index, operation) in plan.operations.iter().enumerate() {
            step(operation, Step::Begun);
            let result = match operation {
                SwarmOperation::Wait {
                    service,
                    condition,
                    tasks,
                    restarts,
                    ..
                } => {
                    let project = self.stack.as_ref().map_or("", |s| s.project.as_str());
                    let dependency = wait::Dependency {
                        service,
                        condition: *condition,
                        tasks: *tasks,
                        restarts: *restarts,
                    };
                    let pending = |line: &str| step(operation, Step::Pending(line));
                    wait::until(&self.docker, project, &dependency, deadline, &pending).await
                }
                _ => client::run(&self.docker, &self.auth, operation).await,
            };
            step(operation, Step::Ended(&result));
            match result {
                Ok(()) => report.mutations += 1,
                Err(error) => {
                    report.failures.push(Failure {
                        operation: index,
                        message: format!("{operation}: {error}"),
                        stale: matches!(error, EngineError::NotFound(_)),
                    });
                    report.skipped.extend(index + 1..plan.operations.len());
                    break;
                }
            }
        }
        report
    }
}

#[async_trait]
impl Backend for SwarmBackend {
    type Observed = ObservedStack;
    type Plan = SwarmPlan;

    fn owns(&self) -> Owned {
        Owned {
            restarts: true,
            rollouts: true,
            service_dns: true,
        }
    }

    async fn observe(
        &self,
        project: &str,
        _desired: Option<&Desired>,
    ) -> Result<ObservedStack, EngineError> {
        client::observe(&self.docker, project).await
    }

    /// `up`'s plan for the backend's stack (`down`'s without one).
    fn plan(
        &self,
        _desired: &Desired,
        observed: &ObservedStack,
        options: &ReconcileOptions,
    ) -> Result<SwarmPlan, PlanError> {
        let Some(stack) = &self.stack else {
            return Ok(plan::down(observed, &scope::Scope::all(), &[]));
        };
        let unknown = |scope::UnknownService(name)| PlanError::UnknownService { name };
        let options = plan::UpOptions {
            scope: scope::Scope::up(stack, &options.services, options.no_deps).map_err(unknown)?,
            remove_orphans: options.remove_orphans,
            force_recreate: options.force_recreate,
        };
        Ok(plan::up(stack, observed, &options))
    }

    /// The progress callback speaks of the local target's operations: a swarm plan's are told
    /// through [`SwarmBackend::run`] instead.
    async fn execute(&self, _project: &str, plan: &SwarmPlan, _progress: Progress<'_>) -> Report {
        let deadline = Instant::now() + WAIT_LIMIT;
        self.run(plan, deadline, &|_, _| {}).await
    }

    /// The swarm restarts and reschedules its tasks itself: there is nothing for wharf's
    /// supervisor to act on, so no facts (a stream that never ends).
    async fn facts(&self, _project: &str) -> Result<BoxStream<'static, Fact>, EngineError> {
        Ok(futures_util::stream::pending().boxed())
    }
}
