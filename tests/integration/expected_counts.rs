//! `counts = "expected"`: every participant-level count is its expectation
//! rounded half away from zero, so a published cohort's arithmetic and a
//! constructed contract's payments are reproduced exactly, in every
//! iteration alike.

use crate::common::{each_iteration, model};
use pbrsim::engine::improvement::{draw_time_in_state, event_pmf, expected_events};
use rand::SeedableRng;

/// Peterborough cohort 1's arithmetic: 1,000 prisoners at 1.55
/// reconviction events each without the programme and 1.42 with it (an
/// effect of 1 - 1.42 / 1.55, given to four places), against a simulated
/// comparison of the same size.
const PETERBOROUGH: &str = r#"
name = "reconviction events, cohort 1"
counts = "expected"
[time]
horizon_months = 40
referral_months = 2
[segments.prisoners]
referrals_per_month = [1000, 0]
effect = 0.0839
[segments.prisoners.adverse_events]
rate = 1.55
follow_up_months = 12
[segments.prisoners.allocation]
prime = 1.0
[[payments.improvement]]
label = "reconviction"
measure = "frequency"
comparison = { kind = "simulated", per_participant = 1 }
cohorts = [{ from_month = 0, to_month = 2, threshold = 0.10 }]
price_per_unit = 1000
measurement_lag_months = 6
lag_months = 2
[prime]
reserves = 100000000
"#;

#[test]
fn peterborough_cohort_one_falls_short_of_ten_percent_and_pays_at_seven_and_a_half() {
    let m = model(PETERBOROUGH, &[]);
    each_iteration(&m, 1, 3, |r| {
        assert_eq!(r.commissioner.referrals, 1000);
        // 1,000 x 1.55 x (1 - 0.0839) = 1,419.955 events, rounded.
        assert_eq!(r.commissioner.adverse_events, 1420);
        // 1,000 x (1 - e^-1.419955) = 758.3..., rounded.
        assert_eq!(r.commissioner.people_with_event, 758);
        let v = r.verdicts[0];
        assert_eq!(v.relative, 130.0 / 1550.0);
        assert_eq!(format!("{:.2}%", 100.0 * v.relative), "8.39%");
        assert!(!v.met);
        assert_eq!(r.commissioner.paid.improvement, 0);
    });
    let m = model(&PETERBOROUGH.replace("0.10 }", "0.075 }"), &[]);
    each_iteration(&m, 1, 3, |r| {
        let v = r.verdicts[0];
        assert!(v.met);
        // 1.55 - 1.42 events per person x 1,000 people at £1,000 each.
        assert_eq!(r.commissioner.paid.improvement, 130 * 100_000);
        // Measured in month 1 + 12 + 6 = 19, paid in 21.
        assert_eq!(-r.monthly[21], 130 * 100_000);
    });
    assert!(pbrsim::explain::explain(&m).contains("Counts are their expectations"));
    let random = model(&PETERBOROUGH.replace("counts = \"expected\"", ""), &[]);
    assert!(!pbrsim::explain::explain(&random).contains("Counts are their expectations"));
}

/// One cohort of 100 in month 0, entering outcome at 10% a month over a
/// three-month window; two months in outcome make the outcome event, then
/// up to two sustainment months, leaving outcome at 20% a month.
const SUSTAINED: &str = r#"
name = "one cohort"
counts = "expected"
[time]
horizon_months = 12
referral_months = 1
[segments.jsa]
referrals_per_month = 100
effect = 0.0
[segments.jsa.sustained]
baseline_hazard = 0.1
window_months = 3
qualifying_months = 2
dropout = 0.2
max_sustainment_months = 2
[segments.jsa.tariff]
attachment = 400
outcome = 1200
sustainment = 215
[segments.jsa.allocation]
prime = 1.0
[prime]
reserves = 100000000
"#;

/// [`SUSTAINED`] with its outcomes measured against a simulated
/// comparison: who reaches the outcome event is then counted first.
fn measured_sustained() -> String {
    format!(
        "{SUSTAINED}{}",
        r#"
[[payments.improvement]]
label = "jobs"
segments = ["jsa"]
measure = "binary"
comparison = { kind = "simulated", per_participant = 2 }
cohorts = [{ from_month = 0, to_month = 1, threshold = 0.0 }]
price_per_unit = 100
"#
    )
}

#[test]
fn referrals_entries_stays_and_payments_are_the_rounded_expectations() {
    // Entries: 100 x 0.1 = 10, then 90 x 0.1 = 9, then 81 x 0.1 = 8.1 -> 8.
    // Of 10 entrants: 2 leave after month 1 (8 reach the outcome), then
    // round(1.6) = 2 (6 in the first sustainment month), round(1.2) = 1 (5).
    // Of 9: round(1.8) = 2 (7), round(1.4) = 1 (6), round(1.2) = 1 (5).
    // Of 8: round(1.6) = 2 (6), round(1.2) = 1 (5), round(1.0) = 1 (4).
    let outcomes = 8 + 7 + 6;
    let sustainment_months = (6 + 5) + (6 + 5) + (5 + 4);
    // A "poisson" referral process is counted at its expectation too.
    // Measured, 8, 7 and 6 of the entrants (0.8 of each, rounded) reach
    // the outcome event, and the stays from there are the same.
    let measured = measured_sustained();
    let variants = [
        (SUSTAINED, &[][..]),
        (SUSTAINED, &["segments.jsa.referral_process=poisson"][..]),
        (&measured, &[][..]),
    ];
    for (text, sets) in variants {
        let m = model(text, sets);
        each_iteration(&m, 9, 3, |r| {
            let c = &r.commissioner;
            assert_eq!(c.referrals, 100);
            assert_eq!(c.outcomes, outcomes);
            assert_eq!(c.paid.attachment, 100 * 40_000);
            assert_eq!(c.paid.outcome, outcomes as i64 * 120_000);
            assert_eq!(c.paid.sustainment, sustainment_months * 21_500);
        });
    }
}

