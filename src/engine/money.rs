//! Money: the double-entry ledger, payments scheduled for later months, the
//! prime's pass-down to subcontractors, and the year-end reconciliation of
//! a fee for service.
//!
//! **Invariant:** money moves between accounts only through
//! [`Ledger::transfer`] (or back, as a clawback, through [`Ledger::refund`]); the ledger's fields are private to this module, so
//! the compiler holds every other module to it. What one account pays,
//! another receives; delivery costs go to the `external` account, so every
//! iteration's books close to zero.

use crate::model::{FeeForService, PRIME, Pence};

/// Double-entry money: every amount leaves one account and enters another.
#[derive(Debug)]
pub(crate) struct Ledger {
    accounts: usize,
    horizon: usize,
    /// Net flow per account and month, `[account][month]`.
    flows: Vec<Pence>,
    revenue: Vec<Pence>,
    cost: Vec<Pence>,
}

clone_in_place!(Ledger {
    accounts,
    horizon,
    flows,
    revenue,
    cost,
});

impl Ledger {
    /// A ledger of `accounts` parties (plus the external account) over
    /// `horizon` months.
    pub(crate) fn new(accounts: usize, horizon: usize) -> Self {
        Ledger {
            accounts,
            horizon,
            flows: vec![0; (accounts + 1) * horizon],
            revenue: vec![0; accounts + 1],
            cost: vec![0; accounts + 1],
        }
    }

    /// Empties every account for the next iteration.
    pub(crate) fn clear(&mut self) {
        self.flows.fill(0);
        self.revenue.fill(0);
        self.cost.fill(0);
    }

    /// The account for money leaving the contract (delivery costs).
    pub(crate) fn external(&self) -> usize {
        self.accounts
    }

    /// Moves `amount` from `from` to `to` in `month`.
    #[inline]
    pub(crate) fn transfer(&mut self, from: usize, to: usize, month: usize, amount: Pence) {
        if amount == 0 {
            return;
        }
        self.flows[from * self.horizon + month] -= amount;
        self.flows[to * self.horizon + month] += amount;
        self.cost[from] += amount;
        self.revenue[to] += amount;
    }

    /// `payee` returns `amount` it was paid by `payer` (a clawback): the
    /// money moves back, and it counts against the payee's revenue and the
    /// payer's cost rather than as a new cost and revenue, so revenue shows
    /// what the payee was finally paid.
    pub(crate) fn refund(&mut self, payer: usize, payee: usize, month: usize, amount: Pence) {
        if amount == 0 {
            return;
        }
        self.flows[payee * self.horizon + month] -= amount;
        self.flows[payer * self.horizon + month] += amount;
        self.revenue[payee] -= amount;
        self.cost[payer] -= amount;
    }

    /// The prime pays a subcontractor `gross` less its management fee,
    /// which it keeps; returns what it kept.
    #[inline]
    pub(crate) fn pass_down(
        &mut self,
        subcontractor: usize,
        month: usize,
        gross: Pence,
        management_fee: f64,
    ) -> Pence {
        let kept = (gross as f64 * management_fee).round() as Pence;
        self.transfer(PRIME, subcontractor, month, gross - kept);
        kept
    }

    /// Net flow of `account` in `month`.
    pub(crate) fn flow(&self, account: usize, month: usize) -> Pence {
        self.flows[account * self.horizon + month]
    }

    /// Everything `account` received.
    pub(crate) fn revenue(&self, account: usize) -> Pence {
        self.revenue[account]
    }

    /// Everything `account` paid.
    pub(crate) fn cost(&self, account: usize) -> Pence {
        self.cost[account]
    }
}

/// Amounts falling due by month: a payment earned now and paid after its
/// lag, or a clawback. What falls at or after the horizon is never paid and
/// is counted instead.
#[derive(Debug)]
pub(crate) struct Due(Vec<Pence>);

impl Clone for Due {
    fn clone(&self) -> Self {
        Due(self.0.clone())
    }
    fn clone_from(&mut self, source: &Self) {
        self.0.clone_from(&source.0);
    }
}

impl Due {
    /// Nothing due in any of `horizon` months.
    pub(crate) fn new(horizon: usize) -> Due {
        Due(vec![0; horizon])
    }

    /// Nothing due, for the next iteration.
    pub(crate) fn clear(&mut self) {
        self.0.fill(0);
    }

