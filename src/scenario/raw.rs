//! Serde types that mirror the scenario file, key for key.
//!
//! Every struct denies unknown keys; nothing here is checked beyond its
//! type. `validate` turns these into a [`crate::model::Model`].

use indexmap::IndexMap;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use std::fmt;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScenario {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default = "default_currency")]
    pub currency: String,
    pub counts: Option<String>,
    pub time: RawTime,
    #[serde(default)]
    pub uncertainty: RawUncertainty,
    pub segments: IndexMap<String, RawSegment>,
    #[serde(default)]
    pub payments: RawPayments,
    #[serde(default)]
    pub commissioner: RawCommissioner,
    pub co_funder: Option<RawCoFunder>,
    pub prime: RawPrime,
    #[serde(default)]
    pub subcontractors: IndexMap<String, RawSubcontractor>,
    #[serde(default)]
    pub investors: IndexMap<String, RawInvestor>,
    pub termination: Option<RawTermination>,
    #[serde(default)]
    pub corridors: Vec<RawCorridor>,
    #[serde(default)]
    pub payers: IndexMap<String, RawPayer>,
    pub pooled_budget: Option<RawPooledBudget>,
    #[serde(default)]
    pub volume_guarantees: Vec<RawVolumeGuarantee>,
    #[serde(default)]
    pub advances: Vec<RawAdvance>,
    pub alliance: Option<RawAlliance>,
    /// Named stresses carried by the scenario: read by `pbrsim stress`
    /// (`stress::file`), not by a run.
    #[allow(dead_code)]
    pub stress: Option<toml::Value>,
}

/// `[investors.<id>]`: social-impact-bond capital for one provider.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawInvestor {
    pub label: Option<String>,
    pub funds: String,
    pub committed_capital: f64,
    pub return_cap_multiple: Option<f64>,
    pub return_cap_annual_rate: Option<f64>,
    #[serde(default)]
    pub excess_share: f64,
}

/// `[termination]`: the commissioner's right to end the contract early.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTermination {
    pub break_month: Option<u32>,
    pub on_net: Option<RawNetTrigger>,
    #[serde(default)]
    pub notice_months: u32,
    #[serde(default)]
    pub payment: f64,
    #[serde(default)]
    pub minimum_performance: Vec<RawMinimumPerformance>,
}

/// `[[termination.minimum_performance]]`: a minimum level of outcome
/// events per referral over a period.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMinimumPerformance {
    pub label: String,
    pub segments: Option<Vec<String>>,
    pub provider: Option<String>,
    pub from_month: u32,
    pub to_month: u32,
    pub minimum: f64,
    pub consequence: String,
    pub shift_to: Option<String>,
    pub share: Option<f64>,
}

/// `[termination.on_net]`: a break when a party's cumulative net falls
/// below an amount.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNetTrigger {
    pub party: String,
    pub below: f64,
}

/// `[[corridors]]`: a risk corridor (gain-and-pain share) between a payer
/// and a provider.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCorridor {
    pub label: Option<String>,
    pub between: Vec<String>,
    pub measure: String,
    pub target: f64,
    pub settle: String,
    pub bands: Vec<f64>,
    pub share: Vec<f64>,
    pub gain_bands: Option<Vec<f64>>,
    pub gain_share: Option<Vec<f64>>,
}

/// `[[volume_guarantees]]`: compensation when a year's referrals fall
/// below a share of the forecast.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawVolumeGuarantee {
    pub label: String,
    pub between: Vec<String>,
    pub threshold: f64,
    pub per_missing_referral: Option<f64>,
    pub top_up: Option<f64>,
}

/// `[[advances]]`: working capital paid up front, recovered from later
/// outcome-related receipts.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAdvance {
    pub label: String,
    pub between: Vec<String>,
    pub amount: f64,
    #[serde(default)]
    pub month: u32,
    pub recovery_share: f64,
    pub on_shortfall: String,
}

/// `[alliance]`: providers sharing one results pot and one budget.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAlliance {
    pub members: IndexMap<String, f64>,
    pub budget: NumOrList,
    pub gain_pain_shares: Option<IndexMap<String, f64>>,
}

