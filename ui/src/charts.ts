// The figures of a run, drawn with uPlot (fast at 100k points): latency of every call over
// time (paper Figs. 2 and 4), mean per set (Fig. 3) and histograms with the fitted normal
// curve (Figs. 5 and 6).
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

import { belowStep, formatUs } from "./format";
import { histogram, normalCounts, thin } from "./stats";
import type { FanoutReport, PlatformComparison, PowerSeries, Series, SweepReport, TransportReport, UplinkReport } from "./bindings";

const COLOURS: Record<string, string> = {
  ws: "#1f6feb",
  http: "#d97706",
  xhr: "#9333ea",
  "http-new": "#dc2626",
  "ws-push": "#0891b2",
  "long-poll": "#65a30d",
  poll: "#be185d",
  wss: "#4338ca",
  https: "#b45309",
  "https-new": "#b91c1c",
  h2: "#0d9488",
  sse: "#7c3aed",
  wt: "#15803d",
  "wt-streams": "#4d7c0f",
  "wt-dgram": "#ca8a04",
  h3: "#c2410c",
  "h3-new": "#9a3412",
  "wt-push": "#047857",
  "wt-push-dgram": "#a16207",
};

/** The web view's clients: their own hues, so a legend tells them from the native ones by colour, not by dashing alone. */
const WEBVIEW_COLOURS: Record<string, string> = {
  ws: "#0f766e",
  http: "#92400e",
  xhr: "#9333ea",
  "http-new": "#9f1239",
  "ws-push": "#155e75",
  "long-poll": "#3f6212",
  poll: "#831843",
  sse: "#5b21b6",
  wss: "#0e7490",
  https: "#a16207",
  wt: "#166534",
  "wt-streams": "#365314",
  "wt-dgram": "#854d0e",
};

export function colourOf(transport: string, client = "native"): string {
  const palette = client === "webview" ? WEBVIEW_COLOURS : COLOURS;
  return palette[transport] ?? "#6b7280";
}

/** A latency in the legend while hovering, with its unit; nothing when not hovering (not "--"). */
const usValue = (_u: uPlot, v: number | null) => (v === null || v === undefined ? "" : formatUs(v));

/** Most points drawn per series; longer series are cut into buckets keeping each maximum. */
const MAX_POINTS = 5_000;

function cssVar(name: string, fallback: string): string {
  const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return v || fallback;
}

function axes(xLabel: string, yLabel: string): uPlot.Axis[] {
  const stroke = cssVar("--muted", "#666");
  const grid = { stroke: cssVar("--grid", "#e5e7eb"), width: 1 };
  return [
    { label: xLabel, stroke, grid, ticks: grid },
    { label: yLabel, stroke, grid, ticks: grid, size: 70 },
  ];
}

/** A line's style; its label is the engine's ("xhr (web view)"). */
function seriesStyle(s: { transport: string; client: string; label: string }): uPlot.Series {
  return {
    label: s.label,
    stroke: colourOf(s.transport, s.client),
    width: 1.5,
    dash: s.client === "webview" ? [6, 3] : undefined,
    value: usValue,
  };
}

/** Charts on screen, so they can be resized and replaced. */
const live: { chart: uPlot; el: HTMLElement }[] = [];

export function destroyCharts(): void {
  for (const { chart } of live.splice(0)) chart.destroy();
}

function mount(el: HTMLElement, opts: Omit<uPlot.Options, "width" | "height">, data: uPlot.AlignedData, height = 260): uPlot {
  el.replaceChildren();
  const width = Math.max(280, el.clientWidth || 600);
  // A legend before the cursor is on the chart reads "call: —", never "call:" with nothing after.
  const series = opts.series.map((s) => {
    const value = s.value;
    if (typeof value !== "function") return { ...s, value: (_u: uPlot, v: number | null) => (v === null || v === undefined ? "—" : `${+v.toFixed(3)}`) };
    return { ...s, value: (u: uPlot, v: number | null, si: number, di: number | null) => (v === null || v === undefined ? "—" : value(u, v, si, di)) };
  });
  const chart = new uPlot({ ...opts, series, width, height } as uPlot.Options, data, el);
  live.push({ chart, el });
  return chart;
}

/** Streaming charts (the live monitor): resized with the window, but kept by `destroyCharts`. */
const streaming: { chart: uPlot; el: HTMLElement }[] = [];

