//! Results from several runs (devices, browsers) side by side: per group and transport the
//! latency summary, bytes and CPU/energy per message, WebSocket-vs-AJAX ratios, and whether
//! each group differs significantly from the first (the reference).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::compare::{ALPHA, mann_whitney};
use super::energy::Quantity;
use super::{AnalysisOptions, Group, Summary, analyze, format_p, group_of, summarize};
use duplex_clients::Transport;
use duplex_model::record::{ClientKind, RunRecord, RunStatus};

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
    /// The group's name: its platform (and browser), with the run's id when grouping by run,
    /// and its conditions when the runs compared do not share them.
    pub label: String,
    pub run_ids: Vec<String>,
    /// Which clock measured what in this group's runs (a remote run's push latencies span two
    /// machines' clocks).
    pub clocks: String,
    /// What the runs measured under: the plan's conditions and the topology.
    #[serde(default)]
    pub conditions: String,
}

/// Which runs a comparison takes.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, TS, JsonSchema)]
pub struct CompareOptions {
    pub by: GroupBy,
    /// Pool failed and cancelled runs too (left out by default: a run cut short is not the
    /// same experiment).
    #[serde(default)]
    pub include_incomplete: bool,
    /// Only the runs over this link (its name, as runs record it: `4g`, `rtt=50ms`), or over
    /// none (`none`).
    #[serde(default)]
    #[ts(optional)]
    pub link: Option<String>,
    /// Compare runs measured in different topologies (the app's cross-thread run beside a
    /// joined browser's, across processes) on purpose: the difference is said, not a reason
    /// to keep them apart.
    #[serde(default)]
    pub across_topologies: bool,
}

/// The name of the link a run was measured over: `none` without one.
pub fn link_name(run: &RunRecord) -> &str {
    run.plan.link.as_ref().filter(|l| !l.is_direct()).map_or("none", |l| l.name.as_str())
}

impl From<GroupBy> for CompareOptions {
    fn from(by: GroupBy) -> Self {
        CompareOptions { by, include_incomplete: false, link: None, across_topologies: false }
    }
}

/// One transport and client in one group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, JsonSchema)]
pub struct PlatformCell {
    pub group: usize,
    pub transport: Transport,
    pub client: ClientKind,
    /// How every view names this row: "ws", "xhr (web view)".
    pub label: String,
    pub summary: Summary,
    /// Mean over the group's runs of the CPU-seconds per 1,000 messages above idle.
    pub cpu_s_per_1k: Option<f64>,
    /// Mean over the group's runs of µJ per message above idle (RAPL, else battery).
    pub energy_uj_per_msg: Option<f64>,
    /// AJAX rows: this transport's median over the same group's WebSocket median.
    pub over_ws_median: Option<f64>,
    /// [`PlatformCell::over_ws_median`] in words: "2.10×", "—".
    pub over_ws_text: String,
    /// Groups after the first: this group's median over the reference group's.
    pub vs_reference_median: Option<f64>,
    pub vs_reference_p: Option<f64>,
    pub vs_reference: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, JsonSchema)]
