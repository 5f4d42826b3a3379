//! Re-forecasting mid-contract (docs/backtesting.md): the weights are the
//! documented likelihood, conditioning on nothing is the prior forecast
//! exactly, and on realities drawn from the scenario itself the
//! re-forecast recovers the parameters that generated them at its
//! nominal coverage.

use crate::backtest::{plan_model, quarters};
use crate::batch::{ok, pbrsim};
use pbrsim::backtest::check::{Predictive, predictive};
use pbrsim::backtest::realised::{Measure, Period, Series};
use pbrsim::backtest::reforecast::{self, condition, pit, reforecast};
use pbrsim::math;
use rand::SeedableRng;
use rand_distr::{Distribution, Normal};

/// The volume drawn from the shipped reference class.
const CLASS_VOLUME: &str =
    "uncertainty.volume={dist=\"reference_class\",class=\"uk_impact_bonds\"}";

/// A reality: iteration `i` of `seed`'s public outflow by month.
fn reality(m: &pbrsim::model::Model, seed: u64, i: u64) -> (f64, Vec<f64>) {
    let mut simulator = pbrsim::engine::Simulator::new(m);
    let r = simulator.iteration(seed, i);
    let h = m.horizon;
    let outflow = (0..h)
        .map(|t| -r.monthly[pbrsim::model::COMMISSIONER * h + t] as f64 / 100.0)
        .collect();
    (r.draws.volume, outflow)
}

