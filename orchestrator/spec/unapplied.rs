//! Keys that wharf reads but does not apply: one warning for each, at the key's line, saying
//! why, so that nothing in a file is dropped silently. A row leaves these tables when its key
//! is applied.

use super::diagnostic::Diagnostic;
use super::yaml::{Mapping, Node};

/// Service keys, and why they are not applied.
const SERVICE: &[(&str, &str)] = &[
    ("annotations", "only when the engine's API is 1.43 or newer"),
    ("credential_spec", "it is for Windows containers only"),
    ("isolation", "it is for Windows containers only"),
    ("models", "wharf does not run models"),
    ("provider", "wharf does not run provider services"),
    (
        "pull_refresh_after",
        "wharf does not refresh images on a schedule",
    ),
];

/// A `why` that starts with `only when` makes the warning "X is applied only when …".
const NEEDS_1_44: &str = "only when the engine's API is 1.44 or newer";
/// Why a swarm-only key is not applied; the swarm target applies these and drops the warning.
pub const SWARM: &str = "it is a swarm setting (compose v2 does not apply it either)";

const DEPLOY: &[(&str, &str)] = &[
    ("endpoint_mode", SWARM),
    ("placement", SWARM),
    ("labels", SWARM),
];

const RESERVATIONS: &[(&str, &str)] = &[("cpus", SWARM), ("generic_resources", SWARM)];

const PORT: &[(&str, &str)] = &[
    (
        "name",
        "it names the port for humans; the engine has no such setting",
    ),
    (
        "app_protocol",
        "it names the protocol for humans; the engine has no such setting",
    ),
];

const MOUNT: &[(&str, &str)] = &[("consistency", "it is for Docker Desktop on macOS only")];

/// Mount types that no Linux engine of a single host mounts, and why.
const MOUNT_TYPE: &[(&str, &str)] = &[
    ("npipe", "a named pipe is for Windows containers only"),
    (
        "cluster",
        "a cluster volume is a swarm's (CSI); wharf's swarm target does not apply it either",
    ),
    ("image", "only when the engine's API is 1.47 or newer"),
];

const SERVICE_NETWORK: &[(&str, &str)] = &[
    ("mac_address", NEEDS_1_44),
    // The endpoint driver option that names the interface is read from Docker 28.1 on.
    (
        "interface_name",
        "only when the engine's API is 1.49 or newer",
    ),
    ("gw_priority", "only when the engine's API is 1.48 or newer"),
];

/// BuildKit's settings: wharf builds through the engine's classic build API, which has none.
const BUILDKIT: &str = "it is BuildKit's; wharf builds through the engine's classic build API, which has no such setting";

const BUILD: &[(&str, &str)] = &[
    ("additional_contexts", BUILDKIT),
    ("cache_to", BUILDKIT),
    ("entitlements", BUILDKIT),
    ("no_cache_filter", BUILDKIT),
    ("privileged", BUILDKIT),
    ("provenance", BUILDKIT),
    ("sbom", BUILDKIT),
    ("secrets", BUILDKIT),
    ("ssh", BUILDKIT),
];

const FILE_OBJECT: &[(&str, &str)] = &[
    (
        "external",
        "external secrets and configs are swarm ones: it is not mounted",
    ),
    ("driver", SWARM),
    ("driver_opts", SWARM),
    ("template_driver", SWARM),
    ("labels", SWARM),
];

/// One warning per key of `root` (the merged file, services of inactive profiles removed)
/// that wharf does not apply.
pub fn warn(root: &Node, warnings: &mut Vec<Diagnostic>) {
    let mut found = Vec::new();
    collect(root, &mut Warnings(&mut found));
    // In the order of the files' lines.
    found.sort_by_key(|d| {
        d.span
            .as_ref()
            .map(|s| (s.file.path.clone(), s.line, s.column))
    });
    warnings.append(&mut found);
}

fn collect(root: &Node, out: &mut Warnings) {
    if let Some(entry) = root.as_map().and_then(|m| m.get("models")) {
        out.push(&entry.key_span, "models", "wharf does not run models");
    }
    let file_objects = |section: &str| root.get(section).and_then(Node::as_map);
    for section in ["secrets", "configs"] {
        for (name, object) in file_objects(section).into_iter().flatten() {
            if let Some(map) = object.node.as_map() {
                out.table(map, &format!("{section}.{name}"), FILE_OBJECT);
            }
        }
    }
    for (name, network) in file_objects("networks").into_iter().flatten() {
        let ipv4 = network.node.as_map().and_then(|m| m.get("enable_ipv4"));
        if let Some(entry) = ipv4.filter(|e| scalar(&e.node) == Some("false")) {
            out.push(
                &entry.key_span,
                &format!("networks.{name}.enable_ipv4"),
                "only when the engine's API is 1.47 or newer",
            );
        }
    }
    for (name, service) in root
        .get("services")
        .and_then(Node::as_map)
        .into_iter()
        .flatten()
    {
        let Some(map) = service.node.as_map() else {
            continue;
        };
        service_keys(out, root, &format!("services.{name}"), map);
    }
}

