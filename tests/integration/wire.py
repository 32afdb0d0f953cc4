"""Protobuf wire helpers for the Python test clients (standard library only): just enough
varint / length-delimited encoding to speak streamr.proto, written from the protobuf spec."""

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

def uint(number, value):  # varint field (wire type 0)
    return varint(number << 3) + varint(value)

def read_varint(data, i):
    shift = value = 0
    while True:
        b = data[i]; i += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return value, i

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

def read_frame(recv, buffer):
    """One delimited Envelope from `recv` (a socket's recv): (fields, leftover bytes).
    Raises EOFError when the peer closes first."""
    while True:
        try:
            length, start = read_varint(buffer, 0)
            if len(buffer) >= start + length:
                return parse(buffer[start:start + length]), buffer[start + length:]
        except IndexError:
            pass
        chunk = recv(65536)
        if not chunk:
            raise EOFError("connection closed")
        buffer += chunk
