//! The server on loopback sockets: answers over UDP and TCP, EDNS and truncation, forwarding
//! with failover, and hostile input (garbage, cut packets, huge names, floods).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{Name, RData, Record, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

use super::answer_tests::{desired, healthy_project, replica};
use super::server::Clients;
use super::{Dns, DnsConfig, PlanView};
use crate::engine::{ContainerState, Health};
use crate::observe::Observed;
use crate::plan::{Cause, ContainerRef, EngineCall, Operation};

/// What the fake upstream answers for every name.
const UPSTREAM_ADDRESS: [u8; 4] = [192, 0, 2, 7];

/// A DNS on an ephemeral loopback port, forwarding to `upstreams`, with `containers`.
async fn serve(
    containers: Vec<crate::engine::EngineContainer>,
    upstreams: Vec<SocketAddr>,
) -> (Dns, SocketAddr) {
    let config = DnsConfig {
        ttl: 1,
        loopback: Some("127.0.0.1:0".parse().unwrap()),
        upstreams,
    };
    let mut dns = Dns::start(&config, &[]).await.expect("the DNS starts");
    let observed = Observed::from_containers("shop", containers);
    dns.publish(&desired(), &observed).await;
    let address = dns.loopback().expect("a loopback listener");
    (dns, address)
}

fn query(name: &str, kind: RecordType, edns: Option<u16>) -> Vec<u8> {
    let mut message = Message::new();
    message
        .set_id(7)
        .set_message_type(MessageType::Query)
        .set_op_code(OpCode::Query)
        .set_recursion_desired(true)
        .add_query(Query::query(Name::from_ascii(name).unwrap(), kind));
    if let Some(size) = edns {
        let mut extension = Edns::new();
        extension.set_max_payload(size);
        message.set_edns(extension);
    }
    message.to_vec().unwrap()
}

/// One UDP exchange; `None` when no reply comes within `wait`.
async fn udp(server: SocketAddr, packet: &[u8], wait: Duration) -> Option<Message> {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    socket.send_to(packet, server).await.unwrap();
    let mut buffer = vec![0; 65_535];
    let (length, _) = tokio::time::timeout(wait, socket.recv_from(&mut buffer))
        .await
        .ok()?
        .ok()?;
    Some(Message::from_vec(&buffer[..length]).expect("the reply parses"))
}

async fn tcp(server: SocketAddr, packet: &[u8]) -> Message {
    let mut stream = TcpStream::connect(server).await.unwrap();
    let mut framed = (packet.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(packet);
    stream.write_all(&framed).await.unwrap();
    let length = stream.read_u16().await.unwrap();
    let mut reply = vec![0; usize::from(length)];
    stream.read_exact(&mut reply).await.unwrap();
    Message::from_vec(&reply).unwrap()
}

const WAIT: Duration = Duration::from_secs(2);

async fn web_addresses(server: SocketAddr) -> usize {
    let reply = udp(server, &query("web.", RecordType::A, None), WAIT).await;
    reply.expect("web answered").answers().len()
}

/// The fake upstream's reply to a query: [`UPSTREAM_ADDRESS`] for its name.
fn upstream_reply(query: &[u8]) -> Option<Vec<u8>> {
    let request = Message::from_vec(query).ok()?;
    let mut reply = Message::new();
    reply
        .set_id(request.id())
        .set_message_type(MessageType::Response)
        .add_queries(request.queries().iter().cloned());
    let name = request.queries().first()?.name().clone();
    let address = RData::A(A(UPSTREAM_ADDRESS.into()));
    reply.add_answer(Record::from_rdata(name, 60, address));
    reply.to_vec().ok()
}

/// An upstream that answers every query with [`UPSTREAM_ADDRESS`], over UDP and TCP.
async fn fake_upstream() -> SocketAddr {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let address = socket.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buffer = vec![0; 4096];
        while let Ok((length, from)) = socket.recv_from(&mut buffer).await {
            if let Some(reply) = upstream_reply(&buffer[..length]) {
                let _ = socket.send_to(&reply, from).await;
            }
        }
    });
    let listener = tokio::net::TcpListener::bind(address).await.unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let Ok(length) = stream.read_u16().await else {
                continue;
            };
            let mut query = vec![0; usize::from(length)];
            if stream.read_exact(&mut query).await.is_err() {
                continue;
            }
            if let Some(reply) = upstream_reply(&query) {
                let mut framed = (reply.len() as u16).to_be_bytes().to_vec();
                framed.extend_from_slice(&reply);
                let _ = stream.write_all(&framed).await;
            }
        }
    });
    address
}