let resizeTimer: ReturnType<typeof setTimeout> | undefined;
window.addEventListener("resize", () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => {
    for (const { chart, el } of [...live, ...streaming]) {
      if (el.isConnected) chart.setSize({ width: Math.max(260, el.clientWidth), height: chart.height });
    }
  }, 100);
});

/** A clock's step, µs, and how its readings are drawn: a reading below the step is only a bound,
 * drawn in the middle of [0, step) (a log scale has no 0; a bar at 0 µs would be a value) and
 * hovering as "< step (clock step)". */
function clockOf(report: TransportReport | undefined) {
  const step = report?.overall.clock_step_us ?? null;
  const censored = (us: number) => step !== null && step > 0 && us < step;
  return {
    drawn: (us: number) => (censored(us) ? step! / 2 : us),
    value: (_u: uPlot, v: number | null) => (v === null || v === undefined ? "" : censored(v) ? `< ${formatUs(step!)} (clock step)` : formatUs(v)),
  };
}

/** Latency of every call, in measurement order, per transport and client (log scale). */
export function latencyOverTime(el: HTMLElement, series: Series[], reports: TransportReport[]): void {
  const longest = Math.max(0, ...series.map((s) => s.latency_us.length));
  const stride = Math.max(1, Math.ceil(longest / MAX_POINTS));
  const clocks = series.map((s) => clockOf(reports.find((r) => r.transport === s.transport && r.client === s.client)));
  const thinned = series.map((s, i) => thin(s.latency_us.map(clocks[i].drawn), stride));
  const buckets = Math.max(0, ...thinned.map((t) => t.length));
  const x = Array.from({ length: buckets }, (_, k) => k * stride + 1);
  const ys = thinned.map((t) => x.map((_, k) => (k < t.length && t[k] > 0 ? t[k] : null)));
  mount(
    el,
    {
      scales: { x: { time: false }, y: { distr: 3 } },
      axes: axes(stride > 1 ? `call (largest of each ${stride})` : "call", "latency (µs)"),
      series: [
        { label: "call", value: (_u, v) => (v === null ? "" : `call ${v}`) },
        ...series.map((s, i) => ({ ...seriesStyle(s), value: clocks[i].value, points: { show: stride === 1 && buckets <= 400 } })),
      ],
      legend: { live: true },
    },
    [x, ...ys] as uPlot.AlignedData,
  );
}

/** Mean latency of each set (the paper's Fig. 3). */
export function setMeans(el: HTMLElement, reports: TransportReport[]): void {
  const sets = [...new Set(reports.flatMap((r) => r.sets.map((s) => s.set)))].sort((a, b) => a - b);
  const ys = reports.map((r) => sets.map((set) => r.sets.find((s) => s.set === set)?.summary.mean_us ?? null));
  mount(
    el,
    {
      scales: { x: { time: false } },
      axes: ((a) => [{ ...a[0], incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000] }, a[1]])(axes("set", "mean latency (µs)")),
      legend: { live: false },
      series: [{ label: "set" }, ...reports.map((r) => ({ ...seriesStyle(r), points: { show: true, size: 7 } }))],
    },
    [sets, ...ys] as uPlot.AlignedData,
    220,
  );
}

/** Histogram of one group's latencies with the normal curve fitted to them (Figs. 5 and 6). */
export function histogramWithNormal(el: HTMLElement, s: Series, report: TransportReport | undefined): void {
  // A reading below the clock's step is only a bound: counted in the middle of [0, step).
  const clock = clockOf(report);
  const bins = histogram(s.latency_us.map(clock.drawn), 40);
  const x = bins.map((b) => (b.low + b.high) / 2);
  const counts = bins.map((b) => b.count);
  const fit = report?.normal;
  const curve = fit ? normalCounts(bins, s.latency_us.length, fit.mu_us, fit.sigma_us) : bins.map(() => null);
  const colour = colourOf(s.transport, s.client);
  mount(
    el,
    {
      title: s.label,
      scales: { x: { time: false } },
      axes: axes("latency (µs)", "calls"),
      series: [
        { label: "latency", value: clock.value },
        { label: "calls", stroke: colour, fill: colour + "55", paths: uPlot.paths.bars!({ size: [0.95, Infinity] }), points: { show: false }, value: (_u, v) => (v === null ? "—" : `${v.toLocaleString()} calls`) },
        { label: "normal fit", stroke: cssVar("--fg", "#111"), width: 2, dash: [4, 3], points: { show: false }, value: (_u, v) => (v === null ? "—" : `${v.toFixed(1)} calls`) },
      ],
      legend: { live: true },
    },
    [x, counts, curve] as uPlot.AlignedData,
    200,
  );
}

