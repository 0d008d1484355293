//! `wharf pause` and `wharf unpause`: freeze and thaw the services' running containers. A
//! supervisor leaves a paused container paused: it is neither down nor unhealthy to it.

use std::process::ExitCode;

use clap::Args;

use super::GlobalArgs;
use super::each::{self, containers, has_process};
use super::error::CliError;
use super::session::Session;

#[derive(Debug, Args)]
pub struct PauseArgs {
    /// Services to act on (default: all)
    pub services: Vec<String>,
}

pub async fn run(global: &GlobalArgs, args: &PauseArgs, pause: bool) -> Result<ExitCode, CliError> {
    let session = Session::open(global).await?;
    let observed = session.observe().await?;
    session.check_services(&args.services, &observed)?;
    let targets = containers(&observed, &args.services, has_process);
    let runtime = &session.runtime;
    if super::dry_run() {
        each::dry_run(&targets, if pause { "Paused" } else { "Unpaused" });
        return Ok(ExitCode::SUCCESS);
    }
    if pause {
        each::each(&targets, "Paused", |c| runtime.pause_container(&c.id)).await?;
    } else {
        each::each(&targets, "Unpaused", |c| runtime.unpause_container(&c.id)).await?;
    }
    Ok(ExitCode::SUCCESS)
}
