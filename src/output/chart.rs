//! Charts as SVG text, drawn from the numbers of a results directory.
//!
//! Two shapes cover every chart of the report: an x-y plot (lines, bands,
//! points with intervals, columns, reference lines) and a row plot
//! (horizontal segments per labelled row, intervals, a reference line),
//! which draws bars, stacked shares, tornadoes and dot-and-whisker
//! comparisons. What stands for data carries `class="mark"` (axes, grid
//! and legend do not), so a test can tell a drawn chart from an empty one. Each SVG carries its own styling and fonts as attributes,
//! so a chart saved on its own looks as it does in the report, and its
//! text is escaped, so the document stays well-formed XML.

use crate::math;
use std::fmt::Write;

/// Colours that stay distinct for colour-blind readers (Okabe and Ito).
pub const PALETTE: [&str; 8] = [
    "#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#8C6D1F", "#000000",
];
const GREY: &str = "#6b6b6b";
const WIDTH: f64 = 720.0;
const FONT: &str =
    "font-family=\"system-ui, -apple-system, 'Segoe UI', sans-serif\" font-size=\"12\"";

/// Escapes text for XML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

/// How an axis writes its numbers.
#[derive(Clone, Debug)]
pub enum Format {
    /// Money with a currency symbol, shortened (`£1.2m`, `-£350k`).
    Money(String),
    /// A probability or share as a percentage.
    Percent,
    /// A plain number, shortened when large.
    Number,
}

impl Format {
    /// A number for an axis tick or a label.
    pub fn label(&self, x: f64) -> String {
        if !x.is_finite() {
            return "undefined".into();
        }
        match self {
            Format::Money(symbol) => {
                // Whole pounds below ten thousand: pence are noise here.
                let a = if x.abs() < 1e4 {
                    x.abs().round()
                } else {
                    x.abs()
                };
                let sign = if x < 0.0 && a != 0.0 { "-" } else { "" };
                format!("{sign}{symbol}{}", short(a))
            }
            Format::Percent => {
                let p = 100.0 * x;
                if p.abs() >= 10.0 || p == p.round() {
                    format!("{p:.0}%")
                } else {
                    format!("{p:.1}%")
                }
            }
            Format::Number => {
                if x < 0.0 {
                    format!("-{}", short(-x))
                } else {
                    short(x)
                }
            }
        }
    }
}

/// A non-negative number in at most three significant digits, with k, m or
/// bn for thousands, millions and billions.
fn short(x: f64) -> String {
    let (v, suffix) = if x >= 1e9 {
        (x / 1e9, "bn")
    } else if x >= 1e6 {
        (x / 1e6, "m")
    } else if x >= 1e4 {
        (x / 1e3, "k")
    } else {
        (x, "")
    };
    // Three significant digits (so that ticks such as 0.025 keep theirs).
    let digits = if v == 0.0 || v == v.round() {
        0
    } else {
        (2 - math::log10(v).floor() as i32).clamp(0, 8) as usize
    };
    let s = format!("{v:.digits$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    format!("{s}{suffix}")
}

/// Round tick values covering `[lo, hi]`: about five steps of 1, 2, 2.5 or
/// 5 times a power of ten.
pub fn ticks(lo: f64, hi: f64) -> Vec<f64> {
    if !(lo.is_finite() && hi.is_finite()) || hi <= lo {
        return vec![lo];
    }
    let raw = (hi - lo) / 5.0;
    let power = math::pow(10.0, math::log10(raw).floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * power)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * power);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last).map(|i| i as f64 * step).collect()
}

