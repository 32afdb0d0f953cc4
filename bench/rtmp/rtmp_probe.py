#!/usr/bin/env python3
"""Latency probe for an RTMP server (stdlib only; used by latency.sh).

    rtmp_probe.py --publish URL --play URL [--count N] [--rate R] [--size BYTES] [--warmup N]

One process is both an RTMP publisher and an RTMP player (a minimal client: plain handshake,
connect, createStream, publish / play, set chunk size, acknowledgements). The publisher sends
AAC-tagged audio messages (0xAF 0x01, then an 8-byte counter, padded to --size bytes) at --rate per
second; each is stamped with time.monotonic_ns() just before its send() on the publisher socket,
and again when the recv() that completed it returns on the player socket. The difference is the
server's added latency plus the loopback and this client's own overhead (measured alone by
--self-test, which sends through a plain TCP relay in this process). Prints one JSON object.
"""
import argparse, json, os, socket, struct, sys, threading, time
from urllib.parse import urlparse

CHUNK = 4096


# ---- AMF0 ----
def amf(v):
    if v is None:
        return b"\x05"
    if isinstance(v, bool):
        return b"\x01" + bytes([v])
    if isinstance(v, (int, float)):
        return b"\x00" + struct.pack(">d", float(v))
    if isinstance(v, str):
        b = v.encode()
        return b"\x02" + struct.pack(">H", len(b)) + b
    if isinstance(v, dict):
        out = b"\x03"
        for k, x in v.items():
            kb = k.encode()
            out += struct.pack(">H", len(kb)) + kb + amf(x)
        return out + b"\x00\x00\x09"
    raise TypeError(v)


def amf_decode(b):
    vals, i = [], 0

    def one(i):
        t = b[i]; i += 1
        if t == 0x00:
            return struct.unpack(">d", b[i:i + 8])[0], i + 8
        if t == 0x01:
            return bool(b[i]), i + 1
        if t == 0x02:
            n = struct.unpack(">H", b[i:i + 2])[0]; return b[i + 2:i + 2 + n].decode(errors="replace"), i + 2 + n
        if t in (0x03, 0x08):
            if t == 0x08:
                i += 4
            d = {}
            while True:
                n = struct.unpack(">H", b[i:i + 2])[0]; i += 2
                if n == 0 and b[i] == 0x09:
                    return d, i + 1
                k = b[i:i + n].decode(errors="replace"); i += n
                d[k], i = one(i)
        if t in (0x05, 0x06):
            return None, i
        raise ValueError(f"AMF0 type {t}")

    while i < len(b):
        v, i = one(i)
        vals.append(v)
    return vals


