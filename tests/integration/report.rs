//! `report.html`: every kind of report is well-formed XML, its charts match
//! their snapshots, and what they draw is what the tables hold.
//!
//! The snapshots in `tests/golden/charts/` are the SVG of every chart of
//! the reports of the golden results directories (`tests/golden/`); a
//! change to a chart regenerates them on purpose
//! (`PBRSIM_BLESS=1 cargo test report`). The same pages are opened in a
//! real browser by `tests/browser/check_reports.mjs` (run by `.ci/run`).

use std::path::{Path, PathBuf};
use std::process::Command;

/// Golden directories, one per kind of report.
const KINDS: [&str; 8] = [
    "run_work_programme",
    "compare",
    "stress",
    "sensitivity",
    "evidence",
    "solve",
    "sweep",
    "reverse_stress",
];

fn golden(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name)
}

fn pbrsim(args: &[&str], cwd: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_pbrsim"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("binary runs")
}

fn parse_strictly(html: &str, what: &str) {
    let doc = roxmltree::Document::parse_with_options(
        html,
        roxmltree::ParsingOptions {
            allow_dtd: true,
            ..Default::default()
        },
    )
    .unwrap_or_else(|e| panic!("{what}: not well-formed: {e}"));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "html", "{what}");
    // Nothing is fetched: no element refers to another address.
    for node in doc.descendants().filter(|n| n.is_element()) {
        for attr in ["src", "href"] {
            if let Some(v) = node.attribute(attr) {
                assert!(v.starts_with('#'), "{what}: {attr}=\"{v}\" leaves the page");
            }
        }
        assert!(
            node.tag_name().name() != "link" && node.tag_name().name() != "iframe",
            "{what}: <{}>",
            node.tag_name().name()
        );
    }
}

#[test]
fn every_kind_of_report_is_well_formed_and_its_charts_match_their_snapshots() {
    let bless = std::env::var_os("PBRSIM_BLESS").is_some();
    let mut differences = Vec::new();
    for kind in KINDS {
        let report = pbrsim::output::render_html(&golden(kind), None).unwrap();
        parse_strictly(&report.html, kind);
        assert!(!report.figures.is_empty(), "{kind}: no chart");
        let dir = golden("charts").join(kind);
        if bless {
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
        }
        let mut ids = Vec::new();
        for f in &report.figures {
            assert!(!ids.contains(&f.id), "{kind}: id {} twice", f.id);
            ids.push(f.id.clone());
            // Each chart stands alone as an SVG document.
            parse_strictly_svg(&f.svg, &f.id);
            assert!(
                report.html.contains(&f.svg),
                "{kind}: {} not in the page",
                f.id
            );
            assert!(!f.table.1.is_empty(), "{kind}: {} has no numbers", f.id);
            assert!(f.reading.ends_with('.'), "{kind}: {}: {}", f.id, f.reading);
            let path = dir.join(format!("{}.svg", f.id));
            if bless {
                std::fs::write(&path, &f.svg).unwrap();
            } else if std::fs::read_to_string(&path).ok().as_deref() != Some(f.svg.as_str()) {
                differences.push(format!("{kind}/{}", f.id));
            }
        }
        if !bless {
            let kept = std::fs::read_dir(&dir).map_or(0, |d| d.count());
            if kept != ids.len() {
                differences.push(format!("{kind}: {kept} snapshots for {} charts", ids.len()));
            }
        }
    }
    assert!(
        differences.is_empty(),
        "charts differ from tests/golden/charts (PBRSIM_BLESS=1 cargo test report regenerates them on purpose): {differences:?}"
    );
}

fn parse_strictly_svg(svg: &str, what: &str) {
    let doc = roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("{what}: {e}"));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    assert_eq!(root.attribute("role"), Some("img"), "{what}");
    let title = doc
        .descendants()
        .find(|n| n.has_tag_name("title"))
        .and_then(|n| n.text());
    assert!(title.is_some_and(|t| !t.is_empty()), "{what}: no title");
    let drawn = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("mark"));
    assert!(drawn.count() > 0, "{what}: nothing drawn");
}

fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(path).unwrap();
    let header = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r
        .records()
        .map(|x| x.unwrap().iter().map(String::from).collect())
        .collect();
    (header, rows)
}

fn column(header: &[String], name: &str) -> usize {
    header.iter().position(|h| h == name).unwrap()
}