pub struct PlatformComparison {
    pub by: GroupBy,
    /// What a reader must know first: runs left out, and conditions that differ between groups.
    #[serde(default)]
    pub notes: Vec<String>,
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
    // Only Apple's devices run Safari; WebKitGTK (Linux's web view, the app's) sends a Safari
    // token and a made-up "Version/60.5" for the sites that sniff for it.
    let apple = ["Macintosh", "iPhone", "iPad", "iPod"].iter().any(|d| user_agent.contains(d));
    if apple && user_agent.contains("Safari/") {
        return Some(version_after("Version/").map_or_else(|| "WebKit".into(), |v| format!("Safari {v}")));
    }
    if user_agent.contains("AppleWebKit/") && user_agent.contains("Linux") && !user_agent.contains("Android")
    {
        return Some("WebKitGTK".into());
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

fn short_id(id: &str) -> String {
    id.chars().take(8).collect()
}

fn mean(values: impl Iterator<Item = f64>) -> Option<f64> {
    let v: Vec<f64> = values.filter(|x| x.is_finite()).collect();
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

/// The conditions a run measured under: its plan's and its topology (left out when runs are
/// compared across topologies on purpose).
pub fn conditions_of(run: &RunRecord, across_topologies: bool) -> String {
    if across_topologies {
        run.plan.conditions()
    } else {
        format!("{}, {}", run.plan.conditions(), run.topology.name())
    }
}

pub fn compare_platforms(runs: &[RunRecord], options: CompareOptions) -> PlatformComparison {
    let by = options.by;
    let mut notes = Vec::new();
    let filtered: Vec<RunRecord>;
    let runs = match &options.link {
        Some(link) => {
            filtered = runs.iter().filter(|r| link_name(r) == link).cloned().collect();
            notes.push(format!("only the runs over the link {link}: {} of {}", filtered.len(), runs.len()));
            filtered.as_slice()
        }
        None => runs,
    };
    let incomplete: Vec<&RunRecord> =
        runs.iter().filter(|r| r.status != RunStatus::Complete && by == GroupBy::Platform).collect();
    let runs: Vec<&RunRecord> = if options.include_incomplete || incomplete.is_empty() {
        runs.iter().collect()
    } else {
        notes.push(format!(
            "{} failed or cancelled run(s) left out of the pooled groups ({})",
            incomplete.len(),
            incomplete.iter().map(|r| short_id(&r.id)).collect::<Vec<_>>().join(", ")
        ));
        runs.iter().filter(|r| r.status == RunStatus::Complete).collect()
    };
    if options.across_topologies {
        let mut topologies: Vec<&str> = runs.iter().map(|r| r.topology.name()).collect();
        topologies.sort_unstable();
        topologies.dedup();
        if topologies.len() > 1 {
            notes.push(format!(
                "compared across topologies on purpose ({}): besides the transport, each differs by how the machine hands a call between threads or processes (tens of µs on loopback; nothing over a real link)",
                topologies.join(", ")
            ));
        }
    }
    let mut all_conditions: Vec<String> =
        runs.iter().map(|r| conditions_of(r, options.across_topologies)).collect();
    all_conditions.sort();
    all_conditions.dedup();
    let mixed = all_conditions.len() > 1;
    if mixed {
        notes.push(format!(
            "the runs were measured under {} different conditions, kept apart (pooled only where they match): {}",
            all_conditions.len(),
            all_conditions.join(" | ")
        ));
    }
    let mut groups: Vec<PlatformGroup> = Vec::new();
    let mut members: Vec<Vec<&RunRecord>> = Vec::new();
    // Each group's label before any "#2" that tells it from a namesake: what runs pool by.
    let mut bases: Vec<String> = Vec::new();
    for run in runs {
        let conditions = conditions_of(run, options.across_topologies);
        let mut label = platform_label(run);
        if mixed {
            label = format!("{label} · {}", run.plan.name.as_deref().unwrap_or("custom plan"));
            if let Some(link) = run.plan.link.as_ref().filter(|l| !l.is_direct()) {
                label = format!("{label} over {}", link.name);
            }
        }
        if by == GroupBy::Run {
            label = format!("{label} ({})", short_id(&run.id));
        }
        let same = |i: &usize| bases[*i] == label && groups[*i].conditions == conditions;
        match (0..groups.len()).find(same) {
            Some(i) if by == GroupBy::Platform => {
                groups[i].run_ids.push(run.id.clone());
                members[i].push(run);
            }
            _ => {
                // Two condition sets under one plan name: tell them apart by number.
                bases.push(label.clone());
                let namesakes = bases.iter().filter(|b| **b == label).count();
                if namesakes > 1 {
                    label = format!("{label} #{namesakes}");
                }
                groups.push(PlatformGroup {
                    label,
                    run_ids: vec![run.id.clone()],
                    clocks: String::new(),
                    conditions,
                });
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
        members.iter().flatten().flat_map(|r| r.samples.iter().map(|s| (s.transport, s.client))).collect();
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
                        group.clock_step_us = match (group.clock_step_us, part.clock_step_us) {
                            (Some(a), Some(b)) => Some(a.max(b)),
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
            let partners = transport.websocket_partners();
            let over_ws_median = partners
                .iter()
                .filter(|ws| !partners.contains(&transport) && **ws != transport)
                .find_map(|ws| key_index(*ws, client).map(|w| &pooled[g][w].1).filter(|w| w.count > 0))
                .and_then(|w| Summary::ratio((summary, summary.p50_us), (w, w.p50_us)));
            let (mut vs_median, mut vs_p, mut vs_words) = (None, None, None);
            if g > 0 {
                let (reference, r) = &pooled[0][k];
                if groups[g].conditions != groups[0].conditions {
                    vs_words = Some(format!(
                        "not compared: measured under other conditions than {} (see the groups; --across-topologies compares topologies on purpose)",
                        groups[0].label
                    ));
                } else if !reference.latencies_us.is_empty() && !group.latencies_us.is_empty() {
                    let ratio = Summary::ratio((summary, summary.p50_us), (r, r.p50_us));
                    let p = mann_whitney(&reference.latencies_us, &group.latencies_us).map(|t| t.p);
                    let medians = format!("median {} vs {}", summary.show(summary.p50_us), r.show(r.p50_us));
                    vs_words = Some(match (p, ratio) {
                        (Some(p), Some(ratio)) if p < ALPHA => format!(
                            "{:.2}× {} than {} ({medians}, {})",
                            if ratio >= 1.0 { ratio } else { 1.0 / ratio },
                            if ratio >= 1.0 { "slower" } else { "faster" },
                            groups[0].label,
                            format_p(p)
                        ),
                        (Some(p), None) if p < ALPHA => format!(
                            "differs from {} ({medians}, {}); no ratio: a median is below its clock step",
                            groups[0].label,
                            format_p(p)
                        ),
                        (Some(p), _) => format!(
                            "no significant difference from {} ({medians}, {})",
                            groups[0].label,
                            format_p(p)
                        ),
                        (None, _) => "too few samples to compare".into(),
                    });
                    vs_median = ratio;
                    vs_p = p;
                }
            }
            cells.push(PlatformCell {
                group: g,
                transport,
                client,
                label: client.label(transport),
                summary: summary.clone(),
                cpu_s_per_1k: per_message(Quantity::ProcessCpu, 1e3),
                energy_uj_per_msg: per_message(Quantity::Rapl, 1e6)
                    .or_else(|| per_message(Quantity::Battery, 1e6)),
                over_ws_median,
                over_ws_text: super::format_median_ratio(over_ws_median, None),
                vs_reference_median: vs_median,
                vs_reference_p: vs_p,
                vs_reference: vs_words,
            });
        }
    }
    PlatformComparison { by, notes, groups, cells }
}
