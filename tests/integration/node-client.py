#!/usr/bin/env python3
"""A stand-in node for integration tests: speaks the coordinator's wire protocol over TLS
(varint-length-prefixed protobuf Envelopes, hand-encoded) with only the standard library.

  node-client.py HOST PORT CA_PEM enroll TOKEN CSR_DER NAME PAYOUT STREAM CERT_OUT
      prints the node id and writes the issued certificate (PEM) to CERT_OUT; then, as the
      real join does, confirms the join on an mTLS session with the new certificate when the
      key sits beside the request (CSR_DER with .key for .csr), unless NO_CONFIRM=1
  node-client.py HOST PORT CA_PEM confirm CERT KEY NODE_ID [abandon REASON]
      confirms (or abandons) a join
  node-client.py HOST PORT CA_PEM status CERT KEY
      prints the status items as key=value lines
  node-client.py HOST PORT CA_PEM heartbeat CERT KEY SEQ...
      sends a Heartbeat per SEQ on one connection (a "-" for CERT/KEY: none), printing
      "ack SEQ" or "error CODE: message" per answer, in order; with HOLD_SECONDS set in the
      environment, keeps the connection open that long afterwards (printing pushed errors
      and "closed by peer"); STREAM, VIEWER_URL, VIEWER_PORT, UPLOAD_CAP_BPS and UPLOAD_BPS
      set the heartbeat's fields; with HEARTBEAT_EVERY=S it goes on heartbeating every S seconds
      (seq = the time in ms, as the real agent does) for HOLD_SECONDS, and exits 3 if the
      connection closes
  node-client.py HOST PORT CA_PEM subscribe CERT KEY STREAM RESUME_AFTER OUT_DIR
      subscribes at the ingest (7444) and checks each chunk's digest and chain (see subscribe())
  node-client.py HOST PORT CA_PEM admin CERT KEY WORD... [name=value...]
      sends an AdminRequest (command words, then named arguments) on the node's mTLS session;
      prints the answer's columns and rows as tab-separated lines
  node-client.py HOST PORT CA_PEM raw CERT KEY HEX
      sends raw bytes on the TLS session and prints any error answers, and "closed by peer"
On an Error answer: prints "error CODE: message" on stderr and exits 1.
"""
import os, socket, ssl, sys, time

sys.path.insert(0, os.path.dirname(__file__))
from wire import field, varint, uint, parse, read_varint, read_frame

def connect(host, port, ca, cert=None, key=None):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.load_verify_locations(ca)
    if cert:
        context.load_cert_chain(cert, key)
    raw = socket.create_connection((host, port), timeout=10)
    return context.wrap_socket(raw, server_hostname=host)

def send_request(tls, request_id, body_field, body, buffer=b""):
    """Sends one request; returns (answer fields, leftover bytes)."""
    envelope = varint(1 << 3 | 0) + varint(request_id) + field(body_field, body)
    tls.sendall(varint(len(envelope)) + envelope)
    try:
        return read_frame(tls.recv, buffer)
    except EOFError:
        raise SystemExit("error: connection closed without an answer")

def error_of(answer):
    error = parse(answer[11][0])
    return f"error {error.get(1, [0])[0]}: {error.get(2, [b''])[0].decode()}"

def exchange(host, port, ca, body_field, body, cert=None, key=None):
    with connect(host, port, ca, cert, key) as tls:
        answer, _ = send_request(tls, 1, body_field, body)
    if 11 in answer:
        sys.stderr.write(error_of(answer) + "\n")
        sys.exit(1)
    return answer

