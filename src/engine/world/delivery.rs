//! Step 4 of a month: delivery costs and fixed fees (reference model §5-6).
//! Each provider still standing pays its accrued delivery costs (times the
//! cost draw) and overhead (with a fixed cost share, part of the unit costs
//! on the planned caseload's capacity whatever the volume), and a
//! subcontractor receives its monthly fee;
//! the commissioner schedules the service fee and the fee for service,
//! whose referrals are reconciled at each contract year's end, and bears
//! its own management costs.

use super::{Books, CommissionerResult, Contract, Month, People, State};
use crate::engine::money::reconciliation;
use crate::model::{COMMISSIONER, Pence, Provider};

/// This month's costs and fixed fees (only while the contract is live).
pub(super) fn deliver(contract: &Contract, month: Month, state: &mut State) {
    let Contract { model, draws, .. } = contract;
    let State {
        people,
        books,
        providers,
        commissioner,
        risk,
        ..
    } = state;
    let t = month.t;
    let outside = books.ledger.external();
    for (index, provider) in model.providers.iter().enumerate() {
        if providers.failed[index].is_some() {
            continue;
        }
        let overhead = if t < provider.overhead_months {
            provider.overhead_per_month
        } else {
            0
        };
        let caseload = providers.accrued_cost[index];
        if provider.fixed_cost_share > 0.0 {
            let h = model.horizon;
            let history = &mut providers.caseload_cost[index * h..(index + 1) * h];
            history[t] = caseload;
            let capacity = capacity(
                &contract.plan.planned_unit_costs[index],
                provider,
                t,
                history,
            );
            let (fixed, variable) = split_cost(provider, capacity, caseload, overhead, draws.cost);
            let account = model.account_of(index);
            books.ledger.transfer(account, outside, t, fixed);
            books.ledger.transfer(account, outside, t, variable);
            risk.delivered(index, fixed + variable);
            providers.delivered[index] += fixed + variable;
        } else {
            let cost = ((caseload + overhead) as f64 * draws.cost).round() as Pence;
            books
                .ledger
                .transfer(model.account_of(index), outside, t, cost);
            risk.delivered(index, cost);
            providers.delivered[index] += cost;
        }
        if let Some(terms) = &provider.terms
            && t < model.delivery_months
        {
            commissioner.management_fees += books.ledger.pass_down(
                model.account_of(index),
                t,
                terms.monthly_fee,
                terms.management_fee,
            );
        }
    }
    schedule_fixed_fees(contract, month, people, books, commissioner);
    if t < model.delivery_months {
        let own_costs = model.commissioner.own_costs_per_month;
        books.ledger.transfer(COMMISSIONER, outside, t, own_costs);
        commissioner.own_costs += own_costs;
    }
}

/// The capacity a provider pays for in month `t`, in pence at unit costs:
/// the planned caseload's cost, or after a notice of `N` months that cost
/// times the share of the plan the caseload of month `t - N` reached
/// (never above the plan: capacity steps down, and back up, but is not
/// expanded past it). `history` holds the caseload's cost by month.
pub(crate) fn capacity(planned: &[f64], provider: &Provider, t: usize, history: &[Pence]) -> f64 {
    match provider.capacity_notice_months {
        Some(notice) if t >= notice && planned[t - notice] > 0.0 => {
            let reached = history[t - notice] as f64 / planned[t - notice];
            planned[t] * reached.min(1.0)
        }
        _ => planned[t],
    }
}

/// A month's cost, fixed and variable, in pence: the fixed cost share of
/// the capacity plus the overhead, and the other `1 - share` of what the
/// actual caseload costs at unit costs; each times the cost draw and
/// rounded to the penny.
pub(crate) fn split_cost(
    provider: &Provider,
    capacity: f64,
    caseload: Pence,
    overhead: Pence,
    cost: f64,
) -> (Pence, Pence) {
    let share = provider.fixed_cost_share;
    let fixed = ((share * capacity + overhead as f64) * cost).round() as Pence;
    let variable = ((1.0 - share) * caseload as f64 * cost).round() as Pence;
    (fixed, variable)
}

/// The service fee and the fee for service: a monthly instalment, and at
/// a contract year's end (or the last referral month) a top-up or clawback
/// for the year's referrals outside the band around the baseline.
fn schedule_fixed_fees(
    contract: &Contract,
    month: Month,
    people: &People,
    books: &mut Books,
    commissioner: &mut CommissionerResult,
) {
    let Contract { model, .. } = contract;
    let (t, year) = (month.t, month.year);
    let payments = &model.payments;
    let beyond = &mut commissioner.beyond_horizon;
    if t < payments.service_fee_months {
        books.service_fee.add(
            t + payments.lags.service_fee,
            payments.service_fee[year],
            beyond,
        );
    }
    let Some(ffs) = &payments.fee_for_service else {
        return;
    };
    if t >= model.referral_months {
        return;
    }
    let instalment = (ffs.annual_fee[year] as f64 / 12.0).round() as Pence;
    books.fee_for_service.add(t + ffs.lag, instalment, beyond);
    if t % 12 == 11 || t + 1 == model.referral_months {
        let first = t - t % 12;
        let actual: u64 = (0..model.segments.len())
            .map(|s| people.referrals_in(s, first..=t, model))
            .sum();
        let amount = reconciliation(ffs, actual, t + 1 - first);
        if amount >= 0 {
            books.fee_for_service.add(t + ffs.lag, amount, beyond);
        } else {
            // A clawback due past the horizon nets off what is due there.
            let mut clawed_beyond = 0;
            books.clawback.add(t + ffs.lag, -amount, &mut clawed_beyond);
            *beyond -= clawed_beyond;
        }
    }
}
