//! Risk sharing, after the month's payments and before investors fund
//! shortfalls and failures are checked (only while the contract is live):
//! payment floors per referral topped up in the horizon's last month, then
//! each corridor settled at the end of its period, sharing the provider's
//! loss or gain against a target with the payer by bands.
//!
//! Neither counts against the contract caps, neither is co-funded, and
//! neither is passed through to subcontractors or repays investors: they
//! are settlements between two parties, outside the tariff.

use super::{Contract, Month, State};
use crate::model::{
    Bands, COMMISSIONER, Corridor, CorridorMeasure, Model, PayerRule, Pence, Settle,
};

/// What the corridors measure, accumulated as the contract runs.
pub(super) struct RiskBooks {
    /// Per provider, delivery costs paid so far.
    delivered: Vec<Pence>,
    /// Per provider, results payments received so far (the prime's from
    /// the payers, a subcontractor's pass-through net of the management
    /// fee).
    results: Vec<Pence>,
    /// Per corridor, its measure so far at the end of its last period.
    marks: Vec<Pence>,
    /// Per corridor, what the payer paid the provider, less what the
    /// provider paid back.
    pub(super) settled: Vec<Pence>,
}

clone_in_place!(RiskBooks {
    delivered,
    results,
    marks,
    settled
});

impl RiskBooks {
    pub(super) fn new(model: &Model) -> RiskBooks {
        let corridors = model.risk_sharing.corridors.len();
        RiskBooks {
            delivered: vec![0; model.providers.len()],
            results: vec![0; model.providers.len()],
            marks: vec![0; corridors],
            settled: vec![0; corridors],
        }
    }

    pub(super) fn reset(&mut self) {
        self.delivered.fill(0);
        self.results.fill(0);
        self.marks.fill(0);
        self.settled.fill(0);
    }

    /// `provider` paid `cost` in delivery costs.
    pub(super) fn delivered(&mut self, provider: usize, cost: Pence) {
        self.delivered[provider] += cost;
    }

    /// The month's results receipts per provider.
    pub(super) fn received(&mut self, results: &[Pence]) {
        for (sum, &r) in self.results.iter_mut().zip(results) {
            *sum += r;
        }
    }
}

/// Tops up the floors and settles the corridors whose period ends in
/// `month`.
pub(super) fn settle(contract: &Contract, month: Month, state: &mut State) {
    let model = contract.model;
    let rs = &model.risk_sharing;
    if rs.corridors.is_empty() && !rs.has_floors() {
        return;
    }
    if month.t + 1 == model.horizon {
        top_up_floors(model, month, state);
    }
    for (k, corridor) in rs.corridors.iter().enumerate() {
        let months = match corridor.settle {
            Settle::Yearly if month.t % 12 == 11 || month.t + 1 == model.horizon => {
                month.t % 12 + 1
            }
            Settle::End if month.t + 1 == model.horizon => model.horizon,
            _ => continue,
        };
        let now = measure_so_far(model, k, corridor, state);
        let measured = now - state.risk.marks[k];
        state.risk.marks[k] = now;
        if state.providers.failed[corridor.provider].is_some() {
            continue;
        }
        let target = match corridor.settle {
            Settle::Yearly => ((corridor.target as i128 * months as i128 + 6) / 12) as Pence,
            Settle::End => corridor.target,
        };
        let amount = settlement(corridor, measured, target);
        let provider = model.account_of(corridor.provider);
        if corridor.payer == COMMISSIONER {
            // The public bodies share it like a tariff rule.
            let books = &mut state.books;
            if amount >= 0 {
                super::payers::pay(model, month, PayerRule::Corridor, amount, books);
            } else {
                super::payers::refund(model, month, PayerRule::Corridor, -amount, books);
            }
            state.commissioner.paid.corridor += amount;
        } else {
            let ledger = &mut state.books.ledger;
            if amount >= 0 {
                ledger.transfer(corridor.payer, provider, month.t, amount);
            } else {
                ledger.refund(corridor.payer, provider, month.t, -amount);
            }
        }
        state.risk.settled[k] += amount;
    }
}

/// What the payer pays the provider (negative: what the provider pays
/// back) when the corridor's measure over a period is `measured` against
/// `target`.
pub(crate) fn settlement(corridor: &Corridor, measured: Pence, target: Pence) -> Pence {
    let loss = match corridor.measure {
        CorridorMeasure::Cost => measured - target,
        CorridorMeasure::Margin | CorridorMeasure::Payments => target - measured,
    };
    if loss >= 0 {
        banded(loss, target, &corridor.pain)
    } else {
        -banded(-loss, target, &corridor.gain)
    }
}

