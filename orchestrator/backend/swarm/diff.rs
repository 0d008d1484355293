//! Whether a service already has the spec wharf would send: the spec wharf makes is compared
//! with the one the swarm holds, key by key, only where wharf's spec says something. What the
//! engine fills in on its own (`Isolation: default`, a `Runtime`, defaults of the update
//! config wharf did not write) is not a difference, and an empty value is the same as none
//! (`Env: []` and no `Env`).

use serde_json::Value;

/// What the client cannot read back from the swarm (JSON pointers): bollard reads the health
/// check under `HealthCheck`, the engine writes `Healthcheck`. A label carries it instead
/// (`names::HEALTHCHECK`).
const UNREADABLE: &[&str] = &["/TaskTemplate/ContainerSpec/HealthCheck"];

/// Maps that wharf alone writes (the engine adds nothing to them): a key the swarm has and
/// wharf's spec has not is a difference too, so that a label removed from the file is removed.
const OWNED_MAPS: &[&str] = &["Labels", "TaskTemplate.ContainerSpec.Labels"];

/// The paths (`TaskTemplate.ContainerSpec.Env`) where `observed` does not have what `desired`
/// says, sorted.
pub fn differences(desired: &Value, observed: &Value) -> Vec<String> {
    let mut desired = desired.clone();
    for pointer in UNREADABLE {
        if let Some(value) = desired.pointer_mut(pointer) {
            *value = Value::Null;
        }
    }
    let mut paths = Vec::new();
    walk("", &desired, observed, &mut paths);
    paths.sort();
    paths.dedup();
    paths
}

fn walk(path: &str, desired: &Value, observed: &Value, paths: &mut Vec<String>) {
    if is_empty(desired) && is_empty(observed) {
        return;
    }
    match (desired, observed) {
        (Value::Object(want), Value::Object(have)) => {
            let extra = have.keys().any(|key| !want.contains_key(key));
            if extra && OWNED_MAPS.contains(&path) {
                paths.push(path.to_string());
                return;
            }
            for (key, value) in want {
                let inner = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                walk(&inner, value, have.get(key).unwrap_or(&Value::Null), paths);
            }
        }
        (Value::Array(want), Value::Array(have)) if want.len() == have.len() => {
            for (want, have) in want.iter().zip(have) {
                walk(path, want, have, paths);
            }
        }
        (Value::Number(want), Value::Number(have)) if want.as_f64() == have.as_f64() => {}
        _ if desired == observed => {}
        _ => paths.push(path.to_string()),
    }
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
