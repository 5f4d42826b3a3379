//! A scenario as text, with the name it is shown under: what a batch job
//! records, what commands that rebuild a scenario with new values start
//! from, and how a value is written back as `--set` text.

use crate::error::{Error, ScenarioError, ScenarioErrors};
use std::io::Read;
use std::path::Path;

/// The largest scenario, sweep or stress file read (16 MiB): the biggest
/// shipped scenario is a few kilobytes, and a file is read whole, so a
/// limit keeps a mistaken path (a log, a disk image) from filling memory.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// The text of a scenario, sweep or stress file: the one way such a file
/// is read. Refuses, before reading, anything but a regular file (a
/// directory, a device such as `/dev/zero`, a FIFO that would block) and a
/// file over [`MAX_FILE_BYTES`]; then the text must be UTF-8. A UTF-8
/// byte-order mark at the start is dropped (editors on Windows write one).
pub fn read_text(path: &Path) -> Result<String, Error> {
    let refuse = |message: String| Error::Read {
        path: path.to_path_buf(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidInput, message),
    };
    let io = |source| Error::Read {
        path: path.to_path_buf(),
        source,
    };
    let too_big = || {
        refuse(format!(
            "larger than {} MiB, the most an input file may be; give a TOML text file",
            MAX_FILE_BYTES >> 20
        ))
    };
    // Metadata first: opening a FIFO would wait for a writer.
    let meta = std::fs::metadata(path).map_err(io)?;
    if !meta.is_file() {
        let kind = if meta.is_dir() {
            "a directory"
        } else {
            "a device, FIFO or socket"
        };
        return Err(refuse(format!(
            "not a regular file ({kind}); give a TOML text file"
        )));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(too_big());
    }
    // The file may have grown since: read one byte past the limit at most.
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes))
        .map_err(io)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(too_big());
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        ScenarioErrors(vec![ScenarioError {
            file: path.display().to_string(),
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
    Ok(match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_string(),
        None => text,
    })
}

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
    /// The file at `path`, which must be UTF-8 text (read by [`read_text`]).
    pub fn read(path: &Path) -> Result<Source, Error> {
        Ok(Source {
            origin: path.display().to_string(),
            text: read_text(path)?,
        })
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
