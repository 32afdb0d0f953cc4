#!/usr/bin/env python3
"""A stand-in node for integration tests: speaks the coordinator's wire protocol over TLS
(varint-length-prefixed protobuf Envelopes, hand-encoded) with only the standard library.

  node-client.py HOST PORT CA_PEM enroll TOKEN CSR_DER NAME PAYOUT STREAM CERT_OUT
      prints the node id and writes the issued certificate (PEM) to CERT_OUT
  node-client.py HOST PORT CA_PEM status CERT KEY
      prints the status items as key=value lines
  node-client.py HOST PORT CA_PEM heartbeat CERT KEY SEQ...
      sends a Heartbeat per SEQ on one connection (a "-" for CERT/KEY: none), printing
      "ack SEQ" or "error CODE: message" per answer, in order; with HOLD_SECONDS set in the
      environment, keeps the connection open that long afterwards
On an Error answer: prints "error CODE: message" on stderr and exits 1.
"""
import os, socket, ssl, sys, time

def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)

def field(number, payload):  # length-delimited (wire type 2)
    return varint(number << 3 | 2) + varint(len(payload)) + payload

def parse(data):
    """{field number: [values]}: ints for varints, bytes for length-delimited."""
    fields, i = {}, 0
    while i < len(data):
        key, i = read_varint(data, i)
        number, kind = key >> 3, key & 7
        if kind == 0:
            value, i = read_varint(data, i)
        elif kind == 2:
            length, i = read_varint(data, i)
            value, i = data[i:i + length], i + length
        else:
            raise ValueError(f"unexpected wire type {kind}")
        fields.setdefault(number, []).append(value)
    return fields

def read_varint(data, i):
    shift = value = 0
    while True:
        b = data[i]; i += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return value, i

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
    while True:
        try:
            length, start = read_varint(buffer, 0)
            if len(buffer) >= start + length:
                return parse(buffer[start:start + length]), buffer[start + length:]
        except IndexError:
            pass
        chunk = tls.recv(65536)
        if not chunk:
            raise SystemExit("error: connection closed without an answer")
        buffer += chunk

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

def main():
    host, port, ca, command = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    if command == "enroll":
        token, csr_path, name, payout, stream, cert_out = sys.argv[5:11]
        request = (field(1, token.encode()) + field(2, open(csr_path, "rb").read()) + field(3, name.encode())
                   + field(4, payout.encode()) + field(5, stream.encode()))
        response = parse(exchange(host, port, ca, 12, request)[13][0])
        with open(cert_out, "w") as f:
            f.write(ssl.DER_cert_to_PEM_cert(response[2][0]))
        print(response[1][0].decode())
    elif command == "status":
        status = parse(exchange(host, port, ca, 21, b"", cert=sys.argv[5], key=sys.argv[6])[22][0])
        for item in status.get(4, []):
            kv = parse(item)
            print(f"{kv.get(1, [b''])[0].decode()}={kv.get(2, [b''])[0].decode()}")
    elif command == "heartbeat":
        cert, key = (None, None) if sys.argv[5] == "-" else (sys.argv[5], sys.argv[6])
        buffer = b""
        with connect(host, port, ca, cert, key) as tls:
            for i, seq in enumerate(sys.argv[7:], start=1):
                counters = field(1, b"main") + varint(2 << 3) + varint(3) + varint(3 << 3) + varint(1000 * int(seq))
                heartbeat = (varint(1 << 3) + varint(int(seq)) + varint(2 << 3) + varint(int(time.time() * 1000))
                             + field(3, counters) + varint(4 << 3) + varint(1500))
                answer, buffer = send_request(tls, i, 14, heartbeat, buffer)
                if 11 in answer:
                    print(error_of(answer), flush=True)
                else:
                    print(f"ack {parse(answer[15][0]).get(1, [0])[0]}", flush=True)
            time.sleep(float(os.environ.get("HOLD_SECONDS", "0")))
    else:
        raise SystemExit(f"unknown command {command}")

main()
