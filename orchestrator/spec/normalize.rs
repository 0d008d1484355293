//! The defaults compose fills in, so that the model says everything explicitly: the `default`
//! network, resource names prefixed with the project, `env_file` read into `environment`,
//! build defaults.

use std::path::Path;

use indexmap::IndexMap;

use super::diagnostic::{Diagnostic, Span};
use super::load::Context;
use super::model::{Dependency, DependencyCondition, Model, MountType, Network, Service};
use super::validate::locate;
use super::yaml::Node;

pub fn normalize(
    model: &mut Model,
    context: &mut Context,
    root: &Node,
    project_dir: &Path,
) -> Result<(), Diagnostic> {
    let project = model.name.clone();
    let mut uses_default = false;
    for (name, service) in model.services.iter_mut() {
        resolve_environment(service, context, &|path| {
            locate(root, name, &["env_file", path])
        })?;
        resolve_labels(service, context, &|path| {
            locate(root, name, &["label_file", path])
        })?;
        implicit_dependencies(service);
        long_hooks(service).map_err(|(key, message)| {
            Diagnostic::at(&locate(root, name, &[key]), message)
                .with_help("close the quote, or write the command as a list")
        })?;
        long_build_secrets(service);
        // `gpus: all` is one device request for every GPU (`count: -1`), as compose-go holds it.
        if service.gpus.as_ref().and_then(|g| g.as_str()) == Some("all") {
            service.gpus = Some(serde_json::json!([{ "count": -1 }]));
        }
        device_counts(service).map_err(|(key, message)| {
            Diagnostic::at(&locate(root, name, &key), message)
                .with_help("write `count: all` or a number")
        })?;
        dedupe_mounts(service);
        for secret in &mut service.secrets {
            secret
                .target
                .get_or_insert_with(|| format!("/run/secrets/{}", secret.source));
        }
        if let Some(provider) = &mut service.provider {
            // Run by a compose plugin, not in a container: no network, and not by wharf.
            provider_options_as_lists(provider);
            context.warnings.push(
                Diagnostic::at(
                    &locate(root, name, &["provider"]),
                    format!("service {name:?} has a `provider`: compose runs it with a provider plugin, wharf does not run it"),
                )
                .with_help("run this project with `docker compose`, or give the service an image"),
            );
        } else if service.networks.is_empty() && service.network_mode.is_none() {
            service.networks.insert("default".to_string(), None);
        }
        uses_default |= service.networks.contains_key("default");
        // `scale` beside a `deploy` section without `replicas` is copied into it, as compose-go
        // does (validate.go), so that both print (and hash) as compose prints them. Distinct
        // values are refused by validation.
        if let (Some(scale), Some(deploy)) = (service.scale, &mut service.deploy) {
            deploy.replicas.get_or_insert(scale);
        }
        if let Some(build) = &mut service.build {
            if build.context.is_none() {
                build.context = Some(project_dir.display().to_string());
            }
            // Build arguments with no value take one from the environment, or are dropped.
            let args = std::mem::take(&mut build.args);
            build.args = args
                .into_iter()
                .filter_map(|(k, v)| {
                    let value = v.or_else(|| context.env.get(&k).cloned())?;
                    Some((k, Some(value)))
                })
                .collect();
            if build.dockerfile.is_none() && build.dockerfile_inline.is_none() {
                build.dockerfile = Some("Dockerfile".to_string());
            }
        }
    }
    if uses_default && !model.networks.contains_key("default") {
        model
            .networks
            .insert("default".to_string(), Network::default());
    }
    for (key, network) in model.networks.iter_mut() {
        network
            .name
            .get_or_insert_with(|| scoped(&project, key, network.external));
        // An empty `ipam` says nothing: compose v2 prints `ipam: {}` for every network, and
        // that output loaded again must be the same project.
        if network
            .ipam
            .as_ref()
            .is_some_and(|ipam| *ipam == Default::default())
        {
            network.ipam = None;
        }
    }
    for (key, volume) in model.volumes.iter_mut() {
        volume
            .name
            .get_or_insert_with(|| scoped(&project, key, volume.external));
    }
    for objects in [&mut model.secrets, &mut model.configs] {
        for (key, object) in objects.iter_mut() {
            object
                .name
                .get_or_insert_with(|| scoped(&project, key, object.external));
        }
    }
    Ok(())
}

