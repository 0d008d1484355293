//! `include`: other compose projects whose resources become part of this one. Each included
//! project is loaded on its own (its own project directory and `.env`), then its services,
//! networks, volumes, secrets and configs are added; a name defined twice is an error.

use std::path::{Path, PathBuf};

use super::diagnostic::Diagnostic;
use super::discover::Source;
use super::load::Context;
use super::yaml::{Entry, Mapping, Node, Value};
use super::{extends, merge};

const SECTIONS: [&str; 5] = ["services", "networks", "volumes", "secrets", "configs"];

pub fn apply(root: &mut Node, context: &mut Context, file: &Path) -> Result<(), Diagnostic> {
    apply_with_stack(root, context, file, &mut vec![file.to_path_buf()])
}

fn apply_with_stack(
    root: &mut Node,
    context: &mut Context,
    file: &Path,
    stack: &mut Vec<PathBuf>,
) -> Result<(), Diagnostic> {
    let Some(map) = root.as_map_mut() else {
        return Ok(());
    };
    let Some(entry) = map.shift_remove("include") else {
        return Ok(());
    };
    let items = match &entry.node.value {
        Value::Seq(items) => items.clone(),
        _ if entry.node.is_null() => Vec::new(),
        _ => {
            return Err(Diagnostic::at(&entry.node.span, "`include` must be a list")
                .with_help("write `include:` followed by `- path/to/compose.yaml` items"));
        }
    };
    for item in &items {
        let included = load_item(item, context, file, stack)?;
        add_resources(root, included, item)?;
    }
    Ok(())
}

/// One `include` item: `- path` or `- {path, project_directory, env_file}`.
fn load_item(
    item: &Node,
    context: &mut Context,
    file: &Path,
    stack: &mut Vec<PathBuf>,
) -> Result<Node, Diagnostic> {
    let paths = strings(item.get("path").unwrap_or(item));
    if paths.is_empty() {
        return Err(Diagnostic::at(&item.span, "an `include` item needs a path")
            .with_help("write `- path: other/compose.yaml`"));
    }
    let paths: Vec<PathBuf> = paths.into_iter().map(PathBuf::from).collect();
    let project_dir = item
        .get("project_directory")
        .and_then(Node::scalar_text)
        .map(PathBuf::from)
        .unwrap_or_else(|| paths[0].parent().map(Path::to_path_buf).unwrap_or_default());
    let env_files: Vec<(PathBuf, bool)> = match item.get("env_file") {
        Some(node) => strings(node)
            .into_iter()
            .map(|p| (PathBuf::from(p), true))
            .collect(),
        None => vec![(project_dir.join(".env"), false)],
    };

    // The included project interpolates with its own env files under the process environment.
    let mut env = context.env.clone();
    for (path, required) in env_files {
        let outer = context.env.clone();
        let lookup = move |name: &str| outer.get(name).cloned();
        if let Some(values) = context.read_env_file(&path, required, false, &lookup)? {
            for (k, v) in values {
                env.entry(k).or_insert(v);
            }
        }
    }
    let saved = std::mem::replace(&mut context.env, env);
    let result = load_paths(&paths, &project_dir, item, context, file, stack);
    context.env = saved;
    result
}

fn load_paths(
    paths: &[PathBuf],
    project_dir: &Path,
    item: &Node,
    context: &mut Context,
    file: &Path,
    stack: &mut Vec<PathBuf>,
) -> Result<Node, Diagnostic> {
    let mut merged: Option<Node> = None;
    for path in paths {
        if stack.contains(path) {
            let chain: Vec<String> = stack
                .iter()
                .chain(std::iter::once(path))
                .map(|p| p.display().to_string())
                .collect();
            return Err(Diagnostic::at(
                &item.span,
                format!("include cycle: {}", chain.join(" -> ")),
            )
            .with_help("remove one of the includes"));
        }
        if !path.is_file() {
            return Err(Diagnostic::at(
                &item.span,
                format!("included file {} does not exist", path.display()),
            )
            .with_help(format!("paths are relative to {}", parent(file).display())));
        }
        context.source_files.push(path.clone());
        let Some(mut node) = context.read(&Source::Path(path.clone()), project_dir)? else {
            continue;
        };
        stack.push(path.clone());
        apply_with_stack(&mut node, context, path, stack)?;
        stack.pop();
        extends::apply(&mut node, context, path)?;
        merged = Some(match merged {
            None => merge::strip_tags(node),
            Some(base) => merge::merge(base, node, &mut Vec::new()).unwrap_or(base_empty(item)),
        });
    }
    Ok(merged.unwrap_or_else(|| base_empty(item)))
}

fn base_empty(item: &Node) -> Node {
    Node::map(Mapping::new(), item.span.clone())
}

fn parent(file: &Path) -> PathBuf {
    file.parent().map(Path::to_path_buf).unwrap_or_default()
}

fn strings(node: &Node) -> Vec<String> {
    match &node.value {
        Value::Scalar { text, .. } if !node.is_null() => vec![text.clone()],
        Value::Seq(items) => items
            .iter()
            .filter_map(|i| i.scalar_text().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

fn add_resources(root: &mut Node, included: Node, item: &Node) -> Result<(), Diagnostic> {
    let Value::Map(mut sections) = included.value else {
        return Ok(());
    };
    let root_map = root.as_map_mut().expect("the root is a mapping");
    for section in SECTIONS {
        let Some(Entry {
            node:
                Node {
                    value: Value::Map(resources),
                    ..
                },
            ..
        }) = sections.shift_remove(section)
        else {
            continue;
        };
        let target = root_map
            .entry(section.to_string())
            .or_insert_with(|| Entry {
                key_span: item.span.clone(),
                node: Node::map(Mapping::new(), item.span.clone()),
            });
        if target.node.is_null() {
            target.node = Node::map(Mapping::new(), target.node.span.clone());
        }
        let Some(existing) = target.node.as_map_mut() else {
            continue;
        };
        for (name, resource) in resources {
            if let Some(local) = existing.get(&name) {
                return Err(Diagnostic::at(
                    &local.key_span,
                    format!("{section}.{name} conflicts with a resource of the same name imported by `include`"),
                )
                .with_help("rename one of the two, or remove it from this file"));
            }
            existing.insert(name, resource);
        }
    }
    Ok(())
}
