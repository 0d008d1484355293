//! The supervisor keeps a project converged while it runs: engine events, a periodic resync and
//! restart backoffs trigger a new plan, made by the same pure `plan::reconcile` with the restart
//! history as one more input. One plan at a time, so a service is never reconciled twice at
//! once; a lost event stream is reopened and followed by a full resync. A detached supervisor
//! also takes `up` requests from its control socket, and runs them in the same loop.

pub mod control;
mod discovery;
pub mod keeper;
pub mod request;
pub mod state;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures_util::StreamExt;
use tokio::sync::mpsc;

use crate::desired::{Desired, Discovery};
use crate::dns::{Dns, PlanView};
use crate::execute::{self, Event, ExecuteOptions};
use crate::observe;
use crate::outcome;
use crate::plan::{self, Action, Cause, Operation, Plan, ReconcileOptions, Supervision};
use crate::restart::{self, Ended, Exit, Millis, RestartBook};
use crate::engine::{ContainerState, EngineEvent, EventAction, EventKind, Health, ContainerEngine};
use crate::spec::Project;
use control::{Command, Reply, Request};
use request::UpRequest;
use state::StateDir;

/// How often the supervisor resyncs even when no event arrives.
const RESYNC: Duration = Duration::from_secs(5);
/// How long a supervisor started by `up` waits for that `up`'s request.
const FIRST_REQUEST: Duration = Duration::from_secs(10);
/// How long a burst of events is gathered before a plan is made.
const SETTLE: Duration = Duration::from_millis(30);
/// How long a supervisor told to stop lets its engine calls end; under `down`'s own wait for
/// it (its timeout plus 20 s).
const SETTLE_ON_SHUTDOWN: Duration = Duration::from_secs(15);

pub struct Supervisor {
    runtime: Arc<dyn ContainerEngine>,
    desired: Desired,
    /// What a detached supervisor converges on between requests (services, no-deps).
    standing: Option<UpRequest>,
    /// Started for an `up` that is about to send its request: that request comes first.
    awaiting_request: bool,
    /// A detached supervisor's watcher: on while the standing request says `watch`.
    watch_switch: Option<tokio::sync::watch::Sender<bool>>,
    state: StateDir,
    book: RestartBook,
    drifted: HashSet<(String, u32)>,
    /// Containers this supervisor is stopping or removing: their events are its own doing.
    ours: HashSet<String>,
    /// Containers this supervisor is starting: their `start` events are its own doing.
    starting: HashSet<String>,
    /// (service, number) of replicas that exited under an engine restart policy, with the
    /// time of their `die`: their next `start` the supervisor did not make is the engine's
    /// restart.
    engine_restarting: HashMap<(String, u32), Millis>,
    wake_at: Option<Millis>,
    /// wharf's DNS, given a new table after every observe.
    dns: Option<Dns>,
    /// Told, after every plan, which services are down for good (`Supervision::settled`).
    settled: Option<tokio::sync::watch::Sender<BTreeSet<String>>>,
}

/// How long after a recorded exit the engine may still list the replica as running (it
/// lists it so until it has cleaned up after the exit); after that, it was started again.
const STALE_LIMIT: Duration = Duration::from_secs(1);
/// How soon a plan is made again when the engine's list lags behind an exit it reported.
const LIST_LAG: Duration = Duration::from_millis(50);

/// A decision for the log: `restarting in 0.4s`, `gave up: …`.
fn describe(decision: &restart::Decision, at: Millis) -> String {
    match decision {
        restart::Decision::RestartNow => "restarting".to_string(),
        restart::Decision::RestartAt(due) => {
            format!("restarting in {}", restart::format_span(due.since(at)))
        }
        other => other.to_string(),
    }
}

/// Where a plan's progress goes: the supervisor's log, or the `up` that asked for the plan.
pub trait Sink: Sync {
    /// A plan of this many operations is about to run.
    fn plan(&self, operations: usize);
    fn warning(&self, text: &str);
    fn event(&self, op: &Operation, event: &Event);
}

/// The supervisor's own plans: what went wrong goes to its log.
struct Log;

impl Sink for Log {
    fn plan(&self, _: usize) {}

    fn warning(&self, text: &str) {
        eprintln!("supervisor: warning: {text}");
    }

    fn event(&self, op: &Operation, event: &Event) {
        if let Event::Failed(_, message) = event {
            eprintln!("supervisor: {}: {message}", op.action);
        }
    }
}

