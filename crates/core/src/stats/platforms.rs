//! Results from several runs (devices, browsers) side by side: per group and transport the
//! latency summary, bytes and CPU/energy per message, WebSocket-vs-AJAX ratios, and whether
//! each group differs significantly from the first (the reference).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::compare::{ALPHA, mann_whitney};
use super::energy::Quantity;
use super::{AnalysisOptions, Group, Summary, analyze, format_p, format_us, group_of, summarize};
use duplex_clients::Transport;
use duplex_model::record::{ClientKind, RunRecord};

/// How runs are put together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, TS, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum GroupBy {
    /// One column per run.
    Run,
    /// Runs of the same platform (and, for web-view clients, the same browser) pooled.
    #[default]
    Platform,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, JsonSchema)]
pub struct PlatformGroup {
    pub label: String,
    pub run_ids: Vec<String>,
    /// Which clock measured what in this group's runs (a remote run's push latencies span two
    /// machines' clocks).
    pub clocks: String,
}

/// One transport and client in one group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, JsonSchema)]
pub struct PlatformCell {
    pub group: usize,
    pub transport: Transport,
    pub client: ClientKind,
    pub summary: Summary,
    /// Mean over the group's runs of the CPU-seconds per 1,000 messages above idle.
    pub cpu_s_per_1k: Option<f64>,
    /// Mean over the group's runs of µJ per message above idle (RAPL, else battery).
    pub energy_uj_per_msg: Option<f64>,
    /// AJAX rows: this transport's median over the same group's WebSocket median.
    pub over_ws_median: Option<f64>,
    /// Groups after the first: this group's median over the reference group's.
    pub vs_reference_median: Option<f64>,
    pub vs_reference_p: Option<f64>,
    pub vs_reference: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, JsonSchema)]
pub struct PlatformComparison {
    pub by: GroupBy,
    pub groups: Vec<PlatformGroup>,
    pub cells: Vec<PlatformCell>,
}

