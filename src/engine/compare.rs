//! Two contracts on common random numbers: the same simulated people and
//! the same uncertain draws in every iteration, so that differences between
//! the contracts are not noise.
//!
//! Iteration `i` of both contracts draws from the streams of `(seed, i)`;
//! parameter draws sit in fixed slots, so a change of terms leaves every
//! draw in place and a change of structure (another segment, say) moves
//! only what it must. Paired differences are summarised per figure present
//! in both, in fixed blocks merged in order like a run.

use super::{RunConfig, blocks_of, driver};
use crate::figures::Catalog;
use crate::math;
use crate::model::Model;
use crate::stats::Moments;

/// One figure compared.
#[derive(Clone, Debug)]
pub struct Paired {
    /// Figure key (`party.figure`).
    pub key: String,
    /// Contract A's figure.
    pub a: Moments,
    /// Contract B's figure.
    pub b: Moments,
    /// B minus A, iteration by iteration.
    pub difference: Moments,
    /// With Sobol' points, each randomisation's sums of A, B and the
    /// difference, and their counts (`[sum, n]`, in randomisation order);
    /// empty otherwise.
    pub replicates: Vec<[[f64; 2]; 3]>,
}

impl Paired {
    /// Standard error of the mean of A (0), B (1) or the difference (2):
    /// from the randomisations' means in a Sobol' comparison.
    fn se(&self, k: usize) -> f64 {
        if self.replicates.is_empty() {
            [&self.a, &self.b, &self.difference][k].se()
        } else {
            crate::stats::replicate_se(self.replicates.iter().map(|r| r[k][0] / r[k][1]))
        }
    }

    /// Standard error of A's mean.
    pub fn se_a(&self) -> f64 {
        self.se(0)
    }

    /// Standard error of B's mean.
    pub fn se_b(&self) -> f64 {
        self.se(1)
    }

    /// Standard error of the mean difference.
    pub fn difference_se(&self) -> f64 {
        self.se(2)
    }

    /// Standard error the difference would have from two independent runs
    /// of the same size: sqrt(se_a^2 + se_b^2).
    pub fn independent_se(&self) -> f64 {
        (math::powi(self.se_a(), 2) + math::powi(self.se_b(), 2)).sqrt()
    }
}

/// A block's (or the run's) sums: per pair the three moments, and with
/// Sobol' points per randomisation and pair the three `[sum, n]`.
struct Sums {
    moments: Vec<[Moments; 3]>,
    replicates: Vec<[[f64; 2]; 3]>,
}

/// Runs both models on common random numbers and summarises every figure
/// they share.
///
/// `progress` is called with the number of iterations finished so far.
pub fn compare(
    a: &Model,
    b: &Model,
    config: &RunConfig,
    progress: &dyn Fn(u64),
) -> Result<Vec<Paired>, crate::Error> {
    let catalogs = [Catalog::new(a), Catalog::new(b)];
    let [cat_a, cat_b] = &catalogs;
    let pairs: Vec<(usize, usize)> = cat_a
        .figures
        .iter()
        .enumerate()
        .filter_map(|(i, f)| {
            cat_b
                .figures
                .iter()
                .position(|g| g.key() == f.key())
                .map(|j| (i, j))
        })
        .collect();
    let schedule = driver::Schedule {
        blocks: 0..blocks_of(config.iterations),
        iterations: config.iterations,
        wave: None,
        seed: config.seed,
        threads: config.threads,
        // A comparison keeps moments only: the driver checks each arm's
        // iteration buffers.
        allow_large: config.allow_large,
        stop: config.stop.clone(),
    };
    let randomisations = config.sampling.randomisations().unwrap_or(0);
    let fresh = || Sums {
        moments: vec![[Moments::default(), Moments::default(), Moments::default()]; pairs.len()],
        replicates: vec![[[0.0; 2]; 3]; randomisations * pairs.len()],
    };
    let mut total = fresh();
    let steps = driver::Steps {
        start: |_| fresh(),
        observe: |acc: &mut Sums, i, outcomes: &driver::Outcomes| {
            let (ra, rb) = (outcomes.figures(0), outcomes.figures(1));
            for (m, &(x, y)) in acc.moments.iter_mut().zip(&pairs) {
                m[0].push(ra[x]);
                m[1].push(rb[y]);
                m[2].push(rb[y] - ra[x]);
            }
            if let Some(r) = config.sampling.replicate(i) {
                let cells = &mut acc.replicates[r * pairs.len()..(r + 1) * pairs.len()];
                for (cell, &(x, y)) in cells.iter_mut().zip(&pairs) {
                    for (c, v) in cell.iter_mut().zip([ra[x], rb[y], rb[y] - ra[x]]) {
                        // As `Moments`: NaN (a figure the iteration lacks) is skipped.
                        if !v.is_nan() {
                            c[0] += v;
                            c[1] += 1.0;
                        }
                    }
                }
            }
        },
        // In block order, so the plain sums do not depend on the threads.
        merge: |_, part: Sums, _: &rayon::ThreadPool| {
            for (t, p) in total.moments.iter_mut().zip(&part.moments) {
                for k in 0..3 {
                    t[k].merge(&p[k]);
                }
            }
            for (t, p) in total.replicates.iter_mut().zip(&part.replicates) {
                for k in 0..3 {
                    t[k][0] += p[k][0];
                    t[k][1] += p[k][1];
                }
            }
            Ok(())
        },
        after_wave: |done| {
            progress(done);
            true
        },
    };
    let arm = |model| driver::Arm {
        model,
        worlds: super::world::Worlds {
            sampling: config.sampling,
            ..Default::default()
        },
    };
    driver::drive(&[arm(a), arm(b)], &catalogs, &schedule, steps)?;
    let width = pairs.len();
    Ok(pairs
        .iter()
        .zip(total.moments)
        .enumerate()
        .map(|(j, (&(x, _), [ma, mb, md]))| Paired {
            key: cat_a.figures[x].key(),
            a: ma,
            b: mb,
            difference: md,
            replicates: (0..randomisations)
                .map(|r| total.replicates[r * width + j])
                .collect(),
        })
        .collect())
}
