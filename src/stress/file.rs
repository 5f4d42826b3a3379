//! Stress files: named shocks to a scenario, alone or combined.
//!
//! A stress file names a scenario (`scenario = "..."`) and lists
//! `[[stress]]` tables; a scenario file may carry the same `[[stress]]`
//! tables itself. A stress has shocks (`{ path, multiply | shift | set }`
//! on any value or uncertain parameter, by the paths of `--set`), bands
//! (`{ input, percentiles = [lo, hi] }`) and may `combine` other stresses.
//!
//! Shocks become `--set` overrides computed from the values the scenario
//! has ([`crate::scenario::Draft::shock`]: a number or a list is multiplied
//! or shifted, an uncertain parameter gets `scale` and `shift`, so each
//! world keeps its percentile). Every stressed scenario is then validated
//! like any other; an error is reported at the stress file's line.

use super::worlds::{Band, check_bands, find_input};
use crate::error::{ScenarioError, ScenarioErrors};
use crate::model::Model;
use crate::scenario::{self, Draft, Override, Source, line_col};
use serde::Deserialize;
use std::path::Path;
use toml::Spanned;

pub use crate::scenario::{Amount, Op};

/// One shock.
#[derive(Clone, Debug, PartialEq)]
pub struct Shock {
    /// Scenario path, as for `--set`.
    pub path: String,
    /// The change.
    pub op: Op,
    /// Byte offset of the shock in the stress file.
    pub at: usize,
}

/// A percentile band on an input, as written.
#[derive(Clone, Debug, PartialEq)]
pub struct BandSpec {
    /// A factor name or an uncertain parameter's path.
    pub input: String,
    /// Percentiles, 0-100.
    pub percentiles: (f64, f64),
    /// Byte offset in the stress file.
    pub at: usize,
}

/// A named stress, with any `combine` expanded.
#[derive(Clone, Debug, PartialEq)]
pub struct Stress {
    /// Unique name.
    pub name: String,
    /// What it is, in plain words.
    pub description: String,
    /// Where it comes from.
    pub source: String,
    /// Shocks, in order.
    pub shocks: Vec<Shock>,
    /// Bands.
    pub bands: Vec<BandSpec>,
    /// Byte offset of its name in the stress file.
    pub at: usize,
}

/// A stress file (or a scenario carrying stresses), read and checked.
#[derive(Clone, Debug)]
pub struct StressFile {
    /// The file, as named in messages.
    pub origin: String,
    /// Its text.
    pub text: String,
    /// The scenario the stresses apply to.
    pub scenario: Source,
    /// The stresses, in file order.
    pub stresses: Vec<Stress>,
}

/// A stress ready to run: the shocked model and its bands.
#[derive(Clone, Debug)]
pub struct Prepared {
    /// The stress.
    pub stress: Stress,
    /// The scenario with its shocks.
    pub model: Model,
    /// The shocks as overrides (what `pbrsim run --set` would reproduce).
    pub overrides: Vec<Override>,
    /// The bands, resolved.
    pub bands: Vec<Band>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    #[allow(dead_code)] // for people reading the file
    description: String,
    scenario: Option<String>,
    #[serde(default)]
    stress: Vec<RawStress>,
}

