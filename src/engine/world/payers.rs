//! Several public payers and a pooled budget (docs/model.md, section 12).
//! Each rule's payment in a month is shared among the public bodies: the
//! pooled budget pays the rules pooled in it while it has money; otherwise
//! each body pays its share of the rule, within its yearly budget and
//! whole-contract cap, and the commissioner pays the rest (what no body
//! takes, what a body's budget cannot pay, and the rounding). Savings are
//! shared by segment at the end of the iteration. Without `[payers]` or a
//! `[pooled_budget]`, the commissioner pays every rule, as before.

use super::{Books, Contract, IterationResult, Month, State};
use crate::engine::money::Ledger;
use crate::model::{COMMISSIONER, Model, PRIME, PayerRule, Pence, PoolEnd, SHARE_UNIT};

/// What the pooled budget did in one iteration.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PoolResult {
    /// Paid in by the bodies.
    pub contributed: Pence,
    /// Paid from the pot to the prime (net of clawbacks returned to it).
    pub paid_out: Pence,
    /// Due from the pot when it was empty, and paid by the bodies directly.
    pub overrun: Pence,
    /// Returned to the bodies at the end.
    pub returned: Pence,
    /// Left in the pot at the end (with `on_end = "keep"`).
    pub kept: Pence,
}

/// The public bodies' shares of one iteration (empty without `[payers]`
/// or a `[pooled_budget]`).
#[derive(Clone, Debug, Default)]
pub struct PayersResult {
    /// Per body, the commissioner first and then each payer: its savings.
    pub savings: Vec<f64>,
    /// The same, its NPV.
    pub savings_npv: Vec<f64>,
    /// Per payer: its share of rules its budget or cap could not pay (the
    /// commissioner paid it instead).
    pub over_budget: Vec<Pence>,
    /// The pooled budget.
    pub pool: PoolResult,
}

/// The bodies' running payments during an iteration.
pub(super) struct PayerBooks {
    /// Paid directly for the rules, `[payer][contract year]`.
    paid_in_year: Vec<Pence>,
    /// Paid directly for the rules, per payer.
    paid: Vec<Pence>,
    over_budget: Vec<Pence>,
    /// Money in the pooled budget.
    pot: Pence,
    pool: PoolResult,
}

clone_in_place!(PayerBooks {
    paid_in_year,
    paid,
    over_budget,
    pot,
    pool
});

impl PayerBooks {
    pub(super) fn new(model: &Model) -> PayerBooks {
        let n = model.payers.len();
        PayerBooks {
            paid_in_year: vec![0; n * model.years()],
            paid: vec![0; n],
            over_budget: vec![0; n],
            pot: 0,
            pool: PoolResult::default(),
        }
    }

    pub(super) fn reset(&mut self) {
        self.paid_in_year.fill(0);
        self.paid.fill(0);
        self.over_budget.fill(0);
        self.pot = 0;
        self.pool = PoolResult::default();
    }
}

/// A body's part of `amount` at `share` parts per [`SHARE_UNIT`], rounded
/// down.
pub(crate) fn part(amount: Pence, share: i64) -> Pence {
    ((amount as i128 * share as i128) / SHARE_UNIT as i128) as Pence
}

/// Calls `f(account, part)` for each body's part of `amount` by pool
/// shares, the commissioner last with the rest.
fn by_pool_shares(model: &Model, amount: Pence, mut f: impl FnMut(usize, Pence)) {
    let mut rest = amount;
    for (i, p) in model.payers.iter().enumerate() {
        let x = part(amount, p.pool_share);
        rest -= x;
        f(model.payer_account(i), x);
    }
    f(COMMISSIONER, rest);
}

