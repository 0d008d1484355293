//! Merging compose files (and `extends`): later values override earlier ones, with compose's
//! rules for the keys where plain overriding would be wrong.

use indexmap::IndexMap;

use super::de::from_node;
use super::model::VolumeMount;
use super::short::{PortEntry, Short};
use super::yaml::{Entry, Mapping, MergeTag, Node, Value};

/// How a key merges, by its path below the top level (`*` matches any name).
#[derive(Clone, Copy)]
enum Rule {
    /// The later value replaces the earlier one.
    Replace,
    /// `KEY=VALUE` lists and mappings merge by key.
    ByKey,
    /// Lists of names and mappings merge by name (`depends_on`, service `networks`).
    ByName,
    /// A string is the `context` of a mapping; then mappings merge.
    Build,
    /// Lists whose items are unique by an identity: the later item replaces the earlier one.
    Unique(fn(&Node) -> String),
    /// Lists whose items are unique by value.
    Set,
    Logging,
}

fn rule(path: &[&str]) -> Option<Rule> {
    use Rule::*;
    let rule = match path {
        ["services", _, "command" | "entrypoint"] => Replace,
        ["services", _, "healthcheck", "test"] => Replace,
        [
            "services",
            _,
            "environment" | "labels" | "annotations" | "sysctls" | "extra_hosts",
        ] => ByKey,
        [
            "services",
            _,
            "build",
            "args" | "labels" | "additional_contexts" | "extra_hosts",
        ] => ByKey,
        ["services", _, "deploy", "labels"] => ByKey,
        ["networks" | "volumes" | "secrets" | "configs", _, "labels"] => ByKey,
        ["services", _, "depends_on" | "networks"] => ByName,
        ["services", _, "build"] => Build,
        ["services", _, "ports"] => Unique(port_identity),
        ["services", _, "volumes"] => Unique(volume_identity),
        ["services", _, "secrets" | "configs"] => Unique(reference_identity),
        ["services", _, "env_file"] => Unique(env_file_identity),
        ["services", _, "logging"] => Logging,
        ["services", _, _] => return None,
        _ => return None,
    };
    Some(rule)
}

/// Lists of a service whose items are plain strings and never repeat.
fn is_set(path: &[&str]) -> bool {
    matches!(
        path,
        [
            "services",
            _,
            "cap_add"
                | "cap_drop"
                | "dns"
                | "dns_opt"
                | "dns_search"
                | "expose"
                | "security_opt"
                | "profiles"
                | "links"
                | "external_links"
                | "volumes_from"
                | "device_cgroup_rules"
                | "group_add"
                | "tmpfs"
                | "label_file"
        ]
    )
}

/// Merges `over` (a later file) into `base`. `None` means the key is removed (`!reset`).
pub fn merge(base: Node, over: Node, path: &mut Vec<String>) -> Option<Node> {
    match over.tag {
        Some(MergeTag::Reset) => return None,
        Some(MergeTag::Override) => return Some(untagged(over)),
        None => {}
    }
    let keys: Vec<&str> = path.iter().map(String::as_str).collect();
    let rule = rule(&keys).or_else(|| is_set(&keys).then_some(Rule::Set));
    let merged = match rule {
        Some(Rule::Replace) => over,
        Some(Rule::ByKey) => merge_maps(to_key_map(base), to_key_map(over), path),
        Some(Rule::ByName) => merge_maps(to_name_map(base), to_name_map(over), path),
        Some(Rule::Build) => merge_maps(build_map(base), build_map(over), path),
        Some(Rule::Unique(identity)) => unique(base, over, identity),
        Some(Rule::Set) => unique(as_list(base), as_list(over), |n| {
            n.scalar_text().unwrap_or("").to_string()
        }),
        Some(Rule::Logging) => {
            let driver = |n: &Node| {
                n.get("driver")
                    .and_then(|d| d.scalar_text())
                    .map(str::to_owned)
            };
            match (driver(&base), driver(&over)) {
                (Some(a), Some(b)) if a != b => over,
                _ => merge_maps(base, over, path),
            }
        }
        None => match (&base.value, &over.value) {
            (Value::Map(_), Value::Map(_)) => merge_maps(base, over, path),
            (Value::Seq(_), Value::Seq(_)) => unique(base, over, |_| String::new()),
            _ => over,
        },
    };
    Some(merged)
}

fn untagged(mut node: Node) -> Node {
    node.tag = None;
    node
}

/// Merges two mappings key by key; a value that is not a mapping is taken as is.
fn merge_maps(base: Node, over: Node, path: &mut Vec<String>) -> Node {
    if !matches!((&base.value, &over.value), (Value::Map(_), Value::Map(_))) {
        // Shapes that do not merge (a mapping over a string): the later file wins, and the
        // typed model reports the shape if it is wrong.
        return over;
    }
    let span = over.span.clone();
    let (Value::Map(mut left), Value::Map(right)) = (base.value, over.value) else {
        unreachable!("checked above")
    };
    for (key, entry) in right {
        path.push(key.clone());
        match left.shift_remove_full(&key) {
            Some((index, _, old)) => {
                if let Some(node) = merge(old.node, entry.node, path) {
                    let (new_index, _) = left.insert_full(
                        key,
                        Entry {
                            key_span: entry.key_span,
                            node,
                        },
                    );
                    left.move_index(new_index, index.min(left.len() - 1));
                }
            }
            None if entry.node.tag == Some(MergeTag::Reset) => {}
            None => {
                let node = strip_tags(entry.node);
                left.insert(
                    key,
                    Entry {
                        key_span: entry.key_span,
                        node,
                    },
                );
            }
        }
        path.pop();
    }
    Node::map(left, span)
}

