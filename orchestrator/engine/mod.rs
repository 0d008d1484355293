//! The only door to the engine. `DockerEngine` (bollard) is the real one; `MemoryEngine`
//! stands in for it in unit tests and benches (built only for tests and the `testkit` feature;
//! `tests/engine_contract.rs` holds it to the real one's behaviour). Every method is one engine call (or one
//! create-and-connect), so that the executor can order, parallelize and report them; `events`
//! is the engine's event stream, the supervisor's trigger.

pub mod docker;
pub mod dockerignore;
pub mod labels;
pub mod listing;
/// Only for tests and the `testkit` feature: the release binary has no in-memory engine.
#[cfg(any(test, feature = "testkit"))]
pub mod memory;
pub mod registry_auth;
pub mod timestamp;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::stream::BoxStream;

use crate::desired::{ContainerSpec, DesiredNetwork, DesiredVolume};

/// An engine failure, with the engine's own message.
#[derive(Debug, Clone, thiserror::Error)]
pub enum EngineError {
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0} already exists")]
    Conflict(String),
    #[error("{message}")]
    Engine { message: String },
    #[error("cannot reach the Docker Engine: {0}")]
    Unreachable(String),
}

pub type Result<T> = std::result::Result<T, EngineError>;

// What a container's state and health are, in the words `observe` gives every backend.
pub use crate::observe::{ContainerState, Health};

/// A container as the engine lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct EngineContainer {
    pub id: String,
    /// Without the leading `/`.
    pub name: String,
    pub image: String,
    pub image_id: String,
    pub state: ContainerState,
    pub health: Option<Health>,
    pub exit_code: Option<i64>,
    /// Unix seconds.
    pub created: i64,
    pub labels: HashMap<String, String>,
    /// `8080->80/tcp` style published ports, for `ps`.
    pub ports: Vec<String>,
    /// Network name → IPv4 address.
    pub addresses: HashMap<String, String>,
    /// Network name → IPv6 address, on networks with IPv6.
    pub addresses_v6: HashMap<String, String>,
    /// The volumes mounted in it.
    pub volumes: Vec<MountedVolume>,
    /// What `ps` prints as compose does: status text, command, mounts, networks, ports.
    pub listing: listing::Listing,
}

/// A volume mounted in a container.
#[derive(Debug, Clone, PartialEq)]
pub struct MountedVolume {
    pub name: String,
    pub target: String,
    /// Made by the engine for this container (an anonymous volume of the spec or the image),
    /// not a volume anyone named.
    pub anonymous: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EngineNetwork {
    pub id: String,
    pub name: String,
    pub labels: HashMap<String, String>,
    /// The network's address pools (IPAM), IPv4 and IPv6 alike.
    pub pools: Vec<AddressPool>,
    pub settings: NetworkSettings,
}

/// What a network was created with, as the engine lists it: what tells that the compose file
/// now asks for other options.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NetworkSettings {
    pub driver: String,
    pub driver_opts: HashMap<String, String>,
    pub internal: bool,
    pub attachable: bool,
    pub enable_ipv6: bool,
    /// The IPAM driver (`default`), its options and its pools, assigned ones included.
    pub ipam: crate::spec::model::Ipam,
}

/// One address pool of a network: its subnet and the host's address on it, the gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressPool {
    pub subnet: ipnet::IpNet,
    pub gateway: Option<std::net::IpAddr>,
}

impl EngineNetwork {
    /// The gateway of the first IPv4 pool: the host's address on the network, where wharf's
    /// DNS listens for the network's containers.
    pub fn gateway_v4(&self) -> Option<std::net::IpAddr> {
        self.pools
            .iter()
            .filter_map(|p| p.gateway)
            .find(std::net::IpAddr::is_ipv4)
    }

