#!/usr/bin/env python3
"""A TCP proxy that can go silent, as a Wi-Fi or NAT drop leaves a connection: open, but no
bytes either way, and no FIN or RST.

  freeze-proxy.py LISTEN_PORT TARGET_HOST TARGET_PORT
      forwards every connection to the target; on SIGUSR1 stops moving bytes (the sockets stay
      open); on SIGUSR2 moves them again. Prints "listening", "frozen", "thawed".
  freeze-proxy.py LISTEN_PORT TARGET_HOST TARGET_PORT --first-only
      forwards the first connection only; later ones are accepted and held silent (a network
      that dies between two steps of a protocol). Prints "held" for each.
"""
import select, signal, socket, sys

listen_port, host, port = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
first_only = "--first-only" in sys.argv[4:]
accepted = 0
held = []
frozen = False

def freeze(*_):
    global frozen
    frozen = True
    print("frozen", flush=True)

def thaw(*_):
    global frozen
    frozen = False
    print("thawed", flush=True)

signal.signal(signal.SIGUSR1, freeze)
signal.signal(signal.SIGUSR2, thaw)
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", listen_port))
server.listen(16)
print("listening", flush=True)
pairs = {}
while True:
    readable = [server] + ([] if frozen else list(pairs))
    try:
        ready, _, _ = select.select(readable, [], [], 0.2)
    except InterruptedError:
        continue
    for s in ready:
        if s is server:
            client, _ = server.accept()
            accepted += 1
            if first_only and accepted > 1:
                held.append(client)
                print("held", flush=True)
                continue
            upstream = socket.create_connection((host, port))
            pairs[client], pairs[upstream] = upstream, client
            continue
        if s not in pairs:
            continue
        try:
            data = s.recv(65536)
        except OSError:
            data = b""
        other = pairs[s]
        if not data:
            for x in (s, other):
                pairs.pop(x, None)
                x.close()
            continue
        try:
            other.sendall(data)
        except OSError:
            for x in (s, other):
                pairs.pop(x, None)
                x.close()
