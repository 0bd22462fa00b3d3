import { describe, expect, it } from "vitest";

import pattern from "../../crates/core/tests/data/send-pattern.json";
import type { Transport } from "./bindings";
import { plan, runOf } from "./testing";
import { type EchoChannel, ExchangeError, fetchChannel, openWebSocket, runWebview, sseChannel, sseEventLength } from "./webclients";
import { wsFrameLength } from "./wire";

/** A virtual clock and channels whose exchanges take a known time. */
function harness(costMs: Record<string, number>, fail?: (transport: Transport, n: number) => ExchangeError | null) {
  let t = 1000;
  const calls: Record<string, number> = {};
  const channels = async (transport: Transport): Promise<EchoChannel> => ({
    async exchange(request: string) {
      calls[transport] = (calls[transport] ?? 0) + 1;
      const error = fail?.(transport, calls[transport]);
      t += costMs[transport];
      if (error) throw error;
      expect(JSON.parse(request)).toMatchObject({ payload: "xxxx" });
      return { serverTimeS: 1.7e9, bytesOut: 100, bytesIn: 200 };
    },
    close() {},
  });
  return {
    calls,
    options: { channels, now: () => t, timeOrigin: 1.7e12, sleep: async (ms: number) => void (t += ms), userAgent: "test", timerResolutionUs: 5, crossOriginIsolated: true },
  };
}

