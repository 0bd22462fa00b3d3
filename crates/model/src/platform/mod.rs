//! What device a run was measured on: OS, kernel, CPU, memory, model. Every run carries it so
//! results from different platforms can be compared. This machine's is read by the
//! `duplex-platform` crate; a browser's is told by its page (below).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default, TS, JsonSchema)]
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
    /// The cores the measuring thread may run on, when fewer than all (`--pin`, `taskset`):
    /// "1", "0,2". None: any core, or unknown (Linux reads it).
    pub pinned_to: Option<String>,
}

impl PlatformInfo {
    /// A short label for tables: "Debian GNU/Linux 12 x86_64" (parts nobody told are left out).
    pub fn label(&self) -> String {
        [&self.os, &self.os_version, &self.arch]
            .into_iter()
            .filter(|part| !part.is_empty())
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The device of a browser that joined over the network, from what its page could tell.
    /// `host_name` is the peer's address: a page cannot learn its device's name.
    pub fn from_browser(device: &BrowserDevice, host_name: String) -> PlatformInfo {
        let ua = device.user_agent.as_str();
        let (os, os_version) = os_of_user_agent(ua);
        PlatformInfo {
            os,
            os_version,
            kernel: String::new(),
            arch: arch_of_browser(ua, &device.platform),
            cpu_model: String::new(),
            logical_cores: device.logical_cores.min(4096),
            physical_cores: None,
            memory_bytes: device
                .memory_gib
                .filter(|g| g.is_finite() && *g > 0.0 && *g < 1e6)
                .map_or(0, |g| (g * 1073741824.0) as u64),
            host_name,
            device_model: model_of_user_agent(ua),
            pinned_to: None,
        }
    }
}

/// What a page can learn about its device: `navigator.userAgent`, `navigator.platform`,
/// `navigator.hardwareConcurrency`, `navigator.deviceMemory` (Chromium only, rounded GiB).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default, TS, JsonSchema)]
#[serde(default)]
pub struct BrowserDevice {
    pub user_agent: String,
    pub platform: String,
    pub logical_cores: usize,
    pub memory_gib: Option<f64>,
}

/// Operating system and version named by a user agent, e.g. ("Android", "14").
fn os_of_user_agent(ua: &str) -> (String, String) {
    // The OS's name, then its version if one follows ("Android 14", or plain "Android").
    let after = |key: &str, stop: &[char]| -> Option<String> {
        let rest = ua[ua.find(key)? + key.len()..].trim_start();
        Some(rest.split(stop).next().unwrap_or_default().trim().replace('_', "."))
    };
    let found = if let Some(v) = after("Android", &[';', ')']) {
        ("Android", v)
    } else if let Some(v) = after("iPhone OS", &[' ', ';', ')']).or_else(|| after("CPU OS", &[' ', ';', ')']))
    {
        ("iOS", v)
    } else if let Some(v) = after("Windows NT", &[';', ')']) {
        ("Windows", format!("NT {v}").trim().to_owned())
    } else if let Some(v) = after("Mac OS X", &[';', ')']) {
        ("macOS", v)
    } else if ua.contains("CrOS") {
        ("ChromeOS", String::new())
    } else if ua.contains("Linux") {
        ("Linux", String::new())
    } else {
        ("unknown", String::new())
    };
    (found.0.to_owned(), found.1.chars().take(32).collect())
}

fn arch_of_browser(ua: &str, platform: &str) -> String {
    let text = format!("{ua} {platform}").to_ascii_lowercase();
    let arch = if text.contains("aarch64") || text.contains("arm64") || text.contains("armv8") {
        "aarch64"
    } else if text.contains("arm") {
        "arm"
    } else if text.contains("x86_64")
        || text.contains("x64")
        || text.contains("win64")
        || text.contains("amd64")
    {
        "x86_64"
    } else if text.contains("i686") || text.contains("i386") {
        "x86"
    } else {
        ""
    };
    arch.to_owned()
}

/// The phone model an Android user agent names ("Pixel 7"), unless reduced to "K".
fn model_of_user_agent(ua: &str) -> Option<String> {
    if ua.contains("iPhone") {
        return Some("iPhone".into());
    }
    if ua.contains("iPad") {
        return Some("iPad".into());
    }
    let inside = &ua[ua.find("Android ")?..];
    let model = inside.split([';', ')']).nth(1)?.trim();
    let model = model.split(" Build/").next().unwrap_or(model).trim();
    (!model.is_empty() && model != "K").then(|| model.chars().take(64).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device(ua: &str, platform: &str) -> BrowserDevice {
        BrowserDevice {
            user_agent: ua.into(),
            platform: platform.into(),
            logical_cores: 8,
            memory_gib: Some(4.0),
        }
    }

    #[test]
    fn a_browser_tells_its_os_arch_and_model() {
        let pixel = device(
            "Mozilla/5.0 (Linux; Android 14; Pixel 7 Build/UQ1A.240205.004) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
            "Linux armv8l",
        );
        let p = PlatformInfo::from_browser(&pixel, "192.168.1.7".into());
        assert_eq!((p.os.as_str(), p.os_version.as_str(), p.arch.as_str()), ("Android", "14", "aarch64"));
        assert_eq!(p.device_model.as_deref(), Some("Pixel 7"));
        assert_eq!(p.memory_bytes, 4 << 30);
        assert_eq!(p.label(), "Android 14 aarch64");
        assert_eq!(p.host_name, "192.168.1.7");

        let reduced = device(
            "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 Chrome/131.0.0.0 Mobile Safari/537.36",
            "",
        );
        assert_eq!(PlatformInfo::from_browser(&reduced, String::new()).device_model, None);

        let iphone = device(
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
            "iPhone",
        );
        let p = PlatformInfo::from_browser(&iphone, String::new());
        assert_eq!((p.os.as_str(), p.os_version.as_str()), ("iOS", "17.5"));
        assert_eq!(p.label(), "iOS 17.5");

        let windows = device(
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0.0.0 Safari/537.36",
            "Win32",
        );
        assert_eq!(PlatformInfo::from_browser(&windows, String::new()).label(), "Windows NT 10.0 x86_64");

        let linux = BrowserDevice {
            memory_gib: None,
            ..device("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0", "Linux x86_64")
        };
        let p = PlatformInfo::from_browser(&linux, String::new());
        assert_eq!((p.label().as_str(), p.memory_bytes), ("Linux x86_64", 0));

        let junk =
            BrowserDevice { logical_cores: usize::MAX, memory_gib: Some(f64::NAN), ..device("\u{0}", "") };
        let p = PlatformInfo::from_browser(&junk, String::new());
        assert_eq!((p.os.as_str(), p.logical_cores, p.memory_bytes), ("unknown", 4096, 0));
    }
}
