//! What a plan is asked for: the options of `reconcile` and `down` (the flags of `up` and
//! `down`, and what the supervisor adds), and why no plan can be made.

use std::fmt;
use std::time::Duration;

use super::Supervision;

/// When images are built.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum BuildPolicy {
    /// Build when the image is missing and the service has a `build` section (`up`). Builds
    /// the user asks for (`up --build`, `pull_policy: build`) run before the plan is made, so
    /// that a new image ID shows as `image changed` and an identical rebuild changes nothing.
    #[default]
    IfMissing,
    /// `up --no-build`.
    Never,
}

#[derive(Debug, Clone, Default)]
pub struct ReconcileOptions {
    /// Service arguments of `up`; empty is every service.
    pub services: Vec<String>,
    /// `--no-deps`: do not bring up the dependencies of the named services.
    pub no_deps: bool,
    pub force_recreate: bool,
    pub no_recreate: bool,
    pub remove_orphans: bool,
    /// `COMPOSE_IGNORE_ORPHANS`: orphans are left alone, without a warning.
    pub ignore_orphans: bool,
    pub build: BuildPolicy,
    /// `-t`: the stop timeout for replaced containers.
    pub timeout: Option<Duration>,
    /// `-V`: a replaced container's anonymous volumes are not passed on to its replacement.
    pub renew_anon_volumes: bool,
    /// Set by the supervisor: exited and unhealthy replicas follow their restart policy
    /// instead of being started as `up` starts them.
    pub supervision: Option<Supervision>,
}

#[derive(Debug, Clone, Default)]
pub struct DownOptions {
    /// `-v`: remove named volumes declared in the file and anonymous volumes.
    pub volumes: bool,
    pub remove_orphans: bool,
    pub timeout: Option<Duration>,
    /// `down SERVICE...`: only these services and the services that depend on them; networks
    /// still in use by the other containers stay, and so do named volumes. Empty: the project.
    pub services: Vec<String>,
    /// `--rmi`: also remove the services' images.
    pub rmi: Option<Rmi>,
}

/// `down --rmi`: which images go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Rmi {
    /// Only the images named after their service (`<project>-<service>`: built without an
    /// `image:` of their own).
    Local,
    /// Every image the services use.
    All,
}

/// What a plan names that is not a container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceKind {
    Network,
    Volume,
}

impl fmt::Display for ResourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ResourceKind::Network => "network",
            ResourceKind::Volume => "volume",
        })
    }
}

/// Why no plan can be made: nothing would converge the engine on the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// An `external: true` network or volume that the engine does not have; wharf never
    /// creates external resources.
    #[error(
        "{kind} {name} declared as external, but could not be found (create it with `docker {kind} create {name}`)"
    )]
    ExternalMissing { kind: ResourceKind, name: String },
    /// A service argument that the file does not define.
    #[error("no such service: {name}")]
    UnknownService { name: String },
}
