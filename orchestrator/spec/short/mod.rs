//! The short syntaxes of compose and their long forms: `"8080:80/udp"` becomes a port mapping,
//! `["A=1"]` an environment map, `"./data:/data:ro"` a bind mount, and so on.
//!
//! Each function here is a serde `deserialize_with` that accepts both forms and returns the long
//! one. Errors carry a hint after a `\n= help: ` marker, which `de::Error` splits off.

use std::fmt;

use indexmap::IndexMap;
use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Serialize, Serializer};

use super::model::{Build, Dependency, Device, EnvFile, FileReference, ServiceNetwork, Ulimit};

mod duration;
mod ports;
mod volumes;

pub use duration::Duration;
use ports::parse_range;
pub use ports::{PortEntry, parse_port, ports};
pub use volumes::{clean_target, unapplied_volume_modes, volumes};

/// Separates a message from its hint inside a serde custom error.
pub const HELP: &str = "\n= help: ";

fn invalid<E: de::Error>(message: impl fmt::Display, help: impl fmt::Display) -> E {
    E::custom(format!("{message}{HELP}{help}"))
}

/// The text of any scalar, with `null` as `None` (`FOO:` in `environment`).
struct Text(Option<String>);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Text, D::Error> {
        Option::<String>::deserialize(d).map(Text)
    }
}

/// A mapping's value where compose wants a string: a number or boolean written plain is the text
/// compose v2 gives it (see [`super::go_text`]: `3.10` is `"3.1"`), a quoted one is kept.
struct GoText(Option<String>);

impl<'de> Deserialize<'de> for GoText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<GoText, D::Error> {
        d.deserialize_any(GoTextVisitor).map(GoText)
    }
}

struct GoTextVisitor;

impl<'de> Visitor<'de> for GoTextVisitor {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string, a number or a boolean")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Some(super::go_text::float(v)))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

// ---------------------------------------------------------------------------------------------
// Generic helpers: a list of "K=V" strings or a mapping.

struct ListOrDict {
    /// Value given to `KEY` with no `=` in list form, and to `KEY:` with a null value.
    allow_null: bool,
    what: &'static str,
}

impl<'de> Visitor<'de> for ListOrDict {
    type Value = IndexMap<String, Option<String>>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{} as a list of KEY=VALUE or a mapping", self.what)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = IndexMap::new();
        while let Some(item) = seq.next_element::<String>()? {
            let (key, value) = match item.split_once('=') {
                Some((k, v)) => (k.to_string(), Some(v.to_string())),
                None if self.allow_null => (item.clone(), None),
                None => (item.clone(), Some(String::new())),
            };
            if key.is_empty() {
                return Err(invalid(
                    format!("invalid {} entry `{item}`: the key is empty", self.what),
                    "write it as KEY=VALUE",
                ));
            }
            out.insert(key, value);
        }
        Ok(out)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = IndexMap::new();
        while let Some((key, GoText(value))) = map.next_entry::<String, GoText>()? {
            let value = match value {
                None if !self.allow_null => Some(String::new()),
                v => v,
            };
            out.insert(key, value);
        }
        Ok(out)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(IndexMap::new())
    }
}

/// `environment` and `build.args`: `KEY` alone or `KEY:` with no value means "take it from
/// the environment", kept as `None`.
pub fn environment<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<IndexMap<String, Option<String>>, D::Error> {
    d.deserialize_any(ListOrDict {
        allow_null: true,
        what: "environment",
    })
}

/// `labels`, `annotations`, `sysctls`: a missing value is the empty string.
pub fn labels<'de, D: Deserializer<'de>>(d: D) -> Result<IndexMap<String, String>, D::Error> {
    let map = d.deserialize_any(ListOrDict {
        allow_null: false,
        what: "labels",
    })?;
    Ok(map
        .into_iter()
        .map(|(k, v)| (k, v.unwrap_or_default()))
        .collect())
}

// ---------------------------------------------------------------------------------------------
// Strings or lists of strings.

struct StringOrSeq;

impl<'de> Visitor<'de> for StringOrSeq {
    type Value = Vec<String>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string or a list of strings")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(vec![v.to_string()])
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(vec![v.to_string()])
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some(Text(item)) = seq.next_element::<Text>()? {
            out.push(item.unwrap_or_default());
        }
        Ok(out)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }
}

/// `dns`, `dns_search`, `tmpfs`, `cache_from`…: one string or a list.
pub fn string_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    d.deserialize_any(StringOrSeq)
}

