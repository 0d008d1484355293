//! The swarm's side of the backend: what a manager holds for a stack, and the calls a plan
//! makes, through bollard. Everything here is one engine call or a listing; the decisions are
//! the plan's.

use std::collections::HashMap;

use bollard::Docker;
use bollard::models::Network;
use bollard::query_parameters::{
    ListNetworksOptions, ListNodesOptions, ListServicesOptions, ListTasksOptions,
    UpdateServiceOptions,
};
use serde_json::Value;

use super::names;
use super::observed::{ObservedNetwork, ObservedService, ObservedStack};
use super::plan::SwarmOperation;
use super::tasks::TaskRow;
use crate::engine::EngineError;
use crate::engine::docker::engine_error;

/// The stack `project` on the swarm `docker` manages.
pub async fn observe(docker: &Docker, project: &str) -> Result<ObservedStack, EngineError> {
    let filters = Some(names::filter(project));
    let services = docker
        .list_services(Some(ListServicesOptions {
            filters: filters.clone(),
            ..Default::default()
        }))
        .await
        .map_err(engine_error)?;
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
    Ok(observed)
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

/// Makes one call of a plan.
pub async fn run(docker: &Docker, operation: &SwarmOperation) -> Result<(), EngineError> {
    match operation {
        SwarmOperation::CreateNetwork(network) => {
            docker.create_network(network.clone()).await.map(drop)
        }
        SwarmOperation::CreateService(spec) => {
            docker.create_service(spec.clone(), None).await.map(drop)
        }
        SwarmOperation::UpdateService {
            id, version, spec, ..
        } => {
            let options = UpdateServiceOptions {
                version: *version as i32,
                ..Default::default()
            };
            docker
                .update_service(id, spec.clone(), options, None)
                .await
                .map(drop)
        }
        SwarmOperation::ReplaceService { id, spec, .. } => {
            docker.delete_service(id).await.map_err(engine_error)?;
            docker.create_service(spec.clone(), None).await.map(drop)
        }
        SwarmOperation::RemoveService { id, .. } => docker.delete_service(id).await,
        SwarmOperation::RemoveNetwork { id, .. } => docker.remove_network(id).await,
    }
    .map_err(engine_error)
}

/// The tasks of the stack `project`, one row each, with the hostname of its node.
pub async fn tasks(docker: &Docker, project: &str) -> Result<Vec<TaskRow>, EngineError> {
    let services = docker
        .list_services(Some(ListServicesOptions {
            filters: Some(names::filter(project)),
            ..Default::default()
        }))
        .await
        .map_err(engine_error)?;
    let nodes = docker
        .list_nodes(None::<ListNodesOptions>)
        .await
        .map_err(engine_error)?;
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
        rows.extend(
            tasks
                .into_iter()
                .map(|task| TaskRow::new(project, &name, &template, &task, &hostnames)),
        );
    }
    rows.sort_by(|a, b| (&a.service, &a.name, &a.id).cmp(&(&b.service, &b.name, &b.id)));
    Ok(rows)
}
