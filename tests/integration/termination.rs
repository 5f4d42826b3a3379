//! The commissioner ends the contract early: a break at a month, or when a
//! party's cumulative net falls below a trigger (after any notice), with a
//! termination payment to the prime. Every case is exact, in pence.

use crate::common::{each_iteration, model};
use pbrsim::engine::world::IterationResult;
use pbrsim::model::{COMMISSIONER, PRIME};

/// 10 referrals a month in months 0-11, nobody enters outcome; the
/// commissioner pays a £100 attachment fee a month later and a £1,000
/// service fee each month; the prime has £1,000 a month of overhead and
/// ample reserves, so it never fails unless a test says so.
const SCENARIO: &str = r#"
name = "ending early"
[time]
horizon_months = 24
referral_months = 12
[segments.s]
referrals_per_month = 10
referral_process = "fixed"
[segments.s.sustained]
baseline_hazard = 0.0
window_months = 6
[segments.s.tariff]
attachment = 100
[segments.s.allocation]
prime = 1.0
[payments]
service_fee_per_month = 1000
service_fee_months = 12
[payments.lag_months]
attachment = 1
[commissioner]
own_costs_per_month = 50
[prime]
reserves = 1000000
overhead_per_month = 1000
overhead_months = 12
"#;

const PENCE: i64 = 100;

fn one(sets: &[&str], mut check: impl FnMut(&IterationResult, usize)) {
    let m = model(SCENARIO, sets);
    each_iteration(&m, 7, 2, |r| check(r, m.horizon));
}

/// The prime's flows from `month` on are all zero.
fn prime_silent_from(r: &IterationResult, h: usize, month: usize) -> bool {
    r.monthly[PRIME * h + month..(PRIME + 1) * h]
        .iter()
        .all(|&f| f == 0)
}

#[test]
fn a_break_at_a_month_ends_referrals_costs_and_payments_and_pays_the_prime() {
    // Break at the end of month 5, paying £5,000: referrals in months 0-5;
    // attachment fees of cohorts 0-4 fall due in months 1-5 and are paid,
    // cohort 5's falls due in month 6 and is cancelled; service fees of
    // months 0-5 are paid; overhead and own costs run in months 0-5.
    let sets = ["termination.break_month=5", "termination.payment=5000"];
    one(&sets, |r, h| {
        let c = &r.commissioner;
        assert_eq!(r.termination_month, Some(5));
        assert_eq!(c.referrals, 60);
        assert_eq!(c.paid.attachment, 5 * 10 * 100 * PENCE);
        assert_eq!(c.cancelled, 10 * 100 * PENCE);
        assert_eq!(c.paid.service_fee, 6 * 1000 * PENCE);
        assert_eq!(c.paid.termination, 5000 * PENCE);
        assert_eq!(
            c.paid.total(),
            (5000 + 6000 + 5000) * PENCE,
            "paid.total includes the termination payment"
        );
        assert_eq!(c.own_costs, 6 * 50 * PENCE);
        let prime = &r.parties[PRIME];
        assert_eq!(prime.revenue, c.paid.total());
        assert_eq!(prime.cost, 6 * 1000 * PENCE);
        assert_eq!(prime.failure_month, None);
        // The payment is in the month the contract ends.
        assert_eq!(
            r.monthly[PRIME * h + 5],
            (100 * 10 + 1000 - 1000 + 5000) * PENCE
        );
        assert!(prime_silent_from(r, h, 6));
        assert_eq!(r.parties[COMMISSIONER].cost, c.paid.total() + c.own_costs);
    });
}

#[test]
fn without_a_termination_section_nothing_ends_early() {
    one(&[], |r, _| {
        let c = &r.commissioner;
        assert_eq!(r.termination_month, None);
        assert_eq!(c.referrals, 120);
        assert_eq!(c.paid.termination, 0);
        assert_eq!(c.cancelled, 0);
        assert_eq!(c.paid.attachment, 120 * 100 * PENCE);
    });
}

