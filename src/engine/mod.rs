//! The Monte Carlo engine: one iteration ([`world`]), its named figures
//! ([`figures`]), the one parallel driver (`driver`) and what a run makes
//! of the iterations ([`Summary`], [`compare`]).
//!
//! Iterations run in fixed blocks of [`BLOCK`]; blocks run in parallel in
//! waves and their summaries fold into one running summary. Each iteration
//! draws from its own stream and every statistic merges exactly (see
//! [`crate::stats`]), so results are bit-identical on 1 or 64 threads, and
//! a run split into shards of blocks merges back to the same bits.
//!
//! **Invariant:** memory is bounded by one wave of block summaries and the
//! running one, whatever the iteration count, except for the raw rows
//! handed to `on_rows` when the caller asks for them.

/// `Clone` for an iteration's state, field by field, whose `clone_from`
/// copies into the buffers already there instead of allocating new ones
/// (a derived `clone_from` clones whole and drops the old). The struct
/// literal in `clone` names every field, so a field added later and left
/// out here does not compile.
macro_rules! clone_in_place {
    ($ty:ident { $($field:ident),+ $(,)? }) => {
        impl Clone for $ty {
            fn clone(&self) -> Self {
                $ty { $($field: self.$field.clone()),+ }
            }
            fn clone_from(&mut self, source: &Self) {
                $(self.$field.clone_from(&source.$field);)+
            }
        }
    };
}

pub mod blend;
pub mod compare;
pub(crate) mod driver;
pub mod figures;
pub mod footprint;
pub mod improvement;
pub(crate) mod money;
pub mod operating;
pub(crate) mod plan;
mod summary;
pub mod world;

use crate::figures::Catalog;
use crate::model::Model;
use plan::Plan;
use world::{Scratch, simulate};

pub use crate::qmc::Sampling;
pub use driver::{Arm, Work};
pub use summary::Summary;

/// Iterations per block: the unit of work, of merging and of progress.
pub const BLOCK: u64 = 64;
/// Values a figure's sketch keeps exactly before switching to buckets: the
/// default iteration count, so a default run's quantiles are exact, and
/// memory stops growing there (the buckets of a run of millions take less).
pub const FIGURE_SKETCH_CAP: usize = 10_000;
/// The same for each monthly cash-flow cell.
pub const MONTHLY_SKETCH_CAP: usize = 2_000;
/// Relative accuracy of a monthly cell's quantiles past that cap. There are
/// parties x months cells, and their buckets are most of a run's memory;
/// 1% is finer than a fan chart shows, and needs a fifth of the buckets of
/// the figures' 0.2%, so memory levels off within a few thousand
/// iterations instead of growing over millions.
pub const MONTHLY_SKETCH_ACCURACY: f64 = 0.01;

/// What to run.
#[derive(Clone, Debug, Default)]
pub struct RunConfig {
    /// Number of iterations (with `precision`, the least number).
    pub iterations: u64,
    /// Seed of every random stream.
    pub seed: u64,
    /// Worker threads (0 = all cores).
    pub threads: usize,
    /// Keep adding iterations until every listed figure's mean has at most
    /// this relative standard error: (figure key, target).
    pub precision: Vec<(String, f64)>,
    /// With `precision`, the most iterations to run.
    pub max_iterations: u64,
    /// Do not keep the monthly cash-flow distributions: a sweep reports
    /// only figures (this keeps partial results small), and a run reported
    /// on the terminal alone never reads them. No figure changes.
    pub skip_monthly: bool,
    /// Run even beyond the memory and work limits of
    /// [`footprint::check`].
    pub allow_large: bool,
    /// A request to stop, checked after every wave of blocks (for callers
    /// that can be interrupted, such as the Python package).
    pub stop: Stop,
    /// How the parameter level is sampled: independent draws, or scrambled
    /// Sobol' points with error bars from independent randomisations.
    pub sampling: Sampling,
}

