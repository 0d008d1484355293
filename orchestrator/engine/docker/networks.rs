//! Networks: listed, looked for, created (after a look: API 1.41 would make a second one with
//! the same name) and removed.

use bollard::Docker;
use bollard::errors::Error as BollardError;
use bollard::models::{Ipam, IpamConfig, NetworkCreateRequest};
use bollard::query_parameters::ListNetworksOptions;

use super::convert::from_network;
use super::errors::{Op, engine_error, map_error};
use super::fields::non_empty_map;
use crate::desired::DesiredNetwork;
use crate::engine::labels;
use crate::engine::{EngineError, EngineNetwork, Result};

pub(super) async fn list(docker: &Docker) -> Result<Vec<EngineNetwork>> {
    let networks = docker
        .list_networks(None::<ListNetworksOptions>)
        .await
        .map_err(engine_error)?;
    Ok(networks.into_iter().map(from_network).collect())
}

async fn exists(docker: &Docker, name: &str) -> Result<bool> {
    match docker.inspect_network(name, None).await {
        // Inspect also answers for an ID or an ID prefix: only the same name is a conflict.
        Ok(network) => Ok(network.name.as_deref() == Some(name)),
        Err(BollardError::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(false),
        Err(e) => Err(engine_error(e)),
    }
}

pub(super) async fn create(
    docker: &Docker,
    api: (usize, usize),
    network: &DesiredNetwork,
) -> Result<()> {
    let what = format!("network {}", network.name);
    if let Some(message) = beyond_the_engine(network, api) {
        return Err(EngineError::Engine { message });
    }
    // API < 1.44 creates a second network with the same name unless asked not to, and
    // bollard no longer sends `CheckDuplicate`: look first.
    if exists(docker, &network.name).await? {
        return Err(EngineError::Conflict(what));
    }
    docker
        .create_network(network_request(network, api))
        .await
        .map_err(|e| map_error(e, &what, Op::Create))?;
    Ok(())
}

pub(super) async fn remove(docker: &Docker, name: &str) -> Result<()> {
    let Err(err) = docker.remove_network(name).await else {
        return Ok(());
    };
    let err = map_error(err, &format!("network {name}"), Op::Other);
    match err {
        EngineError::Engine { message } if message.contains("has active endpoints") => {
            let attached = docker
                .inspect_network(name, None)
                .await
                .ok()
                .and_then(|n| n.containers)
                .map_or(1, |c| c.len());
            Err(EngineError::Engine {
                message: miscounted_endpoints(message, attached),
            })
        }
        other => Err(other),
    }
}

/// What the network needs that an engine of API `api` cannot give it: an older engine
/// ignores `enable_ipv4: false` and gives the network IPv4 all the same.
fn beyond_the_engine(network: &DesiredNetwork, api: (usize, usize)) -> Option<String> {
    (network.enable_ipv4 == Some(false) && api < (1, 47)).then(|| {
        format!(
            "network {}: `enable_ipv4: false` (an IPv6-only network) needs engine API 1.47; \
             this engine has {}.{}: upgrade the engine, or remove the key",
            network.name, api.0, api.1
        )
    })
}

fn network_request(network: &DesiredNetwork, api: (usize, usize)) -> NetworkCreateRequest {
    NetworkCreateRequest {
        name: network.name.clone(),
        driver: network.driver.clone(),
        internal: network.internal.then_some(true),
        attachable: network.attachable.then_some(true),
        enable_ipv4: network.enable_ipv4.filter(|_| api >= (1, 47)),
        enable_ipv6: network.enable_ipv6.then_some(true),
        options: non_empty_map(&network.driver_opts),
        labels: non_empty_map(&labels::network_labels(network)),
        ipam: network.ipam.as_ref().map(|ipam| Ipam {
            driver: ipam.driver.clone(),
            config: (!ipam.config.is_empty()).then(|| {
                ipam.config
                    .iter()
                    .map(|pool| IpamConfig {
                        subnet: pool.subnet.clone(),
                        ip_range: pool.ip_range.clone(),
                        gateway: pool.gateway.clone(),
                        auxiliary_addresses: non_empty_map(&pool.aux_addresses),
                    })
                    .collect()
            }),
            options: non_empty_map(&ipam.options),
        }),
        ..Default::default()
    }
}

/// The engine's "has active endpoints" for a network no container is attached to: Docker
/// 20.10 counts a network's endpoints with a counter that concurrent starts and removals can
/// leave too high, and only a restart of the daemon counts them again.
fn miscounted_endpoints(message: String, attached: usize) -> String {
    if attached > 0 {
        return message;
    }
    format!(
        "{message}; no container is attached to it: the engine miscounted its endpoints \
         (moby/moby#42119), and restarting dockerd corrects the count"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv6_only_network_is_asked_for_on_engines_that_make_one_and_refused_before() {
        let network = DesiredNetwork {
            key: "v6".into(),
            name: "p_v6".into(),
            external: false,
            driver: None,
            driver_opts: Default::default(),
            internal: false,
            attachable: false,
            enable_ipv4: Some(false),
            enable_ipv6: true,
            ipam: None,
            identity: None,
            labels: Default::default(),
        };
        assert_eq!(network_request(&network, (1, 47)).enable_ipv4, Some(false));
        assert_eq!(network_request(&network, (1, 41)).enable_ipv4, None);
        assert_eq!(beyond_the_engine(&network, (1, 47)), None);
        assert_eq!(
            beyond_the_engine(&network, (1, 41)).unwrap(),
            "network p_v6: `enable_ipv4: false` (an IPv6-only network) needs engine API 1.47; \
             this engine has 1.41: upgrade the engine, or remove the key"
        );
        let dual_stack = DesiredNetwork {
            enable_ipv4: Some(true),
            ..network
        };
        assert_eq!(beyond_the_engine(&dual_stack, (1, 41)), None);
    }

    #[test]
    fn active_endpoints_on_a_network_nothing_is_attached_to_say_how_to_recover() {
        let engine = "error while removing network: network p_back id 85c0 has active endpoints";
        assert_eq!(miscounted_endpoints(engine.to_string(), 2), engine);
        assert_eq!(
            miscounted_endpoints(engine.to_string(), 0),
            format!(
                "{engine}; no container is attached to it: the engine miscounted its endpoints \
                 (moby/moby#42119), and restarting dockerd corrects the count"
            )
        );
    }
}
