//! Several arms (a model and a way of drawing worlds) on common random
//! numbers, through the engine's one driver: iteration `i` of every arm
//! starts from the same streams, so differences between arms are the
//! effect of the shock, not noise.
//!
//! What is kept per iteration is up to the caller: an `observe` function
//! adds the iteration's contribution to a fixed-width vector of sums
//! (values, squares, products across arms). Sums are kept per batch of
//! iterations (equal sizes, fixed by the iteration count), so every
//! estimate comes with a delete-one-batch jackknife error, and memory is
//! fixed whatever the number of iterations.

use crate::engine::driver::{Outcomes, Schedule, Steps, drive};
use crate::engine::{RunConfig, blocks_of};
use crate::figures::Catalog;
use crate::math;

pub use crate::engine::Arm;

/// Most batches a run is split into for its errors.
pub const MAX_BATCHES: u64 = 40;

/// Per-batch sums of what `observe` recorded.
#[derive(Clone, Debug, PartialEq)]
pub struct BatchSums {
    /// Width of one sum vector.
    pub width: usize,
    /// Iterations per batch.
    pub counts: Vec<u64>,
    /// `counts.len() * width` sums, batch-major.
    pub sums: Vec<f64>,
    /// The months the arms simulated (fewer than their runs' when an arm
    /// took the first arm's months before a late shock).
    pub work: crate::engine::Work,
}

impl BatchSums {
    /// The sums over every batch, added in batch order.
    pub fn total(&self) -> (Vec<f64>, u64) {
        let mut t = vec![0.0; self.width];
        for b in self.sums.chunks(self.width) {
            for (x, y) in t.iter_mut().zip(b) {
                *x += y;
            }
        }
        (t, self.counts.iter().sum())
    }

    /// An estimate `g(sums, n)` over all iterations, with its
    /// delete-one-batch jackknife standard error and degrees of freedom.
    pub fn estimate(&self, g: impl Fn(&[f64], f64) -> f64) -> Estimate {
        let (total, n) = self.total();
        let value = g(&total, n as f64);
        let b = self.counts.len();
        if b < 2 {
            return Estimate {
                value,
                se: f64::NAN,
                df: 0,
            };
        }
        let mut rest = vec![0.0; self.width];
        let leave_out: Vec<f64> = (0..b)
            .map(|k| {
                let s = &self.sums[k * self.width..(k + 1) * self.width];
                for ((r, t), x) in rest.iter_mut().zip(&total).zip(s) {
                    *r = t - x;
                }
                g(&rest, (n - self.counts[k]) as f64)
            })
            .collect();
        let m = leave_out.iter().sum::<f64>() / b as f64;
        let ss: f64 = leave_out.iter().map(|x| math::powi(x - m, 2)).sum();
        Estimate {
            value,
            se: ((b - 1) as f64 / b as f64 * ss).sqrt(),
            df: b - 1,
        }
    }
}

/// A Monte Carlo estimate with its standard error.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Estimate {
    /// The estimate from every iteration.
    pub value: f64,
    /// Its jackknife standard error (NaN when it cannot be estimated).
    pub se: f64,
    /// Degrees of freedom of the error (batches - 1).
    pub df: usize,
}

impl Estimate {
    /// Half-width of the two-sided 95% interval (Student t on `df`).
    pub fn half_width(&self) -> f64 {
        if self.df == 0 || !self.se.is_finite() {
            return f64::NAN;
        }
        let t = crate::math::StudentT::standard(self.df as f64).quantile(0.975);
        t * self.se
    }

    /// The 95% interval.
    pub fn interval(&self) -> (f64, f64) {
        let h = self.half_width();
        (self.value - h, self.value + h)
    }
}

