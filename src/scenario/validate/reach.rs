//! The most a validated model can count or move in one iteration, so that
//! no sum of money in integer pence can overflow.
//!
//! Every amount of money in the engine is a sum of transfers, and every
//! transfer is a price times a count (participants, months, units of
//! improvement) or a fixed amount. This module adds up, in floating point
//! and from the largest draw any uncertain parameter can take, an upper
//! bound on everything an iteration could move: every participant paid
//! every price and costing every cost for every month, every fee for every
//! month, every reserve and investment. A model whose bound exceeds
//! [`MONEY_LIMIT`] is refused, naming its largest contributions, so the
//! engine's integer sums (each at most the bound, and at most a few of
//! them added together) stay far inside `i64`.

use super::{Checker, MAX_MONTHS};
use crate::math;
use crate::model::{Comparison, Measure, Model, Pence, ReferralProcess, ReturnCap};

/// The most expected referrals in one month of one segment, after the
/// largest `volume` draw: the Poisson sampler is exact up to far beyond it.
pub const MAX_EXPECTED_REFERRALS: f64 = 1e9;

/// The most an iteration may move, in pence: 2^60 (about £11.5
/// quadrillion), an eighth of `i64::MAX`, so that a party's revenue plus
/// its cost, or its reserves plus its lowest cumulative flow, still fit.
pub const MONEY_LIMIT: f64 = (1u64 << 60) as f64;

/// Most events a person can have (the event distributions' last entry).
const MAX_EVENTS_PER_PERSON: f64 = 400.0;

/// The most participants a Poisson draw of mean `lambda` (or a fixed
/// count) gives: beyond `lambda + 40 sd + 1000` a Poisson tail has a
/// probability below 1e-300.
fn most_referred(lambda: f64, process: ReferralProcess) -> f64 {
    match process {
        ReferralProcess::Fixed => lambda.round(),
        ReferralProcess::Poisson => lambda + 40.0 * lambda.sqrt() + 1000.0,
    }
}

