//! Names and labels as `docker stack deploy` makes them, so that `docker stack ls`, `ps`,
//! `services` and `rm` see a project wharf deployed, and wharf manages a stack that `stack
//! deploy` made.

use std::collections::HashMap;

use indexmap::IndexMap;

/// The stack a service, network, config or secret belongs to: the project's name.
pub const NAMESPACE: &str = "com.docker.stack.namespace";
/// The image a service was deployed with, as written in the file.
pub const IMAGE: &str = "com.docker.stack.image";

/// The health check wharf sent, as compact JSON: bollard reads a service's health check under
/// the API documentation's key (`HealthCheck`) while the engine writes `Healthcheck`, so the
/// swarm's copy comes back empty and the label is what tells a change.
pub const HEALTHCHECK: &str = "dev.wharf.healthcheck";

/// A secret's or config's key in the compose file (its swarm name has a content hash).
pub const COMPOSE_NAME: &str = "dev.wharf.compose-name";

/// `<project>_<name>`: a service's, network's, config's or secret's name on the swarm.
pub fn scoped(project: &str, name: &str) -> String {
    format!("{project}_{name}")
}

/// The compose service a swarm service of `project` is, from its name.
pub fn service_key<'a>(project: &str, service: &'a str) -> Option<&'a str> {
    service.strip_prefix(project)?.strip_prefix('_')
}

/// `labels` with the stack's namespace added, as a map for the engine.
pub fn with_namespace(project: &str, labels: &IndexMap<String, String>) -> HashMap<String, String> {
    let mut all: HashMap<String, String> = labels.clone().into_iter().collect();
    all.insert(NAMESPACE.to_string(), project.to_string());
    all
}

/// The engine's filter for what belongs to the stack `project`.
pub fn filter(project: &str) -> HashMap<String, Vec<String>> {
    HashMap::from([("label".to_string(), vec![format!("{NAMESPACE}={project}")])])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_service_name_gives_back_its_key_only_in_its_own_project() {
        assert_eq!(service_key("shop", "shop_web"), Some("web"));
        assert_eq!(service_key("shop", "shopping_web"), None);
        assert_eq!(service_key("shop", "other_web"), None);
    }
}
