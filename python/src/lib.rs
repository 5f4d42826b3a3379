//! The engine inside Python: the native half of the `pbrsim` package.
//!
//! Each function runs one command of the library exactly as the `pbrsim`
//! command does (same loading, same checks, same writers), into a
//! directory, and hands back the report and the files it wrote as text;
//! the Python half (`pbrsim/__init__.py`) turns them into data frames. The
//! numbers are therefore the command's, bit for bit, and no table is
//! computed twice.
//!
//! The work runs on its own thread while the calling thread, with the GIL
//! released between checks, reports progress and watches for Ctrl-C: an
//! interrupt asks the run to stop ([`Stop`]) and raises
//! `KeyboardInterrupt` once it has, before anything is written.

#![forbid(unsafe_code)]

use pbrsim::engine::{RunConfig, Stop};
use pbrsim::error::ScenarioErrors;
use pbrsim::scenario::{self, Loaded, Override, Source};
use pyo3::exceptions::{PyKeyboardInterrupt, PyOSError, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A scenario as Python holds it: its text, where it came from, and the
/// `--set` overrides applied to it, as `(path, TOML value)` pairs.
type ScenarioArg = (String, String, Vec<(String, String)>);

/// The report a command prints and the files it wrote, by name.
type Output = (String, BTreeMap<String, String>);

fn overrides(pairs: &[(String, String)]) -> Vec<Override> {
    pairs
        .iter()
        .map(|(path, value)| Override {
            path: path.clone(),
            value: value.clone(),
        })
        .collect()
}

/// The library's error as the Python exception a user can catch:
/// `pbrsim.ScenarioError` with every located problem for a bad scenario,
/// `ValueError` for a bad setting, `OSError` for files,
/// `KeyboardInterrupt` for a run that was asked to stop.
fn py_err(py: Python<'_>, e: pbrsim::Error) -> PyErr {
    match e {
        pbrsim::Error::Scenario(errors) => scenario_error(py, &errors),
        pbrsim::Error::Interrupted => PyKeyboardInterrupt::new_err("pbrsim run interrupted"),
        e @ (pbrsim::Error::Read { .. } | pbrsim::Error::Write { .. }) => {
            PyOSError::new_err(e.to_string())
        }
        e @ (pbrsim::Error::Setting(_) | pbrsim::Error::Usage { .. }) => {
            PyValueError::new_err(e.to_string())
        }
        e => PyRuntimeError::new_err(e.to_string()),
    }
}

fn scenario_error(py: Python<'_>, errors: &ScenarioErrors) -> PyErr {
    let build = || -> PyResult<PyErr> {
        let problems = PyList::empty(py);
        for e in &errors.0 {
            let d = PyDict::new(py);
            d.set_item("file", &e.file)?;
            d.set_item("line", e.line)?;
            d.set_item("column", e.column)?;
            d.set_item("key", &e.key)?;
            d.set_item("message", &e.message)?;
            d.set_item("help", &e.help)?;
            problems.append(d)?;
        }
        let class = py.import("pbrsim._errors")?.getattr("ScenarioError")?;
        Ok(PyErr::from_value(
            class.call1((errors.to_string(), problems))?,
        ))
    };
    build().unwrap_or_else(|e| e)
}

fn load(py: Python<'_>, s: &ScenarioArg) -> PyResult<Loaded> {
    scenario::load_str(&s.0, &s.1, &overrides(&s.2)).map_err(|e| scenario_error(py, &e))
}

/// Progress of the work thread, read by the calling thread.
#[derive(Default)]
struct Counter(AtomicU64);

impl Counter {
    fn set(&self, done: u64) {
        self.0.store(done, Ordering::Relaxed);
    }
    fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }
}

