//! From a scenario file (plus `--set` overrides) to a validated [`Model`].
//!
//! Three steps, each reporting errors by file, line, column and key:
//! 1. parse the TOML text (syntax errors come with toml's own span);
//! 2. apply `--set PATH=VALUE` overrides to the parsed tree, then
//!    deserialize into the raw types of [`raw`] (unknown keys, wrong types);
//! 3. [`validate`] the raw scenario into the model (ranges, sums, references).
//!
//! Errors of steps 2 and 3 carry a key path; `locate` maps it back to a
//! line and column in the original text.
//!
//! Tools that derive a scenario's new values from the values it has
//! (stresses multiply what is there) edit it through a [`Draft`], which
//! returns the edits as overrides; nothing outside this module reads or
//! edits the TOML tree.
//!
//! **Invariant:** this module and `output` are the only ones that know the
//! file format; the engine sees only [`Model`].

mod defaults;
mod edit;
mod locate;
#[allow(missing_docs)] // mirrors the file format, documented in docs/scenario-format.md
pub mod raw;
mod source;
mod uncertain;
mod validate;

use crate::error::{Error, Problem, ScenarioError, ScenarioErrors};
use crate::model::Model;
use std::path::Path;

pub use edit::{Amount, Draft, Op};
pub use source::{
    DEFAULT_SCENARIO, DEFAULT_SCENARIO_NAME, MAX_FILE_BYTES, Source, read_text, value_text,
};
pub use validate::{KeyProblem, validate};

/// 1-based line and column of a byte offset in `text`.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    locate::line_col(text, offset)
}

/// A `--set PATH=VALUE` override, as typed.
#[derive(Clone, Debug, PartialEq)]
pub struct Override {
    /// Dotted path, e.g. `segments.jsa_25_plus.referrals_per_month`.
    pub path: String,
    /// A TOML value (`1200`, `[1, 2]`, `{ dist = "uniform", min = 0, max = 1 }`),
    /// or bare text taken as a string.
    pub value: String,
}

impl std::str::FromStr for Override {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (path, value) = s.split_once('=').ok_or_else(|| {
            format!("`{s}` is not PATH=VALUE, e.g. segments.jsa_25_plus.referrals_per_month=1200")
        })?;
        let path = path.trim();
        if path.is_empty() {
            return Err(format!("`{s}` has an empty path"));
        }
        Ok(Override {
            path: path.to_string(),
            value: value.trim().to_string(),
        })
    }
}

/// A loaded scenario: the model plus what identifies it in outputs.
#[derive(Clone, Debug)]
pub struct Loaded {
    /// The validated model.
    pub model: Model,
    /// Where it came from.
    pub origin: String,
    /// SHA-256 of the scenario text and the overrides, hex.
    pub hash: String,
}

/// Reads, parses and validates a scenario file.
pub fn load_file(path: &Path, overrides: &[Override]) -> Result<Loaded, Error> {
    let source = Source::read(path)?;
    Ok(load_str(&source.text, &source.origin, overrides)?)
}

