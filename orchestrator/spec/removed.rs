//! Service keys that compose v2's schema rejects although older compose versions or drafts of
//! the specification had them: an error at the key, saying what to write instead, as compose v2
//! refuses the whole file (`services.web additional properties 'volume_driver' not allowed`).
//! They are checked on the merged tree before profiles are applied, because compose validates
//! every service, enabled or not.

use super::diagnostic::Diagnostic;
use super::yaml::Node;

/// The key, and how to get what it meant without it.
const SERVICE: &[(&str, &str)] = &[
    (
        "volume_driver",
        "give the driver to a named volume instead: `volumes: {data: {driver: …}}` at the top \
         level, mounted as `data:/path`",
    ),
    (
        "pre_start",
        "run the command in a one-shot service that this one `depends_on` with \
         `condition: service_completed_successfully`, or in a `post_start` hook",
    ),
];

/// The first removed key of any service, as an error at the key.
pub fn check(root: &Node) -> Result<(), Diagnostic> {
    let services = root.get("services").and_then(Node::as_map);
    for (name, service) in services.into_iter().flatten() {
        let Some(keys) = service.node.as_map() else {
            continue;
        };
        for &(key, fix) in SERVICE {
            if let Some(entry) = keys.get(key) {
                return Err(Diagnostic::at(
                    &entry.key_span,
                    format!("services.{name}: `{key}` is not allowed: compose v2 rejects it too"),
                )
                .with_help(fix));
            }
        }
    }
    Ok(())
}
