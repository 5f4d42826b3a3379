"""Bad input raises a Python exception that says where and what, never a
Rust panic: file, line, column, key and suggestion, one entry per
problem."""

import pytest

import pbrsim
from conftest import ROOT

MINIMAL = (ROOT / "scenarios" / "minimal.toml").read_text()


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_misspelled_key_in_a_file(tmp_path):
    text = MINIMAL.replace("referrals_per_month = 50", "referals_per_month = 50")
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(pbrsim.ScenarioError) as e:
        pbrsim.load(path)
    [p] = e.value.problems
    assert p.file == str(path)
    assert (p.line, p.column) == (line_of(text, "referals_per_month"), 1)
    assert p.key == "segments.jobseekers.referals_per_month"
    assert p.help == "did you mean `referrals_per_month`?"
    assert isinstance(e.value, ValueError)
    assert f"{path}:{p.line}:1: unknown key" in str(e.value)


def test_every_problem_is_an_entry(tmp_path):
    text = MINIMAL.replace("dropout = 0.05", "dropout = 1.5").replace("baseline_hazard = 0.03", "baseline_hazard = -1")
    with pytest.raises(pbrsim.ScenarioError) as e:
        pbrsim.Scenario.from_toml(text, "two.toml")
    problems = {p.key: p for p in e.value.problems}
    assert set(problems) == {
        "segments.jobseekers.sustained.dropout",
        "segments.jobseekers.sustained.baseline_hazard",
    }
    dropout = problems["segments.jobseekers.sustained.dropout"]
    assert (dropout.file, dropout.line, dropout.column) == ("two.toml", line_of(text, "dropout = 1.5"), 11)
    assert "[0, 1], got 1.5" in dropout.message


def test_set_is_validated_like_the_command_and_changes_nothing_when_refused():
    s = pbrsim.load(ROOT / "scenarios" / "minimal.toml")
    before = (s.hash, s.overrides)
    with pytest.raises(pbrsim.ScenarioError) as e:
        s.set("segments.jobseekers.sustained.dropout", 1.5)
    [p] = e.value.problems
    assert p.file == "--set segments.jobseekers.sustained.dropout=1.5"
    assert p.key == "segments.jobseekers.sustained.dropout"
    with pytest.raises(pbrsim.ScenarioError) as e:
        s.set("segments.jobseekers.referals_per_month", 60)
    assert "referrals_per_month" in (e.value.problems[0].help or "")
    assert (s.hash, s.overrides) == before
    s.set("segments.jobseekers.referrals_per_month", 60)
    assert s.overrides == ["segments.jobseekers.referrals_per_month=60"] and s.hash != before[0]


def test_from_dict_names_the_key():
    import tomllib

    data = tomllib.loads(MINIMAL)
    data["segments"]["jobseekers"]["tariff"]["outcom"] = 1000.0
    del data["segments"]["jobseekers"]["tariff"]["outcome"]
    with pytest.raises(pbrsim.ScenarioError) as e:
        pbrsim.Scenario.from_dict(data)
    [p] = e.value.problems
    assert p.file == "<dict>" and p.key == "segments.jobseekers.tariff.outcom"
    assert p.help == "did you mean `outcome`?"


def test_from_dict_round_trips_a_file():
    import tomllib

    a = pbrsim.Scenario.from_dict(tomllib.loads(MINIMAL))
    b = pbrsim.Scenario.from_toml(MINIMAL)
    ra = pbrsim.run(a, iterations=128, progress=False)
    rb = pbrsim.run(b, iterations=128, progress=False)
    assert ra.figures.equals(rb.figures.assign(scenario_hash=ra.figures["scenario_hash"]))


def test_values_python_cannot_write_in_a_scenario():
    s = pbrsim.load(ROOT / "scenarios" / "minimal.toml")
    with pytest.raises(TypeError, match="cannot write a"):
        s.set("uncertainty.volume", object())
    with pytest.raises(TypeError, match="keys must be strings"):
        s.set("uncertainty.volume", {1: 2})


def test_missing_file():
    with pytest.raises(OSError, match="no_such.toml"):
        pbrsim.load("no_such.toml")


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"iterations": 0}, "iterations"),
        ({"iterations": 2.5}, "iterations"),
        ({"seed": -1}, "seed"),
        ({"threads": -2}, "threads"),
        ({"quantiles": [0.5, 1.5]}, "in \\(0, 1\\)"),
        ({"quantiles": [0.05, 0.0501]}, "both are column p5"),
        ({"risk_levels": [0.95, 0.95]}, "given twice"),
    ],
)
def test_bad_run_settings(kwargs, match):
    s = pbrsim.load(ROOT / "scenarios" / "minimal.toml")
    with pytest.raises(ValueError, match=match):
        pbrsim.run(s, progress=False, **kwargs)


def test_unknown_statistic_has_a_suggestion():
    with pytest.raises(ValueError, match="prime.net"):
        pbrsim.sensitivity(ROOT / "scenarios" / "work_programme.toml", "prime.nett", iterations=64, progress=False)


def test_solve_checks_its_range_before_running():
    with pytest.raises(ValueError, match="low end must be below the high end"):
        pbrsim.solve(
            ROOT / "scenarios" / "work_programme.toml",
            "subcontractors.esa_charity.reserves",
            (10, 1),
            "esa_charity.failed",
            0.05,
            progress=False,
        )


def test_unknown_stress_name_is_suggested():
    with pytest.raises(ValueError, match="did you mean"):
        pbrsim.stress(ROOT / "stresses" / "programme_history.toml", only=["volume_15pct_shrt"], progress=False)
