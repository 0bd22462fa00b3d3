import { describe, expect, it } from "vitest";

import type { Transport, WebTransportAccess } from "./bindings";
import words from "./bindings/words.json";
import { ExchangeError, echoRequest } from "./channels";
import { plan, runOf } from "./testing";
import { type EchoChannel, runWebview } from "./webclients";
import { LOST, certificateHash, openWebTransport, webTransportUnavailable } from "./webtransport";

const FINGERPRINT = Array.from({ length: 32 }, (_, i) => i.toString(16).padStart(2, "0").toUpperCase()).join(":");
const ACCESS: WebTransportAccess = { certificate_sha256: FINGERPRINT, unavailable: null };

/**
 * A WebTransport double: a Duplex echo server behind real web streams. Its stream answers each
 * line with the message's seq and the server's clock; datagrams the same, except those `drop`
 * says are lost; `late` ones are answered just before the next one's answer.
 */
function fakeWebTransport(options: { drop?: (n: number) => boolean; late?: (n: number) => boolean } = {}) {
  const opened: { url: string; hashes: unknown }[] = [];
  const streams = { opened: 0 };
  const answer = (text: string) => JSON.stringify({ seq: (JSON.parse(text) as { seq: number }).seq, server_time: 1.7e9, payload: "" });
  class Fake {
    ready = Promise.resolve();
    closed = new Promise<WebTransportCloseInfo>(() => {});
    datagrams: { readable: ReadableStream<Uint8Array>; writable: WritableStream<Uint8Array> };
    constructor(url: string, init: WebTransportOptions) {
      opened.push({ url, hashes: init.serverCertificateHashes });
      let n = 0;
      let held: string | null = null;
      const echo = new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, out) {
          n++;
          const reply = answer(new TextDecoder().decode(chunk));
          if (options.drop?.(n)) return;
          if (options.late?.(n)) {
            held = reply;
            return;
          }
          if (held) out.enqueue(new TextEncoder().encode(held));
          held = null;
          out.enqueue(new TextEncoder().encode(reply));
        },
      });
      this.datagrams = { readable: echo.readable, writable: echo.writable };
    }
    async createBidirectionalStream() {
      streams.opened++;
      let pending = "";
      const lines = new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, out) {
          pending += new TextDecoder().decode(chunk);
          let end;
          while ((end = pending.indexOf("\n")) >= 0) {
            const reply = `${answer(pending.slice(0, end))}\n`;
            pending = pending.slice(end + 1);
            // Split in two chunks: the page must join them into one line.
            const bytes = new TextEncoder().encode(reply);
            out.enqueue(bytes.slice(0, 5));
            out.enqueue(bytes.slice(5));
          }
        },
      });
      return { readable: lines.readable, writable: lines.writable };
    }
    close() {}
  }
  return { Impl: Fake as unknown as typeof WebTransport, opened, streams };
}

