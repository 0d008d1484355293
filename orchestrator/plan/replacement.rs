//! The steps that replace one replica's container, written once for a plain recreate and for
//! every batch of a rolling update: the new container is created under a temporary name
//! (compose's `<first 12 characters of the old ID>_<name>`), and once the old one may go, it
//! is removed and the new one takes its name. What happens in between (stop the old one
//! first or last, start and watch the new one) is the caller's.

use super::containers::{created, existing, replacement_spec, temporary_name};
use super::rolling::Replacement;
use super::{Cause, ContainerRef, Deps, EngineCall, Plan};
use crate::desired::DesiredService;

/// The new container of `replica`, under its temporary name; returns the create.
pub(super) fn create_replacement(
    plan: &mut Plan,
    service: &DesiredService,
    project: &str,
    replica: &Replacement,
    renew_anon_volumes: bool,
    mut deps: Deps,
) -> usize {
    deps.after.extend(&replica.create_after);
    deps.after.sort_unstable();
    deps.after.dedup();
    let final_name = service.container_name(project, replica.number);
    let create = EngineCall::CreateContainer {
        service: service.name.clone(),
        number: replica.number,
        name: temporary_name(replica.old, &final_name),
        spec: replacement_spec(service, replica.number, replica.old, renew_anon_volumes),
    };
    plan.push_with(create, replica.cause.clone(), deps)
}

/// The old container goes (once `remove_deps` allow it) and the new one takes its name;
/// returns the rename.
pub(super) fn take_over(
    plan: &mut Plan,
    service: &DesiredService,
    project: &str,
    replica: &Replacement,
    remove_deps: Deps,
) -> usize {
    let final_name = service.container_name(project, replica.number);
    let replacing = Cause::Replacing(final_name.clone());
    let remove = EngineCall::RemoveContainer {
        service: service.name.clone(),
        container: existing(replica.old),
        volumes: false,
    };
    let remove = plan.push_with(remove, replacing.clone(), remove_deps);
    let mut after = vec![remove];
    after.extend(&replica.rename_after);
    after.sort_unstable();
    let rename = EngineCall::RenameContainer {
        service: service.name.clone(),
        container: new_container(replica, &final_name),
        to: final_name,
    };
    plan.push(rename, replacing, after)
}

/// The new container, under its temporary name until it takes over.
pub(super) fn new_container(replica: &Replacement, final_name: &str) -> ContainerRef {
    created(&temporary_name(replica.old, final_name))
}
