//! `build:` on a swarm: a service with `build:` and `image: REGISTRY/NAME:TAG` runs the image
//! its registry holds, pinned by digest (`REGISTRY/NAME:TAG@sha256:…`), so that every node runs
//! the same image whatever the tag says later. `up` builds it on the manager's engine (the
//! local target's build request: context, `.dockerignore`, build args) and pushes it when
//! `--build` or `pull_policy: build` asks, or when the registry has no such image; else the
//! registry's digest is used as it is. A service that needs a build but whose image names no
//! registry is refused with the fix: the nodes could not pull what was built.

use std::time::Duration;

use super::names;
use super::scope::Scope;
use super::stack::Stack;
use crate::engine::ContainerEngine;
use crate::engine::docker::DockerEngine;
use crate::engine::registry_auth;
use crate::spec::Project;
use crate::spec::model::Build;

/// How long the registry may take to tell an image's digest.
const LOOKUP_LIMIT: Duration = Duration::from_secs(30);

/// What `up` was asked about builds.
#[derive(Debug, Clone, Copy, Default)]
pub struct ImageOptions {
    /// `--build`: build (and push) every service that has `build:`.
    pub build: bool,
    /// `--no-build`: never build; an image missing from its registry is an error.
    pub no_build: bool,
    /// `--dry-run`: look the digests up, build and push nothing.
    pub dry_run: bool,
}

/// A service of the file with `build:` and `image:`.
struct Buildable<'a> {
    key: &'a str,
    image: &'a str,
    build: &'a Build,
    /// `pull_policy: build`: built at every `up`, as on the local target.
    always: bool,
}

/// What `up` does with one buildable service's image.
#[derive(Debug, PartialEq, Eq)]
enum Step {
    /// The registry has it: run it by this digest.
    Pin(String),
    /// Build it, push it, then run the pushed digest.
    Build,
}

/// Builds and pushes what needs it, then pins every buildable service of `stack` in `scope`
/// (the others are not deployed by this `up`) to its image's digest on the registry. `say` is
/// told each image built, pushed or pinned.
pub async fn pin_built_images(
    engine: &DockerEngine,
    project: &Project,
    stack: &mut Stack,
    scope: &Scope,
    options: ImageOptions,
    say: &(dyn Fn(String) + Sync),
) -> Result<(), String> {
    let mut buildable = buildable(project);
    buildable.retain(|service| scope.contains(&names::scoped(&project.name, service.key)));
    let mut steps = Vec::new();
    for service in &buildable {
        let forced = options.build || service.always;
        let found = match forced {
            true => None,
            false => registry_digest(engine, service.image).await,
        };
        steps.push(step(project, service, found, options)?);
    }
    for (service, step) in buildable.iter().zip(steps) {
        let digest = match step {
            Step::Pin(digest) => digest,
            Step::Build if options.dry_run => {
                say(format!(
                    "Image {}  Would be built and pushed",
                    service.image
                ));
                continue;
            }
            Step::Build => build_and_push(engine, project, service, say).await?,
        };
        let reference = pinned(service.image, &digest);
        say(format!("Image {reference}  Pinned"));
        set_image(stack, &names::scoped(&project.name, service.key), reference);
    }
    Ok(())
}

/// The services with both `build:` and `image:` (one without `image:` is the stack's to refuse).
fn buildable(project: &Project) -> Vec<Buildable<'_>> {
    project
        .model
        .services
        .iter()
        .filter_map(|(key, service)| {
            Some(Buildable {
                key,
                image: service.image.as_deref()?,
                build: service.build.as_ref()?,
                always: service.pull_policy.as_deref() == Some("build"),
            })
        })
        .collect()
}

/// The step for `service`, given the digest its registry has (`found`), or why it cannot be
/// deployed.
fn step(
    project: &Project,
    service: &Buildable,
    found: Option<String>,
    options: ImageOptions,
) -> Result<Step, String> {
    if let Some(digest) = found {
        return Ok(Step::Pin(digest));
    }
    let key = service.key;
    let image = service.image;
    if options.no_build {
        return Err(format!(
            "service {key}: its image {image} is not on its registry, and --no-build forbids \
             building it"
        ));
    }
    if registry_auth::registry_host(image).is_none() {
        let at = project
            .key_spans
            .get(&format!("services.{key}.image"))
            .map_or(String::new(), |span| format!("{span}: "));
        let name = image.rsplit('/').next().unwrap_or(image);
        return Err(format!(
            "{at}service {key} needs a build, but its image {image} names no registry: a \
             swarm's nodes pull what they run from a registry they all reach, so name the image \
             with one, e.g. `image: localhost:5000/{name}` (a registry published on every \
             node's port 5000), and `up --build` builds it, pushes it there and deploys it by \
             digest"
        ));
    }
    Ok(Step::Build)
}

/// `image` pinned to `digest`; an image the file already pins keeps its own.
fn pinned(image: &str, digest: &str) -> String {
    match image.contains('@') {
        true => image.to_string(),
        false => format!("{image}@{digest}"),
    }
}