def subscribe(host, port, ca, cert, key, stream, resume_after, out_dir):
    """Subscribes to a live stream at the ingest and follows it until it ends (or SUBSCRIBE_SECONDS),
    checking every whole chunk against its ChunkSealed: SHA-256 of the bytes, and the chain
    (SHA-256 of the previous chain value and the digest). Prints one line per event; writes the
    last chunk's chain and signature to OUT_DIR/chain.bin and OUT_DIR/signature.der."""
    import hashlib
    deadline = time.time() + float(os.environ.get("SUBSCRIBE_SECONDS", "60"))
    with connect(host, port, ca, cert, key) as tls:
        answer, buffer = send_request(tls, 1, 16, field(1, stream.encode()) + uint(2, resume_after))
        if 11 in answer:
            print(error_of(answer), flush=True)
            return
        ack = parse(answer[17][0])
        print(f"ack first_chunk={ack.get(2, [0])[0]} resumed={ack.get(3, [0])[0]}", flush=True)
        chunks, first_seq, prev_chain = {}, None, None
        while time.time() < deadline:
            tls.settimeout(max(0.1, deadline - time.time()))
            try:
                envelope, buffer = read_frame(tls.recv, buffer)
            except (socket.timeout, TimeoutError):
                break
            except (EOFError, ConnectionResetError, ssl.SSLError):
                print("closed by peer", flush=True)
                return
            if 18 in envelope:
                media = parse(envelope[18][0])
                kind, seq = media.get(3, [0])[0], media.get(2, [0])[0]
                tags = media.get(5, [b""])[0]
                if kind == 1:
                    print(f"headers {len(tags)}", flush=True)
                elif kind == 0:
                    if first_seq is None:
                        first_seq = seq
                    chunks[seq] = chunks.get(seq, b"") + tags
                elif kind == 2:
                    print("lagged", flush=True)
                elif kind == 3:
                    print("end of stream", flush=True)
                    return
            elif 19 in envelope:
                seal = parse(envelope[19][0])
                seq, size = seal.get(2, [0])[0], seal.get(5, [0])[0]
                digest, chain, signature = seal.get(6, [b""])[0], seal.get(7, [b""])[0], seal.get(8, [b""])[0]
                data = chunks.pop(seq, b"")
                ok = len(data) == size and hashlib.sha256(data).digest() == digest
                chained = prev_chain is None or hashlib.sha256(prev_chain + digest).digest() == chain
                stamp = f"{time.time():.3f} " if os.environ.get("TIMESTAMPS") else ""
                print(f"{stamp}chunk {seq} size={size} digest={'ok' if ok else 'MISMATCH'} chain={'ok' if chained else 'MISMATCH'}", flush=True)
                prev_chain = chain
                open(os.path.join(out_dir, "chain.bin"), "wb").write(chain)
                open(os.path.join(out_dir, "signature.der"), "wb").write(signature)
            elif 11 in envelope:
                print("pushed " + error_of(envelope), flush=True)

