//! Step 4 of a month: delivery costs and fixed fees (reference model §5-6).
//! Each provider still standing pays its accrued delivery costs (times the
//! cost draw) and overhead, and a subcontractor receives its monthly fee;
//! the commissioner schedules the service fee and the fee for service,
//! whose referrals are reconciled at each contract year's end, and bears
//! its own management costs.

use super::{Books, CommissionerResult, Contract, Month, People, State};
use crate::engine::money::reconciliation;
use crate::model::{COMMISSIONER, Pence};

/// This month's costs and fixed fees (only while the contract is live).
pub(super) fn deliver(contract: &Contract, month: Month, state: &mut State) {
    let Contract { model, draws, .. } = contract;
    let State {
        people,
        books,
        providers,
        commissioner,
        ..
    } = state;
    let t = month.t;
    let outside = books.ledger.external();
    for (index, provider) in model.providers.iter().enumerate() {
        if providers.failed[index].is_some() {
            continue;
        }
        if t < provider.overhead_months {
            providers.accrued_cost[index] += provider.overhead_per_month;
        }
        let cost = (providers.accrued_cost[index] as f64 * draws.cost).round() as Pence;
        books
            .ledger
            .transfer(model.account_of(index), outside, t, cost);
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
