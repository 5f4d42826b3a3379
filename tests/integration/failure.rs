//! A subcontractor that cannot carry its costs fails in the month the model
//! says, and its participants transfer or lose the service.

use crate::common::{each_iteration, model};
use pbrsim::math;
use pbrsim::model::PRIME;

const SCENARIO: &str = r#"
name = "failing subcontractor"
[time]
horizon_months = 24
referral_months = 12
[segments.s]
referrals_per_month = 10
referral_process = "fixed"
[segments.s.sustained]
baseline_hazard = 0.0
window_months = 6
[segments.s.allocation]
prime = 0.0
sub = 1.0
[prime]
reserves = 1000000
cost_per_participant_month = 10
[subcontractors.sub]
reserves = 10000
credit_line = 1000
overhead_per_month = 3000
on_failure = "transfer"
"#;

/// Cohorts of 10 referred each month 0..12 stay 6 months: those referred
/// from `from` onwards that are in the programme in month t.
fn in_programme(t: usize, from: usize) -> u64 {
    (from..12).filter(|&m| m <= t && t < m + 6).count() as u64 * 10
}

#[test]
fn fails_when_cash_falls_below_the_credit_line() {
    // Cash after month t is 10,000 - 3,000 (t + 1): -2,000 < -1,000 first in month 3.
    let m = model(SCENARIO, &[]);
    each_iteration(&m, 1, 3, |r| {
        let sub = &r.parties[PRIME + 1];
        assert_eq!(sub.failure_month, Some(3));
        assert_eq!(sub.cost, 4 * 3000 * 100);
        assert!(
            r.monthly[(PRIME + 1) * m.horizon + 4..(PRIME + 2) * m.horizon]
                .iter()
                .all(|&f| f == 0)
        );
        assert_eq!(r.parties[PRIME].failure_month, None);
    });
}

#[test]
fn transferred_participants_cost_the_prime_from_the_next_month() {
    let m = model(SCENARIO, &[]);
    let expected: u64 = (4..24).map(|t| in_programme(t, 0)).sum::<u64>() * 10 * 100;
    each_iteration(&m, 1, 1, |r| {
        assert_eq!(r.parties[PRIME].cost as u64, expected)
    });
}

#[test]
fn lost_service_leaves_old_participants_unserved_and_new_referrals_with_the_prime() {
    let m = model(
        SCENARIO,
        &["subcontractors.sub.on_failure=\"lose_service\""],
    );
    let expected: u64 = (4..24).map(|t| in_programme(t, 4)).sum::<u64>() * 10 * 100;
    each_iteration(&m, 1, 1, |r| {
        assert_eq!(r.parties[PRIME].cost as u64, expected)
    });
}

#[test]
fn lost_service_means_no_effect_for_the_failed_providers_participants() {
    // Effect 3 quadruples the hazard while served. The subcontractor fails
    // in month 3: its cohorts 0-3 are served in months 0-3 only.
    let sets = [
        "segments.s.sustained.baseline_hazard=0.05",
        "segments.s.effect=3.0",
        "segments.s.referrals_per_month=[1000, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]",
        "subcontractors.sub.on_failure=\"lose_service\"",
    ];
    let m = model(SCENARIO, &sets);
    let mut entries = vec![];
    each_iteration(&m, 3, 400, |r| {
        entries.push(r.commissioner.outcomes as f64 / 1000.0)
    });
    // qualifying 1: the outcome is the entry. Months 0-3 at 0.2 hazard, 4-5 at 0.05.
    let truth = 1.0 - math::exp(-(4.0 * 0.2 + 2.0 * 0.05f64));
    let (mean, se) = crate::common::mean_se(&entries);
    crate::common::assert_within("entries with service lost", mean, se, truth, 5.0);
}