/// A shared request to stop a run early: set from any thread, the run
/// returns [`Error::Interrupted`](crate::Error::Interrupted) after the wave
/// of blocks in progress, and writes nothing.
#[derive(Clone, Debug, Default)]
pub struct Stop(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl Stop {
    /// Asks every run holding this flag to stop.
    pub fn request(&self) {
        self.0.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Whether a stop has been asked for.
    pub fn requested(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// Number of blocks of a run of `iterations`.
pub fn blocks_of(iterations: u64) -> u64 {
    iterations.div_ceil(BLOCK)
}

/// With a precision target, iterations are added in steps of this many
/// blocks and the target checked after each, so where a run stops does not
/// depend on the thread count.
pub const PRECISION_STEP_BLOCKS: u64 = 16;

/// The figures of precision targets `(figure key, relative SE)`, by index.
fn precision_targets(
    catalog: &Catalog,
    targets: &[(String, f64)],
) -> Result<Vec<(usize, f64)>, crate::Error> {
    let keys: Vec<String> = catalog.figures.iter().map(|f| f.key()).collect();
    targets
        .iter()
        .map(|(key, target)| match keys.iter().position(|k| k == key) {
            Some(k) => Ok((k, *target)),
            None => {
                let refs: Vec<&str> = keys.iter().map(|s| s.as_str()).collect();
                let hint =
                    crate::error::suggest(key, &refs).map_or(String::new(), |s| format!("; {s}"));
                Err(crate::Error::Setting(format!(
                    "--precision: no figure `{key}` in this scenario{hint}"
                )))
            }
        })
        .collect()
}

/// Whether every precision target is met by the blocks run so far.
fn precision_met(catalog: &Catalog, total: &Summary, targets: &[(usize, f64)]) -> bool {
    targets.iter().all(|&(k, target)| {
        let m = &total.moments[k];
        let probability = catalog.figures[k].unit == crate::figures::Unit::Probability;
        let se = total.mean_se(k, probability);
        m.n >= 2 && se.is_finite() && se <= target * m.mean().abs()
    })
}

/// Single iterations of one model, one at a time: for looking inside the
/// worlds a run summarises (tests, benchmarks, examples).
pub struct Simulator<'m> {
    model: &'m Model,
    plan: Plan,
    scratch: Scratch,
}

impl<'m> Simulator<'m> {
    /// Precomputes what every iteration of `model` shares.
    pub fn new(model: &'m Model) -> Self {
        let plan = Plan::new(model);
        let scratch = Scratch::new(model, &plan);
        Simulator {
            model,
            plan,
            scratch,
        }
    }

    /// Iteration `iteration` of a run with `seed`: the same world a run
    /// with that seed simulates.
    pub fn iteration(&mut self, seed: u64, iteration: u64) -> &world::IterationResult {
        simulate(self.model, &self.plan, seed, iteration, &mut self.scratch);
        &self.scratch.result
    }
}

/// Everything a run produces (besides raw rows).
#[derive(Clone, Debug)]
pub struct RunResult {
    /// Figure names and parties.
    pub catalog: Catalog,
    /// The merged summary.
    pub summary: Summary,
}

/// A block of a run: its summary, and its figure rows when asked for.
struct Block {
    summary: Summary,
    rows: Vec<f64>,
    contributions: Vec<f64>,
}

/// Receives each block's per-iteration figure rows: first iteration, rows.
pub type RowSink<'a> = &'a mut dyn FnMut(u64, &[f64]) -> std::io::Result<()>;

/// Runs `config.iterations` iterations of `model`.
///
/// `on_progress` is called with the number of iterations finished so far;
/// `on_rows`, when given, receives each block's per-iteration figure rows
/// (flattened, catalog order) in iteration order.
pub fn run(
    model: &Model,
    config: &RunConfig,
    on_progress: &(dyn Fn(u64) + Sync),
    on_rows: Option<RowSink<'_>>,
) -> Result<RunResult, crate::Error> {
    let (catalog, summary) = run_blocks(model, config, None, on_progress, on_rows)?;
    Ok(RunResult { catalog, summary })
}

/// Runs the blocks `blocks` of a run of `config.iterations` (all of them
/// when `None`) and returns their summary: a shard's partial result, which merges with the others' in any order
/// into exactly what one pass gives. A range needs a fixed number of
/// iterations (no `precision`).
pub fn run_blocks(
    model: &Model,
    config: &RunConfig,
    blocks: Option<std::ops::Range<u64>>,
    on_progress: &(dyn Fn(u64) + Sync),
    mut on_rows: Option<RowSink<'_>>,
) -> Result<(Catalog, Summary), crate::Error> {
    let catalog = Catalog::new(model);
    let targets = precision_targets(&catalog, &config.precision)?;
    let adaptive = !targets.is_empty();
    if adaptive && blocks.is_some() {
        return Err(crate::Error::Setting(
            "a precision target needs the whole run on one machine; it cannot be split into shards"
                .into(),
        ));
    }
    let limit = if adaptive {
        config.max_iterations.max(config.iterations)
    } else {
        config.iterations
    };
    if limit > crate::stats::SKETCH_MAX_VALUES {
        return Err(crate::Error::Setting(format!(
            "{limit} iterations: a run holds at most {} (its quantile sketches count in 32 bits); split it into runs with different seeds",
            crate::stats::SKETCH_MAX_VALUES
        )));
    }
    let blocks = blocks.unwrap_or(0..blocks_of(limit));
    if !config.allow_large {
        let plan = plan::Plan::new(model);
        let needs = footprint::footprint(
            model,
            &plan,
            catalog.figures.len(),
            blocks.end - blocks.start,
            config.threads,
            adaptive,
            !config.skip_monthly,
        );
        footprint::check(model, &needs)?;
    }
    let schedule = driver::Schedule {
        blocks,
        iterations: limit,
        wave: adaptive.then_some(PRECISION_STEP_BLOCKS),
        seed: config.seed,
        threads: config.threads,
        // Checked above, with the summaries a run keeps.
        allow_large: true,
        stop: config.stop.clone(),
    };
    let keep_rows = on_rows.is_some();
    let monthly_cap = (!config.skip_monthly).then_some(MONTHLY_SKETCH_CAP);
    // One running summary: every statistic merges exactly, so memory stays
    // flat however many blocks are folded in.
    let randomisations = config.sampling.randomisations();
    let summary = || {
        Summary::new(&catalog, model.horizon, monthly_cap).with_replicates(&catalog, randomisations)
    };
    let total = std::cell::RefCell::new(summary());
    let catalogs = std::slice::from_ref(&catalog);
    let steps = driver::Steps {
        start: |_| Block {
            summary: summary(),
            rows: Vec::new(),
            contributions: Vec::with_capacity(catalog.parties.len()),
        },
        observe: |block: &mut Block, i, outcomes: &driver::Outcomes| {
            let (result, figures) = (outcomes.result(0), outcomes.figures(0));
            let contributions = &mut block.contributions;
            block
                .summary
                .observe(model, &catalog, i, result, figures, contributions);
            if keep_rows {
                block.rows.extend_from_slice(figures);
            }
        },
        merge: |b, block: Block, pool: &rayon::ThreadPool| {
            if let Some(f) = on_rows.as_mut() {
                f(b * BLOCK, &block.rows).map_err(|source| crate::Error::Write {
                    path: "draws".into(),
                    source,
                })?;
            }
            let mut total = total.borrow_mut();
            let total = &mut *total;
            pool.install(|| total.merge(&block.summary));
            Ok(())
        },
        after_wave: |done| {
            on_progress(done);
            !(adaptive
                && done >= config.iterations
                && precision_met(&catalog, &total.borrow(), &targets))
        },
    };
    let arm = driver::Arm {
        model,
        worlds: world::Worlds {
            sampling: config.sampling,
            ..Default::default()
        },
    };
    driver::drive(&[arm], catalogs, &schedule, steps)?;
    Ok((catalog, total.into_inner()))
}
