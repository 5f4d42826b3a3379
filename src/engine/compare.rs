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
}

impl Paired {
    /// Standard error the difference would have from two independent runs
    /// of the same size: sqrt(se_a^2 + se_b^2).
    pub fn independent_se(&self) -> f64 {
        (math::powi(self.a.se(), 2) + math::powi(self.b.se(), 2)).sqrt()
    }
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
    let fresh = || vec![[Moments::default(), Moments::default(), Moments::default()]; pairs.len()];
    let mut total = fresh();
    let steps = driver::Steps {
        start: |_| fresh(),
        observe: |acc: &mut Vec<[Moments; 3]>, _, outcomes: &driver::Outcomes| {
            let (ra, rb) = (outcomes.figures(0), outcomes.figures(1));
            for (m, &(x, y)) in acc.iter_mut().zip(&pairs) {
                m[0].push(ra[x]);
                m[1].push(rb[y]);
                m[2].push(rb[y] - ra[x]);
            }
        },
        merge: |_, part: Vec<[Moments; 3]>, _: &rayon::ThreadPool| {
            for (t, p) in total.iter_mut().zip(&part) {
                for k in 0..3 {
                    t[k].merge(&p[k]);
                }
            }
            Ok(())
        },
        after_wave: |done| {
            progress(done);
            true
        },
    };
    let arms = [driver::Arm::plain(a), driver::Arm::plain(b)];
    driver::drive(&arms, &catalogs, &schedule, steps)?;
    Ok(pairs
        .iter()
        .zip(total)
        .map(|(&(x, _), [ma, mb, md])| Paired {
            key: cat_a.figures[x].key(),
            a: ma,
            b: mb,
            difference: md,
        })
        .collect())
}
