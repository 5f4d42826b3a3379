//! Realised series for a back-test (docs/backtesting.md, "Back-testing a
//! scenario"): one row per period,
//!
//! ```text
//! series,segment,period_start,period_end,currency,value
//! payments,,2019-01,2019-03,GBP,20460
//! referrals,esa,2019-01,2019-03,,412
//! ```
//!
//! `series` is `payments` (what the public side paid out in the period,
//! in total), `referrals` or `outcomes` (counts, in total or for one
//! segment: the optional `segment` column, empty for the total; no
//! currency); periods are inclusive `YYYY-MM` months, one value each, in
//! any order, neither overlapping nor leaving a gap between the first and
//! the last of a series (a period with nothing to report is a row with
//! value 0).

use crate::error::{ScenarioError, ScenarioErrors, suggest};

/// The series a back-test can compare.
pub const SERIES: [&str; 3] = ["payments", "referrals", "outcomes"];

/// What a realised value counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Measure {
    /// The public side's net outflow, in the scenario's currency.
    Payments,
    /// Referrals made.
    Referrals,
    /// Outcome events.
    Outcomes,
}

/// A realised series: what it counts, and for which segment (`None`: all).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Series {
    /// What it counts.
    pub measure: Measure,
    /// The segment (index into the scenario's segments), or all of them.
    pub segment: Option<usize>,
}

/// One realised value.
#[derive(Clone, Debug, PartialEq)]
pub struct Period {
    /// The series' name: `payments`, `referrals`, `outcomes`, or
    /// `referrals.<segment>`, `outcomes.<segment>`.
    pub series: String,
    /// What it counts.
    pub key: Series,
    /// First calendar month (months since year 0).
    pub first: i64,
    /// Last calendar month, inclusive.
    pub last: i64,
    /// The value.
    pub value: f64,
    /// Its line in the file.
    pub line: usize,
}

const COLUMNS: [&str; 5] = ["series", "period_start", "period_end", "currency", "value"];

