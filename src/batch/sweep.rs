//! Sweep files: which scenario(s), which parameters, which values.
//!
//! A sweep names scenario values by the same paths as `--set` and gives
//! their values as a list (zipped columns), a grid (every combination) or
//! a Latin hypercube over ranges. Every point is validated before anything
//! runs; a point's error is reported at the line of the sweep file that
//! set the offending value.

use crate::error::{ScenarioError, ScenarioErrors};
use crate::scenario::{self, Override, Source, line_col, value_text};
use indexmap::IndexMap;
use serde::Deserialize;
use std::path::Path;
use toml::de::{DeTable, DeValue};

/// How a job's points were chosen; its name is the sweep file's table
/// (`[list]`, `[grid]`, `[latin_hypercube]`) and the manifest's `design`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Design {
    /// Zipped columns of values.
    List,
    /// Every combination of values.
    Grid,
    /// Stratified points over ranges.
    LatinHypercube,
    /// Scenario files, one point each, no values.
    Batch,
    /// A single run (a manifest only).
    Run,
}

impl Design {
    /// The name in sweep files and manifests.
    pub fn as_str(self) -> &'static str {
        match self {
            Design::List => "list",
            Design::Grid => "grid",
            Design::LatinHypercube => "latin_hypercube",
            Design::Batch => "batch",
            Design::Run => "run",
        }
    }
}

impl std::fmt::Display for Design {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One point: a scenario and a value for every parameter.
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    /// Index into [`Sweep::scenarios`].
    pub scenario: usize,
    /// Values, in [`Sweep::parameters`] order.
    pub values: Vec<toml::Value>,
}

