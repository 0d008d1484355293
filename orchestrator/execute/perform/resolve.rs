//! What a container create resolves against the engine at create time: `service:` namespaces,
//! links and `volumes_from` to services, and wharf's DNS as the first nameserver.

use std::collections::HashMap;
use std::net::IpAddr;

use crate::desired::{ContainerSpec, Namespace, VolumesFrom, VolumesSource};
use crate::engine::labels;
use crate::engine::{ContainerEngine, EngineError};

/// Another service's namespace in `network_mode`, `pid` or `ipc` becomes its first replica's.
pub(super) async fn namespace(
    mode: &mut Option<Namespace>,
    service: &str,
    engine: &dyn ContainerEngine,
    project: &str,
) -> Result<(), String> {
    let Some(Namespace::Service(target)) = mode.as_ref() else {
        return Ok(());
    };
    let id = first_container(engine, project, target)
        .await
        .map_err(|e| format!("service {service:?}: looking up {target:?}: {e}"))?
        .ok_or_else(|| {
            format!("service {service:?} joins a namespace of {target:?}, which has no container")
        })?;
    *mode = Some(Namespace::Container(id));
    Ok(())
}

/// `links` to services become links to each of their containers, under the alias and under
/// `<service>-<n>` and `<project>-<service>-<n>`, `n` being the number of the container created
/// (compose v2 names them so, after compose v1); a `volumes_from` service becomes its first
/// container, by ID.
pub(super) async fn links_and_volumes(
    spec: &mut ContainerSpec,
    service: &str,
    engine: &dyn ContainerEngine,
    project: &str,
) -> Result<(), String> {
    let needs_service = |v: &VolumesFrom| matches!(v.source, VolumesSource::Service(_));
    if spec.service_links.is_empty() && !spec.volumes_from.iter().any(needs_service) {
        return Ok(());
    }
    let containers = engine
        .containers(project)
        .await
        .map_err(|e| format!("service {service:?}: looking up its links: {e}"))?;
    let of_service = |name: &str| {
        let mut found: Vec<_> = containers
            .iter()
            .filter_map(|c| Some((c, labels::container_identity(&c.labels)?)))
            .filter(|(_, identity)| identity.service == name && !identity.is_one_off())
            .collect();
        found.sort_by_key(|(_, identity)| identity.number);
        found.into_iter().map(|(c, _)| c).collect::<Vec<_>>()
    };
    let number = spec
        .identity
        .as_ref()
        .and_then(|i| i.number)
        .map(|n| n.to_string())
        .unwrap_or_default();
    let mut links = Vec::new();
    for link in std::mem::take(&mut spec.service_links) {
        for c in of_service(&link.service) {
            links.push(format!("{}:{}", c.name, link.alias));
            links.push(format!("{}:{}-{number}", c.name, link.service));
            links.push(format!("{}:{project}-{}-{number}", c.name, link.service));
        }
    }
    // Before the external links, as compose orders them.
    links.append(&mut spec.links);
    spec.links = links;
    for from in &mut spec.volumes_from {
        if let VolumesSource::Service(name) = &from.source {
            let id = of_service(name)
                .first()
                .map(|c| c.id.clone())
                .ok_or_else(|| {
                    format!("cannot share volume with service {name}: container missing")
                })?;
            from.source = VolumesSource::Container(id);
        }
    }
    Ok(())
}

/// The IPv4 gateways of the engine's networks, by name, as one run has seen them. Every
/// container create needs its network's gateway: one list of the networks serves them all,
/// instead of one list per create contending with the creates themselves.
#[derive(Default)]
pub(super) struct Gateways(tokio::sync::Mutex<HashMap<String, IpAddr>>);

impl Gateways {
    /// The gateway of `network`; the engine is asked again only for a network not seen yet
    /// (one this run created after the last list).
    async fn of(
        &self,
        network: &str,
        engine: &dyn ContainerEngine,
    ) -> Result<Option<IpAddr>, EngineError> {
        // Held across the list: concurrent creates wait for one list instead of each sending one.
        let mut known = self.0.lock().await;
        if !known.contains_key(network) {
            for n in engine.networks().await? {
                if let Some(gateway) = n.gateway_v4() {
                    known.insert(n.name, gateway);
                }
            }
        }
        Ok(known.get(network).copied())
    }
}

/// wharf's DNS goes first in `dns`: on a Docker-compatible engine it listens on the gateway
/// of the container's first network, the one the container is created on.
pub(super) async fn dns_gateway(
    spec: &mut ContainerSpec,
    service: &str,
    engine: &dyn ContainerEngine,
    gateways: &Gateways,
) -> Result<(), String> {
    let network = match spec.networks.first() {
        Some(first) if spec.wharf_dns => first.network.clone(),
        _ => return Ok(()),
    };
    let gateway = gateways
        .of(&network, engine)
        .await
        .map_err(|e| format!("service {service:?}: looking up network {network:?}: {e}"))?
        .ok_or_else(|| {
            format!("service {service:?}: network {network:?} has no IPv4 gateway for wharf's DNS")
        })?;
    spec.dns.insert(0, gateway.to_string());
    Ok(())
}

/// The ID of `service`'s first replica, the lowest number.
async fn first_container(
    engine: &dyn ContainerEngine,
    project: &str,
    service: &str,
) -> Result<Option<String>, EngineError> {
    let containers = engine.containers(project).await?;
    Ok(containers
        .into_iter()
        .filter_map(|c| Some((labels::container_identity(&c.labels)?, c.id)))
        .filter(|(identity, _)| identity.service == service)
        .min_by_key(|(identity, _)| identity.number)
        .map(|(_, id)| id))
}
