//! Risk-sharing instruments (`[[volume_guarantees]]`, `[[advances]]`,
//! `[alliance]`), after the month's payments and before investors fund
//! shortfalls and failures are checked:
//!
//! - in the payment step, the alliance's results pot is split among its
//!   members, then advances are recovered from their recipients'
//!   outcome-related receipts (before investors are repaid from them);
//! - at the end of each contract year of referrals, volume guarantees are
//!   settled on the year's referrals against the forecast;
//! - at the end of each contract year, the alliance's members settle their
//!   pooled delivery costs against the year's budget;
//! - an advance is paid in its month, and what is not recovered is repaid
//!   in the last month of the horizon or the month the commissioner ends
//!   the contract (`on_shortfall = "repay"`), or else written off.
//!
//! Money moves only through the ledger; nothing here draws at random.

use super::{CommissionerResult, Contract, InstrumentResult, Month, Providers, State};
use crate::engine::money::Ledger;
use crate::model::{Between, Compensation, Model, OnShortfall, PRIME, PayerRule, Pence};

/// A shortfall of less than this many referrals is none: the threshold
/// times a whole forecast can carry rounding in its last bits.
const NO_SHORTFALL: f64 = 1e-9;

/// What the instruments keep between months.
pub(super) struct Books {
    /// Per provider: referrals received, and delivery costs paid, up to
    /// the end of the last contract year settled.
    referred_before: Vec<u64>,
    cost_before: Vec<Pence>,
    /// Per advance: what is still to recover.
    outstanding: Vec<Pence>,
    /// The iteration's figures, built up month by month.
    pub(super) result: InstrumentResult,
}

clone_in_place!(Books {
    referred_before,
    cost_before,
    outstanding,
    result
});

impl Books {
    pub(super) fn new(model: &Model) -> Books {
        let inst = &model.instruments;
        let providers = model.providers.len();
        Books {
            referred_before: vec![0; providers],
            cost_before: vec![0; providers],
            outstanding: vec![0; inst.advances.len()],
            result: InstrumentResult {
                missing_referrals: vec![0.0; inst.volume_guarantees.len()],
                guarantee_paid: vec![0; inst.volume_guarantees.len()],
                advances: vec![Default::default(); inst.advances.len()],
                pot: 0,
                pot_share: vec![
                    0;
                    if inst.alliance.is_some() {
                        providers
                    } else {
                        0
                    }
                ],
                gain_pain: vec![
                    0;
                    if inst.alliance.is_some() {
                        providers
                    } else {
                        0
                    }
                ],
            },
        }
    }

    /// The iteration's figures into `out` (sized alike: no allocation).
    pub(super) fn copy_to(&self, out: &mut InstrumentResult) {
        let r = &self.result;
        out.missing_referrals.copy_from_slice(&r.missing_referrals);
        out.guarantee_paid.copy_from_slice(&r.guarantee_paid);
        out.advances.copy_from_slice(&r.advances);
        out.pot = r.pot;
        out.pot_share.copy_from_slice(&r.pot_share);
        out.gain_pain.copy_from_slice(&r.gain_pain);
    }

    pub(super) fn reset(&mut self) {
        self.referred_before.fill(0);
        self.cost_before.fill(0);
        self.outstanding.fill(0);
        let r = &mut self.result;
        r.missing_referrals.fill(0.0);
        r.guarantee_paid.fill(0);
        r.advances.fill(Default::default());
        r.pot = 0;
        r.pot_share.fill(0);
        r.gain_pain.fill(0);
    }
}

