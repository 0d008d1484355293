//! What one operation of a plan does: an engine call, which only the backend that runs the plan
//! knows how to make, or a control step (a wait, a delay, a monitor, a failure count), which
//! the executor serves alike for every backend. The text each prints is the plan's text, which
//! the golden plans compare.

use std::fmt;
use std::time::Duration;

use super::ContainerRef;
use crate::desired::{
    ContainerSpec, DesiredNetwork, DesiredVolume, FailureAction, Hook, HookStage,
};
use crate::spec::model::{Build, DependencyCondition};
use crate::spec::short::Duration as GoDuration;

/// An operation's action. `C` is the engine calls of the backend the plan is for; the
/// container backend's, [`EngineCall`], unless said otherwise.
#[derive(Debug, Clone)]
pub enum Action<C = EngineCall> {
    Engine(C),
    Control(ControlStep),
}

impl<C> Action<C> {
    /// The engine call, when the action is one.
    pub fn engine_call(&self) -> Option<&C> {
        match self {
            Action::Engine(call) => Some(call),
            Action::Control(_) => None,
        }
    }

    /// False for the control steps: they only wait, watch or count.
    pub fn changes_engine(&self) -> bool {
        matches!(self, Action::Engine(_))
    }
}

impl From<EngineCall> for Action<EngineCall> {
    fn from(call: EngineCall) -> Action<EngineCall> {
        Action::Engine(call)
    }
}

impl<C> From<ControlStep> for Action<C> {
    fn from(step: ControlStep) -> Action<C> {
        Action::Control(step)
    }
}

/// One call to a Docker-compatible container engine.
// Plans hold tens of operations; boxing the large variants would buy nothing measurable.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum EngineCall {
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
    /// `down --rmi`: removes an image tag of a service.
    RemoveImage {
        service: String,
        image: String,
    },
}

/// A step that makes no change: it waits, watches or counts. What it looks at comes from the
/// backend; what it concludes is the executor's.
#[derive(Debug, Clone)]
pub enum ControlStep {
    /// Waits until `service`'s containers (or only `container`) meet a condition.
    WaitFor {
        service: String,
        container: Option<ContainerRef>,
        condition: WaitCondition,
        required: bool,
    },
    /// Waits for `period`: `update_config.delay` between two batches.
    Delay { service: String, period: Duration },
    /// Watches a container for `period`: it fails when the container stops running or turns
    /// unhealthy in that time (`update_config.monitor`).
    Monitor {
        service: String,
        container: ContainerRef,
        period: Duration,
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

impl<C: fmt::Display> fmt::Display for Action<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Engine(call) => call.fmt(f),
            Action::Control(step) => step.fmt(f),
        }
    }
}

impl fmt::Display for EngineCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EngineCall::CreateNetwork(n) => write!(f, "create network {}", n.name),
            EngineCall::RemoveNetwork { name } => write!(f, "remove network {name}"),
            EngineCall::CreateVolume(v) => write!(f, "create volume {}", v.name),
            EngineCall::RemoveVolume { name } => write!(f, "remove volume {name}"),
            EngineCall::PullImage { image, .. } => write!(f, "pull image {image}"),
            EngineCall::BuildImage { image, .. } => write!(f, "build image {image}"),
            EngineCall::RemoveImage { image, .. } => write!(f, "remove image {image}"),
            EngineCall::CreateContainer { name, .. } => write!(f, "create container {name}"),
            EngineCall::StartContainer { container, .. } => {
                write!(f, "start container {}", container.name)
            }
            EngineCall::StopContainer { container, .. } => {
                write!(f, "stop container {}", container.name)
            }
            EngineCall::RemoveContainer {
                container, volumes, ..
            } => {
                write!(f, "remove container {}", container.name)?;
                if *volumes {
                    f.write_str(" with volumes")?;
                }
                Ok(())
            }
            EngineCall::RenameContainer { container, to, .. } => {
                write!(f, "rename container {} to {to}", container.name)
            }
            EngineCall::RunHook {
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
        }
    }
}

impl fmt::Display for ControlStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ControlStep::WaitFor {
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
            ControlStep::Delay { period, .. } => write!(f, "delay {}", GoDuration(*period)),
            ControlStep::Monitor {
                container, period, ..
            } => write!(
                f,
                "monitor container {} for {}",
                container.name,
                GoDuration(*period)
            ),
            ControlStep::CheckFailures {
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
