//! Which uncertain inputs drive a statistic: a tornado (one input at a
//! time at a low and a high percentile, the others as drawn), Sobol
//! indices (first-order and total, valid for non-linear models), and the
//! split of each party's variance between the uncertain parameters, which
//! better evidence could narrow, and participant-level noise, which it
//! could not.
//!
//! Inputs are independent by construction (factor scores, each
//! parameter's own score, the participant stream; see [`super::worlds`]),
//! which is what Sobol indices need: parameters correlated through a
//! shared factor have their common part attributed to the factor.
//!
//! Estimators (N iterations, f = the per-world value of the statistic):
//! - first order (Saltelli et al. 2010, Table 2 (b)):
//!   `S_j = (1/N) sum f(B) (f(A_B^j) - f(A)) / V`;
//! - total (Jansen 1999): `ST_j = (1/2N) sum (f(A) - f(A_B^j))^2 / V`;
//! - `V` the variance of f over A and B together.
//!
//! `A` is the plain run's worlds, `B` an independent second replicate of
//! every input, `A_B^j` is `A` with input `j` from `B`. A ratio of means
//! (`cost_per_attributable_outcome`) has no per-world value; its indices
//! are those of its linearisation `N - R D` (`R` the ratio), the
//! per-world quantity whose mean the ratio's error is made of.

use super::arms::{Arm, Estimate, run_arms};
use super::statistic::{Layout, Resolved, Statistic};
use super::worlds::{Input, Worlds, inputs};
use crate::engine::RunConfig;
use crate::figures::{Catalog, Unit};
use crate::math;
use crate::model::Model;

/// One input of a tornado.
#[derive(Clone, Debug)]
pub struct Bar {
    /// Input name (a factor or a parameter path).
    pub input: String,
    /// The input's value at the low and high percentiles (a parameter's
    /// value; a factor's normal score).
    pub values: (f64, f64),
    /// The statistic with the input at its low and high percentile.
    pub low: Estimate,
    /// See `low`.
    pub high: Estimate,
    /// Low minus baseline, paired.
    pub low_change: Estimate,
    /// High minus baseline, paired.
    pub high_change: Estimate,
}

impl Bar {
    /// |high - low|: what the bars are sorted by.
    pub fn swing(&self) -> f64 {
        (self.high.value - self.low.value).abs()
    }
}

/// A tornado for one statistic.
#[derive(Clone, Debug)]
pub struct Tornado {
    /// The statistic.
    pub statistic: String,
    /// Its unit.
    pub unit: Unit,
    /// Percentiles, in (0, 1).
    pub percentiles: (f64, f64),
    /// With every input as drawn.
    pub baseline: Estimate,
    /// One bar per input, the widest swing first.
    pub bars: Vec<Bar>,
    /// The work of the tornado's arms in runs: their number, less the
    /// months arms took from the baseline (those of a late year's macro
    /// multiplier, before that year).
    pub runs: f64,
}

/// The inputs a tornado or a Sobol analysis varies (every factor and
/// uncertain parameter; Sobol adds the participants).
fn parameter_inputs(model: &Model) -> Vec<(String, Input)> {
    inputs(model)
        .into_iter()
        .filter(|(_, i)| *i != Input::Participants)
        .collect()
}

