//! The translation of a `ContainerSpec` into the engine's create request, at API 1.41 and
//! newer: no engine needed.

use std::path::PathBuf;
use std::time::Duration;

use bollard::models::{ContainerCreateBody, MountType, RestartPolicyNameEnum};
use indexmap::IndexMap;

use super::create::{Translated, beyond_the_engine, translate};
use crate::desired::{
    BlkioOptions, ContainerSpec, EndpointOptions, Healthcheck, Mount, MountKind, Namespace,
    NetworkAttachment, PortBinding, Ulimit, VolumesFrom,
};

const API_1_41: (usize, usize) = (1, 41);

fn attachment(network: &str, aliases: &[&str]) -> NetworkAttachment {
    NetworkAttachment {
        network: network.to_string(),
        aliases: aliases.iter().map(|a| a.to_string()).collect(),
        ipv4_address: None,
        ipv6_address: None,
        endpoint: Default::default(),
    }
}

#[test]
fn only_the_first_network_is_given_at_create() {
    let spec = ContainerSpec {
        image: "img".into(),
        networks: vec![
            attachment("p_front", &["web"]),
            attachment("p_back", &["web", "api"]),
        ],
        ..Default::default()
    };
    let t = translate(&spec, API_1_41);
    let host = t.body.host_config.as_ref().unwrap();
    assert_eq!(host.network_mode.as_deref(), Some("p_front"));
    let endpoints = t
        .body
        .networking_config
        .as_ref()
        .unwrap()
        .endpoints_config
        .as_ref()
        .unwrap();
    assert_eq!(endpoints.len(), 1);
    assert_eq!(
        endpoints["p_front"].aliases.as_deref(),
        Some(&["web".to_string()][..])
    );
    assert_eq!(t.later_networks.len(), 1);
    assert_eq!(t.later_networks[0].0, "p_back");
    assert_eq!(
        t.later_networks[0].1.aliases.as_deref(),
        Some(&["web".to_string(), "api".to_string()][..])
    );
}

#[test]
fn network_mode_wins_over_attachments() {
    let spec = ContainerSpec {
        image: "img".into(),
        network_mode: Some(Namespace::Container("abc".into())),
        ..Default::default()
    };
    let t = translate(&spec, API_1_41);
    assert_eq!(
        t.body.host_config.unwrap().network_mode.as_deref(),
        Some("container:abc")
    );
    assert!(t.body.networking_config.is_none());
    assert!(t.later_networks.is_empty());
}

#[test]
fn namespaces_and_volumes_from_are_written_in_dockers_syntax() {
    let spec = ContainerSpec {
        image: "img".into(),
        pid: Some(Namespace::Container("abc".into())),
        ipc: Some(Namespace::Mode("shareable".into())),
        volumes_from: ["db:ro", "container:cache", "container:cache:rw"]
            .map(VolumesFrom::parse)
            .to_vec(),
        ..Default::default()
    };
    let host = translate(&spec, API_1_41).body.host_config.unwrap();
    assert_eq!(host.pid_mode.as_deref(), Some("container:abc"));
    assert_eq!(host.ipc_mode.as_deref(), Some("shareable"));
    assert_eq!(
        host.volumes_from.unwrap(),
        ["db:ro", "cache", "cache:rw"].map(String::from)
    );
}

#[test]
fn an_interface_name_is_dockers_driver_option_unless_the_file_sets_it() {
    let named = |driver_opts: &[(&str, &str)]| {
        let mut network = attachment("p_front", &[]);
        network.endpoint = EndpointOptions {
            interface_name: Some("eth7".into()),
            driver_opts: driver_opts
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Default::default()
        };
        let spec = ContainerSpec {
            image: "img".into(),
            networks: vec![network],
            ..Default::default()
        };
        let mut endpoints = translate(&spec, API_1_41)
            .body
            .networking_config
            .unwrap()
            .endpoints_config
            .unwrap();
        let options = endpoints.remove("p_front").unwrap().driver_opts.unwrap();
        options["com.docker.network.endpoint.ifname"].clone()
    };
    assert_eq!(named(&[]), "eth7");
    assert_eq!(
        named(&[("com.docker.network.endpoint.ifname", "eth9")]),
        "eth9"
    );
}