/// `distribution.csv` counted again from the iterations themselves: each
/// bin's probability is the share of `draws.csv`'s values in it (exact:
/// the golden runs are below the sketches' exact size).
#[test]
fn the_histogram_is_the_share_of_iterations_in_each_bin() {
    for kind in ["run_work_programme", "run_supply_chain", "run_minimal"] {
        let (dh, draws) = read_csv(&golden(kind).join("draws.csv"));
        let (h, bins) = read_csv(&golden(kind).join("distribution.csv"));
        let parties: std::collections::BTreeSet<String> = bins
            .iter()
            .map(|r| r[column(&h, "party")].clone())
            .collect();
        assert!(
            parties.contains("prime") && parties.contains("commissioner"),
            "{kind}"
        );
        for party in parties {
            let c = column(&dh, &format!("{party}.net"));
            let values: Vec<f64> = draws.iter().map(|r| r[c].parse().unwrap()).collect();
            let n = values.len() as f64;
            let mine: Vec<&Vec<String>> = bins
                .iter()
                .filter(|r| r[column(&h, "party")] == party)
                .collect();
            let last = mine.len() - 1;
            let mut total = 0.0;
            for (i, r) in mine.iter().enumerate() {
                let num = |k: &str| -> f64 { r[column(&h, k)].parse().unwrap() };
                let (lo, hi, p) = (num("low"), num("high"), num("probability"));
                let inside = values
                    .iter()
                    .filter(|&&x| x >= lo && (x < hi || (i == last && x <= hi)))
                    .count() as f64;
                assert_eq!(p, inside / n, "{kind} {party} bin {i}");
                total += inside;
            }
            assert_eq!(total, n, "{kind} {party}: every iteration in one bin");
            let min = values.iter().copied().fold(f64::INFINITY, f64::min);
            assert_eq!(mine[0][column(&h, "low")].parse::<f64>().unwrap(), min);
        }
    }
}

/// The fan chart's numbers are monthly.csv's, and its failure point is
/// minus the provider's credit line from summary.json.
#[test]
fn the_fan_chart_draws_the_monthly_table() {
    let dir = golden("run_work_programme");
    let report = pbrsim::output::render_html(&dir, None).unwrap();
    let fan = report.figures.iter().find(|f| f.id == "fan-prime").unwrap();
    let (h, rows) = read_csv(&dir.join("monthly.csv"));
    let prime: Vec<&Vec<String>> = rows
        .iter()
        .filter(|r| {
            r[column(&h, "party")] == "prime" && r[column(&h, "series")] == "cumulative_cash"
        })
        .collect();
    assert_eq!(fan.table.1.len(), prime.len());
    for (shown, r) in fan.table.1.iter().zip(&prime) {
        assert_eq!(shown[0], r[column(&h, "month")]);
        for (k, q) in ["p5", "p25", "p50", "p75", "p95"].iter().enumerate() {
            let x: f64 = r[column(&h, q)].parse().unwrap();
            assert_eq!(
                shown[k + 1],
                pbrsim::output::fmt_pounds(x),
                "month {} {q}",
                shown[0]
            );
        }
    }
    // The prime's credit line in the Work Programme scenario is £10m.
    assert!(
        fan.svg.contains("fails below -£10m (credit line)"),
        "{}",
        fan.svg
    );
    assert!(
        fan.reading.contains("failure point of -£10m"),
        "{}",
        fan.reading
    );
}

/// `pbrsim report DIR` writes the page and the workbook (or one with
/// --html / --xlsx), and --charts the SVG files; `run --report` without
/// --out leaves only report.html in the current directory, with the
/// contract explained; a directory without tables is refused.
#[test]
fn reports_are_written_where_the_user_asks() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let done = pbrsim(&["run", "-n", "64", "--out", "run", "--report"], tmp.path());
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let page = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(page.contains("id=\"contract\"") && page.contains("Who pays whom"));
    assert!(!out.join("report.xlsx").exists());

    std::fs::remove_file(out.join("report.html")).unwrap();
    let charts = tmp.path().join("charts");
    let html_only = pbrsim(
        &["report", "run", "--html", "--charts", "charts"],
        tmp.path(),
    );
    assert!(
        html_only.status.success(),
        "{}",
        String::from_utf8_lossy(&html_only.stderr)
    );
    // The embedded scenario is found again: the contract is explained.
    let again = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert_eq!(again, page, "the same tables give the same page");
    assert!(!out.join("report.xlsx").exists());
    let svgs: Vec<PathBuf> = std::fs::read_dir(&charts)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(
        svgs.iter().any(|p| p.ends_with("fan-prime.svg")),
        "{svgs:?}"
    );
    for p in &svgs {
        let text = std::fs::read_to_string(p).unwrap();
        assert!(text.starts_with("<?xml"), "{}", p.display());
        roxmltree::Document::parse(&text).unwrap();
    }

    let both = pbrsim(&["report", "run"], tmp.path());
    assert!(both.status.success());
    assert!(out.join("report.html").exists() && out.join("report.xlsx").exists());

    let cwd = tmp.path().join("here");
    std::fs::create_dir(&cwd).unwrap();
    let bare = pbrsim(&["run", "-n", "64", "--report", "--quiet"], &cwd);
    assert!(
        bare.status.success(),
        "{}",
        String::from_utf8_lossy(&bare.stderr)
    );
    let left: Vec<_> = std::fs::read_dir(&cwd)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, vec![std::ffi::OsString::from("report.html")]);
    assert!(
        std::fs::read_to_string(cwd.join("report.html"))
            .unwrap()
            .contains("Who pays whom")
    );

    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let refused = pbrsim(&["report", "empty", "--html"], tmp.path());
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("holds no pbrsim tables"));
    assert_eq!(std::fs::read_dir(&empty).unwrap().count(), 0);
    let charts_alone = pbrsim(&["run", "-n", "64", "--charts", "x"], tmp.path());
    assert_eq!(charts_alone.status.code(), Some(2));
}

