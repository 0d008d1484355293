//! What watch mode converges through, on the command line: the standalone [`Converger`]
//! (`wharf watch` without a supervisor), or a supervisor ([`ThroughSupervisor`]: a detached
//! one's socket, or the attached one of `up --watch` in this process, see [`through`]).

use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::mpsc;

use super::error::CliError;
use super::print_warnings;
use super::progress::ProgressSink;
use super::session::{self, Session, Target};
use super::supervisor_client;
use crate::backend::container::ContainerBackend;
use crate::converge::{Converge, ConvergeError};
use crate::desired::Desired;
use crate::engine::ContainerEngine;
use crate::observe;
use crate::plan::{Plan, lifecycle};
use crate::spec::Project;
use crate::supervisor::control::{Command, Reply, Request};
use crate::supervisor::request::UpRequest;
use crate::supervisor::state::StateDir;
use crate::watch::{Loader, Outcome, TargetError, WatchError, WatchTarget, Watcher};

/// `up --watch`: watches the project of `session` and sends each re-converge to the attached
/// supervisor through `commands`, as `request` again. Runs until dropped.
pub async fn through(session: &Session, request: UpRequest, commands: mpsc::Sender<Command>) {
    run(watcher_through(session, request, commands)).await
}

/// A watcher of the project of `session` that sends each re-converge to the attached
/// supervisor through `commands`, as `request` again; it watches from now on (see
/// [`Watcher::new`]), and acts once [`run`].
pub fn watcher_through(
    session: &Session,
    request: UpRequest,
    commands: mpsc::Sender<Command>,
) -> Result<Watcher, WatchError> {
    let (project, desired) = loaded(session);
    let target = ThroughSupervisor {
        supervisor: Channel::InProcess(commands),
        converger: Converger::new(session.runtime.clone(), request.clone()),
    };
    let runtime = session.runtime.clone();
    Watcher::new(
        runtime,
        Arc::new(target),
        project,
        desired.clone(),
        loader(request),
    )
}

/// Runs a watcher made by [`watcher_through`] until dropped.
pub async fn run(watcher: Result<Watcher, WatchError>) {
    let watched = match watcher {
        Ok(watcher) => watcher.run(std::future::pending()).await,
        Err(err) => Err(err),
    };
    if let Err(err) = watched {
        // Said now: the `up` it serves goes on without watching.
        CliError::from(err).print();
    }
}

/// The project of a session opened with [`Session::loaded`].
pub fn loaded(session: &Session) -> (&Project, &Desired) {
    match (&session.target, session.target.desired()) {
        (Target::Loaded(project, _), Some(desired)) => (project, desired),
        _ => unreachable!("a session opened with a loaded project"),
    }
}

/// Loads the project as `request` says, each time it is called, printing warnings and any
/// diagnostic (the same loading as the supervisor's).
pub fn loader(request: UpRequest) -> Loader {
    Box::new(move || match request.prepare() {
        Ok(prepared) => {
            print_warnings(&prepared.project);
            Some((prepared.project, prepared.desired))
        }
        Err(err) => {
            // Said now: watching goes on, and the next valid save converges.
            CliError::from(err).print();
            None
        }
    })
}

/// The standalone converge loop: each action is an observe, a plan and its execution, with
/// the same output as `up`.
pub struct Converger {
    runtime: Arc<dyn ContainerEngine>,
    request: UpRequest,
}

impl Converger {
    pub fn new(runtime: Arc<dyn ContainerEngine>, request: UpRequest) -> Converger {
        Converger { runtime, request }
    }

    async fn observe(&self, desired: &Desired) -> Result<observe::Observed, TargetError> {
        let backend = ContainerBackend::new(self.runtime.clone());
        let observed = Converge::new(&backend, desired).observe().await;
        observed.map_err(target_error)
    }

    async fn execute(&self, desired: &Desired, plan: &Plan) -> Outcome {
        session::execute(plan, self.runtime.clone(), &desired.project)
            .await
            .map_err(|failures| {
                // The failures are said now: watching goes on.
                failures.print();
                TargetError::OperationsFailed
            })
    }

