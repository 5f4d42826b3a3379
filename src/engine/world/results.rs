//! What one iteration yields: every party's money, the commissioner's
//! view, the parameter draws, and the verdicts of measurements.

use crate::engine::improvement::Verdict;
use crate::model::Pence;

/// The scenario-level draws of one iteration.
#[derive(Clone, Debug, Default)]
pub struct Draws {
    /// Volume multiplier.
    pub volume: f64,
    /// Cost multiplier.
    pub cost: f64,
    /// Macro multiplier per calendar contract year.
    pub macro_by_year: Vec<f64>,
    /// The distinct macro draws (one per `macro_params` entry).
    pub macro_draws: Vec<f64>,
    /// Effect per segment.
    pub effect: Vec<f64>,
    /// Per uncertain plain key (`Model::uncertain_keys`), its value.
    pub keys: Vec<f64>,
}

/// Per-party results of one iteration (money in pence).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PartyResult {
    /// Everything received from other parties.
    pub revenue: Pence,
    /// Everything paid out: delivery costs and payments to other parties.
    pub cost: Pence,
    /// Net present value of the monthly net cash flows.
    pub npv: f64,
    /// Lowest cash balance (reserves plus cumulative net flow).
    pub lowest_cash: Pence,
    /// Largest cumulative net outflow: the working capital the contract needs.
    pub peak_funding_need: Pence,
    /// Month of failure, if the party failed.
    pub failure_month: Option<usize>,
}

impl PartyResult {
    /// Revenue less cost.
    pub fn net(&self) -> Pence {
        self.revenue - self.cost
    }
}

/// Amounts by payment rule (commissioner and co-funder together).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ByRule {
    /// Attachment (per referral) fees.
    pub attachment: Pence,
    /// Fixed service fee.
    pub service_fee: Pence,
    /// Outcome payments.
    pub outcome: Pence,
    /// Sustainment payments.
    pub sustainment: Pence,
    /// Payments for improvement over a comparison.
    pub improvement: Pence,
    /// Fee for service: instalments and top-ups, less clawbacks.
    pub fee_for_service: Pence,
    /// Paid to the prime when the commissioner ended the contract early.
    pub termination: Pence,
    /// Corridor settlements paid to the prime, less what it paid back.
    pub corridor: Pence,
    /// Top-ups to payment floors.
    pub floor: Pence,
    /// Paid to the prime under the commissioner's volume guarantees.
    pub volume_guarantee: Pence,
}

impl ByRule {
    /// Sum over rules.
    pub fn total(&self) -> Pence {
        self.attachment
            + self.service_fee
            + self.outcome
            + self.sustainment
            + self.improvement
            + self.fee_for_service
            + self.termination
            + self.corridor
            + self.floor
            + self.volume_guarantee
    }
}

/// The commissioner's view of one iteration.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CommissionerResult {
    /// Paid to the prime within the horizon, by rule (both payers).
    pub paid: ByRule,
    /// Part of `paid` that the co-funder paid.
    pub co_funded: Pence,
    /// Fee for service the prime paid back at year-end reconciliations
    /// (already netted off `paid.fee_for_service`).
    pub clawed_back: Pence,
    /// Removed by per-participant caps.
    pub removed_by_participant_cap: Pence,
    /// Removed by the yearly and whole-contract caps.
    pub removed_by_contract_cap: Pence,
    /// Due at or after the horizon (not paid within it).
    pub beyond_horizon: Pence,
    /// Due after the prime failed (never paid).
    pub cancelled: Pence,
    /// Contract management and re-procurement costs.
    pub own_costs: Pence,
    /// Referrals made.
    pub referrals: u64,
    /// Outcome events within the horizon.
    pub outcomes: u64,
    /// Expected outcome events for the same referrals without the
    /// intervention (closed form).
    pub counterfactual_outcomes: f64,
    /// Outcome and sustainment payments the counterfactual would have
    /// earned (closed form, capped at what was paid for outcomes and
    /// sustainment).
    pub deadweight: f64,
    /// Months in outcome counted for savings, realised.
    pub outcome_months: u64,
    /// The same, expected without the intervention.
    pub counterfactual_outcome_months: f64,
    /// Fiscal savings from attributable months in outcome, in pence.
    pub savings: f64,
    /// NPV of savings, in pence.
    pub savings_npv: f64,
    /// Management fees the prime kept from what it passed down.
    pub management_fees: Pence,
    /// Adverse events of the treated participants over their follow-up.
    pub adverse_events: u64,
    /// Treated participants with at least one adverse event.
    pub people_with_event: u64,
    /// Expected adverse events of the same participants without the
    /// intervention (closed form).
    pub counterfactual_adverse_events: f64,
    /// Working capital the commissioner advanced to the prime.
    pub advanced: Pence,
    /// What it recovered of it from the prime's outcome payments.
    pub advance_recovered: Pence,
    /// What the prime repaid of the rest when recovery stopped.
    pub advance_repaid: Pence,
    /// What it wrote off: advanced, less recovered and repaid.
    pub advance_written_off: Pence,
}

