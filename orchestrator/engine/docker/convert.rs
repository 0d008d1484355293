//! The engine's answers in wharf's terms: a container listed or inspected as an
//! `EngineContainer` (with what `ps` prints of it), a network as an `EngineNetwork` with its
//! settings in the compose file's terms, a volume as an `EngineVolume`.

use std::collections::HashMap;

use bollard::models::{
    ContainerInspectResponse, ContainerStateStatusEnum, ContainerSummary,
    ContainerSummaryStateEnum, EndpointSettings, HealthStatusEnum, IpamConfig, MountPoint, Network,
    Volume,
};

use crate::engine::listing::{ListedMount, Listing, Publisher, status_text};
use crate::engine::timestamp::unix_seconds;
use crate::engine::{
    AddressPool, ContainerState, EngineContainer, EngineNetwork, EngineVolume, Health,
    MountedVolume, NetworkSettings,
};

pub(super) fn from_summary(summary: &ContainerSummary) -> EngineContainer {
    let status = summary.status.as_deref().unwrap_or_default();
    let state = match summary.state {
        Some(ContainerSummaryStateEnum::CREATED)
        | Some(ContainerSummaryStateEnum::EMPTY)
        | None => ContainerState::Created,
        Some(ContainerSummaryStateEnum::RUNNING) | Some(ContainerSummaryStateEnum::STOPPING) => {
            ContainerState::Running
        }
        Some(ContainerSummaryStateEnum::PAUSED) => ContainerState::Paused,
        Some(ContainerSummaryStateEnum::RESTARTING) => ContainerState::Restarting,
        Some(ContainerSummaryStateEnum::REMOVING) => ContainerState::Removing,
        Some(ContainerSummaryStateEnum::EXITED) => ContainerState::Exited,
        Some(ContainerSummaryStateEnum::DEAD) => ContainerState::Dead,
    };
    let health = summary
        .health
        .as_ref()
        .and_then(|h| h.status)
        .and_then(|s| {
            use bollard::models::ContainerSummaryHealthStatusEnum as H;
            match s {
                H::STARTING => Some(Health::Starting),
                H::HEALTHY => Some(Health::Healthy),
                H::UNHEALTHY => Some(Health::Unhealthy),
                H::NONE | H::EMPTY => None,
            }
        })
        .or_else(|| health_from_status(status));
    let exit_code = match state {
        ContainerState::Exited | ContainerState::Dead | ContainerState::Restarting => {
            exit_code_from_status(status)
        }
        _ => None,
    };
    let mut ports: Vec<String> = summary
        .ports
        .iter()
        .flatten()
        .map(|p| {
            let protocol = p
                .typ
                .map(|t| {
                    serde_json::to_value(t)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default()
                })
                .filter(|t| !t.is_empty())
                .unwrap_or_else(|| "tcp".to_string());
            format_port(
                p.ip.as_deref(),
                p.public_port.map(|p| p.to_string()).as_deref(),
                &format!("{}/{protocol}", p.private_port),
            )
        })
        .collect();
    sort_ports(&mut ports);
    EngineContainer {
        id: summary.id.clone().unwrap_or_default(),
        name: summary
            .names
            .as_ref()
            .and_then(|names| names.first())
            .map(|n| n.trim_start_matches('/').to_string())
            .unwrap_or_default(),
        image: summary.image.clone().unwrap_or_default(),
        image_id: summary.image_id.clone().unwrap_or_default(),
        state,
        health,
        exit_code,
        created: summary.created.unwrap_or_default(),
        labels: summary.labels.clone().unwrap_or_default(),
        ports,
        addresses: summary
            .network_settings
            .as_ref()
            .and_then(|n| n.networks.as_ref())
            .map(|n| addresses(n, |e| e.ip_address.as_ref()))
            .unwrap_or_default(),
        addresses_v6: summary
            .network_settings
            .as_ref()
            .and_then(|n| n.networks.as_ref())
            .map(|n| addresses(n, |e| e.global_ipv6_address.as_ref()))
            .unwrap_or_default(),
        volumes: mounted_volumes(summary.mounts.as_deref()),
        listing: Listing {
            status: status.to_string(),
            command: summary.command.clone().unwrap_or_default(),
            mounts: listed_mounts(summary.mounts.as_deref()),
            networks: network_names(
                summary
                    .network_settings
                    .as_ref()
                    .and_then(|n| n.networks.as_ref()),
            ),
            publishers: summary
                .ports
                .iter()
                .flatten()
                .map(|p| Publisher {
                    url: p.ip.clone().unwrap_or_default(),
                    target_port: p.private_port,
                    published_port: p.public_port.unwrap_or(0),
                    protocol: p
                        .typ
                        .map(|t| t.to_string())
                        .filter(|t| !t.is_empty())
                        .unwrap_or_else(|| "tcp".into()),
                })
                .collect(),
        },
    }
}

