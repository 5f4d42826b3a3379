//! Reference classes (docs/backtesting.md): the leave-one-out predictive
//! bands are calibrated on data drawn from the class's own model, the
//! figures docs/backtesting.md quotes are what the shipped data give, and
//! bad payment files are refused at their line.

use crate::batch::{ok, pbrsim};
use pbrsim::backtest::reference::{self, Fit};
use pbrsim::math;
use rand::SeedableRng;
use rand_distr::{Distribution, Normal};

fn synthetic(id: usize, ratio: f64, delay: i64) -> Fit {
    Fit {
        id: format!("c{id}"),
        plan: "plan1".into(),
        complete: true,
        window: (0, 12),
        planned: 1.0,
        actual: ratio,
        ratio,
        delay,
        r_squared: 1.0,
        at_edge: false,
        year_residuals: Vec::new(),
    }
}

/// Classes of 15 contracts whose log ratios are normal: each left-out
/// contract's PIT is uniform, so over many classes the 50% and 90% bands
/// hold 50% and 90% of the contracts left out (five standard errors of the
/// mean over classes; contracts of one class are not independent).
#[test]
fn left_out_bands_hold_their_level_when_the_class_is_right() {
    let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(20);
    let log_ratio = Normal::new(-0.2, 0.7).unwrap();
    let delay = Normal::new(2.0, 6.0).unwrap();
    let (classes, n) = (1000, 15);
    let mut share = [Vec::new(), Vec::new(), Vec::new()];
    for _ in 0..classes {
        let fits: Vec<Fit> = (0..n)
            .map(|i| {
                let d: f64 = delay.sample(&mut rng);
                let lr: f64 = log_ratio.sample(&mut rng);
                synthetic(i, math::exp(lr), d.round() as i64)
            })
            .collect();
        let class = reference::class(fits).unwrap();
        let pits: Vec<f64> = reference::leave_one_out(&class)
            .into_iter()
            .map(|l| l.unwrap().ratio_pit)
            .collect();
        share[0].push(reference::covered(&pits, 0.5) as f64 / n as f64);
        share[1].push(reference::covered(&pits, 0.9) as f64 / n as f64);
        share[2].push(pits.iter().sum::<f64>() / n as f64);
    }
    for (values, truth, what) in [
        (&share[0], 0.5, "50% band"),
        (&share[1], 0.9, "90% band"),
        (&share[2], 0.5, "mean PIT"),
    ] {
        let (mean, se) = crate::common::mean_se(values);
        crate::common::assert_within(what, mean, se, truth, 5.0);
    }
}

/// The figures docs/backtesting.md quotes are what the shipped data give:
/// every line of the report appears there verbatim.
#[test]
fn the_documented_reference_class_is_what_the_data_give() {
    let fitted = pbrsim::backtest::fit_files(
        "backtests/impact_bonds/outcome_payments.csv".as_ref(),
        Some("backtests/impact_bonds/projects.csv".as_ref()),
        &[],
    )
    .unwrap();
    assert_eq!(fitted.class.fits.len(), 15);
    let doc = std::fs::read_to_string("docs/backtesting.md").unwrap();
    for line in pbrsim::backtest::render(&fitted).lines() {
        assert!(
            doc.contains(line.trim_end()),
            "docs/backtesting.md should quote the report line:\n{line}"
        );
    }
}

/// The command writes its tables; a bad file is refused with its line and
/// column, exit code 2, nothing written.
#[test]
fn reference_class_command_writes_tables_and_refuses_bad_files() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let dir = out.to_str().unwrap();
    ok(&[
        "reference-class",
        "backtests/impact_bonds/outcome_payments.csv",
        "--projects",
        "backtests/impact_bonds/projects.csv",
        "-q",
        "--out",
        dir,
    ]);
    let table = std::fs::read_to_string(out.join("contracts.csv")).unwrap();
    assert_eq!(table.lines().count(), 16);
    let class = std::fs::read_to_string(out.join("reference_class.toml")).unwrap();
    let parsed: toml::Table = class.parse().unwrap();
    assert_eq!(parsed["contracts"].as_integer(), Some(15));
    let bad = tmp.path().join("bad.csv");
    std::fs::write(
        &bad,
        "project_id,type,plan,period_start,period_end,currency,amount\na,planned,plan1,2020-01,2020-03,GBP,10\na,actual,,2020-02,2020-1,GBP,5\n",
    )
    .unwrap();
    let never = tmp.path().join("never");
    let o = pbrsim(&[
        "reference-class",
        bad.to_str().unwrap(),
        "--out",
        never.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("bad.csv:3:19: `2020-1` is not a month"),
        "{err}"
    );
    assert!(!never.exists());
}

