//! Helpers shared by the tests: build scenarios from text, run single
//! iterations, and a Monte Carlo tolerance.

use pbrsim::engine::Simulator;
use pbrsim::engine::world::IterationResult;
use pbrsim::math;
use pbrsim::model::Model;
use pbrsim::scenario::{Override, load_str};

/// A validated model from scenario text, with optional `--set` overrides.
pub fn model(text: &str, sets: &[&str]) -> Model {
    let overrides: Vec<Override> = sets.iter().map(|s| s.parse().unwrap()).collect();
    match load_str(text, "test.toml", &overrides) {
        Ok(l) => l.model,
        Err(e) => panic!("scenario should load:\n{e}"),
    }
}

/// Runs iterations `0..n` and hands each result to `f`.
pub fn each_iteration(model: &Model, seed: u64, n: u64, mut f: impl FnMut(&IterationResult)) {
    let mut simulator = Simulator::new(model);
    for i in 0..n {
        f(simulator.iteration(seed, i));
    }
}

/// Mean and standard error of a sample.
pub fn mean_se(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let m = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| math::powi(x - m, 2)).sum::<f64>() / (n - 1.0);
    (m, (var / n).sqrt())
}

/// Asserts `estimate` is within `sigmas` standard errors of `truth`.
pub fn assert_within(label: &str, estimate: f64, se: f64, truth: f64, sigmas: f64) {
    assert!(
        (estimate - truth).abs() <= sigmas * se,
        "{label}: estimate {estimate} is {:.2} standard errors ({se}) from {truth}",
        (estimate - truth).abs() / se
    );
}

/// Asserts that independent PITs are uniform: the central 50% and 90%
/// bands hold 50% and 90% of them and their mean is 0.5, each within five
/// standard errors.
pub fn assert_uniform_pits(label: &str, pits: &[f64]) {
    let inside = |level: f64| -> Vec<f64> {
        let (lo, hi) = ((1.0 - level) / 2.0, (1.0 + level) / 2.0);
        pits.iter()
            .map(|&p| f64::from(u8::from(p >= lo && p <= hi)))
            .collect()
    };
    for (values, truth, what) in [
        (inside(0.5), 0.5, "50% band"),
        (inside(0.9), 0.9, "90% band"),
        (pits.to_vec(), 0.5, "mean PIT"),
    ] {
        let (mean, se) = mean_se(&values);
        assert_within(&format!("{label}, {what}"), mean, se, truth, 5.0);
    }
}

/// A one-segment scenario with one participant-level process, ready for
/// `--set` variations. Prices follow the Work Programme JSA 25+ group.
pub const ONE_SEGMENT: &str = r#"
name = "one segment"
[time]
horizon_months = 60
referral_months = 12
[segments.jsa]
referrals_per_month = 100
referral_process = "poisson"
[segments.jsa.sustained]
baseline_hazard = 0.03
window_months = 24
qualifying_months = 6
dropout = 0.05
max_sustainment_months = 13
[segments.jsa.tariff]
attachment = 400
outcome = 1200
sustainment = 215
[segments.jsa.allocation]
prime = 1.0
[prime]
reserves = 100000000
"#;

/// A prime and two subcontractors, with caps, a co-funder, failures and
/// uncertainty: exercises every money path at once.
pub const SUPPLY_CHAIN: &str = r#"
name = "supply chain"
[time]
horizon_months = 72
referral_months = 36
[uncertainty]
factors = ["economy"]
volume = { dist = "lognormal", median = 1.0, sigma = 0.3, factor = "economy", loading = 0.6 }
macro = { dist = "uniform", min = 0.6, max = 1.3, factor = "economy", loading = -0.7 }
cost = { dist = "pert", min = 0.9, mode = 1.0, max = 1.4 }
effect = { dist = "normal", mean = 0.2, sd = 0.15, min = -0.3 }
[segments.a]
referrals_per_month = 150
savings_per_outcome_month = 350
[segments.a.sustained]
baseline_hazard = 0.025
window_months = 18
qualifying_months = 3
dropout = 0.06
max_sustainment_months = 10
[segments.a.tariff]
attachment = [300, 200, 0]
outcome = [1000, 1100]
sustainment = 150
cap_per_participant = 2500
[segments.a.allocation]
prime = 0.3
big = 0.5
small = 0.2
[segments.b]
referrals_per_month = 40
effect = { dist = "triangular", min = -0.1, mode = 0.1, max = 0.5 }
[segments.b.sustained]
baseline_hazard = 0.01
window_months = 24
qualifying_months = 1
dropout = 0.1
max_sustainment_months = 20
[segments.b.tariff]
outcome = 3000
sustainment = 200
[segments.b.allocation]
prime = 0.5
small = 0.5
[payments]
price_discount = 0.05
service_fee_per_month = 20000
cap_per_year = 2500000
cap_total = 5500000
[payments.lag_months]
attachment = 1
outcome = 2
sustainment = 1
[co_funder]
label = "Lottery"
share = 0.3
[commissioner]
own_costs_per_month = 3000
[prime]
reserves = 400000
credit_line = 200000
cost_per_referral = 100
cost_per_participant_month = 20
overhead_per_month = 30000
reprocurement_cost = 250000
[subcontractors.big]
reserves = 150000
credit_line = 50000
cost_per_referral = 200
cost_per_participant_month = 25
overhead_per_month = 8000
fee_per_referral = 180
pass_through = 0.75
monthly_fee = 2000
management_fee = 0.1
on_failure = "transfer"
reprocurement_cost = 40000
[subcontractors.small]
reserves = 30000
cost_per_referral = 150
cost_per_participant_month = 30
overhead_per_month = 3000
fee_per_referral = 100
pass_through = 0.8
on_failure = "lose_service"
reprocurement_cost = 10000
"#;
