//! Time in a state over a follow-up (months in care, in custody) and the
//! improvement rules that pay on it with interim payments: the payments of
//! a constructed case exactly, and the measure against the Markov chain's
//! closed form.

use crate::common::{assert_within, each_iteration, mean_se, model};
use pbrsim::math;
use pbrsim::model::COMMISSIONER;

/// 100 children referred in month 0. With the effect of 1 nobody enters
/// the state after referral: all are in it in the referral month and leave
/// it the next, one month each. Without the effect (the comparison) they
/// are in it every other month: 6 months in 12, a share of 0.5.
const CARE: &str = r#"
name = "edge of care"
[time]
horizon_months = 40
referral_months = 2
[segments.children]
referrals_per_month = [100, 0]
referral_process = "fixed"
effect = 1.0
[segments.children.time_in_state]
follow_up_months = 12
initial_share = 1.0
entry_probability = 1.0
exit_probability = 1.0
[segments.children.allocation]
prime = 1.0
[[payments.improvement]]
label = "care"
measure = "time_in_state"
comparison = { kind = "baseline", value = 0.5 }
cohorts = [{ from_month = 0, to_month = 2, threshold = 0.1 }]
interim_months = [6, 9]
price_per_unit = 10
lag_months = 1
[prime]
reserves = 100000000
"#;

#[test]
fn interim_and_final_payments_of_a_constructed_cohort_are_exact() {
    // After 6 months: 100 months in care of 600 against 0.5 x 600 = 300,
    // so 200 months avoided at £10: £2,000 (measured in month 1 + 6 = 7,
    // paid in 8). After 9: 450 - 100 = 350 months, £3,500 less £2,000
    // already paid = £1,500 (month 11). At the end of the follow-up:
    // 600 - 100 = 500 months, £5,000 less £3,500 = £1,500 (month 14).
    // A simulated comparison of 100 without the effect is in care in
    // months 0, 2, 4, ...: 300 of 600, 500 of 900 (so 400 months avoided
    // after 9, £4,000 less £2,000), 600 of 1,200 (£5,000 less £4,000).
    for (comparison, after_9, payments) in [
        (
            "comparison = { kind = \"baseline\", value = 0.5 }",
            1.0 - 100.0 / 450.0,
            (200_000, 150_000, 150_000),
        ),
        (
            "comparison = { kind = \"simulated\", per_participant = 1 }",
            1.0 - 100.0 / 500.0,
            (200_000, 200_000, 100_000),
        ),
    ] {
        let text = CARE.replace(
            "comparison = { kind = \"baseline\", value = 0.5 }",
            comparison,
        );
        let m = model(&text, &[]);
        let h = m.horizon;
        each_iteration(&m, 1, 3, |r| {
            // Measurements: the cohort, the final one, then the interims.
            let v = &r.verdicts;
            assert_eq!(v.len(), 4);
            assert!(v[0].met && v[2].met && v[3].met && !v[1].met);
            assert!((v[2].relative - 2.0 / 3.0).abs() < 1e-12);
            assert!((v[3].relative - after_9).abs() < 1e-12);
            assert!((v[0].relative - (1.0 - 100.0 / 600.0)).abs() < 1e-12);
            assert!((v[2].units - 200.0).abs() < 1e-9);
            assert_eq!(r.improvement_earned, vec![500_000]);
            assert_eq!(r.commissioner.paid.improvement, 500_000);
            let paid = |t: usize| -r.monthly[COMMISSIONER * h + t];
            assert_eq!((paid(8), paid(11), paid(14)), payments);
            assert_eq!(
                r.monthly[COMMISSIONER * h..(COMMISSIONER + 1) * h]
                    .iter()
                    .sum::<i64>(),
                -500_000
            );
        });
    }
}