/// Why a size written as a YAML number that is no 64-bit integer is dropped.
const SIZE_NOT_INTEGER: &str = "compose v2 ignores a size written as a number that is not a \
                                64-bit integer; write it as a string such as \"1.5k\"";

fn service_keys(out: &mut Warnings, root: &Node, path: &str, service: &Mapping) {
    out.table(service, path, SERVICE);
    dropped_sizes(out, service, path);
    if let Some(deploy) = service.get("deploy").and_then(|e| e.node.as_map()) {
        let deploy_path = format!("{path}.deploy");
        out.table(deploy, &deploy_path, DEPLOY);
        if let Some(reservations) = deploy
            .get("resources")
            .and_then(|r| r.node.get("reservations"))
            .and_then(Node::as_map)
        {
            let at = format!("{deploy_path}.resources.reservations");
            out.table(reservations, &at, RESERVATIONS);
        }
    }
    if let Some(build) = service.get("build").and_then(|e| e.node.as_map()) {
        out.table(build, &format!("{path}.build"), BUILD);
    }
    for (i, port) in items(service, "ports") {
        out.table(port, &format!("{path}.ports[{i}]"), PORT);
    }
    for (i, mount) in short_items(service, "volumes") {
        for (mode, why) in super::short::unapplied_volume_modes(mount.text) {
            out.push(
                mount.span,
                &format!("{path}.volumes[{i}] mode `{mode}`"),
                why,
            );
        }
    }
    for (i, mount) in items(service, "volumes") {
        let at = format!("{path}.volumes[{i}]");
        out.table(mount, &at, MOUNT);
        let kind = mount.get("type").and_then(|t| scalar(&t.node));
        if let Some((kind, why)) = MOUNT_TYPE.iter().find(|(k, _)| Some(*k) == kind) {
            let entry = mount.get("type").expect("the type was read");
            out.push(&entry.key_span, &format!("{at} of type {kind}"), why);
        }
        let option = |group: &str, key: &str| {
            let entry = mount.get(group)?.node.as_map()?.get(key)?;
            Some((entry, scalar(&entry.node)))
        };
        if let Some((entry, _)) = option("volume", "subpath") {
            let why = "only when the engine's API is 1.45 or newer";
            out.push(&entry.key_span, &format!("{at}.volume.subpath"), why);
        }
        if let Some((entry, Some("writable" | "readonly"))) = option("bind", "recursive") {
            out.push(&entry.key_span, &format!("{at}.bind.recursive"), NEEDS_1_44);
        }
    }
    if let Some(networks) = service.get("networks").and_then(|e| e.node.as_map()) {
        for (name, network) in networks {
            if let Some(map) = network.node.as_map() {
                out.table(map, &format!("{path}.networks.{name}"), SERVICE_NETWORK);
            }
        }
    }
    for section in ["secrets", "configs"] {
        for (i, reference) in items(service, section) {
            let from_file = reference
                .get("source")
                .and_then(|s| scalar(&s.node))
                .and_then(|source| root.get(section)?.get(source))
                .is_some_and(|object| object.get("file").is_some());
            if !from_file {
                continue;
            }
            for key in ["uid", "gid", "mode"] {
                if let Some(entry) = reference.get(key) {
                    let why = "a secret or config from a `file` is bind-mounted as it is \
                               (compose v2 ignores it too)";
                    out.push(
                        &entry.key_span,
                        &format!("{path}.{section}[{i}].{key}"),
                        why,
                    );
                }
            }
        }
    }
}

/// The sizes of a service that `short::bytes` drops as compose v2 drops them: YAML numbers
/// that are no 64-bit integer (`1.5e3`, `99999999999999999999`).
fn dropped_sizes(out: &mut Warnings, service: &Mapping, path: &str) {
    let mut sizes: Vec<(String, &super::yaml::Entry)> = Vec::new();
    for key in ["mem_limit", "mem_reservation", "memswap_limit", "shm_size"] {
        sizes.extend(service.get(key).map(|e| (format!("{path}.{key}"), e)));
    }
    let nested = |group: &str, key: &str| service.get(group)?.node.as_map()?.get(key);
    sizes.extend(nested("build", "shm_size").map(|e| (format!("{path}.build.shm_size"), e)));
    for (i, mount) in items(service, "volumes") {
        let size = mount
            .get("tmpfs")
            .and_then(|t| t.node.as_map()?.get("size"));
        sizes.extend(size.map(|e| (format!("{path}.volumes[{i}].tmpfs.size"), e)));
    }
    for (at, entry) in sizes {
        if matches!(
            entry.node.resolve(),
            Some(super::yaml::Resolved::Float(_) | super::yaml::Resolved::Uint(_))
        ) {
            out.push(&entry.key_span, &at, SIZE_NOT_INTEGER);
        }
    }
}

/// The mappings of a sequence key (long-syntax items), with their index.
fn items<'a>(map: &'a Mapping, key: &str) -> impl Iterator<Item = (usize, &'a Mapping)> {
    let seq = match map.get(key).map(|e| &e.node.value) {
        Some(super::yaml::Value::Seq(items)) => items.as_slice(),
        _ => &[],
    };
    seq.iter()
        .enumerate()
        .filter_map(|(i, n)| Some((i, n.as_map()?)))
}

