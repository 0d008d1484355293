//! Creating a container: a `ContainerSpec` translated into the engine's create request (config,
//! host config, the first network's endpoint; Docker's syntax for namespaces, `volumes_from`
//! and interface names), and the create call, which then connects the
//! other networks (API < 1.44 takes one endpoint at create) and writes the secrets' and
//! configs' contents into the container. Every container gets the engine restart policy `no`:
//! wharf's supervisor owns restarts.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use bollard::Docker;
use bollard::models::{
    ContainerCreateBody, DeviceMapping, DeviceRequest as EngineDeviceRequest, EndpointIpamConfig,
    EndpointSettings, HealthConfig, HostConfig, HostConfigLogConfig, Mount as EngineMount,
    MountBindOptions, MountImageOptions, MountTmpfsOptions, MountType, MountVolumeOptions,
    NetworkConnectRequest, NetworkingConfig, PortBinding as EnginePortBinding, PortMap,
    ResourcesBlkioWeightDevice, ResourcesUlimits, RestartPolicy, ThrottleDevice,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, RemoveContainerOptionsBuilder, UploadToContainerOptionsBuilder,
};
use indexmap::IndexMap;

use super::errors::{Op, container_error, create_error, map_error, reworded};
use super::fields::{ceil_secs, nanos, non_empty, non_empty_map};
use crate::desired::{
    BlkioOptions, ContainerFile, ContainerSpec, EndpointOptions, Healthcheck, Mount, MountKind,
    Namespace, NetworkAttachment, VolumesFrom, VolumesSource,
};
use crate::engine::labels;
use crate::engine::{EngineError, Result};

/// Creates the container, connects it to its other networks and writes its files; on a
/// failure after the create, removes it again.
pub(super) async fn create(
    docker: &Docker,
    api: (usize, usize),
    name: &str,
    spec: &ContainerSpec,
) -> Result<String> {
    if let Some(Err(message)) = spec.files.iter().map(|f| &f.content).find(|c| c.is_err()) {
        return Err(EngineError::Engine {
            message: message.clone(),
        });
    }
    if let Some(message) = beyond_the_engine(spec, api) {
        return Err(EngineError::Engine { message });
    }
    let translated = translate(spec, api);
    for path in &translated.create_paths {
        // Best effort: when it fails, the engine's error names the path.
        let _ = std::fs::create_dir_all(path);
    }
    let mut options = CreateContainerOptionsBuilder::new().name(name);
    if let Some(platform) = &spec.platform {
        options = options.platform(platform);
    }
    let creating = match &translated.mac_address {
        Some(mac) => with_config_field(docker, &translated.body, "MacAddress", mac)?,
        None => docker.clone(),
    };
    let created = creating
        .create_container(Some(options.build()), translated.body)
        .await
        .map_err(|e| create_error(e, name, spec))?;
    let id = created.id;
    for (network, endpoint) in translated.later_networks {
        let request = NetworkConnectRequest {
            container: id.clone(),
            endpoint_config: Some(endpoint),
        };
        if let Err(e) = docker.connect_network(&network, request).await {
            let error = map_error(e, &format!("network {network}"), Op::Other);
            remove_half_made(docker, &id).await;
            return Err(reworded(error, |message| {
                format!("connecting {name} to network {network}: {message}")
            }));
        }
    }
    for file in &spec.files {
        if let Err(error) = copy_file(docker, &id, file).await {
            remove_half_made(docker, &id).await;
            return Err(error);
        }
    }
    Ok(id)
}

/// Removes a container that was created but not connected or not given its files: a re-run
/// creates it again. Best effort: the error at hand is the one to report.
async fn remove_half_made(docker: &Docker, id: &str) {
    let remove = RemoveContainerOptionsBuilder::new()
        .force(true)
        .v(true)
        .build();
    let _ = docker.remove_container(id, Some(remove)).await;
}

/// Writes a secret's or config's content into a created container, as compose does before
/// a start: a one-file archive extracted at `/`, which keeps the archive's mode, and its
/// owner when `copyUIDGID` is asked for.
async fn copy_file(docker: &Docker, id: &str, file: &ContainerFile) -> Result<()> {
    let content = file.content.as_deref().map_err(|m| EngineError::Engine {
        message: m.to_string(),
    })?;
    let archive = file_archive(file, content).map_err(|e| EngineError::Engine {
        message: format!("writing {}: {e}", file.path),
    })?;
    let mut options = UploadToContainerOptionsBuilder::new().path("/");
    if file.copy_owner {
        options = options.copy_uidgid("true");
    }
    docker
        .upload_to_container(
            id,
            Some(options.build()),
            bollard::body_full(archive.into()),
        )
        .await
        .map_err(|e| {
            reworded(container_error(id, e), |message| {
                format!("writing {}: {message}", file.path)
            })
        })
}

