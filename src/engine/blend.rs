//! A blended payment (docs/model.md §8b): share `f_y` of each outcome and
//! sustainment price is paid instead as a fee per referral, the fee being
//! what that share of the prices is expected to earn per referral in the
//! contract's plan. The blend is applied to the model's tariffs when the
//! scenario is loaded, so every later stage (prices, caps, payers, the
//! counterfactual) sees one ordinary tariff: the fee is part of the
//! attachment price.
//!
//! The fee is fixed when the contract is signed. A stress, a reverse
//! stress or a sensitivity analysis moves the world, not the contract, so
//! it keeps the fee of the scenario it stresses ([`hold_fee`]); a design,
//! a sweep or `--set` writes a new contract, whose fee is set from its own
//! plan.

use super::operating::expected_payments;
use crate::model::{Model, Pence, PriceYear};

/// The fee per referral of each segment by referral year, in pence: share
/// `f` of what the written prices are expected to earn per referral
/// ([`expected_payments`]: falling due before the horizon, every uncertain
/// parameter at the base model's value, the effect and the economy at
/// their medians), averaged over the year's referral months weighted by
/// the planned referrals (evenly when none are planned).
pub fn planned_fees(model: &Model) -> Vec<Vec<Pence>> {
    let Some(blended) = &model.payments.blended else {
        return Vec::new();
    };
    let by_event = model.payments.price_year == PriceYear::Event;
    let share = |y: usize| blended.fee_share[y.min(blended.fee_share.len() - 1)];
    let years = model.years();
    model
        .segments
        .iter()
        .enumerate()
        .map(|(s, seg)| {
            let tariff = written(model, s);
            let effect = seg
                .effect
                .as_ref()
                .unwrap_or(&model.shared_effect)
                .at_percentile(0.5);
            (0..years)
                .map(|y| {
                    let months = (12 * y)..(12 * (y + 1)).min(model.referral_months);
                    if months.is_empty() {
                        return 0;
                    }
                    let planned: f64 = seg.referrals[months.clone()].iter().sum();
                    let weight = |m: usize| {
                        if planned > 0.0 {
                            seg.referrals[m] / planned
                        } else {
                            1.0 / months.len() as f64
                        }
                    };
                    let fee: f64 = months
                        .clone()
                        .map(|m| {
                            let value = expected_payments(model, s, m, effect, |k, t| {
                                let py = if by_event { (t / 12).min(years - 1) } else { y };
                                let price = if k == 0 {
                                    tariff.outcome[py]
                                } else {
                                    tariff.sustainment[py]
                                };
                                share(py) * price as f64
                            });
                            weight(m) * value
                        })
                        .sum();
                    fee.round() as Pence
                })
                .collect()
        })
        .collect()
}

/// The tariff of segment `s` as written, before any blend.
fn written(model: &Model, s: usize) -> &crate::model::Tariff {
    match &model.payments.blended {
        Some(b) if !b.written.is_empty() => &b.written[s],
        _ => &model.segments[s].tariff,
    }
}

/// Blends the written tariffs with `fee`: outcome and sustainment prices
/// of year `y` times `1 - f_y` (to the penny), the fee added to the
/// attachment price of its referral year. Applying it again with another
/// fee starts from the written tariffs.
pub fn apply(model: &mut Model, fee: Vec<Vec<Pence>>) {
    let Some(blended) = &mut model.payments.blended else {
        return;
    };
    if blended.written.is_empty() {
        blended.written = model.segments.iter().map(|s| s.tariff.clone()).collect();
    }
    let shares = &blended.fee_share;
    let share = |y: usize| shares[y.min(shares.len() - 1)];
    let kept = |y: usize, price: Pence| ((1.0 - share(y)) * price as f64).round() as Pence;
    for (s, seg) in model.segments.iter_mut().enumerate() {
        let written = &blended.written[s];
        let tariff = &mut seg.tariff;
        for y in 0..tariff.outcome.len() {
            tariff.outcome[y] = kept(y, written.outcome[y]);
            tariff.sustainment[y] = kept(y, written.sustainment[y]);
            tariff.attachment[y] = written.attachment[y] + fee[s][y];
        }
    }
    blended.fee = fee;
}

/// Sets the blend from the model's own plan (a contract being written).
pub fn from_plan(model: &mut Model) {
    if model.payments.blended.is_some() {
        let fee = planned_fees(model);
        apply(model, fee);
    }
}

/// Gives `stressed` the fee of the contract `signed` (the same scenario
/// under a stress): the world moved, the contract did not. Nothing changes
/// when either is not blended or their segments differ.
pub fn hold_fee(stressed: &mut Model, signed: &Model) {
    let (Some(_), Some(b)) = (&stressed.payments.blended, &signed.payments.blended) else {
        return;
    };
    if b.fee.len() == stressed.segments.len() {
        apply(stressed, b.fee.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::math;
    use crate::scenario::{Override, load_str};

    fn minimal(extra: &[(&str, &str)]) -> Model {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/scenarios/minimal.toml"
        ))
        .unwrap();
        let overrides: Vec<Override> = extra
            .iter()
            .map(|(k, v)| format!("{k}={v}").parse().unwrap())
            .collect();
        load_str(&text, "minimal.toml", &overrides).unwrap().model
    }

    /// One month in the programme, no sustainment, no lag, no uncertainty:
    /// the expected outcome payment per referral is
    /// `(1 - e^-(h (1 + effect))) x price`, so the fee is `f` times that,
    /// and the prices keep `1 - f`.
    #[test]
    fn fee_is_the_share_of_the_expected_outcome_payment() {
        let model = minimal(&[
            ("payments.blended.fee_share", "0.3"),
            ("segments.jobseekers.sustained.window_months", "1"),
            ("segments.jobseekers.sustained.qualifying_months", "1"),
            ("segments.jobseekers.sustained.max_sustainment_months", "0"),
            ("segments.jobseekers.sustained.baseline_hazard", "0.2"),
            ("segments.jobseekers.tariff.outcome", "1000"),
            ("segments.jobseekers.tariff.attachment", "50"),
            ("payments.lag_months.outcome", "0"),
            ("payments.price_discount", "0"),
        ]);
        let b = model.payments.blended.as_ref().unwrap();
        let expected = 0.3 * (1.0 - math::exp(-0.2f64 * 1.25)) * 100_000.0;
        assert_eq!(b.fee[0][0], expected.round() as Pence);
        let tariff = &model.segments[0].tariff;
        assert_eq!(tariff.outcome[0], 70_000);
        assert_eq!(tariff.attachment[0], 5_000 + expected.round() as Pence);
        assert_eq!(b.written[0].outcome[0], 100_000);
    }

    /// A stress on the effect moves the world, not the contract: the
    /// stressed model keeps the signed fee, with its own written prices
    /// blended by the same shares.
    #[test]
    fn a_stress_keeps_the_signed_fee() {
        let signed = minimal(&[("payments.blended.fee_share", "0.3")]);
        let mut stressed = minimal(&[
            ("payments.blended.fee_share", "0.3"),
            ("uncertainty.effect", "-0.2"),
        ]);
        let fee = |m: &Model| m.payments.blended.as_ref().unwrap().fee.clone();
        assert!(fee(&stressed)[0][0] < fee(&signed)[0][0]);
        hold_fee(&mut stressed, &signed);
        assert_eq!(fee(&stressed), fee(&signed));
        let (a, b) = (&stressed.segments[0].tariff, &signed.segments[0].tariff);
        assert_eq!(a.attachment, b.attachment);
        assert_eq!(a.outcome, vec![70_000; 4]);
    }
}
