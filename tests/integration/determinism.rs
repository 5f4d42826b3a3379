//! Same scenario and seed give bit-identical results on any thread count.

use crate::common::{SUPPLY_CHAIN, model};
use pbrsim::engine::{RunConfig, run};
use pbrsim::output::figure_records;

fn summary(threads: usize, seed: u64) -> (String, Vec<u64>) {
    let m = model(SUPPLY_CHAIN, &[]);
    let cfg = RunConfig {
        iterations: 300,
        seed,
        threads,
        ..Default::default()
    };
    let mut rows = vec![];
    let mut sink = |_: u64, r: &[f64]| {
        rows.extend(r.iter().map(|x| x.to_bits()));
        Ok(())
    };
    let result = run(&m, &cfg, &|_| {}, Some(&mut sink)).unwrap();
    let json =
        serde_json::to_string(&figure_records(&result, &pbrsim::output::FIGURE_QUANTILES)).unwrap();
    let monthly: Vec<u64> = result
        .summary
        .cash
        .iter()
        .map(|s| s.quantile(0.5).to_bits())
        .collect();
    rows.extend(monthly);
    (json, rows)
}

#[test]
fn skipping_the_monthly_distributions_changes_no_figure() {
    let m = model(SUPPLY_CHAIN, &[]);
    let figures = |skip_monthly: bool| {
        let cfg = RunConfig {
            // Past the monthly sketches' exact size, so that they bucket.
            iterations: 2_500,
            seed: 9,
            skip_monthly,
            ..Default::default()
        };
        let result = run(&m, &cfg, &|_| {}, None).unwrap();
        let records = figure_records(&result, &pbrsim::output::FIGURE_QUANTILES);
        (
            serde_json::to_string(&records).unwrap(),
            result.summary.cash.len(),
        )
    };
    let (kept, cells) = figures(false);
    let (skipped, none) = figures(true);
    assert!(cells > 0 && none == 0);
    assert_eq!(kept, skipped);
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
        let cfg = RunConfig {
            iterations: 1,
            seed: 5,
            threads,
            precision: vec![("commissioner.referrals".into(), 0.005)],
            max_iterations: 200_000,
            ..Default::default()
        };
        run(&m, &cfg, &|_| {}, None).unwrap()
    };
    let one = adaptive(1);
    let used = one.summary.iterations;
    assert_eq!(used % 1024, 0, "stops on a step of 1,024 iterations");
    assert!(
        used > 1024 && used < 200_000,
        "several steps, and the target is reachable: {used}"
    );
    let k = one
        .catalog
        .figures
        .iter()
        .position(|f| f.key() == "commissioner.referrals")
        .unwrap();
    let m_ = &one.summary.moments[k];
    assert!(m_.se() <= 0.005 * m_.mean().abs());
    // Same stop on two threads, and the same numbers as a fixed run.
    let two = adaptive(2);
    assert_eq!(two.summary.iterations, used);
    let fixed = run(
        &m,
        &RunConfig {
            iterations: used,
            seed: 5,
            threads: 2,
            ..Default::default()
        },
        &|_| {},
        None,
    )
    .unwrap();
    let json = |r: &pbrsim::engine::RunResult| {
        serde_json::to_string(&figure_records(r, &pbrsim::output::FIGURE_QUANTILES)).unwrap()
    };
    assert_eq!(json(&one), json(&fixed));
    assert_eq!(json(&two), json(&fixed));
    // One step fewer would not have met the target.
    let shorter = run(
        &m,
        &RunConfig {
            iterations: used - 1024,
            seed: 5,
            threads: 2,
            ..Default::default()
        },
        &|_| {},
        None,
    )
    .unwrap();
    let s = &shorter.summary.moments[k];
    assert!(s.se() > 0.005 * s.mean().abs());
}

/// Any split of a run's blocks into contiguous shards, merged back in any
/// order, gives every number of the single run's summary bit for bit
/// (past 2,000 iterations, so the monthly sketches are bucketed; each
/// shard goes through the shard file encoding, which checks that it
/// round-trips).
#[test]
fn split_runs_merge_to_the_same_bits() {
    use pbrsim::engine::{Summary, blocks_of, run_blocks};
    let m = model(SUPPLY_CHAIN, &[]);
    let cfg = RunConfig {
        iterations: 2200,
        seed: 11,
        threads: 2,
        ..Default::default()
    };
    let whole = readings(&run(&m, &cfg, &|_| {}, None).unwrap().summary);
    let blocks = blocks_of(cfg.iterations);
    for cuts in [
        vec![],
        vec![1],
        vec![7],
        vec![3, 11, 12],
        vec![5, 6, 17, 20, 34],
        (1..blocks).collect::<Vec<_>>(),
    ] {
        let mut bounds = vec![0];
        bounds.extend(&cuts);
        bounds.push(blocks);
        let mut parts: Vec<Summary> = bounds
            .windows(2)
            .map(|w| {
                let shard_cfg = RunConfig {
                    threads: 1,
                    ..cfg.clone()
                };
                let (_, part) =
                    run_blocks(&m, &shard_cfg, Some(w[0]..w[1]), &|_| {}, None).unwrap();
                let stored = postcard::to_stdvec(&part).unwrap();
                postcard::from_bytes(&stored).unwrap()
            })
            .collect();
        // In block order, backwards, and interleaved: merges are exact, so
        // the order of the shards does not matter.
        for order in ["forward", "backward", "interleaved"] {
            let mut sequence: Vec<&Summary> = parts.iter().collect();
            match order {
                "backward" => sequence.reverse(),
                "interleaved" => {
                    let (even, odd): (Vec<_>, Vec<_>) =
                        sequence.iter().enumerate().partition(|(i, _)| i % 2 == 0);
                    sequence = odd.into_iter().chain(even).map(|(_, s)| *s).collect();
                }
                _ => {}
            }
            let mut merged = sequence[0].clone();
            for part in &sequence[1..] {
                merged.merge(part);
            }
            assert_eq!(merged.iterations, cfg.iterations);
            assert!(
                readings(&merged) == whole,
                "split at {cuts:?}, merged {order}, differs from the single run"
            );
        }
        parts.clear();
    }
}

