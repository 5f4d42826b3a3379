//! A scenario from a payment plan (docs/backtesting.md, "A scenario from a
//! plan"): the plan's payments become a referral profile of payment units
//! (one unit is [`UNIT`] of planned payments), each unit paid on arrival,
//! so that at volume 1 the scenario's expected payments are the plan's,
//! month by month. A reference class makes the volume its achievement
//! ratio: lognormal with the class's mean log ratio and its predictive
//! standard deviation; a class with a year sd also splits the plan into
//! one segment per plan year, each with its own lognormal volume of median
//! 1 and that sd, the year-to-year variation around the ratio.

use super::payments::{Contract, Series};
use crate::error::Error;
use crate::math;
use std::fmt::Write;
use std::path::Path;

/// Planned payments one referral stands for, in the plan's currency.
pub const UNIT: f64 = 1000.0;

/// A reference class as `pbrsim reference-class` writes it.
#[derive(Clone, Debug, PartialEq)]
pub struct ClassFile {
    /// Its name.
    pub name: String,
    /// Contracts it was fitted on.
    pub contracts: usize,
    /// Mean of `ln r`.
    pub log_ratio_mean: f64,
    /// Sample standard deviation of `ln r`.
    pub log_ratio_sd: f64,
    /// The year-to-year sd of `ln(actual / fitted)`, if the class has one.
    pub year_log_sd: Option<f64>,
}

/// The reference classes shipped with pbrsim, usable in any scenario by
/// name (`{ dist = "reference_class", class = "<name>" }`): each as
/// `pbrsim reference-class` wrote it from the data beside it.
pub const NAMED: [(&str, &str); 1] = [(
    "uk_impact_bonds",
    include_str!("../../backtests/impact_bonds/reference_class.toml"),
)];

impl ClassFile {
    /// Reads `reference_class.toml`.
    pub fn read(path: &Path) -> Result<ClassFile, Error> {
        let text = crate::scenario::read_text(path)?;
        ClassFile::parse(&text, &path.display().to_string())
    }

    /// A shipped class by name (one of [`NAMED`]).
    pub fn named(name: &str) -> Option<ClassFile> {
        let (_, text) = NAMED.iter().find(|(n, _)| *n == name)?;
        ClassFile::parse(text, name).ok()
    }

    /// The lognormal an achievement ratio drawn from the class follows:
    /// median `exp(mean ln r)`, sigma [`ClassFile::predictive_sd`].
    pub fn ratio(&self) -> (f64, f64) {
        (math::exp(self.log_ratio_mean), self.predictive_sd())
    }

    /// Parses a class from `text` (named `origin` in errors).
    pub fn parse(text: &str, origin: &str) -> Result<ClassFile, Error> {
        let bad = |what: &str| {
            Error::Setting(format!(
                "{origin}: {what} (a reference class written by `pbrsim reference-class`)"
            ))
        };
        let table: toml::Table = text.parse().map_err(|e| bad(&format!("not TOML: {e}")))?;
        let number = |key: &str| {
            table
                .get(key)
                .and_then(|v| v.as_float().or_else(|| v.as_integer().map(|i| i as f64)))
                .filter(|x| x.is_finite())
                .ok_or_else(|| bad(&format!("no number `{key}`")))
        };
        let contracts = number("contracts")?;
        let sd = number("log_ratio_sd")?;
        let year_log_sd = match table.get("year_log_sd") {
            None => None,
            Some(_) => Some(number("year_log_sd")?).filter(|&s| s > 0.0),
        };
        if contracts < 3.0 || sd <= 0.0 {
            return Err(bad(
                "a class needs at least 3 contracts and a positive `log_ratio_sd`",
            ));
        }
        Ok(ClassFile {
            name: table
                .get("name")
                .and_then(|v| v.as_str())
                .unwrap_or("reference class")
                .to_string(),
            contracts: contracts as usize,
            log_ratio_mean: number("log_ratio_mean")?,
            log_ratio_sd: sd,
            year_log_sd,
        })
    }

    /// The predictive standard deviation of a new contract's `ln r`,
    /// `sd sqrt(1 + 1/n)` (the lognormal's sigma; the Student-t tails are
    /// left out).
    pub fn predictive_sd(&self) -> f64 {
        self.log_ratio_sd * (1.0 + 1.0 / self.contracts as f64).sqrt()
    }
}