/// A tar archive of one file at its absolute path (relative to `/`), with its mode and owner.
fn file_archive(file: &ContainerFile, content: &str) -> std::io::Result<Vec<u8>> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(content.len() as u64);
    header.set_mode(file.mode);
    header.set_uid(file.uid);
    header.set_gid(file.gid);
    header.set_mtime(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
    );
    header.set_entry_type(tar::EntryType::Regular);
    builder.append_data(
        &mut header,
        file.path.trim_start_matches('/'),
        content.as_bytes(),
    )?;
    builder.into_inner()
}

/// A `ContainerSpec` in the engine's terms.
pub(super) struct Translated {
    pub(super) body: ContainerCreateBody,
    /// The container config's `MacAddress` (API < 1.44), which `body` cannot hold.
    pub(super) mac_address: Option<String>,
    /// Networks connected after the create, with their endpoint settings.
    pub(super) later_networks: Vec<(String, EndpointSettings)>,
    /// Bind sources to create before the create (those the `Binds` syntax cannot carry).
    pub(super) create_paths: Vec<PathBuf>,
}

pub(super) fn translate(spec: &ContainerSpec, api: (usize, usize)) -> Translated {
    let mut exposed: Vec<String> = Vec::new();
    let mut bindings: PortMap = HashMap::new();
    for port in &spec.ports {
        let key = format!("{}/{}", port.container_port, port.protocol);
        if !exposed.contains(&key) {
            exposed.push(key.clone());
        }
        bindings
            .entry(key)
            .or_insert_with(|| Some(Vec::new()))
            .get_or_insert_with(Vec::new)
            .push(EnginePortBinding {
                host_ip: port.host_ip.clone().filter(|ip| !ip.is_empty()),
                host_port: Some(port.host_port.clone().unwrap_or_default()),
            });
    }
    for port in &spec.exposed {
        let key = if port.contains('/') {
            port.clone()
        } else {
            format!("{port}/tcp")
        };
        if !exposed.contains(&key) {
            exposed.push(key);
        }
    }

    let mut binds = Vec::new();
    let mut mounts = Vec::new();
    let mut create_paths = Vec::new();
    for mount in &spec.mounts {
        match bind_string(mount) {
            Some(bind) => binds.push(bind),
            None if mount.options.selinux.is_some() => {
                // Only the `Binds` syntax carries an SELinux relabel.
                tracing::warn!(
                    "the bind mount at {} cannot be relabelled (z/Z): its path holds a `:` or `,`",
                    mount.target
                );
                mounts.push(engine_mount(mount, api));
            }
            None => {
                if mount.kind == MountKind::Bind && mount.create_host_path {
                    if let Some(source) = &mount.source {
                        if !Path::new(source).exists() {
                            create_paths.push(PathBuf::from(source));
                        }
                    }
                }
                mounts.push(engine_mount(mount, api));
            }
        }
    }

    // Before API 1.44 an endpoint has no MAC address of its own: the engine gives the first
    // network's endpoint the one in the container's config, where compose puts the service's.
    let mac_address = spec.mac_address.clone().filter(|_| api < (1, 44));
    let (network_mode, first, later_networks) =
        match (&spec.network_mode, spec.networks.split_first()) {
            (Some(mode), _) => (Some(namespace(mode)), None, Vec::new()),
            (None, Some((first, rest))) => {
                let first = with_service_mac(first, spec.mac_address.as_deref(), api);
                (
                    Some(first.network.clone()),
                    Some((first.network.clone(), endpoint(&first, &spec.links, api))),
                    rest.iter()
                        .map(|n| (n.network.clone(), endpoint(n, &spec.links, api)))
                        .collect(),
                )
            }
            (None, None) => (None, None, Vec::new()),
        };

    let log_config =
        (spec.log_driver.is_some() || !spec.log_options.is_empty()).then(|| HostConfigLogConfig {
            typ: spec.log_driver.clone(),
            config: non_empty_map(&spec.log_options),
        });

    let host_config = HostConfig {
        binds: non_empty(&binds),
        mounts: non_empty(&mounts),
        port_bindings: (!bindings.is_empty()).then_some(bindings),
        network_mode,
        restart_policy: Some(RestartPolicy {
            name: spec.restart.name().parse().ok(),
            maximum_retry_count: i64::try_from(spec.restart.max_retries()).ok(),
        }),
        init: spec.init,
        privileged: spec.privileged.then_some(true),
        readonly_rootfs: spec.read_only.then_some(true),
        security_opt: non_empty(&spec.security_opt),
        sysctls: non_empty_map(&spec.sysctls),
        ulimits: non_empty(
            &spec
                .ulimits
                .iter()
                .map(|u| ResourcesUlimits {
                    name: Some(u.name.clone()),
                    soft: Some(u.soft),
                    hard: Some(u.hard),
                })
                .collect::<Vec<_>>(),
        ),
        cap_add: non_empty(&spec.cap_add),
        cap_drop: non_empty(&spec.cap_drop),
        dns: non_empty(&spec.dns),
        dns_search: non_empty(&spec.dns_search),
        dns_options: non_empty(&spec.dns_opt),
        extra_hosts: non_empty(&spec.extra_hosts),
        memory: spec.memory,
        memory_reservation: spec.memory_reservation,
        nano_cpus: spec.nano_cpus,
        pids_limit: spec.pids_limit,
        shm_size: spec.shm_size,
        tmpfs: non_empty_map(&spec.tmpfs),
        devices: non_empty(
            &spec
                .devices
                .iter()
                .map(|d| DeviceMapping {
                    path_on_host: Some(d.source.clone()),
                    path_in_container: Some(d.target.clone().unwrap_or_else(|| d.source.clone())),
                    cgroup_permissions: Some(
                        d.permissions.clone().unwrap_or_else(|| "rwm".to_string()),
                    ),
                })
                .collect::<Vec<_>>(),
        ),
        group_add: non_empty(&spec.group_add),
        pid_mode: spec.pid.as_ref().map(namespace),
        ipc_mode: spec.ipc.as_ref().map(namespace),
        log_config,
        cpu_count: spec.cpu.count,
        cpu_percent: spec.cpu.percent,
        cpu_shares: spec.cpu.shares,
        cpu_period: spec.cpu.period,
        cpu_quota: spec.cpu.quota,
        cpu_realtime_period: spec.cpu.realtime_period,
        cpu_realtime_runtime: spec.cpu.realtime_runtime,
        cpuset_cpus: spec.cpu.cpuset.clone(),
        memory_swappiness: spec.memory_swappiness,
        memory_swap: spec.memory_swap,
        oom_kill_disable: spec.oom_kill_disable.then_some(true),
        oom_score_adj: spec.oom_score_adj,
        device_cgroup_rules: non_empty(&spec.device_cgroup_rules),
        storage_opt: non_empty_map(&spec.storage_opt),
        cgroupns_mode: spec.cgroup.as_deref().and_then(|c| c.parse().ok()),
        cgroup_parent: spec.cgroup_parent.clone(),
        runtime: spec.runtime.clone(),
        userns_mode: spec.userns_mode.clone(),
        uts_mode: spec.uts.clone(),
        device_requests: non_empty(
            &spec
                .device_requests
                .iter()
                .map(|d| EngineDeviceRequest {
                    driver: d.driver.clone(),
                    count: d.count,
                    device_ids: non_empty(&d.device_ids),
                    capabilities: non_empty(&d.capabilities),
                    options: non_empty_map(&d.options),
                })
                .collect::<Vec<_>>(),
        ),
        links: non_empty(&spec.links),
        volumes_from: non_empty(
            &spec
                .volumes_from
                .iter()
                .map(volumes_from)
                .collect::<Vec<_>>(),
        ),
        auto_remove: spec.auto_remove.then_some(true),
        annotations: annotations(&spec.annotations, api),
        ..blkio(&spec.blkio)
    };

    let body = ContainerCreateBody {
        image: Some(spec.image.clone()),
        cmd: spec.command.clone(),
        entrypoint: spec.entrypoint.clone(),
        env: non_empty(&spec.env),
        labels: non_empty_map(&labels::container_labels(spec)),
        working_dir: spec.working_dir.clone(),
        user: spec.user.clone(),
        hostname: spec.hostname.clone(),
        domainname: spec.domainname.clone(),
        exposed_ports: non_empty(&exposed),
        healthcheck: spec.healthcheck.as_ref().map(|h| health_config(h, api)),
        stop_signal: spec.stop_signal.clone(),
        stop_timeout: spec.stop_timeout.map(ceil_secs),
        tty: spec.tty.then_some(true),
        open_stdin: spec.stdin_open.then_some(true),
        attach_stdin: spec.stdin_open.then_some(true),
        stdin_once: spec.stdin_once.then_some(true),
        host_config: Some(host_config),
        networking_config: first.map(|(name, settings)| NetworkingConfig {
            endpoints_config: Some(HashMap::from([(name, settings)])),
        }),
        ..Default::default()
    };
    Translated {
        body,
        mac_address,
        later_networks,
        create_paths,
    }
}

