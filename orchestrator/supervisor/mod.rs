//! The supervisor keeps a project converged while it runs: engine events, a periodic resync and
//! restart backoffs trigger a new plan, made by the same pure `plan::reconcile` with the restart
//! history as one more input. One plan at a time, so a service is never reconciled twice at
//! once; a lost event stream is reopened and followed by a full resync. A detached supervisor
//! also takes `up` requests from its control socket, and runs them in the same loop.

mod burst;
pub mod clock;
pub mod control;
mod converge;
mod discovery;
pub mod error;
mod facts;
pub mod keeper;
pub mod request;
mod sink;
pub mod state;
#[cfg(test)]
mod tests;
mod triggers;
pub mod watcher;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::mpsc;
use tokio::time::Instant;
use tracing::Instrument;

use crate::converge::Reporter;
use crate::desired::{Desired, Discovery};
use crate::dns::Dns;
use crate::engine::ContainerEngine;
use crate::execute;
use crate::observe::Listing;
use crate::plan::ReconcileOptions;
use crate::restart::{Millis, RestartBook};
use crate::spec::Project;
use burst::Burst;
use clock::{Clock, SystemClock};
use control::{Command, Reply, Request};
pub use error::SupervisorError;
use request::UpRequest;
use sink::{Log, Replies};
use state::StateDir;
use triggers::{Target, Triggers};
use watcher::{EngineEvents, Notice};

/// How often the supervisor resyncs even when no event arrives.
const RESYNC: Duration = Duration::from_secs(5);
/// How long a supervisor started by `up` waits for that `up`'s request.
const FIRST_REQUEST: Duration = Duration::from_secs(10);
/// How long a supervisor told to stop lets its engine calls end; under `down`'s own wait for
/// it (its timeout plus 20 s).
const SETTLE_ON_SHUTDOWN: Duration = Duration::from_secs(15);

pub struct Supervisor {
    runtime: Arc<dyn ContainerEngine>,
    /// The project's events, shared with whoever else follows them in this process.
    events: EngineEvents,
    clock: Arc<dyn Clock>,
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
    /// The replicas killed whose `die` a burst waits for.
    burst: Burst,
    /// The earliest restart whose backoff has not ended, as of the last plan.
    wake_at: Option<Millis>,
    triggers: Triggers,
    /// wharf's DNS, given a new table after every observe.
    dns: Option<Dns>,
    /// Told, after every plan, which services are down for good (`Supervision::settled`).
    settled: Option<tokio::sync::watch::Sender<BTreeSet<String>>>,
}

/// The engine's listings for `project`, as a task of their own.
async fn listing(
    runtime: Arc<dyn ContainerEngine>,
    project: String,
) -> Result<Listing, crate::engine::EngineError> {
    Listing::read(runtime.as_ref(), &project).await
}

/// The next request of the control socket; never, for a supervisor without one.
async fn next_command(commands: &mut Option<mpsc::Receiver<Command>>) -> Option<Command> {
    match commands {
        Some(receiver) => receiver.recv().await,
        None => std::future::pending().await,
    }
}

/// Until `at`; never when there is nothing to wait for.
async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
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
        tracing::warn!(
            "supervisor: engine calls still under way after {SETTLE_ON_SHUTDOWN:?}; stopping anyway"
        );
    }
    stopped
}

