//! The listeners: UDP and TCP on one address each, answering from the current table. A query
//! is answered inline from the table (no lock, no await but the send); only forwarded queries
//! become tasks, and those are capped, so a flood or a dead upstream never stalls the rest.
//!
//! UDP is served by plain threads blocked in `recv_from`, one per core, each on its own socket
//! of one `SO_REUSEPORT` group: the kernel spreads clients over the sockets and wakes a thread
//! straight into the answer, where an async loop would go through the runtime's reactor and a
//! task wake-up first (that hop is most of the latency of a query answered from memory), and
//! threads sharing one socket would contend for its queue. TCP, rarer and connection-bound,
//! stays on the runtime.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use arc_swap::ArcSwap;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::timeout;

use super::answer::{self, PacketReply, Reply};
use super::forward::{Forwarder, Transport};
use super::table::{Arrival, ServiceTable};

/// A UDP query larger than this is not a query wharf answers.
const MAX_QUERY: usize = 4096;
/// How long a UDP thread waits for a datagram before it looks whether its listener is gone.
const UDP_POLL: Duration = Duration::from_millis(100);
/// TCP connections served at once per listener; more wait in the kernel's backlog.
const MAX_TCP_CONNECTIONS: usize = 64;
/// A TCP client that sends nothing for this long is disconnected (RFC 7766 suggests seconds).
const TCP_IDLE: Duration = Duration::from_secs(10);

/// Who may ask a listener: a network's listener answers only addresses of that network, the
/// loopback listener only the host's own processes; any other client gets REFUSED over UDP
/// (a TCP connection from it is closed at once). wharf is not an open resolver.
#[derive(Debug, Clone)]
pub enum Clients {
    Subnets(Vec<ipnet::IpNet>),
    Loopback,
}

impl Clients {
    pub(super) fn admits(&self, source: IpAddr) -> bool {
        match self {
            Clients::Subnets(subnets) => subnets.iter().any(|s| s.contains(&source)),
            Clients::Loopback => source.is_loopback(),
        }
    }
}

/// What every listener shares: the table (swapped whole by `publish`) and the forwarder.
pub struct Shared {
    pub table: ArcSwap<ServiceTable>,
    pub forwarder: Forwarder,
}

/// A UDP socket and a TCP listener on one address; dropping it stops both.
pub struct Listener {
    pub address: SocketAddr,
    /// The accept loop: a `JoinSet` aborts its tasks when dropped.
    _tasks: JoinSet<()>,
    _udp: UdpThreads,
}

/// The UDP receive threads of one listener: dropped, it tells them to end (each does within
/// [`UDP_POLL`], and the socket closes with the last one).
struct UdpThreads {
    closed: Arc<AtomicBool>,
}

impl UdpThreads {
    /// One thread on `first`, and one more per further core on sockets bound to its address.
    fn spawn(first: std::net::UdpSocket, door: Arc<Door>) -> std::io::Result<UdpThreads> {
        let address = first.local_addr()?;
        let workers = std::thread::available_parallelism().map_or(1, usize::from);
        let mut sockets = vec![first];
        for _ in 1..workers {
            sockets.push(reuse_port_socket(address)?);
        }
        let closed = Arc::new(AtomicBool::new(false));
        let runtime = tokio::runtime::Handle::current();
        for socket in sockets {
            socket.set_read_timeout(Some(UDP_POLL))?;
            let socket = Arc::new(socket);
            let (door, closed, runtime) = (door.clone(), closed.clone(), runtime.clone());
            std::thread::Builder::new()
                .name("wharf-dns-udp".into())
                .spawn(move || serve_udp(&socket, &door, &closed, &runtime))?;
        }
        Ok(UdpThreads { closed })
    }
}

impl Drop for UdpThreads {
    fn drop(&mut self) {
        self.closed.store(true, Ordering::Relaxed);
    }
}

impl Listener {
    /// Binds UDP and TCP on `address` (both or neither) and serves them.
    pub async fn bind(
        address: SocketAddr,
        arrival: Arrival,
        clients: Clients,
        shared: Arc<Shared>,
    ) -> std::io::Result<Listener> {
        let udp = reuse_port_socket(address)?;
        // TCP on the port UDP got (the same one, or the one the kernel chose for port 0).
        let address = udp.local_addr()?;
        let tcp = TcpListener::bind(address).await?;
        let door = Arc::new(Door {
            arrival,
            clients,
            shared,
        });
        let udp = UdpThreads::spawn(udp, door.clone())?;
        let mut tasks = JoinSet::new();
        tasks.spawn(serve_tcp(tcp, door));
        Ok(Listener {
            address,
            _tasks: tasks,
            _udp: udp,
        })
    }
}

