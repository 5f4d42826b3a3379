//! Stress testing: shocks and bands, tornado and Sobol indices against
//! analytic values, the variance split, solve-for and the reverse stress
//! test on scenarios whose answers are known in closed form.

use super::common::{assert_within, model};
use pbrsim::engine::RunConfig;
use pbrsim::math;
use pbrsim::stress::Statistic;
use pbrsim::stress::sensitivity::{sobol, tornado, variance_split};
use pbrsim::stress::solve::{Problem, Solution, solve};
use std::process::Command;

/// `prime.net = F N - cost * O` with `N ~ Poisson(1200 volume)`, `F = 100`,
/// `O = 120,000` (12 months of overhead): additive in volume and cost,
/// with participant noise `Var(F N | volume) = F^2 1200 volume`.
pub const ADDITIVE: &str = r#"
name = "additive"
[time]
horizon_months = 24
referral_months = 12
[uncertainty]
volume = { dist = "uniform", min = 0.8, max = 1.2 }
cost = { dist = "uniform", min = 0.8, max = 1.2 }
[segments.people]
referrals_per_month = 100
referral_process = "poisson"
[segments.people.sustained]
baseline_hazard = 0.0
window_months = 1
qualifying_months = 1
[segments.people.tariff]
attachment = 100.0
[segments.people.allocation]
prime = 1.0
[payments.lag_months]
attachment = 0
[prime]
reserves = 1e9
cost_per_referral = 0.0
cost_per_participant_month = 0.0
overhead_per_month = 10000.0
"#;

const A: f64 = 100.0 * 1200.0; // d E[net] / d volume
const B: f64 = 120_000.0; // -d E[net] / d cost
const VAR_U: f64 = 0.4 * 0.4 / 12.0; // variance of Uniform(0.8, 1.2)
const NOISE: f64 = 100.0 * 100.0 * 1200.0; // E[Var(net | parameters)] = F^2 1200 E[volume]

fn config(iterations: u64, threads: usize) -> RunConfig {
    RunConfig {
        iterations,
        seed: 11,
        threads,
        ..Default::default()
    }
}

fn net() -> Statistic {
    Statistic::Mean("prime.net".into())
}

#[test]
fn tornado_matches_the_analytic_one_at_a_time_changes() {
    let m = model(ADDITIVE, &[]);
    let t = &tornado(&m, &[net()], 0.1, 0.9, &config(4000, 0), &|_| {}).unwrap()[0];
    let bar = |name: &str| t.bars.iter().find(|b| b.input == name).unwrap();
    // E[net | volume at its p10] - E[net] = A (0.84 - 1); cost at p90: -B (1.16 - 1).
    for (name, low, high, slope) in [
        ("uncertainty.volume", 0.84, 1.16, A),
        ("uncertainty.cost", 0.84, 1.16, -B),
    ] {
        let b = bar(name);
        assert!(
            (b.values.0 - low).abs() < 1e-12 && (b.values.1 - high).abs() < 1e-12,
            "{b:?}"
        );
        assert_within(
            &format!("{name} low"),
            b.low_change.value,
            b.low_change.se,
            slope * (low - 1.0),
            4.5,
        );
        assert_within(
            &format!("{name} high"),
            b.high_change.value,
            b.high_change.se,
            slope * (high - 1.0),
            4.5,
        );
    }
    assert_eq!(t.bars.len(), 2, "only the uncertain inputs have bars");
}

