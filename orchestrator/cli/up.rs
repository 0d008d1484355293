//! `wharf up`: converge the engine on the compose file.

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

use super::engine::Session;
use super::{GlobalArgs, load_project, logs, output};
use crate::desired::{self, BuildOptions};
use crate::plan::{self, BuildPolicy, ReconcileOptions};
use crate::supervisor::Supervisor;
use crate::supervisor::state::StateDir;
use crate::watch::Loader;

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
    /// Watch the project's files and re-converge as they change (attached only)
    #[arg(long, conflicts_with_all = ["detach", "wait", "dry_run"])]
    pub watch: bool,
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

pub async fn run(global: &GlobalArgs, args: &UpArgs) -> Result<ExitCode, ExitCode> {
    let project = load_project(global)?;
    for (service, _) in &args.scale {
        if !project.model.services.contains_key(service) {
            output::error_line(&format!(
                "--scale names service {service:?}, which is not in the compose file"
            ));
            return Err(ExitCode::FAILURE);
        }
    }
    for (service, count) in &args.scale {
        if *count > 1 && project.model.services[service].container_name.is_some() {
            output::error_line(&format!(
                "--scale {service}={count}: service {service:?} sets container_name, which only one container can have"
            ));
            return Err(ExitCode::FAILURE);
        }
    }
    let options = BuildOptions {
        scale: args.scale.iter().cloned().collect(),
    };
    let watch = match args.watch {
        true => Some(super::watch::loader(global, options.clone())?),
        false => None,
    };
    let desired = desired::build(&project, &options);
    let images = if args.no_build {
        plan::Plan::default()
    } else {
        plan::lifecycle::prepare_images(&desired, &args.services, args.build)
    };
    let session = Session::loaded(project, desired).await?;
    let desired = session.target.desired().expect("a loaded project");
    StateDir::of(session.name()).clear_user_stopped(&args.services);
    if args.dry_run {
        print!("{images}");
    } else {
        session.execute(&images).await?;
    }
    let observed = session.observe().await?;
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
        supervision: None,
    };
    let plan = plan::reconcile(desired, &observed, &options).map_err(|err| {
        output::error_line(&err.to_string());
        ExitCode::FAILURE
    })?;
    if args.dry_run {
        print!("{plan}");
        return Ok(ExitCode::SUCCESS);
    }
    session.execute(&plan).await?;
    if args.wait {
        return session
            .execute(&plan::lifecycle::wait(desired, &args.services))
            .await;
    }
    if args.detach {
        return Ok(ExitCode::SUCCESS);
    }
    let watch = watch.map(|load| (load, args.remove_orphans));
    attach(&session, &args.services, timeout, watch).await
}

/// Attached `up`: the supervisor keeps the project converged (restart policies, drift) and
/// the logs are followed, until Ctrl-C or SIGTERM; then the project stops, dependents first. A
/// second Ctrl-C stops waiting for a graceful stop.
async fn attach(
    session: &Session,
    services: &[String],
    timeout: Option<Duration>,
    watch: Option<(Loader, bool)>,
) -> Result<ExitCode, ExitCode> {
    let shutdown = shutdown_signal();
    let observed = session.observe().await?;
    let desired = session.target.desired().expect("a loaded project").clone();
    let keep_converged = async {
        match watch {
            Some((load, remove_orphans)) => {
                super::watch::supervise(session, load, remove_orphans, shutdown).await
            }
            None => {
                Supervisor::new(session.runtime.clone(), desired)
                    .run(shutdown)
                    .await
            }
        }
    };
    let follow = async {
        logs::follow(session.runtime.clone(), &observed, services, false).await;
        std::future::pending::<()>().await
    };
    tokio::select! {
        _ = keep_converged => {}
        _ = follow => {}
    }
    eprintln!("Gracefully stopping... (press Ctrl+C again to force)");
    let observed = session.observe().await?;
    let graph = session.target.desired().map(|d| &d.graph);
    let stop = plan::lifecycle::stop(graph, &observed, services, timeout);
    tokio::select! {
        result = session.execute(&stop) => result,
        _ = tokio::signal::ctrl_c() => Err(ExitCode::from(130)),
    }
}

/// Ctrl-C or SIGTERM. The handlers are installed when this is called, not when it is first
/// awaited, so a signal that arrives in between is not lost (nor fatal).
pub(super) fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("a SIGTERM handler");
    let mut interrupt = signal(SignalKind::interrupt()).expect("a SIGINT handler");
    async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = interrupt.recv() => {}
        }
    }
}
