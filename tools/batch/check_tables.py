"""Checks that a sweep's tables load as researchers load them.

    python3 tools/batch/check_tables.py OUT_DIR

Reads OUT_DIR/sweep.parquet with pandas (pyarrow) and OUT_DIR/sweep.csv
with pandas, and fails unless they hold the same rows, the same columns
and the same values (numbers to the last bit, empty cells as nulls).
"""

import sys
from pathlib import Path

import numpy as np
import pandas as pd


def main(out: Path) -> int:
    parquet = pd.read_parquet(out / "sweep.parquet")
    csv = pd.read_csv(out / "sweep.csv", keep_default_na=False, na_values=[""])
    problems = []
    if list(parquet.columns) != list(csv.columns):
        problems.append(f"columns differ: {list(parquet.columns)} vs {list(csv.columns)}")
    elif len(parquet) != len(csv):
        problems.append(f"{len(parquet)} Parquet rows, {len(csv)} CSV rows")
    else:
        for c in parquet.columns:
            a, b = parquet[c], csv[c]
            if pd.api.types.is_numeric_dtype(a) and pd.api.types.is_numeric_dtype(b):
                x, y = a.to_numpy(dtype=float), b.to_numpy(dtype=float)
                same = (x == y) | (np.isnan(x) & np.isnan(y))
            else:
                same = a.astype(str).to_numpy() == b.astype(str).to_numpy()
            if not same.all():
                i = int(np.argmin(same))
                problems.append(f"column {c!r} differs at row {i}: {a.iloc[i]!r} vs {b.iloc[i]!r}")
    points = parquet["point"].nunique() if "point" in parquet else 0
    if problems:
        print(f"{out}: " + "; ".join(problems))
        return 1
    print(f"{out}: sweep.parquet and sweep.csv agree ({len(parquet)} rows, {points} points, {len(parquet.columns)} columns)")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
