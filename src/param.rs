//! Uncertain scenario parameters: a marginal distribution, optionally tied to
//! a named shared factor.
//!
//! Every parameter is drawn by inversion: a standard normal `z` becomes
//! `u = Phi(z)` and the value is the marginal's quantile at `u`. A parameter
//! tied to a factor uses `z = loading * f + sqrt(1 - loading^2) * e`, where
//! `f` is the factor's standard normal draw and `e` the parameter's own
//! (a Gaussian copula). The marginal is unchanged whatever the loading; the
//! factor only couples parameters. Inversion also makes every draw a
//! monotone function of its uniform, so percentile bands and one-at-a-time
//! sensitivities are well defined.

use crate::sample::{normal_cdf, normal_quantile};
use statrs::function::beta::inv_beta_reg;

/// A marginal distribution, validated at construction. Field names are
/// the scenario keys of the same name.
#[allow(missing_docs)]
#[derive(Clone, Debug, PartialEq)]
pub enum Dist {
    /// A known value.
    Fixed(f64),
    /// Uniform on `[min, max]`.
    Uniform { min: f64, max: f64 },
    /// Normal, optionally truncated to `[min, max]` (infinite when absent).
    Normal {
        mean: f64,
        sd: f64,
        min: f64,
        max: f64,
    },
    /// Lognormal: `exp(mu + sigma * z)`.
    LogNormal { mu: f64, sigma: f64 },
    /// Beta(alpha, beta) rescaled to `[min, max]`.
    Beta {
        alpha: f64,
        beta: f64,
        min: f64,
        max: f64,
    },
    /// Triangular on `[min, max]` with the given mode.
    Triangular { min: f64, mode: f64, max: f64 },
    /// PERT: a Beta with mean `(min + lambda*mode + max) / (lambda + 2)`.
    Pert {
        min: f64,
        mode: f64,
        max: f64,
        lambda: f64,
    },
}

/// A link from a parameter to a named shared factor.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FactorLink {
    /// Index into the scenario's factor list.
    pub factor: usize,
    /// Correlation of the parameter's normal score with the factor, in [-1, 1].
    pub loading: f64,
}

/// An uncertain parameter: a marginal, an optional factor link, and an
/// affine transform `shift + scale * x` of the marginal's draw `x`.
///
/// The transform is how a stress moves an uncertain parameter: "volume 30%
/// short" multiplies every draw by 0.7 (`scale`), "effect 5 points lower"
/// subtracts 0.05 (`shift`). Because it acts on the draw, each world keeps
/// its percentile: the stressed world is the baseline world, shocked.
#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    /// The marginal distribution.
    pub dist: Dist,
    /// Optional shared factor.
    pub factor: Option<FactorLink>,
    /// Multiplier on the marginal's draw (1 unless stressed).
    pub scale: f64,
    /// Added after scaling (0 unless stressed).
    pub shift: f64,
}

impl Param {
    /// A known value.
    pub fn fixed(v: f64) -> Self {
        Param::new(Dist::Fixed(v), None)
    }

    /// A parameter with no transform.
    pub fn new(dist: Dist, factor: Option<FactorLink>) -> Self {
        Param {
            dist,
            factor,
            scale: 1.0,
            shift: 0.0,
        }
    }

    /// Whether the value is uncertain.
    pub fn is_uncertain(&self) -> bool {
        !matches!(self.dist, Dist::Fixed(_))
    }

    /// The parameter's value given its own normal score `own` and the
    /// factors' normal scores.
    #[inline]
    pub fn draw(&self, own: f64, factors: &[f64]) -> f64 {
        if let Dist::Fixed(v) = self.dist {
            return self.shift + self.scale * v;
        }
        self.at_percentile(normal_cdf(self.score(own, factors)))
    }

    /// The normal score of the parameter's percentile: its own score mixed
    /// with its factor's.
    #[inline]
    pub fn score(&self, own: f64, factors: &[f64]) -> f64 {
        match self.factor {
            Some(link) => {
                let l = link.loading;
                l * factors[link.factor] + (1.0 - l * l).max(0.0).sqrt() * own
            }
            None => own,
        }
    }

    /// The value at percentile `u` of the (transformed) marginal.
    #[inline]
    pub fn at_percentile(&self, u: f64) -> f64 {
        self.shift
            + self.scale
                * self
                    .dist
                    .quantile(u.clamp(f64::MIN_POSITIVE, 1.0 - f64::EPSILON / 2.0))
    }

    /// The smallest and largest values the parameter can take.
    pub fn support(&self) -> (f64, f64) {
        let (lo, hi) = self.dist.support();
        let (a, b) = (self.shift + self.scale * lo, self.shift + self.scale * hi);
        // 0 * inf is NaN: an unbounded side scaled by zero is the shift.
        let fix = |x: f64| if x.is_nan() { self.shift } else { x };
        (fix(a.min(b)), fix(a.max(b)))
    }

