//! Edits to a scenario's values computed from the values it has: what
//! stresses and reverse stress tests do to a scenario before it is
//! validated.
//!
//! A [`Draft`] is the scenario's TOML tree with its `--set` overrides
//! applied. [`Draft::shock`] multiplies, shifts or sets the value at a key
//! path (a number, a list of numbers, an uncertain parameter or a list of
//! them) and returns the edit as `--set` overrides, so that what a stress
//! did can be reproduced with `pbrsim run --set`. An uncertain parameter is
//! shocked through its `scale` and `shift` keys, so each world keeps its
//! percentile. Every edit is also made to the draft, so later shocks on the
//! same path compose.

use super::{Override, Source, defaults, value_text};
use crate::error::{Problem, ScenarioErrors, suggest};
use serde::Deserialize;

/// A number or one number per element.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Amount {
    /// The same for every element.
    One(f64),
    /// Element by element.
    Each(Vec<f64>),
}

/// What a shock does to the value at its path.
#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    /// Multiply (a number, each number of a list, or each draw).
    Multiply(Amount),
    /// Add.
    Shift(Amount),
    /// Replace.
    Set(toml::Value),
}

/// A scenario's values, with overrides applied, being edited.
#[derive(Clone, Debug)]
pub struct Draft {
    tree: toml::Table,
}

impl Draft {
    /// The scenario `source` with `overrides` applied.
    pub fn new(source: &Source, overrides: &[Override]) -> Result<Draft, ScenarioErrors> {
        Ok(Draft {
            tree: super::tree(&source.text, &source.origin, overrides)?,
        })
    }

    /// Whether the scenario gives the value at `path` as a whole number
    /// (so a value put there in its place should be one too).
    pub fn is_whole_number(&self, path: &str) -> bool {
        super::lookup(&self.tree, path).is_some_and(|v| v.is_integer())
    }

    /// Applies `op` at `path`; returns the overrides that reproduce it, in
    /// order. A key the scenario leaves out is shocked from its default.
    pub fn shock(&mut self, path: &str, op: &Op) -> Result<Vec<Override>, Problem> {
        let mut edits = Vec::new();
        let (amount, multiply) = match op {
            Op::Set(v) => {
                self.set(&mut edits, path.to_string(), v.clone())?;
                return Ok(edits);
            }
            Op::Multiply(a) => (a, true),
            Op::Shift(a) => (a, false),
        };
        let current = match super::lookup(&self.tree, path) {
            Some(v) => v.clone(),
            None => match defaults::number(&self.tree, path) {
                Some(d) => toml::Value::Float(d),
                None => return Err(self.not_there(path)),
            },
        };
        let what = if multiply { "multiply" } else { "shift" };
        match (current, amount) {
            (toml::Value::Array(items), amount) => {
                let each: Vec<f64> = match amount {
                    Amount::One(x) => vec![*x; items.len()],
                    Amount::Each(v) if v.len() == items.len() => v.clone(),
                    Amount::Each(v) => {
                        return Err(Problem::with_help(
                            format!(
                                "`{path}` has {} entries but the shock lists {}",
                                items.len(),
                                v.len()
                            ),
                            Some("give one number for every entry, or a single number".into()),
                        ));
                    }
                };
                for (k, (item, x)) in items.iter().zip(each).enumerate() {
                    self.shock_one(&mut edits, &format!("{path}[{k}]"), item, x, multiply)?;
                }
            }
            (v, Amount::One(x)) => self.shock_one(&mut edits, path, &v, *x, multiply)?,
            (_, Amount::Each(_)) => {
                return Err(Problem::new(format!(
                    "`{path}` is a single value; {what} it by one number"
                )));
            }
        }
        Ok(edits)
    }

    /// Why a missing key cannot be multiplied or shifted, suggesting a
    /// sibling key for a misspelled last part.
    fn not_there(&self, path: &str) -> Problem {
        let (parent, last) = path.rsplit_once('.').unwrap_or(("", path));
        let siblings: Vec<&str> = match super::lookup(&self.tree, parent) {
            Some(toml::Value::Table(t)) if !parent.is_empty() => {
                t.keys().map(|k| k.as_str()).collect()
            }
            _ => Vec::new(),
        };
        let help = suggest(last, &siblings).unwrap_or_else(|| {
            "check the path (the keys of `pbrsim run --set`), or give the value with `set`".into()
        });
        Problem::with_help(
            format!("`{path}` is not in the scenario, so there is nothing to multiply or shift"),
            Some(help),
        )
    }

    /// Sets one value, in the draft and as an override.
    fn set(
        &mut self,
        edits: &mut Vec<Override>,
        path: String,
        value: toml::Value,
    ) -> Result<(), Problem> {
        let o = Override {
            path,
            value: value_text(&value),
        };
        super::apply_override(&mut self.tree, &o)?;
        edits.push(o);
        Ok(())
    }