/// A scenario from a plan pays the plan in expectation, month by month, at
/// volume 1; with a reference class, the plan times the class's mean
/// achievement ratio, `exp(mean + sigma^2 / 2)`, and with a year sd `s`,
/// each plan year's payments times `exp(s^2 / 2)` more (five standard
/// errors).
#[test]
fn a_scenario_from_a_plan_pays_the_plan_in_expectation() {
    use pbrsim::backtest::plan;
    let contract = &cornwall();
    let planned = plan::planned_months(contract);
    let class = test_class();
    let yearly = plan::ClassFile {
        year_log_sd: Some(0.5),
        ..test_class()
    };
    for class in [None, Some(&class), Some(&yearly)] {
        let m = crate::common::model(&plan::scenario(contract, class).unwrap(), &[]);
        assert_eq!(m.referral_months, planned.amounts.len());
        let years = planned.amounts.len().div_ceil(12);
        assert_eq!(
            m.segments.len(),
            if class.is_some_and(|c| c.year_log_sd.is_some()) {
                years
            } else {
                1
            }
        );
        let h = m.horizon;
        let (mut totals, mut by_month) = (Vec::new(), vec![Vec::new(); h]);
        let mut by_year = vec![Vec::new(); years];
        crate::common::each_iteration(&m, 8, 4000, |r| {
            totals.push(r.commissioner.paid.total() as f64 / 100.0);
            for (t, v) in by_month.iter_mut().enumerate() {
                v.push(-r.monthly[pbrsim::model::COMMISSIONER * h + t] as f64 / 100.0);
            }
            for (y, v) in by_year.iter_mut().enumerate() {
                let months = 12 * y..(12 * y + 12).min(h);
                v.push(
                    months
                        .map(|t| -r.monthly[pbrsim::model::COMMISSIONER * h + t] as f64 / 100.0)
                        .sum::<f64>(),
                );
            }
        });
        let ratio = class.map_or(1.0, |c| {
            math::exp(c.log_ratio_mean + math::powi(c.predictive_sd(), 2) / 2.0)
                * math::exp(math::powi(c.year_log_sd.unwrap_or(0.0), 2) / 2.0)
        });
        let (mean, se) = crate::common::mean_se(&totals);
        crate::common::assert_within("total", mean, se, ratio * planned.total(), 5.0);
        for (y, v) in by_year.iter().enumerate() {
            let plan: f64 = planned.amounts.iter().skip(12 * y).take(12).sum();
            let (mean, se) = crate::common::mean_se(v);
            crate::common::assert_within(&format!("year {}", y + 1), mean, se, ratio * plan, 5.0);
        }
        if class.is_none() {
            for (t, v) in by_month
                .iter()
                .enumerate()
                .take(planned.amounts.len())
                .step_by(7)
            {
                let (mean, se) = crate::common::mean_se(v);
                crate::common::assert_within(
                    &format!("month {t}"),
                    mean,
                    se,
                    planned.amounts[t],
                    5.0,
                );
            }
        }
    }
    let e = pbrsim::backtest::from_plan_files(
        "backtests/impact_bonds/outcome_payments.csv".as_ref(),
        "INDIGO-POJ-167",
        None,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("did you mean `INDIGO-POJ-0167`?"), "{e}");
}

/// The scenario of a plan (with a class), its predictive distribution from
/// 2,000 iterations, and realised quarters cut from `reality`'s monthly
/// outflow.
pub fn quarters(
    pred: &pbrsim::backtest::check::Predictive,
    reality: &[f64],
) -> Vec<pbrsim::backtest::realised::Period> {
    let mut periods = Vec::new();
    let mut first = pred.start;
    let end = pred.start + pred.months as i64;
    while first < end {
        let last = (first - first.rem_euclid(3) + 2).min(end - 1);
        let value = (first..=last)
            .map(|t| reality[(t - pred.start) as usize])
            .sum();
        periods.push(pbrsim::backtest::realised::Period {
            series: "payments".into(),
            key: pbrsim::backtest::realised::Series {
                measure: pbrsim::backtest::realised::Measure::Payments,
                segment: None,
            },
            first,
            last,
            value,
            line: 0,
        });
        first = last + 1;
    }
    periods
}

