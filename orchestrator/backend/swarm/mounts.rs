//! A service's `volumes:` and `tmpfs:` as the mounts of its tasks. A named volume is not
//! created by wharf: swarm has no cluster-wide volume, so each node's engine creates it when a
//! task mounting it first starts there, from the mount's driver, options and labels (the
//! top-level volume's, with the stack's namespace, as `docker stack deploy` sends them). A bind
//! mount's source is a path on the node that runs the task, not on this machine.

use std::collections::HashMap;

use bollard::models::{
    Mount, MountBindOptions, MountTmpfsOptions, MountType as SwarmMountType, MountVolumeOptions,
    MountVolumeOptionsDriverConfig,
};

use super::names;
use crate::spec::Project;
use crate::spec::model::{MountType, Service, Volume, VolumeMount};
use crate::spec::short::parse_bytes;

/// The mounts of `service`'s tasks: its `volumes:` in the file's order, then its `tmpfs:`.
/// Kinds a swarm task cannot mount (npipe, cluster, image) are left out; the loader's own
/// checks and `unapplied` speak of them.
pub fn mounts(project: &Project, service: &Service) -> Option<Vec<Mount>> {
    let mounts: Vec<Mount> = service
        .volumes
        .iter()
        .filter_map(|mount| volume_mount(project, mount))
        .chain(service.tmpfs.iter().map(|text| tmpfs_key(text)))
        .collect();
    (!mounts.is_empty()).then_some(mounts)
}

fn volume_mount(project: &Project, mount: &VolumeMount) -> Option<Mount> {
    let base = Mount {
        target: Some(mount.target.clone()),
        read_only: Some(mount.read_only),
        ..Default::default()
    };
    Some(match mount.kind {
        MountType::Bind => Mount {
            typ: Some(SwarmMountType::BIND),
            source: mount.source.clone(),
            bind_options: mount.bind.as_ref().map(|bind| MountBindOptions {
                propagation: bind.propagation.as_deref().and_then(|p| p.parse().ok()),
                non_recursive: bind.recursive.as_deref().map(|r| r == "disabled"),
                ..Default::default()
            }),
            ..base
        },
        MountType::Volume => {
            let top = mount.source.as_ref().map(|key| {
                let volume = project.model.volumes.get(key);
                (volume_name(&project.name, key, volume), volume)
            });
            let (source, volume) = top.unzip();
            Mount {
                typ: Some(SwarmMountType::VOLUME),
                source,
                volume_options: Some(volume_options(&project.name, mount, volume.flatten())),
                ..base
            }
        }
        MountType::Tmpfs => Mount {
            typ: Some(SwarmMountType::TMPFS),
            tmpfs_options: mount.tmpfs.as_ref().map(|tmpfs| MountTmpfsOptions {
                size_bytes: tmpfs.size.map(|s| s as i64),
                mode: tmpfs.mode.map(i64::from),
                ..Default::default()
            }),
            ..base
        },
        MountType::Npipe | MountType::Cluster | MountType::Image => return None,
    })
}

/// A named volume's engine name: the loader's (`<project>_<key>`, or `name:`), as
/// `stack deploy` names it.
fn volume_name(project: &str, key: &str, volume: Option<&Volume>) -> String {
    volume
        .and_then(|v| v.name.clone())
        .unwrap_or_else(|| names::scoped(project, key))
}

/// What a node's engine creates the volume with: the top-level volume's driver, options and
/// labels (with the namespace, unless it is external), and the mount's own labels.
fn volume_options(
    project: &str,
    mount: &VolumeMount,
    volume: Option<&Volume>,
) -> MountVolumeOptions {
    let own = mount.volume.clone().unwrap_or_default();
    let mut labels: HashMap<String, String> = HashMap::new();
    if let Some(volume) = volume.filter(|v| !v.external) {
        labels = names::with_namespace(project, &volume.labels);
    }
    labels.extend(own.labels);
    let driver_config = volume
        .filter(|v| !v.external && (v.driver.is_some() || !v.driver_opts.is_empty()))
        .map(|v| MountVolumeOptionsDriverConfig {
            name: v.driver.clone(),
            options: (!v.driver_opts.is_empty())
                .then(|| v.driver_opts.clone().into_iter().collect()),
        });
    MountVolumeOptions {
        no_copy: Some(own.nocopy),
        labels: (!labels.is_empty()).then_some(labels),
        driver_config,
        subpath: own.subpath,
    }
}

