//! Networks and volumes whose options differ from the compose file: what the engine lists for
//! them against what the file asks for, option by option. Pure.
//!
//! The engine's own defaults count as unset (`bridge` and IPAM `default` for a network, `local`
//! for a volume), and so do the pools the engine assigned when the file names none. Labels are
//! the user's: the `com.docker.compose.*` ones differ between compose and wharf (the version)
//! and say nothing about the options.

use std::collections::HashMap;
use std::fmt;

use indexmap::IndexMap;

use super::ResourceKind;
use crate::desired::{DesiredNetwork, DesiredVolume};
use crate::runtime::{EngineNetwork, EngineVolume};
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
pub fn network(desired: &DesiredNetwork, engine: &EngineNetwork) -> Option<Changed> {
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
pub fn volume(desired: &DesiredVolume, engine: &EngineVolume) -> Option<Changed> {
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
