//! An in-memory engine for the reconciler's and the executor's unit tests.
//!
//! It keeps what `Runtime` can see (containers with labels, state and image, networks,
//! volumes, images) behind a mutex and fails where the engine fails: a name already in use, a
//! missing image or network, removing a running container or a volume in use, pulling (there
//! is no registry unless `add_remote_image` says otherwise). Ids are deterministic (`c0001`,
//! `n0001`, `sha256:i0001`) and so are creation times, so tests can compare exact output.
//! Every mutating call is recorded (`calls`), and any call can be made to fail (`fail`).

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use futures_util::StreamExt;
use futures_util::stream::{self, BoxStream};
use indexmap::IndexMap;

use super::{
    BuildRequest, ContainerState, EngineContainer, EngineNetwork, EngineVolume, Health, LogLine,
    LogOptions, Result, Runtime, RuntimeError,
};
use crate::desired::{ContainerSpec, DesiredNetwork, DesiredVolume, MountKind};

#[derive(Debug, Default)]
pub struct MemoryRuntime {
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
            Some(message) => Err(RuntimeError::Engine { message }),
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
            _ => Err(RuntimeError::NotFound(format!("container {id_or_name}"))),
        }
    }

    fn name_in_use(&self, name: &str) -> Result<()> {
        if self.containers.iter().any(|c| c.engine.name == name) {
            return Err(RuntimeError::Conflict(format!(
                "container name \"/{name}\""
            )));
        }
        Ok(())
    }

    fn volume_in_use(&self, name: &str) -> bool {
        self.containers
            .iter()
            .any(|c| c.named.iter().chain(&c.anonymous).any(|v| v == name))
    }
}

impl MemoryRuntime {
    pub fn new() -> MemoryRuntime {
        MemoryRuntime::default()
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
        state.networks.push(EngineNetwork {
            id,
            name: name.to_string(),
            labels: strings(labels),
        });
    }