/// One listener's view: where its queries arrive and who may send them.
struct Door {
    arrival: Arrival,
    clients: Clients,
    shared: Arc<Shared>,
}

impl Door {
    fn respond_to(&self, source: IpAddr, packet: &[u8]) -> Option<PacketReply> {
        if !self.clients.admits(source) {
            return answer::refuse(packet);
        }
        answer::respond(packet, &self.arrival, source, &self.shared.table.load())
    }
}

/// A UDP socket bound to `address` in its `SO_REUSEPORT` group. Only sockets that all ask for
/// the option share a port: one held by any other program still makes the bind fail.
fn reuse_port_socket(address: SocketAddr) -> std::io::Result<std::net::UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(
        Domain::for_address(address),
        Type::DGRAM,
        Some(Protocol::UDP),
    )?;
    socket.set_reuse_port(true)?;
    socket.bind(&address.into())?;
    Ok(socket.into())
}

/// One UDP receive thread, until its listener is dropped. Forwarded queries go to the
/// runtime as tasks; their answers are sent from there on the same socket.
fn serve_udp(
    socket: &Arc<std::net::UdpSocket>,
    door: &Arc<Door>,
    closed: &AtomicBool,
    runtime: &tokio::runtime::Handle,
) {
    let mut buffer = vec![0; MAX_QUERY];
    while !closed.load(Ordering::Relaxed) {
        // A timeout, or an error about one datagram (or the ICMP after one): the next may be fine.
        let Ok((length, source)) = socket.recv_from(&mut buffer) else {
            continue;
        };
        let packet = &buffer[..length];
        let Some(PacketReply { reply, udp_limit }) = door.respond_to(source.ip(), packet) else {
            continue;
        };
        match reply {
            Reply::Answer(message) => {
                if let Some(bytes) = answer::encode(&message, udp_limit) {
                    let _ = socket.send_to(&bytes, source);
                }
            }
            Reply::Forward { otherwise } => {
                let (socket, door, query) = (socket.clone(), door.clone(), packet.to_vec());
                runtime.spawn(async move {
                    let forwarded = door.shared.forwarder.forward(&query, Transport::Udp).await;
                    let bytes = forwarded.or_else(|| answer::encode(&otherwise, udp_limit));
                    if let Some(bytes) = bytes {
                        // A datagram send does not wait for the peer: no need for the reactor.
                        let _ = socket.send_to(&bytes, source);
                    }
                });
            }
        }
    }
}

async fn serve_tcp(listener: TcpListener, door: Arc<Door>) {
    let connections = Arc::new(Semaphore::new(MAX_TCP_CONNECTIONS));
    loop {
        let Ok(permit) = connections.clone().acquire_owned().await else {
            return;
        };
        let Ok((stream, source)) = listener.accept().await else {
            continue;
        };
        if !door.clients.admits(source.ip()) {
            continue;
        }
        let door = door.clone();
        tokio::spawn(async move {
            let _ = serve_connection(stream, source.ip(), &door).await;
            drop(permit);
        });
    }
}

/// Length-prefixed queries, answered in order, until the client closes or goes quiet.
async fn serve_connection(
    mut stream: TcpStream,
    source: IpAddr,
    door: &Door,
) -> std::io::Result<()> {
    loop {
        let length = match timeout(TCP_IDLE, stream.read_u16()).await {
            Ok(length) => usize::from(length?),
            Err(_) => return Ok(()),
        };
        let mut query = vec![0; length];
        timeout(TCP_IDLE, stream.read_exact(&mut query))
            .await
            .map_err(std::io::Error::other)??;
        let Some(PacketReply { reply, .. }) = door.respond_to(source, &query) else {
            return Ok(());
        };
        let bytes = match reply {
            Reply::Answer(message) => answer::encode(&message, usize::from(u16::MAX)),
            Reply::Forward { otherwise } => {
                let forwarded = door.shared.forwarder.forward(&query, Transport::Tcp).await;
                forwarded.or_else(|| answer::encode(&otherwise, usize::from(u16::MAX)))
            }
        };
        let Some(bytes) = bytes else {
            return Ok(());
        };
        let length = u16::try_from(bytes.len()).map_err(std::io::Error::other)?;
        let mut framed = length.to_be_bytes().to_vec();
        framed.extend_from_slice(&bytes);
        stream.write_all(&framed).await?;
    }
}
