#!/usr/bin/env python3
"""logs_frames.py - write agent "logs" frames, one per line, for wsprobe.

    logs_frames.py OUT FIRST_SEQ SPEC_JSON [PER_FRAME]

SPEC_JSON is a list of streams, each
    {"cid": 64 hex, "name": "st.web-1.abcdef01", "stack": "st",
     "service": "web", "instance": 1, "seq0": 1, "n": 100,
     "ts0": nanoseconds, "step": nanoseconds, "text": "line {i}",
     "pad": 0, "stream": "o"}
and gives lines seq0 .. seq0+n-1 with times ts0 + k*step, the text with
{i} replaced by the line's seq (and padded with "x" to pad bytes). Frames
hold at most PER_FRAME lines (default 500), one stream per frame, the
streams taken in turn; frame numbers start at FIRST_SEQ. Prints the last
frame number. A stdlib-only helper of tests/integration/logs.sh and the
log benchmarks; it plays no part in berth itself.
"""
import json
import sys


def main():
    out, seq, spec = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
    per = int(sys.argv[4]) if len(sys.argv) > 4 else 500
    cursors = [0 for _ in spec]
    with open(out, "w") as f:
        while any(c < s["n"] for c, s in zip(cursors, spec)):
            for k, s in enumerate(spec):
                if cursors[k] >= s["n"]:
                    continue
                lines = []
                for _ in range(min(per, s["n"] - cursors[k])):
                    i = s.get("seq0", 1) + cursors[k]
                    ts = s["ts0"] + cursors[k] * s.get("step", 1000000)
                    text = s.get("text", "line {i}").replace("{i}", str(i))
                    pad = s.get("pad", 0)
                    if len(text) < pad:
                        text += "x" * (pad - len(text))
                    lines.append([i, ts, s.get("stream", "o"), text])
                    cursors[k] += 1
                st = {"container_id": s["cid"], "name": s["name"],
                      "stack": s.get("stack", ""),
                      "service": s.get("service", ""),
                      "instance": s.get("instance", 0), "lines": lines}
                f.write(json.dumps({"type": "logs", "seq": seq,
                                    "streams": [st]},
                                   separators=(",", ":")) + "\n")
                seq += 1
    print(seq - 1)


if __name__ == "__main__":
    main()
