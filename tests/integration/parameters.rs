//! Scenario-level draws: one draw per parameter per iteration, in slots that
//! do not shift when other parameters change.

use crate::common::{SUPPLY_CHAIN, each_iteration, model};

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
