//! The DNS query handler, as a listener runs it on one packet: decide (answer, NXDOMAIN,
//! FORMERR, REFUSED or forward) and encode the reply. The first byte picks where the packet
//! arrives; the rest is the packet.
#![no_main]

use std::collections::HashMap;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use wharf::desired::{self, BuildOptions, Discovery};
use wharf::dns::Fuzzing;
use wharf::engine::labels;
use wharf::engine::{ContainerState, EngineContainer, Health};
use wharf::observe::Observed;
use wharf::spec::{LoadOptions, load};

const PROJECT: &str = "
services:
  web:
    image: app
    networks: [front, back]
    deploy: {replicas: 3}
    healthcheck: {test: [CMD, 'true']}
  db:
    image: db
    networks: [back]
networks:
  front: {}
  back: {}
";

/// Three web replicas (one unhealthy) on both networks, with IPv6 on `front`, and a db.
fn handler() -> &'static Fuzzing {
    static HANDLER: OnceLock<Fuzzing> = OnceLock::new();
    HANDLER.get_or_init(|| {
        let project = load(&LoadOptions {
            files: vec!["-".into()],
            stdin: Some(PROJECT.into()),
            project_name: Some("shop".into()),
            cwd: std::env::temp_dir(),
            ..LoadOptions::default()
        })
        .expect("the fixed project loads");
        let options = BuildOptions {
            discovery: Discovery::WharfDns,
            ..BuildOptions::default()
        };
        let desired = desired::build(&project, &options);
        let containers = [("web", 1, Health::Healthy), ("web", 2, Health::Unhealthy)]
            .into_iter()
            .chain([("web", 3, Health::Healthy), ("db", 1, Health::Healthy)])
            .enumerate()
            .map(|(host, (service, number, health))| {
                let on = |net: u8| format!("10.{net}.0.{}", host + 2);
                EngineContainer {
                    id: format!("{service}{number}"),
                    name: format!("shop-{service}-{number}"),
                    image: "app".into(),
                    image_id: "sha256:app".into(),
                    state: ContainerState::Running,
                    health: Some(health),
                    exit_code: None,
                    created: 0,
                    labels: HashMap::from([
                        (labels::PROJECT.to_string(), "shop".to_string()),
                        (labels::SERVICE.to_string(), service.to_string()),
                        (labels::NUMBER.to_string(), number.to_string()),
                    ]),
                    ports: Vec::new(),
                    addresses: HashMap::from([
                        ("shop_front".to_string(), on(1)),
                        ("shop_back".to_string(), on(2)),
                    ]),
                    addresses_v6: HashMap::from([(
                        "shop_front".to_string(),
                        format!("fd00::{}", host + 2),
                    )]),
                    volumes: Vec::new(),
                    listing: Default::default(),
                }
            })
            .collect();
        Fuzzing::new(&desired, &Observed::from_containers("shop", containers))
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&at, packet)) = data.split_first() else {
        return;
    };
    let network = [
        None,
        Some("shop_front"),
        Some("shop_back"),
        Some("elsewhere"),
    ][usize::from(at % 4)];
    // A replica of the project (seen on all its networks) or a stranger on the network.
    let clients = [
        [10, 1, 0, 2],
        [10, 2, 0, 2],
        [10, 1, 0, 250],
        [127, 0, 0, 1],
    ];
    let client = std::net::IpAddr::from(clients[usize::from(at >> 3 & 3)]);
    let _ = handler().reply(packet, network, client, at & 4 == 0);
});
