//! The answers, from a compose file and an engine state written out by hand: no I/O.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};

use super::answer::{PacketReply, Reply, encode, refuse, respond};
use super::table::{Arrival, ServiceTable, build};
use crate::desired::{self, BuildOptions, Desired, Discovery};
use crate::engine::labels;
use crate::engine::{ContainerState, EngineContainer, Health};
use crate::observe::Observed;
use crate::spec::{LoadOptions, load};

/// `web` (a healthcheck, port 80 exposed, 53/udp published) is on `front` and `back`, `db`
/// only on `back`, `admin` only on `front`.
const PROJECT_FILE: &str = r#"
services:
  web:
    image: app
    networks: [front, back]
    expose: ["80"]
    ports: ["8053:53/udp"]
    healthcheck:
      test: ["CMD", "true"]
  db:
    image: db
    networks: [back]
  admin:
    image: app
    networks: [front]
networks:
  front: {}
  back: {}
"#;

pub(super) const FRONT: &str = "shop_front";
pub(super) const BACK: &str = "shop_back";

pub(super) fn desired() -> Desired {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let project = load(&LoadOptions {
        files: vec!["-".into()],
        stdin: Some(PROJECT_FILE.to_string()),
        project_name: Some("shop".into()),
        cwd: dir.path().to_path_buf(),
        ..LoadOptions::default()
    })
    .unwrap_or_else(|d| panic!("the compose file loads: {d:?}"));
    let options = BuildOptions {
        discovery: Discovery::WharfDns,
        ..BuildOptions::default()
    };
    desired::build(&project, &options)
}

/// A replica as the engine lists it, with its address on each network (`10.<net>.0.<n>`,
/// `front` being net 1 and `back` net 2).
pub(super) fn replica(
    service: &str,
    number: u32,
    state: ContainerState,
    health: Option<Health>,
) -> EngineContainer {
    let host = match service {
        "web" => number,
        "db" => 100 + number,
        _ => 200 + number,
    };
    let addresses: HashMap<String, String> = [(FRONT, 1), (BACK, 2)]
        .iter()
        .map(|(network, net)| (network.to_string(), format!("10.{net}.0.{host}")))
        .collect();
    EngineContainer {
        id: format!("{service}{number}"),
        name: format!("shop-{service}-{number}"),
        image: "app".into(),
        image_id: "sha256:app".into(),
        state,
        health,
        exit_code: None,
        created: 0,
        labels: [
            (labels::PROJECT, "shop".to_string()),
            (labels::SERVICE, service.to_string()),
            (labels::NUMBER, number.to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect(),
        ports: Vec::new(),
        addresses,
        addresses_v6: [(FRONT.to_string(), format!("fd00:1::{host}"))].into(),
        volumes: Vec::new(),
        listing: Default::default(),
    }
}

pub(super) const RUNNING: ContainerState = ContainerState::Running;
pub(super) const HEALTHY: Option<Health> = Some(Health::Healthy);

/// Three healthy web replicas, one db, one admin.
pub(super) fn healthy_project() -> Vec<EngineContainer> {
    vec![
        replica("web", 1, RUNNING, HEALTHY),
        replica("web", 2, RUNNING, HEALTHY),
        replica("web", 3, RUNNING, HEALTHY),
        replica("db", 1, RUNNING, None),
        replica("admin", 1, RUNNING, None),
    ]
}

fn table_of(containers: Vec<EngineContainer>) -> ServiceTable {
    let observed = Observed::from_containers("shop", containers);
    build(
        &desired(),
        &observed,
        &HashSet::new(),
        1,
        &ServiceTable::default(),
    )
}

fn front() -> Arrival {
    Arrival::Network(FRONT.into())
}

pub(super) fn query(name: &str, kind: RecordType) -> Message {
    let mut message = Message::new();
    message
        .set_id(4242)
        .set_message_type(MessageType::Query)
        .set_op_code(OpCode::Query)
        .set_recursion_desired(true)
        .add_query(Query::query(Name::from_ascii(name).unwrap(), kind));
    message
}

/// A client that is none of the project's containers (a tool in a container someone started
/// by hand): it sees the names of the network its query arrived on.
pub(super) const OUTSIDER: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 9, 9, 9));

