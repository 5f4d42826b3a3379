//! Input files that are not what they seem: a device, a FIFO, a directory,
//! a file too large to be a scenario. Each is refused with exit code 2
//! before it is read (so within seconds, and without growing memory),
//! whether it is given as a scenario, a sweep or a stress file; a UTF-8
//! byte-order mark is accepted.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Runs the binary, killing it after `limit` (then `None`): reading
/// `/dev/zero` whole would otherwise run until memory is gone.
fn pbrsim_within(args: &[&str], limit: Duration) -> Option<Output> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_pbrsim"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary runs");
    let start = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if start.elapsed() > limit {
            child.kill().ok();
            child.wait().ok();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Some(child.wait_with_output().expect("output"))
}

fn refused(args: &[&str], expected: &str) {
    let out = pbrsim_within(args, Duration::from_secs(20))
        .unwrap_or_else(|| panic!("{args:?}: still running after 20 s"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    assert!(
        stderr.contains(expected),
        "{args:?}: expected `{expected}` in {stderr}"
    );
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn devices_fifos_directories_and_huge_files_are_refused_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo.toml");
    let made = Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    let huge = dir.path().join("huge.toml");
    // Sparse: 17 MiB of nothing, over the 16 MiB limit.
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(17 << 20)
        .unwrap();
    let out = dir.path().join("out");
    let cases = [
        ("/dev/zero", "not a regular file"),
        (s(&fifo), "not a regular file"),
        (s(dir.path()), "not a regular file (a directory)"),
        (s(&huge), "larger than 16 MiB"),
    ];
    for (file, expected) in cases {
        refused(&["validate", file], expected);
        refused(&["run", file, "-n", "2"], expected);
        refused(&["sweep", file, "--out", s(&out)], expected);
        refused(&["stress", file, "-n", "2", "--out", s(&out)], expected);
        refused(&["slurm", file, "--tasks", "2", "--out", s(&out)], expected);
    }
    assert!(!out.exists(), "nothing is written after a refused file");

    // A sweep or stress file naming such a file as its scenario.
    let sweep = dir.path().join("sweep.toml");
    std::fs::write(
        &sweep,
        "scenario = \"/dev/zero\"\n[grid]\n\"payments.price_discount\" = [0.0, 0.1]\n",
    )
    .unwrap();
    refused(
        &["sweep", s(&sweep), "--out", s(&out)],
        "not a regular file",
    );
    let stress = dir.path().join("stress.toml");
    std::fs::write(
        &stress,
        "scenario = \"/dev/zero\"\n[[stress]]\nname = \"x\"\nshocks = [{ path = \"uncertainty.cost\", multiply = 1.1 }]\n",
    )
    .unwrap();
    refused(
        &["stress", s(&stress), "-n", "2", "--out", s(&out)],
        "not a regular file",
    );
    assert!(!out.exists(), "nothing is written after a refused file");
}

#[test]
fn a_utf8_byte_order_mark_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bom.toml");
    let text = std::fs::read_to_string(format!(
        "{}/scenarios/minimal.toml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    std::fs::write(&file, format!("\u{feff}{text}")).unwrap();
    let out = pbrsim_within(&["validate", s(&file)], Duration::from_secs(20)).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
