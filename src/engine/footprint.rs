//! What a run will need, estimated from the model before it starts: the
//! memory of its buffers and summaries, and the work of one iteration.
//!
//! The validated bounds on every size (`docs/scenario-format.md`, Bounds)
//! keep each buffer finite, but many segments, providers and rules
//! multiply them. The estimate counts the large buffers only (a few kilobytes
//! of small ones are left out); [`check`] refuses a run beyond
//! [`MEMORY_LIMIT`] or [`WORK_LIMIT`], naming the keys that drive it,
//! unless the run says to allow it.

use super::plan::Plan;
use super::{BLOCK, FIGURE_SKETCH_CAP, MONTHLY_SKETCH_CAP, PRECISION_STEP_BLOCKS};
use crate::model::Model;

/// The most memory a run may need without `--allow-large`: 4 GiB.
pub const MEMORY_LIMIT: u64 = 4 << 30;

/// The most work one iteration may take without `--allow-large`, in
/// cohort-months (a delivery group's cohort in one month): 1e9, about a
/// minute of one core (the Work Programme takes some 3e4 in under a
/// millisecond).
pub const WORK_LIMIT: u64 = 1_000_000_000;

/// A run's estimated needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Footprint {
    /// One block's iteration buffers (`Scratch`), in bytes.
    pub scratch: u64,
    /// One block's summary (figures and monthly distributions of 64
    /// iterations), in bytes.
    pub block_summary: u64,
    /// The running summary, its distributions full, in bytes.
    pub summary: u64,
    /// Blocks in flight at once: one wave.
    pub wave: u64,
    /// The whole: `wave x (scratch + block summary) + summary`.
    pub bytes: u64,
    /// Cohort-months of one iteration: months simulated x (every delivery
    /// group's cohorts in the programme, plus the parties' accounts).
    pub work: u64,
}

/// The estimate for a run of `model` over `blocks` blocks on `threads`
/// worker threads (0 = every core), with `figures` figures and, unless
/// `monthly` is false, the monthly cash distributions; `adaptive` when a
/// precision target sets the wave.
pub fn footprint(
    model: &Model,
    plan: &Plan,
    figures: usize,
    blocks: u64,
    threads: usize,
    adaptive: bool,
    monthly: bool,
) -> Footprint {
    let word = 8u64;
    let h = model.horizon as u64;
    let accounts = model.accounts() as u64;
    let segments = model.segments.len() as u64;
    let groups = plan.groups.len() as u64;
    let slots: u64 = plan
        .groups
        .iter()
        .map(|g| model.segments[g.segment].service_months() as u64)
        .sum();
    let pools = plan.pools.iter().map(|p| p.len()).max().unwrap_or(1) as u64;
    let rules =
        (model.payments.improvement.len() + model.payments.additional_outcomes.len()) as u64;
    // Interim measurements: a tally, a verdict and a share per group each.
    let interims: u64 = model
        .payments
        .improvement
        .iter()
        .map(|r| (r.cohorts.len() * r.interim_months.len()) as u64)
        .sum();
    let scratch = word
        * (5 * slots
            + 4 * groups * h
            + 3 * h
            + 2 * (accounts + 1) * h
            + segments * (model.referral_months as u64 + h)
            + pools * h
            + rules * model.years() as u64 * groups
            + interims * (16 + groups)
            + plan.ages.iter().max().copied().unwrap_or(1) as u64);
    let parties = accounts;
    let cells = if monthly { parties * h } else { 0 };
    let sketch = |values: u64| word * values + 64;
    // Exact sums: two per figure's moments, and the allocation's moments
    // and co-moments (three sums each per party) overall and per batch.
    let exact = std::mem::size_of::<crate::stats::ExactSum>() as u64;
    let sums = exact
        * (2 * figures as u64 + (crate::stats::ALLOCATION_BATCHES as u64 + 1) * (2 + 3 * parties));
    let block_summary =
        sums + (figures as u64 + parties) * sketch(BLOCK) + 2 * cells * (sketch(BLOCK) + 16);
    // A sketch keeps its values up to its cap, then buckets of a like size.
    let iterations = blocks.max(1) * BLOCK;
    let summary = sums
        + (figures as u64 + parties) * sketch(iterations.min(FIGURE_SKETCH_CAP as u64))
        + 2 * cells * (sketch(iterations.min(MONTHLY_SKETCH_CAP as u64)) + 16);
    let threads = if threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        threads
    } as u64;
    let wave = if adaptive {
        PRECISION_STEP_BLOCKS
    } else {
        4 * threads
    }
    .min(blocks.max(1));
    let bytes = wave * (scratch + block_summary) + summary;
    let work = plan.months_simulated as u64 * (slots + accounts);
    Footprint {
        scratch,
        block_summary,
        summary,
        wave,
        bytes,
        work,
    }
}

/// Refuses a run whose footprint is beyond [`MEMORY_LIMIT`] or
/// [`WORK_LIMIT`], with the keys that drive it.
pub fn check(model: &Model, f: &Footprint) -> Result<(), crate::Error> {
    let gib = |b: u64| b as f64 / (1u64 << 30) as f64;
    let sizes = format!(
        "horizon_months {}, referral_months {}, {} segments x {} providers (delivery groups), the longest window_months or service_months {}",
        model.horizon,
        model.referral_months,
        model.segments.len(),
        model.providers.len(),
        model
            .segments
            .iter()
            .map(|s| s.service_months())
            .max()
            .unwrap_or(0)
    );
    if f.bytes > MEMORY_LIMIT {
        return Err(crate::Error::Setting(format!(
            "this run would need about {:.1} GiB of memory, above the limit of {:.0} GiB: {} blocks at once of {:.2} GiB of iteration buffers and {:.2} GiB of summary each, and the running summary of {:.2} GiB (figures, and a distribution per party and month); the sizes that drive it: {sizes}, {} parties; run fewer threads (--threads), shorten or merge these, or pass --allow-large to run it anyway",
            gib(f.bytes),
            gib(MEMORY_LIMIT),
            f.wave,
            gib(f.scratch),
            gib(f.block_summary),
            gib(f.summary),
            model.accounts()
        )));
    }
    if f.work > WORK_LIMIT {
        return Err(crate::Error::Setting(format!(
            "one iteration would take about {:.1e} cohort-months of work (about {:.0} s), above the limit of {WORK_LIMIT:.0e}: the sizes that drive it: {sizes}; shorten or merge these, or pass --allow-large to run it anyway",
            f.work as f64,
            f.work as f64 / 1.6e7
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_scenarios_are_far_inside_the_limits() {
        for name in ["work_programme", "supply_chain", "peterborough_sib"] {
            let path = format!("{}/scenarios/{name}.toml", env!("CARGO_MANIFEST_DIR"));
            let model = crate::scenario::load_file(std::path::Path::new(&path), &[])
                .unwrap()
                .model;
            let plan = Plan::new(&model);
            let f = footprint(&model, &plan, 200, 10_000 / BLOCK + 1, 64, false, true);
            assert!(f.bytes < MEMORY_LIMIT / 4, "{name}: {f:?}");
            assert!(f.work < WORK_LIMIT / 1000, "{name}: {f:?}");
            assert!(check(&model, &f).is_ok());
        }
    }
}
