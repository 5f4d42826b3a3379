#!/usr/bin/env python3
"""Compare pbrsim with the independent NumPy reference model, in distribution.

For one scenario, runs pbrsim (writing draws.csv) and pbr_numpy.py with the
same number of iterations, then for every figure both produce:

  * means: two-sample z-test, z = (m1 - m2) / sqrt(se1^2 + se2^2);
    a figure disagrees when |z| > 4.5;
  * probabilities (`*.failed`, `*.loss`): the same test on proportions, with
    se = sqrt(p (1 - p) / n) (pooled when both samples are constant);
  * money figures, parameter draws and ratios (`relative_improvement`,
    `money_multiple`, `irr`): also a two-sample Kolmogorov-Smirnov test; a
    figure disagrees when its p-value < 1e-4.

`failure_month` and the ratios are compared over the iterations in which they
are defined (not NaN); the share of iterations in which a figure is defined
is compared as a proportion (|z| > 4.5 disagrees).
It also times both implementations on the same work and prints iterations
per second. Exits 1 if any figure disagrees.

    python3 tools/reference/compare.py scenarios/work_programme.toml --iterations 20000
"""

from __future__ import annotations

import argparse
import csv
import fnmatch
import math
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import pbr_numpy  # noqa: E402

Z_LIMIT = 4.5
KS_ALPHA = 1e-4
COUNT_FIGURES = {
    "commissioner.referrals", "commissioner.outcomes", "commissioner.counterfactual_outcomes",
    "commissioner.attributable_outcomes", "commissioner.outcome_months",
    "commissioner.attributable_outcome_months", "commissioner.adverse_events",
    "commissioner.people_with_event", "commissioner.counterfactual_adverse_events",
    "commissioner.adverse_events_avoided",
}
# ratios defined only in some iterations (NaN otherwise): z-test and KS over the
# iterations where both define them, plus a test on the share defined
RATIO_SUFFIXES = (".relative_improvement", ".money_multiple", ".irr", ".level")
NON_FIGURES = {"iteration", "scenario_hash", "seed", "iterations", "pbrsim_version"}

try:
    from scipy import stats as _stats
except ImportError:  # pragma: no cover
    _stats = None


def kind_of(name: str) -> str:
    if name.endswith((".failed", ".loss", ".met", ".terminated", ".below_minimum")):
        return "prob"
    if name.endswith(RATIO_SUFFIXES):
        return "ratio"
    if name.endswith((".failure_month", ".termination_month")):
        return "month"
    if name in COUNT_FIGURES:
        return "count"
    if name.startswith("draw."):
        return "draw"
    return "money"


def ks_test(x, y):
    """Two-sample KS: (D, p-value). scipy if available, else asymptotic."""
    if _stats is not None:
        r = _stats.ks_2samp(x, y)
        return float(r.statistic), float(r.pvalue)
    x, y = np.sort(x), np.sort(y)
    allv = np.concatenate([x, y])
    d = np.max(np.abs(np.searchsorted(x, allv, "right") / len(x)
                      - np.searchsorted(y, allv, "right") / len(y)))
    ne = len(x) * len(y) / (len(x) + len(y))
    lam = (math.sqrt(ne) + 0.12 + 0.11 / math.sqrt(ne)) * d
    p = 2 * sum((-1) ** (k - 1) * math.exp(-2 * k * k * lam * lam) for k in range(1, 101))
    return float(d), min(1.0, max(0.0, p))


def ks_critical(n1, n2, alpha=KS_ALPHA):
    return math.sqrt(-math.log(alpha / 2) / 2) * math.sqrt((n1 + n2) / (n1 * n2))


def mean_se(x, prob=False):
    n = len(x)
    if n == 0:
        return float("nan"), float("nan"), 0
    m = float(np.mean(x))
    if prob:
        se = math.sqrt(m * (1 - m) / n)
    else:
        se = float(np.std(x, ddof=1)) / math.sqrt(n) if n > 1 else float("nan")
    return m, se, n


