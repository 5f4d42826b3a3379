//! Monte Carlo estimates against closed forms, with tolerances of five
//! standard errors and fixed seeds.

use crate::common::{ONE_SEGMENT, assert_within, each_iteration, mean_se, model};
use pbrsim::math;

const N: u64 = 4_000;

/// P(first entry within a 24-month window) and survival to the outcome
/// event for the one-segment scenario's process.
fn closed_form(h: f64) -> (f64, f64) {
    let entered = 1.0 - math::exp(-24.0 * h);
    let r: f64 = 0.95;
    (entered, math::powi(r, 5))
}

#[test]
fn referrals_outcomes_and_payments_match_closed_forms() {
    let m = model(ONE_SEGMENT, &[]);
    let (mut refs, mut outcomes, mut paid, mut per_ref) = (vec![], vec![], vec![], vec![]);
    each_iteration(&m, 11, N, |r| {
        let c = &r.commissioner;
        refs.push(c.referrals as f64);
        outcomes.push(c.outcomes as f64);
        paid.push(c.paid.total() as f64 / 100.0);
        per_ref.push(c.outcomes as f64 / c.referrals as f64);
    });
    // Referrals: Poisson(100) in each of 12 months.
    let (mean, se) = mean_se(&refs);
    assert_within("referrals", mean, se, 1200.0, 5.0);
    let (sd_truth, sd) = (1200f64.sqrt(), mean_se(&refs).1 * (N as f64).sqrt());
    assert!(
        (sd - sd_truth).abs() < 5.0 * sd_truth / (2.0 * N as f64).sqrt(),
        "Poisson sd {sd} vs {sd_truth}"
    );
    // Outcome within the window: 1 - exp(-24 h), then 5 months' survival.
    let (entered, survive) = closed_form(0.03);
    let (mean, se) = mean_se(&outcomes);
    assert_within("outcomes", mean, se, 1200.0 * entered * survive, 5.0);
    let (mean, se) = mean_se(&per_ref);
    assert_within("outcomes per referral", mean, se, entered * survive, 5.0);
    // Expected payment per referral: 400 + P(outcome) 1,200 + 215 sum_k P(k-th sustainment month).
    let sustainment: f64 = (1..=13).map(|k| entered * math::powi(0.95, 5 + k)).sum();
    let per_referral = 400.0 + entered * survive * 1200.0 + 215.0 * sustainment;
    let (mean, se) = mean_se(&paid);
    assert_within("payments", mean, se, 1200.0 * per_referral, 5.0);
}

#[test]
fn counterfactual_is_the_closed_form_and_matches_a_null_programme() {
    // With an effect, the engine's counterfactual for the realised referrals
    // equals referrals x P(outcome without effect), exactly.
    let m = model(ONE_SEGMENT, &["segments.jsa.effect=0.5"]);
    let (entered, survive) = closed_form(0.03);
    each_iteration(&m, 5, 200, |r| {
        let c = &r.commissioner;
        let expected = c.referrals as f64 * entered * survive;
        assert!(
            (c.counterfactual_outcomes - expected).abs() < 1e-9 * expected,
            "{} vs {expected}",
            c.counterfactual_outcomes
        );
    });
    // With no effect, realised outcomes average the counterfactual.
    let m = model(ONE_SEGMENT, &[]);
    let mut diff = vec![];
    each_iteration(&m, 6, N, |r| {
        diff.push(r.commissioner.outcomes as f64 - r.commissioner.counterfactual_outcomes)
    });
    let (mean, se) = mean_se(&diff);
    assert_within(
        "attributable outcomes of a null programme",
        mean,
        se,
        0.0,
        5.0,
    );
}

#[test]
fn an_effect_raises_the_hazard_as_the_model_says() {
    // h (1 + effect): effect 0.5 at h = 0.03 is hazard 0.045.
    let m = model(ONE_SEGMENT, &["segments.jsa.effect=0.5"]);
    let mut per_ref = vec![];
    each_iteration(&m, 8, N, |r| {
        per_ref.push(r.commissioner.outcomes as f64 / r.commissioner.referrals as f64)
    });
    let (entered, survive) = closed_form(0.045);
    let (mean, se) = mean_se(&per_ref);
    assert_within(
        "outcomes per referral with effect",
        mean,
        se,
        entered * survive,
        5.0,
    );
}

