//! Fixed and variable delivery costs (docs/model.md §6): exact costs in
//! pence at planned volume, at a shortfall, beyond the plan, with a notice
//! period and with the cost multiplier; and the break-even volume.

use crate::common::{each_iteration, model};
use pbrsim::engine::operating::{BreakEven, leverage};
use pbrsim::model::{PRIME, Pence};

/// 100 referrals a month (exactly) for 6 months, each in the programme
/// for 2 months, nobody entering outcome. At volume 1 the caseload costs
/// £10,000 of referrals a month plus £10 per participant-month:
/// £11,000 in month 0, £12,000 in months 1-5, £1,000 in month 6, nothing
/// after (£72,000 in all).
const CASELOAD: &str = r#"
name = "caseload"
[time]
horizon_months = 12
referral_months = 6
[segments.s]
referrals_per_month = 100
referral_process = "fixed"
[segments.s.sustained]
baseline_hazard = 0.0
window_months = 2
qualifying_months = 1
dropout = 0.0
max_sustainment_months = 0
[segments.s.tariff]
attachment = 0
[segments.s.allocation]
prime = 1.0
[prime]
reserves = 100000000
cost_per_referral = 100
cost_per_participant_month = 10
"#;

/// The prime's delivery cost by month, in pence, for one iteration.
fn costs(sets: &[&str]) -> Vec<Pence> {
    let m = model(CASELOAD, sets);
    let mut out = vec![];
    each_iteration(&m, 1, 1, |r| {
        out = (0..m.horizon)
            .map(|t| -r.monthly[PRIME * m.horizon + t])
            .collect();
        assert_eq!(out.iter().sum::<Pence>(), r.parties[PRIME].cost);
    });
    out
}

/// Pounds to pence, month by month, padded with zeros to 12 months.
fn pence(pounds: &[Pence]) -> Vec<Pence> {
    let mut v: Vec<Pence> = pounds.iter().map(|p| p * 100).collect();
    v.resize(12, 0);
    v
}

const PLANNED: [Pence; 7] = [11_000, 12_000, 12_000, 12_000, 12_000, 12_000, 1_000];

#[test]
fn at_planned_volume_the_fixed_and_variable_parts_add_up_to_the_unit_costs() {
    for share in ["0", "0.2", "0.77", "1"] {
        let set = format!("prime.fixed_cost_share={share}");
        assert_eq!(costs(&[&set]), pence(&PLANNED), "share {share}");
    }
}

#[test]
fn a_shortfall_cuts_only_the_variable_part() {
    // Half the volume: 77% of the planned cost plus 23% of half of it.
    // £11,000 -> 8,470 + 1,265; £12,000 -> 9,240 + 1,380; £1,000 -> 770 + 115.
    let got = costs(&["prime.fixed_cost_share=0.77", "uncertainty.volume=0.5"]);
    assert_eq!(
        got,
        pence(&[9_735, 10_620, 10_620, 10_620, 10_620, 10_620, 885])
    );
    assert_eq!(got.iter().sum::<Pence>(), 6_372_000);
    // Without a fixed share the cost halves.
    let variable = costs(&["uncertainty.volume=0.5"]);
    assert_eq!(variable.iter().sum::<Pence>(), 3_600_000);
}

#[test]
fn volume_beyond_the_plan_costs_only_the_variable_part() {
    // 1.5 times the volume: £11,000 -> 8,470 + 0.23 x 16,500 = 12,265;
    // £12,000 -> 9,240 + 4,140 = 13,380; £1,000 -> 770 + 345 = 1,115.
    let expected = pence(&[12_265, 13_380, 13_380, 13_380, 13_380, 13_380, 1_115]);
    for notice in [None, Some("prime.capacity_notice_months=1")] {
        let mut sets = vec!["prime.fixed_cost_share=0.77", "uncertainty.volume=1.5"];
        sets.extend(notice);
        assert_eq!(costs(&sets), expected, "{notice:?}");
    }
}

#[test]
fn after_a_notice_period_capacity_follows_the_shortfall() {
    // Months 0-1 pay the planned capacity; from month 2 capacity is the
    // plan times the half reached two months earlier, so the whole cost
    // is half the plan: £6,000 in months 2-5, £500 in month 6.
    let got = costs(&[
        "prime.fixed_cost_share=0.77",
        "prime.capacity_notice_months=2",
        "uncertainty.volume=0.5",
    ]);
    assert_eq!(
        got,
        pence(&[9_735, 10_620, 6_000, 6_000, 6_000, 6_000, 500])
    );
    // A notice of 0 months makes every cost follow the caseload.
    let at_once = costs(&[
        "prime.fixed_cost_share=0.77",
        "prime.capacity_notice_months=0",
        "uncertainty.volume=0.5",
    ]);
    assert_eq!(at_once, costs(&["uncertainty.volume=0.5"]));
}

