"""Servers no one in Duplex wrote, for its foreign-server runs: a WebSocket echo server
(Debian's python3-websockets) and an HTTP endpoint (Python's http.server) that answers a POST
with its body and a GET with a short text. With CERT and KEY (PEM files), both speak TLS.
Prints "ws=PORT http=PORT" once both listen, then serves until killed.

usage: foreign_servers.py [CERT KEY]"""

import asyncio
import http.server
import socket
import ssl
import sys
import threading

import websockets


class Echo(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        # Its head and body are two writes: without this, Nagle holds the body for the
        # client's delayed ACK (40 ms a call).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.answer(body)

    def do_GET(self):
        self.answer(b"hello from a server Duplex did not write")

    def answer(self, body):
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


async def echo(ws, path=None):
    async for message in ws:
        await ws.send(message)


async def main():
    context = None
    if len(sys.argv) == 3:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(sys.argv[1], sys.argv[2])
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    if context:
        httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    async with websockets.serve(echo, "127.0.0.1", 0, ssl=context) as server:
        port = server.sockets[0].getsockname()[1]
        print(f"ws={port} http={httpd.server_address[1]}", flush=True)
        await asyncio.Future()


asyncio.run(main())
