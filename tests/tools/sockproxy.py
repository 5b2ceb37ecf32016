#!/usr/bin/env python3
"""sockproxy.py - a unix-socket forwarder that stands for a Docker Engine
socket that can go away.

    sockproxy.py LISTEN_PATH TARGET_PATH

Listens on LISTEN_PATH and forwards every connection to TARGET_PATH
(/var/run/docker.sock). An agent whose DOCKER_HOST is unix://LISTEN_PATH
talks to the real engine through it. Killing it closes every forwarded
connection and removes LISTEN_PATH, which is what an agent sees when
dockerd stops: its socket is gone (tests/e2e/truth.sh, "a dead engine").
Standard library only.
"""
import asyncio
import os
import signal
import sys


async def pipe(reader, writer):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        try:
            writer.close()
        except OSError:
            pass


async def serve(listen, target):
    async def handle(cr, cw):
        try:
            tr, tw = await asyncio.open_unix_connection(target)
        except OSError:
            cw.close()
            return
        await asyncio.gather(pipe(cr, tw), pipe(tr, cw))

    if os.path.exists(listen):
        os.unlink(listen)
    server = await asyncio.start_unix_server(handle, path=listen)
    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(
            sig, lambda: stop.done() or stop.set_result(None))
    async with server:
        await stop
    if os.path.exists(listen):
        os.unlink(listen)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: sockproxy.py LISTEN_PATH TARGET_PATH")
    asyncio.run(serve(sys.argv[1], sys.argv[2]))