#[test]
fn the_cost_multiplier_scales_both_parts_and_overhead_is_fixed() {
    // Half the volume, costs 10% higher, £1,000 overhead in months 0-2:
    // fixed (0.77 x plan + overhead) x 1.1, variable 0.23 x half x 1.1.
    // Month 0: (8,470 + 1,000) x 1.1 = 10,417 and 1,265 x 1.1 = 1,391.50.
    let got = costs(&[
        "prime.fixed_cost_share=0.77",
        "uncertainty.volume=0.5",
        "uncertainty.cost=1.1",
        "prime.overhead_per_month=1000",
        "prime.overhead_months=3",
    ]);
    let expected: Vec<Pence> = vec![
        1_041_700 + 139_150,
        1_126_400 + 151_800,
        1_126_400 + 151_800,
        1_016_400 + 151_800,
        1_016_400 + 151_800,
        1_016_400 + 151_800,
        84_700 + 12_650,
        0,
        0,
        0,
        0,
        0,
    ];
    assert_eq!(got, expected);
}

#[test]
fn explain_states_the_split_and_the_break_even_volume() {
    // An attachment fee of £150 per referral against £100 per referral and
    // £10 per programme month (£120 per referral over 2 months, £72,000
    // planned), half of it fixed: income 150 x 600 v = 90,000 v,
    // cost 36,000 + 36,000 v, so it breaks even at v = 36 / 54 = 2/3.
    let m = model(
        CASELOAD,
        &[
            "prime.fixed_cost_share=0.5",
            "segments.s.tariff.attachment=150",
        ],
    );
    let l = leverage(&m, 0);
    assert_eq!((l.fixed, l.variable), (3_600_000.0, 3_600_000.0));
    let BreakEven::At {
        volume,
        gains_above,
    } = l.break_even
    else {
        panic!("{:?}", l.break_even)
    };
    assert!((volume - 2.0 / 3.0).abs() < 1e-8 && gains_above, "{volume}");
    let text = pbrsim::explain::explain(&m);
    assert!(
        text.contains("50% of its unit costs are capacity")
            && text.contains("36,000 fixed and 36,000 variable")
            && text.contains("breaks even at 67% of the planned volume and loses below it"),
        "{text}"
    );
    // With a notice of 0 months capacity follows a shortfall at once:
    // cost 72,000 v up to the plan, so the prime gains at every volume.
    let m = model(
        CASELOAD,
        &[
            "prime.fixed_cost_share=0.5",
            "prime.capacity_notice_months=0",
            "segments.s.tariff.attachment=150",
        ],
    );
    assert_eq!(leverage(&m, 0).break_even, BreakEven::AlwaysGains);
}

#[test]
fn a_subcontractor_breaks_even_on_its_fees_net_of_the_management_fee() {
    // The same caseload at a subcontractor paid £200 per referral less a
    // 25% management fee: income 150 x 600 v against 36,000 + 36,000 v.
    let m = model(
        CASELOAD,
        &[
            "subcontractors={ sub = { reserves = 100000000, cost_per_referral = 100, cost_per_participant_month = 10, fixed_cost_share = 0.5, fee_per_referral = 200, management_fee = 0.25 } }",
            "segments.s.allocation={ prime = 0.0, sub = 1.0 }",
        ],
    );
    let l = leverage(&m, 1);
    assert_eq!((l.fixed, l.variable), (3_600_000.0, 3_600_000.0));
    match l.break_even {
        BreakEven::At {
            volume,
            gains_above: true,
        } if (volume - 2.0 / 3.0).abs() < 1e-8 => {}
        other => panic!("{other:?}"),
    }
    assert!(
        pbrsim::explain::explain(&m).contains("the prime's fees per referral"),
        "{}",
        pbrsim::explain::explain(&m)
    );
}

#[test]
fn a_fixed_cost_share_outside_zero_to_one_is_refused() {
    for bad in ["1.5", "-0.1", "nan"] {
        let set: pbrsim::scenario::Override =
            format!("prime.fixed_cost_share={bad}").parse().unwrap();
        let err = pbrsim::scenario::load_str(CASELOAD, "t.toml", &[set])
            .err()
            .unwrap_or_else(|| panic!("{bad} accepted"))
            .to_string();
        assert!(err.contains("prime.fixed_cost_share"), "{err}");
    }
}
