//! `[[volume_guarantees]]`, `[[advances]]` and `[alliance]`: the
//! risk-sharing instruments between the payers and the providers.

use super::{Checker, MAX_AMOUNT, Time, shown};
use crate::error::suggest;
use crate::model::{
    Advance, Alliance, Between, Compensation, Instruments, OnShortfall, Pence, Provider, Segment,
    VolumeGuarantee, to_pence,
};
use crate::scenario::raw::{NumOrList, RawAdvance, RawAlliance, RawScenario, RawVolumeGuarantee};
use indexmap::IndexMap;

/// The scenario's instruments, checked against its parties and segments.
pub fn instruments(
    c: &mut Checker,
    raw: &RawScenario,
    time: Time,
    providers: &[Provider],
    segments: &[Segment],
) -> Instruments {
    let volume_guarantees: Vec<VolumeGuarantee> = raw
        .volume_guarantees
        .iter()
        .enumerate()
        .map(|(j, r)| {
            guarantee(
                c,
                &format!("volume_guarantees[{j}]"),
                r,
                time,
                providers,
                segments,
            )
        })
        .collect();
    let advances: Vec<Advance> = raw
        .advances
        .iter()
        .enumerate()
        .map(|(j, r)| advance(c, &format!("advances[{j}]"), r, time, providers))
        .collect();
    // Labels name `contract.<label>.*` figures: one instrument each.
    let labels = volume_guarantees
        .iter()
        .map(|g| ("volume_guarantees", &g.label))
        .chain(advances.iter().map(|a| ("advances", &a.label)));
    let mut seen: Vec<&str> = Vec::new();
    let mut index = [0usize; 2];
    for (table, label) in labels {
        let j = usize::from(table == "advances");
        if seen.contains(&label.as_str()) {
            c.err(
                &format!("{table}[{}].label", index[j]),
                format!("`{label}` names an earlier volume guarantee or advance too"),
            );
        }
        seen.push(label);
        index[j] += 1;
    }
    let alliance = raw
        .alliance
        .as_ref()
        .map(|r| alliance(c, r, time, providers));
    Instruments {
        volume_guarantees,
        advances,
        alliance,
    }
}

/// `between = [payer, recipient]`: the commissioner and the prime, or the
/// prime and one of its subcontractors.
fn between(c: &mut Checker, key: &str, raw: &[String], providers: &[Provider]) -> Between {
    let ids: Vec<&str> = providers.iter().map(|p| p.id.as_str()).collect();
    match raw {
        [payer, recipient] if payer == "commissioner" && recipient == "prime" => {
            Between::CommissionerPrime
        }
        [payer, recipient] if payer == "prime" => {
            match ids.iter().skip(1).position(|p| p == recipient) {
                Some(d) => Between::PrimeSubcontractor(d + 1),
                None => {
                    c.err_help(
                        &format!("{key}[1]"),
                        format!("`{recipient}` is not a subcontractor of the prime"),
                        suggest(recipient, &ids[1..]),
                    );
                    Between::CommissionerPrime
                }
            }
        }
        _ => {
            c.err(
                key,
                format!(
                    "must be [\"commissioner\", \"prime\"] or [\"prime\", \"<subcontractor>\"] (payer, then recipient), got {raw:?}"
                ),
            );
            Between::CommissionerPrime
        }
    }
}

/// A non-negative amount of money at `key` (zero when refused).
fn positive_money(c: &mut Checker, key: &str, v: f64) -> Pence {
    let pence = c.money(key, v);
    if pence == 0 && v.is_finite() && v >= 0.0 {
        c.err(key, format!("must be a positive amount, got {}", shown(v)));
    }
    pence
}

