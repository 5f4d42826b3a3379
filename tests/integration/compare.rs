//! Common random numbers: two contracts see the same people and draws.

use crate::common::{SUPPLY_CHAIN, model};
use pbrsim::engine::RunConfig;
use pbrsim::engine::compare::compare;

fn cfg(threads: usize) -> RunConfig {
    RunConfig {
        iterations: 300,
        seed: 4,
        threads,
        ..Default::default()
    }
}

#[test]
fn a_contract_compared_with_itself_differs_by_exactly_nothing() {
    let m = model(SUPPLY_CHAIN, &[]);
    for p in compare(&m, &m, &cfg(2), &|_| {}).unwrap() {
        assert!(
            p.difference.mean() == 0.0 && p.difference.max == 0.0 && p.difference.min == 0.0,
            "{}",
            p.key
        );
    }
}

#[test]
fn paired_differences_are_tighter_than_independent_runs_and_thread_independent() {
    let a = model(SUPPLY_CHAIN, &[]);
    let b = model(SUPPLY_CHAIN, &["payments.price_discount=0.15"]);
    let one = compare(&a, &b, &cfg(1), &|_| {}).unwrap();
    let two = compare(&a, &b, &cfg(2), &|_| {}).unwrap();
    let net = one.iter().find(|p| p.key == "prime.net").unwrap();
    assert!(
        net.difference.mean() < 0.0,
        "a deeper discount costs the prime"
    );
    assert!(
        net.difference.se() < net.independent_se() / 2.0,
        "{} vs {}",
        net.difference.se(),
        net.independent_se()
    );
    for (x, y) in one.iter().zip(&two) {
        assert_eq!(
            (
                x.key.as_str(),
                x.difference.mean().to_bits(),
                x.difference.sd().to_bits()
            ),
            (
                y.key.as_str(),
                y.difference.mean().to_bits(),
                y.difference.sd().to_bits()
            )
        );
    }
}
