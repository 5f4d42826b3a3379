#!/usr/bin/env bash
# Back-tests every contract of the impact bond data against its first plan,
# each with the reference class fitted on the other fourteen (docs/backtesting.md,
# "Back-testing all fifteen"): reference-class --leave-out, from-plan, backtest.
# Writes OUT/<contract>/ and OUT/summary.csv (one row per contract: where its
# total paid to date fell in its predictive distribution).
#
# Usage: backtests/impact_bonds/backtest_all.sh [OUT] [ITERATIONS]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-results/backtest-impact-bonds}"
n="${2:-10000}"
pbrsim="${PBRSIM:-pbrsim}"
payments="$here/outcome_payments.csv"
projects="$here/projects.csv"
mkdir -p "$out"
ids=$(tail -n +2 "$payments" | cut -d, -f1 | awk '!seen[$0]++')
summary="$out/summary.csv.tmp"
echo "contract,last_month,realised,p5,p50,p95,pit,inside_50,inside_90" > "$summary"
for id in $ids; do
  dir="$out/$id"
  "$pbrsim" reference-class "$payments" --projects "$projects" --leave-out "$id" -q --out "$dir/class" 2>/dev/null
  "$pbrsim" from-plan "$payments" --contract "$id" --class "$dir/class/reference_class.toml" \
    -o "$dir/scenario.toml" --realised "$dir/realised.csv" 2>/dev/null
  "$pbrsim" backtest "$dir/scenario.toml" "$dir/realised.csv" -n "$n" -q --out "$dir" 2>/dev/null
  # The last running total: kind,series,start,end,realised,mean,p5,p25,p50,p75,p95,pit,in50,in90,...
  awk -F, -v id="$id" '$1 == "cumulative" { row = $0 } END {
      split(row, f, ","); print id "," f[4] "," f[5] "," f[7] "," f[9] "," f[11] "," f[12] "," f[13] "," f[14] }' \
    "$dir/backtest.csv" >> "$summary"
done
mv "$summary" "$out/summary.csv"
# The table, aligned.
awk -F, 'NR == FNR { for (i = 1; i <= NF; i++) if (length($i) > w[i]) w[i] = length($i); next }
    { line = ""; for (i = 1; i <= NF; i++) line = line sprintf("%-" w[i] + 2 "s", $i); sub(/ +$/, "", line); print line }' \
  "$out/summary.csv" "$out/summary.csv"
awk -F, 'NR > 1 { n++; a += ($8 == "true"); b += ($9 == "true") } END {
    printf "%d of %d contracts inside their 50%% band, %d of %d inside their 90%% band\n", a, n, b, n }' "$out/summary.csv"
