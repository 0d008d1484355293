//! `wharf down`: stop and remove the project's containers and networks (volumes with `-v`).

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

use super::GlobalArgs;
use super::error::CliError;
use super::session::Session;
use crate::plan::{self, Action, DownOptions};
use crate::supervisor::state::StateDir;

#[derive(Debug, Args)]
pub struct DownArgs {
    /// Remove named volumes declared in the volumes section and anonymous volumes
    #[arg(short, long)]
    pub volumes: bool,
    /// Remove containers for services not defined in the compose file
    #[arg(long)]
    pub remove_orphans: bool,
    /// Shutdown timeout in seconds
    #[arg(short, long, value_name = "SECONDS")]
    pub timeout: Option<u64>,
    /// Remove images used by services: "local" only those without a custom tag, or "all"
    #[arg(long, value_enum, value_name = "TYPE")]
    pub rmi: Option<plan::Rmi>,
    /// Services to remove, with the services that depend on them (default: the project)
    pub services: Vec<String>,
}

pub async fn run(global: &GlobalArgs, args: &DownArgs) -> Result<ExitCode, CliError> {
    let session = Session::open(global).await?;
    if super::dry_run() {
        let observed = session.observe().await?;
        let plan = plan::down(
            session.name(),
            session.target.desired(),
            &observed,
            &options(args),
        );
        session.execute(&plan).await?;
        return Ok(ExitCode::SUCCESS);
    }
    if !args.services.is_empty() {
        return some_services(&session, args).await;
    }
    // The supervisor goes first, or it would restore what `down` removes. An `up` under way
    // may be starting a keeper that no pid file names yet: `down` waits for it to finish.
    let state = StateDir::of(session.name());
    let _lock = super::supervisor_client::lock(&state)?;
    let limit = Duration::from_secs(args.timeout.unwrap_or(10) + 20);
    if !tokio::task::block_in_place(|| state.stop_supervisor(limit)) {
        return Err(CliError::message(
            "the project's supervisor did not stop; retry, or kill it",
        ));
    }
    let observed = session.observe().await?;
    let plan = plan::down(
        session.name(),
        session.target.desired(),
        &observed,
        &options(args),
    );
    session.execute(&plan).await?;
    state.clear();
    Ok(ExitCode::SUCCESS)
}

fn options(args: &DownArgs) -> DownOptions {
    DownOptions {
        volumes: args.volumes,
        remove_orphans: args.remove_orphans || super::env_flag("COMPOSE_REMOVE_ORPHANS"),
        timeout: args.timeout.map(Duration::from_secs),
        services: args.services.clone(),
        rmi: args.rmi,
    }
}

/// `down SERVICE...`: the supervisor stays for the rest of the project, and leaves the removed
/// services down, as after `stop`, until `up` or `start` brings them back.
async fn some_services(session: &Session, args: &DownArgs) -> Result<ExitCode, CliError> {
    let observed = session.observe().await?;
    let plan = plan::down(
        session.name(),
        session.target.desired(),
        &observed,
        &options(args),
    );
    let state = StateDir::of(session.name());
    let mut removed: Vec<&str> = plan
        .operations
        .iter()
        .filter_map(|op| match &op.action {
            Action::RemoveContainer { service, .. } => Some(service.as_str()),
            _ => None,
        })
        .collect();
    removed.sort_unstable();
    removed.dedup();
    for service in removed {
        state.mark_user_stopped(service).map_err(|err| {
            CliError::Message(format!("cannot record that {service} is down: {err}"))
        })?;
    }
    session.execute(&plan).await?;
    Ok(ExitCode::SUCCESS)
}
