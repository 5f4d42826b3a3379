//! The named per-iteration figures: what every output reports, by stable
//! name (`party.figure`), unit and meaning.

use super::world::IterationResult;
use crate::model::{Between, COMMISSIONER, Consequence, Model, PRIME, SlotKind, to_pounds};

/// Unit of a figure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// Money in the scenario's currency.
    Money,
    /// A count (participants, outcomes).
    Count,
    /// A 0/1 indicator: its mean is a probability.
    Probability,
    /// A month index.
    Month,
    /// A multiplier or rate drawn from the scenario's uncertainty.
    Draw,
    /// A ratio or rate computed from the iteration's money or counts (a
    /// money multiple, an IRR, a relative improvement).
    Ratio,
}

impl Unit {
    /// Name used in outputs.
    pub fn as_str(&self) -> &'static str {
        match self {
            Unit::Money => "money",
            Unit::Count => "count",
            Unit::Probability => "probability",
            Unit::Month => "month",
            Unit::Draw => "draw",
            Unit::Ratio => "ratio",
        }
    }
}

/// One figure.
#[derive(Clone, Debug)]
pub struct Figure {
    /// Party id (`commissioner`, `co_funder`, `prime`, subcontractor id) or `draw`.
    pub party: String,
    /// Name within the party, e.g. `net` or `paid.outcome`.
    pub name: String,
    /// Unit.
    pub unit: Unit,
}

impl Figure {
    /// Whether a high value is the bad outcome (a cost, a payment made, a
    /// funding need), so that its risk tail is the upper one.
    pub fn worse_when_high(&self) -> bool {
        let n = self.name.as_str();
        n.starts_with("paid.")
            || matches!(
                n,
                "cost"
                    | "peak_funding_need"
                    | "capital_drawn"
                    | "co_funded"
                    | "own_costs"
                    | "deadweight"
                    | "removed_by_participant_cap"
                    | "removed_by_contract_cap"
                    | "beyond_horizon"
                    | "cancelled"
                    | "management_fees"
                    | "paid"
                    | "over_budget"
                    | "overrun"
                    | "advanced"
                    | "advance_written_off"
            )
    }

    /// `party.name`.
    pub fn key(&self) -> String {
        format!("{}.{}", self.party, self.name)
    }
}

/// A run-level ratio of means, `E[sum of numerator figures] / E[sum of
/// denominator figures]`.
#[derive(Clone, Debug)]
pub struct Ratio {
    /// Name in outputs.
    pub name: String,
    /// Figure indices summed for the numerator.
    pub numerator: Vec<usize>,
    /// Figure indices summed for the denominator.
    pub denominator: Vec<usize>,
}

/// The figures of a model, in output order.
#[derive(Clone, Debug)]
pub struct Catalog {
    /// Every figure.
    pub figures: Vec<Figure>,
    /// Account indices reported as parties, with their ids and labels.
    pub parties: Vec<(usize, String, String)>,
    /// Run-level ratios of means.
    pub ratios: Vec<Ratio>,
    /// Per reported party, the figures whose sum is its contribution to
    /// the contract's net value: its net, and for the commissioner its
    /// fiscal savings too.
    pub contributions: Vec<Vec<usize>>,
}

const PARTY_FIGURES: [(&str, Unit); 8] = [
    ("revenue", Unit::Money),
    ("cost", Unit::Money),
    ("net", Unit::Money),
    ("npv", Unit::Money),
    ("lowest_cash", Unit::Money),
    ("peak_funding_need", Unit::Money),
    ("loss", Unit::Probability),
    ("failed", Unit::Probability),
];

