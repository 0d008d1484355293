//! The defaults compose fills in, so that the model says everything explicitly: the `default`
//! network, resource names prefixed with the project, `env_file` read into `environment`,
//! build defaults.

use indexmap::IndexMap;

use super::diagnostic::Diagnostic;
use super::load::Context;
use super::model::{Model, Network, Service};

pub fn normalize(model: &mut Model, context: &mut Context) -> Result<(), Diagnostic> {
    let project = model.name.clone();
    let mut uses_default = false;
    for service in model.services.values_mut() {
        resolve_environment(service, context)?;
        if service.networks.is_empty() && service.network_mode.is_none() {
            service.networks.insert("default".to_string(), None);
        }
        uses_default |= service.networks.contains_key("default");
        if let Some(build) = &mut service.build {
            if build.context.is_none() {
                build.context = Some(".".to_string());
            }
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

/// `<project>_<key>`, except for external resources, which are named as they are.
fn scoped(project: &str, key: &str, external: bool) -> String {
    if external {
        key.to_string()
    } else {
        format!("{project}_{key}")
    }
}

/// `env_file` values first, `environment` over them, and `KEY` with no value taken from the
/// environment the project was loaded with (left null when that has none either).
fn resolve_environment(service: &mut Service, context: &mut Context) -> Result<(), Diagnostic> {
    let mut environment: IndexMap<String, Option<String>> = IndexMap::new();
    for env_file in std::mem::take(&mut service.env_file) {
        let outer = context.env.clone();
        let lookup = move |name: &str| outer.get(name).cloned();
        let path = std::path::PathBuf::from(&env_file.path);
        if let Some(values) = context.read_env_file(&path, env_file.required, &lookup)? {
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