/// The reply to `message` arriving on `arrival`, through the bytes, as the server sees it.
fn ask(table: &ServiceTable, arrival: &Arrival, message: &Message) -> Reply {
    ask_from(table, arrival, OUTSIDER, message)
}

pub(super) fn ask_from(
    table: &ServiceTable,
    arrival: &Arrival,
    client: IpAddr,
    message: &Message,
) -> Reply {
    let PacketReply { reply, .. } =
        respond(&message.to_vec().unwrap(), arrival, client, table).expect("a query gets a reply");
    reply
}

fn answered(table: &ServiceTable, arrival: &Arrival, name: &str, kind: RecordType) -> Message {
    match ask(table, arrival, &query(name, kind)) {
        Reply::Answer(message) => message,
        Reply::Forward { .. } => panic!("{name} was forwarded, not answered"),
    }
}

pub(super) fn addresses(message: &Message) -> Vec<String> {
    message
        .answers()
        .iter()
        .filter_map(|r| match r.data() {
            RData::A(a) => Some(a.0.to_string()),
            RData::AAAA(a) => Some(a.0.to_string()),
            _ => None,
        })
        .collect()
}

fn web_on_front(table: &ServiceTable) -> Vec<String> {
    addresses(&answered(table, &front(), "web.", RecordType::A))
}

#[test]
fn a_service_name_gives_every_replica_on_the_network_it_was_asked_on() {
    let table = table_of(healthy_project());
    let mut front = web_on_front(&table);
    front.sort();
    assert_eq!(front, ["10.1.0.1", "10.1.0.2", "10.1.0.3"]);
    let back = answered(
        &table,
        &Arrival::Network(BACK.into()),
        "web.",
        RecordType::A,
    );
    let mut back = addresses(&back);
    back.sort();
    assert_eq!(back, ["10.2.0.1", "10.2.0.2", "10.2.0.3"]);
}

#[test]
fn successive_answers_rotate_by_one_position() {
    let table = table_of(healthy_project());
    let first = web_on_front(&table);
    let second = web_on_front(&table);
    let third = web_on_front(&table);
    let fourth = web_on_front(&table);
    let rotated = |list: &[String]| {
        let mut list = list.to_vec();
        list.rotate_left(1);
        list
    };
    assert_eq!(second, rotated(&first));
    assert_eq!(third, rotated(&second));
    assert_eq!(
        fourth, first,
        "three replicas: the fourth answer is the first again"
    );
}

#[test]
fn the_rotation_goes_on_across_a_new_table() {
    let first = table_of(healthy_project());
    let before = web_on_front(&first);
    let observed = Observed::from_containers("shop", healthy_project());
    let second = build(&desired(), &observed, &HashSet::new(), 1, &first);
    let mut expected = before.clone();
    expected.rotate_left(1);
    assert_eq!(web_on_front(&second), expected);
}

#[test]
fn the_project_qualified_name_and_case_do_not_matter() {
    let table = table_of(healthy_project());
    for name in ["web.shop.", "WEB.Shop.", "Web."] {
        assert_eq!(
            addresses(&answered(&table, &front(), name, RecordType::A)).len(),
            3,
            "{name}"
        );
    }
}

#[test]
fn unhealthy_starting_stopped_and_leaving_replicas_take_no_traffic() {
    let containers = vec![
        replica("web", 1, RUNNING, HEALTHY),
        replica("web", 2, RUNNING, Some(Health::Unhealthy)),
        replica("web", 3, RUNNING, Some(Health::Starting)),
        replica("web", 4, ContainerState::Exited, None),
        replica("web", 5, RUNNING, HEALTHY),
    ];
    let observed = Observed::from_containers("shop", containers);
    let leaving: HashSet<String> = ["web5".to_string()].into();
    let table = build(&desired(), &observed, &leaving, 1, &ServiceTable::default());
    assert_eq!(web_on_front(&table), ["10.1.0.1"]);
}

#[test]
fn a_service_without_a_healthcheck_serves_while_running() {
    let table = table_of(healthy_project());
    let db = answered(&table, &Arrival::Network(BACK.into()), "db.", RecordType::A);
    assert_eq!(addresses(&db), ["10.2.0.101"]);
}