fn default_currency() -> String {
    "GBP".into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTime {
    pub horizon_months: u32,
    pub referral_months: u32,
    pub start_month: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUncertainty {
    #[serde(default)]
    pub factors: Vec<String>,
    pub volume: Option<RawParam>,
    #[serde(rename = "macro")]
    pub macro_: Option<RawParam>,
    pub macro_by_year: Option<Vec<RawParam>>,
    pub cost: Option<RawParam>,
    pub effect: Option<RawParam>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSegment {
    pub label: Option<String>,
    pub referrals_per_month: NumOrList,
    #[serde(default = "one_f64")]
    pub volume: f64,
    pub referral_process: Option<String>,
    pub effect: Option<RawParam>,
    pub sustained: Option<RawSustained>,
    pub adverse_events: Option<RawAdverseEvents>,
    pub time_in_state: Option<RawTimeInState>,
    #[serde(default)]
    pub tariff: RawTariff,
    pub allocation: IndexMap<String, f64>,
    #[serde(default)]
    pub savings_per_outcome_month: f64,
    pub savings_months: Option<u32>,
    #[serde(default)]
    pub savings_per_event_avoided: f64,
    pub floor_per_referral: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAdverseEvents {
    pub rate: f64,
    pub follow_up_months: u32,
    pub frailty_shape: Option<f64>,
    pub service_months: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTimeInState {
    pub follow_up_months: u32,
    #[serde(default)]
    pub initial_share: f64,
    pub entry_probability: f64,
    pub exit_probability: f64,
    pub service_months: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSustained {
    pub baseline_hazard: f64,
    pub window_months: u32,
    #[serde(default = "one")]
    pub qualifying_months: u32,
    #[serde(default)]
    pub dropout: f64,
    #[serde(default)]
    pub max_sustainment_months: u32,
}

fn one() -> u32 {
    1
}

fn one_f64() -> f64 {
    1.0
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTariff {
    pub attachment: Option<NumOrList>,
    pub outcome: Option<NumOrList>,
    pub sustainment: Option<NumOrList>,
    pub cap_per_participant: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPayments {
    #[serde(default)]
    pub price_discount: f64,
    pub price_year: Option<String>,
    pub service_fee_per_month: Option<NumOrList>,
    pub service_fee_months: Option<u32>,
    #[serde(default)]
    pub lag_months: RawLags,
    pub cap_per_year: Option<f64>,
    pub cap_total: Option<f64>,
    #[serde(default)]
    pub improvement: Vec<RawImprovement>,
    pub fee_for_service: Option<RawFeeForService>,
    #[serde(default)]
    pub additional_outcomes: Vec<RawAdditionalOutcomes>,
    pub blended: Option<RawBlended>,
}

/// `[payments.blended]`: a share of each outcome and sustainment price
/// paid as a fee per referral instead.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBlended {
    pub fee_share: NumOrList,
}

/// `[[payments.additional_outcomes]]`: pay per outcome in a contract year
/// above a baseline count (results-based aid).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAdditionalOutcomes {
    pub label: String,
    pub segments: Option<Vec<String>>,
    pub baseline: Option<NumOrList>,
    #[serde(default)]
    pub rolling: bool,
    pub price_per_unit: NumOrList,
    #[serde(default)]
    pub lag_months: u32,
}

/// `[payments.fee_for_service]`: an annual fee for a baseline volume, paid
/// monthly, reconciled each contract year when volume leaves a band.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFeeForService {
    pub annual_fee: NumOrList,
    pub baseline_referrals_per_year: f64,
    #[serde(default)]
    pub band: f64,
    #[serde(default)]
    pub reconciliation_price_per_referral: f64,
    #[serde(default)]
    pub lag_months: u32,
}

/// `[[payments.improvement]]`: pay for an improvement over a comparison.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawImprovement {
    pub label: String,
    pub segments: Option<Vec<String>>,
    pub measure: String,
    pub comparison: RawComparison,
    pub cohorts: Vec<RawMeasurementCohort>,
    pub final_threshold: Option<f64>,
    pub price_per_unit: NumOrList,
    #[serde(default)]
    pub measurement_lag_months: u32,
    #[serde(default)]
    pub lag_months: u32,
    pub requires: Option<String>,
    #[serde(default)]
    pub interim_months: Vec<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawComparison {
    pub kind: String,
    pub per_participant: Option<f64>,
    pub value: Option<f64>,
    #[serde(default)]
    pub drift_per_year: f64,
    pub interim_values: Option<Vec<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMeasurementCohort {
    pub from_month: u32,
    pub to_month: u32,
    pub threshold: f64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLags {
    #[serde(default)]
    pub attachment: u32,
    #[serde(default)]
    pub outcome: u32,
    #[serde(default)]
    pub sustainment: u32,
    #[serde(default)]
    pub service_fee: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCommissioner {
    #[serde(default = "commissioner_label")]
    pub label: String,
    #[serde(default = "green_book_rate")]
    pub discount_rate: f64,
    #[serde(default)]
    pub own_costs_per_month: f64,
}

impl Default for RawCommissioner {
    fn default() -> Self {
        RawCommissioner {
            label: commissioner_label(),
            discount_rate: green_book_rate(),
            own_costs_per_month: 0.0,
        }
    }
}

fn commissioner_label() -> String {
    "Commissioner".into()
}

fn green_book_rate() -> f64 {
    0.035
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCoFunder {
    #[serde(default = "co_funder_label")]
    pub label: String,
    pub share: f64,
}

fn co_funder_label() -> String {
    "Co-funder".into()
}

/// The prime's keys: a provider without subcontract terms.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPrime {
    pub label: Option<String>,
    #[serde(default)]
    pub reserves: f64,
    #[serde(default)]
    pub credit_line: f64,
    #[serde(default)]
    pub cost_per_referral: f64,
    #[serde(default)]
    pub cost_per_participant_month: f64,
    #[serde(default)]
    pub overhead_per_month: f64,
    pub overhead_months: Option<u32>,
    #[serde(default)]
    pub fixed_cost_share: f64,
    pub capacity_notice_months: Option<u32>,
    #[serde(default)]
    pub reprocurement_cost: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSubcontractor {
    pub label: Option<String>,
    #[serde(default)]
    pub reserves: f64,
    #[serde(default)]
    pub credit_line: f64,
    #[serde(default)]
    pub cost_per_referral: f64,
    #[serde(default)]
    pub cost_per_participant_month: f64,
    #[serde(default)]
    pub overhead_per_month: f64,
    pub overhead_months: Option<u32>,
    #[serde(default)]
    pub fixed_cost_share: f64,
    pub capacity_notice_months: Option<u32>,
    #[serde(default)]
    pub reprocurement_cost: f64,
    #[serde(default)]
    pub fee_per_referral: f64,
    #[serde(default)]
    pub pass_through: f64,
    #[serde(default)]
    pub monthly_fee: f64,
    #[serde(default)]
    pub management_fee: f64,
    pub on_failure: Option<String>,
}

/// The visitor methods that accept any TOML number as an `f64`, wrapped by
/// `$wrap`: shared by the number-or-something-else types below.
macro_rules! number_visits {
    ($wrap:path) => {
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            Ok($wrap(v))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok($wrap(v as f64))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok($wrap(v as f64))
        }
    };
}

/// A number, or a list of numbers (a monthly profile or a price by year).
#[derive(Debug, Clone)]
pub enum NumOrList {
    One(f64),
    Many(Vec<f64>),
}

impl<'de> Deserialize<'de> for NumOrList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = NumOrList;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number or an array of numbers")
            }
            number_visits!(NumOrList::One);
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<NumOrList, A::Error> {
                let mut out = Vec::new();
                while let Some(x) = seq.next_element::<f64>()? {
                    out.push(x);
                }
                Ok(NumOrList::Many(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// An uncertain parameter: a number, or a table naming a distribution.
#[derive(Debug, Clone)]
pub enum RawParam {
    Fixed(f64),
    Dist(Box<RawDist>),
}

/// The keys a distribution table may have; which are required depends on
/// `dist`, checked in validation.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDist {
    pub dist: String,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub mean: Option<f64>,
    pub sd: Option<f64>,
    pub median: Option<f64>,
    pub sigma: Option<f64>,
    pub mode: Option<f64>,
    pub alpha: Option<f64>,
    pub beta: Option<f64>,
    pub lambda: Option<f64>,
    pub factor: Option<String>,
    pub loading: Option<f64>,
    /// A shipped reference class's name (`dist = "reference_class"`).
    pub class: Option<String>,
    /// `shift + scale * x`: how a stress moves the draw `x`.
    pub scale: Option<f64>,
    pub shift: Option<f64>,
}

impl<'de> Deserialize<'de> for RawParam {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawParam;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number or a distribution table such as { dist = \"uniform\", min = 0.8, max = 1.2 }")
            }
            number_visits!(RawParam::Fixed);
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawParam, A::Error> {
                RawDist::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(|d| RawParam::Dist(Box::new(d)))
            }
        }
        d.deserialize_any(V)
    }
}

/// `[payers.<id>]`: a public body paying part of the contract.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPayer {
    pub label: Option<String>,
    #[serde(default)]
    pub share: f64,
    #[serde(default)]
    pub rules: IndexMap<String, f64>,
    pub budget_per_year: Option<f64>,
    pub cap_total: Option<f64>,
    #[serde(default)]
    pub savings_share: f64,
    #[serde(default)]
    pub savings: IndexMap<String, f64>,
    #[serde(default)]
    pub pool_share: f64,
}

/// `[pooled_budget]`: one pot the public bodies pay into.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPooledBudget {
    pub label: Option<String>,
    #[serde(default)]
    pub contribution_upfront: f64,
    #[serde(default)]
    pub contribution_per_year: f64,
    pub rules: Option<Vec<String>>,
    pub on_end: Option<String>,
}