/// In the payment step, once the prime has been paid and has passed
/// through what subcontractors outside the alliance are owed: the alliance
/// splits the rest of the results payments (`pot`), then advances are
/// recovered from what their recipients received.
pub(super) fn on_receipts(
    contract: &Contract,
    month: Month,
    pot: Pence,
    ledger: &mut Ledger,
    providers: &mut Providers,
    state: &mut Books,
    commissioner: &mut CommissionerResult,
) {
    let model = contract.model;
    if let Some(alliance) = &model.instruments.alliance {
        let active: f64 = (0..model.providers.len())
            .filter(|&d| alliance.member(d) && providers.failed[d].is_none())
            .map(|d| alliance.shares[d])
            .sum();
        let mut handed_on = 0;
        for d in 1..model.providers.len() {
            if !alliance.member(d) || providers.failed[d].is_some() {
                continue;
            }
            let share = (pot as f64 * alliance.shares[d] / active).round() as Pence;
            ledger.transfer(PRIME, model.account_of(d), month.t, share);
            providers.results_received[d] += share;
            state.result.pot_share[d] += share;
            handed_on += share;
        }
        providers.results_received[0] -= handed_on;
        state.result.pot_share[0] += pot - handed_on;
        state.result.pot += pot;
    }
    for (j, advance) in model.instruments.advances.iter().enumerate() {
        let d = advance.between.recipient();
        let left = state.outstanding[j];
        if left == 0 || providers.failed[d].is_some() {
            continue;
        }
        let receipts = providers.results_received[d].max(0);
        let withheld = ((receipts as f64 * advance.recovery_share).round() as Pence).min(left);
        // The payer withholds it from what it pays: the advance comes back
        // as a refund, not as new revenue of the payer.
        ledger.refund(
            advance.between.payer(),
            model.account_of(d),
            month.t,
            withheld,
        );
        providers.results_received[d] -= withheld;
        state.outstanding[j] -= withheld;
        state.result.advances[j].recovered += withheld;
        if advance.between == Between::CommissionerPrime {
            commissioner.advance_recovered += withheld;
        }
    }
}

/// After the month's payments (while the contract is live): advances due
/// this month are paid, guarantees and the alliance's budget are settled
/// at a year's end, and what is left of advances to repay is repaid in the
/// horizon's last month.
pub(super) fn settle(contract: &Contract, month: Month, state: &mut State) {
    let model = contract.model;
    let inst = &model.instruments;
    if !inst.any() {
        return;
    }
    let t = month.t;
    let first = t - t % 12;
    let State {
        books,
        providers,
        commissioner,
        instruments,
        ..
    } = state;
    for (j, g) in inst.volume_guarantees.iter().enumerate() {
        let d = g.between.recipient();
        let year_end = t % 12 == 11 || t + 1 == model.referral_months;
        if t >= model.referral_months || !year_end || providers.failed[d].is_some() {
            continue;
        }
        let forecast: f64 = g.forecast[first..=t].iter().sum();
        let referred = match g.between {
            Between::CommissionerPrime => (0..model.providers.len())
                .map(|p| providers.referred[p] - instruments.referred_before[p])
                .sum(),
            Between::PrimeSubcontractor(_) => {
                providers.referred[d] - instruments.referred_before[d]
            }
        };
        let missing = g.threshold * forecast - referred as f64;
        if missing <= NO_SHORTFALL {
            continue;
        }
        let amount = match g.compensation {
            Compensation::PerMissingReferral(price) => (missing * price as f64).round() as Pence,
            Compensation::TopUp(top_up) => {
                (top_up as f64 * (t + 1 - first) as f64 / 12.0).round() as Pence
            }
        };
        if g.between == Between::CommissionerPrime {
            // The public bodies share it like a tariff rule.
            super::payers::pay(model, month, PayerRule::VolumeGuarantee, amount, books);
            commissioner.paid.volume_guarantee += amount;
        } else {
            let payer = g.between.payer();
            books.ledger.transfer(payer, model.account_of(d), t, amount);
        }
        instruments.result.missing_referrals[j] += missing;
        instruments.result.guarantee_paid[j] += amount;
    }
    let ledger = &mut books.ledger;
    if let Some(alliance) = &inst.alliance
        && (t % 12 == 11 || t + 1 == model.horizon)
    {
        let months = (t + 1 - first) as f64;
        let budget = alliance.budget[month.year] as f64 * months / 12.0;
        let member = |d: usize| alliance.member(d) && providers.failed[d].is_none();
        let (mut shares, mut gain_shares, mut pooled) = (0.0, 0.0, 0);
        for d in (0..model.providers.len()).filter(|&d| member(d)) {
            shares += alliance.shares[d];
            gain_shares += alliance.gain_pain_shares[d];
            pooled += providers.delivered[d] - instruments.cost_before[d];
        }
        // Members left with no gain/pain share share it as they share the pot.
        let by_pot = gain_shares <= 0.0;
        if by_pot {
            gain_shares = shares;
        }
        let gain = budget - pooled as f64;
        let mut settled = 0;
        for d in (1..model.providers.len()).filter(|&d| member(d)) {
            let gain_share = if by_pot {
                alliance.shares[d]
            } else {
                alliance.gain_pain_shares[d]
            };
            let allotted = budget * alliance.shares[d] / shares;
            let cost = (providers.delivered[d] - instruments.cost_before[d]) as f64;
            let owed = (gain_share / gain_shares * gain - (allotted - cost)).round() as Pence;
            if owed >= 0 {
                ledger.transfer(PRIME, model.account_of(d), t, owed);
            } else {
                ledger.transfer(model.account_of(d), PRIME, t, -owed);
            }
            instruments.result.gain_pain[d] += owed;
            settled += owed;
        }
        instruments.result.gain_pain[0] -= settled;
    }
    if t % 12 == 11 || t + 1 == model.horizon {
        instruments
            .referred_before
            .copy_from_slice(&providers.referred);
        instruments
            .cost_before
            .copy_from_slice(&providers.delivered);
    }
    for (j, advance) in inst.advances.iter().enumerate() {
        let d = advance.between.recipient();
        if providers.failed[d].is_some() {
            continue;
        }
        if advance.month == t {
            ledger.transfer(
                advance.between.payer(),
                model.account_of(d),
                t,
                advance.amount,
            );
            instruments.outstanding[j] = advance.amount;
            instruments.result.advances[j].advanced = advance.amount;
            if advance.between == Between::CommissionerPrime {
                commissioner.advanced += advance.amount;
            }
        }
    }
    if t + 1 == model.horizon {
        repay_advances(model, t, ledger, providers, instruments, commissioner);
    }
}

