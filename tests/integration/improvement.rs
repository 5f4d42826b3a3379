//! Counted adverse events and payments for improvement over a comparison:
//! Peterborough's arithmetic exactly, a null programme's chance of being
//! paid against its sampling distribution, and the event process against
//! closed forms.

use crate::common::{assert_within, each_iteration, mean_se, model};
use pbrsim::engine::improvement::{Counts, Tally, final_payment, judge, payment};
use pbrsim::math;
use pbrsim::model::{Comparison, ImprovementRule, Measure};
use statrs::distribution::{Discrete, DiscreteCDF, Poisson};

fn counts(people: u64, with_event: u64, events: u64) -> Counts {
    Counts {
        people,
        with_event,
        events,
        followed: 0,
    }
}

fn rule(measure: Measure) -> ImprovementRule {
    ImprovementRule {
        label: "r".into(),
        segments: vec![0],
        higher_is_better: false,
        measure,
        comparison: Comparison::Simulated {
            per_participant: 1.0,
        },
        cohorts: vec![],
        final_threshold_ppm: None,
        final_measured_in: 0,
        price_per_unit: vec![100],
        lag: 0,
        requires: None,
        interim_months: vec![],
        interim_baselines: vec![],
    }
}

/// A frequency tally: `treated` events among `n` people against
/// `comparison` events among `m`.
fn frequency(n: u64, treated: u64, m: u64, comparison: u64) -> Tally {
    Tally {
        treated: counts(n, 0, treated),
        comparison: counts(m, 0, comparison),
    }
}

#[test]
fn peterborough_thresholds_exactly() {
    let r = rule(Measure::Frequency);
    // Cohort 1: 142 against 155 reconviction events per 100, an 8.39%
    // reduction: no payment at the 10% cohort threshold.
    let v = judge(&r, &frequency(100, 142, 100, 155), 0, 100_000);
    assert!((v.relative - 13.0 / 155.0).abs() < 1e-15);
    assert!(!v.met);
    // A final 9.0% reduction pays at 7.5%.
    assert!(judge(&r, &frequency(1000, 910, 1000, 1000), 0, 75_000).met);
    // 9.99% does not pay at 10%; exactly 7.5% pays at 7.5%, and exactly 10% at 10%.
    assert!(!judge(&r, &frequency(10_000, 9_001, 10_000, 10_000), 0, 100_000).met);
    assert!(judge(&r, &frequency(1000, 925, 1000, 1000), 0, 75_000).met);
    assert!(judge(&r, &frequency(100, 90, 1000, 1000), 0, 100_000).met);
    // Different group sizes: 1.42 per person against 15.5 events per 10 people.
    let v = judge(&r, &frequency(1000, 1420, 10_000, 15_500), 0, 75_000);
    assert!(v.met && (v.relative - 0.13 / 1.55).abs() < 1e-12);
    // Units improved: (1.55 - 1.42) per person x 1,000 people = 130 events.
    assert!((v.units - 130.0).abs() < 1e-9);
    assert_eq!(payment(v.units, 100), 13_000);
}

#[test]
fn the_final_measurement_pays_only_the_excess_over_cohort_payments() {
    assert_eq!(final_payment(130.0, 100, 5_000), 8_000);
    assert_eq!(final_payment(130.0, 100, 20_000), 0);
}

