//! `wharf watch`: converge, then keep converging as files change (see `crate::watch`), until
//! Ctrl-C or SIGTERM; the containers keep running after it. Here the re-converges run as a
//! standalone loop of their own: load → desired → observe → reconcile → execute.

use std::process::ExitCode;
use std::sync::Arc;

use async_trait::async_trait;
use clap::Args;

use super::engine::{self, Session, Target};
use super::{GlobalArgs, load_project, output};
use crate::desired::{self, BuildOptions, Desired};
use crate::observe;
use crate::plan::{self, Plan, ReconcileOptions, lifecycle};
use crate::runtime::Runtime;
use crate::spec::Project;
use crate::supervisor::Supervisor;
use crate::watch::{Loader, Outcome, WatchTarget, Watcher};

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Remove containers of services no longer in the compose file
    #[arg(long)]
    pub remove_orphans: bool,
    /// Don't converge before watching: act on changes only
    #[arg(long)]
    pub no_up: bool,
}

pub async fn run(global: &GlobalArgs, args: &WatchArgs) -> Result<ExitCode, ExitCode> {
    let load = loader(global, BuildOptions::default())?;
    let (project, desired) = load().ok_or(ExitCode::FAILURE)?;
    let session = Session::loaded(project, desired).await?;
    let target = Converger::new(session.runtime.clone(), args.remove_orphans);
    let (project, desired) = loaded(&session);
    if !args.no_up {
        target.converge(desired).await.map_err(|message| {
            output::error_line(&message);
            ExitCode::FAILURE
        })?;
    }
    let runtime = session.runtime.clone();
    let watcher = Watcher::new(runtime, Arc::new(target), project, desired.clone(), load);
    match watcher.run(super::up::shutdown_signal()).await {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(message) => {
            output::error_line(&message);
            Err(ExitCode::FAILURE)
        }
    }
}

/// The project of a session opened with [`Session::loaded`].
fn loaded(session: &Session) -> (&Project, &Desired) {
    match &session.target {
        Target::Loaded(project, desired) => (project, desired),
        Target::NameOnly(_) => unreachable!("a session opened with a loaded project"),
    }
}

/// Loads the project the global flags describe, each time it is called, printing any
/// diagnostic. Standard input cannot be read twice, so `-f -` cannot be watched.
pub fn loader(global: &GlobalArgs, options: BuildOptions) -> Result<Loader, ExitCode> {
    if global.files.iter().any(|f| f == "-") {
        output::error_line("a compose file read from standard input cannot be watched");
        return Err(ExitCode::FAILURE);
    }
    let global = GlobalArgs {
        files: global.files.clone(),
        project_name: global.project_name.clone(),
        project_directory: global.project_directory.clone(),
        env_files: global.env_files.clone(),
        profiles: global.profiles.clone(),
    };
    Ok(Box::new(move || {
        let project = load_project(&global).ok()?;
        let desired = desired::build(&project, &options);
        Some((project, desired))
    }))
}

/// The standalone converge loop: each action is an observe, a plan and its execution, with
/// the same output as `up`.
pub struct Converger {
    runtime: Arc<dyn Runtime>,
    remove_orphans: bool,
}

impl Converger {
    pub fn new(runtime: Arc<dyn Runtime>, remove_orphans: bool) -> Converger {
        Converger {
            runtime,
            remove_orphans,
        }
    }

    async fn observe(&self, desired: &Desired) -> Result<observe::Observed, String> {
        observe::observe(self.runtime.as_ref(), &desired.project, Some(desired))
            .await
            .map_err(|e| format!("cannot read the state of project {}: {e}", desired.project))
    }

    async fn execute(&self, desired: &Desired, plan: &Plan) -> Outcome {
        match engine::execute(plan, self.runtime.clone(), &desired.project).await {
            code if code == ExitCode::SUCCESS => Ok(()),
            _ => Err("an operation failed (see above)".to_string()),
        }
    }

