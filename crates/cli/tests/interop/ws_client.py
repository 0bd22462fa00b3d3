"""A WebSocket client no one in Duplex wrote (Debian's python3-websockets) against `duplex serve`:
JSON echo, binary echo, the paper's Appendix A.1 bare float to `/`, a malformed message, the
plain echo at `/ws/echo`, and a page from a foreign origin refused. Prints "ok" when every check passed."""

import asyncio
import json
import sys

import websockets


async def main(base: str) -> None:
    async with websockets.connect(base + "/ws") as ws:
        for seq in range(1, 101):
            await ws.send(json.dumps({"client_time": 1.5, "seq": seq, "payload": "é" * 10}))
            reply = json.loads(await ws.recv())
            assert reply["seq"] == seq and reply["payload"] == "é" * 10, reply
        await ws.send(b"\x01\x02\x03")
        reply = await ws.recv()
        assert isinstance(reply, bytes) and len(reply) == 11 and reply[8:] == b"\x01\x02\x03", reply
        await ws.send("not json")
        assert "error" in json.loads(await ws.recv())
        await ws.ping()
    # The paper's client: a bare float in a text frame to the bare address.
    async with websockets.connect(base + "/") as ws:
        await ws.send("1700000000.25")
        reply = json.loads(await ws.recv())
        assert reply["client_time"] == 1700000000.25, reply
    # The plain echo: every message back as it was, text as text, binary as binary.
    async with websockets.connect(base + "/ws/echo") as ws:
        await ws.send("hello, échó")
        assert await ws.recv() == "hello, échó"
        await ws.send(b"\x00\xff" * 1000)
        assert await ws.recv() == b"\x00\xff" * 1000
    # A page from another site must not get in.
    try:
        async with websockets.connect(base + "/ws", origin="https://evil.example"):
            raise SystemExit("a foreign origin was let in")
    except websockets.exceptions.InvalidStatusCode as e:
        assert e.status_code == 403, e
    print("ok")


asyncio.run(main(sys.argv[1]))
