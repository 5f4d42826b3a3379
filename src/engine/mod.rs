//! The parallel Monte Carlo driver.
//!
//! Iterations run in fixed blocks of [`BLOCK`]; blocks run in parallel in
//! waves and their summaries merge in block order. Block boundaries depend
//! only on the iteration count, never on the thread count, so results are
//! bit-identical on 1 or 64 threads. Block summaries merge along a tree
//! fixed by block indices ([`partial`]), so a run split into shards of
//! blocks merges back to the same bits.
//!
//! **Invariant:** memory is bounded by one wave of block summaries, except
//! for the raw rows handed to `on_rows` when the caller asks for them.

pub mod compare;
pub mod improvement;
pub(crate) mod money;
pub mod partial;
pub mod plan;
pub mod world;

use crate::figures::Catalog;
use crate::model::Model;
use crate::stats::{CoMoments, Moments, QuantileSketch};
use plan::Plan;
use rayon::prelude::*;
use world::{Scratch, simulate};

/// Iterations per block: the unit of work, of merging and of progress.
pub const BLOCK: u64 = 64;
/// Values a figure's sketch keeps exactly before switching to buckets.
pub const FIGURE_SKETCH_CAP: usize = 20_000;
/// The same for each monthly cash-flow cell.
pub const MONTHLY_SKETCH_CAP: usize = 2_000;

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
    /// Do not keep the monthly cash-flow distributions (a sweep reports
    /// only figures; this keeps partial results small).
    pub skip_monthly: bool,
}

/// Number of blocks of a run of `iterations`.
pub fn blocks_of(iterations: u64) -> u64 {
    iterations.div_ceil(BLOCK)
}

/// With a precision target, iterations are added in steps of this many
/// blocks and the target checked after each, so where a run stops does not
/// depend on the thread count.
pub const PRECISION_STEP_BLOCKS: u64 = 16;

/// Whether every precision target is met by the blocks run so far.
fn precision_met(catalog: &Catalog, stack: &partial::MergeStack, targets: &[(usize, f64)]) -> bool {
    targets.iter().all(|&(k, target)| {
        let m = &stack.figure_moments(k);
        let se = if catalog.figures[k].unit == crate::figures::Unit::Probability {
            (m.mean * (1.0 - m.mean) / m.n as f64).sqrt()
        } else {
            m.se()
        };
        m.n >= 2 && se.is_finite() && se <= target * m.mean.abs()
    })
}

/// Streaming summary of a set of iterations.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Summary {
    /// Iterations summarised.
    pub iterations: u64,
    /// Per figure, in catalog order.
    pub moments: Vec<Moments>,
    /// Per figure, in catalog order.
    pub sketches: Vec<QuantileSketch>,
    /// Per catalog ratio: numerator, denominator and their co-moment.
    pub ratios: Vec<(Moments, Moments, CoMoments)>,
    /// Monthly net cash flow per reported party: `[party][month]`.
    pub flow: Vec<QuantileSketch>,
    /// Monthly cumulative cash (reserves plus flows) per party.
    pub cash: Vec<QuantileSketch>,
    /// Mean of monthly net cash flow per party.
    pub flow_mean: Vec<Moments>,
    /// Mean of cumulative cash per party.
    pub cash_mean: Vec<Moments>,
    /// Failures by month per party: `[party][month]` counts.
    pub failures_by_month: Vec<u64>,
    /// The contract's net value split between parties.
    pub allocation: crate::stats::AllocationSketch,
}

impl Summary {
    /// An empty summary; with `monthly_cap` `None`, without the monthly
    /// cash distributions.
    pub fn new(catalog: &Catalog, horizon: usize, monthly_cap: Option<usize>) -> Summary {
        let n = catalog.figures.len();
        let failure_cells = catalog.parties.len() * horizon;
        let (cells, monthly_cap) = match monthly_cap {
            Some(cap) => (failure_cells, cap),
            None => (0, 0),
        };
        Summary {
            iterations: 0,
            moments: vec![Moments::default(); n],
            sketches: vec![QuantileSketch::new(FIGURE_SKETCH_CAP); n],
            ratios: vec![
                (Moments::default(), Moments::default(), CoMoments::default());
                catalog.ratios.len()
            ],
            flow: vec![QuantileSketch::new(monthly_cap); cells],
            cash: vec![QuantileSketch::new(monthly_cap); cells],
            flow_mean: vec![Moments::default(); cells],
            cash_mean: vec![Moments::default(); cells],
            failures_by_month: vec![0; failure_cells],
            allocation: crate::stats::AllocationSketch::new(
                catalog.parties.len(),
                FIGURE_SKETCH_CAP,
            ),
        }
    }

