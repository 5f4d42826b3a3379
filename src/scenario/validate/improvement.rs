//! `[[payments.improvement]]`: rules paid on a cohort's improvement over a
//! comparison. Each rule names the segments it measures (all adverse
//! events, or all sustained outcomes), a measure, a comparison, the
//! measurement cohorts with their thresholds, a price, and optionally a
//! hurdle rule listed before it.

use super::choice::ComparisonKind;
use super::payments::Pricing;
use super::{Checker, Time};
use crate::error::suggest;
use crate::model::{
    Comparison, ImprovementRule, Measure, MeasurementCohort, OutcomeProcess, Segment,
};
use crate::scenario::raw::{RawComparison, RawImprovement, RawMeasurementCohort};

/// Every rule, in file order (a rule may require only an earlier one).
pub fn rules(
    c: &mut Checker,
    raw: &[RawImprovement],
    segments: &[Segment],
    time: Time,
    pricing: Pricing,
) -> Vec<ImprovementRule> {
    let mut rules: Vec<ImprovementRule> = Vec::new();
    for (i, r) in raw.iter().enumerate() {
        let k = |f: &str| format!("payments.improvement[{i}].{f}");
        if raw[..i].iter().any(|e| e.label == r.label) {
            c.err(
                &k("label"),
                format!("rule label `{}` is used twice", r.label),
            );
        }
        c.label(&k("label"), &r.label);
        // A refused measure is reported once; the checks that depend on it
        // wait for a measure that exists.
        let measure = c.choose::<Measure>(&k("measure"), &r.measure);
        let measured = measured_segments(c, &k("segments"), r, segments, measure);
        let higher_is_better = measured
            .first()
            .is_some_and(|&s| segments[s].sustained().is_some());
        let kind = |s: usize| std::mem::discriminant(&segments[s].outcome);
        if measured
            .first()
            .is_some_and(|&f| measured.iter().any(|&s| kind(s) != kind(f)))
        {
            c.err(&k("segments"), "a rule measures segments of one kind: all adverse events, all sustained outcomes or all time in a state".into());
        }
        if higher_is_better && measure.is_some_and(|m| m != Measure::Binary) {
            c.err(&k("measure"), "sustained-outcome segments are measured by \"binary\": the share of the cohort with an outcome event".into());
        }
        let in_state = measured
            .first()
            .is_some_and(|&s| segments[s].time_in_state().is_some());
        if let Some(m) = measure
            && in_state != (m == Measure::TimeInState)
        {
            let why = if in_state {
                "time-in-state segments are measured by \"time_in_state\": the share of person-months of follow-up spent in the state"
            } else {
                "\"time_in_state\" measures time-in-state segments only"
            };
            c.err(&k("measure"), why.into());
        }
        let comparison = comparison(c, &k("comparison"), &r.comparison, measure);
        let interim_months =
            interim_months(c, &k("interim_months"), r, &measured, segments, measure);
        let interim_baselines = interim_baselines(c, &k("comparison"), r, &interim_months);
        let mut cohorts = cohorts(c, &k("cohorts"), r, &measured, segments, time);
        for co in &mut cohorts {
            let lag = r.measurement_lag_months as usize;
            co.interims_measured_in = interim_months
                .iter()
                .map(|&i| co.to.max(1) - 1 + i + lag)
                .collect();
        }
        let final_threshold_ppm = r
            .final_threshold
            .map(|v| threshold_ppm(c, &k("final_threshold"), v));
        let rule = ImprovementRule {
            label: r.label.clone(),
            segments: measured,
            higher_is_better,
            measure: measure.unwrap_or(Measure::Binary),
            comparison,
            final_measured_in: cohorts.iter().map(|m| m.measured_in).max().unwrap_or(0),
            cohorts,
            final_threshold_ppm,
            price_per_unit: c.prices(
                &k("price_per_unit"),
                Some(&r.price_per_unit),
                time.years,
                pricing.discount,
            ),
            lag: c.months(&k("lag_months"), r.lag_months, 0),
            requires: None,
            interim_months,
            interim_baselines,
        };
        let requires = hurdle(c, &k("requires"), i, raw, &rules, &rule);
        rules.push(ImprovementRule { requires, ..rule });
    }
    rules
}

/// The segments a rule measures (by default every adverse-event segment).
fn measured_segments(
    c: &mut Checker,
    key: &str,
    r: &RawImprovement,
    segments: &[Segment],
    measure: Option<Measure>,
) -> Vec<usize> {
    let in_state = measure == Some(Measure::TimeInState);
    let adverse = segments
        .iter()
        .filter(|s| {
            if in_state {
                s.time_in_state().is_some()
            } else {
                s.adverse_events().is_some()
            }
        })
        .map(|s| s.id.clone());
    let names: Vec<String> = r.segments.clone().unwrap_or_else(|| adverse.collect());
    if names.is_empty() {
        c.err_help(key, "no segment to measure".into(), Some("name the segments: adverse-event or time-in-state segments (lower is better) or sustained-outcome segments (higher is better)".into()));
    }
    let ids: Vec<&str> = segments.iter().map(|s| s.id.as_str()).collect();
    let mut measured = Vec::new();
    for (j, name) in names.iter().enumerate() {
        match ids.iter().position(|id| id == name) {
            Some(s) => measured.push(s),
            None => c.err_help(
                &format!("{key}[{j}]"),
                format!("`{name}` is not a segment"),
                suggest(name, &ids),
            ),
        }
    }
    measured
}

