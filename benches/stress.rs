//! The cost of stress testing against a single run, on the Work Programme
//! scenario as shipped, with its 19 uncertain inputs (the participants'
//! own randomness is a 20th for Sobol indices): a tornado (two arms per
//! input and the baseline: 39), Sobol indices (22 arms), the variance
//! split (2 arms), a comparison (2 arms), the stresses of
//! `stresses/programme_history.toml` (one arm each and the baseline), a
//! late shock shared with the
//! baseline's months and the same unshared (2 arms each), a solve (one run
//! per value evaluated) and a single run, each of 256 iterations per arm
//! on 2 threads. The arm counts are printed before the timings.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pbrsim::engine::{RunConfig, run};
use pbrsim::scenario::{DEFAULT_SCENARIO, Override, load_str};
use pbrsim::stress::Statistic;
use pbrsim::stress::sensitivity::{sobol, tornado, variance_split};
use pbrsim::stress::solve::{Problem, Solution, solve};
use std::hint::black_box;

const ITERATIONS: u64 = 256;

fn stress(c: &mut Criterion) {
    let m = load_str(DEFAULT_SCENARIO, "work_programme", &[])
        .unwrap()
        .model;
    let inputs = pbrsim::stress::worlds::inputs(&m).len() - 1;
    eprintln!(
        "{inputs} uncertain inputs: tornado {} arms, Sobol {} arms",
        2 * inputs + 1,
        inputs + 3
    );
    let cfg = RunConfig {
        iterations: ITERATIONS,
        seed: 1,
        threads: 2,
        ..Default::default()
    };
    let stats = [Statistic::Mean("prime.net".into())];
    let mut g = c.benchmark_group("stress_256_iterations");
    g.sample_size(10);
    g.throughput(Throughput::Elements(ITERATIONS));
    g.bench_function("single_run", |b| {
        b.iter(|| black_box(run(&m, &cfg, &|_| {}, None).unwrap().summary.iterations))
    });
    g.bench_function("variance_split", |b| {
        b.iter(|| black_box(variance_split(&m, &cfg, &|_| {}).unwrap().len()))
    });
    g.bench_function("tornado", |b| {
        b.iter(|| black_box(tornado(&m, &stats, 0.1, 0.9, &cfg, &|_| {}).unwrap().len()))
    });
    g.bench_function("sobol", |b| {
        b.iter(|| black_box(sobol(&m, &stats, &cfg, &|_| {}).unwrap().len()))
    });
    // A comparison: the contract against the same contract bid 10% lower.
    let discount: Override = "payments.price_discount=0.1".parse().unwrap();
    let bid = load_str(DEFAULT_SCENARIO, "work_programme", &[discount])
        .unwrap()
        .model;
    g.bench_function("compare", |b| {
        b.iter(|| {
            black_box(
                pbrsim::engine::compare::compare(&m, &bid, &cfg, &|_| {})
                    .unwrap()
                    .len(),
            )
        })
    });
    // A late shock, job entry 30% lower from year 3 on, against the
    // contract: the shocked arm takes the baseline's first 24 months in
    // every world. The same pair with the scenario renamed cannot share
    // (the driver shares months only between models that differ in their
    // parameters alone), so the two benchmarks time the sharing itself.
    let late = |extra: &[&str]| {
        let mut o: Vec<Override> = vec!["uncertainty.macro_by_year[2].scale=0.7".parse().unwrap()];
        o.extend(extra.iter().map(|e| e.parse::<Override>().unwrap()));
        load_str(DEFAULT_SCENARIO, "work_programme", &o)
            .unwrap()
            .model
    };
    for (name, shocked) in [
        ("compare_late_shock", late(&[])),
        ("compare_late_shock_unshared", late(&["name=renamed"])),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| {
                black_box(
                    pbrsim::engine::compare::compare(&m, &shocked, &cfg, &|_| {})
                        .unwrap()
                        .len(),
                )
            })
        });
    }
    // The standard library of stresses (what happened to the real
    // programmes) on the contract: the baseline and one arm per stress.
    let path = std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/stresses/programme_history.toml"
    ));
    let file = pbrsim::stress::file::load_file(path, None).unwrap();
    let prepared = file.prepare(&[]).unwrap();
    eprintln!(
        "programme_history: {} arms (the baseline and each stress)",
        prepared.len() + 1
    );
    g.bench_function("programme_history", |b| {
        b.iter(|| {
            black_box(
                pbrsim::stress::stresses::run_stresses(&m, &prepared, &cfg, &|_| {})
                    .unwrap()
                    .rows
                    .len(),
            )
        })
    });
    // A solve: the bid discount at which the prime breaks even.
    let build = |x: f64| -> Result<pbrsim::model::Model, pbrsim::Error> {
        let o: Override = format!("payments.price_discount={x}").parse().unwrap();
        Ok(load_str(DEFAULT_SCENARIO, "work_programme", &[o])?.model)
    };
    let problem = Problem {
        build: &build,
        statistic: &stats[0],
        target: 0.0,
        range: (0.0, 0.5),
        integer: false,
    };
    let evaluations = match solve(&problem, &[], &cfg, &|_| {}).unwrap() {
        Solution::Found { evaluations, .. } => evaluations,
        Solution::Unreachable { .. } => panic!("the prime breaks even within the range"),
    };
    eprintln!("solve_price_discount evaluates {evaluations} values");
    g.bench_function("solve_price_discount", |b| {
        b.iter(|| black_box(solve(&problem, &[], &cfg, &|_| {}).unwrap()))
    });
    g.finish();
}

criterion_group!(benches, stress);
criterion_main!(benches);
