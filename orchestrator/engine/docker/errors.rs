//! bollard's errors as wharf's `EngineError`: the subject a 404 names, a 409 on a create as a
//! conflict, a failure to reach the engine as `Unreachable`, the engine's own words otherwise.

use bollard::errors::Error as BollardError;

use crate::desired::ContainerSpec;
use crate::engine::EngineError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Op {
    /// A 409 means the thing exists already.
    Create,
    /// A 409 is some other conflict ("volume is in use"): the engine's message says which.
    Other,
}

/// 404 → `NotFound(what)` (or what the engine says is missing, when that is something else:
/// a start fails on a missing network); 409 on a create → `Conflict(what)`; a failure to talk
/// to the engine → `Unreachable`; anything else → `Engine` with the engine's message.
pub(super) fn map_error(err: BollardError, what: &str, op: Op) -> EngineError {
    match err {
        BollardError::DockerResponseServerError {
            status_code: 404,
            message,
        } => EngineError::NotFound(missing_subject(&message).unwrap_or_else(|| what.to_string())),
        BollardError::DockerResponseServerError {
            status_code: 409, ..
        } if op == Op::Create => EngineError::Conflict(what.to_string()),
        other => engine_error(other),
    }
}

/// The error of a call about container `id`.
pub(super) fn container_error(id: &str, err: BollardError) -> EngineError {
    map_error(err, &format!("container {id}"), Op::Other)
}

/// An error without a subject: `Unreachable` or `Engine`.
pub fn engine_error(err: BollardError) -> EngineError {
    match err {
        BollardError::DockerResponseServerError { message, .. } => EngineError::Engine {
            message: message.trim().to_string(),
        },
        BollardError::DockerStreamError { error } => EngineError::Engine {
            message: error.trim().to_string(),
        },
        e @ (BollardError::HyperLegacyError { .. }
        | BollardError::HyperResponseError { .. }
        | BollardError::IOError { .. }
        | BollardError::SocketNotFoundError(_)
        | BollardError::RequestTimeoutError
        | BollardError::UnsupportedURISchemeError { .. }) => {
            EngineError::Unreachable(error_chain(&e))
        }
        other => EngineError::Engine {
            message: error_chain(&other),
        },
    }
}

/// An engine's failure in other words (what wharf was doing, with the engine's message); the
/// other errors say enough as they are.
pub(super) fn reworded(error: EngineError, reword: impl FnOnce(&str) -> String) -> EngineError {
    match error {
        EngineError::Engine { message } => EngineError::Engine {
            message: reword(&message),
        },
        other => other,
    }
}

/// An error and its sources, `a: b: c` (hyper's own message is only "client error (Connect)").
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut message = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}

/// What a 404's message says is missing: `No such container: x`, `network x not found`,
/// `No such image: x`, `get x: no such volume`.
fn missing_subject(message: &str) -> Option<String> {
    let message = message.trim();
    let lower = message.to_lowercase();
    for (marker, kind) in [
        ("no such container: ", "container"),
        ("no such image: ", "image"),
    ] {
        if let Some(at) = lower.rfind(marker) {
            let subject = message[at + marker.len()..].trim();
            if !subject.is_empty() {
                return Some(format!("{kind} {subject}"));
            }
        }
    }
    if let Some(rest) = message.strip_prefix("network ") {
        if let Some(name) = rest.strip_suffix(" not found") {
            return Some(format!("network {name}"));
        }
    }
    if let Some(rest) = message.strip_prefix("get ") {
        if let Some(name) = rest.strip_suffix(": no such volume") {
            return Some(format!("volume {name}"));
        }
    }
    None
}

/// A 404 at create names the image (or network) that is missing.
pub(super) fn create_error(err: BollardError, name: &str, spec: &ContainerSpec) -> EngineError {
    match err {
        // The image is there, for another platform than the container's, or a volume
        // driver is missing: the engine's words say which.
        BollardError::DockerResponseServerError {
            status_code: 404,
            message,
        } if message.contains("does not match the specified platform")
            || message.contains("plugin") =>
        {
            EngineError::Engine { message }
        }
        BollardError::DockerResponseServerError {
            status_code: 404,
            message,
        } => EngineError::NotFound(
            missing_subject(&message).unwrap_or_else(|| format!("image {}", spec.image)),
        ),
        e => map_error(e, &format!("container {name}"), Op::Create),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_subjects() {
        assert_eq!(
            missing_subject("No such container: abc").as_deref(),
            Some("container abc")
        );
        assert_eq!(
            missing_subject("network p_front not found").as_deref(),
            Some("network p_front")
        );
        assert_eq!(
            missing_subject("no such image: x: No such image: x:latest").as_deref(),
            Some("image x:latest")
        );
        assert_eq!(
            missing_subject("get p_data: no such volume").as_deref(),
            Some("volume p_data")
        );
        assert_eq!(missing_subject("page not found"), None);
    }
}
