//! Batch runs: sweeps of many points, runs split into shards, resuming,
//! and merging shards back into the single-machine result.
//!
//! A job (a run, or a sweep of points) is described once by its
//! [`Manifest`], written to `DIR/manifest.json` by whichever process starts
//! first and checked by every other. Work is done in units of one block of
//! one point ([`shard`]); a process writes, each atomically, into
//! `DIR/state/`:
//! - `point-PPPPPP.bin`: a finished point of a sweep (its figure rows);
//! - `point-PPPPPP.blocks-AAAAAAAA-BBBBBBBB.bin`: the summary of blocks
//!   `A..B` of a point (a point split across shards, or a run).
//!
//! A rerun skips every file already there, so an interrupted job resumes
//! without losing or repeating work. [`merge`] checks that the files tile
//! every point exactly and come from this job, merges split points (every
//! statistic merges exactly, in any order) and writes the outputs:
//! bit-identical to one process.
//!
//! **Invariant:** results depend on (manifest, seed, iterations) only:
//! never on the number of shards, threads, or interruptions.

pub mod shard;
pub mod slurm;
pub mod sweep;
pub mod table;

use crate::engine::{self, BLOCK, RunConfig, blocks_of};
use crate::error::Error;
use crate::output::{RunInfo, write_atomic};
use crate::scenario::Source;
use crate::scenario::{self, Override};
use serde::{Deserialize, Serialize};
use shard::Shard;
use std::path::{Path, PathBuf};
use sweep::{Design, Sweep};

/// Version of the state-file layout; part of every fingerprint.
const FORMAT: u32 = 3;
/// First bytes of every state file.
const MAGIC: &[u8; 8] = b"PBRSIM\x00\x01";

/// Whether a job is one run split into shards or a sweep of points.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// One scenario, its iterations split across shards.
    Run,
    /// Many points, each a scenario with values.
    Sweep,
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Kind::Run => "run",
            Kind::Sweep => "sweep",
        })
    }
}

/// What a job is: everything that determines its results.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// A run or a sweep.
    pub kind: Kind,
    /// pbrsim version that wrote it.
    pub pbrsim_version: String,
    /// Hash of the source of the build that wrote it ([`crate::SOURCE_HASH`]).
    pub pbrsim_source: String,
    /// SHA-256 of everything below except `shards`.
    pub fingerprint: String,
    /// Seed of every point.
    pub seed: u64,
    /// Iterations of every point.
    pub iterations: u64,
    /// Quantile levels reported.
    pub quantiles: Vec<f64>,
    /// VaR / expected shortfall levels reported.
    pub risk_levels: Vec<f64>,
    /// How the parameter level is sampled.
    #[serde(default)]
    pub sampling: crate::engine::Sampling,
    /// Into how many shards the job is split.
    pub shards: u64,
    /// The sweep file, or the scenario of a run.
    pub origin: String,
    /// How the points were chosen (`run` for a run).
    pub design: Design,
    /// Parameter paths (a run: its `--set` paths).
    pub parameters: Vec<String>,
    /// The scenarios, with their text, so that merging needs no other file.
    pub scenarios: Vec<Source>,
    /// Per point: scenario index and each parameter's value as TOML text.
    pub points: Vec<(usize, Vec<String>)>,
}

/// How to run a job.
#[derive(Clone, Debug)]
pub struct Options {
    /// Iterations per point.
    pub iterations: u64,
    /// Seed.
    pub seed: u64,
    /// Worker threads (0 = all cores).
    pub threads: usize,
    /// Quantile levels.
    pub quantiles: Vec<f64>,
    /// VaR / ES levels.
    pub risk_levels: Vec<f64>,
    /// How the parameter level is sampled.
    pub sampling: crate::engine::Sampling,
}

impl Manifest {
    /// A manifest for `options` and `shards`, the job's fields empty.
    fn empty(kind: Kind, design: Design, options: &Options, shards: u64) -> Manifest {
        Manifest {
            kind,
            pbrsim_version: crate::VERSION.into(),
            pbrsim_source: crate::SOURCE_HASH.into(),
            fingerprint: String::new(),
            seed: options.seed,
            iterations: options.iterations,
            quantiles: options.quantiles.clone(),
            risk_levels: options.risk_levels.clone(),
            sampling: options.sampling,
            shards,
            origin: String::new(),
            design,
            parameters: vec![],
            scenarios: vec![],
            points: vec![],
        }
    }