class Conn:
    def __init__(self, url):
        u = urlparse(url)
        path = u.path.lstrip("/")
        self.app, _, self.name = path.partition("/")
        self.tc_url = f"rtmp://{u.hostname}:{u.port or 1935}/{self.app}"
        self.sock = socket.create_connection((u.hostname, u.port or 1935))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()
        self.last_recv_ns = 0
        self.in_chunk = 128
        self.window = 2500000
        self.received = self.acked = 0
        self.cs = {}   # csid → [timestamp, length, type, stream id, payload, extended]
        self.lock = threading.Lock()
        self.handshake()

    # -- byte I/O --
    def read(self, n):
        while len(self.buf) < n:
            d = self.sock.recv(65536)
            self.last_recv_ns = time.monotonic_ns()
            if not d:
                raise EOFError("server closed the connection")
            self.buf += d
            self.received += len(d)
        out = bytes(self.buf[:n]); del self.buf[:n]
        return out

    def handshake(self):
        c1 = struct.pack(">II", 0, 0) + os.urandom(1528)
        self.sock.sendall(b"\x03" + c1)
        s0s1 = self.read(1 + 1536)
        self.read(1536)                      # S2
        self.sock.sendall(s0s1[1:])          # C2 = S1

    # -- messages --
    def send(self, csid, mtype, payload, stream=0, ts=0):
        """Writes one message as chunks (type 0 header, then type 3); returns monotonic_ns just before send."""
        out = bytearray([csid & 0x3F]) + struct.pack(">I", ts & 0xFFFFFF)[1:] + struct.pack(">I", len(payload))[1:] \
            + bytes([mtype]) + struct.pack("<I", stream)
        for i in range(0, len(payload), CHUNK):
            if i:
                out.append(0xC0 | csid)
            out += payload[i:i + CHUNK]
        with self.lock:
            t = time.monotonic_ns()
            self.sock.sendall(out)
        return t

    def command(self, *values, stream=0, csid=3):
        self.send(csid, 20, b"".join(amf(v) for v in values), stream)

    def recv_message(self):
        """→ (type, stream id, timestamp, payload, monotonic_ns of the recv that completed it)"""
        while True:
            b = self.read(1)[0]
            fmt, csid = b >> 6, b & 0x3F
            if csid == 0:
                csid = 64 + self.read(1)[0]
            elif csid == 1:
                x = self.read(2); csid = 64 + x[0] + 256 * x[1]
            st = self.cs.setdefault(csid, [0, 0, 0, 0, bytearray(), False])
            if fmt <= 2:
                h = self.read([11, 7, 3][fmt])
                ts = int.from_bytes(h[0:3], "big")
                if fmt <= 1:
                    st[1] = int.from_bytes(h[3:6], "big"); st[2] = h[6]
                if fmt == 0:
                    st[3] = struct.unpack("<I", h[7:11])[0]
                st[5] = ts == 0xFFFFFF
                if st[5]:
                    ts = struct.unpack(">I", self.read(4))[0]
                if not st[4]:
                    st[0] = ts if fmt == 0 else st[0] + ts
            elif st[5]:
                self.read(4)
            n = min(self.in_chunk, st[1] - len(st[4]))
            st[4] += self.read(n)
            if self.received - self.acked >= self.window // 2:
                self.acked = self.received
                self.send(2, 3, struct.pack(">I", self.received & 0xFFFFFFFF))
            if len(st[4]) < st[1]:
                continue
            payload = bytes(st[4]); st[4] = bytearray()
            mtype = st[2]
            if mtype == 1:
                self.in_chunk = struct.unpack(">I", payload[:4])[0] & 0x7FFFFFFF
            elif mtype == 5:
                self.window = struct.unpack(">I", payload[:4])[0]
            return mtype, st[3], st[0], payload, self.last_recv_ns

    def expect(self, want, txn=None):
        """Reads until a command whose name is in `want` (and, if given, whose transaction id is
        `txn`: servers may answer releaseStream/FCPublish with a _result too); returns its values."""
        while True:
            mtype, _, _, payload, _ = self.recv_message()
            if mtype == 20:
                vals = amf_decode(payload)
                if vals and vals[0] in want and (txn is None or (len(vals) > 1 and vals[1] == txn)):
                    return vals
                if vals and vals[0] == "onStatus" and "error" in str(vals[-1]).lower():
                    raise RuntimeError(f"{self.name}: {vals[-1]}")
                if vals and vals[0] == "_error":
                    raise RuntimeError(f"{self.name}: {vals}")

    def open(self, play):
        self.send(2, 1, struct.pack(">I", CHUNK))
        self.command("connect", 1, {"app": self.app, "type": "nonprivate", "flashVer": "FMLE/3.0",
                                    "tcUrl": self.tc_url})
        self.expect({"_result"}, 1)
        if not play:
            self.command("releaseStream", 2, None, self.name)
            self.command("FCPublish", 3, None, self.name)
        self.command("createStream", 4, None)
        r = self.expect({"_result"}, 4)
        self.stream = int(r[3])
        if play:
            self.command("play", 0, None, self.name, -1000, stream=self.stream, csid=8)
            # setBufferLength 0 (user control event 3)
            self.send(2, 4, struct.pack(">HII", 3, self.stream, 0))
            st = self.expect({"onStatus"})
        else:
            self.command("publish", 0, None, self.name, "live", stream=self.stream, csid=8)
            st = self.expect({"onStatus"})
        code = st[-1].get("code", "") if isinstance(st[-1], dict) else ""
        if "Start" not in code and "Reset" not in code:
            raise RuntimeError(f"{'play' if play else 'publish'} {self.name}: {st[-1]}")


