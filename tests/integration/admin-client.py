#!/usr/bin/env python3
"""Sends one AdminRequest on a Unix control socket, hand-encoded with the standard library
(as the ingest does for `publish ...`), and prints the answer.

  admin-client.py SOCKET WORD... [name=value...]
      prints the rows as tab-separated cells, then "message: TEXT"; on an Error answer
      prints "error CODE: message" and exits 1.
  With HOLD_SECONDS set, it then stays connected that long, sending `publish alive` every
  second as the ingest's link does (a stand-in ingest: the coordinator binds the streams a
  `publish sync` names to this connection); STDIN_COMMANDS=1 also reads further commands, one
  per line (words separated by spaces), and sends each on the same connection.
"""
import os, select, socket, sys, time
sys.path.insert(0, os.path.dirname(__file__))
from wire import field, varint, parse, read_frame

def envelope_for(words, request_id):
    request = b""
    for word in words:
        if "=" in word:
            name, value = word.split("=", 1)
            request += field(2, field(1, name.encode()) + field(2, value.encode()))
        else:
            request += field(1, word.encode())
    envelope = varint(1 << 3) + varint(request_id) + field(23, request)
    return varint(len(envelope)) + envelope

def ask(s, words, request_id, buffer):
    s.sendall(envelope_for(words, request_id))
    answer, buffer = read_frame(s.recv, buffer)
    if 11 in answer:
        error = parse(answer[11][0])
        print(f"error {error.get(1, [0])[0]}: {error.get(2, [b''])[0].decode()}", flush=True)
        return False, buffer
    response = parse(answer[24][0])
    for row in response.get(2, []):
        print("\t".join(cell.decode() for cell in parse(row).get(1, [])))
    print("message: " + response.get(3, [b""])[0].decode(), flush=True)
    return True, buffer

path, words = sys.argv[1], sys.argv[2:]
with socket.socket(socket.AF_UNIX) as s:
    s.settimeout(10)
    s.connect(path)
    ok, buffer = ask(s, words, 1, b"")
    hold = float(os.environ.get("HOLD_SECONDS", "0"))
    deadline, next_id = time.time() + hold, 2
    while time.time() < deadline:
        readable = [sys.stdin] if os.environ.get("STDIN_COMMANDS") == "1" else []
        ready, _, _ = select.select(readable, [], [], 1.0)
        if ready:
            line = sys.stdin.readline()
            if not line:
                break
            _, buffer = ask(s, line.split(), next_id, buffer)
        else:
            _, buffer = ask(s, ["publish", "alive"], next_id, buffer)
        next_id += 1
if not ok:
    sys.exit(1)
