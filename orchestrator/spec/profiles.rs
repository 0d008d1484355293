//! Profiles: a service with `profiles:` runs only when one of them is active.

use indexmap::IndexMap;

use super::yaml::{Entry, Node};

/// `--profile` values, else `COMPOSE_PROFILES` (comma-separated).
pub fn active(cli: &[String], env: &IndexMap<String, String>) -> Vec<String> {
    if !cli.is_empty() {
        return cli.to_vec();
    }
    env.get("COMPOSE_PROFILES")
        .map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// Which services the active profiles leave out.
#[derive(Debug, Default)]
pub struct Selection {
    /// Every profile named by a service, sorted.
    pub all_profiles: Vec<String>,
    pub disabled: IndexMap<String, Entry>,
}

/// Removes the services no active profile enables from `root`.
pub fn select(root: &mut Node, active: &[String]) -> Selection {
    let mut selection = Selection::default();
    let Some(services) = root.get_mut("services").and_then(Node::as_map_mut) else {
        return selection;
    };
    let all = std::mem::take(services);
    for (name, entry) in all {
        let profiles: Vec<String> = entry
            .node
            .get("profiles")
            .and_then(Node::as_seq)
            .map(|items| {
                items
                    .iter()
                    .filter_map(|p| p.scalar_text().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        for p in &profiles {
            if !selection.all_profiles.contains(p) {
                selection.all_profiles.push(p.clone());
            }
        }
        let enabled =
            profiles.is_empty() || active.iter().any(|a| a == "*" || profiles.contains(a));
        if enabled {
            services.insert(name, entry);
        } else {
            selection.disabled.insert(name, entry);
        }
    }
    selection.all_profiles.sort();
    selection
}