const COMMISSIONER_FIGURES: [(&str, Unit); 29] = [
    ("paid.attachment", Unit::Money),
    ("paid.service_fee", Unit::Money),
    ("paid.outcome", Unit::Money),
    ("paid.sustainment", Unit::Money),
    ("paid.improvement", Unit::Money),
    ("paid.fee_for_service", Unit::Money),
    ("paid.total", Unit::Money),
    ("co_funded", Unit::Money),
    ("clawed_back", Unit::Money),
    ("removed_by_participant_cap", Unit::Money),
    ("removed_by_contract_cap", Unit::Money),
    ("beyond_horizon", Unit::Money),
    ("cancelled", Unit::Money),
    ("own_costs", Unit::Money),
    ("referrals", Unit::Count),
    ("outcomes", Unit::Count),
    ("counterfactual_outcomes", Unit::Count),
    ("attributable_outcomes", Unit::Count),
    ("deadweight", Unit::Money),
    ("outcome_months", Unit::Count),
    ("attributable_outcome_months", Unit::Count),
    ("savings", Unit::Money),
    ("net_value", Unit::Money),
    ("net_value_npv", Unit::Money),
    ("management_fees", Unit::Money),
    ("adverse_events", Unit::Count),
    ("people_with_event", Unit::Count),
    ("counterfactual_adverse_events", Unit::Count),
    ("adverse_events_avoided", Unit::Count),
];

/// Per segment (`segment.<id>.*`), in the order `fill` writes them.
const SEGMENT_FIGURES: [(&str, Unit); 7] = [
    ("referrals", Unit::Count),
    ("outcomes", Unit::Count),
    ("paid.total", Unit::Money),
    ("paid.attachment", Unit::Money),
    ("paid.outcome", Unit::Money),
    ("paid.sustainment", Unit::Money),
    ("paid.improvement", Unit::Money),
];

impl Catalog {
    /// The figures of `model`.
    pub fn new(model: &Model) -> Catalog {
        let parties = parties_of(model);
        let mut figures = Vec::new();
        for (account, id, _) in &parties {
            party_figures(model, *account, id, &mut figures);
        }
        for (name, unit) in COMMISSIONER_FIGURES {
            figures.push(Figure::new("commissioner", name, unit));
        }
        if model.termination.is_some() {
            figures.push(Figure::new("commissioner", "paid.termination", Unit::Money));
            figures.push(Figure::new("contract", "terminated", Unit::Probability));
            figures.push(Figure::new("contract", "termination_month", Unit::Month));
        }
        for level in model
            .termination
            .iter()
            .flat_map(|t| &t.minimum_performance)
        {
            let label = &level.label;
            figures.push(Figure::new(
                "contract",
                format!("{label}.level"),
                Unit::Ratio,
            ));
            figures.push(Figure::new(
                "contract",
                format!("{label}.below_minimum"),
                Unit::Probability,
            ));
            if matches!(level.consequence, Consequence::Shift { .. }) {
                figures.push(Figure::new(
                    "contract",
                    format!("{label}.referrals_shifted"),
                    Unit::Count,
                ));
            }
        }
        rule_figures(model, &mut figures);
        risk_sharing_figures(model, &mut figures);
        instrument_figures(model, &mut figures);
        for s in &model.segments {
            for (name, unit) in SEGMENT_FIGURES {
                figures.push(Figure::new(&format!("segment.{}", s.id), name, unit));
            }
        }
        payer_figures(model, &mut figures);
        figures.push(Figure::new("draw", "volume", Unit::Draw));
        figures.push(Figure::new("draw", "cost", Unit::Draw));
        for y in 0..model.years() {
            figures.push(Figure::new(
                "draw",
                format!("macro.year{}", y + 1),
                Unit::Draw,
            ));
        }
        for s in &model.segments {
            figures.push(Figure::new("draw", format!("effect.{}", s.id), Unit::Draw));
        }
        for key in &model.uncertain_keys {
            figures.push(Figure::new("draw", key.path.clone(), Unit::Draw));
        }
        let find = |k: &str| {
            figures
                .iter()
                .position(|f| f.key() == k)
                .expect("figure exists")
        };
        let contributions = parties
            .iter()
            .map(|(account, id, _)| {
                let mut v = vec![find(&format!("{id}.net"))];
                if let Some(savings) = savings_of(model, *account, id) {
                    v.push(find(&savings));
                }
                v
            })
            .collect();
        let mut ratios = commissioner_ratios(&figures);
        for s in &model.segments {
            let at = |name: &str| {
                let key = format!("segment.{}.{name}", s.id);
                vec![
                    figures
                        .iter()
                        .position(|f| f.key() == key)
                        .expect("figure exists"),
                ]
            };
            for (name, per) in [
                ("paid_per_referral", "referrals"),
                ("paid_per_outcome", "outcomes"),
            ] {
                ratios.push(Ratio {
                    name: format!("segment.{}.{name}", s.id),
                    numerator: at("paid.total"),
                    denominator: at(per),
                });
            }
        }
        Catalog {
            ratios,
            figures,
            parties,
            contributions,
        }
    }

