//! What the engine should have for a project: networks, volumes, and for every service its
//! replicas, each described completely enough to create it. Built from the loaded `Project`
//! alone; no I/O.

mod api_socket;
mod blkio;
mod build;
mod container;
mod content;
mod hash;
mod hook;
mod identity;
mod oneoff;
mod update;

use std::path::PathBuf;
use std::time::Duration;

use indexmap::IndexMap;

pub use blkio::BlkioOptions;
pub use build::{BuildOptions, Discovery, build};
pub use hash::config_hash;
pub use hook::{Hook, HookStage, Hooks};
pub use identity::{ContainerIdentity, DependencyMark, ResourceIdentity};
pub use oneoff::{one_off_name, one_off_spec};
pub use update::{FailureAction, UpdateOrder, UpdatePolicy};

use crate::graph::ServiceGraph;
use crate::spec::model::{Build, Dependency};

#[derive(Debug, Clone)]
pub struct Desired {
    pub project: String,
    pub working_dir: PathBuf,
    pub networks: IndexMap<String, DesiredNetwork>,
    pub volumes: IndexMap<String, DesiredVolume>,
    pub services: IndexMap<String, DesiredService>,
    /// Services the file has but no active profile enables: their containers are not orphans.
    pub disabled: Vec<String>,
    pub graph: ServiceGraph,
}