/// A host config with the block I/O fields of `blkio` (the others left to the caller).
fn blkio(blkio: &BlkioOptions) -> HostConfig {
    let throttle = |devices: &[(String, u64)]| {
        let devices: Vec<ThrottleDevice> = devices
            .iter()
            .map(|(path, rate)| ThrottleDevice {
                path: Some(path.clone()),
                rate: Some((*rate).min(i64::MAX as u64) as i64),
            })
            .collect();
        non_empty(&devices)
    };
    let weights: Vec<ResourcesBlkioWeightDevice> = blkio
        .weight_device
        .iter()
        .map(|(path, weight)| ResourcesBlkioWeightDevice {
            path: Some(path.clone()),
            weight: Some(usize::from(*weight)),
        })
        .collect();
    HostConfig {
        blkio_weight: blkio.weight,
        blkio_weight_device: non_empty(&weights),
        blkio_device_read_bps: throttle(&blkio.device_read_bps),
        blkio_device_write_bps: throttle(&blkio.device_write_bps),
        blkio_device_read_iops: throttle(&blkio.device_read_iops),
        blkio_device_write_iops: throttle(&blkio.device_write_iops),
        ..Default::default()
    }
}

/// The annotations, on an engine that takes them (API 1.43); the loader has warned that they
/// are applied only there.
fn annotations(
    annotations: &IndexMap<String, String>,
    api: (usize, usize),
) -> Option<HashMap<String, String>> {
    if !annotations.is_empty() && api < (1, 43) {
        tracing::warn!(
            "annotations need engine API 1.43; this engine has {}.{}",
            api.0,
            api.1
        );
        return None;
    }
    non_empty_map(annotations)
}