/// A request's plans: every line goes back over the control socket.
struct Replies<'a>(&'a mpsc::UnboundedSender<Reply>);

impl Sink for Replies<'_> {
    fn plan(&self, operations: usize) {
        let _ = self.0.send(Reply::Plan { operations });
    }

    fn warning(&self, text: &str) {
        let _ = self.0.send(Reply::Warning(text.to_string()));
    }

    fn event(&self, op: &Operation, event: &Event) {
        if let Some(line) = outcome::line(op, event) {
            let _ = self.0.send(Reply::Line(line));
        }
    }
}

/// Why a converge failed; `stale` when every failure was the engine changing under the plan.
struct ConvergeFailure {
    message: String,
    stale: bool,
}

impl From<String> for ConvergeFailure {
    fn from(message: String) -> ConvergeFailure {
        ConvergeFailure {
            message,
            stale: false,
        }
    }
}

/// How many times a plan that the engine outran is made again.
const STALE_RETRIES: usize = 2;

fn first_failure(report: &execute::Report) -> Result<(), String> {
    match report.failures.first() {
        Some(failure) => Err(failure.message.clone()),
        None => Ok(()),
    }
}

/// The next request of the control socket; never, for a supervisor without one.
async fn next_command(commands: &mut Option<mpsc::Receiver<Command>>) -> Option<Command> {
    match commands {
        Some(receiver) => receiver.recv().await,
        None => std::future::pending().await,
    }
}

/// Runs `work` unless `shutdown` comes first; true when it did. A plan may wait a long time
/// (a dependency that is slow to turn healthy), and `down` must not wait for it: the plan is
/// dropped, its waits with it, and the engine calls that change something are let end (for
/// at most `SETTLE_ON_SHUTDOWN`), so that `down` sees everything the plan made.
async fn interrupted(
    shutdown: std::pin::Pin<&mut impl std::future::Future<Output = ()>>,
    work: impl std::future::Future<Output = ()>,
) -> bool {
    let stopped = tokio::select! {
        () = shutdown => true,
        () = work => false,
    };
    if stopped && !execute::settle_changes(SETTLE_ON_SHUTDOWN).await {
        eprintln!(
            "supervisor: engine calls still under way after {SETTLE_ON_SHUTDOWN:?}; stopping anyway"
        );
    }
    stopped
}

fn now() -> Millis {
    Millis::from_system_time(SystemTime::now())
}

impl Supervisor {
    /// A supervisor for `desired`, adopting the restart history kept in the state directory.
    pub fn new(runtime: Arc<dyn ContainerEngine>, desired: Desired) -> Supervisor {
        let state = StateDir::of(&desired.project);
        let book = state.load_book();
        Supervisor {
            runtime,
            desired,
            standing: None,
            awaiting_request: false,
            watch_switch: None,
            state,
            book,
            drifted: HashSet::new(),
            ours: HashSet::new(),
            starting: HashSet::new(),
            engine_restarting: HashMap::new(),
            wake_at: None,
            dns: None,
            settled: None,
        }
    }

    /// Says in the state directory that this process supervises the project (`ps` shows it,
    /// and another `up` sends its request here instead of starting a supervisor).
    pub fn write_pid(&self) {
        let started = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        if let Err(err) = self.state.write_pid(started) {
            eprintln!("supervisor: cannot write its pid file: {err}");
        }
    }

    /// A detached supervisor: it converges on `request` and takes later ones from its socket.
    pub fn with_standing(mut self, request: UpRequest) -> Supervisor {
        self.standing = Some(request);
        self
    }

    /// The first thing this supervisor does is the request of the `up` that started it (or,
    /// should none come within `FIRST_REQUEST`, its own reconcile), so that `up` prints the
    /// progress of its own converge.
    pub fn awaiting_request(mut self) -> Supervisor {
        self.awaiting_request = true;
        self
    }

