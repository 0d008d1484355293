//! Networks and volumes whose options differ from the compose file: what the engine lists for
//! them against what the file asks for, option by option. Pure.
//!
//! A resource that carries the config hash of the file's definition (compose's label, which
//! wharf writes too) is unchanged, whatever the engine lists: a daemon's `default-network-opts`
//! add driver options the file never named, and must not make every `up` recreate the network.
//! Otherwise (another hash, or none: made by an older tool) the options are compared. The
//! engine's own defaults count as unset (`bridge` and IPAM `default` for a network, `local` for
//! a volume), and so do the pools the engine assigned when the file names none. Labels are the
//! user's: the `com.docker.compose.*` ones differ between compose and wharf (the version) and
//! say nothing about the options.

use std::collections::HashMap;
use std::fmt;

use indexmap::IndexMap;

use super::ResourceKind;
use crate::desired::{DesiredNetwork, DesiredVolume, ResourceIdentity};
use crate::engine::{EngineNetwork, EngineVolume};
use crate::observe::ObservedResource;
use crate::spec::model::{Ipam, IpamPool};

/// An option of a network or volume, named as the compose file names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceOption {
    Driver,
    DriverOpts,
    Ipam,
    Internal,
    Attachable,
    EnableIpv6,
    Labels,
}

impl fmt::Display for ResourceOption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ResourceOption::Driver => "driver",
            ResourceOption::DriverOpts => "driver_opts",
            ResourceOption::Ipam => "ipam",
            ResourceOption::Internal => "internal",
            ResourceOption::Attachable => "attachable",
            ResourceOption::EnableIpv6 => "enable_ipv6",
            ResourceOption::Labels => "labels",
        })
    }
}

/// A network or volume of the project that exists with other options than the file's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changed {
    pub kind: ResourceKind,
    /// The engine's name.
    pub name: String,
    /// The options that differ, in the order above.
    pub options: Vec<ResourceOption>,
}

impl fmt::Display for Changed {
    /// `network shop_front changed: driver_opts, labels`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let options: Vec<String> = self.options.iter().map(|o| o.to_string()).collect();
        write!(
            f,
            "{} {} changed: {}",
            self.kind,
            self.name,
            options.join(", ")
        )
    }
}

/// What differs between the file's network and the one the engine has; `None` when nothing.
pub fn network(
    desired: &DesiredNetwork,
    observed: &ObservedResource<EngineNetwork>,
) -> Option<Changed> {
    if same_hash(desired.identity.as_ref(), observed.identity.as_ref()) {
        return None;
    }
    let engine = &observed.engine;
    let settings = &engine.settings;
    let checks = [
        (
            ResourceOption::Driver,
            or_default(desired.driver.as_deref(), "bridge") == settings.driver,
        ),
        (
            ResourceOption::DriverOpts,
            same_map(&desired.driver_opts, &settings.driver_opts),
        ),
        (
            ResourceOption::Ipam,
            same_ipam(desired.ipam.as_ref(), &settings.ipam),
        ),
        (
            ResourceOption::Internal,
            desired.internal == settings.internal,
        ),
        (
            ResourceOption::Attachable,
            desired.attachable == settings.attachable,
        ),
        (
            ResourceOption::EnableIpv6,
            desired.enable_ipv6 == settings.enable_ipv6,
        ),
        (
            ResourceOption::Labels,
            same_user_labels(&desired.labels, &engine.labels),
        ),
    ];
    changed(ResourceKind::Network, &desired.name, &checks)
}

/// What differs between the file's volume and the one the engine has; `None` when nothing.
pub fn volume(
    desired: &DesiredVolume,
    observed: &ObservedResource<EngineVolume>,
) -> Option<Changed> {
    if same_hash(desired.identity.as_ref(), observed.identity.as_ref()) {
        return None;
    }
    let engine = &observed.engine;
    let checks = [
        (
            ResourceOption::Driver,
            or_default(desired.driver.as_deref(), "local")
                == or_default(Some(&engine.driver), "local"),
        ),
        (
            ResourceOption::DriverOpts,
            same_map(&desired.driver_opts, &engine.driver_opts),
        ),
        (
            ResourceOption::Labels,
            same_user_labels(&desired.labels, &engine.labels),
        ),
    ];
    changed(ResourceKind::Volume, &desired.name, &checks)
}

