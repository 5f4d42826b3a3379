//! Forecasts against what really happened (docs/backtesting.md): planned
//! and actual payments of real contracts ([`payments`]), and the reference
//! class fitted from them, with its leave-one-out calibration
//! ([`reference`](mod@reference)).

pub mod calibration;
pub mod check;
pub mod payments;
pub mod plan;
pub mod realised;
pub mod reference;
pub mod reforecast;

use crate::error::{Error, ScenarioError, ScenarioErrors};
use crate::math;
use crate::output::{csv_number, write_atomic};
use reference::{Class, LeftOut};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// A reference class fitted from a payments file, with each contract
/// predicted by the others.
#[derive(Clone, Debug)]
pub struct Fitted {
    /// The class.
    pub class: Class,
    /// Its leave-one-out predictions, in the order of `class.fits`.
    pub left_out: Vec<Option<LeftOut>>,
    /// Contracts left out of the fit, and why.
    pub skipped: Vec<(String, String)>,
}

/// Reads `payments` (and `projects`, for which contracts are complete) and
/// fits the reference class, without the contracts in `leave_out`.
pub fn fit_files(
    payments: &Path,
    projects: Option<&Path>,
    leave_out: &[String],
) -> Result<Fitted, Error> {
    let text = crate::scenario::read_text(payments)?;
    let contracts = payments::parse(&text, &payments.display().to_string())?;
    let complete = match projects {
        Some(p) => complete_projects(&crate::scenario::read_text(p)?, &p.display().to_string())?,
        None => BTreeSet::new(),
    };
    let mut fits = Vec::new();
    let mut skipped = Vec::new();
    for id in leave_out {
        if !contracts.iter().any(|c| &c.id == id) {
            return Err(Error::Setting(format!(
                "--leave-out {id}: no such contract in {}",
                payments.display()
            )));
        }
    }
    for c in &contracts {
        if leave_out.contains(&c.id) {
            skipped.push((
                c.id.clone(),
                "left out of the class (--leave-out)".to_string(),
            ));
            continue;
        }
        match reference::fit(c, complete.contains(&c.id)) {
            Some(f) => fits.push(f),
            None => skipped.push((
                c.id.clone(),
                "no payments recorded, or none planned in its window".to_string(),
            )),
        }
    }
    let class = reference::class(fits).map_err(Error::Setting)?;
    let left_out = reference::leave_one_out(&class);
    Ok(Fitted {
        class,
        left_out,
        skipped,
    })
}

/// The ids whose `stage` is `Complete` in a projects file (columns
/// `project_id` and `stage`, others ignored).
fn complete_projects(text: &str, origin: &str) -> Result<BTreeSet<String>, ScenarioErrors> {
    let fail = |line: usize, message: String| {
        ScenarioErrors(vec![ScenarioError {
            file: origin.to_string(),
            line: Some(line),
            column: None,
            key: None,
            message,
            help: None,
        }])
    };
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader
        .headers()
        .map_err(|e| fail(1, e.to_string()))?
        .clone();
    let col = |name: &str| {
        header.iter().position(|h| h.trim() == name).ok_or_else(|| {
            fail(
                1,
                format!("no `{name}` column (a projects file has `project_id` and `stage`)"),
            )
        })
    };
    let (id, stage) = (col("project_id")?, col("stage")?);
    let mut complete = BTreeSet::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line() as usize);
            fail(line, e.to_string())
        })?;
        if record.get(stage).is_some_and(|s| s.trim() == "Complete") {
            complete.insert(record.get(id).unwrap_or("").trim().to_string());
        }
    }
    Ok(complete)
}

