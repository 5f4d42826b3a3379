//! Count samplers: the reason an iteration costs segments x months, not
//! participants.
//!
//! Exchangeable participants are never simulated one by one: a cohort's
//! entries into outcome are one binomial draw, its referrals one Poisson
//! draw. These functions cannot fail and do not allocate; arguments are
//! validated where the model is built.

use crate::math;
use rand::{Rng, RngExt};

/// A uniform draw in the open interval (0, 1): safe for inverse CDFs.
#[inline]
pub fn open_unit<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    // 53 random bits, shifted by half a step so neither 0 nor 1 occurs.
    let bits = rng.random::<u64>() >> 11;
    (bits as f64 + 0.5) * (1.0 / (1u64 << 53) as f64)
}

/// A standard normal draw, by inversion (a monotone function of one
/// uniform, so percentile bands of a score are well defined).
#[inline]
pub fn standard_normal<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    math::normal_quantile(open_unit(rng))
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

/// `kept[n]`, computed by `f` the first time it is asked for (NaN until
/// then); past the end of `kept`, `f()` each time. For values that recur
/// within an iteration (powers of one probability), kept bit for bit.
#[inline]
pub fn kept(kept: &mut [f64], n: u64, f: impl FnOnce() -> f64) -> f64 {
    match kept.get_mut(n as usize) {
        Some(k) if !k.is_nan() => *k,
        Some(k) => {
            *k = f();
            *k
        }
        None => f(),
    }
}

/// A binomial sampler for one success probability and any number of trials,
/// with the per-probability work done once.
///
/// Small `n` counts Bernoulli trials; small `n*p` inverts the CDF (BINV,
/// Kachitvichyanukul and Schmeiser 1988, expected O(np)); otherwise BTRS
/// (transformed rejection, expected O(1)), so no draw costs more than a bounded
/// amount whatever `n`.
#[derive(Clone, Copy, Debug)]
pub struct Binomial {
    /// min(p, 1 - p): the walk always runs on the rarer outcome.
    p: f64,
    flip: bool,
    ln_q: f64,
    s: f64,
}

