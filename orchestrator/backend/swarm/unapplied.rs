//! The keys of a service that the swarm target does not apply: one warning each, naming the
//! key and why, so that nothing in a file is dropped silently. A key is found by the service's
//! own canonical form (what `wharf config` prints), so a key added to the model is warned
//! about until it is mapped here.
//! Each warning starts with the key's file, line and column, as the loader recorded them
//! (`Project::key_spans`).

use indexmap::IndexMap;

use crate::spec::diagnostic::Span;
use crate::spec::model::Service;

/// Service keys the swarm target maps onto a swarm service (or that only the loader reads).
const APPLIED: &[&str] = &[
    "build",
    "cap_add",
    "cap_drop",
    "command",
    "configs",
    "deploy",
    "depends_on",
    "dns",
    "dns_opt",
    "dns_search",
    "entrypoint",
    "environment",
    "extra_hosts",
    "group_add",
    "healthcheck",
    "hostname",
    "image",
    "init",
    "label_file",
    "labels",
    "logging",
    "networks",
    "ports",
    "profiles",
    "read_only",
    "restart",
    "scale",
    "secrets",
    "stdin_open",
    "stop_grace_period",
    "stop_signal",
    "sysctls",
    "tmpfs",
    "tty",
    "ulimits",
    "user",
    "volumes",
    "working_dir",
];

const RESOURCES: &str = "a swarm service takes its resources from deploy.resources";
const ONE_HOST: &str = "it is about one host, and a task may run on any node";
const LOCAL: &str = "it is wharf's own, on the local target only";

/// Keys a swarm service cannot have, and why.
const CANNOT: &[(&str, &str)] = &[
    ("container_name", "a swarm names every task itself"),
    ("privileged", "swarm services cannot run privileged"),
    ("devices", ONE_HOST),
    (
        "network_mode",
        "a swarm service joins overlay networks only",
    ),
    (
        "links",
        "a swarm service reaches others by their names on a shared network",
    ),
    (
        "external_links",
        "a swarm service reaches others by their names on a shared network",
    ),
    ("volumes_from", ONE_HOST),
    ("security_opt", "swarm services have no such setting"),
    ("userns_mode", "swarm services have no such setting"),
    ("cgroup_parent", "swarm services have no such setting"),
    ("ipc", "swarm services have no such setting"),
    ("pid", "swarm services have no such setting"),
    ("cpus", RESOURCES),
    ("cpu_shares", RESOURCES),
    ("cpu_quota", RESOURCES),
    ("cpu_period", RESOURCES),
    ("cpuset", RESOURCES),
    ("mem_limit", RESOURCES),
    ("mem_reservation", RESOURCES),
    ("memswap_limit", RESOURCES),
    ("pids_limit", RESOURCES),
    ("post_start", LOCAL),
    ("pre_stop", LOCAL),
    ("develop", LOCAL),
    ("attach", LOCAL),
    ("use_api_socket", LOCAL),
];

const DEPLOY_RESOURCES_NOT_YET: &[&str] = &["devices"];

/// How the swarm target takes a service key of the canonical form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Support {
    Applied,
    /// A swarm service cannot have it, and why.
    Cannot(&'static str),
    /// wharf's swarm target does not map it yet.
    NotYet,
}

/// How the swarm target takes the service key `key`.
pub fn support(key: &str) -> Support {
    if APPLIED.contains(&key) {
        return Support::Applied;
    }
    match CANNOT.iter().find(|(k, _)| *k == key) {
        Some((_, why)) => Support::Cannot(why),
        None => Support::NotYet,
    }
}