/// The scenario of `contract`'s first plan, from its first planned month
/// to its last, with `class` (if any) as the uncertainty of its volume.
pub fn scenario(contract: &Contract, class: Option<&ClassFile>) -> Result<String, Error> {
    let (label, plan) = (&contract.plan.0, &contract.plan.1);
    let first = plan.amounts.iter().position(|&x| x > 0.0);
    let last = plan.amounts.iter().rposition(|&x| x > 0.0);
    let (Some(first), Some(last)) = (first, last) else {
        return Err(Error::Setting(format!(
            "`{}`'s plan `{label}` pays nothing",
            contract.id
        )));
    };
    let months = &plan.amounts[first..=last];
    let (start, horizon) = layout(contract);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# Written by `pbrsim from-plan` (docs/backtesting.md): the outcome payments
# planned for {id} ({label}), {from} to {to}, as a scenario. Each referral
# stands for {unit} of planned payments and is paid on arrival, so at volume 1
# the expected payments are the plan's, month by month; month 0 is {from}.",
        id = contract.id,
        from = month_text(start),
        to = month_text(start + months.len() as i64 - 1),
        unit = UNIT,
    );
    let _ = writeln!(s, "name = {:?}", format!("{} ({label})", contract.id));
    let _ = writeln!(
        s,
        "description = \"Planned outcome payments as a scenario, from a payments file\""
    );
    let _ = writeln!(s, "currency = {:?}\n", contract.currency);
    let _ = writeln!(
        s,
        "[time]\n# The plan's months, and any later month of actual payments.\nhorizon_months = {horizon}\nreferral_months = {n}\nstart_month = \"{start}\"\n",
        n = months.len(),
        start = month_text(start)
    );
    let _ = writeln!(s, "[uncertainty]");
    match class {
        Some(c) => {
            let (median, sigma) = c.ratio();
            let _ = writeln!(
                s,
                "# The achievement ratio of reference class `{}` ({} contracts): lognormal,
# median exp(mean ln r), sigma the predictive sd, sd x sqrt(1 + 1/n).
volume = {{ dist = \"lognormal\", median = {median}, sigma = {sigma} }}\n",
                c.name, c.contracts,
            );
        }
        None => {
            let _ = writeln!(
                s,
                "# No reference class: the plan as agreed.\nvolume = 1.0\n"
            );
        }
    }
    let profile = |from: usize, to: usize| -> String {
        let values: Vec<String> = months
            .iter()
            .enumerate()
            .map(|(m, x)| {
                let x = if (from..to).contains(&m) { *x } else { 0.0 };
                crate::output::csv_number((x / UNIT * 1e6).round() / 1e6)
            })
            .collect();
        values.join(", ")
    };
    let year_sd = class.and_then(|c| c.year_log_sd);
    let segments: Vec<(String, String, usize, usize)> = match year_sd {
        Some(_) => (0..months.len().div_ceil(12))
            .map(|y| {
                (
                    format!("year{}", y + 1),
                    format!("Planned payments, plan year {}", y + 1),
                    12 * y,
                    (12 * y + 12).min(months.len()),
                )
            })
            .collect(),
        None => vec![(
            "planned_payments".into(),
            "Planned payments".into(),
            0,
            months.len(),
        )],
    };
    if let (Some(sd), Some(c)) = (year_sd, class) {
        let _ = writeln!(
            s,
            "# One segment per plan year, each with its own volume: the year-to-year
# variation of class `{}` around a contract's ratio, lognormal, median 1,
# sigma the sd of ln(actual / fitted) by year ({sd}).\n",
            c.name
        );
    }
    for (id, label, from, to) in &segments {
        let _ = writeln!(
            s,
            "[segments.{id}]
label = \"{label}\"
# Planned payments per month / {UNIT}.
referrals_per_month = [{}]
referral_process = \"poisson\"",
            profile(*from, *to)
        );
        if let Some(sd) = year_sd {
            let _ = writeln!(
                s,
                "volume = {{ dist = \"lognormal\", median = 1.0, sigma = {sd} }}"
            );
        }
        let _ = writeln!(
            s,
            "
[segments.{id}.sustained]
# No outcome process: the payments are the plan's, paid on arrival.
baseline_hazard = 0.0
window_months = 1
qualifying_months = 1
max_sustainment_months = 0

[segments.{id}.tariff]
attachment = {UNIT}

[segments.{id}.allocation]
prime = 1.0
"
        );
    }
    let _ = writeln!(
        s,
        "[payments.lag_months]
attachment = 0

[prime]
label = \"Provider\""
    );
    Ok(s)
}

/// The scenario's month 0 (the plan's first planned payment) and horizon:
/// the plan's months, and any later month of actual payments.
pub fn layout(contract: &Contract) -> (i64, usize) {
    let plan = planned_months(contract);
    let horizon = (contract.actual.end() - plan.start).max(plan.amounts.len() as i64);
    (plan.start, horizon as usize)
}

/// What `contract` actually paid, as realised payments by calendar
/// quarter (clipped to the scenario's months, from `start` for `horizon`
/// months; a record longer than a quarter is spread evenly over its
/// months), for `pbrsim backtest`.
pub fn realised_csv(contract: &Contract, start: i64, horizon: usize) -> String {
    let actual = &contract.actual;
    let mut s = String::from("series,period_start,period_end,currency,value\n");
    let end = actual.end().min(start + horizon as i64);
    let mut first = actual.start.max(start);
    while first < end {
        let last = (first - first.rem_euclid(3) + 2).min(end - 1);
        let value: f64 = (first..=last).map(|m| actual.at(m)).sum();
        let _ = writeln!(
            s,
            "payments,{},{},{},{}",
            month_text(first),
            month_text(last),
            contract.currency,
            crate::output::csv_number((value * 100.0).round() / 100.0)
        );
        first = last + 1;
    }
    s
}

/// `YYYY-MM` of a month count.
pub fn month_text(m: i64) -> String {
    format!("{:04}-{:02}", m.div_euclid(12), m.rem_euclid(12) + 1)
}

/// The plan of `contract` by month from its first planned payment, as the
/// scenario lays it out.
pub fn planned_months(contract: &Contract) -> Series {
    let plan = &contract.plan.1;
    let first = plan.amounts.iter().position(|&x| x > 0.0).unwrap_or(0);
    let last = plan.amounts.iter().rposition(|&x| x > 0.0).unwrap_or(0);
    Series {
        start: plan.start + first as i64,
        amounts: plan.amounts[first..=last].to_vec(),
    }
}