/// Below this `n * p`, inversion beats BTRS's setup (BTRS needs at least 10).
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
            ln_q: math::ln(q),
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

    /// `(1 - p)^n` as a draw by inversion computes it (for `p <= 0.5`), so
    /// that a caller keeping it gets the same draws.
    #[inline]
    pub fn failure_power(&self, n: u64) -> f64 {
        math::exp(n as f64 * self.ln_q)
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
        btrs(rng, n, p)
    }

    /// BINV: walk the CDF from 0; `q^n` from the precomputed `ln q` and
    /// reciprocals from a table keep the walk free of division.
    fn inversion<R: Rng + ?Sized>(&self, rng: &mut R, n: u64, power: Option<f64>) -> u64 {
        let a = (n as f64 + 1.0) * self.s;
        let r0 = power.unwrap_or_else(|| self.failure_power(n));
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
            let mut f = math::powi(1.0 - pr, n as i64);
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

/// Binomial(n, p) for `p <= 0.5` and `n p >= 10` by transformed rejection
/// with squeeze (BTRS; Hormann 1993, "The generation of binomial random
/// variates", J. Statist. Comput. Simul. 46): a uniform pushed through a
/// hat close to the pmf's shape proposes a count, accepted against the
/// exact pmf ratio f(k)/f(m) to the mode (a product of ratios near the
/// mode, Stirling's series with bounds farther out). Exact in
/// distribution; about 1.15 proposals per draw.
fn btrs<R: Rng + ?Sized>(rng: &mut R, n: u64, p: f64) -> u64 {
    let nf = n as f64;
    let q = 1.0 - p;
    let npq = nf * p * q;
    let spq = npq.sqrt();
    let b = 1.15 + 2.53 * spq;
    let a = -0.0873 + 0.0248 * b + 0.01 * p;
    let c = nf * p + 0.5;
    let alpha = (2.83 + 5.1 / b) * spq;
    let vr = 0.92 - 4.2 / b;
    let box_accept = 0.86 * vr;
    let m = ((nf + 1.0) * p).floor();
    let r = p / q;
    let nr = (nf + 1.0) * r;
    let propose = |u: f64, us: f64| ((2.0 * a / us + b) * u + c).floor();
    loop {
        let mut v = rng.random::<f64>();
        if v <= box_accept {
            // The box under the pmf: accepted without evaluating it.
            let u = v / vr - 0.43;
            return propose(u, 0.5 - u.abs()) as u64;
        }
        let u;
        if v >= vr {
            u = rng.random::<f64>() - 0.5;
        } else {
            let w = v / vr - 0.93;
            u = 0.5f64.copysign(w) - w;
            v = rng.random::<f64>() * vr;
        }
        let us = 0.5 - u.abs();
        let k = propose(u, us);
        if k < 0.0 || k > nf {
            continue;
        }
        v *= alpha / (a / (us * us) + b);
        let km = (k - m).abs();
        if km <= 15.0 {
            // f(k) / f(m) as a product of successive ratios.
            let mut f = 1.0;
            if m < k {
                let mut i = m + 1.0;
                while i <= k {
                    f *= nr / i - r;
                    i += 1.0;
                }
            } else {
                let mut i = k + 1.0;
                while i <= m {
                    v *= nr / i - r;
                    i += 1.0;
                }
            }
            if v <= f {
                return k as u64;
            }
            continue;
        }
        // Bounds on ln f(k)/f(m) settle most proposals without it.
        let v = math::ln(v);
        let rho = (km / npq) * (((km / 3.0 + 0.625) * km + 1.0 / 6.0) / npq + 0.5);
        let t = -km * km / (2.0 * npq);
        if v < t - rho {
            return k as u64;
        }
        if v > t + rho {
            continue;
        }
        let nm = nf - m + 1.0;
        let h =
            (m + 0.5) * math::ln((m + 1.0) / (r * nm)) + stirling_tail(m) + stirling_tail(nf - m);
        let nk = nf - k + 1.0;
        if v <= h + (nf + 1.0) * math::ln(nm / nk) + (k + 0.5) * math::ln(nk * r / (k + 1.0))
            - stirling_tail(k)
            - stirling_tail(nf - k)
        {
            return k as u64;
        }
    }
}

/// `ln k! - ((k + 1/2) ln(k + 1) - (k + 1) + ln(2 pi) / 2)`: what Stirling's
/// formula for `ln (k + 1)!` leaves out (tabulated below 10, its
/// asymptotic series above, accurate there to double precision).
fn stirling_tail(k: f64) -> f64 {
    const SMALL: [f64; 10] = [
        0.081_061_466_795_327_26,
        0.041_340_695_955_409_3,
        0.027_677_925_684_998_34,
        0.020_790_672_103_765_093,
        0.016_644_691_189_821_192,
        0.013_876_128_823_070_748,
        0.011_896_709_945_891_77,
        0.010_411_265_261_972_096,
        0.009_255_462_182_712_733,
        0.008_330_563_433_362_87,
    ];
    if k < 10.0 {
        return SMALL[k as usize];
    }
    let k1 = k + 1.0;
    let k2 = k1 * k1;
    (1.0 / 12.0 - (1.0 / 360.0 - 1.0 / 1260.0 / k2) / k2) / k1
}

/// A Poisson count with mean `lambda` (0 when `lambda` is 0 or not a
/// number).
///
/// Below a mean of 10, inversion (walk the CDF from 0, expected
/// `lambda + 1` steps); above, transformed rejection (PTRS; Hormann 1993,
/// "The transformed rejection method for generating Poisson random
/// variables", Insurance: Mathematics and Economics 12), expected O(1).
/// Exact in distribution either way.
#[inline]
pub fn poisson<R: Rng + ?Sized>(rng: &mut R, lambda: f64) -> u64 {
    if lambda.is_nan() || lambda <= 0.0 {
        return 0;
    }
    if lambda < 10.0 {
        let mut mass = math::exp(-lambda);
        let mut u = rng.random::<f64>();
        let mut k = 0u64;
        // The bound only guards against rounding leaving `u` above the
        // total mass (P(k > 200) is below 1e-200 here).
        while u > mass && k < 200 {
            u -= mass;
            k += 1;
            mass *= lambda / k as f64;
        }
        return k;
    }
    ptrs(rng, lambda)
}

/// PTRS: a uniform pushed through a hat close to the Poisson pmf proposes a
/// count; a box under the pmf accepts most proposals outright, the rest
/// against the exact log pmf.
fn ptrs<R: Rng + ?Sized>(rng: &mut R, lambda: f64) -> u64 {
    let slam = lambda.sqrt();
    let log_lambda = math::ln(lambda);
    let b = 0.931 + 2.53 * slam;
    let a = -0.059 + 0.02483 * b;
    let inv_alpha = 1.1239 + 1.1328 / (b - 3.4);
    let vr = 0.9277 - 3.6224 / (b - 2.0);
    loop {
        let u = rng.random::<f64>() - 0.5;
        let v = rng.random::<f64>();
        let us = 0.5 - u.abs();
        let k = ((2.0 * a / us + b) * u + lambda + 0.43).floor();
        if us >= 0.07 && v <= vr {
            return k as u64;
        }
        if k < 0.0 || (us < 0.013 && v > us) {
            continue;
        }
        if math::ln(v) + math::ln(inv_alpha) - math::ln(a / (us * us) + b)
            <= -lambda + k * log_lambda - math::ln_gamma(k + 1.0)
        {
            return k as u64;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{Purpose, stream};
    use statrs::distribution::{Binomial as SBinomial, Discrete, Poisson as SPoisson};
    use std::collections::BTreeMap;

    /// Pearson chi-square of `draws` samples of `sample` against the exact
    /// pmf, over cells with expected count >= 5 (the rest pooled); asserts
    /// it is below df + 5 sd (false alarm below 1e-4).
    fn assert_pmf(
        what: &str,
        draws: usize,
        seed: u64,
        pmf: impl Fn(u64) -> f64,
        mut sample: impl FnMut(&mut crate::rng::ChaCha8Rng) -> u64,
    ) {
        let mut rng = stream(seed, 0, Purpose::Participants);
        let mut counts = BTreeMap::<u64, usize>::new();
        for _ in 0..draws {
            *counts.entry(sample(&mut rng)).or_insert(0) += 1;
        }
        // Every value with expected count >= 5 lies within the observed
        // range widened by its spread; cells outside it hold no draws and
        // are pooled with the tails.
        let (&lo, &hi) = (counts.keys().next().unwrap(), counts.keys().last().unwrap());
        let pad = (hi - lo) / 2 + 10;
        let (mut stat, mut cells, mut pooled_obs, mut pooled_exp, mut seen) =
            (0.0, 0usize, 0.0, 0.0, 0.0);
        for k in lo.saturating_sub(pad)..=hi + pad {
            let e = pmf(k) * draws as f64;
            let obs = counts.get(&k).copied().unwrap_or(0) as f64;
            seen += e;
            if e >= 5.0 {
                stat += math::powi(obs - e, 2) / e;
                cells += 1;
            } else {
                pooled_obs += obs;
                pooled_exp += e;
            }
        }
        // The mass beyond the window, pooled.
        pooled_exp += (draws as f64 - seen).max(0.0);
        if pooled_exp > 0.0 {
            stat += math::powi(pooled_obs - pooled_exp, 2) / pooled_exp.max(1e-12);
            cells += 1;
        }
        let df = (cells - 1) as f64;
        assert!(cells > 1, "{what}: no cells");
        assert!(
            stat < df + 5.0 * (2.0 * df).sqrt(),
            "{what}: chi2 {stat:.1} on {df} df"
        );
    }

    fn assert_binomial(
        n: u64,
        p: f64,
        seed: u64,
        sample: impl FnMut(&mut crate::rng::ChaCha8Rng) -> u64,
    ) {
        let exact = SBinomial::new(p, n).unwrap();
        assert_pmf(
            &format!("Binomial({n}, {p})"),
            40_000,
            seed,
            |k| if k > n { 0.0 } else { exact.pmf(k) },
            sample,
        );
    }

    #[test]
    fn binomial_matches_exact_pmf_on_every_code_path() {
        // Bernoulli counting, inversion, BTRS near the mode and far from
        // it (its squeeze and its Stirling comparison), and the p > 0.5
        // reflection.
        for &(n, p) in &[
            (5, 0.3),
            (40, 0.1),
            (200, 0.03),
            (300, 0.07),
            (100, 0.25),
            (48, 0.5),
            (500, 0.4),
            (1_000_000, 0.3),
            (1_000_000_000, 1e-6),
            (60, 0.93),
            (3000, 0.97),
        ] {
            assert_binomial(n, p, n + 11, |rng| binomial(rng, n, p));
        }
    }

    #[test]
    fn btrs_takes_every_branch_and_matches_the_exact_pmf_closely() {
        // Far from the mode (|k - m| > 15) the acceptance goes through the
        // squeeze bounds and Stirling's series: a large sample at a spread
        // of about 460 puts most draws there.
        let (n, p) = (1_000_000u64, 0.3);
        let exact = SBinomial::new(p, n).unwrap();
        assert_pmf(
            "BTRS, n = 10^6",
            400_000,
            5,
            |k| exact.pmf(k),
            |rng| btrs(rng, n, p),
        );
    }

    #[test]
    fn poisson_matches_exact_pmf_on_both_methods() {
        for &lambda in &[0.2, 3.0, 9.99, 10.0, 25.0, 1000.0, 1e7] {
            let exact = SPoisson::new(lambda).unwrap();
            assert_pmf(
                &format!("Poisson({lambda})"),
                40_000,
                lambda as u64 + 3,
                |k| exact.pmf(k),
                |rng| poisson(rng, lambda),
            );
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
        assert_eq!(poisson(&mut rng, f64::NAN), 0);
        // Expectations round half away from zero, and never pass n.
        assert_eq!(expected_binomial(5, 0.5), 3);
        assert_eq!(expected_binomial(5, 0.3), 2);
        assert_eq!(expected_binomial(10, 1.5), 10);
        assert_eq!(expected_binomial(10, f64::NAN), 0);
    }

    #[test]
    fn the_stirling_tail_meets_its_series_at_ten() {
        // The table's last entries against the series: the series is
        // already within 1e-8 at 9, so the switch at 10 is seamless.
        let series = |k: f64| {
            let k1 = k + 1.0;
            let k2 = k1 * k1;
            (1.0 / 12.0 - (1.0 / 360.0 - 1.0 / 1260.0 / k2) / k2) / k1
        };
        assert!((stirling_tail(9.0) - series(9.0)).abs() < 1e-8);
        // Against ln k! from ln Gamma at a larger k.
        let k = 40.0;
        let direct = math::ln_gamma(k + 1.0)
            - ((k + 0.5) * math::ln(k + 1.0) - (k + 1.0)
                + 0.5 * math::ln(2.0 * std::f64::consts::PI));
        assert!((stirling_tail(k) - direct).abs() < 1e-12);
    }
}
