//! Runs a plan: operations as a DAG, each started once all it waits for has succeeded, with
//! at most `parallelism` engine calls at once, the longest chain first. Container creates and
//! starts have a smaller bound of their own (lifted for the last starts, which no other start
//! waits for), and a container is created only when its start is next in line. A failed
//! operation skips everything that waits for it; the others go on, so a re-run only has the
//! failed part left to do.
//!
//! Two kinds of dependency serve rolling updates, and stay general: an operation may also wait
//! for operations to be done whatever their outcome (`settled`), and a fallback runs only when
//! the operation it names did not succeed (`if_failed`: it failed or was skipped); otherwise it
//! is not needed, and neither is what only it leads to. A `CheckFailures` is counted here, from the outcomes of the operations it
//! watches; it makes no engine call.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;

use crate::desired::{ContainerSpec, FailureAction, HookStage, VolumesFrom, VolumesSource, labels};
use crate::plan::{Action, ContainerRef, Operation, Plan, WaitCondition};
use crate::engine::{
    BuildRequest, ContainerState, EngineContainer, ExecOutput, Health, ContainerEngine, EngineError,
};
use crate::spec::model::Build;
use crate::spec::short::Duration as GoDuration;

#[derive(Debug, Clone)]
pub struct ExecuteOptions {
    pub project: String,
    pub parallelism: usize,
    /// How many of those calls may create or start a container. The engine does that work on
    /// this host's cores (dockerd, containerd, runc, the kernel's network set-up), and it
    /// serves what it is sent in no order of ours: more at once than the cores can take only
    /// queues inside the engine, where the container at the head of the longest dependency
    /// chain waits behind the rest. Queued here, it goes first.
    pub container_parallelism: usize,
    /// How often a `WaitFor` looks at its containers again.
    pub poll: Duration,
}

/// How many engine calls run at once, unless `COMPOSE_PARALLEL_LIMIT` says otherwise.
const PARALLELISM: usize = 16;

impl ExecuteOptions {
    pub fn new(project: &str) -> ExecuteOptions {
        ExecuteOptions {
            project: project.to_string(),
            parallelism: parallel_limit(std::env::var("COMPOSE_PARALLEL_LIMIT").ok().as_deref()),
            // One more than the cores, so that a core is never idle while a call is between
            // the engine and wharf.
            container_parallelism: std::thread::available_parallelism().map_or(1, |n| n.get()) + 1,
            poll: Duration::from_millis(100),
        }
    }
}

/// `COMPOSE_PARALLEL_LIMIT`, as compose reads it: a positive number, else the default.
fn parallel_limit(value: Option<&str>) -> usize {
    value
        .and_then(|v| v.trim().parse().ok())
        .filter(|&n: &usize| n > 0)
        .unwrap_or(PARALLELISM)
}

/// What happens to each operation, for progress output.
#[derive(Debug, Clone)]
pub enum Event {
    Started(usize),
    Succeeded(usize),
    Failed(usize, String),
    /// Not run because an operation it waits for failed.
    Skipped(usize),
    /// A dependency that was not required failed: the plan goes on.
    Warning(usize, String),
    /// What a hook printed (its standard output and error), told before its `Succeeded`: an
    /// attached `up` shows it, as compose's does.
    Output(usize, String),
}

/// One failed operation, described for the user.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct Failure {
    pub operation: usize,
    pub message: String,
    /// The engine changed under the plan: a container it names is gone, or a name it creates
    /// is taken (another process acted meanwhile). Observing again and planning again is the
    /// way out, where for any other failure it would only fail again.
    pub stale: bool,
}

/// Why an operation failed.
#[derive(Debug)]
struct OperationError {
    message: String,
    stale: bool,
}

impl From<String> for OperationError {
    fn from(message: String) -> OperationError {
        OperationError {
            message,
            stale: false,
        }
    }
}

#[derive(Debug, Default)]
pub struct Report {
    pub failures: Vec<Failure>,
    /// Operations that did not run: one they needed failed, or a fallback was not needed.
    pub skipped: Vec<usize>,
    /// Operations that changed something on the engine.
    pub mutations: usize,
}

impl Report {
    pub fn is_success(&self) -> bool {
        self.failures.is_empty()
    }
}

pub async fn run(
    plan: &Plan,
    runtime: Arc<dyn ContainerEngine>,
    options: &ExecuteOptions,
    progress: &(dyn Fn(&Operation, &Event) + Sync),
) -> Report {
    let mut run = Run::new(plan, progress);
    let mut tasks: JoinSet<(usize, Result<Outcome, OperationError>)> = JoinSet::new();
    let parallelism = options.parallelism.max(1);
    let context = Arc::new(RunContext::of(plan));
    let container_parallelism = options.container_parallelism.max(1);
    let on_containers = |id: usize| creates_or_starts(&plan.operations[id].action);
    let mut containers_at_once = 0;
    loop {
        while tasks.len() < parallelism {
            let room = containers_at_once < container_parallelism || run.bound_lifted();
            let Some(id) = run.take_ready(|id| room || !on_containers(id)) else {
                break;
            };
            containers_at_once += usize::from(on_containers(id));
            let op = plan.operations[id].clone();
            progress(&op, &Event::Started(id));
            tracing::debug!(operation = id, action = %op.action, "operation started");
            let runtime = runtime.clone();
            let options = options.clone();
            let context = context.clone();
            let call = async move { perform(&op, runtime.as_ref(), &options, &context).await };
            if waits(&plan.operations[id].action) {
                tasks.spawn(async move { (id, call.await) });
            } else {
                // A change on the engine runs to its end even when the run is dropped (the
                // supervisor told to stop): cut short, the engine could still make what the
                // `down` that follows no longer sees. `settle_changes` waits for them.
                let change = tokio::spawn(InFlight::track(call));
                tasks.spawn(async move {
                    let result = change.await.expect("an operation task panicked");
                    (id, result)
                });
            }
        }
        let Some(joined) = tasks.join_next().await else {
            break;
        };
        let (id, result) = joined.expect("an operation task panicked");
        tracing::debug!(operation = id, ok = result.is_ok(), "operation ended");
        containers_at_once -= usize::from(on_containers(id));
        run.complete(id, result);
    }
    run.report
}

/// Where an operation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Pending,
    Succeeded,
    Failed,
    /// An operation it needed failed or was skipped.
    Skipped,
    /// A fallback whose operation succeeded, or what only such a fallback led to.
    NotNeeded,
}

/// The container of a start or of a `post_start` hook.
fn post_start_container(action: &Action) -> Option<&crate::plan::ContainerRef> {
    match action {
        Action::StartContainer { container, .. }
        | Action::RunHook { stage: HookStage::PostStart, container, .. } => Some(container),
        _ => None,
    }
}

/// The bookkeeping of one run: what each operation waits for, and how each one ended.
struct Run<'a> {
    plan: &'a Plan,
    progress: &'a (dyn Fn(&Operation, &Event) + Sync),
    state: Vec<State>,
    /// Per operation: how many of the operations it waits for have not finished yet.
    unfinished: Vec<usize>,
    dependents: Vec<Vec<usize>>,
    /// Per operation that failed or was skipped: the failure behind it.
    blame: Vec<Option<String>>,
    /// Operations whose dependencies allow them to run, the next to run last.
    ready: Vec<usize>,
    /// Per operation: the longest chain of its dependents, itself included. Ready operations
    /// with the longest chain behind them run first.
    chain: Vec<Chain>,
    /// Operations not ended that keep the container bound in force (see
    /// [`Run::bound_lifted`]).
    bound_keepers: usize,
    /// Operations sent to the engine (or run here).
    sent: Vec<bool>,
    /// Per container create: what must be sent before it is (see [`Run::due`]).
    create_after: Vec<Vec<usize>>,
    report: Report,
}