/// Reads realised periods from `text` (file `origin`) for a scenario with
/// amounts in `currency` and segments `segments`, sorted by series and
/// month; every problem reported at its line and column.
pub fn parse(
    text: &str,
    origin: &str,
    currency: &str,
    segments: &[&str],
) -> Result<Vec<Period>, ScenarioErrors> {
    let fail =
        |line: usize, column: Option<usize>, key: &str, message: String, help: Option<String>| {
            ScenarioError {
                file: origin.to_string(),
                line: Some(line),
                column,
                key: Some(key.to_string()),
                message,
                help,
            }
        };
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader
        .headers()
        .map_err(|e| ScenarioErrors(vec![fail(1, None, "header", e.to_string(), None)]))?
        .clone();
    let mut errors = Vec::new();
    let mut index = [0usize; COLUMNS.len()];
    for (k, name) in COLUMNS.iter().enumerate() {
        match header.iter().position(|h| h.trim() == *name) {
            Some(i) => index[k] = i,
            None => errors.push(fail(
                1,
                None,
                name,
                format!("no `{name}` column"),
                Some(format!("the columns are {}", COLUMNS.join(", "))),
            )),
        }
    }
    if !errors.is_empty() {
        return Err(ScenarioErrors(errors));
    }
    let [series_col, start_col, end_col, currency_col, value_col] = index;
    let segment_col = header.iter().position(|h| h.trim() == "segment");
    let mut periods = Vec::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line() as usize);
                errors.push(fail(line, None, "row", e.to_string(), None));
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line() as usize);
        let raw = text.lines().nth(line.saturating_sub(1)).unwrap_or("");
        let at = |col: usize| Some(super::payments::column_of(raw, col));
        let field = |col: usize| record.get(col).unwrap_or("").trim();
        let series = field(series_col);
        let measure = match series {
            "payments" => Measure::Payments,
            "referrals" => Measure::Referrals,
            "outcomes" => Measure::Outcomes,
            _ => {
                errors.push(fail(
                    line,
                    at(series_col),
                    "series",
                    format!(
                        "unknown series `{series}`; the series are {}",
                        SERIES.join(", ")
                    ),
                    suggest(series, &SERIES),
                ));
                continue;
            }
        };
        let segment_name = segment_col.map_or("", |c| field(c));
        let segment = if segment_name.is_empty() {
            None
        } else if measure == Measure::Payments {
            errors.push(fail(
                line,
                segment_col.map(at).unwrap_or_default(),
                "segment",
                format!("payments by segment (`{segment_name}`): payments are compared in total"),
                Some("leave `segment` empty for payments; referrals and outcomes may be given by segment".into()),
            ));
            continue;
        } else {
            match segments.iter().position(|s| *s == segment_name) {
                Some(s) => Some(s),
                None => {
                    errors.push(fail(
                        line,
                        segment_col.map(at).unwrap_or_default(),
                        "segment",
                        format!(
                            "unknown segment `{segment_name}`; the scenario's segments are {}",
                            segments.join(", ")
                        ),
                        suggest(segment_name, segments),
                    ));
                    continue;
                }
            }
        };
        let cur = field(currency_col);
        if measure == Measure::Payments && cur != currency {
            errors.push(fail(
                line,
                at(currency_col),
                "currency",
                format!("`{cur}`, but the scenario's amounts are in `{currency}`"),
                Some("convert the realised values to the scenario's currency".into()),
            ));
            continue;
        }
        if measure != Measure::Payments && !cur.is_empty() {
            errors.push(fail(
                line,
                at(currency_col),
                "currency",
                format!("`{cur}` on a count of {series}: counts have no currency"),
                Some("leave `currency` empty for referrals and outcomes".into()),
            ));
            continue;
        }
        let (first, last) = match super::payments::period(field(start_col), field(end_col)) {
            Ok(months) => months,
            Err(e) => {
                let col = e.column(start_col, end_col);
                errors.push(fail(line, at(col), e.key, e.message, e.help));
                continue;
            }
        };
        let value = match field(value_col).parse::<f64>() {
            Ok(x) if x.is_finite() && (0.0..=1e12).contains(&x) => x,
            _ => {
                errors.push(fail(
                    line,
                    at(value_col),
                    "value",
                    format!("`{}` is not a value from 0 to 1e12", field(value_col)),
                    None,
                ));
                continue;
            }
        };
        if measure != Measure::Payments && value.fract() != 0.0 {
            errors.push(fail(
                line,
                at(value_col),
                "value",
                format!("`{}` is not a whole number of {series}", field(value_col)),
                None,
            ));
            continue;
        }
        periods.push(Period {
            series: match segment {
                Some(_) => format!("{series}.{segment_name}"),
                None => series.to_string(),
            },
            key: Series { measure, segment },
            first,
            last,
            value,
            line,
        });
    }
    periods.sort_by_key(|p| (p.key, p.first));
    for pair in periods.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        if a.key != b.key {
            continue;
        }
        let text = |m: i64| super::plan::month_text(m);
        if b.first <= a.last {
            errors.push(fail(
                b.line,
                None,
                "period_start",
                format!(
                    "overlaps line {}: {} to {} and {} to {} (one value per period)",
                    a.line,
                    text(a.first),
                    text(a.last),
                    text(b.first),
                    text(b.last)
                ),
                None,
            ));
        } else if b.first > a.last + 1 {
            errors.push(fail(
                b.line,
                None,
                "period_start",
                format!(
                    "a gap after line {}: nothing given for {} to {}",
                    a.line,
                    text(a.last + 1),
                    text(b.first - 1)
                ),
                Some("give a row with value 0 for a period with nothing to report".into()),
            ));
        }
    }
    if periods.is_empty() && errors.is_empty() {
        errors.push(fail(1, None, "series", "no realised values".into(), None));
    }
    if !errors.is_empty() {
        return Err(ScenarioErrors(errors));
    }
    Ok(periods)
}