#[test]
fn a_later_measurement_never_claws_back_an_interim_payment() {
    // Without the effect the cohort alternates: 300 of 600 months after 6,
    // 500 of 900 after 9 (months 0, 2, 4, 6, 8), 600 of 1,200 at the end.
    // Against 0.6 at threshold 0: 60 months avoided (£600); after 9,
    // 540 - 500 = 40 months earn £400, less the £600 paid: nothing (not
    // negative); at the end 720 - 600 = 120 months, £1,200 less £600.
    let m = model(
        CARE,
        &[
            "segments.children.effect=0",
            "payments.improvement[0].comparison.value=0.6",
            "payments.improvement[0].cohorts[0].threshold=0",
        ],
    );
    let h = m.horizon;
    each_iteration(&m, 1, 2, |r| {
        let paid = |t: usize| -r.monthly[COMMISSIONER * h + t];
        assert_eq!((paid(8), paid(11), paid(14)), (60_000, 0, 60_000));
        assert_eq!(r.improvement_earned, vec![120_000]);
        assert!(r.verdicts[3].met);
    });
    // Against 0.52: 12 months avoided after 6 (£120); worse than the
    // baseline after 9 (not met, nothing paid back); 24 at the end, £240
    // less £120.
    let m = model(
        CARE,
        &[
            "segments.children.effect=0",
            "payments.improvement[0].comparison.value=0.52",
            "payments.improvement[0].cohorts[0].threshold=0",
        ],
    );
    each_iteration(&m, 1, 2, |r| {
        let paid = |t: usize| -r.monthly[COMMISSIONER * h + t];
        assert_eq!((paid(8), paid(11), paid(14)), (12_000, 0, 12_000));
        assert!(!r.verdicts[3].met && r.verdicts[3].relative < 0.0);
    });
}

#[test]
fn interims_can_be_judged_against_their_own_baseline_shares() {
    // Baseline 0.4 of the first 6 months: 240 - 100 = 140 months (£1,400);
    // 0.5 of the first 9: 450 - 100 = 350 (£3,500 less £1,400); the whole
    // follow-up against 0.5: 500 (£5,000 less £3,500).
    let text = CARE.replace(
        "value = 0.5 }",
        "value = 0.5, interim_values = [0.4, 0.5] }",
    );
    let m = model(&text, &[]);
    let h = m.horizon;
    each_iteration(&m, 1, 2, |r| {
        let paid = |t: usize| -r.monthly[COMMISSIONER * h + t];
        assert_eq!((paid(8), paid(11), paid(14)), (140_000, 210_000, 150_000));
        assert!((r.verdicts[2].relative - (0.4 - 1.0 / 6.0) / 0.4).abs() < 1e-12);
    });
    for (values, expected) in [
        ("[0.4]", "one value per entry of `interim_months`"),
        ("[0.4, 1.2]", "a baseline share in (0, 1]"),
    ] {
        let bad = CARE.replace(
            "value = 0.5 }",
            &format!("value = 0.5, interim_values = {values} }}"),
        );
        let err = pbrsim::scenario::load_str(&bad, "t.toml", &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains(expected), "{values}: {err}");
    }
}

#[test]
fn a_hurdle_applies_interim_by_interim() {
    // The hurdle rule needs 70%: not met after 6 months (2/3), met after 9
    // (7/9) and at the end (5/6). The second rule, at threshold 0, is paid
    // nothing after 6 months, then 350 months (£3,500) after 9 and
    // 500 - 350 at the end.
    let text = format!(
        "{}\n[[payments.improvement]]\nlabel = \"care2\"\nmeasure = \"time_in_state\"\nrequires = \"care\"\ncomparison = {{ kind = \"baseline\", value = 0.5 }}\ncohorts = [{{ from_month = 0, to_month = 2, threshold = 0.0 }}]\ninterim_months = [6, 9]\nprice_per_unit = 10\nlag_months = 1\n",
        CARE.replace("threshold = 0.1", "threshold = 0.7")
    );
    let m = model(&text, &[]);
    each_iteration(&m, 1, 2, |r| {
        let (hurdle, rule) = (&r.verdicts[..4], &r.verdicts[4..]);
        assert_eq!(
            [hurdle[2].met, hurdle[3].met, hurdle[0].met],
            [false, true, true]
        );
        assert_eq!([rule[2].met, rule[3].met, rule[0].met], [false, true, true]);
        assert!(rule[2].relative > 0.0);
        assert_eq!(r.improvement_earned, vec![500_000, 500_000]);
    });
    // The hurdle must have the same interims.
    let unlike = text.replacen("interim_months = [6, 9]", "interim_months = [6]", 1);
    let err = pbrsim::scenario::load_str(&unlike, "t.toml", &[])
        .unwrap_err()
        .to_string();
    assert!(err.contains("must measure the same cohorts"), "{err}");
}

