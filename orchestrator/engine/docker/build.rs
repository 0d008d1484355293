//! Building an image: the build context sent with the request's parameters (some of them in
//! the query string, where bollard's options cannot carry them), the progress read to its end,
//! and a failure told with the last lines of the build's output.

use bollard::Docker;
use bollard::query_parameters::BuildImageOptionsBuilder;
use futures_util::stream::StreamExt;

use super::build_context::build_context;
use super::client::LONG_REQUEST_TIMEOUT;
use super::errors::{engine_error, reworded};
use crate::engine::registry_auth::RegistryAuth;
use crate::engine::{BuildRequest, EngineError, Result};

/// Output lines of a failed build that are kept in its error.
const BUILD_ERROR_TAIL: usize = 15;

/// Builds the image and answers its ID.
pub(super) async fn build(
    docker: &Docker,
    auth: &RegistryAuth,
    request: &BuildRequest,
) -> Result<String> {
    // Every registry's credentials (`X-Registry-Config`), as the docker CLI sends them: the
    // builder takes those of each `FROM` image's registry.
    let credentials = auth.all().await.map_err(|error| EngineError::Engine {
        message: format!("building {}: {error}", request.tag),
    })?;
    let owned = request.clone();
    let context = tokio::task::spawn_blocking(move || build_context(&owned))
        .await
        .map_err(|e| EngineError::Engine {
            message: format!("making the build context: {e}"),
        })??;

    let mut options = BuildImageOptionsBuilder::new()
        .dockerfile(&context.dockerfile)
        .t(&request.tag)
        .rm(true)
        .forcerm(true)
        .nocache(request.no_cache);
    if !request.args.is_empty() {
        options = options.buildargs(&request.args);
    }
    if !request.labels.is_empty() {
        options = options.labels(&request.labels);
    }
    if let Some(target) = &request.target {
        options = options.target(target);
    }
    if request.pull {
        options = options.pull("1");
    }
    if !request.cache_from.is_empty() {
        options = options.cachefrom(&request.cache_from);
    }
    if let Some(network) = &request.network {
        options = options.networkmode(network);
    }
    if let Some(platform) = &request.platform {
        options = options.platform(platform);
    }

    let query = build_query(request);
    let building = docker
        .clone()
        .with_timeout(LONG_REQUEST_TIMEOUT)
        .with_request_modifier(move |request| with_query(request, &query));
    let body = bollard::body_full(context.tar.into());
    let mut progress = building.build_image(options.build(), Some(credentials), Some(body));
    let mut image_id = None;
    let mut output: Vec<String> = Vec::new();
    while let Some(item) = progress.next().await {
        match item {
            Ok(info) => {
                if let Some(id) = info.aux.and_then(|aux| aux.id) {
                    image_id = Some(id);
                }
                if let Some(text) = info.stream {
                    for line in text.lines().map(str::trim_end).filter(|l| !l.is_empty()) {
                        tracing::debug!(target: "wharf::build", "{}: {line}", request.tag);
                        output.push(line.to_string());
                        if output.len() > BUILD_ERROR_TAIL {
                            output.remove(0);
                        }
                    }
                }
            }
            Err(e) => {
                return Err(reworded(engine_error(e), |message| {
                    build_failure(&request.tag, message, &output)
                }));
            }
        }
    }
    match image_id {
        Some(id) => Ok(id),
        None => super::images::id(docker, &request.tag)
            .await?
            .ok_or_else(|| EngineError::Engine {
                message: format!(
                    "the build of {} finished but the image is not there",
                    request.tag
                ),
            }),
    }
}

/// The build parameters that bollard's options cannot carry: the engine reads `t` and
/// `extrahosts` as repeated parameters (bollard sends one of each), `isolation` (bollard has
/// no field for it) and `shmsize` (bollard's is 32 bits, the engine's 64).
fn build_query(request: &BuildRequest) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for tag in &request.extra_tags {
        query.append_pair("t", tag);
    }
    for host in &request.extra_hosts {
        query.append_pair("extrahosts", host);
    }
    if let Some(isolation) = &request.isolation {
        query.append_pair("isolation", isolation);
    }
    if let Some(size) = request.shm_size {
        query.append_pair("shmsize", &size.to_string());
    }
    if !request.ulimits.is_empty() {
        query.append_pair("ulimits", &ulimits_json(&request.ulimits));
    }
    query.finish()
}

/// The engine's build `ulimits` parameter (undocumented, read by the classic builder as the
/// docker CLI's `build --ulimit` sends it): a JSON list of `{Name, Soft, Hard}`.
fn ulimits_json(ulimits: &[crate::desired::Ulimit]) -> String {
    let list: Vec<serde_json::Value> = ulimits
        .iter()
        .map(|u| serde_json::json!({"Name": u.name, "Soft": u.soft, "Hard": u.hard}))
        .collect();
    serde_json::Value::Array(list).to_string()
}

/// `request` with `extra` appended to its query string.
fn with_query(mut request: bollard::BollardRequest, extra: &str) -> bollard::BollardRequest {
    if extra.is_empty() {
        return request;
    }
    let uri = request.uri().to_string();
    let separator = if uri.contains('?') { '&' } else { '?' };
    match format!("{uri}{separator}{extra}").parse() {
        Ok(uri) => *request.uri_mut() = uri,
        // Not reached: the parameters are percent-encoded.
        Err(e) => tracing::warn!("build parameters {extra} left out: {e}"),
    }
    request
}

fn build_failure(tag: &str, message: &str, output: &[String]) -> String {
    let mut text = format!("building {tag}: {message}");
    let tail: Vec<&String> = output
        .iter()
        .filter(|l| !message.contains(l.as_str()))
        .collect();
    if !tail.is_empty() {
        text.push_str("\n  build output (last lines):");
        for line in tail {
            text.push_str("\n    ");
            text.push_str(line);
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_build_parameters_go_in_the_query_encoded() {
        let extras = BuildRequest {
            extra_tags: vec!["a/b:1".into(), "c".into()],
            extra_hosts: vec!["host:10.0.0.1".into()],
            isolation: Some("default".into()),
            shm_size: Some(5 << 30),
            ulimits: vec![crate::desired::Ulimit {
                name: "nofile".into(),
                soft: 1024,
                hard: 2048,
            }],
            ..BuildRequest::default()
        };
        let query = build_query(&extras);
        assert_eq!(
            query,
            "t=a%2Fb%3A1&t=c&extrahosts=host%3A10.0.0.1&isolation=default&shmsize=5368709120\
             &ulimits=%5B%7B%22Name%22%3A%22nofile%22%2C%22Soft%22%3A1024%2C%22Hard%22%3A2048%7D%5D"
        );
        let sent = http_request("http://engine/build?dockerfile=Dockerfile");
        let uri = with_query(sent, &query).uri().to_string();
        assert_eq!(
            uri,
            format!("http://engine/build?dockerfile=Dockerfile&{query}")
        );
        assert_eq!(build_query(&BuildRequest::default()), "");
    }

    fn http_request(uri: &str) -> bollard::BollardRequest {
        let mut sent = bollard::BollardRequest::new(bollard::body_full(Vec::new().into()));
        *sent.uri_mut() = uri.parse().unwrap();
        sent
    }
}
