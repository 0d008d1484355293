//! An in-memory engine for unit tests and benches (built only for tests and the `testkit`
//! feature). `tests/engine_contract.rs` runs the same scenarios on it and on the real engine:
//! where they differ, this one is wrong.
//!
//! It keeps what `ContainerEngine` can see (containers with labels, state and image, networks,
//! volumes, images) behind a mutex and fails where the engine fails: a name already in use, a
//! missing image or network, removing a network with running containers or a volume in use,
//! pulling (there is no registry unless `add_remote_image` says otherwise). A removal is forced,
//! as `DockerEngine` asks (a running container is killed first), and `wait_container` returns at
//! the container's `die`. Ids are deterministic (`c0001`, `n0001`, `sha256:i0001`) and so are
//! creation times, so tests can compare exact output.
//! Every mutating call is recorded (`calls`), and any call can be made to fail (`fail`).
//! Every change, whether through `ContainerEngine` or a helper that simulates what happened outside
//! wharf (`set_state`, `set_health`, `add_*`), is an event on `events` streams, in the engine's
//! order (`stop` is `kill` 15, `die`, `stop`); `inject_event` sends any event and
//! `drop_event_streams` ends the current streams as a lost engine connection would.
//! `after_start` makes containers with a given name or environment entry exit or change health
//! as soon as they start, as a broken new config would; `exec_exits` gives a command's execs
//! their exit code.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use futures_util::StreamExt;
use futures_util::stream::{self, BoxStream};
use indexmap::IndexMap;
use tokio::sync::broadcast;

use super::{
    AddressPool, Attachment, BuildRequest, ContainerEngine, ContainerState, EngineContainer,
    EngineError, EngineEvent, EngineNetwork, EngineVolume, EventAction, EventKind, ExecOutput,
    ExecRequest, Health, LogLine, LogOptions, MountedVolume, NetworkSettings, Result, StartedExec,
    Streams, signal_number,
};

/// The names this engine gives anonymous volumes.
const ANONYMOUS_PREFIX: &str = "anonymous-v";
use crate::desired::{ContainerSpec, DesiredNetwork, DesiredVolume, MountKind};
use crate::engine::labels;

/// Events a stream may fall behind by before it fails (as a lost connection would).
const EVENT_BUFFER: usize = 1024;

#[derive(Debug, Default)]
pub struct MemoryEngine {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Per id prefix: containers, networks and images count separately.
    counters: HashMap<&'static str, u32>,
    clock: i64,
    containers: Vec<MemoryContainer>,
    networks: Vec<EngineNetwork>,
    volumes: Vec<EngineVolume>,
    /// Normalized reference → image ID.
    images: IndexMap<String, String>,
    /// References a pull succeeds for, with the ID it gives.
    remote: HashMap<String, String>,
    calls: Vec<String>,
    /// (method, target) → message.
    failures: HashMap<(String, String), String>,
    /// The current event streams' channel; `None` when there is none.
    events: Option<broadcast::Sender<EngineEvent>>,
    /// Events so far, for their times.
    event_count: i64,
    /// (name or environment entry, behaviour): what the containers with that name or created
    /// with that entry do as soon as they start.
    after_start: Vec<(String, AfterStart)>,
    /// How long a network create takes, as a slow engine's would.
    network_create_time: std::time::Duration,
    /// Commands whose execs end with another code than 0.
    exec_exits: HashMap<Vec<String>, i64>,
    /// Started execs by ID, with the code they ended with.
    execs: HashMap<String, i64>,
}

/// Whether a container takes its networks and volumes (it starts) or releases them (it ends).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Attachments {
    Taken,
    Released,
}

/// What a container does right after it starts, as its command or healthcheck would decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterStart {
    /// Its process ends with this code.
    Exit(i64),
    /// Its healthcheck reports this.
    Health(Health),
}

#[derive(Debug, Clone)]
struct MemoryContainer {
    engine: EngineContainer,
    /// `None` for containers seeded with `add_container`.
    spec: Option<ContainerSpec>,
    /// Anonymous volumes created with the container.
    anonymous: Vec<String>,
    /// Named volumes it mounts.
    named: Vec<String>,
    logs: Vec<LogLine>,
}

impl MemoryContainer {
    /// Its process has not ended: running, paused or restarting.
    fn still_running(&self) -> bool {
        matches!(
            self.engine.state,
            ContainerState::Running | ContainerState::Paused | ContainerState::Restarting
        )
    }
}

/// `busybox` → `busybox:latest`; references with a tag or digest are unchanged.
fn normalize(reference: &str) -> String {
    let last = reference.rsplit('/').next().unwrap_or(reference);
    if last.contains(':') || reference.contains('@') {
        reference.to_string()
    } else {
        format!("{reference}:latest")
    }
}

impl State {
    fn next(&mut self, prefix: &'static str) -> String {
        let counter = self.counters.entry(prefix).or_default();
        *counter += 1;
        format!("{prefix}{counter:04}")
    }

    fn tick(&mut self) -> i64 {
        self.clock += 1;
        1_700_000_000 + self.clock
    }

    /// Records a call and returns the injected failure for it, if any.
    fn call(&mut self, method: &str, target: &str) -> Result<()> {
        self.calls.push(format!("{method} {target}"));
        match self
            .failures
            .remove(&(method.to_string(), target.to_string()))
        {
            Some(message) => Err(EngineError::Engine { message }),
            None => Ok(()),
        }
    }

    /// By full ID, unique ID prefix, or name.
    fn find(&self, id_or_name: &str) -> Result<usize> {
        let id_or_name = id_or_name.trim_start_matches('/');
        if let Some(i) = self
            .containers
            .iter()
            .position(|c| c.engine.id == id_or_name || c.engine.name == id_or_name)
        {
            return Ok(i);
        }
        let prefixed: Vec<usize> = (0..self.containers.len())
            .filter(|&i| self.containers[i].engine.id.starts_with(id_or_name))
            .collect();
        match prefixed.as_slice() {
            [i] if !id_or_name.is_empty() => Ok(*i),
            _ => Err(EngineError::NotFound(format!("container {id_or_name}"))),
        }
    }

    /// A running container, as the archive and exec calls need (the engine answers 409).
    fn running(&self, id_or_name: &str) -> Result<usize> {
        let i = self.find(id_or_name)?;
        if self.containers[i].engine.state != ContainerState::Running {
            return Err(EngineError::Engine {
                message: format!("Container {} is not running", self.containers[i].engine.id),
            });
        }
        Ok(i)
    }

