//! A mutation fuzzer over the three file formats (scenario, sweep, stress),
//! run as an ordinary test: each case takes a shipped file, mutates it
//! (numbers replaced by extreme values, keys deleted, duplicated or
//! misspelled, values retyped, tables removed, lines truncated) and runs the
//! real binary on it with a tiny iteration count and a time budget.
//!
//! Every input must end in one of three ways: success (exit 0) with
//! outputs holding no NaN or infinity and no negative money where money
//! cannot be negative; a bad-input error (exit 2) with nothing written; or
//! a run failure (exit 1) with nothing written by a run. Never a panic, an
//! abort or a hang.
//!
//! The back-testing CSV files (realised series, planned and actual
//! payments) are mutated cell by cell, line by line and byte by byte and
//! parsed in-process: periods or contracts, or errors at a line.
//!
//! `cargo test` runs a few dozen cases from a fixed seed, in seconds.
//! Before a release, run more cases from a new seed (see
//! `tests/fuzz_corpus/README.md`). An input that once failed is kept in
//! `tests/fuzz_corpus/` and replayed by [`the_corpus_replays_cleanly`].

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestRunner};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long one command may take before the input counts as a hang.
const BUDGET: Duration = Duration::from_secs(20);

/// Values a number is replaced with: bounds, signs, overflow of every
/// integer width, text that is not a number, and the sizes that exhaust
/// memory or time.
const EXTREMES: &[&str] = &[
    "0",
    "-1",
    "0.0",
    "-0.0",
    "1",
    "1e-300",
    "1e308",
    "-1e308",
    "1.7976931348623157e308",
    "nan",
    "inf",
    "-inf",
    "\"nan\"",
    "2147483648",
    "4294967296",
    "9223372036854775807",
    "-9223372036854775808",
    "99999999999999999999",
    "1e15",
    "9e14",
    "1e20",
    "1000000000",
    "100000",
];

/// Distributions a number may become (any plain numeric key may be one):
/// valid ones, ones reaching beyond a key's range, and broken ones.
const DISTRIBUTIONS: &[&str] = &[
    "{ dist = \"uniform\", min = 0, max = 2 }",
    "{ dist = \"uniform\", min = 0.1, max = 0.2 }",
    "{ dist = \"lognormal\", median = 1, sigma = 3 }",
    "{ dist = \"normal\", mean = 0.5, sd = 1 }",
    "{ dist = \"pert\", min = 0, mode = 0, max = 1e12 }",
    "{ dist = \"beta\", alpha = 0.001, beta = 0.001 }",
    "{ dist = \"uniform\", min = 0, max = 1, factor = \"nope\", loading = 2 }",
    "{ dist = \"triangular\", min = 1, mode = 0, max = 2 }",
    "{ dist = \"nope\" }",
];

