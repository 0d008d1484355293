//! What the verbs that converge the project on its file share (`up`, `create`, and `scale`
//! through `up`): the flags they have in common, the request those flags make, and the
//! converge that only creates (`create`, `up --no-start`).

use std::process::ExitCode;

use clap::Args;

use super::error::CliError;
use super::progress::ProgressSink;
use super::session::Session;
use super::{GlobalArgs, load_options};
use crate::backend::container::ContainerBackend;
use crate::converge::{Converge, Mode};
use crate::plan::EngineCall;
use crate::supervisor::request::{PullPolicy, UpRequest};
use crate::supervisor::state::StateDir;

/// The flags of `up` that `create` has too.
#[derive(Debug, Args)]
pub struct ConvergeArgs {
    /// Build images before starting containers
    #[arg(long, conflicts_with = "no_build")]
    pub build: bool,
    /// Don't build an image, even if it's missing
    #[arg(long)]
    pub no_build: bool,
    /// Scale SERVICE to NUM instances; overrides the file's replicas
    #[arg(long, value_name = "SERVICE=NUM", value_parser = parse_scale)]
    pub scale: Vec<(String, u32)>,
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
}

impl ConvergeArgs {
    /// The request these flags make for `services`; `up` adds its own flags to it.
    pub fn request(&self, global: &GlobalArgs, services: &[String]) -> Result<UpRequest, CliError> {
        let (remove_orphans, ignore_orphans) = super::orphans(self.remove_orphans)?;
        Ok(UpRequest {
            load: load_options(global)?,
            scale: self.scale.clone(),
            services: services.to_vec(),
            force_recreate: self.force_recreate,
            no_recreate: self.no_recreate,
            remove_orphans,
            ignore_orphans,
            build: self.build,
            no_build: self.no_build,
            pull: self.pull.policy(),
            ..UpRequest::default()
        })
    }
}

/// `--scale SERVICE=NUM` (and `scale`'s `SERVICE=REPLICAS`).
pub fn parse_scale(text: &str) -> Result<(String, u32), String> {
    let (service, count) = text
        .split_once('=')
        .ok_or_else(|| format!("invalid --scale {text:?}: write SERVICE=NUM"))?;
    let count = count
        .parse()
        .map_err(|_| format!("invalid --scale {text:?}: {count:?} is not a number"))?;
    Ok((service.to_string(), count))
}

/// `up`'s images and plan for `request`, without the starts; printed only, with `dry_run`.
pub async fn create_only(request: &UpRequest, dry_run: bool) -> Result<ExitCode, CliError> {
    let prepared = request.prepare()?;
    super::print_warnings(&prepared.project);
    let images = prepared.images;
    let session = Session::loaded(prepared.project, prepared.desired).await?;
    let desired = session.target.desired().expect("a loaded project");
    let backend = ContainerBackend::new(session.runtime.clone());
    let converge = Converge::new(&backend, desired);
    let progress = ProgressSink::default();
    let mode = match dry_run {
        true => Mode::Print,
        false => Mode::Run(&progress),
    };
    converge.apply(&images, mode).await?;
    let pass = converge.plan(&request.reconcile_options()).await?;
    let plan = pass.plan.without_starts();
    if dry_run {
        converge.apply(&plan, mode).await?;
        return Ok(ExitCode::SUCCESS);
    }
    // What this creates stays created: a supervisor that runs must not start it (until
    // `start` or `up`).
    let mut created: Vec<&str> = plan
        .operations
        .iter()
        .filter_map(|op| match op.action.engine_call()? {
            EngineCall::CreateContainer { service, .. } => Some(service.as_str()),
            _ => None,
        })
        .collect();
    created.dedup();
    super::each::mark_stopped(&StateDir::of(session.name()), created);
    let applied = converge.apply(&plan, mode).await;
    progress.finish();
    applied?;
    Ok(ExitCode::SUCCESS)
}