/// `comparison`: a simulated group or a historical baseline, each with
/// only its own keys. `measure` is `None` when it was refused.
fn comparison(
    c: &mut Checker,
    key: &str,
    rc: &RawComparison,
    measure: Option<Measure>,
) -> Comparison {
    let k = |f: &str| format!("{key}.{f}");
    match c.choose::<ComparisonKind>(&k("kind"), &rc.kind) {
        Some(ComparisonKind::Simulated) => {
            let per = rc.per_participant.unwrap_or_else(|| {
                c.err(&k("per_participant"), "a simulated comparison needs `per_participant` (comparison people per treated participant)".into());
                1.0
            });
            if !(per.is_finite() && per > 0.0 && per <= 1000.0) {
                c.err(
                    &k("per_participant"),
                    format!("must be in (0, 1000], got {per}"),
                );
            }
            if rc.value.is_some() {
                c.err(
                    &k("value"),
                    "`value` belongs to a baseline comparison".into(),
                );
            }
            if rc.drift_per_year != 0.0 {
                c.err(
                    &k("drift_per_year"),
                    "`drift_per_year` belongs to a baseline comparison".into(),
                );
            }
            Comparison::Simulated {
                per_participant: per,
            }
        }
        Some(ComparisonKind::Baseline) => {
            let value = rc.value.unwrap_or_else(|| {
                c.err(
                    &k("value"),
                    "a baseline comparison needs the measure's historical `value`".into(),
                );
                1.0
            });
            if !(value.is_finite() && value > 0.0) {
                c.err(&k("value"), format!("must be positive, got {value}"));
            }
            if matches!(measure, Some(Measure::Binary | Measure::TimeInState)) && value > 1.0 {
                c.err(
                    &k("value"),
                    format!("a binary or time-in-state measure is a share in (0, 1], got {value}"),
                );
            }
            if rc.per_participant.is_some() {
                c.err(
                    &k("per_participant"),
                    "`per_participant` belongs to a simulated comparison".into(),
                );
            }
            if !(rc.drift_per_year.is_finite() && rc.drift_per_year > -1.0) {
                c.err(
                    &k("drift_per_year"),
                    format!("must be above -1, got {}", rc.drift_per_year),
                );
            }
            Comparison::Baseline {
                value,
                drift_per_year: rc.drift_per_year,
            }
        }
        None => Comparison::Simulated {
            per_participant: 1.0,
        },
    }
}

/// The measurement cohorts: referral months `from..to`, in order and not
/// overlapping, each measured once every event of its last month could
/// have happened.
fn cohorts(
    c: &mut Checker,
    key: &str,
    r: &RawImprovement,
    measured: &[usize],
    segments: &[Segment],
    time: Time,
) -> Vec<MeasurementCohort> {
    // Months after referral by which every measured event has happened.
    let follow_up = measured
        .iter()
        .map(|&s| match &segments[s].outcome {
            OutcomeProcess::AdverseEvents(a) => a.follow_up,
            OutcomeProcess::TimeInState(a) => a.follow_up,
            OutcomeProcess::Sustained(o) => o.window + o.qualifying_months - 1,
        })
        .max()
        .unwrap_or(1);
    let lag = c.months(
        &format!("{}measurement_lag_months", key.trim_end_matches("cohorts")),
        r.measurement_lag_months,
        0,
    );
    let referral_months = time.referral_months;
    if r.cohorts.is_empty() {
        c.err(key, "at least one measurement cohort is required".into());
    }
    let mut previous: Option<&RawMeasurementCohort> = None;
    let mut cohorts = Vec::new();
    for (j, mc) in r.cohorts.iter().enumerate() {
        let kc = format!("{key}[{j}]");
        let (from, to) = (mc.from_month as usize, mc.to_month as usize);
        if from >= to || to > referral_months {
            c.err(&format!("{kc}.to_month"), format!("a cohort is referral months from_month..to_month with from_month < to_month <= referral_months ({referral_months}); got {from}..{to}"));
        }
        if previous.is_some_and(|p| from < p.to_month as usize) {
            c.err(
                &format!("{kc}.from_month"),
                "cohorts must not overlap and must be in order".into(),
            );
        }
        previous = Some(mc);
        cohorts.push(MeasurementCohort {
            from,
            to,
            threshold_ppm: threshold_ppm(c, &format!("{kc}.threshold"), mc.threshold),
            measured_in: to.max(1) - 1 + follow_up + lag,
            interims_measured_in: Vec::new(),
        });
    }
    cohorts
}

