"""A real WebSocket peer for websocket_test.lua, on Python's websockets.

    ws_peer.py server [CERT KEY]   echo server; prints its port first.
        A text "ping-me" makes it ping with b"py-ping" and, once the pong
        came, send "got pong". Messages of any size are echoed.
    ws_peer.py client URL [CA]     a client run against our server; prints
        one line per check.
"""
import asyncio
import ssl
import sys

import websockets


async def echo(ws, path=None):
    async for msg in ws:
        if msg == "ping-me":
            waiter = await ws.ping(b"py-ping")
            await asyncio.wait_for(waiter, 10)
            await ws.send("got pong")
        else:
            await ws.send(msg)


async def serve(args):
    ctx = None
    if args:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args[0], args[1])
    async with websockets.serve(echo, "127.0.0.1", 0, ssl=ctx, max_size=None) as srv:
        print(srv.sockets[0].getsockname()[1], flush=True)
        await asyncio.Future()


async def client(url, ca):
    ctx = None
    if ca:
        ctx = ssl.create_default_context(cafile=ca)
    async with websockets.connect(url, ssl=ctx, max_size=None, ping_interval=None) as ws:
        await ws.send("hello from python")
        print("text", await ws.recv(), flush=True)
        await ws.send(b"\x00\x01\xff")
        print("binary", (await ws.recv()).hex(), flush=True)
        await ws.send(["frag", "mented", " message"])
        print("fragmented", await ws.recv(), flush=True)
        big = bytes(range(256)) * (64 * 1024)  # 16 MiB
        await ws.send(big)
        print("big", len(await ws.recv()) == len(big), flush=True)
        pong = await ws.ping(b"from-python")
        await asyncio.wait_for(pong, 10)
        print("pong", "ok", flush=True)
        await ws.close(code=4000, reason="bye")
        print("closed", ws.close_code, flush=True)


if sys.argv[1] == "server":
    asyncio.run(serve(sys.argv[2:]))
else:
    asyncio.run(client(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None))
