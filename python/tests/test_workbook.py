"""`pbrsim report DIR` (and `run --xlsx`): the workbook, read by openpyxl,
holds every table of the directory with the CSVs' numbers; `pbrsim.report`
writes the command's report."""

import pandas as pd
import pytest

import pbrsim

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
    tables = ["figures", "risk", "allocation", "monthly", "distribution", "draws"]
    book = assert_workbook_holds_the_tables(out, tables)
    # The run's tables first, in the documented order.
    assert list(book)[1:] == tables
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


def test_the_package_writes_the_commands_report(cli, in_root, tmp_path):
    out = tmp_path / "run"
    pbrsim.run("scenarios/minimal.toml", iterations=200, out=out, progress=False)
    cli("report", str(out), "--html")
    by_command = (out / "report.html").read_bytes()
    written = pbrsim.report(out, charts=tmp_path / "charts")
    assert written[0] == out / "report.html" and written[-1] == out / "report.xlsx"
    assert (out / "report.html").read_bytes() == by_command
    svgs = sorted(p.name for p in (tmp_path / "charts").iterdir())
    assert "fan-prime.svg" in svgs and "downside.svg" in svgs
    assert len(written) == len(svgs) + 2
    with pytest.raises(ValueError):
        pbrsim.report(out, html=False, xlsx=False)
    with pytest.raises(ValueError, match="holds no pbrsim tables"):
        pbrsim.report(tmp_path / "charts")
