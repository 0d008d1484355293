//! `wharf stats`: the resource usage of the project's containers, as `docker compose stats`
//! prints it (a table, or a JSON object per container); refreshed until Ctrl-C unless
//! `--no-stream`.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Args;

use super::GlobalArgs;
use super::each::containers;
use super::error::CliError;
use super::output::Format;
use super::session::Session;
use super::table::{bytes_size, human_size, tabwriter};
use crate::engine::ContainerStats;
use crate::observe::ObservedContainer;

#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Show all containers (default shows just running)
    #[arg(short, long)]
    pub all: bool,
    /// Format the output
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Disable streaming stats and only pull the first result
    #[arg(long)]
    pub no_stream: bool,
    /// Do not truncate output
    #[arg(long)]
    pub no_trunc: bool,
    /// Services to show (default: all)
    pub services: Vec<String>,
}

pub async fn run(global: &GlobalArgs, args: &StatsArgs) -> Result<ExitCode, CliError> {
    let session = Session::open(global).await?;
    let shutdown = super::shutdown::signal();
    let refresh = async {
        loop {
            let observed = session.observe().await?;
            session.check_services(&args.services, &observed)?;
            let mut shown = containers(&observed, &args.services, |c| args.all || c.is_up());
            shown.sort_by(|a, b| a.name.cmp(&b.name));
            let samples = futures_util::future::join_all(shown.iter().map(|c| async {
                match c.is_up() {
                    true => session.runtime.stats(&c.id).await,
                    false => Ok(ContainerStats::default()),
                }
            }))
            .await;
            let mut rows = Vec::new();
            for (container, sample) in shown.into_iter().zip(samples) {
                // A container that stopped meanwhile shows zeros, as `docker stats` does.
                rows.push(Row::new(
                    container,
                    &sample.unwrap_or_default(),
                    args.no_trunc,
                ));
            }
            if !args.no_stream && std::io::stdout().is_terminal() {
                print!("\x1b[2J\x1b[H");
            }
            match args.format {
                Format::Json => rows.iter().for_each(|row| println!("{}", row.json())),
                Format::Table => print!("{}", table(&rows)),
            }
            if args.no_stream {
                return Ok(ExitCode::SUCCESS);
            }
        }
    };
    tokio::select! {
        result = refresh => result,
        () = shutdown => Ok(ExitCode::SUCCESS),
    }
}

/// One container's line, with the docker CLI's words and units.
struct Row {
    container: String,
    id: String,
    name: String,
    cpu: String,
    mem_usage: String,
    mem_percent: String,
    net: String,
    block: String,
    pids: String,
}

impl Row {
    fn new(container: &ObservedContainer, stats: &ContainerStats, no_trunc: bool) -> Row {
        let percent = |part: f64, whole: f64| match whole > 0.0 {
            true => format!("{:.2}%", part / whole * 100.0),
            false => "0.00%".to_string(),
        };
        Row {
            container: container.id.clone(),
            id: match no_trunc {
                true => container.id.clone(),
                false => container.id.chars().take(12).collect(),
            },
            name: container.name.clone(),
            cpu: format!("{:.2}%", stats.cpu_percent),
            mem_usage: format!(
                "{} / {}",
                bytes_size(stats.memory),
                bytes_size(stats.memory_limit)
            ),
            mem_percent: percent(stats.memory as f64, stats.memory_limit as f64),
            net: format!(
                "{} / {}",
                human_size(stats.net_rx),
                human_size(stats.net_tx)
            ),
            block: format!(
                "{} / {}",
                human_size(stats.block_read),
                human_size(stats.block_write)
            ),
            pids: stats.pids.to_string(),
        }
    }

    fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "BlockIO": self.block,
            "CPUPerc": self.cpu,
            "Container": self.container,
            "ID": self.id,
            "MemPerc": self.mem_percent,
            "MemUsage": self.mem_usage,
            "Name": self.name,
            "NetIO": self.net,
            "PIDs": self.pids,
        })
    }
}

fn table(rows: &[Row]) -> String {
    let header = [
        "CONTAINER ID",
        "NAME",
        "CPU %",
        "MEM USAGE / LIMIT",
        "MEM %",
        "NET I/O",
        "BLOCK I/O",
        "PIDS",
    ];
    let mut lines = vec![header.iter().map(|h| h.to_string()).collect::<Vec<_>>()];
    for row in rows {
        lines.push(vec![
            row.id.clone(),
            row.name.clone(),
            row.cpu.clone(),
            row.mem_usage.clone(),
            row.mem_percent.clone(),
            row.net.clone(),
            row.block.clone(),
            row.pids.clone(),
        ]);
    }
    // docker stats' columns: at least 10 wide, 3 apart.
    tabwriter(&lines, 10, 3)
}
