//! `wharf create` and `up --no-start`: converge as `up` does and leave the containers created,
//! not started (`plan::Plan::without_starts`). A supervisor that runs leaves them so.

use std::process::ExitCode;

use clap::Args;

use super::error::CliError;
use super::session::Session;
use super::{GlobalArgs, load_options};
use crate::plan::{self, Action};
use crate::supervisor::request::{PullPolicy, UpRequest};
use crate::supervisor::state::StateDir;

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Build images before starting containers
    #[arg(long, conflicts_with = "no_build")]
    pub build: bool,
    /// Don't build an image, even if it's missing
    #[arg(long)]
    pub no_build: bool,
    /// Recreate containers even if their configuration and image haven't changed
    #[arg(long, conflicts_with = "no_recreate")]
    pub force_recreate: bool,
    /// If containers already exist, don't recreate them
    #[arg(long)]
    pub no_recreate: bool,
    /// Remove containers for services not defined in the compose file
    #[arg(long)]
    pub remove_orphans: bool,
    /// Pull images before running: always, missing, never or build (default: each service's
    /// pull_policy)
    #[arg(long, value_enum, value_name = "POLICY", default_value = "policy")]
    pub pull: PullPolicy,
    /// Scale SERVICE to NUM instances; overrides the file's replicas
    #[arg(long, value_name = "SERVICE=NUM", value_parser = super::up::parse_scale)]
    pub scale: Vec<(String, u32)>,
    /// Assume "yes" as answer to all prompts (wharf asks none)
    #[arg(short, long)]
    pub yes: bool,
    /// Services to create (default: all)
    pub services: Vec<String>,
}

pub async fn run(global: &GlobalArgs, args: &CreateArgs) -> Result<ExitCode, CliError> {
    let (remove_orphans, ignore_orphans) = super::orphans(args.remove_orphans)?;
    let request = UpRequest {
        load: load_options(global)?,
        scale: args.scale.clone(),
        services: args.services.clone(),
        force_recreate: args.force_recreate,
        no_recreate: args.no_recreate,
        remove_orphans,
        ignore_orphans,
        build: args.build,
        no_build: args.no_build,
        pull: args.pull.policy(),
        ..UpRequest::default()
    };
    converge(&request, super::dry_run()).await
}

/// `up`'s images and plan for `request`, without the starts; printed only, with `dry_run`.
pub async fn converge(request: &UpRequest, dry_run: bool) -> Result<ExitCode, CliError> {
    let prepared = request.prepare()?;
    super::print_warnings(&prepared.project);
    let images = prepared.images;
    let session = Session::loaded(prepared.project, prepared.desired).await?;
    if dry_run {
        print!("{images}");
    } else {
        session.execute(&images).await?;
    }
    let desired = session.target.desired().expect("a loaded project");
    let observed = session.observe().await?;
    let plan = plan::reconcile(desired, &observed, &request.reconcile_options())?.without_starts();
    if dry_run {
        print!("{plan}");
        return Ok(ExitCode::SUCCESS);
    }
    // What this creates stays created: a supervisor that runs must not start it (until
    // `start` or `up`).
    let mut created: Vec<&str> = plan
        .operations
        .iter()
        .filter_map(|op| match &op.action {
            Action::CreateContainer { service, .. } => Some(service.as_str()),
            _ => None,
        })
        .collect();
    created.dedup();
    super::each::mark_stopped(&StateDir::of(session.name()), created);
    session.execute(&plan).await?;
    Ok(ExitCode::SUCCESS)
}