/// What is left of each advance to be repaid is repaid now (in the
/// horizon's last month, or the month the commissioner ends the contract),
/// by a recipient that has not failed.
fn repay_advances(
    model: &Model,
    t: usize,
    ledger: &mut Ledger,
    providers: &Providers,
    instruments: &mut Books,
    commissioner: &mut CommissionerResult,
) {
    for (j, advance) in model.instruments.advances.iter().enumerate() {
        let d = advance.between.recipient();
        let left = instruments.outstanding[j];
        if advance.on_shortfall != OnShortfall::Repay || left == 0 || providers.failed[d].is_some()
        {
            continue;
        }
        ledger.refund(advance.between.payer(), model.account_of(d), t, left);
        instruments.outstanding[j] = 0;
        instruments.result.advances[j].repaid += left;
        if advance.between == Between::CommissionerPrime {
            commissioner.advance_repaid += left;
        }
    }
}

/// The commissioner ended the contract at the end of this month: what is
/// left of each advance to be repaid is repaid now.
pub(super) fn on_early_end(contract: &Contract, month: Month, state: &mut State) {
    if state.ended_early != Some(month.t) || contract.model.instruments.advances.is_empty() {
        return;
    }
    let State {
        books,
        providers,
        commissioner,
        instruments,
        ..
    } = state;
    repay_advances(
        contract.model,
        month.t,
        &mut books.ledger,
        providers,
        instruments,
        commissioner,
    );
}

/// At the close of an iteration: what was never recovered nor repaid is
/// written off.
pub(super) fn close(model: &Model, state: &mut State) {
    for (j, advance) in model.instruments.advances.iter().enumerate() {
        let a = &mut state.instruments.result.advances[j];
        a.written_off = a.advanced - a.recovered - a.repaid;
        if advance.between == Between::CommissionerPrime {
            state.commissioner.advance_written_off += a.written_off;
        }
    }
}
