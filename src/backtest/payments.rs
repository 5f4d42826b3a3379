//! Planned and actual outcome payments of real contracts, in the tidy
//! layout of the impact bond data (`backtests/impact_bonds/`,
//! docs/backtesting.md): one row per payment record,
//!
//! ```text
//! project_id,type,plan,outcome_metric,period_start,period_end,currency,amount,notes
//! INDIGO-POJ-0167,planned,plan1,,2019-01,2019-03,GBP,48714,
//! ```
//!
//! `type` is `planned` or `actual`; a planned row names its `plan`; periods
//! are inclusive `YYYY-MM` months; `amount` is money in the row's currency;
//! other columns are kept out of the way. Records are payments, so records
//! of one series covering the same months add up (several payments in a
//! quarter), a month no record covers is a month nothing was paid, and an
//! amount is spread evenly over its period's months.

use crate::error::{ScenarioError, ScenarioErrors};
use std::collections::BTreeMap;

/// One contract's payments by calendar month.
#[derive(Clone, Debug, PartialEq)]
pub struct Contract {
    /// Its id in the file.
    pub id: String,
    /// The currency of every row.
    pub currency: String,
    /// The first plan (see [`first_plan`]): label and payments by month.
    pub plan: (String, Series),
    /// What was actually paid, by month (empty when nothing is recorded).
    pub actual: Series,
}

/// Payments by month from `start` (months since year 0: `12 * year +
/// month - 1`), in the file's currency.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Series {
    /// The first month.
    pub start: i64,
    /// The amount paid in each month from `start`.
    pub amounts: Vec<f64>,
}

impl Series {
    /// The month after the last.
    pub fn end(&self) -> i64 {
        self.start + self.amounts.len() as i64
    }

    /// The total paid.
    pub fn total(&self) -> f64 {
        self.amounts.iter().sum()
    }

    /// Paid in `month` (zero outside the series).
    pub fn at(&self, month: i64) -> f64 {
        if month < self.start {
            return 0.0;
        }
        self.amounts
            .get((month - self.start) as usize)
            .copied()
            .unwrap_or(0.0)
    }

    fn add(&mut self, first: i64, last: i64, amount: f64) {
        if self.amounts.is_empty() {
            self.start = first;
        }
        if first < self.start {
            let mut grown = vec![0.0; (self.start - first) as usize];
            grown.append(&mut self.amounts);
            self.amounts = grown;
            self.start = first;
        }
        let need = (last + 1 - self.start) as usize;
        if self.amounts.len() < need {
            self.amounts.resize(need, 0.0);
        }
        let per_month = amount / (last + 1 - first) as f64;
        for m in first..=last {
            self.amounts[(m - self.start) as usize] += per_month;
        }
    }
}

/// The plan a forecast made at contract would have used: the one labelled
/// `plan1`, else one whose label contains `original`, else the first in
/// file order.
pub fn first_plan(labels: &[String]) -> Option<&String> {
    labels
        .iter()
        .find(|l| l.as_str() == "plan1")
        .or_else(|| labels.iter().find(|l| l.contains("original")))
        .or_else(|| labels.first())
}

/// The columns the reader needs, in any order.
const COLUMNS: [&str; 7] = [
    "project_id",
    "type",
    "plan",
    "period_start",
    "period_end",
    "currency",
    "amount",
];

