#!/usr/bin/env python3
"""Writes a benchmark scenario for `periodic simulate`.

Usage: gen_scenario.py TASKS HORIZON_SECONDS [--seed S] > scenario.json
Spacings are whole seconds drawn uniformly from 60..3600, a quarter of the tasks run
immediately, durations are 0 (the schedule itself is what is measured).
"""
import argparse
import json
import random

ap = argparse.ArgumentParser()
ap.add_argument("tasks", type=int)
ap.add_argument("horizon", type=float)
ap.add_argument("--seed", type=int, default=42)
args = ap.parse_args()
rng = random.Random(args.seed)
tasks = []
for i in range(args.tasks):
    t = {"name": "task%d" % i, "spacing": rng.randint(60, 3600)}
    if rng.random() < 0.25:
        t["run_immediately"] = True
    tasks.append(t)
print(json.dumps({"tasks": tasks, "horizon": args.horizon, "periodic_interval_max": 60}))