/// A `tmpfs:` entry, `/path[:size=64m,mode=1777]`; options other than size and mode have no
/// place in a swarm mount and are left out.
fn tmpfs_key(text: &str) -> Mount {
    let (target, options) = text.split_once(':').unwrap_or((text, ""));
    let option = |name: &str| {
        options
            .split(',')
            .find_map(|o| o.strip_prefix(name)?.strip_prefix('='))
    };
    Mount {
        target: Some(target.to_string()),
        typ: Some(SwarmMountType::TMPFS),
        tmpfs_options: Some(MountTmpfsOptions {
            size_bytes: option("size").and_then(parse_bytes).map(|s| s as i64),
            mode: option("mode").and_then(|m| i64::from_str_radix(m, 8).ok()),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use bollard::models::MountBindOptionsPropagationEnum;

    use super::*;
    use crate::backend::swarm::stack::tests::project;

    fn mounts_of(yaml: &str) -> Vec<Mount> {
        let project = project(yaml);
        mounts(&project, &project.model.services["s"]).unwrap_or_default()
    }

    #[test]
    fn a_named_volume_has_the_stacks_name_driver_and_labels() {
        let mounts = mounts_of(
            "services:\n  s:\n    image: b\n    volumes: [data:/data:ro]\n\
             volumes:\n  data:\n    driver: local\n    driver_opts: {type: tmpfs, device: tmpfs}\n    labels: [tier=db]\n",
        );
        let mount = &mounts[0];
        assert_eq!(mount.typ, Some(SwarmMountType::VOLUME));
        assert_eq!(mount.source.as_deref(), Some("shop_data"));
        assert_eq!(mount.target.as_deref(), Some("/data"));
        assert_eq!(mount.read_only, Some(true));
        let options = mount.volume_options.as_ref().unwrap();
        let labels = options.labels.as_ref().unwrap();
        assert_eq!(labels[names::NAMESPACE], "shop");
        assert_eq!(labels["tier"], "db");
        let driver = options.driver_config.as_ref().unwrap();
        assert_eq!(driver.name.as_deref(), Some("local"));
        assert_eq!(driver.options.as_ref().unwrap()["type"], "tmpfs");
    }

    #[test]
    fn an_external_volume_keeps_its_name_and_gets_no_driver_or_labels() {
        let mounts = mounts_of(
            "services:\n  s:\n    image: b\n    volumes: [data:/data]\n\
             volumes:\n  data: {external: true, name: shared}\n",
        );
        assert_eq!(mounts[0].source.as_deref(), Some("shared"));
        let options = mounts[0].volume_options.as_ref().unwrap();
        assert_eq!((&options.labels, &options.driver_config), (&None, &None));
    }

    #[test]
    fn a_bind_and_a_tmpfs_mount_keep_their_options() {
        let mounts = mounts_of(
            "services:\n  s:\n    image: b\n    volumes:\n\
             \x20     - {type: bind, source: /srv, target: /srv, read_only: true, bind: {propagation: rslave}}\n\
             \x20     - {type: tmpfs, target: /scratch, tmpfs: {size: 1m, mode: 1023}}\n\
             \x20   tmpfs: ['/run:size=64k,mode=700']\n",
        );
        assert_eq!(mounts[0].typ, Some(SwarmMountType::BIND));
        assert_eq!(mounts[0].source.as_deref(), Some("/srv"));
        assert_eq!(mounts[0].read_only, Some(true));
        let propagation = mounts[0].bind_options.as_ref().unwrap().propagation;
        assert_eq!(propagation, Some(MountBindOptionsPropagationEnum::RSLAVE));
        let tmpfs = mounts[1].tmpfs_options.as_ref().unwrap();
        assert_eq!(
            (tmpfs.size_bytes, tmpfs.mode),
            (Some(1 << 20), Some(0o1777))
        );
        assert_eq!(mounts[2].target.as_deref(), Some("/run"));
        let tmpfs = mounts[2].tmpfs_options.as_ref().unwrap();
        assert_eq!(
            (tmpfs.size_bytes, tmpfs.mode),
            (Some(64 << 10), Some(0o700))
        );
    }

    #[test]
    fn no_volumes_is_no_mounts() {
        let project = project("services:\n  s:\n    image: b\n");
        assert_eq!(mounts(&project, &project.model.services["s"]), None);
    }
}
