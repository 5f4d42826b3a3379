//! The validated contract: checked, precomputed, ready to simulate.
//!
//! **Invariant:** a `Model` only comes out of `scenario::validate`, so every
//! probability is in [0, 1], every share sums to one, every price is in
//! integer pence (after the bid discount), every per-year vector covers
//! every contract year, and the engine can run it without any check.

use crate::param::Param;

/// Money in integer minor units (pence), so sums are exact.
pub type Pence = i64;

/// Converts pounds to pence, rounding to the nearest penny.
pub fn to_pence(pounds: f64) -> Pence {
    (pounds * 100.0).round() as Pence
}

/// Converts pence to pounds for reporting.
pub fn to_pounds(pence: Pence) -> f64 {
    pence as f64 / 100.0
}

/// Party indices in the ledger. Providers follow: the prime at [`PRIME`],
/// subcontractors after it, in the order the scenario lists them.
pub const COMMISSIONER: usize = 0;
/// The second outcome payer (zero flows when the scenario has none).
pub const CO_FUNDER: usize = 1;
/// The prime contractor.
pub const PRIME: usize = 2;

/// A validated scenario.
#[derive(Clone, Debug)]
pub struct Model {
    /// Scenario name.
    pub name: String,
    /// Free text from the scenario.
    pub description: String,
    /// Currency label for reports.
    pub currency: String,
    /// Months simulated, `0..horizon`.
    pub horizon: usize,
    /// Referrals arrive in `0..referral_months`.
    pub referral_months: usize,
    /// Last month (exclusive) in which any participant is in the programme:
    /// the default end of overheads and fixed monthly fees.
    pub delivery_months: usize,
    /// Named shared factors (standard normal scores).
    pub factors: Vec<String>,
    /// Multiplier on expected referrals.
    pub volume: Param,
    /// Distinct macro multipliers on baseline hazards: one for `macro`, one
    /// per listed year for `macro_by_year`. Each is drawn once per iteration.
    pub macro_params: Vec<Param>,
    /// Whether the scenario gave `macro_by_year` (rather than `macro`): how
    /// the multipliers are named in paths.
    pub macro_by_year_given: bool,
    /// For each calendar contract year in the horizon, the index of its
    /// multiplier in `macro_params` (the last listed year repeats).
    pub macro_of_year: Vec<usize>,
    /// Multiplier on delivery costs.
    pub cost: Param,
    /// Effect shared by segments that do not set their own.
    pub shared_effect: Param,
    /// Segments of participants.
    pub segments: Vec<Segment>,
    /// Contract-level payment terms.
    pub payments: PaymentTerms,
    /// The commissioner.
    pub commissioner: Commissioner,
    /// The co-funder, if any.
    pub co_funder: Option<CoFunder>,
    /// Providers: the prime first, then subcontractors.
    pub providers: Vec<Provider>,
    /// Social investors, each funding one provider.
    pub investors: Vec<Investor>,
    /// How the commissioner may end the contract early, if it may.
    pub termination: Option<Termination>,
}

/// The commissioner's right to end the contract early (`[termination]`):
/// a break at a month, or when a party's cumulative net falls below an
/// amount, with a payment to the prime when the contract ends so.
#[derive(Clone, Debug, PartialEq)]
pub struct Termination {
    /// The contract ends at the end of this month (within the horizon).
    pub break_month: Option<usize>,
    /// A break when a party's cumulative net falls below an amount.
    pub on_net: Option<NetTrigger>,
    /// Months from a trigger to the end of the contract.
    pub notice_months: usize,
    /// Paid by the commissioner to the prime in the month the contract
    /// ends early (a rescue or compensation payment).
    pub payment: Pence,
    /// Minimum performance levels, each measured once.
    pub minimum_performance: Vec<MinimumPerformance>,
}

/// A minimum performance level (`[[termination.minimum_performance]]`):
/// outcome events per referral over a period, for some segments at one
/// provider or the whole contract, and what follows a level below it.
#[derive(Clone, Debug, PartialEq)]
pub struct MinimumPerformance {
    /// Names its figures.
    pub label: String,
    /// Sustained-outcome segments measured.
    pub segments: Vec<usize>,
    /// The provider whose groups are measured; `None` for every provider.
    pub provider: Option<usize>,
    /// The period: months `from ..= to - 1`, measured at the end of month
    /// `to - 1`.
    pub from: usize,
    /// End (exclusive) of the period.
    pub to: usize,
    /// The minimum, in millionths of an outcome event per referral.
    pub minimum_ppm: i64,
    /// What a level below the minimum leads to.
    pub consequence: Consequence,
}

