//! Same scenario and seed give bit-identical results on any thread count.

use crate::common::{SUPPLY_CHAIN, model};
use pbrsim::engine::{RunConfig, run};
use pbrsim::output::figure_records;

fn summary(threads: usize, seed: u64) -> (String, Vec<u64>) {
    let m = model(SUPPLY_CHAIN, &[]);
    let cfg = RunConfig { iterations: 300, seed, threads, ..Default::default() };
    let mut rows = vec![];
    let mut sink = |_: u64, r: &[f64]| {
        rows.extend(r.iter().map(|x| x.to_bits()));
        Ok(())
    };
    let result = run(&m, &cfg, &|_| {}, Some(&mut sink)).unwrap();
    let json = serde_json::to_string(&figure_records(&result, &pbrsim::output::FIGURE_QUANTILES)).unwrap();
    let monthly: Vec<u64> = result.summary.cash.iter().map(|s| s.quantile(0.5).to_bits()).collect();
    rows.extend(monthly);
    (json, rows)
}

#[test]
fn one_and_two_threads_agree_bit_for_bit() {
    let one = summary(1, 42);
    let two = summary(2, 42);
    assert_eq!(one.0, two.0);
    assert_eq!(one.1, two.1);
    let other_seed = summary(2, 43);
    assert_ne!(one.0, other_seed.0);
}

#[test]
fn a_precision_target_stops_where_a_fixed_run_of_that_length_agrees_bit_for_bit() {
    let m = model(SUPPLY_CHAIN, &[]);
    let adaptive = |threads| {
        let cfg = RunConfig { iterations: 1, seed: 5, threads, precision: vec![("commissioner.referrals".into(), 0.005)], max_iterations: 200_000 };
        run(&m, &cfg, &|_| {}, None).unwrap()
    };
    let one = adaptive(1);
    let used = one.summary.iterations;
    assert_eq!(used % 1024, 0, "stops on a step of 1,024 iterations");
    assert!(used > 1024 && used < 200_000, "several steps, and the target is reachable: {used}");
    let k = one.catalog.figures.iter().position(|f| f.key() == "commissioner.referrals").unwrap();
    let m_ = &one.summary.moments[k];
    assert!(m_.se() <= 0.005 * m_.mean.abs());
    // Same stop on two threads, and the same numbers as a fixed run.
    let two = adaptive(2);
    assert_eq!(two.summary.iterations, used);
    let fixed = run(&m, &RunConfig { iterations: used, seed: 5, threads: 2, ..Default::default() }, &|_| {}, None).unwrap();
    let json = |r: &pbrsim::engine::RunResult| serde_json::to_string(&figure_records(r, &pbrsim::output::FIGURE_QUANTILES)).unwrap();
    assert_eq!(json(&one), json(&fixed));
    assert_eq!(json(&two), json(&fixed));
    // One step fewer would not have met the target.
    let shorter = run(&m, &RunConfig { iterations: used - 1024, seed: 5, threads: 2, ..Default::default() }, &|_| {}, None).unwrap();
    let s = &shorter.summary.moments[k];
    assert!(s.se() > 0.005 * s.mean.abs());
}