    /// Merges the summaries of consecutive blocks, in order. Each statistic
    /// only ever sees the blocks in block order, so spreading statistics
    /// over threads changes nothing in the result.
    pub fn merge_blocks(&mut self, parts: &[&Summary]) {
        fn each<T: Send + Sync>(
            total: &mut [T],
            parts: &[&Summary],
            field: impl Fn(&Summary) -> &[T] + Sync,
            merge: impl Fn(&mut T, &T) + Sync,
        ) {
            total
                .par_iter_mut()
                .enumerate()
                .with_min_len(16)
                .for_each(|(i, t)| {
                    for p in parts {
                        merge(t, &field(p)[i]);
                    }
                });
        }
        for p in parts {
            self.allocation.merge(&p.allocation);
        }
        for p in parts {
            self.iterations += p.iterations;
            for (a, b) in self.ratios.iter_mut().zip(&p.ratios) {
                a.0.merge(&b.0);
                a.1.merge(&b.1);
                a.2.merge(&b.2);
            }
        }
        each(&mut self.moments, parts, |p| &p.moments, Moments::merge);
        each(
            &mut self.sketches,
            parts,
            |p| &p.sketches,
            QuantileSketch::merge,
        );
        each(&mut self.flow, parts, |p| &p.flow, QuantileSketch::merge);
        each(&mut self.cash, parts, |p| &p.cash, QuantileSketch::merge);
        each(&mut self.flow_mean, parts, |p| &p.flow_mean, Moments::merge);
        each(&mut self.cash_mean, parts, |p| &p.cash_mean, Moments::merge);
        each(
            &mut self.failures_by_month,
            parts,
            |p| &p.failures_by_month,
            |a, b| *a += b,
        );
    }
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
    let (catalog, stack) = run_blocks(model, config, None, on_progress, on_rows)?;
    let cap = (!config.skip_monthly).then_some(MONTHLY_SKETCH_CAP);
    let summary = stack
        .finish()
        .unwrap_or_else(|| Summary::new(&catalog, model.horizon, cap));
    Ok(RunResult { catalog, summary })
}

