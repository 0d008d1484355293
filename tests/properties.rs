//! What must hold for every input (proptest): text without `$` is left as it is by
//! interpolation; durations, ports and volumes mean the same in their short and long syntax;
//! and what `wharf config` prints, loaded again, gives the same model.

use std::io::Write;
use std::process::{Command, Stdio};

use proptest::prelude::*;
use serde_json::{Value, json};
use wharf::spec::interpolate::substitute;
use wharf::spec::short::Duration;
use wharf::spec::{LoadOptions, load};

/// The model of a compose file given as text, as canonical JSON (the model has no `PartialEq`;
/// its serialization is what `config` prints).
fn model_of(text: &str, dir: &std::path::Path) -> Result<Value, String> {
    let project = load(&LoadOptions {
        files: vec!["-".into()],
        stdin: Some(text.to_string()),
        project_name: Some("prop".into()),
        cwd: dir.to_path_buf(),
        ..LoadOptions::default()
    })
    .map_err(|d| format!("{d:?}"))?;
    Ok(serde_json::to_value(&project.model).unwrap())
}

/// `wharf -p prop -f - config ARGS` on `text`, run in `dir`: its standard output.
fn config(text: &str, dir: &std::path::Path, args: &[&str]) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_wharf"))
        .args(["-p", "prop", "-f", "-", "config"])
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("COMPOSE_FILE")
        .env_remove("COMPOSE_PROJECT_NAME")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "wharf config failed on\n{text}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// The one service's value at `key` in a model.
fn service_key(model: &Value, key: &str) -> Value {
    model["services"]["s"][key].clone()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn interpolation_of_text_without_dollar_is_the_identity(text in "[^$]*") {
        let done = substitute(&text, &|_| Some("never".to_string())).unwrap();
        prop_assert_eq!(done.value, text);
        prop_assert!(done.unset.is_empty());
    }

    #[test]
    fn a_duration_printed_reads_back_the_same(nanos in 0u64..=(i64::MAX as u64)) {
        let duration = Duration(std::time::Duration::from_nanos(nanos));
        prop_assert_eq!(Duration::parse(&duration.to_string()), Ok(duration));
    }

    #[test]
    fn a_duration_in_units_or_in_milliseconds_is_the_same(
        hours in 0u64..1000, minutes in 0u64..60, seconds in 0u64..60, millis in 0u64..1000,
    ) {
        let total = ((hours * 60 + minutes) * 60 + seconds) * 1000 + millis;
        prop_assert_eq!(
            Duration::parse(&format!("{hours}h{minutes}m{seconds}s{millis}ms")),
            Duration::parse(&format!("{total}ms"))
        );
    }
}

/// A port: host address, published port (or none), target, protocol.
fn port() -> impl Strategy<Value = (Option<&'static str>, Option<u16>, u16, &'static str)> {
    (
        prop::option::of(prop::sample::select(vec![
            "127.0.0.1",
            "0.0.0.0",
            "10.1.2.3",
        ])),
        prop::option::of(1u16..),
        1u16..,
        prop::sample::select(vec!["tcp", "udp"]),
    )
        .prop_filter(
            "an address needs a published port",
            |(ip, published, ..)| ip.is_none() || published.is_some(),
        )
}