/// What a level below a minimum performance level leads to.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Consequence {
    /// The commissioner ends the contract (after the notice).
    End,
    /// From the month after the measurement, this share of the referrals
    /// the measured provider would receive in the level's segments go to
    /// provider `to` instead.
    Shift {
        /// The provider receiving them.
        to: usize,
        /// The share moved, in [0, 1].
        share: f64,
    },
}

/// A condition on one party's cumulative net (revenue less cost over the
/// months so far, reserves not counted).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NetTrigger {
    /// The ledger account watched.
    pub account: usize,
    /// The condition holds when the cumulative net is strictly below this
    /// (usually a negative amount: a loss).
    pub below: Pence,
}

/// How much an investor may receive back.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ReturnCap {
    /// At most this multiple of the capital drawn.
    Multiple(f64),
    /// At most the capital drawn growing at this annual rate until repaid.
    AnnualRate(f64),
}

/// An investor funding a provider's costs against its outcome payments
/// (reference model 8).
#[derive(Clone, Debug)]
pub struct Investor {
    /// Identifier (the key in the scenario file).
    pub id: String,
    /// Name.
    pub label: String,
    /// The provider funded.
    pub funds: usize,
    /// Capital committed, in pence.
    pub committed: Pence,
    /// The return cap.
    pub cap: ReturnCap,
    /// Share of the provider's outcome receipts above the cap that still
    /// goes to the investor.
    pub excess_share: f64,
}

/// Where one uncertain parameter's normal score sits among an iteration's
/// scores, and the scenario path that names it.
#[derive(Clone, Debug)]
pub struct Slot<'a> {
    /// What the slot holds.
    pub kind: SlotKind,
    /// Its scenario path (what `--set`, stresses and analyses call it).
    pub path: String,
    /// Its distribution; `None` for a segment without an effect of its own.
    pub param: Option<&'a Param>,
}

/// What a parameter slot holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlotKind {
    /// The volume multiplier.
    Volume,
    /// The cost multiplier.
    Cost,
    /// The macro multiplier with this index (one per distinct yearly value).
    Macro(usize),
    /// The effect shared by segments without their own.
    SharedEffect,
    /// A segment's own effect.
    SegmentEffect(usize),
}

impl Model {
    /// The parameter slots in draw order: volume, cost, each macro
    /// multiplier, the shared effect, then each segment's own effect. This
    /// is the one table of slots: an iteration's normal scores are the
    /// factors' then one per slot, in this order, and every consumer (the
    /// parameter draws, the score count, analyses naming inputs) walks it.
    pub fn slot_kinds(&self) -> impl Iterator<Item = SlotKind> + '_ {
        [SlotKind::Volume, SlotKind::Cost]
            .into_iter()
            .chain((0..self.macro_params.len()).map(SlotKind::Macro))
            .chain(std::iter::once(SlotKind::SharedEffect))
            .chain((0..self.segments.len()).map(SlotKind::SegmentEffect))
    }

    /// The distribution a slot draws from: a segment without an effect of
    /// its own has none (its slot's score is drawn and left unused, so that
    /// giving it one never moves another parameter's draw).
    pub fn slot_param(&self, kind: SlotKind) -> Option<&Param> {
        match kind {
            SlotKind::Volume => Some(&self.volume),
            SlotKind::Cost => Some(&self.cost),
            SlotKind::Macro(k) => Some(&self.macro_params[k]),
            SlotKind::SharedEffect => Some(&self.shared_effect),
            SlotKind::SegmentEffect(s) => self.segments[s].effect.as_ref(),
        }
    }

    /// The scenario path of a slot's parameter.
    pub fn slot_path(&self, kind: SlotKind) -> String {
        match kind {
            SlotKind::Volume => "uncertainty.volume".into(),
            SlotKind::Cost => "uncertainty.cost".into(),
            SlotKind::Macro(k) if self.macro_by_year_given => {
                format!("uncertainty.macro_by_year[{k}]")
            }
            SlotKind::Macro(_) => "uncertainty.macro".into(),
            SlotKind::SharedEffect => "uncertainty.effect".into(),
            SlotKind::SegmentEffect(s) => format!("segments.{}.effect", self.segments[s].id),
        }
    }

    /// Slot `index` of the table.
    pub fn slot(&self, index: usize) -> Slot<'_> {
        let kind = self.slot_kinds().nth(index).expect("a slot of this model");
        Slot {
            kind,
            path: self.slot_path(kind),
            param: self.slot_param(kind),
        }
    }

    /// Every slot, with its path and distribution.
    pub fn slots(&self) -> Vec<Slot<'_>> {
        self.slot_kinds()
            .map(|kind| Slot {
                kind,
                path: self.slot_path(kind),
                param: self.slot_param(kind),
            })
            .collect()
    }

    /// Normal scores per iteration: one per factor, then one per slot.
    pub fn score_count(&self) -> usize {
        self.factors.len() + self.slot_kinds().count()
    }

    /// Contract years covered by the horizon.
    pub fn years(&self) -> usize {
        self.horizon.div_ceil(12)
    }

    /// Number of ledger accounts: commissioner, co-funder, providers.
    pub fn accounts(&self) -> usize {
        PRIME + self.providers.len() + self.investors.len()
    }

    /// The provider whose account this is, if any.
    pub fn provider_of_account(&self, account: usize) -> Option<usize> {
        (PRIME..PRIME + self.providers.len())
            .contains(&account)
            .then(|| account - PRIME)
    }

    /// Cash an account starts with (providers' reserves; zero otherwise).
    pub fn reserves_of(&self, account: usize) -> Pence {
        self.provider_of_account(account)
            .map_or(0, |d| self.providers[d].reserves)
    }

    /// The account index of investor `i`.
    pub fn investor_account(&self, investor: usize) -> usize {
        PRIME + self.providers.len() + investor
    }

    /// The account index of provider `d`.
    pub fn account_of(&self, provider: usize) -> usize {
        PRIME + provider
    }
}

