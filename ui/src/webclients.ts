// The web view's own clients: the browser's WebSocket against fetch and XMLHttpRequest (the
// paper's jQuery AJAX), talking to the app's embedded server. They run what the engine hands
// them (a `ClientRun`: its part of the plan, its blocks in order) with the engine's meaning of
// pacing (see `pacer`), and produce samples in the engine's shape, labelled `webview`.
import { errorMessage } from "./format";
import { clockResolution } from "./stats";
import type { BlockTiming, ClientPart, ClientRun, ConnectionUse, Plan, Sample, Transport } from "./bindings";
import { parseHeaderBlock, responseHeadLength, utf8Length, wsFrameLength } from "./wire";

/** What one echo exchange returns besides its timing. */
export interface Exchange {
  /** Server's clock when it answered, seconds since the Unix epoch. */
  serverTimeS: number | null;
  bytesOut: number;
  bytesIn: number;
  /** Push transports: the event's creation (server clock) to its arrival (the page's clock), ms; round trips leave it out. */
  latencyMs?: number;
  /** AJAX: whether the call was its connection's first request, as a Duplex server says; undefined if it did not. */
  newConnection?: boolean;
}

/** Whether an answer's `x-duplex-connection-request` says its request opened the connection. */
function openedConnection(header: string | null): boolean | undefined {
  return header === null ? undefined : header.trim() === "1";
}

/** A failed exchange; `fatal` when the connection is gone and the client cannot go on. */
export class ExchangeError extends Error {
  constructor(
    message: string,
    readonly fatal: boolean,
  ) {
    super(message);
  }
}

/** One connected client of one transport. `exchange` resolves when the whole reply is in. */
export interface EchoChannel {
  exchange(request: string, query: string): Promise<Exchange>;
  close(): void;
  /** The server closed it (a WebSocket's idle timeout): open another before the next block. */
  closed?(): boolean;
}

export type ChannelFactory = (transport: Transport, server: string, plan: Plan) => Promise<EchoChannel>;

function echoRequest(seq: number, payload: string): { json: string; query: string } {
  const clientTime = Date.now() / 1000;
  return {
    json: JSON.stringify({ client_time: clientTime, seq, payload }),
    query: `client_time=${clientTime}&seq=${seq}&payload=${encodeURIComponent(payload)}`,
  };
}

function serverTimeOf(text: string): number | null {
  try {
    const v = JSON.parse(text) as { server_time?: unknown };
    return typeof v.server_time === "number" ? v.server_time : null;
  } catch {
    throw new ExchangeError(`unexpected reply: ${text.slice(0, 120)}`, false);
  }
}

/** The browser's WebSocket, one message at a time. */
export async function openWebSocket(url: string, timeoutMs: number, Impl: typeof WebSocket = WebSocket): Promise<EchoChannel> {
  const ws = new Impl(url);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new ExchangeError(`cannot connect to ${url}: no answer within ${timeoutMs} ms`, true)), timeoutMs);
    ws.onopen = () => {
      clearTimeout(timer);
      resolve();
    };
    ws.onerror = () => {
      clearTimeout(timer);
      reject(new ExchangeError(`cannot connect to ${url}`, true));
    };
  });
  let waiting: { resolve: (text: string) => void; reject: (e: Error) => void } | null = null;
  let closed: string | null = null;
  ws.onmessage = (event: MessageEvent) => {
    const w = waiting;
    waiting = null;
    w?.resolve(typeof event.data === "string" ? event.data : "");
  };
  ws.onclose = (event: CloseEvent) => {
    closed = `connection closed: code ${event.code}${event.reason ? ` (${event.reason})` : ""}`;
    const w = waiting;
    waiting = null;
    w?.reject(new ExchangeError(closed, true));
  };
  return {
    async exchange(request: string) {
      if (closed) throw new ExchangeError(closed, true);
      const reply = new Promise<string>((resolve, reject) => (waiting = { resolve, reject }));
      ws.send(request);
      const text = await reply;
      return {
        serverTimeS: serverTimeOf(text),
        bytesOut: wsFrameLength(utf8Length(request), true),
        bytesIn: wsFrameLength(utf8Length(text), false),
      };
    },
    close() {
      ws.onclose = null;
      ws.close(1000);
    },
    closed: () => closed !== null,
  };
}

/** Bytes of one event of Duplex's stream on the wire: `id:` and `data:` lines, and its HTTP/1.1 chunk's framing. */
export function sseEventLength(data: string, id: string): number {
  const event = `id: ${id}\n`.length + "data: ".length + utf8Length(data) + 2;
  return event + event.toString(16).length + 4;
}

/**
 * Server-Sent Events by the browser's own `EventSource`: each exchange waits for the next event.
 * Its latency is the event's creation (server clock) to its arrival (the page's clock): one clock
 * when the server is on this machine.
 */
