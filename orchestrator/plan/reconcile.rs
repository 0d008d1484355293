//! `reconcile`: desired + observed → plan. Pure: no I/O, no clock, no randomness.

use std::time::Duration;

use super::Plan;
use crate::desired::Desired;
use crate::observe::Observed;

/// When images are built.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum BuildPolicy {
    /// Build when the image is missing and the service has a `build` section (`up`).
    #[default]
    IfMissing,
    /// `up --build`.
    Always,
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
    pub build: BuildPolicy,
    /// `-t`: the stop timeout for replaced containers.
    pub timeout: Option<Duration>,
}

#[derive(Debug, Clone, Default)]
pub struct DownOptions {
    /// `-v`: remove named volumes declared in the file and anonymous volumes.
    pub volumes: bool,
    pub remove_orphans: bool,
    pub timeout: Option<Duration>,
}

pub fn reconcile(_desired: &Desired, _observed: &Observed, _options: &ReconcileOptions) -> Plan {
    unimplemented!("being written")
}

pub fn down(
    _project: &str,
    _desired: Option<&Desired>,
    _observed: &Observed,
    _options: &DownOptions,
) -> Plan {
    unimplemented!("being written")
}
