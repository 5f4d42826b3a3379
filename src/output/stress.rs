//! Reports and tables of the stress-testing commands.

use super::{csv_number, fmt_pounds, write_atomic};
use crate::error::Error;
use crate::figures::Unit;
use crate::math;
use crate::stress::Estimate;
use crate::stress::file::Prepared;
use crate::stress::stresses::StressRow;
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// A value for reading: money with separators, probabilities in percent.
pub fn fmt_value(unit: Unit, x: f64) -> String {
    if !x.is_finite() {
        return "-".into();
    }
    match unit {
        Unit::Money | Unit::Count => fmt_pounds(x),
        Unit::Probability => format!("{:.1}%", 100.0 * x),
        Unit::Month | Unit::Draw | Unit::Ratio => format!("{x:.4}"),
    }
}

/// An estimate with its 95% interval.
pub fn fmt_interval(unit: Unit, e: &Estimate) -> String {
    interval_between(unit, e, e.interval())
}

/// A probability with its 95% interval, clipped to [0, 1] (a change in a
/// probability is not clipped: use [`fmt_interval`]).
pub fn fmt_probability(e: &Estimate) -> String {
    let (lo, hi) = e.interval();
    interval_between(Unit::Probability, e, (lo.max(0.0), hi.min(1.0)))
}

fn interval_between(unit: Unit, e: &Estimate, (lo, hi): (f64, f64)) -> String {
    if lo.is_finite() {
        format!(
            "{} ({} to {})",
            fmt_value(unit, e.value),
            fmt_value(unit, lo),
            fmt_value(unit, hi)
        )
    } else {
        fmt_value(unit, e.value)
    }
}

/// A statistic in words.
pub fn describe_statistic(name: &str) -> String {
    let figure = name.split_once('.').map_or(name, |(_, f)| f);
    match figure {
        "net" => "expected net".into(),
        "loss" => "P(loss)".into(),
        "failed" => "P(failure)".into(),
        "peak_funding_need" => "peak funding need (mean)".into(),
        "paid.total" => "paid in total (mean)".into(),
        "attributable_outcomes" => "attributable outcomes (mean)".into(),
        "cost_per_attributable_outcome" => "cost per attributable outcome".into(),
        other => other.replace('_', " "),
    }
}

/// Renders `pbrsim stress`: per stress, its shocks and source, then per
/// party the baseline, the stressed value and the paired change.
pub fn render_stresses(
    scenario: &str,
    prepared: &[Prepared],
    stresses: &crate::stress::stresses::Stresses,
    config: &crate::engine::RunConfig,
) -> String {
    let rows = &stresses.rows[..];
    let mut o = String::new();
    let (iterations, seed) = (config.iterations, config.seed);
    let randomisations = config.sampling.randomisations();
    let _ = writeln!(
        o,
        "Stresses of {scenario}: {} iterations on common random numbers{}, seed {seed}.",
        fmt_pounds(iterations as f64),
        if randomisations.is_some() {
            " (Sobol' points)"
        } else {
            ""
        }
    );
    let _ = writeln!(
        o,
        "Change = stressed - baseline, world by world; intervals are 95% (jackknife over {}).",
        match randomisations {
            Some(r) => format!(
                "{} independent randomisations",
                crate::qmc::randomisations_holding(r, iterations)
            ),
            None => "batches".into(),
        }
    );
    let arms = prepared.len() + 1;
    let runs = stresses.work.runs(arms);
    if runs < arms as f64 - 0.005 {
        let _ = writeln!(o, "{arms} arms: {}.", work_in_runs(arms, runs));
    }
    for p in prepared {
        let s = &p.stress;
        let _ = writeln!(
            o,
            "\n== {}{}",
            s.name,
            if s.description.is_empty() {
                String::new()
            } else {
                format!(": {}", s.description)
            }
        );
        if !s.source.is_empty() {
            let _ = writeln!(o, "   source: {}", s.source);
        }
        if !p.overrides.is_empty() {
            // Exact values are in the overrides; twelve significant digits read better.
            let short = |v: &str| {
                v.parse::<f64>()
                    .map_or(v.to_string(), |x| format!("{}", (x * 1e12).round() / 1e12))
            };
            let sets: Vec<String> = p
                .overrides
                .iter()
                .filter(|o| !(o.path.ends_with(".shift") && o.value == "0.0"))
                .map(|o| format!("{}={}", o.path, short(&o.value)))
                .collect();
            let _ = writeln!(o, "   shocks: {}", sets.join(", "));
        }
        for b in &s.bands {
            let _ = writeln!(
                o,
                "   band: {} in percentiles [{}, {}] of its draws (results are conditional on it)",
                b.input, b.percentiles.0, b.percentiles.1
            );
        }
        let _ = writeln!(
            o,
            "   {:<24} {:<30} {:>14} {:>14}   change (95% interval)",
            "party", "statistic", "baseline", "stressed"
        );
        for r in rows.iter().filter(|r| r.stress == s.name) {
            // A statistic that is the same in both arms in every world says nothing.
            if r.change.value == 0.0 && r.change.se == 0.0 && r.baseline.se == 0.0 {
                continue;
            }
            let _ = writeln!(
                o,
                "   {:<24} {:<30} {:>14} {:>14}   {}",
                r.party,
                describe_statistic(&r.statistic),
                fmt_value(r.unit, r.baseline.value),
                fmt_value(r.unit, r.stressed.value),
                fmt_interval(r.unit, &r.change)
            );
        }
    }
    o
}

