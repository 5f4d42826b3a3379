//! Distributions at plain keys: any numeric key the engine can redraw per
//! iteration (a dropout, a tariff, reserves, a segment's volume) may be a
//! distribution table, like the named slots of `[uncertainty]`.
//!
//! Before deserialization each such table is taken out of the tree and
//! replaced by its mean, so the scenario validates as a plain one (the
//! base model); then the scenario is validated again with each key at its
//! lowest and highest possible draw, and with every key at its highest at
//! once (for the bounds on counts and money), so every value a draw can
//! take is one validation accepts, without a second copy of any range
//! check. A key the engine fixes when the contract is written (a count of
//! months, a share that must sum to one, a choice) is refused, saying why
//! and listing the keys that can be uncertain.

use super::raw::RawDist;
use super::split_index;
use crate::error::Problem;
use crate::model::{InvestorKey, ProviderKey, Target, TariffPart};

/// A distribution table found at a plain key.
pub(super) struct Found {
    /// Its dotted path.
    pub path: String,
    /// The same path as keys and array indices (a key may hold a dot).
    steps: Vec<Step>,
    /// The table as written.
    pub table: toml::Table,
}

/// One step of a path into the tree.
#[derive(Clone, Debug)]
enum Step {
    Key(String),
    Index(usize),
}

/// Takes every distribution table at a plain key out of `root`, leaving a
/// placeholder number in its place. The named slots (`[uncertainty]`,
/// `segments.<id>.effect`) and stresses a scenario carries stay.
pub(super) fn take(root: &mut toml::Table) -> Vec<Found> {
    let mut found = Vec::new();
    for (key, value) in root.iter_mut() {
        if key == "uncertainty" || key == "stress" {
            continue;
        }
        walk(
            key.clone(),
            &mut vec![Step::Key(key.clone())],
            value,
            &mut found,
        );
    }
    found
}

fn walk(path: String, steps: &mut Vec<Step>, value: &mut toml::Value, found: &mut Vec<Found>) {
    match value {
        toml::Value::Table(t) if t.contains_key("dist") => {
            if is_named_slot(&path) {
                return;
            }
            let table = std::mem::take(t);
            *value = toml::Value::Float(0.0);
            found.push(Found {
                path,
                steps: steps.clone(),
                table,
            });
        }
        toml::Value::Table(t) => {
            for (k, v) in t.iter_mut() {
                steps.push(Step::Key(k.clone()));
                walk(format!("{path}.{k}"), steps, v, found);
                steps.pop();
            }
        }
        toml::Value::Array(items) => {
            for (i, v) in items.iter_mut().enumerate() {
                steps.push(Step::Index(i));
                walk(format!("{path}[{i}]"), steps, v, found);
                steps.pop();
            }
        }
        _ => {}
    }
}

fn is_named_slot(path: &str) -> bool {
    let parts: Vec<&str> = path.split('.').collect();
    matches!(parts.as_slice(), ["segments", _, "effect"])
}

/// Writes `value` where `found` was taken from (the place exists: it
/// holds the placeholder).
pub(super) fn set(root: &mut toml::Table, found: &Found, value: f64) {
    let mut steps = found.steps.iter();
    let Some(Step::Key(first)) = steps.next() else {
        return;
    };
    let mut node = root.get_mut(first);
    for step in steps {
        node = match (step, node) {
            (Step::Key(k), Some(toml::Value::Table(t))) => t.get_mut(k),
            (Step::Index(i), Some(toml::Value::Array(a))) => a.get_mut(*i),
            _ => None,
        };
    }
    if let Some(v) = node {
        *v = toml::Value::Float(value);
    }
}

/// The keys that can be uncertain, as patterns (for errors and docs).
pub const UNCERTAIN_KEYS: &str = "segments.<id>.{volume, referrals_per_month, \
sustained.baseline_hazard, sustained.dropout, adverse_events.rate, \
time_in_state.{initial_share, entry_probability, exit_probability}, tariff.attachment, \
tariff.outcome, tariff.sustainment, tariff.cap_per_participant, savings_per_outcome_month, \
savings_per_event_avoided}; payments.{service_fee_per_month, cap_per_year, cap_total, \
improvement[i].price_per_unit, improvement[i].comparison.value, \
additional_outcomes[i].price_per_unit, fee_for_service.annual_fee, \
fee_for_service.reconciliation_price_per_referral}; commissioner.{own_costs_per_month, \
discount_rate}; co_funder.share; prime.{reserves, credit_line, cost_per_referral, \
cost_per_participant_month, overhead_per_month, reprocurement_cost, fixed_cost_share}; \
subcontractors.<id>.{the prime's keys, fee_per_referral, pass_through, monthly_fee, \
management_fee}; investors.<id>.{committed_capital, return_cap_multiple, \
return_cap_annual_rate, excess_share}; and the named slots in [uncertainty] and \
segments.<id>.effect";

const PROVIDER_KEYS: [(&str, ProviderKey); 7] = [
    ("reserves", ProviderKey::Reserves),
    ("credit_line", ProviderKey::CreditLine),
    ("cost_per_referral", ProviderKey::CostPerReferral),
    (
        "cost_per_participant_month",
        ProviderKey::CostPerParticipantMonth,
    ),
    ("overhead_per_month", ProviderKey::OverheadPerMonth),
    ("reprocurement_cost", ProviderKey::ReprocurementCost),
    ("fixed_cost_share", ProviderKey::FixedCostShare),
];

const SUBCONTRACT_KEYS: [(&str, ProviderKey); 4] = [
    ("fee_per_referral", ProviderKey::FeePerReferral),
    ("pass_through", ProviderKey::PassThrough),
    ("monthly_fee", ProviderKey::MonthlyFee),
    ("management_fee", ProviderKey::ManagementFee),
];