impl Supervisor {
    /// A supervisor for `desired`, following `events`, adopting the restart history kept in
    /// the state directory.
    pub fn new(
        runtime: Arc<dyn ContainerEngine>,
        desired: Desired,
        events: EngineEvents,
    ) -> Supervisor {
        let state = StateDir::of(&desired.project);
        let book = state.load_book();
        Supervisor {
            runtime,
            events,
            clock: Arc::new(SystemClock),
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
            burst: Burst::default(),
            wake_at: None,
            triggers: Triggers::default(),
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
            tracing::error!(%err, "supervisor: cannot write its pid file");
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

    /// The project's events, for whoever else follows them beside this supervisor.
    pub fn events(&self) -> &EngineEvents {
        &self.events
    }

    /// Runs until `shutdown` completes, taking requests from `commands` when there are any.
    /// Triggers (events, restart backoffs, the resync, retries of failed plans) are queued per
    /// service and served one reconcile at a time, so a service is never in two plans at once.
    pub async fn run(
        mut self,
        shutdown: impl std::future::Future<Output = ()>,
        mut commands: Option<mpsc::Receiver<Command>>,
    ) {
        tokio::pin!(shutdown);
        self.write_pid();
        // Subscribed first, then resync: nothing that happens in between is lost. Without a
        // stream, the resync waits for the `Relist` that comes with one.
        let mut events = self.events.subscribe();
        if self.events.is_connected() {
            self.triggers.schedule(Target::Project, Instant::now());
        }
        loop {
            let due = self.triggers.next_due();
            tokio::select! {
                () = &mut shutdown => break,
                notice = events.next() => self.take_notice(notice),
                () = sleep_until(due) => {
                    if interrupted(shutdown.as_mut(), self.reconcile_due(&mut commands)).await {
                        break;
                    }
                }
                Some(command) = next_command(&mut commands) => {
                    if interrupted(shutdown.as_mut(), self.command(command)).await {
                        break;
                    }
                }
            }
        }
        self.state.remove_pid();
    }

    fn take_notice(&mut self, notice: Notice) {
        match notice {
            Notice::Event(event) => {
                if let Some(target) = self.note(event) {
                    // Let the rest of a burst (kill, die, stop) arrive before planning.
                    let at = self.burst.settled_at(Instant::now());
                    self.triggers.schedule(target, at);
                }
            }
            // A new stream: the engine answers again, and what it did meanwhile is in no event.
            Notice::Relist => {
                self.burst.forget();
                self.triggers.succeeded(&Target::Project);
                self.triggers.schedule(Target::Project, Instant::now());
            }
            Notice::Unavailable { reason, retry } => {
                tracing::warn!("engine events unavailable ({reason}); retrying in {retry:?}")
            }
        }
    }

    /// Serves the triggers that are due with one reconcile. The very first may be the request
    /// of the `up` that started this supervisor instead.
    async fn reconcile_due(&mut self, commands: &mut Option<mpsc::Receiver<Command>>) {
        let now = Instant::now();
        let due = self.triggers.take_due(now);
        if std::mem::take(&mut self.awaiting_request)
            && let Some(receiver) = commands.as_mut()
            && let Ok(Some(command)) = tokio::time::timeout(FIRST_REQUEST, receiver.recv()).await
        {
            return self.command(command).await;
        }
        let held = self.triggers.held(now);
        let span = tracing::info_span!(
            "reconcile",
            project = due.project,
            services = ?due.services,
            held = ?held,
        );
        let result = self
            .converge(self.standing_options(), &Log, &held)
            .instrument(span)
            .await;
        self.schedule_resync();
        self.count_outcome(result, &held);
    }

    /// Failed services are retried later and held out of plans until then; the others start
    /// their delays again.
    fn count_outcome(&mut self, result: Result<(), SupervisorError>, held: &BTreeSet<String>) {
        let now = Instant::now();
        let failed = match result {
            Ok(()) => BTreeSet::new(),
            Err(SupervisorError::Failed { services, .. }) if !services.is_empty() => services,
            Err(err) => {
                // The operations were logged as they failed; the rest is the project's.
                if !matches!(err, SupervisorError::Failed { .. }) {
                    tracing::error!(%err, "supervisor");
                }
                let delay = self.triggers.failed(Target::Project, now);
                tracing::debug!(?delay, "project retried");
                return;
            }
        };
        self.triggers.succeeded(&Target::Project);
        for service in self.desired.services.keys() {
            let target = Target::Service(service.clone());
            if failed.contains(service) {
                let delay = self.triggers.failed(target, now);
                tracing::debug!(%service, ?delay, "service retried");
            } else if !held.contains(service) {
                self.triggers.succeeded(&target);
            }
        }
    }

    /// The next resync: after `RESYNC`, or when the next restart's backoff ends.
    fn schedule_resync(&mut self) {
        let now = Instant::now();
        let resync = now + RESYNC;
        let at = match self.wake_at {
            Some(wake) => resync.min(now + wake.since(self.clock.now())),
            None => resync,
        };
        self.triggers.reschedule_project(at);
    }

    /// Runs one request of the control socket, replying as it goes.
    async fn command(&mut self, command: Command) {
        // The request awaited came (the loop may take it before its first reconcile).
        self.awaiting_request = false;
        let Command { request, replies } = command;
        let sink = Replies(&replies);
        let error = match request {
            Request::Up(request) => {
                let span = tracing::info_span!("request", services = ?request.services);
                self.up(&request, &sink).instrument(span).await.err()
            }
            Request::Watch(watch) => self.set_watch(watch).err(),
        };
        if let Some(err) = &error {
            tracing::debug!(%err, "request failed");
        }
        let _ = replies.send(Reply::Done {
            error: error.map(|err| err.to_string()),
        });
        self.schedule_resync();
    }

    /// `up`: load the project, build what is missing, converge with the request's flags, and
    /// from then on keep the new project converged. The loader's warnings are not reported:
    /// the `up` that asked printed them when it checked the files.
    pub async fn up(
        &mut self,
        request: &UpRequest,
        sink: &dyn Reporter,
    ) -> Result<(), SupervisorError> {
        // An unchanged `up` is mostly loading the files and listing the engine's objects, and
        // the listings do not depend on the files: they are read meanwhile.
        let listing = tokio::spawn(listing(self.runtime.clone(), self.desired.project.clone()));
        let prepared = request.prepare().map_err(SupervisorError::Prepare)?;
        let standing = request.standing(self.standing.as_ref());
        // Kept before acting: a supervisor restarted in the middle finishes this request, and
        // one that cannot be kept is refused, or a supervisor started again would undo it.
        self.state
            .save_request(&standing)
            .map_err(SupervisorError::Unsaved)?;
        self.standing = Some(standing);
        self.tell_watcher();
        self.run_plan(&prepared.images, sink).await?;
        // A build or pull took its time: the listings are read again after it.
        let listing = match prepared.images.operations.is_empty() {
            true => listing.await.ok().and_then(Result::ok),
            false => None,
        };
        let options = request.reconcile_options();
        let (discovery, observed) = self
            .prepare_discovery(&prepared.desired, listing, &options, sink)
            .await?;
        // The engine was observed for the same desired state a moment ago: the plan starts
        // from that (half of an unchanged `up`'s engine calls). Aliases change the desired
        // containers: observed again for them.
        let (desired, observed) = match discovery {
            Discovery::WharfDns => (prepared.desired, Some(observed)),
            aliases => (request.desired(&prepared.project, aliases), None),
        };
        self.desired = desired;
        self.converge_from(observed, options, sink, &BTreeSet::new())
            .await
    }

    /// A supervisor that starts on a project that is up already (its keeper restarted it):
    /// its DNS listens again before it plans anything.
    pub async fn resume(&mut self, request: &UpRequest, project: &Project) {
        let desired = self.desired.clone();
        let options = self.standing_options();
        match self.prepare_discovery(&desired, None, &options, &Log).await {
            Ok((Discovery::WharfDns, _)) => {}
            Ok((aliases, _)) => self.desired = request.desired(project, aliases),
            Err(err) => tracing::error!(%err, "supervisor: cannot resume its DNS"),
        }
    }

    /// `watch --stop` (or an `up -d --watch` on a project that was not watched): kept in the
    /// standing request, and passed to whoever runs the watcher beside this supervisor.
    fn set_watch(&mut self, watch: bool) -> Result<(), SupervisorError> {
        let Some(standing) = self.standing.as_mut() else {
            return Err(SupervisorError::WatchOfAttached);
        };
        standing.watch = watch;
        if let Err(err) = self.state.save_request(standing) {
            tracing::error!(%err, "supervisor: cannot save the request");
        }
        self.tell_watcher();
        Ok(())
    }

    /// Reports the services that are down for good after every plan.
    pub fn with_settled(
        mut self,
        settled: tokio::sync::watch::Sender<BTreeSet<String>>,
    ) -> Supervisor {
        self.settled = Some(settled);
        self
    }

    /// Where the standing request's `watch` goes when it changes.
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
}
