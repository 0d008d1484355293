//! Relative paths in a compose file are relative to its base directory: the project directory
//! for the project's own files, the other file's directory for `extends: {file}` and `include`.
//! They are made absolute right after a file is read, so that merging files from different
//! directories cannot mix bases up.

use std::path::Path;

use super::discover::absolute;
use super::yaml::{Node, Value};

/// Makes every path-valued key of a compose file absolute against `base`.
pub fn resolve(root: &mut Node, base: &Path, home: Option<&Path>) {
    let fix = |node: &mut Node| resolve_scalar(node, base, home);
    if let Some(services) = root.get_mut("services").and_then(Node::as_map_mut) {
        for service in services.values_mut() {
            resolve_service(&mut service.node, base, home);
        }
    }
    for kind in ["secrets", "configs"] {
        if let Some(objects) = root.get_mut(kind).and_then(Node::as_map_mut) {
            for object in objects.values_mut() {
                if let Some(file) = object.node.get_mut("file") {
                    fix(file);
                }
            }
        }
    }
    if let Some(volumes) = root.get_mut("volumes").and_then(Node::as_map_mut) {
        for volume in volumes.values_mut() {
            resolve_bind_device(&mut volume.node, base, home);
        }
    }
    if let Some(Value::Seq(items)) = root.get_mut("include").map(|n| &mut n.value) {
        for item in items {
            if item.scalar_text().is_some() {
                fix(item);
                continue;
            }
            for key in ["path", "project_directory", "env_file"] {
                if let Some(node) = item.get_mut(key) {
                    each_scalar(node, &fix);
                }
            }
        }
    }
}

fn resolve_service(service: &mut Node, base: &Path, home: Option<&Path>) {
    let fix = |node: &mut Node| resolve_scalar(node, base, home);
    if let Some(build) = service.get_mut("build") {
        if build.scalar_text().is_some() {
            resolve_context(build, base, home);
        } else if let Some(context) = build.get_mut("context") {
            resolve_context(context, base, home);
        }
    }
    for key in ["env_file", "label_file"] {
        if let Some(node) = service.get_mut(key) {
            each_scalar(node, &fix);
            if let Value::Seq(items) = &mut node.value {
                for item in items {
                    if let Some(path) = item.get_mut("path") {
                        fix(path);
                    }
                }
            }
        }
    }
    if let Some(file) = service.get_mut("extends").and_then(|e| e.get_mut("file")) {
        fix(file);
    }
    if let Some(Value::Seq(rules)) = service
        .get_mut("develop")
        .and_then(|d| d.get_mut("watch"))
        .map(|w| &mut w.value)
    {
        for rule in rules {
            if let Some(path) = rule.get_mut("path") {
                fix(path);
            }
        }
    }
    if let Some(Value::Seq(volumes)) = service.get_mut("volumes").map(|v| &mut v.value) {
        for volume in volumes {
            resolve_volume(volume, base, home);
        }
    }
}

/// A scalar, or each scalar of a list.
fn each_scalar(node: &mut Node, fix: &dyn Fn(&mut Node)) {
    match &mut node.value {
        Value::Scalar { .. } => fix(node),
        Value::Seq(items) => items
            .iter_mut()
            .filter(|i| i.scalar_text().is_some())
            .for_each(fix),
        Value::Map(_) => {}
    }
}

fn resolve_scalar(node: &mut Node, base: &Path, home: Option<&Path>) {
    if node.is_null() {
        return;
    }
    if let Value::Scalar { text, .. } = &mut node.value {
        *text = resolve_path(text, base, home);
    }
}

/// A `local` volume whose `driver_opts` say `o: bind` is a bind mount of `device`: compose-go
/// resolves `device` as a path (an empty one is the base directory itself).
fn resolve_bind_device(volume: &mut Node, base: &Path, home: Option<&Path>) {
    if volume.get("driver").and_then(Node::scalar_text) != Some("local") {
        return;
    }
    let Some(options) = volume.get_mut("driver_opts") else {
        return;
    };
    if options.get("o").and_then(Node::scalar_text) != Some("bind") {
        return;
    }
    if let Some(device) = options.get_mut("device") {
        resolve_host_path(device, base, home);
    }
}

/// A build context may be a URL (`https://…`, `git@…`) and is then left alone.
fn resolve_context(node: &mut Node, base: &Path, home: Option<&Path>) {
    let is_remote = node.scalar_text().is_some_and(|t| {
        t.contains("://") || t.starts_with("git@") || t.starts_with("github.com/")
    });
    if !is_remote {
        resolve_scalar(node, base, home);
    }
}

/// Short syntax `./data:/data:ro` or long `{type: bind, source: ./data}`.
fn resolve_volume(node: &mut Node, base: &Path, home: Option<&Path>) {
    if let Value::Scalar { text, .. } = &mut node.value {
        if let Some((source, rest)) = text.split_once(':')
            && source.starts_with(['.', '~'])
        {
            *text = format!("{}:{rest}", resolve_path(source, base, home));
        }
        return;
    }
    let is_bind = node.get("type").and_then(Node::scalar_text) == Some("bind");
    if is_bind && let Some(source) = node.get_mut("source") {
        resolve_host_path(source, base, home);
    }
}

/// A bind mount's host path, which compose-go leaves alone when it is a Windows absolute path
/// (`C:\data`, `D:/data`, `\\server\share`): the engine may run on another system than the
/// client.
fn resolve_host_path(node: &mut Node, base: &Path, home: Option<&Path>) {
    let windows_absolute = node.scalar_text().is_some_and(|text| {
        let bytes = text.as_bytes();
        let drive = bytes.len() >= 3
            && bytes[0].is_ascii_alphabetic()
            && bytes[1] == b':'
            && matches!(bytes[2], b'\\' | b'/');
        drive || text.starts_with("\\\\")
    });
    if !windows_absolute {
        resolve_scalar(node, base, home);
    }
}

/// `~/x` against the home directory, `./x` and `x` against `base`; absolute paths unchanged.
pub fn resolve_path(path: &str, base: &Path, home: Option<&Path>) -> String {
    let path = match (path.strip_prefix('~'), home) {
        (Some(rest), Some(home)) if rest.is_empty() || rest.starts_with('/') => {
            format!("{}{rest}", home.display())
        }
        _ => path.to_string(),
    };
    absolute(base, Path::new(&path)).display().to_string()
}
