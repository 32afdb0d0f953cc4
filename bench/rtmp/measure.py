#!/usr/bin/env python3
"""Measures one RTMP server over a fixed window (stdlib only; used by fanout.sh).

    measure.py --port PORT --seconds S PID [PID ...]

CPU: utime+stime of every PID from /proc/PID/stat (the thread group's total, so all threads
count; children are not added: pass nginx's master AND worker). Bytes delivered: the kernel's
per-connection `bytes_acked` of the server-side sockets (`ss -tinH state established
"( sport = :PORT )"`), i.e. bytes the server wrote that the players' TCP stacks have acknowledged.
A connection whose received bytes exceed its acked bytes is the publisher: its direction is
reversed, so it is reported separately as ingress and not counted as delivered. As a cross-check, the players' ends
(`dport = :PORT`) are read too and their bytes_received reported. RSS: sum of
VmRSS over the PIDs, sampled every 0.5 s; the peak is reported. Prints one JSON object.
"""
import argparse, json, os, re, subprocess, time

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids):
    """→ (user, system) seconds summed over the pids."""
    user = system = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        user += int(fields[11]); system += int(fields[12])  # utime, stime (fields 14, 15 of stat)
    return user / TICK, system / TICK


def rss_kib(pids):
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total


def connections(port, side="sport"):
    """{(local, peer): (bytes_acked, bytes_received)} for established sockets on the server port
    (side="sport": the server's ends; side="dport": the clients' ends)."""
    out = subprocess.run(["ss", "-tinH", "state", "established", f"( {side} = :{port} )"],
                         check=True, capture_output=True, text=True).stdout
    conns, key = {}, None
    for line in out.splitlines():
        if not line[:1].isspace():  # socket line: Recv-Q Send-Q Local Peer (state omitted by filter)
            parts = line.split()
            key = (parts[2], parts[3])
            continue
        acked = re.search(r"\bbytes_acked:(\d+)", line)
        received = re.search(r"\bbytes_received:(\d+)", line)
        if key is not None:
            conns[key] = (int(acked.group(1)) if acked else 0, int(received.group(1)) if received else 0)
            key = None
    return conns


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--seconds", type=float, required=True)
    ap.add_argument("pids", nargs="+", type=int)
    a = ap.parse_args()

    p0 = connections(a.port, "dport")
    c0, t0, cpu0 = connections(a.port), time.monotonic(), cpu_seconds(a.pids)
    peak = rss_kib(a.pids)
    while time.monotonic() - t0 < a.seconds:
        time.sleep(min(0.5, max(0.0, a.seconds - (time.monotonic() - t0))))
        peak = max(peak, rss_kib(a.pids))
    cpu1, t1, c1 = cpu_seconds(a.pids), time.monotonic(), connections(a.port)
    p1 = connections(a.port, "dport")
    # Cross-check from the other end: what the players' sockets received (the publisher's
    # socket, which mostly sends, is recognised the same way and left out).
    received = sum(r1 - p0.get(k, (0, 0))[1] for k, (s1, r1) in p1.items() if r1 > s1)

    delivered = ingress = 0
    players = lost = 0
    for key, (acked1, recv1) in c1.items():
        acked0, recv0 = c0.get(key, (0, 0))  # a connection new in the window counts from zero
        d_acked, d_recv = acked1 - acked0, recv1 - recv0
        if recv1 > acked1:   # the publisher
            ingress += d_recv
        else:
            delivered += d_acked
            players += 1
    lost = sum(1 for key in c0 if key not in c1)
    elapsed = t1 - t0
    user, system = cpu1[0] - cpu0[0], cpu1[1] - cpu0[1]
    cpu = user + system
    gb = delivered / 1e9
    print(json.dumps({
        "seconds": round(elapsed, 3),
        "players_connected": players,
        "connections_closed_in_window": lost,
        "delivered_bytes": delivered,
        "delivered_mbit_s": round(delivered * 8 / 1e6 / elapsed, 1),
        "players_received_mbit_s": round(received * 8 / 1e6 / elapsed, 1),
        "ingress_mbit_s": round(ingress * 8 / 1e6 / elapsed, 2),
        "server_cpu_s": round(cpu, 2),
        "server_user_s": round(user, 2),
        "server_system_s": round(system, 2),
        "cpu_s_per_gb": round(cpu / gb, 3) if gb > 0 else None,
        "peak_rss_mib": round(peak / 1024, 1),
    }))


if __name__ == "__main__":
    main()
