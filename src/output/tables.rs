//! Machine-readable outputs: `summary.json`, `figures.csv`, `monthly.csv`,
//! and `draws.csv` (one row per iteration, on request).
//!
//! CSVs are tidy (one observation per row, snake_case headers) and every
//! row carries the run's identity columns, so files can be concatenated
//! across runs and still be told apart.

use super::{RunInfo, write_atomic};
use crate::engine::{RunResult, Summary};
use crate::error::Error;
use crate::figures::Unit;
use crate::math;
use crate::stats::ratio_of_means;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// Quantile levels reported for every figure unless `--quantiles` says
/// otherwise.
pub const FIGURE_QUANTILES: [f64; 3] = [0.05, 0.5, 0.95];

/// Column name of a quantile level: `p5`, `p50`, `p2_5`, `p99_9`.
pub fn quantile_column(p: f64) -> String {
    let pct = format!("{}", (p * 1000.0).round() / 10.0);
    format!("p{}", pct.replace('.', "_"))
}
/// Quantile levels of the monthly fan tables.
pub const MONTHLY_QUANTILES: [f64; 5] = [0.05, 0.25, 0.5, 0.75, 0.95];

fn id_columns(info: &RunInfo) -> [String; 4] {
    [
        info.scenario_hash.clone(),
        info.seed.to_string(),
        info.iterations.to_string(),
        info.version.clone(),
    ]
}

const ID_HEADERS: [&str; 4] = ["scenario_hash", "seed", "iterations", "pbrsim_version"];

/// A number as a CSV cell: shortest round-trip form; empty when undefined.
pub fn csv_number(x: f64) -> String {
    if x.is_finite() {
        format!("{x}")
    } else {
        String::new()
    }
}

fn jnum(x: f64) -> Value {
    if x.is_finite() { json!(x) } else { Value::Null }
}

/// The summary of every figure as JSON-ready records.
pub fn figure_records(result: &RunResult, quantiles: &[f64]) -> Vec<Value> {
    let s = &result.summary;
    result
        .catalog
        .figures
        .iter()
        .enumerate()
        .map(|(k, f)| {
            let m = &s.moments[k];
            let q = &s.sketches[k];
            let probability = f.unit == Unit::Probability;
            let mut rec = json!({
                "party": f.party,
                "figure": f.name,
                "unit": f.unit.as_str(),
                "n": m.n,
                "mean": jnum(m.mean()),
                "mean_se": jnum(s.mean_se(k, probability)),
                "sd": jnum(m.sd()),
                "min": jnum(m.min),
                "max": jnum(m.max),
            });
            let sorted = q.sorted();
            for &p in quantiles {
                let name = quantile_column(p);
                rec[&name] = jnum(sorted.quantile(p));
                rec[format!("{name}_se")] = jnum(s.quantile_se_sorted(k, p, &sorted));
            }
            rec
        })
        .collect()
}

/// Value at risk and expected shortfall of every money figure at each
/// level: per record party, figure, level, tail, estimates and standard
/// errors.
pub fn risk_records(result: &RunResult, levels: &[f64]) -> Vec<Value> {
    let s = &result.summary;
    let mut out = Vec::new();
    for (k, f) in result.catalog.figures.iter().enumerate() {
        if f.unit != Unit::Money {
            continue;
        }
        let sketch = &s.sketches[k];
        let sorted = sketch.sorted();
        let upper = f.worse_when_high();
        for &level in levels {
            let tail = 1.0 - level;
            let Some((var, es, tail_var)) = sorted.tail(tail, upper) else {
                continue;
            };
            let n = sketch.len() as f64;
            // Asymptotic variance of the tail-mean estimator (Brazauskas et
            // al. 2008): [Var(X | tail) + (1 - p) (ES - VaR)^2] / (n p).
            let es_se = if s.randomised() {
                // The formula assumes independent draws.
                f64::NAN
            } else {
                ((tail_var + (1.0 - tail) * math::powi(es - var, 2)) / (n * tail)).sqrt()
            };
            out.push(json!({
                "party": f.party,
                "figure": f.name,
                "level": level,
                "tail": if upper { "upper" } else { "lower" },
                "value_at_risk": jnum(var),
                "value_at_risk_se": jnum(s.quantile_se_sorted(
                    k,
                    if upper { level } else { tail },
                    &sorted
                )),
                "expected_shortfall": jnum(es),
                "expected_shortfall_se": jnum(es_se),
            }));
        }
    }
    out
}

