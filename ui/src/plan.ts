// Words for the plan form. What a plan means — which client measures which transport, the
// order of blocks, how many calls, what is refused — is the engine's: the form asks it
// (`validate_plan`, and `app_info` for which clients measure which transport).
import type { Transport } from "./bindings";

/** The transports the plan form offers, with what they mean. */
export const TRANSPORT_LABELS: [Transport, string][] = [
  ["ws", "WebSocket echo"],
  ["http", "AJAX (HTTP keep-alive; fetch in the web view)"],
  ["xhr", "AJAX by XMLHttpRequest (the paper's jQuery)"],
  ["http-new", "AJAX, new connection per request"],
  ["wss", "WebSocket echo over TLS"],
  ["https", "AJAX over TLS (HTTP/1.1 keep-alive)"],
  ["https-new", "AJAX over TLS, new connection and handshake per request"],
  ["h2", "AJAX over one HTTP/2 connection (TLS); concurrent clients share it"],
  ["wt", "WebTransport echo on one stream (HTTP/3 over QUIC): WebSocket's counterpart"],
  ["wt-streams", "WebTransport echo on a new stream per message (the session kept)"],
  ["wt-dgram", "WebTransport echo by datagrams: a lost one is counted, not sent again"],
  ["h3", "AJAX over HTTP/3 (QUIC)"],
  ["h3-new", "AJAX over HTTP/3, new QUIC connection per request (0-RTT once resumed)"],
];
