//! Who bears the downside: the contract's total net value split between
//! parties, in its worst worlds (a tail-conditional allocation) and in its
//! variance (covariance shares). Both sum to the whole by construction.
//!
//! Bounded memory: the (total, contributions) of every iteration are kept
//! exactly up to a cap, then by bucket of the total (the quantile sketch's
//! buckets) with per-bucket sums of each party's contribution. Merged in
//! block order, like every statistic.

use super::sketch::{key, value};
use super::{CoMoments, Moments};
use std::collections::HashMap;

/// See the module docs.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AllocationSketch {
    parties: usize,
    cap: usize,
    /// Rows of `[total, c_1, .., c_P]` while exact.
    exact: Vec<f64>,
    /// Bucket of the total -> (count, sums of each contribution).
    #[serde(with = "super::sorted_buckets")]
    buckets: Option<HashMap<i32, (u64, Vec<f64>)>>,
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

    /// Adds iteration `iteration`'s contributions (their sum is the total).
    pub fn push(&mut self, iteration: u64, contributions: &[f64]) {
        let total: f64 = contributions.iter().sum();
        self.total.push(total);
        for (c, &x) in self.with_total.iter_mut().zip(contributions) {
            c.push(x, total);
        }
        let batch = &mut self.batches[(iteration % BATCHES as u64) as usize];
        batch.0.push(total);
        for (c, &x) in batch.1.iter_mut().zip(contributions) {
            c.push(x, total);
        }
        self.store(total, contributions);
    }

    fn store(&mut self, total: f64, contributions: &[f64]) {
        match &mut self.buckets {
            Some(b) => {
                let e = b
                    .entry(key(total))
                    .or_insert_with(|| (0, vec![0.0; contributions.len()]));
                e.0 += 1;
                for (s, &x) in e.1.iter_mut().zip(contributions) {
                    *s += x;
                }
            }
            None => {
                self.exact.push(total);
                self.exact.extend_from_slice(contributions);
                if self.exact.len() / (self.parties + 1) > self.cap {
                    let rows = std::mem::take(&mut self.exact);
                    self.buckets = Some(HashMap::new());
                    for row in rows.chunks(self.parties + 1) {
                        self.store(row[0], &row[1..]);
                    }
                }
            }
        }
    }

    /// Adds a later block's sketch.
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
        let mut rows: Vec<(f64, Vec<f64>, u64)> = o
            .exact
            .chunks(o.parties + 1)
            .map(|r| (r[0], r[1..].to_vec(), 1))
            .collect();
        if let Some(b) = &o.buckets {
            let mut keys: Vec<_> = b.keys().copied().collect();
            keys.sort_unstable();
            rows.extend(
                keys.into_iter()
                    .map(|k| (value(k), b[&k].1.clone(), b[&k].0)),
            );
        }
        for (total, sums, count) in rows {
            if count == 1 {
                self.store(total, &sums);
            } else {
                if self.buckets.is_none() {
                    let rows = std::mem::take(&mut self.exact);
                    self.buckets = Some(HashMap::new());
                    for row in rows.chunks(self.parties + 1) {
                        self.store(row[0], &row[1..]);
                    }
                }
                let b = self.buckets.as_mut().expect("bucketed");
                let e = b
                    .entry(key(total))
                    .or_insert_with(|| (0, vec![0.0; sums.len()]));
                e.0 += count;
                for (s, x) in e.1.iter_mut().zip(&sums) {
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
                let mut rows: Vec<&[f64]> = self.exact.chunks(p + 1).collect();
                rows.sort_by(|a, b| a[0].total_cmp(&b[0]));
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
                        let mean = s[j] / *count as f64;
                        sums[j] += s[j] * w;
                        squares[j] += mean * mean * part as f64;
                    }
                    taken += part;
                }
            }
        }
        let kf = taken.max(1) as f64;
        let tail_total: f64 = sums.iter().sum::<f64>() / kf;
        let var_total = self.total.sd().powi(2);
        (0..p)
            .map(|j| {
                let mean = sums[j] / kf;
                let var = (squares[j] / kf - mean * mean).max(0.0);
                // Batch means: the spread of the share over the batches.
                let per_batch: Vec<f64> = self
                    .batches
                    .iter()
                    .map(|(t, c)| c[j].cov() / t.sd().powi(2))
                    .filter(|x| x.is_finite())
                    .collect();
                let b = per_batch.len() as f64;
                let mean_b = per_batch.iter().sum::<f64>() / b;
                let var_b = per_batch.iter().map(|x| (x - mean_b).powi(2)).sum::<f64>() / (b - 1.0);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_sum_to_the_whole_and_match_a_direct_computation() {
        // Two parties: a's contribution is x, b's is -2x + y.
        let rows: Vec<[f64; 2]> = (0..2000)
            .map(|i| {
                let x = ((i * 7919) % 1009) as f64 / 1009.0;
                let y = ((i * 104_729) % 997) as f64 / 997.0;
                [x, -2.0 * x + y]
            })
            .collect();
        for cap in [10_000, 100] {
            let mut whole = AllocationSketch::new(2, cap);
            for (c, chunk) in rows.chunks(64).enumerate() {
                let mut part = AllocationSketch::new(2, cap);
                chunk
                    .iter()
                    .enumerate()
                    .for_each(|(i, r)| part.push((c * 64 + i) as u64, r));
                whole.merge(&part);
            }
            let shares = whole.shares(0.05);
            let total: f64 = shares.iter().map(|s| s.variance_share).sum();
            assert!((total - 1.0).abs() < 1e-9);
            let tail: f64 = shares.iter().map(|s| s.tail_share).sum();
            assert!((tail - 1.0).abs() < 1e-9);
            // Direct: the 100 lowest totals.
            let mut sorted = rows.clone();
            sorted.sort_by(|a, b| (a[0] + a[1]).total_cmp(&(b[0] + b[1])));
            let direct = sorted[..100].iter().map(|r| r[0]).sum::<f64>() / 100.0;
            // Bucketed, only the bucket straddling the tail edge is shared pro
            // rata: with contributions in [-2, 1] and a 100-row tail, at most
            // one row in 100 is misplaced.
            let tolerance = if cap == 10_000 { 1e-12 } else { 3.0 / 100.0 };
            assert!(
                (shares[0].tail_mean - direct).abs() < tolerance,
                "cap {cap}: {} vs {direct}",
                shares[0].tail_mean
            );
        }
    }
}
