#!/usr/bin/env python3
"""fake_docker.py SOCKET - an engine that answers and runs nothing.

For integration tests whose agent must report its engine up (the master
places nothing on a node whose engine is down) but that check only what
travels between master and agent: /version answers, the container list and
the event log are empty, and every write fails with 500, so the agent's
instances go to "error" with the engine's reason and back off. Not Docker:
tests of what the agent does with containers use the real engine (e2e).
"""
import json, os, socketserver, sys
from http.server import BaseHTTPRequestHandler


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        p = self.path.split("?")[0]
        if p.endswith("/version"):
            self.reply(200, {"Version": "0.0-fake", "ApiVersion": "1.41"})
        elif p.endswith("/_ping"):
            self.reply(200, "OK")
        elif p.endswith("/containers/json") or p.endswith("/events"):
            self.reply(200, [])
        else:
            self.reply(404, {"message": "fake engine: no such thing"})

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        self.reply(500, {"message": "fake engine: runs nothing"})

    do_DELETE = do_POST

    def log_message(self, *a):
        pass


class S(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def get_request(self):
        r, _ = super().get_request()
        return r, ("fake", 0)


if __name__ == "__main__":
    path = sys.argv[1]
    if os.path.exists(path):
        os.unlink(path)
    srv = S(path, H)
    print("LISTEN", path, flush=True)
    srv.serve_forever()
