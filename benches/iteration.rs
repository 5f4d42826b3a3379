//! The hot loop: one iteration of the shipped Work Programme scenario, as
//! shipped and as a contract ten times as large (cost should grow far less
//! than 10x, since participants are simulated as counts), a whole
//! 1,024-iteration run on 1 and 2 threads, and writing the result files of
//! a default run (10,000 iterations).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pbrsim::engine::{RunConfig, Simulator, run};
use pbrsim::output::{RunInfo, write_outputs};
use pbrsim::scenario::{DEFAULT_SCENARIO, load_str};
use std::hint::black_box;

/// The Work Programme contract `k` times as large: every referral profile,
/// and the amounts of the contract's size (each provider's reserves,
/// credit line, overhead and re-procurement cost, the commissioner's own
/// costs; the scenario has no fixed fees or caps), so that the parties
/// behave alike (`tools/bench/tables.py`, `volume_sets`, does the same for
/// every scenario through `--set`).
fn model(volume: &str) -> pbrsim::model::Model {
    let mut m = load_str(DEFAULT_SCENARIO, "work_programme", &[])
        .unwrap()
        .model;
    let k: f64 = volume.parse().unwrap();
    for s in &mut m.segments {
        for r in &mut s.referrals {
            *r *= k;
        }
    }
    let times = |x: &mut i64| *x = (*x as f64 * k) as i64;
    for p in &mut m.providers {
        times(&mut p.reserves);
        times(&mut p.credit_line);
        times(&mut p.overhead_per_month);
        times(&mut p.reprocurement_cost);
    }
    times(&mut m.commissioner.own_costs_per_month);
    m
}

fn iteration(c: &mut Criterion) {
    let mut g = c.benchmark_group("iteration");
    g.throughput(Throughput::Elements(1));
    for (name, k) in [("work_programme", "1"), ("work_programme_x10_volume", "10")] {
        let m = model(k);
        let mut simulator = Simulator::new(black_box(&m));
        let mut i = 0u64;
        g.bench_function(name, |b| {
            b.iter(|| {
                let outcomes = simulator.iteration(1, i).commissioner.outcomes;
                i += 1;
                black_box(outcomes)
            })
        });
    }
    g.finish();
}

fn whole_run(c: &mut Criterion) {
    let mut g = c.benchmark_group("run_1024_iterations");
    g.throughput(Throughput::Elements(1024));
    g.sample_size(10);
    let m = model("1");
    for threads in [1, 2] {
        let cfg = RunConfig {
            iterations: 1024,
            seed: 1,
            threads,
            ..Default::default()
        };
        g.bench_function(format!("{threads}_threads"), |b| {
            b.iter(|| black_box(run(&m, &cfg, &|_| {}, None).unwrap().summary.iterations))
        });
    }
    // The same run on scrambled Sobol' points: the points and the
    // randomisations' sums are what it adds.
    let cfg = RunConfig {
        iterations: 1024,
        seed: 1,
        threads: 2,
        sampling: pbrsim::engine::Sampling::Sobol { randomisations: 16 },
        ..Default::default()
    };
    g.bench_function("2_threads_sobol", |b| {
        b.iter(|| black_box(run(&m, &cfg, &|_| {}, None).unwrap().summary.iterations))
    });
    g.finish();
}

/// `pbrsim run --out DIR` after the simulation: every table of a default
/// 10,000-iteration run (the figures' quantiles, risk and the monthly
/// cash quantiles of every party) written to files.
fn write_files(c: &mut Criterion) {
    let mut g = c.benchmark_group("outputs");
    g.sample_size(10);
    let loaded = load_str(DEFAULT_SCENARIO, "work_programme", &[]).unwrap();
    let cfg = RunConfig {
        iterations: 10_000,
        seed: 1,
        threads: 2,
        ..Default::default()
    };
    let result = run(&loaded.model, &cfg, &|_| {}, None).unwrap();
    let info = RunInfo::new(&loaded, &[], 1, 10_000, &[0.05, 0.5, 0.95], &[0.95, 0.99]);
    let dir = tempfile::tempdir().unwrap();
    g.bench_function("write_10000_iterations", |b| {
        b.iter(|| black_box(write_outputs(dir.path(), &info, &result, &loaded.model).unwrap()))
    });
    g.finish();
}

criterion_group!(benches, iteration, whole_run, write_files);
criterion_main!(benches);
