//! A service's container, in neutral terms: what every replica of it runs with.

use super::{
    BlkioOptions, ContainerFile, ContainerIdentity, ContainerSpec, CpuOptions, DependencyMark,
    Desired, DeviceRequest, Discovery, EndpointOptions, Healthcheck, Mount, MountKind,
    MountOptions, Namespace, NetworkAttachment, PortBinding, ServiceLink, Ulimit, VolumesFrom,
};
use crate::spec::Project;
use crate::spec::model::{FileObject, FileReference, MountType, Service};

/// The service's `platform`, else the project environment's `DOCKER_DEFAULT_PLATFORM`, as
/// compose v2 takes it for pulls and creates.
pub fn platform(project: &Project, service: &Service) -> Option<String> {
    service
        .platform
        .clone()
        .or_else(|| project.environment.get("DOCKER_DEFAULT_PLATFORM").cloned())
        .filter(|p| !p.is_empty())
}

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
    let mut mounts = mounts(desired, service);
    let files = file_references(project, name, service, &mut mounts);
    ContainerSpec {
        image: image.to_string(),
        platform: platform(project, service),
        mac_address: service.mac_address.clone(),
        blkio: BlkioOptions::from_config(service.blkio_config.as_ref()),
        annotations: service.annotations.clone(),
        command: service.command.clone(),
        entrypoint: service.entrypoint.clone(),
        env: service
            .environment
            .iter()
            .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={v}")))
            .collect(),
        identity: Some(container_identity(project, name, service, hash, &files)),
        labels: service.labels.clone(),
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
        mounts,
        files,
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
        wharf_dns: discovery == Discovery::WharfDns,
        dns_search: service.dns_search.clone(),
        dns_opt: service.dns_opt.clone(),
        cap_add: service.cap_add.clone(),
        cap_drop: service.cap_drop.clone(),
        privileged: service.privileged,
        read_only: service.read_only,
        security_opt: service.security_opt.clone(),
        sysctls: service.sysctls.clone(),
        ulimits: Ulimit::all(&service.ulimits),
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
        pid: service.pid.as_deref().map(Namespace::parse),
        ipc: service.ipc.as_deref().map(Namespace::parse),
        log_driver: service.logging.as_ref().and_then(|l| l.driver.clone()),
        log_options: service
            .logging
            .as_ref()
            .map(|l| l.options.clone())
            .unwrap_or_default(),
        links: service
            .external_links
            .iter()
            .map(|link| match link.split_once(':') {
                Some(_) => link.clone(),
                None => format!("{link}:{link}"),
            })
            .collect(),
        service_links: service
            .links
            .iter()
            .map(|link| {
                let (service, alias) = link.split_once(':').unwrap_or((link, link));
                ServiceLink {
                    service: service.to_string(),
                    alias: alias.to_string(),
                }
            })
            .collect(),
        volumes_from: service
            .volumes_from
            .iter()
            .map(|v| VolumesFrom::parse(v))
            .collect(),
        cpu: CpuOptions {
            count: service.cpu_count,
            // compose sends the percentage times 100, as its field is a float.
            percent: service.cpu_percent.map(|p| (p * 100.0) as i64),
            shares: service.cpu_shares,
            period: service.cpu_period,
            quota: service.cpu_quota,
            realtime_period: service.cpu_rt_period,
            realtime_runtime: service.cpu_rt_runtime,
            cpuset: service.cpuset.clone(),
        },
        memory_swappiness: service.mem_swappiness,
        memory_swap: service.memswap_limit,
        oom_kill_disable: service.oom_kill_disable,
        oom_score_adj: service.oom_score_adj,
        device_cgroup_rules: service.device_cgroup_rules.clone(),
        storage_opt: service.storage_opt.clone(),
        cgroup: service.cgroup.clone(),
        cgroup_parent: service.cgroup_parent.clone(),
        runtime: service.runtime.clone(),
        userns_mode: service.userns_mode.clone(),
        uts: service.uts.clone(),
        device_requests: device_requests(service),
        restart: crate::restart::EngineRestart::from_service(service),
    }
}

