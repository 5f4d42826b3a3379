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
use crate::stats::{CoMoments, Moments, QuantileSketch};
use rayon::prelude::*;

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
        }
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
