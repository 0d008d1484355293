//! `wharf cp`: files between a service's container and the host, through the engine's archive
//! API, with `docker cp`'s rules for where they land.

use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

use super::GlobalArgs;
use super::error::CliError;
use super::session::Session;
use crate::observe::ObservedContainer;

#[derive(Debug, Args)]
pub struct CpArgs {
    /// Include containers created by the run command
    #[arg(long)]
    pub all: bool,
    /// Archive mode (copy all uid/gid information)
    #[arg(short, long)]
    pub archive: bool,
    /// Always follow symbol link in SRC_PATH
    #[arg(short = 'L', long)]
    pub follow_link: bool,
    /// Index of the container if service has multiple replicas
    #[arg(long)]
    pub index: Option<u32>,
    /// SERVICE:SRC_PATH or SRC_PATH|-
    pub source: String,
    /// DEST_PATH|- or SERVICE:DEST_PATH
    pub destination: String,
}

/// `SERVICE:PATH` → `(SERVICE, PATH)`; a local path (with no colon, or a `/` or `.` first) is
/// `None`.
fn remote(arg: &str) -> Option<(&str, &str)> {
    if arg.starts_with('/') || arg.starts_with('.') {
        return None;
    }
    arg.split_once(':')
}

pub async fn run(global: &GlobalArgs, args: &CpArgs) -> Result<ExitCode, CliError> {
    let (service, from_service) = match (remote(&args.source), remote(&args.destination)) {
        (Some((service, _)), None) => (service, true),
        (None, Some((service, _))) => (service, false),
        _ => {
            return Err(CliError::message(
                "copying between services or between local paths is not supported: name SERVICE:PATH on one side",
            ));
        }
    };
    let session = Session::open(global).await?;
    let observed = session.observe().await?;
    session.check_services(&[service.to_string()], &observed)?;
    let mut containers: Vec<&ObservedContainer> = observed
        .services
        .get(service)
        .into_iter()
        .flatten()
        .chain(
            observed
                .oneoff
                .iter()
                .filter(|c| args.all && c.service() == service),
        )
        .filter(|c| args.index.is_none_or(|index| c.number() == index))
        .collect();
    if containers.is_empty() {
        return Err(CliError::Message(match args.index {
            Some(index) => format!("service {service:?} has no container #{index}"),
            None => format!("no container found for service {service:?}"),
        }));
    }
    if from_service {
        // Out of a service: its first container.
        containers.truncate(1);
    }
    if super::dry_run() {
        for container in containers {
            eprintln!(
                " DRY-RUN MODE -  Container {}  Copied {} to {}",
                container.name, args.source, args.destination
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    if from_service {
        let container = containers[0];
        let path = remote(&args.source)
            .map(|(_, path)| path)
            .unwrap_or_default();
        let archive = session
            .runtime
            .download_archive(&container.id, path)
            .await
            .map_err(fail)?;
        if args.destination == "-" {
            std::io::stdout()
                .write_all(&archive)
                .map_err(|e| fail(e.to_string()))?;
        } else {
            extract(&archive, Path::new(&args.destination), args.archive).map_err(fail)?;
        }
        copied(container, &args.source, &args.destination);
        return Ok(ExitCode::SUCCESS);
    }
    // Into a service: every container it has (or the one of `--index`).
    let path = remote(&args.destination)
        .map(|(_, path)| path)
        .unwrap_or_default();
    for container in containers {
        let (dir, archive) = if args.source == "-" {
            let mut archive = Vec::new();
            std::io::stdin()
                .read_to_end(&mut archive)
                .map_err(|e| fail(e.to_string()))?;
            (path.to_string(), archive)
        } else {
            let is_dir = session
                .runtime
                .path_is_dir(&container.id, path)
                .await
                .map_err(fail)?;
            let (dir, name) = landing(path, is_dir, &args.source).map_err(fail)?;
            let archive = pack(Path::new(&args.source), &name, args.follow_link).map_err(fail)?;
            (dir, archive)
        };
        session
            .runtime
            .copy_archive(&container.id, &dir, archive, args.archive)
            .await
            .map_err(fail)?;
        copied(container, &args.source, &args.destination);
    }
    Ok(ExitCode::SUCCESS)
}

fn fail(message: impl ToString) -> CliError {
    CliError::Message(message.to_string())
}

fn copied(container: &ObservedContainer, from: &str, to: &str) {
    eprintln!(" ✔ Container {}  Copied {from} to {to}", container.name);
}

/// Where a host path lands in a container, as `docker cp` decides: into an existing directory
/// under its own name, else as the destination's last component in its parent directory.
fn landing(dest: &str, is_dir: Option<bool>, source: &str) -> Result<(String, String), String> {
    let source_name = Path::new(source)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| format!("cannot copy {source:?}: it names no file"))?;
    match is_dir {
        Some(true) => Ok((dest.to_string(), source_name)),
        None if dest.ends_with('/') => Err(format!("no such directory: {dest}")),
        _ => {
            let dest = Path::new(dest);
            let parent = dest
                .parent()
                .map_or("/".into(), |p| p.to_string_lossy().into_owned());
            let name = dest
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .ok_or_else(|| format!("cannot copy to {}", dest.display()))?;
            Ok((
                if parent.is_empty() {
                    "/".into()
                } else {
                    parent
                },
                name,
            ))
        }
    }
}

/// A tar of `source` (a file or a directory, recursively) whose root entry is `name`.
fn pack(source: &Path, name: &str, follow_links: bool) -> Result<Vec<u8>, String> {
    let mut builder = tar::Builder::new(Vec::new());
    builder.follow_symlinks(follow_links);
    let read = |e: std::io::Error| format!("cannot read {}: {e}", source.display());
    let meta = std::fs::symlink_metadata(source).map_err(read)?;
    if meta.is_dir() {
        builder.append_dir_all(name, source).map_err(read)?;
    } else {
        builder.append_path_with_name(source, name).map_err(read)?;
    }
    builder.into_inner().map_err(read)
}

/// Extracts an archive from a container at `dest` as `docker cp` does: into `dest` when it is
/// an existing directory, else with its root entry renamed to `dest`. Entries that would leave
/// the destination (`..`, absolute paths) are refused.
fn extract(archive: &[u8], dest: &Path, keep_owners: bool) -> Result<(), String> {
    let into_dir = dest.is_dir();
    let mut reader = tar::Archive::new(archive);
    reader.set_preserve_permissions(true);
    reader.set_preserve_ownerships(keep_owners);
    let invalid = |e: std::io::Error| format!("cannot extract to {}: {e}", dest.display());
    for entry in reader.entries().map_err(invalid)? {
        let mut entry = entry.map_err(invalid)?;
        let path = entry.path().map_err(invalid)?.into_owned();
        let mut parts = path.components();
        let root = parts.next();
        let rest: PathBuf = parts.collect();
        if path
            .components()
            .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
        {
            return Err(format!(
                "the archive names an unsafe path: {}",
                path.display()
            ));
        }
        let base = match (into_dir, root) {
            (true, Some(root)) => dest.join(root),
            _ => dest.to_path_buf(),
        };
        let target = match rest.as_os_str().is_empty() {
            true => base,
            false => base.join(rest),
        };
        if let Some(parent) = target.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(invalid)?;
        }
        entry.unpack(&target).map_err(invalid)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_service_path_has_a_colon_and_no_leading_slash_or_dot() {
        assert_eq!(remote("web:/tmp/x"), Some(("web", "/tmp/x")));
        assert_eq!(remote("/tmp/a:b"), None);
        assert_eq!(remote("./a:b"), None);
        assert_eq!(remote("file.txt"), None);
    }

    #[test]
    fn where_a_host_path_lands_in_a_container() {
        let dir = landing("/tmp", Some(true), "d/f.txt").unwrap();
        assert_eq!(dir, ("/tmp".to_string(), "f.txt".to_string()));
        let renamed = landing("/tmp/g.txt", None, "f.txt").unwrap();
        assert_eq!(renamed, ("/tmp".to_string(), "g.txt".to_string()));
        let over = landing("/tmp/g.txt", Some(false), "f.txt").unwrap();
        assert_eq!(over, ("/tmp".to_string(), "g.txt".to_string()));
        assert!(landing("/nowhere/", None, "f.txt").is_err());
    }

    #[test]
    fn an_archive_lands_in_a_directory_or_under_a_new_name_and_never_outside() {
        let host = tempfile::tempdir().unwrap();
        let source = host.path().join("src");
        std::fs::create_dir_all(source.join("sub")).unwrap();
        std::fs::write(source.join("sub/a"), "x").unwrap();
        let archive = pack(&source, "dd", false).unwrap();
        let into = host.path().join("into");
        std::fs::create_dir(&into).unwrap();
        extract(&archive, &into, false).unwrap();
        assert_eq!(std::fs::read_to_string(into.join("dd/sub/a")).unwrap(), "x");
        let renamed = host.path().join("renamed");
        extract(&archive, &renamed, false).unwrap();
        assert_eq!(std::fs::read_to_string(renamed.join("sub/a")).unwrap(), "x");

        let mut evil = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_size(1);
        header.set_mode(0o644);
        header.set_cksum();
        evil.append_data(&mut header, "dd/../../escaped", &b"x"[..])
            .unwrap_or_else(|_| {
                // The tar crate refuses to write `..`; write the name by hand.
                let mut header = tar::Header::new_old();
                header.as_old_mut().name[..16].copy_from_slice(b"dd/../../escape\0");
                header.set_size(1);
                header.set_cksum();
                evil.append(&header, &b"x"[..]).unwrap();
            });
        let evil = evil.into_inner().unwrap();
        assert!(extract(&evil, &into, false).is_err());
        assert!(!host.path().join("escape").exists());
    }
}