impl<'a> Run<'a> {
    fn new(plan: &'a Plan, progress: &'a (dyn Fn(&Operation, &Event) + Sync)) -> Run<'a> {
        let count = plan.operations.len();
        let mut unfinished = vec![0; count];
        let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); count];
        for op in &plan.operations {
            for &dep in op.after.iter().chain(&op.settled).chain(&op.if_failed) {
                dependents[dep].push(op.id);
                unfinished[op.id] += 1;
            }
        }
        let chain = longest_chains(plan, &dependents);
        let create_after = (0..count)
            .map(|id| match plan.operations[id].action {
                Action::CreateContainer { .. } => sent_before_create(plan, &dependents, id),
                _ => Vec::new(),
            })
            .collect();
        let mut run = Run {
            plan,
            progress,
            state: vec![State::Pending; count],
            unfinished,
            chain,
            bound_keepers: 0,
            sent: vec![false; count],
            create_after,
            dependents,
            blame: vec![None; count],
            ready: Vec::new(),
            report: Report::default(),
        };
        run.bound_keepers = (0..count).filter(|&id| run.keeps_bound(id)).count();
        let free: Vec<usize> = (0..count).filter(|&i| run.unfinished[i] == 0).collect();
        run.decide(free);
        run
    }

    /// Decides, for operations whose dependencies have all finished, whether they run, and
    /// settles those that do not (and what that unblocks).
    fn decide(&mut self, mut decidable: Vec<usize>) {
        decidable.sort_unstable_by(|a, b| b.cmp(a));
        while let Some(id) = decidable.pop() {
            let plan = self.plan;
            let op = &plan.operations[id];
            let outcome = |dep: usize| self.state[dep];
            let did_not_succeed = |d: usize| matches!(outcome(d), State::Failed | State::Skipped);
            let unblocked = if op.if_failed.is_some_and(|f| !did_not_succeed(f)) {
                self.finish(id, State::NotNeeded, None)
            } else if let Some(&dep) = op.after.iter().find(|&&d| did_not_succeed(d)) {
                let blame = self.blame[dep].clone();
                (self.progress)(op, &Event::Skipped(id));
                self.finish(id, State::Skipped, blame)
            } else if op.after.iter().any(|&d| outcome(d) == State::NotNeeded) {
                self.finish(id, State::NotNeeded, None)
            } else if let Action::CheckFailures {
                service,
                watched,
                tolerated,
                updated,
                failure_action,
            } = &op.action
            {
                // A count of outcomes the run already has: no engine call to wait for.
                (self.progress)(op, &Event::Started(id));
                let count = self.count_failures(service, watched, *tolerated);
                let result = count.map(|()| Outcome::Unchanged).map_err(|failures| {
                    update_stopped(service, &failures, *tolerated, *updated, *failure_action).into()
                });
                self.settle(id, result)
            } else {
                self.ready.push(id);
                Vec::new()
            };
            decidable.extend(unblocked);
            decidable.sort_unstable_by(|a, b| b.cmp(a));
        }
        // The engine serves a burst of calls in its own order: the operations that the most
        // work waits for are sent first (the critical path), then the lowest id.
        let chain = &self.chain;
        self.ready
            .sort_unstable_by(|&a, &b| (chain[a], b).cmp(&(chain[b], a)));
    }

    /// The ready operation with the longest chain behind it among those due and `allowed` to
    /// run; marked sent.
    fn take_ready(&mut self, allowed: impl Fn(usize) -> bool) -> Option<usize> {
        let at = self
            .ready
            .iter()
            .rposition(|&id| self.due(id) && allowed(id))?;
        let id = self.ready.remove(at);
        self.sent[id] = true;
        Some(id)
    }

    /// The container bound lets the longest chains go first. Once every container operation
    /// left is a start that no other start waits for (every container created, no chain of
    /// starts left), nothing is left to go first, and the engine starts containers fastest
    /// all at once: the last ones no longer queue here behind the bound.
    fn bound_lifted(&self) -> bool {
        self.bound_keepers == 0
    }

    fn keeps_bound(&self, id: usize) -> bool {
        matches!(
            self.plan.operations[id].action,
            Action::CreateContainer { .. }
        ) || self.chain[id].starts > 1
    }

    /// A container is created once everything else its start waits for is under way. Created
    /// earlier, it takes the engine's CPU from the starts of the longest chain; created then,
    /// it runs while the engine waits inside the starts in flight (network namespaces and
    /// interfaces are set up with the CPUs idle for tens of milliseconds).
    fn due(&self, id: usize) -> bool {
        self.create_after[id]
            .iter()
            .all(|&before| self.sent[before] || self.state[before] != State::Pending)
    }

    /// The `post_start` hook that runs right after operation `id` (a start, or the hook
    /// before it) in the same container.
    fn post_start_after(&self, id: usize) -> Option<usize> {
        let container = post_start_container(&self.plan.operations[id].action)?;
        self.dependents[id].iter().copied().find(|&next| {
            let action = &self.plan.operations[next].action;
            matches!(action, Action::RunHook { .. })
                && post_start_container(action).is_some_and(|c| c.name == container.name)
        })
    }

    /// The start whose chain of `post_start` hooks operation `id` is in.
    fn start_of_post_start(&self, id: usize) -> Option<usize> {
        let operations = &self.plan.operations;
        let mut at = id;
        while let Action::RunHook { stage: HookStage::PostStart, .. } = &operations[at].action {
            let before = &operations[at].after;
            at = before.iter().copied().find(|&b| self.post_start_after(b) == Some(at))?;
        }
        let start = matches!(operations[at].action, Action::StartContainer { .. });
        (at != id && start).then_some(at)
    }

    /// An operation that ran has ended.
    fn complete(&mut self, id: usize, result: Result<Outcome, OperationError>) {
        let unblocked = self.settle(id, result);
        self.decide(unblocked);
    }

    /// Reports how an operation that ran ended; returns what became decidable.
    fn settle(&mut self, id: usize, result: Result<Outcome, OperationError>) -> Vec<usize> {
        let plan = self.plan;
        let op = &plan.operations[id];
        match result {
            Ok(outcome) => {
                if matches!(outcome, Outcome::Changed | Outcome::Printed(_)) {
                    self.report.mutations += 1;
                }
                if let Outcome::Printed(text) = &outcome
                    && !text.is_empty()
                {
                    (self.progress)(op, &Event::Output(id, text.clone()));
                }
                let hooks_follow = self.post_start_after(id).is_some();
                match &outcome {
                    Outcome::Tolerated(message) => {
                        (self.progress)(op, &Event::Warning(id, message.clone()))
                    }
                    // As compose: a container is told started once its `post_start` hooks ran.
                    _ if hooks_follow && matches!(op.action, Action::StartContainer { .. }) => {}
                    _ => (self.progress)(op, &Event::Succeeded(id)),
                }
                if !hooks_follow && let Some(start) = self.start_of_post_start(id) {
                    (self.progress)(&plan.operations[start], &Event::Succeeded(start));
                }
                self.finish(id, State::Succeeded, None)
            }
            Err(OperationError { message, stale }) => {
                (self.progress)(op, &Event::Failed(id, message.clone()));
                self.report.failures.push(Failure {
                    operation: id,
                    message: message.clone(),
                    stale,
                });
                self.finish(id, State::Failed, Some(message))
            }
        }
    }

    /// Records how an operation ended; returns the operations that no longer wait for
    /// anything.
    fn finish(&mut self, id: usize, state: State, blame: Option<String>) -> Vec<usize> {
        self.state[id] = state;
        self.blame[id] = blame;
        self.bound_keepers -= usize::from(self.keeps_bound(id));
        if matches!(state, State::Skipped | State::NotNeeded) {
            self.report.skipped.push(id);
        }
        let mut unblocked = Vec::new();
        for &next in &self.dependents[id] {
            self.unfinished[next] -= 1;
            if self.unfinished[next] == 0 {
                unblocked.push(next);
            }
        }
        unblocked
    }

    /// `CheckFailures`: the failures of the watched operations (each one's own message, or
    /// that of the failure that skipped it), as an error when there are more than tolerated.
    fn count_failures(
        &self,
        service: &str,
        watched: &[usize],
        tolerated: usize,
    ) -> Result<(), Vec<String>> {
        // The replicas' own messages name the service already; the count names it once.
        let prefix = format!("service {service:?}: ");
        let failures: Vec<String> = watched
            .iter()
            .filter(|&&w| self.state[w] != State::Succeeded)
            .map(|&w| self.blame[w].as_deref().unwrap_or("it did not run"))
            .map(|m| m.strip_prefix(&prefix).unwrap_or(m).to_string())
            .collect();
        if failures.len() <= tolerated {
            return Ok(());
        }
        Err(failures)
    }
}

