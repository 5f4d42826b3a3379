#!/usr/bin/env python3
"""Speed and memory of pbrsim against the NumPy reference, on the same work.

For every scenario given (default: every shipped one), in one sitting:

  * the NumPy reference (`tools/reference/pbr_numpy.py`, one thread) and
    pbrsim on 1 and 2 threads run the same iterations with the same seed;
    pbrsim is timed without output files, net of process start-up and
    loading (the best of `--repeats` runs each), NumPy's simulation alone;
  * iterations per second and the ratios pbrsim / NumPy;
  * the time each needs to bring the prime's mean net to 1% relative
    standard error: (sd / (0.01 |mean|))^2 iterations, from each one's own
    sample, at its own speed;
  * the time per iteration of a contract ten times as large (every referral
    profile and every amount of the contract's size, `tables.volume_sets`,
    times 10, so the parties behave alike) against the contract as shipped,
    for NumPy and for pbrsim on 1 thread (`--volume-iterations` each);
  * with `--rss`, pbrsim's peak resident memory on the Work Programme at
    10^4, 10^5 and 10^6 iterations (2 threads, measured by GNU time,
    /usr/bin/time; about seven minutes on the Work Programme at 10^6).

It prints a Markdown table, and with `--write FILE` puts it into FILE
between the lines `<!-- compare_numpy:begin -->` and
`<!-- compare_numpy:end -->` (docs/performance.md has them).

    python3 tools/bench/compare_numpy.py --iterations 20000 --rss --write docs/performance.md

Needs the release build (`cargo build --release`) and
`pip install -r tools/reference/requirements.txt`.
"""

from __future__ import annotations

import argparse
import math
import os
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
from tables import measured_at, scenarios, seconds, volume_sets, write_between  # noqa: E402

BEGIN = "<!-- compare_numpy:begin -->"
END = "<!-- compare_numpy:end -->"
FIGURE = "prime.net"


def iterations_to_1pct(values):
    """Iterations for a 1% relative standard error of the mean of `values`."""
    v = values[~np.isnan(values)]
    mean, sd = float(np.mean(v)), float(np.std(v, ddof=1))
    if mean == 0:
        return math.inf
    return (sd / (0.01 * abs(mean))) ** 2


def peak_rss(cmd):
    """Peak resident memory (MB) and wall time (s) of one run of `cmd`,
    measured by GNU time, which starts it from a small process: a child of
    this one would inherit its high-water mark, NumPy's arrays included."""
    t0 = time.perf_counter()
    r = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{r.stderr}")
    return int(r.stderr.strip().splitlines()[-1]) / 1024, wall