    /// Adds `amount` due in `month`, or to `beyond_horizon` when the
    /// contract ends first.
    #[inline]
    pub(crate) fn add(&mut self, month: usize, amount: Pence, beyond_horizon: &mut Pence) {
        if amount == 0 {
            return;
        }
        match self.0.get_mut(month) {
            Some(slot) => *slot += amount,
            None => *beyond_horizon += amount,
        }
    }

    /// What falls due in `month`.
    #[inline]
    pub(crate) fn at(&self, month: usize) -> Pence {
        self.0[month]
    }
}

/// Schedules `amount` due in `month` across delivery groups in proportion
/// to `weights`; the remainder of the rounding goes to the first group with
/// weight, so the shares add up to `amount` exactly.
pub(crate) fn share_by_weight<'a>(
    dues: impl DoubleEndedIterator<Item = &'a mut Due> + ExactSizeIterator,
    weights: &[u64],
    amount: Pence,
    month: usize,
    beyond_horizon: &mut Pence,
) {
    let total: u64 = weights.iter().sum();
    let first = weights.iter().position(|&w| w > 0).unwrap_or(0);
    let mut left = amount;
    for (group, (due, &weight)) in dues.zip(weights).enumerate().rev() {
        let share = if group == first {
            left
        } else {
            ((amount as i128 * weight as i128) / total.max(1) as i128) as Pence
        };
        left -= share;
        due.add(month, share, beyond_horizon);
    }
}

/// The year-end volume reconciliation of a fee for service, in pence:
/// positive (a top-up) for each referral above the band, negative (a
/// clawback) for each below it, nothing inside; `months` is the length of
/// the contract year so far (a short last year gets a pro-rata baseline).
pub fn reconciliation(ffs: &FeeForService, actual: u64, months: usize) -> Pence {
    let baseline = ffs.baseline_referrals_per_year * months as f64 / 12.0;
    let (low, high) = (baseline * (1.0 - ffs.band), baseline * (1.0 + ffs.band));
    let a = actual as f64;
    let referrals_outside = if a > high {
        a - high
    } else if a < low {
        a - low
    } else {
        0.0
    };
    (referrals_outside * ffs.reconciliation_price as f64).round() as Pence
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_transfer_leaves_one_account_and_enters_another() {
        let mut ledger = Ledger::new(3, 2);
        ledger.transfer(0, 2, 1, 500);
        ledger.transfer(2, ledger.external(), 1, 120);
        assert_eq!((ledger.flow(0, 1), ledger.flow(2, 1)), (-500, 380));
        assert_eq!((ledger.revenue(2), ledger.cost(2)), (500, 120));
        let books: Pence = (0..=3).map(|a| ledger.flow(a, 1)).sum();
        assert_eq!(books, 0);
    }

    #[test]
    fn a_refund_nets_off_what_was_paid() {
        let mut ledger = Ledger::new(3, 2);
        ledger.transfer(0, 2, 0, 1_000);
        ledger.refund(0, 2, 1, 300);
        assert_eq!((ledger.revenue(2), ledger.cost(2)), (700, 0));
        assert_eq!((ledger.revenue(0), ledger.cost(0)), (0, 700));
        assert_eq!((ledger.flow(2, 1), ledger.flow(0, 1)), (-300, 300));
    }

    #[test]
    fn the_prime_keeps_its_management_fee() {
        let mut ledger = Ledger::new(4, 1);
        assert_eq!(ledger.pass_down(3, 0, 10_001, 0.1), 1_000);
        assert_eq!((ledger.flow(PRIME, 0), ledger.flow(3, 0)), (-9_001, 9_001));
    }

    #[test]
    fn what_falls_past_the_horizon_is_counted_not_lost() {
        let mut due = Due::new(3);
        let mut beyond = 0;
        due.add(2, 70, &mut beyond);
        due.add(3, 30, &mut beyond);
        assert_eq!((due.at(2), beyond), (70, 30));
    }

    #[test]
    fn shares_add_up_to_the_amount() {
        let mut dues = [Due::new(1), Due::new(1), Due::new(1)];
        let mut beyond = 0;
        share_by_weight(dues.iter_mut(), &[0, 1, 2], 100, 0, &mut beyond);
        let got: Vec<Pence> = dues.iter().map(|d| d.at(0)).collect();
        assert_eq!(got, vec![0, 34, 66]);
    }
}