#[test]
fn tasks_lists_every_running_replica_healthy_or_not() {
    let containers = vec![
        replica("web", 1, RUNNING, HEALTHY),
        replica("web", 2, RUNNING, Some(Health::Unhealthy)),
        replica("web", 3, ContainerState::Exited, None),
    ];
    let table = table_of(containers);
    let tasks = answered(&table, &front(), "tasks.web.", RecordType::A);
    assert_eq!(addresses(&tasks), ["10.1.0.1", "10.1.0.2"]);
}

#[test]
fn a_replica_answers_to_its_number_and_its_container_name() {
    let table = table_of(healthy_project());
    for name in ["2.web.", "2.web.shop.", "shop-web-2."] {
        assert_eq!(
            addresses(&answered(&table, &front(), name, RecordType::A)),
            ["10.1.0.2"],
            "{name}"
        );
    }
}

#[test]
fn a_service_with_no_replica_that_may_serve_is_noerror_without_records() {
    let table = table_of(vec![replica("web", 1, RUNNING, Some(Health::Unhealthy))]);
    let reply = answered(&table, &front(), "web.", RecordType::A);
    assert_eq!(reply.response_code(), ResponseCode::NoError);
    assert!(reply.answers().is_empty());
}

#[test]
fn a_service_on_another_network_does_not_exist_here() {
    let table = table_of(healthy_project());
    for name in ["db.", "db.shop.", "tasks.db.", "1.db.", "shop-db-1."] {
        let reply = answered(&table, &front(), name, RecordType::A);
        assert_eq!(reply.response_code(), ResponseCode::NXDomain, "{name}");
    }
    let admin = answered(
        &table,
        &Arrival::Network(BACK.into()),
        "admin.",
        RecordType::A,
    );
    assert_eq!(admin.response_code(), ResponseCode::NXDomain);
}

#[test]
fn unknown_single_labels_and_project_names_are_nxdomain_other_names_are_forwarded() {
    let table = table_of(healthy_project());
    for name in [
        "nosuch.",
        "shop.",
        "nosuch.shop.",
        "a.b.shop.",
        "x.tasks.web.",
    ] {
        let reply = answered(&table, &front(), name, RecordType::A);
        assert_eq!(reply.response_code(), ResponseCode::NXDomain, "{name}");
        assert!(reply.authoritative());
    }
    for name in ["example.org.", "web.example.org.", "shop.example.org."] {
        let reply = ask(&table, &front(), &query(name, RecordType::A));
        let Reply::Forward { otherwise } = reply else {
            panic!("{name} is not the project's: it is forwarded");
        };
        assert_eq!(
            otherwise.response_code(),
            ResponseCode::ServFail,
            "when no upstream answers"
        );
    }
}

#[test]
fn srv_names_the_serving_replicas_with_their_addresses_in_additional() {
    let containers = vec![
        replica("web", 1, RUNNING, HEALTHY),
        replica("web", 2, RUNNING, HEALTHY),
        replica("web", 3, RUNNING, Some(Health::Unhealthy)),
    ];
    let table = table_of(containers);
    let reply = answered(&table, &front(), "_80._tcp.web.", RecordType::SRV);
    let targets: Vec<(String, u16)> = reply
        .answers()
        .iter()
        .filter_map(|r| match r.data() {
            RData::SRV(srv) => Some((srv.target().to_ascii(), srv.port())),
            _ => None,
        })
        .collect();
    assert_eq!(
        targets,
        [
            ("shop-web-1.".to_string(), 80),
            ("shop-web-2.".to_string(), 80)
        ]
    );
    let glue: Vec<(String, String)> = reply
        .additionals()
        .iter()
        .filter_map(|r| match r.data() {
            RData::A(a) => Some((r.name().to_ascii(), a.0.to_string())),
            _ => None,
        })
        .collect();
    assert_eq!(
        glue,
        [
            ("shop-web-1.".to_string(), "10.1.0.1".to_string()),
            ("shop-web-2.".to_string(), "10.1.0.2".to_string())
        ]
    );
    let udp = answered(&table, &front(), "_53._udp.web.shop.", RecordType::SRV);
    assert_eq!(
        udp.answers().len(),
        2,
        "published ports have SRV records too"
    );
    let wrong = answered(&table, &front(), "_81._tcp.web.", RecordType::SRV);
    assert_eq!(wrong.response_code(), ResponseCode::NXDomain);
}