/// How long a chain of operations is: first in container starts, the engine's slowest calls
/// (about five times a create on the test machine), then in operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Chain {
    starts: usize,
    operations: usize,
}

/// Per operation: the longest chain of its dependents, itself included.
fn longest_chains(plan: &Plan, dependents: &[Vec<usize>]) -> Vec<Chain> {
    let mut chains: Vec<Chain> = plan
        .operations
        .iter()
        .map(|op| Chain {
            starts: usize::from(matches!(op.action, Action::StartContainer { .. })),
            operations: 1,
        })
        .collect();
    // Dependencies come before their dependents in a plan: one pass from the end.
    for id in (0..chains.len()).rev() {
        let longest = dependents[id].iter().map(|&d| chains[d]).max();
        if let Some(longest) = longest {
            chains[id].starts += longest.starts;
            chains[id].operations += longest.operations;
        }
    }
    chains
}

/// What a container create waits to be sent: what its dependents (its start) wait for,
/// except what waits for the create itself (a recreate's stop of the old container, say),
/// which could never be sent first.
fn sent_before_create(plan: &Plan, dependents: &[Vec<usize>], create: usize) -> Vec<usize> {
    let mut after_create = HashSet::from([create]);
    let mut next = vec![create];
    while let Some(id) = next.pop() {
        for &d in &dependents[id] {
            if after_create.insert(d) {
                next.push(d);
            }
        }
    }
    let mut before: Vec<usize> = dependents[create]
        .iter()
        .flat_map(|&d| {
            let op = &plan.operations[d];
            op.after.iter().chain(&op.settled).chain(&op.if_failed)
        })
        .copied()
        .filter(|d| !after_create.contains(d))
        .collect();
    before.sort_unstable();
    before.dedup();
    before
}

/// Operations that only wait or read, or that the engine stops when the client goes
/// (builds, pulls): dropped at once when a run is.
fn waits(action: &Action) -> bool {
    matches!(
        action,
        Action::WaitFor { .. }
            | Action::Delay { .. }
            | Action::Monitor { .. }
            | Action::BuildImage { .. }
            | Action::PullImage { .. }
    )
}

/// The engine calls that change something and have not ended, across every run of this
/// process.
static IN_FLIGHT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
static SETTLED: tokio::sync::Notify = tokio::sync::Notify::const_new();

/// One such call, counted while it runs.
struct InFlight;

impl InFlight {
    async fn track<T>(call: impl std::future::Future<Output = T>) -> T {
        IN_FLIGHT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let _counted = InFlight;
        call.await
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if IN_FLIGHT.fetch_sub(1, std::sync::atomic::Ordering::SeqCst) == 1 {
            SETTLED.notify_waiters();
        }
    }
}

/// Waits, up to `limit`, until no engine call that changes something is under way; true when
/// none is.
pub async fn settle_changes(limit: Duration) -> bool {
    let none = || IN_FLIGHT.load(std::sync::atomic::Ordering::SeqCst) == 0;
    tokio::time::timeout(limit, async {
        loop {
            let settled = SETTLED.notified();
            if none() {
                return;
            }
            settled.await;
        }
    })
    .await
    .is_ok()
        || none()
}

/// The operations `container_parallelism` bounds.
fn creates_or_starts(action: &Action) -> bool {
    matches!(
        action,
        Action::CreateContainer { .. } | Action::StartContainer { .. }
    )
}

/// The error of a failure count that stopped an update: the service, the failures, and what
/// the failure action leaves.
fn update_stopped(
    service: &str,
    failures: &[String],
    tolerated: usize,
    updated: usize,
    action: FailureAction,
) -> String {
    let (what, then) = match action {
        FailureAction::Pause => ("paused", ""),
        FailureAction::Rollback => (
            "rolled back",
            "the failed batch runs its old containers again; ",
        ),
        FailureAction::Continue => ("continued", ""),
    };
    format!(
        "service {service:?}: update {what}: {} of {updated} updated replicas failed ({tolerated} tolerated): {}; {then}the replicas not updated yet keep the old config",
        failures.len(),
        failures.join("; "),
    )
}

#[derive(Debug, PartialEq)]
enum Outcome {
    Changed,
    /// Changed, and printed this (a hook).
    Printed(String),
    Unchanged,
    /// A failure the plan allows (a dependency with `required: false`).
    Tolerated(String),
}

/// The engine's build request for a service's `build`, labelled as compose v2 labels it: the
/// file's labels, then the project's, so that the image is known as the project's (and swept
/// with it). The engine's build API builds one platform: several are refused, as compose's
/// classic builder refuses them.
fn build_request(
    service: &str,
    image: &str,
    build: &Build,
    project: &str,
) -> Result<BuildRequest, String> {
    if build.platforms.len() > 1 {
        return Err(format!(
            "build.platforms lists {} platforms ({}), but the engine's build API builds one",
            build.platforms.len(),
            build.platforms.join(", ")
        ));
    }
    Ok(BuildRequest {
        context: build.context.clone().unwrap_or_else(|| ".".into()).into(),
        dockerfile: build
            .dockerfile
            .clone()
            .unwrap_or_else(|| "Dockerfile".into()),
        dockerfile_inline: build.dockerfile_inline.clone(),
        tag: image.to_string(),
        args: build
            .args
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), v.clone()?)))
            .collect(),
        target: build.target.clone(),
        labels: build
            .labels
            .clone()
            .into_iter()
            .chain([
                (labels::PROJECT.to_string(), project.to_string()),
                (labels::SERVICE.to_string(), service.to_string()),
                (
                    labels::VERSION.to_string(),
                    crate::desired::VERSION.to_string(),
                ),
            ])
            .collect(),
        no_cache: build.no_cache,
        pull: build.pull,
        extra_tags: build.tags.clone(),
        cache_from: build.cache_from.clone(),
        extra_hosts: build.extra_hosts.clone(),
        network: build.network.clone(),
        shm_size: build.shm_size,
        isolation: build.isolation.clone(),
        platform: build.platforms.first().cloned(),
    })
}