    /// `up` for `services` (all when empty): images first, then the plan.
    async fn up(&self, desired: &Desired, services: &[String]) -> Outcome {
        let request = UpRequest {
            services: services.to_vec(),
            no_deps: !services.is_empty(),
            ..self.request.clone()
        };
        let backend = ContainerBackend::new(self.runtime.clone());
        let converge = Converge::new(&backend, desired);
        let progress = ProgressSink::default();
        let images = lifecycle::prepare_images(desired, services, false);
        let mode = session::mode(&progress);
        let mut converged = converge.apply(&images, mode).await;
        if converged.is_ok() {
            let pass = converge.pass(&request.reconcile_options(), mode).await;
            converged = pass.map(|_| ());
        }
        progress.finish();
        converged.map_err(target_error)
    }
}

#[async_trait]
impl WatchTarget for Converger {
    async fn converge(&self, desired: &Desired) -> Outcome {
        self.up(desired, &[]).await
    }

    async fn rebuild(&self, desired: &Desired, service: &str) -> Outcome {
        let service = [service.to_string()];
        self.execute(desired, &lifecycle::build(desired, &service))
            .await?;
        self.up(desired, &service).await
    }

    async fn restart(&self, desired: &Desired, service: &str) -> Outcome {
        let service = [service.to_string()];
        let observed = self.observe(desired).await?;
        let stop = lifecycle::stop(Some(desired), &observed, &service, None);
        self.execute(desired, &stop).await?;
        let observed = self.observe(desired).await?;
        let start = lifecycle::start(Some(desired), &observed, &service);
        self.execute(desired, &start).await
    }
}

/// A supervisor as the watcher's target: a re-converge or a rebuild is an `up` request, which
/// the supervisor runs in its loop (it loads the files again itself) and then keeps converged.
/// A restart is the [`Converger`]'s: the supervisor has no restart request, so it sees the stop
/// as made behind its back and may be the one to start the replicas again.
pub struct ThroughSupervisor {
    pub supervisor: Channel,
    pub converger: Converger,
}

/// Where a supervisor takes requests.
pub enum Channel {
    /// The attached supervisor of `up --watch`, in this process.
    InProcess(mpsc::Sender<Command>),
    /// A detached supervisor's control socket.
    Socket(StateDir),
}

impl ThroughSupervisor {
    /// Sends `request` and prints the replies as `up` does; the supervisor's verdict.
    async fn send(&self, request: UpRequest) -> Outcome {
        let request = Request::Up(Box::new(request));
        let progress = ProgressSink::default();
        let outcome = match &self.supervisor {
            Channel::InProcess(commands) => in_process(commands, request, &progress).await,
            Channel::Socket(state) => {
                supervisor_client::send_when_listening(state, &request, |reply| {
                    progress.reply(reply)
                })
                .await
                .map_err(TargetError::SupervisorUnreachable)
                .and_then(|error| error.map_or(Ok(()), |e| Err(TargetError::Supervisor(e))))
            }
        };
        progress.finish();
        outcome
    }
}

async fn in_process(
    commands: &mpsc::Sender<Command>,
    request: Request,
    progress: &ProgressSink,
) -> Outcome {
    let (replies, mut receiver) = mpsc::unbounded_channel();
    let command = Command { request, replies };
    commands
        .send(command)
        .await
        .map_err(|_| TargetError::SupervisorStopped)?;
    let mut outcome = Err(TargetError::SupervisorStopped);
    while let Some(reply) = receiver.recv().await {
        if let Reply::Done { error } = &reply {
            outcome = match error {
                Some(verdict) => Err(TargetError::Supervisor(verdict.to_string())),
                None => Ok(()),
            };
        }
        progress.reply(reply);
    }
    outcome
}

#[async_trait]
impl WatchTarget for ThroughSupervisor {
    async fn converge(&self, _: &Desired) -> Outcome {
        self.send(self.converger.request.clone()).await
    }

    async fn rebuild(&self, _: &Desired, service: &str) -> Outcome {
        self.send(UpRequest {
            services: vec![service.to_string()],
            no_deps: true,
            build: true,
            ..self.converger.request.clone()
        })
        .await
    }

    async fn restart(&self, desired: &Desired, service: &str) -> Outcome {
        self.converger.restart(desired, service).await
    }
}

/// A converge that did not succeed, as watch mode tells it: the failures of operations are
/// said now, and watching goes on.
fn target_error(err: ConvergeError) -> TargetError {
    match err {
        ConvergeError::Observe { project, source } => TargetError::Observe { project, source },
        ConvergeError::Plan(err) => TargetError::Plan(err),
        failed @ ConvergeError::Failed(_) => {
            CliError::from(failed).print();
            TargetError::OperationsFailed
        }
    }
}