/// Runs `work` on its own thread; meanwhile reports progress to
/// `progress(done, total)` and turns Ctrl-C (or an exception raised by
/// the callback) into a stop request, raised once the work has stopped.
fn supervise<T: Send>(
    py: Python<'_>,
    total: u64,
    progress: Option<&Bound<'_, PyAny>>,
    stop: &Stop,
    work: impl FnOnce(&Counter) -> Result<T, pbrsim::Error> + Send,
) -> PyResult<T> {
    let counter = Counter::default();
    let mut failure: Option<PyErr> = None;
    let result = std::thread::scope(|scope| {
        let handle = scope.spawn(|| work(&counter));
        let mut shown = u64::MAX;
        loop {
            let finished = handle.is_finished();
            if failure.is_none()
                && let Err(e) = py.check_signals()
            {
                stop.request();
                failure = Some(e);
            }
            let done = counter.0.load(Ordering::Relaxed);
            // Searches and races end before or after their estimate: the
            // last report is the work done, out of itself.
            let (done, of) = if finished {
                (done, done)
            } else {
                (done.min(total), total)
            };
            if let (Some(f), None) = (progress, &failure)
                && (done != shown || finished)
            {
                shown = done;
                if let Err(e) = f.call1((done, of)) {
                    stop.request();
                    failure = Some(e);
                }
            }
            if finished {
                break;
            }
            py.detach(|| std::thread::sleep(Duration::from_millis(25)));
        }
        handle.join()
    });
    match result {
        Ok(Ok(value)) => match failure {
            // Finished before the stop was seen: the interrupt still wins,
            // as the user asked for it.
            Some(e) => Err(e),
            None => Ok(value),
        },
        Ok(Err(pbrsim::Error::Interrupted)) => {
            Err(failure.unwrap_or_else(|| py_err(py, pbrsim::Error::Interrupted)))
        }
        Ok(Err(e)) => Err(py_err(py, e)),
        Err(panic) => {
            let what = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            Err(PyRuntimeError::new_err(format!(
                "internal error in pbrsim (please report it): {what}"
            )))
        }
    }
}

/// Where a command writes: the caller's directory, or a private one that
/// is removed once its files have been read.
struct Destination {
    dir: PathBuf,
    _temporary: Option<tempfile::TempDir>,
}

impl Destination {
    fn new(out: Option<PathBuf>) -> PyResult<Destination> {
        match out {
            Some(dir) => {
                pbrsim::output::create_dir(&dir).map_err(|e| PyOSError::new_err(e.to_string()))?;
                Ok(Destination {
                    dir,
                    _temporary: None,
                })
            }
            None => {
                let t = tempfile::tempdir().map_err(|e| PyOSError::new_err(e.to_string()))?;
                Ok(Destination {
                    dir: t.path().to_path_buf(),
                    _temporary: Some(t),
                })
            }
        }
    }

    /// The text of each file written, by name.
    fn read(&self, written: &[PathBuf]) -> PyResult<BTreeMap<String, String>> {
        let mut files = BTreeMap::new();
        for p in written {
            let text = std::fs::read_to_string(p)
                .map_err(|e| PyOSError::new_err(format!("cannot read {}: {e}", p.display())))?;
            let name = p
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into());
            files.insert(name, text);
        }
        Ok(files)
    }
}

/// `(iterations, seed, threads)`, as `-n`, `--seed` and `-j` (`None`:
/// one thread per core).
type Simulation = (u64, u64, Option<usize>);

/// A command's run: its configuration, the stop request it honours and
/// where it writes.
struct Job {
    config: RunConfig,
    stop: Stop,
    dest: Destination,
}

impl Job {
    fn new((iterations, seed, threads): Simulation, out: Option<PathBuf>) -> PyResult<Job> {
        let stop = Stop::default();
        Ok(Job {
            config: RunConfig {
                iterations,
                seed,
                threads: threads.unwrap_or(0),
                stop: stop.clone(),
                ..Default::default()
            },
            stop,
            dest: Destination::new(out)?,
        })
    }
}

/// `qmc`: the randomisations of `sampling="sobol"`, `None` for
/// independent draws.
fn sampling(qmc: Option<u32>) -> PyResult<pbrsim::engine::Sampling> {
    match qmc {
        None => Ok(pbrsim::engine::Sampling::MonteCarlo),
        Some(r) if (2..=pbrsim::qmc::MAX_RANDOMISATIONS).contains(&r) => {
            Ok(pbrsim::engine::Sampling::Sobol { randomisations: r })
        }
        Some(r) => Err(PyValueError::new_err(format!(
            "randomisations must be from 2 to {}, not {r}",
            pbrsim::qmc::MAX_RANDOMISATIONS
        ))),
    }
}

/// Reads a scenario file: `(text, origin)`, or the built-in example when
/// `path` is `None`.
#[pyfunction]
#[pyo3(signature = (path=None))]
fn read_scenario(py: Python<'_>, path: Option<PathBuf>) -> PyResult<(String, String)> {
    let src = Source::read_or_embedded(path.as_deref()).map_err(|e| py_err(py, e))?;
    Ok((src.text, src.origin))
}