    /// Shocks one value: a number, or a distribution table through its
    /// `scale` and `shift` keys.
    fn shock_one(
        &mut self,
        edits: &mut Vec<Override>,
        path: &str,
        value: &toml::Value,
        x: f64,
        multiply: bool,
    ) -> Result<(), Problem> {
        if !x.is_finite() {
            return Err(Problem::new(format!(
                "the shock on `{path}` must be a finite number"
            )));
        }
        let apply = |v: f64| if multiply { v * x } else { v + x };
        match value {
            toml::Value::Integer(n) => {
                self.set(edits, path.into(), whole_if_near(apply(*n as f64)))
            }
            toml::Value::Float(v) => self.set(edits, path.into(), toml::Value::Float(apply(*v))),
            toml::Value::Table(t) if t.contains_key("dist") => {
                let get = |k: &str, d: f64| {
                    t.get(k)
                        .and_then(|v| v.as_float().or(v.as_integer().map(|i| i as f64)))
                        .unwrap_or(d)
                };
                let (scale, shift) = (get("scale", defaults::SCALE), get("shift", defaults::SHIFT));
                let (scale, shift) = if multiply {
                    (scale * x, shift * x)
                } else {
                    (scale, shift + x)
                };
                self.set(edits, format!("{path}.scale"), toml::Value::Float(scale))?;
                self.set(edits, format!("{path}.shift"), toml::Value::Float(shift))
            }
            other => Err(Problem::new(format!(
                "`{path}` is {}, not a number or a distribution; it can only be `set`",
                other.type_str()
            ))),
        }
    }
}

/// A shocked integer stays an integer when the result is whole, to
/// rounding (100 x 0.07 is 7.000000000000001).
fn whole_if_near(v: f64) -> toml::Value {
    let whole = v.round();
    if (v - whole).abs() <= 1e-9 * whole.abs().max(1.0) && whole.abs() < 9e15 {
        toml::Value::Integer(whole as i64)
    } else {
        toml::Value::Float(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(text: &str) -> Draft {
        Draft::new(
            &Source {
                origin: "test".into(),
                text: text.into(),
            },
            &[],
        )
        .unwrap()
    }

    #[test]
    fn shocks_become_overrides_that_compose() {
        let mut d = draft(
            r#"
            [uncertainty]
            volume = { dist = "lognormal", median = 1.0, sigma = 0.2 }
            macro_by_year = [0.8, { dist = "uniform", min = 0.9, max = 1.1 }]
            [segments.a]
            referrals_per_month = [100, 200]
            reserves = 5000
        "#,
        );
        let o = d
            .shock("uncertainty.volume", &Op::Multiply(Amount::One(0.7)))
            .unwrap();
        assert_eq!(
            o.iter()
                .map(|o| (o.path.as_str(), o.value.as_str()))
                .collect::<Vec<_>>(),
            [
                ("uncertainty.volume.scale", "0.7"),
                ("uncertainty.volume.shift", "0.0")
            ]
        );
        d.shock("uncertainty.volume", &Op::Shift(Amount::One(-0.1)))
            .unwrap();
        d.shock("uncertainty.volume", &Op::Multiply(Amount::One(0.5)))
            .unwrap();
        // (0.7 x - 0.1) * 0.5 = 0.35 x - 0.05
        let t = &d.tree;
        assert_eq!(t["uncertainty"]["volume"]["scale"].as_float(), Some(0.35));
        assert_eq!(t["uncertainty"]["volume"]["shift"].as_float(), Some(-0.05));
        d.shock(
            "uncertainty.macro_by_year",
            &Op::Multiply(Amount::Each(vec![0.5, 2.0])),
        )
        .unwrap();
        let t = &d.tree;
        assert_eq!(t["uncertainty"]["macro_by_year"][0].as_float(), Some(0.4));
        assert_eq!(
            t["uncertainty"]["macro_by_year"][1]["scale"].as_float(),
            Some(2.0)
        );
        d.shock(
            "segments.a.referrals_per_month",
            &Op::Multiply(Amount::One(0.34)),
        )
        .unwrap();
        // An integer stays an integer when the result is whole.
        let t = &d.tree;
        assert_eq!(
            t["segments"]["a"]["referrals_per_month"][1].as_integer(),
            Some(68)
        );
        assert_eq!(
            t["segments"]["a"]["referrals_per_month"][0].as_integer(),
            Some(34)
        );
        d.shock("segments.a.reserves", &Op::Multiply(Amount::One(0.5)))
            .unwrap();
        assert_eq!(d.tree["segments"]["a"]["reserves"].as_integer(), Some(2500));
        assert!(d.is_whole_number("segments.a.reserves"));
        assert!(!d.is_whole_number("uncertainty.macro_by_year[0]"));
        // Absent uncertainty keys have their defaults.
        d.shock("uncertainty.cost", &Op::Multiply(Amount::One(1.15)))
            .unwrap();
        assert_eq!(d.tree["uncertainty"]["cost"].as_float(), Some(1.15));
        let err = d
            .shock("segments.a.nothing", &Op::Multiply(Amount::One(2.0)))
            .unwrap_err();
        assert!(err.message.contains("not in the scenario"), "{err:?}");
        let err = d
            .shock(
                "uncertainty.macro_by_year",
                &Op::Multiply(Amount::Each(vec![1.0])),
            )
            .unwrap_err();
        assert!(err.message.contains("has 2 entries"), "{err:?}");
    }

    #[test]
    fn macro_has_no_default_beside_macro_by_year() {
        let mut d = draft("[uncertainty]\nmacro_by_year = [0.9]\n");
        let err = d
            .shock("uncertainty.macro", &Op::Multiply(Amount::One(0.5)))
            .unwrap_err();
        assert!(err.message.contains("not in the scenario"), "{err:?}");
        let mut d = draft("name = \"x\"\n");
        d.shock("uncertainty.macro", &Op::Multiply(Amount::One(0.5)))
            .unwrap();
        assert_eq!(d.tree["uncertainty"]["macro"].as_float(), Some(0.5));
    }
}
