//! Which compose files make the project, and where the project directory is.

use std::path::{Path, PathBuf};

use super::diagnostic::Diagnostic;

/// The file names compose looks for, in order of preference.
pub const DEFAULT_FILES: [&str; 4] = [
    "compose.yaml",
    "compose.yml",
    "docker-compose.yml",
    "docker-compose.yaml",
];

/// Where a compose file's text comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Path(PathBuf),
    Stdin,
}

#[derive(Debug, Clone)]
pub struct Discovered {
    pub files: Vec<Source>,
    pub project_dir: PathBuf,
    pub warnings: Vec<Diagnostic>,
}

/// What the command line and the environment say about files.
pub struct Request<'a> {
    /// `-f` values, in order; `-` is standard input.
    pub files: &'a [String],
    pub project_directory: Option<&'a Path>,
    /// `COMPOSE_FILE` and `COMPOSE_PATH_SEPARATOR` from the environment.
    pub compose_file: Option<&'a str>,
    pub path_separator: Option<&'a str>,
    pub cwd: &'a Path,
}

pub fn discover(request: &Request) -> Result<Discovered, Diagnostic> {
    let explicit: Vec<String> = if !request.files.is_empty() {
        request.files.to_vec()
    } else if let Some(list) = request.compose_file.filter(|s| !s.is_empty()) {
        let sep = request.path_separator.unwrap_or(":");
        list.split(sep)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    } else {
        Vec::new()
    };
    if !explicit.is_empty() {
        return from_explicit(&explicit, request);
    }
    let start = request
        .project_directory
        .map(|d| absolute(request.cwd, d))
        .unwrap_or_else(|| request.cwd.to_path_buf());
    for dir in start.ancestors() {
        if let Some(found) = in_directory(dir)? {
            let project_dir = request
                .project_directory
                .map(|d| absolute(request.cwd, d))
                .unwrap_or_else(|| dir.to_path_buf());
            return Ok(Discovered {
                files: found.0,
                project_dir,
                warnings: found.1,
            });
        }
    }
    Err(Diagnostic::new(format!(
        "no compose file found in {} or any parent directory",
        start.display()
    ))
    .with_help(format!(
        "create {} or name the file with -f",
        DEFAULT_FILES[0]
    )))
}

fn from_explicit(files: &[String], request: &Request) -> Result<Discovered, Diagnostic> {
    let mut sources = Vec::new();
    for file in files {
        if file == "-" {
            sources.push(Source::Stdin);
            continue;
        }
        let path = absolute(request.cwd, Path::new(file));
        if !path.is_file() {
            return Err(
                Diagnostic::new(format!("compose file {} does not exist", path.display()))
                    .with_help("check the path given with -f or COMPOSE_FILE"),
            );
        }
        sources.push(Source::Path(path));
    }
    let project_dir = match (request.project_directory, sources.first()) {
        (Some(dir), _) => absolute(request.cwd, dir),
        (None, Some(Source::Path(first))) => first
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| request.cwd.to_path_buf()),
        _ => request.cwd.to_path_buf(),
    };
    Ok(Discovered {
        files: sources,
        project_dir,
        warnings: Vec::new(),
    })
}

type Found = (Vec<Source>, Vec<Diagnostic>);

/// The compose file of a directory and its `.override` companion.
fn in_directory(dir: &Path) -> Result<Option<Found>, Diagnostic> {
    let present: Vec<&str> = DEFAULT_FILES
        .iter()
        .copied()
        .filter(|name| dir.join(name).is_file())
        .collect();
    let Some(&chosen) = present.first() else {
        return Ok(None);
    };
    let mut warnings = Vec::new();
    if present.len() > 1 {
        warnings.push(Diagnostic::new(format!(
            "found multiple config files in {}: {}; using {chosen}",
            dir.display(),
            present.join(", ")
        )));
    }
    let mut files = vec![Source::Path(dir.join(chosen))];
    let (stem, ext) = chosen.rsplit_once('.').expect("names have an extension");
    let override_file = dir.join(format!("{stem}.override.{ext}"));
    if override_file.is_file() {
        files.push(Source::Path(override_file));
    }
    Ok(Some((files, warnings)))
}

/// `path` made absolute against `base`, with `.` and `..` folded (without touching the disk).
pub fn absolute(base: &Path, path: &Path) -> PathBuf {
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    };
    let mut out = PathBuf::new();
    for part in joined.components() {
        match part {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}
