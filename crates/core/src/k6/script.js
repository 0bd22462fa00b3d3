// __DUPLEX_HEADER__
//
// Run it on one host:      k6 run --out json=duplex-k6.json THIS_FILE
// or split over N hosts (the k6-operator does this with `parallelism: N`), e.g. two:
//   k6 run --execution-segment 0:1/2 --execution-segment-sequence 0,1/2,1 --out json=a.json THIS_FILE
//   k6 run --execution-segment 1/2:1 --execution-segment-sequence 0,1/2,1 --out json=b.json THIS_FILE
// then read the outputs back as one run:  duplex import --k6 a.json b.json
// Another server:  k6 run -e DUPLEX_TARGET=host:port …   A LAN server's access token:
// -e DUPLEX_TOKEN=… (this file never holds it).
//
// What k6 cannot time: a k6 script's clock is Date.now(), whole milliseconds. A round trip under
// a millisecond reads 0, and Duplex reads it as a bound ("< 1.00 ms (clock step)"); its verdict
// then rests on the means. k6 counts no bytes per message either.
import http from "k6/http";
import exec from "k6/execution";
import { WebSocket } from "k6/experimental/websockets";
import { Counter, Trend } from "k6/metrics";

const PLAN = __DUPLEX_PLAN__;
// (transport, set) in the order Duplex runs them.
const BLOCKS = __DUPLEX_BLOCKS__;
const TARGET = __ENV.DUPLEX_TARGET || "__DUPLEX_TARGET__";
const TOKEN = __ENV.DUPLEX_TOKEN ? `token=${encodeURIComponent(__ENV.DUPLEX_TOKEN)}` : "";
const withToken = (url) => (TOKEN ? `${url}${url.includes("?") ? "&" : "?"}${TOKEN}` : url);

const rtt = new Trend("duplex_rtt", true);
const errors = new Counter("duplex_errors");
const plan = new Counter("duplex_plan");

export const options = {
  scenarios: { duplex: { executor: "per-vu-iterations", vus: PLAN.concurrency, iterations: 1, maxDuration: "__DUPLEX_MAX__" } },
  summaryTrendStats: ["med", "p(90)", "p(99)", "avg", "min", "max", "count"],
};

// Once per k6 process: the plan and this process's share of the test, for `duplex import --k6`.
export function setup() {
  const segment = exec.test.options.executionSegment || "0:1";
  plan.add(1, { duplex_plan: JSON.stringify(PLAN), segment: String(segment), target: TARGET });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const payload = "x".repeat(PLAN.payload_bytes);

/** One WebSocket for the whole run; each echo resolves with the message that came back. */
function openSocket() {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(withToken(`ws://${TARGET}/ws/echo`));
    let waiting = null;
    socket.onopen = () => resolve({
      echo: () => new Promise((res, rej) => {
        waiting = { res, rej };
        socket.send(payload);
      }),
      close: () => socket.close(),
    });
    socket.onmessage = (m) => { if (waiting) { const w = waiting; waiting = null; w.res(m.data); } };
    socket.onerror = (e) => { const why = new Error(`websocket: ${e.error || "error"}`); if (waiting) { const w = waiting; waiting = null; w.rej(why); } else reject(why); };
    socket.onclose = () => { if (waiting) { const w = waiting; waiting = null; w.rej(new Error("websocket closed")); } };
  });
}

function httpEcho(seq) {
  const res = PLAN.http_method === "post"
    ? http.post(withToken(`http://${TARGET}/echo/plain`), payload)
    : http.get(withToken(`http://${TARGET}/echo?client_time=${Date.now() / 1e3}&seq=${seq}&payload=${payload}`));
  if (res.status !== 200) throw new Error(`http ${res.status}: ${String(res.error || res.body || "").slice(0, 200)}`);
}

export default async function () {
  const client = exec.vu.idInTest - 1;
  let socket = null;
  const call = async (transport, seq) => {
    if (transport === "ws") {
      socket = socket || (await openSocket());
      await socket.echo();
    } else {
      httpEcho(seq);
    }
  };
  // Warm-up calls, not recorded.
  for (const transport of PLAN.transports) {
    for (let i = 0; i < PLAN.warmup; i++) await call(transport, 0).catch(() => {});
  }
  const seq = {};
  const start = Date.now();
  let n = 0;
  for (const [transport, set] of BLOCKS) {
    for (let i = 0; i < PLAN.calls; i++) {
      // A rate is a fixed schedule, each client a share of a period later, and a late send's
      // lateness counts in its time (as Duplex's own clients count it); an interval is a pause
      // after each answer.
      let due = null;
      if (PLAN.rate) {
        due = start + (n + client / PLAN.concurrency) * (1000 / PLAN.rate);
        if (due > Date.now()) await sleep(due - Date.now());
      }
      n += 1;
      seq[transport] = (seq[transport] || 0) + 1;
      const tags = { transport, set: String(set), client: String(client), seq: String(seq[transport]) };
      const sent = due === null ? Date.now() : Math.min(Math.round(due), Date.now());
      try {
        await call(transport, seq[transport]);
        rtt.add(Date.now() - sent, { ...tags, sent: String(sent) });
      } catch (e) {
        errors.add(1, { ...tags, sent: String(sent), error: String(e.message || e).slice(0, 300) });
        socket = transport === "ws" ? null : socket;
      }
      if (!PLAN.rate && PLAN.interval_ms > 0) await sleep(PLAN.interval_ms);
    }
  }
  if (socket) socket.close();
}