/// One volume guarantee.
fn guarantee(
    c: &mut Checker,
    key: &str,
    r: &RawVolumeGuarantee,
    time: Time,
    providers: &[Provider],
    segments: &[Segment],
) -> VolumeGuarantee {
    let k = |f: &str| format!("{key}.{f}");
    c.label(&k("label"), &r.label);
    let between = between(c, &k("between"), &r.between, providers);
    let threshold = c.prob(&k("threshold"), r.threshold);
    let compensation = match (r.per_missing_referral, r.top_up) {
        (Some(price), None) => {
            Compensation::PerMissingReferral(c.money(&k("per_missing_referral"), price))
        }
        (None, Some(amount)) => Compensation::TopUp(c.money(&k("top_up"), amount)),
        _ => {
            c.err(
                key,
                "give exactly one of per_missing_referral and top_up".into(),
            );
            Compensation::TopUp(0)
        }
    };
    // The forecast is the referral plan at volume 1: the whole contract's
    // for the commissioner's guarantee, the allocated share for a
    // subcontractor's.
    let forecast: Vec<f64> = (0..time.referral_months)
        .map(|t| {
            segments
                .iter()
                .map(|s| {
                    let share = match between {
                        Between::CommissionerPrime => 1.0,
                        Between::PrimeSubcontractor(d) => {
                            s.allocation.get(d).copied().unwrap_or(0.0)
                        }
                    };
                    s.referrals.get(t).copied().unwrap_or(0.0) * s.volume * share
                })
                .sum()
        })
        .collect();
    if forecast.iter().all(|&f| f <= 0.0) && !segments.is_empty() {
        c.err(
            &k("between"),
            "the recipient is forecast no referrals: there is nothing to guarantee".into(),
        );
    }
    VolumeGuarantee {
        label: r.label.clone(),
        between,
        threshold,
        compensation,
        forecast,
    }
}

/// One working-capital advance.
fn advance(
    c: &mut Checker,
    key: &str,
    r: &RawAdvance,
    time: Time,
    providers: &[Provider],
) -> Advance {
    let k = |f: &str| format!("{key}.{f}");
    c.label(&k("label"), &r.label);
    let between = between(c, &k("between"), &r.between, providers);
    let amount = positive_money(c, &k("amount"), r.amount);
    let month = r.month as usize;
    let month = if month >= time.horizon {
        c.err(
            &k("month"),
            format!(
                "must be a month of the contract, 0 to horizon_months - 1 ({}), got {month}",
                time.horizon - 1
            ),
        );
        0
    } else {
        month
    };
    let recovery_share = if r.recovery_share > 0.0 && r.recovery_share <= 1.0 {
        r.recovery_share
    } else {
        c.err(
            &k("recovery_share"),
            format!(
                "must be a share in (0, 1] of later outcome payments, got {}",
                shown(r.recovery_share)
            ),
        );
        1.0
    };
    let on_shortfall = c.choose_or(
        &k("on_shortfall"),
        Some(&r.on_shortfall),
        OnShortfall::WriteOff,
    );
    Advance {
        label: r.label.clone(),
        between,
        amount,
        month,
        recovery_share,
        on_shortfall,
    }
}

/// Shares of providers named in a table, each in [0, 1] (members' shares
/// in (0, 1]), summing to one.
fn shares(
    c: &mut Checker,
    key: &str,
    raw: &IndexMap<String, f64>,
    providers: &[Provider],
    members: Option<&[f64]>,
) -> Vec<f64> {
    let ids: Vec<&str> = providers.iter().map(|p| p.id.as_str()).collect();
    let mut out = vec![0.0; providers.len()];
    for (id, &v) in raw {
        let at = format!("{key}.{id}");
        let Some(d) = ids.iter().position(|p| p == id) else {
            c.err_help(
                &at,
                format!("`{id}` is not the prime or a subcontractor"),
                suggest(id, &ids),
            );
            continue;
        };
        if let Some(members) = members
            && members[d] <= 0.0
        {
            c.err(&at, format!("`{id}` is not a member of the alliance"));
            continue;
        }
        let ok = if members.is_none() {
            v > 0.0 && v <= 1.0
        } else {
            (0.0..=1.0).contains(&v)
        };
        if !ok {
            let range = if members.is_none() {
                "(0, 1]"
            } else {
                "[0, 1]"
            };
            c.err(&at, format!("must be a share in {range}, got {}", shown(v)));
            continue;
        }
        out[d] = v;
    }
    let total: f64 = out.iter().sum();
    if (total - 1.0).abs() > 1e-9 {
        c.err(key, format!("shares must sum to 1, got {total}"));
    }
    out
}

