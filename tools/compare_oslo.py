#!/usr/bin/env python3
"""Compare `periodic simulate` with oslo.service's own schedule on random scenarios.

Usage: compare_oslo.py PERIODIC_BIN OSLO_TRACE_PY [--cases N] [--seed S] [--keep DIR]

Needs oslo.service importable by this interpreter (pip install 'oslo.service[threading]').
Scenarios use spacings, durations and delays in multiples of 1/8 s: exact in binary floating
point (so oslo's float clock has no rounding artifacts, see README "Differences from
oslo.service") and on tokio's 1 ms timer grid. Both idle policies, jitter off. Exits 1 on the first difference, printing the scenario.
"""
import argparse
import json
import os
import random
import subprocess
import sys
import tempfile


def scenario(rng):
    n = rng.randint(1, 8)
    tasks = []
    for i in range(n):
        t = {"name": "t%d" % i}
        r = rng.random()
        if r < 0.1:
            t["spacing"] = 0
        elif r < 0.15:
            t["spacing"] = -1
        elif r < 0.6:
            t["spacing"] = rng.randint(1, 90)
        else:
            t["spacing"] = rng.randint(1, 720) / 8.0
        if rng.random() < 0.5:
            t["run_immediately"] = True
        if rng.random() < 0.1:
            t["enabled"] = False
        if rng.random() < 0.2:
            t["external_process_ok"] = True
        if rng.random() < 0.5:
            t["duration"] = rng.choice([0, 0.25, 0.5, 1, 3, rng.randint(0, 160) / 8.0])
        if rng.random() < 0.2:
            t["fails"] = True
        tasks.append(t)
    s = {"tasks": tasks, "horizon": rng.choice([60, 300, 900, 3600])}
    if rng.random() < 0.3:
        s["run_external_periodic_tasks"] = False
    if rng.random() < 0.5:
        s["periodic_interval_max"] = rng.choice([1, 5, 30, 60, 120])
    if rng.random() < 0.4:
        s["initial_delay"] = rng.randint(0, 480) / 8.0
    return s


def load(text):
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def same(a, b):
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        if x.keys() != y.keys():
            return False
        for k in x:
            if isinstance(x[k], (int, float)):
                if abs(x[k] - y[k]) > 1e-6:
                    return False
            elif x[k] != y[k]:
                return False
    return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("periodic")
    ap.add_argument("oslo_trace")
    ap.add_argument("--cases", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        for case in range(args.cases):
            s = scenario(rng)
            for policy in ("oslo", "precise"):
                s["idle_policy"] = policy
                path = os.path.join(tmp, "s.json")
                with open(path, "w") as f:
                    json.dump(s, f)
                ours = subprocess.run([args.periodic, "simulate", path, "--idle-policy", policy],
                                      capture_output=True, text=True, check=True).stdout
                theirs = subprocess.run([sys.executable, args.oslo_trace, path],
                                        capture_output=True, text=True, check=True).stdout
                a, b = load(ours), load(theirs)
                if not same(a, b):
                    print("case %d (%s) differs:\n%s" % (case, policy, json.dumps(s)))
                    for i, (x, y) in enumerate(zip(a, b)):
                        if not same([x], [y]):
                            print("first difference at line %d: ours %s, oslo %s" % (i + 1, x, y))
                            break
                    else:
                        print("lengths differ: ours %d, oslo %d" % (len(a), len(b)))
                    return 1
    print("%d scenarios x 2 idle policies: identical to oslo.service" % args.cases)
    return 0


if __name__ == "__main__":
    sys.exit(main())
