//! Streaming statistics with memory bounded independently of the number of
//! iterations, mergeable in any order.
//!
//! **Invariant:** merging is exactly associative and commutative: sums are
//! exact ([`ExactSum`], integer pence), sketches depend only on the
//! multiset of values. So a run keeps one running summary, and every
//! statistic is bit-identical whatever the thread count or shard split.

use crate::math;

mod allocation;
mod exact;
mod sketch;

pub use allocation::{AllocationSketch, BATCHES as ALLOCATION_BATCHES, Share};
pub use exact::ExactSum;
pub use sketch::{MAX_VALUES as SKETCH_MAX_VALUES, QuantileSketch, Sorted};

/// Serializes a bucket map in key order, so that equal sketches give equal
/// bytes whatever their maps' insertion history.
mod sorted_buckets {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::collections::HashMap;
    use std::hash::BuildHasher;

    pub fn serialize<V: Serialize, H, S: Serializer>(
        map: &Option<HashMap<i32, V, H>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        let sorted: Option<Vec<(&i32, &V)>> = map.as_ref().map(|m| {
            let mut v: Vec<_> = m.iter().collect();
            v.sort_unstable_by_key(|(k, _)| **k);
            v
        });
        sorted.serialize(s)
    }

    pub fn deserialize<'de, V: Deserialize<'de>, H: BuildHasher + Default, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<HashMap<i32, V, H>>, D::Error> {
        let items: Option<Vec<(i32, V)>> = Option::deserialize(d)?;
        Ok(items.map(|v| v.into_iter().collect()))
    }
}

/// Count, mean, variance, extremes; NaN values are ignored (e.g. a failure
/// month when nobody failed).
///
/// The sums behind the mean and variance are exact ([`ExactSum`]), so
/// merging in any order, or any grouping, gives the same bits: a run keeps
/// one running summary, and a run split into shards matches one pass.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Moments {
    /// Finite values seen.
    pub n: u64,
    sum: ExactSum,
    squares: ExactSum,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
}

impl Moments {
    /// Adds one value.
    #[inline]
    pub fn push(&mut self, x: f64) {
        if x.is_nan() {
            return;
        }
        if self.n == 0 {
            self.min = x;
            self.max = x;
        } else {
            self.min = self.min.min(x);
            self.max = self.max.max(x);
        }
        self.n += 1;
        self.sum.add(x);
        self.squares.add_product(x, x);
    }

    /// Combines with the summary of other values (in any order).
    pub fn merge(&mut self, o: &Moments) {
        if o.n == 0 {
            return;
        }
        if self.n == 0 {
            *self = o.clone();
            return;
        }
        self.sum.merge(&o.sum);
        self.squares.merge(&o.squares);
        self.min = self.min.min(o.min);
        self.max = self.max.max(o.max);
        self.n += o.n;
    }

    /// The mean (0 when empty).
    pub fn mean(&self) -> f64 {
        if self.n == 0 {
            0.0
        } else {
            self.sum.value() / self.n as f64
        }
    }

    /// Sample standard deviation.
    pub fn sd(&self) -> f64 {
        if self.n < 2 {
            f64::NAN
        } else {
            let n = self.n as f64;
            (centred(n, &self.squares, &self.sum, &self.sum).max(0.0) / (n - 1.0)).sqrt()
        }
    }

    /// Monte Carlo standard error of the mean.
    pub fn se(&self) -> f64 {
        self.sd() / (self.n as f64).sqrt()
    }
}

/// `sum(xy) - sum(x) sum(y) / n`, the centred sum of products, from the
/// exact sums: `n sum(xy) - sum(x) sum(y)` is formed in an exact sum from
/// each sum's leading 106 bits, so it keeps its accuracy when the mean is
/// large against the spread.
fn centred(n: f64, xy: &ExactSum, x: &ExactSum, y: &ExactSum) -> f64 {
    let (a, b) = x.double();
    let (c, d) = y.double();
    let (e, f) = xy.double();
    let mut t = ExactSum::default();
    t.add_product(e, n);
    t.add_product(f, n);
    for (u, v) in [(a, c), (a, d), (b, c), (b, d)] {
        t.add_product(-u, v);
    }
    t.value() / n
}

/// Co-moment of two series, for the standard error of a ratio of means.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CoMoments {
    n: u64,
    x: ExactSum,
    y: ExactSum,
    xy: ExactSum,
}

impl CoMoments {
    /// Adds one pair.
    #[inline]
    pub fn push(&mut self, x: f64, y: f64) {
        self.n += 1;
        self.x.add(x);
        self.y.add(y);
        self.xy.add_product(x, y);
    }