#[test]
fn a_break_on_a_partys_cumulative_net_ends_the_contract_after_the_notice() {
    // With no service fee and no attachment fee the prime's net after
    // month t is -£1,000 (t + 1): below -£3,500 first in month 3.
    let base = [
        "payments.service_fee_per_month=0",
        "segments.s.tariff.attachment=0",
        "termination.on_net.party=\"prime\"",
        "termination.on_net.below=-3500",
        "termination.payment=700",
    ];
    for (notice, end) in [(0, 3), (2, 5)] {
        let notice_set = format!("termination.notice_months={notice}");
        let mut sets = base.to_vec();
        sets.push(&notice_set);
        one(&sets, |r, h| {
            let c = &r.commissioner;
            assert_eq!(r.termination_month, Some(end), "notice {notice}");
            assert_eq!(c.referrals, 10 * (end as u64 + 1));
            assert_eq!(c.paid.termination, 700 * PENCE);
            assert_eq!(r.parties[PRIME].cost, (end as i64 + 1) * 1000 * PENCE);
            assert_eq!(r.parties[PRIME].revenue, 700 * PENCE);
            assert!(prime_silent_from(r, h, end + 1));
        });
    }
    // Exactly at the trigger is not below it: -£4,000 after month 3.
    let mut sets = base.to_vec();
    sets[3] = "termination.on_net.below=-4000";
    one(&sets, |r, _| assert_eq!(r.termination_month, Some(4)));
}

#[test]
fn a_trigger_on_the_commissioners_net_counts_its_own_costs() {
    // The commissioner pays £1,000 + £50 a month (plus £1,000 of
    // attachment fees from month 1): -£1,050, -£3,100, -£5,150 ...
    let sets = [
        "termination.on_net.party=\"commissioner\"",
        "termination.on_net.below=-5000",
    ];
    one(&sets, |r, _| {
        assert_eq!(r.termination_month, Some(2));
        assert_eq!(r.commissioner.paid.termination, 0);
    });
}

#[test]
fn a_notice_running_past_the_horizon_ends_nothing() {
    let sets = [
        "payments.service_fee_per_month=0",
        "segments.s.tariff.attachment=0",
        "termination.on_net.party=\"prime\"",
        "termination.on_net.below=-3500",
        "termination.notice_months=21",
        "termination.payment=700",
    ];
    one(&sets, |r, _| {
        assert_eq!(r.termination_month, None);
        assert_eq!(r.commissioner.paid.termination, 0);
        assert_eq!(r.commissioner.referrals, 120);
    });
    // With a notice of 20 it ends in month 23, the last of the horizon.
    let mut sets = sets.to_vec();
    sets[4] = "termination.notice_months=20";
    one(&sets, |r, _| {
        assert_eq!(r.termination_month, Some(23));
        assert_eq!(r.commissioner.paid.termination, 700 * PENCE);
    });
}

#[test]
fn the_earlier_of_a_break_month_and_a_triggered_end_wins() {
    let sets = [
        "payments.service_fee_per_month=0",
        "segments.s.tariff.attachment=0",
        "termination.on_net.party=\"prime\"",
        "termination.on_net.below=-3500",
        "termination.notice_months=2",
        "termination.break_month=4",
        "termination.payment=700",
    ];
    one(&sets, |r, _| {
        assert_eq!(r.termination_month, Some(4));
        assert_eq!(r.commissioner.paid.termination, 700 * PENCE);
    });
}

#[test]
fn a_prime_that_fails_in_the_break_month_ends_the_contract_without_the_payment() {
    // Reserves £2,500 and no income: cash -£500 after month 2, -£1,500
    // after month 3; with a £1,000 credit line the prime fails in month 3.
    let sets = [
        "payments.service_fee_per_month=0",
        "segments.s.tariff.attachment=0",
        "prime.reserves=2500",
        "prime.credit_line=1000",
        "termination.break_month=3",
        "termination.payment=700",
    ];
    one(&sets, |r, h| {
        assert_eq!(r.parties[PRIME].failure_month, Some(3));
        assert_eq!(r.termination_month, None);
        assert_eq!(r.commissioner.paid.termination, 0);
        assert!(prime_silent_from(r, h, 4));
    });
    // A break before the failure pays, and the prime never fails.
    let mut sets = sets.to_vec();
    sets[4] = "termination.break_month=2";
    one(&sets, |r, _| {
        assert_eq!(r.parties[PRIME].failure_month, None);
        assert_eq!(r.termination_month, Some(2));
        assert_eq!(r.commissioner.paid.termination, 700 * PENCE);
    });
}