/// The same contract with its uncertainty on plain keys (the segment's own
/// volume, the prime's overhead) instead of the named multipliers: the
/// analyses find the keys by path and give the same analytic changes.
#[test]
fn a_tornado_on_uncertain_plain_keys_matches_the_analytic_changes() {
    let m = model(
        ADDITIVE,
        &[
            "uncertainty.volume=1.0",
            "uncertainty.cost=1.0",
            "segments.people.volume={ dist = \"uniform\", min = 0.8, max = 1.2 }",
            "prime.overhead_per_month={ dist = \"uniform\", min = 8000, max = 12000 }",
        ],
    );
    let t = &tornado(&m, &[net()], 0.1, 0.9, &config(4000, 0), &|_| {}).unwrap()[0];
    let bar = |name: &str| t.bars.iter().find(|b| b.input == name).unwrap();
    // Volume as before; 12 months of overhead at its p10 (8,400) and p90
    // (11,600) change the net by -12 x (overhead - 10,000).
    for (name, low, high, slope) in [
        ("segments.people.volume", 0.84, 1.16, A),
        ("prime.overhead_per_month", 8400.0, 11600.0, -12.0),
    ] {
        let b = bar(name);
        assert!(
            (b.values.0 - low).abs() < 1e-9 && (b.values.1 - high).abs() < 1e-9,
            "{b:?}"
        );
        let centre = if name.starts_with("prime") {
            10_000.0
        } else {
            1.0
        };
        for (change, at) in [(&b.low_change, low), (&b.high_change, high)] {
            assert_within(name, change.value, change.se, slope * (at - centre), 4.5);
        }
    }
    assert_eq!(t.bars.len(), 2, "only the uncertain inputs have bars");
}

#[test]
fn sobol_indices_match_the_analytic_shares_of_variance() {
    let m = model(ADDITIVE, &[]);
    let s = &sobol(&m, &[net()], &config(6000, 0), &|_| {}).unwrap()[0];
    let total = A * A * VAR_U + B * B * VAR_U + NOISE;
    let index = |name: &str| s.indices.iter().find(|i| i.input == name).unwrap();
    let (vol, cost, people) = (
        index("uncertainty.volume"),
        index("uncertainty.cost"),
        index("participants"),
    );
    let share = A * A * VAR_U / total;
    assert_within("S volume", vol.first.value, vol.first.se, share, 4.5);
    assert_within(
        "S cost",
        cost.first.value,
        cost.first.se,
        B * B * VAR_U / total,
        4.5,
    );
    // Cost enters alone and linearly: no interactions.
    assert_within(
        "ST cost",
        cost.total.value,
        cost.total.se,
        B * B * VAR_U / total,
        4.5,
    );
    // The participants' total index is E[Var(net | parameters)] / Var(net).
    assert_within(
        "ST participants",
        people.total.value,
        people.total.se,
        NOISE / total,
        4.5,
    );
    // Volume interacts with the participants only through the Poisson
    // variance: its total index lies between its first-order share and
    // that share plus the participants'.
    assert!(
        vol.total.value > share - 4.5 * vol.total.se
            && vol.total.value < share + NOISE / total + 4.5 * vol.total.se,
        "{vol:?}"
    );
    assert_within("variance", s.variance.value, s.variance.se, total, 4.5);
}

#[test]
fn the_variance_split_adds_up_and_matches_its_analytic_parts() {
    let m = model(ADDITIVE, &[]);
    let split = variance_split(&m, &config(6000, 0), &|_| {}).unwrap();
    let s = split.iter().find(|s| s.statistic == "prime.net").unwrap();
    let parameters = A * A * VAR_U + B * B * VAR_U;
    assert_within(
        "parameters",
        s.parameters.value,
        s.parameters.se,
        parameters,
        4.5,
    );
    assert_within(
        "participants",
        s.participants.value,
        s.participants.se,
        NOISE,
        4.5,
    );
    assert_within(
        "total",
        s.variance.value,
        s.variance.se,
        parameters + NOISE,
        4.5,
    );
    // The parts sum to the total variance within Monte Carlo error.
    assert_within(
        "sum of parts",
        s.parameters.value + s.participants.value,
        s.variance.se,
        s.variance.value,
        4.5,
    );
    // And a provider's failure indicator is split too.
    assert!(split.iter().any(|s| s.statistic == "prime.failed"));
}