/// Parses and validates scenario text; `origin` names it in errors.
pub fn load_str(
    text: &str,
    origin: &str,
    overrides: &[Override],
) -> Result<Loaded, ScenarioErrors> {
    let fail = |line, column, key: Option<String>, message: String, help: Option<String>| {
        ScenarioErrors(vec![ScenarioError {
            file: origin.to_string(),
            line,
            column,
            key,
            message,
            help,
        }])
    };
    if text.trim().is_empty() {
        return Err(fail(
            None,
            None,
            None,
            "the scenario is empty".into(),
            Some(
                "start from scenarios/minimal.toml; docs/scenario-format.md lists every key".into(),
            ),
        ));
    }
    if text.contains('\0') {
        return Err(fail(
            None,
            None,
            None,
            "not a text file (it contains NUL bytes)".into(),
            Some("a scenario is a TOML text file; see docs/scenario-format.md".into()),
        ));
    }
    let mut table = tree(text, origin, overrides)?;
    let found = uncertain::take(&mut table);
    let build = |table: &toml::Table| -> Result<Model, ScenarioErrors> {
        let raw = deserialize(table, &found, text, origin, overrides)?;
        validate(&raw).map_err(|errors| located(errors, text, origin, overrides))
    };
    let model = if found.is_empty() {
        build(&table)?
    } else {
        let raw = deserialize(&table, &found, text, origin, overrides)?;
        let keys = uncertain_keys(&table, &found, &raw.uncertainty.factors)
            .map_err(|errors| located(errors, text, origin, overrides))?;
        with_uncertain_keys(table, &found, keys, &build)?
    };
    let mut model = model;
    if model.payments.blended.is_some() {
        let drawn_prices: Vec<KeyProblem> = model
            .uncertain_keys
            .iter()
            .filter(|k| matches!(k.target, crate::model::Target::Tariff(..)))
            .map(|k| KeyProblem {
                key: k.path.clone(),
                problem: Problem::with_help(
                    "a price cannot be uncertain in a blended contract: its fee per referral is set from the prices when the contract is signed",
                    Some("give the price as a number, or leave out [payments.blended]".into()),
                ),
            })
            .collect();
        if !drawn_prices.is_empty() {
            return Err(located(drawn_prices, text, origin, overrides));
        }
        crate::engine::blend::from_plan(&mut model);
    }
    Ok(Loaded {
        model,
        origin: origin.to_string(),
        hash: scenario_hash(text, overrides),
    })
}

/// The base model of a scenario with uncertain plain keys (each at its
/// mean), after checking that every value a draw can take validates: each
/// key at its lowest and highest possible draw, and every key at its
/// highest at once (for the bounds on counts and money). Unknown keys and
/// wrong types were reported before, with the distributions' placeholders.
fn with_uncertain_keys(
    mut table: toml::Table,
    found: &[uncertain::Found],
    keys: Vec<crate::model::UncertainKey>,
    build: &dyn Fn(&toml::Table) -> Result<Model, ScenarioErrors>,
) -> Result<Model, ScenarioErrors> {
    for (key, f) in keys.iter().zip(found) {
        uncertain::set(&mut table, f, key.param.mean());
    }
    let mut model = build(&table)?;
    let noted = |at: &toml::Table, note: &dyn Fn(&str) -> String| {
        build(at).map(drop).map_err(|mut e| {
            for error in &mut e.0 {
                error.message = note(&error.message);
            }
            e
        })
    };
    for (key, f) in keys.iter().zip(found) {
        let (lo, hi) = key.param.extremes();
        for (x, which) in [(lo, "lowest"), (hi, "highest")] {
            let mut at = table.clone();
            uncertain::set(&mut at, f, x);
            noted(&at, &|m| {
                format!(
                    "with `{}` at its {which} possible draw ({x}): {m}",
                    key.path
                )
            })?;
        }
    }
    if keys.len() > 1 {
        let mut at = table.clone();
        for (key, f) in keys.iter().zip(found) {
            uncertain::set(&mut at, f, key.param.extremes().1);
        }
        noted(&at, &|m| {
            format!("with every uncertain key at its highest possible draw: {m}")
        })?;
    }
    model.uncertain_keys = keys;
    Ok(model)
}

/// The raw scenario of a tree; a distribution found at a key that is not a
/// number is refused as such.
fn deserialize(
    table: &toml::Table,
    found: &[uncertain::Found],
    text: &str,
    origin: &str,
    overrides: &[Override],
) -> Result<raw::RawScenario, ScenarioErrors> {
    serde_path_to_error::deserialize(toml::Value::Table(table.clone())).map_err(|e| {
        let path = clean_path(&e.path().to_string());
        let inner = e.into_inner();
        // A distribution where the key is not a number (a misspelled key
        // keeps serde's "unknown field" error and its suggestion).
        let unknown = inner.message().starts_with("unknown field");
        if !unknown && found.iter().any(|f| f.path == path) {
            let problem = uncertain::refusal(&path);
            return located(
                vec![KeyProblem { key: path, problem }],
                text,
                origin,
                overrides,
            );
        }
        ScenarioErrors(vec![locate::serde_error(
            text,
            origin,
            &path,
            inner.message(),
            overrides,
        )])
    })
}

