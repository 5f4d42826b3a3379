//! Randomised quasi-Monte Carlo (`--sampling sobol`): unbiased against a
//! closed form, error bars that mean what they say, less variance than
//! independent draws, and the same bits on any thread count and shard
//! split.

use crate::common::{ONE_SEGMENT, SUPPLY_CHAIN, mean_se, model};
use pbrsim::engine::{RunConfig, RunResult, Sampling, run, run_blocks};
use pbrsim::math;
use pbrsim::model::Model;
use pbrsim::output::{FIGURE_QUANTILES, figure_records};

const SOBOL: Sampling = Sampling::Sobol { randomisations: 16 };

/// One segment whose referral volume is uncertain, uniform on [0.5, 1.5]:
/// the expected referrals are 1,200 whatever the draws.
fn uncertain_volume() -> Model {
    let text = ONE_SEGMENT.replace(
        "[segments.jsa]",
        "[uncertainty]\nvolume = { dist = \"uniform\", min = 0.5, max = 1.5 }\n[segments.jsa]",
    );
    model(&text, &[])
}

fn run_with(m: &Model, iterations: u64, seed: u64, sampling: Sampling) -> RunResult {
    let config = RunConfig {
        iterations,
        seed,
        sampling,
        skip_monthly: true,
        ..Default::default()
    };
    run(m, &config, &|_| {}, None).unwrap()
}

fn figure(result: &RunResult, key: &str) -> usize {
    result
        .catalog
        .figures
        .iter()
        .position(|f| f.key() == key)
        .unwrap()
}

/// The mean of `key` and its standard error as the run reports it.
fn estimate(result: &RunResult, key: &str) -> (f64, f64) {
    let k = figure(result, key);
    let s = &result.summary;
    (s.moments[k].mean(), s.mean_se(k, false))
}

#[test]
fn a_sobol_run_is_unbiased_and_its_error_bars_hold_over_many_seeds() {
    // Each run's referrals mean against the closed form 1,200, in units of
    // the run's own standard error (16 randomisations: 15 degrees of
    // freedom). Those z are Student t with 15 df when the error bar is
    // honest: E z^2 = 15/13, Var z^2 = 3 * 15^2 / (13 * 11) - (15/13)^2.
    // Over 200 seeds the mean of z^2 must lie within 5 of its standard
    // errors of 15/13, and the mean of z within 5 standard errors of 0.
    let m = uncertain_volume();
    let seeds = 200u64;
    let (mut z, mut z2) = (vec![], vec![]);
    for seed in 0..seeds {
        let (mean, se) = estimate(&run_with(&m, 512, seed, SOBOL), "commissioner.referrals");
        z.push((mean - 1200.0) / se);
        z2.push(math::powi((mean - 1200.0) / se, 2));
    }
    let nu = 15.0;
    let e2 = nu / (nu - 2.0);
    let var2 = 3.0 * nu * nu / ((nu - 2.0) * (nu - 4.0)) - e2 * e2;
    let k = seeds as f64;
    let (mean_z2, _) = mean_se(&z2);
    assert!(
        (mean_z2 - e2).abs() <= 5.0 * (var2 / k).sqrt(),
        "mean z^2 {mean_z2} against {e2}: the error bars are {}",
        if mean_z2 > e2 {
            "too narrow"
        } else {
            "too wide"
        }
    );
    let (mean_z, _) = mean_se(&z);
    assert!(
        mean_z.abs() <= 5.0 * (e2 / k).sqrt(),
        "bias: mean z {mean_z}"
    );
}

#[test]
fn sobol_points_reduce_the_variance_of_a_mean_driven_by_the_parameters() {
    // The same estimate over 60 seeds, by independent draws and by Sobol'
    // points at equal iterations. Most of the referrals' variance is the
    // volume parameter's (sd 1200/sqrt(12) = 346, against a Poisson sd of
    // 35), which a 1-D scrambled net nearly removes: the true ratio of
    // variances is above 50. The observed ratio of two sample variances on
    // 59 degrees of freedom each is F-distributed around the true one and
    // falls below a quarter of it with probability under 1e-7, so a ratio
    // under 2 would be a failure of the method, not chance.
    let m = uncertain_volume();
    let spread = |sampling| {
        let means: Vec<f64> = (0..60)
            .map(|seed| {
                estimate(
                    &run_with(&m, 512, 1000 + seed, sampling),
                    "commissioner.referrals",
                )
                .0
            })
            .collect();
        let (_, se) = mean_se(&means);
        se * se * 60.0
    };
    let (mc, sobol) = (spread(Sampling::MonteCarlo), spread(SOBOL));
    assert!(
        mc / sobol > 2.0,
        "variance {mc} by Monte Carlo, {sobol} by Sobol'"
    );
}

