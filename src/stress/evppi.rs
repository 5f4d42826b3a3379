//! The expected value of perfect (partial) information from one set of
//! simulated worlds, by nonparametric regression (Strong, Oakley and
//! Brennan, Medical Decision Making 34(3), 2014).
//!
//! Each design's objective in world `i` is `y_d(i) = g_d(phi_i) + noise`,
//! where `phi` are the inputs whose value better evidence would reveal and
//! the noise is everything else (other inputs, participant-level chance).
//! A least-squares fit of `y_d` on a polynomial basis in `phi` estimates
//! `g_d = E[y_d | phi]`, and
//!
//! ```text
//! EVPPI(phi) = mean_i max_d g_d(phi_i) - max_d mean_i g_d(phi_i)
//! ```
//!
//! (the second term is the objective of the design chosen on current
//! evidence; an intercept in the basis makes it the plain mean). The fit
//! is a projection onto an orthonormal basis of the design matrix's
//! columns, so collinear inputs (macro multipliers tied to one factor) drop
//! out rather than break the fit.
//!
//! Two Monte Carlo errors are reported and combined: the sampling error of
//! the mean over worlds (the spread of the per-world gain over the chosen
//! design, over the square root of the worlds), and the error of the fit
//! itself (the spread of the EVPPI over draws of the fit's coefficients
//! from their sampling distribution, with the designs' residual covariance,
//! since their worlds are common).

use crate::math;
use rand::Rng;

/// Draws of the fit's coefficients for its Monte Carlo error.
const FIT_DRAWS: usize = 200;

/// How the basis was built from the inputs (after constant inputs are
/// dropped).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Basis {
    /// Every monomial of total degree at most 3 (one or two inputs).
    Cubic,
    /// Every monomial of total degree at most 2: squares and pairwise
    /// products.
    Quadratic,
    /// Each input's own powers up to 3, no products (many inputs).
    AdditiveCubic,
    /// Each input alone (more inputs still).
    Linear,
    /// No input varies: the information is worth nothing.
    Constant,
}

impl Basis {
    /// The name used in reports and tables.
    pub fn as_str(self) -> &'static str {
        match self {
            Basis::Cubic => "cubic",
            Basis::Quadratic => "quadratic",
            Basis::AdditiveCubic => "additive cubic",
            Basis::Linear => "linear",
            Basis::Constant => "constant",
        }
    }

    /// Columns (with the intercept) of this basis in `k` inputs.
    fn columns(self, k: usize) -> usize {
        match self {
            Basis::Cubic => (k + 1) * (k + 2) * (k + 3) / 6,
            Basis::Quadratic => 1 + 2 * k + k * k.saturating_sub(1) / 2,
            Basis::AdditiveCubic => 1 + 3 * k,
            Basis::Linear => 1 + k,
            Basis::Constant => 1,
        }
    }

    /// The richest basis with at most one column per `WORLDS_PER_COLUMN`
    /// worlds, so that the fit does not chase noise.
    fn choose(k: usize, worlds: usize) -> Basis {
        if k == 0 {
            return Basis::Constant;
        }
        let fits = |b: Basis| b.columns(k) * WORLDS_PER_COLUMN <= worlds;
        let candidates: &[Basis] = if k <= 2 {
            &[Basis::Cubic, Basis::Quadratic, Basis::Linear]
        } else {
            &[Basis::Quadratic, Basis::AdditiveCubic, Basis::Linear]
        };
        candidates
            .iter()
            .copied()
            .find(|&b| fits(b))
            .unwrap_or(Basis::Linear)
    }
}

/// Worlds needed per column of the basis before a richer basis is used.
pub const WORLDS_PER_COLUMN: usize = 20;

/// One value of information, with its Monte Carlo error.
#[derive(Clone, Debug, PartialEq)]
pub struct Evppi {
    /// The estimate, in the objective's unit (pounds for money).
    pub value: f64,
    /// Its Monte Carlo standard error: `sqrt(sampling^2 + fit^2)`.
    pub se: f64,
    /// The part from the finite number of worlds.
    pub se_sampling: f64,
    /// The part from the regression fit.
    pub se_fit: f64,
    /// The basis used.
    pub basis: Basis,
    /// Columns of the fitted basis (with the intercept, after dropping
    /// collinear ones).
    pub columns: usize,
    /// Share of each design's variance the inputs explain (R squared).
    pub explained: Vec<f64>,
}