#[test]
fn ptr_names_the_replica_of_an_address_on_that_network() {
    let table = table_of(healthy_project());
    let reverse = Name::from(IpAddr::from([10, 1, 0, 2]));
    let reply = answered(&table, &front(), &reverse.to_ascii(), RecordType::PTR);
    let names: Vec<String> = reply
        .answers()
        .iter()
        .filter_map(|r| match r.data() {
            RData::PTR(ptr) => Some(ptr.0.to_ascii()),
            _ => None,
        })
        .collect();
    assert_eq!(names, ["shop-web-2."]);
    let db = Name::from(IpAddr::from([10, 2, 0, 101]));
    let reply = ask(&table, &front(), &query(&db.to_ascii(), RecordType::PTR));
    assert!(
        matches!(reply, Reply::Forward { .. }),
        "db's address is not on front: not answered there"
    );
}

#[test]
fn aaaa_gives_the_ipv6_addresses_on_a_network_with_ipv6() {
    let table = table_of(healthy_project());
    let mut v6 = addresses(&answered(&table, &front(), "web.", RecordType::AAAA));
    v6.sort();
    assert_eq!(v6, ["fd00:1::1", "fd00:1::2", "fd00:1::3"]);
    let back = answered(
        &table,
        &Arrival::Network(BACK.into()),
        "web.",
        RecordType::AAAA,
    );
    assert!(back.answers().is_empty(), "back has no IPv6");
    let reverse = Name::from(IpAddr::from([0xfd00, 1, 0, 0, 0, 0, 0, 2])).to_ascii();
    let ptr = answered(&table, &front(), &reverse, RecordType::PTR);
    assert_eq!(ptr.answers().len(), 1, "PTR for an IPv6 address too");
}

#[test]
fn other_record_types_of_a_known_name_are_empty_answers() {
    let table = table_of(healthy_project());
    for kind in [RecordType::MX, RecordType::TXT] {
        let reply = answered(&table, &front(), "web.", kind);
        assert_eq!(reply.response_code(), ResponseCode::NoError, "{kind}");
        assert!(reply.answers().is_empty(), "{kind}");
    }
}

#[test]
fn the_host_sees_each_service_on_its_first_network() {
    let table = table_of(healthy_project());
    let mut web = addresses(&answered(&table, &Arrival::Host, "web.", RecordType::A));
    web.sort();
    assert_eq!(web, ["10.1.0.1", "10.1.0.2", "10.1.0.3"]);
    let db = answered(&table, &Arrival::Host, "db.", RecordType::A);
    assert_eq!(addresses(&db), ["10.2.0.101"]);
}

#[test]
fn answers_carry_the_ttl_and_the_request_s_id_and_flags() {
    let observed = Observed::from_containers("shop", healthy_project());
    let table = build(
        &desired(),
        &observed,
        &HashSet::new(),
        5,
        &ServiceTable::default(),
    );
    let reply = answered(&table, &front(), "web.", RecordType::A);
    assert_eq!(reply.id(), 4242);
    assert!(reply.recursion_desired() && reply.authoritative());
    assert!(reply.answers().iter().all(|r| r.ttl() == 5));
}

#[test]
fn garbage_gets_formerr_when_it_looks_like_a_query_and_nothing_otherwise() {
    let table = table_of(healthy_project());
    let mut bytes = query("web.", RecordType::A).to_vec().unwrap();
    bytes.truncate(20);
    let Some(PacketReply {
        reply: Reply::Answer(reply),
        ..
    }) = respond(&bytes, &front(), OUTSIDER, &table)
    else {
        panic!("a cut query gets FORMERR");
    };
    assert_eq!(
        (reply.id(), reply.response_code()),
        (4242, ResponseCode::FormErr)
    );
    assert!(
        respond(&[0x12], &front(), OUTSIDER, &table).is_none(),
        "one byte is noise"
    );
    let mut response = query("web.", RecordType::A);
    response.set_message_type(MessageType::Response);
    let bytes = response.to_vec().unwrap();
    assert!(
        respond(&bytes, &front(), OUTSIDER, &table).is_none(),
        "a response is never answered"
    );
}