/// Validates a scenario; its name, origin and hash.
#[pyfunction]
fn check(py: Python<'_>, scenario: ScenarioArg) -> PyResult<(String, String, String)> {
    let l = load(py, &scenario)?;
    Ok((l.model.name, l.origin, l.hash))
}

/// The contract in plain words.
#[pyfunction]
fn explain(py: Python<'_>, scenario: ScenarioArg) -> PyResult<String> {
    Ok(pbrsim::explain::explain(&load(py, &scenario)?.model))
}

/// `pbrsim report DIR`: report.html (with `charts`, each chart as an SVG
/// file there) and report.xlsx of a results directory; the paths written.
#[pyfunction]
#[pyo3(signature = (directory, html, xlsx, charts=None))]
fn report(
    py: Python<'_>,
    directory: PathBuf,
    html: bool,
    xlsx: bool,
    charts: Option<PathBuf>,
) -> PyResult<Vec<PathBuf>> {
    let mut written = Vec::new();
    if html {
        written.extend(
            pbrsim::output::write_html(&directory, None, charts.as_deref())
                .map_err(|e| py_err(py, e))?,
        );
    }
    if xlsx {
        written.push(pbrsim::output::write_workbook(&directory).map_err(|e| py_err(py, e))?);
    }
    Ok(written)
}

/// A Python value as the TOML value text of a `--set` override. Text is
/// passed through as typed, as on the command line.
#[pyfunction]
fn toml_value(value: &Bound<'_, PyAny>) -> PyResult<String> {
    if let Ok(s) = value.cast::<PyString>() {
        return s.extract::<String>();
    }
    Ok(to_toml(value, "value")?.to_string())
}

/// A dictionary as the text of a scenario file.
#[pyfunction]
fn toml_document(value: &Bound<'_, PyDict>) -> PyResult<String> {
    match to_toml(value.as_any(), "scenario")? {
        toml::Value::Table(t) => {
            toml::to_string(&t).map_err(|e| PyValueError::new_err(e.to_string()))
        }
        _ => unreachable!("a dict converts to a table"),
    }
}

fn to_toml(v: &Bound<'_, PyAny>, at: &str) -> PyResult<toml::Value> {
    if v.cast::<PyBool>().is_ok() {
        return Ok(toml::Value::Boolean(v.extract()?));
    }
    if v.cast::<PyInt>().is_ok() {
        return Ok(toml::Value::Integer(v.extract().map_err(|_| {
            PyValueError::new_err(format!("{at}: {v} does not fit a 64-bit integer"))
        })?));
    }
    if v.cast::<PyFloat>().is_ok() {
        return Ok(toml::Value::Float(v.extract()?));
    }
    if let Ok(s) = v.cast::<PyString>() {
        return Ok(toml::Value::String(s.extract()?));
    }
    if let Ok(d) = v.cast::<PyDict>() {
        let mut t = toml::Table::new();
        for (k, item) in d.iter() {
            let key: String = k.extract().map_err(|_| {
                PyTypeError::new_err(format!("{at}: keys must be strings, not {k}"))
            })?;
            let value = to_toml(&item, &format!("{at}.{key}"))?;
            t.insert(key, value);
        }
        return Ok(toml::Value::Table(t));
    }
    if v.cast::<PyList>().is_ok() || v.cast::<PyTuple>().is_ok() {
        let items = v
            .try_iter()?
            .enumerate()
            .map(|(i, item)| to_toml(&item?, &format!("{at}[{i}]")))
            .collect::<PyResult<Vec<_>>>()?;
        return Ok(toml::Value::Array(items));
    }
    // NumPy scalars and other numbers.
    if v.hasattr("__index__")? {
        return Ok(toml::Value::Integer(
            v.call_method0("__index__")?.extract()?,
        ));
    }
    if v.hasattr("__float__")? {
        return Ok(toml::Value::Float(v.call_method0("__float__")?.extract()?));
    }
    Err(PyTypeError::new_err(format!(
        "{at}: cannot write a {} in a scenario (use numbers, strings, booleans, lists and dicts)",
        v.get_type().name()?
    )))
}

