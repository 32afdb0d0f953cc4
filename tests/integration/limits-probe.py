#!/usr/bin/env python3
"""Hostile but ordinary peers for test-limits.sh (standard library only). Each mode prints one
JSON line saying what the server did, with the seconds it took; the shell test judges it.

  rpc-partial HOST PORT CA [CERT KEY]  TLS up, then 10 of a 100-byte frame, then silence
  rpc-idle HOST PORT CA                TLS up without a certificate, then silence
  rpc-cap HOST PORT CA N               N certificate-less connections held, then one more
  http-slowloris HOST PORT N           N connections sending a request head a byte at a time
  http-body HOST PORT                  a POST whose body stops after 10 of 1000 bytes
  http-chunked HOST PORT               a chunked POST whose chunk claims ffffffffffffffff bytes
  http-cap HOST PORT N                 N idle connections held, then one more
  silent-listener PORT                 accepts TCP and never answers (a host that never does TLS)
"""
import json, socket, ssl, sys, time

LIMIT = 60  # no probe waits longer than this for the server to act


def tls(host, port, ca, cert=None, key=None):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(ca)
    context.check_hostname = False
    if cert:
        context.load_cert_chain(cert, key)
    raw = socket.create_connection((host, port), timeout=10)
    wrapped = context.wrap_socket(raw)
    wrapped.settimeout(LIMIT)
    return wrapped


def wait_closed(sock, started):
    """Seconds from `started` until the peer closes (reads and discards what it sends)."""
    received = b""
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                break
            received += data
    except (ConnectionResetError, ssl.SSLError, OSError) as error:
        if isinstance(error, socket.timeout):
            return None, received
    return round(time.monotonic() - started, 2), received


def report(**fields):
    print(json.dumps(fields), flush=True)


def rpc_partial(host, port, ca, cert=None, key=None):
    sock = tls(host, port, ca, cert, key)
    sock.sendall(bytes([100]) + b"\x0a" * 10)  # varint length 100, then 10 bytes of it
    started = time.monotonic()
    closed, _ = wait_closed(sock, started)
    report(closed_after=closed)


def rpc_idle(host, port, ca):
    sock = tls(host, port, ca)
    started = time.monotonic()
    closed, _ = wait_closed(sock, started)
    report(closed_after=closed)


def rpc_cap(host, port, ca, n):
    held = [tls(host, port, ca) for _ in range(n)]
    for s in held:  # a TLS 1.3 server's handshake ends after the client's first read
        s.settimeout(0.3)
        try:
            s.recv(1)
        except (socket.timeout, ssl.SSLError, OSError):
            pass
    extra = tls(host, port, ca)
    started = time.monotonic()
    closed, received = wait_closed(extra, started)
    alive = 0
    for s in held:
        s.settimeout(0.2)
        try:
            alive += 1 if s.recv(1) != b"" else 0
        except socket.timeout:
            alive += 1
        except (ssl.SSLError, OSError):
            pass
    report(closed_after=closed, refusal=received.decode("utf-8", "replace"), held_still_open=alive)


def http_slowloris(host, port, n):
    head = f"GET /healthz HTTP/1.1\r\nHost: {host}\r\nUser-Agent: slow\r\n".encode()
    socks = [socket.create_connection((host, port), timeout=5) for _ in range(n)]
    for s in socks:
        s.setblocking(False)
    started = time.monotonic()
    closed_at = {}
    i = 0
    while len(closed_at) < n and time.monotonic() - started < LIMIT:
        for index, s in enumerate(socks):
            if index in closed_at:
                continue
            try:
                if s.recv(4096) == b"":
                    closed_at[index] = time.monotonic() - started
                    continue
            except BlockingIOError:
                pass
            except OSError:
                closed_at[index] = time.monotonic() - started
                continue
            try:
                s.send(head[i % len(head):i % len(head) + 1] if i < len(head) else b"X")
            except OSError:
                closed_at[index] = time.monotonic() - started
        i += 1
        time.sleep(0.5)
    report(connections=n, closed=len(closed_at),
           last_closed_after=round(max(closed_at.values()), 2) if closed_at else None)


def http_body(host, port):
    s = socket.create_connection((host, port), timeout=LIMIT)
    s.sendall(f"POST /healthz HTTP/1.1\r\nHost: {host}\r\nContent-Length: 1000\r\n\r\n".encode() + b"x" * 10)
    started = time.monotonic()
    closed, received = wait_closed(s, started)
    report(closed_after=closed, answer=received.decode("latin-1").split("\r\n")[0])


def http_chunked(host, port):
    s = socket.create_connection((host, port), timeout=LIMIT)
    s.sendall(f"POST /healthz HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n".encode()
              + b"a" * 4096)
    started = time.monotonic()
    closed, received = wait_closed(s, started)
    report(closed_after=closed, answer=received.decode("latin-1").split("\r\n")[0])


def http_cap(host, port, n):
    held = [socket.create_connection((host, port), timeout=5) for _ in range(n)]
    time.sleep(0.5)
    extra = socket.create_connection((host, port), timeout=LIMIT)
    started = time.monotonic()
    closed, received = wait_closed(extra, started)
    # One of the held connections still works: the cap refused only the one over it.
    held[0].sendall(f"GET /healthz HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
    held[0].settimeout(10)
    _, answer = wait_closed(held[0], time.monotonic())
    report(closed_after=closed, refusal=received.decode("latin-1"),
           held_answer=answer.decode("latin-1").split("\r\n")[0])


def silent_listener(port):
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", port))
    server.listen(16)
    held = []
    while True:
        connection, _ = server.accept()
        held.append(connection)


def main():
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "rpc-partial":
        rpc_partial(args[0], int(args[1]), *args[2:])
    elif mode == "rpc-idle":
        rpc_idle(args[0], int(args[1]), args[2])
    elif mode == "rpc-cap":
        rpc_cap(args[0], int(args[1]), args[2], int(args[3]))
    elif mode == "http-slowloris":
        http_slowloris(args[0], int(args[1]), int(args[2]))
    elif mode == "http-body":
        http_body(args[0], int(args[1]))
    elif mode == "http-chunked":
        http_chunked(args[0], int(args[1]))
    elif mode == "http-cap":
        http_cap(args[0], int(args[1]), int(args[2]))
    elif mode == "silent-listener":
        silent_listener(int(args[0]))
    else:
        sys.exit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