#[test]
fn other_opcodes_are_not_implemented() {
    let table = table_of(healthy_project());
    let mut update = query("web.", RecordType::A);
    update.set_op_code(OpCode::Update);
    let Reply::Answer(reply) = ask(&table, &front(), &update) else {
        panic!("answered locally");
    };
    assert_eq!(reply.response_code(), ResponseCode::NotImp);
}

/// A service with many replicas: its answer outgrows a plain 512-byte UDP reply.
fn crowded_table() -> ServiceTable {
    let containers = (1..=40)
        .map(|n| replica("web", n, RUNNING, HEALTHY))
        .collect();
    table_of(containers)
}

#[test]
fn a_large_answer_fits_in_udp_when_edns_allows_it_and_is_truncated_otherwise() {
    let table = crowded_table();
    let plain = query("_80._tcp.web.", RecordType::SRV);
    let Some(PacketReply {
        reply: Reply::Answer(reply),
        udp_limit,
    }) = respond(&plain.to_vec().unwrap(), &front(), OUTSIDER, &table)
    else {
        panic!("answered");
    };
    assert_eq!(udp_limit, 512);
    let cut = Message::from_vec(&encode(&reply, udp_limit).unwrap()).unwrap();
    assert!(
        cut.truncated() && cut.answers().is_empty(),
        "TC: ask again over TCP"
    );
    let whole = Message::from_vec(&encode(&reply, 65_535).unwrap()).unwrap();
    assert_eq!(whole.answers().len(), 40, "over TCP all of it");

    let mut with_edns = plain.clone();
    let mut edns = Edns::new();
    edns.set_max_payload(4096);
    with_edns.set_edns(edns);
    let Some(PacketReply { reply, udp_limit }) =
        respond(&with_edns.to_vec().unwrap(), &front(), OUTSIDER, &table)
    else {
        panic!("answered");
    };
    let Reply::Answer(reply) = reply else {
        panic!("answered")
    };
    assert_eq!(udp_limit, 4096);
    let bytes = encode(&reply, udp_limit).unwrap();
    let fits = Message::from_vec(&bytes).unwrap();
    assert!(
        !fits.truncated() && fits.answers().len() == 40,
        "{} bytes",
        bytes.len()
    );
    assert!(fits.extensions().is_some(), "EDNS answered with EDNS");
}

#[test]
fn each_family_rotates_on_its_own() {
    // A client asks A and AAAA on every lookup: with two replicas, one counter for both would
    // give the same first address every time.
    let containers = vec![
        replica("web", 1, RUNNING, HEALTHY),
        replica("web", 2, RUNNING, HEALTHY),
    ];
    let table = table_of(containers);
    let mut firsts = Vec::new();
    for _ in 0..2 {
        firsts.push(web_on_front(&table)[0].clone());
        answered(&table, &front(), "web.", RecordType::AAAA);
    }
    assert_ne!(firsts[0], firsts[1]);
}

#[test]
fn a_client_the_listener_does_not_serve_is_refused_with_nothing_about_the_project() {
    for name in ["web.", "db.shop.", "1.web.", "example.org."] {
        let Some(PacketReply {
            reply: Reply::Answer(reply),
            udp_limit,
        }) = refuse(&query(name, RecordType::A).to_vec().unwrap())
        else {
            panic!("{name}: a query is refused, not forwarded");
        };
        assert_eq!(
            (reply.id(), reply.response_code()),
            (4242, ResponseCode::Refused),
            "{name}"
        );
        assert!(reply.answers().is_empty() && reply.additionals().is_empty());
        assert!(!reply.recursion_available() && !reply.authoritative());
        assert_eq!(udp_limit, 512);
    }
    let mut response = query("web.", RecordType::A);
    response.set_message_type(MessageType::Response);
    assert!(refuse(&response.to_vec().unwrap()).is_none(), "a response");
    assert!(refuse(&[0xff; 5]).is_none(), "noise");
}
