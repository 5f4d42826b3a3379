//! `report.html`: one self-contained page of a results directory, with a
//! chart, its numbers and a one-sentence reading for each result.
//!
//! Like the workbook, it is drawn from the files in the directory (the
//! CSVs and `summary.json` every other tool reads), never from a second
//! computation: whatever command wrote the directory, the sections its
//! tables support appear. Charts are SVG made in Rust (`chart.rs`); the
//! page has its styles inline and one small script (saving a chart as an
//! SVG file), and asks for nothing over the network. It is written as
//! well-formed XML (polyglot HTML), so a strict parser reads it.

use super::chart::{
    Band, Chart, Format, Line, Mark, PALETTE, Point, Row, Rows, Segment, XY, escape,
};
use super::workbook::{Table, identity, read_head, read_table, tables_in};
use super::write_atomic;
use crate::error::Error;
use serde_json::Value;
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// Tables read whole for the report's sections; others are shown as
/// tables of their first rows.
const CHARTED: [&str; 17] = [
    "figures.csv",
    "risk.csv",
    "allocation.csv",
    "monthly.csv",
    "distribution.csv",
    "compare.csv",
    "stress.csv",
    "tornado.csv",
    "sobol.csv",
    "evidence.csv",
    "solve.csv",
    "solve_path.csv",
    "reverse_stress.csv",
    "failure_rules.csv",
    "voi.csv",
    "design.csv",
    "pareto.csv",
];
/// Rows shown of a table the report has no chart for.
const MAX_PLAIN_ROWS: usize = 200;
/// Tables longer than this are folded under "numbers" (still in the page).
const OPEN_TABLE_ROWS: usize = 14;
/// Tables of one row per iteration: too long to show.
const SKIPPED: [&str; 2] = ["draws.csv", "draws_long.csv"];

/// A chart with its reading and its numbers.
pub struct Figure {
    /// Element id, also the SVG file's name.
    pub id: String,
    /// Title.
    pub title: String,
    /// One sentence in plain words on what it shows.
    pub reading: String,
    /// The SVG.
    pub svg: String,
    /// Its numbers: header and rows.
    pub table: (Vec<String>, Vec<Vec<String>>),
}

/// A table's header and rows.
type Grid = (Vec<String>, Vec<Vec<String>>);

struct Section {
    id: String,
    title: String,
    intro: String,
    figures: Vec<Figure>,
    /// Preformatted text (the contract explained).
    pre: Option<String>,
    /// Plain tables: caption, header, rows, a note.
    tables: Vec<(String, Grid, String)>,
}

impl Section {
    fn new(id: &str, title: &str, intro: &str) -> Section {
        Section {
            id: id.into(),
            title: title.into(),
            intro: intro.into(),
            figures: Vec::new(),
            pre: None,
            tables: Vec::new(),
        }
    }
}

impl Figure {
    fn of(chart: &impl Chart, id: impl Into<String>, reading: String, table: Grid) -> Figure {
        let id = id.into();
        Figure {
            svg: chart.svg(&id, &reading),
            title: chart.title().to_string(),
            id,
            reading,
            table,
        }
    }
}

impl Table {
    fn col(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|h| h == name)
    }
    fn text<'t>(&self, row: &'t [String], name: &str) -> &'t str {
        self.col(name)
            .and_then(|c| row.get(c))
            .map_or("", |s| s.as_str())
    }
    fn num(&self, row: &[String], name: &str) -> f64 {
        self.text(row, name).parse().unwrap_or(f64::NAN)
    }
}

/// The report of a directory: the page and each chart's SVG.
pub struct Report {
    /// `report.html`'s text.
    pub html: String,
    /// Every chart, in page order.
    pub figures: Vec<Figure>,
}

/// Everything read from the directory.
struct Dir {
    summary: Option<Value>,
    tables: Vec<Table>,
    others: Vec<(Table, usize)>,
    identity: Vec<(String, String)>,
    money: Format,
}

impl Dir {
    fn table(&self, name: &str) -> Option<&Table> {
        self.tables
            .iter()
            .find(|t| t.name == name && !t.rows.is_empty())
    }
    fn label_of(&self, id: &str) -> String {
        self.summary
            .as_ref()
            .and_then(|s| s["parties"].as_array())
            .and_then(|ps| ps.iter().find(|p| p["id"] == id))
            .and_then(|p| p["label"].as_str())
            .map_or_else(|| id.to_string(), String::from)
    }
    fn colour_of(&self, id: &str) -> &'static str {
        let i = self
            .summary
            .as_ref()
            .and_then(|s| s["parties"].as_array())
            .and_then(|ps| ps.iter().position(|p| p["id"] == id))
            .unwrap_or(PALETTE.len() - 1);
        PALETTE[i % PALETTE.len()]
    }
}

fn symbol(currency: &str) -> String {
    match currency {
        "GBP" => "£".into(),
        "EUR" => "€".into(),
        "USD" => "$".into(),
        "" => String::new(),
        c => format!("{c} "),
    }
}