/// A group of participants priced and modelled alike.
#[derive(Clone, Debug)]
pub struct Segment {
    /// Identifier (the key in the scenario file).
    pub id: String,
    /// Human-readable name.
    pub label: String,
    /// Expected referrals per referral month, before the volume multiplier.
    pub referrals: Vec<f64>,
    /// Poisson referrals, or the expected count rounded (for teaching and
    /// exact tests).
    pub referral_process: ReferralProcess,
    /// The segment's own effect, or `None` for the shared effect.
    pub effect: Option<Param>,
    /// How participants reach outcomes.
    pub outcome: OutcomeProcess,
    /// Prices in pence after the bid discount.
    pub tariff: Tariff,
    /// Share of referrals allocated to each provider (sums to one).
    pub allocation: Vec<f64>,
    /// Fiscal saving per attributable month in outcome, in pence.
    pub savings_per_outcome_month: Pence,
    /// Months in outcome per participant that count towards savings.
    pub savings_months: usize,
    /// Fiscal saving per adverse event avoided, in pence.
    pub savings_per_event_avoided: Pence,
}

impl Segment {
    /// Months a participant is in the programme (and costs money) from
    /// referral.
    pub fn service_months(&self) -> usize {
        match &self.outcome {
            OutcomeProcess::Sustained(s) => s.window,
            OutcomeProcess::AdverseEvents(a) => a.service_months,
        }
    }

    /// The sustained-outcome process, if that is the segment's kind.
    pub fn sustained(&self) -> Option<&Sustained> {
        match &self.outcome {
            OutcomeProcess::Sustained(s) => Some(s),
            OutcomeProcess::AdverseEvents(_) => None,
        }
    }

    /// The adverse-event process, if that is the segment's kind.
    pub fn adverse_events(&self) -> Option<&AdverseEvents> {
        match &self.outcome {
            OutcomeProcess::AdverseEvents(a) => Some(a),
            OutcomeProcess::Sustained(_) => None,
        }
    }
}

/// How a segment's participants reach outcomes.
#[derive(Clone, Debug)]
pub enum OutcomeProcess {
    /// A positive outcome that must be sustained (reference model 4a).
    Sustained(Sustained),
    /// Counted adverse events in a follow-up period (reference model 4b).
    AdverseEvents(AdverseEvents),
}

/// Counted adverse events, e.g. reoffending (reference model 4b).
#[derive(Clone, Debug)]
pub struct AdverseEvents {
    /// Expected events per person over the follow-up without the programme.
    pub rate: f64,
    /// Months of follow-up from referral.
    pub follow_up: usize,
    /// Shape `k` of the gamma frailty (mean 1); `None` for no frailty.
    pub frailty_shape: Option<f64>,
    /// Months in the programme (receiving, and costing, the service).
    pub service_months: usize,
}

/// How referral counts are drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReferralProcess {
    /// `N ~ Poisson(volume * lambda)` (the reference model).
    Poisson,
    /// Each provider's count is `round(volume * lambda * share)`.
    Fixed,
}

