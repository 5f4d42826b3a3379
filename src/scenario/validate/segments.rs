//! `[segments.*]`: referrals, the segment's effect, its outcome process
//! (`sustained` or `adverse_events`), its tariff and its allocation to
//! providers.

use super::payments::Pricing;
use super::reach::MAX_EXPECTED_REFERRALS;
use super::uncertainty::{EFFECT_RANGE, Uncertainty, param};
use super::{Checker, Time};
use crate::error::suggest;
use crate::model::{
    AdverseEvents, OutcomeProcess, PriceYear, Provider, ReferralProcess, Segment, Sustained,
    Tariff, TimeInState,
};
use crate::scenario::raw::{
    NumOrList, RawAdverseEvents, RawSegment, RawSustained, RawTariff, RawTimeInState,
};
use indexmap::IndexMap;

/// What the segments refer to.
pub struct Context<'a> {
    pub time: Time,
    pub pricing: Pricing,
    pub uncertainty: &'a Uncertainty,
    pub providers: &'a [Provider],
}

/// Every segment, in file order.
pub fn segments(c: &mut Checker, raw: &IndexMap<String, RawSegment>, cx: &Context) -> Vec<Segment> {
    if raw.is_empty() {
        c.err("segments", "at least one segment is required".into());
    }
    raw.iter().map(|(id, s)| segment(c, id, s, cx)).collect()
}

/// Months in which anyone is in the programme: referrals, then the
/// longest service.
pub fn delivery_months(time: Time, segments: &[Segment]) -> usize {
    let longest = segments
        .iter()
        .map(|s| s.service_months())
        .max()
        .unwrap_or(0);
    (time.referral_months + longest)
        .saturating_sub(1)
        .clamp(1, time.horizon.max(1))
}

fn segment(c: &mut Checker, id: &str, s: &RawSegment, cx: &Context) -> Segment {
    let k = |f: &str| format!("segments.{id}.{f}");
    let referrals = referrals(c, &k("referrals_per_month"), s, cx.time.referral_months);
    if !(s.volume.is_finite() && s.volume >= 0.0) {
        c.err(
            &k("volume"),
            format!(
                "must be a non-negative multiplier on the segment's referrals, got {}",
                s.volume
            ),
        );
    }
    let referral_process = c.choose_or(
        &k("referral_process"),
        s.referral_process.as_deref(),
        ReferralProcess::Poisson,
    );
    let adverse = s.adverse_events.is_some() || s.time_in_state.is_some();
    // An effect raises a hazard (h (1 + effect) >= 0) or reduces an
    // event rate or a chance of entering a state (p (1 - effect) >= 0).
    let own_range = if adverse {
        (f64::NEG_INFINITY, 1.0)
    } else {
        EFFECT_RANGE
    };
    let factors = &cx.uncertainty.factors;
    let effect = s
        .effect
        .as_ref()
        .map(|e| param(c, &k("effect"), e, own_range, factors));
    if adverse && s.effect.is_none() && cx.uncertainty.shared_effect.support().1 > 1.0 {
        c.err_help(
            &k("effect"),
            "the shared effect can exceed 1, which would make this segment's event rate or entry probability negative"
                .into(),
            Some("give this segment its own effect, at most 1".into()),
        );
    }
    let outcome = outcome(c, id, s);
    let tariff = tariff(c, id, &s.tariff, cx);
    let allocation = allocation(c, id, &s.allocation, cx.providers);
    Segment {
        id: id.to_string(),
        label: s.label.clone().unwrap_or_else(|| id.to_string()),
        referrals,
        volume: s.volume,
        referral_process,
        effect,
        savings_per_outcome_month: c
            .money(&k("savings_per_outcome_month"), s.savings_per_outcome_month),
        savings_months: s.savings_months.map_or(
            match &outcome {
                OutcomeProcess::Sustained(o) => o.qualifying_months + o.max_sustainment_months,
                OutcomeProcess::AdverseEvents(_) | OutcomeProcess::TimeInState(_) => 0,
            },
            |m| c.months(&k("savings_months"), m, 0),
        ),
        savings_per_event_avoided: c
            .money(&k("savings_per_event_avoided"), s.savings_per_event_avoided),
        outcome,
        tariff,
        allocation,
    }
}

/// Expected referrals in each referral month: one number for every month,
/// or a monthly profile.
fn referrals(c: &mut Checker, key: &str, s: &RawSegment, months: usize) -> Vec<f64> {
    let referrals = match &s.referrals_per_month {
        NumOrList::One(v) => vec![*v; months],
        NumOrList::Many(list) => {
            if list.len() != months {
                c.err(
                    key,
                    format!(
                        "a monthly profile needs one value per referral month ({months}), got {}",
                        list.len()
                    ),
                );
            }
            let mut l = list.clone();
            l.resize(months, 0.0);
            l
        }
    };
    if let Some((i, v)) = referrals
        .iter()
        .enumerate()
        .find(|(_, v)| !(v.is_finite() && (0.0..=MAX_EXPECTED_REFERRALS).contains(*v)))
    {
        c.err(
            key,
            format!("expected referrals must be between 0 and {MAX_EXPECTED_REFERRALS:e}, got {v} in month {i}"),
        );
    }
    referrals
}

