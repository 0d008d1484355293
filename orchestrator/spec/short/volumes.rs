//! The short syntax of a service's `volumes`: `"./data:/data:ro"`, `"db:/var/lib/db"`,
//! `"/cache"`, or the long form.

use serde::de::Deserializer;

use crate::spec::model::{BindOptions, MountType, VolumeMount, VolumeOptions};

use super::{FromShort, HELP, short_list};

/// `"./data:/data:ro"`, `"db:/var/lib/db"`, `"/cache"`, or the long form.
pub fn volumes<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<VolumeMount>, D::Error> {
    short_list(d)
}

const VOLUME_MODES: &[&str] = &[
    "ro",
    "rw",
    "z",
    "Z",
    "nocopy",
    "shared",
    "rshared",
    "slave",
    "rslave",
    "private",
    "rprivate",
    "cached",
    "delegated",
    "consistent",
];

impl FromShort for VolumeMount {
    fn from_short(spec: &str) -> Result<Self, String> {
        let parts: Vec<&str> = spec.split(':').collect();
        let (source, target, modes) = match parts.as_slice() {
            [target] => (None, *target, ""),
            [source, target] => (Some(*source), *target, ""),
            [source, target, modes] => (Some(*source), *target, *modes),
            _ => {
                return Err(format!(
                    "invalid volume `{spec}`: too many `:`{HELP}write SOURCE:TARGET[:MODE], e.g. ./data:/data:ro"
                ));
            }
        };
        if target.is_empty() {
            return Err(format!(
                "invalid volume `{spec}`: the target is empty{HELP}write SOURCE:TARGET[:MODE]"
            ));
        }
        if source == Some("") {
            // As compose: `${UNSET}:/data` is not an anonymous volume.
            return Err(format!(
                "invalid volume `{spec}`: the source is empty{HELP}write SOURCE:TARGET[:MODE], or only TARGET for an anonymous volume; check the variable that gives the source"
            ));
        }
        let mut mount = VolumeMount {
            kind: MountType::Volume,
            source: source.filter(|s| !s.is_empty()).map(str::to_string),
            target: clean_target(target),
            read_only: false,
            consistency: None,
            bind: None,
            volume: None,
            tmpfs: None,
            image: None,
        };
        if mount.source.as_deref().is_some_and(is_path) {
            mount.kind = MountType::Bind;
            mount.bind = Some(BindOptions {
                create_host_path: Some(true),
                ..BindOptions::default()
            });
        } else {
            // Named or anonymous, compose-go gives a short-syntax volume its (empty) options.
            mount.volume = Some(VolumeOptions::default());
        }
        // compose v2 ignores a mode it does not know; `unapplied` warns about it.
        for mode in modes.split(',').filter(|m| VOLUME_MODES.contains(m)) {
            apply_volume_mode(&mut mount, mode);
        }
        Ok(mount)
    }
}

/// The modes of a short-syntax volume that change nothing, each with why: the ones compose v2
/// does not know (it ignores them) and Docker Desktop's consistency hints.
pub fn unapplied_volume_modes(spec: &str) -> impl Iterator<Item = (&str, &'static str)> {
    let modes = match spec.split(':').collect::<Vec<_>>().as_slice() {
        [_, _, modes] => *modes,
        _ => "",
    };
    modes.split(',').filter_map(|mode| match mode {
        "" => None,
        "cached" | "delegated" | "consistent" => {
            Some((mode, "it is for Docker Desktop on macOS only"))
        }
        known if VOLUME_MODES.contains(&known) => None,
        unknown => Some((
            unknown,
            "it is not a volume mode (compose v2 ignores it too)",
        )),
    })
}

fn apply_volume_mode(mount: &mut VolumeMount, mode: &str) {
    match mode {
        "ro" => mount.read_only = true,
        "rw" => mount.read_only = false,
        "nocopy" => mount.volume.get_or_insert_with(Default::default).nocopy = true,
        "z" | "Z" => mount.bind.get_or_insert_with(Default::default).selinux = Some(mode.into()),
        // Docker Desktop's consistency hints: compose-go drops them from the short form (they
        // change nothing on Linux), so `config` and the config hash leave them out as v2 does.
        "cached" | "delegated" | "consistent" => {}
        propagation => {
            mount.bind.get_or_insert_with(Default::default).propagation = Some(propagation.into())
        }
    }
}

/// A mount target cleaned lexically as compose-go cleans it (Go's `path.Clean`): `/etc/conf/`,
/// `//etc/conf` and `/etc/./x/../conf` are all `/etc/conf`, one mount point.
pub fn clean_target(target: &str) -> String {
    let rooted = target.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." if parts.last().is_some_and(|last| *last != "..") => {
                parts.pop();
            }
            ".." if rooted => {}
            part => parts.push(part),
        }
    }
    match (rooted, parts.join("/")) {
        (true, joined) => format!("/{joined}"),
        (false, joined) if joined.is_empty() => ".".to_string(),
        (false, joined) => joined,
    }
}

/// A volume source that names a host path rather than a named volume.
fn is_path(source: &str) -> bool {
    source.starts_with(['.', '/', '~'])
}
