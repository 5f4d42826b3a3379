//! The parties: `[prime]` and `[subcontractors.*]` (the providers, with
//! their costs and subcontract terms), `[commissioner]`, `[co_funder]` and
//! `[investors.*]`.

use super::{Checker, RESERVED_IDS, Time};
use crate::error::suggest;
use crate::model::{
    CoFunder, Commissioner, Investor, OnFailure, Provider, ReturnCap, SubcontractTerms,
};
use crate::scenario::raw::{RawCoFunder, RawCommissioner, RawInvestor, RawPrime, RawSubcontractor};
use indexmap::IndexMap;

/// The prime, then each subcontractor in file order. Overhead months are
/// settled later, by [`set_overhead_months`], once the segments say how
/// long delivery lasts.
pub fn providers(
    c: &mut Checker,
    prime: &RawPrime,
    subcontractors: &IndexMap<String, RawSubcontractor>,
) -> Vec<Provider> {
    let mut providers = vec![provider(
        c,
        "prime",
        "prime",
        prime.label.clone().unwrap_or_else(|| "Prime".into()),
        Delivery::of_prime(prime),
    )];
    for (id, s) in subcontractors {
        let at = format!("subcontractors.{id}");
        let k = |f: &str| format!("{at}.{f}");
        if RESERVED_IDS.contains(&id.as_str()) {
            c.err(&at, format!("`{id}` is reserved (it names a party or figure group in the outputs); choose another id"));
        }
        let on_failure = c.choose_or(
            &k("on_failure"),
            s.on_failure.as_deref(),
            OnFailure::Transfer,
        );
        let label = s.label.clone().unwrap_or_else(|| id.clone());
        let mut p = provider(c, id, &at, label, Delivery::of_subcontractor(s));
        p.terms = Some(SubcontractTerms {
            fee_per_referral: c.money(&k("fee_per_referral"), s.fee_per_referral),
            pass_through: c.prob(&k("pass_through"), s.pass_through),
            monthly_fee: c.money(&k("monthly_fee"), s.monthly_fee),
            management_fee: c.prob(&k("management_fee"), s.management_fee),
            on_failure,
        });
        providers.push(p);
    }
    providers
}

/// What the prime and a subcontractor both have: money and delivery costs.
struct Delivery {
    reserves: f64,
    credit_line: f64,
    cost_per_referral: f64,
    cost_per_participant_month: f64,
    overhead_per_month: f64,
    fixed_cost_share: f64,
    capacity_notice_months: Option<u32>,
    reprocurement_cost: f64,
}

impl Delivery {
    fn of_prime(p: &RawPrime) -> Delivery {
        Delivery {
            reserves: p.reserves,
            credit_line: p.credit_line,
            cost_per_referral: p.cost_per_referral,
            cost_per_participant_month: p.cost_per_participant_month,
            overhead_per_month: p.overhead_per_month,
            fixed_cost_share: p.fixed_cost_share,
            capacity_notice_months: p.capacity_notice_months,
            reprocurement_cost: p.reprocurement_cost,
        }
    }

    fn of_subcontractor(s: &RawSubcontractor) -> Delivery {
        Delivery {
            reserves: s.reserves,
            credit_line: s.credit_line,
            cost_per_referral: s.cost_per_referral,
            cost_per_participant_month: s.cost_per_participant_month,
            overhead_per_month: s.overhead_per_month,
            fixed_cost_share: s.fixed_cost_share,
            capacity_notice_months: s.capacity_notice_months,
            reprocurement_cost: s.reprocurement_cost,
        }
    }
}

/// A provider with no subcontract terms, its amounts checked at `at.*`.
fn provider(c: &mut Checker, id: &str, at: &str, label: String, d: Delivery) -> Provider {
    let k = |f: &str| format!("{at}.{f}");
    Provider {
        id: id.to_string(),
        label,
        reserves: c.money(&k("reserves"), d.reserves),
        credit_line: c.money(&k("credit_line"), d.credit_line),
        cost_per_referral: c.money(&k("cost_per_referral"), d.cost_per_referral),
        cost_per_participant_month: c.money(
            &k("cost_per_participant_month"),
            d.cost_per_participant_month,
        ),
        overhead_per_month: c.money(&k("overhead_per_month"), d.overhead_per_month),
        overhead_months: usize::MAX,
        fixed_cost_share: c.prob(&k("fixed_cost_share"), d.fixed_cost_share),
        capacity_notice_months: d
            .capacity_notice_months
            .map(|n| c.months(&k("capacity_notice_months"), n, 0)),
        reprocurement_cost: c.money(&k("reprocurement_cost"), d.reprocurement_cost),
        terms: None,
    }
}

