//! The real runtime: the Docker Engine through bollard.
//!
//! The engine here speaks API 1.41 (Docker 20.10): the client negotiates down to it, and fields
//! that only newer engines know are sent only when the negotiated version has them. A container
//! is created with its first network only and connected to the others before `create_container`
//! returns (API < 1.44 rejects several endpoints at create). Every container gets the engine
//! restart policy `no`: wharf's supervisor owns restarts.

#[path = "dockerignore.rs"]
pub mod dockerignore;

use std::collections::{HashMap, HashSet};
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use bollard::Docker;
use bollard::errors::Error as BollardError;
use bollard::exec::{ResizeExecOptions, StartExecOptions, StartExecResults};
use bollard::models::{
    ContainerCreateBody, ContainerInspectResponse, ContainerStateStatusEnum, ContainerSummary,
    ContainerSummaryStateEnum, DeviceMapping, DeviceRequest as EngineDeviceRequest,
    EndpointIpamConfig, EndpointSettings, EventMessage, EventMessageTypeEnum, ExecConfig,
    HealthConfig, HealthStatusEnum, HostConfig, HostConfigLogConfig, Ipam, IpamConfig,
    Mount as EngineMount, MountBindOptions, MountPoint, MountTmpfsOptions, MountType,
    MountVolumeOptions, MountVolumeOptionsDriverConfig, NetworkConnectRequest,
    NetworkCreateRequest, NetworkingConfig, PortBinding as EnginePortBinding, PortMap,
    ResourcesBlkioWeightDevice, ResourcesUlimits, RestartPolicy,
    ThrottleDevice, VolumeCreateRequest,
};
use bollard::query_parameters::{
    AttachContainerOptionsBuilder, BuildImageOptionsBuilder, CreateContainerOptionsBuilder,
    CreateImageOptionsBuilder, EventsOptionsBuilder, KillContainerOptionsBuilder,
    ListContainersOptionsBuilder, ListNetworksOptions, ListNetworksOptionsBuilder,
    ListVolumesOptions, ListVolumesOptionsBuilder, LogsOptionsBuilder,
    RemoveContainerOptionsBuilder, RemoveImageOptions, RemoveVolumeOptions,
    RenameContainerOptionsBuilder, ResizeContainerTTYOptionsBuilder, StopContainerOptionsBuilder,
    UploadToContainerOptionsBuilder, WaitContainerOptionsBuilder,
};
use futures_util::stream::{self, BoxStream, Stream, StreamExt};

use self::dockerignore::DockerIgnore;
use super::listing::{ListedMount, Listing, Publisher, status_text};
use super::timestamp::{unix_nanos, unix_seconds};
use super::{
    AddressPool, Attachment, BuildRequest, ContainerState, EngineContainer, EngineEvent,
    EngineNetwork, EngineVolume, EventAction, EventKind, ExecOutput, ExecRequest, Health, LogLine,
    LogOptions, MountedVolume, NetworkSettings, Output, Result, ContainerEngine, EngineError, StartedExec,
    Streams, signal_number,
};
use crate::desired::{
    BlkioOptions, ContainerFile, ContainerSpec, DesiredNetwork, DesiredVolume, Healthcheck, Mount,
    MountKind, NetworkAttachment, VolumesFrom, labels,
};

/// How long a request may wait for the engine's answer (a `stop` gets its timeout on top).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
/// Builds and pulls answer as they go, but the context upload comes first.
const LONG_REQUEST_TIMEOUT: Duration = Duration::from_secs(3600);
/// The engine's grace period between the stop signal and SIGKILL, when nothing sets one.
const DEFAULT_STOP_GRACE: Duration = Duration::from_secs(10);
/// Output lines of a failed build that are kept in its error.
const BUILD_ERROR_TAIL: usize = 15;

/// The Docker Engine, through bollard.
#[derive(Debug, Clone)]
pub struct DockerEngine {
    docker: Docker,
    api: (usize, usize),
}

impl DockerEngine {
    /// The containers with a label (`KEY` or `KEY=VALUE`); stopped ones too with `all`.
    async fn labelled_containers(&self, label: String, all: bool) -> Result<Vec<ContainerSummary>> {
        let filters = HashMap::from([("label".to_string(), vec![label])]);
        let options = ListContainersOptionsBuilder::new()
            .all(all)
            .filters(&filters)
            .build();
        self.docker
            .list_containers(Some(options))
            .await
            .map_err(engine_error)
    }

    /// Connects as the `docker` CLI does (`DOCKER_HOST`, else the local socket) and negotiates
    /// the API version with the engine.
    pub async fn connect() -> Result<Self> {
        let docker = Docker::connect_with_defaults()
            .map_err(|e| EngineError::Unreachable(e.to_string()))?;
        Self::from_client(docker).await
    }

    /// Wraps a bollard client (negotiating its API version with the engine).
    pub async fn from_client(docker: Docker) -> Result<Self> {
        let docker = docker
            .with_timeout(REQUEST_TIMEOUT)
            .negotiate_version()
            .await
            .map_err(|e| match engine_error(e) {
                EngineError::Engine { message } => EngineError::Unreachable(message),
                other => other,
            })?;
        let version = docker.client_version();
        Ok(DockerEngine {
            docker,
            api: (version.major_version, version.minor_version),
        })
    }

    /// The negotiated API version, `(1, 41)` on Docker 20.10.
    pub fn api_version(&self) -> (usize, usize) {
        self.api
    }

