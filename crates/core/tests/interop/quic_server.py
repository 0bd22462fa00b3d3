"""A QUIC server no one in Duplex wrote (aioquic, from PyPI), for Duplex's foreign-server runs
over HTTP/3 and WebTransport: an HTTP/3 endpoint that answers a POST with its body and a GET with
a short text, and a WebTransport echo at /wt that sends every stream's bytes and every datagram
back unchanged. It issues session tickets, each good for one resumption with 0-RTT data (aioquic
answers early data as it comes). Prints "quic=PORT" once it listens on 127.0.0.1, then serves
until killed.

usage: quic_server.py CERT KEY"""

import asyncio
import sys

from aioquic.asyncio import QuicConnectionProtocol, serve
from aioquic.h3.connection import H3_ALPN, H3Connection
from aioquic.h3.events import (
    DataReceived,
    DatagramReceived,
    HeadersReceived,
    WebTransportStreamDataReceived,
)
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.events import ProtocolNegotiated, QuicEvent


class Server(QuicConnectionProtocol):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.h3 = None
        self.bodies = {}
        self.sessions = set()

    def quic_event_received(self, event: QuicEvent) -> None:
        if isinstance(event, ProtocolNegotiated) and event.alpn_protocol in H3_ALPN:
            self.h3 = H3Connection(self._quic, enable_webtransport=True)
        if self.h3 is None:
            return
        for h3_event in self.h3.handle_event(event):
            self.h3_event(h3_event)
        self.transmit()

    def h3_event(self, event) -> None:
        if isinstance(event, HeadersReceived):
            headers = dict(event.headers)
            method = headers.get(b":method")
            if method == b"CONNECT" and headers.get(b":protocol") == b"webtransport":
                self.sessions.add(event.stream_id)
                self.h3.send_headers(event.stream_id, [(b":status", b"200"), (b"sec-webtransport-http3-draft", b"draft02")])
            elif method == b"GET":
                self.answer(event.stream_id, b"hello from a server Duplex did not write")
            else:
                self.bodies[event.stream_id] = b""
                if event.stream_ended:
                    self.answer(event.stream_id, b"")
        elif isinstance(event, DataReceived) and event.stream_id in self.bodies:
            self.bodies[event.stream_id] += event.data
            if event.stream_ended:
                self.answer(event.stream_id, self.bodies.pop(event.stream_id))
        elif isinstance(event, WebTransportStreamDataReceived):
            # A bidirectional stream the client opened: its bytes back on it.
            self._quic.send_stream_data(event.stream_id, event.data, end_stream=event.stream_ended)
        elif isinstance(event, DatagramReceived):
            self.h3.send_datagram(event.stream_id, event.data)

    def answer(self, stream_id, body) -> None:
        self.h3.send_headers(
            stream_id,
            [(b":status", b"200"), (b"content-type", b"application/octet-stream"), (b"content-length", str(len(body)).encode())],
        )
        self.h3.send_data(stream_id, body, end_stream=True)


class SessionTickets:
    """The tickets this server issued, each taken once: 0-RTT data can be replayed."""

    def __init__(self):
        self.tickets = {}

    def add(self, ticket) -> None:
        self.tickets[ticket.ticket] = ticket

    def take(self, label):
        return self.tickets.pop(label, None)


async def main(cert, key):
    configuration = QuicConfiguration(
        alpn_protocols=H3_ALPN, is_client=False, max_datagram_frame_size=65536
    )
    configuration.load_cert_chain(cert, key)
    tickets = SessionTickets()
    server = await serve(
        "127.0.0.1",
        0,
        configuration=configuration,
        create_protocol=Server,
        session_ticket_fetcher=tickets.take,
        session_ticket_handler=tickets.add,
    )
    port = server._transport.get_extra_info("sockname")[1]
    print(f"quic={port}", flush=True)
    await asyncio.Future()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
