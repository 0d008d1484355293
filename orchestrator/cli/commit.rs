//! `wharf commit`: a new image from a service container's changes, as `docker compose commit`.

use std::process::ExitCode;

use clap::{ArgAction, Args};

use super::GlobalArgs;
use super::each::running_replica;
use super::error::CliError;
use super::progress::Progress;
use super::session::Session;
use crate::engine::CommitRequest;

#[derive(Debug, Args)]
pub struct CommitArgs {
    /// Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")
    #[arg(short, long)]
    pub author: Option<String>,
    /// Apply Dockerfile instruction to the created image
    #[arg(short, long = "change", value_name = "INSTRUCTION")]
    pub changes: Vec<String>,
    /// Commit message
    #[arg(short, long)]
    pub message: Option<String>,
    /// Pause container during commit (default true)
    #[arg(short, long, action = ArgAction::Set, num_args = 0..=1, default_value_t = true,
          default_missing_value = "true", value_name = "BOOL")]
    pub pause: bool,
    /// Index of the container if the service has multiple replicas
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub index: u32,
    /// The service whose container to commit
    pub service: String,
    /// REPOSITORY[:TAG] of the new image (default: untagged)
    pub reference: Option<String>,
}

pub async fn run(global: &GlobalArgs, args: &CommitArgs) -> Result<ExitCode, CliError> {
    let session = Session::open(global).await?;
    let observed = session.observe().await?;
    let container = running_replica(&observed, &args.service, args.index)?;
    let name = &container.name;
    if super::dry_run() {
        eprintln!(" DRY-RUN MODE -  {name} Commit {name} Committing");
        eprintln!(" DRY-RUN MODE -  {name} Commit {name} Committed");
        return Ok(ExitCode::SUCCESS);
    }
    let request = CommitRequest {
        reference: args.reference.clone(),
        author: args.author.clone(),
        message: args.message.clone(),
        changes: args.changes.clone(),
        pause: args.pause,
    };
    let image = session
        .runtime
        .commit_container(&container.id, &request)
        .await?;
    let progress = Progress::new(1);
    progress.print(&format!(" ✔ {name} Commit {name} Committed as {image}"));
    progress.finish();
    Ok(ExitCode::SUCCESS)
}
