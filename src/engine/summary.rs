//! The streaming summary of a set of iterations: moments and sketches of
//! every figure, ratio co-moments, monthly cash distributions, failure
//! curves and the allocation of the contract's net value. A block of
//! iterations fills one; summaries merge in block order.
//!
//! **Invariant:** memory does not grow with the iterations summarised
//! (sketches switch from exact values to buckets at a fixed size).

use super::world::IterationResult;
use super::{FIGURE_SKETCH_CAP, MONTHLY_SKETCH_ACCURACY};
use crate::figures::Catalog;
use crate::model::Model;
use crate::stats::{CoMoments, ExactSum, Moments, QuantileSketch, Sorted};
use rayon::prelude::*;

/// What a run with independent randomisations keeps of each one, for
/// honest standard errors: the sum of every figure, and the sketch of each
/// party's net (for its quantiles and value at risk).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Replicates {
    /// Number of randomisations.
    pub count: usize,
    /// Each randomisation's count of values (not NaN) of each figure:
    /// `[r * figures + k]`.
    pub n: Vec<u64>,
    /// Each randomisation's sum of each figure: `[r * figures + k]`.
    pub sums: Vec<ExactSum>,
    /// The figures whose quantiles have replicate errors (each party's net).
    pub quantiled: Vec<usize>,
    /// Each randomisation's sketch of those: `[r * quantiled + j]`.
    pub sketches: Vec<QuantileSketch>,
}

impl Replicates {
    fn new(catalog: &Catalog, count: usize) -> Replicates {
        let figures = catalog.figures.len();
        let quantiled: Vec<usize> = catalog
            .figures
            .iter()
            .enumerate()
            .filter(|(_, f)| f.name == "net")
            .map(|(k, _)| k)
            .collect();
        let cap = FIGURE_SKETCH_CAP.div_ceil(count);
        Replicates {
            count,
            n: vec![0; count * figures],
            sums: vec![ExactSum::default(); count * figures],
            sketches: vec![QuantileSketch::new(cap); count * quantiled.len()],
            quantiled,
        }
    }

    fn merge(&mut self, o: &Replicates) {
        for (a, b) in self.n.iter_mut().zip(&o.n) {
            *a += b;
        }
        for (a, b) in self.sums.iter_mut().zip(&o.sums) {
            a.merge(b);
        }
        for (a, b) in self.sketches.iter_mut().zip(&o.sketches) {
            a.merge(b);
        }
    }

    /// The standard error of the pooled estimate from the randomisations'.
    fn se(&self, estimate: impl Fn(usize) -> f64) -> f64 {
        crate::stats::replicate_se((0..self.count).map(estimate))
    }
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
    /// Sum over iterations of monthly net cash flow per party, in pence
    /// (an integer, so merges are exact).
    pub flow_sum: Vec<i128>,
    /// Sum over iterations of cumulative cash per party, in pence.
    pub cash_sum: Vec<i128>,
    /// Failures by month per party: `[party][month]` counts.
    pub failures_by_month: Vec<u64>,
    /// The contract's net value split between parties.
    pub allocation: crate::stats::AllocationSketch,
    /// With randomised quasi-Monte Carlo, each randomisation's own sums.
    pub replicates: Option<Replicates>,
}

impl Summary {
    /// Mean monthly net cash flow of cell `party * horizon + month`, in pounds.
    pub fn flow_mean(&self, cell: usize) -> f64 {
        self.flow_sum[cell] as f64 / self.iterations as f64 / 100.0
    }

    /// Mean cumulative cash of cell `party * horizon + month`, in pounds.
    pub fn cash_mean(&self, cell: usize) -> f64 {
        self.cash_sum[cell] as f64 / self.iterations as f64 / 100.0
    }

    /// Standard error of figure `k`'s mean (a probability's, for an
    /// indicator figure): from the spread of the randomisations' means in a
    /// Sobol' run, otherwise from the figure's variance.
    pub fn mean_se(&self, k: usize, probability: bool) -> f64 {
        let m = &self.moments[k];
        if let Some(se) = self.replicate_se(|mean| mean(k)) {
            se
        } else if probability && m.n > 0 {
            (m.mean() * (1.0 - m.mean()) / m.n as f64).sqrt()
        } else {
            m.se()
        }
    }

    /// In a Sobol' run, the standard error of any function `of` the
    /// figures' means (given as `mean(k)`), from its value in each
    /// randomisation; `None` in a plain Monte Carlo run.
    pub fn replicate_se(&self, of: impl Fn(&dyn Fn(usize) -> f64) -> f64) -> Option<f64> {
        let r = self.replicates.as_ref()?;
        let figures = self.moments.len();
        Some(r.se(|i| {
            of(&|k| {
                let cell = i * figures + k;
                r.sums[cell].value() / r.n[cell] as f64
            })
        }))
    }

    /// Standard error of figure `k`'s `p` quantile: from the spread of the
    /// randomisations' quantiles in a Sobol' run (each party's net only;
    /// NaN for the others), otherwise the order-statistic interval's.
    pub fn quantile_se(&self, k: usize, p: f64) -> f64 {
        self.quantile_se_by(k, p, || self.sketches[k].quantile_se(p))
    }

    /// As [`Summary::quantile_se`], with figure `k`'s values in order.
    pub fn quantile_se_sorted(&self, k: usize, p: f64, sorted: &Sorted) -> f64 {
        self.quantile_se_by(k, p, || sorted.quantile_se(p))
    }

