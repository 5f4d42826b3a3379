//! A design's outputs: `design.csv` (every candidate), `pareto.csv` (the
//! front of public value against provider risk) and the printed report,
//! also kept as `report.txt`. Columns are listed in docs/design.md.

use super::race::Status;
use super::{DesignFile, Manifest, Results};
use crate::error::Error;
use crate::output::write_atomic;
use std::path::{Path, PathBuf};

/// A candidate's term as a CSV field.
fn term(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Float(x) => format!("{x}"),
        toml::Value::Boolean(b) => b.to_string(),
        other => crate::scenario::value_text(other),
    }
}

/// A number as a CSV field: shortest round-trip form, empty when undefined.
fn num(x: f64) -> String {
    if x.is_finite() {
        format!("{x}")
    } else {
        String::new()
    }
}

fn terms_header(design: &DesignFile) -> Vec<String> {
    let mut h = vec!["candidate".to_string()];
    if design.sweep.scenarios.len() > 1 {
        h.push("scenario".into());
    }
    h.extend(design.sweep.parameters.iter().cloned());
    h
}

fn terms_of(design: &DesignFile, c: usize) -> Vec<String> {
    let p = &design.sweep.points[c];
    let mut r = vec![c.to_string()];
    if design.sweep.scenarios.len() > 1 {
        r.push(design.sweep.scenarios[p.scenario].origin.clone());
    }
    r.extend(p.values.iter().map(term));
    r
}

/// Writes `design.csv`, `pareto.csv` and `report.txt` into `dir`.
pub fn write(
    dir: &Path,
    design: &DesignFile,
    manifest: &Manifest,
    results: &Results,
) -> Result<Vec<PathBuf>, Error> {
    let k = design.constraints.len();
    let mut header = terms_header(design);
    header.extend(
        ["status", "best", "stages", "iterations", "dominated_by"]
            .iter()
            .map(|s| s.to_string()),
    );
    header.extend(
        ["objective", "objective_low", "objective_high"]
            .iter()
            .map(|s| s.to_string()),
    );
    for j in 1..=k {
        for s in ["p", "p_low", "p_high", "verdict"] {
            header.push(format!("c{j}_{s}"));
        }
    }
    let tail = [
        "value",
        "value_low",
        "value_high",
        "risk",
        "risk_low",
        "risk_high",
    ];
    header.extend(tail.iter().map(|s| s.to_string()));
    header.extend(["seed", "pbrsim_version"].iter().map(|s| s.to_string()));
    let triple = |t: (f64, f64, f64)| [num(t.0), num(t.1), num(t.2)];
    let common = |c: usize| {
        let e = &results.estimates[c];
        let mut r = triple(e.value).to_vec();
        r.extend(triple(e.risk));
        r.push(manifest.seed.to_string());
        r.push(manifest.pbrsim_version.clone());
        r
    };
    let path = dir.join("design.csv");
    write_atomic(&path, |w| {
        let mut out = csv::Writer::from_writer(w);
        out.write_record(&header)?;
        for c in 0..design.sweep.points.len() {
            let s = &results.standings[c];
            let e = &results.estimates[c];
            let mut r = terms_of(design, c);
            r.push(s.status.as_str().into());
            r.push((results.best == Some(c)).to_string());
            r.push(s.stages.to_string());
            r.push(e.iterations.to_string());
            r.push(s.dominated_by.map_or(String::new(), |d| d.to_string()));
            r.extend(triple(e.objective));
            for j in 0..k {
                r.extend(triple(e.constraints[j]));
                r.push(s.verdicts[j].as_str().into());
            }
            r.extend(common(c));
            out.write_record(&r)?;
        }
        out.flush()
    })?;
    let pareto = dir.join("pareto.csv");
    write_atomic(&pareto, |w| {
        let mut out = csv::Writer::from_writer(w);
        let mut h = terms_header(design);
        h.extend(["status", "iterations"].iter().map(|s| s.to_string()));
        h.extend(tail.iter().map(|s| s.to_string()));
        h.extend(["seed", "pbrsim_version"].iter().map(|s| s.to_string()));
        out.write_record(&h)?;
        for &c in &results.pareto {
            let mut r = terms_of(design, c);
            r.push(results.standings[c].status.as_str().into());
            r.push(results.estimates[c].iterations.to_string());
            r.extend(common(c));
            out.write_record(&r)?;
        }
        out.flush()
    })?;
    let report = dir.join("report.txt");
    let text = render(design, results);
    write_atomic(&report, |w| w.write_all(text.as_bytes()))?;
    Ok(vec![path, pareto, report])
}

