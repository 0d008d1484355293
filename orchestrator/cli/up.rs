//! `wharf up`: converge the engine on the compose file.

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use futures_util::StreamExt;

use indexmap::IndexMap;

use super::engine::{Session, Target};
use super::{GlobalArgs, load_project, logs, output};
use crate::desired::{self, BuildOptions, Discovery};
use crate::dns::{Dns, DnsConfig};
use crate::plan::{self, BuildPolicy, ReconcileOptions};
use crate::runtime::EventAction;
use crate::supervisor::Supervisor;
use crate::supervisor::state::StateDir;

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
    let scale: IndexMap<String, u32> = args.scale.iter().cloned().collect();
    // Only an attached `up` runs the supervisor, and with it wharf's DNS.
    let attached = !(args.detach || args.wait || args.dry_run);
    let discovery = if attached {
        Discovery::WharfDns
    } else {
        Discovery::DockerAliases
    };
    let desired = desired::build(
        &project,
        &BuildOptions {
            scale: scale.clone(),
            discovery,
        },
    );
    let images = if args.no_build {
        plan::Plan::default()
    } else {
        plan::lifecycle::prepare_images(&desired, &args.services, args.build)
    };
    let mut session = Session::loaded(project, desired).await?;
    StateDir::of(session.name()).clear_user_stopped(&args.services);
    if args.dry_run {
        print!("{images}");
    } else {
        session.execute(&images).await?;
    }
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
    let dns = if attached {
        start_dns(&mut session, &options, scale).await?
    } else {
        None
    };
    let desired = session.target.desired().expect("a loaded project");
    let observed = session.observe().await?;
    let plan = plan::reconcile(desired, &observed, &options).map_err(|err| {
        output::error_line(&err.to_string());
        ExitCode::FAILURE
    })?;
    if args.dry_run {
        print!("{plan}");
        return Ok(ExitCode::SUCCESS);
    }
    match &dns {
        Some(dns) => execute_publishing(&session, &plan, dns).await?,
        None => session.execute(&plan).await?,
    };
    if args.wait {
        return session
            .execute(&plan::lifecycle::wait(desired, &args.services))
            .await;
    }
    if args.detach {
        return Ok(ExitCode::SUCCESS);
    }
    attach(&session, &args.services, timeout, dns).await
}

/// Attached `up`: the supervisor keeps the project converged (restart policies, drift) and
/// the logs are followed, until Ctrl-C or SIGTERM; then the project stops, dependents first. A
/// second Ctrl-C stops waiting for a graceful stop.
async fn attach(
    session: &Session,
    services: &[String],
    timeout: Option<Duration>,
    dns: Option<Dns>,
) -> Result<ExitCode, ExitCode> {
    let shutdown = shutdown_signal();
    let observed = session.observe().await?;
    let desired = session.target.desired().expect("a loaded project").clone();
    let supervisor = Supervisor::new(session.runtime.clone(), desired).with_dns(dns);
    let follow = async {
        logs::follow(session.runtime.clone(), &observed, services, false).await;
        std::future::pending::<()>().await
    };
    tokio::select! {
        _ = supervisor.run(shutdown) => {}
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

/// wharf's DNS for an attached `up`. It listens on the gateways of the project's networks, so
/// those are created first (the plan's network operations, run ahead of the rest). When it
/// cannot listen (port 53 taken, not root), `up` says so and the containers get their service
/// names as Docker aliases instead, so the project still works.
async fn start_dns(
    session: &mut Session,
    options: &ReconcileOptions,
    scale: IndexMap<String, u32>,
) -> Result<Option<Dns>, ExitCode> {
    let config = DnsConfig::from_env().map_err(|err| {
        output::error_line(&err);
        ExitCode::FAILURE
    })?;
    let desired = session.target.desired().expect("a loaded project");
    let observed = session.observe().await?;
    let plan = plan::reconcile(desired, &observed, options).map_err(|err| {
        output::error_line(&err.to_string());
        ExitCode::FAILURE
    })?;
    session.execute(&networks_only(&plan)).await?;
    let observed = session.observe().await?;
    let networks: Vec<_> = desired
        .networks
        .values()
        .filter_map(|n| observed.networks.get(&n.name))
        .collect();
    match Dns::start(&config, &networks).await {
        Ok(dns) => Ok(Some(dns)),
        Err(reason) => {
            eprintln!(
                "warning: wharf's DNS {reason}; service names resolve through Docker aliases instead (no health checks, no round robin)"
            );
            if let Target::Loaded(project, desired) = &mut session.target {
                let options = BuildOptions {
                    scale,
                    discovery: Discovery::DockerAliases,
                };
                **desired = desired::build(project, &options);
            }
            Ok(None)
        }
    }
}

/// Runs `up`'s plan while the DNS follows it: every container that starts or changes health
/// during the plan is in the answers at once, so a dependent started by the same plan resolves
/// its dependencies before the supervisor takes over.
async fn execute_publishing(
    session: &Session,
    plan: &plan::Plan,
    dns: &Dns,
) -> Result<ExitCode, ExitCode> {
    let desired = session.target.desired().expect("a loaded project");
    let publish = |observed: &crate::observe::Observed| dns.answer_from(desired, observed, plan);
    publish(&session.observe().await?);
    let Ok(mut events) = session.runtime.events(session.name()).await else {
        return session.execute(plan).await;
    };
    let execution = session.execute(plan);
    tokio::pin!(execution);
    loop {
        tokio::select! {
            result = &mut execution => return result,
            event = events.next() => match event {
                Some(Ok(event)) if changes_answers(&event.action) => {
                    if let Ok(observed) = session.observe().await {
                        publish(&observed);
                    }
                }
                Some(Ok(_)) => {}
                // No more events: the supervisor catches up once the plan is done.
                _ => return execution.await,
            },
        }
    }
}

fn changes_answers(action: &EventAction) -> bool {
    matches!(
        action,
        EventAction::Start | EventAction::HealthStatus(_) | EventAction::Die { .. }
    )
}

/// The network creations of a plan, as a plan of their own (they depend on nothing).
fn networks_only(plan: &plan::Plan) -> plan::Plan {
    let operations = plan
        .operations
        .iter()
        .filter(|op| matches!(op.action, plan::Action::CreateNetwork(_)))
        .enumerate()
        .map(|(id, op)| plan::Operation {
            id,
            after: Vec::new(),
            ..op.clone()
        })
        .collect();
    plan::Plan {
        operations,
        ..plan::Plan::default()
    }
}

/// Ctrl-C or SIGTERM. The handlers are installed when this is called, not when it is first
/// awaited, so a signal that arrives in between is not lost (nor fatal).
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
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
