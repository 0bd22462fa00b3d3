//! Linux RAPL energy counters (`/sys/class/powercap/intel-rapl:N/energy_uj`, also used by AMD
//! CPUs): microjoules that wrap around at `max_energy_range_uj`. Readable by root only on
//! current kernels, absent in most VMs.

use std::path::{Path, PathBuf};

use super::{PowerSample, Probe, Sensor, Unavailable};

pub const POWERCAP_ROOT: &str = "/sys/class/powercap";

struct Domain {
    name: String,
    energy: PathBuf,
    max_range_uj: u64,
    last_uj: u64,
}

pub struct Rapl {
    root: PathBuf,
    domains: Vec<Domain>,
    total_uj: u128,
}

/// Energy between two readings of a counter that wraps at `max_range_uj`.
pub fn delta_uj(previous: u64, now: u64, max_range_uj: u64) -> u64 {
    if now >= previous { now - previous } else { max_range_uj.saturating_sub(previous) + now }
}

fn read_u64(path: &Path) -> Result<u64, String> {
    let text = std::fs::read_to_string(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::PermissionDenied => {
            format!("{} is readable by root only (Linux 5.10+, CVE-2020-8694)", path.display())
        }
        _ => format!("cannot read {}: {e}", path.display()),
    })?;
    text.trim().parse().map_err(|e| format!("{}: {:?} is not a number: {e}", path.display(), text.trim()))
}

impl Rapl {
    /// Finds the top-level RAPL zones under `root`. The platform zone (`psys`) covers the
    /// packages, so it is used alone where it exists; otherwise the packages are summed.
    pub fn probe(root: &Path) -> Probe {
        let unavailable = |reason: String| Unavailable { sensor: "rapl", reason };
        let entries = std::fs::read_dir(root)
            .map_err(|_| unavailable(format!("no {} (not Linux, or a VM without RAPL)", root.display())))?;
        let mut zones: Vec<(String, PathBuf)> = entries
            .filter_map(Result::ok)
            .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
            // Top-level zones are "<type>:<n>"; "<type>:<n>:<m>" are their parts (core, dram).
            .filter(|(dir, path)| dir.matches(':').count() == 1 && path.join("energy_uj").exists())
            .collect();
        zones.sort();
        if zones.is_empty() {
            return Err(unavailable(format!(
                "no RAPL zones under {} (not an Intel/AMD CPU, or a VM)",
                root.display()
            )));
        }
        let named: Vec<(String, PathBuf)> = zones
            .into_iter()
            .map(|(dir, path)| {
                let name = std::fs::read_to_string(path.join("name")).map_or(dir, |n| n.trim().to_owned());
                (name, path)
            })
            .collect();
        let chosen: Vec<&(String, PathBuf)> = match named.iter().find(|(n, _)| n == "psys") {
            Some(psys) => vec![psys],
            None => named.iter().collect(),
        };
        let mut domains = Vec::new();
        for (name, path) in chosen {
            let energy = path.join("energy_uj");
            let last_uj = read_u64(&energy).map_err(unavailable)?;
            let max_range_uj = read_u64(&path.join("max_energy_range_uj")).map_err(unavailable)?;
            domains.push(Domain { name: name.clone(), energy, max_range_uj, last_uj });
        }
        Ok(Box::new(Rapl { root: root.to_owned(), domains, total_uj: 0 }))
    }
}

impl Sensor for Rapl {
    fn name(&self) -> &'static str {
        "rapl"
    }

    fn source(&self) -> String {
        let names: Vec<&str> = self.domains.iter().map(|d| d.name.as_str()).collect();
        format!("{} ({})", self.root.display(), names.join(" + "))
    }

    fn read(&mut self, sample: &mut PowerSample) -> Result<(), String> {
        // Read every zone before updating any, so a failed read leaves the total consistent.
        let now: Vec<u64> = self.domains.iter().map(|d| read_u64(&d.energy)).collect::<Result<_, _>>()?;
        for (d, now) in self.domains.iter_mut().zip(now) {
            self.total_uj += u128::from(delta_uj(d.last_uj, now, d.max_range_uj));
            d.last_uj = now;
        }
        sample.rapl_j = Some(self.total_uj as f64 / 1e6);
        Ok(())
    }
}