/// A value in a report: money as whole pounds with separators, a
/// probability as a percentage, anything else with 4 significant digits.
fn show(x: f64, probability: bool) -> String {
    if !x.is_finite() {
        return "-".into();
    }
    if probability {
        return format!("{:.1}%", 100.0 * x);
    }
    if x.abs() >= 1000.0 {
        let r = x.round() as i64;
        let digits = r.unsigned_abs().to_string();
        let mut s = String::new();
        for (i, ch) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                s.push(',');
            }
            s.push(ch);
        }
        return if r < 0 { format!("-{s}") } else { s };
    }
    format!("{x:.4}")
}

fn interval(t: (f64, f64, f64), probability: bool) -> String {
    format!(
        "{} [{} .. {}]",
        show(t.0, probability),
        show(t.1, probability),
        show(t.2, probability)
    )
}

/// The report printed at the end of a design.
pub fn render(design: &DesignFile, results: &Results) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let c = design.sweep.points.len();
    let direction = if design.objective.maximise {
        "maximise"
    } else {
        "minimise"
    };
    let _ = writeln!(
        s,
        "Design {}: {c} candidate(s); {direction} {}",
        design.sweep.origin,
        design.objective.statistic.name()
    );
    for o in &design.sweep.fixed {
        let _ = writeln!(s, "  every candidate sets {} = {}", o.path, o.value);
    }
    for (j, k) in design.constraints.iter().enumerate() {
        let _ = writeln!(
            s,
            "  constraint c{}: P({}) <= {}",
            j + 1,
            k.event.text(),
            show(k.at_most, true)
        );
    }
    let _ = writeln!(
        s,
        "Confidence {}: each bound one-sided at level {:.3e} (Bonferroni over stages, candidates and tests)",
        show(design.confidence, true),
        results.alpha
    );
    for (i, (racing, n)) in results.stages.iter().enumerate() {
        let _ = writeln!(
            s,
            "  stage {}: {racing} candidate(s) racing, {n} iterations each",
            i + 1
        );
    }
    let count = |st: Status| results.standings.iter().filter(|x| x.status == st).count();
    let _ = writeln!(
        s,
        "Outcome: {} feasible, {} infeasible, {} dominated, {} too close to call",
        count(Status::Feasible),
        count(Status::Infeasible),
        count(Status::Dominated),
        count(Status::TooCloseToCall)
    );
    let describe = |s: &mut String, c: usize| {
        let p = &design.sweep.points[c];
        if design.sweep.scenarios.len() > 1 {
            let _ = writeln!(
                s,
                "    scenario {}",
                design.sweep.scenarios[p.scenario].origin
            );
        }
        for (path, v) in design.sweep.parameters.iter().zip(&p.values) {
            let _ = writeln!(s, "    {path} = {}", term(v));
        }
        let e = &results.estimates[c];
        let _ = writeln!(
            s,
            "    {}: {} ({} iterations)",
            design.objective.statistic.name(),
            interval(e.objective, false),
            e.iterations
        );
        for (j, k) in design.constraints.iter().enumerate() {
            let _ = writeln!(
                s,
                "    P({}): {} ({})",
                k.event.text(),
                interval(e.constraints[j], true),
                results.standings[c].verdicts[j].as_str()
            );
        }
    };
    match results.best {
        Some(b) => {
            let _ = writeln!(s, "\nBest feasible design: candidate {b}");
            describe(&mut s, b);
            let others: Vec<String> = (0..c)
                .filter(|&x| x != b && results.standings[x].status == Status::Feasible)
                .map(|x| x.to_string())
                .collect();
            if !others.is_empty() {
                let _ = writeln!(
                    s,
                    "  Also feasible and not separated from it at this confidence: {}",
                    others.join(", ")
                );
            }
        }
        None => {
            let _ = writeln!(s, "\nNo candidate is feasible with the stated confidence.");
        }
    }
    let close: Vec<usize> = (0..c)
        .filter(|&x| results.standings[x].status == Status::TooCloseToCall)
        .collect();
    for x in close {
        let _ = writeln!(s, "\nToo close to call: candidate {x}");
        describe(&mut s, x);
    }
    let _ = writeln!(
        s,
        "\nPareto front of {} (higher is better) against P({}): {} design(s), in pareto.csv",
        design.value.name(),
        design.risk.text(),
        results.pareto.len()
    );
    for &x in &results.pareto {
        let e = &results.estimates[x];
        let _ = writeln!(
            s,
            "  candidate {x:>4}: {} {}, P {} ({})",
            design.value.name(),
            show(e.value.0, false),
            show(e.risk.0, true),
            results.standings[x].status.as_str()
        );
    }
    s
}
