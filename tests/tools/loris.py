#!/usr/bin/env python3
"""loris.py - a slow-loris client for the bad-actor tests.

    loris.py --port P [--host H] [--bind ADDR] [--conns N] [--mode M]
             [--interval S] [--duration S] [--out FILE]

Opens N TCP connections to H:P from source address ADDR, then for
--duration seconds either trickles a request one byte per --interval per
connection (--mode upgrade: a websocket upgrade request; --mode http: a
REST request) or sends nothing at all (--mode idle). The request never
ends: its last header is padded beyond what the test runs long enough to
send.

It records, per connection, when the server closed it, and prints one line
of figures (key=value) at the end, or into --out:

    opened=N          connections the kernel accepted
    dropped_at_once=N closed by the server within 1 s of connecting
    held=N            open for more than 1 s
    closed=N          closed by the server before the end
    first_close_s, last_close_s, max_held_close_s
                      when closes happened (seconds since the start);
                      max_held_close_s ignores the ones dropped at once
    open_at_end=N     still open when --duration ran out

Every loop is bounded by --duration; sockets are non-blocking after the
connect, which has a 2 s timeout.
"""
import argparse
import select
import socket
import time

PAD = b"a" * 100000


def request(mode, host):
    if mode == "upgrade":
        head = (b"GET / HTTP/1.1\r\nHost: " + host.encode() +
                b"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                b"Sec-WebSocket-Version: 13\r\n"
                b"Sec-WebSocket-Protocol: berth-agent\r\n")
    else:
        head = (b"GET /v1/grids HTTP/1.1\r\nHost: " + host.encode() +
                b"\r\n")
    return head + b"X-Pad: " + PAD


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--bind", default=None)
    ap.add_argument("--conns", type=int, default=100)
    ap.add_argument("--mode", choices=["upgrade", "http", "idle"],
                    default="upgrade")
    ap.add_argument("--interval", type=float, default=1.0)
    ap.add_argument("--duration", type=float, default=15.0)
    ap.add_argument("--out", default=None)
    a = ap.parse_args()

    req = request(a.mode, a.host)
    t0 = time.monotonic()
    conns = []      # [socket, bytes sent, connected at, closed at]
    failed = 0
    for _ in range(a.conns):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            if a.bind:
                s.bind((a.bind, 0))
            s.settimeout(2)
            s.connect((a.host, a.port))
            s.setblocking(False)
        except OSError:
            failed += 1
            s.close()
            continue
        conns.append([s, 0, time.monotonic() - t0, None])

    def close(c):
        c[3] = time.monotonic() - t0
        c[0].close()

    next_send = 0.0
    while time.monotonic() - t0 < a.duration:
        live = [c for c in conns if c[3] is None]
        if not live:
            break
        now = time.monotonic() - t0
        if a.mode != "idle" and now >= next_send:
            next_send = now + a.interval
            for c in live:
                try:
                    c[1] += c[0].send(req[c[1]:c[1] + 1])
                except BlockingIOError:
                    pass
                except OSError:
                    close(c)
            live = [c for c in live if c[3] is None]
        wait = (next_send if a.mode != "idle" else a.duration) - \
            (time.monotonic() - t0)
        poll = select.poll()
        by_fd = {}
        for c in live:
            poll.register(c[0], select.POLLIN)
            by_fd[c[0].fileno()] = c
        for fd, _ in poll.poll(int(max(0.0, min(wait, 0.2)) * 1000)):
            c = by_fd[fd]
            try:
                d = c[0].recv(4096)
            except BlockingIOError:
                continue
            except OSError:
                d = b""
            if not d:
                close(c)

    at_once = [c for c in conns if c[3] is not None and c[3] - c[2] <= 1.0]
    held = [c for c in conns if c not in at_once]
    closed = [c[3] for c in conns if c[3] is not None]
    held_closed = [c[3] for c in held if c[3] is not None]
    fig = {
        "opened": len(conns),
        "connect_failed": failed,
        "dropped_at_once": len(at_once),
        "held": len(held),
        "closed": len(closed),
        "first_close_s": "%.2f" % min(closed) if closed else "-",
        "last_close_s": "%.2f" % max(closed) if closed else "-",
        "max_held_close_s": "%.2f" % max(held_closed) if held_closed
                            else "-",
        "open_at_end": len([c for c in conns if c[3] is None]),
    }
    line = " ".join("%s=%s" % kv for kv in fig.items())
    for c in conns:
        if c[3] is None:
            c[0].close()
    if a.out:
        with open(a.out, "w") as f:
            f.write(line + "\n")
    else:
        print(line)


if __name__ == "__main__":
    main()