    /// A state change with the event the engine would send: `start`, `pause`, `unpause`, or
    /// `die` with the exit code when a running container ends.
    fn change_state(&mut self, i: usize, state: ContainerState, exit_code: Option<i64>) {
        use ContainerState::{Dead, Exited, Paused, Restarting, Running};
        let engine = &mut self.containers[i].engine;
        let before = engine.state;
        engine.state = state;
        engine.exit_code = exit_code;
        if !matches!(state, Running | Paused) {
            engine.health = None;
            engine.addresses.clear();
        }
        let action = match (before, state) {
            (before, after) if before == after => None,
            (Paused, Running) => Some(EventAction::Unpause),
            (_, Running) => Some(EventAction::Start),
            (_, Paused) => Some(EventAction::Pause),
            (Running | Restarting, Exited | Dead) => Some(EventAction::Die { exit_code }),
            _ => None,
        };
        let died = matches!(action, Some(EventAction::Die { .. }));
        if let Some(action) = action {
            self.emit_container(i, action);
        }
        if died {
            self.emit_attachments(i, Attachments::Released);
        }
    }

    /// Ends a running or paused container's process with `signal`, as the engine does: `kill`,
    /// `unpause` when it was paused (a frozen process takes no signal), `die` with `exit_code`.
    fn end(&mut self, i: usize, signal: i32, exit_code: i64) {
        self.emit_container(
            i,
            EventAction::Kill {
                signal: Some(signal),
            },
        );
        if self.containers[i].engine.state == ContainerState::Paused {
            self.change_state(i, ContainerState::Running, None);
        }
        self.change_state(i, ContainerState::Exited, Some(exit_code));
    }

    /// The engine's events of a container's networks and volumes, at its start (`connect`,
    /// `mount`) or its end (`disconnect`, `unmount`), in that order.
    fn emit_attachments(&mut self, i: usize, attachments: Attachments) {
        let (network_action, volume_action) = match attachments {
            Attachments::Taken => ("connect", "mount"),
            Attachments::Released => ("disconnect", "unmount"),
        };
        let container = &self.containers[i];
        let networks: Vec<EngineNetwork> = container
            .spec
            .iter()
            .flat_map(|spec| &spec.networks)
            .filter_map(|a| self.networks.iter().find(|n| n.name == a.network))
            .cloned()
            .collect();
        let volumes: Vec<EngineVolume> = container
            .named
            .iter()
            .chain(&container.anonymous)
            .filter_map(|name| self.volumes.iter().find(|v| &v.name == name))
            .cloned()
            .collect();
        for network in networks {
            let action = EventAction::Other(network_action.into());
            self.emit(
                EventKind::Network,
                action,
                &network.id,
                &network.name,
                &network.labels,
            );
        }
        for volume in volumes {
            let action = EventAction::Other(volume_action.into());
            self.emit(
                EventKind::Volume,
                action,
                &volume.name,
                &volume.name,
                &volume.labels,
            );
        }
    }

    /// A health change; to healthy or unhealthy, it is a `health_status` event.
    fn change_health(&mut self, i: usize, health: Option<Health>) {
        let before = std::mem::replace(&mut self.containers[i].engine.health, health);
        match health {
            Some(health @ (Health::Healthy | Health::Unhealthy)) if before != Some(health) => {
                self.emit_container(i, EventAction::HealthStatus(health));
            }
            _ => {}
        }
    }

    /// What a container that just started does on its own (see `MemoryEngine::after_start`).
    fn behave_after_start(&mut self, i: usize) {
        let container = &self.containers[i];
        let env = container
            .spec
            .as_ref()
            .map(|spec| &spec.env[..])
            .unwrap_or_default();
        let behaviour = self
            .after_start
            .iter()
            .find(|(key, _)| *key == container.engine.name || env.contains(key))
            .map(|(_, behaviour)| *behaviour);
        match behaviour {
            Some(AfterStart::Exit(code)) => {
                self.change_state(i, ContainerState::Exited, Some(code))
            }
            Some(AfterStart::Health(health)) => self.change_health(i, Some(health)),
            None => {}
        }
    }

    fn name_in_use(&self, name: &str) -> Result<()> {
        if self.containers.iter().any(|c| c.engine.name == name) {
            return Err(EngineError::Conflict(format!("container {name}")));
        }
        Ok(())
    }

    /// Sends an event to the current streams; its time is the clock's, in nanoseconds, plus
    /// the count of events, so that times grow and are the same in every run.
    fn emit(
        &mut self,
        kind: EventKind,
        action: EventAction,
        id: &str,
        name: &str,
        labels: &HashMap<String, String>,
    ) {
        self.event_count += 1;
        let time_nanos = (1_700_000_000 + self.clock) * 1_000_000_000 + self.event_count;
        if let Some(sender) = &self.events {
            // An error only says that no stream listens.
            let _ = sender.send(EngineEvent {
                kind,
                action,
                id: id.to_string(),
                name: name.to_string(),
                labels: labels.clone(),
                time_nanos,
            });
        }
    }

    fn emit_container(&mut self, i: usize, action: EventAction) {
        let engine = &self.containers[i].engine;
        let (id, name, labels) = (
            engine.id.clone(),
            engine.name.clone(),
            engine.labels.clone(),
        );
        self.emit(EventKind::Container, action, &id, &name, &labels);
    }

    /// The code an exec of `request` ends with.
    fn exec_exit(&self, request: &ExecRequest) -> i64 {
        self.exec_exits.get(&request.command).copied().unwrap_or(0)
    }

    fn volume_in_use(&self, name: &str) -> bool {
        self.containers
            .iter()
            .any(|c| c.named.iter().chain(&c.anonymous).any(|v| v == name))
    }
}