/// Who bears the downside, per party and level: the mean contribution to
/// the contract's net value in its worst `1 - level` of worlds, its share
/// of the total there, and the party's share of the total's variance.
pub fn allocation_records(result: &RunResult, levels: &[f64]) -> Vec<Value> {
    let mut out = Vec::new();
    for &level in levels {
        let shares = result.summary.allocation.shares(1.0 - level);
        // Batch means assume independent draws.
        let se = |x: f64| {
            if result.summary.randomised() {
                f64::NAN
            } else {
                x
            }
        };
        for ((_, id, _), s) in result.catalog.parties.iter().zip(shares) {
            out.push(json!({
                "party": id,
                "level": level,
                "tail_mean_contribution": jnum(s.tail_mean),
                "tail_mean_contribution_se": jnum(se(s.tail_mean_se)),
                "tail_share": jnum(s.tail_share),
                "variance_share": jnum(s.variance_share),
                "variance_share_se": jnum(se(s.variance_share_se)),
            }));
        }
    }
    out
}

/// A named run-level ratio of means with its delta-method standard error,
/// or `None` when undefined.
pub fn ratio(result: &RunResult, name: &str) -> Option<(f64, f64)> {
    let i = result.catalog.ratios.iter().position(|r| r.name == name)?;
    let (x, y, xy) = &result.summary.ratios[i];
    let (value, se) = ratio_of_means(x, y, xy)?;
    let r = &result.catalog.ratios[i];
    let replicate = result.summary.replicate_se(|mean| {
        let sum = |ks: &[usize]| ks.iter().map(|&k| mean(k)).sum::<f64>();
        sum(&r.numerator) / sum(&r.denominator)
    });
    Some((value, replicate.unwrap_or(se)))
}

/// The ratio `E[payments] / E[attributable outcomes]`, or `None`.
pub fn cost_per_attributable_outcome(result: &RunResult) -> Option<(f64, f64)> {
    ratio(result, "cost_per_attributable_outcome")
}

/// Writes one CSV of JSON records: the named columns (text as is, numbers
/// formatted, undefined as empty), then the run identity.
fn write_records(
    path: &Path,
    columns: &[String],
    records: &[Value],
    info: &RunInfo,
) -> Result<(), Error> {
    write_atomic(path, |w| {
        let mut c = csv::Writer::from_writer(w);
        c.write_record(columns.iter().map(|s| s.as_str()).chain(ID_HEADERS))?;
        for r in records {
            let cell = |k: &str| match &r[k] {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.as_f64().map_or(String::new(), csv_number),
                _ => String::new(),
            };
            c.write_record(columns.iter().map(|k| cell(k)).chain(id_columns(info)))?;
        }
        c.flush()
    })
}

