//! One query in, one reply out: an answer from the table, or "forward it upstream". Pure
//! apart from the round-robin counters; the transports (`server`) encode and send.

use std::net::IpAddr;

use hickory_proto::op::{Edns, Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, PTR, SRV};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};

use super::scope::Scope;
use super::table::{Arrival, Entry, Family, ServiceTable};

/// The largest UDP reply wharf sends, whatever a client advertises (the usual safe EDNS size).
const MAX_UDP_PAYLOAD: u16 = 4096;
/// A UDP reply without EDNS fits in 512 bytes (RFC 1035).
const PLAIN_UDP_PAYLOAD: u16 = 512;

#[derive(Debug)]
pub enum Reply {
    Answer(Message),
    /// Not a project name: the upstream resolvers answer it, and when none does, the client
    /// gets `otherwise` (SERVFAIL).
    Forward {
        otherwise: Message,
    },
}

/// What the server does with a packet, and how large a UDP reply the client takes.
#[derive(Debug)]
pub struct PacketReply {
    pub reply: Reply,
    pub udp_limit: usize,
}

/// The reply to a packet of bytes from `client`; `None` for one that deserves no reply.
pub fn respond(
    packet: &[u8],
    arrival: &Arrival,
    client: IpAddr,
    table: &ServiceTable,
) -> Option<PacketReply> {
    match Message::from_vec(packet) {
        Ok(request) if request.message_type() == MessageType::Query => Some(PacketReply {
            reply: answer(&request, &table.scope(arrival, client), table),
            udp_limit: udp_limit(&request),
        }),
        // Never answer a response: that is how reflection loops start.
        Ok(_) => None,
        Err(_) => format_error(packet).map(|message| PacketReply {
            reply: Reply::Answer(message),
            udp_limit: usize::from(PLAIN_UDP_PAYLOAD),
        }),
    }
}

/// REFUSED for a query from a client that the listener does not serve (an address outside the
/// network it listens for, e.g. a container of another project): it learns nothing of the
/// project's names, nothing is forwarded for it, and the reply is no larger than its query
/// (a spoofed source gains nothing by reflection). `None` for noise and for responses.
pub fn refuse(packet: &[u8]) -> Option<PacketReply> {
    let request = Message::from_vec(packet).ok()?;
    if request.message_type() != MessageType::Query {
        return None;
    }
    let mut response = response_to(&request);
    response
        .set_recursion_available(false)
        .set_response_code(ResponseCode::Refused);
    Some(PacketReply {
        reply: Reply::Answer(response),
        udp_limit: usize::from(PLAIN_UDP_PAYLOAD),
    })
}

/// FORMERR for a packet that has a query's 12-byte header but does not parse; nothing for
/// noise.
fn format_error(packet: &[u8]) -> Option<Message> {
    let header = packet.get(..12)?;
    let is_query = header[2] & 0x80 == 0;
    is_query.then(|| {
        let id = u16::from_be_bytes([header[0], header[1]]);
        Message::error_msg(id, OpCode::Query, ResponseCode::FormErr)
    })
}

fn answer(request: &Message, names: &Scope, table: &ServiceTable) -> Reply {
    let mut response = response_to(request);
    if request.op_code() != OpCode::Query {
        response.set_response_code(ResponseCode::NotImp);
        return Reply::Answer(response);
    }
    let [query] = request.queries() else {
        response.set_response_code(ResponseCode::FormErr);
        return Reply::Answer(response);
    };
    if query.query_class() != DNSClass::IN {
        return forward(response);
    }
    let qname = query.name();
    let key = lookup_key(qname);
    if query.query_type() == RecordType::PTR {
        return match qname.parse_arpa_name().ok().map(|net| net.addr()) {
            Some(address) => match names.reverse(address) {
                Some(target) => {
                    let target = fqdn(target);
                    let rdata = RData::PTR(PTR(target));
                    response.add_answer(Record::from_rdata(qname.clone(), table.ttl, rdata));
                    Reply::Answer(authoritative(response))
                }
                None => forward(response),
            },
            None => forward(response),
        };
    }
    match names.get(&key) {
        Some(entry) => {
            add_records(&mut response, qname, query.query_type(), entry, table.ttl);
            Reply::Answer(authoritative(response))
        }
        None if is_ours(&key, table) => {
            response.set_response_code(ResponseCode::NXDomain);
            Reply::Answer(authoritative(response))
        }
        None => forward(response),
    }
}

