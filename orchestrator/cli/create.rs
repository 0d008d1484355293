//! `wharf create` and `up --no-start`: converge as `up` does and leave the containers created,
//! not started (`plan::Plan::without_starts`). A supervisor that runs leaves them so.

use std::process::ExitCode;

use clap::Args;

use super::GlobalArgs;
use super::converge::{self, ConvergeArgs};
use super::error::CliError;

#[derive(Debug, Args)]
pub struct CreateArgs {
    #[command(flatten)]
    pub converge: ConvergeArgs,
    /// Assume "yes" as answer to all prompts (wharf asks none)
    #[arg(short, long)]
    pub yes: bool,
    /// Services to create (default: all)
    pub services: Vec<String>,
}

pub async fn run(global: &GlobalArgs, args: &CreateArgs) -> Result<ExitCode, CliError> {
    let request = args.converge.request(global, &args.services)?;
    converge::create_only(&request, super::dry_run()).await
}