/// A volume: a bind of a relative or absolute path, or a named volume; target; read-only.
fn volume() -> impl Strategy<Value = (&'static str, String, bool)> {
    (
        prop::sample::select(vec!["./data", "/srv/data", "data"]),
        "/[a-z]{1,8}(/[a-z0-9_]{1,8}){0,2}",
        any::<bool>(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn ports_mean_the_same_in_short_and_long_syntax(
        ports in prop::collection::vec(port(), 1..4)
    ) {
        let dir = tempfile::tempdir().unwrap();
        let short: Vec<String> = ports
            .iter()
            .map(|(ip, published, target, protocol)| match (ip, published) {
                (Some(ip), Some(p)) => format!("{ip}:{p}:{target}/{protocol}"),
                (None, Some(p)) => format!("{p}:{target}/{protocol}"),
                _ => format!("{target}/{protocol}"),
            })
            .collect();
        let long: Vec<Value> = ports
            .iter()
            .map(|(ip, published, target, protocol)| {
                let mut port = json!({"target": target, "protocol": protocol});
                if let Some(ip) = ip {
                    port["host_ip"] = json!(ip);
                }
                if let Some(published) = published {
                    port["published"] = json!(published.to_string());
                }
                port
            })
            .collect();
        let file = |ports: Value| json!({"services": {"s": {"image": "i", "ports": ports}}});
        let from_short = model_of(&file(json!(short)).to_string(), dir.path()).unwrap();
        let from_long = model_of(&file(json!(long)).to_string(), dir.path()).unwrap();
        prop_assert_eq!(service_key(&from_short, "ports"), service_key(&from_long, "ports"));
    }

    #[test]
    fn volumes_mean_the_same_in_short_and_long_syntax(
        volumes in prop::collection::vec(volume(), 1..4)
            .prop_filter("one mount per target", |v| {
                let mut targets: Vec<&String> = v.iter().map(|(_, t, _)| t).collect();
                targets.sort();
                targets.dedup();
                targets.len() == v.len()
            })
    ) {
        let dir = tempfile::tempdir().unwrap();
        let short: Vec<String> = volumes
            .iter()
            .map(|(source, target, ro)| {
                format!("{source}:{target}{}", if *ro { ":ro" } else { "" })
            })
            .collect();
        let long: Vec<Value> = volumes
            .iter()
            .map(|(source, target, ro)| {
                let mut mount = json!({"source": source, "target": target, "read_only": ro});
                if source.starts_with(['.', '/']) {
                    // The short syntax creates a missing host path; the long one says so.
                    mount["type"] = json!("bind");
                    mount["bind"] = json!({"create_host_path": true});
                } else {
                    // Compose v2 prints the short syntax's named volume with `volume: {}` too.
                    mount["type"] = json!("volume");
                    mount["volume"] = json!({});
                }
                mount
            })
            .collect();
        let file = |volumes: Value| {
            json!({"services": {"s": {"image": "i", "volumes": volumes}}, "volumes": {"data": {}}})
        };
        let from_short = model_of(&file(json!(short)).to_string(), dir.path()).unwrap();
        let from_long = model_of(&file(json!(long)).to_string(), dir.path()).unwrap();
        prop_assert_eq!(service_key(&from_short, "volumes"), service_key(&from_long, "volumes"));
    }
}

/// A project of one service with values that need quoting in YAML (any text, `$` included),
/// short-syntax ports and volumes, and a healthcheck with durations.
fn project() -> impl Strategy<Value = Value> {
    (
        prop::collection::btree_map("[A-Z][A-Z0-9_]{0,8}", any::<String>(), 0..5),
        prop::collection::vec(any::<String>(), 0..4),
        prop::collection::btree_map("[a-z][a-z.]{0,10}", any::<String>(), 0..3),
        prop::collection::vec(port(), 0..3),
        prop::collection::vec(volume(), 0..2),
        (1u64..100_000, 0u32..10),
    )
        .prop_map(|(environment, command, labels, ports, volumes, (interval_ms, retries))| {
            // A `$` in a value is written `$$`, or it would be interpolated.
            let escape = |text: &String| text.replace('$', "$$");
            let mut service = json!({
                "image": "registry.example/app:1",
                "environment": environment.iter().map(|(k, v)| (k.clone(), json!(escape(v)))).collect::<serde_json::Map<_, _>>(),
                "labels": labels.iter().map(|(k, v)| (k.clone(), json!(escape(v)))).collect::<serde_json::Map<_, _>>(),
                "ports": ports.iter().map(|(ip, published, target, protocol)| match (ip, published) {
                    (Some(ip), Some(p)) => format!("{ip}:{p}:{target}/{protocol}"),
                    (None, Some(p)) => format!("{p}:{target}/{protocol}"),
                    _ => format!("{target}/{protocol}"),
                }).collect::<Vec<_>>(),
                "volumes": volumes.iter().map(|(s, t, _)| format!("{s}:{t}")).collect::<Vec<_>>(),
                "healthcheck": {
                    "test": ["CMD", "true"],
                    "interval": format!("{interval_ms}ms"),
                    "retries": retries,
                },
            });
            if !command.is_empty() {
                service["command"] = json!(command.iter().map(escape).collect::<Vec<_>>());
            }
            json!({"services": {"s": service}, "volumes": {"data": {}}})
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn config_output_loaded_again_gives_the_same_model(file in project()) {
        let dir = tempfile::tempdir().unwrap();
        let model = model_of(&file.to_string(), dir.path()).unwrap();
        for format in ["yaml", "json"] {
            let printed = config(&file.to_string(), dir.path(), &["--format", format]);
            let again = model_of(&printed, dir.path())
                .unwrap_or_else(|e| panic!("config's {format} does not load: {e}\n{printed}"));
            prop_assert_eq!(&again, &model, "{} output:\n{}", format, printed);
        }
    }
}

/// Found by `a_duration_printed_reads_back_the_same`: the parser summed floats and lost a
/// nanosecond of durations past about 104 days.
#[test]
fn a_long_duration_keeps_its_nanoseconds() {
    let text = "7226h29m37.470543373s";
    assert_eq!(
        Duration::parse(text).map(|d| d.0.as_nanos()),
        Ok(26_015_377_470_543_373)
    );
    assert_eq!(Duration::parse(text).unwrap().to_string(), text);
}
