//! Raw scenario to [`Model`]: every range, sum and cross-reference checked,
//! every problem reported (not just the first), each with its key path.
//!
//! One module per section of the scenario file. Each section's function
//! reads its raw table and what earlier sections settled (the time frame,
//! the factors, the providers, the segments, the pricing) and returns the
//! validated part; problems go to a shared [`Checker`]. Sections come in
//! file-dependency order: time, uncertainty, parties, pricing, segments,
//! payments, then the commissioner, co-funder and investors.

mod choice;
mod improvement;
mod instruments;
mod parties;
mod payers;
mod payments;
mod reach;
mod risk_sharing;
mod segments;
mod termination;
mod uncertainty;

use super::raw::{NumOrList, RawScenario, RawTime};
use crate::error::Problem;
use crate::model::{CountMode, Model, Pence, price_pence, to_pence};
use choice::Choice;

/// A problem at a key path of the scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct KeyProblem {
    /// Dotted path of the key, e.g. `segments.jsa.sustained.dropout`.
    pub key: String,
    /// What is wrong there.
    pub problem: Problem,
}

/// The distribution given at a plain key (`key`), tied to `factors`; its
/// range is checked by validating the scenario at its extremes.
pub fn key_param(
    key: &str,
    raw: &super::raw::RawDist,
    factors: &[String],
) -> Result<crate::param::Param, Vec<KeyProblem>> {
    let mut c = Checker::default();
    let raw = super::raw::RawParam::Dist(Box::new(raw.clone()));
    let param = uncertainty::param(
        &mut c,
        key,
        &raw,
        (f64::NEG_INFINITY, f64::INFINITY),
        factors,
    );
    if c.problems.is_empty() {
        Ok(param)
    } else {
        Err(c.problems)
    }
}

/// Checks a raw scenario and builds the model.
pub fn validate(raw: &RawScenario) -> Result<Model, Vec<KeyProblem>> {
    let mut c = Checker::default();
    let time = time(&mut c, &raw.time);
    let uncertainty = uncertainty::uncertainty(&mut c, &raw.uncertainty, time);
    let mut providers = parties::providers(&mut c, &raw.prime, &raw.subcontractors);
    let pricing = payments::pricing(&mut c, &raw.payments);
    let segments = segments::segments(
        &mut c,
        &raw.segments,
        &segments::Context {
            time,
            pricing,
            uncertainty: &uncertainty,
            providers: &providers,
        },
    );
    let delivery_months = segments::delivery_months(time, &segments);
    parties::set_overhead_months(
        &mut providers,
        &raw.prime,
        &raw.subcontractors,
        time,
        delivery_months,
    );
    let payments = payments::payments(
        &mut c,
        &raw.payments,
        &payments::Context {
            time,
            pricing,
            segments: &segments,
            delivery_months,
        },
    );
    let commissioner = parties::commissioner(&mut c, &raw.commissioner);
    let counts = c.choose_or("counts", raw.counts.as_deref(), CountMode::Random);
    let co_funder = parties::co_funder(&mut c, raw.co_funder.as_ref());
    let investors = parties::investors(&mut c, &raw.investors, &providers);
    let termination = termination::termination(
        &mut c,
        raw.termination.as_ref(),
        time,
        &providers,
        &segments,
    );
    let risk_sharing =
        risk_sharing::risk_sharing(&mut c, &raw.corridors, &raw.segments, &providers);
    let pooled_budget = payers::pooled_budget(&mut c, raw.pooled_budget.as_ref());
    let payers = payers::payers(
        &mut c,
        &raw.payers,
        pooled_budget.as_ref(),
        &payers::Named {
            providers: &providers,
            investors: &investors,
            segments: &segments,
        },
    );
    if co_funder.is_some() && (!payers.is_empty() || pooled_budget.is_some()) {
        c.err(
            "co_funder",
            "a [co_funder] cannot be combined with [payers] or a [pooled_budget]; give it as a [payers.<id>] with its `rules` shares".to_string(),
        );
    }
    let instruments = instruments::instruments(&mut c, raw, time, &providers, &segments);

    if !c.problems.is_empty() {
        return Err(c.problems);
    }
    let model = Model {
        name: raw.name.clone(),
        description: raw.description.clone(),
        currency: raw.currency.clone(),
        horizon: time.horizon,
        start_month: time.start_month,
        referral_months: time.referral_months,
        delivery_months,
        factors: uncertainty.factors,
        volume: uncertainty.volume,
        macro_by_year_given: raw.uncertainty.macro_by_year.is_some(),
        macro_params: uncertainty.macro_params,
        macro_of_year: uncertainty.macro_of_year,
        cost: uncertainty.cost,
        shared_effect: uncertainty.shared_effect,
        segments,
        payments,
        commissioner,
        co_funder,
        providers,
        investors,
        payers,
        pooled_budget,
        uncertain_keys: Vec::new(),
        termination,
        counts,
        risk_sharing,
        instruments,
    };
    reach::check(&mut c, &model);
    if !c.problems.is_empty() {
        return Err(c.problems);
    }
    Ok(model)
}

