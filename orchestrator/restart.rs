//! Restart policies: which policy a service asks for, what has happened to each replica slot,
//! and whether (and when) the supervisor restarts it. Pure: no I/O and no clock — every time is
//! a [`Millis`] value passed in, so every rule is tested without an engine or a sleep.
//!
//! The flow the supervisor follows, per (service, replica number):
//!
//! 1. a container is created or started by a user action (`up`, `start`, `restart`, a
//!    recreate): [`SlotState::record_start`] — the slot gets a fresh count;
//! 2. it exits (engine `die` event, with the engine's `FinishedAt` as the time) or turns
//!    unhealthy: [`SlotState::record_exit`], which returns the [`RestartDecision`] taken at that moment;
//! 3. `plan::reconcile` asks [`decide_restart`] (pure, `&SlotState`): `RestartNow`, `RestartAt(t)` (the
//!    backoff has not elapsed: requeue at `t`), `GiveUp` or `Leave` (stopped by the user);
//! 4. after the supervisor restarted it because of the policy: [`SlotState::record_restart`],
//!    which counts one attempt;
//! 5. when the service's config hash changes: [`SlotState::observe_config`], which resets the
//!    attempt count.
//!
//! The [`RestartBook`] holds every slot's state and is persisted (serde) in the supervisor's
//! state directory, so a restarted supervisor keeps the history that matters.
//!
//! Semantics (compose and swarm, with wharf's choices where they are silent):
//! - `deploy.restart_policy` takes precedence over `restart`, field by field: a field it leaves
//!   out falls back to what `restart` says; with neither, the condition is swarm's default `any`
//!   when `deploy.restart_policy` is present, and `no` otherwise (compose's default).
//! - `max_attempts` counts policy restarts (not the first run), as swarm does: with `max_attempts:
//!   3` a replica is restarted three times and the fourth exit gives up. Without a `window`,
//!   every attempt since the last user start or config change counts; with one, only those whose
//!   age at `now` is strictly less than `window` (swarm's sliding window). `0` means unlimited
//!   (as `on-failure:0` and swarm's `max_attempts: 0`).
//! - Giving up after an exit is latched in the slot (it survives a supervisor restart and a
//!   sliding window): only a user start, a recreate or a config change revives the slot. A
//!   container that is still running (an unhealthy report that is not acted on) latches nothing.
//! - Backoff between attempts: with a `delay`, every restart waits `delay`, doubled on each
//!   consecutive restart; without one (or zero), the first restart is immediate and the next
//!   ones wait 100 ms, doubled each time. Capped at 60 s (or at `delay` if that is longer); it
//!   goes back to the start when the container had run at least 10 s before exiting, and is
//!   measured from the exit, not from the decision. (The engine's own `--restart` waits 100 ms
//!   before the first restart too; a supervisor that sees the exit at once need not.)
//! - `unless-stopped` is `always`: every policy respects a user `stop` until `start`/`up`
//!   (the `stopped_by_user` flag), so the two only differ on engines wharf does not drive.
//! - An unhealthy container is a failure: it is restarted under `on-failure` too.

mod floor;

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::spec::model::{RestartCondition, Service};

pub use floor::EngineRestart;

/// Where the backoff starts when the policy has no `delay`.
pub const DEFAULT_BACKOFF: Duration = Duration::from_millis(100);
/// The longest wait between two attempts (unless `delay` itself is longer).
pub const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// A container that ran at least this long before exiting resets the backoff.
pub const RESET_AFTER: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------------------------
// time

/// An instant: milliseconds since the Unix epoch. Wall-clock time, so that a persisted state is
/// still meaningful after the supervisor restarts; a clock that steps back makes ages saturate
/// at zero (attempts look recent, backoffs look not elapsed), never panic.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Millis(pub u64);

impl Millis {
    /// The instant `time` (the caller reads the clock; this module never does). Before the epoch
    /// is zero.
    pub fn from_system_time(time: SystemTime) -> Millis {
        let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
        Millis(duration_ms(since))
    }

    /// `self + span`, saturating.
    pub fn plus(self, span: Duration) -> Millis {
        Millis(self.0.saturating_add(duration_ms(span)))
    }

    /// How long after `earlier` this is; zero if it is not after it.
    pub fn since(self, earlier: Millis) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }
}

/// A span in whole milliseconds, rounded up (a 500 µs delay is 1 ms, not none), saturating.
fn duration_ms(span: Duration) -> u64 {
    let ms = span.as_nanos().div_ceil(1_000_000);
    u64::try_from(ms).unwrap_or(u64::MAX)
}

// ---------------------------------------------------------------------------------------------
// policy

/// When a container that stopped is restarted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Condition {
    /// `restart: no`, `condition: none`.
    Never,
    /// `restart: always` or `unless-stopped`, `condition: any`: whatever the exit code.
    Always,
    /// `restart: on-failure[:N]`, `condition: on-failure`: a non-zero exit code or unhealthy.
    OnFailure,
}

/// A service's restart policy, resolved from `restart` and `deploy.restart_policy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestartPolicy {
    pub condition: Condition,
    /// Policy restarts allowed (inside `window` if there is one); `None` is unlimited.
    pub max_attempts: Option<u64>,
    /// Where the backoff starts; `None` restarts at once first, then from [`DEFAULT_BACKOFF`].
    /// Never zero.
    pub delay: Option<Duration>,
    /// Swarm's sliding window for counting attempts; `None` counts them all. Never zero.
    pub window: Option<Duration>,
}

impl RestartPolicy {
    /// A policy with `condition`, unlimited attempts, the default backoff and no window.
    pub const fn new(condition: Condition) -> RestartPolicy {
        RestartPolicy {
            condition,
            max_attempts: None,
            delay: None,
            window: None,
        }
    }

    /// `max_attempts`; zero is unlimited.
    pub fn with_max_attempts(mut self, max: u64) -> RestartPolicy {
        self.max_attempts = (max > 0).then_some(max);
        self
    }

    /// `delay`; zero is none.
    pub fn with_delay(mut self, delay: Duration) -> RestartPolicy {
        self.delay = (!delay.is_zero()).then_some(delay);
        self
    }

    /// `window`; zero is no window.
    pub fn with_window(mut self, window: Duration) -> RestartPolicy {
        self.window = (!window.is_zero()).then_some(window);
        self
    }