/// Everything one iteration yields.
#[derive(Clone, Debug, Default)]
pub struct IterationResult {
    /// Scenario-level draws.
    pub draws: Draws,
    /// One per ledger account (commissioner, co-funder, providers).
    pub parties: Vec<PartyResult>,
    /// Commissioner figures.
    pub commissioner: CommissionerResult,
    /// Net cash flow per account and month, row-major `[account][month]`.
    pub monthly: Vec<Pence>,
    /// Paid to delivery staff and suppliers outside the contract (costs,
    /// re-procurement); closes the ledger.
    pub external: Pence,
    /// Per improvement rule, per cohort then the final measurement: the
    /// verdict (NaN relative improvement and not met if never measured).
    pub verdicts: Vec<Verdict>,
    /// Per improvement rule, the payments it scheduled (due before or after
    /// the horizon).
    pub improvement_earned: Vec<Pence>,
    /// Per investor: capital drawn and money received back.
    pub investors: Vec<(Pence, Pence)>,
    /// Per additional-outcome rule, the payments it scheduled.
    pub additional_earned: Vec<Pence>,
    /// The month the commissioner ended the contract early, if it did.
    pub termination_month: Option<usize>,
    /// Per minimum performance level: the level measured (outcome events
    /// per referral; NaN if not measured) and whether it was below the
    /// minimum.
    pub performance: Vec<(f64, bool)>,
    /// Per minimum performance level, the referrals its shift moved to
    /// another provider.
    pub shifted: Vec<u64>,
    /// Per segment: its referrals, outcomes and what was paid for it.
    pub segments: Vec<SegmentResult>,
    /// Referrals per segment and month within the horizon,
    /// `[segment][month]` (0 after the referral months).
    pub referrals_by_month: Vec<u64>,
    /// Outcome events per segment and month within the horizon,
    /// `[segment][month]`.
    pub outcomes_by_month: Vec<u64>,
    /// Per corridor, what its payer paid its provider, less what the
    /// provider paid back.
    pub corridors: Vec<Pence>,
    /// The public bodies' savings and budgets, and the pooled budget.
    pub payers: super::PayersResult,
    /// Volume guarantees, advances and the alliance.
    pub instruments: InstrumentResult,
}

/// What the risk-sharing instruments moved in one iteration (pence).
#[derive(Debug, Default, PartialEq)]
pub struct InstrumentResult {
    /// Per volume guarantee: referrals missing below its threshold, summed
    /// over the years settled.
    pub missing_referrals: Vec<f64>,
    /// Per volume guarantee: what it paid.
    pub guarantee_paid: Vec<Pence>,
    /// Per advance: paid, recovered, repaid when recovery stopped, written
    /// off.
    pub advances: Vec<AdvanceResult>,
    /// The alliance's results pot: every results payment it pooled.
    pub pot: Pence,
    /// Per provider: its share of the pot (zero outside the alliance).
    pub pot_share: Vec<Pence>,
    /// Per provider: what it received (negative: paid) at the alliance's
    /// gain/pain settlements.
    pub gain_pain: Vec<Pence>,
}

clone_in_place!(InstrumentResult {
    missing_referrals,
    guarantee_paid,
    advances,
    pot,
    pot_share,
    gain_pain
});

/// One advance's money.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct AdvanceResult {
    /// Paid to the recipient.
    pub advanced: Pence,
    /// Withheld from its later outcome-related receipts.
    pub recovered: Pence,
    /// Repaid by it when recovery stopped (`on_shortfall = "repay"`).
    pub repaid: Pence,
    /// Never recovered: advanced less recovered and repaid.
    pub written_off: Pence,
}

/// One segment's share of an iteration: what a per-group result needs
/// without rerunning the contract with the other groups switched off.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SegmentResult {
    /// Referrals made.
    pub referrals: u64,
    /// Outcome events within the horizon.
    pub outcomes: u64,
    /// Paid for its participants within the horizon (both payers), by
    /// rule: attachment, outcome, sustainment and improvement payments, each
    /// rule's payment under a contract cap shared pro rata to what fell
    /// due. Service fees and the fee for service are the contract's, not a
    /// segment's, and stay zero.
    pub paid: ByRule,
}
