//! The short syntax of `ports`: `"127.0.0.1:8080:80/udp"` and its ranges, or the long form.

use std::fmt;

use serde::de::value::MapAccessDeserializer;
use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};

use crate::spec::model::PortConfig;

use super::invalid;

/// `"80"`, `"8080:80"`, `"127.0.0.1:8080:80/udp"`, `"[::1]:80:80"`, `"3000-3005"`,
/// `"9090-9091:8080-8081"`, or the long form. Ranges of targets expand to one entry each.
pub fn ports<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<PortConfig>, D::Error> {
    let entries = Option::<Vec<PortEntry>>::deserialize(d)?;
    Ok(entries
        .unwrap_or_default()
        .into_iter()
        .flat_map(|e| e.0)
        .collect())
}

/// One item of `ports`: a range in short syntax is several mappings.
pub struct PortEntry(pub Vec<PortConfig>);

impl<'de> Deserialize<'de> for PortEntry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<PortEntry, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Vec<PortConfig>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a port as a string, a number or a mapping")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                parse_port(v).map_err(|msg| {
                    invalid(
                        format!("invalid port `{v}`: {msg}"),
                        "write [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTOCOL], e.g. \"127.0.0.1:8080:80/tcp\"",
                    )
                })
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Err(invalid(
                    format!("invalid port `{v}`"),
                    "YAML read this as a number: quote the port mapping, e.g. \"8080:80\"",
                ))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                PortConfig::deserialize(MapAccessDeserializer::new(map)).map(|p| vec![p])
            }
        }
        d.deserialize_any(V).map(PortEntry)
    }
}

/// Parses `a` or `a-b` into an inclusive range of ports.
pub(super) fn parse_range(text: &str) -> Option<(u16, u16)> {
    let (start, end) = match text.split_once('-') {
        Some((a, b)) => (a.parse().ok()?, b.parse().ok()?),
        None => {
            let p = text.parse().ok()?;
            (p, p)
        }
    };
    (start <= end).then_some((start, end))
}

pub fn parse_port(spec: &str) -> Result<Vec<PortConfig>, String> {
    let (rest, protocol) = match spec.rsplit_once('/') {
        Some((rest, proto)) => (rest, proto.to_ascii_lowercase()),
        None => (spec, "tcp".to_string()),
    };
    if !matches!(protocol.as_str(), "tcp" | "udp" | "sctp") {
        return Err(format!("unknown protocol `{protocol}`"));
    }
    let (host_ip, rest) = split_host_ip(rest)?;
    let (published, target) = match rest.rsplit_once(':') {
        Some((published, target)) => (Some(published), target),
        None => (None, rest),
    };
    let (t_start, t_end) =
        parse_range(target).ok_or_else(|| format!("`{target}` is not a port or a range"))?;
    if t_start == 0 {
        return Err("the container port cannot be 0".to_string());
    }
    let published = match published {
        Some("") | None => None,
        Some(p) => Some(parse_range(p).ok_or_else(|| format!("`{p}` is not a port or a range"))?),
    };
    let count = t_end - t_start;
    let config = |target: u16, published: Option<String>| PortConfig {
        name: None,
        mode: "ingress".to_string(),
        host_ip: host_ip.clone(),
        target,
        published,
        protocol: protocol.clone(),
        app_protocol: None,
    };
    match published {
        None => Ok((t_start..=t_end).map(|t| config(t, None)).collect()),
        Some((p_start, p_end)) if count == 0 => {
            let text = if p_start == p_end {
                p_start.to_string()
            } else {
                format!("{p_start}-{p_end}")
            };
            Ok(vec![config(t_start, Some(text))])
        }
        Some((p_start, p_end)) if p_end - p_start == count => Ok((0..=count)
            .map(|i| config(t_start + i, Some((p_start + i).to_string())))
            .collect()),
        Some(_) => Err("the host and container ranges have different lengths".to_string()),
    }
}

/// Splits a leading host IP (`127.0.0.1:` or `[::1]:`) from a port spec.
fn split_host_ip(spec: &str) -> Result<(Option<String>, &str), String> {
    if let Some(rest) = spec.strip_prefix('[') {
        let (ip, rest) = rest
            .split_once("]:")
            .ok_or_else(|| "an IPv6 host address must be followed by `:`".to_string())?;
        return Ok((Some(ip.to_string()), rest));
    }
    let colons = spec.matches(':').count();
    if colons >= 2 {
        let (ip, rest) = spec.split_once(':').expect("two colons");
        // `${BIND_IP:-}:443:443`: an empty address is no address, as in compose.
        if ip.is_empty() {
            return Ok((None, rest));
        }
        if ip.parse::<std::net::Ipv4Addr>().is_err() {
            return Err(format!("`{ip}` is not an IP address"));
        }
        return Ok((Some(ip.to_string()), rest));
    }
    Ok((None, spec))
}