    /// The policy a service asks for. `deploy.restart_policy` wins over `restart` field by field
    /// (see the module documentation); with neither, `no`.
    pub fn from_service(service: &Service) -> RestartPolicy {
        let (short_condition, short_max) = match service.restart.as_deref() {
            Some(text) => parse_restart(text),
            None => (None, None),
        };
        let deploy = service
            .deploy
            .as_ref()
            .and_then(|deploy| deploy.restart_policy.as_ref());
        let Some(deploy) = deploy else {
            let policy = RestartPolicy::new(short_condition.unwrap_or(Condition::Never));
            return policy.with_max_attempts(short_max.unwrap_or(0));
        };
        let condition = match deploy.condition {
            Some(RestartCondition::None | RestartCondition::No) => Condition::Never,
            Some(RestartCondition::OnFailure) => Condition::OnFailure,
            Some(
                RestartCondition::Any | RestartCondition::Always | RestartCondition::UnlessStopped,
            ) => Condition::Always,
            None => short_condition.unwrap_or(Condition::Always),
        };
        let mut policy = RestartPolicy::new(condition)
            .with_max_attempts(deploy.max_attempts.or(short_max).unwrap_or(0));
        if let Some(delay) = deploy.delay {
            policy = policy.with_delay(delay.0);
        }
        if let Some(window) = deploy.window {
            policy = policy.with_window(window.0);
        }
        policy
    }

    /// Whether the condition asks for a restart after `exit` (attempts and backoff aside).
    pub fn restarts_after(&self, exit: Exit) -> bool {
        match self.condition {
            Condition::Never => false,
            Condition::Always => true,
            Condition::OnFailure => exit.is_failure(),
        }
    }

    /// The wait before a restart that follows `streak` consecutive quick restarts. With a
    /// `delay`, `delay` doubled `streak` times. Without one, the first restart after a good run
    /// is immediate, so that a crash costs its replica no more than the start itself; a quick
    /// exit after that waits [`DEFAULT_BACKOFF`], doubled on each further one. Capped at
    /// [`MAX_BACKOFF`] (or at `delay` if that is longer).
    pub fn backoff(&self, streak: u32) -> Duration {
        let (start, doublings) = match (self.delay, streak) {
            (Some(delay), _) => (delay, streak),
            (None, 0) => return Duration::ZERO,
            (None, _) => (DEFAULT_BACKOFF, streak - 1),
        };
        let cap = start.max(MAX_BACKOFF);
        let factor = 1u32.checked_shl(doublings).unwrap_or(u32::MAX);
        start.saturating_mul(factor).min(cap)
    }

    /// Whether an attempt made at `at` still counts at `now`.
    fn counts(&self, at: Millis, now: Millis) -> bool {
        self.window.is_none_or(|window| now.since(at) < window)
    }
}

/// `restart:` as the loader validated it: the condition and `on-failure:N`'s N (zero is
/// unlimited). Anything else (the loader rejects it) is `no`.
fn parse_restart(text: &str) -> (Option<Condition>, Option<u64>) {
    match text.split_once(':') {
        Some(("on-failure", n)) => (Some(Condition::OnFailure), n.trim().parse().ok()),
        Some(_) => (Some(Condition::Never), None),
        None => match text {
            "always" | "unless-stopped" => (Some(Condition::Always), None),
            "on-failure" => (Some(Condition::OnFailure), None),
            _ => (Some(Condition::Never), None),
        },
    }
}

// ---------------------------------------------------------------------------------------------
// exits and decisions

/// How a container's run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Exit {
    /// It exited with this code.
    Code(i64),
    /// It turned unhealthy (and is still running): a failure, whatever the policy.
    Unhealthy,
}

impl Exit {
    /// A non-zero exit code, or unhealthy.
    pub fn is_failure(self) -> bool {
        !matches!(self, Exit::Code(0))
    }
}

impl fmt::Display for Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Exit::Code(code) => write!(f, "exited with code {code}"),
            Exit::Unhealthy => f.write_str("unhealthy"),
        }
    }
}

/// Why a slot is not restarted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "reason")]
pub enum GiveUpReason {
    /// `restart: no` / `condition: none`.
    PolicyNo,
    /// `on-failure` and the container exited with code 0.
    CleanExit,
    /// `max_attempts` restarts were made (inside the window, if there is one).
    MaxAttempts { max: u64, window_ms: Option<u64> },
}

impl fmt::Display for GiveUpReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GiveUpReason::PolicyNo => f.write_str("the restart policy is `no`"),
            GiveUpReason::CleanExit => f.write_str("it exited with code 0 under `on-failure`"),
            GiveUpReason::MaxAttempts {
                max,
                window_ms: None,
            } => write!(f, "{max} restart attempts made (max_attempts {max})"),
            GiveUpReason::MaxAttempts {
                max,
                window_ms: Some(window),
            } => write!(
                f,
                "{max} restart attempts within {} (max_attempts {max})",
                format_span(Duration::from_millis(*window))
            ),
        }
    }
}

/// What the supervisor does about a slot whose container stopped or turned unhealthy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RestartDecision {
    /// Restart it now (counting one attempt: [`SlotState::record_restart`]).
    RestartNow,
    /// Restart it at this instant: the backoff has not elapsed. The supervisor requeues the
    /// slot for then and asks again.
    RestartAt(Millis),
    /// Do not restart it.
    GiveUp { reason: GiveUpReason },
    /// The user stopped it: leave it alone until `start`/`up`.
    Leave,
}

impl fmt::Display for RestartDecision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RestartDecision::RestartNow => f.write_str("restart now"),
            RestartDecision::RestartAt(at) => write!(f, "restart at {}ms", at.0),
            RestartDecision::GiveUp { reason } => write!(f, "give up: {reason}"),
            RestartDecision::Leave => f.write_str("leave it: stopped by the user"),
        }
    }
}

