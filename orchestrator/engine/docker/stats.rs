//! A container's resource usage: one sample of the engine's statistics, in `docker stats`'
//! figures.

use bollard::Docker;
use futures_util::stream::StreamExt;

use super::errors::container_error;
use crate::engine::{ContainerStats, EngineError, Result};

/// One sample of the container's statistics.
pub(super) async fn sample(docker: &Docker, id: &str) -> Result<ContainerStats> {
    let options = bollard::query_parameters::StatsOptionsBuilder::new()
        .stream(false)
        .build();
    let sample = docker
        .stats(id, Some(options))
        .next()
        .await
        .ok_or_else(|| EngineError::Engine {
            message: format!("no statistics for container {id}"),
        })?
        .map_err(|e| container_error(id, e))?;
    Ok(container_stats(&sample))
}

/// `docker stats`' figures from one sample: the CPU over the interval between `precpu_stats`
/// and `cpu_stats`, the memory without the inactive page cache (cgroup v1 or v2).
fn container_stats(sample: &bollard::models::ContainerStatsResponse) -> ContainerStats {
    let total = |cpu: Option<&bollard::models::ContainerCpuStats>| {
        let usage = cpu
            .and_then(|c| c.cpu_usage.as_ref())
            .and_then(|u| u.total_usage);
        (
            usage.unwrap_or(0),
            cpu.and_then(|c| c.system_cpu_usage).unwrap_or(0),
        )
    };
    let (cpu, system) = total(sample.cpu_stats.as_ref());
    let (pre_cpu, pre_system) = total(sample.precpu_stats.as_ref());
    let online = sample
        .cpu_stats
        .as_ref()
        .and_then(|c| {
            c.online_cpus.map(u64::from).or_else(|| {
                let usage = c.cpu_usage.as_ref()?;
                Some(usage.percpu_usage.as_ref()?.len() as u64)
            })
        })
        .unwrap_or(1);
    let (cpu_delta, system_delta) = (
        cpu.saturating_sub(pre_cpu),
        system.saturating_sub(pre_system),
    );
    let cpu_percent = match (cpu_delta, system_delta) {
        (c, s) if c > 0 && s > 0 => c as f64 / s as f64 * online as f64 * 100.0,
        _ => 0.0,
    };
    let memory = sample.memory_stats.as_ref();
    let usage = memory.and_then(|m| m.usage).unwrap_or(0);
    let stat = |key: &str| memory.and_then(|m| m.stats.as_ref()?.get(key).copied());
    let cache = stat("total_inactive_file")
        .filter(|v| *v < usage)
        .or_else(|| stat("inactive_file").filter(|v| *v < usage))
        .unwrap_or(0);
    let networks = sample.networks.iter().flat_map(|n| n.values());
    let (net_rx, net_tx) = networks.fold((0, 0), |(rx, tx), n| {
        (rx + n.rx_bytes.unwrap_or(0), tx + n.tx_bytes.unwrap_or(0))
    });
    let blkio = sample
        .blkio_stats
        .as_ref()
        .and_then(|b| b.io_service_bytes_recursive.as_ref());
    let (block_read, block_write) = blkio.into_iter().flatten().fold((0, 0), |(r, w), e| {
        match e.op.as_deref().map(str::to_ascii_lowercase).as_deref() {
            Some("read") => (r + e.value.unwrap_or(0), w),
            Some("write") => (r, w + e.value.unwrap_or(0)),
            _ => (r, w),
        }
    });
    ContainerStats {
        cpu_percent,
        memory: usage - cache,
        memory_limit: memory.and_then(|m| m.limit).unwrap_or(0),
        net_rx,
        net_tx,
        block_read,
        block_write,
        pids: sample
            .pids_stats
            .as_ref()
            .and_then(|p| p.current)
            .unwrap_or(0),
    }
}
