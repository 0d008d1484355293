//! `DockerEngine` against the real Docker Engine: every test works in its own project (unique
//! name) and a `Cleanup` guard removes what it made, even when the test fails.

mod support;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use indexmap::IndexMap;
use serde_json::Value;
use support::{Cleanup, busybox_image, docker, unique_project};
use wharf::desired::{
    ContainerSpec, DesiredNetwork, DesiredVolume, Healthcheck, Mount, MountKind, NetworkAttachment,
    PortBinding,
};
use wharf::engine::docker::DockerEngine;
use wharf::engine::labels;
use wharf::engine::{
    BuildRequest, ContainerEngine, ContainerState, EngineError, EngineEvent, EventAction,
    EventKind, Health, LogLine, LogOptions,
};

async fn runtime() -> DockerEngine {
    DockerEngine::connect()
        .await
        .expect("the Docker Engine answers (is dockerd running?)")
}

fn project_labels(project: &str) -> IndexMap<String, String> {
    let mut map = IndexMap::new();
    map.insert(labels::PROJECT.to_string(), project.to_string());
    map
}

fn network(project: &str, key: &str) -> DesiredNetwork {
    let mut labels = project_labels(project);
    labels.insert(labels::NETWORK.to_string(), key.to_string());
    DesiredNetwork {
        key: key.to_string(),
        name: format!("{project}_{key}"),
        external: false,
        driver: None,
        driver_opts: IndexMap::new(),
        internal: false,
        attachable: false,
        enable_ipv4: None,
        enable_ipv6: false,
        ipam: None,
        identity: None,
        labels,
    }
}

fn volume(project: &str, key: &str) -> DesiredVolume {
    let mut labels = project_labels(project);
    labels.insert(labels::VOLUME.to_string(), key.to_string());
    DesiredVolume {
        key: key.to_string(),
        name: format!("{project}_{key}"),
        external: false,
        driver: None,
        driver_opts: IndexMap::new(),
        identity: None,
        labels,
    }
}

/// A busybox container of the project running `script` with `sh -c`.
fn shell(project: &str, service: &str, script: &str) -> ContainerSpec {
    let mut labels = project_labels(project);
    labels.insert(labels::SERVICE.to_string(), service.to_string());
    ContainerSpec {
        image: busybox_image().to_string(),
        command: Some(vec!["sh".into(), "-c".into(), script.into()]),
        labels,
        ..Default::default()
    }
}

/// Runs a one-shot container to its end and returns its output (stdout and stderr).
async fn run_to_end(runtime: &DockerEngine, name: &str, spec: &ContainerSpec) -> String {
    let id = runtime.create_container(name, spec).await.unwrap();
    runtime.start_container(&id).await.unwrap();
    wait_for(Duration::from_secs(20), || async {
        runtime.container(&id).await.unwrap().state == ContainerState::Exited
    })
    .await;
    let lines = collect_logs(runtime, &id, &LogOptions::default()).await;
    runtime.remove_container(&id, true).await.unwrap();
    lines
        .iter()
        .map(|l| format!("{}\n", l.text))
        .collect::<String>()
}

async fn collect_logs(runtime: &DockerEngine, id: &str, options: &LogOptions) -> Vec<LogLine> {
    let stream = runtime.logs(id, options).await.unwrap();
    stream.map(|line| line.unwrap()).collect().await
}

