//! wharf's DNS on its own, for `bench/dns.sh`: the compose file given as the argument is
//! brought up on the in-memory engine (the reconciler and executor wharf uses, without
//! Docker), and the DNS answers its names on the loopback listener `WHARF_DNS_LISTEN`, with
//! the same table, answers and server as `wharf up`. It prints `<service> <address>` for every
//! replica (so that the bench can give dnsmasq the same records), then serves until killed.

use std::process::ExitCode;
use std::sync::Arc;

use wharf::desired::{self, BuildOptions, Discovery};
use wharf::dns::{Dns, DnsConfig};
use wharf::engine::memory::MemoryEngine;
use wharf::execute::{self, ExecuteOptions};
use wharf::observe::observe;
use wharf::plan::{self, ReconcileOptions};
use wharf::spec::{LoadOptions, load};

const PROJECT: &str = "bench";

#[tokio::main]
async fn main() -> ExitCode {
    match serve().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("dns_serve: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn serve() -> Result<(), String> {
    let file = std::env::args()
        .nth(1)
        .ok_or("usage: dns_serve COMPOSE_FILE")?;
    let cwd = std::env::current_dir().map_err(|e| e.to_string())?;
    let project = load(&LoadOptions {
        files: vec![file],
        project_name: Some(PROJECT.into()),
        cwd,
        ..LoadOptions::default()
    })
    .map_err(|d| format!("{d:?}"))?;
    let options = BuildOptions {
        discovery: Discovery::WharfDns,
        ..BuildOptions::default()
    };
    let desired = desired::build(&project, &options);
    let engine = Arc::new(MemoryEngine::new());
    for service in desired.services.values() {
        engine.add_image(&service.image);
    }
    let observed = observe(engine.as_ref(), PROJECT, Some(&desired))
        .await
        .map_err(|e| e.to_string())?;
    let up = plan::reconcile(&desired, &observed, &ReconcileOptions::default())
        .map_err(|e| e.to_string())?;
    let report = execute::run(
        &up,
        engine.clone(),
        &ExecuteOptions::new(PROJECT),
        &|_, _| {},
    )
    .await;
    if !report.is_success() {
        return Err(format!("the in-memory up failed: {:?}", report.failures));
    }
    let observed = observe(engine.as_ref(), PROJECT, Some(&desired))
        .await
        .map_err(|e| e.to_string())?;
    let config = DnsConfig::from_env().map_err(|e| e.to_string())?;
    if config.loopback.is_none() {
        return Err("set WHARF_DNS_LISTEN to the loopback address and port to serve on".into());
    }
    let dns = Dns::start(&config, &[]).await?;
    dns.answer(&desired, &observed, &Default::default());
    for container in observed.containers() {
        for address in container.engine.addresses.values() {
            println!("{} {address}", container.service());
        }
    }
    tokio::signal::ctrl_c().await.map_err(|e| e.to_string())
}
