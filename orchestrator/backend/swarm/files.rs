//! Secrets and configs on a swarm. The swarm cannot change one in place (`stack deploy` fails
//! when a file changed), so each version has its own name, `<name>_<hash8>` of its content:
//! a changed one is a new object, its services are updated to it (a rolling update, as any
//! spec change), and the plan removes the old version once no service of the stack uses it.
//! External ones are referenced by their name, never created or removed.

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bollard::models::{
    TaskSpecContainerSpecConfigs, TaskSpecContainerSpecFile, TaskSpecContainerSpecFile1,
    TaskSpecContainerSpecSecrets,
};
use indexmap::IndexMap;
use sha2::{Digest, Sha256};

use super::names;
use crate::spec::Project;
use crate::spec::model::{FileObject, FileReference, Service};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FileKind {
    Secret,
    Config,
}

impl std::fmt::Display for FileKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FileKind::Secret => "secret",
            FileKind::Config => "config",
        })
    }
}

/// One version of a secret or config that the stack owns.
#[derive(Debug, Clone, PartialEq)]
pub struct StackFile {
    pub kind: FileKind,
    /// `<name>_<hash8>`.
    pub name: String,
    pub labels: HashMap<String, String>,
    pub data: Vec<u8>,
}

impl StackFile {
    /// The content as the engine takes it.
    pub fn data_base64(&self) -> String {
        STANDARD.encode(&self.data)
    }
}

/// The project's secrets and configs: the versions to create, and the swarm name of each
/// compose one (external ones by their own name).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StackFiles {
    /// By swarm name.
    pub owned: IndexMap<String, StackFile>,
    names: HashMap<(FileKind, String), String>,
}

impl StackFiles {
    /// The project's secrets and configs with their contents, or why one cannot be read.
    pub fn new(project: &Project) -> Result<StackFiles, String> {
        let mut files = StackFiles::default();
        let model = &project.model;
        let kinds = [
            (FileKind::Secret, &model.secrets),
            (FileKind::Config, &model.configs),
        ];
        for (kind, objects) in kinds {
            for (key, object) in objects {
                let base = object
                    .name
                    .clone()
                    .unwrap_or_else(|| names::scoped(&project.name, key));
                if object.external {
                    files.names.insert((kind, key.clone()), base);
                    continue;
                }
                let data = content(project, kind, key, object)?;
                let name = format!("{base}_{}", hash8(&data));
                let mut labels = names::with_namespace(&project.name, &object.labels);
                labels.insert(names::COMPOSE_NAME.to_string(), key.clone());
                files.names.insert((kind, key.clone()), name.clone());
                let file = StackFile {
                    kind,
                    name: name.clone(),
                    labels,
                    data,
                };
                files.owned.insert(name, file);
            }
        }
        Ok(files)
    }

    /// `service`'s secret references: the target defaults to `/run/secrets/<key>`, owned by
    /// root, mode 0444.
    pub fn secrets(&self, service: &Service) -> Option<Vec<TaskSpecContainerSpecSecrets>> {
        let refs = self.references(FileKind::Secret, &service.secrets, |reference, name| {
            TaskSpecContainerSpecSecrets {
                file: Some(TaskSpecContainerSpecFile {
                    name: Some(target(reference, "/run/secrets/")),
                    uid: Some(reference.uid.clone().unwrap_or_else(|| "0".into())),
                    gid: Some(reference.gid.clone().unwrap_or_else(|| "0".into())),
                    mode: Some(reference.mode.map_or(0o444, |m| m.0)),
                }),
                secret_name: Some(name),
                ..Default::default()
            }
        });
        (!refs.is_empty()).then_some(refs)
    }

    /// `service`'s config references: the target defaults to `/<key>`.
    pub fn configs(&self, service: &Service) -> Option<Vec<TaskSpecContainerSpecConfigs>> {
        let refs = self.references(FileKind::Config, &service.configs, |reference, name| {
            TaskSpecContainerSpecConfigs {
                file: Some(TaskSpecContainerSpecFile1 {
                    name: Some(target(reference, "/")),
                    uid: Some(reference.uid.clone().unwrap_or_else(|| "0".into())),
                    gid: Some(reference.gid.clone().unwrap_or_else(|| "0".into())),
                    mode: Some(reference.mode.map_or(0o444, |m| m.0)),
                }),
                config_name: Some(name),
                ..Default::default()
            }
        });
        (!refs.is_empty()).then_some(refs)
    }

    fn references<T>(
        &self,
        kind: FileKind,
        references: &[FileReference],
        make: impl Fn(&FileReference, String) -> T,
    ) -> Vec<T> {
        references
            .iter()
            .filter_map(|r| Some(make(r, self.names.get(&(kind, r.source.clone()))?.clone())))
            .collect()
    }
}

