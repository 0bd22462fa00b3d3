// k6 as a timed peer (scripts/peers.sh): one virtual user, one connection, back to back.
// MODE=http: GETs of Duplex's echo, timed by k6 itself (http_req_duration, Go's clock).
// MODE=ws: WebSocket pings answered by the server's pongs (ws_ping: k6's only WebSocket round
// trip it times itself; a script's own timing would have Date.now(), whole milliseconds only).
import http from "k6/http";
import ws from "k6/ws";

const BASE = __ENV.DUPLEX || "127.0.0.1:9000";
const CALLS = Number(__ENV.CALLS || 5000);

export const options = { vus: 1, iterations: 1, summaryTrendStats: ["med", "p(99)", "avg", "min", "max"] };

export default function () {
  if (__ENV.MODE === "ws") {
    ws.connect(`ws://${BASE}/ws/echo`, null, (socket) => {
      let left = CALLS;
      socket.on("open", () => socket.ping());
      socket.on("pong", () => {
        left -= 1;
        if (left > 0) socket.ping();
        else socket.close();
      });
    });
    return;
  }
  for (let i = 0; i < CALLS; i++) {
    http.get(`http://${BASE}/echo?client_time=1.0&seq=${i}&payload=xxxxxxxxxxxxxxxx`);
  }
}