    /// The figure that records a parameter slot's value in each iteration
    /// (`draw.*`); for the shared effect, that of the first segment using
    /// it, and for a macro multiplier, that of the first year it covers.
    pub fn draw_of(&self, model: &Model, kind: SlotKind) -> Option<usize> {
        let key = match kind {
            SlotKind::Volume => "draw.volume".to_string(),
            SlotKind::Cost => "draw.cost".to_string(),
            SlotKind::Macro(k) => {
                let year = model.macro_of_year.iter().position(|&m| m == k)?;
                format!("draw.macro.year{}", year + 1)
            }
            SlotKind::SharedEffect => {
                let segment = model.segments.iter().find(|s| s.effect.is_none())?;
                format!("draw.effect.{}", segment.id)
            }
            SlotKind::SegmentEffect(s) => format!("draw.effect.{}", model.segments[s].id),
            SlotKind::Key(k) => format!("draw.{}", model.uncertain_keys[k].path),
        };
        self.figures.iter().position(|f| f.key() == key)
    }

    /// Writes the figures of one iteration into `row` (money in currency
    /// units), in catalog order.
    pub fn fill(&self, model: &Model, r: &IterationResult, row: &mut Vec<f64>) {
        row.clear();
        for (account, _, _) in &self.parties {
            party_values(model, *account, r, row);
        }
        commissioner_values(model, r, row);
        if model.termination.is_some() {
            row.push(to_pounds(r.commissioner.paid.termination));
            row.push(flag(r.termination_month.is_some()));
            row.push(r.termination_month.map_or(f64::NAN, |m| m as f64));
        }
        let levels = model
            .termination
            .iter()
            .flat_map(|t| &t.minimum_performance);
        for ((&(level, below), shifted), rule) in r.performance.iter().zip(&r.shifted).zip(levels) {
            row.push(level);
            row.push(flag(below));
            if matches!(rule.consequence, Consequence::Shift { .. }) {
                row.push(*shifted as f64);
            }
        }
        let mut v = r.verdicts.iter();
        for (rule, earned) in model.payments.improvement.iter().zip(&r.improvement_earned) {
            for _ in 0..rule.measurements() {
                let verdict = v.next().expect("one verdict per measurement");
                row.push(verdict.relative);
                row.push(flag(verdict.met));
            }
            row.push(to_pounds(*earned));
        }
        for earned in &r.additional_earned {
            row.push(to_pounds(*earned));
        }
        risk_sharing_values(model, r, row);
        instrument_values(model, r, row);
        for s in &r.segments {
            let paid = &s.paid;
            row.extend([
                s.referrals as f64,
                s.outcomes as f64,
                to_pounds(paid.total()),
                to_pounds(paid.attachment),
                to_pounds(paid.outcome),
                to_pounds(paid.sustainment),
                to_pounds(paid.improvement),
            ]);
        }
        payer_values(model, r, row);
        let d = &r.draws;
        row.push(d.volume);
        row.push(d.cost);
        row.extend_from_slice(&d.macro_by_year);
        row.extend_from_slice(&d.effect);
        row.extend_from_slice(&d.keys);
        debug_assert_eq!(row.len(), self.figures.len());
    }
}

