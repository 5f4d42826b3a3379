//! The report and tables of `pbrsim voi`.

use super::stress::{fmt_value, write_csv};
use super::{csv_number, write_atomic};
use crate::engine::RunConfig;
use crate::error::Error;
use crate::figures::Unit;
use crate::stress::voi::Voi;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Where a design came from: its file (or the file and its variant's
/// values) and the scenario hash.
pub struct DesignSource {
    /// Where it came from, as shown.
    pub origin: String,
    /// The scenario hash.
    pub hash: String,
}

/// The value-of-information report.
pub fn render_voi(voi: &Voi, unit: Unit, sources: &[DesignSource], config: &RunConfig) -> String {
    let mut o = String::new();
    let better = if voi.spec.maximise { "more" } else { "less" };
    let _ = writeln!(
        o,
        "Value of information on {} ({better} is better): {} worlds on common random numbers, seed {}.\n",
        voi.spec.objective, config.iterations, config.seed
    );
    let name_w = voi
        .designs
        .iter()
        .map(|d| d.name.len())
        .max()
        .unwrap_or(6)
        .max(6)
        + 9;
    let _ = writeln!(
        o,
        "{:<name_w$} {:>16} {:>12} {:>9}  from",
        "design", "mean", "se", "best in"
    );
    for (k, (d, s)) in voi.designs.iter().zip(sources).enumerate() {
        let name = if k == voi.chosen {
            format!("{} (chosen)", d.name)
        } else {
            d.name.clone()
        };
        let _ = writeln!(
            o,
            "{name:<name_w$} {:>16} {:>12} {:>8.1}%  {}",
            fmt_value(unit, d.mean),
            fmt_value(unit, d.se),
            100.0 * d.best_share,
            s.origin
        );
    }
    let _ = writeln!(
        o,
        "(\"best in\": share of worlds in which the design does best, participant-level chance included)\n"
    );
    let e = &voi.evpi.value;
    let _ = writeln!(
        o,
        "Perfect information on every uncertain input (EVPI): {} (se {}; {} inputs, {} basis)",
        fmt_value(unit, e.value),
        fmt_value(unit, e.se),
        voi.evpi.inputs.len(),
        e.basis.as_str()
    );
    if voi.groups.is_empty() {
        let _ = writeln!(o, "No input of the designs is uncertain.");
        return o;
    }
    let group_w = voi
        .groups
        .iter()
        .map(|g| g.name.len())
        .max()
        .unwrap_or(5)
        .max(5);
    let _ = writeln!(o, "\nBy group of inputs (EVPPI):");
    let _ = writeln!(
        o,
        "{:<group_w$} {:>6} {:>16} {:>12} {:>9} {:>14}  basis",
        "group", "inputs", "EVPPI", "se", "of EVPI", "explained"
    );
    for g in &voi.groups {
        let v = &g.value;
        let share = if e.value > 0.0 {
            format!("{:.0}%", 100.0 * v.value / e.value)
        } else {
            "-".into()
        };
        let lo = v.explained.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = v
            .explained
            .iter()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max);
        let _ = writeln!(
            o,
            "{:<group_w$} {:>6} {:>16} {:>12} {:>9} {:>14}  {}",
            g.name,
            g.inputs.len(),
            fmt_value(unit, v.value),
            fmt_value(unit, v.se),
            share,
            format!("{:.0}-{:.0}%", 100.0 * lo, 100.0 * hi),
            v.basis.as_str()
        );
    }
    let _ = writeln!(
        o,
        "\nEVPPI: what resolving a group's uncertainty before choosing would gain, on average.\n\
         \"explained\": the range over designs of the share of the objective's variance the group's\n\
         inputs explain. Method and its assumptions: docs/value-of-information.md."
    );
    o
}

/// Writes voi.csv, voi_designs.csv, draws_long.csv and inputs.csv into
/// `dir`, each atomically; returns their paths.
pub fn write_voi(
    dir: &Path,
    voi: &Voi,
    sources: &[DesignSource],
    config: &RunConfig,
) -> Result<Vec<PathBuf>, Error> {
    let run = [
        config.seed.to_string(),
        config.iterations.to_string(),
        crate::VERSION.to_string(),
    ];
    let groups_header = [
        "group",
        "inputs",
        "objective",
        "evppi",
        "se",
        "se_sampling",
        "se_fit",
        "basis",
        "basis_columns",
        "explained_min",
        "explained_max",
        "seed",
        "iterations",
        "pbrsim_version",
    ];
    let groups: Vec<Vec<String>> = std::iter::once(&voi.evpi)
        .chain(&voi.groups)
        .map(|g| {
            let v = &g.value;
            let lo = v.explained.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = v
                .explained
                .iter()
                .copied()
                .fold(f64::NEG_INFINITY, f64::max);
            let mut r = vec![
                g.name.clone(),
                g.inputs.join(" "),
                voi.spec.objective.clone(),
                csv_number(v.value),
                csv_number(v.se),
                csv_number(v.se_sampling),
                csv_number(v.se_fit),
                v.basis.as_str().into(),
                v.columns.to_string(),
                csv_number(lo),
                csv_number(hi),
            ];
            r.extend(run.iter().cloned());
            r
        })
        .collect();
    let designs_header = [
        "design",
        "scenario",
        "scenario_hash",
        "objective",
        "mean",
        "se",
        "best_share",
        "chosen",
        "seed",
        "iterations",
        "pbrsim_version",
    ];
    let designs: Vec<Vec<String>> = voi
        .designs
        .iter()
        .zip(sources)
        .enumerate()
        .map(|(k, (d, s))| {
            let mut r = vec![
                d.name.clone(),
                s.origin.clone(),
                s.hash.clone(),
                voi.spec.objective.clone(),
                csv_number(d.mean),
                csv_number(d.se),
                csv_number(d.best_share),
                (k == voi.chosen).to_string(),
            ];
            r.extend(run.iter().cloned());
            r
        })
        .collect();
    let mut written = vec![
        write_csv(&dir.join("voi.csv"), &groups_header, &groups)?,
        write_csv(&dir.join("voi_designs.csv"), &designs_header, &designs)?,
    ];
    let table = &voi.table;
    let long = dir.join("draws_long.csv");
    write_atomic(&long, |w| {
        writeln!(w, "iteration,design,figure,value")?;
        let mut line = String::new();
        for i in 0..table.worlds() {
            for (d, design) in table.designs.iter().enumerate() {
                for (f, figure) in table.figures.iter().enumerate() {
                    let v = table.value(i, d, f);
                    if v.is_nan() {
                        continue;
                    }
                    line.clear();
                    let _ = writeln!(line, "{i},{design},{figure},{}", csv_number(v));
                    w.write_all(line.as_bytes())?;
                }
            }
        }
        Ok(())
    })?;
    written.push(long);
    let inputs = dir.join("inputs.csv");
    write_atomic(&inputs, |w| {
        let mut c = csv::Writer::from_writer(w);
        let mut header = vec!["iteration".to_string()];
        header.extend(table.inputs.iter().map(|(n, _)| n.clone()));
        c.write_record(&header)?;
        let mut row: Vec<String> = Vec::with_capacity(header.len());
        for i in 0..table.worlds() {
            row.clear();
            row.push(i.to_string());
            row.extend(table.inputs.iter().map(|(_, v)| csv_number(v[i])));
            c.write_record(&row)?;
        }
        c.flush()
    })?;
    written.push(inputs);
    Ok(written)
}
