//! `wharf port SERVICE PRIVATE_PORT`: the public address a container port is published on.

use std::process::ExitCode;

use clap::Args;

use super::GlobalArgs;
use super::error::CliError;
use super::session::Session;
use crate::observe::ObservedContainer;

#[derive(Debug, Args)]
pub struct PortArgs {
    /// tcp or udp
    #[arg(long, default_value = "tcp")]
    pub protocol: String,
    /// Index of the container if service has multiple replicas
    #[arg(long, default_value_t = 1)]
    pub index: u32,
    pub service: String,
    pub private_port: u16,
}

pub async fn run(global: &GlobalArgs, args: &PortArgs) -> Result<ExitCode, CliError> {
    let session = Session::open(global).await?;
    let observed = session.observe().await?;
    session.check_services(std::slice::from_ref(&args.service), &observed)?;
    let container = observed
        .services
        .get(&args.service)
        .into_iter()
        .flatten()
        .find(|c| c.number() == args.index && super::each::has_process(c))
        .ok_or_else(|| {
            CliError::Message(format!(
                "service {:?} is not running container #{}",
                args.service, args.index
            ))
        })?;
    let private = format!("{}/{}", args.private_port, args.protocol);
    match published(container, &private) {
        Some(address) => {
            println!("{address}");
            Ok(ExitCode::SUCCESS)
        }
        None => {
            let ports: Vec<String> = container
                .engine
                .ports
                .iter()
                .filter_map(|p| {
                    let (public, private) = split(p)?;
                    let protocol = private.split('/').nth(1)?;
                    Some(format!("{}/{protocol}", public.rsplit(':').next()?))
                })
                .collect();
            Err(CliError::Message(format!(
                "no port {private} for container {}: {}",
                container.name,
                ports.join(", ")
            )))
        }
    }
}

/// `IP:PORT` of the first binding of `private` (`80/tcp`), IPv4 first.
fn published(container: &ObservedContainer, private: &str) -> Option<String> {
    let bindings: Vec<&str> = container
        .engine
        .ports
        .iter()
        .filter_map(|p| {
            split(p)
                .filter(|(_, to)| *to == private)
                .map(|(from, _)| from)
        })
        .collect();
    bindings
        .iter()
        .find(|b| !b.starts_with('['))
        .or(bindings.first())
        .map(|b| b.to_string())
}

/// `127.0.0.1:8080->80/tcp` → `("127.0.0.1:8080", "80/tcp")`; `None` when not published.
fn split(port: &str) -> Option<(&str, &str)> {
    port.split_once("->")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_published_port_splits_into_address_and_private_port() {
        assert_eq!(
            split("127.0.0.1:32794->80/tcp"),
            Some(("127.0.0.1:32794", "80/tcp"))
        );
        assert_eq!(split("[::]:32794->80/tcp"), Some(("[::]:32794", "80/tcp")));
        assert_eq!(split("80/tcp"), None);
    }
}