/// `gpus` (each request also asks for the `gpu` capability; `all` is every GPU) and
/// `deploy.resources.reservations.devices`, in that order, as compose v2 sends them.
fn device_requests(service: &Service) -> Vec<DeviceRequest> {
    let gpus: Vec<DeviceRequest> = match &service.gpus {
        Some(serde_json::Value::String(all)) if all == "all" => vec![DeviceRequest {
            count: Some(-1),
            capabilities: vec![vec!["gpu".to_string()]],
            ..DeviceRequest::default()
        }],
        Some(serde_json::Value::Array(requests)) => requests
            .iter()
            .map(|r| {
                let mut request = device_request(r);
                for set in &mut request.capabilities {
                    set.push("gpu".to_string());
                }
                if request.capabilities.is_empty() {
                    request.capabilities.push(vec!["gpu".to_string()]);
                }
                request
            })
            .collect(),
        _ => Vec::new(),
    };
    let reserved = service
        .deploy
        .as_ref()
        .and_then(|d| d.resources.reservations.as_ref())
        .map(|r| r.devices.iter().map(device_request).collect())
        .unwrap_or_default();
    [gpus, reserved].concat()
}

/// One device request: `{driver, count, device_ids, capabilities, options}`.
fn device_request(value: &serde_json::Value) -> DeviceRequest {
    let strings = |key: &str| -> Vec<String> {
        value
            .get(key)
            .and_then(|v| v.as_array())
            .map(|items| {
                items
                    .iter()
                    .filter_map(|i| i.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    // The loader made `count` a number (`all` is -1), as compose-go does.
    let count = value.get("count").and_then(serde_json::Value::as_i64);
    let capabilities = strings("capabilities");
    DeviceRequest {
        driver: value
            .get("driver")
            .and_then(|d| d.as_str())
            .map(str::to_string),
        count,
        device_ids: strings("device_ids"),
        capabilities: if capabilities.is_empty() {
            Vec::new()
        } else {
            vec![capabilities]
        },
        options: value
            .get("options")
            .and_then(|o| o.as_object())
            .map(|o| {
                o.iter()
                    .map(|(k, v)| {
                        let v = v.as_str().map_or_else(|| v.to_string(), str::to_string);
                        (k.clone(), v)
                    })
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// Who a service's containers are in the project (the plan numbers each replica).
fn container_identity(
    project: &Project,
    name: &str,
    service: &Service,
    hash: &str,
    copied: &[ContainerFile],
) -> ContainerIdentity {
    let depends_on = service
        .depends_on
        .iter()
        .map(|(dep, d)| DependencyMark {
            service: dep.clone(),
            condition: serde_json::to_value(d.condition)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            restart: d.restart,
        })
        .collect();
    ContainerIdentity {
        project: project.name.clone(),
        service: name.into(),
        number: None,
        one_off: None,
        config_hash: hash.into(),
        content_hash: super::content::content_hash(project, service, copied),
        depends_on,
        working_dir: project.working_dir.display().to_string(),
        config_files: project
            .compose_files
            .iter()
            .map(|f| f.display().to_string())
            .collect(),
        replaces: None,
        image_id: None,
    }
}

/// The project networks a container joins, with the user's aliases (and the service name, when
/// Docker's aliases are how names resolve), or the `network_mode` it uses instead.
fn networking(
    desired: &Desired,
    name: &str,
    service: &Service,
    discovery: Discovery,
) -> (Option<Namespace>, Vec<NetworkAttachment>) {
    if let Some(mode) = &service.network_mode {
        return (Some(Namespace::parse(mode)), Vec::new());
    }
    // Higher `priority` first (compose connects in that order); the file's order otherwise.
    let mut ordered: Vec<_> = service.networks.iter().collect();
    ordered.sort_by_key(|(_, options)| {
        std::cmp::Reverse(options.as_ref().and_then(|o| o.priority).unwrap_or(0))
    });
    let attachments: Vec<NetworkAttachment> = ordered
        .into_iter()
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
                endpoint: EndpointOptions {
                    mac_address: options.mac_address,
                    link_local_ips: options.link_local_ips,
                    driver_opts: options.driver_opts,
                    interface_name: options.interface_name,
                    gw_priority: options.gw_priority,
                },
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
                MountType::Image => MountKind::Image,
                // `npipe` is Windows'; `cluster` is Docker's CSI volumes, swarm only.
                MountType::Npipe | MountType::Cluster => return None,
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
                options: MountOptions {
                    propagation: v.bind.as_ref().and_then(|b| b.propagation.clone()),
                    selinux: v.bind.as_ref().and_then(|b| b.selinux.clone()),
                    recursive: v.bind.as_ref().and_then(|b| b.recursive.clone()),
                    tmpfs_mode: v.tmpfs.as_ref().and_then(|t| t.mode),
                    volume_labels: v
                        .volume
                        .as_ref()
                        .map(|o| o.labels.clone())
                        .unwrap_or_default(),
                    subpath: mount_subpath(v),
                },
            })
        })
        .collect()
}

/// The path inside a volume or an image that a mount takes (`volume.subpath`, `image.subpath`).
fn mount_subpath(mount: &crate::spec::model::VolumeMount) -> Option<String> {
    let from_volume = mount.volume.as_ref().and_then(|o| o.subpath.clone());
    let from_image = || {
        let subpath = mount.image.as_ref()?.get("subpath")?.as_str()?;
        Some(subpath.to_string())
    };
    from_volume.or_else(from_image).filter(|s| !s.is_empty())
}

/// Whether a secret's or config's content is written into the container before it starts, as
/// compose does for those that come from the environment or from `content`; those from a
/// `file` are bind-mounted read-only instead.
fn is_copied(object: &FileObject) -> bool {
    object.environment.is_some() || object.content.is_some()
}

/// The service's secrets and configs, as compose v2 gives them to a container: a file source
/// is bind-mounted read-only at its target (added to `mounts`, unless a volume is mounted
/// there already); an environment or inline source is returned as a file to copy in before
/// the start, owned by `uid`:`gid` (root by default) with `mode` (0444 by default). Secrets go
/// to `/run/secrets/<target>` (default `<name>`), configs to `<target>` (default `/<name>`).
/// External ones, which need swarm, are left out (the loader warns about them).
fn file_references(
    project: &Project,
    service_name: &str,
    service: &Service,
    mounts: &mut Vec<Mount>,
) -> Vec<ContainerFile> {
    let model = &project.model;
    let kinds = [
        ("secret", "/run/secrets/", &service.secrets, &model.secrets),
        ("config", "/", &service.configs, &model.configs),
    ];
    let mut files = Vec::new();
    for (kind, base, references, objects) in kinds {
        for reference in references {
            let Some(object) = objects.get(&reference.source) else {
                continue;
            };
            if object.external {
                continue;
            }
            let target = file_target(base, reference);
            if mounts.iter().any(|m| m.target == target)
                || files.iter().any(|f: &ContainerFile| f.path == target)
            {
                continue;
            }
            if is_copied(object) {
                files.push(ContainerFile {
                    content: file_content(project, service_name, service, kind, reference, object),
                    path: target,
                    uid: owner_id(reference.uid.as_deref()),
                    gid: owner_id(reference.gid.as_deref()),
                    mode: reference.mode.map_or(0o444, |m| m.0),
                    copy_owner: reference.uid.is_some() || reference.gid.is_some(),
                });
            } else if let Some(file) = &object.file {
                mounts.push(Mount {
                    kind: MountKind::Bind,
                    source: Some(file.clone()),
                    target,
                    read_only: true,
                    create_host_path: false,
                    nocopy: false,
                    tmpfs_size: None,
                    options: Default::default(),
                });
            }
        }
    }
    files
}

/// Where a secret or config goes: its target, under `base` when relative, else `base<name>`.
fn file_target(base: &str, reference: &FileReference) -> String {
    match reference.target.as_deref() {
        Some(target) if target.starts_with('/') => target.to_string(),
        Some(target) => format!("{base}{target}"),
        None => format!("{base}{}", reference.source),
    }
}

/// A numeric owner, as compose takes it; root when unset. Zero for what is not a number: its
/// file's content is then that error (see `file_content`).
fn owner_id(id: Option<&str>) -> u64 {
    id.and_then(|id| id.parse().ok()).unwrap_or(0)
}

/// The content of a copied secret or config, or compose's error when it cannot be had.
fn file_content(
    project: &Project,
    service_name: &str,
    service: &Service,
    kind: &str,
    reference: &FileReference,
    object: &FileObject,
) -> Result<String, String> {
    let name = object.name.as_deref().unwrap_or(&reference.source);
    if service.read_only {
        return Err(format!(
            "cannot create {kind} {name:?} in read-only service {service_name}: `file` is the \
             sole supported option"
        ));
    }
    for id in [&reference.uid, &reference.gid].into_iter().flatten() {
        if id.parse::<u64>().is_err() {
            return Err(format!(
                "{kind} {name:?}: uid and gid must be numbers, not {id:?}"
            ));
        }
    }
    if let Some(content) = &object.content {
        return Ok(content.clone());
    }
    let variable = object.environment.as_deref().unwrap_or_default();
    project.environment.get(variable).cloned().ok_or_else(|| {
        format!("environment variable {variable:?} required by {kind} {name:?} is not set")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(source: &str, target: Option<&str>) -> FileReference {
        FileReference {
            source: source.into(),
            target: target.map(str::to_string),
            ..FileReference::default()
        }
    }

    #[test]
    fn secrets_go_under_run_secrets_and_configs_under_the_root() {
        assert_eq!(
            file_target("/run/secrets/", &reference("pw", None)),
            "/run/secrets/pw"
        );
        assert_eq!(
            file_target("/run/secrets/", &reference("pw", Some("db"))),
            "/run/secrets/db"
        );
        assert_eq!(
            file_target("/run/secrets/", &reference("pw", Some("/etc/pw"))),
            "/etc/pw"
        );
        assert_eq!(file_target("/", &reference("app", None)), "/app");
        assert_eq!(
            file_target("/", &reference("app", Some("a.conf"))),
            "/a.conf"
        );
    }

    #[test]
    fn volumes_from_names_a_service_or_a_container_with_an_optional_mode() {
        use super::super::VolumesSource::{Container, Service};
        let parsed = |text: &str| {
            let from = VolumesFrom::parse(text);
            (from.source, from.mode)
        };
        assert_eq!(parsed("db:ro"), (Service("db".into()), Some("ro".into())));
        assert_eq!(parsed("container:cache"), (Container("cache".into()), None));
        assert_eq!(
            parsed("container:cache:rw"),
            (Container("cache".into()), Some("rw".into()))
        );
    }

    #[test]
    fn a_namespace_is_a_services_a_containers_or_a_mode() {
        assert_eq!(
            Namespace::parse("service:proxy"),
            Namespace::Service("proxy".into())
        );
        assert_eq!(
            Namespace::parse("container:abc"),
            Namespace::Container("abc".into())
        );
        assert_eq!(Namespace::parse("host"), Namespace::Mode("host".into()));
    }

    #[test]
    fn an_owner_that_is_not_a_number_is_an_error_as_in_compose() {
        let project = crate::spec::Project {
            name: "p".into(),
            working_dir: "/".into(),
            compose_files: Vec::new(),
            source_files: Vec::new(),
            model: Default::default(),
            all_profiles: Vec::new(),
            disabled_services: Vec::new(),
            environment: [("T".to_string(), "v".to_string())].into_iter().collect(),
            file_digests: Default::default(),
            warnings: Vec::new(),
            key_spans: Default::default(),
            api_socket_credentials: None,
        };
        let object = FileObject {
            environment: Some("T".into()),
            ..FileObject::default()
        };
        let content = |reference: &FileReference| {
            file_content(
                &project,
                "s",
                &Service::default(),
                "secret",
                reference,
                &object,
            )
        };
        let mut named = reference("tok", None);
        assert_eq!(content(&named), Ok("v".to_string()));
        named.uid = Some("www".into());
        assert_eq!(
            content(&named),
            Err("secret \"tok\": uid and gid must be numbers, not \"www\"".to_string())
        );
    }
}
