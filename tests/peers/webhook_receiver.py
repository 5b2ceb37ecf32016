#!/usr/bin/env python3
"""webhook_receiver.py DIR - a loopback HTTP receiver for berth's webhook.

Listens on 127.0.0.1 (a port the kernel picks, written to DIR/port) and
appends each POST's body, one JSON document a line, to DIR/posts, with the
request's path to DIR/paths. While DIR/slow exists it waits that file's
number of seconds before answering (a slow receiver); while DIR/fail
exists it answers 500. Loopback only; for tests/integration/webhook.sh.
"""
import http.server
import os
import sys
import time

D = sys.argv[1]


class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        slow = os.path.join(D, "slow")
        if os.path.exists(slow):
            try:
                time.sleep(float(open(slow).read().strip() or "5"))
            except ValueError:
                time.sleep(5)
        if os.path.exists(os.path.join(D, "fail")):
            self.send_response(500)
            self.end_headers()
            return
        with open(os.path.join(D, "posts"), "ab") as f:
            f.write(body.replace(b"\n", b" ") + b"\n")
        with open(os.path.join(D, "paths"), "a") as f:
            f.write(self.path + "\n")
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *a):
        pass


s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
with open(os.path.join(D, "port.tmp"), "w") as f:
    f.write(str(s.server_address[1]))
os.rename(os.path.join(D, "port.tmp"), os.path.join(D, "port"))
s.serve_forever()
