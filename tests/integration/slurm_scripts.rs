//! Generated Slurm scripts and printed commands under hostile names: file
//! names, directories and options holding quotes, `$(...)`, backticks and
//! `;` are quoted, so the scripts run exactly pbrsim and nothing else (a
//! canary file that an injected command would create never appears); a
//! newline or another control character is refused with exit code 2
//! before anything is written. The scripts run here under bash, with
//! `SLURM_ARRAY_TASK_ID` set as an array task would have it and a fake
//! `sbatch` on PATH.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Every shell trick in one name (no `/`, which a file name cannot hold).
const HOSTILE: &str = "h q'x\"$(touch canary1)`touch canary2`;touch canary3 &$HOME\\";

fn pbrsim_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pbrsim"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("binary runs")
}

fn bash(dir: &Path, path_dirs: &[&Path], args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut path = std::ffi::OsString::new();
    for d in path_dirs {
        path.push(d.as_os_str());
        path.push(":");
    }
    path.push(std::env::var_os("PATH").unwrap_or_default());
    Command::new("bash")
        .args(args)
        .current_dir(dir)
        .env("PATH", path)
        .envs(env.iter().copied())
        .output()
        .expect("bash runs")
}

fn ok(what: &str, out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{what}: {stderr}");
    stderr
}

/// Every file under `dir` whose name starts with `canary`.
fn canaries(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            found.extend(canaries(&p));
        } else if p
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("canary")
        {
            found.push(p);
        }
    }
    found
}

/// The text after `prefix` on a line of `stderr`.
fn printed(stderr: &str, prefix: &str) -> String {
    stderr
        .lines()
        .find_map(|l| l.split_once(prefix).map(|(_, rest)| rest.to_string()))
        .unwrap_or_else(|| panic!("no `{prefix}` in {stderr}"))
}

