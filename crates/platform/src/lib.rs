//! This machine's platform, read where it runs: OS, kernel, CPU, memory, device model, the
//! cores this thread may use (sysinfo, /proc and DMI on Linux), and whether it is Windows under
//! Wine. The run record's [`PlatformInfo`] is the model's; this crate fills it in, so the model
//! stays free of sysinfo and of the workspace's one `unsafe` block (`wine.rs`).

pub mod wine;

use duplex_model::platform::PlatformInfo;
use sysinfo::{CpuRefreshKind, System};

/// This machine: OS, kernel, CPU, memory, model, and the cores this thread may run on.
pub fn this_machine() -> PlatformInfo {
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
        os_version: os_version(unknown(System::os_version()), System::long_os_version().ok()),
        kernel: unknown(System::kernel_version()),
        arch: System::cpu_arch(),
        cpu_model,
        logical_cores: logical_cores.max(std::thread::available_parallelism().map_or(0, |n| n.get())),
        physical_cores: System::physical_core_count().ok(),
        memory_bytes,
        host_name: unknown(System::host_name()),
        device_model: device_model(),
        pinned_to: pinned_to(logical_cores),
    }
}

/// The cores this thread may run on (Linux: `Cpus_allowed_list`), when fewer than `cores`.
fn pinned_to(cores: usize) -> Option<String> {
    let status = std::fs::read_to_string("/proc/thread-self/status").ok()?;
    let list = status.lines().find_map(|l| l.strip_prefix("Cpus_allowed_list:"))?.trim().to_owned();
    let allowed: usize = list
        .split(',')
        .map(|part| match part.split_once('-') {
            Some((a, b)) => {
                b.trim().parse::<usize>().unwrap_or(0).saturating_sub(a.trim().parse().unwrap_or(0)) + 1
            }
            None => 1,
        })
        .sum();
    (allowed < cores.max(std::thread::available_parallelism().map_or(1, |n| n.get()))).then_some(list)
}

/// The OS version, honestly named. sysinfo says "0 (7601)" where Windows keeps no
/// CurrentMajorVersionNumber (before Windows 10, and under Wine): the product name ("Microsoft
/// Windows 7") tells it then. Under Wine the version is what Wine reports, "under Wine 8.0".
fn os_version(version: String, product: Option<String>) -> String {
    let version = match (version.strip_prefix("0 ("), product) {
        (Some(build), Some(product)) => {
            let name = product.trim().trim_start_matches("Microsoft ").trim_start_matches("Windows ");
            format!("{name} ({build}")
        }
        _ => version,
    };
    match wine::version() {
        Some(wine) => format!("{version} under Wine {wine}"),
        None => version,
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
        let p = this_machine();
        assert!(p.logical_cores >= 1);
        assert!(!p.arch.is_empty());
        assert!(p.label().contains(&p.arch));
    }

    #[test]
    fn a_windows_without_a_major_version_number_is_named_by_its_product() {
        let named = os_version("0 (7601)".into(), Some("Microsoft Windows 7".into()));
        let wine = wine::version().map(|w| format!(" under Wine {w}")).unwrap_or_default();
        assert_eq!(named, format!("7 (7601){wine}"));
        assert_eq!(
            os_version("10 (19045)".into(), Some("Windows 10 Pro".into())),
            format!("10 (19045){wine}")
        );
        assert_eq!(os_version("0 (7601)".into(), None), format!("0 (7601){wine}"));
    }
}
