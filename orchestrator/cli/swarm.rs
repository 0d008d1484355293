//! The verbs of `--target swarm` (also `WHARF_TARGET=swarm`): `up -d` (which waits until the
//! stack has converged, `--wait-timeout` bounding it), `down`, `ps` and `logs` on the swarm whose
//! manager `DOCKER_HOST` names, through `backend::swarm`. Any other engine verb
//! fails naming itself: nothing runs half-way on the wrong target.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use indexmap::IndexMap;

use super::down::DownArgs;
use super::error::CliError;
use super::ps::{PsArgs, PsFormat};
use super::swarm_progress::SwarmProgress;
use super::up::UpArgs;
use super::{Command, GlobalArgs, session, table};
use crate::backend::swarm::images::{self, ImageOptions};
use crate::backend::swarm::plan::{SwarmOperation, SwarmPlan, UpOptions};
use crate::backend::swarm::scope::{Scope, UnknownService, dependencies};
use crate::backend::swarm::stack::Stack;
use crate::backend::swarm::tasks::{HEADERS, TaskRow};
use crate::backend::swarm::{SwarmBackend, observed::ObservedStack};
use crate::backend::swarm::{WAIT_LIMIT, converged, names};
use crate::engine::EngineError;
use crate::engine::docker::DockerEngine;
use crate::execute::Report;
use crate::supervisor::request::PullPolicy;

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
    // Both checks come before anything is built or changed: a wrong name changes nothing.
    for (key, replicas) in &args.converge.scale {
        stack.scale(key, *replicas).map_err(CliError::message)?;
    }
    let scope = Scope::up(&stack, &args.services, args.no_deps).map_err(unknown)?;
    let engine = DockerEngine::connect().await?;
    let options = ImageOptions {
        build: args.converge.build,
        no_build: args.converge.no_build,
        dry_run: super::dry_run(),
    };
    let say = |line: String| eprintln!(" \u{2714} {line}");
    images::pin_built_images(&engine, &project, &mut stack, &scope, options, &say)
        .await
        .map_err(CliError::message)?;
    let backend = SwarmBackend::new(engine.client().clone(), Some(stack.clone()));
    let observed = observe(&backend, &project.name).await?;
    let options = UpOptions {
        scope: scope.clone(),
        remove_orphans: args.converge.remove_orphans,
        force_recreate: args.converge.force_recreate,
    };
    let plan = crate::backend::swarm::plan::up(&stack, &observed, &options);
    if super::dry_run() {
        return apply(&backend, &plan).await;
    }
    // Old secret and config versions go once the stack has converged on the new ones.
    let (plan, old_files) = plan.split_old_files();
    let limit = args.wait_timeout.map_or(WAIT_LIMIT, Duration::from_secs);
    let deadline = Instant::now() + limit;
    for warning in &plan.warnings {
        eprintln!("warning: {warning}");
    }
    let progress = SwarmProgress::new();
    let report = backend
        .run(&plan, deadline, &|operation, step| {
            progress.step(operation, step)
        })
        .await;
    let outcome = match report.failures.is_empty() {
        true => {
            // The services out of scope are not this up's: their state does not fail it.
            let scoped = stack.services.iter().filter(|(n, _)| scope.contains(n));
            let wants = converged::wants(&project.name, scoped);
            let changed = changed_services(&project.name, &plan);
            let waiting = Waiting {
                project: &project.name,
                wants: &wants,
                changed: &changed,
                limit,
                deadline,
            };
            wait_converged(&backend, &waiting, &progress).await
        }
        false => Err(failed(&plan, &report)),
    };
    if let Err(mut messages) = outcome {
        match args.no_rollback {
            true => messages.push("--no-rollback: the services keep what this up changed".into()),
            false => {
                let undo = rollback(&plan, &report, &observed);
                messages.extend(roll_back(&backend, &undo, &progress).await);
            }
        }
        progress.finish();
        return Err(CliError::Messages(messages));
    }
    progress.finish();
    apply(&backend, &old_files).await
}

