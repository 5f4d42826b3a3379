"""The package gives the command's numbers, bit for bit: every shipped
scenario, and every analysis, against the `pbrsim` command's files."""

import json
from pathlib import Path

import pytest

import pbrsim
from conftest import ROOT, assert_same

SCENARIOS = sorted(p.name for p in (ROOT / "scenarios").glob("*.toml"))


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_shipped_scenario_runs_as_the_command_does(name, cli, in_root, tmp_path):
    path = f"scenarios/{name}"
    cli("run", path, "-n", "300", "--seed", "11", "--draws", "--out", str(tmp_path), "--quiet")
    r = pbrsim.run(pbrsim.load(path), iterations=300, seed=11, draws=True, progress=False)
    assert_same(
        r.files,
        {
            "figures.csv": r.figures,
            "risk.csv": r.risk,
            "allocation.csv": r.allocation,
            "monthly.csv": r.monthly,
            "distribution.csv": r.distribution,
            "draws.csv": r.draws,
        },
        tmp_path,
    )
    assert r.summary == json.loads((tmp_path / "summary.json").read_text())
    assert set(r.files) == {
        "summary.json", "figures.csv", "risk.csv", "allocation.csv", "monthly.csv", "distribution.csv", "draws.csv"
    }


def test_overrides_quantiles_and_threads_match_the_command(cli, in_root, tmp_path):
    cli(
        "run", "scenarios/work_programme.toml", "-n", "500", "--seed", "3", "-j", "1",
        "--set", "uncertainty.volume=0.7",
        "--set", "subcontractors.esa_charity.reserves=250000",
        "--quantiles", "0.1,0.5,0.9", "--risk-levels", "0.9",
        "--out", str(tmp_path), "--quiet",
    )
    s = pbrsim.load(
        "scenarios/work_programme.toml",
        set={"uncertainty.volume": 0.7, "subcontractors.esa_charity.reserves": 250000},
    )
    r = pbrsim.run(s, iterations=500, seed=3, threads=2, quantiles=[0.1, 0.5, 0.9], risk_levels=[0.9], progress=False)
    assert_same(r.files, {"figures.csv": r.figures, "risk.csv": r.risk}, tmp_path)
    assert r.draws is None


def test_sobol_sampling_matches_the_command(cli, in_root, tmp_path):
    cli(
        "run", "scenarios/supply_chain.toml", "-n", "640", "--seed", "4",
        "--sampling", "sobol", "--randomisations", "8", "--out", str(tmp_path), "--quiet",
    )
    r = pbrsim.run("scenarios/supply_chain.toml", iterations=640, seed=4, sampling="sobol", randomisations=8, progress=False)
    assert_same(r.files, {"figures.csv": r.figures, "risk.csv": r.risk}, tmp_path)
    assert r.summary["sampling"] == {"method": "sobol", "randomisations": 8}
    assert r.summary == json.loads((tmp_path / "summary.json").read_text())
    with pytest.raises(ValueError, match="sampling"):
        pbrsim.run("scenarios/supply_chain.toml", sampling="quasi")
    with pytest.raises(ValueError, match="randomisations"):
        pbrsim.run("scenarios/supply_chain.toml", sampling="sobol", randomisations=1)


