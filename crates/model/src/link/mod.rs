//! Link conditions: the network between client and server that a run emulates (a relay in the
//! engine delays and paces every byte), what they predict for each transport, and where their
//! numbers come from. Profiles are data (`links/*.toml`), each naming its source; custom values
//! are written `rtt=80ms,jitter=10ms,down=8mbit,up=2mbit`.

use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

mod predict;
mod schedule;

pub use predict::{Pace, Traffic};

/// A link and its [`Link::label`], for a page to show without wording it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, JsonSchema)]
pub struct LabelledLink {
    pub label: String,
    pub link: Link,
}
pub use schedule::{CHUNK, Schedule};

const PROFILES: [(&str, &str); 9] = [
    ("loopback", include_str!("../../links/loopback.toml")),
    ("lan", include_str!("../../links/lan.toml")),
    ("wifi", include_str!("../../links/wifi.toml")),
    ("wifi-poor", include_str!("../../links/wifi-poor.toml")),
    ("4g", include_str!("../../links/4g.toml")),
    ("3g", include_str!("../../links/3g.toml")),
    ("3g-slow", include_str!("../../links/3g-slow.toml")),
    ("intercontinental", include_str!("../../links/intercontinental.toml")),
    ("satellite", include_str!("../../links/satellite.toml")),
];

/// The token bucket's depth when a link does not give one: one Ethernet MTU. A cellular or
/// satellite link passes no more than a packet at a time without its serialisation delay (an LTE
/// scheduler grants about a kilobyte per millisecond at 8 Mbit/s), and a token-bucket shaper
/// (Linux's `tc tbf`) cannot be configured below one MTU. A larger bucket would let the first
/// kilobytes of every message through at no cost, which no such link does.
pub const DEFAULT_BURST: u64 = 1500;

/// Longest round trip a link may add: a minute.
const MAX_RTT_MS: f64 = 60_000.0;

/// One link's conditions, the same in both directions except bandwidth.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Link {
    /// Profile name, or `custom`.
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Where the numbers come from.
    pub source: String,
    /// Round trip the link adds: half of it each way.
    pub rtt_ms: f64,
    /// Each chunk's one-way delay varies uniformly within ± this (kept in order, as TCP delivers).
    pub jitter_ms: f64,
    /// Server → client bandwidth in kbit/s; 0 is unlimited.
    pub down_kbit: f64,
    /// Client → server bandwidth in kbit/s; 0 is unlimited.
    pub up_kbit: f64,
    /// Bytes that may pass at once before the bandwidth paces them (token bucket). A real
    /// bottleneck serialises every packet at its rate, and a shaper's bucket must hold at least
    /// one packet: [`DEFAULT_BURST`] (one Ethernet MTU) unless a profile says otherwise.
    pub burst_bytes: u64,
    /// Bytes a direction may hold queued; when full the relay stops reading (the sender's TCP
    /// window fills). None: no limit.
    #[serde(default)]
    pub queue_bytes: Option<u64>,
    /// Packets lost, % each way. UDP's are dropped (QUIC resends stream data, datagrams stay
    /// lost); over TCP, which never loses what it delivers, a lost segment arrives one
    /// retransmission later instead (see [`Schedule`]).
    #[serde(default)]
    pub loss_percent: f64,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum LinkError {
    #[error("unknown link profile {0:?} (profiles: {names}; or values such as rtt=80ms,down=8mbit)", names = Link::profile_names().collect::<Vec<_>>().join(", "))]
    UnknownProfile(String),
    #[error("link {what}: {reason}")]
    Invalid { what: String, reason: String },
}

fn invalid(what: &str, reason: impl Into<String>) -> LinkError {
    LinkError::Invalid { what: what.to_owned(), reason: reason.into() }
}

