#!/usr/bin/env bash
# Wall time of one sweep (or run of a scenario) on 1, 2 and 4 Slurm array
# tasks, and of its merge
# (docs/performance.md and docs/batch.md). Needs a running cluster, e.g.
#   ../shared/slurm/local-cluster.sh start && source /tmp/local-slurm/env.sh
#
#   tools/batch/bench_slurm.sh [SWEEP|SCENARIO] [ITERATIONS] [TASKS...]
set -euo pipefail
cd "$(dirname "$0")/../.."
sweep=${1:-sweeps/work_programme_discount_by_volume.toml}
iterations=${2:-2000}
shift 2 || true
tasks=("$@")
[ ${#tasks[@]} -eq 0 ] && tasks=(1 2 4)
bin=$(realpath ./target/release/pbrsim)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if grep -qE '^scenarios? *=' "$sweep"; then
  "$bin" sweep "$sweep" -n "$iterations" --out "$work/single" --quiet 2>/dev/null
  result=sweep.csv
else
  "$bin" run "$sweep" -n "$iterations" --out "$work/single" --quiet 2>/dev/null
  result=summary.json
fi
echo "$sweep, $iterations iterations per point, $(nproc) cores"
for t in "${tasks[@]}"; do
  out="$work/tasks$t"
  start=$(date +%s.%N)
  "$bin" slurm "$sweep" --tasks "$t" -n "$iterations" --out "$out" --submit >/dev/null 2>&1
  read -r array merge < "$out/slurm/job-ids"
  while [ -n "$(squeue -h -j "$array,$merge" 2>/dev/null)" ]; do sleep 0.2; done
  wall=$(echo "$(date +%s.%N) - $start" | bc)
  cmp -s "$out/$result" "$work/single/$result" && same=identical || same=DIFFERENT
  mstart=$(date +%s.%N)
  "$bin" merge "$out" 2>/dev/null
  mtime=$(echo "$(date +%s.%N) - $mstart" | bc)
  parts=$(ls "$out/state" | wc -l)
  printf '  %d task(s): wall %6.2f s (submit to merged), merge alone %5.2f s, %d state files; %s %s to one process\n' "$t" "$wall" "$mtime" "$parts" "$result" "$same"
done
