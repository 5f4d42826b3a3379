//! The one parallel driver. A run, a comparison and every analysis arm go
//! through [`drive`]: N arms (a model and how its worlds are drawn) on
//! common random numbers, iteration `i` of every arm starting from the
//! streams of `(seed, i)`, in fixed blocks of [`BLOCK`] iterations.
//!
//! Blocks run in parallel in waves on one thread pool; each block's
//! accumulator is handed back in block order, whatever the thread count,
//! so every merge sees the blocks in the same order and results are
//! bit-identical on 1 or 64 threads. A run is one arm; `compare` is two.
//!
//! **Invariant:** this is the only place that builds a thread pool or
//! allocates an iteration's buffers (once per block and arm).

use super::BLOCK;
use super::plan::Plan;
use super::world::{IterationResult, Scratch, Worlds, simulate_world};
use crate::figures::Catalog;
use crate::model::Model;
use rayon::prelude::*;

/// One arm: a (possibly shocked) model and how its worlds are drawn.
#[derive(Clone, Debug)]
pub struct Arm<'a> {
    /// The model.
    pub model: &'a Model,
    /// How iteration `i`'s world is drawn (the plain run's by default).
    pub worlds: Worlds,
}

impl<'a> Arm<'a> {
    /// The plain run's worlds of `model`.
    pub fn plain(model: &'a Model) -> Self {
        Arm {
            model,
            worlds: Worlds::default(),
        }
    }
}

/// Which blocks to run and how.
#[derive(Clone, Debug)]
pub(crate) struct Schedule {
    /// Block indices to run.
    pub(crate) blocks: std::ops::Range<u64>,
    /// Iterations of the whole run (the last block may be short).
    pub(crate) iterations: u64,
    /// Blocks per wave; `None` for four per thread.
    pub(crate) wave: Option<u64>,
    /// Seed of every stream.
    pub(crate) seed: u64,
    /// Worker threads (0 = all cores).
    pub(crate) threads: usize,
    /// Run arms beyond the memory or work limits of `footprint::check`
    /// (checked here for every arm's iteration buffers unless set).
    pub(crate) allow_large: bool,
    /// A request to stop, checked before each block and after each wave.
    pub(crate) stop: super::Stop,
}

/// Every arm's outcome of one iteration.
pub(crate) struct Outcomes<'a> {
    scratch: &'a [Scratch],
    figures: &'a [Vec<f64>],
}

impl Outcomes<'_> {
    /// Arm `k`'s iteration result.
    pub(crate) fn result(&self, k: usize) -> &IterationResult {
        &self.scratch[k].result
    }

    /// Arm `k`'s figures, in its catalog's order.
    pub(crate) fn figures(&self, k: usize) -> &[f64] {
        &self.figures[k]
    }

    /// Every arm's figures.
    pub(crate) fn all_figures(&self) -> &[Vec<f64>] {
        self.figures
    }
}

/// What the driver does with each block and wave.
pub(crate) struct Steps<S, O, M, W> {
    /// A block's empty accumulator.
    pub(crate) start: S,
    /// Adds one iteration (its index and outcomes) to the accumulator.
    pub(crate) observe: O,
    /// Takes a finished block's accumulator, in block order (with the pool,
    /// for merges that run in parallel themselves).
    pub(crate) merge: M,
    /// After each wave, with the iterations done so far: whether to go on.
    pub(crate) after_wave: W,
}

/// The thread pool every parallel step runs on.
pub(crate) fn pool(threads: usize) -> Result<rayon::ThreadPool, crate::Error> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| crate::Error::Setting(format!("cannot start {threads} threads: {e}")))
}

/// Runs `schedule.blocks` of every arm on common random numbers.
pub(crate) fn drive<B, S, O, M, W>(
    arms: &[Arm],
    catalogs: &[Catalog],
    schedule: &Schedule,
    steps: Steps<S, O, M, W>,
) -> Result<(), crate::Error>
where
    B: Send,
    S: Fn(u64) -> B + Sync,
    O: Fn(&mut B, u64, &Outcomes) + Sync,
    M: FnMut(u64, B, &rayon::ThreadPool) -> Result<(), crate::Error>,
    W: FnMut(u64) -> bool,
{
    let Steps {
        start,
        observe,
        mut merge,
        mut after_wave,
    } = steps;
    let pool = pool(schedule.threads)?;
    let plans: Vec<Plan> = arms.iter().map(|a| Plan::new(a.model)).collect();
    if !schedule.allow_large {
        let blocks = schedule.blocks.end - schedule.blocks.start;
        for (arm, plan) in arms.iter().zip(&plans) {
            let needs = super::footprint::footprint(
                arm.model,
                plan,
                0,
                blocks,
                schedule.threads,
                false,
                false,
            );
            super::footprint::check(arm.model, &needs)?;
        }
    }
    let wave = schedule
        .wave
        .unwrap_or((pool.current_num_threads() as u64 * 4).max(1));
    let run_block = |block: u64| {
        let mut acc = start(block);
        if schedule.stop.requested() {
            // The wave is abandoned below: its blocks need not run.
            return (acc, 0);
        }
        let mut scratch: Vec<Scratch> = arms
            .iter()
            .zip(&plans)
            .map(|(a, p)| Scratch::new(a.model, p))
            .collect();
        let mut figures: Vec<Vec<f64>> = catalogs
            .iter()
            .map(|c| Vec::with_capacity(c.figures.len()))
            .collect();
        let widest = arms
            .iter()
            .map(|a| a.model.score_count())
            .max()
            .unwrap_or(0);
        let mut second = vec![0.0; widest];
        let first = block * BLOCK;
        let end = ((block + 1) * BLOCK).min(schedule.iterations);
        for i in first..end {
            for (k, arm) in arms.iter().enumerate() {
                let s = &mut scratch[k];
                let second = &mut second[..arm.model.score_count()];
                let participants =
                    arm.worlds
                        .prepare(arm.model, schedule.seed, i, &mut s.scores, second);
                simulate_world(arm.model, &plans[k], schedule.seed, participants, s);
                catalogs[k].fill(arm.model, &s.result, &mut figures[k]);
            }
            let outcomes = Outcomes {
                scratch: &scratch,
                figures: &figures,
            };
            observe(&mut acc, i, &outcomes);
        }
        (acc, end.saturating_sub(first))
    };
    let mut done = 0;
    let mut block = schedule.blocks.start;
    while block < schedule.blocks.end {
        let last = (block + wave).min(schedule.blocks.end);
        let finished: Vec<(B, u64)> =
            pool.install(|| (block..last).into_par_iter().map(run_block).collect());
        if schedule.stop.requested() {
            return Err(crate::Error::Interrupted);
        }
        for (b, (acc, n)) in (block..last).zip(finished) {
            done += n;
            merge(b, acc, &pool)?;
        }
        block = last;
        if !after_wave(done) {
            break;
        }
    }
    Ok(())
}