/// The decision for a slot at `now`, the container having ended with `exit` (as observed; an
/// exit recorded in `state` since the last start takes precedence, being the one that ended the
/// run — say the unhealthy report before the supervisor's own stop, which exits with 0).
///
/// In order: stopped by the user → `Leave`; the exit already gave up (latched by
/// [`SlotState::record_exit`]) → that `GiveUp`; the condition does not restart after `exit` →
/// `GiveUp`; `max_attempts` attempts counted at `now` → `GiveUp`; else a restart when the
/// backoff since the recorded exit has elapsed. Without a recorded exit (the supervisor missed
/// it) the restart is due now; record the exit with the engine's `FinishedAt` first to get the
/// backoff.
pub fn decide_restart(
    policy: &RestartPolicy,
    state: &SlotState,
    now: Millis,
    exit: Exit,
) -> RestartDecision {
    if state.stopped_by_user {
        return RestartDecision::Leave;
    }
    if let Some(reason) = state.gave_up() {
        return RestartDecision::GiveUp {
            reason: reason.clone(),
        };
    }
    let exit = state.ended.as_ref().map_or(exit, |ended| ended.exit);
    if !policy.restarts_after(exit) {
        let reason = match policy.condition {
            Condition::Never => GiveUpReason::PolicyNo,
            _ => GiveUpReason::CleanExit,
        };
        return RestartDecision::GiveUp { reason };
    }
    if let Some(max) = policy.max_attempts {
        if state.attempts_counted(policy, now) >= max {
            let window_ms = policy.window.map(duration_ms);
            return RestartDecision::GiveUp {
                reason: GiveUpReason::MaxAttempts { max, window_ms },
            };
        }
    }
    let due = state.ended.as_ref().map_or(now, Ended::restart_due);
    if due <= now {
        RestartDecision::RestartNow
    } else {
        RestartDecision::RestartAt(due)
    }
}

// ---------------------------------------------------------------------------------------------
// per-slot state

/// The end of a slot's last run, until the next start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ended {
    pub at: Millis,
    pub exit: Exit,
    /// The wait before the next restart, measured from `at`.
    pub backoff_ms: u64,
    /// Set when the decision at the exit was to give up: it holds until the next start or config
    /// change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gave_up: Option<GiveUpReason>,
}

impl Ended {
    /// When the backoff after this exit has elapsed.
    pub fn restart_due(&self) -> Millis {
        Millis(self.at.0.saturating_add(self.backoff_ms))
    }
}

/// What the supervisor knows about one replica slot (service, container number). Every field
/// has a default, so a state file written by an older wharf still loads.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SlotState {
    /// The service's config hash the counts below were made for.
    pub config_hash: Option<String>,
    /// When the container last started (by the user or by the policy).
    pub last_start: Option<Millis>,
    /// Set while the container is down (or unhealthy and awaiting its restart).
    pub ended: Option<Ended>,
    /// When the policy restarts that still count toward `max_attempts` were made (oldest
    /// first; pruned to what the policy can still count).
    pub attempts: Vec<Millis>,
    /// Consecutive policy restarts without a run of [`RESET_AFTER`]: the backoff's exponent.
    pub streak: u32,
    /// Policy restarts of this slot since its config last changed (for `ps`).
    pub restarts: u64,
    /// `wharf stop` was asked for this slot: no restart until `start`/`up`.
    pub stopped_by_user: bool,
}

impl SlotState {
    /// A slot for a service whose config hash is `config_hash`.
    pub fn new(config_hash: impl Into<String>) -> SlotState {
        SlotState {
            config_hash: Some(config_hash.into()),
            ..SlotState::default()
        }
    }

    /// The service's config hash is `hash`. If it differs from the one the slot counted for,
    /// the attempt count, the backoff, the restart count and a latched give-up are reset, and
    /// this returns true. A slot that had no hash (adopted without history) takes it and returns
    /// false. `stopped_by_user` is kept: a config change does not undo a user's `stop`.
    pub fn observe_config(&mut self, hash: &str) -> bool {
        match &self.config_hash {
            Some(known) if known == hash => false,
            None => {
                self.config_hash = Some(hash.to_string());
                false
            }
            Some(_) => {
                self.config_hash = Some(hash.to_string());
                self.attempts.clear();
                self.streak = 0;
                self.restarts = 0;
                if let Some(ended) = &mut self.ended {
                    ended.gave_up = None;
                    ended.backoff_ms = 0;
                }
                true
            }
        }
    }

    /// The container was started at `at` by something other than the restart policy: created,
    /// `up`, `start`, `restart`, recreated. The slot starts afresh: no attempts, no backoff, no
    /// give-up, and a user `stop` is over.
    pub fn record_start(&mut self, at: Millis) {
        self.last_start = Some(at);
        self.ended = None;
        self.attempts.clear();
        self.streak = 0;
        self.stopped_by_user = false;
    }

    /// The supervisor restarted the container at `at` because [`decide_restart`] said so: one attempt
    /// is counted, and the next quick exit doubles the backoff.
    pub fn record_restart(&mut self, policy: &RestartPolicy, at: Millis) {
        self.attempts.push(at);
        self.prune(policy, at);
        self.restarts = self.restarts.saturating_add(1);
        self.streak = self.streak.saturating_add(1);
        self.last_start = Some(at);
        self.ended = None;
    }

    /// The engine restarted the container at `at` under its own restart policy (the floor
    /// under the supervisor): one more restart for `ps`; the engine keeps its own count of
    /// attempts and its own backoff.
    pub fn record_engine_restart(&mut self, at: Millis) {
        self.restarts = self.restarts.saturating_add(1);
        self.last_start = Some(at);
        self.ended = None;
    }

    /// The container ended at `at` (use the engine's `FinishedAt`, or the time of the health
    /// event for [`Exit::Unhealthy`]). Sets the backoff (back to the start value if it had run
    /// [`RESET_AFTER`]), and returns the decision at `at`; a `GiveUp` is latched for this exit.
    ///
    /// A second report for a slot that is already down (the `die` that follows an unhealthy
    /// restart, an event seen again after a resync) changes nothing. An unhealthy report that is
    /// not acted on (`GiveUp`, `Leave`) records nothing either: the container is still running,
    /// and its real exit, later, is reported as usual.
    pub fn record_exit(
        &mut self,
        policy: &RestartPolicy,
        at: Millis,
        exit: Exit,
    ) -> RestartDecision {
        if self.ended.is_some() {
            return decide_restart(policy, self, at, exit);
        }
        let first = decide_restart(policy, self, at, exit);
        let restarts = matches!(
            first,
            RestartDecision::RestartNow | RestartDecision::RestartAt(_)
        );
        if exit == Exit::Unhealthy && !restarts {
            return first;
        }
        let ran_long = self
            .last_start
            .is_none_or(|start| at.since(start) >= RESET_AFTER);
        if ran_long {
            self.streak = 0;
        }
        self.ended = Some(Ended {
            at,
            exit,
            backoff_ms: duration_ms(policy.backoff(self.streak)),
            gave_up: match first {
                RestartDecision::GiveUp { reason } => Some(reason),
                _ => None,
            },
        });
        decide_restart(policy, self, at, exit)
    }

