//! Step 7 of a month: the commissioner ends the contract early
//! (`[termination]`). A break at a given month, or a party's cumulative net
//! falling below a trigger (then after the notice), ends the contract at
//! the end of the month, as the prime's failure would: no more referrals,
//! costs or payments, and participants go without service. The prime has
//! not failed, though: the commissioner pays it the termination payment in
//! that month and no re-procurement cost is counted.

use super::{Contract, Month, Service, State};
use crate::model::{COMMISSIONER, PRIME};

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
    if let Some(trigger) = &terms.on_net {
        state.watched_net += state.books.ledger.flow(trigger.account, t);
        if state.notice_ends.is_none() && state.watched_net < trigger.below {
            state.notice_ends = Some(t + terms.notice_months);
        }
    }
    if terms.break_month != Some(t) && state.notice_ends != Some(t) {
        return;
    }
    state
        .books
        .ledger
        .transfer(COMMISSIONER, PRIME, t, terms.payment);
    state.commissioner.paid.termination += terms.payment;
    state.ended_early = Some(t);
    state.live = false;
    for participants in &mut state.people.groups {
        participants.service = Service::Unserved;
    }
}
