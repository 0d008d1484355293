//! Which services of a stack an `up` or a `down` with service arguments acts on, picked as
//! compose picks them: `up SERVICE...` the named services and (unless `--no-deps`) what they
//! depend on (`depends_on`, transitively); `down SERVICE...` the named services and the services
//! that depend on them. Every other service of the stack is left exactly as it is. Pure.

use std::collections::BTreeSet;

use bollard::models::ServiceSpec;
use indexmap::IndexMap;

use super::files::{FileKind, StackFile};
use super::names;
use super::stack::Stack;
use crate::spec::Project;

/// The services a verb acts on, by swarm name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// `None`: the whole stack (no service argument).
    services: Option<BTreeSet<String>>,
    /// The services the arguments name (without what they brought along).
    named: BTreeSet<String>,
}

/// A service argument that names no service: compose's words, as the local target says them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no such service: {0}")]
pub struct UnknownService(pub String);

impl Scope {
    /// The whole stack.
    pub fn all() -> Scope {
        Scope::default()
    }

    /// `up`'s: the services `keys` (compose keys; none: the whole stack) and, unless
    /// `no_deps`, their dependencies.
    pub fn up(stack: &Stack, keys: &[String], no_deps: bool) -> Result<Scope, UnknownService> {
        let known = |name: &str| stack.services.contains_key(name);
        let dependencies = |name: &str| -> Vec<String> {
            match no_deps {
                true => Vec::new(),
                false => stack
                    .depends_on
                    .get(name)
                    .into_iter()
                    .flatten()
                    .map(|(d, _)| d.clone())
                    .collect(),
            }
        };
        closure(&stack.project, keys, known, dependencies)
    }

    /// `down`'s: the services `keys` and the services that depend on them; `dependencies` is
    /// each service's `depends_on` by swarm name (empty without a compose file: then only the
    /// named services), `known` whether a swarm name is one of the project's services.
    pub fn down(
        project: &str,
        keys: &[String],
        dependencies: &IndexMap<String, Vec<String>>,
        known: impl Fn(&str) -> bool,
    ) -> Result<Scope, UnknownService> {
        let dependents = |name: &str| -> Vec<String> {
            let depending = dependencies
                .iter()
                .filter(|(_, deps)| deps.iter().any(|d| d == name));
            depending.map(|(service, _)| service.clone()).collect()
        };
        closure(project, keys, known, dependents)
    }

    /// This scope with the services `more` too (the whole stack stays the whole stack).
    pub fn and(mut self, more: impl IntoIterator<Item = String>) -> Scope {
        if let Some(services) = self.services.as_mut() {
            services.extend(more);
        }
        self
    }

    pub fn is_all(&self) -> bool {
        self.services.is_none()
    }

    /// Whether the service `name` was named (every service is, for the whole stack): compose's
    /// `--force-recreate` forces these, and their dependencies only when they changed.
    pub fn is_named(&self, name: &str) -> bool {
        self.is_all() || self.named.contains(name)
    }

    /// Whether the service `name` (a swarm name) is in scope.
    pub fn contains(&self, name: &str) -> bool {
        self.services.as_ref().is_none_or(|s| s.contains(name))
    }

    /// Whether a service in scope attaches to the stack's network `name` (every network of the
    /// stack is, for the whole stack, as before scoping).
    pub fn needs_network(&self, stack: &Stack, name: &str) -> bool {
        self.is_all() || self.specs(stack).any(|spec| attaches(spec, name))
    }

    /// Whether a service in scope uses the secret or config version `file`.
    pub fn needs_file(&self, stack: &Stack, file: &StackFile) -> bool {
        self.is_all()
            || self
                .specs(stack)
                .any(|spec| uses(spec, file.kind, &file.name))
    }

    fn specs<'a>(&'a self, stack: &'a Stack) -> impl Iterator<Item = &'a ServiceSpec> {
        let scoped = stack
            .services
            .iter()
            .filter(|(name, _)| self.contains(name));
        scoped.map(|(_, spec)| spec)
    }
}

/// Each service's `depends_on`, by swarm name, from the compose file.
pub fn dependencies(project: &Project) -> IndexMap<String, Vec<String>> {
    let scoped = |key: &str| names::scoped(&project.name, key);
    project
        .model
        .services
        .iter()
        .map(|(key, service)| {
            let deps = service.depends_on.keys().map(|d| scoped(d)).collect();
            (scoped(key), deps)
        })
        .collect()
}