/// `expose`: ports as numbers or strings, kept as strings.
pub fn expose<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    d.deserialize_any(StringOrSeq)
}

struct CommandVisitor;

impl<'de> Visitor<'de> for CommandVisitor {
    type Value = Option<Vec<String>>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a command as a string or a list of strings")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        super::shellwords::split(v).map(Some).map_err(|e| {
            invalid(
                format!("cannot split the command `{v}`: {e}"),
                "close the quote, quote a `(`, or write the command as a list",
            )
        })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        StringOrSeq.visit_seq(seq).map(Some)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// `command` and `entrypoint`: a string is split as a shell would (without running one).
pub fn command<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    d.deserialize_any(CommandVisitor)
}

struct HealthTestVisitor;

impl<'de> Visitor<'de> for HealthTestVisitor {
    type Value = Option<Vec<String>>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a healthcheck test as a string or a list")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(vec!["CMD-SHELL".to_string(), v.to_string()]))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        let test = StringOrSeq.visit_seq(seq)?;
        match test.first().map(String::as_str) {
            Some("CMD" | "CMD-SHELL" | "NONE") => Ok(Some(test)),
            _ => Err(invalid(
                "a healthcheck test list must start with CMD, CMD-SHELL or NONE",
                "write [\"CMD\", \"program\", \"arg\"], or a plain string for a shell command",
            )),
        }
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// `healthcheck.test`: a string is run by the shell (`CMD-SHELL`).
pub fn health_test<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    d.deserialize_any(HealthTestVisitor)
}

// ---------------------------------------------------------------------------------------------
// Short string or long mapping, for one value or for each item of a list.

/// A type with a one-string short form.
pub trait FromShort: Sized {
    fn from_short(text: &str) -> Result<Self, String>;
}

struct ShortOrLong<T>(std::marker::PhantomData<T>);

impl<'de, T: FromShort + Deserialize<'de>> Visitor<'de> for ShortOrLong<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string or a mapping")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        T::from_short(v).map_err(E::custom)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        self.visit_str(&v.to_string())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        self.visit_str(&v.to_string())
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
        T::deserialize(MapAccessDeserializer::new(map))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<T, A::Error> {
        T::deserialize(SeqAccessDeserializer::new(seq))
    }
}

/// One value in short or long form.
pub struct Short<T>(pub T);

impl<'de, T: FromShort + Deserialize<'de>> Deserialize<'de> for Short<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ShortOrLong(std::marker::PhantomData))
            .map(Short)
    }
}

fn short_list<'de, D: Deserializer<'de>, T: FromShort + Deserialize<'de>>(
    d: D,
) -> Result<Vec<T>, D::Error> {
    let items = Option::<Vec<Short<T>>>::deserialize(d)?;
    Ok(items.unwrap_or_default().into_iter().map(|s| s.0).collect())
}

impl FromShort for FileReference {
    fn from_short(text: &str) -> Result<Self, String> {
        Ok(FileReference {
            source: text.to_string(),
            ..FileReference::default()
        })
    }
}

/// A service's `secrets` and `configs`.
pub fn file_references<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<FileReference>, D::Error> {
    short_list(d)
}

impl FromShort for EnvFile {
    fn from_short(text: &str) -> Result<Self, String> {
        Ok(EnvFile {
            path: text.to_string(),
            required: true,
            format: None,
        })
    }
}

/// `env_file`: a path, a list of paths, or a list of `{path, required}`.
pub fn env_files<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<EnvFile>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Vec<EnvFile>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a path or a list of env files")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(vec![EnvFile::from_short(v).map_err(E::custom)?])
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(Short(item)) = seq.next_element::<Short<EnvFile>>()? {
                out.push(item);
            }
            Ok(out)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }
    }
    d.deserialize_any(V)
}

impl FromShort for Device {
    fn from_short(text: &str) -> Result<Self, String> {
        let mut parts = text.splitn(3, ':');
        let source = parts.next().unwrap_or_default().to_string();
        let target = parts.next().map(str::to_string);
        let permissions = parts.next().map(str::to_string);
        Ok(Device {
            target: target.or_else(|| Some(source.clone())),
            source,
            permissions: permissions.or_else(|| Some("rwm".to_string())),
        })
    }
}

/// `devices`: `/dev/a:/dev/b:rwm` or the long form.
pub fn devices<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Device>, D::Error> {
    short_list(d)
}

impl FromShort for Build {
    fn from_short(text: &str) -> Result<Self, String> {
        Ok(Build {
            context: Some(text.to_string()),
            ..Build::default()
        })
    }
}

