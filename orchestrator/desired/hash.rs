//! Compose's config hash: a service's configuration minus what can change without recreating
//! its containers (build, replicas, dependencies, profiles, develop). Two files that mean the
//! same thing hash the same, because the hash is taken over the canonical model.

use sha2::{Digest, Sha256};

use crate::spec::model::Service;

pub fn config_hash(service: &Service) -> String {
    let mut canonical = service.clone();
    canonical.build = None;
    canonical.scale = None;
    canonical.depends_on.clear();
    canonical.profiles.clear();
    canonical.develop = None;
    canonical.pull_policy = None;
    canonical.extensions.clear();
    if let Some(deploy) = &mut canonical.deploy {
        deploy.replicas = None;
    }
    let json = serde_json::to_vec(&canonical).expect("a service always serializes");
    hex::encode(Sha256::digest(&json))
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
    }

    #[test]
    fn scale_and_dependencies_do_not() {
        let base = service("nginx:1");
        let mut scaled = base.clone();
        scaled.scale = Some(3);
        scaled.depends_on.insert("db".into(), Default::default());
        scaled.profiles.push("debug".into());
        assert_eq!(config_hash(&base), config_hash(&scaled));
    }
}