/// The rollback of the operations of `plan` that ran to their end (`report`), on the stack
/// `observed` before them.
fn rollback(plan: &SwarmPlan, report: &Report, observed: &ObservedStack) -> SwarmPlan {
    let ran: Vec<&SwarmOperation> = plan
        .operations
        .iter()
        .enumerate()
        .filter(|(index, _)| {
            let failed = report.failures.iter().any(|f| f.operation == *index);
            !failed && !report.skipped.contains(index)
        })
        .map(|(_, operation)| operation)
        .collect();
    crate::backend::swarm::plan::rollback(&ran, observed)
}

/// The failures of a plan that stopped, and the services it did not deploy because of them.
fn failed(plan: &SwarmPlan, report: &Report) -> Vec<String> {
    let mut messages: Vec<String> = report.failures.iter().map(|f| f.message.clone()).collect();
    let not_deployed: Vec<&str> = report
        .skipped
        .iter()
        .filter_map(|index| plan.operations[*index].deploys())
        .collect();
    if !not_deployed.is_empty() {
        messages.push(format!("not deployed: {}", not_deployed.join(", ")));
    }
    messages
}

/// Runs `undo`, the rollback of a failed `up`; what it could not undo, as messages.
async fn roll_back(
    backend: &SwarmBackend,
    undo: &SwarmPlan,
    progress: &SwarmProgress,
) -> Vec<String> {
    if undo.operations.is_empty() {
        return Vec::new();
    }
    progress.line(" - Stack  Rolling back what this up changed");
    // Undoing is not bounded by the up's deadline, which has passed: it makes calls, no waits.
    let deadline = Instant::now() + WAIT_LIMIT;
    let report = backend
        .run(undo, deadline, &|operation, step| {
            progress.step(operation, step)
        })
        .await;
    report
        .failures
        .into_iter()
        .map(|f| format!("rollback: {}", f.message))
        .collect()
}

/// The compose keys of the services `plan` creates, updates or replaces: those whose
/// convergence `up` shows.
fn changed_services(project: &str, plan: &SwarmPlan) -> Vec<String> {
    plan.operations
        .iter()
        .filter_map(SwarmOperation::deploys)
        .map(|name| {
            names::service_key(project, name)
                .unwrap_or(name)
                .to_string()
        })
        .collect()
}

/// How long a changed stack must stay converged: swarm's default update monitor.
const SETTLE: Duration = Duration::from_secs(5);

/// What `up` waits to converge.
struct Waiting<'a> {
    project: &'a str,
    wants: &'a [converged::Want],
    /// The services this up changed: their counts are shown; when none, the stack is judged
    /// at once.
    changed: &'a [String],
    limit: Duration,
    deadline: Instant,
}

/// Waits until every service runs its tasks on its current spec, and, when this up changed
/// some, has for `SETTLE` (a task that crashes right after starting is not taken for a
/// converged one); fails at once when a service's restart policy leaves a task ended for good,
/// and past the deadline, naming each service that has not converged, with a task's node and
/// error.
async fn wait_converged(
    backend: &SwarmBackend,
    waiting: &Waiting<'_>,
    progress: &SwarmProgress,
) -> Result<(), Vec<String>> {
    let started = Instant::now();
    let settle = match waiting.changed.is_empty() {
        true => Duration::ZERO,
        false => SETTLE,
    };
    let mut converged_since: Option<Instant> = None;
    loop {
        let rows = backend
            .tasks(waiting.project)
            .await
            .map_err(|e| vec![e.to_string()])?;
        let given_up = converged::given_up(waiting.wants, &rows);
        if !given_up.is_empty() {
            let mut messages = vec![format!("stack {} cannot converge", waiting.project)];
            messages.extend(given_up);
            return Err(messages);
        }
        let counts = converged::counts(waiting.wants, &rows);
        let shown: Vec<_> = counts
            .iter()
            .filter(|c| waiting.changed.contains(&c.service))
            .cloned()
            .collect();
        progress.counts(&shown);
        let settled = match counts.iter().all(|c| c.converged) {
            true => converged_since.get_or_insert_with(Instant::now).elapsed() >= settle,
            false => {
                converged_since = None;
                false
            }
        };
        if settled {
            let took = started.elapsed().as_secs_f64();
            let project = waiting.project;
            progress.line(&format!(
                " \u{2714} Stack {project}  Converged ({took:.1}s)"
            ));
            return Ok(());
        }
        if Instant::now() >= waiting.deadline {
            let mut messages = vec![format!(
                "stack {} did not converge within {}s",
                waiting.project,
                waiting.limit.as_secs()
            )];
            messages.extend(converged::pending(waiting.wants, &rows));
            return Err(messages);
        }
        tokio::time::sleep(CONVERGE_POLL).await;
    }
}

