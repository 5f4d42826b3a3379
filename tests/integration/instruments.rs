//! Volume guarantees, working-capital advances and an alliance, against
//! settlements computed by hand.

use crate::common::{each_iteration, model};
use pbrsim::engine::world::IterationResult;
use pbrsim::model::{COMMISSIONER, PRIME, Pence};

/// 100 referrals a month for 18 months (a full contract year and a half
/// year), nobody reaching an outcome: the prime earns only the guarantee.
const PLAN: &str = r#"
name = "volume guarantee"
[time]
horizon_months = 24
referral_months = 18
[segments.s]
referrals_per_month = 100
referral_process = "fixed"
[segments.s.sustained]
baseline_hazard = 0.0
window_months = 1
[segments.s.allocation]
prime = 0.5
sub = 0.5
[prime]
reserves = 1000000
[subcontractors.sub]
reserves = 1000000
"#;

/// The one iteration of a scenario with every count fixed.
fn one(text: &str, sets: &[&str]) -> IterationResult {
    let m = model(text, sets);
    let mut out = None;
    each_iteration(&m, 1, 1, |r| out = Some(r.clone()));
    out.unwrap()
}

/// Pounds to pence.
fn p(pounds: i64) -> Pence {
    pounds * 100
}

const PER_MISSING: &str = "\n[[volume_guarantees]]\nlabel = \"referrals\"\nbetween = [\"commissioner\", \"prime\"]\nthreshold = 0.8\nper_missing_referral = 5\n";

/// The forecast is 1,200 referrals in year 1 and 600 in the six referral
/// months of year 2; 80% of them are guaranteed (960 and 480).
#[test]
fn a_guarantee_pays_per_referral_missing_below_the_threshold() {
    let text = format!("{PLAN}{PER_MISSING}");
    // (volume, paid in pounds)
    for (volume, paid) in [
        // 840 and 420: 120 and 60 missing, at £5.
        ("0.7", 600 + 300),
        // Exactly at the threshold (960 and 480): nothing.
        ("0.8", 0),
        // Below (each provider's 39 a month: 936 and 468): 24 and 12
        // missing.
        ("0.78", 120 + 60),
        // Far below (120 and 60): 840 and 420 missing.
        ("0.1", 4_200 + 2_100),
        // Above the threshold: nothing.
        ("1.2", 0),
    ] {
        let r = one(&text, &[&format!("uncertainty.volume={volume}")]);
        let c = &r.commissioner;
        assert_eq!(c.paid.volume_guarantee, p(paid), "volume {volume}");
        assert_eq!(r.instruments.guarantee_paid[0], p(paid));
        assert_eq!(c.paid.total(), p(paid));
        assert_eq!(r.parties[PRIME].revenue, p(paid));
        assert_eq!(r.parties[COMMISSIONER].cost, p(paid));
    }
    let r = one(&text, &["uncertainty.volume=0.7"]);
    assert!((r.instruments.missing_referrals[0] - 180.0).abs() < 1e-9);
    // Paid in each year's last referral month: month 11 and month 17.
    let h = 24;
    assert_eq!(r.monthly[PRIME * h + 11], p(600));
    assert_eq!(r.monthly[PRIME * h + 17], p(300));
}

/// A fixed top-up for a year short of the threshold: the whole top-up for
/// a full year, half of it for the six referral months of year 2.
#[test]
fn a_top_up_is_pro_rata_for_a_short_last_year() {
    let text = format!(
        "{PLAN}\n[[volume_guarantees]]\nlabel = \"floor\"\nbetween = [\"commissioner\", \"prime\"]\nthreshold = 0.8\ntop_up = 1000\n"
    );
    let r = one(&text, &["uncertainty.volume=0.78"]);
    assert_eq!(r.commissioner.paid.volume_guarantee, p(1_000 + 500));
    let r = one(&text, &["uncertainty.volume=0.8"]);
    assert_eq!(r.commissioner.paid.volume_guarantee, 0);
}