/// `keys` as swarm names, each checked with `known`, and what `next` reaches from them.
fn closure(
    project: &str,
    keys: &[String],
    known: impl Fn(&str) -> bool,
    next: impl Fn(&str) -> Vec<String>,
) -> Result<Scope, UnknownService> {
    if keys.is_empty() {
        return Ok(Scope::all());
    }
    let mut todo = Vec::new();
    for key in keys {
        let name = names::scoped(project, key);
        if !known(&name) {
            return Err(UnknownService(key.clone()));
        }
        todo.push(name);
    }
    let named = todo.iter().cloned().collect();
    let mut services = BTreeSet::new();
    while let Some(name) = todo.pop() {
        if services.insert(name.clone()) {
            todo.extend(next(&name));
        }
    }
    Ok(Scope {
        services: Some(services),
        named,
    })
}

fn attaches(spec: &ServiceSpec, network: &str) -> bool {
    let template = spec.task_template.as_ref();
    let networks = template.and_then(|t| t.networks.as_ref());
    networks
        .into_iter()
        .flatten()
        .any(|n| n.target.as_deref() == Some(network))
}

fn uses(spec: &ServiceSpec, kind: FileKind, name: &str) -> bool {
    let template = spec.task_template.as_ref();
    let Some(container) = template.and_then(|t| t.container_spec.as_ref()) else {
        return false;
    };
    let name = Some(name);
    match kind {
        FileKind::Secret => container
            .secrets
            .iter()
            .flatten()
            .any(|s| s.secret_name.as_deref() == name),
        FileKind::Config => container
            .configs
            .iter()
            .flatten()
            .any(|c| c.config_name.as_deref() == name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::swarm::stack::tests::project;

    /// web needs api, api needs db; cache stands alone.
    const CHAIN: &str = "services:\n  web: {image: b, depends_on: [api], networks: [front]}\n  api: {image: b, depends_on: [db]}\n  db: {image: b}\n  cache: {image: b, networks: [front]}\nnetworks:\n  front: {}\n";

    fn names(scope: &Scope, stack: &Stack) -> Vec<String> {
        let keys = stack.services.keys().filter(|n| scope.contains(n));
        keys.map(|n| n.trim_start_matches("shop_").to_string())
            .collect()
    }

    #[test]
    fn up_takes_the_named_services_and_their_dependencies_transitively() {
        let stack = Stack::new(&project(CHAIN)).unwrap();
        let scope = Scope::up(&stack, &["web".into()], false).unwrap();
        assert_eq!(names(&scope, &stack), ["db", "api", "web"]);
        assert!(scope.is_named("shop_web") && !scope.is_named("shop_db"));
        let alone = Scope::up(&stack, &["web".into()], true).unwrap();
        assert_eq!(names(&alone, &stack), ["web"]);
        assert!(Scope::up(&stack, &[], true).unwrap().is_all());
    }

    #[test]
    fn an_unknown_service_is_refused_with_composes_words() {
        let stack = Stack::new(&project(CHAIN)).unwrap();
        let error = Scope::up(&stack, &["web".into(), "wbe".into()], false).unwrap_err();
        assert_eq!(error.to_string(), "no such service: wbe");
    }

    #[test]
    fn down_takes_the_named_services_and_their_dependents() {
        let project = project(CHAIN);
        let stack = Stack::new(&project).unwrap();
        let graph = dependencies(&project);
        let known = |name: &str| stack.services.contains_key(name);
        let scope = Scope::down("shop", &["db".into()], &graph, known).unwrap();
        assert_eq!(names(&scope, &stack), ["db", "api", "web"]);
        let scope = Scope::down("shop", &["web".into()], &graph, known).unwrap();
        assert_eq!(names(&scope, &stack), ["web"]);
        let without_file = Scope::down("shop", &["db".into()], &IndexMap::new(), known).unwrap();
        assert_eq!(names(&without_file, &stack), ["db"]);
    }

    #[test]
    fn a_scope_needs_the_networks_its_services_attach_to() {
        let stack = Stack::new(&project(CHAIN)).unwrap();
        let db = Scope::up(&stack, &["db".into()], false).unwrap();
        assert!(db.needs_network(&stack, "shop_default"));
        assert!(!db.needs_network(&stack, "shop_front"));
        let cache = Scope::up(&stack, &["cache".into()], false).unwrap();
        assert!(cache.needs_network(&stack, "shop_front"));
        assert!(!cache.needs_network(&stack, "shop_default"));
    }
}