    /// Whether `address` is inside one of the network's subnets.
    pub fn contains(&self, address: std::net::IpAddr) -> bool {
        self.pools.iter().any(|p| p.subnet.contains(&address))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct EngineVolume {
    pub name: String,
    pub labels: HashMap<String, String>,
    /// What it was created with (`local` and no options for a volume the engine made on the fly).
    pub driver: String,
    pub driver_opts: HashMap<String, String>,
    /// Where the driver keeps the volume's data on the host.
    pub mountpoint: String,
    /// `local` or `global`.
    pub scope: String,
}

impl EngineVolume {
    /// A volume of the `local` driver without options: what the engine makes when a mount
    /// names a volume that does not exist, or an anonymous one.
    pub fn local(name: &str, labels: HashMap<String, String>) -> EngineVolume {
        EngineVolume {
            name: name.to_string(),
            labels,
            driver: "local".into(),
            driver_opts: HashMap::new(),
            mountpoint: format!("/var/lib/docker/volumes/{name}/_data"),
            scope: "local".into(),
        }
    }
}

/// A build through the engine's build API.
#[derive(Debug, Clone, Default)]
pub struct BuildRequest {
    pub context: PathBuf,
    /// Relative to the context.
    pub dockerfile: String,
    pub dockerfile_inline: Option<String>,
    pub tag: String,
    pub args: HashMap<String, String>,
    pub target: Option<String>,
    pub labels: HashMap<String, String>,
    pub no_cache: bool,
    pub pull: bool,
    /// More names the image gets (`build.tags`), besides `tag`.
    pub extra_tags: Vec<String>,
    /// Images whose layers the build may reuse (`build.cache_from`).
    pub cache_from: Vec<String>,
    /// `host:ip` entries that the build's RUN steps see in `/etc/hosts`.
    pub extra_hosts: Vec<String>,
    /// The network mode of the RUN steps (`none`, `host`, a network's name).
    pub network: Option<String>,
    /// The size of `/dev/shm` in the RUN steps, in bytes.
    pub shm_size: Option<u64>,
    pub isolation: Option<String>,
    /// The one platform (`os/arch[/variant]`) the image is built for; the engine's default
    /// (its own) when `None`.
    pub platform: Option<String>,
    /// The RUN steps' resource limits (`build.ulimits`).
    pub ulimits: Vec<crate::desired::Ulimit>,
}

/// One line of a container's output.
#[derive(Debug, Clone, PartialEq)]
pub struct LogLine {
    /// RFC 3339 timestamp, as the engine gives it.
    pub timestamp: String,
    pub stderr: bool,
    pub text: String,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct LogOptions {
    pub follow: bool,
    /// `--tail N`; `None` is all.
    pub tail: Option<u64>,
    /// Only lines written at or after this Unix second.
    pub since: Option<i64>,
}

/// What kind of engine object an [`EngineEvent`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    Container,
    Network,
    Volume,
}

/// What happened to it, from the engine's `Action`.
///
/// A container's life as Docker 20.10 tells it: `create`, `start`, then `die` when the process
/// ends by itself; `docker kill` is `kill` (9), `die` (137); `docker stop` is `kill` (15),
/// [`kill` (9) after the timeout], `die`, `stop`; `docker rm` is `destroy`. Networks and volumes
/// have `create` and `destroy` (and [`Other`](EventAction::Other) for `connect`, `mount`, …).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum EventAction {
    Create,
    Start,
    /// The container's main process ended, with its exit code (`128 + n` after signal `n`).
    Die {
        exit_code: Option<i64>,
    },
    Stop,
    /// A signal was sent to the main process, by its number (`docker stop` sends 15, then 9).
    Kill {
        signal: Option<i32>,
    },
    Destroy,
    /// `health_status: healthy` / `unhealthy`: the health changed.
    HealthStatus(Health),
    /// The container now has [`EngineEvent::name`]; this was its name before.
    Rename {
        old_name: Option<String>,
    },
    Pause,
    Unpause,
    /// The kernel killed a process of the container for memory (a `die` follows).
    Oom,
    /// Any other action, as the engine spells it (`restart`, `update`, `connect`, `mount`, …).
    /// `exec_*` actions (a healthcheck runs one per probe) are never reported.
    Other(String),
}

/// One event of the engine about a project's container, network or volume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineEvent {
    pub kind: EventKind,
    pub action: EventAction,
    /// The container's or network's ID; a volume's name (a volume has no other ID).
    pub id: String,
    /// Without the leading `/`; a container's new name after a rename.
    pub name: String,
    /// The object's labels. A container's come with the event; a network's or a volume's are
    /// the ones the runtime read when it learnt of it (the engine's events carry none).
    pub labels: HashMap<String, String>,
    /// The engine's clock, in Unix nanoseconds.
    pub time_nanos: i64,
}