#[test]
fn solve_finds_the_break_even_tariff_and_a_rerun_meets_the_target() {
    // E[net] = 1200 F E[volume] - B E[cost] = 0 at F = 100.
    let text = ADDITIVE.to_string();
    let build = |x: f64| -> Result<pbrsim::model::Model, pbrsim::Error> {
        Ok(model(
            &text,
            &[&format!("segments.people.tariff.attachment={x}")],
        ))
    };
    let stat = net();
    let problem = Problem {
        build: &build,
        statistic: &stat,
        target: 0.0,
        range: (0.0, 300.0),
        integer: false,
    };
    let Solution::Found {
        value,
        interval,
        achieved,
        evaluations,
    } = solve(&problem, &[], &config(3000, 0), &|_| {}).unwrap()
    else {
        panic!("reachable")
    };
    // On common random numbers the mean net is exactly linear in the
    // tariff, so its root follows from the two ends; the solver's value is
    // the middle of a final bracket of 2^-14 of the range around it, found
    // in no more evaluations than ITP's bound (bisection's 14 per search,
    // plus one).
    let at = |x: f64| {
        problem
            .evaluate(x, &config(3000, 0), &|_| {})
            .unwrap()
            .value
    };
    let (s0, s1) = (at(0.0), at(300.0));
    let root = -s0 * 300.0 / (s1 - s0);
    assert!(
        (value - root).abs() <= 300.0 / math::powi(2.0, 14),
        "{value} vs the exact root {root}"
    );
    assert!(evaluations <= 2 + 3 * 15, "{evaluations}");
    assert!(
        interval.0 < value && value < interval.1,
        "{interval:?} {value}"
    );
    assert!(
        achieved.value.abs() <= achieved.half_width(),
        "{achieved:?}"
    );
    // The interval is a 95% interval: the true root lies within it, widened to 4.5 sigma.
    let sigma = (interval.1 - interval.0) / (2.0 * 1.96);
    assert!(
        (value - 100.0).abs() <= 4.5 * sigma,
        "{value} vs 100 (sigma {sigma})"
    );
    // Re-run at the value with other random numbers: the target is met
    // within the rerun's own error.
    let rerun = problem
        .evaluate(
            value,
            &RunConfig {
                seed: 99,
                ..config(3000, 0)
            },
            &|_| {},
        )
        .unwrap();
    assert_within("rerun", rerun.value, rerun.se, 0.0, 4.5);
    // A target out of reach is reported as such, with both ends.
    let far = Problem {
        target: 1e9,
        ..problem
    };
    match solve(&far, &[], &config(500, 0), &|_| {}).unwrap() {
        Solution::Unreachable { at_low, at_high } => {
            assert!(at_low.value < 1e9 && at_high.value < 1e9)
        }
        other => panic!("{other:?}"),
    }
}

/// No revenue; 12 months of overhead `10,000 x cost` against reserves of
/// 150,000: the prime fails when `cost > 1.25`.
const COST_ONLY: &str = r#"
name = "cost only"
[time]
horizon_months = 24
referral_months = 12
[uncertainty]
cost = { dist = "uniform", min = 0.8, max = 1.2 }
volume = { dist = "uniform", min = 0.5, max = 1.5 }
[segments.people]
referrals_per_month = 100
referral_process = "fixed"
[segments.people.sustained]
baseline_hazard = 0.0
window_months = 1
qualifying_months = 1
[segments.people.allocation]
prime = 1.0
[prime]
reserves = 150000
cost_per_referral = 0.0
cost_per_participant_month = 0.0
overhead_per_month = 10000.0
"#;

