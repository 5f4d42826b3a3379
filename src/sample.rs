//! Count samplers: the reason an iteration costs segments x months, not
//! participants.
//!
//! Exchangeable participants are never simulated one by one: a cohort's
//! entries into outcome are one binomial draw, its referrals one Poisson
//! draw. These functions cannot fail and do not allocate; arguments are
//! validated where the model is built.

use rand::{Rng, RngExt};
use rand_distr::{Distribution, Poisson};

/// A uniform draw in the open interval (0, 1): safe for inverse CDFs.
#[inline]
pub fn open_unit<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    // 53 random bits, shifted by half a step so neither 0 nor 1 occurs.
    let bits = rng.random::<u64>() >> 11;
    (bits as f64 + 0.5) * (1.0 / (1u64 << 53) as f64)
}

/// Number of successes in `n` independent trials with probability `p`.
///
/// Exact in distribution; see [`Binomial`] for the methods.
#[inline]
pub fn binomial<R: Rng + ?Sized>(rng: &mut R, n: u64, p: f64) -> u64 {
    Binomial::new(p).sample(rng, n)
}

/// The expected successes of `n` trials with probability `p` (clamped to
/// [0, 1]), rounded half away from zero: a binomial count when counts are
/// their expectations ([`crate::model::CountMode::Expected`]).
#[inline]
pub fn expected_binomial(n: u64, p: f64) -> u64 {
    let p = if p.is_nan() { 0.0 } else { p.clamp(0.0, 1.0) };
    ((n as f64 * p).round() as u64).min(n)
}

/// A binomial sampler for one success probability and any number of trials,
/// with the per-probability work done once.
///
/// Small `n` counts Bernoulli trials; small `n*p` inverts the CDF (BINV,
/// Kachitvichyanukul and Schmeiser 1988, expected O(np)); otherwise BTPE
/// from `rand_distr` (expected O(1)), so no draw costs more than a bounded
/// amount whatever `n`.
#[derive(Clone, Copy, Debug)]
pub struct Binomial {
    /// min(p, 1 - p): the walk always runs on the rarer outcome.
    p: f64,
    flip: bool,
    ln_q: f64,
    s: f64,
}

/// Below this `n * p`, inversion beats BTPE's setup.
const INVERSION_LIMIT: f64 = 24.0;

impl Binomial {
    /// A sampler for success probability `p` (clamped to [0, 1]).
    #[inline]
    pub fn new(p: f64) -> Self {
        let p = if p.is_nan() { 0.0 } else { p.clamp(0.0, 1.0) };
        let flip = p > 0.5;
        let p = if flip { 1.0 - p } else { p };
        let q = 1.0 - p;
        Binomial {
            p,
            flip,
            ln_q: q.ln(),
            s: p / q,
        }
    }

    /// Successes in `n` trials.
    #[inline]
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R, n: u64) -> u64 {
        let x = self.rare(rng, n, None);
        if self.flip { n - x } else { x }
    }

    /// `1 - p` when `p <= 0.5` (the case in which [`Binomial::sample_with_power`]
    /// can use a caller's `(1 - p)^n`).
    pub fn failure_probability(&self) -> Option<f64> {
        (!self.flip).then_some(1.0 - self.p)
    }

    /// Whether a draw from `n` trials walks the CDF from 0, the only method
    /// that uses `(1 - p)^n`.
    #[inline]
    pub fn inverts(&self, n: u64) -> bool {
        n > 8 && (n as f64) * self.p < INVERSION_LIMIT
    }

    /// As [`Binomial::sample`], given `(1 - p)^n` (when
    /// [`Binomial::failure_probability`] is `Some`), which saves the
    /// inversion its `exp`.
    #[inline]
    pub fn sample_with_power<R: Rng + ?Sized>(&self, rng: &mut R, n: u64, power: f64) -> u64 {
        debug_assert!(!self.flip);
        self.rare(rng, n, Some(power))
    }

    #[inline]
    fn rare<R: Rng + ?Sized>(&self, rng: &mut R, n: u64, power: Option<f64>) -> u64 {
        let p = self.p;
        if n == 0 || p <= 0.0 {
            return 0;
        }
        if n <= 8 {
            return (0..n).filter(|_| rng.random::<f64>() < p).count() as u64;
        }
        if (n as f64) * p < INVERSION_LIMIT {
            return self.inversion(rng, n, power);
        }
        rand_distr::Binomial::new(n, p)
            .map(|d| d.sample(rng))
            .unwrap_or_else(|_| (n as f64 * p).round() as u64)
    }

    /// BINV: walk the CDF from 0; `q^n` from the precomputed `ln q` and
    /// reciprocals from a table keep the walk free of division.
    fn inversion<R: Rng + ?Sized>(&self, rng: &mut R, n: u64, power: Option<f64>) -> u64 {
        let a = (n as f64 + 1.0) * self.s;
        let r0 = power.unwrap_or_else(|| (n as f64 * self.ln_q).exp());
        loop {
            let mut u = rng.random::<f64>();
            let mut r = r0;
            let mut x = 0u64;
            // The walk ends within a few multiples of n*p; the bound only
            // guards against rounding leaving `u` above the total mass.
            while x <= n {
                if u < r {
                    return x;
                }
                u -= r;
                x += 1;
                let inv = RECIPROCALS
                    .get(x as usize)
                    .copied()
                    .unwrap_or_else(|| 1.0 / x as f64);
                r *= a * inv - self.s;
            }
        }
    }
}