/// The Cornwall Frequent Attenders Project's payments.
pub fn cornwall() -> pbrsim::backtest::payments::Contract {
    let text = std::fs::read_to_string("backtests/impact_bonds/outcome_payments.csv").unwrap();
    let contracts = pbrsim::backtest::payments::parse(&text, "outcome_payments.csv").unwrap();
    contracts
        .into_iter()
        .find(|c| c.id == "INDIGO-POJ-0167")
        .unwrap()
}

/// A class near the one the shipped data give.
pub fn test_class() -> pbrsim::backtest::plan::ClassFile {
    pbrsim::backtest::plan::ClassFile {
        name: "test".into(),
        contracts: 15,
        log_ratio_mean: -0.14,
        log_ratio_sd: 0.9,
        year_log_sd: None,
    }
}

pub fn plan_model(sets: &[&str]) -> pbrsim::model::Model {
    let text = pbrsim::backtest::plan::scenario(&cornwall(), Some(&test_class())).unwrap();
    crate::common::model(&text, sets)
}

/// Realities drawn from the scenario itself (another seed) fall in its
/// predictive distribution as they should: the PITs of the final running
/// total and of one quarter are uniform, so the 50% and 90% bands hold 50%
/// and 90% of 1,000 realities and the mean PIT is 0.5 (five standard
/// errors).
#[test]
fn realities_from_the_scenario_itself_are_calibrated() {
    use pbrsim::backtest::check::{Kind, predictive};
    let m = plan_model(&[]);
    let pred = predictive(&m, &[], 2000, 1, 0, false).unwrap();
    let h = m.horizon;
    let mut simulator = pbrsim::engine::Simulator::new(&m);
    let (mut total, mut quarter) = (Vec::new(), Vec::new());
    for i in 0..1000 {
        let r = simulator.iteration(77, i);
        let reality: Vec<f64> = (0..h)
            .map(|t| -r.monthly[pbrsim::model::COMMISSIONER * h + t] as f64 / 100.0)
            .collect();
        let rows = pred.place(&quarters(&pred, &reality)).unwrap();
        let last = rows
            .iter()
            .rev()
            .find(|r| r.kind == Kind::Cumulative)
            .unwrap();
        total.push(last.pit);
        quarter.push(rows[2 * 9].pit);
    }
    crate::common::assert_uniform_pits("final total", &total);
    crate::common::assert_uniform_pits("tenth quarter", &quarter);
}

/// With every count fixed and nothing uncertain, every iteration is the
/// same world: its own values have PIT 1/2 (all ties), a penny more PIT 1,
/// a penny less PIT 0.
#[test]
fn a_fixed_world_places_its_own_values_at_one_half() {
    use pbrsim::backtest::check::predictive;
    let m = plan_model(&[
        "uncertainty.volume=1",
        "segments.planned_payments.referral_process=fixed",
    ]);
    let pred = predictive(&m, &[], 50, 3, 0, false).unwrap();
    let world = pred.outflow[..pred.months].to_vec();
    for (shift, pit) in [(0.0, 0.5), (0.01, 1.0), (-0.01, 0.0)] {
        let mut periods = quarters(&pred, &world);
        for p in &mut periods {
            p.value += shift;
        }
        let rows = pred.place(&periods).unwrap();
        assert!(
            rows.iter().step_by(2).all(|r| r.pit == pit),
            "shift {shift}"
        );
        assert_eq!(rows[0].quantiles[2], world[..3].iter().sum::<f64>());
    }
}