/// The first network's attachment, with the service's MAC address when the network sets none
/// and the engine takes endpoint MAC addresses (API 1.44), as compose moves it there.
fn with_service_mac(
    first: &NetworkAttachment,
    service_mac: Option<&str>,
    api: (usize, usize),
) -> NetworkAttachment {
    let mut first = first.clone();
    if api >= (1, 44) && first.endpoint.mac_address.is_none() {
        first.endpoint.mac_address = service_mac.map(str::to_string);
    }
    first
}

/// A client whose requests carry `body` (a create body) with `field` added: bollard's
/// `ContainerCreateBody` has no field for `MacAddress`, which engines before API 1.44 read.
fn with_config_field(
    docker: &Docker,
    body: &ContainerCreateBody,
    field: &str,
    value: &str,
) -> Result<Docker> {
    let failed = |e: serde_json::Error| EngineError::Engine {
        message: format!("the create request: {e}"),
    };
    let mut json = serde_json::to_value(body).map_err(failed)?;
    if let Some(config) = json.as_object_mut() {
        config.insert(field.to_string(), value.into());
    }
    let bytes = serde_json::to_vec(&json).map_err(failed)?;
    Ok(docker.clone().with_request_modifier(move |mut request| {
        *request.body_mut() = bollard::body_full(bytes.clone().into());
        request
    }))
}