/// One-at-a-time sensitivity: each input at percentile `low` and `high`
/// in turn, the others as drawn, on common random numbers.
pub fn tornado(
    model: &Model,
    stats: &[Statistic],
    low: f64,
    high: f64,
    config: &RunConfig,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Vec<Tornado>, crate::Error> {
    let ins = parameter_inputs(model);
    let mut arms = vec![Arm {
        model,
        worlds: Worlds::default(),
    }];
    for (_, input) in &ins {
        for u in [low, high] {
            arms.push(Arm {
                model,
                worlds: Worlds {
                    pinned: vec![(*input, u)],
                    ..Default::default()
                },
            });
        }
    }
    let catalog = Catalog::new(model);
    let layout = Layout::new(&vec![catalog.clone(); arms.len()], stats);
    let sums = run_arms(
        &arms,
        config,
        layout.width,
        |rows, s| layout.push(rows, s),
        progress,
    )?;
    let slots = model.slots();
    let value_at = |input: Input, u: f64| match input {
        Input::Parameter(j) => slots[j].param.map_or(f64::NAN, |p| p.at_percentile(u)),
        Input::Factor(_) => crate::math::normal_quantile(u),
        Input::Participants => f64::NAN,
    };
    Ok(stats
        .iter()
        .enumerate()
        .map(|(s, stat)| {
            let v = |arm: usize| sums.estimate(|t, n| layout.value(arm, s, t, n));
            let d = |arm: usize| {
                sums.estimate(|t, n| layout.value(arm, s, t, n) - layout.value(0, s, t, n))
            };
            let mut bars: Vec<Bar> = ins
                .iter()
                .enumerate()
                .map(|(k, (name, input))| Bar {
                    input: name.clone(),
                    values: (value_at(*input, low), value_at(*input, high)),
                    low: v(1 + 2 * k),
                    high: v(2 + 2 * k),
                    low_change: d(1 + 2 * k),
                    high_change: d(2 + 2 * k),
                })
                .collect();
            bars.sort_by(|a, b| b.swing().total_cmp(&a.swing()));
            Tornado {
                statistic: stat.name(),
                unit: stat.unit(&catalog),
                percentiles: (low, high),
                baseline: v(0),
                bars,
                runs: sums.work.runs(arms.len()),
            }
        })
        .collect())
}

/// First-order and total Sobol indices of one input.
#[derive(Clone, Debug)]
pub struct Index {
    /// Input name (a factor, a parameter path, or `participants`).
    pub input: String,
    /// Share of the variance the input explains alone.
    pub first: Estimate,
    /// Share it explains with all its interactions.
    pub total: Estimate,
}

/// Sobol indices for one statistic.
#[derive(Clone, Debug)]
pub struct Sobol {
    /// The statistic.
    pub statistic: String,
    /// Variance of the per-world value (of its linearisation for a ratio).
    pub variance: Estimate,
    /// One entry per input, largest total index first.
    pub indices: Vec<Index>,
    /// The work of the design's arms in runs (as [`Tornado::runs`]).
    pub runs: f64,
}

/// Sums of the pick-freeze design for one statistic with `w` components
/// and `k` inputs: means of A and B, then cross-moment matrices
/// AA, BB, BA, and per input B.ABj, A.ABj, ABj.ABj.
struct PickFreeze {
    w: usize,
    k: usize,
}

impl PickFreeze {
    fn width(&self) -> usize {
        2 * self.w + 3 * self.w * self.w * (1 + self.k)
    }
    fn matrix(&self, m: usize) -> usize {
        2 * self.w + m * self.w * self.w
    }

    /// Adds one iteration: `x(a)` are arm `a`'s components (A, B, AB_1..).
    fn push(&self, x: impl Fn(usize) -> [f64; 2], sums: &mut [f64]) {
        let w = self.w;
        let (a, b) = (x(0), x(1));
        let mut outer = |m: usize, p: &[f64; 2], q: &[f64; 2]| {
            let at = self.matrix(m);
            for i in 0..w {
                for j in 0..w {
                    sums[at + i * w + j] += p[i] * q[j];
                }
            }
        };
        outer(0, &a, &a);
        outer(1, &b, &b);
        outer(2, &b, &a);
        for j in 0..self.k {
            let ab = x(2 + j);
            outer(3 + 3 * j, &b, &ab);
            outer(4 + 3 * j, &a, &ab);
            outer(5 + 3 * j, &ab, &ab);
        }
        for i in 0..w {
            sums[i] += a[i];
            sums[w + i] += b[i];
        }
    }

    /// The per-world value's coefficients: `[1]`, or `[1, -R]` for a ratio.
    fn coefficients(&self, s: &[f64]) -> [f64; 2] {
        if self.w == 1 {
            [1.0, 0.0]
        } else {
            [1.0, -(s[0] + s[2]) / (s[1] + s[3])]
        }
    }

    fn quad(&self, s: &[f64], m: usize, c: &[f64; 2]) -> f64 {
        let at = self.matrix(m);
        let mut q = 0.0;
        for i in 0..self.w {
            for j in 0..self.w {
                q += c[i] * c[j] * s[at + i * self.w + j];
            }
        }
        q
    }

    fn variance(&self, s: &[f64], n: f64) -> f64 {
        let c = self.coefficients(s);
        let lin = |off: usize| (0..self.w).map(|i| c[i] * s[off + i]).sum::<f64>();
        let mean = (lin(0) + lin(self.w)) / (2.0 * n);
        (self.quad(s, 0, &c) + self.quad(s, 1, &c)) / (2.0 * n) - mean * mean
    }

    fn first(&self, s: &[f64], n: f64, j: usize) -> f64 {
        let c = self.coefficients(s);
        (self.quad(s, 3 + 3 * j, &c) - self.quad(s, 2, &c)) / n / self.variance(s, n)
    }

    fn total(&self, s: &[f64], n: f64, j: usize) -> f64 {
        let c = self.coefficients(s);
        (self.quad(s, 0, &c) - 2.0 * self.quad(s, 4 + 3 * j, &c) + self.quad(s, 5 + 3 * j, &c))
            / (2.0 * n)
            / self.variance(s, n)
    }
}

/// Sobol indices of every input (factors, uncertain parameters and the
/// participants) for each statistic: `N (k + 2)` worlds for `k` inputs.
pub fn sobol(
    model: &Model,
    stats: &[Statistic],
    config: &RunConfig,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Vec<Sobol>, crate::Error> {
    let ins = inputs(model);
    let everything: Vec<Input> = ins.iter().map(|(_, i)| *i).collect();
    let mut arms = vec![
        Arm {
            model,
            worlds: Worlds::default(),
        },
        Arm {
            model,
            worlds: Worlds {
                from_second: everything,
                ..Default::default()
            },
        },
    ];
    for (_, input) in &ins {
        arms.push(Arm {
            model,
            worlds: Worlds {
                from_second: vec![*input],
                ..Default::default()
            },
        });
    }
    let catalog = Catalog::new(model);
    let resolved: Vec<Resolved> = stats
        .iter()
        .map(|s| {
            s.resolve(&catalog)
                .expect("statistics are parsed against this model")
        })
        .collect();
    let designs: Vec<PickFreeze> = resolved
        .iter()
        .map(|r| PickFreeze {
            w: r.width(),
            k: ins.len(),
        })
        .collect();
    let offsets: Vec<usize> = designs
        .iter()
        .scan(0, |at, d| {
            let o = *at;
            *at += d.width();
            Some(o)
        })
        .collect();
    let width = designs.iter().map(|d| d.width()).sum();
    let observe = |rows: &[Vec<f64>], sums: &mut [f64]| {
        for ((r, d), &at) in resolved.iter().zip(&designs).zip(&offsets) {
            let x = |arm: usize| {
                let mut v = [0.0; 2];
                for (c, x) in v.iter_mut().enumerate().take(r.width()) {
                    *x = r.component(&rows[arm], c);
                }
                v
            };
            d.push(x, &mut sums[at..at + d.width()]);
        }
    };
    let sums = run_arms(&arms, config, width, observe, progress)?;
    Ok(stats
        .iter()
        .enumerate()
        .map(|(s, stat)| {
            let (d, at) = (&designs[s], offsets[s]);
            let mut indices: Vec<Index> = ins
                .iter()
                .enumerate()
                .map(|(j, (name, _))| Index {
                    input: name.clone(),
                    first: sums.estimate(|t, n| d.first(&t[at..], n, j)),
                    total: sums.estimate(|t, n| d.total(&t[at..], n, j)),
                })
                .collect();
            indices.sort_by(|a, b| b.total.value.total_cmp(&a.total.value));
            Sobol {
                statistic: stat.name(),
                variance: sums.estimate(|t, n| d.variance(&t[at..], n)),
                indices,
                runs: sums.work.runs(arms.len()),
            }
        })
        .collect())
}

/// One party's variance, split.
#[derive(Clone, Debug)]
pub struct Split {
    /// Party id.
    pub party: String,
    /// The figure (`party.net`, `party.failed`).
    pub statistic: String,
    /// Its unit.
    pub unit: Unit,
    /// Mean.
    pub mean: Estimate,
    /// Total variance.
    pub variance: Estimate,
    /// Var(E[Y | parameters]): what better evidence on the parameters
    /// could remove.
    pub parameters: Estimate,
    /// E[Var(Y | parameters)]: participant-level noise, which no evidence
    /// removes.
    pub participants: Estimate,
    /// `parameters / (parameters + participants)`.
    pub parameters_share: Estimate,
}

/// Per party, the variance of its net value (and, for providers, of its
/// failure indicator) split into the part due to the uncertain parameters
/// and the part due to participant-level noise.
///
/// Each world is run twice with the same parameter draws and two
/// independent participant streams, `Y1` and `Y2`: `Cov(Y1, Y2) =
/// Var(E[Y|theta])` and `E[(Y1 - Y2)^2] / 2 = E[Var(Y|theta)]`, whose sum is
/// the total variance (the law of total variance).
pub fn variance_split(
    model: &Model,
    config: &RunConfig,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Vec<Split>, crate::Error> {
    let catalog = Catalog::new(model);
    let mut stats: Vec<(String, Statistic)> = Vec::new();
    for (_, id, _) in &catalog.parties {
        for name in ["net", "failed"] {
            let key = format!("{id}.{name}");
            if catalog.figures.iter().any(|f| f.key() == key) {
                stats.push((id.clone(), Statistic::Mean(key)));
            }
        }
    }
    let arms = [
        Arm {
            model,
            worlds: Worlds::default(),
        },
        Arm {
            model,
            worlds: Worlds {
                from_second: vec![Input::Participants],
                ..Default::default()
            },
        },
    ];
    let figures: Vec<usize> = stats
        .iter()
        .map(|(_, s)| {
            catalog
                .figures
                .iter()
                .position(|f| f.key() == s.name())
                .expect("listed from the catalog")
        })
        .collect();
    let observe = |rows: &[Vec<f64>], sums: &mut [f64]| {
        for (k, &f) in figures.iter().enumerate() {
            let (y1, y2) = (rows[0][f], rows[1][f]);
            let s = &mut sums[5 * k..5 * k + 5];
            s[0] += y1;
            s[1] += y2;
            s[2] += y1 * y1;
            s[3] += y2 * y2;
            s[4] += y1 * y2;
        }
    };
    let sums = run_arms(&arms, config, 5 * stats.len(), observe, progress)?;
    let mean = |s: &[f64], n: f64| (s[0] + s[1]) / (2.0 * n);
    let total = |s: &[f64], n: f64| (s[2] + s[3]) / (2.0 * n) - math::powi(mean(s, n), 2);
    let between = |s: &[f64], n: f64| s[4] / n - (s[0] / n) * (s[1] / n);
    let within = |s: &[f64], n: f64| (s[2] - 2.0 * s[4] + s[3]) / (2.0 * n);
    Ok(stats
        .iter()
        .enumerate()
        .map(|(k, (party, stat))| {
            let at = 5 * k;
            Split {
                party: party.clone(),
                statistic: stat.name(),
                unit: stat.unit(&catalog),
                mean: sums.estimate(|t, n| mean(&t[at..], n)),
                variance: sums.estimate(|t, n| total(&t[at..], n)),
                parameters: sums.estimate(|t, n| between(&t[at..], n)),
                participants: sums.estimate(|t, n| within(&t[at..], n)),
                parameters_share: sums.estimate(|t, n| {
                    between(&t[at..], n) / (between(&t[at..], n) + within(&t[at..], n))
                }),
            }
        })
        .collect())
}

/// Checks a sensitivity request before anything runs: `low` and `high`
/// are percentiles with `0 < low < high < 100`, and the model must have
/// uncertain parameters. Returns the number of independent inputs (with
/// the participant-level noise).
pub fn check_inputs(model: &Model, origin: &str, low: f64, high: f64) -> Result<u64, crate::Error> {
    if !(0.0 < low && low < high && high < 100.0) {
        return Err(crate::Error::Usage {
            option: format!("--low {low} --high {high}"),
            message: "need 0 < low < high < 100 (percentiles)".into(),
        });
    }
    let inputs = inputs(model).len() as u64;
    if inputs == 1 {
        return Err(crate::Error::Setting(format!(
            "{origin} has no uncertain parameters: give some a distribution (docs/scenario-format.md, [uncertainty])"
        )));
    }
    Ok(inputs)
}
