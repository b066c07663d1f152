#!/usr/bin/env python3
"""kill -9 of a service process -> `periodic service watch`'s down line: the delay, per driver.

    tools/bench_watch_delay.py [SERVICE_DOWN_TIME [DRIVER ...]]

One service in a process of its own (`periodic bench detect-replica`, reporting every
service_down_time / 5), one `periodic service watch --format json` on the same store (an
SQLite file of its own), SIGKILL, and the time from the kill to the watch's `down` line.
For zk and etcd the watch polls once a minute (`--interval 60`), so only the driver's
watch can explain a line within the session/lease timeout; the others poll every
report_interval / 5. The servers are the local ones (memcached 11211, Redis 6379,
ZooKeeper 2181, etcd 2379); PERIODIC_BIN names the binary (default target/debug/periodic).
"""
import datetime
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time

P = os.environ.get("PERIODIC_BIN", "target/debug/periodic")
ENV = {k: v for k, v in os.environ.items() if not k.startswith("PERIODIC_")}
SERVERS = ["--memcached-servers", "127.0.0.1:11211", "--redis-url", "redis://127.0.0.1:6379",
           "--zookeeper-servers", "127.0.0.1:2181", "--etcd-endpoints", "127.0.0.1:2379"]
DOWN = int(sys.argv[1]) if len(sys.argv) > 1 else 10
for driver in sys.argv[2:] or ["zk", "etcd", "redis", "mc", "db"]:
    d = tempfile.mkdtemp()
    db = f"sqlite://{d}/p.db"
    flags = ["--db", db, "--driver", driver, "--service-down-time", str(DOWN)] + SERVERS
    host = f"wd-{driver}-{os.getpid()}"
    rep = subprocess.Popen([P, "bench", "detect-replica", *flags, "--host", host, "--binary", "wd",
                            "--report-interval-ms", str(DOWN * 1000 // 5)],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=ENV, text=True)
    assert rep.stdout.readline().startswith("ready")
    env = dict(ENV, PERIODIC_REPORT_INTERVAL=str(DOWN / 5))
    # zk and etcd: only the watch (a poll a minute); the others poll (the default interval).
    slow = ["--interval", "60"] if driver in ("zk", "etcd") else []
    w = subprocess.Popen([P, "service", "watch", *flags, *slow, "--format", "json", "--duration", str(DOWN * 4)],
                         stdout=subprocess.PIPE, env=env, text=True)
    q = queue.Queue()
    threading.Thread(target=lambda: [q.put(l) for l in w.stdout], daemon=True).start()
    time.sleep(3)
    rep.kill(); t0 = time.time(); rep.wait()
    line = None
    while True:
        try:
            v = json.loads(q.get(timeout=DOWN * 3))
        except queue.Empty:
            break
        if v["host"] == host and v["event"] == "down":
            line = v; break
    w.kill()
    if line is None:
        print(f"{driver}: no down line"); continue
    t = datetime.datetime.fromisoformat(line["time"].replace("Z", "+00:00")).timestamp()
    print(json.dumps({"driver": driver, "service_down_time_s": DOWN, "kill_to_line_s": round(t - t0, 3),
                      "down_reason": line["down_reason"]}))
