//! A plan: the engine operations that turn what is observed into what is desired, each with
//! its cause and the operations it must wait for. `reconcile` makes them; it is pure, so every
//! decision can be tested without an engine, in the text form `Display` prints.

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
use std::time::Duration;

pub use drift::{Changed, ResourceOption};
pub use down::down;
pub use options::{BuildPolicy, DownOptions, PlanError, ReconcileOptions, ResourceKind, Rmi};
pub use reconcile::reconcile;
pub use supervision::Supervision;

use crate::desired::{
    ContainerSpec, DesiredNetwork, DesiredVolume, FailureAction, Hook, HookStage,
};
use crate::spec::model::{Build, DependencyCondition};
use crate::spec::short::Duration as GoDuration;

#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub operations: Vec<Operation>,
    /// Things the user should know that are not operations (orphans left in place, a network
    /// reused without our labels).
    pub warnings: Vec<String>,
    /// When a supervised plan wants to be made again: the earliest restart whose backoff has
    /// not elapsed yet.
    pub wake_at: Option<crate::restart::Millis>,
}

#[derive(Debug, Clone)]
pub struct Operation {
    /// Its index in `Plan::operations`.
    pub id: usize,
    pub action: Action,
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

// Plans hold tens of operations; boxing the large variants would buy nothing measurable.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Action {
    CreateNetwork(DesiredNetwork),
    RemoveNetwork {
        name: String,
    },
    CreateVolume(DesiredVolume),
    RemoveVolume {
        name: String,
    },
    PullImage {
        service: String,
        image: String,
        platform: Option<String>,
    },
    BuildImage {
        service: String,
        image: String,
        build: Build,
    },
    CreateContainer {
        service: String,
        number: u32,
        name: String,
        spec: Box<ContainerSpec>,
    },
    StartContainer {
        service: String,
        container: ContainerRef,
    },
    StopContainer {
        service: String,
        container: ContainerRef,
        timeout: Option<Duration>,
    },
    RemoveContainer {
        service: String,
        container: ContainerRef,
        volumes: bool,
    },
    RenameContainer {
        service: String,
        container: ContainerRef,
        to: String,
    },
    /// Runs a lifecycle hook (`post_start[index]`, `pre_stop[index]`) in a container.
    RunHook {
        service: String,
        container: ContainerRef,
        stage: HookStage,
        index: usize,
        hook: Hook,
    },
    /// Waits until `service`'s containers (or only `container`) meet a condition.
    WaitFor {
        service: String,
        container: Option<ContainerRef>,
        condition: WaitCondition,
        required: bool,
    },
    /// Waits for `period`: `update_config.delay` between two batches.
    Delay {
        service: String,
        period: Duration,
    },
    /// Watches a container for `period`: it fails when the container stops running or turns
    /// unhealthy in that time (`update_config.monitor`).
    Monitor {
        service: String,
        container: ContainerRef,
        period: Duration,
    },
    /// `down --rmi`: removes an image tag of a service.
    RemoveImage {
        service: String,
        image: String,
    },
    /// Fails when more than `tolerated` of the `watched` operations did not succeed: the
    /// failure count of a rolling update, after which its `failure_action` applies. Failing
    /// is all it does: what happens next is in the operations that wait for it.
    CheckFailures {
        service: String,
        watched: Vec<usize>,
        tolerated: usize,
        /// How many replicas the whole update replaces (for the message).
        updated: usize,
        failure_action: FailureAction,
    },
}

/// What a wait waits for: a `depends_on` condition, or `up --wait`'s "running".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitCondition {
    /// Started once (it may have exited since: a one-shot job counts).
    Started,
    /// Running now; an exited container fails the wait.
    Running,
    Healthy,
    CompletedSuccessfully,
}

impl From<DependencyCondition> for WaitCondition {
    fn from(condition: DependencyCondition) -> WaitCondition {
        match condition {
            DependencyCondition::ServiceStarted => WaitCondition::Started,
            DependencyCondition::ServiceHealthy => WaitCondition::Healthy,
            DependencyCondition::ServiceCompletedSuccessfully => {
                WaitCondition::CompletedSuccessfully
            }
        }
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

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::CreateNetwork(n) => write!(f, "create network {}", n.name),
            Action::RemoveNetwork { name } => write!(f, "remove network {name}"),
            Action::CreateVolume(v) => write!(f, "create volume {}", v.name),
            Action::RemoveVolume { name } => write!(f, "remove volume {name}"),
            Action::PullImage { image, .. } => write!(f, "pull image {image}"),
            Action::BuildImage { image, .. } => write!(f, "build image {image}"),
            Action::RemoveImage { image, .. } => write!(f, "remove image {image}"),
            Action::CreateContainer { name, .. } => write!(f, "create container {name}"),
            Action::StartContainer { container, .. } => {
                write!(f, "start container {}", container.name)
            }
            Action::StopContainer { container, .. } => {
                write!(f, "stop container {}", container.name)
            }
            Action::RemoveContainer {
                container, volumes, ..
            } => {
                write!(f, "remove container {}", container.name)?;
                if *volumes {
                    f.write_str(" with volumes")?;
                }
                Ok(())
            }
            Action::RenameContainer { container, to, .. } => {
                write!(f, "rename container {} to {to}", container.name)
            }
            Action::RunHook {
                container,
                stage,
                index,
                ..
            } => write!(
                f,
                "run {}[{index}] in container {}",
                stage.key(),
                container.name
            ),
            Action::WaitFor {
                service,
                container,
                condition,
                ..
            } => {
                let condition = match condition {
                    WaitCondition::Started => "started",
                    WaitCondition::Running => "running",
                    WaitCondition::Healthy => "healthy",
                    WaitCondition::CompletedSuccessfully => "completed successfully",
                };
                match container {
                    Some(container) => {
                        write!(f, "wait for container {} {condition}", container.name)
                    }
                    None => write!(f, "wait for {service} {condition}"),
                }
            }
            Action::Delay { period, .. } => write!(f, "delay {}", GoDuration(*period)),
            Action::Monitor {
                container, period, ..
            } => write!(
                f,
                "monitor container {} for {}",
                container.name,
                GoDuration(*period)
            ),
            Action::CheckFailures {
                service,
                tolerated,
                updated,
                failure_action,
                ..
            } => write!(
                f,
                "check update of {service}: tolerate {tolerated} failed of {updated}, else {}",
                failure_action_name(*failure_action)
            ),
        }
    }
}

/// As the compose file writes it.
fn failure_action_name(action: FailureAction) -> &'static str {
    match action {
        FailureAction::Pause => "pause",
        FailureAction::Continue => "continue",
        FailureAction::Rollback => "rollback",
    }
}

impl fmt::Display for Operation {
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

impl fmt::Display for Plan {
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

impl Plan {
    /// Adds an operation and returns its id.
    pub fn push(&mut self, action: Action, cause: Cause, after: Vec<usize>) -> usize {
        self.push_with(action, cause, Deps::after(after))
    }

    /// Adds an operation that also waits for operations whatever their outcome, or that is
    /// a fallback; returns its id.
    pub fn push_with(&mut self, action: Action, cause: Cause, deps: Deps) -> usize {
        let id = self.operations.len();
        self.operations.push(Operation {
            id,
            action,
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

impl Action {
    /// False for the operations that only wait, watch or count.
    pub fn changes_engine(&self) -> bool {
        !matches!(
            self,
            Action::WaitFor { .. }
                | Action::Delay { .. }
                | Action::Monitor { .. }
                | Action::CheckFailures { .. }
        )
    }
}