/// Runs every arm on iterations `0..config.iterations` and returns the
/// per-batch sums `observe` accumulated. `observe(rows, sums)` gets each
/// arm's figure row (in its catalog's order) for one iteration.
pub fn run_arms<F>(
    arms: &[Arm],
    config: &RunConfig,
    width: usize,
    observe: F,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<BatchSums, crate::Error>
where
    F: Fn(&[Vec<f64>], &mut [f64]) + Sync,
{
    let catalogs: Vec<Catalog> = arms.iter().map(|a| Catalog::new(a.model)).collect();
    // Batches of equal size (within one iteration), fixed by the iteration
    // count: a block may feed two batches. With Sobol' points a batch is a
    // randomisation (iteration i mod R): the points within one are not
    // independent, the randomisations are, so the jackknife deletes one
    // randomisation at a time.
    let randomisations = config.sampling.randomisations();
    let batches = match randomisations {
        Some(r) => crate::qmc::randomisations_holding(r, config.iterations) as u64,
        None => config.iterations.clamp(1, MAX_BATCHES),
    };
    let batch_of = |i: u64| match randomisations {
        Some(r) => crate::qmc::randomisation_of(i, r),
        None => (i as u128 * batches as u128 / config.iterations as u128) as usize,
    };
    if randomisations.is_some() && arms.iter().any(|a| !a.worlds.from_second.is_empty()) {
        return Err(crate::Error::Setting(
            "Sobol' points cannot draw a second replicate of each world (Sobol indices, variance split): use --sampling monte-carlo".into(),
        ));
    }
    let arms: Vec<Arm> = arms
        .iter()
        .map(|a| {
            let mut a = a.clone();
            a.worlds.sampling = config.sampling;
            a
        })
        .collect();
    let mut out = BatchSums {
        width,
        counts: vec![0; batches as usize],
        sums: vec![0.0; batches as usize * width],
        work: Default::default(),
    };
    let schedule = Schedule {
        blocks: 0..blocks_of(config.iterations),
        iterations: config.iterations,
        wave: None,
        seed: config.seed,
        threads: config.threads,
        allow_large: config.allow_large,
        stop: config.stop.clone(),
    };
    let mut reported = 0;
    let steps = Steps {
        // Per batch the block touches: the batch, its sums, its iterations.
        start: |_| Vec::<(usize, Vec<f64>, u64)>::with_capacity(2),
        observe: |done: &mut Vec<(usize, Vec<f64>, u64)>, i, outcomes: &Outcomes| {
            let b = batch_of(i);
            // At most two batches a block by ranges, or one per
            // randomisation: a short search, and each allocated once.
            let d = match done.iter().position(|d| d.0 == b) {
                Some(k) => &mut done[k],
                None => {
                    done.push((b, vec![0.0; width], 0));
                    done.last_mut().expect("pushed above")
                }
            };
            observe(outcomes.all_figures(), &mut d.1);
            d.2 += 1;
        },
        // Block order, whatever the threads: the sums do not depend on them.
        merge: |_, done: Vec<(usize, Vec<f64>, u64)>, _: &rayon::ThreadPool| {
            for (b, sums, n) in done {
                out.counts[b] += n;
                for (x, y) in out.sums[b * width..(b + 1) * width].iter_mut().zip(&sums) {
                    *x += y;
                }
            }
            Ok(())
        },
        after_wave: |done| {
            progress(done - reported);
            reported = done;
            true
        },
    };
    let work = drive(&arms, &catalogs, &schedule, steps)?;
    out.work = work;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jackknife_of_a_mean_is_the_batch_standard_error() {
        // Batches of equal size: the jackknife of a mean equals the
        // standard error of the batch means, computed directly.
        let batch_means = [1.0, 3.0, 2.0, 6.0];
        let sums = BatchSums {
            width: 1,
            counts: vec![10; 4],
            sums: batch_means.iter().map(|m| m * 10.0).collect(),
            work: Default::default(),
        };
        let e = sums.estimate(|s, n| s[0] / n);
        let m = batch_means.iter().sum::<f64>() / 4.0;
        let var = batch_means
            .iter()
            .map(|x| math::powi(x - m, 2))
            .sum::<f64>()
            / 3.0;
        assert!((e.value - m).abs() < 1e-12);
        assert!((e.se - (var / 4.0).sqrt()).abs() < 1e-12, "{e:?}");
        assert_eq!(e.df, 3);
    }
}