/// Risk-sharing figures: what the commissioner paid under corridors and
/// floors, each corridor's net settlement, each floored segment's top-up.
fn risk_sharing_figures(model: &Model, figures: &mut Vec<Figure>) {
    let rs = &model.risk_sharing;
    if rs.corridors.iter().any(|c| c.payer == COMMISSIONER) {
        figures.push(Figure::new("commissioner", "paid.corridor", Unit::Money));
    }
    if rs.has_floors() {
        figures.push(Figure::new("commissioner", "paid.floor", Unit::Money));
    }
    for corridor in &rs.corridors {
        figures.push(Figure::new(
            "corridor",
            format!("{}.settled", corridor.label),
            Unit::Money,
        ));
    }
    for (s, floor) in model.segments.iter().zip(&rs.floors) {
        if floor.is_some() {
            figures.push(Figure::new(
                &format!("segment.{}", s.id),
                "paid.floor",
                Unit::Money,
            ));
        }
    }
}

/// The values of [`risk_sharing_figures`], in the same order.
fn risk_sharing_values(model: &Model, r: &IterationResult, row: &mut Vec<f64>) {
    let rs = &model.risk_sharing;
    if rs.corridors.iter().any(|c| c.payer == COMMISSIONER) {
        row.push(to_pounds(r.commissioner.paid.corridor));
    }
    if rs.has_floors() {
        row.push(to_pounds(r.commissioner.paid.floor));
    }
    for settled in &r.corridors {
        row.push(to_pounds(*settled));
    }
    for (s, floor) in r.segments.iter().zip(&rs.floors) {
        if floor.is_some() {
            row.push(to_pounds(s.paid.floor));
        }
    }
}

fn flag(b: bool) -> f64 {
    if b { 1.0 } else { 0.0 }
}

/// One party's figures, in `PARTY_FIGURES` order and then its provider and
/// investor figures.
fn party_values(model: &Model, account: usize, r: &IterationResult, row: &mut Vec<f64>) {
    let p = &r.parties[account];
    row.extend_from_slice(&[
        to_pounds(p.revenue),
        to_pounds(p.cost),
        to_pounds(p.net()),
        p.npv / 100.0,
        to_pounds(p.lowest_cash),
        to_pounds(p.peak_funding_need),
        flag(p.net() < 0),
    ]);
    if model.provider_of_account(account).is_some() {
        row.push(flag(p.failure_month.is_some()));
        row.push(p.failure_month.map_or(f64::NAN, |m| m as f64));
    }
    if is_investor(model, account) {
        let (drawn, repaid) = r.investors[account - model.investor_account(0)];
        let h = model.horizon;
        row.push(to_pounds(drawn));
        row.push(to_pounds(repaid));
        row.push(if drawn > 0 {
            repaid as f64 / drawn as f64
        } else {
            f64::NAN
        });
        row.push(
            crate::finance::irr(&r.monthly[account * h..(account + 1) * h]).unwrap_or(f64::NAN),
        );
    }
}

/// The commissioner's figures, in `COMMISSIONER_FIGURES` order.
fn commissioner_values(model: &Model, r: &IterationResult, row: &mut Vec<f64>) {
    let c = &r.commissioner;
    let paid = c.paid.total();
    let attributable = c.outcomes as f64 - c.counterfactual_outcomes;
    let net_value = c.savings - (paid + c.own_costs + c.advance_written_off) as f64;
    let mut payer_npv = r.parties[0].npv + r.parties[1].npv;
    for body in &r.parties[model.payer_account(0)..] {
        payer_npv += body.npv;
    }
    row.extend_from_slice(&[
        to_pounds(c.paid.attachment),
        to_pounds(c.paid.service_fee),
        to_pounds(c.paid.outcome),
        to_pounds(c.paid.sustainment),
        to_pounds(c.paid.improvement),
        to_pounds(c.paid.fee_for_service),
        to_pounds(paid),
        to_pounds(c.co_funded),
        to_pounds(c.clawed_back),
        to_pounds(c.removed_by_participant_cap),
        to_pounds(c.removed_by_contract_cap),
        to_pounds(c.beyond_horizon),
        to_pounds(c.cancelled),
        to_pounds(c.own_costs),
        c.referrals as f64,
        c.outcomes as f64,
        c.counterfactual_outcomes,
        attributable,
        c.deadweight / 100.0,
        c.outcome_months as f64,
        c.outcome_months as f64 - c.counterfactual_outcome_months,
        c.savings / 100.0,
        net_value / 100.0,
        (c.savings_npv + payer_npv) / 100.0,
        to_pounds(c.management_fees),
        c.adverse_events as f64,
        c.people_with_event as f64,
        c.counterfactual_adverse_events,
        c.counterfactual_adverse_events - c.adverse_events as f64,
    ]);
}

