//! A plan: the engine operations that turn what is observed into what is desired, each with
//! its cause and the operations it must wait for. `reconcile` makes them; it is pure, so every
//! decision can be tested without an engine, in the text form `Display` prints.

mod action;
mod containers;
mod down;
mod drift;
mod fates;
#[cfg(test)]
mod hook_tests;
mod hooks;
mod images;
pub mod lifecycle;
mod no_start;
mod options;
mod reconcile;
mod replacement;
mod resources;
mod rolling;
pub mod run;
mod supervision;
#[cfg(test)]
mod tests;

use std::fmt;

pub use action::{Action, ControlStep, EngineCall, WaitCondition};
pub use down::down;
pub use drift::{Changed, ResourceOption};
pub use options::{BuildPolicy, DownOptions, PlanError, ReconcileOptions, ResourceKind, Rmi};
pub use reconcile::reconcile;
pub use supervision::Supervision;

/// The operations of a plan for a backend whose engine calls are `C`; the container backend's
/// unless said otherwise.
#[derive(Debug, Clone)]
pub struct Plan<C = EngineCall> {
    pub operations: Vec<Operation<C>>,
    /// Things the user should know that are not operations (orphans left in place, a network
    /// reused without our labels).
    pub warnings: Vec<String>,
    /// When a supervised plan wants to be made again: the earliest restart whose backoff has
    /// not elapsed yet.
    pub wake_at: Option<crate::restart::Millis>,
}

#[derive(Debug, Clone)]
pub struct Operation<C = EngineCall> {
    /// Its index in `Plan::operations`.
    pub id: usize,
    pub action: Action<C>,
    pub cause: Cause,
    /// Operations that must have succeeded first.
    pub after: Vec<usize>,
    /// Operations that must have finished first, whatever their outcome: a failure count
    /// waits for the replicas it judges, and a batch goes on after a tolerated failure.
    pub settled: Vec<usize>,
    /// Makes this operation a fallback (a rollback): it runs only when that operation did not
    /// succeed (it failed, or was skipped because something before it failed). Otherwise it is
    /// not needed, and it does not run.
    pub if_failed: Option<usize>,
}

/// What an operation waits for; every id is smaller than the operation's own.
#[derive(Debug, Clone, Default)]
pub struct Deps {
    pub after: Vec<usize>,
    pub settled: Vec<usize>,
    pub if_failed: Option<usize>,
}

impl Deps {
    pub fn after(after: Vec<usize>) -> Deps {
        Deps {
            after,
            ..Deps::default()
        }
    }
}

/// A container named by the plan: by ID when it exists already, by name when this plan
/// creates it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerRef {
    pub name: String,
    pub id: Option<String>,
}

