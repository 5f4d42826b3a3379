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

/// A tariff price in pence after the bid discount.
pub fn price_pence(pounds: f64, discount: f64) -> Pence {
    to_pence(pounds * (1.0 - discount))
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
    /// The calendar month of month 0 (months since year 0: `12 * year +
    /// month - 1`), when the scenario gives it (`time.start_month`).
    pub start_month: Option<i64>,
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
    /// Public bodies paying part of the contract besides the commissioner.
    pub payers: Vec<Payer>,
    /// The pot the public bodies pay into, if any.
    pub pooled_budget: Option<PooledBudget>,
    /// Plain keys of the scenario given a distribution (in file order):
    /// drawn once per iteration after the named slots, and written into
    /// the iteration's copy of the model.
    pub uncertain_keys: Vec<UncertainKey>,
    /// How the commissioner may end the contract early, if it may.
    pub termination: Option<Termination>,
    /// How participant-level counts are drawn.
    pub counts: CountMode,
    /// Risk-sharing instruments: corridors and payment floors.
    pub risk_sharing: RiskSharing,
    /// Volume guarantees, advances and an alliance.
    pub instruments: Instruments,
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

/// How participant-level counts (referrals, entries, stays, events,
/// measured outcomes) are drawn.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CountMode {
    /// Binomial and Poisson draws (the reference model).
    #[default]
    Random,
    /// Each count is its expectation rounded half away from zero, so a
    /// published cohort's arithmetic can be reproduced exactly.
    Expected,
}

impl CountMode {
    /// Whether counts are their rounded expectations.
    #[inline]
    pub fn expected(self) -> bool {
        self == CountMode::Expected
    }
}

/// A plain numeric key of the scenario given a distribution.
#[derive(Clone, Debug)]
pub struct UncertainKey {
    /// Its scenario path, e.g. `segments.jsa.sustained.dropout`.
    pub path: String,
    /// Its distribution, in the key's own units (pounds, probabilities).
    pub param: Param,
    /// The model field(s) its value sets.
    pub target: Target,
    /// A stable tag of the path: the key's own score comes from a stream
    /// keyed by it, so making one key uncertain never moves another's draw.
    pub stream_tag: u64,
}

/// The model field(s) an uncertain key sets, in the key's own units: the
/// engine converts with the same functions validation uses ([`to_pence`],
/// [`price_pence`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// `segments.<id>.volume`: multiplier on the segment's referrals.
    SegmentVolume(usize),
    /// `segments.<id>.referrals_per_month` given as one number.
    Referrals(usize),
    /// `segments.<id>.sustained.baseline_hazard`.
    BaselineHazard(usize),
    /// `segments.<id>.sustained.dropout`.
    Dropout(usize),
    /// `segments.<id>.adverse_events.rate`.
    EventRate(usize),
    /// `segments.<id>.time_in_state.initial_share`.
    StateInitialShare(usize),
    /// `segments.<id>.time_in_state.entry_probability`.
    StateEntry(usize),
    /// `segments.<id>.time_in_state.exit_probability`.
    StateExit(usize),
    /// `segments.<id>.tariff.<part>` given as one price for every year.
    Tariff(usize, TariffPart),
    /// `segments.<id>.tariff.cap_per_participant`.
    CapPerParticipant(usize),
    /// `segments.<id>.savings_per_outcome_month`.
    SavingsPerOutcomeMonth(usize),
    /// `segments.<id>.savings_per_event_avoided`.
    SavingsPerEventAvoided(usize),
    /// `payments.service_fee_per_month` given as one number.
    ServiceFee,
    /// `payments.cap_per_year`.
    CapPerYear,
    /// `payments.cap_total`.
    CapTotal,
    /// `payments.improvement[i].price_per_unit` given as one number.
    ImprovementPrice(usize),
    /// `payments.improvement[i].comparison.value`.
    ImprovementBaseline(usize),
    /// `payments.additional_outcomes[i].price_per_unit` given as one number.
    AdditionalPrice(usize),
    /// `payments.fee_for_service.annual_fee` given as one number.
    FeeForServiceAnnualFee,
    /// `payments.fee_for_service.reconciliation_price_per_referral`.
    ReconciliationPrice,
    /// `commissioner.own_costs_per_month`.
    OwnCosts,
    /// `commissioner.discount_rate`.
    DiscountRate,
    /// `co_funder.share`.
    CoFunderShare,
    /// A provider's key (`prime.*`, `subcontractors.<id>.*`).
    Provider(usize, ProviderKey),
    /// An investor's key (`investors.<id>.*`).
    Investor(usize, InvestorKey),
}

