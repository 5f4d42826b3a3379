//! `[termination]`: when the commissioner may end the contract early, and
//! what it pays the prime when it does.

use super::{Checker, MAX_AMOUNT, MAX_MONTHS, Time, shown};
use crate::error::suggest;
use crate::model::{
    COMMISSIONER, Consequence, MinimumPerformance, NetTrigger, Provider, Segment, Termination,
    to_pence,
};
use crate::scenario::raw::{RawMinimumPerformance, RawTermination};

/// `[termination]`, if the scenario has it.
pub fn termination(
    c: &mut Checker,
    raw: Option<&RawTermination>,
    time: Time,
    providers: &[Provider],
    segments: &[Segment],
) -> Option<Termination> {
    let raw = raw?;
    let break_month = raw.break_month.map(|m| {
        let m = m as usize;
        if m >= time.horizon {
            c.err(
                "termination.break_month",
                format!(
                    "must be a month of the contract, 0 to horizon_months - 1 ({}), got {m}",
                    time.horizon - 1
                ),
            );
            return 0;
        }
        m
    });
    let on_net = raw.on_net.as_ref().map(|t| {
        let mut parties: Vec<&str> = vec!["commissioner"];
        parties.extend(providers.iter().map(|p| p.id.as_str()));
        let account = match parties.iter().position(|p| *p == t.party) {
            Some(0) => COMMISSIONER,
            Some(d) => crate::model::PRIME + d - 1,
            None => {
                c.err_help(
                    "termination.on_net.party",
                    format!(
                        "`{}` is not the commissioner, the prime or a subcontractor",
                        t.party
                    ),
                    suggest(&t.party, &parties),
                );
                COMMISSIONER
            }
        };
        if !(t.below.is_finite() && t.below.abs() <= MAX_AMOUNT) {
            c.err(
                "termination.on_net.below",
                format!(
                    "must be an amount of money between -{MAX_AMOUNT:e} and {MAX_AMOUNT:e}, got {}",
                    shown(t.below)
                ),
            );
            return NetTrigger { account, below: 0 };
        }
        NetTrigger {
            account,
            below: to_pence(t.below),
        }
    });
    let minimum_performance: Vec<MinimumPerformance> = raw
        .minimum_performance
        .iter()
        .enumerate()
        .map(|(j, r)| {
            let key = format!("termination.minimum_performance[{j}]");
            minimum(c, &key, r, time, providers, segments)
        })
        .collect();
    let shifts_from = |r: &MinimumPerformance, s: usize| {
        matches!(r.consequence, Consequence::Shift { .. }) && r.segments.contains(&s)
    };
    for (j, r) in minimum_performance.iter().enumerate() {
        let earlier = &minimum_performance[..j];
        if r.segments.iter().any(|&s| {
            shifts_from(r, s)
                && earlier
                    .iter()
                    .any(|e| e.provider == r.provider && shifts_from(e, s))
        }) {
            c.err(
                &format!("termination.minimum_performance[{j}].consequence"),
                "an earlier level already shifts this provider's referrals in one of these segments".into(),
            );
        }
        if earlier.iter().any(|e| e.label == r.label) {
            c.err(
                &format!("termination.minimum_performance[{j}].label"),
                format!("`{}` names an earlier level too", r.label),
            );
        }
    }
    if break_month.is_none() && on_net.is_none() && minimum_performance.is_empty() {
        c.err(
            "termination",
            "says nothing ends the contract: give break_month, [termination.on_net] or [[termination.minimum_performance]]"
                .into(),
        );
    }
    let notice_months = if raw.notice_months > MAX_MONTHS {
        c.err(
            "termination.notice_months",
            format!(
                "must be between 0 and {MAX_MONTHS} months, got {}",
                raw.notice_months
            ),
        );
        0
    } else {
        raw.notice_months as usize
    };
    Some(Termination {
        break_month,
        on_net,
        notice_months,
        payment: c.money("termination.payment", raw.payment),
        minimum_performance,
    })
}

