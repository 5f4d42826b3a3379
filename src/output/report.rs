//! The terminal summary: grouped, aligned, rounded for reading.

use super::RunInfo;
use super::tables::{cost_per_attributable_outcome, ratio};
use crate::engine::RunResult;
use crate::model::Model;
use std::fmt::Write;

/// Thousands separators and sensible rounding for money and counts.
pub fn fmt_pounds(x: f64) -> String {
    if !x.is_finite() {
        return "-".into();
    }
    let neg = x < 0.0;
    let r = x.abs().round() as u128;
    let digits = r.to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    // A mean that rounds to zero is 0, not -0.
    if neg && r > 0 { format!("-{out}") } else { out }
}

/// A share as a percentage, or "undefined" when the whole it divides is
/// zero in the worlds it describes.
fn fmt_share(share: f64) -> String {
    if share.is_finite() {
        format!("{:.1}%", 100.0 * share)
    } else {
        "undefined".into()
    }
}

fn fmt_prob(p: f64, se: f64) -> String {
    format!("{:5.1}% ±{:.1}", 100.0 * p, 100.0 * se)
}

/// Renders the report printed by `pbrsim run`.
pub fn render_report(info: &RunInfo, model: &Model, result: &RunResult) -> String {
    let mut o = String::new();
    // Randomisations holding iterations (all of them unless the run is
    // shorter than their number).
    let randomisations = (result.summary.replicates.as_ref())
        .map(|r| crate::qmc::randomisations_holding(r.count, result.summary.iterations));
    let _ = writeln!(
        o,
        "{} · {} iterations{} · seed {} · pbrsim {} · scenario {}",
        info.scenario_name,
        fmt_pounds(info.iterations as f64),
        if randomisations.is_some() {
            " (Sobol' points)"
        } else {
            ""
        },
        info.seed,
        info.version,
        &info.scenario_hash[..12]
    );
    let errors = match randomisations {
        Some(r) => format!("standard error from {r} independent randomisations"),
        None => "standard error".into(),
    };
    let _ = writeln!(
        o,
        "Money in {}; mean ±{errors}, then 5th / 50th / 95th percentiles over iterations.\n",
        model.currency
    );
    party_table(result, &mut o);
    provider_table(model, result, &mut o);
    downside_table(result, &mut o);
    commissioner_lines(model, result, &mut o);
    payers_table(model, result, &mut o);
    improvement_lines(model, result, &mut o);
    o.push_str(&by_segment(model, result));
    o
}

/// Each party's money: mean, standard error and percentiles.
fn party_table(result: &RunResult, o: &mut String) {
    let cat = &result.catalog;
    let s = &result.summary;
    let idx = |party: &str, name: &str| figure(result, party, name);
    let _ = writeln!(
        o,
        "{:<22} {:<18} {:>16} {:>10} {:>15} {:>15} {:>15}",
        "party", "figure", "mean", "±se", "p5", "p50", "p95"
    );
    for (account, id, _) in &cat.parties {
        for name in ["revenue", "cost", "net", "npv", "peak_funding_need"] {
            if *account < crate::model::PRIME && name == "revenue" {
                continue;
            }
            let Some(k) = idx(id, name) else { continue };
            let (m, q) = (&s.moments[k], &s.sketches[k]);
            let _ = writeln!(
                o,
                "{:<22} {:<18} {:>16} {:>10} {:>15} {:>15} {:>15}",
                id,
                name,
                fmt_pounds(m.mean()),
                fmt_pounds(s.mean_se(k, false)),
                fmt_pounds(q.quantile(0.05)),
                fmt_pounds(q.quantile(0.5)),
                fmt_pounds(q.quantile(0.95))
            );
        }
    }
}

