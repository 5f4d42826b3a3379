//! Uncertain plain keys: each iteration writes its draws into its own copy
//! of the model (and refreshes the plan where prices, discount factors or
//! dropouts moved), so every step reads one model and none needs to know
//! which keys were drawn.
//!
//! A key's value converts into model units with the functions validation
//! uses (`to_pence`, `price_pence`): a test validates a scenario with the
//! key at a plain value and checks that this gives the same model.

use crate::engine::plan::{Plan, Refresh};
use crate::model::{
    Comparison, InvestorKey, Model, OutcomeProcess, ProviderKey, ReturnCap, Target, TariffPart,
    price_pence, to_pence,
};

/// The iteration's model and plan when the scenario has uncertain keys.
#[derive(Clone, Debug)]
pub(crate) struct Drawn {
    pub(crate) model: Model,
    pub(crate) plan: Plan,
    /// What the keys move in the plan.
    replan: Refresh,
}

impl Drawn {
    /// A copy of `model` and `plan` to write draws into; `None` when the
    /// scenario has no uncertain key (every iteration reads the original).
    pub(crate) fn new(model: &Model, plan: &Plan) -> Option<Box<Drawn>> {
        (!model.uncertain_keys.is_empty()).then(|| {
            Box::new(Drawn {
                model: model.clone(),
                plan: plan.clone(),
                replan: Refresh::of(model),
            })
        })
    }

    /// Writes the keys' values of this iteration.
    pub(crate) fn set(&mut self, values: &[f64]) {
        for k in 0..values.len() {
            let target = self.model.uncertain_keys[k].target;
            apply(&mut self.model, target, values[k]);
        }
        if self.replan != Refresh::default() {
            self.plan.refresh(&self.model, self.replan);
        }
    }
}

