#!/usr/bin/env python3
"""dns_upstream.py ADDR PORT IP - a node's "own resolver" for tests: answers
every A query over UDP with IP (TTL 60) and counts them on stdout, one
line per query ("query NAME"). It stands in for the resolvers of a node's
resolv.conf, which a test must not reach (docs/dns.md)."""
import socket
import struct
import sys

addr, port, ip = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((addr, port))
while True:
    q, peer = s.recvfrom(4096)
    if len(q) < 12:
        continue
    i, labels = 12, []
    while i < len(q) and q[i] != 0:
        labels.append(q[i + 1:i + 1 + q[i]].decode('ascii', 'replace'))
        i += 1 + q[i]
    qend = i + 5                       # the 0 label, QTYPE, QCLASS
    qtype = struct.unpack('!H', q[i + 1:i + 3])[0] if qend <= len(q) else 0
    print('query', '.'.join(labels), flush=True)
    head = q[:2] + struct.pack('!HHHHH', 0x8180, 1, 1 if qtype == 1 else 0,
                               0, 0)
    ans = b''
    if qtype == 1:
        ans = struct.pack('!HHHIH', 0xc00c, 1, 1, 60, 4) + socket.inet_aton(ip)
    s.sendto(head + q[12:qend] + ans, peer)
