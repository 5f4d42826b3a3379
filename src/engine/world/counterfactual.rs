//! The counterfactual (reference model §4c): for the referrals actually
//! made, the expected outcome events, months in outcome and payments
//! without the intervention, in closed form; and the savings of the months
//! in outcome realised against them.

use super::{Contract, People, State};
use crate::engine::plan::PoolPrices;
use crate::model::{PriceYear, Sustained};

/// Running sums of the closed-form expectations, in the order they are
/// added (floating-point sums depend on it).
#[derive(Clone, Copy, Debug, Default)]
struct Expected {
    outcomes: f64,
    outcome_months: f64,
    payments: f64,
    savings: f64,
    savings_npv: f64,
}

/// Adds the counterfactual figures and the savings to `commissioner`.
pub(super) fn expect(contract: &Contract, state: &mut State) {
    let Contract { model, plan, .. } = contract;
    let State {
        people,
        buffers,
        commissioner,
        measurements,
        ..
    } = state;
    let h = model.horizon;
    let mut expected = Expected::default();
    let mut months_realised: u64 = 0;
    for (s, seg) in model.segments.iter().enumerate() {
        let Some(process) = seg.sustained() else {
            continue;
        };
        let before = (expected.savings, expected.savings_npv);
        let pools = plan.pools[s].len();
        let entrants = &mut buffers.counterfactual_entrants[..pools * h];
        expected_entrants(contract, s, process, people, entrants);
        for (pool, prices) in plan.pools[s].iter().enumerate() {
            for month in 0..h {
                let n = entrants[pool * h + month];
                if n != 0.0 {
                    follow_expected_stays(contract, s, process, prices, month, n, &mut expected);
                }
            }
        }
        for t in 0..h {
            let n = people.realised_months[s * h + t];
            months_realised += n;
            let saving = n as f64 * seg.savings_per_outcome_month as f64;
            expected.savings += saving;
            expected.savings_npv += saving * plan.discount[t];
        }
        let by_segment = &mut measurements.savings_by_segment[s];
        by_segment.0 += expected.savings - before.0;
        by_segment.1 += expected.savings_npv - before.1;
    }
    commissioner.counterfactual_outcomes = expected.outcomes;
    commissioner.outcome_months = months_realised;
    commissioner.counterfactual_outcome_months = expected.outcome_months;
    commissioner.savings += expected.savings;
    commissioner.savings_npv += expected.savings_npv;
    commissioner.deadweight = expected
        .payments
        .min((commissioner.paid.outcome + commissioner.paid.sustainment) as f64);
}

/// Expected entries into outcome without the intervention, per price pool
/// and month, of the segment's referrals.
fn expected_entrants(
    contract: &Contract,
    segment: usize,
    process: &Sustained,
    people: &People,
    entrants: &mut [f64],
) {
    let Contract {
        model,
        plan,
        hazards,
        ..
    } = contract;
    let h = model.horizon;
    entrants.fill(0.0);
    for m in 0..model.referral_months {
        let n = people.referrals[segment * model.referral_months + m];
        if n == 0 {
            continue;
        }
        let pool = plan.pool_of(segment, m);
        let mut waiting = n as f64;
        for t in m..(m + process.window).min(h) {
            let p = hazards.base_at(segment, t);
            entrants[pool * h + t] += waiting * p;
            waiting *= 1.0 - p;
        }
    }
}

/// Follows `entrants` expected to enter outcome in `month` through their
/// expected stay: months in outcome (counted against savings), outcome
/// events, and the payments they would have earned within the horizon.
fn follow_expected_stays(
    contract: &Contract,
    segment: usize,
    process: &Sustained,
    prices: &PoolPrices,
    month: usize,
    entrants: f64,
    expected: &mut Expected,
) {
    let Contract { model, plan, .. } = contract;
    let h = model.horizon;
    let lags = model.payments.lags;
    let by_event = model.payments.price_year == PriceYear::Event;
    let stay = 1.0 - process.dropout;
    let qualifying = process.qualifying_months;
    let seg = &model.segments[segment];
    let mut in_outcome = entrants;
    for age in 1..=plan.ages[segment] {
        let t = month + age - 1;
        if t >= h {
            break;
        }
        if age <= seg.savings_months {
            expected.outcome_months += in_outcome;
            let saving = in_outcome * seg.savings_per_outcome_month as f64;
            expected.savings -= saving;
            expected.savings_npv -= saving * plan.discount[t];
        }
        let price = if age == qualifying {
            expected.outcomes += in_outcome;
            let price = if by_event {
                seg.tariff.outcome[t / 12]
            } else {
                prices.outcome
            };
            (t + lags.outcome < h).then_some(price)
        } else if age > qualifying && age - qualifying <= process.max_sustainment_months {
            let k = age - qualifying;
            let price = if by_event {
                seg.tariff.sustainment[t / 12]
            } else {
                prices.sustainment[k - 1]
            };
            (t + lags.sustainment < h).then_some(price)
        } else {
            None
        };
        if let Some(price) = price {
            expected.payments += in_outcome * price as f64;
        }
        in_outcome *= stay;
    }
}