/// A tariff's price.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TariffPart {
    /// `attachment`.
    Attachment,
    /// `outcome`.
    Outcome,
    /// `sustainment`.
    Sustainment,
}

/// A provider's numeric key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProviderKey {
    /// `reserves`.
    Reserves,
    /// `credit_line`.
    CreditLine,
    /// `cost_per_referral`.
    CostPerReferral,
    /// `cost_per_participant_month`.
    CostPerParticipantMonth,
    /// `overhead_per_month`.
    OverheadPerMonth,
    /// `reprocurement_cost`.
    ReprocurementCost,
    /// `fixed_cost_share`.
    FixedCostShare,
    /// `fee_per_referral` (subcontractors).
    FeePerReferral,
    /// `pass_through` (subcontractors).
    PassThrough,
    /// `monthly_fee` (subcontractors).
    MonthlyFee,
    /// `management_fee` (subcontractors).
    ManagementFee,
}

/// An investor's numeric key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InvestorKey {
    /// `committed_capital`.
    CommittedCapital,
    /// `return_cap_multiple` or `return_cap_annual_rate` (whichever it has).
    ReturnCap,
    /// `excess_share`.
    ExcessShare,
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
    /// A plain key given a distribution (index into `uncertain_keys`).
    Key(usize),
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
            .chain((0..self.uncertain_keys.len()).map(SlotKind::Key))
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
            SlotKind::Key(k) => Some(&self.uncertain_keys[k].param),
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
            SlotKind::Key(k) => self.uncertain_keys[k].path.clone(),
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

    /// Number of ledger accounts: commissioner, co-funder, providers,
    /// investors, payers and the pooled budget.
    pub fn accounts(&self) -> usize {
        PRIME
            + self.providers.len()
            + self.investors.len()
            + self.payers.len()
            + usize::from(self.pooled_budget.is_some())
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

    /// What the planned caseload of `provider` costs at its unit costs in
    /// each month `0..horizon`, in pence before the cost multiplier: the
    /// expected referrals the allocation gives it at volume 1, at
    /// `cost_per_referral` in the referral month and
    /// `cost_per_participant_month` in every month of their service. The
    /// capacity its fixed cost share pays for.
    pub fn planned_unit_costs(&self, provider: usize) -> Vec<f64> {
        let p = &self.providers[provider];
        let (per_referral, per_month) = (
            p.cost_per_referral as f64,
            p.cost_per_participant_month as f64,
        );
        (0..self.horizon)
            .map(|t| {
                let mut cost = 0.0;
                for seg in &self.segments {
                    let share = seg.allocation[provider];
                    if share <= 0.0 {
                        continue;
                    }
                    let first = (t + 1).saturating_sub(seg.service_months());
                    let last = t.min(self.referral_months.saturating_sub(1));
                    let in_programme: f64 = if first <= last {
                        seg.referrals[first..=last].iter().sum()
                    } else {
                        0.0
                    };
                    let referred = if t < self.referral_months {
                        seg.referrals[t]
                    } else {
                        0.0
                    };
                    cost += share * (per_referral * referred + per_month * in_programme);
                }
                cost
            })
            .collect()
    }
}

