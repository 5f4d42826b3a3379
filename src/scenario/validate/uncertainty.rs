//! `[uncertainty]` (shared factors, volume, cost, macro, the shared effect)
//! and every uncertain parameter wherever it appears: a number or a
//! distribution table, built through the constructors of [`crate::param`]
//! and checked against the range its key allows.

use super::choice::DistKind;
use super::{Checker, Time};
use crate::param::{Dist, DistError, FactorLink, Param};
use crate::scenario::defaults;
use crate::scenario::raw::{RawDist, RawParam, RawUncertainty};

/// Values no lower than zero.
pub const NON_NEGATIVE: (f64, f64) = (0.0, f64::INFINITY);
/// An effect: a change of at least -100%.
pub const EFFECT_RANGE: (f64, f64) = (-1.0, f64::INFINITY);

/// `[uncertainty]`, checked.
pub struct Uncertainty {
    /// Shared factor names, in order.
    pub factors: Vec<String>,
    /// Multiplier on every segment's referrals.
    pub volume: Param,
    /// Multiplier on every delivery cost.
    pub cost: Param,
    /// The effect of segments that have none of their own.
    pub shared_effect: Param,
    /// The macroeconomic multipliers: one, or one per year given.
    pub macro_params: Vec<Param>,
    /// Which of `macro_params` applies in each contract year.
    pub macro_of_year: Vec<usize>,
}

/// `[uncertainty]`.
pub fn uncertainty(c: &mut Checker, u: &RawUncertainty, time: Time) -> Uncertainty {
    let factors = u.factors.clone();
    for (i, f) in factors.iter().enumerate() {
        if factors[..i].contains(f) {
            c.err(
                &format!("uncertainty.factors[{i}]"),
                format!("factor `{f}` is listed twice"),
            );
        }
    }
    let volume = Shared {
        key: "uncertainty.volume",
        default: defaults::VOLUME,
        range: NON_NEGATIVE,
    };
    let cost = Shared {
        key: "uncertainty.cost",
        default: defaults::COST,
        range: NON_NEGATIVE,
    };
    let effect = Shared {
        key: "uncertainty.effect",
        default: defaults::EFFECT,
        range: EFFECT_RANGE,
    };
    let volume = volume.param(c, u.volume.as_ref(), &factors);
    let cost = cost.param(c, u.cost.as_ref(), &factors);
    let shared_effect = effect.param(c, u.effect.as_ref(), &factors);
    let macro_params = macro_params(c, u, &factors);
    let macro_of_year = (0..time.years)
        .map(|y| y.min(macro_params.len() - 1))
        .collect();
    Uncertainty {
        factors,
        volume,
        cost,
        shared_effect,
        macro_params,
        macro_of_year,
    }
}

/// An optional multiplier of `[uncertainty]`: its key, its value when left
/// out, the range of its values.
struct Shared {
    key: &'static str,
    default: f64,
    range: (f64, f64),
}

impl Shared {
    fn param(&self, c: &mut Checker, raw: Option<&RawParam>, factors: &[String]) -> Param {
        raw.map_or_else(
            || Param::fixed(self.default),
            |r| param(c, self.key, r, self.range, factors),
        )
    }
}

/// `macro`, or `macro_by_year` (the last year's repeating).
fn macro_params(c: &mut Checker, u: &RawUncertainty, factors: &[String]) -> Vec<Param> {
    match (&u.macro_, &u.macro_by_year) {
        (Some(_), Some(_)) => {
            c.err(
                "uncertainty.macro_by_year",
                "give either `macro` or `macro_by_year`, not both".into(),
            );
            vec![Param::fixed(defaults::MACRO)]
        }
        (_, Some(list)) if list.is_empty() => {
            c.err(
                "uncertainty.macro_by_year",
                "must list at least one year".into(),
            );
            vec![Param::fixed(defaults::MACRO)]
        }
        (_, Some(list)) => list
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let key = format!("uncertainty.macro_by_year[{i}]");
                param(c, &key, p, NON_NEGATIVE, factors)
            })
            .collect(),
        (m, None) => {
            let shared = Shared {
                key: "uncertainty.macro",
                default: defaults::MACRO,
                range: NON_NEGATIVE,
            };
            vec![shared.param(c, m.as_ref(), factors)]
        }
    }
}

