//! Inputs at the edges of what the format allows: every size is bounded
//! before anything is allocated, money cannot overflow, and no
//! distribution can make a dependency panic or loop. Each command runs
//! under a time limit (and `validate` under a memory limit), so a hang or
//! a runaway allocation fails the test instead of stalling it.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

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

const ADVERSE: &str = r#"name = "adverse"
[time]
horizon_months = 36
referral_months = 12
[segments.offenders]
referrals_per_month = 50
[segments.offenders.adverse_events]
rate = 1.5
follow_up_months = 12
[segments.offenders.tariff]
attachment = 10
[segments.offenders.allocation]
prime = 1.0
[prime]
reserves = 1000000
"#;

/// The longest any command here may take.
const TIME_LIMIT: Duration = Duration::from_secs(60);

/// Runs `pbrsim args` (through `sh` when `memory_kib` sets a limit on its
/// address space), killing it after [`TIME_LIMIT`].
fn pbrsim_limited(args: &[&str], memory_kib: Option<u64>) -> Output {
    let bin = env!("CARGO_BIN_EXE_pbrsim");
    let mut cmd = match memory_kib {
        Some(kib) => {
            let mut c = Command::new("sh");
            c.arg("-c")
                .arg(format!("ulimit -v {kib} && exec \"$0\" \"$@\""))
                .arg(bin)
                .args(args);
            c
        }
        None => {
            let mut c = Command::new(bin);
            c.args(args);
            c
        }
    };
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary runs");
    let start = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if start.elapsed() > TIME_LIMIT {
            child.kill().ok();
            panic!(
                "`pbrsim {}` still running after {TIME_LIMIT:?}",
                args.join(" ")
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

fn edit(base: &str, from: &str, to: &str) -> String {
    assert!(
        base.contains(from),
        "test bug: `{from}` not in the scenario"
    );
    base.replacen(from, to, 1)
}

/// `validate` (within 1 GiB of address space) and `run` refuse `text`
/// with exit code 2, naming every string of `expected`, without a panic
/// and without output.
fn refused(name: &str, text: &str, expected: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(format!("{name}.toml"));
    std::fs::write(&file, text).unwrap();
    let file = file.to_str().unwrap();
    let v = pbrsim_limited(&["validate", file], Some(1 << 20));
    let stderr = String::from_utf8_lossy(&v.stderr);
    assert_eq!(
        v.status.code(),
        Some(2),
        "{name}: validate; stderr:\n{stderr}"
    );
    for e in expected {
        assert!(stderr.contains(e), "{name}: expected `{e}` in:\n{stderr}");
    }
    let out_dir = dir.path().join("out");
    let out = out_dir.to_str().unwrap();
    let r = pbrsim_limited(&["run", file, "-n", "64", "--out", out], None);
    let stderr = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(2), "{name}: run; stderr:\n{stderr}");
    assert!(!stderr.contains("panicked"), "{name}: panic:\n{stderr}");
    assert!(!Path::new(&out_dir).exists(), "{name}: output was written");
}

/// `run` of `text` either refuses it (exit 2) or runs it (exit 0), within
/// the time limit and without a panic; the exit code is returned.
fn refused_or_run(name: &str, text: &str) -> i32 {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(format!("{name}.toml"));
    std::fs::write(&file, text).unwrap();
    let out_dir = dir.path().join("out");
    let r = pbrsim_limited(
        &[
            "run",
            file.to_str().unwrap(),
            "-n",
            "64",
            "--out",
            out_dir.to_str().unwrap(),
        ],
        None,
    );
    let stderr = String::from_utf8_lossy(&r.stderr);
    assert!(!stderr.contains("panicked"), "{name}: panic:\n{stderr}");
    let code = r.status.code().unwrap_or(-1);
    assert!(
        code == 0 || code == 2,
        "{name}: exit {code}; stderr:\n{stderr}"
    );
    code
}

const HUGE: &str = "4000000000";

#[test]
fn every_month_count_and_lag_is_bounded_before_anything_is_allocated() {
    let too_long = "must be between";
    let cases = [
        (
            "horizon",
            GOOD,
            "horizon_months = 36",
            "time.horizon_months",
        ),
        (
            "referral_months",
            GOOD,
            "referral_months = 12",
            "time.referral_months",
        ),
        (
            "window",
            GOOD,
            "window_months = 12",
            "segments.jsa.sustained.window_months",
        ),
        (
            "qualifying",
            GOOD,
            "qualifying_months = 3",
            "segments.jsa.sustained.qualifying_months",
        ),
        (
            "sustainment",
            GOOD,
            "max_sustainment_months = 6",
            "segments.jsa.sustained.max_sustainment_months",
        ),
        (
            "follow_up",
            ADVERSE,
            "follow_up_months = 12",
            "segments.offenders.adverse_events.follow_up_months",
        ),
    ];
    for (name, base, from, key) in cases {
        let (k, _) = from.split_once(" = ").unwrap();
        let text = edit(base, from, &format!("{k} = {HUGE}"));
        refused(name, &text, &[key, too_long]);
    }
    let added = [
        (
            "savings",
            GOOD,
            "referrals_per_month = 50",
            "savings_months",
            "segments.jsa.savings_months",
        ),
        (
            "service",
            ADVERSE,
            "follow_up_months = 12",
            "service_months",
            "segments.offenders.adverse_events.service_months",
        ),
        ("lag", GOOD, "[prime]", "lag", "payments.lag_months.outcome"),
    ];
    for (name, base, after, what, key) in added {
        let line = match what {
            "lag" => format!("[payments.lag_months]\noutcome = {HUGE}\n{after}"),
            _ => format!("{after}\n{what} = {HUGE}"),
        };
        refused(name, &edit(base, after, &line), &[key, too_long]);
    }
}

#[test]
fn a_shock_cannot_set_a_size_beyond_its_bound() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("good.toml");
    std::fs::write(&scenario, GOOD).unwrap();
    let stresses = dir.path().join("stresses.toml");
    std::fs::write(
        &stresses,
        format!(
            "[[stress]]\nname = \"long\"\nshocks = [\n  {{ path = \"segments.jsa.sustained.window_months\", set = {HUGE} }},\n]\n"
        ),
    )
    .unwrap();
    let out = dir.path().join("out");
    let r = pbrsim_limited(
        &[
            "stress",
            stresses.to_str().unwrap(),
            "--scenario",
            scenario.to_str().unwrap(),
            "-n",
            "64",
            "--out",
            out.to_str().unwrap(),
        ],
        Some(1 << 21),
    );
    let stderr = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(2), "stderr:\n{stderr}");
    assert!(stderr.contains("window_months"), "{stderr}");
}