#[test]
fn binary_and_per_person_with_event_measures_and_baselines() {
    // Binary: 40 of 100 against a 47.5% baseline share.
    let r = ImprovementRule {
        comparison: Comparison::Baseline {
            value: 0.475,
            drift_per_year: 0.0,
        },
        ..rule(Measure::Binary)
    };
    let t = Tally {
        treated: counts(100, 40, 70),
        comparison: counts(0, 0, 0),
    };
    let v = judge(&r, &t, 0, 150_000);
    assert!(v.met && (v.relative - 0.075 / 0.475).abs() < 1e-12 && (v.units - 7.5).abs() < 1e-9);
    // A baseline drifting down 10% a year is 0.4275 in year 2.
    let drifting = ImprovementRule {
        comparison: Comparison::Baseline {
            value: 0.475,
            drift_per_year: -0.1,
        },
        ..r.clone()
    };
    assert!((judge(&drifting, &t, 1, 0).units - 2.75).abs() < 1e-9);
    // Events per person with an event: 70 / 40 = 1.75 against 2.0.
    let f = ImprovementRule {
        comparison: Comparison::Baseline {
            value: 2.0,
            drift_per_year: 0.0,
        },
        ..rule(Measure::FrequencyPerPersonWithEvent)
    };
    let v = judge(&f, &t, 0, 125_000);
    assert!(v.met && (v.units - 10.0).abs() < 1e-9);
    // Nobody with an event: the measure is undefined and nothing is paid.
    let none = Tally {
        treated: counts(100, 0, 0),
        comparison: counts(0, 0, 0),
    };
    assert!(!judge(&f, &none, 0, 0).met && judge(&f, &none, 0, 0).relative.is_nan());
}

pub const SIB: &str = r#"
name = "reoffending"
[time]
horizon_months = 40
referral_months = 2
[segments.prisoners]
referrals_per_month = [1000, 0]
referral_process = "fixed"
[segments.prisoners.adverse_events]
rate = 1.5
follow_up_months = 12
[segments.prisoners.allocation]
prime = 1.0
[[payments.improvement]]
label = "events"
measure = "frequency"
comparison = { kind = "simulated", per_participant = 10 }
cohorts = [{ from_month = 0, to_month = 2, threshold = 0.05 }]
price_per_unit = 1000
measurement_lag_months = 6
lag_months = 2
[prime]
reserves = 100000000
"#;

/// P(d >= threshold) with no effect: treated events ~ Poisson(n mu),
/// comparison ~ Poisson(m mu), summed exactly over the comparison count.
fn null_trigger_probability(n: u64, m: u64, mu: f64, threshold: f64) -> f64 {
    let treated = Poisson::new(n as f64 * mu).unwrap();
    let comparison = Poisson::new(m as f64 * mu).unwrap();
    let centre = m as f64 * mu;
    let spread = 12.0 * centre.sqrt();
    let (lo, hi) = ((centre - spread).max(0.0) as u64, (centre + spread) as u64);
    (lo..=hi)
        .map(|c| {
            // d >= threshold  <=>  t / n <= (1 - threshold) c / m
            let limit = ((1.0 - threshold) * c as f64 * n as f64 / m as f64 + 1e-9).floor();
            comparison.pmf(c) * treated.cdf(limit as u64)
        })
        .sum()
}

#[test]
fn a_null_programme_is_paid_as_often_as_sampling_noise_says() {
    let m = model(SIB, &[]);
    let iterations = 20_000;
    let mut met = vec![];
    each_iteration(&m, 17, iterations, |r| {
        met.push(if r.verdicts[0].met { 1.0 } else { 0.0 })
    });
    let truth = null_trigger_probability(1000, 10_000, 1.5, 0.05);
    let (p, _) = mean_se(&met);
    let se = (truth * (1.0 - truth) / iterations as f64).sqrt();
    assert_within("null trigger probability", p, se, truth, 5.0);
    assert!(
        truth > 0.01,
        "the test needs a probability that is not negligible: {truth}"
    );
}

#[test]
fn payments_follow_measurement_and_lag() {
    // Measured in month 1 + 12 + 6 = 19, paid in 21, at 1,000 per event avoided.
    let m = model(SIB, &["segments.prisoners.effect=0.3"]);
    each_iteration(&m, 2, 50, |r| {
        let v = r.verdicts[0];
        let expected = (v.units * 100_000.0).round() as i64;
        if v.met {
            assert_eq!(r.commissioner.paid.improvement, expected);
            assert_eq!(-r.monthly[21], expected);
        } else {
            assert_eq!(r.commissioner.paid.improvement, 0);
        }
    });
}

