//! Several public payers and a pooled budget: one body taking everything
//! is the commissioner, shares and wrong-pocket amounts are exact, budgets
//! and the pot behave as docs/model.md §11 says, bad input is refused.

use crate::common::{each_iteration, model};
use pbrsim::engine::Simulator;
use pbrsim::figures::Catalog;
use pbrsim::model::{COMMISSIONER, Model, PRIME, Pence};
use pbrsim::scenario::load_str;

fn shipped(file: &str) -> String {
    std::fs::read_to_string(format!("scenarios/{file}")).unwrap()
}

const PAYERS: &str = "tests/reference/payers.toml";

/// Every figure of every iteration of `model`, by key.
fn rows(m: &Model, seed: u64, n: u64) -> (Catalog, Vec<Vec<f64>>) {
    let catalog = Catalog::new(m);
    let mut rows = Vec::new();
    each_iteration(m, seed, n, |r| {
        let mut row = Vec::new();
        catalog.fill(m, r, &mut row);
        rows.push(row);
    });
    (catalog, rows)
}

fn at(catalog: &Catalog, row: &[f64], key: &str) -> f64 {
    let i = catalog
        .figures
        .iter()
        .position(|f| f.key() == key)
        .unwrap_or_else(|| panic!("no figure {key}"));
    row[i]
}

