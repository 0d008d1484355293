//! A one-off container of a service (`wharf run`), as compose makes it: never a replica (a
//! one-off with its slug, no replica number; `com.docker.compose.oneoff=True` on Docker), so
//! that `up`, the supervisor and `observe` leave it alone, and known on its networks by its
//! own name only.

use super::ContainerSpec;
use crate::restart::EngineRestart;

/// `<project>-<service>-run-<first 12 digits of the slug>`, compose's one-off name.
pub fn one_off_name(project: &str, service: &str, slug: &str) -> String {
    let short: String = slug.chars().take(12).collect();
    format!("{project}-{service}-run-{short}")
}

/// A service's container spec (with `run`'s changes already in the service) as a one-off
/// named `name`, with `slug` (64 hexadecimal digits). A one-off is never restarted by the
/// engine: compose leaves its restart policy unset.
pub fn one_off_spec(container: &ContainerSpec, name: &str, slug: &str) -> ContainerSpec {
    let mut spec = container.clone();
    spec.restart = EngineRestart::Unset;
    if let Some(identity) = &mut spec.identity {
        identity.one_off = Some(slug.into());
        identity.number = None;
    }
    for attachment in &mut spec.networks {
        attachment.aliases = vec![name.to_string()];
    }
    spec
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desired::{ContainerIdentity, NetworkAttachment};

    #[test]
    fn a_one_off_is_no_replica_and_is_aliased_as_compose_does() {
        let mut container = ContainerSpec {
            restart: EngineRestart::Always,
            identity: Some(ContainerIdentity::default()),
            ..ContainerSpec::default()
        };
        container.networks.push(NetworkAttachment {
            network: "demo_default".into(),
            aliases: vec!["web".into()],
            ipv4_address: None,
            ipv6_address: None,
            endpoint: Default::default(),
        });
        let slug = "8cc408264897772895415df76ce17b0fe7be837ff382b549452be53fe22da6b8";
        let name = one_off_name("demo", "web", slug);
        assert_eq!(name, "demo-web-run-8cc408264897");
        let spec = one_off_spec(&container, &name, slug);
        let identity = spec.identity.as_ref().expect("an identity");
        assert_eq!(identity.one_off.as_deref(), Some(slug));
        assert_eq!(identity.number, None);
        assert_eq!(spec.networks[0].aliases, vec![name]);
        assert_eq!(spec.restart, EngineRestart::Unset);
    }
}
