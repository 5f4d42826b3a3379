//! A mergeable quantile sketch: exact below a size, then logarithmic
//! buckets with bounded relative error.
//!
//! While it holds at most `cap` values it keeps them all and quantiles are
//! exact (linear interpolation between order statistics, the "type 7"
//! definition of R and NumPy). Past `cap` it switches to buckets whose
//! bounds grow geometrically by `gamma = (1 + alpha) / (1 - alpha)` (as in
//! DDSketch): any quantile is then within a relative error of `alpha`
//! (0.2%, unless made [`QuantileSketch::with_accuracy`]) of a
//! value whose rank is the requested one. Values below 1e-6 in magnitude
//! share the zero bucket. Its state depends only on the multiset of values
//! pushed, never on their order, so merging blocks in any order gives the
//! same quantiles. Its memory is bounded by the number of buckets the
//! values' range spans, so it stops growing once that range is filled.

use crate::math;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Bucket counts by key. A hash map keeps a push O(1); order is restored by
/// sorting keys when a quantile is asked for, so iteration order never
/// matters. Counts are `u32`, which halves an entry (a sketch holds at
/// most [`MAX_VALUES`]): the buckets are most of a long run's memory.
type Buckets = HashMap<i32, u32, BuildHasherDefault<KeyHasher>>;

/// The most values a sketch holds, so that no bucket count overflows.
pub const MAX_VALUES: u64 = u32::MAX as u64;

