//! A service's container, in engine terms: what `docker create` will be asked for.

use indexmap::IndexMap;

use super::{
    ContainerSpec, Desired, Discovery, Healthcheck, Mount, MountKind, NetworkAttachment,
    PortBinding, Ulimit, VERSION, labels,
};
use crate::spec::Project;
use crate::spec::model::{MountType, Service};

pub fn container_spec(
    project: &Project,
    desired: &Desired,
    name: &str,
    service: &Service,
    image: &str,
    hash: &str,
    discovery: Discovery,
) -> ContainerSpec {
    let limits = service
        .deploy
        .as_ref()
        .and_then(|d| d.resources.limits.as_ref());
    let reservations = service
        .deploy
        .as_ref()
        .and_then(|d| d.resources.reservations.as_ref());
    let (network_mode, networks) = networking(desired, name, service, discovery);
    let dns_gateway_of = match discovery {
        Discovery::WharfDns => networks.first().map(|n| n.network.clone()),
        Discovery::DockerAliases => None,
    };
    ContainerSpec {
        image: image.to_string(),
        command: service.command.clone(),
        entrypoint: service.entrypoint.clone(),
        env: service
            .environment
            .iter()
            .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={v}")))
            .collect(),
        labels: container_labels(project, name, service, hash),
        working_dir: service.working_dir.clone(),
        user: service.user.clone(),
        hostname: service.hostname.clone(),
        domainname: service.domainname.clone(),
        ports: service
            .ports
            .iter()
            .map(|p| PortBinding {
                container_port: p.target,
                protocol: p.protocol.clone(),
                host_ip: p.host_ip.clone(),
                host_port: p.published.clone(),
            })
            .collect(),
        exposed: service
            .expose
            .iter()
            .map(|e| {
                if e.contains('/') {
                    e.clone()
                } else {
                    format!("{e}/tcp")
                }
            })
            .collect(),
        mounts: mounts(desired, service),
        networks,
        network_mode,
        healthcheck: service.healthcheck.as_ref().and_then(|h| {
            let test = if h.disable {
                vec!["NONE".to_string()]
            } else {
                h.test.clone()?
            };
            Some(Healthcheck {
                test,
                interval: h.interval.map(|d| d.0),
                timeout: h.timeout.map(|d| d.0),
                start_period: h.start_period.map(|d| d.0),
                start_interval: h.start_interval.map(|d| d.0),
                retries: h.retries,
            })
        }),
        init: service.init,
        stop_signal: service.stop_signal.clone(),
        stop_timeout: service.stop_grace_period.map(|d| d.0),
        extra_hosts: service.extra_hosts.clone(),
        dns: service.dns.clone(),
        dns_gateway_of,
        dns_search: service.dns_search.clone(),
        dns_opt: service.dns_opt.clone(),
        cap_add: service.cap_add.clone(),
        cap_drop: service.cap_drop.clone(),
        privileged: service.privileged,
        read_only: service.read_only,
        security_opt: service.security_opt.clone(),
        sysctls: service.sysctls.clone(),
        ulimits: service
            .ulimits
            .iter()
            .map(|(name, u)| Ulimit {
                name: name.clone(),
                soft: u.single.or(u.soft).unwrap_or(0),
                hard: u.single.or(u.hard).unwrap_or(0),
            })
            .collect(),
        tty: service.tty,
        stdin_open: service.stdin_open,
        stdin_once: false,
        auto_remove: false,
        memory: limits
            .and_then(|l| l.memory)
            .or(service.mem_limit)
            .map(|m| m as i64),
        memory_reservation: reservations
            .and_then(|r| r.memory)
            .or(service.mem_reservation)
            .map(|m| m as i64),
        nano_cpus: limits
            .and_then(|l| l.cpus)
            .or(service.cpus)
            .map(|c| (c * 1e9) as i64),
        pids_limit: limits.and_then(|l| l.pids).or(service.pids_limit),
        shm_size: service.shm_size.map(|s| s as i64),
        tmpfs: service
            .tmpfs
            .iter()
            .map(|t| match t.split_once(':') {
                Some((path, options)) => (path.to_string(), options.to_string()),
                None => (t.clone(), String::new()),
            })
            .collect(),
        devices: service.devices.clone(),
        group_add: service.group_add.clone(),
        pid: service.pid.clone(),
        ipc: service.ipc.clone(),
        log_driver: service.logging.as_ref().and_then(|l| l.driver.clone()),
        log_options: service
            .logging
            .as_ref()
            .map(|l| l.options.clone())
            .unwrap_or_default(),
    }
}