impl Figure {
    fn new(party: &str, name: impl Into<String>, unit: Unit) -> Figure {
        Figure {
            party: party.into(),
            name: name.into(),
            unit,
        }
    }
}

/// Every reported party: (ledger account, id, label).
fn parties_of(model: &Model) -> Vec<(usize, String, String)> {
    let mut parties = vec![(
        0,
        "commissioner".to_string(),
        model.commissioner.label.clone(),
    )];
    if let Some(f) = &model.co_funder {
        parties.push((1, "co_funder".to_string(), f.label.clone()));
    }
    for (d, p) in model.providers.iter().enumerate() {
        parties.push((PRIME + d, p.id.clone(), p.label.clone()));
    }
    for (i, inv) in model.investors.iter().enumerate() {
        parties.push((model.investor_account(i), inv.id.clone(), inv.label.clone()));
    }
    for (i, p) in model.payers.iter().enumerate() {
        parties.push((model.payer_account(i), p.id.clone(), p.label.clone()));
    }
    if let Some(pool) = &model.pooled_budget {
        parties.push((
            model.pool_account(),
            "pooled_budget".to_string(),
            pool.label.clone(),
        ));
    }
    parties
}

/// Whether `account` is an investor's.
fn is_investor(model: &Model, account: usize) -> bool {
    (model.investor_account(0)..model.investor_account(model.investors.len())).contains(&account)
}

/// The figure of the savings that count in a party's contribution to the
/// contract's net value: the commissioner's (all of them, unless they are
/// shared among public bodies) and each payer's share.
fn savings_of(model: &Model, account: usize, id: &str) -> Option<String> {
    let payer = (model.payer_account(0)..model.pool_account()).contains(&account);
    if account == crate::model::COMMISSIONER {
        Some(if model.shared_payments() {
            "payer.commissioner.savings".to_string()
        } else {
            "commissioner.savings".to_string()
        })
    } else if payer {
        Some(format!("payer.{id}.savings"))
    } else {
        None
    }
}

/// Per public body (`payer.<id>.*`, the commissioner first), in the order
/// `payer_values` writes them.
const BODY_FIGURES: [(&str, Unit); 6] = [
    ("paid", Unit::Money),
    ("savings", Unit::Money),
    ("net_value", Unit::Money),
    ("npv", Unit::Money),
    ("wrong_pocket", Unit::Money),
    ("loss", Unit::Probability),
];

/// The pooled budget's figures (`pooled_budget.*`).
const POOL_FIGURES: [&str; 5] = ["contributed", "paid_out", "overrun", "returned", "kept"];

/// The public bodies' figures, when payments are shared.
fn payer_figures(model: &Model, figures: &mut Vec<Figure>) {
    if !model.shared_payments() {
        return;
    }
    let ids = std::iter::once("commissioner").chain(model.payers.iter().map(|p| p.id.as_str()));
    for (b, id) in ids.enumerate() {
        let party = format!("payer.{id}");
        for (name, unit) in BODY_FIGURES {
            figures.push(Figure::new(&party, name, unit));
        }
        if b > 0 {
            figures.push(Figure::new(&party, "over_budget", Unit::Money));
        }
    }
    if model.pooled_budget.is_some() {
        for name in POOL_FIGURES {
            figures.push(Figure::new("pooled_budget", name, Unit::Money));
        }
    }
}

