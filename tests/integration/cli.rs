//! The command line as a user meets it.

use std::process::Command;

fn pbrsim(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_pbrsim"))
        .args(args)
        .output()
        .expect("binary runs")
}

#[test]
fn run_without_a_scenario_uses_the_embedded_work_programme() {
    let out = pbrsim(&["run", "-n", "64"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("Work Programme") && stdout.contains("cost per attributable outcome"),
        "{stdout}"
    );
    // Not a terminal: no progress bar drawn on stderr.
    assert!(!String::from_utf8_lossy(&out.stderr).contains("iterations ["));
}

#[test]
fn a_run_reported_on_the_terminal_alone_reports_what_a_run_writing_files_does() {
    // Without --out the run keeps no monthly distributions (nothing would
    // read them); the report must not notice.
    let dir = tempfile::tempdir().unwrap();
    let o = dir.path().join("res");
    let args = [
        "run",
        "scenarios/supply_chain.toml",
        "-n",
        "2500",
        "--seed",
        "3",
    ];
    let alone = pbrsim(&args);
    let with_files = pbrsim(&[&args[..], &["--out", o.to_str().unwrap()]].concat());
    assert!(alone.status.success() && with_files.status.success());
    assert!(o.join("monthly.csv").exists());
    assert!(String::from_utf8_lossy(&alone.stdout).contains("P(failure)"));
    assert_eq!(
        String::from_utf8_lossy(&alone.stdout),
        String::from_utf8_lossy(&with_files.stdout)
    );
}

#[test]
fn outputs_are_written_and_record_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("res");
    let o = out_dir.to_str().unwrap();
    let out = pbrsim(&[
        "run",
        "scenarios/work_programme.toml",
        "-n",
        "130",
        "--seed",
        "7",
        "--out",
        o,
        "--draws",
        "-q",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty());
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("summary.json")).unwrap())
            .unwrap();
    assert_eq!(summary["seed"], 7);
    assert_eq!(summary["iterations"], 130);
    assert_eq!(summary["scenario"]["hash"].as_str().unwrap().len(), 64);
    let draws = std::fs::read_to_string(out_dir.join("draws.csv")).unwrap();
    assert_eq!(draws.lines().count(), 131);
    assert!(
        draws
            .lines()
            .next()
            .unwrap()
            .starts_with("iteration,commissioner.revenue")
    );
    let figures = std::fs::read_to_string(out_dir.join("figures.csv")).unwrap();
    assert!(figures.starts_with(
        "party,figure,unit,n,mean,mean_se,sd,p5,p5_se,p50,p50_se,p95,p95_se,min,max,scenario_hash"
    ));
    for f in ["risk.csv", "allocation.csv"] {
        assert!(out_dir.join(f).exists(), "{f}");
    }
    let monthly = std::fs::read_to_string(out_dir.join("monthly.csv")).unwrap();
    assert!(
        monthly
            .lines()
            .nth(1)
            .unwrap()
            .starts_with("commissioner,0,cash_flow,")
    );
    let leftovers: Vec<_> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| !n.ends_with(".csv") && !n.ends_with(".json"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[test]
fn set_overrides_change_the_run_and_the_hash() {
    let base = pbrsim(&["run", "scenarios/work_programme.toml", "-n", "64"]);
    let less = pbrsim(&[
        "run",
        "scenarios/work_programme.toml",
        "-n",
        "64",
        "--set",
        "uncertainty.volume=0.5",
    ]);
    assert!(base.status.success() && less.status.success());
    let hash = |o: &std::process::Output| {
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .next()
            .unwrap()
            .to_string()
    };
    assert_ne!(hash(&base), hash(&less));
}

#[test]
fn validate_and_explain_describe_the_contract() {
    let mut files: Vec<String> = std::fs::read_dir("scenarios")
        .unwrap()
        .map(|e| e.unwrap().path().display().to_string())
        .filter(|p| p.ends_with(".toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 3);
    for f in &files {
        let f = f.as_str();
        let v = pbrsim(&["validate", f]);
        assert!(
            v.status.success(),
            "{f}: {}",
            String::from_utf8_lossy(&v.stderr)
        );
        let e = pbrsim(&["explain", f]);
        let text = String::from_utf8_lossy(&e.stdout);
        assert!(
            text.contains("Who pays whom") && text.contains("What is uncertain"),
            "{f}: {text}"
        );
    }
}

#[test]
fn help_teaches_the_commands() {
    let h = String::from_utf8_lossy(&pbrsim(&["--help"]).stdout).to_string();
    assert!(
        h.contains("run")
            && h.contains("validate")
            && h.contains("explain")
            && h.contains("Examples")
    );
    let h = String::from_utf8_lossy(&pbrsim(&["run", "--help"]).stdout).to_string();
    assert!(h.contains("--iterations") && h.contains("--set") && h.contains("summary.json"));
    for file in ["risk.csv", "allocation.csv", "monthly.csv"] {
        assert!(h.contains(file), "run --help: {file}");
    }
    // Only `run` has --precision.
    for command in [
        "compare",
        "sweep",
        "stress",
        "sensitivity",
        "evidence",
        "solve",
    ] {
        let h = String::from_utf8_lossy(&pbrsim(&[command, "--help"]).stdout).to_string();
        assert!(
            !h.contains("precision"),
            "{command} --help mentions --precision"
        );
    }
}

#[test]
fn compare_prints_paired_differences_and_writes_a_table() {
    let dir = tempfile::tempdir().unwrap();
    let out = pbrsim(&[
        "compare",
        "scenarios/supply_chain.toml",
        "--set-b",
        "payments.price_discount=0.15",
        "-n",
        "128",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("±se paired") && text.contains("prime.net"),
        "{text}"
    );
    let csv = std::fs::read_to_string(dir.path().join("compare.csv")).unwrap();
    assert!(
        csv.starts_with("figure,mean_a,se_a,mean_b,se_b,difference,difference_se,independent_se")
    );
}

#[test]
fn chosen_quantiles_become_columns() {
    let dir = tempfile::tempdir().unwrap();
    let out = pbrsim(&[
        "run",
        "scenarios/minimal.toml",
        "-n",
        "64",
        "-q",
        "--quantiles",
        "0.025,0.5,0.999",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let figures = std::fs::read_to_string(dir.path().join("figures.csv")).unwrap();
    assert!(
        figures.starts_with(
            "party,figure,unit,n,mean,mean_se,sd,p2_5,p2_5_se,p50,p50_se,p99_9,p99_9_se,min,max"
        ),
        "{}",
        figures.lines().next().unwrap()
    );
    let bad = pbrsim(&["run", "scenarios/minimal.toml", "--quantiles", "1.5"]);
    assert_eq!(bad.status.code(), Some(2));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains("a quantile must be in (0, 1), got 1.5") && !err.contains("risk level"),
        "{err}"
    );
    let bad = pbrsim(&[
        "sweep",
        "scenarios/minimal.toml",
        "--out",
        "x",
        "--risk-levels",
        "2",
    ]);
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("a risk level must be in (0, 1)"), "{err}");
}

#[test]
fn repeated_levels_are_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = out.to_str().unwrap();
    let cases: [(&[&str], &str); 5] = [
        (
            &["run", "scenarios/minimal.toml", "--quantiles", "0.5,0.5"],
            "both are column p50",
        ),
        // Different levels, one column name.
        (
            &[
                "run",
                "scenarios/minimal.toml",
                "--quantiles",
                "0.05,0.0501",
            ],
            "both are column p5",
        ),
        (
            &[
                "run",
                "scenarios/minimal.toml",
                "--risk-levels",
                "0.95,0.99,0.95",
            ],
            "given twice",
        ),
        (
            &["sweep", "scenarios/minimal.toml", "--quantiles", "0.1,0.1"],
            "both are column p10",
        ),
        (
            &[
                "slurm",
                "scenarios/minimal.toml",
                "--tasks",
                "2",
                "--risk-levels",
                "0.9,0.9",
            ],
            "given twice",
        ),
    ];
    for (args, expected) in cases {
        let mut all = args.to_vec();
        all.extend(["-n", "8", "--out", o]);
        let r = pbrsim(&all);
        let err = String::from_utf8_lossy(&r.stderr);
        assert_eq!(r.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(expected), "{args:?}: {err}");
        assert!(!out.exists(), "{args:?} wrote {o}");
    }
}

#[test]
fn thread_counts_are_capped() {
    let start = std::time::Instant::now();
    let r = pbrsim(&[
        "run",
        "scenarios/minimal.toml",
        "-n",
        "8",
        "--threads",
        "100000",
    ]);
    let err = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(2), "{err}");
    assert!(
        err.contains("at most 1024 worker threads, got 100000"),
        "{err}"
    );
    assert!(start.elapsed().as_secs() < 10);
    let r = pbrsim(&[
        "slurm",
        "scenarios/minimal.toml",
        "--tasks",
        "2",
        "--out",
        "x",
        "--cpus-per-task",
        "5000",
    ]);
    assert_eq!(r.status.code(), Some(2));
    let ok = pbrsim(&[
        "run",
        "scenarios/minimal.toml",
        "-n",
        "8",
        "-q",
        "--threads",
        "1024",
    ]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
}

#[test]
fn a_single_iteration_runs() {
    let out = pbrsim(&["run", "scenarios/minimal.toml", "-n", "1", "-q"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn without_a_terminal_progress_is_plain_lines_on_stderr() {
    // An interval of zero: a line at every update, and the time estimate.
    for args in [
        &["run", "scenarios/minimal.toml", "-n", "2000"][..],
        &["evidence", "scenarios/minimal.toml", "-n", "2000"][..],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_pbrsim"))
            .args(args)
            .env("PBRSIM_PROGRESS_SECONDS", "0")
            .output()
            .unwrap();
        assert!(out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.lines()
                .any(|l| l.starts_with("pbrsim: ") && l.contains("% (") && l.contains("left")),
            "{args:?}: {err}"
        );
        assert!(err.contains("this will take about"), "{args:?}: {err}");
        assert!(!err.contains('\u{1b}'), "no escape codes in a log: {err}");
        assert!(!out.stdout.is_empty());
    }
}

#[test]
fn quiet_means_no_progress_and_no_report_in_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let o = dir.path().to_str().unwrap();
    for args in [
        &["run", "scenarios/minimal.toml", "-n", "2000", "-q"][..],
        &[
            "-q",
            "run",
            "scenarios/minimal.toml",
            "-n",
            "2000",
            "--out",
            o,
        ][..],
        &["evidence", "scenarios/minimal.toml", "-n", "2000", "-q"][..],
        &["compare", "scenarios/minimal.toml", "-n", "64", "--quiet"][..],
        &["validate", "scenarios/minimal.toml", "-q"][..],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_pbrsim"))
            .args(args)
            .env("PBRSIM_PROGRESS_SECONDS", "0")
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
        // Only the files written, if any.
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.lines().all(|l| l.starts_with("wrote ")),
            "{args:?}: {err}"
        );
    }
    assert!(dir.path().join("summary.json").exists());
    let bad = pbrsim(&["validate", "no_such.toml", "-q"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("no_such.toml"));
}

#[test]
fn version_names_the_source_completions_and_man_page_are_printed() {
    let v = String::from_utf8_lossy(&pbrsim(&["--version"]).stdout).to_string();
    assert!(
        v.contains(pbrsim::VERSION) && v.contains(pbrsim::SOURCE_HASH),
        "{v}"
    );
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let c = pbrsim(&["completions", shell]);
        assert!(c.status.success(), "{shell}");
        let text = String::from_utf8_lossy(&c.stdout);
        assert!(text.contains("reverse-stress"), "{shell}: {text}");
    }
    let man = pbrsim(&["man"]);
    let page = String::from_utf8_lossy(&man.stdout);
    assert!(
        man.status.success() && page.contains(".TH pbrsim 1"),
        "{page}"
    );
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("man");
    assert!(
        pbrsim(&["man", "--out", out.to_str().unwrap()])
            .status
            .success()
    );
    for page in ["pbrsim.1", "pbrsim-run.1", "pbrsim-reverse-stress.1"] {
        assert!(out.join(page).exists(), "{page}");
    }
}

#[test]
fn an_unreachable_target_is_reported_written_and_exits_with_one() {
    let dir = tempfile::tempdir().unwrap();
    let out = pbrsim(&[
        "solve",
        "scenarios/work_programme.toml",
        "--vary",
        "subcontractors.esa_charity.reserves",
        "--between",
        "0",
        "1000",
        "--statistic",
        "esa_charity.failed",
        "--target",
        "0.001",
        "-n",
        "64",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("unreachable in range"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is unreachable"));
    let table = std::fs::read_to_string(dir.path().join("solve.csv")).unwrap();
    let row = table.lines().nth(1).unwrap();
    assert!(
        row.starts_with(
            "subcontractors.esa_charity.reserves,0,1000,esa_charity.failed,0.001,unreachable,"
        ),
        "{row}"
    );
}

/// `run --xlsx` and `pbrsim report DIR` write one workbook beside the
/// tables (its contents are checked against the CSVs by the Python tests,
/// with openpyxl); a directory without tables, or `--xlsx` without
/// `--out`, is refused with exit code 2 and nothing written.
#[test]
fn workbooks_are_written_from_a_results_directory() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let done = pbrsim(&["run", "-n", "64", "--out", out.to_str().unwrap(), "--xlsx"]);
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let book = std::fs::read(out.join("report.xlsx")).unwrap();
    assert_eq!(&book[..2], b"PK", "an xlsx file is a zip archive");
    std::fs::remove_file(out.join("report.xlsx")).unwrap();
    let again = pbrsim(&["report", out.to_str().unwrap()]);
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    // The same tables give the same workbook, byte for byte.
    assert_eq!(std::fs::read(out.join("report.xlsx")).unwrap(), book);

    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let refused = pbrsim(&["report", empty.to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("holds no pbrsim tables"));
    assert_eq!(std::fs::read_dir(&empty).unwrap().count(), 0);
    let without_out = pbrsim(&["run", "-n", "64", "--xlsx"]);
    assert_eq!(without_out.status.code(), Some(2));
}

#[test]
fn randomisations_without_sobol_sampling_is_refused() {
    let out = pbrsim(&["run", "-n", "64", "-q", "--randomisations", "8"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--randomisations") && err.contains("--sampling sobol"),
        "{err}"
    );
    let out = pbrsim(&[
        "run",
        "-n",
        "64",
        "-q",
        "--sampling",
        "sobol",
        "--randomisations",
        "8",
    ]);
    assert!(out.status.success());
}

#[test]
fn the_tornado_solve_and_reverse_stress_take_sobol_points_and_record_them() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let run = |args: &[&str]| {
        let o = pbrsim(args);
        assert!(
            o.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).to_string()
    };
    let sobol = [
        "-n",
        "128",
        "--sampling",
        "sobol",
        "--randomisations",
        "4",
        "-q",
    ];
    let last_columns = |file: &str| {
        let text = std::fs::read_to_string(dir.path().join(file)).unwrap();
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().unwrap().split(',').collect();
        let row: Vec<&str> = lines.next().unwrap().split(',').collect();
        let at = |name: &str| row[header.iter().position(|h| *h == name).unwrap()].to_string();
        (at("sampling"), at("randomisations"))
    };
    let analyses: [(&[&str], &str); 3] = [
        (&["sensitivity", "--method", "tornado"], "tornado.csv"),
        (
            &[
                "solve",
                "--vary",
                "subcontractors.partner_b.reserves",
                "--between",
                "0",
                "500000",
                "--statistic",
                "partner_b.failed",
                "--target",
                "0.3",
            ],
            "solve.csv",
        ),
        (
            &[
                "reverse-stress",
                "--party",
                "partner_b",
                "--probability",
                "0.5",
                "--direction",
                "uncertainty.cost*1.5",
            ],
            "reverse_stress.csv",
        ),
    ];
    for (command, table) in analyses {
        let mut args = vec![command[0], "scenarios/supply_chain.toml"];
        args.extend(&command[1..]);
        args.extend(["--out", out]);
        args.extend(sobol);
        run(&args);
        assert_eq!(last_columns(table), ("sobol".into(), "4".into()), "{table}");
    }
    // Sobol indices need independent replicates: refused before any work.
    let o = pbrsim(&[
        "sensitivity",
        "scenarios/supply_chain.toml",
        "-n",
        "64",
        "--sampling",
        "sobol",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--method tornado"));
    // Plain runs say so too.
    run(&[
        "stress",
        "stresses/programme_history.toml",
        "--only",
        "volume_15pct_short",
        "-n",
        "64",
        "-q",
        "--out",
        out,
    ]);
    assert_eq!(
        last_columns("stress.csv"),
        ("monte-carlo".into(), String::new())
    );
}