/** CPU (cores) and power (W) between readings over the run, seconds from its first reading. */
export function powerOverTime(el: HTMLElement, p: PowerSeries, withWebview: boolean): void {
  const t0 = p.at_unix_ns[0] ?? 0;
  const x = p.at_unix_ns.map((t) => (t - t0) / 1e9);
  const lines: { label: string; data: (number | null)[]; colour: string; scale: string; dash?: number[] }[] = [
    { label: withWebview ? "CPU, Duplex + web view (cores)" : "CPU, Duplex (cores)", data: p.process_cpu_cores, colour: "#1f6feb", scale: "cores" },
    { label: "CPU, whole machine (cores)", data: p.system_cpu_cores, colour: "#6b7280", scale: "cores", dash: [4, 3] },
    { label: "RAPL (W)", data: p.rapl_w, colour: "#dc2626", scale: "W" },
    { label: "battery (W)", data: p.battery_w, colour: "#65a30d", scale: "W" },
  ].filter((l) => l.data.some((v) => v !== null));
  const watts = lines.some((l) => l.scale === "W");
  const [xAxis, yAxis] = axes("seconds", "CPU (cores)");
  mount(
    el,
    {
      scales: { x: { time: false }, cores: { range: (_u, _min, max) => [0, Math.max(1, max)] }, W: {} },
      axes: [xAxis, { ...yAxis, scale: "cores" }, ...(watts ? [{ ...yAxis, label: "power (W)", scale: "W", side: 1, grid: { show: false } }] : [])],
      series: [
        { label: "s", value: (_u, v) => (v === null ? "" : `${v.toFixed(1)} s`) },
        ...lines.map((l) => ({
          label: l.label,
          stroke: l.colour,
          width: 1.5,
          scale: l.scale,
          dash: l.dash,
          points: { show: false },
          value: (_u: uPlot, v: number | null) => (v === null ? "" : `${v.toFixed(2)} ${l.scale === "W" ? "W" : "cores"}`),
        })),
      ],
      legend: { live: true },
    },
    [x, ...lines.map((l) => l.data)] as uPlot.AlignedData,
    220,
  );
}

/** Median latency per group (run or platform), a line per transport and client. */
export function groupMedians(el: HTMLElement, c: PlatformComparison): void {
  const keys = [...new Set(c.cells.map((x) => `${x.transport}|${x.client}`))];
  const x = c.groups.map((_, i) => i + 1);
  // A median below its clock step is only a bound: no point (a log axis has no 0 either).
  const median = (k: string, g: number) => {
    const s = c.cells.find((cell) => `${cell.transport}|${cell.client}` === k && cell.group === g - 1)?.summary;
    return s && !belowStep(s, s.p50_us) ? s.p50_us : null;
  };
  const ys = keys.map((k) => x.map((g) => median(k, g)));
  const name = (t: number) => {
    const label = Number.isInteger(t) && t >= 1 && t <= c.groups.length ? c.groups[t - 1].label : "";
    // Groups often share their start (the platform): keep both ends, where they differ.
    return label.length > 30 ? `${label.slice(0, 12)}…${label.slice(-17)}` : label;
  };
  mount(
    el,
    {
      scales: { x: { time: false, range: (_u, min, max) => [min - 0.5, max + 0.5] }, y: { distr: 3 } },
      axes: ((a) => [{ ...a[0], incrs: [1], values: (_u: uPlot, ticks: number[]) => ticks.map(name) }, a[1]])(axes("group", "median latency (µs)")),
      series: [
        { label: "group" },
        ...keys.map((k) => ({ ...seriesStyle(c.cells.find((cell) => `${cell.transport}|${cell.client}` === k)!), points: { show: true, size: 8 } })),
      ],
      legend: { live: false },
    },
    [x, ...ys] as uPlot.AlignedData,
    220,
  );
}

/** A chart fed while it is on screen (the live monitor): the caller keeps it and calls
 * `setData`; `destroyCharts` leaves it alone. x is seconds; one line per label. */