/// A group of participants priced and modelled alike.
#[derive(Clone, Debug)]
pub struct Segment {
    /// Identifier (the key in the scenario file).
    pub id: String,
    /// Human-readable name.
    pub label: String,
    /// Expected referrals per referral month, before the volume multipliers.
    pub referrals: Vec<f64>,
    /// The segment's own multiplier on its referrals (`segments.<id>.volume`,
    /// 1 unless given), on top of the contract's volume multiplier.
    pub volume: f64,
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
            OutcomeProcess::TimeInState(a) => a.service_months,
        }
    }

    /// The sustained-outcome process, if that is the segment's kind.
    pub fn sustained(&self) -> Option<&Sustained> {
        match &self.outcome {
            OutcomeProcess::Sustained(s) => Some(s),
            _ => None,
        }
    }

    /// The adverse-event process, if that is the segment's kind.
    pub fn adverse_events(&self) -> Option<&AdverseEvents> {
        match &self.outcome {
            OutcomeProcess::AdverseEvents(a) => Some(a),
            _ => None,
        }
    }

    /// The time-in-state process, if that is the segment's kind.
    pub fn time_in_state(&self) -> Option<&TimeInState> {
        match &self.outcome {
            OutcomeProcess::TimeInState(a) => Some(a),
            _ => None,
        }
    }

    /// Whether the effect reduces something bad (an event rate, the chance
    /// of entering a state) rather than raising an outcome hazard: then it
    /// must be at most 1.
    pub fn effect_reduces(&self) -> bool {
        !matches!(self.outcome, OutcomeProcess::Sustained(_))
    }
}

/// How a segment's participants reach outcomes.
#[derive(Clone, Debug)]
pub enum OutcomeProcess {
    /// A positive outcome that must be sustained (reference model 4a).
    Sustained(Sustained),
    /// Counted adverse events in a follow-up period (reference model 4b).
    AdverseEvents(AdverseEvents),
    /// Time spent in a state (in care, in custody) over a follow-up.
    TimeInState(TimeInState),
}

/// Time in a state over a follow-up, e.g. months in care or in custody:
/// each month a person outside the state enters it with probability
/// `entry`, and one in it leaves with probability `exit` (a two-state
/// Markov chain, so months in the state cluster within a person).
#[derive(Clone, Debug)]
pub struct TimeInState {
    /// Months of follow-up from referral (the referral month is the first).
    pub follow_up: usize,
    /// Probability of being in the state in the referral month.
    pub initial_share: f64,
    /// Monthly probability of entering the state, without the programme
    /// and before the macro multiplier.
    pub entry: f64,
    /// Monthly probability of leaving the state.
    pub exit: f64,
    /// Months in the programme (receiving, and costing, the service).
    pub service_months: usize,
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
    /// A share of the outcome and sustainment prices paid as a fee per
    /// referral instead, if any.
    pub blended: Option<Blended>,
}

/// A blended payment (docs/model.md §8b): a share of each outcome and
/// sustainment price moves into a fee per referral, set from the
/// contract's plan when it is signed, so that at plan the commissioner
/// expects to pay the same in total but less of it on results.
#[derive(Clone, Debug)]
pub struct Blended {
    /// Share of each price moved to the fee, by contract year (the year
    /// that selects the price, per [`PriceYear`]).
    pub fee_share: Vec<f64>,
    /// The fee per referral by segment and referral year, in pence (empty
    /// until set from the plan).
    pub fee: Vec<Vec<Pence>>,
    /// The tariffs as written, by segment, before the blend (empty until
    /// the blend is applied).
    pub written: Vec<Tariff>,
}

impl PaymentTerms {
    /// Measurements of the improvement rules: each rule's cohorts, then its
    /// final measurement.
    pub fn measurements(&self) -> usize {
        self.improvement.iter().map(|r| r.measurements()).sum()
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
    /// Share of person-months of follow-up spent in the state (time-in-state
    /// segments only).
    TimeInState,
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
    /// Months of the interim measurements, one per entry of the rule's
    /// `interim_months` (empty without interim payments).
    pub interims_measured_in: Vec<usize>,
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
    /// Months of follow-up after which each cohort is also measured and
    /// paid on the time in state so far (time-in-state measures only; the
    /// cohort's measurement at the end of the follow-up then pays the
    /// excess over what its interims earned). Increasing.
    pub interim_months: Vec<usize>,
    /// A baseline comparison's value at each interim (the baseline share of
    /// the first months of follow-up); empty to use the baseline's value.
    pub interim_baselines: Vec<f64>,
}

impl ImprovementRule {
    /// Measurements of the rule: each cohort, the final one, then each
    /// cohort's interims (cohort by cohort). Rules without interims keep
    /// the cohort-then-final layout.
    pub fn measurements(&self) -> usize {
        self.cohorts.len() * (1 + self.interim_months.len()) + 1
    }