/// The EVPPI of `inputs` (columns, one value per world) for the choice
/// between designs whose objective per world is `outcomes[d]` (larger is
/// better). `rng` draws the fit's coefficients for its error.
pub fn evppi<R: Rng + ?Sized>(inputs: &[&[f64]], outcomes: &[&[f64]], rng: &mut R) -> Evppi {
    let n = outcomes.first().map_or(0, |y| y.len());
    let varying: Vec<Vec<f64>> = inputs.iter().filter_map(|x| standardised(x)).collect();
    let basis = Basis::choose(varying.len(), n);
    let q = orthonormal(columns_of(&varying, basis, n));
    let r = q.len();
    // Coefficients on the orthonormal basis, and fitted values.
    let coef: Vec<Vec<f64>> = outcomes
        .iter()
        .map(|y| q.iter().map(|col| dot(col, y)).collect())
        .collect();
    let fitted: Vec<Vec<f64>> = coef.iter().map(|c| combine(&q, c, n)).collect();
    let (value, se_sampling) = gain(&fitted, n);
    let explained = outcomes
        .iter()
        .zip(&fitted)
        .map(|(y, f)| {
            let m = y.iter().sum::<f64>() / n as f64;
            let total: f64 = y.iter().map(|v| math::powi(v - m, 2)).sum();
            let resid: f64 = y.iter().zip(f).map(|(v, w)| math::powi(v - w, 2)).sum();
            if total > 0.0 {
                (1.0 - resid / total).clamp(0.0, 1.0)
            } else {
                1.0
            }
        })
        .collect();
    let se_fit = if basis == Basis::Constant || n <= r {
        0.0
    } else {
        fit_error(outcomes, &q, &coef, &fitted, rng)
    };
    Evppi {
        value,
        se: (se_sampling * se_sampling + se_fit * se_fit).sqrt(),
        se_sampling,
        se_fit,
        basis,
        columns: r,
        explained,
    }
}

/// The expected gain of choosing per world on `values` over choosing the
/// design best on average, and the standard error of that mean.
fn gain(values: &[Vec<f64>], n: usize) -> (f64, f64) {
    if n == 0 || values.is_empty() {
        return (0.0, 0.0);
    }
    let means: Vec<f64> = values
        .iter()
        .map(|v| v.iter().sum::<f64>() / n as f64)
        .collect();
    let chosen = (0..means.len())
        .max_by(|&a, &b| means[a].total_cmp(&means[b]))
        .unwrap_or(0);
    let mut sum = 0.0;
    let mut sum_sq = 0.0;
    for i in 0..n {
        let best = values
            .iter()
            .map(|v| v[i])
            .fold(f64::NEG_INFINITY, f64::max);
        let g = best - values[chosen][i];
        sum += g;
        sum_sq += g * g;
    }
    let mean = sum / n as f64;
    let var = if n > 1 {
        ((sum_sq - n as f64 * mean * mean) / (n - 1) as f64).max(0.0)
    } else {
        0.0
    };
    (mean.max(0.0), (var / n as f64).sqrt())
}

/// The spread of the EVPPI over draws of the coefficients: on an
/// orthonormal basis, least-squares coefficients have covariance
/// `Sigma (x) I`, `Sigma` the designs' residual covariance.
fn fit_error<R: Rng + ?Sized>(
    outcomes: &[&[f64]],
    q: &[Vec<f64>],
    coef: &[Vec<f64>],
    fitted: &[Vec<f64>],
    rng: &mut R,
) -> f64 {
    let (d, r, n) = (outcomes.len(), q.len(), fitted[0].len());
    let resid: Vec<Vec<f64>> = outcomes
        .iter()
        .zip(fitted)
        .map(|(y, f)| y.iter().zip(f).map(|(a, b)| a - b).collect())
        .collect();
    let mut sigma = vec![0.0; d * d];
    for a in 0..d {
        for b in 0..=a {
            let s = dot(&resid[a], &resid[b]) / (n - r) as f64;
            sigma[a * d + b] = s;
            sigma[b * d + a] = s;
        }
    }
    let lower = cholesky(&sigma, d);
    let mut values = Vec::with_capacity(FIT_DRAWS);
    let mut drawn: Vec<Vec<f64>> = vec![vec![0.0; r]; d];
    let mut z = vec![0.0; d];
    for _ in 0..FIT_DRAWS {
        for j in 0..r {
            for zk in z.iter_mut() {
                *zk = crate::sample::standard_normal(rng);
            }
            for a in 0..d {
                let shock: f64 = (0..=a).map(|b| lower[a * d + b] * z[b]).sum();
                drawn[a][j] = coef[a][j] + shock;
            }
        }
        let refit: Vec<Vec<f64>> = drawn.iter().map(|c| combine(q, c, n)).collect();
        values.push(gain(&refit, n).0);
    }
    let m = values.iter().sum::<f64>() / values.len() as f64;
    (values.iter().map(|v| math::powi(v - m, 2)).sum::<f64>() / (values.len() - 1) as f64).sqrt()
}

