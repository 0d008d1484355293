//! Compose's config hash, computed as compose v2 computes it (`ServiceHash` in docker/compose
//! `pkg/compose/hash.go`): the sha256 of the service as compose marshals it to JSON, without
//! what can change without recreating its containers (`build`, `pull_policy`, `scale`,
//! `deploy.replicas`, `depends_on`, `profiles`). The same file gives the same label under wharf
//! and under `docker compose`, so neither recreates what the other created.

use sha2::{Digest, Sha256};

use crate::spec::compose_json;
use crate::spec::model::Service;

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