#[test]
fn events_and_people_with_an_event_match_closed_forms_with_frailty() {
    // Gamma frailty of shape 2: per person negative binomial with mean mu,
    // variance mu + mu^2 / 2, and P(no event) = (k / (k + mu))^k.
    let m = model(
        SIB,
        &[
            "segments.prisoners.adverse_events.frailty_shape=2.0",
            "segments.prisoners.effect=0.2",
            "segments.prisoners.savings_per_event_avoided=10",
        ],
    );
    let (mut events, mut people) = (vec![], vec![]);
    each_iteration(&m, 5, 4000, |r| {
        // Savings: 10 per event avoided against the closed-form expectation.
        let avoided = 1500.0 - r.commissioner.adverse_events as f64;
        assert!((r.commissioner.savings - avoided * 1000.0).abs() < 1e-6);
        events.push(r.commissioner.adverse_events as f64);
        people.push(r.commissioner.people_with_event as f64);
        assert!((r.commissioner.counterfactual_adverse_events - 1500.0).abs() < 1e-9);
    });
    let mu: f64 = 1.5 * 0.8;
    let (mean, se) = mean_se(&events);
    assert_within("events", mean, se, 1000.0 * mu, 5.0);
    // A sum of 1,000 people is close to normal: the sample variance has
    // standard error var * sqrt(2 / iterations).
    let var = se * se * 4000.0;
    let var_truth = 1000.0 * (mu + mu * mu / 2.0);
    assert!(
        (var - var_truth).abs() < 5.0 * var_truth * (2.0f64 / 4000.0).sqrt(),
        "{var} vs {var_truth}"
    );
    let (mean, se) = mean_se(&people);
    assert_within(
        "people with an event",
        mean,
        se,
        1000.0 * (1.0 - math::pow(2.0 / (2.0 + mu), 2.0)),
        5.0,
    );
}

#[test]
fn malformed_improvement_rules_and_adverse_segments_are_refused() {
    let cases: [(&str, &str, &str); 6] = [
        (
            "label = \"events\"",
            "label = \"reconviction events\"",
            "not a usable label",
        ),
        (
            "comparison = { kind = \"simulated\", per_participant = 10 }",
            "comparison = { kind = \"baseline\", value = 1.5, per_participant = 10 }",
            "`per_participant` belongs to a simulated comparison",
        ),
        (
            "comparison = { kind = \"simulated\", per_participant = 10 }",
            "comparison = { kind = \"simulatd\", per_participant = 10 }",
            "did you mean `simulated`?",
        ),
        (
            "threshold = 0.05",
            "threshold = 5",
            "a relative improvement in [0, 1]",
        ),
        (
            "rate = 1.5",
            "rate = 1.5\nfrailty_shape = 0",
            "a gamma shape must be positive",
        ),
        (
            "referral_process = \"fixed\"",
            "referral_process = \"fixed\"\neffect = { dist = \"normal\", mean = 0.5, sd = 0.5 }",
            "must be at most 1",
        ),
    ];
    for (from, to, expected) in cases {
        assert!(SIB.contains(from), "test bug: {from}");
        let err = pbrsim::scenario::load_str(&SIB.replacen(from, to, 1), "t.toml", &[])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(expected),
            "{to}: expected `{expected}` in\n{err}"
        );
    }
    // A hurdle must measure the same cohorts.
    let hurdle = format!(
        "{SIB}\n[[payments.improvement]]\nlabel = \"people\"\nmeasure = \"binary\"\nrequires = \"events\"\ncomparison = {{ kind = \"baseline\", value = 0.5 }}\ncohorts = [{{ from_month = 0, to_month = 1, threshold = 0.05 }}]\nprice_per_unit = 10\n"
    );
    let err = pbrsim::scenario::load_str(&hurdle, "t.toml", &[])
        .unwrap_err()
        .to_string();
    assert!(err.contains("must measure the same cohorts"), "{err}");
}

