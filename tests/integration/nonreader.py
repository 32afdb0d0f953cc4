#!/usr/bin/env python3
"""Viewers that ask for a live stream and then never read it (a stalled phone, a paused tab),
for test-memory.sh. Standard library only.

  nonreader.py HOST PORT PATH COUNT SECONDS
      keeps COUNT such connections open for SECONDS: each asks GET PATH with a small receive
      buffer and reads nothing; one the server closes is counted and replaced at once, so
      COUNT are stuck at every moment. Prints one JSON line: opened, dropped_by_server.
"""
import json, select, socket, sys, time

host, port, path, count, seconds = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
request = f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: nonreader\r\n\r\n".encode()
poller = select.poll()
open_sockets = {}
opened = dropped = 0

def connect():
    global opened
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connect: a small window
    s.settimeout(5)
    s.connect((host, port))
    s.sendall(request)
    open_sockets[s.fileno()] = s
    poller.register(s, select.POLLRDHUP | select.POLLHUP | select.POLLERR)
    opened += 1

for _ in range(count):
    connect()
end = time.monotonic() + seconds
while time.monotonic() < end:
    for fd, _ in poller.poll(500):
        s = open_sockets.pop(fd, None)
        if s is None:
            continue
        poller.unregister(fd)
        s.close()
        dropped += 1
        try:
            connect()
        except OSError:
            time.sleep(0.2)
print(json.dumps({"opened": opened, "dropped_by_server": dropped}), flush=True)