/// An amount to the penny (spreading a record over its months leaves
/// float dust).
fn pennies(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

use plan::month_text;

/// The scenario of contract `id`'s first plan in `payments`, with the
/// reference class in `class` (if any) as its volume's uncertainty, and
/// what the contract actually paid as realised series for `pbrsim
/// backtest`.
pub fn from_plan_files(
    payments: &Path,
    id: &str,
    class: Option<&Path>,
) -> Result<(String, String), Error> {
    let text = crate::scenario::read_text(payments)?;
    let contracts = payments::parse(&text, &payments.display().to_string())?;
    let Some(contract) = contracts.iter().find(|c| c.id == id) else {
        let ids: Vec<&str> = contracts.iter().map(|c| c.id.as_str()).collect();
        let hint = crate::error::suggest(id, &ids).map_or(String::new(), |s| format!("; {s}"));
        return Err(Error::Setting(format!(
            "--contract {id}: no such contract in {}{hint}",
            payments.display()
        )));
    };
    let class = class.map(plan::ClassFile::read).transpose()?;
    let scenario = plan::scenario(contract, class.as_ref())?;
    let (start, horizon) = plan::layout(contract);
    Ok((scenario, plan::realised_csv(contract, start, horizon)))
}

/// Writes `contracts.csv` and `reference_class.toml` into `dir`.
pub fn write(dir: &Path, fitted: &Fitted, name: &str, source: &str) -> Result<Vec<PathBuf>, Error> {
    crate::output::create_dir(dir)?;
    let contracts = dir.join("contracts.csv");
    write_atomic(&contracts, |w| {
        let mut out = csv::Writer::from_writer(w);
        out.write_record([
            "contract",
            "plan",
            "complete",
            "window_first_month",
            "window_last_month",
            "planned",
            "actual",
            "ratio",
            "delay_months",
            "r_squared",
            "delay_at_edge",
            "loo_ratio_pit",
            "loo_ratio_50_low",
            "loo_ratio_50_high",
            "loo_ratio_90_low",
            "loo_ratio_90_high",
            "loo_delay_pit",
            "pbrsim_version",
        ])?;
        for (f, l) in fitted.class.fits.iter().zip(&fitted.left_out) {
            let lo = |g: &dyn Fn(&LeftOut) -> f64| {
                l.as_ref().map_or(String::new(), |l| csv_number(g(l)))
            };
            out.write_record([
                f.id.clone(),
                f.plan.clone(),
                f.complete.to_string(),
                month_text(f.window.0),
                month_text(f.window.1 - 1),
                csv_number(pennies(f.planned)),
                csv_number(pennies(f.actual)),
                csv_number(f.ratio),
                f.delay.to_string(),
                csv_number(f.r_squared),
                f.at_edge.to_string(),
                lo(&|l| l.ratio_pit),
                lo(&|l| l.ratio_50.0),
                lo(&|l| l.ratio_50.1),
                lo(&|l| l.ratio_90.0),
                lo(&|l| l.ratio_90.1),
                lo(&|l| l.delay_pit),
                crate::VERSION.to_string(),
            ])?;
        }
        out.flush()
    })?;
    let class_file = dir.join("reference_class.toml");
    let c = &fitted.class;
    let (n50, n90, n) = coverage(fitted);
    write_atomic(&class_file, |w| {
        writeln!(
            w,
            "# A reference class fitted by `pbrsim reference-class` (docs/backtesting.md)."
        )?;
        writeln!(w, "name = {name:?}")?;
        writeln!(w, "source = {source:?}")?;
        writeln!(w, "contracts = {}", c.fits.len())?;
        writeln!(w, "# ln(actual / planned): normal")?;
        writeln!(w, "log_ratio_mean = {}", c.log_ratio.mean)?;
        writeln!(w, "log_ratio_sd = {}", c.log_ratio.sd)?;
        writeln!(
            w,
            "# delay of the actual payments behind the plan, months: normal"
        )?;
        writeln!(w, "delay_mean = {}", c.delay.mean)?;
        writeln!(w, "delay_sd = {}", c.delay.sd)?;
        if let Some(y) = &c.year {
            writeln!(
                w,
                "# ln(actual / fitted) by whole year of each contract's window, around its fit:\n# root mean square with years - contracts degrees of freedom"
            )?;
            writeln!(w, "year_log_sd = {}", y.sd)?;
            writeln!(w, "years = {}", y.years)?;
        }
        writeln!(
            w,
            "# leave-one-out: contracts inside the central 50% and 90% predictive bands of their ratio"
        )?;
        writeln!(w, "loo_contracts = {n}")?;
        writeln!(w, "loo_inside_50 = {n50}")?;
        writeln!(w, "loo_inside_90 = {n90}")?;
        writeln!(w, "pbrsim_version = {:?}", crate::VERSION)
    })?;
    Ok(vec![contracts, class_file])
}

/// Left-out contracts inside the 50% and 90% bands of their ratio, and how
/// many were predicted.
pub fn coverage(fitted: &Fitted) -> (usize, usize, usize) {
    let pits: Vec<f64> = fitted
        .left_out
        .iter()
        .flatten()
        .map(|l| l.ratio_pit)
        .collect();
    (
        reference::covered(&pits, 0.5),
        reference::covered(&pits, 0.9),
        pits.len(),
    )
}

/// The report printed by `pbrsim reference-class`.
pub fn render(fitted: &Fitted) -> String {
    use std::fmt::Write;
    let c = &fitted.class;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} contracts: actual payments against the first plan, fitted as a ratio and a delay",
        c.fits.len()
    );
    let _ = writeln!(
        s,
        "{:<18} {:>8} {:>13} {:>13} {:>7} {:>6} {:>5}   {:>6}  {:>15}",
        "contract",
        "status",
        "planned",
        "actual",
        "ratio",
        "delay",
        "R^2",
        "LOO PIT",
        "LOO 90% band"
    );
    for (f, l) in c.fits.iter().zip(&fitted.left_out) {
        let (pit, band) = l.as_ref().map_or(("-".into(), "-".into()), |l| {
            (
                format!("{:.2}", l.ratio_pit),
                format!("{:.2} .. {:.2}", l.ratio_90.0, l.ratio_90.1),
            )
        });
        let _ = writeln!(
            s,
            "{:<18} {:>8} {:>13.0} {:>13.0} {:>7.2} {:>6} {:>5.2}   {:>6}  {:>15}{}",
            f.id,
            if f.complete { "complete" } else { "running" },
            f.planned,
            f.actual,
            f.ratio,
            f.delay,
            f.r_squared,
            pit,
            band,
            if f.at_edge {
                "  (delay at the edge of the search)"
            } else {
                ""
            }
        );
    }
    for (id, why) in &fitted.skipped {
        let _ = writeln!(s, "{id:<18} left out: {why}");
    }
    let lr = &c.log_ratio;
    let t = lr.predictive();
    let _ = writeln!(
        s,
        "\nReference class: ln(ratio) mean {:.3}, sd {:.3} (median ratio {:.2}; a new contract's 90% band {:.2} .. {:.2}); delay mean {:.1} months, sd {:.1}",
        lr.mean,
        lr.sd,
        math::exp(lr.mean),
        math::exp(t.quantile(0.05)),
        math::exp(t.quantile(0.95)),
        c.delay.mean,
        c.delay.sd
    );
    if let Some(y) = &c.year {
        let _ = writeln!(
            s,
            "Year to year around each contract's fit: ln(actual / fitted) sd {:.3}, from {} contract-years of {} contracts",
            y.sd, y.years, y.contracts
        );
    }
    let (n50, n90, n) = coverage(fitted);
    let _ = writeln!(
        s,
        "Leave-one-out: {n50} of {n} contracts inside their 50% band (nominal {:.1}), {n90} of {n} inside their 90% band (nominal {:.1})",
        0.5 * n as f64,
        0.9 * n as f64
    );
    s
}