/// The digest of `image` on its registry, asked through the engine (which knows the registry's
/// TLS settings) with the registry's credentials; none when the registry has no such image,
/// refuses or does not answer.
async fn registry_digest(engine: &DockerEngine, image: &str) -> Option<String> {
    let credentials = match engine.registry_auth().for_image(image).await {
        Ok(credentials) => credentials,
        Err(error) => {
            tracing::debug!(%image, %error, "no credentials for the registry");
            None
        }
    };
    let lookup = engine.client().inspect_registry_image(image, credentials);
    match tokio::time::timeout(LOOKUP_LIMIT, lookup).await {
        Ok(Ok(inspect)) => inspect.descriptor.digest,
        Ok(Err(error)) => {
            tracing::debug!(%image, %error, "the registry does not give the image's digest");
            None
        }
        Err(_) => None,
    }
}

/// Builds the service's image on the manager's engine as the local target builds it, pushes it,
/// and answers the digest the registry now has.
async fn build_and_push(
    engine: &DockerEngine,
    project: &Project,
    service: &Buildable<'_>,
    say: &(dyn Fn(String) + Sync),
) -> Result<String, String> {
    let (key, image) = (service.key, service.image);
    let failed = |what: &str, error: String| format!("service {key}: {what} {image}: {error}");
    let request = crate::execute::build_request(key, image, service.build, &project.name)
        .map_err(|e| failed("building", e))?;
    engine
        .build_image(&request)
        .await
        .map_err(|e| failed("building", e.to_string()))?;
    say(format!("Image {image}  Built"));
    engine
        .push_image(image)
        .await
        .map_err(|e| failed("pushing", e.to_string()))?;
    say(format!("Image {image}  Pushed"));
    registry_digest(engine, image).await.ok_or_else(|| {
        failed(
            "reading the digest of",
            "the registry does not tell it".into(),
        )
    })
}

/// Sets the image the service named `name` runs.
fn set_image(stack: &mut Stack, name: &str, reference: String) {
    let container = stack
        .services
        .get_mut(name)
        .and_then(|spec| spec.task_template.as_mut())
        .and_then(|task| task.container_spec.as_mut());
    if let Some(container) = container {
        container.image = Some(reference);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::swarm::stack::tests::project;

    fn first(project: &Project) -> Buildable<'_> {
        buildable(project)
            .into_iter()
            .next()
            .expect("a buildable service")
    }

    #[test]
    fn an_image_is_pinned_by_its_digest_unless_the_file_pins_it() {
        assert_eq!(
            pinned("localhost:5000/web:1", "sha256:ab"),
            "localhost:5000/web:1@sha256:ab"
        );
        assert_eq!(
            pinned("r.io/web@sha256:cd", "sha256:ab"),
            "r.io/web@sha256:cd"
        );
    }

    #[test]
    fn an_image_the_registry_has_is_pinned_without_a_build() {
        let p = project("services:\n  web:\n    build: .\n    image: localhost:5000/web:1\n");
        let step = step(
            &p,
            &first(&p),
            Some("sha256:ab".into()),
            ImageOptions::default(),
        );
        assert_eq!(step, Ok(Step::Pin("sha256:ab".into())));
    }

    #[test]
    fn an_image_missing_from_its_registry_is_built() {
        let p = project("services:\n  web:\n    build: .\n    image: localhost:5000/web:1\n");
        assert_eq!(
            step(&p, &first(&p), None, ImageOptions::default()),
            Ok(Step::Build)
        );
    }

    #[test]
    fn a_build_without_a_registry_is_refused_at_the_images_line_with_the_fix() {
        let p = project("services:\n  web:\n    build: .\n    image: shop/web:1\n");
        let error = step(&p, &first(&p), None, ImageOptions::default()).unwrap_err();
        assert!(error.contains(":4:5: service web needs a build"), "{error}");
        assert!(error.contains("names no registry"), "{error}");
        assert!(error.contains("`image: localhost:5000/web:1`"), "{error}");
    }

    #[test]
    fn no_build_refuses_an_image_missing_from_its_registry() {
        let p = project("services:\n  web:\n    build: .\n    image: localhost:5000/web:1\n");
        let options = ImageOptions {
            no_build: true,
            ..ImageOptions::default()
        };
        let error = step(&p, &first(&p), None, options).unwrap_err();
        assert!(error.contains("--no-build"), "{error}");
    }

    #[test]
    fn pull_policy_build_always_builds_and_a_service_without_build_is_left_alone() {
        let p = project(
            "services:\n  web:\n    build: .\n    image: r.io/web\n    pull_policy: build\n  db:\n    image: r.io/db\n",
        );
        let all = buildable(&p);
        assert_eq!(all.len(), 1);
        assert!(all[0].always);
    }

    #[test]
    fn a_pinned_image_replaces_the_services_image_only() {
        let p = project("services:\n  web:\n    build: .\n    image: localhost:5000/web:1\n");
        let mut stack = Stack::new(&p).unwrap();
        set_image(
            &mut stack,
            "shop_web",
            "localhost:5000/web:1@sha256:ab".into(),
        );
        let spec = &stack.services["shop_web"];
        let container = spec.task_template.as_ref().unwrap().container_spec.as_ref();
        assert_eq!(
            container.unwrap().image.as_deref(),
            Some("localhost:5000/web:1@sha256:ab")
        );
        assert_eq!(
            spec.labels.as_ref().unwrap()[names::IMAGE],
            "localhost:5000/web:1"
        );
    }
}
