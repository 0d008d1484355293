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
        if let Some(socket) = local_socket() {
            return Self::over_unix_socket(&socket).await;
        }
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
        Ok(Self::connected(docker))
    }

    /// The engine behind a unix socket, its API version read from the `Api-Version` header of
    /// `/_ping`, as the docker CLI reads it: 0.25 ms where bollard's `/version` takes 5 ms on
    /// Docker 20.10, paid by every command. An answer without the header (an old engine, a
    /// proxy) is negotiated through `/version` instead.
    async fn over_unix_socket(path: &str) -> Result<Self> {
        let unreachable = |error: String| EngineError::Unreachable(format!("{path}: {error}"));
        let answer = tokio::time::timeout(REQUEST_TIMEOUT, ping(path))
            .await
            .map_err(|_| unreachable("no answer to /_ping".to_string()))?
            .map_err(|e| unreachable(e.to_string()))?;
        let default = bollard::API_DEFAULT_VERSION;
        let version = api_version(&answer)
            .map(|engine| engine.min((default.major_version, default.minor_version)));
        let timeout = REQUEST_TIMEOUT.as_secs();
        let Some((major_version, minor_version)) = version else {
            let docker = Docker::connect_with_unix(path, timeout, default)
                .map_err(|e| unreachable(e.to_string()))?;
            return Self::from_client(docker).await;
        };
        let version = bollard::ClientVersion {
            major_version,
            minor_version,
        };
        let docker = Docker::connect_with_unix(path, timeout, &version)
            .map_err(|e| unreachable(e.to_string()))?;
        Ok(Self::connected(docker))
    }

    fn connected(docker: Docker) -> Self {
        let version = docker.client_version();
        DockerEngine {
            docker,
            api: (version.major_version, version.minor_version),
            auth: RegistryAuth::from_environment(),
        }
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

/// The engine's unix socket when `DOCKER_HOST` names one or is unset (the default socket, as
/// bollard and the docker CLI take it); `None` for another transport (tcp, ssh).
fn local_socket() -> Option<String> {
    match std::env::var("DOCKER_HOST") {
        Ok(host) if !host.trim().is_empty() => host.strip_prefix("unix://").map(str::to_string),
        _ => Some(DEFAULT_SOCKET.to_string()),
    }
}

const DEFAULT_SOCKET: &str = "/var/run/docker.sock";

/// The head of the engine's answer to `GET /_ping` (HTTP/1.0: the engine closes after it).
async fn ping(path: &str) -> std::io::Result<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::UnixStream::connect(path).await?;
    stream
        .write_all(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
        .await?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await?;
    Ok(String::from_utf8_lossy(&answer).into_owned())
}

/// The `Api-Version` of a successful answer, `(1, 41)` from `Api-Version: 1.41`.
fn api_version(answer: &str) -> Option<(usize, usize)> {
    let mut lines = answer.lines();
    let status = lines.next()?;
    if status.split_whitespace().nth(1) != Some("200") {
        return None;
    }
    let value = lines.take_while(|line| !line.is_empty()).find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("api-version")
            .then_some(value)
    })?;
    let (major, minor) = value.trim().split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_api_version_is_read_from_a_pings_headers() {
        let docker = "HTTP/1.0 200 OK\r\nApi-Version: 1.41\r\nDocker-Experimental: false\r\n\r\nOK";
        assert_eq!(api_version(docker), Some((1, 41)));
        let lower = "HTTP/1.1 200 OK\r\napi-version:1.45\r\n\r\n";
        assert_eq!(api_version(lower), Some((1, 45)));
        assert_eq!(
            api_version("HTTP/1.0 200 OK\r\nServer: proxy\r\n\r\nOK"),
            None
        );
        assert_eq!(
            api_version("HTTP/1.0 500 Error\r\nApi-Version: 1.41\r\n\r\n"),
            None
        );
        let in_body = "HTTP/1.0 200 OK\r\n\r\nApi-Version: 1.41";
        assert_eq!(api_version(in_body), None);
    }

    #[tokio::test]
    async fn a_ping_answered_with_an_older_api_sets_the_clients_version() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("docker.sock");
        let listener = tokio::net::UnixListener::bind(&socket).unwrap();
        tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut request = [0u8; 256];
            let read = stream.read(&mut request).await.unwrap();
            assert!(request[..read].starts_with(b"GET /_ping "));
            let answer = b"HTTP/1.0 200 OK\r\nApi-Version: 1.30\r\n\r\nOK";
            stream.write_all(answer).await.unwrap();
        });
        let engine = DockerEngine::over_unix_socket(&socket.display().to_string())
            .await
            .unwrap();
        assert_eq!(engine.api_version(), (1, 30));
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
