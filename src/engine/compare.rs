//! Two contracts on common random numbers: the same simulated people and
//! the same uncertain draws in every iteration, so that differences between
//! the contracts are not noise.
//!
//! Iteration `i` of both contracts draws from the streams of `(seed, i)`;
//! parameter draws sit in fixed slots, so a change of terms leaves every
//! draw in place and a change of structure (another segment, say) moves
//! only what it must. Paired differences are summarised per figure present
//! in both, in fixed blocks merged in order like a run.

use super::plan::Plan;
use super::world::{Scratch, simulate};
use super::{BLOCK, RunConfig};
use crate::figures::Catalog;
use crate::model::Model;
use crate::stats::Moments;
use rayon::prelude::*;

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
        (self.a.se().powi(2) + self.b.se().powi(2)).sqrt()
    }
}

/// Runs both models on common random numbers and summarises every figure
/// they share.
pub fn compare(a: &Model, b: &Model, config: &RunConfig) -> Result<Vec<Paired>, crate::Error> {
    let (plan_a, plan_b) = (Plan::new(a), Plan::new(b));
    let (cat_a, cat_b) = (Catalog::new(a), Catalog::new(b));
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
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(config.threads)
        .build()
        .map_err(|e| {
            crate::Error::Option(format!("cannot start {} threads: {e}", config.threads))
        })?;
    let blocks = config.iterations.div_ceil(BLOCK);
    let wave = (pool.current_num_threads() as u64 * 4).max(1);
    let fresh = || vec![[Moments::default(), Moments::default(), Moments::default()]; pairs.len()];
    let mut total = fresh();
    let mut start = 0;
    while start < blocks {
        let end = (start + wave).min(blocks);
        let parts: Vec<Vec<[Moments; 3]>> = pool.install(|| {
            (start..end)
                .into_par_iter()
                .map(|blk| {
                    let mut acc = fresh();
                    let (mut sa, mut sb) = (Scratch::new(a, &plan_a), Scratch::new(b, &plan_b));
                    let (mut ra, mut rb) = (Vec::new(), Vec::new());
                    for i in blk * BLOCK..((blk + 1) * BLOCK).min(config.iterations) {
                        simulate(a, &plan_a, config.seed, i, &mut sa);
                        simulate(b, &plan_b, config.seed, i, &mut sb);
                        cat_a.fill(a, &sa.result, &mut ra);
                        cat_b.fill(b, &sb.result, &mut rb);
                        for (m, &(x, y)) in acc.iter_mut().zip(&pairs) {
                            m[0].push(ra[x]);
                            m[1].push(rb[y]);
                            m[2].push(rb[y] - ra[x]);
                        }
                    }
                    acc
                })
                .collect()
        });
        // Block order, as in a run: the result does not depend on threads.
        for part in &parts {
            for (t, p) in total.iter_mut().zip(part) {
                for k in 0..3 {
                    t[k].merge(&p[k]);
                }
            }
        }
        start = end;
    }
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