/// Writes `summary.json` and the CSV tables into `dir`.
pub fn write_outputs(
    dir: &Path,
    info: &RunInfo,
    result: &RunResult,
    model: &crate::model::Model,
) -> Result<Vec<PathBuf>, Error> {
    super::create_dir(dir)?;
    let records = figure_records(result, &info.quantiles);
    let h = model.horizon;
    let s = &result.summary;
    let failures: Vec<Value> = result
        .catalog
        .parties
        .iter()
        .enumerate()
        .filter(|(_, (a, _, _))| model.provider_of_account(*a).is_some())
        .map(|(p, (_, id, _))| {
            let mut cum = 0;
            let by_month: Vec<f64> = (0..h)
                .map(|t| {
                    cum += s.failures_by_month[p * h + t];
                    cum as f64 / s.iterations as f64
                })
                .collect();
            json!({ "party": id, "cumulative_probability_by_month": by_month })
        })
        .collect();
    let randomisations = s.replicates.as_ref().map(|r| r.count);
    let sampling = match randomisations {
        Some(r) => json!({"method": "sobol", "randomisations": r}),
        None => json!({"method": "monte-carlo"}),
    };
    let notes = match randomisations {
        Some(_) => json!({
            "mean_se": "standard error from the spread of the independent randomisations' means (also for probabilities and ratios)",
            "quantile_se": "standard error from the spread of the randomisations' quantiles, for each party's net; other quantiles' errors are not estimated (empty)",
            "quantiles": "exact (type 7) up to 10000 iterations, then within 0.2% relative error",
        }),
        None => json!({
            "mean_se": "Monte Carlo standard error of the mean (binomial for probabilities)",
            "quantile_se": "half-width of a distribution-free 95% order-statistic interval divided by 1.96",
            "quantiles": "exact (type 7) up to 10000 iterations, then within 0.2% relative error",
        }),
    };
    let summary = json!({
        "pbrsim_version": info.version,
        "scenario": { "name": info.scenario_name, "origin": info.scenario_origin, "hash": info.scenario_hash, "overrides": info.overrides },
        "seed": info.seed,
        "iterations": info.iterations,
        "sampling": sampling,
        "currency": model.currency,
        "horizon_months": h,
        "parties": result.catalog.parties.iter().map(|(account, id, label)| match model.provider_of_account(*account) {
            // Providers' buffers, for charts of their cash: they fail
            // when cash falls below minus the credit line.
            Some(d) => json!({"id": id, "label": label, "reserves": crate::model::to_pounds(model.providers[d].reserves), "credit_line": crate::model::to_pounds(model.providers[d].credit_line)}),
            None => json!({"id": id, "label": label}),
        }).collect::<Vec<_>>(),
        "ratios": result.catalog.ratios.iter().map(|r| (r.name.to_string(), ratio(result, &r.name).map_or(Value::Null, |(e, se)| json!({"estimate": e, "se": se, "method": if randomisations.is_some() { "ratio of means, standard error from the randomisations' ratios" } else { "ratio of means, delta-method standard error" }})))).collect::<serde_json::Map<String, Value>>(),
        "figures": records,
        "risk": risk_records(result, &info.risk_levels),
        "allocation": allocation_records(result, &info.risk_levels),
        "failure": failures,
        "notes": notes,
    });
    let mut written = Vec::new();
    let path = dir.join("summary.json");
    write_atomic(&path, |w| {
        serde_json::to_writer_pretty(&mut *w, &summary)?;
        writeln!(w)
    })?;
    written.push(path);

    let mut stats: Vec<String> = ["unit", "n", "mean", "mean_se", "sd"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for &p in &info.quantiles {
        stats.push(quantile_column(p));
        stats.push(format!("{}_se", quantile_column(p)));
    }
    stats.extend(["min", "max"].iter().map(|s| s.to_string()));
    let tables: [(&str, Vec<String>, Vec<Value>); 3] = [
        (
            "figures.csv",
            ["party", "figure"]
                .iter()
                .map(|s| s.to_string())
                .chain(stats)
                .collect(),
            records,
        ),
        (
            "risk.csv",
            [
                "party",
                "figure",
                "level",
                "tail",
                "value_at_risk",
                "value_at_risk_se",
                "expected_shortfall",
                "expected_shortfall_se",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
            risk_records(result, &info.risk_levels),
        ),
        (
            "allocation.csv",
            [
                "party",
                "level",
                "tail_mean_contribution",
                "tail_mean_contribution_se",
                "tail_share",
                "variance_share",
                "variance_share_se",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
            allocation_records(result, &info.risk_levels),
        ),
    ];
    for (name, columns, rows) in tables {
        let path = dir.join(name);
        write_records(&path, &columns, &rows, info)?;
        written.push(path);
    }

    let path = dir.join("monthly.csv");
    write_atomic(&path, |w| {
        let mut c = csv::Writer::from_writer(w);
        let mut header = vec![
            "party",
            "month",
            "series",
            "mean",
            "p5",
            "p25",
            "p50",
            "p75",
            "p95",
            "cumulative_failure_probability",
        ];
        header.extend(ID_HEADERS);
        c.write_record(&header)?;
        for (p, (account, id, _)) in result.catalog.parties.iter().enumerate() {
            let mut cum = 0;
            for t in 0..h {
                cum += s.failures_by_month[p * h + t];
                let fail = if model.provider_of_account(*account).is_some() {
                    csv_number(cum as f64 / s.iterations as f64)
                } else {
                    String::new()
                };
                for (series, sk, mean) in [
                    (
                        "cash_flow",
                        &s.flow,
                        Summary::flow_mean as fn(&Summary, usize) -> f64,
                    ),
                    ("cumulative_cash", &s.cash, Summary::cash_mean),
                ] {
                    let cell = p * h + t;
                    let mut row = vec![
                        id.clone(),
                        t.to_string(),
                        series.to_string(),
                        csv_number(mean(s, cell)),
                    ];
                    let sorted = sk[cell].sorted();
                    row.extend(
                        MONTHLY_QUANTILES
                            .iter()
                            .map(|&q| csv_number(sorted.quantile(q))),
                    );
                    row.push(fail.clone());
                    row.extend(id_columns(info));
                    c.write_record(&row)?;
                }
            }
        }
        c.flush()
    })?;
    written.push(path);

    let path = dir.join("distribution.csv");
    write_atomic(&path, |w| {
        let mut c = csv::Writer::from_writer(w);
        let mut header = vec!["party", "figure", "bin", "low", "high", "probability"];
        header.extend(ID_HEADERS);
        c.write_record(&header)?;
        for (k, f) in result.catalog.figures.iter().enumerate() {
            let sketch = &s.sketches[k];
            if f.name != "net" || f.party == "draw" || sketch.is_empty() {
                continue;
            }
            for (bin, (low, high, p)) in histogram(sketch).into_iter().enumerate() {
                let mut row = vec![
                    f.party.clone(),
                    f.name.clone(),
                    bin.to_string(),
                    csv_number(low),
                    csv_number(high),
                    csv_number(p),
                ];
                row.extend(id_columns(info));
                c.write_record(&row)?;
            }
        }
        c.flush()
    })?;
    written.push(path);
    Ok(written)
}

/// Bins of a net-value histogram (`distribution.csv`).
pub const HISTOGRAM_BINS: usize = 40;

/// A figure's histogram from its sketch: [`HISTOGRAM_BINS`] equal bins
/// from the lowest to the highest value, as `(low, high, probability)`.
/// A figure with one value gives one bin.
fn histogram(sketch: &crate::stats::QuantileSketch) -> Vec<(f64, f64, f64)> {
    let n = sketch.len();
    let (lo, hi) = (sketch.at_rank(0), sketch.at_rank(n - 1));
    if hi <= lo {
        return vec![(lo, hi, 1.0)];
    }
    // The last edge is the highest value itself: computed, it could round
    // below it and leave that value out.
    let edges: Vec<f64> = (0..=HISTOGRAM_BINS)
        .map(|i| match i {
            HISTOGRAM_BINS => hi,
            i => lo + (hi - lo) * i as f64 / HISTOGRAM_BINS as f64,
        })
        .collect();
    sketch
        .histogram(&edges)
        .into_iter()
        .enumerate()
        .map(|(i, c)| (edges[i], edges[i + 1], c as f64 / n as f64))
        .collect()
}

/// Streams `draws.csv` (one row per iteration, wide) to a temporary file and
/// renames it into place on [`DrawsWriter::finish`]; dropped unfinished, it
/// leaves nothing behind.
pub struct DrawsWriter {
    tmp: tempfile::NamedTempFile,
    out: csv::Writer<std::io::BufWriter<std::fs::File>>,
    path: PathBuf,
    width: usize,
    ids: [String; 4],
}

impl DrawsWriter {
    /// Opens `dir/draws.csv` for the figures of `result`'s catalog.
    pub fn create(
        dir: &Path,
        catalog: &crate::figures::Catalog,
        info: &RunInfo,
    ) -> Result<DrawsWriter, Error> {
        let path = dir.join("draws.csv");
        let err = |source| Error::Write {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(err)?;
        let tmp = tempfile::NamedTempFile::new_in(dir).map_err(err)?;
        let file = tmp.reopen().map_err(err)?;
        let mut out = csv::Writer::from_writer(std::io::BufWriter::new(file));
        let mut header = vec!["iteration".to_string()];
        header.extend(catalog.figures.iter().map(|f| f.key()));
        header.extend(ID_HEADERS.iter().map(|s| s.to_string()));
        out.write_record(&header).map_err(|e| err(e.into()))?;
        Ok(DrawsWriter {
            tmp,
            out,
            width: catalog.figures.len(),
            path,
            ids: id_columns(info),
        })
    }

    /// Appends the rows of iterations `first..`.
    pub fn write_rows(&mut self, first: u64, rows: &[f64]) -> std::io::Result<()> {
        for (i, row) in rows.chunks(self.width).enumerate() {
            self.out.write_field((first + i as u64).to_string())?;
            for &x in row {
                self.out.write_field(csv_number(x))?;
            }
            for id in &self.ids {
                self.out.write_field(id)?;
            }
            self.out.write_record(None::<&[u8]>)?;
        }
        Ok(())
    }

    /// Flushes and renames into place.
    pub fn finish(mut self) -> Result<PathBuf, Error> {
        let err = |source| Error::Write {
            path: self.path.clone(),
            source,
        };
        self.out.flush().map_err(err)?;
        drop(self.out);
        self.tmp.as_file().sync_all().map_err(err)?;
        self.tmp.persist(&self.path).map_err(|e| Error::Write {
            path: self.path.clone(),
            source: e.error,
        })?;
        super::publish_permissions(&self.path).map_err(|source| Error::Write {
            path: self.path.clone(),
            source,
        })?;
        Ok(self.path)
    }
}

/// Writes `compare.csv`: every shared figure's A, B and paired difference.
pub fn write_comparison(
    dir: &Path,
    pairs: &[crate::engine::compare::Paired],
    hash_a: &str,
    hash_b: &str,
    config: &crate::engine::RunConfig,
) -> Result<PathBuf, Error> {
    super::create_dir(dir)?;
    let path = dir.join("compare.csv");
    write_atomic(&path, |w| {
        let mut c = csv::Writer::from_writer(w);
        c.write_record([
            "figure",
            "mean_a",
            "se_a",
            "mean_b",
            "se_b",
            "difference",
            "difference_se",
            "independent_se",
            "sampling",
            "randomisations",
            "scenario_hash_a",
            "scenario_hash_b",
            "seed",
            "iterations",
            "pbrsim_version",
        ])?;
        let [sampling, randomisations] = config.sampling.columns();
        for p in pairs {
            c.write_record([
                p.key.clone(),
                csv_number(p.a.mean()),
                csv_number(p.se_a()),
                csv_number(p.b.mean()),
                csv_number(p.se_b()),
                csv_number(p.difference.mean()),
                csv_number(p.difference_se()),
                csv_number(p.independent_se()),
                sampling.clone(),
                randomisations.clone(),
                hash_a.to_string(),
                hash_b.to_string(),
                config.seed.to_string(),
                config.iterations.to_string(),
                crate::VERSION.to_string(),
            ])?;
        }
        c.flush()
    })?;
    Ok(path)
}