    /// `wharf stop` for this slot: no restart until [`SlotState::record_start`] (or
    /// [`SlotState::clear_user_stop`]).
    pub fn record_user_stop(&mut self) {
        self.stopped_by_user = true;
    }

    /// The user's `stop` is over (`start`/`up` was asked for), before the container starts.
    pub fn clear_user_stop(&mut self) {
        self.stopped_by_user = false;
    }

    /// Whether the container's last run has ended (and it was not started since).
    pub fn is_down(&self) -> bool {
        self.ended.is_some()
    }

    /// Why the last exit gave up, while the slot is down.
    pub fn gave_up(&self) -> Option<&GiveUpReason> {
        self.ended.as_ref().and_then(|ended| ended.gave_up.as_ref())
    }

    /// The number of the next consecutive restart (1 after a good run).
    pub fn next_attempt(&self) -> u32 {
        self.streak.saturating_add(1)
    }

    /// When the pending restart is due: the slot is down, the exit did not give up, and the
    /// user did not stop it.
    pub fn next_restart(&self) -> Option<Millis> {
        if self.stopped_by_user {
            return None;
        }
        let ended = self.ended.as_ref()?;
        ended.gave_up.is_none().then(|| ended.restart_due())
    }

    /// The attempts `policy` counts at `now` toward `max_attempts`.
    pub fn attempts_counted(&self, policy: &RestartPolicy, now: Millis) -> u64 {
        let counted = self.attempts.iter().filter(|at| policy.counts(**at, now));
        counted.count() as u64
    }