/// Pays `amount` of `rule` to the prime in `month`: from the pot if the
/// rule is pooled (the bodies by pool shares once it is empty), otherwise
/// by the bodies' shares of the rule within their budgets, the commissioner
/// paying the rest. Every payment the public side makes to the prime goes
/// through here when payments are shared (the co-funder's split stays in
/// `payments.rs`; an advance is the commissioner's alone, docs/model.md
/// section 12).
pub(super) fn pay(model: &Model, month: Month, rule: PayerRule, amount: Pence, books: &mut Books) {
    let t = month.t;
    let Books {
        ledger, payers: pb, ..
    } = books;
    if !model.shared_payments() {
        ledger.transfer(COMMISSIONER, PRIME, t, amount);
        return;
    }
    if amount <= 0 {
        return;
    }
    if model
        .pooled_budget
        .as_ref()
        .is_some_and(|b| b.rules[rule.index()])
    {
        let from_pot = amount.min(pb.pot);
        ledger.transfer(model.pool_account(), PRIME, t, from_pot);
        pb.pot -= from_pot;
        pb.pool.paid_out += from_pot;
        let overrun = amount - from_pot;
        pb.pool.overrun += overrun;
        by_pool_shares(model, overrun, |a, x| ledger.transfer(a, PRIME, t, x));
        return;
    }
    let years = model.years();
    let mut rest = amount;
    for (i, p) in model.payers.iter().enumerate() {
        let share = part(amount, p.rule_shares[rule.index()]);
        let paid = share.min(allowance(p, pb, i, years, month.year));
        pb.over_budget[i] += share - paid;
        pb.paid_in_year[i * years + month.year] += paid;
        pb.paid[i] += paid;
        ledger.transfer(model.payer_account(i), PRIME, t, paid);
        rest -= paid;
    }
    ledger.transfer(COMMISSIONER, PRIME, t, rest);
}

/// What payer `i` may still pay directly in contract year `year`.
fn allowance(
    p: &crate::model::Payer,
    pb: &PayerBooks,
    i: usize,
    years: usize,
    year: usize,
) -> Pence {
    let mut left = Pence::MAX;
    if let Some(budget) = p.budget_per_year {
        left = left.min(budget - pb.paid_in_year[i * years + year]);
    }
    if let Some(cap) = p.cap_total {
        left = left.min(cap - pb.paid[i]);
    }
    left.max(0)
}

/// The prime pays back `amount` of `rule` (a clawback): to the pot if the
/// rule is pooled, otherwise to the bodies by their shares of the rule, the
/// commissioner taking the rest. Budgets are not given back.
pub(super) fn refund(
    model: &Model,
    month: Month,
    rule: PayerRule,
    amount: Pence,
    books: &mut Books,
) {
    let t = month.t;
    let Books {
        ledger, payers: pb, ..
    } = books;
    if !model.shared_payments() {
        ledger.refund(COMMISSIONER, PRIME, t, amount);
        return;
    }
    if model
        .pooled_budget
        .as_ref()
        .is_some_and(|b| b.rules[rule.index()])
    {
        ledger.refund(model.pool_account(), PRIME, t, amount);
        pb.pot += amount;
        pb.pool.paid_out -= amount;
        return;
    }
    let mut rest = amount;
    for (i, p) in model.payers.iter().enumerate() {
        let x = part(amount, p.rule_shares[rule.index()]);
        ledger.refund(model.payer_account(i), PRIME, t, x);
        rest -= x;
    }
    ledger.refund(COMMISSIONER, PRIME, t, rest);
}

/// The bodies pay into the pooled budget by pool shares: the up-front
/// contribution in month 0, the yearly one at the start of each contract
/// year, while the contract runs.
pub(super) fn contribute(contract: &Contract, month: Month, state: &mut State) {
    let model = contract.model;
    let Some(pool) = &model.pooled_budget else {
        return;
    };
    let t = month.t;
    let mut amount = if t.is_multiple_of(12) {
        pool.per_year
    } else {
        0
    };
    if t == 0 {
        amount += pool.upfront;
    }
    let Books {
        ledger, payers: pb, ..
    } = &mut state.books;
    into_pot(model, ledger, t, amount, pb);
}

fn into_pot(model: &Model, ledger: &mut Ledger, t: usize, amount: Pence, pb: &mut PayerBooks) {
    let pot = model.pool_account();
    by_pool_shares(model, amount, |a, x| ledger.transfer(a, pot, t, x));
    pb.pot += amount;
    pb.pool.contributed += amount;
}

/// At the end of the last month, what is left in the pot goes back to the
/// bodies by pool shares, or stays (`on_end`).
pub(super) fn settle(contract: &Contract, month: Month, state: &mut State) {
    let model = contract.model;
    let Some(pool) = &model.pooled_budget else {
        return;
    };
    if month.t + 1 != model.horizon {
        return;
    }
    let Books {
        ledger, payers: pb, ..
    } = &mut state.books;
    match pool.on_end {
        PoolEnd::Return => {
            let pot = model.pool_account();
            by_pool_shares(model, pb.pot, |a, x| ledger.transfer(pot, a, month.t, x));
            pb.pool.returned = pb.pot;
            pb.pot = 0;
        }
        PoolEnd::Keep => pb.pool.kept = pb.pot,
    }
}

