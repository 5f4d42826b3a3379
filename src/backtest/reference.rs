//! A reference class of contracts (docs/backtesting.md): how far what was
//! actually paid strayed from the plan at contract, as an achievement ratio
//! and a delay, fitted over a set of contracts, and how well the fitted
//! spread would have predicted each contract left out of the fit.
//!
//! For one contract, with `P(t)` the plan's cumulative payments by month
//! and `A(t)` the actual's, the fit is the ratio `r` and the whole-month
//! delay `d` minimising `sum_t (A(t) - r P(t - d))^2` over the months `t`
//! of the comparison window: from the first month either series covers to
//! the last month of the actual series (a contract still running), or to
//! the later of the two series' ends (a completed one: nothing more will
//! be paid). For each `d` in `[-MAX_LEAD, MAX_DELAY]` the best `r` is
//! `sum A P / sum P^2`; the `d` with the least residual wins (the smaller
//! `|d|`, then the earlier, on a tie).
//!
//! The class is normal in `ln r` and in `d` (mean and sample standard
//! deviation over the contracts). Around its fit, a contract's payments
//! also vary year by year: for each whole year of the window (12-month
//! blocks from its first month) in which both were paid, the *year
//! residual* is `ln(A_y / (r P_y(d)))`, actual over fitted payments in the
//! year. The class's year sd is their root mean square over the contracts
//! with `N - C` degrees of freedom (`N` residuals from `C` contracts, each
//! contract's ratio fitted from its own years). Left out, contract `i` is predicted by
//! the class of the other `n - 1` through the Student-t predictive
//! distribution with `n - 2` degrees of freedom, centre the others' mean
//! and scale their standard deviation times `sqrt(1 + 1 / (n - 1))`, which
//! is exact for normal data with unknown mean and variance; its PIT is that
//! distribution's CDF at the contract's value.

use super::payments::Contract;
use crate::math;

/// The most months a contract's payments may run ahead of plan in the fit.
pub const MAX_LEAD: i64 = 24;
/// The most months they may run behind it.
pub const MAX_DELAY: i64 = 36;

/// One contract's ratio and delay against its plan.
#[derive(Clone, Debug, PartialEq)]
pub struct Fit {
    /// The contract.
    pub id: String,
    /// The plan compared with.
    pub plan: String,
    /// Whether the contract is complete (its window runs to the later end).
    pub complete: bool,
    /// The window's first month and the month after its last.
    pub window: (i64, i64),
    /// Planned payments in the window.
    pub planned: f64,
    /// Actual payments in the window.
    pub actual: f64,
    /// The achievement ratio `r`.
    pub ratio: f64,
    /// The delay `d` in months (negative: ahead of plan).
    pub delay: i64,
    /// `1 - residual / sum A^2`: how much of the actual curve the shifted,
    /// scaled plan explains.
    pub r_squared: f64,
    /// The delay is at the edge of the range searched.
    pub at_edge: bool,
    /// `ln(actual / fitted)` for each whole year of the window in which
    /// both are positive.
    pub year_residuals: Vec<f64>,
}

/// Fits `contract`'s ratio and delay; `None` when its plan or its actual
/// series is empty over the window.
pub fn fit(contract: &Contract, complete: bool) -> Option<Fit> {
    let (plan, actual) = (&contract.plan.1, &contract.actual);
    if plan.amounts.is_empty() || actual.amounts.is_empty() {
        return None;
    }
    let first = plan.start.min(actual.start);
    let last = if complete {
        plan.end().max(actual.end())
    } else {
        actual.end()
    };
    // Cumulative payments by month, each series summed once: the actual's
    // over the window, the plan's over every month a shift can reach.
    let running = |s: &super::payments::Series, months: std::ops::Range<i64>| -> Vec<f64> {
        months
            .scan(0.0, |total, m| {
                *total += s.at(m);
                Some(*total)
            })
            .collect()
    };
    let a = running(actual, first..last);
    let reach = first - MAX_DELAY;
    let planned = running(plan, reach..last + MAX_LEAD);
    let planned_to = |t: i64| planned[(t - reach) as usize];
    let aa: f64 = a.iter().map(|x| x * x).sum();
    let mut best: Option<(f64, i64, f64)> = None;
    let mut delays: Vec<i64> = (-MAX_LEAD..=MAX_DELAY).collect();
    delays.sort_by_key(|d| (d.abs(), *d));
    for d in delays {
        let p: Vec<f64> = (first..last).map(|t| planned_to(t - d)).collect();
        let pp: f64 = p.iter().map(|x| x * x).sum();
        if pp <= 0.0 {
            continue;
        }
        let ap: f64 = a.iter().zip(&p).map(|(x, y)| x * y).sum();
        let r = ap / pp;
        let residual = (aa - r * ap).max(0.0);
        if best.is_none_or(|(_, _, b)| residual < b * (1.0 - 1e-12)) {
            best = Some((r, d, residual));
        }
    }
    let (ratio, delay, residual) = best?;
    if ratio.is_nan() || ratio <= 0.0 {
        return None;
    }
    let in_window = |s: &super::payments::Series| (first..last).map(|m| s.at(m)).sum::<f64>();
    let year_residuals = (0..(last - first) / 12)
        .filter_map(|y| {
            let months = first + 12 * y..first + 12 * (y + 1);
            let a: f64 = months.clone().map(|m| actual.at(m)).sum();
            let p: f64 = ratio * months.map(|m| plan.at(m - delay)).sum::<f64>();
            (a > 0.0 && p > 0.0).then(|| math::ln(a / p))
        })
        .collect();
    Some(Fit {
        id: contract.id.clone(),
        plan: contract.plan.0.clone(),
        complete,
        window: (first, last),
        planned: in_window(plan),
        actual: in_window(actual),
        ratio,
        delay,
        r_squared: if aa > 0.0 { 1.0 - residual / aa } else { 0.0 },
        at_edge: delay == -MAX_LEAD || delay == MAX_DELAY,
        year_residuals,
    })
}

