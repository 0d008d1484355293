//! `wharf start`, `stop`, `restart` and `build`.

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

use super::error::CliError;
use super::session::{Session, no_such_service};
use super::{GlobalArgs, load_project};
use crate::desired;
use crate::plan::lifecycle;
use crate::supervisor::state::StateDir;

#[derive(Debug, Args)]
pub struct ServicesArgs {
    /// Services to act on (default: all)
    pub services: Vec<String>,
}

#[derive(Debug, Args)]
pub struct StopArgs {
    /// Shutdown timeout in seconds
    #[arg(short, long, value_name = "SECONDS")]
    pub timeout: Option<u64>,
    /// Services to act on (default: all)
    pub services: Vec<String>,
}

#[derive(Debug, Args)]
pub struct RestartArgs {
    /// Shutdown timeout in seconds
    #[arg(short, long, value_name = "SECONDS")]
    pub timeout: Option<u64>,
    /// Don't restart dependent services (those with `depends_on: {SERVICE: {restart: true}}`)
    #[arg(long)]
    pub no_deps: bool,
    /// Services to act on (default: all)
    pub services: Vec<String>,
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Set build-time variables for services (KEY=VALUE, or KEY to take it from the environment)
    #[arg(long, value_name = "KEY[=VALUE]")]
    pub build_arg: Vec<String>,
    /// Do not use cache when building the image
    #[arg(long)]
    pub no_cache: bool,
    /// Always attempt to pull a newer version of the image
    #[arg(long)]
    pub pull: bool,
    /// Suppress the build output
    #[arg(short, long)]
    pub quiet: bool,
    /// Also build dependencies (transitively)
    #[arg(long)]
    pub with_dependencies: bool,
    /// Services to build (default: all)
    pub services: Vec<String>,
}

#[derive(Debug, Clone, Copy)]
pub enum Verb {
    Start,
    Stop,
    Restart { no_deps: bool },
}

pub async fn run(
    global: &GlobalArgs,
    verb: Verb,
    services: &[String],
    timeout: Option<u64>,
) -> Result<ExitCode, CliError> {
    let session = Session::open(global).await?;
    let desired = session.target.desired();
    let observed = session.observe().await?;
    session.check_services(services, &observed)?;
    let scope = match verb {
        Verb::Restart { no_deps } => {
            lifecycle::restart_scope(session.target.desired(), services, no_deps)
        }
        Verb::Start | Verb::Stop => services.to_vec(),
    };
    let services = scope.as_slice();
    let state = StateDir::of(session.name());
    let dry_run = super::dry_run();
    if matches!(verb, Verb::Stop | Verb::Restart { .. }) {
        // Marked before stopping, so that a running supervisor leaves them stopped.
        if !dry_run {
            let names = match services.is_empty() {
                true => observed.services.keys().collect::<Vec<_>>(),
                false => services.iter().collect(),
            };
            super::each::mark_stopped(&state, names.into_iter().map(String::as_str));
        }
        let timeout = timeout.map(Duration::from_secs);
        session
            .execute(&lifecycle::stop(desired, &observed, services, timeout))
            .await?;
        if matches!(verb, Verb::Stop) {
            return Ok(ExitCode::SUCCESS);
        }
    }
    if dry_run {
        // Nothing was stopped: the start plan is made as if the stop had run.
        let mut after = observed.clone();
        if matches!(verb, Verb::Restart { .. }) {
            for c in after.services.values_mut().flatten() {
                if services.is_empty() || services.contains(c.service()) {
                    c.state = crate::engine::ContainerState::Exited;
                }
            }
        }
        session
            .execute(&lifecycle::start(desired, &after, services))
            .await?;
        return Ok(ExitCode::SUCCESS);
    }
    // The mark is lifted once the start has run, not before: a supervisor that takes the
    // stop's events in late must still see them as the user's, or it starts the containers
    // too (and runs their `post_start` hooks a second time).
    let observed = session.observe().await;
    let started = match &observed {
        Ok(observed) => {
            session
                .execute(&lifecycle::start(desired, observed, services))
                .await
        }
        Err(_) => Ok(()),
    };
    state.clear_user_stopped(services);
    observed?;
    started?;
    Ok(ExitCode::SUCCESS)
}

pub async fn build(global: &GlobalArgs, args: &BuildArgs) -> Result<ExitCode, CliError> {
    let project = load_project(global)?;
    let desired = desired::build(&project, &Default::default());
    if let Some(unknown) = args
        .services
        .iter()
        .find(|s| !desired.services.contains_key(*s))
    {
        return Err(no_such_service(unknown));
    }
    let flags = lifecycle::BuildFlags {
        args: args
            .build_arg
            .iter()
            .filter_map(|arg| match arg.split_once('=') {
                Some((key, value)) => Some((key.to_string(), Some(value.to_string()))),
                // Compose leaves out a variable that is not set.
                None => std::env::var(arg).ok().map(|v| (arg.clone(), Some(v))),
            })
            .collect(),
        no_cache: args.no_cache,
        pull: args.pull,
        with_dependencies: args.with_dependencies,
    };
    let plan = lifecycle::build_with(&desired, &args.services, &flags);
    Session::loaded(project, desired)
        .await?
        .execute(&plan)
        .await?;
    Ok(ExitCode::SUCCESS)
}