/// The outcome process: exactly one of `sustained` and `adverse_events`.
fn outcome(c: &mut Checker, id: &str, s: &RawSegment) -> OutcomeProcess {
    let placeholder = || {
        OutcomeProcess::Sustained(Sustained {
            baseline_hazard: 0.0,
            window: 1,
            qualifying_months: 1,
            dropout: 0.0,
            max_sustainment_months: 0,
        })
    };
    match (&s.sustained, &s.adverse_events, &s.time_in_state) {
        (Some(o), None, None) => OutcomeProcess::Sustained(sustained(c, id, o)),
        (None, Some(a), None) => OutcomeProcess::AdverseEvents(adverse_events(c, id, a)),
        (None, None, Some(a)) => OutcomeProcess::TimeInState(time_in_state(c, id, a)),
        (None, None, None) => {
            c.err_help(&format!("segments.{id}"), "missing the outcome process table".into(), Some(format!("add [segments.{id}.sustained] (a sustained outcome), [segments.{id}.adverse_events] (counted adverse events) or [segments.{id}.time_in_state] (time in a state)")));
            placeholder()
        }
        _ => {
            c.err(
                &format!("segments.{id}"),
                "give one outcome process: `sustained`, `adverse_events` or `time_in_state`, not several".into(),
            );
            placeholder()
        }
    }
}

/// `[segments.*.adverse_events]`.
fn adverse_events(c: &mut Checker, id: &str, a: &RawAdverseEvents) -> AdverseEvents {
    let k = |f: &str| format!("segments.{id}.adverse_events.{f}");
    if !(a.rate.is_finite() && (0.0..=100.0).contains(&a.rate)) {
        c.err(
            &k("rate"),
            format!(
                "expected events per person over the follow-up must be between 0 and 100, got {}",
                a.rate
            ),
        );
    }
    let follow_up = c.months(&k("follow_up_months"), a.follow_up_months, 1);
    if let Some(shape) = a.frailty_shape
        && !(shape.is_finite() && shape > 0.0)
    {
        c.err_help(
            &k("frailty_shape"),
            format!("a gamma shape must be positive, got {shape}"),
            Some("leave it out for no frailty".into()),
        );
    }
    let service_months = a
        .service_months
        .map_or(follow_up, |m| c.months(&k("service_months"), m, 1));
    AdverseEvents {
        rate: a.rate,
        follow_up,
        frailty_shape: a.frailty_shape,
        service_months,
    }
}

/// `[segments.*.time_in_state]`.
fn time_in_state(c: &mut Checker, id: &str, a: &RawTimeInState) -> TimeInState {
    let k = |f: &str| format!("segments.{id}.time_in_state.{f}");
    let follow_up = c.months(&k("follow_up_months"), a.follow_up_months, 1);
    let service_months = a
        .service_months
        .map_or(follow_up, |m| c.months(&k("service_months"), m, 1));
    TimeInState {
        follow_up,
        initial_share: c.prob(&k("initial_share"), a.initial_share),
        entry: c.prob(&k("entry_probability"), a.entry_probability),
        exit: c.prob(&k("exit_probability"), a.exit_probability),
        service_months,
    }
}

/// `[segments.*.sustained]`.
fn sustained(c: &mut Checker, id: &str, o: &RawSustained) -> Sustained {
    let k = |f: &str| format!("segments.{id}.sustained.{f}");
    if !(o.baseline_hazard.is_finite() && o.baseline_hazard >= 0.0) {
        c.err(
            &k("baseline_hazard"),
            format!(
                "a monthly hazard must be non-negative, got {}",
                o.baseline_hazard
            ),
        );
    }
    Sustained {
        baseline_hazard: o.baseline_hazard,
        window: c.months(&k("window_months"), o.window_months, 1),
        qualifying_months: c.months(&k("qualifying_months"), o.qualifying_months, 1),
        dropout: c.prob(&k("dropout"), o.dropout),
        max_sustainment_months: c.months(&k("max_sustainment_months"), o.max_sustainment_months, 0),
    }
}

/// `[segments.*.tariff]`: prices by contract year, after the discount.
fn tariff(c: &mut Checker, id: &str, t: &RawTariff, cx: &Context) -> Tariff {
    let k = |f: &str| format!("segments.{id}.tariff.{f}");
    let Pricing {
        discount,
        price_year,
    } = cx.pricing;
    let mut prices =
        |name: &str, v: &Option<NumOrList>| c.prices(&k(name), v.as_ref(), cx.time.years, discount);
    let tariff = Tariff {
        attachment: prices("attachment", &t.attachment),
        outcome: prices("outcome", &t.outcome),
        sustainment: prices("sustainment", &t.sustainment),
        cap_per_participant: t
            .cap_per_participant
            .map(|v| c.money(&k("cap_per_participant"), v)),
    };
    if tariff.cap_per_participant.is_some() && price_year == PriceYear::Event {
        c.err(&k("cap_per_participant"), "a per-participant cap needs prices by referral year (payments.price_year = \"referral\")".into());
    }
    tariff
}

/// `[segments.*.allocation]`: each provider's share of referrals, summing
/// to one.
fn allocation(
    c: &mut Checker,
    id: &str,
    shares: &IndexMap<String, f64>,
    providers: &[Provider],
) -> Vec<f64> {
    let at = format!("segments.{id}.allocation");
    let ids: Vec<&str> = providers.iter().map(|p| p.id.as_str()).collect();
    let mut allocation = vec![0.0; providers.len()];
    for (who, share) in shares {
        match ids.iter().position(|p| p == who) {
            Some(i) => allocation[i] = c.prob(&format!("{at}.{who}"), *share),
            None => c.err_help(
                &format!("{at}.{who}"),
                format!("`{who}` is not a provider (the prime or a subcontractor)"),
                suggest(who, &ids),
            ),
        }
    }
    let total: f64 = allocation.iter().sum();
    if (total - 1.0).abs() > 1e-9 {
        c.err_help(
            &at,
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
    allocation
}
