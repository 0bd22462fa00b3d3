//! What device a run was measured on: OS, kernel, CPU, memory, model. Every run carries it so
//! results from different platforms can be compared.

use serde::{Deserialize, Serialize};
use sysinfo::{CpuRefreshKind, System};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct PlatformInfo {
    /// e.g. "Debian GNU/Linux", "Windows", "Darwin", "Android".
    pub os: String,
    pub os_version: String,
    pub kernel: String,
    /// e.g. "x86_64", "aarch64".
    pub arch: String,
    pub cpu_model: String,
    pub logical_cores: usize,
    pub physical_cores: Option<usize>,
    pub memory_bytes: u64,
    pub host_name: String,
    /// Device or board model where the OS tells it (DMI on Linux); None when unknown.
    pub device_model: Option<String>,
}

impl PlatformInfo {
    pub fn collect() -> PlatformInfo {
        let unknown = |r: Result<String, sysinfo::Error>| r.unwrap_or_else(|_| "unknown".into());
        let (cpu_model, logical_cores, memory_bytes) = match System::new() {
            Ok(mut sys) => {
                sys.refresh_cpu_list(CpuRefreshKind::nothing());
                sys.refresh_memory();
                let model = sys.cpus().first().map(|c| c.brand().trim().to_owned()).unwrap_or_default();
                (model, sys.cpus().len(), sys.total_memory())
            }
            Err(_) => (String::new(), 0, 0),
        };
        PlatformInfo {
            os: unknown(System::name()),
            os_version: unknown(System::os_version()),
            kernel: unknown(System::kernel_version()),
            arch: System::cpu_arch(),
            cpu_model,
            logical_cores: logical_cores.max(std::thread::available_parallelism().map_or(0, |n| n.get())),
            physical_cores: System::physical_core_count().ok(),
            memory_bytes,
            host_name: unknown(System::host_name()),
            device_model: device_model(),
        }
    }

    /// A short label for tables: "Debian GNU/Linux 12 x86_64".
    pub fn label(&self) -> String {
        format!("{} {} {}", self.os, self.os_version, self.arch)
    }
}

#[cfg(target_os = "linux")]
fn device_model() -> Option<String> {
    let read = |p: &str| {
        std::fs::read_to_string(p)
            .ok()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty() && !s.eq_ignore_ascii_case("to be filled by o.e.m."))
    };
    let product = read("/sys/devices/virtual/dmi/id/product_name").or_else(|| {
        read("/sys/firmware/devicetree/base/model").map(|s| s.trim_end_matches('\0').to_owned())
    })?;
    Some(match read("/sys/devices/virtual/dmi/id/sys_vendor") {
        Some(vendor) if !product.starts_with(&vendor) => format!("{vendor} {product}"),
        _ => product,
    })
}

#[cfg(not(target_os = "linux"))]
fn device_model() -> Option<String> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collects_this_machine() {
        let p = PlatformInfo::collect();
        assert!(p.logical_cores >= 1);
        assert!(!p.arch.is_empty());
        assert!(p.label().contains(&p.arch));
    }
}