def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("scenarios", nargs="*", help="scenario files (default: scenarios/*.toml)")
    ap.add_argument("-n", "--iterations", type=int, default=20000)
    ap.add_argument("-s", "--seed", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3, help="pbrsim timings per thread count (best kept)")
    ap.add_argument("--rss", action="store_true",
                    help="also measure peak memory at 10^4, 10^5 and 10^6 iterations")
    ap.add_argument("--rss-scenario", default=os.path.join(REPO, "scenarios", "work_programme.toml"),
                    help="the scenario whose memory --rss measures (default: the Work Programme)")
    ap.add_argument("--volume-iterations", type=int, default=4000,
                    help="iterations of each run of the ten-times-volume table (0: no table)")
    ap.add_argument("--write", metavar="FILE", help="put the tables into FILE between the markers")
    a = ap.parse_args(argv)

    exe = compare.pbrsim_binary()

    lines = [
        f"Measured by `tools/bench/compare_numpy.py --iterations {a.iterations}` {measured_at()}, "
        f"NumPy {np.__version__}, seed {a.seed}:",
        "",
        "| scenario | NumPy | pbrsim, 1 thread | pbrsim, 2 threads | speed-up (1 / 2 threads) "
        f"| to 1% RSE of `{FIGURE}`: NumPy | pbrsim, 1 / 2 threads |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for path in scenarios(a.scenarios):
        name = os.path.basename(path)
        out = tempfile.mkdtemp(prefix="pbr_bench_")
        subprocess.run([exe, "run", path, "-n", str(a.iterations), "--seed", str(a.seed),
                        "--draws", "--out", out, "-q"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        mine = compare.read_draws(os.path.join(out, "draws.csv"))
        sc = pbr_numpy.Scenario(path)
        t0 = time.perf_counter()
        theirs = pbr_numpy.run(sc, a.iterations, a.seed + 7919)
        t_np = time.perf_counter() - t0
        speed = {}
        for threads in (1, 2):
            _, net = compare.time_pbrsim(exe, path, a.iterations, a.seed, threads, repeats=a.repeats)
            speed[threads] = a.iterations / net
        np_speed = a.iterations / t_np
        need_np = iterations_to_1pct(theirs[FIGURE]) if FIGURE in theirs else math.inf
        need_mine = iterations_to_1pct(mine[FIGURE]) if FIGURE in mine else math.inf
        lines.append(
            f"| `{name}` | {np_speed:,.0f} it/s | {speed[1]:,.0f} it/s | {speed[2]:,.0f} it/s "
            f"| {speed[1] / np_speed:.1f}x / {speed[2] / np_speed:.1f}x "
            f"| {seconds(need_np / np_speed)} "
            f"| {seconds(need_mine / speed[1])} / {seconds(need_mine / speed[2])} |"
        )
        print(lines[-1], file=sys.stderr)
    if a.volume_iterations:
        n = a.volume_iterations
        lines += [
            "",
            f"Ten times the volume: time per iteration of each contract made ten times as large "
            f"(referrals, reserves, credit lines, overheads, fixed fees, caps and the other amounts "
            f"of the contract's size, `tables.volume_sets`) against the contract as shipped, "
            f"{n:,} iterations each, pbrsim on 1 thread:",
            "",
            "| scenario | NumPy, as shipped | x10 | growth | pbrsim, as shipped | x10 | growth |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        for path in scenarios(a.scenarios):
            per = {}
            for k in (1, 10):
                sets = volume_sets(path, k) if k != 1 else []
                sc = pbr_numpy.Scenario(path, sets)
                t0 = time.perf_counter()
                pbr_numpy.run(sc, n, a.seed + 7919)
                t_np = time.perf_counter() - t0
                args = [x for o in sets for x in ("--set", o)]
                _, t_mine = compare.time_pbrsim(exe, path, n, a.seed, 1, sets=args, repeats=a.repeats)
                per[k] = (t_np / n, t_mine / n)
            lines.append(
                f"| `{os.path.basename(path)}` | {per[1][0] * 1e6:,.0f} µs | {per[10][0] * 1e6:,.0f} µs "
                f"| {per[10][0] / per[1][0]:.2f}x | {per[1][1] * 1e6:,.0f} µs | {per[10][1] * 1e6:,.0f} µs "
                f"| {per[10][1] / per[1][1]:.2f}x |"
            )
            print(lines[-1], file=sys.stderr)
    if a.rss:
        first = a.rss_scenario
        lines += [
            "",
            f"Peak resident memory of `pbrsim run {os.path.relpath(first, REPO)} -n N -q` "
            "(2 threads, no output files):",
            "",
            "| iterations | peak resident memory | wall time |",
            "| --- | --- | --- |",
        ]
        for n in (10_000, 100_000, 1_000_000):
            mb, wall = peak_rss([exe, "run", first, "-n", str(n), "-q", "--threads", "2"])
            lines.append(f"| {n:,} | {mb:,.1f} MiB | {seconds(wall)} |")
            print(lines[-1], file=sys.stderr)
    table = "\n".join(lines)
    print(table)
    if a.write:
        write_between(a.write, BEGIN, END, table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
