//! What better evidence is worth to a commissioner choosing between
//! contract designs: the expected value of perfect information (EVPI) and
//! of perfect information on groups of inputs (EVPPI).
//!
//! Every design runs the same worlds (common random numbers), so world `i`
//! draws the same volume, effect, macro path and costs under each design;
//! the inputs are those draws (the `draw.*` figures). The per-world
//! objective of each design and the inputs feed the regression estimator
//! of [`super::evppi`]. The per-world results are kept in memory (a value
//! of information needs them all) and can be written as a long table for
//! other tools.

use super::evppi::{Evppi, evppi};
use crate::engine::{RunConfig, blocks_of, driver};
use crate::error::suggest;
use crate::figures::Catalog;
use crate::math;
use crate::model::Model;
use crate::rng::{Purpose, stream};

/// One candidate contract.
pub struct Design<'a> {
    /// Its name in outputs.
    pub name: String,
    /// The contract.
    pub model: &'a Model,
}

/// What is analysed.
#[derive(Clone, Debug)]
pub struct Spec {
    /// The figure whose expectation the commissioner chooses on.
    pub objective: String,
    /// Whether more is better (net value) or less (cost).
    pub maximise: bool,
    /// Figures kept per world for the long table (the objective first).
    pub export: Vec<String>,
    /// Named groups of inputs (input names, or prefixes ending in `*`);
    /// empty for the default groups.
    pub groups: Vec<(String, Vec<String>)>,
}

/// Per-world results of every design: the long table.
#[derive(Clone, Debug)]
pub struct Table {
    /// Design names.
    pub designs: Vec<String>,
    /// Figures kept, the objective first.
    pub figures: Vec<String>,
    /// `[world][design][figure]`; NaN where a design has no such figure.
    pub values: Vec<f64>,
    /// The inputs (name without `draw.`, value per world).
    pub inputs: Vec<(String, Vec<f64>)>,
}

impl Table {
    /// Number of worlds.
    pub fn worlds(&self) -> usize {
        self.inputs.first().map_or_else(
            || self.values.len() / (self.designs.len() * self.figures.len()).max(1),
            |(_, v)| v.len(),
        )
    }

    /// The value of `figure` for `design` in world `i`.
    pub fn value(&self, i: usize, design: usize, figure: usize) -> f64 {
        self.values[(i * self.designs.len() + design) * self.figures.len() + figure]
    }
}

/// One design's objective.
#[derive(Clone, Debug)]
pub struct DesignValue {
    /// The design's name.
    pub name: String,
    /// Mean of the objective over the worlds.
    pub mean: f64,
    /// Its standard error.
    pub se: f64,
    /// Share of worlds in which this design's objective is the best (with
    /// participant-level chance, which no evidence removes).
    pub best_share: f64,
}

/// The value of perfect information on one group of inputs.
#[derive(Clone, Debug)]
pub struct GroupValue {
    /// The group's name (`all` for every input: the EVPI).
    pub name: String,
    /// Its inputs.
    pub inputs: Vec<String>,
    /// The estimate.
    pub value: Evppi,
}

/// A value-of-information analysis.
#[derive(Clone, Debug)]
pub struct Voi {
    /// The spec analysed.
    pub spec: Spec,
    /// Each design's objective.
    pub designs: Vec<DesignValue>,
    /// The design chosen on current evidence (best mean objective).
    pub chosen: usize,
    /// Perfect information on every input (the EVPI).
    pub evpi: GroupValue,
    /// Perfect information on each group (EVPPI).
    pub groups: Vec<GroupValue>,
    /// The per-world results.
    pub table: Table,
}