/// Every number a summary gives, as bits: moments, quantiles, tails,
/// ratios, the monthly series, failures and the downside allocation.
fn readings(s: &pbrsim::engine::Summary) -> Vec<u64> {
    let mut r = vec![s.iterations];
    for m in &s.moments {
        r.extend([
            m.n,
            m.mean().to_bits(),
            m.sd().to_bits(),
            m.min.to_bits(),
            m.max.to_bits(),
        ]);
    }
    let quantiles = |r: &mut Vec<u64>, q: &pbrsim::stats::QuantileSketch| {
        for p in [0.0, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 1.0] {
            r.push(q.quantile(p).to_bits());
        }
        for upper in [false, true] {
            if let Some((var, es, v)) = q.tail(0.05, upper) {
                r.extend([var.to_bits(), es.to_bits(), v.to_bits()]);
            }
        }
    };
    s.sketches.iter().for_each(|q| quantiles(&mut r, q));
    s.flow
        .iter()
        .chain(&s.cash)
        .for_each(|q| quantiles(&mut r, q));
    for (x, y, xy) in &s.ratios {
        let (v, se) = pbrsim::stats::ratio_of_means(x, y, xy).unwrap_or((f64::NAN, f64::NAN));
        r.extend([v.to_bits(), se.to_bits()]);
    }
    for cell in 0..s.flow.len() {
        r.extend([s.flow_mean(cell).to_bits(), s.cash_mean(cell).to_bits()]);
    }
    r.extend(&s.failures_by_month);
    for share in s.allocation.shares(0.05) {
        r.extend(
            [
                share.tail_mean,
                share.tail_mean_se,
                share.tail_share,
                share.variance_share,
                share.variance_share_se,
            ]
            .map(f64::to_bits),
        );
    }
    r
}

/// A stop request ends a run, a comparison and an analysis after the wave
/// in progress with `Error::Interrupted`; a fresh flag changes nothing.
#[test]
fn a_stop_request_interrupts_every_kind_of_run() {
    use pbrsim::engine::Stop;
    let m = model(SUPPLY_CHAIN, &[]);
    let stop = Stop::default();
    let cfg = RunConfig {
        iterations: 100_000,
        threads: 1,
        stop: stop.clone(),
        ..Default::default()
    };
    // Asked for once the first wave is done: the run stops there, long
    // before its 100,000 iterations.
    let seen = std::sync::atomic::AtomicU64::new(0);
    let progress = |done: u64| {
        seen.store(done, std::sync::atomic::Ordering::Relaxed);
        stop.request();
    };
    let interrupted = run(&m, &cfg, &progress, None);
    assert!(matches!(interrupted, Err(pbrsim::Error::Interrupted)));
    let reached = seen.load(std::sync::atomic::Ordering::Relaxed);
    assert!(reached > 0 && reached < 1_000, "{reached}");
    assert!(!pbrsim::Error::Interrupted.is_bad_input());

    let compared = pbrsim::engine::compare::compare(&m, &m, &cfg, &|_| {});
    assert!(matches!(compared, Err(pbrsim::Error::Interrupted)));
    let split = pbrsim::stress::sensitivity::variance_split(&m, &cfg, &|_| {});
    assert!(matches!(split, Err(pbrsim::Error::Interrupted)));

    let fresh = RunConfig {
        iterations: 300,
        seed: 42,
        threads: 2,
        stop: Stop::default(),
        ..Default::default()
    };
    let json = |c: &RunConfig| {
        let r = run(&m, c, &|_| {}, None).unwrap();
        serde_json::to_string(&figure_records(&r, &pbrsim::output::FIGURE_QUANTILES)).unwrap()
    };
    assert_eq!(json(&fresh), summary(2, 42).0);
}

/// A run longer than its sketches can count is refused before it starts,
/// with the limit and what to do instead.
#[test]
fn a_run_beyond_the_sketches_count_is_refused() {
    let m = model(SUPPLY_CHAIN, &[]);
    let cfg = RunConfig {
        iterations: pbrsim::stats::SKETCH_MAX_VALUES + 1,
        ..Default::default()
    };
    match run(&m, &cfg, &|_| {}, None) {
        Err(pbrsim::Error::Setting(message)) => {
            assert!(message.contains("at most 4294967295"), "{message}");
            assert!(message.contains("different seeds"), "{message}");
        }
        other => panic!(
            "expected a refusal, got {:?}",
            other.map(|r| r.summary.iterations)
        ),
    }
}