    /// Index, among the rule's measurements, of interim `i` of cohort `j`.
    pub fn interim_index(&self, cohort: usize, interim: usize) -> usize {
        self.cohorts.len() + 1 + cohort * self.interim_months.len() + interim
    }
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
    /// Share of the unit costs (per referral, per programme month) that is
    /// capacity: paid on the planned caseload whatever the volume.
    pub fixed_cost_share: f64,
    /// Months after which capacity follows a shortfall in the caseload;
    /// `None`: capacity stays as planned.
    pub capacity_notice_months: Option<usize>,
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

/// Risk-sharing instruments: corridors (gain-and-pain shares) and payment
/// floors per referral.
#[derive(Clone, Debug, Default)]
pub struct RiskSharing {
    /// Corridors, in file order.
    pub corridors: Vec<Corridor>,
    /// Per segment, the least paid per referral by the end of the horizon,
    /// in pence; `None` without a floor.
    pub floors: Vec<Option<Pence>>,
}

impl RiskSharing {
    /// Whether any segment has a payment floor.
    pub fn has_floors(&self) -> bool {
        self.floors.iter().any(Option::is_some)
    }
}

/// What a corridor compares with its target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CorridorMeasure {
    /// The provider's delivery costs: above the target is its loss.
    Cost,
    /// The provider's revenue less its costs, without investors' capital
    /// and repayments or the corridor's own settlements: below the target
    /// is its loss.
    Margin,
    /// The results payments (outcome, sustainment, improvement) the
    /// provider received: below the target is its loss.
    Payments,
}

/// When a corridor is settled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Settle {
    /// At the end of each contract year, on that year.
    Yearly,
    /// Once, in the horizon's last month, on the whole horizon.
    End,
}

/// Sharing rates by band of a deviation from the target: band `i` runs
/// from `edges[i-1]` to `edges[i]` times the target (from 0, and the last
/// without end), and the payer bears `shares[i]` of the deviation in it.
#[derive(Clone, Debug, PartialEq)]
pub struct Bands {
    /// Band edges as fractions of the target, increasing.
    pub edges: Vec<f64>,
    /// The payer's share in each band: one more than the edges.
    pub shares: Vec<f64>,
}

/// A risk corridor between a payer and a provider.
#[derive(Clone, Debug)]
pub struct Corridor {
    /// Names its figures.
    pub label: String,
    /// The paying account: the commissioner, or the prime.
    pub payer: usize,
    /// The provider (0 = prime, or a subcontractor of the prime).
    pub provider: usize,
    /// What is compared with the target.
    pub measure: CorridorMeasure,
    /// The target per contract year (yearly) or for the horizon (end), in
    /// pence; positive.
    pub target: Pence,
    /// When it is settled.
    pub settle: Settle,
    /// Bands of the provider's loss against the target (the payer pays).
    pub pain: Bands,
    /// Bands of the provider's gain against the target (the provider pays
    /// back).
    pub gain: Bands,
}

// ---------------------------------------------------------------------------
// Several public payers and a pooled budget.

/// A payment the public side makes to the prime, as public bodies share it
/// (`[payers.<id>].rules`, `[pooled_budget].rules`). A rule added later
/// becomes shareable by one entry here and one call to
/// `engine::world::payers::pay` where it is paid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PayerRule {
    /// Attachment fees.
    Attachment,
    /// The fixed service fee.
    ServiceFee,
    /// Fee-for-service instalments and top-ups (clawbacks come back the
    /// same way).
    FeeForService,
    /// Outcome payments.
    Outcome,
    /// Sustainment payments.
    Sustainment,
    /// Payments for improvement over a comparison.
    Improvement,
    /// The termination payment.
    Termination,
    /// A corridor's settlements between the commissioner and the prime
    /// (paybacks come back the same way).
    Corridor,
    /// Payment-floor top-ups.
    Floor,
    /// The commissioner's volume guarantee to the prime.
    VolumeGuarantee,
}