/// Each provider's chance of loss and failure, and investors' returns.
fn provider_table(model: &Model, result: &RunResult, o: &mut String) {
    let cat = &result.catalog;
    let s = &result.summary;
    let idx = |party: &str, name: &str| figure(result, party, name);
    let mean = |k: usize| s.moments[k].mean();
    let _ = writeln!(
        o,
        "\n{:<22} {:>14} {:>14} {:>22} {:>22}",
        "provider", "P(loss)", "P(failure)", "failure month (median)", "net, worst 5% (mean)"
    );
    for (account, id, _) in cat
        .parties
        .iter()
        .filter(|(a, _, _)| model.provider_of_account(*a).is_some())
    {
        let _ = account;
        let with_se = |name: &str| {
            idx(id, name).map_or((f64::NAN, f64::NAN), |k| (mean(k), s.mean_se(k, true)))
        };
        let (loss, fail) = (with_se("loss"), with_se("failed"));
        let month = idx(id, "failure_month")
            .map(|k| s.sketches[k].quantile(0.5))
            .unwrap_or(f64::NAN);
        let shortfall = idx(id, "net")
            .and_then(|k| s.sketches[k].tail(0.05, false))
            .map_or(f64::NAN, |t| t.1);
        let _ = writeln!(
            o,
            "{:<22} {:>14} {:>14} {:>22} {:>22}",
            id,
            fmt_prob(loss.0, loss.1),
            fmt_prob(fail.0, fail.1),
            if month.is_finite() {
                format!("{month:.0}")
            } else {
                "-".into()
            },
            fmt_pounds(shortfall)
        );
    }
    if let Some(k) = idx("contract", "terminated") {
        let ended = mean(k);
        let month = idx("contract", "termination_month")
            .map(|k| s.sketches[k].quantile(0.5))
            .unwrap_or(f64::NAN);
        let _ = writeln!(
            o,
            "\nended early by the commissioner: {}{}",
            fmt_prob(ended, s.mean_se(k, true)),
            if month.is_finite() {
                format!(", median month {month:.0}")
            } else {
                String::new()
            },
        );
    }
    if !model.investors.is_empty() {
        let _ = writeln!(
            o,
            "\n{:<22} {:>16} {:>16} {:>14} {:>14}",
            "investor", "capital drawn", "repaid", "money multiple", "IRR (median)"
        );
        for inv in &model.investors {
            let k = |name: &str| idx(&inv.id, name);
            let m = |name: &str| k(name).map_or(f64::NAN, mean);
            let irr = k("irr").map_or(f64::NAN, |i| s.sketches[i].quantile(0.5));
            let _ = writeln!(
                o,
                "{:<22} {:>16} {:>16} {:>14.2} {:>13.1}%",
                inv.id,
                fmt_pounds(m("capital_drawn")),
                fmt_pounds(m("repaid")),
                m("money_multiple"),
                100.0 * irr
            );
        }
    }
}

/// Who bears the downside of the contract's net value.
fn downside_table(result: &RunResult, o: &mut String) {
    let cat = &result.catalog;
    let shares = result.summary.allocation.shares(0.05);
    if !shares.is_empty() {
        let _ = writeln!(
            o,
            "\nWho bears the downside of the contract's net value (savings less all costs)"
        );
        let _ = writeln!(
            o,
            "{:<22} {:>26} {:>14} {:>16}",
            "party", "mean in worst 5% of worlds", "share there", "share of variance"
        );
        for ((_, id, _), s) in cat.parties.iter().zip(&shares) {
            let _ = writeln!(
                o,
                "{:<22} {:>26} {:>14} {:>16}",
                id,
                fmt_pounds(s.tail_mean),
                fmt_share(s.tail_share),
                fmt_share(s.variance_share)
            );
        }
        let outside = |x: f64| x.is_finite() && !(0.0..=1.0).contains(&x);
        if shares
            .iter()
            .any(|s| outside(s.tail_share) || outside(s.variance_share))
        {
            let _ = writeln!(
                o,
                "(a share below 0% is a party that gains in those worlds while the contract loses; \
                 the others' shares then add to more than 100%)"
            );
        }
        if shares
            .iter()
            .any(|s| !s.tail_share.is_finite() || !s.variance_share.is_finite())
        {
            let _ = writeln!(
                o,
                "(undefined: the contract's net value does not vary, or is zero in its worst worlds)"
            );
        }
    }
}