/// The contract's time frame, as every later section needs it.
#[derive(Clone, Copy, Debug)]
struct Time {
    /// Months simulated.
    horizon: usize,
    /// Months in which referrals arrive.
    referral_months: usize,
    /// Contract years (per-year prices and parameters have this many).
    years: usize,
    /// The calendar month of month 0, if given.
    start_month: Option<i64>,
}

/// The most months any month count or lag may be: a hundred years, beyond
/// any contract. Every per-month buffer of an iteration is sized by a sum
/// of a few of these, so together they bound an iteration's memory.
pub const MAX_MONTHS: u32 = 1200;

/// The largest amount of money any single key may hold: a trillion in the
/// scenario's currency. Sums of amounts are held to
/// [`reach::MONEY_LIMIT`] once the model is built.
pub const MAX_AMOUNT: f64 = 1e12;

/// `[time]`. A refused value becomes a placeholder of one month, so that
/// nothing checked after it is sized by it.
fn time(c: &mut Checker, raw: &RawTime) -> Time {
    let horizon = c.months("time.horizon_months", raw.horizon_months, 1);
    let referral_months = raw.referral_months as usize;
    let referral_months = if referral_months == 0 || referral_months > horizon {
        c.err(
            "time.referral_months",
            format!("must be between 1 and horizon_months ({horizon}), got {referral_months}"),
        );
        1
    } else {
        referral_months
    };
    let start_month = raw.start_month.as_deref().and_then(|text| {
        let month = crate::backtest::payments::month(text);
        if month.is_none() {
            c.err_help(
                "time.start_month",
                format!("`{text}` is not a month"),
                Some("the calendar month of month 0, as \"YYYY-MM\", e.g. \"2019-04\"".into()),
            );
        }
        month
    });
    Time {
        horizon,
        referral_months,
        years: horizon.div_ceil(12),
        start_month,
    }
}

/// Ids that name parties or figure groups in outputs.
const RESERVED_IDS: [&str; 11] = [
    "payer",
    "pooled_budget",
    "prime",
    "contract",
    "commissioner",
    "co_funder",
    "draw",
    "external",
    "improvement",
    "additional",
    "alliance",
];

/// Collects every problem, and turns raw values into checked ones
/// (a placeholder where a value is refused, so checking carries on).
#[derive(Default)]
struct Checker {
    problems: Vec<KeyProblem>,
}

impl Checker {
    fn err(&mut self, key: &str, msg: String) {
        self.err_help(key, msg, None);
    }

    fn err_help(&mut self, key: &str, msg: String, help: Option<String>) {
        self.problems.push(KeyProblem {
            key: key.to_string(),
            problem: Problem::with_help(msg, help),
        });
    }

