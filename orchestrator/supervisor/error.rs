//! Why a supervisor's converge or request did not succeed. The words are those the CLI prints
//! and the control socket sends back to the `up` that asked.

use std::collections::BTreeSet;

use super::request::PrepareError;
use crate::dns::DnsConfigError;
use crate::engine::EngineError;
use crate::plan::PlanError;

#[derive(Debug, thiserror::Error)]
pub enum SupervisorError {
    /// The compose files do not load, or the request's flags contradict them.
    #[error("{0}")]
    Prepare(PrepareError),
    #[error("cannot observe the engine: {0}")]
    Observe(#[source] EngineError),
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// wharf's DNS settings (`WHARF_DNS_*`) do not parse.
    #[error(transparent)]
    DnsConfig(#[from] DnsConfigError),
    /// Operations of the plan failed: the first one's message; `stale` when every failure was
    /// the engine changing under the plan; the services whose operations failed.
    #[error("{message}")]
    Failed {
        message: String,
        stale: bool,
        services: BTreeSet<String>,
    },
    /// The request cannot be kept in the state directory: acting on it anyway would let a
    /// supervisor started again undo it.
    #[error("the request was refused, nothing was changed: {0}")]
    Unsaved(#[source] std::io::Error),
    #[error("this supervisor serves an attached `up`; its watching ends with it")]
    WatchOfAttached,
}
