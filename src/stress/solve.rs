//! Solving for a value: the parameter value at which a statistic meets a
//! target (smallest reserves for P(failure) <= 5%, deepest discount with
//! P(loss) <= 10%, the tariff at which payments equal savings), and the
//! reverse stress test: the smallest shock along named directions at
//! which a party fails with probability at least p, with rules that
//! describe the worlds that fail.
//!
//! Every evaluation runs the same iterations from the same seed (common
//! random numbers), so the statistic is a deterministic function of the
//! value and a bracketing root finder is exact for it. A mean or a ratio
//! is solved by ITP (interpolate, truncate, project; Oliveira and
//! Takahashi 2020), which takes regula-falsi steps where the statistic is
//! smooth and never needs more than one evaluation beyond bisection's. A
//! probability over common worlds is a step function of the value, which
//! interpolation cannot use, so it is bisected: bisection's midpoints are
//! shared by the searches for the value and for its interval's ends.
//! Whole values are bisected. The interval
//! on the value inverts the statistic's own 95% interval: it is the set of
//! values whose interval contains the target, found by solving
//! `S(x) -+ h(x) = target` the same way.

use super::arms::{Arm, Estimate, run_arms};
use super::statistic::{Layout, Statistic};
use super::worlds::Worlds;
use crate::engine::RunConfig;
use crate::figures::Catalog;
use crate::math;
use crate::model::Model;

/// Bisection steps: the bracket shrinks to 2^-14 (6e-5) of the range.
/// ITP reaches the same bracket in at most `STEPS + ITP_SLACK`
/// evaluations.
const STEPS: usize = 14;

/// ITP's `n0`: evaluations it may spend beyond bisection's.
const ITP_SLACK: usize = 1;

/// Values a search typically evaluates: bisection for the value and for
/// the two ends of its interval (for time estimates and progress only).
pub const TYPICAL_EVALUATIONS: u64 = 40;

/// The answer of a solve.
#[derive(Clone, Debug, PartialEq)]
pub enum Solution {
    /// The value at which the statistic crosses the target.
    Found {
        /// Best estimate.
        value: f64,
        /// 95% interval of the value; an end equal to the range's end
        /// means the interval reaches past the range.
        interval: (f64, f64),
        /// The statistic at `value`.
        achieved: Estimate,
        /// Values evaluated.
        evaluations: usize,
    },
    /// The statistic does not cross the target between the range's ends.
    Unreachable {
        /// The statistic at the low end of the range.
        at_low: Estimate,
        /// At the high end.
        at_high: Estimate,
    },
}

/// A statistic as a function of one value, on common random numbers.
pub struct Problem<'a> {
    /// The model with the value set (or the shock applied) at `x`.
    pub build: &'a dyn Fn(f64) -> Result<Model, crate::Error>,
    /// What is measured.
    pub statistic: &'a Statistic,
    /// Target value of the statistic.
    pub target: f64,
    /// Range searched.
    pub range: (f64, f64),
    /// Only whole values (a count of months, say).
    pub integer: bool,
}

