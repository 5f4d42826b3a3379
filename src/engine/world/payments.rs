//! Step 5 of a month: payments (reference model §5-6, §8). What falls due
//! is paid under the yearly and whole-contract caps, in a fixed order of
//! rules; the co-funder pays its share of results payments; the prime
//! passes each active subcontractor its share of what was actually paid
//! for that subcontractor's participants; investors are repaid from their
//! provider's results receipts. After the prime fails, nothing is paid.

use super::{
    Books, ByRule, CommissionerResult, Contract, GroupDues, Investors, Month, People, Providers,
    Service, State,
};
use crate::engine::money::Due;
use crate::model::{CO_FUNDER, COMMISSIONER, PRIME, PayerRule, Pence};

/// What falls due this month, by rule, over every delivery group.
#[derive(Clone, Copy, Debug, Default)]
struct ByRuleDue {
    fixed_fees: Pence,
    attachment: Pence,
    outcome: Pence,
    sustainment: Pence,
    improvement: Pence,
}

impl ByRuleDue {
    fn of(books: &Books, t: usize) -> ByRuleDue {
        let mut due = ByRuleDue {
            fixed_fees: books.service_fee.at(t) + books.fee_for_service.at(t),
            ..Default::default()
        };
        for dues in &books.group_dues {
            due.attachment += dues.attachment.at(t);
            due.outcome += dues.outcome.at(t);
            due.sustainment += dues.sustainment.at(t);
            due.improvement += dues.improvement.at(t);
        }
        due
    }

    fn total(&self) -> Pence {
        self.fixed_fees + self.attachment + self.outcome + self.sustainment + self.improvement
    }

    fn results(&self) -> Pence {
        self.outcome + self.sustainment + self.improvement
    }
}

/// `owed`'s part of `paid` when `due` fell due, rounded down: `owed *
/// paid / due` (nothing when nothing was due).
fn pro_rata(owed: Pence, paid: Pence, due: Pence) -> Pence {
    if due > 0 {
        ((owed as i128 * paid as i128) / due as i128) as Pence
    } else {
        0
    }
}

/// Pays what falls due this month (within the horizon).
pub(super) fn pay(contract: &Contract, month: Month, state: &mut State) {
    let State {
        people,
        books,
        providers,
        investors,
        commissioner,
        live,
        risk,
        instruments,
        ..
    } = state;
    let due = ByRuleDue::of(books, month.t);
    if !*live {
        commissioner.cancelled += due.total();
        return;
    }
    let paid = pay_under_caps(contract, month, due, books, commissioner);
    let results = paid.results();
    providers.results_received.fill(0);
    providers.results_received[0] = results;
    let passed = pass_through(
        contract,
        month,
        due,
        paid,
        people,
        books,
        providers,
        commissioner,
    );
    risk.received(&providers.results_received);
    super::instruments::on_receipts(
        contract,
        month,
        results - passed,
        &mut books.ledger,
        providers,
        instruments,
        commissioner,
    );
    repay_investors(contract, month, books, providers, investors);
}

/// Pays `due` in rule order until a cap is reached; returns what was paid
/// of each rule.
fn pay_under_caps(
    contract: &Contract,
    month: Month,
    due: ByRuleDue,
    books: &mut Books,
    commissioner: &mut CommissionerResult,
) -> ByRuleDue {
    let Contract { model, .. } = contract;
    let (t, year) = (month.t, month.year);
    let mut allowance = Pence::MAX;
    if let Some(cap) = model.payments.cap_per_year {
        allowance = allowance.min(cap - books.paid_in_year[year]);
    }
    if let Some(cap) = model.payments.cap_total {
        allowance = allowance.min(cap - books.paid_in_year.iter().sum::<Pence>());
    }
    let mut pay = |due: Pence| {
        let paid = due.min(allowance.max(0));
        allowance -= paid;
        paid
    };
    let paid = ByRuleDue {
        fixed_fees: pay(due.fixed_fees),
        attachment: pay(due.attachment),
        outcome: pay(due.outcome),
        sustainment: pay(due.sustainment),
        improvement: pay(due.improvement),
    };
    commissioner.removed_by_contract_cap += (due.fixed_fees - paid.fixed_fees)
        + (due.attachment - paid.attachment)
        + (due.outcome - paid.outcome)
        + (due.sustainment - paid.sustainment)
        + (due.improvement - paid.improvement);
    // What was paid of the fixed fees, split between the two rules.
    let fee_for_service = pro_rata(books.fee_for_service.at(t), paid.fixed_fees, due.fixed_fees);
    commissioner.paid.service_fee += paid.fixed_fees - fee_for_service;
    commissioner.paid.fee_for_service += fee_for_service;
    let clawback = books.clawback.at(t);
    if clawback > 0 {
        super::payers::refund(model, month, PayerRule::FeeForService, clawback, books);
        commissioner.paid.fee_for_service -= clawback;
        commissioner.clawed_back += clawback;
    }
    paid_by_segment(contract, t, &due, &paid, books);
    commissioner.paid.attachment += paid.attachment;
    commissioner.paid.outcome += paid.outcome;
    commissioner.paid.sustainment += paid.sustainment;
    commissioner.paid.improvement += paid.improvement;
    let total = paid.total();
    books.paid_in_year[year] += total;
    if model.shared_payments() {
        let rules = [
            (PayerRule::ServiceFee, paid.fixed_fees - fee_for_service),
            (PayerRule::FeeForService, fee_for_service),
            (PayerRule::Attachment, paid.attachment),
            (PayerRule::Outcome, paid.outcome),
            (PayerRule::Sustainment, paid.sustainment),
            (PayerRule::Improvement, paid.improvement),
        ];
        for (rule, amount) in rules {
            super::payers::pay(model, month, rule, amount, books);
        }
        return paid;
    }
    let co_share = model.co_funder.as_ref().map_or(0.0, |f| f.share);
    let co_funded = (paid.results() as f64 * co_share).round() as Pence;
    commissioner.co_funded += co_funded;
    books
        .ledger
        .transfer(COMMISSIONER, PRIME, t, total - co_funded);
    books.ledger.transfer(CO_FUNDER, PRIME, t, co_funded);
    paid
}

