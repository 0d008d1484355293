//! The only door to the engine. `DockerRuntime` (bollard) is the real one; `MemoryRuntime`
//! stands in for it in the reconciler's unit tests. Every method is one engine call (or one
//! create-and-connect), so that the executor can order, parallelize and report them.

pub mod docker;
pub mod memory;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::stream::BoxStream;

use crate::desired::{ContainerSpec, DesiredNetwork, DesiredVolume};

/// An engine failure, with the engine's own message.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RuntimeError {
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0} already exists")]
    Conflict(String),
    #[error("{message}")]
    Engine { message: String },
    #[error("cannot reach the Docker Engine: {0}")]
    Unreachable(String),
}

pub type Result<T> = std::result::Result<T, RuntimeError>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ContainerState {
    Created,
    Running,
    Paused,
    Restarting,
    Removing,
    Exited,
    Dead,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    Starting,
    Healthy,
    Unhealthy,
}

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
}

#[derive(Debug, Clone, PartialEq)]
pub struct EngineNetwork {
    pub id: String,
    pub name: String,
    pub labels: HashMap<String, String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EngineVolume {
    pub name: String,
    pub labels: HashMap<String, String>,
}

/// A build through the engine's build API.
#[derive(Debug, Clone)]
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
}

/// One line of a container's output.
#[derive(Debug, Clone, PartialEq)]
pub struct LogLine {
    /// RFC 3339 timestamp, as the engine gives it.
    pub timestamp: String,
    pub stderr: bool,
    pub text: String,
}

#[derive(Debug, Clone, Default)]
pub struct LogOptions {
    pub follow: bool,
    /// `--tail N`; `None` is all.
    pub tail: Option<u64>,
}

#[async_trait]
pub trait Runtime: Send + Sync {
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
    async fn pull_image(&self, reference: &str) -> Result<()>;
    /// Builds and tags an image; returns its ID.
    async fn build_image(&self, request: &BuildRequest) -> Result<String>;

    /// Creates a container attached to its first network and connects it to the others.
    async fn create_container(&self, name: &str, spec: &ContainerSpec) -> Result<String>;
    async fn start_container(&self, id: &str) -> Result<()>;
    async fn stop_container(&self, id: &str, timeout: Option<Duration>) -> Result<()>;
    async fn kill_container(&self, id: &str, signal: &str) -> Result<()>;
    /// Removes a container, with its anonymous volumes when `volumes` is set.
    async fn remove_container(&self, id: &str, volumes: bool) -> Result<()>;
    async fn rename_container(&self, id: &str, name: &str) -> Result<()>;
    async fn logs(
        &self,
        id: &str,
        options: &LogOptions,
    ) -> Result<BoxStream<'static, Result<LogLine>>>;
}
