//! Searching for a good contract: candidate terms raced on common random
//! numbers against an objective and chance constraints (`pbrsim design`).
//!
//! A design is a sweep (`file.rs`) whose points are raced in stages
//! (`race.rs`): every candidate still racing runs the same iterations, the
//! first stage's and then more, and is dropped only when a decision holds
//! with the stated confidence. A stage's work is units of one block of one
//! candidate, split into shards like a sweep's; each unit's block sums are
//! a state file in `DIR/state/`, written atomically, so an interrupted
//! design resumes without losing or repeating work, and the decisions,
//! taken from the files in block order, do not depend on threads, shards
//! or interruptions.

pub mod file;
pub mod race;
pub mod table;

pub use file::{DesignFile, is_design_text, load_file};

use crate::batch::shard::Shard;
use crate::batch::{read_state, write_state};
use crate::engine::driver::{Outcomes, Schedule, Steps, drive};
use crate::engine::{Arm, BLOCK};
use crate::error::Error;
use crate::figures::Catalog;
use crate::model::Model;
use crate::output::write_atomic;
use crate::scenario::Source;
use crate::stress::statistic::Resolved;
use file::Op;
use race::{Evidence, Layout, Rules, Standing, Status};
use serde::{Deserialize, Serialize};
use std::ops::Range;
use std::path::{Path, PathBuf};

/// Version of the design state layout; part of every fingerprint.
const FORMAT: u32 = 1;

/// What a design job is: everything that determines its results.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// pbrsim version that wrote it.
    pub pbrsim_version: String,
    /// Hash of the source of the build that wrote it.
    pub pbrsim_source: String,
    /// SHA-256 of everything below except `shards`.
    pub fingerprint: String,
    /// Seed of every candidate.
    pub seed: u64,
    /// Into how many shards each stage is split.
    pub shards: u64,
    /// The design file.
    pub origin: String,
    /// Its text.
    pub text: String,
    /// The scenarios it names, with their text.
    pub scenarios: Vec<Source>,
}

impl Manifest {
    /// The manifest of `design` run from `seed` in `shards` shards.
    pub fn new(design: &DesignFile, seed: u64, shards: u64) -> Manifest {
        let mut m = Manifest {
            pbrsim_version: crate::VERSION.into(),
            pbrsim_source: crate::SOURCE_HASH.into(),
            fingerprint: String::new(),
            seed,
            shards,
            origin: design.sweep.origin.clone(),
            text: design.sweep.text.clone(),
            scenarios: design.sweep.scenarios.clone(),
        };
        m.fingerprint = m.compute_fingerprint();
        m
    }

