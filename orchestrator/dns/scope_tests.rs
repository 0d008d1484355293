//! The names Docker's resolver gives a compose project that wharf's DNS must give too: those
//! of every network the asking container is on, `<service>.<network>`, and the services of the
//! same project that another compose file started. Pure, as `answer_tests`.

use std::collections::HashSet;
use std::net::IpAddr;

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::RecordType;

use super::answer::Reply;
use super::answer_tests::{
    BACK, FRONT, HEALTHY, OUTSIDER, RUNNING, addresses, ask_from, desired, query, replica,
};
use super::table::{Arrival, ServiceTable, build};
use crate::engine::labels;
use crate::engine::{ContainerState, EngineContainer, EngineNetwork, Health};
use crate::observe::{Observed, ObservedResource};

/// A container of the project on these networks only (`replica` puts every one on both).
fn on(networks: &[&str], mut container: EngineContainer) -> EngineContainer {
    container
        .addresses
        .retain(|n, _| networks.contains(&n.as_str()));
    container
        .addresses_v6
        .retain(|n, _| networks.contains(&n.as_str()));
    container
}

/// `web` on both networks, `db` on `back`, `admin` on `front`, as the file says; `other`, a
/// service of another compose file of the project, on `front`.
fn project(other: Vec<EngineContainer>) -> ServiceTable {
    table(&observed(other))
}

fn observed(other: Vec<EngineContainer>) -> Observed {
    let mut containers = vec![
        replica("web", 1, RUNNING, HEALTHY),
        replica("web", 2, RUNNING, HEALTHY),
        on(&[BACK], replica("db", 1, RUNNING, None)),
        on(&[FRONT], replica("admin", 1, RUNNING, None)),
    ];
    containers.extend(other);
    Observed::from_containers("shop", containers)
}

fn table(observed: &Observed) -> ServiceTable {
    build(
        &desired(),
        observed,
        &HashSet::new(),
        1,
        &ServiceTable::default(),
    )
}

/// A replica of `other` on `front` at `10.1.0.(50 + number)`.
fn other(number: u32, state: ContainerState, health: Option<Health>) -> EngineContainer {
    let mut container = on(&[FRONT], replica("other", number, state, health));
    let address = format!("10.1.0.{}", 50 + number);
    container.addresses.insert(FRONT.into(), address);
    container
}

fn address(text: &str) -> IpAddr {
    text.parse().unwrap()
}

/// The answer to `name` (A) from the container at `client` on `network`.
fn from(table: &ServiceTable, network: &str, client: &str, name: &str) -> Message {
    let arrival = Arrival::Network(network.into());
    match ask_from(
        table,
        &arrival,
        address(client),
        &query(name, RecordType::A),
    ) {
        Reply::Answer(message) => message,
        Reply::Forward { .. } => panic!("{name} was forwarded, not answered"),
    }
}

fn sorted(message: &Message) -> Vec<String> {
    let mut found = addresses(message);
    found.sort();
    found
}

#[test]
fn a_container_on_two_networks_finds_the_services_of_both() {
    let table = project(Vec::new());
    // web-1 asks on `front` (its first network's gateway); `db` is on `back` only.
    let db = from(&table, FRONT, "10.1.0.1", "db.");
    assert_eq!(addresses(&db), ["10.2.0.101"]);
    let db = from(&table, FRONT, "10.1.0.1", "shop-db-1.");
    assert_eq!(addresses(&db), ["10.2.0.101"]);
    // admin is on `front` only: `db` does not exist for it.
    let db = from(&table, FRONT, "10.1.0.201", "db.");
    assert_eq!(db.response_code(), ResponseCode::NXDomain);
}

#[test]
fn a_service_on_several_of_the_client_s_networks_answers_from_the_first_by_name() {
    let table = project(Vec::new());
    // `shop_back` sorts before `shop_front`, as Docker's resolver orders a container's networks.
    let web = from(&table, FRONT, "10.1.0.1", "web.");
    assert_eq!(sorted(&web), ["10.2.0.1", "10.2.0.2"]);
    // A client the table does not know sees the network it asked on.
    let web = from(&table, FRONT, &OUTSIDER.to_string(), "web.");
    assert_eq!(sorted(&web), ["10.1.0.1", "10.1.0.2"]);
}

