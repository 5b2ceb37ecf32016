#!/usr/bin/env python3
"""jobs_submit.py - POST N jobs to a berth master over one keep-alive
connection (the benchmarks' submitter: a CLI process per job would time
the CLI, not the master).

    jobs_submit.py URL TOKEN N JSON

URL is http://127.0.0.1:PORT, JSON the job body; a "name" in it gets
"-<i>" appended. Prints nothing; exits 1 on the first refusal.
"""
import http.client
import json
import sys
import urllib.parse


def main():
    url, token, n, body = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    u = urllib.parse.urlparse(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    job = json.loads(body)
    for i in range(n):
        j = dict(job)
        if "name" in j:
            j["name"] = "%s-%d" % (j["name"], i)
        conn.request("POST", "/v1/grids/default/jobs", json.dumps(j),
                     {"Authorization": "Bearer " + token,
                      "Content-Type": "application/json"})
        r = conn.getresponse()
        data = r.read()
        if r.status != 201:
            sys.stderr.write("jobs_submit: %d %s\n" % (r.status, data[:200]))
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
