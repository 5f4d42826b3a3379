//! Value stability: every command's outputs, byte for byte, at a fixed seed
//! and a small size, against files kept in `tests/golden/`.
//!
//! A change that alters a number must regenerate them on purpose
//! (`PBRSIM_BLESS=1 cargo test golden`) and say why in its commit. What is
//! compared: every file a command writes and what it prints on stdout, except
//! what records the build: a batch job's manifest and state files, and the
//! job fingerprint in a sweep's table (masked). A sweep's Parquet table is
//! checked against its CSV in CI (`tools/batch/check_tables.py`) and across
//! shard counts in `batch.rs`.

use std::path::{Path, PathBuf};
use std::process::Command;

/// One command and the files it writes into its output directory.
struct Case {
    name: &'static str,
    args: &'static [&'static str],
    files: &'static [&'static str],
}

const RUN_FILES: &[&str] = &[
    "summary.json",
    "figures.csv",
    "risk.csv",
    "allocation.csv",
    "monthly.csv",
    "distribution.csv",
    "draws.csv",
];

const SCENARIOS: &[&str] = &[
    "dfid_education_rba",
    "essex_edge_of_care",
    "minimal",
    "peterborough_sib",
    "supply_chain",
    "transforming_rehabilitation",
    "troubled_families",
    "work_programme",
];

fn analysis_cases() -> Vec<Case> {
    vec![
        Case {
            name: "compare",
            args: &[
                "compare",
                "scenarios/supply_chain.toml",
                "--set-b",
                "payments.price_discount=0.15",
                "-n",
                "200",
                "--seed",
                "11",
                "--out",
                "{out}",
            ],
            files: &["compare.csv"],
        },
        Case {
            name: "sweep",
            args: &[
                "sweep",
                "tests/golden/sweep3.toml",
                "-n",
                "130",
                "--seed",
                "5",
                "--out",
                "{out}",
                "--quiet",
            ],
            files: &["sweep.csv"],
        },
        Case {
            name: "stress",
            args: &[
                "stress",
                "stresses/programme_history.toml",
                "-n",
                "128",
                "--seed",
                "3",
                "--out",
                "{out}",
            ],
            files: &["stress.csv"],
        },
        Case {
            name: "sensitivity",
            args: &[
                "sensitivity",
                "scenarios/work_programme.toml",
                "--statistic",
                "prime.net",
                "--statistic",
                "commissioner.cost_per_attributable_outcome",
                "-n",
                "128",
                "--seed",
                "3",
                "--out",
                "{out}",
            ],
            files: &["tornado.csv", "sobol.csv"],
        },
        Case {
            name: "evidence",
            args: &[
                "evidence",
                "scenarios/supply_chain.toml",
                "-n",
                "128",
                "--seed",
                "3",
                "--out",
                "{out}",
            ],
            files: &["evidence.csv"],
        },
        Case {
            name: "solve",
            args: &[
                "solve",
                "scenarios/work_programme.toml",
                "--vary",
                "subcontractors.esa_charity.reserves",
                "--between",
                "0",
                "1000000",
                "--statistic",
                "esa_charity.failed",
                "--target",
                "0.05",
                "-n",
                "128",
                "--seed",
                "3",
                "--out",
                "{out}",
            ],
            files: &["solve.csv", "solve_path.csv"],
        },
        Case {
            name: "reverse_stress",
            args: &[
                "reverse-stress",
                "scenarios/work_programme.toml",
                "--party",
                "prime",
                "--probability",
                "0.2",
                "--direction",
                "uncertainty.cost*1.5",
                "-n",
                "128",
                "--seed",
                "3",
                "--out",
                "{out}",
            ],
            files: &["reverse_stress.csv", "failure_rules.csv"],
        },
        Case {
            // Pins the scrambled Sobol' points and the randomisations' errors.
            name: "sampling_sobol",
            args: &[
                "run",
                "scenarios/supply_chain.toml",
                "--sampling",
                "sobol",
                "--randomisations",
                "4",
                "-n",
                "256",
                "--seed",
                "5",
                "--out",
                "{out}",
            ],
            files: &["summary.json", "figures.csv", "risk.csv", "allocation.csv"],
        },
    ]
}

