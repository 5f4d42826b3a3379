//! `[payers.<id>]` and `[pooled_budget]`: public bodies sharing the
//! contract's payments and savings, and the pot they may pay into.

use super::choice::Choice;
use super::{Checker, RESERVED_IDS};
use crate::error::suggest;
use crate::model::{
    Investor, Payer, PayerRule, PoolEnd, PooledBudget, Provider, SHARE_UNIT, Segment,
};
use crate::scenario::raw::{RawPayer, RawPooledBudget};
use indexmap::IndexMap;

impl Choice for PoolEnd {
    const WHAT: &'static str = "end of a pooled budget";
    const CHOICES: &'static [(&'static str, Self)] =
        &[("return", PoolEnd::Return), ("keep", PoolEnd::Keep)];
}

/// The parties already named, against which payer ids are checked.
pub struct Named<'a> {
    pub providers: &'a [Provider],
    pub investors: &'a [Investor],
    pub segments: &'a [Segment],
}

/// A share in [0, 1] as parts per [`SHARE_UNIT`].
fn parts(share: f64) -> i64 {
    (share * SHARE_UNIT as f64).round() as i64
}

/// The rule named `name` at `key`, or a problem with a suggestion.
fn rule(c: &mut Checker, key: &str, name: &str) -> Option<PayerRule> {
    if let Some((_, r)) = PayerRule::ALL.iter().find(|(n, _)| *n == name) {
        return Some(*r);
    }
    let names: Vec<&str> = PayerRule::ALL.iter().map(|(n, _)| *n).collect();
    c.err_help(
        key,
        format!(
            "`{name}` is not a payment rule; the rules are {}",
            names.join(", ")
        ),
        suggest(name, &names),
    );
    None
}

/// `[pooled_budget]`.
pub fn pooled_budget(c: &mut Checker, raw: Option<&RawPooledBudget>) -> Option<PooledBudget> {
    let raw = raw?;
    let mut rules = [true; PayerRule::ALL.len()];
    if let Some(names) = &raw.rules {
        rules = [false; PayerRule::ALL.len()];
        for (i, name) in names.iter().enumerate() {
            if let Some(r) = rule(c, &format!("pooled_budget.rules[{i}]"), name) {
                rules[r.index()] = true;
            }
        }
    }
    Some(PooledBudget {
        label: raw
            .label
            .clone()
            .unwrap_or_else(|| "Pooled budget".to_string()),
        upfront: c.money(
            "pooled_budget.contribution_upfront",
            raw.contribution_upfront,
        ),
        per_year: c.money(
            "pooled_budget.contribution_per_year",
            raw.contribution_per_year,
        ),
        rules,
        on_end: c.choose_or(
            "pooled_budget.on_end",
            raw.on_end.as_deref(),
            PoolEnd::Return,
        ),
    })
}

/// `[payers.<id>]`: each body's shares of the rules (those the pot does
/// not pay), of each segment's savings and of the pot; no rule, segment or
/// pot shared beyond the whole.
pub fn payers(
    c: &mut Checker,
    raw: &IndexMap<String, RawPayer>,
    pool: Option<&PooledBudget>,
    named: &Named,
) -> Vec<Payer> {
    let mut used: Vec<&str> = named.providers.iter().map(|p| p.id.as_str()).collect();
    used.extend(named.investors.iter().map(|i| i.id.as_str()));
    let segment_ids: Vec<&str> = named.segments.iter().map(|s| s.id.as_str()).collect();
    let mut payers = Vec::new();
    for (id, p) in raw {
        let k = |f: &str| format!("payers.{id}.{f}");
        c.label(&format!("payers.{id}"), id);
        if RESERVED_IDS.contains(&id.as_str()) || used.contains(&id.as_str()) {
            c.err(
                &format!("payers.{id}"),
                format!("`{id}` is already the id of a party; choose another id"),
            );
        }
        used.push(id);
        let share = c.prob(&k("share"), p.share);
        let mut rule_shares = [0; PayerRule::ALL.len()];
        for (_, r) in PayerRule::ALL {
            if !pool.is_some_and(|b| b.rules[r.index()]) {
                rule_shares[r.index()] = parts(share);
            }
        }
        for (name, &v) in &p.rules {
            let key = format!("payers.{id}.rules.{name}");
            let v = c.prob(&key, v);
            let Some(r) = rule(c, &key, name) else {
                continue;
            };
            if pool.is_some_and(|b| b.rules[r.index()]) {
                c.err(
                    &key,
                    format!("`{name}` is paid from the pooled budget; a body's part of it is its `pool_share`"),
                );
            }
            rule_shares[r.index()] = parts(v);
        }
        let default = c.prob(&k("savings_share"), p.savings_share);
        let mut savings_shares = vec![default; named.segments.len()];
        for (segment, &v) in &p.savings {
            let key = format!("payers.{id}.savings.{segment}");
            let v = c.prob(&key, v);
            match segment_ids.iter().position(|s| s == segment) {
                Some(s) => savings_shares[s] = v,
                None => c.err_help(
                    &key,
                    format!("`{segment}` is not a segment"),
                    suggest(segment, &segment_ids),
                ),
            }
        }
        let savings_uniform = savings_shares
            .iter()
            .all(|&s| s == default)
            .then_some(default);
        let pool_share = c.prob(&k("pool_share"), p.pool_share);
        if pool_share > 0.0 && pool.is_none() {
            c.err(
                &k("pool_share"),
                "there is no [pooled_budget] to pay into".to_string(),
            );
        }
        payers.push(Payer {
            id: id.clone(),
            label: p.label.clone().unwrap_or_else(|| id.clone()),
            rule_shares,
            budget_per_year: p.budget_per_year.map(|v| c.money(&k("budget_per_year"), v)),
            cap_total: p.cap_total.map(|v| c.money(&k("cap_total"), v)),
            savings_shares,
            savings_uniform,
            pool_share: parts(pool_share),
        });
    }
    for (name, r) in PayerRule::ALL {
        let total: i64 = payers.iter().map(|p| p.rule_shares[r.index()]).sum();
        if total > SHARE_UNIT {
            c.err(
                "payers",
                format!(
                    "the bodies' shares of `{name}` add up to {}, more than 1",
                    total as f64 / SHARE_UNIT as f64
                ),
            );
        }
    }
    for (s, segment) in segment_ids.iter().enumerate() {
        let total: f64 = payers.iter().map(|p| p.savings_shares[s]).sum();
        if total > 1.0 + 1e-9 {
            c.err(
                "payers",
                format!("the bodies' shares of the savings of segment `{segment}` add up to {total}, more than 1"),
            );
        }
    }
    let pooled: i64 = payers.iter().map(|p| p.pool_share).sum();
    if pooled > SHARE_UNIT {
        c.err(
            "payers",
            format!(
                "the bodies' pool shares add up to {}, more than 1",
                pooled as f64 / SHARE_UNIT as f64
            ),
        );
    }
    payers
}
