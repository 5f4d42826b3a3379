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
        Binomial { p, flip, ln_q: q.ln(), s: p / q }
    }

    /// Successes in `n` trials.
    #[inline]
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R, n: u64) -> u64 {
        let x = self.rare(rng, n);
        if self.flip { n - x } else { x }
    }

    #[inline]
    fn rare<R: Rng + ?Sized>(&self, rng: &mut R, n: u64) -> u64 {
        let p = self.p;
        if n == 0 || p <= 0.0 {
            return 0;
        }
        if n <= 8 {
            return (0..n).filter(|_| rng.random::<f64>() < p).count() as u64;
        }
        if (n as f64) * p < INVERSION_LIMIT {
            return self.inversion(rng, n);
        }
        rand_distr::Binomial::new(n, p).map(|d| d.sample(rng)).unwrap_or_else(|_| (n as f64 * p).round() as u64)
    }

    /// BINV: walk the CDF from 0; `q^n` from the precomputed `ln q` and
    /// reciprocals from a table keep the walk free of division.
    fn inversion<R: Rng + ?Sized>(&self, rng: &mut R, n: u64) -> u64 {
        let a = (n as f64 + 1.0) * self.s;
        let r0 = (n as f64 * self.ln_q).exp();
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
                let inv = RECIPROCALS.get(x as usize).copied().unwrap_or_else(|| 1.0 / x as f64);
                r *= a * inv - self.s;
            }
        }
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

    /// Pearson chi-square of `draws` against the exact binomial pmf, over
    /// cells with expected count >= 5 (the rest pooled).
    fn chi_square(n: u64, p: f64, draws: usize, seed: u64) -> (f64, usize) {
        let mut rng = stream(seed, 0, Purpose::Participants);
        let mut counts = vec![0usize; n as usize + 1];
        for _ in 0..draws {
            counts[binomial(&mut rng, n, p) as usize] += 1;
        }
        let exact = SBinomial::new(p, n).unwrap();
        let (mut stat, mut cells, mut pooled_obs, mut pooled_exp) = (0.0, 0, 0.0, 0.0);
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
        (stat, cells - 1)
    }

    #[test]
    fn binomial_matches_exact_pmf_on_every_code_path() {
        // Bernoulli counting, inversion, BTPE, and the p > 0.5 reflection.
        for &(n, p) in &[(5, 0.3), (40, 0.1), (200, 0.03), (300, 0.07), (500, 0.4), (60, 0.93), (3000, 0.97)] {
            let (stat, df) = chi_square(n, p, 40_000, n + 11);
            // Chi-square with df degrees of freedom: mean df, sd sqrt(2 df);
            // 5 sd above the mean is a false alarm well under 1e-4.
            let limit = df as f64 + 5.0 * (2.0 * df as f64).sqrt();
            assert!(stat < limit, "n={n} p={p}: chi2 {stat:.1} on {df} df");
        }
    }

    #[test]
    fn binomial_edges() {
        let mut rng = stream(1, 0, Purpose::Participants);
        assert_eq!(binomial(&mut rng, 0, 0.5), 0);
        assert_eq!(binomial(&mut rng, 10, 0.0), 0);
        assert_eq!(binomial(&mut rng, 10, 1.0), 10);
        assert_eq!(poisson(&mut rng, 0.0), 0);
    }

    #[test]
    fn normal_quantile_inverts_cdf() {
        for &u in &[1e-10, 0.001, 0.05, 0.5, 0.7, 0.999] {
            assert!((normal_cdf(normal_quantile(u)) - u).abs() < 1e-12 * u.max(1e-3) / 1e-3);
        }
        assert!((normal_quantile(0.975) - 1.959963984540054).abs() < 1e-12);
    }
}
