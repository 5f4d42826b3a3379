//! Risk corridors and payment floors: settlements against hand-computed
//! pence, in both directions, with caps, failures, an early end, a
//! subcontractor and an investor; and money conserved with all of them.

use crate::common::{SUPPLY_CHAIN, each_iteration, model};
use pbrsim::model::{CO_FUNDER, COMMISSIONER, PRIME, Pence};

/// 100 referrals a month for 12 months, each paid a £10 attachment fee in
/// its month and costing the prime £60: £1,000 paid and £6,000 spent a
/// month in year 1, nothing in year 2. Nobody enters outcome.
const BASE: &str = r#"
name = "corridor arithmetic"
counts = "expected"
[time]
horizon_months = 24
referral_months = 12
[segments.a]
referrals_per_month = 100
[segments.a.sustained]
baseline_hazard = 0.0
window_months = 6
[segments.a.tariff]
attachment = 10
[segments.a.allocation]
prime = 1.0
[prime]
reserves = 1000000
cost_per_referral = 60
"#;

/// The Medicare Part D corridors: the plan bears everything within 5% of
/// the target, the payer half from 5% to 10% and 80% beyond.
const PART_D: &str = "bands = [0.05, 0.10]\nshare = [0.0, 0.5, 0.8]\n";

fn corridor(between: &str, measure: &str, target: u32, settle: &str, bands: &str) -> String {
    format!(
        "\n[[corridors]]\nbetween = {between}\nmeasure = \"{measure}\"\ntarget = {target}\nsettle = \"{settle}\"\n{bands}"
    )
}

const COMMISSIONER_PRIME: &str = r#"["commissioner", "prime"]"#;

fn flow(r: &pbrsim::engine::world::IterationResult, h: usize, account: usize, t: usize) -> Pence {
    r.monthly[account * h + t]
}

/// Year 1 costs £72,000 against a £60,000 target, 20% over: nothing on the
/// first £3,000, half of the next £3,000 (£1,500) and 80% of the last
/// £6,000 (£4,800), £6,300 paid to the prime in month 11. Year 2 costs
/// nothing, 100% under: nothing on the first £3,000, half of the next
/// £3,000 (£1,500) and 80% of the other £54,000 (£43,200), £44,700 paid
/// back in month 23.
#[test]
fn part_d_corridors_crossed_in_both_directions() {
    let text = format!(
        "{BASE}{}",
        corridor(COMMISSIONER_PRIME, "cost", 60000, "yearly", PART_D)
    );
    let m = model(&text, &[]);
    let h = m.horizon;
    each_iteration(&m, 1, 2, |r| {
        assert_eq!(r.corridors, vec![(6_300 - 44_700) * 100]);
        assert_eq!(r.commissioner.paid.corridor, -38_400 * 100);
        assert_eq!(flow(r, h, COMMISSIONER, 11), -(1_000 + 6_300) * 100);
        assert_eq!(flow(r, h, PRIME, 11), (1_000 - 6_000 + 6_300) * 100);
        assert_eq!(flow(r, h, COMMISSIONER, 23), 44_700 * 100);
        assert_eq!(flow(r, h, PRIME, 23), -44_700 * 100);
        // The payback is a refund: the commissioner's payments net of it.
        assert_eq!(r.parties[COMMISSIONER].revenue, 0);
        assert_eq!(
            r.parties[COMMISSIONER].cost,
            (12_000 + 6_300 - 44_700) * 100
        );
        assert_eq!(r.commissioner.paid.total(), (12_000 - 38_400) * 100);
        assert_eq!(r.parties[PRIME].net(), (12_000 - 72_000 - 38_400) * 100);
    });
}

/// A short last year is settled in the horizon's last month against a
/// pro-rata target: with an 18-month horizon, year 2 is 6 months against
/// £30,000, and costs nothing: nothing on £1,500, half of £1,500 (£750)
/// and 80% of £27,000 (£21,600), £22,350 paid back in month 17.
#[test]
fn a_short_last_year_has_a_pro_rata_target() {
    let text = format!(
        "{}{}",
        BASE.replace("horizon_months = 24", "horizon_months = 18"),
        corridor(COMMISSIONER_PRIME, "cost", 60000, "yearly", PART_D)
    );
    let m = model(&text, &[]);
    let h = m.horizon;
    each_iteration(&m, 1, 1, |r| {
        assert_eq!(flow(r, h, COMMISSIONER, 11), -(1_000 + 6_300) * 100);
        assert_eq!(flow(r, h, COMMISSIONER, 17), 22_350 * 100);
        assert_eq!(r.corridors, vec![(6_300 - 22_350) * 100]);
    });
}

