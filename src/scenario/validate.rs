//! Raw scenario to [`Model`]: every range, sum and cross-reference checked,
//! every problem reported (not just the first), each with its key path.

use super::defaults;
use super::raw::*;
use crate::error::suggest;
use crate::model::*;
use crate::param::{Dist, FactorLink, Param};

/// A problem: key path, message, optional help.
pub type Problem = (String, String, Option<String>);

/// Checks a raw scenario and builds the model.
pub fn validate(raw: &RawScenario) -> Result<Model, Vec<Problem>> {
    let mut c = Checker::default();
    let horizon = raw.time.horizon_months as usize;
    let referral_months = raw.time.referral_months as usize;
    if horizon == 0 || horizon > 1200 {
        c.err(
            "time.horizon_months",
            format!("must be between 1 and 1200 months, got {horizon}"),
        );
    }
    if referral_months == 0 || referral_months > horizon {
        c.err(
            "time.referral_months",
            format!("must be between 1 and horizon_months ({horizon}), got {referral_months}"),
        );
    }
    let years = horizon.max(1).div_ceil(12);

    // Shared factors and uncertain parameters.
    let factors = raw.uncertainty.factors.clone();
    for (i, f) in factors.iter().enumerate() {
        if factors[..i].contains(f) {
            c.err(
                &format!("uncertainty.factors[{i}]"),
                format!("factor `{f}` is listed twice"),
            );
        }
    }
    let u = &raw.uncertainty;
    let nonneg = (0.0, f64::INFINITY);
    let volume = c.param_or(
        "uncertainty.volume",
        u.volume.as_ref(),
        defaults::VOLUME,
        nonneg,
        &factors,
    );
    let cost = c.param_or(
        "uncertainty.cost",
        u.cost.as_ref(),
        defaults::COST,
        nonneg,
        &factors,
    );
    let effect_range = (-1.0, f64::INFINITY);
    let shared_effect = c.param_or(
        "uncertainty.effect",
        u.effect.as_ref(),
        defaults::EFFECT,
        effect_range,
        &factors,
    );
    let macro_params: Vec<Param> = match (&u.macro_, &u.macro_by_year) {
        (Some(_), Some(_)) => {
            c.err(
                "uncertainty.macro_by_year",
                "give either `macro` or `macro_by_year`, not both".into(),
            );
            vec![Param::fixed(1.0)]
        }
        (_, Some(list)) if list.is_empty() => {
            c.err(
                "uncertainty.macro_by_year",
                "must list at least one year".into(),
            );
            vec![Param::fixed(1.0)]
        }
        (_, Some(list)) => list
            .iter()
            .enumerate()
            .map(|(i, p)| {
                c.param(
                    &format!("uncertainty.macro_by_year[{i}]"),
                    p,
                    nonneg,
                    &factors,
                )
            })
            .collect(),
        (m, None) => vec![c.param_or(
            "uncertainty.macro",
            m.as_ref(),
            defaults::MACRO,
            nonneg,
            &factors,
        )],
    };
    let macro_of_year = (0..years).map(|y| y.min(macro_params.len() - 1)).collect();

    // Parties.
    let p = &raw.prime;
    let mut providers = vec![Provider {
        id: "prime".into(),
        label: p.label.clone().unwrap_or_else(|| "Prime".into()),
        reserves: c.money("prime.reserves", p.reserves),
        credit_line: c.money("prime.credit_line", p.credit_line),
        cost_per_referral: c.money("prime.cost_per_referral", p.cost_per_referral),
        cost_per_participant_month: c.money(
            "prime.cost_per_participant_month",
            p.cost_per_participant_month,
        ),
        overhead_per_month: c.money("prime.overhead_per_month", p.overhead_per_month),
        overhead_months: p.overhead_months.map_or(usize::MAX, |m| m as usize),
        reprocurement_cost: c.money("prime.reprocurement_cost", p.reprocurement_cost),
        terms: None,
    }];
    for (id, s) in &raw.subcontractors {
        let k = |f: &str| format!("subcontractors.{id}.{f}");
        if RESERVED_IDS.contains(&id.as_str()) {
            c.err(&format!("subcontractors.{id}"), format!("`{id}` is reserved (it names a party or figure group in the outputs); choose another id"));
        }
        let on_failure = match s.on_failure.as_deref() {
            None | Some("transfer") => OnFailure::Transfer,
            Some("lose_service") => OnFailure::LoseService,
            Some(other) => {
                c.err_help(
                    &k("on_failure"),
                    format!("must be \"transfer\" or \"lose_service\", got \"{other}\""),
                    suggest(other, &["transfer", "lose_service"]),
                );
                OnFailure::Transfer
            }
        };
        providers.push(Provider {
            id: id.clone(),
            label: s.label.clone().unwrap_or_else(|| id.clone()),
            reserves: c.money(&k("reserves"), s.reserves),
            credit_line: c.money(&k("credit_line"), s.credit_line),
            cost_per_referral: c.money(&k("cost_per_referral"), s.cost_per_referral),
            cost_per_participant_month: c.money(
                &k("cost_per_participant_month"),
                s.cost_per_participant_month,
            ),
            overhead_per_month: c.money(&k("overhead_per_month"), s.overhead_per_month),
            overhead_months: s.overhead_months.map_or(usize::MAX, |m| m as usize),
            reprocurement_cost: c.money(&k("reprocurement_cost"), s.reprocurement_cost),
            terms: Some(SubcontractTerms {
                fee_per_referral: c.money(&k("fee_per_referral"), s.fee_per_referral),
                pass_through: c.prob(&k("pass_through"), s.pass_through),
                monthly_fee: c.money(&k("monthly_fee"), s.monthly_fee),
                management_fee: c.prob(&k("management_fee"), s.management_fee),
                on_failure,
            }),
        });
    }
    let provider_ids: Vec<&str> = providers.iter().map(|p| p.id.as_str()).collect();

    // Payment terms.
    let pay = &raw.payments;
    let price_discount = pay.price_discount;
    if !(0.0..1.0).contains(&price_discount) {
        c.err(
            "payments.price_discount",
            format!("must be a fraction in [0, 1), got {price_discount} (a 6% discount is 0.06)"),
        );
    }
    let price_year = match pay.price_year.as_deref() {
        None | Some("referral") => PriceYear::Referral,
        Some("event") => PriceYear::Event,
        Some(other) => {
            c.err_help(
                "payments.price_year",
                format!("must be \"referral\" or \"event\", got \"{other}\""),
                suggest(other, &["referral", "event"]),
            );
            PriceYear::Referral
        }
    };

    // Segments.
    if raw.segments.is_empty() {
        c.err("segments", "at least one segment is required".into());
    }
    let mut segments = Vec::new();
    let mut max_window = 0;
    for (id, s) in &raw.segments {
        let k = |f: &str| format!("segments.{id}.{f}");
        let referrals = match &s.referrals_per_month {
            NumOrList::One(v) => vec![*v; referral_months],
            NumOrList::Many(list) => {
                if list.len() != referral_months {
                    c.err(&k("referrals_per_month"), format!("a monthly profile needs one value per referral month ({referral_months}), got {}", list.len()));
                }
                let mut l = list.clone();
                l.resize(referral_months, 0.0);
                l
            }
        };
        for (i, v) in referrals.iter().enumerate() {
            if !(v.is_finite() && *v >= 0.0) {
                c.err(
                    &k("referrals_per_month"),
                    format!("expected referrals must be non-negative, got {v} in month {i}"),
                );
                break;
            }
        }
        let referral_process = match s.referral_process.as_deref() {
            None | Some("poisson") => ReferralProcess::Poisson,
            Some("fixed") => ReferralProcess::Fixed,
            Some(other) => {
                c.err_help(
                    &k("referral_process"),
                    format!("must be \"poisson\" or \"fixed\", got \"{other}\""),
                    suggest(other, &["poisson", "fixed"]),
                );
                ReferralProcess::Poisson
            }
        };
        let adverse = s.adverse_events.is_some();
        // An effect raises a hazard (h (1 + effect) >= 0) or reduces an
        // event rate (rate (1 - effect) >= 0).
        let own_range = if adverse {
            (f64::NEG_INFINITY, 1.0)
        } else {
            effect_range
        };
        let effect = s
            .effect
            .as_ref()
            .map(|e| c.param(&k("effect"), e, own_range, &factors));
        if adverse && s.effect.is_none() && model_effect_hi(&shared_effect) > 1.0 {
            c.err_help(&k("effect"), "the shared effect can exceed 1, which would make this segment's event rate negative".into(), Some("give this segment its own effect, at most 1".into()));
        }
        let outcome = match (&s.sustained, &s.adverse_events) {
            (Some(_), Some(_)) => {
                c.err(
                    &format!("segments.{id}"),
                    "give one outcome process: `sustained` or `adverse_events`, not both".into(),
                );
                OutcomeProcess::Sustained(Sustained {
                    baseline_hazard: 0.0,
                    window: 1,
                    qualifying_months: 1,
                    dropout: 0.0,
                    max_sustainment_months: 0,
                })
            }
            (None, Some(a)) => {
                let ka = |f: &str| format!("segments.{id}.adverse_events.{f}");
                if !(a.rate.is_finite() && (0.0..=100.0).contains(&a.rate)) {
                    c.err(&ka("rate"), format!("expected events per person over the follow-up must be between 0 and 100, got {}", a.rate));
                }
                if a.follow_up_months == 0 {
                    c.err(&ka("follow_up_months"), "must be at least 1 month".into());
                }
                if let Some(k) = a.frailty_shape
                    && !(k.is_finite() && k > 0.0)
                {
                    c.err_help(
                        &ka("frailty_shape"),
                        format!("a gamma shape must be positive, got {k}"),
                        Some("leave it out for no frailty".into()),
                    );
                }
                let service = a.service_months.unwrap_or(a.follow_up_months).max(1) as usize;
                if a.service_months == Some(0) {
                    c.err(&ka("service_months"), "must be at least 1 month".into());
                }
                max_window = max_window.max(service);
                OutcomeProcess::AdverseEvents(AdverseEvents {
                    rate: a.rate,
                    follow_up: a.follow_up_months.max(1) as usize,
                    frailty_shape: a.frailty_shape,
                    service_months: service,
                })
            }
            (Some(o), None) => {
                let ks = |f: &str| format!("segments.{id}.sustained.{f}");
                if !(o.baseline_hazard.is_finite() && o.baseline_hazard >= 0.0) {
                    c.err(
                        &ks("baseline_hazard"),
                        format!(
                            "a monthly hazard must be non-negative, got {}",
                            o.baseline_hazard
                        ),
                    );
                }
                if o.window_months == 0 {
                    c.err(&ks("window_months"), "must be at least 1 month".into());
                }
                if o.qualifying_months == 0 {
                    c.err(
                        &ks("qualifying_months"),
                        "must be at least 1 month (1 = the outcome is the first month in outcome)"
                            .into(),
                    );
                }
                let dropout = c.prob(&ks("dropout"), o.dropout);
                max_window = max_window.max(o.window_months as usize);
                OutcomeProcess::Sustained(Sustained {
                    baseline_hazard: o.baseline_hazard,
                    window: o.window_months as usize,
                    qualifying_months: o.qualifying_months.max(1) as usize,
                    dropout,
                    max_sustainment_months: o.max_sustainment_months as usize,
                })
            }
            (None, None) => {
                c.err_help(&format!("segments.{id}"), "missing the outcome process table".into(), Some(format!("add [segments.{id}.sustained] (a sustained outcome) or [segments.{id}.adverse_events] (counted adverse events)")));
                OutcomeProcess::Sustained(Sustained {
                    baseline_hazard: 0.0,
                    window: 1,
                    qualifying_months: 1,
                    dropout: 0.0,
                    max_sustainment_months: 0,
                })
            }
        };
        let t = &s.tariff;
        let mut prices = |name: &str, v: &Option<NumOrList>| {
            c.prices(
                &k(&format!("tariff.{name}")),
                v.as_ref(),
                years,
                price_discount,
            )
        };
        let tariff = Tariff {
            attachment: prices("attachment", &t.attachment),
            outcome: prices("outcome", &t.outcome),
            sustainment: prices("sustainment", &t.sustainment),
            cap_per_participant: t
                .cap_per_participant
                .map(|v| c.money(&k("tariff.cap_per_participant"), v)),
        };
        if tariff.cap_per_participant.is_some() && price_year == PriceYear::Event {
            c.err(&k("tariff.cap_per_participant"), "a per-participant cap needs prices by referral year (payments.price_year = \"referral\")".into());
        }
        let mut allocation = vec![0.0; providers.len()];
        for (who, share) in &s.allocation {
            match provider_ids.iter().position(|p| p == who) {
                Some(i) => allocation[i] = c.prob(&k(&format!("allocation.{who}")), *share),
                None => c.err_help(
                    &k(&format!("allocation.{who}")),
                    format!("`{who}` is not a provider (the prime or a subcontractor)"),
                    suggest(who, &provider_ids),
                ),
            }
        }
        let total: f64 = allocation.iter().sum();
        if (total - 1.0).abs() > 1e-9 {
            c.err_help(
                &k("allocation"),
                format!(
                    "allocation shares must sum to 1, got {}",
                    (total * 1e9).round() / 1e9
                ),
                Some(
                    "list every provider's share of this segment's referrals, the prime included"
                        .into(),
                ),
            );
        }
        segments.push(Segment {
            id: id.clone(),
            label: s.label.clone().unwrap_or_else(|| id.clone()),
            referrals,
            referral_process,
            effect,
            savings_per_outcome_month: c
                .money(&k("savings_per_outcome_month"), s.savings_per_outcome_month),
            savings_months: s.savings_months.map_or(
                match &outcome {
                    OutcomeProcess::Sustained(o) => o.qualifying_months + o.max_sustainment_months,
                    OutcomeProcess::AdverseEvents(_) => 0,
                },
                |m| m as usize,
            ),
            savings_per_event_avoided: c
                .money(&k("savings_per_event_avoided"), s.savings_per_event_avoided),
            outcome,
            tariff,
            allocation,
        });
    }
    let delivery_months = (referral_months + max_window)
        .saturating_sub(1)
        .clamp(1, horizon.max(1));
    // Overheads run while anyone is in the programme unless the party says otherwise.
    for (pr, months) in providers.iter_mut().zip(
        std::iter::once(&raw.prime.overhead_months)
            .chain(raw.subcontractors.values().map(|s| &s.overhead_months)),
    ) {
        pr.overhead_months = months.map_or(delivery_months, |m| (m as usize).min(horizon));
    }

    let improvement = improvement_rules(
        &mut c,
        &pay.improvement,
        &segments,
        referral_months,
        years,
        price_discount,
    );
    let additional_outcomes = pay
        .additional_outcomes
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let k = |f: &str| format!("payments.additional_outcomes[{i}].{f}");
            let sustained: Vec<&str> = segments.iter().filter(|s| s.sustained().is_some()).map(|s| s.id.as_str()).collect();
            let names: Vec<String> = r.segments.clone().unwrap_or_else(|| sustained.iter().map(|s| s.to_string()).collect());
            let measured: Vec<usize> = names
                .iter()
                .enumerate()
                .filter_map(|(j, name)| match segments.iter().position(|s| &s.id == name) {
                    Some(s) if segments[s].sustained().is_some() => Some(s),
                    Some(_) => {
                        c.err(&format!("{}[{j}]", k("segments")), format!("segment `{name}` counts adverse events; additional outcomes count sustained outcomes"));
                        None
                    }
                    None => {
                        let ids: Vec<&str> = segments.iter().map(|s| s.id.as_str()).collect();
                        c.err_help(&format!("{}[{j}]", k("segments")), format!("`{name}` is not a segment"), suggest(name, &ids));
                        None
                    }
                })
                .collect();
            if pay.additional_outcomes[..i].iter().any(|o| o.label == r.label) {
                c.err(&k("label"), format!("rule label `{}` is used twice", r.label));
            }
            check_label(&mut c, &k("label"), &r.label);
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
                c.err(&k("baseline"), "baseline counts must be non-negative".into());
            }
            AdditionalOutcomes {
                label: r.label.clone(),
                segments: measured,
                baseline: (0..years).map(|y| baseline[y.min(baseline.len() - 1)]).collect(),
                rolling: r.rolling,
                price_per_unit: c.prices(&k("price_per_unit"), Some(&r.price_per_unit), years, price_discount),
                lag: r.lag_months as usize,
            }
        })
        .collect();
    let cap = |c: &mut Checker, key: &str, v: Option<f64>| v.map(|v| c.money(key, v));
    let payments = PaymentTerms {
        price_discount,
        price_year,
        service_fee: c.prices(
            "payments.service_fee_per_month",
            pay.service_fee_per_month.as_ref(),
            years,
            0.0,
        ),
        service_fee_months: pay
            .service_fee_months
            .map_or(delivery_months, |m| (m as usize).min(horizon)),
        lags: Lags {
            attachment: pay.lag_months.attachment as usize,
            outcome: pay.lag_months.outcome as usize,
            sustainment: pay.lag_months.sustainment as usize,
            service_fee: pay.lag_months.service_fee as usize,
        },
        cap_per_year: cap(&mut c, "payments.cap_per_year", pay.cap_per_year),
        cap_total: cap(&mut c, "payments.cap_total", pay.cap_total),
        improvement,
        additional_outcomes,
        fee_for_service: pay.fee_for_service.as_ref().map(|f| {
            if !(f.baseline_referrals_per_year.is_finite() && f.baseline_referrals_per_year > 0.0) {
                c.err(
                    "payments.fee_for_service.baseline_referrals_per_year",
                    format!("must be positive, got {}", f.baseline_referrals_per_year),
                );
            }
            FeeForService {
                annual_fee: c.prices(
                    "payments.fee_for_service.annual_fee",
                    Some(&f.annual_fee),
                    years,
                    0.0,
                ),
                baseline_referrals_per_year: f.baseline_referrals_per_year,
                band: c.prob("payments.fee_for_service.band", f.band),
                reconciliation_price: c.money(
                    "payments.fee_for_service.reconciliation_price_per_referral",
                    f.reconciliation_price_per_referral,
                ),
                lag: f.lag_months as usize,
            }
        }),
    };
    let cm = &raw.commissioner;
    if !(cm.discount_rate.is_finite() && cm.discount_rate > -1.0 && cm.discount_rate < 1.0) {
        c.err(
            "commissioner.discount_rate",
            format!(
                "an annual rate such as 0.035 is expected, got {}",
                cm.discount_rate
            ),
        );
    }
    let commissioner = Commissioner {
        label: cm.label.clone(),
        discount_rate: cm.discount_rate,
        own_costs_per_month: c.money("commissioner.own_costs_per_month", cm.own_costs_per_month),
    };
    let co_funder = raw.co_funder.as_ref().map(|f| CoFunder {
        label: f.label.clone(),
        share: c.prob("co_funder.share", f.share),
    });
    let provider_ids: Vec<&str> = providers.iter().map(|p| p.id.as_str()).collect();
    let mut investors = Vec::new();
    for (id, inv) in &raw.investors {
        let k = |f: &str| format!("investors.{id}.{f}");
        let used: Vec<&str> = providers
            .iter()
            .map(|p| p.id.as_str())
            .chain(
                raw.investors
                    .keys()
                    .take(investors.len())
                    .map(|s| s.as_str()),
            )
            .collect();
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
        let cap = match (inv.return_cap_multiple, inv.return_cap_annual_rate) {
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
        };
        investors.push(Investor {
            id: id.clone(),
            label: inv.label.clone().unwrap_or_else(|| id.clone()),
            funds,
            committed: c.money(&k("committed_capital"), inv.committed_capital),
            cap,
            excess_share: c.prob(&k("excess_share"), inv.excess_share),
        });
    }

    if !c.problems.is_empty() {
        return Err(c.problems);
    }
    Ok(Model {
        name: raw.name.clone(),
        description: raw.description.clone(),
        currency: raw.currency.clone(),
        horizon,
        referral_months,
        delivery_months,
        factors,
        volume,
        macro_by_year_given: u.macro_by_year.is_some(),
        macro_params,
        macro_of_year,
        cost,
        shared_effect,
        segments,
        payments,
        commissioner,
        co_funder,
        providers,
        investors,
    })
}

