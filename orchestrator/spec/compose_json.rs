//! The model written as compose v2 writes it in JSON: `docker compose config --format json`, and
//! the service object whose sha256 is compose's `com.docker.compose.config-hash`.
//!
//! Compose v2 (v2.40, compose-go v2.9) marshals its Go types with `encoding/json`, so its output
//! has a shape that wharf's serde form does not: the keys of a Go struct come in the struct's
//! field order, the keys of a Go map sorted; `omitempty` leaves out `""`, `0`, `false` and empty
//! lists and maps but never a struct value, so `deploy.resources`, `deploy.placement` and a
//! network's `ipam` print as `{}`; `command` and `entrypoint` have no `omitempty` and print as
//! `null`; byte sizes (`UnitBytes`) are strings of digits; `extra_hosts` is a sorted list of
//! `host=ip`; file modes are `"0<octal>"`; extension keys (`x-*`) of services, networks and
//! volumes are not marshalled (only the top-level ones are); a secret's `content` never is.
//! Go's encoder also escapes `<`, `>`, `&`, U+2028 and U+2029 in strings.
//!
//! [`SHAPES`](Shape) below is that knowledge as data (one table per compose-go type, its JSON
//! keys in field order); the conversion walks wharf's serde form of the model along it, and the
//! writer prints the result as Go's `json.Marshal` (compact) or `json.MarshalIndent(v, "", "  ")`
//! does. No I/O.

use serde_json::{Map, Value};

use super::model::{Model, Network, Service, Volume};

/// The project as `docker compose config --format json` prints it (before compose escapes `$`
/// as `$$`), without a final newline, as compose prints it.
pub fn project(model: &Model) -> String {
    let value = serde_json::to_value(model).expect("the model always serializes");
    let mut out = String::new();
    write(&mut out, &convert(&value, &Shape::Struct(PROJECT)), Some(0));
    out
}

/// One service as compose marshals its `ServiceConfig` with `json.Marshal`: the text compose's
/// `ServiceHash` takes the sha256 of.
pub fn service_compact(service: &Service) -> String {
    compact(service, SERVICE)
}

/// One network as compose marshals its `NetworkConfig` with `json.Marshal`: the text of
/// compose's `NetworkHash`.
pub fn network_compact(network: &Network) -> String {
    compact(network, NETWORK)
}

/// One volume as compose marshals its `VolumeConfig` with `json.Marshal`: the text of compose's
/// `VolumeHash` (which sets the driver to `local` first when there is none).
pub fn volume_compact(volume: &Volume) -> String {
    compact(volume, VOLUME)
}

fn compact(object: &impl serde::Serialize, fields: &'static [Field]) -> String {
    let value = serde_json::to_value(object).expect("the model always serializes");
    let mut out = String::new();
    write(&mut out, &convert(&value, &Shape::Struct(fields)), None);
    out
}

