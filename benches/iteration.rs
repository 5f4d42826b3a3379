//! The hot loop: one iteration of the shipped Work Programme scenario, as
//! shipped and as a contract ten times as large (cost should grow far less
//! than 10x, since participants are simulated as counts), a whole
//! 1,024-iteration run on 1 and 2 threads, writing the result files of a
//! default run (10,000 iterations), and the binomial draws of one iteration
//! alone (what an iteration cannot cost less than).

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

/// The binomial draws one Work Programme iteration makes, with nothing
/// else: their counts and mean sizes as an instrumented build counted them
/// (over 1,000 iterations as shipped: 9,710 entry draws by inversion, mean
/// 4.4 entrants; 7,180 leaving draws by inversion, mean 4.9; 1,443 draws
/// of at most 8 trials, counted one by one; 148 by BTRS. Over 500
/// iterations ten times as large, `work_programme_x10_volume`: 15,315 by
/// inversion, mean 5.0; 9,985 by BTRS, mean 76.3, mostly cohort entries;
/// 1,848 of at most 8 trials, 4.5 on average), each inversion given its
/// `q^n` as the engine keeps it. The floors under `iteration/work_programme`
/// and `iteration/work_programme_x10_volume`.
fn draws(c: &mut Criterion) {
    use pbrsim::rng::{Purpose, stream};
    use pbrsim::sample::Binomial;
    let (entry, leave, wide) = (
        Binomial::new(0.0246),
        Binomial::new(0.09),
        Binomial::new(0.03),
    );
    let shipped = [
        Draws::kept(entry, 180, 9_710),
        Draws::kept(leave, 54, 7_180),
        Draws::afresh(leave, 6, 1_443),
        Draws::afresh(wide, 1_000, 148),
    ];
    let ten_times = [
        Draws::kept(leave, 54, 15_315),
        Draws::afresh(entry, 3_100, 9_985),
        Draws::afresh(leave, 5, 1_848),
    ];
    let mut g = c.benchmark_group("draws");
    let mut rng = stream(1, 0, Purpose::Participants);
    for (name, mix) in [
        ("work_programme_iteration", &shipped[..]),
        ("work_programme_x10_iteration", &ten_times[..]),
    ] {
        g.throughput(Throughput::Elements(mix.iter().map(|d| d.count).sum()));
        g.bench_function(name, |b| {
            b.iter(|| black_box(mix.iter().map(|d| d.make(&mut rng)).sum::<u64>()))
        });
    }
    g.finish();
}

/// `count` draws of `n` trials from one sampler.
struct Draws {
    sampler: pbrsim::sample::Binomial,
    n: u64,
    count: u64,
    /// `q^n`, when the engine keeps it for such draws (inversions).
    power: Option<f64>,
}

impl Draws {
    fn kept(sampler: pbrsim::sample::Binomial, n: u64, count: u64) -> Self {
        let power = Some(sampler.failure_power(n));
        Draws {
            sampler,
            n,
            count,
            power,
        }
    }

    fn afresh(sampler: pbrsim::sample::Binomial, n: u64, count: u64) -> Self {
        Draws {
            sampler,
            n,
            count,
            power: None,
        }
    }

    fn make<R: rand::Rng>(&self, rng: &mut R) -> u64 {
        let mut total = 0;
        for _ in 0..self.count {
            total += match self.power {
                Some(q) => self.sampler.sample_with_power(rng, black_box(self.n), q),
                None => self.sampler.sample(rng, black_box(self.n)),
            };
        }
        total
    }
}

criterion_group!(benches, iteration, whole_run, write_files, draws);
criterion_main!(benches);
