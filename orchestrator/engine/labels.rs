//! compose's label encoding: how a project's containers, networks and volumes say on a
//! Docker-compatible engine whose they are. `docker compose` and wharf both rebuild a project's
//! state from these labels alone.

use std::collections::HashMap;

use indexmap::IndexMap;

use crate::desired::{
    ContainerIdentity, ContainerSpec, DependencyMark, DesiredNetwork, DesiredVolume,
    ResourceIdentity,
};

pub const PROJECT: &str = "com.docker.compose.project";
pub const SERVICE: &str = "com.docker.compose.service";
pub const NUMBER: &str = "com.docker.compose.container-number";
pub const CONFIG_HASH: &str = "com.docker.compose.config-hash";
pub const ONEOFF: &str = "com.docker.compose.oneoff";
/// The one-off's random identity; its name ends with the first 12 digits.
pub const SLUG: &str = "com.docker.compose.slug";
pub const VERSION: &str = "com.docker.compose.version";
pub const NETWORK: &str = "com.docker.compose.network";
pub const VOLUME: &str = "com.docker.compose.volume";
pub const IMAGE: &str = "com.docker.compose.image";
pub const WORKING_DIR: &str = "com.docker.compose.project.working_dir";
pub const CONFIG_FILES: &str = "com.docker.compose.project.config_files";
pub const DEPENDS_ON: &str = "com.docker.compose.depends_on";
/// On a container made to replace another: `<service>-<number>` (or its `container_name`),
/// which compose reads to report a recreation rather than a creation.
pub const REPLACE: &str = "com.docker.compose.replace";
/// Marks what wharf itself created, beside the compose labels.
pub const MANAGED_BY: &str = "dev.wharf.managed-by";
/// The hash of what the container's secrets and configs hold (see `desired::content`).
pub const CONTENT_HASH: &str = "dev.wharf.content-hash";

/// The value of `com.docker.compose.version` on what wharf creates.
pub const WHARF_VERSION: &str = env!("CARGO_PKG_VERSION");

/// A container's labels: the user's, then compose's encoding of its identity over them.
pub fn container_labels(spec: &ContainerSpec) -> IndexMap<String, String> {
    let mut out = spec.labels.clone();
    let Some(identity) = &spec.identity else {
        return out;
    };
    let mut put = |key: &str, value: String| {
        out.insert(key.to_string(), value);
    };
    if let Some(content) = &identity.content_hash {
        put(CONTENT_HASH, content.clone());
    }
    put(PROJECT, identity.project.clone());
    put(SERVICE, identity.service.clone());
    put(CONFIG_HASH, identity.config_hash.clone());
    put(ONEOFF, python_bool(identity.is_one_off()).into());
    put(VERSION, WHARF_VERSION.into());
    put(WORKING_DIR, identity.working_dir.clone());
    put(CONFIG_FILES, identity.config_files.join(","));
    put(DEPENDS_ON, depends_on(&identity.depends_on));
    put(MANAGED_BY, "wharf".into());
    if let Some(number) = identity.number {
        put(NUMBER, number.to_string());
    }
    if let Some(replaced) = &identity.replaces {
        put(REPLACE, replaced.clone());
    }
    if let Some(image) = &identity.image_id {
        put(IMAGE, image.clone());
    }
    if let Some(slug) = &identity.one_off {
        put(SLUG, slug.clone());
        // A one-off is never a replica, whatever the user's labels say.
        out.shift_remove(NUMBER);
    }
    out
}

/// A network's labels: the user's, then compose's marks of the project's own.
pub fn network_labels(network: &DesiredNetwork) -> IndexMap<String, String> {
    let identity = network.identity.as_ref();
    resource_labels(NETWORK, &network.key, &network.labels, identity)
}

/// A volume's labels: the user's, then compose's marks of the project's own.
pub fn volume_labels(volume: &DesiredVolume) -> IndexMap<String, String> {
    let identity = volume.identity.as_ref();
    resource_labels(VOLUME, &volume.key, &volume.labels, identity)
}

fn resource_labels(
    kind_label: &str,
    key: &str,
    own: &IndexMap<String, String>,
    identity: Option<&ResourceIdentity>,
) -> IndexMap<String, String> {
    let mut labels = own.clone();
    if let Some(identity) = identity {
        labels.insert(PROJECT.into(), identity.project.clone());
        labels.insert(kind_label.into(), key.into());
        labels.insert(VERSION.into(), WHARF_VERSION.into());
        labels.insert(CONFIG_HASH.into(), identity.config_hash.clone());
    }
    labels
}

/// The project a container, network or volume belongs to.
pub fn project(labels: &HashMap<String, String>) -> Option<&str> {
    labels.get(PROJECT).map(String::as_str)
}

/// The compose service of a container.
pub fn service(labels: &HashMap<String, String>) -> Option<&str> {
    labels.get(SERVICE).map(String::as_str)
}

/// A replica's number.
pub fn number(labels: &HashMap<String, String>) -> Option<u32> {
    labels.get(NUMBER).and_then(|n| n.parse().ok())
}