/// How a JSON value of wharf's serde form maps onto compose-go's Go type.
#[derive(Clone, Copy)]
enum Shape {
    /// Written as it is; the keys of an object sorted (a Go `map[string]any`).
    Any,
    /// A Go struct: its keys in this order, each with its own shape; other keys are not written
    /// (compose-go has no field for them).
    Struct(&'static [Field]),
    /// A Go map: keys sorted, each value of this shape.
    Map(&'static Shape),
    List(&'static Shape),
    /// `UnitBytes`: a number of bytes, written as a string of digits.
    Bytes,
    /// `FileMode`: `"0"` and the octal digits.
    FileMode,
    /// `HostsList`: `host:ip` or `host=ip` entries, written `host=ip`, one per address, sorted.
    HostsList,
    /// A Go `Duration` value (not a pointer): zero (`0s`) is left out by `omitempty`.
    Duration,
    /// `blkio_config` device entries: compose-go's `WeightDevice`/`ThrottleDevice` have no JSON
    /// tags, so their keys print as the Go field names `Path`, `Weight`, `Rate`; a rate is bytes.
    BlkioDevice,
}

/// One key of a Go struct.
#[derive(Clone, Copy)]
struct Field {
    name: &'static str,
    omit: Omit,
    shape: Shape,
}

/// When Go's encoder leaves a struct key out.
#[derive(Clone, Copy)]
enum Omit {
    /// `omitempty` on a value type: absent, `null`, `""`, `0`, `false`, `[]` and `{}` are left out.
    Empty,
    /// `omitempty` on a pointer: only absent or `null` is left out (`{}` and `0` are written).
    Nil,
    /// No `omitempty`, a nil slice or pointer: `null` when absent.
    Never,
    /// A struct value (never left out, `omitempty` or not): its shape applied to `{}` when absent.
    Struct,
}

const fn f(name: &'static str, omit: Omit, shape: Shape) -> Field {
    Field { name, omit, shape }
}

/// A key written as it is, left out when empty.
const fn e(name: &'static str) -> Field {
    f(name, Omit::Empty, Shape::Any)
}

/// A pointer key written as it is, left out when absent.
const fn p(name: &'static str) -> Field {
    f(name, Omit::Nil, Shape::Any)
}

use Omit::{Empty, Never, Nil};

const STRINGS_MAP: Shape = Shape::Map(&Shape::Any);

const PROJECT: &[Field] = &[
    // `Project.MarshalJSON` builds a Go map: its keys are sorted by `write` (top-level `x-*`
    // keys included), so the order here does not matter.
    f("name", Never, Shape::Any),
    f("services", Never, Shape::Map(&Shape::Struct(SERVICE))),
    f("networks", Empty, Shape::Map(&Shape::Struct(NETWORK))),
    f("volumes", Empty, Shape::Map(&Shape::Struct(VOLUME))),
    f("secrets", Empty, Shape::Map(&Shape::Struct(SECRET))),
    f("configs", Empty, Shape::Map(&Shape::Struct(CONFIG))),
];

/// compose-go `types.ServiceConfig`, in field order.
const SERVICE: &[Field] = &[
    e("profiles"),
    f("annotations", Empty, STRINGS_MAP),
    p("attach"),
    f("build", Nil, Shape::Struct(BUILD)),
    f("develop", Nil, Shape::Struct(DEVELOP)),
    f("blkio_config", Nil, Shape::Struct(BLKIO)),
    e("cap_add"),
    e("cap_drop"),
    e("cgroup_parent"),
    e("cgroup"),
    e("cpu_count"),
    e("cpu_percent"),
    e("cpu_period"),
    e("cpu_quota"),
    e("cpu_rt_period"),
    e("cpu_rt_runtime"),
    e("cpus"),
    e("cpuset"),
    e("cpu_shares"),
    f("command", Never, Shape::Any),
    f(
        "configs",
        Empty,
        Shape::List(&Shape::Struct(FILE_REFERENCE)),
    ),
    e("container_name"),
    f("credential_spec", Nil, Shape::Struct(CREDENTIAL_SPEC)),
    f("depends_on", Empty, Shape::Map(&Shape::Struct(DEPENDENCY))),
    f("deploy", Nil, Shape::Struct(DEPLOY)),
    e("device_cgroup_rules"),
    f("devices", Empty, Shape::List(&Shape::Struct(DEVICE))),
    e("dns"),
    e("dns_opt"),
    e("dns_search"),
    e("dockerfile"),
    e("domainname"),
    f("entrypoint", Never, Shape::Any),
    f("provider", Nil, Shape::Struct(PROVIDER)),
    f("environment", Empty, STRINGS_MAP),
    e("env_file"),
    e("expose"),
    p("extends"),
    e("external_links"),
    f("extra_hosts", Empty, Shape::HostsList),
    e("group_add"),
    f("gpus", Empty, Shape::List(&Shape::Struct(DEVICE_REQUEST))),
    e("hostname"),
    f("healthcheck", Nil, Shape::Struct(HEALTHCHECK)),
    e("image"),
    p("init"),
    e("ipc"),
    e("isolation"),
    f("labels", Empty, STRINGS_MAP),
    e("label_file"),
    e("links"),
    f("logging", Nil, Shape::Struct(LOGGING)),
    e("log_driver"),
    f("log_opt", Empty, STRINGS_MAP),
    f("mem_limit", Empty, Shape::Bytes),
    f("mem_reservation", Empty, Shape::Bytes),
    f("memswap_limit", Empty, Shape::Bytes),
    f("mem_swappiness", Empty, Shape::Bytes),
    e("mac_address"),
    f("models", Empty, Shape::Map(&Shape::Any)),
    e("net"),
    e("network_mode"),
    f(
        "networks",
        Empty,
        Shape::Map(&Shape::Struct(SERVICE_NETWORK)),
    ),
    e("oom_kill_disable"),
    e("oom_score_adj"),
    e("pid"),
    e("pids_limit"),
    e("platform"),
    f("ports", Empty, Shape::List(&Shape::Struct(PORT))),
    e("privileged"),
    e("pull_policy"),
    e("read_only"),
    e("restart"),
    e("runtime"),
    p("scale"),
    f(
        "secrets",
        Empty,
        Shape::List(&Shape::Struct(FILE_REFERENCE)),
    ),
    e("security_opt"),
    f("shm_size", Empty, Shape::Bytes),
    e("stdin_open"),
    p("stop_grace_period"),
    e("stop_signal"),
    f("storage_opt", Empty, STRINGS_MAP),
    f("sysctls", Empty, STRINGS_MAP),
    e("tmpfs"),
    e("tty"),
    f("ulimits", Empty, Shape::Map(&Shape::Struct(ULIMIT))),
    e("use_api_socket"),
    e("user"),
    e("userns_mode"),
    e("uts"),
    f("volumes", Empty, Shape::List(&Shape::Struct(VOLUME_MOUNT))),
    e("volumes_from"),
    e("working_dir"),
    f("post_start", Empty, Shape::List(&Shape::Struct(HOOK))),
    f("pre_stop", Empty, Shape::List(&Shape::Struct(HOOK))),
];

const BLKIO: &[Field] = &[
    e("weight"),
    f("weight_device", Empty, Shape::List(&Shape::BlkioDevice)),
    f("device_read_bps", Empty, Shape::List(&Shape::BlkioDevice)),
    f("device_read_iops", Empty, Shape::List(&Shape::BlkioDevice)),
    f("device_write_bps", Empty, Shape::List(&Shape::BlkioDevice)),
    f("device_write_iops", Empty, Shape::List(&Shape::BlkioDevice)),
];

const BUILD: &[Field] = &[
    e("context"),
    e("dockerfile"),
    e("dockerfile_inline"),
    e("entitlements"),
    f("args", Empty, STRINGS_MAP),
    e("provenance"),
    e("sbom"),
    e("ssh"),
    f("labels", Empty, STRINGS_MAP),
    e("cache_from"),
    e("cache_to"),
    e("no_cache"),
    f("additional_contexts", Empty, STRINGS_MAP),
    e("pull"),
    f("extra_hosts", Empty, Shape::HostsList),
    e("isolation"),
    e("network"),
    e("target"),
    f(
        "secrets",
        Empty,
        Shape::List(&Shape::Struct(FILE_REFERENCE)),
    ),
    f("shm_size", Empty, Shape::Bytes),
    e("tags"),
    f("ulimits", Empty, Shape::Map(&Shape::Struct(ULIMIT))),
    e("platforms"),
    e("privileged"),
];

const DEVELOP: &[Field] = &[f("watch", Empty, Shape::List(&Shape::Struct(TRIGGER)))];

const TRIGGER: &[Field] = &[
    f("path", Never, Shape::Any),
    f("action", Never, Shape::Any),
    e("target"),
    // A struct value: written even when the rule has no `exec`.
    f("exec", Omit::Struct, Shape::Struct(HOOK)),
    e("include"),
    e("ignore"),
    e("initial_sync"),
];

const HOOK: &[Field] = &[
    f("command", Never, Shape::Any),
    e("user"),
    e("privileged"),
    e("working_dir"),
    f("environment", Empty, STRINGS_MAP),
];

const FILE_REFERENCE: &[Field] = &[
    e("source"),
    e("target"),
    e("uid"),
    e("gid"),
    f("mode", Nil, Shape::FileMode),
];

const CREDENTIAL_SPEC: &[Field] = &[e("config"), e("file"), e("registry")];

const DEPENDENCY: &[Field] = &[
    e("condition"),
    e("restart"),
    f("required", Never, Shape::Any),
];

const DEPLOY: &[Field] = &[
    e("mode"),
    p("replicas"),
    f("labels", Empty, STRINGS_MAP),
    f("update_config", Nil, Shape::Struct(UPDATE_CONFIG)),
    f("rollback_config", Nil, Shape::Struct(UPDATE_CONFIG)),
    f("resources", Omit::Struct, Shape::Struct(RESOURCES)),
    f("restart_policy", Nil, Shape::Struct(RESTART_POLICY)),
    f("placement", Omit::Struct, Shape::Struct(PLACEMENT)),
    e("endpoint_mode"),
];

const UPDATE_CONFIG: &[Field] = &[
    p("parallelism"),
    f("delay", Empty, Shape::Duration),
    e("failure_action"),
    f("monitor", Empty, Shape::Duration),
    e("max_failure_ratio"),
    e("order"),
];

const RESOURCES: &[Field] = &[
    f("limits", Nil, Shape::Struct(RESOURCE)),
    f("reservations", Nil, Shape::Struct(RESOURCE)),
];

const RESOURCE: &[Field] = &[
    e("cpus"),
    f("memory", Empty, Shape::Bytes),
    e("pids"),
    f(
        "devices",
        Empty,
        Shape::List(&Shape::Struct(DEVICE_REQUEST)),
    ),
    e("generic_resources"),
];

const DEVICE_REQUEST: &[Field] = &[
    e("capabilities"),
    e("driver"),
    e("count"),
    e("device_ids"),
    f("options", Empty, STRINGS_MAP),
];

const RESTART_POLICY: &[Field] = &[e("condition"), p("delay"), p("max_attempts"), p("window")];

const PLACEMENT: &[Field] = &[
    e("constraints"),
    e("preferences"),
    e("max_replicas_per_node"),
];

const DEVICE: &[Field] = &[e("source"), e("target"), e("permissions")];

const PROVIDER: &[Field] = &[e("type"), f("options", Empty, Shape::Map(&Shape::Any))];

const HEALTHCHECK: &[Field] = &[
    e("test"),
    p("timeout"),
    p("interval"),
    p("retries"),
    p("start_period"),
    p("start_interval"),
    e("disable"),
];

const LOGGING: &[Field] = &[e("driver"), f("options", Empty, STRINGS_MAP)];

const SERVICE_NETWORK: &[Field] = &[
    e("aliases"),
    f("driver_opts", Empty, STRINGS_MAP),
    e("gw_priority"),
    e("interface_name"),
    e("ipv4_address"),
    e("ipv6_address"),
    e("link_local_ips"),
    e("mac_address"),
    e("priority"),
];

const PORT: &[Field] = &[
    e("name"),
    e("mode"),
    e("host_ip"),
    e("target"),
    e("published"),
    e("protocol"),
    e("app_protocol"),
];

const ULIMIT: &[Field] = &[e("single"), e("soft"), e("hard")];

const VOLUME_MOUNT: &[Field] = &[
    e("type"),
    e("source"),
    e("target"),
    e("read_only"),
    e("consistency"),
    f("bind", Nil, Shape::Struct(BIND)),
    f("volume", Nil, Shape::Struct(VOLUME_OPTIONS)),
    f("tmpfs", Nil, Shape::Struct(TMPFS)),
    f("image", Nil, Shape::Struct(&[e("subpath")])),
];

const BIND: &[Field] = &[
    e("selinux"),
    e("propagation"),
    e("create_host_path"),
    e("recursive"),
];

const VOLUME_OPTIONS: &[Field] = &[f("labels", Empty, STRINGS_MAP), e("nocopy"), e("subpath")];

const TMPFS: &[Field] = &[f("size", Empty, Shape::Bytes), e("mode")];

const NETWORK: &[Field] = &[
    e("name"),
    e("driver"),
    f("driver_opts", Empty, STRINGS_MAP),
    f("ipam", Omit::Struct, Shape::Struct(IPAM)),
    e("external"),
    e("internal"),
    e("attachable"),
    f("labels", Empty, STRINGS_MAP),
    p("enable_ipv4"),
    p("enable_ipv6"),
];

const IPAM: &[Field] = &[
    e("driver"),
    f("config", Empty, Shape::List(&Shape::Struct(IPAM_POOL))),
];

const IPAM_POOL: &[Field] = &[
    e("subnet"),
    e("gateway"),
    e("ip_range"),
    f("aux_addresses", Empty, STRINGS_MAP),
];

const VOLUME: &[Field] = &[
    e("name"),
    e("driver"),
    f("driver_opts", Empty, STRINGS_MAP),
    e("external"),
    f("labels", Empty, STRINGS_MAP),
];

/// `FileObjectConfig` as a secret marshals it: never its `content`.
const SECRET: &[Field] = &[
    e("name"),
    e("file"),
    e("environment"),
    e("external"),
    f("labels", Empty, STRINGS_MAP),
    e("driver"),
    f("driver_opts", Empty, STRINGS_MAP),
    e("template_driver"),
];

/// `FileObjectConfig` as a config marshals it (its `content` is dropped when it came from
/// `environment`, in `convert`).
const CONFIG: &[Field] = &[
    e("name"),
    e("file"),
    e("environment"),
    e("content"),
    e("external"),
    f("labels", Empty, STRINGS_MAP),
    e("driver"),
    f("driver_opts", Empty, STRINGS_MAP),
    e("template_driver"),
];

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
    }
}

/// `value` (wharf's serde form) in compose's shape: keys in the order to write them.
fn convert(value: &Value, shape: &Shape) -> Value {
    match (shape, value) {
        (Shape::Struct(fields), Value::Object(object)) => {
            let mut out = Map::new();
            for field in *fields {
                let converted = match (object.get(field.name), field.omit) {
                    (None | Some(Value::Null), Omit::Struct) => {
                        convert(&Value::Object(Map::new()), &field.shape)
                    }
                    (None, _) => Value::Null,
                    (Some(v), _) => convert(v, &field.shape),
                };
                let omitted = match field.omit {
                    Omit::Empty => is_empty(&converted),
                    Omit::Nil => converted.is_null(),
                    Omit::Never | Omit::Struct => false,
                };
                if !omitted {
                    out.insert(field.name.to_string(), converted);
                }
            }
            if std::ptr::eq(*fields, CONFIG) && out.get("environment").is_some_and(|v| !is_empty(v))
            {
                out.shift_remove("content");
            }
            if std::ptr::eq(*fields, PROJECT) {
                // The top-level extensions, which `Project.MarshalJSON` adds to its map.
                for (key, v) in object.iter().filter(|(k, _)| k.starts_with("x-")) {
                    out.insert(key.clone(), convert(v, &Shape::Any));
                }
                sort_keys(&mut out);
            }
            Value::Object(out)
        }
        (Shape::Map(inner), Value::Object(object)) => {
            let mut out: Map<String, Value> = object
                .iter()
                .map(|(k, v)| (k.clone(), convert(v, inner)))
                .collect();
            sort_keys(&mut out);
            Value::Object(out)
        }
        (Shape::List(inner), Value::Array(items)) => {
            Value::Array(items.iter().map(|v| convert(v, inner)).collect())
        }
        (Shape::Bytes, Value::Number(n)) => Value::String(n.to_string()),
        (Shape::FileMode, Value::String(s)) => match u32::from_str_radix(s, 8) {
            Ok(mode) => Value::String(format!("0{mode:o}")),
            Err(_) => value.clone(),
        },
        (Shape::FileMode, Value::Number(n)) => match n.as_u64() {
            Some(mode) => Value::String(format!("0{mode:o}")),
            None => value.clone(),
        },
        (Shape::Duration, Value::String(s)) if s == "0s" => Value::Null,
        (Shape::BlkioDevice, Value::Object(device)) => {
            let mut out = Map::new();
            for (key, name) in [("path", "Path"), ("weight", "Weight"), ("rate", "Rate")] {
                let Some(value) = device.get(key) else {
                    continue;
                };
                let value = match (key, value) {
                    ("rate", Value::String(text)) => super::short::parse_bytes(text)
                        .map_or_else(|| value.clone(), |b| Value::String(b.to_string())),
                    ("rate", Value::Number(n)) => Value::String(n.to_string()),
                    _ => value.clone(),
                };
                out.insert(name.to_string(), value);
            }
            Value::Object(out)
        }
        (Shape::HostsList, Value::Array(items)) => {
            let mut hosts: Vec<Value> = items
                .iter()
                .filter_map(Value::as_str)
                .flat_map(host_entries)
                .map(Value::String)
                .collect();
            hosts.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
            Value::Array(hosts)
        }
        (Shape::Any, Value::Object(object)) => {
            let mut out: Map<String, Value> = object
                .iter()
                .map(|(k, v)| (k.clone(), convert(v, &Shape::Any)))
                .collect();
            sort_keys(&mut out);
            Value::Object(out)
        }
        (Shape::Any, Value::Array(items)) => {
            Value::Array(items.iter().map(|v| convert(v, &Shape::Any)).collect())
        }
        // A scalar, a `null`, or a value in another form than the shape's (a `ulimits` entry
        // written as one number): as it is.
        _ => value.clone(),
    }
}

/// One `extra_hosts` entry as compose-go's `HostsList` renders it: `host=ip` per address
/// (`host=ip1,ip2` holds two). The separator is the first `=`, else the first `:`.
fn host_entries(entry: &str) -> Vec<String> {
    let split = entry.split_once('=').or_else(|| entry.split_once(':'));
    match split {
        Some((host, ips)) => ips.split(',').map(|ip| format!("{host}={ip}")).collect(),
        None => vec![entry.to_string()],
    }
}

fn sort_keys(map: &mut Map<String, Value>) {
    map.sort_keys();
}

/// Writes `value` as Go's encoder does: compact when `indent` is `None`, else as
/// `json.MarshalIndent(v, "", "  ")` at that depth.
fn write(out: &mut String, value: &Value, indent: Option<usize>) {
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        for _ in 0..depth {
            out.push_str("  ");
        }
    };
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => write_number(out, n),
        Value::String(s) => write_string(out, s),
        Value::Array(items) if items.is_empty() => out.push_str("[]"),
        Value::Object(map) if map.is_empty() => out.push_str("{}"),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                if let Some(depth) = indent {
                    newline(out, depth + 1);
                }
                write(out, item, indent.map(|d| d + 1));
            }
            if let Some(depth) = indent {
                newline(out, depth);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                if let Some(depth) = indent {
                    newline(out, depth + 1);
                }
                write_string(out, key);
                out.push(':');
                if indent.is_some() {
                    out.push(' ');
                }
                write(out, item, indent.map(|d| d + 1));
            }
            if let Some(depth) = indent {
                newline(out, depth);
            }
            out.push('}');
        }
    }
}

/// A number as Go's `encoding/json` writes it: integers as integers; a float with its shortest
/// digits, without exponent from 1e-6 up to 1e21, else as `1.5e+300` or `1e-7`.
fn write_number(out: &mut String, n: &serde_json::Number) {
    match n.as_f64() {
        Some(x) if !(n.is_i64() || n.is_u64()) => out.push_str(&go_json_float(x)),
        _ => out.push_str(&n.to_string()),
    }
}

fn go_json_float(x: f64) -> String {
    if x == 0.0 || (1e-6..1e21).contains(&x.abs()) {
        // Rust's `Display` is the shortest digits, never with an exponent: Go's `'f', -1`.
        return format!("{x}");
    }
    let scientific = format!("{x:e}");
    let (mantissa, exponent) = scientific.split_once('e').expect("`{:e}` has an exponent");
    match exponent.strip_prefix('-') {
        Some(negative) => format!("{mantissa}e-{negative}"),
        None => format!("{mantissa}e+{exponent:0>2}"),
    }
}

/// A string as Go's `encoding/json` writes it (HTML-safe escaping on).
fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
#[path = "compose_json_tests.rs"]
mod tests;
