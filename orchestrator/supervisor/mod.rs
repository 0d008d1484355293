//! The supervisor keeps a project converged while it runs: engine events, a periodic resync and
//! restart backoffs trigger a new plan, made by the same pure `plan::reconcile` with the restart
//! history as one more input. One plan at a time, so a service is never reconciled twice at
//! once; a lost event stream is reopened and followed by a full resync.

pub mod state;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures_util::StreamExt;

use crate::desired::Desired;
use crate::dns::Dns;
use crate::execute::{self, Event, ExecuteOptions};
use crate::observe;
use crate::plan::{self, Action, Cause, ReconcileOptions, Supervision};
use crate::restart::{self, Exit, Millis, RestartBook};
use crate::runtime::{EngineEvent, EventAction, EventKind, Health, Runtime};
use state::StateDir;

/// How often the supervisor resyncs even when no event arrives.
const RESYNC: Duration = Duration::from_secs(5);
/// How soon to look again when the engine's list lags behind its events.
const RECHECK: Duration = Duration::from_millis(50);
/// How long a burst of events is gathered before a plan is made.
const SETTLE: Duration = Duration::from_millis(30);

pub struct Supervisor {
    runtime: Arc<dyn Runtime>,
    desired: Desired,
    state: StateDir,
    book: RestartBook,
    drifted: HashSet<(String, u32)>,
    /// Containers this supervisor is stopping or removing: their events are its own doing.
    ours: HashSet<String>,
    /// Containers this supervisor is starting: their `start` events are its own doing.
    starting: HashSet<String>,
    wake_at: Option<Millis>,
    /// Since when the engine has listed as running a replica the history says is down.
    stale_since: Option<Millis>,
    /// wharf's DNS, given a new table after every observe.
    dns: Option<Dns>,
}

/// How long a running replica may contradict a recorded exit before it counts as started.
const STALE_LIMIT: Duration = Duration::from_secs(1);

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

fn now() -> Millis {
    Millis::from_system_time(SystemTime::now())
}

impl Supervisor {
    /// A supervisor for `desired`, adopting the restart history kept in the state directory.
    pub fn new(runtime: Arc<dyn Runtime>, desired: Desired) -> Supervisor {
        let state = StateDir::of(&desired.project);
        let book = state.load_book();
        Supervisor {
            runtime,
            desired,
            state,
            book,
            drifted: HashSet::new(),
            ours: HashSet::new(),
            starting: HashSet::new(),
            wake_at: None,
            stale_since: None,
            dns: None,
        }
    }

    /// Publishes what it observes to wharf's DNS, and observes again on every start and
    /// health change, so that answers follow the engine within a second.
    pub fn with_dns(mut self, dns: Option<Dns>) -> Supervisor {
        self.dns = dns;
        self
    }

    /// Runs until `shutdown` completes.
    pub async fn run(mut self, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        let started = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        if let Err(err) = self.state.write_pid(started) {
            eprintln!("supervisor: cannot write its pid file: {err}");
        }
        let mut retry = Duration::from_millis(100);
        loop {
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
            self.reconcile().await;
            loop {
                let wake = self.sleep_time();
                let dirty;
                tokio::select! {
                    _ = &mut shutdown => {
                        self.state.remove_pid();
                        return;
                    }
                    event = events.next() => match event {
                        Some(Ok(event)) => dirty = self.note(event),
                        // The stream ended: reopen it and resync.
                        Some(Err(_)) | None => break,
                    },
                    _ = tokio::time::sleep(wake) => dirty = true,
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
                    self.reconcile().await;
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
                // A start the supervisor did not make (`wharf start`, `docker start`) is a user
                // start: the slot gets a fresh count.
                if !self.starting.remove(&event.id) && !self.state.user_stopped().contains(&service)
                {
                    self.book.slot(&service, number).record_start(at);
                }
                self.dns.is_some()
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

    /// Observe, plan, execute, and record what the restart policy did.
    async fn reconcile(&mut self) {
        let project = self.desired.project.clone();
        let observed =
            match observe::observe(self.runtime.as_ref(), &project, Some(&self.desired)).await {
                Ok(observed) => observed,
                Err(err) => {
                    eprintln!("supervisor: cannot observe the engine: {err}");
                    self.wake_at = Some(now().plus(Duration::from_secs(1)));
                    return;
                }
            };
        for (name, service) in &self.desired.services {
            for c in observed.services.get(name).into_iter().flatten() {
                self.book
                    .slot(name, c.number)
                    .observe_config(&service.config_hash);
            }
        }
        let user_stopped: HashSet<String> = self.state.user_stopped().into_iter().collect();
        let options = ReconcileOptions {
            supervision: Some(Supervision {
                book: self.book.clone(),
                now: now(),
                drifted: self.drifted.clone(),
                user_stopped,
            }),
            ..ReconcileOptions::default()
        };
        let plan = match plan::reconcile(&self.desired, &observed, &options) {
            Ok(plan) => plan,
            Err(err) => {
                eprintln!("supervisor: {err}");
                self.wake_at = Some(now().plus(RESYNC));
                return;
            }
        };
        tracing::debug!(wake_at = ?plan.wake_at, "supervisor plan:\n{plan}");
        if let Some(dns) = &mut self.dns {
            dns.publish(&self.desired, &observed, &plan).await;
        }
        self.wake_at = plan.wake_at;
        // The engine lists a container as running for a moment after its `die` event: when the
        // history says a replica is down but the engine does not yet, look again shortly.
        let stale: Vec<(String, u32)> = observed
            .containers()
            .filter(|c| c.is_running())
            .filter(|c| {
                self.book
                    .get(&c.service, c.number)
                    .is_some_and(|s| s.is_down())
            })
            .map(|c| (c.service.clone(), c.number))
            .collect();
        let at = now();
        match (stale.is_empty(), self.stale_since) {
            (true, _) => self.stale_since = None,
            // Still running long after the recorded exit: someone started it before this
            // supervisor subscribed (the `up` that launched it): a user start.
            (false, Some(since)) if at.since(since) > STALE_LIMIT => {
                for (service, number) in &stale {
                    self.book.slot(service, *number).record_start(at);
                }
                self.stale_since = None;
            }
            (false, since) => {
                self.stale_since = since.or(Some(at));
                let soon = at.plus(RECHECK);
                self.wake_at = Some(self.wake_at.map_or(soon, |w| w.min(soon)));
            }
        }
        if plan.operations.is_empty() {
            self.save();
            return;
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
        let report = execute::run(
            &plan,
            self.runtime.clone(),
            &ExecuteOptions::new(&project),
            &|op, event| {
                if let Event::Failed(_, message) = event {
                    eprintln!("supervisor: {}: {message}", op.action);
                }
            },
        )
        .await;
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
            eprintln!("{} started ({})", container.name, op.cause);
        }
        self.save();
    }

    fn save(&self) {
        if let Err(err) = self.state.save_book(&self.book) {
            eprintln!("supervisor: cannot save the restart history: {err}");
        }
    }
}
