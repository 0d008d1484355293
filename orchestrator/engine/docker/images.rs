//! Images: an image's ID and details, pull, push, removal, and a commit of a container.

use bollard::Docker;
use bollard::auth::DockerCredentials;
use bollard::errors::Error as BollardError;
use bollard::query_parameters::{CreateImageOptionsBuilder, RemoveImageOptions};
use futures_util::stream::StreamExt;

use super::client::LONG_REQUEST_TIMEOUT;
use super::errors::{Op, container_error, engine_error, map_error, reworded};
use crate::engine::registry_auth::{self, RegistryAuth};
use crate::engine::timestamp::unix_seconds;
use crate::engine::{CommitRequest, EngineError, ImageDetails, Result};

/// The local image's ID; `None` when there is no such image.
pub(super) async fn id(docker: &Docker, reference: &str) -> Result<Option<String>> {
    match docker.inspect_image(reference).await {
        Ok(image) => Ok(image.id),
        Err(BollardError::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(None),
        Err(e) => Err(engine_error(e)),
    }
}

pub(super) async fn pull(
    docker: &Docker,
    auth: &RegistryAuth,
    reference: &str,
    platform: Option<&str>,
) -> Result<()> {
    let credentials = credentials(auth, "pull", reference).await?;
    let (repository, tag) = split_reference(reference);
    let mut options = CreateImageOptionsBuilder::new().from_image(&repository);
    if let Some(tag) = &tag {
        options = options.tag(tag);
    }
    if let Some(platform) = platform {
        options = options.platform(platform);
    }
    let docker = docker.clone().with_timeout(LONG_REQUEST_TIMEOUT);
    let mut progress = docker.create_image(Some(options.build()), None, credentials);
    while let Some(item) = progress.next().await {
        if let Err(e) = item {
            return Err(reworded(engine_error(e), |message| {
                with_login_hint(
                    reference,
                    format!("cannot pull image {reference}: {message}"),
                )
            }));
        }
    }
    Ok(())
}

pub(super) async fn push(docker: &Docker, auth: &RegistryAuth, reference: &str) -> Result<()> {
    let credentials = credentials(auth, "push", reference).await?;
    let (repository, tag) = split_reference(reference);
    let mut options = bollard::query_parameters::PushImageOptionsBuilder::new();
    if let Some(tag) = &tag {
        options = options.tag(tag);
    }
    let docker = docker.clone().with_timeout(LONG_REQUEST_TIMEOUT);
    let mut progress = docker.push_image(&repository, Some(options.build()), credentials);
    while let Some(item) = progress.next().await {
        if let Err(e) = item {
            // The engine's words, as compose prints them; a refusal for want of credentials
            // names the image, which the engine's `no basic auth credentials` does not.
            return Err(reworded(
                engine_error(e),
                |message| match registry_auth::is_auth_failure(message) {
                    true => with_login_hint(
                        reference,
                        format!("cannot push image {reference}: {message}"),
                    ),
                    false => message.to_string(),
                },
            ));
        }
    }
    Ok(())
}

/// The credentials of `reference`'s registry for a `verb` (none: anonymous); a credential
/// helper's failure fails the call, naming the image.
async fn credentials(
    auth: &RegistryAuth,
    verb: &str,
    reference: &str,
) -> Result<Option<DockerCredentials>> {
    auth.for_image(reference)
        .await
        .map_err(|error| EngineError::Engine {
            message: format!("cannot {verb} image {reference}: {error}"),
        })
}

/// `message`, with what to do when it is a registry refusing for want of credentials.
fn with_login_hint(reference: &str, message: String) -> String {
    match registry_auth::is_auth_failure(&message) {
        true => format!("{message}; {}", registry_auth::login_hint(reference)),
        false => message,
    }
}

pub(super) async fn details(docker: &Docker, reference: &str) -> Result<ImageDetails> {
    let image = docker
        .inspect_image(reference)
        .await
        .map_err(|e| map_error(e, &format!("image {reference}"), Op::Other))?;
    let platform = [image.os, image.architecture, image.variant]
        .into_iter()
        .flatten()
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join("/");
    Ok(ImageDetails {
        id: image.id.unwrap_or_default(),
        repo_tags: image.repo_tags.unwrap_or_default(),
        size: image.size.unwrap_or_default(),
        created: image
            .created
            .as_deref()
            .and_then(unix_seconds)
            .unwrap_or_default(),
        platform,
        last_tag_time: image
            .metadata
            .and_then(|m| m.last_tag_time)
            .unwrap_or_default(),
    })
}

pub(super) async fn delete(docker: &Docker, reference: &str) -> Result<()> {
    docker
        .remove_image(reference, None::<RemoveImageOptions>, None)
        .await
        .map(drop)
        .map_err(|e| map_error(e, &format!("image {reference}"), Op::Other))
}

pub(super) async fn commit(docker: &Docker, id: &str, request: &CommitRequest) -> Result<String> {
    let mut options = bollard::query_parameters::CommitContainerOptionsBuilder::new()
        .container(id)
        .pause(request.pause);
    if let Some((repository, tag)) = request.reference.as_deref().map(split_reference) {
        options = options
            .repo(&repository)
            .tag(tag.as_deref().unwrap_or("latest"));
    }
    if let Some(author) = &request.author {
        options = options.author(author);
    }
    if let Some(message) = &request.message {
        options = options.comment(message);
    }
    if !request.changes.is_empty() {
        // The engine parses the changes as the lines of one Dockerfile.
        options = options.changes(&request.changes.join("\n"));
    }
    let committed = docker
        .commit_container(options.build(), bollard::models::ContainerConfig::default())
        .await
        .map_err(|e| container_error(id, e))?;
    Ok(committed.id)
}

/// `repo[:tag]` or `repo@digest` → the repository and the tag to pull (`latest` when there
/// is neither: the engine would otherwise pull every tag).
fn split_reference(reference: &str) -> (String, Option<String>) {
    if reference.contains('@') {
        return (reference.to_string(), None);
    }
    let last_slash = reference.rfind('/').map(|i| i + 1).unwrap_or(0);
    match reference[last_slash..].rfind(':') {
        Some(colon) => {
            let at = last_slash + colon;
            (
                reference[..at].to_string(),
                Some(reference[at + 1..].to_string()),
            )
        }
        None => (reference.to_string(), Some("latest".to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references() {
        assert_eq!(
            split_reference("busybox"),
            ("busybox".into(), Some("latest".into()))
        );
        assert_eq!(
            split_reference("localhost:5000/a/b:1.2"),
            ("localhost:5000/a/b".into(), Some("1.2".into()))
        );
        assert_eq!(
            split_reference("localhost:5000/a"),
            ("localhost:5000/a".into(), Some("latest".into()))
        );
        assert_eq!(
            split_reference("a@sha256:abc"),
            ("a@sha256:abc".into(), None)
        );
    }
}