/// A range that holds every value given, widened by a little and to round
/// ends, and to zero when `zero` (bars start at zero).
fn domain(values: impl Iterator<Item = f64>, zero: bool) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if zero {
        lo = lo.min(0.0);
        hi = hi.max(0.0);
    }
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    if hi - lo < 1e-12 * (1.0 + lo.abs()) {
        let pad = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
        return (lo - pad, hi + pad);
    }
    // Padding never crosses zero: an axis of positive values starts at
    // zero at most.
    let pad = 0.04 * (hi - lo);
    let (lo, hi) = (
        if lo >= 0.0 {
            (lo - pad).max(0.0)
        } else {
            lo - pad
        },
        if hi <= 0.0 {
            (hi + pad).min(0.0)
        } else {
            hi + pad
        },
    );
    let t = ticks(lo, hi);
    let step = if t.len() > 1 { t[1] - t[0] } else { hi - lo };
    ((lo / step).floor() * step, (hi / step).ceil() * step)
}

/// Maps a domain onto a pixel range.
#[derive(Clone, Copy)]
struct Scale {
    d0: f64,
    d1: f64,
    r0: f64,
    r1: f64,
}

impl Scale {
    fn at(&self, x: f64) -> f64 {
        self.r0 + (x - self.d0) / (self.d1 - self.d0) * (self.r1 - self.r0)
    }
}

/// A number for SVG coordinates: two decimals, no `-0`.
fn n(x: f64) -> String {
    // A browser refuses `NaN` in a coordinate (with a console error);
    // whatever is undefined was left out before, this is the last guard.
    if !x.is_finite() {
        return "0".into();
    }
    let r = (x * 100.0).round() / 100.0;
    if r == 0.0 { "0".into() } else { format!("{r}") }
}

/// A chart: its title, and its SVG given an element id and a reading.
pub trait Chart {
    /// The title.
    fn title(&self) -> &str;
    /// The SVG, with `id` for its element and `reading` as its description.
    fn svg(&self, id: &str, reading: &str) -> String;
}

impl Chart for XY {
    fn title(&self) -> &str {
        &self.title
    }
    fn svg(&self, id: &str, reading: &str) -> String {
        XY::svg(self, id, reading)
    }
}

impl Chart for Rows {
    fn title(&self) -> &str {
        &self.title
    }
    fn svg(&self, id: &str, reading: &str) -> String {
        Rows::svg(self, id, reading)
    }
}

/// A line of an x-y chart.
pub struct Line {
    pub label: String,
    pub y: Vec<f64>,
    pub colour: &'static str,
    pub dashed: bool,
}

/// A shaded band between two series.
pub struct Band {
    pub label: String,
    pub lo: Vec<f64>,
    pub hi: Vec<f64>,
    pub colour: &'static str,
    pub opacity: f64,
}

/// A point with its interval.
pub struct Point {
    pub x: f64,
    pub y: f64,
    pub lo: f64,
    pub hi: f64,
}

/// A horizontal or vertical reference line with its label.
pub struct Mark {
    pub value: f64,
    pub label: String,
    pub colour: &'static str,
}

/// An x-y chart.
pub struct XY {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub x_format: Format,
    pub y_format: Format,
    pub x: Vec<f64>,
    pub bands: Vec<Band>,
    pub lines: Vec<Line>,
    /// Points with intervals, labelled in the legend as `points_label`.
    pub points: Vec<Point>,
    pub points_label: String,
    /// Columns `(x0, x1, height)`: a histogram.
    pub columns: Vec<(f64, f64, f64)>,
    pub h_marks: Vec<Mark>,
    pub v_marks: Vec<Mark>,
    /// Whether the y axis includes zero.
    pub y_zero: bool,
}

impl XY {
    /// An empty chart to fill.
    pub fn new(
        title: &str,
        x_label: &str,
        y_label: &str,
        x_format: Format,
        y_format: Format,
    ) -> XY {
        XY {
            title: title.into(),
            x_label: x_label.into(),
            y_label: y_label.into(),
            x_format,
            y_format,
            x: Vec::new(),
            bands: Vec::new(),
            lines: Vec::new(),
            points: Vec::new(),
            points_label: String::new(),
            columns: Vec::new(),
            h_marks: Vec::new(),
            v_marks: Vec::new(),
            y_zero: false,
        }
    }