/// How often `up` looks at the tasks while the stack converges.
const CONVERGE_POLL: Duration = Duration::from_millis(500);

/// What `up` takes on the local target but the swarm target does not do yet: refused, so that
/// a flag is never dropped silently.
fn refuse_up_flags(args: &UpArgs) -> Result<(), CliError> {
    if !(args.detach || args.wait || super::dry_run()) {
        return Err(CliError::message(
            "`up` on a swarm runs detached: add -d (following the tasks' logs is not available \
             with --target swarm yet)",
        ));
    }
    if args.watch {
        return Err(CliError::message(
            "`up` with --watch is not available with --target swarm yet (`wharf --target swarm \
             watch` deploys on each change)",
        ));
    }
    let converge = &args.converge;
    let set = [
        ("--no-recreate", converge.no_recreate),
        ("--pull", converge.pull != PullPolicy::Policy),
        ("-V/--renew-anon-volumes", args.renew_anon_volumes),
        (
            "-t/--timeout (a swarm stops a task after its stop_grace_period)",
            args.timeout.is_some(),
        ),
        ("--no-start", args.no_start),
    ];
    match set.iter().find(|(_, on)| *on) {
        Some((flag, _)) => Err(CliError::message(format!(
            "`up` with {flag} is not available with --target swarm"
        ))),
        None => Ok(()),
    }
}

/// A service argument that names no service, in compose's words.
fn unknown(error: UnknownService) -> CliError {
    CliError::message(error.to_string())
}

async fn down(global: &GlobalArgs, args: &DownArgs) -> Result<ExitCode, CliError> {
    if args.rmi.is_some() {
        return Err(CliError::message(
            "`down` with --rmi is not available with --target swarm yet",
        ));
    }
    let target = session::target(global)?;
    let backend = SwarmBackend::new(connect().await?, None);
    let observed = observe(&backend, target.name()).await?;
    let scope = down_scope(&target, &observed, args)?;
    let volumes = match args.volumes {
        true => {
            eprintln!(
                "warning: down -v removes the stack's volumes on the node wharf talks to; a \
                 swarm volume is local to each node that ran a task mounting it, and the \
                 manager's API cannot reach another node's: remove those there \
                 (`docker volume rm {}_<name>` on each node)",
                target.name()
            );
            backend
                .node_volumes(target.name())
                .await
                .map_err(swarm_error)?
        }
        false => Vec::new(),
    };
    apply(
        &backend,
        &crate::backend::swarm::plan::down(&observed, &scope, &volumes),
    )
    .await
}

/// The services `down SERVICE...` removes. With a compose file: services it defines, with the
/// services that depend on them (as compose), and with `--remove-orphans` the stack's services
/// it no longer has. Without one: the stack's services named, alone (the swarm keeps no
/// `depends_on`).
fn down_scope(
    target: &session::Target,
    observed: &ObservedStack,
    args: &DownArgs,
) -> Result<Scope, CliError> {
    let name = target.name();
    let session::Target::Loaded(project, _) = target else {
        let known = |service: &str| observed.services.contains_key(service);
        return Scope::down(name, &args.services, &IndexMap::new(), known).map_err(unknown);
    };
    let in_file = |service: &str| {
        names::service_key(name, service).is_some_and(|k| project.model.services.contains_key(k))
    };
    let scope = Scope::down(name, &args.services, &dependencies(project), in_file);
    let orphans = observed.services.keys().filter(|s| !in_file(s));
    match args.remove_orphans {
        true => Ok(scope.map_err(unknown)?.and(orphans.cloned())),
        false => scope.map_err(unknown),
    }
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
    let progress = SwarmProgress::new();
    let deadline = Instant::now() + WAIT_LIMIT;
    let report = backend
        .run(plan, deadline, &|operation, step| {
            progress.step(operation, step)
        })
        .await;
    progress.finish();
    match report.failures.is_empty() {
        true => Ok(ExitCode::SUCCESS),
        false => Err(CliError::Messages(
            report.failures.into_iter().map(|f| f.message).collect(),
        )),
    }
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