/// Asymmetric: a loss beyond 1% of a £70,000 target is paid in full, a
/// gain beyond 2% is shared a quarter. Year 1: £2,000 over, £700 borne by
/// the prime, £1,300 paid to it. Year 2: £70,000 under, £1,400 kept, a
/// quarter of £68,600 (£17,150) paid back.
#[test]
fn asymmetric_bands_share_gains_and_losses_differently() {
    let bands =
        "bands = [0.01]\nshare = [0.0, 1.0]\ngain_bands = [0.02]\ngain_share = [0.0, 0.25]\n";
    let text = format!(
        "{BASE}{}",
        corridor(COMMISSIONER_PRIME, "cost", 70000, "yearly", bands)
    );
    let m = model(&text, &[]);
    let h = m.horizon;
    each_iteration(&m, 1, 1, |r| {
        assert_eq!(flow(r, h, COMMISSIONER, 11), -(1_000 + 1_300) * 100);
        assert_eq!(flow(r, h, COMMISSIONER, 23), 17_150 * 100);
        assert_eq!(r.commissioner.paid.corridor, (1_300 - 17_150) * 100);
    });
}

/// A margin corridor settled once: the prime's margin over the horizon is
/// £12,000 - £72,000 = -£60,000, £70,000 (700%) below a £10,000 target:
/// nothing on £500, half of £500 and 80% of £69,000, £55,450. An investor
/// funding the prime's shortfall does not change the margin.
#[test]
fn a_margin_corridor_settled_at_the_end_leaves_investors_money_out() {
    let text = format!(
        "{BASE}{}",
        corridor(COMMISSIONER_PRIME, "margin", 10000, "end", PART_D)
    );
    let investor = "\n[investors.fund]\nfunds = \"prime\"\ncommitted_capital = 100000\nreturn_cap_multiple = 1.5\n";
    for (text, sets) in [
        (text.clone(), vec![]),
        (format!("{text}{investor}"), vec!["prime.reserves=0"]),
    ] {
        let m = model(&text, &sets);
        let h = m.horizon;
        each_iteration(&m, 1, 1, |r| {
            assert_eq!(r.corridors, vec![55_450 * 100]);
            assert_eq!(flow(r, h, COMMISSIONER, 23), -55_450 * 100);
            assert!((0..23).all(|t| flow(r, h, COMMISSIONER, t) == -1_000 * 100 || t >= 12));
        });
        if !sets.is_empty() {
            each_iteration(&m, 1, 1, |r| {
                assert_eq!(r.investors[0].0, 60_000 * 100);
                assert_eq!(r.parties[PRIME].failure_month, None);
            });
        }
    }
}

/// Results payments against a target: 100 referrals a month, each entering
/// outcome in its first month with probability 1 - e^-h; with a hazard
/// making every tenth participant enter, each paid £100.
#[test]
fn a_payments_corridor_pays_the_shortfall_of_results_payments() {
    // Everybody enters outcome in the first month (a hazard of 50 makes
    // the entry probability 1 to double precision) and is paid £100 in
    // that month: £10,000 a month in year 1, £120,000 against a £100,000
    // target, 20% over: £2,500 + 80% of £10,000 = £10,500 paid back.
    let text = format!(
        "{}{}",
        BASE.replace("baseline_hazard = 0.0", "baseline_hazard = 50.0")
            .replace("attachment = 10", "outcome = 100"),
        corridor(COMMISSIONER_PRIME, "payments", 100000, "yearly", PART_D)
    );
    let m = model(&text, &[]);
    let h = m.horizon;
    each_iteration(&m, 1, 1, |r| {
        assert_eq!(r.commissioner.paid.outcome, 120_000 * 100);
        assert_eq!(flow(r, h, COMMISSIONER, 11), -(10_000 - 10_500) * 100);
        // Year 2: no payments, £100,000 short: 0 + £2,500 + 80% of £90,000.
        assert_eq!(flow(r, h, COMMISSIONER, 23), -(2_500 + 72_000) * 100);
        assert_eq!(r.corridors, vec![(74_500 - 10_500) * 100]);
    });
}

