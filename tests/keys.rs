//! Compose keys that reach the engine's build API, its pulls and its create requests, against
//! the real engine through the real binary, beside `docker compose` (v2) on the same file where
//! compose applies the key.

mod support;

use support::twin::Twin;
use support::{busybox_image, docker, inspect};

/// What a built image's file holds, read by a throwaway container.
fn image_file(image: &str, file: &str) -> String {
    docker(&["run", "--rm", image, "cat", file])
}

/// The ID of an image.
fn image_id(reference: &str) -> String {
    docker(&["image", "inspect", "--format", "{{.Id}}", reference])
        .trim()
        .to_string()
}

/// The RUN step records its `/etc/hosts`, the size of its `/dev/shm` and its network
/// interfaces.
const PROBE_DOCKERFILE: &str = "FROM IMAGE
RUN cat /etc/hosts > /hosts; df -k /dev/shm > /shm; cat /proc/net/dev > /net; \
    echo $(ulimit -Sn) $(ulimit -Hn) > /nofile
";

const BUILD_KEYS: &str = r#"
services:
  app:
    build:
      context: .
      tags: ["TAG"]
      extra_hosts: ["build-host=10.1.2.3", "other-host:10.1.2.4"]
      shm_size: 96m
      network: none
      isolation: default
      platforms: ["linux/amd64"]
      cache_from: ["IMAGE"]
      ulimits:
        nofile: {soft: 1234, hard: 2345}
    command: ["sleep", "3600"]
"#;

/// The interfaces listed in a `/proc/net/dev`.
fn interfaces(net_dev: &str) -> Vec<String> {
    net_dev
        .lines()
        .skip(2)
        .filter_map(|line| Some(line.split_once(':')?.0.trim().to_string()))
        .collect()
}

#[test]
fn build_keys_reach_the_run_steps_and_the_image_gets_its_extra_tag() {
    let tag = format!("{}/extra:1", support::unique_project("keys-tag"));
    let mut twin = Twin::new("keys-build", &BUILD_KEYS.replace("TAG", &tag));
    twin.guard_image(&tag);
    twin.write(
        "Dockerfile",
        &PROBE_DOCKERFILE.replace("IMAGE", busybox_image()),
    );

    for (who, project) in [("wharf", twin.name.clone()), ("compose", twin.peer.clone())] {
        match who {
            "wharf" => twin.wharf_ok(&["build"]),
            _ => twin.compose_ok(&["build"]),
        }
        let image = format!("{project}-app");
        assert_eq!(
            image_id(&tag),
            image_id(&image),
            "{who}: the extra tag names the image built"
        );
        let hosts = image_file(&image, "/hosts");
        for line in ["10.1.2.3\tbuild-host", "10.1.2.4\tother-host"] {
            assert!(
                hosts.contains(line),
                "{who}: {line:?} in the RUN step's /etc/hosts:\n{hosts}"
            );
        }
        let net = image_file(&image, "/net");
        assert_eq!(
            interfaces(&net),
            ["lo"],
            "{who}: network none leaves the RUN step loopback only"
        );
        if who == "wharf" {
            // Compose's BuildKit on this engine (20.10) drops shm_size; the build API takes it.
            let shm = image_file(&image, "/shm");
            assert!(
                shm.contains(" 98304 "),
                "96m of /dev/shm in the RUN step:\n{shm}"
            );
            // And `ulimits`, which BuildKit takes too but compose v2 does not pass to it here.
            let nofile = image_file(&image, "/nofile");
            assert_eq!(nofile.trim(), "1234 2345", "the RUN step's nofile limits");
        }
    }
}