/// `build: ./dir` is `build: {context: ./dir}`.
pub fn build<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Build>, D::Error> {
    Ok(Option::<Short<Build>>::deserialize(d)?.map(|s| s.0))
}

// ---------------------------------------------------------------------------------------------
// depends_on, networks, ulimits, extra_hosts: a list of names or a mapping.

struct NamesOrMap<T> {
    what: &'static str,
    _t: std::marker::PhantomData<T>,
}

impl<'de, T: Deserialize<'de> + Default> Visitor<'de> for NamesOrMap<T> {
    type Value = IndexMap<String, Option<T>>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{} as a list of names or a mapping", self.what)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = IndexMap::new();
        while let Some(name) = seq.next_element::<String>()? {
            if out.insert(name.clone(), None).is_some() {
                return Err(invalid(
                    format!("`{name}` is listed twice in {}", self.what),
                    "remove the duplicate",
                ));
            }
        }
        Ok(out)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = IndexMap::new();
        while let Some((name, value)) = map.next_entry::<String, Option<T>>()? {
            out.insert(name, value);
        }
        Ok(out)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(IndexMap::new())
    }
}

fn names_or_map<'de, D: Deserializer<'de>, T: Deserialize<'de> + Default>(
    d: D,
    what: &'static str,
) -> Result<IndexMap<String, Option<T>>, D::Error> {
    d.deserialize_any(NamesOrMap {
        what,
        _t: std::marker::PhantomData,
    })
}

/// `depends_on: [db]` is `depends_on: {db: {condition: service_started, required: true}}`.
pub fn depends_on<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<IndexMap<String, Dependency>, D::Error> {
    let map = names_or_map::<D, Dependency>(d, "depends_on")?;
    Ok(map
        .into_iter()
        .map(|(k, v)| (k, v.unwrap_or_default()))
        .collect())
}

/// A service's `networks`: a list of names or a mapping with per-network options.
pub fn service_networks<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<IndexMap<String, Option<ServiceNetwork>>, D::Error> {
    names_or_map(d, "networks")
}

/// `ulimits`: `nproc: 65535` or `nofile: {soft: 20000, hard: 40000}`.
pub fn ulimits<'de, D: Deserializer<'de>>(d: D) -> Result<IndexMap<String, Ulimit>, D::Error> {
    struct One(Ulimit);
    impl<'de> Deserialize<'de> for One {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<One, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = Ulimit;
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("a number or {soft, hard}")
                }
                fn visit_i64<E: de::Error>(self, v: i64) -> Result<Ulimit, E> {
                    Ok(Ulimit {
                        single: Some(v),
                        ..Ulimit::default()
                    })
                }
                fn visit_u64<E: de::Error>(self, v: u64) -> Result<Ulimit, E> {
                    self.visit_i64(v as i64)
                }
                fn visit_str<E: de::Error>(self, v: &str) -> Result<Ulimit, E> {
                    let n = v.parse().map_err(|_| {
                        invalid(
                            format!("invalid ulimit `{v}`"),
                            "write a number, or soft: and hard: numbers",
                        )
                    })?;
                    self.visit_i64(n)
                }
                fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Ulimit, A::Error> {
                    Ulimit::deserialize(MapAccessDeserializer::new(map))
                }
            }
            d.deserialize_any(V).map(One)
        }
    }
    let map = Option::<IndexMap<String, One>>::deserialize(d)?;
    Ok(map
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, v.0))
        .collect())
}

/// `extra_hosts`: `["host:ip"]`, `["host=ip"]` or `{host: ip}`; kept as `host:ip`, the engine's
/// form.
pub fn extra_hosts<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a list of host:ip or a mapping of host to ip")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(item) = seq.next_element::<String>()? {
                let (host, ip) = item
                    .split_once('=')
                    .or_else(|| item.split_once(':'))
                    .ok_or_else(|| {
                        invalid(
                            format!("invalid extra host `{item}`"),
                            "write it as host=ip or host:ip",
                        )
                    })?;
                out.push(format!("{host}:{ip}"));
            }
            Ok(out)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some((host, ips)) = map.next_entry::<String, Short<Ips>>()? {
                out.extend(ips.0.0.into_iter().map(|ip| format!("{host}:{ip}")));
            }
            Ok(out)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }
    }
    d.deserialize_any(V)
}

/// One address or several, for a host in `extra_hosts`.
#[derive(serde::Deserialize)]
struct Ips(Vec<String>);