fn forward(mut response: Message) -> Reply {
    response.set_response_code(ResponseCode::ServFail);
    Reply::Forward {
        otherwise: response,
    }
}

/// Names wharf is the authority for, even when this network has none of them: project names
/// and the names under them (a service on another network is NXDOMAIN here: networks stay
/// isolated; `_81._tcp.web` is NXDOMAIN when `web` has no port 81), anything under
/// `<project>.`, and single labels, which Docker's resolver would have answered itself if a
/// container or alias had that name (forwarding them would leak them to the upstream).
fn is_ours(key: &str, table: &ServiceTable) -> bool {
    let suffixes = std::iter::successors(Some(key), |k| k.split_once('.').map(|(_, rest)| rest));
    !key.contains('.')
        || suffixes
            .into_iter()
            .any(|suffix| table.knows(suffix) || suffix == table.project)
}

fn add_records(response: &mut Message, qname: &Name, qtype: RecordType, entry: &Entry, ttl: u32) {
    match (entry, qtype) {
        (Entry::Srv(targets), RecordType::SRV | RecordType::ANY) => {
            for target in targets {
                let srv = SRV::new(0, 1, target.port, fqdn(&target.name));
                response.add_answer(Record::from_rdata(qname.clone(), ttl, RData::SRV(srv)));
                for address in &target.addresses {
                    response.add_additional(address_record(fqdn(&target.name), *address, ttl));
                }
            }
        }
        (Entry::Srv(_), _) => {}
        (_, RecordType::A | RecordType::ANY) => {
            add_addresses(response, qname, entry, Family::V4, ttl)
        }
        (_, RecordType::AAAA) => add_addresses(response, qname, entry, Family::V6, ttl),
        // The name exists, with no record of that type: NOERROR and no answer (NODATA).
        _ => {}
    }
}

fn add_addresses(response: &mut Message, qname: &Name, entry: &Entry, family: Family, ttl: u32) {
    for address in entry.addresses(family) {
        response.add_answer(address_record(qname.clone(), address, ttl));
    }
}

fn address_record(name: Name, address: IpAddr, ttl: u32) -> Record {
    let rdata = match address {
        IpAddr::V4(v4) => RData::A(A(v4)),
        IpAddr::V6(v6) => RData::AAAA(AAAA(v6)),
    };
    Record::from_rdata(name, ttl, rdata)
}

/// A reply to `request`: same ID, question, opcode and RD flag; EDNS when the client used it.
fn response_to(request: &Message) -> Message {
    let mut response = Message::new();
    response
        .set_id(request.id())
        .set_message_type(MessageType::Response)
        .set_op_code(request.op_code())
        .set_recursion_desired(request.recursion_desired())
        .set_recursion_available(true)
        .add_queries(request.queries().iter().cloned());
    if request.extensions().is_some() {
        let mut edns = Edns::new();
        edns.set_max_payload(MAX_UDP_PAYLOAD);
        response.set_edns(edns);
    }
    response
}

fn authoritative(mut response: Message) -> Message {
    response.set_authoritative(true);
    response
}

/// The table's key for a query name: lowercase, without the trailing dot.
fn lookup_key(name: &Name) -> String {
    let mut key = name.to_ascii();
    key.make_ascii_lowercase();
    if key.ends_with('.') {
        key.pop();
    }
    key
}

/// A table name as an absolute DNS name; table names are valid labels, as the engine's
/// container names are.
fn fqdn(name: &str) -> Name {
    let mut name = Name::from_ascii(name).unwrap_or_default();
    name.set_fqdn(true);
    name
}

/// The largest reply a client takes over UDP: its EDNS size (at least 512, at most
/// [`MAX_UDP_PAYLOAD`]), else 512.
fn udp_limit(request: &Message) -> usize {
    let advertised = request
        .extensions()
        .as_ref()
        .map_or(PLAIN_UDP_PAYLOAD, Edns::max_payload);
    usize::from(advertised.clamp(PLAIN_UDP_PAYLOAD, MAX_UDP_PAYLOAD))
}

/// The reply's bytes, cut down to the question with TC set when they exceed `limit`, so that
/// the client asks again over TCP.
pub fn encode(response: &Message, limit: usize) -> Option<Vec<u8>> {
    let bytes = response.to_vec().ok()?;
    if bytes.len() <= limit {
        return Some(bytes);
    }
    response.truncate().to_vec().ok()
}