    /// Drops the attempts `policy` can no longer count at `now` or later: all of them when
    /// attempts are unlimited, those outside the window, and all but the last `max_attempts`
    /// (the only ones that decide whether `max_attempts` is reached).
    fn prune(&mut self, policy: &RestartPolicy, now: Millis) {
        let Some(max) = policy.max_attempts else {
            self.attempts.clear();
            return;
        };
        self.attempts.retain(|at| policy.counts(*at, now));
        let max = usize::try_from(max).unwrap_or(usize::MAX);
        if self.attempts.len() > max {
            let excess = self.attempts.len() - max;
            self.attempts.drain(..excess);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// the book

/// Every slot's restart state, by service and container number. Persisted as JSON in the
/// supervisor's state directory: `{"services": {"web": {"1": {...}}}}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RestartBook {
    pub services: BTreeMap<String, BTreeMap<u32, SlotState>>,
}

impl RestartBook {
    pub fn new() -> RestartBook {
        RestartBook::default()
    }

    pub fn get(&self, service: &str, number: u32) -> Option<&SlotState> {
        self.services.get(service)?.get(&number)
    }

    pub fn get_mut(&mut self, service: &str, number: u32) -> Option<&mut SlotState> {
        self.services.get_mut(service)?.get_mut(&number)
    }

    /// The slot's state, an empty one (no config hash yet) if it had none.
    pub fn slot(&mut self, service: &str, number: u32) -> &mut SlotState {
        self.services
            .entry(service.to_string())
            .or_default()
            .entry(number)
            .or_default()
    }

    pub fn remove(&mut self, service: &str, number: u32) -> Option<SlotState> {
        let slots = self.services.get_mut(service)?;
        let removed = slots.remove(&number);
        if slots.is_empty() {
            self.services.remove(service);
        }
        removed
    }

    /// Keeps only the slots `keep` accepts (drops those of removed services and scaled-down
    /// replicas).
    pub fn retain(&mut self, mut keep: impl FnMut(&str, u32) -> bool) {
        for (service, slots) in &mut self.services {
            slots.retain(|number, _| keep(service, *number));
        }
        self.services.retain(|_, slots| !slots.is_empty());
    }

    /// Every slot, by service then number.
    pub fn iter(&self) -> impl Iterator<Item = (&str, u32, &SlotState)> {
        self.services.iter().flat_map(|(service, slots)| {
            slots
                .iter()
                .map(move |(number, state)| (service.as_str(), *number, state))
        })
    }

    /// The slot's status for `ps` while a restart is pending: `restarting (attempt 3, next in
    /// 1.6s)`, or `restarting (attempt 3)` once it is due. `None` when nothing is pending
    /// (running, gave up, stopped by the user, unknown slot): `ps` shows the engine's state.
    pub fn display_status(&self, service: &str, number: u32, now: Millis) -> Option<String> {
        let state = self.get(service, number)?;
        let due = state.next_restart()?;
        let attempt = state.next_attempt();
        if due <= now {
            Some(format!("restarting (attempt {attempt})"))
        } else {
            let wait = format_span(due.since(now));
            Some(format!("restarting (attempt {attempt}, next in {wait})"))
        }
    }
}

/// A wait for people: tenths of a second, rounded up, under a minute (`0.1s`, `1.6s`, `2s`),
/// then minutes and whole seconds (`1m`, `1m30s`).
pub fn format_span(span: Duration) -> String {
    let ms = duration_ms(span);
    let tenths = ms.div_ceil(100);
    if tenths < 600 {
        return match tenths % 10 {
            0 => format!("{}s", tenths / 10),
            t => format!("{}.{t}s", tenths / 10),
        };
    }
    let seconds = ms.div_ceil(1000);
    match seconds % 60 {
        0 => format!("{}m", seconds / 60),
        s => format!("{}m{s}s", seconds / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::model::{Deploy, RestartPolicy as DeployRestartPolicy};
    use crate::spec::short::Duration as SpecDuration;

    const NEVER: RestartPolicy = RestartPolicy::new(Condition::Never);
    const ALWAYS: RestartPolicy = RestartPolicy::new(Condition::Always);
    const ON_FAILURE: RestartPolicy = RestartPolicy::new(Condition::OnFailure);

    fn ms(n: u64) -> Millis {
        Millis(n)
    }

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    fn started(at: u64) -> SlotState {
        let mut state = SlotState::new("h1");
        state.record_start(ms(at));
        state
    }

    fn service(restart: Option<&str>, deploy: Option<DeployRestartPolicy>) -> Service {
        Service {
            restart: restart.map(str::to_string),
            deploy: deploy.map(|policy| Deploy {
                restart_policy: Some(policy),
                ..Deploy::default()
            }),
            ..Service::default()
        }
    }

    fn deploy(
        condition: Option<RestartCondition>,
        delay: Option<&str>,
        max_attempts: Option<u64>,
        window: Option<&str>,
    ) -> DeployRestartPolicy {
        let duration = |text: &str| SpecDuration::parse(text).unwrap();
        DeployRestartPolicy {
            condition,
            delay: delay.map(duration),
            max_attempts,
            window: window.map(duration),
        }
    }

    fn give_up(reason: GiveUpReason) -> RestartDecision {
        RestartDecision::GiveUp { reason }
    }

    /// A crash loop: the container exits `run` ms after each start and is restarted as soon as
    /// the decision allows; returns the waits between each exit and the following restart.
    /// When a restart decided at `now` is due; panics on any other decision.
    fn due(decision: RestartDecision, now: u64) -> u64 {
        match decision {
            RestartDecision::RestartAt(due) => due.0,
            RestartDecision::RestartNow => now,
            other => panic!("restart expected, not {other:?}"),
        }
    }

    fn crash_loop(policy: &RestartPolicy, run: u64, exits: usize) -> Vec<u64> {
        let mut state = started(0);
        let mut now = 0;
        let mut waits = Vec::new();
        for _ in 0..exits {
            let exit_at = now + run;
            let due = due(
                state.record_exit(policy, ms(exit_at), Exit::Code(1)),
                exit_at,
            );
            assert_eq!(
                decide_restart(policy, &state, ms(due), Exit::Code(1)),
                RestartDecision::RestartNow
            );
            waits.push(due - exit_at);
            state.record_restart(policy, ms(due));
            now = due;
        }
        waits
    }

    // --- resolving the policy --------------------------------------------------------------

    #[test]
    fn restart_strings_map_to_policies() {
        let policy = |text| RestartPolicy::from_service(&service(Some(text), None));
        assert_eq!(policy("no"), NEVER);
        assert_eq!(policy("always"), ALWAYS);
        assert_eq!(policy("unless-stopped"), ALWAYS);
        assert_eq!(policy("on-failure"), ON_FAILURE);
        assert_eq!(policy("on-failure:3"), ON_FAILURE.with_max_attempts(3));
        assert_eq!(policy("on-failure:0"), ON_FAILURE, "0 is unlimited");
        assert_eq!(RestartPolicy::from_service(&Service::default()), NEVER);
    }

    #[test]
    fn deploy_conditions_map_to_policies() {
        let policy = |condition| {
            RestartPolicy::from_service(&service(None, Some(deploy(condition, None, None, None))))
        };
        assert_eq!(policy(Some(RestartCondition::None)), NEVER);
        assert_eq!(policy(Some(RestartCondition::Any)), ALWAYS);
        assert_eq!(policy(Some(RestartCondition::OnFailure)), ON_FAILURE);
        assert_eq!(policy(None), ALWAYS, "swarm's default condition is any");
    }

    #[test]
    fn deploy_restart_policy_takes_precedence_field_by_field() {
        let full = deploy(
            Some(RestartCondition::OnFailure),
            Some("5s"),
            Some(4),
            Some("2m"),
        );
        let resolved = RestartPolicy::from_service(&service(Some("always"), Some(full)));
        assert_eq!(
            resolved,
            ON_FAILURE
                .with_max_attempts(4)
                .with_delay(secs(5))
                .with_window(secs(120))
        );
        // What deploy leaves out comes from `restart`.
        let partial = deploy(None, Some("1s"), None, None);
        let resolved = RestartPolicy::from_service(&service(Some("on-failure:2"), Some(partial)));
        assert_eq!(
            resolved,
            ON_FAILURE.with_max_attempts(2).with_delay(secs(1))
        );
        let partial = deploy(None, None, None, None);
        assert_eq!(
            RestartPolicy::from_service(&service(Some("no"), Some(partial))),
            NEVER
        );
        // An explicit max_attempts: 0 is unlimited, it does not fall back to on-failure:N.
        let unlimited = deploy(None, None, Some(0), None);
        assert_eq!(
            RestartPolicy::from_service(&service(Some("on-failure:2"), Some(unlimited))),
            ON_FAILURE
        );
        // A zero delay or window is none.
        let zeros = deploy(Some(RestartCondition::Any), Some("0s"), Some(3), Some("0"));
        let resolved = RestartPolicy::from_service(&service(None, Some(zeros)));
        assert_eq!(resolved, ALWAYS.with_max_attempts(3));
        assert_eq!(resolved.backoff(0), Duration::ZERO);
        assert_eq!(resolved.backoff(1), DEFAULT_BACKOFF);
    }

    // --- each policy × exit ------------------------------------------------------------------

    #[test]
    fn each_policy_with_each_exit() {
        let cases = [
            (NEVER, Exit::Code(0), give_up(GiveUpReason::PolicyNo)),
            (NEVER, Exit::Code(1), give_up(GiveUpReason::PolicyNo)),
            (NEVER, Exit::Code(137), give_up(GiveUpReason::PolicyNo)),
            (NEVER, Exit::Unhealthy, give_up(GiveUpReason::PolicyNo)),
            (ALWAYS, Exit::Code(0), RestartDecision::RestartNow),
            (ALWAYS, Exit::Code(1), RestartDecision::RestartNow),
            (ALWAYS, Exit::Unhealthy, RestartDecision::RestartNow),
            (ON_FAILURE, Exit::Code(0), give_up(GiveUpReason::CleanExit)),
            (ON_FAILURE, Exit::Code(1), RestartDecision::RestartNow),
            (ON_FAILURE, Exit::Code(-1), RestartDecision::RestartNow),
            (ON_FAILURE, Exit::Unhealthy, RestartDecision::RestartNow),
        ];
        for (policy, exit, expected) in cases {
            let what = format!("{:?} after {exit}", policy.condition);
            // Straight from the observation, without a recorded exit: due now.
            let fresh = decide_restart(&policy, &started(0), ms(1000), exit);
            assert_eq!(fresh, expected, "{what}, unrecorded");
            // Recorded after a run of a second: the first restart is immediate.
            let mut state = started(0);
            assert_eq!(
                state.record_exit(&policy, ms(1000), exit),
                expected,
                "{what}"
            );
            assert_eq!(
                decide_restart(&policy, &state, ms(1000), exit),
                expected,
                "{what}"
            );
        }
    }

    #[test]
    fn unless_stopped_behaves_as_always_and_every_policy_respects_a_user_stop() {
        let unless_stopped = RestartPolicy::from_service(&service(Some("unless-stopped"), None));
        for policy in [unless_stopped, ALWAYS, ON_FAILURE, NEVER] {
            let mut state = started(0);
            state.record_user_stop();
            assert_eq!(
                state.record_exit(&policy, ms(500), Exit::Code(143)),
                RestartDecision::Leave
            );
            assert_eq!(
                decide_restart(&policy, &state, ms(100_000), Exit::Code(143)),
                RestartDecision::Leave
            );
            assert!(state.is_down());
            assert_eq!(state.next_restart(), None);
            // `start`/`up`: the flag is over once the container starts.
            state.record_start(ms(200_000));
            assert!(!state.stopped_by_user);
            let expected = if policy.condition == Condition::Never {
                give_up(GiveUpReason::PolicyNo)
            } else {
                RestartDecision::RestartNow
            };
            assert_eq!(
                state.record_exit(&policy, ms(300_000), Exit::Code(1)),
                expected
            );
        }
        let mut state = started(0);
        state.record_user_stop();
        state.clear_user_stop();
        assert_eq!(
            decide_restart(&ALWAYS, &state, ms(1), Exit::Code(0)),
            RestartDecision::RestartNow
        );
    }

    // --- backoff -----------------------------------------------------------------------------

    #[test]
    fn the_first_restart_is_immediate_then_the_backoff_doubles_from_100ms_up_to_a_minute() {
        let waits = crash_loop(&ALWAYS, 50, 13);
        assert_eq!(
            waits,
            [
                0, 100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 51200, 60000, 60000
            ]
        );
        assert_eq!(ALWAYS.backoff(1000), MAX_BACKOFF, "no overflow");
    }

    #[test]
    fn backoff_resets_after_a_ten_second_run() {
        let mut state = started(0);
        let mut now = 0;
        for _ in 0..5 {
            now = due(
                state.record_exit(&ALWAYS, ms(now + 10), Exit::Code(1)),
                now + 10,
            );
            state.record_restart(&ALWAYS, ms(now));
        }
        // 9.999 s is not enough: the sixth wait is 1.6 s.
        let mut short = state.clone();
        assert_eq!(
            short.record_exit(&ALWAYS, ms(now + 9_999), Exit::Code(1)),
            RestartDecision::RestartAt(ms(now + 9_999 + 1_600))
        );
        // 10 s is: the restart is immediate again, then 100 ms, doubling.
        assert_eq!(
            state.record_exit(&ALWAYS, ms(now + 10_000), Exit::Code(1)),
            RestartDecision::RestartNow
        );
        assert_eq!(state.next_attempt(), 1);
        state.record_restart(&ALWAYS, ms(now + 10_000));
        assert_eq!(
            state.record_exit(&ALWAYS, ms(now + 10_200), Exit::Code(1)),
            RestartDecision::RestartAt(ms(now + 10_300))
        );
        // A long unhealthy run resets it too.
        let mut state = started(0);
        state.streak = 7;
        assert_eq!(
            state.record_exit(&ON_FAILURE, ms(40_000), Exit::Unhealthy),
            RestartDecision::RestartNow
        );
    }

    #[test]
    fn delay_is_where_the_backoff_starts() {
        let policy = ALWAYS.with_delay(secs(5));
        assert_eq!(
            crash_loop(&policy, 50, 6),
            [5000, 10000, 20000, 40000, 60000, 60000]
        );
        // A delay longer than the cap is kept as it is.
        let slow = ALWAYS.with_delay(secs(90));
        assert_eq!(crash_loop(&slow, 50, 3), [90000, 90000, 90000]);
        // A short one doubles from itself.
        let quick = ALWAYS.with_delay(Duration::from_millis(10));
        assert_eq!(crash_loop(&quick, 50, 4), [10, 20, 40, 80]);
        // Resolved from the file.
        let from_file = RestartPolicy::from_service(&service(
            None,
            Some(deploy(None, Some("1.5s"), None, None)),
        ));
        assert_eq!(from_file.backoff(0), Duration::from_millis(1500));
        assert_eq!(from_file.backoff(2), Duration::from_millis(6000));
    }

    // --- max_attempts and window -------------------------------------------------------------

    #[test]
    fn max_attempts_without_window_counts_every_attempt() {
        let policy = ON_FAILURE.with_max_attempts(3);
        let mut state = started(0);
        // Three restarts are allowed, however long each run lasts.
        let mut now = 0;
        for _ in 0..3 {
            now = due(
                state.record_exit(&policy, ms(now + 60_000), Exit::Code(2)),
                now + 60_000,
            );
            state.record_restart(&policy, ms(now));
        }
        assert_eq!(state.restarts, 3);
        let reason = GiveUpReason::MaxAttempts {
            max: 3,
            window_ms: None,
        };
        assert_eq!(
            state.record_exit(&policy, ms(now + 3_600_000), Exit::Code(2)),
            give_up(reason.clone())
        );
        // Latched: asking again, later, gives the same answer.
        assert_eq!(
            decide_restart(&policy, &state, ms(now + 86_400_000), Exit::Code(2)),
            give_up(reason.clone())
        );
        assert_eq!(state.gave_up(), Some(&reason));
        // A clean exit under on-failure gives up for its own reason, attempts aside.
        let mut fresh = started(0);
        assert_eq!(
            fresh.record_exit(&policy, ms(10), Exit::Code(0)),
            give_up(GiveUpReason::CleanExit)
        );
        // Unlimited keeps no history.
        let mut unlimited = started(0);
        for at in 1..100 {
            unlimited.record_exit(&ALWAYS, ms(at * 100), Exit::Code(1));
            unlimited.record_restart(&ALWAYS, ms(at * 100 + 50));
        }
        assert!(unlimited.attempts.is_empty());
        assert_eq!(unlimited.restarts, 99);
    }

    #[test]
    fn swarm_window_counts_only_recent_attempts() {
        let policy = ALWAYS.with_max_attempts(3).with_window(secs(10));
        let reason = GiveUpReason::MaxAttempts {
            max: 3,
            window_ms: Some(10_000),
        };
        // Exit at 1 s, restarted at once; exit at 2 s, restarted at 2.1 s; exit at 3 s,
        // restarted at 3.2 s: three attempts.
        let mut state = started(0);
        for (exit, restart) in [(1000, 1000), (2000, 2100), (3000, 3200)] {
            let decision = state.record_exit(&policy, ms(exit), Exit::Code(1));
            assert_eq!(due(decision, exit), restart);
            state.record_restart(&policy, ms(restart));
        }
        assert_eq!(state.attempts_counted(&policy, ms(4500)), 3);
        // Three failed attempts within 5 s: the next exit gives up.
        let mut quick = state.clone();
        assert_eq!(
            quick.record_exit(&policy, ms(4500), Exit::Code(1)),
            give_up(reason.clone())
        );
        // ... and stays given up once the window has slid.
        assert_eq!(
            decide_restart(&policy, &quick, ms(60_000), Exit::Code(1)),
            give_up(reason.clone())
        );
        // The third attempt ran until 12.1 s after the first one: the first two have left the
        // window (only 3.2 s is inside (3.1 s, 13.1 s]), so it is restarted again.
        let mut later = state.clone();
        assert_eq!(later.attempts_counted(&policy, ms(13_100)), 1);
        assert_eq!(
            later.record_exit(&policy, ms(13_100), Exit::Code(1)),
            RestartDecision::RestartAt(ms(13_500))
        );
        // Without the window the same history gives up.
        let no_window = ALWAYS.with_max_attempts(3);
        let mut all = state.clone();
        assert_eq!(
            all.record_exit(&no_window, ms(13_100), Exit::Code(1)),
            give_up(GiveUpReason::MaxAttempts {
                max: 3,
                window_ms: None
            })
        );
    }

    #[test]
    fn window_edge_and_pruning() {
        let policy = ALWAYS.with_max_attempts(2).with_window(secs(10));
        let mut state = started(0);
        state.record_exit(&policy, ms(500), Exit::Code(1));
        state.record_restart(&policy, ms(1000));
        // An attempt exactly one window old no longer counts (swarm keeps those strictly after
        // now − window); one millisecond younger does.
        assert_eq!(state.attempts_counted(&policy, ms(11_000)), 0);
        assert_eq!(state.attempts_counted(&policy, ms(10_999)), 1);
        // Pruning keeps at most max_attempts, and nothing outside the window.
        for at in [2000, 3000, 4000] {
            state.record_exit(&policy, ms(at - 1), Exit::Code(1));
            state.record_restart(&policy, ms(at));
        }
        assert_eq!(state.attempts, [ms(3000), ms(4000)]);
        state.record_exit(&policy, ms(30_000), Exit::Code(1));
        state.record_restart(&policy, ms(30_100));
        assert_eq!(state.attempts, [ms(30_100)]);
        // A clock that stepped back counts the attempt as recent rather than panicking.
        assert_eq!(state.attempts_counted(&policy, ms(0)), 1);
    }

    // --- config changes, user starts, health ---------------------------------------------

    #[test]
    fn config_change_resets_the_attempt_count() {
        let policy = ON_FAILURE.with_max_attempts(1);
        let mut state = started(0);
        state.record_exit(&policy, ms(100), Exit::Code(1));
        state.record_restart(&policy, ms(200));
        assert!(matches!(
            state.record_exit(&policy, ms(300), Exit::Code(1)),
            RestartDecision::GiveUp { .. }
        ));
        assert!(!state.observe_config("h1"), "same hash: nothing reset");
        assert!(matches!(
            decide_restart(&policy, &state, ms(400), Exit::Code(1)),
            RestartDecision::GiveUp { .. }
        ));
        assert!(state.observe_config("h2"));
        assert_eq!(state.config_hash.as_deref(), Some("h2"));
        assert_eq!(
            (state.attempts.len(), state.streak, state.restarts),
            (0, 0, 0)
        );
        assert_eq!(
            decide_restart(&policy, &state, ms(400), Exit::Code(1)),
            RestartDecision::RestartNow
        );
        // A slot adopted without history takes the hash without a reset.
        let mut adopted = SlotState::default();
        assert!(!adopted.observe_config("h9"));
        assert_eq!(adopted.config_hash.as_deref(), Some("h9"));
        // A user stop survives a config change.
        let mut stopped = started(0);
        stopped.record_user_stop();
        assert!(stopped.observe_config("h2"));
        assert_eq!(
            decide_restart(&policy, &stopped, ms(1), Exit::Code(1)),
            RestartDecision::Leave
        );
    }

    #[test]
    fn a_user_start_revives_a_slot_that_gave_up() {
        let policy = ALWAYS.with_max_attempts(1);
        let mut state = started(0);
        state.record_exit(&policy, ms(100), Exit::Code(1));
        state.record_restart(&policy, ms(200));
        assert!(matches!(
            state.record_exit(&policy, ms(300), Exit::Code(1)),
            RestartDecision::GiveUp { .. }
        ));
        state.record_start(ms(10_000));
        assert!(!state.is_down());
        assert_eq!(
            state.record_exit(&policy, ms(10_050), Exit::Code(1)),
            RestartDecision::RestartNow
        );
        assert_eq!(
            state.restarts, 1,
            "the total restarts are kept across user starts"
        );
    }

    #[test]
    fn unhealthy_is_restarted_under_on_failure_and_its_stop_is_not_a_second_exit() {
        let mut state = started(0);
        assert_eq!(
            state.record_exit(&ON_FAILURE, ms(30_000), Exit::Unhealthy),
            RestartDecision::RestartNow
        );
        // The supervisor stops it to restart it: a graceful exit 0 reported afterwards changes
        // nothing, and the decision still follows the unhealthy report.
        assert_eq!(
            state.record_exit(&ON_FAILURE, ms(30_050), Exit::Code(0)),
            RestartDecision::RestartNow
        );
        state.record_restart(&ON_FAILURE, ms(30_100));
        assert_eq!(state.restarts, 1);
        assert!(!state.is_down());
    }

    #[test]
    fn an_engine_restart_counts_for_ps_and_leaves_the_attempts_alone() {
        let policy = ON_FAILURE.with_max_attempts(2);
        let mut state = started(0);
        state.record_exit(&policy, ms(100), Exit::Unhealthy);
        state.record_restart(&policy, ms(200));
        state.record_engine_restart(ms(5_000));
        assert_eq!(state.restarts, 2);
        assert_eq!(
            state.attempts,
            [ms(200)],
            "the engine counts its own retries"
        );
        assert_eq!(state.last_start, Some(ms(5_000)));
        assert!(!state.is_down());
    }

    #[test]
    fn unhealthy_without_a_restart_records_nothing() {
        // Policy `no`: the unhealthy container keeps running, and its real exit later is still
        // reported and decided.
        let mut state = started(0);
        let before = state.clone();
        assert_eq!(
            state.record_exit(&NEVER, ms(30_000), Exit::Unhealthy),
            give_up(GiveUpReason::PolicyNo)
        );
        assert_eq!(state, before);
        assert_eq!(
            state.record_exit(&NEVER, ms(50_000), Exit::Code(1)),
            give_up(GiveUpReason::PolicyNo)
        );
        assert_eq!(state.gave_up(), Some(&GiveUpReason::PolicyNo));
    }

    // --- the book ----------------------------------------------------------------------------

    #[test]
    fn display_status_for_ps() {
        let mut book = RestartBook::new();
        let slot = book.slot("web", 2);
        slot.observe_config("h1");
        slot.record_start(ms(0));
        let mut now = 0;
        for _ in 0..5 {
            now = due(
                slot.record_exit(&ALWAYS, ms(now + 10), Exit::Code(1)),
                now + 10,
            );
            slot.record_restart(&ALWAYS, ms(now));
        }
        assert_eq!(book.display_status("web", 2, ms(now)), None, "running");
        let slot = book.slot("web", 2);
        slot.record_exit(&ALWAYS, ms(now + 10), Exit::Code(1));
        assert_eq!(
            book.display_status("web", 2, ms(now + 10)),
            Some("restarting (attempt 6, next in 1.6s)".to_string())
        );
        assert_eq!(
            book.display_status("web", 2, ms(now + 1_000)),
            Some("restarting (attempt 6, next in 0.7s)".to_string())
        );
        assert_eq!(
            book.display_status("web", 2, ms(now + 1_610)),
            Some("restarting (attempt 6)".to_string())
        );
        assert_eq!(book.display_status("web", 1, ms(now)), None);
        assert_eq!(book.display_status("db", 2, ms(now)), None);
        book.slot("web", 2).record_user_stop();
        assert_eq!(book.display_status("web", 2, ms(now + 10)), None);

        assert_eq!(format_span(Duration::from_millis(1)), "0.1s");
        assert_eq!(format_span(Duration::from_millis(2000)), "2s");
        assert_eq!(format_span(Duration::from_millis(59_950)), "1m");
        assert_eq!(format_span(Duration::from_millis(90_000)), "1m30s");
    }

    #[test]
    fn book_slots_retain_and_remove() {
        let mut book = RestartBook::new();
        for number in 1..=3 {
            book.slot("web", number).observe_config("w");
        }
        book.slot("db", 1).observe_config("d");
        book.retain(|service, number| service == "web" && number <= 2);
        let slots: Vec<_> = book.iter().map(|(s, n, _)| (s.to_string(), n)).collect();
        assert_eq!(slots, [("web".to_string(), 1), ("web".to_string(), 2)]);
        assert!(book.remove("web", 1).is_some());
        assert!(book.remove("web", 2).is_some());
        assert!(book.services.is_empty());
        assert!(book.get_mut("web", 2).is_none());
    }

    #[test]
    fn serde_round_trip() {
        let policy = ON_FAILURE.with_max_attempts(3).with_window(secs(10));
        let mut book = RestartBook::new();
        let web = book.slot("web", 1);
        web.observe_config("abc");
        web.record_start(ms(1_700_000_000_000));
        web.record_exit(&policy, ms(1_700_000_000_500), Exit::Code(1));
        web.record_restart(&policy, ms(1_700_000_000_600));
        web.record_exit(&policy, ms(1_700_000_000_700), Exit::Unhealthy);
        let db = book.slot("db", 2);
        db.observe_config("def");
        db.record_start(ms(5));
        db.record_exit(&NEVER, ms(6), Exit::Code(3));
        book.slot("cache", 10).record_user_stop();

        let json = serde_json::to_string_pretty(&book).unwrap();
        let back: RestartBook = serde_json::from_str(&json).unwrap();
        assert_eq!(back, book);
        // The shape on disk is plain and stable.
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["services"]["web"]["1"]["ended"]["exit"], "unhealthy");
        assert_eq!(value["services"]["db"]["2"]["ended"]["exit"]["code"], 3);
        assert_eq!(
            value["services"]["db"]["2"]["ended"]["gave_up"]["reason"],
            "policy-no"
        );
        assert_eq!(
            value["services"]["web"]["1"]["attempts"][0],
            1_700_000_000_600u64
        );
        // The same decisions after a supervisor restart.
        let now = ms(1_700_000_000_750);
        assert_eq!(
            decide_restart(&policy, back.get("web", 1).unwrap(), now, Exit::Unhealthy),
            decide_restart(&policy, book.get("web", 1).unwrap(), now, Exit::Unhealthy)
        );
        // Older or partial files load with defaults.
        let partial: RestartBook =
            serde_json::from_str(r#"{"services": {"web": {"1": {"restarts": 4}}}}"#).unwrap();
        assert_eq!(partial.get("web", 1).unwrap().restarts, 4);
        assert_eq!(
            serde_json::from_str::<RestartBook>("{}").unwrap(),
            RestartBook::new()
        );
    }

    #[test]
    fn time_helpers() {
        let epoch_plus = UNIX_EPOCH + Duration::from_millis(1234);
        assert_eq!(Millis::from_system_time(epoch_plus), ms(1234));
        assert_eq!(Millis::from_system_time(UNIX_EPOCH - secs(1)), ms(0));
        assert_eq!(ms(10).plus(Duration::from_micros(1)), ms(11), "rounded up");
        assert_eq!(ms(u64::MAX).plus(secs(1)), ms(u64::MAX));
        assert_eq!(ms(5).since(ms(10)), Duration::ZERO);
        assert_eq!(
            give_up(GiveUpReason::MaxAttempts {
                max: 3,
                window_ms: Some(10_000)
            })
            .to_string(),
            "give up: 3 restart attempts within 10s (max_attempts 3)"
        );
    }
}