/// Between the prime and a subcontractor, money moves between those two
/// only: the subcontractor delivers, at £60 a referral, for a £70 fee.
#[test]
fn a_subcontractor_corridor_moves_money_between_prime_and_subcontractor_only() {
    let text = format!(
        "{}\n[subcontractors.sub]\nreserves = 1000000\ncost_per_referral = 60\nfee_per_referral = 70\n{}",
        BASE.replace("prime = 1.0", "prime = 0.0\nsub = 1.0"),
        corridor(r#"["prime", "sub"]"#, "cost", 60000, "yearly", PART_D)
    );
    let m = model(&text, &[]);
    let h = m.horizon;
    let sub = PRIME + 1;
    each_iteration(&m, 1, 1, |r| {
        assert_eq!(r.corridors, vec![(6_300 - 44_700) * 100]);
        assert_eq!(r.commissioner.paid.corridor, 0);
        assert_eq!(r.commissioner.paid.total(), 12_000 * 100);
        assert_eq!(flow(r, h, sub, 11), (7_000 - 6_000 + 6_300) * 100);
        assert_eq!(flow(r, h, PRIME, 11), (1_000 - 7_000 - 6_300) * 100);
        assert_eq!(flow(r, h, sub, 23), -44_700 * 100);
        assert_eq!(flow(r, h, PRIME, 23), 44_700 * 100);
        assert_eq!(r.parties[sub].net(), (84_000 - 72_000 - 38_400) * 100);
        assert_eq!(r.parties[PRIME].net(), (12_000 - 84_000 + 38_400) * 100);
    });
}

/// No settlement once the provider has failed or the contract has ended:
/// a period cut short is not settled.
#[test]
fn no_settlement_after_a_failure_or_an_early_end() {
    let with = |extra: &str| {
        format!(
            "{BASE}{extra}{}",
            corridor(COMMISSIONER_PRIME, "cost", 60000, "yearly", PART_D)
        )
    };
    // The prime's cash after month t is £20,000 - £5,000 (t + 1): below
    // zero first in month 4, which ends the contract.
    let m = model(&with(""), &["prime.reserves=20000"]);
    each_iteration(&m, 1, 1, |r| {
        assert_eq!(r.parties[PRIME].failure_month, Some(4));
        assert_eq!(r.corridors, vec![0]);
    });
    // A break at month 5.
    let m = model(&with("\n[termination]\nbreak_month = 5\n"), &[]);
    each_iteration(&m, 1, 1, |r| {
        assert_eq!(r.termination_month, Some(5));
        assert_eq!(r.corridors, vec![0]);
    });
    // A subcontractor paid £10 a referral loses £5,000 a month and fails
    // in month 4; its participants go to the prime; its corridor settles
    // nothing, though the prime carries on.
    let text = format!(
        "{}\n[subcontractors.sub]\nreserves = 20000\ncost_per_referral = 60\nfee_per_referral = 10\non_failure = \"transfer\"\n{}",
        BASE.replace("prime = 1.0", "prime = 0.0\nsub = 1.0"),
        corridor(r#"["prime", "sub"]"#, "cost", 60000, "yearly", PART_D)
    );
    let m = model(&text, &[]);
    each_iteration(&m, 1, 1, |r| {
        assert_eq!(r.parties[PRIME + 1].failure_month, Some(4));
        assert_eq!(r.parties[PRIME].failure_month, None);
        assert_eq!(r.corridors, vec![0]);
    });
}

/// A floor of £50 a referral on 1,200 referrals is £60,000: under a £5,000
/// whole-contract cap the attachment fees pay £5,000 and the floor tops up
/// £55,000 in the last month, outside the cap. A floor already met pays
/// nothing; a contract ended early pays no top-up.
#[test]
fn a_floor_tops_up_what_the_caps_left_unpaid() {
    let text = BASE.replace(
        "referrals_per_month = 100\n",
        "referrals_per_month = 100\nfloor_per_referral = 50\n",
    );
    let m = model(&text, &["payments.cap_total=5000"]);
    let h = m.horizon;
    each_iteration(&m, 1, 1, |r| {
        let c = &r.commissioner;
        assert_eq!(c.paid.attachment, 5_000 * 100);
        assert_eq!(c.removed_by_contract_cap, 7_000 * 100);
        assert_eq!(c.paid.floor, 55_000 * 100);
        assert_eq!(r.segments[0].paid.floor, 55_000 * 100);
        assert_eq!(r.segments[0].paid.total(), 60_000 * 100);
        assert_eq!(flow(r, h, COMMISSIONER, 23), -55_000 * 100);
        assert_eq!(flow(r, h, PRIME, 23), 55_000 * 100);
    });
    let m = model(&text, &["segments.a.floor_per_referral=5"]);
    each_iteration(&m, 1, 1, |r| assert_eq!(r.commissioner.paid.floor, 0));
    let m = model(&format!("{text}\n[termination]\nbreak_month = 12\n"), &[]);
    each_iteration(&m, 1, 1, |r| assert_eq!(r.commissioner.paid.floor, 0));
}

/// Every instrument at once, with caps, a co-funder, pass-through,
/// failures and an investor: money is conserved in every iteration, the
/// caps hold for the tariff, and the settlements are where they should be.
#[test]
fn money_is_conserved_with_every_instrument_combined() {
    let investor = "\n[investors.fund]\nfunds = \"big\"\ncommitted_capital = 200000\nreturn_cap_annual_rate = 0.08\nexcess_share = 0.25\n";
    let text = format!(
        "{}{investor}{}{}{}",
        SUPPLY_CHAIN
            .replace(
                "referrals_per_month = 150\n",
                "referrals_per_month = 150\nfloor_per_referral = 900\n"
            )
            .replace(
                "referrals_per_month = 40\n",
                "referrals_per_month = 40\nfloor_per_referral = 1500\n"
            ),
        corridor(COMMISSIONER_PRIME, "margin", 300000, "yearly", PART_D),
        corridor(
            r#"["prime", "big"]"#,
            "cost",
            400000,
            "end",
            "bands = [0.1]\nshare = [0.2, 0.6]\ngain_bands = [0.05, 0.2]\ngain_share = [0.0, 0.3, 0.5]\n"
        ),
        corridor(
            r#"["prime", "small"]"#,
            "payments",
            100000,
            "yearly",
            PART_D
        ),
    );
    // The small subcontractor has reserves enough to reach its year ends.
    let m = model(&text, &["subcontractors.small.reserves=3000000"]);
    let h = m.horizon;
    let (mut failures, mut settled, mut floors, mut capped) = (0, [0; 3], 0, 0);
    each_iteration(&m, 21, 400, |r| {
        let c = &r.commissioner;
        let nets: Pence = r.parties.iter().map(|p| p.net()).sum();
        assert_eq!(nets + r.external, 0);
        for (a, p) in r.parties.iter().enumerate() {
            assert_eq!(r.monthly[a * h..(a + 1) * h].iter().sum::<Pence>(), p.net());
        }
        assert_eq!(
            r.parties[COMMISSIONER].cost + r.parties[CO_FUNDER].cost,
            c.paid.total() + c.own_costs
        );
        assert_eq!(r.parties[PRIME].revenue, c.paid.total());
        assert_eq!(r.parties[COMMISSIONER].revenue, 0);
        assert_eq!(c.paid.corridor, r.corridors[0]);
        // Only the tariff counts against the caps.
        assert!(c.paid.total() - c.paid.corridor - c.paid.floor <= 5_500_000 * 100);
        let segments_floor: Pence = r.segments.iter().map(|s| s.paid.floor).sum();
        assert_eq!(segments_floor, c.paid.floor);
        for (s, floor) in r.segments.iter().zip([900, 1500]) {
            if s.paid.floor > 0 {
                assert_eq!(s.paid.total(), floor * 100 * s.referrals as Pence);
            }
        }
        // A corridor with a failed provider, or after the prime's failure,
        // settles nothing from then on; the end settlement needs the
        // contract to run to the horizon.
        if r.parties[PRIME].failure_month.is_some() || r.parties[PRIME + 1].failure_month.is_some()
        {
            assert_eq!(r.corridors[1], 0);
        }
        for (i, &(drawn, repaid)) in r.investors.iter().enumerate() {
            let p = &r.parties[m.investor_account(i)];
            assert_eq!((p.cost, p.revenue), (drawn, repaid));
        }
        failures += r
            .parties
            .iter()
            .filter(|p| p.failure_month.is_some())
            .count();
        for (n, &s) in settled.iter_mut().zip(&r.corridors) {
            *n += usize::from(s != 0);
        }
        floors += usize::from(c.paid.floor > 0);
        capped += usize::from(c.removed_by_contract_cap > 0);
    });
    assert!(failures > 0 && floors > 0 && capped > 0);
    assert!(settled.iter().all(|&n| n > 0), "{settled:?}");
}

/// Each mistake in a corridor or a floor is reported at its key.
#[test]
fn bad_corridors_and_floors_are_reported_at_their_keys() {
    let cases: [(&str, &str, &str); 9] = [
        (
            r#"["commissioner", "sub"]"#,
            "",
            "corridors[0].between[1]: the commissioner's corridor is with the prime",
        ),
        (
            r#"["prime", "subb"]"#,
            "",
            "corridors[0].between[1]: the prime's corridor is with one of its subcontractors",
        ),
        (
            r#"["funder", "prime"]"#,
            "",
            "corridors[0].between[0]: the payer must be",
        ),
        (
            r#"["prime"]"#,
            "",
            "corridors[0].between: must name two parties",
        ),
        (
            COMMISSIONER_PRIME,
            "gain_bands = [0.1]\n",
            "corridors[0].gain_share: is needed with gain_bands",
        ),
        (
            COMMISSIONER_PRIME,
            "gain_bands = [0.2, 0.1]\ngain_share = [0, 0, 0]\n",
            "corridors[0].gain_bands[1]: band edges are fractions of the target, positive, increasing",
        ),
        (
            COMMISSIONER_PRIME,
            "gain_bands = [0.1]\ngain_share = [0.5]\n",
            "corridors[0].gain_share: needs one share more than there are band edges (2",
        ),
        (
            COMMISSIONER_PRIME,
            "gain_bands = [0.1]\ngain_share = [0.5, 1.5]\n",
            "corridors[0].gain_share[1]: must be a probability or share in [0, 1], got 1.5",
        ),
        (
            COMMISSIONER_PRIME,
            "label = \"a b\"\n",
            "corridors[0].label: `a b` is not a usable label",
        ),
    ];
    let base = BASE.replace("prime = 1.0", "prime = 0.5\nsub = 0.5") + "\n[subcontractors.sub]\n";
    for (between, extra, expected) in cases {
        let text = format!(
            "{base}{}{extra}",
            corridor(between, "cost", 1000, "yearly", PART_D)
        );
        let err = pbrsim::scenario::load_str(&text, "test.toml", &[])
            .err()
            .unwrap_or_else(|| panic!("should be refused: {expected}"))
            .to_string();
        refused_at(&err, expected);
    }
    for (set, expected) in [
        (
            "corridors[0].target=0",
            "corridors[0].target: must be positive",
        ),
        (
            "corridors[0].measure=\"costs\"",
            "corridors[0].measure: unknown corridor measure \"costs\"",
        ),
        (
            "corridors[0].settle=\"monthly\"",
            "corridors[0].settle: must be \"yearly\" or \"end\"",
        ),
        (
            "segments.a.floor_per_referral=-1",
            "segments.a.floor_per_referral: must be a non-negative amount of money",
        ),
    ] {
        let text = format!(
            "{base}{}",
            corridor(COMMISSIONER_PRIME, "cost", 1000, "yearly", PART_D)
        );
        let overrides = [set.parse().unwrap()];
        let err = pbrsim::scenario::load_str(&text, "test.toml", &overrides)
            .err()
            .unwrap_or_else(|| panic!("should be refused: {expected}"))
            .to_string();
        refused_at(&err, expected);
    }
}

/// `expected` is `key: message`; the error names the key and says the
/// message.
fn refused_at(err: &str, expected: &str) {
    let (key, message) = expected.split_once(": ").expect("key: message");
    assert!(
        err.contains(message) && err.contains(&format!("key: {key}")),
        "{expected}\nnot in\n{err}"
    );
}