/// What the key at `path` sets in the model, or why it cannot be uncertain.
pub(super) fn target(root: &toml::Table, path: &str) -> Result<Target, Problem> {
    let parts: Vec<&str> = path.split('.').collect();
    let index_of = |table: &str, id: &str| {
        root.get(table)
            .and_then(|t| t.as_table())
            .and_then(|t| t.keys().position(|k| k == id))
    };
    let indexed = |part: &str, name: &str| match split_index(part) {
        Some((key, Some(i))) if key == name => Some(i),
        _ => None,
    };
    let found = match parts.as_slice() {
        ["segments", id, rest @ ..] => {
            let s = index_of("segments", id);
            s.and_then(|s| match rest {
                ["volume"] => Some(Target::SegmentVolume(s)),
                ["referrals_per_month"] => Some(Target::Referrals(s)),
                ["sustained", "baseline_hazard"] => Some(Target::BaselineHazard(s)),
                ["sustained", "dropout"] => Some(Target::Dropout(s)),
                ["adverse_events", "rate"] => Some(Target::EventRate(s)),
                ["time_in_state", "initial_share"] => Some(Target::StateInitialShare(s)),
                ["time_in_state", "entry_probability"] => Some(Target::StateEntry(s)),
                ["time_in_state", "exit_probability"] => Some(Target::StateExit(s)),
                ["tariff", "attachment"] => Some(Target::Tariff(s, TariffPart::Attachment)),
                ["tariff", "outcome"] => Some(Target::Tariff(s, TariffPart::Outcome)),
                ["tariff", "sustainment"] => Some(Target::Tariff(s, TariffPart::Sustainment)),
                ["tariff", "cap_per_participant"] => Some(Target::CapPerParticipant(s)),
                ["savings_per_outcome_month"] => Some(Target::SavingsPerOutcomeMonth(s)),
                ["savings_per_event_avoided"] => Some(Target::SavingsPerEventAvoided(s)),
                _ => None,
            })
        }
        ["payments", "service_fee_per_month"] => Some(Target::ServiceFee),
        ["payments", "cap_per_year"] => Some(Target::CapPerYear),
        ["payments", "cap_total"] => Some(Target::CapTotal),
        ["payments", rule, "price_per_unit"] => indexed(rule, "improvement")
            .map(Target::ImprovementPrice)
            .or_else(|| indexed(rule, "additional_outcomes").map(Target::AdditionalPrice)),
        ["payments", rule, "comparison", "value"] => {
            indexed(rule, "improvement").map(Target::ImprovementBaseline)
        }
        ["payments", "fee_for_service", "annual_fee"] => Some(Target::FeeForServiceAnnualFee),
        [
            "payments",
            "fee_for_service",
            "reconciliation_price_per_referral",
        ] => Some(Target::ReconciliationPrice),
        ["commissioner", "own_costs_per_month"] => Some(Target::OwnCosts),
        ["commissioner", "discount_rate"] => Some(Target::DiscountRate),
        ["co_funder", "share"] => Some(Target::CoFunderShare),
        ["prime", key] => provider_key(key, false).map(|k| Target::Provider(0, k)),
        ["subcontractors", id, key] => index_of("subcontractors", id)
            .zip(provider_key(key, true))
            .map(|(d, k)| Target::Provider(d + 1, k)),
        ["investors", id, key] => index_of("investors", id).and_then(|i| {
            let k = match *key {
                "committed_capital" => InvestorKey::CommittedCapital,
                "return_cap_multiple" | "return_cap_annual_rate" => InvestorKey::ReturnCap,
                "excess_share" => InvestorKey::ExcessShare,
                _ => return None,
            };
            Some(Target::Investor(i, k))
        }),
        _ => None,
    };
    found.ok_or_else(|| refusal(path))
}

fn provider_key(key: &str, subcontractor: bool) -> Option<ProviderKey> {
    let subcontract = if subcontractor {
        &SUBCONTRACT_KEYS[..]
    } else {
        &[]
    };
    PROVIDER_KEYS
        .iter()
        .chain(subcontract)
        .find(|(name, _)| *name == key)
        .map(|(_, k)| *k)
}

/// Why the key at `path` cannot take a distribution.
pub(super) fn refusal(path: &str) -> Problem {
    let last = path.rsplit('.').next().unwrap_or(path);
    let name = split_index(last).map_or(last, |(k, _)| k);
    let why = if path.contains(".allocation.") {
        "allocation shares must sum to one, so one share cannot be drawn alone; \
         give the segment an uncertain `volume` instead"
            .to_string()
    } else if name.ends_with("months") || name.ends_with("_month") || name == "window_months" {
        "it is a count of months, fixed when the contract is written".to_string()
    } else {
        format!(
            "`{name}` is a term of the contract's design, not an uncertain input; \
             compare designs with `pbrsim sweep` or `pbrsim compare`"
        )
    };
    Problem::with_help(
        format!("`{path}` cannot take a distribution: {why}"),
        Some(format!("keys that can: {UNCERTAIN_KEYS}")),
    )
}

/// The distribution table at `path`, as the raw keys of a distribution.
pub(super) fn raw_dist(found: &Found) -> Result<RawDist, (String, String)> {
    serde_path_to_error::deserialize(toml::Value::Table(found.table.clone())).map_err(
        |e: serde_path_to_error::Error<toml::de::Error>| {
            let inner = e.path().to_string();
            let key = if inner == "." || inner.is_empty() {
                found.path.clone()
            } else {
                format!("{}.{inner}", found.path)
            };
            (key, e.into_inner().message().to_string())
        },
    )
}
