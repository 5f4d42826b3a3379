//! Back-testing a scenario against realised series (docs/backtesting.md):
//! where each realised value, and each running total, fell in the
//! scenario's predictive distribution.
//!
//! The scenario runs `n` iterations, each kept as its public side's net
//! outflow by month (every payment to the prime less refunds, plus the
//! commissioner's own costs, summed over the commissioner, co-funder,
//! payers and pooled budget, so that money moving between public bodies
//! cancels). For each realised period the predictive sample is the
//! iterations' sum over the period's months; for each running total, their
//! sum from the first realised month. The PIT of a realised value `v` is
//! the mid-rank `(#{x < v} + #{x = v} / 2) / n`; it is inside the central
//! `p` band when it lies in `[(1 - p)/2, (1 + p)/2]`.

use super::realised::{Measure, Period, Series};
use crate::engine::Simulator;
use crate::engine::figures::Catalog;
use crate::error::Error;
use crate::model::Model;
use rayon::prelude::*;

/// Whether a row is one period or a running total.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The realised value of one period.
    Period,
    /// The realised total from the first period to the end of this one.
    Cumulative,
}

/// Where one realised value fell.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// Period or running total.
    pub kind: Kind,
    /// The series.
    pub series: String,
    /// First and last calendar month.
    pub months: (i64, i64),
    /// The realised value.
    pub realised: f64,
    /// The predictive mean.
    pub mean: f64,
    /// The predictive 5%, 25%, 50%, 75% and 95% quantiles.
    pub quantiles: [f64; 5],
    /// The realised value's PIT.
    pub pit: f64,
}

/// The quantile levels of [`Row::quantiles`].
pub const LEVELS: [f64; 5] = [0.05, 0.25, 0.5, 0.75, 0.95];

/// The scenario's predictive distribution: every iteration's monthly
/// public outflow from calendar month `start`, and its figures.
#[derive(Clone, Debug)]
pub struct Predictive {
    /// The calendar month of month 0.
    pub start: i64,
    /// Months per iteration.
    pub months: usize,
    /// Iterations.
    pub iterations: usize,
    /// `[iteration][month]`, in the scenario's currency.
    pub outflow: Vec<f64>,
    /// The figures of `figures`, and the reported parties.
    pub catalog: Catalog,
    /// `[iteration][figure]`, as `Catalog::fill` writes them.
    pub figures: Vec<f64>,
    /// The count series kept besides the outflow.
    pub kept: Vec<Series>,
    /// `[iteration][kept series][month]`.
    pub counts: Vec<f64>,
}

/// Runs `model` for `iterations` from `seed` on `threads` threads (0: all
/// cores), keeping each iteration's monthly outflow, figures and the
/// monthly counts of the series in `keep` (refused beyond 4 GiB unless
/// `allow_large`). The model must say when its month 0 is.
pub fn predictive(
    model: &Model,
    keep: &[Series],
    iterations: u64,
    seed: u64,
    threads: usize,
    allow_large: bool,
) -> Result<Predictive, Error> {
    predictive_with_progress(model, keep, iterations, seed, threads, allow_large, &|_| {})
}

