#!/usr/bin/env python3
"""oslo.service's FixedIntervalLoopingCall measured like `periodic bench looping`.

Usage: bench_oslo_looping.py [--interval-ms 10] [--ticks 2000] [--work-ms 0] [--backend eventlet|threading]
Prints one JSON object with the lateness of each call against start + k*interval.
Needs: pip install 'oslo.service[threading]' (eventlet comes with it).
"""
import argparse
import json
import math
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--interval-ms", type=float, default=10)
    ap.add_argument("--ticks", type=int, default=2000)
    ap.add_argument("--work-ms", type=float, default=0)
    ap.add_argument("--backend", choices=["eventlet", "threading"], default="threading")
    args = ap.parse_args()

    from oslo_service import backend
    backend.init_backend(backend.BackendType.THREADING if args.backend == "threading"
                         else backend.BackendType.EVENTLET)
    from oslo_service import loopingcall

    interval = args.interval_ms / 1000.0
    work = args.work_ms / 1000.0
    starts = []

    def f():
        now = time.monotonic()
        starts.append(now)
        while time.monotonic() - now < work:
            pass
        if len(starts) >= args.ticks:
            raise loopingcall.LoopingCallDone()

    call = loopingcall.FixedIntervalLoopingCall(f)
    call.start(interval=interval).wait()

    start = starts[0]
    late = [max(0.0, (t - (start + k * interval)) * 1000.0) for k, t in enumerate(starts)]
    final = late[-1]
    late.sort()

    def pct(p):
        rank = max(1, math.ceil(p / 100.0 * len(late)))
        return late[min(rank, len(late)) - 1]

    r3 = lambda x: round(x, 3)
    print(json.dumps({"ticks": len(starts), "interval_ms": args.interval_ms, "work_ms": args.work_ms,
                      "p50_ms": r3(pct(50)), "p99_ms": r3(pct(99)), "max_ms": r3(late[-1]),
                      "final_drift_ms": r3(final), "implementation": "oslo.service " + args.backend}))


if __name__ == "__main__":
    main()
