// k6 against `duplex serve`: WebSocket virtual users that each echo one message a second over
// one connection (/ws/echo: every message back unchanged), and HTTP virtual users that each GET
// the echo once a second. Zero failed checks and zero connection errors are wanted.
//
//   k6 run -e DUPLEX=127.0.0.1:9000 -e DURATION=60s scripts/k6/ws-and-http.js
//   (scripts/k6.sh starts the server, runs this and reads the server's memory)
//
// k6 scripts have only Date.now(), a millisecond clock: k6's own ws_* and http_req_* metrics
// time what it can, and Duplex's clients do the microsecond timing.
import http from "k6/http";
import ws from "k6/ws";
import { check, sleep } from "k6";
import { Counter } from "k6/metrics";

const BASE = __ENV.DUPLEX || "127.0.0.1:9000";
const DURATION = __ENV.DURATION || "60s";
const WS_VUS = Number(__ENV.WS_VUS || 500);
const HTTP_VUS = Number(__ENV.HTTP_VUS || 100);
const seconds = Number(DURATION.replace(/s$/, ""));

const echoes = new Counter("duplex_ws_echoes");
const wsErrors = new Counter("duplex_ws_errors");

export const options = {
  scenarios: {
    websockets: { executor: "per-vu-iterations", vus: WS_VUS, iterations: 1, maxDuration: `${seconds + 30}s`, exec: "websocket" },
    ajax: { executor: "constant-vus", vus: HTTP_VUS, duration: DURATION, exec: "ajax" },
  },
  thresholds: {
    checks: ["rate==1"],
    http_req_failed: ["rate==0"],
    duplex_ws_errors: ["count==0"],
  },
};

/** One connection for the whole run, a message a second, each echoed back unchanged. */
export function websocket() {
  const res = ws.connect(`ws://${BASE}/ws/echo`, null, (socket) => {
    let sent = 0;
    let waiting = null;
    socket.on("open", () => {
      socket.setInterval(() => {
        sent += 1;
        waiting = `duplex k6 vu ${__VU} message ${sent}`;
        socket.send(waiting);
      }, 1000);
      socket.setTimeout(() => socket.close(), seconds * 1000);
    });
    socket.on("message", (message) => {
      echoes.add(1);
      check(message, { "ws echo unchanged": (m) => m === waiting });
    });
    socket.on("error", () => wsErrors.add(1));
  });
  check(res, { "ws upgraded (101)": (r) => r && r.status === 101 });
}

let seq = 0;
export function ajax() {
  seq += 1;
  const res = http.get(`http://${BASE}/echo?client_time=${Date.now() / 1000}&seq=${seq}&payload=duplex`);
  check(res, { "http echo 200": (r) => r.status === 200 && r.body.includes(`"seq":${seq}`) });
  sleep(1);
}