/// Reads payment records from `text` (file `origin`), every problem
/// reported with its line, column and column name; contracts in order of
/// first appearance.
pub fn parse(text: &str, origin: &str) -> Result<Vec<Contract>, ScenarioErrors> {
    let mut errors = Vec::new();
    let fail = |line: usize, column: Option<usize>, key: &str, message: String| ScenarioError {
        file: origin.to_string(),
        line: Some(line),
        column,
        key: Some(key.to_string()),
        message,
        help: None,
    };
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(text.as_bytes());
    let header = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            return Err(ScenarioErrors(vec![fail(1, None, "header", e.to_string())]));
        }
    };
    let mut index = [0usize; COLUMNS.len()];
    for (k, name) in COLUMNS.iter().enumerate() {
        match header.iter().position(|h| h.trim() == *name) {
            Some(i) => index[k] = i,
            None => errors.push(ScenarioError {
                help: Some(format!("the columns are {}", COLUMNS.join(", "))),
                ..fail(1, None, name, format!("no `{name}` column"))
            }),
        }
    }
    if !errors.is_empty() {
        return Err(ScenarioErrors(errors));
    }
    let [
        id_col,
        type_col,
        plan_col,
        start_col,
        end_col,
        currency_col,
        amount_col,
    ] = index;
    // Per contract: currency (with its line), plans in file order, series.
    let mut order: Vec<String> = Vec::new();
    let mut currency: BTreeMap<String, (String, usize)> = BTreeMap::new();
    let mut plans: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut series: BTreeMap<(String, String), Series> = BTreeMap::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line() as usize);
                errors.push(fail(line, None, "row", e.to_string()));
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line() as usize);
        let raw_line = text.lines().nth(line.saturating_sub(1)).unwrap_or("");
        let at = |col: usize| Some(column_of(raw_line, col));
        let field = |col: usize| record.get(col).unwrap_or("").trim();
        let id = field(id_col).to_string();
        if id.is_empty() {
            errors.push(fail(
                line,
                at(id_col),
                "project_id",
                "empty project id".into(),
            ));
            continue;
        }
        let kind = field(type_col);
        let plan = field(plan_col);
        let label = match kind {
            "planned" if plan.is_empty() => {
                errors.push(fail(
                    line,
                    at(plan_col),
                    "plan",
                    "a planned row names its plan (e.g. `plan1`)".into(),
                ));
                continue;
            }
            "planned" => plan.to_string(),
            "actual" => String::new(),
            other => {
                errors.push(ScenarioError {
                    help: Some("`planned` or `actual`".into()),
                    ..fail(
                        line,
                        at(type_col),
                        "type",
                        format!("unknown type `{other}`"),
                    )
                });
                continue;
            }
        };
        let (first, last) = match period(field(start_col), field(end_col)) {
            Ok(months) => months,
            Err(e) => {
                let col = e.column(start_col, end_col);
                errors.push(ScenarioError {
                    help: e.help,
                    ..fail(line, at(col), e.key, e.message)
                });
                continue;
            }
        };
        let amount = match field(amount_col).parse::<f64>() {
            Ok(x) if x.is_finite() && (0.0..=1e12).contains(&x) => x,
            _ => {
                errors.push(fail(
                    line,
                    at(amount_col),
                    "amount",
                    format!(
                        "`{}` is not an amount of money (a number from 0 to 1e12)",
                        field(amount_col)
                    ),
                ));
                continue;
            }
        };
        let cur = field(currency_col).to_string();
        match currency.get(&id) {
            Some((c, first_line)) if *c != cur => {
                errors.push(fail(
                    line,
                    at(currency_col),
                    "currency",
                    format!("`{cur}`, but line {first_line} gives `{id}` in `{c}`: one currency per contract"),
                ));
                continue;
            }
            Some(_) => {}
            None => {
                currency.insert(id.clone(), (cur, line));
                order.push(id.clone());
            }
        }
        if kind == "planned" {
            let labels = plans.entry(id.clone()).or_default();
            if !labels.contains(&label) {
                labels.push(label.clone());
            }
        }
        series
            .entry((id, label))
            .or_default()
            .add(first, last, amount);
    }
    if !errors.is_empty() {
        return Err(ScenarioErrors(errors));
    }
    let mut contracts = Vec::new();
    for id in order {
        let labels = plans.remove(&id).unwrap_or_default();
        let Some(label) = first_plan(&labels).cloned() else {
            errors.push(ScenarioError {
                file: origin.to_string(),
                line: currency.get(&id).map(|c| c.1),
                column: None,
                key: Some("type".into()),
                message: format!("`{id}` has no planned payments to compare with"),
                help: None,
            });
            continue;
        };
        let plan = series
            .remove(&(id.clone(), label.clone()))
            .unwrap_or_default();
        let actual = series
            .remove(&(id.clone(), String::new()))
            .unwrap_or_default();
        contracts.push(Contract {
            currency: currency[&id].0.clone(),
            id,
            plan: (label, plan),
            actual,
        });
    }
    if !errors.is_empty() {
        return Err(ScenarioErrors(errors));
    }
    Ok(contracts)
}

/// Why the two month fields of a row are not a period.
pub(super) struct PeriodProblem {
    /// The problem is in the end field (else the start).
    pub at_end: bool,
    /// Its column's name.
    pub key: &'static str,
    /// What is wrong.
    pub message: String,
    /// What to write instead.
    pub help: Option<String>,
}

impl PeriodProblem {
    /// The field it is in, of the row's start and end fields.
    pub(super) fn column(&self, start: usize, end: usize) -> usize {
        if self.at_end { end } else { start }
    }
}