/// An uncertain parameter at `key`, whose values must lie in `range`.
pub fn param(
    c: &mut Checker,
    key: &str,
    raw: &RawParam,
    range: (f64, f64),
    factors: &[String],
) -> Param {
    let param = match raw {
        RawParam::Fixed(v) => Param::fixed(*v),
        RawParam::Dist(d) => match distribution(c, key, d, factors) {
            Some(p) => p,
            None => return Param::fixed(range.0.max(0.0)),
        },
    };
    let (lo, hi) = param.support();
    if lo < range.0 || hi > range.1 || lo.is_nan() || hi.is_nan() {
        let what = match (range.0, range.1) {
            (lo, hi) if lo.is_finite() && hi.is_finite() => format!("between {lo} and {hi}"),
            (0.0, _) => "non-negative".to_string(),
            (lo, _) if lo.is_finite() => format!("at least {lo}"),
            (_, hi) => format!("at most {hi}"),
        };
        // A normal is the one distribution a bound can truncate.
        let help = if !param.dist.is_normal() {
            None
        } else if range.0.is_finite() && lo < range.0 {
            Some(format!("truncate it: add min = {}", range.0))
        } else if range.1.is_finite() && hi > range.1 {
            Some(format!("truncate it: add max = {}", range.1))
        } else {
            None
        };
        c.err_help(
            key,
            format!("must be {what}, but its range is [{lo}, {hi}]"),
            help,
        );
    }
    param
}

/// A distribution table: its kind, its keys, its marginal, its factor
/// link and its stress transform.
fn distribution(c: &mut Checker, key: &str, d: &RawDist, factors: &[String]) -> Option<Param> {
    let before = c.problems.len();
    let kind = c.choose::<DistKind>(&format!("{key}.dist"), &d.dist)?;
    transform(c, key, d);
    let dist = marginal(c, key, kind, d);
    if c.problems.len() > before {
        return None;
    }
    let dist = match dist? {
        Ok(dist) => dist,
        Err(e) => {
            match e.parameter() {
                Some(p) => c.err(&format!("{key}.{p}"), e.expected()),
                None => c.err(key, format!("{} distribution {e}", d.dist)),
            }
            return None;
        }
    };
    let factor = factor_link(c, key, d, factors);
    Some(Param {
        dist,
        factor,
        scale: d.scale.unwrap_or(defaults::SCALE),
        shift: d.shift.unwrap_or(defaults::SHIFT),
    })
}

/// `scale` and `shift`: how a stress moves the draws.
fn transform(c: &mut Checker, key: &str, d: &RawDist) {
    for (name, v) in [("scale", d.scale), ("shift", d.shift)] {
        if v.is_some_and(|v| !v.is_finite()) {
            c.err(
                &format!("{key}.{name}"),
                format!("must be a finite number, got {}", v.unwrap_or_default()),
            );
        }
    }
    // A negative scale would turn a world's low percentile into a high
    // value, and bands and tornadoes work on percentiles.
    if let Some(scale) = d.scale.filter(|s| *s < 0.0) {
        c.err_help(&format!("{key}.scale"), format!("must be at least 0, got {scale}"), Some("a shock multiplies an uncertain parameter by a non-negative factor; use `shift` to move it down".into()));
    }
}

/// The marginal from the keys `kind` takes; `None` when the keys do not
/// say which marginal (problems recorded), else the constructor's verdict.
fn marginal(
    c: &mut Checker,
    key: &str,
    kind: DistKind,
    d: &RawDist,
) -> Option<Result<Dist, DistError>> {
    let allowed = kind.keys();
    let given = [
        ("min", d.min),
        ("max", d.max),
        ("mean", d.mean),
        ("sd", d.sd),
        ("median", d.median),
        ("sigma", d.sigma),
        ("mode", d.mode),
        ("alpha", d.alpha),
        ("beta", d.beta),
        ("lambda", d.lambda),
    ];
    if d.class.is_some() && !allowed.contains(&"class") {
        c.err(
            &format!("{key}.class"),
            format!(
                "`class` does not apply to a {} distribution (it takes {})",
                d.dist,
                allowed.join(", ")
            ),
        );
    }
    for (name, v) in given {
        if v.is_some() && !allowed.contains(&name) {
            c.err(
                &format!("{key}.{name}"),
                format!(
                    "`{name}` does not apply to a {} distribution (it takes {})",
                    d.dist,
                    allowed.join(", ")
                ),
            );
        }
    }
    let before = c.problems.len();
    let mut need = |name: &str, v: Option<f64>| -> f64 {
        v.unwrap_or_else(|| {
            c.err(
                &format!("{key}.{name}"),
                format!("a {} distribution needs `{name}`", d.dist),
            );
            f64::NAN
        })
    };
    let dist = match kind {
        DistKind::Uniform => {
            let (min, max) = (need("min", d.min), need("max", d.max));
            Dist::uniform(min, max)
        }
        DistKind::Normal => {
            let (mean, sd) = (need("mean", d.mean), need("sd", d.sd));
            Dist::normal(mean, sd, d.min, d.max)
        }
        DistKind::LogNormal => match (d.median, d.sigma, d.mean, d.sd) {
            (Some(median), Some(sigma), None, None) => Dist::lognormal(median, sigma),
            (None, None, Some(mean), Some(sd)) => Dist::lognormal_with_mean(mean, sd),
            _ => {
                c.err(key, "a lognormal distribution takes either `median` and `sigma` (sd of the log) or `mean` and `sd`".into());
                return None;
            }
        },
        DistKind::Beta => {
            let (alpha, beta) = (need("alpha", d.alpha), need("beta", d.beta));
            Dist::beta(alpha, beta, d.min.unwrap_or(0.0), d.max.unwrap_or(1.0))
        }
        DistKind::Triangular => {
            let (min, mode, max) = (need("min", d.min), need("mode", d.mode), need("max", d.max));
            Dist::triangular(min, mode, max)
        }
        DistKind::Pert => {
            let (min, mode, max) = (need("min", d.min), need("mode", d.mode), need("max", d.max));
            let lambda = d.lambda.unwrap_or(defaults::PERT_LAMBDA);
            Dist::pert(min, mode, max, lambda)
        }
        DistKind::ReferenceClass => {
            let names: Vec<&str> = crate::backtest::plan::NAMED
                .iter()
                .map(|(n, _)| *n)
                .collect();
            let Some(name) = &d.class else {
                c.err(&format!("{key}.class"), format!("a reference_class distribution needs `class`, the name of a shipped class: {}", names.join(", ")));
                return None;
            };
            let Some(class) = crate::backtest::plan::ClassFile::named(name) else {
                c.err_help(
                    &format!("{key}.class"),
                    format!(
                        "unknown reference class \"{name}\"; the shipped classes are {}",
                        names.join(", ")
                    ),
                    crate::error::suggest(name, &names),
                );
                return None;
            };
            let (median, sigma) = class.ratio();
            Dist::lognormal(median, sigma)
        }
    };
    (c.problems.len() == before).then_some(dist)
}