/// Tables whose cells are empty, not numbers or extreme (a hand-edited or
/// truncated directory) still give a well-formed page or a clear error,
/// never a panic.
#[test]
fn odd_tables_never_break_the_report() {
    let tmp = tempfile::tempdir().unwrap();
    for kind in KINDS {
        for (n, replacement) in ["", "abc", "-1e308", "NaN", "0"].iter().enumerate() {
            let dir = tmp.path().join(format!("{kind}-{n}"));
            std::fs::create_dir(&dir).unwrap();
            for entry in std::fs::read_dir(golden(kind)).unwrap() {
                let path = entry.unwrap().path();
                let name = path.file_name().unwrap().to_owned();
                if path.extension().is_some_and(|e| e == "csv") {
                    let (header, rows) = read_csv(&path);
                    let mut w = csv::Writer::from_path(dir.join(&name)).unwrap();
                    w.write_record(&header).unwrap();
                    // Keep the text columns (names, parties) and the first
                    // row's numbers; the rest become the odd value.
                    for (i, r) in rows.iter().enumerate() {
                        let odd: Vec<String> = r
                            .iter()
                            .map(|c| {
                                if i > 0 && c.parse::<f64>().is_ok() {
                                    replacement.to_string()
                                } else {
                                    c.clone()
                                }
                            })
                            .collect();
                        w.write_record(&odd).unwrap();
                    }
                    w.flush().unwrap();
                } else if name == "summary.json" {
                    std::fs::copy(&path, dir.join(&name)).unwrap();
                }
            }
            let report = pbrsim::output::render_html(&dir, None).unwrap();
            parse_strictly(&report.html, &format!("{kind} with {replacement:?}"));
        }
    }
    // A directory with a table but a header of the wrong kind.
    let dir = tmp.path().join("wrong");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("figures.csv"), "a,b\n1,2\n").unwrap();
    std::fs::write(dir.join("sweep.csv"), "party,scenario\nx,y\n").unwrap();
    std::fs::write(dir.join("monthly.csv"), "\n").unwrap();
    let report = pbrsim::output::render_html(&dir, None).unwrap();
    parse_strictly(&report.html, "wrong headers");
}

/// Every shipped scenario's report has every chart of a run: each
/// provider's fan, failure curve and histogram, the downside, and the
/// commissioner's payments and cost per outcome (none left out as empty).
#[test]
fn every_shipped_scenario_gets_every_chart_of_a_run() {
    for entry in std::fs::read_dir(golden("")).unwrap() {
        let dir = entry.unwrap().path();
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        if !name.starts_with("run_") {
            continue;
        }
        let report = pbrsim::output::render_html(&dir, None).unwrap();
        parse_strictly(&report.html, &name);
        let ids: Vec<&str> = report.figures.iter().map(|f| f.id.as_str()).collect();
        let summary: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap())
                .unwrap();
        let mut expected = vec![
            "downside".to_string(),
            "commissioner-paid".to_string(),
            "commissioner-cost-per-outcome".to_string(),
        ];
        for p in summary["parties"].as_array().unwrap() {
            if p.get("reserves").is_some() {
                let id = p["id"].as_str().unwrap();
                expected.extend([
                    format!("fan-{id}"),
                    format!("failure-{id}"),
                    format!("net-{id}"),
                ]);
            }
        }
        for e in &expected {
            assert!(ids.contains(&e.as_str()), "{name}: no {e} in {ids:?}");
        }
    }
}

/// A design search's directory gets its candidates' objectives and its
/// Pareto front, drawn from design.csv and pareto.csv.
#[test]
fn a_design_search_gets_its_charts() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/minimal.toml");
    let file = tmp.path().join("d.toml");
    std::fs::write(
        &file,
        format!(
            "scenario = {:?}\niterations = [128, 256]\n[list]\n\"payments.price_discount\" = [0.0, 0.1, 0.3]\n[objective]\nminimise = \"commissioner.paid.total\"\n[[constraints]]\nevent = \"prime.net < 0\"\nat_most = 0.2\n",
            scenario.display().to_string()
        ),
    )
    .unwrap();
    let done = pbrsim(&["design", "d.toml", "--out", "d", "--quiet"], tmp.path());
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let report = pbrsim::output::render_html(&tmp.path().join("d"), None).unwrap();
    parse_strictly(&report.html, "design");
    let ids: Vec<&str> = report.figures.iter().map(|f| f.id.as_str()).collect();
    assert_eq!(ids, ["design-objective", "design-pareto"]);
    let (h, rows) = read_csv(&tmp.path().join("d/design.csv"));
    let objective = &report.figures[0];
    assert_eq!(objective.table.1.len(), rows.len());
    for (shown, r) in objective.table.1.iter().zip(&rows) {
        let x: f64 = r[column(&h, "objective")].parse().unwrap();
        assert_eq!(shown[1], pbrsim::output::fmt_pounds(x));
    }
}
