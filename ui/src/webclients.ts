// The web view's own clients: the browser's WebSocket against fetch and XMLHttpRequest (the
// paper's jQuery AJAX), talking to the app's embedded server. They run what the engine hands
// them (a `ClientRun`: its part of the plan, its blocks in order) with the engine's meaning of
// pacing (see `pacer`), and produce samples in the engine's shape, labelled `webview`. The
// channels themselves are in channels.ts.
import { errorMessage } from "./format";
import { clockResolution } from "./stats";
import type { BlockTiming, ClientPart, ClientRun, ConnectionUse, Plan, Sample, Transport, Unavailable, WebTransportAccess } from "./bindings";
import { type ChannelFactory, type EchoChannel, ExchangeError, echoRequest, fetchChannel, openWebSocket, sseChannel, xhrChannel } from "./channels";
import { modeOf, openWebTransport, webTransportUnavailable } from "./webtransport";

export { type EchoChannel, ExchangeError, fetchChannel, openWebSocket, sseChannel, sseEventLength } from "./channels";

/**
 * The browser's own clients; `token` is the access token of a server in LAN mode, `webtransport`
 * how the page reaches the server's WebTransport (its certificate's SHA-256), as the host said.
 */
export function browserChannels(token: string | null = null, webtransport: WebTransportAccess | null = null): ChannelFactory {
  const open: ChannelFactory = async (transport, server, plan) => {
    const base = `http://${server}`;
    const query = token ? `?token=${encodeURIComponent(token)}` : "";
    switch (transport) {
      case "ws":
        return openWebSocket(`ws://${server}/ws${query}`, plan.timeout_ms);
      // Over TLS: only where the engine hands them, i.e. where the browser trusts the server.
      case "wss":
        return openWebSocket(`wss://${server}/ws${query}`, plan.timeout_ms);
      case "https":
        return fetchChannel(`https://${server}`, plan.http_method, fetch, token);
      case "http":
        return fetchChannel(base, plan.http_method, fetch, token);
      case "xhr":
        return xhrChannel(base, plan.http_method, XMLHttpRequest, token);
      case "sse":
        return sseChannel(`${base}/events/sse${query}`, plan.timeout_ms);
      // QUIC on the same port number; the certificate taken by its hash, no trust asked.
      case "wt":
      case "wt-streams":
      case "wt-dgram": {
        const why = webTransportUnavailable(transport, webtransport);
        if (why || !webtransport?.certificate_sha256) throw new ExchangeError(`${transport}: ${why}`, true);
        return openWebTransport(`https://${server}/wt/echo${query}`, webtransport.certificate_sha256, plan.timeout_ms, modeOf(transport));
      }
      default:
        throw new ExchangeError(`${transport} is not measured by web-view clients`, true);
    }
  };
  open.unavailable = (transport) => webTransportUnavailable(transport, webtransport);
  return open;
}

export interface WebviewProgress {
  transport: Transport;
  /** The engine's name for it ("xhr (web view)"), from the client run it was handed. */
  label: string;
  set: number;
  sets: number;
  /** Calls recorded so far, all transports, and in all. */
  done: number;
  total: number;
  /** Calls recorded so far of this transport (failed ones included), and its share of the plan. */
  transportDone: number;
  transportTotal: number;
  p50Us: number | null;
  /** The page's clock step, µs: a p50 below it is a bound, "< step", never "0.0 µs". */
  clockStepUs: number;
}

export interface RunOptions {
  channels?: ChannelFactory;
  /** Milliseconds, as performance.now(). */
  now?: () => number;
  /** Unix milliseconds at now() = 0, as performance.timeOrigin. */
  timeOrigin?: number;
  sleep?: (ms: number) => Promise<void>;
  onProgress?: (p: WebviewProgress) => void;
  signal?: AbortSignal;
  /** Smallest step of the page's clock, µs (measured when not given). */
  timerResolutionUs?: number;
  /** Whether the page is cross-origin isolated (read from the page when not given). */
  crossOriginIsolated?: boolean;
  userAgent?: string;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new ExchangeError(`no answer within ${ms} ms`, true)), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

/** Smallest step of `performance.now()`, µs, rounded to the ns (readings are doubles: a 1 ms step reads 0.99999…); 0 if unknown. */
export function pageTimerResolutionUs(): number {
  const ms = clockResolution(() => performance.now());
  // A clock that never moved while we watched tells nothing: 0 means unknown.
  return Number.isFinite(ms) ? Math.round(ms * 1e6) / 1e3 : 0;
}

