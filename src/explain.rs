//! The contract in plain words: who pays whom, for what, when, and what is
//! uncertain. Printed by `pbrsim explain`.

use crate::model::*;
use crate::param::Param;
use std::fmt::Write;

fn money(p: Pence) -> String {
    let pounds = to_pounds(p);
    if pounds.fract() == 0.0 { crate::output::fmt_pounds(pounds) } else { format!("{pounds:.2}") }
}

fn param(p: &Param, factors: &[String]) -> String {
    let mut s = p.dist.describe();
    if let Some(link) = p.factor {
        let _ = write!(s, " (tied to factor `{}`, loading {})", factors[link.factor], link.loading);
    }
    s
}

fn by_year(v: &[Pence]) -> String {
    let mut last = v.len();
    while last > 1 && v[last - 1] == v[last - 2] {
        last -= 1;
    }
    if last == 1 {
        return money(v[0]);
    }
    let parts: Vec<String> = v[..last].iter().enumerate().map(|(y, p)| format!("year {}: {}", y + 1, money(*p))).collect();
    format!("{} and after", parts.join(", "))
}

/// Describes `model` in plain words.
pub fn explain(model: &Model) -> String {
    let mut o = String::new();
    let cur = &model.currency;
    let _ = writeln!(o, "{}", model.name);
    if !model.description.trim().is_empty() {
        let _ = writeln!(o, "{}", model.description.trim());
    }
    let _ = writeln!(
        o,
        "\nTime: {} months simulated; referrals in months 0-{}; participants in the programme until month {} at the latest. Amounts in {cur}.",
        model.horizon,
        model.referral_months - 1,
        model.delivery_months - 1
    );
    let prime = &model.providers[0];
    let _ = writeln!(o, "\nWho pays whom");
    let payer = match &model.co_funder {
        Some(f) => format!("{} (with {} paying {:.0}% of outcome and sustainment payments)", model.commissioner.label, f.label, 100.0 * f.share),
        None => model.commissioner.label.clone(),
    };
    let _ = writeln!(o, "- {payer} pays the prime, {}, under the tariff below{}.", prime.label, if model.payments.price_discount > 0.0 {
        format!(", after the prime's bid discount of {:.1}% on every price", 100.0 * model.payments.price_discount)
    } else {
        String::new()
    });
    if model.payments.service_fee > 0 {
        let _ = writeln!(o, "- A fixed service fee of {} a month for months 0-{}.", money(model.payments.service_fee), model.payments.service_fee_months.saturating_sub(1));
    }
    let l = model.payments.lags;
    let _ = writeln!(o, "- Payment lags (months after the event): attachment {}, outcome {}, sustainment {}, service fee {}.", l.attachment, l.outcome, l.sustainment, l.service_fee);
    if let Some(c) = model.payments.cap_per_year {
        let _ = writeln!(o, "- Payments falling due in one contract year are capped at {}.", money(c));
    }
    if let Some(c) = model.payments.cap_total {
        let _ = writeln!(o, "- All payments over the contract are capped at {}.", money(c));
    }
    for p in &model.providers[1..] {
        let t = p.terms.as_ref().expect("subcontractors have terms");
        let mut terms = vec![];
        if t.fee_per_referral > 0 {
            terms.push(format!("{} per referral", money(t.fee_per_referral)));
        }
        if t.pass_through > 0.0 {
            terms.push(format!("{:.0}% of the outcome and sustainment payments for its participants", 100.0 * t.pass_through));
        }
        if t.monthly_fee > 0 {
            terms.push(format!("{} a month", money(t.monthly_fee)));
        }
        let fee = if t.management_fee > 0.0 { format!(", less a {:.0}% management fee the prime keeps", 100.0 * t.management_fee) } else { String::new() };
        let _ = writeln!(o, "- The prime pays subcontractor {} ({}): {}{}.", p.label, p.id, if terms.is_empty() { "nothing".into() } else { terms.join(", ") }, fee);
    }

    let _ = writeln!(o, "\nWhat is paid for, by segment");
    for s in &model.segments {
        let Some(oc) = s.sustained() else {
            continue;
        };
        let total: f64 = s.referrals.iter().sum();
        let _ = writeln!(o, "- {} ({}): about {} referrals a month ({} over the contract, before the volume multiplier).", s.label, s.id, crate::output::fmt_pounds(total / s.referrals.len() as f64), crate::output::fmt_pounds(total));
        let _ = writeln!(
            o,
            "    Each is in the programme for {} months; without the programme {:.1}% a month would start an outcome (hazard {}); once in outcome {:.1}% leave each month.",
            oc.window,
            100.0 * (1.0 - (-oc.baseline_hazard).exp()),
            oc.baseline_hazard,
            100.0 * oc.dropout
        );
        let _ = writeln!(
            o,
            "    The outcome is paid after {} consecutive month(s) in outcome; then up to {} sustainment months are paid.",
            oc.qualifying_months, oc.max_sustainment_months
        );
        let t = &s.tariff;
        let _ = writeln!(o, "    Prices (after discount): attachment {}; outcome {}; sustainment {} a month.", by_year(&t.attachment), by_year(&t.outcome), by_year(&t.sustainment));
        if let Some(c) = t.cap_per_participant {
            let _ = writeln!(o, "    At most {} is paid for one participant.", money(c));
        }
        let shares: Vec<String> = s.allocation.iter().zip(&model.providers).filter(|(a, _)| **a > 0.0).map(|(a, p)| format!("{} {:.0}%", p.id, 100.0 * a)).collect();
        let _ = writeln!(o, "    Delivered by: {}.", shares.join(", "));
        if s.savings_per_outcome_month > 0 {
            let _ = writeln!(o, "    Each attributable month in outcome saves the public purse {} (up to {} months per person).", money(s.savings_per_outcome_month), s.savings_months);
        }
    }

    let _ = writeln!(o, "\nWho bears which costs");
    for p in &model.providers {
        let _ = writeln!(
            o,
            "- {} ({}): {} per referral, {} per participant-month, {} a month overhead for {} months; reserves {}, credit line {}.",
            p.label,
            p.id,
            money(p.cost_per_referral),
            money(p.cost_per_participant_month),
            money(p.overhead_per_month),
            p.overhead_months,
            money(p.reserves),
            money(p.credit_line)
        );
        let fate = match p.terms.as_ref().map(|t| t.on_failure) {
            None => "the contract ends".to_string(),
            Some(OnFailure::Transfer) => "its participants transfer to the prime".to_string(),
            Some(OnFailure::LoseService) => "its participants lose the service".to_string(),
        };
        let _ = writeln!(o, "    It fails when its cash falls below minus its credit line; then {fate}{}.", if p.reprocurement_cost > 0 { format!(" and the commissioner pays {} to re-procure", money(p.reprocurement_cost)) } else { String::new() });
    }

    let _ = writeln!(o, "\nWhat is uncertain (drawn once per iteration)");
    let f = &model.factors;
    let _ = writeln!(o, "- Volume multiplier: {}.", param(&model.volume, f));
    let _ = writeln!(o, "- Cost multiplier: {}.", param(&model.cost, f));
    if model.macro_params.len() == 1 {
        let _ = writeln!(o, "- Economy (multiplier on baseline hazards, one draw for every year): {}.", param(&model.macro_params[0], f));
    } else {
        let last = model.macro_params.len();
        for (y, p) in model.macro_params.iter().enumerate() {
            let when = if y + 1 == last { format!("contract year {} onwards", y + 1) } else { format!("contract year {}", y + 1) };
            let _ = writeln!(o, "- Economy in {when}: {}.", param(p, f));
        }
    }
    for s in &model.segments {
        let p = s.effect.as_ref().unwrap_or(&model.shared_effect);
        let shared = if s.effect.is_none() { " (shared)" } else { "" };
        let _ = writeln!(o, "- Effect on {} (uplift of the hazard){shared}: {}.", s.id, param(p, f));
    }
    if !f.is_empty() {
        let _ = writeln!(o, "- Shared factors: {}.", f.join(", "));
    }
    let _ = writeln!(o, "\nCommissioner's value: savings are discounted at {:.1}% a year.", 100.0 * model.commissioner.discount_rate);
    o
}