impl Link {
    pub fn profile_names() -> impl Iterator<Item = &'static str> {
        PROFILES.iter().map(|(n, _)| *n)
    }

    pub fn profile(name: &str) -> Result<Link, LinkError> {
        let (_, text) = PROFILES
            .iter()
            .find(|(n, _)| *n == name)
            .ok_or_else(|| LinkError::UnknownProfile(name.to_owned()))?;
        Link::from_toml(text).map_err(|e| invalid(&format!("profile {name}"), e.to_string()))
    }

    /// A profile file's text: every field but `description` and `queue_bytes` must be there.
    pub fn from_toml(text: &str) -> Result<Link, LinkError> {
        let link: Link = toml::from_str(text).map_err(|e| invalid("profile", e.message().to_owned()))?;
        link.validate()?;
        Ok(link)
    }

    /// `--link` as a user writes it: a profile name, or `key=value` pairs (`rtt`, `jitter`,
    /// `down`, `up`, `burst`, `queue`, `loss`) with units (`ms`, `s`, `us`; `kbit`, `mbit`,
    /// `gbit`; `b`, `kib`, `mib`; `%`), or a profile then pairs that change it (`4g,loss=2%`).
    /// What is not given is 0 (unlimited), the burst one MTU ([`DEFAULT_BURST`]).
    pub fn parse(spec: &str) -> Result<Link, LinkError> {
        let spec = spec.trim();
        if !spec.contains('=') {
            return Link::profile(spec);
        }
        // Named by its values, so that runs over it can be told apart and picked out by name.
        let name: String = spec.chars().filter(|c| !c.is_whitespace()).collect();
        let (mut link, pairs) = match spec.split_once(',') {
            Some((first, rest)) if !first.contains('=') => {
                let base = Link::profile(first.trim())?;
                (Link { name, source: format!("{}, changed: {rest}", base.source), ..base }, rest)
            }
            _ => (Link { name, source: format!("given as {spec}"), ..Link::none() }, spec),
        };
        for pair in pairs.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) =
                pair.split_once('=').ok_or_else(|| invalid(pair, "expected key=value, such as rtt=50ms"))?;
            link.set(key.trim(), value.trim())?;
        }
        link.validate()?;
        Ok(link)
    }

    /// Sets one of `rtt`, `jitter`, `down`, `up`, `burst`, `queue` from its written value.
    fn set(&mut self, key: &str, value: &str) -> Result<(), LinkError> {
        match key {
            "rtt" => self.rtt_ms = milliseconds(key, value)?,
            "jitter" => self.jitter_ms = milliseconds(key, value)?,
            "down" => self.down_kbit = kilobits(key, value)?,
            "up" => self.up_kbit = kilobits(key, value)?,
            "burst" => self.burst_bytes = bytes(key, value)?,
            "queue" => self.queue_bytes = Some(bytes(key, value)?),
            "loss" => self.loss_percent = percent(key, value)?,
            other => {
                return Err(invalid(
                    other,
                    "unknown setting (expected rtt, jitter, down, up, burst, queue or loss)",
                ));
            }
        }
        Ok(())
    }

    /// `--sweep rtt=0,10,50,100,200ms`: this link once per value of one setting (a unit written
    /// once, after the last value, applies to all), each named for its value.
    pub fn sweep(&self, spec: &str) -> Result<Vec<Link>, LinkError> {
        let (key, values) = sweep_values(spec)?;
        values
            .into_iter()
            .map(|value| {
                let mut link = self.clone();
                link.set(key, &value)?;
                link.name = if self.name == "custom" {
                    format!("{key}={value}")
                } else {
                    format!("{} {key}={value}", self.name)
                };
                link.validate()?;
                Ok(link)
            })
            .collect()
    }

    /// No link at all, as a sweep's base when `--link` is not given.
    pub fn none() -> Link {
        Link {
            name: "custom".into(),
            description: String::new(),
            source: "values given on the command line".into(),
            rtt_ms: 0.0,
            jitter_ms: 0.0,
            down_kbit: 0.0,
            up_kbit: 0.0,
            burst_bytes: DEFAULT_BURST,
            queue_bytes: None,
            loss_percent: 0.0,
        }
    }

    pub fn validate(&self) -> Result<(), LinkError> {
        let numbers = [
            ("rtt_ms", self.rtt_ms),
            ("jitter_ms", self.jitter_ms),
            ("down_kbit", self.down_kbit),
            ("up_kbit", self.up_kbit),
        ];
        if let Some((what, _)) = numbers.iter().find(|(_, v)| !v.is_finite() || *v < 0.0) {
            return Err(invalid(what, "must be a number, 0 or more"));
        }
        if self.rtt_ms > MAX_RTT_MS || self.jitter_ms > MAX_RTT_MS {
            return Err(invalid("rtt", format!("at most {MAX_RTT_MS} ms")));
        }
        if !(0.0..=100.0).contains(&self.loss_percent) {
            return Err(invalid("loss", "must be a percentage, 0 to 100"));
        }
        if self.queue_bytes == Some(0) {
            return Err(invalid("queue", "must be at least 1 byte (leave it out for no limit)"));
        }
        Ok(())
    }

    /// No relay is needed: nothing to delay or pace.
    pub fn is_direct(&self) -> bool {
        self.rtt_ms == 0.0
            && self.jitter_ms == 0.0
            && self.down_kbit == 0.0
            && self.up_kbit == 0.0
            && self.loss_percent == 0.0
    }

    pub fn one_way(&self) -> Duration {
        Duration::from_secs_f64(self.rtt_ms / 2e3)
    }

    /// Bytes per second one way (`down`: server to client); None when unlimited.
    pub fn bytes_per_second(&self, down: bool) -> Option<f64> {
        let kbit = if down { self.down_kbit } else { self.up_kbit };
        (kbit > 0.0).then_some(kbit * 1e3 / 8.0)
    }

    /// Short, for a menu: `4g: RTT 165 ms ± 10, 8.1 / 1.35 Mbit/s` (no bandwidth when unlimited
    /// both ways).
    pub fn label(&self) -> String {
        let rate = |kbit: f64| if kbit == 0.0 { "unlimited".to_owned() } else { trim(kbit / 1e3) };
        let jitter =
            if self.jitter_ms > 0.0 { format!(" ± {}", trim(self.jitter_ms)) } else { String::new() };
        let bandwidth = if self.down_kbit == 0.0 && self.up_kbit == 0.0 {
            String::new()
        } else {
            format!(", {} / {} Mbit/s", rate(self.down_kbit), rate(self.up_kbit))
        };
        let loss = if self.loss_percent > 0.0 {
            format!(", {} % loss", trim(self.loss_percent))
        } else {
            String::new()
        };
        format!("{}: RTT {} ms{jitter}{bandwidth}{loss}", self.name, trim(self.rtt_ms))
    }

    /// A link with its [`Link::label`], as a page offers or shows it.
    pub fn labelled(&self) -> LabelledLink {
        LabelledLink { label: self.label(), link: self.clone() }
    }

    /// One line: `4g (RTT 165 ms ± 0 ms, down 8.1 Mbit/s, up 1.35 Mbit/s, burst 1500 B)`; the
    /// burst and the queue only where a bandwidth limit makes them count.
    pub fn describe(&self) -> String {
        let rate = |kbit: f64| {
            if kbit == 0.0 {
                "unlimited".to_owned()
            } else if kbit >= 1e3 {
                format!("{} Mbit/s", trim(kbit / 1e3))
            } else {
                format!("{} kbit/s", trim(kbit))
            }
        };
        let mut bucket = String::new();
        if self.down_kbit > 0.0 || self.up_kbit > 0.0 {
            bucket = format!(", burst {} B", self.burst_bytes);
            if let Some(q) = self.queue_bytes {
                bucket.push_str(&format!(", queue {q} B"));
            }
        }
        if self.loss_percent > 0.0 {
            bucket.push_str(&format!(", loss {} % each way", trim(self.loss_percent)));
        }
        format!(
            "{} (RTT {} ms ± {} ms, down {}, up {}{bucket})",
            self.name,
            trim(self.rtt_ms),
            trim(self.jitter_ms),
            rate(self.down_kbit),
            rate(self.up_kbit)
        )
    }
}

