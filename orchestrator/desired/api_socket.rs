//! `use_api_socket`, as compose v2 applies it (its `useAPISocket`, a client-side stand-in for
//! an engine feature): each service that sets it gets the engine's socket bind-mounted at
//! `/var/run/docker.sock`, `DOCKER_CONFIG=/run/secrets/docker` unless it sets `DOCKER_CONFIG`
//! itself, and the docker CLI's credentials as a config (`#apisocket`) at
//! `/run/secrets/docker/config.json`. Compose changes the project so before it creates
//! anything; so does wharf, so that the config hash is compose's too.

use std::borrow::Cow;

use crate::spec::Project;
use crate::spec::model::{FileObject, FileReference, MountType, VolumeMount};

const SOCKET: &str = "/var/run/docker.sock";
/// The config's name: `#` keeps it from clashing with a config the file declares.
const CONFIG: &str = "#apisocket";
const CONFIG_DIR: &str = "/run/secrets/docker";

/// The project with `use_api_socket` applied; the project itself when no service sets it.
pub fn applied(project: &Project) -> Cow<'_, Project> {
    let Some(credentials) = &project.api_socket_credentials else {
        return Cow::Borrowed(project);
    };
    if !project.model.services.values().any(|s| s.use_api_socket) {
        return Cow::Borrowed(project);
    }
    let mut project = project.clone();
    let model = &mut project.model;
    model.configs.insert(
        CONFIG.to_string(),
        FileObject {
            content: Some(credentials.clone()),
            ..FileObject::default()
        },
    );
    for service in model.services.values_mut().filter(|s| s.use_api_socket) {
        service.volumes.push(VolumeMount {
            kind: MountType::Bind,
            source: Some(SOCKET.to_string()),
            target: SOCKET.to_string(),
            read_only: false,
            consistency: None,
            bind: None,
            volume: None,
            tmpfs: None,
            image: None,
        });
        service
            .environment
            .entry("DOCKER_CONFIG".to_string())
            .or_insert_with(|| Some(CONFIG_DIR.to_string()));
        service.configs.push(FileReference {
            source: CONFIG.to_string(),
            target: Some(format!("{CONFIG_DIR}/config.json")),
            ..FileReference::default()
        });
    }
    Cow::Owned(project)
}

#[cfg(test)]
mod tests {
    use crate::desired::{BuildOptions, MountKind, build};
    use crate::spec::{LoadOptions, load};

    const FILE: &str = r#"
services:
  ci:
    image: docker:cli
    use_api_socket: true
  own:
    image: docker:cli
    use_api_socket: true
    environment:
      DOCKER_CONFIG: /etc/docker-client
  plain:
    image: nginx
"#;

    #[test]
    fn the_socket_the_credentials_and_docker_config_reach_only_the_services_that_ask() {
        let dir = tempfile::tempdir().unwrap();
        let project = load(&LoadOptions {
            files: vec!["-".into()],
            stdin: Some(FILE.into()),
            project_name: Some("demo".into()),
            cwd: dir.path().to_path_buf(),
            environment: [(
                "DOCKER_CONFIG".to_string(),
                dir.path().display().to_string(),
            )]
            .into_iter()
            .collect(),
            ..LoadOptions::default()
        })
        .unwrap();
        let desired = build(&project, &BuildOptions::default());
        let container = |name: &str| &desired.services[name].container;
        let socket = |name: &str| {
            container(name)
                .mounts
                .iter()
                .any(|m| m.kind == MountKind::Bind && m.target == "/var/run/docker.sock")
        };
        assert!(socket("ci") && socket("own") && !socket("plain"));
        assert!(
            container("ci")
                .env
                .contains(&"DOCKER_CONFIG=/run/secrets/docker".into())
        );
        assert!(
            container("own")
                .env
                .contains(&"DOCKER_CONFIG=/etc/docker-client".into())
        );
        let credentials = &container("ci").files[0];
        assert_eq!(credentials.path, "/run/secrets/docker/config.json");
        assert_eq!(credentials.content.as_deref(), Ok("{\n\t\"auths\": {}\n}"));
        assert_eq!(credentials.mode, 0o444);
        assert!(container("plain").files.is_empty());
        // `config` still prints the file as written: the change is made for the engine only.
        assert!(project.model.services["ci"].volumes.is_empty());
    }
}