    /// The SVG, with `id` for its element and `reading` as its description.
    pub fn svg(&self, id: &str, reading: &str) -> String {
        let height = 340.0;
        let legend = self.legend();
        let top = if legend.is_empty() { 16.0 } else { 40.0 };
        let (left, right, bottom) = (86.0, 24.0, 48.0);
        let xs = self
            .x
            .iter()
            .copied()
            .chain(self.points.iter().map(|p| p.x))
            .chain(self.columns.iter().flat_map(|c| [c.0, c.1]))
            .chain(self.v_marks.iter().map(|m| m.value));
        let (x0, x1) = if self.columns.is_empty() {
            let (lo, hi) = domain(xs, false);
            // Months and swept values start where the data start.
            let exact = self
                .x
                .iter()
                .chain(self.points.iter().map(|p| &p.x))
                .copied();
            let (dlo, dhi) = exact.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
                (a.min(v), b.max(v))
            });
            if dlo.is_finite()
                && dhi > dlo
                && self
                    .v_marks
                    .iter()
                    .all(|m| m.value >= dlo && m.value <= dhi)
            {
                (dlo, dhi)
            } else {
                (lo, hi)
            }
        } else {
            domain(xs, false)
        };
        let ys = self
            .lines
            .iter()
            .flat_map(|l| l.y.iter().copied())
            .chain(
                self.bands
                    .iter()
                    .flat_map(|b| b.lo.iter().chain(&b.hi).copied()),
            )
            .chain(self.points.iter().flat_map(|p| [p.y, p.lo, p.hi]))
            .chain(self.columns.iter().map(|c| c.2))
            .chain(self.h_marks.iter().map(|m| m.value));
        let (y0, y1) = domain(ys, self.y_zero || !self.columns.is_empty());
        let sx = Scale {
            d0: x0,
            d1: x1,
            r0: left,
            r1: WIDTH - right,
        };
        let sy = Scale {
            d0: y0,
            d1: y1,
            r0: height - bottom,
            r1: top,
        };
        let mut s = open(id, &self.title, reading, height);
        s.push_str(&legend);
        grid(
            &mut s,
            sx,
            sy,
            &self.x_format,
            &self.y_format,
            &self.x_label,
            &self.y_label,
        );
        for (x0, x1, h) in &self.columns {
            let (a, b) = (sx.at(*x0), sx.at(*x1));
            let (top_y, base) = (sy.at(*h), sy.at(0.0));
            let _ = write!(
                s,
                r##"<rect class="mark" x="{}" y="{}" width="{}" height="{}" fill="{}" fill-opacity="0.75"/>"##,
                n(a + 0.5),
                n(top_y.min(base)),
                n((b - a - 1.0).max(0.5)),
                n((base - top_y).abs()),
                PALETTE[0]
            );
        }
        for b in &self.bands {
            let upper = self.x.iter().zip(&b.hi).filter(|(_, y)| y.is_finite());
            let lower = self.x.iter().zip(&b.lo).filter(|(_, y)| y.is_finite());
            let mut pts: Vec<String> = upper
                .map(|(x, y)| format!("{},{}", n(sx.at(*x)), n(sy.at(*y))))
                .collect();
            let mut back: Vec<String> = lower
                .map(|(x, y)| format!("{},{}", n(sx.at(*x)), n(sy.at(*y))))
                .collect();
            back.reverse();
            pts.extend(back);
            if pts.len() >= 3 {
                let _ = write!(
                    s,
                    r##"<polygon class="mark" points="{}" fill="{}" fill-opacity="{}" stroke="none"/>"##,
                    pts.join(" "),
                    b.colour,
                    b.opacity
                );
            }
        }
        for m in &self.h_marks {
            if m.value.is_finite() {
                let y = sy.at(m.value);
                let _ = write!(
                    s,
                    r##"<line x1="{}" x2="{}" y1="{y}" y2="{y}" stroke="{}" stroke-width="1.5" stroke-dasharray="6 4"/><text x="{}" y="{}" text-anchor="end" fill="{}">{}</text>"##,
                    n(left),
                    n(WIDTH - right),
                    m.colour,
                    n(WIDTH - right - 4.0),
                    n(y - 5.0),
                    m.colour,
                    escape(&m.label),
                    y = n(y)
                );
            }
        }
        // The leftmost mark's label goes to its left when there is room, so
        // that labels of neighbouring marks do not cross each other's lines.
        let leftmost = self
            .v_marks
            .iter()
            .enumerate()
            .filter(|(_, m)| m.value.is_finite())
            .min_by(|a, b| a.1.value.total_cmp(&b.1.value))
            .map(|(i, _)| i);
        for (i, m) in self.v_marks.iter().enumerate() {
            if m.value.is_finite() {
                let x = sx.at(m.value);
                let room = x - left > 7.0 * m.label.chars().count() as f64;
                let anchor =
                    if x > WIDTH * 0.6 || (Some(i) == leftmost && room && self.v_marks.len() > 1) {
                        "end"
                    } else {
                        "start"
                    };
                let dx = if anchor == "end" { -4.0 } else { 4.0 };
                let _ = write!(
                    s,
                    r##"<line x1="{x}" x2="{x}" y1="{}" y2="{}" stroke="{}" stroke-width="1.5" stroke-dasharray="6 4"/><text x="{}" y="{}" text-anchor="{anchor}" fill="{}">{}</text>"##,
                    n(top),
                    n(height - bottom),
                    m.colour,
                    n(x + dx),
                    n(top + 12.0 + 14.0 * i as f64),
                    m.colour,
                    escape(&m.label),
                    x = n(x)
                );
            }
        }
        for l in &self.lines {
            let pts: Vec<String> = self
                .x
                .iter()
                .zip(&l.y)
                .filter(|(_, y)| y.is_finite())
                .map(|(x, y)| format!("{},{}", n(sx.at(*x)), n(sy.at(*y))))
                .collect();
            if pts.len() == 1 {
                let (cx, cy) = pts[0].split_once(',').unwrap_or(("0", "0"));
                let _ = write!(
                    s,
                    r##"<circle class="mark" cx="{cx}" cy="{cy}" r="3.5" fill="{}"/>"##,
                    l.colour
                );
            } else if !pts.is_empty() {
                let dash = if l.dashed {
                    r##" stroke-dasharray="5 3""##
                } else {
                    ""
                };
                let _ = write!(
                    s,
                    r##"<polyline class="mark" points="{}" fill="none" stroke="{}" stroke-width="2"{dash}/>"##,
                    pts.join(" "),
                    l.colour
                );
            }
        }
        for p in &self.points {
            let x = sx.at(p.x);
            if p.lo.is_finite() && p.hi.is_finite() {
                let _ = write!(
                    s,
                    r##"<line class="mark" x1="{x}" x2="{x}" y1="{}" y2="{}" stroke="{}" stroke-width="1.5"/>"##,
                    n(sy.at(p.lo)),
                    n(sy.at(p.hi)),
                    PALETTE[0],
                    x = n(x)
                );
            }
            if p.y.is_finite() {
                let _ = write!(
                    s,
                    r##"<circle class="mark" cx="{}" cy="{}" r="3.5" fill="{}"/>"##,
                    n(x),
                    n(sy.at(p.y)),
                    PALETTE[0]
                );
            }
        }
        s.push_str("</svg>");
        s
    }

    fn legend(&self) -> String {
        let mut items: Vec<(String, &str, &str)> = Vec::new();
        for b in &self.bands {
            items.push((b.label.clone(), b.colour, "band"));
        }
        for l in &self.lines {
            items.push((
                l.label.clone(),
                l.colour,
                if l.dashed { "dash" } else { "line" },
            ));
        }
        if !self.points.is_empty() && !self.points_label.is_empty() {
            items.push((self.points_label.clone(), PALETTE[0], "point"));
        }
        legend(&items)
    }
}

