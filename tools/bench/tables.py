"""What the benchmark scripts share: durations as people read them, and
writing a table into a document between two marker lines."""

from __future__ import annotations

import glob
import math
import os
import platform
import subprocess
import tomllib

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def scenarios(given):
    """The scenario files given, or every shipped one."""
    return given or sorted(glob.glob(os.path.join(REPO, "scenarios", "*.toml")))


def measured_at():
    """'at commit C on N cores (machine)': where a table was measured."""
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO,
                            capture_output=True, text=True).stdout.strip() or "unknown"
    return f"at commit {commit} on {os.cpu_count()} cores ({platform.processor() or platform.machine()})"


def seconds(t):
    """A duration in ms, s or min; '-' when unknown or infinite."""
    if math.isinf(t) or math.isnan(t):
        return "-"
    if t < 1:
        return f"{t * 1000:,.0f} ms"
    return f"{t:,.1f} s" if t < 600 else f"{t / 60:,.0f} min"


def write_between(path, begin, end, table):
    """Replaces what `path` holds between the lines `begin` and `end` by
    `table`, through a temporary file and a rename."""
    text = open(path).read()
    if begin not in text or end not in text:
        raise SystemExit(f"{path}: no {begin} ... {end} lines to write between")
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(head + begin + "\n" + table + "\n" + end + tail)
    os.replace(tmp, path)


# Keys that measure the contract's size rather than one participant: scaled
# with the referrals, the parties of a contract ten times as large behave as
# those of the shipped one (the same chance of failing, the same caps
# binding). Prices, unit costs, rates and lags are per participant or per
# month and stay.
CONTRACT_SIZE = {
    "referrals_per_month", "reserves", "credit_line", "overhead_per_month",
    "monthly_fee", "service_fee_per_month", "cap_per_year", "cap_total",
    "committed_capital", "annual_fee", "baseline_referrals_per_year",
    "own_costs_per_month", "reprocurement_cost",
}


def volume_sets(path, k):
    """`--set PATH=VALUE` overrides that make `path`'s contract `k` times as
    large: its referrals and every amount of the contract's size
    (`CONTRACT_SIZE`, a termination payment, an additional-outcome rule's
    baseline count) times `k`."""
    with open(path, "rb") as f:
        tree = tomllib.load(f)
    sets = []

    def scaled(x):
        return x * k if isinstance(x, float) or x * k != int(x * k) else int(x * k)

    def walk(x, keys):
        name = keys[-1] if keys else ""
        dotted = ".".join(keys)
        sizes = (name in CONTRACT_SIZE and "lag_months" not in keys) or dotted == "termination.payment" \
            or (dotted.startswith("payments.additional_outcomes[") and name == "baseline")
        if isinstance(x, dict):
            if "dist" in x:
                if sizes:
                    sets.append(f"{dotted}.scale={k}")
                return
            for key, v in x.items():
                walk(v, keys + [key])
        elif isinstance(x, list):
            if sizes and x and all(isinstance(e, (int, float)) for e in x):
                sets.append(f"{dotted}=[{', '.join(repr(scaled(e)) for e in x)}]")
            else:
                for i, e in enumerate(x):
                    walk(e, keys[:-1] + [f"{keys[-1]}[{i}]", ])
        elif isinstance(x, (int, float)) and not isinstance(x, bool) and sizes:
            sets.append(f"{dotted}={scaled(x)!r}")

    walk(tree, [])
    return sets