#[test]
fn reverse_stress_finds_the_analytic_boundary_and_describes_it() {
    use pbrsim::stress::reverse::{Direction, reverse_stress};
    // Costs times k: P(fail) = P(cost > 1.25 / k) = (1.2 - 1.25 / k) / 0.4,
    // which is 1/2 at k = 1.25: size 0.25 along cost*2.
    let src = pbrsim::scenario::Source {
        origin: "cost_only.toml".into(),
        text: COST_ONLY.into(),
    };
    let dir: Direction = "uncertainty.cost*2".parse().unwrap();
    let results =
        reverse_stress(&src, &[], "prime", 0.5, &[dir], &config(2000, 0), &|_| {}).unwrap();
    let r = &results[0];
    let Solution::Found {
        value, interval, ..
    } = r.solution
    else {
        panic!("{:?}", r.solution)
    };
    let sigma = (interval.1 - interval.0) / (2.0 * 1.96);
    assert!(
        sigma > 0.0 && (value - 0.25).abs() <= 4.5 * sigma,
        "{value} vs 0.25 (sigma {sigma})"
    );
    assert_eq!(
        r.baseline.value, 0.0,
        "no world fails unshocked: cost <= 1.2 < 1.25"
    );
    // The failing worlds are exactly those with a high cost draw.
    let top = &r.rules[0];
    assert_eq!(top.conditions.len(), 1, "{top:?}");
    assert_eq!(top.conditions[0].input, "uncertainty.cost");
    assert!(!top.conditions[0].at_most);
    assert!(
        top.failure_rate > 0.95 && top.failures_covered > 0.95,
        "{top:?}"
    );
    // Volume does not matter, and the full volume shock is not enough.
    let vol: Direction = "uncertainty.volume*0.5".parse().unwrap();
    let r = reverse_stress(&src, &[], "prime", 0.5, &[vol], &config(300, 0), &|_| {}).unwrap();
    assert!(matches!(r[0].solution, Solution::Unreachable { .. }));
}