/// Validation problems located in the text (or in the `--set` that made them).
fn located(
    errors: Vec<KeyProblem>,
    text: &str,
    origin: &str,
    overrides: &[Override],
) -> ScenarioErrors {
    ScenarioErrors(
        errors
            .into_iter()
            .map(|KeyProblem { key, problem }| {
                locate::at_key(text, origin, &key, problem.message, problem.help, overrides)
            })
            .collect(),
    )
}

/// The uncertain plain keys of a scenario: what each sets, and its
/// distribution.
fn uncertain_keys(
    table: &toml::Table,
    found: &[uncertain::Found],
    factors: &[String],
) -> Result<Vec<crate::model::UncertainKey>, Vec<KeyProblem>> {
    let mut keys = Vec::new();
    let mut problems = Vec::new();
    for f in found {
        let target = match uncertain::target(table, &f.path) {
            Ok(t) => t,
            Err(problem) => {
                problems.push(KeyProblem {
                    key: f.path.clone(),
                    problem,
                });
                continue;
            }
        };
        let raw = match uncertain::raw_dist(f) {
            Ok(raw) => raw,
            Err((key, message)) => {
                problems.push(KeyProblem {
                    key,
                    problem: Problem::new(message),
                });
                continue;
            }
        };
        match validate::key_param(&f.path, &raw, factors) {
            Ok(param) => keys.push(crate::model::UncertainKey {
                path: f.path.clone(),
                param,
                target,
                stream_tag: crate::rng::path_tag(&f.path),
            }),
            Err(p) => problems.extend(p),
        }
    }
    if problems.is_empty() {
        Ok(keys)
    } else {
        Err(problems)
    }
}

/// A TOML file's tree (a scenario, sweep or stress file), or its syntax
/// error located in `origin`.
pub fn parse_toml(text: &str, origin: &str) -> Result<toml::Table, ScenarioErrors> {
    text.parse().map_err(|e: toml::de::Error| {
        let (line, column) = e.span().map(|s| locate::line_col(text, s.start)).unzip();
        ScenarioErrors(vec![ScenarioError {
            file: origin.to_string(),
            line,
            column,
            key: None,
            message: format!("invalid TOML: {}", e.message().trim()),
            help: None,
        }])
    })
}

/// The scenario's TOML tree with `overrides` applied, before
/// deserialization.
fn tree(text: &str, origin: &str, overrides: &[Override]) -> Result<toml::Table, ScenarioErrors> {
    let mut table = parse_toml(text, origin)?;
    for o in overrides {
        apply(&mut table, o)?;
    }
    Ok(table)
}

/// Applies one override to a scenario tree.
fn apply(table: &mut toml::Table, o: &Override) -> Result<(), ScenarioErrors> {
    apply_override(table, o).map_err(|Problem { message, help }| {
        ScenarioErrors(vec![ScenarioError {
            file: format!("--set {}={}", o.path, o.value),
            line: None,
            column: None,
            key: Some(o.path.clone()),
            message,
            help,
        }])
    })
}

/// The value at a dotted path (`a.b[2].c`) of a scenario tree, if present.
fn lookup<'a>(table: &'a toml::Table, path: &str) -> Option<&'a toml::Value> {
    let mut node: Option<&toml::Value> = None;
    for part in path.split('.') {
        let (key, index) = split_index(part)?;
        let t = match node {
            None => table,
            Some(toml::Value::Table(t)) => t,
            Some(_) => return None,
        };
        let mut v = t.get(key)?;
        if let Some(ix) = index {
            v = v.as_array()?.get(ix)?;
        }
        node = Some(v);
    }
    node
}

