#!/usr/bin/env python3
"""Sends one AdminRequest on a Unix control socket, hand-encoded with the standard library
(as the ingest does for `publish ...`), and prints the answer.

  admin-client.py SOCKET WORD... [name=value...]
      prints the rows as tab-separated cells, then "message: TEXT"; on an Error answer
      prints "error CODE: message" and exits 1.
"""
import os, socket, sys
sys.path.insert(0, os.path.dirname(__file__))
from wire import field, varint, parse, read_frame

path, words = sys.argv[1], sys.argv[2:]
request = b""
for word in words:
    if "=" in word:
        name, value = word.split("=", 1)
        request += field(2, field(1, name.encode()) + field(2, value.encode()))
    else:
        request += field(1, word.encode())
envelope = varint(1 << 3) + varint(1) + field(23, request)
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
print("message: " + response.get(3, [b""])[0].decode())