impl FromShort for Ips {
    fn from_short(text: &str) -> Result<Self, String> {
        Ok(Ips(vec![text.to_string()]))
    }
}

// ---------------------------------------------------------------------------------------------
// Numbers with units.

/// `cpus: 0.5` or `cpus: "0.5"`.
pub fn cpus<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    let Some(text) = Option::<String>::deserialize(d)? else {
        return Ok(None);
    };
    text.trim().parse().map(Some).map_err(|_| {
        invalid(
            format!("invalid number of CPUs `{text}`"),
            "write a number such as 0.5 or 2",
        )
    })
}

/// Sizes such as `512m`, `1gb`, `1024`: a number of bytes.
pub fn bytes<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let Some(text) = d.deserialize_any(SizeVisitor)? else {
        return Ok(None);
    };
    parse_bytes(&text).map(Some).ok_or_else(|| {
        invalid(
            format!("invalid size `{text}`"),
            "write a number of bytes or a size such as 512m or 1g",
        )
    })
}

/// `deploy.resources.*.memory`: a size that compose v2's schema takes as a string only
/// (`memory: 536870912` is refused: `must be a string`).
pub fn bytes_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    struct StringOnly;
    impl<'de> Visitor<'de> for StringOnly {
        type Value = Option<String>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a size written as a string, such as 512m")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
    }
    let Some(text) = d.deserialize_any(StringOnly)? else {
        return Ok(None);
    };
    parse_bytes(&text).map(Some).ok_or_else(|| {
        invalid(
            format!("invalid size `{text}`"),
            "write a number of bytes or a size such as 512m or 1g",
        )
    })
}

/// `memswap_limit`: a size, or `-1` for unlimited swap (compose-go reads byte sizes as signed).
pub fn swap_bytes<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let Some(text) = d.deserialize_any(SizeVisitor)? else {
        return Ok(None);
    };
    if text.trim() == "-1" {
        return Ok(Some(-1));
    }
    parse_bytes(&text)
        .and_then(|bytes| i64::try_from(bytes).ok())
        .map(Some)
        .ok_or_else(|| {
            invalid(
                format!("invalid size `{text}`"),
                "write a number of bytes, a size such as 512m or 1g, or -1 for unlimited swap",
            )
        })
}

/// The text of a size as compose-go's `UnitBytes` takes it: a string, or a YAML integer that
/// fits 64 bits signed. A YAML number that does not (`1.5e3`, `99999999999999999999`) is no
/// size at all: compose v2 drops it silently, wharf drops it too (`unapplied` warns).
struct SizeVisitor;

impl<'de> Visitor<'de> for SizeVisitor {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a size such as 512m or a number of bytes")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// A size in bytes: exact for a whole number with a unit, through a float for a fraction
/// (`1.5g`), as compose-go computes it.
pub fn parse_bytes(text: &str) -> Option<u64> {
    let lower = text.trim().to_ascii_lowercase();
    let split = lower
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(lower.len());
    let (number, unit) = lower.split_at(split);
    let factor: u64 = match unit.trim() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        "p" | "pb" | "pib" => 1 << 50,
        _ => return None,
    };
    match number.parse::<u64>() {
        Ok(whole) => whole.checked_mul(factor),
        Err(_) => Some((number.parse::<f64>().ok()? * factor as f64) as u64),
    }
}

/// A port's `published` value: a port or a range, as text.
pub fn published<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let value = Option::<String>::deserialize(d)?;
    if let Some(v) = &value
        && parse_range(v).is_none()
    {
        return Err(invalid(
            format!("invalid published port `{v}`"),
            "write a port number such as 8080 or a range such as 8000-8010",
        ));
    }
    Ok(value)
}

/// `external: true`, or the legacy `external: {name: x}` (taken as true).
pub fn external<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = bool;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("true or false")
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<bool, E> {
            Ok(v)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<bool, E> {
            match v {
                "true" => Ok(true),
                "false" => Ok(false),
                _ => Err(invalid(
                    format!("invalid value `{v}`"),
                    "write true or false",
                )),
            }
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
            while map.next_entry::<String, de::IgnoredAny>()?.is_some() {}
            Ok(true)
        }
        fn visit_unit<E: de::Error>(self) -> Result<bool, E> {
            Ok(false)
        }
    }
    d.deserialize_any(V)
}

/// A file mode, written in octal as compose reads it (`0440`, `0o440`, `"0440"`); printed as
/// `"0440"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileMode(pub u32);