/// A bind mount that may create its host path goes through the `Binds` syntax (`src:dst[:ro]`),
/// the only one with which the engine creates a missing source, as compose does. `None` for
/// every other mount, and for paths that the syntax cannot carry (a `:` or `,` in them).
///
/// An SELinux relabel (`z`, `Z`) needs this syntax too; a `recursive` option needs the other.
fn bind_string(mount: &Mount) -> Option<String> {
    let options = &mount.options;
    let wanted = mount.create_host_path || options.selinux.is_some();
    if mount.kind != MountKind::Bind || !wanted || options.recursive.is_some() {
        return None;
    }
    let source = mount.source.as_deref()?;
    if source.contains([':', ',']) || mount.target.contains([':', ',']) {
        return None;
    }
    let modes: Vec<&str> = [
        mount.read_only.then_some("ro"),
        options.selinux.as_deref(),
        options.propagation.as_deref(),
    ]
    .into_iter()
    .flatten()
    .collect();
    match modes.is_empty() {
        true => Some(format!("{source}:{}", mount.target)),
        false => Some(format!("{source}:{}:{}", mount.target, modes.join(","))),
    }
}

/// A bind's options in the `Mounts` syntax; `recursive: writable` and `readonly` need API 1.44,
/// and are left out (with a warning) before it.
fn bind_options(mount: &Mount, api: (usize, usize)) -> Option<MountBindOptions> {
    let options = &mount.options;
    let mut bind = MountBindOptions {
        propagation: options.propagation.as_deref().and_then(|p| p.parse().ok()),
        ..Default::default()
    };
    match options.recursive.as_deref() {
        Some("disabled") => bind.non_recursive = Some(true),
        Some(newer @ ("writable" | "readonly")) if api < (1, 44) => tracing::warn!(
            "bind.recursive: {newer} at {} needs engine API 1.44; this engine has {}.{}",
            mount.target,
            api.0,
            api.1
        ),
        Some("writable") => bind.read_only_non_recursive = Some(true),
        Some("readonly") => bind.read_only_force_recursive = Some(true),
        _ => {}
    }
    (bind != MountBindOptions::default()).then_some(bind)
}

/// What the container needs that an engine of API `api` cannot give it, when leaving it out
/// would change what the container sees: a volume's subpath mounts the whole volume there
/// instead (an older engine ignores the field), an image mount is no mount at all, and an
/// interface keeps the engine's name (compose v2 refuses it too). The loader has warned at the
/// key; the create fails rather than start something else.
pub(super) fn beyond_the_engine(spec: &ContainerSpec, api: (usize, usize)) -> Option<String> {
    let needs = |mount: &Mount| match mount.kind {
        MountKind::Image => Some(("an image mount", (1, 47), "put its files in a volume")),
        MountKind::Volume if mount.options.subpath.is_some() => Some((
            "a volume's subpath",
            (1, 45),
            "mount the whole volume and use the path inside it",
        )),
        _ => None,
    };
    if let Some(network) = spec
        .networks
        .iter()
        .find(|n| n.endpoint.interface_name.is_some())
        .filter(|_| api < (1, 49))
    {
        // Compose v2's words, for the same refusal.
        return Some(format!(
            "interface_name (on network {}) requires Docker Engine v28.1 or later (API 1.49); \
             this engine has API {}.{}: upgrade the engine, or remove the key",
            network.network, api.0, api.1
        ));
    }
    let (mount, (what, needed, otherwise)) = spec.mounts.iter().find_map(|mount| {
        let need = needs(mount).filter(|(_, needed, _)| api < *needed)?;
        Some((mount, need))
    })?;
    Some(format!(
        "{what} (at {}) needs engine API {}.{}; this engine has {}.{}: upgrade the engine, or \
         {otherwise}",
        mount.target, needed.0, needed.1, api.0, api.1
    ))
}