impl PayerRule {
    /// Every rule with its name in scenarios and outputs, in the order a
    /// month's payments are made.
    pub const ALL: [(&'static str, PayerRule); 10] = [
        ("service_fee", PayerRule::ServiceFee),
        ("fee_for_service", PayerRule::FeeForService),
        ("attachment", PayerRule::Attachment),
        ("outcome", PayerRule::Outcome),
        ("sustainment", PayerRule::Sustainment),
        ("improvement", PayerRule::Improvement),
        ("termination", PayerRule::Termination),
        ("corridor", PayerRule::Corridor),
        ("floor", PayerRule::Floor),
        ("volume_guarantee", PayerRule::VolumeGuarantee),
    ];

    /// The rule's index in per-rule tables.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The rule's name.
    pub fn name(self) -> &'static str {
        PayerRule::ALL
            .iter()
            .find(|(_, r)| *r == self)
            .map_or("", |(n, _)| n)
    }
}

/// Shares of payments are held in parts per [`SHARE_UNIT`] (nine decimal
/// places), so a body's part of an amount is exact integer arithmetic.
pub const SHARE_UNIT: i64 = 1_000_000_000;

/// A public body paying part of the contract (`[payers.<id>]`).
#[derive(Clone, Debug)]
pub struct Payer {
    /// Id in outputs (`payer.<id>.*`, and its ledger party).
    pub id: String,
    /// Name.
    pub label: String,
    /// Per [`PayerRule`] (by index): its share of what the rule pays, in
    /// parts per [`SHARE_UNIT`].
    pub rule_shares: [i64; PayerRule::ALL.len()],
    /// The most it pays directly for the rules in one contract year.
    pub budget_per_year: Option<Pence>,
    /// The most it pays directly for the rules over the contract.
    pub cap_total: Option<Pence>,
    /// Per segment: its share of the segment's savings.
    pub savings_shares: Vec<f64>,
    /// The share of every segment's savings, when it is the same for all.
    pub savings_uniform: Option<f64>,
    /// Its share of the pooled budget's contributions, overruns and
    /// returns, in parts per [`SHARE_UNIT`].
    pub pool_share: i64,
}

/// What happens to the money left in a pooled budget at the end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PoolEnd {
    /// It goes back to the bodies by their pool shares.
    Return,
    /// It stays in the pot.
    Keep,
}

/// One pot the public bodies pay into, from which the contract's pooled
/// rules are paid (`[pooled_budget]`).
#[derive(Clone, Debug)]
pub struct PooledBudget {
    /// Name.
    pub label: String,
    /// Paid in at month 0.
    pub upfront: Pence,
    /// Paid in at the start of each contract year while the contract runs.
    pub per_year: Pence,
    /// Per [`PayerRule`] (by index): whether the pot pays it.
    pub rules: [bool; PayerRule::ALL.len()],
    /// What happens to what is left at the end.
    pub on_end: PoolEnd,
}

impl Model {
    /// Whether payments are shared among several public bodies or paid
    /// from a pooled budget.
    pub fn shared_payments(&self) -> bool {
        !self.payers.is_empty() || self.pooled_budget.is_some()
    }

    /// The ledger account of payer `i`.
    pub fn payer_account(&self, payer: usize) -> usize {
        PRIME + self.providers.len() + self.investors.len() + payer
    }

    /// The ledger account of the pooled budget.
    pub fn pool_account(&self) -> usize {
        self.payer_account(self.payers.len())
    }
}

/// Risk-sharing instruments between the payers and the providers: volume
/// guarantees, working-capital advances and an alliance. Empty for a
/// contract without them.
#[derive(Clone, Debug, Default)]
pub struct Instruments {
    /// Minimum-volume clauses (`[[volume_guarantees]]`), in file order.
    pub volume_guarantees: Vec<VolumeGuarantee>,
    /// Working-capital advances (`[[advances]]`), in file order.
    pub advances: Vec<Advance>,
    /// Providers sharing one results pot and one budget (`[alliance]`).
    pub alliance: Option<Alliance>,
}