/// Runs the blocks `blocks` of a run of `config.iterations` (all of them
/// when `None`) and returns their nodes of the fixed merge tree: a shard's
/// partial result. A range needs a fixed number of iterations (no
/// `precision`).
pub fn run_blocks(
    model: &Model,
    config: &RunConfig,
    blocks: Option<std::ops::Range<u64>>,
    on_progress: &(dyn Fn(u64) + Sync),
    mut on_rows: Option<RowSink<'_>>,
) -> Result<(Catalog, partial::MergeStack), crate::Error> {
    let plan = Plan::new(model);
    let catalog = Catalog::new(model);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(config.threads)
        .build()
        .map_err(|e| {
            crate::Error::Option(format!("cannot start {} threads: {e}", config.threads))
        })?;
    let targets: Vec<(usize, f64)> = config
        .precision
        .iter()
        .map(|(key, target)| {
            let k = catalog
                .figures
                .iter()
                .position(|f| &f.key() == key)
                .ok_or_else(|| {
                    let keys: Vec<String> = catalog.figures.iter().map(|f| f.key()).collect();
                    let refs: Vec<&str> = keys.iter().map(|s| s.as_str()).collect();
                    let hint = crate::error::suggest(key, &refs)
                        .map_or(String::new(), |s| format!("; {s}"));
                    crate::Error::Option(format!(
                        "--precision: no figure `{key}` in this scenario{hint}"
                    ))
                })?;
            Ok((k, *target))
        })
        .collect::<Result<_, crate::Error>>()?;
    let adaptive = !targets.is_empty();
    if adaptive && blocks.is_some() {
        return Err(crate::Error::Option(
            "a precision target needs the whole run on one machine; it cannot be split into shards"
                .into(),
        ));
    }
    let limit = if adaptive {
        config.max_iterations.max(config.iterations)
    } else {
        config.iterations
    };
    let range = blocks.unwrap_or(0..blocks_of(limit));
    let wave = if adaptive {
        PRECISION_STEP_BLOCKS
    } else {
        (pool.current_num_threads() as u64 * 4).max(1)
    };
    let keep_rows = on_rows.is_some();
    let monthly = !config.skip_monthly;
    let mut stack = partial::MergeStack::new();
    let mut done = 0;
    let mut start = range.start;
    while start < range.end {
        let end = (start + wave).min(range.end);
        let parts: Vec<(Summary, Vec<f64>)> = pool.install(|| {
            (start..end)
                .into_par_iter()
                .map(|b| {
                    let first = b * BLOCK;
                    let last = ((b + 1) * BLOCK).min(limit);
                    simulate_block(
                        model,
                        &plan,
                        &catalog,
                        config.seed,
                        first..last,
                        monthly,
                        keep_rows,
                    )
                })
                .collect()
        });
        for (b, (summary, rows)) in (start..end).zip(parts) {
            if let Some(f) = on_rows.as_mut() {
                f(b * BLOCK, &rows).map_err(|source| crate::Error::Write {
                    path: "draws".into(),
                    source,
                })?;
            }
            done += summary.iterations;
            pool.install(|| {
                stack.push(partial::Node {
                    first: b,
                    len: 1,
                    summary,
                })
            });
        }
        on_progress(done);
        start = end;
        if adaptive && done >= config.iterations && precision_met(&catalog, &stack, &targets) {
            break;
        }
    }
    Ok((catalog, stack))
}

/// Simulates `iterations` and summarises them.
pub fn simulate_block(
    model: &Model,
    plan: &Plan,
    catalog: &Catalog,
    seed: u64,
    iterations: std::ops::Range<u64>,
    monthly: bool,
    keep_rows: bool,
) -> (Summary, Vec<f64>) {
    let h = model.horizon;
    let mut summary = Summary::new(catalog, h, monthly.then_some(MONTHLY_SKETCH_CAP));
    let mut scratch = Scratch::new(model, plan);
    let mut row = Vec::with_capacity(catalog.figures.len());
    let mut rows = Vec::new();
    let mut contributions = Vec::with_capacity(catalog.parties.len());
    for i in iterations {
        simulate(model, plan, seed, i, &mut scratch);
        let r = &scratch.result;
        catalog.fill(model, r, &mut row);
        for (k, &x) in row.iter().enumerate() {
            summary.moments[k].push(x);
            summary.sketches[k].push(x);
        }
        for (acc, r) in summary.ratios.iter_mut().zip(&catalog.ratios) {
            let x: f64 = r.numerator.iter().map(|&k| row[k]).sum();
            let y: f64 = r.denominator.iter().map(|&k| row[k]).sum();
            acc.0.push(x);
            acc.1.push(y);
            acc.2.push(x, y);
        }
        contributions.clear();
        contributions.extend(
            catalog
                .contributions
                .iter()
                .map(|ks| ks.iter().map(|&k| row[k]).sum::<f64>()),
        );
        summary.allocation.push(i, &contributions);
        for (p, (account, _, _)) in catalog.parties.iter().enumerate() {
            if let Some(m) = r.parties[*account].failure_month {
                summary.failures_by_month[p * h + m] += 1;
            }
            if !monthly {
                continue;
            }
            let reserves = model.reserves_of(*account);
            let mut cash = reserves;
            for t in 0..h {
                let f = r.monthly[account * h + t];
                cash += f;
                let cell = p * h + t;
                summary.flow[cell].push(f as f64 / 100.0);
                summary.flow_mean[cell].push(f as f64 / 100.0);
                summary.cash[cell].push(cash as f64 / 100.0);
                summary.cash_mean[cell].push(cash as f64 / 100.0);
            }
        }
        if keep_rows {
            rows.extend_from_slice(&row);
        }
        summary.iterations += 1;
    }
    (summary, rows)
}