impl MemoryEngine {
    pub fn new() -> MemoryEngine {
        MemoryEngine::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Makes a local image and returns its ID.
    pub fn add_image(&self, reference: &str) -> String {
        let mut state = self.lock();
        let id = state.next("sha256:i");
        state.images.insert(normalize(reference), id.clone());
        id
    }

    /// Makes a reference pullable: a pull then gives it a new ID.
    pub fn add_remote_image(&self, reference: &str) {
        let mut state = self.lock();
        let id = state.next("sha256:r");
        state.remote.insert(normalize(reference), id);
    }

    /// Removes a local image (as `docker rmi` would, leaving containers on their image ID).
    pub fn remove_image(&self, reference: &str) {
        self.lock().images.shift_remove(&normalize(reference));
    }

    /// A network wharf did not create.
    pub fn add_network(&self, name: &str, labels: &[(&str, &str)]) {
        let mut state = self.lock();
        let id = state.next("n");
        let labels = strings(labels);
        state.emit(EventKind::Network, EventAction::Create, &id, name, &labels);
        state.networks.push(EngineNetwork {
            id,
            name: name.to_string(),
            labels,
            pools: Vec::new(),
            settings: NetworkSettings::default(),
        });
    }

    /// A volume wharf did not create.
    pub fn add_volume(&self, name: &str, labels: &[(&str, &str)]) {
        let mut state = self.lock();
        let labels = strings(labels);
        state.emit(EventKind::Volume, EventAction::Create, name, name, &labels);
        state.volumes.push(EngineVolume::local(name, labels));
    }

    /// A container wharf did not create (another tool's, or a compose container made by
    /// hand); returns its ID. Its image need not exist.
    pub fn add_container(
        &self,
        name: &str,
        image: &str,
        labels: &[(&str, &str)],
        state: ContainerState,
    ) -> String {
        let mut s = self.lock();
        let id = s.next("c");
        let created = s.tick();
        let image_id = s
            .images
            .get(&normalize(image))
            .cloned()
            .unwrap_or_else(|| format!("sha256:unknown-{image}"));
        s.containers.push(MemoryContainer {
            engine: EngineContainer {
                id: id.clone(),
                name: name.to_string(),
                image: image.to_string(),
                image_id,
                state,
                health: None,
                exit_code: (state == ContainerState::Exited).then_some(0),
                created,
                labels: strings(labels),
                ports: Vec::new(),
                addresses: HashMap::new(),
                volumes: Vec::new(),
                addresses_v6: HashMap::new(),
                listing: Default::default(),
            },
            spec: None,
            anonymous: Vec::new(),
            named: Vec::new(),
            logs: Vec::new(),
        });
        let last = s.containers.len() - 1;
        s.emit_container(last, EventAction::Create);
        id
    }

    /// Sets a container's state as if it had happened outside wharf (a crash, `docker stop`),
    /// with the event the engine would send: `start`, `pause`, `unpause`, or `die` with the
    /// exit code when a running container ends.
    pub fn set_state(&self, id_or_name: &str, state: ContainerState, exit_code: Option<i64>) {
        let mut s = self.lock();
        let i = s.find(id_or_name).expect("set_state: no such container");
        s.change_state(i, state, exit_code);
    }

    /// Sets a container's health; a change to healthy or unhealthy is a `health_status` event.
    pub fn set_health(&self, id_or_name: &str, health: Option<Health>) {
        let mut s = self.lock();
        let i = s.find(id_or_name).expect("set_health: no such container");
        s.change_health(i, health);
    }

    /// Containers named `key`, or created with `key` (`KEY=VALUE`) in their environment, do
    /// `behaviour` as soon as they start: a new config that crashes or turns unhealthy.
    pub fn after_start(&self, key: &str, behaviour: AfterStart) {
        self.lock().after_start.push((key.to_string(), behaviour));
    }

    /// Execs of `command` end with `code`, as that command would in the container (every other
    /// exec ends with 0).
    pub fn exec_exits(&self, command: &[&str], code: i64) {
        let command = command.iter().map(|part| part.to_string()).collect();
        self.lock().exec_exits.insert(command, code);
    }

    /// Sends an event to the current `events` streams (those of its project label), as it is.
    pub fn inject_event(&self, event: EngineEvent) {
        if let Some(sender) = &self.lock().events {
            let _ = sender.send(event);
        }
    }

    /// Ends every current `events` stream (after the events already sent), as a lost engine
    /// connection would; later subscriptions work again.
    pub fn drop_event_streams(&self) {
        self.lock().events = None;
    }

    /// Sets a label on a container (to simulate what another tool or version wrote).
    pub fn set_label(&self, id_or_name: &str, key: &str, value: &str) {
        let mut s = self.lock();
        let i = s.find(id_or_name).expect("set_label: no such container");
        s.containers[i]
            .engine
            .labels
            .insert(key.to_string(), value.to_string());
    }

    pub fn add_log(&self, id_or_name: &str, line: LogLine) {
        let mut s = self.lock();
        let i = s.find(id_or_name).expect("add_log: no such container");
        s.containers[i].logs.push(line);
    }

    /// Makes the next call of `method` (`start_container`, `create_network`, …) on `target`
    /// (the name or ID it is given) fail with `message`.
    pub fn fail(&self, method: &str, target: &str, message: &str) {
        self.lock().failures.insert(
            (method.to_string(), target.to_string()),
            message.to_string(),
        );
    }

    /// Network creates take `time` from now on, before they change anything.
    pub fn slow_network_creates(&self, time: std::time::Duration) {
        self.lock().network_create_time = time;
    }

    /// Every mutating call so far, as `method target`.
    pub fn calls(&self) -> Vec<String> {
        self.lock().calls.clone()
    }

    /// Forgets the recorded calls.
    pub fn clear_calls(&self) {
        self.lock().calls.clear();
    }

    /// The spec a container was created with (`None` for seeded containers).
    pub fn spec(&self, id_or_name: &str) -> Option<ContainerSpec> {
        let s = self.lock();
        let i = s.find(id_or_name).ok()?;
        s.containers[i].spec.clone()
    }

    /// Every container, by creation.
    pub fn all_containers(&self) -> Vec<EngineContainer> {
        self.lock()
            .containers
            .iter()
            .map(|c| c.engine.clone())
            .collect()
    }

    pub fn network_names(&self) -> Vec<String> {
        self.lock()
            .networks
            .iter()
            .map(|n| n.name.clone())
            .collect()
    }

    pub fn volume_names(&self) -> Vec<String> {
        self.lock().volumes.iter().map(|v| v.name.clone()).collect()
    }
}

fn strings(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn labels_of(labels: &IndexMap<String, String>) -> HashMap<String, String> {
    labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

#[async_trait]
impl ContainerEngine for MemoryEngine {
    /// By name, as the real engine lists them.
    async fn containers(&self, project: &str) -> Result<Vec<EngineContainer>> {
        let mut listed: Vec<EngineContainer> = self
            .lock()
            .containers
            .iter()
            .filter(|c| {
                c.engine
                    .labels
                    .get(crate::engine::labels::PROJECT)
                    .map(String::as_str)
                    == Some(project)
            })
            .map(|c| c.engine.clone())
            .collect();
        listed.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(listed)
    }

    async fn container(&self, id_or_name: &str) -> Result<EngineContainer> {
        let s = self.lock();
        let i = s.find(id_or_name)?;
        Ok(s.containers[i].engine.clone())
    }

    async fn networks(&self) -> Result<Vec<EngineNetwork>> {
        Ok(self.lock().networks.clone())
    }

    async fn volumes(&self) -> Result<Vec<EngineVolume>> {
        Ok(self.lock().volumes.clone())
    }

    async fn image_id(&self, reference: &str) -> Result<Option<String>> {
        Ok(self.lock().images.get(&normalize(reference)).cloned())
    }

    async fn create_network(&self, network: &DesiredNetwork) -> Result<()> {
        let time = self.lock().network_create_time;
        if !time.is_zero() {
            tokio::time::sleep(time).await;
        }
        let mut s = self.lock();
        s.call("create_network", &network.name)?;
        if s.networks.iter().any(|n| n.name == network.name) {
            return Err(EngineError::Conflict(format!("network {}", network.name)));
        }
        let id = s.next("n");
        let labels = labels_of(&labels::network_labels(network));
        s.emit(
            EventKind::Network,
            EventAction::Create,
            &id,
            &network.name,
            &labels,
        );
        let pools = address_pools(network, s.networks.len());
        let settings = network_settings(network, &pools);
        s.networks.push(EngineNetwork {
            id,
            name: network.name.clone(),
            labels,
            pools,
            settings,
        });
        Ok(())
    }

    async fn remove_network(&self, name: &str) -> Result<()> {
        let mut s = self.lock();
        s.call("remove_network", name)?;
        let i = s
            .networks
            .iter()
            .position(|n| n.name == name || n.id == name)
            .ok_or_else(|| EngineError::NotFound(format!("network {name}")))?;
        let network = s.networks[i].name.clone();
        if s.containers.iter().any(|c| {
            c.engine.state == ContainerState::Running && c.engine.addresses.contains_key(&network)
        }) {
            return Err(EngineError::Engine {
                message: format!(
                    "error while removing network: network {network} has active endpoints"
                ),
            });
        }
        let removed = s.networks.remove(i);
        s.emit(
            EventKind::Network,
            EventAction::Destroy,
            &removed.id,
            &removed.name,
            &removed.labels,
        );
        Ok(())
    }

    async fn create_volume(&self, volume: &DesiredVolume) -> Result<()> {
        let mut s = self.lock();
        s.call("create_volume", &volume.name)?;
        if s.volumes.iter().any(|v| v.name == volume.name) {
            return Err(EngineError::Conflict(format!("volume {}", volume.name)));
        }
        let labels = labels_of(&labels::volume_labels(volume));
        s.emit(
            EventKind::Volume,
            EventAction::Create,
            &volume.name,
            &volume.name,
            &labels,
        );
        s.volumes.push(EngineVolume {
            driver: volume.driver.clone().unwrap_or_else(|| "local".into()),
            driver_opts: labels_of(&volume.driver_opts),
            ..EngineVolume::local(&volume.name, labels)
        });
        Ok(())
    }

    async fn remove_volume(&self, name: &str) -> Result<()> {
        let mut s = self.lock();
        s.call("remove_volume", name)?;
        let i = s
            .volumes
            .iter()
            .position(|v| v.name == name)
            .ok_or_else(|| EngineError::NotFound(format!("volume {name}")))?;
        if s.volume_in_use(name) {
            return Err(EngineError::Engine {
                message: format!("remove {name}: volume is in use"),
            });
        }
        let removed = s.volumes.remove(i);
        s.emit(
            EventKind::Volume,
            EventAction::Destroy,
            &removed.name,
            &removed.name,
            &removed.labels,
        );
        Ok(())
    }

    async fn pull_image(&self, reference: &str, _platform: Option<&str>) -> Result<()> {
        let mut s = self.lock();
        s.call("pull_image", reference)?;
        let key = normalize(reference);
        match s.remote.get(&key).cloned() {
            Some(id) => {
                s.images.insert(key, id);
                Ok(())
            }
            None => Err(EngineError::Engine {
                message: format!(
                    "pull access denied for {reference}, repository does not exist or may require 'docker login'"
                ),
            }),
        }
    }

    async fn build_image(&self, request: &BuildRequest) -> Result<String> {
        let mut s = self.lock();
        s.call("build_image", &request.tag)?;
        // The same inputs give the same image, as the build cache would.
        let mut args: Vec<_> = request.args.iter().collect();
        args.sort();
        let inputs = format!(
            "{}|{}|{:?}|{:?}|{:?}",
            request.context.display(),
            request.dockerfile,
            request.dockerfile_inline,
            args,
            request.target
        );
        let id = format!("sha256:b{:016x}", fnv(inputs.as_bytes()));
        for tag in std::iter::once(&request.tag).chain(&request.extra_tags) {
            s.images.insert(normalize(tag), id.clone());
        }
        Ok(id)
    }

    async fn create_container(&self, name: &str, spec: &ContainerSpec) -> Result<String> {
        let mut s = self.lock();
        s.call("create_container", name)?;
        s.name_in_use(name)?;
        let image_id = s
            .images
            .get(&normalize(&spec.image))
            .cloned()
            .ok_or_else(|| EngineError::NotFound(format!("image {}", spec.image)))?;
        for attachment in &spec.networks {
            if !s.networks.iter().any(|n| n.name == attachment.network) {
                return Err(EngineError::NotFound(format!(
                    "network {}",
                    attachment.network
                )));
            }
        }
        let mut named = Vec::new();
        let mut anonymous = Vec::new();
        let mut volumes = Vec::new();
        for mount in spec.mounts.iter().filter(|m| m.kind == MountKind::Volume) {
            match &mount.source {
                Some(volume) => {
                    // The engine creates a missing named volume, without labels; an existing one
                    // is a `create` event all the same.
                    match s.volumes.iter().find(|v| &v.name == volume) {
                        Some(existing) => {
                            let labels = existing.labels.clone();
                            s.emit(
                                EventKind::Volume,
                                EventAction::Create,
                                volume,
                                volume,
                                &labels,
                            );
                        }
                        None => {
                            let labels = HashMap::new();
                            s.emit(
                                EventKind::Volume,
                                EventAction::Create,
                                volume,
                                volume,
                                &labels,
                            );
                            s.volumes.push(EngineVolume::local(volume, labels));
                        }
                    }
                    named.push(volume.clone());
                    // An anonymous volume passed on by name stays one by its name, as the
                    // engine's generated names do.
                    volumes.push(MountedVolume {
                        name: volume.clone(),
                        target: mount.target.clone(),
                        anonymous: volume.starts_with(ANONYMOUS_PREFIX),
                    });
                }
                None => {
                    let volume = s.next(ANONYMOUS_PREFIX);
                    s.emit(
                        EventKind::Volume,
                        EventAction::Create,
                        &volume,
                        &volume,
                        &HashMap::new(),
                    );
                    s.volumes.push(EngineVolume::local(&volume, HashMap::new()));
                    volumes.push(MountedVolume {
                        name: volume.clone(),
                        target: mount.target.clone(),
                        anonymous: true,
                    });
                    anonymous.push(volume);
                }
            }
        }
        let id = s.next("c");
        let created = s.tick();
        s.containers.push(MemoryContainer {
            engine: EngineContainer {
                id: id.clone(),
                name: name.to_string(),
                image: spec.image.clone(),
                image_id,
                state: ContainerState::Created,
                health: None,
                exit_code: None,
                created,
                labels: labels_of(&labels::container_labels(spec)),
                ports: Vec::new(),
                addresses: HashMap::new(),
                volumes,
                addresses_v6: HashMap::new(),
                listing: Default::default(),
            },
            spec: Some(spec.clone()),
            anonymous,
            named,
            logs: Vec::new(),
        });
        let last = s.containers.len() - 1;
        s.emit_container(last, EventAction::Create);
        Ok(id)
    }

    async fn start_container(&self, id: &str) -> Result<()> {
        let mut s = self.lock();
        s.call("start_container", id)?;
        let i = s.find(id)?;
        if s.containers[i].engine.state == ContainerState::Running {
            return Ok(());
        }
        let counter = {
            let c = s.counters.entry("address").or_default();
            *c += 1;
            *c
        };
        let container = &mut s.containers[i];
        container.engine.state = ContainerState::Running;
        container.engine.exit_code = None;
        let healthcheck = container
            .spec
            .as_ref()
            .and_then(|spec| spec.healthcheck.as_ref());
        container.engine.health = healthcheck
            .filter(|h| h.test.first().map(String::as_str) != Some("NONE"))
            .map(|_| Health::Starting);
        let networks: Vec<String> = container
            .spec
            .iter()
            .flat_map(|spec| spec.networks.iter().map(|n| n.network.clone()))
            .collect();
        container.engine.addresses = networks
            .into_iter()
            .enumerate()
            .map(|(k, network)| {
                (
                    network,
                    format!("10.{k}.{}.{}", counter / 250, counter % 250 + 2),
                )
            })
            .collect();
        s.emit_attachments(i, Attachments::Taken);
        s.emit_container(i, EventAction::Start);
        s.behave_after_start(i);
        Ok(())
    }

    async fn stop_container(&self, id: &str, _timeout: Option<Duration>) -> Result<()> {
        let mut s = self.lock();
        s.call("stop_container", id)?;
        let i = s.find(id)?;
        let state = s.containers[i].engine.state;
        if matches!(state, ContainerState::Running | ContainerState::Paused) {
            s.end(i, 15, 0);
            s.emit_container(i, EventAction::Stop);
        }
        Ok(())
    }

    async fn kill_container(&self, id: &str, signal: &str) -> Result<()> {
        let mut s = self.lock();
        s.call("kill_container", id)?;
        let i = s.find(id)?;
        let engine = &s.containers[i].engine;
        if engine.state != ContainerState::Running {
            return Err(EngineError::Engine {
                message: format!("container {} is not running", engine.name),
            });
        }
        let number = signal_number(signal).unwrap_or(15);
        s.end(i, number, 128 + i64::from(number));
        Ok(())
    }

    /// Forced, as `DockerEngine` asks: a running container is killed first.
    async fn remove_container(&self, id: &str, volumes: bool) -> Result<()> {
        let mut s = self.lock();
        s.call("remove_container", id)?;
        let i = s.find(id)?;
        if s.containers[i].still_running() {
            s.end(i, 9, 137);
        }
        let removed = s.containers.remove(i);
        let engine = &removed.engine;
        s.emit(
            EventKind::Container,
            EventAction::Destroy,
            &engine.id,
            &engine.name,
            &engine.labels,
        );
        if volumes {
            let anonymous: HashSet<String> = removed.anonymous.into_iter().collect();
            for volume in s.volumes.clone() {
                if anonymous.contains(&volume.name) {
                    let name = &volume.name;
                    s.emit(
                        EventKind::Volume,
                        EventAction::Destroy,
                        name,
                        name,
                        &volume.labels,
                    );
                }
            }
            s.volumes.retain(|v| !anonymous.contains(&v.name));
        }
        Ok(())
    }

    async fn rename_container(&self, id: &str, name: &str) -> Result<()> {
        let mut s = self.lock();
        s.call("rename_container", &format!("{id} {name}"))?;
        let i = s.find(id)?;
        if s.containers[i].engine.name != name {
            s.name_in_use(name)?;
        }
        let old_name = std::mem::replace(&mut s.containers[i].engine.name, name.to_string());
        s.emit_container(
            i,
            EventAction::Rename {
                old_name: Some(old_name),
            },
        );
        Ok(())
    }

    async fn logs(
        &self,
        id: &str,
        options: &LogOptions,
    ) -> Result<BoxStream<'static, Result<LogLine>>> {
        let s = self.lock();
        let i = s.find(id)?;
        let lines = &s.containers[i].logs;
        let skip = match options.tail {
            Some(tail) => lines.len().saturating_sub(tail as usize),
            None => 0,
        };
        let lines: Vec<Result<LogLine>> = lines[skip..].iter().cloned().map(Ok).collect();
        Ok(stream::iter(lines).boxed())
    }

    /// The project's events from now on. A stream that falls [`EVENT_BUFFER`] events behind
    /// fails (one `Err`, then the end), as a lost connection would.
    async fn events(&self, project: &str) -> Result<BoxStream<'static, Result<EngineEvent>>> {
        let receiver = self
            .lock()
            .events
            .get_or_insert_with(|| broadcast::channel(EVENT_BUFFER).0)
            .subscribe();
        let project = project.to_string();
        let events = stream::unfold(Some(receiver), move |receiver| {
            let project = project.clone();
            async move {
                let mut receiver = receiver?;
                loop {
                    match receiver.recv().await {
                        Ok(event) if event.labels.get(labels::PROJECT) == Some(&project) => {
                            return Some((Ok(event), Some(receiver)));
                        }
                        Ok(_) => continue,
                        Err(broadcast::error::RecvError::Closed) => return None,
                        Err(broadcast::error::RecvError::Lagged(missed)) => {
                            let error = EngineError::Unreachable(format!(
                                "the event stream fell {missed} events behind"
                            ));
                            return Some((Err(error), None));
                        }
                    }
                }
            }
        });
        Ok(events.boxed())
    }

    /// Recorded with the archive's entry names: `upload_archive c0001 / [app/a.txt]`.
    async fn upload_archive(&self, id: &str, dir: &str, archive: Vec<u8>) -> Result<()> {
        let entries = archive_entries(&archive)?;
        let mut s = self.lock();
        s.call("upload_archive", id)?;
        let i = s.running(id)?;
        let call = format!(
            "upload_archive {} {dir} [{}]",
            s.containers[i].engine.id,
            entries.join(", ")
        );
        *s.calls.last_mut().expect("the call just recorded") = call;
        Ok(())
    }

    /// Recorded with the command: `exec c0001 rm -rf /app/a.txt`; exits as `exec_exits` says.
    async fn exec(&self, id: &str, request: &ExecRequest) -> Result<ExecOutput> {
        let mut s = self.lock();
        s.call("exec", id)?;
        let i = s.running(id)?;
        let call = format!(
            "exec {} {}",
            s.containers[i].engine.id,
            request.command.join(" ")
        );
        *s.calls.last_mut().expect("the call just recorded") = call;
        Ok(ExecOutput {
            exit_code: Some(s.exec_exit(request)),
            output: String::new(),
        })
    }

    async fn pause_container(&self, id: &str) -> Result<()> {
        let mut s = self.lock();
        s.call("pause_container", id)?;
        let i = s.running(id)?;
        s.change_state(i, ContainerState::Paused, None);
        Ok(())
    }

    async fn unpause_container(&self, id: &str) -> Result<()> {
        let mut s = self.lock();
        s.call("unpause_container", id)?;
        let i = s.find(id)?;
        if s.containers[i].engine.state != ContainerState::Paused {
            return Err(EngineError::Engine {
                message: format!("Container {} is not paused", s.containers[i].engine.id),
            });
        }
        s.change_state(i, ContainerState::Running, None);
        Ok(())
    }

    /// One process: the container's command.
    async fn top(&self, id: &str) -> Result<super::ProcessList> {
        let mut s = self.lock();
        s.call("top", id)?;
        let i = s.running(id)?;
        let command = s.containers[i]
            .spec
            .as_ref()
            .and_then(|spec| spec.command.clone())
            .unwrap_or_default();
        Ok(super::ProcessList {
            titles: vec!["PID".into(), "CMD".into()],
            processes: vec![vec!["1".into(), command.join(" ")]],
        })
    }

    async fn image_details(&self, reference: &str) -> Result<super::ImageDetails> {
        let s = self.lock();
        let (name, id) = s
            .images
            .iter()
            .find(|(name, id)| **name == normalize(reference) || *id == reference)
            .ok_or_else(|| EngineError::NotFound(format!("image {reference}")))?;
        Ok(super::ImageDetails {
            id: id.clone(),
            repo_tags: vec![name.clone()],
            platform: "linux/amd64".into(),
            ..super::ImageDetails::default()
        })
    }

    async fn compose_containers(&self, all: bool) -> Result<Vec<EngineContainer>> {
        let s = self.lock();
        Ok(s.containers
            .iter()
            .map(|c| &c.engine)
            .filter(|e| e.labels.contains_key(crate::engine::labels::PROJECT))
            .filter(|e| {
                all || matches!(
                    e.state,
                    ContainerState::Running | ContainerState::Paused | ContainerState::Restarting
                )
            })
            .cloned()
            .collect())
    }

    /// There is no registry: a present image pushes, a missing one is the engine's error.
    async fn push_image(&self, reference: &str) -> Result<()> {
        let mut s = self.lock();
        s.call("push_image", reference)?;
        match s.images.contains_key(&normalize(reference)) {
            true => Ok(()),
            false => Err(EngineError::Engine {
                message: format!("An image does not exist locally with the tag: {reference}"),
            }),
        }
    }

    /// Recorded as `start_exec c0001 CMD` (with ` (detached)`); the exec is `x<n>`, prints
    /// nothing, and has ended at once, as `exec_exits` says.
    async fn start_exec(
        &self,
        id: &str,
        request: &ExecRequest,
        _streams: Streams,
        detach: bool,
    ) -> Result<StartedExec> {
        let mut s = self.lock();
        s.call("start_exec", id)?;
        let i = s.running(id)?;
        let call = format!(
            "start_exec {} {}{}",
            s.containers[i].engine.id,
            request.command.join(" "),
            if detach { " (detached)" } else { "" }
        );
        *s.calls.last_mut().expect("the call just recorded") = call;
        let exec_id = s.next("x");
        let code = s.exec_exit(request);
        s.execs.insert(exec_id.clone(), code);
        Ok(StartedExec {
            id: exec_id,
            attachment: (!detach).then(silent),
        })
    }

    async fn exec_exit_code(&self, exec_id: &str) -> Result<Option<i64>> {
        let mut s = self.lock();
        s.call("exec_exit_code", exec_id)?;
        match s.execs.get(exec_id) {
            Some(code) => Ok(Some(*code)),
            None => Err(EngineError::NotFound(format!("exec {exec_id}"))),
        }
    }

    async fn resize_exec(&self, exec_id: &str, _size: (u16, u16)) -> Result<()> {
        self.lock().call("resize_exec", exec_id)
    }

    /// The output of an in-memory container is empty.
    async fn attach_container(
        &self,
        id: &str,
        _stdin: bool,
        _detach_keys: Option<&str>,
    ) -> Result<Attachment> {
        let mut s = self.lock();
        s.call("attach_container", id)?;
        s.find(id)?;
        Ok(silent())
    }

    async fn resize_container(&self, id: &str, _size: (u16, u16)) -> Result<()> {
        let mut s = self.lock();
        s.call("resize_container", id)?;
        s.find(id).map(|_| ())
    }

    /// At once for a container that does not run; else at its `die` (a stop, a kill, a forced
    /// removal, `set_state`), through the event channel.
    async fn wait_container(&self, id: &str) -> Result<i64> {
        self.lock().call("wait_container", id)?;
        loop {
            let (container, mut receiver) = {
                let mut s = self.lock();
                let i = s.find(id)?;
                let container = &s.containers[i];
                if !container.still_running() {
                    return Ok(container.engine.exit_code.unwrap_or(0));
                }
                let container = container.engine.id.clone();
                let sender = s
                    .events
                    .get_or_insert_with(|| broadcast::channel(EVENT_BUFFER).0);
                (container, sender.subscribe())
            };
            // Until its `die`; when the channel is dropped or falls behind, look again.
            while let Ok(event) = receiver.recv().await {
                if let (EventAction::Die { exit_code }, true) =
                    (&event.action, event.id == container)
                {
                    return Ok(exit_code.unwrap_or(0));
                }
            }
        }
    }

    async fn delete_image(&self, reference: &str) -> Result<()> {
        let mut s = self.lock();
        s.call("delete_image", reference)?;
        s.images
            .shift_remove(&normalize(reference))
            .map(drop)
            .ok_or_else(|| EngineError::NotFound(format!("image {reference}")))
    }

    /// The in-memory engine keeps no files: every path is missing.
    async fn download_archive(&self, id: &str, path: &str) -> Result<Vec<u8>> {
        let mut s = self.lock();
        s.call("download_archive", id)?;
        s.find(id)?;
        Err(EngineError::NotFound(format!("{path} in container {id}")))
    }

    async fn path_is_dir(&self, id: &str, _path: &str) -> Result<Option<bool>> {
        let mut s = self.lock();
        s.call("path_is_dir", id)?;
        s.find(id)?;
        Ok(None)
    }

    /// The image is `sha256:commit<n>`, tagged as the request says.
    async fn commit_container(&self, id: &str, request: &super::CommitRequest) -> Result<String> {
        let mut s = self.lock();
        s.call("commit_container", id)?;
        s.find(id)?;
        let image = format!("sha256:commit{}", s.images.len() + 1);
        let reference = request.reference.clone().unwrap_or_else(|| image.clone());
        s.images.insert(normalize(&reference), image.clone());
        Ok(image)
    }

    /// The in-memory engine keeps no files: the archive is an empty tar (its two zero blocks).
    async fn export_container(&self, id: &str) -> Result<BoxStream<'static, Result<Vec<u8>>>> {
        let mut s = self.lock();
        s.call("export_container", id)?;
        s.find(id)?;
        Ok(futures_util::stream::iter([Ok(vec![0u8; 1024])]).boxed())
    }

