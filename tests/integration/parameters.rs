//! Scenario-level draws: one draw per parameter per iteration, in slots that
//! do not shift when other parameters change.

use crate::common::{SUPPLY_CHAIN, assert_within, each_iteration, mean_se, model};
use pbrsim::math;

#[test]
fn one_macro_multiplier_applies_to_every_year() {
    let m = model(SUPPLY_CHAIN, &[]);
    each_iteration(&m, 2, 50, |r| {
        let d = &r.draws.macro_by_year;
        assert!(d.iter().all(|&x| x == d[0]), "{d:?}");
    });
}

#[test]
fn a_macro_path_draws_each_listed_year_once_and_repeats_the_last() {
    let text = SUPPLY_CHAIN.replace(
        "macro = { dist = \"uniform\", min = 0.6, max = 1.3, factor = \"economy\", loading = -0.7 }",
        "macro_by_year = [1.0, { dist = \"uniform\", min = 0.6, max = 0.9 }]",
    );
    let m = model(&text, &[]);
    assert_eq!(m.years(), 6);
    each_iteration(&m, 2, 50, |r| {
        let d = &r.draws.macro_by_year;
        assert_eq!(d[0], 1.0);
        assert!((0.6..=0.9).contains(&d[1]));
        assert!(d[2..].iter().all(|&x| x == d[1]), "{d:?}");
    });
}

#[test]
fn making_one_parameter_uncertain_does_not_shift_another() {
    // Segment b has its own effect; giving segment a one must leave b's draw
    // (and the volume, cost and macro draws) unchanged, iteration by iteration.
    let base = model(SUPPLY_CHAIN, &[]);
    let with_a = model(
        SUPPLY_CHAIN,
        &["segments.a.effect={ dist = \"uniform\", min = 0.0, max = 0.4 }"],
    );
    let mut before = vec![];
    each_iteration(&base, 4, 30, |r| {
        before.push((
            r.draws.effect[1],
            r.draws.volume,
            r.draws.cost,
            r.draws.macro_by_year[0],
        ))
    });
    let mut after = vec![];
    each_iteration(&with_a, 4, 30, |r| {
        after.push((
            r.draws.effect[1],
            r.draws.volume,
            r.draws.cost,
            r.draws.macro_by_year[0],
        ))
    });
    assert_eq!(before, after);
}

#[test]
fn reserved_ids_are_refused() {
    let text = SUPPLY_CHAIN
        .replace("[subcontractors.small]", "[subcontractors.commissioner]")
        .replace("small = 0.2", "commissioner = 0.2")
        .replace("small = 0.5", "commissioner = 0.5");
    let err = pbrsim::scenario::load_str(&text, "t.toml", &[])
        .unwrap_err()
        .to_string();
    assert!(err.contains("`commissioner` is reserved"), "{err}");
}

/// Plain keys given distributions: each has its stated marginal, keys on
/// a shared factor with loadings `l1`, `l2` have normal-score correlation
/// `l1 l2` (for normal marginals, the values' correlation), and a
/// segment's own volume moves that segment's referrals.
#[test]
fn uncertain_plain_keys_have_their_marginals_and_factor_correlations() {
    let m = model(
        SUPPLY_CHAIN,
        &[
            "segments.a.volume={ dist = \"normal\", mean = 1.0, sd = 0.1, min = 0.0, factor = \"economy\", loading = 0.8 }",
            "segments.b.sustained.dropout={ dist = \"normal\", mean = 0.1, sd = 0.01, min = 0.0, max = 0.2, factor = \"economy\", loading = -0.5 }",
            "prime.reserves={ dist = \"pert\", min = 10000, mode = 20000, max = 60000 }",
        ],
    );
    let paths: Vec<&str> = m.uncertain_keys.iter().map(|k| k.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "segments.a.volume",
            "segments.b.sustained.dropout",
            "prime.reserves"
        ]
    );
    let n = 20_000;
    let (mut volume, mut dropout, mut reserves) = (vec![], vec![], vec![]);
    each_iteration(&m, 11, n, |r| {
        volume.push(r.draws.keys[0]);
        dropout.push(r.draws.keys[1]);
        reserves.push(r.draws.keys[2]);
    });
    let sd = |xs: &[f64]| {
        let (m, se) = mean_se(xs);
        let _ = m;
        se * (xs.len() as f64).sqrt()
    };
    let (mv, sev) = mean_se(&volume);
    assert_within("volume mean", mv, sev, 1.0, 4.5);
    let (md, sed) = mean_se(&dropout);
    assert_within("dropout mean", md, sed, 0.1, 4.5);
    // The sample sd of a normal has standard error sd / sqrt(2 (n - 1)).
    let n_f = n as f64;
    assert_within(
        "volume sd",
        sd(&volume),
        0.1 / (2.0 * (n_f - 1.0)).sqrt(),
        0.1,
        4.5,
    );
    // PERT(10000, 20000, 60000): mean (min + 4 mode + max) / 6.
    let (mr, ser) = mean_se(&reserves);
    assert_within(
        "reserves mean",
        mr,
        ser,
        (10_000.0 + 80_000.0 + 60_000.0) / 6.0,
        4.5,
    );
    // Correlation 0.8 x -0.5; its standard error is about (1 - rho^2) / sqrt(n).
    let rho = -0.4;
    let corr = correlation(&volume, &dropout);
    assert_within(
        "factor correlation",
        corr,
        (1.0 - rho * rho) / n_f.sqrt(),
        rho,
        4.5,
    );
    let independent = correlation(&volume, &reserves);
    assert_within("no factor", independent, 1.0 / n_f.sqrt(), 0.0, 4.5);
}

