//! A sweep on a real Slurm cluster (`../shared/slurm/local-cluster.sh`):
//! one array task is killed mid-run, only it is rerun, and the merged
//! result is bit-identical to one process.
//!
//! Needs `SLURM_CONF` (source the cluster's env.sh). Without it the test
//! passes but says so where a reader of `cargo test` sees it (its name
//! ends in `or_is_skipped_without_a_cluster`, and a `SKIPPED` line goes to
//! the terminal, past the test harness's capture), unless
//! `PBRSIM_REQUIRE_SLURM` is set (as in CI), where a missing cluster is a
//! failure.

use crate::batch::{ok, scenario};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn sh(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// States of a job's tasks still in the queue (empty when all ended).
fn queued(job: &str) -> Vec<String> {
    let out = Command::new("squeue")
        .args(["-h", "-j", job, "-o", "%i %T"])
        .output()
        .expect("squeue runs");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn a_sweep_on_slurm_survives_a_killed_task_and_merges_to_the_same_bits_or_is_skipped_without_a_cluster()
 {
    if std::env::var_os("SLURM_CONF").is_none() {
        assert!(
            std::env::var_os("PBRSIM_REQUIRE_SLURM").is_none(),
            "PBRSIM_REQUIRE_SLURM is set but SLURM_CONF is not: start ../shared/slurm/local-cluster.sh and source its env.sh"
        );
        // `eprintln!` would be captured and hidden when the test passes.
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr().lock(),
            "SKIPPED: no Slurm cluster (SLURM_CONF is not set): the Slurm test did not run; \
             start ../shared/slurm/local-cluster.sh and source its env.sh to run it"
        );
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let sweep = tmp.path().join("discounts.toml");
    std::fs::write(
        &sweep,
        format!(
            "scenario = \"{}\"\n[grid]\n\"payments.price_discount\" = [0.0, 0.06, 0.12]\n",
            scenario("work_programme.toml")
        ),
    )
    .unwrap();
    let out = tmp.path().join("out");
    // 3 points x 94 blocks over 4 tasks: every task runs parts of points,
    // about 4,500 iterations each: seconds, long enough to be killed mid-run.
    ok(&[
        "slurm",
        s(&sweep),
        "--tasks",
        "4",
        "-n",
        "6000",
        "--out",
        s(&out),
        "--submit",
    ]);
    let ids = std::fs::read_to_string(out.join("slurm").join("job-ids")).unwrap();
    let (array, merge_job) = ids.trim().split_once(' ').unwrap();
    let victim = format!("{array}_1");

    wait_until("task 1 to start", Duration::from_secs(120), || {
        queued(&victim).iter().any(|l| l.ends_with("RUNNING"))
    });
    std::thread::sleep(Duration::from_millis(300));
    sh("scancel", &["--signal=KILL", &victim]);
    wait_until(
        "the array and the merge job to end",
        Duration::from_secs(300),
        || queued(array).is_empty() && queued(merge_job).is_empty(),
    );

    // The merge job ran after every task ended and named the missing shard.
    let merge_log = std::fs::read_to_string(out.join("slurm/logs/merge.out")).unwrap();
    assert!(
        merge_log.contains("1 of 4 shard(s) not finished: 1")
            && merge_log.contains("sbatch --array=1"),
        "merge log:\n{merge_log}"
    );
    assert!(!out.join("sweep.csv").exists());

    // Rerun only the killed shard, then the merge.
    let rerun = sh(
        "sbatch",
        &[
            "--parsable",
            "--array=1",
            s(&out.join("slurm/shards.sbatch")),
        ],
    );
    let rerun = rerun.split(';').next().unwrap().to_string();
    wait_until("the rerun shard", Duration::from_secs(300), || {
        queued(&rerun).is_empty()
    });
    let shard_log = std::fs::read_to_string(out.join("slurm/logs/shard-1.out")).unwrap();
    assert!(shard_log.contains("shard 1/4"), "shard log:\n{shard_log}");
    let merge = sh(
        "sbatch",
        &["--parsable", s(&out.join("slurm/merge.sbatch"))],
    );
    let merge = merge.split(';').next().unwrap().to_string();
    wait_until("the merge", Duration::from_secs(300), || {
        queued(&merge).is_empty()
    });
    let merge_log = std::fs::read_to_string(out.join("slurm/logs/merge.out")).unwrap();
    assert!(out.join("sweep.csv").exists(), "merge log:\n{merge_log}");

    let single = tmp.path().join("single");
    ok(&["sweep", s(&sweep), "-n", "6000", "--out", s(&single), "-q"]);
    for f in ["sweep.csv", "sweep.parquet"] {
        assert!(
            std::fs::read(out.join(f)).unwrap() == std::fs::read(single.join(f)).unwrap(),
            "{f}: Slurm result differs from one process"
        );
    }
}

#[test]
fn a_design_on_slurm_runs_its_stages_as_chained_arrays_and_matches_one_process_or_is_skipped_without_a_cluster()
 {
    if std::env::var_os("SLURM_CONF").is_none() {
        assert!(
            std::env::var_os("PBRSIM_REQUIRE_SLURM").is_none(),
            "PBRSIM_REQUIRE_SLURM is set but SLURM_CONF is not: start ../shared/slurm/local-cluster.sh and source its env.sh"
        );
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr().lock(),
            "SKIPPED: no Slurm cluster (SLURM_CONF is not set): the design Slurm test did not run"
        );
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let design = tmp.path().join("design.toml");
    std::fs::write(
        &design,
        format!(
            "scenario = \"{}\"\niterations = [256, 1024]\n[grid]\n\"payments.price_discount\" = [0.0, 0.06, 0.12]\n[objective]\nmaximise = \"prime.net\"\n[[constraints]]\nevent = \"any subcontractor fails\"\nat_most = 0.30\n",
            scenario("work_programme.toml")
        ),
    )
    .unwrap();
    let out = tmp.path().join("out");
    ok(&[
        "slurm",
        s(&design),
        "--tasks",
        "3",
        "--out",
        s(&out),
        "--submit",
    ]);
    let ids = std::fs::read_to_string(out.join("slurm").join("job-ids")).unwrap();
    let jobs: Vec<String> = ids.split_whitespace().map(str::to_string).collect();
    assert_eq!(jobs.len(), 3, "two stages and the merge: {ids}");
    wait_until(
        "the stages and the merge to end",
        Duration::from_secs(600),
        || jobs.iter().all(|j| queued(j).is_empty()),
    );
    let merge_log = std::fs::read_to_string(out.join("slurm/logs/merge.out")).unwrap();
    assert!(out.join("design.csv").exists(), "merge log:\n{merge_log}");
    let single = tmp.path().join("single");
    ok(&["design", s(&design), "--out", s(&single), "-q"]);
    for f in ["design.csv", "pareto.csv", "report.txt"] {
        assert!(
            std::fs::read(out.join(f)).unwrap() == std::fs::read(single.join(f)).unwrap(),
            "{f}: Slurm result differs from one process"
        );
    }
}