/// Runs every design on common random numbers and values information.
///
/// Fails (as a setting error) when the objective or an exported figure is
/// missing from every design, a group names no input, or the designs do
/// not share their uncertain inputs.
pub fn voi(
    designs: &[Design],
    spec: &Spec,
    config: &RunConfig,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Voi, crate::Error> {
    if designs.len() < 2 {
        return Err(crate::Error::Setting(
            "a value of information needs at least two designs to choose between".into(),
        ));
    }
    let catalogs: Vec<Catalog> = designs.iter().map(|d| Catalog::new(d.model)).collect();
    let figures = figure_columns(designs, &catalogs, spec)?;
    let inputs: Vec<(String, usize)> = catalogs[0]
        .figures
        .iter()
        .enumerate()
        .filter_map(|(k, f)| {
            let key = f.key();
            key.strip_prefix("draw.").map(|name| (name.to_string(), k))
        })
        .collect();
    // Where each design holds design 0's inputs, to check they agree.
    let shared: Vec<Vec<(usize, usize)>> = catalogs[1..]
        .iter()
        .map(|c| {
            inputs
                .iter()
                .enumerate()
                .filter_map(|(j, (name, _))| {
                    let key = format!("draw.{name}");
                    c.figures
                        .iter()
                        .position(|f| f.key() == key)
                        .map(|k| (j, k))
                })
                .collect()
        })
        .collect();
    let groups = resolve_groups(spec, &inputs)?;

    let (d, f, k) = (designs.len(), figures.len(), inputs.len());
    let schedule = driver::Schedule {
        blocks: 0..blocks_of(config.iterations),
        iterations: config.iterations,
        wave: None,
        seed: config.seed,
        threads: config.threads,
        allow_large: config.allow_large,
        stop: config.stop.clone(),
    };
    struct Block {
        values: Vec<f64>,
        inputs: Vec<f64>,
        mismatch: Option<(usize, usize)>,
    }
    let mut values = Vec::with_capacity(config.iterations as usize * d * f);
    let mut input_rows = Vec::with_capacity(config.iterations as usize * k);
    let mut mismatch = None;
    let steps = driver::Steps {
        start: |_| Block {
            values: Vec::new(),
            inputs: Vec::new(),
            mismatch: None,
        },
        observe: |acc: &mut Block, _, outcomes: &driver::Outcomes| {
            for (design, columns) in figures_by_design(&figures, d).enumerate() {
                let row = outcomes.figures(design);
                acc.values
                    .extend(columns.map(|c| c.map_or(f64::NAN, |c| row[c])));
            }
            let first = outcomes.figures(0);
            acc.inputs.extend(inputs.iter().map(|(_, c)| first[*c]));
            for (other, pairs) in shared.iter().enumerate() {
                let row = outcomes.figures(other + 1);
                for &(j, c) in pairs {
                    if row[c].to_bits() != first[inputs[j].1].to_bits() && acc.mismatch.is_none() {
                        acc.mismatch = Some((other + 1, j));
                    }
                }
            }
        },
        merge: |_, block: Block, _: &rayon::ThreadPool| {
            values.extend_from_slice(&block.values);
            input_rows.extend_from_slice(&block.inputs);
            if mismatch.is_none() {
                mismatch = block.mismatch;
            }
            Ok(())
        },
        after_wave: |done| {
            progress(done);
            true
        },
    };
    let arms: Vec<driver::Arm> = designs
        .iter()
        .map(|des| driver::Arm::plain(des.model))
        .collect();
    driver::drive(&arms, &catalogs, &schedule, steps)?;
    if let Some((design, j)) = mismatch {
        return Err(crate::Error::Setting(format!(
            "design `{}` draws `{}` differently from `{}`: the designs of a value-of-information \
             analysis must share their uncertain inputs (the same distributions, factors and \
             segments); give every design the same [uncertainty] and uncertain keys",
            designs[design].name, inputs[j].0, designs[0].name
        )));
    }
    let n = config.iterations as usize;
    let table = Table {
        designs: designs.iter().map(|d| d.name.clone()).collect(),
        figures: figures.iter().map(|c| c.0.clone()).collect(),
        values,
        inputs: inputs
            .iter()
            .enumerate()
            .map(|(j, (name, _))| {
                (
                    name.clone(),
                    (0..n).map(|i| input_rows[i * k + j]).collect(),
                )
            })
            .collect(),
    };
    Ok(analyse(spec, table, &groups, config.seed))
}

/// The figures kept: for each, its column in each design's catalog (none
/// where that design lacks it).
type FigureColumns = Vec<(String, Vec<Option<usize>>)>;

fn figures_by_design(
    figures: &FigureColumns,
    designs: usize,
) -> impl Iterator<Item = impl Iterator<Item = Option<usize>> + '_> + '_ {
    (0..designs).map(move |d| figures.iter().map(move |(_, cols)| cols[d]))
}

fn figure_columns(
    designs: &[Design],
    catalogs: &[Catalog],
    spec: &Spec,
) -> Result<FigureColumns, crate::Error> {
    let mut names = vec![spec.objective.clone()];
    for e in &spec.export {
        if !names.contains(e) {
            names.push(e.clone());
        }
    }
    let mut out = Vec::new();
    for (n, name) in names.iter().enumerate() {
        let cols: Vec<Option<usize>> = catalogs
            .iter()
            .map(|c| c.figures.iter().position(|f| &f.key() == name))
            .collect();
        let missing = cols.iter().position(Option::is_none);
        let objective = n == 0;
        if (objective && missing.is_some()) || cols.iter().all(Option::is_none) {
            let at = missing.unwrap_or(0);
            let keys: Vec<String> = catalogs[at].figures.iter().map(|f| f.key()).collect();
            let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
            let help = suggest(name, &refs).map_or(String::new(), |s| format!("; {s}"));
            return Err(crate::Error::Setting(format!(
                "design `{}` has no figure `{name}` (figures are named party.figure, as in \
                 figures.csv){help}",
                designs[at].name
            )));
        }
        out.push((name.clone(), cols));
    }
    Ok(out)
}

/// The groups analysed, as indices into the inputs: the user's, or by
/// default volume, effect, macro, cost and each other uncertain key alone.
fn resolve_groups(
    spec: &Spec,
    inputs: &[(String, usize)],
) -> Result<Vec<(String, Vec<usize>)>, crate::Error> {
    if spec.groups.is_empty() {
        return Ok(default_groups(inputs));
    }
    let names: Vec<&str> = inputs.iter().map(|(n, _)| n.as_str()).collect();
    spec.groups
        .iter()
        .map(|(group, patterns)| {
            let mut members = Vec::new();
            for p in patterns {
                let hits: Vec<usize> = match p.strip_suffix('*') {
                    Some(prefix) => (0..names.len())
                        .filter(|&j| names[j].starts_with(prefix))
                        .collect(),
                    None => names.iter().position(|n| n == p).into_iter().collect(),
                };
                if hits.is_empty() {
                    let help = suggest(p, &names).map_or(String::new(), |s| format!("; {s}"));
                    return Err(crate::Error::Setting(format!(
                        "group `{group}`: `{p}` is not an input of the first design (its inputs \
                         are {}){help}",
                        names.join(", ")
                    )));
                }
                for j in hits {
                    if !members.contains(&j) {
                        members.push(j);
                    }
                }
            }
            Ok((group.clone(), members))
        })
        .collect()
}

fn default_groups(inputs: &[(String, usize)]) -> Vec<(String, Vec<usize>)> {
    let family = |name: &str| -> String {
        if name == "volume" || (name.starts_with("segments.") && name.ends_with(".volume")) {
            "volume".into()
        } else if name == "cost" {
            "cost".into()
        } else if name.starts_with("effect.") {
            "effect".into()
        } else if name.starts_with("macro.") {
            "macro".into()
        } else {
            name.to_string()
        }
    };
    let mut groups: Vec<(String, Vec<usize>)> = Vec::new();
    for (j, (name, _)) in inputs.iter().enumerate() {
        let g = family(name);
        match groups.iter_mut().find(|(n, _)| *n == g) {
            Some((_, members)) => members.push(j),
            None => groups.push((g, vec![j])),
        }
    }
    groups
}

/// The estimates from the per-world table.
fn analyse(spec: &Spec, table: Table, groups: &[(String, Vec<usize>)], seed: u64) -> Voi {
    let n = table.worlds();
    let sign = if spec.maximise { 1.0 } else { -1.0 };
    let objective: Vec<Vec<f64>> = (0..table.designs.len())
        .map(|d| (0..n).map(|i| sign * table.value(i, d, 0)).collect())
        .collect();
    let outcomes: Vec<&[f64]> = objective.iter().map(Vec::as_slice).collect();
    let mut best_count = vec![0u64; outcomes.len()];
    for i in 0..n {
        let best = (0..outcomes.len())
            .max_by(|&a, &b| outcomes[a][i].total_cmp(&outcomes[b][i]).then(b.cmp(&a)))
            .unwrap_or(0);
        best_count[best] += 1;
    }
    let designs: Vec<DesignValue> = objective
        .iter()
        .zip(&table.designs)
        .zip(&best_count)
        .map(|((y, name), &best)| {
            let mean = y.iter().sum::<f64>() / n as f64;
            let var =
                y.iter().map(|v| math::powi(v - mean, 2)).sum::<f64>() / (n.max(2) - 1) as f64;
            DesignValue {
                name: name.clone(),
                mean: sign * mean,
                se: (var / n as f64).sqrt(),
                best_share: best as f64 / n as f64,
            }
        })
        .collect();
    let chosen = (0..designs.len())
        .max_by(|&a, &b| {
            (sign * designs[a].mean)
                .total_cmp(&(sign * designs[b].mean))
                .then(b.cmp(&a))
        })
        .unwrap_or(0);
    // One stream for the whole analysis, consumed group by group in a
    // fixed order: the errors do not depend on the thread count.
    let mut rng = stream(seed, 0, Purpose::Evidence);
    let mut value_of = |name: &str, members: &[usize]| {
        let columns: Vec<&[f64]> = members
            .iter()
            .map(|&j| table.inputs[j].1.as_slice())
            .collect();
        GroupValue {
            name: name.to_string(),
            inputs: members.iter().map(|&j| table.inputs[j].0.clone()).collect(),
            value: evppi(&columns, &outcomes, &mut rng),
        }
    };
    let all: Vec<usize> = (0..table.inputs.len()).collect();
    let evpi = value_of("all", &all);
    let mut values: Vec<GroupValue> = groups
        .iter()
        .map(|(name, members)| value_of(name, members))
        .collect();
    if spec.groups.is_empty() {
        // Default groups of inputs that never vary carry no information.
        values.retain(|g| g.value.basis != super::evppi::Basis::Constant);
    }
    Voi {
        spec: spec.clone(),
        designs,
        chosen,
        evpi,
        groups: values,
        table,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(names: &[&str]) -> Vec<(String, usize)> {
        names
            .iter()
            .enumerate()
            .map(|(k, n)| (n.to_string(), k))
            .collect()
    }

    #[test]
    fn default_groups_gather_families() {
        let got = default_groups(&inputs(&[
            "volume",
            "cost",
            "macro.year1",
            "macro.year2",
            "effect.a",
            "segments.a.volume",
            "segments.a.sustained.dropout",
        ]));
        let names: Vec<(&str, Vec<usize>)> =
            got.iter().map(|(n, m)| (n.as_str(), m.clone())).collect();
        assert_eq!(
            names,
            vec![
                ("volume", vec![0, 5]),
                ("cost", vec![1]),
                ("macro", vec![2, 3]),
                ("effect", vec![4]),
                ("segments.a.sustained.dropout", vec![6]),
            ]
        );
    }

    #[test]
    fn named_groups_take_names_and_prefixes() {
        let spec = Spec {
            objective: "x".into(),
            maximise: true,
            export: vec![],
            groups: vec![(
                "g".into(),
                vec!["macro.*".into(), "cost".into(), "macro.year1".into()],
            )],
        };
        let got = resolve_groups(
            &spec,
            &inputs(&["volume", "cost", "macro.year1", "macro.year2"]),
        )
        .unwrap();
        assert_eq!(got, vec![("g".to_string(), vec![2, 3, 1])]);
        let bad = Spec {
            groups: vec![("g".into(), vec!["vollume".into()])],
            ..spec
        };
        let err = resolve_groups(&bad, &inputs(&["volume"]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`vollume` is not an input") && err.contains("volume"),
            "{err}"
        );
    }
}