/// The report printed by `pbrsim backtest`.
pub fn render_backtest(
    model: &crate::model::Model,
    rows: &[check::Row],
    iterations: u64,
    seed: u64,
) -> String {
    use check::Kind;
    use std::fmt::Write;
    let mut s = String::new();
    // Payments alone keep the short layout; other series get a column.
    let only_payments = rows.iter().all(|r| r.series == "payments");
    let width = rows
        .iter()
        .map(|r| r.series.len())
        .max()
        .unwrap_or(0)
        .max(6);
    let series = |name: &str| {
        if only_payments {
            String::new()
        } else {
            format!("{name:<width$} ")
        }
    };
    let _ = writeln!(
        s,
        "{} · {iterations} iterations · seed {seed} · realised {} against the predictive distribution ({})",
        model.name,
        if only_payments { "payments" } else { "series" },
        model.currency
    );
    let _ = writeln!(
        s,
        "{}{:<17} {:>12} {:>12} {:>12} {:>12} {:>6}   {:>12} {:>6}",
        series("series"),
        "period",
        "realised",
        "p5",
        "p50",
        "p95",
        "PIT",
        "running total",
        "PIT"
    );
    for pair in rows.chunks(2) {
        let (p, c) = (&pair[0], &pair[1]);
        let _ = writeln!(
            s,
            "{}{:<17} {:>12.0} {:>12.0} {:>12.0} {:>12.0} {:>6.2}   {:>12.0} {:>6.2}",
            series(&p.series),
            format!("{} {}", month_text(p.months.0), month_text(p.months.1)),
            p.realised,
            p.quantiles[0],
            p.quantiles[2],
            p.quantiles[4],
            p.pit,
            c.realised,
            c.pit
        );
    }
    for (kind, what) in [
        (Kind::Period, "periods"),
        (Kind::Cumulative, "running totals"),
    ] {
        let (i50, n) = check::inside(rows, kind, 0.5);
        let (i90, _) = check::inside(rows, kind, 0.9);
        let _ = writeln!(
            s,
            "{what}: {i50} of {n} inside their 50% band, {i90} of {n} inside their 90% band"
        );
    }
    // The last running total of each series.
    let totals = rows
        .iter()
        .enumerate()
        .filter(|(i, r)| {
            r.kind == Kind::Cumulative && rows.get(i + 2).is_none_or(|n| n.series != r.series)
        })
        .map(|(_, r)| r);
    for last in totals {
        let _ = writeln!(
            s,
            "{}total to {}: realised {:.0}, predicted {:.0} [90%: {:.0} .. {:.0}], PIT {:.2}",
            if only_payments {
                String::new()
            } else {
                format!("{}: ", last.series)
            },
            month_text(last.months.1),
            last.realised,
            last.mean,
            last.quantiles[0],
            last.quantiles[4],
            last.pit
        );
    }
    s
}