export async function sseChannel(
  url: string,
  timeoutMs: number,
  Impl: typeof EventSource = EventSource,
  clock: () => number = () => performance.timeOrigin + performance.now(),
): Promise<EchoChannel> {
  const source = new Impl(url);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new ExchangeError(`cannot connect to ${url}: no answer within ${timeoutMs} ms`, true)), timeoutMs);
    source.onopen = () => {
      clearTimeout(timer);
      resolve();
    };
    source.onerror = () => {
      clearTimeout(timer);
      source.close();
      reject(new ExchangeError(`cannot connect to ${url}`, true));
    };
  });
  type Arrival = { data: string; id: string; atMs: number };
  const arrived: Arrival[] = [];
  let waiting: ((a: Arrival) => void) | null = null;
  source.onmessage = (event: MessageEvent) => {
    const a = { data: String(event.data), id: event.lastEventId, atMs: clock() };
    const w = waiting;
    waiting = null;
    if (w) w(a);
    else arrived.push(a);
  };
  // EventSource reconnects by itself (with Last-Event-ID); a call that waits too long times out.
  source.onerror = null;
  return {
    async exchange() {
      const a = arrived.shift() ?? (await new Promise<Arrival>((resolve) => (waiting = resolve)));
      let created: unknown;
      try {
        created = (JSON.parse(a.data) as { created_ns?: unknown }).created_ns;
      } catch {
        created = undefined;
      }
      if (typeof created !== "number") throw new ExchangeError(`unexpected event: ${a.data.slice(0, 120)}`, false);
      return {
        serverTimeS: created / 1e9,
        bytesOut: 0,
        bytesIn: sseEventLength(a.data, a.id),
        latencyMs: Math.max(0, a.atMs - created / 1e6),
      };
    },
    close() {
      source.close();
    },
  };
}

/** `&token=…` for a server in LAN mode, or nothing. */
function authTail(token: string | null): string {
  return token ? `&token=${encodeURIComponent(token)}` : "";
}

/** `fetch`, kept alive by the browser. GET with a query or POST with a text body (no preflight). */
export function fetchChannel(base: string, method: "get" | "post", fetchImpl: typeof fetch = fetch, token: string | null = null): EchoChannel {
  const tail = authTail(token);
  return {
    async exchange(request: string, query: string) {
      let response: Response;
      try {
        response =
          method === "get"
            ? await fetchImpl(`${base}/echo?${query}&wire=1${tail}`, { cache: "no-store" })
            : await fetchImpl(`${base}/echo?wire=1${tail}`, { method: "POST", body: request, cache: "no-store" });
      } catch (e) {
        throw new ExchangeError(`request failed: ${errorMessage(e)}`, true);
      }
      const text = await response.text();
      if (response.status !== 200) throw new ExchangeError(`server answered HTTP ${response.status}: ${text.slice(0, 200)}`, false);
      return {
        serverTimeS: serverTimeOf(text),
        bytesOut: Number(response.headers.get("x-duplex-request-bytes") ?? 0),
        bytesIn: responseHeadLength(response.status, response.statusText, response.headers.entries()) + utf8Length(text),
        newConnection: openedConnection(response.headers.get("x-duplex-connection-request")),
      };
    },
    close() {},
  };
}

/** `XMLHttpRequest`, as jQuery's `$.ajax` uses it. */
export function xhrChannel(base: string, method: "get" | "post", Impl: typeof XMLHttpRequest = XMLHttpRequest, token: string | null = null): EchoChannel {
  const tail = authTail(token);
  return {
    exchange(request: string, query: string) {
      return new Promise<Exchange>((resolve, reject) => {
        const xhr = new Impl();
        const url = method === "get" ? `${base}/echo?${query}&wire=1${tail}` : `${base}/echo?wire=1${tail}`;
        xhr.open(method.toUpperCase(), url);
        xhr.onload = () => {
          const text = xhr.responseText;
          if (xhr.status !== 200) {
            reject(new ExchangeError(`server answered HTTP ${xhr.status}: ${text.slice(0, 200)}`, false));
            return;
          }
          try {
            resolve({
              serverTimeS: serverTimeOf(text),
              bytesOut: Number(xhr.getResponseHeader("x-duplex-request-bytes") ?? 0),
              bytesIn: responseHeadLength(xhr.status, xhr.statusText, parseHeaderBlock(xhr.getAllResponseHeaders())) + utf8Length(text),
              newConnection: openedConnection(xhr.getResponseHeader("x-duplex-connection-request")),
            });
          } catch (e) {
            reject(e);
          }
        };
        xhr.onerror = () => reject(new ExchangeError("request failed (network error)", true));
        xhr.send(method === "get" ? null : request);
      });
    },
    close() {},
  };
}

/** The browser's own clients; `token` is the access token of a server in LAN mode. */
export function browserChannels(token: string | null = null): ChannelFactory {
  return async (transport, server, plan) => {
    const base = `http://${server}`;
    const wsQuery = token ? `?token=${encodeURIComponent(token)}` : "";
    switch (transport) {
      case "ws":
        return openWebSocket(`ws://${server}/ws${wsQuery}`, plan.timeout_ms);
      // Over TLS: only where the engine hands them, i.e. where the browser trusts the server.
      case "wss":
        return openWebSocket(`wss://${server}/ws${wsQuery}`, plan.timeout_ms);
      case "https":
        return fetchChannel(`https://${server}`, plan.http_method, fetch, token);
      case "http":
        return fetchChannel(base, plan.http_method, fetch, token);
      case "xhr":
        return xhrChannel(base, plan.http_method, XMLHttpRequest, token);
      case "sse":
        return sseChannel(`${base}/events/sse${token ? `?token=${encodeURIComponent(token)}` : ""}`, plan.timeout_ms);
      default:
        throw new ExchangeError(`${transport} is not measured by web-view clients`, true);
    }
  };
}

export interface WebviewProgress {
  transport: Transport;
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
  const { plan, blocks: order, calls: total } = run;
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
            await withTimeout(channel.exchange(json, query), plan.timeout_ms);
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
    },
    samples,
    blocks: timings,
    connections: [...connections.values()],
  };
}
