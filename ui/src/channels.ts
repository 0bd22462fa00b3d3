// The browser's own clients, one channel per transport: WebSocket, Server-Sent Events, fetch and
// XMLHttpRequest (the paper's jQuery AJAX), each counting its bytes on the wire as the server
// sends them (WebTransport's are in webtransport.ts). `runWebview` (webclients.ts) drives them
// through a plan, with the channels `browserChannels` (webclients.ts) opens.
import type { Plan, Transport } from "./bindings";
import { errorMessage } from "./format";
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

/** Opens a channel of a transport; `unavailable` says why this page cannot measure one, if it cannot. */
export type ChannelFactory = ((transport: Transport, server: string, plan: Plan) => Promise<EchoChannel>) & {
  unavailable?: (transport: Transport) => string | null;
};

export function echoRequest(seq: number, payload: string): { json: string; query: string } {
  const clientTime = Date.now() / 1000;
  return {
    json: JSON.stringify({ client_time: clientTime, seq, payload }),
    query: `client_time=${clientTime}&seq=${seq}&payload=${encodeURIComponent(payload)}`,
  };
}

/** The server's clock in a Duplex echo answer, seconds; null if it did not say. */
export function serverTimeOf(text: string): number | null {
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