/// A multiplicative hash for bucket keys (small integers): fast, and
/// deterministic across runs.
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ b as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_i32(&mut self, k: i32) {
        self.0 = (k as u32 as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// Relative accuracy of the bucketed form.
pub const ALPHA: f64 = 0.002;
const ZERO: f64 = 1e-6;
/// `ln ZERO` and the log of the bucket growth at `ALPHA`, written out: `key_with` runs for every value
/// pushed once a sketch is bucketed (a test checks them against `math::ln`).
const LN_ZERO: f64 = -13.815510557964274;
const LN_GAMMA: f64 = 0.004000005333346137;
const OFFSET: i32 = 20_000;

/// See the module docs.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct QuantileSketch {
    cap: usize,
    /// Bucket growth factor and its logarithm.
    gamma: f64,
    ln_gamma: f64,
    exact: Vec<f64>,
    #[serde(with = "super::sorted_buckets")]
    buckets: Option<Buckets>,
    n: u64,
}

impl QuantileSketch {
    /// A sketch that stays exact up to `cap` values, then keeps the
    /// relative accuracy of 0.2%.
    pub fn new(cap: usize) -> Self {
        Self::with_accuracy(cap, ALPHA)
    }

    /// A sketch that stays exact up to `cap` values, then keeps quantiles
    /// within a relative error `alpha` (in (0, 1)). A coarser `alpha`
    /// needs fewer buckets: about `ln(range) / (2 alpha)` for values
    /// spanning `range`.
    pub fn with_accuracy(cap: usize, alpha: f64) -> Self {
        let gamma = (1.0 + alpha) / (1.0 - alpha);
        QuantileSketch {
            cap,
            gamma,
            ln_gamma: math::ln(gamma),
            exact: Vec::new(),
            buckets: None,
            n: 0,
        }
    }

    /// Number of values.
    pub fn len(&self) -> u64 {
        self.n
    }

    /// Whether no value was pushed.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Whether quantiles are exact.
    pub fn is_exact(&self) -> bool {
        self.buckets.is_none()
    }

    /// Adds a value (NaN is ignored).
    #[inline]
    pub fn push(&mut self, x: f64) {
        if x.is_nan() {
            return;
        }
        self.n += 1;
        match &mut self.buckets {
            Some(b) => *b.entry(key_with(x, self.ln_gamma)).or_insert(0) += 1,

            None => {
                self.reserve(1);
                self.exact.push(x);
                if self.exact.len() > self.cap {
                    self.make_bucketed();
                }
            }
        }
    }

    /// Adds all values of another sketch (made with the same accuracy).
    pub fn merge(&mut self, o: &QuantileSketch) {
        debug_assert_eq!(self.gamma.to_bits(), o.gamma.to_bits());
        match &o.buckets {
            None if self.buckets.is_none() && self.exact.len() + o.exact.len() <= self.cap => {
                self.reserve(o.exact.len());
                self.exact.extend_from_slice(&o.exact);
                self.n += o.n;
            }
            None => {
                for &x in &o.exact {
                    self.push(x);
                }
            }
            Some(ob) => {
                self.make_bucketed();
                let b = self.buckets.as_mut().expect("just converted");
                for (k, c) in ob {
                    *b.entry(*k).or_insert(0) += c;
                }
                self.n += o.n;
            }
        }
    }

    /// Room for `more` exact values: growth by doubling, but never past
    /// the cap, so a sketch holds at most `cap` values, not twice that.
    fn reserve(&mut self, more: usize) {
        let need = self.exact.len() + more;
        if need > self.exact.capacity() {
            let grown = (2 * self.exact.capacity())
                .max(need)
                .max(4)
                .min(self.cap + 1);
            self.exact.reserve_exact(grown.max(need) - self.exact.len());
        }
    }

    fn make_bucketed(&mut self) {
        if self.buckets.is_some() {
            return;
        }
        let mut b = Buckets::default();
        for &x in &self.exact {
            *b.entry(key_with(x, self.ln_gamma)).or_insert(0) += 1;
        }
        self.exact = Vec::new();
        self.buckets = Some(b);
    }

    /// The values in order, for several queries at the cost of one sort
    /// (a figure's quantiles, their errors and its tails).
    pub fn sorted(&self) -> Sorted<'_> {
        let order = match &self.buckets {
            None => {
                let mut values = self.exact.clone();
                values.sort_by(f64::total_cmp);
                Order::Exact(values)
            }
            Some(b) => {
                let mut runs: Vec<(i32, u64)> = b.iter().map(|(&k, &c)| (k, c as u64)).collect();
                runs.sort_unstable_by_key(|&(k, _)| k);
                Order::Bucketed(runs)
            }
        };
        Sorted {
            sketch: self,
            order,
        }
    }

    /// The `p`-quantile, `p` in [0, 1]; NaN when empty.
    pub fn quantile(&self, p: f64) -> f64 {
        self.sorted().quantile(p)
    }

    /// The value of 0-based rank `r` (approximate in bucketed form).
    pub fn at_rank(&self, r: u64) -> f64 {
        self.sorted().at_rank(r)
    }

    /// Value at risk and expected shortfall of the tail of probability
    /// `tail` (e.g. 0.05): the lower tail, or the upper one with `upper`.
    /// Returns `(VaR, ES, variance within the tail)`, where VaR is the
    /// quantile at the tail's edge and ES the mean of the `ceil(tail * n)`
    /// most extreme values (in bucketed form, of their bucket values).
    /// `None` when empty.
    pub fn tail(&self, tail: f64, upper: bool) -> Option<(f64, f64, f64)> {
        self.sorted().tail(tail, upper)
    }

    /// How many values fall in each of the bins between consecutive `edges`
    /// (ascending): `[e_i, e_{i+1})`, the last bin closed. In bucketed form
    /// a value counts where its bucket's value falls, so a histogram is as
    /// exact as the quantiles. Values outside the edges are not counted.
    pub fn histogram(&self, edges: &[f64]) -> Vec<u64> {
        let bins = edges.len().saturating_sub(1);
        let mut counts = vec![0u64; bins];
        let mut add = |x: f64, c: u64| {
            if bins == 0 || !(x >= edges[0] && x <= edges[bins]) {
                return;
            }
            // The last edge belongs to the last bin.
            let i = edges.partition_point(|&e| e <= x).clamp(1, bins) - 1;
            counts[i] += c;
        };
        match &self.buckets {
            None => self.exact.iter().for_each(|&x| add(x, 1)),
            Some(b) => b.iter().for_each(|(&k, &c)| add(self.value(k), c as u64)),
        }
        counts
    }

    /// Standard error of the `p`-quantile from a distribution-free 95%
    /// order-statistic interval: half its width divided by 1.96.
    pub fn quantile_se(&self, p: f64) -> f64 {
        self.sorted().quantile_se(p)
    }
}

/// A [`QuantileSketch`]'s values in order ([`QuantileSketch::sorted`]).
#[derive(Debug)]
pub struct Sorted<'a> {
    sketch: &'a QuantileSketch,
    order: Order,
}