impl Desired {
    /// Whether the compose file defines `service`, enabled or not.
    pub fn knows(&self, service: &str) -> bool {
        self.services.contains_key(service) || self.disabled.iter().any(|d| d == service)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct DesiredNetwork {
    /// The key in the compose file (`default`, `front`).
    pub key: String,
    /// The engine's name (`shop_default`).
    pub name: String,
    pub external: bool,
    pub driver: Option<String>,
    pub driver_opts: IndexMap<String, String>,
    pub internal: bool,
    pub attachable: bool,
    /// `enable_ipv4` as written: `false` (an IPv6-only network) needs engine API 1.47.
    pub enable_ipv4: Option<bool>,
    pub enable_ipv6: bool,
    pub ipam: Option<crate::spec::model::Ipam>,
    /// The project's mark on it; none on an external network.
    pub identity: Option<ResourceIdentity>,
    /// The user's labels.
    pub labels: IndexMap<String, String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DesiredVolume {
    pub key: String,
    pub name: String,
    pub external: bool,
    pub driver: Option<String>,
    pub driver_opts: IndexMap<String, String>,
    /// The project's mark on it; none on an external volume.
    pub identity: Option<ResourceIdentity>,
    /// The user's labels.
    pub labels: IndexMap<String, String>,
}

#[derive(Debug, Clone)]
pub struct DesiredService {
    pub name: String,
    pub replicas: u32,
    /// Compose's config hash: replicas whose label differs are recreated.
    pub config_hash: String,
    /// The image the containers run (`image:`, or `<project>-<service>` when only built).
    pub image: String,
    pub build: Option<Build>,
    /// `pull_policy`: `always`, `missing` (default), `never`, `build`.
    pub pull_policy: String,
    pub depends_on: IndexMap<String, Dependency>,
    /// `container_name`, which only a single replica may have.
    pub container_name: Option<String>,
    /// What the supervisor does when a replica exits or turns unhealthy.
    pub restart: crate::restart::RestartPolicy,
    /// `deploy.update_config`: how diverged replicas are replaced; `None` is all at once.
    pub update: Option<UpdatePolicy>,
    /// `post_start` and `pre_stop`: run around every start and stop wharf makes.
    pub hooks: Hooks,
    /// Whether an attached `up` follows its output (`attach`, true unless set false).
    pub attach: bool,
    /// Everything needed to create one replica; the replica number is filled in per container.
    pub container: ContainerSpec,
}

impl DesiredService {
    /// The engine name of replica `number`.
    pub fn container_name(&self, project: &str, number: u32) -> String {
        match &self.container_name {
            Some(name) => name.clone(),
            None => format!("{project}-{}-{number}", self.name),
        }
    }
}

/// A container as the target should run it, in neutral terms: compose's keys read and
/// resolved, with no engine's syntax. The container backend resolves what only the engine
/// knows at create time (`execute::perform`) and writes the engine's request
/// (`engine::docker::create`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContainerSpec {
    pub image: String,
    /// The platform (`os/arch[/variant]`) of the image the container runs, for its pull,
    /// build and create: the service's `platform`, else `DOCKER_DEFAULT_PLATFORM`, as compose.
    pub platform: Option<String>,
    /// The service's `mac_address`: its first network's, unless that network sets its own
    /// (the engine takes it from the container's config before API 1.44, as compose gives it).
    pub mac_address: Option<String>,
    pub blkio: BlkioOptions,
    /// OCI annotations (`annotations`; engine API 1.43).
    pub annotations: IndexMap<String, String>,
    pub command: Option<Vec<String>>,
    pub entrypoint: Option<Vec<String>>,
    /// `KEY=VALUE`, in order.
    pub env: Vec<String>,
    /// Who the container is in its project; none on a container that is not a project's
    /// (the engine tests' own).
    pub identity: Option<ContainerIdentity>,
    /// The user's labels (`labels`, `label_file`, `run --label`).
    pub labels: IndexMap<String, String>,
    pub working_dir: Option<String>,
    pub user: Option<String>,
    pub hostname: Option<String>,
    pub domainname: Option<String>,
    pub ports: Vec<PortBinding>,
    /// Container ports exposed without publishing: `80/tcp`.
    pub exposed: Vec<String>,
    pub mounts: Vec<Mount>,
    /// Files written into the container after it is created and before it starts: the
    /// secrets and configs whose content comes from the environment or the file itself.
    pub files: Vec<ContainerFile>,
    /// Networks in attachment order (compose's: higher `priority` first). How they are joined
    /// is the backend's: Docker takes the first at create and connects the others.
    pub networks: Vec<NetworkAttachment>,
    /// `network_mode` when it is not a project network: a mode of the target (`host`,
    /// `none`), another service's network, or a container's.
    pub network_mode: Option<Namespace>,
    pub healthcheck: Option<Healthcheck>,
    pub init: Option<bool>,
    pub stop_signal: Option<String>,
    pub stop_timeout: Option<Duration>,
    /// `host:ip`.
    pub extra_hosts: Vec<String>,
    pub dns: Vec<String>,
    /// wharf's DNS is the first nameserver, before `dns`: the supervisor answers the
    /// project's names. Where it listens is the backend's business (on Docker, the gateway
    /// of the first network, known only once the network exists).
    pub wharf_dns: bool,
    pub dns_search: Vec<String>,
    pub dns_opt: Vec<String>,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    pub privileged: bool,
    pub read_only: bool,
    pub security_opt: Vec<String>,
    pub sysctls: IndexMap<String, String>,
    pub ulimits: Vec<Ulimit>,
    pub tty: bool,
    pub stdin_open: bool,
    /// Standard input closes when the first attached client detaches (`run`'s one-offs, so
    /// that the end of wharf's input is the end of theirs).
    pub stdin_once: bool,
    /// The engine removes the container when it exits (`run --rm -d`).
    pub auto_remove: bool,
    pub memory: Option<i64>,
    pub memory_reservation: Option<i64>,
    pub nano_cpus: Option<i64>,
    pub pids_limit: Option<i64>,
    pub shm_size: Option<i64>,
    /// `/path[:options]` tmpfs mounts from the `tmpfs:` key.
    pub tmpfs: IndexMap<String, String>,
    pub devices: Vec<crate::spec::model::Device>,
    pub group_add: Vec<String>,
    pub pid: Option<Namespace>,
    pub ipc: Option<Namespace>,
    pub log_driver: Option<String>,
    pub log_options: IndexMap<String, String>,
    /// Legacy links `container:alias`: the `external_links`, then the executor adds those of
    /// `service_links` once it knows the linked containers.
    pub links: Vec<String>,
    /// `links` to services of the project, resolved to their containers at create time.
    pub service_links: Vec<ServiceLink>,
    /// `volumes_from`, in order; a service is resolved to its first container at create time.
    pub volumes_from: Vec<VolumesFrom>,
    pub cpu: CpuOptions,
    /// `mem_swappiness`.
    pub memory_swappiness: Option<i64>,
    /// `memswap_limit`: memory plus swap, in bytes (`-1`: unlimited).
    pub memory_swap: Option<i64>,
    pub oom_kill_disable: bool,
    pub oom_score_adj: Option<i64>,
    pub device_cgroup_rules: Vec<String>,
    pub storage_opt: IndexMap<String, String>,
    /// `cgroup`: the cgroup namespace, `host` or `private`.
    pub cgroup: Option<String>,
    pub cgroup_parent: Option<String>,
    pub runtime: Option<String>,
    pub userns_mode: Option<String>,
    pub uts: Option<String>,
    /// `gpus` and `deploy.resources.reservations.devices`.
    pub device_requests: Vec<DeviceRequest>,
    /// The restart policy the engine applies by itself: the floor under the supervisor.
    pub restart: crate::restart::EngineRestart,
}

/// The CPU keys of a service, as the engine takes them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CpuOptions {
    pub count: Option<i64>,
    /// `cpu_percent`, a whole percentage.
    pub percent: Option<i64>,
    pub shares: Option<i64>,
    pub period: Option<i64>,
    pub quota: Option<i64>,
    pub realtime_period: Option<i64>,
    pub realtime_runtime: Option<i64>,
    /// `cpuset`: the CPUs allowed (`0-3`, `0,1`).
    pub cpuset: Option<String>,
}

/// A request for devices from a device driver (GPUs).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceRequest {
    pub driver: Option<String>,
    /// `-1` for all.
    pub count: Option<i64>,
    pub device_ids: Vec<String>,
    pub capabilities: Vec<Vec<String>>,
    pub options: IndexMap<String, String>,
}