/// Lower Cholesky factor of a symmetric positive semi-definite matrix
/// (`d x d`, row-major); a zero pivot gives a zero column.
fn cholesky(a: &[f64], d: usize) -> Vec<f64> {
    let mut l = vec![0.0; d * d];
    for i in 0..d {
        for j in 0..=i {
            let s: f64 = (0..j).map(|k| l[i * d + k] * l[j * d + k]).sum();
            if i == j {
                l[i * d + i] = (a[i * d + i] - s).max(0.0).sqrt();
            } else if l[j * d + j] > 0.0 {
                l[i * d + j] = (a[i * d + j] - s) / l[j * d + j];
            }
        }
    }
    l
}

/// The input centred and scaled to unit variance, or `None` when it does
/// not vary (a fixed parameter carries no information).
fn standardised(x: &[f64]) -> Option<Vec<f64>> {
    let n = x.len() as f64;
    let m = x.iter().sum::<f64>() / n;
    let sd = (x.iter().map(|v| math::powi(v - m, 2)).sum::<f64>() / n).sqrt();
    let scale = m.abs().max(1.0);
    (sd > 1e-12 * scale && sd.is_finite()).then(|| x.iter().map(|v| (v - m) / sd).collect())
}

/// The design matrix's columns: the intercept, then the monomials of
/// `basis` in the standardised inputs.
fn columns_of(x: &[Vec<f64>], basis: Basis, n: usize) -> Vec<Vec<f64>> {
    let k = x.len();
    let mut cols = vec![vec![1.0; n]];
    let product = |idx: &[usize]| -> Vec<f64> {
        (0..n)
            .map(|i| idx.iter().map(|&j| x[j][i]).product())
            .collect()
    };
    match basis {
        Basis::Constant => {}
        Basis::Linear => cols.extend((0..k).map(|j| product(&[j]))),
        Basis::AdditiveCubic => {
            for j in 0..k {
                cols.push(product(&[j]));
                cols.push(product(&[j, j]));
                cols.push(product(&[j, j, j]));
            }
        }
        Basis::Quadratic | Basis::Cubic => {
            let degree = if basis == Basis::Cubic { 3 } else { 2 };
            // Monomials as non-decreasing index lists of length 1..=degree.
            let mut frontier: Vec<Vec<usize>> = (0..k).map(|j| vec![j]).collect();
            for _ in 0..degree {
                let mut next = Vec::new();
                for idx in &frontier {
                    cols.push(product(idx));
                    let last = *idx.last().expect("non-empty");
                    for j in last..k {
                        let mut longer = idx.clone();
                        longer.push(j);
                        next.push(longer);
                    }
                }
                frontier = next;
            }
        }
    }
    cols
}

