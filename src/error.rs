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
    /// A run setting the library was given cannot be used: a thread count,
    /// a statistic or party the model lacks, a shock that makes the
    /// scenario invalid, a directory that is not a job's.
    #[error("{0}")]
    Setting(String),
    /// A command-line option is malformed or out of range.
    #[error("{option}: {message}")]
    Usage {
        /// The option as typed, with its value (`--between 5 1`).
        option: String,
        /// What is wrong and what to do.
        message: String,
    },
    /// A search found no answer in the range it was given: the statistic
    /// does not cross the target there (the run itself succeeded).
    #[error("{0}")]
    Unreachable(String),
    /// A sharded job's files are incomplete, foreign or damaged.
    #[error("{0}")]
    Batch(String),
    /// The caller asked the run to stop ([`crate::engine::Stop`]); nothing
    /// was written.
    #[error("interrupted")]
    Interrupted,
}

impl Error {
    /// Whether the error lies in what the user gave (files, scenario,
    /// options) rather than in running it: a command exits with 2 for bad
    /// input and 1 for a run that failed or found no answer.
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            Error::Read { .. } | Error::Scenario(_) | Error::Setting(_) | Error::Usage { .. }
        )
    }
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
