//! One Excel workbook of a results directory (`report.xlsx`): a sheet per
//! table the command wrote, typed numbers, frozen header rows, and the
//! run's identity on its own sheet.
//!
//! It is built from the files in the directory, the same CSVs every other
//! tool reads, so it holds their numbers and nothing computed twice. A CSV
//! longer than a sheet can hold (Excel's 1,048,576 rows) is left out, and
//! the identity sheet says so.

use super::write_atomic;
use crate::error::Error;
use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, Workbook, Worksheet, XlsxError};
use std::path::{Path, PathBuf};

/// Rows of a worksheet, the header included.
const MAX_ROWS: usize = 1_048_576;
/// The longest sheet name Excel accepts.
const MAX_NAME: usize = 31;
/// Tables of a run come first, in the order of `docs/outputs.md`.
const FIRST: [&str; 6] = [
    "figures.csv",
    "risk.csv",
    "allocation.csv",
    "monthly.csv",
    "distribution.csv",
    "draws.csv",
];
/// Columns that hold text even when it looks like a number.
fn is_text_column(name: &str) -> bool {
    name.contains("hash")
        || name.ends_with("fingerprint")
        || name == "pbrsim_version"
        || name == "scenario"
}

/// A table read from a CSV file.
pub(super) struct Table {
    pub(super) name: String,
    pub(super) header: Vec<String>,
    pub(super) rows: Vec<Vec<String>>,
}

pub(super) fn read_table(path: &Path) -> Result<Table, Error> {
    read_head(path, usize::MAX).map(|(t, _)| t)
}

/// Reads at most `max` rows of a CSV, and how many it has.
pub(super) fn read_head(path: &Path, max: usize) -> Result<(Table, usize), Error> {
    let err = |e: csv::Error| Error::Read {
        path: path.to_path_buf(),
        source: std::io::Error::other(e.to_string()),
    };
    let mut reader = csv::Reader::from_path(path).map_err(err)?;
    let header = reader
        .headers()
        .map_err(err)?
        .iter()
        .map(String::from)
        .collect();
    let (mut rows, mut count) = (Vec::new(), 0);
    for record in reader.records() {
        let record = record.map_err(err)?;
        if count < max {
            rows.push(record.iter().map(String::from).collect());
        }
        count += 1;
    }
    let name = path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    Ok((Table { name, header, rows }, count))
}

/// The CSV files of `dir`, a run's tables first, then the others by name.
pub(super) fn tables_in(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let entries = std::fs::read_dir(dir).map_err(|source| Error::Read {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut csvs: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "csv"))
        .collect();
    let rank = |p: &PathBuf| {
        let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
        let first = name
            .as_deref()
            .and_then(|n| FIRST.iter().position(|f| *f == n));
        (first.unwrap_or(FIRST.len()), name)
    };
    csvs.sort_by_key(rank);
    Ok(csvs)
}

fn sheet_name(file: &str) -> String {
    let stem = file.strip_suffix(".csv").unwrap_or(file);
    // Excel refuses these in sheet names.
    let clean: String = stem
        .chars()
        .map(|c| if "[]:*?/\\".contains(c) { '_' } else { c })
        .collect();
    clean.chars().take(MAX_NAME).collect()
}

fn xlsx(e: XlsxError) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

fn write_sheet(sheet: &mut Worksheet, table: &Table, bold: &Format) -> Result<(), XlsxError> {
    sheet.set_name(sheet_name(&table.name))?;
    for (c, h) in table.header.iter().enumerate() {
        sheet.write_string_with_format(0, c as u16, h, bold)?;
    }
    let text: Vec<bool> = table.header.iter().map(|h| is_text_column(h)).collect();
    for (r, row) in table.rows.iter().enumerate() {
        let r = r as u32 + 1;
        for (c, cell) in row.iter().enumerate() {
            if cell.is_empty() {
                continue;
            }
            let col = c as u16;
            match cell.parse::<f64>() {
                Ok(x) if x.is_finite() && !text.get(c).copied().unwrap_or(false) => {
                    sheet.write_number(r, col, x)?
                }
                _ => sheet.write_string(r, col, cell)?,
            };
        }
    }
    sheet.set_freeze_panes(1, 0)?;
    sheet.autofit();
    Ok(())
}