/// The prime guarantees its subcontractor 90% of its allocated 50 a
/// month: 540 in year 1, 270 in year 2. At volume 0.7 it receives 35 a
/// month (420 and 210): 120 and 60 missing at £8, paid by the prime.
#[test]
fn a_prime_guarantees_its_subcontractor_its_share() {
    let text = format!(
        "{PLAN}\n[[volume_guarantees]]\nlabel = \"sub_floor\"\nbetween = [\"prime\", \"sub\"]\nthreshold = 0.9\nper_missing_referral = 8\n"
    );
    let r = one(&text, &["uncertainty.volume=0.7"]);
    assert_eq!(r.instruments.guarantee_paid[0], p(960 + 480));
    assert_eq!(r.commissioner.paid.total(), 0);
    let sub = PRIME + 1;
    assert_eq!(r.parties[sub].revenue, p(1_440));
    assert_eq!(r.parties[PRIME].cost, p(1_440));
}

/// The guarantee is outside the contract caps: a £100 cap on the whole
/// contract cuts the attachment fees but not the guarantee.
#[test]
fn a_guarantee_is_paid_outside_the_contract_caps() {
    let text = format!("{PLAN}{PER_MISSING}[payments]\ncap_total = 100\n").replace(
        "prime = 0.5\nsub = 0.5",
        "prime = 0.5\nsub = 0.5\n[segments.s.tariff]\nattachment = 10",
    );
    let r = one(&text, &["uncertainty.volume=0.7"]);
    let c = &r.commissioner;
    assert_eq!(c.paid.attachment, p(100));
    assert_eq!(c.paid.volume_guarantee, p(900));
    assert_eq!(c.removed_by_contract_cap, p(10 * 70 * 18 - 100));
}

/// Ten referrals a month for 12 months, each reaching the outcome event in
/// its referral month: £3,000 of outcome payments a month.
const EARNER: &str = r#"
name = "advance"
counts = "expected"
[time]
horizon_months = 12
referral_months = 12
[segments.s]
referrals_per_month = 10
referral_process = "fixed"
[segments.s.sustained]
baseline_hazard = 60.0
window_months = 1
qualifying_months = 1
[segments.s.tariff]
outcome = 300
[segments.s.allocation]
prime = 1.0
[prime]
reserves = 100000
"#;

fn advance(amount: i64, on_shortfall: &str) -> String {
    format!(
        "{EARNER}\n[[advances]]\nlabel = \"start\"\nbetween = [\"commissioner\", \"prime\"]\namount = {amount}\nmonth = 0\nrecovery_share = 0.5\non_shortfall = \"{on_shortfall}\"\n"
    )
}

/// £10,000 advanced in month 0 is recovered at half of each later month's
/// £3,000: £1,500 in months 1 to 6 and the last £1,000 in month 7.
#[test]
fn an_advance_is_recovered_from_later_outcome_payments() {
    let r = one(&advance(10_000, "write_off"), &[]);
    let a = r.instruments.advances[0];
    assert_eq!(
        (a.advanced, a.recovered, a.repaid, a.written_off),
        (p(10_000), p(10_000), 0, 0)
    );
    let c = &r.commissioner;
    assert_eq!(c.paid.outcome, p(36_000));
    assert_eq!(
        (c.advanced, c.advance_recovered, c.advance_written_off),
        (p(10_000), p(10_000), 0)
    );
    let h = 12;
    let prime: Vec<Pence> = r.monthly[PRIME * h..(PRIME + 1) * h].to_vec();
    assert_eq!(prime[0], p(13_000));
    assert!(prime[1..7].iter().all(|&f| f == p(1_500)));
    assert_eq!(prime[7], p(2_000));
    assert!(prime[8..].iter().all(|&f| f == p(3_000)));
    // Nothing was written off: the commissioner paid the outcomes only.
    assert_eq!(r.parties[COMMISSIONER].cost, p(36_000));
    assert_eq!(r.parties[PRIME].revenue, p(36_000));
}