/// Writes `backtest.csv` into `dir`: one row per period and running total.
pub fn write_backtest(
    dir: &Path,
    rows: &[check::Row],
    loaded: &crate::scenario::Loaded,
    iterations: u64,
    seed: u64,
) -> Result<PathBuf, Error> {
    crate::output::create_dir(dir)?;
    let path = dir.join("backtest.csv");
    write_atomic(&path, |w| {
        let mut out = csv::Writer::from_writer(w);
        let mut header: Vec<String> = [
            "kind",
            "series",
            "period_start",
            "period_end",
            "realised",
            "mean",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        header.extend(
            check::LEVELS
                .iter()
                .map(|q| format!("p{}", (q * 100.0).round())),
        );
        header.extend(
            [
                "pit",
                "inside_50",
                "inside_90",
                "scenario_hash",
                "seed",
                "iterations",
                "pbrsim_version",
            ]
            .iter()
            .map(|s| s.to_string()),
        );
        out.write_record(&header)?;
        for r in rows {
            let mut record = vec![
                match r.kind {
                    check::Kind::Period => "period".to_string(),
                    check::Kind::Cumulative => "cumulative".to_string(),
                },
                r.series.clone(),
                month_text(r.months.0),
                month_text(r.months.1),
                csv_number(pennies(r.realised)),
                csv_number(pennies(r.mean)),
            ];
            record.extend(r.quantiles.iter().map(|&q| csv_number(pennies(q))));
            record.push(csv_number(r.pit));
            record.push((0.25..=0.75).contains(&r.pit).to_string());
            record.push((0.05..=0.95).contains(&r.pit).to_string());
            record.push(loaded.hash.clone());
            record.push(seed.to_string());
            record.push(iterations.to_string());
            record.push(crate::VERSION.to_string());
            out.write_record(&record)?;
        }
        out.flush()
    })?;
    Ok(path)
}

/// The report printed by `pbrsim reforecast`.
pub fn render_reforecast(
    model: &crate::model::Model,
    r: &reforecast::Reforecast,
    iterations: u64,
    seed: u64,
) -> String {
    use crate::engine::figures::Unit;
    use crate::output::fmt_pounds;
    use std::fmt::Write;
    let mut s = String::new();
    let at = month_text(r.at);
    let _ = writeln!(
        s,
        "{} · re-forecast from {at} · {iterations} iterations · seed {seed} · money in {}",
        model.name, model.currency
    );
    match (r.observed.first(), r.observed.last()) {
        (Some(a), Some(b)) => {
            let _ = writeln!(
                s,
                "conditioned on {} realised periods, {} to {} (observation error {} x each period's prior sd): effective sample size {:.0} of {iterations}",
                r.observed.len(),
                month_text(a.months.0),
                month_text(b.months.1),
                r.tolerance,
                r.ess
            );
        }
        _ => {
            let _ = writeln!(
                s,
                "no realised period ends before {at}: the re-forecast is the prior forecast"
            );
        }
    }
    if r.collapsed() {
        let _ = writeln!(
            s,
            "warning: the re-forecast rests on {:.0} effective worlds (fewer than {}): its tails are unreliable. Run more iterations (-n), or allow more observation error (--tolerance)",
            r.ess,
            reforecast::FEW_WORLDS
        );
    }
    let value = |unit: Unit, x: f64| match unit {
        Unit::Money | Unit::Count => fmt_pounds(x),
        Unit::Probability => format!("{:.1}%", 100.0 * x),
        _ => format!("{x:.3}"),
    };
    let _ = writeln!(
        s,
        "\n{:<34} {:>36}   {:>36}",
        "", "prior: mean [5% .. 95%]", "re-forecast: mean [5% .. 95%]"
    );
    let line = |s: &mut String, label: &str, row: &reforecast::FigureRow| {
        let band = |st: &reforecast::Stats| {
            if row.unit == Unit::Probability {
                value(row.unit, st.mean)
            } else {
                format!(
                    "{} [{} .. {}]",
                    value(row.unit, st.mean),
                    value(row.unit, st.quantiles[0]),
                    value(row.unit, st.quantiles[2])
                )
            }
        };
        let _ = writeln!(
            s,
            "{label:<34} {:>36}   {:>36}",
            band(&row.prior),
            band(&row.posterior)
        );
    };
    if !r.inputs.is_empty() {
        let _ = writeln!(s, "uncertain inputs");
        for (path, k) in &r.inputs {
            line(&mut s, &format!("  {path}"), &r.rows[*k]);
        }
    }
    let _ = writeln!(s, "public payments");
    for (key, label) in [
        ("public.paid_before", format!("  before {at}")),
        ("public.paid_from", format!("  from {at}")),
    ] {
        if let Some(row) = r.row(key) {
            line(&mut s, &label, row);
        }
    }
    let providers: Vec<&str> = model.providers.iter().map(|p| p.id.as_str()).collect();
    for (account, id, label) in &crate::engine::figures::Catalog::new(model).parties {
        let _ = writeln!(s, "{label}");
        let mut keys = vec![(format!("{id}.net"), "net".to_string())];
        if *account == crate::model::COMMISSIONER {
            keys = vec![("commissioner.paid.total".into(), "paid".into())];
        }
        if providers.contains(&id.as_str()) {
            keys.push((
                format!("{id}.peak_funding_need"),
                "peak funding need".into(),
            ));
            keys.push((format!("{id}.fails_from"), format!("fails from {at}")));
        }
        for (key, name) in keys {
            if let Some(row) = r.row(&key) {
                line(&mut s, &format!("  {name}"), row);
            }
        }
    }
    for l in &r.later {
        let band = |st: &reforecast::Stats| {
            format!(
                "{} [90%: {} .. {}]",
                fmt_pounds(st.mean),
                fmt_pounds(st.quantiles[0]),
                fmt_pounds(st.quantiles[2])
            )
        };
        let _ = writeln!(
            s,
            "\nrealised {}{} to {}: {}\n  prior forecast {}, PIT {:.2}\n  re-forecast    {}, PIT {:.2}",
            if l.series == "payments" {
                String::new()
            } else {
                format!("{} ", l.series)
            },
            month_text(l.months.0),
            month_text(l.months.1),
            fmt_pounds(l.realised),
            band(&l.prior),
            l.prior_pit,
            band(&l.posterior),
            l.posterior_pit
        );
    }
    s
}

/// Writes `reforecast.csv` into `dir`: one row per figure, prior and
/// re-forecast, then for each series with realised periods from the month
/// on its total (`public.paid_later`, `contract.referrals_later`,
/// `segment.<id>.outcomes_later`, ...) with the realised value and its
/// PITs; the conditioning's identity on every row. Then `weights.csv`:
/// each iteration's weight (the largest is 1), to reweight the same
/// iterations' raw draws (`pbrsim run --draws` with the same seed).
pub fn write_reforecast(
    dir: &Path,
    r: &reforecast::Reforecast,
    loaded: &crate::scenario::Loaded,
    iterations: u64,
    seed: u64,
) -> Result<Vec<PathBuf>, Error> {
    crate::output::create_dir(dir)?;
    let path = dir.join("reforecast.csv");
    write_atomic(&path, |w| {
        let mut out = csv::Writer::from_writer(w);
        out.write_record([
            "figure",
            "unit",
            "prior_mean",
            "prior_p5",
            "prior_p50",
            "prior_p95",
            "mean",
            "p5",
            "p50",
            "p95",
            "realised",
            "prior_pit",
            "pit",
            "at",
            "periods_observed",
            "tolerance",
            "effective_sample_size",
            "scenario_hash",
            "seed",
            "iterations",
            "pbrsim_version",
        ])?;
        let mut later_rows = Vec::new();
        for l in &r.later {
            use crate::engine::figures::Unit;
            let (key, unit) = match l.series.split_once('.') {
                _ if l.series == "payments" => ("public.paid_later".to_string(), Unit::Money),
                Some((measure, segment)) => {
                    (format!("segment.{segment}.{measure}_later"), Unit::Count)
                }
                None => (format!("contract.{}_later", l.series), Unit::Count),
            };
            later_rows.push((
                reforecast::FigureRow {
                    key,
                    unit,
                    prior: l.prior,
                    posterior: l.posterior,
                },
                [l.realised, l.prior_pit, l.posterior_pit],
            ));
        }
        let none = [f64::NAN; 3];
        let rows = r.rows.iter().map(|row| (row, &none));
        for (row, realised) in rows.chain(later_rows.iter().map(|(row, x)| (row, x))) {
            let mut record = vec![row.key.clone(), row.unit.as_str().to_string()];
            for st in [&row.prior, &row.posterior] {
                record.push(csv_number(st.mean));
                record.extend(st.quantiles.iter().map(|&q| csv_number(q)));
            }
            record.extend(realised.iter().map(|&x| csv_number(x)));
            record.extend([
                month_text(r.at),
                r.observed.len().to_string(),
                csv_number(r.tolerance),
                csv_number(r.ess),
                loaded.hash.clone(),
                seed.to_string(),
                iterations.to_string(),
                crate::VERSION.to_string(),
            ]);
            out.write_record(&record)?;
        }
        out.flush()
    })?;
    let weights = dir.join("weights.csv");
    write_atomic(&weights, |w| {
        let mut out = csv::Writer::from_writer(w);
        out.write_record(["iteration", "weight", "seed"])?;
        for (i, w) in r.weights.iter().enumerate() {
            out.write_record([i.to_string(), csv_number(*w), seed.to_string()])?;
        }
        out.flush()
    })?;
    Ok(vec![path, weights])
}
