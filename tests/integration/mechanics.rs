//! Exact tests of the payment mechanics on single, deterministic participants.

use crate::common::{ONE_SEGMENT, each_iteration, model};
use pbrsim::math;
use pbrsim::model::{COMMISSIONER, Pence};

/// One participant referred in month 0 who enters outcome in their first
/// programme month (hazard so large that p = 1) and never leaves.
const ONE_PARTICIPANT: [&str; 6] = [
    "segments.jsa.referrals_per_month=[1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]",
    "segments.jsa.referral_process=\"fixed\"",
    "segments.jsa.sustained.baseline_hazard=60.0",
    "segments.jsa.sustained.dropout=0.0",
    "segments.jsa.sustained.window_months=1",
    "time.referral_months=12",
];

/// Commissioner payments by month for one iteration.
fn payments_by_month(sets: &[&str]) -> Vec<Pence> {
    let mut all: Vec<&str> = ONE_PARTICIPANT.to_vec();
    all.extend_from_slice(sets);
    let m = model(ONE_SEGMENT, &all);
    let mut out = vec![];
    each_iteration(&m, 1, 1, |r| {
        out = (0..m.horizon)
            .map(|t| -r.monthly[COMMISSIONER * m.horizon + t])
            .collect();
    });
    out
}

#[test]
fn work_programme_jsa_25_plus_maximum_is_4395_and_4131_30_after_discount() {
    let paid = payments_by_month(&[]);
    assert_eq!(paid.iter().sum::<Pence>(), 439_500);
    let discounted = payments_by_month(&["payments.price_discount=0.06"]);
    assert_eq!(discounted.iter().sum::<Pence>(), 413_130);
}

#[test]
fn timing_convention_outcome_in_e_plus_q_minus_1_then_sustainment_past_the_window() {
    // Entry in month e = 0 (the referral month), q = 6: the outcome event is
    // in month 5; sustainment months 6..=18 although the window was 1 month.
    let paid = payments_by_month(&[]);
    let mut expected = vec![0; 60];
    expected[0] = 40_000;
    expected[5] = 120_000;
    for t in 6..=18 {
        expected[t] = 21_500;
    }
    assert_eq!(paid, expected);
}

#[test]
fn lags_shift_each_rule() {
    let paid = payments_by_month(&[
        "payments.lag_months.attachment=1",
        "payments.lag_months.outcome=2",
        "payments.lag_months.sustainment=1",
    ]);
    // attachment 0 -> 1; outcome 5 -> 7; sustainment months 6..=18 -> 7..=19
    assert_eq!(paid[1], 40_000);
    assert_eq!(paid[7], 120_000 + 21_500);
    assert!(paid[8..=19].iter().all(|&p| p == 21_500));
    assert_eq!(paid[20], 0);
    assert_eq!(paid.iter().sum::<Pence>(), 439_500);
}

#[test]
fn no_attachment_fee_for_a_cohort_whose_contract_year_price_is_zero() {
    // Referred in month 36 (contract year 4), attachment [400, 400, 400, 0].
    let mut profile = vec!["0"; 40];
    profile[36] = "1";
    let refs = format!("segments.jsa.referrals_per_month=[{}]", profile.join(", "));
    let paid = payments_by_month(&[
        "time.referral_months=40",
        &refs,
        "segments.jsa.tariff.attachment=[400, 400, 400, 0]",
    ]);
    assert_eq!(paid[36], 0);
    assert_eq!(paid[41], 120_000);
    assert_eq!(paid.iter().sum::<Pence>(), 120_000 + 13 * 21_500);
}

#[test]
fn prices_follow_the_referral_year_by_default_and_the_event_year_on_request() {
    // Referred in month 11 (year 1), outcome in month 16 (year 2).
    let mut profile = ["0"; 12];
    profile[11] = "1";
    let refs = format!("segments.jsa.referrals_per_month=[{}]", profile.join(", "));
    let by_referral = payments_by_month(&[&refs, "segments.jsa.tariff.outcome=[1000, 2000]"]);
    assert_eq!(by_referral[16], 100_000);
    let by_event = payments_by_month(&[
        &refs,
        "segments.jsa.tariff.outcome=[1000, 2000]",
        "payments.price_year=\"event\"",
    ]);
    assert_eq!(by_event[16], 200_000);
}

