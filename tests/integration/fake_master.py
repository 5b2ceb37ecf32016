#!/usr/bin/env python3
"""fake_master.py - a stand-in for the master's agent hub, for agent tests.

Speaks docs/protocol.md from the master's side with nothing but the Python
standard library: accepts the upgrade, checks the grid or node token, sends
welcome (minting a node token on a grid-token join), then sends the desired
frame held in --desired FILE on connect and whenever the file changes; so
too each --frame FILE (repeatable: any frame, a "network" one say), once it
exists, which lets a test choose the order in which frames arrive.
Every frame the agent sends is printed on stdout as "RX <json>", one line
each, so a shell test can grep them. Optional: --close-code N closes each
session with N right after the upgrade (to test the agent's reactions), with
--close-reason TEXT as its reason.
--silent STEP stalls the first --silent-count connections (default: all)
at one step of the connect path, for the agent's deadlines: "accept"
(accept and say nothing: the upgrade, or with wss:// the TLS handshake,
is never answered), "welcome" (answer the upgrade, never send welcome),
or "syn" (a full accept queue: connects hang in SYN-SENT; nothing is ever
served). Each stalled connection prints "STALL <step> <n>". Every accepted
connection is printed as "ACCEPT n".
Not the real master: no store, no scheduler, no pings.
"""
import argparse, base64, hashlib, json, os, secrets, socket, struct, sys
import threading, time

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
lock = threading.Lock()
send_locks = {}		# socket -> its lock: the pusher and the reader
			# (pongs) of a session both send
send_locks_guard = threading.Lock()
minted = {}		# node id -> node token


def out(line):
    with lock:
        print(line, flush=True)


def recv_exact(s, n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise EOFError
        b += c
    return b


def send_frame(s, op, payload):
    h = bytes([0x80 | op])
    n = len(payload)
    if n < 126:
        h += bytes([n])
    elif n < 65536:
        h += bytes([126]) + struct.pack("!H", n)
    else:
        h += bytes([127]) + struct.pack("!Q", n)
    with send_locks_guard:
        sl = send_locks.setdefault(s, threading.Lock())
    with sl:
        s.sendall(h + payload)


def send_json(s, o):
    send_frame(s, 1, json.dumps(o).encode())


def close(s, code, reason=""):
    send_frame(s, 8, struct.pack("!H", code) + reason.encode())


def read_frame(s):
    b0, b1 = recv_exact(s, 2)
    op, n = b0 & 0x0F, b1 & 0x7F
    if n == 126:
        n = struct.unpack("!H", recv_exact(s, 2))[0]
    elif n == 127:
        n = struct.unpack("!Q", recv_exact(s, 8))[0]
    mask = recv_exact(s, 4) if b1 & 0x80 else b"\0\0\0\0"
    data = bytearray(recv_exact(s, n))
    for i in range(n):
        data[i] ^= mask[i % 4]
    return b0 & 0x80, op, bytes(data)


def stall(s):
    """Hold the connection open and say nothing until the peer goes."""
    try:
        while s.recv(4096):
            pass
    except OSError:
        pass


def session(s, args, n):
    if args.silent == "accept" and n <= args.silent_count:
        out("STALL accept %d" % n)
        return stall(s)
    req = b""
    while b"\r\n\r\n" not in req:
        c = s.recv(4096)
        if not c:
            return
        req += c
    lines = req.split(b"\r\n\r\n")[0].decode().split("\r\n")
    hdrs = {}
    for l in lines[1:]:
        k, _, v = l.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    key = hdrs.get("sec-websocket-key", "")
    acc = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest())
    resp = ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n"
            "Sec-WebSocket-Protocol: berth-agent\r\n\r\n" % acc.decode())
    s.sendall(resp.encode())
    if args.silent == "welcome" and n <= args.silent_count:
        out("STALL welcome %d" % n)
        return stall(s)
    nid = hdrs.get("berth-node-id", "")
    out("CONNECT " + json.dumps({
        "node_id": nid, "name": hdrs.get("berth-node-name"),
        "labels": hdrs.get("berth-node-labels"),
        "protocol": hdrs.get("berth-protocol"),
        "version": hdrs.get("berth-agent-version"),
        "has_grid_token": "berth-grid-token" in hdrs,
        "has_node_token": "berth-node-token" in hdrs}))
    if args.close_code:
        close(s, args.close_code, args.close_reason)
        out("CLOSE %d" % args.close_code)
        time.sleep(0.5)
        return
    welcome = {"type": "welcome", "protocol": 1, "grid": "default",
               "node_id": nid, "heartbeat_interval_s": 5}
    with lock:
        nt = hdrs.get("berth-node-token")
        if nt is not None:
            if minted.get(nid) != nt:
                code = 4003 if nt in minted.values() else 4002
                close(s, code, "bad node token")
                print("CLOSE %d" % code, flush=True)
                return
        elif hdrs.get("berth-grid-token") == args.grid_token:
            minted[nid] = "nt-" + secrets.token_hex(16)
            welcome["node_token"] = minted[nid]
        else:
            close(s, 4001, "bad grid token")
            print("CLOSE 4001", flush=True)
            return
    send_json(s, welcome)
    stop = threading.Event()

    def pusher():
        files = [args.desired] + args.frame
        last = {}
        while not stop.is_set():
            for p in files:
                try:
                    st = os.stat(p).st_mtime_ns
                except OSError:
                    st = None
                if st is None or st == last.get(p):
                    continue
                last[p] = st
                try:
                    with open(p) as f:
                        d = json.load(f)
                    send_json(s, d)
                    if p == args.desired:
                        out("TX desired generation %s" % d.get("generation"))
                    else:
                        out("TX %s" % d.get("type"))
                except (OSError, ValueError) as e:
                    out("ERR %s: %s" % (p, e))
            stop.wait(0.3)
    threading.Thread(target=pusher, daemon=True).start()
    try:
        buf = b""
        while True:
            fin, op, data = read_frame(s)
            if op == 8:
                code = struct.unpack("!H", data[:2])[0] if len(data) >= 2 else 0
                out("CLOSED %d" % code)
                close(s, 1000)
                return
            if op == 9:
                send_frame(s, 10, data)
                continue
            if op in (1, 0):
                buf += data
                if fin:
                    out("RX " + buf.decode())
                    buf = b""
    except (EOFError, OSError):
        out("EOF")
    finally:
        stop.set()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=19293)
    ap.add_argument("--grid-token", default="grid-secret")
    ap.add_argument("--desired", default="/dev/null")
    ap.add_argument("--frame", action="append", default=[])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--close-code", type=int, default=0)
    ap.add_argument("--close-reason", default="test")
    ap.add_argument("--silent", choices=["accept", "welcome", "syn"])
    ap.add_argument("--silent-count", type=int, default=1 << 30)
    args = ap.parse_args()
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((args.host, args.port))
    if args.silent == "syn":
        # Backlog 0 holds one connection; fill it and never accept: the
        # kernel drops every further SYN, so connect() never completes.
        ls.listen(0)
        fill = []
        for _ in range(2):
            c = socket.socket()
            c.setblocking(False)
            c.connect_ex((args.host, args.port))
            fill.append(c)
        out("LISTEN %d" % args.port)
        out("STALL syn")
        while True:
            time.sleep(3600)
    ls.listen(8)
    out("LISTEN %d" % args.port)
    n = 0
    while True:
        s, _ = ls.accept()
        n += 1
        out("ACCEPT %d" % n)
        threading.Thread(target=lambda s=s, n=n: (session(s, args, n),
                                                  s.close()),
                         daemon=True).start()


if __name__ == "__main__":
    main()