async fn wait_for<F, Fut>(limit: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while !check().await {
        assert!(
            start.elapsed() < limit,
            "condition not met within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn inspect(id: &str) -> Value {
    let text = docker(&["inspect", id]);
    let mut all: Vec<Value> = serde_json::from_str(&text).unwrap();
    all.remove(0)
}

#[tokio::test]
async fn connects_with_a_negotiated_version() {
    let runtime = runtime().await;
    let (major, minor) = runtime.api_version();
    assert_eq!(major, 1);
    assert!(minor >= 41, "API 1.{minor}");
}

#[tokio::test]
async fn networks_are_created_listed_and_removed() {
    let project = unique_project("networks");
    let _cleanup = Cleanup::new(&project);
    let runtime = runtime().await;
    let mut net = network(&project, "front");
    net.labels.insert("org.example.team".into(), "web".into());
    net.driver = Some("bridge".into());
    net.driver_opts
        .insert("com.docker.network.bridge.enable_icc".into(), "true".into());
    net.internal = true;
    net.attachable = true;

    runtime.create_network(&net).await.unwrap();
    let listed = runtime.networks().await.unwrap();
    let found = listed
        .iter()
        .find(|n| n.name == net.name)
        .expect("the new network is listed");
    assert!(!found.id.is_empty());
    assert_eq!(found.labels[labels::PROJECT], project);
    assert_eq!(found.labels["org.example.team"], "web");
    let inspected = inspect(&net.name);
    assert_eq!(inspected["Internal"], true);
    assert_eq!(inspected["Attachable"], true);
    assert_eq!(
        inspected["Options"]["com.docker.network.bridge.enable_icc"],
        "true"
    );

    match runtime.create_network(&net).await {
        Err(EngineError::Conflict(what)) => assert!(what.contains(&net.name), "{what}"),
        other => panic!("a second create must conflict, got {other:?}"),
    }

    runtime.remove_network(&net.name).await.unwrap();
    assert!(
        !runtime
            .networks()
            .await
            .unwrap()
            .iter()
            .any(|n| n.name == net.name)
    );
    match runtime.remove_network(&net.name).await {
        Err(EngineError::NotFound(what)) => assert!(what.contains(&net.name), "{what}"),
        other => panic!("removing a missing network must be NotFound, got {other:?}"),
    }
}

#[tokio::test]
async fn a_network_with_ipam_settings() {
    let project = unique_project("ipam");
    let _cleanup = Cleanup::new(&project);
    let runtime = runtime().await;
    let mut net = network(&project, "fixed");
    // A subnet from a range the engine's default pools do not use. Another test process may
    // hold one of them right now: the next is tried, and the test never passes without one.
    let first = std::process::id() % 200;
    let mut chosen = None;
    for k in 0..20 {
        let third = ((first + k * 11) % 200) as u8 + 20;
        net.ipam = Some(wharf::spec::model::Ipam {
            driver: None,
            config: vec![wharf::spec::model::IpamPool {
                subnet: Some(format!("10.213.{third}.0/24")),
                gateway: Some(format!("10.213.{third}.1")),
                ip_range: Some(format!("10.213.{third}.128/25")),
                aux_addresses: IndexMap::new(),
            }],
            options: IndexMap::new(),
        });
        match runtime.create_network(&net).await {
            Ok(()) => {
                chosen = Some(third);
                break;
            }
            Err(EngineError::Engine { message }) if message.contains("overlap") => continue,
            Err(e) => panic!("{e}"),
        }
    }
    let third = chosen.expect("20 subnets of 10.213.0.0/16 all overlap with existing networks");
    let inspected = inspect(&net.name);
    let config = &inspected["IPAM"]["Config"][0];
    assert_eq!(config["Subnet"], format!("10.213.{third}.0/24"));
    assert_eq!(config["Gateway"], format!("10.213.{third}.1"));
    assert_eq!(config["IPRange"], format!("10.213.{third}.128/25"));
    runtime.remove_network(&net.name).await.unwrap();
}

#[tokio::test]
async fn volumes_are_created_listed_and_removed() {
    let project = unique_project("volumes");
    let _cleanup = Cleanup::new(&project);
    let runtime = runtime().await;
    let vol = volume(&project, "data");

    runtime.create_volume(&vol).await.unwrap();
    let listed = runtime.volumes().await.unwrap();
    let found = listed
        .iter()
        .find(|v| v.name == vol.name)
        .expect("the new volume is listed");
    assert_eq!(found.labels[labels::PROJECT], project);
    assert_eq!(found.labels[labels::VOLUME], "data");

    assert!(matches!(
        runtime.create_volume(&vol).await,
        Err(EngineError::Conflict(_))
    ));
    runtime.remove_volume(&vol.name).await.unwrap();
    assert!(
        !runtime
            .volumes()
            .await
            .unwrap()
            .iter()
            .any(|v| v.name == vol.name)
    );
    match runtime.remove_volume(&vol.name).await {
        Err(EngineError::NotFound(what)) => assert!(what.contains(&vol.name), "{what}"),
        other => panic!("removing a missing volume must be NotFound, got {other:?}"),
    }
}

#[tokio::test]
async fn a_container_from_create_to_remove() {
    let project = unique_project("lifecycle");
    let _cleanup = Cleanup::new(&project);
    let runtime = runtime().await;
    let front = network(&project, "front");
    let back = network(&project, "back");
    let data = volume(&project, "data");
    runtime.create_network(&front).await.unwrap();
    runtime.create_network(&back).await.unwrap();
    runtime.create_volume(&data).await.unwrap();

    let host_dir = tempfile::tempdir().unwrap();
    std::fs::write(host_dir.path().join("in.txt"), "from the host\n").unwrap();
    let created_dir = host_dir.path().join("made/by/engine");

    let script = "echo \"greeting=$GREETING\"; cat /data/in.txt; \
                  (echo nope > /data/write.txt) 2>/dev/null || echo read-only-ok; \
                  echo stored > /vol/out.txt; echo to-stderr >&2; \
                  touch /tmp/ready; trap 'exit 0' TERM; \
                  httpd -p 80 -h /data; while true; do sleep 0.2; done";
    let mut spec = shell(&project, "web", script);
    spec.env = vec!["GREETING=hello".into(), "OTHER=x".into()];
    spec.labels
        .insert("org.example.role".into(), "frontend".into());
    spec.hostname = Some("webhost".into());
    spec.working_dir = Some("/tmp".into());
    spec.networks = vec![
        NetworkAttachment {
            network: front.name.clone(),
            aliases: vec!["web".into(), "www".into()],
            ipv4_address: None,
            ipv6_address: None,
            endpoint: Default::default(),
        },
        NetworkAttachment {
            network: back.name.clone(),
            aliases: vec!["web".into(), "backend-web".into()],
            ipv4_address: None,
            ipv6_address: None,
            endpoint: Default::default(),
        },
    ];
    spec.ports = vec![
        PortBinding {
            container_port: 80,
            protocol: "tcp".into(),
            host_ip: Some("127.0.0.1".into()),
            host_port: None,
        },
        PortBinding {
            container_port: 81,
            protocol: "tcp".into(),
            host_ip: Some("127.0.0.1".into()),
            host_port: Some("41000-41999".into()),
        },
    ];
    spec.exposed = vec!["9000/tcp".into()];
    spec.mounts = vec![
        Mount {
            kind: MountKind::Bind,
            source: Some(host_dir.path().display().to_string()),
            target: "/data".into(),
            read_only: true,
            create_host_path: true,
            nocopy: false,
            tmpfs_size: None,
            options: Default::default(),
        },
        Mount {
            kind: MountKind::Volume,
            source: Some(data.name.clone()),
            target: "/vol".into(),
            read_only: false,
            create_host_path: false,
            nocopy: false,
            tmpfs_size: None,
            options: Default::default(),
        },
        Mount {
            kind: MountKind::Bind,
            source: Some(created_dir.display().to_string()),
            target: "/created".into(),
            read_only: false,
            create_host_path: true,
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
    ];
    spec.healthcheck = Some(Healthcheck {
        test: vec!["CMD-SHELL".into(), "test -f /tmp/ready".into()],
        interval: Some(Duration::from_millis(300)),
        timeout: Some(Duration::from_secs(2)),
        start_period: None,
        start_interval: Some(Duration::from_millis(100)),
        retries: Some(3),
    });
    spec.stop_signal = Some("SIGTERM".into());
    spec.stop_timeout = Some(Duration::from_secs(5));
    spec.ulimits = vec![wharf::desired::Ulimit {
        name: "nofile".into(),
        soft: 1000,
        hard: 2000,
    }];
    spec.extra_hosts = vec!["db.example:10.9.8.7".into()];
    spec.cap_drop = vec!["MKNOD".into()];

    let name = format!("{project}-web-1");
    let id = runtime.create_container(&name, &spec).await.unwrap();

    // Both networks are attached before start, each with its aliases.
    let inspected = inspect(&id);
    let networks = inspected["NetworkSettings"]["Networks"]
        .as_object()
        .unwrap();
    assert_eq!(networks.len(), 2, "{networks:?}");
    for (net, alias) in [(&front.name, "www"), (&back.name, "backend-web")] {
        let aliases: Vec<&str> = networks[net.as_str()]["Aliases"]
            .as_array()
            .unwrap_or_else(|| panic!("aliases on {net}"))
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert!(aliases.contains(&"web"), "{net}: {aliases:?}");
        assert!(aliases.contains(&alias), "{net}: {aliases:?}");
    }
    let host = &inspected["HostConfig"];
    assert_eq!(
        host["RestartPolicy"]["Name"], "",
        "no restart asked for, as compose"
    );
    assert_eq!(host["NetworkMode"], front.name.as_str());
    assert_eq!(host["Ulimits"][0]["Hard"], 2000);
    assert_eq!(host["ExtraHosts"][0], "db.example:10.9.8.7");
    assert_eq!(inspected["Config"]["StopTimeout"], 5);
    assert_eq!(inspected["Config"]["Hostname"], "webhost");
    assert_eq!(inspected["Config"]["Healthcheck"]["Interval"], 300_000_000);

    let before = runtime.container(&id).await.unwrap();
    assert_eq!(before.state, ContainerState::Created);
    assert_eq!(before.name, name);
    assert_eq!(before.labels["org.example.role"], "frontend");

    runtime.start_container(&id).await.unwrap();
    assert!(created_dir.is_dir(), "the engine created the bind source");
    // Starting a running container again is fine.
    runtime.start_container(&id).await.unwrap();
    wait_for(Duration::from_secs(30), || async {
        runtime.container(&id).await.unwrap().health == Some(Health::Healthy)
    })
    .await;

    // The list (one call, health from the status text) agrees with the inspect.
    let listed = runtime.containers(&project).await.unwrap();
    assert_eq!(listed.len(), 1);
    let web = &listed[0];
    assert_eq!(web.id, id);
    assert_eq!(web.name, name);
    assert_eq!(web.state, ContainerState::Running);
    assert_eq!(web.health, Some(Health::Healthy));
    assert_eq!(web.exit_code, None);
    assert_eq!(web.image, busybox_image());
    assert!(web.image_id.starts_with("sha256:"), "{}", web.image_id);
    assert!(web.created > 1_600_000_000, "{}", web.created);
    assert_eq!(web.labels[labels::SERVICE], "web");
    assert_eq!(web.addresses.len(), 2, "{:?}", web.addresses);
    assert!(web.addresses.contains_key(&front.name));
    assert!(web.addresses.contains_key(&back.name));
    let published: Vec<&String> = web
        .ports
        .iter()
        .filter(|p| p.starts_with("127.0.0.1:"))
        .collect();
    assert_eq!(published.len(), 2, "{:?}", web.ports);
    assert!(published[0].ends_with("->80/tcp"), "{:?}", web.ports);
    assert!(published[1].ends_with("->81/tcp"), "{:?}", web.ports);
    let range_port: u16 = published[1]
        .trim_start_matches("127.0.0.1:")
        .split("->")
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!((41000..=41999).contains(&range_port), "{range_port}");
    assert!(
        web.ports.contains(&"9000/tcp".to_string()),
        "{:?}",
        web.ports
    );
    let inspected = runtime.container(&id).await.unwrap();
    assert_eq!(inspected.ports, web.ports);
    assert_eq!(inspected.addresses, web.addresses);
    assert_eq!(inspected.created, web.created);
    assert_eq!(inspected.image_id, web.image_id);

    // The published port answers from the host: httpd serves the bind mount.
    let http_port: u16 = published[0]
        .trim_start_matches("127.0.0.1:")
        .split("->")
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let body = http_get(http_port, "/in.txt");
    assert!(body.contains("from the host"), "{body}");

    // Environment, bind mount (read only), named volume: as the container saw them.
    let logs = collect_logs(&runtime, &id, &LogOptions::default()).await;
    let out: Vec<&str> = logs.iter().map(|l| l.text.as_str()).collect();
    assert!(out.contains(&"greeting=hello"), "{out:?}");
    assert!(out.contains(&"from the host"), "{out:?}");
    assert!(out.contains(&"read-only-ok"), "{out:?}");
    assert!(
        logs.iter().any(|l| l.stderr && l.text == "to-stderr"),
        "{logs:?}"
    );
    assert!(!host_dir.path().join("write.txt").exists());
    let reader = shell(&project, "reader", "cat /vol/out.txt");
    let mut reader = reader;
    reader.mounts = vec![Mount {
        kind: MountKind::Volume,
        source: Some(data.name.clone()),
        target: "/vol".into(),
        read_only: true,
        create_host_path: false,
        nocopy: false,
        tmpfs_size: None,
        options: Default::default(),
    }];
    let read = run_to_end(&runtime, &format!("{project}-reader-1"), &reader).await;
    assert_eq!(read, "stored\n");

    runtime
        .stop_container(&id, Some(Duration::from_secs(5)))
        .await
        .unwrap();
    let stopped = runtime.container(&id).await.unwrap();
    assert_eq!(stopped.state, ContainerState::Exited);
    assert_eq!(stopped.exit_code, Some(0));
    let listed = runtime.containers(&project).await.unwrap();
    assert_eq!(listed[0].state, ContainerState::Exited);
    assert_eq!(listed[0].exit_code, Some(0));
    // Stopping a stopped container is fine.
    runtime
        .stop_container(&id, Some(Duration::from_secs(1)))
        .await
        .unwrap();

    runtime.remove_container(&id, true).await.unwrap();
    assert!(runtime.containers(&project).await.unwrap().is_empty());
    assert!(matches!(
        runtime.remove_container(&id, true).await,
        Err(EngineError::NotFound(_))
    ));
    runtime.remove_volume(&data.name).await.unwrap();
    runtime.remove_network(&front.name).await.unwrap();
    runtime.remove_network(&back.name).await.unwrap();
}

fn http_get(port: u16, path: &str) -> String {
    let start = Instant::now();
    loop {
        let attempt = (|| -> std::io::Result<String> {
            let mut stream = TcpStream::connect(("127.0.0.1", port))?;
            stream.set_read_timeout(Some(Duration::from_secs(5)))?;
            write!(
                stream,
                "GET {path} HTTP/1.0\r\nHost: localhost\r\nConnection: close\r\n\r\n"
            )?;
            let mut body = String::new();
            stream.read_to_string(&mut body)?;
            Ok(body)
        })();
        match attempt {
            Ok(body) if !body.is_empty() => return body,
            _ if start.elapsed() > Duration::from_secs(10) => {
                panic!("no answer on 127.0.0.1:{port}: {attempt:?}")
            }
            _ => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

#[tokio::test]
async fn kill_and_unhealthy_and_exit_codes() {
    let project = unique_project("kill");
    let _cleanup = Cleanup::new(&project);
    let runtime = runtime().await;

    let mut spec = shell(&project, "sick", "while true; do sleep 0.2; done");
    spec.healthcheck = Some(Healthcheck {
        test: vec!["CMD".into(), "false".into()],
        interval: Some(Duration::from_millis(200)),
        timeout: Some(Duration::from_secs(1)),
        start_period: None,
        start_interval: None,
        retries: Some(1),
    });
    let sick = runtime
        .create_container(&format!("{project}-sick-1"), &spec)
        .await
        .unwrap();
    runtime.start_container(&sick).await.unwrap();
    wait_for(Duration::from_secs(20), || async {
        let listed = runtime.containers(&project).await.unwrap();
        listed
            .iter()
            .any(|c| c.id == sick && c.health == Some(Health::Unhealthy))
    })
    .await;
    runtime.kill_container(&sick, "SIGKILL").await.unwrap();
    wait_for(Duration::from_secs(10), || async {
        runtime.container(&sick).await.unwrap().state == ContainerState::Exited
    })
    .await;
    let listed = runtime.containers(&project).await.unwrap();
    assert_eq!(listed[0].exit_code, Some(137));
    assert_eq!(runtime.container(&sick).await.unwrap().exit_code, Some(137));
    // Killing a stopped container is the engine's error, with its message.
    match runtime.kill_container(&sick, "SIGKILL").await {
        Err(EngineError::Engine { message }) => {
            assert!(message.contains("not running"), "{message}")
        }
        other => panic!("{other:?}"),
    }

    let spec = shell(&project, "fail", "exit 3");
    let fail = runtime
        .create_container(&format!("{project}-fail-1"), &spec)
        .await
        .unwrap();
    runtime.start_container(&fail).await.unwrap();
    wait_for(Duration::from_secs(10), || async {
        runtime.container(&fail).await.unwrap().state == ContainerState::Exited
    })
    .await;
    let listed = runtime.containers(&project).await.unwrap();
    let fail_listed = listed.iter().find(|c| c.id == fail).unwrap();
    assert_eq!(fail_listed.exit_code, Some(3));
    assert_eq!(fail_listed.health, None);
}

#[tokio::test]
async fn rename_and_name_conflicts() {
    let project = unique_project("rename");
    let _cleanup = Cleanup::new(&project);
    let runtime = runtime().await;
    let spec = shell(&project, "app", "sleep 30");
    let old = format!("{project}-app-1");
    let new = format!("{project}-app-2");
    let id = runtime.create_container(&old, &spec).await.unwrap();
    match runtime.create_container(&old, &spec).await {
        Err(EngineError::Conflict(what)) => assert!(what.contains(&old), "{what}"),
        other => panic!("a second container with the same name must conflict: {other:?}"),
    }
    runtime.rename_container(&id, &new).await.unwrap();
    assert_eq!(runtime.container(&new).await.unwrap().id, id);
    assert!(matches!(
        runtime.container(&old).await,
        Err(EngineError::NotFound(_))
    ));
    let other = runtime.create_container(&old, &spec).await.unwrap();
    match runtime.rename_container(&other, &new).await {
        Err(EngineError::Conflict(what)) => assert!(what.contains(&new), "{what}"),
        other => panic!("renaming onto a taken name must conflict: {other:?}"),
    }
    runtime.remove_container(&other, true).await.unwrap();
    runtime.remove_container(&id, true).await.unwrap();
}

/// A removal that another client started just before (a wharf process killed right after it
/// asked, then run again) is waited for: the second removal returns once the container is
/// gone, never with the engine's "removal of container … is already in progress".
#[tokio::test]
async fn a_removal_already_under_way_is_waited_for() {
    let project = unique_project("remove-race");
    let _cleanup = Cleanup::new(&project);
    let runtime = runtime().await;
    let spec = shell(&project, "app", "sleep 30");
    for n in 1..=3 {
        let id = runtime
            .create_container(&format!("{project}-app-{n}"), &spec)
            .await
            .unwrap();
        runtime.start_container(&id).await.unwrap();
        let mut first = std::process::Command::new("docker")
            .args(["rm", "-f", &id])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // The engine takes tens of ms to kill and remove a running container: long enough for
        // the second removal to find the first under way.
        tokio::time::sleep(Duration::from_millis(20)).await;
        match runtime.remove_container(&id, true).await {
            Ok(()) | Err(EngineError::NotFound(_)) => {}
            Err(err) => panic!("a second removal of {id}: {err}"),
        }
        assert!(
            matches!(runtime.container(&id).await, Err(EngineError::NotFound(_))),
            "{id} is gone when its removal returns"
        );
        first.wait().unwrap();
    }
}

#[tokio::test]
async fn logs_with_tail_timestamps_and_follow() {
    let project = unique_project("logs");
    let _cleanup = Cleanup::new(&project);
    let runtime = runtime().await;

    let spec = shell(
        &project,
        "lines",
        // The engine copies stdout and stderr separately: only a pause orders them.
        "for i in 1 2 3 4 5; do echo line-$i; done; sleep 0.5; echo oops >&2",
    );
    let id = runtime
        .create_container(&format!("{project}-lines-1"), &spec)
        .await
        .unwrap();
    runtime.start_container(&id).await.unwrap();
    wait_for(Duration::from_secs(10), || async {
        runtime.container(&id).await.unwrap().state == ContainerState::Exited
    })
    .await;

    let all = collect_logs(&runtime, &id, &LogOptions::default()).await;
    let texts: Vec<&str> = all.iter().map(|l| l.text.as_str()).collect();
    assert_eq!(
        texts,
        vec!["line-1", "line-2", "line-3", "line-4", "line-5", "oops"]
    );
    assert!(all[..5].iter().all(|l| !l.stderr));
    assert!(all[5].stderr);
    for line in &all {
        // RFC 3339 with nanoseconds, as the engine writes it.
        assert!(
            line.timestamp.len() >= 20
                && line.timestamp.as_bytes()[10] == b'T'
                && line.timestamp.ends_with('Z'),
            "{line:?}"
        );
    }
    assert!(all.windows(2).all(|w| w[0].timestamp <= w[1].timestamp));

    let tail = collect_logs(
        &runtime,
        &id,
        &LogOptions {
            follow: false,
            tail: Some(2),
            since: None,
        },
    )
    .await;
    let texts: Vec<&str> = tail.iter().map(|l| l.text.as_str()).collect();
    assert_eq!(texts, vec!["line-5", "oops"]);

    // Follow: lines arrive while the container runs.
    let spec = shell(
        &project,
        "ticker",
        "i=0; trap 'exit 0' TERM; while true; do i=$((i+1)); echo tick-$i; sleep 0.2; done",
    );
    let ticker = runtime
        .create_container(&format!("{project}-ticker-1"), &spec)
        .await
        .unwrap();
    runtime.start_container(&ticker).await.unwrap();
    let mut stream = runtime
        .logs(
            &ticker,
            &LogOptions {
                follow: true,
                tail: Some(0),
                since: None,
            },
        )
        .await
        .unwrap();
    let mut seen = Vec::new();
    while seen.len() < 3 {
        let line = tokio::time::timeout(Duration::from_secs(10), stream.next())
            .await
            .expect("a followed line within 10 s")
            .expect("the stream goes on")
            .unwrap();
        seen.push(line.text);
    }
    assert!(seen.iter().all(|t| t.starts_with("tick-")), "{seen:?}");
    drop(stream);
    runtime.remove_container(&ticker, true).await.unwrap();
    runtime.remove_container(&id, true).await.unwrap();
}

#[tokio::test]
async fn missing_things_are_not_found() {
    let runtime = runtime().await;
    let missing = unique_project("missing");
    let is_not_found = |r: &Result<(), EngineError>| matches!(r, Err(EngineError::NotFound(_)));
    assert!(matches!(
        runtime.container(&missing).await,
        Err(EngineError::NotFound(_))
    ));
    assert!(is_not_found(&runtime.start_container(&missing).await));
    assert!(is_not_found(
        &runtime
            .stop_container(&missing, Some(Duration::from_secs(1)))
            .await
    ));
    assert!(is_not_found(
        &runtime.kill_container(&missing, "SIGKILL").await
    ));
    assert!(is_not_found(
        &runtime.remove_container(&missing, true).await
    ));
    assert!(is_not_found(&runtime.rename_container(&missing, "x").await));
    assert!(is_not_found(&runtime.remove_network(&missing).await));
    assert!(is_not_found(&runtime.remove_volume(&missing).await));
    match runtime.logs(&missing, &LogOptions::default()).await {
        Err(EngineError::NotFound(what)) => assert!(what.contains(&missing), "{what}"),
        Err(other) => panic!("{other:?}"),
        Ok(_) => panic!("logs of a missing container must fail"),
    }
    match runtime.container(&missing).await {
        Err(e) => assert_eq!(e.to_string(), format!("container {missing} not found")),
        Ok(_) => unreachable!(),
    }
    assert!(runtime.containers(&missing).await.unwrap().is_empty());

    // Creating from a missing image, or on a missing network, names what is missing.
    let project = unique_project("missing-create");
    let _cleanup = Cleanup::new(&project);
    let mut spec = shell(&project, "x", "true");
    spec.image = format!("wharf-test/{missing}:none");
    match runtime
        .create_container(&format!("{project}-x-1"), &spec)
        .await
    {
        Err(EngineError::NotFound(what)) => assert!(what.contains(&spec.image), "{what}"),
        other => panic!("{other:?}"),
    }
    let mut spec = shell(&project, "x", "true");
    spec.networks = vec![NetworkAttachment {
        network: format!("{missing}_net"),
        aliases: vec![],
        ipv4_address: None,
        ipv6_address: None,
        endpoint: Default::default(),
    }];
    // Docker 20.10 accepts the create and fails the start; newer engines fail the create.
    let outcome = match runtime
        .create_container(&format!("{project}-x-1"), &spec)
        .await
    {
        Ok(id) => runtime.start_container(&id).await,
        Err(e) => Err(e),
    };
    match outcome {
        Err(EngineError::NotFound(what)) => {
            assert_eq!(what, format!("network {missing}_net"))
        }
        other => panic!("{other:?}"),
    }
    docker(&["rm", "-f", &format!("{project}-x-1")]);
    // A missing second network: either the connect fails and the half-made container is
    // removed again, or (Docker 20.10 records the connection of a created container) the
    // start fails naming the network.
    let net = network(&project, "ok");
    runtime.create_network(&net).await.unwrap();
    let mut spec = shell(&project, "x", "true");
    spec.networks = vec![
        NetworkAttachment {
            network: net.name.clone(),
            aliases: vec![],
            ipv4_address: None,
            ipv6_address: None,
            endpoint: Default::default(),
        },
        NetworkAttachment {
            network: format!("{missing}_second"),
            aliases: vec![],
            ipv4_address: None,
            ipv6_address: None,
            endpoint: Default::default(),
        },
    ];
    match runtime
        .create_container(&format!("{project}-x-1"), &spec)
        .await
    {
        Ok(id) => match runtime.start_container(&id).await {
            Err(EngineError::NotFound(what)) => {
                assert_eq!(what, format!("network {missing}_second"))
            }
            other => panic!("{other:?}"),
        },
        Err(EngineError::NotFound(what)) => {
            assert_eq!(what, format!("network {missing}_second"));
            assert!(runtime.containers(&project).await.unwrap().is_empty());
        }
        Err(other) => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn images_are_inspected_and_pulls_fail_clearly() {
    let runtime = runtime().await;
    let id = runtime.image_id(busybox_image()).await.unwrap();
    assert!(id.is_some_and(|id| id.starts_with("sha256:")));
    assert_eq!(
        runtime
            .image_id("wharf-test/no-such-image:never")
            .await
            .unwrap(),
        None
    );
    match runtime
        .pull_image("wharf-test/no-such-image:never", None)
        .await
    {
        Err(EngineError::Engine { message }) => {
            assert!(
                message.contains("wharf-test/no-such-image:never"),
                "the error names the image: {message}"
            );
            assert!(message.len() > 40, "the engine's reason is kept: {message}");
        }
        other => panic!("a pull without a registry must fail: {other:?}"),
    }
}

fn build_request(context: &std::path::Path, tag: &str, project: &str) -> BuildRequest {
    BuildRequest {
        context: context.to_path_buf(),
        dockerfile: "Dockerfile".into(),
        dockerfile_inline: None,
        tag: tag.to_string(),
        args: HashMap::new(),
        target: None,
        labels: HashMap::from([(labels::PROJECT.to_string(), project.to_string())]),
        ..BuildRequest::default()
    }
}

#[tokio::test]
async fn builds_honour_dockerignore_args_and_targets() {
    let project = unique_project("build");
    let mut cleanup = Cleanup::new(&project);
    let runtime = runtime().await;
    let base = busybox_image();

    let context = tempfile::tempdir().unwrap();
    let root = context.path();
    std::fs::write(
        root.join("Dockerfile"),
        format!(
            "FROM {base} AS base\n\
             ARG GREETING=unset\n\
             COPY . /app/\n\
             RUN echo \"$GREETING\" > /app/greeting.txt\n\
             FROM base AS final\n\
             RUN touch /app/final-stage\n"
        ),
    )
    .unwrap();
    std::fs::write(
        root.join(".dockerignore"),
        "# secrets stay home\nsecret.txt\n**/*.log\ncache\n",
    )
    .unwrap();
    std::fs::write(root.join("app.txt"), "app\n").unwrap();
    std::fs::write(root.join("secret.txt"), "secret\n").unwrap();
    std::fs::create_dir_all(root.join("sub")).unwrap();
    std::fs::write(root.join("sub/debug.log"), "log\n").unwrap();
    std::fs::write(root.join("sub/kept.txt"), "kept\n").unwrap();
    std::fs::create_dir_all(root.join("cache")).unwrap();
    std::fs::write(root.join("cache/blob"), "blob\n").unwrap();

    let tag = format!("wharf-test-{project}/app:latest");
    cleanup.image(&tag);
    let mut request = build_request(root, &tag, &project);
    request
        .args
        .insert("GREETING".into(), "hi-from-args".into());
    request
        .labels
        .insert("org.example.built".into(), "yes".into());
    let id = runtime.build_image(&request).await.unwrap();
    assert!(id.starts_with("sha256:"), "{id}");
    assert_eq!(runtime.image_id(&tag).await.unwrap(), Some(id.clone()));
    let labels_json = docker(&[
        "image",
        "inspect",
        "--format",
        "{{json .Config.Labels}}",
        &tag,
    ]);
    let image_labels: HashMap<String, String> = serde_json::from_str(&labels_json).unwrap();
    assert_eq!(image_labels["org.example.built"], "yes");

    let mut spec = shell(
        &project,
        "check",
        "cd /app && find . | sort; echo greeting=$(cat greeting.txt)",
    );
    spec.image = tag.clone();
    let out = run_to_end(&runtime, &format!("{project}-check-1"), &spec).await;
    assert!(out.contains("./app.txt\n"), "{out}");
    assert!(out.contains("./sub/kept.txt\n"), "{out}");
    assert!(out.contains("./final-stage\n"), "{out}");
    assert!(out.contains("greeting=hi-from-args\n"), "{out}");
    assert!(
        !out.contains("secret.txt"),
        "excluded by .dockerignore: {out}"
    );
    assert!(!out.contains("debug.log"), "excluded by **/*.log: {out}");
    assert!(!out.contains("cache"), "an excluded directory: {out}");

    // The `base` target stops before the final stage.
    let target_tag = format!("wharf-test-{project}/base:latest");
    cleanup.image(&target_tag);
    let mut request = build_request(root, &target_tag, &project);
    request.target = Some("base".into());
    runtime.build_image(&request).await.unwrap();
    let mut spec = shell(&project, "check", "ls /app");
    spec.image = target_tag.clone();
    let out = run_to_end(&runtime, &format!("{project}-check-2"), &spec).await;
    assert!(out.contains("app.txt"), "{out}");
    assert!(!out.contains("final-stage"), "{out}");
    assert!(out.contains("greeting.txt"), "{out}");
}

#[tokio::test]
async fn inline_dockerfiles_and_build_errors() {
    let project = unique_project("inline");
    let mut cleanup = Cleanup::new(&project);
    let runtime = runtime().await;
    let base = busybox_image();
    let context = tempfile::tempdir().unwrap();
    std::fs::write(context.path().join("app.txt"), "app\n").unwrap();
    // A Dockerfile in the context that the inline one replaces.
    std::fs::write(context.path().join("Dockerfile"), "FROM scratch-nothing\n").unwrap();

    let tag = format!("wharf-test-{project}/inline:latest");
    cleanup.image(&tag);
    let mut request = build_request(context.path(), &tag, &project);
    request.dockerfile_inline = Some(format!(
        "FROM {base}\nCOPY . /ctx/\nCMD [\"ls\", \"-a\", \"/ctx\"]\n"
    ));
    request.no_cache = true;
    runtime.build_image(&request).await.unwrap();
    let mut spec = shell(&project, "check", "ls -a /ctx");
    spec.image = tag.clone();
    let out = run_to_end(&runtime, &format!("{project}-check-1"), &spec).await;
    assert!(out.contains("app.txt"), "{out}");
    assert!(
        !out.contains(".wharf-dockerfile"),
        "the generated Dockerfile is not part of the context: {out}"
    );

    // A failing step: the engine's message and the step's output.
    let failing = format!("wharf-test-{project}/failing:latest");
    cleanup.image(&failing);
    let mut request = build_request(context.path(), &failing, &project);
    request.dockerfile_inline = Some(format!(
        "FROM {base}\nRUN echo something-went-wrong; exit 3\n"
    ));
    match runtime.build_image(&request).await {
        Err(EngineError::Engine { message }) => {
            assert!(message.contains("non-zero code: 3"), "{message}");
            assert!(message.contains("something-went-wrong"), "{message}");
            assert!(message.contains(&failing), "{message}");
        }
        other => panic!("{other:?}"),
    }

    // A Dockerfile that is not there.
    let mut request = build_request(context.path(), &failing, &project);
    request.dockerfile = "nope/Dockerfile".into();
    assert!(matches!(
        runtime.build_image(&request).await,
        Err(EngineError::Engine { .. })
    ));
}

#[tokio::test]
async fn an_engine_that_does_not_answer_is_unreachable() {
    // A path that exists (bollard checks) but where nothing listens.
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("docker.sock");
    std::fs::write(&socket, "").unwrap();
    let client = bollard::Docker::connect_with_unix(
        &socket.display().to_string(),
        5,
        bollard::API_DEFAULT_VERSION,
    );
    let error = match client {
        Ok(client) => match DockerEngine::from_client(client).await {
            Ok(_) => panic!("no engine listens on {}", socket.display()),
            Err(e) => e,
        },
        Err(e) => panic!("bollard refused the path: {e}"),
    };
    match &error {
        EngineError::Unreachable(message) => assert!(!message.is_empty()),
        other => panic!("{other:?}"),
    }
    assert!(
        error
            .to_string()
            .starts_with("cannot reach the Docker Engine: "),
        "{error}"
    );
}

// --- events --------------------------------------------------------------------------------------

type Events = BoxStream<'static, wharf::engine::Result<EngineEvent>>;

/// The next event within `limit`; panics when the stream fails, ends or stays silent.
async fn next_event(events: &mut Events, limit: Duration) -> EngineEvent {
    match tokio::time::timeout(limit, events.next()).await {
        Ok(Some(Ok(event))) => event,
        Ok(Some(Err(e))) => panic!("the event stream failed: {e}"),
        Ok(None) => panic!("the event stream ended"),
        Err(_) => panic!("no event within {limit:?}"),
    }
}

/// The events up to the first that `last` accepts, that one included.
async fn events_until(
    events: &mut Events,
    limit: Duration,
    mut last: impl FnMut(&EngineEvent) -> bool,
) -> Vec<EngineEvent> {
    let deadline = Instant::now() + limit;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let event = match tokio::time::timeout(left, events.next()).await {
            Ok(Some(Ok(event))) => event,
            Ok(Some(Err(e))) => panic!("the event stream failed: {e}; so far {seen:#?}"),
            Ok(None) => panic!("the event stream ended; so far {seen:#?}"),
            Err(_) => panic!("the awaited event did not come within {limit:?}; so far {seen:#?}"),
        };
        let done = last(&event);
        seen.push(event);
        if done {
            return seen;
        }
    }
}

fn actions(events: &[EngineEvent]) -> Vec<EventAction> {
    events.iter().map(|e| e.action.clone()).collect()
}

#[tokio::test]
async fn events_of_a_container_from_create_to_destroy() {
    let project = unique_project("events");
    let _cleanup = Cleanup::new(&project);
    let runtime = runtime().await;
    let mut events = runtime.events(&project).await.unwrap();

    let mut spec = shell(&project, "web", "while true; do sleep 0.2; done");
    spec.labels.insert(labels::NUMBER.into(), "1".into());
    let name = format!("{project}-web-1");
    let id = runtime.create_container(&name, &spec).await.unwrap();
    runtime.start_container(&id).await.unwrap();
    let create = next_event(&mut events, Duration::from_secs(10)).await;
    let start = next_event(&mut events, Duration::from_secs(10)).await;
    assert_eq!(
        (create.kind, &create.action, start.kind, &start.action),
        (
            EventKind::Container,
            &EventAction::Create,
            EventKind::Container,
            &EventAction::Start
        )
    );
    for event in [&create, &start] {
        assert_eq!(event.id, id);
        assert_eq!(event.name, name);
        assert_eq!(event.service(), Some("web"));
        assert_eq!(event.number(), Some(1));
        assert_eq!(
            event.labels.get(labels::PROJECT).map(String::as_str),
            Some(project.as_str())
        );
        assert!(!event.labels.contains_key("name"), "{:?}", event.labels);
    }
    assert!(create.time_nanos > 1_600_000_000_000_000_000);
    assert!(create.time_nanos < start.time_nanos);

    // `docker kill`: SIGKILL, then the exit.
    docker(&["kill", &id]);
    let killed = events_until(&mut events, Duration::from_secs(10), |e| {
        matches!(e.action, EventAction::Die { .. })
    })
    .await;
    assert_eq!(
        actions(&killed),
        [
            EventAction::Kill { signal: Some(9) },
            EventAction::Die {
                exit_code: Some(137)
            }
        ]
    );

    // `docker stop`: SIGTERM, which a shell as PID 1 ignores, SIGKILL after the timeout, the
    // exit, then `stop`.
    runtime.start_container(&id).await.unwrap();
    assert_eq!(
        next_event(&mut events, Duration::from_secs(10))
            .await
            .action,
        EventAction::Start
    );
    docker(&["stop", "-t", "1", &id]);
    let stopped = events_until(&mut events, Duration::from_secs(15), |e| {
        e.action == EventAction::Stop
    })
    .await;
    assert_eq!(
        actions(&stopped),
        [
            EventAction::Kill { signal: Some(15) },
            EventAction::Kill { signal: Some(9) },
            EventAction::Die {
                exit_code: Some(137)
            },
            EventAction::Stop,
        ]
    );

    runtime
        .rename_container(&id, &format!("{project}-web-old"))
        .await
        .unwrap();
    runtime.remove_container(&id, true).await.unwrap();
    let renamed = next_event(&mut events, Duration::from_secs(10)).await;
    assert_eq!(
        renamed.action,
        EventAction::Rename {
            old_name: Some(name.clone())
        }
    );
    assert_eq!(renamed.name, format!("{project}-web-old"));
    let destroyed = next_event(&mut events, Duration::from_secs(10)).await;
    assert_eq!(
        (&destroyed.action, &destroyed.id, destroyed.service()),
        (&EventAction::Destroy, &id, Some("web"))
    );
}

#[tokio::test]
async fn a_container_that_turns_unhealthy_is_an_event() {
    let project = unique_project("events-health");
    let _cleanup = Cleanup::new(&project);
    let runtime = runtime().await;
    let mut events = runtime.events(&project).await.unwrap();

    // Healthy while /tmp/ok exists, which the container removes after 2 s.
    let mut spec = shell(
        &project,
        "sick",
        "touch /tmp/ok; sleep 2; rm /tmp/ok; while true; do sleep 0.2; done",
    );
    spec.healthcheck = Some(Healthcheck {
        test: vec!["CMD".into(), "test".into(), "-f".into(), "/tmp/ok".into()],
        interval: Some(Duration::from_millis(300)),
        timeout: Some(Duration::from_secs(1)),
        start_period: None,
        start_interval: None,
        retries: Some(1),
    });
    let id = runtime
        .create_container(&format!("{project}-sick-1"), &spec)
        .await
        .unwrap();
    runtime.start_container(&id).await.unwrap();
    let seen = events_until(&mut events, Duration::from_secs(20), |e| {
        e.action == EventAction::HealthStatus(Health::Unhealthy)
    })
    .await;
    // The probes' exec events are not reported; the health changes are, in order.
    let health: Vec<EventAction> = actions(&seen)
        .into_iter()
        .filter(|a| !matches!(a, EventAction::Create | EventAction::Start))
        .collect();
    assert_eq!(
        health,
        [
            EventAction::HealthStatus(Health::Healthy),
            EventAction::HealthStatus(Health::Unhealthy)
        ],
        "{seen:#?}"
    );
    assert!(
        seen.iter()
            .all(|e| e.id == id && e.service() == Some("sick"))
    );
}

#[tokio::test]
async fn only_the_projects_own_events_arrive_with_networks_and_volumes() {
    let project = unique_project("events-own");
    let other = unique_project("events-other");
    let _cleanup = Cleanup::new(&project);
    let _cleanup_other = Cleanup::new(&other);
    let runtime = runtime().await;
    let mut events = runtime.events(&project).await.unwrap();

    // Another project's container, network and volume: none of their events arrive.
    runtime
        .create_network(&network(&other, "default"))
        .await
        .unwrap();
    runtime
        .create_volume(&volume(&other, "data"))
        .await
        .unwrap();
    let mut foreign = shell(&other, "web", "sleep 30");
    foreign.networks.push(NetworkAttachment {
        network: format!("{other}_default"),
        aliases: vec![],
        ipv4_address: None,
        ipv6_address: None,
        endpoint: Default::default(),
    });
    let foreign_id = runtime
        .create_container(&format!("{other}-web-1"), &foreign)
        .await
        .unwrap();
    runtime.start_container(&foreign_id).await.unwrap();
    runtime.remove_container(&foreign_id, true).await.unwrap();

    // The project's own. A network or volume that is created and removed before the stream
    // has read its `create` is not reported at all (its labels can no longer be read), so the
    // test reads those first, as the supervisor would.
    let limit = Duration::from_secs(10);
    let net = network(&project, "default");
    runtime.create_network(&net).await.unwrap();
    let mut seen = events_until(&mut events, limit, |e| e.kind == EventKind::Network).await;
    let vol = volume(&project, "data");
    runtime.create_volume(&vol).await.unwrap();
    seen.extend(events_until(&mut events, limit, |e| e.kind == EventKind::Volume).await);
    let mut spec = shell(&project, "db", "sleep 30");
    spec.networks.push(NetworkAttachment {
        network: net.name.clone(),
        aliases: vec![],
        ipv4_address: None,
        ipv6_address: None,
        endpoint: Default::default(),
    });
    let id = runtime
        .create_container(&format!("{project}-db-1"), &spec)
        .await
        .unwrap();
    runtime.remove_container(&id, true).await.unwrap();
    runtime.remove_network(&net.name).await.unwrap();
    runtime.remove_volume(&vol.name).await.unwrap();

    // Containers and the others come on two connections: the two ends may come in any order.
    let (mut container_gone, mut volume_gone) = (false, false);
    seen.extend(
        events_until(&mut events, limit, |e| {
            let gone = e.action == EventAction::Destroy;
            container_gone |= gone && e.kind == EventKind::Container;
            volume_gone |= gone && e.kind == EventKind::Volume;
            container_gone && volume_gone
        })
        .await,
    );
    for event in &seen {
        assert_eq!(
            event.labels.get(labels::PROJECT),
            Some(&project),
            "{event:#?}"
        );
        assert!(!event.name.contains(&other), "{event:#?}");
    }
    let of = |kind: EventKind| -> Vec<(EventAction, String)> {
        seen.iter()
            .filter(|e| e.kind == kind)
            .map(|e| (e.action.clone(), e.name.clone()))
            .collect()
    };
    assert_eq!(
        of(EventKind::Container),
        [
            (EventAction::Create, format!("{project}-db-1")),
            (EventAction::Destroy, format!("{project}-db-1"))
        ]
    );
    // A network's and a volume's events carry the labels the runtime read from them.
    assert_eq!(
        of(EventKind::Network),
        [
            (EventAction::Create, net.name.clone()),
            (EventAction::Destroy, net.name.clone())
        ]
    );
    assert_eq!(
        of(EventKind::Volume),
        [
            (EventAction::Create, vol.name.clone()),
            (EventAction::Destroy, vol.name.clone())
        ]
    );
    let network_create = seen.iter().find(|e| e.kind == EventKind::Network).unwrap();
    assert_eq!(
        network_create
            .labels
            .get(labels::NETWORK)
            .map(String::as_str),
        Some("default")
    );
    // Nothing else is on its way.
    let quiet = tokio::time::timeout(Duration::from_millis(500), events.next()).await;
    assert!(quiet.is_err(), "{quiet:?}");
}

#[tokio::test]
async fn an_idle_stream_outlives_the_request_timeout() {
    let project = unique_project("events-idle");
    let _cleanup = Cleanup::new(&project);
    let runtime = runtime().await.with_request_timeout(Duration::from_secs(1));
    let mut events = runtime.events(&project).await.unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let id = runtime
        .create_container(&format!("{project}-web-1"), &shell(&project, "web", "true"))
        .await
        .unwrap();
    let event = next_event(&mut events, Duration::from_secs(10)).await;
    assert_eq!((event.action, event.id), (EventAction::Create, id));
}

/// A Unix socket that forwards to the engine's, whose connections can be cut.
struct EngineProxy {
    path: std::path::PathBuf,
    tasks: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>>,
    _dir: tempfile::TempDir,
}

impl EngineProxy {
    fn start() -> EngineProxy {
        let engine = std::env::var("DOCKER_HOST")
            .ok()
            .and_then(|host| host.strip_prefix("unix://").map(str::to_string))
            .unwrap_or_else(|| "/var/run/docker.sock".to_string());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("engine.sock");
        let listener = tokio::net::UnixListener::bind(&path).unwrap();
        let tasks = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let accepted = tasks.clone();
        let accept = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let engine = engine.clone();
                let forward = tokio::spawn(async move {
                    if let Ok(mut upstream) = tokio::net::UnixStream::connect(&engine).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                    }
                });
                accepted.lock().unwrap().push(forward.abort_handle());
            }
        });
        tasks.lock().unwrap().push(accept.abort_handle());
        EngineProxy {
            path,
            tasks,
            _dir: dir,
        }
    }

    /// Closes every connection and stops accepting: the engine is gone.
    fn cut(&self) {
        for task in self.tasks.lock().unwrap().drain(..) {
            task.abort();
        }
    }
}

impl Drop for EngineProxy {
    fn drop(&mut self) {
        self.cut();
    }
}

#[tokio::test]
async fn a_lost_connection_ends_the_stream() {
    let project = unique_project("events-lost");
    let _cleanup = Cleanup::new(&project);
    let direct = runtime().await;
    let proxy = EngineProxy::start();
    let client = bollard::Docker::connect_with_unix(
        &proxy.path.display().to_string(),
        120,
        bollard::API_DEFAULT_VERSION,
    )
    .unwrap();
    let through_proxy = DockerEngine::from_client(client).await.unwrap();
    let mut events = through_proxy.events(&project).await.unwrap();
    let id = direct
        .create_container(&format!("{project}-web-1"), &shell(&project, "web", "true"))
        .await
        .unwrap();
    let event = next_event(&mut events, Duration::from_secs(10)).await;
    assert_eq!((event.action, event.id), (EventAction::Create, id.clone()));

    proxy.cut();
    // The stream ends: at once, or after one error.
    let end = tokio::time::timeout(Duration::from_secs(10), async {
        match events.next().await {
            None => "end".to_string(),
            Some(Err(e)) => {
                assert!(events.next().await.is_none(), "more after the error");
                format!("error: {e}")
            }
            Some(Ok(event)) => panic!("an event after the cut: {event:?}"),
        }
    })
    .await
    .expect("the stream did not end within 10 s of the cut");
    eprintln!("after the cut: {end}");

    // A new subscription (here straight to the engine) sees what happens next.
    let mut again = direct.events(&project).await.unwrap();
    direct.remove_container(&id, true).await.unwrap();
    let event = next_event(&mut again, Duration::from_secs(10)).await;
    assert_eq!((event.action, event.id), (EventAction::Destroy, id));
}

/// `end_container`: the stop signal, SIGKILL after the grace period, and back as soon as the
/// process has exited; the removal that follows it waits for the engine's cleanup.
#[tokio::test]
async fn ending_a_container_signals_it_then_kills_it_after_the_grace_period() {
    let project = unique_project("end");
    let _cleanup = Cleanup::new(&project);
    let runtime = runtime().await;
    let start = |service: &'static str, script: &'static str, stop_signal: Option<&str>| {
        let mut spec = shell(&project, service, script);
        spec.stop_signal = stop_signal.map(str::to_string);
        let (runtime, name) = (&runtime, format!("{project}-{service}-1"));
        async move {
            let id = runtime.create_container(&name, &spec).await.unwrap();
            runtime.start_container(&id).await.unwrap();
            id
        }
    };
    // Exits on its stop signal (SIGUSR1 here, not SIGTERM): back at once, exit code 3.
    let polite = start(
        "polite",
        "trap 'exit 3' USR1; sleep 3600 & wait",
        Some("SIGUSR1"),
    )
    .await;
    // Ignores SIGTERM: killed when the grace period of 1 s is over.
    let stubborn = start(
        "stubborn",
        "trap '' TERM; while true; do sleep 0.1; done",
        None,
    )
    .await;

    let began = Instant::now();
    runtime
        .end_container(&polite, Some(Duration::from_secs(20)))
        .await
        .unwrap();
    assert!(
        began.elapsed() < Duration::from_secs(5),
        "{:?}",
        began.elapsed()
    );
    runtime.remove_container(&polite, true).await.unwrap();

    let began = Instant::now();
    runtime
        .end_container(&stubborn, Some(Duration::from_secs(1)))
        .await
        .unwrap();
    let took = began.elapsed();
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_secs(10),
        "{took:?}"
    );
    wait_for(Duration::from_secs(10), || async {
        runtime.container(&stubborn).await.unwrap().state == ContainerState::Exited
    })
    .await;
    assert_eq!(
        runtime.container(&stubborn).await.unwrap().exit_code,
        Some(137)
    );
    // Ending what has ended already is fine; what is gone is not found.
    runtime
        .end_container(&stubborn, Some(Duration::from_secs(1)))
        .await
        .unwrap();
    runtime.remove_container(&stubborn, true).await.unwrap();
    assert!(matches!(
        runtime.end_container(&stubborn, None).await,
        Err(EngineError::NotFound(_))
    ));
    assert!(runtime.containers(&project).await.unwrap().is_empty());
}