fn changed(kind: ResourceKind, name: &str, checks: &[(ResourceOption, bool)]) -> Option<Changed> {
    let options: Vec<ResourceOption> = checks
        .iter()
        .filter(|(_, same)| !same)
        .map(|(option, _)| *option)
        .collect();
    (!options.is_empty()).then(|| Changed {
        kind,
        name: name.to_string(),
        options,
    })
}

/// Whether the engine's resource was made from the very definition the file has now.
fn same_hash(desired: Option<&ResourceIdentity>, observed: Option<&ResourceIdentity>) -> bool {
    desired
        .zip(observed)
        .is_some_and(|(d, o)| d.config_hash == o.config_hash)
}

/// A value, or the engine's default when it is unset or empty.
fn or_default<'a>(value: Option<&'a str>, default: &'a str) -> &'a str {
    value.filter(|v| !v.is_empty()).unwrap_or(default)
}

fn same_map(desired: &IndexMap<String, String>, engine: &HashMap<String, String>) -> bool {
    desired.len() == engine.len() && desired.iter().all(|(k, v)| engine.get(k) == Some(v))
}

fn same_user_labels(desired: &IndexMap<String, String>, engine: &HashMap<String, String>) -> bool {
    let user = |key: &String| !key.starts_with("com.docker.compose.");
    let desired: IndexMap<String, String> = desired
        .iter()
        .filter(|(k, _)| user(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let engine: HashMap<String, String> = engine
        .iter()
        .filter(|(k, _)| user(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    same_map(&desired, &engine)
}

/// The IPAM driver and options as written; the pools only when the file names some (the
/// engine assigns them otherwise), each matched by subnet, a gateway or range the file leaves
/// out being the engine's choice.
fn same_ipam(desired: Option<&Ipam>, engine: &Ipam) -> bool {
    let unset = Ipam::default();
    let desired = desired.unwrap_or(&unset);
    let driver = |ipam: &Ipam| or_default(ipam.driver.as_deref(), "default").to_string();
    let pools = desired.config.is_empty()
        || (desired.config.len() == engine.config.len()
            && desired
                .config
                .iter()
                .all(|pool| engine.config.iter().any(|e| same_pool(pool, e))));
    driver(desired) == driver(engine)
        && desired.options.len() == engine.options.len()
        && desired
            .options
            .iter()
            .all(|(k, v)| engine.options.get(k) == Some(v))
        && pools
}

fn same_pool(desired: &IpamPool, engine: &IpamPool) -> bool {
    let matches = |want: &Option<String>, have: &Option<String>| want.is_none() || want == have;
    desired.subnet == engine.subnet
        && matches(&desired.gateway, &engine.gateway)
        && matches(&desired.ip_range, &engine.ip_range)
        && (desired.aux_addresses.is_empty() || desired.aux_addresses == engine.aux_addresses)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desired(hash: &str) -> DesiredNetwork {
        DesiredNetwork {
            key: "net".into(),
            name: "p_net".into(),
            external: false,
            driver: None,
            driver_opts: IndexMap::new(),
            internal: false,
            attachable: false,
            enable_ipv4: None,
            enable_ipv6: false,
            ipam: None,
            identity: Some(ResourceIdentity {
                project: "p".into(),
                config_hash: hash.into(),
            }),
            labels: IndexMap::new(),
        }
    }

    /// What a daemon with `default-network-opts` lists for a network the file gave no option.
    fn engine(hash: &str) -> ObservedResource<EngineNetwork> {
        ObservedResource {
            identity: Some(ResourceIdentity {
                project: "p".into(),
                config_hash: hash.into(),
            }),
            engine: EngineNetwork {
                id: "n1".into(),
                name: "p_net".into(),
                labels: HashMap::new(),
                pools: Vec::new(),
                settings: crate::engine::NetworkSettings {
                    driver: "bridge".into(),
                    driver_opts: [("com.docker.network.driver.mtu".into(), "1400".into())].into(),
                    ..Default::default()
                },
            },
        }
    }

    #[test]
    fn a_network_made_from_the_same_definition_is_unchanged_whatever_the_daemon_added() {
        assert_eq!(network(&desired("h1"), &engine("h1")), None);
    }

    #[test]
    fn another_definition_is_compared_option_by_option() {
        let changed = network(&desired("h2"), &engine("h1")).expect("changed");
        assert_eq!(changed.options, [ResourceOption::DriverOpts]);
        assert_eq!(changed.to_string(), "network p_net changed: driver_opts");
        let mut same_options = engine("h1");
        same_options.engine.settings.driver_opts.clear();
        assert_eq!(network(&desired("h2"), &same_options), None);
    }
}