/// Legend entries in a row above the plot: (label, colour, swatch kind).
fn legend(items: &[(String, &str, &str)]) -> String {
    let items: Vec<_> = items.iter().filter(|(l, _, _)| !l.is_empty()).collect();
    if items.is_empty() {
        return String::new();
    }
    let mut s = String::new();
    let mut x = 86.0;
    for (label, colour, kind) in items {
        let swatch = match *kind {
            "band" => format!(
                r##"<rect x="{}" y="10" width="16" height="10" fill="{colour}" fill-opacity="0.35"/>"##,
                n(x)
            ),
            "point" => format!(
                r##"<circle cx="{}" cy="15" r="3.5" fill="{colour}"/>"##,
                n(x + 8.0)
            ),
            "dash" => format!(
                r##"<line x1="{}" x2="{}" y1="15" y2="15" stroke="{colour}" stroke-width="2" stroke-dasharray="5 3"/>"##,
                n(x),
                n(x + 16.0)
            ),
            "line" => format!(
                r##"<line x1="{}" x2="{}" y1="15" y2="15" stroke="{colour}" stroke-width="2"/>"##,
                n(x),
                n(x + 16.0)
            ),
            _ => format!(
                r##"<rect x="{}" y="10" width="16" height="10" fill="{colour}"/>"##,
                n(x)
            ),
        };
        s.push_str(&swatch);
        let _ = write!(
            s,
            r##"<text x="{}" y="19">{}</text>"##,
            n(x + 21.0),
            escape(label)
        );
        // Roughly the text's width at 12px.
        x += 21.0 + 6.6 * label.chars().count() as f64 + 16.0;
    }
    s
}

