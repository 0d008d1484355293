//! Connecting to the engine: as the `docker` CLI does, with the API version negotiated, and
//! the request timeouts.

use std::time::Duration;

use bollard::Docker;

use super::DockerEngine;
use super::errors::engine_error;
use crate::engine::registry_auth::RegistryAuth;
use crate::engine::{EngineError, Result};

/// How long a request may wait for the engine's answer (a `stop` gets its timeout on top).
pub(super) const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
/// Builds and pulls answer as they go, but the context upload comes first.
pub(super) const LONG_REQUEST_TIMEOUT: Duration = Duration::from_secs(3600);

impl DockerEngine {
    /// Connects as the `docker` CLI does (`DOCKER_HOST`, else the local socket) and negotiates
    /// the API version with the engine.
    pub async fn connect() -> Result<Self> {
        let docker =
            Docker::connect_with_defaults().map_err(|e| EngineError::Unreachable(e.to_string()))?;
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
            auth: RegistryAuth::from_environment(),
        })
    }

    /// The connected bollard client, for a backend whose unit is not a container (the swarm
    /// target's services and tasks).
    pub fn client(&self) -> &Docker {
        &self.docker
    }

    /// The docker CLI's registry credentials, which this engine sends with what needs them.
    pub fn registry_auth(&self) -> &RegistryAuth {
        &self.auth
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
}

#[cfg(test)]
mod tests {
    use super::*;

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
            api: (1, 41),
            auth: RegistryAuth::default(),
        };
        let runtime = runtime.with_request_timeout(Duration::from_secs(3));
        assert_eq!(runtime.docker.timeout(), Duration::from_secs(3));
        // bollard counts whole seconds: less than one would fail every request at once.
        let runtime = runtime.with_request_timeout(Duration::from_millis(10));
        assert_eq!(runtime.docker.timeout(), Duration::from_secs(1));
    }
}