/// The part of a scenario that is stresses (the rest is the scenario's).
#[derive(Deserialize)]
struct RawEmbedded {
    #[serde(default)]
    stress: Vec<RawStress>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStress {
    name: Spanned<String>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    source: String,
    #[serde(default)]
    shocks: Vec<Spanned<RawShock>>,
    #[serde(default)]
    bands: Vec<Spanned<RawBand>>,
    #[serde(default)]
    combine: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawShock {
    path: String,
    multiply: Option<Amount>,
    shift: Option<Amount>,
    set: Option<toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBand {
    input: String,
    percentiles: [f64; 2],
}

impl StressFile {
    fn error(
        &self,
        at: Option<usize>,
        key: Option<String>,
        message: String,
        help: Option<String>,
    ) -> ScenarioErrors {
        let (line, column) = at.map(|o| line_col(&self.text, o)).unzip();
        ScenarioErrors(vec![ScenarioError {
            file: self.origin.clone(),
            line,
            column,
            key,
            message,
            help,
        }])
    }
}

/// Reads a stress file, or a scenario carrying `[[stress]]` tables.
/// `scenario` replaces the scenario the file names (the same stresses on
/// another contract).
pub fn load_file(path: &Path, scenario: Option<&Path>) -> Result<StressFile, crate::Error> {
    let read = crate::scenario::read_text;
    let text = read(path)?;
    let origin = path.display().to_string();
    let fail = |line_col: Option<(usize, usize)>, message: String, help: Option<String>| {
        let (line, column) = line_col.unzip();
        crate::Error::Scenario(ScenarioErrors(vec![ScenarioError {
            file: origin.clone(),
            line,
            column,
            key: None,
            message,
            help,
        }]))
    };
    let table = scenario::parse_toml(&text, &origin)?;
    let de_error = |e: toml::de::Error| {
        fail(e.span().map(|s| line_col(&text, s.start)), e.message().trim().to_string(), Some("a stress is { name, description, source, shocks = [{ path, multiply | shift | set }], bands = [{ input, percentiles }], combine = [names] }; see docs/stress-testing.md".into()))
    };
    let (raw, named) = if table.contains_key("scenario") {
        let raw: RawFile = toml::from_str(&text).map_err(de_error)?;
        (raw.stress, raw.scenario)
    } else {
        let raw: RawEmbedded = toml::from_str(&text).map_err(de_error)?;
        (raw.stress, None)
    };
    let scenario_path = match (scenario, &named) {
        (Some(p), _) => Some(p.to_path_buf()),
        (None, Some(name)) => Some(path.parent().unwrap_or(Path::new(".")).join(name)),
        (None, None) => None,
    };
    let source = match scenario_path {
        Some(p) => Source {
            origin: p.display().to_string(),
            text: read(&p)?,
        },
        None => Source {
            origin: origin.clone(),
            text: text.clone(),
        },
    };
    let mut file = StressFile {
        origin,
        text,
        scenario: source,
        stresses: Vec::new(),
    };
    file.stresses = expand(&file, raw)?;
    Ok(file)
}

/// Turns the raw tables into stresses, expanding `combine`.
fn expand(file: &StressFile, raw: Vec<RawStress>) -> Result<Vec<Stress>, ScenarioErrors> {
    if raw.is_empty() {
        return Err(file.error(None, None, "no stresses: the file has no [[stress]] tables".into(), Some("add one: [[stress]] name = \"volume_30pct_short\" shocks = [{ path = \"uncertainty.volume\", multiply = 0.7 }]".into())));
    }
    let names: Vec<&str> = raw.iter().map(|r| r.name.get_ref().as_str()).collect();
    let mut out: Vec<Stress> = Vec::new();
    for (i, r) in raw.iter().enumerate() {
        let name = r.name.get_ref();
        let at = r.name.span().start;
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(file.error(
                Some(at),
                Some(format!("stress.{name}")),
                format!("stress name `{name}` must be letters, digits, `_` or `-`"),
                None,
            ));
        }
        if names[..i].contains(&name.as_str()) {
            return Err(file.error(
                Some(at),
                Some(format!("stress.{name}")),
                format!("two stresses are named `{name}`"),
                None,
            ));
        }
        if r.shocks.is_empty() && r.bands.is_empty() && r.combine.is_empty() {
            return Err(file.error(
                Some(at),
                Some(format!("stress.{name}")),
                format!("stress `{name}` has no shocks, bands or combine"),
                None,
            ));
        }
        let mut s = Stress {
            name: name.clone(),
            description: r.description.clone(),
            source: r.source.clone(),
            shocks: Vec::new(),
            bands: Vec::new(),
            at,
        };
        for k in 0..r.combine.len() {
            let (shocks, bands) = parts(file, combined(file, &raw, r, k)?)?;
            s.shocks.extend(shocks);
            s.bands.extend(bands);
        }
        let (shocks, bands) = parts(file, r)?;
        s.shocks.extend(shocks);
        s.bands.extend(bands);
        out.push(s);
    }
    Ok(out)
}

/// The stress that entry `k` of `r.combine` names: another stress, listed
/// once, that combines none itself.
fn combined<'a>(
    file: &StressFile,
    raw: &'a [RawStress],
    r: &RawStress,
    k: usize,
) -> Result<&'a RawStress, ScenarioErrors> {
    let name = r.name.get_ref();
    let c = &r.combine[k];
    let other = c.get_ref();
    let fail = |message: String, help: Option<String>| {
        file.error(
            Some(c.span().start),
            Some(format!("stress.{name}.combine")),
            message,
            help,
        )
    };
    if other == name {
        return Err(fail(format!("stress `{name}` cannot combine itself"), None));
    }
    if r.combine[..k].iter().any(|x| x.get_ref() == other) {
        return Err(fail(
            format!("`{other}` is listed twice"),
            Some("list each stress once; to apply a shock twice, write it in `shocks`".into()),
        ));
    }
    let names: Vec<&str> = raw.iter().map(|r| r.name.get_ref().as_str()).collect();
    let Some(j) = names.iter().position(|n| n == other) else {
        return Err(fail(
            format!("no stress is named `{other}`"),
            crate::error::suggest(other, &names),
        ));
    };
    if !raw[j].combine.is_empty() {
        return Err(fail(
            format!(
                "`{other}` combines other stresses itself; combine only stresses made of shocks and bands"
            ),
            None,
        ));
    }
    Ok(&raw[j])
}