    fn compute_fingerprint(&self) -> String {
        use sha2::{Digest, Sha256};
        let identity = serde_json::json!([
            FORMAT,
            "design",
            self.pbrsim_version,
            self.pbrsim_source,
            self.seed,
            self.origin,
            self.text,
            self.scenarios
        ]);
        Sha256::digest(identity.to_string().as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    fn differences(&self, other: &Manifest) -> Vec<String> {
        let mut d = Vec::new();
        if self.pbrsim_version != other.pbrsim_version || self.pbrsim_source != other.pbrsim_source
        {
            d.push(format!(
                "another build of pbrsim (pbrsim {} source {} there, {} source {} here)",
                other.pbrsim_version, other.pbrsim_source, self.pbrsim_version, self.pbrsim_source
            ));
        }
        if self.seed != other.seed {
            d.push(format!("seed {} there, {} here", other.seed, self.seed));
        }
        if self.origin != other.origin {
            d.push(format!(
                "design file {} there, {} here",
                other.origin, self.origin
            ));
        } else if self.text != other.text {
            d.push("the design file was edited".into());
        }
        if self.scenarios != other.scenarios {
            d.push("a different scenario".into());
        }
        if d.is_empty() && self.fingerprint != other.fingerprint {
            d.push("a different fingerprint".into());
        }
        d
    }
}

/// How to run a design.
#[derive(Clone, Debug)]
pub struct Options {
    /// Seed of every candidate.
    pub seed: u64,
    /// Worker threads (0 = all cores).
    pub threads: usize,
    /// Run models beyond the memory or work limits.
    pub allow_large: bool,
    /// A request to stop after the wave in progress; finished units stay
    /// on disk, so running again resumes.
    pub stop: crate::engine::Stop,
}

/// One unit of work's block sums.
#[derive(Serialize, Deserialize)]
struct BlockFile {
    fingerprint: String,
    candidate: usize,
    blocks: (u64, u64),
    width: usize,
    sums: Vec<f64>,
}

fn state_dir(dir: &Path) -> PathBuf {
    dir.join("state")
}

fn block_path(dir: &Path, c: usize, blocks: &Range<u64>) -> PathBuf {
    state_dir(dir).join(format!(
        "candidate-{c:06}.blocks-{:08}-{:08}.bin",
        blocks.start, blocks.end
    ))
}

fn parse_block_name(name: &str) -> Option<(usize, Range<u64>)> {
    let rest = name.strip_prefix("candidate-")?.strip_suffix(".bin")?;
    let (c, r) = rest.split_once(".blocks-")?;
    let (a, b) = r.split_once('-')?;
    let (a, b): (u64, u64) = (a.parse().ok()?, b.parse().ok()?);
    (a < b).then_some((c.parse().ok()?, a..b))
}

/// Starts or joins the design job in `dir`: writes `design.json`, or
/// checks that the one there is the same job split the same way.
pub fn prepare(dir: &Path, manifest: &Manifest) -> Result<(), Error> {
    std::fs::create_dir_all(state_dir(dir)).map_err(|source| Error::Write {
        path: dir.to_path_buf(),
        source,
    })?;
    let path = dir.join("design.json");
    if path.exists() {
        let text = std::fs::read_to_string(&path).map_err(|source| Error::Read {
            path: path.clone(),
            source,
        })?;
        let found: Manifest = serde_json::from_str(&text).map_err(|e| {
            Error::Setting(format!(
                "{}: not a pbrsim design manifest ({e})",
                path.display()
            ))
        })?;
        if found.fingerprint != found.compute_fingerprint() {
            return Err(Error::Batch(format!(
                "{}: the manifest was edited (its fingerprint does not match its contents); delete the directory to start again",
                path.display()
            )));
        }
        let diff = manifest.differences(&found);
        if !diff.is_empty() {
            return Err(Error::Setting(format!(
                "{} holds another design job ({}); use a new output directory, or delete it to start again",
                dir.display(),
                diff.join("; ")
            )));
        }
        if found.shards != manifest.shards {
            return Err(Error::Setting(format!(
                "{} was started as {} shard(s), not {}; run it as --shard I/{} (or start again in a new directory)",
                dir.display(),
                found.shards,
                manifest.shards,
                found.shards
            )));
        }
        return Ok(());
    }
    if dir.join("manifest.json").exists() {
        return Err(Error::Setting(format!(
            "{} holds a sweep or run; use a new output directory for a design",
            dir.display()
        )));
    }
    write_atomic(&path, |w| {
        serde_json::to_writer_pretty(&mut *w, manifest)?;
        writeln!(w)
    })
}

/// What one iteration of a candidate adds to its sums.
struct Observer {
    layout: Layout,
    objective: Resolved,
    constraints: Vec<Vec<(usize, Op, f64)>>,
    value: Resolved,
    risk: Vec<(usize, Op, f64)>,
}

fn any(row: &[f64], tests: &[(usize, Op, f64)]) -> f64 {
    if tests.iter().any(|&(i, op, v)| op.holds(row[i], v)) {
        1.0
    } else {
        0.0
    }
}

impl Observer {
    fn new(design: &DesignFile, c: usize, model: &Model) -> Result<Observer, Error> {
        let catalog = Catalog::new(model);
        let missing = |what: String| {
            Error::Setting(format!(
                "candidate {c}: {what} (its terms change the scenario's figures); give every candidate the same parties"
            ))
        };
        let resolve = |s: &crate::stress::statistic::Statistic| {
            s.resolve(&catalog)
                .ok_or_else(|| missing(format!("`{}` is not a figure of its model", s.name())))
        };
        let event = |e: &file::Event| e.resolve(&catalog, model).map_err(|(m, _)| missing(m));
        Ok(Observer {
            layout: Layout {
                constraints: design.constraints.len(),
            },
            objective: resolve(&design.objective.statistic)?,
            constraints: design
                .constraints
                .iter()
                .map(|k| event(&k.event))
                .collect::<Result<_, _>>()?,
            value: resolve(&design.value)?,
            risk: event(&design.risk)?,
        })
    }

    #[inline]
    fn push(&self, row: &[f64], sums: &mut [f64]) {
        let two = |r: &Resolved, k: usize| {
            if r.width() > k {
                r.component(row, k)
            } else {
                1.0
            }
        };
        let (n, d) = Layout::OBJECTIVE;
        sums[n] += two(&self.objective, 0);
        sums[d] += two(&self.objective, 1);
        for (k, tests) in self.constraints.iter().enumerate() {
            sums[self.layout.constraint(k)] += any(row, tests);
        }
        let (n, d) = self.layout.value();
        sums[n] += two(&self.value, 0);
        sums[d] += two(&self.value, 1);
        sums[self.layout.risk()] += any(row, &self.risk);
    }
}

/// Runs `blocks` of one candidate and returns its sums, block-major.
fn run_blocks(
    model: &Model,
    observer: &Observer,
    blocks: Range<u64>,
    options: &Options,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Vec<f64>, Error> {
    let catalogs = [Catalog::new(model)];
    let arms = [Arm::plain(model)];
    let w = observer.layout.width();
    let first = blocks.start;
    let mut out = vec![0.0; (blocks.end - blocks.start) as usize * w];
    let schedule = Schedule {
        blocks: blocks.clone(),
        iterations: blocks.end * BLOCK,
        wave: None,
        seed: options.seed,
        threads: options.threads,
        allow_large: options.allow_large,
        stop: options.stop.clone(),
    };
    let mut reported = 0;
    let steps = Steps {
        start: |_| vec![0.0; w],
        observe: |acc: &mut Vec<f64>, _, o: &Outcomes| observer.push(o.figures(0), acc),
        merge: |b: u64, acc: Vec<f64>, _: &rayon::ThreadPool| {
            let k = (b - first) as usize;
            out[k * w..(k + 1) * w].copy_from_slice(&acc);
            Ok(())
        },
        after_wave: |done| {
            progress(done - reported);
            reported = done;
            true
        },
    };
    drive(&arms, &catalogs, &schedule, steps)?;
    Ok(out)
}

/// A candidate's estimates at the end of its race: each `(estimate, low,
/// high)`, every end a one-sided bound at the race's test level.
#[derive(Clone, Debug, PartialEq)]
pub struct Estimates {
    /// Iterations run.
    pub iterations: u64,
    /// The objective.
    pub objective: (f64, f64, f64),
    /// Each constraint's probability.
    pub constraints: Vec<(f64, f64, f64)>,
    /// The public value.
    pub value: (f64, f64, f64),
    /// The provider-risk probability.
    pub risk: (f64, f64, f64),
}

fn estimates(e: &Evidence, layout: &Layout, alpha: f64) -> Estimates {
    let n = e.iterations();
    let t = race::t_quantile(e.blocks() - 1, alpha);
    let interval = |ratio: (usize, usize)| {
        let (r, res) = e.ratio(ratio);
        let h = t * race::standard_error(&res);
        (r, r - h, r + h)
    };
    let probability = |k: usize| {
        let events = e.count(k);
        let (lo, hi) = race::clopper_pearson(events, n, alpha);
        (events as f64 / n as f64, lo, hi)
    };
    Estimates {
        iterations: n,
        objective: interval(Layout::OBJECTIVE),
        constraints: (0..layout.constraints)
            .map(|k| probability(layout.constraint(k)))
            .collect(),
        value: interval(layout.value()),
        risk: probability(layout.risk()),
    }
}

/// A finished design.
#[derive(Clone, Debug)]
pub struct Results {
    /// Per candidate, its place in the race.
    pub standings: Vec<Standing>,
    /// Per candidate, its estimates.
    pub estimates: Vec<Estimates>,
    /// The feasible candidate with the best objective estimate.
    pub best: Option<usize>,
    /// Candidates on the Pareto front of public value and provider risk,
    /// by increasing risk.
    pub pareto: Vec<usize>,
    /// The level of each one-sided bound.
    pub alpha: f64,
    /// Per stage run: candidates racing and their iterations.
    pub stages: Vec<(usize, u64)>,
}

/// What a call of [`run`] ended with.
#[derive(Clone, Debug)]
pub enum Outcome {
    /// Every stage is done.
    Done(Results),
    /// A stage waits for other shards.
    Waiting {
        /// The stage (0-based).
        stage: usize,
        /// Shards whose part of it is missing.
        shards: Vec<u64>,
    },
}

/// What a process ran and kept.
#[derive(Clone, Copy, Debug, Default)]
pub struct Work {
    /// Units (candidate block ranges) run.
    pub run: usize,
    /// Units found done and kept.
    pub kept: usize,
}

/// A candidate's state files: its block ranges and paths.
type Parts = Vec<(Range<u64>, PathBuf)>;

/// State files by candidate.
fn scan(dir: &Path, candidates: usize) -> Result<Vec<Parts>, Error> {
    let state = state_dir(dir);
    let mut found = vec![Vec::new(); candidates];
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
            continue;
        }
        match parse_block_name(&name) {
            Some((c, r)) if c < candidates => found[c].push((r, entry.path())),
            _ => unexpected.push(name),
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
    for f in &mut found {
        f.sort_by_key(|(r, _)| (r.start, r.end));
    }
    Ok(found)
}

/// Runs this shard's part of the design in `dir` as far as the state
/// there allows: stage after stage, each stage's decisions taken once every
/// shard's part of it is done. The whole job (`Shard::WHOLE`) runs to the
/// end; `None` runs nothing and only gathers what the shards wrote. `on_stage(stage, racing, iterations)` is told of each stage as its
/// decisions are taken; `on_iterations` of iterations run.
pub fn run(
    dir: &Path,
    design: &DesignFile,
    manifest: &Manifest,
    shard: Option<Shard>,
    options: &Options,
    on_stage: &dyn Fn(usize, usize, u64),
    on_iterations: &(dyn Fn(u64) + Sync),
) -> Result<(Outcome, Work), Error> {
    let candidates = design.sweep.points.len();
    let layout = Layout {
        constraints: design.constraints.len(),
    };
    let w = layout.width();
    let alpha = race::test_level(
        design.confidence,
        design.stages.len(),
        candidates,
        layout.constraints,
    );
    let mut standings = vec![Standing::new(layout.constraints); candidates];
    let mut sums: Vec<Vec<f64>> = vec![Vec::new(); candidates];
    let mut stages = Vec::new();
    let mut work = Work::default();
    for (s, &n) in design.stages.iter().enumerate() {
        let racing: Vec<usize> = (0..candidates)
            .filter(|&c| standings[c].status == Status::Racing)
            .collect();
        let from = if s == 0 {
            0
        } else {
            design.stages[s - 1] / BLOCK
        };
        let to = n / BLOCK;
        let per = to - from;
        let units = racing.len() as u64 * per;
        let mine = shard.map_or(0..0, |s| s.units(units));
        for (j, &c) in racing.iter().enumerate() {
            let (a, b) = (j as u64 * per, (j as u64 + 1) * per);
            let (lo, hi) = (a.max(mine.start), b.min(mine.end));
            if lo >= hi {
                continue;
            }
            let blocks = from + (lo - a)..from + (hi - a);
            let path = block_path(dir, c, &blocks);
            if path.exists() {
                work.kept += 1;
                on_iterations((blocks.end - blocks.start) * BLOCK);
                continue;
            }
            let loaded = design.sweep.load_point(c)?;
            let observer = Observer::new(design, c, &loaded.model)?;
            let block_sums = run_blocks(
                &loaded.model,
                &observer,
                blocks.clone(),
                options,
                on_iterations,
            )?;
            write_state(
                &path,
                &BlockFile {
                    fingerprint: manifest.fingerprint.clone(),
                    candidate: c,
                    blocks: (blocks.start, blocks.end),
                    width: w,
                    sums: block_sums,
                },
            )?;
            work.run += 1;
        }
        // Gather the stage from every shard's files.
        let found = scan(dir, candidates)?;
        let mut missing: Vec<u64> = Vec::new();
        for (j, &c) in racing.iter().enumerate() {
            let mut at = from;
            for (r, path) in &found[c] {
                if r.end <= from || r.start >= to {
                    continue;
                }
                if r.start < at || r.end > to {
                    return Err(Error::Batch(format!(
                        "{}: blocks {}..{} of candidate {c} overlap another file or cross stage {}'s end (block {to}); delete the state directory and rerun",
                        path.display(),
                        r.start,
                        r.end,
                        s + 1
                    )));
                }
                if r.start > at {
                    missing.extend(j as u64 * per + at - from..j as u64 * per + r.start - from);
                }
                at = r.end;
            }
            if at < to {
                missing.extend(j as u64 * per + at - from..j as u64 * per + to - from);
            }
        }
        if !missing.is_empty() {
            let mut shards: Vec<u64> = missing
                .iter()
                .map(|&u| Shard::of_unit(u, units, manifest.shards))
                .collect();
            shards.dedup();
            return Ok((Outcome::Waiting { stage: s, shards }, work));
        }
        for &c in &racing {
            for (r, path) in &found[c] {
                if r.end <= from || r.start >= to {
                    continue;
                }
                let f: BlockFile = read_state(path)?;
                if f.fingerprint != manifest.fingerprint {
                    return Err(Error::Batch(format!(
                        "{}: from another job (another design file, scenario, seed or build); delete it and rerun",
                        path.display()
                    )));
                }
                if f.candidate != c
                    || f.blocks != (r.start, r.end)
                    || f.width != w
                    || f.sums.len() as u64 != (r.end - r.start) * w as u64
                {
                    return Err(Error::Batch(format!(
                        "{}: its contents are not what its name says; delete it and rerun",
                        path.display()
                    )));
                }
                sums[c].extend_from_slice(&f.sums);
            }
        }
        let evidence: Vec<Option<Evidence>> = (0..candidates)
            .map(|c| {
                (standings[c].status == Status::Racing).then(|| Evidence {
                    sums: &sums[c],
                    width: w,
                    per_block: BLOCK,
                })
            })
            .collect();
        let rules = Rules {
            alpha,
            maximise: design.objective.maximise,
            levels: design.constraints.iter().map(|k| k.at_most).collect(),
            last: s + 1 == design.stages.len(),
        };
        let more = race::step(&mut standings, &evidence, &rules);
        stages.push((racing.len(), n));
        on_stage(s, racing.len(), n);
        if !more {
            break;
        }
    }
    let estimates: Vec<Estimates> = (0..candidates)
        .map(|c| {
            estimates(
                &Evidence {
                    sums: &sums[c],
                    width: w,
                    per_block: BLOCK,
                },
                &layout,
                alpha,
            )
        })
        .collect();
    let sign = if design.objective.maximise { -1.0 } else { 1.0 };
    let best = (0..candidates)
        .filter(|&c| standings[c].status == Status::Feasible)
        .min_by(|&a, &b| {
            (sign * estimates[a].objective.0)
                .total_cmp(&(sign * estimates[b].objective.0))
                .then(a.cmp(&b))
        });
    let pareto = pareto_front(
        &estimates
            .iter()
            .map(|e| (e.value.0, e.risk.0))
            .collect::<Vec<_>>(),
    );
    Ok((
        Outcome::Done(Results {
            standings,
            estimates,
            best,
            pareto,
            alpha,
            stages,
        }),
        work,
    ))
}

/// Gathers the shards' work in `dir` (`pbrsim merge DIR`): the design
/// file is read again from where the job recorded it and must be
/// unchanged. Writes the outputs, or says which shards of which stage are
/// missing.
pub fn finish(dir: &Path) -> Result<(DesignFile, Results, Vec<PathBuf>), Error> {
    let path = dir.join("design.json");
    let text = std::fs::read_to_string(&path).map_err(|source| Error::Read {
        path: path.clone(),
        source,
    })?;
    let found: Manifest = serde_json::from_str(&text).map_err(|e| {
        Error::Batch(format!(
            "{}: not a pbrsim design manifest ({e})",
            path.display()
        ))
    })?;
    let design = load_file(Path::new(&found.origin))?;
    let manifest = Manifest::new(&design, found.seed, found.shards);
    prepare(dir, &manifest)?;
    let options = Options {
        seed: manifest.seed,
        threads: 1,
        allow_large: false,
        stop: Default::default(),
    };
    let (outcome, _) = run(
        dir,
        &design,
        &manifest,
        None,
        &options,
        &|_, _, _| {},
        &|_| {},
    )?;
    match outcome {
        Outcome::Done(results) => {
            let written = table::write(dir, &design, &manifest, &results)?;
            Ok((design, results, written))
        }
        Outcome::Waiting { stage, shards } => Err(Error::Batch(format!(
            "{}: stage {} is not finished: shard(s) {} of {} have not run their part; rerun each with `pbrsim design {} --out {} --seed {} --shard I/{}`, then merge again",
            dir.display(),
            stage + 1,
            shards
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            manifest.shards,
            crate::batch::slurm::shell_quote(&manifest.origin),
            crate::batch::slurm::shell_quote(&dir.display().to_string()),
            manifest.seed,
            manifest.shards
        ))),
    }
}

/// Writes a design's Slurm scripts into `OUT/slurm/`: `shards.sbatch`
/// (an array of shards, as for a sweep), `merge.sbatch` (`pbrsim merge`,
/// which writes the design's outputs) and a `submit.sh` that submits the
/// array once per stage, each after the previous one has ended, then the
/// merge. A stage's tasks that find the previous stage unfinished (a task
/// failed) do nothing and say so; the merge then names what to rerun.
pub fn write_slurm(
    job: &crate::batch::slurm::SlurmJob,
    stages: usize,
) -> Result<Vec<PathBuf>, Error> {
    let written = job.write()?;
    let dir = job.out.join("slurm");
    let q = |p: &Path| crate::batch::slurm::shell_quote(&p.display().to_string());
    let mut s = String::from(
        "#!/bin/bash\n\
         # Submits the shards once per stage of the race, each stage after the\n\
         # previous one has ended, then the merge that writes the design's outputs.\n\
         set -euo pipefail\n",
    );
    s.push_str(&format!(
        "job=$(sbatch --parsable {})\n",
        q(&dir.join("shards.sbatch"))
    ));
    s.push_str("job=${job%%;*}\nids=\"$job\"\n");
    for _ in 1..stages {
        s.push_str(&format!(
            "job=$(sbatch --parsable --dependency=afterany:$job {})\njob=${{job%%;*}}\nids=\"$ids $job\"\n",
            q(&dir.join("shards.sbatch"))
        ));
    }
    s.push_str(&format!(
        "merge=$(sbatch --parsable --dependency=afterany:$job {})\nmerge=${{merge%%;*}}\n\
         echo \"stages: jobs $ids ({} tasks each); merge: job $merge\"\n\
         echo \"$ids $merge\" > {}\n",
        q(&dir.join("merge.sbatch")),
        job.tasks,
        q(&dir.join("job-ids"))
    ));
    let submit = dir.join("submit.sh");
    write_atomic(&submit, |w| w.write_all(s.as_bytes()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&submit, std::fs::Permissions::from_mode(0o755)).map_err(
            |source| Error::Write {
                path: submit.clone(),
                source,
            },
        )?;
    }
    Ok(written)
}

/// The points `(value, risk)` that no other point beats on both (more
/// value and no more risk, or less risk and no less value), by increasing
/// risk then decreasing value; undefined points are left out.
pub fn pareto_front(points: &[(f64, f64)]) -> Vec<usize> {
    let ok = |i: usize| points[i].0.is_finite() && points[i].1.is_finite();
    let beats = |j: usize, i: usize| {
        let (a, b) = (points[j], points[i]);
        a.0 >= b.0 && a.1 <= b.1 && (a.0 > b.0 || a.1 < b.1)
    };
    let mut front: Vec<usize> = (0..points.len())
        .filter(|&i| ok(i) && !(0..points.len()).any(|j| ok(j) && beats(j, i)))
        .collect();
    front.sort_by(|&a, &b| {
        points[a]
            .1
            .total_cmp(&points[b].1)
            .then(points[b].0.total_cmp(&points[a].0))
            .then(a.cmp(&b))
    });
    front
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_names_round_trip() {
        let p = block_path(Path::new("d"), 12, &(16..64));
        let name = p.file_name().unwrap().to_str().unwrap();
        assert_eq!(name, "candidate-000012.blocks-00000016-00000064.bin");
        assert_eq!(parse_block_name(name), Some((12, 16..64)));
        assert_eq!(parse_block_name("candidate-1.blocks-5-5.bin"), None);
        assert_eq!(parse_block_name("point-000001.bin"), None);
    }

    #[test]
    fn the_pareto_front_keeps_only_points_nothing_beats() {
        // (value, risk): 0 and 2 trade off; 1 is beaten by 0; 3 equals 2
        // (both kept); 4 is undefined.
        let pts = [
            (10.0, 0.2),
            (9.0, 0.3),
            (5.0, 0.05),
            (5.0, 0.05),
            (f64::NAN, 0.0),
        ];
        assert_eq!(pareto_front(&pts), vec![2, 3, 0]);
    }
}
