//! The names wharf's DNS answers, for each project network: built from the desired and the
//! observed state by a pure function, and replaced whole after every observe, so a query reads
//! one consistent snapshot and never waits for the supervisor.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::scope::{Attachments, Scope, networks_of};
use crate::desired::{ContainerSpec, Desired};
use crate::engine::{ContainerState, Health};
use crate::observe::{Observed, ObservedContainer};

/// Where a query arrived: on a project network's gateway, or on the host's loopback listener.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Arrival {
    /// The engine name of the network.
    Network(String),
    /// The host sees every service, each on its first network.
    Host,
}

/// What a name stands for, on one network.
#[derive(Debug, Clone)]
pub enum Entry {
    /// `web`, `web.<project>`: the replicas that may take traffic, rotated on every query.
    Service {
        addresses: Vec<IpAddr>,
        turns: Arc<Turns>,
    },
    /// `tasks.web`, `1.web`, `<project>-web-1`: addresses in a fixed order.
    Addresses(Vec<IpAddr>),
    /// `_80._tcp.web`: one target per replica that may take traffic.
    Srv(Vec<SrvTarget>),
}

/// The round-robin counters of a service name, one per address family: a client asks for A
/// and AAAA on every lookup, and one shared counter would move by two each time (with two
/// replicas, never moving at all as the client sees it).
#[derive(Debug, Default)]
pub struct Turns {
    v4: AtomicUsize,
    v6: AtomicUsize,
}

/// Which addresses a query asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    fn of(address: &IpAddr) -> Family {
        match address {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }
}

impl Entry {
    /// The entry's addresses of one family; a service's are rotated by one more position on
    /// each call that has some to give.
    pub fn addresses(&self, family: Family) -> Vec<IpAddr> {
        match self {
            Entry::Service { addresses, turns } => {
                let mut chosen = of_family(addresses, family);
                if !chosen.is_empty() {
                    let turn = match family {
                        Family::V4 => &turns.v4,
                        Family::V6 => &turns.v6,
                    };
                    let start = turn.fetch_add(1, Ordering::Relaxed) % chosen.len();
                    chosen.rotate_left(start);
                }
                chosen
            }
            Entry::Addresses(addresses) => of_family(addresses, family),
            Entry::Srv(_) => Vec::new(),
        }
    }
}

fn of_family(addresses: &[IpAddr], family: Family) -> Vec<IpAddr> {
    let wanted = addresses.iter().filter(|a| Family::of(a) == family);
    wanted.copied().collect()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SrvTarget {
    /// The replica's container name, which resolves to `addresses`.
    pub name: String,
    pub port: u16,
    pub addresses: Vec<IpAddr>,
}

/// The names of one network (or of the host's view).
#[derive(Debug, Clone, Default)]
pub struct Names {
    /// By lowercase name, without the trailing dot.
    entries: HashMap<String, Entry>,
    /// Replica address → its container name, for PTR.
    reverse: HashMap<IpAddr, String>,
}

impl Names {
    pub fn get(&self, name: &str) -> Option<&Entry> {
        self.entries.get(name)
    }

    pub fn reverse(&self, address: IpAddr) -> Option<&str> {
        self.reverse.get(&address).map(String::as_str)
    }
}

#[derive(Debug, Clone, Default)]
pub struct ServiceTable {
    /// The project name, lowercase: `<service>.<project>` and anything under it is ours.
    pub project: String,
    /// The TTL of every answer, in seconds.
    pub ttl: u32,
    views: HashMap<Arrival, Names>,
    /// The networks of every running container, to look a name up as Docker would for it.
    attachments: Attachments,
    /// Every name some network answers: on a network that lacks it, it does not exist.
    known: HashSet<String>,
}

impl ServiceTable {
    /// What `client` sees when its query arrives on `arrival`: the names of all its networks
    /// when it is a container of the project, else the names of the network it asked on.
    pub fn scope(&self, arrival: &Arrival, client: IpAddr) -> Scope<'_> {
        let networks = match arrival {
            Arrival::Network(network) => self.attachments.networks(network, client),
            Arrival::Host => None,
        };
        let views = match networks {
            Some(networks) => networks
                .iter()
                .filter_map(|n| self.views.get(&Arrival::Network(n.clone())))
                .collect(),
            None => self.views.get(arrival).into_iter().collect(),
        };
        Scope { views }
    }

    /// Whether the name belongs to the project on some network.
    pub fn knows(&self, name: &str) -> bool {
        self.known.contains(name)
    }

    /// The rotation counter of a service name, kept across tables so that a republish does
    /// not restart the round robin.
    fn turns(&self, arrival: &Arrival, name: &str) -> Option<Arc<Turns>> {
        match self.views.get(arrival)?.entries.get(name)? {
            Entry::Service { turns, .. } => Some(turns.clone()),
            _ => None,
        }
    }
}