fn parts(file: &StressFile, r: &RawStress) -> Result<(Vec<Shock>, Vec<BandSpec>), ScenarioErrors> {
    let name = r.name.get_ref();
    let mut shocks = Vec::new();
    for sh in &r.shocks {
        let at = sh.span().start;
        let raw = sh.get_ref();
        let op = match (&raw.multiply, &raw.shift, &raw.set) {
            (Some(m), None, None) => Op::Multiply(m.clone()),
            (None, Some(s), None) => Op::Shift(s.clone()),
            (None, None, Some(v)) => Op::Set(v.clone()),
            _ => {
                return Err(file.error(
                    Some(at),
                    Some(format!("stress.{name}.shocks.{}", raw.path)),
                    "a shock has exactly one of `multiply`, `shift` or `set`".into(),
                    None,
                ));
            }
        };
        shocks.push(Shock {
            path: raw.path.clone(),
            op,
            at,
        });
    }
    let bands = r
        .bands
        .iter()
        .map(|b| {
            let raw = b.get_ref();
            BandSpec {
                input: raw.input.clone(),
                percentiles: (raw.percentiles[0], raw.percentiles[1]),
                at: b.span().start,
            }
        })
        .collect();
    Ok((shocks, bands))
}

impl StressFile {
    /// Keeps only the stresses named in `only` (all of them when it is
    /// empty), before preparing: a stress that was not asked for may name
    /// paths another scenario lacks. An unknown name is a usage error of
    /// `--only`, with a suggestion.
    pub fn keep_only(&mut self, only: &[String]) -> Result<(), crate::Error> {
        let names: Vec<&str> = self.stresses.iter().map(|s| s.name.as_str()).collect();
        if let Some(missing) = only.iter().find(|o| !names.contains(&o.as_str())) {
            let help =
                crate::error::suggest(missing, &names).map_or(String::new(), |s| format!("; {s}"));
            return Err(crate::Error::Usage {
                option: format!("--only {missing}"),
                message: format!(
                    "{} has no stress of that name (it has {}){help}",
                    self.origin,
                    names.join(", ")
                ),
            });
        }
        if !only.is_empty() {
            self.stresses.retain(|s| only.contains(&s.name));
        }
        Ok(())
    }

    /// Each stress applied to the scenario (after `baseline` overrides),
    /// validated; errors are reported at the stress file's lines.
    pub fn prepare(&self, baseline: &[Override]) -> Result<Vec<Prepared>, ScenarioErrors> {
        let src = &self.scenario;
        let signed = scenario::load_str(&src.text, &src.origin, baseline)?.model;
        self.stresses
            .iter()
            .map(|s| self.prepare_one(src, s, baseline, &signed))
            .collect()
    }

