#!/usr/bin/env bash
# Issue 2's benchmarks, ours beside oslo.service's, in one run. Results go to stdout as
# Markdown rows; BENCHMARKS.md records a run of it.
#
#   benches/run.sh [OSLO_PYTHON]
#
# OSLO_PYTHON: a Python with oslo.service installed (default: .ci/oslo-venv/bin/python,
# created by .ci/run). Without it, the oslo columns are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
py="${1:-.ci/oslo-venv/bin/python}"
trace=../shared/tools/oslo_trace.py
cargo build --release -q -p periodic-cli
bin=target/release/periodic
have_oslo=0
if [ -x "$py" ] && "$py" -c 'import oslo_service' 2>/dev/null && [ -f "$trace" ]; then have_oslo=1; fi

secs() { /usr/bin/time -f %e "$@" 2>&1 >/dev/null | tail -1; }

echo "## periodic simulate: 1,000 tasks over a simulated day (benches/scenarios/day-1000.json)"
python3 -c "import json;s=json.load(open('benches/scenarios/day-1000.json'));s['idle_policy']='oslo';json.dump(s,open('/tmp/day-1000-oslo.json','w'))"
ours=$(secs "$bin" simulate benches/scenarios/day-1000.json --idle-policy oslo)
"$bin" simulate benches/scenarios/day-1000.json --idle-policy oslo > /tmp/day-1000.periodic.jsonl
echo "periodic: ${ours} s ($(wc -l < /tmp/day-1000.periodic.jsonl) trace lines)"
if [ $have_oslo = 1 ]; then
  theirs=$(secs "$py" "$trace" /tmp/day-1000-oslo.json)
  "$py" "$trace" /tmp/day-1000-oslo.json > /tmp/day-1000.oslo.jsonl
  same=$(python3 - <<'PY'
import json
a=[json.loads(l) for l in open('/tmp/day-1000.periodic.jsonl')]
b=[json.loads(l) for l in open('/tmp/day-1000.oslo.jsonl')]
ok=len(a)==len(b) and all(x.keys()==y.keys() and all((abs(x[k]-y[k])<1e-6 if isinstance(x[k],(int,float)) else x[k]==y[k]) for k in x) for x,y in zip(a,b))
print("identical" if ok else "DIFFERENT")
PY
)
  echo "oslo.service: ${theirs} s; traces ${same}; speed-up $(python3 -c "print(round($theirs/max($ours,0.001)))")x"
fi

echo
echo "## periodic simulate: 100,000 tasks (spacing 60-3600 s) over a simulated hour"
echo "periodic: $(secs "$bin" simulate benches/scenarios/hour-100k.json --idle-policy oslo) s (Oslo idle), $(secs "$bin" simulate benches/scenarios/hour-100k.json) s (Precise idle)"

echo
echo "## periodic bench looping: lateness against the ideal grid, 10 ms interval, 2,000 ticks"
for work in 0 3; do
  echo "periodic, Timer::Tokio (work ${work} ms): $("$bin" bench looping --interval-ms 10 --ticks 2000 --work-ms $work)"
  echo "periodic, Timer::Spin(1.5 ms) (work ${work} ms): $("$bin" bench looping --interval-ms 10 --ticks 2000 --work-ms $work --spin-ms 1.5)"
  if [ $have_oslo = 1 ]; then
    echo "oslo.service threading (work ${work} ms): $("$py" tools/bench_oslo_looping.py --interval-ms 10 --ticks 2000 --work-ms $work 2>/dev/null)"
  fi
done

echo
echo "## periodic bench memory: 100,000 running looping calls, 100,000 registered tasks"
"$bin" bench memory --count 100000
