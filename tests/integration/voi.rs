//! Value of information between designs: against a closed form through
//! the engine, exact cases, determinism, and the command's files and
//! errors.

use crate::common::{ONE_SEGMENT, model};
use pbrsim::engine::RunConfig;
use pbrsim::model::Model;
use pbrsim::stress::voi::{Design, Spec, voi};
use std::process::Command;

fn cfg(iterations: u64, threads: usize) -> RunConfig {
    RunConfig {
        iterations,
        seed: 7,
        threads,
        ..Default::default()
    }
}

fn two<'a>(a: (&str, &'a Model), b: (&str, &'a Model)) -> [Design<'a>; 2] {
    [a, b].map(|(name, model)| Design {
        name: name.into(),
        model,
    })
}

fn spec() -> Spec {
    Spec {
        objective: "commissioner.net_value".into(),
        maximise: true,
        export: vec!["commissioner.paid.total".into()],
        groups: vec![],
    }
}

/// Design A pays an attachment fee of 400 per referral; design B pays no
/// attachment but a service fee of 40,000 a month for 12 months. Referrals
/// are Poisson with mean 1,200 x volume, volume ~ N(1, 0.2^2) (truncated
/// at 0, five standard deviations away: no visible change), so
/// `E[NB_B - NB_A | volume] = 400 x 1,200 x volume - 480,000 =
/// 480,000 (volume - 1) ~ N(0, 96,000^2)`; everything else about the two
/// designs is the same world. Perfect information on volume is worth
/// `E[max(0, X)] = 96,000 / sqrt(2 pi)`; on cost (which the commissioner
/// does not pay) nothing.
fn fee_or_attachment() -> (Model, Model) {
    let base = format!(
        "{ONE_SEGMENT}\n[uncertainty]\nvolume = {{ dist = \"normal\", mean = 1.0, sd = 0.2, min = 0 }}\n\
         cost = {{ dist = \"pert\", min = 0.8, mode = 1.0, max = 1.5 }}\n"
    );
    let a = model(&base, &[]);
    let b = model(
        &base,
        &[
            "segments.jsa.tariff.attachment=0",
            "payments.service_fee_per_month=40000",
            "payments.service_fee_months=12",
        ],
    );
    (a, b)
}

#[test]
fn perfect_information_on_volume_matches_the_closed_form() {
    let (a, b) = fee_or_attachment();
    let designs = two(("attachment", &a), ("service_fee", &b));
    let v = voi(&designs, &spec(), &cfg(20_000, 0), &|_| {}).unwrap();
    let exact = 96_000.0 / (2.0 * std::f64::consts::PI).sqrt();
    let volume = v.groups.iter().find(|g| g.name == "volume").unwrap();
    let e = &volume.value;
    assert!(
        (e.value - exact).abs() <= 4.5 * e.se,
        "EVPPI(volume) {} vs {exact}: {:.2} se ({})",
        e.value,
        (e.value - exact).abs() / e.se,
        e.se
    );
    // Knowing every input is worth the same: volume is all that matters.
    assert!(
        (v.evpi.value.value - exact).abs() <= 4.5 * v.evpi.value.se,
        "{:?}",
        v.evpi.value
    );
    let cost = v.groups.iter().find(|g| g.name == "cost").unwrap();
    assert!(
        cost.value.value <= 4.5 * cost.value.se,
        "EVPPI(cost) {:?}",
        cost.value
    );
}