/// Writes a CSV table atomically; creates the parent directory.
pub fn write_csv(path: &Path, header: &[&str], rows: &[Vec<String>]) -> Result<PathBuf, Error> {
    if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        super::create_dir(dir)?;
    }
    write_atomic(path, |w| {
        let mut c = csv::Writer::from_writer(w);
        c.write_record(header)?;
        for r in rows {
            c.write_record(r)?;
        }
        c.flush()
    })?;
    Ok(path.to_path_buf())
}

/// The columns of an estimate: value, se, lo95, hi95.
pub fn estimate_columns(e: &Estimate) -> [String; 4] {
    let (lo, hi) = e.interval();
    [
        csv_number(e.value),
        csv_number(e.se),
        csv_number(lo),
        csv_number(hi),
    ]
}

/// `stress.csv`: one row per stress, party and statistic.
pub fn write_stresses(
    path: &Path,
    rows: &[StressRow],
    scenario_hash: &str,
    config: &crate::engine::RunConfig,
) -> Result<PathBuf, Error> {
    let (iterations, seed) = (config.iterations, config.seed);
    let [sampling, randomisations] = config.sampling.columns();
    let header = [
        "stress",
        "party",
        "statistic",
        "unit",
        "baseline",
        "baseline_se",
        "stressed",
        "stressed_se",
        "change",
        "change_se",
        "change_lo95",
        "change_hi95",
        "sampling",
        "randomisations",
        "scenario_hash",
        "seed",
        "iterations",
        "pbrsim_version",
    ];
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let [c, cse, lo, hi] = estimate_columns(&r.change);
            vec![
                r.stress.clone(),
                r.party.clone(),
                r.statistic.clone(),
                r.unit.as_str().into(),
                csv_number(r.baseline.value),
                csv_number(r.baseline.se),
                csv_number(r.stressed.value),
                csv_number(r.stressed.se),
                c,
                cse,
                lo,
                hi,
                sampling.clone(),
                randomisations.clone(),
                scenario_hash.into(),
                seed.to_string(),
                iterations.to_string(),
                crate::VERSION.into(),
            ]
        })
        .collect();
    write_csv(path, &header, &table)
}

/// ", Sobol' points" in a report's first line when the worlds' parameters
/// come from them.
fn sampled(config: &crate::engine::RunConfig) -> &'static str {
    match config.sampling.randomisations() {
        Some(_) => ", Sobol' points",
        None => "",
    }
}