fn text(o: std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

/// A calendar month halfway through, at a quarter's start.
fn halfway(pred: &Predictive) -> i64 {
    let mid = pred.start + pred.months as i64 / 2;
    mid - mid.rem_euclid(3)
}

#[test]
fn conditioning_on_nothing_returns_the_prior_forecast_exactly() {
    let m = plan_model(&[]);
    let pred = predictive(&m, &[], 2000, 1, 0, false).unwrap();
    let (_, world) = reality(&m, 9, 0);
    let periods = quarters(&pred, &world);
    let r = reforecast(&m, &pred, &periods, pred.start, 0.25).unwrap();
    assert!(r.observed.is_empty());
    assert!(r.weights.iter().all(|&w| w == 1.0));
    assert_eq!(r.ess, 2000.0);
    let bits = |s: &reforecast::Stats| {
        [s.mean, s.quantiles[0], s.quantiles[1], s.quantiles[2]].map(f64::to_bits)
    };
    for row in &r.rows {
        assert_eq!(bits(&row.prior), bits(&row.posterior), "{}", row.key);
    }
    let later = &r.later[0];
    assert_eq!(bits(&later.prior), bits(&later.posterior));
    assert_eq!(later.prior_pit, later.posterior_pit);
    // The prior is the scenario's own forecast: the commissioner's mean
    // payments computed afresh from the iterations.
    let mut paid = 0.0;
    crate::common::each_iteration(&m, 1, 2000, |it| {
        paid += it.commissioner.paid.total() as f64 / 100.0;
    });
    let prior = r.row("commissioner.paid.total").unwrap().prior.mean;
    assert!(
        (prior - paid / 2000.0).abs() <= 1e-9 * prior,
        "{prior} {paid}"
    );
    // Everything paid is paid before the month or from it.
    let before = r.row("public.paid_before").unwrap().prior.mean;
    let from = r.row("public.paid_from").unwrap().prior.mean;
    assert_eq!(before, 0.0);
    assert!((from - prior).abs() <= 1e-9 * prior);
}

/// The weight of each iteration is `exp(-1/2 sum ((y - x) / (tau sd))^2)`
/// over the periods before the month, scaled so the largest is 1, and each
/// re-forecast mean is the weighted mean of the iterations' values.
#[test]
fn the_weights_are_the_likelihood_of_the_periods_observed() {
    let m = plan_model(&[]);
    let pred = predictive(&m, &[], 1000, 1, 0, false).unwrap();
    let (_, world) = reality(&m, 9, 3);
    let periods = quarters(&pred, &world);
    let at = halfway(&pred);
    let tau = 0.4;
    let r = reforecast(&m, &pred, &periods, at, tau).unwrap();
    let observed: Vec<&Period> = periods.iter().filter(|p| p.last < at).collect();
    assert_eq!(r.observed.len(), observed.len());
    let mut log_w = vec![0.0; 1000];
    for p in &observed {
        let x: Vec<f64> = (0..1000)
            .map(|i| {
                (p.first..=p.last)
                    .map(|t| pred.outflow[i * pred.months + (t - pred.start) as usize])
                    .sum()
            })
            .collect();
        let mean = x.iter().sum::<f64>() / 1000.0;
        let sd = (x.iter().map(|v| math::powi(v - mean, 2)).sum::<f64>() / 999.0).sqrt();
        for (lw, v) in log_w.iter_mut().zip(&x) {
            *lw += -0.5 * math::powi((p.value - v) / (tau * sd), 2);
        }
    }
    let top = log_w.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    for (w, lw) in r.weights.iter().zip(&log_w) {
        let expected = math::exp(lw - top);
        assert!(
            (w - expected).abs() <= 1e-9 * expected.max(1e-300),
            "{w} {expected}"
        );
    }
    let (s1, s2) = r
        .weights
        .iter()
        .fold((0.0, 0.0), |(a, b), w| (a + w, b + w * w));
    assert!((r.ess - s1 * s1 / s2).abs() < 1e-9 * r.ess);
    let k = pred
        .catalog
        .figures
        .iter()
        .position(|f| f.key() == "draw.volume")
        .unwrap();
    let width = pred.catalog.figures.len();
    let weighted: f64 = (0..1000)
        .map(|i| r.weights[i] * pred.figures[i * width + k])
        .sum::<f64>()
        / s1;
    let mean = r.row("draw.volume").unwrap().posterior.mean;
    assert!((mean - weighted).abs() <= 1e-9 * weighted);
    assert_eq!(r.inputs.len(), 1);
    assert_eq!(r.inputs[0].0, "uncertainty.volume");
}

/// Realities drawn from the scenario itself, observed with the documented
/// error up to halfway: each parameter that generated them lies in the
/// re-forecast as a draw from it would, so its weighted PIT is uniform:
/// the central 50% and 90% bands hold 50% and 90% of 400 realities and the
/// mean PIT is 0.5 (five standard errors). Checked for the achievement
/// ratio of a plan with one segment, and for the ratio, the first plan
/// year's own volume (observed) and the last's (not yet observed) of a
/// plan with year-to-year variation, from their payments; and for the
/// volume, the first year's economy and a segment's effect of a supply
/// chain, from one segment's referrals and another's outcomes.
#[test]
fn a_re_forecast_recovers_the_parameters_that_generated_the_reality() {
    use pbrsim::backtest::plan;
    let yearly = plan::ClassFile {
        year_log_sd: Some(0.5),
        ..crate::backtest::test_class()
    };
    let text = plan::scenario(&crate::backtest::cornwall(), Some(&yearly)).unwrap();
    let m_yearly = crate::common::model(&text, &[]);
    let last = format!("draw.segments.year{}.volume", m_yearly.segments.len());
    let payments = [(
        Series {
            measure: Measure::Payments,
            segment: None,
        },
        "payments",
    )];
    recovers(&plan_model(&[]), &["draw.volume"], &payments, 0.25);
    recovers(
        &m_yearly,
        &["draw.volume", "draw.segments.year1.volume", &last],
        &payments,
        0.25,
    );
    let supply_chain = crate::common::model(
        crate::common::SUPPLY_CHAIN,
        &["time.start_month=\"2020-01\""],
    );
    let counts = [
        (
            Series {
                measure: Measure::Referrals,
                segment: Some(0),
            },
            "referrals.a",
        ),
        (
            Series {
                measure: Measure::Outcomes,
                segment: Some(1),
            },
            "outcomes.b",
        ),
    ];
    // A segment's few dozen outcomes a quarter vary by chance as much as
    // its prior sd: the observation error must be as wide, or almost no
    // world reproduces twelve quarters of them.
    recovers(
        &supply_chain,
        &["draw.volume", "draw.macro.year1", "draw.effect.b"],
        &counts,
        1.0,
    );
}

/// Checks that 400 realities of `m` observed as `series` up to halfway,
/// with observation error `tau`, recover `keys` (see above).
fn recovers(m: &pbrsim::model::Model, keys: &[&str], series: &[(Series, &str)], tau: f64) {
    let keep: Vec<Series> = series.iter().map(|s| s.0).collect();
    let pred = predictive(m, &keep, 20_000, 1, 0, false).unwrap();
    let at = halfway(&pred);
    let catalog = &pred.catalog;
    let width = catalog.figures.len();
    let columns: Vec<(usize, Vec<f64>)> = keys
        .iter()
        .map(|key| {
            let k = catalog
                .figures
                .iter()
                .position(|f| f.key() == *key)
                .unwrap_or_else(|| panic!("{key}"));
            (k, pred.figures.chunks_exact(width).map(|r| r[k]).collect())
        })
        .collect();
    let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(5);
    let mut pits = vec![Vec::new(); keys.len()];
    let mut ess = Vec::new();
    let mut simulator = pbrsim::engine::Simulator::new(m);
    let (h, mut row) = (m.horizon, Vec::new());
    for i in 0..400 {
        let r = simulator.iteration(77, i);
        catalog.fill(m, r, &mut row);
        let mut periods = Vec::new();
        for &(s, name) in series {
            let world: Vec<f64> = match s.measure {
                Measure::Payments => (0..h)
                    .map(|t| -r.monthly[pbrsim::model::COMMISSIONER * h + t] as f64 / 100.0)
                    .collect(),
                _ => crate::backtest::counts_of(r, s, m.segments.len(), h),
            };
            periods.extend(crate::backtest::count_quarters(&pred, s, name, &world, h));
        }
        for p in periods.iter_mut().filter(|p| p.last < at) {
            let sample = pred.sample(p.key, p.first, p.last);
            let mean = sample.iter().sum::<f64>() / sample.len() as f64;
            let sd = (sample.iter().map(|v| math::powi(v - mean, 2)).sum::<f64>()
                / (sample.len() - 1) as f64)
                .sqrt();
            p.value += Normal::new(0.0, tau * sd).unwrap().sample(&mut rng);
        }
        let c = condition(&pred, &periods, at, tau).unwrap();
        for ((k, column), pits) in columns.iter().zip(&mut pits) {
            pits.push(pit(column, &c.weights, row[*k]));
        }
        ess.push(c.ess);
    }
    for (key, pits) in keys.iter().zip(&pits) {
        crate::common::assert_uniform_pits(key, pits);
    }
    // Conditioning narrowed the parameters: the worlds it rests on are a
    // small share of the prior's, but enough for the check.
    ess.sort_by(f64::total_cmp);
    let median_ess = ess[ess.len() / 2];
    assert!(median_ess > 100.0 && median_ess < 10_000.0, "{median_ess}");
}

/// Cornwall's plan as `dir/cornwall.toml` (volume 1) and what it paid as
/// `dir/paid.csv`.
fn cornwall_plan(dir: &std::path::Path) {
    let p = |f: &str| dir.join(f).to_str().unwrap().to_string();
    ok(&[
        "from-plan",
        "backtests/impact_bonds/outcome_payments.csv",
        "--contract",
        "INDIGO-POJ-0167",
        "-o",
        &p("cornwall.toml"),
        "--realised",
        &p("paid.csv"),
    ]);
}

/// `reforecast --out`: the report and reforecast.csv; with observation
/// error too small for the iterations, a warning; a month across a period,
/// a month outside the scenario and a bad tolerance are refused, exit
/// code 2, nothing written.
#[test]
fn reforecast_command_reports_warns_and_refuses() {
    let tmp = tempfile::tempdir().unwrap();
    let p = |f: &str| tmp.path().join(f).to_str().unwrap().to_string();
    cornwall_plan(tmp.path());
    let volume = "uncertainty.volume={dist=\"lognormal\",median=0.9,sigma=0.9}";
    let (scenario, paid) = (p("cornwall.toml"), p("paid.csv"));
    let reforecast = |extra: &[&str]| {
        let mut args = vec![
            "reforecast",
            &scenario,
            &paid,
            "--at",
            "2021-10",
            "--set",
            volume,
        ];
        args.extend(extra);
        text(ok(&args))
    };
    let out = reforecast(&["-n", "4000", "--out", &p("rf")]);
    assert!(out.contains("re-forecast from 2021-10"), "{out}");
    assert!(out.contains("uncertainty.volume"), "{out}");
    assert!(out.contains("realised 2021-10 to"), "{out}");
    assert!(!out.contains("warning"), "{out}");
    let csv = std::fs::read_to_string(p("rf/reforecast.csv")).unwrap();
    assert!(csv.starts_with("figure,unit,prior_mean,"));
    assert!(csv.contains("\ndraw.volume,draw,"));
    assert!(csv.contains("\npublic.paid_later,money,"));
    let tight = reforecast(&["-n", "400", "--tolerance", "0.01"]);
    assert!(
        tight.contains("warning: the re-forecast rests on"),
        "{tight}"
    );
    for (at, tolerance, message) in [
        ("2021-11", "0.25", "runs across it"),
        ("2031-01", "0.25", "the scenario's months are"),
        ("2021-10", "0", "--tolerance"),
        ("2021-13", "0.25", "not a month"),
    ] {
        let o = pbrsim(&[
            "reforecast",
            &p("cornwall.toml"),
            &p("paid.csv"),
            "--at",
            at,
            "--tolerance",
            tolerance,
            "--set",
            volume,
            "-n",
            "100",
            "--out",
            &p("bad"),
        ]);
        assert_eq!(o.status.code(), Some(2), "{at}");
        assert!(
            String::from_utf8_lossy(&o.stderr).contains(message),
            "{at}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(!std::path::Path::new(&p("bad")).exists());
    }
}

/// Every line of the Cornwall re-forecast docs/backtesting.md shows is
/// what the commands give: the class from all fifteen contracts, the plan
/// as a scenario, the re-forecast from 2021-10.
#[test]
fn the_documented_re_forecast_of_cornwall_is_what_the_commands_give() {
    let tmp = tempfile::tempdir().unwrap();
    let p = |f: &str| tmp.path().join(f).to_str().unwrap().to_string();
    ok(&[
        "reference-class",
        "backtests/impact_bonds/outcome_payments.csv",
        "--projects",
        "backtests/impact_bonds/projects.csv",
        "-q",
        "--out",
        &p("class"),
    ]);
    ok(&[
        "from-plan",
        "backtests/impact_bonds/outcome_payments.csv",
        "--contract",
        "INDIGO-POJ-0167",
        "--class",
        &p("class/reference_class.toml"),
        "-o",
        &p("cornwall.toml"),
        "--realised",
        &p("cornwall_paid.csv"),
    ]);
    let report = text(ok(&[
        "reforecast",
        &p("cornwall.toml"),
        &p("cornwall_paid.csv"),
        "--at",
        "2021-10",
    ]));
    let doc = std::fs::read_to_string("docs/backtesting.md").unwrap();
    assert!(report.lines().count() > 20);
    for line in report.lines() {
        assert!(
            doc.contains(line),
            "docs/backtesting.md should quote:\n{line}"
        );
    }
}

/// `calibration` reads a back-test and a re-forecast from their
/// directories: one case of each kind, each counted in its bands; a file
/// that is neither is refused with exit code 2.
#[test]
fn calibration_gathers_back_tests_and_re_forecasts() {
    let tmp = tempfile::tempdir().unwrap();
    let p = |f: &str| tmp.path().join(f).to_str().unwrap().to_string();
    cornwall_plan(tmp.path());
    let volume = CLASS_VOLUME;
    let common = [
        &p("cornwall.toml"),
        &p("paid.csv"),
        "--set",
        volume,
        "-n",
        "2000",
        "-q",
    ];
    let mut backtest = vec!["backtest"];
    backtest.extend(common);
    let bt_dir = p("runs/bt");
    backtest.extend(["--out", &bt_dir]);
    ok(&backtest);
    let mut reforecast = vec!["reforecast"];
    reforecast.extend(common);
    let rf_dir = p("runs/rf");
    reforecast.extend(["--at", "2021-10", "--out", &rf_dir]);
    ok(&reforecast);
    let report = text(ok(&["calibration", &p("runs"), "--out", &p("cal")]));
    assert!(report.starts_with("3 cases from 2 files"), "{report}");
    for label in [
        "back-tests: whole realised series        1",
        "re-forecasts' priors: after --at         1",
        "re-forecasts: after --at                 1",
    ] {
        assert!(report.contains(label), "{label}\n{report}");
    }
    let table = std::fs::read_to_string(p("cal/calibration.csv")).unwrap();
    let rows: Vec<&str> = table.lines().collect();
    assert_eq!(rows.len(), 4);
    assert!(rows[1].contains(",backtest,payments,"), "{table}");
    assert!(rows[2].contains(",prior,public.paid_later,"), "{table}");
    assert!(
        rows[3].contains(",reforecast,public.paid_later,"),
        "{table}"
    );
    let o = pbrsim(&["calibration", &p("paid.csv")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a backtest.csv or reforecast.csv"));
}

/// `weights.csv` holds one weight per iteration, and the iterations are
/// those of `pbrsim run --draws` with the same seed: reweighting the
/// run's draws gives the re-forecast's mean of a figure.
#[test]
fn the_weights_reweight_the_runs_own_draws() {
    let tmp = tempfile::tempdir().unwrap();
    let p = |f: &str| tmp.path().join(f).to_str().unwrap().to_string();
    cornwall_plan(tmp.path());
    let volume = CLASS_VOLUME;
    ok(&[
        "reforecast",
        &p("cornwall.toml"),
        &p("paid.csv"),
        "--at",
        "2021-10",
        "--set",
        volume,
        "-n",
        "500",
        "-s",
        "7",
        "-q",
        "--out",
        &p("rf"),
    ]);
    ok(&[
        "run",
        &p("cornwall.toml"),
        "--set",
        volume,
        "-n",
        "500",
        "-s",
        "7",
        "-q",
        "--draws",
        "--out",
        &p("run"),
    ]);
    let read = |f: &str| -> Vec<Vec<String>> {
        let mut r = csv::Reader::from_path(p(f)).unwrap();
        let header: Vec<String> = r.headers().unwrap().iter().map(str::to_string).collect();
        std::iter::once(header)
            .chain(
                r.records()
                    .map(|x| x.unwrap().iter().map(str::to_string).collect()),
            )
            .collect()
    };
    let weights = read("rf/weights.csv");
    let draws = read("run/draws.csv");
    assert_eq!(weights.len(), 501);
    assert_eq!(draws.len(), 501);
    let col = draws[0].iter().position(|h| h == "draw.volume").unwrap();
    let (mut sw, mut swx) = (0.0, 0.0);
    for (w, d) in weights[1..].iter().zip(&draws[1..]) {
        assert_eq!(w[0], d[0], "same iteration");
        let (w, x): (f64, f64) = (w[1].parse().unwrap(), d[col].parse().unwrap());
        sw += w;
        swx += w * x;
    }
    let table = read("rf/reforecast.csv");
    let row = table.iter().find(|r| r[0] == "draw.volume").unwrap();
    let mean: f64 = row[table[0].iter().position(|h| h == "mean").unwrap()]
        .parse()
        .unwrap();
    assert!(
        (swx / sw - mean).abs() <= 1e-9 * mean,
        "{} vs {mean}",
        swx / sw
    );
}

/// A back-test and a re-forecast report their progress on standard error
/// as they run, and nothing with `-q`.
#[test]
fn back_tests_and_re_forecasts_show_progress() {
    let tmp = tempfile::tempdir().unwrap();
    let p = |f: &str| tmp.path().join(f).to_str().unwrap().to_string();
    cornwall_plan(tmp.path());
    let (scenario, paid) = (p("cornwall.toml"), p("paid.csv"));
    let volume = CLASS_VOLUME;
    for mut command in [
        vec!["backtest", &scenario, &paid, "-n", "1000"],
        vec![
            "reforecast",
            &scenario,
            &paid,
            "--at",
            "2021-10",
            "-n",
            "1000",
        ],
    ] {
        command.extend(["--set", volume]);
        let run = |quiet: bool| {
            let mut args = command.clone();
            if quiet {
                args.push("-q");
            }
            let o = std::process::Command::new(env!("CARGO_BIN_EXE_pbrsim"))
                .args(&args)
                .env("PBRSIM_PROGRESS_SECONDS", "0")
                .output()
                .unwrap();
            assert!(o.status.success());
            String::from_utf8_lossy(&o.stderr).to_string()
        };
        let shown = run(false);
        assert!(
            shown.contains("(1,000/1,000 iterations)"),
            "{command:?}: {shown}"
        );
        assert_eq!(run(true), "", "{command:?}");
    }
}