/// Only the networks, volumes, secrets and configs that an enabled service uses, as compose's
/// `WithoutUnnecessaryResources` keeps them: compose neither prints nor creates the others.
/// Run after validation, which suggests the names the file declares.
pub fn without_unused_resources(model: &mut Model) {
    let services = &model.services;
    let used = |name: &String, refs: &dyn Fn(&Service) -> Vec<String>| {
        services.values().any(|s| refs(s).contains(name))
    };
    model
        .networks
        .retain(|key, _| used(key, &|s| s.networks.keys().cloned().collect()));
    model.volumes.retain(|key, _| {
        used(key, &|s| {
            s.volumes
                .iter()
                .filter(|m| m.kind == MountType::Volume)
                .filter_map(|m| m.source.clone())
                .collect()
        })
    });
    model.secrets.retain(|key, _| {
        used(key, &|s| {
            let build = s.build.iter().flat_map(|b| b.secrets.iter());
            let from_build = build.filter_map(|v| v.get("source")?.as_str().map(str::to_string));
            s.secrets
                .iter()
                .map(|r| r.source.clone())
                .chain(from_build)
                .collect()
        })
    });
    model.configs.retain(|key, _| {
        used(key, &|s| {
            s.configs.iter().map(|r| r.source.clone()).collect()
        })
    });
}

/// One mount per target: a later entry for the same (cleaned) target replaces the earlier one,
/// as when files merge.
fn dedupe_mounts(service: &mut Service) {
    let mut mounts: Vec<crate::spec::model::VolumeMount> = Vec::new();
    for mut mount in std::mem::take(&mut service.volumes) {
        mount.target = super::short::clean_target(&mount.target);
        match mounts.iter_mut().find(|m| m.target == mount.target) {
            Some(existing) => *existing = mount,
            None => mounts.push(mount),
        }
    }
    service.volumes = mounts;
}

/// The dependencies compose-go adds (loader/normalize.go), in its order, an explicit entry
/// winning: `links` and the namespaces shared with a service (`network_mode`, `ipc`, `pid`,
/// `uts`, `cgroup` as `service:NAME`) restart with it; `volumes_from` a service does not.
fn implicit_dependencies(service: &mut Service) {
    let mut needed: Vec<(String, bool)> = Vec::new();
    for link in &service.links {
        let parts: Vec<&str> = link.split(':').collect();
        let name = if parts.len() == 2 { parts[0] } else { link };
        needed.push((name.to_string(), true));
    }
    let namespaces = [
        &service.network_mode,
        &service.ipc,
        &service.pid,
        &service.uts,
        &service.cgroup,
    ];
    for mode in namespaces.into_iter().flatten() {
        if let Some(shared) = mode.strip_prefix("service:") {
            needed.push((shared.to_string(), true));
        }
    }
    for source in &service.volumes_from {
        if !source.starts_with("container:") {
            needed.push((
                source.split(':').next().unwrap_or(source).to_string(),
                false,
            ));
        }
    }
    for (name, restart) in needed {
        service.depends_on.entry(name).or_insert(Dependency {
            condition: DependencyCondition::ServiceStarted,
            restart,
            required: true,
        });
    }
}

/// Hooks (`post_start`, `pre_stop`, `develop.watch[].exec`) in the long form compose-go gives
/// them: a string `command` split like a shell into a list, a list `environment` as a mapping
/// (`KEY=VALUE`, and `KEY` as `null`). The error names the key of the hook that cannot be
/// split.
fn long_hooks(service: &mut Service) -> Result<(), (&'static str, String)> {
    let hooks = [
        (
            "post_start",
            service.post_start.iter_mut().collect::<Vec<_>>(),
        ),
        ("pre_stop", service.pre_stop.iter_mut().collect()),
        (
            "develop",
            service
                .develop
                .iter_mut()
                .flat_map(|d| d.watch.iter_mut())
                .filter_map(|rule| rule.exec.as_mut())
                .collect(),
        ),
    ];
    for (key, hooks) in hooks {
        for hook in hooks
            .into_iter()
            .filter_map(serde_json::Value::as_object_mut)
        {
            if let Some(serde_json::Value::String(command)) = hook.get("command") {
                let words = super::shellwords::split(command)
                    .map_err(|e| (key, format!("cannot split the command `{command}`: {e}")))?;
                hook.insert("command".into(), words.into());
            }
            if let Some(serde_json::Value::Array(entries)) = hook.get("environment") {
                let map: serde_json::Map<String, serde_json::Value> = entries
                    .iter()
                    .filter_map(serde_json::Value::as_str)
                    .map(|entry| match entry.split_once('=') {
                        Some((k, v)) => (k.to_string(), v.into()),
                        None => (entry.to_string(), serde_json::Value::Null),
                    })
                    .collect();
                hook.insert("environment".into(), map.into());
            }
        }
    }
    Ok(())
}

/// `provider.options` as compose-go holds them (`MultiOptions`): each value a list of strings,
/// a single value a list of one.
fn provider_options_as_lists(provider: &mut serde_json::Value) {
    let Some(options) = provider
        .get_mut("options")
        .and_then(serde_json::Value::as_object_mut)
    else {
        return;
    };
    let text = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone().into(),
        other => other.to_string().into(),
    };
    for value in options.values_mut() {
        let list = match &*value {
            serde_json::Value::Array(items) => items.iter().map(text).collect(),
            single => vec![text(single)],
        };
        *value = serde_json::Value::Array(list);
    }
}