#[derive(Debug)]
enum Order {
    /// The values ascending (a sketch in exact form).
    Exact(Vec<f64>),
    /// `(bucket, count)` by ascending bucket (a bucketed sketch).
    Bucketed(Vec<(i32, u64)>),
}

impl Sorted<'_> {
    /// As [`QuantileSketch::quantile`].
    pub fn quantile(&self, p: f64) -> f64 {
        let n = self.sketch.n;
        if n == 0 {
            return f64::NAN;
        }
        let v = match &self.order {
            Order::Exact(v) => v,
            Order::Bucketed(_) => {
                return self.at_rank((p.clamp(0.0, 1.0) * (n - 1) as f64).round() as u64);
            }
        };
        let h = p.clamp(0.0, 1.0) * (v.len() - 1) as f64;
        let (lo, frac) = (h.floor() as usize, h - h.floor());
        if lo + 1 < v.len() {
            v[lo] + frac * (v[lo + 1] - v[lo])
        } else {
            v[lo]
        }
    }

    /// As [`QuantileSketch::at_rank`].
    pub fn at_rank(&self, r: u64) -> f64 {
        let r = r.min(self.sketch.n.saturating_sub(1));
        let runs = match &self.order {
            Order::Exact(v) => return v.get(r as usize).copied().unwrap_or(f64::NAN),
            Order::Bucketed(runs) => runs,
        };
        let mut seen = 0;
        for &(k, c) in runs {
            seen += c;
            if seen > r {
                return self.sketch.value(k);
            }
        }
        runs.last().map_or(f64::NAN, |&(k, _)| self.sketch.value(k))
    }

    /// As [`QuantileSketch::tail`].
    pub fn tail(&self, tail: f64, upper: bool) -> Option<(f64, f64, f64)> {
        let n = self.sketch.n;
        if n == 0 {
            return None;
        }
        let var = self.quantile(if upper { 1.0 - tail } else { tail });
        let k = ((tail * n as f64).ceil() as u64).clamp(1, n);
        // The k most extreme values, as (value, count) runs from the tail inward.
        let runs: Box<dyn Iterator<Item = (f64, u64)>> = match &self.order {
            Order::Exact(v) => {
                let values = v.iter().map(|&x| (x, 1));
                if upper {
                    Box::new(values.rev())
                } else {
                    Box::new(values)
                }
            }
            Order::Bucketed(b) => {
                let values = b.iter().map(|&(key, c)| (self.sketch.value(key), c));
                if upper {
                    Box::new(values.rev())
                } else {
                    Box::new(values)
                }
            }
        };
        let (mut sum, mut sum2, mut taken) = (0.0, 0.0, 0u64);
        for (x, count) in runs {
            if taken == k {
                break;
            }
            let c = count.min(k - taken);
            sum += x * c as f64;
            sum2 += x * x * c as f64;
            taken += c;
        }
        let es = sum / k as f64;
        Some((var, es, (sum2 / k as f64 - es * es).max(0.0)))
    }

    /// As [`QuantileSketch::quantile_se`].
    pub fn quantile_se(&self, p: f64) -> f64 {
        let n = self.sketch.n as f64;
        if self.sketch.n < 20 {
            return f64::NAN;
        }
        let half = 1.96 * (n * p * (1.0 - p)).sqrt();
        let lo = (n * p - half).floor().max(0.0) as u64;
        let hi = ((n * p + half).ceil() as u64).min(self.sketch.n - 1);
        (self.at_rank(hi) - self.at_rank(lo)) / (2.0 * 1.96)
    }
}

impl QuantileSketch {
    /// The value standing for bucket `k`: the middle of its bounds in the
    /// relative sense, within `alpha` of every value in it.
    fn value(&self, k: i32) -> f64 {
        if k == 0 {
            return 0.0;
        }
        let i = k.abs() + (LN_ZERO / self.ln_gamma).ceil() as i32 - 1;
        let v = 2.0 * math::powi(self.gamma, i.into()) / (self.gamma + 1.0);
        if k > 0 { v } else { -v }
    }
}

/// The bucket of `x` at the default accuracy.
pub(crate) fn key(x: f64) -> i32 {
    key_with(x, LN_GAMMA)
}