    fn sealed(mut self) -> Manifest {
        self.fingerprint = self.compute_fingerprint();
        self
    }

    /// The manifest of a sweep.
    pub fn of_sweep(sweep: &Sweep, options: &Options, shards: u64) -> Manifest {
        Manifest {
            origin: sweep.origin.clone(),
            // The fixed terms are columns too, the same at every point.
            parameters: (sweep.fixed.iter().map(|o| o.path.clone()))
                .chain(sweep.parameters.iter().cloned())
                .collect(),
            scenarios: sweep.scenarios.clone(),
            points: (0..sweep.points.len())
                .map(|i| {
                    let values = sweep.point_overrides(i).into_iter().map(|o| o.value);
                    (sweep.points[i].scenario, values.collect())
                })
                .collect(),
            ..Manifest::empty(Kind::Sweep, sweep.design, options, shards)
        }
        .sealed()
    }

    /// The manifest of a single run of `scenario` with `--set` overrides.
    pub fn of_run(
        scenario: Source,
        overrides: &[Override],
        options: &Options,
        shards: u64,
    ) -> Manifest {
        Manifest {
            origin: scenario.origin.clone(),
            parameters: overrides.iter().map(|o| o.path.clone()).collect(),
            scenarios: vec![scenario],
            points: vec![(0, overrides.iter().map(|o| o.value.clone()).collect())],
            ..Manifest::empty(Kind::Run, Design::Run, options, shards)
        }
        .sealed()
    }