fn run_columns(hash: &str, config: &crate::engine::RunConfig) -> [String; 6] {
    let [sampling, randomisations] = config.sampling.columns();
    [
        sampling,
        randomisations,
        hash.to_string(),
        config.seed.to_string(),
        config.iterations.to_string(),
        crate::VERSION.to_string(),
    ]
}

/// Renders tornadoes: per statistic, one line per input, widest first.
pub fn render_tornado(tornadoes: &[crate::stress::sensitivity::Tornado]) -> String {
    let mut o = String::new();
    for t in tornadoes {
        let (lo, hi) = t.percentiles;
        let _ = writeln!(
            o,
            "\nTornado: {} (baseline {}), each input at its p{} and p{}, the others as drawn",
            describe_full(&t.statistic),
            fmt_interval(t.unit, &t.baseline),
            100.0 * lo,
            100.0 * hi
        );
        // Inputs are named by path; the column fits the longest.
        let w = t
            .bars
            .iter()
            .map(|b| b.input.len())
            .max()
            .unwrap_or(0)
            .max(34);
        let _ = writeln!(
            o,
            "   {:<w$} {:>21} {:>16} {:>16} {:>14}   change at low; at high (95% intervals)",
            "input", "value at low / high", "at low", "at high", "swing"
        );
        for b in &t.bars {
            let _ = writeln!(
                o,
                "   {:<w$} {:>21} {:>16} {:>16} {:>14}   {}; {}",
                b.input,
                format!(
                    "{} / {}",
                    fmt_value(Unit::Draw, b.values.0),
                    fmt_value(Unit::Draw, b.values.1)
                ),
                fmt_value(t.unit, b.low.value),
                fmt_value(t.unit, b.high.value),
                fmt_value(t.unit, b.swing()),
                fmt_interval(t.unit, &b.low_change),
                fmt_interval(t.unit, &b.high_change)
            );
        }
    }
    o
}

/// `party.figure` in words, with the key.
fn describe_full(statistic: &str) -> String {
    let party = statistic.split_once('.').map_or("", |(p, _)| p);
    format!("{party} {} [{statistic}]", describe_statistic(statistic))
}

/// Renders Sobol indices: per statistic, one line per input, largest total first.
pub fn render_sobol(sobol: &[crate::stress::sensitivity::Sobol]) -> String {
    let mut o = String::new();
    for s in sobol {
        let _ = writeln!(
            o,
            "\nSobol indices: {} (share of its variance across worlds; first order = the input alone, total = with its interactions)",
            describe_full(&s.statistic)
        );
        let w = s
            .indices
            .iter()
            .map(|i| i.input.len())
            .max()
            .unwrap_or(0)
            .max(34);
        let _ = writeln!(
            o,
            "   {:<w$} {:>22} {:>22}",
            "input", "first order (±se)", "total (±se)"
        );
        for i in &s.indices {
            let pct = |e: &Estimate| format!("{:6.1}% ±{:.1}", 100.0 * e.value, 100.0 * e.se);
            let _ = writeln!(
                o,
                "   {:<w$} {:>22} {:>22}",
                i.input,
                pct(&i.first),
                pct(&i.total)
            );
        }
    }
    o
}

/// `tornado.csv`: one row per statistic and input.
pub fn write_tornado(
    path: &Path,
    tornadoes: &[crate::stress::sensitivity::Tornado],
    hash: &str,
    config: &crate::engine::RunConfig,
) -> Result<PathBuf, Error> {
    let header = [
        "statistic",
        "input",
        "low_percentile",
        "high_percentile",
        "input_at_low",
        "input_at_high",
        "baseline",
        "at_low",
        "at_low_se",
        "at_high",
        "at_high_se",
        "change_at_low",
        "change_at_low_se",
        "change_at_low_lo95",
        "change_at_low_hi95",
        "change_at_high",
        "change_at_high_se",
        "change_at_high_lo95",
        "change_at_high_hi95",
        "swing",
        "sampling",
        "randomisations",
        "scenario_hash",
        "seed",
        "iterations",
        "pbrsim_version",
    ];
    let mut rows = Vec::new();
    for t in tornadoes {
        for b in &t.bars {
            let mut r = vec![
                t.statistic.clone(),
                b.input.clone(),
                csv_number(100.0 * t.percentiles.0),
                csv_number(100.0 * t.percentiles.1),
                csv_number(b.values.0),
                csv_number(b.values.1),
                csv_number(t.baseline.value),
            ];
            r.extend([
                csv_number(b.low.value),
                csv_number(b.low.se),
                csv_number(b.high.value),
                csv_number(b.high.se),
            ]);
            r.extend(estimate_columns(&b.low_change));
            r.extend(estimate_columns(&b.high_change));
            r.push(csv_number(b.swing()));
            r.extend(run_columns(hash, config));
            rows.push(r);
        }
    }
    write_csv(path, &header, &rows)
}

