//! Malformed scenarios: each gets its specific error, exit code 2, no
//! panic, and no output left behind.

use std::path::Path;
use std::process::Command;

const GOOD: &str = r#"name = "good"
[time]
horizon_months = 36
referral_months = 12
[segments.jsa]
referrals_per_month = 50
[segments.jsa.sustained]
baseline_hazard = 0.03
window_months = 12
qualifying_months = 3
dropout = 0.05
max_sustainment_months = 6
[segments.jsa.tariff]
outcome = 1000
[segments.jsa.allocation]
prime = 0.6
tier1 = 0.4
[prime]
reserves = 1000000
[subcontractors.tier1]
reserves = 50000
pass_through = 0.8
"#;

fn pbrsim(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_pbrsim"))
        .args(args)
        .output()
        .expect("binary runs")
}

fn case(name: &str, contents: &[u8], expected: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(format!("{name}.toml"));
    std::fs::write(&file, contents).unwrap();
    let out_dir = dir.path().join("out");
    let out = pbrsim(&[
        "run",
        file.to_str().unwrap(),
        "-n",
        "10",
        "--out",
        out_dir.to_str().unwrap(),
        "--draws",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{name}: exit code; stderr:\n{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{name}: panic:\n{stderr}");
    for e in expected {
        assert!(stderr.contains(e), "{name}: expected `{e}` in:\n{stderr}");
    }
    assert!(
        !Path::new(&out_dir).exists(),
        "{name}: output directory was created"
    );
    // `validate` reports the same problem.
    let v = pbrsim(&["validate", file.to_str().unwrap()]);
    assert_eq!(v.status.code(), Some(2), "{name}: validate exit code");
}

fn edit(from: &str, to: &str) -> Vec<u8> {
    assert!(
        GOOD.contains(from),
        "test bug: `{from}` not in the base scenario"
    );
    GOOD.replacen(from, to, 1).into_bytes()
}

#[test]
fn the_base_scenario_is_valid() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("good.toml");
    std::fs::write(&file, GOOD).unwrap();
    let v = pbrsim(&["validate", file.to_str().unwrap()]);
    assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stderr));
}

#[test]
fn malformed_scenarios_get_specific_errors() {
    let table: Vec<(&str, Vec<u8>, Vec<&str>)> = vec![
        (
            "missing_key",
            edit("horizon_months = 36\n", ""),
            vec!["missing key `horizon_months`", "time.horizon_months"],
        ),
        (
            "wrong_type",
            edit("window_months = 12", "window_months = \"12\""),
            vec![
                "wrong type",
                "segments.jsa.sustained.window_months",
                ":9:17",
            ],
        ),
        (
            "probability_above_one",
            edit("dropout = 0.05", "dropout = 1.5"),
            vec![
                "must be a probability",
                "segments.jsa.sustained.dropout",
                ":11:11",
            ],
        ),
        (
            "shares_not_summing",
            edit("tier1 = 0.4", "tier1 = 0.3"),
            vec!["must sum to 1, got 0.9", "segments.jsa.allocation"],
        ),
        (
            "misspelled_key",
            edit("referrals_per_month", "referals_per_month"),
            vec![
                "unknown key `referals_per_month`",
                "did you mean `referrals_per_month`?",
                ":6:1",
            ],
        ),
        (
            "misspelled_provider",
            edit("tier1 = 0.4", "teir1 = 0.4"),
            vec!["`teir1` is not a provider", "did you mean `tier1`?"],
        ),
        (
            "unknown_distribution",
            edit(
                "referrals_per_month = 50",
                "referrals_per_month = 50\neffect = { dist = \"gaussian\", mean = 0.1, sd = 0.1 }",
            ),
            vec![
                "unknown distribution \"gaussian\"",
                "segments.jsa.effect.dist",
            ],
        ),
        (
            "negative_support",
            edit(
                "referrals_per_month = 50",
                "referrals_per_month = 50\neffect = { dist = \"normal\", mean = 0.1, sd = 1.0 }",
            ),
            vec!["must be at least -1", "truncate it"],
        ),
        (
            "toml_syntax",
            edit("prime = 0.6", "prime = = 0.6"),
            vec!["invalid TOML", ":16:"],
        ),
        (
            "empty_file",
            b"  \n\n".to_vec(),
            vec!["the scenario is empty"],
        ),
        (
            "binary_garbage",
            vec![
                0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x00, 0xff, 0xfe, 0x00, 0x13,
            ],
            vec!["not a UTF-8 text file"],
        ),
        ("nul_bytes", b"name = \"x\"\0\0".to_vec(), vec!["NUL bytes"]),
    ];
    for (name, contents, expected) in table {
        case(name, &contents, &expected);
    }
}

#[test]
fn every_problem_is_reported_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("two.toml");
    std::fs::write(
        &file,
        GOOD.replace("dropout = 0.05", "dropout = -0.1")
            .replace("reserves = 50000", "reserves = -5"),
    )
    .unwrap();
    let out = pbrsim(&["validate", file.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("segments.jsa.sustained.dropout")
            && stderr.contains("subcontractors.tier1.reserves"),
        "{stderr}"
    );
}

#[test]
fn bad_overrides_are_errors_naming_the_override() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("good.toml");
    std::fs::write(&file, GOOD).unwrap();
    let f = file.to_str().unwrap();
    let out = pbrsim(&[
        "validate",
        f,
        "--set",
        "segments.jsb.referrals_per_month=10",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr.contains("`jsb` does not exist") && stderr.contains("did you mean `jsa`?"),
        "{stderr}"
    );
    let out = pbrsim(&["validate", f, "--set", "segments.jsa.sustained.dropout=2"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--set segments.jsa.sustained.dropout=2")
            && stderr.contains("must be a probability"),
        "{stderr}"
    );
    let out = pbrsim(&["validate", f, "--set", "segments.jsa.tariff.outcom=5"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("did you mean `outcome`?"), "{stderr}");
    let out = pbrsim(&["run", "/nonexistent/scenario.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cannot read /nonexistent/scenario.toml")
    );
}

#[test]
fn a_refused_name_is_one_error() {
    // The rule's baseline value (3 reoffences per reoffender) suits its
    // measure; with the measure refused, nothing else may be blamed.
    let scenario = format!(
        "{}/scenarios/transforming_rehabilitation.toml",
        env!("CARGO_MANIFEST_DIR")
    );
    let cases = [
        (
            "payments.improvement[1].measure=proportion",
            "unknown measure \"proportion\"; expected one of binary, frequency, frequency_per_person_with_event",
        ),
        (
            "payments.improvement[1].comparison.kind=simulate",
            "did you mean `simulated`?",
        ),
        (
            "payments.price_year=events",
            "must be \"referral\" or \"event\", got \"events\"",
        ),
    ];
    for (set, expected) in cases {
        let out = pbrsim(&["validate", &scenario, "--set", set]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{set}: {stderr}");
        assert!(stderr.contains(expected), "{set}: {stderr}");
        assert_eq!(stderr.matches("error:").count(), 1, "{set}: {stderr}");
    }
}