#[test]
fn money_that_could_overflow_is_refused_with_the_reason() {
    let cases = [
        (
            "tariff_9e14",
            edit(GOOD, "outcome = 1000", "outcome = 9e14"),
            "segments.jsa.tariff.outcome",
        ),
        (
            "tariff_1e300",
            edit(GOOD, "outcome = 1000", "outcome = 1e300"),
            "segments.jsa.tariff.outcome",
        ),
        (
            "fixed_referrals_1e15",
            edit(
                GOOD,
                "referrals_per_month = 50",
                "referrals_per_month = 1e15\nreferral_process = \"fixed\"",
            ),
            "segments.jsa.referrals_per_month",
        ),
        (
            "poisson_mean_1e20",
            edit(
                GOOD,
                "referrals_per_month = 50",
                "referrals_per_month = 1e20",
            ),
            "segments.jsa.referrals_per_month",
        ),
        (
            "wide_lognormal_volume",
            edit(
                GOOD,
                "[segments.jsa]",
                "[uncertainty]\nvolume = { dist = \"lognormal\", median = 1, sigma = 5 }\n[segments.jsa]",
            ),
            "uncertainty.volume",
        ),
    ];
    for (name, text, key) in &cases {
        refused(name, text, &[key]);
    }
}

#[test]
fn extreme_beta_and_pert_shapes_are_refused_or_drawn_never_panic_or_hang() {
    let effect = |dist: &str| {
        edit(
            GOOD,
            "referrals_per_month = 50",
            &format!("referrals_per_month = 50\neffect = {dist}"),
        )
    };
    let cases = [
        (
            "pert_max_1e308",
            "{ dist = \"pert\", min = 0, mode = 0.1, max = 1e308 }",
        ),
        (
            "beta_shape_1e7",
            "{ dist = \"beta\", alpha = 1e7, beta = 2 }",
        ),
        (
            "beta_shapes_1e7",
            "{ dist = \"beta\", alpha = 1e7, beta = 1e7 }",
        ),
        (
            "beta_tiny_shape",
            "{ dist = \"beta\", alpha = 1e-7, beta = 3 }",
        ),
        (
            "pert_lambda_1e9",
            "{ dist = \"pert\", min = 0, mode = 0.1, max = 1, lambda = 1e9 }",
        ),
    ];
    for (name, dist) in cases {
        refused_or_run(name, &effect(dist));
    }
    // The extremes that are refused say why, at the key.
    refused(
        "beta_shape_1e7_validate",
        &effect("{ dist = \"beta\", alpha = 1e7, beta = 2 }"),
        &["segments.jsa.effect"],
    );
    refused(
        "pert_max_1e308_validate",
        &effect("{ dist = \"pert\", min = 0, mode = 0.1, max = 1e308 }"),
        &["segments.jsa.effect"],
    );
}

