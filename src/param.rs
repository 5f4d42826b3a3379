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
//!
//! **Invariant:** a [`Dist`] comes only from its constructors, which refuse
//! parameters it cannot be drawn from with a [`DistError`] naming the
//! parameter; the scenario validator places that error at the key.

use crate::math::{self, normal_cdf, normal_pdf, normal_quantile};

/// The largest size of any parameter of a distribution: far beyond any
/// contract figure, and small enough that differences of bounds stay
/// finite.
pub const MAX_MAGNITUDE: f64 = 1e15;

/// The range of a beta's shapes (and of a PERT's implied shapes) for which
/// its quantile is computed accurately in a bounded number of steps.
pub const SHAPE_RANGE: (f64, f64) = (1e-3, 1e5);

/// A marginal distribution, valid by construction: built by [`Dist::fixed`]
/// or by a constructor that checks its parameters ([`Dist::uniform`],
/// [`Dist::normal`], ...), so drawing from it cannot fail.
#[derive(Clone, Debug, PartialEq)]
pub struct Dist {
    shape: Shape,
}

/// The distributions; parameter names are the scenario keys of the same
/// name.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Shape {
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

/// Why a distribution cannot be built from the parameters given.
#[derive(Clone, Copy, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum DistError {
    /// A parameter is NaN or infinite.
    #[error("`{parameter}` must be a finite number, got {value}")]
    NotFinite {
        /// The parameter's name.
        parameter: &'static str,
        /// What was given.
        value: f64,
    },
    /// A parameter is beyond [`MAX_MAGNITUDE`] in size.
    #[error("`{parameter}` must be at most 1e15 in size, got {value}")]
    TooLarge {
        /// The parameter's name.
        parameter: &'static str,
        /// What was given.
        value: f64,
    },
    /// A parameter that must be above zero is not.
    #[error("`{parameter}` must be positive, got {value}")]
    NotPositive {
        /// The parameter's name.
        parameter: &'static str,
        /// What was given.
        value: f64,
    },
    /// `min` is not below `max`.
    #[error("needs min < max")]
    EmptyRange,
    /// A normal's `sd` is not above zero.
    #[error("needs sd > 0")]
    Sd,
    /// A lognormal's `sigma` (or the one its `mean` and `sd` imply) is not
    /// above zero.
    #[error("needs sigma (or sd) > 0")]
    Sigma,
    /// The truncation range of a normal holds almost none of it.
    #[error(
        "the truncation range holds almost none of the distribution; move min/max nearer the mean"
    )]
    TruncatedAway,
    /// A beta's `alpha` or `beta` is not above zero.
    #[error("needs alpha > 0 and beta > 0")]
    BetaShape,
    /// A beta's shapes, or a PERT's implied ones, are outside
    /// [`SHAPE_RANGE`].
    #[error(
        "needs beta shapes between 0.001 and 100000 (for accurate quantiles), got {alpha} and {beta}"
    )]
    ShapeRange {
        /// The first shape.
        alpha: f64,
        /// The second shape.
        beta: f64,
    },
    /// The `mode` is outside `[min, max]`, or the range is empty.
    #[error("needs min <= mode <= max and min < max")]
    Mode,
    /// A PERT's `lambda` is not above zero.
    #[error("needs lambda > 0")]
    Lambda,
}

impl DistError {
    /// The parameter the error is about, when it is about one alone.
    pub fn parameter(&self) -> Option<&'static str> {
        match *self {
            DistError::NotFinite { parameter, .. }
            | DistError::NotPositive { parameter, .. }
            | DistError::TooLarge { parameter, .. } => Some(parameter),
            _ => None,
        }
    }

    /// What was expected of [`DistError::parameter`], without its name.
    pub fn expected(&self) -> String {
        match *self {
            DistError::NotFinite { value, .. } => format!("must be a finite number, got {value}"),
            DistError::NotPositive { value, .. } => format!("must be positive, got {value}"),
            DistError::TooLarge { value, .. } => {
                format!("must be at most 1e15 in size, got {value}")
            }
            other => other.to_string(),
        }
    }
}