    /// The mean.
    pub fn mean(&self) -> f64 {
        self.shift + self.scale * self.dist.mean()
    }

    /// A short plain-words description, for `explain`.
    pub fn describe(&self) -> String {
        let base = self.dist.describe();
        match (self.scale == 1.0, self.shift == 0.0) {
            (true, true) => base,
            (false, true) => format!("{} x ({base})", fmt_num(self.scale)),
            (true, false) => format!("({base}) {:+}", self.shift),
            (false, false) => format!("{} x ({base}) {:+}", fmt_num(self.scale), self.shift),
        }
    }
}

impl Dist {
    /// The quantile function at `u` in (0, 1).
    pub fn quantile(&self, u: f64) -> f64 {
        match *self {
            Dist::Fixed(v) => v,
            Dist::Uniform { min, max } => min + u * (max - min),
            Dist::Normal { mean, sd, min, max } => {
                if min == f64::NEG_INFINITY && max == f64::INFINITY {
                    return mean + sd * normal_quantile(u);
                }
                let lo = normal_cdf((min - mean) / sd);
                let hi = normal_cdf((max - mean) / sd);
                let v =
                    mean + sd * normal_quantile((lo + u * (hi - lo)).clamp(1e-300, 1.0 - 1e-16));
                v.clamp(min, max)
            }
            Dist::LogNormal { mu, sigma } => (mu + sigma * normal_quantile(u)).exp(),
            Dist::Beta {
                alpha,
                beta,
                min,
                max,
            } => min + (max - min) * inv_beta_reg(alpha, beta, u),
            Dist::Triangular { min, mode, max } => {
                let width = max - min;
                let cut = (mode - min) / width;
                if u < cut {
                    min + (u * width * (mode - min)).sqrt()
                } else {
                    max - ((1.0 - u) * width * (max - mode)).sqrt()
                }
            }
            Dist::Pert {
                min,
                mode,
                max,
                lambda,
            } => {
                let (a, b) = pert_shapes(min, mode, max, lambda);
                min + (max - min) * inv_beta_reg(a, b, u)
            }
        }
    }

    /// The smallest and largest values the distribution can take.
    pub fn support(&self) -> (f64, f64) {
        match *self {
            Dist::Fixed(v) => (v, v),
            Dist::Uniform { min, max }
            | Dist::Normal { min, max, .. }
            | Dist::Beta { min, max, .. }
            | Dist::Triangular { min, max, .. }
            | Dist::Pert { min, max, .. } => (min, max),
            Dist::LogNormal { .. } => (0.0, f64::INFINITY),
        }
    }