fn golden_dir(case: &str) -> PathBuf {
    Path::new("tests/golden").join(case)
}

fn bless() -> bool {
    std::env::var_os("PBRSIM_BLESS").is_some()
}

/// Runs `args` (with `{out}` replaced by a fresh directory) and compares
/// stdout and `files` with the golden copies, or writes them when blessing.
fn check(name: &str, args: &[&str], files: &[&str]) -> Vec<String> {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    let args: Vec<String> = args.iter().map(|a| a.replace("{out}", out)).collect();
    let output = Command::new(env!("CARGO_BIN_EXE_pbrsim"))
        .args(&args)
        .output()
        .expect("binary runs");
    assert!(
        output.status.success(),
        "{name}: pbrsim {}\n{}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    let mut produced: Vec<(String, Vec<u8>)> = vec![("stdout.txt".into(), output.stdout)];
    // A sweep's fingerprint covers the build (`pbrsim::SOURCE_HASH`).
    let fingerprint = std::fs::read_to_string(tmp.path().join("manifest.json"))
        .ok()
        .and_then(|m| {
            let m: serde_json::Value = serde_json::from_str(&m).ok()?;
            m["fingerprint"].as_str().map(String::from)
        });
    for f in files {
        let mut bytes = std::fs::read(tmp.path().join(f))
            .unwrap_or_else(|e| panic!("{name}: {f} not written: {e}"));
        if let Some(fp) = &fingerprint {
            let text = String::from_utf8(bytes).expect("a text file");
            bytes = text.replace(fp.as_str(), "<fingerprint>").into_bytes();
        }
        produced.push((f.to_string(), bytes));
    }
    let dir = golden_dir(name);
    let mut differences = Vec::new();
    for (file, bytes) in produced {
        let path = dir.join(&file);
        if bless() {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &bytes).unwrap();
            continue;
        }
        match std::fs::read(&path) {
            Ok(golden) if golden == bytes => {}
            Ok(golden) => differences.push(format!(
                "{}: differs ({} bytes, golden {}){}",
                path.display(),
                bytes.len(),
                golden.len(),
                first_difference(&golden, &bytes)
            )),
            Err(_) => differences.push(format!(
                "{}: no golden file (run with PBRSIM_BLESS=1)",
                path.display()
            )),
        }
    }
    differences
}

fn first_difference(golden: &[u8], new: &[u8]) -> String {
    let (g, n) = (
        String::from_utf8_lossy(golden),
        String::from_utf8_lossy(new),
    );
    for (i, (a, b)) in g.lines().zip(n.lines()).enumerate() {
        if a != b {
            return format!("\n  line {}:\n  golden: {a}\n  now:    {b}", i + 1);
        }
    }
    String::new()
}

#[test]
fn every_shipped_scenario_runs_to_the_golden_bytes() {
    let mut differences = Vec::new();
    for s in SCENARIOS {
        let scenario = format!("scenarios/{s}.toml");
        let args = [
            "run",
            scenario.as_str(),
            "-n",
            "300",
            "--seed",
            "7",
            "--draws",
            "--out",
            "{out}",
        ];
        differences.extend(check(&format!("run_{s}"), &args, RUN_FILES));
    }
    assert!(
        differences.is_empty(),
        "outputs changed:\n{}",
        differences.join("\n")
    );
}

#[test]
fn every_analysis_command_runs_to_the_golden_bytes() {
    let mut differences = Vec::new();
    for case in analysis_cases() {
        differences.extend(check(case.name, case.args, case.files));
    }
    assert!(
        differences.is_empty(),
        "outputs changed:\n{}",
        differences.join("\n")
    );
}

#[test]
fn every_shipped_scenario_has_a_golden_run() {
    let mut shipped: Vec<String> = std::fs::read_dir("scenarios")
        .unwrap()
        .filter_map(|e| e.ok()?.path().file_stem()?.to_str().map(String::from))
        .collect();
    shipped.sort();
    assert_eq!(
        shipped,
        SCENARIOS.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        "add the new scenario to SCENARIOS"
    );
}