/// A parsed sweep.
#[derive(Clone, Debug)]
pub struct Sweep {
    /// The sweep file, or `batch` for scenario files given directly.
    pub origin: String,
    /// Its text (empty for a batch).
    pub text: String,
    /// The scenarios, in the order given.
    pub scenarios: Vec<Source>,
    /// Terms every point sets (`[set]`) before its swept values: what the
    /// sweep adds to its scenarios, the same at every point.
    pub fixed: Vec<Override>,
    /// The parameter paths, in the order given.
    pub parameters: Vec<String>,
    /// How the points were chosen.
    pub design: Design,
    /// Every point, in run order.
    pub points: Vec<Point>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSweep {
    #[serde(default)]
    #[allow(dead_code)] // documentation for people reading the file
    description: String,
    scenario: Option<String>,
    scenarios: Option<Vec<String>>,
    set: Option<IndexMap<String, toml::Value>>,
    list: Option<IndexMap<String, Vec<toml::Value>>>,
    grid: Option<IndexMap<String, Vec<toml::Value>>>,
    latin_hypercube: Option<RawHypercube>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHypercube {
    points: u64,
    #[serde(default = "one")]
    seed: u64,
    ranges: IndexMap<String, Vec<toml::Value>>,
}

fn one() -> u64 {
    1
}

/// The most points a sweep may have (a guard against a runaway grid).
pub const MAX_POINTS: usize = 1_000_000;

/// Top-level keys that mark a TOML file as a sweep rather than a scenario.
pub fn is_sweep_text(text: &str) -> bool {
    text.parse::<toml::Table>()
        .is_ok_and(|t| t.contains_key("scenario") || t.contains_key("scenarios"))
}

/// Reads and checks a sweep file, and every scenario it names.
pub fn load_file(path: &Path) -> Result<Sweep, crate::Error> {
    let text = crate::scenario::read_text(path)?;
    let origin = path.display().to_string();
    let base = path.parent().unwrap_or(Path::new("."));
    Ok(parse(&text, &origin, base)?)
}

/// What `pbrsim sweep FILES...` runs: one sweep file alone, or scenario
/// files as a batch (a sweep file among several is refused).
pub fn load_paths(paths: &[std::path::PathBuf]) -> Result<Sweep, crate::Error> {
    let read = crate::scenario::read_text;
    if paths.len() == 1 && is_sweep_text(&read(&paths[0])?) {
        return load_file(&paths[0]);
    }
    if let Some(f) = paths
        .iter()
        .find(|f| read(f).is_ok_and(|t| is_sweep_text(&t)))
    {
        return Err(crate::Error::Usage {
            option: f.display().to_string(),
            message: "this is a sweep file: give it alone, or give only scenario files for a batch"
                .into(),
        });
    }
    batch(paths)
}

/// A batch of scenario files, run as one sweep with a point per file.
pub fn batch(paths: &[std::path::PathBuf]) -> Result<Sweep, crate::Error> {
    let mut scenarios = Vec::new();
    for p in paths {
        scenarios.push(Source::read(p)?);
    }
    let points = (0..scenarios.len())
        .map(|scenario| Point {
            scenario,
            values: vec![],
        })
        .collect();
    let sweep = Sweep {
        origin: "batch".into(),
        text: String::new(),
        scenarios,
        fixed: vec![],
        parameters: vec![],
        design: Design::Batch,
        points,
    };
    sweep.check_points()?;
    Ok(sweep)
}

/// An error at a top-level table of a sweep or design file (and a key
/// in it), with its line and column.
pub(crate) fn error(
    file: &str,
    text: &str,
    at: Option<(&str, Option<&str>)>,
    message: String,
    help: Option<String>,
) -> ScenarioErrors {
    let (line, column) = at
        .and_then(|(table, key)| span_in(text, table, key))
        .map(|o| line_col(text, o))
        .unzip();
    let key = at.map(|(table, key)| match key {
        Some(k) => format!("{table}.\"{k}\""),
        None => table.to_string(),
    });
    ScenarioErrors(vec![ScenarioError {
        file: file.to_string(),
        line,
        column,
        key,
        message,
        help,
    }])
}

/// Byte offset of `table` (a top-level key) or of `key` inside it; for
/// `latin_hypercube` the parameter keys live in its `ranges` table.
fn span_in(text: &str, table: &str, key: Option<&str>) -> Option<usize> {
    let doc = DeTable::parse(text).ok()?;
    let (k, v) = doc
        .get_ref()
        .iter()
        .find(|(k, _)| k.get_ref().as_ref() == table)?;
    let Some(key) = key else {
        return Some(k.span().start);
    };
    let DeValue::Table(t) = v.get_ref() else {
        return Some(k.span().start);
    };
    let t = match t.iter().find(|(k, _)| k.get_ref().as_ref() == "ranges") {
        Some((_, r)) if table == "latin_hypercube" && key != "points" && key != "seed" => {
            match r.get_ref() {
                DeValue::Table(r) => r,
                _ => t,
            }
        }
        _ => t,
    };
    t.iter()
        .find(|(k, _)| k.get_ref().as_ref() == key)
        .map(|(k, _)| k.span().start)
        .or(Some(k.span().start))
}

/// Parses sweep text; scenario paths are relative to `base`.
pub fn parse(text: &str, origin: &str, base: &Path) -> Result<Sweep, ScenarioErrors> {
    parse_within(text, origin, base, &[])
}

/// Parses the sweep part of a file that also holds other top-level keys
/// (`others`, read elsewhere: a design file's objective and constraints),
/// with errors located in the whole text.
pub fn parse_within(
    text: &str,
    origin: &str,
    base: &Path,
    others: &[&str],
) -> Result<Sweep, ScenarioErrors> {
    let file = SweepFile { origin, text };
    let raw = read_raw(file, others)?;
    let scenarios = read_scenarios(file, &raw, base)?;
    let designs = [
        raw.list.is_some(),
        raw.grid.is_some(),
        raw.latin_hypercube.is_some(),
    ];
    if designs.iter().filter(|d| **d).count() > 1 {
        return Err(file.fail(
            None,
            "a sweep has one design: `[list]`, `[grid]` or `[latin_hypercube]`".into(),
            Some("for a grid crossed with listed points, list every point in `[list]`".into()),
        ));
    }
    let (design, columns) = if let Some(list) = &raw.list {
        (Design::List, list_columns(file, list)?)
    } else if let Some(grid) = &raw.grid {
        (Design::Grid, grid_columns(file, grid)?)
    } else if let Some(lhs) = &raw.latin_hypercube {
        (Design::LatinHypercube, hypercube_columns(file, lhs)?)
    } else {
        (Design::Batch, Columns::default())
    };
    let values = columns.values;
    let per_scenario = values.first().map_or(1, |c| c.len());
    let mut points = Vec::with_capacity(scenarios.len() * per_scenario);
    for scenario in 0..scenarios.len() {
        for i in 0..per_scenario {
            points.push(Point {
                scenario,
                values: values.iter().map(|c| c[i].clone()).collect(),
            });
        }
    }
    let fixed: Vec<Override> = raw
        .set
        .iter()
        .flatten()
        .map(|(path, v)| Override {
            path: path.clone(),
            value: value_text(v),
        })
        .collect();
    if let Some(path) = fixed.iter().find(|o| columns.parameters.contains(&o.path)) {
        return Err(file.fail(
            Some(("set", Some(&path.path))),
            format!("`{}` is both set and swept", path.path),
            Some("give it in one place: `[set]` for a value every point shares".into()),
        ));
    }
    let sweep = Sweep {
        origin: origin.into(),
        text: text.into(),
        scenarios,
        fixed,
        parameters: columns.parameters,
        design,
        points,
    };
    sweep.check_points()?;
    Ok(sweep)
}

/// The sweep file being read, for errors at its lines.
#[derive(Clone, Copy)]
struct SweepFile<'a> {
    origin: &'a str,
    text: &'a str,
}

impl SweepFile<'_> {
    /// An error at a top-level table of the sweep file (and a key in it).
    fn fail(
        &self,
        at: Option<(&str, Option<&str>)>,
        message: String,
        help: Option<String>,
    ) -> ScenarioErrors {
        error(self.origin, self.text, at, message, help)
    }
}