/// The scalars of a sequence key (short-syntax items), with their index.
fn short_items<'a>(map: &'a Mapping, key: &str) -> impl Iterator<Item = (usize, ShortItem<'a>)> {
    let seq = match map.get(key).map(|e| &e.node.value) {
        Some(super::yaml::Value::Seq(items)) => items.as_slice(),
        _ => &[],
    };
    seq.iter().enumerate().filter_map(|(i, n)| {
        let text = scalar(n)?;
        Some((
            i,
            ShortItem {
                text,
                span: &n.span,
            },
        ))
    })
}

struct ShortItem<'a> {
    text: &'a str,
    span: &'a super::diagnostic::Span,
}

fn scalar(node: &Node) -> Option<&str> {
    match &node.value {
        super::yaml::Value::Scalar { text, .. } => Some(text),
        _ => None,
    }
}

struct Warnings<'a>(&'a mut Vec<Diagnostic>);

impl Warnings<'_> {
    fn push(&mut self, span: &super::diagnostic::Span, path: &str, why: &str) {
        let message = match why.starts_with("only when") {
            true => format!("{path} is applied {why}"),
            false => format!("{path} is not applied: {why}"),
        };
        self.0.push(Diagnostic::at(span, message));
    }

    /// A warning for each key of `table` that `map` has.
    fn table(&mut self, map: &Mapping, path: &str, table: &[(&str, &str)]) {
        for (key, why) in table {
            if let Some(entry) = map.get(*key) {
                self.push(&entry.key_span, &format!("{path}.{key}"), why);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::spec::load::{LoadOptions, load};

    /// Every key wharf reads but does not apply, one warning each, in the file's order.
    const FILE: &str = r#"services:
  web:
    image: nginx
    credential_spec:
      file: spec.json
    platform: linux/arm64
    annotations: {com.example.note: hello}
    ports:
      - target: 80
        name: http
    volumes:
      - type: bind
        source: .
        target: /src
        consistency: cached
        bind:
          recursive: readonly
      - type: volume
        source: data
        target: /data
        volume:
          subpath: sub
      - type: image
        source: tools:1
        target: /tools
      - type: npipe
        source: \\.\pipe\docker_engine
        target: \\.\pipe\docker_engine
    networks:
      front:
        gw_priority: 1
    deploy:
      placement:
        constraints: ["node.role==manager"]
      resources:
        reservations:
          cpus: "0.5"
    build:
      context: .
      cache_to: ["type=local,dest=/tmp/cache"]
    secrets:
      - source: pw
        mode: 0400
      - source: token
        mode: 0400
networks:
  front:
    enable_ipv4: false
volumes:
  data:
secrets:
  pw:
    file: ./pw.txt
  token:
    environment: TOKEN
    labels: {team: infra}
models:
  llm:
    model: ai/smollm2
"#;

    const GOLDEN: &str = "\
-:4:5: services.web.credential_spec is not applied: it is for Windows containers only
-:7:5: services.web.annotations is applied only when the engine's API is 1.43 or newer
-:10:9: services.web.ports[0].name is not applied: it names the port for humans; the engine has no such setting
-:15:9: services.web.volumes[0].consistency is not applied: it is for Docker Desktop on macOS only
-:17:11: services.web.volumes[0].bind.recursive is applied only when the engine's API is 1.44 or newer
-:22:11: services.web.volumes[1].volume.subpath is applied only when the engine's API is 1.45 or newer
-:23:9: services.web.volumes[2] of type image is applied only when the engine's API is 1.47 or newer
-:26:9: services.web.volumes[3] of type npipe is not applied: a named pipe is for Windows containers only
-:31:9: services.web.networks.front.gw_priority is applied only when the engine's API is 1.48 or newer
-:33:7: services.web.deploy.placement is not applied: it is a swarm setting (compose v2 does not apply it either)
-:37:11: services.web.deploy.resources.reservations.cpus is not applied: it is a swarm setting (compose v2 does not apply it either)
-:40:7: services.web.build.cache_to is not applied: it is BuildKit's; wharf builds through the engine's classic build API, which has no such setting
-:43:9: services.web.secrets[0].mode is not applied: a secret or config from a `file` is bind-mounted as it is (compose v2 ignores it too)
-:48:5: networks.front.enable_ipv4 is applied only when the engine's API is 1.47 or newer
-:56:5: secrets.token.labels is not applied: it is a swarm setting (compose v2 does not apply it either)
-:57:1: models is not applied: wharf does not run models
";

    #[test]
    fn every_key_that_is_not_applied_is_warned_about_once_at_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let project = load(&LoadOptions {
            files: vec!["-".into()],
            cwd: dir.path().to_path_buf(),
            project_name: Some("demo".into()),
            stdin: Some(FILE.into()),
            ..LoadOptions::default()
        })
        .unwrap();
        let text: String = project
            .warnings
            .iter()
            .map(|w| w.plain().replace(&dir.path().display().to_string(), "") + "\n")
            .collect();
        assert_eq!(text, GOLDEN);
    }
}
