"""An HTTP server nobody in Duplex wrote that slows down part-way, as a server under growing load
does: after N requests every answer waits DELAY_MS more. It echoes a POST's body and answers a GET
with a short text, keeping connections alive. Prints "http=PORT" once it listens.

usage: slows_down.py N DELAY_MS"""

import http.server
import socket
import sys
import threading
import time

AFTER = int(sys.argv[1])
DELAY = float(sys.argv[2]) / 1000
served = 0
lock = threading.Lock()


class SlowsDown(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        # Its head and body are two writes: without this, Nagle holds the body for the
        # client's delayed ACK (40 ms a call).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_POST(self):
        self.answer(self.rfile.read(int(self.headers.get("Content-Length", "0"))))

    def do_GET(self):
        self.answer(b"hello")

    def answer(self, body):
        global served
        with lock:
            served += 1
            late = served > AFTER
        if late:
            time.sleep(DELAY)
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), SlowsDown)
print(f"http={server.server_address[1]}", flush=True)
server.serve_forever()
