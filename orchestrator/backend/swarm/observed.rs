//! What the swarm holds for a stack, as the plan needs it: each service's ID, version and
//! spec (network IDs turned back into names, so that it reads as wharf writes it), and the
//! stack's networks.

use indexmap::IndexMap;
use serde_json::Value;

/// A stack on the swarm: what carries its namespace label.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ObservedStack {
    /// By swarm name.
    pub services: IndexMap<String, ObservedService>,
    /// By swarm name.
    pub networks: IndexMap<String, ObservedNetwork>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ObservedService {
    pub id: String,
    /// The swarm's version of the service: an update must name it.
    pub version: u64,
    /// The spec as the swarm holds it, in the engine's JSON.
    pub spec: Value,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedNetwork {
    pub id: String,
}