/// The payer's part of a deviation of `deviation` pence from `target`:
/// each band's share of the part of the deviation inside it, each rounded
/// to the penny; band edges are their fractions of the target rounded to
/// the penny.
pub(crate) fn banded(deviation: Pence, target: Pence, bands: &Bands) -> Pence {
    let mut low: Pence = 0;
    let mut total: Pence = 0;
    for (i, &share) in bands.shares.iter().enumerate() {
        if deviation <= low {
            break;
        }
        let high = bands
            .edges
            .get(i)
            .map_or(Pence::MAX, |e| (e * target as f64).round() as Pence);
        let inside = deviation.min(high) - low;
        total += (inside as f64 * share).round() as Pence;
        low = high.max(low);
    }
    total
}

/// The corridor's measure from the start of the contract to now.
fn measure_so_far(model: &Model, k: usize, corridor: &Corridor, state: &State) -> Pence {
    let d = corridor.provider;
    match corridor.measure {
        CorridorMeasure::Cost => state.risk.delivered[d],
        CorridorMeasure::Payments => state.risk.results[d],
        CorridorMeasure::Margin => {
            let account = model.account_of(d);
            let ledger = &state.books.ledger;
            let financing: Pence = model
                .investors
                .iter()
                .enumerate()
                .filter(|(_, inv)| inv.funds == d)
                .map(|(i, _)| state.investors.drawn[i] - state.investors.repaid[i])
                .sum();
            ledger.revenue(account) - ledger.cost(account) - financing - state.risk.settled[k]
        }
    }
}

/// In the horizon's last month, the commissioner pays the prime what the
/// payments for each floored segment's referrals fell short of its floor
/// times its referrals.
fn top_up_floors(model: &Model, month: Month, state: &mut State) {
    for (s, floor) in model.risk_sharing.floors.iter().enumerate() {
        let Some(floor) = *floor else {
            continue;
        };
        let referrals = state
            .people
            .referrals_in(s, 0..=model.referral_months - 1, model);
        let paid = &mut state.books.paid_by_segment[s];
        let top_up = (floor * referrals as Pence - paid.total()).max(0);
        if top_up == 0 {
            continue;
        }
        paid.floor += top_up;
        super::payers::pay(model, month, PayerRule::Floor, top_up, &mut state.books);
        state.commissioner.paid.floor += top_up;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Medicare Part D: the plan bears everything within 5% of the target,
    /// the payer half of the deviation from 5% to 10% and 80% beyond.
    fn part_d(measure: CorridorMeasure) -> Corridor {
        let bands = Bands {
            edges: vec![0.05, 0.10],
            shares: vec![0.0, 0.5, 0.8],
        };
        Corridor {
            label: "part_d".into(),
            payer: COMMISSIONER,
            provider: 0,
            measure,
            target: 100_000_000,
            settle: Settle::End,
            pain: bands.clone(),
            gain: bands,
        }
    }

    #[test]
    fn part_d_corridors_on_a_one_million_target() {
        let c = part_d(CorridorMeasure::Cost);
        let t = c.target;
        // Within 5% either way: nothing.
        for cost in [
            95_000_000,
            99_999_999,
            100_000_000,
            104_000_000,
            105_000_000,
        ] {
            assert_eq!(settlement(&c, cost, t), 0, "{cost}");
        }
        // £1,080,000: half of the £30,000 above 5%.
        assert_eq!(settlement(&c, 108_000_000, t), 1_500_000);
        // £1,100,000: half of £50,000.
        assert_eq!(settlement(&c, 110_000_000, t), 2_500_000);
        // £1,130,000: £25,000 and 80% of the £30,000 beyond 10%.
        assert_eq!(settlement(&c, 113_000_000, t), 4_900_000);
        // Below: the plan pays back the same shares.
        assert_eq!(settlement(&c, 92_000_000, t), -1_500_000);
        assert_eq!(settlement(&c, 80_000_000, t), -(2_500_000 + 8_000_000));
        // A penny past an edge is shared at that band's rate, rounded.
        assert_eq!(settlement(&c, 105_000_001, t), 1);
        assert_eq!(settlement(&c, 105_000_003, t), 2);
    }

    #[test]
    fn margin_and_payments_lose_below_the_target() {
        for measure in [CorridorMeasure::Margin, CorridorMeasure::Payments] {
            let c = part_d(measure);
            assert_eq!(settlement(&c, 87_000_000, c.target), 4_900_000);
            assert_eq!(settlement(&c, 108_000_000, c.target), -1_500_000);
        }
        // A negative margin is a loss of more than the target.
        let c = part_d(CorridorMeasure::Margin);
        assert_eq!(
            settlement(&c, -50_000_000, c.target),
            2_500_000 + 112_000_000
        );
    }

    #[test]
    fn one_share_without_bands_shares_the_whole_deviation() {
        let bands = Bands {
            edges: vec![],
            shares: vec![0.5],
        };
        assert_eq!(banded(1_001, 1_000_000, &bands), 501);
        assert_eq!(banded(0, 1_000_000, &bands), 0);
    }
}