impl EngineEvent {
    /// The compose service (`com.docker.compose.service`).
    pub fn service(&self) -> Option<&str> {
        labels::service(&self.labels)
    }

    /// The replica number (`com.docker.compose.container-number`).
    pub fn number(&self) -> Option<u32> {
        labels::number(&self.labels)
    }
}

/// A signal's number, from `9`, `KILL` or `SIGKILL` (the common signals only).
pub fn signal_number(signal: &str) -> Option<i32> {
    if let Ok(number) = signal.trim().parse() {
        return Some(number);
    }
    let name = signal.trim().to_ascii_uppercase();
    Some(match name.strip_prefix("SIG").unwrap_or(&name) {
        "HUP" => 1,
        "INT" => 2,
        "QUIT" => 3,
        "ABRT" => 6,
        "KILL" => 9,
        "USR1" => 10,
        "USR2" => 12,
        "ALRM" => 14,
        "TERM" => 15,
        "STOP" => 19,
        _ => return None,
    })
}

/// A command to run inside a running container (`develop.watch`'s `sync+exec`, and the
/// removal of files deleted on the host).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExecRequest {
    pub command: Vec<String>,
    pub user: Option<String>,
    pub working_dir: Option<String>,
    /// `KEY=VALUE`.
    pub environment: Vec<String>,
    pub privileged: bool,
}

/// How an exec ended.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecOutput {
    /// `None` when the engine does not tell.
    pub exit_code: Option<i64>,
    /// Standard output and error, interleaved as the engine sent them.
    pub output: String,
}

/// How `exec`, `run` and `attach` connect a process's standard streams to wharf's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Streams {
    /// A pseudo-terminal: output comes as one raw stream, and the terminal can be resized.
    pub tty: bool,
    /// Standard input is connected.
    pub stdin: bool,
}

/// A chunk of a process's output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Standard output, or the terminal's output with a TTY.
    Stdout(Vec<u8>),
    Stderr(Vec<u8>),
}

/// The streams of a process running in the engine, attached: what is written to `input`
/// reaches its standard input (shut it down for end of file); `output` ends when the process
/// has closed its output (it has ended, or detached).
pub struct Attachment {
    pub input: std::pin::Pin<Box<dyn tokio::io::AsyncWrite + Send>>,
    pub output: BoxStream<'static, Result<Output>>,
    /// The process has a pseudo-terminal.
    pub tty: bool,
}

/// An exec that was started: its ID (for [`ContainerEngine::exec_exit_code`] and
/// [`ContainerEngine::resize_exec`]), and its streams unless it was started detached.
pub struct StartedExec {
    pub id: String,
    pub attachment: Option<Attachment>,
}

#[async_trait]
pub trait ContainerEngine: Send + Sync {
    /// Every container (running or not) labelled with this project.
    async fn containers(&self, project: &str) -> Result<Vec<EngineContainer>>;
    async fn container(&self, id_or_name: &str) -> Result<EngineContainer>;
    async fn networks(&self) -> Result<Vec<EngineNetwork>>;
    async fn volumes(&self) -> Result<Vec<EngineVolume>>;
    /// The ID of a local image, `None` when it is not present.
    async fn image_id(&self, reference: &str) -> Result<Option<String>>;

    async fn create_network(&self, network: &DesiredNetwork) -> Result<()>;
    async fn remove_network(&self, name: &str) -> Result<()>;
    async fn create_volume(&self, volume: &DesiredVolume) -> Result<()>;
    async fn remove_volume(&self, name: &str) -> Result<()>;
    /// Pulls an image, for `platform` (`os/arch[/variant]`) when set, else the engine's own.
    async fn pull_image(&self, reference: &str, platform: Option<&str>) -> Result<()>;
    /// Builds and tags an image; returns its ID.
    async fn build_image(&self, request: &BuildRequest) -> Result<String>;