/// `sobol.csv`: one row per statistic and input.
pub fn write_sobol(
    path: &Path,
    sobol: &[crate::stress::sensitivity::Sobol],
    hash: &str,
    config: &crate::engine::RunConfig,
) -> Result<PathBuf, Error> {
    let header = [
        "statistic",
        "input",
        "first_order",
        "first_order_se",
        "first_order_lo95",
        "first_order_hi95",
        "total",
        "total_se",
        "total_lo95",
        "total_hi95",
        "variance",
        "sampling",
        "randomisations",
        "scenario_hash",
        "seed",
        "iterations",
        "pbrsim_version",
    ];
    let mut rows = Vec::new();
    for s in sobol {
        for i in &s.indices {
            let mut r = vec![s.statistic.clone(), i.input.clone()];
            r.extend(estimate_columns(&i.first));
            r.extend(estimate_columns(&i.total));
            r.push(csv_number(s.variance.value));
            r.extend(run_columns(hash, config));
            rows.push(r);
        }
    }
    write_csv(path, &header, &rows)
}

/// Renders the variance split per party.
pub fn render_split(split: &[crate::stress::sensitivity::Split]) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "\nWhat better evidence would buy: each party's variance, split between the uncertain parameters"
    );
    let _ = writeln!(
        o,
        "(epistemic: evidence could narrow it) and participant-level noise (aleatory: it could not)."
    );
    let _ = writeln!(
        o,
        "   {:<24} {:<14} {:>14} {:>14} {:>16} {:>16} {:>20}",
        "party", "statistic", "mean", "sd", "parameters", "participants", "sd if parameters known"
    );
    for s in split {
        if s.variance.value <= 0.0 {
            continue;
        }
        let share = |v: f64| format!("{:5.1}% ±{:.1}", 100.0 * v, 100.0 * s.parameters_share.se);
        let (sd, known) = (
            s.variance.value.sqrt(),
            s.participants.value.max(0.0).sqrt(),
        );
        let _ = writeln!(
            o,
            "   {:<24} {:<14} {:>14} {:>14} {:>16} {:>16} {:>20}",
            s.party,
            if s.statistic.ends_with(".failed") {
                "P(failure)"
            } else {
                "net"
            },
            fmt_value(s.unit, s.mean.value),
            fmt_value(s.unit, sd),
            share(s.parameters_share.value),
            share(1.0 - s.parameters_share.value),
            fmt_value(s.unit, known)
        );
    }
    o
}

/// The variance split as CSV: one row per party and statistic.
pub fn write_split(
    path: &Path,
    split: &[crate::stress::sensitivity::Split],
    hash: &str,
    config: &crate::engine::RunConfig,
) -> Result<PathBuf, Error> {
    let header = [
        "party",
        "statistic",
        "unit",
        "mean",
        "variance",
        "variance_se",
        "parameters_variance",
        "parameters_variance_se",
        "participants_variance",
        "participants_variance_se",
        "parameters_share",
        "share_se",
        "participants_share",
        "sampling",
        "randomisations",
        "scenario_hash",
        "seed",
        "iterations",
        "pbrsim_version",
    ];
    let rows: Vec<Vec<String>> = split
        .iter()
        .map(|s| {
            let mut r = vec![
                s.party.clone(),
                s.statistic.clone(),
                s.unit.as_str().into(),
                csv_number(s.mean.value),
                csv_number(s.variance.value),
                csv_number(s.variance.se),
            ];
            r.extend([
                csv_number(s.parameters.value),
                csv_number(s.parameters.se),
                csv_number(s.participants.value),
                csv_number(s.participants.se),
            ]);
            r.extend([
                csv_number(s.parameters_share.value),
                csv_number(s.parameters_share.se),
                csv_number(1.0 - s.parameters_share.value),
            ]);
            r.extend(run_columns(hash, config));
            r
        })
        .collect();
    write_csv(path, &header, &rows)
}