/// "Chrome 131", "Firefox 133", "Safari 17" from a user agent; None if unrecognised.
pub fn browser_of(user_agent: &str) -> Option<String> {
    let version_after = |key: &str| {
        let rest = &user_agent[user_agent.find(key)? + key.len()..];
        let major: String = rest.chars().take_while(char::is_ascii_digit).collect();
        (!major.is_empty()).then_some(major)
    };
    for (key, name) in [("Edg/", "Edge"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome")] {
        if let Some(v) = version_after(key) {
            return Some(format!("{name} {v}"));
        }
    }
    if user_agent.contains("Safari/") {
        return Some(version_after("Version/").map_or_else(|| "WebKit".into(), |v| format!("Safari {v}")));
    }
    user_agent.contains("AppleWebKit/").then(|| "WebKit".into())
}

/// A run's group label when grouping by platform: the platform, and the browser for a run
/// measured by a browser alone (the app's runs pool by platform whatever their web view).
pub fn platform_label(record: &RunRecord) -> String {
    let label = record.platform.label();
    let browser_only = record.samples.iter().all(|s| s.client == ClientKind::Webview);
    match record.webview.as_ref().and_then(|w| browser_of(&w.user_agent)) {
        Some(browser) if browser_only => format!("{label} · {browser}"),
        _ => label,
    }
}

fn mean(values: impl Iterator<Item = f64>) -> Option<f64> {
    let v: Vec<f64> = values.filter(|x| x.is_finite()).collect();
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

pub fn compare_platforms(runs: &[RunRecord], by: GroupBy) -> PlatformComparison {
    let mut groups: Vec<PlatformGroup> = Vec::new();
    let mut members: Vec<Vec<&RunRecord>> = Vec::new();
    for run in runs {
        let label = match by {
            GroupBy::Run => {
                format!("{} ({})", platform_label(run), run.id.chars().take(8).collect::<String>())
            }
            GroupBy::Platform => platform_label(run),
        };
        match groups.iter().position(|g| g.label == label) {
            Some(i) if by == GroupBy::Platform => {
                groups[i].run_ids.push(run.id.clone());
                members[i].push(run);
            }
            _ => {
                groups.push(PlatformGroup { label, run_ids: vec![run.id.clone()], clocks: String::new() });
                members.push(vec![run]);
            }
        }
    }
    for (group, runs) in groups.iter_mut().zip(&members) {
        let telling = runs.iter().find(|r| !r.topology.one_clock()).or(runs.first());
        group.clocks = telling.map(|r| r.clock_note().to_owned()).unwrap_or_default();
    }
    let reports: Vec<Vec<super::Report>> =
        members.iter().map(|m| m.iter().map(|r| analyze(r, &AnalysisOptions::default())).collect()).collect();

    let mut keys: Vec<(Transport, ClientKind)> =
        runs.iter().flat_map(|r| r.samples.iter().map(|s| (s.transport, s.client))).collect();
    keys.sort();
    keys.dedup();
    // Each group's samples of each transport and client, pooled over its runs once, with
    // their summary: cells, WebSocket ratios and the reference all read from here.
    let pooled: Vec<Vec<(Group, Summary)>> = members
        .iter()
        .map(|runs| {
            keys.iter()
                .map(|&(t, c)| {
                    let mut group = Group::default();
                    for run in runs {
                        let part = group_of(run, t, c, None);
                        group.latencies_us.extend(part.latencies_us);
                        group.errors += part.errors;
                        group.bytes_out += part.bytes_out;
                        group.bytes_in += part.bytes_in;
                        group.elapsed_ns = match (group.elapsed_ns, part.elapsed_ns) {
                            (Some(a), Some(b)) => Some(a + b),
                            (a, b) => a.or(b),
                        };
                    }
                    let summary = summarize(&group);
                    (group, summary)
                })
                .collect()
        })
        .collect();
    let key_index = |t: Transport, c: ClientKind| keys.iter().position(|k| *k == (t, c));

    let mut cells = Vec::new();
    for (g, _) in groups.iter().enumerate() {
        for (k, &(transport, client)) in keys.iter().enumerate() {
            let (group, summary) = &pooled[g][k];
            if group.latencies_us.is_empty() && group.errors == 0 {
                continue;
            }
            let per_message = |q: Quantity, scale: f64| {
                mean(reports[g].iter().filter_map(|r| {
                    let t = r
                        .energy
                        .as_ref()?
                        .transports
                        .iter()
                        .find(|t| t.transport == transport && t.client == client)?;
                    Some(t.cost(q)?.measured.as_ref()?.per_message * scale)
                }))
            };
            let ws = Transport::websocket_of(transport.pattern());
            let over_ws_median = (ws != transport)
                .then(|| key_index(ws, client))
                .flatten()
                .map(|w| &pooled[g][w].1)
                .filter(|w| w.count > 0)
                .map(|w| summary.p50_us / w.p50_us);
            let (mut vs_median, mut vs_p, mut vs_words) = (None, None, None);
            if g > 0 {
                let (reference, r) = &pooled[0][k];
                if !reference.latencies_us.is_empty() && !group.latencies_us.is_empty() {
                    let ratio = summary.p50_us / r.p50_us;
                    let p = mann_whitney(&reference.latencies_us, &group.latencies_us).map(|t| t.p);
                    let medians = format!("median {} vs {}", format_us(summary.p50_us), format_us(r.p50_us));
                    vs_words = Some(match p {
                        Some(p) if p < ALPHA => format!(
                            "{:.2}× {} than {} ({medians}, {})",
                            if ratio >= 1.0 { ratio } else { 1.0 / ratio },
                            if ratio >= 1.0 { "slower" } else { "faster" },
                            groups[0].label,
                            format_p(p)
                        ),
                        Some(p) => format!(
                            "no significant difference from {} ({medians}, {})",
                            groups[0].label,
                            format_p(p)
                        ),
                        None => "too few samples to compare".into(),
                    });
                    vs_median = Some(ratio);
                    vs_p = p;
                }
            }
            cells.push(PlatformCell {
                group: g,
                transport,
                client,
                summary: summary.clone(),
                cpu_s_per_1k: per_message(Quantity::ProcessCpu, 1e3),
                energy_uj_per_msg: per_message(Quantity::Rapl, 1e6)
                    .or_else(|| per_message(Quantity::Battery, 1e6)),
                over_ws_median,
                vs_reference_median: vs_median,
                vs_reference_p: vs_p,
                vs_reference: vs_words,
            });
        }
    }
    PlatformComparison { by, groups, cells }
}
