//! The content hash of a service's secrets and configs: a label of wharf's own
//! (`dev.wharf.content-hash`) beside compose's config hash. Compose v2 hashes the service
//! alone, so a secret file edited in place, or a variable a secret comes from, changes no
//! label, and its containers keep the old content (a file replaced by an editor stays the old
//! inode in the bind mount). wharf replaces them: their content hash differs.

use sha2::{Digest, Sha256};

use super::ContainerFile;
use crate::spec::Project;
use crate::spec::model::Service;

/// The sha256 of what the service's secrets and configs hold: each copied file's path and
/// content, each file source's path and digest. `None` for a service without any.
pub(super) fn content_hash(
    project: &Project,
    service: &Service,
    copied: &[ContainerFile],
) -> Option<String> {
    let model = &project.model;
    let sources = service
        .secrets
        .iter()
        .filter_map(|r| model.secrets.get(&r.source))
        .chain(
            service
                .configs
                .iter()
                .filter_map(|r| model.configs.get(&r.source)),
        )
        .filter(|object| !object.external)
        .filter_map(|object| object.file.as_ref());
    let mut hasher = Sha256::new();
    let mut any = false;
    for file in sources {
        let digest = project.file_digests.get(file).map_or("", String::as_str);
        hasher.update(format!("file {file} {digest}\n"));
        any = true;
    }
    for file in copied {
        hasher.update(format!("copied {} {:?}\n", file.path, file.content));
        any = true;
    }
    any.then(|| hex::encode(hasher.finalize()))
}