/// The sustained-outcome process (reference model 4a).
#[derive(Clone, Debug)]
pub struct Sustained {
    /// Monthly hazard of entering outcome without the intervention.
    pub baseline_hazard: f64,
    /// Months in the programme from referral.
    pub window: usize,
    /// Consecutive months in outcome that make the outcome event.
    pub qualifying_months: usize,
    /// Monthly probability of leaving outcome.
    pub dropout: f64,
    /// Maximum paid sustainment months after the outcome event.
    pub max_sustainment_months: usize,
}

/// Prices of one segment, in pence after discount, one entry per contract
/// year (year of referral, or of the event, per [`PriceYear`]).
#[derive(Clone, Debug)]
pub struct Tariff {
    /// Paid on referral.
    pub attachment: Vec<Pence>,
    /// Paid on the outcome event.
    pub outcome: Vec<Pence>,
    /// Paid per sustainment month.
    pub sustainment: Vec<Pence>,
    /// Most the commissioner pays for one participant, over all rules.
    pub cap_per_participant: Option<Pence>,
}

/// Which contract year selects a price.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PriceYear {
    /// The year the participant was referred (the Work Programme rule).
    Referral,
    /// The year the paid event happens.
    Event,
}

/// Payment lags in months, per rule.
#[derive(Clone, Copy, Debug, Default)]
pub struct Lags {
    /// Attachment fee lag.
    pub attachment: usize,
    /// Outcome payment lag.
    pub outcome: usize,
    /// Sustainment payment lag.
    pub sustainment: usize,
    /// Service fee lag.
    pub service_fee: usize,
}

/// Contract-level payment terms.
#[derive(Clone, Debug)]
pub struct PaymentTerms {
    /// Bid discount applied to every tariff (already in the prices).
    pub price_discount: f64,
    /// Which year selects prices.
    pub price_year: PriceYear,
    /// Fixed service fee per month by contract year, in pence (a fee, not a
    /// tariff: not discounted).
    pub service_fee: Vec<Pence>,
    /// Months `0..service_fee_months` in which the service fee is due.
    pub service_fee_months: usize,
    /// Lags per rule.
    pub lags: Lags,
    /// Cap on payments falling due in one contract year, in pence.
    pub cap_per_year: Option<Pence>,
    /// Cap on all payments over the contract, in pence.
    pub cap_total: Option<Pence>,
    /// Payments for improvement over a comparison (reference model 5).
    pub improvement: Vec<ImprovementRule>,
    /// A fee for service with volume reconciliation, if any.
    pub fee_for_service: Option<FeeForService>,
    /// Payments per outcome above a yearly baseline.
    pub additional_outcomes: Vec<AdditionalOutcomes>,
}

impl PaymentTerms {
    /// Measurements of the improvement rules: each rule's cohorts, then its
    /// final measurement.
    pub fn measurements(&self) -> usize {
        self.improvement.iter().map(|r| r.cohorts.len() + 1).sum()
    }
}

/// Pay per outcome event in a contract year above a baseline count (the
/// DfID results-based aid pilots): `price x max(0, outcomes - baseline)`,
/// due at the end of the year plus a lag.
#[derive(Clone, Debug)]
pub struct AdditionalOutcomes {
    /// Name, unique among these rules.
    pub label: String,
    /// Sustained-outcome segments whose outcome events count.
    pub segments: Vec<usize>,
    /// Baseline count by contract year (with `rolling`, year 1's only).
    pub baseline: Vec<f64>,
    /// The baseline is the previous contract year's realised count.
    pub rolling: bool,
    /// Price per additional outcome by contract year, in pence after discount.
    pub price_per_unit: Vec<Pence>,
    /// Months from the year's end to payment.
    pub lag: usize,
}

/// Transforming Rehabilitation's fee for service: an annual fee for a
/// baseline volume paid in monthly instalments during the referral months,
/// and at the end of each contract year a top-up (volume above the band) or
/// clawback (volume below it) per referral outside the band.
#[derive(Clone, Debug)]
pub struct FeeForService {
    /// Annual fee by contract year, in pence (not discounted: not a tariff).
    pub annual_fee: Vec<Pence>,
    /// Referrals a year the fee is for (all segments).
    pub baseline_referrals_per_year: f64,
    /// Relative band around the baseline without reconciliation.
    pub band: f64,
    /// Top-up or clawback per referral outside the band, in pence.
    pub reconciliation_price: Pence,
    /// Months from the instalment's or reconciliation's month to payment.
    pub lag: usize,
}