/// Mean and variance of one person's months in the state over the first
/// `months` months of a two-state chain: in the state first with
/// probability `initial`, entering with `a`, leaving with `b`.
/// `Cov(Y_i, Y_j) = p_i (1 - p_i) (1 - a - b)^(j - i)`.
fn chain_moments(initial: f64, a: f64, b: f64, months: usize) -> (f64, f64) {
    let mut p = vec![initial];
    for j in 1..months {
        p.push(p[j - 1] * (1.0 - b) + (1.0 - p[j - 1]) * a);
    }
    let lambda = 1.0 - a - b;
    let mean = p.iter().sum();
    let mut var = 0.0;
    for i in 0..months {
        let v = p[i] * (1.0 - p[i]);
        var += v;
        for j in i + 1..months {
            var += 2.0 * v * math::powi(lambda, (j - i) as i64);
        }
    }
    (mean, var)
}

#[test]
fn months_in_the_state_match_the_markov_chain_in_mean_and_variance() {
    // 200 children, a fifth in care at referral; 5% a month enter care
    // (3% with an effect of 0.4), 10% of those in care leave each month.
    // Months in care are read back from the units the rule measures:
    // units = 0.5 x person-months - months in care.
    let m = model(
        CARE,
        &[
            "segments.children.referrals_per_month=[200, 0]",
            "segments.children.effect=0.4",
            "segments.children.time_in_state.initial_share=0.2",
            "segments.children.time_in_state.entry_probability=0.05",
            "segments.children.time_in_state.exit_probability=0.1",
            "payments.improvement[0].cohorts[0].threshold=0",
        ],
    );
    let n = 4000;
    let (mut whole, mut interim) = (vec![], vec![]);
    each_iteration(&m, 11, n, |r| {
        whole.push((0.5 * 2400.0 - r.verdicts[0].units).round());
        interim.push((0.5 * 1200.0 - r.verdicts[2].units).round());
        // Every measurement is defined (the baseline is positive).
        assert!(
            r.verdicts
                .iter()
                .enumerate()
                .all(|(i, v)| i == 1 || !v.relative.is_nan())
        );
    });
    for (label, xs, months) in [("12 months", &whole, 12), ("6 months", &interim, 6)] {
        let (mu, var) = chain_moments(0.2, 0.05 * 0.6, 0.1, months);
        let (mean, se) = mean_se(xs);
        assert_within(label, mean, se, 200.0 * mu, 5.0);
        // The sample variance against N x the one-person variance, with its
        // standard error from the sample's fourth central moment.
        let k = xs.len() as f64;
        let m2 = xs.iter().map(|x| math::powi(x - mean, 2)).sum::<f64>() / k;
        let m4 = xs.iter().map(|x| math::powi(x - mean, 4)).sum::<f64>() / k;
        let s2 = m2 * k / (k - 1.0);
        let se_var = ((m4 - m2 * m2) / k).sqrt();
        assert_within(&format!("{label} variance"), s2, se_var, 200.0 * var, 5.0);
        // Persistence matters: the variance is well above a binomial's
        // (independent months), so the test can tell the two apart.
        let independent = 200.0 * months as f64 * (mu / months as f64) * (1.0 - mu / months as f64);
        assert!(
            200.0 * var > independent + 8.0 * se_var,
            "{var} vs {independent}"
        );
    }
}