/// The parameters a design sets, and each one's value at every point.
#[derive(Default)]
struct Columns {
    parameters: Vec<String>,
    values: Vec<Vec<toml::Value>>,
}

/// The sweep's keys, with unknown keys and wrong types reported at their
/// table.
fn read_raw(file: SweepFile, others: &[&str]) -> Result<RawSweep, ScenarioErrors> {
    let (text, origin) = (file.text, file.origin);
    let mut table = scenario::parse_toml(text, origin)?;
    for k in others {
        table.remove(*k);
    }
    serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|e| {
        let path = e.path().to_string();
        let message = e.inner().message().to_string();
        let top = path.split('.').next().unwrap_or("").to_string();
        let (message, help) = match message
            .strip_prefix("unknown field `")
            .and_then(|r| r.split_once('`'))
        {
            Some((field, expected)) => {
                let candidates: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
                (
                    format!("unknown key `{field}`"),
                    crate::error::suggest(field, &candidates)
                        .or_else(|| Some(format!("allowed here: {}", candidates.join(", ")))),
                )
            }
            None => (message.replace("invalid type: ", "wrong type: "), None),
        };
        let at = if top == "." || top.is_empty() {
            None
        } else {
            Some(top.as_str())
        };
        file.fail(at.map(|t| (t, None)), message, help)
    })
}

/// The scenarios the sweep names, read.
fn read_scenarios(
    file: SweepFile,
    raw: &RawSweep,
    base: &Path,
) -> Result<Vec<Source>, ScenarioErrors> {
    let names: Vec<String> = match (&raw.scenario, &raw.scenarios) {
        (Some(s), None) => vec![s.clone()],
        (None, Some(list)) if !list.is_empty() => list.clone(),
        (None, Some(_)) => {
            return Err(file.fail(
                Some(("scenarios", None)),
                "`scenarios` is empty".into(),
                Some("list at least one scenario file".into()),
            ));
        }
        (Some(_), Some(_)) => {
            return Err(file.fail(
                Some(("scenarios", None)),
                "give `scenario` or `scenarios`, not both".into(),
                None,
            ));
        }
        (None, None) => {
            return Err(file.fail(
                None,
                "a sweep needs `scenario = \"file.toml\"` (or `scenarios = [...]`)".into(),
                Some("see docs/batch.md".into()),
            ));
        }
    };
    let key = if raw.scenario.is_some() {
        "scenario"
    } else {
        "scenarios"
    };
    let mut scenarios = Vec::new();
    for name in &names {
        let path = base.join(name);
        let text = crate::scenario::read_text(&path).map_err(|e| {
            // The cause alone: the message names the path already.
            let e = match e {
                crate::Error::Read { source, .. } => source.to_string(),
                other => other.to_string(),
            };
            file.fail(
                Some((key, None)),
                format!("cannot read scenario {}: {e}", path.display()),
                Some("scenario paths are relative to the sweep file".into()),
            )
        })?;
        scenarios.push(Source {
            origin: path.display().to_string(),
            text,
        });
    }
    Ok(scenarios)
}