/// Checks `[[payments.improvement]]` rules and resolves their references.
fn improvement_rules(
    c: &mut Checker,
    raw: &[RawImprovement],
    segments: &[Segment],
    referral_months: usize,
    years: usize,
    discount: f64,
) -> Vec<ImprovementRule> {
    let labels: Vec<&str> = raw.iter().map(|r| r.label.as_str()).collect();
    let adverse_ids: Vec<&str> = segments
        .iter()
        .filter(|s| s.adverse_events().is_some())
        .map(|s| s.id.as_str())
        .collect();
    let mut rules: Vec<ImprovementRule> = Vec::new();
    for (i, r) in raw.iter().enumerate() {
        let k = |f: &str| format!("payments.improvement[{i}].{f}");
        if labels[..i].contains(&r.label.as_str()) {
            c.err(
                &k("label"),
                format!("rule label `{}` is used twice", r.label),
            );
        }
        check_label(c, &k("label"), &r.label);
        let names: Vec<String> = r
            .segments
            .clone()
            .unwrap_or_else(|| adverse_ids.iter().map(|s| s.to_string()).collect());
        if names.is_empty() {
            c.err_help(&k("segments"), "no segment to measure".into(), Some("name the segments: adverse-event segments (lower is better) or sustained-outcome segments (higher is better)".into()));
        }
        let mut measured = Vec::new();
        for (j, name) in names.iter().enumerate() {
            match segments.iter().position(|s| &s.id == name) {
                Some(s) => measured.push(s),
                None => {
                    let ids: Vec<&str> = segments.iter().map(|s| s.id.as_str()).collect();
                    c.err_help(
                        &format!("{}[{j}]", k("segments")),
                        format!("`{name}` is not a segment"),
                        suggest(name, &ids),
                    );
                }
            }
        }
        let higher_is_better = measured
            .first()
            .is_some_and(|&s| segments[s].sustained().is_some());
        if measured
            .iter()
            .any(|&s| segments[s].sustained().is_some() != higher_is_better)
        {
            c.err(&k("segments"), "a rule measures segments of one kind: all adverse events or all sustained outcomes".into());
        }
        // Months after referral by which every measured event has happened.
        let follow_up = measured
            .iter()
            .map(|&s| match &segments[s].outcome {
                OutcomeProcess::AdverseEvents(a) => a.follow_up,
                OutcomeProcess::Sustained(o) => o.window + o.qualifying_months - 1,
            })
            .max()
            .unwrap_or(1);
        let measure = match r.measure.as_str() {
            "binary" => Measure::Binary,
            "frequency" => Measure::Frequency,
            "frequency_per_person_with_event" => Measure::FrequencyPerPersonWithEvent,
            other => {
                let kinds = ["binary", "frequency", "frequency_per_person_with_event"];
                c.err_help(
                    &k("measure"),
                    format!(
                        "unknown measure \"{other}\"; expected one of {}",
                        kinds.join(", ")
                    ),
                    suggest(other, &kinds),
                );
                Measure::Binary
            }
        };
        if higher_is_better && measure != Measure::Binary {
            c.err(&k("measure"), "sustained-outcome segments are measured by \"binary\": the share of the cohort with an outcome event".into());
        }
        let rc = &r.comparison;
        let comparison = match rc.kind.as_str() {
            "simulated" => {
                let per = rc.per_participant.unwrap_or_else(|| {
                    c.err(&k("comparison.per_participant"), "a simulated comparison needs `per_participant` (comparison people per treated participant)".into());
                    1.0
                });
                if !(per.is_finite() && per > 0.0 && per <= 1000.0) {
                    c.err(
                        &k("comparison.per_participant"),
                        format!("must be in (0, 1000], got {per}"),
                    );
                }
                if rc.value.is_some() {
                    c.err(
                        &k("comparison.value"),
                        "`value` belongs to a baseline comparison".into(),
                    );
                }
                if rc.drift_per_year != 0.0 {
                    c.err(
                        &k("comparison.drift_per_year"),
                        "`drift_per_year` belongs to a baseline comparison".into(),
                    );
                }
                Comparison::Simulated {
                    per_participant: per,
                }
            }
            "baseline" => {
                let value = rc.value.unwrap_or_else(|| {
                    c.err(
                        &k("comparison.value"),
                        "a baseline comparison needs the measure's historical `value`".into(),
                    );
                    1.0
                });
                if !(value.is_finite() && value > 0.0) {
                    c.err(
                        &k("comparison.value"),
                        format!("must be positive, got {value}"),
                    );
                }
                if measure == Measure::Binary && value > 1.0 {
                    c.err(
                        &k("comparison.value"),
                        format!("a binary measure is a share in (0, 1], got {value}"),
                    );
                }
                if rc.per_participant.is_some() {
                    c.err(
                        &k("comparison.per_participant"),
                        "`per_participant` belongs to a simulated comparison".into(),
                    );
                }
                if !(rc.drift_per_year.is_finite() && rc.drift_per_year > -1.0) {
                    c.err(
                        &k("comparison.drift_per_year"),
                        format!("must be above -1, got {}", rc.drift_per_year),
                    );
                }
                Comparison::Baseline {
                    value,
                    drift_per_year: rc.drift_per_year,
                }
            }
            other => {
                c.err_help(
                    &k("comparison.kind"),
                    format!("unknown comparison \"{other}\"; expected simulated or baseline"),
                    suggest(other, &["simulated", "baseline"]),
                );
                Comparison::Simulated {
                    per_participant: 1.0,
                }
            }
        };
        let lag = r.measurement_lag_months as usize;
        let threshold = |c: &mut Checker, key: String, v: f64| {
            if !(0.0..=1.0).contains(&v) {
                c.err(
                    &key,
                    format!("a relative improvement in [0, 1] is expected (10% is 0.10), got {v}"),
                );
            }
            (v * 1e6).round() as i64
        };
        if r.cohorts.is_empty() {
            c.err(
                &k("cohorts"),
                "at least one measurement cohort is required".into(),
            );
        }
        let mut cohorts = Vec::new();
        for (j, mc) in r.cohorts.iter().enumerate() {
            let kc = format!("{}[{j}]", k("cohorts"));
            let (from, to) = (mc.from_month as usize, mc.to_month as usize);
            if from >= to || to > referral_months {
                c.err(&format!("{kc}.to_month"), format!("a cohort is referral months from_month..to_month with from_month < to_month <= referral_months ({referral_months}); got {from}..{to}"));
            }
            if j > 0 && from < r.cohorts[j - 1].to_month as usize {
                c.err(
                    &format!("{kc}.from_month"),
                    "cohorts must not overlap and must be in order".into(),
                );
            }
            let threshold_ppm = threshold(c, format!("{kc}.threshold"), mc.threshold);
            cohorts.push(MeasurementCohort {
                from,
                to,
                threshold_ppm,
                measured_in: to.max(1) - 1 + follow_up + lag,
            });
        }
        let final_threshold_ppm = r
            .final_threshold
            .map(|v| threshold(c, k("final_threshold"), v));
        let final_measured_in = cohorts.iter().map(|m| m.measured_in).max().unwrap_or(0);
        let price_per_unit = c.prices(
            &k("price_per_unit"),
            Some(&r.price_per_unit),
            years,
            discount,
        );
        let requires =
            r.requires
                .as_ref()
                .and_then(|name| match labels.iter().position(|l| l == name) {
                    Some(j) if j < i => Some(j),
                    Some(_) => {
                        c.err(
                            &k("requires"),
                            format!("`{name}` must be listed before the rule that requires it"),
                        );
                        None
                    }
                    None => {
                        c.err_help(
                            &k("requires"),
                            format!("`{name}` is not the label of an improvement rule"),
                            suggest(name, &labels),
                        );
                        None
                    }
                });
        if let Some(j) = requires {
            let hurdle: &ImprovementRule = &rules[j];
            let same = hurdle.cohorts.len() == cohorts.len()
                && hurdle.cohorts.iter().zip(&cohorts).all(
                    |(a, b): (&MeasurementCohort, &MeasurementCohort)| {
                        a.from == b.from && a.to == b.to && a.measured_in == b.measured_in
                    },
                );
            if !same {
                c.err(&k("requires"), format!("a hurdle rule must measure the same cohorts in the same months; `{}` does not", raw[j].label));
            }
            if final_threshold_ppm.is_some() && hurdle.final_threshold_ppm.is_none() {
                c.err(
                    &k("requires"),
                    format!(
                        "this rule has a final measurement but its hurdle `{}` has none to meet",
                        raw[j].label
                    ),
                );
            }
        }
        rules.push(ImprovementRule {
            label: r.label.clone(),
            segments: measured,
            higher_is_better,
            measure,
            comparison,
            cohorts,
            final_threshold_ppm,
            final_measured_in,
            price_per_unit,
            lag: r.lag_months as usize,
            requires,
        });
    }
    rules
}

