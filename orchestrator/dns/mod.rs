//! wharf's DNS: service names resolve to the replicas that may take traffic, rotated on every
//! query, with SRV, `tasks.<service>` and PTR; other names go to the host's resolvers. It
//! listens on the gateway of every project network (containers reach it through Docker's
//! resolver, which forwards the names it does not know to the container's `dns`), and on a
//! loopback address if asked. The supervisor publishes a new table after every observe.

mod answer;
#[cfg(test)]
mod answer_tests;
mod forward;
mod scope;
#[cfg(test)]
mod scope_tests;
mod server;
#[cfg(test)]
mod server_tests;
mod table;

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;

use forward::{Forwarder, nameservers, parse_upstreams};
use server::{Clients, Listener, Shared};
use table::{Arrival, ServiceTable, build};

use crate::desired::Desired;
use crate::engine::{EngineContainer, EngineNetwork};
use crate::observe::Observed;
use crate::plan::{EngineCall, Operation};

/// The port Docker's resolver forwards to.
pub const PORT: u16 = 53;
/// The longest TTL wharf gives: a client that caches an answer must not keep a gone replica
/// for long.
pub const MAX_TTL: u32 = 5;

/// How the DNS is set up, from the environment: `WHARF_DNS_LISTEN` (a loopback address and
/// port for tools on the host), `WHARF_DNS_TTL` (seconds, at most 5, default 1),
/// `WHARF_DNS_UPSTREAM` (the resolvers for other names, instead of /etc/resolv.conf's).
#[derive(Debug, Clone)]
pub struct DnsConfig {
    pub ttl: u32,
    pub loopback: Option<SocketAddr>,
    pub upstreams: Vec<SocketAddr>,
}

/// A `WHARF_DNS_*` variable that does not parse, with the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DnsConfigError {
    #[error("WHARF_DNS_TTL={0:?}: write a number of seconds from 0 to {MAX_TTL}")]
    Ttl(String),
    #[error("WHARF_DNS_LISTEN={0:?}: write a loopback address and port, such as 127.0.0.1:5353")]
    Listen(String),
    #[error("WHARF_DNS_UPSTREAM: {0:?} is not an address (write IP or IP:PORT)")]
    Upstream(String),
}

impl DnsConfig {
    pub fn from_env() -> Result<DnsConfig, DnsConfigError> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let ttl = match var("WHARF_DNS_TTL") {
            Some(text) => text
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|t| *t <= MAX_TTL)
                .ok_or(DnsConfigError::Ttl(text))?,
            None => 1,
        };
        let loopback = match var("WHARF_DNS_LISTEN") {
            Some(text) => Some(loopback_address(&text)?),
            None => None,
        };
        let upstreams = match var("WHARF_DNS_UPSTREAM") {
            Some(text) => parse_upstreams(&text).map_err(DnsConfigError::Upstream)?,
            None => nameservers(&std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default()),
        };
        Ok(DnsConfig {
            ttl,
            loopback,
            upstreams,
        })
    }
}

fn loopback_address(text: &str) -> Result<SocketAddr, DnsConfigError> {
    match text.trim().parse::<SocketAddr>() {
        Ok(address) if address.ip().is_loopback() => Ok(address),
        _ => Err(DnsConfigError::Listen(text.to_string())),
    }
}

/// The running DNS of one project: its listeners and the table they answer from.
pub struct Dns {
    shared: Arc<Shared>,
    ttl: u32,
    /// By network name.
    listeners: HashMap<String, Listener>,
    loopback: Option<Listener>,
}

impl Dns {
    /// Listens on the loopback address if configured and on port 53 of every network's
    /// gateway; fails, naming the address, if any of them cannot be bound.
    pub async fn start(config: &DnsConfig, networks: &[&EngineNetwork]) -> Result<Dns, String> {
        let shared = Arc::new(Shared {
            table: ArcSwap::from_pointee(ServiceTable::default()),
            forwarder: Forwarder::new(config.upstreams.clone()),
        });
        let loopback = match config.loopback {
            Some(address) => {
                let bound =
                    Listener::bind(address, Arrival::Host, Clients::Loopback, shared.clone());
                Some(
                    bound
                        .await
                        .map_err(|e| format!("cannot listen on {address}: {e}"))?,
                )
            }
            None => None,
        };
        let mut dns = Dns {
            shared,
            ttl: config.ttl,
            listeners: HashMap::new(),
            loopback,
        };
        dns.listen(networks).await?;
        Ok(dns)
    }

    /// Listens on the gateways of these networks too; fails, naming the address, if one of
    /// them cannot be bound.
    pub async fn listen(&mut self, networks: &[&EngineNetwork]) -> Result<(), String> {
        for network in networks {
            self.listen_on(network).await?;
        }
        Ok(())
    }

