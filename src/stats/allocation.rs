//! Who bears the downside: the contract's total net value split between
//! parties, in its worst worlds (a tail-conditional allocation) and in its
//! variance (covariance shares). Both sum to the whole by construction.
//!
//! Bounded memory: the (total, contributions) of every iteration are kept
//! exactly up to a cap, then by bucket of the total (the quantile sketch's
//! buckets) with per-bucket sums of each party's contribution.
//!
//! Contributions are money: they are rounded to whole pence when pushed,
//! so the bucket sums are integers and the total is exactly the sum of the
//! contributions. Every part merges exactly, in any order.

use super::sketch::key;
use super::{CoMoments, Moments};
use crate::math;
use std::collections::HashMap;

/// See the module docs.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AllocationSketch {
    parties: usize,
    cap: usize,
    /// Rows of `[total, c_1, .., c_P]` while exact.
    exact: Vec<f64>,
    /// Bucket of the total -> (count, sums of each contribution in pence).
    #[serde(with = "super::sorted_buckets")]
    buckets: Option<HashMap<i32, (u64, Vec<i128>)>>,
    /// Moments of the total, and co-moments of each contribution with it.
    pub total: Moments,
    /// Co-moment of each party's contribution with the total.
    pub with_total: Vec<CoMoments>,
    /// The same per batch (iteration index modulo [`BATCHES`]), for the
    /// standard error of the variance shares by batch means.
    batches: Vec<(Moments, Vec<CoMoments>)>,
}

/// Interleaved batches for the variance shares' standard errors: a fixed
/// number, so memory does not grow, assigned by iteration index, so the
/// result does not depend on threads or blocks.
pub const BATCHES: usize = 32;

/// One party's share of the downside.
#[derive(Clone, Debug)]
pub struct Share {
    /// Mean contribution in the worst `tail` of worlds (by total).
    pub tail_mean: f64,
    /// Its standard error, given which worlds are in the tail.
    pub tail_mean_se: f64,
    /// `tail_mean` over the total's mean in those worlds.
    pub tail_share: f64,
    /// Cov(contribution, total) / Var(total).
    pub variance_share: f64,
    /// Its standard error, by batch means over `BATCHES` (32) interleaved
    /// batches of iterations.
    pub variance_share_se: f64,
}

impl AllocationSketch {
    /// An empty sketch for `parties` contributions, exact up to `cap` rows.
    pub fn new(parties: usize, cap: usize) -> Self {
        AllocationSketch {
            parties,
            cap,
            exact: Vec::new(),
            buckets: None,
            total: Moments::default(),
            with_total: vec![CoMoments::default(); parties],
            batches: vec![(Moments::default(), vec![CoMoments::default(); parties]); BATCHES],
        }
    }

    /// Adds iteration `iteration`'s contributions, in pounds (their sum is
    /// the total).
    pub fn push(&mut self, iteration: u64, contributions: &[f64]) {
        // Rounded to pence where used, not into a buffer: this runs once
        // per iteration.
        let pence = || contributions.iter().map(|&x| to_pence(x));
        let pounds = |p: i64| p as f64 / 100.0;
        let total = pounds(pence().sum());
        self.total.push(total);
        for (c, x) in self.with_total.iter_mut().zip(pence()) {
            c.push(pounds(x), total);
        }
        let batch = &mut self.batches[(iteration % BATCHES as u64) as usize];
        batch.0.push(total);
        for (c, x) in batch.1.iter_mut().zip(pence()) {
            c.push(pounds(x), total);
        }
        match &mut self.buckets {
            Some(b) => add_to_bucket(b, total, pence().map(|p| p as i128)),
            None => {
                self.exact.push(total);
                self.exact.extend(pence().map(pounds));
                if self.exact.len() / (self.parties + 1) > self.cap {
                    self.make_bucketed();
                }
            }
        }
    }

