//! Compose's config hash, computed as compose v2 computes it (`ServiceHash` in docker/compose
//! `pkg/compose/hash.go`): the sha256 of the service as compose marshals it to JSON, without
//! what can change without recreating its containers (`build`, `pull_policy`, `scale`,
//! `deploy.replicas`, `depends_on`, `profiles`). The same file gives the same label under wharf
//! and under `docker compose`, so neither recreates what the other created.
//!
//! Compose also labels the networks and volumes it creates with a config hash (`NetworkHash`,
//! `VolumeHash`) and reads it back: a network whose label differs is recreated, a volume whose
//! label differs makes compose ask whether to recreate it. wharf writes the same labels, so
//! that compose finds wharf's networks and volumes unchanged.

use sha2::{Digest, Sha256};

use crate::spec::compose_json;
use crate::spec::model::{Network, Service, Volume};

pub fn config_hash(service: &Service) -> String {
    let mut hashed = service.clone();
    hashed.build = None;
    hashed.pull_policy = None;
    hashed.scale = None;
    if let Some(deploy) = &mut hashed.deploy {
        deploy.replicas = None;
    }
    hashed.depends_on.clear();
    hashed.profiles.clear();
    hex::encode(Sha256::digest(compose_json::service_compact(&hashed)))
}

/// Compose's `NetworkHash`: the sha256 of the network as compose marshals it (its engine name
/// included).
pub fn network_hash(network: &Network) -> String {
    hex::encode(Sha256::digest(compose_json::network_compact(network)))
}

/// Compose's `VolumeHash`: the sha256 of the volume as compose marshals it, its driver `local`
/// when the file names none.
pub fn volume_hash(volume: &Volume) -> String {
    let mut hashed = volume.clone();
    if hashed.driver.as_deref().unwrap_or_default().is_empty() {
        hashed.driver = Some("local".into());
    }
    hex::encode(Sha256::digest(compose_json::volume_compact(&hashed)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(image: &str) -> Service {
        Service {
            image: Some(image.to_string()),
            ..Service::default()
        }
    }

    #[test]
    fn changes_that_need_a_new_container_change_the_hash() {
        let base = service("nginx:1");
        assert_eq!(config_hash(&base), config_hash(&base.clone()));
        assert_ne!(config_hash(&base), config_hash(&service("nginx:2")));
        let mut env = base.clone();
        env.environment.insert("A".into(), Some("1".into()));
        assert_ne!(config_hash(&base), config_hash(&env));
        let mut develop = base.clone();
        develop.develop = Some(Default::default());
        assert_ne!(
            config_hash(&base),
            config_hash(&develop),
            "compose hashes develop"
        );
    }

    /// The labels docker compose v2.40.3 wrote on `o18p1_front` and `o18p1_data` for
    /// `networks: {front: {driver_opts: {com.docker.network.bridge.enable_icc: "true"},
    /// labels: {a: b}}}` and `volumes: {data: {labels: {x: y}}}` in project `o18p1`.
    #[test]
    fn networks_and_volumes_hash_as_compose_labels_them() {
        let network = Network {
            name: Some("o18p1_front".into()),
            driver_opts: [("com.docker.network.bridge.enable_icc".into(), "true".into())].into(),
            labels: [("a".into(), "b".into())].into(),
            ..Network::default()
        };
        assert_eq!(
            network_hash(&network),
            "f4391486453ef94140328cace23e1ea2cf6d3069c03c423fb504c8ae547fb770"
        );
        let volume = Volume {
            name: Some("o18p1_data".into()),
            labels: [("x".into(), "y".into())].into(),
            ..Volume::default()
        };
        assert_eq!(
            volume_hash(&volume),
            "4c1dbff1357aee6ebf915b1ddcb6e0cc14d7c51759bf7029be2fbc0a8ade0d63"
        );
    }

    #[test]
    fn the_six_keys_compose_leaves_out_do_not() {
        let base = service("nginx:1");
        let mut changed = base.clone();
        changed.scale = Some(3);
        changed.depends_on.insert("db".into(), Default::default());
        changed.profiles.push("debug".into());
        changed.pull_policy = Some("always".into());
        changed.build = Some(Default::default());
        changed
            .extensions
            .insert("x-note".into(), serde_json::json!(1));
        assert_eq!(config_hash(&base), config_hash(&changed));
        let with_deploy = |replicas| {
            let mut s = base.clone();
            s.deploy = Some(crate::spec::model::Deploy {
                replicas,
                ..Default::default()
            });
            config_hash(&s)
        };
        assert_eq!(with_deploy(Some(1)), with_deploy(Some(5)));
        // An empty `deploy` is still written (`{"resources":{},"placement":{}}`).
        assert_ne!(with_deploy(None), config_hash(&base));
    }
}
