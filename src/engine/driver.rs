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
use super::world::{
    IterationResult, Scratch, Worlds, draw_world, run_world, same_but_parameters, shared_months,
};
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

/// The work a drive did, in simulated months: an analysis's cost in runs is
/// `months / months_per_run`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Work {
    /// Months simulated, over every arm and iteration.
    pub months: u64,
    /// Months each arm's iterations would take run from the start: what
    /// `months` would be if no arm took another's months.
    pub whole: u64,
}

impl std::ops::AddAssign for Work {
    fn add_assign(&mut self, other: Work) {
        self.months += other.months;
        self.whole += other.whole;
    }
}

impl Work {
    /// The work in runs of `arms` arms: `arms` if nothing was shared.
    pub fn runs(&self, arms: usize) -> f64 {
        if self.whole == 0 {
            arms as f64
        } else {
            arms as f64 * self.months as f64 / self.whole as f64
        }
    }
}

/// The thread pool every parallel step runs on.
pub(crate) fn pool(threads: usize) -> Result<rayon::ThreadPool, crate::Error> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| crate::Error::Setting(format!("cannot start {threads} threads: {e}")))
}

/// Runs `schedule.blocks` of every arm on common random numbers.
///
/// An arm whose model differs from the first arm's only in how uncertain
/// parameters are drawn ([`same_but_parameters`]) takes, in each
/// iteration, the first arm's state at the first month their drawn values
/// can tell apart ([`shared_months`]: a shock to a late year's macro
/// multiplier leaves the years before it alike) and runs on from there.
/// The months it skips are exactly the months it would have simulated, so
/// results are the same bits either way; the [`Work`] returned counts them.
pub(crate) fn drive<B, S, O, M, W>(
    arms: &[Arm],
    catalogs: &[Catalog],
    schedule: &Schedule,
    steps: Steps<S, O, M, W>,
) -> Result<Work, crate::Error>
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
    let follows: Vec<bool> = arms
        .iter()
        .enumerate()
        .map(|(k, a)| k > 0 && same_but_parameters(arms[0].model, a.model))
        .collect();
    let months_per_run: Vec<u64> = plans.iter().map(|p| p.months_simulated as u64).collect();
    let wave = schedule
        .wave
        .unwrap_or((pool.current_num_threads() as u64 * 4).max(1));
    let run_block = |block: u64| {
        let mut acc = start(block);
        let mut work = Work::default();
        if schedule.stop.requested() {
            // The wave is abandoned below: its blocks need not run.
            return (acc, 0, work);
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
        let mut participants = vec![0u64; arms.len()];
        let mut from = vec![0usize; arms.len()];
        let first = block * BLOCK;
        let end = ((block + 1) * BLOCK).min(schedule.iterations);
        for i in first..end {
            for (k, arm) in arms.iter().enumerate() {
                let s = &mut scratch[k];
                let second = &mut second[..arm.model.score_count()];
                participants[k] =
                    arm.worlds
                        .prepare(arm.model, schedule.seed, i, &mut s.scores, second);
            }
            // Every arm's values first, so that each follower knows from
            // which month it takes the first arm's state (0: none).
            for (k, arm) in arms.iter().enumerate() {
                draw_world(arm.model, &mut scratch[k]);
            }
            for k in 1..arms.len() {
                from[k] = if follows[k] && participants[k] == participants[0] {
                    shared_months(arms[k].model, &plans[k], &scratch[0], &scratch[k])
                } else {
                    0
                };
            }
            if let Some((leader, rest)) = scratch.split_first_mut() {
                run_world(
                    arms[0].model,
                    &plans[0],
                    schedule.seed,
                    participants[0],
                    leader,
                    0,
                    rest,
                    &from[1..],
                );
            }
            for k in 1..arms.len() {
                run_world(
                    arms[k].model,
                    &plans[k],
                    schedule.seed,
                    participants[k],
                    &mut scratch[k],
                    from[k],
                    &mut [],
                    &[],
                );
            }
            for (k, arm) in arms.iter().enumerate() {
                work += Work {
                    months: months_per_run[k] - from[k] as u64,
                    whole: months_per_run[k],
                };
                catalogs[k].fill(arm.model, &scratch[k].result, &mut figures[k]);
            }
            let outcomes = Outcomes {
                scratch: &scratch,
                figures: &figures,
            };
            observe(&mut acc, i, &outcomes);
        }
        (acc, end.saturating_sub(first), work)
    };
    let mut done = 0;
    let mut work = Work::default();
    let mut block = schedule.blocks.start;
    while block < schedule.blocks.end {
        let last = (block + wave).min(schedule.blocks.end);
        let finished: Vec<(B, u64, Work)> =
            pool.install(|| (block..last).into_par_iter().map(run_block).collect());
        if schedule.stop.requested() {
            return Err(crate::Error::Interrupted);
        }
        for (b, (acc, n, w)) in (block..last).zip(finished) {
            done += n;
            work += w;
            merge(b, acc, &pool)?;
        }
        block = last;
        if !after_wave(done) {
            break;
        }
    }
    Ok(work)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{Override, load_str};

    /// A shipped scenario with `replace` applied to its text, `extra`
    /// appended and `sets` as overrides.
    fn load(name: &str, replace: (&str, &str), extra: &str, sets: &[&str]) -> Model {
        let path = format!("{}/scenarios/{name}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(path).unwrap();
        assert!(text.contains(replace.0), "{name} has {}", replace.0);
        let text = text.replacen(replace.0, replace.1, 1) + extra;
        let overrides: Vec<Override> = sets.iter().map(|s| s.parse().unwrap()).collect();
        load_str(&text, name, &overrides).unwrap().model
    }

    /// Each arm's figures of every iteration, and the work done.
    fn figures(arms: &[Arm], iterations: u64, threads: usize) -> (Vec<Vec<Vec<u64>>>, Work) {
        let catalogs: Vec<Catalog> = arms.iter().map(|a| Catalog::new(a.model)).collect();
        let schedule = Schedule {
            blocks: 0..iterations.div_ceil(BLOCK),
            iterations,
            wave: None,
            seed: 7,
            threads,
            allow_large: false,
            stop: Default::default(),
        };
        let mut rows: Vec<Vec<Vec<u64>>> = Vec::new();
        let steps = Steps {
            start: |_| Vec::new(),
            observe: |acc: &mut Vec<Vec<Vec<u64>>>, _, outcomes: &Outcomes| {
                acc.push(
                    outcomes
                        .all_figures()
                        .iter()
                        .map(|f| f.iter().map(|x| x.to_bits()).collect())
                        .collect(),
                );
            },
            merge: |_, block: Vec<Vec<Vec<u64>>>, _: &rayon::ThreadPool| {
                rows.extend(block);
                Ok(())
            },
            after_wave: |_| true,
        };
        let work = drive(arms, &catalogs, &schedule, steps).unwrap();
        (rows, work)
    }

    /// Runs `late` after `baseline` (taking its months where they agree)
    /// and alone: the same bits, iteration by iteration; returns the work
    /// of the pair.
    fn shared_equals_alone(baseline: &Model, late: &Model, iterations: u64) -> Work {
        let pair = [Arm::plain(baseline), Arm::plain(late)];
        let (together, work) = figures(&pair, iterations, 2);
        let (alone, alone_work) = figures(&[Arm::plain(late)], iterations, 1);
        let (first, _) = figures(&[Arm::plain(baseline)], iterations, 1);
        assert_eq!(alone_work.months, alone_work.whole);
        for i in 0..iterations as usize {
            assert_eq!(together[i][1], alone[i][0], "iteration {i}: the late arm");
            assert_eq!(together[i][0], first[i][0], "iteration {i}: the baseline");
        }
        work
    }

    /// A shock to the third year's macro multiplier of the Work Programme
    /// (no measured segment, so nothing reads it before month 24): every
    /// iteration of the shocked arm takes the baseline's first 24 months.
    #[test]
    fn a_late_macro_shock_takes_the_baseline_months_before_it() {
        let keep = ("", "");
        let baseline = load("work_programme.toml", keep, "", &[]);
        let late = load(
            "work_programme.toml",
            keep,
            "",
            &["uncertainty.macro_by_year[2].scale=0.8"],
        );
        assert!(same_but_parameters(&baseline, &late));
        let n = 70;
        let work = shared_equals_alone(&baseline, &late, n);
        let months = Plan::new(&baseline).months_simulated as u64;
        assert_eq!(work.whole, 2 * n * months);
        assert_eq!(work.months, 2 * n * months - n * 24);
    }

    /// The same with a measured sustained-outcome segment: its simulated
    /// comparison reads the macro path of a cohort's whole window at
    /// referral, so a shock to year 3 (month 24) is read from month
    /// 24 - (12 - 1) = 13. A shock to the first year shares nothing.
    #[test]
    fn a_measured_window_reads_the_macro_path_ahead() {
        let path = (
            "macro = 1.0",
            "macro_by_year = [{ dist = \"lognormal\", median = 1.0, sigma = 0.1 }, 1.0, 0.9]",
        );
        let rule = r#"
[[payments.improvement]]
label = "Jobs"
segments = ["jobseekers"]
measure = "binary"
comparison = { kind = "simulated", per_participant = 2 }
cohorts = [{ from_month = 0, to_month = 24, threshold = 0.05 }]
price_per_unit = 500
measurement_lag_months = 12
"#;
        let baseline = load("minimal.toml", path, rule, &[]);
        let late = load(
            "minimal.toml",
            path,
            rule,
            &["uncertainty.macro_by_year[2]=0.7"],
        );
        let early = load(
            "minimal.toml",
            path,
            rule,
            &["uncertainty.macro_by_year[0].scale=0.9"],
        );
        let n = 70;
        let months = Plan::new(&baseline).months_simulated as u64;
        let work = shared_equals_alone(&baseline, &late, n);
        assert_eq!(work.months, 2 * n * months - n * 13);
        let work = shared_equals_alone(&baseline, &early, n);
        assert_eq!(work.months, work.whole);
    }

    /// Counted adverse events (Peterborough, Transforming Rehabilitation,
    /// measured by improvement rules) and months in a state (Essex) read
    /// the macro multiplier of their referral year: a shock to the third
    /// year shares months 0-23 and changes no figure.
    #[test]
    fn adverse_events_and_states_read_the_referral_year() {
        for (name, line) in [
            (
                "peterborough_sib.toml",
                "macro = { dist = \"lognormal\", median = 1.0, sigma = 0.08 }",
            ),
            (
                "transforming_rehabilitation.toml",
                "macro = { dist = \"lognormal\", median = 1.0, sigma = 0.2 }",
            ),
            (
                "essex_edge_of_care.toml",
                "macro = { dist = \"lognormal\", median = 1.0, sigma = 0.1 }",
            ),
        ] {
            let path = (
                line,
                "macro_by_year = [{ dist = \"lognormal\", median = 1.0, sigma = 0.1 }, 1.0, 0.9]",
            );
            let baseline = load(name, path, "", &[]);
            let late = load(name, path, "", &["uncertainty.macro_by_year[2]=0.6"]);
            let n = 70;
            let months = Plan::new(&baseline).months_simulated as u64;
            let work = shared_equals_alone(&baseline, &late, n);
            assert_eq!(work.months, 2 * n * months - n * 24, "{name}");
        }
    }

    /// Arms that differ in anything but parameters never share, and a
    /// shocked arm identical in its draws takes every month.
    #[test]
    fn only_parameters_may_differ() {
        let keep = ("", "");
        let baseline = load("minimal.toml", keep, "", &[]);
        let priced = load(
            "minimal.toml",
            keep,
            "",
            &["segments.jobseekers.tariff.outcome=1234"],
        );
        assert!(!same_but_parameters(&baseline, &priced));
        let (_, work) = figures(&[Arm::plain(&baseline), Arm::plain(&priced)], 70, 1);
        assert_eq!(work.months, work.whole);
        let same = load("minimal.toml", keep, "", &["uncertainty.cost=1.0"]);
        let work = shared_equals_alone(&baseline, &same, 70);
        let months = Plan::new(&baseline).months_simulated as u64;
        assert_eq!(work.months, 70 * months);
    }
}
