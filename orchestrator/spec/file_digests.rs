//! The sha256 of each secret's and config's `file`, read once at load. The config hash covers
//! a file source's path, not what the file holds: its digest is what tells `up` that a secret
//! changed while the compose file did not. A source that is not a readable regular file (a
//! directory, a missing file) has none.

use indexmap::IndexMap;
use sha2::{Digest, Sha256};

use super::model::Model;

/// File path (as the model writes it, absolute) → the sha256 of its content, in hex.
pub fn file_digests(model: &Model) -> IndexMap<String, String> {
    model
        .secrets
        .values()
        .chain(model.configs.values())
        .filter(|object| !object.external)
        .filter_map(|object| object.file.as_ref())
        .filter_map(|file| {
            let content = std::fs::read(file).ok()?;
            Some((file.clone(), hex::encode(Sha256::digest(content))))
        })
        .collect()
}
