"""pbrsim: Monte Carlo simulation of payment-by-results contracts.

The engine of the ``pbrsim`` command, in-process: load a scenario, change
it, run it, and get every table the command writes as a pandas data frame,
with the same numbers bit for bit.

>>> import pbrsim
>>> s = pbrsim.load("scenarios/work_programme.toml")        # doctest: +SKIP
>>> r = pbrsim.run(s, iterations=2_000, seed=1)             # doctest: +SKIP
>>> r.figures.query("party == 'prime' and figure == 'net'") # doctest: +SKIP

Long runs release the GIL, show a progress bar (``progress=False`` turns
it off) and stop on Ctrl-C, raising ``KeyboardInterrupt`` before anything
is written. Bad scenarios raise :class:`ScenarioError`, with every problem's
file, line, column, key and suggestion.

The scenario format, the model and every column are documented in the
project's ``docs/`` (``scenario-format.md``, ``model.md``, ``outputs.md``);
this package is described in ``docs/python.md``.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

import pandas as pd

from . import _native
from ._errors import Problem, ScenarioError

__all__ = [
    "Scenario",
    "Result",
    "Tables",
    "Analysis",
    "Sensitivity",
    "Design",
    "Solution",
    "ScenarioError",
    "Problem",
    "load",
    "run",
    "compare",
    "stress",
    "sensitivity",
    "evidence",
    "solve",
    "sweep",
    "design",
    "report",
    "__version__",
]

__version__: str = _native.VERSION

PathLike = Union[str, "os.PathLike[str]"]
Progress = Union[bool, Callable[[int, int], Any]]

#: Quantile levels reported for every figure, as the command's default.
QUANTILES: Tuple[float, ...] = (0.05, 0.5, 0.95)
#: Levels of value at risk and expected shortfall, as the command's default.
RISK_LEVELS: Tuple[float, ...] = (0.95, 0.99)
#: The most iterations one run takes, as on the command line.
MAX_ITERATIONS = 100_000_000
#: The most worker threads, as on the command line.
MAX_THREADS = 1024


class Scenario:
    """A validated scenario: its text, where it came from, and overrides.

    Build one with :func:`load`, :meth:`from_dict` or :meth:`from_toml`.
    Every change (:meth:`set`) is validated at once, exactly like the
    command's ``--set``: a bad value raises :class:`ScenarioError` and
    leaves the scenario as it was.
    """

    def __init__(self, text: str, origin: str = "<text>", overrides: Iterable[Tuple[str, str]] = ()):
        self._text = str(text)
        self._origin = str(origin)
        self._overrides: List[Tuple[str, str]] = [(str(p), str(v)) for p, v in overrides]
        self._name, self._origin, self._hash = _native.check(self._native())

    def _native(self) -> Tuple[str, str, List[Tuple[str, str]]]:
        return (self._text, self._origin, list(self._overrides))

    @classmethod
    def from_file(cls, path: Optional[PathLike] = None) -> "Scenario":
        """Reads and validates a scenario file (TOML); without a path, the
        built-in example contract the command runs by default."""
        text, origin = _native.read_scenario(None if path is None else os.fspath(path))
        return cls(text, origin)

    @classmethod
    def from_toml(cls, text: str, origin: str = "<text>") -> "Scenario":
        """Validates scenario text; ``origin`` names it in errors."""
        return cls(text, origin)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], origin: str = "<dict>") -> "Scenario":
        """A scenario from nested dictionaries, keyed as the file is
        (``{"name": ..., "time": {...}, "segments": {...}}``).

        Errors name ``origin`` and the key at fault; their line and column
        refer to the TOML text the dictionary becomes (:attr:`text`).
        """
        return cls(_native.toml_document(dict(data)), origin)

    def set(self, path: str, value: Any) -> "Scenario":
        """Sets the key at dotted ``path`` to ``value`` (validated like
        ``--set``) and returns the scenario, so calls chain.

        Numbers, booleans, lists and dicts become TOML values; a string is
        taken as typed on the command line (a TOML value such as
        ``"{ dist = 'uniform', min = 0.6, max = 1 }"``, or bare text).
        """
        pair = (str(path), _native.toml_value(value))
        candidate = self._overrides + [pair]
        name, origin, hash_ = _native.check((self._text, self._origin, candidate))
        self._overrides = candidate
        self._name, self._origin, self._hash = name, origin, hash_
        return self

    def copy(self) -> "Scenario":
        """An independent copy (changes to one do not reach the other)."""
        return Scenario(self._text, self._origin, self._overrides)

    def explain(self) -> str:
        """The contract in plain words (``pbrsim explain``)."""
        return _native.explain(self._native())

    @property
    def name(self) -> str:
        """The scenario's ``name``."""
        return self._name

    @property
    def origin(self) -> str:
        """Where the scenario came from (its path as given)."""
        return self._origin

    @property
    def hash(self) -> str:
        """SHA-256 of the text and overrides, as recorded in every output."""
        return self._hash

    @property
    def text(self) -> str:
        """The scenario's text, before overrides."""
        return self._text

    @property
    def overrides(self) -> List[str]:
        """The overrides applied, as ``--set`` would take them."""
        return [f"{p}={v}" for p, v in self._overrides]

    def __repr__(self) -> str:
        extra = f", {len(self._overrides)} override(s)" if self._overrides else ""
        return f"<pbrsim.Scenario {self._name!r} from {self._origin}{extra}>"


