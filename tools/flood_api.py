#!/usr/bin/env python3
# Usage: tools/flood_api.py PID PORT N  (PID: the `periodic api serve` process)
# Holds N partial requests (headers never finished) against the API server, printing its
# resident memory and the latency of /healthz idle, while they are held, after the server
# closed them (its header-read timeout) and after the client let go.
import socket, sys, time, os, subprocess, urllib.request
pid, port, n = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
def rss():
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS"): return int(line.split()[1]) // 1024
def healthz():
    t = time.monotonic()
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5).read()
        return round((time.monotonic() - t) * 1000, 1)
    except Exception as e:
        return f"error {e}"
print("idle: rss MiB", rss(), "healthz ms", healthz())
socks = []
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    socks.append(s)
time.sleep(1)
print(f"{n} held: rss MiB", rss(), "healthz ms", healthz())
t0 = time.monotonic()
# wait for the server to close them (header read timeout)
closed = 0
deadline = time.monotonic() + 30
for s in socks: s.settimeout(max(0.01, deadline - time.monotonic()))
for s in socks:
    try:
        d = s.recv(1024)
        closed += 1
    except Exception:
        pass
print(f"closed by the server: {closed}/{n} within {round(time.monotonic()-t0,1)} s; rss MiB", rss(), "healthz ms", healthz())
for s in socks: s.close()
time.sleep(1)
print("after: rss MiB", rss(), "healthz ms", healthz())
