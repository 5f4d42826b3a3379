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
    assert!(m_.se() <= 0.005 * m_.mean.abs());
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
    assert!(s.se() > 0.005 * s.mean.abs());
}

/// Any split of a run's blocks into contiguous shards, merged back, gives
/// (past 2,000 iterations, so the monthly sketches are bucketed)
/// the single run's summary bit for bit (compared through the shard file
/// encoding, which also checks that it round-trips).
#[test]
fn split_runs_merge_to_the_same_bits() {
    use pbrsim::engine::{blocks_of, partial::MergeStack, run_blocks};
    let m = model(SUPPLY_CHAIN, &[]);
    let cfg = RunConfig {
        iterations: 2200,
        seed: 11,
        threads: 2,
        ..Default::default()
    };
    let whole = run(&m, &cfg, &|_| {}, None).unwrap().summary;
    let whole_bytes = postcard::to_stdvec(&whole).unwrap();
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
        let mut stack = MergeStack::new();
        for w in bounds.windows(2) {
            let shard_cfg = RunConfig {
                threads: 1,
                ..cfg.clone()
            };
            let (_, part) = run_blocks(&m, &shard_cfg, Some(w[0]..w[1]), &|_| {}, None).unwrap();
            let nodes: Vec<_> = part.into_nodes();
            let stored = postcard::to_stdvec(&nodes).unwrap();
            let nodes: Vec<pbrsim::engine::partial::Node> = postcard::from_bytes(&stored).unwrap();
            for n in nodes {
                stack.push(n);
            }
        }
        let merged = stack.finish().unwrap();
        assert_eq!(merged.iterations, cfg.iterations);
        assert!(
            postcard::to_stdvec(&merged).unwrap() == whole_bytes,
            "split at {cuts:?} differs from the single run"
        );
    }
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