/// The one-segment sustained scenario (JSA 25+ prices) with an improvement
/// rule on its outcome rate: higher is better.
fn positive(rule: &str, sets: &[&str]) -> pbrsim::model::Model {
    let text = format!(
        "{}\n[[payments.improvement]]\nlabel = \"jobs\"\nsegments = [\"jsa\"]\nmeasure = \"binary\"\ncohorts = [{{ from_month = 0, to_month = 12, threshold = 0.05 }}]\nprice_per_unit = 1000\n{rule}\n",
        crate::common::ONE_SEGMENT
    );
    model(&text, sets)
}

#[test]
fn positive_outcomes_counted_per_cohort_match_the_outcome_events() {
    // Against a baseline share v, units = outcomes - v x referrals: the
    // rule's treated count is exactly the outcome events of the cohort.
    let m = positive("comparison = { kind = \"baseline\", value = 0.4 }", &[]);
    each_iteration(&m, 8, 200, |r| {
        let v = r.verdicts[0];
        let outcomes = v.units + 0.4 * r.commissioner.referrals as f64;
        assert!(
            (outcomes - r.commissioner.outcomes as f64).abs() < 1e-6,
            "{outcomes} vs {}",
            r.commissioner.outcomes
        );
    });
}

#[test]
fn measuring_outcomes_leaves_their_distribution_and_payments_unchanged() {
    // The stays are drawn given who reaches the outcome; outcomes and
    // payments must keep their closed forms (as in statistics.rs).
    let m = positive("comparison = { kind = \"baseline\", value = 0.9 }", &[]);
    let (mut outcomes, mut paid) = (vec![], vec![]);
    each_iteration(&m, 9, 4000, |r| {
        outcomes.push(r.commissioner.outcomes as f64);
        paid.push((r.commissioner.paid.outcome + r.commissioner.paid.sustainment) as f64 / 100.0);
    });
    let entered = 1.0 - math::exp(-24.0f64 * 0.03);
    let survive = math::powi(0.95, 5);
    let (mean, se) = mean_se(&outcomes);
    assert_within("outcomes", mean, se, 1200.0 * entered * survive, 5.0);
    let sustainment: f64 = (1..=13).map(|k| entered * math::powi(0.95, 5 + k)).sum();
    let (mean, se) = mean_se(&paid);
    assert_within(
        "outcome and sustainment payments",
        mean,
        se,
        1200.0 * (entered * survive * 1200.0 + 215.0 * sustainment),
        5.0,
    );
}

#[test]
fn a_null_programme_on_a_positive_outcome_is_paid_as_sampling_noise_says() {
    use statrs::distribution::{Binomial as SBinomial, Discrete, DiscreteCDF};
    // 1,200 fixed referrals, comparison 5 per participant, no effect:
    // pays when treated share >= 1.05 x comparison share.
    let m = positive(
        "comparison = { kind = \"simulated\", per_participant = 5 }",
        &["segments.jsa.referral_process=\"fixed\""],
    );
    let iterations = 20_000;
    let mut met = vec![];
    each_iteration(&m, 21, iterations, |r| {
        met.push(if r.verdicts[0].met { 1.0 } else { 0.0 })
    });
    let p = (1.0 - math::exp(-24.0f64 * 0.03)) * math::powi(0.95, 5);
    let (n, nc) = (1200u64, 6000u64);
    let treated = SBinomial::new(p, n).unwrap();
    let comparison = SBinomial::new(p, nc).unwrap();
    let truth: f64 = (0..=nc)
        .map(|c| {
            // t / n >= 1.05 c / nc  <=>  t >= ceil(1.05 c n / nc)
            let need = (1.05 * c as f64 * n as f64 / nc as f64 - 1e-9).ceil();
            let tail = if need <= 0.0 {
                1.0
            } else {
                1.0 - treated.cdf(need as u64 - 1)
            };
            comparison.pmf(c) * tail
        })
        .sum();
    let (rate, _) = mean_se(&met);
    let se = (truth * (1.0 - truth) / iterations as f64).sqrt();
    assert_within(
        "null trigger probability, positive outcome",
        rate,
        se,
        truth,
        5.0,
    );
    assert!(truth > 0.01, "{truth}");
}
