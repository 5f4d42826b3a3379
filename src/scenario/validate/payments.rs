//! `[payments]`: how prices are read (discount, price year), the service
//! fee, lags, caps, fee for service, and the rules paid on measured
//! results (`[[payments.improvement]]` in [`super::improvement`],
//! `[[payments.additional_outcomes]]` here).

use super::{Checker, Time, improvement};
use crate::error::suggest;
use crate::model::{
    AdditionalOutcomes, Blended, FeeForService, Lags, PaymentTerms, PriceYear, Segment,
};
use crate::scenario::raw::{NumOrList, RawAdditionalOutcomes, RawFeeForService, RawPayments};

/// How every price of the scenario is read.
#[derive(Clone, Copy, Debug)]
pub struct Pricing {
    /// Discount off every tariff price, in [0, 1).
    pub discount: f64,
    /// Which contract year selects a price.
    pub price_year: PriceYear,
}

/// `payments.price_discount` and `payments.price_year`, which the
/// segments' tariffs need.
pub fn pricing(c: &mut Checker, pay: &RawPayments) -> Pricing {
    let discount = pay.price_discount;
    if !(0.0..1.0).contains(&discount) {
        c.err(
            "payments.price_discount",
            format!("must be a fraction in [0, 1), got {discount} (a 6% discount is 0.06)"),
        );
    }
    let price_year = c.choose_or(
        "payments.price_year",
        pay.price_year.as_deref(),
        PriceYear::Referral,
    );
    Pricing {
        discount,
        price_year,
    }
}

/// What the payment rules refer to.
pub struct Context<'a> {
    pub time: Time,
    pub pricing: Pricing,
    pub segments: &'a [Segment],
    /// Months in which anyone is in the programme.
    pub delivery_months: usize,
}

/// The rest of `[payments]`.
pub fn payments(c: &mut Checker, pay: &RawPayments, cx: &Context) -> PaymentTerms {
    let Context {
        time,
        pricing,
        segments,
        delivery_months,
    } = *cx;
    let improvement = improvement::rules(c, &pay.improvement, segments, time, pricing);
    let additional_outcomes = pay
        .additional_outcomes
        .iter()
        .enumerate()
        .map(|(i, r)| additional_outcomes(c, i, &pay.additional_outcomes, r, cx))
        .collect();
    let cap = |c: &mut Checker, key: &str, v: Option<f64>| v.map(|v| c.money(key, v));
    PaymentTerms {
        price_discount: pricing.discount,
        price_year: pricing.price_year,
        service_fee: c.prices(
            "payments.service_fee_per_month",
            pay.service_fee_per_month.as_ref(),
            time.years,
            0.0,
        ),
        service_fee_months: pay
            .service_fee_months
            .map_or(delivery_months, |m| (m as usize).min(time.horizon)),
        lags: Lags {
            attachment: lag(c, "attachment", pay.lag_months.attachment),
            outcome: lag(c, "outcome", pay.lag_months.outcome),
            sustainment: lag(c, "sustainment", pay.lag_months.sustainment),
            service_fee: lag(c, "service_fee", pay.lag_months.service_fee),
        },
        cap_per_year: cap(c, "payments.cap_per_year", pay.cap_per_year),
        cap_total: cap(c, "payments.cap_total", pay.cap_total),
        improvement,
        additional_outcomes,
        fee_for_service: pay
            .fee_for_service
            .as_ref()
            .map(|f| fee_for_service(c, f, time)),
        blended: pay.blended.as_ref().map(|b| Blended {
            fee_share: fee_share(c, &b.fee_share, time.years),
            fee: Vec::new(),
            written: Vec::new(),
        }),
    }
}

/// `payments.blended.fee_share`: a share in [0, 1] for every contract year,
/// or a list whose last entry repeats.
fn fee_share(c: &mut Checker, v: &NumOrList, years: usize) -> Vec<f64> {
    const KEY: &str = "payments.blended.fee_share";
    let list = match v {
        NumOrList::One(x) => vec![c.prob(KEY, *x)],
        NumOrList::Many(l) if l.is_empty() => {
            c.err(KEY, "a list of shares needs at least one year".into());
            vec![0.0]
        }
        NumOrList::Many(l) => l
            .iter()
            .enumerate()
            .map(|(y, &x)| c.prob(&format!("{KEY}[{y}]"), x))
            .collect(),
    };
    (0..years).map(|y| list[y.min(list.len() - 1)]).collect()
}

