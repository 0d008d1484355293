//! `wharf down`: stop and remove the project's containers and networks (volumes with `-v`).

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

use super::error::CliError;
use super::{GlobalArgs, teardown};
use crate::plan::{self, DownOptions};

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
    let options = DownOptions {
        volumes: args.volumes,
        remove_orphans: args.remove_orphans,
        timeout: args.timeout.map(Duration::from_secs),
        services: args.services.clone(),
        rmi: args.rmi,
    };
    teardown::down(global, &options).await?;
    Ok(ExitCode::SUCCESS)
}