#[test]
fn uncertain_volume_scales_expected_referrals_by_its_mean() {
    // Volume ~ Uniform(0.5, 1.5): E[N] = 1200; Var = E[Var] + Var(E) = 1200 + 1200^2/12.
    let m = model(
        ONE_SEGMENT,
        &["uncertainty.volume={ dist = \"uniform\", min = 0.5, max = 1.5 }"],
    );
    let mut refs = vec![];
    each_iteration(&m, 9, N, |r| refs.push(r.commissioner.referrals as f64));
    let (mean, se) = mean_se(&refs);
    assert_within("referrals under uncertain volume", mean, se, 1200.0, 5.0);
    let var_truth = 1200.0 + math::powi(1200.0, 2) / 12.0;
    let var = se * se * N as f64;
    // Var of the sample variance ~ 2 sigma^4 / n for near-normal data; the
    // uniform mixture is lighter-tailed, so this is conservative.
    assert!(
        (var - var_truth).abs() < 5.0 * var_truth * (2.0 / N as f64).sqrt(),
        "{var} vs {var_truth}"
    );
}

#[test]
fn rare_entries_drawn_as_one_total_then_assigned_match_the_closed_form() {
    // Few expected entries per month (about 0.3) take the pooled path: one
    // binomial over everyone waiting, then assignment to cohorts. The
    // window still closes per cohort: P(entry) = 1 - exp(-24 h).
    let m = model(
        ONE_SEGMENT,
        &[
            "segments.jsa.referrals_per_month=3",
            "segments.jsa.sustained.baseline_hazard=0.004",
            "segments.jsa.sustained.qualifying_months=1",
        ],
    );
    let mut outcomes = vec![];
    each_iteration(&m, 12, 20_000, |r| {
        outcomes.push(r.commissioner.outcomes as f64);
    });
    let entered = 1.0 - math::exp(-24.0f64 * 0.004);
    let (mean, se) = mean_se(&outcomes);
    assert_within("rare entries", mean, se, 36.0 * entered, 5.0);
}

#[test]
fn value_at_risk_and_expected_shortfall_match_a_known_distribution() {
    use pbrsim::engine::{RunConfig, run};
    use statrs::distribution::{Discrete, DiscreteCDF, Poisson};
    // Attachment fees only: 400 x N with N ~ Poisson(1,200) referrals. Its
    // upper tail (a payment is worse when high) is known exactly.
    let m = model(
        ONE_SEGMENT,
        &[
            "segments.jsa.tariff.outcome=0",
            "segments.jsa.tariff.sustainment=0",
        ],
    );
    let result = run(
        &m,
        &RunConfig {
            iterations: 20_000,
            seed: 3,
            threads: 2,
            ..Default::default()
        },
        &|_| {},
        None,
    )
    .unwrap();
    let records = pbrsim::output::risk_records(&result, &[0.95]);
    let r = records
        .iter()
        .find(|r| r["party"] == "commissioner" && r["figure"] == "paid.attachment")
        .unwrap();
    assert_eq!(r["tail"], "upper");
    let poisson = Poisson::new(1200.0).unwrap();
    // VaR: the 95% quantile; ES: the mean of the top 5% of the distribution.
    let var_truth = 400.0 * (0..).find(|&x| poisson.cdf(x) >= 0.95).unwrap() as f64;
    let (mut left, mut total) = (0.05, 0.0);
    let mut x = 1600u64;
    while left > 0.0 {
        let mass = poisson.pmf(x).min(left);
        total += mass * x as f64;
        left -= mass;
        x -= 1;
    }
    let es_truth = 400.0 * total / 0.05;
    let get = |k: &str| r[k].as_f64().unwrap();
    crate::common::assert_within(
        "VaR 95%",
        get("value_at_risk"),
        get("value_at_risk_se"),
        var_truth,
        5.0,
    );
    crate::common::assert_within(
        "ES 95%",
        get("expected_shortfall"),
        get("expected_shortfall_se"),
        es_truth,
        5.0,
    );
}