/// An orthonormal basis of the columns' span (modified Gram-Schmidt, twice
/// for accuracy); a column already in the span of those before it is
/// dropped.
fn orthonormal(cols: Vec<Vec<f64>>) -> Vec<Vec<f64>> {
    let mut q: Vec<Vec<f64>> = Vec::with_capacity(cols.len());
    for mut v in cols {
        let norm0 = dot(&v, &v).sqrt();
        if norm0 == 0.0 {
            continue;
        }
        for _ in 0..2 {
            for u in &q {
                let c = dot(u, &v);
                v.iter_mut().zip(u).for_each(|(a, b)| *a -= c * b);
            }
        }
        let norm = dot(&v, &v).sqrt();
        if norm > 1e-9 * norm0 {
            v.iter_mut().for_each(|a| *a /= norm);
            q.push(v);
        }
    }
    q
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// `sum_j c[j] * q[j]`.
fn combine(q: &[Vec<f64>], c: &[f64], n: usize) -> Vec<f64> {
    let mut out = vec![0.0; n];
    for (col, &cj) in q.iter().zip(c) {
        out.iter_mut().zip(col).for_each(|(o, v)| *o += cj * v);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::math::{normal_cdf, normal_pdf};
    use crate::rng::{Purpose, stream};

    /// Two options, one worth nothing, the other `theta + noise` with
    /// `theta ~ N(mu, sigma^2)`: perfect information on theta is worth
    /// `E[max(0, theta)] - max(0, mu) = mu Phi(mu/sigma) + sigma phi(mu/sigma) - max(0, mu)`.
    fn two_options(mu: f64, sigma: f64, noise: f64, n: usize, seed: u64) -> (Evppi, Evppi, f64) {
        let mut rng = stream(seed, 0, Purpose::Parameters);
        let draw =
            |rng: &mut rand::rngs::ChaCha8Rng| -> f64 { crate::sample::standard_normal(rng) };
        let theta: Vec<f64> = (0..n).map(|_| mu + sigma * draw(&mut rng)).collect();
        let other: Vec<f64> = (0..n).map(|_| draw(&mut rng)).collect();
        let zero = vec![0.0; n];
        let y: Vec<f64> = theta.iter().map(|t| t + noise * draw(&mut rng)).collect();
        let on_theta = evppi(&[&theta], &[&zero, &y], &mut rng);
        let on_other = evppi(&[&other], &[&zero, &y], &mut rng);
        let z = mu / sigma;
        let exact = mu * normal_cdf(z) + sigma * normal_pdf(z) - mu.max(0.0);
        (on_theta, on_other, exact)
    }

    #[test]
    fn matches_the_closed_form_of_two_normal_options() {
        for (seed, mu, sigma, noise) in
            [(1, 0.3, 1.0, 2.0), (2, -0.5, 2.0, 1.0), (3, 1.0, 0.5, 3.0)]
        {
            let (got, _, exact) = two_options(mu, sigma, noise, 20_000, seed);
            assert!(
                (got.value - exact).abs() < 4.5 * got.se,
                "seed {seed}: {} vs {exact} (se {})",
                got.value,
                got.se
            );
            assert_eq!(got.basis, Basis::Cubic);
        }
    }

    #[test]
    fn an_input_that_does_not_matter_is_worth_nothing() {
        let (_, other, _) = two_options(0.3, 1.0, 2.0, 20_000, 4);
        assert!(other.value < 4.5 * other.se, "{other:?}");
        assert!(other.explained[1] < 0.01);
    }

    #[test]
    fn the_error_shrinks_with_more_worlds() {
        let (small, _, _) = two_options(0.3, 1.0, 2.0, 2_000, 5);
        let (large, _, _) = two_options(0.3, 1.0, 2.0, 32_000, 5);
        // Both parts scale as 1/sqrt(n): 16 times the worlds, a quarter of
        // the error, within the errors' own noise.
        let ratio = small.se / large.se;
        assert!((2.5..6.5).contains(&ratio), "{ratio}");
    }

    #[test]
    fn a_constant_input_gives_a_constant_basis() {
        let y = [1.0, 2.0, 3.0, 4.0];
        let zero = [0.0; 4];
        let mut rng = stream(1, 0, Purpose::Parameters);
        let e = evppi(&[&[5.0; 4]], &[&zero, &y], &mut rng);
        assert_eq!(
            (e.basis, e.columns, e.value, e.se),
            (Basis::Constant, 1, 0.0, 0.0)
        );
    }

    #[test]
    fn perfectly_known_outcomes_give_the_plain_expected_gain() {
        // y is a function of x: the fit is exact and EVPPI is the sample's
        // mean of max(0, y) - max(0, mean y).
        let x: Vec<f64> = (0..200).map(|i| i as f64 / 10.0 - 10.0).collect();
        let y: Vec<f64> = x.iter().map(|v| 2.0 * v + 1.0).collect();
        let zero = vec![0.0; x.len()];
        let mut rng = stream(1, 0, Purpose::Parameters);
        let e = evppi(&[&x], &[&zero, &y], &mut rng);
        let mean = y.iter().sum::<f64>() / y.len() as f64;
        let exact = y.iter().map(|v| v.max(0.0)).sum::<f64>() / y.len() as f64 - mean.max(0.0);
        assert!((e.value - exact).abs() < 1e-9, "{} vs {exact}", e.value);
        assert!(e.se_fit < 1e-6);
    }

    #[test]
    fn collinear_inputs_drop_out_of_the_basis() {
        let x: Vec<f64> = (0..400).map(|i| libm::sin(i as f64 * 0.37)).collect();
        let twice: Vec<f64> = x.iter().map(|v| 2.0 * v + 3.0).collect();
        let y: Vec<f64> = x.iter().map(|v| v * v).collect();
        let zero = vec![0.0; x.len()];
        let mut rng = stream(1, 0, Purpose::Parameters);
        let e = evppi(&[&x, &twice], &[&zero, &y], &mut rng);
        // Cubic in two inputs is 10 columns; the second input adds nothing.
        assert_eq!((e.basis, e.columns), (Basis::Cubic, 4));
        assert!(e.explained[1] > 0.999_999);
    }

    #[test]
    fn the_basis_grows_with_the_worlds() {
        assert_eq!(Basis::choose(1, 100), Basis::Cubic);
        assert_eq!(Basis::choose(1, 79), Basis::Quadratic);
        assert_eq!(Basis::choose(10, 10_000), Basis::Quadratic);
        assert_eq!(Basis::Quadratic.columns(10), 66);
        assert_eq!(Basis::choose(10, 66 * 20 - 1), Basis::AdditiveCubic);
        assert_eq!(Basis::choose(10, 100), Basis::Linear);
        assert_eq!(Basis::Cubic.columns(2), 10);
    }
}