fn open(id: &str, title: &str, reading: &str, height: f64) -> String {
    let id = escape(id);
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{id}" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-labelledby="{id}-title {id}-desc" {FONT}><title id="{id}-title">{}</title><desc id="{id}-desc">{}</desc><rect width="{w}" height="{h}" fill="#ffffff"/>"##,
        escape(title),
        escape(reading),
        w = n(WIDTH),
        h = n(height)
    )
}

/// Axes, grid lines, tick labels and axis titles.
#[allow(clippy::too_many_arguments)]
fn grid(
    s: &mut String,
    sx: Scale,
    sy: Scale,
    fx: &Format,
    fy: &Format,
    x_label: &str,
    y_label: &str,
) {
    for t in ticks(sy.d0, sy.d1) {
        let y = n(sy.at(t));
        let _ = write!(
            s,
            r##"<line x1="{}" x2="{}" y1="{y}" y2="{y}" stroke="#e3e3e3"/><text x="{}" y="{y}" dy="4" text-anchor="end" fill="{GREY}">{}</text>"##,
            n(sx.r0),
            n(sx.r1),
            n(sx.r0 - 6.0),
            escape(&fy.label(t))
        );
    }
    for t in ticks(sx.d0, sx.d1) {
        let x = n(sx.at(t));
        let _ = write!(
            s,
            r##"<line x1="{x}" x2="{x}" y1="{}" y2="{}" stroke="#c8c8c8"/><text x="{x}" y="{}" text-anchor="middle" fill="{GREY}">{}</text>"##,
            n(sy.r0),
            n(sy.r0 + 5.0),
            n(sy.r0 + 18.0),
            escape(&fx.label(t))
        );
    }
    let _ = write!(
        s,
        r##"<line x1="{}" x2="{}" y1="{y}" y2="{y}" stroke="{GREY}"/><text x="{}" y="{}" text-anchor="middle" fill="{GREY}">{}</text><text transform="translate(16 {}) rotate(-90)" text-anchor="middle" fill="{GREY}">{}</text>"##,
        n(sx.r0),
        n(sx.r1),
        n((sx.r0 + sx.r1) / 2.0),
        n(sy.r0 + 38.0),
        escape(x_label),
        n((sy.r0 + sy.r1) / 2.0),
        escape(y_label),
        y = n(sy.r0)
    );
}