#[test]
fn per_participant_cap_cuts_in_payment_order() {
    // Cap 2,000: attachment 400, outcome 1,200, then 400 of sustainment
    // (215 + 185), nothing after.
    let paid = payments_by_month(&["segments.jsa.tariff.cap_per_participant=2000"]);
    assert_eq!(paid.iter().sum::<Pence>(), 200_000);
    assert_eq!(paid[6], 21_500);
    assert_eq!(paid[7], 18_500);
    assert_eq!(paid[8], 0);
    // What the cap removed is reported: the other 13 x 215 - 400.
    let mut sets = ONE_PARTICIPANT.to_vec();
    sets.push("segments.jsa.tariff.cap_per_participant=2000");
    let m = model(ONE_SEGMENT, &sets);
    each_iteration(&m, 1, 1, |r| {
        assert_eq!(
            r.commissioner.removed_by_participant_cap,
            13 * 21_500 - 40_000
        );
    });
}

#[test]
fn contract_caps_limit_payments_and_report_what_they_removed() {
    let paid = payments_by_month(&["payments.cap_total=1500"]);
    assert_eq!(paid.iter().sum::<Pence>(), 150_000);
    assert_eq!(paid[5], 110_000);
    let m = model(
        ONE_SEGMENT,
        &[
            ONE_PARTICIPANT[0],
            ONE_PARTICIPANT[1],
            ONE_PARTICIPANT[2],
            ONE_PARTICIPANT[3],
            ONE_PARTICIPANT[4],
            "payments.cap_per_year=1000",
        ],
    );
    each_iteration(&m, 1, 1, |r| {
        // Year 1 (months 0-11) has 400 + 1,200 + 6 x 215 due, year 2 has
        // 7 x 215: each pays 1,000.
        assert_eq!(r.commissioner.paid.total(), 200_000);
        assert_eq!(r.commissioner.removed_by_contract_cap, 439_500 - 200_000);
    });
}

#[test]
fn payments_due_at_or_after_the_horizon_are_counted_not_lost() {
    let paid = payments_by_month(&["time.horizon_months=12"]);
    assert_eq!(paid.iter().sum::<Pence>(), 40_000 + 120_000 + 6 * 21_500);
    let m = model(
        ONE_SEGMENT,
        &[
            ONE_PARTICIPANT[0],
            ONE_PARTICIPANT[1],
            ONE_PARTICIPANT[2],
            ONE_PARTICIPANT[3],
            ONE_PARTICIPANT[4],
            "time.horizon_months=12",
        ],
    );
    each_iteration(&m, 1, 1, |r| {
        assert_eq!(r.commissioner.beyond_horizon, 7 * 21_500)
    });
}

#[test]
fn co_funder_pays_its_share_of_outcome_payments_only() {
    let text = format!("{ONE_SEGMENT}\n[co_funder]\nlabel = \"Fund\"\nshare = 0.25\n");
    let mut sets = ONE_PARTICIPANT.to_vec();
    sets.pop();
    let m = model(&text, &sets);
    each_iteration(&m, 1, 1, |r| {
        let results: Pence = 120_000 + 13 * 21_500;
        assert_eq!(r.commissioner.co_funded, results / 4);
        assert_eq!(r.parties[1].cost, results / 4);
        assert_eq!(r.parties[0].cost, 439_500 - results / 4);
    });
}

#[test]
fn outcome_falls_in_month_e_plus_q_minus_1_for_later_entries_too() {
    // One cohort of 1,000 in month 0, p = 1 - exp(-0.1) a month, no
    // dropout, outcome price only: the outcome payment in month t is 1,000
    // x P(first month in outcome e = t - q + 1) x price, with q = 6.
    let sets = [
        "segments.jsa.referrals_per_month=[1000, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]",
        "segments.jsa.referral_process=\"fixed\"",
        "segments.jsa.sustained.baseline_hazard=0.1",
        "segments.jsa.sustained.dropout=0.0",
        "segments.jsa.tariff.attachment=0",
        "segments.jsa.tariff.sustainment=0",
    ];
    let m = model(ONE_SEGMENT, &sets);
    let n = 4000;
    let mut by_month = vec![vec![]; 12];
    each_iteration(&m, 3, n, |r| {
        for t in 0..12 {
            by_month[t].push(-r.monthly[COMMISSIONER * m.horizon + t] as f64 / 100.0);
        }
    });
    let p = 1.0 - math::exp(-0.1f64);
    for (t, paid) in by_month.iter().enumerate() {
        let truth = if t < 5 {
            0.0
        } else {
            1000.0 * p * math::powi(1.0 - p, t as i64 - 5) * 1200.0
        };
        let (mean, se) = crate::common::mean_se(paid);
        if truth == 0.0 {
            assert_eq!(mean, 0.0, "month {t}");
        } else {
            crate::common::assert_within(
                &format!("outcome payments in month {t}"),
                mean,
                se,
                truth,
                5.0,
            );
        }
    }
}