/// `build.secrets` entries written as a bare name, in compose-go's long form `{source: NAME}`.
/// A device request's `count` as compose-go holds it: `all` (any case) is `-1`, a number
/// written as a string is that number; anything else is refused, as compose v2 refuses it.
fn device_counts(service: &mut Service) -> Result<(), (Vec<&'static str>, String)> {
    let reserved = service
        .deploy
        .iter_mut()
        .filter_map(|deploy| deploy.resources.reservations.as_mut())
        .flat_map(|reservations| reservations.devices.iter_mut())
        .map(|request| {
            (
                request,
                vec!["deploy", "resources", "reservations", "devices"],
            )
        });
    let gpus = service
        .gpus
        .iter_mut()
        .filter_map(serde_json::Value::as_array_mut)
        .flatten()
        .map(|request| (request, vec!["gpus"]));
    for (request, key) in reserved.chain(gpus) {
        let Some(count) = request.get_mut("count") else {
            continue;
        };
        let Some(text) = count.as_str() else {
            continue;
        };
        let number = if text.eq_ignore_ascii_case("all") {
            -1
        } else {
            text.parse::<i64>().map_err(|_| {
                (
                    key,
                    format!(
                        "invalid device count {text:?}: the only value allowed is 'all' or a number"
                    ),
                )
            })?
        };
        *count = serde_json::Value::from(number);
    }
    Ok(())
}

fn long_build_secrets(service: &mut Service) {
    for secret in service.build.iter_mut().flat_map(|b| b.secrets.iter_mut()) {
        if let serde_json::Value::String(name) = secret {
            *secret = serde_json::json!({ "source": name });
        }
    }
}

/// `<project>_<key>`, except for external resources, which are named as they are.
fn scoped(project: &str, key: &str, external: bool) -> String {
    if external {
        key.to_string()
    } else {
        format!("{project}_{key}")
    }
}

/// `label_file`s read into `labels`, as compose-go does: each file's values may refer to the
/// labels of the files before it (and to its own earlier lines), not to the environment; the
/// explicit `labels` win over every file. The files stay listed: compose's `up` keeps them in
/// the service, so they are part of its config hash (its `config` leaves them out).
fn resolve_labels(
    service: &mut Service,
    context: &mut Context,
    at: &dyn Fn(&str) -> Span,
) -> Result<(), Diagnostic> {
    let mut labels: IndexMap<String, String> = IndexMap::new();
    for label_file in service.label_file.clone() {
        let path = std::path::PathBuf::from(&label_file);
        if !path.exists() {
            return Err(Diagnostic::at(
                &at(&label_file),
                format!("label file {label_file} not found"),
            )
            .with_help("check the path: it is relative to the compose file's directory"));
        }
        let earlier = labels.clone();
        let lookup = move |name: &str| earlier.get(name).cloned();
        let values = context
            .read_env_file(&path, true, false, &lookup)
            .map_err(|mut err| {
                err.span.get_or_insert_with(|| at(&label_file));
                err
            })?;
        labels.extend(values.into_iter().flatten());
    }
    labels.extend(std::mem::take(&mut service.labels));
    service.labels = labels;
    Ok(())
}

/// `env_file` values first, `environment` over them, and `KEY` with no value taken from the
/// environment the project was loaded with (left null when that has none either).
fn resolve_environment(
    service: &mut Service,
    context: &mut Context,
    at: &dyn Fn(&str) -> Span,
) -> Result<(), Diagnostic> {
    let mut environment: IndexMap<String, Option<String>> = IndexMap::new();
    for env_file in std::mem::take(&mut service.env_file) {
        let outer = context.env.clone();
        let lookup = move |name: &str| outer.get(name).cloned();
        let path = std::path::PathBuf::from(&env_file.path);
        let raw = match env_file.format.as_deref() {
            None => false,
            Some("raw") => true,
            Some(other) => {
                return Err(Diagnostic::at(
                    &at(&env_file.path),
                    format!("unsupported env_file format `{other}`"),
                )
                .with_help("leave `format` out for the dotenv format, or write `format: raw`"));
            }
        };
        let values = context
            .read_env_file(&path, env_file.required, raw, &lookup)
            .map_err(|mut err| {
                err.span.get_or_insert_with(|| at(&env_file.path));
                err
            })?;
        if let Some(values) = values {
            environment.extend(values.into_iter().map(|(k, v)| (k, Some(v))));
        }
    }
    for (key, value) in std::mem::take(&mut service.environment) {
        let value = value.or_else(|| context.env.get(&key).cloned());
        environment.insert(key, value);
    }
    service.environment = environment;
    Ok(())
}
