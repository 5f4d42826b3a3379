//! A calibration summary over many back-tests and re-forecasts
//! (docs/backtesting.md, "Calibration over many contracts"): every case's
//! PIT gathered from `backtest.csv` and `reforecast.csv` files, and how
//! many fall inside their central 50% and 90% bands against what a
//! calibrated forecast would give.
//!
//! A case is one series of one back-test, placed by its last running total
//! (the whole of what was realised), or one series of one re-forecast,
//! placed by what was realised after `--at`, in the prior and in the
//! re-forecast. If the forecasts are calibrated and the cases independent,
//! the count inside a central `p` band is Binomial(n, p): the report gives
//! its central 95% range, so a count outside it is evidence of
//! miscalibration at about the 5% level.

use crate::error::Error;
use crate::math;
use crate::output::{csv_number, write_atomic};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Which forecast a case's PIT is from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Forecast {
    /// A back-test's predictive distribution.
    Backtest,
    /// A re-forecast's prior (the forecast at contract).
    Prior,
    /// A re-forecast.
    Reforecast,
}

impl Forecast {
    fn as_str(self) -> &'static str {
        match self {
            Forecast::Backtest => "backtest",
            Forecast::Prior => "prior",
            Forecast::Reforecast => "reforecast",
        }
    }
}

/// One realised value placed in one forecast.
#[derive(Clone, Debug, PartialEq)]
pub struct Case {
    /// The file it came from.
    pub source: PathBuf,
    /// The forecast.
    pub forecast: Forecast,
    /// The series (a back-test's) or figure (a re-forecast's).
    pub series: String,
    /// The realised value.
    pub realised: f64,
    /// Its PIT.
    pub pit: f64,
}

/// The `backtest.csv` and `reforecast.csv` files under `paths` (files as
/// given; directories searched recursively), in path order.
pub fn find(paths: &[PathBuf]) -> Result<Vec<PathBuf>, Error> {
    let mut found = Vec::new();
    for p in paths {
        if p.is_dir() {
            walk(p, &mut found)?;
        } else if p.is_file() {
            found.push(p.clone());
        } else {
            return Err(Error::Setting(format!(
                "{}: no such file or directory",
                p.display()
            )));
        }
    }
    if found.is_empty() {
        return Err(Error::Setting(
            "no backtest.csv or reforecast.csv found: give the files, or the directories `pbrsim backtest --out` and `pbrsim reforecast --out` wrote".into(),
        ));
    }
    Ok(found)
}

fn walk(dir: &Path, found: &mut Vec<PathBuf>) -> Result<(), Error> {
    let io = |e: std::io::Error| Error::Setting(format!("{}: {e}", dir.display()));
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(io)?;
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, found)?;
        } else if p
            .file_name()
            .is_some_and(|n| n == "backtest.csv" || n == "reforecast.csv")
        {
            found.push(p);
        }
    }
    Ok(())
}

/// The cases of one file: a back-test's last running total per series, or
/// a re-forecast's realised totals after `--at`.
pub fn read(path: &Path) -> Result<Vec<Case>, Error> {
    let text = crate::scenario::read_text(path)?;
    let bad = |what: String| Error::Setting(format!("{}: {what}", path.display()));
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader.headers().map_err(|e| bad(e.to_string()))?.clone();
    let column = |name: &str| header.iter().position(|h| h == name);
    let number = |record: &csv::StringRecord, k: usize, line: u64| -> Result<f64, Error> {
        record
            .get(k)
            .and_then(|v| v.parse::<f64>().ok())
            .ok_or_else(|| {
                bad(format!(
                    "line {line}: column {} is not a number",
                    &header[k]
                ))
            })
    };
    let mut cases: Vec<Case> = Vec::new();
    if let (Some(kind), Some(series), Some(realised), Some(pit)) = (
        column("kind"),
        column("series"),
        column("realised"),
        column("pit"),
    ) {
        for record in reader.records() {
            let record = record.map_err(|e| bad(e.to_string()))?;
            let line = record.position().map_or(0, |p| p.line());
            if record.get(kind) != Some("cumulative") {
                continue;
            }
            let case = Case {
                source: path.to_path_buf(),
                forecast: Forecast::Backtest,
                series: record.get(series).unwrap_or("").to_string(),
                realised: number(&record, realised, line)?,
                pit: number(&record, pit, line)?,
            };
            // Running totals come in month order: keep each series' last.
            match cases.iter_mut().find(|c| c.series == case.series) {
                Some(c) => *c = case,
                None => cases.push(case),
            }
        }
    } else if let (Some(figure), Some(realised), Some(prior_pit), Some(pit)) = (
        column("figure"),
        column("realised"),
        column("prior_pit"),
        column("pit"),
    ) {
        for record in reader.records() {
            let record = record.map_err(|e| bad(e.to_string()))?;
            let line = record.position().map_or(0, |p| p.line());
            if record.get(realised).is_none_or(|v| v.is_empty()) {
                continue;
            }
            let name = record.get(figure).unwrap_or("").to_string();
            for (forecast, k) in [(Forecast::Prior, prior_pit), (Forecast::Reforecast, pit)] {
                cases.push(Case {
                    source: path.to_path_buf(),
                    forecast,
                    series: name.clone(),
                    realised: number(&record, realised, line)?,
                    pit: number(&record, k, line)?,
                });
            }
        }
    } else {
        return Err(bad(
            "not a backtest.csv or reforecast.csv (no `kind`, `series`, `realised`, `pit` or `figure`, `realised`, `prior_pit`, `pit` columns)".into(),
        ));
    }
    Ok(cases)
}

