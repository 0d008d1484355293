//! The build context: a tar of the context directory as `docker build` sends it, without what
//! `.dockerignore` excludes, with the Dockerfile always in it (an inline one, or one outside
//! the context, under a generated name).

use std::collections::HashSet;
use std::path::{Component, Path, PathBuf};

use crate::engine::dockerignore::DockerIgnore;
use crate::engine::{BuildRequest, EngineError, Result};

pub(super) struct BuildContext {
    pub(super) tar: Vec<u8>,
    /// The Dockerfile's path inside the tar.
    pub(super) dockerfile: String,
}

/// A tar of the context directory, without what `.dockerignore` excludes; the Dockerfile and
/// `.dockerignore` are always in it. An inline Dockerfile, or one outside the context, is added
/// under a generated name that the engine leaves out of the context (it is listed in the
/// `.dockerignore` sent along, and the engine drops listed build files once it has read them).
pub(super) fn build_context(request: &BuildRequest) -> Result<BuildContext> {
    let context = &request.context;
    let failed = |what: &str, e: &dyn std::fmt::Display| EngineError::Engine {
        message: format!("build context {}: {what}: {e}", context.display()),
    };
    let meta = std::fs::metadata(context).map_err(|e| failed("cannot read it", &e))?;
    if !meta.is_dir() {
        return Err(EngineError::Engine {
            message: format!("build context {} is not a directory", context.display()),
        });
    }
    let ignore_text = match std::fs::read_to_string(context.join(".dockerignore")) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(failed(".dockerignore", &e)),
    };
    let ignore = DockerIgnore::parse(ignore_text.as_deref().unwrap_or_default());

    // Where the Dockerfile comes from: the context, or bytes of our own.
    let (dockerfile, generated): (String, Option<Vec<u8>>) = match &request.dockerfile_inline {
        Some(inline) => (
            generated_name(inline.as_bytes()),
            Some(inline.clone().into_bytes()),
        ),
        None => match relative_inside(&request.dockerfile) {
            Some(relative) => (relative, None),
            None => {
                let path = if Path::new(&request.dockerfile).is_absolute() {
                    PathBuf::from(&request.dockerfile)
                } else {
                    context.join(&request.dockerfile)
                };
                let bytes = std::fs::read(&path).map_err(|e| failed(&request.dockerfile, &e))?;
                (generated_name(&bytes), Some(bytes))
            }
        },
    };

    let mut builder = tar::Builder::new(Vec::new());
    builder.follow_symlinks(false);
    let mut always: HashSet<String> = HashSet::from([".dockerignore".to_string()]);
    if generated.is_none() {
        always.insert(dockerfile.clone());
    }
    let mut added: HashSet<String> = HashSet::new();
    walk(context, "", &ignore, &always, &mut builder, &mut added)
        .map_err(|e| failed("reading it", &e))?;
    // A Dockerfile inside an excluded directory was not reached by the walk.
    for name in &always {
        let path = context.join(name);
        if !added.contains(name) && name != ".dockerignore" && path.is_file() {
            builder
                .append_path_with_name(&path, name)
                .map_err(|e| failed(name, &e))?;
        }
    }
    if let Some(bytes) = generated {
        append_bytes(&mut builder, &dockerfile, &bytes).map_err(|e| failed(&dockerfile, &e))?;
        let mut text = ignore_text.unwrap_or_default();
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(&dockerfile);
        text.push('\n');
        append_bytes(&mut builder, ".dockerignore", text.as_bytes())
            .map_err(|e| failed(".dockerignore", &e))?;
    }
    let tar = builder.into_inner().map_err(|e| failed("tar", &e))?;
    Ok(BuildContext { tar, dockerfile })
}

/// `Dockerfile`, `docker/Dockerfile.dev` → themselves; `../Dockerfile` or an absolute path →
/// `None` (not inside the context).
fn relative_inside(path: &str) -> Option<String> {
    let path = Path::new(path);
    let mut parts = Vec::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => parts.push(part.to_string_lossy().into_owned()),
            Component::CurDir => {}
            Component::ParentDir => {
                parts.pop()?;
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

fn generated_name(content: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(content);
    format!(".wharf-dockerfile-{}", &hex::encode(digest)[..12])
}

fn append_bytes(
    builder: &mut tar::Builder<Vec<u8>>,
    name: &str,
    bytes: &[u8],
) -> std::io::Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_size(bytes.len() as u64);
    header.set_mode(0o644);
    header.set_mtime(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default(),
    );
    header.set_entry_type(tar::EntryType::Regular);
    builder.append_data(&mut header, name, bytes)
}

fn walk(
    root: &Path,
    relative: &str,
    ignore: &DockerIgnore,
    always: &HashSet<String>,
    builder: &mut tar::Builder<Vec<u8>>,
    added: &mut HashSet<String>,
) -> std::io::Result<()> {
    let dir = if relative.is_empty() {
        root.to_path_buf()
    } else {
        root.join(relative)
    };
    let mut entries: Vec<_> = std::fs::read_dir(&dir)?.collect::<std::io::Result<_>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path_in_tar = if relative.is_empty() {
            name.clone()
        } else {
            format!("{relative}/{name}")
        };
        let file_type = entry.file_type()?;
        let excluded = !always.contains(&path_in_tar) && ignore.excluded(&path_in_tar);
        if file_type.is_dir() {
            if !excluded {
                append_entry(builder, &entry.path(), &path_in_tar)?;
                walk(root, &path_in_tar, ignore, always, builder, added)?;
            } else if ignore.may_include_under(&path_in_tar)
                || always
                    .iter()
                    .any(|a| a.starts_with(&format!("{path_in_tar}/")))
            {
                // Excluded, but an exception may bring files back: go in without the entry.
                walk(root, &path_in_tar, ignore, always, builder, added)?;
            }
            continue;
        }
        if excluded {
            continue;
        }
        append_entry(builder, &entry.path(), &path_in_tar)?;
        added.insert(path_in_tar);
    }
    Ok(())
}

