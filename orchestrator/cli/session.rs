//! What the engine commands share: connecting, finding the project, running a plan.

use std::process::ExitCode;
use std::sync::Arc;

use super::error::CliError;
use super::progress::ProgressSink;
use super::{GlobalArgs, load_project};
use crate::backend::container::ContainerBackend;
use crate::converge::{self, Converge, Mode};
use crate::desired::{self, Desired};
use crate::engine::ContainerEngine;
use crate::engine::docker::DockerEngine;
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

    /// A loaded project with its desired state, connected.
    pub async fn loaded(project: Project, desired: Desired) -> Result<Session, CliError> {
        Ok(Session {
            target: Target::Loaded(Box::new(project), Box::new(desired)),
            runtime: connect().await?,
        })
    }

    pub fn name(&self) -> &str {
        self.target.name()
    }

    /// Service arguments must name services of the compose file (or, without one, services
    /// that have containers), as compose insists.
    pub fn check_services(&self, names: &[String], observed: &Observed) -> Result<(), CliError> {
        let known = |name: &String| match self.target.desired() {
            Some(desired) => desired.knows(name),
            None => observed.services.contains_key(name),
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

/// The project a command acts on. `down`, `ps`, `logs`, `start`, `stop` and `restart` work
/// without a compose file, from the project name alone: state lives in the engine's labels.
pub enum Target {
    Loaded(Box<Project>, Box<Desired>),
    NameOnly(String),
}

impl Target {
    pub fn name(&self) -> &str {
        match self {
            Target::Loaded(project, _) => &project.name,
            Target::NameOnly(name) => name,
        }
    }

    pub fn desired(&self) -> Option<&Desired> {
        match self {
            Target::Loaded(_, desired) => Some(desired),
            Target::NameOnly(_) => None,
        }
    }
}

pub fn target(global: &GlobalArgs) -> Result<Target, CliError> {
    if global.files.is_empty()
        && std::env::var_os("COMPOSE_FILE").is_none()
        && !has_compose_file(global)
    {
        let name = match (&global.project_name, std::env::var("COMPOSE_PROJECT_NAME")) {
            (Some(name), _) => spec::name::explicit(name, "-p"),
            (None, Ok(name)) if !name.is_empty() => {
                spec::name::explicit(&name, "COMPOSE_PROJECT_NAME")
            }
            _ => {
                let dir = global
                    .project_directory
                    .clone()
                    .or_else(|| std::env::current_dir().ok())
                    .unwrap_or_default();
                spec::name::derived(None, &dir)
            }
        };
        return Ok(Target::NameOnly(name?));
    }
    let project = load_project(global)?;
    let desired = desired::build(&project, &Default::default());
    Ok(Target::Loaded(Box::new(project), Box::new(desired)))
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
