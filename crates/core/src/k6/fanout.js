// __DUPLEX_HEADER__
//
// The server must tick every __DUPLEX_TICK__ ms and hold every subscriber, e.g.
//   duplex serve --bind 0.0.0.0:9000 --tick-ms __DUPLEX_TICK__ --max-connections __DUPLEX_ROOM__ --max-connections-per-peer __DUPLEX_ROOM__ --max-long-polls __DUPLEX_ROOM__
// (setup() checks its tick against /health and stops the test if they differ).
// Run it on one host:      k6 run --out json=fanout.json THIS_FILE
// or split over N hosts (the k6-operator does this with `parallelism: N`), e.g. two:
//   k6 run --execution-segment 0:1/2 --execution-segment-sequence 0,1/2,1 --out json=a.json THIS_FILE
//   k6 run --execution-segment 1/2:1 --execution-segment-sequence 0,1/2,1 --out json=b.json THIS_FILE
// then read the outputs back as one fan-out report:  duplex import --k6 a.json b.json
// Another server:  k6 run -e DUPLEX_TARGET=host:port …   A LAN server's access token:
// -e DUPLEX_TOKEN=… (this file never holds it).
//
// What k6 cannot time: a k6 script's clock is Date.now(), whole milliseconds, and a delivery's
// delay is that clock at arrival minus the server's clock at the event's creation
// (`created_ns`): across hosts, the hosts' clock offset is in every figure. k6 counts no bytes.
import http from "k6/http";
import exec from "k6/execution";
import { WebSocket } from "k6/experimental/websockets";
import { Counter, Trend } from "k6/metrics";

const PLAN = __DUPLEX_PLAN__;
const TICK_MS = __DUPLEX_TICK__;
// Subscribers held by one virtual user (each its own socket or long-poll).
const PER_VU = __DUPLEX_PER_VU__;
const TARGET = __ENV.DUPLEX_TARGET || "__DUPLEX_TARGET__";
const TOKEN = __ENV.DUPLEX_TOKEN ? `token=${encodeURIComponent(__ENV.DUPLEX_TOKEN)}` : "";
const withToken = (url) => (TOKEN ? `${url}${url.includes("?") ? "&" : "?"}${TOKEN}` : url);

const delay = new Trend("duplex_push", true);
const subscribed = new Counter("duplex_subscribed");
const errors = new Counter("duplex_errors");
const planPoint = new Counter("duplex_fanout_plan");

// Every subscriber connects within the plan's timeout, then stays for the warm-up tick, the
// measured ones and two to spare; the next cell starts when this one has closed.
const HOLD_MS = PLAN.timeout_ms + (PLAN.broadcasts + 3) * TICK_MS;
const GAP_MS = 3000;
// Cells in Duplex's order: each transport at each count.
const CELLS = PLAN.transports.flatMap((transport) => PLAN.subscribers.map((n) => ({ transport, n })));

export const options = {
  scenarios: Object.fromEntries(CELLS.map((cell, i) => [`cell${i}`, {
    executor: "per-vu-iterations",
    exec: "subscribe",
    vus: Math.ceil(cell.n / PER_VU),
    iterations: 1,
    startTime: `${i * (HOLD_MS + GAP_MS)}ms`,
    maxDuration: `${HOLD_MS + GAP_MS}ms`,
  }])),
  summaryTrendStats: ["med", "p(90)", "p(99)", "avg", "min", "max", "count"],
};

// Once per k6 process: the plan, the tick and this process's share, for `duplex import --k6`.
export function setup() {
  const health = http.get(withToken(`http://${TARGET}/health`));
  const tick = health.status === 200 ? health.json("tick_ms") : null;
  if (tick !== TICK_MS) {
    exec.test.abort(`the server at ${TARGET} ticks every ${tick} ms (status ${health.status}), this script expects ${TICK_MS} ms: duplex serve --tick-ms ${TICK_MS}`);
  }
  const segment = exec.test.options.executionSegment || "0:1";
  planPoint.add(1, { duplex_fanout_plan: JSON.stringify(PLAN), tick_ms: String(TICK_MS), segment: String(segment), target: TARGET });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** One event's arrival: its delay from its creation on the server's clock, ms. */
function arrived(tags, body) {
  let event;
  try {
    event = JSON.parse(body);
  } catch (e) {
    errors.add(1, { ...tags, error: `not an event: ${String(body).slice(0, 100)}` });
    return null;
  }
  if (event.event === "tick") {
    delay.add(Date.now() - event.created_ns / 1e6, { ...tags, event: String(event.seq) });
  }
  return event.seq;
}

function pushSubscriber(tags, started, end) {
  return new Promise((resolve) => {
    const socket = new WebSocket(withToken(`ws://${TARGET}/ws/push`));
    let open = false;
    socket.onopen = () => {
      open = true;
      subscribed.add(1, { ...tags, since_ms: String(Date.now() - started) });
      setTimeout(() => socket.close(), Math.max(0, end - Date.now()));
    };
    socket.onmessage = (m) => arrived(tags, m.data);
    socket.onerror = (e) => errors.add(1, { ...tags, error: `websocket: ${e.error || "error"}` });
    socket.onclose = () => {
      if (Date.now() < end - 50) errors.add(1, { ...tags, error: open ? "websocket closed early" : "websocket never opened" });
      resolve();
    };
  });
}

async function longPollSubscriber(tags, started, end) {
  let after = null;
  let first = true;
  while (Date.now() < end) {
    const wait = Math.max(1, Math.min(30000, end - Date.now()));
    const query = after === null ? `timeout_ms=${wait}` : `after=${after}&timeout_ms=${wait}`;
    if (first) {
      subscribed.add(1, { ...tags, since_ms: String(Date.now() - started) });
      first = false;
    }
    const res = await http.asyncRequest("GET", withToken(`http://${TARGET}/events/next?${query}`), null, { timeout: `${wait + 10000}ms` });
    if (res.status === 200) {
      const seq = arrived(tags, res.body);
      if (seq !== null) after = seq;
    } else if (res.status !== 204) {
      errors.add(1, { ...tags, error: `http ${res.status}: ${String(res.error || res.body || "").slice(0, 200)}` });
      await sleep(100);
    }
  }
}

export async function subscribe() {
  const cell = CELLS[Number(exec.scenario.name.slice(4))];
  const started = Date.now();
  const end = started + HOLD_MS;
  const first = exec.scenario.iterationInTest * PER_VU;
  const held = [];
  for (let id = first; id < Math.min(cell.n, first + PER_VU); id++) {
    const tags = { transport: cell.transport, subscribers: String(cell.n), subscriber: String(id) };
    held.push(cell.transport === "ws-push" ? pushSubscriber(tags, started, end) : longPollSubscriber(tags, started, end));
  }
  await Promise.all(held);
}