/// The largest value the shared effect can take.
fn model_effect_hi(p: &Param) -> f64 {
    p.support().1
}

/// Ids that name parties or figure groups in outputs.
const RESERVED_IDS: [&str; 7] = [
    "prime",
    "commissioner",
    "co_funder",
    "draw",
    "external",
    "improvement",
    "additional",
];

/// Labels become parts of figure names: letters, digits, `_` and `-` only.
fn check_label(c: &mut Checker, key: &str, label: &str) {
    if label.is_empty()
        || !label
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == '-')
    {
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
        c.err_help(key, format!("`{label}` is not a usable label: letters, digits, `_` and `-` only (it names figures in the outputs)"), Some(format!("for example `{suggestion}`")));
    }
}

#[derive(Default)]
struct Checker {
    problems: Vec<Problem>,
}

impl Checker {
    fn err(&mut self, key: &str, msg: String) {
        self.problems.push((key.to_string(), msg, None));
    }

    fn err_help(&mut self, key: &str, msg: String, help: Option<String>) {
        self.problems.push((key.to_string(), msg, help));
    }

    fn prob(&mut self, key: &str, v: f64) -> f64 {
        if !(0.0..=1.0).contains(&v) {
            self.err(
                key,
                format!("must be a probability or share in [0, 1], got {v}"),
            );
        }
        v.clamp(0.0, 1.0)
    }