/// One warning per key of `service` (named `name`) that the swarm target does not apply, at
/// the key's place in `spans`.
pub fn warnings(name: &str, service: &Service, spans: &IndexMap<String, Span>) -> Vec<String> {
    let at = |path: &str, text: String| match spans.get(path) {
        Some(span) => format!("{span}: {text}"),
        None => text,
    };
    let Ok(serde_json::Value::Object(keys)) = serde_json::to_value(service) else {
        return Vec::new();
    };
    let mut warnings: Vec<String> = keys
        .keys()
        .filter_map(|key| {
            let path = format!("services.{name}.{key}");
            let text = match support(key) {
                Support::Applied => return None,
                Support::Cannot(why) => format!("{path} is not applied on a swarm: {why}"),
                Support::NotYet => format!(
                    "{path} is not applied on a swarm: wharf's swarm target does not apply it yet"
                ),
            };
            Some(at(&path, text))
        })
        .collect();
    for (dependency, _) in service.depends_on.iter().filter(|(_, d)| d.restart) {
        let path = format!("services.{name}.depends_on.{dependency}.restart");
        let text = format!(
            "{path} is not applied on a swarm: the swarm restarts a service's tasks, not the \
             services that depend on it"
        );
        warnings.push(at(&format!("services.{name}.depends_on"), text));
    }
    let resources = service.deploy.as_ref().map(|d| &d.resources);
    for (kind, resource) in resources
        .into_iter()
        .flat_map(|r| [("limits", &r.limits), ("reservations", &r.reservations)])
    {
        let Some(resource) = resource else { continue };
        let set = [!resource.devices.is_empty()];
        for (key, _) in DEPLOY_RESOURCES_NOT_YET.iter().zip(set).filter(|(_, s)| *s) {
            let path = format!("services.{name}.deploy.resources.{kind}.{key}");
            let text = format!(
                "{path} is not applied on a swarm: wharf's swarm target does not apply it yet"
            );
            warnings.push(at(&format!("services.{name}.deploy.resources"), text));
        }
    }
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The warnings of the service `s` written `yaml`, without their places.
    fn warned(yaml: &str) -> Vec<String> {
        let service = crate::backend::swarm::stack::tests::service(yaml);
        warnings("web", &service, &IndexMap::new())
    }

    #[test]
    fn a_key_a_swarm_cannot_have_is_named_with_why() {
        assert_eq!(
            warned("image: b\nprivileged: true\ncontainer_name: x\n"),
            [
                "services.web.container_name is not applied on a swarm: a swarm names every task itself",
                "services.web.privileged is not applied on a swarm: swarm services cannot run privileged",
            ]
        );
    }

    #[test]
    fn a_warning_starts_at_the_keys_line() {
        let project = crate::backend::swarm::stack::tests::project(
            "services:\n  web:\n    image: b\n    privileged: true\n",
        );
        let service = &project.model.services["web"];
        let warnings = warnings("web", service, &project.key_spans);
        assert!(warnings[0].ends_with(":4:5: services.web.privileged is not applied on a swarm: swarm services cannot run privileged"), "{warnings:?}");
    }

    /// docs/compatibility.md's table of service keys has a `swarm` column: it says what this
    /// module does with each key, so the two cannot drift apart.
    #[test]
    fn the_swarm_column_of_the_compatibility_tables_says_what_the_swarm_target_does() {
        let doc = include_str!("../../../docs/compatibility.md");
        let table = doc
            .split("\n## Service keys\n")
            .nth(1)
            .and_then(|rest| rest.split("\n## ").next())
            .expect("the service keys section");
        let mut rows = 0;
        for line in table.lines().filter(|l| l.starts_with("| `")) {
            let cells: Vec<&str> = line.split(" | ").collect();
            let key = cells[0].trim_start_matches("| ").trim_matches('`');
            let swarm = cells[3];
            let expected = match (key, support(key)) {
                // Resolved by the loader: nothing is left of them to apply.
                ("extends" | "env_file", _) => "— (load time)",
                // Refused by the loader, as compose v2 refuses it.
                ("pre_start", _) => "— (refused)",
                (_, Support::Applied) => "yes",
                (_, Support::Cannot(_)) => "no",
                (_, Support::NotYet) => "not yet",
            };
            assert_eq!(swarm, expected, "the swarm column of `{key}`: {line}");
            rows += 1;
        }
        assert!(rows > 90, "every service key has its row ({rows})");
    }

    #[test]
    fn depends_on_is_applied_but_a_restart_of_dependents_is_not() {
        let warned = |dependency: &str| {
            let project = crate::backend::swarm::stack::tests::project(&format!(
                "services:\n  web:\n    image: b\n    depends_on: {dependency}\n  db:\n    image: b\n"
            ));
            warnings("web", &project.model.services["web"], &IndexMap::new())
        };
        assert!(warned("[db]").is_empty());
        assert_eq!(
            warned("{db: {condition: service_started, restart: true}}"),
            [
                "services.web.depends_on.db.restart is not applied on a swarm: the swarm restarts a service's tasks, not the services that depend on it"
            ]
        );
    }

    #[test]
    fn a_key_not_mapped_yet_is_named_and_applied_keys_are_not() {
        let text = "image: b\nenvironment: [A=1]\ndomainname: example.org\ndeploy: {replicas: 2}\n";
        assert_eq!(
            warned(text),
            [
                "services.web.domainname is not applied on a swarm: wharf's swarm target does not apply it yet"
            ]
        );
    }
}