/// [`predictive`], telling `progress` the iterations done after each block.
pub fn predictive_with_progress(
    model: &Model,
    keep: &[Series],
    iterations: u64,
    seed: u64,
    threads: usize,
    allow_large: bool,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Predictive, Error> {
    let Some(start) = model.start_month else {
        return Err(Error::Setting(
            "the scenario does not say when its month 0 is: give `time.start_month = \"YYYY-MM\"` (or --set time.start_month=YYYY-MM)".into(),
        ));
    };
    if iterations < 2 {
        return Err(Error::Setting(
            "a back-test needs at least 2 iterations".into(),
        ));
    }
    let months = model.horizon;
    let catalog = Catalog::new(model);
    let mut kept: Vec<Series> = keep
        .iter()
        .copied()
        .filter(|s| s.measure != Measure::Payments)
        .collect();
    kept.sort();
    kept.dedup();
    let width = months * (1 + kept.len()) + catalog.figures.len();
    let bytes = iterations as u128 * width as u128 * 8;
    if bytes > 4 << 30 && !allow_large {
        return Err(Error::Setting(format!(
            "a back-test keeps every iteration's months and figures: {iterations} x {width} values is {:.1} GiB, beyond 4 GiB; give fewer iterations, or --allow-large",
            bytes as f64 / (1u64 << 30) as f64
        )));
    }
    let public: Vec<usize> = std::iter::once(crate::model::COMMISSIONER)
        .chain(std::iter::once(crate::model::CO_FUNDER))
        .chain((0..model.payers.len()).map(|i| model.payer_account(i)))
        .chain(model.pooled_budget.iter().map(|_| model.pool_account()))
        .collect();
    const BLOCK: u64 = 256;
    let pool = crate::engine::driver::pool(threads)?;
    let segments = model.segments.len();
    let done = std::sync::atomic::AtomicU64::new(0);
    type Block = (Vec<f64>, Vec<f64>, Vec<f64>);
    let blocks: Vec<Block> = pool.install(|| {
        (0..iterations.div_ceil(BLOCK))
            .into_par_iter()
            .map(|b| {
                let mut simulator = Simulator::new(model);
                let (mut outflow, mut figures, mut counts) = (Vec::new(), Vec::new(), Vec::new());
                let mut row = Vec::new();
                let (first, end) = (b * BLOCK, ((b + 1) * BLOCK).min(iterations));
                for i in first..end {
                    let r = simulator.iteration(seed, i);
                    for t in 0..months {
                        let out: i64 = public.iter().map(|&a| -r.monthly[a * months + t]).sum();
                        outflow.push(out as f64 / 100.0);
                    }
                    catalog.fill(model, r, &mut row);
                    figures.extend_from_slice(&row);
                    for series in &kept {
                        let by_month = match series.measure {
                            Measure::Referrals => &r.referrals_by_month,
                            _ => &r.outcomes_by_month,
                        };
                        let of = |s: usize| &by_month[s * months..][..months];
                        counts.extend((0..months).map(|t| match series.segment {
                            Some(s) => of(s)[t] as f64,
                            None => (0..segments).map(|s| of(s)[t]).sum::<u64>() as f64,
                        }));
                    }
                }
                let n = end - first;
                progress(done.fetch_add(n, std::sync::atomic::Ordering::Relaxed) + n);
                (outflow, figures, counts)
            })
            .collect()
    });
    let mut p = Predictive {
        start,
        months,
        iterations: iterations as usize,
        outflow: Vec::with_capacity(iterations as usize * months),
        figures: Vec::new(),
        catalog,
        kept,
        counts: Vec::new(),
    };
    for (outflow, figures, counts) in blocks {
        p.outflow.extend(outflow);
        p.figures.extend(figures);
        p.counts.extend(counts);
    }
    Ok(p)
}

impl Predictive {
    /// Places every realised period, and the running total from each
    /// series' first period, in the predictive distribution; periods
    /// outside the scenario's months are refused.
    pub fn place(&self, periods: &[Period]) -> Result<Vec<Row>, Error> {
        self.within(periods)?;
        let n = self.iterations;
        let mut rows = Vec::new();
        let mut series: Vec<&str> = periods.iter().map(|p| p.series.as_str()).collect();
        series.dedup();
        for name in series {
            let of: Vec<&Period> = periods.iter().filter(|p| p.series == name).collect();
            let first = of[0].first;
            let mut realised_total = 0.0;
            let mut running = vec![0.0; n];
            for p in of {
                let sample = self.sample(p.key, p.first, p.last);
                for (r, x) in running.iter_mut().zip(&sample) {
                    *r += x;
                }
                realised_total += p.value;
                rows.push(row(Kind::Period, name, (p.first, p.last), p.value, sample));
                rows.push(row(
                    Kind::Cumulative,
                    name,
                    (first, p.last),
                    realised_total,
                    running.clone(),
                ));
            }
        }
        Ok(rows)
    }

    /// Refuses a period outside the scenario's months.
    pub fn within(&self, periods: &[Period]) -> Result<(), Error> {
        let (start, h) = (self.start, self.months as i64);
        for p in periods {
            if p.first < start || p.last >= start + h {
                return Err(Error::Setting(format!(
                    "line {}: {} to {} is outside the scenario's months, {} to {}",
                    p.line,
                    super::plan::month_text(p.first),
                    super::plan::month_text(p.last),
                    super::plan::month_text(start),
                    super::plan::month_text(start + h - 1)
                )));
            }
        }
        if let Some(p) = periods
            .iter()
            .find(|p| p.key.measure != Measure::Payments && !self.kept.contains(&p.key))
        {
            return Err(Error::Setting(format!(
                "line {}: the predictive distribution did not keep the series `{}`",
                p.line, p.series
            )));
        }
        Ok(())
    }

    /// Each iteration's public outflow summed over calendar months `first`
    /// to `last` (within the scenario's months).
    pub fn period(&self, first: i64, last: i64) -> Vec<f64> {
        let (a, b) = self.span(first, last);
        self.outflow
            .chunks_exact(self.months)
            .map(|months| months[a..b].iter().sum())
            .collect()
    }

    /// Each iteration's value of `series` summed over calendar months
    /// `first` to `last`: the outflow for payments, else a kept count
    /// series (empty if it was not kept).
    pub fn sample(&self, series: Series, first: i64, last: i64) -> Vec<f64> {
        if series.measure == Measure::Payments {
            return self.period(first, last);
        }
        let Some(k) = self.kept.iter().position(|s| *s == series) else {
            return Vec::new();
        };
        let (a, b) = self.span(first, last);
        let width = self.months * self.kept.len();
        self.counts
            .chunks_exact(width)
            .map(|all| all[k * self.months..][a..b].iter().sum())
            .collect()
    }

    /// Month indices `a..b` of calendar months `first..=last`.
    fn span(&self, first: i64, last: i64) -> (usize, usize) {
        (
            (first - self.start) as usize,
            (last - self.start) as usize + 1,
        )
    }
}

fn row(kind: Kind, series: &str, months: (i64, i64), realised: f64, mut sample: Vec<f64>) -> Row {
    let n = sample.len() as f64;
    let pit = pit(&sample, &vec![1.0; sample.len()], realised);
    let mean = sample.iter().sum::<f64>() / n;
    sample.sort_by(f64::total_cmp);
    Row {
        kind,
        series: series.to_string(),
        months,
        realised,
        mean,
        quantiles: LEVELS.map(|q| quantile_sorted(&sample, q)),
        pit,
    }
}

/// The weighted mid-rank of `v` among `values`: `(W{x < v} + W{x = v} / 2)
/// / W`; with unit weights, the PIT of the module docs.
pub fn pit(values: &[f64], weights: &[f64], v: f64) -> f64 {
    let (mut below, mut equal, mut total) = (0.0, 0.0, 0.0);
    for (&x, &w) in values.iter().zip(weights) {
        total += w;
        if x < v {
            below += w;
        } else if x == v {
            equal += w;
        }
    }
    (below + equal / 2.0) / total
}

/// The `q` quantile of a sorted sample, interpolated linearly between
/// order statistics (R's type 7, NumPy's default).
fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * q;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// How many `rows` of `kind` have their PIT inside the central `level`
/// band, and how many there are.
pub fn inside(rows: &[Row], kind: Kind, level: f64) -> (usize, usize) {
    let of: Vec<&Row> = rows.iter().filter(|r| r.kind == kind).collect();
    let (lo, hi) = ((1.0 - level) / 2.0, (1.0 + level) / 2.0);
    (
        of.iter().filter(|r| r.pit >= lo && r.pit <= hi).count(),
        of.len(),
    )
}
