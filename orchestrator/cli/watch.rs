//! `wharf watch`: converge, then keep converging as files change (see `crate::watch`), until
//! Ctrl-C or SIGTERM; the containers keep running after it. When the project has a detached
//! supervisor (`up -d`), each re-converge is a request to it, as a later `up -d` would send;
//! otherwise they run as a loop of their own, the [`Converger`]: load → desired → observe →
//! reconcile → execute. Under `up --watch` they are requests to the attached supervisor
//! ([`through`]).

use std::process::ExitCode;
use std::sync::Arc;

use async_trait::async_trait;
use clap::Args;
use tokio::sync::mpsc;

use super::error::CliError;
use super::progress::ProgressSink;
use super::session::{self, Session, Target};
use super::{GlobalArgs, load_options, output, print_warnings};
use crate::desired::Desired;
use crate::engine::ContainerEngine;
use crate::observe;
use crate::plan::{self, Plan, lifecycle};
use crate::spec::Project;
use crate::supervisor::control::{Command, Reply, Request};
use crate::supervisor::request::UpRequest;
use crate::supervisor::state::StateDir;
use crate::watch::{Loader, Outcome, WatchTarget, Watcher};

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Remove containers of services no longer in the compose file
    #[arg(long)]
    pub remove_orphans: bool,
    /// Don't converge before watching: act on changes only
    #[arg(long)]
    pub no_up: bool,
    /// Stop the watching that `up -d --watch` left with the project's supervisor
    #[arg(long, conflicts_with_all = ["remove_orphans", "no_up"])]
    pub stop: bool,
}

pub async fn run(global: &GlobalArgs, args: &WatchArgs) -> Result<ExitCode, CliError> {
    if args.stop {
        return stop(global).await;
    }
    refuse_stdin(global)?;
    let request = UpRequest {
        load: load_options(global)?,
        remove_orphans: args.remove_orphans,
        ..UpRequest::default()
    };
    if super::dry_run() {
        // The first `up`'s plans; there is nothing to watch for when nothing changes.
        // Said as plain text, even on a terminal.
        let prepared = request
            .prepare()
            .map_err(|err| CliError::Message(err.to_string()))?;
        return super::session::print_up_plans(prepared, &request).await;
    }
    let load = loader(request.clone());
    // The loader has said why the project does not load.
    let (project, desired) = load().ok_or(CliError::Exit(ExitCode::FAILURE))?;
    let state = StateDir::of(&project.name);
    let session = Session::loaded(project, desired).await?;
    let converger = Converger::new(session.runtime.clone(), request);
    let target: Arc<dyn WatchTarget> = match state.is_supervised() {
        true => Arc::new(ThroughSupervisor {
            supervisor: Channel::Socket(state),
            converger,
        }),
        false => Arc::new(converger),
    };
    let (project, desired) = loaded(&session);
    if !args.no_up {
        target.converge(desired).await.map_err(CliError::Message)?;
    }
    let runtime = session.runtime.clone();
    let watcher = Watcher::new(runtime, target, project, desired.clone(), load);
    watcher
        .run(super::shutdown::signal())
        .await
        .map_err(CliError::Message)?;
    Ok(ExitCode::SUCCESS)
}

/// `watch --stop`: the project's supervisor stops watching; the project stays up.
async fn stop(global: &GlobalArgs) -> Result<ExitCode, CliError> {
    let session = Session::open(global).await?;
    let state = StateDir::of(session.name());
    if !state.is_supervised() {
        return Err(CliError::Message(format!(
            "no supervisor runs for project {}",
            session.name()
        )));
    }
    let request = Request::Watch(false);
    match super::supervisor_client::send_when_listening(&state, &request, |_| {}).await {
        Ok(None) => {
            eprintln!("watch: stopped for project {}", session.name());
            Ok(ExitCode::SUCCESS)
        }
        Ok(Some(error)) => Err(CliError::Message(error)),
        Err(err) => Err(CliError::Message(format!(
            "the project's supervisor cannot be reached: {err}"
        ))),
    }
}

