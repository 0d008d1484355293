//! Whose names a client sees. Docker's resolver looks a name up on every network of the
//! container that asks, one network after the other in name order (internal networks last),
//! and answers from the first that has it: a container on `back` and `front` finds `db` (on
//! `back` only) and gets `web`'s `back` addresses. wharf's DNS hears the query on one network
//! (the gateway of the client's first one), so it finds the client by its address there and
//! looks the name up the same way.

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;

use super::table::{Entry, Names};
use crate::engine::{ContainerState, EngineContainer};
use crate::observe::{Observed, ObservedContainer};

/// Every running container of the project (replicas of any compose file, one-offs), by network
/// and its address there: the networks it is on, in the order Docker's resolver tries them.
#[derive(Debug, Clone, Default)]
pub struct Attachments {
    by_network: HashMap<String, HashMap<IpAddr, Vec<String>>>,
}

impl Attachments {
    pub fn of(observed: &Observed) -> Attachments {
        let mut attachments = Attachments::default();
        let containers = observed.services.values().flatten();
        let running = containers
            .chain(&observed.oneoff)
            .filter(|c| c.state == ContainerState::Running);
        let internal = |network: &String| {
            observed
                .networks
                .get(network)
                .is_some_and(|n| n.engine.settings.internal)
        };
        for container in running {
            let mut networks: Vec<String> = networks_of(&container.engine).into_iter().collect();
            // Docker 20.10 tries internal networks last (a stable sort keeps the name order).
            networks.sort_by_key(internal);
            attachments.add(container, networks);
        }
        attachments
    }

    fn add(&mut self, container: &ObservedContainer, networks: Vec<String>) {
        let engine = &container.engine;
        for (network, address) in engine.addresses.iter().chain(&engine.addresses_v6) {
            if let Ok(address) = address.parse() {
                let on_network = self.by_network.entry(network.clone()).or_default();
                on_network.insert(address, networks.clone());
            }
        }
    }

    /// The networks of the container that has `address` on `network`, in lookup order.
    pub fn networks(&self, network: &str, address: IpAddr) -> Option<&[String]> {
        let networks = self.by_network.get(network)?.get(&address)?;
        Some(networks)
    }
}

/// The networks a container has an address on, in name order: the order Docker 20.10's
/// resolver tries them in (internal ones aside), whatever the order they were connected in.
pub fn networks_of(engine: &EngineContainer) -> BTreeSet<String> {
    let v4 = engine.addresses.keys();
    v4.chain(engine.addresses_v6.keys()).cloned().collect()
}

/// The names one client sees: the views of its networks, in lookup order.
pub struct Scope<'a> {
    pub(super) views: Vec<&'a Names>,
}

impl<'a> Scope<'a> {
    pub fn get(&self, name: &str) -> Option<&'a Entry> {
        self.views.iter().find_map(|view| view.get(name))
    }

    pub fn reverse(&self, address: IpAddr) -> Option<&'a str> {
        self.views.iter().find_map(|view| view.reverse(address))
    }
}