/// `[alliance]`.
fn alliance(c: &mut Checker, r: &RawAlliance, time: Time, providers: &[Provider]) -> Alliance {
    let members = shares(c, "alliance.members", &r.members, providers, None);
    if !r.members.contains_key("prime") {
        c.err(
            "alliance.members",
            "the prime must be a member: it receives the contract's payments into the pot".into(),
        );
    }
    if r.members.len() < 2 {
        c.err(
            "alliance.members",
            "an alliance needs the prime and at least one subcontractor".into(),
        );
    }
    for (d, p) in providers.iter().enumerate() {
        let Some(terms) = &p.terms else { continue };
        if members[d] <= 0.0 {
            continue;
        }
        // A member is paid from the pot, not through subcontract terms:
        // both at once would pay it twice for the same results.
        for (name, given) in [
            ("pass_through", terms.pass_through > 0.0),
            ("fee_per_referral", terms.fee_per_referral > 0),
            ("monthly_fee", terms.monthly_fee > 0),
        ] {
            if given {
                c.err(
                    &format!("subcontractors.{}.{name}", p.id),
                    format!("`{}` is a member of the alliance: it is paid its share of the alliance's results pot, not by the prime's subcontract terms (leave {name} out)", p.id),
                );
            }
        }
    }
    let gain_pain_shares = match &r.gain_pain_shares {
        Some(raw) => shares(
            c,
            "alliance.gain_pain_shares",
            raw,
            providers,
            Some(&members),
        ),
        None => members.clone(),
    };
    let list = match &r.budget {
        NumOrList::One(x) => vec![*x],
        NumOrList::Many(l) if l.is_empty() => {
            c.err(
                "alliance.budget",
                "a budget list needs at least one year".into(),
            );
            vec![0.0]
        }
        NumOrList::Many(l) => l.clone(),
    };
    let many = matches!(r.budget, NumOrList::Many(_));
    let pence: Vec<Pence> = list
        .iter()
        .enumerate()
        .map(|(y, &x)| {
            if !(x.is_finite() && (0.0..=MAX_AMOUNT).contains(&x)) {
                let at = if many {
                    format!("alliance.budget[{y}]")
                } else {
                    "alliance.budget".to_string()
                };
                c.err(
                    &at,
                    format!(
                        "must be a non-negative amount of money, at most {MAX_AMOUNT:e}, got {}",
                        shown(x)
                    ),
                );
                return 0;
            }
            to_pence(x)
        })
        .collect();
    let budget = (0..time.years)
        .map(|y| pence[y.min(pence.len() - 1)])
        .collect();
    Alliance {
        shares: members,
        gain_pain_shares,
        budget,
    }
}

/// The most the instruments could move in one iteration, by key, in
/// pence: every guarantee's compensation for every forecast referral (or
/// every year's top-up), every advance paid and repaid, and the alliance's
/// budget settled each year.
pub fn reach_terms(model: &crate::model::Model, years: f64) -> Vec<(String, f64)> {
    let mut terms = Vec::new();
    let inst = &model.instruments;
    for (j, g) in inst.volume_guarantees.iter().enumerate() {
        let most = match g.compensation {
            Compensation::PerMissingReferral(p) => {
                p as f64 * g.forecast.iter().sum::<f64>() * g.threshold
            }
            Compensation::TopUp(p) => p as f64 * years,
        };
        terms.push((format!("volume_guarantees[{j}]"), most));
    }
    for (j, a) in inst.advances.iter().enumerate() {
        terms.push((format!("advances[{j}].amount"), 2.0 * a.amount as f64));
    }
    if let Some(a) = &inst.alliance {
        let budget: f64 = a.budget.iter().map(|&b| b as f64).sum();
        terms.push(("alliance.budget".into(), 2.0 * budget));
    }
    terms
}