/// Renders reverse stress results: per direction (and all together) the
/// shock found and the rules describing failing worlds.
pub fn render_reverse(results: &[crate::stress::reverse::Reverse], p: f64) -> String {
    use crate::stress::solve::Solution;
    let mut o = String::new();
    for r in results {
        let names: Vec<String> = r.directions.iter().map(|d| d.describe(1.0)).collect();
        let _ = writeln!(
            o,
            "\n== {} (full size; P(failure) with no shock {})",
            names.join(" and "),
            fmt_probability(&r.baseline)
        );
        match &r.solution {
            Solution::Found {
                value, interval, ..
            } => {
                let at: Vec<String> = r.directions.iter().map(|d| d.describe(*value)).collect();
                let _ = writeln!(
                    o,
                    "   size {:.4} (95% interval {:.4} to {:.4}): {}",
                    value,
                    interval.0,
                    interval.1,
                    at.join(", ")
                );
            }
            Solution::Unreachable { at_low, .. } if at_low.value >= p => {
                let _ = writeln!(o, "   already at or above {:.0}% with no shock", 100.0 * p);
            }
            Solution::Unreachable { at_high, .. } => {
                let _ = writeln!(
                    o,
                    "   not reached: even the full shock gives P(failure) {}",
                    fmt_probability(at_high)
                );
            }
        }
        let _ = writeln!(
            o,
            "   at size {:.4}, P(failure) {}; the failing worlds:",
            r.described_at,
            fmt_probability(&r.failure)
        );
        if r.rules.is_empty() {
            let _ = writeln!(
                o,
                "     (no rules: fewer than {} failing or surviving worlds, or no uncertain parameter; run more iterations)",
                crate::stress::reverse::MIN_FAILURES
            );
        }
        for rule in &r.rules {
            let conds: Vec<String> = rule
                .conditions
                .iter()
                .map(|c| {
                    format!(
                        "{} {} {} (p{:.0})",
                        c.input,
                        if c.at_most { "<=" } else { ">" },
                        fmt_value(Unit::Draw, c.value),
                        100.0 * c.percentile
                    )
                })
                .collect();
            let _ = writeln!(
                o,
                "     if {}: {:.0}% fail; {:.0}% of worlds, {:.0}% of failures",
                conds.join(" and "),
                100.0 * rule.failure_rate,
                100.0 * rule.worlds,
                100.0 * rule.failures_covered
            );
        }
    }
    o
}

/// An analysis's cost: "the work of N runs" for `arms` arms, with the
/// months arms took from the baseline's when they did.
pub fn work_in_runs(arms: usize, runs: f64) -> String {
    if runs < arms as f64 - 0.005 {
        format!("the work of {runs:.2} runs: arms took the baseline's months before a late input")
    } else {
        format!("the work of {arms} runs")
    }
}

/// Six significant digits, for values found by a search.
pub fn fmt_found(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    let digits = (5 - math::log10(x.abs()).floor() as i32).clamp(0, 15) as usize;
    format!("{x:.digits$}")
}