/// `up --watch`: watches the project of `session` and sends each re-converge to the attached
/// supervisor through `commands`, as `request` again. Runs until dropped.
pub async fn through(session: &Session, request: UpRequest, commands: mpsc::Sender<Command>) {
    let (project, desired) = loaded(session);
    let target = ThroughSupervisor {
        supervisor: Channel::InProcess(commands),
        converger: Converger::new(session.runtime.clone(), request.clone()),
    };
    let runtime = session.runtime.clone();
    let watcher = Watcher::new(
        runtime,
        Arc::new(target),
        project,
        desired.clone(),
        loader(request),
    );
    if let Err(message) = watcher.run(std::future::pending()).await {
        output::error_line(&message);
    }
}

/// Standard input cannot be read twice, so `-f -` cannot be watched.
fn refuse_stdin(global: &GlobalArgs) -> Result<(), CliError> {
    match global.files.iter().any(|f| f == "-") {
        true => Err(CliError::message(
            "a compose file read from standard input cannot be watched",
        )),
        false => Ok(()),
    }
}

/// The project of a session opened with [`Session::loaded`].
fn loaded(session: &Session) -> (&Project, &Desired) {
    match &session.target {
        Target::Loaded(project, desired) => (project, desired),
        Target::NameOnly(_) => unreachable!("a session opened with a loaded project"),
    }
}

/// Loads the project as `request` says, each time it is called, printing warnings and any
/// diagnostic (the same loading as the supervisor's).
fn loader(request: UpRequest) -> Loader {
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
struct Converger {
    runtime: Arc<dyn ContainerEngine>,
    request: UpRequest,
}

impl Converger {
    fn new(runtime: Arc<dyn ContainerEngine>, request: UpRequest) -> Converger {
        Converger { runtime, request }
    }

    async fn observe(&self, desired: &Desired) -> Result<observe::Observed, String> {
        observe::observe(self.runtime.as_ref(), &desired.project, Some(desired))
            .await
            .map_err(|e| format!("cannot read the state of project {}: {e}", desired.project))
    }

    async fn execute(&self, desired: &Desired, plan: &Plan) -> Outcome {
        session::execute(plan, self.runtime.clone(), &desired.project)
            .await
            .map_err(|failures| {
                // The failures are said now: watching goes on.
                failures.print();
                "an operation failed (see above)".to_string()
            })
    }

    /// `up` for `services` (all when empty): images first, then the plan.
    async fn up(&self, desired: &Desired, services: &[String]) -> Outcome {
        let images = lifecycle::prepare_images(desired, services, false);
        self.execute(desired, &images).await?;
        let observed = self.observe(desired).await?;
        let request = UpRequest {
            services: services.to_vec(),
            no_deps: !services.is_empty(),
            ..self.request.clone()
        };
        let plan = plan::reconcile(desired, &observed, &request.reconcile_options())
            .map_err(|e| e.to_string())?;
        self.execute(desired, &plan).await
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
struct ThroughSupervisor {
    supervisor: Channel,
    converger: Converger,
}

/// Where a supervisor takes requests.
enum Channel {
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
                super::supervisor_client::send_when_listening(state, &request, |reply| {
                    progress.reply(reply)
                })
                .await
                .map_err(|err| format!("the project's supervisor cannot be reached: {err}"))
                .and_then(|error| error.map_or(Ok(()), Err))
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
    let gone = || "the supervisor has stopped".to_string();
    let command = Command { request, replies };
    commands.send(command).await.map_err(|_| gone())?;
    let mut outcome = Err(gone());
    while let Some(reply) = receiver.recv().await {
        if let Reply::Done { error } = &reply {
            outcome = error.clone().map_or(Ok(()), Err);
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
