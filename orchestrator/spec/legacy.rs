//! Older syntaxes compose still accepts, rewritten to the current ones before the typed model
//! is built.

use super::diagnostic::Diagnostic;
use super::yaml::{Entry, Node};

/// `external: {name: real}` is `external: true` with `name: real`.
pub fn rewrite(root: &mut Node, warnings: &mut Vec<Diagnostic>) {
    for section in ["networks", "volumes", "secrets", "configs"] {
        let Some(resources) = root.get_mut(section).and_then(Node::as_map_mut) else {
            continue;
        };
        for (key, entry) in resources.iter_mut() {
            let Some(map) = entry.node.as_map_mut() else {
                continue;
            };
            let Some(external) = map.get_mut("external") else {
                continue;
            };
            let Some(name) = external.node.get("name").cloned() else {
                continue;
            };
            let span = external.node.span.clone();
            warnings.push(
                Diagnostic::at(
                    &span,
                    format!("{section}.{key}: external.name is deprecated"),
                )
                .with_help("write `name: ...` and `external: true`"),
            );
            external.node = Node::new(
                super::yaml::Value::Scalar {
                    text: "true".to_string(),
                    plain: true,
                },
                span.clone(),
            );
            map.insert(
                "name".to_string(),
                Entry {
                    key_span: span,
                    node: name,
                },
            );
        }
    }
}