/// An upstream that takes queries and never answers.
async fn dead_upstream() -> (UdpSocket, SocketAddr) {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let address = socket.local_addr().unwrap();
    (socket, address)
}

#[tokio::test]
async fn answers_over_udp_and_tcp_on_the_loopback_listener() {
    let (_dns, server) = serve(healthy_project(), Vec::new()).await;
    assert_eq!(web_addresses(server).await, 3);
    let reply = tcp(server, &query("tasks.web.", RecordType::A, None)).await;
    assert_eq!(reply.answers().len(), 3);
}

#[tokio::test]
async fn a_large_answer_is_truncated_over_plain_udp_whole_over_edns_and_tcp() {
    let containers = (1..=40)
        .map(|n| replica("web", n, ContainerState::Running, Some(Health::Healthy)))
        .collect();
    let (_dns, server) = serve(containers, Vec::new()).await;
    let srv = query("_80._tcp.web.", RecordType::SRV, None);
    let plain = udp(server, &srv, WAIT).await.expect("a reply");
    assert!(plain.truncated() && plain.answers().is_empty());
    assert_eq!(
        tcp(server, &srv).await.answers().len(),
        40,
        "the client's TCP retry"
    );
    let edns = query("_80._tcp.web.", RecordType::SRV, Some(4096));
    let whole = udp(server, &edns, WAIT).await.expect("a reply");
    assert!(!whole.truncated());
    assert_eq!(whole.answers().len(), 40);
}

#[tokio::test]
async fn other_names_are_forwarded_to_the_next_upstream_when_one_is_dead() {
    let (_silent, dead) = dead_upstream().await;
    let alive = fake_upstream().await;
    let (_dns, server) = serve(healthy_project(), vec![dead, alive]).await;
    let reply = udp(
        server,
        &query("example.org.", RecordType::A, None),
        Duration::from_secs(5),
    )
    .await
    .expect("the second upstream answers");
    let RData::A(address) = reply.answers()[0].data() else {
        panic!("an A record");
    };
    assert_eq!(address.0.octets(), UPSTREAM_ADDRESS);
}

#[tokio::test]
async fn a_tcp_client_s_query_is_forwarded_over_tcp() {
    let (_dns, server) = serve(healthy_project(), vec![fake_upstream().await]).await;
    let reply = tcp(server, &query("example.org.", RecordType::A, None)).await;
    let RData::A(address) = reply.answers()[0].data() else {
        panic!("an A record");
    };
    assert_eq!(address.0.octets(), UPSTREAM_ADDRESS);
}

#[tokio::test]
async fn no_upstream_answering_is_servfail() {
    let (_silent, dead) = dead_upstream().await;
    let (_dns, server) = serve(healthy_project(), vec![dead]).await;
    let reply = udp(
        server,
        &query("example.org.", RecordType::A, None),
        Duration::from_secs(5),
    )
    .await
    .expect("a reply");
    assert_eq!(reply.response_code(), ResponseCode::ServFail);
}

