//! Names that are not the project's go to the host's resolvers, one after the other until one
//! answers, with a timeout per try and a cap on the queries in flight, so that a slow or dead
//! upstream cannot make the server hold an unbounded number of tasks.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::Semaphore;
use tokio::time::timeout;

/// How long one upstream gets to answer, as glibc's resolver waits by default (`timeout:5` is
/// its default; Docker's own resolver gives up sooner, so a shorter wait lets the next upstream
/// answer in time).
const TRY_TIMEOUT: Duration = Duration::from_secs(2);
/// Forwarded queries waiting for an upstream at once; past that, SERVFAIL at once.
const MAX_IN_FLIGHT: usize = 256;
/// The largest UDP reply read from an upstream.
const MAX_REPLY: usize = 65_535;

pub struct Forwarder {
    upstreams: Vec<SocketAddr>,
    in_flight: Arc<Semaphore>,
}

/// How the client asked, and so how the upstream is asked: a TCP client may take any size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Udp,
    Tcp,
}

impl Forwarder {
    pub fn new(upstreams: Vec<SocketAddr>) -> Forwarder {
        Forwarder {
            upstreams,
            in_flight: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
        }
    }

    /// The first upstream reply to `query`, tried in order; `None` when every upstream failed
    /// or timed out, or too many queries are in flight already.
    pub async fn forward(&self, query: &[u8], transport: Transport) -> Option<Vec<u8>> {
        let _permit = self.in_flight.clone().try_acquire_owned().ok()?;
        let id = query.get(..2)?;
        for upstream in &self.upstreams {
            let reply = match transport {
                Transport::Udp => timeout(TRY_TIMEOUT, ask_udp(*upstream, query, id)).await,
                Transport::Tcp => timeout(TRY_TIMEOUT, ask_tcp(*upstream, query)).await,
            };
            if let Ok(Ok(reply)) = reply {
                return Some(reply);
            }
        }
        None
    }
}

/// One UDP exchange on a fresh socket (a random source port per query, against spoofing);
/// replies that are not to this query's ID are ignored.
async fn ask_udp(upstream: SocketAddr, query: &[u8], id: &[u8]) -> std::io::Result<Vec<u8>> {
    let local: SocketAddr = match upstream.ip() {
        IpAddr::V4(_) => (std::net::Ipv4Addr::UNSPECIFIED, 0).into(),
        IpAddr::V6(_) => (std::net::Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let socket = UdpSocket::bind(local).await?;
    socket.connect(upstream).await?;
    socket.send(query).await?;
    let mut buffer = vec![0; MAX_REPLY];
    loop {
        let length = socket.recv(&mut buffer).await?;
        if buffer.get(..2) == Some(id) && length >= 12 {
            buffer.truncate(length);
            return Ok(buffer);
        }
    }
}

async fn ask_tcp(upstream: SocketAddr, query: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut stream = TcpStream::connect(upstream).await?;
    let length = u16::try_from(query.len()).map_err(std::io::Error::other)?;
    let mut framed = length.to_be_bytes().to_vec();
    framed.extend_from_slice(query);
    stream.write_all(&framed).await?;
    let length = stream.read_u16().await?;
    let mut reply = vec![0; usize::from(length)];
    stream.read_exact(&mut reply).await?;
    Ok(reply)
}

/// The `nameserver` lines of a resolv.conf, on port 53.
pub fn nameservers(resolv_conf: &str) -> Vec<SocketAddr> {
    resolv_conf
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            (words.next()? == "nameserver").then_some(())?;
            // A link-local IPv6 server carries a zone (`fe80::1%eth0`), which a socket
            // address cannot hold; such a server is left out.
            let address: IpAddr = words.next()?.parse().ok()?;
            Some(SocketAddr::new(address, 53))
        })
        .collect()
}

/// `1.1.1.1`, `127.0.0.1:5300`, `[::1]:53`, comma-separated (the `WHARF_DNS_UPSTREAM` form).
/// `WHARF_DNS_UPSTREAM`'s addresses; the error is the entry that is not one.
pub fn parse_upstreams(text: &str) -> Result<Vec<SocketAddr>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<SocketAddr>()
                .or_else(|_| s.parse::<IpAddr>().map(|ip| SocketAddr::new(ip, 53)))
                .map_err(|_| s.to_string())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolv_conf_gives_its_nameservers_on_port_53() {
        let text = "# generated\nsearch example.org\nnameserver 10.0.0.2\nnameserver ::1\nnameserver fe80::1%eth0\noptions ndots:2\n";
        let servers: Vec<String> = nameservers(text).iter().map(|s| s.to_string()).collect();
        assert_eq!(servers, ["10.0.0.2:53", "[::1]:53"]);
    }

    #[test]
    fn upstreams_take_an_optional_port() {
        let parsed = parse_upstreams("127.0.0.1:5300, 9.9.9.9").unwrap();
        let parsed: Vec<String> = parsed.iter().map(|s| s.to_string()).collect();
        assert_eq!(parsed, ["127.0.0.1:5300", "9.9.9.9:53"]);
        assert!(parse_upstreams("resolver").is_err());
    }
}