/// Each body's payments, savings and value (docs/model.md, section 12).
/// What a body paid is its net outflow in the ledger (payments to the prime
/// and the pot, less clawbacks and returns), the commissioner's own costs
/// apart.
fn payer_values(model: &Model, r: &IterationResult, row: &mut Vec<f64>) {
    if !model.shared_payments() {
        return;
    }
    let c = &r.commissioner;
    let accounts = std::iter::once(crate::model::COMMISSIONER)
        .chain((0..model.payers.len()).map(|i| model.payer_account(i)));
    let paid = |b: usize, account: usize| {
        let p = &r.parties[account];
        p.cost - p.revenue - if b == 0 { c.own_costs } else { 0 }
    };
    let all_paid: crate::model::Pence = accounts.clone().enumerate().map(|(b, a)| paid(b, a)).sum();
    let savings = &r.payers.savings;
    let total_savings: f64 = c.savings;
    for (b, account) in accounts.enumerate() {
        let own = if b == 0 { c.own_costs } else { 0 };
        let paid_b = paid(b, account);
        let net_value = savings[b] - (paid_b + own) as f64;
        let wrong_pocket = if all_paid != 0 {
            savings[b] - total_savings * (paid_b as f64 / all_paid as f64)
        } else {
            f64::NAN
        };
        row.extend_from_slice(&[
            to_pounds(paid_b),
            savings[b] / 100.0,
            net_value / 100.0,
            (r.payers.savings_npv[b] + r.parties[account].npv) / 100.0,
            wrong_pocket / 100.0,
            flag(net_value < 0.0),
        ]);
        if b > 0 {
            row.push(to_pounds(r.payers.over_budget[b - 1]));
        }
    }
    if model.pooled_budget.is_some() {
        let pool = &r.payers.pool;
        row.extend([
            to_pounds(pool.contributed),
            to_pounds(pool.paid_out),
            to_pounds(pool.overrun),
            to_pounds(pool.returned),
            to_pounds(pool.kept),
        ]);
    }
}

/// The figures of one party: money for all, failure for providers, returns
/// for investors.
fn party_figures(model: &Model, account: usize, id: &str, figures: &mut Vec<Figure>) {
    let provider = model.provider_of_account(account).is_some();
    for (name, unit) in PARTY_FIGURES {
        if name != "failed" || provider {
            figures.push(Figure::new(id, name, unit));
        }
    }
    if provider {
        figures.push(Figure::new(id, "failure_month", Unit::Month));
    }
    if is_investor(model, account) {
        for (name, unit) in [
            ("capital_drawn", Unit::Money),
            ("repaid", Unit::Money),
            ("money_multiple", Unit::Ratio),
            ("irr", Unit::Ratio),
        ] {
            figures.push(Figure::new(id, name, unit));
        }
    }
}

/// Each improvement rule's measurements (relative improvement, whether
/// met) and earnings, and each additional-outcome rule's earnings.
fn rule_figures(model: &Model, figures: &mut Vec<Figure>) {
    for r in &model.payments.improvement {
        let label = &r.label;
        let cohorts = (1..=r.cohorts.len()).map(|k| format!("cohort{k}"));
        let interims = (1..=r.cohorts.len()).flat_map(|j| {
            r.interim_months
                .iter()
                .map(move |m| format!("cohort{j}.month{m}"))
        });
        let measurements = cohorts
            .chain(std::iter::once("final".to_string()))
            .chain(interims);
        for m in measurements {
            let name = format!("{label}.{m}.relative_improvement");
            figures.push(Figure::new("improvement", name, Unit::Ratio));
            figures.push(Figure::new(
                "improvement",
                format!("{label}.{m}.met"),
                Unit::Probability,
            ));
        }
        figures.push(Figure::new(
            "improvement",
            format!("{label}.earned"),
            Unit::Money,
        ));
    }
    for r in &model.payments.additional_outcomes {
        figures.push(Figure::new(
            "additional",
            format!("{}.earned", r.label),
            Unit::Money,
        ));
    }
}