fn key_with(x: f64, ln_gamma: f64) -> i32 {
    if x.abs() < ZERO {
        return 0;
    }
    let i = (math::ln(x.abs()) / ln_gamma).ceil() as i32 - (LN_ZERO / ln_gamma).ceil() as i32 + 1;
    let i = i.clamp(1, OFFSET);
    if x > 0.0 { i } else { -i }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_written_out_logarithms_are_math_ln() {
        assert_eq!(LN_ZERO.to_bits(), math::ln(ZERO).to_bits());
        let gamma = (1.0 + ALPHA) / (1.0 - ALPHA);
        assert_eq!(LN_GAMMA.to_bits(), math::ln(gamma).to_bits());
    }

    #[test]
    fn histogram_counts_each_value_once() {
        let mut s = QuantileSketch::new(100);
        for x in [0.0, 0.5, 1.0, 1.0, 2.5, 3.0, 7.0] {
            s.push(x);
        }
        // [0,1) [1,2) [2,3]; 7 is outside.
        assert_eq!(s.histogram(&[0.0, 1.0, 2.0, 3.0]), vec![2, 2, 2]);
        assert_eq!(s.histogram(&[1.0]), Vec::<u64>::new());
        let mut b = QuantileSketch::new(4);
        for i in 0..1000 {
            b.push(i as f64 - 300.0);
        }
        assert!(!b.is_exact());
        let (lo, hi) = (b.at_rank(0), b.at_rank(999));
        let edges: Vec<f64> = (0..=10).map(|i| lo + (hi - lo) * i as f64 / 10.0).collect();
        let h = b.histogram(&edges);
        assert_eq!(h.iter().sum::<u64>(), 1000);
        // Equal-width bins of a uniform sample hold about 100 each, within
        // the buckets' 0.2% relative error of the bin edges.
        assert!(h.iter().all(|&c| (95..=105).contains(&c)), "{h:?}");
    }

    #[test]
    fn exact_below_cap_matches_type7() {
        let mut s = QuantileSketch::new(100);
        for x in [3.0, 1.0, 2.0, 4.0, 10.0] {
            s.push(x);
        }
        assert!(s.is_exact());
        assert_eq!(s.quantile(0.5), 3.0);
        assert_eq!(s.quantile(0.25), 2.0);
        assert!((s.quantile(0.9) - 7.6).abs() < 1e-12);
    }

    #[test]
    fn tails_are_the_means_of_the_most_extreme_values() {
        let mut s = QuantileSketch::new(1000);
        for x in 1..=100 {
            s.push(x as f64);
        }
        // Lower 5%: 1..=5, mean 3, variance 2; upper 5%: 96..=100.
        let (var, es, v) = s.tail(0.05, false).unwrap();
        assert_eq!((es, v), (3.0, 2.0));
        assert!((var - 5.95).abs() < 1e-12);
        let (var, es, _) = s.tail(0.05, true).unwrap();
        assert_eq!(es, 98.0);
        assert!((var - 95.05).abs() < 1e-12);
        // Bucketed: within the relative accuracy.
        let mut b = QuantileSketch::new(10);
        for x in 1..=100 {
            b.push(x as f64);
        }
        let (_, es, _) = b.tail(0.05, true).unwrap();
        assert!((es - 98.0).abs() <= ALPHA * 100.0);
    }

    #[test]
    fn buckets_keep_relative_accuracy_and_order_independence() {
        let xs: Vec<f64> = (0..20_000)
            .map(|i| ((i * 7919) % 20_011) as f64 - 5_000.0 + 0.5)
            .collect();
        let mut a = QuantileSketch::new(1000);
        xs.iter().for_each(|&x| a.push(x));
        let mut b = QuantileSketch::new(1000);
        for chunk in xs.rchunks(333) {
            let mut part = QuantileSketch::new(1000);
            chunk.iter().for_each(|&x| part.push(x));
            b.merge(&part);
        }
        assert!(!a.is_exact());
        let mut sorted = xs.clone();
        sorted.sort_by(f64::total_cmp);
        for p in [0.01, 0.05, 0.5, 0.95, 0.99] {
            assert_eq!(a.quantile(p).to_bits(), b.quantile(p).to_bits());
            let truth = sorted[(p * (sorted.len() - 1) as f64).round() as usize];
            assert!(
                (a.quantile(p) - truth).abs() <= ALPHA * truth.abs() + 1e-9,
                "p={p}: {} vs {truth}",
                a.quantile(p)
            );
        }
    }
}