/// The identity of the run: `summary.json`'s scenario and settings when
/// the directory has one, and the identity columns of every table.
pub(super) fn identity(
    dir: &Path,
    tables: &[Table],
    left_out: &[(String, usize)],
) -> Vec<(String, String)> {
    let mut rows: Vec<(String, String)> = Vec::new();
    if let Ok(text) = std::fs::read_to_string(dir.join("summary.json"))
        && let Ok(summary) = serde_json::from_str::<serde_json::Value>(&text)
    {
        let s = &summary["scenario"];
        let plain = |v: &serde_json::Value| match v {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Null => String::new(),
            v => v.to_string(),
        };
        for (label, v) in [
            ("scenario", &s["name"]),
            ("scenario file", &s["origin"]),
            ("scenario hash", &s["hash"]),
            ("seed", &summary["seed"]),
            ("iterations", &summary["iterations"]),
            ("sampling", &summary["sampling"]["method"]),
            ("randomisations", &summary["sampling"]["randomisations"]),
            ("currency", &summary["currency"]),
            ("horizon (months)", &summary["horizon_months"]),
            ("pbrsim version", &summary["pbrsim_version"]),
        ] {
            // Only a Sobol' run has randomisations (and older results no
            // sampling at all).
            if v.is_null() && matches!(label, "sampling" | "randomisations") {
                continue;
            }
            rows.push((label.into(), plain(v)));
        }
        if let Some(o) = s["overrides"].as_array() {
            for v in o {
                rows.push(("override".into(), plain(v)));
            }
        }
    }
    const IDENTITY: [&str; 9] = [
        "scenario_hash",
        "scenario_hash_a",
        "scenario_hash_b",
        "sweep_fingerprint",
        "sampling",
        "randomisations",
        "seed",
        "iterations",
        "pbrsim_version",
    ];
    for t in tables {
        let Some(first) = t.rows.first() else {
            continue;
        };
        for (h, v) in t.header.iter().zip(first) {
            // An empty cell (randomisations of a plain run) identifies nothing.
            if IDENTITY.contains(&h.as_str()) && !v.is_empty() {
                rows.push((format!("{} {h}", t.name), v.clone()));
            }
        }
    }
    for (name, n) in left_out {
        rows.push((
            name.clone(),
            format!("{n} rows: more than a sheet holds, left out (read the CSV)"),
        ));
    }
    rows
}

/// Writes `report.xlsx` in `dir` from the CSV tables there (and
/// `summary.json` for the identity sheet). Fails if `dir` holds no table.
pub fn write_workbook(dir: &Path) -> Result<PathBuf, Error> {
    let mut tables = Vec::new();
    let mut left_out = Vec::new();
    for path in tables_in(dir)? {
        let t = read_table(&path)?;
        if t.rows.len() + 1 > MAX_ROWS {
            left_out.push((t.name.clone(), t.rows.len()));
        } else {
            tables.push(t);
        }
    }
    if tables.is_empty() {
        return Err(Error::Setting(format!(
            "{} holds no pbrsim tables (.csv): give the --out directory of a pbrsim command",
            dir.display()
        )));
    }
    let path = dir.join("report.xlsx");
    let io = |e: std::io::Error| Error::Write {
        path: path.clone(),
        source: e,
    };
    let mut book = Workbook::new();
    // A fixed creation date: the same tables give the same file, byte for
    // byte (the run's identity is on the first sheet).
    let epoch = ExcelDateTime::from_ymd(2000, 1, 1).map_err(|e| io(xlsx(e)))?;
    book.set_properties(&DocProperties::new().set_creation_datetime(&epoch));
    let bold = Format::new().set_bold();
    let about = book.add_worksheet();
    about.set_name("run").map_err(|e| io(xlsx(e)))?;
    about
        .write_string_with_format(0, 0, "item", &bold)
        .and_then(|s| s.write_string_with_format(0, 1, "value", &bold))
        .map_err(|e| io(xlsx(e)))?;
    for (r, (k, v)) in identity(dir, &tables, &left_out).iter().enumerate() {
        let r = r as u32 + 1;
        about
            .write_string(r, 0, k)
            .and_then(|s| match v.parse::<f64>() {
                Ok(x) if x.is_finite() && !k.contains("hash") => s.write_number(r, 1, x),
                _ => s.write_string(r, 1, v),
            })
            .map_err(|e| io(xlsx(e)))?;
    }
    about.set_freeze_panes(1, 0).map_err(|e| io(xlsx(e)))?;
    about.autofit();
    for t in &tables {
        write_sheet(book.add_worksheet(), t, &bold).map_err(|e| io(xlsx(e)))?;
    }
    let bytes = book.save_to_buffer().map_err(|e| io(xlsx(e)))?;
    write_atomic(&path, |w| w.write_all(&bytes))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sheet_names_are_ones_excel_accepts() {
        assert_eq!(sheet_name("figures.csv"), "figures");
        assert_eq!(sheet_name("a:b?.csv"), "a_b_");
        assert_eq!(sheet_name(&"x".repeat(40)).len(), MAX_NAME);
    }

    #[test]
    fn identifiers_stay_text() {
        assert!(is_text_column("scenario_hash"));
        assert!(is_text_column("scenario_hash_b"));
        assert!(is_text_column("sweep_fingerprint"));
        assert!(is_text_column("pbrsim_version"));
        assert!(!is_text_column("mean"));
        assert!(!is_text_column("seed"));
    }
}