/// What an improvement rule measures on a cohort of adverse-event segments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Measure {
    /// Share of people with at least one event.
    Binary,
    /// Events per person.
    Frequency,
    /// Events per person with at least one event (Transforming
    /// Rehabilitation's "reoffences per reoffender").
    FrequencyPerPersonWithEvent,
}

/// What the treated cohort is compared with.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Comparison {
    /// An independent group of `per_participant` people per treated
    /// participant, simulated without the intervention.
    Simulated {
        /// Comparison people per treated participant.
        per_participant: f64,
    },
    /// A fixed historical value of the measure, moving by `drift_per_year`
    /// (relative) each contract year after year 1.
    Baseline {
        /// The measure's historical value.
        value: f64,
        /// Relative change per contract year.
        drift_per_year: f64,
    },
}

/// A measurement cohort: participants referred in `from..to`.
#[derive(Clone, Debug)]
pub struct MeasurementCohort {
    /// First referral month.
    pub from: usize,
    /// Referral months end before this one.
    pub to: usize,
    /// Relative improvement that triggers payment, in millionths.
    pub threshold_ppm: i64,
    /// Month of measurement: the cohort's last follow-up month plus the
    /// measurement lag.
    pub measured_in: usize,
}

/// Pay for an improvement over a comparison (SIB and Transforming
/// Rehabilitation style).
#[derive(Clone, Debug)]
pub struct ImprovementRule {
    /// Name, unique among the rules.
    pub label: String,
    /// Segments measured together, all of one kind.
    pub segments: Vec<usize>,
    /// Sustained-outcome segments (higher is better) rather than adverse
    /// events (lower is better).
    pub higher_is_better: bool,
    /// The measure.
    pub measure: Measure,
    /// The comparison.
    pub comparison: Comparison,
    /// Cohorts, each measured and paid on its own.
    pub cohorts: Vec<MeasurementCohort>,
    /// Threshold of the final measurement over all cohorts (millionths),
    /// which pays the excess over what the cohorts earned.
    pub final_threshold_ppm: Option<i64>,
    /// Month of the final measurement (the last cohort's).
    pub final_measured_in: usize,
    /// Price per unit improved (person or event), by contract year of the
    /// measurement, in pence after discount.
    pub price_per_unit: Vec<Pence>,
    /// Months from measurement to payment.
    pub lag: usize,
    /// A rule whose threshold the same cohort must also meet (a hurdle).
    pub requires: Option<usize>,
}

/// The commissioner (outcome payer).
#[derive(Clone, Debug)]
pub struct Commissioner {
    /// Name.
    pub label: String,
    /// Annual discount rate for NPVs.
    pub discount_rate: f64,
    /// The commissioner's own contract-management cost per delivery month.
    pub own_costs_per_month: Pence,
}

/// A second public payer sharing outcome payments.
#[derive(Clone, Debug)]
pub struct CoFunder {
    /// Name.
    pub label: String,
    /// Share of outcome and sustainment payments it pays.
    pub share: f64,
}

/// What happens to a failed subcontractor's participants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnFailure {
    /// The prime takes them over, with their costs and payments.
    Transfer,
    /// Nobody serves them: the effect is zero from then on.
    LoseService,
}

/// A delivering party: the prime or a subcontractor.
#[derive(Clone, Debug)]
pub struct Provider {
    /// Identifier (`prime` or the subcontractor's key).
    pub id: String,
    /// Name.
    pub label: String,
    /// Cash at month 0, in pence.
    pub reserves: Pence,
    /// Overdraft before the party fails, in pence.
    pub credit_line: Pence,
    /// Delivery cost per referral, in pence.
    pub cost_per_referral: Pence,
    /// Delivery cost per participant per programme month, in pence.
    pub cost_per_participant_month: Pence,
    /// Fixed overhead per month, in pence.
    pub overhead_per_month: Pence,
    /// Months `0..overhead_months` in which the overhead is incurred.
    pub overhead_months: usize,
    /// The commissioner's cost of replacing this party if it fails.
    pub reprocurement_cost: Pence,
    /// Terms from the prime (`None` for the prime itself).
    pub terms: Option<SubcontractTerms>,
}

/// What the prime pays a subcontractor.
#[derive(Clone, Debug)]
pub struct SubcontractTerms {
    /// Fee per referral, in pence.
    pub fee_per_referral: Pence,
    /// Share of outcome and sustainment payments received for its participants.
    pub pass_through: f64,
    /// Fixed fee per month, in pence.
    pub monthly_fee: Pence,
    /// Share the prime keeps of everything it passes down.
    pub management_fee: f64,
    /// Fate of its participants if it fails.
    pub on_failure: OnFailure,
}
