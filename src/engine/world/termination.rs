//! Step 7 of a month: the commissioner ends the contract early
//! (`[termination]`). A break at a given month, or a party's cumulative net
//! falling below a trigger (then after the notice), ends the contract at
//! the end of the month, as the prime's failure would: no more referrals,
//! costs or payments, and participants go without service. The prime has
//! not failed, though: the commissioner pays it the termination payment in
//! that month and no re-procurement cost is counted.

use super::{Contract, Month, Service, State};
use crate::model::{Consequence, MinimumPerformance};

/// Ends the contract at the end of `month` if a break falls in it.
pub(super) fn end_early(contract: &Contract, month: Month, state: &mut State) {
    let Some(terms) = &contract.model.termination else {
        return;
    };
    if !state.live {
        // The prime failed this month: the contract has ended already.
        return;
    }
    let t = month.t;
    for (level, rule) in terms.minimum_performance.iter().enumerate() {
        if rule.to != t + 1 {
            continue;
        }
        let (level_of, below) = measure_performance(contract, rule, state);
        state.measurements.performance[level] = (level_of, below);
        if !below {
            continue;
        }
        match rule.consequence {
            Consequence::End => {
                let ends = t + terms.notice_months;
                state.notice_ends = Some(state.notice_ends.map_or(ends, |e| e.min(ends)));
            }
            Consequence::Shift { to, share } => {
                let from = rule
                    .provider
                    .expect("validation: a shift names its provider");
                let providers = contract.model.providers.len();
                for &s in &rule.segments {
                    state.people.shifts[s * providers + from] = Some((to, share, level));
                }
            }
        }
    }
    if let Some(trigger) = &terms.on_net {
        state.watched_net += state.books.ledger.flow(trigger.account, t);
        if state.notice_ends.is_none() && state.watched_net < trigger.below {
            state.notice_ends = Some(t + terms.notice_months);
        }
    }
    if terms.break_month != Some(t) && state.notice_ends != Some(t) {
        return;
    }
    super::payers::pay(
        contract.model,
        month,
        crate::model::PayerRule::Termination,
        terms.payment,
        &mut state.books,
    );
    state.commissioner.paid.termination += terms.payment;
    state.ended_early = Some(t);
    state.live = false;
    for participants in &mut state.people.groups {
        participants.service = Service::Unserved;
    }
}

/// Outcome events per referral over the level's period, in the groups of
/// its segments at its provider (or every provider), and whether that is
/// below the minimum, decided exactly in integers. Without referrals the
/// level is not measured (NaN) and is not below.
fn measure_performance(
    contract: &Contract,
    rule: &MinimumPerformance,
    state: &State,
) -> (f64, bool) {
    let Contract { model, plan, .. } = contract;
    let (h, r) = (model.horizon, model.referral_months);
    let (mut referrals, mut outcomes) = (0u64, 0u64);
    for (group, gp) in plan.groups.iter().enumerate() {
        if !rule.segments.contains(&gp.segment) || rule.provider.is_some_and(|p| p != gp.provider) {
            continue;
        }
        let row = group * r;
        referrals += state.people.group_referrals[row + rule.from.min(r)..row + rule.to.min(r)]
            .iter()
            .sum::<u64>();
        outcomes += state.measurements.group_outcomes[group * h + rule.from..group * h + rule.to]
            .iter()
            .sum::<u64>();
    }
    if referrals == 0 {
        return (f64::NAN, false);
    }
    let below = (outcomes as i128) * 1_000_000 < (rule.minimum_ppm as i128) * (referrals as i128);
    (outcomes as f64 / referrals as f64, below)
}
