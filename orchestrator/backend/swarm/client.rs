//! The swarm's side of the backend: what a manager holds for a stack, and the calls a plan
//! makes, through bollard. Everything here is one engine call or a listing; the decisions are
//! the plan's.

use std::collections::HashMap;

use bollard::Docker;
use bollard::auth::DockerCredentials;
use bollard::errors::Error as BollardError;
use bollard::models::{ConfigSpec, Network, NodeState, SecretSpec, ServiceSpec};
use bollard::query_parameters::{
    ListConfigsOptions, ListNetworksOptions, ListNodesOptions, ListSecretsOptions,
    ListServicesOptions, ListTasksOptions, ListVolumesOptions, RemoveVolumeOptions,
    UpdateServiceOptions,
};
use indexmap::IndexMap;
use serde_json::Value;

use super::files::{FileKind, StackFile};
use super::names;
use super::observed::{ObservedFile, ObservedNetwork, ObservedService, ObservedStack};
use super::plan::SwarmOperation;
use super::tasks::TaskRow;
use crate::engine::EngineError;
use crate::engine::docker::engine_error;
use crate::engine::registry_auth::RegistryAuth;

/// The stack `project` on the swarm `docker` manages.
pub async fn observe(docker: &Docker, project: &str) -> Result<ObservedStack, EngineError> {
    let services = services(docker, project).await?;
    // Every network, for the names of the IDs that services attach to (external ones too).
    let networks = docker
        .list_networks(None::<ListNetworksOptions>)
        .await
        .map_err(engine_error)?;
    let names_by_id: HashMap<&str, &str> = networks
        .iter()
        .filter_map(|n| Some((n.id.as_deref()?, n.name.as_deref()?)))
        .collect();
    let mut observed = ObservedStack::default();
    for service in services {
        let (Some(id), Some(spec)) = (service.id, service.spec) else {
            continue;
        };
        let Some(name) = spec.name.clone() else {
            continue;
        };
        let mut spec = serde_json::to_value(&spec).expect("a service spec is JSON");
        name_networks(&mut spec, &names_by_id);
        let version = service.version.and_then(|v| v.index).unwrap_or_default();
        observed
            .services
            .insert(name, ObservedService { id, version, spec });
    }
    for network in networks.iter().filter(|n| of_stack(n, project)) {
        let (Some(name), Some(id)) = (&network.name, &network.id) else {
            continue;
        };
        let id = id.clone();
        observed
            .networks
            .insert(name.clone(), ObservedNetwork { id });
    }
    observed.files = files(docker, Some(names::filter(project))).await?;
    Ok(observed)
}

/// The stack's volumes on the node `docker` is (a swarm has no cluster-wide volume: each node
/// that ran a task mounting one made its own), by name.
pub async fn node_volumes(docker: &Docker, project: &str) -> Result<Vec<String>, EngineError> {
    let options = ListVolumesOptions {
        filters: Some(names::filter(project)),
    };
    let listed = docker
        .list_volumes(Some(options))
        .await
        .map_err(engine_error)?;
    let mut volumes: Vec<String> = listed
        .volumes
        .into_iter()
        .flatten()
        .map(|v| v.name)
        .collect();
    volumes.sort();
    Ok(volumes)
}

/// Removes what the tasks of services just removed still hold, once they have let it go. A
/// volume waits for the tasks to stop (their `stop_grace_period`) and their containers to go
/// (until then 409, in use); a network, for the swarm's orchestrator to mark the tasks for
/// removal, a moment after the service's removal (until then `FailedPrecondition … is in use by
/// task`).
async fn remove_once_unused<F>(remove: impl Fn() -> F) -> Result<(), EngineError>
where
    F: std::future::Future<Output = Result<(), BollardError>>,
{
    let deadline = tokio::time::Instant::now() + IN_USE_LIMIT;
    loop {
        match remove().await {
            Err(error) if in_use(&error) && tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(IN_USE_POLL).await
            }
            result => return result.map_err(call_error),
        }
    }
}

fn in_use(error: &BollardError) -> bool {
    match error {
        BollardError::DockerResponseServerError {
            status_code: 409, ..
        } => true,
        BollardError::DockerResponseServerError { message, .. } => {
            message.contains("is in use by task")
        }
        _ => false,
    }
}