/// The wire form of a name longer than DNS allows: five labels of 63 bytes (over 255).
fn huge_name_query() -> Vec<u8> {
    let mut packet = vec![0, 9, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    for _ in 0..5 {
        packet.push(63);
        packet.extend(std::iter::repeat_n(b'a', 63));
    }
    packet.extend([0, 0, 1, 0, 1]);
    packet
}

#[tokio::test]
async fn hostile_packets_get_formerr_or_nothing_and_the_server_goes_on() {
    let (_dns, server) = serve(healthy_project(), Vec::new()).await;
    let valid = query("web.", RecordType::A, None);
    let cut = &valid[..valid.len() - 3];
    let formerr = udp(server, cut, WAIT)
        .await
        .expect("FORMERR for a cut query");
    assert_eq!(formerr.response_code(), ResponseCode::FormErr);
    let huge = udp(server, &huge_name_query(), WAIT)
        .await
        .expect("FORMERR");
    assert_eq!(
        (huge.id(), huge.response_code()),
        (9, ResponseCode::FormErr)
    );
    for noise in [&[][..], &[0xff][..], &[0u8; 3][..], &[0xffu8; 600][..]] {
        assert!(
            udp(server, noise, Duration::from_millis(200))
                .await
                .is_none()
        );
    }
    // A TCP client that announces more than it sends, then one that sends nothing.
    let mut liar = TcpStream::connect(server).await.unwrap();
    liar.write_all(&[0x40, 0x00, 1, 2, 3]).await.unwrap();
    let _idle = TcpStream::connect(server).await.unwrap();
    assert_eq!(web_addresses(server).await, 3);
    assert_eq!(tcp(server, &valid).await.answers().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_does_not_stall_other_queries() {
    let (_silent, dead) = dead_upstream().await;
    let (_dns, server) = serve(healthy_project(), vec![dead]).await;
    let resident_before = resident_bytes();
    // 20 000 forwarded queries to a dead upstream (they fill the in-flight cap) and garbage,
    // from one socket, as fast as it can send, while a client asks for `web`.
    let flood = tokio::spawn(async move {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let forwarded = query("example.org.", RecordType::A, None);
        for n in 0..20_000 {
            let packet: &[u8] = if n % 2 == 0 {
                &forwarded
            } else {
                &[0xde, 0xad]
            };
            let _ = socket.send_to(packet, server).await;
        }
    });
    // A full socket buffer drops datagrams, the client's as well as the flood's: like a real
    // resolver, the client asks again after a short wait.
    let web = query("web.", RecordType::A, None);
    let mut slowest = Duration::ZERO;
    for _ in 0..50 {
        let started = Instant::now();
        let mut reply = None;
        for _ in 0..5 {
            reply = udp(server, &web, Duration::from_millis(100)).await;
            if reply.is_some() {
                break;
            }
        }
        assert_eq!(reply.expect("answered during the flood").answers().len(), 3);
        slowest = slowest.max(started.elapsed());
    }
    flood.await.unwrap();
    assert!(
        slowest < Duration::from_millis(500),
        "slowest answer took {slowest:?}"
    );
    // What the flood left in memory: the in-flight cap bounds it (nextest runs each test in a
    // process of its own, so this is the server's doing).
    let grown = resident_bytes().saturating_sub(resident_before);
    println!(
        "resident memory grew by {} KiB during the flood",
        grown / 1024
    );
    assert!(grown < 16 << 20, "the flood cost {} KiB", grown / 1024);
}

/// This process's resident memory, from /proc/self/statm (in pages of 4 KiB).
fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("/proc/self/statm");
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|field| field.parse().ok())
        .expect("resident pages");
    pages * 4096
}

#[tokio::test]
async fn a_replica_the_plan_stops_leaves_the_answers_before_it_is_stopped() {
    let (mut dns, server) = serve(healthy_project(), Vec::new()).await;
    let stop = |number: u32| Operation {
        id: 0,
        action: EngineCall::StopContainer {
            service: "web".into(),
            container: ContainerRef {
                name: format!("shop-web-{number}"),
                id: Some(format!("web{number}")),
            },
            timeout: None,
        }
        .into(),
        cause: Cause::ScaleDown,
        after: Vec::new(),
        settled: Vec::new(),
        if_failed: None,
    };
    let observed = Observed::from_containers("shop", healthy_project());
    let desired = desired();
    dns.publish(&desired, &observed).await;
    assert_eq!(web_addresses(server).await, 3);
    // While a plan runs, a replica leaves the answers as its stop starts, the others stay.
    let view = PlanView::new(&dns, &desired, observed);
    view.operation_started(&stop(2));
    assert_eq!(web_addresses(server).await, 2);
    view.operation_started(&stop(3));
    assert_eq!(web_addresses(server).await, 1);
}

#[test]
fn a_listener_admits_only_its_network_or_the_host() {
    let network = Clients::Subnets(vec!["172.30.0.0/16".parse().unwrap()]);
    assert!(network.admits([172, 30, 4, 2].into()));
    assert!(!network.admits([172, 31, 0, 2].into()), "another network");
    assert!(!network.admits([8, 8, 8, 8].into()), "the outside world");
    assert!(Clients::Loopback.admits([127, 0, 0, 1].into()));
    assert!(!Clients::Loopback.admits([172, 30, 4, 2].into()));
}

/// A listener of the network `shop_front` bound on loopback, that admits `subnet` only.
async fn front_listener(dns: &Dns, subnet: &str) -> super::server::Listener {
    super::server::Listener::bind(
        "127.0.0.1:0".parse().unwrap(),
        super::table::Arrival::Network("shop_front".into()),
        Clients::Subnets(vec![subnet.parse().unwrap()]),
        dns.shared.clone(),
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn a_client_outside_the_network_is_refused_and_nothing_is_forwarded_for_it() {
    // The upstream would answer anything: a forwarded query would come back with its address.
    let (dns, _) = serve(healthy_project(), vec![fake_upstream().await]).await;
    // The client (127.0.0.1) is inside: the project's names and the world's are answered.
    let inside = front_listener(&dns, "127.0.0.0/8").await;
    assert_eq!(web_addresses(inside.address).await, 3);
    let world = udp(
        inside.address,
        &query("example.org.", RecordType::A, None),
        WAIT,
    )
    .await
    .unwrap();
    assert_eq!(
        world.answers().len(),
        1,
        "forwarded for a client of the network"
    );
    // Outside the network (a container of another project, a host beyond it): REFUSED for
    // the project's names and for the world's, with nothing in them.
    let outside = front_listener(&dns, "10.99.0.0/16").await;
    for name in ["web.", "web.shop.", "tasks.web.", "nosuch.", "example.org."] {
        let packet = query(name, RecordType::A, Some(4096));
        let reply = udp(outside.address, &packet, WAIT)
            .await
            .unwrap_or_else(|| panic!("no reply for {name}"));
        assert_eq!(reply.response_code(), ResponseCode::Refused, "{name}");
        assert!(
            reply.answers().is_empty() && reply.name_servers().is_empty(),
            "{name}"
        );
        assert!(!reply.recursion_available(), "{name}");
        let reply_size = reply.to_vec().unwrap().len();
        assert!(
            reply_size <= packet.len(),
            "{name}: {reply_size} > {}",
            packet.len()
        );
    }
    // Noise and responses from outside get nothing, as from inside.
    let mut response = Message::from_vec(&query("web.", RecordType::A, None)).unwrap();
    response.set_message_type(MessageType::Response);
    for packet in [vec![0xffu8; 40], response.to_vec().unwrap()] {
        assert!(
            udp(outside.address, &packet, Duration::from_millis(200))
                .await
                .is_none()
        );
    }
    // Over TCP, a client from outside is disconnected without an answer.
    let mut stream = TcpStream::connect(outside.address).await.unwrap();
    let packet = query("web.", RecordType::A, None);
    let mut framed = (packet.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(&packet);
    let _ = stream.write_all(&framed).await;
    let mut buffer = [0u8; 2];
    let read = tokio::time::timeout(WAIT, stream.read(&mut buffer)).await;
    assert!(
        matches!(read, Ok(Ok(0)) | Ok(Err(_))),
        "the connection is closed: {read:?}"
    );
}