/// `payments.lag_months.<name>`.
fn lag(c: &mut Checker, name: &str, months: u32) -> usize {
    c.months(&format!("payments.lag_months.{name}"), months, 0)
}

/// `[[payments.additional_outcomes]]` rule `i` (`all` for the labels
/// before it).
fn additional_outcomes(
    c: &mut Checker,
    i: usize,
    all: &[RawAdditionalOutcomes],
    r: &RawAdditionalOutcomes,
    cx: &Context,
) -> AdditionalOutcomes {
    let k = |f: &str| format!("payments.additional_outcomes[{i}].{f}");
    let segments = cx.segments;
    let years = cx.time.years;
    let sustained: Vec<&str> = segments
        .iter()
        .filter(|s| s.sustained().is_some())
        .map(|s| s.id.as_str())
        .collect();
    let names: Vec<String> = r
        .segments
        .clone()
        .unwrap_or_else(|| sustained.iter().map(|s| s.to_string()).collect());
    let mut measured = Vec::new();
    for (j, name) in names.iter().enumerate() {
        let at = format!("{}[{j}]", k("segments"));
        match segments.iter().position(|s| &s.id == name) {
            Some(s) if segments[s].sustained().is_some() => measured.push(s),
            Some(_) => c.err(&at, format!("segment `{name}` has no sustained outcome (it counts adverse events or time in a state); additional outcomes count sustained outcomes")),
            None => {
                let ids: Vec<&str> = segments.iter().map(|s| s.id.as_str()).collect();
                c.err_help(&at, format!("`{name}` is not a segment"), suggest(name, &ids));
            }
        }
    }
    if all[..i].iter().any(|o| o.label == r.label) {
        c.err(
            &k("label"),
            format!("rule label `{}` is used twice", r.label),
        );
    }
    c.label(&k("label"), &r.label);
    let baseline: Vec<f64> = match &r.baseline {
        None => {
            c.err(&k("baseline"), "a baseline count of outcomes per contract year is required (with `rolling = true`, year 1's)".into());
            vec![0.0]
        }
        Some(NumOrList::One(v)) => vec![*v],
        Some(NumOrList::Many(l)) if l.is_empty() => {
            c.err(&k("baseline"), "needs at least one year".into());
            vec![0.0]
        }
        Some(NumOrList::Many(l)) => l.clone(),
    };
    if baseline.iter().any(|b| !(b.is_finite() && *b >= 0.0)) {
        c.err(
            &k("baseline"),
            "baseline counts must be non-negative".into(),
        );
    }
    AdditionalOutcomes {
        label: r.label.clone(),
        segments: measured,
        baseline: (0..years)
            .map(|y| baseline[y.min(baseline.len() - 1)])
            .collect(),
        rolling: r.rolling,
        price_per_unit: c.prices(
            &k("price_per_unit"),
            Some(&r.price_per_unit),
            years,
            cx.pricing.discount,
        ),
        lag: c.months(&k("lag_months"), r.lag_months, 0),
    }
}

/// `[payments.fee_for_service]`.
fn fee_for_service(c: &mut Checker, f: &RawFeeForService, time: Time) -> FeeForService {
    let k = |f: &str| format!("payments.fee_for_service.{f}");
    if !(f.baseline_referrals_per_year.is_finite() && f.baseline_referrals_per_year > 0.0) {
        c.err(
            &k("baseline_referrals_per_year"),
            format!("must be positive, got {}", f.baseline_referrals_per_year),
        );
    }
    FeeForService {
        annual_fee: c.prices(&k("annual_fee"), Some(&f.annual_fee), time.years, 0.0),
        baseline_referrals_per_year: f.baseline_referrals_per_year,
        band: c.prob(&k("band"), f.band),
        reconciliation_price: c.money(
            &k("reconciliation_price_per_referral"),
            f.reconciliation_price_per_referral,
        ),
        lag: c.months(&k("lag_months"), f.lag_months, 0),
    }
}