/// Overheads run while anyone is in the programme unless the party says
/// otherwise.
pub fn set_overhead_months(
    providers: &mut [Provider],
    prime: &RawPrime,
    subcontractors: &IndexMap<String, RawSubcontractor>,
    time: Time,
    delivery_months: usize,
) {
    let given = std::iter::once(&prime.overhead_months)
        .chain(subcontractors.values().map(|s| &s.overhead_months));
    for (p, months) in providers.iter_mut().zip(given) {
        p.overhead_months = months.map_or(delivery_months, |m| (m as usize).min(time.horizon));
    }
}

/// `[commissioner]`.
pub fn commissioner(c: &mut Checker, cm: &RawCommissioner) -> Commissioner {
    if !(cm.discount_rate.is_finite() && cm.discount_rate > -1.0 && cm.discount_rate < 1.0) {
        c.err(
            "commissioner.discount_rate",
            format!(
                "an annual rate such as 0.035 is expected, got {}",
                cm.discount_rate
            ),
        );
    }
    Commissioner {
        label: cm.label.clone(),
        discount_rate: cm.discount_rate,
        own_costs_per_month: c.money("commissioner.own_costs_per_month", cm.own_costs_per_month),
    }
}

/// `[co_funder]`.
pub fn co_funder(c: &mut Checker, f: Option<&RawCoFunder>) -> Option<CoFunder> {
    f.map(|f| CoFunder {
        label: f.label.clone(),
        share: c.prob("co_funder.share", f.share),
    })
}

/// `[investors.*]`: each funds a provider, with one kind of return cap.
pub fn investors(
    c: &mut Checker,
    raw: &IndexMap<String, RawInvestor>,
    providers: &[Provider],
) -> Vec<Investor> {
    let provider_ids: Vec<&str> = providers.iter().map(|p| p.id.as_str()).collect();
    let mut investors = Vec::new();
    for (n, (id, inv)) in raw.iter().enumerate() {
        let k = |f: &str| format!("investors.{id}.{f}");
        let earlier = raw.keys().take(n).map(|s| s.as_str());
        let used: Vec<&str> = provider_ids.iter().copied().chain(earlier).collect();
        if RESERVED_IDS.contains(&id.as_str()) || used.contains(&id.as_str()) {
            c.err(
                &format!("investors.{id}"),
                format!("`{id}` is already the id of a party; choose another id"),
            );
        }
        let funds = provider_ids
            .iter()
            .position(|p| *p == inv.funds)
            .unwrap_or_else(|| {
                c.err_help(
                    &k("funds"),
                    format!("`{}` is not a provider", inv.funds),
                    suggest(&inv.funds, &provider_ids),
                );
                0
            });
        let cap = return_cap(c, id, inv);
        investors.push(Investor {
            id: id.clone(),
            label: inv.label.clone().unwrap_or_else(|| id.clone()),
            funds,
            committed: c.money(&k("committed_capital"), inv.committed_capital),
            cap,
            excess_share: c.prob(&k("excess_share"), inv.excess_share),
        });
    }
    investors
}

/// An investor's return cap: a multiple of capital or an annual rate.
fn return_cap(c: &mut Checker, id: &str, inv: &RawInvestor) -> ReturnCap {
    let k = |f: &str| format!("investors.{id}.{f}");
    match (inv.return_cap_multiple, inv.return_cap_annual_rate) {
        (Some(m), None) => {
            if !(m.is_finite() && m >= 0.0) {
                c.err(
                    &k("return_cap_multiple"),
                    format!("must be a non-negative multiple of capital, got {m}"),
                );
            }
            ReturnCap::Multiple(m)
        }
        (None, Some(r)) => {
            if !(r.is_finite() && r > -1.0 && r < 10.0) {
                c.err(
                    &k("return_cap_annual_rate"),
                    format!("an annual rate such as 0.13 is expected, got {r}"),
                );
            }
            ReturnCap::AnnualRate(r)
        }
        _ => {
            c.err(
                &format!("investors.{id}"),
                "give exactly one of `return_cap_multiple` and `return_cap_annual_rate`".into(),
            );
            ReturnCap::Multiple(1.0)
        }
    }
}