/// £50,000 advanced: £1,500 a month is recovered in months 1 to 11
/// (£16,500); the other £33,500 is written off, or repaid in month 11.
#[test]
fn what_an_advance_leaves_unrecovered_is_written_off_or_repaid() {
    let r = one(&advance(50_000, "write_off"), &[]);
    let a = r.instruments.advances[0];
    assert_eq!(
        (a.recovered, a.repaid, a.written_off),
        (p(16_500), 0, p(33_500))
    );
    assert_eq!(r.commissioner.advance_written_off, p(33_500));
    assert_eq!(r.parties[COMMISSIONER].cost, p(36_000 + 33_500));
    let r = one(&advance(50_000, "repay"), &[]);
    let a = r.instruments.advances[0];
    assert_eq!(
        (a.recovered, a.repaid, a.written_off),
        (p(16_500), p(33_500), 0)
    );
    assert_eq!(r.commissioner.advance_repaid, p(33_500));
    assert_eq!(r.monthly[PRIME * 12 + 11], p(1_500 - 33_500));
    assert_eq!(r.parties[COMMISSIONER].cost, p(36_000));
    // The advance is working capital: the prime's lowest cumulative flow
    // is higher by it while it is out.
    assert_eq!(r.parties[PRIME].peak_funding_need, 0);
}

/// An advance counts in the prime's cash: without reserves (on a credit
/// line), £2,000 a month of overhead and nothing earned until month 6, the prime needs £10,000
/// of funding by month 4, less the £6,000 advanced.
#[test]
fn an_advance_lowers_the_peak_funding_need() {
    let text = EARNER
        .replace(
            "reserves = 100000",
            "credit_line = 100000\noverhead_per_month = 2000\noverhead_months = 5",
        )
        .replace(
            "referrals_per_month = 10",
            "referrals_per_month = [0, 0, 0, 0, 0, 0, 10, 10, 10, 10, 10, 10]",
        );
    let without = one(&text, &[]);
    assert_eq!(without.parties[PRIME].peak_funding_need, p(10_000));
    let with = one(
        &format!(
            "{text}\n[[advances]]\nlabel = \"start\"\nbetween = [\"commissioner\", \"prime\"]\namount = 6000\nrecovery_share = 1\non_shortfall = \"repay\"\n"
        ),
        &[],
    );
    assert_eq!(with.parties[PRIME].peak_funding_need, p(4_000));
    // Recovered in full from month 6's £3,000 and month 7's.
    assert_eq!(with.instruments.advances[0].recovered, p(6_000));
}

/// Three members sharing the pot by 50/30/20 and gain or pain by 60/20/20;
/// each delivers its allocated referrals (5, 3 and 2 a month) at £100 a
/// referral: £12,000 of pooled costs in the year.
const ALLIANCE: &str = r#"
name = "alliance"
counts = "expected"
[time]
horizon_months = 12
referral_months = 12
[segments.s]
referrals_per_month = 10
referral_process = "fixed"
[segments.s.sustained]
baseline_hazard = 60.0
window_months = 1
qualifying_months = 1
[segments.s.tariff]
outcome = 300
[segments.s.allocation]
prime = 0.5
a = 0.3
b = 0.2
[prime]
reserves = 100000
cost_per_referral = 100
[subcontractors.a]
reserves = 100000
cost_per_referral = 100
[subcontractors.b]
reserves = 100000
cost_per_referral = 100
[alliance]
members = { prime = 0.5, a = 0.3, b = 0.2 }
gain_pain_shares = { prime = 0.6, a = 0.2, b = 0.2 }
"#;

/// The pot of £3,000 a month is split £1,500/£900/£600. Against a £15,000
/// budget the alliance gains £3,000: `a` was allotted £4,500 and spent
/// £3,600, but bears 20% of the gain (£600), so it pays £300 in; `b` was
/// allotted £3,000, spent £2,400 and gains £600: it is square. Against
/// £9,000 the pain is £3,000 and the prime pays `a` £300.
#[test]
fn an_alliance_splits_its_pot_and_settles_its_budget() {
    for (budget, a_gets) in [(15_000, -300), (9_000, 300), (12_000, 0)] {
        let r = one(&format!("{ALLIANCE}budget = {budget}\n"), &[]);
        let i = &r.instruments;
        assert_eq!(i.pot, p(36_000));
        assert_eq!(i.pot_share, vec![p(18_000), p(10_800), p(7_200)]);
        assert_eq!(
            i.gain_pain,
            vec![p(-a_gets), p(a_gets), 0],
            "budget {budget}"
        );
        let net = |d: usize| r.parties[PRIME + d].net();
        assert_eq!(net(0), p(18_000 - 6_000 - a_gets));
        assert_eq!(net(1), p(10_800 - 3_600 + a_gets));
        assert_eq!(net(2), p(7_200 - 2_400));
    }
}