#[test]
fn measuring_a_segment_changes_none_of_its_counts() {
    let measured = measured_sustained();
    // Walking the rounded monthly leavers to the outcome event would give
    // 5, 5 and 4 of 10, 9 and 8 entrants at q = 3; rounding 0.75^2 of each
    // gives 6, 5 and 5, measured or not.
    for q in ["3", "4"] {
        let set = format!("segments.jsa.sustained.qualifying_months={q}");
        let sets = [set.as_str(), "segments.jsa.sustained.dropout=0.25"];
        let mut plain = vec![];
        each_iteration(&model(SUSTAINED, &sets), 1, 1, |r| {
            let c = &r.commissioner;
            plain.push((
                c.outcomes,
                c.outcome_months,
                c.paid.outcome,
                c.paid.sustainment,
            ))
        });
        if q == "3" {
            assert_eq!(plain[0].0, 6 + 5 + 5);
        }
        each_iteration(&model(&measured, &sets), 1, 1, |r| {
            let c = &r.commissioner;
            let counts = (
                c.outcomes,
                c.outcome_months,
                c.paid.outcome,
                c.paid.sustainment,
            );
            assert_eq!(plain[0], counts);
        });
    }
}

#[test]
fn rounded_expectations_round_half_away_from_zero_and_keep_events_whole() {
    // 2.5 people with an event round up; a cohort's events are n x mean.
    assert_eq!(expected_events(5, &[0.5, 0.5], 0.5), (3, 3));
    assert_eq!(expected_events(4, &[0.5, 0.5], 0.625), (2, 3));
    assert_eq!(expected_events(100, &[1.0], 0.0), (0, 0));
}

#[test]
fn months_in_a_state_and_events_with_frailty_are_rounded_expectations() {
    // 100 people, 30 in the state at first; then of 30, round(7.5) = 8
    // leave and of 70, round(10.5) = 11 enter (33); then round(8.25) = 8
    // leave and round(10.05) = 10 enter (35); nothing is drawn.
    let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(1);
    let mut months = [0u64; 3];
    draw_time_in_state(&mut rng, true, 100, 0.3, 0.15, 0.25, &mut months);
    assert_eq!(months, [30, 33, 35]);
    // Gamma frailty of shape 2 at one event per person: (2/3)^2 have none,
    // so round(1,000 x 5/9) = 556 have an event, and 1,000 events.
    let mut pmf = Vec::new();
    event_pmf(1.0, Some(2.0), &mut pmf);
    assert_eq!(expected_events(1000, &pmf, 1.0), (556, 1000));
}

#[test]
fn every_iteration_is_the_same_world_when_parameters_are_fixed() {
    let time_in_state = r#"
name = "time in care"
counts = "expected"
[time]
horizon_months = 30
referral_months = 3
[segments.children]
referrals_per_month = 37.5
effect = 0.2
[segments.children.time_in_state]
follow_up_months = 12
initial_share = 0.3
entry_probability = 0.15
exit_probability = 0.25
[segments.children.allocation]
prime = 1.0
[[payments.improvement]]
label = "care"
measure = "time_in_state"
comparison = { kind = "simulated", per_participant = 1 }
cohorts = [{ from_month = 0, to_month = 3, threshold = 0.05 }]
price_per_unit = 10
[prime]
reserves = 100000000
"#;
    let measured_outcomes = measured_sustained();
    for text in [PETERBOROUGH, SUSTAINED, time_in_state, &measured_outcomes] {
        let m = model(text, &[]);
        let mut first: Option<String> = None;
        each_iteration(&m, 5, 6, |r| {
            let shown = format!(
                "{:?} {:?} {:?} {:?}",
                r.commissioner, r.monthly, r.verdicts, r.parties
            );
            match &first {
                None => first = Some(shown),
                Some(f) => assert_eq!(&shown, f),
            }
        });
        // The same world under another seed.
        each_iteration(&m, 6, 1, |r| {
            let shown = format!(
                "{:?} {:?} {:?} {:?}",
                r.commissioner, r.monthly, r.verdicts, r.parties
            );
            assert_eq!(Some(shown), first);
        });
    }
}

#[test]
fn an_unknown_count_mode_is_refused_with_the_choices() {
    let text = PETERBOROUGH.replace("counts = \"expected\"", "counts = \"expectd\"");
    let e = pbrsim::scenario::load_str(&text, "test.toml", &[]).unwrap_err();
    let shown = e.to_string();
    assert!(shown.contains("counts"), "{shown}");
    assert!(shown.contains("\"random\" or \"expected\""), "{shown}");
}
