//! Streaming statistics with memory bounded independently of the number of
//! iterations, mergeable in a fixed order.
//!
//! **Invariant:** the engine feeds iterations in fixed blocks and merges
//! block summaries in block order, so every statistic is bit-identical
//! whatever the thread count.

mod allocation;
mod sketch;

pub use allocation::{AllocationSketch, Share};
pub use sketch::QuantileSketch;

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

/// Count, mean, variance (Welford / Chan), extremes; NaN values are counted
/// apart and otherwise ignored (e.g. a failure month when nobody failed).
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Moments {
    /// Finite values seen.
    pub n: u64,
    /// Running mean.
    pub mean: f64,
    m2: f64,
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
        let d = x - self.mean;
        self.mean += d / self.n as f64;
        self.m2 += d * (x - self.mean);
    }

    /// Combines with the summary of a later block.
    pub fn merge(&mut self, o: &Moments) {
        if o.n == 0 {
            return;
        }
        if self.n == 0 {
            *self = o.clone();
            return;
        }
        let n = self.n + o.n;
        let d = o.mean - self.mean;
        self.mean += d * o.n as f64 / n as f64;
        self.m2 += o.m2 + d * d * self.n as f64 * o.n as f64 / n as f64;
        self.min = self.min.min(o.min);
        self.max = self.max.max(o.max);
        self.n = n;
    }

    /// Sample standard deviation.
    pub fn sd(&self) -> f64 {
        if self.n < 2 {
            f64::NAN
        } else {
            (self.m2 / (self.n - 1) as f64).sqrt()
        }
    }

    /// Monte Carlo standard error of the mean.
    pub fn se(&self) -> f64 {
        self.sd() / (self.n as f64).sqrt()
    }
}

/// Co-moment of two series, for the standard error of a ratio of means.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CoMoments {
    n: u64,
    mean_x: f64,
    mean_y: f64,
    c: f64,
}

impl CoMoments {
    /// Adds one pair.
    #[inline]
    pub fn push(&mut self, x: f64, y: f64) {
        self.n += 1;
        let dx = x - self.mean_x;
        self.mean_x += dx / self.n as f64;
        self.mean_y += (y - self.mean_y) / self.n as f64;
        self.c += dx * (y - self.mean_y);
    }

    /// Combines with a later block.
    pub fn merge(&mut self, o: &CoMoments) {
        if o.n == 0 {
            return;
        }
        if self.n == 0 {
            *self = o.clone();
            return;
        }
        let n = self.n + o.n;
        let (dx, dy) = (o.mean_x - self.mean_x, o.mean_y - self.mean_y);
        self.c += o.c + dx * dy * self.n as f64 * o.n as f64 / n as f64;
        self.mean_x += dx * o.n as f64 / n as f64;
        self.mean_y += dy * o.n as f64 / n as f64;
        self.n = n;
    }

    /// Sample covariance.
    pub fn cov(&self) -> f64 {
        if self.n < 2 {
            f64::NAN
        } else {
            self.c / (self.n - 1) as f64
        }
    }
}

/// Ratio of means `E[x] / E[y]` with its delta-method standard error;
/// `None` when `E[y]` is not clearly positive, that is when its mean is
/// not above 1.96 standard errors (the ratio is then undefined, not a
/// number to report: the denominator could be zero).
pub fn ratio_of_means(x: &Moments, y: &Moments, xy: &CoMoments) -> Option<(f64, f64)> {
    if y.n < 2 || y.mean <= 0.0 || y.mean <= 1.96 * y.se() {
        return None;
    }
    let r = x.mean / y.mean;
    let n = y.n as f64;
    let var =
        (x.sd().powi(2) - 2.0 * r * xy.cov() + r * r * y.sd().powi(2)) / (n * y.mean * y.mean);
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
        assert!((whole.mean - merged.mean).abs() < 1e-9);
        assert!((whole.sd() - merged.sd()).abs() < 1e-9);
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (xs.len() - 1) as f64;
        assert!((whole.sd() - var.sqrt()).abs() < 1e-9);
        assert_eq!((whole.min, whole.max), (merged.min, merged.max));
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