/// A member that fails leaves the pot to the others, in proportion to
/// their shares: `b`, with no reserves and £1,000 of overhead, fails in
/// month 0, and the prime and `a` split the pot 5:3 from month 1.
#[test]
fn a_failed_member_leaves_the_pot_to_the_others() {
    let text = format!("{ALLIANCE}budget = 12000\n").replace(
        "[subcontractors.b]\nreserves = 100000",
        "[subcontractors.b]\noverhead_per_month = 1000\non_failure = \"transfer\"",
    );
    let r = one(&text, &[]);
    assert_eq!(r.parties[PRIME + 2].failure_month, Some(0));
    let i = &r.instruments;
    // Month 0: £3,000 split 1,500/900/600; months 1 to 11: £3,000 split
    // round(3,000 x 0.3 / 0.8) = £1,125 to `a` and £1,875 to the prime.
    assert_eq!(
        i.pot_share,
        vec![p(1_500 + 11 * 1_875), p(900 + 11 * 1_125), p(600)]
    );
    // The year's settlement is between the prime and `a`, allotted
    // £12,000 x 5/8 and x 3/8 (7,500 and 4,500). `b`'s referrals go to the
    // prime from month 1 at £100 each: costs £500 + 11 x £700 = £8,200 and
    // £3,600. The gain of £200 is shared 0.6:0.2, so `a` gains £50 and is
    // owed 50 - (4,500 - 3,600) = -£850.
    assert_eq!(i.gain_pain, vec![p(850), p(-850), 0]);
}

/// Each refused instrument is reported at its key, with the reason.
#[test]
fn bad_instruments_are_refused_at_their_keys() {
    let refused = |text: String, expected: &[&str]| {
        let err = match pbrsim::scenario::load_str(&text, "t.toml", &[]) {
            Ok(_) => panic!("should be refused:\n{text}"),
            Err(e) => e.to_string(),
        };
        for e in expected {
            assert!(err.contains(e), "expected `{e}` in:\n{err}");
        }
    };
    refused(
        format!(
            "{PLAN}[[volume_guarantees]]\nlabel = \"g\"\nbetween = [\"sub\", \"prime\"]\nthreshold = 0.8\ntop_up = 5\n"
        ),
        &["volume_guarantees[0].between", "payer, then recipient"],
    );
    refused(
        format!(
            "{PLAN}[[volume_guarantees]]\nlabel = \"g\"\nbetween = [\"prime\", \"sbu\"]\nthreshold = 0.8\ntop_up = 5\n"
        ),
        &["volume_guarantees[0].between[1]", "did you mean `sub`?"],
    );
    refused(
        format!(
            "{PLAN}[[volume_guarantees]]\nlabel = \"g\"\nbetween = [\"commissioner\", \"prime\"]\nthreshold = 0.8\ntop_up = 5\nper_missing_referral = 1\n"
        ),
        &[
            "volume_guarantees[0]",
            "exactly one of per_missing_referral and top_up",
        ],
    );
    refused(
        format!(
            "{PLAN}[[advances]]\nlabel = \"a\"\nbetween = [\"commissioner\", \"prime\"]\namount = 10\nmonth = 24\nrecovery_share = 0\non_shortfall = \"forgive\"\n"
        ),
        &[
            "advances[0].month",
            "advances[0].recovery_share",
            "advances[0].on_shortfall",
            "\"write_off\" or \"repay\"",
        ],
    );
    refused(
        format!(
            "{PLAN}[[advances]]\nlabel = \"a\"\nbetween = [\"commissioner\", \"prime\"]\namount = 10\nrecovery_share = 1\non_shortfall = \"repay\"\n[[volume_guarantees]]\nlabel = \"a\"\nbetween = [\"commissioner\", \"prime\"]\nthreshold = 0.8\ntop_up = 5\n"
        ),
        &[
            "advances[0].label",
            "names an earlier volume guarantee or advance",
        ],
    );
    let with_pass_through = PLAN.replace(
        "[subcontractors.sub]\n",
        "[subcontractors.sub]\npass_through = 0.5\n",
    );
    refused(
        format!(
            "{with_pass_through}[alliance]\nmembers = {{ prime = 0.6, sub = 0.5 }}\nbudget = 100\ngain_pain_shares = {{ prime = 1.0, other = 0.0 }}\n"
        ),
        &[
            "subcontractors.sub.pass_through",
            "member of the alliance",
            "alliance.members",
            "must sum to 1",
            "alliance.gain_pain_shares.other",
        ],
    );
    refused(
        format!("{PLAN}[alliance]\nmembers = {{ sub = 1.0 }}\nbudget = 100\n"),
        &["the prime must be a member"],
    );
}