def pct(xs, p):
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def run(pub, ply, count, rate, size, warmup):
    total = count + warmup
    sent, got = [0] * total, [0] * total
    seen = threading.Event()
    errors = []

    def player():
        try:
            while True:
                mtype, _, _, payload, t = ply.recv_message()
                if mtype == 8 and len(payload) >= 10 and payload[1] == 1:
                    i = struct.unpack(">Q", payload[2:10])[0]
                    if i < total and not got[i]:
                        got[i] = t
                        seen.set()
                        if i == total - 1:
                            return
        except Exception as e:  # noqa: BLE001
            errors.append(repr(e))
            seen.set()

    def drain():  # the publisher's socket: acks and status from the server
        try:
            while True:
                pub.recv_message()
        except Exception:  # noqa: BLE001
            pass

    threading.Thread(target=drain, daemon=True).start()
    th = threading.Thread(target=player, daemon=True)
    th.start()
    pad = b"\x00" * max(0, size - 10)
    pub.send(4, 8, b"\xaf\x00\x12\x10", pub.stream, 0)   # AAC sequence header: LC, 44.1 kHz, stereo
    # Wait until the player sees messages at all (a server may hold a new player until it has some).
    t0 = time.monotonic()
    i = 0
    start = time.monotonic_ns()
    period = 1e9 / rate
    while i < total:
        due = start + int(i * period)
        now = time.monotonic_ns()
        if due > now:
            time.sleep((due - now) / 1e9)
        ts = (time.monotonic_ns() - start) // 1_000_000
        sent[i] = pub.send(4, 8, b"\xaf\x01" + struct.pack(">Q", i) + pad, pub.stream, ts)
        i += 1
        if errors:
            break
    th.join(timeout=5)
    lat = sorted((got[i] - sent[i]) / 1000 for i in range(warmup, total) if got[i])
    lost = sum(1 for i in range(warmup, total) if not got[i])
    return {
        "messages": count, "rate_per_s": rate, "message_bytes": size + 0,
        "received": len(lat), "lost": lost, "errors": errors[:3],
        "p50_us": round(pct(lat, 50), 1) if lat else None,
        "p90_us": round(pct(lat, 90), 1) if lat else None,
        "p99_us": round(pct(lat, 99), 1) if lat else None,
        "max_us": round(lat[-1], 1) if lat else None,
        "seconds": round(time.monotonic() - t0, 1),
    }


def self_test(count, rate, size, warmup):
    """The same send/recv/parse path through a bare TCP relay (a forked process copying bytes from
    the publisher's socket to the player's): the floor that loopback, one extra hop of process
    wake-up, and this client add without any RTMP server."""
    lst = socket.socket()
    lst.bind(("127.0.0.1", 0)); lst.listen(4)
    port = lst.getsockname()[1]

    def pair(in_chunk):
        client = Conn.__new__(Conn)
        client.sock = socket.create_connection(("127.0.0.1", port))
        client.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        client.buf, client.received, client.acked, client.last_recv_ns = bytearray(), 0, 0, 0
        client.in_chunk, client.window, client.cs, client.lock = in_chunk, 1 << 30, {}, threading.Lock()
        server, _ = lst.accept()
        server.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        client.sock.sendall(b"\x03" + bytes(1536))          # C0 C1
        server.sendall(b"\x03" + bytes(3072))               # S0 S1 S2
        client.read(3073)
        client.sock.sendall(bytes(1536))                     # C2
        got = 0
        while got < 3073:
            got += len(server.recv(3073 - got))
        return client, server

    pub, src = pair(128)
    ply, dst = pair(CHUNK)      # the relay forwards 4096-byte chunks as written by the publisher
    pub.stream = 1
    if os.fork() == 0:
        try:   # the relay holds only its two server-side sockets, so it ends when the clients close
            for f in (pub.sock, ply.sock, lst):
                f.close()
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 1)
            while True:
                d = src.recv(65536)
                if not d:
                    break
                dst.sendall(d)
        finally:
            os._exit(0)
    src.close(); dst.close(); lst.close()
    try:
        return run(pub, ply, count, rate, size, warmup)
    finally:
        pub.sock.close(); ply.sock.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--publish")
    ap.add_argument("--play")
    ap.add_argument("--count", type=int, default=2000)
    ap.add_argument("--rate", type=float, default=50)
    ap.add_argument("--size", type=int, default=200, help="audio message payload bytes (>= 10)")
    ap.add_argument("--warmup", type=int, default=50, help="first messages not counted")
    ap.add_argument("--self-test", action="store_true")
    a = ap.parse_args()
    sys.setswitchinterval(0.0005)
    if a.self_test:
        print(json.dumps(self_test(a.count, a.rate, a.size, a.warmup)))
        return
    pub = Conn(a.publish); pub.open(play=False)
    ply = Conn(a.play); ply.open(play=True)
    print(json.dumps(run(pub, ply, a.count, a.rate, a.size, a.warmup)))


if __name__ == "__main__":
    main()