    /// The loopback listener's address (its port, when `:0` was asked for).
    pub fn loopback(&self) -> Option<SocketAddr> {
        self.loopback.as_ref().map(|l| l.address)
    }

    /// Answers from now on with the state in `observed`, and listens on project networks that
    /// appeared since: the file's, and those another compose file of the project made, whose
    /// containers ask their gateway too.
    pub async fn publish(&mut self, desired: &Desired, observed: &Observed) {
        self.answer(desired, observed, &HashSet::new());
        for network in observed.networks.values() {
            if let Err(err) = self.listen_on(&network.engine).await {
                tracing::warn!("dns: {err}");
            }
        }
    }

    /// Answers from now on with the state in `observed`, leaving out the containers (by ID)
    /// in `leaving`.
    pub fn answer(&self, desired: &Desired, observed: &Observed, leaving: &HashSet<String>) {
        let previous = self.shared.table.load();
        let table = build(desired, observed, leaving, self.ttl, &previous);
        self.shared.table.store(Arc::new(table));
    }

    /// A listener on the network's gateway, unless it has one already on that address.
    async fn listen_on(&mut self, network: &EngineNetwork) -> Result<(), String> {
        let Some(gateway) = network.gateway_v4() else {
            return Ok(());
        };
        let address = SocketAddr::new(gateway, PORT);
        if self.listeners.get(&network.name).map(|l| l.address) == Some(address) {
            return Ok(());
        }
        // A network recreated with another subnet: its old listener goes first.
        self.listeners.remove(&network.name);
        let clients = Clients::Subnets(network.pools.iter().map(|p| p.subnet).collect());
        let arrival = Arrival::Network(network.name.clone());
        let listener = Listener::bind(address, arrival, clients, self.shared.clone())
            .await
            .map_err(|e| format!("cannot listen on {address}: {e}"))?;
        self.listeners.insert(network.name.clone(), listener);
        Ok(())
    }
}

/// The query handler without its sockets, for the fuzz targets in `fuzz/`: a table built from
/// a desired and an observed state as [`Dns::answer`] builds it, and packets decided and encoded
/// as the listeners do. It adds no behaviour.
#[doc(hidden)]
pub struct Fuzzing(ServiceTable);

impl Fuzzing {
    pub fn new(desired: &Desired, observed: &Observed) -> Fuzzing {
        Fuzzing(build(
            desired,
            observed,
            &HashSet::new(),
            1,
            &ServiceTable::default(),
        ))
    }

    /// The reply to `packet` arriving on `network` (on the host's listener with `None`), from a
    /// client the listener serves (`inside`, at `client`) or not.
    pub fn reply(
        &self,
        packet: &[u8],
        network: Option<&str>,
        client: IpAddr,
        inside: bool,
    ) -> Option<Vec<u8>> {
        let arrival = network.map_or(Arrival::Host, |name| Arrival::Network(name.to_string()));
        let reply = if inside {
            answer::respond(packet, &arrival, client, &self.0)?
        } else {
            answer::refuse(packet)?
        };
        let message = match reply.reply {
            answer::Reply::Answer(message) => message,
            answer::Reply::Forward { otherwise } => otherwise,
        };
        answer::encode(&message, reply.udp_limit)
    }
}

/// What the DNS answers while a plan runs: the last observed state, without the containers the
/// plan has begun to stop or remove. A container leaves the answers when its stop starts, not
/// when the plan starts: during a rolling update, the replicas of later batches keep serving.
pub struct PlanView<'a> {
    dns: &'a Dns,
    desired: &'a Desired,
    state: Mutex<(Observed, HashSet<String>)>,
}

impl<'a> PlanView<'a> {
    pub fn new(dns: &'a Dns, desired: &'a Desired, observed: Observed) -> PlanView<'a> {
        PlanView {
            dns,
            desired,
            state: Mutex::new((observed, HashSet::new())),
        }
    }

    /// An operation is about to run: a container it stops or removes leaves the answers now.
    pub fn operation_started(&self, op: &Operation) {
        if let Some(
            EngineCall::StopContainer { container, .. }
            | EngineCall::RemoveContainer { container, .. },
        ) = op.action.engine_call()
            && let Some(id) = &container.id
        {
            let mut state = self.state.lock().expect("plan view lock");
            state.1.insert(id.clone());
            self.dns.answer(self.desired, &state.0, &state.1);
        }
    }

    /// The project's containers were listed again while the plan runs (its networks, volumes
    /// and images are as last observed).
    pub fn containers(&self, containers: Vec<EngineContainer>) {
        let mut state = self.state.lock().expect("plan view lock");
        let listed = Observed::from_containers(&state.0.project, containers);
        state.0.services = listed.services;
        state.0.oneoff = listed.oneoff;
        self.dns.answer(self.desired, &state.0, &state.1);
    }
}