#[test]
fn a_run_beyond_the_memory_limit_is_refused_naming_its_sizes() {
    // A hundred parties' monthly cash distributions over a hundred years.
    let mut text = edit(GOOD, "horizon_months = 36", "horizon_months = 1200");
    for i in 0..100 {
        text += &format!("[subcontractors.s{i}]\nreserves = 1\n");
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("large.toml");
    std::fs::write(&file, &text).unwrap();
    let out = dir.path().join("out");
    let args = [
        "run",
        file.to_str().unwrap(),
        "-n",
        "1000000",
        "-j",
        "2",
        "--out",
        out.to_str().unwrap(),
    ];
    let r = pbrsim_limited(&args, None);
    let stderr = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(2), "stderr:\n{stderr}");
    for e in ["GiB of memory", "horizon_months 1200", "--allow-large"] {
        assert!(stderr.contains(e), "expected `{e}` in:\n{stderr}");
    }
    assert!(!out.exists(), "output was written");
}

/// Many delivery groups with long windows over a hundred years: one
/// iteration is far beyond the work limit.
fn heavy_scenario() -> String {
    let mut text = String::from(
        "name = \"heavy\"\n[time]\nhorizon_months = 1200\nreferral_months = 1200\n[prime]\nreserves = 1000000\n",
    );
    let providers: Vec<String> = (0..20).map(|i| format!("s{i}")).collect();
    for p in &providers {
        text += &format!("[subcontractors.{p}]\nreserves = 1\n");
    }
    for s in 0..18 {
        text += &format!(
            "[segments.g{s}]\nreferrals_per_month = 1\n[segments.g{s}.sustained]\nbaseline_hazard = 0.01\nwindow_months = 1200\nqualifying_months = 1\ndropout = 0.1\nmax_sustainment_months = 1\n[segments.g{s}.tariff]\noutcome = 1\n[segments.g{s}.allocation]\nprime = 0.16\n"
        );
        for p in &providers {
            text += &format!("{p} = 0.042\n");
        }
    }
    text
}

#[test]
fn every_command_that_simulates_refuses_an_iteration_beyond_the_work_limit() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("heavy.toml");
    std::fs::write(&file, heavy_scenario()).unwrap();
    let f = file.to_str().unwrap();
    let out = dir.path().join("out");
    let o = out.to_str().unwrap();
    let stress = dir.path().join("stress.toml");
    std::fs::write(
        &stress,
        "scenario = \"heavy.toml\"\n[[stress]]\nname = \"half\"\nshocks = [{ path = \"prime.reserves\", multiply = 0.5 }]\n",
    )
    .unwrap();
    let commands: [Vec<&str>; 4] = [
        vec!["run", f, "-n", "64"],
        vec!["compare", f, "-n", "64"],
        vec!["sweep", f, "-n", "64", "--out", o],
        vec!["stress", stress.to_str().unwrap(), "-n", "64"],
    ];
    for args in commands {
        let r = pbrsim_limited(&args, None);
        let stderr = String::from_utf8_lossy(&r.stderr);
        assert_eq!(r.status.code(), Some(2), "{args:?}: stderr:\n{stderr}");
        assert!(
            stderr.contains("cohort-months") && stderr.contains("--allow-large"),
            "{args:?}:\n{stderr}"
        );
    }
    assert!(
        !out.join("sweep.csv").exists(),
        "a refused sweep wrote its table"
    );
}