export function streamChart(el: HTMLElement, yLabel: string, lines: { label: string; colour: string; width?: number }[], height = 170): uPlot {
  // A new session's chart replaces the last one drawn here.
  for (let i = streaming.length - 1; i >= 0; i--) {
    if (streaming[i].el === el) streaming.splice(i, 1)[0].chart.destroy();
  }
  el.replaceChildren();
  const [xAxis, yAxis] = axes("seconds", yLabel);
  const chart = new uPlot(
    {
      width: Math.max(260, el.clientWidth || 420),
      height,
      scales: { x: { time: false }, y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] } },
      axes: [xAxis, { ...yAxis, size: 56 }],
      series: [{ label: "s" }, ...lines.map((l) => ({ label: l.label, stroke: l.colour, width: l.width ?? 1.25, points: { show: false } }))],
      legend: { live: false },
      cursor: { show: false },
    },
    [[], ...lines.map(() => [])] as unknown as uPlot.AlignedData,
    el,
  );
  streaming.push({ chart, el });
  return chart;
}

/** Share of snapshots shown within x ms, per feed (a CDF of staleness; log x). */
export function stalenessCdf(el: HTMLElement, feeds: { label: string; colour: string; values: number[] }[]): void {
  const xs = [...new Set(feeds.flatMap((f) => f.values.map((v) => Math.max(0.01, v))))].sort((a, b) => a - b);
  const sorted = feeds.map((f) => [...f.values].sort((a, b) => a - b));
  const ys = sorted.map((v) => {
    let i = 0;
    return xs.map((x) => {
      while (i < v.length && Math.max(0.01, v[i]) <= x) i++;
      return v.length ? i / v.length : null;
    });
  });
  mount(
    el,
    {
      scales: { x: { time: false, distr: 3 }, y: { range: [0, 1] } },
      axes: axes("staleness when shown (ms, log)", "share of snapshots"),
      // A CDF is a step: drawn as lines between its points, a feed whose every snapshot was
      // ~1 s stale seemed to rise from 10 ms on.
      series: [{ label: "ms" }, ...feeds.map((f) => ({ label: f.label, stroke: f.colour, width: 2, points: { show: false }, paths: uPlot.paths.stepped!({ align: 1 }) }))],
      legend: { live: false },
    },
    [xs, ...ys] as uPlot.AlignedData,
    220,
  );
}

/** A sweep: each transport's median (points on a solid line) against the swept setting, and the
 * link's model (dashed, same colour): where the lines part, the stack costs more than the link. */
export function sweepMedians(el: HTMLElement, sweep: SweepReport): void {
  const order = sweep.points.map((p, i) => ({ value: p.value, i })).sort((a, b) => a.value - b.value);
  const x = order.map((o) => o.value);
  // Sizes span decades, and so do their transfer times: a payload sweep is drawn log-log, where a
  // transfer's slope and the model's are seen side by side (a zero has no place on it).
  const logLog = sweep.setting === "payload";
  const ms = (v: number | null | undefined) => (v === null || v === undefined || (logLog && v <= 0) ? null : v / 1000);
  const msValue = (_u: uPlot, v: number | null) => (v === null || v === undefined ? "" : formatUs(v * 1000));
  // Transports often measure the same over a link (ws and http both one round trip): each line
  // drawn earlier is wider, with larger hollow points, so one on top of another still shows as
  // a band and concentric rings.
  const under = (k: number) => sweep.lines.length - 1 - k;
  const lines = sweep.lines.flatMap((l, k) => {
    const style = seriesStyle(l);
    const medians = order.map((o) => ms(l.median_us[o.i]));
    const models = order.map((o) => ms(l.model_us[o.i]));
    // Measured lines solid (a web view's too: its colour tells it apart), models dashed.
    const points = { show: true, size: 7 + 3 * under(k), width: 2, fill: cssVar("--card", "#fff") };
    const drawn: { series: uPlot.Series; data: (number | null)[] }[] = [
      { series: { ...style, dash: undefined, width: 2 + 1.5 * under(k), value: msValue, points }, data: medians },
    ];
    if (models.some((m) => m !== null)) {
      drawn.push({ series: { ...style, label: `${style.label} model`, value: msValue, width: 1, dash: [5, 4], points: { show: false } }, data: models });
    }
    return drawn;
  });
  mount(
    el,
    {
      scales: logLog
        ? { x: { time: false, distr: 3 }, y: { distr: 3 } }
        : { x: { time: false }, y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.05)] } },
      axes: axes(`${sweep.setting} (${sweep.unit})`, "median latency (ms)"),
      series: [{ label: sweep.setting, value: (_u, v) => (v === null ? "" : `${v} ${sweep.unit}`) }, ...lines.map((l) => l.series)],
      legend: { live: true },
    },
    [x, ...lines.map((l) => l.data)] as uPlot.AlignedData,
    300,
  );
}

