//! Reference classes (docs/backtesting.md): the leave-one-out predictive
//! bands are calibrated on data drawn from the class's own model, the
//! figures docs/backtesting.md quotes are what the shipped data give, and
//! bad payment files are refused at their line.

use crate::batch::{ok, pbrsim};
use pbrsim::backtest::reference::{self, Fit};
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
                synthetic(i, lr.exp(), d.round() as i64)
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
/// achievement ratio, `exp(mean + sigma^2 / 2)` (five standard errors).
#[test]
fn a_scenario_from_a_plan_pays_the_plan_in_expectation() {
    use pbrsim::backtest::{payments, plan};
    let text = std::fs::read_to_string("backtests/impact_bonds/outcome_payments.csv").unwrap();
    let contracts = payments::parse(&text, "outcome_payments.csv").unwrap();
    let contract = contracts
        .iter()
        .find(|c| c.id == "INDIGO-POJ-0167")
        .unwrap();
    let planned = plan::planned_months(contract);
    let class = plan::ClassFile {
        name: "test".into(),
        contracts: 15,
        log_ratio_mean: -0.14,
        log_ratio_sd: 0.9,
    };
    for class in [None, Some(&class)] {
        let m = crate::common::model(&plan::scenario(contract, class).unwrap(), &[]);
        assert_eq!(m.horizon, planned.amounts.len());
        let h = m.horizon;
        let (mut totals, mut by_month) = (Vec::new(), vec![Vec::new(); h]);
        crate::common::each_iteration(&m, 8, 4000, |r| {
            totals.push(r.commissioner.paid.total() as f64 / 100.0);
            for (t, v) in by_month.iter_mut().enumerate() {
                v.push(-r.monthly[pbrsim::model::COMMISSIONER * h + t] as f64 / 100.0);
            }
        });
        let ratio = class.map_or(1.0, |c| {
            (c.log_ratio_mean + c.predictive_sd().powi(2) / 2.0).exp()
        });
        let (mean, se) = crate::common::mean_se(&totals);
        crate::common::assert_within("total", mean, se, ratio * planned.total(), 5.0);
        if class.is_none() {
            for (t, v) in by_month.iter().enumerate().step_by(7) {
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