/// Fee for service: 12,000 a year for a baseline of 120 referrals, paid
/// monthly in arrears; outside a 10% band each referral is topped up or
/// clawed back at 100.
fn fee_for_service(referrals_per_month: u64) -> Vec<Pence> {
    let text = format!(
        "{ONE_SEGMENT}\n[payments.fee_for_service]\nannual_fee = 12000\nbaseline_referrals_per_year = 120\nband = 0.1\nreconciliation_price_per_referral = 100\nlag_months = 1\n"
    );
    let refs = format!("segments.jsa.referrals_per_month={referrals_per_month}");
    let m = model(
        &text,
        &[
            &refs,
            "segments.jsa.referral_process=\"fixed\"",
            "segments.jsa.tariff.attachment=0",
            "segments.jsa.tariff.outcome=0",
            "segments.jsa.tariff.sustainment=0",
        ],
    );
    let mut out = vec![];
    each_iteration(&m, 1, 1, |r| {
        out = (0..m.horizon)
            .map(|t| -r.monthly[COMMISSIONER * m.horizon + t])
            .collect()
    });
    out
}

#[test]
fn fee_for_service_is_paid_monthly_and_reconciled_outside_its_band() {
    // On baseline: 1,000 a month in months 1-12 (one month in arrears).
    let on = fee_for_service(10);
    assert_eq!(on[0], 0);
    assert!(on[1..=11].iter().all(|&p| p == 100_000));
    assert_eq!(on[12], 100_000);
    assert!(on[13..].iter().all(|&p| p == 0));
    // 168 referrals against a ceiling of 132: 36 x 100 topped up in month 12.
    assert_eq!(fee_for_service(14)[12], 100_000 + 360_000);
    // 96 against a floor of 108: 12 x 100 clawed back in month 12.
    assert_eq!(fee_for_service(8)[12], 100_000 - 120_000);
    assert_eq!(
        fee_for_service(8).iter().sum::<Pence>(),
        1_200_000 - 120_000
    );
}

/// Ten completers a month for two years (entry at once, q = 1), paid 50 per
/// completer above a yearly baseline of 100.
fn additional_outcomes(rule: &str) -> (Vec<Pence>, Pence) {
    let text = format!(
        "{ONE_SEGMENT}\n[[payments.additional_outcomes]]\nlabel = \"completers\"\nprice_per_unit = 50\nlag_months = 2\n{rule}\n"
    );
    let m = model(
        &text,
        &[
            "time.referral_months=24",
            "segments.jsa.referrals_per_month=10",
            "segments.jsa.referral_process=\"fixed\"",
            "segments.jsa.sustained.baseline_hazard=60.0",
            "segments.jsa.sustained.qualifying_months=1",
            "segments.jsa.tariff.attachment=0",
            "segments.jsa.tariff.outcome=0",
            "segments.jsa.tariff.sustainment=0",
        ],
    );
    let mut out = (vec![], 0);
    each_iteration(&m, 1, 1, |r| {
        out = (
            (0..m.horizon)
                .map(|t| -r.monthly[COMMISSIONER * m.horizon + t])
                .collect(),
            r.additional_earned[0],
        )
    });
    out
}

#[test]
fn additional_outcomes_pay_above_a_fixed_or_rolling_baseline() {
    // 120 completers a year against 100: 20 x 50 after each year, 2 months late.
    let (paid, earned) = additional_outcomes("baseline = 100");
    assert_eq!((paid[13], paid[25], earned), (100_000, 100_000, 200_000));
    assert_eq!(paid.iter().sum::<Pence>(), 200_000);
    // Rolling: year 2's baseline is year 1's 120 completers, so it pays nothing.
    let (paid, earned) = additional_outcomes("baseline = 100\nrolling = true");
    assert_eq!((paid[13], paid[25], earned), (100_000, 0, 100_000));
    // Below the baseline nothing is paid (and nothing is clawed back).
    let (_, earned) = additional_outcomes("baseline = [150, 100]");
    assert_eq!(earned, 100_000);
}

#[test]
fn the_service_fee_can_change_by_contract_year() {
    let m = model(
        ONE_SEGMENT,
        &[
            "payments.service_fee_per_month=[100, 50]",
            "payments.service_fee_months=30",
            "segments.jsa.referrals_per_month=0",
        ],
    );
    each_iteration(&m, 1, 1, |r| {
        let paid: Vec<Pence> = (0..m.horizon)
            .map(|t| -r.monthly[COMMISSIONER * m.horizon + t])
            .collect();
        assert_eq!(
            (paid[0], paid[11], paid[12], paid[29], paid[30]),
            (10_000, 10_000, 5_000, 5_000, 0)
        );
        assert_eq!(r.commissioner.paid.service_fee, 12 * 10_000 + 18 * 5_000);
    });
}