/// One operation: one engine call (or a wait), with an error that names what failed.
async fn perform(
    op: &Operation,
    runtime: &dyn ContainerEngine,
    options: &ExecuteOptions,
    context: &RunContext,
) -> Result<Outcome, OperationError> {
    let describe = |err: EngineError| OperationError {
        stale: matches!(err, EngineError::NotFound(_) | EngineError::Conflict(_)),
        message: format!("{}: {err}", op.action),
    };
    match &op.action {
        Action::CreateNetwork(network) => match runtime.create_network(network).await {
            Err(EngineError::Conflict(_)) => Ok(Outcome::Unchanged),
            other => other.map(|()| Outcome::Changed).map_err(describe),
        },
        Action::RemoveNetwork { name } => gone_is_fine(runtime.remove_network(name).await).map_err(describe),
        Action::CreateVolume(volume) => match runtime.create_volume(volume).await {
            Err(EngineError::Conflict(_)) => Ok(Outcome::Unchanged),
            other => other.map(|()| Outcome::Changed).map_err(describe),
        },
        Action::RemoveVolume { name } => gone_is_fine(runtime.remove_volume(name).await).map_err(describe),
        Action::RemoveImage { image, .. } => gone_is_fine(runtime.delete_image(image).await).map_err(describe),
        Action::PullImage { service, image, platform } => runtime
            .pull_image(image, platform.as_deref())
            .await
            .map(|()| Outcome::Changed)
            .map_err(|err| {
                format!("service {service:?}: image {image} is not available locally and cannot be pulled: {err}").into()
            }),
        Action::BuildImage { service, image, build } => {
            let request = build_request(service, image, build, &options.project)
                .map_err(|err| format!("service {service:?}: building {image} failed: {err}"))?;
            runtime
                .build_image(&request)
                .await
                .map(|_| Outcome::Changed)
                .map_err(|err| format!("service {service:?}: building {image} failed: {err}").into())
        }
        Action::CreateContainer { service, name, spec, .. } => {
            let mut spec = spec.as_ref().clone();
            for mode in [&mut spec.network_mode, &mut spec.pid, &mut spec.ipc] {
                resolve_namespace(mode, service, runtime, &options.project).await?;
            }
            resolve_links_and_volumes(&mut spec, service, runtime, &options.project).await?;
            resolve_dns_gateway(&mut spec, service, runtime, &context.gateways).await?;
            // The ID of the image the container runs, as compose labels it: `docker compose up`
            // recreates a container whose label differs from its image's ID. Compose leaves it
            // off one-off containers, which it never recreates.
            let one_off = spec.labels.get(labels::ONEOFF).is_some_and(|v| v == "True");
            if !one_off && let Some(id) = runtime.image_id(&spec.image).await.map_err(describe)? {
                spec.labels.insert(labels::IMAGE.into(), id);
            }
            runtime
                .create_container(name, &spec)
                .await
                .map(|_| Outcome::Changed)
                .map_err(describe)
        }
        Action::StartContainer { container, .. } => runtime
            .start_container(container.target())
            .await
            .map(|()| Outcome::Changed)
            .map_err(describe),
        Action::StopContainer { container, timeout, .. } => {
            let target = container.target();
            let stopped = match context.removed.contains(target) {
                true => runtime.end_container(target, *timeout).await,
                false => runtime.stop_container(target, *timeout).await,
            };
            gone_is_fine(stopped).map_err(describe)
        }
        Action::RemoveContainer { container, volumes, .. } => {
            gone_is_fine(runtime.remove_container(container.target(), *volumes).await).map_err(describe)
        }
        Action::RenameContainer { container, to, .. } => runtime
            .rename_container(container.target(), to)
            .await
            .map(|()| Outcome::Changed)
            .map_err(describe),
        Action::RunHook { service, container, stage, hook, .. } => {
            match runtime.exec(container.target(), &hook.exec_request()).await {
                Ok(ExecOutput { exit_code: Some(code), .. }) if code != 0 => {
                    // compose v2's words.
                    Err(format!("{service} hook exited with status {code}").into())
                }
                Ok(ExecOutput { output, .. }) => Ok(Outcome::Printed(output)),
                // A `pre_stop` that finds its container stopped or gone has nothing to do
                // before the stop, as compose ignores it.
                Err(EngineError::NotFound(_) | EngineError::Conflict(_)) if *stage == HookStage::PreStop => {
                    Ok(Outcome::Unchanged)
                }
                Err(err) => Err(describe(err)),
            }
        }
        Action::WaitFor { service, container, condition, required } => {
            let waited = match container {
                Some(container) => wait_for_container(runtime, options, service, container, *condition).await,
                None => wait_for(runtime, options, service, *condition).await,
            };
            match waited {
                Ok(()) => Ok(Outcome::Unchanged),
                Err(message) if !required => Ok(Outcome::Tolerated(message)),
                Err(message) => Err(message.into()),
            }
        }
        Action::Delay { period, .. } => {
            tokio::time::sleep(*period).await;
            Ok(Outcome::Unchanged)
        }
        Action::Monitor { service, container, period } => {
            monitor(runtime, options, service, container, *period)
                .await
                .map(|()| Outcome::Unchanged)
                .map_err(OperationError::from)
        }
        Action::CheckFailures { .. } => unreachable!("the run counts failures itself: it knows the outcomes"),
    }
}

/// `service:x` in `network_mode`, `pid` or `ipc` becomes `container:<id of x's first replica>`.
async fn resolve_namespace(
    mode: &mut Option<String>,
    service: &str,
    runtime: &dyn ContainerEngine,
    project: &str,
) -> Result<(), String> {
    let Some(target) = mode.as_deref().and_then(|m| m.strip_prefix("service:")) else {
        return Ok(());
    };
    let id = first_container(runtime, project, target)
        .await
        .map_err(|e| format!("service {service:?}: looking up {target:?}: {e}"))?
        .ok_or_else(|| {
            format!("service {service:?} joins a namespace of {target:?}, which has no container")
        })?;
    *mode = Some(format!("container:{id}"));
    Ok(())
}

/// `links` to services become links to each of their containers, under the alias and under
/// `<service>-<n>` and `<project>-<service>-<n>`, `n` being the number of the container created
/// (compose v2 names them so, after compose v1); a `volumes_from` service becomes its first
/// container, by ID.
async fn resolve_links_and_volumes(
    spec: &mut ContainerSpec,
    service: &str,
    runtime: &dyn ContainerEngine,
    project: &str,
) -> Result<(), String> {
    let needs_service = |v: &VolumesFrom| matches!(v.source, VolumesSource::Service(_));
    if spec.service_links.is_empty() && !spec.volumes_from.iter().any(needs_service) {
        return Ok(());
    }
    let containers = runtime
        .containers(project)
        .await
        .map_err(|e| format!("service {service:?}: looking up its links: {e}"))?;
    let of_service = |name: &str| {
        let mut found: Vec<_> = containers
            .iter()
            .filter(|c| c.labels.get(labels::SERVICE).map(String::as_str) == Some(name))
            .filter(|c| c.labels.get(labels::ONEOFF).map(String::as_str) != Some("True"))
            .collect();
        found.sort_by_key(|c| {
            c.labels
                .get(labels::NUMBER)
                .and_then(|n| n.parse::<u32>().ok())
        });
        found
    };
    let number = spec.labels.get(labels::NUMBER).cloned().unwrap_or_default();
    let mut links = Vec::new();
    for link in std::mem::take(&mut spec.service_links) {
        for c in of_service(&link.service) {
            links.push(format!("{}:{}", c.name, link.alias));
            links.push(format!("{}:{}-{number}", c.name, link.service));
            links.push(format!("{}:{project}-{}-{number}", c.name, link.service));
        }
    }
    // Before the external links, as compose orders them.
    links.append(&mut spec.links);
    spec.links = links;
    for from in &mut spec.volumes_from {
        if let VolumesSource::Service(name) = &from.source {
            let id = of_service(name)
                .first()
                .map(|c| c.id.clone())
                .ok_or_else(|| {
                    format!("cannot share volume with service {name}: container missing")
                })?;
            from.source = VolumesSource::Container(id);
        }
    }
    Ok(())
}

