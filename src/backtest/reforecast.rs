//! Re-forecasting mid-contract (docs/backtesting.md, "Re-forecasting
//! mid-contract"): the scenario's iterations reweighted by how well each
//! reproduces the payments realised before a month, and every figure
//! re-forecast from the weighted iterations.
//!
//! The observation model: each realised period's value is the world's
//! value for that period plus independent normal error with standard
//! deviation `tolerance x` the period's prior predictive sd. An iteration
//! is a whole world (its parameter draws and every participant's path),
//! so its weight, the likelihood of the realised periods,
//!
//! ```text
//! w_i = exp(-1/2 sum over observed periods t of ((y_t - x_it) / s_t)^2)
//! ```
//!
//! conditions the parameters and the contract's state at the month
//! together, and each world's own later months are its re-forecast. This
//! is importance sampling with the prior as proposal: exact Bayesian
//! conditioning under the observation model as the iterations grow, its
//! precision measured by the effective sample size `(sum w)^2 / sum w^2`.
//! A period every world agrees on (prior sd 0) says nothing about which
//! world this is and carries no weight. With nothing observed every weight
//! is 1 and the re-forecast is the prior forecast, figure for figure.

use super::check::Predictive;
pub use super::check::pit;
use super::plan::month_text;
use super::realised::Period;
use crate::engine::figures::Unit;
use crate::error::Error;
use crate::math;
use crate::model::Model;

/// Below this effective sample size the report warns that the re-forecast
/// rests on too few worlds for its tails.
pub const FEW_WORLDS: f64 = 100.0;

/// The default observation error, as a share of each period's prior sd.
pub const DEFAULT_TOLERANCE: f64 = 0.25;

/// A weighted distribution's mean and its 5%, 50% and 95% quantiles.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stats {
    /// Weighted mean (NaN when no iteration has a value).
    pub mean: f64,
    /// 5%, 50% and 95% quantiles: the least value whose cumulative weight
    /// reaches the level.
    pub quantiles: [f64; 3],
}

/// The quantile levels of [`Stats::quantiles`].
pub const LEVELS: [f64; 3] = [0.05, 0.5, 0.95];

/// One figure before and after conditioning.
#[derive(Clone, Debug, PartialEq)]
pub struct FigureRow {
    /// `party.figure`.
    pub key: String,
    /// Its unit.
    pub unit: Unit,
    /// Unweighted.
    pub prior: Stats,
    /// Reweighted.
    pub posterior: Stats,
}

/// A realised period used to condition on.
#[derive(Clone, Debug, PartialEq)]
pub struct Observed {
    /// The series.
    pub series: String,
    /// First and last calendar month.
    pub months: (i64, i64),
    /// The realised value.
    pub value: f64,
    /// The prior predictive sd of the period's value.
    pub prior_sd: f64,
}

/// What was realised of one series after the month, placed in the prior
/// and in the re-forecast.
#[derive(Clone, Debug, PartialEq)]
pub struct Later {
    /// The series.
    pub series: String,
    /// First and last calendar month.
    pub months: (i64, i64),
    /// Realised total over them.
    pub realised: f64,
    /// Prior distribution of the total.
    pub prior: Stats,
    /// Re-forecast distribution of the total.
    pub posterior: Stats,
    /// The realised total's PIT in the prior.
    pub prior_pit: f64,
    /// Its PIT in the re-forecast.
    pub posterior_pit: f64,
}

/// A re-forecast.
#[derive(Clone, Debug)]
pub struct Reforecast {
    /// The calendar month re-forecast from: periods ending before it are
    /// conditioned on.
    pub at: i64,
    /// The observation error as a share of each period's prior sd.
    pub tolerance: f64,
    /// The periods conditioned on.
    pub observed: Vec<Observed>,
    /// Per iteration, its weight (the largest is 1).
    pub weights: Vec<f64>,
    /// `(sum w)^2 / sum w^2`.
    pub ess: f64,
    /// The uncertain inputs: scenario path and row in `rows`.
    pub inputs: Vec<(String, usize)>,
    /// Every figure of the scenario, then the public side's payments
    /// before and from the month (`public.paid_before`,
    /// `public.paid_from`) and, per provider, whether it failed before the
    /// month or fails from it (`<id>.failed_before`, `<id>.fails_from`).
    pub rows: Vec<FigureRow>,
    /// Per series, the realised periods from the month on, if any.
    pub later: Vec<Later>,
}