impl Problem<'_> {
    /// The statistic at `x`.
    pub fn evaluate(
        &self,
        x: f64,
        config: &RunConfig,
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<Estimate, crate::Error> {
        let model = (self.build)(x)?;
        let catalog = Catalog::new(&model);
        let layout = Layout::new(
            std::slice::from_ref(&catalog),
            std::slice::from_ref(self.statistic),
        );
        if layout.at[0][0].is_none() {
            return Err(crate::Error::Setting(format!(
                "`{}` is not a statistic of the model at {x}",
                self.statistic.name()
            )));
        }
        let arms = [Arm {
            model: &model,
            worlds: Worlds::default(),
        }];
        let sums = run_arms(
            &arms,
            config,
            layout.width,
            |rows, s| layout.push(rows, s),
            progress,
        )?;
        Ok(sums.estimate(|t, n| layout.value(0, 0, t, n)))
    }

    /// Bisection for the value where the statistic (plus `offset` times
    /// its half-width) crosses the target, between `lo` (gap of sign
    /// `high_lo`: whether it is above the target) and `hi`. Continuous
    /// values return the middle of the last bracket; whole values the
    /// first value past the crossing, or for an interval end the last
    /// value inside the interval.
    fn bisect(
        &self,
        offset: f64,
        mut lo: f64,
        mut hi: f64,
        high_lo: bool,
        cache: &mut Cache,
    ) -> Result<f64, crate::Error> {
        if !self.integer && cache.interpolate {
            return self.itp(offset, lo, hi, high_lo, cache);
        }
        let steps = if self.integer { 64 } else { STEPS };
        for _ in 0..steps {
            let mid = if self.integer {
                ((lo + hi) / 2.0).floor()
            } else {
                0.5 * (lo + hi)
            };
            if (self.integer && hi - lo <= 1.0) || mid <= lo || mid >= hi {
                break;
            }
            let g = cache.gap(self, mid, offset)?;
            if g == 0.0 && offset == 0.0 {
                return Ok(mid);
            }
            if (g > 0.0) == high_lo {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        if !self.integer {
            return Ok(0.5 * (lo + hi));
        }
        if offset != 0.0 && cache.inside(self, lo)? && !cache.inside(self, hi)? {
            return Ok(lo);
        }
        Ok(hi)
    }
}

impl Problem<'_> {
    /// ITP on a continuous value: the same final bracket as `STEPS`
    /// halvings (its middle is returned), reached with regula-falsi
    /// points truncated towards the middle and projected into the
    /// bisection's minmax interval, so never in more than `STEPS +
    /// ITP_SLACK` evaluations.
    fn itp(
        &self,
        offset: f64,
        mut a: f64,
        mut b: f64,
        high_lo: bool,
        cache: &mut Cache,
    ) -> Result<f64, crate::Error> {
        // f < 0 at a and > 0 at b.
        let sign = if high_lo { -1.0 } else { 1.0 };
        let mut fa = sign * cache.gap(self, a, offset)?;
        let mut fb = sign * cache.gap(self, b, offset)?;
        let eps = (b - a) / math::powi(2.0, STEPS as i64 + 1);
        let n_max = STEPS + ITP_SLACK;
        let k1 = 0.2 / (b - a);
        for j in 0..n_max {
            if b - a <= 2.0 * eps {
                break;
            }
            let mid = 0.5 * (a + b);
            let r = eps * math::powi(2.0, (n_max - j) as i64) - 0.5 * (b - a);
            let delta = k1 * (b - a) * (b - a);
            let falsi = (b * fa - a * fb) / (fa - fb);
            let towards = (mid - falsi).signum();
            let truncated = if delta <= (mid - falsi).abs() {
                falsi + towards * delta
            } else {
                mid
            };
            let x = if (truncated - mid).abs() <= r {
                truncated
            } else {
                mid - towards * r
            };
            if x <= a || x >= b {
                break;
            }
            let g = cache.gap(self, x, offset)?;
            if g == 0.0 && offset == 0.0 {
                return Ok(x);
            }
            let y = sign * g;
            if y > 0.0 {
                (b, fb) = (x, y);
            } else {
                (a, fa) = (x, y);
            }
        }
        Ok(0.5 * (a + b))
    }
}

/// Evaluations so far, by value: bisections for the value and for the
/// ends of its interval share many points.
struct Cache<'c> {
    done: Vec<(f64, Estimate)>,
    /// Solve continuous values by ITP (a mean or a ratio), not bisection.
    interpolate: bool,
    config: &'c RunConfig,
    progress: &'c (dyn Fn(u64) + Sync),
}

impl Cache<'_> {
    fn at(&mut self, p: &Problem, x: f64) -> Result<Estimate, crate::Error> {
        if let Some((_, e)) = self.done.iter().find(|(v, _)| *v == x) {
            return Ok(*e);
        }
        let e = p.evaluate(x, self.config, self.progress)?;
        self.done.push((x, e));
        Ok(e)
    }

    /// S(x) + offset * h(x) - target; an error when it is undefined.
    fn gap(&mut self, p: &Problem, x: f64, offset: f64) -> Result<f64, crate::Error> {
        let e = self.at(p, x)?;
        let h = if offset == 0.0 { 0.0 } else { e.half_width() };
        let g = e.value + offset * h - p.target;
        if g.is_nan() {
            let what = if e.value.is_nan() {
                format!("`{}` is undefined", p.statistic.name())
            } else {
                "its interval is undefined (too few iterations: use more with -n)".to_string()
            };
            return Err(crate::Error::Setting(format!("at {x}, {what}")));
        }
        Ok(g)
    }

    /// Whether the target lies in the statistic's 95% interval at `x`.
    fn inside(&mut self, p: &Problem, x: f64) -> Result<bool, crate::Error> {
        Ok(self.gap(p, x, -1.0)? <= 0.0 && self.gap(p, x, 1.0)? >= 0.0)
    }
}