/// What the commissioner paid and got, and its ratios.
fn commissioner_lines(model: &Model, result: &RunResult, o: &mut String) {
    let s = &result.summary;
    let idx = |party: &str, name: &str| figure(result, party, name);
    let _ = writeln!(
        o,
        "\nCommissioner{}",
        model
            .co_funder
            .as_ref()
            .map_or(String::new(), |f| format!(" (with co-funder {})", f.label))
    );
    let rows: [(&str, &str); 24] = [
        ("paid.attachment", "paid: attachment fees"),
        ("paid.service_fee", "paid: service fee"),
        ("paid.outcome", "paid: outcome payments"),
        ("paid.sustainment", "paid: sustainment payments"),
        ("paid.improvement", "paid: improvement payments"),
        ("paid.fee_for_service", "paid: fee for service"),
        ("paid.termination", "paid: on ending the contract"),
        ("paid.total", "paid: total"),
        ("co_funded", "  of which co-funder"),
        ("clawed_back", "fee for service clawed back"),
        ("removed_by_participant_cap", "removed by participant cap"),
        ("removed_by_contract_cap", "removed by contract caps"),
        ("beyond_horizon", "due beyond the horizon"),
        ("referrals", "referrals"),
        ("outcomes", "outcomes"),
        ("counterfactual_outcomes", "expected without programme"),
        ("attributable_outcomes", "attributable outcomes"),
        ("deadweight", "deadweight payments"),
        ("savings", "fiscal savings"),
        ("adverse_events", "adverse events"),
        (
            "counterfactual_adverse_events",
            "  expected without programme",
        ),
        ("adverse_events_avoided", "  events avoided"),
        ("net_value", "net value to the public"),
        ("net_value_npv", "  NPV of net value"),
    ];
    for (name, label) in rows {
        let Some(k) = idx("commissioner", name) else {
            continue;
        };
        let (m, q) = (&s.moments[k], &s.sketches[k]);
        if name == "co_funded" && model.co_funder.is_none() {
            continue;
        }
        // A figure that is zero in every world says nothing about this contract.
        if name != "paid.total" && m.min == 0.0 && m.max == 0.0 {
            continue;
        }
        let _ = writeln!(
            o,
            "  {:<30} {:>16} ±{:<10} [{} .. {}]",
            label,
            fmt_pounds(m.mean()),
            fmt_pounds(s.mean_se(k, false)),
            fmt_pounds(q.quantile(0.05)),
            fmt_pounds(q.quantile(0.95))
        );
    }
    let has_sustained = model.segments.iter().any(|s| s.sustained().is_some());
    match cost_per_attributable_outcome(result) {
        Some((r, se)) => {
            let _ = writeln!(
                o,
                "  {:<30} {:>16} ±{:<10} (ratio of means)",
                "cost per attributable outcome",
                fmt_pounds(r),
                fmt_pounds(se)
            );
        }
        None if has_sustained => {
            let _ = writeln!(
                o,
                "  {:<30} {:>16}  (no attributable outcomes on average)",
                "cost per attributable outcome", "undefined"
            );
        }
        None => {}
    }
    if model.segments.iter().any(|s| s.adverse_events().is_some()) {
        match ratio(result, "cost_per_adverse_event_avoided") {
            Some((r, se)) => {
                let _ = writeln!(
                    o,
                    "  {:<30} {:>16} ±{:<10} (ratio of means)",
                    "cost per adverse event avoided",
                    fmt_pounds(r),
                    fmt_pounds(se)
                );
            }
            None => {
                let _ = writeln!(
                    o,
                    "  {:<30} {:>16}  (no events avoided on average)",
                    "cost per adverse event avoided", "undefined"
                );
            }
        }
    }
    if let Some((r, se)) = ratio(result, "deadweight_share") {
        let _ = writeln!(
            o,
            "  {:<30} {:>15.1}% ±{:<9.1} (deadweight over outcome and sustainment payments)",
            "deadweight share",
            100.0 * r,
            100.0 * se
        );
    }
    if let Some((r, se)) = ratio(result, "benefit_cost_ratio") {
        let _ = writeln!(
            o,
            "  {:<30} {:>16.2} ±{:<10.2} (savings over payments and own costs)",
            "benefit-cost ratio", r, se
        );
    }
}