/// Renders `pbrsim sensitivity`: the run line, then the tornadoes and the
/// Sobol indices that were computed.
pub fn render_sensitivity(
    origin: &str,
    config: &crate::engine::RunConfig,
    tornadoes: Option<&[crate::stress::sensitivity::Tornado]>,
    sobol: Option<&[crate::stress::sensitivity::Sobol]>,
) -> String {
    // The cost in runs: a tornado is the baseline and two arms per input,
    // Sobol indices two arms and one per input; arms that took the
    // baseline's months before a late input cost less than a run.
    let arms: Vec<(usize, f64, &str)> = [
        tornadoes
            .and_then(|t| t.first())
            .map(|t| (2 * t.bars.len() + 1, t.runs, "the tornado")),
        sobol
            .and_then(|s| s.first())
            .map(|s| (s.indices.len() + 2, s.runs, "the Sobol indices")),
    ]
    .into_iter()
    .flatten()
    .collect();
    let cost = if arms.is_empty() {
        String::new()
    } else {
        let parts: Vec<String> = arms
            .iter()
            .map(|(n, _, what)| format!("{n} arms for {what}"))
            .collect();
        let count: usize = arms.iter().map(|(n, _, _)| n).sum();
        let runs: f64 = arms.iter().map(|(_, r, _)| r).sum();
        format!(": {} ({})", parts.join(" and "), work_in_runs(count, runs))
    };
    let mut o = format!(
        "{origin}: {} iterations per arm on common random numbers{}, seed {}{cost}.\n",
        config.iterations,
        sampled(config),
        config.seed
    );
    if let Some(t) = tornadoes {
        o += &render_tornado(t);
    }
    if let Some(s) = sobol {
        o += &render_sobol(s);
    }
    o
}

/// Renders `pbrsim evidence`: the run line, then the variance split.
pub fn render_evidence(
    origin: &str,
    config: &crate::engine::RunConfig,
    split: &[crate::stress::sensitivity::Split],
) -> String {
    format!(
        "{origin}: {} worlds, each run with two independent sets of participants, seed {}.\n{}",
        config.iterations,
        config.seed,
        render_split(split)
    )
}

/// The text of a value set by `solve --vary`: whole when the search is
/// over whole values, else as the scenario format writes a float.
pub fn varied_value(x: f64, integer: bool) -> String {
    if integer {
        format!("{}", x as i64)
    } else {
        crate::scenario::value_text(&toml::Value::Float(x))
    }
}

/// A solve and its answer, as `pbrsim solve` reports it.
pub struct SolveReport<'a> {
    /// Where the scenario came from.
    pub origin: &'a str,
    /// The path of the value varied.
    pub vary: &'a str,
    /// The statistic's name (`esa_charity.failed`).
    pub statistic: &'a str,
    /// The statistic's unit.
    pub unit: Unit,
    /// The value the statistic should take.
    pub target: f64,
    /// The range searched.
    pub range: (f64, f64),
    /// Only whole values were searched.
    pub integer: bool,
    /// Iterations per value and seed.
    pub config: &'a crate::engine::RunConfig,
    /// The answer.
    pub solution: &'a crate::stress::solve::Solution,
    /// The values evaluated on the way, in order, with their estimates.
    pub evaluated: &'a [(f64, Estimate)],
}

impl SolveReport<'_> {
    fn found(&self, x: f64) -> String {
        if self.integer {
            varied_value(x, true)
        } else {
            fmt_found(x)
        }
    }

    fn show(&self, e: &Estimate) -> String {
        if self.unit == Unit::Probability {
            fmt_probability(e)
        } else {
            fmt_interval(self.unit, e)
        }
    }

    /// `Ok` when a value was found; [`Error::Unreachable`] when the
    /// statistic does not cross the target in the range.
    pub fn outcome(&self) -> Result<(), Error> {
        match self.solution {
            crate::stress::solve::Solution::Found { .. } => Ok(()),
            crate::stress::solve::Solution::Unreachable { .. } => Err(Error::Unreachable(format!(
                "the target {} is unreachable for {} between {} and {}",
                self.target,
                self.vary,
                varied_value(self.range.0, self.integer),
                varied_value(self.range.1, self.integer)
            ))),
        }
    }
}