/// One edit of a file's text; positions are taken modulo what exists.
#[derive(Clone, Debug)]
enum Mutation {
    /// The `n`th number becomes `EXTREMES[value]`.
    Number { n: usize, value: usize },
    /// The `n`th number becomes the distribution `DISTRIBUTIONS[value]`.
    Distribution { n: usize, value: usize },
    /// Line `n` is removed.
    DeleteLine { n: usize },
    /// Line `n` appears twice.
    DuplicateLine { n: usize },
    /// Two neighbouring letters of line `n`'s key swap places.
    Misspell { n: usize, at: usize },
    /// Line `n`'s value becomes a value of another type.
    Retype { n: usize, value: usize },
    /// The `n`th table (header to the next header) is removed.
    RemoveTable { n: usize },
    /// Line `n` is cut at `at` characters.
    Truncate { n: usize, at: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let i = 0..10_000usize;
    prop_oneof![
        4 => (i.clone(), 0..EXTREMES.len()).prop_map(|(n, value)| Mutation::Number { n, value }),
        2 => (i.clone(), 0..DISTRIBUTIONS.len()).prop_map(|(n, value)| Mutation::Distribution { n, value }),
        1 => i.clone().prop_map(|n| Mutation::DeleteLine { n }),
        1 => i.clone().prop_map(|n| Mutation::DuplicateLine { n }),
        1 => (i.clone(), 0..32usize).prop_map(|(n, at)| Mutation::Misspell { n, at }),
        1 => (i.clone(), 0..RETYPED.len()).prop_map(|(n, value)| Mutation::Retype { n, value }),
        1 => i.clone().prop_map(|n| Mutation::RemoveTable { n }),
        1 => (i, 0..80usize).prop_map(|(n, at)| Mutation::Truncate { n, at }),
    ]
}

const RETYPED: &[&str] = &[
    "\"text\"",
    "true",
    "[1, 2]",
    "{ a = 1 }",
    "[]",
    "1979-05-27",
];

/// The byte ranges of the numbers in `text` outside comments and strings
/// (close enough: a digit run, with sign, point and exponent).
fn numbers(text: &str) -> Vec<std::ops::Range<usize>> {
    let mut found = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let code = line.split('#').next().unwrap_or("");
        let b = code.as_bytes();
        let mut i = 0;
        let mut in_string = false;
        while i < b.len() {
            let c = b[i];
            if c == b'"' {
                in_string = !in_string;
            } else if !in_string
                && c.is_ascii_digit()
                && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_'))
            {
                let start = if i > 0 && b[i - 1] == b'-' { i - 1 } else { i };
                let mut j = i;
                while j < b.len()
                    && (b[j].is_ascii_digit()
                        || b[j] == b'.'
                        || b[j] == b'_'
                        || b[j] == b'e'
                        || b[j] == b'E'
                        || ((b[j] == b'-' || b[j] == b'+') && matches!(b[j - 1], b'e' | b'E')))
                {
                    j += 1;
                }
                found.push(offset + start..offset + j);
                i = j;
                continue;
            }
            i += 1;
        }
        offset += line.len();
    }
    found
}

/// `text` with `m` applied, and the line it touched.
fn apply(text: &str, m: &Mutation) -> (String, String) {
    let lines: Vec<&str> = text.lines().collect();
    let pick = |n: usize| n % lines.len().max(1);
    let join = |ls: Vec<String>| ls.join("\n") + "\n";
    let owned = || lines.iter().map(|l| l.to_string()).collect::<Vec<_>>();
    match *m {
        Mutation::Number { n, value } | Mutation::Distribution { n, value } => {
            let spans = numbers(text);
            if spans.is_empty() {
                return (text.to_string(), String::new());
            }
            let r = spans[n % spans.len()].clone();
            let mut t = text.to_string();
            let new = match m {
                Mutation::Number { .. } => EXTREMES[value],
                _ => DISTRIBUTIONS[value],
            };
            t.replace_range(r.clone(), new);
            let line_start = text[..r.start].rfind('\n').map_or(0, |p| p + 1);
            let line_end = t[line_start..]
                .find('\n')
                .map_or(t.len(), |p| line_start + p);
            let touched = t[line_start..line_end].to_string();
            (t, touched)
        }
        Mutation::DeleteLine { n } => {
            let mut ls = owned();
            let gone = ls.remove(pick(n));
            (join(ls), gone)
        }
        Mutation::DuplicateLine { n } => {
            let mut ls = owned();
            let k = pick(n);
            let line = ls[k].clone();
            ls.insert(k, line.clone());
            (join(ls), line)
        }
        Mutation::Misspell { n, at } => {
            let mut ls = owned();
            let k = pick(n);
            let key_len = ls[k].find('=').unwrap_or(0);
            if key_len >= 3 {
                let a = at % (key_len - 1);
                let mut chars: Vec<char> = ls[k].chars().collect();
                if a + 1 < chars.len() {
                    chars.swap(a, a + 1);
                }
                ls[k] = chars.into_iter().collect();
            }
            let line = ls[k].clone();
            (join(ls), line)
        }
        Mutation::Retype { n, value } => {
            let mut ls = owned();
            let k = pick(n);
            if let Some((key, _)) = ls[k].split_once('=') {
                ls[k] = format!("{key}= {}", RETYPED[value]);
            }
            let line = ls[k].clone();
            (join(ls), line)
        }
        Mutation::RemoveTable { n } => {
            let headers: Vec<usize> = (0..lines.len())
                .filter(|&i| lines[i].trim_start().starts_with('['))
                .collect();
            if headers.is_empty() {
                return (text.to_string(), String::new());
            }
            let start = headers[n % headers.len()];
            let end = headers
                .iter()
                .find(|&&h| h > start)
                .copied()
                .unwrap_or(lines.len());
            let mut ls = owned();
            let header = ls[start].clone();
            ls.drain(start..end);
            (join(ls), header)
        }
        Mutation::Truncate { n, at } => {
            let mut ls = owned();
            let k = pick(n);
            let cut: String = ls[k].chars().take(at).collect();
            ls[k] = cut.clone();
            (join(ls), cut)
        }
    }
}