def compare_figure(name, a, b):
    """a: pbrsim draws, b: numpy draws (1-d float arrays, NaN = missing)."""
    k = kind_of(name)
    n1all, n2all = len(a), len(b)
    a = a[~np.isnan(a)]
    b = b[~np.isnan(b)]
    row = {"figure": name, "kind": k, "n1": len(a), "n2": len(b)}
    # share of iterations in which the figure is defined (not NaN): a proportion test
    dz = 0.0
    if (len(a) < n1all or len(b) < n2all) and n1all and n2all:
        p1, p2 = len(a) / n1all, len(b) / n2all
        pp = (len(a) + len(b)) / (n1all + n2all)
        sd = math.sqrt(pp * (1 - pp) * (1 / n1all + 1 / n2all))
        dz = (p1 - p2) / sd if sd > 0 else (0.0 if p1 == p2 else float("inf"))
    row["defined_z"] = dz
    m1, s1, _ = mean_se(a, k == "prob")
    m2, s2, _ = mean_se(b, k == "prob")
    row.update(m1=m1, se1=s1, m2=m2, se2=s2, z=float("nan"), D=float("nan"),
               p=float("nan"), ok=True, note="")
    if abs(dz) > Z_LIMIT:
        row["ok"] = False
        row["note"] = f"share defined {len(a) / n1all:.4f} vs {len(b) / n2all:.4f}, z {dz:.2f}"
    if len(a) < 2 or len(b) < 2:
        row["note"] = (row["note"] + "; " if row["note"] else "") + "too few values"
        return row
    se = math.sqrt(s1 * s1 + s2 * s2)
    if k == "prob" and se == 0:
        pp = (m1 * len(a) + m2 * len(b)) / (len(a) + len(b))
        se = math.sqrt(pp * (1 - pp) * (1 / len(a) + 1 / len(b)))
    scale = max(1.0, abs(m1), abs(m2))
    if se == 0 or se < 1e-12 * scale:
        same = abs(m1 - m2) <= 1e-9 * scale
        row["z"] = 0.0 if same else float("inf")
        row["ok"] = row["ok"] and same
        row["note"] = (row["note"] + "; " if row["note"] else "") + "constant"
    else:
        row["z"] = (m1 - m2) / se
        row["ok"] = row["ok"] and abs(row["z"]) <= Z_LIMIT
    if k in ("money", "draw", "ratio") and "constant" not in row["note"]:
        # snap both samples to 10 significant digits of their common scale, so that a
        # mass point computed in a different floating-point order (an NPV of fixed
        # flows, say) is one value in both and does not make a spurious KS step
        big = max(float(np.max(np.abs(a))), float(np.max(np.abs(b))), 1e-300)
        dec = 9 - int(math.floor(math.log10(big)))
        row["D"], row["p"] = ks_test(np.round(a, dec), np.round(b, dec))
        if row["p"] < KS_ALPHA:
            row["ok"] = False
    return row


def compare_draw_correlations(A, B, names):
    """Pearson correlation of every pair of parameter draws (the copula), compared
    with Fisher's z: z = (atanh r1 - atanh r2) / sqrt(1/(n1-3) + 1/(n2-3))."""
    rows = []
    draws = [k for k in names if k.startswith("draw.") and np.std(A[k]) > 0 and np.std(B[k]) > 0]
    for i, x in enumerate(draws):
        for y in draws[i + 1:]:
            r1 = float(np.corrcoef(A[x], A[y])[0, 1])
            r2 = float(np.corrcoef(B[x], B[y])[0, 1])
            n1, n2 = len(A[x]), len(B[x])
            if abs(r1) > 1 - 1e-9 or abs(r2) > 1 - 1e-9:
                z = 0.0 if abs(r1 - r2) < 1e-6 else float("inf")
            else:
                z = (math.atanh(r1) - math.atanh(r2)) / math.sqrt(1 / (n1 - 3) + 1 / (n2 - 3))
            if abs(r1) < 1e-3 and abs(r2) < 1e-3:
                continue
            rows.append({"pair": f"corr({x}, {y})", "r1": r1, "r2": r2, "z": z,
                         "ok": abs(z) <= Z_LIMIT})
    return rows