    fn money(&mut self, key: &str, v: f64) -> Pence {
        if !(v.is_finite() && (0.0..1e15).contains(&v)) {
            self.err(
                key,
                format!("must be a non-negative amount of money, got {v}"),
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
                if !(x.is_finite() && x >= 0.0) {
                    let at = if matches!(v, Some(NumOrList::Many(_))) {
                        format!("{key}[{y}]")
                    } else {
                        key.to_string()
                    };
                    self.err(&at, format!("prices must be non-negative, got {x}"));
                    return 0;
                }
                to_pence(x * (1.0 - discount))
            })
            .collect();
        (0..years).map(|y| pence[y.min(pence.len() - 1)]).collect()
    }

    fn param_or(
        &mut self,
        key: &str,
        raw: Option<&RawParam>,
        default: f64,
        range: (f64, f64),
        factors: &[String],
    ) -> Param {
        raw.map_or_else(
            || Param::fixed(default),
            |r| self.param(key, r, range, factors),
        )
    }

    fn param(&mut self, key: &str, raw: &RawParam, range: (f64, f64), factors: &[String]) -> Param {
        let param = match raw {
            RawParam::Fixed(v) => Param::fixed(*v),
            RawParam::Dist(d) => match self.dist(key, d, factors) {
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
            let help = match param.dist {
                Dist::Normal { .. } if range.0.is_finite() && lo < range.0 => {
                    Some(format!("truncate it: add min = {}", range.0))
                }
                Dist::Normal { .. } if range.1.is_finite() && hi > range.1 => {
                    Some(format!("truncate it: add max = {}", range.1))
                }
                _ => None,
            };
            self.err_help(
                key,
                format!("must be {what}, but its range is [{lo}, {hi}]"),
                help,
            );
        }
        param
    }

    fn dist(&mut self, key: &str, d: &RawDist, factors: &[String]) -> Option<Param> {
        let before = self.problems.len();
        let allowed: &[&str] = match d.dist.as_str() {
            "uniform" => &["min", "max"],
            "normal" => &["mean", "sd", "min", "max"],
            "lognormal" => &["median", "sigma", "mean", "sd"],
            "beta" => &["alpha", "beta", "min", "max"],
            "triangular" => &["min", "mode", "max"],
            "pert" => &["min", "mode", "max", "lambda"],
            other => {
                let kinds = [
                    "uniform",
                    "normal",
                    "lognormal",
                    "beta",
                    "triangular",
                    "pert",
                ];
                self.err_help(
                    &format!("{key}.dist"),
                    format!(
                        "unknown distribution \"{other}\"; expected one of {}",
                        kinds.join(", ")
                    ),
                    suggest(other, &kinds),
                );
                return None;
            }
        };
        for (name, v) in [("scale", d.scale), ("shift", d.shift)] {
            if v.is_some_and(|v| !v.is_finite()) {
                self.err(
                    &format!("{key}.{name}"),
                    format!("must be a finite number, got {}", v.unwrap_or_default()),
                );
            }
        }
        // A negative scale would turn a world's low percentile into a high
        // value, and bands and tornadoes work on percentiles.
        if let Some(scale) = d.scale.filter(|s| *s < 0.0) {
            self.err_help(&format!("{key}.scale"), format!("must be at least 0, got {scale}"), Some("a shock multiplies an uncertain parameter by a non-negative factor; use `shift` to move it down".into()));
        }
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
        for (name, v) in given {
            if let Some(v) = v {
                if !allowed.contains(&name) {
                    self.err(
                        &format!("{key}.{name}"),
                        format!(
                            "`{name}` does not apply to a {} distribution (it takes {})",
                            d.dist,
                            allowed.join(", ")
                        ),
                    );
                } else if !v.is_finite() {
                    self.err(
                        &format!("{key}.{name}"),
                        format!("must be a finite number, got {v}"),
                    );
                }
            }
        }
        let mut need = |name: &str, v: Option<f64>| -> f64 {
            v.unwrap_or_else(|| {
                self.err(
                    &format!("{key}.{name}"),
                    format!("a {} distribution needs `{name}`", d.dist),
                );
                f64::NAN
            })
        };
        let dist = match d.dist.as_str() {
            "uniform" => Dist::Uniform {
                min: need("min", d.min),
                max: need("max", d.max),
            },
            "normal" => Dist::Normal {
                mean: need("mean", d.mean),
                sd: need("sd", d.sd),
                min: d.min.unwrap_or(f64::NEG_INFINITY),
                max: d.max.unwrap_or(f64::INFINITY),
            },
            "lognormal" => match (d.median, d.sigma, d.mean, d.sd) {
                (Some(median), Some(sigma), None, None) => {
                    if median <= 0.0 {
                        self.err(
                            &format!("{key}.median"),
                            format!("must be positive, got {median}"),
                        );
                    }
                    Dist::LogNormal {
                        mu: median.ln(),
                        sigma,
                    }
                }
                (None, None, Some(mean), Some(sd)) => {
                    if mean <= 0.0 {
                        self.err(
                            &format!("{key}.mean"),
                            format!("must be positive, got {mean}"),
                        );
                    }
                    let s2 = (1.0 + (sd / mean).powi(2)).ln();
                    Dist::LogNormal {
                        mu: mean.ln() - 0.5 * s2,
                        sigma: s2.sqrt(),
                    }
                }
                _ => {
                    self.err(key, "a lognormal distribution takes either `median` and `sigma` (sd of the log) or `mean` and `sd`".into());
                    return None;
                }
            },
            "beta" => Dist::Beta {
                alpha: need("alpha", d.alpha),
                beta: need("beta", d.beta),
                min: d.min.unwrap_or(0.0),
                max: d.max.unwrap_or(1.0),
            },
            "triangular" => Dist::Triangular {
                min: need("min", d.min),
                mode: need("mode", d.mode),
                max: need("max", d.max),
            },
            _ => Dist::Pert {
                min: need("min", d.min),
                mode: need("mode", d.mode),
                max: need("max", d.max),
                lambda: d.lambda.unwrap_or(defaults::PERT_LAMBDA),
            },
        };
        if self.problems.len() > before {
            return None;
        }
        // Shape checks once every required key is present.
        let bad = |msg: &str| Some(msg.to_string());
        let problem = match dist {
            Dist::Uniform { min, max } if min >= max => bad("needs min < max"),
            Dist::Normal { sd, .. } if sd <= 0.0 => bad("needs sd > 0"),
            Dist::Normal { min, max, .. } if min >= max => bad("needs min < max"),
            Dist::Normal { mean, sd, min, max }
                if crate::sample::normal_cdf((max - mean) / sd)
                    - crate::sample::normal_cdf((min - mean) / sd)
                    < 1e-12 =>
            {
                bad(
                    "the truncation range holds almost none of the distribution; move min/max nearer the mean",
                )
            }
            Dist::LogNormal { sigma, .. } if sigma.is_nan() || sigma <= 0.0 => {
                bad("needs sigma (or sd) > 0")
            }
            Dist::Beta { alpha, beta, .. } if alpha <= 0.0 || beta <= 0.0 => {
                bad("needs alpha > 0 and beta > 0")
            }
            Dist::Beta { min, max, .. } if min >= max => bad("needs min < max"),
            Dist::Triangular { min, mode, max } | Dist::Pert { min, mode, max, .. }
                if !(min <= mode && mode <= max && min < max) =>
            {
                bad("needs min <= mode <= max and min < max")
            }
            Dist::Pert { lambda, .. } if lambda <= 0.0 => bad("needs lambda > 0"),
            _ => None,
        };
        if let Some(msg) = problem {
            self.err(key, format!("{} distribution {msg}", d.dist));
            return None;
        }
        let factor = match (&d.factor, d.loading) {
            (None, None) => None,
            (None, Some(_)) => {
                self.err(
                    &format!("{key}.loading"),
                    "`loading` needs a `factor`".into(),
                );
                None
            }
            (Some(_), None) => {
                self.err(
                    &format!("{key}.loading"),
                    "a `factor` needs a `loading` in [-1, 1] (its correlation with the factor)"
                        .into(),
                );
                None
            }
            (Some(name), Some(loading)) => {
                if !(-1.0..=1.0).contains(&loading) {
                    self.err(
                        &format!("{key}.loading"),
                        format!("must be in [-1, 1], got {loading}"),
                    );
                }
                match factors.iter().position(|f| f == name) {
                    Some(i) => Some(FactorLink { factor: i, loading }),
                    None => {
                        let names: Vec<&str> = factors.iter().map(|s| s.as_str()).collect();
                        self.err_help(
                            &format!("{key}.factor"),
                            format!("`{name}` is not a factor listed in uncertainty.factors"),
                            suggest(name, &names)
                                .or(Some("declare it: [uncertainty] factors = [\"...\"]".into())),
                        );
                        None
                    }
                }
            }
        };
        Some(Param {
            dist,
            factor,
            scale: d.scale.unwrap_or(defaults::SCALE),
            shift: d.shift.unwrap_or(defaults::SHIFT),
        })
    }
}