def hold(tls, buffer, seconds):
    """Keeps the session open for `seconds`, printing what the coordinator pushes
    ("pushed error CODE: message") and "closed by peer" if it closes the connection."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        tls.settimeout(max(0.1, deadline - time.time()))
        try:
            answer, buffer = read_frame(tls.recv, buffer)
        except (socket.timeout, TimeoutError):
            return
        except (EOFError, ConnectionResetError, ssl.SSLError):
            print("closed by peer", flush=True)
            return
        if 11 in answer:
            print("pushed " + error_of(answer), flush=True)

def main():
    host, port, ca, command = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    if command == "enroll":
        token, csr_path, name, payout, stream, cert_out = sys.argv[5:11]
        request = (field(1, token.encode()) + field(2, open(csr_path, "rb").read()) + field(3, name.encode())
                   + field(4, payout.encode()) + field(5, stream.encode()))
        response = parse(exchange(host, port, ca, 12, request)[13][0])
        with open(cert_out, "w") as f:
            f.write(ssl.DER_cert_to_PEM_cert(response[2][0]))
        node_id = response[1][0].decode()
        key_path = csr_path[:-4] + ".key" if csr_path.endswith(".csr") else ""
        if key_path and os.path.exists(key_path) and os.environ.get("NO_CONFIRM") != "1":
            exchange(host, port, ca, 25, field(1, node_id.encode()), cert=cert_out, key=key_path)
        print(node_id)
    elif command == "confirm":
        cert, key, node_id = sys.argv[5], sys.argv[6], sys.argv[7]
        body = field(1, node_id.encode())
        if len(sys.argv) > 8 and sys.argv[8] == "abandon":
            body += uint(2, 1) + field(3, (sys.argv[9] if len(sys.argv) > 9 else "test").encode())
        answer = exchange(host, port, ca, 25, body, cert=cert, key=key)
        print("confirmed" if 25 in answer else "answered")
    elif command == "status":
        status = parse(exchange(host, port, ca, 21, b"", cert=sys.argv[5], key=sys.argv[6])[22][0])
        for item in status.get(4, []):
            kv = parse(item)
            print(f"{kv.get(1, [b''])[0].decode()}={kv.get(2, [b''])[0].decode()}")
    elif command == "heartbeat":
        cert, key = (None, None) if sys.argv[5] == "-" else (sys.argv[5], sys.argv[6])
        stream = os.environ.get("STREAM", "main").encode()
        buffer = b""
        with connect(host, port, ca, cert, key) as tls:
            for i, seq in enumerate(sys.argv[7:], start=1):
                counters = field(1, stream) + uint(2, 3) + uint(3, 1000 * int(seq))
                heartbeat = (uint(1, int(seq)) + uint(2, int(time.time() * 1000)) + field(3, counters) + uint(4, 1500)
                             + uint(5, int(os.environ.get("VIEWER_PORT", "0")))
                             + field(6, os.environ.get("VIEWER_URL", "").encode())
                             + uint(7, int(os.environ.get("UPLOAD_CAP_BPS", "0")))
                             + uint(8, int(os.environ.get("UPLOAD_BPS", "0"))))
                answer, buffer = send_request(tls, i, 14, heartbeat, buffer)
                if 11 in answer:
                    print(error_of(answer), flush=True)
                else:
                    print(f"ack {parse(answer[15][0]).get(1, [0])[0]}", flush=True)
            every = float(os.environ.get("HEARTBEAT_EVERY", "0"))
            # ACK_LOG=FILE: every acknowledged seq, one per line, written once the ack is read.
            ack_log = open(os.environ["ACK_LOG"], "a") if os.environ.get("ACK_LOG") else None
            if every > 0:
                deadline, i = time.time() + float(os.environ.get("HOLD_SECONDS", "0")), len(sys.argv[7:]) + 1
                while time.time() < deadline:
                    seq = int(time.time() * 1000)
                    counters = field(1, stream) + uint(2, 1) + uint(3, seq)
                    heartbeat = uint(1, seq) + uint(2, seq) + field(3, counters) + uint(4, 1500)
                    try:
                        answer, buffer = send_request(tls, i, 14, heartbeat, buffer)
                    except (SystemExit, OSError, ssl.SSLError):
                        sys.exit(3)
                    if ack_log and 15 in answer:
                        ack_log.write(f"{seq}\n"); ack_log.flush()
                    i += 1
                    time.sleep(every)
            else:
                hold(tls, buffer, float(os.environ.get("HOLD_SECONDS", "0")))
    elif command == "subscribe":
        subscribe(host, port, ca, sys.argv[5], sys.argv[6], sys.argv[7], int(sys.argv[8]), sys.argv[9])
    elif command == "admin":
        cert, key, words = sys.argv[5], sys.argv[6], sys.argv[7:]
        body = b"".join(field(1, w.encode()) for w in words if "=" not in w)
        for w in words:
            if "=" in w:
                name, value = w.split("=", 1)
                body += field(2, field(1, name.encode()) + field(2, value.encode()))
        answer = exchange(host, port, ca, 23, body, cert, key)
        response = parse(answer[24][0])
        print("\t".join(c.decode() for c in response.get(1, [])))
        for row in response.get(2, []):
            print("\t".join(c.decode() for c in parse(row).get(1, [])))
    elif command == "raw":
        # Sends the bytes of a hex string over the (m)TLS session and prints what comes back.
        cert, key, payload = sys.argv[5], sys.argv[6], bytes.fromhex(sys.argv[7])
        with connect(host, port, ca, None if cert == "-" else cert, None if key == "-" else key) as tls:
            tls.sendall(payload)
            hold(tls, b"", 10)
    else:
        raise SystemExit(f"unknown command {command}")

main()
