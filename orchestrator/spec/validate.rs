//! Compose's consistency rules, checked on the typed model; errors point at the line in the
//! merged tree that they are about.

use super::diagnostic::{Diagnostic, Span};
use super::model::{Model, MountType, Service};
use super::profiles::Selection;
use super::suggest::closest;
use super::yaml::Node;
use crate::graph::{GraphError, ServiceGraph};

pub fn validate(model: &Model, root: &Node, selection: &Selection) -> Result<(), Diagnostic> {
    check_names(root)?;
    check_file_objects(model, root)?;
    for (name, service) in &model.services {
        let at = |path: &[&str]| locate(root, name, path);
        check_service(model, name, service, selection, &at)?;
    }
    check_graph(model, root)
}

type Locate<'a> = dyn Fn(&[&str]) -> Span + 'a;

fn check_service(
    model: &Model,
    name: &str,
    service: &Service,
    selection: &Selection,
    at: &Locate,
) -> Result<(), Diagnostic> {
    if service.image.is_none() && service.build.is_none() && service.provider.is_none() {
        return Err(Diagnostic::at(
            &at(&[]),
            format!("service {name:?} has neither an image nor a build context specified"),
        )
        .with_help("add `image: NAME` or `build: ./DIR`"));
    }
    if service.network_mode.is_some()
        && !service.networks.is_empty()
        && !service.networks.contains_key("default")
    {
        return Err(Diagnostic::at(
            &at(&["network_mode"]),
            format!("service {name:?} declares mutually exclusive `network_mode` and `networks`"),
        )
        .with_help("keep one of the two"));
    }
    for network in service.networks.keys() {
        if !model.networks.contains_key(network) {
            return Err(undefined(
                at(&["networks", network]),
                name,
                "network",
                network,
                model.networks.keys(),
            ));
        }
    }
    if let Some(target) = service
        .network_mode
        .as_deref()
        .and_then(|m| m.strip_prefix("service:"))
        && !model.services.contains_key(target)
    {
        return Err(Diagnostic::at(
            &at(&["network_mode"]),
            format!("service {target:?} named by network_mode of {name:?} is not defined"),
        ));
    }
    for volume in &service.volumes {
        if volume.kind == MountType::Volume
            && let Some(source) = &volume.source
            && !model.volumes.contains_key(source)
        {
            return Err(undefined(
                at(&["volumes", source]),
                name,
                "volume",
                source,
                model.volumes.keys(),
            ));
        }
    }
    let references = [
        ("secret", "secrets", &service.secrets, &model.secrets),
        ("config", "configs", &service.configs, &model.configs),
    ];
    for (kind, key, used, defined) in references {
        if let Some(missing) = used.iter().find(|r| !defined.contains_key(&r.source)) {
            let source = &missing.source;
            return Err(undefined(
                at(&[key, source]),
                name,
                kind,
                source,
                defined.keys(),
            ));
        }
    }
    for (dependency, spec) in &service.depends_on {
        if model.services.contains_key(dependency) {
            continue;
        }
        if selection.disabled.contains_key(dependency) {
            if !spec.required {
                continue;
            }
            return Err(Diagnostic::at(
                &at(&["depends_on", dependency]),
                format!("service {name:?} depends on service {dependency:?}, which no active profile enables"),
            )
            .with_help("enable one of its profiles with --profile, or mark the dependency `required: false`"));
        }
        return Err(undefined(
            at(&["depends_on", dependency]),
            name,
            "service",
            dependency,
            model.services.keys(),
        ));
    }
    if let (Some(scale), Some(replicas)) = (
        service.scale,
        service.deploy.as_ref().and_then(|d| d.replicas),
    ) && scale != replicas
    {
        return Err(Diagnostic::at(
            &at(&["scale"]),
            format!("services.{name}: can't set distinct values on `scale` ({scale}) and `deploy.replicas` ({replicas})"),
        )
        .with_help("remove one of the two"));
    }
    if let (Some(platform), Some(build)) = (&service.platform, &service.build)
        && !build.platforms.is_empty()
        && !build.platforms.contains(platform)
    {
        return Err(Diagnostic::at(
            &at(&["platform"]),
            format!("services.{name}: build.platforms must include the service's platform {platform:?}, as compose requires"),
        )
        .with_help(format!("add {platform} to build.platforms, or change platform")));
    }
    if service.replicas() > 1 && service.container_name.is_some() {
        return Err(Diagnostic::at(
            &at(&["container_name"]),
            format!("services.{name}: can't set container_name with {} replicas, as container names must be unique", service.replicas()),
        )
        .with_help("remove container_name, or run a single replica"));
    }
    if let Some(build) = &service.build
        && build.dockerfile_inline.is_some()
        && build
            .dockerfile
            .as_deref()
            .is_some_and(|d| d != "Dockerfile")
    {
        return Err(Diagnostic::at(
            &at(&["build"]),
            format!(
                "service {name:?} declares mutually exclusive dockerfile and dockerfile_inline"
            ),
        ));
    }
    if let Some(develop) = &service.develop {
        for rule in &develop.watch {
            use super::model::WatchAction::{Rebuild, Restart};
            if rule.target.is_none() && !matches!(rule.action, Rebuild | Restart) {
                return Err(Diagnostic::at(
                    &at(&["develop", "watch"]),
                    format!(
                        "services.{name}.develop.watch: target is required for the {:?} action",
                        rule.action
                    ),
                )
                .with_help("add `target: /path/in/container`"));
            }
        }
    }
    Ok(())
}

