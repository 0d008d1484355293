//! `extends`: a service starts from another service (of this file or another one) and
//! overrides it, with the same merge rules as multiple files.

use std::path::{Path, PathBuf};

use super::diagnostic::Diagnostic;
use super::discover::Source;
use super::load::Context;
use super::merge;
use super::yaml::{Mapping, Node};

/// Resolves `extends` for every service of one file.
pub fn apply(root: &mut Node, context: &mut Context, file: &Path) -> Result<(), Diagnostic> {
    let Some(services) = root.get("services").and_then(Node::as_map) else {
        return Ok(());
    };
    if !services.values().any(|s| s.node.get("extends").is_some()) {
        return Ok(());
    }
    let services = services.clone();
    let mut resolved = Vec::new();
    for name in services.keys() {
        if services[name].node.get("extends").is_some() {
            let node = resolve(&services, name, file, context, &mut Vec::new())?;
            resolved.push((name.clone(), node));
        }
    }
    let target = root
        .get_mut("services")
        .and_then(Node::as_map_mut)
        .expect("services exist");
    for (name, node) in resolved {
        target[&name].node = node;
    }
    Ok(())
}

/// The service `name` of `services` (read from `file`) with its `extends` chain applied.
fn resolve(
    services: &Mapping,
    name: &str,
    file: &Path,
    context: &mut Context,
    stack: &mut Vec<(PathBuf, String)>,
) -> Result<Node, Diagnostic> {
    let service = services[name].node.clone();
    let Some(extends) = service.get("extends").cloned() else {
        return Ok(service);
    };
    let (base_name, base_file) = match extends.scalar_text() {
        Some(text) if !extends.is_null() => (text.to_string(), None),
        _ => {
            let Some(base) = extends.get("service").and_then(Node::scalar_text) else {
                return Err(Diagnostic::at(&extends.span, "`extends` needs a `service`")
                    .with_help("write `extends: {service: NAME}` or `extends: NAME`"));
            };
            let other = extends
                .get("file")
                .and_then(Node::scalar_text)
                .map(PathBuf::from);
            (base.to_string(), other)
        }
    };
    let key = (file.to_path_buf(), name.to_string());
    if stack.contains(&key) {
        let chain: Vec<&str> = stack
            .iter()
            .map(|(_, n)| n.as_str())
            .chain([name])
            .collect();
        return Err(Diagnostic::at(
            &extends.span,
            format!("circular reference with extends: {}", chain.join(" -> ")),
        )
        .with_help("a service cannot extend itself, directly or through other services"));
    }
    stack.push(key);
    let base = match &base_file {
        Some(other) if other.as_path() != file => {
            let other_services = read_services(other, &extends, context)?;
            find(&other_services, &base_name, other, &extends)?;
            resolve(&other_services, &base_name, other, context, stack)?
        }
        _ => {
            find(services, &base_name, file, &extends)?;
            resolve(services, &base_name, file, context, stack)?
        }
    };
    stack.pop();
    let mut own = service;
    own.as_map_mut()
        .expect("a service is a mapping")
        .shift_remove("extends");
    let mut base = base;
    if let Some(map) = base.as_map_mut() {
        map.shift_remove("extends");
    }
    let mut path = vec!["services".to_string(), name.to_string()];
    Ok(merge::merge(base, own, &mut path).expect("a service is not reset"))
}

fn find(services: &Mapping, name: &str, file: &Path, extends: &Node) -> Result<(), Diagnostic> {
    if services.contains_key(name) {
        return Ok(());
    }
    let hint = match super::suggest::closest(name, services.keys().map(String::as_str)) {
        Some(best) => format!("did you mean `{best}`?"),
        None => format!(
            "the services in {} are: {}",
            file.display(),
            services.keys().cloned().collect::<Vec<_>>().join(", ")
        ),
    };
    Err(Diagnostic::at(
        &extends.span,
        format!(
            "cannot extend service {name:?}: it is not defined in {}",
            file.display()
        ),
    )
    .with_help(hint))
}

/// The services of another file, its relative paths taken against its own directory.
fn read_services(
    file: &Path,
    extends: &Node,
    context: &mut Context,
) -> Result<Mapping, Diagnostic> {
    if !file.is_file() {
        return Err(Diagnostic::at(
            extends
                .get("file")
                .map(|f| &f.span)
                .unwrap_or(&extends.span),
            format!(
                "the file {} named by `extends` does not exist",
                file.display()
            ),
        )
        .with_help("paths are relative to the directory of the file that has the `extends`"));
    }
    context.source_files.push(file.to_path_buf());
    let base = file.parent().unwrap_or(Path::new("/")).to_path_buf();
    let root = context.read(&Source::Path(file.to_path_buf()), &base)?;
    Ok(root
        .as_ref()
        .and_then(|r| r.get("services"))
        .and_then(Node::as_map)
        .cloned()
        .unwrap_or_default())
}
