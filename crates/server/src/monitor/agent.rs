//! The agent: reads the machine through sysinfo (CPU per core, load, memory, swap, network and
//! disk rates, the busiest processes) into [`Snapshot`]s. Rates are per second since the
//! previous reading. CPU shares change at most every 200 ms (`sysinfo::MINIMUM_CPU_UPDATE_INTERVAL`:
//! the OS counts CPU time in ticks, shorter windows would be noise); faster snapshots repeat them.

use std::time::Instant;

use sysinfo::{
    CpuRefreshKind, DiskRefreshKind, Disks, MemoryRefreshKind, Networks, ProcessRefreshKind,
    ProcessesToUpdate, System,
};

use duplex_model::monitor::{ProcessRow, Snapshot};

/// How many processes a snapshot lists.
pub const TOP_PROCESSES: usize = 8;

pub struct Agent {
    system: System,
    networks: Option<Networks>,
    disks: Option<Disks>,
    last: Instant,
}

impl Agent {
    pub fn new() -> Result<Agent, String> {
        if let Some(wine) = duplex_platform::wine::version() {
            return Err(format!(
                "the live monitor cannot read CPU load: {}",
                duplex_platform::wine::no_cpu_load(wine)
            ));
        }
        let mut system = System::new().map_err(|e| format!("cannot read this system: {e}"))?;
        system.refresh_cpu_list(CpuRefreshKind::nothing().with_usage());
        // Networks and disks may be unreadable (sandboxes, some phones): the rest still works.
        let networks = Networks::new_with_refreshed_list().ok();
        let disks = Disks::new_with_refreshed_list_specifics(DiskRefreshKind::nothing().with_io_usage()).ok();
        let mut agent = Agent { system, networks, disks, last: Instant::now() };
        // The first reading only sets the baseline that rates and CPU shares are measured from.
        agent.refresh();
        Ok(agent)
    }

    fn refresh(&mut self) -> f64 {
        self.system.refresh_cpu_usage();
        self.system.refresh_memory_specifics(MemoryRefreshKind::everything());
        self.system.refresh_processes_specifics(
            ProcessesToUpdate::All,
            true,
            ProcessRefreshKind::nothing().with_cpu().with_memory().without_tasks(),
        );
        if let Some(n) = &mut self.networks {
            n.refresh(true);
        }
        if let Some(d) = &mut self.disks {
            d.refresh_specifics(true, DiskRefreshKind::nothing().with_io_usage());
        }
        let now = Instant::now();
        let seconds = now.duration_since(self.last).as_secs_f64();
        self.last = now;
        seconds
    }

    /// Reads the machine now.
    pub fn sample(&mut self) -> Snapshot {
        let seconds = self.refresh().max(1e-3);
        let per_s = |bytes: u64| bytes as f64 / seconds;
        let (rx, tx) = self.networks.as_ref().map_or((0, 0), |networks| {
            networks
                .iter()
                .filter(|(name, _)| !is_loopback(&name.to_string_lossy()))
                .fold((0, 0), |(rx, tx), (_, n)| (rx + n.received(), tx + n.transmitted()))
        });
        let (read, written) = self.disks.as_ref().map_or((0, 0), |disks| {
            disks.iter().fold((0, 0), |(r, w), d| (r + d.usage().read_bytes, w + d.usage().written_bytes))
        });
        let mut top: Vec<ProcessRow> = self
            .system
            .processes()
            .values()
            .map(|p| ProcessRow {
                pid: p.pid().as_u32(),
                name: p.name().to_string_lossy().chars().take(64).collect(),
                cpu_percent: p.cpu_usage(),
                memory_bytes: p.memory(),
            })
            .collect();
        top.sort_by(|a, b| b.cpu_percent.total_cmp(&a.cpu_percent).then(b.memory_bytes.cmp(&a.memory_bytes)));
        top.truncate(TOP_PROCESSES);
        let load = System::load_average().map_or([0.0; 3], |l| [l.one, l.five, l.fifteen]);
        let cpu_per_core: Vec<f32> = self.system.cpus().iter().map(|c| c.usage()).collect();
        // The mean of the cores, read together (the global figure is refreshed at other times).
        let cpu_total = cpu_per_core.iter().sum::<f32>() / cpu_per_core.len().max(1) as f32;
        Snapshot {
            cpu_per_core,
            cpu_total,
            load,
            memory_used_bytes: self.system.used_memory(),
            memory_total_bytes: self.system.total_memory(),
            swap_used_bytes: self.system.used_swap(),
            swap_total_bytes: self.system.total_swap(),
            net_rx_bytes_per_s: per_s(rx),
            net_tx_bytes_per_s: per_s(tx),
            disk_read_bytes_per_s: per_s(read),
            disk_write_bytes_per_s: per_s(written),
            top,
        }
    }
}

fn is_loopback(interface: &str) -> bool {
    interface == "lo" || interface.starts_with("lo0") || interface.eq_ignore_ascii_case("loopback")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_agent_reads_this_machine() {
        if let Some(wine) = duplex_platform::wine::version() {
            let refused = Agent::new().err().unwrap_or_default();
            assert!(refused.contains(&format!("running under Wine {wine}")), "{refused}");
            return;
        }
        let mut agent = Agent::new().expect("sysinfo works here");
        // Keep a core busy so the readings have something to show.
        let spin = std::thread::spawn(|| {
            let end = Instant::now() + std::time::Duration::from_millis(300);
            let mut x = 0u64;
            while Instant::now() < end {
                x = x.wrapping_add(1);
            }
            x
        });
        std::thread::sleep(std::time::Duration::from_millis(300));
        let s = agent.sample();
        let _ = spin.join();
        assert_eq!(s.cpu_per_core.len(), std::thread::available_parallelism().map_or(1, |n| n.get()));
        assert!(s.cpu_per_core.iter().all(|c| (0.0..=100.0).contains(c)), "{:?}", s.cpu_per_core);
        assert!(s.cpu_total > 0.0 && s.cpu_total <= 100.0, "{}", s.cpu_total);
        assert!(s.memory_total_bytes > 0 && s.memory_used_bytes <= s.memory_total_bytes);
        assert!(!s.top.is_empty() && s.top.len() <= TOP_PROCESSES);
        assert!(s.top.windows(2).all(|w| w[0].cpu_percent >= w[1].cpu_percent));
        assert!(s.net_rx_bytes_per_s >= 0.0 && s.disk_write_bytes_per_s >= 0.0);
    }
}
