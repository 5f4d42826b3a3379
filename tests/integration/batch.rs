//! Sweeps, shards, resuming and merging, through the command line as a
//! user runs them.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn pbrsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pbrsim"))
        .args(args)
        .output()
        .expect("binary runs")
}

pub fn ok(args: &[&str]) -> Output {
    let out = pbrsim(args);
    assert!(
        out.status.success(),
        "pbrsim {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

pub fn scenario(name: &str) -> String {
    format!("{}/scenarios/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// A sweep file in `dir` over the minimal scenario.
pub fn sweep_file(dir: &Path, design: &str) -> PathBuf {
    let path = dir.join("sweep.toml");
    std::fs::write(
        &path,
        format!("scenario = \"{}\"\n\n{design}", scenario("minimal.toml")),
    )
    .unwrap();
    path
}

const GRID: &str = "[grid]\n\"payments.price_discount\" = [0.0, 0.1]\n\"segments.jobseekers.referrals_per_month\" = [40, 60]\n";

fn bytes(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn sweep_shards_merge_to_the_single_machine_bits() {
    let tmp = tempfile::tempdir().unwrap();
    let sweep = sweep_file(tmp.path(), GRID);
    let whole = tmp.path().join("whole");
    ok(&["sweep", s(&sweep), "-n", "300", "--out", s(&whole), "-q"]);
    let csv = bytes(&whole.join("sweep.csv"));
    let parquet = bytes(&whole.join("sweep.parquet"));
    // 4 points x 5 blocks: 3 shards split points, 7 and 20 leave some
    // shards with a single block or nothing at all.
    for n in [2u64, 3, 7, 20] {
        let dir = tmp.path().join(format!("shards{n}"));
        // Shards in reverse order, as a scheduler may run them.
        for i in (0..n).rev() {
            ok(&[
                "sweep",
                s(&sweep),
                "-n",
                "300",
                "--out",
                s(&dir),
                "--shard",
                &format!("{i}/{n}"),
                "-j",
                "1",
                "-q",
            ]);
        }
        assert!(
            !dir.join("sweep.csv").exists(),
            "shards alone do not write the table"
        );
        ok(&["merge", s(&dir)]);
        assert!(
            bytes(&dir.join("sweep.csv")) == csv,
            "{n} shards: sweep.csv differs from one process"
        );
        assert!(
            bytes(&dir.join("sweep.parquet")) == parquet,
            "{n} shards: sweep.parquet differs from one process"
        );
    }
}

#[test]
fn run_shards_merge_to_the_single_machine_bits() {
    let tmp = tempfile::tempdir().unwrap();
    let sc = scenario("supply_chain.toml");
    // Plain draws, and Sobol' points (whose randomisations' sums travel in
    // the state files).
    let samplings: [&[&str]; 2] = [&[], &["--sampling", "sobol", "--randomisations", "8"]];
    let base = [
        "run",
        sc.as_str(),
        "-n",
        "700",
        "-q",
        "--set",
        "payments.price_discount=0.05",
    ];
    for (k, sampling) in samplings.into_iter().enumerate() {
        let whole = tmp.path().join(format!("whole{k}"));
        let args = [&base[..], sampling].concat();
        ok(&[&args[..], &["--out", s(&whole)]].concat());
        for n in [2u64, 5] {
            let dir = tmp.path().join(format!("shards{k}_{n}"));
            for i in 0..n {
                let shard = format!("{i}/{n}");
                ok(&[&args[..], &["--out", s(&dir), "--shard", &shard]].concat());
            }
            ok(&["merge", s(&dir)]);
            for f in [
                "summary.json",
                "figures.csv",
                "risk.csv",
                "allocation.csv",
                "monthly.csv",
            ] {
                assert!(
                    bytes(&dir.join(f)) == bytes(&whole.join(f)),
                    "{n} shards ({sampling:?}): {f} differs from one process"
                );
            }
        }
    }
    // A shard of the other sampling is another job.
    let dir = tmp.path().join("shards0_2");
    let extra = ["--sampling", "sobol", "--out", s(&dir), "--shard", "1/2"];
    let out = pbrsim(&[&base[..], &extra[..]].concat());
    assert!(!out.status.success());
    assert!(stderr(&out).contains("another job"), "{}", stderr(&out));
}

#[test]
fn merge_names_missing_shards_and_refuses_foreign_or_duplicate_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let sweep = sweep_file(tmp.path(), GRID);
    let dir = tmp.path().join("d");
    let shard = |i: u64, extra: &[&str]| {
        let mut a = vec!["sweep", s(&sweep), "-n", "300", "--out", s(&dir), "-q"];
        let sh = format!("{i}/3");
        a.extend(["--shard", &sh]);
        a.extend(extra);
        pbrsim(&a)
    };
    assert!(shard(0, &[]).status.success());
    assert!(shard(2, &[]).status.success());
    let out = pbrsim(&["merge", s(&dir)]);
    assert_eq!(out.status.code(), Some(1));
    let msg = stderr(&out);
    assert!(
        msg.contains("1 of 3 shard(s) not finished: 1")
            && msg.contains("--shard I/3` for I in 1")
            && msg.contains("pbrsim sweep ")
            && !msg.contains("sbatch"),
        "{msg}"
    );

    // Another seed, another shard count: refused before running.
    let out = shard(1, &["--seed", "2"]);
    assert!(
        !out.status.success() && stderr(&out).contains("seed 1 there, 2 here"),
        "{}",
        stderr(&out)
    );
    let out = pbrsim(&[
        "sweep",
        s(&sweep),
        "-n",
        "300",
        "--out",
        s(&dir),
        "-q",
        "--shard",
        "0/4",
    ]);
    assert!(
        !out.status.success() && stderr(&out).contains("started as 3 shard(s), not 4"),
        "{}",
        stderr(&out)
    );

    // Shard 1 run elsewhere with another seed, copied in: refused by merge.
    let other = tmp.path().join("other");
    ok(&[
        "sweep",
        s(&sweep),
        "-n",
        "300",
        "--seed",
        "9",
        "--out",
        s(&other),
        "-q",
        "--shard",
        "1/3",
    ]);
    let foreign: Vec<PathBuf> = batch_files(&other)
        .into_iter()
        .map(|f| {
            let to = dir.join("state").join(f.file_name().unwrap());
            std::fs::copy(&f, &to).unwrap();
            to
        })
        .collect();
    let out = pbrsim(&["merge", s(&dir)]);
    assert!(
        !out.status.success() && stderr(&out).contains("from another job"),
        "{}",
        stderr(&out)
    );
    foreign
        .iter()
        .for_each(|f| std::fs::remove_file(f).unwrap());
    assert!(shard(1, &[]).status.success());
    ok(&["merge", s(&dir)]);
    let own = batch_files(&dir);

    // A duplicate of a part, under an overlapping range, is refused.
    let part = own
        .iter()
        .find(|p| p.to_string_lossy().contains(".blocks-"))
        .expect("3 shards of 4 points split a point")
        .clone();
    let name = part.file_name().unwrap().to_string_lossy().to_string();
    let (head, range) = name.split_once(".blocks-").unwrap();
    let (a, b) = range.trim_end_matches(".bin").split_once('-').unwrap();
    let (a, b): (u64, u64) = (a.parse().unwrap(), b.parse().unwrap());
    let dup = if a > 0 {
        format!("{head}.blocks-{:08}-{b:08}.bin", a - 1)
    } else {
        format!("{head}.blocks-{a:08}-{:08}.bin", b + 1)
    };
    std::fs::copy(&part, part.with_file_name(&dup)).unwrap();
    let out = pbrsim(&["merge", s(&dir)]);
    assert!(
        !out.status.success()
            && (stderr(&out).contains("overlap")
                || stderr(&out).contains("not what its name says")),
        "{}",
        stderr(&out)
    );
    std::fs::remove_file(part.with_file_name(&dup)).unwrap();

    // An edited manifest is refused.
    let manifest = dir.join("manifest.json");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(
        &manifest,
        text.replace("\"iterations\": 300", "\"iterations\": 301"),
    )
    .unwrap();
    let out = pbrsim(&["merge", s(&dir)]);
    assert!(
        !out.status.success() && stderr(&out).contains("manifest was edited"),
        "{}",
        stderr(&out)
    );
}

fn batch_files(dir: &Path) -> Vec<PathBuf> {
    pbrsim::batch::state_files(dir).unwrap()
}

#[test]
fn a_killed_sweep_resumes_without_losing_or_repeating_points() {
    let tmp = tempfile::tempdir().unwrap();
    let sweep = sweep_file(
        tmp.path(),
        "[list]\n\"segments.jobseekers.referrals_per_month\" = [40, 45, 50, 55, 60, 65, 70, 75, 80, 85, 90, 95]\n",
    );
    let clean = tmp.path().join("clean");
    ok(&[
        "sweep",
        s(&sweep),
        "-n",
        "3000",
        "--out",
        s(&clean),
        "-q",
        "-j",
        "1",
    ]);

    let dir = tmp.path().join("killed");
    let mut child = Command::new(env!("CARGO_BIN_EXE_pbrsim"))
        .args([
            "sweep",
            s(&sweep),
            "-n",
            "3000",
            "--out",
            s(&dir),
            "-q",
            "-j",
            "1",
        ])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    loop {
        let done = dir.join("state").read_dir().map_or(0, |d| {
            d.filter_map(|e| e.ok())
                .filter(|e| !e.file_name().to_string_lossy().starts_with(".tmp"))
                .count()
        });
        if done >= 2 {
            break;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the sweep finished before it could be killed: make it longer"
        );
        assert!(
            started.elapsed().as_secs() < 120,
            "no point finished in 2 minutes"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL: no chance to clean up
    child.wait().unwrap();
    assert!(
        !dir.join("sweep.csv").exists(),
        "a killed sweep leaves no table"
    );
    let kept = batch_files(&dir);
    assert!(
        kept.len() >= 2 && kept.len() < 12,
        "{} points finished before the kill",
        kept.len()
    );
    let stamps: Vec<_> = kept
        .iter()
        .map(|p| (bytes(p), std::fs::metadata(p).unwrap().modified().unwrap()))
        .collect();

    // A write the kill interrupted may leave a temporary file: never read, and
    // cleared by the rerun.
    std::fs::write(dir.join("state").join(".tmpKILLED"), b"half a point").unwrap();
    let out = ok(&[
        "sweep",
        s(&sweep),
        "-n",
        "3000",
        "--out",
        s(&dir),
        "-j",
        "2",
    ]);
    assert!(!dir.join("state").join(".tmpKILLED").exists());
    assert!(
        stderr(&out).contains(&format!("{} already done (kept)", kept.len())),
        "{}",
        stderr(&out)
    );
    for (p, (b, t)) in kept.iter().zip(stamps) {
        assert!(
            bytes(p) == b && std::fs::metadata(p).unwrap().modified().unwrap() == t,
            "{} was rewritten",
            p.display()
        );
    }
    assert_eq!(batch_files(&dir).len(), 12);
    assert!(
        bytes(&dir.join("sweep.csv")) == bytes(&clean.join("sweep.csv")),
        "resumed sweep differs from an uninterrupted one"
    );
    assert!(bytes(&dir.join("sweep.parquet")) == bytes(&clean.join("sweep.parquet")));
}

/// Reads `sweep.csv` into (header, rows).
fn table(dir: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(dir.join("sweep.csv")).unwrap();
    let header = r.headers().unwrap().iter().map(str::to_string).collect();
    let rows = r
        .records()
        .map(|x| x.unwrap().iter().map(str::to_string).collect())
        .collect();
    (header, rows)
}

#[test]
fn points_share_random_numbers_and_the_table_is_tidy() {
    let tmp = tempfile::tempdir().unwrap();
    let sweep = sweep_file(
        tmp.path(),
        "[grid]\n\"payments.price_discount\" = [0.0, 0.05, 0.1]\n\"segments.jobseekers.referrals_per_month\" = [40, 60]\n",
    );
    let dir = tmp.path().join("d");
    ok(&["sweep", s(&sweep), "-n", "400", "--out", s(&dir), "-q"]);
    let (header, rows) = table(&dir);
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name}"))
    };
    let (point, discount, volume, party, figure, mean) = (
        col("point"),
        col("payments.price_discount"),
        col("segments.jobseekers.referrals_per_month"),
        col("party"),
        col("figure"),
        col("mean"),
    );
    // Grid order: the last parameter varies fastest.
    let points: Vec<(String, String, String)> = rows
        .iter()
        .filter(|r| r[party] == "commissioner" && r[figure] == "referrals")
        .map(|r| (r[point].clone(), r[discount].clone(), r[volume].clone()))
        .collect();
    assert_eq!(
        points,
        vec![
            ("0".into(), "0".into(), "40".into()),
            ("1".into(), "0".into(), "60".into()),
            ("2".into(), "0.05".into(), "40".into()),
            ("3".into(), "0.05".into(), "60".into()),
            ("4".into(), "0.1".into(), "40".into()),
            ("5".into(), "0.1".into(), "60".into())
        ]
    );
    // Common random numbers: every point draws the same uncertain
    // parameters, iteration by iteration, so their summaries are identical.
    let draws: Vec<Vec<&String>> = (0..6)
        .map(|p| {
            rows.iter()
                .filter(|r| r[point] == p.to_string() && r[party] == "draw")
                .map(|r| &r[mean])
                .collect()
        })
        .collect();
    assert!(!draws[0].is_empty());
    assert!(
        draws.iter().all(|d| *d == draws[0]),
        "uncertain draws differ between points"
    );
    let referrals: Vec<f64> = rows
        .iter()
        .filter(|r| r[party] == "commissioner" && r[figure] == "referrals")
        .map(|r| r[mean].parse().unwrap())
        .collect();
    assert!(
        referrals[1] > referrals[0] * 1.3,
        "volume must matter: {referrals:?}"
    );
    // Every figure of every point, plus the ratios, once.
    let per_point = rows.iter().filter(|r| r[point] == "0").count();
    assert_eq!(rows.len(), 6 * per_point);
    assert!(
        rows.iter()
            .any(|r| r[figure] == "cost_per_attributable_outcome" && r[col("unit")] == "ratio")
    );
    assert!(rows.iter().any(|r| r[party] == "segment.jobseekers"
        && r[figure] == "paid_per_referral"
        && r[col("unit")] == "ratio"));
}

#[test]
fn a_batch_of_scenario_files_runs_like_a_sweep() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("d");
    let (a, b) = (scenario("minimal.toml"), scenario("supply_chain.toml"));
    ok(&["sweep", &a, &b, "-n", "200", "--out", s(&dir), "-q"]);
    let (header, rows) = table(&dir);
    let sc = header.iter().position(|h| h == "scenario").unwrap();
    assert!(rows.iter().any(|r| r[sc] == a) && rows.iter().any(|r| r[sc] == b));
    // Each point equals a plain run of that scenario.
    let single = tmp.path().join("single");
    ok(&["run", &b, "-n", "200", "--out", s(&single), "-q"]);
    let mut r = csv::Reader::from_path(single.join("figures.csv")).unwrap();
    let h: Vec<String> = r.headers().unwrap().iter().map(str::to_string).collect();
    let (fp, ff, fm) = (
        h.iter().position(|x| x == "party").unwrap(),
        h.iter().position(|x| x == "figure").unwrap(),
        h.iter().position(|x| x == "mean").unwrap(),
    );
    let (pp, pf, pm) = (
        header.iter().position(|x| x == "party").unwrap(),
        header.iter().position(|x| x == "figure").unwrap(),
        header.iter().position(|x| x == "mean").unwrap(),
    );
    let mut checked = 0;
    for rec in r.records().map(|x| x.unwrap()) {
        let row = rows
            .iter()
            .find(|row| row[sc] == b && row[pp] == rec[fp] && row[pf] == rec[ff])
            .expect("figure in sweep table");
        assert_eq!(row[pm], rec[fm], "{}.{}", &rec[fp], &rec[ff]);
        checked += 1;
    }
    assert!(checked > 20);
}

/// A sweep on scrambled Sobol' points: each point is the run of that
/// point with the same sampling (error bars from the randomisations
/// included), shards merge to the same bytes, and the points are not the
/// plain draws'.
#[test]
fn a_sweep_on_sobol_points_is_its_points_runs_and_shards_to_the_same_bits() {
    let tmp = tempfile::tempdir().unwrap();
    let sc = scenario("supply_chain.toml");
    let sweep = tmp.path().join("sweep.toml");
    std::fs::write(
        &sweep,
        format!("scenario = \"{sc}\"\n\n[grid]\n\"payments.price_discount\" = [0.0, 0.1]\n"),
    )
    .unwrap();
    let sobol = ["--sampling", "sobol", "--randomisations", "8"];
    let base = ["sweep", s(&sweep), "-n", "512", "-q"];
    let whole = tmp.path().join("whole");
    ok(&[&base[..], &sobol, &["--out", s(&whole)]].concat());
    let csv = bytes(&whole.join("sweep.csv"));
    let dir = tmp.path().join("shards");
    for i in (0..3).rev() {
        let shard = format!("{i}/3");
        ok(&[
            &base[..],
            &sobol,
            &["--out", s(&dir), "--shard", &shard, "-j", "1"],
        ]
        .concat());
    }
    ok(&["merge", s(&dir)]);
    assert!(
        bytes(&dir.join("sweep.csv")) == csv,
        "3 shards: sweep.csv differs from one process"
    );
    let single = tmp.path().join("single");
    let set = ["--set", "payments.price_discount=0.1"];
    ok(&[
        &["run", &sc, "-n", "512", "-q"][..],
        &sobol,
        &set,
        &["--out", s(&single)],
    ]
    .concat());
    let (header, rows) = table(&whole);
    let col = |h: &[String], name: &str| h.iter().position(|x| x == name).unwrap();
    let mut r = csv::Reader::from_path(single.join("figures.csv")).unwrap();
    let h: Vec<String> = r.headers().unwrap().iter().map(str::to_string).collect();
    let mut checked = 0;
    for rec in r.records().map(|x| x.unwrap()) {
        let row = rows
            .iter()
            .find(|row| {
                row[col(&header, "point")] == "1"
                    && row[col(&header, "party")] == rec[col(&h, "party")]
                    && row[col(&header, "figure")] == rec[col(&h, "figure")]
            })
            .expect("figure in sweep table");
        for c in ["mean", "mean_se", "sd", "p5", "p50", "p95"] {
            assert_eq!(
                row[col(&header, c)],
                rec[col(&h, c)],
                "{}.{} {c}",
                &rec[col(&h, "party")],
                &rec[col(&h, "figure")]
            );
        }
        checked += 1;
    }
    assert!(checked > 50);
    let plain = tmp.path().join("plain");
    ok(&[&base[..], &["--out", s(&plain)]].concat());
    assert!(
        bytes(&plain.join("sweep.csv")) != csv,
        "--sampling sobol changed nothing"
    );
}

#[test]
fn latin_hypercube_points_are_stratified_and_seeded() {
    let tmp = tempfile::tempdir().unwrap();
    let lhs = "[latin_hypercube]\npoints = 8\nseed = 3\n[latin_hypercube.ranges]\n\"payments.price_discount\" = [0.0, 0.2]\n\"segments.jobseekers.referrals_per_month\" = [20, 99]\n";
    let sweep = sweep_file(tmp.path(), lhs);
    let dir = tmp.path().join("d");
    ok(&["sweep", s(&sweep), "-n", "64", "--out", s(&dir), "-q"]);
    let (header, rows) = table(&dir);
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let mut strata: Vec<usize> = rows
        .iter()
        .filter(|r| r[col("party")] == "commissioner" && r[col("figure")] == "referrals")
        .map(|r| (r[col("payments.price_discount")].parse::<f64>().unwrap() / 0.2 * 8.0) as usize)
        .collect();
    strata.sort();
    assert_eq!(strata, (0..8).collect::<Vec<_>>());
    assert!(
        rows.iter()
            .all(|r| r[col("segments.jobseekers.referrals_per_month")]
                .parse::<i64>()
                .is_ok()),
        "integer ranges give integers"
    );
}

#[test]
fn bad_sweeps_are_refused_before_anything_runs_with_file_line_and_key() {
    let tmp = tempfile::tempdir().unwrap();
    let cases: [(&str, &[&str]); 9] = [
        (
            "[set]\n\"payments.price_discount\" = 1.5\n[grid]\n\"segments.jobseekers.referrals_per_month\" = [40, 60]\n",
            &["sweep.toml:4:", "price_discount", "1.5"],
        ),
        (
            "[set]\n\"payments.price_discount\" = 0.1\n[grid]\n\"payments.price_discount\" = [0.0, 0.1]\n",
            &["sweep.toml:4:", "both set and swept"],
        ),
        (
            "[grid]\n\"payments.price_discont\" = [0.0, 0.1]\n",
            &[
                "sweep.toml:4:",
                "unknown key `price_discont`",
                "did you mean `price_discount`?",
            ],
        ),
        (
            "[grid]\n\"segments.jobseeker.referrals_per_month\" = [10]\n",
            &[
                "sweep.toml:4:",
                "`jobseeker` does not exist",
                "did you mean `jobseekers`?",
            ],
        ),
        (
            "[list]\n\"payments.price_discount\" = [0.1, \"a lot\"]\n",
            &["sweep.toml:4:", "point 1", "a lot"],
        ),
        (
            "[grid]\n\"payments.price_discount\" = [0.1, 1.5]\n",
            &["sweep.toml:4:", "price_discount", "point 1"],
        ),
        (
            "[grid]\n\"payments.price_discount\" = []\n",
            &["sweep.toml:4:", "no values, so the grid is empty"],
        ),
        (
            "[gird]\n\"payments.price_discount\" = [0.1]\n",
            &["unknown key `gird`", "did you mean `grid`?"],
        ),
        (
            "[list]\n\"payments.price_discount\" = [0.1, 0.2]\n\"segments.jobseekers.referrals_per_month\" = [10]\n",
            &[
                "sweep.toml:5:",
                "has 1 values but the first parameter has 2",
            ],
        ),
    ];
    for (design, expected) in cases {
        let sweep = sweep_file(tmp.path(), design);
        let dir = tmp.path().join("never");
        let out = pbrsim(&["sweep", s(&sweep), "-n", "64", "--out", s(&dir)]);
        let msg = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{design}: {msg}");
        for e in expected {
            assert!(msg.contains(e), "{design}: expected `{e}` in:\n{msg}");
        }
        assert!(
            !dir.exists(),
            "{design}: nothing may be written for a bad sweep"
        );
    }
    std::fs::write(
        tmp.path().join("sweep.toml"),
        "scenario = \"missing.toml\"\n[grid]\n\"a\" = [1]\n",
    )
    .unwrap();
    let out = pbrsim(&[
        "sweep",
        s(&tmp.path().join("sweep.toml")),
        "--out",
        s(&tmp.path().join("never")),
    ]);
    assert!(
        stderr(&out).contains("sweep.toml:1:") && stderr(&out).contains("cannot read scenario"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn shard_auto_reads_the_slurm_array_task() {
    let tmp = tempfile::tempdir().unwrap();
    let sweep = sweep_file(tmp.path(), GRID);
    let explicit = tmp.path().join("explicit");
    ok(&[
        "sweep",
        s(&sweep),
        "-n",
        "300",
        "--out",
        s(&explicit),
        "-q",
        "--shard",
        "1/2",
    ]);
    let auto = tmp.path().join("auto");
    // Task ids 4 and 5 (an array submitted as --array=4-5): task 5 is shard 1 of 2.
    let out = Command::new(env!("CARGO_BIN_EXE_pbrsim"))
        .args([
            "sweep",
            s(&sweep),
            "-n",
            "300",
            "--out",
            s(&auto),
            "--shard",
            "auto",
        ])
        .env("SLURM_ARRAY_TASK_ID", "5")
        .env("SLURM_ARRAY_TASK_MIN", "4")
        .env("SLURM_ARRAY_TASK_COUNT", "2")
        .output()
        .unwrap();
    assert!(
        out.status.success() && stderr(&out).contains("shard 1/2"),
        "{}",
        stderr(&out)
    );
    let names = |d: &Path| {
        batch_files(d)
            .iter()
            .map(|p| p.file_name().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&auto), names(&explicit));
    // Without an array task, `auto` is the whole job.
    let whole = tmp.path().join("whole");
    let out = Command::new(env!("CARGO_BIN_EXE_pbrsim"))
        .args([
            "sweep",
            s(&sweep),
            "-n",
            "300",
            "--out",
            s(&whole),
            "-q",
            "--shard",
            "auto",
        ])
        .env_remove("SLURM_ARRAY_TASK_ID")
        .output()
        .unwrap();
    assert!(
        out.status.success() && whole.join("sweep.csv").exists(),
        "{}",
        stderr(&out)
    );
}

#[test]
fn damaged_state_files_and_other_builds_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let sweep = sweep_file(tmp.path(), GRID);
    let dir = tmp.path().join("d");
    for i in 0..3 {
        ok(&[
            "sweep",
            s(&sweep),
            "-n",
            "300",
            "--out",
            s(&dir),
            "-q",
            "--shard",
            &format!("{i}/3"),
        ]);
    }
    ok(&["merge", s(&dir)]);
    // One flipped byte anywhere in a state file is caught by its checksum.
    let part = batch_files(&dir)
        .into_iter()
        .find(|p| p.to_string_lossy().contains(".blocks-"))
        .unwrap();
    let good = bytes(&part);
    for at in [9, 40, good.len() / 2, good.len() - 1] {
        let mut bad = good.clone();
        bad[at] ^= 0x10;
        std::fs::write(&part, &bad).unwrap();
        let out = pbrsim(&["merge", s(&dir)]);
        assert_eq!(out.status.code(), Some(1), "byte {at}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("checksum") || stderr(&out).contains("not a pbrsim state file"),
            "byte {at}: {}",
            stderr(&out)
        );
    }
    std::fs::write(&part, &good).unwrap();
    // File-system litter is ignored.
    std::fs::write(dir.join("state").join(".DS_Store"), b"").unwrap();
    ok(&["merge", s(&dir)]);
    // A manifest of another build (same version) is refused, by merge and by a shard.
    let manifest = dir.join("manifest.json");
    let mut m: pbrsim::batch::Manifest =
        serde_json::from_str(&std::fs::read_to_string(&manifest).unwrap()).unwrap();
    m.pbrsim_source = "0000000000000000".into();
    m.fingerprint = m.compute_fingerprint();
    std::fs::write(&manifest, serde_json::to_string_pretty(&m).unwrap()).unwrap();
    let out = pbrsim(&["merge", s(&dir)]);
    assert!(
        !out.status.success() && stderr(&out).contains("source 0000000000000000"),
        "{}",
        stderr(&out)
    );
    let out = pbrsim(&[
        "sweep",
        s(&sweep),
        "-n",
        "300",
        "--out",
        s(&dir),
        "-q",
        "--shard",
        "0/3",
    ]);
    assert!(
        !out.status.success() && stderr(&out).contains("another build of pbrsim"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_missing_shard_of_a_slurm_job_names_both_ways_to_rerun_it() {
    let tmp = tempfile::tempdir().unwrap();
    let sweep = sweep_file(tmp.path(), GRID);
    let dir = tmp.path().join("d");
    ok(&[
        "slurm",
        s(&sweep),
        "--tasks",
        "3",
        "-n",
        "300",
        "--out",
        s(&dir),
        "-q",
    ]);
    for i in ["0/3", "2/3"] {
        ok(&[
            "sweep",
            s(&sweep),
            "-n",
            "300",
            "--out",
            s(&dir),
            "--shard",
            i,
            "-q",
        ]);
    }
    let out = pbrsim(&["merge", s(&dir)]);
    assert_eq!(out.status.code(), Some(1));
    let msg = stderr(&out);
    assert!(
        msg.contains(&format!(
            "rerun each with `pbrsim sweep {} -n 300 --seed 1 --out {} --shard I/3` for I in 1",
            s(&sweep),
            s(&dir)
        )) && msg.contains("sbatch --array=1 ")
            && msg.contains("shards.sbatch"),
        "{msg}"
    );
}

/// `[set]` terms reach every point before its swept values: a clause the
/// scenario lacks is added whole and one of its keys swept.
#[test]
fn set_terms_apply_to_every_point_before_its_values() {
    let tmp = tempfile::tempdir().unwrap();
    let path = sweep_file(
        tmp.path(),
        "[set]\n\"payments.blended\" = { fee_share = 0.5 }\n\"payments.price_discount\" = 0.1\n[grid]\n\"payments.blended.fee_share\" = [0.2, 0.4]\n\"segments.jobseekers.referrals_per_month\" = [40, 60]\n",
    );
    let sweep = pbrsim::batch::sweep::load_file(&path).unwrap();
    assert_eq!(sweep.points.len(), 4);
    for i in 0..4 {
        let m = sweep.load_point(i).unwrap().model;
        assert_eq!(m.payments.price_discount, 0.1);
        let share = m.payments.blended.as_ref().unwrap().fee_share[0];
        assert_eq!(share, if i < 2 { 0.2 } else { 0.4 }, "point {i}");
    }
    let dir = tmp.path().join("out");
    ok(&["sweep", s(&path), "-n", "64", "-q", "--out", s(&dir)]);
    let (header, rows) = table(&dir);
    let column = header
        .iter()
        .position(|h| h == "payments.price_discount")
        .unwrap();
    assert!(rows.iter().all(|r| r[column] == "0.1"));
}
