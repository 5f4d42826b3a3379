//! A scenario as text, with the name it is shown under: what a batch job
//! records, what commands that rebuild a scenario with new values start
//! from, and how a value is written back as `--set` text.

use crate::error::{Error, ScenarioError, ScenarioErrors};
use std::path::Path;

/// The scenario shipped inside the binary, used when a command is given no file.
pub const DEFAULT_SCENARIO: &str = include_str!("../../scenarios/work_programme.toml");
/// The name reported for the embedded scenario.
pub const DEFAULT_SCENARIO_NAME: &str = "scenarios/work_programme.toml (embedded)";

/// A scenario's text and where it came from.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Source {
    /// Where it came from, as shown in outputs.
    pub origin: String,
    /// Its text.
    pub text: String,
}

impl Source {
    /// The file at `path`, which must be UTF-8 text.
    pub fn read(path: &Path) -> Result<Source, Error> {
        let bytes = std::fs::read(path).map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let origin = path.display().to_string();
        let text = String::from_utf8(bytes).map_err(|e| {
            ScenarioErrors(vec![ScenarioError {
                file: origin.clone(),
                line: None,
                column: None,
                key: None,
                message: format!(
                    "not a UTF-8 text file (invalid byte at offset {})",
                    e.utf8_error().valid_up_to()
                ),
                help: Some("a scenario is a TOML text file; see docs/scenario-format.md".into()),
            }])
        })?;
        Ok(Source { origin, text })
    }

    /// The embedded Work Programme scenario.
    pub fn embedded() -> Source {
        Source {
            origin: DEFAULT_SCENARIO_NAME.into(),
            text: DEFAULT_SCENARIO.into(),
        }
    }

    /// Whether the scenario, with `overrides`, gives the value at `path`
    /// as a whole number (so a value put in its place should be one too);
    /// false when the scenario does not parse.
    pub fn is_whole_number(&self, overrides: &[crate::scenario::Override], path: &str) -> bool {
        super::Draft::new(self, overrides).is_ok_and(|d| d.is_whole_number(path))
    }

    /// The file at `path`, or the embedded scenario when there is none.
    pub fn read_or_embedded(path: Option<&Path>) -> Result<Source, Error> {
        path.map_or_else(|| Ok(Source::embedded()), Source::read)
    }
}

/// A TOML value as `--set` text that reads back as the same value (floats
/// keep a decimal point, so `2.0` stays a float; NaN is `nan`).
pub fn value_text(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => toml::Value::String(s.clone()).to_string(),
        toml::Value::Float(x) => {
            let t = format!("{x:?}");
            if x.is_nan() {
                "nan".into()
            } else if t.contains('.') || t.contains('e') || t.contains("inf") {
                t
            } else {
                format!("{t}.0")
            }
        }
        other => other.to_string(),
    }
}