/// A call's failure: a 404 as `NotFound` (a removal's object is gone already, an updated
/// service was removed meanwhile), the rest in the engine's words. A swarm network removed
/// from the cluster stays listed on a node that ran its tasks for a while after (seen for
/// seconds on Docker 20.10), and removing it again answers 500 `network … not found`: that is
/// a `NotFound` too.
fn call_error(error: BollardError) -> EngineError {
    match error {
        BollardError::DockerResponseServerError {
            status_code,
            message,
        } if status_code == 404
            || (status_code == 500 && message.trim().ends_with(" not found")) =>
        {
            EngineError::NotFound(message.trim().trim_end_matches(" not found").to_string())
        }
        other => engine_error(other),
    }
}

/// How long a removal waits for the tasks that hold a volume or a network to go.
const IN_USE_LIMIT: std::time::Duration = std::time::Duration::from_secs(60);
const IN_USE_POLL: std::time::Duration = std::time::Duration::from_millis(250);

/// The secrets and configs that `filters` select, by name.
async fn files(
    docker: &Docker,
    filters: Option<HashMap<String, Vec<String>>>,
) -> Result<IndexMap<String, ObservedFile>, EngineError> {
    let secrets = docker
        .list_secrets(Some(ListSecretsOptions {
            filters: filters.clone(),
        }))
        .await
        .map_err(engine_error)?;
    let configs = docker
        .list_configs(Some(ListConfigsOptions { filters }))
        .await
        .map_err(engine_error)?;
    let secrets = secrets
        .into_iter()
        .map(|s| (FileKind::Secret, s.id, s.spec.and_then(|s| s.name)));
    let configs = configs
        .into_iter()
        .map(|c| (FileKind::Config, c.id, c.spec.and_then(|s| s.name)));
    Ok(secrets
        .chain(configs)
        .filter_map(|(kind, id, name)| Some((name?, ObservedFile { kind, id: id? })))
        .collect())
}

/// `spec` with the IDs of the secrets and configs it names: the engine takes a reference by
/// ID, and a new version's ID is only known once the plan has created it.
async fn with_file_ids(docker: &Docker, spec: &ServiceSpec) -> Result<ServiceSpec, EngineError> {
    let mut spec = spec.clone();
    let Some(container) = spec
        .task_template
        .as_mut()
        .and_then(|t| t.container_spec.as_mut())
    else {
        return Ok(spec);
    };
    if container.secrets.is_none() && container.configs.is_none() {
        return Ok(spec);
    }
    let ids = files(docker, None).await?;
    let id = |kind: FileKind, name: &Option<String>| {
        let file = ids.get(name.as_deref()?)?;
        (file.kind == kind).then(|| file.id.clone())
    };
    for secret in container.secrets.iter_mut().flatten() {
        secret.secret_id = id(FileKind::Secret, &secret.secret_name);
    }
    for config in container.configs.iter_mut().flatten() {
        config.config_id = id(FileKind::Config, &config.config_name);
    }
    Ok(spec)
}

async fn create_file(docker: &Docker, file: &StackFile) -> Result<(), bollard::errors::Error> {
    let (name, labels, data) = (
        Some(file.name.clone()),
        Some(file.labels.clone()),
        Some(file.data_base64()),
    );
    match file.kind {
        FileKind::Secret => docker
            .create_secret(SecretSpec {
                name,
                labels,
                data,
                ..Default::default()
            })
            .await
            .map(drop),
        FileKind::Config => docker
            .create_config(ConfigSpec {
                name,
                labels,
                data,
                ..Default::default()
            })
            .await
            .map(drop),
    }
}

fn of_stack(network: &Network, project: &str) -> bool {
    let labels = network.labels.as_ref();
    labels
        .and_then(|l| l.get(names::NAMESPACE))
        .is_some_and(|p| p == project)
}

/// The swarm keeps a service's networks by ID; wharf writes them by name.
fn name_networks(spec: &mut Value, names_by_id: &HashMap<&str, &str>) {
    let Some(attachments) = spec
        .pointer_mut("/TaskTemplate/Networks")
        .and_then(Value::as_array_mut)
    else {
        return;
    };
    for attachment in attachments {
        let target = attachment.get("Target").and_then(Value::as_str);
        if let Some(name) = target.and_then(|id| names_by_id.get(id)) {
            attachment["Target"] = Value::String(name.to_string());
        }
    }
}