#[test]
fn analyses_are_deterministic_and_do_not_depend_on_threads() {
    let m = model(ADDITIVE, &[]);
    let stats = [
        net(),
        Statistic::Ratio("cost_per_attributable_outcome".into()),
    ];
    let once = |threads| {
        let c = config(700, threads);
        (
            format!(
                "{:?}",
                tornado(&m, &stats[..1], 0.1, 0.9, &c, &|_| {}).unwrap()
            ),
            format!("{:?}", sobol(&m, &stats[..1], &c, &|_| {}).unwrap()),
            format!("{:?}", variance_split(&m, &c, &|_| {}).unwrap()),
        )
    };
    assert_eq!(once(1), once(2));
    let dir = std::env::temp_dir().join(format!("pbrsim-stress-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("s.toml");
    std::fs::write(&file, format!("{ADDITIVE}\n[[stress]]\nname = \"short\"\nshocks = [{{ path = \"uncertainty.volume\", multiply = 0.7 }}]\n[[stress]]\nname = \"band\"\nbands = [{{ input = \"uncertainty.cost\", percentiles = [90, 100] }}]\n")).unwrap();
    let run = |threads: &str, out: &str| {
        let o = Command::new(env!("CARGO_BIN_EXE_pbrsim"))
            .args([
                "stress",
                file.to_str().unwrap(),
                "-n",
                "700",
                "-q",
                "-j",
                threads,
                "--out",
                dir.join(out).to_str().unwrap(),
            ])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        std::fs::read(dir.join(out).join("stress.csv")).unwrap()
    };
    assert_eq!(run("1", "a"), run("2", "b"));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_shock_moves_every_world_in_place_and_a_band_conditions_exactly() {
    use pbrsim::stress::arms::{Arm, run_arms};
    use pbrsim::stress::worlds::{Band, Input, Worlds};
    let base = model(ADDITIVE, &[]);
    let shocked = model(
        ADDITIVE,
        &[
            "uncertainty.volume.scale=0.7",
            "uncertainty.volume.shift=0.01",
        ],
    );
    let cat = pbrsim::figures::Catalog::new(&base);
    let vol = cat
        .figures
        .iter()
        .position(|f| f.key() == "draw.volume")
        .unwrap();
    let cost = cat
        .figures
        .iter()
        .position(|f| f.key() == "draw.cost")
        .unwrap();
    let band = Worlds {
        bands: vec![Band {
            input: Input::Parameter(1),
            lo: 0.9,
            hi: 1.0,
        }],
        ..Default::default()
    };
    let arms = [
        Arm {
            model: &base,
            worlds: Worlds::default(),
        },
        Arm {
            model: &shocked,
            worlds: Worlds::default(),
        },
        Arm {
            model: &base,
            worlds: band,
        },
    ];
    // Sums of: |shocked - (0.7 base + 0.01)|, banded costs outside the
    // band, banded cost, |banded volume - volume|.
    let observe = |rows: &[Vec<f64>], s: &mut [f64]| {
        s[0] += (rows[1][vol] - (0.7 * rows[0][vol] + 0.01)).abs();
        s[1] += f64::from(u8::from(!(1.16 - 1e-12..=1.2).contains(&rows[2][cost])));
        s[2] += rows[2][cost];
        s[3] += (rows[2][vol] - rows[0][vol]).abs();
    };
    let sums = run_arms(&arms, &config(2000, 0), 4, observe, &|_| {}).unwrap();
    let (t, n) = sums.total();
    assert!(
        t[0] < 1e-9,
        "the shocked draw is the baseline draw, scaled: {}",
        t[0]
    );
    assert!(
        t[3] == 0.0,
        "banding cost leaves the independent volume draw alone"
    );
    // Banded cost is uniform on its top tenth, [1.16, 1.2]: mean 1.18.
    let banded = sums.estimate(|s, n| s[2] / n);
    assert_eq!(t[1], 0.0, "every banded draw is in the band");
    assert_within("banded mean", banded.value, banded.se, 1.18, 4.5);
    assert_eq!(n, 2000);
}

#[test]
fn bad_stresses_are_reported_at_their_line_before_anything_runs() {
    let dir = std::env::temp_dir().join(format!("pbrsim-bad-stress-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("c.toml"), ADDITIVE).unwrap();
    let cases: [(&str, &[&str]); 7] = [
        (
            "shocks = [{ path = \"segments.people.referals_per_month\", multiply = 0.5 }]",
            &[
                "s.toml:5:",
                "not in the scenario",
                "did you mean `referrals_per_month`",
            ],
        ),
        (
            "shocks = [{ path = \"uncertainty.volume\", shift = -2 }]",
            &["s.toml:5:", "must be non-negative", "uncertainty.volume"],
        ),
        (
            "shocks = [{ path = \"segments.people.allocation.prime\", shift = 0.5 }]",
            &["s.toml:5:", "allocation"],
        ),
        (
            "bands = [{ input = \"uncertainty.volum\", percentiles = [0, 10] }]",
            &["s.toml:5:", "did you mean `uncertainty.volume`"],
        ),
        (
            "bands = [{ input = \"uncertainty.volume\", percentiles = [10, 5] }]",
            &["s.toml:5:", "0 <= lo < hi <= 100"],
        ),
        (
            "combine = [\"nothing\"]",
            &["s.toml:5:", "no stress is named `nothing`"],
        ),
        (
            "shocks = [{ path = \"uncertainty.volume\", multiply = 0.5, shift = 1 }]",
            &["s.toml:5:", "exactly one of"],
        ),
    ];
    for (body, expected) in cases {
        let text = format!("scenario = \"c.toml\"\n\n[[stress]]\nname = \"x\"\n{body}\n");
        std::fs::write(dir.join("s.toml"), &text).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_pbrsim"))
            .args([
                "stress",
                dir.join("s.toml").to_str().unwrap(),
                "-n",
                "64",
                "-q",
                "--out",
                dir.join("out").to_str().unwrap(),
            ])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{body}: {err}");
        for e in expected {
            assert!(err.contains(e), "{body}: expected `{e}` in:\n{err}");
        }
        assert!(!dir.join("out").exists(), "nothing is written");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_pbrsim"))
        .args([
            "sensitivity",
            dir.join("c.toml").to_str().unwrap(),
            "--statistic",
            "prime.nett",
            "-n",
            "64",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("did you mean `prime.net`"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn banding_a_factor_tied_parameter_redraws_the_factor_from_its_conditional_law() {
    use pbrsim::stress::arms::{Arm, run_arms};
    use pbrsim::stress::worlds::{Band, Input, Worlds};
    // Volume's score is 0.8 f + 0.6 e; cost is tied to f with loading 1, so
    // its percentile reveals the factor: f = Phi^-1(cost).
    let text = ADDITIVE.replace(
        "volume = { dist = \"uniform\", min = 0.8, max = 1.2 }\ncost = { dist = \"uniform\", min = 0.8, max = 1.2 }",
        "factors = [\"economy\"]\nvolume = { dist = \"uniform\", min = 0.0, max = 1.0, factor = \"economy\", loading = 0.8 }\ncost = { dist = \"uniform\", min = 0.0, max = 1.0, factor = \"economy\", loading = 1.0 }",
    );
    let m = model(&text, &[]);
    let cat = pbrsim::figures::Catalog::new(&m);
    let cost = cat
        .figures
        .iter()
        .position(|f| f.key() == "draw.cost")
        .unwrap();
    let band = Worlds {
        bands: vec![Band {
            input: Input::Parameter(0),
            lo: 0.0,
            hi: 0.1,
        }],
        ..Default::default()
    };
    let observe = |rows: &[Vec<f64>], s: &mut [f64]| {
        let f = standard_normal_quantile(rows[0][cost]);
        s[0] += f;
        s[1] += f * f;
    };
    let sums = run_arms(
        &[Arm {
            model: &m,
            worlds: band,
        }],
        &config(20_000, 0),
        2,
        observe,
        &|_| {},
    )
    .unwrap();
    // The volume score z is a standard normal truncated to z <= c,
    // c = Phi^-1(0.1); f | z ~ N(0.8 z, 0.36).
    let c = standard_normal_quantile(0.1);
    let pdf = math::exp(-0.5 * c * c) / (2.0 * std::f64::consts::PI).sqrt();
    let (ez, ez2) = (-pdf / 0.1, 1.0 - c * pdf / 0.1);
    let mean = sums.estimate(|s, n| s[0] / n);
    let second = sums.estimate(|s, n| s[1] / n);
    assert_within("E[f | band]", mean.value, mean.se, 0.8 * ez, 4.5);
    assert_within(
        "E[f^2 | band]",
        second.value,
        second.se,
        0.64 * ez2 + 0.36,
        4.5,
    );
}

/// The standard normal quantile, from statrs (independent of the engine's).
fn standard_normal_quantile(u: f64) -> f64 {
    use statrs::distribution::{ContinuousCDF, Normal};
    Normal::standard().inverse_cdf(u)
}

/// A stress of a late year's macro multiplier takes the baseline's months
/// before that year: its `stress.csv` is the same bytes as that of the
/// same stress made unshareable (a changed scenario name, which the
/// driver cannot prove harmless), and the report gives the smaller work.
#[test]
fn a_late_shock_shares_the_baseline_months_and_changes_no_number() {
    let dir = std::env::temp_dir().join(format!("pbrsim-late-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let scenario = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/work_programme.toml");
    let run = |name: &str, extra: &str| {
        let file = dir.join(format!("{name}.toml"));
        std::fs::write(
            &file,
            format!(
                "scenario = {scenario:?}\n[[stress]]\nname = \"year_3\"\nshocks = [{{ path = \"uncertainty.macro_by_year[2]\", multiply = 0.7 }}{extra}]\n"
            ),
        )
        .unwrap();
        let out = dir.join(name);
        let o = Command::new(env!("CARGO_BIN_EXE_pbrsim"))
            .args(["stress", file.to_str().unwrap(), "-n", "150", "--out"])
            .arg(&out)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        (
            String::from_utf8(o.stdout).unwrap(),
            std::fs::read(out.join("stress.csv")).unwrap(),
        )
    };
    let (shared, csv) = run("shared", "");
    let (alone, csv_alone) = run("alone", ", { path = \"name\", set = \"other\" }");
    assert_eq!(csv, csv_alone);
    // 2 arms of 112 months; the stressed arm skips months 0-23.
    let runs = 2.0 - 24.0 / 112.0;
    assert!(
        shared.contains(&format!("2 arms: the work of {runs:.2} runs")),
        "{shared}"
    );
    assert!(!alone.contains("the work of"), "{alone}");
    std::fs::remove_dir_all(&dir).ok();
}