/// SHA-256 over the scenario text and each override, in order.
pub fn scenario_hash(text: &str, overrides: &[Override]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(text.as_bytes());
    for o in overrides {
        h.update(b"\0--set\0");
        h.update(o.path.as_bytes());
        h.update(b"=");
        h.update(o.value.as_bytes());
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// serde_path_to_error prints `.` for the root and `segments.x` otherwise.
fn clean_path(p: &str) -> String {
    if p == "." {
        String::new()
    } else {
        p.to_string()
    }
}

/// Tables keyed by identifiers: a `--set` below them must name an existing id.
const ID_TABLES: [&str; 3] = ["segments", "subcontractors", "investors"];

fn apply_override(root: &mut toml::Table, o: &Override) -> Result<(), Problem> {
    let value = parse_value(&o.value);
    let parts: Vec<&str> = o.path.split('.').collect();
    let mut table = root;
    for (i, part) in parts.iter().enumerate() {
        let (key, index) = split_index(part)
            .ok_or_else(|| Problem::new(format!("`{part}` is not a key or key[index]")))?;
        let last = i + 1 == parts.len();
        let under_ids = i > 0 && ID_TABLES.contains(&parts[i - 1]) && i == 1;
        if !table.contains_key(key) && (under_ids || index.is_some()) {
            let keys: Vec<&str> = table.keys().map(|k| k.as_str()).collect();
            return Err(Problem::with_help(
                format!("`{key}` does not exist at `{}`", parts[..i].join(".")),
                crate::error::suggest(key, &keys),
            ));
        }
        if last && index.is_none() {
            table.insert(key.to_string(), value);
            return Ok(());
        }
        let entry = table
            .entry(key.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        let entry = match index {
            Some(ix) => match entry {
                toml::Value::Array(items) => {
                    let n = items.len();
                    items.get_mut(ix).ok_or_else(|| {
                        Problem::new(format!(
                            "index {ix} is out of range: `{key}` has {n} entries"
                        ))
                    })?
                }
                _ => return Err(Problem::new(format!("`{key}` is not an array"))),
            },
            None => entry,
        };
        if last {
            *entry = value;
            return Ok(());
        }
        table = match entry {
            toml::Value::Table(t) => t,
            _ => {
                return Err(Problem::new(format!(
                    "`{}` is a value, not a table",
                    parts[..=i].join(".")
                )));
            }
        };
    }
    Ok(())
}

fn split_index(part: &str) -> Option<(&str, Option<usize>)> {
    match part.split_once('[') {
        None => Some((part, None)),
        Some((key, rest)) => {
            let ix = rest.strip_suffix(']')?.parse().ok()?;
            Some((key, Some(ix)))
        }
    }
}

/// A TOML value, or the text itself as a string when it is not one.
fn parse_value(text: &str) -> toml::Value {
    match format!("v = {text}").parse::<toml::Table>() {
        Ok(mut t) => t.remove("v").unwrap_or(toml::Value::String(text.into())),
        Err(_) => toml::Value::String(text.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_parse_values_and_reject_bad_paths() {
        let o: Override = "a.b=12".parse().unwrap();
        assert_eq!(
            o,
            Override {
                path: "a.b".into(),
                value: "12".into()
            }
        );
        assert!("novalue".parse::<Override>().is_err());
        let mut t: toml::Table = "[segments.x]\nv = 1\n[payments]\nlags = [1, 2]"
            .parse()
            .unwrap();
        apply_override(&mut t, &"segments.x.v=2.5".parse().unwrap()).unwrap();
        assert_eq!(t["segments"]["x"]["v"].as_float(), Some(2.5));
        apply_override(&mut t, &"payments.lags[1]=7".parse().unwrap()).unwrap();
        assert_eq!(t["payments"]["lags"][1].as_integer(), Some(7));
        let err = apply_override(&mut t, &"segments.y.v=1".parse().unwrap()).unwrap_err();
        assert!(err.message.contains("`y` does not exist"), "{err:?}");
        apply_override(&mut t, &"commissioner.label=Department".parse().unwrap()).unwrap();
        assert_eq!(t["commissioner"]["label"].as_str(), Some("Department"));
    }
}