/// Whether a container is a one-off (`run`), not a replica.
pub fn is_one_off(labels: &HashMap<String, String>) -> bool {
    labels
        .get(ONEOFF)
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// The compose files of the project that made a container.
pub fn config_files(labels: &HashMap<String, String>) -> impl Iterator<Item = &str> {
    let files = labels.get(CONFIG_FILES).map_or("", String::as_str);
    files.split(',').filter(|f| !f.is_empty())
}

/// A container's identity read back from its labels; `None` when it is not a compose container.
pub fn container_identity(labels: &HashMap<String, String>) -> Option<ContainerIdentity> {
    let text = |key: &str| labels.get(key).cloned();
    Some(ContainerIdentity {
        project: text(PROJECT).unwrap_or_default(),
        service: text(SERVICE)?,
        number: number(labels),
        one_off: is_one_off(labels).then(|| text(SLUG).unwrap_or_default()),
        config_hash: text(CONFIG_HASH).unwrap_or_default(),
        content_hash: text(CONTENT_HASH),
        depends_on: labels
            .get(DEPENDS_ON)
            .map(|v| read_depends_on(v))
            .unwrap_or_default(),
        working_dir: text(WORKING_DIR).unwrap_or_default(),
        config_files: config_files(labels).map(str::to_string).collect(),
        replaces: text(REPLACE),
        image_id: text(IMAGE),
    })
}

/// The config hash of a network or volume the project made; `None` for one it did not make.
pub fn resource_identity(labels: &HashMap<String, String>) -> Option<ResourceIdentity> {
    Some(ResourceIdentity {
        project: labels.get(PROJECT)?.clone(),
        config_hash: labels.get(CONFIG_HASH).cloned().unwrap_or_default(),
    })
}

/// compose writes Go's booleans as Python's (`True`, `False`) in the one-off label.
fn python_bool(value: bool) -> &'static str {
    if value { "True" } else { "False" }
}

/// `service:condition:restart,…`, compose's `depends_on` label.
fn depends_on(marks: &[DependencyMark]) -> String {
    let entries: Vec<String> = marks
        .iter()
        .map(|m| format!("{}:{}:{}", m.service, m.condition, m.restart))
        .collect();
    entries.join(",")
}

fn read_depends_on(value: &str) -> Vec<DependencyMark> {
    value
        .split(',')
        .filter_map(|entry| {
            let mut parts = entry.split(':');
            let service = parts.next().filter(|s| !s.is_empty())?;
            Some(DependencyMark {
                service: service.to_string(),
                condition: parts.next().unwrap_or_default().to_string(),
                restart: parts.next() == Some("true"),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn replica() -> ContainerSpec {
        let identity = ContainerIdentity {
            project: "demo".into(),
            service: "web".into(),
            number: Some(2),
            config_hash: "c0nf".into(),
            content_hash: Some("c0ntent".into()),
            depends_on: vec![DependencyMark {
                service: "db".into(),
                condition: "service_healthy".into(),
                restart: true,
            }],
            working_dir: "/srv/demo".into(),
            config_files: vec![
                "/srv/demo/compose.yaml".into(),
                "/srv/demo/extra.yaml".into(),
            ],
            replaces: Some("web-2".into()),
            image_id: Some("sha256:1d".into()),
            ..ContainerIdentity::default()
        };
        ContainerSpec {
            identity: Some(identity),
            labels: IndexMap::from([("team".to_string(), "shop".to_string())]),
            ..ContainerSpec::default()
        }
    }

    fn on_engine(labels: IndexMap<String, String>) -> HashMap<String, String> {
        labels.into_iter().collect()
    }

    #[test]
    fn a_replica_is_labelled_as_compose_labels_it_beside_the_users_labels() {
        let labels = container_labels(&replica());
        assert_eq!(labels["team"], "shop");
        assert_eq!(labels[PROJECT], "demo");
        assert_eq!(labels[SERVICE], "web");
        assert_eq!(labels[NUMBER], "2");
        assert_eq!(labels[ONEOFF], "False");
        assert_eq!(labels[CONFIG_HASH], "c0nf");
        assert_eq!(labels[DEPENDS_ON], "db:service_healthy:true");
        assert_eq!(labels[WORKING_DIR], "/srv/demo");
        assert_eq!(
            labels[CONFIG_FILES],
            "/srv/demo/compose.yaml,/srv/demo/extra.yaml"
        );
        assert_eq!(labels[REPLACE], "web-2");
        assert_eq!(labels[IMAGE], "sha256:1d");
        assert_eq!(labels[CONTENT_HASH], "c0ntent");
        assert_eq!(labels[VERSION], WHARF_VERSION);
        assert_eq!(labels[MANAGED_BY], "wharf");
    }

    #[test]
    fn what_is_written_reads_back_as_the_same_identity() {
        let spec = replica();
        let read = container_identity(&on_engine(container_labels(&spec)));
        assert_eq!(read, spec.identity);
    }

    #[test]
    fn a_one_off_has_its_slug_and_no_number_whatever_the_users_labels_say() {
        let mut spec = replica();
        spec.labels.insert(NUMBER.into(), "7".into());
        let identity = spec.identity.as_mut().unwrap();
        identity.one_off = Some("5e1f".into());
        identity.number = None;
        let labels = container_labels(&spec);
        assert_eq!(labels[ONEOFF], "True");
        assert_eq!(labels[SLUG], "5e1f");
        assert!(!labels.contains_key(NUMBER));
        let read = container_identity(&on_engine(labels)).unwrap();
        assert!(read.is_one_off());
    }

    #[test]
    fn a_container_without_identity_has_the_users_labels_only() {
        let spec = ContainerSpec {
            labels: IndexMap::from([("team".to_string(), "shop".to_string())]),
            ..ContainerSpec::default()
        };
        assert_eq!(container_labels(&spec), spec.labels);
        assert_eq!(container_identity(&on_engine(spec.labels.clone())), None);
    }
}