impl Instruments {
    /// Whether the contract has any instrument.
    pub fn any(&self) -> bool {
        !self.volume_guarantees.is_empty() || !self.advances.is_empty() || self.alliance.is_some()
    }
}

/// Who pays whom under an instrument: the commissioner pays the prime, or
/// the prime pays one of its subcontractors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Between {
    /// The commissioner pays (or lends to) the prime.
    CommissionerPrime,
    /// The prime pays (or lends to) the subcontractor with this provider
    /// index.
    PrimeSubcontractor(usize),
}

impl Between {
    /// The paying ledger account.
    pub fn payer(self) -> usize {
        match self {
            Between::CommissionerPrime => COMMISSIONER,
            Between::PrimeSubcontractor(_) => PRIME,
        }
    }

    /// The provider index of the recipient.
    pub fn recipient(self) -> usize {
        match self {
            Between::CommissionerPrime => 0,
            Between::PrimeSubcontractor(d) => d,
        }
    }
}

/// What a volume guarantee pays in a year whose referrals fall below the
/// threshold.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Compensation {
    /// This much per referral missing below the threshold, in pence.
    PerMissingReferral(Pence),
    /// A fixed top-up for a full contract year, in pence (pro rata for a
    /// shorter last referral year).
    TopUp(Pence),
}

/// A minimum-volume clause: at the end of each contract year of referrals,
/// if the recipient's referrals fall below `threshold` of its forecast,
/// the payer compensates it.
#[derive(Clone, Debug)]
pub struct VolumeGuarantee {
    /// Names its figures (`contract.<label>.*`).
    pub label: String,
    /// Payer and recipient.
    pub between: Between,
    /// Share of the forecast referrals guaranteed, in [0, 1].
    pub threshold: f64,
    /// What a shortfall earns.
    pub compensation: Compensation,
    /// Forecast referrals per referral month (the referral plan at volume
    /// 1, for a subcontractor its allocated share), from the base contract.
    pub forecast: Vec<f64>,
}

/// What happens to the part of an advance not recovered when it stops
/// being recovered (the horizon, an early end, the recipient's failure).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnShortfall {
    /// The payer writes it off.
    WriteOff,
    /// The recipient repays it (a failed recipient cannot: written off).
    Repay,
}

/// A working-capital advance: paid up front in one month, recovered as a
/// share of the recipient's later outcome-related receipts until repaid.
#[derive(Clone, Debug)]
pub struct Advance {
    /// Names its figures (`contract.<label>.*`).
    pub label: String,
    /// Payer and recipient.
    pub between: Between,
    /// The amount advanced, in pence.
    pub amount: Pence,
    /// The month it is paid.
    pub month: usize,
    /// Share of each later month's outcome-related receipts withheld until
    /// the advance is recovered, in (0, 1].
    pub recovery_share: f64,
    /// What becomes of an unrecovered part.
    pub on_shortfall: OnShortfall,
}

/// An alliance: its members (the prime and some subcontractors) pool every
/// results payment made for their participants and split it by their
/// shares, and settle their pooled delivery costs against one budget each
/// contract year, sharing the gain or pain by their gain/pain shares.
#[derive(Clone, Debug)]
pub struct Alliance {
    /// Share of the results pot and of the budget, per provider (zero for a
    /// provider outside the alliance); the members' shares sum to one.
    pub shares: Vec<f64>,
    /// Share of the alliance's gain or pain against the budget, per
    /// provider; sums to one over the members.
    pub gain_pain_shares: Vec<f64>,
    /// The members' delivery costs budgeted per contract year, in pence (a
    /// last year shorter than 12 months gets its months' share).
    pub budget: Vec<Pence>,
}

impl Alliance {
    /// Whether provider `d` is a member.
    pub fn member(&self, d: usize) -> bool {
        self.shares[d] > 0.0
    }
}