impl ContainerRef {
    /// What to pass to the engine.
    pub fn target(&self) -> &str {
        self.id.as_deref().unwrap_or(&self.name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cause {
    /// It does not exist yet.
    Missing,
    /// It exists but is not running.
    NotRunning,
    /// Its configuration changed (config hash differs).
    ConfigChanged,
    /// Its image changed (a new build or pull).
    ImageChanged,
    /// What one of its secrets or configs holds changed (a file's content, a variable).
    ContentChanged,
    /// `--force-recreate`.
    Forced,
    /// A dependency declared with `restart: true` was recreated.
    DependencyRecreated(String),
    /// Part of replacing a container (stop, remove or rename of the old/new one).
    Replacing(String),
    /// More replicas than desired.
    ScaleDown,
    /// The service is no longer in the compose file (`--remove-orphans`).
    Orphan,
    /// A dependent service is about to start.
    DependedOn(String),
    /// `down`.
    Down,
    /// `--build`, or an image that is missing and has a build section.
    Build,
    /// A missing image with no build section.
    ImageMissing,
    /// `pull_policy: always`.
    PullAlways,
    /// The command asked for it (`stop`, `start`, `up --wait`).
    Requested,
    /// The restart policy restarts an exited replica (the attempt number since its last good
    /// run).
    RestartPolicy { attempt: u32 },
    /// The replica turned unhealthy and its restart policy restarts it.
    Unhealthy { attempt: u32 },
    /// The replica was stopped behind wharf's back (`docker stop`): drift, corrected.
    Drift,
    /// A step of a rolling update between or after its batches (a delay, a failure count).
    Rollout {
        service: String,
        batch: usize,
        batches: usize,
    },
    /// Putting a replica back on its old container: its batch failed, or (start-first) its
    /// new container never got ready.
    RollingBack(String),
    /// A network of the project exists with other options than the file's: it is recreated,
    /// and so are the containers on it.
    ResourceChanged(Changed),
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cause::Missing => f.write_str("missing"),
            Cause::NotRunning => f.write_str("not running"),
            Cause::ConfigChanged => f.write_str("config changed"),
            Cause::ImageChanged => f.write_str("image changed"),
            Cause::ContentChanged => f.write_str("secret or config content changed"),
            Cause::Forced => f.write_str("forced"),
            Cause::DependencyRecreated(s) => write!(f, "dependency {s} recreated"),
            Cause::Replacing(name) => write!(f, "replacing {name}"),
            Cause::ScaleDown => f.write_str("scale down"),
            Cause::Orphan => f.write_str("orphan"),
            Cause::DependedOn(s) => write!(f, "{s} depends on it"),
            Cause::Down => f.write_str("down"),
            Cause::Build => f.write_str("build"),
            Cause::ImageMissing => f.write_str("image missing"),
            Cause::PullAlways => f.write_str("pull_policy always"),
            Cause::Requested => f.write_str("requested"),
            Cause::RestartPolicy { attempt } => write!(f, "restart policy, attempt {attempt}"),
            Cause::Unhealthy { attempt } => write!(f, "unhealthy, attempt {attempt}"),
            Cause::Drift => f.write_str("stopped behind wharf's back"),
            Cause::Rollout {
                service,
                batch,
                batches,
            } => write!(f, "update of {service}, batch {batch} of {batches}"),
            Cause::RollingBack(name) => write!(f, "rolling back {name}"),
            Cause::ResourceChanged(changed) => write!(f, "{changed}"),
        }
    }
}

impl<C: fmt::Display> fmt::Display for Operation<C> {
    /// `#3 create container shop-web-1 (missing) [#1 #2]`; operations it waits for whatever
    /// their outcome follow `done`, and a fallback ends with `if #k failed`:
    /// `#9 stop container c0003_shop-web-1 (rolling back shop-web-1) [#0, if #6 failed]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{} {} ({})", self.id, self.action, self.cause)?;
        let ids = |ids: &[usize]| -> String {
            let ids: Vec<String> = ids.iter().map(|d| format!("#{d}")).collect();
            ids.join(" ")
        };
        let mut deps = Vec::new();
        if !self.after.is_empty() {
            deps.push(ids(&self.after));
        }
        if !self.settled.is_empty() {
            deps.push(format!("done {}", ids(&self.settled)));
        }
        if let Some(failed) = self.if_failed {
            deps.push(format!("if #{failed} failed"));
        }
        if !deps.is_empty() {
            write!(f, " [{}]", deps.join(", "))?;
        }
        Ok(())
    }
}

impl<C: fmt::Display> fmt::Display for Plan<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for warning in &self.warnings {
            writeln!(f, "warning: {warning}")?;
        }
        for operation in &self.operations {
            writeln!(f, "{operation}")?;
        }
        Ok(())
    }
}

// Not derived: that would ask the engine calls for a default.
impl<C> Default for Plan<C> {
    fn default() -> Plan<C> {
        Plan {
            operations: Vec::new(),
            warnings: Vec::new(),
            wake_at: None,
        }
    }
}

impl<C> Plan<C> {
    /// Adds an operation (an engine call or a control step) and returns its id.
    pub fn push(&mut self, action: impl Into<Action<C>>, cause: Cause, after: Vec<usize>) -> usize {
        self.push_with(action, cause, Deps::after(after))
    }

    /// Adds an operation that also waits for operations whatever their outcome, or that is
    /// a fallback; returns its id.
    pub fn push_with(&mut self, action: impl Into<Action<C>>, cause: Cause, deps: Deps) -> usize {
        let id = self.operations.len();
        self.operations.push(Operation {
            id,
            action: action.into(),
            cause,
            after: deps.after,
            settled: deps.settled,
            if_failed: deps.if_failed,
        });
        id
    }

    /// True when applying the plan changes nothing on the engine.
    pub fn is_empty(&self) -> bool {
        self.operations.iter().all(|op| !op.action.changes_engine())
    }
}