/// Each improvement rule's measurements.
fn improvement_lines(model: &Model, result: &RunResult, o: &mut String) {
    let s = &result.summary;
    let idx = |party: &str, name: &str| figure(result, party, name);
    let mean = |k: usize| s.moments[k].mean();
    if !model.payments.improvement.is_empty() {
        let _ = writeln!(
            o,
            "\nImprovement payments: P(paid) ±se, mean relative improvement, per measurement"
        );
        for r in &model.payments.improvement {
            // Each cohort after its interims, in the order they are measured.
            let mut names: Vec<String> = (1..=r.cohorts.len())
                .flat_map(|k| {
                    r.interim_months
                        .iter()
                        .map(move |m| format!("cohort{k}.month{m}"))
                        .chain(std::iter::once(format!("cohort{k}")))
                })
                .collect();
            if r.final_threshold_ppm.is_some() {
                names.push("final".into());
            }
            let row = |m: &str| {
                let (met, met_se) = idx("improvement", &format!("{}.{m}.met", r.label))
                    .map_or((f64::NAN, f64::NAN), |k| (mean(k), s.mean_se(k, true)));
                let rel = idx(
                    "improvement",
                    &format!("{}.{m}.relative_improvement", r.label),
                )
                .map_or(f64::NAN, mean);
                (met, rel, met_se)
            };
            // Many cohorts: their range, then the final measurement.
            if r.cohorts.len() > 6 {
                let rows: Vec<(f64, f64, f64)> = (1..=r.cohorts.len())
                    .map(|k| row(&format!("cohort{k}")))
                    .collect();
                let (lo, hi) = rows.iter().fold(
                    (f64::INFINITY, f64::NEG_INFINITY),
                    |(lo, hi), &(m, _, _)| (lo.min(m), hi.max(m)),
                );
                let rel = rows.iter().map(|&(_, r, _)| r).sum::<f64>() / rows.len() as f64;
                let _ = writeln!(
                    o,
                    "  {:<30} {:>5.1}%-{:.1}% {:>10.2}%  (each of {} cohorts)",
                    format!("{} cohorts", r.label),
                    100.0 * lo,
                    100.0 * hi,
                    100.0 * rel,
                    rows.len()
                );
                names.retain(|m| m == "final");
            }
            for m in names {
                let (met, rel, se) = row(&m);
                let _ = writeln!(
                    o,
                    "  {:<30} {:>14} {:>12.2}%",
                    format!("{} {m}", r.label),
                    fmt_prob(met, se),
                    100.0 * rel
                );
            }
        }
    }
}

/// The index of figure `party.name` in a run's catalog.
fn figure(result: &RunResult, party: &str, name: &str) -> Option<usize> {
    result
        .catalog
        .figures
        .iter()
        .position(|f| f.party == party && f.name == name)
}

/// What each segment brought and was paid: means over iterations, and the
/// segment's payments per referral and per outcome (ratios of means).
fn by_segment(model: &Model, result: &RunResult) -> String {
    let mut o = String::new();
    if model.segments.len() < 2 {
        return o;
    }
    let mean = |name: &str| {
        result
            .catalog
            .figures
            .iter()
            .position(|f| f.key() == name)
            .map_or(f64::NAN, |k| result.summary.moments[k].mean())
    };
    let per =
        |name: &str| ratio(result, name).map_or("undefined".to_string(), |(r, _)| fmt_pounds(r));
    let _ = writeln!(
        o,
        "\nBy segment (means; paid for its participants by both payers, service fees and the fee for service excluded)"
    );
    let _ = writeln!(
        o,
        "  {:<24} {:>12} {:>10} {:>16} {:>14} {:>14}",
        "segment", "referrals", "outcomes", "paid", "per referral", "per outcome"
    );
    for s in &model.segments {
        let at = |name: &str| format!("segment.{}.{name}", s.id);
        let _ = writeln!(
            o,
            "  {:<24} {:>12} {:>10} {:>16} {:>14} {:>14}",
            s.id,
            fmt_pounds(mean(&at("referrals"))),
            fmt_pounds(mean(&at("outcomes"))),
            fmt_pounds(mean(&at("paid.total"))),
            per(&at("paid_per_referral")),
            per(&at("paid_per_outcome")),
        );
    }
    o
}

