//! Everything a run writes: the terminal report, `summary.json`, tidy CSV
//! tables, and optional raw draws.
//!
//! **Invariant:** a file appears complete or not at all. Each is written to
//! a temporary file in the output directory and renamed into place, and
//! nothing is created before the scenario has validated.

mod chart;
mod html;
mod report;
pub mod stress;
mod tables;
mod voi;
mod workbook;

pub use html::{Figure, Report, explain_recorded, render_html, write_html, write_report_page};
pub use report::{fmt_pounds, render_comparison, render_report, render_validation};
pub use tables::write_comparison;
pub use tables::{
    DrawsWriter, FIGURE_QUANTILES, allocation_records, cost_per_attributable_outcome, csv_number,
    figure_records, quantile_column, ratio, risk_records, write_outputs,
};
pub use voi::{DesignSource, render_voi, write_voi};
pub use workbook::write_workbook;

use crate::error::Error;
use std::io::Write;
use std::path::Path;

/// Identifies a run in every output.
#[derive(Clone, Debug)]
pub struct RunInfo {
    /// Scenario name.
    pub scenario_name: String,
    /// Where the scenario came from.
    pub scenario_origin: String,
    /// SHA-256 of scenario text and overrides.
    pub scenario_hash: String,
    /// Seed.
    pub seed: u64,
    /// Iterations run.
    pub iterations: u64,
    /// pbrsim version.
    pub version: String,
    /// The `--set` overrides, as typed.
    pub overrides: Vec<String>,
    /// Levels of value at risk and expected shortfall, e.g. 0.95.
    pub risk_levels: Vec<f64>,
    /// Quantile levels reported for every figure.
    pub quantiles: Vec<f64>,
}

impl RunInfo {
    /// The identity of a run of `loaded` with `overrides` applied, from
    /// `seed`, of `iterations` (updated when `--precision` stops early),
    /// reporting `quantiles` and `risk_levels`, by this version of pbrsim.
    pub fn new(
        loaded: &crate::scenario::Loaded,
        overrides: &[crate::scenario::Override],
        seed: u64,
        iterations: u64,
        quantiles: &[f64],
        risk_levels: &[f64],
    ) -> RunInfo {
        RunInfo {
            scenario_name: loaded.model.name.clone(),
            scenario_origin: loaded.origin.clone(),
            scenario_hash: loaded.hash.clone(),
            seed,
            iterations,
            version: crate::VERSION.to_string(),
            overrides: overrides
                .iter()
                .map(|o| format!("{}={}", o.path, o.value))
                .collect(),
            risk_levels: risk_levels.to_vec(),
            quantiles: quantiles.to_vec(),
        }
    }
}

/// Refuses levels outside (0, 1), quantile levels that would name the
/// same column (`0.05` and `0.0501` are both `p5`) and a risk level given
/// twice: either would write the same statistic twice under one name.
pub fn check_levels(quantiles: &[f64], risk_levels: &[f64]) -> Result<(), Error> {
    for (option, levels) in [("--quantiles", quantiles), ("--risk-levels", risk_levels)] {
        if let Some(l) = levels.iter().find(|l| !(**l > 0.0 && **l < 1.0)) {
            return Err(Error::Usage {
                option: format!("{option} {l}"),
                message: "a level must be in (0, 1)".into(),
            });
        }
    }
    for (i, q) in quantiles.iter().enumerate() {
        let column = quantile_column(*q);
        if let Some(earlier) = quantiles[..i]
            .iter()
            .find(|e| quantile_column(**e) == column)
        {
            return Err(Error::Usage {
                option: format!("--quantiles {earlier},{q}"),
                message: format!("both are column {column}: give each quantile once"),
            });
        }
    }
    for (i, r) in risk_levels.iter().enumerate() {
        if risk_levels[..i].contains(r) {
            return Err(Error::Usage {
                option: format!("--risk-levels {r}"),
                message: "given twice: give each level once".into(),
            });
        }
    }
    Ok(())
}

/// Creates output directory `dir` (and its parents) if missing.
pub fn create_dir(dir: &Path) -> Result<(), Error> {
    std::fs::create_dir_all(dir).map_err(|source| Error::Write {
        path: dir.to_path_buf(),
        source,
    })
}

/// Writes `path` atomically: a temporary file beside it, then a rename.
pub fn write_atomic(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(), Error> {
    let err = |source| Error::Write {
        path: path.to_path_buf(),
        source,
    };
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(err)?;
    {
        let mut buf = std::io::BufWriter::new(tmp.as_file_mut());
        write(&mut buf).map_err(err)?;
        buf.flush().map_err(err)?;
    }
    tmp.as_file().sync_all().map_err(err)?;
    tmp.persist(path).map_err(|e| err(e.error))?;
    publish_permissions(path).map_err(err)
}

/// Temporary files are created private; results are ordinary files.
pub(crate) fn publish_permissions(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644))?;
    }
    let _ = path;
    Ok(())
}