/// How many of `pits` lie inside the central `level` band.
fn inside(pits: &[f64], level: f64) -> usize {
    let (lo, hi) = ((1.0 - level) / 2.0, (1.0 + level) / 2.0);
    pits.iter().filter(|&&p| p >= lo && p <= hi).count()
}

/// The central 95% range of Binomial(n, p).
pub fn binomial_range(n: usize, p: f64) -> (u64, u64) {
    let n = n as u64;
    (
        math::binomial_quantile(0.025, n, p),
        math::binomial_quantile(0.975, n, p),
    )
}

/// The report printed by `pbrsim calibration`.
pub fn render(cases: &[Case], files: usize) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} cases from {files} files; a calibrated forecast puts each count inside its binomial 95% range",
        cases.len()
    );
    let _ = writeln!(
        s,
        "{:<36} {:>5}   {:>22}   {:>22}   {:>8}",
        "forecast", "cases", "inside 50% band", "inside 90% band", "mean PIT"
    );
    for (forecast, label) in [
        (Forecast::Backtest, "back-tests: whole realised series"),
        (Forecast::Prior, "re-forecasts' priors: after --at"),
        (Forecast::Reforecast, "re-forecasts: after --at"),
    ] {
        let pits: Vec<f64> = cases
            .iter()
            .filter(|c| c.forecast == forecast)
            .map(|c| c.pit)
            .collect();
        if pits.is_empty() {
            continue;
        }
        let n = pits.len();
        let count = |level: f64| {
            let (lo, hi) = binomial_range(n, level);
            format!("{} (range {lo}..{hi})", inside(&pits, level))
        };
        let _ = writeln!(
            s,
            "{label:<36} {n:>5}   {:>22}   {:>22}   {:>8.2}",
            count(0.5),
            count(0.9),
            pits.iter().sum::<f64>() / n as f64
        );
        let mut deciles = [0usize; 10];
        for p in &pits {
            deciles[((p * 10.0) as usize).min(9)] += 1;
        }
        let _ = writeln!(
            s,
            "  PITs by tenth, 0 to 1: {}",
            deciles.map(|d| d.to_string()).join(" ")
        );
    }
    s
}

/// Writes `calibration.csv` into `dir`: one row per case.
pub fn write(dir: &Path, cases: &[Case]) -> Result<PathBuf, Error> {
    crate::output::create_dir(dir)?;
    let path = dir.join("calibration.csv");
    write_atomic(&path, |w| {
        let mut out = csv::Writer::from_writer(w);
        out.write_record([
            "source",
            "forecast",
            "series",
            "realised",
            "pit",
            "inside_50",
            "inside_90",
            "pbrsim_version",
        ])?;
        for c in cases {
            out.write_record([
                c.source.display().to_string(),
                c.forecast.as_str().to_string(),
                c.series.clone(),
                csv_number(c.realised),
                csv_number(c.pit),
                (0.25..=0.75).contains(&c.pit).to_string(),
                (0.05..=0.95).contains(&c.pit).to_string(),
                crate::VERSION.to_string(),
            ])?;
        }
        out.flush()
    })?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use statrs::distribution::{Binomial, DiscreteCDF};

    /// The range holds at least 95% of a binomial's mass, and no smaller
    /// central range does at each end.
    #[test]
    fn the_binomial_range_holds_95_percent() {
        for (n, p) in [(15, 0.5), (15, 0.9), (100, 0.9), (1, 0.5)] {
            let (lo, hi) = binomial_range(n, p);
            let b = Binomial::new(p, n as u64).unwrap();
            let below = if lo == 0 { 0.0 } else { b.cdf(lo - 1) };
            assert!(below <= 0.025 && b.cdf(lo) >= 0.025, "{n} {p}");
            assert!(
                b.cdf(hi) >= 0.975 && (hi == 0 || b.cdf(hi - 1) < 0.975),
                "{n} {p}"
            );
        }
        assert_eq!(binomial_range(15, 0.5), (4, 11));
    }
}