fn same(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

/// A payer with every rule and every saving pays and receives exactly what
/// the commissioner did without it, and every figure of the contract other
/// than the commissioner's own account is unchanged; with a payer that
/// takes nothing, the commissioner's body figures are the contract's.
#[test]
fn one_body_taking_everything_has_the_commissioners_figures() {
    for file in [
        "minimal.toml",
        "transforming_rehabilitation.toml",
        "essex_edge_of_care.toml",
    ] {
        let text = shipped(file);
        let plain = model(&text, &[]);
        let all = model(
            &format!("{text}\n[payers.all]\nshare = 1\nsavings_share = 1\n"),
            &[],
        );
        let none = model(&format!("{text}\n[payers.none]\nlabel = \"Nobody\"\n"), &[]);
        let (pc, prows) = rows(&plain, 5, 60);
        let (ac, arows) = rows(&all, 5, 60);
        let (nc, nrows) = rows(&none, 5, 60);
        let own_account = [
            "revenue",
            "cost",
            "net",
            "npv",
            "lowest_cash",
            "peak_funding_need",
            "loss",
        ];
        for ((p, a), n) in prows.iter().zip(&arows).zip(&nrows) {
            for (f, &x) in pc.figures.iter().zip(p) {
                let key = f.key();
                if key == "commissioner.net_value_npv" {
                    // The NPV of the same flows summed over two accounts.
                    let y = at(&ac, a, &key);
                    assert!((x - y).abs() <= 1e-9 * x.abs().max(1.0), "{file} {key}");
                    continue;
                }
                if !(f.party == "commissioner" && own_account.contains(&f.name.as_str())) {
                    assert!(
                        same(x, at(&ac, a, &key)),
                        "{file} {key}: {x} vs {}",
                        at(&ac, a, &key)
                    );
                }
                assert!(
                    same(x, at(&nc, n, &key)),
                    "{file} {key} with a payer taking nothing"
                );
            }
            let c = |k: &str| at(&pc, p, &format!("commissioner.{k}"));
            let b = |k: &str| at(&ac, a, &format!("payer.all.{k}"));
            assert!(same(b("paid"), c("paid.total")), "{file}");
            assert!(same(b("savings"), c("savings")), "{file}");
            // The same sums in pence, each divided by 100.
            let net = b("net_value") - c("own_costs");
            assert!(
                (net - c("net_value")).abs() <= 1e-9 * net.abs().max(1.0),
                "{file}"
            );
            // Undefined (NaN) where the bodies paid nothing in total.
            let nothing_paid = c("paid.total") == 0.0 && b("wrong_pocket").is_nan();
            assert!(
                same(b("wrong_pocket"), 0.0) || nothing_paid,
                "{file}: {} {}",
                b("wrong_pocket"),
                at(&ac, a, "payer.commissioner.paid")
            );
            assert!(same(b("over_budget"), 0.0));
            assert!(same(
                b("loss"),
                if c("net_value") + c("own_costs") < 0.0 {
                    1.0
                } else {
                    0.0
                }
            ));
            assert!(same(at(&ac, a, "payer.commissioner.paid"), 0.0));
            assert!(same(at(&ac, a, "payer.commissioner.savings"), 0.0));
            assert!(same(
                at(&ac, a, "all.cost") + at(&ac, a, "commissioner.cost"),
                c("cost")
            ));
            // With nobody else paying, the commissioner as a body is the contract.
            let nb = |k: &str| at(&nc, n, &format!("payer.commissioner.{k}"));
            assert!(same(nb("paid"), c("paid.total")), "{file}");
            assert!(same(nb("savings"), c("savings")));
            assert!(same(nb("net_value"), c("net_value")));
            assert!(same(nb("npv"), c("net_value_npv")));
            assert!(same(nb("wrong_pocket"), 0.0) || nothing_paid);
        }
    }
}

/// Wrong pocket, net value and loss from hand-set payments and savings:
/// bodies that paid 600, 300 and 100 and received 200, 500 and 300 of
/// 1,000 of savings are 400 short, 200 and 200 beyond their shares.
#[test]
fn wrong_pocket_is_savings_beyond_the_share_of_payments() {
    let m = model(
        &format!(
            "{}\n[payers.a]\nshare = 0.3\n[payers.b]\nshare = 0.1\n",
            shipped("minimal.toml")
        ),
        &["commissioner.own_costs_per_month=0"],
    );
    let catalog = Catalog::new(&m);
    let mut simulator = Simulator::new(&m);
    let mut r = simulator.iteration(1, 0).clone();
    let pounds = |x: i64| x * 100;
    for (account, paid) in [
        (COMMISSIONER, 600),
        (m.payer_account(0), 300),
        (m.payer_account(1), 100),
    ] {
        r.parties[account].cost = pounds(paid + 50);
        r.parties[account].revenue = pounds(50);
    }
    r.commissioner.own_costs = 0;
    r.commissioner.savings = 100_000.0;
    r.payers.savings = vec![20_000.0, 50_000.0, 30_000.0];
    let mut row = Vec::new();
    catalog.fill(&m, &r, &mut row);
    let get = |k: &str| at(&catalog, &row, k);
    for (id, paid, net, wrong, loss) in [
        ("commissioner", 600.0, -400.0, -400.0, 1.0),
        ("a", 300.0, 200.0, 200.0, 0.0),
        ("b", 100.0, 200.0, 200.0, 0.0),
    ] {
        assert_eq!(get(&format!("payer.{id}.paid")), paid);
        assert_eq!(get(&format!("payer.{id}.net_value")), net);
        assert_eq!(get(&format!("payer.{id}.wrong_pocket")), wrong);
        assert_eq!(get(&format!("payer.{id}.loss")), loss);
    }
}

/// In the reference scenario: each payer's direct payments and savings
/// are its shares, budgets bind, the pot balances, wrong-pocket amounts
/// add up to zero, in every iteration.
#[test]
fn shares_budgets_and_the_pot_hold_in_every_iteration() {
    let text = std::fs::read_to_string(PAYERS).unwrap();
    let m = model(&text, &[]);
    let (catalog, all_rows) = rows(&m, 9, 300);
    let h = m.horizon;
    let mut bound = [0, 0];
    let mut overruns = 0;
    let mut simulator = Simulator::new(&m);
    for (i, row) in all_rows.iter().enumerate() {
        let r = simulator.iteration(9, i as u64);
        let get = |k: &str| at(&catalog, row, k);
        let c = &r.commissioner;
        // The department pays half of the outcome payments, within £130,000 a year.
        let department = m.payer_account(0);
        let outcome_half = get("commissioner.paid.outcome") / 2.0;
        let over = get("payer.department.over_budget");
        assert!((get("payer.department.paid") + over - outcome_half).abs() <= 0.01 * 72.0);
        for y in 0..m.years() {
            let year: Pence = (y * 12..((y + 1) * 12).min(h))
                .map(|t| r.monthly[department * h + t])
                .sum();
            assert!(-year <= 130_000 * 100, "year {y}");
        }
        bound[0] += usize::from(over > 0.0);
        // The council's direct payments stop at its cap.
        bound[1] += usize::from(get("payer.council.over_budget") > 0.0);
        // Savings: a uniform share is that share of the total.
        assert_eq!(get("payer.department.savings"), 0.2 * c.savings / 100.0);
        let bodies = ["commissioner", "department", "council", "health"];
        let total: f64 = bodies
            .iter()
            .map(|b| get(&format!("payer.{b}.savings")))
            .sum();
        assert!((total - c.savings / 100.0).abs() <= 1e-6 * (1.0 + c.savings.abs()));
        let wrong: f64 = bodies
            .iter()
            .map(|b| get(&format!("payer.{b}.wrong_pocket")))
            .sum();
        assert!(wrong.abs() <= 1e-6 * (1.0 + c.savings.abs()), "{wrong}");
        // What the bodies paid is what the prime was paid (the pot returns the rest).
        let paid: f64 = bodies.iter().map(|b| get(&format!("payer.{b}.paid"))).sum();
        assert!((paid - get("commissioner.paid.total")).abs() < 1e-6);
        let pool = &r.payers.pool;
        assert_eq!(pool.contributed, pool.paid_out + pool.returned + pool.kept);
        assert_eq!(r.parties[m.pool_account()].net(), 0);
        // Health pays only into the pot: half of what went in, and half of any overrun.
        let health = &r.parties[m.payer_account(2)];
        let most = pool.contributed / 2 + pool.overrun / 2;
        assert!(health.cost <= most && health.cost >= most - h as Pence);
        assert_eq!(health.revenue, pool.returned / 2);
        overruns += usize::from(pool.overrun > 0);
        assert_eq!(r.parties[PRIME].revenue, c.paid.total());
    }
    assert!(
        bound[0] > 0 && bound[1] > 0,
        "budgets should bind: {bound:?}"
    );
    assert!(overruns > 0, "the pot should run dry in some worlds");
}

#[test]
fn bad_payers_are_refused_with_located_errors() {
    let base = shipped("minimal.toml");
    for (extra, expected) in [
        (
            "[co_funder]\nshare = 0.2\n[payers.a]\nshare = 0.1\n",
            "cannot be combined",
        ),
        (
            "[payers.a]\nrules = { outcome = 0.6 }\n[payers.b]\nrules = { outcome = 0.5 }\n",
            "shares of `outcome` add up to 1.1",
        ),
        ("[payers.a]\nrules = { outcom = 0.5 }\n", "did you mean"),
        (
            "[payers.a]\nsavings = { jobseeker = 0.5 }\n",
            "is not a segment",
        ),
        (
            "[payers.a]\nsavings_share = 0.7\n[payers.b]\nsavings = { jobseekers = 0.4 }\n",
            "savings of segment `jobseekers` add up",
        ),
        ("[payers.a]\npool_share = 0.5\n", "no [pooled_budget]"),
        (
            "[pooled_budget]\nrules = [\"outcome\"]\n[payers.a]\nrules = { outcome = 0.5 }\n",
            "paid from the pooled budget",
        ),
        ("[pooled_budget]\non_end = \"spend\"\n", "return"),
        ("[payers.prime]\nshare = 0.1\n", "already the id of a party"),
        ("[payers.a]\nshare = 1.5\n", "payers.a.share"),
        (
            "[payers.a]\nbudget_per_year = -1\n",
            "payers.a.budget_per_year",
        ),
    ] {
        let text = format!("{base}\n{extra}");
        let err = match load_str(&text, "bad.toml", &[]) {
            Ok(_) => panic!("should be refused: {extra}"),
            Err(e) => e.to_string(),
        };
        assert!(err.contains(expected), "{extra}: {err}");
    }
}

/// The commissioner's side of the instruments is shared like a rule: the
/// department pays half of the corridor's settlements (and gets half of
/// its paybacks back) with 40% of outcome payments, the council 70% of the
/// floor top-ups with a quarter of attachment fees, the pot the volume
/// guarantee; in every iteration the bodies together pay what the prime
/// received from the public side.
#[test]
fn instrument_settlements_are_shared_by_the_bodies_rules() {
    let text = std::fs::read_to_string("tests/reference/payers_instruments.toml").unwrap();
    // The department out of the pot, so that all it pays is its rules.
    let m = model(
        &text,
        &[
            "payers.department.pool_share=0",
            "payers.health.pool_share=0.9",
        ],
    );
    let (catalog, all_rows) = rows(&m, 4, 300);
    let (mut paybacks, mut floors, mut guarantees) = (0, 0, 0);
    let months = m.horizon as f64;
    for row in &all_rows {
        let get = |k: &str| at(&catalog, row, k);
        let corridor = get("commissioner.paid.corridor");
        let floor = get("commissioner.paid.floor");
        paybacks += usize::from(corridor < 0.0);
        floors += usize::from(floor > 0.0);
        guarantees += usize::from(get("commissioner.paid.volume_guarantee") > 0.0);
        // Each body's part is rounded down to the penny, once a month per
        // rule and once per settlement.
        let rounding = 0.01 * (2.0 * months + 12.0);
        let department = get("payer.department.paid") + get("payer.department.over_budget");
        let owed = 0.4 * get("commissioner.paid.outcome") + 0.5 * corridor;
        assert!(
            (department - owed).abs() <= rounding,
            "{department} vs {owed}"
        );
        let council = get("payer.council.paid") + get("payer.council.over_budget");
        let owed = 0.25 * get("commissioner.paid.attachment") + 0.7 * floor;
        assert!((council - owed).abs() <= rounding, "{council} vs {owed}");
        let bodies = ["commissioner", "department", "council", "health"];
        let paid: f64 = bodies.iter().map(|b| get(&format!("payer.{b}.paid"))).sum();
        assert!((paid - get("commissioner.paid.total")).abs() < 1e-6);
    }
    assert!(
        paybacks > 0 && floors > 0 && guarantees > 0,
        "every instrument should settle in some worlds: {paybacks} {floors} {guarantees}"
    );
}
