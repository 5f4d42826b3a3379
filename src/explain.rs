//! The contract in plain words: who pays whom, for what, when, and what is
//! uncertain. Printed by `pbrsim explain`.

use crate::math;
use crate::model::*;
use crate::param::{Param, fmt_num};
use std::fmt::Write;

fn money(p: Pence) -> String {
    let pounds = to_pounds(p);
    if pounds.fract() == 0.0 {
        crate::output::fmt_pounds(pounds)
    } else {
        format!("{pounds:.2}")
    }
}

fn param(p: &Param, factors: &[String]) -> String {
    let mut s = p.describe();
    if let Some(link) = p.factor {
        let _ = write!(
            s,
            " (tied to factor `{}`, loading {})",
            factors[link.factor], link.loading
        );
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
    let parts: Vec<String> = v[..last]
        .iter()
        .enumerate()
        .map(|(y, p)| format!("year {}: {}", y + 1, money(*p)))
        .collect();
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
    if let Some(start) = model.start_month {
        let month = crate::backtest::plan::month_text;
        let _ = writeln!(
            o,
            "Month 0 is {}; the last month simulated is {}.",
            month(start),
            month(start + model.horizon as i64 - 1)
        );
    }
    if model.counts.expected() {
        let _ = writeln!(
            o,
            "Counts are their expectations: referrals, entries into and stays in outcome, adverse events, months in a state and comparison groups are each the expected number rounded to a whole person (or event), with no sampling noise; only uncertain parameters vary between iterations."
        );
    }
    who_pays_whom(model, &mut o);
    paid_for_by_segment(model, &mut o);
    rules(model, &mut o);
    who_bears_costs(model, &mut o);
    if let Some(t) = &model.termination {
        explain_termination(model, t, &mut o);
    }
    explain_risk_sharing(model, &mut o);
    explain_payers(model, &mut o);
    if model.instruments.any() {
        explain_instruments(model, &mut o);
    }

    what_is_uncertain(model, &mut o);
    let _ = writeln!(
        o,
        "\nCommissioner's value: savings are discounted at {:.1}% a year.",
        100.0 * model.commissioner.discount_rate
    );
    o
}

/// Who pays whom: the commissioner, co-funder, prime and its subcontractors, fees and caps.
fn who_pays_whom(model: &Model, o: &mut String) {
    let prime = &model.providers[0];
    let _ = writeln!(o, "\nWho pays whom");
    let payer = match &model.co_funder {
        Some(f) => format!(
            "{} (with {} paying {:.0}% of outcome, sustainment and improvement payments)",
            model.commissioner.label,
            f.label,
            100.0 * f.share
        ),
        None => model.commissioner.label.clone(),
    };
    let _ = writeln!(
        o,
        "- {payer} pays the prime, {}, under the tariff below{}.",
        prime.label,
        if model.payments.price_discount > 0.0 {
            format!(
                ", after the prime's bid discount of {:.1}% on every price",
                100.0 * model.payments.price_discount
            )
        } else {
            String::new()
        }
    );
    if model.payments.service_fee.iter().any(|&f| f > 0) {
        let _ = writeln!(
            o,
            "- A fixed service fee of {} a month for months 0-{}.",
            by_year(&model.payments.service_fee),
            model.payments.service_fee_months.saturating_sub(1)
        );
    }
    let l = model.payments.lags;
    let fee_for_service = model
        .payments
        .fee_for_service
        .as_ref()
        .map_or(String::new(), |f| format!(", fee for service {}", f.lag));
    let _ = writeln!(
        o,
        "- Payment lags (months after the event): attachment {}, outcome {}, sustainment {}, service fee {}{fee_for_service}.",
        l.attachment, l.outcome, l.sustainment, l.service_fee
    );
    if let Some(b) = &model.payments.blended {
        blended(o, model, b);
    }
    if let Some(c) = model.payments.cap_per_year {
        let _ = writeln!(
            o,
            "- Payments falling due in one contract year are capped at {}.",
            money(c)
        );
    }
    if let Some(c) = model.payments.cap_total {
        let _ = writeln!(
            o,
            "- All payments over the contract are capped at {}.",
            money(c)
        );
    }
    for p in &model.providers[1..] {
        let t = p.terms.as_ref().expect("subcontractors have terms");
        let mut terms = vec![];
        if t.fee_per_referral > 0 {
            terms.push(format!("{} per referral", money(t.fee_per_referral)));
        }
        if t.pass_through > 0.0 {
            terms.push(format!(
                "{:.0}% of the outcome and sustainment payments for its participants",
                100.0 * t.pass_through
            ));
        }
        if t.monthly_fee > 0 {
            terms.push(format!("{} a month", money(t.monthly_fee)));
        }
        let fee = if t.management_fee > 0.0 {
            format!(
                ", less a {:.0}% management fee the prime keeps",
                100.0 * t.management_fee
            )
        } else {
            String::new()
        };
        let _ = writeln!(
            o,
            "- The prime pays subcontractor {} ({}): {}{}.",
            p.label,
            p.id,
            if terms.is_empty() {
                "nothing".into()
            } else {
                terms.join(", ")
            },
            fee
        );
    }
}

/// What each segment's participants are paid for, and what their outcomes save.
fn paid_for_by_segment(model: &Model, o: &mut String) {
    let _ = writeln!(o, "\nWhat is paid for, by segment");
    for s in &model.segments {
        let total: f64 = s.referrals.iter().sum();
        let _ = writeln!(
            o,
            "- {} ({}): about {} referrals a month ({} over the contract, before the volume multiplier{}).",
            s.label,
            s.id,
            per_month(s.volume * total / s.referrals.len() as f64),
            crate::output::fmt_pounds(s.volume * total),
            if s.volume == 1.0 {
                String::new()
            } else {
                format!(", after the segment's own volume of {}", fmt_num(s.volume))
            }
        );
        match &s.outcome {
            OutcomeProcess::Sustained(oc) => {
                let _ = writeln!(
                    o,
                    "    Each is in the programme for {}; without the programme {:.1}% a month would start an outcome (hazard {}); once in outcome {:.1}% leave each month.",
                    months(oc.window),
                    100.0 * (1.0 - math::exp(-oc.baseline_hazard)),
                    oc.baseline_hazard,
                    100.0 * oc.dropout
                );
                let _ = writeln!(
                    o,
                    "    The outcome is paid after {} consecutive month(s) in outcome; then up to {} sustainment months are paid.",
                    oc.qualifying_months, oc.max_sustainment_months
                );
            }
            OutcomeProcess::AdverseEvents(ev) => {
                let frailty = ev
                    .frailty_shape
                    .map_or("the same for everyone (Poisson)".to_string(), |k| {
                        format!("varying between people (gamma frailty, shape {k})")
                    });
                let _ = writeln!(
                    o,
                    "    Each is served for {} and followed for {}; without the programme a person has {} adverse events on average in the follow-up, at a rate {}.",
                    months(ev.service_months),
                    months(ev.follow_up),
                    ev.rate,
                    frailty
                );
            }
            OutcomeProcess::TimeInState(st) => {
                let _ = writeln!(
                    o,
                    "    Each is served for {} and followed for {}; {:.1}% are in the state when referred. Without the programme {:.1}% of those outside it enter it each month; {:.1}% of those in it leave each month. The programme lowers the chance of entering it.",
                    months(st.service_months),
                    months(st.follow_up),
                    100.0 * st.initial_share,
                    100.0 * st.entry,
                    100.0 * st.exit
                );
            }
        }
        let t = &s.tariff;
        if t.attachment
            .iter()
            .chain(&t.outcome)
            .chain(&t.sustainment)
            .any(|&p| p > 0)
        {
            let _ = writeln!(
                o,
                "    Prices (after discount): attachment {}; outcome {}; sustainment {} a month.",
                by_year(&t.attachment),
                by_year(&t.outcome),
                by_year(&t.sustainment)
            );
        }
        if let Some(c) = t.cap_per_participant {
            let _ = writeln!(o, "    At most {} is paid for one participant.", money(c));
        }
        let shares: Vec<String> = s
            .allocation
            .iter()
            .zip(&model.providers)
            .filter(|(a, _)| **a > 0.0)
            .map(|(a, p)| format!("{} {:.0}%", p.id, 100.0 * a))
            .collect();
        let _ = writeln!(o, "    Delivered by: {}.", shares.join(", "));
        if s.savings_per_outcome_month > 0 {
            let _ = writeln!(
                o,
                "    Each attributable month in outcome saves the public purse {} (up to {} per person).",
                money(s.savings_per_outcome_month),
                months(s.savings_months)
            );
        }
        if s.savings_per_event_avoided > 0 {
            let _ = writeln!(
                o,
                "    Each adverse event avoided saves the public purse {}.",
                money(s.savings_per_event_avoided)
            );
        }
    }
}

/// The improvement and additional-outcome rules, the fee for service and the investors.
fn rules(model: &Model, o: &mut String) {
    let segment_names = |ids: &[usize]| {
        ids.iter()
            .map(|&i| model.segments[i].id.clone())
            .collect::<Vec<_>>()
            .join(", ")
    };
    for r in &model.payments.improvement {
        let measure = match r.measure {
            Measure::Binary => "the share of people with at least one event",
            Measure::Frequency => "events per person",
            Measure::FrequencyPerPersonWithEvent => "events per person with an event",
            Measure::TimeInState => "the share of months of follow-up spent in the state",
        };
        let against = match r.comparison {
            Comparison::Simulated { per_participant } => format!(
                "a comparison group of {per_participant} people per participant, simulated without the programme"
            ),
            Comparison::Baseline {
                value,
                drift_per_year,
            } if drift_per_year != 0.0 => format!(
                "a historical baseline of {value}, changing {:+.1}% a year",
                100.0 * drift_per_year
            ),
            Comparison::Baseline { value, .. } => format!("a historical baseline of {value}"),
        };
        let _ = writeln!(
            o,
            "- Improvement rule \"{}\" on {}: {measure}, against {against}.",
            r.label,
            segment_names(&r.segments)
        );
        for (k, c) in r.cohorts.iter().enumerate() {
            let _ = writeln!(
                o,
                "    Cohort {} (referred in months {}-{}) is measured in month {} and paid {} later if {}.",
                k + 1,
                c.from,
                c.to - 1,
                c.measured_in,
                months(r.lag),
                improves_by(c.threshold_ppm)
            );
        }
        if !r.interim_months.is_empty() {
            let after: Vec<String> = r.interim_months.iter().map(|&k| months(k)).collect();
            let _ = writeln!(
                o,
                "    Each cohort is also measured after {} of follow-up, on its time in the state so far, and paid on the same terms; at the end of the follow-up it is paid what the whole follow-up earns less what its interims were paid (never less than nothing: interim payments are not clawed back).",
                after.join(", ")
            );
            if !r.interim_baselines.is_empty() {
                let shares: Vec<String> = r
                    .interim_baselines
                    .iter()
                    .map(|v| format!("{:.1}%", 100.0 * v))
                    .collect();
                let _ = writeln!(
                    o,
                    "    The interims are compared with baseline shares of {} of the months so far.",
                    shares.join(", ")
                );
            }
        }
        if let Some(th) = r.final_threshold_ppm {
            let _ = writeln!(
                o,
                "    A final measurement over all cohorts in month {} pays, if {}, what they earn together less what the cohorts were paid.",
                r.final_measured_in,
                improves_by(th)
            );
        }
        if let Some(h) = r.requires {
            let _ = writeln!(
                o,
                "    It pays only for cohorts that also meet rule \"{}\".",
                model.payments.improvement[h].label
            );
        }
        let unit = if r.measure == Measure::TimeInState {
            " (a unit is a month in the state avoided)"
        } else {
            ""
        };
        let _ = writeln!(
            o,
            "    Price per unit improved{unit}: {}.",
            by_year(&r.price_per_unit)
        );
    }
    for r in &model.payments.additional_outcomes {
        let baseline = if r.rolling {
            format!("the previous year's outcomes ({} in year 1)", r.baseline[0])
        } else {
            format!("a baseline of {} a year", r.baseline[0])
        };
        let _ = writeln!(
            o,
            "- \"{}\": {} per outcome in {} above {baseline}, paid {} after each contract year.",
            r.label,
            by_year(&r.price_per_unit),
            segment_names(&r.segments),
            months(r.lag)
        );
    }
    if let Some(f) = &model.payments.fee_for_service {
        let _ = writeln!(
            o,
            "- Fee for service: {} a year for {} referrals, paid monthly; at each year's end each referral beyond ±{:.0}% of that volume is topped up or clawed back at {}.",
            by_year(&f.annual_fee),
            crate::output::fmt_pounds(f.baseline_referrals_per_year),
            100.0 * f.band,
            money(f.reconciliation_price)
        );
    }
    for inv in &model.investors {
        let cap = match inv.cap {
            ReturnCap::Multiple(m) => format!("{m} times the capital drawn"),
            ReturnCap::AnnualRate(r) => format!("the capital drawn plus {:.1}% a year", 100.0 * r),
        };
        let excess = if inv.excess_share > 0.0 {
            format!(", then {:.0}% of the rest", 100.0 * inv.excess_share)
        } else {
            String::new()
        };
        let _ = writeln!(
            o,
            "- Investor {} ({}) commits {} to cover {}'s cash shortfalls and is repaid first from its outcome payments, up to {cap}{excess}.",
            inv.label,
            inv.id,
            money(inv.committed),
            model.providers[inv.funds].id
        );
    }
}

/// Each provider's costs, reserves and credit.
fn who_bears_costs(model: &Model, o: &mut String) {
    let _ = writeln!(o, "\nWho bears which costs");
    for (d, p) in model.providers.iter().enumerate() {
        let _ = writeln!(
            o,
            "- {} ({}): {} per referral, {} per participant-month, {} a month overhead for {}; reserves {}, credit line {}.",
            p.label,
            p.id,
            money(p.cost_per_referral),
            money(p.cost_per_participant_month),
            money(p.overhead_per_month),
            months(p.overhead_months),
            money(p.reserves),
            money(p.credit_line)
        );
        if p.fixed_cost_share > 0.0 {
            leverage(o, model, d);
        }
        let fate = match p.terms.as_ref().map(|t| t.on_failure) {
            None => "the contract ends".to_string(),
            Some(OnFailure::Transfer) => "its participants transfer to the prime".to_string(),
            Some(OnFailure::LoseService) => "its participants lose the service".to_string(),
        };
        let _ = writeln!(
            o,
            "    It fails when its cash falls below minus its credit line; then {fate}{}.",
            if p.reprocurement_cost > 0 {
                format!(
                    " and the commissioner pays {} to re-procure",
                    money(p.reprocurement_cost)
                )
            } else {
                String::new()
            }
        );
    }
}

/// What is drawn once per iteration.
fn what_is_uncertain(model: &Model, o: &mut String) {
    let _ = writeln!(o, "\nWhat is uncertain (drawn once per iteration)");
    let f = &model.factors;
    let _ = writeln!(o, "- Volume multiplier: {}.", param(&model.volume, f));
    let _ = writeln!(o, "- Cost multiplier: {}.", param(&model.cost, f));
    if model.macro_params.len() == 1 {
        let _ = writeln!(
            o,
            "- Economy ({}, one draw for every year): {}.",
            economy_scales(model),
            param(&model.macro_params[0], f)
        );
    } else {
        let last = model.macro_params.len();
        for (y, p) in model.macro_params.iter().enumerate() {
            let when = if y + 1 == last {
                format!("contract year {} onwards", y + 1)
            } else {
                format!("contract year {}", y + 1)
            };
            let _ = writeln!(o, "- Economy in {when}: {}.", param(p, f));
        }
    }
    for s in &model.segments {
        let p = s.effect.as_ref().unwrap_or(&model.shared_effect);
        let shared = if s.effect.is_none() { " (shared)" } else { "" };
        let what = if s.adverse_events().is_some() {
            "reduction of the event rate"
        } else if s.time_in_state().is_some() {
            "reduction of the chance of entering the state"
        } else {
            "uplift of the hazard"
        };
        let _ = writeln!(o, "- Effect on {} ({what}){shared}: {}.", s.id, param(p, f));
    }
    for key in &model.uncertain_keys {
        let _ = writeln!(
            o,
            "- {} (the figures above use its mean, {}): {}.",
            key.path,
            fmt_num(key.param.mean()),
            param(&key.param, f)
        );
    }
    if !f.is_empty() {
        let _ = writeln!(o, "- Shared factors: {}.", f.join(", "));
    }
}

/// A provider's fixed and variable costs at planned volume, and the volume
/// at which it breaks even.
fn leverage(o: &mut String, model: &Model, provider: usize) {
    use crate::engine::operating::{BreakEven, MAX_VOLUME, leverage};
    let p = &model.providers[provider];
    let l = leverage(model, provider);
    let pounds = |pence: f64| crate::output::fmt_pounds((pence / 100.0).round());
    let capacity = match p.capacity_notice_months {
        None => "stays as planned whatever the volume".to_string(),
        Some(n) => format!(
            "follows a shortfall in the caseload {} later (never above the plan)",
            months(n)
        ),
    };
    let _ = writeln!(
        o,
        "    {:.0}% of its unit costs are capacity for the planned caseload, which {capacity}. At planned volume its delivery costs over the contract are {} fixed and {} variable ({:.0}% fixed), before the cost multiplier.",
        100.0 * p.fixed_cost_share,
        pounds(l.fixed),
        pounds(l.variable),
        100.0 * l.fixed / (l.fixed + l.variable).max(f64::MIN_POSITIVE)
    );
    let verdict = match l.break_even {
        BreakEven::At {
            volume,
            gains_above: true,
        } => format!(
            "breaks even at {:.0}% of the planned volume and loses below it",
            100.0 * volume
        ),
        BreakEven::At { volume, .. } => format!(
            "breaks even at {:.0}% of the planned volume and loses above it",
            100.0 * volume
        ),
        BreakEven::AlwaysGains => {
            format!("gains at every volume up to {MAX_VOLUME} times the plan")
        }
        BreakEven::NeverGains => format!("loses at every volume up to {MAX_VOLUME} times the plan"),
    };
    let income = if provider == 0 {
        "attachment, outcome and sustainment payments, the service fee and the fee for service, less what it passes down to subcontractors"
    } else {
        "the prime's fees per referral, monthly fee and pass-through of outcome and sustainment payments, net of the management fee"
    };
    let _ = writeln!(
        o,
        "    With the cost multiplier, the economy and the effects at their medians and expected counts, it {verdict}. Its expected income counts {income}, before the contract caps, with nobody failing, and without improvement or additional-outcome payments."
    );
}

/// When the commissioner may end the contract early, and what follows.
fn explain_termination(model: &Model, t: &crate::model::Termination, o: &mut String) {
    let _ = writeln!(o, "\nEnding the contract early");
    if let Some(m) = t.break_month {
        let _ = writeln!(
            o,
            "- The commissioner ends the contract at the end of month {m}."
        );
    }
    if let Some(n) = &t.on_net {
        let party = if n.account == crate::model::COMMISSIONER {
            "the commissioner".to_string()
        } else {
            model.providers[n.account - crate::model::PRIME].id.clone()
        };
        let notice = if t.notice_months == 0 {
            "at the end of that month".to_string()
        } else {
            format!("{} later", months(t.notice_months))
        };
        let _ = writeln!(
            o,
            "- The commissioner ends the contract {notice} once {party}'s net so far (revenue less cost) falls below {}.",
            signed_money(n.below)
        );
    }
    for level in &t.minimum_performance {
        let segments: Vec<&str> = level
            .segments
            .iter()
            .map(|&s| model.segments[s].id.as_str())
            .collect();
        let whose = level
            .provider
            .map_or("the whole contract".to_string(), |p| {
                model.providers[p].id.clone()
            });
        let notice = if t.notice_months == 0 {
            "at the end of that month".to_string()
        } else {
            format!("{} after it", months(t.notice_months))
        };
        let then = match level.consequence {
            crate::model::Consequence::End => {
                format!("the commissioner ends the contract {notice}")
            }
            crate::model::Consequence::Shift { to, share } => format!(
                "{:.0}% of {whose}'s later referrals in these segments go to {}",
                100.0 * share,
                model.providers[to].id
            ),
        };
        let _ = writeln!(
            o,
            "- Minimum performance `{}`: in months {} to {}, {whose} must achieve at least {:.4} outcome events per referral ({}); below it, {then}.",
            level.label,
            level.from,
            level.to - 1,
            level.minimum_ppm as f64 / 1e6,
            segments.join(", ")
        );
    }
    let _ = writeln!(
        o,
        "    Then referrals, costs and payments stop, as if the prime had failed, and participants go without service{}.",
        if t.payment > 0 {
            format!(
                "; the commissioner pays the prime {} when the contract ends",
                money(t.payment)
            )
        } else {
            String::new()
        }
    );
}

/// An amount that may be negative.
fn signed_money(p: Pence) -> String {
    if p < 0 {
        format!("-{}", money(-p))
    } else {
        money(p)
    }
}

/// What the economy multiplier scales in this contract.
fn economy_scales(model: &Model) -> String {
    let sustained = model.segments.iter().any(|s| s.sustained().is_some());
    let events = model.segments.iter().any(|s| s.adverse_events().is_some());
    let state = model.segments.iter().any(|s| s.time_in_state().is_some());
    let scaled = match (sustained, events) {
        (true, true) => "baseline outcome hazards and adverse-event rates",
        (false, true) => "baseline adverse-event rates",
        (true, false) => "baseline outcome hazards",
        (false, false) => "",
    };
    match (scaled, state) {
        ("", true) => "multiplier on the chances of entering the state".into(),
        (s, true) => format!("multiplier on {s} and the chances of entering the state"),
        (s, false) => format!("multiplier on {s}"),
    }
}

/// `n months`, or `1 month`.
fn months(n: usize) -> String {
    if n == 1 {
        "1 month".into()
    } else {
        format!("{n} months")
    }
}

/// A monthly referral volume: whole numbers when large, two significant
/// decimals when small (a segment of 0.4 referrals a month is not 0).
fn per_month(x: f64) -> String {
    if x >= 10.0 || x == 0.0 {
        crate::output::fmt_pounds(x)
    } else {
        format!("{x:.2}")
    }
}

/// The condition of a threshold on relative improvement.
fn improves_by(threshold_ppm: i64) -> String {
    if threshold_ppm == 0 {
        "it does at least as well as the comparison".into()
    } else {
        format!("it improves by at least {:.2}%", threshold_ppm as f64 / 1e4)
    }
}

/// Corridors and payment floors, in plain words.
fn explain_risk_sharing(model: &Model, o: &mut String) {
    let rs = &model.risk_sharing;
    if rs.corridors.is_empty() && !rs.has_floors() {
        return;
    }
    let _ = writeln!(
        o,
        "\nRisk sharing (outside the contract caps; not co-funded, passed through or used to repay investors)"
    );
    let name = |account: usize| {
        if account == COMMISSIONER {
            "the commissioner".to_string()
        } else {
            "the prime".to_string()
        }
    };
    for c in &rs.corridors {
        let provider = &model.providers[c.provider].id;
        let (what, loss) = match c.measure {
            CorridorMeasure::Cost => ("delivery costs", "above"),
            CorridorMeasure::Margin => (
                "margin (revenue less costs, without investors' money or this corridor's settlements)",
                "below",
            ),
            CorridorMeasure::Payments => (
                "results payments received (outcome, sustainment, improvement)",
                "below",
            ),
        };
        let (per, when) = match c.settle {
            Settle::Yearly => (
                "a contract year (pro rata in a short last year)",
                "at the end of each contract year",
            ),
            Settle::End => ("the whole horizon", "in the horizon's last month"),
        };
        let _ = writeln!(
            o,
            "- Corridor `{}`: {} shares `{provider}`'s {what} against a target of {} for {per}, settled {when}.",
            c.label,
            name(c.payer),
            money(c.target),
        );
        let _ = writeln!(
            o,
            "    When the {what} are {loss} the target, {} pays {}; otherwise `{provider}` pays back {}.",
            name(c.payer),
            bands_in_words(&c.pain),
            bands_in_words(&c.gain)
        );
        let _ = writeln!(
            o,
            "    No settlement once `{provider}` has failed or the contract has ended (a period cut short is not settled)."
        );
    }
    for (seg, floor) in model.segments.iter().zip(&rs.floors) {
        if let Some(f) = floor {
            let _ = writeln!(
                o,
                "- Floor for `{}`: in the horizon's last month the commissioner pays the prime what the payments for the segment's participants fell short of {} per referral (if the contract is still running).",
                seg.id,
                money(*f)
            );
        }
    }
}

/// "0% of a deviation up to 5% of the target, 50% from 5% to 10%, 80%
/// beyond".
fn bands_in_words(b: &Bands) -> String {
    let pct = |x: f64| format!("{}%", fmt_num(100.0 * x));
    let mut parts = Vec::new();
    for (i, &share) in b.shares.iter().enumerate() {
        let band = match (i.checked_sub(1).map(|j| b.edges[j]), b.edges.get(i)) {
            (None, Some(&hi)) => format!("up to {} of the target", pct(hi)),
            (Some(lo), Some(&hi)) => format!("from {} to {}", pct(lo), pct(hi)),
            (Some(lo), None) => format!("beyond {}", pct(lo)),
            (None, None) => "of the whole deviation".to_string(),
        };
        parts.push(format!("{} of the deviation {band}", pct(share)));
    }
    parts.join(", ")
}

/// Several public payers and a pooled budget: who pays which share of
/// which rule, within what budget, and who receives which savings.
fn explain_payers(model: &Model, o: &mut String) {
    use crate::model::{PayerRule, PoolEnd, SHARE_UNIT};
    if !model.shared_payments() {
        return;
    }
    let pct = |parts: i64| format!("{:.1}%", 100.0 * parts as f64 / SHARE_UNIT as f64);
    let _ = writeln!(o, "\nPublic payers");
    let _ = writeln!(
        o,
        "- The payments to the prime are shared among public bodies rule by rule; {} pays whatever no other body takes, rounding remainders, and any share a body's budget cannot pay, so the prime is paid in full.",
        model.commissioner.label
    );
    for p in &model.payers {
        let rules: Vec<String> = PayerRule::ALL
            .iter()
            .filter(|(_, r)| p.rule_shares[r.index()] > 0)
            .map(|(name, r)| format!("{} of {name}", pct(p.rule_shares[r.index()])))
            .collect();
        let pays = if rules.is_empty() {
            "pays no rule directly".to_string()
        } else {
            format!("pays {}", rules.join(", "))
        };
        let mut limits = Vec::new();
        if let Some(b) = p.budget_per_year {
            limits.push(format!("at most {} a contract year", money(b)));
        }
        if let Some(c) = p.cap_total {
            limits.push(format!("at most {} over the contract", money(c)));
        }
        let limits = if limits.is_empty() {
            String::new()
        } else {
            format!(" ({}; beyond it the commissioner pays)", limits.join(", "))
        };
        let savings = match p.savings_uniform {
            Some(u) => format!("{:.1}% of every segment's savings", 100.0 * u),
            None => {
                model
                    .segments
                    .iter()
                    .zip(&p.savings_shares)
                    .map(|(s, w)| format!("{:.1}% of {}'s", 100.0 * w, s.id))
                    .collect::<Vec<_>>()
                    .join(", ")
                    + " savings"
            }
        };
        let pool = if p.pool_share > 0 {
            format!("; it pays {} of the pooled budget", pct(p.pool_share))
        } else {
            String::new()
        };
        let _ = writeln!(
            o,
            "- {} {pays}{limits}, and receives {savings}{pool}.",
            p.label
        );
    }
    if let Some(pool) = &model.pooled_budget {
        let rules: Vec<&str> = PayerRule::ALL
            .iter()
            .filter(|(_, r)| pool.rules[r.index()])
            .map(|(n, _)| *n)
            .collect();
        let commissioner_share =
            SHARE_UNIT - model.payers.iter().map(|p| p.pool_share).sum::<i64>();
        let _ = writeln!(
            o,
            "- {}: the bodies pay in {} at month 0 and {} at the start of each contract year while the contract runs ({} {}); it pays {}. When it is empty the bodies pay the rest directly by the same shares. At the end what is left {}.",
            pool.label,
            money(pool.upfront),
            money(pool.per_year),
            model.commissioner.label,
            pct(commissioner_share),
            rules.join(", "),
            match pool.on_end {
                PoolEnd::Return => "goes back to the bodies by the same shares",
                PoolEnd::Keep => "stays in the pot",
            }
        );
    }
    let _ = writeln!(
        o,
        "- Each body's value is its savings less what it paid; its wrong-pocket amount is the savings it received beyond (or short of) its share of the payments."
    );
}

/// Volume guarantees, advances and the alliance, in plain words.
fn explain_instruments(model: &Model, o: &mut String) {
    let _ = writeln!(o, "\nSharing risk");
    let parties = |b: Between| match b {
        Between::CommissionerPrime => ("the commissioner".to_string(), "the prime".to_string()),
        Between::PrimeSubcontractor(d) => ("the prime".to_string(), model.providers[d].id.clone()),
    };
    let inst = &model.instruments;
    for g in &inst.volume_guarantees {
        let (payer, recipient) = parties(g.between);
        let whose = match g.between {
            Between::CommissionerPrime => "the contract's referral plan".to_string(),
            Between::PrimeSubcontractor(_) => {
                format!("{recipient}'s allocated share of the referral plan")
            }
        };
        let pays = match g.compensation {
            Compensation::PerMissingReferral(p) => {
                format!("{} per referral missing below it", money(p))
            }
            Compensation::TopUp(p) => format!(
                "a top-up of {} (pro rata for a shorter last year)",
                money(p)
            ),
        };
        let _ = writeln!(
            o,
            "- Volume guarantee `{}`: if a contract year's referrals to {recipient} fall below {:.0}% of {whose} ({} referrals at volume 1 over the contract), {payer} pays {pays} at the year's end, outside the contract caps.",
            g.label,
            100.0 * g.threshold,
            fmt_num(g.forecast.iter().sum::<f64>()),
        );
    }
    for a in &inst.advances {
        let (payer, recipient) = parties(a.between);
        let shortfall = match a.on_shortfall {
            OnShortfall::WriteOff => format!("{payer} writes off what is not recovered"),
            OnShortfall::Repay => format!(
                "{recipient} repays what is not recovered at the horizon or when the commissioner ends the contract (written off if it has failed)"
            ),
        };
        let _ = writeln!(
            o,
            "- Advance `{}`: {payer} pays {recipient} {} in month {}, recovered as {:.0}% of {recipient}'s later outcome payments; {shortfall}.",
            a.label,
            money(a.amount),
            a.month,
            100.0 * a.recovery_share,
        );
    }
    if let Some(al) = &inst.alliance {
        let list = |shares: &[f64]| {
            model
                .providers
                .iter()
                .enumerate()
                .filter(|&(d, _)| al.member(d))
                .map(|(d, p)| format!("{} {:.0}%", p.id, 100.0 * shares[d]))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(
            o,
            "- Alliance of {}: every month the results payments the prime receives, less what it passes through to subcontractors outside the alliance, are pooled and split in these shares (a failed member's share goes to the others).",
            list(&al.shares)
        );
        let _ = writeln!(
            o,
            "    Each contract year the members' delivery costs are pooled against a budget of {}: each member bears its share of the budget less its share of the gain (budget less pooled costs), or plus its share of the overspend, by gain/pain shares {}. The commissioner shares no gain or pain.",
            by_year(&al.budget),
            list(&al.gain_pain_shares)
        );
    }
}

/// The blend: the shares moved, and the fee each segment's referrals earn.
fn blended(o: &mut String, model: &Model, b: &crate::model::Blended) {
    let shares: Vec<String> = b
        .fee_share
        .iter()
        .map(|f| format!("{:.0}%", 100.0 * f))
        .collect();
    let _ = writeln!(
        o,
        "- Blended payment: a share of each outcome and sustainment price (by contract year: {}) is paid instead as a fee per referral, set from the plan (what that share of the prices is expected to earn per referral); the prices below are after the blend, the fee in the attachment price.",
        shares.join(", ")
    );
    for (seg, fee) in model.segments.iter().zip(&b.fee) {
        if fee.iter().any(|&f| f > 0) {
            let _ = writeln!(o, "    {}: fee per referral {}.", seg.label, by_year(fee));
        }
    }
}