/// The months of a period given as `YYYY-MM` start and end, inclusive:
/// both months, the end not before the start, less than ten years long.
pub(super) fn period(start: &str, end: &str) -> Result<(i64, i64), PeriodProblem> {
    let read = |text: &str, at_end: bool| {
        month(text).ok_or_else(|| PeriodProblem {
            at_end,
            key: if at_end { "period_end" } else { "period_start" },
            message: format!("`{text}` is not a month"),
            help: Some("a month as YYYY-MM, e.g. 2019-04".into()),
        })
    };
    let (first, last) = (read(start, false)?, read(end, true)?);
    let problem = |message: String| PeriodProblem {
        at_end: true,
        key: "period_end",
        message,
        help: None,
    };
    if last < first {
        return Err(problem(format!(
            "the period ends ({end}) before it starts ({start})"
        )));
    }
    if last - first >= 120 {
        return Err(problem(
            "a period of ten years or more is not a payment period".into(),
        ));
    }
    Ok((first, last))
}

/// `YYYY-MM` as months since year 0.
pub fn month(text: &str) -> Option<i64> {
    let (y, m) = text.split_once('-')?;
    if y.len() != 4 || m.len() != 2 {
        return None;
    }
    let (y, m): (i64, i64) = (y.parse().ok()?, m.parse().ok()?);
    ((1900..=2200).contains(&y) && (1..=12).contains(&m)).then_some(12 * y + m - 1)
}

/// The 1-based column where field `index` of a CSV line starts (fields
/// may be quoted, with `""` inside quotes).
pub(super) fn column_of(line: &str, index: usize) -> usize {
    let mut field = 0;
    let mut quoted = false;
    for (i, ch) in line.char_indices() {
        if field == index {
            return line[..i].chars().count() + 1;
        }
        match ch {
            '"' => quoted = !quoted,
            ',' if !quoted => field += 1,
            _ => {}
        }
    }
    line.chars().count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str =
        "project_id,type,plan,outcome_metric,period_start,period_end,currency,amount,notes\n";

    #[test]
    fn records_add_up_and_spread_over_their_months() {
        let text = format!(
            "{HEAD}a,planned,plan2,,2020-01,2020-03,GBP,300,\na,planned,plan1,,2020-01,2020-03,GBP,90,\na,actual,,,2020-02,2020-02,GBP,10,\"x, y\"\na,actual,,,2020-02,2020-03,GBP,20,\n"
        );
        let c = &parse(&text, "t.csv").unwrap()[0];
        assert_eq!(c.plan.0, "plan1");
        assert_eq!(c.plan.1.amounts, vec![30.0, 30.0, 30.0]);
        assert_eq!(c.plan.1.start, month("2020-01").unwrap());
        assert_eq!(c.actual.start, month("2020-02").unwrap());
        assert_eq!(c.actual.amounts, vec![20.0, 10.0]);
    }

    #[test]
    fn bad_rows_are_refused_at_their_line_and_column() {
        let text = format!(
            "{HEAD}a,planned,plan1,,2020-01,2020-03,GBP,90,\na,actual,,,2020-13,2020-03,GBP,5,\na,actual,,,2020-04,2020-03,GBP,5,\na,actual,,,2020-04,2020-05,EUR,5,\na,planed,,,2020-04,2020-05,GBP,5,\na,actual,,,2020-04,2020-05,GBP,-5,\nb,actual,,,2020-04,2020-05,GBP,5,\n"
        );
        let e = parse(&text, "t.csv").unwrap_err().to_string();
        for expected in [
            "t.csv:3:12: `2020-13` is not a month",
            "t.csv:4:20: the period ends (2020-03) before it starts (2020-04)",
            "t.csv:5:28: `EUR`, but line 2 gives `a` in `GBP`",
            "t.csv:6:3: unknown type `planed`",
            "t.csv:7:32: `-5` is not an amount",
        ] {
            assert!(e.contains(expected), "expected `{expected}` in\n{e}");
        }
        let text = format!("{HEAD}b,actual,,,2020-04,2020-05,GBP,5,\n");
        let e = parse(&text, "t.csv").unwrap_err().to_string();
        assert!(e.contains("`b` has no planned payments"), "{e}");
        let e = parse("project_id,type\n", "t.csv").unwrap_err().to_string();
        assert!(e.contains("no `plan` column"), "{e}");
    }
}