/// A binomial sampler for one success probability, with the cumulative
/// distribution of every `n` up to [`BinomialTable::MAX_N`] tabulated once:
/// a draw is one uniform, a guide-table jump and a step or two of search,
/// whatever `n * p`. For probabilities that never change within a run (the
/// monthly dropout).
#[derive(Clone, Debug)]
pub struct BinomialTable {
    /// `cdf[start[n]..start[n + 1]]` is the CDF of Binomial(n, p') at 0, 1, …
    cdf: Vec<f64>,
    /// `guide[start[n] + i]`: the smallest `x` with `cdf > i / len` (Chen
    /// and Asau's guide table), where the search for `u` in bucket `i` starts.
    guide: Vec<u32>,
    start: Vec<usize>,
    flip: bool,
    fallback: Binomial,
}

impl BinomialTable {
    /// Largest `n` tabulated; larger `n` use [`Binomial`].
    pub const MAX_N: u64 = 512;

    /// Tabulates Binomial(n, p) for every `n <= MAX_N`.
    pub fn new(p: f64) -> Self {
        let p = if p.is_nan() { 0.0 } else { p.clamp(0.0, 1.0) };
        let flip = p > 0.5;
        let pr = if flip { 1.0 - p } else { p };
        let mut cdf = Vec::new();
        let mut start = Vec::with_capacity(Self::MAX_N as usize + 2);
        for n in 0..=Self::MAX_N {
            start.push(cdf.len());
            if pr <= 0.0 {
                cdf.push(1.0);
                continue;
            }
            let ratio = pr / (1.0 - pr);
            let mut f = (1.0 - pr).powi(n as i32);
            let mut total = 0.0;
            for x in 0..=n {
                total += f;
                cdf.push(total);
                // The rest of the mass is below one double's resolution of 1.
                if 1.0 - total < 1e-17 {
                    break;
                }
                f *= (n - x) as f64 / (x + 1) as f64 * ratio;
            }
            *cdf.last_mut().expect("at least one entry") = f64::INFINITY;
        }
        start.push(cdf.len());
        let mut guide = vec![0u32; cdf.len()];
        for n in 0..=Self::MAX_N as usize {
            let (lo, hi) = (start[n], start[n + 1]);
            let len = hi - lo;
            let mut x = 0;
            for i in 0..len {
                let level = i as f64 / len as f64;
                while cdf[lo + x] <= level {
                    x += 1;
                }
                guide[lo + i] = x as u32;
            }
        }
        BinomialTable {
            cdf,
            guide,
            start,
            flip,
            fallback: Binomial::new(p),
        }
    }

    /// Successes in `n` trials.
    #[inline]
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R, n: u64) -> u64 {
        if n > Self::MAX_N {
            return self.fallback.sample(rng, n);
        }
        let (lo, hi) = (self.start[n as usize], self.start[n as usize + 1]);
        let cdf = &self.cdf[lo..hi];
        let u = rng.random::<f64>();
        let mut x = self.guide[lo + (u * (hi - lo) as f64) as usize] as usize;
        // The last entry is infinite, so the search always stops.
        while cdf[x] <= u {
            x += 1;
        }
        let x = x as u64;
        if self.flip { n - x } else { x }
    }
}

/// `1/x` for small `x` (index 0 unused).
static RECIPROCALS: [f64; 128] = {
    let mut t = [0.0; 128];
    let mut i = 1;
    while i < 128 {
        t[i] = 1.0 / i as f64;
        i += 1;
    }
    t
};

