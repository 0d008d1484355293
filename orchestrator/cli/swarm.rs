//! The verbs of `--target swarm` (also `WHARF_TARGET=swarm`): `up -d` (which waits until the
//! stack has converged, `--wait-timeout` bounding it), `down`, `ps` and `logs` on the swarm whose
//! manager `DOCKER_HOST` names, through `backend::swarm`. Any other engine verb
//! fails naming itself: nothing runs half-way on the wrong target.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use super::down::DownArgs;
use super::error::CliError;
use super::ps::{PsArgs, PsFormat};
use super::up::UpArgs;
use super::{Command, GlobalArgs, session, table};
use crate::backend::swarm::converged;
use crate::backend::swarm::files::FileKind;
use crate::backend::swarm::images::{self, ImageOptions};
use crate::backend::swarm::plan::{SwarmOperation, SwarmPlan};
use crate::backend::swarm::stack::Stack;
use crate::backend::swarm::tasks::{HEADERS, TaskRow};
use crate::backend::swarm::{SwarmBackend, observed::ObservedStack};
use crate::engine::EngineError;
use crate::engine::docker::DockerEngine;

/// The verbs the swarm target has.
pub const VERBS: &str = "up -d, down, ps, logs, config and watch";

pub async fn run(global: &GlobalArgs, command: &Command, verb: &str) -> Result<ExitCode, CliError> {
    match command {
        Command::Up(args) => up(global, args).await,
        Command::Down(args) => down(global, args).await,
        Command::Ps(args) => ps(global, args).await,
        Command::Logs(args) => {
            let name = session::target(global)?.name().to_string();
            let backend = SwarmBackend::new(connect().await?, None);
            super::swarm_logs::run(&backend, &name, args).await
        }
        Command::Watch(args) => super::swarm_watch::run(global, args).await,
        _ => Err(CliError::message(format!(
            "`{verb}` is not available with --target swarm yet (the swarm target has {VERBS})"
        ))),
    }
}

pub(super) async fn up(global: &GlobalArgs, args: &UpArgs) -> Result<ExitCode, CliError> {
    refuse_up_flags(args)?;
    let project = super::load_project(global)?;
    let mut stack = Stack::new(&project).map_err(|e| CliError::message(e.to_string()))?;
    let engine = DockerEngine::connect().await?;
    let options = ImageOptions {
        build: args.converge.build,
        no_build: args.converge.no_build,
        dry_run: super::dry_run(),
    };
    let say = |line: String| eprintln!(" \u{2714} {line}");
    images::pin_built_images(&engine, &project, &mut stack, options, &say)
        .await
        .map_err(CliError::message)?;
    let backend = SwarmBackend::new(engine.client().clone(), Some(stack.clone()));
    let observed = observe(&backend, &project.name).await?;
    let plan = crate::backend::swarm::plan::up(&stack, &observed, args.converge.remove_orphans);
    if super::dry_run() {
        return apply(&backend, &plan).await;
    }
    // Old secret and config versions go once the stack has converged on the new ones.
    let (plan, old_files) = plan.split_old_files();
    apply(&backend, &plan).await?;
    let limit = args
        .wait_timeout
        .map_or(CONVERGE_LIMIT, Duration::from_secs);
    let wants = converged::wants(&project.name, &stack.services);
    // What this up changed must stay converged for swarm's default monitor, so that a task
    // that crashes right after starting is not taken for a converged one; an unchanged stack
    // is judged at once.
    let settle = match plan.operations.is_empty() {
        true => Duration::ZERO,
        false => SETTLE,
    };
    wait_converged(&backend, &project.name, &wants, limit, settle).await?;
    apply(&backend, &old_files).await
}

/// How long a changed stack must stay converged: swarm's default update monitor.
const SETTLE: Duration = Duration::from_secs(5);

/// How long `up` waits for the stack to converge unless `--wait-timeout` says.
const CONVERGE_LIMIT: Duration = Duration::from_secs(300);
/// How often it looks.
const CONVERGE_POLL: Duration = Duration::from_millis(500);

/// Waits until every service runs its tasks on its current spec, and has for `settle`; after
/// `limit`, fails naming each service that has not, with a task's node and error.
async fn wait_converged(
    backend: &SwarmBackend,
    project: &str,
    wants: &[converged::Want],
    limit: Duration,
    settle: Duration,
) -> Result<ExitCode, CliError> {
    let started = Instant::now();
    let mut converged_since: Option<Instant> = None;
    loop {
        let rows = backend.tasks(project).await.map_err(swarm_error)?;
        let pending = converged::pending(wants, &rows);
        let settled = match pending.is_empty() {
            true => converged_since.get_or_insert_with(Instant::now).elapsed() >= settle,
            false => {
                converged_since = None;
                false
            }
        };
        if settled {
            let took = started.elapsed().as_secs_f64();
            eprintln!(" \u{2714} Stack {project}  Converged ({took:.1}s)");
            return Ok(ExitCode::SUCCESS);
        }
        if started.elapsed() >= limit {
            let mut messages = vec![format!(
                "stack {project} did not converge within {}s",
                limit.as_secs()
            )];
            messages.extend(pending);
            return Err(CliError::Messages(messages));
        }
        tokio::time::sleep(CONVERGE_POLL).await;
    }
}