describe("web-view runner", () => {
  it("measures every call of the plan, in the engine's sample shape", async () => {
    const h = harness({ ws: 0.5, http: 1.25, xhr: 2 });
    const part = await runWebview(runOf(plan), "127.0.0.1:1", h.options);
    expect(part.status).toBe("complete");
    expect(part.samples).toHaveLength(3 * 2 * 5);
    expect(h.calls).toEqual({ ws: 12, http: 12, xhr: 12 }); // 10 recorded + 2 warm-up each
    const ws = part.samples.filter((s) => s.transport === "ws");
    expect(ws.map((s) => s.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(new Set(part.samples.map((s) => s.latency_ns))).toEqual(new Set([500_000, 1_250_000, 2_000_000]));
    expect(part.samples.every((s) => s.client === "webview" && s.error === null && s.bytes_in === 200)).toBe(true);
    expect(part.samples.every((s) => Number.isInteger(s.sent_at_unix_ns) && s.server_time_unix_ns === 1.7e18)).toBe(true);
    expect(part.blocks.map((b) => `${b.transport}${b.set}`)).toEqual(["ws1", "http1", "xhr1", "ws2", "http2", "xhr2"]);
    expect(part.blocks[0].elapsed_ns).toBe(5 * 500_000);
    // Block windows on the wall clock, in order, for energy attribution.
    const starts = part.blocks.map((b) => b.started_at_unix_ns);
    expect(starts.every((s, i) => s >= 1.7e18 && (i === 0 || s > starts[i - 1]))).toBe(true);
    expect(part.info).toEqual({ user_agent: "test", timer_resolution_us: 5, cross_origin_isolated: true, unavailable: [] });
    expect(part.connections).toEqual([]);
  });

  it("opens a WebSocket the server closed while it waited again before its next block", async () => {
    let opened = 0;
    let closedByServer = false;
    const channels = async (transport: Transport): Promise<EchoChannel> => {
      if (transport === "ws") opened++;
      // The first WebSocket is closed by the server once the http block has run (long enough).
      const first = transport === "ws" && opened === 1;
      const isClosed = () => first && closedByServer;
      return {
        async exchange() {
          if (isClosed()) throw new ExchangeError("connection closed: code 1008 (idle too long)", true);
          if (transport === "http") closedByServer = true;
          return { serverTimeS: 1.7e9, bytesOut: 100, bytesIn: 200 };
        },
        close() {},
        closed: isClosed,
      };
    };
    const part = await runWebview(runOf({ ...plan, transports: ["ws", "http"] }), "127.0.0.1:1", { channels, sleep: async () => {} });
    expect(part.status).toBe("complete");
    expect(part.samples.filter((s) => s.error !== null)).toEqual([]);
    expect(part.samples).toHaveLength(2 * 2 * 5);
    expect(opened).toBe(2);
  });

  it("counts the recorded calls that opened a connection, per transport, as the server said", async () => {
    let n = 0;
    const channels = async (transport: Transport): Promise<EchoChannel> => ({
      async exchange() {
        // xhr: every call on a new connection (WebKitGTK's POST); http: kept; ws: not said.
        n++;
        const newConnection = transport === "xhr" ? true : transport === "http" ? n === 1 : undefined;
        return { serverTimeS: 1.7e9, bytesOut: 100, bytesIn: 200, newConnection };
      },
      close() {},
    });
    const part = await runWebview(runOf(plan), "127.0.0.1:1", { channels, sleep: async () => {} });
    // Warm-up calls are not counted: 2 sets × 5 calls each.
    expect(part.connections).toEqual([
      { transport: "http", client: "webview", calls: 10, new_connections: 0 },
      { transport: "xhr", client: "webview", calls: 10, new_connections: 10 },
    ]);
  });

  it("reports progress per transport, each reaching its own total", async () => {
    const h = harness({ ws: 0.5, http: 1.25, xhr: 2 });
    const last = new Map<string, { done: number; total: number }>();
    await runWebview(runOf(plan), "127.0.0.1:1", { ...h.options, onProgress: (p) => last.set(p.transport, { done: p.transportDone, total: p.transportTotal }) });
    // 2 sets x 5 calls per transport: each row ends at 10/10, not at the client's 30.
    expect(Object.fromEntries(last)).toEqual({ ws: { done: 10, total: 10 }, http: { done: 10, total: 10 }, xhr: { done: 10, total: 10 } });
  });

  it("keeps what was measured when the connection dies, and says why", async () => {
    const h = harness({ ws: 1, http: 1, xhr: 1 }, (t, n) => (t === "http" && n === 6 ? new ExchangeError("connection closed: code 1006", true) : null));
    const part = await runWebview(runOf(plan), "x", h.options);
    expect(part.status).toBe("failed");
    expect(part.error).toBe("http client 0: connection closed: code 1006");
    const http = part.samples.filter((s) => s.transport === "http");
    expect(http).toHaveLength(4); // 2 warm-up, 3 ok, the 4th recorded call failed
    expect(http[3].error).toMatch(/1006/);
    expect(part.samples.filter((s) => s.transport === "ws")).toHaveLength(5);
  });

  it("records a server error and carries on", async () => {
    const h = harness({ ws: 1, http: 1, xhr: 1 }, (t, n) => (t === "xhr" && n === 4 ? new ExchangeError("server answered HTTP 400: bad", false) : null));
    const part = await runWebview(runOf(plan), "x", h.options);
    expect(part.status).toBe("complete");
    expect(part.samples.filter((s) => s.error !== null)).toHaveLength(1);
    expect(part.samples).toHaveLength(30);
  });

  it("stops when cancelled and keeps the samples", async () => {
    const abort = new AbortController();
    const h = harness({ ws: 1, http: 1, xhr: 1 }, (t, n) => {
      if (t === "http" && n === 4) abort.abort();
      return null;
    });
    const part = await runWebview(runOf(plan), "x", { ...h.options, signal: abort.signal });
    expect(part.status).toBe("cancelled");
    expect(part.samples.length).toBeGreaterThan(0);
    expect(part.samples.length).toBeLessThan(30);
  });

  it("at a fixed rate, a late send counts against the latency (coordinated omission)", async () => {
    const h = harness({ ws: 15 });
    const part = await runWebview(runOf({ ...plan, transports: ["ws"], sets: 1, calls: 3, warmup: 0, rate: 100 }), "x", h.options);
    // 10 ms period, 15 ms per exchange: sends fall 0, 5 and 10 ms behind schedule.
    expect(part.samples.map((s) => s.send_delay_ns)).toEqual([0, 5_000_000, 10_000_000]);
    expect(part.samples.map((s) => s.latency_ns)).toEqual([15_000_000, 20_000_000, 25_000_000]);
  });
});

/** A virtual clock with timers, so concurrent clients interleave as they would in real time. */
function virtualTime() {
  let now = 0;
  let timers: { at: number; resolve: () => void }[] = [];
  const sleep = (ms: number) => new Promise<void>((resolve) => timers.push({ at: now + Math.max(0, ms), resolve }));
  const settle = async () => {
    for (let i = 0; i < 20; i++) await Promise.resolve();
  };
  /** Runs timers in time order until `work` is done. */
  async function drive<T>(work: Promise<T>): Promise<T> {
    let done = false;
    void work.finally(() => (done = true));
    for (;;) {
      await settle();
      if (done) return work;
      timers.sort((a, b) => a.at - b.at);
      const next = timers.shift();
      if (!next) throw new Error("stuck: no timer left and the work is not done");
      now = next.at;
      next.resolve();
    }
  }
  return { now: () => now, sleep, drive };
}

interface PatternCase {
  name: string;
  interval_ms: number;
  rate: number | null;
  concurrency: number;
  calls: number;
  service_ms: number;
  clients: { at_ms: number[]; late_ms: number[] }[];
}

describe("one plan, one send pattern", () => {
  // Written by the engine's own pacer (crates/core/tests/pacing.rs) for the same plans.
  const cases = pattern.cases as PatternCase[];
  it.each(cases.map((c) => [c.name, c] as const))("%s: the web view sends when the native clients do", async (_name, c) => {
    const clock = virtualTime();
    const sent: number[][] = Array.from({ length: c.concurrency }, () => []);
    let opened = 0;
    const channels = async (): Promise<EchoChannel> => {
      const id = opened++;
      return {
        async exchange() {
          sent[id].push(clock.now());
          await clock.sleep(c.service_ms);
          return { serverTimeS: null, bytesOut: 1, bytesIn: 1 };
        },
        close() {},
      };
    };
    const run = runOf({ ...plan, transports: ["ws"], sets: 1, calls: c.calls, warmup: 0, concurrency: c.concurrency, interval_ms: c.interval_ms, rate: c.rate });
    const part = await clock.drive(
      runWebview(run, "x", { channels, now: clock.now, sleep: clock.sleep, timeOrigin: 0, userAgent: "test", timerResolutionUs: 1 }),
    );
    expect(part.status).toBe("complete");
    expect(sent).toEqual(c.clients.map((cl) => cl.at_ms));
    const late = Array.from({ length: c.concurrency }, (_, id) =>
      part.samples.filter((s) => s.client_id === id).map((s) => s.send_delay_ns / 1e6),
    );
    expect(late).toEqual(c.clients.map((cl) => cl.late_ms));
  });
});

/** A WebSocket stand-in that echoes like Duplex's server. */
class EchoSocket {
  onopen: (() => void) | null = null;
  onerror: (() => void) | null = null;
  onmessage: ((e: { data: string }) => void) | null = null;
  onclose: ((e: { code: number; reason: string }) => void) | null = null;
  static dieAfter = Infinity;
  sent = 0;
  constructor(readonly url: string) {
    setTimeout(() => this.onopen?.(), 0);
  }
  send(text: string) {
    if (++this.sent > EchoSocket.dieAfter) {
      setTimeout(() => this.onclose?.({ code: 1009, reason: "message too big" }), 0);
      return;
    }
    const req = JSON.parse(text);
    setTimeout(() => this.onmessage?.({ data: JSON.stringify({ ...req, server_time: 1.7e9 }) }), 0);
  }
  close() {}
}

describe("browser channels", () => {
  it("EventSource: each exchange is the next event, timed from its creation to its arrival", async () => {
    class FakeSource {
      static last: FakeSource;
      onopen: (() => void) | null = null;
      onerror: (() => void) | null = null;
      onmessage: ((e: MessageEvent) => void) | null = null;
      closed = false;
      constructor(readonly url: string) {
        FakeSource.last = this;
        setTimeout(() => this.onopen?.(), 0);
      }
      emit(id: number, createdMs: number) {
        const data = JSON.stringify({ event: "tick", seq: id, created_ns: createdMs * 1e6 });
        this.onmessage?.({ data, lastEventId: String(id) } as MessageEvent);
      }
      close() {
        this.closed = true;
      }
    }
    let clockMs = 1_000_000;
    const channel = await sseChannel("http://h:1/events/sse", 1000, FakeSource as unknown as typeof EventSource, () => clockMs);
    const source = FakeSource.last;
    source.emit(7, clockMs - 3); // arrived 3 ms after it was made, before anyone waited
    const first = await channel.exchange("", "");
    expect(first.latencyMs).toBeCloseTo(3, 6);
    expect(first.serverTimeS).toBeCloseTo((clockMs - 3) / 1000, 6);
    expect(first.bytesOut).toBe(0);
    const data = JSON.stringify({ event: "tick", seq: 7, created_ns: (clockMs - 3) * 1e6 });
    expect(first.bytesIn).toBe(sseEventLength(data, "7"));
    const next = channel.exchange("", "");
    clockMs += 50;
    source.emit(8, clockMs - 1);
    expect((await next).latencyMs).toBeCloseTo(1, 6);
    channel.close();
    expect(source.closed).toBe(true);
  });

  it("WebSocket: counts frame bytes and fails when the server closes", async () => {
    EchoSocket.dieAfter = 1;
    const ch = await openWebSocket("ws://x/ws", 1000, EchoSocket as unknown as typeof WebSocket);
    const request = JSON.stringify({ client_time: 1, seq: 1, payload: "ab" });
    const x = await ch.exchange(request, "");
    expect(x.bytesOut).toBe(wsFrameLength(request.length, true));
    expect(x.bytesIn).toBe(wsFrameLength(JSON.stringify({ client_time: 1, seq: 1, payload: "ab", server_time: 1.7e9 }).length, false));
    expect(x.serverTimeS).toBe(1.7e9);
    await expect(ch.exchange(request, "")).rejects.toMatchObject({ fatal: true, message: "connection closed: code 1009 (message too big)" });
  });

  it("fetch: bytes out from the server's count, bytes in from the head and body", async () => {
    const body = JSON.stringify({ server_time: 1.7e9, seq: 1 });
    const fakeFetch = (async (url: string, init?: RequestInit) => {
      expect(url).toBe("http://x/echo?wire=1");
      expect(init?.method).toBe("POST");
      return new Response(body, { status: 200, headers: { "content-type": "application/json", "x-duplex-request-bytes": "321" } });
    }) as typeof fetch;
    const x = await fetchChannel("http://x", "post", fakeFetch).exchange("{}", "");
    expect(x.bytesOut).toBe(321);
    expect(x.newConnection).toBeUndefined();
    const head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nx-duplex-request-bytes: 321\r\n\r\n";
    expect(x.bytesIn).toBe(head.length + body.length);
  });

  it("fetch: the server's x-duplex-connection-request says whether the call opened its connection", async () => {
    const answer = (n: string) =>
      (async () => new Response("{}", { status: 200, headers: { "x-duplex-connection-request": n } })) as typeof fetch;
    expect((await fetchChannel("http://x", "get", answer("1")).exchange("", "seq=1")).newConnection).toBe(true);
    expect((await fetchChannel("http://x", "get", answer("7")).exchange("", "seq=1")).newConnection).toBe(false);
  });

  it("a LAN server's access token rides on every request", async () => {
    const urls: string[] = [];
    const fakeFetch = (async (url: string) => {
      urls.push(url);
      return new Response(JSON.stringify({ server_time: 1, seq: 1 }), { status: 200 });
    }) as typeof fetch;
    await fetchChannel("http://x", "get", fakeFetch, "a b").exchange("", "seq=1");
    await fetchChannel("http://x", "post", fakeFetch, "a b").exchange("{}", "");
    expect(urls).toEqual(["http://x/echo?seq=1&wire=1&token=a%20b", "http://x/echo?wire=1&token=a%20b"]);
  });

  it("fetch: a 4xx is an error sample, a network failure ends the client", async () => {
    const bad = (async () => new Response("nope", { status: 400 })) as typeof fetch;
    await expect(fetchChannel("http://x", "get", bad).exchange("", "seq=1")).rejects.toMatchObject({ fatal: false });
    const down = (async () => {
      throw new TypeError("Load failed");
    }) as typeof fetch;
    await expect(fetchChannel("http://x", "get", down).exchange("", "seq=1")).rejects.toMatchObject({ fatal: true });
  });
});
