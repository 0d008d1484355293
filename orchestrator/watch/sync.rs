//! `develop.watch`'s sync: changed files are copied into every running replica of the service
//! through the engine's archive API (one tar, extracted at `/`), and files deleted on the host
//! are deleted in the replicas (`rm -rf` through an exec: the archive API cannot delete).

use std::path::{Path, PathBuf};

use futures_util::future::join_all;

use super::change::SyncBatch;
use super::error::SyncError;
use crate::engine::{ContainerEngine, ExecRequest};
use crate::observe::ObservedContainer;

/// What one sync did.
#[derive(Debug, Default, PartialEq)]
pub struct Synced {
    pub copied: usize,
    pub deleted: usize,
    pub replicas: usize,
}

/// Copies and deletes the batches' files in every replica, the replicas in parallel.
pub async fn sync(
    runtime: &dyn ContainerEngine,
    replicas: &[ObservedContainer],
    batches: &[SyncBatch],
) -> Result<Synced, SyncError> {
    let (present, deleted) = sort(batches);
    let archive = archive(&present).map_err(SyncError::Read)?;
    let removal = ExecRequest {
        command: ["rm", "-rf", "--"]
            .into_iter()
            .map(String::from)
            .chain(deleted.iter().cloned())
            .collect(),
        ..ExecRequest::default()
    };
    let each = replicas.iter().map(|replica| async {
        if !present.is_empty() {
            runtime
                .upload_archive(&replica.id, "/", archive.clone())
                .await
                .map_err(|e| (replica.name.clone(), e))?;
        }
        if !deleted.is_empty() {
            runtime
                .exec(&replica.id, &removal)
                .await
                .map_err(|e| (replica.name.clone(), e))?;
        }
        Ok(())
    });
    let failures: Vec<_> = join_all(each)
        .await
        .into_iter()
        .filter_map(Result::err)
        .collect();
    if !failures.is_empty() {
        return Err(SyncError::Replicas(failures));
    }
    Ok(Synced {
        copied: present.len(),
        deleted: deleted.len(),
        replicas: replicas.len(),
    })
}

/// Files that exist (host path, container path), and container paths to delete.
fn sort(batches: &[SyncBatch]) -> (Vec<(PathBuf, String)>, Vec<String>) {
    let mut present = Vec::new();
    let mut deleted = Vec::new();
    for batch in batches {
        for file in &batch.files {
            let inside = batch.container_path(file);
            match file.is_file() {
                true => present.push((file.clone(), inside)),
                false => deleted.push(inside),
            }
        }
    }
    (present, deleted)
}

/// A tar of the files, each named by its container path without the leading `/`, so that it
/// extracts in place at `/` (the engine creates missing parent directories).
fn archive(files: &[(PathBuf, String)]) -> std::io::Result<Vec<u8>> {
    let mut builder = tar::Builder::new(Vec::new());
    for (host, inside) in files {
        builder.append_path_with_name(host, Path::new(inside.trim_start_matches('/')))?;
    }
    builder.into_inner()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::ContainerState;
    use crate::engine::labels;
    use crate::engine::memory::MemoryEngine;

    #[tokio::test]
    async fn copies_and_deletes_in_every_replica() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("src");
        std::fs::create_dir_all(root.join("lib")).unwrap();
        std::fs::write(root.join("lib/a.js"), "a").unwrap();
        let runtime = MemoryEngine::new();
        let mut replicas = Vec::new();
        for (name, number) in [("p-web-1", "1"), ("p-web-2", "2")] {
            let service = [(labels::SERVICE, "web"), (labels::NUMBER, number)];
            let id = runtime.add_container(name, "img", &service, ContainerState::Running);
            let engine = runtime.container(&id).await.unwrap();
            replicas.push(ObservedContainer::from_engine(engine).unwrap());
        }
        let batch = SyncBatch {
            root: root.clone(),
            target: "/app".into(),
            files: vec![root.join("lib/a.js"), root.join("gone.js")],
        };
        let synced = sync(&runtime, &replicas, &[batch]).await.unwrap();
        let expected = Synced {
            copied: 1,
            deleted: 1,
            replicas: 2,
        };
        assert_eq!(synced, expected);
        let mut calls = runtime.calls();
        calls.sort();
        let mut wanted = Vec::new();
        for replica in &replicas {
            wanted.push(format!("upload_archive {} / [app/lib/a.js]", replica.id));
            wanted.push(format!("exec {} rm -rf -- /app/gone.js", replica.id));
        }
        wanted.sort();
        assert_eq!(calls, wanted);
    }

    #[tokio::test]
    async fn a_stopped_replica_is_an_error_named_after_it() {
        let runtime = MemoryEngine::new();
        let service = [(labels::SERVICE, "web")];
        let id = runtime.add_container("p-web-1", "img", &service, ContainerState::Exited);
        let replica = ObservedContainer::from_engine(runtime.container(&id).await.unwrap());
        let batch = SyncBatch {
            root: PathBuf::from("/nowhere"),
            target: "/app".into(),
            files: vec![PathBuf::from("/nowhere/x")],
        };
        let error = sync(&runtime, &[replica.unwrap()], &[batch])
            .await
            .unwrap_err();
        let error = error.to_string();
        assert!(error.starts_with("p-web-1: "), "{error}");
    }
}