/// Renders `pbrsim solve`: the question, then the value found with its
/// interval, or the statistic at both ends when the target is unreachable.
pub fn render_solve(r: &SolveReport) -> String {
    use crate::stress::solve::Solution;
    let (lo, hi) = r.range;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{}: {} = ? so that {} = {} ({} iterations per value, common random numbers{}, seed {}).",
        r.origin,
        r.vary,
        r.statistic,
        fmt_value(r.unit, r.target),
        r.config.iterations,
        sampled(r.config),
        r.config.seed
    );
    match r.solution {
        Solution::Found {
            value,
            interval,
            achieved,
            evaluations,
        } => {
            let _ = writeln!(
                o,
                "  {} = {}   95% interval {} to {}   ({} values evaluated)",
                r.vary,
                r.found(*value),
                r.found(interval.0),
                r.found(interval.1),
                evaluations
            );
            let _ = writeln!(o, "  {} there: {}", r.statistic, r.show(achieved));
            if interval.0 <= lo || interval.1 >= hi {
                let _ = writeln!(
                    o,
                    "  the interval reaches the end of --between: widen the range or run more iterations (-n) to close it"
                );
            }
        }
        Solution::Unreachable { at_low, at_high } => {
            let _ = writeln!(
                o,
                "  unreachable in range: {} is {} at {} = {} and {} at {}; it does not cross {} in between.",
                r.statistic,
                r.show(at_low),
                r.vary,
                varied_value(lo, r.integer),
                r.show(at_high),
                varied_value(hi, r.integer),
                fmt_value(r.unit, r.target)
            );
        }
    }
    o
}

/// `solve.csv`: one row, the answer of a solve (columns in
/// `docs/outputs.md`).
/// Writes `solve_path.csv`: one row per value evaluated, in order.
pub fn write_solve_path(path: &Path, r: &SolveReport, hash: &str) -> Result<PathBuf, Error> {
    let header = [
        "evaluation",
        "vary",
        "value",
        "statistic",
        "estimate",
        "estimate_se",
        "sampling",
        "randomisations",
        "scenario_hash",
        "seed",
        "iterations",
        "pbrsim_version",
    ];
    let rows: Vec<Vec<String>> = r
        .evaluated
        .iter()
        .enumerate()
        .map(|(i, (x, e))| {
            vec![
                (i + 1).to_string(),
                r.vary.to_string(),
                csv_number(*x),
                r.statistic.to_string(),
                csv_number(e.value),
                csv_number(e.se),
            ]
            .into_iter()
            .chain(run_columns(hash, r.config))
            .collect()
        })
        .collect();
    write_csv(path, &header, &rows)
}

/// Writes `solve.csv`: the answer, one row.
pub fn write_solve(path: &Path, r: &SolveReport, hash: &str) -> Result<PathBuf, Error> {
    use crate::stress::solve::Solution;
    let header = [
        "vary",
        "low",
        "high",
        "statistic",
        "target",
        "status",
        "value",
        "value_lo95",
        "value_hi95",
        "evaluations",
        "statistic_at_value",
        "statistic_at_value_se",
        "statistic_at_low",
        "statistic_at_low_se",
        "statistic_at_high",
        "statistic_at_high_se",
        "sampling",
        "randomisations",
        "scenario_hash",
        "seed",
        "iterations",
        "pbrsim_version",
    ];
    let empty = || [String::new(), String::new()];
    let pair = |e: &Estimate| [csv_number(e.value), csv_number(e.se)];
    let mut row = vec![
        r.vary.to_string(),
        csv_number(r.range.0),
        csv_number(r.range.1),
        r.statistic.to_string(),
        csv_number(r.target),
    ];
    match r.solution {
        Solution::Found {
            value,
            interval,
            achieved,
            evaluations,
        } => {
            row.extend([
                "found".to_string(),
                csv_number(*value),
                csv_number(interval.0),
                csv_number(interval.1),
                evaluations.to_string(),
            ]);
            row.extend(pair(achieved));
            row.extend(empty());
            row.extend(empty());
        }
        Solution::Unreachable { at_low, at_high } => {
            row.extend(["unreachable".to_string()]);
            row.extend(std::iter::repeat_n(String::new(), 4));
            row.extend(empty());
            row.extend(pair(at_low));
            row.extend(pair(at_high));
        }
    }
    row.extend(run_columns(hash, r.config));
    write_csv(path, &header, &[row])
}