impl Reforecast {
    /// The row of figure `key`.
    pub fn row(&self, key: &str) -> Option<&FigureRow> {
        self.rows.iter().find(|r| r.key == key)
    }

    /// Whether the effective sample size is below [`FEW_WORLDS`].
    pub fn collapsed(&self) -> bool {
        self.ess < FEW_WORLDS
    }
}

/// The weights of a conditioning: the periods it used, each iteration's
/// weight (the largest is 1) and the effective sample size.
#[derive(Clone, Debug)]
pub struct Conditioning {
    /// The periods conditioned on.
    pub observed: Vec<Observed>,
    /// Per iteration, its weight.
    pub weights: Vec<f64>,
    /// `(sum w)^2 / sum w^2`.
    pub ess: f64,
}

/// Weighs each iteration of `predictive` by the likelihood of the
/// `periods` that end before calendar month `at`, with observation error
/// `tolerance` x each period's prior sd. A period running across `at`, or
/// outside the scenario's months, is refused.
pub fn condition(
    predictive: &Predictive,
    periods: &[Period],
    at: i64,
    tolerance: f64,
) -> Result<Conditioning, Error> {
    if !(tolerance.is_finite() && tolerance > 0.0) {
        return Err(Error::Setting(format!(
            "--tolerance {tolerance}: give a positive share of each period's prior sd (default {DEFAULT_TOLERANCE})"
        )));
    }
    let (start, months) = (predictive.start, predictive.months as i64);
    if at < start || at > start + months {
        return Err(Error::Setting(format!(
            "--at {}: the scenario's months are {} to {}; re-forecast from one of them",
            month_text(at),
            month_text(start),
            month_text(start + months - 1)
        )));
    }
    predictive.within(periods)?;
    if let Some(p) = periods.iter().find(|p| p.first < at && p.last >= at) {
        return Err(Error::Setting(format!(
            "--at {}: the period on line {} ({} to {}) runs across it; re-forecast from the start of a period, {} or {}",
            month_text(at),
            p.line,
            month_text(p.first),
            month_text(p.last),
            month_text(p.first),
            month_text(p.last + 1)
        )));
    }
    let n = predictive.iterations;
    let mut log_weights = vec![0.0; n];
    let mut observed = Vec::new();
    for p in periods.iter().filter(|p| p.last < at) {
        let sample = predictive.sample(p.key, p.first, p.last);
        let mut moments = crate::stats::Moments::default();
        sample.iter().for_each(|&x| moments.push(x));
        // Fewer than two iterations cannot tell worlds apart.
        let prior_sd = if sample.len() < 2 { 0.0 } else { moments.sd() };
        observed.push(Observed {
            series: p.series.clone(),
            months: (p.first, p.last),
            value: p.value,
            prior_sd,
        });
        if prior_sd == 0.0 {
            continue;
        }
        let s = tolerance * prior_sd;
        for (lw, x) in log_weights.iter_mut().zip(&sample) {
            let z = (p.value - x) / s;
            *lw -= 0.5 * z * z;
        }
    }
    let top = log_weights
        .iter()
        .copied()
        .fold(f64::NEG_INFINITY, f64::max);
    let weights: Vec<f64> = log_weights.iter().map(|lw| math::exp(lw - top)).collect();
    let (sum, sum_sq) = weights
        .iter()
        .fold((0.0, 0.0), |(a, b), w| (a + w, b + w * w));
    Ok(Conditioning {
        observed,
        weights,
        ess: sum * sum / sum_sq,
    })
}

