//! What the engine commands share: connecting, finding the project, running a plan.

use std::path::Path;
use std::process::ExitCode;
use std::sync::{Arc, OnceLock};

use super::error::CliError;
use super::progress::ProgressSink;
use super::{GlobalArgs, load_project};
use crate::backend::container::ContainerBackend;
use crate::converge::{self, Converge, Mode};
use crate::desired::{self, Desired};
use crate::engine::docker::DockerEngine;
use crate::engine::{ContainerEngine, EngineContainer, EngineError};
use crate::observe::{self, Observed};
use crate::plan::Plan;
use crate::spec::{self, Project, discover};
use crate::supervisor::request::{Prepared, UpRequest};

/// A command's project and its connection to the engine.
pub struct Session {
    pub target: Target,
    pub runtime: Arc<dyn ContainerEngine>,
}

impl Session {
    /// The project the global flags name (with or without a compose file), connected.
    pub async fn open(global: &GlobalArgs) -> Result<Session, CliError> {
        let target = target(global)?;
        Ok(Session {
            target,
            runtime: connect().await?,
        })
    }

    /// [`open`](Self::open), with the project's containers as listed by the engine. The listing
    /// is read while the files load (`ps` is mostly these two), for the name the project most
    /// likely has; read again if loading gives it another.
    pub async fn open_listed(
        global: &GlobalArgs,
    ) -> Result<(Session, Vec<EngineContainer>), CliError> {
        let guess = likely_name(global);
        let early = tokio::spawn(list(guess.clone()));
        let target = target(global)?;
        let (runtime, listed) = early.await.expect("the listing task is not cancelled")?;
        let containers = match listed {
            Some(Ok(containers)) if guess.as_deref() == Some(target.name()) => containers,
            _ => runtime.containers(target.name()).await?,
        };
        Ok((Session { target, runtime }, containers))
    }

    /// A loaded project with its desired state, connected.
    pub async fn loaded(project: Project, desired: Desired) -> Result<Session, CliError> {
        Ok(Session {
            target: Target::with_desired(project, desired),
            runtime: connect().await?,
        })
    }

    pub fn name(&self) -> &str {
        self.target.name()
    }

    /// Service arguments must name services of the compose file (or, without one, services
    /// that have containers), as compose insists.
    pub fn check_services(&self, names: &[String], observed: &Observed) -> Result<(), CliError> {
        let known = |name: &String| {
            self.target
                .knows(name)
                .unwrap_or_else(|| observed.services.contains_key(name))
        };
        match names.iter().find(|n| !known(n)) {
            Some(unknown) => Err(no_such_service(unknown)),
            None => Ok(()),
        }
    }

    pub async fn observe(&self) -> Result<Observed, CliError> {
        observe(self.runtime.as_ref(), self.name(), self.target.desired()).await
    }

    /// Runs a plan; `Err` when an operation failed, so that `?` ends the command.
    pub async fn execute(&self, plan: &Plan) -> Result<(), CliError> {
        execute(plan, self.runtime.clone(), self.name()).await
    }
}

/// Compose's words for a service argument that names no service.
pub fn no_such_service(name: &str) -> CliError {
    CliError::Message(format!("no such service: {name}"))
}

pub async fn connect() -> Result<Arc<dyn ContainerEngine>, CliError> {
    let runtime = DockerEngine::connect().await?;
    Ok(Arc::new(runtime))
}

/// Connects, and lists the containers of the project named `name` when there is one.
async fn list(name: Option<String>) -> Result<(Arc<dyn ContainerEngine>, Listed), CliError> {
    let runtime = connect().await?;
    let listed = match &name {
        Some(name) => Some(runtime.containers(name).await),
        None => None,
    };
    Ok((runtime, listed))
}

type Listed = Option<Result<Vec<EngineContainer>, EngineError>>;

/// The project's name as the command line, the environment and the files found say it before
/// the files are read: `-p`, `COMPOSE_PROJECT_NAME`, or their directory's name. Loading may
/// still find another (a top-level `name:`, a `.env` that sets the variable).
fn likely_name(global: &GlobalArgs) -> Option<String> {
    let cwd = std::env::current_dir().ok()?;
    let compose_file = std::env::var("COMPOSE_FILE").ok();
    let found = discover::discover(&discover::Request {
        files: &global.files,
        project_directory: global.project_directory.as_deref(),
        compose_file: compose_file.as_deref(),
        path_separator: None,
        cwd: &cwd,
    });
    let dir = match (found, &global.project_directory) {
        (Ok(found), _) => found.project_dir,
        (Err(_), Some(dir)) => dir.clone(),
        (Err(_), None) => cwd,
    };
    name_without_files(global, &dir).ok()
}