/// One warning per top-level secret or config key that the swarm target does not apply yet
/// (a secret's `driver` and `driver_opts`, a `template_driver`), at the key's place.
pub fn warnings(project: &Project) -> Vec<String> {
    let model = &project.model;
    let kinds = [("secrets", &model.secrets), ("configs", &model.configs)];
    let mut warnings = Vec::new();
    for (kind, objects) in kinds {
        for (key, object) in objects {
            let set = [
                ("driver", object.driver.is_some()),
                ("driver_opts", !object.driver_opts.is_empty()),
                ("template_driver", object.template_driver.is_some()),
            ];
            for (field, _) in set.iter().filter(|(_, on)| *on) {
                let path = format!("{kind}.{key}.{field}");
                let text = format!(
                    "{path} is not applied on a swarm: wharf's swarm target does not apply it yet"
                );
                warnings.push(match project.key_spans.get(&path) {
                    Some(span) => format!("{span}: {text}"),
                    None => text,
                });
            }
        }
    }
    warnings
}

/// A reference's target: as written when absolute, else under `base` (the key by default),
/// as compose places them.
fn target(reference: &FileReference, base: &str) -> String {
    match reference.target.as_deref() {
        Some(target) if target.starts_with('/') => target.to_string(),
        Some(target) => format!("{base}{target}"),
        None => format!("{base}{}", reference.source),
    }
}

/// The first 8 hex digits of the content's SHA-256.
fn hash8(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))[..8].to_string()
}

/// A secret's or config's content, from its `file`, `environment` or `content`.
fn content(
    project: &Project,
    kind: FileKind,
    key: &str,
    object: &FileObject,
) -> Result<Vec<u8>, String> {
    let what = kind;
    if let Some(content) = &object.content {
        return Ok(content.clone().into_bytes());
    }
    if let Some(variable) = &object.environment {
        let value = project.environment.get(variable);
        return value.map(|v| v.clone().into_bytes()).ok_or_else(|| {
            format!("environment variable {variable:?} required by {what} {key:?} is not set")
        });
    }
    let Some(file) = &object.file else {
        return Err(format!(
            "{what} {key:?} has no file, environment or content"
        ));
    };
    std::fs::read(file).map_err(|e| format!("{what} {key:?}: cannot read {file}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::swarm::stack::tests::project;

    const FILE: &str = "services:\n  s:\n    image: b\n    secrets: [pw, {source: ext, target: key, uid: '7', mode: 0400}]\n    configs: [conf]\n\
                        secrets:\n  pw: {file: PW_FILE}\n  ext: {external: true, name: vault}\n\
                        configs:\n  conf: {content: 'a=1'}\n";

    /// The files of `FILE` with the secret `pw` holding `pw`.
    fn with_pw(pw: &str) -> (Project, StackFiles) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pw");
        std::fs::write(&path, pw).unwrap();
        let project = project(&FILE.replace("PW_FILE", &path.display().to_string()));
        let files = StackFiles::new(&project).unwrap();
        (project, files)
    }

    #[test]
    fn a_version_is_named_by_its_content_and_labelled_for_the_stack() {
        let (_, files) = with_pw("hunter2");
        let names: Vec<&String> = files.owned.keys().collect();
        let pw = format!("shop_pw_{}", hash8(b"hunter2"));
        let conf = format!("shop_conf_{}", hash8(b"a=1"));
        assert_eq!(names, [&pw, &conf]);
        let secret = &files.owned[&pw];
        assert_eq!(secret.labels[names::NAMESPACE], "shop");
        assert_eq!(secret.labels[names::COMPOSE_NAME], "pw");
        assert_eq!(secret.data_base64(), "aHVudGVyMg==");
        let (_, changed) = with_pw("swordfish");
        assert!(!changed.owned.contains_key(&pw));
    }

    #[test]
    fn references_take_the_long_syntax_and_externals_their_own_name() {
        let (project, files) = with_pw("hunter2");
        let service = &project.model.services["s"];
        let secrets = files.secrets(service).unwrap();
        let file = secrets[0].file.as_ref().unwrap();
        assert_eq!(file.name.as_deref(), Some("/run/secrets/pw"));
        assert_eq!((file.uid.as_deref(), file.mode), (Some("0"), Some(0o444)));
        let external = &secrets[1];
        assert_eq!(external.secret_name.as_deref(), Some("vault"));
        let file = external.file.as_ref().unwrap();
        assert_eq!(file.name.as_deref(), Some("/run/secrets/key"));
        assert_eq!((file.uid.as_deref(), file.mode), (Some("7"), Some(0o400)));
        let configs = files.configs(service).unwrap();
        let file = configs[0].file.as_ref().unwrap();
        assert_eq!(file.name.as_deref(), Some("/conf"));
        assert!(!files.owned.contains_key("vault"));
    }

    #[test]
    fn a_template_driver_is_warned_about() {
        let project = project(
            "services:\n  s: {image: b, configs: [c]}\nconfigs:\n  c: {content: x, template_driver: golang}\n",
        );
        let warnings = warnings(&project);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].contains("configs.c.template_driver is not applied on a swarm"),
            "{warnings:?}"
        );
    }

    #[test]
    fn a_secret_from_an_unset_variable_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pw.txt");
        std::fs::write(&path, "from-file").unwrap();
        let yaml = format!(
            "services:\n  s: {{image: b, secrets: [a, b]}}\nsecrets:\n  a: {{file: {}}}\n  b: {{environment: WHARF_NO_SUCH_VAR_19}}\n",
            path.display()
        );
        let error = StackFiles::new(&project(&yaml)).unwrap_err();
        assert!(error.contains("WHARF_NO_SUCH_VAR_19"), "{error}");
    }
}