/// Every named parameter finite and at most [`MAX_MAGNITUDE`] in size, or
/// the first that is not.
fn finite(parameters: &[(&'static str, f64)]) -> Result<(), DistError> {
    if let Some(&(parameter, value)) = parameters.iter().find(|(_, v)| !v.is_finite()) {
        return Err(DistError::NotFinite { parameter, value });
    }
    match parameters.iter().find(|(_, v)| v.abs() > MAX_MAGNITUDE) {
        Some(&(parameter, value)) => Err(DistError::TooLarge { parameter, value }),
        None => Ok(()),
    }
}

/// Beta shapes inside [`SHAPE_RANGE`].
fn check_shapes(alpha: f64, beta: f64) -> Result<(), DistError> {
    let (lo, hi) = SHAPE_RANGE;
    if (lo..=hi).contains(&alpha) && (lo..=hi).contains(&beta) {
        Ok(())
    } else {
        Err(DistError::ShapeRange { alpha, beta })
    }
}

impl Dist {
    /// A known value.
    pub fn fixed(v: f64) -> Dist {
        Dist {
            shape: Shape::Fixed(v),
        }
    }

    /// Uniform on `[min, max]`.
    pub fn uniform(min: f64, max: f64) -> Result<Dist, DistError> {
        finite(&[("min", min), ("max", max)])?;
        if min >= max {
            return Err(DistError::EmptyRange);
        }
        Ok(Dist {
            shape: Shape::Uniform { min, max },
        })
    }

    /// Normal, truncated to `[min, max]` where they are given.
    pub fn normal(
        mean: f64,
        sd: f64,
        min: Option<f64>,
        max: Option<f64>,
    ) -> Result<Dist, DistError> {
        finite(&[("mean", mean), ("sd", sd)])?;
        // A bound left out is no bound; a bound given must be a number.
        finite(&[("min", min.unwrap_or(0.0)), ("max", max.unwrap_or(0.0))])?;
        let (min, max) = (
            min.unwrap_or(f64::NEG_INFINITY),
            max.unwrap_or(f64::INFINITY),
        );
        if sd <= 0.0 {
            return Err(DistError::Sd);
        }
        if min >= max {
            return Err(DistError::EmptyRange);
        }
        if normal_cdf((max - mean) / sd) - normal_cdf((min - mean) / sd) < 1e-12 {
            return Err(DistError::TruncatedAway);
        }
        Ok(Dist {
            shape: Shape::Normal { mean, sd, min, max },
        })
    }

    /// Lognormal with the given median and sd of the log.
    pub fn lognormal(median: f64, sigma: f64) -> Result<Dist, DistError> {
        finite(&[("median", median), ("sigma", sigma)])?;
        if median <= 0.0 {
            return Err(DistError::NotPositive {
                parameter: "median",
                value: median,
            });
        }
        Dist::lognormal_of_log(math::ln(median), sigma)
    }

    /// Lognormal with the given mean and sd (of the value, not its log).
    pub fn lognormal_with_mean(mean: f64, sd: f64) -> Result<Dist, DistError> {
        finite(&[("mean", mean), ("sd", sd)])?;
        if mean <= 0.0 {
            return Err(DistError::NotPositive {
                parameter: "mean",
                value: mean,
            });
        }
        let s2 = math::ln(1.0 + math::powi(sd / mean, 2));
        Dist::lognormal_of_log(math::ln(mean) - 0.5 * s2, s2.sqrt())
    }

    fn lognormal_of_log(mu: f64, sigma: f64) -> Result<Dist, DistError> {
        if sigma.is_nan() || sigma <= 0.0 {
            return Err(DistError::Sigma);
        }
        Ok(Dist {
            shape: Shape::LogNormal { mu, sigma },
        })
    }

    /// Beta(alpha, beta) rescaled to `[min, max]`.
    pub fn beta(alpha: f64, beta: f64, min: f64, max: f64) -> Result<Dist, DistError> {
        finite(&[("alpha", alpha), ("beta", beta), ("min", min), ("max", max)])?;
        if alpha <= 0.0 || beta <= 0.0 {
            return Err(DistError::BetaShape);
        }
        if min >= max {
            return Err(DistError::EmptyRange);
        }
        check_shapes(alpha, beta)?;
        Ok(Dist {
            shape: Shape::Beta {
                alpha,
                beta,
                min,
                max,
            },
        })
    }

    /// Triangular on `[min, max]`, most likely at `mode`.
    pub fn triangular(min: f64, mode: f64, max: f64) -> Result<Dist, DistError> {
        finite(&[("min", min), ("mode", mode), ("max", max)])?;
        check_mode(min, mode, max)?;
        Ok(Dist {
            shape: Shape::Triangular { min, mode, max },
        })
    }

    /// PERT on `[min, max]`, most likely at `mode`, `lambda` the weight on
    /// the mode.
    pub fn pert(min: f64, mode: f64, max: f64, lambda: f64) -> Result<Dist, DistError> {
        finite(&[
            ("min", min),
            ("mode", mode),
            ("max", max),
            ("lambda", lambda),
        ])?;
        check_mode(min, mode, max)?;
        if lambda <= 0.0 {
            return Err(DistError::Lambda);
        }
        let (a, b) = pert_shapes(min, mode, max, lambda);
        check_shapes(a, b)?;
        Ok(Dist {
            shape: Shape::Pert {
                min,
                mode,
                max,
                lambda,
            },
        })
    }

    /// Whether it is a normal, the one distribution that truncates by `min`
    /// and `max`.
    pub fn is_normal(&self) -> bool {
        matches!(self.shape, Shape::Normal { .. })
    }
}

fn check_mode(min: f64, mode: f64, max: f64) -> Result<(), DistError> {
    if min <= mode && mode <= max && min < max {
        Ok(())
    } else {
        Err(DistError::Mode)
    }
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
        Param::new(Dist::fixed(v), None)
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
        !matches!(self.dist.shape, Shape::Fixed(_))
    }

    /// The parameter's value given its own normal score `own` and the
    /// factors' normal scores.
    #[inline]
    pub fn draw(&self, own: f64, factors: &[f64]) -> f64 {
        if let Shape::Fixed(v) = self.dist.shape {
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

    /// The smallest and largest values a draw can take: the values at the
    /// lowest and highest percentiles a draw can be at (its uniform is
    /// clamped to `[f64::MIN_POSITIVE, 1 - 2^-53]`), which are finite even
    /// where the support is not.
    pub fn extremes(&self) -> (f64, f64) {
        let (a, b) = (self.at_percentile(0.0), self.at_percentile(1.0));
        (a.min(b), a.max(b))
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
        match self.shape {
            Shape::Fixed(v) => v,
            Shape::Uniform { min, max } => min + u * (max - min),
            Shape::Normal { mean, sd, min, max } => {
                if min == f64::NEG_INFINITY && max == f64::INFINITY {
                    return mean + sd * normal_quantile(u);
                }
                let lo = normal_cdf((min - mean) / sd);
                let hi = normal_cdf((max - mean) / sd);
                let v =
                    mean + sd * normal_quantile((lo + u * (hi - lo)).clamp(1e-300, 1.0 - 1e-16));
                v.clamp(min, max)
            }
            Shape::LogNormal { mu, sigma } => math::exp(mu + sigma * normal_quantile(u)),
            Shape::Beta {
                alpha,
                beta,
                min,
                max,
            } => min + (max - min) * math::inverse_beta_reg(alpha, beta, u),
            Shape::Triangular { min, mode, max } => {
                let width = max - min;
                let cut = (mode - min) / width;
                if u < cut {
                    min + (u * width * (mode - min)).sqrt()
                } else {
                    max - ((1.0 - u) * width * (max - mode)).sqrt()
                }
            }
            Shape::Pert {
                min,
                mode,
                max,
                lambda,
            } => {
                let (a, b) = pert_shapes(min, mode, max, lambda);
                min + (max - min) * math::inverse_beta_reg(a, b, u)
            }
        }
    }

    /// The smallest and largest values the distribution can take.
    pub fn support(&self) -> (f64, f64) {
        match self.shape {
            Shape::Fixed(v) => (v, v),
            Shape::Uniform { min, max }
            | Shape::Normal { min, max, .. }
            | Shape::Beta { min, max, .. }
            | Shape::Triangular { min, max, .. }
            | Shape::Pert { min, max, .. } => (min, max),
            Shape::LogNormal { .. } => (0.0, f64::INFINITY),
        }
    }

    /// The mean (of the truncated distribution where truncated).
    pub fn mean(&self) -> f64 {
        match self.shape {
            Shape::Fixed(v) => v,
            Shape::Uniform { min, max } => 0.5 * (min + max),
            Shape::Normal { mean, sd, min, max } => {
                let (a, b) = ((min - mean) / sd, (max - mean) / sd);
                mean + sd * (normal_pdf(a) - normal_pdf(b)) / (normal_cdf(b) - normal_cdf(a))
            }
            Shape::LogNormal { mu, sigma } => math::exp(mu + 0.5 * sigma * sigma),
            Shape::Beta {
                alpha,
                beta,
                min,
                max,
            } => min + (max - min) * alpha / (alpha + beta),
            Shape::Triangular { min, mode, max } => (min + mode + max) / 3.0,
            Shape::Pert {
                min,
                mode,
                max,
                lambda,
            } => (min + lambda * mode + max) / (lambda + 2.0),
        }
    }

    /// A short plain-words description, for `explain`.
    pub fn describe(&self) -> String {
        match self.shape {
            Shape::Fixed(v) => fmt_num(v).to_string(),
            Shape::Uniform { min, max } => {
                format!("uniform between {} and {}", fmt_num(min), fmt_num(max))
            }
            Shape::Normal { mean, sd, min, max } => {
                let mut s = format!("normal, mean {}, sd {}", fmt_num(mean), fmt_num(sd));
                if min.is_finite() || max.is_finite() {
                    s += &format!(", truncated to [{}, {}]", fmt_num(min), fmt_num(max));
                }
                s
            }
            Shape::LogNormal { mu, sigma } => {
                format!(
                    "lognormal, median {}, log-sd {}",
                    fmt_num(math::exp(mu)),
                    fmt_num(sigma)
                )
            }
            Shape::Beta {
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
            Shape::Triangular { min, mode, max } => {
                format!(
                    "triangular, {} to {}, most likely {}",
                    fmt_num(min),
                    fmt_num(max),
                    fmt_num(mode)
                )
            }
            Shape::Pert { min, mode, max, .. } => {
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

pub(crate) fn fmt_num(v: f64) -> String {
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
            Dist::uniform(0.8, 1.2),
            Dist::normal(0.2, 0.1, None, None),
            Dist::normal(0.1, 0.2, Some(0.0), Some(0.5)),
            Dist::lognormal(1.0, 0.25),
            Dist::beta(2.0, 5.0, 0.0, 1.0),
            Dist::triangular(0.5, 0.7, 1.0),
            Dist::pert(0.9, 1.0, 1.4, 4.0),
        ]
        .map(Result::unwrap);
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
            Dist::normal(0.1, 0.2, Some(0.0), Some(0.5)),
            Dist::beta(2.0, 5.0, 0.0, 1.0),
            Dist::pert(0.9, 1.0, 1.4, 4.0),
        ]
        .map(Result::unwrap);
        for (k, d) in dists.iter().enumerate() {
            let p = Param::new(d.clone(), None);
            let mut rng = stream(3, k as u64, Purpose::Parameters);
            let n = 50_000;
            let mut s = 0.0;
            for _ in 0..n {
                s += p.draw(crate::sample::standard_normal(&mut rng), &[]);
            }
            let (_, var) = variance_by_quadrature(d);
            let se = (var / n as f64).sqrt();
            assert!((s / n as f64 - d.mean()).abs() < 5.0 * se, "{d:?}");
        }
    }

    #[test]
    fn constructors_refuse_what_cannot_be_drawn_from() {
        let cases = [
            (Dist::uniform(1.0, 1.0), DistError::EmptyRange),
            (
                Dist::uniform(f64::NAN, 1.0),
                DistError::NotFinite {
                    parameter: "min",
                    value: f64::NAN,
                },
            ),
            (Dist::normal(0.0, 0.0, None, None), DistError::Sd),
            (
                Dist::normal(0.0, 1.0, Some(50.0), Some(60.0)),
                DistError::TruncatedAway,
            ),
            (
                Dist::lognormal(0.0, 0.2),
                DistError::NotPositive {
                    parameter: "median",
                    value: 0.0,
                },
            ),
            (Dist::lognormal_with_mean(1.0, 0.0), DistError::Sigma),
            (Dist::beta(0.0, 1.0, 0.0, 1.0), DistError::BetaShape),
            (Dist::triangular(0.0, 2.0, 1.0), DistError::Mode),
            (Dist::pert(0.0, 0.5, 1.0, 0.0), DistError::Lambda),
            (
                Dist::pert(0.0, 0.1, 1e308, 4.0),
                DistError::TooLarge {
                    parameter: "max",
                    value: 1e308,
                },
            ),
            (
                Dist::beta(1e7, 2.0, 0.0, 1.0),
                DistError::ShapeRange {
                    alpha: 1e7,
                    beta: 2.0,
                },
            ),
            (
                Dist::pert(0.0, 0.1, 1.0, 1e9),
                DistError::ShapeRange {
                    alpha: 1.0 + 1e8,
                    beta: 1.0 + 9e8,
                },
            ),
        ];
        for (got, expected) in cases {
            let e = got.unwrap_err();
            // NaN != NaN: compare what the messages say.
            assert_eq!(e.to_string(), expected.to_string());
        }
        assert_eq!(
            Dist::lognormal(-1.0, 0.2).unwrap_err().to_string(),
            "`median` must be positive, got -1"
        );
        // An sd of either sign gives the same lognormal.
        assert!(Dist::lognormal_with_mean(1.0, -0.2).is_ok());
    }

    #[test]
    fn a_full_loading_makes_parameters_comonotone() {
        let p = Param::new(
            Dist::uniform(0.0, 1.0).unwrap(),
            Some(FactorLink {
                factor: 0,
                loading: 1.0,
            }),
        );
        let q = Param::new(
            Dist::uniform(10.0, 20.0).unwrap(),
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