/// The table for `observed`. Containers in `leaving` (about to be stopped or removed) no
/// longer take traffic; `previous` lends its rotation counters.
pub fn build(
    desired: &Desired,
    observed: &Observed,
    leaving: &HashSet<String>,
    ttl: u32,
    previous: &ServiceTable,
) -> ServiceTable {
    let project = desired.project.to_ascii_lowercase();
    let mut table = ServiceTable {
        project: project.clone(),
        ttl,
        ..ServiceTable::default()
    };
    for service in named_services(desired, observed) {
        for (index, network) in service.networks.iter().enumerate() {
            let mut arrivals = vec![Arrival::Network(network.clone())];
            if index == 0 {
                arrivals.push(Arrival::Host);
            }
            for arrival in arrivals {
                let names = ServiceNames {
                    project: &project,
                    service: &service,
                    network,
                    leaving,
                };
                let view = table.views.entry(arrival.clone()).or_default();
                names.add_to(view, |name| previous.turns(&arrival, name));
            }
        }
    }
    table.attachments = Attachments::of(observed);
    table.known = table
        .views
        .values()
        .flat_map(|v| v.entries.keys().cloned())
        .collect();
    table
}

/// A service the table names: one of the compose file's, or one of the same project that
/// another compose file started (`-p` shared across directories), known from its containers
/// alone, as Docker's aliases know it.
struct NamedService<'a> {
    name: &'a str,
    /// The networks it is on; the host sees it on the first.
    networks: Vec<String>,
    /// The ports its SRV names give, as (container port, `tcp`/`udp`).
    ports: Vec<(u16, String)>,
    replicas: &'a [ObservedContainer],
}

/// The file's services, then every other service of the project that has a running container
/// (its name resolves under compose for as long as one runs, on the networks they are on).
fn named_services<'a>(desired: &'a Desired, observed: &'a Observed) -> Vec<NamedService<'a>> {
    let replicas_of = |name: &str| {
        observed
            .services
            .get(name)
            .map(Vec::as_slice)
            .unwrap_or_default()
    };
    let own = desired.services.values().map(|service| NamedService {
        name: &service.name,
        networks: service
            .container
            .networks
            .iter()
            .map(|n| n.network.clone())
            .collect(),
        ports: ports(&service.container),
        replicas: replicas_of(&service.name),
    });
    let others = observed
        .services
        .iter()
        .filter(|(name, _)| !desired.services.contains_key(name.as_str()))
        .filter_map(|(name, replicas)| {
            let networks: BTreeSet<String> = replicas
                .iter()
                .filter(|c| is_serving(c))
                .flat_map(|c| networks_of(&c.engine))
                .collect();
            (!networks.is_empty()).then(|| NamedService {
                name,
                networks: networks.into_iter().collect(),
                ports: Vec::new(),
                replicas,
            })
        });
    own.chain(others).collect()
}