/// Each mount as `docker ps` names it: the volume's name, else its source.
fn listed_mounts(mounts: Option<&[MountPoint]>) -> Vec<ListedMount> {
    mounts
        .unwrap_or_default()
        .iter()
        .map(|m| ListedMount {
            name: m
                .name
                .clone()
                .filter(|n| !n.is_empty())
                .or_else(|| m.source.clone())
                .unwrap_or_default(),
            local: m.driver.as_deref() == Some("local"),
        })
        .collect()
}

fn network_names(networks: Option<&HashMap<String, EndpointSettings>>) -> Vec<String> {
    let mut names: Vec<String> = networks
        .into_iter()
        .flatten()
        .map(|(n, _)| n.clone())
        .collect();
    names.sort_unstable();
    names
}

/// The volume mounts of a container. The engine names an anonymous volume with 64 hex digits
/// and keeps no other mark of it.
fn mounted_volumes(mounts: Option<&[MountPoint]>) -> Vec<MountedVolume> {
    mounts
        .unwrap_or_default()
        .iter()
        .filter(|m| m.typ.as_deref() == Some("volume"))
        .filter_map(|m| {
            let name = m.name.clone()?;
            Some(MountedVolume {
                anonymous: name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit()),
                target: m.destination.clone()?,
                name,
            })
        })
        .collect()
}

pub(super) fn from_inspect(inspected: &ContainerInspectResponse) -> EngineContainer {
    let engine_state = inspected.state.as_ref();
    let state = match engine_state.and_then(|s| s.status) {
        Some(ContainerStateStatusEnum::CREATED) | Some(ContainerStateStatusEnum::EMPTY) | None => {
            ContainerState::Created
        }
        Some(ContainerStateStatusEnum::RUNNING) | Some(ContainerStateStatusEnum::STOPPING) => {
            ContainerState::Running
        }
        Some(ContainerStateStatusEnum::PAUSED) => ContainerState::Paused,
        Some(ContainerStateStatusEnum::RESTARTING) => ContainerState::Restarting,
        Some(ContainerStateStatusEnum::REMOVING) => ContainerState::Removing,
        Some(ContainerStateStatusEnum::EXITED) => ContainerState::Exited,
        Some(ContainerStateStatusEnum::DEAD) => ContainerState::Dead,
    };
    // The engine marks a stopped container's health `unhealthy`; its list shows none, and a
    // health is only about a running process: none, as the list says.
    let health = engine_state
        .filter(|_| matches!(state, ContainerState::Running | ContainerState::Paused))
        .and_then(|s| s.health.as_ref())
        .and_then(|h| h.status)
        .and_then(|s| match s {
            HealthStatusEnum::STARTING => Some(Health::Starting),
            HealthStatusEnum::HEALTHY => Some(Health::Healthy),
            HealthStatusEnum::UNHEALTHY => Some(Health::Unhealthy),
            HealthStatusEnum::NONE | HealthStatusEnum::EMPTY => None,
        });
    let exit_code = match state {
        ContainerState::Exited | ContainerState::Dead | ContainerState::Restarting => {
            engine_state.and_then(|s| s.exit_code)
        }
        _ => None,
    };
    let settings = inspected.network_settings.as_ref();
    let mut ports: Vec<String> = Vec::new();
    if let Some(map) = settings.and_then(|s| s.ports.as_ref()) {
        for (container_port, bindings) in map {
            match bindings {
                Some(bindings) if !bindings.is_empty() => {
                    for binding in bindings {
                        ports.push(format_port(
                            binding.host_ip.as_deref(),
                            binding.host_port.as_deref(),
                            container_port,
                        ));
                    }
                }
                _ => ports.push(container_port.clone()),
            }
        }
    }
    sort_ports(&mut ports);
    let config = inspected.config.as_ref();
    EngineContainer {
        id: inspected.id.clone().unwrap_or_default(),
        name: inspected
            .name
            .as_deref()
            .unwrap_or_default()
            .trim_start_matches('/')
            .to_string(),
        image: config.and_then(|c| c.image.clone()).unwrap_or_default(),
        image_id: inspected.image.clone().unwrap_or_default(),
        state,
        health,
        exit_code,
        created: inspected
            .created
            .as_deref()
            .and_then(unix_seconds)
            .unwrap_or_default(),
        labels: config.and_then(|c| c.labels.clone()).unwrap_or_default(),
        ports,
        addresses: settings
            .and_then(|s| s.networks.as_ref())
            .map(|n| addresses(n, |e| e.ip_address.as_ref()))
            .unwrap_or_default(),
        addresses_v6: settings
            .and_then(|s| s.networks.as_ref())
            .map(|n| addresses(n, |e| e.global_ipv6_address.as_ref()))
            .unwrap_or_default(),
        volumes: mounted_volumes(inspected.mounts.as_deref()),
        listing: Listing {
            status: status_text(
                state,
                health,
                exit_code,
                time_of(engine_state.and_then(|s| s.started_at.as_deref())),
                time_of(engine_state.and_then(|s| s.finished_at.as_deref())),
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs() as i64),
            ),
            command: inspected
                .path
                .iter()
                .chain(inspected.args.iter().flatten())
                .cloned()
                .collect::<Vec<_>>()
                .join(" "),
            mounts: listed_mounts(inspected.mounts.as_deref()),
            networks: network_names(settings.and_then(|s| s.networks.as_ref())),
            publishers: Vec::new(),
        },
    }
}