/// A horizontal segment of a row: from `from` to `to` in `colour`.
pub struct Segment {
    pub from: f64,
    pub to: f64,
    pub colour: &'static str,
}

/// One labelled row of a row chart: segments (bars), then an optional dot
/// with its interval.
pub struct Row {
    pub label: String,
    pub segments: Vec<Segment>,
    pub dot: Option<(f64, f64, f64)>,
    pub dot_colour: &'static str,
}

impl Row {
    /// A row with a label and nothing drawn yet.
    pub fn new(label: impl Into<String>) -> Row {
        Row {
            label: label.into(),
            segments: Vec::new(),
            dot: None,
            dot_colour: PALETTE[0],
        }
    }
}

/// A chart of horizontal rows: bars, stacked shares, tornadoes, intervals.
pub struct Rows {
    pub title: String,
    pub x_label: String,
    pub format: Format,
    pub rows: Vec<Row>,
    /// Legend entries: label and colour.
    pub legend: Vec<(String, &'static str)>,
    /// A vertical reference line (zero, or a baseline) and its label.
    pub reference: Option<(f64, String)>,
}

impl Rows {
    /// The SVG, with `id` for its element and `reading` as its description.
    pub fn svg(&self, id: &str, reading: &str) -> String {
        let row_h = 26.0;
        let longest = self
            .rows
            .iter()
            .map(|r| r.label.chars().count())
            .max()
            .unwrap_or(4);
        let left = (16.0 + 7.2 * longest as f64).clamp(70.0, 360.0);
        let top = if self.legend.is_empty() { 14.0 } else { 38.0 };
        let bottom = 48.0;
        let height = top + bottom + row_h * self.rows.len().max(1) as f64;
        let values = self
            .rows
            .iter()
            .flat_map(|r| {
                r.segments
                    .iter()
                    .flat_map(|g| [g.from, g.to])
                    .chain(r.dot.iter().flat_map(|d| [d.0, d.1, d.2]))
            })
            .chain(self.reference.iter().map(|r| r.0));
        let (x0, x1) = domain(values, false);
        let sx = Scale {
            d0: x0,
            d1: x1,
            r0: left,
            r1: WIDTH - 24.0,
        };
        let mut s = open(id, &self.title, reading, height);
        let items: Vec<(String, &str, &str)> = self
            .legend
            .iter()
            .map(|(l, c)| (l.clone(), *c, "bar"))
            .collect();
        s.push_str(&legend(&items));
        let base = top + row_h * self.rows.len().max(1) as f64;
        for t in ticks(x0, x1) {
            let x = n(sx.at(t));
            let _ = write!(
                s,
                r##"<line x1="{x}" x2="{x}" y1="{}" y2="{}" stroke="#e3e3e3"/><text x="{x}" y="{}" text-anchor="middle" fill="{GREY}">{}</text>"##,
                n(top),
                n(base),
                n(base + 18.0),
                escape(&self.format.label(t))
            );
        }
        let _ = write!(
            s,
            r##"<text x="{}" y="{}" text-anchor="middle" fill="{GREY}">{}</text>"##,
            n((sx.r0 + sx.r1) / 2.0),
            n(base + 38.0),
            escape(&self.x_label)
        );
        for (i, r) in self.rows.iter().enumerate() {
            let y = top + row_h * i as f64;
            let _ = write!(
                s,
                r##"<text x="{}" y="{}" text-anchor="end">{}</text>"##,
                n(left - 8.0),
                n(y + row_h / 2.0 + 4.0),
                escape(&r.label)
            );
            for g in &r.segments {
                if !(g.from.is_finite() && g.to.is_finite()) {
                    continue;
                }
                let (a, b) = (sx.at(g.from.min(g.to)), sx.at(g.from.max(g.to)));
                let _ = write!(
                    s,
                    r##"<rect class="mark" x="{}" y="{}" width="{}" height="{}" fill="{}"/>"##,
                    n(a),
                    n(y + 5.0),
                    n((b - a).max(0.75)),
                    n(row_h - 10.0),
                    g.colour
                );
            }
            if let Some((v, lo, hi)) = r.dot {
                let cy = n(y + row_h / 2.0);
                if lo.is_finite() && hi.is_finite() {
                    let _ = write!(
                        s,
                        r##"<line class="mark" x1="{}" x2="{}" y1="{cy}" y2="{cy}" stroke="{}" stroke-width="2"/>"##,
                        n(sx.at(lo)),
                        n(sx.at(hi)),
                        r.dot_colour
                    );
                }
                if v.is_finite() {
                    let _ = write!(
                        s,
                        r##"<circle class="mark" cx="{}" cy="{cy}" r="4" fill="{}" stroke="#ffffff"/>"##,
                        n(sx.at(v)),
                        r.dot_colour
                    );
                }
            }
        }
        if let Some((v, label)) = &self.reference
            && v.is_finite()
        {
            let x = n(sx.at(*v));
            let _ = write!(
                s,
                r##"<line x1="{x}" x2="{x}" y1="{}" y2="{}" stroke="{GREY}" stroke-width="1.5"/><text x="{x}" y="{}" text-anchor="middle" fill="{GREY}">{}</text>"##,
                n(top - 2.0),
                n(base),
                n(top - 5.0),
                escape(label)
            );
        }
        let _ = write!(
            s,
            r##"<line x1="{}" x2="{}" y1="{b}" y2="{b}" stroke="{GREY}"/>"##,
            n(sx.r0),
            n(sx.r1),
            b = n(base)
        );
        s.push_str("</svg>");
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        assert_eq!(
            ticks(0.0, 1.0),
            vec![0.0, 0.2, 0.4, 0.6000000000000001, 0.8, 1.0]
        );
        assert_eq!(ticks(-3.0e6, 7.0e6), vec![-2.0e6, 0.0, 2.0e6, 4.0e6, 6.0e6]);
        assert_eq!(ticks(0.0, 59.0), vec![0.0, 20.0, 40.0]);
        assert_eq!(ticks(5.0, 5.0), vec![5.0]);
    }

