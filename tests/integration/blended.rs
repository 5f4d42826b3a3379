//! Blended payment (docs/model.md §8b): at plan, the fee per referral is
//! what the share of the prices it replaces is expected to earn, so in a
//! world at plan the commissioner expects to pay the same in total, with
//! less of it on results. Checked against the simulation itself (the fee's
//! expectation is computed independently of the iterations), with five
//! standard errors of the paired difference.

use crate::common::{ONE_SEGMENT, assert_within, each_iteration, mean_se, model};
use pbrsim::engine::Simulator;

const N: u64 = 4_000;

/// Per iteration: (paid in total, paid on results) in pounds.
fn payments(sets: &[&str], seed: u64) -> Vec<(f64, f64)> {
    let m = model(ONE_SEGMENT, sets);
    let mut out = Vec::with_capacity(N as usize);
    each_iteration(&m, seed, N, |r| {
        let p = &r.commissioner.paid;
        out.push((
            p.total() as f64 / 100.0,
            (p.outcome + p.sustainment) as f64 / 100.0,
        ));
    });
    out
}

/// The blended contract pays the same in expectation as the unblended one
/// (paired on common random numbers, the difference is the fee less the
/// share of results it replaced), and `1 - f` as much on results.
fn same_expected_total(base: &[&str], share: &str, kept: f64) {
    let blended: Vec<&str> = base.iter().copied().chain([share]).collect();
    let (a, b) = (payments(base, 3), payments(&blended, 3));
    let difference: Vec<f64> = a.iter().zip(&b).map(|(x, y)| y.0 - x.0).collect();
    let (mean, se) = mean_se(&difference);
    assert!(
        se > 0.0,
        "the fee and the results it replaces differ by world"
    );
    assert_within(&format!("{share}: blended - unblended"), mean, se, 0.0, 5.0);
    let results: Vec<f64> = a.iter().zip(&b).map(|(x, y)| y.1 - kept * x.1).collect();
    let (mean, _) = mean_se(&results);
    // Prices are rounded to the penny once: at most half a penny an event.
    let events = b.iter().map(|y| y.1).sum::<f64>() / N as f64 / (kept * 215.0);
    assert!(
        mean.abs() <= 0.005 * events,
        "{share}: results paid {mean} from {kept} of the prices"
    );
}

#[test]
fn a_blended_contract_expects_to_pay_what_the_results_contract_would() {
    same_expected_total(&[], "payments.blended.fee_share=0.4", 0.6);
}

#[test]
fn the_fee_counts_only_what_falls_due_before_the_horizon() {
    // Referrals of the last months reach their outcome after month 30.
    same_expected_total(
        &["time.horizon_months=30", "payments.lag_months.outcome=2"],
        "payments.blended.fee_share=0.25",
        0.75,
    );
}

#[test]
fn by_event_year_the_fee_takes_each_years_share_of_each_years_price() {
    let base = [
        "payments.price_year=event",
        "segments.jsa.tariff.outcome=[1200, 1500, 900]",
        "segments.jsa.tariff.sustainment=[215, 300, 100]",
        "time.referral_months=24",
    ];
    let blended: Vec<&str> = base
        .iter()
        .copied()
        .chain(["payments.blended.fee_share=[0.5, 0.3, 0.1]"])
        .collect();
    let (a, b) = (payments(&base, 5), payments(&blended, 5));
    let difference: Vec<f64> = a.iter().zip(&b).map(|(x, y)| y.0 - x.0).collect();
    let (mean, se) = mean_se(&difference);
    assert_within("event-year blend", mean, se, 0.0, 5.0);
}

#[test]
fn the_fee_is_paid_per_referral_at_the_attachment_lag() {
    let m = model(
        ONE_SEGMENT,
        &[
            "payments.blended.fee_share=0.4",
            "payments.lag_months.attachment=2",
        ],
    );
    let fee = m.payments.blended.as_ref().unwrap().fee[0][0];
    assert!(fee > 0);
    assert_eq!(m.segments[0].tariff.attachment[0], 40_000 + fee);
    let mut simulator = Simulator::new(&m);
    let r = simulator.iteration(1, 0);
    assert_eq!(
        r.commissioner.paid.attachment,
        r.commissioner.referrals as i64 * (40_000 + fee)
    );
}

#[test]
fn an_uncertain_price_is_refused_in_a_blended_contract() {
    let text = format!("{ONE_SEGMENT}\n[payments.blended]\nfee_share = 0.3\n").replace(
        "outcome = 1200",
        "outcome = { dist = \"uniform\", min = 1000, max = 1400 }",
    );
    let Err(err) = pbrsim::scenario::load_str(&text, "test.toml", &[]) else {
        panic!("an uncertain price in a blended contract should be refused");
    };
    let err = err.to_string();
    assert!(
        err.contains("segments.jsa.tariff.outcome") && err.contains("blended"),
        "{err}"
    );
}

/// The prime passes a subcontractor the fee for its participants at the
/// share it passes of their results, so a blend moves no money between
/// them at plan: in every iteration the subcontractor receives its share of
/// the results paid and of the fees, each month rounded to the penny.
#[test]
fn a_subcontractor_is_passed_its_share_of_the_fee() {
    let text = format!(
        "{}\n[subcontractors.charity]\nreserves = 100000000\npass_through = 0.8\n",
        ONE_SEGMENT.replace("prime = 1.0", "charity = 1.0")
    );
    let m = model(&text, &["payments.blended.fee_share=0.4"]);
    let fee = m.payments.blended.as_ref().unwrap().fee[0][0];
    let charity = m.account_of(1);
    each_iteration(&m, 2, 200, |r| {
        let c = &r.commissioner;
        let results = (c.paid.outcome + c.paid.sustainment) as f64;
        let fees = (c.referrals as i64 * fee) as f64;
        let owed = 0.8 * (results + fees);
        let received = r.parties[charity].revenue as f64;
        assert!(
            (received - owed).abs() <= 2.0 * m.horizon as f64,
            "received {received}, owed {owed}"
        );
    });
}
