//! Golden expectations taken from docker compose v2.40.3 itself: `compose_json_golden/*.json`
//! is what `docker compose config --format json` printed for the `.yaml` beside it (in
//! `/tmp/hashwork/p1` as project `hw1`, and `/tmp/hashwork/p2` with `--profile dev`), and the
//! hashes are the `com.docker.compose.config-hash` labels that `docker compose create` wrote on
//! those projects' containers.

use super::*;
use crate::desired::config_hash;

const COMMON_KEYS: &str = include_str!("compose_json_golden/common_keys.json");
const MORE_KEYS: &str = include_str!("compose_json_golden/more_keys.json");

/// v2's printed config read back as compose reads it (`$$` is `$`), into wharf's model, through
/// wharf's YAML reader (JSON is YAML) as a compose file is read.
fn model_of(printed: &str) -> Model {
    let mut value: Value = serde_json::from_str(&printed.replace("$$", "$")).unwrap();
    let object = value.as_object_mut().unwrap();
    let keys: Vec<String> = object
        .keys()
        .filter(|k| k.starts_with("x-"))
        .cloned()
        .collect();
    let extensions: Vec<(String, Value)> = keys
        .into_iter()
        .map(|k| {
            let v = object.remove(&k).unwrap();
            (k, v)
        })
        .collect();
    let file = std::sync::Arc::new(crate::spec::diagnostic::SourceFile {
        path: "v2.json".into(),
        text: value.to_string(),
    });
    let node = crate::spec::yaml::parse(file).unwrap().unwrap();
    let mut model: Model = crate::spec::de::from_node(&node).unwrap();
    model.extensions = extensions.into_iter().collect();
    model
}

/// A service from compose YAML, as the loader reads one.
fn service_of(yaml: &str) -> Service {
    let file = std::sync::Arc::new(crate::spec::diagnostic::SourceFile {
        path: "compose.yaml".into(),
        text: yaml.to_string(),
    });
    let node = crate::spec::yaml::parse(file).unwrap().unwrap();
    crate::spec::de::from_node(&node).unwrap()
}

#[test]
fn writes_the_project_byte_for_byte_as_compose_v2() {
    for printed in [COMMON_KEYS, MORE_KEYS] {
        let written = project(&model_of(printed)).replace('$', "$$");
        pretty_assertions::assert_eq!(written, printed);
    }
}

#[test]
fn the_config_hash_is_the_label_compose_v2_writes() {
    let cases = [
        (
            COMMON_KEYS,
            "web",
            "6a68e83e8a554691afce85d3c7b747af11856b34fb0a25ab2e09d2b37feb79a9",
        ),
        (
            COMMON_KEYS,
            "db",
            "46108b1a0882d6a5748c5a6daffee102b52ff2f4e559d55926dacec8d0ee1de4",
        ),
        (
            MORE_KEYS,
            "app",
            "cd827158296add629daa02515d985683746987d7133ddfa1f9679476d19819fd",
        ),
        (
            MORE_KEYS,
            "other",
            "701c3f58e55f55f279f1780f2411d55e11e5c9def0641e3122f0696edb749986",
        ),
    ];
    for (printed, service, label) in cases {
        let model = model_of(printed);
        assert_eq!(config_hash(&model.services[service]), label, "{service}");
    }
}

#[test]
fn a_service_is_written_compact_with_go_escapes() {
    let service = service_of(
        "image: busybox\n\
         environment: {B: '<a & b>', A: \"line\\nbreak\\x01\\u2028\", C: null}\n\
         labels: {z: '1', a: '2'}\n",
    );
    assert_eq!(
        service_compact(&service),
        r#"{"command":null,"entrypoint":null,"environment":{"A":"line\nbreak\u0001\u2028","B":"\u003ca \u0026 b\u003e","C":null},"image":"busybox","labels":{"a":"2","z":"1"}}"#
    );
}

#[test]
fn struct_values_are_written_even_when_empty_and_zero_values_are_not() {
    let service = service_of(
        "image: busybox\n\
         deploy: {replicas: 0}\n\
         ports: [{target: 80, protocol: tcp, mode: ingress}]\n",
    );
    assert_eq!(
        service_compact(&service),
        r#"{"command":null,"deploy":{"replicas":0,"resources":{},"placement":{}},"entrypoint":null,"image":"busybox","ports":[{"mode":"ingress","target":80,"protocol":"tcp"}]}"#
    );
}

#[test]
fn numbers_bytes_modes_and_hosts_take_compose_forms() {
    let service = service_of(
        "cpus: 2\n\
         mem_limit: 1k\n\
         extra_hosts: ['b:10.0.0.1', 'a=::1', 'c=1.1.1.1,2.2.2.2']\n\
         secrets: [{source: s, mode: 0o4755}]\n",
    );
    assert_eq!(
        service_compact(&service),
        r#"{"cpus":2,"command":null,"entrypoint":null,"extra_hosts":["a=::1","b=10.0.0.1","c=1.1.1.1","c=2.2.2.2"],"mem_limit":"1024","secrets":[{"source":"s","mode":"04755"}]}"#
    );
}