    /// Creates a container attached to its first network and connects it to the others.
    async fn create_container(&self, name: &str, spec: &ContainerSpec) -> Result<String>;
    async fn start_container(&self, id: &str) -> Result<()>;
    /// Stops a container: its stop signal, SIGKILL after the grace period (`timeout`, else
    /// its own), and returns once the engine lists it as stopped.
    async fn stop_container(&self, id: &str, timeout: Option<Duration>) -> Result<()>;
    /// Stops a container as `stop_container` does, but may return as soon as its process has
    /// exited, before the engine has cleaned up after it: for a container that is removed
    /// next (the removal waits for that cleanup in the engine).
    async fn end_container(&self, id: &str, timeout: Option<Duration>) -> Result<()> {
        self.stop_container(id, timeout).await
    }
    async fn kill_container(&self, id: &str, signal: &str) -> Result<()>;
    /// Removes a container, with its anonymous volumes when `volumes` is set.
    async fn remove_container(&self, id: &str, volumes: bool) -> Result<()>;
    async fn rename_container(&self, id: &str, name: &str) -> Result<()>;
    async fn logs(
        &self,
        id: &str,
        options: &LogOptions,
    ) -> Result<BoxStream<'static, Result<LogLine>>>;

    /// The engine's events about this project's containers, networks and volumes (those
    /// labelled `com.docker.compose.project=<project>`), from now on, in the engine's order
    /// among containers and among networks and volumes (across the two, compare
    /// [`EngineEvent::time_nanos`]). `exec_*` events are left out.
    ///
    /// The contract, for a caller that must not miss a change (the supervisor):
    /// - "Now" is when this call returns: every event after that is delivered; a few from just
    ///   before may be too. So subscribe first, then read the state (`containers`, …): what
    ///   changed before the subscription is in that state, what changed after is in the stream.
    ///   One exception: a network or volume created and removed again before the stream has
    ///   read its `create` may not be reported at all (the engine's events of networks and
    ///   volumes carry no labels; `DockerEngine` inspects them to learn whose they are). That
    ///   changes nothing the caller would see in the state. Read the stream promptly.
    /// - An `Err` from the call itself means there is no subscription (the engine is
    ///   unreachable).
    /// - The stream never ends while the engine connection lives, however long it is idle (no
    ///   request timeout applies to it).
    /// - When the connection drops (the engine restarts or the socket closes) the stream ENDS:
    ///   it returns `None`, or one `Err` item and then `None`. It never reconnects by itself,
    ///   and what happens between the drop and a new subscription is not reported: the caller
    ///   subscribes again and then reads the state again (resync), as at the start.
    /// - Dropping the stream ends the subscription.
    async fn events(&self, project: &str) -> Result<BoxStream<'static, Result<EngineEvent>>>;

    // --- files into running containers (watch mode) ---

    /// Extracts a tar archive into directory `dir` of a container through the engine's archive
    /// API; parent directories of its entries are created, existing files are replaced.
    async fn upload_archive(&self, id: &str, dir: &str, archive: Vec<u8>) -> Result<()>;
    /// Runs a command in a running container and waits for it to end.
    async fn exec(&self, id: &str, request: &ExecRequest) -> Result<ExecOutput>;

    // --- processes attached to the terminal (`exec`, `run`, `attach`, `wait`) ---

    /// Creates an exec in a running container and starts it: attached with `streams`, or
    /// detached (`None` streams) when `detach`.
    async fn start_exec(
        &self,
        id: &str,
        request: &ExecRequest,
        streams: Streams,
        detach: bool,
    ) -> Result<StartedExec>;
    /// The exit code of an exec, once it has ended (`None` while it runs).
    async fn exec_exit_code(&self, exec_id: &str) -> Result<Option<i64>>;
    /// Resizes an exec's pseudo-terminal to `(rows, columns)`.
    async fn resize_exec(&self, exec_id: &str, size: (u16, u16)) -> Result<()>;
    /// Attaches to a container's main process (created or running): its output from now on,
    /// and its standard input when `stdin`. The engine ends the attachment when it reads
    /// `detach_keys` (`ctrl-p,ctrl-q` unless set) on the input.
    async fn attach_container(
        &self,
        id: &str,
        stdin: bool,
        detach_keys: Option<&str>,
    ) -> Result<Attachment>;
    /// Resizes a container's pseudo-terminal to `(rows, columns)`.
    async fn resize_container(&self, id: &str, size: (u16, u16)) -> Result<()>;
    /// Waits for a container to stop (at once when it is not running) and returns its exit
    /// code.
    async fn wait_container(&self, id: &str) -> Result<i64>;