    /// Stress `s` applied to the contract `signed` (the scenario with
    /// `baseline`): a blended payment keeps its fee.
    fn prepare_one(
        &self,
        src: &Source,
        s: &Stress,
        baseline: &[Override],
        signed: &Model,
    ) -> Result<Prepared, ScenarioErrors> {
        let (shocks, made_by) = self.shock_overrides(src, s, baseline)?;
        let overrides = [baseline, &shocks].concat();
        let loaded = scenario::load_str(&src.text, &src.origin, &overrides).map_err(|e| {
            let shock_of = |err: &ScenarioError| {
                let rest = err.file.strip_prefix("--set ")?;
                let path = rest.split_once('=').map_or(rest, |(p, _)| p);
                let i = overrides.iter().rposition(|o| o.path == path)?;
                i.checked_sub(baseline.len()).map(|j| &s.shocks[made_by[j]])
            };
            ScenarioErrors(
                e.0.into_iter()
                    .map(|err| self.attribute(s, shock_of(&err), err))
                    .collect(),
            )
        })?;
        let mut model = loaded.model;
        crate::engine::blend::hold_fee(&mut model, signed);
        let bands = self.bands(s, &model)?;
        Ok(Prepared {
            stress: s.clone(),
            model,
            overrides: shocks,
            bands,
        })
    }

    /// The overrides of every shock of `s`, in order, and for each the
    /// index of the shock that made it.
    fn shock_overrides(
        &self,
        src: &Source,
        s: &Stress,
        baseline: &[Override],
    ) -> Result<(Vec<Override>, Vec<usize>), ScenarioErrors> {
        let mut draft = Draft::new(src, baseline)?;
        let mut overrides = Vec::new();
        let mut made_by: Vec<usize> = Vec::new();
        for (k, shock) in s.shocks.iter().enumerate() {
            let key = Some(format!("stress.{}.shocks.{}", s.name, shock.path));
            let more = draft.shock(&shock.path, &shock.op).map_err(|p| {
                self.error(
                    Some(shock.at),
                    key.clone(),
                    format!(
                        "{} (stress `{}`, scenario {})",
                        p.message, s.name, src.origin
                    ),
                    p.help,
                )
            })?;
            made_by.extend(std::iter::repeat_n(k, more.len()));
            overrides.extend(more);
        }
        Ok((overrides, made_by))
    }

    /// A stressed scenario's error, placed at the shock that caused it, or
    /// naming the stress when the scenario itself reports it.
    fn attribute(
        &self,
        s: &Stress,
        shock: Option<&Shock>,
        mut err: ScenarioError,
    ) -> ScenarioError {
        if let Some(shock) = shock {
            let (line, column) = line_col(&self.text, shock.at);
            err.message = format!(
                "{} (stress `{}`: {} gives {})",
                err.message,
                s.name,
                shock.path,
                err.file.trim_start_matches("--set ")
            );
            err.file = self.origin.clone();
            (err.line, err.column) = (Some(line), Some(column));
        } else {
            err.message = format!(
                "{} (with stress `{}` of {})",
                err.message, s.name, self.origin
            );
        }
        err
    }

    /// The bands of `s`, resolved against the stressed model.
    fn bands(&self, s: &Stress, model: &Model) -> Result<Vec<Band>, ScenarioErrors> {
        let mut bands = Vec::new();
        for b in &s.bands {
            let key = Some(format!("stress.{}.bands.{}", s.name, b.input));
            let input = find_input(model, &b.input)
                .map_err(|p| self.error(Some(b.at), key.clone(), p.message, p.help))?;
            let (lo, hi) = b.percentiles;
            if !(0.0 <= lo && lo < hi && hi <= 100.0) {
                return Err(self.error(
                    Some(b.at),
                    key,
                    format!("percentiles must satisfy 0 <= lo < hi <= 100, got [{lo}, {hi}]"),
                    Some("e.g. percentiles = [0, 10] for the lowest tenth of the draws".into()),
                ));
            }
            bands.push(Band {
                input,
                lo: lo / 100.0,
                hi: hi / 100.0,
            });
        }
        check_bands(model, &bands).map_err(|m| {
            self.error(
                Some(s.at),
                Some(format!("stress.{}.bands", s.name)),
                m,
                None,
            )
        })?;
        Ok(bands)
    }
}