/// The compose labels of a service's containers (the replica number is added per container).
fn container_labels(
    project: &Project,
    name: &str,
    service: &Service,
    hash: &str,
) -> IndexMap<String, String> {
    let mut out = service.labels.clone();
    out.insert(labels::PROJECT.into(), project.name.clone());
    out.insert(labels::SERVICE.into(), name.into());
    out.insert(labels::CONFIG_HASH.into(), hash.into());
    out.insert(labels::ONEOFF.into(), "False".into());
    out.insert(labels::VERSION.into(), VERSION.into());
    out.insert(
        labels::WORKING_DIR.into(),
        project.working_dir.display().to_string(),
    );
    let files: Vec<String> = project
        .compose_files
        .iter()
        .map(|f| f.display().to_string())
        .collect();
    out.insert(labels::CONFIG_FILES.into(), files.join(","));
    let depends: Vec<String> = service
        .depends_on
        .iter()
        .map(|(dep, d)| {
            let condition = serde_json::to_value(d.condition)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            format!("{dep}:{condition}:{}", d.restart)
        })
        .collect();
    out.insert(labels::DEPENDS_ON.into(), depends.join(","));
    out.insert(labels::MANAGED_BY.into(), "wharf".into());
    out
}

/// The project networks a container joins, with the user's aliases (and the service name, when
/// Docker's aliases are how names resolve), or the `network_mode` it uses instead.
fn networking(
    desired: &Desired,
    name: &str,
    service: &Service,
    discovery: Discovery,
) -> (Option<String>, Vec<NetworkAttachment>) {
    if let Some(mode) = &service.network_mode {
        return (Some(mode.clone()), Vec::new());
    }
    let attachments = service
        .networks
        .iter()
        .map(|(key, options)| {
            let options = options.clone().unwrap_or_default();
            let mut aliases = match discovery {
                Discovery::DockerAliases => vec![name.to_string()],
                Discovery::WharfDns => Vec::new(),
            };
            aliases.extend(options.aliases.iter().cloned());
            NetworkAttachment {
                network: desired
                    .networks
                    .get(key)
                    .map(|n| n.name.clone())
                    .unwrap_or_else(|| key.clone()),
                aliases,
                ipv4_address: options.ipv4_address,
                ipv6_address: options.ipv6_address,
            }
        })
        .collect();
    (None, attachments)
}

fn mounts(desired: &Desired, service: &Service) -> Vec<Mount> {
    service
        .volumes
        .iter()
        .filter_map(|v| {
            let kind = match v.kind {
                MountType::Bind => MountKind::Bind,
                MountType::Volume => MountKind::Volume,
                MountType::Tmpfs => MountKind::Tmpfs,
                _ => return None,
            };
            let source = match kind {
                MountKind::Volume => v.source.as_ref().map(|key| {
                    desired
                        .volumes
                        .get(key)
                        .map(|vol| vol.name.clone())
                        .unwrap_or_else(|| key.clone())
                }),
                _ => v.source.clone(),
            };
            Some(Mount {
                kind,
                source,
                target: v.target.clone(),
                read_only: v.read_only,
                create_host_path: v
                    .bind
                    .as_ref()
                    .and_then(|b| b.create_host_path)
                    .unwrap_or(true),
                nocopy: v.volume.as_ref().is_some_and(|o| o.nocopy),
                tmpfs_size: v.tmpfs.as_ref().and_then(|t| t.size).map(|s| s as i64),
            })
        })
        .collect()
}