/// One run: the report, and `summary.json`, `figures.csv`, `risk.csv`,
/// `allocation.csv`, `monthly.csv` (and `draws.csv` when asked).
#[pyfunction]
#[pyo3(signature = (scenario, simulation, draws, quantiles, risk_levels, out, progress, qmc=None))]
#[allow(clippy::too_many_arguments)]
fn run(
    py: Python<'_>,
    scenario: ScenarioArg,
    simulation: Simulation,
    draws: bool,
    quantiles: Vec<f64>,
    risk_levels: Vec<f64>,
    out: Option<PathBuf>,
    progress: Option<Bound<'_, PyAny>>,
    qmc: Option<u32>,
) -> PyResult<Output> {
    pbrsim::output::check_levels(&quantiles, &risk_levels).map_err(|e| py_err(py, e))?;
    let loaded = load(py, &scenario)?;
    let ovr = overrides(&scenario.2);
    let Job {
        config: mut cfg,
        stop,
        dest,
    } = Job::new(simulation, out)?;
    cfg.sampling = sampling(qmc)?;
    let dir = dest.dir.clone();
    let (report, written) = supervise(py, cfg.iterations, progress.as_ref(), &stop, |counter| {
        let mut info = pbrsim::output::RunInfo::new(
            &loaded,
            &ovr,
            cfg.seed,
            cfg.iterations,
            &quantiles,
            &risk_levels,
        );
        let catalog = pbrsim::figures::Catalog::new(&loaded.model);
        let mut writer = if draws {
            Some(pbrsim::output::DrawsWriter::create(&dir, &catalog, &info)?)
        } else {
            None
        };
        let mut sink = |first: u64, rows: &[f64]| {
            writer
                .as_mut()
                .map_or(Ok(()), |w| w.write_rows(first, rows))
        };
        let result = pbrsim::engine::run(
            &loaded.model,
            &cfg,
            &|done| counter.set(done),
            if draws { Some(&mut sink) } else { None },
        )?;
        info.iterations = result.summary.iterations;
        let mut written = pbrsim::output::write_outputs(&dir, &info, &result, &loaded.model)?;
        if let Some(w) = writer.take() {
            written.push(w.finish()?);
        }
        let report = pbrsim::output::render_report(&info, &loaded.model, &result);
        Ok((report, written))
    })?;
    Ok((report, dest.read(&written)?))
}

/// Two contracts on common random numbers: the report and `compare.csv`.
#[pyfunction]
#[pyo3(signature = (a, b, simulation, out, progress, qmc=None))]
#[allow(clippy::too_many_arguments)]
fn compare(
    py: Python<'_>,
    a: ScenarioArg,
    b: ScenarioArg,
    simulation: Simulation,
    out: Option<PathBuf>,
    progress: Option<Bound<'_, PyAny>>,
    qmc: Option<u32>,
) -> PyResult<Output> {
    let (la, lb) = (load(py, &a)?, load(py, &b)?);
    let Job {
        config: mut cfg,
        stop,
        dest,
    } = Job::new(simulation, out)?;
    cfg.sampling = sampling(qmc)?;
    let (report, path) = supervise(py, cfg.iterations, progress.as_ref(), &stop, |counter| {
        let pairs = pbrsim::engine::compare::compare(&la.model, &lb.model, &cfg, &|done| {
            counter.set(done)
        })?;
        let path = pbrsim::output::write_comparison(&dest.dir, &pairs, &la.hash, &lb.hash, &cfg)?;
        Ok((
            pbrsim::output::render_comparison(&la, &lb, &pairs, &cfg),
            path,
        ))
    })?;
    Ok((report, dest.read(&[path])?))
}