fn fake_sbatch(dir: &Path) -> PathBuf {
    let bin = dir.join("fakebin");
    std::fs::create_dir_all(&bin).unwrap();
    let sbatch = bin.join("sbatch");
    std::fs::write(
        &sbatch,
        "#!/bin/bash\nprintf '%s\\n' \"$@\" >> \"$SBATCH_LOG\"\necho 42\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&sbatch, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

#[test]
fn hostile_names_are_quoted_and_the_generated_scripts_run_only_pbrsim() {
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path().join(HOSTILE);
    std::fs::create_dir(&work).unwrap();
    let fakebin = fake_sbatch(tmp.path());
    let minimal = format!("{}/scenarios/minimal.toml", env!("CARGO_MANIFEST_DIR"));
    let scenario = format!("{HOSTILE}.toml");
    std::fs::copy(&minimal, work.join(&scenario)).unwrap();
    let sweep = format!("sweep {HOSTILE}.toml");
    std::fs::write(
        work.join(&sweep),
        format!(
            "scenario = {}\n[grid]\n\"payments.price_discount\" = [0.0, 0.1]\n",
            toml_escape(&scenario)
        ),
    )
    .unwrap();
    for (file, extra) in [
        (
            &scenario,
            vec!["--set", "name=\"n$(touch canary4)`touch canary5`\""],
        ),
        (&sweep, vec![]),
    ] {
        let out_dir = format!("out {file} $(touch canary6)");
        let mut args = vec![
            "slurm",
            file.as_str(),
            "--tasks",
            "2",
            "-n",
            "8",
            "--out",
            &out_dir,
            "--partition",
            "p;touch canary7",
            "--account",
            "a$(touch canary8)",
            "--time",
            "1:00`touch canary9`",
            "--mem",
            "1G' ; touch canary10 '",
        ];
        args.extend(extra);
        let stderr = ok("slurm", &pbrsim_in(&work, &args));
        let out = work.join(&out_dir);
        let log = tmp.path().join("sbatch.log");
        let _ = std::fs::remove_file(&log);
        // The printed submit command, as a user pastes it into a shell.
        let submit = printed(&stderr, "submit with: ");
        ok(
            "submit",
            &bash(
                &work,
                &[&fakebin],
                &["-c", &submit],
                &[("SBATCH_LOG", log.to_str().unwrap())],
            ),
        );
        let submitted = std::fs::read_to_string(&log).unwrap();
        let slurm_dir = out.join("slurm");
        for script in ["shards.sbatch", "merge.sbatch"] {
            let p = slurm_dir.join(script);
            assert!(
                submitted.lines().any(|l| Path::new(l) == p),
                "{script} not submitted: {submitted}"
            );
        }
        // Each array task, then the merge, as Slurm would start them.
        for task in ["0", "1"] {
            ok(
                "shard",
                &bash(
                    &work,
                    &[],
                    &[slurm_dir.join("shards.sbatch").to_str().unwrap()],
                    &[("SLURM_ARRAY_TASK_ID", task), ("SLURM_CPUS_PER_TASK", "1")],
                ),
            );
        }
        ok(
            "merge",
            &bash(
                &work,
                &[],
                &[slurm_dir.join("merge.sbatch").to_str().unwrap()],
                &[],
            ),
        );
        let merged = if file == &scenario {
            "summary.json"
        } else {
            "sweep.csv"
        };
        assert!(out.join(merged).exists(), "{file}: no {merged}");
    }
    // The `pbrsim merge` hint of a sharded run, pasted into a shell; the
    // merge names the missing shard's command, pasted in turn.
    let out_dir = format!("shards {HOSTILE}");
    let bin = Path::new(env!("CARGO_BIN_EXE_pbrsim")).parent().unwrap();
    let o = pbrsim_in(
        &work,
        &[
            "run",
            &scenario,
            "-n",
            "8",
            "--set",
            "name=\"n'$(touch canary11)\"",
            "--shard",
            "0/2",
            "--out",
            &out_dir,
        ],
    );
    let hint = printed(&ok("run --shard", &o), "shards are done: ");
    let merged = bash(&work, &[bin], &["-c", &hint], &[]);
    assert!(!merged.status.success());
    let missing = printed(
        &String::from_utf8_lossy(&merged.stderr),
        "rerun each with `",
    );
    let rerun = missing
        .split("` for I in")
        .next()
        .unwrap()
        .replace("--shard I/2", "--shard 1/2");
    ok("rerun", &bash(&work, &[bin], &["-c", &rerun], &[]));
    ok("merge hint", &bash(&work, &[bin], &["-c", &hint], &[]));
    assert!(work.join(&out_dir).join("summary.json").exists());
    assert_eq!(
        canaries(tmp.path()),
        Vec::<PathBuf>::new(),
        "an injected command ran"
    );
}

/// `s` as a TOML basic string.
fn toml_escape(s: &str) -> String {
    let mut t = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => t.push_str("\\\""),
            '\\' => t.push_str("\\\\"),
            c => t.push(c),
        }
    }
    t.push('"');
    t
}