/// What the operations of one run share.
struct RunContext {
    gateways: Gateways,
    /// The containers the plan removes: stopping one of those only needs its process ended.
    removed: HashSet<String>,
}

impl RunContext {
    fn of(plan: &Plan) -> RunContext {
        let removed = plan.operations.iter().filter_map(|op| match &op.action {
            Action::RemoveContainer { container, .. } => Some(container.target().to_string()),
            _ => None,
        });
        RunContext {
            gateways: Gateways::default(),
            removed: removed.collect(),
        }
    }
}

/// The IPv4 gateways of the engine's networks, by name, as one run has seen them. Every
/// container create needs its network's gateway: one list of the networks serves them all,
/// instead of one list per create contending with the creates themselves.
#[derive(Default)]
struct Gateways(tokio::sync::Mutex<HashMap<String, IpAddr>>);

impl Gateways {
    /// The gateway of `network`; the engine is asked again only for a network not seen yet
    /// (one this run created after the last list).
    async fn of(
        &self,
        network: &str,
        runtime: &dyn ContainerEngine,
    ) -> Result<Option<IpAddr>, EngineError> {
        // Held across the list: concurrent creates wait for one list instead of each sending one.
        let mut known = self.0.lock().await;
        if !known.contains_key(network) {
            for n in runtime.networks().await? {
                if let Some(gateway) = n.gateway_v4() {
                    known.insert(n.name, gateway);
                }
            }
        }
        Ok(known.get(network).copied())
    }
}

/// wharf's DNS goes first in `dns`: the gateway of the network `dns_gateway_of` names.
async fn resolve_dns_gateway(
    spec: &mut ContainerSpec,
    service: &str,
    runtime: &dyn ContainerEngine,
    gateways: &Gateways,
) -> Result<(), String> {
    let Some(network) = spec.dns_gateway_of.take() else {
        return Ok(());
    };
    let gateway = gateways
        .of(&network, runtime)
        .await
        .map_err(|e| format!("service {service:?}: looking up network {network:?}: {e}"))?
        .ok_or_else(|| {
            format!("service {service:?}: network {network:?} has no IPv4 gateway for wharf's DNS")
        })?;
    spec.dns.insert(0, gateway.to_string());
    Ok(())
}

/// Removing or stopping what is already gone is success: the goal is reached.
fn gone_is_fine(result: Result<(), EngineError>) -> Result<Outcome, EngineError> {
    match result {
        Ok(()) => Ok(Outcome::Changed),
        Err(EngineError::NotFound(_)) => Ok(Outcome::Unchanged),
        Err(err) => Err(err),
    }
}

async fn first_container(
    runtime: &dyn ContainerEngine,
    project: &str,
    service: &str,
) -> Result<Option<String>, EngineError> {
    let containers = runtime.containers(project).await?;
    Ok(containers
        .into_iter()
        .filter(|c| c.labels.get(labels::SERVICE).map(String::as_str) == Some(service))
        .min_by_key(|c| {
            c.labels
                .get(labels::NUMBER)
                .and_then(|n| n.parse::<u32>().ok())
        })
        .map(|c| c.id))
}

/// Waits until every container of `service` meets `condition`; fails as soon as one cannot.
async fn wait_for(
    runtime: &dyn ContainerEngine,
    options: &ExecuteOptions,
    service: &str,
    condition: WaitCondition,
) -> Result<(), String> {
    loop {
        let containers: Vec<_> = runtime
            .containers(&options.project)
            .await
            .map_err(|e| format!("waiting for {service}: {e}"))?
            .into_iter()
            .filter(|c| c.labels.get(labels::SERVICE).map(String::as_str) == Some(service))
            .filter(|c| {
                c.labels
                    .get(labels::ONEOFF)
                    .is_none_or(|v| !v.eq_ignore_ascii_case("true"))
            })
            .collect();
        if containers.is_empty() {
            return Err(format!("dependency {service:?} has no container"));
        }
        let mut met = true;
        for c in &containers {
            match condition {
                // Nothing in this plan starts it (that start would be waited for instead),
                // so waiting would be for ever: a service left stopped by `wharf stop`, or a
                // container created by hand.
                WaitCondition::Started if c.state == ContainerState::Created => {
                    return Err(format!(
                        "dependency {service:?} is not started: container {} was created but never started",
                        c.name
                    ));
                }
                WaitCondition::Started => {}
                WaitCondition::Running => match c.state {
                    ContainerState::Running => {}
                    ContainerState::Exited | ContainerState::Dead => {
                        return Err(format!(
                            "container {} exited ({})",
                            c.name,
                            c.exit_code.unwrap_or(-1)
                        ));
                    }
                    _ => met = false,
                },
                WaitCondition::Healthy => match (c.state, c.health) {
                    (_, Some(Health::Unhealthy)) => {
                        return Err(format!(
                            "dependency failed to start: container {} is unhealthy",
                            c.name
                        ));
                    }
                    (ContainerState::Exited | ContainerState::Dead, _) => {
                        return Err(format!(
                            "dependency failed to start: container {} exited ({})",
                            c.name,
                            c.exit_code.unwrap_or(-1)
                        ));
                    }
                    (_, None) => {
                        return Err(format!(
                            "dependency {service:?} is required to be healthy, but container {} has no healthcheck",
                            c.name
                        ));
                    }
                    (_, Some(Health::Healthy)) => {}
                    (_, Some(Health::Starting)) => met = false,
                },
                WaitCondition::CompletedSuccessfully => match c.state {
                    ContainerState::Exited | ContainerState::Dead => {
                        let code = c.exit_code.unwrap_or(-1);
                        if code != 0 {
                            return Err(format!(
                                "service {service:?} didn't complete successfully: container {} exited with code {code}",
                                c.name
                            ));
                        }
                    }
                    _ => met = false,
                },
            }
        }
        if met {
            return Ok(());
        }
        tokio::time::sleep(options.poll).await;
    }
}

/// The container an operation names, by ID when it had one when planned, else by name.
async fn inspect(
    runtime: &dyn ContainerEngine,
    service: &str,
    container: &ContainerRef,
) -> Result<EngineContainer, String> {
    runtime
        .container(container.target())
        .await
        .map_err(|e| format!("service {service:?}: container {}: {e}", container.name))
}

/// Waits until one container is ready (`Running` or `Healthy`); fails as soon as it cannot be.
async fn wait_for_container(
    runtime: &dyn ContainerEngine,
    options: &ExecuteOptions,
    service: &str,
    container: &ContainerRef,
    condition: WaitCondition,
) -> Result<(), String> {
    loop {
        let c = inspect(runtime, service, container).await?;
        let name = &container.name;
        if matches!(c.state, ContainerState::Exited | ContainerState::Dead) {
            let code = c.exit_code.unwrap_or(-1);
            return Err(format!(
                "service {service:?}: container {name} exited ({code})"
            ));
        }
        let ready = match (condition, c.health) {
            (_, Some(Health::Unhealthy)) => {
                return Err(format!(
                    "service {service:?}: container {name} is unhealthy"
                ));
            }
            (WaitCondition::Healthy, health) => health == Some(Health::Healthy),
            (_, _) => c.state == ContainerState::Running,
        };
        if ready {
            return Ok(());
        }
        tokio::time::sleep(options.poll).await;
    }
}

