//! A service's `build` as the engine's build request.

use indexmap::IndexMap;

use crate::desired::Ulimit;
use crate::engine::BuildRequest;
use crate::engine::labels;
use crate::spec::model::{self, Build};

/// The engine's build request for a service's `build`, labelled as compose v2 labels it: the
/// file's labels, then the project's, so that the image is known as the project's (and swept
/// with it). The engine's build API builds one platform: several are refused, as compose's
/// classic builder refuses them.
pub(crate) fn build_request(
    service: &str,
    image: &str,
    build: &Build,
    project: &str,
) -> Result<BuildRequest, String> {
    if build.platforms.len() > 1 {
        return Err(format!(
            "build.platforms lists {} platforms ({}), but the engine's build API builds one",
            build.platforms.len(),
            build.platforms.join(", ")
        ));
    }
    Ok(BuildRequest {
        context: build.context.clone().unwrap_or_else(|| ".".into()).into(),
        dockerfile: build
            .dockerfile
            .clone()
            .unwrap_or_else(|| "Dockerfile".into()),
        dockerfile_inline: build.dockerfile_inline.clone(),
        tag: image.to_string(),
        args: build
            .args
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), v.clone()?)))
            .collect(),
        target: build.target.clone(),
        labels: build
            .labels
            .clone()
            .into_iter()
            .chain([
                (labels::PROJECT.to_string(), project.to_string()),
                (labels::SERVICE.to_string(), service.to_string()),
                (
                    labels::VERSION.to_string(),
                    labels::WHARF_VERSION.to_string(),
                ),
            ])
            .collect(),
        no_cache: build.no_cache,
        pull: build.pull,
        extra_tags: build.tags.clone(),
        cache_from: build.cache_from.clone(),
        extra_hosts: build.extra_hosts.clone(),
        network: build.network.clone(),
        shm_size: build.shm_size,
        isolation: build.isolation.clone(),
        platform: build.platforms.first().cloned(),
        ulimits: build_ulimits(build)?,
    })
}

/// `build.ulimits`, which `config` prints as written, read as a service's `ulimits`.
fn build_ulimits(build: &Build) -> Result<Vec<Ulimit>, String> {
    #[derive(serde::Deserialize)]
    struct Written(
        #[serde(deserialize_with = "crate::spec::short::ulimits")] IndexMap<String, model::Ulimit>,
    );
    let Some(written) = &build.ulimits else {
        return Ok(Vec::new());
    };
    let Written(ulimits) =
        serde_json::from_value(written.clone()).map_err(|e| format!("build.ulimits: {e}"))?;
    Ok(Ulimit::all(&ulimits))
}
