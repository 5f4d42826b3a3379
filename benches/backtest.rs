//! The cost of a back-test and a re-forecast against a single run, on the
//! Work Programme scenario (month 0 set to June 2011) at 1,024 iterations
//! on 2 threads: the predictive distribution (every iteration's monthly
//! outflow, figures and one segment's monthly referrals kept), placing
//! twelve quarters of payments and referrals in it, and re-forecasting
//! every figure from the first eight.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pbrsim::backtest::check::predictive;
use pbrsim::backtest::realised::{Measure, Period, Series};
use pbrsim::backtest::reforecast::reforecast;
use pbrsim::engine::{RunConfig, run};
use pbrsim::scenario::{DEFAULT_SCENARIO, Override, load_str};
use std::hint::black_box;

const ITERATIONS: u64 = 1024;

fn backtest(c: &mut Criterion) {
    let start: Override = "time.start_month=\"2011-06\"".parse().unwrap();
    let m = load_str(DEFAULT_SCENARIO, "work_programme", &[start])
        .unwrap()
        .model;
    let referrals = Series {
        measure: Measure::Referrals,
        segment: Some(0),
    };
    let payments = Series {
        measure: Measure::Payments,
        segment: None,
    };
    let pred = predictive(&m, &[referrals], ITERATIONS, 1, 2, false).unwrap();
    // A reality: the predictive means of twelve quarters.
    let mut periods = Vec::new();
    for (series, name) in [(payments, "payments"), (referrals, "referrals.jsa_18_24")] {
        for q in 0..12 {
            let (first, last) = (pred.start + 3 * q, pred.start + 3 * q + 2);
            let sample = pred.sample(series, first, last);
            periods.push(Period {
                series: name.into(),
                key: series,
                first,
                last,
                value: sample.iter().sum::<f64>() / sample.len() as f64,
                line: 0,
            });
        }
    }
    let at = pred.start + 24;
    let cfg = RunConfig {
        iterations: ITERATIONS,
        seed: 1,
        threads: 2,
        ..Default::default()
    };
    let mut g = c.benchmark_group("backtest_1024_iterations");
    g.sample_size(10);
    g.throughput(Throughput::Elements(ITERATIONS));
    g.bench_function("single_run", |b| {
        b.iter(|| black_box(run(&m, &cfg, &|_| {}, None).unwrap().summary.iterations))
    });
    g.bench_function("predictive", |b| {
        b.iter(|| black_box(predictive(&m, &[referrals], ITERATIONS, 1, 2, false).unwrap()))
    });
    g.bench_function("place_24_periods", |b| {
        b.iter(|| black_box(pred.place(&periods).unwrap()))
    });
    g.bench_function("reforecast_every_figure", |b| {
        b.iter(|| black_box(reforecast(&m, &pred, &periods, at, 1.0).unwrap()))
    });
    g.finish();
}

criterion_group!(benches, backtest);
criterion_main!(benches);