/// A stress file's stresses, each against its baseline: the report and
/// `stress.csv`. `scenario`, when given, replaces the file's own.
#[pyfunction]
#[pyo3(signature = (file, scenario, only, simulation, out, progress, qmc=None))]
#[allow(clippy::too_many_arguments)]
fn stress(
    py: Python<'_>,
    file: PathBuf,
    scenario: Option<ScenarioArg>,
    only: Vec<String>,
    simulation: Simulation,
    out: Option<PathBuf>,
    progress: Option<Bound<'_, PyAny>>,
    qmc: Option<u32>,
) -> PyResult<Output> {
    let sampling = sampling(qmc)?;
    let mut file = pbrsim::stress::file::load_file(&file, None).map_err(|e| py_err(py, e))?;
    let baseline_overrides = match scenario {
        Some((text, origin, pairs)) => {
            file.scenario = Source { text, origin };
            overrides(&pairs)
        }
        None => Vec::new(),
    };
    file.keep_only(&only).map_err(|e| py_err(py, e))?;
    let baseline = scenario::load_str(
        &file.scenario.text,
        &file.scenario.origin,
        &baseline_overrides,
    )
    .map_err(|e| scenario_error(py, &e))?;
    let prepared = file
        .prepare(&baseline_overrides)
        .map_err(|e| scenario_error(py, &e))?;
    let Job {
        config: mut cfg,
        stop,
        dest,
    } = Job::new(simulation, out)?;
    cfg.sampling = sampling;
    let total = cfg.iterations * (prepared.len() as u64 + 1);
    let (report, path) = supervise(py, total, progress.as_ref(), &stop, |counter| {
        let stresses =
            pbrsim::stress::stresses::run_stresses(&baseline.model, &prepared, &cfg, &|n| {
                counter.add(n)
            })?;
        let path = pbrsim::output::stress::write_stresses(
            &dest.dir.join("stress.csv"),
            &stresses.rows,
            &baseline.hash,
            &cfg,
        )?;
        let report =
            pbrsim::output::stress::render_stresses(&baseline.origin, &prepared, &stresses, &cfg);
        Ok((report, path))
    })?;
    Ok((report, dest.read(&[path])?))
}

/// Which inputs matter: the report, `tornado.csv` and/or `sobol.csv`.
#[pyfunction]
#[pyo3(signature = (scenario, statistics, tornado, sobol, low, high, simulation, out, progress, qmc=None))]
#[allow(clippy::too_many_arguments)]
fn sensitivity(
    py: Python<'_>,
    scenario: ScenarioArg,
    statistics: Vec<String>,
    tornado: bool,
    sobol: bool,
    low: f64,
    high: f64,
    simulation: Simulation,
    out: Option<PathBuf>,
    progress: Option<Bound<'_, PyAny>>,
    qmc: Option<u32>,
) -> PyResult<Output> {
    let sampling = sampling(qmc)?;
    if sobol && qmc.is_some() {
        return Err(PyValueError::new_err(
            "Sobol indices need a second, independent replicate of each world: use sampling=\"sobol\" with method=\"tornado\"",
        ));
    }
    use pbrsim::output::stress as report;
    use pbrsim::stress::sensitivity as analysis;
    let loaded = load(py, &scenario)?;
    let model = &loaded.model;
    let stats =
        pbrsim::stress::statistic::parse_all(model, &statistics).map_err(|e| py_err(py, e))?;
    let inputs =
        analysis::check_inputs(model, &loaded.origin, low, high).map_err(|e| py_err(py, e))?;
    let tornado_arms = if tornado { 1 + 2 * (inputs - 1) } else { 0 };
    let sobol_arms = if sobol { inputs + 2 } else { 0 };
    let Job {
        config: mut cfg,
        stop,
        dest,
    } = Job::new(simulation, out)?;
    cfg.sampling = sampling;
    let total = cfg.iterations * (tornado_arms + sobol_arms);
    let (text, written) = supervise(py, total, progress.as_ref(), &stop, |counter| {
        let mut written = Vec::new();
        let (mut tornadoes, mut indices) = (None, None);
        if tornado {
            let t = analysis::tornado(model, &stats, low / 100.0, high / 100.0, &cfg, &|n| {
                counter.add(n * tornado_arms)
            })?;
            written.push(report::write_tornado(
                &dest.dir.join("tornado.csv"),
                &t,
                &loaded.hash,
                &cfg,
            )?);
            tornadoes = Some(t);
        }
        if sobol {
            let s = analysis::sobol(model, &stats, &cfg, &|n| counter.add(n * sobol_arms))?;
            written.push(report::write_sobol(
                &dest.dir.join("sobol.csv"),
                &s,
                &loaded.hash,
                &cfg,
            )?);
            indices = Some(s);
        }
        let text = report::render_sensitivity(
            &loaded.origin,
            &cfg,
            tornadoes.as_deref(),
            indices.as_deref(),
        );
        Ok((text, written))
    })?;
    Ok((text, dest.read(&written)?))
}

