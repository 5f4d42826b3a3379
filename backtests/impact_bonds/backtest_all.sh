#!/usr/bin/env bash
# Back-tests every contract of the impact bond data against its first plan,
# each with the reference class fitted on the other fourteen (docs/backtesting.md,
# "Back-testing all fifteen"): reference-class --leave-out, from-plan, backtest.
# Writes OUT/<contract>/ and OUT/summary.csv (one row per contract: where its
# total paid to date fell in its predictive distribution). Then re-forecasts each
# contract from the start of the middle period of its realised payments
# (docs/backtesting.md, "Re-forecasting at the halfway point") and writes
# OUT/reforecast_summary.csv: where what it paid afterwards fell in the prior
# forecast and in the re-forecast. Last, `pbrsim calibration` over all of them
# (OUT/calibration.csv).
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
later="$out/reforecast_summary.csv.tmp"
echo "contract,at,last_month,periods_observed,effective_sample_size,realised_later,prior_p5,prior_p50,prior_p95,prior_pit,p5,p50,p95,pit" > "$later"
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
  # The middle realised period's first month.
  at=$(awk -F, 'NR > 1 { s[++n] = $2 } END { print s[int(n / 2) + 1] }' "$dir/realised.csv")
  "$pbrsim" reforecast "$dir/scenario.toml" "$dir/realised.csv" --at "$at" -n "$n" -q \
    --out "$dir/reforecast" 2>/dev/null
  # figure,unit,prior_mean,prior_p5,prior_p50,prior_p95,mean,p5,p50,p95,realised,prior_pit,pit,at,observed,tolerance,ess,...
  last=$(tail -n 1 "$dir/realised.csv" | cut -d, -f3)
  awk -F, -v id="$id" -v last="$last" '$1 == "public.paid_later" {
      printf "%s,%s,%s,%s,%.0f,%s,%s,%s,%s,%.4f,%s,%s,%s,%.4f\n", id, $14, last, $15, $17, $11, $4, $5, $6, $12, $8, $9, $10, $13 }' \
    "$dir/reforecast/reforecast.csv" >> "$later"
done
mv "$summary" "$out/summary.csv"
mv "$later" "$out/reforecast_summary.csv"
# The table, aligned.
awk -F, 'NR == FNR { for (i = 1; i <= NF; i++) if (length($i) > w[i]) w[i] = length($i); next }
    { line = ""; for (i = 1; i <= NF; i++) line = line sprintf("%-" w[i] + 2 "s", $i); sub(/ +$/, "", line); print line }' \
  "$out/summary.csv" "$out/summary.csv"
echo
echo "Re-forecast from the middle realised period: what was paid afterwards"
awk -F, 'NR == FNR { for (i = 1; i <= NF; i++) if (length($i) > w[i]) w[i] = length($i); next }
    { line = ""; for (i = 1; i <= NF; i++) line = line sprintf("%-" w[i] + 2 "s", $i); sub(/ +$/, "", line); print line }' \
  "$out/reforecast_summary.csv" "$out/reforecast_summary.csv"
echo
"$pbrsim" calibration "$out" --out "$out" 2>/dev/null