def load(path: Optional[PathLike] = None, set: Optional[Mapping[str, Any]] = None) -> Scenario:
    """Reads and validates a scenario file, then applies ``set``
    (``{"dotted.path": value}``, each validated like ``--set``).

    Without a path, the built-in example contract.
    """
    s = Scenario.from_file(path)
    for key, value in (set or {}).items():
        s.set(key, value)
    return s


def _frame(text: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(text))


class Tables:
    """What a command returns: its printed ``report``, and ``files``, the
    text of every file it wrote by name; each CSV is also a data frame
    (``tables["stress.csv"]`` or the attributes of the subclasses)."""

    def __init__(self, report: str, files: Dict[str, str]):
        self.report: str = report
        self.files: Dict[str, str] = dict(files)

    def __getitem__(self, name: str) -> pd.DataFrame:
        if name not in self.files:
            raise KeyError(f"{name}: this result has {', '.join(sorted(self.files))}")
        return _frame(self.files[name])

    def __str__(self) -> str:
        return self.report

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(self.report)

    def __repr__(self) -> str:
        return f"<pbrsim.{type(self).__name__}: {', '.join(sorted(self.files))}>"


class Result(Tables):
    """A run: ``figures``, ``risk``, ``allocation``, ``monthly`` and
    ``distribution`` (each party's net-value histogram) are data frames
    with the columns of the command's CSVs (``docs/outputs.md``), ``draws``
    the per-iteration table when asked for (else ``None``), ``summary`` the
    contents of ``summary.json``, ``report`` the text the command prints."""

    def __init__(self, report: str, files: Dict[str, str]):
        super().__init__(report, files)
        self.summary: Dict[str, Any] = json.loads(files["summary.json"])
        self.figures: pd.DataFrame = _frame(files["figures.csv"])
        self.risk: pd.DataFrame = _frame(files["risk.csv"])
        self.allocation: pd.DataFrame = _frame(files["allocation.csv"])
        self.monthly: pd.DataFrame = _frame(files["monthly.csv"])
        self.distribution: pd.DataFrame = _frame(files["distribution.csv"])
        self.draws: Optional[pd.DataFrame] = _frame(files["draws.csv"]) if "draws.csv" in files else None

    def fan(self, party: str = "prime", series: str = "cumulative_cash") -> pd.DataFrame:
        """One party's monthly series (``cumulative_cash`` or
        ``cash_flow``), indexed by month: its mean and quantiles
        (``p5``, ``p25``, ``p50``, ``p75``, ``p95``), for a fan chart."""
        m = self.monthly
        rows = m[(m["party"] == party) & (m["series"] == series)]
        if rows.empty:
            raise KeyError(f"no {series} for party {party!r}: parties are {', '.join(m['party'].unique())}")
        columns = m.columns[m.columns.get_loc("mean") : m.columns.get_loc("cumulative_failure_probability")]
        return rows.set_index("month")[list(columns)]

    def __repr__(self) -> str:
        s = self.summary
        return f"<pbrsim.Result {s['scenario']['name']!r}: {s['iterations']} iterations, seed {s['seed']}>"


class Analysis(Tables):
    """A comparison, stress test, evidence split or sweep: ``table`` is the
    command's main CSV as a data frame (``compare.csv``, ``stress.csv``,
    ``evidence.csv``, ``sweep.csv``)."""

    def __init__(self, report: str, files: Dict[str, str], table: str):
        super().__init__(report, files)
        self.table: pd.DataFrame = self[table]