/// [`condition`], then every figure of `predictive` (of `model`)
/// re-forecast from the weighted iterations.
pub fn reforecast(
    model: &Model,
    predictive: &Predictive,
    periods: &[Period],
    at: i64,
    tolerance: f64,
) -> Result<Reforecast, Error> {
    let Conditioning {
        observed,
        weights,
        ess,
    } = condition(predictive, periods, at, tolerance)?;
    let (start, months) = (predictive.start, predictive.months as i64);
    let n = predictive.iterations;
    let ones = vec![1.0; n];
    let figures = &predictive.catalog.figures;
    let width = figures.len();
    let column = |k: usize| -> Vec<f64> {
        predictive
            .figures
            .chunks_exact(width)
            .map(|row| row[k])
            .collect()
    };
    let mut rows = Vec::new();
    let mut push = |key: String, unit: Unit, values: &[f64]| {
        rows.push(FigureRow {
            key,
            unit,
            prior: stats(values, &ones),
            posterior: stats(values, &weights),
        })
    };
    for (k, f) in figures.iter().enumerate() {
        push(f.key(), f.unit, &column(k));
    }
    let cut = at.min(start + months);
    let before = if cut > start {
        predictive.period(start, cut - 1)
    } else {
        vec![0.0; n]
    };
    let from = if cut < start + months {
        predictive.period(cut, start + months - 1)
    } else {
        vec![0.0; n]
    };
    push("public.paid_before".into(), Unit::Money, &before);
    push("public.paid_from".into(), Unit::Money, &from);
    let month = (at - start) as f64;
    for (k, f) in figures.iter().enumerate() {
        if f.name != "failure_month" {
            continue;
        }
        let failed = column(k);
        let flag = |keep: fn(f64, f64) -> bool| -> Vec<f64> {
            failed
                .iter()
                .map(|&m| f64::from(!m.is_nan() && keep(m, month)))
                .collect()
        };
        push(
            format!("{}.failed_before", f.party),
            Unit::Probability,
            &flag(|m, at| m < at),
        );
        push(
            format!("{}.fails_from", f.party),
            Unit::Probability,
            &flag(|m, at| m >= at),
        );
    }
    let inputs = model
        .slots()
        .into_iter()
        .filter(|slot| slot.param.is_some_and(|p| p.is_uncertain()))
        .filter_map(|slot| {
            let k = predictive.catalog.draw_of(model, slot.kind)?;
            Some((slot.path, k))
        })
        .collect();
    let mut later = Vec::new();
    for p in periods.iter().filter(|p| p.first >= at) {
        if later.last().is_some_and(|l: &Later| l.series == p.series) {
            continue;
        }
        let of: Vec<&Period> = periods
            .iter()
            .filter(|q| q.key == p.key && q.first >= at)
            .collect();
        let (a, b) = (of[0].first, of[of.len() - 1].last);
        let realised: f64 = of.iter().map(|q| q.value).sum();
        let sample = predictive.sample(p.key, a, b);
        later.push(Later {
            series: p.series.clone(),
            months: (a, b),
            realised,
            prior: stats(&sample, &ones),
            posterior: stats(&sample, &weights),
            prior_pit: pit(&sample, &ones, realised),
            posterior_pit: pit(&sample, &weights, realised),
        });
    }
    Ok(Reforecast {
        at,
        tolerance,
        observed,
        ess,
        weights,
        inputs,
        rows,
        later,
    })
}

/// The weighted mean and quantiles of `values`, leaving out NaN values.
pub fn stats(values: &[f64], weights: &[f64]) -> Stats {
    let mut pairs: Vec<(f64, f64)> = values
        .iter()
        .zip(weights)
        .filter(|(x, w)| !x.is_nan() && **w > 0.0)
        .map(|(&x, &w)| (x, w))
        .collect();
    let total: f64 = pairs.iter().map(|p| p.1).sum();
    if pairs.is_empty() {
        return Stats {
            mean: f64::NAN,
            quantiles: [f64::NAN; 3],
        };
    }
    let mean = pairs.iter().map(|(x, w)| x * w).sum::<f64>() / total;
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let quantiles = LEVELS.map(|q| {
        let target = q * total;
        let mut cumulative = 0.0;
        for &(x, w) in &pairs {
            cumulative += w;
            if cumulative >= target {
                return x;
            }
        }
        pairs[pairs.len() - 1].0
    });
    Stats { mean, quantiles }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weighted_quantiles_are_the_least_value_reaching_the_level() {
        let s = stats(&[3.0, 1.0, 2.0, f64::NAN], &[1.0, 1.0, 2.0, 5.0]);
        assert_eq!(s.mean, (3.0 + 1.0 + 4.0) / 4.0);
        // cumulative weights 1, 3, 4 of 4: 5% -> 1, 50% -> 2, 95% -> 3
        assert_eq!(s.quantiles, [1.0, 2.0, 3.0]);
        let empty = stats(&[f64::NAN], &[1.0]);
        assert!(empty.mean.is_nan());
    }

    #[test]
    fn the_pit_is_the_weighted_mid_rank() {
        let x = [1.0, 2.0, 2.0, 4.0];
        let w = [1.0, 2.0, 1.0, 4.0];
        assert_eq!(pit(&x, &w, 2.0), (1.0 + 3.0 / 2.0) / 8.0);
        assert_eq!(pit(&x, &w, 5.0), 1.0);
        assert_eq!(pit(&x, &[1.0; 4], 0.0), 0.0);
    }
}