    // --- compose's smaller verbs (`pause`, `unpause`, …) ---

    /// Freezes every process of a running container (`docker pause`).
    async fn pause_container(&self, id: &str) -> Result<()>;
    /// Thaws a paused container (`docker unpause`).
    async fn unpause_container(&self, id: &str) -> Result<()>;
    /// The processes of a running container, as the engine's `ps` shows them (`docker top`).
    async fn top(&self, id: &str) -> Result<ProcessList>;
    /// A local image, by reference or ID; `NotFound` when it is not present.
    async fn image_details(&self, reference: &str) -> Result<ImageDetails>;
    /// The containers of every compose project on the engine (those with a
    /// `com.docker.compose.project` label, whatever its value); stopped ones only with `all`.
    async fn compose_containers(&self, all: bool) -> Result<Vec<EngineContainer>>;
    /// Pushes a local image to its registry (`docker push`).
    async fn push_image(&self, reference: &str) -> Result<()>;
    /// Removes a tag (`docker rmi REFERENCE`, not forced): the image goes with its last tag;
    /// an image a container uses is refused.
    async fn delete_image(&self, reference: &str) -> Result<()>;
    /// A tar archive of a path in a container (`docker cp` out): one root entry, named as the
    /// path's last component.
    async fn download_archive(&self, id: &str, path: &str) -> Result<Vec<u8>>;
    /// Whether a path in a container is a directory; `None` when it does not exist.
    async fn path_is_dir(&self, id: &str, path: &str) -> Result<Option<bool>>;
    /// Like [`ContainerEngine::upload_archive`], with the archive's owners kept (`docker cp -a`)
    /// when `keep_owners` is set, else owned by the container's root.
    async fn copy_archive(
        &self,
        id: &str,
        dir: &str,
        archive: Vec<u8>,
        keep_owners: bool,
    ) -> Result<()>;
    /// One sample of a running container's resource usage (`docker stats --no-stream`): the
    /// engine measures the CPU over about a second.
    async fn stats(&self, id: &str) -> Result<ContainerStats>;
    /// A new image from a container's changes (`docker commit`); the image's ID.
    async fn commit_container(&self, id: &str, request: &CommitRequest) -> Result<String>;
    /// The container's filesystem as a tar archive, in chunks as the engine sends them
    /// (`docker export`).
    async fn export_container(&self, id: &str) -> Result<BoxStream<'static, Result<Vec<u8>>>>;
}

/// What `docker commit` takes besides the container.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CommitRequest {
    /// `REPOSITORY[:TAG]`; none leaves the image untagged.
    pub reference: Option<String>,
    pub author: Option<String>,
    pub message: Option<String>,
    /// Dockerfile instructions applied to the image's configuration (`ENV X=1`, `CMD …`).
    pub changes: Vec<String>,
    /// Pause the container while the engine copies its filesystem.
    pub pause: bool,
}

/// A container's resource usage, in the docker CLI's terms.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContainerStats {
    /// Of one CPU: 200 is two CPUs busy.
    pub cpu_percent: f64,
    /// Bytes in use, without the page cache the kernel may take back (as `docker stats`).
    pub memory: u64,
    pub memory_limit: u64,
    pub net_rx: u64,
    pub net_tx: u64,
    pub block_read: u64,
    pub block_write: u64,
    pub pids: u64,
}

/// `docker top`: the column titles and one row per process.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProcessList {
    pub titles: Vec<String>,
    pub processes: Vec<Vec<String>>,
}

/// A local image as `docker image inspect` describes it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImageDetails {
    /// `sha256:…`.
    pub id: String,
    pub repo_tags: Vec<String>,
    /// Bytes.
    pub size: i64,
    /// Unix seconds.
    pub created: i64,
    /// `os/architecture[/variant]`.
    pub platform: String,
    /// RFC 3339, as the engine writes it; empty when the image was never tagged here.
    pub last_tag_time: String,
}