    fn make_bucketed(&mut self) {
        if self.buckets.is_some() {
            return;
        }
        let mut b = HashMap::new();
        for row in self.exact.chunks(self.parties + 1) {
            add_to_bucket(
                &mut b,
                row[0],
                row[1..].iter().map(|&x| to_pence(x) as i128),
            );
        }
        self.exact = Vec::new();
        self.buckets = Some(b);
    }

    /// Adds another sketch (in any order: the result is the same).
    pub fn merge(&mut self, o: &AllocationSketch) {
        self.total.merge(&o.total);
        for (a, b) in self.with_total.iter_mut().zip(&o.with_total) {
            a.merge(b);
        }
        for (a, b) in self.batches.iter_mut().zip(&o.batches) {
            a.0.merge(&b.0);
            for (x, y) in a.1.iter_mut().zip(&b.1) {
                x.merge(y);
            }
        }
        let rows = (self.exact.len() + o.exact.len()) / (self.parties + 1);
        if self.buckets.is_none() && o.buckets.is_none() && rows <= self.cap {
            self.exact.extend_from_slice(&o.exact);
            return;
        }
        self.make_bucketed();
        let b = self.buckets.as_mut().expect("just made");
        for row in o.exact.chunks(o.parties + 1) {
            add_to_bucket(b, row[0], row[1..].iter().map(|&x| to_pence(x) as i128));
        }
        if let Some(ob) = &o.buckets {
            for (k, (count, sums)) in ob {
                let e = b.entry(*k).or_insert_with(|| (0, vec![0; sums.len()]));
                e.0 += count;
                for (s, x) in e.1.iter_mut().zip(sums) {
                    *s += x;
                }
            }
        }
    }

    /// Each party's share of the worst `tail` (e.g. 0.05) of worlds by total.
    pub fn shares(&self, tail: f64) -> Vec<Share> {
        let n = self.total.n;
        let p = self.parties;
        if n == 0 {
            return Vec::new();
        }
        let k = ((tail * n as f64).ceil() as u64).clamp(1, n);
        // (count, sums, sums of squares) of the k lowest totals.
        let (mut sums, mut squares, mut taken) = (vec![0.0; p], vec![0.0; p], 0u64);
        match &self.buckets {
            None => {
                // Ties in the total are ordered by the contributions, so
                // which rows make the tail never depends on merge order.
                let mut rows: Vec<&[f64]> = self.exact.chunks(p + 1).collect();
                rows.sort_by(|a, b| {
                    a.iter()
                        .zip(b.iter())
                        .map(|(x, y)| x.total_cmp(y))
                        .find(|o| o.is_ne())
                        .unwrap_or(std::cmp::Ordering::Equal)
                });
                for row in rows.into_iter().take(k as usize) {
                    for j in 0..p {
                        sums[j] += row[j + 1];
                        squares[j] += row[j + 1] * row[j + 1];
                    }
                    taken += 1;
                }
            }
            Some(b) => {
                let mut keys: Vec<_> = b.keys().copied().collect();
                keys.sort_unstable();
                for kk in keys {
                    if taken == k {
                        break;
                    }
                    let (count, s) = &b[&kk];
                    // A bucket straddling the tail's edge counts pro rata.
                    let part = (k - taken).min(*count);
                    let w = part as f64 / *count as f64;
                    for j in 0..p {
                        let sum = s[j] as f64 / 100.0;
                        let mean = sum / *count as f64;
                        sums[j] += sum * w;
                        squares[j] += mean * mean * part as f64;
                    }
                    taken += part;
                }
            }
        }
        let kf = taken.max(1) as f64;
        let tail_total: f64 = sums.iter().sum::<f64>() / kf;
        let var_total = math::powi(self.total.sd(), 2);
        (0..p)
            .map(|j| {
                let mean = sums[j] / kf;
                let var = (squares[j] / kf - mean * mean).max(0.0);
                // Batch means: the spread of the share over the batches.
                let per_batch: Vec<f64> = self
                    .batches
                    .iter()
                    .map(|(t, c)| c[j].cov() / math::powi(t.sd(), 2))
                    .filter(|x| x.is_finite())
                    .collect();
                let b = per_batch.len() as f64;
                let mean_b = per_batch.iter().sum::<f64>() / b;
                let var_b = per_batch
                    .iter()
                    .map(|x| math::powi(x - mean_b, 2))
                    .sum::<f64>()
                    / (b - 1.0);
                Share {
                    tail_mean: mean,
                    tail_mean_se: (var / kf).sqrt(),
                    tail_share: mean / tail_total,
                    variance_share: self.with_total[j].cov() / var_total,
                    variance_share_se: if b >= 2.0 {
                        (var_b / b).sqrt()
                    } else {
                        f64::NAN
                    },
                }
            })
            .collect()
    }
}