describe("WebTransport in the page", () => {
  it("says why a page cannot measure it: no secure context, no API, no certificate from the server", () => {
    const api = { isSecureContext: true, WebTransport: function WebTransport() {} };
    expect(webTransportUnavailable("ws", ACCESS, {})).toBeNull();
    expect(webTransportUnavailable("wt", ACCESS, api)).toBeNull();
    expect(webTransportUnavailable("wt-dgram", ACCESS, { ...api, isSecureContext: false })).toMatch(/secure context/);
    expect(webTransportUnavailable("wt", ACCESS, { isSecureContext: true })).toBe("this browser engine has no WebTransport");
    const off: WebTransportAccess = { certificate_sha256: null, unavailable: "HTTP/3 and WebTransport are off: they need TLS, which is off" };
    expect(webTransportUnavailable("wt", off, api)).toBe(off.unavailable);
  });

  it("records a lost datagram in the engine's words, so that a report counts it as loss", () => {
    expect(LOST).toBe(words.lost_datagram);
  });

  it("takes the server's certificate by its SHA-256, and refuses a fingerprint that is not one", () => {
    expect([...certificateHash(FINGERPRINT)]).toEqual(Array.from({ length: 32 }, (_, i) => i));
    expect(() => certificateHash("AB:CD")).toThrow(/not a SHA-256 fingerprint/);
  });

  it("stream: one message per line, joined across chunks; bytes are the lines", async () => {
    const fake = fakeWebTransport();
    const channel = await openWebTransport("https://127.0.0.1:9/wt/echo", FINGERPRINT, 1000, "stream", fake.Impl);
    expect(fake.opened[0].url).toBe("https://127.0.0.1:9/wt/echo");
    expect(fake.opened[0].hashes).toEqual([{ algorithm: "sha-256", value: certificateHash(FINGERPRINT) }]);
    for (const seq of [1, 2, 3]) {
      const { json, query } = echoRequest(seq, "xxxx");
      const x = await channel.exchange(json, query);
      expect(x.serverTimeS).toBe(1.7e9);
      expect(x.bytesOut).toBe(new TextEncoder().encode(json).length + 1);
      expect(x.bytesIn).toBe(JSON.stringify({ seq, server_time: 1.7e9, payload: "" }).length + 1);
    }
    expect(fake.streams.opened).toBe(1);
    channel.close();
  });

  it("streams: each message on a stream of its own", async () => {
    const fake = fakeWebTransport();
    const channel = await openWebTransport("https://127.0.0.1:9/wt/echo", FINGERPRINT, 1000, "streams", fake.Impl);
    for (const seq of [1, 2, 3]) {
      const { json, query } = echoRequest(seq, "");
      expect((await channel.exchange(json, query)).bytesIn).toBe(JSON.stringify({ seq, server_time: 1.7e9, payload: "" }).length + 1);
    }
    expect(fake.streams.opened).toBe(3);
  });

  it("datagrams: a lost one is counted as lost, not fatal; a late answer is skipped", async () => {
    // The 2nd datagram is lost; the 4th answered only after the 5th.
    const fake = fakeWebTransport({ drop: (n) => n === 2, late: (n) => n === 4 });
    let t = 0;
    const channel = await openWebTransport("https://127.0.0.1:9/wt/echo", FINGERPRINT, 1000, "datagrams", fake.Impl, () => t);
    const results: (string | number)[] = [];
    for (const seq of [1, 2, 3, 4, 5]) {
      const { json, query } = echoRequest(seq, "");
      try {
        const x = await channel.exchange(json, query);
        results.push(x.bytesIn);
      } catch (e) {
        expect(e).toBeInstanceOf(ExchangeError);
        expect((e as ExchangeError).fatal).toBe(false);
        results.push((e as Error).message);
      }
      t += 1;
    }
    const bytes = (seq: number) => JSON.stringify({ seq, server_time: 1.7e9, payload: "" }).length;
    // The 4th waits its 250 ms (real time) and is lost; its answer, come with the 5th's, is skipped.
    expect(results).toEqual([bytes(1), LOST, bytes(3), LOST, bytes(5)]);
  });

  it("a page without WebTransport runs the rest of its plan and says why it left wt out", async () => {
    const run = runOf({ ...plan, transports: ["ws", "wt", "wt-dgram"], sets: 2, calls: 3, warmup: 1 });
    const opened: Transport[] = [];
    const channels = Object.assign(
      async (transport: Transport): Promise<EchoChannel> => {
        opened.push(transport);
        return { exchange: async () => ({ serverTimeS: 1.7e9, bytesOut: 1, bytesIn: 1 }), close() {} };
      },
      { unavailable: (t: Transport) => webTransportUnavailable(t, ACCESS, { isSecureContext: true }) },
    );
    let total = 0;
    const part = await runWebview(run, "127.0.0.1:1", { channels, sleep: async () => {}, onProgress: (p) => (total = p.total) });
    expect(part.status).toBe("complete");
    expect(opened).toEqual(["ws"]);
    expect(part.samples).toHaveLength(6);
    expect(total).toBe(6);
    expect(part.info?.unavailable).toEqual([
      { transport: "wt", reason: "this browser engine has no WebTransport" },
      { transport: "wt-dgram", reason: "this browser engine has no WebTransport" },
    ]);
  });
});