/// `interim_months`: months of follow-up after which a time-in-state rule
/// also measures and pays each cohort, increasing and each shorter than
/// every measured segment's follow-up (the end of the follow-up is the
/// cohort's own measurement).
fn interim_months(
    c: &mut Checker,
    key: &str,
    r: &RawImprovement,
    measured: &[usize],
    segments: &[Segment],
    measure: Option<Measure>,
) -> Vec<usize> {
    if r.interim_months.is_empty() {
        return Vec::new();
    }
    if measure != Some(Measure::TimeInState) {
        c.err(
            key,
            "interim payments belong to a \"time_in_state\" measure".into(),
        );
        return Vec::new();
    }
    let shortest = measured
        .iter()
        .filter_map(|&s| segments[s].time_in_state().map(|a| a.follow_up))
        .min()
        .unwrap_or(1);
    let mut months = Vec::new();
    for (i, &m) in r.interim_months.iter().enumerate() {
        let m = m as usize;
        if m == 0 || m >= shortest {
            c.err(&format!("{key}[{i}]"), format!("an interim measurement is after 1 to {} months of follow-up (before the end of the shortest follow-up, {shortest} months), got {m}", shortest.saturating_sub(1)));
            continue;
        }
        if months.last().is_some_and(|&p| m <= p) {
            c.err(
                &format!("{key}[{i}]"),
                "interim months must be increasing".into(),
            );
            continue;
        }
        months.push(m);
    }
    months
}

/// `comparison.interim_values`: a baseline share for each interim (the
/// baseline's share of the first months of follow-up, which is not its
/// share of the whole follow-up when the state builds up over time).
fn interim_baselines(
    c: &mut Checker,
    key: &str,
    r: &RawImprovement,
    interim_months: &[usize],
) -> Vec<f64> {
    let Some(values) = &r.comparison.interim_values else {
        return Vec::new();
    };
    let key = format!("{key}.interim_values");
    if r.comparison.kind != "baseline" || r.interim_months.is_empty() {
        c.err(
            &key,
            "`interim_values` belong to a baseline comparison of a rule with `interim_months`"
                .into(),
        );
        return Vec::new();
    }
    if values.len() != r.interim_months.len() {
        c.err(
            &key,
            format!(
                "one value per entry of `interim_months` ({}), got {}",
                r.interim_months.len(),
                values.len()
            ),
        );
    }
    for (i, &v) in values.iter().enumerate() {
        if !(v.is_finite() && v > 0.0 && v <= 1.0) {
            c.err(
                &format!("{key}[{i}]"),
                format!("a baseline share in (0, 1] is expected, got {v}"),
            );
        }
    }
    if values.len() != interim_months.len() {
        return Vec::new();
    }
    values.clone()
}

/// A relative improvement in [0, 1], in parts per million.
fn threshold_ppm(c: &mut Checker, key: &str, v: f64) -> i64 {
    if !(0.0..=1.0).contains(&v) {
        c.err(
            key,
            format!("a relative improvement in [0, 1] is expected (10% is 0.10), got {v}"),
        );
    }
    (v * 1e6).round() as i64
}

/// `requires`: the index of an earlier rule that measures the same cohorts
/// in the same months, and has a final measurement if `rule` has one.
fn hurdle(
    c: &mut Checker,
    key: &str,
    i: usize,
    raw: &[RawImprovement],
    earlier: &[ImprovementRule],
    rule: &ImprovementRule,
) -> Option<usize> {
    let name = raw[i].requires.as_ref()?;
    let labels: Vec<&str> = raw.iter().map(|r| r.label.as_str()).collect();
    let j = match labels.iter().position(|l| l == name) {
        Some(j) if j < i => j,
        Some(_) => {
            c.err(
                key,
                format!("`{name}` must be listed before the rule that requires it"),
            );
            return None;
        }
        None => {
            c.err_help(
                key,
                format!("`{name}` is not the label of an improvement rule"),
                suggest(name, &labels),
            );
            return None;
        }
    };
    let hurdle = &earlier[j];
    let same = hurdle.cohorts.len() == rule.cohorts.len()
        && hurdle.cohorts.iter().zip(&rule.cohorts).all(|(a, b)| {
            a.from == b.from
                && a.to == b.to
                && a.measured_in == b.measured_in
                && a.interims_measured_in == b.interims_measured_in
        });
    if !same {
        c.err(
            key,
            format!(
                "a hurdle rule must measure the same cohorts in the same months; `{}` does not",
                raw[j].label
            ),
        );
    }
    if rule.final_threshold_ppm.is_some() && hurdle.final_threshold_ppm.is_none() {
        c.err(
            key,
            format!(
                "this rule has a final measurement but its hurdle `{}` has none to meet",
                raw[j].label
            ),
        );
    }
    Some(j)
}