/// Finds the value in `problem.range` at which the statistic meets the
/// target, with a 95% interval, or reports that it is unreachable there.
/// `known` are evaluations the caller already has (same configuration),
/// which are not run again.
pub fn solve(
    problem: &Problem,
    known: &[(f64, Estimate)],
    config: &RunConfig,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Solution, crate::Error> {
    solve_traced(problem, known, config, progress).map(|(s, _)| s)
}

/// [`solve`], and every value evaluated with its estimate, in the order
/// evaluated (`known` first): the search's path.
pub fn solve_traced(
    problem: &Problem,
    known: &[(f64, Estimate)],
    config: &RunConfig,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<(Solution, Vec<(f64, Estimate)>), crate::Error> {
    let unit = problem
        .statistic
        .unit(&Catalog::new(&(problem.build)(problem.range.0)?));
    let mut cache = Cache {
        done: known.to_vec(),
        interpolate: unit != crate::figures::Unit::Probability,
        config,
        progress,
    };
    let (lo, hi) = problem.range;
    let (g_lo, g_hi) = (cache.gap(problem, lo, 0.0)?, cache.gap(problem, hi, 0.0)?);
    let value = if g_lo == 0.0 {
        lo
    } else if g_hi == 0.0 {
        hi
    } else if (g_lo > 0.0) == (g_hi > 0.0) {
        let unreachable = Solution::Unreachable {
            at_low: cache.at(problem, lo)?,
            at_high: cache.at(problem, hi)?,
        };
        return Ok((unreachable, cache.done));
    } else {
        problem.bisect(0.0, lo, hi, g_lo > 0.0, &mut cache)?
    };
    // Interval ends: where S + h and S - h cross the target. When one does
    // not change sign over the range, the interval reaches the end where
    // the statistic itself is on the other side of the target.
    let below_at_lo = g_lo < 0.0 || (g_lo == 0.0 && g_hi > 0.0);
    let mut ends = Vec::new();
    for offset in [1.0, -1.0] {
        let (a, b) = (
            cache.gap(problem, lo, offset)?,
            cache.gap(problem, hi, offset)?,
        );
        ends.push(if (a > 0.0) == (b > 0.0) {
            if below_at_lo == (offset > 0.0) {
                lo
            } else {
                hi
            }
        } else {
            problem.bisect(offset, lo, hi, a > 0.0, &mut cache)?
        });
    }
    let interval = (
        ends[0].min(ends[1]).min(value),
        ends[0].max(ends[1]).max(value),
    );
    let achieved = cache.at(problem, value)?;
    let found = Solution::Found {
        value,
        interval,
        achieved,
        evaluations: cache.done.len(),
    };
    Ok((found, cache.done))
}

/// A search for the value of one scenario key (`pbrsim solve`): the
/// scenario's text with its overrides, the key varied, the range searched,
/// the statistic and its target.
pub struct KeySearch<'a> {
    /// The scenario.
    pub source: &'a crate::scenario::Source,
    /// Its `--set` overrides, applied before the varied key.
    pub overrides: &'a [crate::scenario::Override],
    /// The dotted path of the key varied.
    pub vary: &'a str,
    /// The range searched, low end first.
    pub range: (f64, f64),
    /// What is measured.
    pub statistic: &'a Statistic,
    /// The statistic's target.
    pub target: f64,
}

impl KeySearch<'_> {
    /// Whether only whole values are searched: the key holds a whole number
    /// and both ends of the range are whole.
    pub fn integer(&self) -> bool {
        self.source.is_whole_number(self.overrides, self.vary)
            && self.range.0.fract() == 0.0
            && self.range.1.fract() == 0.0
    }

    /// Finds the key's value (see [`solve`]), after checking the target
    /// and range and that the scenario is valid at both ends.
    pub fn solve(
        &self,
        config: &RunConfig,
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<Solution, crate::Error> {
        self.solve_traced(config, progress).map(|(s, _)| s)
    }

    /// [`KeySearch::solve`], and the values evaluated on the way with their
    /// estimates, in order.
    pub fn solve_traced(
        &self,
        config: &RunConfig,
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<(Solution, Vec<(f64, Estimate)>), crate::Error> {
        let usage = |option: String, message: &str| crate::Error::Usage {
            option,
            message: message.into(),
        };
        let (lo, hi) = self.range;
        if !self.target.is_finite() {
            return Err(usage(
                format!("--target {}", self.target),
                "must be a finite number",
            ));
        }
        if lo >= hi || lo.is_nan() || hi.is_nan() {
            return Err(usage(
                format!("--between {lo} {hi}"),
                "the low end must be below the high end",
            ));
        }
        let integer = self.integer();
        let build = |x: f64| -> Result<Model, crate::Error> {
            let mut o = self.overrides.to_vec();
            o.push(crate::scenario::Override {
                path: self.vary.to_string(),
                value: crate::output::stress::varied_value(x, integer),
            });
            Ok(crate::scenario::load_str(&self.source.text, &self.source.origin, &o)?.model)
        };
        // Both ends must be valid scenarios before anything runs.
        build(lo)?;
        build(hi)?;
        let problem = Problem {
            build: &build,
            statistic: self.statistic,
            target: self.target,
            range: self.range,
            integer,
        };
        solve_traced(&problem, &[], config, progress)
    }
}