#[test]
fn what_the_rule_earns_is_paid_beyond_the_horizon_or_cancelled() {
    // Poisson referrals, an uncertain effect and a simulated comparison;
    // the horizon cuts through the payments.
    let text = CARE
        .replace("referrals_per_month = [100, 0]", "referrals_per_month = 40")
        .replace("referral_process = \"fixed\"", "")
        .replace(
            "effect = 1.0",
            "effect = { dist = \"uniform\", min = -0.2, max = 0.6 }",
        )
        .replace(
            "comparison = { kind = \"baseline\", value = 0.5 }",
            "comparison = { kind = \"simulated\", per_participant = 2 }",
        )
        .replace(
            "threshold = 0.1 }]",
            "threshold = 0.0 }]\nfinal_threshold = 0.0",
        );
    let m = model(
        &text,
        &[
            "time.horizon_months=12",
            "segments.children.time_in_state.initial_share=0.1",
            "segments.children.time_in_state.entry_probability=0.08",
            "segments.children.time_in_state.exit_probability=0.2",
        ],
    );
    let mut paid_some = false;
    each_iteration(&m, 4, 200, |r| {
        let c = &r.commissioner;
        assert_eq!(
            r.improvement_earned[0],
            c.paid.improvement + c.beyond_horizon + c.cancelled
        );
        paid_some |= c.paid.improvement > 0 && c.beyond_horizon > 0;
    });
    assert!(
        paid_some,
        "some payments should fall on each side of the horizon"
    );
}

#[test]
fn malformed_time_in_state_rules_and_segments_are_refused() {
    let cases: [(&str, &str, &str); 7] = [
        (
            "exit_probability = 1.0",
            "exit_probability = 1.5",
            "must be a probability",
        ),
        (
            "interim_months = [6, 9]",
            "interim_months = [9, 6]",
            "must be increasing",
        ),
        (
            "interim_months = [6, 9]",
            "interim_months = [6, 12]",
            "before the end of the shortest follow-up",
        ),
        (
            "measure = \"time_in_state\"",
            "segments = [\"children\"]\nmeasure = \"frequency\"",
            "measured by \"time_in_state\"",
        ),
        (
            "comparison = { kind = \"baseline\", value = 0.5 }",
            "comparison = { kind = \"baseline\", value = 1.5 }",
            "a share in (0, 1]",
        ),
        ("effect = 1.0", "effect = 1.5", "must be at most 1"),
        (
            "[segments.children.allocation]",
            "[segments.children.adverse_events]\nrate = 1\nfollow_up_months = 12\n[segments.children.allocation]",
            "not several",
        ),
    ];
    for (from, to, expected) in cases {
        assert!(CARE.contains(from), "test bug: {from}");
        let err = pbrsim::scenario::load_str(&CARE.replacen(from, to, 1), "t.toml", &[])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(expected),
            "{to}: expected `{expected}` in\n{err}"
        );
    }
    // Interim payments belong to a time-in-state measure.
    let events =
        crate::improvement::SIB.replace("lag_months = 2", "lag_months = 2\ninterim_months = [6]");
    let err = pbrsim::scenario::load_str(&events, "t.toml", &[])
        .unwrap_err()
        .to_string();
    assert!(err.contains("interim payments belong"), "{err}");
}

#[test]
fn explain_states_the_state_and_the_interim_payments() {
    let text = pbrsim::explain::explain(&model(CARE, &[]));
    for words in [
        "followed for 12 months",
        "after 6 months, 9 months of follow-up",
        "a month in the state avoided",
        "interim payments are not clawed back",
    ] {
        assert!(text.contains(words), "`{words}` in\n{text}");
    }
}