/// `from-plan --realised` then `backtest --out`: a table of every period
/// and running total; a realised file with a gap, an overlap, an unknown
/// series or another currency is refused at its line, exit code 2.
#[test]
fn backtest_command_places_what_a_contract_paid_and_refuses_bad_files() {
    let tmp = tempfile::tempdir().unwrap();
    let p = |f: &str| tmp.path().join(f).to_str().unwrap().to_string();
    ok(&[
        "from-plan",
        "backtests/impact_bonds/outcome_payments.csv",
        "--contract",
        "INDIGO-POJ-0192",
        "-o",
        &p("s.toml"),
        "--realised",
        &p("paid.csv"),
    ]);
    ok(&[
        "backtest",
        &p("s.toml"),
        &p("paid.csv"),
        "-n",
        "500",
        "-q",
        "--out",
        &p("out"),
    ]);
    let explained = ok(&["explain", &p("s.toml")]);
    let text = String::from_utf8_lossy(&explained.stdout);
    assert!(text.contains("Month 0 is 2020-07"), "{text}");
    let o = pbrsim(&[
        "validate",
        &p("s.toml"),
        "--set",
        "time.start_month=2019-13",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        o.status.code() == Some(2) && err.contains("`2019-13` is not a month"),
        "{err}"
    );
    let o = pbrsim(&["backtest", "scenarios/minimal.toml", &p("paid.csv")]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        o.status.code() == Some(2) && err.contains("time.start_month"),
        "{err}"
    );
    let realised = std::fs::read_to_string(p("paid.csv")).unwrap();
    let table = std::fs::read_to_string(tmp.path().join("out/backtest.csv")).unwrap();
    assert_eq!(
        table.lines().count() - 1,
        2 * (realised.lines().count() - 1)
    );
    for (bad, expected) in [
        (
            "payments,2020-01,2020-03,GBP,5\npayments,2020-07,2020-09,GBP,5\n",
            "bad.csv:3: a gap after line 2: nothing given for 2020-04 to 2020-06",
        ),
        (
            "payments,2020-01,2020-03,GBP,5\npayments,2020-03,2020-05,GBP,5\n",
            "bad.csv:3: overlaps line 2",
        ),
        (
            "paymnets,2020-01,2020-03,GBP,5\n",
            "bad.csv:2:1: unknown series `paymnets`",
        ),
        (
            "payments,2020-01,2020-03,EUR,5\n",
            "bad.csv:2:26: `EUR`, but the scenario's amounts are in `GBP`",
        ),
        (
            "payments,2030-01,2030-03,GBP,5\n",
            "2030-01 to 2030-03 is outside the scenario's months",
        ),
    ] {
        std::fs::write(
            p("bad.csv"),
            format!("series,period_start,period_end,currency,value\n{bad}"),
        )
        .unwrap();
        let o = pbrsim(&[
            "backtest",
            &p("s.toml"),
            &p("bad.csv"),
            "-n",
            "100",
            "--out",
            &p("never"),
        ]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.contains(expected), "expected `{expected}` in {err}");
        assert!(!tmp.path().join("never").exists());
    }
}

/// The tables docs/backtesting.md quotes for all fifteen contracts, the
/// back-test and the halfway re-forecast, are what
/// `backtests/impact_bonds/backtest_all.sh` gives.
#[test]
fn the_documented_back_test_of_all_fifteen_is_what_the_script_gives() {
    let tmp = tempfile::tempdir().unwrap();
    let out = std::process::Command::new("bash")
        .arg("backtests/impact_bonds/backtest_all.sh")
        .arg(tmp.path().join("all"))
        .arg("10000")
        .env("PBRSIM", env!("CARGO_BIN_EXE_pbrsim"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc = std::fs::read_to_string("docs/backtesting.md").unwrap();
    let printed = String::from_utf8(out.stdout).unwrap();
    assert_eq!(printed.lines().count(), 43);
    for line in printed.lines() {
        assert!(
            doc.contains(line),
            "docs/backtesting.md should quote:\n{line}"
        );
    }
}

/// Quarterly periods of `series` cut from a reality's monthly values.
pub fn count_quarters(
    pred: &pbrsim::backtest::check::Predictive,
    series: pbrsim::backtest::realised::Series,
    name: &str,
    reality: &[f64],
    months: usize,
) -> Vec<pbrsim::backtest::realised::Period> {
    quarters(pred, reality)
        .into_iter()
        .filter(|p| ((p.last - pred.start) as usize) < months)
        .map(|p| pbrsim::backtest::realised::Period {
            series: name.to_string(),
            key: series,
            ..p
        })
        .collect()
}

/// A reality's monthly referrals or outcomes, for one segment or all.
pub fn counts_of(
    r: &pbrsim::engine::world::IterationResult,
    series: pbrsim::backtest::realised::Series,
    segments: usize,
    h: usize,
) -> Vec<f64> {
    use pbrsim::backtest::realised::Measure;
    let by_month = match series.measure {
        Measure::Referrals => &r.referrals_by_month,
        _ => &r.outcomes_by_month,
    };
    (0..h)
        .map(|t| match series.segment {
            Some(s) => by_month[s * h + t] as f64,
            None => (0..segments).map(|s| by_month[s * h + t]).sum::<u64>() as f64,
        })
        .collect()
}

/// Referrals and outcomes by month, by segment or in total, add up to the
/// segments' own referral and outcome figures in every iteration; and
/// realities drawn from the scenario itself (another seed) place their
/// running totals and one quarter uniformly: 50% and 90% bands at 50% and
/// 90% and mean PIT 0.5 over 600 realities (five standard errors).
#[test]
fn referrals_and_outcomes_by_segment_add_up_and_are_calibrated() {
    use pbrsim::backtest::check::{Kind, predictive};
    use pbrsim::backtest::realised::{Measure, Series};
    let m = crate::common::model(
        crate::common::SUPPLY_CHAIN,
        &["time.start_month=\"2020-01\""],
    );
    let h = m.horizon;
    let referrals_a = Series {
        measure: Measure::Referrals,
        segment: Some(0),
    };
    let outcomes_b = Series {
        measure: Measure::Outcomes,
        segment: Some(1),
    };
    let outcomes = Series {
        measure: Measure::Outcomes,
        segment: None,
    };
    let keep = [referrals_a, outcomes_b, outcomes];
    let pred = predictive(&m, &keep, 2000, 1, 0, false).unwrap();
    let width = pred.catalog.figures.len();
    let figure = |key: &str| {
        let k = pred
            .catalog
            .figures
            .iter()
            .position(|f| f.key() == key)
            .unwrap();
        pred.figures.chunks_exact(width).map(move |r| r[k])
    };
    let (first, last) = (pred.start, pred.start + h as i64 - 1);
    for (series, key) in [
        (referrals_a, "segment.a.referrals"),
        (outcomes_b, "segment.b.outcomes"),
        (outcomes, "commissioner.outcomes"),
    ] {
        let all = pred.sample(series, first, last);
        assert!(all.iter().zip(figure(key)).all(|(x, y)| *x == y), "{key}");
    }
    let mut simulator = pbrsim::engine::Simulator::new(&m);
    let mut pits = vec![Vec::new(); 6];
    for i in 0..600 {
        let r = simulator.iteration(77, i);
        let mut periods = Vec::new();
        for (series, name, months) in [
            (referrals_a, "referrals.a", 36),
            (outcomes_b, "outcomes.b", h),
            (outcomes, "outcomes", h),
        ] {
            let reality = counts_of(r, series, 2, h);
            periods.extend(count_quarters(&pred, series, name, &reality, months));
        }
        let rows = pred.place(&periods).unwrap();
        for (k, name) in ["referrals.a", "outcomes.b", "outcomes"].iter().enumerate() {
            let of: Vec<_> = rows.iter().filter(|r| r.series == *name).collect();
            let total = of
                .iter()
                .rev()
                .find(|r| r.kind == Kind::Cumulative)
                .unwrap();
            pits[2 * k].push(total.pit);
            pits[2 * k + 1].push(of[2 * 5].pit);
        }
    }
    for (k, what) in [
        "referrals.a total",
        "referrals.a sixth quarter",
        "outcomes.b total",
        "outcomes.b sixth quarter",
        "outcomes total",
        "outcomes sixth quarter",
    ]
    .iter()
    .enumerate()
    {
        crate::common::assert_uniform_pits(what, &pits[k]);
    }
}

/// Counts are checked at their line and column: an unknown segment (with
/// a suggestion), payments by segment, a currency on a count, a count that
/// is not whole; a total and a segment are separate series, each with its
/// own gaps and overlaps.
#[test]
fn realised_counts_are_checked_at_their_line() {
    use pbrsim::backtest::realised::parse;
    let text = "series,segment,period_start,period_end,currency,value
referrals,aa,2020-01,2020-03,,10
payments,a,2020-01,2020-03,GBP,10
referrals,a,2020-01,2020-03,GBP,10
outcomes,b,2020-01,2020-03,,1.5
";
    let e = parse(text, "r.csv", "GBP", &["a", "b"])
        .unwrap_err()
        .to_string();
    for expected in [
        "r.csv:2:11: unknown segment `aa`; the scenario's segments are a, b",
        "did you mean `a`?",
        "r.csv:3:10: payments by segment (`a`)",
        "r.csv:4:29: `GBP` on a count of referrals",
        "r.csv:5:29: `1.5` is not a whole number of outcomes",
    ] {
        assert!(e.contains(expected), "{expected}\n{e}");
    }
    let ok = "series,segment,period_start,period_end,currency,value
referrals,,2020-01,2020-03,,10
referrals,a,2020-04,2020-06,,4
referrals,a,2020-01,2020-03,,4
referrals,,2020-04,2020-06,,10
payments,,2020-01,2020-06,GBP,100
";
    let periods = parse(ok, "r.csv", "GBP", &["a", "b"]).unwrap();
    let names: Vec<&str> = periods.iter().map(|p| p.series.as_str()).collect();
    assert_eq!(
        names,
        [
            "payments",
            "referrals",
            "referrals",
            "referrals.a",
            "referrals.a"
        ]
    );
    let gap = "series,segment,period_start,period_end,currency,value
referrals,a,2020-01,2020-03,,4
referrals,a,2020-07,2020-09,,4
";
    let e = parse(gap, "r.csv", "GBP", &["a"]).unwrap_err().to_string();
    assert!(
        e.contains("r.csv:3") && e.contains("a gap after line 2"),
        "{e}"
    );
}

/// The shipped class is what `reference-class` writes from the shipped
/// data, and a scenario naming it draws the class's lognormal ratio; a
/// misspelled name, a missing one and `class` on another distribution are
/// refused at the key.
#[test]
fn the_shipped_class_is_the_data_s_and_usable_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("class");
    ok(&[
        "reference-class",
        "backtests/impact_bonds/outcome_payments.csv",
        "--projects",
        "backtests/impact_bonds/projects.csv",
        "--name",
        "uk_impact_bonds",
        "-q",
        "--out",
        out.to_str().unwrap(),
    ]);
    let fresh = std::fs::read_to_string(out.join("reference_class.toml")).unwrap();
    let shipped = std::fs::read_to_string("backtests/impact_bonds/reference_class.toml").unwrap();
    assert_eq!(
        fresh, shipped,
        "regenerate backtests/impact_bonds/reference_class.toml"
    );
    let class = pbrsim::backtest::plan::ClassFile::named("uk_impact_bonds").unwrap();
    let m = crate::common::model(
        crate::common::ONE_SEGMENT,
        &["uncertainty.volume={dist=\"reference_class\",class=\"uk_impact_bonds\"}"],
    );
    let sd = class.log_ratio_sd * (1.0 + 1.0 / class.contracts as f64).sqrt();
    for (u, z) in [
        (0.5, 0.0),
        (0.841344746068543, 1.0),
        (0.05, -1.6448536269514722),
    ] {
        let expected = math::exp(class.log_ratio_mean + z * sd);
        let got = m.volume.at_percentile(u);
        assert!(
            (got - expected).abs() < 1e-9 * expected,
            "{u}: {got} vs {expected}"
        );
    }
    for (set, message) in [
        (
            "uncertainty.volume={dist=\"reference_class\",class=\"uk_impact_bond\"}",
            "did you mean `uk_impact_bonds`?",
        ),
        (
            "uncertainty.volume={dist=\"reference_class\"}",
            "needs `class`",
        ),
        (
            "uncertainty.volume={dist=\"normal\",mean=1,sd=0.1,class=\"uk_impact_bonds\"}",
            "`class` does not apply to a normal distribution",
        ),
    ] {
        let o = pbrsim(&["validate", "scenarios/work_programme.toml", "--set", set]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.contains(message), "{err}");
    }
}