/// `[list]`: zipped columns, one value per point each.
fn list_columns(
    file: SweepFile,
    list: &IndexMap<String, Vec<toml::Value>>,
) -> Result<Columns, ScenarioErrors> {
    let mut parameters = Vec::new();
    let mut columns: Vec<Vec<toml::Value>> = Vec::new();
    let mut len = None;
    for (path, values) in list {
        if values.is_empty() {
            return Err(file.fail(
                Some(("list", Some(path))),
                format!("`{path}` has no values"),
                Some("give at least one value".into()),
            ));
        }
        if let Some(n) = len
            && n != values.len()
        {
            return Err(file.fail(Some(("list", Some(path))), format!("`{path}` has {} values but the first parameter has {n}", values.len()), Some("in a [list] every parameter gives one value per point; use [grid] for every combination".into())));
        }
        len = Some(values.len());
        parameters.push(path.clone());
        columns.push(values.clone());
    }
    if parameters.is_empty() {
        return Err(file.fail(
            Some(("list", None)),
            "the [list] names no parameters".into(),
            Some("e.g. \"payments.price_discount\" = [0.0, 0.06, 0.12]".into()),
        ));
    }
    Ok(Columns {
        parameters,
        values: columns,
    })
}

/// `[grid]`: every combination, the last parameter varying fastest.
fn grid_columns(
    file: SweepFile,
    grid: &IndexMap<String, Vec<toml::Value>>,
) -> Result<Columns, ScenarioErrors> {
    let mut parameters = Vec::new();
    if grid.is_empty() {
        return Err(file.fail(
            Some(("grid", None)),
            "the [grid] names no parameters".into(),
            Some("e.g. \"payments.price_discount\" = [0.0, 0.06, 0.12]".into()),
        ));
    }
    let mut total: usize = 1;
    for (path, values) in grid {
        if values.is_empty() {
            return Err(file.fail(
                Some(("grid", Some(path))),
                format!("`{path}` has no values, so the grid is empty"),
                Some("give at least one value".into()),
            ));
        }
        total = total.saturating_mul(values.len());
        parameters.push(path.clone());
    }
    if total > MAX_POINTS {
        return Err(file.fail(
            Some(("grid", None)),
            format!("the grid has {total} points, more than {MAX_POINTS}"),
            Some("use [latin_hypercube] to cover many parameters with fewer points".into()),
        ));
    }
    // The last parameter varies fastest, as in itertools' product.
    let lists: Vec<&Vec<toml::Value>> = grid.values().collect();
    let mut columns = vec![Vec::with_capacity(total); lists.len()];
    for i in 0..total {
        let mut rest = i;
        for j in (0..lists.len()).rev() {
            columns[j].push(lists[j][rest % lists[j].len()].clone());
            rest /= lists[j].len();
        }
    }
    Ok(Columns {
        parameters,
        values: columns,
    })
}