/// An inspect's time in Unix seconds; 0 for the engine's zero time (never started).
fn time_of(text: Option<&str>) -> i64 {
    text.and_then(unix_seconds).filter(|&t| t > 0).unwrap_or(0)
}

/// Network name → the endpoint's address that `address` picks (IPv4 or IPv6), where it has one.
fn addresses(
    networks: &HashMap<String, EndpointSettings>,
    address: impl Fn(&EndpointSettings) -> Option<&String>,
) -> HashMap<String, String> {
    networks
        .iter()
        .filter_map(|(name, endpoint)| {
            let ip = address(endpoint).filter(|ip| !ip.is_empty())?;
            Some((name.clone(), ip.clone()))
        })
        .collect()
}

/// `0.0.0.0:8080->80/tcp`, `[::]:8080->80/tcp`, or `80/tcp` when not published.
fn format_port(host_ip: Option<&str>, host_port: Option<&str>, container: &str) -> String {
    match host_port.filter(|p| !p.is_empty() && *p != "0") {
        Some(port) => {
            let ip = host_ip.filter(|ip| !ip.is_empty()).unwrap_or("0.0.0.0");
            if ip.contains(':') {
                format!("[{ip}]:{port}->{container}")
            } else {
                format!("{ip}:{port}->{container}")
            }
        }
        None => container.to_string(),
    }
}

fn sort_ports(ports: &mut Vec<String>) {
    ports.sort_by_key(|p| {
        let container = p.rsplit("->").next().unwrap_or(p);
        let number: u32 = container
            .split('/')
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        (number, p.clone())
    });
    ports.dedup();
}

/// `Up 3 minutes (healthy)`, `Up 2 seconds (health: starting)`, `Up 1 hour (unhealthy)`.
fn health_from_status(status: &str) -> Option<Health> {
    if status.contains("(health: starting)") {
        Some(Health::Starting)
    } else if status.contains("(unhealthy)") {
        Some(Health::Unhealthy)
    } else if status.contains("(healthy)") {
        Some(Health::Healthy)
    } else {
        None
    }
}

/// `Exited (137) 5 seconds ago`, `Restarting (1) 2 seconds ago`.
fn exit_code_from_status(status: &str) -> Option<i64> {
    let start = status.find('(')?;
    let end = start + status[start..].find(')')?;
    status[start + 1..end].trim().parse().ok()
}

