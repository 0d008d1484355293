//! Whether a service already has the spec wharf would send. The spec wharf makes is compared
//! with the one the swarm holds key by key, both ways: a value wharf sends that the swarm does
//! not hold is a difference, and so is a value the swarm holds that wharf no longer sends (a
//! `deploy.update_config` or `placement` removed from the file must take the service back to
//! swarm's defaults). What the engine fills in on its own (`Isolation: default`, a `Runtime`,
//! an update config's failure action) is not a difference, and an empty value is the same as
//! none (`Env: []` and no `Env`).

use serde_json::Value;

/// What the client cannot read back from the swarm (JSON pointers): bollard reads the health
/// check under `HealthCheck`, the engine writes `Healthcheck`. A label carries it instead
/// (`names::HEALTHCHECK`).
const UNREADABLE: &[&str] = &["/TaskTemplate/ContainerSpec/HealthCheck"];

/// Maps that wharf alone writes (the engine adds nothing to them): a key the swarm has and
/// wharf's spec has not makes the whole map a difference, so that a label removed from the
/// file is removed.
const OWNED_MAPS: &[&str] = &["Labels", "TaskTemplate.ContainerSpec.Labels"];

/// What the engine writes into a service's spec when wharf's spec leaves it out: the path and
/// the value it writes (`None`: any value). Such a value is not a difference.
const ENGINE_FILLS: &[(&str, Option<&str>)] = &[
    ("TaskTemplate.Runtime", None),
    ("TaskTemplate.ContainerSpec.Isolation", Some("default")),
    ("UpdateConfig.FailureAction", Some("pause")),
    ("UpdateConfig.Order", Some("stop-first")),
    ("RollbackConfig.FailureAction", Some("pause")),
    ("RollbackConfig.Order", Some("stop-first")),
    // The client fills in the ID of each secret and config the spec names, when it sends it.
    ("TaskTemplate.ContainerSpec.Secrets.SecretID", None),
    ("TaskTemplate.ContainerSpec.Configs.ConfigID", None),
    ("EndpointSpec.Mode", Some("vip")),
    ("EndpointSpec.Ports.PublishMode", Some("ingress")),
    ("EndpointSpec.Ports.Protocol", Some("tcp")),
];

/// The paths (`TaskTemplate.ContainerSpec.Env`) where `observed`, the swarm's spec, is not
/// what `desired`, wharf's, says, both ways (what the engine fills in aside); sorted.
pub fn differences(desired: &Value, observed: &Value) -> Vec<String> {
    compare(desired, observed, Both)
}

/// The paths where `observed` lacks what `desired` says; what `observed` has beyond it is no
/// difference (a task's copy of its service's spec carries what the engine added). Sorted.
pub fn missing(desired: &Value, observed: &Value) -> Vec<String> {
    compare(desired, observed, DesiredOnly)
}

/// Which side's keys are compared.
#[derive(Clone, Copy, PartialEq)]
enum Sides {
    /// The keys of both: one that only the observed spec has is a difference.
    Both,
    /// The desired spec's keys only.
    DesiredOnly,
}
use Sides::{Both, DesiredOnly};

fn compare(desired: &Value, observed: &Value, sides: Sides) -> Vec<String> {
    let mut desired = desired.clone();
    let mut observed = observed.clone();
    for pointer in UNREADABLE {
        let values = [desired.pointer_mut(pointer), observed.pointer_mut(pointer)];
        for value in values.into_iter().flatten() {
            *value = Value::Null;
        }
    }
    let mut paths = Vec::new();
    walk("", &desired, &observed, sides, &mut paths);
    paths.sort();
    paths.dedup();
    paths
}

fn walk(path: &str, desired: &Value, observed: &Value, sides: Sides, paths: &mut Vec<String>) {
    if is_empty(desired) && is_empty(observed) {
        return;
    }
    match (desired, observed) {
        (Value::Object(want), Value::Object(have)) => {
            let extra: Vec<&String> = have.keys().filter(|k| !want.contains_key(*k)).collect();
            if !extra.is_empty() && OWNED_MAPS.contains(&path) {
                paths.push(path.to_string());
                return;
            }
            for (key, value) in want {
                let have = have.get(key).unwrap_or(&Value::Null);
                walk(&inner(path, key), value, have, sides, paths);
            }
            if sides == Both {
                for key in extra {
                    let inner = inner(path, key);
                    if !is_empty(&have[key]) && !engine_fills(&inner, &have[key]) {
                        paths.push(inner);
                    }
                }
            }
        }
        (Value::Array(want), Value::Array(have)) if want.len() == have.len() => {
            for (want, have) in want.iter().zip(have) {
                walk(path, want, have, sides, paths);
            }
        }
        (Value::Number(want), Value::Number(have)) if want.as_f64() == have.as_f64() => {}
        _ if desired == observed => {}
        (Value::Null, have) if engine_fills(path, have) => {}
        _ => paths.push(path.to_string()),
    }
}

