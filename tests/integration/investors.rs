//! Investors: capital drawn as the provider needs it, repaid first from its
//! outcome payments up to the cap, against hand-computed cash flows.

use crate::common::{each_iteration, model};
use pbrsim::math;
use pbrsim::model::PRIME;

/// One participant in month 0 who is in outcome at once and stays: a
/// 20,000 outcome payment in month 5 (q = 6). The prime has no reserves and
/// 1,000 a month of overhead for 12 months; the investor pays its shortfall.
const SIB: &str = r#"
name = "investor waterfall"
[time]
horizon_months = 24
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
[prime]
overhead_per_month = 1000
overhead_months = 12
[investors.fund]
funds = "prime"
committed_capital = 50000
return_cap_multiple = 1.2
"#;

fn investor_flows(text: &str, sets: &[&str]) -> (Vec<i64>, (i64, i64), Option<usize>) {
    let m = model(text, sets);
    let mut out = (vec![], (0, 0), None);
    each_iteration(&m, 1, 1, |r| {
        let a = m.investor_account(0);
        out = (
            r.monthly[a * m.horizon..(a + 1) * m.horizon].to_vec(),
            r.investors[0],
            r.parties[PRIME].failure_month,
        );
    });
    out
}

#[test]
fn capital_is_drawn_as_needed_and_repaid_up_to_a_multiple() {
    let (flows, (drawn, repaid), failed) = investor_flows(SIB, &[]);
    // Months 0-4: 1,000 drawn each month. Month 5: 20,000 arrives; 6,000
    // (1.2 x 5,000 drawn) goes to the investor; the prime keeps the rest
    // and needs no more capital.
    let mut expected = vec![0i64; 24];
    for t in 0..5 {
        expected[t] = -100_000;
    }
    expected[5] = 600_000;
    assert_eq!(flows, expected);
    assert_eq!((drawn, repaid), (500_000, 600_000));
    assert_eq!(failed, None);
    // The cap is never exceeded, and an excess share is paid above it: half
    // of what the prime still has from the payment once the cap is met
    // (20,000 less the month's 1,000 of overhead, less 6,000).
    let (_, (_, repaid), _) = investor_flows(SIB, &["investors.fund.excess_share=0.5"]);
    assert_eq!(repaid, 600_000 + 650_000);
}

#[test]
fn an_annual_rate_cap_grows_what_is_owed_month_by_month() {
    let text = SIB.replace("return_cap_multiple = 1.2", "return_cap_annual_rate = 0.12");
    let (flows, (drawn, repaid), _) = investor_flows(&text, &[]);
    let monthly = math::pow(1.12, 1.0 / 12.0);
    // Owed at the start of month 5: draws of 1,000 at months 0-4, each grown
    // for the months since.
    let owed: f64 = (0..5).map(|t| 100_000.0 * math::powi(monthly, 5 - t)).sum();
    assert_eq!(drawn, 500_000);
    assert_eq!(repaid, owed.floor() as i64);
    assert_eq!(flows[5], owed.floor() as i64);
}

#[test]
fn a_commitment_runs_out_and_then_the_provider_fails() {
    // 3,000 committed: months 0-2 are funded, month 3 is not.
    let (flows, (drawn, repaid), failed) =
        investor_flows(SIB, &["investors.fund.committed_capital=3000"]);
    assert_eq!(drawn, 300_000);
    assert_eq!(repaid, 0);
    assert_eq!(failed, Some(3));
    assert_eq!(flows.iter().sum::<i64>(), -300_000);
}