    #[test]
    fn labels_are_short() {
        let money = Format::Money("£".into());
        assert_eq!(money.label(1_234_567.0), "£1.23m");
        assert_eq!(money.label(-350_000.0), "-£350k");
        assert_eq!(money.label(-0.2), "£0");
        assert_eq!(money.label(2.5e9), "£2.5bn");
        assert_eq!(money.label(950.0), "£950");
        assert_eq!(Format::Percent.label(0.126), "13%");
        assert_eq!(Format::Percent.label(0.0126), "1.3%");
        assert_eq!(Format::Percent.label(0.05), "5%");
        assert_eq!(Format::Number.label(0.25), "0.25");
        assert_eq!(Format::Number.label(0.025), "0.025");
        assert_eq!(Format::Number.label(0.075), "0.075");
        assert_eq!(Format::Number.label(12.5), "12.5");
        assert_eq!(Format::Number.label(1234.0), "1234");
        assert_eq!(Format::Number.label(f64::NAN), "undefined");
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(escape("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
        let mut c = XY::new("P&L <net>", "month", "£", Format::Number, Format::Number);
        c.x = vec![0.0, 1.0];
        c.lines.push(Line {
            label: "x<y".into(),
            y: vec![1.0, 2.0],
            colour: PALETTE[0],
            dashed: false,
        });
        let svg = c.svg("a", "r & r");
        assert!(
            svg.contains("P&amp;L &lt;net&gt;")
                && svg.contains("x&lt;y")
                && svg.contains("r &amp; r")
        );
        assert!(!svg.contains("<net>"));
    }
}
