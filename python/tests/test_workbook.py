"""`pbrsim report DIR` (and `run --xlsx`): the workbook, read by openpyxl,
holds every table of the directory with the CSVs' numbers."""

import pandas as pd
import pytest

from conftest import ROOT


def assert_workbook_holds_the_tables(directory, expected_sheets):
    book = pd.read_excel(directory / "report.xlsx", sheet_name=None, engine="openpyxl")
    assert list(book)[0] == "run"
    assert set(book) == {"run", *expected_sheets}
    for name in expected_sheets:
        csv = pd.read_csv(directory / f"{name}.csv")
        sheet = book[name]
        assert len(sheet) == len(csv) > 0
        pd.testing.assert_frame_equal(sheet, csv, check_exact=True, check_dtype=False)
    return book


def test_a_run_workbook(cli, tmp_path):
    out = tmp_path / "run"
    cli("run", "scenarios/work_programme.toml", "-n", "300", "--draws", "--out", str(out), "--xlsx", "--quiet")
    book = assert_workbook_holds_the_tables(out, ["figures", "risk", "allocation", "monthly", "draws"])
    # The run's tables first, in the documented order.
    assert list(book)[1:] == ["figures", "risk", "allocation", "monthly", "draws"]
    identity = dict(zip(book["run"]["item"], book["run"]["value"]))
    assert identity["scenario"] == "Work Programme: one CPA prime contract"
    assert identity["seed"] == 1 and identity["iterations"] == 300
    assert len(identity["scenario hash"]) == 64


@pytest.mark.parametrize(
    "args, sheets",
    [
        (["stress", "stresses/programme_history.toml", "--only", "volume_15pct_short"], ["stress"]),
        (["sensitivity", "scenarios/supply_chain.toml"], ["tornado", "sobol"]),
        (["compare", "scenarios/work_programme.toml", "--set-b", "uncertainty.volume=0.7"], ["compare"]),
    ],
)
def test_every_command_directory_becomes_a_workbook(cli, tmp_path, args, sheets):
    cli(*args, "-n", "128", "--out", str(tmp_path), "--quiet")
    cli("report", str(tmp_path), "--xlsx")
    assert_workbook_holds_the_tables(tmp_path, sheets)