/// Watches a container for `period`: it must keep running and must not turn unhealthy.
async fn monitor(
    runtime: &dyn ContainerEngine,
    options: &ExecuteOptions,
    service: &str,
    container: &ContainerRef,
    period: Duration,
) -> Result<(), String> {
    let deadline = tokio::time::Instant::now() + period;
    let during = format!("during its {} monitor", GoDuration(period));
    loop {
        let c = inspect(runtime, service, container).await?;
        let failed = |what: String| {
            format!(
                "service {service:?}: container {} {what} {during}",
                container.name
            )
        };
        match (c.state, c.health) {
            (ContainerState::Exited | ContainerState::Dead, _) => {
                let code = c.exit_code.unwrap_or(-1);
                return Err(failed(format!("exited ({code})")));
            }
            (ContainerState::Running, Some(Health::Unhealthy)) => {
                return Err(failed("turned unhealthy".into()));
            }
            (ContainerState::Running, _) => {}
            (other, _) => {
                let state = format!("{other:?}").to_lowercase();
                return Err(failed(format!("stopped running ({state})")));
            }
        }
        let now = tokio::time::Instant::now();
        if now >= deadline {
            return Ok(());
        }
        tokio::time::sleep(options.poll.min(deadline - now)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desired::labels;
    use crate::plan::{Cause, Deps};
    use crate::engine::memory::MemoryEngine;

    fn wait_plan(condition: WaitCondition) -> Plan {
        let mut plan = Plan::default();
        plan.push(
            Action::WaitFor {
                service: "job".into(),
                container: None,
                condition,
                required: true,
            },
            Cause::Requested,
            Vec::new(),
        );
        plan
    }

    async fn run_with(
        state: ContainerState,
        exit: Option<i64>,
        condition: WaitCondition,
    ) -> Report {
        let engine = MemoryEngine::new();
        engine.add_image("busybox");
        let labels = [
            (labels::PROJECT, "p"),
            (labels::SERVICE, "job"),
            (labels::NUMBER, "1"),
        ];
        engine.add_container("p-job-1", "busybox", &labels, state);
        engine.set_state("p-job-1", state, exit);
        run(
            &wait_plan(condition),
            Arc::new(engine),
            &ExecuteOptions::new("p"),
            &|_, _| {},
        )
        .await
    }

    #[tokio::test]
    async fn running_fails_on_an_exited_container_where_started_does_not() {
        let exited = run_with(ContainerState::Exited, Some(4), WaitCondition::Running).await;
        assert_eq!(exited.failures.len(), 1);
        assert!(
            exited.failures[0].message.contains("exited (4)"),
            "{:?}",
            exited.failures
        );
        let started = run_with(ContainerState::Exited, Some(4), WaitCondition::Started).await;
        assert!(started.is_success());
        let running = run_with(ContainerState::Running, None, WaitCondition::Running).await;
        assert!(running.is_success());
    }

    #[tokio::test]
    async fn started_fails_at_once_on_a_container_nothing_starts() {
        let waited = tokio::time::timeout(
            Duration::from_secs(5),
            run_with(ContainerState::Created, None, WaitCondition::Started),
        )
        .await
        .expect("the wait ends");
        assert_eq!(
            waited.failures[0].message,
            "dependency \"job\" is not started: container p-job-1 was created but never started"
        );
    }

    #[tokio::test]
    async fn completed_successfully_needs_exit_code_zero() {
        let failed = run_with(
            ContainerState::Exited,
            Some(3),
            WaitCondition::CompletedSuccessfully,
        )
        .await;
        assert!(failed.failures[0].message.contains("code 3"));
        let ok = run_with(
            ContainerState::Exited,
            Some(0),
            WaitCondition::CompletedSuccessfully,
        )
        .await;
        assert!(ok.is_success());
    }

    #[tokio::test]
    async fn a_failure_skips_what_waits_for_it_and_the_rest_goes_on() {
        let engine = Arc::new(MemoryEngine::new());
        let mut plan = wait_plan(WaitCondition::Running);
        let after = plan.push(network("after"), Cause::Missing, vec![0]);
        plan.push(network("independent"), Cause::Missing, Vec::new());
        let report = run(&plan, engine.clone(), &ExecuteOptions::new("p"), &|_, _| {}).await;
        assert_eq!(report.failures.len(), 1, "no container: the wait fails");
        assert_eq!(report.skipped, [after]);
        assert_eq!(engine.network_names(), ["independent"]);
    }

    #[tokio::test]
    async fn a_container_gone_or_a_name_taken_is_stale_and_a_failed_pull_is_not() {
        let engine = Arc::new(MemoryEngine::new());
        let mut plan = Plan::default();
        let gone = ContainerRef {
            name: "p-web-1".into(),
            id: Some("0123456789ab".into()),
        };
        plan.push(
            Action::StartContainer {
                service: "web".into(),
                container: gone,
            },
            Cause::NotRunning,
            Vec::new(),
        );
        plan.push(
            Action::PullImage {
                service: "web".into(),
                image: "nowhere/web:1".into(),
                platform: None,
            },
            Cause::Missing,
            Vec::new(),
        );
        let report = run(&plan, engine, &ExecuteOptions::new("p"), &|_, _| {}).await;
        let mut failures: Vec<(usize, bool)> = report
            .failures
            .iter()
            .map(|f| (f.operation, f.stale))
            .collect();
        failures.sort();
        assert_eq!(failures, [(0, true), (1, false)]);
    }

    #[test]
    fn compose_parallel_limit_sets_the_bound() {
        assert_eq!(parallel_limit(None), PARALLELISM);
        assert_eq!(parallel_limit(Some("4")), 4);
        assert_eq!(parallel_limit(Some("0")), PARALLELISM);
        assert_eq!(parallel_limit(Some("many")), PARALLELISM);
    }

    #[tokio::test]
    async fn the_critical_path_goes_first_and_at_most_parallelism_run_at_once() {
        let engine = Arc::new(MemoryEngine::new());
        let mut plan = Plan::default();
        let lone = plan.push(network("lone"), Cause::Missing, Vec::new());
        let head = plan.push(network("head"), Cause::Missing, Vec::new());
        let middle = plan.push(network("middle"), Cause::Missing, vec![head]);
        let tail = plan.push(network("tail"), Cause::Missing, vec![middle]);
        let order = std::sync::Mutex::new(Vec::new());
        let running = std::sync::atomic::AtomicUsize::new(0);
        let most = std::sync::atomic::AtomicUsize::new(0);
        let record = |_: &Operation, event: &Event| {
            use std::sync::atomic::Ordering::SeqCst;
            match event {
                Event::Started(id) => {
                    order.lock().unwrap().push(*id);
                    let now = running.fetch_add(1, SeqCst) + 1;
                    most.fetch_max(now, SeqCst);
                }
                _ => {
                    running.fetch_sub(1, SeqCst);
                }
            }
        };
        let serial = ExecuteOptions {
            parallelism: 1,
            ..ExecuteOptions::new("p")
        };
        let report = run(&plan, engine, &serial, &record).await;
        assert!(report.is_success());
        // The head of the three-long chain first, then the chain, the lone one where its id
        // puts it among equals.
        assert_eq!(*order.lock().unwrap(), [head, middle, lone, tail]);
        assert_eq!(most.load(std::sync::atomic::Ordering::SeqCst), 1);

        let mut wide = Plan::default();
        for n in 0..40 {
            wide.push(network(&format!("n{n}")), Cause::Missing, Vec::new());
        }
        most.store(0, std::sync::atomic::Ordering::SeqCst);
        let options = ExecuteOptions {
            parallelism: 4,
            ..ExecuteOptions::new("p")
        };
        run(&wide, Arc::new(MemoryEngine::new()), &options, &record).await;
        assert_eq!(
            most.load(std::sync::atomic::Ordering::SeqCst),
            4,
            "up to the bound, never more"
        );
    }

    #[tokio::test]
    async fn container_creates_and_starts_have_a_bound_of_their_own_and_go_longest_chain_first() {
        let engine = MemoryEngine::new();
        engine.add_image("busybox");
        let mut plan = Plan::default();
        // Six replicas, each created then started; the fifth's start leads a chain of three
        // (two more networks after it), so its create goes before every other container call.
        let mut head = 0;
        for n in 1..=6 {
            let name = format!("p-web-{n}");
            let created = plan.push(create(&name), Cause::Missing, Vec::new());
            let started = plan.push(start(&name), Cause::Missing, vec![created]);
            if n == 5 {
                head = created;
                let next = plan.push(network("after"), Cause::Missing, vec![started]);
                plan.push(network("last"), Cause::Missing, vec![next]);
            }
        }
        // Networks that nothing waits for: other work, not bound by the containers' limit.
        for n in 0..4 {
            plan.push(network(&format!("n{n}")), Cause::Missing, Vec::new());
        }
        let order = std::sync::Mutex::new(Vec::new());
        let containers = std::sync::atomic::AtomicUsize::new(0);
        // The most container operations at once when a create went out: the bound holds while
        // containers are still to be created (the last starts then go together, see
        // `the_container_bound_is_lifted_once_only_starts_that_no_start_waits_for_are_left`).
        let most_containers = std::sync::atomic::AtomicUsize::new(0);
        let record = |op: &Operation, event: &Event| {
            use std::sync::atomic::Ordering::SeqCst;
            let on_containers = creates_or_starts(&op.action);
            match event {
                Event::Started(id) => {
                    order.lock().unwrap().push(*id);
                    if on_containers {
                        let now = containers.fetch_add(1, SeqCst) + 1;
                        if matches!(op.action, Action::CreateContainer { .. }) {
                            most_containers.fetch_max(now, SeqCst);
                        }
                    }
                }
                _ if on_containers => {
                    containers.fetch_sub(1, SeqCst);
                }
                _ => {}
            }
        };
        let options = ExecuteOptions {
            parallelism: 16,
            container_parallelism: 2,
            ..ExecuteOptions::new("p")
        };
        let report = run(&plan, Arc::new(engine), &options, &record).await;
        assert!(report.is_success(), "{:?}", report.failures);
        assert_eq!(most_containers.load(std::sync::atomic::Ordering::SeqCst), 2);
        let order = order.lock().unwrap();
        assert_eq!(order[0], head, "{order:?}");
        // The networks did not wait for the containers' slots: all four went out at once,
        // beside the first two creates.
        let first_six: Vec<&Action> = order[..6]
            .iter()
            .map(|&id| &plan.operations[id].action)
            .collect();
        assert_eq!(
            first_six
                .iter()
                .filter(|a| matches!(a, Action::CreateNetwork(_)))
                .count(),
            4,
            "{first_six:?}"
        );
    }

    #[tokio::test]
    async fn a_chain_is_counted_in_starts_first() {
        let engine = MemoryEngine::new();
        engine.add_image("busybox");
        let mut plan = Plan::default();
        // Once p-web-1 is created, two chains of two operations are ready: p-lone-1's create
        // and start, and p-web-1's start and p-web-2's. The second is two starts: it goes
        // first, though the first has the lower id.
        let lone = plan.push(create("p-lone-1"), Cause::Missing, Vec::new());
        plan.push(start("p-lone-1"), Cause::Missing, vec![lone]);
        let first = plan.push(create("p-web-1"), Cause::Missing, Vec::new());
        let first_start = plan.push(start("p-web-1"), Cause::Missing, vec![first]);
        let second = plan.push(create("p-web-2"), Cause::Missing, Vec::new());
        plan.push(start("p-web-2"), Cause::Missing, vec![second, first_start]);
        let order = std::sync::Mutex::new(Vec::new());
        let record = |_: &Operation, event: &Event| {
            if let Event::Started(id) = event {
                order.lock().unwrap().push(*id);
            }
        };
        let options = ExecuteOptions {
            container_parallelism: 1,
            ..ExecuteOptions::new("p")
        };
        let report = run(&plan, Arc::new(engine), &options, &record).await;
        assert!(report.is_success(), "{:?}", report.failures);
        assert_eq!(order.lock().unwrap()[..2], [first, first_start]);
    }

    #[tokio::test]
    async fn the_container_bound_is_lifted_once_only_starts_that_no_start_waits_for_are_left() {
        let engine = MemoryEngine::new();
        engine.add_image("busybox");
        let mut plan = Plan::default();
        // p-web-2's start waits for p-web-1's: a chain of two starts. The other four are alone.
        let mut chain_head = 0;
        for n in 1..=6 {
            let name = format!("p-web-{n}");
            let created = plan.push(create(&name), Cause::Missing, Vec::new());
            let after = match n {
                2 => vec![created, chain_head],
                _ => vec![created],
            };
            let started = plan.push(start(&name), Cause::Missing, after);
            if n == 1 {
                chain_head = started;
            }
        }
        // Per operation started: how many container operations ran at that moment.
        let at_start = std::sync::Mutex::new(Vec::new());
        let running = std::sync::atomic::AtomicUsize::new(0);
        let record = |_: &Operation, event: &Event| {
            use std::sync::atomic::Ordering::SeqCst;
            match event {
                Event::Started(id) => {
                    let now = running.fetch_add(1, SeqCst) + 1;
                    at_start.lock().unwrap().push((*id, now));
                }
                _ => {
                    running.fetch_sub(1, SeqCst);
                }
            }
        };
        let options = ExecuteOptions {
            container_parallelism: 1,
            ..ExecuteOptions::new("p")
        };
        let report = run(&plan, Arc::new(engine), &options, &record).await;
        assert!(report.is_success(), "{:?}", report.failures);
        let at_start = at_start.lock().unwrap();
        for &(id, running) in at_start.iter() {
            let action = &plan.operations[id].action;
            if matches!(action, Action::CreateContainer { .. }) || id == chain_head {
                assert_eq!(running, 1, "{action} ran beside another: {at_start:?}");
            }
        }
        // Then the five starts that no start waits for went out together.
        let most = at_start.iter().map(|&(_, running)| running).max();
        assert_eq!(most, Some(5), "{at_start:?}");
    }

    /// As compose: `Started` is told once the container's `post_start` hooks have run.
    #[tokio::test]
    async fn a_start_is_told_after_its_post_start_hooks() {
        let engine = MemoryEngine::new();
        engine.add_image("busybox");
        let mut plan = Plan::default();
        let created = plan.push(create("p-web-1"), Cause::Missing, Vec::new());
        let hook = |word: &str| crate::desired::Hook {
            command: vec!["echo".into(), word.into()],
            ..Default::default()
        };
        let container = ContainerRef {
            name: "p-web-1".into(),
            id: None,
        };
        let hooks = [hook("one"), hook("two")];
        let last = plan.push_start("web", container, &hooks, Cause::Missing, vec![created]);
        let told = std::sync::Mutex::new(Vec::new());
        let record = |op: &Operation, event: &Event| {
            if let Event::Succeeded(id) = event {
                told.lock().unwrap().push((*id, op.action.to_string()));
            }
        };
        let options = ExecuteOptions::new("p");
        let report = run(&plan, Arc::new(engine), &options, &record).await;
        assert!(report.is_success(), "{:?}", report.failures);
        let told: Vec<String> = told.into_inner().unwrap().into_iter().map(|(_, a)| a).collect();
        assert_eq!(
            told,
            [
                "create container p-web-1",
                "run post_start[0] in container p-web-1",
                "run post_start[1] in container p-web-1",
                "start container p-web-1",
            ],
            "the last hook is operation {last}"
        );
    }

    fn create(name: &str) -> Action {
        Action::CreateContainer {
            service: "web".into(),
            number: 1,
            name: name.into(),
            spec: Box::new(ContainerSpec {
                image: "busybox".into(),
                ..ContainerSpec::default()
            }),
        }
    }

    fn start(name: &str) -> Action {
        Action::StartContainer {
            service: "web".into(),
            container: ContainerRef {
                name: name.into(),
                id: None,
            },
        }
    }

    #[tokio::test]
    async fn a_container_is_created_once_the_rest_of_what_its_start_waits_for_is_under_way() {
        let engine = MemoryEngine::new();
        engine.add_image("busybox");
        engine.add_container("p-old-1", "busybox", &[], ContainerState::Running);
        let mut plan = Plan::default();
        // The start of p-web-1 also waits for the second of two networks.
        let first = plan.push(network("first"), Cause::Missing, Vec::new());
        let second = plan.push(network("second"), Cause::Missing, vec![first]);
        let web = plan.push(create("p-web-1"), Cause::Missing, Vec::new());
        plan.push(start("p-web-1"), Cause::Missing, vec![web, second]);
        // A replacement: its start waits for the old container's stop, which waits for the
        // create. The create cannot wait for that stop: it goes at once.
        let new = plan.push(create("p-new-1"), Cause::ConfigChanged, Vec::new());
        let stop = plan.push(
            Action::StopContainer {
                service: "web".into(),
                container: ContainerRef {
                    name: "p-old-1".into(),
                    id: None,
                },
                timeout: None,
            },
            Cause::Replacing("p-new-1".into()),
            vec![new],
        );
        plan.push(start("p-new-1"), Cause::ConfigChanged, vec![new, stop]);
        let order = std::sync::Mutex::new(Vec::new());
        let record = |_: &Operation, event: &Event| {
            if let Event::Started(id) = event {
                order.lock().unwrap().push(*id);
            }
        };
        let report = tokio::time::timeout(
            Duration::from_secs(5),
            run(&plan, Arc::new(engine), &ExecuteOptions::new("p"), &record),
        )
        .await
        .expect("the run ends");
        assert!(report.is_success(), "{:?}", report.failures);
        let order = order.lock().unwrap();
        let at = |id: usize| order.iter().position(|&o| o == id).unwrap();
        assert!(at(second) < at(web), "{order:?}");
        assert!(at(new) < at(second), "{order:?}");
    }

    #[tokio::test]
    async fn a_dropped_run_lets_its_engine_changes_end_and_drops_its_waits() {
        let engine = Arc::new(MemoryEngine::new());
        engine.slow_network_creates(Duration::from_millis(300));
        let mut plan = Plan::default();
        plan.push(network("made"), Cause::Missing, Vec::new());
        plan.push(
            Action::Delay {
                service: "web".into(),
                period: Duration::from_secs(60),
            },
            Cause::Missing,
            Vec::new(),
        );
        let options = ExecuteOptions::new("p");
        let running = run(&plan, engine.clone(), &options, &|_, _| {});
        // The supervisor told to stop drops its plan mid-way.
        assert!(
            tokio::time::timeout(Duration::from_millis(50), running)
                .await
                .is_err()
        );
        assert!(engine.network_names().is_empty());
        let started = tokio::time::Instant::now();
        assert!(settle_changes(Duration::from_secs(5)).await);
        assert_eq!(engine.network_names(), ["made"]);
        // The network's create, not the minute of delay, was waited for.
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
    }

    fn network(name: &str) -> Action {
        Action::CreateNetwork(crate::desired::DesiredNetwork {
            key: name.into(),
            name: name.into(),
            external: false,
            driver: None,
            driver_opts: Default::default(),
            internal: false,
            attachable: false,
            enable_ipv6: false,
            ipam: None,
            labels: Default::default(),
        })
    }

    fn deps(after: &[usize], settled: &[usize], if_failed: Option<usize>) -> Deps {
        Deps {
            after: after.to_vec(),
            settled: settled.to_vec(),
            if_failed,
        }
    }

    /// Runs `plan` on an engine where creating the networks named in `failing` fails; returns
    /// the report and the networks that exist, by name.
    async fn run_failing(plan: &Plan, failing: &[&str]) -> (Report, Vec<String>) {
        let engine = Arc::new(MemoryEngine::new());
        for name in failing {
            engine.fail("create_network", name, "no address pool left");
        }
        let options = ExecuteOptions::new("p");
        let report = run(plan, engine.clone(), &options, &|_, _| {}).await;
        let mut networks = engine.network_names();
        networks.sort();
        (report, networks)
    }

    #[tokio::test]
    async fn settled_waits_for_an_end_whatever_it_is_and_fallbacks_run_only_when_theirs_did_not_succeed()
     {
        let mut plan = Plan::default();
        let first = plan.push(network("first"), Cause::Missing, vec![]);
        let done = deps(&[], &[first], None);
        plan.push_with(network("after-either"), Cause::Missing, done);
        let fallback = deps(&[], &[], Some(first));
        let fallback = plan.push_with(network("fallback"), Cause::Missing, fallback);
        let behind = plan.push(network("behind-fallback"), Cause::Missing, vec![fallback]);
        let second = plan.push(network("second"), Cause::Missing, vec![first]);
        let skipped_fallback = deps(&[], &[], Some(second));
        plan.push_with(
            network("fallback-of-skipped"),
            Cause::Missing,
            skipped_fallback,
        );

        let (report, networks) = run_failing(&plan, &["first"]).await;
        let expected = [
            "after-either",
            "behind-fallback",
            "fallback",
            "fallback-of-skipped",
        ];
        assert_eq!(
            networks, expected,
            "a skipped operation did not succeed either"
        );
        assert_eq!(report.failures.len(), 1);
        assert_eq!(report.skipped, [second]);

        let (report, networks) = run_failing(&plan, &[]).await;
        assert_eq!(networks, ["after-either", "first", "second"]);
        assert!(report.is_success());
        // Not needed: neither the fallbacks nor what waits for them ran.
        let mut skipped = report.skipped.clone();
        skipped.sort_unstable();
        assert_eq!(skipped, [fallback, behind, second + 1]);
    }

    #[tokio::test]
    async fn a_failure_count_fails_beyond_what_it_tolerates_and_names_the_failures() {
        let mut plan = Plan::default();
        let watched: Vec<usize> = ["a", "b", "c"]
            .iter()
            .map(|name| plan.push(network(name), Cause::Missing, vec![]))
            .collect();
        let check = Action::CheckFailures {
            service: "web".into(),
            watched: watched.clone(),
            tolerated: 1,
            updated: 3,
            failure_action: FailureAction::Pause,
        };
        let check = plan.push_with(check, Cause::Missing, deps(&[], &watched, None));
        plan.push(network("next"), Cause::Missing, vec![check]);

        let (report, networks) = run_failing(&plan, &["b"]).await;
        assert_eq!(report.failures.len(), 1, "one failure is tolerated");
        assert!(networks.contains(&"next".to_string()));

        let (report, networks) = run_failing(&plan, &["a", "c"]).await;
        let count = &report.failures.last().unwrap().message;
        assert!(
            count.starts_with("service \"web\": update paused: 2 of 3 updated replicas failed (1 tolerated): create network a: "),
            "{count}"
        );
        assert!(!networks.contains(&"next".to_string()));
    }
}