    /// How long a request waits for the engine to begin its answer (2 minutes unless set;
    /// whole seconds, at least one; builds, pulls and stops get longer). It bounds the wait for
    /// the answer's head only: a log or event stream that has begun is never cut by it.
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.docker = self
            .docker
            .with_timeout(timeout.max(Duration::from_secs(1)));
        self
    }

    /// The engine's clock, as the events API takes it (`seconds.nanoseconds`); `None` when the
    /// engine does not tell it.
    async fn engine_clock(&self) -> Result<Option<String>> {
        let info = self.docker.info().await.map_err(engine_error)?;
        Ok(info
            .system_time
            .as_deref()
            .and_then(unix_nanos)
            .map(events_since))
    }

    /// The engine's stop: signal, grace period, SIGKILL, and the cleanup after the exit.
    async fn engine_stop(&self, id: &str, timeout: Option<Duration>) -> Result<()> {
        let mut options = StopContainerOptionsBuilder::new();
        let mut client_timeout = REQUEST_TIMEOUT;
        if let Some(timeout) = timeout {
            options = options.t(ceil_secs(timeout).min(i32::MAX as i64) as i32);
            client_timeout += timeout;
        } else {
            // The container's own stop timeout applies; it may be long.
            client_timeout = LONG_REQUEST_TIMEOUT;
        }
        let docker = self.docker.clone().with_timeout(client_timeout);
        // An already stopped container answers 304, which bollard takes as success.
        docker
            .stop_container(id, Some(options.build()))
            .await
            .map_err(|e| map_error(e, &format!("container {id}"), Op::Other))
    }

    /// Sends `signal` and waits for the container's process to exit, for at most `limit`:
    /// true when it has exited (or was not running any more), false when the limit passed.
    /// The exit is its first `die` event since `since`, replayed by the engine if it came
    /// before the subscription; without `since`, or if the event stream fails, the engine's
    /// `wait`.
    async fn signal_and_wait(
        &self,
        id: &str,
        signal: &str,
        since: Option<&str>,
        limit: Option<Duration>,
    ) -> Result<bool> {
        let options = KillContainerOptionsBuilder::new().signal(signal).build();
        match self.docker.kill_container(id, Some(options)).await {
            Ok(()) => {}
            // 409: it is not running (any more).
            Err(BollardError::DockerResponseServerError {
                status_code: 409, ..
            }) => return Ok(true),
            Err(e) => return Err(map_error(e, &format!("container {id}"), Op::Other)),
        }
        let exited = async {
            if let Some(since) = since {
                let filters = HashMap::from([("container", vec![id]), ("event", vec!["die"])]);
                let options = EventsOptionsBuilder::new()
                    .filters(&filters)
                    .since(since)
                    .build();
                if let Some(Ok(_)) = self.docker.events(Some(options)).next().await {
                    return Ok(());
                }
            }
            self.wait_exit(id, limit).await
        };
        match limit {
            Some(limit) => match tokio::time::timeout(limit, exited).await {
                Ok(exited) => exited.map(|()| true),
                Err(_) => Ok(false),
            },
            None => exited.await.map(|()| true),
        }
    }

    /// The engine's `wait` for the container to stop running.
    async fn wait_exit(&self, id: &str, limit: Option<Duration>) -> Result<()> {
        let docker = self
            .docker
            .clone()
            .with_timeout(limit.unwrap_or(LONG_REQUEST_TIMEOUT) + REQUEST_TIMEOUT);
        let options = WaitContainerOptionsBuilder::new()
            .condition("not-running")
            .build();
        match docker.wait_container(id, Some(options)).next().await {
            // bollard reports a non-zero exit code as an error: it is an exit all the same.
            None | Some(Ok(_)) | Some(Err(BollardError::DockerContainerWaitError { .. })) => Ok(()),
            Some(Err(e)) => Err(map_error(e, &format!("container {id}"), Op::Other)),
        }
    }

    /// Writes a secret's or config's content into a created container, as compose does before
    /// a start: a one-file archive extracted at `/`, which keeps the archive's mode, and its
    /// owner when `copyUIDGID` is asked for.
    async fn copy_file(&self, id: &str, file: &ContainerFile) -> Result<()> {
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
        self.docker
            .upload_to_container(
                id,
                Some(options.build()),
                bollard::body_full(archive.into()),
            )
            .await
            .map_err(
                |e| match map_error(e, &format!("container {id}"), Op::Other) {
                    EngineError::Engine { message } => EngineError::Engine {
                        message: format!("writing {}: {message}", file.path),
                    },
                    other => other,
                },
            )
    }

    async fn inspect(&self, id: &str) -> Result<ContainerInspectResponse> {
        self.docker
            .inspect_container(id, None)
            .await
            .map_err(|e| map_error(e, &format!("container {id}"), Op::Other))
    }

    async fn network_exists(&self, name: &str) -> Result<bool> {
        match self.docker.inspect_network(name, None).await {
            // Inspect also answers for an ID or an ID prefix: only the same name is a conflict.
            Ok(network) => Ok(network.name.as_deref() == Some(name)),
            Err(BollardError::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(false),
            Err(e) => Err(engine_error(e)),
        }
    }

    async fn volume_exists(&self, name: &str) -> Result<bool> {
        match self.docker.inspect_volume(name).await {
            Ok(_) => Ok(true),
            Err(BollardError::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(false),
            Err(e) => Err(engine_error(e)),
        }
    }
}

#[async_trait]
impl ContainerEngine for DockerEngine {
    async fn containers(&self, project: &str) -> Result<Vec<EngineContainer>> {
        let summaries = self
            .labelled_containers(format!("{}={project}", labels::PROJECT), true)
            .await?;
        let mut out = Vec::with_capacity(summaries.len());
        for summary in summaries {
            let mut container = from_summary(&summary);
            // The list's status text carries the exit code; a dead container's needs an inspect.
            if matches!(
                container.state,
                ContainerState::Exited | ContainerState::Dead
            ) && container.exit_code.is_none()
            {
                match self.inspect(&container.id).await {
                    Ok(inspected) => {
                        container.exit_code = inspected.state.as_ref().and_then(|s| s.exit_code)
                    }
                    // Removed between the list and the inspect.
                    Err(EngineError::NotFound(_)) => continue,
                    Err(e) => return Err(e),
                }
            }
            out.push(container);
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    async fn container(&self, id_or_name: &str) -> Result<EngineContainer> {
        let inspected = self.inspect(id_or_name).await?;
        Ok(from_inspect(&inspected))
    }

    async fn networks(&self) -> Result<Vec<EngineNetwork>> {
        let networks = self
            .docker
            .list_networks(None::<ListNetworksOptions>)
            .await
            .map_err(engine_error)?;
        Ok(networks
            .into_iter()
            .map(|n| {
                let ipam = n.ipam.unwrap_or_default();
                let pools = ipam.config.clone().unwrap_or_default();
                EngineNetwork {
                    pools: pools.iter().filter_map(address_pool).collect(),
                    id: n.id.unwrap_or_default(),
                    name: n.name.unwrap_or_default(),
                    labels: n.labels.unwrap_or_default(),
                    settings: NetworkSettings {
                        driver: n.driver.unwrap_or_default(),
                        driver_opts: n.options.unwrap_or_default(),
                        internal: n.internal.unwrap_or_default(),
                        attachable: n.attachable.unwrap_or_default(),
                        enable_ipv6: n.enable_ipv6.unwrap_or_default(),
                        ipam: model_ipam(ipam.driver, pools, ipam.options),
                    },
                }
            })
            .collect())
    }

    async fn volumes(&self) -> Result<Vec<EngineVolume>> {
        let response = self
            .docker
            .list_volumes(None::<ListVolumesOptions>)
            .await
            .map_err(engine_error)?;
        Ok(response
            .volumes
            .unwrap_or_default()
            .into_iter()
            .map(|v| EngineVolume {
                name: v.name,
                labels: v.labels,
                driver: v.driver,
                driver_opts: v.options,
                mountpoint: v.mountpoint,
                scope: v.scope.map(|s| s.to_string()).unwrap_or_default(),
            })
            .collect())
    }

    async fn image_id(&self, reference: &str) -> Result<Option<String>> {
        match self.docker.inspect_image(reference).await {
            Ok(image) => Ok(image.id),
            Err(BollardError::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(None),
            Err(e) => Err(engine_error(e)),
        }
    }

    async fn create_network(&self, network: &DesiredNetwork) -> Result<()> {
        let what = format!("network {}", network.name);
        // API < 1.44 creates a second network with the same name unless asked not to, and
        // bollard no longer sends `CheckDuplicate`: look first.
        if self.network_exists(&network.name).await? {
            return Err(EngineError::Conflict(what));
        }
        self.docker
            .create_network(network_request(network))
            .await
            .map_err(|e| map_error(e, &what, Op::Create))?;
        Ok(())
    }

    async fn remove_network(&self, name: &str) -> Result<()> {
        let Err(err) = self.docker.remove_network(name).await else {
            return Ok(());
        };
        let err = map_error(err, &format!("network {name}"), Op::Other);
        match err {
            EngineError::Engine { message } if message.contains("has active endpoints") => {
                let attached = self
                    .docker
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

    async fn create_volume(&self, volume: &DesiredVolume) -> Result<()> {
        let what = format!("volume {}", volume.name);
        // The engine answers a create of an existing volume with that volume: look first.
        if self.volume_exists(&volume.name).await? {
            return Err(EngineError::Conflict(what));
        }
        let request = VolumeCreateRequest {
            name: Some(volume.name.clone()),
            driver: volume.driver.clone(),
            driver_opts: non_empty_map(&volume.driver_opts),
            labels: non_empty_map(&volume.labels),
            cluster_volume_spec: None,
        };
        self.docker
            .create_volume(request)
            .await
            .map_err(|e| map_error(e, &what, Op::Create))?;
        Ok(())
    }

    async fn remove_volume(&self, name: &str) -> Result<()> {
        self.docker
            .remove_volume(name, None::<RemoveVolumeOptions>)
            .await
            .map_err(|e| map_error(e, &format!("volume {name}"), Op::Other))
    }

    async fn pull_image(&self, reference: &str, platform: Option<&str>) -> Result<()> {
        let (repository, tag) = split_reference(reference);
        let mut options = CreateImageOptionsBuilder::new().from_image(&repository);
        if let Some(tag) = &tag {
            options = options.tag(tag);
        }
        if let Some(platform) = platform {
            options = options.platform(platform);
        }
        let docker = self.docker.clone().with_timeout(LONG_REQUEST_TIMEOUT);
        let mut progress = docker.create_image(Some(options.build()), None, None);
        while let Some(item) = progress.next().await {
            if let Err(e) = item {
                return Err(match engine_error(e) {
                    EngineError::Engine { message } => EngineError::Engine {
                        message: format!("cannot pull image {reference}: {message}"),
                    },
                    other => other,
                });
            }
        }
        Ok(())
    }

    async fn build_image(&self, request: &BuildRequest) -> Result<String> {
        let owned = request.clone();
        let context = tokio::task::spawn_blocking(move || build_context(&owned))
            .await
            .map_err(|e| EngineError::Engine {
                message: format!("making the build context: {e}"),
            })??;

        let mut options = BuildImageOptionsBuilder::new()
            .dockerfile(&context.dockerfile)
            .t(&request.tag)
            .rm(true)
            .forcerm(true)
            .nocache(request.no_cache);
        if !request.args.is_empty() {
            options = options.buildargs(&request.args);
        }
        if !request.labels.is_empty() {
            options = options.labels(&request.labels);
        }
        if let Some(target) = &request.target {
            options = options.target(target);
        }
        if request.pull {
            options = options.pull("1");
        }
        if !request.cache_from.is_empty() {
            options = options.cachefrom(&request.cache_from);
        }
        if let Some(network) = &request.network {
            options = options.networkmode(network);
        }
        if let Some(platform) = &request.platform {
            options = options.platform(platform);
        }

        let query = build_query(request);
        let docker = self
            .docker
            .clone()
            .with_timeout(LONG_REQUEST_TIMEOUT)
            .with_request_modifier(move |request| with_query(request, &query));
        let body = bollard::body_full(context.tar.into());
        let mut progress = docker.build_image(options.build(), None, Some(body));
        let mut image_id = None;
        let mut output: Vec<String> = Vec::new();
        while let Some(item) = progress.next().await {
            match item {
                Ok(info) => {
                    if let Some(id) = info.aux.and_then(|aux| aux.id) {
                        image_id = Some(id);
                    }
                    if let Some(text) = info.stream {
                        for line in text.lines().map(str::trim_end).filter(|l| !l.is_empty()) {
                            tracing::debug!(target: "wharf::build", "{}: {line}", request.tag);
                            output.push(line.to_string());
                            if output.len() > BUILD_ERROR_TAIL {
                                output.remove(0);
                            }
                        }
                    }
                }
                Err(e) => {
                    return Err(match engine_error(e) {
                        EngineError::Engine { message } => EngineError::Engine {
                            message: build_failure(&request.tag, &message, &output),
                        },
                        other => other,
                    });
                }
            }
        }
        match image_id {
            Some(id) => Ok(id),
            None => self
                .image_id(&request.tag)
                .await?
                .ok_or_else(|| EngineError::Engine {
                    message: format!(
                        "the build of {} finished but the image is not there",
                        request.tag
                    ),
                }),
        }
    }

    async fn create_container(&self, name: &str, spec: &ContainerSpec) -> Result<String> {
        if let Some(Err(message)) = spec.files.iter().map(|f| &f.content).find(|c| c.is_err()) {
            return Err(EngineError::Engine {
                message: message.clone(),
            });
        }
        let translated = translate(spec, self.api);
        for path in &translated.create_paths {
            // Best effort: when it fails, the engine's error names the path.
            let _ = std::fs::create_dir_all(path);
        }
        let mut options = CreateContainerOptionsBuilder::new().name(name);
        if let Some(platform) = &spec.platform {
            options = options.platform(platform);
        }
        let docker = match &translated.mac_address {
            Some(mac) => with_config_field(&self.docker, &translated.body, "MacAddress", mac)?,
            None => self.docker.clone(),
        };
        let created = docker
            .create_container(Some(options.build()), translated.body)
            .await
            .map_err(|e| create_error(e, name, spec))?;
        let id = created.id;
        for (network, endpoint) in translated.later_networks {
            let request = NetworkConnectRequest {
                container: id.clone(),
                endpoint_config: Some(endpoint),
            };
            if let Err(e) = self.docker.connect_network(&network, request).await {
                let error = map_error(e, &format!("network {network}"), Op::Other);
                // Leave nothing half made: a re-run creates the container again.
                let remove = RemoveContainerOptionsBuilder::new()
                    .force(true)
                    .v(true)
                    .build();
                let _ = self.docker.remove_container(&id, Some(remove)).await;
                return Err(match error {
                    EngineError::Engine { message } => EngineError::Engine {
                        message: format!("connecting {name} to network {network}: {message}"),
                    },
                    other => other,
                });
            }
        }
        for file in &spec.files {
            if let Err(error) = self.copy_file(&id, file).await {
                let remove = RemoveContainerOptionsBuilder::new()
                    .force(true)
                    .v(true)
                    .build();
                let _ = self.docker.remove_container(&id, Some(remove)).await;
                return Err(error);
            }
        }
        Ok(id)
    }

    async fn start_container(&self, id: &str) -> Result<()> {
        self.docker
            .start_container(id, None)
            .await
            .map_err(|e| map_error(e, &format!("container {id}"), Op::Other))
    }

    async fn stop_container(&self, id: &str, timeout: Option<Duration>) -> Result<()> {
        self.engine_stop(id, timeout).await
    }

    /// The container's stop signal, then SIGKILL once the grace period is over, as the
    /// engine's own stop does; but this returns at the `die` event, where the engine's stop
    /// (and its `wait`) return only after it has cleaned up after the exit (network endpoints,
    /// mounts: a few hundred ms, under the container's lock). Nothing that waits for a stop
    /// needs that cleanup (a removal waits for it in the engine), and `down` stops services
    /// one dependency level after another.
    async fn end_container(&self, id: &str, timeout: Option<Duration>) -> Result<()> {
        let inspected = self.inspect(id).await?;
        let state = inspected.state.as_ref();
        if !state.and_then(|s| s.running).unwrap_or(false) {
            return Ok(());
        }
        if state.and_then(|s| s.paused).unwrap_or(false) {
            // A paused process takes no signal until it is thawed: the engine's stop does that.
            return self.engine_stop(id, timeout).await;
        }
        let config = inspected.config.as_ref();
        let signal = config
            .and_then(|c| c.stop_signal.clone())
            .filter(|signal| !signal.is_empty())
            .unwrap_or_else(|| "SIGTERM".to_string());
        let grace = timeout
            .or_else(|| {
                let seconds = config.and_then(|c| c.stop_timeout)?;
                Some(Duration::from_secs(u64::try_from(seconds).ok()?))
            })
            .unwrap_or(DEFAULT_STOP_GRACE);
        // This run's `die` is the first one since it started (the engine's clock, so no skew).
        let since = state
            .and_then(|s| s.started_at.as_deref())
            .and_then(unix_nanos)
            .map(events_since);
        let since = since.as_deref();
        if self
            .signal_and_wait(id, &signal, since, Some(grace))
            .await?
        {
            return Ok(());
        }
        self.signal_and_wait(id, "SIGKILL", since, None)
            .await
            .map(|_| ())
    }

    async fn kill_container(&self, id: &str, signal: &str) -> Result<()> {
        let options = KillContainerOptionsBuilder::new().signal(signal).build();
        self.docker
            .kill_container(id, Some(options))
            .await
            .map_err(|e| map_error(e, &format!("container {id}"), Op::Other))
    }

    async fn remove_container(&self, id: &str, volumes: bool) -> Result<()> {
        let options = RemoveContainerOptionsBuilder::new()
            .force(true)
            .v(volumes)
            .build();
        self.docker
            .remove_container(id, Some(options))
            .await
            .map_err(|e| map_error(e, &format!("container {id}"), Op::Other))
    }

    async fn rename_container(&self, id: &str, name: &str) -> Result<()> {
        let options = RenameContainerOptionsBuilder::new().name(name).build();
        self.docker
            .rename_container(id, options)
            .await
            .map_err(|e| match e {
                BollardError::DockerResponseServerError {
                    status_code: 409, ..
                } => EngineError::Conflict(format!("container {name}")),
                e => map_error(e, &format!("container {id}"), Op::Other),
            })
    }

    async fn logs(
        &self,
        id: &str,
        options: &LogOptions,
    ) -> Result<BoxStream<'static, Result<LogLine>>> {
        // A missing container must fail here, not as the first item of the stream.
        self.inspect(id).await?;
        let tail = options
            .tail
            .map(|n| n.to_string())
            .unwrap_or_else(|| "all".to_string());
        let since = options
            .since
            .and_then(|s| i32::try_from(s).ok())
            .unwrap_or(0);
        let query = LogsOptionsBuilder::new()
            .follow(options.follow)
            .stdout(true)
            .stderr(true)
            .timestamps(true)
            .tail(&tail)
            .since(since)
            .build();
        let what = format!("container {id}");
        let frames = self.docker.logs(id, Some(query));
        let lines = frames.flat_map(move |frame| {
            let items: Vec<Result<LogLine>> = match frame {
                Ok(output) => {
                    use bollard::container::LogOutput;
                    let (stderr, bytes) = match output {
                        LogOutput::StdErr { message } => (true, message),
                        LogOutput::StdOut { message }
                        | LogOutput::Console { message }
                        | LogOutput::StdIn { message } => (false, message),
                    };
                    log_lines(&String::from_utf8_lossy(&bytes), stderr)
                        .into_iter()
                        .map(Ok)
                        .collect()
                }
                Err(e) => vec![Err(map_error(e, &what, Op::Other))],
            };
            stream::iter(items)
        });
        Ok(lines.boxed())
    }

    /// Two subscriptions, one stream that ends when either ends:
    /// - the project's containers, through the engine's label filter (a container's event
    ///   carries its labels);
    /// - all networks and volumes, kept when they are the project's: Docker 20.10 puts no labels
    ///   on their events, so its label filter would drop every one. Which are the project's is
    ///   listed at the subscription and learnt from an inspect at the first event of any other.
    ///
    /// Both ask for the events since the engine's clock (`/info`), read before anything else, so
    /// that what happens while they are being set up is replayed from the engine's buffer, not
    /// lost. bollard's request timeout only bounds the wait for the answer's head, which the
    /// engine sends at once: an idle stream lives on.
    async fn events(&self, project: &str) -> Result<BoxStream<'static, Result<EngineEvent>>> {
        let since = self.engine_clock().await?;
        let label = format!("{}={project}", labels::PROJECT);
        let resources = Resources::list(&self.docker, project, &label).await?;

        let options = |filters: HashMap<&str, Vec<&str>>| {
            let mut options = EventsOptionsBuilder::new().filters(&filters);
            if let Some(since) = &since {
                options = options.since(since);
            }
            options.build()
        };
        let containers = self
            .docker
            .events(Some(options(HashMap::from([
                ("type", vec!["container"]),
                ("label", vec![label.as_str()]),
            ]))))
            .filter_map(|item| {
                std::future::ready(match item {
                    Ok(message) => event_from_message(&message).map(Ok),
                    Err(e) => Some(Err(engine_error(e))),
                })
            });
        let others = self.docker.events(Some(options(HashMap::from([(
            "type",
            vec!["network", "volume"],
        )]))));
        Ok(until_either_ends(containers, resources.events(others)))
    }

    async fn upload_archive(&self, id: &str, dir: &str, archive: Vec<u8>) -> Result<()> {
        let options = UploadToContainerOptionsBuilder::new().path(dir).build();
        self.docker
            .upload_to_container(id, Some(options), bollard::body_full(archive.into()))
            .await
            .map_err(|e| map_error(e, &format!("container {id}"), Op::Other))
    }

    /// Create, start attached (reading the output to its end), then inspect for the exit code.
    async fn exec(&self, id: &str, request: &ExecRequest) -> Result<ExecOutput> {
        let config = ExecConfig {
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            cmd: Some(request.command.clone()),
            user: request.user.clone(),
            working_dir: request.working_dir.clone(),
            env: non_empty(&request.environment),
            privileged: Some(request.privileged),
            ..ExecConfig::default()
        };
        let what = format!("container {id}");
        let created = self
            .docker
            .create_exec(id, config)
            .await
            .map_err(|e| map_error(e, &what, Op::Other))?;
        let mut output = String::new();
        let started = self
            .docker
            .start_exec(&created.id, None)
            .await
            .map_err(|e| map_error(e, &what, Op::Other))?;
        if let StartExecResults::Attached {
            output: mut frames, ..
        } = started
        {
            while let Some(frame) = frames.next().await {
                let frame = frame.map_err(|e| map_error(e, &what, Op::Other))?;
                output.push_str(&String::from_utf8_lossy(&frame.into_bytes()));
            }
        }
        let inspected = self
            .docker
            .inspect_exec(&created.id)
            .await
            .map_err(|e| map_error(e, &what, Op::Other))?;
        Ok(ExecOutput {
            exit_code: inspected.exit_code,
            output,
        })
    }

    async fn start_exec(
        &self,
        id: &str,
        request: &ExecRequest,
        streams: Streams,
        detach: bool,
    ) -> Result<StartedExec> {
        let attach = !detach;
        let config = ExecConfig {
            attach_stdin: Some(attach && streams.stdin),
            attach_stdout: Some(attach),
            attach_stderr: Some(attach),
            tty: Some(streams.tty),
            cmd: Some(request.command.clone()),
            user: request.user.clone(),
            working_dir: request.working_dir.clone(),
            env: non_empty(&request.environment),
            privileged: Some(request.privileged),
            ..ExecConfig::default()
        };
        let what = format!("container {id}");
        let created = self
            .docker
            .create_exec(id, config)
            .await
            .map_err(|e| map_error(e, &what, Op::Other))?;
        let options = StartExecOptions {
            detach,
            tty: streams.tty,
            output_capacity: None,
        };
        let started = self
            .docker
            .start_exec(&created.id, Some(options))
            .await
            .map_err(|e| map_error(e, &what, Op::Other))?;
        let attachment = match started {
            StartExecResults::Attached { output, input } => Some(Attachment {
                input,
                output: attached_output(output, what),
                tty: streams.tty,
            }),
            StartExecResults::Detached => None,
        };
        Ok(StartedExec {
            id: created.id,
            attachment,
        })
    }

    async fn exec_exit_code(&self, exec_id: &str) -> Result<Option<i64>> {
        let inspected = self
            .docker
            .inspect_exec(exec_id)
            .await
            .map_err(|e| map_error(e, &format!("exec {exec_id}"), Op::Other))?;
        Ok(if inspected.running == Some(true) {
            None
        } else {
            inspected.exit_code
        })
    }

    async fn resize_exec(&self, exec_id: &str, size: (u16, u16)) -> Result<()> {
        let options = ResizeExecOptions {
            height: size.0,
            width: size.1,
        };
        self.docker
            .resize_exec(exec_id, options)
            .await
            .map_err(|e| map_error(e, &format!("exec {exec_id}"), Op::Other))
    }

    /// An inspect first, for whether the container has a TTY.
    async fn attach_container(
        &self,
        id: &str,
        stdin: bool,
        detach_keys: Option<&str>,
    ) -> Result<Attachment> {
        let tty = self
            .inspect(id)
            .await?
            .config
            .and_then(|c| c.tty)
            .unwrap_or(false);
        let mut options = AttachContainerOptionsBuilder::new()
            .stream(true)
            .stdin(stdin)
            .stdout(true)
            .stderr(true);
        if let Some(keys) = detach_keys {
            options = options.detach_keys(keys);
        }
        let options = options.build();
        let what = format!("container {id}");
        let attached = self
            .docker
            .attach_container(id, Some(options))
            .await
            .map_err(|e| map_error(e, &what, Op::Other))?;
        Ok(Attachment {
            input: attached.input,
            output: attached_output(attached.output, what),
            tty,
        })
    }

    async fn resize_container(&self, id: &str, size: (u16, u16)) -> Result<()> {
        let options = ResizeContainerTTYOptionsBuilder::new()
            .h(i32::from(size.0))
            .w(i32::from(size.1))
            .build();
        self.docker
            .resize_container_tty(id, options)
            .await
            .map_err(|e| map_error(e, &format!("container {id}"), Op::Other))
    }

    async fn pause_container(&self, id: &str) -> Result<()> {
        self.docker
            .pause_container(id)
            .await
            .map_err(|e| map_error(e, &format!("container {id}"), Op::Other))
    }

    async fn unpause_container(&self, id: &str) -> Result<()> {
        self.docker
            .unpause_container(id)
            .await
            .map_err(|e| map_error(e, &format!("container {id}"), Op::Other))
    }

    async fn top(&self, id: &str) -> Result<super::ProcessList> {
        let top = self
            .docker
            .top_processes(id, None::<bollard::query_parameters::TopOptions>)
            .await
            .map_err(|e| map_error(e, &format!("container {id}"), Op::Other))?;
        Ok(super::ProcessList {
            titles: top.titles.unwrap_or_default(),
            processes: top.processes.unwrap_or_default(),
        })
    }

    async fn image_details(&self, reference: &str) -> Result<super::ImageDetails> {
        let image = self
            .docker
            .inspect_image(reference)
            .await
            .map_err(|e| map_error(e, &format!("image {reference}"), Op::Other))?;
        let platform = [image.os, image.architecture, image.variant]
            .into_iter()
            .flatten()
            .filter(|part| !part.is_empty())
            .collect::<Vec<_>>()
            .join("/");
        Ok(super::ImageDetails {
            id: image.id.unwrap_or_default(),
            repo_tags: image.repo_tags.unwrap_or_default(),
            size: image.size.unwrap_or_default(),
            created: image
                .created
                .as_deref()
                .and_then(unix_seconds)
                .unwrap_or_default(),
            platform,
            last_tag_time: image
                .metadata
                .and_then(|m| m.last_tag_time)
                .unwrap_or_default(),
        })
    }

    async fn compose_containers(&self, all: bool) -> Result<Vec<EngineContainer>> {
        let summaries = self
            .labelled_containers(labels::PROJECT.to_string(), all)
            .await?;
        Ok(summaries.iter().map(from_summary).collect())
    }

    async fn push_image(&self, reference: &str) -> Result<()> {
        let (repository, tag) = split_reference(reference);
        let mut options = bollard::query_parameters::PushImageOptionsBuilder::new();
        if let Some(tag) = &tag {
            options = options.tag(tag);
        }
        let docker = self.docker.clone().with_timeout(LONG_REQUEST_TIMEOUT);
        let mut progress = docker.push_image(&repository, Some(options.build()), None);
        while let Some(item) = progress.next().await {
            if let Err(e) = item {
                return Err(engine_error(e));
            }
        }
        Ok(())
    }

    async fn wait_container(&self, id: &str) -> Result<i64> {
        // A one-off may run for hours: no request timeout.
        let docker = self.docker.clone().with_timeout(Duration::MAX / 4);
        let options = WaitContainerOptionsBuilder::new()
            .condition("not-running")
            .build();
        match docker.wait_container(id, Some(options)).next().await {
            Some(Ok(response)) => Ok(response.status_code),
            // bollard reports a non-zero exit code as an error: it is an exit all the same.
            Some(Err(BollardError::DockerContainerWaitError { code, .. })) => Ok(code),
            None => Err(EngineError::Engine {
                message: format!("the engine's wait for container {id} ended without an exit"),
            }),
            Some(Err(e)) => Err(map_error(e, &format!("container {id}"), Op::Other)),
        }
    }

    async fn delete_image(&self, reference: &str) -> Result<()> {
        self.docker
            .remove_image(reference, None::<RemoveImageOptions>, None)
            .await
            .map(drop)
            .map_err(|e| map_error(e, &format!("image {reference}"), Op::Other))
    }

    async fn download_archive(&self, id: &str, path: &str) -> Result<Vec<u8>> {
        let options = bollard::query_parameters::DownloadFromContainerOptionsBuilder::new()
            .path(path)
            .build();
        let mut chunks = self.docker.download_from_container(id, Some(options));
        let mut archive = Vec::new();
        while let Some(chunk) = chunks.next().await {
            let chunk =
                chunk.map_err(|e| map_error(e, &format!("{path} in container {id}"), Op::Other))?;
            archive.extend_from_slice(&chunk);
        }
        Ok(archive)
    }

    async fn path_is_dir(&self, id: &str, path: &str) -> Result<Option<bool>> {
        let options = bollard::query_parameters::ContainerArchiveInfoOptionsBuilder::new()
            .path(path)
            .build();
        match self
            .docker
            .get_container_archive_info(id, Some(options))
            .await
        {
            // Go's os.ModeDir.
            Ok(stat) => Ok(Some(stat.file_mode & (1 << 31) != 0)),
            Err(BollardError::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(None),
            Err(e) => Err(map_error(e, &format!("container {id}"), Op::Other)),
        }
    }

    async fn copy_archive(
        &self,
        id: &str,
        dir: &str,
        archive: Vec<u8>,
        keep_owners: bool,
    ) -> Result<()> {
        let options = UploadToContainerOptionsBuilder::new()
            .path(dir)
            .copy_uidgid(if keep_owners { "1" } else { "0" })
            .build();
        self.docker
            .upload_to_container(id, Some(options), bollard::body_full(archive.into()))
            .await
            .map_err(|e| map_error(e, &format!("{dir} in container {id}"), Op::Other))
    }

    async fn stats(&self, id: &str) -> Result<super::ContainerStats> {
        let options = bollard::query_parameters::StatsOptionsBuilder::new()
            .stream(false)
            .build();
        let sample = self
            .docker
            .stats(id, Some(options))
            .next()
            .await
            .ok_or_else(|| EngineError::Engine {
                message: format!("no statistics for container {id}"),
            })?
            .map_err(|e| map_error(e, &format!("container {id}"), Op::Other))?;
        Ok(container_stats(&sample))
    }

    async fn commit_container(&self, id: &str, request: &super::CommitRequest) -> Result<String> {
        let mut options = bollard::query_parameters::CommitContainerOptionsBuilder::new()
            .container(id)
            .pause(request.pause);
        if let Some((repository, tag)) = request.reference.as_deref().map(split_reference) {
            options = options
                .repo(&repository)
                .tag(tag.as_deref().unwrap_or("latest"));
        }
        if let Some(author) = &request.author {
            options = options.author(author);
        }
        if let Some(message) = &request.message {
            options = options.comment(message);
        }
        if !request.changes.is_empty() {
            // The engine parses the changes as the lines of one Dockerfile.
            options = options.changes(&request.changes.join("\n"));
        }
        let committed = self
            .docker
            .commit_container(options.build(), bollard::models::ContainerConfig::default())
            .await
            .map_err(|e| map_error(e, &format!("container {id}"), Op::Other))?;
        Ok(committed.id)
    }

    async fn export_container(&self, id: &str) -> Result<BoxStream<'static, Result<Vec<u8>>>> {
        let what = format!("container {id}");
        Ok(self
            .docker
            .export_container(id)
            .map(move |chunk| {
                chunk
                    .map(|bytes| bytes.to_vec())
                    .map_err(|e| map_error(e, &what, Op::Other))
            })
            .boxed())
    }
}

/// `docker stats`' figures from one sample: the CPU over the interval between `precpu_stats`
/// and `cpu_stats`, the memory without the inactive page cache (cgroup v1 or v2).
fn container_stats(sample: &bollard::models::ContainerStatsResponse) -> super::ContainerStats {
    let total = |cpu: Option<&bollard::models::ContainerCpuStats>| {
        let usage = cpu
            .and_then(|c| c.cpu_usage.as_ref())
            .and_then(|u| u.total_usage);
        (
            usage.unwrap_or(0),
            cpu.and_then(|c| c.system_cpu_usage).unwrap_or(0),
        )
    };
    let (cpu, system) = total(sample.cpu_stats.as_ref());
    let (pre_cpu, pre_system) = total(sample.precpu_stats.as_ref());
    let online = sample
        .cpu_stats
        .as_ref()
        .and_then(|c| {
            c.online_cpus.map(u64::from).or_else(|| {
                let usage = c.cpu_usage.as_ref()?;
                Some(usage.percpu_usage.as_ref()?.len() as u64)
            })
        })
        .unwrap_or(1);
    let (cpu_delta, system_delta) = (
        cpu.saturating_sub(pre_cpu),
        system.saturating_sub(pre_system),
    );
    let cpu_percent = match (cpu_delta, system_delta) {
        (c, s) if c > 0 && s > 0 => c as f64 / s as f64 * online as f64 * 100.0,
        _ => 0.0,
    };
    let memory = sample.memory_stats.as_ref();
    let usage = memory.and_then(|m| m.usage).unwrap_or(0);
    let stat = |key: &str| memory.and_then(|m| m.stats.as_ref()?.get(key).copied());
    let cache = stat("total_inactive_file")
        .filter(|v| *v < usage)
        .or_else(|| stat("inactive_file").filter(|v| *v < usage))
        .unwrap_or(0);
    let networks = sample.networks.iter().flat_map(|n| n.values());
    let (net_rx, net_tx) = networks.fold((0, 0), |(rx, tx), n| {
        (rx + n.rx_bytes.unwrap_or(0), tx + n.tx_bytes.unwrap_or(0))
    });
    let blkio = sample
        .blkio_stats
        .as_ref()
        .and_then(|b| b.io_service_bytes_recursive.as_ref());
    let (block_read, block_write) = blkio.into_iter().flatten().fold((0, 0), |(r, w), e| {
        match e.op.as_deref().map(str::to_ascii_lowercase).as_deref() {
            Some("read") => (r + e.value.unwrap_or(0), w),
            Some("write") => (r, w + e.value.unwrap_or(0)),
            _ => (r, w),
        }
    });
    super::ContainerStats {
        cpu_percent,
        memory: usage - cache,
        memory_limit: memory.and_then(|m| m.limit).unwrap_or(0),
        net_rx,
        net_tx,
        block_read,
        block_write,
        pids: sample
            .pids_stats
            .as_ref()
            .and_then(|p| p.current)
            .unwrap_or(0),
    }
}

/// An attached process's output frames as [`Output`] chunks (a TTY's console is standard
/// output).
fn attached_output(
    frames: std::pin::Pin<
        Box<
            dyn Stream<Item = std::result::Result<bollard::container::LogOutput, BollardError>>
                + Send,
        >,
    >,
    what: String,
) -> BoxStream<'static, Result<Output>> {
    use bollard::container::LogOutput;
    frames
        .map(move |frame| match frame {
            Ok(LogOutput::StdErr { message }) => Ok(Output::Stderr(message.to_vec())),
            Ok(
                LogOutput::StdOut { message }
                | LogOutput::Console { message }
                | LogOutput::StdIn { message },
            ) => Ok(Output::Stdout(message.to_vec())),
            Err(e) => Err(map_error(e, &what, Op::Other)),
        })
        .boxed()
}

// --- events --------------------------------------------------------------------------------------

/// The attributes the engine puts on a container's event beside the container's labels.
const EVENT_ATTRIBUTES: &[&str] = &[
    "name",
    "image",
    "exitCode",
    "signal",
    "oldName",
    "execID",
    "execDuration",
];

/// An event of a container, network or volume; `None` for `exec_*` and other kinds.
/// A network's or volume's event gets no labels here (the engine sends none).
fn event_from_message(message: &EventMessage) -> Option<EngineEvent> {
    let kind = match message.typ? {
        EventMessageTypeEnum::CONTAINER => EventKind::Container,
        EventMessageTypeEnum::NETWORK => EventKind::Network,
        EventMessageTypeEnum::VOLUME => EventKind::Volume,
        _ => return None,
    };
    let actor = message.actor.as_ref()?;
    let id = actor.id.clone().filter(|id| !id.is_empty())?;
    let empty = HashMap::new();
    let attributes = actor.attributes.as_ref().unwrap_or(&empty);
    let action = parse_action(message.action.as_deref()?, attributes)?;
    let name = attributes
        .get("name")
        .map(|name| name.trim_start_matches('/').to_string())
        .unwrap_or_else(|| id.clone());
    let labels = match kind {
        EventKind::Container => attributes
            .iter()
            .filter(|(key, _)| !EVENT_ATTRIBUTES.contains(&key.as_str()))
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect(),
        EventKind::Network | EventKind::Volume => HashMap::new(),
    };
    let time_nanos = message
        .time_nano
        .or_else(|| message.time.map(|secs| secs.saturating_mul(1_000_000_000)))
        .unwrap_or_default();
    Some(EngineEvent {
        kind,
        action,
        id,
        name,
        labels,
        time_nanos,
    })
}

/// An event's `Action` (`die` and `kill` with their `exitCode` and `signal` attributes,
/// `health_status: healthy`, `rename` with `oldName`); `None` for `exec_create: …`,
/// `exec_start: …`, `exec_die` and other `exec_*`, which wharf ignores.
fn parse_action(action: &str, attributes: &HashMap<String, String>) -> Option<EventAction> {
    let action = action.trim();
    if action.starts_with("exec_") {
        return None;
    }
    let (verb, detail) = match action.split_once(':') {
        Some((verb, detail)) => (verb.trim(), detail.trim()),
        None => (action, ""),
    };
    Some(match verb {
        "create" => EventAction::Create,
        "start" => EventAction::Start,
        "die" => EventAction::Die {
            exit_code: attributes
                .get("exitCode")
                .and_then(|code| code.trim().parse().ok()),
        },
        "stop" => EventAction::Stop,
        "kill" => EventAction::Kill {
            signal: attributes
                .get("signal")
                .and_then(|signal| signal_number(signal)),
        },
        "destroy" => EventAction::Destroy,
        "health_status" => match detail {
            "healthy" => EventAction::HealthStatus(Health::Healthy),
            "unhealthy" => EventAction::HealthStatus(Health::Unhealthy),
            "starting" => EventAction::HealthStatus(Health::Starting),
            _ => EventAction::Other(action.to_string()),
        },
        "rename" => EventAction::Rename {
            old_name: attributes
                .get("oldName")
                .map(|name| name.trim_start_matches('/').to_string()),
        },
        "pause" => EventAction::Pause,
        "unpause" => EventAction::Unpause,
        "oom" => EventAction::Oom,
        _ => EventAction::Other(action.to_string()),
    })
}

/// Which networks and volumes are the project's, for the events stream: seeded with a list,
/// learnt from `create` (and any other event of an unknown one) with an inspect.
struct Resources {
    docker: Docker,
    project: String,
    /// Network ID or volume name → its labels, for the project's.
    ours: HashMap<(EventKind, String), HashMap<String, String>>,
    /// Those inspected and found to be another's.
    others: HashSet<(EventKind, String)>,
}

impl Resources {
    async fn list(docker: &Docker, project: &str, label: &str) -> Result<Resources> {
        let filters = HashMap::from([("label", vec![label])]);
        let networks = docker
            .list_networks(Some(
                ListNetworksOptionsBuilder::new().filters(&filters).build(),
            ))
            .await
            .map_err(engine_error)?;
        let volumes = docker
            .list_volumes(Some(
                ListVolumesOptionsBuilder::new().filters(&filters).build(),
            ))
            .await
            .map_err(engine_error)?;
        let mut ours = HashMap::new();
        for network in networks {
            if let Some(id) = network.id {
                ours.insert((EventKind::Network, id), network.labels.unwrap_or_default());
            }
        }
        for volume in volumes.volumes.unwrap_or_default() {
            ours.insert((EventKind::Volume, volume.name), volume.labels);
        }
        Ok(Resources {
            docker: docker.clone(),
            project: project.to_string(),
            ours,
            others: HashSet::new(),
        })
    }

    /// The project's events among the engine's network and volume events.
    fn events(
        self,
        engine: impl Stream<Item = std::result::Result<EventMessage, BollardError>>
        + Send
        + Unpin
        + 'static,
    ) -> impl Stream<Item = Result<EngineEvent>> + Send + 'static {
        stream::unfold((engine, self), |(mut engine, mut resources)| async move {
            loop {
                let item = match engine.next().await? {
                    Ok(message) => match resources.keep(&message).await {
                        Ok(Some(event)) => Ok(event),
                        Ok(None) => continue,
                        Err(e) => Err(e),
                    },
                    Err(e) => Err(engine_error(e)),
                };
                return Some((item, (engine, resources)));
            }
        })
    }

    /// The event with its labels when it is about one of the project's networks or volumes.
    async fn keep(&mut self, message: &EventMessage) -> Result<Option<EngineEvent>> {
        let Some(mut event) = event_from_message(message) else {
            return Ok(None);
        };
        if event.kind == EventKind::Container {
            return Ok(None);
        }
        let key = (event.kind, event.id.clone());
        if event.action == EventAction::Destroy {
            self.others.remove(&key);
            return Ok(self.ours.remove(&key).map(|labels| {
                event.labels = labels;
                event
            }));
        }
        if self.others.contains(&key) {
            return Ok(None);
        }
        if !self.ours.contains_key(&key) {
            let found = match self.labels(event.kind, &event.id).await {
                Ok(found) => found,
                // Gone already: it was created and removed before the stream got here.
                Err(EngineError::NotFound(_)) => return Ok(None),
                Err(e) => return Err(e),
            };
            if found.get(labels::PROJECT) != Some(&self.project) {
                self.others.insert(key);
                return Ok(None);
            }
            self.ours.insert(key.clone(), found);
        }
        event.labels = self.ours.get(&key).cloned().unwrap_or_default();
        Ok(Some(event))
    }

    async fn labels(&self, kind: EventKind, id: &str) -> Result<HashMap<String, String>> {
        match kind {
            EventKind::Network => self
                .docker
                .inspect_network(id, None)
                .await
                .map(|network| network.labels.unwrap_or_default())
                .map_err(|e| map_error(e, &format!("network {id}"), Op::Other)),
            _ => self
                .docker
                .inspect_volume(id)
                .await
                .map(|volume| volume.labels)
                .map_err(|e| map_error(e, &format!("volume {id}"), Op::Other)),
        }
    }
}

/// The two streams as one, which ends as soon as either ends, and after its first error
/// (without waiting for the other).
fn until_either_ends(
    a: impl Stream<Item = Result<EngineEvent>> + Send + 'static,
    b: impl Stream<Item = Result<EngineEvent>> + Send + 'static,
) -> BoxStream<'static, Result<EngineEvent>> {
    let end = || stream::once(std::future::ready(None));
    let merged = stream::select(a.map(Some).chain(end()), b.map(Some).chain(end())).boxed();
    stream::unfold((merged, false), |(mut merged, failed)| async move {
        if failed {
            return None;
        }
        let item = merged.next().await.flatten()?;
        let failed = item.is_err();
        Some((item, (merged, failed)))
    })
    .boxed()
}

// --- errors --------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    /// A 409 means the thing exists already.
    Create,
    /// A 409 is some other conflict ("volume is in use"): the engine's message says which.
    Other,
}

/// 404 → `NotFound(what)` (or what the engine says is missing, when that is something else:
/// a start fails on a missing network); 409 on a create → `Conflict(what)`; a failure to talk
/// to the engine → `Unreachable`; anything else → `Engine` with the engine's message.
fn map_error(err: BollardError, what: &str, op: Op) -> EngineError {
    match err {
        BollardError::DockerResponseServerError {
            status_code: 404,
            message,
        } => EngineError::NotFound(missing_subject(&message).unwrap_or_else(|| what.to_string())),
        BollardError::DockerResponseServerError {
            status_code: 409, ..
        } if op == Op::Create => EngineError::Conflict(what.to_string()),
        other => engine_error(other),
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

/// An instant (Unix nanoseconds) as the events API's `since` takes it: `seconds.nanoseconds`.
fn events_since(nanos: i64) -> String {
    format!(
        "{}.{:09}",
        nanos.div_euclid(1_000_000_000),
        nanos.rem_euclid(1_000_000_000)
    )
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

/// An error without a subject: `Unreachable` or `Engine`.
fn engine_error(err: BollardError) -> EngineError {
    match err {
        BollardError::DockerResponseServerError { message, .. } => EngineError::Engine {
            message: message.trim().to_string(),
        },
        BollardError::DockerStreamError { error } => EngineError::Engine {
            message: error.trim().to_string(),
        },
        e @ (BollardError::HyperLegacyError { .. }
        | BollardError::HyperResponseError { .. }
        | BollardError::IOError { .. }
        | BollardError::SocketNotFoundError(_)
        | BollardError::RequestTimeoutError
        | BollardError::UnsupportedURISchemeError { .. }) => {
            EngineError::Unreachable(error_chain(&e))
        }
        other => EngineError::Engine {
            message: error_chain(&other),
        },
    }
}

/// An error and its sources, `a: b: c` (hyper's own message is only "client error (Connect)").
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut message = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}

/// What a 404's message says is missing: `No such container: x`, `network x not found`,
/// `No such image: x`, `get x: no such volume`.
fn missing_subject(message: &str) -> Option<String> {
    let message = message.trim();
    let lower = message.to_lowercase();
    for (marker, kind) in [
        ("no such container: ", "container"),
        ("no such image: ", "image"),
    ] {
        if let Some(at) = lower.rfind(marker) {
            let subject = message[at + marker.len()..].trim();
            if !subject.is_empty() {
                return Some(format!("{kind} {subject}"));
            }
        }
    }
    if let Some(rest) = message.strip_prefix("network ") {
        if let Some(name) = rest.strip_suffix(" not found") {
            return Some(format!("network {name}"));
        }
    }
    if let Some(rest) = message.strip_prefix("get ") {
        if let Some(name) = rest.strip_suffix(": no such volume") {
            return Some(format!("volume {name}"));
        }
    }
    None
}

/// A 404 at create names the image (or network) that is missing.
fn create_error(err: BollardError, name: &str, spec: &ContainerSpec) -> EngineError {
    match err {
        // The image is there, for another platform than the container's, or a volume
        // driver is missing: the engine's words say which.
        BollardError::DockerResponseServerError {
            status_code: 404,
            message,
        } if message.contains("does not match the specified platform")
            || message.contains("plugin") =>
        {
            EngineError::Engine { message }
        }
        BollardError::DockerResponseServerError {
            status_code: 404,
            message,
        } => EngineError::NotFound(
            missing_subject(&message).unwrap_or_else(|| format!("image {}", spec.image)),
        ),
        e => map_error(e, &format!("container {name}"), Op::Create),
    }
}

fn build_failure(tag: &str, message: &str, output: &[String]) -> String {
    let mut text = format!("building {tag}: {message}");
    let tail: Vec<&String> = output
        .iter()
        .filter(|l| !message.contains(l.as_str()))
        .collect();
    if !tail.is_empty() {
        text.push_str("\n  build output (last lines):");
        for line in tail {
            text.push_str("\n    ");
            text.push_str(line);
        }
    }
    text
}

// --- containers as the engine lists them -----------------------------------------------------------

fn from_summary(summary: &ContainerSummary) -> EngineContainer {
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

fn from_inspect(inspected: &ContainerInspectResponse) -> EngineContainer {
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
    let health = engine_state
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

/// The lines of one log frame: the engine puts its timestamp before each.
fn log_lines(text: &str, stderr: bool) -> Vec<LogLine> {
    let mut out = Vec::new();
    let mut frame_timestamp = String::new();
    let text = text.strip_suffix('\n').unwrap_or(text);
    for raw in text.split('\n') {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let (timestamp, line) = match raw.split_once(' ') {
            Some((first, rest)) if looks_like_timestamp(first) => (first.to_string(), rest),
            None if looks_like_timestamp(raw) => (raw.to_string(), ""),
            _ => (frame_timestamp.clone(), raw),
        };
        frame_timestamp = timestamp.clone();
        out.push(LogLine {
            timestamp,
            stderr,
            text: line.to_string(),
        });
    }
    out
}

fn looks_like_timestamp(text: &str) -> bool {
    text.len() >= 20
        && text.as_bytes()[..4].iter().all(u8::is_ascii_digit)
        && text.as_bytes()[4] == b'-'
        && text.as_bytes()[10] == b'T'
        && unix_seconds(text).is_some()
}

// --- networks, images --------------------------------------------------------------------------

fn network_request(network: &DesiredNetwork) -> NetworkCreateRequest {
    NetworkCreateRequest {
        name: network.name.clone(),
        driver: network.driver.clone(),
        internal: network.internal.then_some(true),
        attachable: network.attachable.then_some(true),
        enable_ipv6: network.enable_ipv6.then_some(true),
        options: non_empty_map(&network.driver_opts),
        labels: non_empty_map(&network.labels),
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

/// `repo[:tag]` or `repo@digest` → the repository and the tag to pull (`latest` when there
/// is neither: the engine would otherwise pull every tag).
fn split_reference(reference: &str) -> (String, Option<String>) {
    if reference.contains('@') {
        return (reference.to_string(), None);
    }
    let last_slash = reference.rfind('/').map(|i| i + 1).unwrap_or(0);
    match reference[last_slash..].rfind(':') {
        Some(colon) => {
            let at = last_slash + colon;
            (
                reference[..at].to_string(),
                Some(reference[at + 1..].to_string()),
            )
        }
        None => (reference.to_string(), Some("latest".to_string())),
    }
}

fn non_empty_map(map: &indexmap::IndexMap<String, String>) -> Option<HashMap<String, String>> {
    (!map.is_empty()).then(|| map.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
}

fn non_empty<T: Clone>(items: &[T]) -> Option<Vec<T>> {
    (!items.is_empty()).then(|| items.to_vec())
}

fn ceil_secs(duration: Duration) -> i64 {
    let secs = duration.as_secs() as i64;
    if duration.subsec_nanos() > 0 {
        secs + 1
    } else {
        secs
    }
}

fn nanos(duration: Option<Duration>) -> Option<i64> {
    duration.map(|d| d.as_nanos().min(i64::MAX as u128) as i64)
}

// --- the build context -------------------------------------------------------------------------

struct BuildContext {
    tar: Vec<u8>,
    /// The Dockerfile's path inside the tar.
    dockerfile: String,
}

/// The build parameters that bollard's options cannot carry: the engine reads `t` and
/// `extrahosts` as repeated parameters (bollard sends one of each), `isolation` (bollard has
/// no field for it) and `shmsize` (bollard's is 32 bits, the engine's 64).
fn build_query(request: &BuildRequest) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for tag in &request.extra_tags {
        query.append_pair("t", tag);
    }
    for host in &request.extra_hosts {
        query.append_pair("extrahosts", host);
    }
    if let Some(isolation) = &request.isolation {
        query.append_pair("isolation", isolation);
    }
    if let Some(size) = request.shm_size {
        query.append_pair("shmsize", &size.to_string());
    }
    query.finish()
}

/// `request` with `extra` appended to its query string.
fn with_query(mut request: bollard::BollardRequest, extra: &str) -> bollard::BollardRequest {
    if extra.is_empty() {
        return request;
    }
    let uri = request.uri().to_string();
    let separator = if uri.contains('?') { '&' } else { '?' };
    match format!("{uri}{separator}{extra}").parse() {
        Ok(uri) => *request.uri_mut() = uri,
        // Not reached: the parameters are percent-encoded.
        Err(e) => tracing::warn!("build parameters {extra} left out: {e}"),
    }
    request
}

/// A tar of the context directory, without what `.dockerignore` excludes; the Dockerfile and
/// `.dockerignore` are always in it. An inline Dockerfile, or one outside the context, is added
/// under a generated name that the engine leaves out of the context (it is listed in the
/// `.dockerignore` sent along, and the engine drops listed build files once it has read them).
fn build_context(request: &BuildRequest) -> Result<BuildContext> {
    let context = &request.context;
    let failed = |what: &str, e: &dyn std::fmt::Display| EngineError::Engine {
        message: format!("build context {}: {what}: {e}", context.display()),
    };
    let meta = std::fs::metadata(context).map_err(|e| failed("cannot read it", &e))?;
    if !meta.is_dir() {
        return Err(EngineError::Engine {
            message: format!("build context {} is not a directory", context.display()),
        });
    }
    let ignore_text = match std::fs::read_to_string(context.join(".dockerignore")) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(failed(".dockerignore", &e)),
    };
    let ignore = DockerIgnore::parse(ignore_text.as_deref().unwrap_or_default());

    // Where the Dockerfile comes from: the context, or bytes of our own.
    let (dockerfile, generated): (String, Option<Vec<u8>>) = match &request.dockerfile_inline {
        Some(inline) => (
            generated_name(inline.as_bytes()),
            Some(inline.clone().into_bytes()),
        ),
        None => match relative_inside(&request.dockerfile) {
            Some(relative) => (relative, None),
            None => {
                let path = if Path::new(&request.dockerfile).is_absolute() {
                    PathBuf::from(&request.dockerfile)
                } else {
                    context.join(&request.dockerfile)
                };
                let bytes = std::fs::read(&path).map_err(|e| failed(&request.dockerfile, &e))?;
                (generated_name(&bytes), Some(bytes))
            }
        },
    };

    let mut builder = tar::Builder::new(Vec::new());
    builder.follow_symlinks(false);
    let mut always: HashSet<String> = HashSet::from([".dockerignore".to_string()]);
    if generated.is_none() {
        always.insert(dockerfile.clone());
    }
    let mut added: HashSet<String> = HashSet::new();
    walk(context, "", &ignore, &always, &mut builder, &mut added)
        .map_err(|e| failed("reading it", &e))?;
    // A Dockerfile inside an excluded directory was not reached by the walk.
    for name in &always {
        let path = context.join(name);
        if !added.contains(name) && name != ".dockerignore" && path.is_file() {
            builder
                .append_path_with_name(&path, name)
                .map_err(|e| failed(name, &e))?;
        }
    }
    if let Some(bytes) = generated {
        append_bytes(&mut builder, &dockerfile, &bytes).map_err(|e| failed(&dockerfile, &e))?;
        let mut text = ignore_text.unwrap_or_default();
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(&dockerfile);
        text.push('\n');
        append_bytes(&mut builder, ".dockerignore", text.as_bytes())
            .map_err(|e| failed(".dockerignore", &e))?;
    }
    let tar = builder.into_inner().map_err(|e| failed("tar", &e))?;
    Ok(BuildContext { tar, dockerfile })
}

/// `Dockerfile`, `docker/Dockerfile.dev` → themselves; `../Dockerfile` or an absolute path →
/// `None` (not inside the context).
fn relative_inside(path: &str) -> Option<String> {
    let path = Path::new(path);
    let mut parts = Vec::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => parts.push(part.to_string_lossy().into_owned()),
            Component::CurDir => {}
            Component::ParentDir => {
                parts.pop()?;
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

fn generated_name(content: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(content);
    format!(".wharf-dockerfile-{}", &hex::encode(digest)[..12])
}

fn append_bytes(
    builder: &mut tar::Builder<Vec<u8>>,
    name: &str,
    bytes: &[u8],
) -> std::io::Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_size(bytes.len() as u64);
    header.set_mode(0o644);
    header.set_mtime(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default(),
    );
    header.set_entry_type(tar::EntryType::Regular);
    builder.append_data(&mut header, name, bytes)
}

fn walk(
    root: &Path,
    relative: &str,
    ignore: &DockerIgnore,
    always: &HashSet<String>,
    builder: &mut tar::Builder<Vec<u8>>,
    added: &mut HashSet<String>,
) -> std::io::Result<()> {
    let dir = if relative.is_empty() {
        root.to_path_buf()
    } else {
        root.join(relative)
    };
    let mut entries: Vec<_> = std::fs::read_dir(&dir)?.collect::<std::io::Result<_>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path_in_tar = if relative.is_empty() {
            name.clone()
        } else {
            format!("{relative}/{name}")
        };
        let file_type = entry.file_type()?;
        let excluded = !always.contains(&path_in_tar) && ignore.excluded(&path_in_tar);
        if file_type.is_dir() {
            if !excluded {
                append_entry(builder, &entry.path(), &path_in_tar)?;
                walk(root, &path_in_tar, ignore, always, builder, added)?;
            } else if ignore.may_include_under(&path_in_tar)
                || always
                    .iter()
                    .any(|a| a.starts_with(&format!("{path_in_tar}/")))
            {
                // Excluded, but an exception may bring files back: go in without the entry.
                walk(root, &path_in_tar, ignore, always, builder, added)?;
            }
            continue;
        }
        if excluded {
            continue;
        }
        append_entry(builder, &entry.path(), &path_in_tar)?;
        added.insert(path_in_tar);
    }
    Ok(())
}

/// Appends a file, directory or symlink (not followed) owned by root, as `docker build` does.
fn append_entry(
    builder: &mut tar::Builder<Vec<u8>>,
    path: &Path,
    name: &str,
) -> std::io::Result<()> {
    let meta = std::fs::symlink_metadata(path)?;
    let mut header = tar::Header::new_gnu();
    header.set_metadata_in_mode(&meta, tar::HeaderMode::Complete);
    header.set_uid(0);
    header.set_gid(0);
    let _ = header.set_username("");
    let _ = header.set_groupname("");
    if meta.file_type().is_symlink() {
        let target = std::fs::read_link(path)?;
        header.set_size(0);
        builder.append_link(&mut header, name, target)
    } else if meta.is_dir() {
        header.set_size(0);
        builder.append_data(&mut header, format!("{name}/"), std::io::empty())
    } else if meta.is_file() {
        let file = std::fs::File::open(path)?;
        builder.append_data(&mut header, name, file)
    } else {
        // Sockets, fifos and devices are not part of a build context.
        Ok(())
    }
}

// --- container create --------------------------------------------------------------------------

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
struct Translated {
    body: ContainerCreateBody,
    /// The container config's `MacAddress` (API < 1.44), which `body` cannot hold.
    mac_address: Option<String>,
    /// Networks connected after the create, with their endpoint settings.
    later_networks: Vec<(String, EndpointSettings)>,
    /// Bind sources to create before the create (those the `Binds` syntax cannot carry).
    create_paths: Vec<PathBuf>,
}

fn translate(spec: &ContainerSpec, api: (usize, usize)) -> Translated {
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
                mounts.push(engine_mount(mount, spec.volume_driver.as_deref(), api));
            }
            None => {
                if mount.kind == MountKind::Bind && mount.create_host_path {
                    if let Some(source) = &mount.source {
                        if !Path::new(source).exists() {
                            create_paths.push(PathBuf::from(source));
                        }
                    }
                }
                mounts.push(engine_mount(mount, spec.volume_driver.as_deref(), api));
            }
        }
    }

    // Before API 1.44 an endpoint has no MAC address of its own: the engine gives the first
    // network's endpoint the one in the container's config, where compose puts the service's.
    let mac_address = spec.mac_address.clone().filter(|_| api < (1, 44));
    let (network_mode, first, later_networks) =
        match (&spec.network_mode, spec.networks.split_first()) {
            (Some(mode), _) => (Some(mode.clone()), None, Vec::new()),
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
        pid_mode: spec.pid.clone(),
        ipc_mode: spec.ipc.clone(),
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
                .map(VolumesFrom::engine)
                .collect::<Vec<_>>(),
        ),
        auto_remove: spec.auto_remove.then_some(true),
        volume_driver: spec.volume_driver.clone(),
        annotations: annotations(&spec.annotations, api),
        ..blkio(&spec.blkio)
    };

    let body = ContainerCreateBody {
        image: Some(spec.image.clone()),
        cmd: spec.command.clone(),
        entrypoint: spec.entrypoint.clone(),
        env: non_empty(&spec.env),
        labels: non_empty_map(&spec.labels),
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
    annotations: &indexmap::IndexMap<String, String>,
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

/// An engine mount. `volume_driver` is the driver of an anonymous volume (the service's
/// `volume_driver`): the engine's `HostConfig.VolumeDriver` reaches only `Binds`, not mounts.
fn engine_mount(mount: &Mount, volume_driver: Option<&str>, api: (usize, usize)) -> EngineMount {
    let typ = match mount.kind {
        MountKind::Bind => MountType::BIND,
        MountKind::Volume => MountType::VOLUME,
        MountKind::Tmpfs => MountType::TMPFS,
    };
    let anonymous = mount.source.as_deref().is_none_or(str::is_empty);
    let driver = volume_driver.filter(|_| mount.kind == MountKind::Volume && anonymous);
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
            && (mount.nocopy || !mount.options.volume_labels.is_empty() || driver.is_some()))
        .then(|| MountVolumeOptions {
            no_copy: mount.nocopy.then_some(true),
            labels: non_empty_map(&mount.options.volume_labels),
            driver_config: driver.map(|name| MountVolumeOptionsDriverConfig {
                name: Some(name.to_string()),
                ..Default::default()
            }),
            ..Default::default()
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
        driver_opts: non_empty_map(&options.driver_opts),
        gw_priority: options
            .gw_priority
            .filter(|_| since("gw_priority", (1, 48), priority.as_deref())),
        ..Default::default()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desired::{PortBinding, Ulimit};
    use indexmap::IndexMap;

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

    const API_1_41: (usize, usize) = (1, 41);

    fn attachment(network: &str, aliases: &[&str]) -> NetworkAttachment {
        NetworkAttachment {
            network: network.to_string(),
            aliases: aliases.iter().map(|a| a.to_string()).collect(),
            ipv4_address: None,
            ipv6_address: None,
            endpoint: Default::default(),
        }
    }

    #[test]
    fn only_the_first_network_is_given_at_create() {
        let spec = ContainerSpec {
            image: "img".into(),
            networks: vec![
                attachment("p_front", &["web"]),
                attachment("p_back", &["web", "api"]),
            ],
            ..Default::default()
        };
        let t = translate(&spec, API_1_41);
        let host = t.body.host_config.as_ref().unwrap();
        assert_eq!(host.network_mode.as_deref(), Some("p_front"));
        let endpoints = t
            .body
            .networking_config
            .as_ref()
            .unwrap()
            .endpoints_config
            .as_ref()
            .unwrap();
        assert_eq!(endpoints.len(), 1);
        assert_eq!(
            endpoints["p_front"].aliases.as_deref(),
            Some(&["web".to_string()][..])
        );
        assert_eq!(t.later_networks.len(), 1);
        assert_eq!(t.later_networks[0].0, "p_back");
        assert_eq!(
            t.later_networks[0].1.aliases.as_deref(),
            Some(&["web".to_string(), "api".to_string()][..])
        );
    }

    #[test]
    fn network_mode_wins_over_attachments() {
        let spec = ContainerSpec {
            image: "img".into(),
            network_mode: Some("container:abc".into()),
            ..Default::default()
        };
        let t = translate(&spec, API_1_41);
        assert_eq!(
            t.body.host_config.unwrap().network_mode.as_deref(),
            Some("container:abc")
        );
        assert!(t.body.networking_config.is_none());
        assert!(t.later_networks.is_empty());
    }

    #[test]
    fn ports_are_exposed_and_bound() {
        let spec = ContainerSpec {
            image: "img".into(),
            ports: vec![
                PortBinding {
                    container_port: 80,
                    protocol: "tcp".into(),
                    host_ip: Some("127.0.0.1".into()),
                    host_port: Some("8080".into()),
                },
                PortBinding {
                    container_port: 80,
                    protocol: "tcp".into(),
                    host_ip: None,
                    host_port: Some("8000-8010".into()),
                },
                PortBinding {
                    container_port: 53,
                    protocol: "udp".into(),
                    host_ip: None,
                    host_port: None,
                },
            ],
            exposed: vec!["9000/tcp".into(), "80/tcp".into()],
            ..Default::default()
        };
        let t = translate(&spec, API_1_41);
        let exposed = t.body.exposed_ports.clone().unwrap();
        assert_eq!(exposed, vec!["80/tcp", "53/udp", "9000/tcp"]);
        let bindings = t.body.host_config.unwrap().port_bindings.unwrap();
        let web = bindings["80/tcp"].as_ref().unwrap();
        assert_eq!(web.len(), 2);
        assert_eq!(web[0].host_ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(web[0].host_port.as_deref(), Some("8080"));
        assert_eq!(web[1].host_port.as_deref(), Some("8000-8010"));
        let dns = bindings["53/udp"].as_ref().unwrap();
        assert_eq!(dns[0].host_port.as_deref(), Some(""));
    }

    #[test]
    fn the_resource_keys_and_mount_options_reach_the_host_config() {
        let spec = ContainerSpec {
            cpu: crate::desired::CpuOptions {
                shares: Some(512),
                cpuset: Some("0".into()),
                realtime_runtime: Some(0),
                ..Default::default()
            },
            memory_swappiness: Some(10),
            oom_kill_disable: true,
            cgroup: Some("private".into()),
            device_requests: vec![crate::desired::DeviceRequest {
                count: Some(-1),
                capabilities: vec![vec!["gpu".into()]],
                ..Default::default()
            }],
            mounts: vec![
                Mount {
                    kind: MountKind::Bind,
                    source: Some("/srv/a".into()),
                    target: "/a".into(),
                    read_only: true,
                    create_host_path: false,
                    nocopy: false,
                    tmpfs_size: None,
                    options: crate::desired::MountOptions {
                        selinux: Some("z".into()),
                        propagation: Some("rshared".into()),
                        ..Default::default()
                    },
                },
                Mount {
                    kind: MountKind::Bind,
                    source: Some("/srv/b".into()),
                    target: "/b".into(),
                    read_only: false,
                    create_host_path: true,
                    nocopy: false,
                    tmpfs_size: None,
                    options: crate::desired::MountOptions {
                        recursive: Some("readonly".into()),
                        ..Default::default()
                    },
                },
            ],
            networks: vec![NetworkAttachment {
                endpoint: crate::desired::EndpointOptions {
                    mac_address: Some("02:42:ac:11:00:99".into()),
                    ..Default::default()
                },
                ..attachment("n", &[])
            }],
            ..ContainerSpec::default()
        };
        let host = translate(&spec, API_1_41).body.host_config.unwrap();
        assert_eq!(host.cpu_shares, Some(512));
        assert_eq!(host.cpuset_cpus.as_deref(), Some("0"));
        assert_eq!(host.cpu_realtime_runtime, Some(0));
        assert_eq!(host.memory_swappiness, Some(10));
        assert_eq!(host.oom_kill_disable, Some(true));
        assert_eq!(
            host.cgroupns_mode,
            Some(bollard::models::HostConfigCgroupnsModeEnum::PRIVATE)
        );
        let requests = host.device_requests.unwrap();
        assert_eq!(requests[0].count, Some(-1));
        assert_eq!(host.binds.unwrap(), vec!["/srv/a:/a:ro,z,rshared"]);
        // `recursive: readonly` is API 1.44: on 1.41 the mount goes without it.
        let mounts = host.mounts.unwrap();
        assert_eq!(mounts[0].bind_options, None);
        let newer = translate(&spec, (1, 44)).body;
        let options = newer.host_config.clone().unwrap().mounts.unwrap()[0]
            .bind_options
            .clone();
        assert_eq!(options.unwrap().read_only_force_recursive, Some(true));
        let endpoints = |body: &ContainerCreateBody| {
            body.networking_config
                .as_ref()
                .unwrap()
                .endpoints_config
                .as_ref()
                .unwrap()["n"]
                .mac_address
                .clone()
        };
        assert_eq!(endpoints(&translate(&spec, API_1_41).body), None);
        assert_eq!(endpoints(&newer).as_deref(), Some("02:42:ac:11:00:99"));
    }

    #[test]
    fn the_service_mac_address_is_the_configs_before_api_1_44_and_the_first_endpoints_after() {
        let spec = ContainerSpec {
            mac_address: Some("02:42:ac:11:00:42".into()),
            networks: vec![attachment("front", &[]), attachment("back", &[])],
            ..ContainerSpec::default()
        };
        let first_mac = |t: &Translated| {
            t.body
                .networking_config
                .as_ref()
                .unwrap()
                .endpoints_config
                .as_ref()
                .unwrap()["front"]
                .mac_address
                .clone()
        };
        let old = translate(&spec, API_1_41);
        assert_eq!(old.mac_address.as_deref(), Some("02:42:ac:11:00:42"));
        assert_eq!(first_mac(&old), None);
        let newer = translate(&spec, (1, 44));
        assert_eq!(newer.mac_address, None);
        assert_eq!(first_mac(&newer).as_deref(), Some("02:42:ac:11:00:42"));
        assert_eq!(newer.later_networks[0].1.mac_address, None);
    }

    #[test]
    fn annotations_blkio_and_the_volume_driver_reach_the_host_config() {
        let spec = ContainerSpec {
            annotations: [("com.example.note".to_string(), "hello".to_string())].into(),
            blkio: BlkioOptions {
                weight: Some(300),
                device_read_bps: vec![("/dev/vda".into(), 1 << 20)],
                ..Default::default()
            },
            volume_driver: Some("local".into()),
            mounts: vec![Mount {
                kind: MountKind::Volume,
                source: None,
                target: "/data".into(),
                read_only: false,
                create_host_path: false,
                nocopy: false,
                tmpfs_size: None,
                options: Default::default(),
            }],
            ..ContainerSpec::default()
        };
        let old = translate(&spec, API_1_41).body.host_config.unwrap();
        assert_eq!(old.annotations, None, "annotations need API 1.43");
        assert_eq!(old.blkio_weight, Some(300));
        let read = &old.blkio_device_read_bps.unwrap()[0];
        assert_eq!(
            (read.path.as_deref(), read.rate),
            (Some("/dev/vda"), Some(1 << 20))
        );
        assert_eq!(old.volume_driver.as_deref(), Some("local"));
        let driver = old.mounts.unwrap()[0]
            .volume_options
            .clone()
            .unwrap()
            .driver_config;
        assert_eq!(driver.unwrap().name.as_deref(), Some("local"));
        let newer = translate(&spec, (1, 43)).body.host_config.unwrap();
        assert_eq!(newer.annotations.unwrap()["com.example.note"], "hello");
    }

    #[test]
    fn mounts_binds_and_restart_policy() {
        let spec = ContainerSpec {
            image: "img".into(),
            mounts: vec![
                Mount {
                    kind: MountKind::Bind,
                    source: Some("/srv/data".into()),
                    target: "/data".into(),
                    read_only: true,
                    create_host_path: true,
                    nocopy: false,
                    tmpfs_size: None,
                    options: Default::default(),
                },
                Mount {
                    kind: MountKind::Bind,
                    source: Some("/srv/strict".into()),
                    target: "/strict".into(),
                    read_only: false,
                    create_host_path: false,
                    nocopy: false,
                    tmpfs_size: None,
                    options: Default::default(),
                },
                Mount {
                    kind: MountKind::Volume,
                    source: Some("p_db".into()),
                    target: "/var/lib/db".into(),
                    read_only: false,
                    create_host_path: false,
                    nocopy: true,
                    tmpfs_size: None,
                    options: Default::default(),
                },
                Mount {
                    kind: MountKind::Volume,
                    source: None,
                    target: "/anon".into(),
                    read_only: false,
                    create_host_path: false,
                    nocopy: false,
                    tmpfs_size: None,
                    options: Default::default(),
                },
                Mount {
                    kind: MountKind::Tmpfs,
                    source: None,
                    target: "/scratch".into(),
                    read_only: false,
                    create_host_path: false,
                    nocopy: false,
                    tmpfs_size: Some(1 << 20),
                    options: Default::default(),
                },
            ],
            ..Default::default()
        };
        let t = translate(&spec, API_1_41);
        let host = t.body.host_config.unwrap();
        assert_eq!(host.binds.unwrap(), vec!["/srv/data:/data:ro"]);
        let mounts = host.mounts.unwrap();
        assert_eq!(mounts.len(), 4);
        assert_eq!(mounts[0].typ, Some(MountType::BIND));
        assert_eq!(mounts[0].source.as_deref(), Some("/srv/strict"));
        assert_eq!(mounts[1].typ, Some(MountType::VOLUME));
        assert_eq!(
            mounts[1].volume_options.as_ref().unwrap().no_copy,
            Some(true)
        );
        assert_eq!(mounts[2].source, None);
        assert_eq!(
            mounts[3].tmpfs_options.as_ref().unwrap().size_bytes,
            Some(1 << 20)
        );
        assert_eq!(
            host.restart_policy.unwrap().name,
            Some(bollard::models::RestartPolicyNameEnum::EMPTY),
            "no restart asked for: the name compose leaves empty"
        );
        assert!(t.create_paths.is_empty());
    }

    #[test]
    fn a_bind_path_with_a_colon_is_created_by_us() {
        let spec = ContainerSpec {
            image: "img".into(),
            mounts: vec![Mount {
                kind: MountKind::Bind,
                source: Some("/nonexistent/wharf:test".into()),
                target: "/data".into(),
                read_only: false,
                create_host_path: true,
                nocopy: false,
                tmpfs_size: None,
                options: Default::default(),
            }],
            ..Default::default()
        };
        let t = translate(&spec, API_1_41);
        assert!(t.body.host_config.as_ref().unwrap().binds.is_none());
        assert_eq!(
            t.create_paths,
            vec![PathBuf::from("/nonexistent/wharf:test")]
        );
    }

    #[test]
    fn healthcheck_in_nanoseconds_and_start_interval_gated() {
        let spec = ContainerSpec {
            image: "img".into(),
            healthcheck: Some(Healthcheck {
                test: vec!["CMD-SHELL".into(), "true".into()],
                interval: Some(Duration::from_millis(1500)),
                timeout: Some(Duration::from_secs(2)),
                start_period: Some(Duration::from_secs(1)),
                start_interval: Some(Duration::from_secs(1)),
                retries: Some(3),
            }),
            stop_timeout: Some(Duration::from_millis(2500)),
            ..Default::default()
        };
        let t = translate(&spec, API_1_41);
        let health = t.body.healthcheck.unwrap();
        assert_eq!(health.interval, Some(1_500_000_000));
        assert_eq!(health.timeout, Some(2_000_000_000));
        assert_eq!(health.retries, Some(3));
        assert_eq!(health.start_interval, None);
        assert_eq!(t.body.stop_timeout, Some(3));
        let t = translate(&spec, (1, 44));
        assert_eq!(
            t.body.healthcheck.unwrap().start_interval,
            Some(1_000_000_000)
        );
    }

    #[test]
    fn host_settings_are_carried() {
        let mut sysctls = IndexMap::new();
        sysctls.insert("net.core.somaxconn".to_string(), "1024".to_string());
        let mut tmpfs = IndexMap::new();
        tmpfs.insert("/run".to_string(), "size=64k".to_string());
        let spec = ContainerSpec {
            image: "img".into(),
            ulimits: vec![Ulimit {
                name: "nofile".into(),
                soft: 1024,
                hard: 2048,
            }],
            sysctls,
            tmpfs,
            cap_add: vec!["NET_ADMIN".into()],
            cap_drop: vec!["MKNOD".into()],
            extra_hosts: vec!["db:10.0.0.2".into()],
            dns: vec!["10.0.0.1".into()],
            init: Some(true),
            privileged: true,
            read_only: true,
            memory: Some(64 << 20),
            nano_cpus: Some(500_000_000),
            log_driver: Some("json-file".into()),
            devices: vec![crate::spec::model::Device {
                source: "/dev/null".into(),
                target: Some("/dev/mynull".into()),
                permissions: None,
            }],
            ..Default::default()
        };
        let host = translate(&spec, API_1_41).body.host_config.unwrap();
        assert_eq!(host.ulimits.unwrap()[0].hard, Some(2048));
        assert_eq!(host.sysctls.unwrap()["net.core.somaxconn"], "1024");
        assert_eq!(host.tmpfs.unwrap()["/run"], "size=64k");
        assert_eq!(host.cap_add.unwrap(), vec!["NET_ADMIN"]);
        assert_eq!(host.cap_drop.unwrap(), vec!["MKNOD"]);
        assert_eq!(host.extra_hosts.unwrap(), vec!["db:10.0.0.2"]);
        assert_eq!(host.dns.unwrap(), vec!["10.0.0.1"]);
        assert_eq!(host.init, Some(true));
        assert_eq!(host.privileged, Some(true));
        assert_eq!(host.readonly_rootfs, Some(true));
        assert_eq!(host.memory, Some(64 << 20));
        assert_eq!(host.nano_cpus, Some(500_000_000));
        assert_eq!(host.log_config.unwrap().typ.as_deref(), Some("json-file"));
        let device = &host.devices.unwrap()[0];
        assert_eq!(device.path_in_container.as_deref(), Some("/dev/mynull"));
        assert_eq!(device.cgroup_permissions.as_deref(), Some("rwm"));
    }

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

    fn attributes(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn event_actions() {
        let none = HashMap::new();
        assert_eq!(parse_action("create", &none), Some(EventAction::Create));
        assert_eq!(parse_action("start", &none), Some(EventAction::Start));
        assert_eq!(
            parse_action("die", &attributes(&[("exitCode", "137")])),
            Some(EventAction::Die {
                exit_code: Some(137)
            })
        );
        assert_eq!(
            parse_action("die", &none),
            Some(EventAction::Die { exit_code: None })
        );
        assert_eq!(
            parse_action("kill", &attributes(&[("signal", "15")])),
            Some(EventAction::Kill { signal: Some(15) })
        );
        assert_eq!(
            parse_action("kill", &attributes(&[("signal", "SIGKILL")])),
            Some(EventAction::Kill { signal: Some(9) })
        );
        assert_eq!(parse_action("stop", &none), Some(EventAction::Stop));
        assert_eq!(parse_action("destroy", &none), Some(EventAction::Destroy));
        assert_eq!(
            parse_action("health_status: healthy", &none),
            Some(EventAction::HealthStatus(Health::Healthy))
        );
        assert_eq!(
            parse_action("health_status: unhealthy", &none),
            Some(EventAction::HealthStatus(Health::Unhealthy))
        );
        assert_eq!(
            parse_action("health_status:unhealthy ", &none),
            Some(EventAction::HealthStatus(Health::Unhealthy))
        );
        assert_eq!(
            parse_action("health_status: sideways", &none),
            Some(EventAction::Other("health_status: sideways".into()))
        );
        assert_eq!(
            parse_action("rename", &attributes(&[("oldName", "/p-web-1")])),
            Some(EventAction::Rename {
                old_name: Some("p-web-1".into())
            })
        );
        assert_eq!(parse_action("pause", &none), Some(EventAction::Pause));
        assert_eq!(parse_action("unpause", &none), Some(EventAction::Unpause));
        assert_eq!(parse_action("oom", &none), Some(EventAction::Oom));
        assert_eq!(
            parse_action("restart", &none),
            Some(EventAction::Other("restart".into()))
        );
        assert_eq!(
            parse_action("connect", &none),
            Some(EventAction::Other("connect".into()))
        );
        // A healthcheck probe is three exec events; a colon inside the command changes nothing.
        assert_eq!(
            parse_action("exec_create: /bin/sh -c test -f /ok", &none),
            None
        );
        assert_eq!(parse_action("exec_start: sh -c 'echo a:b' ", &none), None);
        assert_eq!(
            parse_action("exec_die", &attributes(&[("exitCode", "1")])),
            None
        );
        assert_eq!(parse_action("exec_detach", &none), None);
    }

    #[test]
    fn events_from_the_engine_json() {
        // As Docker 20.10 sends them.
        let kill: EventMessage = serde_json::from_str(
            r#"{"status":"kill","id":"f725","from":"wharf-test/busybox:latest","Type":"container",
                "Action":"kill","Actor":{"ID":"f725","Attributes":{
                "com.docker.compose.project":"p","com.docker.compose.service":"web",
                "com.docker.compose.container-number":"3","image":"wharf-test/busybox:latest",
                "name":"p-web-3","signal":"9"}},"scope":"local","time":1795415080,
                "timeNano":1795415080680853679}"#,
        )
        .unwrap();
        let event = event_from_message(&kill).unwrap();
        assert_eq!(event.kind, EventKind::Container);
        assert_eq!(event.action, EventAction::Kill { signal: Some(9) });
        assert_eq!(event.id, "f725");
        assert_eq!(event.name, "p-web-3");
        assert_eq!(event.service(), Some("web"));
        assert_eq!(event.number(), Some(3));
        assert_eq!(event.time_nanos, 1_795_415_080_680_853_679);
        // The engine's own attributes are not labels.
        let mut keys: Vec<&str> = event.labels.keys().map(String::as_str).collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "com.docker.compose.container-number",
                "com.docker.compose.project",
                "com.docker.compose.service"
            ]
        );

        let network: EventMessage = serde_json::from_str(
            r#"{"Type":"network","Action":"destroy","Actor":{"ID":"f798",
                "Attributes":{"name":"p_default","type":"bridge"}},"scope":"local",
                "time":1795415081}"#,
        )
        .unwrap();
        let event = event_from_message(&network).unwrap();
        assert_eq!(
            (event.kind, &event.action, event.name.as_str()),
            (EventKind::Network, &EventAction::Destroy, "p_default")
        );
        assert!(event.labels.is_empty());
        assert_eq!(event.time_nanos, 1_795_415_081_000_000_000);

        let volume: EventMessage = serde_json::from_str(
            r#"{"Type":"volume","Action":"create","Actor":{"ID":"p_data",
                "Attributes":{"driver":"local"}},"timeNano":5}"#,
        )
        .unwrap();
        let event = event_from_message(&volume).unwrap();
        assert_eq!(
            (event.kind, event.name.as_str()),
            (EventKind::Volume, "p_data")
        );

        let exec: EventMessage = serde_json::from_str(
            r#"{"Type":"container","Action":"exec_start: true ","Actor":{"ID":"f725",
                "Attributes":{"name":"p-web-3"}},"timeNano":5}"#,
        )
        .unwrap();
        assert_eq!(event_from_message(&exec), None);
        let image: EventMessage = serde_json::from_str(
            r#"{"Type":"image","Action":"tag","Actor":{"ID":"sha256:1"},"timeNano":5}"#,
        )
        .unwrap();
        assert_eq!(event_from_message(&image), None);
    }

    fn event(name: &str) -> EngineEvent {
        EngineEvent {
            kind: EventKind::Container,
            action: EventAction::Start,
            id: name.to_string(),
            name: name.to_string(),
            labels: HashMap::new(),
            time_nanos: 0,
        }
    }

    #[test]
    fn the_request_timeout_can_be_set() {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("docker.sock");
        std::fs::write(&socket, "").unwrap();
        let docker = Docker::connect_with_unix(
            &socket.display().to_string(),
            120,
            bollard::API_DEFAULT_VERSION,
        )
        .unwrap();
        let runtime = DockerEngine {
            docker,
            api: API_1_41,
        };
        let runtime = runtime.with_request_timeout(Duration::from_secs(3));
        assert_eq!(runtime.docker.timeout(), Duration::from_secs(3));
        // bollard counts whole seconds: less than one would fail every request at once.
        let runtime = runtime.with_request_timeout(Duration::from_millis(10));
        assert_eq!(runtime.docker.timeout(), Duration::from_secs(1));
    }

    #[tokio::test]
    async fn merged_streams_end_with_either() {
        use futures_util::FutureExt;
        // One ends: the merged stream ends, though the other never does.
        let mut merged = until_either_ends(
            stream::iter([Ok(event("a"))]),
            stream::pending::<Result<EngineEvent>>(),
        );
        assert_eq!(merged.next().await.unwrap().unwrap().name, "a");
        assert!(merged.next().now_or_never().unwrap().is_none());
        // One fails: the error, then the end, at once.
        let mut merged = until_either_ends(
            stream::pending::<Result<EngineEvent>>(),
            stream::iter([
                Err(EngineError::Unreachable("gone".into())),
                Ok(event("b")),
            ])
            .chain(stream::pending()),
        );
        assert!(merged.next().await.unwrap().is_err());
        assert!(merged.next().now_or_never().unwrap().is_none());
    }

    #[test]
    fn log_frames_are_split_into_timestamped_lines() {
        let lines = log_lines("2024-02-29T12:34:56.000000001Z hello world\n", false);
        assert_eq!(
            lines,
            vec![LogLine {
                timestamp: "2024-02-29T12:34:56.000000001Z".into(),
                stderr: false,
                text: "hello world".into(),
            }]
        );
        let lines = log_lines(
            "2024-02-29T12:34:56Z a\r\n2024-02-29T12:34:57Z b\r\ncontinued\n",
            true,
        );
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[1].text, "b");
        assert_eq!(lines[2].timestamp, "2024-02-29T12:34:57Z");
        assert_eq!(lines[2].text, "continued");
        assert!(lines.iter().all(|l| l.stderr));
        let lines = log_lines("2024-02-29T12:34:56Z \n", false);
        assert_eq!(lines[0].text, "");
    }

    #[test]
    fn missing_subjects() {
        assert_eq!(
            missing_subject("No such container: abc").as_deref(),
            Some("container abc")
        );
        assert_eq!(
            missing_subject("network p_front not found").as_deref(),
            Some("network p_front")
        );
        assert_eq!(
            missing_subject("no such image: x: No such image: x:latest").as_deref(),
            Some("image x:latest")
        );
        assert_eq!(
            missing_subject("get p_data: no such volume").as_deref(),
            Some("volume p_data")
        );
        assert_eq!(missing_subject("page not found"), None);
    }

    #[test]
    fn references() {
        assert_eq!(
            split_reference("busybox"),
            ("busybox".into(), Some("latest".into()))
        );
        assert_eq!(
            split_reference("localhost:5000/a/b:1.2"),
            ("localhost:5000/a/b".into(), Some("1.2".into()))
        );
        assert_eq!(
            split_reference("localhost:5000/a"),
            ("localhost:5000/a".into(), Some("latest".into()))
        );
        assert_eq!(
            split_reference("a@sha256:abc"),
            ("a@sha256:abc".into(), None)
        );
    }

    #[test]
    fn dockerfile_paths() {
        assert_eq!(relative_inside("Dockerfile").as_deref(), Some("Dockerfile"));
        assert_eq!(
            relative_inside("./docker/../build/Dockerfile.dev").as_deref(),
            Some("build/Dockerfile.dev")
        );
        assert_eq!(relative_inside("../Dockerfile"), None);
        assert_eq!(relative_inside("/abs/Dockerfile"), None);
    }

    fn context_files(request: &BuildRequest) -> (Vec<String>, BuildContext) {
        let context = build_context(request).unwrap();
        let mut archive = tar::Archive::new(&context.tar[..]);
        let names = archive
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
            .collect();
        (names, context)
    }

    fn request(dir: &Path) -> BuildRequest {
        BuildRequest {
            context: dir.to_path_buf(),
            dockerfile: "Dockerfile".into(),
            dockerfile_inline: None,
            tag: "t".into(),
            args: HashMap::new(),
            target: None,
            labels: HashMap::new(),
            ..BuildRequest::default()
        }
    }

    #[test]
    fn repeated_build_parameters_go_in_the_query_encoded() {
        let extras = BuildRequest {
            extra_tags: vec!["a/b:1".into(), "c".into()],
            extra_hosts: vec!["host:10.0.0.1".into()],
            isolation: Some("default".into()),
            shm_size: Some(5 << 30),
            ..request(Path::new("."))
        };
        let query = build_query(&extras);
        assert_eq!(
            query,
            "t=a%2Fb%3A1&t=c&extrahosts=host%3A10.0.0.1&isolation=default&shmsize=5368709120"
        );
        let sent = http_request("http://engine/build?dockerfile=Dockerfile");
        let uri = with_query(sent, &query).uri().to_string();
        assert_eq!(
            uri,
            format!("http://engine/build?dockerfile=Dockerfile&{query}")
        );
        assert_eq!(build_query(&request(Path::new("."))), "");
    }

    fn http_request(uri: &str) -> bollard::BollardRequest {
        let mut sent = bollard::BollardRequest::new(bollard::body_full(Vec::new().into()));
        *sent.uri_mut() = uri.parse().unwrap();
        sent
    }

    #[test]
    fn the_context_honours_dockerignore() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(root.join("Dockerfile"), "FROM scratch\n").unwrap();
        std::fs::write(
            root.join(".dockerignore"),
            "Dockerfile\n.dockerignore\n*.secret\nvendor\ndocs\n!docs/keep.md\n",
        )
        .unwrap();
        std::fs::write(root.join("app.txt"), "x").unwrap();
        std::fs::write(root.join("key.secret"), "x").unwrap();
        std::fs::create_dir_all(root.join("vendor/deep")).unwrap();
        std::fs::write(root.join("vendor/deep/lib"), "x").unwrap();
        std::fs::create_dir_all(root.join("docs")).unwrap();
        std::fs::write(root.join("docs/keep.md"), "x").unwrap();
        std::fs::write(root.join("docs/drop.md"), "x").unwrap();
        std::fs::create_dir_all(root.join("src")).unwrap();
        std::fs::write(root.join("src/main.rs"), "x").unwrap();
        std::os::unix::fs::symlink("app.txt", root.join("link")).unwrap();

        let (names, context) = context_files(&request(root));
        assert_eq!(context.dockerfile, "Dockerfile");
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(
            sorted,
            vec![
                ".dockerignore",
                "Dockerfile",
                "app.txt",
                "docs/keep.md",
                "link",
                "src/",
                "src/main.rs"
            ]
        );
    }

    #[test]
    fn an_inline_dockerfile_gets_a_generated_name_that_the_engine_drops() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("app.txt"), "x").unwrap();
        let mut req = request(dir.path());
        req.dockerfile_inline = Some("FROM scratch\nCOPY app.txt /\n".into());
        let (names, context) = context_files(&req);
        assert!(context.dockerfile.starts_with(".wharf-dockerfile-"));
        assert!(names.contains(&context.dockerfile));
        assert!(names.contains(&".dockerignore".to_string()));
        let mut archive = tar::Archive::new(&context.tar[..]);
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            if entry.path().unwrap().to_string_lossy() == ".dockerignore" {
                let mut text = String::new();
                std::io::Read::read_to_string(&mut entry, &mut text).unwrap();
                assert_eq!(text, format!("{}\n", context.dockerfile));
            }
        }
    }

    #[test]
    fn a_dockerfile_in_an_excluded_directory_is_still_sent() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("docker")).unwrap();
        std::fs::write(dir.path().join("docker/Dockerfile"), "FROM scratch\n").unwrap();
        std::fs::write(dir.path().join("docker/other"), "x").unwrap();
        std::fs::write(dir.path().join(".dockerignore"), "docker\n").unwrap();
        let mut req = request(dir.path());
        req.dockerfile = "docker/Dockerfile".into();
        let (names, _) = context_files(&req);
        assert!(names.contains(&"docker/Dockerfile".to_string()));
        assert!(!names.contains(&"docker/other".to_string()));
    }
}