/// A normal spread: mean and sample standard deviation of `n` values.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Spread {
    /// Values it was fitted on.
    pub n: usize,
    /// Their mean.
    pub mean: f64,
    /// Their sample standard deviation.
    pub sd: f64,
}

impl Spread {
    /// The spread of `values` (at least two).
    pub fn of(values: &[f64]) -> Spread {
        let n = values.len();
        let mean = values.iter().sum::<f64>() / n as f64;
        let var = values.iter().map(|x| math::powi(x - mean, 2)).sum::<f64>() / (n as f64 - 1.0);
        Spread {
            n,
            mean,
            sd: var.sqrt(),
        }
    }

    /// The predictive distribution of one more value: Student-t with
    /// `n - 1` degrees of freedom, centre `mean`, scale `sd sqrt(1 + 1/n)`.
    pub fn predictive(&self) -> math::StudentT {
        let n = self.n as f64;
        math::StudentT {
            location: self.mean,
            scale: self.sd * (1.0 + 1.0 / n).sqrt(),
            df: n - 1.0,
        }
    }
}

/// A reference class: the spread of `ln r` and of `d` over its contracts.
#[derive(Clone, Debug, PartialEq)]
pub struct Class {
    /// The contracts' fits.
    pub fits: Vec<Fit>,
    /// The spread of the log achievement ratio.
    pub log_ratio: Spread,
    /// The spread of the delay in months.
    pub delay: Spread,
    /// The year-to-year variation around each contract's fit, when there
    /// are more year residuals than contracts that have them.
    pub year: Option<YearSpread>,
}

/// The pooled year-to-year variation of a class.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct YearSpread {
    /// Year residuals.
    pub years: usize,
    /// Contracts they come from.
    pub contracts: usize,
    /// `sqrt(sum e^2 / (years - contracts))`.
    pub sd: f64,
}

impl YearSpread {
    /// The pooled spread of `fits`' year residuals.
    pub fn of(fits: &[Fit]) -> Option<YearSpread> {
        let years: usize = fits.iter().map(|f| f.year_residuals.len()).sum();
        let contracts = fits.iter().filter(|f| !f.year_residuals.is_empty()).count();
        let squares: f64 = fits
            .iter()
            .flat_map(|f| &f.year_residuals)
            .map(|e| e * e)
            .sum();
        (years > contracts && squares > 0.0).then(|| YearSpread {
            years,
            contracts,
            sd: (squares / (years - contracts) as f64).sqrt(),
        })
    }
}

/// Fits a class from `fits` (at least three, so that each left-out
/// contract has a predictive distribution).
pub fn class(fits: Vec<Fit>) -> Result<Class, String> {
    if fits.len() < 3 {
        return Err(format!(
            "a reference class needs at least 3 contracts with a plan and payments, got {}",
            fits.len()
        ));
    }
    let log_ratio = Spread::of(&fits.iter().map(|f| math::ln(f.ratio)).collect::<Vec<_>>());
    let delay = Spread::of(&fits.iter().map(|f| f.delay as f64).collect::<Vec<_>>());
    if !(log_ratio.sd > 0.0 && delay.sd > 0.0) {
        return Err("every contract has the same ratio or delay: no spread to fit".into());
    }
    Ok(Class {
        year: YearSpread::of(&fits),
        fits,
        log_ratio,
        delay,
    })
}

/// One contract predicted by the class of the others.
#[derive(Clone, Debug, PartialEq)]
pub struct LeftOut {
    /// The contract.
    pub id: String,
    /// PIT of its log ratio.
    pub ratio_pit: f64,
    /// The central 50% and 90% predictive intervals of its ratio.
    pub ratio_50: (f64, f64),
    /// The same at 90%.
    pub ratio_90: (f64, f64),
    /// PIT of its delay (the predictive CDF at `d + 0.5`, whole months).
    pub delay_pit: f64,
}

