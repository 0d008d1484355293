//! `wharf scale SERVICE=N…`: `up -d --scale SERVICE=N… SERVICE…`, so that the project's
//! supervisor keeps the new counts (it serves the request and keeps it as its standing one).

use clap::Args;

use super::GlobalArgs;
use super::converge::parse_scale;
use super::error::CliError;
use super::session;
use crate::supervisor::state::StateDir;

#[derive(Debug, Args)]
pub struct ScaleArgs {
    /// Don't start linked services
    #[arg(long)]
    pub no_deps: bool,
    /// SERVICE=REPLICAS
    #[arg(required = true, value_name = "SERVICE=REPLICAS", value_parser = parse_scale)]
    pub scales: Vec<(String, u32)>,
}

/// The command line of `up` that `scale` is: `up` runs it (see `cli::run`).
pub fn up_argv(global: &GlobalArgs, args: &ScaleArgs) -> Result<Vec<String>, CliError> {
    // The counts an earlier `scale` (or `up --scale`) gave other services stay: the supervisor
    // keeps converging on the last request it got.
    let project = session::target(global)?.name().to_string();
    let mut scales: Vec<(String, u32)> = StateDir::of(&project)
        .load_request()
        .map(|previous| previous.scale)
        .unwrap_or_default();
    scales.retain(|(service, _)| !args.scales.iter().any(|(s, _)| s == service));
    scales.extend(args.scales.iter().cloned());
    let mut argv = vec!["up".to_string(), "--detach".to_string()];
    if args.no_deps {
        argv.push("--no-deps".into());
    }
    for (service, count) in &scales {
        argv.push(format!("--scale={service}={count}"));
    }
    argv.extend(args.scales.iter().map(|(service, _)| service.clone()));
    Ok(argv)
}