/// The credentials for the registry of the image `spec` runs, sent with its create or update
/// as `docker stack deploy --with-registry-auth` sends them: the swarm hands them to the nodes
/// that pull it. None (anonymous) when the CLI has none for that registry.
async fn image_credentials(
    auth: &RegistryAuth,
    spec: &ServiceSpec,
) -> Result<Option<DockerCredentials>, EngineError> {
    let image = spec
        .task_template
        .as_ref()
        .and_then(|t| t.container_spec.as_ref())
        .and_then(|c| c.image.as_deref());
    let Some(image) = image else {
        return Ok(None);
    };
    auth.for_image(image)
        .await
        .map_err(|error| EngineError::Engine {
            message: format!("the credentials of {image}'s registry: {error}"),
        })
}

/// Makes one call of a plan, with the registry credentials of its service's image.
pub async fn run(
    docker: &Docker,
    auth: &RegistryAuth,
    operation: &SwarmOperation,
) -> Result<(), EngineError> {
    match call(docker, auth, operation).await {
        // A removal's end is that the object is gone: one gone already (a `down` run twice,
        // the swarm finishing a removal it had listed) is done.
        Err(EngineError::NotFound(_)) if operation.removes() => Ok(()),
        result => result,
    }
}

async fn call(
    docker: &Docker,
    auth: &RegistryAuth,
    operation: &SwarmOperation,
) -> Result<(), EngineError> {
    match operation {
        SwarmOperation::CreateNetwork(network) => {
            docker.create_network(network.clone()).await.map(drop)
        }
        SwarmOperation::CreateFile(file) => create_file(docker, file).await,
        SwarmOperation::CreateService(spec) => {
            let credentials = image_credentials(auth, spec).await?;
            let spec = with_file_ids(docker, spec).await?;
            docker.create_service(spec, credentials).await.map(drop)
        }
        SwarmOperation::UpdateService { id, spec, .. } => {
            // The version the swarm has now, not the one observed when the plan was made: a
            // dependency's wait may have taken minutes, in which the swarm itself moved the
            // service on (finishing a rollback or an update), and an update with the older
            // version is refused as "update out of sequence".
            let current = docker
                .inspect_service(id, None)
                .await
                .map_err(engine_error)?;
            let options = UpdateServiceOptions {
                version: current.version.and_then(|v| v.index).unwrap_or_default() as i32,
                ..Default::default()
            };
            let credentials = image_credentials(auth, spec).await?;
            let spec = with_file_ids(docker, spec).await?;
            docker
                .update_service(id, spec, options, credentials)
                .await
                .map(drop)
        }
        SwarmOperation::ReplaceService { id, spec, .. } => {
            let credentials = image_credentials(auth, spec).await?;
            let spec = with_file_ids(docker, spec).await?;
            docker.delete_service(id).await.map_err(engine_error)?;
            docker.create_service(spec, credentials).await.map(drop)
        }
        SwarmOperation::RemoveService { id, .. } => docker.delete_service(id).await,
        SwarmOperation::RollBackService { name } => return roll_back(docker, name).await,
        // A wait makes no call of its own: `SwarmBackend::run` polls the tasks (`wait.rs`).
        SwarmOperation::Wait { .. } => Ok(()),
        SwarmOperation::RemoveNetwork { id, .. } => {
            return remove_once_unused(|| docker.remove_network(id)).await;
        }
        SwarmOperation::RemoveVolume { name } => {
            return remove_once_unused(|| docker.remove_volume(name, None::<RemoveVolumeOptions>))
                .await;
        }
        SwarmOperation::RemoveFile { kind, id, .. } => match kind {
            FileKind::Secret => docker.delete_secret(id).await,
            FileKind::Config => docker.delete_config(id).await,
        },
    }
    .map_err(call_error)
}