#[test]
fn a_newline_or_control_character_in_a_script_value_is_refused_before_writing() {
    let tmp = tempfile::tempdir().unwrap();
    let minimal = format!("{}/scenarios/minimal.toml", env!("CARGO_MANIFEST_DIR"));
    let newline_name = "a\n#SBATCH --wrap=x\ntouch canary1\n.toml";
    std::fs::copy(&minimal, tmp.path().join(newline_name)).unwrap();
    std::fs::copy(&minimal, tmp.path().join("ok.toml")).unwrap();
    let base = ["--tasks", "2", "-n", "8"];
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["slurm", newline_name, "--out", "out"], "the file"),
        (
            vec!["slurm", "ok.toml", "--out", "out\ntouch canary2"],
            "--out",
        ),
        (
            vec![
                "slurm",
                "ok.toml",
                "--out",
                "out",
                "--partition",
                "p\ntouch canary3",
            ],
            "--partition",
        ),
        (
            vec![
                "slurm",
                "ok.toml",
                "--out",
                "out",
                "--account",
                "a\r\ntouch canary4",
            ],
            "--account",
        ),
        (
            vec![
                "slurm",
                "ok.toml",
                "--out",
                "out",
                "--time",
                "1:00\ntouch canary5",
            ],
            "--time",
        ),
        (
            vec!["slurm", "ok.toml", "--out", "out", "--mem", "1G\u{1b}[2J"],
            "--mem",
        ),
        (
            vec![
                "slurm",
                "ok.toml",
                "--out",
                "out",
                "--set",
                "name=\"\"\"a\ntouch canary6\"\"\"",
            ],
            "an argument",
        ),
    ];
    for (args, names) in cases {
        let mut all = args.clone();
        all.extend(base);
        let o = pbrsim_in(tmp.path(), &all);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{all:?}: {stderr}");
        assert!(
            stderr.contains(names) && stderr.contains("control character"),
            "{all:?}: {stderr}"
        );
        for entry in std::fs::read_dir(tmp.path()).unwrap() {
            let name = entry.unwrap().file_name();
            assert!(
                !name.to_string_lossy().starts_with("out"),
                "{all:?}: wrote {name:?}"
            );
        }
    }
    // A sharded run or sweep prints a merge command naming --out.
    let o = pbrsim_in(
        tmp.path(),
        &[
            "run", "ok.toml", "-n", "8", "--shard", "0/2", "--out", "out\nx",
        ],
    );
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(!tmp.path().join("out\nx").exists());
    assert_eq!(canaries(tmp.path()), Vec::<PathBuf>::new());
}

/// `pbrsim slurm` passes `--sampling sobol` to its array tasks: the tasks
/// and the merge, run as Slurm would start them, give the bytes of the
/// same sweep in one process. A design, which samples its candidates'
/// worlds independently, refuses it before writing anything.
#[test]
fn a_sweep_on_sobol_points_runs_on_slurm_as_in_one_process() {
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path();
    let sc = format!("{}/scenarios/supply_chain.toml", env!("CARGO_MANIFEST_DIR"));
    std::fs::write(
        work.join("sweep.toml"),
        format!(
            "scenario = {}\n[grid]\n\"payments.price_discount\" = [0.0, 0.1]\n",
            toml_escape(&sc)
        ),
    )
    .unwrap();
    let sobol = ["--sampling", "sobol", "--randomisations", "8"];
    let sizes = ["-n", "256", "-q"];
    ok(
        "one process",
        &pbrsim_in(
            work,
            &[
                &["sweep", "sweep.toml", "--out", "whole"][..],
                &sizes,
                &sobol,
            ]
            .concat(),
        ),
    );
    let args = [
        &["slurm", "sweep.toml", "--tasks", "2", "--out", "job"][..],
        &sizes,
        &sobol,
    ];
    ok("slurm", &pbrsim_in(work, &args.concat()));
    let slurm_dir = work.join("job").join("slurm");
    let bin = Path::new(env!("CARGO_BIN_EXE_pbrsim")).parent().unwrap();
    for task in ["1", "0"] {
        ok(
            "shard",
            &bash(
                work,
                &[bin],
                &[slurm_dir.join("shards.sbatch").to_str().unwrap()],
                &[("SLURM_ARRAY_TASK_ID", task), ("SLURM_CPUS_PER_TASK", "1")],
            ),
        );
    }
    ok(
        "merge",
        &bash(
            work,
            &[bin],
            &[slurm_dir.join("merge.sbatch").to_str().unwrap()],
            &[],
        ),
    );
    let read = |p: PathBuf| std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    assert!(
        read(work.join("job").join("sweep.csv")) == read(work.join("whole").join("sweep.csv")),
        "the Slurm job's sweep.csv differs from one process"
    );
    let design = format!(
        "{}/designs/work_programme_supply_chain.toml",
        env!("CARGO_MANIFEST_DIR")
    );
    let refused = pbrsim_in(
        work,
        &[
            &["slurm", &design, "--tasks", "2", "--out", "design"][..],
            &sobol,
        ]
        .concat(),
    );
    assert_eq!(refused.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("--sampling sobol"), "{stderr}");
    assert!(!work.join("design").exists(), "a refused job wrote files");
}