impl<'de> Deserialize<'de> for FileMode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<FileMode, D::Error> {
        let text = String::deserialize(d)?;
        let parsed = match text.strip_prefix("0o") {
            Some(octal) => u32::from_str_radix(octal, 8),
            None if text.starts_with('0') => u32::from_str_radix(&text, 8),
            None => text.parse(),
        };
        parsed.map(FileMode).map_err(|_| {
            invalid(
                format!("invalid file mode `{text}`"),
                "write an octal mode such as 0440",
            )
        })
    }
}

impl Serialize for FileMode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("{:04o}", self.0))
    }
}

// ---------------------------------------------------------------------------------------------
// restart

/// `restart`: `no`, `always`, `on-failure[:N]`, `unless-stopped`.
pub fn restart<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let Some(text) = Option::<String>::deserialize(d)? else {
        return Ok(None);
    };
    let valid = match text.split_once(':') {
        Some(("on-failure", n)) => n.parse::<u32>().is_ok(),
        Some(_) => false,
        None => matches!(
            text.as_str(),
            "no" | "always" | "on-failure" | "unless-stopped"
        ),
    };
    if !valid {
        let hint = match super::suggest::closest(
            &text,
            ["no", "always", "on-failure", "unless-stopped"],
        ) {
            Some(best) => format!("did you mean `{best}`?"),
            None => "use no, always, on-failure, on-failure:N or unless-stopped".to_string(),
        };
        return Err(invalid(format!("invalid restart policy `{text}`"), hint));
    }
    Ok(Some(text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::model::{MountType, VolumeMount};

    #[test]
    fn durations_parse_and_print_like_go() {
        for (text, printed) in [
            ("1m30s", "1m30s"),
            ("90s", "1m30s"),
            ("1h", "1h0m0s"),
            ("500ms", "500ms"),
            ("1.5s", "1.5s"),
            ("0", "0s"),
            ("2h3m4s", "2h3m4s"),
            ("100us", "100µs"),
        ] {
            assert_eq!(
                Duration::parse(text).unwrap().to_string(),
                printed,
                "{text}"
            );
        }
        assert!(Duration::parse("10").is_err());
        assert!(Duration::parse("10x").is_err());
    }

    #[test]
    fn ports_expand_short_syntax() {
        let p = parse_port("127.0.0.1:8080:80/udp").unwrap();
        assert_eq!(p[0].host_ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(p[0].published.as_deref(), Some("8080"));
        assert_eq!((p[0].target, p[0].protocol.as_str()), (80, "udp"));
        let p = parse_port("9090-9091:8080-8081").unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(
            (p[1].target, p[1].published.as_deref()),
            (8081, Some("9091"))
        );
        assert_eq!(parse_port("3000-3002").unwrap().len(), 3);
        let p = parse_port("8000-8010:80").unwrap();
        assert_eq!(p[0].published.as_deref(), Some("8000-8010"));
        let p = parse_port("[::1]:80:80").unwrap();
        assert_eq!(p[0].host_ip.as_deref(), Some("::1"));
        assert!(parse_port("80:abc").is_err());
        assert!(parse_port("1-3:1-2").is_err());
        assert!(parse_port("80/xyz").is_err());
    }

    #[test]
    fn volumes_pick_their_type_from_the_source() {
        let v = VolumeMount::from_short("./data:/data:ro").unwrap();
        assert_eq!(v.kind, MountType::Bind);
        assert!(v.read_only);
        let v = VolumeMount::from_short("db:/var/lib/db").unwrap();
        assert_eq!(v.kind, MountType::Volume);
        let v = VolumeMount::from_short("/cache").unwrap();
        assert_eq!((v.kind, v.source.as_deref()), (MountType::Volume, None));
        assert!(VolumeMount::from_short("a:b:c:d").is_err());
        // As compose v2: an unknown mode is ignored (and warned about by `unapplied`).
        let v = VolumeMount::from_short("a:/b:ro,rx").unwrap();
        assert!(v.read_only);
        let unapplied: Vec<_> = unapplied_volume_modes("a:/b:ro,rx,cached").collect();
        assert_eq!(
            unapplied.iter().map(|(mode, _)| *mode).collect::<Vec<_>>(),
            ["rx", "cached"]
        );
    }

    #[test]
    fn sizes_have_units() {
        assert_eq!(parse_bytes("512m"), Some(512 << 20));
        assert_eq!(parse_bytes("1gb"), Some(1 << 30));
        assert_eq!(parse_bytes("1024"), Some(1024));
        assert!(parse_bytes("lots").is_none());
    }
}
