#!/usr/bin/env bash
# A 100-point sweep against 100 separate `pbrsim run` invocations of the
# same points (docs/performance.md, "Sweeps").
#
#   tools/batch/bench_sweep.sh [SCENARIO] [ITERATIONS] [THREADS]
#
# The points are a 100-point Latin hypercube over the bid discount and a
# second parameter (PARAM, RANGE; by default the volume median of the Work
# Programme scenario); each separate run gets the same values by --set, the
# same seed and iteration count, and writes its own outputs.
set -euo pipefail
cd "$(dirname "$0")/../.."
scenario=${1:-scenarios/work_programme.toml}
iterations=${2:-1000}
threads=${3:-0}
param=${PARAM:-uncertainty.volume.median}
range=${RANGE:-[0.5, 1.1]}
bin=./target/release/pbrsim
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/sweep.toml" <<TOML
scenario = "$(realpath "$scenario")"
[latin_hypercube]
points = 100
seed = 7
[latin_hypercube.ranges]
"payments.price_discount" = [0.0, 0.15]
"$param" = $range
TOML
start=$(date +%s.%N)
"$bin" sweep "$work/sweep.toml" -n "$iterations" -j "$threads" --out "$work/sweep" --quiet 2>/dev/null
sweep=$(echo "$(date +%s.%N) - $start" | bc)
# The same points, from the sweep's manifest.
python3 - "$work/sweep/manifest.json" > "$work/points.txt" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
for _, values in m["points"]:
    print(" ".join(f"--set={p}={v}" for p, v in zip(m["parameters"], values)))
PY
start=$(date +%s.%N)
i=0
while read -r sets; do
  # shellcheck disable=SC2086
  "$bin" run "$scenario" -n "$iterations" -j "$threads" $sets --out "$work/run$i" --quiet 2>/dev/null
  i=$((i + 1))
done < "$work/points.txt"
runs=$(echo "$(date +%s.%N) - $start" | bc)
printf '%s, %s iterations per point, threads %s\n' "$scenario" "$iterations" "$threads"
printf '  100-point sweep:        %6.2f s\n' "$sweep"
printf '  100 separate runs:      %6.2f s\n' "$runs"
printf '  ratio (runs / sweep):   %6.2f\n' "$(echo "$runs / $sweep" | bc -l)"