#[test]
fn a_segments_volume_scales_its_referrals_alone() {
    // Shared volume fixed; segment a's own volume PERT(0.3, 0.6, 1.2), so
    // E[referrals] = 36 months x (150 E[volume_a] + 40).
    let m = model(
        SUPPLY_CHAIN,
        &[
            "uncertainty.volume=1.0",
            "segments.a.volume={ dist = \"pert\", min = 0.3, mode = 0.6, max = 1.2 }",
        ],
    );
    let mut referrals = vec![];
    let mut drawn = vec![];
    each_iteration(&m, 5, 20_000, |r| {
        referrals.push(r.commissioner.referrals as f64);
        drawn.push(r.draws.keys[0]);
    });
    let pert_mean = (0.3 + 4.0 * 0.6 + 1.2) / 6.0;
    let (mean, se) = mean_se(&referrals);
    assert_within(
        "referrals",
        mean,
        se,
        36.0 * (150.0 * pert_mean + 40.0),
        4.5,
    );
    // Iteration by iteration, more volume_a means more referrals.
    assert!(correlation(&drawn, &referrals) > 0.9);
}

#[test]
fn an_uncertain_key_leaves_every_other_draw_where_it_was() {
    let base = model(SUPPLY_CHAIN, &[]);
    let with_key = model(
        SUPPLY_CHAIN,
        &["segments.b.volume={ dist = \"uniform\", min = 0.5, max = 1.5 }"],
    );
    let with_two = model(
        SUPPLY_CHAIN,
        &[
            "prime.reserves={ dist = \"uniform\", min = 1000, max = 2000 }",
            "segments.b.volume={ dist = \"uniform\", min = 0.5, max = 1.5 }",
        ],
    );
    let named = |m: &pbrsim::model::Model| {
        let mut v = vec![];
        each_iteration(m, 4, 30, |r| {
            v.push((
                r.draws.volume,
                r.draws.cost,
                r.draws.macro_by_year[0],
                r.draws.effect.clone(),
            ))
        });
        v
    };
    assert_eq!(named(&base), named(&with_key));
    let key = |m: &pbrsim::model::Model, path: &str| {
        let k = m
            .uncertain_keys
            .iter()
            .position(|k| k.path == path)
            .unwrap();
        let mut v = vec![];
        each_iteration(m, 4, 30, |r| v.push(r.draws.keys[k]));
        v
    };
    // The segment's volume keeps its draws when another key joins it.
    assert_eq!(
        key(&with_key, "segments.b.volume"),
        key(&with_two, "segments.b.volume")
    );
    // Each key has a stream of its own: the two uniforms differ.
    let volume_u: Vec<f64> = key(&with_two, "segments.b.volume")
        .iter()
        .map(|v| v - 0.5)
        .collect();
    let reserves_u: Vec<f64> = key(&with_two, "prime.reserves")
        .iter()
        .map(|r| (r - 1000.0) / 1000.0)
        .collect();
    assert!(
        volume_u
            .iter()
            .zip(&reserves_u)
            .all(|(a, b)| (a - b).abs() > 1e-9)
    );
}

#[test]
fn a_key_that_cannot_be_uncertain_says_why_and_lists_those_that_can() {
    let cases = [
        ("segments.a.sustained.window_months", "a count of months"),
        ("segments.a.allocation.prime", "must sum to one"),
        ("payments.price_discount", "a term of the contract's design"),
        ("segments.a.referral_process", "cannot take a distribution"),
    ];
    for (path, why) in cases {
        let set = format!("{path}={{ dist = \"uniform\", min = 0.1, max = 0.2 }}");
        let overrides = [set.parse().unwrap()];
        let err = pbrsim::scenario::load_str(SUPPLY_CHAIN, "t.toml", &overrides)
            .unwrap_err()
            .to_string();
        assert!(err.contains(why), "{path}: {err}");
        assert!(
            err.contains("keys that can: segments.<id>.{volume"),
            "{path}: {err}"
        );
    }
}

#[test]
fn a_misspelled_key_given_a_distribution_is_an_unknown_key() {
    let set = "segments.a.sustained.dropot={ dist = \"uniform\", min = 0.05, max = 0.1 }";
    let err = pbrsim::scenario::load_str(SUPPLY_CHAIN, "t.toml", &[set.parse().unwrap()])
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown key `dropot`"), "{err}");
    assert!(err.contains("did you mean `dropout`?"), "{err}");
}

#[test]
fn every_value_an_uncertain_key_can_draw_must_be_valid() {
    // A dropout of up to 1.5 is refused at its highest draw.
    let set = "segments.a.sustained.dropout={ dist = \"uniform\", min = 0.5, max = 1.5 }";
    let err = pbrsim::scenario::load_str(SUPPLY_CHAIN, "t.toml", &[set.parse().unwrap()])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("with `segments.a.sustained.dropout` at its highest possible draw"),
        "{err}"
    );
}

fn correlation(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += math::powi(a - mx, 2);
        syy += math::powi(b - my, 2);
    }
    sxy / (sxx * syy).sqrt()
}