    /// The choice named `text` at `key`; `None` (and a problem naming the
    /// allowed values, with a "did you mean") when there is none.
    fn choose<T: Choice>(&mut self, key: &str, text: &str) -> Option<T> {
        match choice::parse(text) {
            Ok(v) => Some(v),
            Err(problem) => {
                let key = key.to_string();
                self.problems.push(KeyProblem { key, problem });
                None
            }
        }
    }

    /// As [`Checker::choose`], with `default` when the key is left out or
    /// refused.
    fn choose_or<T: Choice>(&mut self, key: &str, text: Option<&str>, default: T) -> T {
        text.and_then(|t| self.choose(key, t)).unwrap_or(default)
    }

    /// A count of months at `key`, between `min` and [`MAX_MONTHS`]; a
    /// refused count becomes `min.max(1)`, so that nothing is sized by it.
    fn months(&mut self, key: &str, v: u32, min: u32) -> usize {
        if v < min || v > MAX_MONTHS {
            self.err(
                key,
                format!("must be between {min} and {MAX_MONTHS} months, got {v}"),
            );
            return min.max(1) as usize;
        }
        v as usize
    }

    fn prob(&mut self, key: &str, v: f64) -> f64 {
        if !(0.0..=1.0).contains(&v) {
            self.err(
                key,
                format!("must be a probability or share in [0, 1], got {}", shown(v)),
            );
        }
        v.clamp(0.0, 1.0)
    }

    fn money(&mut self, key: &str, v: f64) -> Pence {
        if !(v.is_finite() && (0.0..=MAX_AMOUNT).contains(&v)) {
            self.err(
                key,
                format!(
                    "must be a non-negative amount of money, at most {MAX_AMOUNT:e}, got {}",
                    shown(v)
                ),
            );
            return 0;
        }
        to_pence(v)
    }

    /// Prices by contract year: a number for every year, or a list whose
    /// last entry repeats; discounted and rounded to the penny.
    fn prices(
        &mut self,
        key: &str,
        v: Option<&NumOrList>,
        years: usize,
        discount: f64,
    ) -> Vec<Pence> {
        let list = match v {
            None => vec![0.0],
            Some(NumOrList::One(x)) => vec![*x],
            Some(NumOrList::Many(l)) if l.is_empty() => {
                self.err(key, "a price list needs at least one year".into());
                vec![0.0]
            }
            Some(NumOrList::Many(l)) => l.clone(),
        };
        let pence: Vec<Pence> = list
            .iter()
            .enumerate()
            .map(|(y, &x)| {
                if !(x.is_finite() && (0.0..=MAX_AMOUNT).contains(&x)) {
                    let at = if matches!(v, Some(NumOrList::Many(_))) {
                        format!("{key}[{y}]")
                    } else {
                        key.to_string()
                    };
                    self.err(
                        &at,
                        format!(
                            "prices must be non-negative, at most {MAX_AMOUNT:e}, got {}",
                            shown(x)
                        ),
                    );
                    return 0;
                }
                price_pence(x, discount)
            })
            .collect();
        (0..years).map(|y| pence[y.min(pence.len() - 1)]).collect()
    }

    /// Labels become parts of figure names: letters, digits, `_` and `-`
    /// only.
    fn label(&mut self, key: &str, label: &str) {
        let usable = |ch: char| ch.is_ascii_alphanumeric() || ch == '_' || ch == '-';
        if label.is_empty() || !label.chars().all(usable) {
            let suggestion: String = label
                .chars()
                .map(|ch| {
                    if ch.is_ascii_alphanumeric() || ch == '-' {
                        ch.to_ascii_lowercase()
                    } else {
                        '_'
                    }
                })
                .collect();
            self.err_help(key, format!("`{label}` is not a usable label: letters, digits, `_` and `-` only (it names figures in the outputs)"), Some(format!("for example `{suggestion}`")));
        }
    }
}

/// A number as typed, or in scientific notation when it is huge (a refused
/// 1e308 is not shown with 309 digits).
pub(super) fn shown(x: f64) -> String {
    if x.is_finite() && x.abs() >= 1e15 {
        format!("{x:e}")
    } else {
        format!("{x}")
    }
}