/// `explain` states each instrument in plain words.
#[test]
fn explain_states_each_instrument() {
    let text = std::fs::read_to_string("tests/reference/instruments_b.toml").unwrap();
    let words = pbrsim::explain::explain(&model(&text, &[]));
    for want in [
        "Volume guarantee `referrals`: if a contract year's referrals to the prime fall below 85% of the contract's referral plan (6840 referrals at volume 1 over the contract), the commissioner pays 400 per referral missing below it",
        "Volume guarantee `small_floor`: if a contract year's referrals to small fall below 90% of small's allocated share",
        "the prime pays a top-up of 20,000 (pro rata for a shorter last year)",
        "Advance `mobilisation`: the commissioner pays the prime 300,000 in month 0, recovered as 30% of the prime's later outcome payments; the commissioner writes off what is not recovered.",
        "Advance `big_start`: the prime pays big 50,000 in month 2, recovered as 50% of big's later outcome payments; big repays what is not recovered",
        "Alliance of prime 55%, big 45%",
        "by gain/pain shares prime 60%, big 40%",
    ] {
        assert!(words.contains(want), "expected `{want}` in:\n{words}");
    }
}

/// An advance with a contract cap and an investor, by hand: one
/// participant's £20,000 outcome payment in month 5, cut to £15,000 by a
/// cap; no reserves, £1,000 a month of overhead; £3,000 advanced in month
/// 0 keeps the prime's cash up until month 3, so the investor draws only
/// £1,000 in months 3 and 4 (£2,000, owed £2,400 at a 1.2 multiple). In
/// month 5 the commissioner first withholds the £3,000 advance from the
/// £15,000 (half would be £7,500), then the investor is repaid £2,400
/// from what is left.
#[test]
fn an_advance_is_recovered_before_the_investor_is_repaid() {
    let text = r#"
name = "advance and investor"
[time]
horizon_months = 12
referral_months = 1
[segments.s]
referrals_per_month = 1
referral_process = "fixed"
[segments.s.sustained]
baseline_hazard = 60.0
window_months = 1
qualifying_months = 6
[segments.s.tariff]
outcome = 20000
[segments.s.allocation]
prime = 1.0
[payments]
cap_total = 15000
[prime]
overhead_per_month = 1000
overhead_months = 12
[investors.fund]
funds = "prime"
committed_capital = 50000
return_cap_multiple = 1.2
[[advances]]
label = "start"
between = ["commissioner", "prime"]
amount = 3000
recovery_share = 0.5
on_shortfall = "write_off"
"#;
    let r = one(text, &[]);
    let m = model(text, &[]);
    let h = m.horizon;
    assert_eq!(r.commissioner.paid.outcome, p(15_000));
    assert_eq!(r.commissioner.removed_by_contract_cap, p(5_000));
    assert_eq!(r.investors[0], (p(2_000), p(2_400)));
    let a = r.instruments.advances[0];
    assert_eq!(
        (a.advanced, a.recovered, a.written_off),
        (p(3_000), p(3_000), 0)
    );
    let prime: Vec<Pence> = r.monthly[PRIME * h..(PRIME + 1) * h].to_vec();
    let mut want = vec![
        p(2_000),
        p(-1_000),
        p(-1_000),
        0,
        0,
        p(-1_000 + 15_000 - 3_000 - 2_400),
    ];
    want.extend([p(-1_000); 6]);
    assert_eq!(prime, want);
    assert_eq!(r.parties[PRIME].peak_funding_need, 0);
    // The commissioner's cost is the outcome payment: the advance came back.
    assert_eq!(r.parties[COMMISSIONER].cost, p(15_000));
}