/// What `up` takes on the local target but the swarm target does not do yet: refused, so that
/// a flag is never dropped silently.
fn refuse_up_flags(args: &UpArgs) -> Result<(), CliError> {
    if !(args.detach || args.wait || super::dry_run()) {
        return Err(CliError::message(
            "`up` on a swarm runs detached: add -d (following the tasks' logs is not available \
             with --target swarm yet)",
        ));
    }
    let converge = &args.converge;
    let set = [
        ("service arguments", !args.services.is_empty()),
        ("--scale", !converge.scale.is_empty()),
        ("--force-recreate", converge.force_recreate),
        ("--watch", args.watch),
    ];
    match set.iter().find(|(_, on)| *on) {
        Some((flag, _)) => Err(CliError::message(format!(
            "`up` with {flag} is not available with --target swarm yet"
        ))),
        None => Ok(()),
    }
}

async fn down(global: &GlobalArgs, args: &DownArgs) -> Result<ExitCode, CliError> {
    if !args.services.is_empty() || args.rmi.is_some() {
        return Err(CliError::message(
            "`down` with service arguments or --rmi is not available with --target swarm yet",
        ));
    }
    if args.volumes {
        eprintln!(
            "warning: down -v: no volume was removed: a swarm's named volumes live on each \
             node that ran a task mounting them, out of the manager's reach; remove them there \
             (`docker volume rm <project>_<name>` on each node)"
        );
    }
    let name = session::target(global)?.name().to_string();
    let backend = SwarmBackend::new(connect().await?, None);
    let observed = observe(&backend, &name).await?;
    apply(&backend, &crate::backend::swarm::plan::down(&observed)).await
}

/// Prints the plan (`--dry-run`), or runs it with one line per operation.
async fn apply(backend: &SwarmBackend, plan: &SwarmPlan) -> Result<ExitCode, CliError> {
    if super::dry_run() {
        print!("{plan}");
        return Ok(ExitCode::SUCCESS);
    }
    for warning in &plan.warnings {
        eprintln!("warning: {warning}");
    }
    let report = backend
        .run(plan, &|operation, result| {
            if result.is_ok() {
                eprintln!("{}", done(operation));
            }
        })
        .await;
    match report.failures.is_empty() {
        true => Ok(ExitCode::SUCCESS),
        false => Err(CliError::Messages(
            report.failures.into_iter().map(|f| f.message).collect(),
        )),
    }
}

/// Compose's words for an operation that ended well.
fn done(operation: &SwarmOperation) -> String {
    let (kind, name, what) = match operation {
        SwarmOperation::CreateNetwork(n) => ("Network", n.name.as_str(), "Created"),
        SwarmOperation::CreateService(s) => ("Service", name(s), "Created"),
        SwarmOperation::UpdateService { spec, .. } => ("Service", name(spec), "Updated"),
        SwarmOperation::ReplaceService { spec, .. } => ("Service", name(spec), "Recreated"),
        SwarmOperation::RemoveService { name, .. } => ("Service", name.as_str(), "Removed"),
        SwarmOperation::RemoveNetwork { name, .. } => ("Network", name.as_str(), "Removed"),
        SwarmOperation::CreateFile(file) => (file_kind(file.kind), file.name.as_str(), "Created"),
        SwarmOperation::RemoveFile { kind, name, .. } => {
            (file_kind(*kind), name.as_str(), "Removed")
        }
    };
    format!(" \u{2714} {kind} {name}  {what}")
}

fn file_kind(kind: FileKind) -> &'static str {
    match kind {
        FileKind::Secret => "Secret",
        FileKind::Config => "Config",
    }
}

fn name(spec: &bollard::models::ServiceSpec) -> &str {
    spec.name.as_deref().unwrap_or_default()
}

async fn ps(global: &GlobalArgs, args: &PsArgs) -> Result<ExitCode, CliError> {
    let name = session::target(global)?.name().to_string();
    let backend = SwarmBackend::new(connect().await?, None);
    let rows = backend.tasks(&name).await.map_err(swarm_error)?;
    let shown: Vec<&TaskRow> = rows
        .iter()
        .filter(|row| args.services_named.is_empty() || args.services_named.contains(&row.service))
        .collect();
    if args.quiet {
        shown.iter().for_each(|row| println!("{}", row.id));
        return Ok(ExitCode::SUCCESS);
    }
    match args.format {
        PsFormat::Json => {
            for row in shown {
                println!(
                    "{}",
                    serde_json::to_string(row).expect("a task row is JSON")
                );
            }
        }
        PsFormat::Table => {
            let header = HEADERS.iter().map(|h| h.to_string()).collect();
            let cells = shown.iter().map(|r| r.cells().map(str::to_string).to_vec());
            let rows: Vec<Vec<String>> = std::iter::once(header).chain(cells).collect();
            print!("{}", table::tabwriter(&rows, 0, 3));
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn connect() -> Result<bollard::Docker, CliError> {
    let engine = DockerEngine::connect().await?;
    Ok(engine.client().clone())
}

async fn observe(backend: &SwarmBackend, project: &str) -> Result<ObservedStack, CliError> {
    use crate::backend::Backend;
    backend.observe(project, None).await.map_err(swarm_error)
}

/// An engine error, with the hint a manager is needed when the engine is not one.
pub(super) fn swarm_error(error: EngineError) -> CliError {
    let text = error.to_string();
    match text.contains("not a swarm manager") {
        true => CliError::message(format!(
            "{text}\nhint: --target swarm needs DOCKER_HOST naming a manager of the swarm"
        )),
        false => CliError::message(text),
    }
}