/// `[latin_hypercube]`: `points` points stratified over the ranges.
fn hypercube_columns(file: SweepFile, lhs: &RawHypercube) -> Result<Columns, ScenarioErrors> {
    let mut parameters = Vec::new();
    if lhs.points == 0 || lhs.points as usize > MAX_POINTS {
        return Err(file.fail(
            Some(("latin_hypercube", Some("points"))),
            format!(
                "`points` must be between 1 and {MAX_POINTS}, got {}",
                lhs.points
            ),
            None,
        ));
    }
    if lhs.ranges.is_empty() {
        return Err(file.fail(
            Some(("latin_hypercube", None)),
            "[latin_hypercube.ranges] names no parameters".into(),
            Some("e.g. \"payments.price_discount\" = [0.0, 0.2]".into()),
        ));
    }
    let mut bounds = Vec::new();
    for (path, range) in &lhs.ranges {
        let at = Some(("latin_hypercube", Some(path.as_str())));
        let [lo, hi] = range.as_slice() else {
            return Err(file.fail(
                at,
                format!(
                    "`{path}` must be a range [low, high], got {} values",
                    range.len()
                ),
                None,
            ));
        };
        let (Some(l), Some(h)) = (as_number(lo), as_number(hi)) else {
            return Err(file.fail(at, format!("`{path}`: a range needs two numbers"), None));
        };
        if !(l.is_finite() && h.is_finite() && l < h) {
            return Err(file.fail(
                at,
                format!("`{path}`: the range [{l}, {h}] is empty; low must be below high"),
                None,
            ));
        }
        let integer = lo.is_integer() && hi.is_integer();
        bounds.push((l, h, integer));
        parameters.push(path.clone());
    }
    Ok(Columns {
        parameters,
        values: latin_hypercube(lhs.points as usize, &bounds, lhs.seed),
    })
}

fn as_number(v: &toml::Value) -> Option<f64> {
    v.as_float().or_else(|| v.as_integer().map(|i| i as f64))
}

/// `n` points stratified in every dimension: each parameter's range is cut
/// into `n` equal strata, each stratum is used once, in an order shuffled
/// independently per parameter, at a uniform position inside it. Integer
/// ranges give the floor of a point drawn over `[low, high + 1)`.
fn latin_hypercube(n: usize, bounds: &[(f64, f64, bool)], seed: u64) -> Vec<Vec<toml::Value>> {
    use rand::RngExt;
    use rand::seq::SliceRandom;
    let mut rng = crate::rng::stream(seed, 0, crate::rng::Purpose::Design);
    bounds
        .iter()
        .map(|&(lo, hi, integer)| {
            let mut strata: Vec<usize> = (0..n).collect();
            strata.shuffle(&mut rng);
            let width = if integer { hi + 1.0 - lo } else { hi - lo };
            strata
                .into_iter()
                .map(|s| {
                    let u: f64 = rng.random();
                    let x = lo + (s as f64 + u) / n as f64 * width;
                    if integer {
                        toml::Value::Integer((x.floor() as i64).min(hi as i64))
                    } else {
                        toml::Value::Float(x.min(hi))
                    }
                })
                .collect()
        })
        .collect()
}

impl Sweep {
    /// Point `i` as `--set` overrides: the fixed terms, then its values.
    pub fn point_overrides(&self, i: usize) -> Vec<Override> {
        let swept = self
            .parameters
            .iter()
            .zip(&self.points[i].values)
            .map(|(p, v)| Override {
                path: p.clone(),
                value: value_text(v),
            });
        self.fixed.iter().cloned().chain(swept).collect()
    }

    /// Loads point `i`'s scenario with its overrides.
    pub fn load_point(&self, i: usize) -> Result<scenario::Loaded, ScenarioErrors> {
        let p = &self.points[i];
        let s = &self.scenarios[p.scenario];
        scenario::load_str(&s.text, &s.origin, &self.point_overrides(i))
            .map_err(|e| self.attribute(i, e))
    }

    /// Validates every point; reports the problems of the first few failing
    /// points, each at the sweep line that set the value.
    fn check_points(&self) -> Result<(), ScenarioErrors> {
        let mut errors: Vec<ScenarioError> = Vec::new();
        let mut failing = 0;
        for i in 0..self.points.len() {
            if let Err(e) = self.load_point(i) {
                failing += 1;
                for err in e.0 {
                    let base = |m: &str| m.split(" (point ").next().unwrap_or("").to_string();
                    if !errors.iter().any(|x| {
                        x.key == err.key
                            && base(&x.message) == base(&err.message)
                            && x.line == err.line
                    }) && errors.len() < 12
                    {
                        errors.push(err);
                    }
                }
            }
        }
        if failing == 0 {
            return Ok(());
        }
        if failing > 1 {
            errors.push(ScenarioError {
                file: self.origin.clone(),
                line: None,
                column: None,
                key: None,
                message: format!(
                    "{failing} of {} points are invalid; nothing was run",
                    self.points.len()
                ),
                help: None,
            });
        }
        Err(ScenarioErrors(errors))
    }