/// A sweep's `setting=v1,v2,…unit`: the setting, and each value with its unit (a unit written
/// once, after the last value, applies to all, unless other values carry units of their own).
/// At least two values.
pub fn sweep_values(spec: &str) -> Result<(&str, Vec<String>), LinkError> {
    let (key, values) = spec
        .split_once('=')
        .ok_or_else(|| invalid(spec, "expected setting=values, such as rtt=0,50,100ms"))?;
    let values: Vec<&str> = values.split(',').map(str::trim).filter(|v| !v.is_empty()).collect();
    if values.len() < 2 {
        return Err(invalid(spec, "a sweep needs at least two values"));
    }
    let bare = |v: &str| v.chars().all(|c| c.is_ascii_digit() || c == '.');
    // `rtt=0,10,50ms`: the last value's unit is every value's. When values carry units of their
    // own (`payload=16,1k,1m`), a bare one is taken as it is, never as 16 MiB.
    let unit = if values[..values.len() - 1].iter().all(|v| bare(v)) {
        values.last().map_or("", |v| v.trim_start_matches(|c: char| c.is_ascii_digit() || c == '.'))
    } else {
        ""
    };
    let with_unit =
        values.iter().map(|v| if bare(v) { format!("{v}{unit}") } else { (*v).to_owned() }).collect();
    Ok((key.trim(), with_unit))
}