/// A network as the engine lists it.
pub(super) fn from_network(network: Network) -> EngineNetwork {
    let ipam = network.ipam.unwrap_or_default();
    let pools = ipam.config.clone().unwrap_or_default();
    EngineNetwork {
        pools: pools.iter().filter_map(address_pool).collect(),
        id: network.id.unwrap_or_default(),
        name: network.name.unwrap_or_default(),
        labels: network.labels.unwrap_or_default(),
        settings: NetworkSettings {
            driver: network.driver.unwrap_or_default(),
            driver_opts: network.options.unwrap_or_default(),
            internal: network.internal.unwrap_or_default(),
            attachable: network.attachable.unwrap_or_default(),
            enable_ipv6: network.enable_ipv6.unwrap_or_default(),
            ipam: model_ipam(ipam.driver, pools, ipam.options),
        },
    }
}

/// A volume as the engine lists it.
pub(super) fn from_volume(volume: Volume) -> EngineVolume {
    EngineVolume {
        name: volume.name,
        labels: volume.labels,
        driver: volume.driver,
        driver_opts: volume.options,
        mountpoint: volume.mountpoint,
        scope: volume.scope.map(|s| s.to_string()).unwrap_or_default(),
    }
}

/// A pool the engine reports; one whose subnet does not parse (never seen) is left out.
fn address_pool(config: &IpamConfig) -> Option<AddressPool> {
    Some(AddressPool {
        subnet: config.subnet.as_deref()?.parse().ok()?,
        // The engine writes a gateway with or without a prefix length.
        gateway: config
            .gateway
            .as_deref()
            .and_then(|g| g.split('/').next()?.parse().ok()),
    })
}

/// The engine's IPAM settings in the compose file's terms, to compare them with the file's.
fn model_ipam(
    driver: Option<String>,
    pools: Vec<IpamConfig>,
    options: Option<HashMap<String, String>>,
) -> crate::spec::model::Ipam {
    let text = |value: Option<String>| value.filter(|v| !v.is_empty());
    crate::spec::model::Ipam {
        driver: text(driver),
        config: pools
            .into_iter()
            .map(|pool| crate::spec::model::IpamPool {
                subnet: text(pool.subnet),
                gateway: text(pool.gateway),
                ip_range: text(pool.ip_range),
                aux_addresses: pool
                    .auxiliary_addresses
                    .unwrap_or_default()
                    .into_iter()
                    .collect(),
            })
            .collect(),
        options: options.unwrap_or_default().into_iter().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_text() {
        assert_eq!(
            health_from_status("Up 2 seconds (health: starting)"),
            Some(Health::Starting)
        );
        assert_eq!(
            health_from_status("Up 2 minutes (healthy)"),
            Some(Health::Healthy)
        );
        assert_eq!(
            health_from_status("Up 1 hour (unhealthy)"),
            Some(Health::Unhealthy)
        );
        assert_eq!(health_from_status("Up 1 hour"), None);
        assert_eq!(
            exit_code_from_status("Exited (137) 5 seconds ago"),
            Some(137)
        );
        assert_eq!(
            exit_code_from_status("Exited (0) About a minute ago"),
            Some(0)
        );
        assert_eq!(exit_code_from_status("Created"), None);
    }

    #[test]
    fn ports_text() {
        assert_eq!(
            format_port(Some("0.0.0.0"), Some("8080"), "80/tcp"),
            "0.0.0.0:8080->80/tcp"
        );
        assert_eq!(
            format_port(Some("::"), Some("8080"), "80/tcp"),
            "[::]:8080->80/tcp"
        );
        assert_eq!(format_port(None, None, "80/tcp"), "80/tcp");
        let mut ports = vec![
            "0.0.0.0:9000->9000/tcp".to_string(),
            "0.0.0.0:8080->80/tcp".to_string(),
            "0.0.0.0:8080->80/tcp".to_string(),
        ];
        sort_ports(&mut ports);
        assert_eq!(
            ports,
            vec!["0.0.0.0:8080->80/tcp", "0.0.0.0:9000->9000/tcp"]
        );
    }
}