/// Sends `name` back to its previous spec (the swarm's own rollback, which keeps what the
/// client cannot read back; this `up` updated it, so it has one), unless the swarm is already
/// rolling it back
/// (`failure_action: rollback`): rolling back again would return to the failed spec.
async fn roll_back(docker: &Docker, name: &str) -> Result<(), EngineError> {
    use bollard::models::ServiceUpdateStatusStateEnum as State;
    let service = docker
        .inspect_service(name, None)
        .await
        .map_err(engine_error)?;
    let state = service.update_status.as_ref().and_then(|s| s.state);
    let rolled_back = matches!(
        state,
        Some(State::ROLLBACK_STARTED | State::ROLLBACK_PAUSED | State::ROLLBACK_COMPLETED)
    );
    let (Some(spec), false) = (service.spec, rolled_back) else {
        return Ok(());
    };
    let options = UpdateServiceOptions {
        version: service.version.and_then(|v| v.index).unwrap_or_default() as i32,
        rollback: Some("previous".into()),
        ..Default::default()
    };
    docker
        .update_service(name, spec, options, None)
        .await
        .map(drop)
        .map_err(engine_error)
}

/// The services of the stack `project`.
async fn services(
    docker: &Docker,
    project: &str,
) -> Result<Vec<bollard::models::Service>, EngineError> {
    docker
        .list_services(Some(ListServicesOptions {
            filters: Some(names::filter(project)),
            ..Default::default()
        }))
        .await
        .map_err(engine_error)
}

/// The tasks of the stack `project`, one row each, with the hostname of its node.
pub async fn tasks(docker: &Docker, project: &str) -> Result<Vec<TaskRow>, EngineError> {
    let services = services(docker, project).await?;
    let nodes = docker
        .list_nodes(None::<ListNodesOptions>)
        .await
        .map_err(engine_error)?;
    let lost: HashMap<String, String> = nodes
        .iter()
        .filter_map(|n| {
            let state = n.status.as_ref()?.state?;
            let id = n.id.clone()?;
            (state != NodeState::READY).then(|| (id, state.to_string()))
        })
        .collect();
    let hostnames: HashMap<String, String> = nodes
        .into_iter()
        .filter_map(|n| Some((n.id?, n.description?.hostname?)))
        .collect();
    let mut rows = Vec::new();
    for service in services {
        let (Some(id), Some(spec)) = (service.id, service.spec) else {
            continue;
        };
        let name = spec.name.clone().unwrap_or_default();
        let template = serde_json::to_value(&spec.task_template).expect("a task spec is JSON");
        let filters = HashMap::from([("service".to_string(), vec![id])]);
        let tasks = docker
            .list_tasks(Some(ListTasksOptions {
                filters: Some(filters),
            }))
            .await
            .map_err(engine_error)?;
        rows.extend(tasks.into_iter().map(|task| {
            let row = TaskRow::new(project, &name, &template, &task, &hostnames);
            let node = task.node_id.as_deref().unwrap_or_default();
            match lost.get(node) {
                Some(state) => row.on_lost_node(state),
                None => row,
            }
        }));
    }
    rows.sort_by(|a, b| (&a.service, &a.name, &a.id).cmp(&(&b.service, &b.name, &b.id)));
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(status_code: u16, message: &str) -> BollardError {
        BollardError::DockerResponseServerError {
            status_code,
            message: message.to_string(),
        }
    }

    /// A network whose service was just removed is refused until the swarm's orchestrator has
    /// marked the service's tasks for removal (swarmkit's `RemoveNetwork` counts a task whose
    /// desired and actual states are both at most running); seen once in CI on `down`, a few
    /// milliseconds after the service's removal.
    #[test]
    fn a_network_or_volume_still_held_by_a_task_is_waited_for_and_other_refusals_are_not() {
        let network = "rpc error: code = FailedPrecondition desc = network 2b6nea9c97zk is in use by task braxrnb5tpth";
        assert!(in_use(&refused(400, network)));
        assert!(in_use(&refused(
            409,
            "remove p_data: volume is in use - [4f1c]"
        )));
        assert!(!in_use(&refused(
            400,
            "rpc error: code = FailedPrecondition desc = network 2b6nea9c97zk is in use by service web"
        )));
        assert!(!in_use(&refused(500, "network p_back not found")));
        assert!(!in_use(&refused(
            403,
            "p_back is a pre-defined network and cannot be removed"
        )));
    }
}
