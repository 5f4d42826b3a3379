//! Library errors. Messages are lowercase, name what is wrong and where, and
//! say what to do.

use std::fmt;
use std::path::PathBuf;

/// Anything the library can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The scenario is malformed or out of range.
    #[error(transparent)]
    Scenario(#[from] ScenarioErrors),
    /// An output file could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A run option is out of range.
    #[error("{0}")]
    Option(String),
    /// A sharded job's files are incomplete, foreign or damaged.
    #[error("{0}")]
    Batch(String),
}

/// One problem in a scenario, located as precisely as the input allows.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioError {
    /// The scenario file, or `--set` for a command-line override.
    pub file: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub column: Option<usize>,
    /// Dotted path of the key, e.g. `segments.jsa_25_plus.sustained.dropout`.
    pub key: Option<String>,
    /// What is wrong and what was expected.
    pub message: String,
    /// A suggestion, e.g. a correctly spelled key.
    pub help: Option<String>,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(col) = self.column {
                write!(f, ":{col}")?;
            }
        }
        write!(f, ": {}", self.message)?;
        if let Some(key) = &self.key {
            write!(f, "\n  key: {key}")?;
        }
        if let Some(help) = &self.help {
            write!(f, "\n  help: {help}")?;
        }
        Ok(())
    }
}

/// What is wrong and, when something can be said, what to do: an error
/// before it is placed at a file, line and key.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// What is wrong and what was expected.
    pub message: String,
    /// A suggestion, e.g. a correctly spelled key.
    pub help: Option<String>,
}

impl Problem {
    /// A problem with no suggestion.
    pub fn new(message: impl Into<String>) -> Problem {
        Problem {
            message: message.into(),
            help: None,
        }
    }

    /// A problem with a suggestion, when there is one.
    pub fn with_help(message: impl Into<String>, help: Option<String>) -> Problem {
        Problem {
            message: message.into(),
            help,
        }
    }
}

/// Every problem found in one scenario (validation reports them all).
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioErrors(pub Vec<ScenarioError>);

impl fmt::Display for ScenarioErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ScenarioErrors {}

/// The closest candidate to `typed`, if one is close enough to be a typo.
pub fn suggest(typed: &str, candidates: &[&str]) -> Option<String> {
    let best = candidates
        .iter()
        .map(|c| (strsim::damerau_levenshtein(typed, c), *c))
        .min_by_key(|(d, _)| *d)?;
    let limit = (typed.chars().count().max(best.1.chars().count()) / 3).max(2);
    (best.0 <= limit).then(|| format!("did you mean `{}`?", best.1))
}