class Design(Tables):
    """A design search: ``table`` is ``design.csv`` (one row per
    candidate: its terms, status, iterations, the objective's and each
    constraint's estimate with bounds), ``pareto`` is ``pareto.csv``."""

    def __init__(self, report: str, files: Dict[str, str]):
        super().__init__(report, files)
        self.table: pd.DataFrame = self["design.csv"]
        self.pareto: pd.DataFrame = self["pareto.csv"]


class Sensitivity(Tables):
    """A sensitivity analysis: ``tornado`` (``tornado.csv``) and ``sobol``
    (``sobol.csv``), each ``None`` when its method was not run."""

    def __init__(self, report: str, files: Dict[str, str]):
        super().__init__(report, files)
        self.tornado: Optional[pd.DataFrame] = self["tornado.csv"] if "tornado.csv" in files else None
        self.sobol: Optional[pd.DataFrame] = self["sobol.csv"] if "sobol.csv" in files else None


class Solution(Analysis):
    """A solve: ``table`` is ``solve.csv``; ``found`` whether the target
    is met inside the range (when not, the table gives the statistic at
    both ends); ``path`` is ``solve_path.csv``, every value evaluated in
    order with the statistic's estimate there."""

    def __init__(self, report: str, files: Dict[str, str], found: bool):
        super().__init__(report, files, "solve.csv")
        self.found: bool = found
        self.path: pd.DataFrame = self["solve_path.csv"]