/// `12.5`, `8.1`, `165`: a number without trailing zeros.
fn trim(x: f64) -> String {
    let s = format!("{x:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// `2%`, `2`, `0.5%`: a percentage.
fn percent(key: &str, value: &str) -> Result<f64, LinkError> {
    let (n, unit) = number_and_unit(key, value)?;
    match unit {
        "" | "%" => Ok(n),
        other => Err(invalid(key, format!("unknown unit {other:?} (expected %)"))),
    }
}

fn number_and_unit<'a>(key: &str, value: &'a str) -> Result<(f64, &'a str), LinkError> {
    let split = value.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(value.len());
    let (number, unit) = value.split_at(split);
    let number: f64 =
        number.parse().map_err(|_| invalid(key, format!("{value:?} is not a number with a unit")))?;
    Ok((number, unit.trim()))
}

fn milliseconds(key: &str, value: &str) -> Result<f64, LinkError> {
    let (n, unit) = number_and_unit(key, value)?;
    match unit.to_ascii_lowercase().as_str() {
        "ms" => Ok(n),
        "s" => Ok(n * 1e3),
        "us" | "µs" => Ok(n / 1e3),
        _ => Err(invalid(key, format!("{value:?}: give a time in ms, s or us (such as 50ms)"))),
    }
}

fn kilobits(key: &str, value: &str) -> Result<f64, LinkError> {
    let (n, unit) = number_and_unit(key, value)?;
    match unit.to_ascii_lowercase().as_str() {
        "bit" => Ok(n / 1e3),
        "kbit" => Ok(n),
        "mbit" => Ok(n * 1e3),
        "gbit" => Ok(n * 1e6),
        _ => Err(invalid(
            key,
            format!("{value:?}: give a rate in kbit, mbit or gbit (per second, such as 8mbit)"),
        )),
    }
}

/// A size as written: `1500`, `1500b`, `16k`, `16kib`, `1m`, `1mib` (k and m are 1,024s).
pub fn bytes(key: &str, value: &str) -> Result<u64, LinkError> {
    let (n, unit) = number_and_unit(key, value)?;
    let scale = match unit.to_ascii_lowercase().as_str() {
        "b" | "" => 1.0,
        "k" | "kib" | "kb" => 1024.0,
        "m" | "mib" | "mb" => 1024.0 * 1024.0,
        _ => return Err(invalid(key, format!("{value:?}: give a size in b, kib or mib (such as 64kib)"))),
    };
    Ok((n * scale).round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_profile_reads_and_names_its_source() {
        for name in Link::profile_names() {
            let link = Link::profile(name).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(link.name, name);
            assert!(link.source.len() > 10, "{name} names where its numbers come from");
        }
        assert!(Link::profile("loopback").expect("loopback").is_direct());
        let fast4g = Link::profile("4g").expect("4g");
        assert_eq!((fast4g.rtt_ms, fast4g.down_kbit, fast4g.up_kbit), (165.0, 8100.0, 1350.0));
        assert_eq!(
            fast4g.describe(),
            "4g (RTT 165 ms ± 0 ms, down 8.1 Mbit/s, up 1.35 Mbit/s, burst 1500 B)"
        );
        assert_eq!(
            Link::parse("rtt=5ms").expect("valid").describe(),
            "rtt=5ms (RTT 5 ms ± 0 ms, down unlimited, up unlimited)"
        );
        assert_eq!(fast4g.label(), "4g: RTT 165 ms, 8.1 / 1.35 Mbit/s");
        assert_eq!(
            Link::parse("rtt=80ms,jitter=10ms,up=512kbit").expect("valid").label(),
            "rtt=80ms,jitter=10ms,up=512kbit: RTT 80 ms ± 10, unlimited / 0.512 Mbit/s"
        );
        assert_eq!(Link::parse("rtt=5ms").expect("valid").label(), "rtt=5ms: RTT 5 ms");
    }

    #[test]
    fn custom_values_read_with_their_units() {
        let link =
            Link::parse("rtt=80ms, jitter=10ms,down=8mbit,up=2mbit,burst=64kib,queue=1mib").expect("valid");
        assert_eq!((link.rtt_ms, link.jitter_ms, link.down_kbit, link.up_kbit), (80.0, 10.0, 8000.0, 2000.0));
        assert_eq!((link.burst_bytes, link.queue_bytes), (65536, Some(1 << 20)));
        assert_eq!(link.name, "rtt=80ms,jitter=10ms,down=8mbit,up=2mbit,burst=64kib,queue=1mib");
        assert_eq!(Link::parse("rtt=0.5s").expect("valid").rtt_ms, 500.0);
        assert_eq!(Link::parse("rtt=50ms").expect("valid").bytes_per_second(true), None);
        // A profile, changed.
        let lossy = Link::parse("4g, loss=2%").expect("valid");
        let four_g = Link::profile("4g").expect("4g");
        assert_eq!(
            (lossy.rtt_ms, lossy.down_kbit, lossy.loss_percent),
            (four_g.rtt_ms, four_g.down_kbit, 2.0)
        );
        assert_eq!(lossy.name, "4g,loss=2%");
        assert!(lossy.label().ends_with(", 2 % loss"), "{}", lossy.label());
        assert!(lossy.describe().contains("loss 2 % each way"), "{}", lossy.describe());
    }

    #[test]
    fn bad_links_are_refused_in_words() {
        let err = |s: &str| Link::parse(s).expect_err(s).to_string();
        assert!(err("5g").contains("unknown link profile \"5g\""), "{}", err("5g"));
        assert!(err("5g").contains("4g"), "the profiles are listed");
        assert!(err("rtt=fast").contains("not a number"), "{}", err("rtt=fast"));
        assert!(err("rtt=50").contains("ms, s or us"), "{}", err("rtt=50"));
        assert!(err("down=8mb").contains("kbit, mbit or gbit"), "{}", err("down=8mb"));
        assert!(err("latency=5ms").contains("unknown setting"), "{}", err("latency=5ms"));
        assert!(err("rtt=50ms,up").contains("key=value"), "{}", err("rtt=50ms,up"));
        assert!(err("rtt=99999s").contains("at most"), "{}", err("rtt=99999s"));
        assert!(err("queue=0b").contains("at least 1 byte"), "{}", err("queue=0b"));
        assert!(err("loss=150%").contains("0 to 100"), "{}", err("loss=150%"));
        assert!(err("loss=2ms").contains("expected %"), "{}", err("loss=2ms"));
        assert!(err("5g,loss=2%").contains("unknown link profile"), "{}", err("5g,loss=2%"));
        // A profile file with a field missing names it.
        let text = include_str!("../../links/4g.toml").replace("up_kbit = 1350.0\n", "");
        let e = Link::from_toml(&text).expect_err("missing field").to_string();
        assert!(e.contains("missing field `up_kbit`"), "{e}");
    }

    #[test]
    fn a_sweep_is_one_link_per_value() {
        let links = Link::none().sweep("rtt=0,10,50ms").expect("valid");
        let rtts: Vec<f64> = links.iter().map(|l| l.rtt_ms).collect();
        assert_eq!(rtts, vec![0.0, 10.0, 50.0]);
        assert_eq!(links[2].name, "rtt=50ms");
        assert!(links[0].is_direct(), "rtt=0 without bandwidth: no relay");
        let slow = Link::profile("3g").expect("3g").sweep("down=100kbit,1mbit").expect("valid");
        assert_eq!((slow[0].down_kbit, slow[1].down_kbit, slow[1].rtt_ms), (100.0, 1000.0, 562.5));
        assert_eq!(slow[1].name, "3g down=1mbit");
        assert!(Link::none().sweep("rtt=50ms").expect_err("one value").to_string().contains("at least two"));
        assert!(Link::none().sweep("colour=1,2").is_err());
        assert!(Link::none().sweep("rtt").is_err());
        // Units of their own: a bare value is not given the last one's.
        let (_, sizes) = sweep_values("payload=16,1k,1m").expect("valid");
        assert_eq!(sizes, ["16", "1k", "1m"]);
        let (_, rtts) = sweep_values("rtt=0,10,50ms").expect("valid");
        assert_eq!(rtts, ["0ms", "10ms", "50ms"]);
    }
}