/// Sets what `target` names in `model` to `value`, in the key's own units.
pub(crate) fn apply(model: &mut Model, target: Target, value: f64) {
    let discount = model.payments.price_discount;
    let money = to_pence(value);
    let price = price_pence(value, discount);
    match target {
        Target::SegmentVolume(s) => model.segments[s].volume = value,
        Target::Referrals(s) => model.segments[s].referrals.fill(value),
        Target::BaselineHazard(s) => {
            if let OutcomeProcess::Sustained(o) = &mut model.segments[s].outcome {
                o.baseline_hazard = value;
            }
        }
        Target::Dropout(s) => {
            if let OutcomeProcess::Sustained(o) = &mut model.segments[s].outcome {
                o.dropout = value;
            }
        }
        Target::EventRate(s) => {
            if let OutcomeProcess::AdverseEvents(a) = &mut model.segments[s].outcome {
                a.rate = value;
            }
        }
        Target::StateInitialShare(s) | Target::StateEntry(s) | Target::StateExit(s) => {
            if let OutcomeProcess::TimeInState(p) = &mut model.segments[s].outcome {
                match target {
                    Target::StateInitialShare(_) => p.initial_share = value,
                    Target::StateEntry(_) => p.entry = value,
                    _ => p.exit = value,
                }
            }
        }
        Target::Tariff(s, part) => {
            let tariff = &mut model.segments[s].tariff;
            match part {
                TariffPart::Attachment => tariff.attachment.fill(price),
                TariffPart::Outcome => tariff.outcome.fill(price),
                TariffPart::Sustainment => tariff.sustainment.fill(price),
            }
        }
        Target::CapPerParticipant(s) => model.segments[s].tariff.cap_per_participant = Some(money),
        Target::SavingsPerOutcomeMonth(s) => model.segments[s].savings_per_outcome_month = money,
        Target::SavingsPerEventAvoided(s) => model.segments[s].savings_per_event_avoided = money,
        Target::ServiceFee => model.payments.service_fee.fill(money),
        Target::CapPerYear => model.payments.cap_per_year = Some(money),
        Target::CapTotal => model.payments.cap_total = Some(money),
        Target::ImprovementPrice(i) => model.payments.improvement[i].price_per_unit.fill(price),
        Target::ImprovementBaseline(i) => {
            if let Comparison::Baseline { value: v, .. } =
                &mut model.payments.improvement[i].comparison
            {
                *v = value;
            }
        }
        Target::AdditionalPrice(i) => {
            model.payments.additional_outcomes[i]
                .price_per_unit
                .fill(price);
        }
        Target::FeeForServiceAnnualFee => {
            if let Some(f) = &mut model.payments.fee_for_service {
                f.annual_fee.fill(money);
            }
        }
        Target::ReconciliationPrice => {
            if let Some(f) = &mut model.payments.fee_for_service {
                f.reconciliation_price = money;
            }
        }
        Target::OwnCosts => model.commissioner.own_costs_per_month = money,
        Target::DiscountRate => model.commissioner.discount_rate = value,
        Target::CoFunderShare => {
            if let Some(f) = &mut model.co_funder {
                f.share = value;
            }
        }
        Target::Provider(d, key) => {
            let p = &mut model.providers[d];
            match key {
                ProviderKey::Reserves => p.reserves = money,
                ProviderKey::CreditLine => p.credit_line = money,
                ProviderKey::CostPerReferral => p.cost_per_referral = money,
                ProviderKey::CostPerParticipantMonth => p.cost_per_participant_month = money,
                ProviderKey::OverheadPerMonth => p.overhead_per_month = money,
                ProviderKey::ReprocurementCost => p.reprocurement_cost = money,
                ProviderKey::FixedCostShare => p.fixed_cost_share = value,
                ProviderKey::FeePerReferral
                | ProviderKey::PassThrough
                | ProviderKey::MonthlyFee
                | ProviderKey::ManagementFee => {
                    if let Some(t) = &mut p.terms {
                        match key {
                            ProviderKey::FeePerReferral => t.fee_per_referral = money,
                            ProviderKey::PassThrough => t.pass_through = value,
                            ProviderKey::MonthlyFee => t.monthly_fee = money,
                            _ => t.management_fee = value,
                        }
                    }
                }
            }
        }
        Target::Investor(i, key) => {
            let investor = &mut model.investors[i];
            match key {
                InvestorKey::CommittedCapital => investor.committed = money,
                InvestorKey::ReturnCap => {
                    investor.cap = match investor.cap {
                        ReturnCap::Multiple(_) => ReturnCap::Multiple(value),
                        ReturnCap::AnnualRate(_) => ReturnCap::AnnualRate(value),
                    }
                }
                InvestorKey::ExcessShare => investor.excess_share = value,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{Override, load_str};

    fn load(file: &str, set: &[String]) -> (Model, Plan) {
        let path = format!("{}/scenarios/{file}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(path).unwrap();
        let overrides: Vec<Override> = set.iter().map(|s| s.parse().unwrap()).collect();
        let model = load_str(&text, file, &overrides)
            .unwrap_or_else(|e| panic!("{file} {set:?}: {e}"))
            .model;
        let plan = Plan::new(&model);
        (model, plan)
    }

    /// Every target converts a drawn value exactly as validation converts
    /// the same number written in the file: the scenario with the key at
    /// `value` and the one with a distribution there, after `apply(value)`,
    /// are the same model with the same prices and discount factors.
    #[test]
    fn a_drawn_value_gives_the_model_of_that_value_written_in_the_file() {
        let cases: &[(&str, &str, f64)] = &[
            ("supply_chain.toml", "segments.young_people.volume", 0.731),
            (
                "supply_chain.toml",
                "segments.young_people.referrals_per_month",
                37.3,
            ),
            (
                "supply_chain.toml",
                "segments.long_term.sustained.baseline_hazard",
                0.0317,
            ),
            (
                "supply_chain.toml",
                "segments.long_term.sustained.dropout",
                0.0713,
            ),
            (
                "supply_chain.toml",
                "segments.young_people.tariff.attachment",
                123.456,
            ),
            (
                "supply_chain.toml",
                "segments.young_people.tariff.outcome",
                1234.567,
            ),
            (
                "supply_chain.toml",
                "segments.young_people.tariff.sustainment",
                77.777,
            ),
            (
                "supply_chain.toml",
                "segments.long_term.tariff.cap_per_participant",
                1999.995,
            ),
            (
                "supply_chain.toml",
                "segments.long_term.tariff.cap_per_participant",
                3.0,
            ),
            (
                "supply_chain.toml",
                "segments.young_people.savings_per_outcome_month",
                321.005,
            ),
            (
                "supply_chain.toml",
                "payments.service_fee_per_month",
                5432.105,
            ),
            ("supply_chain.toml", "payments.cap_per_year", 654321.5),
            ("supply_chain.toml", "payments.cap_total", 7654321.5),
            (
                "supply_chain.toml",
                "commissioner.own_costs_per_month",
                999.999,
            ),
            ("supply_chain.toml", "commissioner.discount_rate", 0.061),
            ("supply_chain.toml", "co_funder.share", 0.37),
            ("supply_chain.toml", "prime.reserves", 250_000.125),
            ("supply_chain.toml", "prime.credit_line", 50_000.5),
            ("supply_chain.toml", "prime.cost_per_referral", 301.3),
            (
                "supply_chain.toml",
                "prime.cost_per_participant_month",
                29.99,
            ),
            ("supply_chain.toml", "prime.overhead_per_month", 4999.5),
            ("supply_chain.toml", "prime.reprocurement_cost", 12345.675),
            (
                "supply_chain.toml",
                "subcontractors.partner_a.reserves",
                33_333.333,
            ),
            (
                "supply_chain.toml",
                "subcontractors.partner_a.fee_per_referral",
                55.55,
            ),
            (
                "supply_chain.toml",
                "subcontractors.partner_a.pass_through",
                0.63,
            ),
            (
                "supply_chain.toml",
                "subcontractors.partner_b.monthly_fee",
                1500.25,
            ),
            (
                "supply_chain.toml",
                "subcontractors.partner_b.management_fee",
                0.11,
            ),
            (
                "transforming_rehabilitation.toml",
                "prime.fixed_cost_share",
                0.61,
            ),
            (
                "essex_edge_of_care.toml",
                "segments.children.time_in_state.initial_share",
                0.31,
            ),
            (
                "essex_edge_of_care.toml",
                "segments.children.time_in_state.entry_probability",
                0.071,
            ),
            (
                "essex_edge_of_care.toml",
                "segments.children.time_in_state.exit_probability",
                0.052,
            ),
            (
                "peterborough_sib.toml",
                "segments.prisoners.adverse_events.rate",
                1.37,
            ),
            (
                "peterborough_sib.toml",
                "segments.prisoners.savings_per_event_avoided",
                2345.5,
            ),
            (
                "peterborough_sib.toml",
                "payments.improvement[0].price_per_unit",
                1111.11,
            ),
            (
                "peterborough_sib.toml",
                "investors.trusts.committed_capital",
                4_500_000.5,
            ),
            (
                "peterborough_sib.toml",
                "investors.trusts.return_cap_annual_rate",
                0.09,
            ),
            (
                "peterborough_sib.toml",
                "investors.trusts.excess_share",
                0.2,
            ),
            (
                "transforming_rehabilitation.toml",
                "payments.improvement[0].comparison.value",
                0.461,
            ),
            (
                "transforming_rehabilitation.toml",
                "payments.fee_for_service.annual_fee",
                9_876_543.21,
            ),
            (
                "transforming_rehabilitation.toml",
                "payments.fee_for_service.reconciliation_price_per_referral",
                456.789,
            ),
            (
                "dfid_education_rba.toml",
                "payments.additional_outcomes[0].price_per_unit",
                98.765,
            ),
        ];
        for &(file, path, value) in cases {
            let (written, written_plan) = load(file, &[format!("{path}={value}")]);
            let dist = format!(
                "{path}={{ dist = \"uniform\", min = {}, max = {value} }}",
                value * 0.9
            );
            let (mut drawn, plan) = load(file, &[dist]);
            assert_eq!(drawn.uncertain_keys.len(), 1, "{path}");
            let target = drawn.uncertain_keys[0].target;
            assert_ne!(
                format!("{drawn:?}"),
                format!("{written:?}"),
                "{path}: a key that moves nothing"
            );
            let mut drawn_plan = plan.clone();
            apply(&mut drawn, target, value);
            drawn_plan.refresh(
                &drawn,
                Refresh {
                    prices: true,
                    discount: true,
                    dropouts: true,
                },
            );
            drawn.uncertain_keys.clear();
            assert_eq!(
                format!("{drawn:?}"),
                format!("{written:?}"),
                "{file}: {path}"
            );
            assert_eq!(
                format!("{:?}", drawn_plan.pools),
                format!("{:?}", written_plan.pools),
                "{path}"
            );
            assert_eq!(drawn_plan.attachment, written_plan.attachment, "{path}");
            assert_eq!(
                drawn_plan.attachment_removed, written_plan.attachment_removed,
                "{path}"
            );
            assert_eq!(drawn_plan.discount, written_plan.discount, "{path}");
        }
    }
}