def _simulation(iterations: int, seed: int, threads: Optional[int]) -> Tuple[int, int, Optional[int]]:
    if isinstance(iterations, bool) or not isinstance(iterations, int) or not 1 <= iterations <= MAX_ITERATIONS:
        raise ValueError(f"iterations: a whole number from 1 to {MAX_ITERATIONS:,}, got {iterations!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**64:
        raise ValueError(f"seed: a whole number from 0 to 2**64 - 1, got {seed!r}")
    if threads is not None and (
        isinstance(threads, bool) or not isinstance(threads, int) or not 0 <= threads <= MAX_THREADS
    ):
        raise ValueError(f"threads: None or 0 for one per core, or up to {MAX_THREADS}, got {threads!r}")
    return iterations, seed, threads


def _progress(progress: Progress, what: str) -> Tuple[Optional[Callable[[int, int], Any]], Callable[[], None]]:
    """The callback the engine reports to, and what closes it."""
    if progress is False or progress is None:
        return None, lambda: None
    if callable(progress) and progress is not True:
        return progress, lambda: None
    from tqdm.auto import tqdm

    bar = tqdm(total=None, desc=what, unit="it", unit_scale=True, leave=False)

    def update(done: int, total: int) -> None:
        if bar.total != total:
            bar.total = total
        bar.n = done
        bar.refresh()

    return update, bar.close


def _call(progress: Progress, what: str, fn: Callable[..., Any], *args: Any, **options: Any) -> Any:
    update, close = _progress(progress, what)
    try:
        return fn(*args, update, **options)
    finally:
        close()


def _out(out: Optional[PathLike]) -> Optional[str]:
    return None if out is None else os.fspath(out)


def _sobol(sampling: str, randomisations: int) -> Optional[int]:
    """The randomisations of ``sampling="sobol"``; None for independent draws."""
    if sampling not in ("monte-carlo", "sobol"):
        raise ValueError(f"sampling must be 'monte-carlo' or 'sobol', not {sampling!r}")
    return int(randomisations) if sampling == "sobol" else None


def _scenario(s: Union[Scenario, PathLike]) -> Scenario:
    return s if isinstance(s, Scenario) else load(s)


def run(
    scenario: Union[Scenario, PathLike],
    iterations: int = 10_000,
    seed: int = 1,
    threads: Optional[int] = None,
    *,
    draws: bool = False,
    quantiles: Sequence[float] = QUANTILES,
    risk_levels: Sequence[float] = RISK_LEVELS,
    out: Optional[PathLike] = None,
    progress: Progress = True,
    sampling: str = "monte-carlo",
    randomisations: int = 16,
) -> Result:
    """Runs ``iterations`` possible worlds of a scenario (``pbrsim run``).

    ``threads=None`` uses every core; results do not depend on it.
    ``draws=True`` keeps one row per iteration (:attr:`Result.draws`).
    ``out`` also writes the command's files into that directory.
    ``progress``: ``True`` for a bar, ``False`` for none, or a callable
    ``(done, total)``.
    ``sampling="sobol"`` draws the uncertain parameters from scrambled
    Sobol' points (``--sampling sobol``), with standard errors from
    ``randomisations`` independent scrambles.
    """
    s = _scenario(scenario)
    sim = _simulation(iterations, seed, threads)
    report, files = _call(
        progress,
        "iterations",
        _native.run,
        s._native(),
        sim,
        bool(draws),
        [float(q) for q in quantiles],
        [float(r) for r in risk_levels],
        _out(out),
        qmc=_sobol(sampling, randomisations),
    )
    return Result(report, files)


def compare(
    a: Union[Scenario, PathLike],
    b: Union[Scenario, PathLike],
    iterations: int = 10_000,
    seed: int = 1,
    threads: Optional[int] = None,
    *,
    out: Optional[PathLike] = None,
    progress: Progress = True,
    sampling: str = "monte-carlo",
    randomisations: int = 16,
) -> Analysis:
    """Two contracts on the same worlds (``pbrsim compare``): ``result.table``
    holds, per figure, each contract's mean and their paired difference
    with its standard error (the columns of ``compare.csv``).
    ``sampling`` and ``randomisations`` as in :func:`run`."""
    sim = _simulation(iterations, seed, threads)
    sobol = _sobol(sampling, randomisations)
    report, files = _call(
        progress, "iterations", _native.compare, _scenario(a)._native(), _scenario(b)._native(), sim, _out(out),
        qmc=sobol,
    )
    return Analysis(report, files, "compare.csv")


def stress(
    file: PathLike,
    scenario: Optional[Union[Scenario, PathLike]] = None,
    iterations: int = 10_000,
    seed: int = 1,
    threads: Optional[int] = None,
    *,
    only: Sequence[str] = (),
    out: Optional[PathLike] = None,
    progress: Progress = True,
    sampling: str = "monte-carlo",
    randomisations: int = 16,
) -> Analysis:
    """The stresses of a stress file, each against the baseline on the
    same worlds (``pbrsim stress``): ``result.table`` is ``stress.csv``.
    ``scenario`` replaces the file's own; ``only`` runs the named
    stresses. ``sampling`` and ``randomisations`` as in :func:`run`."""
    sim = _simulation(iterations, seed, threads)
    sobol = _sobol(sampling, randomisations)
    native = None if scenario is None else _scenario(scenario)._native()
    report, files = _call(
        progress, "iteration-arms", _native.stress, os.fspath(file), native, list(only), sim, _out(out),
        qmc=sobol,
    )
    return Analysis(report, files, "stress.csv")


def sensitivity(
    scenario: Union[Scenario, PathLike],
    statistics: Union[str, Sequence[str]] = "prime.net",
    iterations: int = 10_000,
    seed: int = 1,
    threads: Optional[int] = None,
    *,
    method: str = "both",
    low: float = 10.0,
    high: float = 90.0,
    out: Optional[PathLike] = None,
    progress: Progress = True,
    sampling: str = "monte-carlo",
    randomisations: int = 16,
) -> Sensitivity:
    """Which uncertain inputs matter (``pbrsim sensitivity``): a tornado
    (each input at its ``low`` and ``high`` percentiles) and/or Sobol'
    indices, for each statistic (``party.figure`` means, or
    ``commissioner.<ratio>``). ``method``: ``"tornado"``, ``"sobol"`` or
    ``"both"``; ``result.tornado`` and ``result.sobol`` are the tables
    (``None`` when not run). ``sampling="sobol"`` (as in :func:`run`)
    needs ``method="tornado"``."""
    if method not in ("tornado", "sobol", "both"):
        raise ValueError(f"method: 'tornado', 'sobol' or 'both', got {method!r}")
    qmc = _sobol(sampling, randomisations)
    stats = [statistics] if isinstance(statistics, str) else list(statistics)
    sim = _simulation(iterations, seed, threads)
    report, files = _call(
        progress,
        "iteration-arms",
        _native.sensitivity,
        _scenario(scenario)._native(),
        stats,
        method != "sobol",
        method != "tornado",
        float(low),
        float(high),
        sim,
        _out(out),
        qmc=qmc,
    )
    return Sensitivity(report, files)


def evidence(
    scenario: Union[Scenario, PathLike],
    iterations: int = 10_000,
    seed: int = 1,
    threads: Optional[int] = None,
    *,
    out: Optional[PathLike] = None,
    progress: Progress = True,
) -> Analysis:
    """How much of each figure's variance is parameter uncertainty (that
    better evidence could remove) and how much is chance (``pbrsim
    evidence``): ``result.table`` is ``evidence.csv``."""
    sim = _simulation(iterations, seed, threads)
    report, files = _call(progress, "iterations", _native.evidence, _scenario(scenario)._native(), sim, _out(out))
    return Analysis(report, files, "evidence.csv")


def solve(
    scenario: Union[Scenario, PathLike],
    vary: str,
    between: Tuple[float, float],
    statistic: str,
    target: float,
    iterations: int = 10_000,
    seed: int = 1,
    threads: Optional[int] = None,
    *,
    out: Optional[PathLike] = None,
    progress: Progress = True,
    sampling: str = "monte-carlo",
    randomisations: int = 16,
) -> Solution:
    """The value of the key ``vary`` in ``between`` at which ``statistic``
    meets ``target``, with a 95% interval, on common random numbers
    (``pbrsim solve``). E.g. the smallest reserves at which a charity's
    chance of failing is 5%:
    ``solve(s, "subcontractors.esa_charity.reserves", (0, 1e6), "esa_charity.failed", 0.05)``.
    ``sampling`` and ``randomisations`` as in :func:`run`.
    """
    low, high = between
    qmc = _sobol(sampling, randomisations)
    sim = _simulation(iterations, seed, threads)
    report, files, found = _call(
        progress,
        "iteration-values",
        _native.solve,
        _scenario(scenario)._native(),
        str(vary),
        float(low),
        float(high),
        str(statistic),
        float(target),
        sim,
        _out(out),
        qmc=qmc,
    )
    return Solution(report, files, found)


def sweep(
    files: Union[PathLike, Sequence[PathLike]],
    iterations: int = 10_000,
    seed: int = 1,
    threads: Optional[int] = None,
    *,
    quantiles: Sequence[float] = QUANTILES,
    risk_levels: Sequence[float] = RISK_LEVELS,
    out: Optional[PathLike] = None,
    progress: Progress = True,
    sampling: str = "monte-carlo",
    randomisations: int = 16,
) -> Analysis:
    """A sweep file's points, or several scenario files as a batch
    (``pbrsim sweep``): ``result.table`` is ``sweep.csv``, one row per
    point and figure with the swept values as columns. With ``out``, the
    job's state is kept there and an interrupted sweep resumes where it
    stopped. ``sampling`` and ``randomisations`` as in :func:`run`: every
    point on the same Sobol' points, each as its own run would be."""
    paths = [os.fspath(files)] if isinstance(files, (str, os.PathLike)) else [os.fspath(f) for f in files]
    sim = _simulation(iterations, seed, threads)
    report, written = _call(
        progress,
        "iterations",
        _native.sweep,
        paths,
        sim,
        [float(q) for q in quantiles],
        [float(r) for r in risk_levels],
        _out(out),
        qmc=_sobol(sampling, randomisations),
    )
    return Analysis(report, written, "sweep.csv")


def design(
    file: PathLike,
    seed: int = 1,
    threads: Optional[int] = None,
    *,
    out: Optional[PathLike] = None,
    progress: Progress = True,
) -> Design:
    """A search for the best contract terms under chance constraints
    (``pbrsim design``): every candidate of the design file raced on
    common random numbers, dropped once it is decided with the file's
    confidence. With ``out``, the search's state is kept there and an
    interrupted search resumes."""
    _simulation(1, seed, threads)
    report, files = _call(progress, "iterations", _native.design, os.fspath(file), seed, threads, _out(out))
    return Design(report, files)


def report(
    directory: PathLike,
    *,
    html: bool = True,
    xlsx: bool = True,
    charts: Optional[PathLike] = None,
) -> List[Path]:
    """Writes ``report.html`` (every result as a chart with its numbers and
    a reading, in one self-contained page) and ``report.xlsx`` (every table
    as a sheet) in ``directory``, the ``out`` of any function here or the
    ``--out`` of any command, as ``pbrsim report DIR`` does. With
    ``charts``, each chart is also written there as an SVG file. Returns
    the paths written."""
    if not (html or xlsx):
        raise ValueError("report: ask for html, xlsx or both")
    written = _native.report(os.fspath(directory), html, xlsx, None if charts is None else os.fspath(charts))
    return [Path(p) for p in written]