/// A Poisson count with mean `lambda` (0 when `lambda` is 0).
#[inline]
pub fn poisson<R: Rng + ?Sized>(rng: &mut R, lambda: f64) -> u64 {
    if lambda <= 0.0 {
        return 0;
    }
    match Poisson::new(lambda) {
        Ok(d) => {
            let x: f64 = d.sample(rng);
            x as u64
        }
        Err(_) => 0,
    }
}

/// Standard normal CDF.
pub fn normal_cdf(z: f64) -> f64 {
    0.5 * statrs::function::erf::erfc(-z / std::f64::consts::SQRT_2)
}

/// Standard normal quantile, for `u` in (0, 1).
pub fn normal_quantile(u: f64) -> f64 {
    -std::f64::consts::SQRT_2 * statrs::function::erf::erfc_inv(2.0 * u)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{Purpose, stream};
    use statrs::distribution::{Binomial as SBinomial, Discrete};

    /// Pearson chi-square of `draws` samples of `sample(n)` against the
    /// exact Binomial(n, p) pmf, over cells with expected count >= 5 (the
    /// rest pooled); asserts it is below df + 5 sd (false alarm < 1e-4).
    fn assert_binomial(
        n: u64,
        p: f64,
        seed: u64,
        mut sample: impl FnMut(&mut crate::rng::ChaCha8Rng) -> u64,
    ) {
        let draws = 40_000;
        let mut rng = stream(seed, 0, Purpose::Participants);
        let mut counts = vec![0usize; n as usize + 1];
        for _ in 0..draws {
            counts[sample(&mut rng) as usize] += 1;
        }
        let exact = SBinomial::new(p, n).unwrap();
        let (mut stat, mut cells, mut pooled_obs, mut pooled_exp) = (0.0, 0usize, 0.0, 0.0);
        for (k, &obs) in counts.iter().enumerate() {
            let e = exact.pmf(k as u64) * draws as f64;
            if e >= 5.0 {
                stat += (obs as f64 - e).powi(2) / e;
                cells += 1;
            } else {
                pooled_obs += obs as f64;
                pooled_exp += e;
            }
        }
        if pooled_exp > 0.0 {
            stat += (pooled_obs - pooled_exp).powi(2) / pooled_exp.max(1e-12);
            cells += 1;
        }
        let df = (cells - 1) as f64;
        assert!(
            stat < df + 5.0 * (2.0 * df).sqrt(),
            "n={n} p={p}: chi2 {stat:.1} on {df} df"
        );
    }

    #[test]
    fn binomial_matches_exact_pmf_on_every_code_path() {
        // Bernoulli counting, inversion, BTPE, and the p > 0.5 reflection.
        for &(n, p) in &[
            (5, 0.3),
            (40, 0.1),
            (200, 0.03),
            (300, 0.07),
            (500, 0.4),
            (60, 0.93),
            (3000, 0.97),
        ] {
            assert_binomial(n, p, n + 11, |rng| binomial(rng, n, p));
        }
    }

    #[test]
    fn tabulated_binomial_matches_exact_pmf() {
        for &(n, p) in &[
            (20u64, 0.09),
            (200, 0.09),
            (256, 0.3),
            (100, 0.8),
            (1000, 0.09),
        ] {
            let table = BinomialTable::new(p);
            assert_binomial(n, p, n + 7, |rng| table.sample(rng, n));
        }
    }

    #[test]
    fn binomial_edges() {
        let mut rng = stream(1, 0, Purpose::Participants);
        assert_eq!(binomial(&mut rng, 0, 0.5), 0);
        assert_eq!(binomial(&mut rng, 10, 0.0), 0);
        assert_eq!(binomial(&mut rng, 10, 1.0), 10);
        assert_eq!(poisson(&mut rng, 0.0), 0);
        // Expectations round half away from zero, and never pass n.
        assert_eq!(expected_binomial(5, 0.5), 3);
        assert_eq!(expected_binomial(5, 0.3), 2);
        assert_eq!(expected_binomial(10, 1.5), 10);
        assert_eq!(expected_binomial(10, f64::NAN), 0);
    }

    #[test]
    fn normal_quantile_inverts_cdf() {
        for &u in &[1e-10, 0.001, 0.05, 0.5, 0.7, 0.999] {
            assert!((normal_cdf(normal_quantile(u)) - u).abs() < 1e-12 * u.max(1e-3) / 1e-3);
        }
        assert!((normal_quantile(0.975) - 1.959963984540054).abs() < 1e-12);
    }
}