/// How much of the uncertainty better evidence could remove: the report
/// and `evidence.csv`.
#[pyfunction]
#[pyo3(signature = (scenario, simulation, out, progress))]
fn evidence(
    py: Python<'_>,
    scenario: ScenarioArg,
    simulation: Simulation,
    out: Option<PathBuf>,
    progress: Option<Bound<'_, PyAny>>,
) -> PyResult<Output> {
    let loaded = load(py, &scenario)?;
    let Job {
        config: cfg,
        stop,
        dest,
    } = Job::new(simulation, out)?;
    let (text, path) = supervise(py, cfg.iterations, progress.as_ref(), &stop, |counter| {
        let split =
            pbrsim::stress::sensitivity::variance_split(&loaded.model, &cfg, &|n| counter.add(n))?;
        let path = pbrsim::output::stress::write_split(
            &dest.dir.join("evidence.csv"),
            &split,
            &loaded.hash,
            &cfg,
        )?;
        Ok((
            pbrsim::output::stress::render_evidence(&loaded.origin, &cfg, &split),
            path,
        ))
    })?;
    Ok((text, dest.read(&[path])?))
}

/// The value of one key at which a statistic meets a target: the report,
/// `solve.csv`, and whether the target was reached in the range.
#[pyfunction]
#[pyo3(signature = (scenario, vary, low, high, statistic, target, simulation, out, progress, qmc=None))]
#[allow(clippy::too_many_arguments)]
fn solve(
    py: Python<'_>,
    scenario: ScenarioArg,
    vary: String,
    low: f64,
    high: f64,
    statistic: String,
    target: f64,
    simulation: Simulation,
    out: Option<PathBuf>,
    progress: Option<Bound<'_, PyAny>>,
    qmc: Option<u32>,
) -> PyResult<(String, BTreeMap<String, String>, bool)> {
    let sampling = sampling(qmc)?;
    let base = load(py, &scenario)?;
    let stat = pbrsim::stress::statistic::parse_all(&base.model, std::slice::from_ref(&statistic))
        .map_err(|e| py_err(py, e))?
        .remove(0);
    let source = Source {
        text: scenario.0.clone(),
        origin: scenario.1.clone(),
    };
    let ovr = overrides(&scenario.2);
    let search = pbrsim::stress::solve::KeySearch {
        source: &source,
        overrides: &ovr,
        vary: &vary,
        range: (low, high),
        statistic: &stat,
        target,
    };
    let Job {
        config: mut cfg,
        stop,
        dest,
    } = Job::new(simulation, out)?;
    cfg.sampling = sampling;
    let total = cfg.iterations * pbrsim::stress::solve::TYPICAL_EVALUATIONS;
    let (text, paths, found) = supervise(py, total, progress.as_ref(), &stop, |counter| {
        let (solution, evaluated) = search.solve_traced(&cfg, &|n| counter.add(n))?;
        let report = pbrsim::output::stress::SolveReport {
            origin: &source.origin,
            vary: &vary,
            statistic: &stat.name(),
            unit: stat.unit(&pbrsim::figures::Catalog::new(&base.model)),
            target,
            range: search.range,
            integer: search.integer(),
            config: &cfg,
            solution: &solution,
            evaluated: &evaluated,
        };
        let paths = [
            pbrsim::output::stress::write_solve(&dest.dir.join("solve.csv"), &report, &base.hash)?,
            pbrsim::output::stress::write_solve_path(
                &dest.dir.join("solve_path.csv"),
                &report,
                &base.hash,
            )?,
        ];
        Ok((
            pbrsim::output::stress::render_solve(&report),
            paths,
            report.outcome().is_ok(),
        ))
    })?;
    Ok((text, dest.read(&paths)?, found))
}