def test_sobol_compare_and_stress_match_the_command(cli, in_root, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    cli(
        "compare", "scenarios/supply_chain.toml", "--set-b", "payments.price_discount=0.15",
        "-n", "320", "--seed", "2", "--sampling", "sobol", "--randomisations", "4", "--out", str(a), "--quiet",
    )
    r = pbrsim.compare(
        "scenarios/supply_chain.toml",
        pbrsim.load("scenarios/supply_chain.toml", set={"payments.price_discount": 0.15}),
        iterations=320, seed=2, sampling="sobol", randomisations=4, progress=False,
    )
    assert_same(r.files, {"compare.csv": r.table}, a)
    cli(
        "stress", "stresses/programme_history.toml", "--only", "volume_15pct_short",
        "-n", "256", "--sampling", "sobol", "--out", str(b), "--quiet",
    )
    s = pbrsim.stress(
        "stresses/programme_history.toml", iterations=256, only=["volume_15pct_short"],
        sampling="sobol", progress=False,
    )
    assert_same(s.files, {"stress.csv": s.table}, b)
    assert "16 independent randomisations" in s.report


def test_report_is_the_printed_one(cli, in_root):
    printed = cli("run", "scenarios/minimal.toml", "-n", "200")
    assert pbrsim.run("scenarios/minimal.toml", iterations=200, progress=False).report == printed


def test_compare(cli, in_root, tmp_path):
    cli(
        "compare", "scenarios/work_programme.toml", "--set-b", "uncertainty.volume=0.7",
        "-n", "400", "--out", str(tmp_path), "--quiet",
    )
    a = pbrsim.load("scenarios/work_programme.toml")
    b = a.copy().set("uncertainty.volume", 0.7)
    c = pbrsim.compare(a, b, iterations=400, progress=False)
    assert_same(c.files, {"compare.csv": c.table}, tmp_path)
    assert a.overrides == [] and b.overrides == ["uncertainty.volume=0.7"]


def test_stress(cli, in_root, tmp_path):
    cli(
        "stress", "stresses/programme_history.toml", "--only", "volume_15pct_short",
        "-n", "256", "--out", str(tmp_path), "--quiet",
    )
    t = pbrsim.stress("stresses/programme_history.toml", iterations=256, only=["volume_15pct_short"], progress=False)
    assert_same(t.files, {"stress.csv": t.table}, tmp_path)
    assert len(t.table) > 0


def test_sensitivity(cli, in_root, tmp_path):
    cli(
        "sensitivity", "scenarios/work_programme.toml", "--statistic", "prime.net",
        "--statistic", "commissioner.cost_per_attributable_outcome",
        "-n", "256", "--out", str(tmp_path), "--quiet",
    )
    t = pbrsim.sensitivity(
        "scenarios/work_programme.toml",
        ["prime.net", "commissioner.cost_per_attributable_outcome"],
        iterations=256,
        progress=False,
    )
    assert_same(t.files, {"tornado.csv": t.tornado, "sobol.csv": t.sobol}, tmp_path)
    only = pbrsim.sensitivity("scenarios/work_programme.toml", iterations=128, method="tornado", progress=False)
    assert only.sobol is None and len(only.tornado) > 0


def test_evidence(cli, in_root, tmp_path):
    cli("evidence", "scenarios/supply_chain.toml", "-n", "256", "--out", str(tmp_path), "--quiet")
    t = pbrsim.evidence("scenarios/supply_chain.toml", iterations=256, progress=False)
    assert_same(t.files, {"evidence.csv": t.table}, tmp_path)


def test_solve(cli, in_root, tmp_path):
    args = [
        "solve", "scenarios/work_programme.toml", "--vary", "subcontractors.esa_charity.reserves",
        "--between", "0", "1000000", "--statistic", "esa_charity.failed", "--target", "0.05",
        "-n", "256", "--out", str(tmp_path), "--quiet",
    ]
    cli(*args)
    t = pbrsim.solve(
        "scenarios/work_programme.toml",
        "subcontractors.esa_charity.reserves",
        (0, 1_000_000),
        "esa_charity.failed",
        0.05,
        iterations=256,
        progress=False,
    )
    assert_same(t.files, {"solve.csv": t.table, "solve_path.csv": t.path}, tmp_path)
    assert t.found


def test_solve_and_tornado_on_sobol_points(cli, in_root, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    cli(
        "solve", "scenarios/supply_chain.toml", "--vary", "subcontractors.partner_b.reserves",
        "--between", "0", "500000", "--statistic", "partner_b.failed", "--target", "0.3",
        "-n", "256", "--sampling", "sobol", "--out", str(a), "--quiet",
    )
    t = pbrsim.solve(
        "scenarios/supply_chain.toml", "subcontractors.partner_b.reserves", (0, 500_000),
        "partner_b.failed", 0.3, iterations=256, sampling="sobol", progress=False,
    )
    assert_same(t.files, {"solve.csv": t.table, "solve_path.csv": t.path}, a)
    assert list(t.table["sampling"]) == ["sobol"]
    cli(
        "sensitivity", "scenarios/supply_chain.toml", "--method", "tornado", "-n", "128",
        "--sampling", "sobol", "--randomisations", "4", "--out", str(b), "--quiet",
    )
    s = pbrsim.sensitivity(
        "scenarios/supply_chain.toml", iterations=128, method="tornado", sampling="sobol",
        randomisations=4, progress=False,
    )
    assert_same(s.files, {"tornado.csv": s.tornado}, b)
    with pytest.raises(ValueError, match="tornado"):
        pbrsim.sensitivity("scenarios/supply_chain.toml", sampling="sobol")


def test_sweep(cli, in_root, tmp_path):
    cli("sweep", "sweeps/work_programme_esa_charity.toml", "-n", "128", "--out", str(tmp_path / "cli"), "--quiet")
    t = pbrsim.sweep("sweeps/work_programme_esa_charity.toml", iterations=128, progress=False)
    assert_same(t.files, {"sweep.csv": t.table}, tmp_path / "cli")
    cli(
        "sweep", "sweeps/work_programme_esa_charity.toml", "-n", "128", "--sampling", "sobol",
        "--randomisations", "4", "--out", str(tmp_path / "sobol"), "--quiet",
    )
    q = pbrsim.sweep(
        "sweeps/work_programme_esa_charity.toml", iterations=128, sampling="sobol", randomisations=4,
        progress=False,
    )
    assert_same(q.files, {"sweep.csv": q.table}, tmp_path / "sobol")
    assert q.files["sweep.csv"] != t.files["sweep.csv"]


def test_results_do_not_depend_on_threads(in_root):
    s = pbrsim.load("scenarios/supply_chain.toml")
    one = pbrsim.run(s, iterations=640, seed=5, threads=1, progress=False)
    two = pbrsim.run(s, iterations=640, seed=5, threads=2, progress=False)
    assert one.files == two.files


def test_out_writes_the_command_files(in_root, tmp_path):
    r = pbrsim.run("scenarios/minimal.toml", iterations=100, out=tmp_path / "o", progress=False)
    written = {p.name: p.read_text() for p in Path(tmp_path / "o").iterdir()}
    assert written == r.files


def test_design(cli, tmp_path):
    design = tmp_path / "d.toml"
    design.write_text(
        f'scenario = "{ROOT / "scenarios" / "minimal.toml"}"\n'
        "confidence = 0.95\niterations = [128, 512]\n"
        '[list]\n"payments.price_discount" = [0.0, 0.05, 0.1, 0.3]\n'
        '[objective]\nminimise = "commissioner.paid.total"\n'
        '[[constraints]]\nevent = "prime.net < 0"\nat_most = 0.2\n'
    )
    cli("design", str(design), "--out", str(tmp_path / "cli"), "--quiet")
    d = pbrsim.design(design, progress=False)
    assert_same(d.files, {"design.csv": d.table, "pareto.csv": d.pareto}, tmp_path / "cli")
    assert set(d.table["status"]) <= {"best", "feasible", "infeasible", "dominated", "too close to call"}
    assert len(d.table) == 4