/// An engine mount.
fn engine_mount(mount: &Mount, api: (usize, usize)) -> EngineMount {
    let typ = match mount.kind {
        MountKind::Bind => MountType::BIND,
        MountKind::Volume => MountType::VOLUME,
        MountKind::Tmpfs => MountType::TMPFS,
        MountKind::Image => MountType::IMAGE,
    };
    EngineMount {
        target: Some(mount.target.clone()),
        source: mount.source.clone().filter(|s| !s.is_empty()),
        typ: Some(typ),
        read_only: mount.read_only.then_some(true),
        bind_options: match mount.kind {
            MountKind::Bind => bind_options(mount, api),
            _ => None,
        },
        volume_options: (mount.kind == MountKind::Volume
            && (mount.nocopy
                || !mount.options.volume_labels.is_empty()
                || mount.options.subpath.is_some()))
        .then(|| MountVolumeOptions {
            no_copy: mount.nocopy.then_some(true),
            labels: non_empty_map(&mount.options.volume_labels),
            subpath: mount.options.subpath.clone(),
            ..Default::default()
        }),
        image_options: (mount.kind == MountKind::Image).then(|| MountImageOptions {
            subpath: mount.options.subpath.clone(),
        }),
        tmpfs_options: (mount.kind == MountKind::Tmpfs
            && (mount.tmpfs_size.is_some() || mount.options.tmpfs_mode.is_some()))
        .then(|| MountTmpfsOptions {
            size_bytes: mount.tmpfs_size,
            mode: mount.options.tmpfs_mode.map(i64::from),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A network endpoint, with the container's links (on a user-defined network the engine
/// resolves a link's alias through the endpoint, as compose gives it).
///
/// A MAC address per endpoint is API 1.44, a gateway priority 1.48: before, they are left out
/// with a warning.
fn endpoint(
    attachment: &NetworkAttachment,
    links: &[String],
    api: (usize, usize),
) -> EndpointSettings {
    let options = &attachment.endpoint;
    let ipam = (attachment.ipv4_address.is_some()
        || attachment.ipv6_address.is_some()
        || !options.link_local_ips.is_empty())
    .then(|| EndpointIpamConfig {
        ipv4_address: attachment.ipv4_address.clone(),
        ipv6_address: attachment.ipv6_address.clone(),
        link_local_ips: non_empty(&options.link_local_ips),
    });
    let since = |what: &str, version: (usize, usize), value: Option<&str>| {
        if value.is_some() && api < version {
            tracing::warn!(
                "{what} on network {} needs engine API {}.{}; this engine has {}.{}",
                attachment.network,
                version.0,
                version.1,
                api.0,
                api.1
            );
            return false;
        }
        true
    };
    let mac = options.mac_address.as_deref();
    let priority = options.gw_priority.map(|p| p.to_string());
    EndpointSettings {
        aliases: non_empty(&attachment.aliases),
        links: non_empty(links),
        ipam_config: ipam,
        mac_address: mac
            .filter(|_| since("mac_address", (1, 44), mac))
            .map(str::to_string),
        driver_opts: non_empty_map(&driver_opts(options)),
        gw_priority: options
            .gw_priority
            .filter(|_| since("gw_priority", (1, 48), priority.as_deref())),
        ..Default::default()
    }
}

/// The driver option that names a container's interface on a network (`interface_name`).
const IFNAME: &str = "com.docker.network.endpoint.ifname";

/// An endpoint's driver options, with `interface_name` as Docker's driver option (unless the
/// file sets that option itself, as compose leaves it).
fn driver_opts(options: &EndpointOptions) -> IndexMap<String, String> {
    let mut opts = options.driver_opts.clone();
    if let Some(name) = &options.interface_name {
        opts.entry(IFNAME.to_string()).or_insert(name.clone());
    }
    opts
}

/// Docker's name for a namespace: the mode itself, or `container:<name or ID>`. A service's
/// is resolved to its first replica's ID before the create (`execute::perform`); one left
/// unresolved is written as the file wrote it, for the engine to refuse.
fn namespace(namespace: &Namespace) -> String {
    match namespace {
        Namespace::Mode(mode) => mode.clone(),
        Namespace::Service(service) => format!("service:{service}"),
        Namespace::Container(container) => format!("container:{container}"),
    }
}

/// Docker's `VolumesFrom` entry: `container[:mode]` (a service is resolved to its first
/// replica's ID before the create).
fn volumes_from(from: &VolumesFrom) -> String {
    let container = match &from.source {
        VolumesSource::Service(name) | VolumesSource::Container(name) => name,
    };
    match &from.mode {
        Some(mode) => format!("{container}:{mode}"),
        None => container.clone(),
    }
}

fn health_config(health: &Healthcheck, api: (usize, usize)) -> HealthConfig {
    HealthConfig {
        test: Some(health.test.clone()),
        interval: nanos(health.interval),
        timeout: nanos(health.timeout),
        retries: health.retries.map(|r| r.min(i64::MAX as u64) as i64),
        start_period: nanos(health.start_period),
        // `StartInterval` is API 1.44.
        start_interval: if api >= (1, 44) {
            nanos(health.start_interval)
        } else {
            None
        },
    }
}