#[test]
fn several_build_platforms_are_refused_naming_the_key() {
    let file = r#"
services:
  app:
    build:
      context: .
      platforms: ["linux/amd64", "linux/arm64"]
"#;
    let twin = Twin::new("keys-platforms", file);
    twin.write("Dockerfile", &format!("FROM {}\n", busybox_image()));
    let out = twin.wharf(&["build"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "several platforms cannot be built:\n{stderr}"
    );
    assert!(
        stderr.contains("build.platforms lists 2 platforms (linux/amd64, linux/arm64)"),
        "the error names the key:\n{stderr}"
    );
}

/// The local test image is the engine's own platform (linux/amd64 here).
const PLATFORM: &str = r#"
services:
  native:
    image: IMAGE
    platform: linux/amd64
    command: ["sleep", "3600"]
  other:
    image: IMAGE
    platform: linux/arm64
    command: ["sleep", "3600"]
"#;

#[test]
fn the_service_platform_reaches_the_create_and_a_mismatch_is_refused() {
    let twin = Twin::new("keys-platform", PLATFORM);
    twin.wharf_ok(&["up", "-d", "native"]);
    assert_eq!(
        inspect(&format!("{}-native-1", twin.name), "{{.State.Running}}").trim(),
        "true"
    );
    let out = twin.wharf(&["up", "-d", "other"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "an arm64 container from an amd64 image:\n{stderr}"
    );
    assert!(
        stderr.contains("does not match the specified platform: wanted linux/arm64"),
        "the engine's reason:\n{stderr}"
    );
    // Compose looks for an arm64 image instead and fails to pull it: it fails too.
    let out = twin.compose(&["up", "-d", "other"]);
    assert!(
        !out.status.success(),
        "compose:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn docker_default_platform_is_the_platform_of_services_that_set_none() {
    let file = r#"
services:
  app:
    image: IMAGE
    command: ["sleep", "3600"]
"#;
    let twin = Twin::new("keys-default-platform", file);
    twin.write(".env", "DOCKER_DEFAULT_PLATFORM=linux/arm64\n");
    let out = twin.wharf(&["up", "-d"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("does not match the specified platform: wanted linux/arm64"),
        "the platform from .env reached the create:\n{stderr}"
    );
}

const MAC: &str = r#"
services:
  app:
    image: IMAGE
    mac_address: "02:42:ac:11:00:42"
    command: ["sleep", "3600"]
"#;

#[test]
fn the_service_mac_address_is_the_containers_as_under_compose() {
    let twin = Twin::new("keys-mac", MAC);
    twin.both(&["up", "-d"]);
    for project in [&twin.name, &twin.peer] {
        let app = format!("{project}-app-1");
        let seen = docker(&["exec", &app, "cat", "/sys/class/net/eth0/address"]);
        assert_eq!(
            seen.trim(),
            "02:42:ac:11:00:42",
            "{project}: the container's MAC"
        );
        assert_eq!(
            inspect(&app, "{{.Config.MacAddress}}").trim(),
            "02:42:ac:11:00:42",
            "{project}: in the container's config, as the engine's API 1.41 takes it"
        );
    }
    assert_eq!(
        config_hash(&format!("{}-app-1", twin.name)),
        config_hash(&format!("{}-app-1", twin.peer)),
        "the same config hash as compose's"
    );
}

fn config_hash(container: &str) -> String {
    inspect(
        container,
        "{{index .Config.Labels \"com.docker.compose.config-hash\"}}",
    )
}

/// A block device of this machine, for the throttles (the engine needs a real one).
fn block_device() -> String {
    let mut devices: Vec<String> = std::fs::read_dir("/dev")
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            use std::os::unix::fs::FileTypeExt;
            e.file_type().is_ok_and(|t| t.is_block_device())
        })
        .map(|e| e.path().display().to_string())
        .collect();
    devices.sort();
    devices.into_iter().next().expect("a block device in /dev")
}

const HOST_KEYS: &str = r#"
services:
  app:
    image: IMAGE
    command: ["sleep", "3600"]
    blkio_config:
      weight: 300
      weight_device:
        - path: DEVICE
          weight: 400
      device_read_bps:
        - path: DEVICE
          rate: 1mb
      device_write_bps:
        - path: DEVICE
          rate: "2097152"
      device_read_iops:
        - path: DEVICE
          rate: 20
      device_write_iops:
        - path: DEVICE
          rate: 30
    annotations:
      com.example.note: hello
"#;

/// The host config keys these tests set, as the engine stored them.
const STORED: &str = "{{json .HostConfig.BlkioWeight}} \
{{json .HostConfig.BlkioWeightDevice}} {{json .HostConfig.BlkioDeviceReadBps}} \
{{json .HostConfig.BlkioDeviceWriteBps}} {{json .HostConfig.BlkioDeviceReadIOps}} \
{{json .HostConfig.BlkioDeviceWriteIOps}}";

#[test]
fn blkio_config_reaches_the_host_config_as_compose_sends_it() {
    let device = block_device();
    let twin = Twin::new("keys-host", &HOST_KEYS.replace("DEVICE", &device));
    twin.both(&["up", "-d"]);
    let wharf = inspect(&format!("{}-app-1", twin.name), STORED);
    let compose = inspect(&format!("{}-app-1", twin.peer), STORED);
    assert_eq!(
        wharf, compose,
        "the engine stored the same host config for both"
    );
    for rate in [
        "\"Rate\":1048576",
        "\"Rate\":2097152",
        "\"Rate\":20",
        "\"Rate\":30",
    ] {
        assert!(wharf.contains(rate), "{rate} in {wharf}");
    }
    // What the container's cgroup holds (cgroup v1 here): the read limit on that device.
    let app = format!("{}-app-1", twin.name);
    let limit = docker(&[
        "exec",
        &app,
        "cat",
        "/sys/fs/cgroup/blkio/blkio.throttle.read_bps_device",
    ]);
    assert!(
        limit.trim().ends_with(" 1048576"),
        "the read limit in the cgroup: {limit}"
    );
    // Annotations need API 1.43; this engine has 1.41: warned at load time.
    let out = twin.wharf(&["config", "-q"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "services.app.annotations is applied only when the engine's API is 1.43 or newer"
        ),
        "{stderr}"
    );
    assert_eq!(
        config_hash(&app),
        config_hash(&format!("{}-app-1", twin.peer))
    );
}

/// Compose v2.40's schema refuses `volume_driver` and `pre_start`: wharf refuses them too, at
/// the key, where it used to apply the first and ignore the second.
#[test]
fn volume_driver_and_pre_start_are_refused_as_compose_refuses_them() {
    for (key, value) in [
        ("volume_driver", "local"),
        ("pre_start", "[{command: [\"true\"]}]"),
    ] {
        let file = format!("services:\n  app:\n    image: IMAGE\n    {key}: {value}\n");
        let twin = Twin::new("keys-removed", &file);
        let compose = twin.compose(&["config", "-q"]);
        assert!(
            String::from_utf8_lossy(&compose.stderr)
                .contains(&format!("additional properties '{key}' not allowed")),
            "compose v2.40 refuses {key}"
        );
        let wharf = twin.wharf(&["config", "-q"]);
        let stderr = String::from_utf8_lossy(&wharf.stderr);
        assert!(!wharf.status.success(), "wharf refuses {key}: {stderr}");
        assert!(
            stderr.contains(&format!(
                "compose.yaml:4:5: services.app: `{key}` is not allowed"
            )),
            "{stderr}"
        );
    }
}

/// What the engine said when a `docker compose` command failed (`Error response from daemon:
/// MESSAGE`), for wharf's error to name the same refusal.
fn daemon_error(compose: &std::process::Output) -> String {
    let stderr = String::from_utf8_lossy(&compose.stderr);
    let (_, message) = stderr
        .rsplit_once("Error response from daemon: ")
        .unwrap_or_else(|| panic!("compose names the engine's refusal: {stderr}"));
    message
        .lines()
        .next()
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// Starts `service` under both and insists on the same outcome: both run, or the engine
/// refuses both for the same reason (on this machine: no such device driver, a kernel without
/// real-time group scheduling for the engine's cgroup).
fn start_alike(twin: &Twin, service: &str) {
    let compose = twin.compose(&["start", service]);
    let wharf = twin.wharf(&["start", service]);
    assert_eq!(
        wharf.status.success(),
        compose.status.success(),
        "{service}: wharf {wharf:?}, compose {compose:?}"
    );
    if !compose.status.success() {
        let refusal = daemon_error(&compose);
        // The message names the container's own cgroup path: compare up to it.
        let refusal = refusal.split("/docker/").next().unwrap_or_default();
        let stderr = String::from_utf8_lossy(&wharf.stderr);
        assert!(
            stderr.contains(refusal),
            "{service}: `{refusal}` in {stderr}"
        );
    }
}

const DEVICES: &str = r#"
services:
  gpu:
    image: IMAGE
    command: ["sleep", "3600"]
    gpus:
      - driver: nvidia
        count: all
        capabilities: [gpu]
  reserved:
    image: IMAGE
    command: ["sleep", "3600"]
    deploy:
      resources:
        reservations:
          devices:
            - driver: nvidia
              device_ids: ["0", "1"]
              capabilities: [gpu, utility]
              options: {visible: all}
"#;

/// `gpus` and `deploy.resources.reservations.devices` are the container's device requests, as
/// compose sends them (compose adds `gpu` to the capabilities of `gpus`, so it is there twice);
/// started, the engine needs the driver, which this machine may lack: both fare alike.
#[test]
fn device_requests_are_created_as_compose_creates_them() {
    let twin = Twin::new("keys-gpus", DEVICES);
    twin.both(&["create"]);
    let requests = |project: &str, service: &str| {
        inspect(
            &format!("{project}-{service}-1"),
            "{{json .HostConfig.DeviceRequests}}",
        )
    };
    assert_eq!(
        requests(&twin.name, "gpu"),
        r#"[{"Driver":"nvidia","Count":-1,"DeviceIDs":null,"Capabilities":[["gpu","gpu"]],"Options":null}]"#
    );
    assert_eq!(
        requests(&twin.name, "reserved"),
        r#"[{"Driver":"nvidia","Count":0,"DeviceIDs":["0","1"],"Capabilities":[["gpu","utility"]],"Options":{"visible":"all"}}]"#
    );
    for service in ["gpu", "reserved"] {
        assert_eq!(
            requests(&twin.name, service),
            requests(&twin.peer, service),
            "{service}: the same device requests as compose's"
        );
        start_alike(&twin, service);
    }
}

/// `storage_opt` reaches the create: the engine takes it or refuses it (overlay2 takes `size`
/// only on xfs with project quotas) alike for both.
#[test]
fn storage_opt_reaches_the_create_as_under_compose() {
    let file = r#"
services:
  app:
    image: IMAGE
    command: ["sleep", "3600"]
    storage_opt:
      size: 1G
"#;
    let twin = Twin::new("keys-storage", file);
    let compose = twin.compose(&["create"]);
    let wharf = twin.wharf(&["create"]);
    assert_eq!(
        wharf.status.success(),
        compose.status.success(),
        "wharf {wharf:?}, compose {compose:?}"
    );
    if compose.status.success() {
        let storage = |project: &str| {
            inspect(
                &format!("{project}-app-1"),
                "{{json .HostConfig.StorageOpt}}",
            )
        };
        assert_eq!(storage(&twin.name), r#"{"size":"1G"}"#);
        assert_eq!(storage(&twin.name), storage(&twin.peer));
    } else {
        let refusal = daemon_error(&compose);
        let stderr = String::from_utf8_lossy(&wharf.stderr);
        assert!(stderr.contains(&refusal), "`{refusal}` in {stderr}");
    }
}

/// `cpu_rt_runtime` and `cpu_rt_period` (microseconds) are in the host config as compose puts
/// them; started, the kernel takes them or refuses them alike.
#[test]
fn cpu_real_time_keys_reach_the_host_config_as_under_compose() {
    let file = r#"
services:
  app:
    image: IMAGE
    command: ["sleep", "3600"]
    cpu_rt_runtime: 9500
    cpu_rt_period: 100000
"#;
    let twin = Twin::new("keys-rt", file);
    twin.both(&["create"]);
    let real_time = |project: &str| {
        inspect(
            &format!("{project}-app-1"),
            "{{.HostConfig.CPURealtimeRuntime}} {{.HostConfig.CPURealtimePeriod}}",
        )
    };
    assert_eq!(real_time(&twin.name), "9500 100000");
    assert_eq!(real_time(&twin.name), real_time(&twin.peer));
    start_alike(&twin, "app");
}

const ATTACH: &str = r#"
services:
  loud:
    image: IMAGE
    command: ["sh", "-c", "sleep 1; echo from-loud"]
  quiet:
    image: IMAGE
    attach: false
    command: ["sh", "-c", "echo from-quiet; sleep 3600"]
"#;

#[test]
fn an_attached_up_does_not_follow_a_service_with_attach_false() {
    let twin = Twin::new("keys-attach", ATTACH);
    for (who, out) in [
        ("wharf", twin.wharf(&["up"])),
        ("compose", twin.compose(&["up"])),
    ] {
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{who}: the up ends once loud has exited: {stdout}"
        );
        assert!(stdout.contains("Attaching to loud-1\n"), "{who}: {stdout}");
        assert!(stdout.contains("from-loud"), "{who}: {stdout}");
        assert!(
            !stdout.contains("from-quiet"),
            "{who} does not follow quiet: {stdout}"
        );
    }
}

/// A volume's `subpath` needs engine API 1.45, which this engine (1.41) lacks: compose v2
/// sends it, the engine ignores the field and the container gets the whole volume; wharf
/// refuses the create instead, naming the mount, the API it needs and what to do.
#[test]
fn a_subpath_the_engine_cannot_mount_is_refused_where_compose_mounts_the_whole_volume() {
    let file = "services:
  app:
    image: IMAGE
    command: [sleep, '600']
    volumes:
      - type: volume
        source: data
        target: /data
        volume:
          subpath: web
volumes:
  data:
";
    let twin = Twin::new("keys-subpath", file);
    twin.compose_ok(&["up", "-d"]);
    let whole = docker(&["exec", &format!("{}-app-1", twin.peer), "ls", "-a", "/data"]);
    assert!(
        !whole.lines().any(|l| l == "web"),
        "this engine ignores compose's subpath: /data holds the volume's root, not `web` ({whole})"
    );

    let up = twin.wharf(&["up", "-d"]);
    let stderr = String::from_utf8_lossy(&up.stderr);
    assert!(!up.status.success(), "{stderr}");
    assert!(
        stderr.contains("compose.yaml:10:11: services.app.volumes[0].volume.subpath is applied only when the engine's API is 1.45 or newer"),
        "warned at the key: {stderr}"
    );
    assert!(
        stderr.contains(
            "a volume's subpath (at /data) needs engine API 1.45; this engine has 1.41: \
             upgrade the engine, or mount the whole volume and use the path inside it"
        ),
        "{stderr}"
    );
    let made = docker(&[
        "ps",
        "-aq",
        "--filter",
        &format!("label=com.docker.compose.project={}", twin.name),
    ]);
    assert_eq!(made.trim(), "", "no container was made");
}

/// The network a container's `eth0` is on, by the address the container sees there.
fn first_interface_network(container: &str) -> String {
    let eth0 = docker(&["exec", container, "ip", "-4", "-o", "addr", "show", "eth0"]);
    let address = eth0
        .split_whitespace()
        .skip_while(|w| *w != "inet")
        .nth(1)
        .and_then(|a| a.split('/').next())
        .unwrap_or_else(|| panic!("an IPv4 address on eth0: {eth0}"))
        .to_string();
    let networks = inspect(
        container,
        "{{range $k, $v := .NetworkSettings.Networks}}{{$k}}={{$v.IPAddress}} {{end}}",
    );
    networks
        .split_whitespace()
        .find_map(|pair| {
            let (network, ip) = pair.split_once('=')?;
            (ip == address).then(|| network.to_string())
        })
        .unwrap_or_else(|| panic!("{address} is on one of {networks}"))
}

/// `priority` orders the networks a container joins, highest first, as compose v2 joins them:
/// the highest is the one given at the create (the container's `NetworkMode`); the engine
/// then names the interfaces at the start, in its own order, the same under both tools.
#[test]
fn network_priority_orders_the_joins_as_under_compose() {
    let file = "services:
  app:
    image: IMAGE
    command: [sleep, '600']
    networks:
      alpha: {}
      zeta:
        priority: 100
networks:
  alpha:
  zeta:
";
    let twin = Twin::new("keys-priority", file);
    twin.both(&["up", "-d"]);
    let seen = |project: &str| {
        let container = format!("{project}-app-1");
        let joined_at_create = inspect(&container, "{{.HostConfig.NetworkMode}}");
        let eth0 = first_interface_network(&container);
        (
            joined_at_create.trim().replace(project, "P"),
            eth0.replace(project, "P"),
        )
    };
    let (compose, wharf) = (seen(&twin.peer), seen(&twin.name));
    assert_eq!(
        compose.0, "P_zeta",
        "compose joins the highest priority first"
    );
    assert_eq!(
        wharf, compose,
        "wharf joins and names the interfaces as compose"
    );
}

/// `interface_name` needs an engine that reads its driver option (28.1, API 1.49): on this one
/// (1.41) wharf warns at the key and refuses the create, as compose v2 refuses it.
#[test]
fn interface_name_is_refused_by_an_engine_that_cannot_name_the_interface_as_by_compose() {
    let file = "services:
  app:
    image: IMAGE
    command: [sleep, '600']
    networks:
      zeta:
        interface_name: zeta0
networks:
  zeta:
";
    let twin = Twin::new("keys-ifname", file);
    let compose = twin.compose(&["up", "-d"]);
    assert!(!compose.status.success());
    assert!(
        String::from_utf8_lossy(&compose.stderr)
            .contains("interface_name requires Docker Engine v28.1 or later")
    );
    let up = twin.wharf(&["up", "-d"]);
    let stderr = String::from_utf8_lossy(&up.stderr);
    assert!(!up.status.success(), "{stderr}");
    for said in [
        "compose.yaml:7:9: services.app.networks.zeta.interface_name is applied only when the \
         engine's API is 1.49 or newer",
        "interface_name (on network ",
        "requires Docker Engine v28.1 or later (API 1.49); this engine has API 1.41",
    ] {
        assert!(stderr.contains(said), "{said:?} in {stderr}");
    }
}