/// `-p`, else `COMPOSE_PROJECT_NAME`, else the name of `dir`: the project's name when no file
/// says otherwise.
fn name_without_files(global: &GlobalArgs, dir: &Path) -> Result<String, spec::Diagnostic> {
    match (&global.project_name, std::env::var("COMPOSE_PROJECT_NAME")) {
        (Some(name), _) => spec::name::explicit(name, "-p"),
        (None, Ok(name)) if !name.is_empty() => spec::name::explicit(&name, "COMPOSE_PROJECT_NAME"),
        _ => spec::name::derived(None, dir),
    }
}

/// The project a command acts on. `down`, `ps`, `logs`, `start`, `stop` and `restart` work
/// without a compose file, from the project name alone: state lives in the engine's labels.
pub enum Target {
    /// The project and its desired state, built when a command first needs it (`ps` needs
    /// only the services' names).
    Loaded(Box<Project>, OnceLock<Box<Desired>>),
    NameOnly(String),
}

impl Target {
    /// A project whose desired state is built already.
    pub fn with_desired(project: Project, desired: Desired) -> Target {
        Target::Loaded(Box::new(project), OnceLock::from(Box::new(desired)))
    }

    pub fn name(&self) -> &str {
        match self {
            Target::Loaded(project, _) => &project.name,
            Target::NameOnly(name) => name,
        }
    }

    pub fn desired(&self) -> Option<&Desired> {
        match self {
            Target::Loaded(project, desired) => {
                Some(desired.get_or_init(|| Box::new(desired::build(project, &Default::default()))))
            }
            Target::NameOnly(_) => None,
        }
    }

    /// Whether the compose file has a service `name`, disabled by its profiles or not (as
    /// [`Desired::knows`]); `None` without a compose file.
    pub fn knows(&self, name: &str) -> Option<bool> {
        match self {
            Target::Loaded(project, _) => Some(
                project.model.services.contains_key(name)
                    || project.disabled_services.iter().any(|d| d == name),
            ),
            Target::NameOnly(_) => None,
        }
    }
}

pub fn target(global: &GlobalArgs) -> Result<Target, CliError> {
    if global.files.is_empty()
        && std::env::var_os("COMPOSE_FILE").is_none()
        && !has_compose_file(global)
    {
        let dir = global
            .project_directory
            .clone()
            .or_else(|| std::env::current_dir().ok())
            .unwrap_or_default();
        return Ok(Target::NameOnly(name_without_files(global, &dir)?));
    }
    let project = load_project(global)?;
    Ok(Target::Loaded(Box::new(project), OnceLock::new()))
}

fn has_compose_file(global: &GlobalArgs) -> bool {
    let cwd = std::env::current_dir().unwrap_or_default();
    discover::discover(&discover::Request {
        files: &[],
        project_directory: global.project_directory.as_deref(),
        compose_file: None,
        path_separator: None,
        cwd: &cwd,
    })
    .is_ok()
}

pub async fn observe(
    runtime: &dyn ContainerEngine,
    project: &str,
    desired: Option<&Desired>,
) -> Result<Observed, CliError> {
    observe::observe(runtime, project, desired)
        .await
        .map_err(|err| {
            CliError::Message(format!("cannot read the state of project {project}: {err}"))
        })
}

/// Runs a plan with progress output (`--dry-run`: prints it, with its warnings, and does
/// nothing); `Err` with the failures of the operations that failed.
pub async fn execute(
    plan: &Plan,
    runtime: Arc<dyn ContainerEngine>,
    project: &str,
) -> Result<(), CliError> {
    let backend = ContainerBackend::new(runtime);
    let progress = ProgressSink::default();
    let applied = converge::apply(&backend, project, plan, mode(&progress)).await;
    progress.finish();
    Ok(applied?)
}

/// The converge path's mode for this command: printed with `--dry-run`, else run with
/// progress output.
pub fn mode(progress: &ProgressSink) -> Mode<'_> {
    match super::dry_run() {
        true => Mode::Print,
        false => Mode::Run(progress),
    }
}

/// `--dry-run` of `up` and `watch`: the plans `up` would run, computed here; nothing changes.
pub async fn print_up_plans(prepared: Prepared, request: &UpRequest) -> Result<ExitCode, CliError> {
    let session = Session::loaded(prepared.project, prepared.desired).await?;
    let desired = session.target.desired().expect("a loaded project");
    let backend = ContainerBackend::new(session.runtime.clone());
    let converge = Converge::new(&backend, desired);
    converge.apply(&prepared.images, Mode::Print).await?;
    converge
        .pass(&request.reconcile_options(), Mode::Print)
        .await?;
    Ok(ExitCode::SUCCESS)
}