fn read_dir(dir: &Path) -> Result<Dir, Error> {
    let summary = std::fs::read_to_string(dir.join("summary.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok());
    let mut tables = Vec::new();
    let mut others = Vec::new();
    for path in tables_in(dir)? {
        let name = path
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        if CHARTED.contains(&name.as_str()) || name == "sweep.csv" {
            tables.push(read_table(&path)?);
        } else if SKIPPED.contains(&name.as_str()) {
            let (t, count) = read_head(&path, 0)?;
            others.push((t, count));
        } else {
            others.push(read_head(&path, MAX_PLAIN_ROWS)?);
        }
    }
    if tables.is_empty() && others.is_empty() {
        return Err(Error::Setting(format!(
            "{} holds no pbrsim tables (.csv): give the --out directory of a pbrsim command",
            dir.display()
        )));
    }
    let all: Vec<Table> = tables
        .iter()
        .chain(others.iter().map(|(t, _)| t))
        .map(|t| Table {
            name: t.name.clone(),
            header: t.header.clone(),
            rows: t.rows.iter().take(1).cloned().collect(),
        })
        .collect();
    let identity = identity(dir, &all, &[]);
    let currency = summary
        .as_ref()
        .and_then(|s| s["currency"].as_str())
        .unwrap_or("GBP");
    let money = Format::Money(symbol(currency));
    Ok(Dir {
        summary,
        tables,
        others,
        identity,
        money,
    })
}

fn cell(f: &Format, x: f64) -> String {
    if !x.is_finite() {
        return String::new();
    }
    match f {
        Format::Money(_) => super::fmt_pounds(x),
        Format::Percent => format!("{:.2}%", 100.0 * x),
        Format::Number => {
            if x.abs() >= 1e4 {
                super::fmt_pounds(x)
            } else {
                format!("{}", (x * 1e4).round() / 1e4)
            }
        }
    }
}

fn header(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

/// Rows of a figure's table: a text column, then numbers in `format`.
fn table_rows<'r>(
    t: &Table,
    rows: impl IntoIterator<Item = &'r Vec<String>>,
    text: &str,
    numbers: &[&str],
    format: &Format,
) -> Vec<Vec<String>> {
    rows.into_iter()
        .map(|r| {
            std::iter::once(t.text(r, text).to_string())
                .chain(numbers.iter().map(|c| cell(format, t.num(r, c))))
                .collect()
        })
        .collect()
}

fn unit_format(dir: &Dir, unit: &str) -> Format {
    match unit {
        "money" => dir.money.clone(),
        "probability" => Format::Percent,
        _ => Format::Number,
    }
}

/// A dotted statistic `party.figure`'s party.
fn party_of(statistic: &str) -> &str {
    statistic.split('.').next().unwrap_or(statistic)
}

fn ids(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

fn providers(dir: &Dir) -> Vec<(String, f64, f64)> {
    dir.summary
        .as_ref()
        .and_then(|s| s["parties"].as_array())
        .map(|ps| {
            ps.iter()
                .filter(|p| p.get("reserves").is_some())
                .map(|p| {
                    (
                        p["id"].as_str().unwrap_or_default().to_string(),
                        p["reserves"].as_f64().unwrap_or(f64::NAN),
                        p["credit_line"].as_f64().unwrap_or(f64::NAN),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn parties(dir: &Dir) -> Vec<String> {
    dir.summary
        .as_ref()
        .and_then(|s| s["parties"].as_array())
        .map(|ps| {
            ps.iter()
                .filter_map(|p| p["id"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

fn fan(dir: &Dir, id: &str, reserves: f64, credit: f64) -> Option<Figure> {
    let t = dir.table("monthly.csv")?;
    let rows: Vec<&Vec<String>> = t
        .rows
        .iter()
        .filter(|r| t.text(r, "party") == id && t.text(r, "series") == "cumulative_cash")
        .collect();
    if rows.is_empty() {
        return None;
    }
    let col = |name: &str| rows.iter().map(|r| t.num(r, name)).collect::<Vec<f64>>();
    let (month, p5, p25, p50, p75, p95) = (
        col("month"),
        col("p5"),
        col("p25"),
        col("p50"),
        col("p75"),
        col("p95"),
    );
    let label = dir.label_of(id);
    let m = &dir.money;
    let mut c = XY::new(
        &format!("{label}: cash by month"),
        "month",
        "cumulative cash (reserves plus flows)",
        Format::Number,
        m.clone(),
    );
    c.x = month.clone();
    let colour = dir.colour_of(id);
    c.bands.push(Band {
        label: "90% of worlds".into(),
        lo: p5.clone(),
        hi: p95.clone(),
        colour,
        opacity: 0.16,
    });
    c.bands.push(Band {
        label: "50% of worlds".into(),
        lo: p25.clone(),
        hi: p75.clone(),
        colour,
        opacity: 0.32,
    });
    c.lines.push(Line {
        label: "median".into(),
        y: p50.clone(),
        colour,
        dashed: false,
    });
    let failure_point = -credit;
    if reserves > 0.0 && credit > 0.0 {
        c.h_marks.push(Mark {
            value: 0.0,
            label: "reserves spent".into(),
            colour: "#8a5a00",
        });
    }
    if failure_point.is_finite() {
        let what = if credit > 0.0 {
            format!("fails below {} (credit line)", m.label(failure_point))
        } else {
            "fails below zero (no credit line)".into()
        };
        c.h_marks.push(Mark {
            value: failure_point,
            label: what,
            colour: "#b00020",
        });
    }
    let argmin = |v: &[f64]| {
        v.iter()
            .enumerate()
            .filter(|(_, x)| x.is_finite())
            .min_by(|a, b| a.1.total_cmp(b.1))
            .map(|(i, x)| (i, *x))
    };
    let reading = match (argmin(&p50), argmin(&p5)) {
        (Some((i, low)), Some((j, worst))) => format!(
            "Starting from reserves of {}, the median world's cash is lowest in month {} at {}; in one world in twenty it falls to {} or less (month {}), against a failure point of {}.",
            m.label(reserves),
            month[i],
            m.label(low),
            m.label(worst),
            month[j],
            m.label(failure_point)
        ),
        _ => "No cash figures were recorded.".into(),
    };
    let table = (
        ["month", "p5", "p25", "median", "p75", "p95"]
            .map(String::from)
            .to_vec(),
        (0..rows.len())
            .map(|k| {
                std::iter::once(format!("{}", month[k]))
                    .chain(
                        [p5[k], p25[k], p50[k], p75[k], p95[k]]
                            .iter()
                            .map(|x| cell(m, *x)),
                    )
                    .collect()
            })
            .collect(),
    );
    Some(Figure::of(&c, format!("fan-{}", ids(id)), reading, table))
}

fn failure_curve(dir: &Dir, id: &str, iterations: f64) -> Option<Figure> {
    let t = dir.table("monthly.csv")?;
    let rows: Vec<&Vec<String>> = t
        .rows
        .iter()
        .filter(|r| t.text(r, "party") == id && t.text(r, "series") == "cumulative_cash")
        .collect();
    let month: Vec<f64> = rows.iter().map(|r| t.num(r, "month")).collect();
    let p: Vec<f64> = rows
        .iter()
        .map(|r| t.num(r, "cumulative_failure_probability"))
        .collect();
    if p.iter().all(|x| !x.is_finite()) {
        return None;
    }
    let label = dir.label_of(id);
    let mut c = XY::new(
        &format!("{label}: probability of having failed, by month"),
        "month",
        "P(failed by this month)",
        Format::Number,
        Format::Percent,
    );
    c.x = month.clone();
    c.y_zero = true;
    c.lines.push(Line {
        label: String::new(),
        y: p.clone(),
        colour: "#b00020",
        dashed: false,
    });
    let last = *p.last().unwrap_or(&f64::NAN);
    // The run's own error of P(failed), which is the randomisations' in a
    // Sobol' run; the binomial one when the table lacks it.
    let se = dir
        .table("figures.csv")
        .and_then(|t| {
            t.rows
                .iter()
                .find(|r| t.text(r, "party") == id && t.text(r, "figure") == "failed")
                .map(|r| t.num(r, "mean_se"))
        })
        .filter(|se| se.is_finite())
        .unwrap_or_else(|| (last * (1.0 - last) / iterations).sqrt());
    let first = p.iter().position(|x| *x > 0.0);
    let reading = match first {
        None => format!(
            "{label} did not fail in any of the {} worlds simulated (a 95% upper bound on the probability is {}).",
            iterations,
            Format::Percent.label(3.0 / iterations)
        ),
        Some(i) => format!(
            "By month {}, {label} has failed in {} of worlds (standard error {}); the first failures come in month {}.",
            month.last().copied().unwrap_or(0.0),
            Format::Percent.label(last),
            Format::Percent.label(se),
            month[i]
        ),
    };
    let table = (
        vec!["month".into(), "P(failed by month)".into()],
        month
            .iter()
            .zip(&p)
            .map(|(m, x)| vec![format!("{m}"), cell(&Format::Percent, *x)])
            .collect(),
    );
    Some(Figure::of(
        &c,
        format!("failure-{}", ids(id)),
        reading,
        table,
    ))
}

fn histogram(dir: &Dir, id: &str) -> Option<Figure> {
    let t = dir.table("distribution.csv")?;
    let rows: Vec<&Vec<String>> = t
        .rows
        .iter()
        .filter(|r| t.text(r, "party") == id && t.text(r, "figure") == "net")
        .collect();
    if rows.is_empty() {
        return None;
    }
    let m = &dir.money;
    let label = dir.label_of(id);
    let mut c = XY::new(
        &format!("{label}: net value across worlds"),
        "net value",
        "share of worlds",
        m.clone(),
        Format::Percent,
    );
    c.columns = rows
        .iter()
        .map(|r| (t.num(r, "low"), t.num(r, "high"), t.num(r, "probability")))
        .collect();
    let mean = dir.table("figures.csv").and_then(|f| {
        f.rows
            .iter()
            .find(|r| f.text(r, "party") == id && f.text(r, "figure") == "net")
            .map(|r| f.num(r, "mean"))
    });
    let risk = dir.table("risk.csv").and_then(|f| {
        f.rows
            .iter()
            .find(|r| f.text(r, "party") == id && f.text(r, "figure") == "net")
            .map(|r| {
                (
                    f.num(r, "level"),
                    f.num(r, "value_at_risk"),
                    f.num(r, "expected_shortfall"),
                )
            })
    });
    if let Some(mean) = mean {
        c.v_marks.push(Mark {
            value: mean,
            label: format!("mean {}", m.label(mean)),
            colour: "#000000",
        });
    }
    let mut reading = format!("{label}'s net value");
    if let Some(mean) = mean {
        let _ = write!(reading, " averages {}", m.label(mean));
    }
    if let Some((level, var, es)) = risk {
        let pct = Format::Percent.label(level);
        let worst = Format::Percent.label(1.0 - level);
        c.v_marks.push(Mark {
            value: var,
            label: format!("VaR {pct} {}", m.label(var)),
            colour: "#b00020",
        });
        c.v_marks.push(Mark {
            value: es,
            label: format!("ES {pct} {}", m.label(es)),
            colour: "#7a0016",
        });
        let _ = write!(
            reading,
            "; in the worst {worst} of worlds it is {} or less (value at risk), and {} on average there (expected shortfall)",
            m.label(var),
            m.label(es)
        );
    }
    reading.push('.');
    let table = (
        vec!["from".into(), "to".into(), "share of worlds".into()],
        c.columns
            .iter()
            .map(|(a, b, p)| vec![cell(m, *a), cell(m, *b), cell(&Format::Percent, *p)])
            .collect(),
    );
    Some(Figure::of(&c, format!("net-{}", ids(id)), reading, table))
}

fn downside(dir: &Dir) -> Option<Figure> {
    let t = dir.table("allocation.csv")?;
    let mut levels: Vec<f64> = Vec::new();
    for r in &t.rows {
        let l = t.num(r, "level");
        if !levels.contains(&l) {
            levels.push(l);
        }
    }
    let party_ids: Vec<String> = {
        let mut v: Vec<String> = Vec::new();
        for r in &t.rows {
            let p = t.text(r, "party").to_string();
            if !v.contains(&p) {
                v.push(p);
            }
        }
        v
    };
    let share = |party: &str, level: f64, col: &str| {
        t.rows
            .iter()
            .find(|r| t.text(r, "party") == party && t.num(r, "level") == level)
            .map_or(f64::NAN, |r| t.num(r, col))
    };
    let stack = |label: String, values: Vec<(usize, f64)>| {
        let mut row = Row::new(label);
        let (mut pos, mut neg) = (0.0, 0.0);
        for (k, v) in values {
            if !v.is_finite() {
                continue;
            }
            let colour = dir.colour_of(&party_ids[k]);
            if v >= 0.0 {
                row.segments.push(Segment {
                    from: pos,
                    to: pos + v,
                    colour,
                });
                pos += v;
            } else {
                row.segments.push(Segment {
                    from: neg + v,
                    to: neg,
                    colour,
                });
                neg += v;
            }
        }
        row
    };
    let mut rows = Vec::new();
    for &l in &levels {
        let label = format!("worst {} of worlds", Format::Percent.label(1.0 - l));
        rows.push(stack(
            label,
            party_ids
                .iter()
                .enumerate()
                .map(|(k, p)| (k, share(p, l, "tail_share")))
                .collect(),
        ));
    }
    rows.push(stack(
        "variance".into(),
        party_ids
            .iter()
            .enumerate()
            .map(|(k, p)| (k, share(p, levels[0], "variance_share")))
            .collect(),
    ));
    let c = Rows {
        title: "Who bears the downside: shares of the contract's net value".into(),
        x_label: "share (a negative share gains in those worlds)".into(),
        format: Format::Percent,
        rows,
        legend: party_ids
            .iter()
            .map(|p| (dir.label_of(p), dir.colour_of(p)))
            .collect(),
        reference: Some((0.0, String::new())),
    };
    let l0 = levels[0];
    let biggest = party_ids
        .iter()
        .map(|p| (p, share(p, l0, "tail_share")))
        .filter(|(_, s)| s.is_finite())
        .max_by(|a, b| a.1.total_cmp(&b.1));
    let reading = match biggest {
        Some((p, s)) => format!(
            "In the worst {} of worlds for the contract as a whole, {} bears the largest share of the shortfall ({}); the variance row shows who carries the swings in ordinary worlds.",
            Format::Percent.label(1.0 - l0),
            dir.label_of(p),
            Format::Percent.label(s)
        ),
        None => "The shares are undefined: the contract's net value does not vary.".into(),
    };
    let mut table_rows = Vec::new();
    for p in &party_ids {
        for &l in &levels {
            table_rows.push(vec![
                dir.label_of(p),
                format!("{l}"),
                cell(&Format::Percent, share(p, l, "tail_share")),
                cell(&Format::Percent, share(p, l, "variance_share")),
            ]);
        }
    }
    let table = (
        header(&["party", "level", "tail share", "variance share"]),
        table_rows,
    );
    Some(Figure::of(&c, "downside".to_string(), reading, table))
}

fn commissioner(dir: &Dir) -> Vec<Figure> {
    let mut out = Vec::new();
    let Some(t) = dir.table("figures.csv") else {
        return out;
    };
    let m = &dir.money;
    let find = |name: &str| {
        t.rows
            .iter()
            .find(|r| t.text(r, "party") == "commissioner" && t.text(r, "figure") == name)
    };
    let mut rows = Vec::new();
    let mut table_rows = Vec::new();
    for r in t
        .rows
        .iter()
        .filter(|r| t.text(r, "party") == "commissioner")
    {
        let f = t.text(r, "figure");
        let Some(rule) = f.strip_prefix("paid.") else {
            continue;
        };
        let mean = t.num(r, "mean");
        if rule == "total" || mean == 0.0 {
            continue;
        }
        let mut row = Row::new(format!("paid: {}", rule.replace('_', " ")));
        row.segments.push(Segment {
            from: 0.0,
            to: mean,
            colour: PALETTE[0],
        });
        row.dot = Some((mean, t.num(r, "p5"), t.num(r, "p95")));
        row.dot_colour = "#000000";
        rows.push(row);
        table_rows.push(vec![
            format!("paid: {rule}"),
            cell(m, mean),
            cell(m, t.num(r, "p5")),
            cell(m, t.num(r, "p95")),
        ]);
    }
    let total = find("paid.total").map_or(f64::NAN, |r| t.num(r, "mean"));
    let deadweight = find("deadweight");
    if let Some(r) = deadweight {
        let mean = t.num(r, "mean");
        let mut row = Row::new("deadweight (would have happened anyway)");
        row.segments.push(Segment {
            from: 0.0,
            to: mean,
            colour: PALETTE[3],
        });
        row.dot = Some((mean, t.num(r, "p5"), t.num(r, "p95")));
        row.dot_colour = "#000000";
        rows.push(row);
        table_rows.push(vec![
            "deadweight".into(),
            cell(m, mean),
            cell(m, t.num(r, "p5")),
            cell(m, t.num(r, "p95")),
        ]);
    }
    if !rows.is_empty() {
        let c = Rows {
            title: "Commissioner: what it pays, by payment rule".into(),
            x_label: "mean over worlds (line: 5th to 95th percentile)".into(),
            format: m.clone(),
            rows,
            legend: vec![
                ("paid".into(), PALETTE[0]),
                (
                    "for outcomes that would have happened anyway".into(),
                    PALETTE[3],
                ),
            ],
            reference: Some((0.0, String::new())),
        };
        let mut reading = format!("The commissioner pays {} on average", m.label(total));
        if let Some(r) = deadweight {
            let dw = t.num(r, "mean");
            let _ = write!(
                reading,
                ", of which {} ({}) is for outcomes that would have happened without the programme",
                m.label(dw),
                Format::Percent.label(dw / total)
            );
        }
        reading.push('.');
        let table = (header(&["item", "mean", "p5", "p95"]), table_rows);
        out.push(Figure::of(
            &c,
            "commissioner-paid".to_string(),
            reading,
            table,
        ));
    }
    // Cost per outcome: the attributable ratio and each segment's price.
    let ratios = dir.summary.as_ref().and_then(|s| s["ratios"].as_object());
    if let Some(ratios) = ratios {
        // Each ratio as (estimate, low, high) when it is defined.
        let ratio = |k: &str| {
            let v = ratios.get(k)?;
            let (e, se) = (v["estimate"].as_f64()?, v["se"].as_f64()?);
            e.is_finite().then_some((e, e - 1.96 * se, e + 1.96 * se))
        };
        let mut items: Vec<Item> = Vec::new();
        for (k, label) in [
            (
                "cost_per_attributable_outcome",
                "cost per attributable outcome",
            ),
            (
                "cost_per_adverse_event_avoided",
                "cost per adverse event avoided",
            ),
        ] {
            if let Some((e, lo, hi)) = ratio(k) {
                items.push((label.into(), e, lo, hi, PALETTE[3]));
            }
        }
        for (suffix, what, colour) in [
            (".paid_per_outcome", "paid per outcome", PALETTE[0]),
            (".paid_per_referral", "paid per referral", PALETTE[5]),
        ] {
            for k in ratios.keys().filter(|k| k.ends_with(suffix)) {
                let seg = k.trim_start_matches("segment.").trim_end_matches(suffix);
                if let Some((e, lo, hi)) = ratio(k) {
                    items.push((format!("{what}: {seg}"), e, lo, hi, colour));
                }
            }
        }
        let reading = match (ratio("cost_per_attributable_outcome"), ratio("cost_per_adverse_event_avoided")) {
            (Some((e, lo, hi)), _) => format!(
                "Each outcome the programme adds (beyond those that would have happened anyway) costs the commissioner {} (95% interval {} to {}); the other rows are what it pays per outcome (added or not) and per referral of each segment.",
                m.label(e),
                m.label(lo),
                m.label(hi)
            ),
            (None, Some((e, lo, hi))) => format!(
                "Each adverse event the programme avoids costs the commissioner {} (95% interval {} to {}).",
                m.label(e),
                m.label(lo),
                m.label(hi)
            ),
            (None, None) => "What the commissioner pays per referral and per outcome of each segment; the cost per attributable outcome is undefined (no outcome is counted as added).".into(),
        };
        if !items.is_empty() {
            out.push(intervals(
                "commissioner-cost-per-outcome".into(),
                "Commissioner: cost per outcome and per referral".into(),
                "per outcome, event or referral (line: 95% interval)",
                m.clone(),
                items,
                None,
                reading,
                ["ratio", "estimate", "lower 95%", "upper 95%"],
            ));
        }
    }
    out
}

/// A dot-and-whisker chart of estimates with 95% intervals.
#[allow(clippy::too_many_arguments)]
fn intervals(
    id: String,
    title: String,
    x_label: &str,
    format: Format,
    items: Vec<Item>,
    reference: Option<(f64, String)>,
    reading: String,
    columns: [&str; 4],
) -> Figure {
    let rows = items
        .iter()
        .map(|(label, v, lo, hi, colour)| {
            let mut r = Row::new(label.clone());
            r.dot = Some((*v, *lo, *hi));
            r.dot_colour = colour;
            r
        })
        .collect();
    let table_rows = items
        .iter()
        .map(|(label, v, lo, hi, _)| {
            vec![
                label.clone(),
                cell(&format, *v),
                cell(&format, *lo),
                cell(&format, *hi),
            ]
        })
        .collect();
    let c = Rows {
        title,
        x_label: x_label.into(),
        format,
        rows,
        legend: Vec::new(),
        reference,
    };
    Figure::of(
        &c,
        id,
        reading,
        (columns.map(String::from).to_vec(), table_rows),
    )
}

fn largest(items: &[Item]) -> Option<&Item> {
    items
        .iter()
        .filter(|i| i.1.is_finite())
        .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
}

/// An estimate with its 95% interval, labelled and coloured, for
/// [`intervals`].
type Item = (String, f64, f64, f64, &'static str);

/// What [`changes`] charts: a table of paired changes.
struct Changes<'a> {
    /// Chart ids start with it.
    id: &'a str,
    /// "Contract B against A", "Stresses".
    title: &'a str,
    x_label: &'a str,
    first_column: &'a str,
    /// The column whose values end in `.net` or `.failed`.
    statistic: &'a str,
    /// A row as an item.
    item: &'a dyn Fn(&[String]) -> Item,
    /// The reading, from the largest change, what it is a change in, and
    /// the format.
    reading: &'a dyn Fn(&Item, &str, &Format) -> String,
}

/// Charts of paired changes with 95% intervals: one for net value, one
/// for the probability of failure.
fn changes(dir: &Dir, t: &Table, c: Changes) -> Vec<Figure> {
    let mut out = Vec::new();
    for (suffix, format, what) in [
        (".net", dir.money.clone(), "net value"),
        (".failed", Format::Percent, "probability of failure"),
    ] {
        let items: Vec<Item> = t
            .rows
            .iter()
            .filter(|r| {
                let s = t.text(r, c.statistic);
                s.ends_with(suffix) && !s.starts_with("segment.")
            })
            .map(|r| (c.item)(r))
            .collect();
        let Some(top) = largest(&items) else {
            continue;
        };
        let reading = (c.reading)(top, what, &format);
        out.push(intervals(
            format!("{}-{}", c.id, suffix.trim_start_matches('.')),
            format!("{}: change in {what}", c.title),
            c.x_label,
            format,
            items,
            Some((0.0, "no change".into())),
            reading,
            [c.first_column, "change", "lower 95%", "upper 95%"],
        ));
    }
    out
}

fn comparison(dir: &Dir) -> Vec<Figure> {
    let Some(t) = dir.table("compare.csv") else {
        return Vec::new();
    };
    changes(
        dir,
        t,
        Changes {
            id: "compare",
            title: "Contract B against A",
            x_label: "B minus A (line: 95% interval)",
            first_column: "party",
            statistic: "figure",
            item: &|r| {
                let (d, se) = (t.num(r, "difference"), t.num(r, "difference_se"));
                let party = party_of(t.text(r, "figure"));
                (
                    dir.label_of(party),
                    d,
                    d - 1.96 * se,
                    d + 1.96 * se,
                    dir.colour_of(party),
                )
            },
            reading: &|(p, d, lo, hi, _), what, f| {
                format!(
                    "Contract B changes {p}'s {what} the most: by {} on average (95% interval {} to {}), paired on the same worlds.",
                    f.label(*d),
                    f.label(*lo),
                    f.label(*hi)
                )
            },
        },
    )
}

fn stresses(dir: &Dir) -> Vec<Figure> {
    let Some(t) = dir.table("stress.csv") else {
        return Vec::new();
    };
    changes(
        dir,
        t,
        Changes {
            id: "stress",
            title: "Stresses",
            x_label: "stressed minus baseline (line: 95% interval)",
            first_column: "stress: party",
            statistic: "statistic",
            item: &|r| {
                let p = t.text(r, "party");
                (
                    format!("{}: {}", t.text(r, "stress"), dir.label_of(p)),
                    t.num(r, "change"),
                    t.num(r, "change_lo95"),
                    t.num(r, "change_hi95"),
                    dir.colour_of(p),
                )
            },
            reading: &|(label, d, lo, hi, _), what, f| {
                format!(
                    "The largest change in {what} is {label}: {} (95% interval {} to {}), against the unstressed contract on the same worlds.",
                    f.label(*d),
                    f.label(*lo),
                    f.label(*hi)
                )
            },
        },
    )
}

fn statistic_format(dir: &Dir, statistic: &str) -> Format {
    let figure = dir.table("figures.csv").and_then(|t| {
        t.rows
            .iter()
            .find(|r| format!("{}.{}", t.text(r, "party"), t.text(r, "figure")) == statistic)
            .map(|r| t.text(r, "unit").to_string())
    });
    match figure.as_deref() {
        Some(u) => unit_format(dir, u),
        None if statistic.ends_with(".failed") || statistic.ends_with(".loss") => Format::Percent,
        None if statistic.contains("per_")
            || statistic.contains(".net")
            || statistic.contains("cost") =>
        {
            dir.money.clone()
        }
        None => Format::Number,
    }
}

fn distinct(t: &Table, col: &str) -> Vec<String> {
    let mut v: Vec<String> = Vec::new();
    for r in &t.rows {
        let s = t.text(r, col).to_string();
        if !v.contains(&s) {
            v.push(s);
        }
    }
    v
}

fn tornado(dir: &Dir) -> Vec<Figure> {
    let Some(t) = dir.table("tornado.csv") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for statistic in distinct(t, "statistic") {
        let format = statistic_format(dir, &statistic);
        let rows: Vec<&Vec<String>> = t
            .rows
            .iter()
            .filter(|r| t.text(r, "statistic") == statistic)
            .collect();
        let baseline = t.num(rows[0], "baseline");
        let chart_rows = rows
            .iter()
            .map(|r| {
                let mut row = Row::new(t.text(r, "input"));
                row.segments.push(Segment {
                    from: baseline,
                    to: t.num(r, "at_low"),
                    colour: PALETTE[5],
                });
                row.segments.push(Segment {
                    from: baseline,
                    to: t.num(r, "at_high"),
                    colour: PALETTE[1],
                });
                row
            })
            .collect();
        let (lo_pct, hi_pct) = (
            t.text(rows[0], "low_percentile"),
            t.text(rows[0], "high_percentile"),
        );
        let c = Rows {
            title: format!("Tornado: {statistic}"),
            x_label: format!("{statistic} with one input at a percentile, the others uncertain"),
            format: format.clone(),
            rows: chart_rows,
            legend: vec![
                (format!("input at its {lo_pct}th percentile"), PALETTE[5]),
                (format!("input at its {hi_pct}th percentile"), PALETTE[1]),
            ],
            reference: Some((baseline, format!("baseline {}", format.label(baseline)))),
        };
        let top = rows
            .iter()
            .max_by(|a, b| t.num(a, "swing").total_cmp(&t.num(b, "swing")));
        let reading = match top {
            Some(r) => format!(
                "{} moves {statistic} the most: from {} to {} between its {lo_pct}th and {hi_pct}th percentiles, against a baseline of {}.",
                t.text(r, "input"),
                format.label(t.num(r, "at_low")),
                format.label(t.num(r, "at_high")),
                format.label(baseline)
            ),
            None => String::new(),
        };
        let table_rows = table_rows(
            t,
            rows.iter().copied(),
            "input",
            &["at_low", "at_high", "swing"],
            &format,
        );
        out.push(Figure::of(
            &c,
            format!("tornado-{}", ids(&statistic)),
            reading,
            (header(&["input", "at low", "at high", "swing"]), table_rows),
        ));
    }
    out
}

fn sobol(dir: &Dir) -> Vec<Figure> {
    let Some(t) = dir.table("sobol.csv") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for statistic in distinct(t, "statistic") {
        let rows: Vec<&Vec<String>> = t
            .rows
            .iter()
            .filter(|r| t.text(r, "statistic") == statistic)
            .collect();
        let chart_rows = rows
            .iter()
            .map(|r| {
                let mut row = Row::new(t.text(r, "input"));
                row.segments.push(Segment {
                    from: 0.0,
                    to: t.num(r, "first_order"),
                    colour: PALETTE[5],
                });
                row.dot = Some((
                    t.num(r, "total"),
                    t.num(r, "total_lo95"),
                    t.num(r, "total_hi95"),
                ));
                row.dot_colour = PALETTE[0];
                row
            })
            .collect();
        let c = Rows {
            title: format!("Sobol indices: {statistic}"),
            x_label: "share of the variance".into(),
            format: Format::Percent,
            rows: chart_rows,
            legend: vec![
                ("first order (alone)".into(), PALETTE[5]),
                (
                    "total, with interactions (line: 95% interval)".into(),
                    PALETTE[0],
                ),
            ],
            reference: Some((0.0, String::new())),
        };
        let top = rows
            .iter()
            .max_by(|a, b| t.num(a, "total").total_cmp(&t.num(b, "total")));
        let reading = match top {
            Some(r) => format!(
                "{} accounts for {} of the variance of {statistic} on its own and {} with its interactions: fixing it would remove the most uncertainty.",
                t.text(r, "input"),
                Format::Percent.label(t.num(r, "first_order")),
                Format::Percent.label(t.num(r, "total"))
            ),
            None => String::new(),
        };
        let columns = [
            "first_order",
            "first_order_lo95",
            "first_order_hi95",
            "total",
            "total_lo95",
            "total_hi95",
        ];
        let table_rows = table_rows(t, rows.iter().copied(), "input", &columns, &Format::Percent);
        out.push(Figure::of(
            &c,
            format!("sobol-{}", ids(&statistic)),
            reading,
            (
                header(&[
                    "input",
                    "first order",
                    "lower 95%",
                    "upper 95%",
                    "total",
                    "lower 95%",
                    "upper 95%",
                ]),
                table_rows,
            ),
        ));
    }
    out
}

fn evidence(dir: &Dir) -> Option<Figure> {
    let t = dir.table("evidence.csv")?;
    let rows: Vec<Row> = t
        .rows
        .iter()
        .map(|r| {
            let mut row = Row::new(t.text(r, "statistic"));
            let a = t.num(r, "parameters_share");
            row.segments.push(Segment {
                from: 0.0,
                to: a,
                colour: PALETTE[0],
            });
            row.segments.push(Segment {
                from: a,
                to: a + t.num(r, "participants_share"),
                colour: PALETTE[1],
            });
            row
        })
        .collect();
    let c = Rows {
        title: "Where the uncertainty comes from: the variance split".into(),
        x_label: "share of each statistic's variance".into(),
        format: Format::Percent,
        rows,
        legend: vec![
            (
                "uncertain parameters (evidence can narrow it)".into(),
                PALETTE[0],
            ),
            ("chance among participants".into(), PALETTE[1]),
        ],
        reference: None,
    };
    let prime = t
        .rows
        .iter()
        .find(|r| t.text(r, "statistic") == "prime.net")
        .or(t.rows.first())?;
    let reading = format!(
        "For {}, {} of the variance comes from parameters nobody knows yet (better evidence narrows it) and {} from chance among participants, which no evidence removes.",
        t.text(prime, "statistic"),
        Format::Percent.label(t.num(prime, "parameters_share")),
        Format::Percent.label(t.num(prime, "participants_share"))
    );
    let columns = ["parameters_share", "share_se", "participants_share"];
    let table_rows = table_rows(t, &t.rows, "statistic", &columns, &Format::Percent);
    Some(Figure::of(
        &c,
        "variance-split".to_string(),
        reading,
        (
            header(&["statistic", "parameters", "standard error", "participants"]),
            table_rows,
        ),
    ))
}

fn solve(dir: &Dir) -> Option<Figure> {
    let t = dir.table("solve.csv")?;
    let r = t.rows.first()?;
    let statistic = t.text(r, "statistic").to_string();
    let vary = t.text(r, "vary").to_string();
    let format = statistic_format(dir, &statistic);
    let target = t.num(r, "target");
    let mut c = XY::new(
        &format!("Solve: {vary} for {statistic}"),
        &vary,
        &statistic,
        Format::Number,
        format.clone(),
    );
    c.points_label = "evaluated (line: 95% interval)".into();
    let mut table_rows = Vec::new();
    if let Some(path) = dir.table("solve_path.csv") {
        for p in &path.rows {
            let (x, y, se) = (
                path.num(p, "value"),
                path.num(p, "estimate"),
                path.num(p, "estimate_se"),
            );
            c.points.push(Point {
                x,
                y,
                lo: y - 1.96 * se,
                hi: y + 1.96 * se,
            });
            table_rows.push(vec![
                path.text(p, "evaluation").to_string(),
                cell(&Format::Number, x),
                cell(&format, y),
                cell(&format, se),
            ]);
        }
    }
    c.h_marks.push(Mark {
        value: target,
        label: format!("target {}", format.label(target)),
        colour: "#b00020",
    });
    let reading = if t.text(r, "status") == "found" {
        let v = t.num(r, "value");
        c.v_marks.push(Mark {
            value: v,
            label: format!("found {}", Format::Number.label(v)),
            colour: "#000000",
        });
        format!(
            "{statistic} meets its target of {} when {vary} is {} (95% interval {} to {}), after {} evaluations.",
            format.label(target),
            Format::Number.label(v),
            Format::Number.label(t.num(r, "value_lo95")),
            Format::Number.label(t.num(r, "value_hi95")),
            t.text(r, "evaluations")
        )
    } else {
        format!(
            "{statistic} does not reach {} anywhere between {} and {}: {} at the low end, {} at the high end.",
            format.label(target),
            t.text(r, "low"),
            t.text(r, "high"),
            format.label(t.num(r, "statistic_at_low")),
            format.label(t.num(r, "statistic_at_high"))
        )
    };
    if c.points.is_empty() {
        for (x, y, se) in [
            (
                t.num(r, "low"),
                t.num(r, "statistic_at_low"),
                t.num(r, "statistic_at_low_se"),
            ),
            (
                t.num(r, "value"),
                t.num(r, "statistic_at_value"),
                t.num(r, "statistic_at_value_se"),
            ),
            (
                t.num(r, "high"),
                t.num(r, "statistic_at_high"),
                t.num(r, "statistic_at_high_se"),
            ),
        ] {
            if x.is_finite() && y.is_finite() {
                c.points.push(Point {
                    x,
                    y,
                    lo: y - 1.96 * se,
                    hi: y + 1.96 * se,
                });
                table_rows.push(vec![
                    String::new(),
                    cell(&Format::Number, x),
                    cell(&format, y),
                    cell(&format, se),
                ]);
            }
        }
    }
    Some(Figure::of(
        &c,
        "solve".to_string(),
        reading,
        (
            header(&["evaluation", "value", "statistic", "standard error"]),
            table_rows,
        ),
    ))
}

fn sweep(dir: &Dir) -> Vec<Figure> {
    let Some(t) = dir.table("sweep.csv") else {
        return Vec::new();
    };
    let (Some(a), Some(b)) = (t.col("scenario"), t.col("party")) else {
        return Vec::new();
    };
    let swept: Vec<String> = t.header.get(a + 1..b).unwrap_or_default().to_vec();
    let Some(x_name) = swept.first().cloned() else {
        return Vec::new();
    };
    let net: Vec<&Vec<String>> = t
        .rows
        .iter()
        .filter(|r| t.text(r, "figure") == "net")
        .collect();
    // Points grouped by the values of the other swept terms: one chart per
    // group (a grid), or one chart for all when there are many groups (a
    // Latin hypercube), where the other terms vary along the line too.
    let others = |r: &[String]| -> String {
        swept[1..]
            .iter()
            .map(|k| format!("{k} = {}", t.text(r, k)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut groups: Vec<String> = Vec::new();
    for r in &net {
        let g = others(r);
        if !groups.contains(&g) {
            groups.push(g);
        }
    }
    let many = groups.len() > 6;
    if many {
        groups = vec![String::new()];
    }
    let party_ids = distinct(t, "party");
    let mut out = Vec::new();
    for (gi, group) in groups.iter().enumerate() {
        let rows: Vec<&&Vec<String>> = net.iter().filter(|r| many || others(r) == *group).collect();
        let mut points: Vec<(f64, f64)> = Vec::new();
        for r in &rows {
            let p = (t.num(r, "point"), t.num(r, &x_name));
            if !points.iter().any(|q| q.0 == p.0) {
                points.push(p);
            }
        }
        points.sort_by(|p, q| p.1.total_cmp(&q.1).then(p.0.total_cmp(&q.0)));
        let title = if group.is_empty() {
            "Sweep: mean net value against the swept terms".to_string()
        } else {
            format!("Sweep: mean net value at {group}")
        };
        let mut c = XY::new(
            &title,
            &x_name,
            "mean net value",
            Format::Number,
            dir.money.clone(),
        );
        c.x = points.iter().map(|p| p.1).collect();
        let mut table_rows = Vec::new();
        for (k, p) in party_ids.iter().enumerate() {
            let y: Vec<f64> = points
                .iter()
                .map(|(point, _)| {
                    rows.iter()
                        .find(|r| t.num(r, "point") == *point && t.text(r, "party") == p)
                        .map_or(f64::NAN, |r| t.num(r, "mean"))
                })
                .collect();
            if y.iter().all(|v| !v.is_finite()) {
                continue;
            }
            for ((point, x), v) in points.iter().zip(&y) {
                table_rows.push(vec![
                    format!("{point}"),
                    cell(&Format::Number, *x),
                    dir.label_of(p),
                    cell(&dir.money, *v),
                ]);
            }
            c.lines.push(Line {
                label: dir.label_of(p),
                y,
                colour: PALETTE[k % PALETTE.len()],
                dashed: false,
            });
        }
        if c.lines.is_empty() {
            continue;
        }
        let reading = if many {
            format!(
                "Each line is one party's mean net value at the {} points of the sweep, in order of {x_name}; {} vary too, so neighbouring points differ in them as well.",
                points.len(),
                swept[1..].join(", ")
            )
        } else {
            format!(
                "Each line is one party's mean net value as {x_name} varies ({} points).",
                points.len()
            )
        };
        out.push(Figure::of(
            &c,
            if groups.len() > 1 {
                format!("sweep-{}", gi + 1)
            } else {
                "sweep".to_string()
            },
            reading,
            (
                header(&["point", x_name.as_str(), "party", "mean net"]),
                table_rows,
            ),
        ));
    }
    out
}

fn reverse(dir: &Dir) -> Option<(Figure, Option<Grid>)> {
    let t = dir.table("reverse_stress.csv")?;
    let items: Vec<_> = t
        .rows
        .iter()
        .filter(|r| t.text(r, "status") == "found")
        .map(|r| {
            (
                t.text(r, "directions").to_string(),
                t.num(r, "size"),
                t.num(r, "size_lo95"),
                t.num(r, "size_hi95"),
                PALETTE[3],
            )
        })
        .collect();
    let first = &t.rows[0];
    let (party, probability) = (
        t.text(first, "party").to_string(),
        t.num(first, "probability"),
    );
    let smallest = items
        .iter()
        .filter(|i| i.1.is_finite())
        .min_by(|a, b| a.1.total_cmp(&b.1));
    let reading = match smallest {
        Some((d, s, lo, hi, _)) => format!(
            "{}'s probability of failure reaches {} at {} of the full shock {d} (95% interval {} to {}); smaller is more fragile.",
            dir.label_of(&party),
            Format::Percent.label(probability),
            Format::Percent.label(*s),
            Format::Percent.label(*lo),
            Format::Percent.label(*hi)
        ),
        None => format!(
            "No direction makes {}'s probability of failure reach {} (statuses in the table).",
            dir.label_of(&party),
            Format::Percent.label(probability)
        ),
    };
    let mut figure = intervals(
        "reverse-stress".into(),
        format!(
            "Reverse stress: how much of each shock makes {party} fail with probability {}",
            Format::Percent.label(probability)
        ),
        "size of the shock (share of the full shock; line: 95% interval)",
        Format::Percent,
        items,
        Some((1.0, "full shock".into())),
        reading,
        ["directions", "size", "lower 95%", "upper 95%"],
    );
    figure.table.0.push("status".into());
    let statuses: Vec<(String, String)> = t
        .rows
        .iter()
        .map(|r| {
            (
                t.text(r, "directions").to_string(),
                t.text(r, "status").to_string(),
            )
        })
        .collect();
    for row in &mut figure.table.1 {
        let s = statuses
            .iter()
            .find(|(d, _)| *d == row[0])
            .map_or(String::new(), |(_, s)| s.clone());
        row.push(s);
    }
    for (d, s) in statuses.iter().filter(|(_, s)| s != "found") {
        figure.table.1.push(vec![
            d.clone(),
            String::new(),
            String::new(),
            String::new(),
            s.clone(),
        ]);
    }
    let rules = dir.table("failure_rules.csv").map(|r| {
        let p = Format::Percent;
        (
            [
                "search",
                "rule",
                "conditions",
                "failure rate",
                "share of worlds",
                "failures covered",
            ]
            .map(String::from)
            .to_vec(),
            r.rows
                .iter()
                .map(|x| {
                    vec![
                        r.text(x, "search").to_string(),
                        r.text(x, "rule").to_string(),
                        r.text(x, "conditions").to_string(),
                        cell(&p, r.num(x, "failure_rate")),
                        cell(&p, r.num(x, "worlds")),
                        cell(&p, r.num(x, "failures_covered")),
                    ]
                })
                .collect(),
        )
    });
    Some((figure, rules))
}

fn value_of_information(dir: &Dir) -> Option<Figure> {
    let t = dir.table("voi.csv")?;
    let objective = t.text(&t.rows[0], "objective").to_string();
    let items: Vec<_> = t
        .rows
        .iter()
        .map(|r| {
            let (v, se) = (t.num(r, "evppi"), t.num(r, "se"));
            let colour = if t.text(r, "group") == "all" {
                PALETTE[3]
            } else {
                PALETTE[0]
            };
            (
                t.text(r, "group").to_string(),
                v,
                v - 1.96 * se,
                v + 1.96 * se,
                colour,
            )
        })
        .collect();
    let m = &dir.money;
    let all = items.iter().find(|i| i.0 == "all");
    let top = items
        .iter()
        .filter(|i| i.0 != "all" && i.1.is_finite())
        .max_by(|a, b| a.1.total_cmp(&b.1));
    let reading = match (all, top) {
        (Some(a), Some(b)) => format!(
            "Knowing every uncertain input before choosing a design would be worth {} in {objective} (the EVPI); of single groups, {} is worth the most to learn ({}).",
            m.label(a.1),
            b.0,
            m.label(b.1)
        ),
        (Some(a), None) => format!(
            "Knowing every uncertain input before choosing would be worth {} in {objective}.",
            m.label(a.1)
        ),
        _ => format!("The value of learning each group of inputs, in {objective}."),
    };
    let mut figure = intervals(
        "value-of-information".into(),
        format!("Value of information: {objective}"),
        "expected value of perfect information (line: 95% interval)",
        m.clone(),
        items,
        Some((0.0, String::new())),
        reading,
        ["inputs", "value", "lower 95%", "upper 95%"],
    );
    figure.table.0[0] = "group".into();
    Some(figure)
}

/// A design search's candidates and its Pareto front (`pbrsim design`).
fn design(dir: &Dir) -> Vec<Figure> {
    let Some(t) = dir.table("design.csv") else {
        return Vec::new();
    };
    let (Some(a), Some(b)) = (t.col("candidate"), t.col("status")) else {
        return Vec::new();
    };
    let terms: Vec<String> = t.header.get(a + 1..b).unwrap_or_default().to_vec();
    let label = |r: &[String]| {
        let values: Vec<String> = terms
            .iter()
            .map(|k| format!("{k} = {}", t.text(r, k)))
            .collect();
        format!("#{}: {}", t.text(r, "candidate"), values.join(", "))
    };
    let colour = |status: &str| match status {
        "feasible" => PALETTE[2],
        "infeasible" => PALETTE[3],
        "dominated" => "#8a8a8a",
        _ => PALETTE[1],
    };
    let items: Vec<Item> = t
        .rows
        .iter()
        .map(|r| {
            (
                format!("{} ({})", label(r), t.text(r, "status")),
                t.num(r, "objective"),
                t.num(r, "objective_low"),
                t.num(r, "objective_high"),
                colour(t.text(r, "status")),
            )
        })
        .collect();
    let feasible = t
        .rows
        .iter()
        .filter(|r| t.text(r, "status") == "feasible")
        .count();
    let reading = match t.rows.iter().find(|r| t.text(r, "best") == "true") {
        Some(r) => format!(
            "{} is the best candidate: objective {} (bounds {} to {}); {feasible} of {} candidates meet every constraint.",
            label(r),
            Format::Number.label(t.num(r, "objective")),
            Format::Number.label(t.num(r, "objective_low")),
            Format::Number.label(t.num(r, "objective_high")),
            t.rows.len()
        ),
        None => format!(
            "No candidate is decided best yet; {feasible} of {} candidates meet every constraint.",
            t.rows.len()
        ),
    };
    let mut out = vec![intervals(
        "design-objective".into(),
        "Design: every candidate's objective".into(),
        "objective (line: its bounds; colour: its status)",
        Format::Number,
        items,
        None,
        reading,
        ["candidate", "objective", "low", "high"],
    )];
    let mut c = XY::new(
        "Design: public value against provider risk",
        "risk (probability of the Pareto event)",
        "public value",
        Format::Percent,
        dir.money.clone(),
    );
    c.points_label = "candidate (line: value bounds)".into();
    for r in &t.rows {
        let (v, lo, hi) = (
            t.num(r, "value"),
            t.num(r, "value_low"),
            t.num(r, "value_high"),
        );
        c.points.push(Point {
            x: t.num(r, "risk"),
            y: v,
            lo,
            hi,
        });
    }
    let mut table_rows = table_rows(t, &t.rows, "candidate", &["risk"], &Format::Percent);
    for (row, r) in table_rows.iter_mut().zip(&t.rows) {
        row.extend(
            ["value", "value_low", "value_high"]
                .iter()
                .map(|k| cell(&dir.money, t.num(r, k))),
        );
        row.push(t.text(r, "status").to_string());
    }
    let mut on_front = 0;
    if let Some(p) = dir.table("pareto.csv") {
        on_front = p.rows.len();
        c.x = p.rows.iter().map(|r| p.num(r, "risk")).collect();
        c.lines.push(Line {
            label: "Pareto front".into(),
            y: p.rows.iter().map(|r| p.num(r, "value")).collect(),
            colour: PALETTE[1],
            dashed: true,
        });
    }
    let reading = format!(
        "Each point is a candidate's public value against the risk it leaves providers; the {on_front} on the dashed front are beaten by no other on both at once, so choosing among them trades one for the other."
    );
    out.push(Figure::of(
        &c,
        "design-pareto",
        reading,
        (
            header(&[
                "candidate",
                "risk",
                "value",
                "value low",
                "value high",
                "status",
            ]),
            table_rows,
        ),
    ));
    out
}

fn sections(dir: &Dir, explain: Option<&str>) -> Vec<Section> {
    let mut out = Vec::new();
    let iterations = dir
        .summary
        .as_ref()
        .and_then(|s| s["iterations"].as_f64())
        .unwrap_or(f64::NAN);
    let provider_list = providers(dir);
    for (id, reserves, credit) in &provider_list {
        let mut s = Section::new(
            &format!("party-{}", ids(id)),
            &dir.label_of(id),
            "A provider: its cash month by month, its chance of having failed, and its net value across worlds.",
        );
        s.figures.extend(fan(dir, id, *reserves, *credit));
        s.figures.extend(failure_curve(dir, id, iterations));
        s.figures.extend(histogram(dir, id));
        if !s.figures.is_empty() {
            out.push(s);
        }
    }
    let mut s = Section::new(
        "downside",
        "Who bears the downside",
        "How the contract's bad worlds are shared between the parties.",
    );
    s.figures.extend(downside(dir));
    if !s.figures.is_empty() {
        out.push(s);
    }
    let mut s = Section::new(
        "commissioner",
        &dir.label_of("commissioner"),
        "The commissioner: what it pays, for what, and what each added outcome costs.",
    );
    if dir.summary.is_some() {
        s.figures.extend(commissioner(dir));
        s.figures.extend(histogram(dir, "commissioner"));
    }
    if !s.figures.is_empty() {
        out.push(s);
    }
    let listed: Vec<&String> = provider_list.iter().map(|p| &p.0).collect();
    for id in parties(dir) {
        if id == "commissioner" || listed.contains(&&id) {
            continue;
        }
        if let Some(f) = histogram(dir, &id) {
            let mut s = Section::new(
                &format!("party-{}", ids(&id)),
                &dir.label_of(&id),
                "Net value across worlds.",
            );
            s.figures.push(f);
            out.push(s);
        }
    }
    let analyses: [(&str, &str, &str, Vec<Figure>); 9] = [
        (
            "compare",
            "Two contracts compared",
            "Contract B against contract A on the same simulated worlds (common random numbers), so the differences are sharper than two separate runs would give.",
            comparison(dir),
        ),
        (
            "stress",
            "Stress tests",
            "Each stress against the unstressed contract, on the same worlds.",
            stresses(dir),
        ),
        (
            "tornado",
            "Tornado",
            "Each uncertain input moved to a low and a high percentile while the others stay uncertain.",
            tornado(dir),
        ),
        (
            "sobol",
            "Sobol indices",
            "How much of each statistic's variance each input explains, alone and with its interactions.",
            sobol(dir),
        ),
        (
            "evidence",
            "Variance split",
            "Uncertainty that better evidence could remove, against chance that none can.",
            evidence(dir).into_iter().collect(),
        ),
        (
            "sweep",
            "Sweep",
            "The contract's terms varied over a set of points.",
            sweep(dir),
        ),
        (
            "voi",
            "Value of information",
            "What learning each group of uncertain inputs before choosing between the designs would be worth (voi_designs.csv: the designs).",
            value_of_information(dir).into_iter().collect(),
        ),
        (
            "design",
            "Design search",
            "Candidate contracts raced on common random numbers against the objective and the chance constraints (pbrsim design).",
            design(dir),
        ),
        (
            "solve",
            "Solve",
            "The value of one term at which a statistic meets its target, and the values evaluated on the way.",
            solve(dir).into_iter().collect(),
        ),
    ];
    for (id, title, intro, figures) in analyses {
        if !figures.is_empty() {
            let mut s = Section::new(id, title, intro);
            s.figures = figures;
            out.push(s);
        }
    }
    if let Some((f, rules)) = reverse(dir) {
        let mut s = Section::new(
            "reverse-stress",
            "Reverse stress",
            "How large a shock makes the party fail with the given probability, and which worlds fail.",
        );
        s.figures.push(f);
        if let Some((h, r)) = rules {
            s.tables.push((
                "Rules describing the failing worlds".into(),
                (h, r),
                "From failure_rules.csv: the most informative first.".into(),
            ));
        }
        out.push(s);
    }
    if !dir.others.is_empty() {
        let mut s = Section::new(
            "tables",
            "Other tables",
            "The other tables in this directory, as written.",
        );
        for (t, count) in &dir.others {
            let note = if SKIPPED.contains(&t.name.as_str()) {
                format!("{count} rows, one per iteration: not shown (open the CSV).")
            } else if *count > t.rows.len() {
                format!(
                    "The first {} of {count} rows (the CSV has them all).",
                    t.rows.len()
                )
            } else {
                String::new()
            };
            if !t.rows.is_empty() || SKIPPED.contains(&t.name.as_str()) {
                s.tables
                    .push((t.name.clone(), (t.header.clone(), t.rows.clone()), note));
            }
        }
        if !s.tables.is_empty() {
            out.push(s);
        }
    }
    // The contract and the run's identity close the page: results first.
    if let Some(text) = explain {
        let mut s = Section::new(
            "contract",
            "The contract",
            "What the scenario file describes, in words (pbrsim explain).",
        );
        s.pre = Some(text.to_string());
        out.push(s);
    }
    out
}

const STYLE: &str = "
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; margin: 0 auto; max-width: 1060px; padding: 1.5rem 1.5rem 4rem; color: #1d1d1d; line-height: 1.45; }
h1 { font-size: 1.6rem; margin: 0 0 0.3rem; }
h2 { font-size: 1.3rem; margin: 2.2rem 0 0.3rem; border-bottom: 1px solid #ddd; padding-bottom: 0.2rem; }
h3 { font-size: 1.05rem; margin: 0 0 0.2rem; }
nav ul { columns: 2; padding-left: 1.2rem; margin: 0.4rem 0; }
figure { margin: 1.2rem 0 1.6rem; break-inside: avoid; page-break-inside: avoid; }
figure p.reading { margin: 0.2rem 0 0.5rem; }
svg.chart { width: 100%; height: auto; max-width: 720px; display: block; }
table.numbers { border-collapse: collapse; font-size: 0.85rem; margin: 0.4rem 0; font-variant-numeric: tabular-nums; }
table.numbers th, table.numbers td { border-bottom: 1px solid #e4e4e4; padding: 0.15rem 0.6rem; text-align: right; }
table.numbers th:first-child, table.numbers td:first-child { text-align: left; }
table.numbers caption { text-align: left; font-weight: 600; padding: 0.3rem 0; }
pre { background: #f6f6f6; padding: 0.8rem; overflow-x: auto; font-size: 0.82rem; white-space: pre-wrap; }
a.save { font-size: 0.85rem; }
.note { color: #555; font-size: 0.85rem; }
@media print {
  body { max-width: none; padding: 0; }
  nav, a.save { display: none; }
  h2 { break-before: page; page-break-before: always; }
  header + section h2, nav + section h2 { break-before: auto; }
  details > *:not(summary) { display: block; }
}
";

/// Saves a chart as an SVG file: the link's address becomes the chart's
/// own text (a local blob; nothing is fetched).
const SCRIPT: &str = "
document.addEventListener('click', function (event) {
  var link = event.target.closest('a.save');
  if (!link) { return; }
  var svg = document.getElementById(link.getAttribute('data-chart'));
  if (!svg) { return; }
  var text = '\\u003c?xml version=\"1.0\" encoding=\"UTF-8\"?>\\n' + svg.outerHTML;
  link.href = URL.createObjectURL(new Blob([text], { type: 'image/svg+xml' }));
});
";

fn table_html(out: &mut String, caption: Option<&str>, header: &[String], rows: &[Vec<String>]) {
    out.push_str("<table class=\"numbers\">");
    if let Some(c) = caption {
        let _ = write!(out, "<caption>{}</caption>", escape(c));
    }
    out.push_str("<thead><tr>");
    for h in header {
        let _ = write!(out, "<th scope=\"col\">{}</th>", escape(h));
    }
    out.push_str("</tr></thead><tbody>");
    for r in rows {
        out.push_str("<tr>");
        for c in r {
            let _ = write!(out, "<td>{}</td>", escape(c));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
}

/// The report of the results directory `dir`, with the contract's
/// explanation when it is given (the scenario is not in the directory).
pub fn render_html(dir: &Path, explain: Option<&str>) -> Result<Report, Error> {
    // The script holds no character that XML would need escaped.
    debug_assert!(!SCRIPT.contains(['&', '<']) && !STYLE.contains(['&', '<']));
    let d = read_dir(dir)?;
    let mut sections = sections(&d, explain);
    // A chart with nothing defined to draw (every value undefined) is left
    // out rather than shown empty.
    for s in &mut sections {
        s.figures.retain(|f| f.svg.contains("class=\"mark\""));
    }
    sections.retain(|s| !s.figures.is_empty() || s.pre.is_some() || !s.tables.is_empty());
    let name = d
        .summary
        .as_ref()
        .and_then(|s| s["scenario"]["name"].as_str())
        .map(String::from)
        .unwrap_or_else(|| {
            dir.file_name()
                .map_or_else(|| "results".into(), |n| n.to_string_lossy().into_owned())
        });
    let mut h = String::new();
    h.push_str("<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n");
    let _ = writeln!(h, "<title>pbrsim report: {}</title>", escape(&name));
    let _ = writeln!(h, "<style>{STYLE}</style>\n</head>\n<body>");
    let _ = write!(
        h,
        "<header><h1>{}</h1><p class=\"note\">A pbrsim report. Every chart is drawn from the run's tables (the CSV files beside this page); its numbers are under it.</p>",
        escape(&name)
    );
    // Every table repeats the run's identity: show a table's only where
    // it says something not already shown.
    let mut identity_rows: Vec<Vec<String>> = Vec::new();
    for (k, v) in &d.identity {
        let from_table = k.contains(".csv ");
        if !(from_table && identity_rows.iter().any(|r| r[1] == *v)) {
            identity_rows.push(vec![k.clone(), v.clone()]);
        }
    }
    let value = |key: &str| {
        d.identity
            .iter()
            .find(|(k, _)| k.ends_with(key))
            .map(|(_, v)| v.as_str())
    };
    let mut line = Vec::new();
    if let Some(n) = value("iterations") {
        line.push(format!("{n} simulated worlds"));
    }
    if value("sampling") == Some("sobol") {
        let r = value("randomisations").unwrap_or("?");
        line.push(format!(
            "Sobol' points, errors from {r} independent randomisations"
        ));
    }
    if let Some(seed) = value("seed") {
        line.push(format!("seed {seed}"));
    }
    if let Some(origin) = value("scenario file") {
        line.push(format!("scenario {origin}"));
    }
    if let Some(v) = value("version") {
        line.push(format!("pbrsim {v}"));
    }
    let _ = writeln!(
        h,
        "<p class=\"note\">{} (the run's identity is at the end).</p></header>",
        escape(&line.join(", "))
    );
    let mut run = Section::new(
        "run",
        "This run",
        "What identifies these results: the same scenario, overrides, seed and iterations give the same numbers.",
    );
    run.tables.push((
        "The run's identity".into(),
        (vec!["item".into(), "value".into()], identity_rows),
        String::new(),
    ));
    sections.push(run);
    h.push_str("<nav><h2>Contents</h2><ul>");
    for s in &sections {
        let _ = write!(
            h,
            "<li><a href=\"#{}\">{}</a></li>",
            escape(&s.id),
            escape(&s.title)
        );
    }
    h.push_str("</ul></nav>\n");
    let mut figures = Vec::new();
    for s in sections {
        let _ = write!(
            h,
            "<section id=\"{}\"><h2>{}</h2><p>{}</p>",
            escape(&s.id),
            escape(&s.title),
            escape(&s.intro)
        );
        if let Some(pre) = &s.pre {
            let _ = write!(
                h,
                "<details open=\"open\"><summary>The scenario in words</summary><pre>{}</pre></details>",
                escape(pre)
            );
        }
        for f in s.figures {
            let _ = write!(
                h,
                "<figure id=\"figure-{}\"><h3>{}</h3><p class=\"reading\">{}</p>",
                escape(&f.id),
                escape(&f.title),
                escape(&f.reading)
            );
            h.push_str(&f.svg);
            let _ = write!(
                h,
                "<p><a class=\"save\" href=\"#\" data-chart=\"{id}\" download=\"{id}.svg\">Save this chart as SVG</a></p>",
                id = escape(&f.id)
            );
            let (header, rows) = &f.table;
            if rows.len() > OPEN_TABLE_ROWS {
                let _ = write!(
                    h,
                    "<details><summary>The numbers ({} rows)</summary>",
                    rows.len()
                );
                table_html(&mut h, None, header, rows);
                h.push_str("</details>");
            } else {
                table_html(&mut h, None, header, rows);
            }
            h.push_str("</figure>\n");
            figures.push(f);
        }
        for (caption, (header, rows), note) in &s.tables {
            if !rows.is_empty() {
                table_html(&mut h, Some(caption), header, rows);
            } else {
                let _ = write!(h, "<h3>{}</h3>", escape(caption));
            }
            if !note.is_empty() {
                let _ = write!(h, "<p class=\"note\">{}</p>", escape(note));
            }
        }
        h.push_str("</section>\n");
    }
    let _ = write!(h, "<script>{SCRIPT}</script>\n</body>\n</html>\n");
    Ok(Report { html: h, figures })
}

/// The contract explained, for a directory whose `summary.json` names a
/// scenario file that still holds the text the run used (same hash with
/// the same overrides); otherwise why not.
pub fn explain_recorded(dir: &Path) -> Result<String, String> {
    use crate::scenario;
    let summary: Value = std::fs::read_to_string(dir.join("summary.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .ok_or("the directory has no summary.json (only a run's has one)")?;
    let s = &summary["scenario"];
    let origin = s["origin"].as_str().unwrap_or_default();
    let overrides: Vec<scenario::Override> = s["overrides"]
        .as_array()
        .map(|o| o.iter().filter_map(|v| v.as_str()?.parse().ok()).collect())
        .unwrap_or_default();
    let loaded = if origin == scenario::DEFAULT_SCENARIO_NAME {
        scenario::load_str(scenario::DEFAULT_SCENARIO, origin, &overrides).ok()
    } else {
        scenario::load_file(Path::new(origin), &overrides).ok()
    };
    match loaded {
        Some(l) if s["hash"].as_str() == Some(l.hash.as_str()) => {
            Ok(crate::explain::explain(&l.model))
        }
        Some(_) => Err(format!(
            "{origin} has changed since this run (its hash differs)"
        )),
        None => Err(format!(
            "the scenario file {origin} was not found from here"
        )),
    }
}

/// Writes `report.html` in `dir` (and, with `charts`, each chart as an SVG
/// file there), from the tables in `dir`. Without `explain`, the contract
/// is explained when the run's scenario file is found unchanged.
pub fn write_html(
    dir: &Path,
    explain: Option<&str>,
    charts: Option<&Path>,
) -> Result<Vec<PathBuf>, Error> {
    let recorded;
    let explain = match explain {
        Some(text) => Some(text),
        None => {
            recorded = explain_recorded(dir).ok();
            recorded.as_deref()
        }
    };
    let report = render_html(dir, explain)?;
    write_report_page(&dir.join("report.html"), &report, charts)
}

/// Writes a rendered report's page at `path` and, with `charts`, each of
/// its charts as an SVG file in that directory. Returns the paths written,
/// the page first.
pub fn write_report_page(
    path: &Path,
    report: &Report,
    charts: Option<&Path>,
) -> Result<Vec<PathBuf>, Error> {
    let mut written = vec![path.to_path_buf()];
    if let Some(charts) = charts {
        super::create_dir(charts)?;
        for f in &report.figures {
            let file = charts.join(format!("{}.svg", f.id));
            write_atomic(&file, |w| {
                writeln!(w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>")?;
                w.write_all(f.svg.as_bytes())?;
                writeln!(w)
            })?;
            written.push(file);
        }
    }
    write_atomic(path, |w| w.write_all(report.html.as_bytes()))?;
    Ok(written)
}