/** Rates people send at, messages per second (log spaced). */
const RATES = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000];

/** What each transport needs of an uplink (its bytes per message × the rate, kbit/s) against the
 * uplinks of the link profiles: where a line crosses an uplink, that link is full. Log-log. */
export function uplinkNeeds(el: HTMLElement, uplink: UplinkReport): void {
  const needs = uplink.rows.map((r) => ({
    series: { ...seriesStyle(r), value: (_u: uPlot, v: number | null) => (v === null ? "" : `${Math.round(v).toLocaleString()} kbit/s`), points: { show: false } },
    data: RATES.map((rate) => (r.bytes_out_per_msg * 8 * rate) / 1000),
  }));
  const greys = ["#111827", "#374151", "#4b5563", "#6b7280", "#9ca3af"];
  const limits = uplink.uplinks.map((u, i) => ({
    series: { label: `${u.name} uplink`, stroke: greys[i % greys.length], width: 1.5, dash: [8, 4], points: { show: false }, value: () => `${u.up_kbit.toLocaleString()} kbit/s` },
    data: RATES.map(() => u.up_kbit),
  }));
  mount(
    el,
    {
      scales: { x: { time: false, distr: 3 }, y: { distr: 3 } },
      axes: axes("messages per second (log)", "uplink used (kbit/s, log)"),
      series: [{ label: "rate", value: (_u, v) => (v === null ? "" : `${v.toLocaleString()}/s`) }, ...needs.map((n) => n.series), ...limits.map((l) => l.series)],
      legend: { live: true },
    },
    [RATES, ...needs.map((n) => n.data), ...limits.map((l) => l.data)] as uPlot.AlignedData,
    260,
  );
}

/** Push fan-out against the number of subscribers (log-log), one colour per transport: `figure`
 * "latency" draws the last subscriber (solid, points) and the median one (dashed); "cpu" the
 * server's CPU time per delivered event. */
export function fanoutChart(el: HTMLElement, report: FanoutReport, figure: "latency" | "cpu"): void {
  const x = [...new Set(report.cells.map((c) => c.subscribers))].sort((a, b) => a - b);
  const transports = [...new Set(report.cells.map((c) => c.transport))];
  const at = (t: string, n: number) => report.cells.find((c) => c.transport === t && c.subscribers === n);
  const ms = (us: number | null | undefined) => (us === null || us === undefined ? null : us / 1000);
  const msValue = (_u: uPlot, v: number | null) => (v === null || v === undefined ? "" : formatUs(v * 1000));
  const lines = transports.flatMap((t): { series: uPlot.Series; data: (number | null)[] }[] => {
    const style = { ...seriesStyle({ transport: t, client: "native", label: t }), value: msValue };
    if (figure === "cpu") {
      // In µs, as the table gives it.
      const perEvent = (n: number) => at(t, n)?.server_cpu_per_delivery_us ?? null;
      return [{ series: { ...style, value: (_u: uPlot, v: number | null) => (v === null ? "" : formatUs(v)), points: { show: true, size: 7 } }, data: x.map(perEvent) }];
    }
    return [
      { series: { ...style, label: `${t} last`, points: { show: true, size: 7 } }, data: x.map((n) => ms(at(t, n)?.last_us)) },
      { series: { ...style, label: `${t} p50`, width: 1, dash: [5, 4], points: { show: false } }, data: x.map((n) => ms(at(t, n)?.p50_us)) },
    ];
  });
  mount(
    el,
    {
      // The subscriber counts measured, not the decades around them.
      scales: { x: { time: false, distr: 3, range: (_u, min, max) => (min === max ? [min / 2, max * 2] : [min, max]) }, y: { distr: 3 } },
      // A tick at each count measured (20, 50, 200…), not at the decades alone.
      axes: ((a) => [{ ...a[0], splits: () => x, values: (_u: uPlot, ticks: (number | null)[]) => ticks.map((t) => (t == null ? "" : t.toLocaleString())) }, a[1]])(
        axes("subscribers (log)", figure === "cpu" ? "server CPU per delivered event (µs, log)" : "latency (ms, log)"),
      ),
      series: [{ label: "subscribers", value: (_u, v) => (v == null ? "" : v.toLocaleString()) }, ...lines.map((l) => l.series)],
      legend: { live: true },
    },
    [x, ...lines.map((l) => l.data)] as uPlot.AlignedData,
    260,
  );
}