#[test]
fn participants_of_an_ended_contract_go_without_service() {
    // Effect 3 quadruples the hazard while served. Cohorts 0-2 are served
    // in months 0-2 only; their later entries use the base hazard, the same
    // as in a contract that ended by the prime's failure in month 2.
    let common = [
        "segments.s.sustained.baseline_hazard=0.05",
        "segments.s.sustained.window_months=12",
        "uncertainty.effect=3",
        "segments.s.tariff.attachment=0",
        "payments.service_fee_per_month=0",
    ];
    let mut ended = common.to_vec();
    ended.push("termination.break_month=2");
    let mut failed = common.to_vec();
    failed.extend(["prime.reserves=2500", "prime.credit_line=0"]);
    let (me, mf) = (model(SCENARIO, &ended), model(SCENARIO, &failed));
    let mut outcomes = (Vec::new(), Vec::new());
    each_iteration(&me, 11, 30, |r| outcomes.0.push(r.commissioner.outcomes));
    each_iteration(&mf, 11, 30, |r| {
        assert_eq!(r.parties[PRIME].failure_month, Some(2));
        outcomes.1.push(r.commissioner.outcomes)
    });
    // Same seed, same participants, same service: identical counts.
    assert_eq!(outcomes.0, outcomes.1);
}

/// The error text of a scenario that must be refused.
fn refused(extra: &str) -> String {
    let text = format!("{SCENARIO}{extra}");
    match pbrsim::scenario::load_str(&text, "t.toml", &[]) {
        Ok(_) => panic!("should be refused:\n{extra}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_bad_termination_section_is_refused_at_its_key() {
    let cases = [
        (
            "[termination]\nbreak_month = 24\n",
            vec![
                "termination.break_month",
                "0 to horizon_months - 1 (23), got 24",
            ],
        ),
        (
            "[termination]\npayment = 10\n",
            vec![
                "termination",
                "give break_month, [termination.on_net] or [[termination.minimum_performance]]",
            ],
        ),
        (
            "[termination]\npayment = -10\nbreak_month = 3\n",
            vec!["termination.payment", "non-negative amount"],
        ),
        (
            "[termination.on_net]\nparty = \"prine\"\nbelow = -5\n",
            vec![
                "termination.on_net.party",
                "`prine`",
                "did you mean `prime`?",
            ],
        ),
        (
            "[termination.on_net]\nparty = \"prime\"\nbelow = -1e300\n",
            vec!["termination.on_net.below", "-1e300"],
        ),
        (
            "[termination]\nbreak_month = 3\nnotice_months = 5000\n",
            vec!["termination.notice_months", "got 5000"],
        ),
        (
            "[termination]\nbreak_month = 3\nbreak_day = 2\n",
            vec!["unknown key `break_day`"],
        ),
        (
            "[subcontractors.contract]\nreserves = 1\n",
            vec!["`contract` is reserved"],
        ),
    ];
    for (extra, expected) in cases {
        let e = refused(extra);
        for want in expected {
            assert!(e.contains(want), "expected `{want}` in:\n{e}");
        }
    }
}

/// Everyone enters outcome in their referral month (a hazard of 50 gives
/// an entry probability of 1 in floating point) and stays, so the outcome
/// event (qualifying month 4) of the cohort referred in month m is in month
/// m + 3: in months 0-5 there are outcome events from cohorts 0-2, 30 of
/// them, for 60 referrals: a level of 0.5 exactly. Segment `t`, at the
/// subcontractor, has no outcomes.
const PERFORMANCE: &str = r#"
name = "minimum performance"
[time]
horizon_months = 24
referral_months = 12
[segments.s]
referrals_per_month = 10
referral_process = "fixed"
[segments.s.sustained]
baseline_hazard = 50.0
window_months = 6
qualifying_months = 4
[segments.s.tariff]
outcome = 100
[segments.s.allocation]
prime = 1.0
[segments.t]
referrals_per_month = 10
referral_process = "fixed"
[segments.t.sustained]
baseline_hazard = 0.0
window_months = 6
[segments.t.allocation]
sub = 1.0
[prime]
reserves = 1000000
[subcontractors.sub]
reserves = 1000000
"#;

fn performance(level: &str, sets: &[&str]) -> (pbrsim::model::Model, Vec<IterationResult>) {
    let text = format!(
        "{PERFORMANCE}\n[termination]\npayment = 300\n[[termination.minimum_performance]]\n{level}"
    );
    let m = model(&text, sets);
    let mut results = Vec::new();
    each_iteration(&m, 3, 2, |r| results.push(r.clone()));
    (m, results)
}

#[test]
fn a_level_at_the_minimum_is_met_and_one_below_it_ends_the_contract() {
    let at = "label = \"mpl\"\nsegments = [\"s\"]\nfrom_month = 0\nto_month = 6\nminimum = 0.5\nconsequence = \"end\"\n";
    let (_, results) = performance(at, &[]);
    for r in &results {
        assert_eq!(r.performance, vec![(0.5, false)]);
        assert_eq!(r.termination_month, None);
        assert_eq!(r.commissioner.outcomes, 120);
    }
    let above = at.replace("minimum = 0.5", "minimum = 0.500001");
    let (m, results) = performance(&above, &[]);
    for r in &results {
        assert_eq!(r.performance, vec![(0.5, true)]);
        // Measured at the end of month 5; the contract ends there.
        assert_eq!(r.termination_month, Some(5));
        assert_eq!(r.commissioner.paid.termination, 300 * PENCE);
        assert_eq!(r.commissioner.referrals, 2 * 60);
        // Outcome payments of cohorts 0-2 (months 3-5) are paid; those of
        // cohorts 3-5 fall due in months 6-8, after the end.
        assert_eq!(r.commissioner.paid.outcome, 30 * 100 * PENCE);
        assert_eq!(r.commissioner.cancelled, 30 * 100 * PENCE);
        assert!(prime_silent_from(r, m.horizon, 6));
    }
    // With a notice of 3 months it ends in month 8.
    let (_, results) = performance(&above, &["termination.notice_months=3"]);
    for r in &results {
        assert_eq!(r.termination_month, Some(8));
        assert_eq!(r.commissioner.paid.outcome, 60 * 100 * PENCE);
    }
}

#[test]
fn a_level_counts_its_segments_at_its_provider_or_the_whole_contract() {
    let level = |extra: &str| {
        format!(
            "label = \"mpl\"\nfrom_month = 0\nto_month = 6\nminimum = 0.2\nconsequence = \"end\"\n{extra}"
        )
    };
    // Both segments: 30 outcome events for 120 referrals.
    let (_, results) = performance(&level(""), &[]);
    assert!(results.iter().all(|r| r.performance == vec![(0.25, false)]));
    // The subcontractor's segment alone: none.
    let (_, results) = performance(&level("provider = \"sub\"\n"), &[]);
    for r in &results {
        assert_eq!(r.performance, vec![(0.0, true)]);
        assert_eq!(r.termination_month, Some(5));
    }
    // The prime's groups: segment s.
    let (_, results) = performance(&level("provider = \"prime\"\n"), &[]);
    assert!(results.iter().all(|r| r.performance == vec![(0.5, false)]));
    // A period with no referrals is not measured and ends nothing.
    let later = level("").replace(
        "from_month = 0\nto_month = 6",
        "from_month = 12\nto_month = 20",
    );
    let (_, results) = performance(&later, &[]);
    for r in &results {
        assert!(r.performance[0].0.is_nan() && !r.performance[0].1);
        assert_eq!(r.termination_month, None);
    }
}

#[test]
fn a_bad_minimum_performance_level_is_refused_at_its_key() {
    let good = "[termination]\n[[termination.minimum_performance]]\nlabel = \"mpl\"\nfrom_month = 0\nto_month = 6\nminimum = 0.5\nconsequence = \"end\"\n";
    let cases = [
        (
            good.replace("to_month = 6", "to_month = 0"),
            vec![
                "termination.minimum_performance[0].to_month",
                "0 <= from_month < to_month",
            ],
        ),
        (
            good.replace("to_month = 6", "to_month = 25"),
            vec!["horizon_months (24)"],
        ),
        (
            good.replace("minimum = 0.5", "minimum = 1.5"),
            vec!["termination.minimum_performance[0].minimum", "probability"],
        ),
        (
            good.replace("\"end\"", "\"stop\""),
            vec![
                "termination.minimum_performance[0].consequence",
                "must be \"end\" or \"shift\", got \"stop\"",
            ],
        ),
        (
            good.replace("label = \"mpl\"", "label = \"m p l\""),
            vec!["not a usable label"],
        ),
        (
            format!("{good}segments = [\"x\"]\n"),
            vec![
                "termination.minimum_performance[0].segments[0]",
                "`x` is not a segment",
            ],
        ),
        (
            format!("{good}provider = \"sbu\"\n"),
            vec![
                "`sbu` is not the prime or a subcontractor",
                "did you mean `sub`?",
            ],
        ),
    ];
    for (extra, expected) in cases {
        let text = format!("{PERFORMANCE}{extra}");
        let e = match pbrsim::scenario::load_str(&text, "t.toml", &[]) {
            Ok(_) => panic!("should be refused:\n{extra}"),
            Err(e) => e.to_string(),
        };
        for want in expected {
            assert!(e.contains(want), "expected `{want}` in:\n{e}");
        }
    }
}

#[test]
fn a_level_below_the_minimum_shifts_a_share_of_later_referrals() {
    // Segment s is split 5 + 5 a month between the prime and the
    // subcontractor. The prime's level in months 0-5 is 15 / 30 = 0.5,
    // below 0.6: from month 6, 40% of its referrals of s go to the
    // subcontractor: 3 stay and 2 move, each month 6-11.
    let text = PERFORMANCE
        .replace(
            "[segments.s.allocation]\nprime = 1.0",
            "[segments.s.allocation]\nprime = 0.5\nsub = 0.5",
        )
        .replace(
            "[prime]\nreserves = 1000000",
            "[prime]\nreserves = 1000000\ncost_per_referral = 10",
        )
        .replace(
            "[subcontractors.sub]\nreserves = 1000000",
            "[subcontractors.sub]\nreserves = 1000000\ncost_per_referral = 1",
        );
    let level = "[termination]\n[[termination.minimum_performance]]\nlabel = \"mpl\"\nsegments = [\"s\"]\nprovider = \"prime\"\nfrom_month = 0\nto_month = 6\nminimum = 0.6\nconsequence = \"shift\"\nshift_to = \"sub\"\nshare = 0.4\n";
    let m = model(&format!("{text}{level}"), &[]);
    each_iteration(&m, 3, 2, |r| {
        assert_eq!(r.performance, vec![(0.5, true)]);
        assert_eq!(r.shifted, vec![12]);
        assert_eq!(r.termination_month, None);
        assert_eq!(r.commissioner.referrals, 240);
        assert_eq!(r.parties[PRIME].cost, (5 * 6 + 3 * 6) * 10 * PENCE);
        assert_eq!(r.parties[PRIME + 1].cost, (5 * 12 + 12 + 120) * PENCE);
    });
    // At the minimum nothing moves.
    let m = model(
        &format!("{text}{}", level.replace("minimum = 0.6", "minimum = 0.5")),
        &[],
    );
    each_iteration(&m, 3, 2, |r| {
        assert_eq!(r.shifted, vec![0]);
        assert_eq!(r.parties[PRIME].cost, 60 * 10 * PENCE);
    });
    // A shift needs a provider it moves from, one it moves to with
    // referrals of the segment, and a share.
    let bad = [
        (
            text.as_str(),
            level.replace("provider = \"prime\"\n", ""),
            "needs the provider they move from",
        ),
        // From the subcontractor in t to the prime: the prime always has a group.
        (
            text.as_str(),
            level
                .replace("segments = [\"s\"]", "segments = [\"t\"]")
                .replace("shift_to = \"sub\"", "shift_to = \"prime\"")
                .replace("provider = \"prime\"", "provider = \"sub\""),
            "",
        ),
        (
            PERFORMANCE,
            level.to_string(),
            "receives no referrals of segment `s`",
        ),
        (
            text.as_str(),
            level.replace("share = 0.4\n", ""),
            "needs the share",
        ),
        (
            text.as_str(),
            level.replace("shift_to = \"sub\"", "shift_to = \"prime\""),
            "cannot shift to the provider they move from",
        ),
        (
            text.as_str(),
            level.replace("consequence = \"shift\"", "consequence = \"end\""),
            "belong to consequence = \"shift\"",
        ),
        (
            text.as_str(),
            format!(
                "{level}{}",
                level
                    .replace("[termination]\n", "")
                    .replace("\"mpl\"", "\"mpl2\"")
            ),
            "already shifts this provider's referrals",
        ),
    ];
    for (base, extra, want) in bad {
        let result = pbrsim::scenario::load_str(&format!("{base}{extra}"), "t.toml", &[]);
        match (want, result) {
            ("", Ok(_)) => {}
            ("", Err(e)) => panic!("should load: {e}"),
            (_, Ok(_)) => panic!("should be refused:\n{extra}"),
            (want, Err(e)) => assert!(e.to_string().contains(want), "expected `{want}` in:\n{e}"),
        }
    }
}

#[test]
fn explain_states_when_and_how_the_contract_can_end_early() {
    let text = std::fs::read_to_string("tests/reference/termination.toml").unwrap();
    let m = model(&text, &[]);
    let words = pbrsim::explain::explain(&m);
    for want in [
        "The commissioner ends the contract at the end of month 40.",
        "3 months later once prime's net so far (revenue less cost) falls below -400,000.",
        "Minimum performance `year1_big`: in months 0 to 11, big must achieve at least 0.0900 outcome events per referral (a); below it, the commissioner ends the contract 3 months after it.",
        "below it, 50% of big's later referrals in these segments go to small.",
        "the commissioner pays the prime 120,000 when the contract ends.",
    ] {
        assert!(words.contains(want), "expected `{want}` in:\n{words}");
    }
}

#[test]
fn shifted_poisson_referrals_have_the_thinned_mean() {
    // Nobody enters outcome, so the prime's level is 0 and always below:
    // from month 6 its Poisson referrals of s (mean 5 a month) are drawn
    // with mean 5 x 0.6, and 5 x 0.4 move to the subcontractor.
    let text = PERFORMANCE
        .replace(
            "[segments.s.allocation]\nprime = 1.0",
            "[segments.s.allocation]\nprime = 0.5\nsub = 0.5",
        )
        .replace("baseline_hazard = 50.0", "baseline_hazard = 0.0")
        .replace(
            "referrals_per_month = 10\nreferral_process = \"fixed\"\n[segments.s.sustained]",
            "referrals_per_month = 10\nreferral_process = \"poisson\"\n[segments.s.sustained]",
        )
        .replace(
            "[prime]\nreserves = 1000000",
            "[prime]\nreserves = 1000000\ncost_per_referral = 1",
        );
    let level = "[termination]\n[[termination.minimum_performance]]\nlabel = \"mpl\"\nsegments = [\"s\"]\nprovider = \"prime\"\nfrom_month = 0\nto_month = 6\nminimum = 0.1\nconsequence = \"shift\"\nshift_to = \"sub\"\nshare = 0.4\n";
    let m = model(&format!("{text}{level}"), &[]);
    let (mut shifted, mut kept) = (Vec::new(), Vec::new());
    each_iteration(&m, 17, 4000, |r| {
        assert!(r.performance[0].1);
        shifted.push(r.shifted[0] as f64);
        // The prime's referrals of s in months 6-11 cost £1 each.
        kept.push(r.parties[PRIME].cost as f64 / 100.0);
    });
    let (mean, se) = crate::common::mean_se(&shifted);
    crate::common::assert_within("referrals shifted", mean, se, 6.0 * 5.0 * 0.4, 4.5);
    let (mean, se) = crate::common::mean_se(&kept);
    crate::common::assert_within(
        "prime's referrals",
        mean,
        se,
        6.0 * 5.0 + 6.0 * 5.0 * 0.6,
        4.5,
    );
}