/** Whether the page is cross-origin isolated (browsers then give it a finer clock); null if it cannot tell. */
export function pageCrossOriginIsolated(): boolean | null {
  return typeof globalThis.crossOriginIsolated === "boolean" ? globalThis.crossOriginIsolated : null;
}

/**
 * When each call of one client in one block is sent, as the engine's `runner::pacing::Pacer`:
 * back to back; with an interval, a pause of that long after each answer; at a fixed rate, call
 * `i` is due at the block's start + this client's stagger (period × client / clients) + i ×
 * period, and a late send is not forgiven (its lateness is returned, and added to the latency:
 * the coordinated-omission correction). Returns, for call `i`, a wait that resolves with how late
 * the send is, ms.
 */
export function pacer(
  plan: Pick<Plan, "interval_ms" | "rate" | "concurrency">,
  clientId: number,
  now: () => number,
  sleep: (ms: number) => Promise<void>,
): (i: number) => Promise<number> {
  if (plan.rate) {
    const period = 1000 / plan.rate;
    const start = now() + (period * clientId) / Math.max(1, plan.concurrency);
    return async (i) => {
      const due = start + i * period;
      const wait = due - now();
      if (wait > 0) await sleep(wait);
      return Math.max(0, now() - due);
    };
  }
  if (plan.interval_ms > 0) {
    return async (i) => {
      if (i > 0) await sleep(plan.interval_ms);
      return 0;
    };
  }
  return async () => 0;
}

/**
 * Runs the web view's part of a run (`run`, as the engine hands it) against `server`
 * ("127.0.0.1:PORT"). Never throws: a failure ends the part as `failed` with everything measured
 * before it kept.
 */