#[test]
fn the_downside_allocation_adds_up_and_matches_the_iterations() {
    use pbrsim::engine::{RunConfig, run};
    let m = model(crate::common::SUPPLY_CHAIN, &[]);
    let mut rows = vec![];
    let mut sink = |_: u64, r: &[f64]| {
        rows.extend_from_slice(r);
        Ok(())
    };
    let result = run(
        &m,
        &RunConfig {
            iterations: 2000,
            seed: 8,
            threads: 2,
            ..Default::default()
        },
        &|_| {},
        Some(&mut sink),
    )
    .unwrap();
    let cat = &result.catalog;
    let width = cat.figures.len();
    // Independently: each iteration's contributions from its figure row.
    let contributions: Vec<Vec<f64>> = rows
        .chunks(width)
        .map(|row| {
            cat.contributions
                .iter()
                .map(|ks| ks.iter().map(|&k| row[k]).sum())
                .collect()
        })
        .collect();
    let mut order: Vec<usize> = (0..contributions.len()).collect();
    order.sort_by(|&a, &b| {
        contributions[a]
            .iter()
            .sum::<f64>()
            .total_cmp(&contributions[b].iter().sum::<f64>())
    });
    let worst = &order[..100];
    let shares = result.summary.allocation.shares(0.05);
    for (p, s) in shares.iter().enumerate() {
        let direct = worst.iter().map(|&i| contributions[i][p]).sum::<f64>() / 100.0;
        assert!(
            (s.tail_mean - direct).abs() <= 1e-9 * direct.abs().max(1.0),
            "party {p}: {} vs {direct}",
            s.tail_mean
        );
    }
    assert!((shares.iter().map(|s| s.tail_share).sum::<f64>() - 1.0).abs() < 1e-9);
    assert!((shares.iter().map(|s| s.variance_share).sum::<f64>() - 1.0).abs() < 1e-9);
}

#[test]
fn ratio_standard_errors_match_the_spread_of_replicated_runs() {
    use pbrsim::engine::{RunConfig, run};
    // 60 independent runs of 400 iterations: the spread of their ratio
    // estimates should match the delta-method standard error each reports.
    // The sample sd of 60 values has a relative standard error of about
    // 1/sqrt(2 x 59), so 5 of those bound the comparison.
    let m = pbrsim::scenario::load_file("scenarios/minimal.toml".as_ref(), &[])
        .unwrap()
        .model;
    for name in [
        "cost_per_attributable_outcome",
        "deadweight_share",
        "benefit_cost_ratio",
    ] {
        let (mut estimates, mut ses) = (vec![], vec![]);
        for seed in 0..60 {
            let r = run(
                &m,
                &RunConfig {
                    iterations: 400,
                    seed: 1000 + seed,
                    threads: 1,
                    ..Default::default()
                },
                &|_| {},
                None,
            )
            .unwrap();
            let (e, se) =
                pbrsim::output::ratio(&r, name).unwrap_or_else(|| panic!("{name} undefined"));
            estimates.push(e);
            ses.push(se);
        }
        let (_, sem) = mean_se(&estimates);
        let spread = sem * (estimates.len() as f64).sqrt();
        let reported = ses.iter().sum::<f64>() / ses.len() as f64;
        let tolerance = 5.0 / (2.0 * 59.0f64).sqrt();
        assert!(
            (spread / reported - 1.0).abs() < tolerance,
            "{name}: spread {spread} vs reported {reported}"
        );
    }
}

#[test]
fn variance_share_standard_errors_match_the_spread_of_replicated_runs() {
    use pbrsim::engine::{RunConfig, run};
    // As for the ratios: 60 runs; batch-means standard errors against the
    // spread of the 60 estimates (tolerance: 5 standard errors of a sample sd).
    let m = pbrsim::scenario::load_file("scenarios/minimal.toml".as_ref(), &[])
        .unwrap()
        .model;
    let (mut estimates, mut ses) = (vec![], vec![]);
    for seed in 0..60 {
        let r = run(
            &m,
            &RunConfig {
                iterations: 960,
                seed: 2000 + seed,
                threads: 1,
                ..Default::default()
            },
            &|_| {},
            None,
        )
        .unwrap();
        let prime = r
            .catalog
            .parties
            .iter()
            .position(|(_, id, _)| id == "prime")
            .unwrap();
        let share = &r.summary.allocation.shares(0.05)[prime];
        estimates.push(share.variance_share);
        ses.push(share.variance_share_se);
    }
    let (_, sem) = mean_se(&estimates);
    let spread = sem * (estimates.len() as f64).sqrt();
    let reported = ses.iter().sum::<f64>() / ses.len() as f64;
    assert!(
        (spread / reported - 1.0).abs() < 5.0 / (2.0 * 59.0f64).sqrt(),
        "spread {spread} vs reported {reported}"
    );
}