    /// A volume wharf did not create.
    pub fn add_volume(&self, name: &str, labels: &[(&str, &str)]) {
        self.lock().volumes.push(EngineVolume {
            name: name.to_string(),
            labels: strings(labels),
        });
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
            },
            spec: None,
            anonymous: Vec::new(),
            named: Vec::new(),
            logs: Vec::new(),
        });
        id
    }

    /// Sets a container's state as if it had happened outside wharf (a crash, `docker stop`).
    pub fn set_state(&self, id_or_name: &str, state: ContainerState, exit_code: Option<i64>) {
        let mut s = self.lock();
        let i = s.find(id_or_name).expect("set_state: no such container");
        let engine = &mut s.containers[i].engine;
        engine.state = state;
        engine.exit_code = exit_code;
        if state != ContainerState::Running {
            engine.health = None;
            engine.addresses.clear();
        }
    }

    pub fn set_health(&self, id_or_name: &str, health: Option<Health>) {
        let mut s = self.lock();
        let i = s.find(id_or_name).expect("set_health: no such container");
        s.containers[i].engine.health = health;
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
impl Runtime for MemoryRuntime {
    async fn containers(&self, project: &str) -> Result<Vec<EngineContainer>> {
        Ok(self
            .lock()
            .containers
            .iter()
            .filter(|c| {
                c.engine
                    .labels
                    .get(crate::desired::labels::PROJECT)
                    .map(String::as_str)
                    == Some(project)
            })
            .map(|c| c.engine.clone())
            .collect())
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
        let mut s = self.lock();
        s.call("create_network", &network.name)?;
        if s.networks.iter().any(|n| n.name == network.name) {
            return Err(RuntimeError::Conflict(format!("network {}", network.name)));
        }
        let id = s.next("n");
        s.networks.push(EngineNetwork {
            id,
            name: network.name.clone(),
            labels: labels_of(&network.labels),
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
            .ok_or_else(|| RuntimeError::NotFound(format!("network {name}")))?;
        let network = s.networks[i].name.clone();
        if s.containers.iter().any(|c| {
            c.engine.state == ContainerState::Running && c.engine.addresses.contains_key(&network)
        }) {
            return Err(RuntimeError::Engine {
                message: format!(
                    "error while removing network: network {network} has active endpoints"
                ),
            });
        }
        s.networks.remove(i);
        Ok(())
    }

    async fn create_volume(&self, volume: &DesiredVolume) -> Result<()> {
        let mut s = self.lock();
        s.call("create_volume", &volume.name)?;
        // The engine returns the existing volume when the name is taken.
        if !s.volumes.iter().any(|v| v.name == volume.name) {
            s.volumes.push(EngineVolume {
                name: volume.name.clone(),
                labels: labels_of(&volume.labels),
            });
        }
        Ok(())
    }

    async fn remove_volume(&self, name: &str) -> Result<()> {
        let mut s = self.lock();
        s.call("remove_volume", name)?;
        let i = s
            .volumes
            .iter()
            .position(|v| v.name == name)
            .ok_or_else(|| RuntimeError::NotFound(format!("volume {name}")))?;
        if s.volume_in_use(name) {
            return Err(RuntimeError::Engine {
                message: format!("remove {name}: volume is in use"),
            });
        }
        s.volumes.remove(i);
        Ok(())
    }

    async fn pull_image(&self, reference: &str) -> Result<()> {
        let mut s = self.lock();
        s.call("pull_image", reference)?;
        let key = normalize(reference);
        match s.remote.get(&key).cloned() {
            Some(id) => {
                s.images.insert(key, id);
                Ok(())
            }
            None => Err(RuntimeError::Engine {
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
        s.images.insert(normalize(&request.tag), id.clone());
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
            .ok_or_else(|| RuntimeError::NotFound(format!("image {}", spec.image)))?;
        for attachment in &spec.networks {
            if !s.networks.iter().any(|n| n.name == attachment.network) {
                return Err(RuntimeError::NotFound(format!(
                    "network {}",
                    attachment.network
                )));
            }
        }
        let mut named = Vec::new();
        let mut anonymous = Vec::new();
        for mount in spec.mounts.iter().filter(|m| m.kind == MountKind::Volume) {
            match &mount.source {
                Some(volume) => {
                    // The engine creates a missing named volume, without labels.
                    if !s.volumes.iter().any(|v| &v.name == volume) {
                        s.volumes.push(EngineVolume {
                            name: volume.clone(),
                            labels: HashMap::new(),
                        });
                    }
                    named.push(volume.clone());
                }
                None => {
                    let volume = s.next("anonymous-v");
                    s.volumes.push(EngineVolume {
                        name: volume.clone(),
                        labels: HashMap::new(),
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
                labels: labels_of(&spec.labels),
                ports: Vec::new(),
                addresses: HashMap::new(),
            },
            spec: Some(spec.clone()),
            anonymous,
            named,
            logs: Vec::new(),
        });
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
        Ok(())
    }

    async fn stop_container(&self, id: &str, _timeout: Option<Duration>) -> Result<()> {
        let mut s = self.lock();
        s.call("stop_container", id)?;
        let i = s.find(id)?;
        let engine = &mut s.containers[i].engine;
        if engine.state == ContainerState::Running || engine.state == ContainerState::Paused {
            engine.state = ContainerState::Exited;
            engine.exit_code = Some(0);
            engine.health = None;
            engine.addresses.clear();
        }
        Ok(())
    }

    async fn kill_container(&self, id: &str, signal: &str) -> Result<()> {
        let mut s = self.lock();
        s.call("kill_container", id)?;
        let i = s.find(id)?;
        let engine = &mut s.containers[i].engine;
        if engine.state != ContainerState::Running {
            return Err(RuntimeError::Engine {
                message: format!("container {} is not running", engine.name),
            });
        }
        let number = match signal.trim_start_matches("SIG") {
            "HUP" => 1,
            "INT" => 2,
            "QUIT" => 3,
            "KILL" => 9,
            "USR1" => 10,
            "USR2" => 12,
            _ => 15,
        };
        engine.state = ContainerState::Exited;
        engine.exit_code = Some(128 + number);
        engine.health = None;
        engine.addresses.clear();
        Ok(())
    }

    async fn remove_container(&self, id: &str, volumes: bool) -> Result<()> {
        let mut s = self.lock();
        s.call("remove_container", id)?;
        let i = s.find(id)?;
        let engine = &s.containers[i].engine;
        if matches!(
            engine.state,
            ContainerState::Running | ContainerState::Paused | ContainerState::Restarting
        ) {
            return Err(RuntimeError::Conflict(format!(
                "You cannot remove a running container {}. Stop the container before attempting removal or force remove",
                engine.id
            )));
        }
        let removed = s.containers.remove(i);
        if volumes {
            let anonymous: HashSet<String> = removed.anonymous.into_iter().collect();
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
        s.containers[i].engine.name = name.to_string();
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
}

/// FNV-1a: a stable hash without a dependency.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, b| {
        (hash ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(image: &str) -> ContainerSpec {
        ContainerSpec {
            image: image.to_string(),
            ..ContainerSpec::default()
        }
    }

    #[tokio::test]
    async fn create_start_stop_remove() {
        let rt = MemoryRuntime::new();
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
        assert!(matches!(err, RuntimeError::Conflict(_)), "{err}");
        rt.start_container(&id).await.unwrap();
        assert_eq!(
            rt.container(&id).await.unwrap().state,
            ContainerState::Running
        );
        assert!(rt.remove_container(&id, false).await.is_err());
        rt.stop_container(&id, None).await.unwrap();
        rt.remove_container(&id, false).await.unwrap();
        assert!(rt.container(&id).await.is_err());
        assert_eq!(
            rt.calls(),
            [
                "create_container p-web-1",
                "create_container p-web-1",
                "start_container c0001",
                "remove_container c0001",
                "stop_container c0001",
                "remove_container c0001",
            ]
        );
    }

    #[tokio::test]
    async fn missing_image_network_and_pull() {
        let rt = MemoryRuntime::new();
        assert!(rt.create_container("x", &spec("nope")).await.is_err());
        assert!(rt.pull_image("nope").await.is_err());
        rt.add_remote_image("redis:7");
        rt.pull_image("redis:7").await.unwrap();
        assert!(rt.image_id("redis:7").await.unwrap().is_some());
        let mut with_network = spec("redis:7");
        with_network
            .networks
            .push(crate::desired::NetworkAttachment {
                network: "p_default".into(),
                aliases: vec![],
                ipv4_address: None,
                ipv6_address: None,
            });
        assert!(rt.create_container("x", &with_network).await.is_err());
    }

    #[tokio::test]
    async fn rename_conflicts_and_failures_are_injected() {
        let rt = MemoryRuntime::new();
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

    #[tokio::test]
    async fn anonymous_volumes_go_with_the_container_only_when_asked() {
        let rt = MemoryRuntime::new();
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