/// Appends a file, directory or symlink (not followed) owned by root, as `docker build` does.
fn append_entry(
    builder: &mut tar::Builder<Vec<u8>>,
    path: &Path,
    name: &str,
) -> std::io::Result<()> {
    let meta = std::fs::symlink_metadata(path)?;
    let mut header = tar::Header::new_gnu();
    header.set_metadata_in_mode(&meta, tar::HeaderMode::Complete);
    header.set_uid(0);
    header.set_gid(0);
    let _ = header.set_username("");
    let _ = header.set_groupname("");
    if meta.file_type().is_symlink() {
        let target = std::fs::read_link(path)?;
        header.set_size(0);
        builder.append_link(&mut header, name, target)
    } else if meta.is_dir() {
        header.set_size(0);
        builder.append_data(&mut header, format!("{name}/"), std::io::empty())
    } else if meta.is_file() {
        let file = std::fs::File::open(path)?;
        builder.append_data(&mut header, name, file)
    } else {
        // Sockets, fifos and devices are not part of a build context.
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn dockerfile_paths() {
        assert_eq!(relative_inside("Dockerfile").as_deref(), Some("Dockerfile"));
        assert_eq!(
            relative_inside("./docker/../build/Dockerfile.dev").as_deref(),
            Some("build/Dockerfile.dev")
        );
        assert_eq!(relative_inside("../Dockerfile"), None);
        assert_eq!(relative_inside("/abs/Dockerfile"), None);
    }

    fn context_files(request: &BuildRequest) -> (Vec<String>, BuildContext) {
        let context = build_context(request).unwrap();
        let mut archive = tar::Archive::new(&context.tar[..]);
        let names = archive
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
            .collect();
        (names, context)
    }

    fn request(dir: &Path) -> BuildRequest {
        BuildRequest {
            context: dir.to_path_buf(),
            dockerfile: "Dockerfile".into(),
            dockerfile_inline: None,
            tag: "t".into(),
            args: HashMap::new(),
            target: None,
            labels: HashMap::new(),
            ..BuildRequest::default()
        }
    }

    #[test]
    fn the_context_honours_dockerignore() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(root.join("Dockerfile"), "FROM scratch\n").unwrap();
        std::fs::write(
            root.join(".dockerignore"),
            "Dockerfile\n.dockerignore\n*.secret\nvendor\ndocs\n!docs/keep.md\n",
        )
        .unwrap();
        std::fs::write(root.join("app.txt"), "x").unwrap();
        std::fs::write(root.join("key.secret"), "x").unwrap();
        std::fs::create_dir_all(root.join("vendor/deep")).unwrap();
        std::fs::write(root.join("vendor/deep/lib"), "x").unwrap();
        std::fs::create_dir_all(root.join("docs")).unwrap();
        std::fs::write(root.join("docs/keep.md"), "x").unwrap();
        std::fs::write(root.join("docs/drop.md"), "x").unwrap();
        std::fs::create_dir_all(root.join("src")).unwrap();
        std::fs::write(root.join("src/main.rs"), "x").unwrap();
        std::os::unix::fs::symlink("app.txt", root.join("link")).unwrap();

        let (names, context) = context_files(&request(root));
        assert_eq!(context.dockerfile, "Dockerfile");
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(
            sorted,
            vec![
                ".dockerignore",
                "Dockerfile",
                "app.txt",
                "docs/keep.md",
                "link",
                "src/",
                "src/main.rs"
            ]
        );
    }

    #[test]
    fn an_inline_dockerfile_gets_a_generated_name_that_the_engine_drops() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("app.txt"), "x").unwrap();
        let mut req = request(dir.path());
        req.dockerfile_inline = Some("FROM scratch\nCOPY app.txt /\n".into());
        let (names, context) = context_files(&req);
        assert!(context.dockerfile.starts_with(".wharf-dockerfile-"));
        assert!(names.contains(&context.dockerfile));
        assert!(names.contains(&".dockerignore".to_string()));
        let mut archive = tar::Archive::new(&context.tar[..]);
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            if entry.path().unwrap().to_string_lossy() == ".dockerignore" {
                let mut text = String::new();
                std::io::Read::read_to_string(&mut entry, &mut text).unwrap();
                assert_eq!(text, format!("{}\n", context.dockerfile));
            }
        }
    }

    #[test]
    fn a_dockerfile_in_an_excluded_directory_is_still_sent() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("docker")).unwrap();
        std::fs::write(dir.path().join("docker/Dockerfile"), "FROM scratch\n").unwrap();
        std::fs::write(dir.path().join("docker/other"), "x").unwrap();
        std::fs::write(dir.path().join(".dockerignore"), "docker\n").unwrap();
        let mut req = request(dir.path());
        req.dockerfile = "docker/Dockerfile".into();
        let (names, _) = context_files(&req);
        assert!(names.contains(&"docker/Dockerfile".to_string()));
        assert!(!names.contains(&"docker/other".to_string()));
    }
}