/// Checks the model's counts and money against their limits; problems go
/// to `c`.
pub fn check(c: &mut Checker, model: &Model) {
    let volume = model.volume.extremes().1;
    let cost = model.cost.extremes().1;
    let years = model.years() as f64;
    let months = (model.horizon
        + model
            .segments
            .iter()
            .map(|s| s.service_months())
            .max()
            .unwrap_or(0)) as f64;
    let mut terms: Vec<(String, f64)> = Vec::new();
    let mut referred = Vec::new();
    for seg in &model.segments {
        let k = |f: &str| format!("segments.{}.{f}", seg.id);
        let busiest = seg.referrals.iter().copied().fold(0.0, f64::max) * seg.volume;
        // NaN or infinite (a draw beyond every double) is refused too.
        if !(busiest * volume).is_finite() || busiest * volume > MAX_EXPECTED_REFERRALS {
            let (key, why) = if volume > 1.0 {
                (
                    "uncertainty.volume".to_string(),
                    format!("its largest draw ({volume:e}) times "),
                )
            } else {
                (k("referrals_per_month"), String::new())
            };
            c.err_help(
                &key,
                format!("{why}the busiest month of segment `{}` ({busiest}) is {:e} expected referrals in a month, above the limit of {MAX_EXPECTED_REFERRALS:e}", seg.id, busiest * volume),
                Some("a month's referrals are counted in whole people; keep them below a billion".into()),
            );
            return;
        }
        let people: f64 =
            seg.referrals
                .iter()
                .flat_map(|r| {
                    seg.allocation.iter().filter(|s| **s > 0.0).map(move |s| {
                        most_referred(r * seg.volume * volume * s, seg.referral_process)
                    })
                })
                .sum();
        referred.push(people);
        let most = |prices: &[Pence]| prices.iter().copied().max().unwrap_or(0) as f64;
        let t = &seg.tariff;
        let sustainment = seg.sustained().map_or(0, |o| o.max_sustainment_months) as f64;
        let per_person =
            most(&t.attachment) + most(&t.outcome) + sustainment * most(&t.sustainment);
        terms.push((k("tariff"), people * per_person));
        let costs = model.providers.iter().map(|p| {
            let fee = p.terms.as_ref().map_or(0, |t| t.fee_per_referral) as f64;
            fee + cost
                * (p.cost_per_referral as f64
                    + seg.service_months() as f64 * p.cost_per_participant_month as f64)
        });
        terms.push((k("referrals_per_month"), people * costs.fold(0.0, f64::max)));
    }
    let everyone: f64 = referred.iter().sum();
    let pay = &model.payments;
    for (i, r) in pay.improvement.iter().enumerate() {
        // A time-in-state measure counts months in the state: at most the
        // longest follow-up (at most MAX_MONTHS) per person.
        let most_per_person = if r.measure == Measure::TimeInState {
            MAX_MONTHS as f64
        } else {
            MAX_EVENTS_PER_PERSON
        };
        let per_person = match r.comparison {
            Comparison::Simulated { .. } => most_per_person,
            Comparison::Baseline {
                value,
                drift_per_year,
            } => most_per_person.max(value * math::pow((1.0 + drift_per_year).max(1.0), years)),
        };
        let people: f64 = r.segments.iter().map(|&s| referred[s]).sum();
        // Every cohort measurement and the final one can each pay.
        let measurements = r.measurements() as f64;
        let price = r.price_per_unit.iter().copied().max().unwrap_or(0) as f64;
        terms.push((
            format!("payments.improvement[{i}].price_per_unit"),
            measurements * people * per_person * price,
        ));
    }
    for (i, r) in pay.additional_outcomes.iter().enumerate() {
        let people: f64 = r.segments.iter().map(|&s| referred[s]).sum();
        let price = r.price_per_unit.iter().copied().max().unwrap_or(0) as f64;
        terms.push((
            format!("payments.additional_outcomes[{i}].price_per_unit"),
            people * price,
        ));
    }
    let most = |prices: &[Pence]| prices.iter().copied().max().unwrap_or(0) as f64;
    terms.push((
        "payments.service_fee_per_month".into(),
        months * most(&pay.service_fee),
    ));
    if let Some(f) = &pay.fee_for_service {
        let band = f.baseline_referrals_per_year * (1.0 + f.band) * years;
        terms.push((
            "payments.fee_for_service".into(),
            years * most(&f.annual_fee) + (everyone + band) * f.reconciliation_price as f64,
        ));
    }
    terms.push((
        "commissioner.own_costs_per_month".into(),
        months * model.commissioner.own_costs_per_month as f64,
    ));
    for (d, p) in model.providers.iter().enumerate() {
        let at = if p.id == "prime" {
            "prime".to_string()
        } else {
            format!("subcontractors.{}", p.id)
        };
        let monthly = cost * p.overhead_per_month as f64
            + p.terms.as_ref().map_or(0, |t| t.monthly_fee) as f64;
        terms.push((format!("{at}.overhead_per_month"), months * monthly));
        if p.fixed_cost_share > 0.0 {
            let planned: f64 = model.planned_unit_costs(d).iter().sum();
            terms.push((
                format!("{at}.fixed_cost_share"),
                cost * p.fixed_cost_share * planned,
            ));
        }
        terms.push((
            format!("{at}.reserves"),
            (p.reserves + p.credit_line + p.reprocurement_cost) as f64,
        ));
    }
    if let Some(t) = &model.termination {
        terms.push(("termination.payment".into(), t.payment as f64));
    }
    for inv in &model.investors {
        let grows = match inv.cap {
            ReturnCap::Multiple(m) => 1.0 + m,
            ReturnCap::AnnualRate(r) => 1.0 + math::pow((1.0 + r).max(1.0), years),
        };
        terms.push((
            format!("investors.{}.committed_capital", inv.id),
            inv.committed as f64 * grows,
        ));
    }
    risk_sharing_terms(model, &referred, &mut terms);
    if let Some(pool) = &model.pooled_budget {
        // Paid in, and at most as much again back out to the bodies.
        terms.push((
            "pooled_budget.contribution_per_year".into(),
            2.0 * (pool.upfront as f64 + pool.per_year as f64 * years),
        ));
    }
    terms.extend(super::instruments::reach_terms(model, years));
    let total: f64 = terms.iter().map(|t| t.1).sum();
    if !total.is_finite() || total > MONEY_LIMIT {
        terms.sort_by(|a, b| b.1.total_cmp(&a.1));
        let largest: Vec<String> = terms
            .iter()
            .take(3)
            .filter(|t| t.1 > 0.0)
            .map(|(k, v)| format!("{k} ({:.3e})", v / 100.0))
            .collect();
        c.err_help(
            &terms[0].0,
            format!(
                "an iteration could move {:.3e} in money, more than the limit of {:.3e} that sums in whole pence can hold; the largest contributions: {}",
                total / 100.0,
                MONEY_LIMIT / 100.0,
                largest.join(", ")
            ),
            Some("lower these amounts or counts (or the largest draws of uncertain multipliers)".into()),
        );
    }
}

/// Payment floors pay at most the floor for every referral; a corridor's
/// settlements are shares of deviations of a measure from its target, and
/// over all periods the measure moves at most twice everything else (a
/// margin counts revenue and cost), so each corridor adds at most twice
/// what came before it plus a target per settlement.
fn risk_sharing_terms(model: &Model, referred: &[f64], terms: &mut Vec<(String, f64)>) {
    let rs = &model.risk_sharing;
    for ((seg, floor), people) in model.segments.iter().zip(&rs.floors).zip(referred) {
        if let Some(f) = floor {
            terms.push((
                format!("segments.{}.floor_per_referral", seg.id),
                people * *f as f64,
            ));
        }
    }
    for (i, corridor) in rs.corridors.iter().enumerate() {
        let before: f64 = terms.iter().map(|t| t.1).sum();
        let periods = match corridor.settle {
            crate::model::Settle::Yearly => model.years() as f64,
            crate::model::Settle::End => 1.0,
        };
        terms.push((
            format!("corridors[{i}].target"),
            2.0 * before + periods * corridor.target as f64,
        ));
    }
}