#[test]
fn sobol_runs_are_the_same_bits_on_any_thread_count_and_shard_split() {
    let m = model(SUPPLY_CHAIN, &[]);
    let config = |threads| RunConfig {
        iterations: 700,
        seed: 3,
        threads,
        sampling: Sampling::Sobol { randomisations: 5 },
        ..Default::default()
    };
    let records =
        |r: &RunResult| serde_json::to_string(&figure_records(r, &FIGURE_QUANTILES)).unwrap();
    let one = run(&m, &config(1), &|_| {}, None).unwrap();
    let two = run(&m, &config(2), &|_| {}, None).unwrap();
    assert_eq!(records(&one), records(&two));
    // Blocks 0..4 and 4..11 as two shards, merged in the other order.
    let (catalog, mut late) = run_blocks(&m, &config(2), Some(4..11), &|_| {}, None).unwrap();
    let (_, early) = run_blocks(&m, &config(1), Some(0..4), &|_| {}, None).unwrap();
    late.merge(&early);
    let merged = RunResult {
        catalog,
        summary: late,
    };
    assert_eq!(records(&one), records(&merged));
    // And it is not the Monte Carlo run.
    let plain = run(
        &m,
        &RunConfig {
            sampling: Sampling::MonteCarlo,
            ..config(2)
        },
        &|_| {},
        None,
    )
    .unwrap();
    assert_ne!(records(&one), records(&plain));
}

#[test]
fn each_partys_net_has_replicate_errors_for_its_quantiles_and_others_have_none() {
    let m = model(SUPPLY_CHAIN, &[]);
    let r = run_with(&m, 1024, 9, SOBOL);
    let s = &r.summary;
    let net = figure(&r, "prime.net");
    let cost = figure(&r, "prime.cost");
    let se = s.quantile_se(net, 0.05);
    assert!(se.is_finite() && se > 0.0, "{se}");
    assert!(s.quantile_se(cost, 0.05).is_nan());
    // The mean's error is the spread of the 16 randomisations' means.
    let replicates = s.replicates.as_ref().unwrap();
    let width = r.catalog.figures.len();
    let means: Vec<f64> = (0..16)
        .map(|i| replicates.sums[i * width + net].value() / replicates.n[i * width + net] as f64)
        .collect();
    assert_eq!(
        replicates.n.iter().skip(net).step_by(width).sum::<u64>(),
        1024
    );
    let (_, from_means) = mean_se(&means);
    assert!((s.mean_se(net, false) - from_means).abs() <= 1e-9 * from_means);
}

#[test]
fn a_sobol_comparison_and_stress_arm_see_the_runs_worlds_and_errors() {
    // The same seed and sampling give a comparison's side A, and an
    // analysis arm, exactly the worlds of a run: the same means, and the
    // same error from the same randomisations (a comparison sums them in
    // floating point where a run sums them exactly; the jackknife over
    // equal randomisations is the spread of their means).
    let m = model(SUPPLY_CHAIN, &[]);
    let sampling = Sampling::Sobol { randomisations: 8 };
    let config = RunConfig {
        iterations: 640,
        seed: 21,
        sampling,
        ..Default::default()
    };
    let alone = run(&m, &config, &|_| {}, None).unwrap();
    let (mean, se) = estimate(&alone, "prime.net");
    let cheaper = model(SUPPLY_CHAIN, &["payments.price_discount=0.15"]);
    let pairs = pbrsim::engine::compare::compare(&m, &cheaper, &config, &|_| {}).unwrap();
    let net = pairs.iter().find(|p| p.key == "prime.net").unwrap();
    assert_eq!(net.a.mean(), mean);
    assert!(
        (net.se_a() - se).abs() <= 1e-9 * se,
        "{} vs {se}",
        net.se_a()
    );
    assert_eq!(net.replicates.len(), 8);
    let differences: Vec<f64> = net.replicates.iter().map(|r| r[2][0] / r[2][1]).collect();
    assert!((net.difference_se() - mean_se(&differences).1).abs() <= 1e-9 * net.difference_se());

    let k = figure(&alone, "prime.net");
    let arms = [pbrsim::stress::arms::Arm::plain(&m)];
    let observe = |rows: &[Vec<f64>], sums: &mut [f64]| sums[0] += rows[0][k];
    let sums = pbrsim::stress::arms::run_arms(&arms, &config, 1, observe, &|_| {}).unwrap();
    assert_eq!(sums.counts, vec![80; 8], "one batch per randomisation");
    let e = sums.estimate(|s, n| s[0] / n);
    assert!((e.value - mean).abs() <= 1e-9 * mean.abs());
    assert!((e.se - se).abs() <= 1e-9 * se, "{} vs {se}", e.se);
    assert_eq!(e.df, 7);
    // Thread counts change nothing.
    let two = pbrsim::engine::compare::compare(
        &m,
        &cheaper,
        &RunConfig {
            threads: 1,
            ..config.clone()
        },
        &|_| {},
    )
    .unwrap();
    let again = two.iter().find(|p| p.key == "prime.net").unwrap();
    assert_eq!(
        again.difference_se().to_bits(),
        net.difference_se().to_bits()
    );
}
