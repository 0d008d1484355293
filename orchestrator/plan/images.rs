//! What a service's image needs before its containers can be created: a build or a pull,
//! one operation per image reference.

use std::collections::HashMap;

use super::fates::ServiceFates;
use super::{BuildPolicy, Cause, EngineCall, Plan, ReconcileOptions};
use crate::desired::DesiredService;
use crate::observe::Observed;

/// Decides what the service's image needs before containers can be created from it.
pub(super) fn image_action(
    service: &DesiredService,
    observed: &Observed,
    options: &ReconcileOptions,
    needs_containers: bool,
) -> Option<(EngineCall, Cause)> {
    let present = observed.images.contains_key(&service.image);
    let policy = service.pull_policy.as_str();
    let pull = |cause| {
        Some((
            EngineCall::PullImage {
                service: service.name.clone(),
                image: service.image.clone(),
                platform: service.container.platform.clone(),
            },
            cause,
        ))
    };
    if let Some(build) = &service.build
        && options.build != BuildPolicy::Never
        && !present
        && needs_containers
    {
        return Some((
            EngineCall::BuildImage {
                service: service.name.clone(),
                image: service.image.clone(),
                build: build.clone(),
            },
            Cause::Build,
        ));
    }
    if !present && needs_containers && policy != "never" {
        // With `--no-build` too: the executor reports that it cannot be pulled.
        return pull(Cause::ImageMissing);
    }
    None
}

/// One image operation per image reference, for the services that need one; returns the
/// operation that makes each reference present.
pub(super) fn push_images<'a>(
    plan: &mut Plan,
    fates: &[ServiceFates<'a>],
) -> HashMap<&'a str, usize> {
    let mut image_ops: HashMap<&str, usize> = HashMap::new();
    for fate in fates {
        let image = fate.service.image.as_str();
        if let Some((action, cause)) = &fate.image
            && !image_ops.contains_key(image)
        {
            let id = plan.push(action.clone(), cause.clone(), vec![]);
            image_ops.insert(image, id);
        }
    }
    image_ops
}