    /// SHA-256 of everything that determines the results (not `shards`).
    pub fn compute_fingerprint(&self) -> String {
        use sha2::{Digest, Sha256};
        let identity = serde_json::json!([
            FORMAT,
            self.kind,
            self.pbrsim_version,
            self.pbrsim_source,
            self.seed,
            self.iterations,
            self.quantiles,
            self.risk_levels,
            self.sampling,
            self.origin,
            self.design,
            self.parameters,
            self.scenarios,
            self.points
        ]);
        Sha256::digest(identity.to_string().as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Point `i`'s overrides.
    pub fn overrides(&self, i: usize) -> Vec<Override> {
        self.parameters
            .iter()
            .zip(&self.points[i].1)
            .map(|(p, v)| Override {
                path: p.clone(),
                value: v.clone(),
            })
            .collect()
    }

    /// Loads point `i`'s model.
    pub fn load_point(&self, i: usize) -> Result<scenario::Loaded, Error> {
        let s = &self.scenarios[self.points[i].0];
        Ok(scenario::load_str(&s.text, &s.origin, &self.overrides(i))?)
    }

    /// Blocks per point.
    pub fn blocks(&self) -> u64 {
        blocks_of(self.iterations)
    }

    /// Work units (point-blocks) of the whole job.
    pub fn units(&self) -> u64 {
        self.points.len() as u64 * self.blocks()
    }

    fn run_config(&self, threads: usize) -> RunConfig {
        RunConfig {
            iterations: self.iterations,
            seed: self.seed,
            threads,
            skip_monthly: self.kind == Kind::Sweep,
            sampling: self.sampling,
            ..Default::default()
        }
    }

    fn run_info(&self, loaded: &scenario::Loaded) -> RunInfo {
        // The version is this build's: shards of other builds are refused.
        let overrides = self.overrides(0);
        RunInfo::new(
            loaded,
            &overrides,
            self.seed,
            self.iterations,
            &self.quantiles,
            &self.risk_levels,
        )
    }

    /// How `other` (found in a directory) differs from this one, in words.
    fn differences(&self, other: &Manifest) -> Vec<String> {
        let mut d = Vec::new();
        if self.pbrsim_version != other.pbrsim_version {
            d.push(format!(
                "pbrsim version {} there, {} here",
                other.pbrsim_version, self.pbrsim_version
            ));
        } else if self.pbrsim_source != other.pbrsim_source {
            d.push(format!(
                "another build of pbrsim {} (source {} there, {} here)",
                self.pbrsim_version, other.pbrsim_source, self.pbrsim_source
            ));
        }
        if self.kind != other.kind {
            d.push(format!("a {} there, a {} here", other.kind, self.kind));
        }
        if self.seed != other.seed {
            d.push(format!("seed {} there, {} here", other.seed, self.seed));
        }
        if self.iterations != other.iterations {
            d.push(format!(
                "{} iterations there, {} here",
                other.iterations, self.iterations
            ));
        }
        let texts = |m: &Manifest| {
            m.scenarios
                .iter()
                .map(|s| s.text.clone())
                .collect::<Vec<_>>()
        };
        if texts(self) == texts(other)
            && self.scenarios != other.scenarios
            && self.parameters == other.parameters
            && self.points == other.points
        {
            let names = |m: &Manifest| {
                m.scenarios
                    .iter()
                    .map(|s| s.origin.clone())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            d.push(format!("the same scenario text under another path ({} there, {} here): give the file exactly as the first time", names(other), names(self)));
        } else if self.scenarios != other.scenarios
            || self.parameters != other.parameters
            || self.points != other.points
            || self.design != other.design
        {
            d.push("a different scenario or sweep".into());
        }
        if self.quantiles != other.quantiles || self.risk_levels != other.risk_levels {
            d.push("different --quantiles or --risk-levels".into());
        }
        if d.is_empty() && self.fingerprint != other.fingerprint {
            d.push("a different fingerprint".into());
        }
        d
    }
}

/// A finished sweep point: one row per figure.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FigureRow {
    /// Party id.
    pub party: String,
    /// Figure name.
    pub figure: String,
    /// Unit (`money`, `probability`, ..., `ratio`).
    pub unit: String,
    /// Values counted.
    pub n: u64,
    /// In [`table::stat_columns`] order; NaN when undefined.
    pub values: Vec<f64>,
}

#[derive(Serialize, Deserialize)]
struct PointFile {
    fingerprint: String,
    point: usize,
    rows: Vec<FigureRow>,
}

#[derive(Serialize, Deserialize)]
struct PartFile {
    fingerprint: String,
    point: usize,
    blocks: (u64, u64),
    summary: engine::Summary,
}

fn state_dir(dir: &Path) -> PathBuf {
    dir.join("state")
}

fn point_path(dir: &Path, p: usize) -> PathBuf {
    state_dir(dir).join(format!("point-{p:06}.bin"))
}

fn part_path(dir: &Path, p: usize, blocks: &std::ops::Range<u64>) -> PathBuf {
    state_dir(dir).join(format!(
        "point-{p:06}.blocks-{:08}-{:08}.bin",
        blocks.start, blocks.end
    ))
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes).into()
}

/// A state file: magic, SHA-256 of the body, body (postcard).
pub(crate) fn write_state<T: Serialize>(path: &Path, value: &T) -> Result<(), Error> {
    let bytes = postcard::to_stdvec(value).map_err(|e| Error::Write {
        path: path.into(),
        source: std::io::Error::other(e),
    })?;
    write_atomic(path, |w| {
        w.write_all(MAGIC)?;
        w.write_all(&digest(&bytes))?;
        w.write_all(&bytes)
    })
}

pub(crate) fn read_state<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, Error> {
    let bytes = std::fs::read(path).map_err(|source| Error::Read {
        path: path.into(),
        source,
    })?;
    let corrupt = |why: String| {
        Error::Batch(format!(
            "{}: not a pbrsim state file ({why}); delete it and rerun its shard",
            path.display()
        ))
    };
    let rest = bytes
        .strip_prefix(MAGIC.as_slice())
        .ok_or_else(|| corrupt("wrong header".into()))?;
    if rest.len() < 32 || rest[..32] != digest(&rest[32..]) {
        return Err(corrupt("damaged: its checksum does not match".into()));
    }
    let (value, extra) =
        postcard::take_from_bytes(&rest[32..]).map_err(|e| corrupt(e.to_string()))?;
    if !extra.is_empty() {
        return Err(corrupt("trailing bytes".into()));
    }
    Ok(value)
}

/// Starts or joins the job in `dir`: writes its manifest, or checks that
/// the one there is the same job split the same way.
pub fn prepare(dir: &Path, manifest: &Manifest) -> Result<(), Error> {
    std::fs::create_dir_all(state_dir(dir)).map_err(|source| Error::Write {
        path: dir.to_path_buf(),
        source,
    })?;
    if manifest.shards == 1 {
        remove_stale_temporaries(&state_dir(dir));
    }
    let path = dir.join("manifest.json");
    if path.exists() {
        let text = std::fs::read_to_string(&path).map_err(|source| Error::Read {
            path: path.clone(),
            source,
        })?;
        let found: Manifest = serde_json::from_str(&text).map_err(|e| {
            Error::Setting(format!("{}: not a pbrsim manifest ({e})", path.display()))
        })?;
        let diff = manifest.differences(&found);
        if !diff.is_empty() {
            return Err(Error::Setting(format!(
                "{} holds another job ({}); use a new output directory, or delete it to start again",
                dir.display(),
                diff.join("; ")
            )));
        }
        if found.shards != manifest.shards {
            return Err(Error::Setting(format!(
                "{} was started as {} shard(s), not {}; run the missing shards as --shard I/{} (or start again in a new directory)",
                dir.display(),
                found.shards,
                manifest.shards,
                found.shards
            )));
        }
        return Ok(());
    }
    write_atomic(&path, |w| {
        serde_json::to_writer_pretty(&mut *w, manifest)?;
        writeln!(w)
    })
}

/// Removes temporary files left by a write that a kill interrupted. Only
/// for a job run by one process: with shards, another process may be
/// writing its own temporary file right now.
fn remove_stale_temporaries(state: &Path) {
    if let Ok(entries) = std::fs::read_dir(state) {
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().starts_with(".tmp") {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

/// What a shard did.
#[derive(Debug, Default)]
pub struct ShardReport {
    /// Points finished by this call.
    pub points_run: usize,
    /// Partial points (block ranges) written by this call.
    pub parts_run: usize,
    /// Points or parts found already done and kept.
    pub kept: usize,
    /// Iterations simulated by this call.
    pub iterations: u64,
}

/// Iterations `shard` has to run (for a progress bar).
pub fn shard_iterations(manifest: &Manifest, shard: Shard) -> u64 {
    let b = manifest.blocks();
    shard
        .units(manifest.units())
        .map(|u| ((u % b + 1) * BLOCK).min(manifest.iterations) - (u % b) * BLOCK)
        .sum()
}

/// Runs `shard` of the job in `dir` (which [`prepare`] has set up),
/// skipping what is already there. `on_progress(point, iterations done)`.
/// With `allow_large`, a point beyond the memory or work limits of
/// `engine::footprint` runs anyway (it does not change the results, so it
/// is not part of the job). A `stop` request ends it after the wave in
/// progress with [`Error::Interrupted`]; the state files of finished units
/// stay, so running it again resumes.
pub fn run_shard(
    dir: &Path,
    manifest: &Manifest,
    shard: Shard,
    threads: usize,
    allow_large: bool,
    stop: &crate::engine::Stop,
    on_progress: &(dyn Fn(usize, u64) + Sync),
) -> Result<ShardReport, Error> {
    let b = manifest.blocks();
    let units = shard.units(manifest.units());
    let mut report = ShardReport::default();
    let config = RunConfig {
        allow_large,
        stop: stop.clone(),
        ..manifest.run_config(threads)
    };
    let mut done_before = 0;
    let mut u = units.start;
    while u < units.end {
        let p = (u / b) as usize;
        let blocks = (u % b)..((units.end - p as u64 * b).min(b));
        u = p as u64 * b + blocks.end;
        let iterations_here = (blocks.end * BLOCK).min(manifest.iterations) - blocks.start * BLOCK;
        let whole = blocks == (0..b) && manifest.kind == Kind::Sweep;
        let path = if whole {
            point_path(dir, p)
        } else {
            part_path(dir, p, &blocks)
        };
        if path.exists() {
            report.kept += 1;
            done_before += iterations_here;
            on_progress(p, done_before);
            continue;
        }
        let loaded = manifest.load_point(p)?;
        let base = done_before;
        let progress = |n: u64| on_progress(p, base + n);
        let (catalog, summary) = engine::run_blocks(
            &loaded.model,
            &config,
            Some(blocks.clone()),
            &progress,
            None,
        )?;
        if whole {
            let rows =
                table::figure_rows(&engine::RunResult { catalog, summary }, &manifest.quantiles);
            write_state(
                &path,
                &PointFile {
                    fingerprint: manifest.fingerprint.clone(),
                    point: p,
                    rows,
                },
            )?;
            report.points_run += 1;
        } else {
            write_state(
                &path,
                &PartFile {
                    fingerprint: manifest.fingerprint.clone(),
                    point: p,
                    blocks: (blocks.start, blocks.end),
                    summary,
                },
            )?;
            report.parts_run += 1;
        }
        report.iterations += iterations_here;
        done_before += iterations_here;
    }
    Ok(report)
}

/// What is in `dir/state`, by point.
enum Found {
    Point(PathBuf),
    Parts(Vec<(std::ops::Range<u64>, PathBuf)>),
}

fn scan(dir: &Path, manifest: &Manifest) -> Result<Vec<Option<Found>>, Error> {
    let state = state_dir(dir);
    let mut found: Vec<Option<Found>> = (0..manifest.points.len()).map(|_| None).collect();
    let entries = std::fs::read_dir(&state).map_err(|source| Error::Read {
        path: state.clone(),
        source,
    })?;
    let mut unexpected = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| Error::Read {
            path: state.clone(),
            source,
        })?;
        let name = entry.file_name().to_string_lossy().to_string();
        if name.starts_with('.') {
            continue; // a write interrupted by a kill (.tmp*), or the file system's own (.nfs*, .DS_Store)
        }
        let Some((p, blocks)) = parse_state_name(&name) else {
            unexpected.push(name);
            continue;
        };
        if p >= manifest.points.len() {
            unexpected.push(name);
            continue;
        }
        let path = entry.path();
        let duplicate = |what: &str| {
            Error::Batch(format!(
                "{}: point {p} {what}; the job was run twice in different ways into this directory; delete the state directory and rerun",
                path.display()
            ))
        };
        match (blocks, &mut found[p]) {
            (None, _) if manifest.kind == Kind::Run => {
                return Err(Error::Batch(format!(
                    "{}: a finished sweep point in a run's directory; delete the state directory and rerun",
                    path.display()
                )));
            }
            (None, None) => found[p] = Some(Found::Point(path)),
            (Some(r), None) => found[p] = Some(Found::Parts(vec![(r, path)])),
            (Some(r), Some(Found::Parts(v))) => v.push((r, path)),
            (None, Some(_)) | (Some(_), Some(Found::Point(_))) => {
                return Err(duplicate("is both finished and in parts"));
            }
        }
    }
    if !unexpected.is_empty() {
        unexpected.sort();
        return Err(Error::Batch(format!(
            "{}: unexpected files {}; the state directory holds only pbrsim's own files",
            state.display(),
            unexpected.join(", ")
        )));
    }
    Ok(found)
}

fn parse_state_name(name: &str) -> Option<(usize, Option<std::ops::Range<u64>>)> {
    let rest = name.strip_prefix("point-")?.strip_suffix(".bin")?;
    match rest.split_once(".blocks-") {
        None => Some((rest.parse().ok()?, None)),
        Some((p, r)) => {
            let (a, b) = r.split_once('-')?;
            let (a, b): (u64, u64) = (a.parse().ok()?, b.parse().ok()?);
            (a < b).then_some((p.parse().ok()?, Some(a..b)))
        }
    }
}

/// What `merge` wrote.
#[derive(Debug)]
pub struct Merged {
    /// Files written.
    pub written: Vec<PathBuf>,
    /// Points of the job.
    pub points: usize,
}

/// Reads the manifest of the job in `dir`.
pub fn read_manifest(dir: &Path) -> Result<Manifest, Error> {
    let path = dir.join("manifest.json");
    let text = std::fs::read_to_string(&path).map_err(|source| Error::Read {
        path: path.clone(),
        source,
    })?;
    let m: Manifest = serde_json::from_str(&text)
        .map_err(|e| Error::Batch(format!("{}: not a pbrsim manifest ({e})", path.display())))?;
    if m.fingerprint != m.compute_fingerprint() {
        return Err(Error::Batch(format!(
            "{}: the manifest was edited (its fingerprint does not match its contents)",
            path.display()
        )));
    }
    if m.pbrsim_version != crate::VERSION || m.pbrsim_source != crate::SOURCE_HASH {
        return Err(Error::Batch(format!(
            "{} was written by pbrsim {} (source {}), this is {} (source {}); merge with the build that ran the shards",
            path.display(),
            m.pbrsim_version,
            m.pbrsim_source,
            crate::VERSION,
            crate::SOURCE_HASH
        )));
    }
    Ok(m)
}

/// Merges every shard's files in `dir` and writes the job's outputs, or
/// says exactly which shards are missing.
pub fn merge(dir: &Path) -> Result<Merged, Error> {
    let manifest = read_manifest(dir)?;
    let found = scan(dir, &manifest)?;
    let b = manifest.blocks();
    let total = manifest.units();
    let mut missing: Vec<(usize, std::ops::Range<u64>)> = Vec::new();
    let mut per_point: Vec<Vec<(std::ops::Range<u64>, PathBuf)>> = Vec::new();
    for (p, f) in found.iter().enumerate() {
        let mut parts = match f {
            None => {
                missing.push((p, 0..b));
                per_point.push(vec![]);
                continue;
            }
            Some(Found::Point(_)) => {
                per_point.push(vec![]);
                continue;
            }
            Some(Found::Parts(v)) => v.clone(),
        };
        parts.sort_by_key(|(r, _)| (r.start, r.end));
        let mut at = 0;
        for (r, path) in &parts {
            if r.end > b {
                return Err(Error::Batch(format!(
                    "{}: blocks {}..{} of point {p} go past its last block ({b}); not from this job: delete it and rerun its shard",
                    path.display(),
                    r.start,
                    r.end
                )));
            }
            if r.start < at {
                return Err(Error::Batch(format!(
                    "{}: blocks {}..{} of point {p} overlap another shard's (duplicate shards); delete the state directory and rerun",
                    path.display(),
                    r.start,
                    r.end
                )));
            }
            if r.start > at {
                missing.push((p, at..r.start));
            }
            at = r.end;
        }
        if at < b {
            missing.push((p, at..b));
        }
        per_point.push(parts);
    }
    if !missing.is_empty() {
        let mut shards: Vec<u64> = Vec::new();
        for (p, r) in &missing {
            let first = Shard::of_unit(*p as u64 * b + r.start, total, manifest.shards);
            let last = Shard::of_unit(*p as u64 * b + r.end - 1, total, manifest.shards);
            shards.extend(first..=last);
        }
        shards.sort();
        shards.dedup();
        let list: Vec<String> = shards.iter().map(|s| s.to_string()).collect();
        let (p, r) = &missing[0];
        // The command that reruns a shard: the job's own settings (a
        // shard refuses any other), with the Slurm script when one exists;
        // shell-quoted, to be pasted into a shell.
        let quote = |s: &str| slurm::shell_quote(s);
        let mut command = format!(
            "pbrsim {} {} -n {} --seed {}",
            manifest.kind,
            quote(&manifest.origin),
            manifest.iterations,
            manifest.seed
        );
        if manifest.kind == Kind::Run {
            for (path, value) in manifest.parameters.iter().zip(&manifest.points[0].1) {
                command += &format!(" --set {}", quote(&format!("{path}={value}")));
            }
        }
        let levels = |v: &[f64]| {
            v.iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join(",")
        };
        if manifest.quantiles != [0.05, 0.5, 0.95] {
            command += &format!(" --quantiles {}", levels(&manifest.quantiles));
        }
        if manifest.risk_levels != [0.95, 0.99] {
            command += &format!(" --risk-levels {}", levels(&manifest.risk_levels));
        }
        for option in manifest.sampling.options() {
            command += &format!(" {option}");
        }
        let script = dir.join("slurm").join("shards.sbatch");
        let slurm = if script.exists() {
            format!(
                "; on Slurm: sbatch --array={} {}",
                list.join(","),
                quote(&script.display().to_string())
            )
        } else {
            String::new()
        };
        return Err(Error::Batch(format!(
            "{}: {} of {} shard(s) not finished: {} (first gap: point {p}, blocks {}..{}); rerun each with `{command} --out {} --shard I/{}` for I in {}{slurm}, then merge again",
            dir.display(),
            shards.len(),
            manifest.shards,
            list.join(", "),
            r.start,
            r.end,
            quote(&dir.display().to_string()),
            manifest.shards,
            list.join(", "),
        )));
    }
    let merged = |p: usize,
                  parts: &[(std::ops::Range<u64>, PathBuf)]|
     -> Result<engine::RunResult, Error> {
        let loaded = manifest.load_point(p)?;
        let mut total: Option<engine::Summary> = None;
        for (r, path) in parts {
            let part: PartFile = read_state(path)?;
            check_fingerprint(path, &part.fingerprint, &manifest)?;
            if part.point != p || part.blocks != (r.start, r.end) {
                return Err(Error::Batch(format!(
                    "{}: its contents are point {} blocks {}..{}, not what its name says",
                    path.display(),
                    part.point,
                    part.blocks.0,
                    part.blocks.1
                )));
            }
            let iterations = (r.end * BLOCK).min(manifest.iterations) - r.start * BLOCK;
            if part.summary.iterations != iterations {
                return Err(Error::Batch(format!(
                    "{}: it summarises {} iterations where blocks {}..{} hold {iterations}; delete it and rerun its shard",
                    path.display(),
                    part.summary.iterations,
                    r.start,
                    r.end
                )));
            }
            match total.as_mut() {
                None => total = Some(part.summary),
                Some(t) => t.merge(&part.summary),
            }
        }
        let summary = total.ok_or_else(|| Error::Batch(format!("point {p} has no blocks")))?;
        Ok(engine::RunResult {
            catalog: crate::figures::Catalog::new(&loaded.model),
            summary,
        })
    };
    if manifest.kind == Kind::Run {
        let loaded = manifest.load_point(0)?;
        let result = merged(0, &per_point[0])?;
        let written =
            crate::output::write_outputs(dir, &manifest.run_info(&loaded), &result, &loaded.model)?;
        return Ok(Merged { written, points: 1 });
    }
    let mut rows = Vec::with_capacity(manifest.points.len());
    for (p, f) in found.iter().enumerate() {
        match f {
            Some(Found::Point(path)) => {
                let file: PointFile = read_state(path)?;
                check_fingerprint(path, &file.fingerprint, &manifest)?;
                if file.point != p {
                    return Err(Error::Batch(format!(
                        "{}: its contents are point {}, not {p}",
                        path.display(),
                        file.point
                    )));
                }
                rows.push(file.rows);
            }
            _ => rows.push(table::figure_rows(
                &merged(p, &per_point[p])?,
                &manifest.quantiles,
            )),
        }
    }
    let written = table::write_sweep(dir, &manifest, &rows)?;
    Ok(Merged {
        written,
        points: manifest.points.len(),
    })
}

fn check_fingerprint(path: &Path, found: &str, manifest: &Manifest) -> Result<(), Error> {
    if found != manifest.fingerprint {
        return Err(Error::Batch(format!(
            "{}: from another job (fingerprint {} here, {} in manifest.json: a different scenario, seed, iterations or version); delete it and rerun its shard",
            path.display(),
            &found[..12.min(found.len())],
            &manifest.fingerprint[..12]
        )));
    }
    Ok(())
}

/// The shard files in `dir`'s state directory (for tests and tools).
pub fn state_files(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let state = state_dir(dir);
    let mut v: Vec<PathBuf> = std::fs::read_dir(&state)
        .map_err(|source| Error::Read {
            path: state.clone(),
            source,
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| !n.to_string_lossy().starts_with(".tmp"))
        })
        .collect();
    v.sort();
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_names_round_trip() {
        let dir = Path::new("d");
        assert_eq!(
            parse_state_name(point_path(dir, 12).file_name().unwrap().to_str().unwrap()),
            Some((12, None))
        );
        assert_eq!(
            parse_state_name(
                part_path(dir, 3, &(40..79))
                    .file_name()
                    .unwrap()
                    .to_str()
                    .unwrap()
            ),
            Some((3, Some(40..79)))
        );
        assert_eq!(parse_state_name("point-1.blocks-5-5.bin"), None);
        assert_eq!(parse_state_name("notes.txt"), None);
    }
}