/// A shipped file and the command that takes it.
struct Seed {
    kind: &'static str,
    dir: &'static str,
    name: String,
    text: String,
}

fn seeds() -> Vec<Seed> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut all = Vec::new();
    for (kind, dir) in [
        ("scenario", "scenarios"),
        ("sweep", "sweeps"),
        ("stress", "stresses"),
    ] {
        let mut names: Vec<PathBuf> = std::fs::read_dir(root.join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect();
        names.sort();
        for p in names {
            all.push(Seed {
                kind,
                dir,
                name: p.file_name().unwrap().to_string_lossy().into(),
                text: std::fs::read_to_string(&p).unwrap(),
            });
        }
    }
    all
}

/// What a command did: its exit code (`None`: killed by a signal or the
/// budget) and its stderr.
struct Ran {
    code: Option<i32>,
    stderr: String,
    hung: bool,
}

fn run(dir: &Path, args: &[&str]) -> Ran {
    let mut child = Command::new(env!("CARGO_BIN_EXE_pbrsim"))
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary runs");
    let start = Instant::now();
    let mut hung = false;
    while child.try_wait().expect("wait").is_none() {
        if start.elapsed() > BUDGET {
            child.kill().ok();
            hung = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let out = child.wait_with_output().expect("output");
    Ran {
        code: out.status.code(),
        stderr: String::from_utf8_lossy(&out.stderr).into(),
        hung,
    }
}

/// Figures that are sums of payments, costs or counts: never negative.
fn never_negative(figure: &str) -> bool {
    figure.starts_with("paid.")
        || matches!(
            figure,
            "revenue"
                | "cost"
                | "peak_funding_need"
                | "own_costs"
                | "co_funded"
                | "referrals"
                | "outcomes"
        )
}

/// What is wrong with a successful run's outputs, if anything.
fn check_outputs(out: &Path) -> Result<(), String> {
    let Ok(entries) = std::fs::read_dir(out) else {
        return Ok(());
    };
    for e in entries {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        if name.ends_with(".json") {
            let t = std::fs::read_to_string(&p).unwrap();
            if t.contains("NaN") || t.contains("Infinity") {
                return Err(format!("{name} holds a non-finite number"));
            }
        }
        if !name.ends_with(".csv") {
            continue;
        }
        let mut reader = csv::Reader::from_path(&p).map_err(|e| format!("{name}: {e}"))?;
        let headers = reader.headers().unwrap().clone();
        let col = |h: &str| headers.iter().position(|x| x == h);
        let (figure, min) = (col("figure"), col("min"));
        for row in reader.records() {
            let row = row.map_err(|e| format!("{name}: {e}"))?;
            for cell in row.iter() {
                let l = cell.to_ascii_lowercase();
                if l == "nan" || l == "inf" || l == "-inf" || l == "infinity" || l == "-infinity" {
                    return Err(format!("{name}: non-finite cell in {row:?}"));
                }
            }
            if let (true, Some(f), Some(m)) = (name == "figures.csv", figure, min) {
                let value: f64 = row[m].parse().unwrap_or(0.0);
                if never_negative(&row[f]) && value < 0.0 {
                    return Err(format!("{name}: negative {} in {row:?}", &row[f]));
                }
            }
        }
    }
    Ok(())
}

/// Runs one input file through the binary and checks how it ended.
fn check_case(kind: &str, dir: &Path, file: &str) -> Result<(), String> {
    let out = dir.join("out");
    let o = out.to_str().unwrap();
    let mut commands: Vec<Vec<&str>> = Vec::new();
    match kind {
        "scenario" => {
            commands.push(vec!["validate", file]);
            commands.push(vec!["run", file, "-n", "4", "-j", "1", "--out", o]);
        }
        "sweep" => commands.push(vec!["sweep", file, "-n", "4", "-j", "1", "--out", o]),
        _ => commands.push(vec!["stress", file, "-n", "8", "-j", "1", "--out", o]),
    }
    for args in commands {
        let _ = std::fs::remove_dir_all(&out);
        let r = run(dir, &args);
        let what = format!("{args:?}");
        if r.hung {
            return Err(format!("{what}: still running after {BUDGET:?}"));
        }
        if r.stderr.contains("panicked") || r.stderr.contains("memory allocation") {
            return Err(format!("{what}: crashed:\n{}", r.stderr));
        }
        match r.code {
            Some(0) => check_outputs(&out).map_err(|e| format!("{what}: {e}"))?,
            Some(2) => {
                // Located: the message names the file at fault (the input,
                // or the scenario a sweep or stress file names).
                let located = r.stderr.contains(".toml") || r.stderr.contains("cannot read ");
                if !r.stderr.starts_with("error:") || !located {
                    return Err(format!(
                        "{what}: exit 2 without a located error:\n{}",
                        r.stderr
                    ));
                }
                if out.exists() {
                    return Err(format!("{what}: bad input, yet {o} was written"));
                }
                return Ok(());
            }
            Some(1) => {
                if kind == "scenario" && out.exists() {
                    return Err(format!("{what}: failed run, yet {o} was written"));
                }
                return Ok(());
            }
            code => return Err(format!("{what}: exit {code:?}:\n{}", r.stderr)),
        }
    }
    Ok(())
}

/// Writes `text` as `seed`'s file in a fresh copy of the repository's
/// layout (so a sweep's `../scenarios/...` still resolves) and checks it.
fn check_text(seed: &Seed, text: &str) -> Result<(), String> {
    let tmp = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for d in ["scenarios", "sweeps", "stresses"] {
        if d != seed.dir {
            std::os::unix::fs::symlink(root.join(d), tmp.path().join(d)).unwrap();
        }
    }
    std::fs::create_dir(tmp.path().join(seed.dir)).unwrap();
    for e in std::fs::read_dir(root.join(seed.dir)).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, tmp.path().join(seed.dir).join(p.file_name().unwrap())).unwrap();
    }
    let file = format!("{}/{}", seed.dir, seed.name);
    std::fs::write(tmp.path().join(&file), text).unwrap();
    check_case(seed.kind, tmp.path(), &file)
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn mutated_input_files_end_in_a_result_or_a_located_error() {
    let seeds = seeds();
    let cases = env_number("PBRSIM_FUZZ_CASES", 24) as u32;
    let mut runner = TestRunner::new(Config {
        cases,
        rng_seed: RngSeed::Fixed(env_number("PBRSIM_FUZZ_SEED", 14)),
        failure_persistence: None,
        // A failing input is reported as found: shrinking would rerun the
        // binary hundreds of times.
        max_shrink_iters: 0,
        ..Config::default()
    });
    let strategy = (0..seeds.len(), prop::collection::vec(mutation(), 1..3));
    let result = runner.run(&strategy, |(s, mutations)| {
        let seed = &seeds[s];
        let mut text = seed.text.clone();
        let mut touched = Vec::new();
        for m in &mutations {
            let (t, line) = apply(&text, m);
            text = t;
            touched.push(line);
        }
        match check_text(seed, &text) {
            Ok(()) => Ok(()),
            Err(e) => Err(TestCaseError::fail(format!(
                "{} with {mutations:?} (touched {touched:?}): {e}\n--- input ---\n{text}",
                seed.name
            ))),
        }
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// The inputs in `dir` under `tests/fuzz_corpus/`, each named
/// `<kind>-<anything>.toml` (`scenario-`, `sweep-` or `stress-`).
fn corpus(dir: &str) -> Vec<(Seed, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz_corpus")
        .join(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&root)
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "toml"));
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            let (kind, dir) = match name.split('-').next().unwrap() {
                "sweep" => ("sweep", "sweeps"),
                "stress" => ("stress", "stresses"),
                _ => ("scenario", "scenarios"),
            };
            let text = std::fs::read_to_string(&p).unwrap();
            (
                Seed {
                    kind,
                    dir,
                    name: name.clone(),
                    text: text.clone(),
                },
                text,
            )
        })
        .collect()
}