    /// Combines with the co-moment of other pairs (in any order).
    pub fn merge(&mut self, o: &CoMoments) {
        self.n += o.n;
        self.x.merge(&o.x);
        self.y.merge(&o.y);
        self.xy.merge(&o.xy);
    }

    /// Sample covariance.
    pub fn cov(&self) -> f64 {
        if self.n < 2 {
            f64::NAN
        } else {
            let n = self.n as f64;
            centred(n, &self.xy, &self.x, &self.y) / (n - 1.0)
        }
    }
}

/// The standard error of a pooled estimate from independent replicates'
/// own estimates (the randomisations of a Sobol' run): the sample sd of
/// the finite ones over the square root of their number; NaN with fewer
/// than two.
pub fn replicate_se(estimates: impl IntoIterator<Item = f64>) -> f64 {
    let (mut m, mut s, mut c) = (0.0, 0.0, 0.0);
    for x in estimates.into_iter().filter(|x| x.is_finite()) {
        // Welford, over a handful of values in a fixed order.
        c += 1.0;
        let d = x - m;
        m += d / c;
        s += d * (x - m);
    }
    if c < 2.0 {
        f64::NAN
    } else {
        (s / (c - 1.0) / c).sqrt()
    }
}

/// Ratio of means `E[x] / E[y]` with its delta-method standard error;
/// `None` when `E[y]` is not clearly positive, that is when its mean is
/// not above 1.96 standard errors (the ratio is then undefined, not a
/// number to report: the denominator could be zero).
pub fn ratio_of_means(x: &Moments, y: &Moments, xy: &CoMoments) -> Option<(f64, f64)> {
    if y.n < 2 || y.mean() <= 0.0 || y.mean() <= 1.96 * y.se() {
        return None;
    }
    let r = x.mean() / y.mean();
    let n = y.n as f64;
    let var = (math::powi(x.sd(), 2) - 2.0 * r * xy.cov() + r * r * math::powi(y.sd(), 2))
        / (n * y.mean() * y.mean());
    Some((r, var.max(0.0).sqrt()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_blocks_match_one_pass() {
        let xs: Vec<f64> = (0..1000)
            .map(|i| ((i * 7919) % 1013) as f64 * 0.37 - 50.0)
            .collect();
        let mut whole = Moments::default();
        xs.iter().for_each(|&x| whole.push(x));
        let mut merged = Moments::default();
        for chunk in xs.chunks(64) {
            let mut m = Moments::default();
            chunk.iter().for_each(|&x| m.push(x));
            merged.merge(&m);
        }
        assert_eq!(whole.mean().to_bits(), merged.mean().to_bits());
        assert_eq!(whole.sd().to_bits(), merged.sd().to_bits());
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        let var = xs.iter().map(|x| math::powi(x - mean, 2)).sum::<f64>() / (xs.len() - 1) as f64;
        assert!((whole.sd() - var.sqrt()).abs() < 1e-9);
        assert_eq!((whole.min, whole.max), (merged.min, merged.max));
        // Any grouping and order of merges: the same bits.
        let mut backwards = Moments::default();
        for chunk in xs.rchunks(37) {
            let mut m = Moments::default();
            chunk.iter().rev().for_each(|&x| m.push(x));
            let mut tail = m;
            tail.merge(&backwards);
            backwards = tail;
        }
        assert_eq!(backwards.mean().to_bits(), whole.mean().to_bits());
        assert_eq!(backwards.sd().to_bits(), whole.sd().to_bits());
    }

    #[test]
    fn variance_keeps_its_accuracy_far_from_zero() {
        // 1e9 + {0, 1, 2, 3}: variance 5/3 exactly; a naive sum of squares
        // would lose it in the 1e18 squares.
        let mut m = Moments::default();
        for x in [0.0, 1.0, 2.0, 3.0] {
            m.push(1e9 + x);
        }
        assert_eq!(m.mean(), 1e9 + 1.5);
        assert!(
            (math::powi(m.sd(), 2) - 5.0 / 3.0).abs() < 1e-12,
            "{}",
            m.sd()
        );
        let mut c = CoMoments::default();
        for (x, y) in [(1e9, 5.0), (1e9 + 1.0, 3.0), (1e9 + 2.0, 1.0)] {
            c.push(x, y);
        }
        assert_eq!(c.cov(), -2.0);
    }

    #[test]
    fn ratio_is_undefined_without_positive_denominator() {
        let mut x = Moments::default();
        let mut y = Moments::default();
        let mut xy = CoMoments::default();
        for (a, b) in [(1.0, -1.0), (2.0, 0.5), (3.0, 0.0)] {
            x.push(a);
            y.push(b);
            xy.push(a, b);
        }
        assert!(ratio_of_means(&x, &y, &xy).is_none());
    }
}