#[test]
fn a_design_valued_against_itself_makes_information_worthless() {
    let (a, _) = fee_or_attachment();
    let designs = two(("a", &a), ("same", &a));
    let v = voi(&designs, &spec(), &cfg(500, 2), &|_| {}).unwrap();
    // Identical designs tie in every world: nothing to gain, exactly; the
    // fit's error is zero up to the rounding of a singular covariance.
    for g in std::iter::once(&v.evpi).chain(&v.groups) {
        assert_eq!(g.value.value, 0.0, "{}", g.name);
        assert!(g.value.se < 1e-6, "{}: {}", g.name, g.value.se);
    }
    assert_eq!(v.designs[0].mean, v.designs[1].mean);
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let (a, b) = fee_or_attachment();
    let designs = two(("a", &a), ("b", &b));
    let one = voi(&designs, &spec(), &cfg(700, 1), &|_| {}).unwrap();
    let two = voi(&designs, &spec(), &cfg(700, 3), &|_| {}).unwrap();
    assert_eq!(one.table.values.len(), 700 * 2 * 2);
    assert!(
        one.table
            .values
            .iter()
            .zip(&two.table.values)
            .all(|(x, y)| x.to_bits() == y.to_bits())
    );
    assert_eq!(one.evpi.value, two.evpi.value);
    for (g, h) in one.groups.iter().zip(&two.groups) {
        assert_eq!(g.value, h.value);
    }
}

#[test]
fn designs_that_draw_their_inputs_differently_are_refused() {
    let (a, _) = fee_or_attachment();
    let other = model(
        &format!(
            "{ONE_SEGMENT}\n[uncertainty]\nvolume = {{ dist = \"normal\", mean = 1.1, sd = 0.2, min = 0 }}\n"
        ),
        &[],
    );
    let designs = two(("a", &a), ("b", &other));
    let err = voi(&designs, &spec(), &cfg(64, 1), &|_| {})
        .unwrap_err()
        .to_string();
    assert!(err.contains("draws `volume` differently"), "{err}");
}

#[test]
fn a_misspelled_objective_gets_a_suggestion() {
    let (a, b) = fee_or_attachment();
    let designs = two(("a", &a), ("b", &b));
    let bad = Spec {
        objective: "commissioner.net_valeu".into(),
        ..spec()
    };
    let err = voi(&designs, &bad, &cfg(64, 1), &|_| {})
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("no figure `commissioner.net_valeu`")
            && err.contains("commissioner.net_value"),
        "{err}"
    );
}

fn pbrsim(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_pbrsim"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn the_command_writes_tables_that_load_as_they_say() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("voi");
    let o = pbrsim(&[
        "voi",
        "scenarios/supply_chain.toml",
        "--variant",
        "dearer:payments.price_discount=0.1",
        "-n",
        "300",
        "-q",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let read = |f: &str| std::fs::read_to_string(out.join(f)).unwrap();
    let voi_csv = read("voi.csv");
    let mut lines = voi_csv.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("group,inputs,objective,evppi,se,")
    );
    assert!(lines.next().unwrap().starts_with("all,"));
    let designs = read("voi_designs.csv");
    assert_eq!(designs.lines().count(), 3);
    assert!(designs.contains("dearer,") && designs.contains("payments.price_discount=0.1"));
    let long = read("draws_long.csv");
    assert_eq!(long.lines().next(), Some("iteration,design,figure,value"));
    let figures: std::collections::BTreeSet<&str> = long
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(2).unwrap())
        .collect();
    // 300 worlds x 2 designs x each figure.
    assert_eq!(long.lines().count() - 1, 300 * 2 * figures.len());
    assert!(figures.contains("commissioner.net_value"));
    let inputs = read("inputs.csv");
    assert_eq!(inputs.lines().count(), 301);
    assert!(inputs.starts_with("iteration,volume,"));
}

#[test]
fn the_command_refuses_bad_designs_and_groups() {
    for (args, expect) in [
        (
            vec!["voi", "scenarios/supply_chain.toml"],
            "at least two designs",
        ),
        (
            vec!["voi", "scenarios/supply_chain.toml", "--variant", "x"],
            "expected NAME:PATH=VALUE",
        ),
        (
            vec![
                "voi",
                "a=scenarios/supply_chain.toml",
                "a=scenarios/supply_chain.toml",
            ],
            "two designs have this name",
        ),
        (
            vec![
                "voi",
                "scenarios/supply_chain.toml",
                "--variant",
                "b:payments.price_discount=0.1",
                "--group",
                "g=vollume",
                "-n",
                "64",
            ],
            "did you mean `volume`",
        ),
    ] {
        let o = pbrsim(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(expect), "{args:?}: {err}");
    }
}