/// Shares each rule's payment among the segments whose participants earned
/// it: what each segment had falling due, cut pro rata when a contract cap
/// paid less than was due (rounded down, the first segment with something
/// due taking the remainder, so segments add up to the rule's payment
/// exactly).
fn paid_by_segment(
    contract: &Contract,
    t: usize,
    due: &ByRuleDue,
    paid: &ByRuleDue,
    books: &mut Books,
) {
    type Rule = (
        fn(&GroupDues) -> &Due,
        Pence,
        Pence,
        fn(&mut ByRule) -> &mut Pence,
    );
    let rules: [Rule; 4] = [
        (
            |d| &d.attachment,
            due.attachment,
            paid.attachment,
            |b| &mut b.attachment,
        ),
        (
            |d| &d.outcome,
            due.outcome,
            paid.outcome,
            |b| &mut b.outcome,
        ),
        (
            |d| &d.sustainment,
            due.sustainment,
            paid.sustainment,
            |b| &mut b.sustainment,
        ),
        (
            |d| &d.improvement,
            due.improvement,
            paid.improvement,
            |b| &mut b.improvement,
        ),
    ];
    let Books {
        group_dues,
        segment_due,
        paid_by_segment,
        ..
    } = books;
    for (rule_due, due, paid, field) in rules {
        if paid == 0 {
            continue;
        }
        segment_due.fill(0);
        for (dues, gp) in group_dues.iter().zip(&contract.plan.groups) {
            segment_due[gp.segment] += rule_due(dues).at(t);
        }
        let mut left = paid;
        let mut first = None;
        for (segment, &owed) in segment_due.iter().enumerate() {
            if owed == 0 {
                continue;
            }
            first.get_or_insert(segment);
            let share = if paid == due {
                owed
            } else {
                pro_rata(owed, paid, due)
            };
            left -= share;
            *field(&mut paid_by_segment[segment]) += share;
        }
        if let Some(segment) = first {
            *field(&mut paid_by_segment[segment]) += left;
        }
    }
}

/// The prime passes each active subcontractor its share of the results
/// payments made for that subcontractor's participants (pro rata under a
/// contract cap), and the same share of a blended payment's fee for them
/// (pro rata to what was paid of the attachment rule), less its management
/// fee; returns what it passed down of the results payments, gross of the
/// fee.
#[allow(clippy::too_many_arguments)]
fn pass_through(
    contract: &Contract,
    month: Month,
    due: ByRuleDue,
    paid: ByRuleDue,
    people: &People,
    books: &mut Books,
    providers: &mut Providers,
    commissioner: &mut CommissionerResult,
) -> Pence {
    let Contract { model, plan, .. } = contract;
    let results = paid.results();
    let mut passed = 0;
    for (group, gp) in plan.groups.iter().enumerate() {
        let dues = &books.group_dues[group];
        let group_paid = pro_rata(dues.results_at(month.t), results, due.results());
        let fee_paid = pro_rata(
            dues.blended_fee.at(month.t),
            paid.attachment,
            due.attachment,
        );
        if people.groups[group].service != Service::Active
            || providers.failed[gp.provider].is_some()
        {
            continue;
        }
        if let Some(terms) = &model.providers[gp.provider].terms {
            let of_results = (group_paid as f64 * terms.pass_through).round() as Pence;
            let of_fee = (fee_paid as f64 * terms.pass_through).round() as Pence;
            let gross = of_results + of_fee;
            let account = model.account_of(gp.provider);
            let kept = books
                .ledger
                .pass_down(account, month.t, gross, terms.management_fee);
            commissioner.management_fees += kept;
            providers.results_received[gp.provider] += gross - kept;
            passed += of_results;
        }
    }
    passed
}

/// Investors are repaid first from their provider's results receipts, up
/// to what their cap still allows; once the cap is reached they take
/// `excess_share` of the rest. They are paid only from cash the provider
/// has, so a repayment never creates a shortfall that capital would then
/// refill; investors in the same provider are paid in turn from what is
/// left.
fn repay_investors(
    contract: &Contract,
    month: Month,
    books: &mut Books,
    providers: &mut Providers,
    investors: &mut Investors,
) {
    let Contract { model, .. } = contract;
    for (i, investor) in model.investors.iter().enumerate() {
        let funded = investor.funds;
        if providers.failed[funded].is_some() || investors.drawn[i] == 0 {
            continue;
        }
        let account = model.account_of(funded);
        let cash_now = (providers.cash[funded] + books.ledger.flow(account, month.t)).max(0);
        let available = providers.results_received[funded].min(cash_now);
        let cap_left = (investors.owed[i].floor() as Pence).max(0);
        let repay = available.min(cap_left);
        let excess = if repay == cap_left {
            ((available - repay) as f64 * investor.excess_share).round() as Pence
        } else {
            0
        };
        books
            .ledger
            .transfer(account, model.investor_account(i), month.t, repay + excess);
        investors.repaid[i] += repay + excess;
        providers.results_received[funded] -= repay + excess;
        investors.owed[i] -= repay as f64;
    }
}
