// The browser's WebTransport (HTTP/3 over QUIC, on the server's port number over UDP): `wt`, an
// echo on one long bidirectional stream (one message per line, as the server's `/wt/echo` reads
// them: the fair counterpart of a WebSocket), `wt-streams`, each message on a stream of its own,
// and `wt-dgram`, an echo by datagrams, where a datagram whose answer does not come within its
// wait is lost: counted, not sent again, as the native client counts it. The page accepts the server's certificate by its SHA-256
// (`serverCertificateHashes`): no trust store is asked.
import type { Transport, WebTransportAccess } from "./bindings";
import { type EchoChannel, ExchangeError, serverTimeOf } from "./channels";
import { errorMessage } from "./format";
import { utf8Length } from "./wire";

/** The engine's words for a lost datagram (`LOST_DATAGRAM`, checked by a test against the generated words), so that a report counts it as loss. */
export const LOST = "datagram lost (no answer within 4 round trips, at least 250 ms)";

/** The shortest wait for a datagram's answer, ms; a slower path waits four smoothed round trips. */
const MIN_DATAGRAM_WAIT_MS = 250;

/** Longest line (message) read from a stream, bytes. */
const MAX_LINE = 1 << 20;

/** The transports this module measures. */
export function isWebTransport(transport: Transport): boolean {
  return transport === "wt" || transport === "wt-streams" || transport === "wt-dgram";
}

/**
 * Why this page cannot measure `transport` by WebTransport, or null when it can (or when the
 * transport is not WebTransport). `scope` is the page's global object (tests hand another).
 */
export function webTransportUnavailable(
  transport: Transport,
  access: WebTransportAccess | null,
  scope: { isSecureContext?: boolean; WebTransport?: unknown } = globalThis,
): string | null {
  if (!isWebTransport(transport)) return null;
  if (scope.isSecureContext === false) {
    return "WebTransport needs a secure context, and this page is not one (plain http from another machine)";
  }
  if (typeof scope.WebTransport !== "function") return "this browser engine has no WebTransport";
  if (!access?.certificate_sha256) return access?.unavailable ?? "the server did not say how to reach its WebTransport";
  return null;
}

/** `AB:CD:…` as the bytes `serverCertificateHashes` takes. */
export function certificateHash(fingerprint: string): Uint8Array {
  const hex = fingerprint.split(":");
  if (hex.length !== 32 || hex.some((h) => !/^[0-9A-Fa-f]{2}$/.test(h))) throw new ExchangeError(`not a SHA-256 fingerprint: ${fingerprint.slice(0, 120)}`, true);
  return Uint8Array.from(hex.map((h) => parseInt(h, 16)));
}

/**
 * What a stream brings, read as it comes: `next` resolves with the next item (null if none came
 * within `waitMs`: the wait is then given up, and the item goes to the next caller), or rejects
 * when the stream ends.
 */
function inbox<T>(reader: ReadableStreamDefaultReader<T>, what: string): { next(waitMs?: number): Promise<T | null>; ended(): string | null } {
  const items: T[] = [];
  let waiting: { resolve: (v: T) => void; reject: (e: Error) => void } | null = null;
  let ended: string | null = null;
  const pump = async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        const w = waiting;
        waiting = null;
        if (w) w.resolve(value);
        else items.push(value);
      }
      ended = `the server ended its ${what}`;
    } catch (e) {
      ended = `${what} closed: ${errorMessage(e)}`;
    }
    waiting?.reject(new ExchangeError(ended, true));
    waiting = null;
  };
  void pump();
  return {
    next(waitMs?: number) {
      const item = items.shift();
      if (item !== undefined) return Promise.resolve(item);
      if (ended) return Promise.reject(new ExchangeError(ended, true));
      return new Promise<T | null>((resolve, reject) => {
        const timer = waitMs === undefined ? undefined : setTimeout(() => {
          waiting = null;
          resolve(null);
        }, waitMs);
        const settle = () => clearTimeout(timer);
        waiting = {
          resolve: (v) => (settle(), resolve(v)),
          reject: (e) => (settle(), reject(e)),
        };
      });
    },
    ended: () => ended,
  };
}

/** The sequence number a Duplex echo message or answer carries, if any. */
function seqOf(text: string): number | undefined {
  try {
    const v = JSON.parse(text) as { seq?: unknown };
    return typeof v.seq === "number" ? v.seq : undefined;
  } catch {
    return undefined;
  }
}

/** How a WebTransport echo sends its messages: `wt`, `wt-streams`, `wt-dgram`. */
export type WebTransportMode = "stream" | "streams" | "datagrams";

export function modeOf(transport: Transport): WebTransportMode {
  return transport === "wt-dgram" ? "datagrams" : transport === "wt-streams" ? "streams" : "stream";
}