/// Renders `pbrsim compare`: headline figures of A and B with the paired
/// difference and what independent runs would have given.
pub fn render_comparison(
    a: &crate::scenario::Loaded,
    b: &crate::scenario::Loaded,
    pairs: &[crate::engine::compare::Paired],
    config: &crate::engine::RunConfig,
) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "A: {} ({})\nB: {} ({})",
        a.model.name,
        &a.hash[..12],
        b.model.name,
        &b.hash[..12]
    );
    let _ = writeln!(
        o,
        "{} iterations on common random numbers{}, seed {}. Difference = B - A, iteration by iteration.\n",
        fmt_pounds(config.iterations as f64),
        match config.sampling.randomisations() {
            Some(r) => format!(
                " (Sobol' points; errors from {} independent randomisations)",
                crate::qmc::randomisations_holding(r, config.iterations)
            ),
            None => String::new(),
        },
        config.seed
    );
    let _ = writeln!(
        o,
        "{:<40} {:>14} {:>14} {:>14} {:>12} {:>16}",
        "figure", "A", "B", "B - A", "±se paired", "±se independent"
    );
    let headline = |key: &str| {
        let name = key.split_once('.').map_or(key, |(_, n)| n);
        matches!(
            name,
            "net"
                | "npv"
                | "peak_funding_need"
                | "loss"
                | "failed"
                | "paid.total"
                | "outcomes"
                | "attributable_outcomes"
                | "deadweight"
                | "net_value"
                | "adverse_events_avoided"
                | "capital_drawn"
                | "repaid"
        )
    };
    // A figure that never varies in either contract says nothing here.
    let varies = |p: &&crate::engine::compare::Paired| {
        !(p.a.min == p.a.max && p.b.min == p.b.max && p.a.mean() == p.b.mean())
    };
    for p in pairs.iter().filter(|p| headline(&p.key)).filter(varies) {
        let probability = p.key.ends_with(".loss") || p.key.ends_with(".failed");
        let show = |x: f64| {
            if probability {
                format!("{:.1}%", 100.0 * x)
            } else {
                fmt_pounds(x)
            }
        };
        let _ = writeln!(
            o,
            "{:<40} {:>14} {:>14} {:>14} {:>12} {:>16}",
            p.key,
            show(p.a.mean()),
            show(p.b.mean()),
            show(p.difference.mean()),
            show(p.difference_se()),
            show(p.independent_se())
        );
    }
    o
}

/// Renders `pbrsim validate`: the scenario's name and size, once it loads.
pub fn render_validation(loaded: &crate::scenario::Loaded) -> String {
    let m = &loaded.model;
    format!(
        "{}: ok: \"{}\", {} segment(s), {} provider(s), {} months (referrals in the first {})\n",
        loaded.origin,
        m.name,
        m.segments.len(),
        m.providers.len(),
        m.horizon,
        m.referral_months
    )
}

/// With several public payers or a pooled budget: each body's payments,
/// savings, value, wrong-pocket amount and chance of a negative net value
/// (means; docs/model.md 12).
fn payers_table(model: &Model, result: &RunResult, o: &mut String) {
    if !model.shared_payments() {
        return;
    }
    let s = &result.summary;
    let _ = writeln!(
        o,
        "\nPublic bodies (means; savings by their shares, wrong pocket: savings beyond their share of payments)"
    );
    let _ = writeln!(
        o,
        "{:<22} {:>15} {:>15} {:>15} {:>15} {:>15} {:>16}",
        "body", "paid", "savings", "net value", "NPV", "wrong pocket", "P(net value < 0)"
    );
    let ids = std::iter::once("commissioner").chain(model.payers.iter().map(|p| p.id.as_str()));
    for id in ids {
        let party = format!("payer.{id}");
        let mean =
            |name: &str| figure(result, &party, name).map_or(f64::NAN, |k| s.moments[k].mean());
        let loss = mean("loss");
        let loss_se = figure(result, &party, "loss").map_or(f64::NAN, |k| s.mean_se(k, true));
        let _ = writeln!(
            o,
            "{:<22} {:>15} {:>15} {:>15} {:>15} {:>15} {:>16}",
            id,
            fmt_pounds(mean("paid")),
            fmt_pounds(mean("savings")),
            fmt_pounds(mean("net_value")),
            fmt_pounds(mean("npv")),
            fmt_pounds(mean("wrong_pocket")),
            fmt_prob(loss, loss_se)
        );
    }
    if model.pooled_budget.is_some() {
        let mean = |name: &str| {
            figure(result, "pooled_budget", name).map_or(f64::NAN, |k| s.moments[k].mean())
        };
        let _ = writeln!(
            o,
            "pooled budget: paid in {}, paid out {}, overrun {}, returned {}, kept {}",
            fmt_pounds(mean("contributed")),
            fmt_pounds(mean("paid_out")),
            fmt_pounds(mean("overrun")),
            fmt_pounds(mean("returned")),
            fmt_pounds(mean("kept"))
        );
    }
}
