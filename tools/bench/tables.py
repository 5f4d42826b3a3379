"""What the benchmark scripts share: durations as people read them, and
writing a table into a document between two marker lines."""

from __future__ import annotations

import glob
import math
import os
import platform
import subprocess

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