/// Service names become container and DNS names: compose allows `[a-zA-Z0-9._-]`.
fn check_names(root: &Node) -> Result<(), Diagnostic> {
    let Some(services) = root.get("services").and_then(Node::as_map) else {
        return Ok(());
    };
    for (name, entry) in services {
        let valid = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if !valid {
            return Err(
                Diagnostic::at(&entry.key_span, format!("invalid service name {name:?}"))
                    .with_help("a service name may contain only letters, digits, `.`, `_` and `-`"),
            );
        }
    }
    Ok(())
}

/// A secret or config comes from somewhere: a file, the environment, inline content (configs),
/// or the engine (external).
fn check_file_objects(model: &Model, root: &Node) -> Result<(), Diagnostic> {
    for (kind, objects) in [("secret", &model.secrets), ("config", &model.configs)] {
        for (name, object) in objects {
            let has_source = object.file.is_some()
                || object.environment.is_some()
                || object.external
                || (kind == "config" && object.content.is_some());
            if !has_source {
                let section = format!("{kind}s");
                let span = root
                    .get(&section)
                    .and_then(Node::as_map)
                    .and_then(|m| m.get(name))
                    .map(|e| e.key_span.clone())
                    .unwrap_or_else(|| root.span.clone());
                let choices = if kind == "config" {
                    "`file`, `environment` or `content`"
                } else {
                    "`file` or `environment`"
                };
                return Err(Diagnostic::at(
                    &span,
                    format!("{kind} {name:?} must declare either {choices}"),
                )
                .with_help(format!(
                    "add `file: ./{name}.txt`, or `external: true` if it already exists"
                )));
            }
        }
    }
    Ok(())
}

fn undefined<'a>(
    span: Span,
    service: &str,
    kind: &str,
    name: &str,
    known: impl Iterator<Item = &'a String>,
) -> Diagnostic {
    let known: Vec<&str> = known.map(String::as_str).collect();
    let section = if kind == "service" {
        "services"
    } else {
        &format!("{kind}s")
    };
    let help = match closest(name, known.iter().copied()) {
        Some(best) => format!("did you mean {best:?}?"),
        None => format!("define it under the top-level `{section}:` key"),
    };
    let message = if kind == "service" {
        format!("service {service:?} depends on undefined service {name:?}")
    } else {
        format!("service {service:?} refers to undefined {kind} {name:?}")
    };
    Diagnostic::at(&span, message).with_help(help)
}

fn check_graph(model: &Model, root: &Node) -> Result<(), Diagnostic> {
    let graph = ServiceGraph::new(model.services.iter().map(|(name, s)| {
        (
            name.as_str(),
            s.depends_on
                .keys()
                .filter(|d| model.services.contains_key(*d))
                .map(String::as_str),
        )
    }));
    match graph {
        Ok(_) => Ok(()),
        Err(GraphError::Cycle(cycle)) => {
            let first = &cycle[0];
            let next = cycle.get(1).map(String::as_str).unwrap_or(first);
            Err(Diagnostic::at(
                &locate(root, first, &["depends_on", next]),
                format!("dependency cycle detected: {}", cycle.join(" -> ")),
            )
            .with_help("remove one of these depends_on entries"))
        }
        Err(other) => Err(Diagnostic::at(&locate(root, "", &[]), other.to_string())),
    }
}

/// The most precise span for a key of a service: the deepest part of `path` that exists. In a
/// list, an item matches by its text (`db`, `db:/data`) or its `source`.
pub fn locate(root: &Node, service: &str, path: &[&str]) -> Span {
    let services = root.get("services");
    let mut span = root.span.clone();
    let Some(entry) = services.and_then(Node::as_map).and_then(|m| m.get(service)) else {
        return span;
    };
    span = entry.key_span.clone();
    let mut node = &entry.node;
    for key in path {
        if let Some(entry) = node.as_map().and_then(|m| m.get(*key)) {
            span = entry.key_span.clone();
            node = &entry.node;
            continue;
        }
        if let Some(item) = node
            .as_seq()
            .and_then(|items| items.iter().find_map(|i| item_matches(i, key)))
        {
            span = item.span.clone();
        }
        break;
    }
    span
}

/// The node of a list item that names `key`: the item itself (`db`, `db:/data`), or its
/// `source` or `path` value.
fn item_matches<'a>(item: &'a Node, key: &str) -> Option<&'a Node> {
    match item.scalar_text() {
        Some(text) if !item.is_null() => {
            let named = text == key || text.strip_prefix(key).is_some_and(|r| r.starts_with(':'));
            named.then_some(item)
        }
        _ => ["source", "path"]
            .iter()
            .filter_map(|k| item.get(k))
            .find(|value| value.scalar_text() == Some(key)),
    }
}