/// Money in pounds to whole pence (saturating far beyond any contract).
fn to_pence(x: f64) -> i64 {
    (x * 100.0).round() as i64
}

fn add_to_bucket(
    b: &mut HashMap<i32, (u64, Vec<i128>)>,
    total: f64,
    pence: impl ExactSizeIterator<Item = i128>,
) {
    let e = b
        .entry(key(total))
        .or_insert_with(|| (0, vec![0; pence.len()]));
    e.0 += 1;
    for (s, x) in e.1.iter_mut().zip(pence) {
        *s += x;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_sum_to_the_whole_and_match_a_direct_computation() {
        // Two parties: a's contribution is x, b's is -2x + y.
        let rows: Vec<[f64; 2]> = (0..2000)
            .map(|i| {
                // Pounds and pence, as contributions are.
                let x = ((i * 7919) % 1009) as f64 / 100.0;
                let y = ((i * 104_729) % 997) as f64 / 100.0;
                [x, -2.0 * x + y]
            })
            .collect();
        // Rows pushed in groups of `size`, one sketch each, merged in
        // order or backwards.
        let merged = |cap: usize, size: usize, backwards: bool| {
            let mut whole = AllocationSketch::new(2, cap);
            let mut groups: Vec<_> = rows.chunks(size).enumerate().collect();
            if backwards {
                groups.reverse();
            }
            for (c, chunk) in groups {
                let mut part = AllocationSketch::new(2, cap);
                chunk
                    .iter()
                    .enumerate()
                    .for_each(|(i, r)| part.push((c * size + i) as u64, r));
                whole.merge(&part);
            }
            whole
        };
        for cap in [10_000, 100] {
            let shares = merged(cap, 64, false).shares(0.05);
            let total: f64 = shares.iter().map(|s| s.variance_share).sum();
            assert!((total - 1.0).abs() < 1e-9);
            let tail: f64 = shares.iter().map(|s| s.tail_share).sum();
            assert!((tail - 1.0).abs() < 1e-9);
            // Direct, in whole pence: the 100 lowest totals, ties by the
            // contributions.
            let pence = |x: f64| (x * 100.0).round() as i64;
            let mut sorted: Vec<(i64, i64, i64)> = rows
                .iter()
                .map(|r| (pence(r[0]) + pence(r[1]), pence(r[0]), pence(r[1])))
                .collect();
            sorted.sort_unstable();
            let direct = sorted[..100].iter().map(|r| r.1).sum::<i64>() as f64 / 100.0 / 100.0;
            // Bucketed, only the bucket straddling the tail edge is shared pro
            // rata: with contributions in [-20.16, 10.08] and a 100-row
            // tail, at most one row in 100 is misplaced.
            let tolerance = if cap == 10_000 { 1e-12 } else { 0.31 };
            assert!(
                (shares[0].tail_mean - direct).abs() < tolerance,
                "cap {cap}: {} vs {direct}",
                shares[0].tail_mean
            );
            // Merged the other way round, in other groups: the same bits.
            let backwards = merged(cap, 100, true);
            for (a, b) in shares.iter().zip(backwards.shares(0.05)) {
                let bits = |s: &Share| {
                    [
                        s.tail_mean,
                        s.tail_mean_se,
                        s.tail_share,
                        s.variance_share,
                        s.variance_share_se,
                    ]
                    .map(f64::to_bits)
                };
                assert_eq!(bits(a), bits(&b), "cap {cap}");
            }
        }
    }
}