export async function runWebview(run: ClientRun, server: string, options: RunOptions = {}): Promise<ClientPart> {
  const channels = options.channels ?? browserChannels();
  const now = options.now ?? (() => performance.now());
  const timeOrigin = options.timeOrigin ?? performance.timeOrigin;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const { plan } = run;
  // What this page cannot measure (a browser without WebTransport) is left out, and why said.
  const unavailable: Unavailable[] = plan.transports.flatMap((transport) => {
    const reason = channels.unavailable?.(transport) ?? null;
    return reason ? [{ transport, reason }] : [];
  });
  const skipped = new Set(unavailable.map((u) => u.transport));
  const order = run.blocks.filter(([t]) => !skipped.has(t));
  const total = run.calls - (run.blocks.length - order.length) * plan.calls * plan.concurrency;
  const labels = new Map(run.labels);
  const payload = "x".repeat(plan.payload_bytes);
  const clockStepUs = options.timerResolutionUs ?? pageTimerResolutionUs();
  const samples: Sample[] = [];
  const timings: BlockTiming[] = [];
  const pools = new Map<Transport, { channel: EchoChannel; recorded: number; wireSeq: number }[]>();
  const recent = new Map<Transport, number[]>();
  /** Calls recorded per transport, failed ones included (progress reads it every 100 ms). */
  const recorded = new Map<Transport, number>();
  /** Per transport, answered calls that said where they were, and those that opened a connection. */
  const connections = new Map<Transport, ConnectionUse>();
  let status: ClientPart["status"] = "complete";
  let error: string | null = null;
  let lastProgress = -Infinity;

  const progress = (transport: Transport, set: number, force = false) => {
    const t = now();
    if (!options.onProgress || (!force && t - lastProgress < 100)) return;
    lastProgress = t;
    const xs = [...(recent.get(transport) ?? [])].sort((a, b) => a - b);
    options.onProgress({
      transport,
      label: labels.get(transport) ?? transport,
      set,
      sets: plan.sets,
      done: samples.length,
      total,
      transportDone: recorded.get(transport) ?? 0,
      transportTotal: plan.sets * plan.calls * plan.concurrency,
      p50Us: xs.length ? xs[Math.floor(xs.length / 2)] : null,
      clockStepUs,
    });
  };

  const aborted = () => options.signal?.aborted === true;

  outer: for (const [transport, set] of order) {
    if (aborted()) {
      status = "cancelled";
      break;
    }
    let pool = pools.get(transport);
    if (!pool) {
      pool = [];
      try {
        for (let id = 0; id < plan.concurrency; id++) {
          const channel = await channels(transport, server, plan);
          const slot = { channel, recorded: 0, wireSeq: 0 };
          for (let w = 0; w < plan.warmup; w++) {
            const { json, query } = echoRequest(++slot.wireSeq, payload);
            // A warm-up call is not recorded: only a fatal error (the connection gone) stops it.
            await withTimeout(channel.exchange(json, query), plan.timeout_ms).catch((e: unknown) => {
              if (!(e instanceof ExchangeError) || e.fatal) throw e;
            });
          }
          pool.push(slot);
        }
      } catch (e) {
        status = "failed";
        error = `${transport}: ${errorMessage(e)}`;
        pool.forEach((s) => s.channel.close());
        break;
      }
      pools.set(transport, pool);
    }
    // A WebSocket the server closed while it waited (its idle timeout, reached in long
    // interleaved plans over slow links) is opened again before its block, as the native client
    // does. If that fails, the block meets the closed channel and says why.
    for (const slot of pool) {
      if (slot.channel.closed?.()) slot.channel = await channels(transport, server, plan).catch(() => slot.channel);
    }
    const blockStart = now();
    // An object, not a `let`: the clients below set it from inside their closures.
    const block = { fatal: null as string | null };
    await Promise.all(
      pool.map(async (slot, clientId) => {
        const pace = pacer(plan, clientId, now, sleep);
        for (let i = 0; i < plan.calls; i++) {
          if (block.fatal || aborted()) return;
          const sendDelayMs = await pace(i);
          if (block.fatal || aborted()) return;
          const { json, query } = echoRequest(++slot.wireSeq, payload);
          slot.recorded++;
          const t0 = now();
          const sample: Sample = {
            transport,
            client: "webview",
            client_id: clientId,
            set,
            seq: slot.recorded,
            sent_at_unix_ns: Math.round((timeOrigin + t0) * 1e6),
            latency_ns: 0,
            send_delay_ns: Math.round(sendDelayMs * 1e6),
            server_time_unix_ns: null,
            bytes_out: 0,
            bytes_in: 0,
            error: null,
          };
          try {
            const x = await withTimeout(slot.channel.exchange(json, query), plan.timeout_ms);
            const latencyMs = (x.latencyMs ?? now() - t0) + sendDelayMs;
            sample.latency_ns = Math.max(0, Math.round(latencyMs * 1e6));
            sample.server_time_unix_ns = x.serverTimeS === null ? null : Math.round(x.serverTimeS * 1e9);
            // A pushed event was "sent" when the server created it.
            if (x.latencyMs !== undefined && sample.server_time_unix_ns !== null) sample.sent_at_unix_ns = sample.server_time_unix_ns;
            sample.bytes_out = x.bytesOut;
            sample.bytes_in = x.bytesIn;
            if (x.newConnection !== undefined) {
              const use = connections.get(transport) ?? { transport, client: "webview", calls: 0, new_connections: 0 };
              use.calls += 1;
              if (x.newConnection) use.new_connections += 1;
              connections.set(transport, use);
            }
            const r = recent.get(transport) ?? [];
            r.push(latencyMs * 1e3);
            if (r.length > 1000) r.shift();
            recent.set(transport, r);
          } catch (e) {
            sample.error = errorMessage(e);
            if (e instanceof ExchangeError && e.fatal) block.fatal = `${transport} client ${clientId}: ${e.message}`;
          }
          samples.push(sample);
          recorded.set(transport, (recorded.get(transport) ?? 0) + 1);
          progress(transport, set);
        }
      }),
    );
    timings.push({
      transport,
      client: "webview",
      set,
      started_at_unix_ns: Math.round((timeOrigin + blockStart) * 1e6),
      elapsed_ns: Math.round((now() - blockStart) * 1e6),
    });
    progress(transport, set, true);
    if (block.fatal) {
      status = "failed";
      error = block.fatal;
      break outer;
    }
  }
  if (status === "complete" && aborted()) status = "cancelled";
  for (const pool of pools.values()) pool.forEach((s) => s.channel.close());
  return {
    client: "webview",
    status,
    error,
    info: {
      user_agent: options.userAgent ?? navigator.userAgent,
      timer_resolution_us: clockStepUs,
      cross_origin_isolated: options.crossOriginIsolated ?? pageCrossOriginIsolated(),
      unavailable,
    },
    samples,
    blocks: timings,
    connections: [...connections.values()],
  };
}
