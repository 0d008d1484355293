//! Files in and out of a container as tar archives: upload, `docker cp` both ways, whether a
//! path is a directory, and the export of the whole filesystem.

use bollard::Docker;
use bollard::errors::Error as BollardError;
use bollard::query_parameters::UploadToContainerOptionsBuilder;
use futures_util::stream::{BoxStream, StreamExt};

use super::errors::{Op, container_error, map_error};
use crate::engine::Result;

pub(super) async fn upload(docker: &Docker, id: &str, dir: &str, archive: Vec<u8>) -> Result<()> {
    let options = UploadToContainerOptionsBuilder::new().path(dir).build();
    docker
        .upload_to_container(id, Some(options), bollard::body_full(archive.into()))
        .await
        .map_err(|e| container_error(id, e))
}

pub(super) async fn download(docker: &Docker, id: &str, path: &str) -> Result<Vec<u8>> {
    let options = bollard::query_parameters::DownloadFromContainerOptionsBuilder::new()
        .path(path)
        .build();
    let mut chunks = docker.download_from_container(id, Some(options));
    let mut archive = Vec::new();
    while let Some(chunk) = chunks.next().await {
        let chunk =
            chunk.map_err(|e| map_error(e, &format!("{path} in container {id}"), Op::Other))?;
        archive.extend_from_slice(&chunk);
    }
    Ok(archive)
}

pub(super) async fn path_is_dir(docker: &Docker, id: &str, path: &str) -> Result<Option<bool>> {
    let options = bollard::query_parameters::ContainerArchiveInfoOptionsBuilder::new()
        .path(path)
        .build();
    match docker.get_container_archive_info(id, Some(options)).await {
        // Go's os.ModeDir.
        Ok(stat) => Ok(Some(stat.file_mode & (1 << 31) != 0)),
        Err(BollardError::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(None),
        Err(e) => Err(container_error(id, e)),
    }
}

pub(super) async fn copy(
    docker: &Docker,
    id: &str,
    dir: &str,
    archive: Vec<u8>,
    keep_owners: bool,
) -> Result<()> {
    let options = UploadToContainerOptionsBuilder::new()
        .path(dir)
        .copy_uidgid(if keep_owners { "1" } else { "0" })
        .build();
    docker
        .upload_to_container(id, Some(options), bollard::body_full(archive.into()))
        .await
        .map_err(|e| map_error(e, &format!("{dir} in container {id}"), Op::Other))
}

pub(super) async fn export(
    docker: &Docker,
    id: &str,
) -> Result<BoxStream<'static, Result<Vec<u8>>>> {
    let what = format!("container {id}");
    Ok(docker
        .export_container(id)
        .map(move |chunk| {
            chunk
                .map(|bytes| bytes.to_vec())
                .map_err(|e| map_error(e, &what, Op::Other))
        })
        .boxed())
}