/// The bodies' savings (each segment's by the bodies' shares, the
/// commissioner taking what no body does) and budgets into the result.
pub(super) fn close(model: &Model, state: &State, result: &mut IterationResult) {
    if !model.shared_payments() {
        return;
    }
    let r = &mut result.payers;
    let total = (state.commissioner.savings, state.commissioner.savings_npv);
    let by_segment = &state.measurements.savings_by_segment;
    let (mut rest, mut rest_npv) = total;
    for (i, p) in model.payers.iter().enumerate() {
        // A share that is the same for every segment is taken of the
        // total, so that a body with every saving has exactly the
        // commissioner's.
        let (s, npv) = match p.savings_uniform {
            Some(u) => (u * total.0, u * total.1),
            None => by_segment
                .iter()
                .zip(&p.savings_shares)
                .fold((0.0, 0.0), |(s, n), (&(x, y), &w)| (s + w * x, n + w * y)),
        };
        r.savings[i + 1] = s;
        r.savings_npv[i + 1] = npv;
        rest -= s;
        rest_npv -= npv;
    }
    r.savings[0] = rest;
    r.savings_npv[0] = rest_npv;
    r.over_budget
        .copy_from_slice(&state.books.payers.over_budget);
    r.pool = state.books.payers.pool;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::plan::Plan;
    use crate::scenario::load_str;

    /// The minimal scenario (horizon 48 months) with `extra` appended.
    fn model(extra: &str) -> Model {
        let path = format!("{}/scenarios/minimal.toml", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(path).unwrap() + extra;
        load_str(&text, "minimal.toml", &[])
            .unwrap_or_else(|e| panic!("{e}"))
            .model
    }

    fn month(t: usize) -> Month {
        Month {
            t,
            year: t / 12,
            within: true,
        }
    }

    /// Each account's net flow in month `t`: commissioner, payers, pot, prime.
    fn flows(model: &Model, state: &State, t: usize) -> Vec<Pence> {
        let ledger = &state.books.ledger;
        let mut v = vec![ledger.flow(COMMISSIONER, t)];
        for i in 0..model.payers.len() {
            v.push(ledger.flow(model.payer_account(i), t));
        }
        if model.pooled_budget.is_some() {
            v.push(ledger.flow(model.pool_account(), t));
        }
        v.push(ledger.flow(PRIME, t));
        v
    }

    #[test]
    fn each_body_pays_its_share_rounded_down_and_the_commissioner_the_rest() {
        let m = model(
            "[payers.a]\nrules = { outcome = 0.3 }\nshare = 0.1\n[payers.b]\nrules = { outcome = 0.45 }\n",
        );
        let plan = Plan::new(&m);
        let mut state = State::new(&m, &plan);
        pay(&m, month(3), PayerRule::Outcome, 1_001, &mut state.books);
        assert_eq!(flows(&m, &state, 3), vec![-251, -300, -450, 1_001]);
        // `share` covers the rules not named: a pays 10% of attachment fees.
        pay(&m, month(4), PayerRule::Attachment, 999, &mut state.books);
        assert_eq!(flows(&m, &state, 4), vec![-900, -99, 0, 999]);
        // A clawback comes back by the same shares.
        let m = model("[payers.a]\nrules = { fee_for_service = 0.25 }\n");
        let plan = Plan::new(&m);
        let mut state = State::new(&m, &plan);
        refund(
            &m,
            month(5),
            PayerRule::FeeForService,
            403,
            &mut state.books,
        );
        assert_eq!(flows(&m, &state, 5), vec![303, 100, -403]);
    }

    #[test]
    fn a_body_beyond_its_budget_leaves_its_share_to_the_commissioner() {
        let m =
            model("[payers.a]\nrules = { outcome = 0.5 }\nbudget_per_year = 5\ncap_total = 12\n");
        let plan = Plan::new(&m);
        let mut state = State::new(&m, &plan);
        let books = &mut state.books;
        pay(&m, month(0), PayerRule::Outcome, 800, books);
        // 100 pence of the year's 500 left: 300 of its 400 over budget.
        pay(&m, month(1), PayerRule::Outcome, 800, books);
        // A new year, a new budget.
        pay(&m, month(12), PayerRule::Outcome, 800, books);
        // 1,200 over the contract: 300 left of the cap.
        pay(&m, month(24), PayerRule::Outcome, 2_000, books);
        pay(&m, month(36), PayerRule::Outcome, 2_000, books);
        assert_eq!(flows(&m, &state, 0), vec![-400, -400, 800]);
        assert_eq!(flows(&m, &state, 1), vec![-700, -100, 800]);
        assert_eq!(flows(&m, &state, 12), vec![-400, -400, 800]);
        assert_eq!(flows(&m, &state, 24), vec![-1_700, -300, 2_000]);
        assert_eq!(flows(&m, &state, 36), vec![-2_000, 0, 2_000]);
        assert_eq!(state.books.payers.over_budget, vec![300 + 700 + 1_000]);
        assert_eq!(state.books.payers.paid, vec![1_200]);
    }

    #[test]
    fn a_pooled_budget_pays_until_empty_then_the_bodies_pay_by_pool_shares() {
        let pot = "[pooled_budget]\nrules = [\"sustainment\"]\ncontribution_upfront = 10\ncontribution_per_year = 2\n";
        let m = model(&format!(
            "[payers.a]\npool_share = 0.25\nrules = {{ outcome = 0.5 }}\n{pot}"
        ));
        let plan = Plan::new(&m);
        let contract = Contract {
            model: &m,
            plan: &plan,
            draws: &Default::default(),
            hazards: &super::super::Hazards::new(&m),
        };
        let mut state = State::new(&m, &plan);
        contribute(&contract, month(0), &mut state);
        // 1,200 pence in: a 300, the commissioner 900.
        assert_eq!(flows(&m, &state, 0), vec![-900, -300, 1_200, 0]);
        contribute(&contract, month(1), &mut state);
        assert_eq!(flows(&m, &state, 1), vec![0, 0, 0, 0]);
        pay(&m, month(2), PayerRule::Sustainment, 700, &mut state.books);
        assert_eq!(flows(&m, &state, 2), vec![0, 0, -700, 700]);
        // 500 left; 801 due: 301 overrun, a pays floor(75.25).
        pay(&m, month(3), PayerRule::Sustainment, 801, &mut state.books);
        assert_eq!(flows(&m, &state, 3), vec![-226, -75, -500, 801]);
        // Rules not pooled are shared as without a pot.
        pay(&m, month(4), PayerRule::Outcome, 100, &mut state.books);
        assert_eq!(flows(&m, &state, 4), vec![-50, -50, 0, 100]);
        contribute(&contract, month(12), &mut state);
        refund(&m, month(13), PayerRule::Sustainment, 3, &mut state.books);
        assert_eq!(flows(&m, &state, 13), vec![0, 0, 3, -3]);
        // At the end, 203 pence go back: a floor(50.75), the commissioner the rest.
        settle(&contract, month(46), &mut state);
        settle(&contract, month(47), &mut state);
        assert_eq!(flows(&m, &state, 47), vec![153, 50, -203, 0]);
        let pool = state.books.payers.pool;
        assert_eq!(
            (
                pool.contributed,
                pool.paid_out,
                pool.overrun,
                pool.returned,
                pool.kept
            ),
            (1_400, 1_197, 301, 203, 0)
        );
        assert_eq!(state.books.payers.pot, 0);

        // Kept: the money stays in the pot.
        let m = model(&format!(
            "[payers.a]\npool_share = 0.25\n{pot}on_end = \"keep\"\n"
        ));
        let plan = Plan::new(&m);
        let contract = Contract {
            model: &m,
            plan: &plan,
            draws: &Default::default(),
            hazards: &super::super::Hazards::new(&m),
        };
        let mut state = State::new(&m, &plan);
        contribute(&contract, month(0), &mut state);
        settle(&contract, month(47), &mut state);
        assert_eq!(flows(&m, &state, 47), vec![0, 0, 0, 0]);
        assert_eq!(state.books.payers.pool.kept, 1_200);
    }

    #[test]
    fn without_shared_payments_the_commissioner_pays_everything() {
        let m = model("");
        let plan = Plan::new(&m);
        let mut state = State::new(&m, &plan);
        pay(
            &m,
            month(0),
            PayerRule::Improvement,
            12_345,
            &mut state.books,
        );
        refund(&m, month(0), PayerRule::FeeForService, 45, &mut state.books);
        assert_eq!(flows(&m, &state, 0), vec![-12_300, 12_300]);
    }
}