/// Renders `pbrsim reverse-stress`: the question, then per direction (and
/// all together) the shock found and the rules describing failing worlds.
pub fn render_reverse_stress(
    origin: &str,
    party: &str,
    p: f64,
    config: &crate::engine::RunConfig,
    results: &[crate::stress::reverse::Reverse],
) -> String {
    format!(
        "{origin}: the smallest shock at which {party} fails with probability >= {p} ({} iterations per size{}, seed {}).\n{}",
        config.iterations,
        sampled(config),
        config.seed,
        render_reverse(results, p)
    )
}

/// `reverse_stress.csv` (one row per search: the directions shocked
/// together and the size found) and `failure_rules.csv` (one row per rule
/// describing the failing worlds); columns in `docs/outputs.md`.
pub fn write_reverse_stress(
    dir: &Path,
    party: &str,
    p: f64,
    results: &[crate::stress::reverse::Reverse],
    hash: &str,
    config: &crate::engine::RunConfig,
) -> Result<Vec<PathBuf>, Error> {
    use crate::stress::solve::Solution;
    let header = [
        "search",
        "directions",
        "party",
        "probability",
        "status",
        "size",
        "size_lo95",
        "size_hi95",
        "baseline_failure",
        "baseline_failure_se",
        "described_at",
        "failure",
        "failure_se",
        "sampling",
        "randomisations",
        "scenario_hash",
        "seed",
        "iterations",
        "pbrsim_version",
    ];
    let mut searches = Vec::new();
    let mut rules = Vec::new();
    for (i, r) in results.iter().enumerate() {
        let names: Vec<String> = r.directions.iter().map(|d| d.describe(1.0)).collect();
        let mut row = vec![
            (i + 1).to_string(),
            names.join(" and "),
            party.to_string(),
            csv_number(p),
        ];
        match &r.solution {
            Solution::Found {
                value, interval, ..
            } => row.extend([
                "found".to_string(),
                csv_number(*value),
                csv_number(interval.0),
                csv_number(interval.1),
            ]),
            Solution::Unreachable { at_low, .. } => row.extend([
                if at_low.value >= p {
                    "already_failing"
                } else {
                    "not_reached"
                }
                .to_string(),
                String::new(),
                String::new(),
                String::new(),
            ]),
        }
        row.extend([
            csv_number(r.baseline.value),
            csv_number(r.baseline.se),
            csv_number(r.described_at),
            csv_number(r.failure.value),
            csv_number(r.failure.se),
        ]);
        row.extend(run_columns(hash, config));
        searches.push(row);
        for (k, rule) in r.rules.iter().enumerate() {
            let conds: Vec<String> = rule
                .conditions
                .iter()
                .map(|c| {
                    format!(
                        "{} {} {}",
                        c.input,
                        if c.at_most { "<=" } else { ">" },
                        csv_number(c.value)
                    )
                })
                .collect();
            let mut row = vec![
                (i + 1).to_string(),
                (k + 1).to_string(),
                conds.join(" and "),
                csv_number(rule.failure_rate),
                csv_number(rule.worlds),
                csv_number(rule.failures_covered),
            ];
            row.extend(run_columns(hash, config));
            rules.push(row);
        }
    }
    let rule_header = [
        "search",
        "rule",
        "conditions",
        "failure_rate",
        "worlds",
        "failures_covered",
        "sampling",
        "randomisations",
        "scenario_hash",
        "seed",
        "iterations",
        "pbrsim_version",
    ];
    Ok(vec![
        write_csv(&dir.join("reverse_stress.csv"), &header, &searches)?,
        write_csv(&dir.join("failure_rules.csv"), &rule_header, &rules)?,
    ])
}