fn inner(path: &str, key: &str) -> String {
    match path.is_empty() {
        true => key.to_string(),
        false => format!("{path}.{key}"),
    }
}

/// Whether `value` at `path` is what the engine writes there on its own.
fn engine_fills(path: &str, value: &Value) -> bool {
    ENGINE_FILLS
        .iter()
        .any(|(at, filled)| *at == path && filled.is_none_or(|f| value.as_str() == Some(f)))
}

/// What the engine leaves out of a spec when it is empty.
fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.values().all(is_empty),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn what_the_engine_fills_in_is_not_a_difference() {
        let desired = json!({"TaskTemplate": {"ContainerSpec": {"Image": "b", "Env": []}}});
        let observed = json!({"TaskTemplate": {"ContainerSpec": {"Image": "b",
            "Isolation": "default"}, "Runtime": "container", "ForceUpdate": 0}});
        assert!(differences(&desired, &observed).is_empty());
    }

    #[test]
    fn a_changed_or_removed_value_is_named_by_its_path() {
        let desired = json!({"Mode": {"Replicated": {"Replicas": 3}},
            "TaskTemplate": {"ContainerSpec": {"Env": []}}});
        let observed = json!({"Mode": {"Replicated": {"Replicas": 2}},
            "TaskTemplate": {"ContainerSpec": {"Env": ["A=1"]}}});
        assert_eq!(
            differences(&desired, &observed),
            ["Mode.Replicated.Replicas", "TaskTemplate.ContainerSpec.Env"]
        );
    }

    #[test]
    fn what_the_client_cannot_read_back_is_not_compared() {
        let desired = json!({"TaskTemplate": {"ContainerSpec": {"HealthCheck": {"Retries": 3}}}});
        assert!(differences(&desired, &json!({})).is_empty());
    }

    #[test]
    fn a_setting_removed_from_the_file_is_a_difference() {
        let desired = json!({"TaskTemplate": {"ContainerSpec": {"Image": "b"}}});
        let observed = json!({"TaskTemplate": {"ContainerSpec": {"Image": "b",
            "Isolation": "default"}, "Placement": {"Constraints": ["node.role == worker"]},
            "Runtime": "container"},
            "UpdateConfig": {"Parallelism": 2, "FailureAction": "pause", "Order": "stop-first"}});
        assert_eq!(
            differences(&desired, &observed),
            ["TaskTemplate.Placement", "UpdateConfig"]
        );
        assert!(missing(&desired, &observed).is_empty());
    }

    #[test]
    fn the_ids_the_client_fills_in_for_secrets_and_configs_are_not_a_difference() {
        let desired = json!({"TaskTemplate": {"ContainerSpec": {
            "Secrets": [{"SecretName": "shop_token_1"}]}}});
        let observed = json!({"TaskTemplate": {"ContainerSpec": {
            "Secrets": [{"SecretName": "shop_token_1", "SecretID": "abc"}]}}});
        assert!(differences(&desired, &observed).is_empty());
    }

    #[test]
    fn the_engines_defaults_inside_a_written_setting_are_not_a_difference() {
        let desired = json!({"UpdateConfig": {"Parallelism": 2}});
        let observed = json!({"UpdateConfig": {"Parallelism": 2, "FailureAction": "pause",
            "MaxFailureRatio": 0, "Order": "stop-first"}});
        assert!(differences(&desired, &observed).is_empty());
        let rollback = json!({"UpdateConfig": {"Parallelism": 2, "FailureAction": "rollback"}});
        assert_eq!(
            differences(&desired, &rollback),
            ["UpdateConfig.FailureAction"]
        );
    }

    #[test]
    fn a_label_the_file_no_longer_has_is_a_difference() {
        let desired = json!({"Labels": {"a": "1"}, "TaskTemplate": {}});
        let observed = json!({"Labels": {"a": "1", "b": "2"}, "TaskTemplate": {"Runtime": "x"}});
        assert_eq!(differences(&desired, &observed), ["Labels"]);
    }

    #[test]
    fn lists_differ_by_length_or_by_an_item() {
        let desired = json!({"Ports": [{"Target": 80}, {"Target": 81}]});
        assert_eq!(
            differences(&desired, &json!({"Ports": [{"Target": 80}]})),
            ["Ports"]
        );
        let swapped = json!({"Ports": [{"Target": 81}, {"Target": 80}]});
        assert_eq!(differences(&desired, &swapped), ["Ports.Target"]);
    }
}