    fn quantile_se_by(&self, k: usize, p: f64, plain: impl FnOnce() -> f64) -> f64 {
        match &self.replicates {
            Some(r) => match r.quantiled.iter().position(|&q| q == k) {
                Some(j) => {
                    let width = r.quantiled.len();
                    r.se(|i| r.sketches[i * width + j].quantile(p))
                }
                None => f64::NAN,
            },
            None => plain(),
        }
    }

    /// Whether the run's errors come from independent randomisations
    /// (errors that only plain Monte Carlo can give are then NaN).
    pub fn randomised(&self) -> bool {
        self.replicates.is_some()
    }

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
            flow: vec![QuantileSketch::with_accuracy(monthly_cap, MONTHLY_SKETCH_ACCURACY); cells],
            cash: vec![QuantileSketch::with_accuracy(monthly_cap, MONTHLY_SKETCH_ACCURACY); cells],
            flow_sum: vec![0; cells],
            cash_sum: vec![0; cells],
            failures_by_month: vec![0; failure_cells],
            allocation: crate::stats::AllocationSketch::new(
                catalog.parties.len(),
                FIGURE_SKETCH_CAP,
            ),
            replicates: None,
        }
    }

    /// The same summary keeping each of `randomisations` randomisations'
    /// sums (`None`: plain Monte Carlo).
    pub fn with_replicates(mut self, catalog: &Catalog, randomisations: Option<usize>) -> Summary {
        self.replicates = randomisations.map(|r| Replicates::new(catalog, r));
        self
    }

    /// Merges another summary into this one. Every statistic merges exactly
    /// (see [`crate::stats`]), so the order and grouping of merges, and so
    /// threads and shards, change nothing in the result.
    pub fn merge(&mut self, o: &Summary) {
        fn each<T: Send + Sync>(total: &mut [T], part: &[T], merge: impl Fn(&mut T, &T) + Sync) {
            total
                .par_iter_mut()
                .zip(part)
                .with_min_len(16)
                .for_each(|(t, p)| merge(t, p));
        }
        self.allocation.merge(&o.allocation);
        self.iterations += o.iterations;
        if let (Some(a), Some(b)) = (self.replicates.as_mut(), o.replicates.as_ref()) {
            a.merge(b);
        }
        for (a, b) in self.ratios.iter_mut().zip(&o.ratios) {
            a.0.merge(&b.0);
            a.1.merge(&b.1);
            a.2.merge(&b.2);
        }
        each(&mut self.moments, &o.moments, Moments::merge);
        each(&mut self.sketches, &o.sketches, QuantileSketch::merge);
        each(&mut self.flow, &o.flow, QuantileSketch::merge);
        each(&mut self.cash, &o.cash, QuantileSketch::merge);
        each(&mut self.flow_sum, &o.flow_sum, |a, b| *a += b);
        each(&mut self.cash_sum, &o.cash_sum, |a, b| *a += b);
        each(&mut self.failures_by_month, &o.failures_by_month, |a, b| {
            *a += b
        });
    }

    /// Adds iteration `i`, its `result` and `figures` (catalog order);
    /// `contributions` is a buffer for each party's share of the contract's
    /// net value.
    pub(crate) fn observe(
        &mut self,
        model: &Model,
        catalog: &Catalog,
        i: u64,
        result: &IterationResult,
        figures: &[f64],
        contributions: &mut Vec<f64>,
    ) {
        let h = model.horizon;
        for (k, &x) in figures.iter().enumerate() {
            self.moments[k].push(x);
            self.sketches[k].push(x);
        }
        if let Some(rep) = self.replicates.as_mut() {
            let r = crate::qmc::randomisation_of(i, rep.count);
            let cells = r * figures.len()..(r + 1) * figures.len();
            let (sums, n) = (&mut rep.sums[cells.clone()], &mut rep.n[cells]);
            for ((sum, n), &x) in sums.iter_mut().zip(n).zip(figures) {
                // As `Moments`: NaN (a figure an iteration lacks) is skipped.
                if !x.is_nan() {
                    sum.add(x);
                    *n += 1;
                }
            }
            let width = rep.quantiled.len();
            for (j, &k) in rep.quantiled.iter().enumerate() {
                rep.sketches[r * width + j].push(figures[k]);
            }
        }
        for (acc, r) in self.ratios.iter_mut().zip(&catalog.ratios) {
            let x: f64 = r.numerator.iter().map(|&k| figures[k]).sum();
            let y: f64 = r.denominator.iter().map(|&k| figures[k]).sum();
            acc.0.push(x);
            acc.1.push(y);
            acc.2.push(x, y);
        }
        contributions.clear();
        contributions.extend(
            catalog
                .contributions
                .iter()
                .map(|ks| ks.iter().map(|&k| figures[k]).sum::<f64>()),
        );
        self.allocation.push(i, contributions);
        let monthly = !self.flow.is_empty();
        for (p, (account, _, _)) in catalog.parties.iter().enumerate() {
            if let Some(m) = result.parties[*account].failure_month {
                self.failures_by_month[p * h + m] += 1;
            }
            if !monthly {
                continue;
            }
            let mut cash = model.reserves_of(*account);
            for t in 0..h {
                let flow = result.monthly[account * h + t];
                cash += flow;
                let cell = p * h + t;
                self.flow[cell].push(flow as f64 / 100.0);
                self.flow_sum[cell] += flow as i128;
                self.cash[cell].push(cash as f64 / 100.0);
                self.cash_sum[cell] += cash as i128;
            }
        }
        self.iterations += 1;
    }
}
