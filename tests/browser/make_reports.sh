#!/usr/bin/env bash
# Writes one report.html of every kind into OUT/<kind>/, at a small size:
# a run (with the contract explained), a comparison, stresses, a
# sensitivity analysis, the variance split, a solve, a sweep, a reverse
# stress test, a value-of-information analysis and a design search; and a run of every other
# shipped scenario (investors, payers, improvement rules draw differently).
# Usage: tests/browser/make_reports.sh PBRSIM_BINARY OUT
set -euo pipefail
bin="$1"
out="$2"
n=256
mkdir -p "$out"
wp=scenarios/work_programme.toml
"$bin" run "$wp" -n 1000 --quiet --out "$out/run" --report
"$bin" compare "$wp" --set-b 'segments.jsa_25_plus.referrals_per_month=640' -n "$n" --quiet --out "$out/compare"
"$bin" stress stresses/programme_history.toml -n "$n" --quiet --out "$out/stress"
"$bin" sensitivity "$wp" --statistic prime.net -n "$n" --quiet --out "$out/sensitivity"
"$bin" evidence "$wp" -n "$n" --quiet --out "$out/evidence"
"$bin" solve "$wp" --vary subcontractors.esa_charity.reserves --between 0 1000000 \
  --statistic esa_charity.failed --target 0.05 -n "$n" --quiet --out "$out/solve"
"$bin" sweep sweeps/work_programme_discount_by_volume.toml -n "$n" --quiet --out "$out/sweep"
"$bin" reverse-stress "$wp" --party prime --probability 0.2 --direction 'uncertainty.cost*1.5' \
  -n "$n" --quiet --out "$out/reverse_stress"
"$bin" voi scenarios/supply_chain.toml --variant on_results:payments.service_fee_per_month=0 \
  -n "$n" --quiet --out "$out/voi"
design="$out/design.toml"
cat >"$design" <<DESIGN
scenario = "$PWD/scenarios/minimal.toml"
iterations = [128, 512]
[list]
"payments.price_discount" = [0.0, 0.05, 0.1, 0.3]
[objective]
minimise = "commissioner.paid.total"
[[constraints]]
event = "prime.net < 0"
at_most = 0.2
DESIGN
"$bin" design "$design" --quiet --out "$out/design"
for f in scenarios/*.toml; do
  name=$(basename "$f" .toml)
  [ "$name" = work_programme ] && continue
  "$bin" run "$f" -n 300 --quiet --out "$out/run_$name" --report
done
for d in compare stress sensitivity evidence solve sweep reverse_stress voi design; do
  "$bin" report "$out/$d" --html 2>/dev/null
done