/// Leave-one-out predictions over the class's contracts; `None` for a
/// contract whose others have no spread.
pub fn leave_one_out(class: &Class) -> Vec<Option<LeftOut>> {
    let fits = &class.fits;
    (0..fits.len())
        .map(|i| {
            let others = |f: &dyn Fn(&Fit) -> f64| -> Vec<f64> {
                fits.iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i)
                    .map(|(_, x)| f(x))
                    .collect()
            };
            let lr = Spread::of(&others(&|f| math::ln(f.ratio)));
            let dl = Spread::of(&others(&|f| f.delay as f64));
            if !(lr.sd > 0.0 && dl.sd > 0.0) || lr.n < 2 {
                return None;
            }
            let (t, u) = (lr.predictive(), dl.predictive());
            let band = |p: f64| {
                (
                    math::exp(t.quantile((1.0 - p) / 2.0)),
                    math::exp(t.quantile((1.0 + p) / 2.0)),
                )
            };
            Some(LeftOut {
                id: fits[i].id.clone(),
                ratio_pit: t.cdf(math::ln(fits[i].ratio)),
                ratio_50: band(0.5),
                ratio_90: band(0.9),
                delay_pit: u.cdf(fits[i].delay as f64 + 0.5),
            })
        })
        .collect()
}

/// How many of the left-out PITs fall inside the central `level` band.
pub fn covered(pits: &[f64], level: f64) -> usize {
    let (lo, hi) = ((1.0 - level) / 2.0, (1.0 + level) / 2.0);
    pits.iter().filter(|&&p| p >= lo && p <= hi).count()
}

#[cfg(test)]
mod tests {
    use super::super::payments::{Contract, Series};
    use super::*;

    fn contract(plan: Vec<f64>, actual: Series) -> Contract {
        Contract {
            id: "c".into(),
            currency: "GBP".into(),
            plan: (
                "plan1".into(),
                Series {
                    start: 100,
                    amounts: plan,
                },
            ),
            actual,
        }
    }

    /// An actual series that is the plan scaled by `r` and shifted by `d`
    /// months is fitted exactly.
    #[test]
    fn a_scaled_shifted_plan_is_recovered() {
        let plan: Vec<f64> = (0..36)
            .map(|m| if m % 3 == 2 { 10.0 + m as f64 } else { 0.0 })
            .collect();
        for (r, d) in [(0.4, 7), (1.3, -5), (1.0, 0), (2.5, 20)] {
            let actual = Series {
                start: 100 + d,
                amounts: plan.iter().map(|x| r * x).collect(),
            };
            let f = fit(&contract(plan.clone(), actual), true).unwrap();
            assert_eq!(f.delay, d);
            assert!((f.ratio - r).abs() < 1e-12, "{} vs {r}", f.ratio);
            assert!((f.r_squared - 1.0).abs() < 1e-12);
            assert!(f.year_residuals.iter().all(|e| e.abs() < 1e-12));
        }
    }

    /// A year paid at twice the plan and one at half: each year's
    /// residual is its actual over the fitted payments, and the pooled sd
    /// spends one degree of freedom on the contract's ratio.
    #[test]
    fn year_residuals_are_actual_over_fitted_by_year() {
        let plan = vec![10.0; 24];
        let actual = Series {
            start: 100,
            amounts: [vec![20.0; 12], vec![5.0; 12]].concat(),
        };
        let f = fit(&contract(plan.clone(), actual), true).unwrap();
        // Fitted payments in a year: the ratio times the plan, shifted.
        let fitted = |months: std::ops::Range<i64>| {
            f.ratio
                * months
                    .map(|m| m - f.delay - 100)
                    .filter(|i| (0..24).contains(i))
                    .map(|i| plan[i as usize])
                    .sum::<f64>()
        };
        assert_eq!(f.year_residuals.len(), 2);
        assert!((f.year_residuals[0] - math::ln(240.0 / fitted(100..112))).abs() < 1e-12);
        assert!((f.year_residuals[1] - math::ln(60.0 / fitted(112..124))).abs() < 1e-12);
        let y = YearSpread::of(std::slice::from_ref(&f)).unwrap();
        let squares: f64 = f.year_residuals.iter().map(|e| e * e).sum();
        assert_eq!((y.years, y.contracts), (2, 1));
        assert!((y.sd - squares.sqrt()).abs() < 1e-12);
        assert!(
            YearSpread::of(&[Fit {
                year_residuals: vec![0.3],
                ..f
            }])
            .is_none()
        );
    }

    /// A running contract is compared only up to its last actual month.
    #[test]
    fn a_running_contract_is_cut_at_its_last_payment() {
        let plan = vec![10.0; 24];
        let actual = Series {
            start: 100,
            amounts: vec![5.0; 12],
        };
        let f = fit(&contract(plan.clone(), actual.clone()), false).unwrap();
        assert_eq!(
            (f.ratio, f.delay, f.planned, f.actual),
            (0.5, 0, 120.0, 60.0)
        );
        let f = fit(&contract(plan, actual), true).unwrap();
        assert_eq!((f.planned, f.actual), (240.0, 60.0));
    }
}