/// A `links` entry naming a service: `db` or `db:database`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceLink {
    pub service: String,
    /// The name the link gives (the service's name when none is written).
    pub alias: String,
}

/// A `volumes_from` entry: `service[:ro|rw]` or `container:name[:ro|rw]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumesFrom {
    pub source: VolumesSource,
    /// `ro` or `rw`, when written.
    pub mode: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VolumesSource {
    /// A service of the project: its first container.
    Service(String),
    /// A container, by name or ID.
    Container(String),
}

/// A namespace a container joins (`network_mode`, `pid`, `ipc`), as the compose file names
/// it: `service:<name>`, `container:<name>`, or a mode of the target's own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Namespace {
    /// A mode the target knows by this name: `host`, `none`, `private`, `shareable`, ….
    Mode(String),
    /// Another service's: the namespace of its first replica.
    Service(String),
    /// A container's, by name or ID.
    Container(String),
}

impl Namespace {
    /// Reads `service:<name>`, `container:<name>` or a mode.
    pub fn parse(text: &str) -> Namespace {
        if let Some(service) = text.strip_prefix("service:") {
            Namespace::Service(service.to_string())
        } else if let Some(container) = text.strip_prefix("container:") {
            Namespace::Container(container.to_string())
        } else {
            Namespace::Mode(text.to_string())
        }
    }
}

impl VolumesFrom {
    /// Reads `service[:mode]` or `container:name[:mode]`.
    pub fn parse(text: &str) -> VolumesFrom {
        let (source, rest) = match text.strip_prefix("container:") {
            Some(rest) => {
                let (name, mode) = split_mode(rest);
                (VolumesSource::Container(name.to_string()), mode)
            }
            None => {
                let (name, mode) = split_mode(text);
                (VolumesSource::Service(name.to_string()), mode)
            }
        };
        VolumesFrom { source, mode: rest }
    }
}