/// The figures of volume guarantees, advances and an alliance (none
/// without them): the commissioner's totals of what it pays or advances
/// the prime, each instrument's own, and each member's share of the
/// alliance.
fn instrument_figures(model: &Model, figures: &mut Vec<Figure>) {
    let inst = &model.instruments;
    let commissioner_pays = |b: &Between| *b == Between::CommissionerPrime;
    if inst
        .volume_guarantees
        .iter()
        .any(|g| commissioner_pays(&g.between))
    {
        figures.push(Figure::new(
            "commissioner",
            "paid.volume_guarantee",
            Unit::Money,
        ));
    }
    if inst.advances.iter().any(|a| commissioner_pays(&a.between)) {
        for name in [
            "advanced",
            "advance_recovered",
            "advance_repaid",
            "advance_written_off",
        ] {
            figures.push(Figure::new("commissioner", name, Unit::Money));
        }
    }
    for g in &inst.volume_guarantees {
        let label = &g.label;
        figures.push(Figure::new(
            "contract",
            format!("{label}.missing_referrals"),
            Unit::Count,
        ));
        figures.push(Figure::new(
            "contract",
            format!("{label}.guarantee_paid"),
            Unit::Money,
        ));
    }
    for a in &inst.advances {
        for name in ["advanced", "recovered", "repaid", "written_off"] {
            figures.push(Figure::new(
                "contract",
                format!("{}.{name}", a.label),
                Unit::Money,
            ));
        }
    }
    if let Some(alliance) = &inst.alliance {
        figures.push(Figure::new("alliance", "pot", Unit::Money));
        for (d, p) in model.providers.iter().enumerate() {
            if alliance.member(d) {
                figures.push(Figure::new(
                    "alliance",
                    format!("{}.pot_share", p.id),
                    Unit::Money,
                ));
                figures.push(Figure::new(
                    "alliance",
                    format!("{}.gain_pain", p.id),
                    Unit::Money,
                ));
            }
        }
    }
}

/// The values of [`instrument_figures`], in its order.
fn instrument_values(model: &Model, r: &IterationResult, row: &mut Vec<f64>) {
    let inst = &model.instruments;
    let i = &r.instruments;
    let c = &r.commissioner;
    let commissioner_pays = |b: &Between| *b == Between::CommissionerPrime;
    if inst
        .volume_guarantees
        .iter()
        .any(|g| commissioner_pays(&g.between))
    {
        row.push(to_pounds(c.paid.volume_guarantee));
    }
    if inst.advances.iter().any(|a| commissioner_pays(&a.between)) {
        row.extend([
            to_pounds(c.advanced),
            to_pounds(c.advance_recovered),
            to_pounds(c.advance_repaid),
            to_pounds(c.advance_written_off),
        ]);
    }
    for (missing, paid) in i.missing_referrals.iter().zip(&i.guarantee_paid) {
        row.push(*missing);
        row.push(to_pounds(*paid));
    }
    for a in &i.advances {
        row.extend([
            to_pounds(a.advanced),
            to_pounds(a.recovered),
            to_pounds(a.repaid),
            to_pounds(a.written_off),
        ]);
    }
    if let Some(alliance) = &inst.alliance {
        row.push(to_pounds(i.pot));
        for d in 0..model.providers.len() {
            if alliance.member(d) {
                row.push(to_pounds(i.pot_share[d]));
                row.push(to_pounds(i.gain_pain[d]));
            }
        }
    }
}

/// The commissioner's ratios of means.
fn commissioner_ratios(figures: &[Figure]) -> Vec<Ratio> {
    let find = |k: &str| {
        figures
            .iter()
            .position(|f| f.key() == k)
            .expect("figure exists")
    };
    let all = |keys: &[&str]| {
        keys.iter()
            .map(|k| find(&format!("commissioner.{k}")))
            .collect::<Vec<_>>()
    };
    let ratio = |name: &str, numerator: &[&str], denominator: &[&str]| Ratio {
        name: name.to_string(),
        numerator: all(numerator),
        denominator: all(denominator),
    };
    vec![
        ratio(
            "cost_per_attributable_outcome",
            &["paid.total"],
            &["attributable_outcomes"],
        ),
        ratio(
            "cost_per_adverse_event_avoided",
            &["paid.total"],
            &["adverse_events_avoided"],
        ),
        ratio(
            "deadweight_share",
            &["deadweight"],
            &["paid.outcome", "paid.sustainment"],
        ),
        ratio(
            "benefit_cost_ratio",
            &["savings"],
            &["paid.total", "own_costs"],
        ),
    ]
}