def read_draws(path):
    with open(path, newline="") as f:
        rd = csv.reader(f)
        head = next(rd)
        cols = [[] for _ in head]
        for r in rd:
            for i, v in enumerate(r):
                cols[i].append(v)
    out = {}
    for h, c in zip(head, cols):
        if h in NON_FIGURES:
            continue
        try:
            out[h] = np.array([float(v) if v not in ("", "NaN", "nan") else np.nan for v in c])
        except ValueError:
            pass
    return out


def pbrsim_binary():
    exe = os.path.join(REPO, "target", "release", "pbrsim")
    if not os.path.exists(exe):
        print("building pbrsim (cargo build --release) ...", file=sys.stderr)
        subprocess.run(["cargo", "build", "--release"], cwd=REPO, check=True)
    return exe


def time_pbrsim(exe, scen, n, seed, threads, sets=(), repeats=3):
    """Best wall time of `pbrsim run` without output files, minus process start-up
    and scenario loading (estimated by a 1-iteration run)."""
    def once(iters):
        t0 = time.perf_counter()
        subprocess.run([exe, "run", scen, "-n", str(iters), "--seed", str(seed),
                        "--threads", str(threads), "-q"] + list(sets), check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return time.perf_counter() - t0
    base = min(once(1) for _ in range(repeats))
    full = min(once(n) for _ in range(repeats))
    return full, max(full - base, 1e-9)


def fmt(x, w=14):
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return f"{'-':>{w}}"
    if isinstance(x, float) and math.isinf(x):
        return f"{'inf':>{w}}"
    ax = abs(x)
    if ax != 0 and (ax >= 1e7 or ax < 1e-3):
        return f"{x:>{w}.4g}"
    return f"{x:>{w},.3f}"


def main(argv=None):
    ap = argparse.ArgumentParser(description="pbrsim vs NumPy reference model")
    ap.add_argument("scenario")
    ap.add_argument("-n", "--iterations", type=int, default=20000)
    ap.add_argument("-s", "--seed", type=int, default=1)
    ap.add_argument("--figures", help="comma-separated figure names or globs (default: all common)")
    ap.add_argument("--threads", default="1,2",
                    help="pbrsim thread counts to time (comma-separated; '' to skip timing)")
    ap.add_argument("--chunk", type=int, default=5000, help="NumPy iterations per batch")
    ap.add_argument("--set", action="append", default=[], metavar="PATH=VALUE",
                    help="override a scenario value in both implementations (repeatable)")
    ap.add_argument("--keep", help="directory to keep pbrsim output and numpy draws in")
    ap.add_argument("--all-rows", action="store_true", help="print agreeing rows too (default)")
    ap.add_argument("--only-failures", action="store_true", help="print only disagreeing rows")
    a = ap.parse_args(argv)

    scen = os.path.abspath(a.scenario)
    sets = [x for o in a.set for x in ("--set", o)]
    exe = pbrsim_binary()
    outdir = a.keep or tempfile.mkdtemp(prefix="pbr_compare_")
    os.makedirs(outdir, exist_ok=True)

    t0 = time.perf_counter()
    proc = subprocess.run([exe, "run", scen, "-n", str(a.iterations), "--seed", str(a.seed),
                           "--out", outdir, "--draws", "-q"] + sets,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    t_pbr_draws = time.perf_counter() - t0
    if proc.returncode != 0:
        print(f"pbrsim failed (exit {proc.returncode}):\n{proc.stderr}", file=sys.stderr)
        return 2
    A = read_draws(os.path.join(outdir, "draws.csv"))

    sc = pbr_numpy.Scenario(scen, a.set)
    t0 = time.perf_counter()
    B = pbr_numpy.run(sc, a.iterations, a.seed + 7919, a.chunk)
    t_np = time.perf_counter() - t0
    if a.keep:
        pbr_numpy.write_csv(os.path.join(outdir, "numpy_draws.csv"), B)

    common = [k for k in A if k in B]
    if a.figures:
        pats = [p.strip() for p in a.figures.split(",") if p.strip()]
        common = [k for k in common if any(fnmatch.fnmatchcase(k, p) for p in pats)]
    only_a = [k for k in A if k not in B]
    only_b = [k for k in B if k not in A]

    rows = [compare_figure(k, A[k], B[k]) for k in common]
    bad = [r for r in rows if not r["ok"]]

    print(f"\n{sc.name}  ({os.path.relpath(scen, REPO)})  N = {a.iterations}, seed {a.seed}")
    print(f"tests: |z| > {Z_LIMIT} on means/proportions; KS p < {KS_ALPHA:g} on money and draws "
          f"(KS critical D at alpha {KS_ALPHA:g}: {ks_critical(a.iterations, a.iterations):.4f})")
    fw = max([46] + [len(r["figure"]) for r in rows])
    hdr = (f"{'figure':{fw}s} {'kind':5s} {'pbrsim mean':>14s} {'(SE)':>11s} "
           f"{'numpy mean':>14s} {'(SE)':>11s} {'z':>7s} {'KS D':>7s} {'KS p':>8s}  verdict")
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        if a.only_failures and r["ok"]:
            continue
        z = r["z"]
        zs = f"{z:7.2f}" if not math.isnan(z) and not math.isinf(z) else f"{'-' if math.isnan(z) else 'inf':>7s}"
        ds = f"{r['D']:7.4f}" if not math.isnan(r["D"]) else f"{'-':>7s}"
        ps = f"{r['p']:8.1e}" if not math.isnan(r["p"]) else f"{'-':>8s}"
        verdict = "ok" if r["ok"] else "DISAGREE"
        if r["note"]:
            verdict += f" ({r['note']})"
        print(f"{r['figure']:{fw}s} {r['kind']:5s} {fmt(r['m1'])} {fmt(r['se1'], 11)} "
              f"{fmt(r['m2'])} {fmt(r['se2'], 11)} {zs} {ds} {ps}  {verdict}")
    print("-" * len(hdr))
    crows = compare_draw_correlations(A, B, common)
    seen = set()
    shown = 0
    for c in crows:
        # identical draw columns (e.g. macro years sharing one draw) repeat; show each pattern once
        key = (round(c["r1"], 6), round(c["r2"], 6))
        if c["ok"] and (a.only_failures or key in seen):
            continue
        seen.add(key)
        shown += 1
        print(f"{c['pair']:67s} {c['r1']:8.4f} {'':15s}{c['r2']:8.4f} {'':11s}{c['z']:7.2f} "
              f"{'':17s} {'ok' if c['ok'] else 'DISAGREE'}")
    if shown:
        print("-" * len(hdr))
    cbad = [c for c in crows if not c["ok"]]
    n_ks = sum(1 for r in rows if not math.isnan(r["p"]))
    print(f"{len(rows)} figures compared ({n_ks} also by KS): {len(rows) - len(bad)} agree, "
          f"{len(bad)} disagree")
    if crows:
        print(f"{len(crows)} correlations between parameter draws compared (Fisher z, |z| > {Z_LIMIT}): "
              f"{len(crows) - len(cbad)} agree, {len(cbad)} disagree")
    if only_a:
        print("only in pbrsim (not compared): " + ", ".join(only_a))
    if only_b:
        print("only in numpy (not compared): " + ", ".join(only_b))

    # ---- timing
    print(f"\ntiming, {a.iterations} iterations:")
    print(f"  pbrsim (default threads, with --out --draws, incl. process start): "
          f"{t_pbr_draws:7.2f} s  {a.iterations / t_pbr_draws:>12,.0f} it/s")
    for th in [x for x in a.threads.split(",") if x.strip()]:
        full, net = time_pbrsim(exe, scen, a.iterations, a.seed, int(th), sets)
        print(f"  pbrsim --threads {th} (no output files): {full:7.2f} s wall, "
              f"{net:7.2f} s net of start-up  {a.iterations / net:>12,.0f} it/s")
    print(f"  numpy (simulation only, 1 thread, batches of {a.chunk}): {t_np:7.2f} s  "
          f"{a.iterations / t_np:>12,.0f} it/s")
    return 1 if bad or cbad else 0


if __name__ == "__main__":
    sys.exit(main())