fn split_mode(text: &str) -> (&str, Option<String>) {
    match text.rsplit_once(':') {
        Some((name, mode)) if matches!(mode, "ro" | "rw") => (name, Some(mode.to_string())),
        _ => (text, None),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortBinding {
    pub container_port: u16,
    pub protocol: String,
    pub host_ip: Option<String>,
    /// A port, a range `8000-8010`, or none for an ephemeral one.
    pub host_port: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MountKind {
    Bind,
    Volume,
    Tmpfs,
    /// An image's filesystem, read-only (API 1.47); `source` is the image reference.
    Image,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub kind: MountKind,
    /// Host path (bind), engine volume name (volume; none for anonymous), none (tmpfs).
    pub source: Option<String>,
    pub target: String,
    pub read_only: bool,
    /// Bind mounts: create the host path when missing.
    pub create_host_path: bool,
    pub nocopy: bool,
    pub tmpfs_size: Option<i64>,
    /// The long syntax's other options.
    pub options: MountOptions,
}

/// A mount's less common options, from the long syntax (and `z`/`Z` of the short one).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MountOptions {
    /// Bind: `rprivate`, `private`, `rshared`, `shared`, `rslave`, `slave`.
    pub propagation: Option<String>,
    /// Bind: `z` (shared SELinux label) or `Z` (private).
    pub selinux: Option<String>,
    /// Bind: `enabled`, `disabled`, `writable`, `readonly`.
    pub recursive: Option<String>,
    /// Tmpfs: the file mode of its root.
    pub tmpfs_mode: Option<u32>,
    /// Volume: labels for a volume the engine creates on the fly.
    pub volume_labels: IndexMap<String, String>,
    /// Volume (API 1.45) or image (API 1.47): the path inside it that is mounted.
    pub subpath: Option<String>,
}

/// A file copied into a container before it starts (a secret's or config's content).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerFile {
    /// Absolute path in the container.
    pub path: String,
    /// The content, or the error that keeps the container from being created (an unset
    /// variable, a read-only root filesystem), worded as compose words it.
    pub content: Result<String, String>,
    pub uid: u64,
    pub gid: u64,
    pub mode: u32,
    /// `uid` or `gid` was given: the engine is asked to keep the archive's owner (compose's
    /// `CopyUIDGID`).
    pub copy_owner: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkAttachment {
    /// The engine's network name.
    pub network: String,
    pub aliases: Vec<String>,
    pub ipv4_address: Option<String>,
    pub ipv6_address: Option<String>,
    /// The endpoint's other settings.
    pub endpoint: EndpointOptions,
}

/// A network endpoint's less common settings (`services.*.networks.*`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EndpointOptions {
    pub mac_address: Option<String>,
    pub link_local_ips: Vec<String>,
    pub driver_opts: IndexMap<String, String>,
    /// `interface_name`: the container's name for its interface on the network.
    pub interface_name: Option<String>,
    /// `gw_priority` (API 1.48).
    pub gw_priority: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Healthcheck {
    /// `["CMD", …]`, `["CMD-SHELL", "…"]`, or `["NONE"]`.
    pub test: Vec<String>,
    pub interval: Option<Duration>,
    pub timeout: Option<Duration>,
    pub start_period: Option<Duration>,
    pub start_interval: Option<Duration>,
    pub retries: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ulimit {
    pub name: String,
    pub soft: i64,
    pub hard: i64,
}

impl Ulimit {
    /// compose's `ulimits` in the engine's terms: a single number is both limits.
    pub fn all(ulimits: &IndexMap<String, crate::spec::model::Ulimit>) -> Vec<Ulimit> {
        ulimits
            .iter()
            .map(|(name, u)| Ulimit {
                name: name.clone(),
                soft: u.single.or(u.soft).unwrap_or(0),
                hard: u.single.or(u.hard).unwrap_or(0),
            })
            .collect()
    }
}
