"""Shared fixtures: the repository, and the `pbrsim` command to check the
package against."""

import os
import subprocess
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]


def cli_path() -> Path:
    """The command built from the same source (``PBRSIM_BIN``, else the
    repository's release build)."""
    return Path(os.environ.get("PBRSIM_BIN", ROOT / "target" / "release" / "pbrsim"))


@pytest.fixture(scope="session")
def cli():
    """Runs the command in the repository root; returns its stdout."""
    path = cli_path()
    if not path.exists():
        pytest.fail(f"{path} not found: build it with `cargo build --release` or set PBRSIM_BIN")

    def call(*args: str) -> str:
        done = subprocess.run([str(path), *args], cwd=ROOT, capture_output=True, text=True)
        assert done.returncode == 0, f"pbrsim {' '.join(args)} failed:\n{done.stderr}"
        return done.stdout

    return call


@pytest.fixture
def in_root(monkeypatch):
    """Relative paths resolve as the command's do: from the repository."""
    monkeypatch.chdir(ROOT)
    return ROOT


def assert_same(files: dict, frames: dict, directory: Path):
    """The package's files are the command's, byte for byte, and each data
    frame equals the command's CSV read by pandas, exactly."""
    for name, text in files.items():
        assert text == (directory / name).read_text(), f"{name} differs from the command's"
    for name, frame in frames.items():
        pd.testing.assert_frame_equal(frame, pd.read_csv(directory / name), check_exact=True)