    /// The mean (of the truncated distribution where truncated).
    pub fn mean(&self) -> f64 {
        match *self {
            Dist::Fixed(v) => v,
            Dist::Uniform { min, max } => 0.5 * (min + max),
            Dist::Normal { mean, sd, min, max } => {
                let (a, b) = ((min - mean) / sd, (max - mean) / sd);
                let pdf = |x: f64| {
                    if x.is_infinite() {
                        0.0
                    } else {
                        (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt()
                    }
                };
                mean + sd * (pdf(a) - pdf(b)) / (normal_cdf(b) - normal_cdf(a))
            }
            Dist::LogNormal { mu, sigma } => (mu + 0.5 * sigma * sigma).exp(),
            Dist::Beta {
                alpha,
                beta,
                min,
                max,
            } => min + (max - min) * alpha / (alpha + beta),
            Dist::Triangular { min, mode, max } => (min + mode + max) / 3.0,
            Dist::Pert {
                min,
                mode,
                max,
                lambda,
            } => (min + lambda * mode + max) / (lambda + 2.0),
        }
    }

    /// A short plain-words description, for `explain`.
    pub fn describe(&self) -> String {
        match *self {
            Dist::Fixed(v) => fmt_num(v).to_string(),
            Dist::Uniform { min, max } => {
                format!("uniform between {} and {}", fmt_num(min), fmt_num(max))
            }
            Dist::Normal { mean, sd, min, max } => {
                let mut s = format!("normal, mean {}, sd {}", fmt_num(mean), fmt_num(sd));
                if min.is_finite() || max.is_finite() {
                    s += &format!(", truncated to [{}, {}]", fmt_num(min), fmt_num(max));
                }
                s
            }
            Dist::LogNormal { mu, sigma } => {
                format!(
                    "lognormal, median {}, log-sd {}",
                    fmt_num(mu.exp()),
                    fmt_num(sigma)
                )
            }
            Dist::Beta {
                alpha,
                beta,
                min,
                max,
            } => {
                format!(
                    "beta({}, {}) on [{}, {}]",
                    fmt_num(alpha),
                    fmt_num(beta),
                    fmt_num(min),
                    fmt_num(max)
                )
            }
            Dist::Triangular { min, mode, max } => {
                format!(
                    "triangular, {} to {}, most likely {}",
                    fmt_num(min),
                    fmt_num(max),
                    fmt_num(mode)
                )
            }
            Dist::Pert { min, mode, max, .. } => {
                format!(
                    "PERT, {} to {}, most likely {}",
                    fmt_num(min),
                    fmt_num(max),
                    fmt_num(mode)
                )
            }
        }
    }
}

/// Beta shape parameters of a PERT distribution.
pub fn pert_shapes(min: f64, mode: f64, max: f64, lambda: f64) -> (f64, f64) {
    let w = max - min;
    (
        1.0 + lambda * (mode - min) / w,
        1.0 + lambda * (max - mode) / w,
    )
}

fn fmt_num(v: f64) -> String {
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let s = format!("{:.4}", v);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{Purpose, stream};
    use crate::sample::open_unit;

    fn variance_by_quadrature(d: &Dist) -> (f64, f64) {
        // Mean and variance by midpoint quadrature of the quantile function:
        // an independent computation from the closed-form `mean`.
        let n = 200_000;
        let (mut s, mut s2) = (0.0, 0.0);
        for i in 0..n {
            let x = d.quantile((i as f64 + 0.5) / n as f64);
            s += x;
            s2 += x * x;
        }
        let m = s / n as f64;
        (m, s2 / n as f64 - m * m)
    }

    #[test]
    fn closed_form_means_match_quadrature() {
        let dists = [
            Dist::Uniform { min: 0.8, max: 1.2 },
            Dist::Normal {
                mean: 0.2,
                sd: 0.1,
                min: f64::NEG_INFINITY,
                max: f64::INFINITY,
            },
            Dist::Normal {
                mean: 0.1,
                sd: 0.2,
                min: 0.0,
                max: 0.5,
            },
            Dist::LogNormal {
                mu: 0.0,
                sigma: 0.25,
            },
            Dist::Beta {
                alpha: 2.0,
                beta: 5.0,
                min: 0.0,
                max: 1.0,
            },
            Dist::Triangular {
                min: 0.5,
                mode: 0.7,
                max: 1.0,
            },
            Dist::Pert {
                min: 0.9,
                mode: 1.0,
                max: 1.4,
                lambda: 4.0,
            },
        ];
        for d in &dists {
            let (m, _) = variance_by_quadrature(d);
            assert!(
                (m - d.mean()).abs() < 1e-4 * (1.0 + d.mean().abs()),
                "{d:?}: {m} vs {}",
                d.mean()
            );
        }
    }

    #[test]
    fn sampled_means_are_within_monte_carlo_error() {
        let dists = [
            Dist::Normal {
                mean: 0.1,
                sd: 0.2,
                min: 0.0,
                max: 0.5,
            },
            Dist::Beta {
                alpha: 2.0,
                beta: 5.0,
                min: 0.0,
                max: 1.0,
            },
            Dist::Pert {
                min: 0.9,
                mode: 1.0,
                max: 1.4,
                lambda: 4.0,
            },
        ];
        for (k, d) in dists.iter().enumerate() {
            let p = Param::new(d.clone(), None);
            let mut rng = stream(3, k as u64, Purpose::Parameters);
            let n = 50_000;
            let mut s = 0.0;
            for _ in 0..n {
                s += p.draw(normal_quantile(open_unit(&mut rng)), &[]);
            }
            let (_, var) = variance_by_quadrature(d);
            let se = (var / n as f64).sqrt();
            assert!((s / n as f64 - d.mean()).abs() < 5.0 * se, "{d:?}");
        }
    }

    #[test]
    fn a_full_loading_makes_parameters_comonotone() {
        let p = Param::new(
            Dist::Uniform { min: 0.0, max: 1.0 },
            Some(FactorLink {
                factor: 0,
                loading: 1.0,
            }),
        );
        let q = Param::new(
            Dist::Uniform {
                min: 10.0,
                max: 20.0,
            },
            Some(FactorLink {
                factor: 0,
                loading: -1.0,
            }),
        );
        // own scores differ; the factor alone decides both values
        let a = p.draw(1.3, &[0.5]);
        let b = q.draw(-0.7, &[0.5]);
        assert!((a - normal_cdf(0.5)).abs() < 1e-12);
        assert!((b - (10.0 + 10.0 * normal_cdf(-0.5))).abs() < 1e-9);
    }
}
