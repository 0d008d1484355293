//! The docker CLI's registry credentials, as compose v2 hands them to a service with
//! `use_api_socket`: the `auths` of the CLI's `config.json` (`$DOCKER_CONFIG`, else
//! `~/.docker`), written back as the CLI writes a config file. Credential helpers
//! (`credsStore`, `credHelpers`) are not run: their registries are left out.

use std::collections::BTreeMap;
use std::path::PathBuf;

use indexmap::IndexMap;
use serde_json::{Map, Value};

/// The fields of an `auths` entry that the CLI keeps when it saves a config file, in its
/// order (`Username`, `Password` and `ServerAddress` are folded into `auth` or dropped).
const KEPT: &[&str] = &["auth", "email", "identitytoken", "registrytoken"];

/// `{"auths": {...}}`, tab-indented and with the registries sorted, as Go's `MarshalIndent`
/// of the CLI's `ConfigFile` prints it; no readable config file gives no credentials.
pub fn cli_credentials(environment: &IndexMap<String, String>) -> String {
    let auths = config_path(environment)
        .and_then(|path| std::fs::read_to_string(path).ok())
        .and_then(|text| serde_json::from_str::<Value>(&text).ok())
        .and_then(|config| config.get("auths").and_then(Value::as_object).cloned())
        .unwrap_or_default();
    let kept: BTreeMap<String, Map<String, Value>> = auths
        .into_iter()
        .map(|(registry, entry)| {
            let fields = KEPT
                .iter()
                .filter_map(|key| {
                    let value = entry.get(*key)?.as_str().filter(|v| !v.is_empty())?;
                    Some((key.to_string(), Value::from(value)))
                })
                .collect();
            (registry, fields)
        })
        .collect();
    let document = serde_json::json!({ "auths": kept });
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"\t");
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
    serde::Serialize::serialize(&document, &mut serializer).expect("JSON values serialize");
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

fn config_path(environment: &IndexMap<String, String>) -> Option<PathBuf> {
    let dir = match environment.get("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(environment.get("HOME")?).join(".docker"),
    };
    Some(dir.join("config.json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn environment(dir: &std::path::Path) -> IndexMap<String, String> {
        [("DOCKER_CONFIG".to_string(), dir.display().to_string())]
            .into_iter()
            .collect()
    }

    #[test]
    fn no_config_file_gives_no_credentials() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            cli_credentials(&environment(dir.path())),
            "{\n\t\"auths\": {}\n}"
        );
    }

    #[test]
    fn static_credentials_are_kept_and_the_rest_left_out() {
        let dir = tempfile::tempdir().unwrap();
        let config = r#"{
            "auths": {
                "registry.example.com": {"auth": "dTpw", "username": "u"},
                "ghcr.io": {"identitytoken": "tok"}
            },
            "credsStore": "desktop",
            "psFormat": "table"
        }"#;
        std::fs::write(dir.path().join("config.json"), config).unwrap();
        assert_eq!(
            cli_credentials(&environment(dir.path())),
            "{\n\t\"auths\": {\n\t\t\"ghcr.io\": {\n\t\t\t\"identitytoken\": \"tok\"\n\t\t},\n\t\t\
             \"registry.example.com\": {\n\t\t\t\"auth\": \"dTpw\"\n\t\t}\n\t}\n}"
        );
    }
}