/** Reads a stream's lines as they come, its chunks joined. */
function lineReader(readable: ReadableStream<Uint8Array>, what: string): { next(): Promise<Uint8Array>; ended(): string | null } {
  const chunks = inbox(readable.getReader(), what);
  let buffer = new Uint8Array(0);
  return {
    async next() {
      for (;;) {
        const end = buffer.indexOf(10);
        if (end >= 0) {
          const line = buffer.slice(0, end);
          buffer = buffer.slice(end + 1);
          return line;
        }
        if (buffer.length > MAX_LINE) throw new ExchangeError(`a message over ${MAX_LINE} bytes`, true);
        const chunk = await chunks.next();
        if (chunk === null) continue;
        const joined = new Uint8Array(buffer.length + chunk.length);
        joined.set(buffer);
        joined.set(chunk, buffer.length);
        buffer = joined;
      }
    },
    ended: chunks.ended,
  };
}

/**
 * A WebTransport session at `url` (`https://host:port/wt/echo`), echoing on one long stream, a
 * stream per message, or by datagrams. Bytes are what the page sends and reads: the messages (a
 * stream's newline included), without QUIC's packets or HTTP/3's framing, which only native
 * clients count.
 */
export async function openWebTransport(
  url: string,
  fingerprint: string,
  timeoutMs: number,
  mode: WebTransportMode,
  Impl: typeof WebTransport = WebTransport,
  now: () => number = () => performance.now(),
): Promise<EchoChannel> {
  const hash = certificateHash(fingerprint);
  const t0 = now();
  let session: WebTransport;
  try {
    session = new Impl(url, { serverCertificateHashes: [{ algorithm: "sha-256", value: hash as BufferSource }] });
  } catch (e) {
    throw new ExchangeError(`cannot connect to ${url}: ${errorMessage(e)}`, true);
  }
  let closed: string | null = null;
  session.closed.then(
    (info) => (closed = `session closed${info?.reason ? `: ${info.reason}` : ""}`),
    (e) => (closed = `session closed: ${errorMessage(e)}`),
  );
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new ExchangeError(`cannot connect to ${url}: no answer within ${timeoutMs} ms`, true)), timeoutMs);
    session.ready.then(
      () => {
        clearTimeout(timer);
        resolve();
      },
      (e) => {
        clearTimeout(timer);
        reject(new ExchangeError(`cannot connect to ${url}: ${errorMessage(e)}`, true));
      },
    );
  });
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  const close = () => {
    try {
      session.close({ closeCode: 0, reason: "done" });
    } catch {
      /* already closed */
    }
  };
  const gone = () => (closed ? new ExchangeError(closed, true) : null);

  const openStream = () =>
    session.createBidirectionalStream().catch((e: unknown) => {
      throw new ExchangeError(`cannot open a stream: ${errorMessage(e)}`, true);
    });
  const sendLine = (writer: WritableStreamDefaultWriter<Uint8Array>, request: string) =>
    writer.write(encoder.encode(`${request}\n`)).catch((e: unknown) => {
      throw new ExchangeError(`stream closed: ${errorMessage(e)}`, true);
    });
  const answered = (request: string, line: Uint8Array) => ({
    serverTimeS: serverTimeOf(decoder.decode(line)),
    bytesOut: utf8Length(request) + 1,
    bytesIn: line.length + 1,
  });
  if (mode === "stream") {
    const stream = await openStream();
    const writer = stream.writable.getWriter();
    const lines = lineReader(stream.readable, "stream");
    return {
      async exchange(request: string) {
        const error = gone();
        if (error) throw error;
        await sendLine(writer, request);
        return answered(request, await lines.next());
      },
      close,
      closed: () => closed !== null || lines.ended() !== null,
    };
  }
  if (mode === "streams") {
    return {
      async exchange(request: string) {
        const error = gone();
        if (error) throw error;
        // A stream of its own, finished after the message; the answer is its one line.
        const stream = await openStream();
        const answer = lineReader(stream.readable, "stream");
        const writer = stream.writable.getWriter();
        await sendLine(writer, request);
        void writer.close().catch(() => {});
        return answered(request, await answer.next());
      },
      close,
      closed: () => closed !== null,
    };
  }

  const writer = session.datagrams.writable.getWriter();
  const arrivals = inbox(session.datagrams.readable.getReader(), "datagrams");
  // Smoothed round trip, as QUIC keeps it (RFC 9002: 7/8 old + 1/8 new); the session's
  // opening (at least one round trip) until the first answer.
  let srttMs = now() - t0;
  return {
    async exchange(request: string) {
      const error = gone();
      if (error) throw error;
      const seq = seqOf(request);
      const waitMs = Math.max(MIN_DATAGRAM_WAIT_MS, 4 * srttMs);
      const sent = now();
      await writer.write(encoder.encode(request)).catch((e: unknown) => {
        throw new ExchangeError(`datagrams closed: ${errorMessage(e)}`, true);
      });
      const deadline = sent + waitMs;
      for (;;) {
        const left = deadline - now();
        if (left <= 0) throw new ExchangeError(LOST, false);
        const datagram = await arrivals.next(left);
        if (datagram === null) throw new ExchangeError(LOST, false);
        const text = decoder.decode(datagram);
        // An answer to an earlier datagram, come after its wait: skipped.
        if (seq !== undefined && seqOf(text) !== seq) continue;
        srttMs = (7 * srttMs + (now() - sent)) / 8;
        return { serverTimeS: serverTimeOf(text), bytesOut: utf8Length(request), bytesIn: datagram.length };
      }
    },
    close,
    closed: () => closed !== null,
  };
}
