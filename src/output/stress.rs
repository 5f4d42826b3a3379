//! Reports and tables of the stress-testing commands.

use super::{csv_number, fmt_pounds, write_atomic};
use crate::error::Error;
use crate::figures::Unit;
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
        Unit::Month | Unit::Draw => format!("{x:.4}"),
    }
}

/// An estimate with its 95% interval.
pub fn fmt_interval(unit: Unit, e: &Estimate) -> String {
    let (lo, hi) = e.interval();
    if lo.is_finite() {
        format!("{} ({} to {})", fmt_value(unit, e.value), fmt_value(unit, lo), fmt_value(unit, hi))
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
pub fn render_stresses(scenario: &str, prepared: &[Prepared], rows: &[StressRow], iterations: u64, seed: u64) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "Stresses of {scenario}: {} iterations on common random numbers, seed {seed}.", fmt_pounds(iterations as f64));
    let _ = writeln!(o, "Change = stressed - baseline, world by world; intervals are 95% (jackknife over batches).");
    for p in prepared {
        let s = &p.stress;
        let _ = writeln!(o, "\n== {}{}", s.name, if s.description.is_empty() { String::new() } else { format!(": {}", s.description) });
        if !s.source.is_empty() {
            let _ = writeln!(o, "   source: {}", s.source);
        }
        if !p.overrides.is_empty() {
            let sets: Vec<String> = p.overrides.iter().filter(|o| !(o.path.ends_with(".shift") && o.value == "0.0")).map(|o| format!("{}={}", o.path, o.value)).collect();
            let _ = writeln!(o, "   shocks: {}", sets.join(", "));
        }
        for b in &s.bands {
            let _ = writeln!(o, "   band: {} in percentiles [{}, {}] of its draws (results are conditional on it)", b.input, b.percentiles.0, b.percentiles.1);
        }
        let _ = writeln!(o, "   {:<24} {:<30} {:>14} {:>14}   change (95% interval)", "party", "statistic", "baseline", "stressed");
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
        std::fs::create_dir_all(dir).map_err(|source| Error::Write { path: dir.to_path_buf(), source })?;
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
    [csv_number(e.value), csv_number(e.se), csv_number(lo), csv_number(hi)]
}

/// `stress.csv`: one row per stress, party and statistic.
pub fn write_stresses(path: &Path, rows: &[StressRow], scenario_hash: &str, iterations: u64, seed: u64) -> Result<PathBuf, Error> {
    let header = [
        "stress", "party", "statistic", "unit", "baseline", "baseline_se", "stressed", "stressed_se", "change", "change_se", "change_lo95", "change_hi95", "scenario_hash", "seed", "iterations", "pbrsim_version",
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
                scenario_hash.into(),
                seed.to_string(),
                iterations.to_string(),
                crate::VERSION.into(),
            ]
        })
        .collect();
    write_csv(path, &header, &table)
}
