"""docs/python.md is executed as it stands: every example and its output,
and the API reference is the one the docstrings give."""

import doctest
import importlib.util
import os

from conftest import ROOT

DOC = ROOT / "docs" / "python.md"


def test_every_example_runs_with_the_output_shown(tmp_path, monkeypatch):
    # From a directory that looks like the repository's root, so the
    # chart the example saves lands in tmp_path.
    for name in ("scenarios", "stresses", "sweeps"):
        (tmp_path / name).symlink_to(ROOT / name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    result = doctest.testfile(
        str(DOC), module_relative=False, optionflags=doctest.NORMALIZE_WHITESPACE, report=True
    )
    assert result.attempted > 20, "the examples were not found"
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples in {DOC} failed (see above)"
    assert (tmp_path / "prime_fan.png").stat().st_size > 10_000


def test_api_reference_is_generated_from_the_docstrings():
    spec = importlib.util.spec_from_file_location("api_reference", ROOT / "python" / "tools" / "api_reference.py")
    api = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(api)
    page = DOC.read_text()
    assert page == api.page_with_reference(page), (
        "docs/python.md's API reference is stale: run python python/tools/api_reference.py --write"
    )
