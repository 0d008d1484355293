//! `wharf up`: converge the engine on the compose file.

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

use super::engine::{self, connect};
use super::{GlobalArgs, load_project, logs, output};
use crate::desired::{self, BuildOptions};
use crate::plan::{self, BuildPolicy, ReconcileOptions};

#[derive(Debug, Args)]
pub struct UpArgs {
    /// Detached mode: converge, then return
    #[arg(short, long)]
    pub detach: bool,
    /// Build images before starting containers
    #[arg(long, conflicts_with = "no_build")]
    pub build: bool,
    /// Don't build an image, even if it's missing
    #[arg(long)]
    pub no_build: bool,
    /// Scale SERVICE to NUM instances; overrides the file's replicas
    #[arg(long, value_name = "SERVICE=NUM", value_parser = parse_scale)]
    pub scale: Vec<(String, u32)>,
    /// Don't start linked services
    #[arg(long)]
    pub no_deps: bool,
    /// Recreate containers even if their configuration and image haven't changed
    #[arg(long, conflicts_with = "no_recreate")]
    pub force_recreate: bool,
    /// If containers already exist, don't recreate them
    #[arg(long)]
    pub no_recreate: bool,
    /// Remove containers for services not defined in the compose file
    #[arg(long)]
    pub remove_orphans: bool,
    /// Wait for services to be running|healthy; implies detached mode
    #[arg(long)]
    pub wait: bool,
    /// Print the plan and change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Shutdown timeout in seconds for replaced containers
    #[arg(short, long, value_name = "SECONDS")]
    pub timeout: Option<u64>,
    /// Services to bring up (default: all)
    pub services: Vec<String>,
}

fn parse_scale(text: &str) -> Result<(String, u32), String> {
    let (service, count) = text
        .split_once('=')
        .ok_or_else(|| format!("invalid --scale {text:?}: write SERVICE=NUM"))?;
    let count = count
        .parse()
        .map_err(|_| format!("invalid --scale {text:?}: {count:?} is not a number"))?;
    Ok((service.to_string(), count))
}

pub async fn run(global: &GlobalArgs, args: &UpArgs) -> ExitCode {
    let project = match load_project(global) {
        Ok(project) => project,
        Err(code) => return code,
    };
    for (service, _) in &args.scale {
        if !project.model.services.contains_key(service) {
            output::error_line(&format!(
                "--scale names service {service:?}, which is not in the compose file"
            ));
            return ExitCode::FAILURE;
        }
    }
    let desired = desired::build(
        &project,
        &BuildOptions {
            scale: args.scale.iter().cloned().collect(),
        },
    );
    let runtime = match connect().await {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    let always = args.build;
    let builds = plan::lifecycle::build(&desired, &args.services, |s| {
        always || s.pull_policy == "build"
    });
    if !args.no_build && !args.dry_run && !builds.operations.is_empty() {
        let code = engine::execute(&builds, runtime.clone(), &project.name).await;
        if code != ExitCode::SUCCESS {
            return code;
        }
    }
    let observed = match engine::observe(runtime.as_ref(), &project.name, Some(&desired)).await {
        Ok(observed) => observed,
        Err(code) => return code,
    };
    let timeout = args.timeout.map(Duration::from_secs);
    let options = ReconcileOptions {
        services: args.services.clone(),
        no_deps: args.no_deps,
        force_recreate: args.force_recreate,
        no_recreate: args.no_recreate,
        remove_orphans: args.remove_orphans,
        build: if args.no_build {
            BuildPolicy::Never
        } else {
            BuildPolicy::IfMissing
        },
        timeout,
    };
    let plan = match plan::reconcile(&desired, &observed, &options) {
        Ok(plan) => plan,
        Err(err) => {
            output::error_line(&err.to_string());
            return ExitCode::FAILURE;
        }
    };
    if args.dry_run {
        print!("{plan}");
        return ExitCode::SUCCESS;
    }
    let code = engine::execute(&plan, runtime.clone(), &project.name).await;
    if code != ExitCode::SUCCESS {
        return code;
    }
    if args.wait {
        let wait = plan::lifecycle::wait(&desired, &args.services);
        return engine::execute(&wait, runtime, &project.name).await;
    }
    if args.detach {
        return ExitCode::SUCCESS;
    }
    attach(runtime, &project.name, &desired, &args.services, timeout).await
}

/// Attached `up`: follow the logs until Ctrl-C or SIGTERM, then stop the project (dependents
/// first). A second Ctrl-C stops waiting for a graceful stop.
async fn attach(
    runtime: std::sync::Arc<dyn crate::runtime::Runtime>,
    project: &str,
    desired: &desired::Desired,
    services: &[String],
    timeout: Option<Duration>,
) -> ExitCode {
    let observed = match engine::observe(runtime.as_ref(), project, Some(desired)).await {
        Ok(observed) => observed,
        Err(code) => return code,
    };
    let follow = logs::follow(runtime.clone(), &observed, services, false);
    tokio::select! {
        _ = follow => {}
        _ = shutdown_signal() => {}
    }
    eprintln!("Gracefully stopping... (press Ctrl+C again to force)");
    let observed = match engine::observe(runtime.as_ref(), project, Some(desired)).await {
        Ok(observed) => observed,
        Err(code) => return code,
    };
    let stop = plan::lifecycle::stop(Some(&desired.graph), &observed, services, timeout);
    tokio::select! {
        code = engine::execute(&stop, runtime, project) => code,
        _ = tokio::signal::ctrl_c() => ExitCode::from(130),
    }
}

async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("a SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
