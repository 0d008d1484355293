//! What the swarm holds for a stack, as the plan needs it: each service's ID, version and
//! spec (network IDs turned back into names, so that it reads as wharf writes it), and the
//! stack's networks, secrets and configs.

use indexmap::IndexMap;
use serde_json::Value;

use bollard::models::ServiceSpec;

use super::files::FileKind;
use super::names;

/// A stack on the swarm: what carries its namespace label.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ObservedStack {
    /// By swarm name.
    pub services: IndexMap<String, ObservedService>,
    /// By swarm name.
    pub networks: IndexMap<String, ObservedNetwork>,
    /// The stack's own secrets and configs (external ones carry no namespace), by swarm name.
    pub files: IndexMap<String, ObservedFile>,
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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedFile {
    pub kind: FileKind,
    pub id: String,
}

impl ObservedService {
    /// The spec to create the service again as it was: the swarm's, with the health check
    /// that the client reads back only from wharf's label (`names::HEALTHCHECK`).
    pub fn restorable_spec(&self) -> ServiceSpec {
        let mut spec: ServiceSpec =
            serde_json::from_value(self.spec.clone()).expect("the swarm's spec is a spec");
        let label = spec.labels.as_ref().and_then(|l| l.get(names::HEALTHCHECK));
        let check = label.and_then(|json| serde_json::from_str(json).ok());
        let container = spec
            .task_template
            .as_mut()
            .and_then(|t| t.container_spec.as_mut());
        if let (Some(container), Some(check)) = (container, check) {
            container.health_check = Some(check);
        }
        spec
    }

    /// Whether the service's tasks attach to the network `name` (the observed spec names its
    /// networks, `client::observe` turned their IDs back into names).
    pub fn attaches(&self, name: &str) -> bool {
        let networks = self.spec.pointer("/TaskTemplate/Networks");
        networks
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .any(|n| n.get("Target").and_then(Value::as_str) == Some(name))
    }

    /// The swarm's `TaskTemplate.ForceUpdate` counter: the spec wharf sends carries it (a
    /// changed counter replaces every task), and `up --force-recreate` moves it on.
    pub fn force_update(&self) -> u64 {
        let counter = self.spec.pointer("/TaskTemplate/ForceUpdate");
        counter.and_then(Value::as_u64).unwrap_or_default()
    }

    /// Whether the service's spec refers to the secret or config `name`.
    pub fn uses(&self, kind: FileKind, name: &str) -> bool {
        let (list, key) = match kind {
            FileKind::Secret => ("/TaskTemplate/ContainerSpec/Secrets", "SecretName"),
            FileKind::Config => ("/TaskTemplate/ContainerSpec/Configs", "ConfigName"),
        };
        let references = self.spec.pointer(list).and_then(Value::as_array);
        references
            .into_iter()
            .flatten()
            .any(|r| r.get(key).and_then(Value::as_str) == Some(name))
    }
}
