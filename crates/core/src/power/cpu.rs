//! CPU time and memory from sysinfo: this process and its descendants (the web view runs in
//! child processes), and the whole machine.

use std::collections::HashMap;
use std::time::Instant;

use sysinfo::{CpuRefreshKind, Pid, ProcessRefreshKind, ProcessesToUpdate, System};

use super::{PowerSample, Probe, Sensor, Unavailable};

pub struct CpuSensor {
    system: System,
    me: Pid,
    /// Last CPU time seen per process of the tree, ms: a child that exits keeps its share.
    cpu_ms: HashMap<Pid, u64>,
    /// Busy CPU-seconds of the machine so far, integrated from sysinfo's usage between reads.
    system_busy_s: f64,
    last_read: Option<Instant>,
}

impl CpuSensor {
    pub fn probe() -> Probe {
        let unavailable = |reason: String| Unavailable { sensor: "cpu", reason };
        if let Some(wine) = crate::platform::wine::version() {
            return Err(unavailable(crate::platform::wine::no_cpu_load(wine)));
        }
        let me = sysinfo::get_current_pid().map_err(|e| unavailable(format!("no process id: {e}")))?;
        let mut system = System::new().map_err(|e| unavailable(e.to_string()))?;
        system.refresh_cpu_list(CpuRefreshKind::nothing().with_usage());
        Ok(Box::new(CpuSensor { system, me, cpu_ms: HashMap::new(), system_busy_s: 0.0, last_read: None }))
    }

    /// This process and every process below it.
    fn tree(&self) -> Vec<Pid> {
        let processes = self.system.processes();
        let mut tree = vec![self.me];
        let mut i = 0;
        while i < tree.len() {
            let parent = tree[i];
            // Threads are listed too on Linux; their time is already in their process's.
            tree.extend(
                processes
                    .iter()
                    .filter(|(_, p)| p.parent() == Some(parent) && p.thread_kind().is_none())
                    .map(|(pid, _)| *pid),
            );
            i += 1;
        }
        tree
    }
}

impl Sensor for CpuSensor {
    fn name(&self) -> &'static str {
        "cpu"
    }

    fn source(&self) -> String {
        format!("sysinfo (process {} and children; {} logical CPUs)", self.me, self.system.cpus().len())
    }

    fn read(&mut self, sample: &mut PowerSample) -> Result<(), String> {
        self.system.refresh_processes_specifics(
            ProcessesToUpdate::All,
            true,
            ProcessRefreshKind::nothing().with_cpu().with_memory().without_tasks(),
        );
        self.system.refresh_cpu_usage();
        let now = Instant::now();
        if let Some(last) = self.last_read {
            let busy = f64::from(self.system.global_cpu_usage()) / 100.0 * self.system.cpus().len() as f64;
            self.system_busy_s += busy * now.duration_since(last).as_secs_f64();
        }
        self.last_read = Some(now);
        let mut memory = 0;
        for pid in self.tree() {
            if let Some(p) = self.system.process(pid) {
                self.cpu_ms.insert(pid, p.accumulated_cpu_time());
                memory += p.memory();
            }
        }
        if !self.cpu_ms.contains_key(&self.me) {
            return Err("this process is not in the process list".into());
        }
        sample.process_cpu_s = Some(self.cpu_ms.values().sum::<u64>() as f64 / 1e3);
        sample.system_cpu_s = Some(self.system_busy_s);
        sample.process_memory_bytes = Some(memory);
        Ok(())
    }
}