/// A sweep file (or several scenario files, as a batch): `sweep.csv`, one
/// row per point and figure. With `out`, an interrupted sweep resumes.
#[pyfunction]
#[pyo3(signature = (files, simulation, quantiles, risk_levels, out, progress, qmc=None))]
#[allow(clippy::too_many_arguments)]
fn sweep(
    py: Python<'_>,
    files: Vec<PathBuf>,
    simulation: Simulation,
    quantiles: Vec<f64>,
    risk_levels: Vec<f64>,
    out: Option<PathBuf>,
    progress: Option<Bound<'_, PyAny>>,
    qmc: Option<u32>,
) -> PyResult<Output> {
    use pbrsim::batch;
    pbrsim::output::check_levels(&quantiles, &risk_levels).map_err(|e| py_err(py, e))?;
    let sweep = batch::sweep::load_paths(&files).map_err(|e| py_err(py, e))?;
    let Job {
        config: cfg,
        stop,
        dest,
    } = Job::new(simulation, out)?;
    let options = batch::Options {
        iterations: cfg.iterations,
        seed: cfg.seed,
        threads: cfg.threads,
        quantiles,
        risk_levels,
        sampling: sampling(qmc)?,
    };
    let manifest = batch::Manifest::of_sweep(&sweep, &options, 1);
    batch::prepare(&dest.dir, &manifest).map_err(|e| py_err(py, e))?;
    let whole = batch::shard::Shard::WHOLE;
    let total = batch::shard_iterations(&manifest, whole);
    let (points, written) = supervise(py, total, progress.as_ref(), &stop, |counter| {
        let report = batch::run_shard(
            &dest.dir,
            &manifest,
            whole,
            options.threads,
            false,
            &stop,
            &|_, done| counter.set(done),
        )?;
        let merged = batch::merge(&dest.dir)?;
        Ok((report.points_run, merged.written))
    })?;
    let csv: Vec<PathBuf> = written
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .collect();
    Ok((format!("{points} point(s) run"), dest.read(&csv)?))
}

/// A design search (`pbrsim design`): the report, `design.csv` and
/// `pareto.csv`. With `out`, an interrupted search resumes.
#[pyfunction]
#[pyo3(signature = (file, seed, threads, out, progress))]
fn design(
    py: Python<'_>,
    file: PathBuf,
    seed: u64,
    threads: Option<usize>,
    out: Option<PathBuf>,
    progress: Option<Bound<'_, PyAny>>,
) -> PyResult<Output> {
    use pbrsim::design as search;
    let spec = search::load_file(&file).map_err(|e| py_err(py, e))?;
    let manifest = search::Manifest::new(&spec, seed, 1);
    let dest = Destination::new(out)?;
    search::prepare(&dest.dir, &manifest).map_err(|e| py_err(py, e))?;
    let stop = Stop::default();
    let options = search::Options {
        seed,
        threads: threads.unwrap_or(0),
        allow_large: false,
        stop: stop.clone(),
    };
    // Racing stops early: the most it could run is every candidate to the
    // last stage.
    let most = spec.sweep.points.len() as u64 * spec.stages.last().copied().unwrap_or(0);
    let (text, written) = supervise(py, most, progress.as_ref(), &stop, |counter| {
        let (outcome, _) = search::run(
            &dest.dir,
            &spec,
            &manifest,
            Some(pbrsim::batch::shard::Shard::WHOLE),
            &options,
            &|_, _, _| {},
            &|n| counter.add(n),
        )?;
        match outcome {
            search::Outcome::Done(results) => Ok((
                search::table::render(&spec, &results),
                search::table::write(&dest.dir, &spec, &manifest, &results)?,
            )),
            search::Outcome::Waiting { .. } => Err(pbrsim::Error::Batch(
                "a design search run whole cannot wait for other shards".into(),
            )),
        }
    })?;
    let csv: Vec<PathBuf> = written
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .collect();
    Ok((text, dest.read(&csv)?))
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("VERSION", pbrsim::VERSION)?;
    m.add_function(wrap_pyfunction!(read_scenario, m)?)?;
    m.add_function(wrap_pyfunction!(check, m)?)?;
    m.add_function(wrap_pyfunction!(explain, m)?)?;
    m.add_function(wrap_pyfunction!(report, m)?)?;
    m.add_function(wrap_pyfunction!(toml_value, m)?)?;
    m.add_function(wrap_pyfunction!(toml_document, m)?)?;
    m.add_function(wrap_pyfunction!(run, m)?)?;
    m.add_function(wrap_pyfunction!(compare, m)?)?;
    m.add_function(wrap_pyfunction!(stress, m)?)?;
    m.add_function(wrap_pyfunction!(sensitivity, m)?)?;
    m.add_function(wrap_pyfunction!(evidence, m)?)?;
    m.add_function(wrap_pyfunction!(solve, m)?)?;
    m.add_function(wrap_pyfunction!(sweep, m)?)?;
    m.add_function(wrap_pyfunction!(design, m)?)?;
    Ok(())
}
