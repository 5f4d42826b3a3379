//! The cost of stress testing against a single run, on the Work Programme
//! scenario with ten uncertain inputs (its factor, volume, cost, three
//! macro years, the shared effect and three segment effects): a 10-input
//! tornado (21 arms), Sobol indices (10 inputs and the participants: 13
//! arms), the variance split (2 arms) and a single run, each of 256
//! iterations per arm on 2 threads.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pbrsim::engine::{RunConfig, run};
use pbrsim::scenario::{DEFAULT_SCENARIO, Override, load_str};
use pbrsim::stress::Statistic;
use pbrsim::stress::sensitivity::{sobol, tornado, variance_split};
use std::hint::black_box;

const ITERATIONS: u64 = 256;

fn stress(c: &mut Criterion) {
    // A tenth input: the JSA 18-24 group's own effect.
    let own: Override =
        "segments.jsa_18_24.effect={ dist = \"pert\", min = -0.05, mode = 0.15, max = 0.45 }"
            .parse()
            .unwrap();
    let m = load_str(DEFAULT_SCENARIO, "work_programme", &[own])
        .unwrap()
        .model;
    assert_eq!(
        pbrsim::stress::worlds::inputs(&m).len(),
        11,
        "ten inputs and the participants"
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
    g.bench_function("tornado_10_inputs", |b| {
        b.iter(|| black_box(tornado(&m, &stats, 0.1, 0.9, &cfg, &|_| {}).unwrap().len()))
    });
    g.bench_function("sobol_10_inputs", |b| {
        b.iter(|| black_box(sobol(&m, &stats, &cfg, &|_| {}).unwrap().len()))
    });
    g.finish();
}

criterion_group!(benches, stress);
criterion_main!(benches);
