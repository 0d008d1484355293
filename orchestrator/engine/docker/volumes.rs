//! Volumes: listed, looked for, created (after a look: the engine answers a create of an
//! existing volume with that volume) and removed.

use bollard::Docker;
use bollard::errors::Error as BollardError;
use bollard::models::VolumeCreateRequest;
use bollard::query_parameters::{ListVolumesOptions, RemoveVolumeOptions};

use super::convert::from_volume;
use super::errors::{Op, engine_error, map_error};
use super::fields::non_empty_map;
use crate::desired::DesiredVolume;
use crate::engine::labels;
use crate::engine::{EngineError, EngineVolume, Result};

pub(super) async fn list(docker: &Docker) -> Result<Vec<EngineVolume>> {
    let response = docker
        .list_volumes(None::<ListVolumesOptions>)
        .await
        .map_err(engine_error)?;
    Ok(response
        .volumes
        .unwrap_or_default()
        .into_iter()
        .map(from_volume)
        .collect())
}

async fn exists(docker: &Docker, name: &str) -> Result<bool> {
    match docker.inspect_volume(name).await {
        Ok(_) => Ok(true),
        Err(BollardError::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(false),
        Err(e) => Err(engine_error(e)),
    }
}

pub(super) async fn create(docker: &Docker, volume: &DesiredVolume) -> Result<()> {
    let what = format!("volume {}", volume.name);
    // The engine answers a create of an existing volume with that volume: look first.
    if exists(docker, &volume.name).await? {
        return Err(EngineError::Conflict(what));
    }
    let request = VolumeCreateRequest {
        name: Some(volume.name.clone()),
        driver: volume.driver.clone(),
        driver_opts: non_empty_map(&volume.driver_opts),
        labels: non_empty_map(&labels::volume_labels(volume)),
        cluster_volume_spec: None,
    };
    docker
        .create_volume(request)
        .await
        .map_err(|e| map_error(e, &what, Op::Create))?;
    Ok(())
}

pub(super) async fn remove(docker: &Docker, name: &str) -> Result<()> {
    docker
        .remove_volume(name, None::<RemoveVolumeOptions>)
        .await
        .map_err(|e| map_error(e, &format!("volume {name}"), Op::Other))
}