/// A shift of referrals: from the level's provider (which it must name) to
/// `shift_to`, which must have a delivery group in each of the level's
/// segments (a positive allocation there, or be the prime).
fn shift(
    c: &mut Checker,
    key: &str,
    r: &RawMinimumPerformance,
    providers: &[Provider],
    all: &[Segment],
    provider: Option<usize>,
    segments: &[usize],
) -> Consequence {
    let k = |f: &str| format!("{key}.{f}");
    if provider.is_none() {
        c.err(
            &k("provider"),
            "a shift of referrals needs the provider they move from".into(),
        );
    }
    let ids: Vec<&str> = providers.iter().map(|p| p.id.as_str()).collect();
    let to = match r.shift_to.as_deref() {
        None => {
            c.err(
                &k("shift_to"),
                "a shift needs the provider the referrals move to".into(),
            );
            0
        }
        Some(name) => ids.iter().position(|p| *p == name).unwrap_or_else(|| {
            c.err_help(
                &k("shift_to"),
                format!("`{name}` is not the prime or a subcontractor"),
                suggest(name, &ids),
            );
            0
        }),
    };
    if provider == Some(to) {
        c.err(
            &k("shift_to"),
            "referrals cannot shift to the provider they move from".into(),
        );
    }
    for &s in segments {
        if to != 0 && all[s].allocation[to] <= 0.0 {
            c.err(
                &k("shift_to"),
                format!(
                    "`{}` receives no referrals of segment `{}`: referrals can shift only to the prime or to a provider with a positive allocation there",
                    ids[to], all[s].id
                ),
            );
        }
    }
    let share = match r.share {
        None => {
            c.err(
                &k("share"),
                "a shift needs the share of referrals moved".into(),
            );
            0.0
        }
        Some(v) => c.prob(&k("share"), v),
    };
    Consequence::Shift { to, share }
}

/// One minimum performance level, its keys checked at `key.*`.
fn minimum(
    c: &mut Checker,
    key: &str,
    r: &RawMinimumPerformance,
    time: Time,
    providers: &[Provider],
    all: &[Segment],
) -> MinimumPerformance {
    let k = |f: &str| format!("{key}.{f}");
    c.label(&k("label"), &r.label);
    let sustained: Vec<&str> = all
        .iter()
        .filter(|s| s.sustained().is_some())
        .map(|s| s.id.as_str())
        .collect();
    let names: Vec<&str> = match &r.segments {
        Some(list) => list.iter().map(|s| s.as_str()).collect(),
        None => sustained.clone(),
    };
    if names.is_empty() {
        c.err(
            &k("segments"),
            "no segment to measure: outcomes per referral need sustained-outcome segments".into(),
        );
    }
    let mut segments = Vec::new();
    for (j, name) in names.iter().enumerate() {
        match all.iter().position(|s| s.id == *name) {
            Some(s) if all[s].sustained().is_some() => segments.push(s),
            Some(_) => c.err(
                &format!("{}[{j}]", k("segments")),
                format!("`{name}` has adverse events, not outcomes: it cannot be measured in outcomes per referral"),
            ),
            None => c.err_help(
                &format!("{}[{j}]", k("segments")),
                format!("`{name}` is not a segment"),
                suggest(name, &sustained),
            ),
        }
    }
    let provider = r.provider.as_ref().map(|name| {
        let ids: Vec<&str> = providers.iter().map(|p| p.id.as_str()).collect();
        ids.iter().position(|p| p == name).unwrap_or_else(|| {
            c.err_help(
                &k("provider"),
                format!("`{name}` is not the prime or a subcontractor"),
                suggest(name, &ids),
            );
            0
        })
    });
    let (from, to) = (r.from_month as usize, r.to_month as usize);
    let (from, to) = if from >= to || to > time.horizon {
        c.err(
            &k("to_month"),
            format!(
                "the period must be months from_month .. to_month - 1 within the horizon: 0 <= from_month < to_month <= horizon_months ({}), got {from} .. {to}",
                time.horizon
            ),
        );
        (0, 1)
    } else {
        (from, to)
    };
    let minimum = c.prob(&k("minimum"), r.minimum);
    let mut consequence = c.choose_or(&k("consequence"), Some(&r.consequence), Consequence::End);
    if let Consequence::Shift { .. } = consequence {
        consequence = shift(c, key, r, providers, all, provider, &segments);
    } else if r.shift_to.is_some() || r.share.is_some() {
        c.err(
            &k("consequence"),
            "shift_to and share belong to consequence = \"shift\"".into(),
        );
    }
    MinimumPerformance {
        label: r.label.clone(),
        segments,
        provider,
        from,
        to,
        minimum_ppm: (minimum * 1e6).round() as i64,
        consequence,
    }
}
