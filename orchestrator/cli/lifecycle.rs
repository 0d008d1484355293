//! `wharf start`, `stop`, `restart` and `build`.

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

use super::engine::Session;
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

#[derive(Debug, Clone, Copy)]
pub enum Verb {
    Start,
    Stop,
    Restart,
}

pub async fn run(
    global: &GlobalArgs,
    verb: Verb,
    services: &[String],
    timeout: Option<u64>,
) -> Result<ExitCode, ExitCode> {
    let session = Session::open(global).await?;
    let graph = session.target.desired().map(|d| &d.graph);
    let observed = session.observe().await?;
    session.check_services(services, &observed)?;
    let state = StateDir::of(session.name());
    let dry_run = super::dry_run();
    if matches!(verb, Verb::Stop | Verb::Restart) {
        // Marked before stopping, so that a running supervisor leaves them stopped.
        let names: Vec<&String> = if services.is_empty() {
            observed.services.keys().collect()
        } else {
            services.iter().collect()
        };
        for name in names.into_iter().filter(|_| !dry_run) {
            if let Err(err) = state.mark_user_stopped(name) {
                super::output::error_line(&format!("cannot record that {name} is stopped: {err}"));
            }
        }
        let timeout = timeout.map(Duration::from_secs);
        session
            .execute(&lifecycle::stop(graph, &observed, services, timeout))
            .await?;
        if matches!(verb, Verb::Stop) {
            return Ok(ExitCode::SUCCESS);
        }
    }
    if dry_run {
        // Nothing was stopped: the start plan is made from what runs now.
        return session
            .execute(&lifecycle::start(graph, &observed, services))
            .await;
    }
    state.clear_user_stopped(services);
    let observed = session.observe().await?;
    session
        .execute(&lifecycle::start(graph, &observed, services))
        .await
}

pub async fn build(global: &GlobalArgs, args: &ServicesArgs) -> Result<ExitCode, ExitCode> {
    let project = load_project(global)?;
    let desired = desired::build(&project, &Default::default());
    if let Some(unknown) = args
        .services
        .iter()
        .find(|s| !desired.services.contains_key(*s))
    {
        super::output::error_line(&format!("no such service: {unknown}"));
        return Err(ExitCode::FAILURE);
    }
    let plan = lifecycle::build(&desired, &args.services);
    Session::loaded(project, desired)
        .await?
        .execute(&plan)
        .await
}