    async fn copy_archive(
        &self,
        id: &str,
        dir: &str,
        archive: Vec<u8>,
        _keep_owners: bool,
    ) -> Result<()> {
        self.upload_archive(id, dir, archive).await
    }

    /// Nothing runs: every figure is zero.
    async fn stats(&self, id: &str) -> Result<super::ContainerStats> {
        let mut s = self.lock();
        s.call("stats", id)?;
        s.running(id)?;
        Ok(super::ContainerStats::default())
    }
}

/// The streams of a process that reads nothing and prints nothing.
fn silent() -> Attachment {
    Attachment {
        input: Box::pin(tokio::io::sink()),
        output: stream::empty().boxed(),
        tty: false,
    }
}

/// The names of a tar archive's entries, in order.
fn archive_entries(archive: &[u8]) -> Result<Vec<String>> {
    let invalid = |e: std::io::Error| EngineError::Engine {
        message: format!("invalid tar archive: {e}"),
    };
    let mut reader = tar::Archive::new(archive);
    let mut names = Vec::new();
    for entry in reader.entries().map_err(invalid)? {
        let entry = entry.map_err(invalid)?;
        names.push(
            entry
                .path()
                .map_err(invalid)?
                .to_string_lossy()
                .into_owned(),
        );
    }
    Ok(names)
}

