#!/usr/bin/env python3
"""Sends one SpotCheckReport on a Unix control socket, hand-encoded with the standard library
(as a replaying attacker or a buggy validator would), and prints the answer.

  report-client.py SOCKET field=value...
      fields: node_id stream chunk_seq passed reason latency_ms throughput_bps checked_unix_ms
              report_id kind chain_id bytes verdict via_watch (booleans: true/false)
      prints the answer's rows as tab-separated cells; on an Error answer prints
      "error CODE: message" and exits 1.
"""
import os, socket, sys
sys.path.insert(0, os.path.dirname(__file__))
from wire import field, uint, varint, parse, read_frame

FIELDS = {"node_id": (1, "s"), "stream": (2, "s"), "chunk_seq": (3, "u"), "passed": (4, "b"), "reason": (5, "s"),
          "latency_ms": (6, "u"), "throughput_bps": (7, "u"), "checked_unix_ms": (8, "u"), "report_id": (9, "u"),
          "kind": (10, "s"), "chain_id": (11, "u"), "bytes": (12, "u"), "verdict": (13, "s"), "via_watch": (14, "b")}

path, pairs = sys.argv[1], sys.argv[2:]
body = b""
for pair in pairs:
    name, value = pair.split("=", 1)
    number, kind = FIELDS[name]
    if kind == "s":
        body += field(number, value.encode())
    elif kind == "b":
        body += uint(number, 1 if value == "true" else 0)
    else:
        body += uint(number, int(value))
envelope = varint(1 << 3) + varint(1) + field(20, body)
with socket.socket(socket.AF_UNIX) as s:
    s.settimeout(10)
    s.connect(path)
    s.sendall(varint(len(envelope)) + envelope)
    answer, _ = read_frame(s.recv, b"")
if 11 in answer:
    error = parse(answer[11][0])
    print(f"error {error.get(1, [0])[0]}: {error.get(2, [b''])[0].decode()}")
    sys.exit(1)
response = parse(answer[24][0])
for row in response.get(2, []):
    print("\t".join(cell.decode() for cell in parse(row).get(1, [])))