/// `factor` and `loading`: the parameter's tie to a shared factor.
fn factor_link(c: &mut Checker, key: &str, d: &RawDist, factors: &[String]) -> Option<FactorLink> {
    let at = |name: &str| format!("{key}.{name}");
    match (&d.factor, d.loading) {
        (None, None) => None,
        (None, Some(_)) => {
            c.err(&at("loading"), "`loading` needs a `factor`".into());
            None
        }
        (Some(_), None) => {
            c.err(
                &at("loading"),
                "a `factor` needs a `loading` in [-1, 1] (its correlation with the factor)".into(),
            );
            None
        }
        (Some(name), Some(loading)) => {
            if !(-1.0..=1.0).contains(&loading) {
                c.err(&at("loading"), format!("must be in [-1, 1], got {loading}"));
            }
            match factors.iter().position(|f| f == name) {
                Some(i) => Some(FactorLink { factor: i, loading }),
                None => {
                    let names: Vec<&str> = factors.iter().map(|s| s.as_str()).collect();
                    c.err_help(
                        &at("factor"),
                        format!("`{name}` is not a factor listed in uncertainty.factors"),
                        crate::error::suggest(name, &names)
                            .or(Some("declare it: [uncertainty] factors = [\"...\"]".into())),
                    );
                    None
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The problems (key, message) of an uncertain parameter given as a
    /// TOML value, at key `p`, allowed to be non-negative.
    fn check(value: &str, expected: &[(&str, &str)]) {
        let table: toml::Table = format!("p = {value}").parse().unwrap();
        let raw: RawParam = table["p"].clone().try_into().unwrap();
        let mut c = Checker::default();
        param(&mut c, "p", &raw, NON_NEGATIVE, &["jobs".to_string()]);
        let got: Vec<(&str, &str)> = c
            .problems
            .iter()
            .map(|p| (p.key.as_str(), p.problem.message.as_str()))
            .collect();
        assert_eq!(got, expected, "{value}");
    }

    #[test]
    fn distribution_problems_are_placed_at_their_keys() {
        check("{ dist = \"uniform\", min = 0.5, max = 1.5 }", &[]);
        check(
            "{ dist = \"uniform\", min = 1, max = 1 }",
            &[("p", "uniform distribution needs min < max")],
        );
        check(
            "{ dist = \"uniform\", min = nan, max = 1 }",
            &[("p.min", "must be a finite number, got NaN")],
        );
        check(
            "{ dist = \"uniform\", min = 0 }",
            &[("p.max", "a uniform distribution needs `max`")],
        );
        check(
            "{ dist = \"lognormal\", median = -1, sigma = 0.1 }",
            &[("p.median", "must be positive, got -1")],
        );
        check(
            "{ dist = \"normal\", mean = 1, sd = 0.5 }",
            &[("p", "must be non-negative, but its range is [-inf, inf]")],
        );
        check(
            "{ dist = \"pert\", min = 0, mode = 1, max = 2, mean = 1 }",
            &[(
                "p.mean",
                "`mean` does not apply to a pert distribution (it takes min, mode, max, lambda)",
            )],
        );
        check(
            "{ dist = \"beta\", alpha = 2, beta = 2, factor = \"job\", loading = 0.5 }",
            &[(
                "p.factor",
                "`job` is not a factor listed in uncertainty.factors",
            )],
        );
    }
}
