#!/usr/bin/env python3
"""Scrambled Sobol' points against independent draws, at equal iterations.

For every scenario given (default: every shipped one), in one sitting:

  * `--seeds` runs of `pbrsim run -n N` with `--sampling monte-carlo` and as
    many with `--sampling sobol` (16 randomisations), seeds 1, 2, ...; for
    the figures users read (each party's mean net; each provider's P(loss)
    and P(failure); each party's value at risk at 95%, the 5th percentile of
    its net) the variance of the estimate over the seeds, by each method.
    The variance reduction factor (VRF) is their ratio: how many times
    fewer iterations Sobol' points need for the same standard error. Its
    own uncertainty: a ratio of two sample variances on `seeds - 1`
    degrees of freedom each: at 48 seeds an F(47, 47) 95% range is 0.56x to
    1.8x, so a factor within it is no evidence either way;
  * whether the Sobol' runs' reported standard errors are honest: the mean
    of their squares against the variance seen over the seeds (1 is
    honest; above 1 errs on the safe side; at 48 seeds its own noise is
    about +-25%);
  * the time to bring the prime's mean net to a 1% relative standard
    error: pbrsim with `--sampling sobol --precision prime.net=0.01` on 1
    and 2 threads (whole command, best of `--repeats`), against the NumPy
    reference's time for the same precision, (sd / (0.01 |mean|))^2
    iterations at its measured speed (`--numpy-iterations` of it, timed).

It prints Markdown tables and with `--write FILE` puts them into FILE
between `<!-- rqmc:begin -->` and `<!-- rqmc:end -->` (docs/performance.md).

    python3 tools/bench/rqmc.py --write docs/performance.md

Needs the release build and `pip install -r tools/reference/requirements.txt`.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tools", "reference"))
import compare  # noqa: E402
import pbr_numpy  # noqa: E402
from tables import measured_at, scenarios, seconds, write_between  # noqa: E402

BEGIN = "<!-- rqmc:begin -->"
END = "<!-- rqmc:end -->"
METHODS = {"monte-carlo": [], "sobol": ["--sampling", "sobol"]}


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def number(text):
    return float(text) if text not in ("", None) else math.nan


def estimates(exe, path, n, seed, method, threads):
    """The figures users read, from one run: {label: (estimate, se)}."""
    out = tempfile.mkdtemp(prefix="pbr_rqmc_")
    subprocess.run([exe, "run", path, "-n", str(n), "--seed", str(seed), "-j", str(threads),
                    "--out", out, "-q"] + METHODS[method], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    got = {}
    for r in read_csv(os.path.join(out, "figures.csv")):
        if r["figure"] in ("net", "loss", "failed"):
            name = {"net": "mean net", "loss": "P(loss)", "failed": "P(failure)"}[r["figure"]]
            if r["figure"] == "loss" and r["party"] == "commissioner":
                continue
            got[(r["party"], name)] = (number(r["mean"]), number(r["mean_se"]))
    for r in read_csv(os.path.join(out, "risk.csv")):
        if r["figure"] == "net" and abs(float(r["level"]) - 0.95) < 1e-12:
            got[(r["party"], "VaR 95%")] = (number(r["value_at_risk"]), number(r["value_at_risk_se"]))
    return got


def best_time(cmd, repeats):
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            raise SystemExit(f"failed: {' '.join(cmd)}\n{r.stderr}")
        best = min(best, time.perf_counter() - t0)
    return best, r.stderr



def factor(x):
    if not math.isfinite(x):
        return "-"
    return f"{x:,.0f}" if x >= 10 else f"{x:,.1f}"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("scenarios", nargs="*", help="scenario files (default: scenarios/*.toml)")
    ap.add_argument("-n", "--iterations", type=int, default=4096, help="iterations of each run")
    ap.add_argument("--seeds", type=int, default=48, help="runs per method and scenario")
    ap.add_argument("-j", "--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3, help="timings of the precision runs (best kept)")
    ap.add_argument("--numpy-iterations", type=int, default=5000)
    ap.add_argument("--max-iterations", type=int, default=2_000_000,
                    help="the most a precision run may use (beyond: '-')")
    ap.add_argument("--write", metavar="FILE", help="put the tables into FILE between the markers")
    a = ap.parse_args(argv)

    exe = compare.pbrsim_binary()
    vrf_lines = [
        f"Measured by `tools/bench/rqmc.py --iterations {a.iterations} --seeds {a.seeds}` {measured_at()}:",
        "",
        "| scenario | figure | VRF: mean net | P(loss) | P(failure) | VaR 95% | reported / seen variance (Sobol') |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    time_lines = [
        "",
        "Time to a 1% relative standard error of the prime's mean net "
        f"(pbrsim: `run --sampling sobol --precision prime.net=0.01`, whole command, best of {a.repeats}; "
        f"NumPy: (sd / (0.01 |mean|))^2 iterations at its speed over {a.numpy_iterations:,} iterations):",
        "",
        "| scenario | NumPy | pbrsim Sobol', 1 thread | 2 threads | iterations used | speed-up (1 / 2 threads) |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for path in scenarios(a.scenarios):
        name = os.path.basename(path)
        runs = {m: [estimates(exe, path, a.iterations, 1 + s, m, a.threads) for s in range(a.seeds)]
                for m in METHODS}
        parties = []
        for key in runs["monte-carlo"][0]:
            if key[0] not in parties:
                parties.append(key[0])
        for party in parties:
            cells, honest = [], []
            for what in ("mean net", "P(loss)", "P(failure)", "VaR 95%"):
                key = (party, what)
                if key not in runs["monte-carlo"][0]:
                    cells.append("")
                    continue
                var = {m: np.var([r[key][0] for r in runs[m]], ddof=1) for m in METHODS}
                if var["monte-carlo"] == 0:
                    cells.append("(constant)")
                    continue
                cells.append(factor(var["monte-carlo"] / var["sobol"]) if var["sobol"] > 0 else "exact")
                reported = np.mean([r[key][1] ** 2 for r in runs["sobol"]])
                if var["sobol"] > 0 and math.isfinite(reported):
                    honest.append(f"{what} {reported / var['sobol']:.2f}")
            vrf_lines.append(f"| `{name}` | {party} | " + " | ".join(cells) + f" | {'; '.join(honest)} |")
            print(vrf_lines[-1], file=sys.stderr)

        sc = pbr_numpy.Scenario(path)
        t0 = time.perf_counter()
        theirs = pbr_numpy.run(sc, a.numpy_iterations, 7919)
        np_speed = a.numpy_iterations / (time.perf_counter() - t0)
        v = np.asarray(theirs["prime.net"], dtype=float)
        v = v[~np.isnan(v)]
        mean, sd = float(np.mean(v)), float(np.std(v, ddof=1))
        need = (sd / (0.01 * abs(mean))) ** 2 if mean else math.inf
        t_np = need / np_speed
        t_mine, used = {}, "-"
        if need <= 50 * a.max_iterations:
            for threads in (1, 2):
                cmd = [exe, "run", path, "-n", "1024", "--sampling", "sobol", "--precision",
                       "prime.net=0.01", "--max-iterations", str(a.max_iterations), "-j", str(threads), "-q"]
                t, err = best_time(cmd, a.repeats)
                # The command notes "--precision: N iterations used".
                found = re.search(r"([\d,]+) iterations used", err)
                n_used = int(found.group(1).replace(",", "")) if found else None
                if n_used is not None and n_used < a.max_iterations:
                    t_mine[threads], used = t, f"{n_used:,}"
        ratio = " / ".join(f"{factor(t_np / t_mine[k])}x" for k in (1, 2) if k in t_mine) or "-"
        time_lines.append(
            f"| `{name}` | {seconds(t_np)} ({need:,.0f} iterations) | {seconds(t_mine.get(1, math.inf))} "
            f"| {seconds(t_mine.get(2, math.inf))} | {used} | {ratio} |"
        )
        print(time_lines[-1], file=sys.stderr)

    table = "\n".join(vrf_lines + time_lines)
    print(table)
    if a.write:
        write_between(a.write, BEGIN, END, table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