/// Removes `!reset` values and `!override` tags from a value that has nothing to merge with.
pub fn strip_tags(mut node: Node) -> Node {
    strip_tags_in_place(&mut node);
    node
}

/// The same, in place: the maps keep their order and are not rebuilt (a 1000-service file spent
/// a sixth of its load rehashing them).
fn strip_tags_in_place(node: &mut Node) {
    node.tag = None;
    match &mut node.value {
        Value::Map(m) => {
            m.retain(|_, e| e.node.tag != Some(MergeTag::Reset));
            for entry in m.values_mut() {
                strip_tags_in_place(&mut entry.node);
            }
        }
        Value::Seq(items) => {
            items.retain(|n| n.tag != Some(MergeTag::Reset));
            for item in items {
                strip_tags_in_place(item);
            }
        }
        Value::Scalar { .. } => {}
    }
}

/// Appends `over`'s items to `base`'s; an item whose identity is already there replaces it in
/// place. An empty identity means "always append".
fn unique(base: Node, over: Node, identity: fn(&Node) -> String) -> Node {
    if !matches!((&base.value, &over.value), (Value::Seq(_), Value::Seq(_))) {
        return over;
    }
    let span = over.span.clone();
    let (Value::Seq(left), Value::Seq(right)) = (base.value, over.value) else {
        unreachable!("checked above")
    };
    let mut items: Vec<Node> = Vec::with_capacity(left.len() + right.len());
    let mut seen: IndexMap<String, usize> = IndexMap::new();
    for item in left.into_iter().chain(right) {
        let id = identity(&item);
        if id.is_empty() {
            items.push(item);
            continue;
        }
        match seen.get(&id) {
            Some(&at) => items[at] = item,
            None => {
                seen.insert(id, items.len());
                items.push(item);
            }
        }
    }
    Node::seq(items, span)
}

/// `dns: 1.1.1.1` merges as `dns: [1.1.1.1]`.
fn as_list(node: Node) -> Node {
    match node.value {
        Value::Scalar { .. } if !node.is_null() => {
            let span = node.span.clone();
            Node::seq(vec![node], span)
        }
        _ => node,
    }
}

fn port_identity(node: &Node) -> String {
    match from_node::<PortEntry>(node) {
        Ok(PortEntry(p)) if p.len() == 1 => p[0].merge_key(),
        _ => node.scalar_text().unwrap_or("").to_string(),
    }
}

fn volume_identity(node: &Node) -> String {
    match from_node::<Short<VolumeMount>>(node) {
        Ok(mount) => super::short::clean_target(&mount.0.target),
        Err(_) => node.scalar_text().unwrap_or("").to_string(),
    }
}

fn reference_identity(node: &Node) -> String {
    node.scalar_text()
        .or_else(|| node.get("source").and_then(Node::scalar_text))
        .unwrap_or("")
        .to_string()
}

fn env_file_identity(node: &Node) -> String {
    node.scalar_text()
        .or_else(|| node.get("path").and_then(Node::scalar_text))
        .unwrap_or("")
        .to_string()
}

/// `["A=1", "B"]` as the mapping `{A: "1", B: null}`, so that lists and mappings merge by key.
fn to_key_map(node: Node) -> Node {
    to_map(node, |item| {
        let text = item.scalar_text()?;
        let (key, value) = match text.split_once('=') {
            Some((k, v)) => (k.to_string(), Node::string(v, item.span.clone())),
            None => (text.to_string(), Node::null(item.span.clone())),
        };
        Some((key, value))
    })
}

/// `[db, cache]` as `{db: null, cache: null}`.
fn to_name_map(node: Node) -> Node {
    to_map(node, |item| {
        Some((
            item.scalar_text()?.to_string(),
            Node::null(item.span.clone()),
        ))
    })
}

fn to_map(node: Node, entry: impl Fn(&Node) -> Option<(String, Node)>) -> Node {
    let Value::Seq(items) = &node.value else {
        return node;
    };
    let mut mapping = Mapping::new();
    for item in items {
        let Some((key, value)) = entry(item) else {
            return node;
        };
        mapping.insert(
            key,
            Entry {
                key_span: item.span.clone(),
                node: value,
            },
        );
    }
    Node::map(mapping, node.span.clone())
}

fn build_map(node: Node) -> Node {
    if let Value::Scalar { .. } = &node.value
        && !node.is_null()
    {
        let mut mapping = Mapping::new();
        mapping.insert(
            "context".to_string(),
            Entry {
                key_span: node.span.clone(),
                node: node.clone(),
            },
        );
        return Node::map(mapping, node.span);
    }
    node
}