#[test]
fn ports_are_exposed_and_bound() {
    let spec = ContainerSpec {
        image: "img".into(),
        ports: vec![
            PortBinding {
                container_port: 80,
                protocol: "tcp".into(),
                host_ip: Some("127.0.0.1".into()),
                host_port: Some("8080".into()),
            },
            PortBinding {
                container_port: 80,
                protocol: "tcp".into(),
                host_ip: None,
                host_port: Some("8000-8010".into()),
            },
            PortBinding {
                container_port: 53,
                protocol: "udp".into(),
                host_ip: None,
                host_port: None,
            },
        ],
        exposed: vec!["9000/tcp".into(), "80/tcp".into()],
        ..Default::default()
    };
    let t = translate(&spec, API_1_41);
    let exposed = t.body.exposed_ports.clone().unwrap();
    assert_eq!(exposed, vec!["80/tcp", "53/udp", "9000/tcp"]);
    let bindings = t.body.host_config.unwrap().port_bindings.unwrap();
    let web = bindings["80/tcp"].as_ref().unwrap();
    assert_eq!(web.len(), 2);
    assert_eq!(web[0].host_ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(web[0].host_port.as_deref(), Some("8080"));
    assert_eq!(web[1].host_port.as_deref(), Some("8000-8010"));
    let dns = bindings["53/udp"].as_ref().unwrap();
    assert_eq!(dns[0].host_port.as_deref(), Some(""));
}

#[test]
fn the_resource_keys_and_mount_options_reach_the_host_config() {
    let spec = ContainerSpec {
        cpu: crate::desired::CpuOptions {
            shares: Some(512),
            cpuset: Some("0".into()),
            realtime_runtime: Some(0),
            ..Default::default()
        },
        memory_swappiness: Some(10),
        oom_kill_disable: true,
        cgroup: Some("private".into()),
        device_requests: vec![crate::desired::DeviceRequest {
            count: Some(-1),
            capabilities: vec![vec!["gpu".into()]],
            ..Default::default()
        }],
        mounts: vec![
            Mount {
                kind: MountKind::Bind,
                source: Some("/srv/a".into()),
                target: "/a".into(),
                read_only: true,
                create_host_path: false,
                nocopy: false,
                tmpfs_size: None,
                options: crate::desired::MountOptions {
                    selinux: Some("z".into()),
                    propagation: Some("rshared".into()),
                    ..Default::default()
                },
            },
            Mount {
                kind: MountKind::Bind,
                source: Some("/srv/b".into()),
                target: "/b".into(),
                read_only: false,
                create_host_path: true,
                nocopy: false,
                tmpfs_size: None,
                options: crate::desired::MountOptions {
                    recursive: Some("readonly".into()),
                    ..Default::default()
                },
            },
        ],
        networks: vec![NetworkAttachment {
            endpoint: crate::desired::EndpointOptions {
                mac_address: Some("02:42:ac:11:00:99".into()),
                ..Default::default()
            },
            ..attachment("n", &[])
        }],
        ..ContainerSpec::default()
    };
    let host = translate(&spec, API_1_41).body.host_config.unwrap();
    assert_eq!(host.cpu_shares, Some(512));
    assert_eq!(host.cpuset_cpus.as_deref(), Some("0"));
    assert_eq!(host.cpu_realtime_runtime, Some(0));
    assert_eq!(host.memory_swappiness, Some(10));
    assert_eq!(host.oom_kill_disable, Some(true));
    assert_eq!(
        host.cgroupns_mode,
        Some(bollard::models::HostConfigCgroupnsModeEnum::PRIVATE)
    );
    let requests = host.device_requests.unwrap();
    assert_eq!(requests[0].count, Some(-1));
    assert_eq!(host.binds.unwrap(), vec!["/srv/a:/a:ro,z,rshared"]);
    // `recursive: readonly` is API 1.44: on 1.41 the mount goes without it.
    let mounts = host.mounts.unwrap();
    assert_eq!(mounts[0].bind_options, None);
    let newer = translate(&spec, (1, 44)).body;
    let options = newer.host_config.clone().unwrap().mounts.unwrap()[0]
        .bind_options
        .clone();
    assert_eq!(options.unwrap().read_only_force_recursive, Some(true));
    let endpoints = |body: &ContainerCreateBody| {
        body.networking_config
            .as_ref()
            .unwrap()
            .endpoints_config
            .as_ref()
            .unwrap()["n"]
            .mac_address
            .clone()
    };
    assert_eq!(endpoints(&translate(&spec, API_1_41).body), None);
    assert_eq!(endpoints(&newer).as_deref(), Some("02:42:ac:11:00:99"));
}

#[test]
fn the_service_mac_address_is_the_configs_before_api_1_44_and_the_first_endpoints_after() {
    let spec = ContainerSpec {
        mac_address: Some("02:42:ac:11:00:42".into()),
        networks: vec![attachment("front", &[]), attachment("back", &[])],
        ..ContainerSpec::default()
    };
    let first_mac = |t: &Translated| {
        t.body
            .networking_config
            .as_ref()
            .unwrap()
            .endpoints_config
            .as_ref()
            .unwrap()["front"]
            .mac_address
            .clone()
    };
    let old = translate(&spec, API_1_41);
    assert_eq!(old.mac_address.as_deref(), Some("02:42:ac:11:00:42"));
    assert_eq!(first_mac(&old), None);
    let newer = translate(&spec, (1, 44));
    assert_eq!(newer.mac_address, None);
    assert_eq!(first_mac(&newer).as_deref(), Some("02:42:ac:11:00:42"));
    assert_eq!(newer.later_networks[0].1.mac_address, None);
}

#[test]
fn annotations_and_blkio_reach_the_host_config() {
    let spec = ContainerSpec {
        annotations: [("com.example.note".to_string(), "hello".to_string())].into(),
        blkio: BlkioOptions {
            weight: Some(300),
            device_read_bps: vec![("/dev/vda".into(), 1 << 20)],
            ..Default::default()
        },
        ..ContainerSpec::default()
    };
    let old = translate(&spec, API_1_41).body.host_config.unwrap();
    assert_eq!(old.annotations, None, "annotations need API 1.43");
    assert_eq!(old.blkio_weight, Some(300));
    let read = &old.blkio_device_read_bps.unwrap()[0];
    assert_eq!(
        (read.path.as_deref(), read.rate),
        (Some("/dev/vda"), Some(1 << 20))
    );
    let newer = translate(&spec, (1, 43)).body.host_config.unwrap();
    assert_eq!(newer.annotations.unwrap()["com.example.note"], "hello");
}

#[test]
fn mounts_binds_and_restart_policy() {
    let spec = ContainerSpec {
        image: "img".into(),
        mounts: vec![
            Mount {
                kind: MountKind::Bind,
                source: Some("/srv/data".into()),
                target: "/data".into(),
                read_only: true,
                create_host_path: true,
                nocopy: false,
                tmpfs_size: None,
                options: Default::default(),
            },
            Mount {
                kind: MountKind::Bind,
                source: Some("/srv/strict".into()),
                target: "/strict".into(),
                read_only: false,
                create_host_path: false,
                nocopy: false,
                tmpfs_size: None,
                options: Default::default(),
            },
            Mount {
                kind: MountKind::Volume,
                source: Some("p_db".into()),
                target: "/var/lib/db".into(),
                read_only: false,
                create_host_path: false,
                nocopy: true,
                tmpfs_size: None,
                options: Default::default(),
            },
            Mount {
                kind: MountKind::Volume,
                source: None,
                target: "/anon".into(),
                read_only: false,
                create_host_path: false,
                nocopy: false,
                tmpfs_size: None,
                options: Default::default(),
            },
            Mount {
                kind: MountKind::Tmpfs,
                source: None,
                target: "/scratch".into(),
                read_only: false,
                create_host_path: false,
                nocopy: false,
                tmpfs_size: Some(1 << 20),
                options: Default::default(),
            },
        ],
        ..Default::default()
    };
    let t = translate(&spec, API_1_41);
    let host = t.body.host_config.unwrap();
    assert_eq!(host.binds.unwrap(), vec!["/srv/data:/data:ro"]);
    let mounts = host.mounts.unwrap();
    assert_eq!(mounts.len(), 4);
    assert_eq!(mounts[0].typ, Some(MountType::BIND));
    assert_eq!(mounts[0].source.as_deref(), Some("/srv/strict"));
    assert_eq!(mounts[1].typ, Some(MountType::VOLUME));
    assert_eq!(
        mounts[1].volume_options.as_ref().unwrap().no_copy,
        Some(true)
    );
    assert_eq!(mounts[2].source, None);
    assert_eq!(
        mounts[3].tmpfs_options.as_ref().unwrap().size_bytes,
        Some(1 << 20)
    );
    assert_eq!(
        host.restart_policy.unwrap().name,
        Some(RestartPolicyNameEnum::EMPTY),
        "no restart asked for: the name compose leaves empty"
    );
    assert!(t.create_paths.is_empty());
}

#[test]
fn a_bind_path_with_a_colon_is_created_by_us() {
    let spec = ContainerSpec {
        image: "img".into(),
        mounts: vec![Mount {
            kind: MountKind::Bind,
            source: Some("/nonexistent/wharf:test".into()),
            target: "/data".into(),
            read_only: false,
            create_host_path: true,
            nocopy: false,
            tmpfs_size: None,
            options: Default::default(),
        }],
        ..Default::default()
    };
    let t = translate(&spec, API_1_41);
    assert!(t.body.host_config.as_ref().unwrap().binds.is_none());
    assert_eq!(
        t.create_paths,
        vec![PathBuf::from("/nonexistent/wharf:test")]
    );
}

#[test]
fn healthcheck_in_nanoseconds_and_start_interval_gated() {
    let spec = ContainerSpec {
        image: "img".into(),
        healthcheck: Some(Healthcheck {
            test: vec!["CMD-SHELL".into(), "true".into()],
            interval: Some(Duration::from_millis(1500)),
            timeout: Some(Duration::from_secs(2)),
            start_period: Some(Duration::from_secs(1)),
            start_interval: Some(Duration::from_secs(1)),
            retries: Some(3),
        }),
        stop_timeout: Some(Duration::from_millis(2500)),
        ..Default::default()
    };
    let t = translate(&spec, API_1_41);
    let health = t.body.healthcheck.unwrap();
    assert_eq!(health.interval, Some(1_500_000_000));
    assert_eq!(health.timeout, Some(2_000_000_000));
    assert_eq!(health.retries, Some(3));
    assert_eq!(health.start_interval, None);
    assert_eq!(t.body.stop_timeout, Some(3));
    let t = translate(&spec, (1, 44));
    assert_eq!(
        t.body.healthcheck.unwrap().start_interval,
        Some(1_000_000_000)
    );
}

#[test]
fn host_settings_are_carried() {
    let mut sysctls = IndexMap::new();
    sysctls.insert("net.core.somaxconn".to_string(), "1024".to_string());
    let mut tmpfs = IndexMap::new();
    tmpfs.insert("/run".to_string(), "size=64k".to_string());
    let spec = ContainerSpec {
        image: "img".into(),
        ulimits: vec![Ulimit {
            name: "nofile".into(),
            soft: 1024,
            hard: 2048,
        }],
        sysctls,
        tmpfs,
        cap_add: vec!["NET_ADMIN".into()],
        cap_drop: vec!["MKNOD".into()],
        extra_hosts: vec!["db:10.0.0.2".into()],
        dns: vec!["10.0.0.1".into()],
        init: Some(true),
        privileged: true,
        read_only: true,
        memory: Some(64 << 20),
        nano_cpus: Some(500_000_000),
        log_driver: Some("json-file".into()),
        devices: vec![crate::spec::model::Device {
            source: "/dev/null".into(),
            target: Some("/dev/mynull".into()),
            permissions: None,
        }],
        ..Default::default()
    };
    let host = translate(&spec, API_1_41).body.host_config.unwrap();
    assert_eq!(host.ulimits.unwrap()[0].hard, Some(2048));
    assert_eq!(host.sysctls.unwrap()["net.core.somaxconn"], "1024");
    assert_eq!(host.tmpfs.unwrap()["/run"], "size=64k");
    assert_eq!(host.cap_add.unwrap(), vec!["NET_ADMIN"]);
    assert_eq!(host.cap_drop.unwrap(), vec!["MKNOD"]);
    assert_eq!(host.extra_hosts.unwrap(), vec!["db:10.0.0.2"]);
    assert_eq!(host.dns.unwrap(), vec!["10.0.0.1"]);
    assert_eq!(host.init, Some(true));
    assert_eq!(host.privileged, Some(true));
    assert_eq!(host.readonly_rootfs, Some(true));
    assert_eq!(host.memory, Some(64 << 20));
    assert_eq!(host.nano_cpus, Some(500_000_000));
    assert_eq!(host.log_config.unwrap().typ.as_deref(), Some("json-file"));
    let device = &host.devices.unwrap()[0];
    assert_eq!(device.path_in_container.as_deref(), Some("/dev/mynull"));
    assert_eq!(device.cgroup_permissions.as_deref(), Some("rwm"));
}

fn mount(kind: MountKind, source: &str, target: &str, subpath: Option<&str>) -> Mount {
    Mount {
        kind,
        source: Some(source.into()),
        target: target.into(),
        read_only: kind == MountKind::Image,
        create_host_path: false,
        nocopy: false,
        tmpfs_size: None,
        options: crate::desired::MountOptions {
            subpath: subpath.map(str::to_string),
            ..Default::default()
        },
    }
}

/// A volume's subpath (API 1.45) and an image mount (API 1.47) are written on engines that
/// take them, and refused with the fix on older ones: an older engine would mount the whole
/// volume, or nothing.
#[test]
fn subpaths_and_image_mounts_are_written_on_engines_that_take_them_and_refused_before() {
    let spec = ContainerSpec {
        image: "img".into(),
        mounts: vec![
            mount(MountKind::Volume, "p_data", "/data", Some("web")),
            mount(MountKind::Image, "tools:1", "/tools", Some("bin")),
        ],
        ..Default::default()
    };
    let mounts = translate(&spec, (1, 47))
        .body
        .host_config
        .unwrap()
        .mounts
        .unwrap();
    assert_eq!(mounts[0].typ, Some(MountType::VOLUME));
    let volume = mounts[0].volume_options.clone().unwrap();
    assert_eq!(volume.subpath.as_deref(), Some("web"));
    assert_eq!(mounts[1].typ, Some(MountType::IMAGE));
    assert_eq!(mounts[1].source.as_deref(), Some("tools:1"));
    assert_eq!(mounts[1].read_only, Some(true));
    let image = mounts[1].image_options.clone().unwrap();
    assert_eq!(image.subpath.as_deref(), Some("bin"));

    assert_eq!(beyond_the_engine(&spec, (1, 47)), None);
    assert_eq!(
        beyond_the_engine(&spec, API_1_41).unwrap(),
        "a volume's subpath (at /data) needs engine API 1.45; this engine has 1.41: upgrade the \
         engine, or mount the whole volume and use the path inside it"
    );
    assert_eq!(
        beyond_the_engine(&spec, (1, 46)).unwrap(),
        "an image mount (at /tools) needs engine API 1.47; this engine has 1.46: upgrade the \
         engine, or put its files in a volume"
    );
}