    /// `up` for `services` (all when empty): images first, then the plan.
    async fn up(&self, desired: &Desired, services: &[String]) -> Outcome {
        let images = lifecycle::prepare_images(desired, services, false);
        self.execute(desired, &images).await?;
        let observed = self.observe(desired).await?;
        let options = ReconcileOptions {
            services: services.to_vec(),
            no_deps: !services.is_empty(),
            remove_orphans: self.remove_orphans,
            ..ReconcileOptions::default()
        };
        let plan = plan::reconcile(desired, &observed, &options).map_err(|e| e.to_string())?;
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
        let stop = lifecycle::stop(Some(&desired.graph), &observed, &service, None);
        self.execute(desired, &stop).await?;
        let observed = self.observe(desired).await?;
        let start = lifecycle::start(Some(&desired.graph), &observed, &service);
        self.execute(desired, &start).await
    }
}

/// `up --watch`, attached: the supervisor keeps the project converged and the watcher
/// re-converges it on file changes, until `shutdown`.
pub async fn supervise(
    session: &Session,
    load: Loader,
    remove_orphans: bool,
    shutdown: impl Future<Output = ()>,
) {
    let (project, desired) = loaded(session);
    let runtime = session.runtime.clone();
    let converger = Converger::new(runtime.clone(), remove_orphans);
    let target = Arc::new(Supervised::start(converger, desired.clone()));
    let watcher = Watcher::new(runtime, target.clone(), project, desired.clone(), load);
    if let Err(message) = watcher.run(shutdown).await {
        output::error_line(&message);
    }
    target.stop().await;
}

/// The watcher's target under a running supervisor, until the supervisor takes commands: the
/// supervisor holds the desired state it was started with, and would undo a re-converge or
/// take a restart for a crash. So each action stops it, runs through the [`Converger`], and
/// starts a new one on the current desired state (it adopts the restart history it saved).
struct Supervised {
    converger: Converger,
    running: tokio::sync::Mutex<Option<RunningSupervisor>>,
}

struct RunningSupervisor {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl RunningSupervisor {
    fn spawn(runtime: Arc<dyn Runtime>, desired: Desired) -> RunningSupervisor {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let supervisor = Supervisor::new(runtime, desired);
        let task = tokio::spawn(supervisor.run(async {
            let _ = stopped.await;
        }));
        RunningSupervisor { stop, task }
    }

    /// Stops it once the plan it may be running has finished.
    async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

impl Supervised {
    fn start(converger: Converger, desired: Desired) -> Supervised {
        let running = RunningSupervisor::spawn(converger.runtime.clone(), desired);
        Supervised {
            converger,
            running: tokio::sync::Mutex::new(Some(running)),
        }
    }

    /// Runs `action` with the supervisor stopped, then supervises `desired`.
    async fn paused(&self, desired: &Desired, action: impl Future<Output = Outcome>) -> Outcome {
        let mut running = self.running.lock().await;
        if let Some(supervisor) = running.take() {
            supervisor.stop().await;
        }
        let outcome = action.await;
        let runtime = self.converger.runtime.clone();
        *running = Some(RunningSupervisor::spawn(runtime, desired.clone()));
        outcome
    }

    async fn stop(&self) {
        if let Some(supervisor) = self.running.lock().await.take() {
            supervisor.stop().await;
        }
    }
}

#[async_trait]
impl WatchTarget for Supervised {
    async fn converge(&self, desired: &Desired) -> Outcome {
        self.paused(desired, self.converger.converge(desired)).await
    }

    async fn rebuild(&self, desired: &Desired, service: &str) -> Outcome {
        self.paused(desired, self.converger.rebuild(desired, service))
            .await
    }

    async fn restart(&self, desired: &Desired, service: &str) -> Outcome {
        self.paused(desired, self.converger.restart(desired, service))
            .await
    }
}
