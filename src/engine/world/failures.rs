//! Step 6 of a month: cash, investors and failure (reference model §7-8).
//! Investors first fund their provider's shortfall up to their committed
//! capital; then a provider whose cash is below minus its credit line at
//! the month's end fails: it stops paying and receiving, its participants
//! transfer to the prime or lose the service, and the commissioner bears a
//! re-procurement cost. The prime failing ends the contract.

use super::{Contract, Month, Service, State};
use crate::model::{COMMISSIONER, OnFailure, ReturnCap};

/// Investors fund what their provider's cash would otherwise lack.
pub(super) fn fund_shortfalls(contract: &Contract, month: Month, state: &mut State) {
    let Contract { model, .. } = contract;
    let State {
        books,
        providers,
        investors,
        ..
    } = state;
    for (i, investor) in model.investors.iter().enumerate() {
        let funded = investor.funds;
        if providers.failed[funded].is_some() {
            continue;
        }
        let projected =
            providers.cash[funded] + books.ledger.flow(model.account_of(funded), month.t);
        let drawn = investors.drawn[i];
        let draw = (-projected).min(investor.committed - drawn);
        if draw > 0 {
            books.ledger.transfer(
                model.investor_account(i),
                model.account_of(funded),
                month.t,
                draw,
            );
            investors.drawn[i] += draw;
            // What the cap allows grows with each draw.
            investors.owed[i] += match investor.cap {
                ReturnCap::Multiple(m) => m * draw as f64,
                ReturnCap::AnnualRate(_) => draw as f64,
            };
        }
    }
}

/// Closes the month's cash of every provider still standing and fails
/// those beyond their credit line; the prime failing ends the contract.
pub(super) fn fail(contract: &Contract, month: Month, state: &mut State) {
    let Contract { model, plan, .. } = contract;
    let State {
        people,
        books,
        providers,
        commissioner,
        live,
        ..
    } = state;
    let outside = books.ledger.external();
    for (index, provider) in model.providers.iter().enumerate() {
        if providers.failed[index].is_some() {
            continue;
        }
        providers.cash[index] += books.ledger.flow(model.account_of(index), month.t);
        if providers.cash[index] >= -provider.credit_line {
            continue;
        }
        providers.failed[index] = Some(month.t);
        books
            .ledger
            .transfer(COMMISSIONER, outside, month.t, provider.reprocurement_cost);
        commissioner.own_costs += provider.reprocurement_cost;
        let Some(terms) = &provider.terms else {
            continue;
        };
        let service = match terms.on_failure {
            OnFailure::Transfer => Service::Transferred,
            OnFailure::LoseService => Service::Unserved,
        };
        for (participants, gp) in people.groups.iter_mut().zip(&plan.groups) {
            if gp.provider == index {
                participants.service = service;
            }
        }
    }
    if providers.failed[0].is_some() {
        *live = false;
        for participants in &mut people.groups {
            participants.service = Service::Unserved;
        }
    }
}