#[test]
fn an_internal_network_is_looked_up_after_the_others() {
    let mut observed = observed(Vec::new());
    let back = EngineNetwork {
        id: "n2".into(),
        name: BACK.into(),
        labels: Default::default(),
        pools: Vec::new(),
        settings: crate::engine::NetworkSettings {
            internal: true,
            ..Default::default()
        },
    };
    let back = ObservedResource {
        identity: None,
        engine: back,
    };
    observed.networks.insert(BACK.into(), back);
    let web = from(&table(&observed), FRONT, "10.1.0.1", "web.");
    assert_eq!(sorted(&web), ["10.1.0.1", "10.1.0.2"]);
}

#[test]
fn a_service_answers_under_its_network_s_name() {
    let table = project(Vec::new());
    let web = from(&table, FRONT, "10.1.0.201", "web.shop_front.");
    assert_eq!(sorted(&web), ["10.1.0.1", "10.1.0.2"]);
    let db = from(&table, FRONT, "10.1.0.1", "db.shop_back.");
    assert_eq!(addresses(&db), ["10.2.0.101"]);
    // Not on that network: not the project's name, so it goes where Docker would send it.
    let arrival = Arrival::Network(FRONT.into());
    let asked = query("db.shop_front.", RecordType::A);
    let reply = ask_from(&table, &arrival, address("10.1.0.1"), &asked);
    assert!(matches!(reply, Reply::Forward { .. }), "{reply:?}");
}

#[test]
fn a_service_another_compose_file_started_resolves_on_its_networks_while_it_runs() {
    let table = project(vec![other(1, RUNNING, None)]);
    for name in [
        "other.",
        "other.shop.",
        "other.shop_front.",
        "shop-other-1.",
    ] {
        let reply = from(&table, FRONT, "10.1.0.201", name);
        assert_eq!(addresses(&reply), ["10.1.0.51"], "{name}");
    }
    // db is on `back` only, and `other` is not there.
    let reply = from(&table, BACK, "10.2.0.101", "other.");
    assert_eq!(reply.response_code(), ResponseCode::NXDomain);
    let host = Arrival::Host;
    let reply = ask_from(&table, &host, OUTSIDER, &query("other.", RecordType::A));
    let Reply::Answer(reply) = reply else {
        panic!("the host is answered");
    };
    assert_eq!(addresses(&reply), ["10.1.0.51"], "the host sees it too");

    let stopped = project(vec![other(1, ContainerState::Exited, None)]);
    let reply = from(&stopped, FRONT, "10.1.0.201", "other.");
    assert_eq!(
        reply.response_code(),
        ResponseCode::NXDomain,
        "no running container: no name, as with compose"
    );
}

#[test]
fn another_file_s_service_rotates_among_its_replicas_that_may_take_traffic() {
    let table = project(vec![
        other(1, RUNNING, HEALTHY),
        other(2, RUNNING, HEALTHY),
        other(3, RUNNING, Some(Health::Unhealthy)),
    ]);
    let first = addresses(&from(&table, FRONT, "10.1.0.201", "other."));
    let second = addresses(&from(&table, FRONT, "10.1.0.201", "other."));
    assert_eq!(
        sorted(&from(&table, FRONT, "10.1.0.201", "other.")).len(),
        2
    );
    let mut rotated = first.clone();
    rotated.rotate_left(1);
    assert_eq!(second, rotated);
    let tasks = from(&table, FRONT, "10.1.0.201", "tasks.other.");
    assert_eq!(addresses(&tasks).len(), 3, "tasks lists the unhealthy one");
}

#[test]
fn another_file_s_container_asking_sees_all_its_networks_too() {
    let mut both = replica("other", 1, RUNNING, None);
    both.addresses.insert(FRONT.into(), "10.1.0.51".into());
    both.addresses.insert(BACK.into(), "10.2.0.51".into());
    let table = project(vec![both]);
    let db = from(&table, FRONT, "10.1.0.51", "db.");
    assert_eq!(addresses(&db), ["10.2.0.101"]);
}

#[test]
fn a_one_off_container_sees_every_network_it_is_on() {
    let mut run = replica("admin", 1, RUNNING, None);
    run.name = "shop-admin-run-0123456789ab".into();
    run.id = "run1".into();
    run.labels.insert(labels::ONEOFF.into(), "True".into());
    run.addresses.insert(FRONT.into(), "10.1.0.77".into());
    run.addresses.insert(BACK.into(), "10.2.0.77".into());
    let table = project(vec![run]);
    let db = from(&table, FRONT, "10.1.0.77", "db.");
    assert_eq!(addresses(&db), ["10.2.0.101"]);
}