fn replay(dir: &str) {
    let mut failures = Vec::new();
    for (seed, text) in corpus(dir) {
        if let Err(e) = check_text(&seed, &text) {
            failures.push(format!("{}: {e}", seed.name));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Inputs that once crashed, hung or lied, fixed since.
#[test]
fn the_corpus_replays_cleanly() {
    replay("fixed");
}

/// Field values a CSV cell is replaced with: months out of range or
/// malformed, extreme and non-numeric amounts, other currencies, unknown
/// series and segments, quotes and separators.
const CSV_CELLS: &[&str] = &[
    "",
    "0",
    "-1",
    "1e308",
    "nan",
    "inf",
    "99999999999999999999",
    "2019-00",
    "2019-13",
    "0000-01",
    "9999-12",
    "2019-1",
    "19-01",
    "2019/01",
    "GBP",
    "EUR",
    "payments",
    "referrals",
    "outcomes",
    "planned",
    "actual",
    "plan1",
    "a",
    "\"",
    "\"a,b\"",
    ",",
    "é",
    "1.5",
];

/// The realised-series and payments files, mutated cell by cell, line by
/// line and byte by byte: each parse ends in periods or contracts, or in
/// errors at a line; never a panic. What parses is sorted, and a realised
/// series has neither gaps nor overlaps.
#[test]
fn mutated_realised_and_payments_files_parse_or_fail_at_a_line() {
    let realised = "series,segment,period_start,period_end,currency,value
payments,,2019-01,2019-03,GBP,20460
payments,,2019-04,2019-06,GBP,0
referrals,a,2019-01,2019-03,,12
outcomes,,2019-01,2019-06,,3
";
    let payments = std::fs::read_to_string("backtests/impact_bonds/outcome_payments.csv")
        .unwrap()
        .lines()
        .take(40)
        .collect::<Vec<_>>()
        .join("\n");
    let mut runner = TestRunner::new(Config {
        cases: env_number("PBRSIM_FUZZ_CASES", 24) as u32 * 20,
        rng_seed: RngSeed::Fixed(env_number("PBRSIM_FUZZ_SEED", 14)),
        failure_persistence: None,
        ..Config::default()
    });
    let edit = (
        0usize..3,
        any::<prop::sample::Index>(),
        any::<prop::sample::Index>(),
        0..CSV_CELLS.len(),
    );
    let strategy = (any::<bool>(), prop::collection::vec(edit, 1..4));
    let result = runner.run(&strategy, |(which, edits)| {
        let mut lines: Vec<String> = if which { realised } else { payments.as_str() }
            .lines()
            .map(str::to_string)
            .collect();
        for (kind, line, at, cell) in &edits {
            let l = line.index(lines.len());
            match kind {
                0 => {
                    let mut cells: Vec<String> = lines[l].split(',').map(str::to_string).collect();
                    let c = at.index(cells.len());
                    cells[c] = CSV_CELLS[*cell].to_string();
                    lines[l] = cells.join(",");
                }
                1 => {
                    let copy = lines[l].clone();
                    lines.insert(at.index(lines.len() + 1), copy);
                }
                _ => {
                    let cut = at.index(lines[l].len() + 1);
                    let cut = (0..=cut)
                        .rev()
                        .find(|&i| lines[l].is_char_boundary(i))
                        .unwrap_or(0);
                    lines[l].truncate(cut);
                }
            }
        }
        let text = lines.join("\n");
        let outcome = std::panic::catch_unwind(|| {
            if which {
                match pbrsim::backtest::realised::parse(&text, "r.csv", "GBP", &["a", "b"]) {
                    Ok(periods) => {
                        for pair in periods.windows(2) {
                            let (a, b) = (&pair[0], &pair[1]);
                            if a.key == b.key && b.first != a.last + 1 {
                                return Err(format!("a gap or an overlap parsed: {a:?} {b:?}"));
                            }
                        }
                        Ok(())
                    }
                    Err(e) if e.0.iter().all(|p| p.line.is_some()) => Ok(()),
                    Err(e) => Err(format!("an error without a line: {e}")),
                }
            } else {
                match pbrsim::backtest::payments::parse(&text, "p.csv") {
                    Ok(_) => Ok(()),
                    Err(e) if e.0.iter().all(|p| p.line.is_some()) => Ok(()),
                    Err(e) => Err(format!("an error without a line: {e}")),
                }
            }
        });
        match outcome {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(TestCaseError::fail(format!("{e}\n--- input ---\n{text}"))),
            Err(_) => Err(TestCaseError::fail(format!("panicked on\n{text}"))),
        }
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}