    /// Re-attributes a point's errors caused by a swept value to the sweep
    /// file, at the parameter's line.
    fn attribute(&self, i: usize, e: ScenarioErrors) -> ScenarioErrors {
        let table = self.design.as_str();
        let point = &self.points[i];
        ScenarioErrors(
            e.0.into_iter()
                .map(|mut err| {
                    if let Some(rest) = err.file.strip_prefix("--set ") {
                        let path = rest.split_once('=').map_or(rest, |(p, _)| p).to_string();
                        let fixed = self.fixed.iter().find(|o| o.path == path);
                        let table = if fixed.is_some() { "set" } else { table };
                        let (line, column) = span_in(&self.text, table, Some(&path))
                            .map(|o| line_col(&self.text, o))
                            .unzip();
                        let j = self.parameters.iter().position(|p| *p == path);
                        let value = match (fixed, j) {
                            (Some(o), _) => o.value.clone(),
                            (None, Some(j)) => value_text(&point.values[j]),
                            (None, None) => String::new(),
                        };
                        err.file = self.origin.clone();
                        err.line = line;
                        err.column = column;
                        err.message = format!(
                            "{} (point {i}: `{path}` = {value}, scenario {})",
                            err.message, self.scenarios[point.scenario].origin
                        );
                    } else if !self.parameters.is_empty() {
                        // The scenario itself reports it, but a swept value may be the cause.
                        let values: Vec<String> = self
                            .parameters
                            .iter()
                            .zip(&point.values)
                            .map(|(p, v)| format!("`{p}` = {}", value_text(v)))
                            .collect();
                        err.message = format!(
                            "{} (sweep {}, point {i}: {})",
                            err.message,
                            self.origin,
                            values.join(", ")
                        );
                    }
                    err
                })
                .collect(),
        )
    }

    /// A short fingerprint of what every point runs: its scenario text and
    /// overrides.
    pub fn point_hashes(&self) -> Vec<String> {
        (0..self.points.len())
            .map(|i| {
                let p = &self.points[i];
                scenario::scenario_hash(&self.scenarios[p.scenario].text, &self.point_overrides(i))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hypercube_uses_every_stratum_once() {
        let cols = latin_hypercube(
            50,
            &[(0.0, 1.0, false), (10.0, 20.0, false), (1.0, 5.0, true)],
            9,
        );
        for (j, (lo, hi)) in [(0.0, 1.0), (10.0, 20.0)].iter().enumerate() {
            let mut strata: Vec<usize> = cols[j]
                .iter()
                .map(|v| ((v.as_float().unwrap() - lo) / (hi - lo) * 50.0) as usize)
                .collect();
            strata.sort();
            assert_eq!(strata, (0..50).collect::<Vec<_>>());
        }
        // Integers over [1, 5]: 50 points in 5 values, 10 each.
        for v in 1..=5 {
            assert_eq!(
                cols[2].iter().filter(|x| x.as_integer() == Some(v)).count(),
                10
            );
        }
        assert_eq!(
            cols,
            latin_hypercube(
                50,
                &[(0.0, 1.0, false), (10.0, 20.0, false), (1.0, 5.0, true)],
                9
            )
        );
        assert_ne!(
            cols,
            latin_hypercube(
                50,
                &[(0.0, 1.0, false), (10.0, 20.0, false), (1.0, 5.0, true)],
                10
            )
        );
    }

    #[test]
    fn floats_keep_every_bit_as_text() {
        for x in [0.1, 1.0, 1e-300, 123456.789, 2.0f64.sqrt()] {
            let t = value_text(&toml::Value::Float(x));
            let back: toml::Table = format!("v = {t}").parse().unwrap();
            assert_eq!(back["v"].as_float().unwrap().to_bits(), x.to_bits(), "{t}");
        }
    }
}