/// FNV-1a: a stable hash without a dependency.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, b| {
        (hash ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// What the engine lists for a network created from `network` with `pools`: its defaults
/// (`bridge`, IPAM `default`) where the file sets nothing.
fn network_settings(network: &DesiredNetwork, pools: &[AddressPool]) -> NetworkSettings {
    let ipam = network.ipam.clone().unwrap_or_default();
    NetworkSettings {
        driver: network.driver.clone().unwrap_or_else(|| "bridge".into()),
        driver_opts: labels_of(&network.driver_opts),
        internal: network.internal,
        attachable: network.attachable,
        enable_ipv6: network.enable_ipv6,
        ipam: crate::spec::model::Ipam {
            driver: ipam.driver.or_else(|| Some("default".into())),
            config: if ipam.config.is_empty() {
                pools
                    .iter()
                    .map(|pool| crate::spec::model::IpamPool {
                        subnet: Some(pool.subnet.to_string()),
                        gateway: pool.gateway.map(|g| g.to_string()),
                        ..Default::default()
                    })
                    .collect()
            } else {
                ipam.config
            },
            options: ipam.options,
        },
    }
}

/// The pools a network gets: the ones its IPAM names, else `10.<index>.0.0/24` with the
/// gateway `.1`, as the engine hands out a fresh pool per network.
fn address_pools(network: &DesiredNetwork, index: usize) -> Vec<AddressPool> {
    let declared: Vec<AddressPool> = network
        .ipam
        .iter()
        .flat_map(|ipam| &ipam.config)
        .filter_map(|pool| {
            let subnet: ipnet::IpNet = pool.subnet.as_deref()?.parse().ok()?;
            let gateway = match pool.gateway.as_deref() {
                Some(gateway) => gateway.parse().ok(),
                None => subnet.hosts().next(),
            };
            Some(AddressPool { subnet, gateway })
        })
        .collect();
    if !declared.is_empty() {
        return declared;
    }
    let octet = (index % 250) as u8;
    vec![AddressPool {
        subnet: ipnet::IpNet::V4(
            ipnet::Ipv4Net::new(std::net::Ipv4Addr::new(10, octet, 0, 0), 24)
                .expect("a /24 is a valid prefix"),
        ),
        gateway: Some(std::net::Ipv4Addr::new(10, octet, 0, 1).into()),
    }]
}

#[cfg(test)]
mod tests {
    use futures_util::FutureExt;

    use super::*;

    fn spec(image: &str) -> ContainerSpec {
        ContainerSpec {
            image: image.to_string(),
            ..ContainerSpec::default()
        }
    }

    #[tokio::test]
    async fn create_start_stop_remove() {
        let rt = MemoryEngine::new();
        let image = rt.add_image("busybox");
        let id = rt
            .create_container("p-web-1", &spec("busybox"))
            .await
            .unwrap();
        assert_eq!(id, "c0001");
        let c = rt.container("p-web-1").await.unwrap();
        assert_eq!(c.image_id, image);
        assert_eq!(c.state, ContainerState::Created);
        let err = rt
            .create_container("p-web-1", &spec("busybox"))
            .await
            .unwrap_err();
        assert!(matches!(err, EngineError::Conflict(_)), "{err}");
        rt.start_container(&id).await.unwrap();
        assert_eq!(
            rt.container(&id).await.unwrap().state,
            ContainerState::Running
        );
        rt.stop_container(&id, None).await.unwrap();
        rt.remove_container(&id, false).await.unwrap();
        assert!(rt.container(&id).await.is_err());
        assert_eq!(
            rt.calls(),
            [
                "create_container p-web-1",
                "create_container p-web-1",
                "start_container c0001",
                "stop_container c0001",
                "remove_container c0001",
            ]
        );
    }

    #[tokio::test]
    async fn missing_image_network_and_pull() {
        let rt = MemoryEngine::new();
        assert!(rt.create_container("x", &spec("nope")).await.is_err());
        assert!(rt.pull_image("nope", None).await.is_err());
        rt.add_remote_image("redis:7");
        rt.pull_image("redis:7", None).await.unwrap();
        assert!(rt.image_id("redis:7").await.unwrap().is_some());
        let mut with_network = spec("redis:7");
        with_network
            .networks
            .push(crate::desired::NetworkAttachment {
                network: "p_default".into(),
                aliases: vec![],
                ipv4_address: None,
                ipv6_address: None,
                endpoint: Default::default(),
            });
        assert!(rt.create_container("x", &with_network).await.is_err());
    }

    #[tokio::test]
    async fn rename_conflicts_and_failures_are_injected() {
        let rt = MemoryEngine::new();
        rt.add_image("busybox:latest");
        let a = rt.create_container("a", &spec("busybox")).await.unwrap();
        rt.create_container("b", &spec("busybox")).await.unwrap();
        assert!(rt.rename_container(&a, "b").await.is_err());
        rt.rename_container(&a, "c").await.unwrap();
        assert_eq!(rt.container(&a).await.unwrap().name, "c");
        rt.fail("start_container", &a, "boom");
        assert_eq!(
            rt.start_container(&a).await.unwrap_err().to_string(),
            "boom"
        );
        rt.start_container(&a).await.unwrap();
    }

    fn labelled(image: &str, project: &str, service: &str) -> ContainerSpec {
        let mut spec = spec(image);
        spec.labels
            .insert(labels::PROJECT.to_string(), project.to_string());
        spec.labels
            .insert(labels::SERVICE.to_string(), service.to_string());
        spec
    }

    /// The events a stream has now, as `action name` lines (it must not have ended).
    fn pending(stream: &mut BoxStream<'static, Result<EngineEvent>>) -> Vec<String> {
        let mut out = Vec::new();
        while let Some(item) = stream.next().now_or_never() {
            let event = item.expect("the stream ended").expect("an event");
            out.push(format!("{:?} {}", event.action, event.name));
        }
        out
    }

    #[tokio::test]
    async fn state_changes_are_events_of_their_project() {
        let rt = MemoryEngine::new();
        rt.add_image("busybox");
        let before = rt
            .create_container("p-early-1", &labelled("busybox", "p", "early"))
            .await
            .unwrap();
        let mut events = rt.events("p").await.unwrap();
        let mut other = rt.events("q").await.unwrap();
        rt.start_container(&before).await.unwrap();
        let id = rt
            .create_container("p-web-1", &labelled("busybox", "p", "web"))
            .await
            .unwrap();
        rt.create_container("q-web-1", &labelled("busybox", "q", "web"))
            .await
            .unwrap();
        rt.start_container(&id).await.unwrap();
        rt.set_health(&id, Some(Health::Starting));
        rt.set_health(&id, Some(Health::Unhealthy));
        rt.set_health(&id, Some(Health::Unhealthy));
        rt.kill_container(&id, "SIGKILL").await.unwrap();
        rt.start_container(&id).await.unwrap();
        rt.stop_container(&id, None).await.unwrap();
        rt.set_state(&before, ContainerState::Exited, Some(3));
        rt.rename_container(&id, "p-web-old").await.unwrap();
        rt.remove_container(&id, true).await.unwrap();
        assert_eq!(
            pending(&mut events),
            [
                "Start p-early-1",
                "Create p-web-1",
                "Start p-web-1",
                "HealthStatus(Unhealthy) p-web-1",
                "Kill { signal: Some(9) } p-web-1",
                "Die { exit_code: Some(137) } p-web-1",
                "Start p-web-1",
                "Kill { signal: Some(15) } p-web-1",
                "Die { exit_code: Some(0) } p-web-1",
                "Stop p-web-1",
                "Die { exit_code: Some(3) } p-early-1",
                "Rename { old_name: Some(\"p-web-1\") } p-web-old",
                "Destroy p-web-old",
            ]
        );
        assert_eq!(pending(&mut other), ["Create q-web-1"]);
    }

    #[tokio::test]
    async fn events_carry_labels_kind_and_growing_times() {
        let rt = MemoryEngine::new();
        rt.add_image("busybox");
        let mut events = rt.events("p").await.unwrap();
        let mut spec = labelled("busybox", "p", "web");
        spec.labels
            .insert(labels::NUMBER.to_string(), "2".to_string());
        let id = rt.create_container("p-web-2", &spec).await.unwrap();
        rt.add_network("p_default", &[(labels::PROJECT, "p")]);
        rt.add_volume("p_data", &[(labels::PROJECT, "p")]);
        rt.add_volume("elsewhere", &[]);
        let all: Vec<EngineEvent> = (0..3)
            .map(|_| events.next().now_or_never().unwrap().unwrap().unwrap())
            .collect();
        assert_eq!(all[0].kind, EventKind::Container);
        assert_eq!(all[0].id, id);
        assert_eq!(all[0].service(), Some("web"));
        assert_eq!(all[0].number(), Some(2));
        assert_eq!(
            (all[1].kind, &all[1].action, all[1].name.as_str()),
            (EventKind::Network, &EventAction::Create, "p_default")
        );
        assert_eq!(
            (all[2].kind, &all[2].action, all[2].name.as_str()),
            (EventKind::Volume, &EventAction::Create, "p_data")
        );
        assert!(all.windows(2).all(|w| w[0].time_nanos < w[1].time_nanos));
        assert!(events.next().now_or_never().is_none());
    }

    #[tokio::test]
    async fn injected_events_and_dropped_streams() {
        let rt = MemoryEngine::new();
        rt.add_image("busybox");
        let mut events = rt.events("p").await.unwrap();
        let injected = EngineEvent {
            kind: EventKind::Container,
            action: EventAction::Oom,
            id: "c0042".into(),
            name: "p-web-1".into(),
            labels: strings(&[(labels::PROJECT, "p")]),
            time_nanos: 7,
        };
        rt.inject_event(injected.clone());
        rt.create_container("p-web-1", &labelled("busybox", "p", "web"))
            .await
            .unwrap();
        rt.drop_event_streams();
        // What was sent before the drop arrives, then the stream ends.
        assert_eq!(events.next().await.unwrap().unwrap(), injected);
        assert_eq!(
            events.next().await.unwrap().unwrap().action,
            EventAction::Create
        );
        assert!(events.next().await.is_none());
        // A new subscription works.
        let mut again = rt.events("p").await.unwrap();
        rt.start_container("p-web-1").await.unwrap();
        assert_eq!(pending(&mut again), ["Start p-web-1"]);
    }

    #[tokio::test]
    async fn a_stream_that_falls_behind_fails_then_ends() {
        let rt = MemoryEngine::new();
        let mut events = rt.events("p").await.unwrap();
        for n in 0..EVENT_BUFFER + 1 {
            rt.add_volume(&format!("p_v{n}"), &[(labels::PROJECT, "p")]);
        }
        assert!(matches!(
            events.next().await,
            Some(Err(EngineError::Unreachable(_)))
        ));
        assert!(events.next().await.is_none());
    }

    #[tokio::test]
    async fn anonymous_volumes_go_with_the_container_only_when_asked() {
        let rt = MemoryEngine::new();
        rt.add_image("busybox");
        let mut s = spec("busybox");
        s.mounts.push(crate::desired::Mount {
            kind: MountKind::Volume,
            source: None,
            target: "/data".into(),
            read_only: false,
            create_host_path: false,
            nocopy: false,
            tmpfs_size: None,
            options: Default::default(),
        });
        let a = rt.create_container("a", &s).await.unwrap();
        let b = rt.create_container("b", &s).await.unwrap();
        assert_eq!(rt.volume_names().len(), 2);
        rt.remove_container(&a, false).await.unwrap();
        assert_eq!(rt.volume_names().len(), 2);
        rt.remove_container(&b, true).await.unwrap();
        assert_eq!(rt.volume_names().len(), 1);
    }
}