    /// Runs until `shutdown` completes, taking requests from `commands` when there are any.
    pub async fn run(
        mut self,
        shutdown: impl std::future::Future<Output = ()>,
        mut commands: Option<mpsc::Receiver<Command>>,
    ) {
        tokio::pin!(shutdown);
        self.write_pid();
        let mut retry = Duration::from_millis(100);
        'supervise: loop {
            // Subscribe first, then resync: nothing that happens in between is lost.
            let mut events = match self.runtime.events(&self.desired.project).await {
                Ok(events) => {
                    retry = Duration::from_millis(100);
                    events
                }
                Err(err) => {
                    eprintln!(
                        "supervisor: engine events unavailable ({err}); retrying in {retry:?}"
                    );
                    tokio::select! {
                        _ = &mut shutdown => break,
                        _ = tokio::time::sleep(retry) => {}
                    }
                    retry = (retry * 2).min(Duration::from_secs(5));
                    continue;
                }
            };
            let resync = async {
                match (
                    std::mem::take(&mut self.awaiting_request),
                    commands.as_mut(),
                ) {
                    (true, Some(receiver)) => {
                        match tokio::time::timeout(FIRST_REQUEST, receiver.recv()).await {
                            Ok(Some(command)) => self.command(command).await,
                            _ => self.reconcile().await,
                        }
                    }
                    _ => self.reconcile().await,
                }
            };
            if interrupted(shutdown.as_mut(), resync).await {
                break 'supervise;
            }
            loop {
                let wake = self.sleep_time();
                let dirty;
                tokio::select! {
                    _ = &mut shutdown => break 'supervise,
                    event = events.next() => match event {
                        Some(Ok(event)) => dirty = self.note(event),
                        // The stream ended: reopen it and resync.
                        Some(Err(_)) | None => break,
                    },
                    _ = tokio::time::sleep(wake) => dirty = true,
                    Some(command) = next_command(&mut commands) => {
                        if interrupted(shutdown.as_mut(), self.command(command)).await {
                            break 'supervise;
                        }
                        continue;
                    }
                }
                if dirty {
                    // Let the rest of a burst (kill, die, stop) arrive before planning.
                    let settle = tokio::time::sleep(SETTLE);
                    tokio::pin!(settle);
                    loop {
                        tokio::select! {
                            _ = &mut settle => break,
                            event = events.next() => match event {
                                Some(Ok(event)) => { self.note(event); }
                                _ => break,
                            },
                        }
                    }
                    if interrupted(shutdown.as_mut(), self.reconcile()).await {
                        break 'supervise;
                    }
                }
            }
        }
        self.state.remove_pid();
    }

    /// Until the next backoff expires, or the next resync.
    fn sleep_time(&self) -> Duration {
        match self.wake_at {
            Some(at) => at.since(now()).min(RESYNC),
            None => RESYNC,
        }
    }

    /// Takes an engine event into account; true when it calls for a new plan.
    fn note(&mut self, event: EngineEvent) -> bool {
        tracing::debug!(?event.action, name = %event.name, "engine event");
        if event.kind != EventKind::Container {
            return matches!(event.action, EventAction::Destroy);
        }
        let (Some(service), Some(number)) = (event.service().map(str::to_string), event.number())
        else {
            return false;
        };
        let Some(desired) = self.desired.services.get(&service) else {
            return false;
        };
        let policy = desired.restart;
        let at = Millis(u64::try_from(event.time_nanos / 1_000_000).unwrap_or(0));
        let ours = self.ours.contains(&event.id);
        match event.action {
            EventAction::Die { .. } if !ours && self.state.user_stopped().contains(&service) => {
                self.book.slot(&service, number).record_user_stop();
                eprintln!("{} stopped by the user", event.name);
                true
            }
            EventAction::Die { exit_code }
                if !ours && desired.container.restart.restarts_exits() =>
            {
                let exit = Exit::Code(exit_code.unwrap_or(0));
                eprintln!(
                    "{} exited ({exit}): left to the engine's restart policy ({})",
                    event.name,
                    desired.container.restart.name()
                );
                self.engine_restarting.insert((service, number), at);
                true
            }
            EventAction::Die { exit_code } if !ours => {
                let exit = Exit::Code(exit_code.unwrap_or(0));
                let slot = self.book.slot(&service, number);
                let decision = slot.record_exit(&policy, at, exit);
                eprintln!(
                    "{} exited ({exit}): {}",
                    event.name,
                    describe(&decision, at)
                );
                true
            }
            EventAction::HealthStatus(Health::Unhealthy) if !ours => {
                let slot = self.book.slot(&service, number);
                let decision = slot.record_exit(&policy, at, Exit::Unhealthy);
                eprintln!("{} is unhealthy: {}", event.name, describe(&decision, at));
                true
            }
            // The engine does not restart what its API killed (`docker kill`): under an engine
            // policy, that replica is left down, and it is drift. (A signal that does not end
            // the process marks nothing that matters: only a replica that is down is started.)
            EventAction::Kill { .. }
                if !ours
                    && desired.container.restart.restarts_exits()
                    && !self.state.user_stopped().contains(&service) =>
            {
                self.drifted.insert((service, number));
                false
            }
            EventAction::Stop if !ours => {
                if self.state.user_stopped().contains(&service) {
                    self.book.slot(&service, number).record_user_stop();
                } else {
                    eprintln!(
                        "{} was stopped behind wharf's back: starting it again",
                        event.name
                    );
                    self.drifted.insert((service, number));
                }
                true
            }
            EventAction::Start => {
                // A start the supervisor did not make is the engine's restart when it follows an
                // exit under an engine policy, and otherwise a user start (`wharf start`,
                // `docker start`): the slot gets a fresh count.
                let engine_restart = self
                    .engine_restarting
                    .remove(&(service.clone(), number))
                    .is_some();
                if !self.starting.remove(&event.id) && !self.state.user_stopped().contains(&service)
                {
                    let slot = self.book.slot(&service, number);
                    match engine_restart {
                        true => slot.record_engine_restart(at),
                        false => slot.record_start(at),
                    }
                }
                // A plan saves the history with the engine's restart in it.
                engine_restart || self.dns.is_some()
            }
            EventAction::Destroy => {
                self.ours.remove(&event.id);
                true
            }
            // The last event of a stop the supervisor made: what follows is not its doing.
            EventAction::Stop => {
                self.ours.remove(&event.id);
                false
            }
            EventAction::HealthStatus(_) => self.dns.is_some(),
            _ => false,
        }
    }

    /// Runs one request of the control socket, replying as it goes.
    async fn command(&mut self, command: Command) {
        let Command { request, replies } = command;
        let sink = Replies(&replies);
        let error = match request {
            Request::Up(request) => self.up(&request, &sink).await.err(),
            Request::Watch(watch) => self.set_watch(watch).err(),
        };
        let _ = replies.send(Reply::Done { error });
    }

    /// `up`: load the project, build what is missing, converge with the request's flags, and
    /// from then on keep the new project converged. The loader's warnings are not reported:
    /// the `up` that asked printed them when it checked the files.
    pub async fn up(&mut self, request: &UpRequest, sink: &dyn Sink) -> Result<(), String> {
        let prepared = request.prepare().map_err(|err| err.to_string())?;
        let standing = request.standing(self.standing.as_ref());
        // Kept before acting: a supervisor restarted in the middle finishes this request.
        if let Err(err) = self.state.save_request(&standing) {
            eprintln!("supervisor: cannot save the request: {err}");
        }
        self.standing = Some(standing);
        self.tell_watcher();
        self.run_plan(&prepared.images, sink).await?;
        let options = request.reconcile_options();
        self.desired = match self
            .prepare_discovery(&prepared.desired, &options, sink)
            .await?
        {
            Discovery::WharfDns => prepared.desired,
            aliases => request.desired(&prepared.project, aliases),
        };
        self.converge(options, sink).await
    }

    /// A supervisor that starts on a project that is up already (its keeper restarted it):
    /// its DNS listens again before it plans anything.
    pub async fn resume(&mut self, request: &UpRequest, project: &Project) {
        let desired = self.desired.clone();
        let options = self.standing_options();
        match self.prepare_discovery(&desired, &options, &Log).await {
            Ok(Discovery::WharfDns) => {}
            Ok(aliases) => self.desired = request.desired(project, aliases),
            Err(err) => eprintln!("supervisor: {err}"),
        }
    }

    /// `watch --stop` (or an `up -d --watch` on a project that was not watched): kept in the
    /// standing request, and passed to whoever runs the watcher beside this supervisor.
    fn set_watch(&mut self, watch: bool) -> Result<(), String> {
        let Some(standing) = self.standing.as_mut() else {
            return Err(
                "this supervisor serves an attached `up`; its watching ends with it".into(),
            );
        };
        standing.watch = watch;
        if let Err(err) = self.state.save_request(standing) {
            eprintln!("supervisor: cannot save the request: {err}");
        }
        self.tell_watcher();
        Ok(())
    }

    /// Where the standing request's `watch` goes when it changes.
    /// Reports the services that are down for good after every plan.
    pub fn with_settled(
        mut self,
        settled: tokio::sync::watch::Sender<BTreeSet<String>>,
    ) -> Supervisor {
        self.settled = Some(settled);
        self
    }

    pub fn with_watch_switch(mut self, switch: tokio::sync::watch::Sender<bool>) -> Supervisor {
        self.watch_switch = Some(switch);
        self
    }

    fn tell_watcher(&self) {
        if let (Some(switch), Some(standing)) = (&self.watch_switch, &self.standing) {
            switch.send_if_modified(|watching| {
                std::mem::replace(watching, standing.watch) != standing.watch
            });
        }
    }

    /// What the supervisor converges on by itself: every service, or those `up` named. It
    /// never replaces a replica because its config differs from the files: only an `up` (or
    /// `watch`) applies a change. A supervisor restarted by its keeper reads the files again,
    /// and an edit made since the last `up` must not reach the engine that way.
    fn standing_options(&self) -> ReconcileOptions {
        let options = self
            .standing
            .as_ref()
            .map(UpRequest::reconcile_options)
            .unwrap_or_default();
        ReconcileOptions {
            no_recreate: true,
            ..options
        }
    }

    /// A plan made outside `converge` (builds), run with the same reporting.
    async fn run_plan(&self, plan: &Plan, sink: &dyn Sink) -> Result<(), String> {
        if plan.operations.is_empty() {
            return Ok(());
        }
        sink.plan(plan.operations.len());
        let result = execute::run(
            plan,
            self.runtime.clone(),
            &ExecuteOptions::new(&self.desired.project),
            &|op, event| sink.event(op, event),
        )
        .await;
        first_failure(&result)
    }

    /// Observe, plan and execute on the supervisor's own triggers; failures are in the log.
    async fn reconcile(&mut self) {
        let options = self.standing_options();
        let _ = self.converge(options, &Log).await;
    }

    /// Observe, plan, execute, and record what the restart policy did. A plan that failed only
    /// because the engine changed under it (another process created or removed a container
    /// meanwhile) is made again from a new observation, up to `STALE_RETRIES` times.
    async fn converge(&mut self, options: ReconcileOptions, sink: &dyn Sink) -> Result<(), String> {
        let mut retries = 0;
        loop {
            match self.converge_once(options.clone(), sink).await {
                Err(failure) if failure.stale && retries < STALE_RETRIES => {
                    retries += 1;
                    sink.warning(&format!(
                        "the engine changed while the plan ran ({}); planning again",
                        failure.message
                    ));
                }
                outcome => return outcome.map_err(|failure| failure.message),
            }
        }
    }

    async fn converge_once(
        &mut self,
        options: ReconcileOptions,
        sink: &dyn Sink,
    ) -> Result<(), ConvergeFailure> {
        let project = self.desired.project.clone();
        let mut observed =
            match observe::observe(self.runtime.as_ref(), &project, Some(&self.desired)).await {
                Ok(observed) => observed,
                Err(err) => {
                    let message = format!("cannot observe the engine: {err}");
                    eprintln!("supervisor: {message}");
                    self.wake_at = Some(now().plus(Duration::from_secs(1)));
                    return Err(message.into());
                }
            };
        for (name, service) in &self.desired.services {
            for c in observed.services.get(name).into_iter().flatten() {
                self.book
                    .slot(name, c.number)
                    .observe_config(&service.config_hash);
            }
        }
        self.trust_recorded_exits(&mut observed);
        let user_stopped: HashSet<String> = self.state.user_stopped().into_iter().collect();
        let options = ReconcileOptions {
            supervision: Some(Supervision {
                book: self.book.clone(),
                now: now(),
                drifted: self.drifted.clone(),
                user_stopped,
            }),
            ..options
        };
        if let (Some(settled), Some(supervision)) = (&self.settled, &options.supervision) {
            settled.send_if_modified(|services| {
                let now = supervision.settled(&self.desired, &observed);
                let changed = *services != now;
                *services = now;
                changed
            });
        }
        let plan = match plan::reconcile(&self.desired, &observed, &options) {
            Ok(plan) => plan,
            Err(err) => {
                eprintln!("supervisor: {err}");
                self.wake_at = Some(now().plus(RESYNC));
                return Err(err.to_string().into());
            }
        };
        tracing::debug!(wake_at = ?plan.wake_at, "supervisor plan:\n{plan}");
        for warning in &plan.warnings {
            sink.warning(warning);
        }
        if let Some(dns) = &mut self.dns {
            dns.publish(&self.desired, &observed).await;
        }
        self.wake_at = plan.wake_at;
        if self.lists_an_exit_as_running(&observed) {
            let soon = now().plus(LIST_LAG);
            self.wake_at = Some(self.wake_at.map_or(soon, |at| at.min(soon)));
        }
        if plan.operations.is_empty() {
            self.save();
            return Ok(());
        }
        for op in &plan.operations {
            match &op.action {
                Action::StopContainer { container, .. }
                | Action::RemoveContainer { container, .. } => {
                    self.ours.extend(container.id.clone());
                }
                Action::StartContainer { container, .. } => {
                    self.starting.extend(container.id.clone());
                }
                _ => {}
            }
        }
        sink.plan(plan.operations.len());
        let execute_options = ExecuteOptions::new(&project);
        let view = self
            .dns
            .as_ref()
            .map(|dns| PlanView::new(dns, &self.desired, observed.clone()));
        let progress = |op: &Operation, event: &Event| {
            if let (Some(view), Event::Started(_)) = (&view, event) {
                view.operation_started(op);
            }
            sink.event(op, event)
        };
        let execution = execute::run(&plan, self.runtime.clone(), &execute_options, &progress);
        let report = match &view {
            Some(view) => {
                let runtime = self.runtime.as_ref();
                discovery::publishing(view, runtime, &self.desired, execution).await
            }
            None => execution.await,
        };
        let failed: HashSet<usize> = report
            .failures
            .iter()
            .map(|f| f.operation)
            .chain(report.skipped.iter().copied())
            .collect();
        let at = now();
        for op in plan.operations.iter().filter(|op| !failed.contains(&op.id)) {
            let Action::StartContainer { service, container } = &op.action else {
                continue;
            };
            let Some(number) = observed
                .services
                .get(service)
                .into_iter()
                .flatten()
                .find(|c| c.name == container.name || Some(&c.id) == container.id.as_ref())
                .map(|c| c.number)
            else {
                continue;
            };
            let policy = self.desired.services[service].restart;
            let slot = self.book.slot(service, number);
            match op.cause {
                Cause::RestartPolicy { .. } | Cause::Unhealthy { .. } => {
                    slot.record_restart(&policy, at)
                }
                _ => slot.record_start(at),
            }
            self.drifted.remove(&(service.clone(), number));
            self.engine_restarting.remove(&(service.clone(), number));
            eprintln!("{} started ({})", container.name, op.cause);
        }
        self.save();
        match report.failures.first() {
            Some(first) => Err(ConvergeFailure {
                message: first.message.clone(),
                stale: report.failures.iter().all(|f| f.stale),
            }),
            None => Ok(()),
        }
    }

    /// The engine lists a container as running until it has cleaned up after its exit, tens of
    /// milliseconds after the `die` event the history recorded. Such a replica is taken as
    /// exited: the plan restarts it at once, and the engine serves the start after its cleanup
    /// (both hold the container's lock), instead of a second observe later. One still listed as
    /// running long after its recorded exit was started by someone else meanwhile (the `up`
    /// that launched this supervisor, before it subscribed): a user start.
    fn trust_recorded_exits(&mut self, observed: &mut observe::Observed) {
        let at = now();
        for c in observed.services.values_mut().flatten() {
            let Some(slot) = self.book.get_mut(&c.service, c.number) else {
                continue;
            };
            // An unhealthy replica is really still running: its restart stops it first.
            let Some(&Ended {
                at: exited,
                exit: Exit::Code(code),
                ..
            }) = slot.ended.as_ref()
            else {
                continue;
            };
            if !c.is_running() {
                continue;
            }
            if at.since(exited) > STALE_LIMIT {
                slot.record_start(at);
            } else {
                c.state = ContainerState::Exited;
                c.exit_code = Some(code);
            }
        }
    }

    /// Whether the engine still lists as running a replica whose `die` under an engine policy
    /// came less than `STALE_LIMIT` ago. Its list lags behind its events, and the plan could not
    /// tell a replica the engine will restart (`restarting`) from one it will not (`exited`,
    /// after a `docker kill`): observe again `LIST_LAG` later.
    fn lists_an_exit_as_running(&self, observed: &observe::Observed) -> bool {
        let at = now();
        observed.services.values().flatten().any(|c| {
            c.state == ContainerState::Running
                && self
                    .engine_restarting
                    .get(&(c.service.clone(), c.number))
                    .is_some_and(|died| at.since(*died) <= STALE_LIMIT)
        })
    }

    fn save(&self) {
        if let Err(err) = self.state.save_book(&self.book) {
            eprintln!("supervisor: cannot save the restart history: {err}");
        }
    }
}