/// The ports a service exposes or publishes, as (container port, `tcp`/`udp`), once.
fn ports(spec: &ContainerSpec) -> Vec<(u16, String)> {
    let published = spec
        .ports
        .iter()
        .map(|p| (p.container_port, p.protocol.to_ascii_lowercase()));
    let exposed = spec.exposed.iter().filter_map(|e| {
        let (port, protocol) = e.split_once('/').unwrap_or((e, "tcp"));
        Some((port.parse().ok()?, protocol.to_ascii_lowercase()))
    });
    let mut ports: Vec<(u16, String)> = Vec::new();
    for port in published.chain(exposed) {
        if !ports.contains(&port) {
            ports.push(port);
        }
    }
    ports
}

/// The names one service has on one network.
struct ServiceNames<'a> {
    project: &'a str,
    service: &'a NamedService<'a>,
    network: &'a str,
    leaving: &'a HashSet<String>,
}

impl ServiceNames<'_> {
    fn add_to(&self, view: &mut Names, turns: impl Fn(&str) -> Option<Arc<Turns>>) {
        let service = self.service.name.to_ascii_lowercase();
        let serving: Vec<&ObservedContainer> = self
            .service
            .replicas
            .iter()
            .filter(|c| self.takes_traffic(c))
            .collect();
        let turns = turns(&service).unwrap_or_default();
        let addresses = serving.iter().flat_map(|c| self.addresses(c)).collect();
        let entry = Entry::Service { addresses, turns };
        // Docker's resolver also answers `<alias>.<network>`; the rotation is the service's.
        let on_network = format!("{service}.{}", self.network.to_ascii_lowercase());
        view.entries.insert(on_network, entry.clone());
        self.insert(view, &service, entry);
        let running = self.service.replicas.iter().filter(|c| is_serving(c));
        let tasks = running.flat_map(|c| self.addresses(c)).collect();
        self.insert(view, &format!("tasks.{service}"), Entry::Addresses(tasks));
        for replica in self.service.replicas {
            let addresses = match is_serving(replica) {
                true => self.addresses(replica),
                false => Vec::new(),
            };
            let name = replica.name.to_ascii_lowercase();
            for address in &addresses {
                view.reverse.insert(*address, name.clone());
            }
            let entry = Entry::Addresses(addresses);
            let number = format!("{}.{service}", replica.number());
            self.insert(view, &number, entry.clone());
            view.entries.insert(name, entry);
        }
        for (port, protocol) in &self.service.ports {
            let port = *port;
            let targets = serving
                .iter()
                .map(|c| SrvTarget {
                    name: c.name.to_ascii_lowercase(),
                    port,
                    addresses: self.addresses(c),
                })
                .filter(|t| !t.addresses.is_empty())
                .collect();
            let name = format!("_{port}._{protocol}.{service}");
            self.insert(view, &name, Entry::Srv(targets));
        }
    }

    /// A name, and the same under the project (`web` and `web.shop`).
    fn insert(&self, view: &mut Names, name: &str, entry: Entry) {
        view.entries
            .insert(format!("{name}.{}", self.project), entry.clone());
        view.entries.insert(name.to_string(), entry);
    }

    /// Running, healthy when it has a healthcheck, and not about to be stopped.
    fn takes_traffic(&self, container: &ObservedContainer) -> bool {
        is_serving(container)
            && matches!(container.health, None | Some(Health::Healthy))
            && !self.leaving.contains(&container.id)
    }

    /// The container's addresses on the network: IPv4, then IPv6 where the network has it.
    fn addresses(&self, container: &ObservedContainer) -> Vec<IpAddr> {
        let engine = &container.engine;
        [&engine.addresses, &engine.addresses_v6]
            .into_iter()
            .filter_map(|by_network| by_network.get(self.network)?.parse().ok())
            .collect()
    }
}

/// Only a running replica has an address to answer with: not one that is restarting.
fn is_serving(container: &ObservedContainer) -> bool {
    container.state == ContainerState::Running
}
