//! One Monte Carlo iteration: draw the scenario-level parameters, then walk
//! the months of the contract, each as the same sequence of steps:
//!
//! 1. `referrals`: new cohorts, attachment fees, fees per referral, and
//!    the adverse events of cohorts in event segments;
//! 2. `outcomes`: entries into outcome and whole stays in it, which
//!    schedule outcome and sustainment payments;
//! 3. `measurement`: improvement-over-comparison verdicts and yearly
//!    additional outcomes;
//! 4. `delivery`: delivery costs, fixed fees, service fees and the fee
//!    for service with its year-end reconciliation;
//! 5. `payments`: what falls due, under the contract caps, with
//!    co-funding, pass-through to subcontractors and investors' repayment
//!    (after an alliance's pot is split and advances are recovered, in
//!    `instruments`); then `instruments` pays advances and settles volume
//!    guarantees and an alliance's budget;
//! 6. `failures`: investors fund shortfalls, then providers below their
//!    credit line fail;
//! 7. `termination`: the commissioner ends the contract early at a break
//!    month or when a party's cumulative net falls below a trigger, and
//!    pays the prime the termination payment.
//!
//! After the last month, `counterfactual` adds the closed-form
//! expectations without the intervention, and the ledger closes into each
//! party's figures.
//!
//! **Invariants:** no allocation (every buffer lives in `Scratch`, sized
//! once per model); every draw comes from the two streams of
//! `rng::stream(seed, iteration, ..)`, in a fixed order; money moves only
//! through the ledger (`engine::money`).

mod counterfactual;
mod delivery;
mod failures;
mod instruments;
mod keys;
mod measurement;
mod outcomes;
mod parameters;
mod payers;
mod payments;
mod referrals;
pub mod results;
pub(crate) mod risk_sharing;
mod termination;

use super::improvement::{Tally, Verdict};
use super::money::{Due, Ledger};
use super::plan::{KEPT_POWERS, Plan};
use crate::math;
use crate::model::{Model, Pence};
use crate::rng::{Purpose, stream};
use rand::rngs::ChaCha8Rng;

pub(crate) use parameters::draw_scores;
pub use parameters::{Band, Input, SECOND_REPLICATE, Worlds};
pub use payers::{PayersResult, PoolResult};
pub use results::{
    AdvanceResult, ByRule, CommissionerResult, Draws, InstrumentResult, IterationResult,
    PartyResult, SegmentResult,
};

/// What every step reads and none changes during an iteration.
struct Contract<'a> {
    model: &'a Model,
    plan: &'a Plan,
    draws: &'a Draws,
    hazards: &'a Hazards,
}

/// The month being simulated.
#[derive(Clone, Copy, Debug)]
struct Month {
    /// Months since the contract started.
    t: usize,
    /// Contract year, capped at the last year of the horizon (months past
    /// the horizon are simulated only to count what falls beyond it).
    year: usize,
    /// Whether `t` is within the horizon.
    within: bool,
}

/// Monthly probability of entering outcome, per segment and contract year,
/// without and with the intervention.
#[derive(Clone, Debug)]
struct Hazards {
    years: usize,
    base: Vec<f64>,
    effect: Vec<f64>,
}

impl Hazards {
    fn new(model: &Model) -> Hazards {
        let cells = model.segments.len() * model.years();
        Hazards {
            years: model.years(),
            base: vec![0.0; cells],
            effect: vec![0.0; cells],
        }
    }

    /// `p = 1 - exp(-h)`, with `h = baseline hazard x macro x (1 + effect)`.
    fn set(&mut self, model: &Model, draws: &Draws) {
        for (s, seg) in model.segments.iter().enumerate() {
            for y in 0..self.years {
                let base =
                    seg.sustained().map_or(0.0, |o| o.baseline_hazard) * draws.macro_by_year[y];
                self.base[s * self.years + y] = 1.0 - math::exp(-base);
                self.effect[s * self.years + y] =
                    1.0 - math::exp(-base * (1.0 + draws.effect[s]).max(0.0));
            }
        }
    }

    /// Without the intervention, in calendar month `t` (any month).
    fn base_at(&self, segment: usize, t: usize) -> f64 {
        self.base[segment * self.years + (t / 12).min(self.years - 1)]
    }

    /// For a served participant (with the effect) or not, in `year`.
    fn entry(&self, segment: usize, year: usize, served: bool) -> f64 {
        let cells = if served { &self.effect } else { &self.base };
        cells[segment * self.years + year]
    }
}

/// Who serves a delivery group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Service {
    /// Its provider.
    Active,
    /// The prime, since its provider failed.
    Transferred,
    /// Nobody: the provider failed with `lose_service`, or the contract ended.
    Unserved,
}

/// The participants of one delivery group (a segment at a provider), by
/// cohort: the cohort referred in month `m` lives in slot `m % window`.
#[derive(Debug)]
struct Group {
    service: Service,
    /// In the programme and not yet in outcome.
    waiting: Vec<u64>,
    /// Referred, for programme-month costs.
    size: Vec<u64>,
    /// Entered outcome this month.
    entered: Vec<u64>,
    /// `q^waiting` for the entry draw's failure probability `power_of`, so
    /// that a month's draw needs no `exp`; NaN when not known.
    power: Vec<f64>,
    power_of: f64,
    /// `power_of^e` for `e` below [`outcomes::SMALL_POWERS`] once computed
    /// (a month's entrants of a cohort are few, and recur), else NaN.
    small_powers: Vec<f64>,
    /// This month's entrants per price pool.
    entrants: Vec<u64>,
}

clone_in_place!(Group {
    service,
    waiting,
    size,
    entered,
    power,
    power_of,
    small_powers,
    entrants
});

/// Payments earned by one delivery group's participants, by rule and
/// month due.
#[derive(Debug)]
struct GroupDues {
    attachment: Due,
    /// The part of `attachment` that is a blended payment's fee, which a
    /// subcontractor's pass-through shares like the results it replaces.
    blended_fee: Due,
    outcome: Due,
    sustainment: Due,
    improvement: Due,
}

clone_in_place!(GroupDues {
    attachment,
    blended_fee,
    outcome,
    sustainment,
    improvement
});

impl GroupDues {
    /// Outcome-related payments (those passed through to a subcontractor).
    fn results_at(&self, t: usize) -> Pence {
        self.outcome.at(t) + self.sustainment.at(t) + self.improvement.at(t)
    }
}

/// Participant counts of the whole contract.
struct People {
    groups: Vec<Group>,
    /// Referrals per segment and referral month, `[segment][month]`.
    referrals: Vec<u64>,
    /// Months in outcome counted for savings, `[segment][month]`.
    realised_months: Vec<u64>,
    /// Referrals per delivery group and referral month, `[group][month]`;
    /// empty without minimum performance levels.
    group_referrals: Vec<u64>,
    /// Per segment and provider, `[segment][provider]`: a shift of its
    /// referrals in force (provider moved to, share, minimum performance
    /// level).
    shifts: Vec<Option<(usize, f64, usize)>>,
    /// Per minimum performance level, the referrals its shift moved.
    shifted: Vec<u64>,
}

clone_in_place!(People {
    groups,
    referrals,
    realised_months,
    group_referrals,
    shifts,
    shifted
});

impl People {
    fn referrals_in(
        &self,
        segment: usize,
        months: std::ops::RangeInclusive<usize>,
        model: &Model,
    ) -> u64 {
        let row = segment * model.referral_months;
        self.referrals[row + months.start()..=row + months.end()]
            .iter()
            .sum()
    }
}

/// The contract's money: the ledger and what is scheduled.
struct Books {
    ledger: Ledger,
    group_dues: Vec<GroupDues>,
    service_fee: Due,
    /// Fee-for-service instalments and top-ups.
    fee_for_service: Due,
    clawback: Due,
    paid_in_year: Vec<Pence>,
    /// Per segment, what was paid for its participants, by rule.
    paid_by_segment: Vec<ByRule>,
    /// Per segment, what one rule has falling due this month (a buffer).
    segment_due: Vec<Pence>,
    /// What each public body has paid.
    payers: payers::PayerBooks,
}

clone_in_place!(Books {
    ledger,
    group_dues,
    service_fee,
    fee_for_service,
    clawback,
    paid_in_year,
    paid_by_segment,
    segment_due,
    payers
});

/// Where each provider stands.
struct Providers {
    failed: Vec<Option<usize>>,
    cash: Vec<Pence>,
    /// This month's delivery costs before the cost multiplier.
    accrued_cost: Vec<Pence>,
    /// What the caseload cost at unit costs, `[provider][month]`, for
    /// capacity that follows it after a notice period.
    caseload_cost: Vec<Pence>,
    /// Outcome-related payments received this month.
    results_received: Vec<Pence>,
    /// Referrals received so far, per provider (for volume guarantees).
    referred: Vec<u64>,
    /// Delivery costs paid so far, per provider (for an alliance's budget).
    delivered: Vec<Pence>,
}

clone_in_place!(Providers {
    failed,
    cash,
    accrued_cost,
    caseload_cost,
    results_received,
    referred,
    delivered
});

/// Counts behind improvement and additional-outcome rules.
struct Measurements {
    /// Per improvement rule, per cohort then the final measurement.
    tallies: Vec<Tally>,
    /// The same, treated participants per delivery group (for sharing a
    /// payment between groups).
    treated_by_group: Vec<u64>,
    /// Per improvement rule: index of its first tally.
    first_tally: Vec<usize>,
    /// Per improvement rule: the fraction of a comparison person carried
    /// over to the next cohort.
    comparison_carry: Vec<f64>,
    /// Per price pool: this month's entrants who reach the outcome event.
    reached: Vec<u64>,
    /// Per additional-outcome rule, contract year and group: outcome events.
    yearly_outcomes: Vec<u64>,
    /// Per improvement rule, per cohort then the final measurement: the
    /// verdict (not measured until its month).
    verdicts: Vec<Verdict>,
    /// Per improvement rule, the payments it scheduled.
    improvement_earned: Vec<Pence>,
    /// Per tally of a cohort of a rule with interim measurements: what the
    /// cohort's measurements have scheduled so far (netted off the next).
    interims_earned: Vec<Pence>,
    /// Per additional-outcome rule, the payments it scheduled.
    additional_earned: Vec<Pence>,
    /// Outcome events per segment and month within the horizon,
    /// `[segment][month]` (for its figures and realised series).
    outcomes_by_segment: Vec<u64>,
    /// Per segment, its savings and their NPV (for sharing them among
    /// public bodies).
    savings_by_segment: Vec<(f64, f64)>,
    /// Outcome events per delivery group and month (within the horizon),
    /// `[group][month]`; empty without minimum performance levels.
    group_outcomes: Vec<u64>,
    /// Per minimum performance level: the level measured (NaN if not) and
    /// whether it was below the minimum.
    performance: Vec<(f64, bool)>,
}

clone_in_place!(Measurements {
    tallies,
    treated_by_group,
    first_tally,
    comparison_carry,
    reached,
    yearly_outcomes,
    verdicts,
    improvement_earned,
    interims_earned,
    additional_earned,
    outcomes_by_segment,
    savings_by_segment,
    group_outcomes,
    performance
});

/// Sampling buffers reused by the steps.
struct Buffers {
    /// Participants leaving outcome after exactly `L` months (index `L`).
    stay_lengths: Vec<u64>,
    /// Event-count distributions of one person, treated and without effect.
    pmf: Vec<f64>,
    pmf_base: Vec<f64>,
    /// Expected counterfactual entrants per pool and month.
    counterfactual_entrants: Vec<f64>,
    /// A time-in-state cohort's people in the state, by month of follow-up,
    /// and the same for a comparison group.
    in_state: Vec<u64>,
    in_state_base: Vec<u64>,
    /// Per sampler of leaving outcome, `(1 - dropout)^n` for `n` below
    /// [`KEPT_POWERS`] once computed in the iteration, else NaN.
    leave_powers: Vec<f64>,
}

clone_in_place!(Buffers {
    stay_lengths,
    pmf,
    pmf_base,
    counterfactual_entrants,
    in_state,
    in_state_base,
    leave_powers,
});

/// What investors have put in and taken out, and what their caps still
/// allow them to receive (pence, fractional while interest accrues).
struct Investors {
    owed: Vec<f64>,
    drawn: Vec<Pence>,
    repaid: Vec<Pence>,
}

clone_in_place!(Investors {
    owed,
    drawn,
    repaid
});

/// The contract's state during one iteration, by the steps that own it.
struct State {
    people: People,
    books: Books,
    providers: Providers,
    investors: Investors,
    measurements: Measurements,
    buffers: Buffers,
    /// The commissioner's running figures.
    commissioner: CommissionerResult,
    /// Whether the contract still runs (the prime has not failed and the
    /// commissioner has not ended it).
    live: bool,
    /// The month the commissioner ends the contract, once a trigger has
    /// held (its notice running).
    notice_ends: Option<usize>,
    /// The watched party's net over the months so far (`[termination.on_net]`).
    watched_net: Pence,
    /// The month the commissioner ended the contract early.
    ended_early: Option<usize>,
    /// What risk-sharing instruments measure and settle.
    risk: risk_sharing::RiskBooks,
    /// Volume guarantees, advances and the alliance.
    instruments: instruments::Books,
}

clone_in_place!(State {
    people,
    books,
    providers,
    investors,
    measurements,
    buffers,
    commissioner,
    live,
    notice_ends,
    watched_net,
    ended_early,
    risk,
    instruments
});

/// The normal scores of an iteration: one per factor, then one per
/// parameter slot ([`Model::slots`]); and per slot, a percentile it is held
/// at, or NaN to draw it from its score.
pub(crate) struct Scores {
    pub(crate) values: Vec<f64>,
    pub(crate) pinned: Vec<f64>,
}

/// Every buffer an iteration needs, allocated once and reused.
pub(crate) struct Scratch {
    pub(crate) scores: Scores,
    hazards: Hazards,
    state: State,
    /// The result, reused between iterations.
    pub(crate) result: IterationResult,
    /// The iteration's model, when uncertain keys change it.
    drawn: Option<Box<keys::Drawn>>,
    /// Where in the participant stream the state handed over by another
    /// arm was (see [`run_world`]).
    resume: Option<u128>,
}

impl Scratch {
    /// Buffers sized for `model`.
    pub(crate) fn new(model: &Model, plan: &Plan) -> Scratch {
        let accounts = model.accounts();
        let slots = model.score_count() - model.factors.len();
        Scratch {
            scores: Scores {
                values: vec![0.0; model.score_count()],
                pinned: vec![f64::NAN; slots],
            },
            hazards: Hazards::new(model),
            state: State::new(model, plan),
            result: IterationResult {
                draws: Draws {
                    macro_by_year: vec![0.0; model.years()],
                    macro_draws: vec![0.0; model.macro_params.len()],
                    effect: vec![0.0; model.segments.len()],
                    keys: vec![0.0; model.uncertain_keys.len()],
                    ..Default::default()
                },
                parties: vec![PartyResult::default(); accounts],
                commissioner: CommissionerResult::default(),
                monthly: vec![0; accounts * model.horizon],
                external: 0,
                verdicts: vec![Verdict::NOT_MEASURED; model.payments.measurements()],
                improvement_earned: vec![0; model.payments.improvement.len()],
                investors: vec![(0, 0); model.investors.len()],
                additional_earned: vec![0; model.payments.additional_outcomes.len()],
                segments: vec![SegmentResult::default(); model.segments.len()],
                referrals_by_month: vec![0; model.segments.len() * model.horizon],
                outcomes_by_month: vec![0; model.segments.len() * model.horizon],
                termination_month: None,
                performance: vec![(f64::NAN, false); performance_levels(model)],
                shifted: vec![0; performance_levels(model)],
                corridors: vec![0; model.risk_sharing.corridors.len()],
                payers: PayersResult {
                    savings: vec![0.0; bodies(model)],
                    savings_npv: vec![0.0; bodies(model)],
                    over_budget: vec![
                        0;
                        if bodies(model) > 0 {
                            model.payers.len()
                        } else {
                            0
                        }
                    ],
                    ..Default::default()
                },
                instruments: instruments::Books::new(model).result,
            },
            drawn: keys::Drawn::new(model, plan),
            resume: None,
        }
    }
}

impl State {
    fn new(model: &Model, plan: &Plan) -> State {
        let h = model.horizon;
        let groups = plan
            .groups
            .iter()
            .map(|gp| {
                let slots = model.segments[gp.segment].service_months();
                Group {
                    service: Service::Active,
                    waiting: vec![0; slots],
                    size: vec![0; slots],
                    entered: vec![0; slots],
                    power: vec![f64::NAN; slots],
                    power_of: f64::NAN,
                    small_powers: vec![f64::NAN; outcomes::SMALL_POWERS],
                    entrants: vec![0; plan.pools[gp.segment].len()],
                }
            })
            .collect();
        let due = || GroupDues {
            attachment: Due::new(h),
            blended_fee: Due::new(h),
            outcome: Due::new(h),
            sustainment: Due::new(h),
            improvement: Due::new(h),
        };
        let providers = model.providers.len();
        let investors = model.investors.len();
        let max_pools = plan.pools.iter().map(|p| p.len()).max().unwrap_or(1);
        State {
            people: People {
                groups,
                referrals: vec![0; model.segments.len() * model.referral_months],
                realised_months: vec![0; model.segments.len() * h],
                group_referrals: vec![
                    0;
                    if performance_measured(model) {
                        plan.groups.len() * model.referral_months
                    } else {
                        0
                    }
                ],
                shifts: vec![None; model.segments.len() * model.providers.len()],
                shifted: vec![0; performance_levels(model)],
            },
            books: Books {
                ledger: Ledger::new(model.accounts(), h),
                group_dues: plan.groups.iter().map(|_| due()).collect(),
                service_fee: Due::new(h),
                fee_for_service: Due::new(h),
                clawback: Due::new(h),
                paid_in_year: vec![0; model.years()],
                paid_by_segment: vec![ByRule::default(); model.segments.len()],
                segment_due: vec![0; model.segments.len()],
                payers: payers::PayerBooks::new(model),
            },
            providers: Providers {
                failed: vec![None; providers],
                cash: vec![0; providers],
                accrued_cost: vec![0; providers],
                caseload_cost: vec![0; providers * h],
                results_received: vec![0; providers],
                referred: vec![0; providers],
                delivered: vec![0; providers],
            },
            investors: Investors {
                owed: vec![0.0; investors],
                drawn: vec![0; investors],
                repaid: vec![0; investors],
            },
            measurements: Measurements::new(model, plan),
            buffers: Buffers {
                stay_lengths: vec![0; plan.ages.iter().max().copied().unwrap_or(1) + 1],
                pmf: Vec::with_capacity(512),
                pmf_base: Vec::with_capacity(512),
                counterfactual_entrants: vec![0.0; max_pools * h],
                in_state: vec![0; longest_state_follow_up(model)],
                in_state_base: vec![0; longest_state_follow_up(model)],
                leave_powers: vec![f64::NAN; plan.leave_tables.len() * KEPT_POWERS],
            },
            commissioner: CommissionerResult::default(),
            live: true,
            notice_ends: None,
            watched_net: 0,
            ended_early: None,
            risk: risk_sharing::RiskBooks::new(model),
            instruments: instruments::Books::new(model),
        }
    }

    /// The state at the start of a contract.
    fn reset(&mut self, model: &Model) {
        for participants in &mut self.people.groups {
            participants.service = Service::Active;
            participants.waiting.fill(0);
            participants.size.fill(0);
            participants.power.fill(f64::NAN);
            participants.power_of = f64::NAN;
        }
        self.people.referrals.fill(0);
        self.people.realised_months.fill(0);
        self.people.group_referrals.fill(0);
        self.people.shifts.fill(None);
        self.people.shifted.fill(0);
        let books = &mut self.books;
        books.ledger.clear();
        for dues in &mut books.group_dues {
            dues.attachment.clear();
            dues.blended_fee.clear();
            dues.outcome.clear();
            dues.sustainment.clear();
            dues.improvement.clear();
        }
        books.service_fee.clear();
        books.fee_for_service.clear();
        books.clawback.clear();
        books.paid_in_year.fill(0);
        books.paid_by_segment.fill(ByRule::default());
        books.payers.reset();
        self.providers.failed.fill(None);
        self.providers.caseload_cost.fill(0);
        self.providers.referred.fill(0);
        self.providers.delivered.fill(0);
        self.instruments.reset();
        for (cash, p) in self.providers.cash.iter_mut().zip(&model.providers) {
            *cash = p.reserves;
        }
        self.investors.owed.fill(0.0);
        self.investors.drawn.fill(0);
        self.investors.repaid.fill(0);
        self.measurements.reset();
        self.buffers.leave_powers.fill(f64::NAN);
        self.commissioner = CommissionerResult::default();
        self.live = true;
        self.notice_ends = None;
        self.watched_net = 0;
        self.ended_early = None;
        self.risk.reset();
    }
}

/// The longest follow-up of a time-in-state segment (0 without one).
fn longest_state_follow_up(model: &Model) -> usize {
    model
        .segments
        .iter()
        .filter_map(|s| s.time_in_state().map(|a| a.follow_up))
        .max()
        .unwrap_or(0)
}

/// Runs iteration `iteration` of a run with `seed`; the result is in
/// `scratch.result`.
pub(crate) fn simulate(
    model: &Model,
    plan: &Plan,
    seed: u64,
    iteration: u64,
    scratch: &mut Scratch,
) {
    draw_scores(model, seed, iteration, &mut scratch.scores.values);
    scratch.scores.pinned.fill(f64::NAN);
    simulate_world(model, plan, seed, iteration, scratch);
}

/// Runs one world whose parameter scores are already in `scratch.scores`,
/// with the participant events of stream `participants`: the entry point
/// for designs that choose their draws ([`Worlds`]).
pub(crate) fn simulate_world(
    model: &Model,
    plan: &Plan,
    seed: u64,
    participants: u64,
    scratch: &mut Scratch,
) {
    draw_world(model, scratch);
    run_world(model, plan, seed, participants, scratch, 0, &mut [], &[]);
}

/// The parameter values of the world whose scores are in `scratch.scores`
/// (and the iteration's model, when uncertain keys change it): the first
/// step of [`simulate_world`], taken alone so that arms can compare their
/// worlds before any is run ([`shared_months`]).
pub(crate) fn draw_world(model: &Model, scratch: &mut Scratch) {
    parameters::values(model, &scratch.scores, &mut scratch.result.draws);
    if let Some(d) = &mut scratch.drawn {
        d.set(&scratch.result.draws.keys);
    }
}

/// Whether two models differ at most in how their uncertain parameters
/// are drawn (`volume`, `macro`, `cost`, the effects): then two worlds of
/// them with the same participant stream run alike for as long as their
/// drawn values are alike ([`shared_months`]). Checked once per arm, on
/// the whole model, so that nothing else can differ unseen.
pub(crate) fn same_but_parameters(a: &Model, b: &Model) -> bool {
    if a.segments.len() != b.segments.len() {
        return false;
    }
    let mut b = b.clone();
    b.volume = a.volume.clone();
    b.macro_params = a.macro_params.clone();
    b.cost = a.cost.clone();
    b.shared_effect = a.shared_effect.clone();
    for (sb, sa) in b.segments.iter_mut().zip(&a.segments) {
        sb.effect = sa.effect.clone();
    }
    format!("{a:?}") == format!("{b:?}")
}

/// The months at the start of a world that `follower` (drawn, of a model
/// [`same_but_parameters`] as `leader`'s, on the same participant stream)
/// runs exactly as `leader` does: up to the first month that reads a
/// drawn value in which they differ. Only the macro multiplier is read by
/// year (job entry from the year's first month; a measured cohort's
/// expected comparison outcome over its window at referral, `window - 1`
/// months earlier); any other difference is read in month 0.
pub(crate) fn shared_months(
    model: &Model,
    plan: &Plan,
    leader: &Scratch,
    follower: &Scratch,
) -> usize {
    let (a, b) = (&leader.result.draws, &follower.result.draws);
    let same = |x: &[f64], y: &[f64]| {
        x.len() == y.len() && x.iter().zip(y).all(|(u, v)| u.to_bits() == v.to_bits())
    };
    if a.volume.to_bits() != b.volume.to_bits()
        || a.cost.to_bits() != b.cost.to_bits()
        || !same(&a.effect, &b.effect)
        || !same(&a.keys, &b.keys)
        || a.macro_by_year.len() != b.macro_by_year.len()
    {
        return 0;
    }
    let Some(year) = a
        .macro_by_year
        .iter()
        .zip(&b.macro_by_year)
        .position(|(u, v)| u.to_bits() != v.to_bits())
    else {
        return plan.months_simulated;
    };
    let ahead = model
        .segments
        .iter()
        .zip(&plan.rules_of_segment)
        .filter(|(_, rules)| !rules.is_empty())
        .filter_map(|(seg, _)| seg.sustained().map(|o| o.window - 1))
        .max()
        .unwrap_or(0);
    (12 * year).saturating_sub(ahead).min(plan.months_simulated)
}

/// Runs a drawn world ([`draw_world`]) from the start of month `from`:
/// from the beginning when `from` is 0, otherwise from the state and
/// stream another arm handed over at that month. At the start of month
/// `copy_at[c]` (when above 0), hands this world's state and stream to
/// `copies[c]`, which then runs on from there.
#[allow(clippy::too_many_arguments)]
pub(crate) fn run_world(
    model: &Model,
    plan: &Plan,
    seed: u64,
    participants: u64,
    scratch: &mut Scratch,
    from: usize,
    copies: &mut [Scratch],
    copy_at: &[usize],
) {
    let Scratch {
        hazards,
        state,
        result,
        drawn,
        resume,
        ..
    } = scratch;
    let (model, plan) = match drawn {
        Some(d) => (&d.model, &d.plan),
        None => (model, plan),
    };
    let rng = &mut stream(seed, participants, Purpose::Participants);
    if from == 0 {
        state.reset(model);
    } else {
        rng.set_word_pos(resume.expect("a handed-over stream position"));
    }
    hazards.set(model, &result.draws);
    let contract = Contract {
        model,
        plan,
        draws: &result.draws,
        hazards,
    };
    let hand_over = |t: usize, state: &State, rng: &Rng, copies: &mut [Scratch]| {
        for (copy, &at) in copies.iter_mut().zip(copy_at) {
            if at == t && at > 0 {
                copy.state.clone_from(state);
                copy.resume = Some(rng.get_word_pos());
            }
        }
    };
    for t in from..plan.months_simulated {
        hand_over(t, state, rng, copies);
        let month = Month::new(t, model);
        start_month(&contract, month, state);
        if state.live && t < model.referral_months {
            referrals::refer(&contract, month, state, rng);
        }
        outcomes::enter_and_stay(&contract, month, state, rng);
        measurement::measure(&contract, month, state);
        if !month.within {
            // Past the horizon only participants move, so that what they
            // would earn is counted in `beyond_horizon`.
            continue;
        }
        if state.live {
            delivery::deliver(&contract, month, state);
            payers::contribute(&contract, month, state);
        }
        payments::pay(&contract, month, state);
        if state.live {
            risk_sharing::settle(&contract, month, state);
            instruments::settle(&contract, month, state);
            failures::fund_shortfalls(&contract, month, state);
            failures::fail(&contract, month, state);
            termination::end_early(&contract, month, state);
            instruments::on_early_end(&contract, month, state);
        }
        payers::settle(&contract, month, state);
    }
    hand_over(plan.months_simulated.max(from), state, rng, copies);
    instruments::close(model, state);
    counterfactual::expect(&contract, state);
    close_books(model, plan, state, result);
}

impl Month {
    fn new(t: usize, model: &Model) -> Month {
        Month {
            t,
            year: (t / 12).min(model.years() - 1),
            within: t < model.horizon,
        }
    }
}

/// The start of a month: the slot of the cohort referred `window` months
/// ago is freed; costs accrue afresh; what investors on an annual rate may
/// receive grows.
fn start_month(contract: &Contract, month: Month, state: &mut State) {
    let Contract { model, plan, .. } = contract;
    for (participants, gp) in state.people.groups.iter_mut().zip(&plan.groups) {
        let window = model.segments[gp.segment].service_months();
        participants.waiting[month.t % window] = 0;
        participants.size[month.t % window] = 0;
    }
    state.providers.accrued_cost.fill(0);
    for (owed, investor) in state.investors.owed.iter_mut().zip(&model.investors) {
        if let crate::model::ReturnCap::AnnualRate(rate) = investor.cap {
            *owed *= math::pow(1.0 + rate, 1.0 / 12.0);
        }
    }
}

/// Each party's figures from the ledger, and the running figures into the
/// result.
fn close_books(model: &Model, plan: &Plan, state: &State, result: &mut IterationResult) {
    let h = model.horizon;
    let ledger = &state.books.ledger;
    for (account, party) in result.parties.iter_mut().enumerate() {
        let mut cumulative: Pence = 0;
        let mut lowest: Pence = 0;
        let mut npv = 0.0;
        for t in 0..h {
            let flow = ledger.flow(account, t);
            result.monthly[account * h + t] = flow;
            cumulative += flow;
            lowest = lowest.min(cumulative);
            npv += flow as f64 * plan.discount[t];
        }
        *party = PartyResult {
            revenue: ledger.revenue(account),
            cost: ledger.cost(account),
            npv,
            lowest_cash: model.reserves_of(account) + lowest,
            peak_funding_need: -lowest,
            failure_month: model
                .provider_of_account(account)
                .and_then(|d| state.providers.failed[d]),
        };
    }
    let outside = ledger.external();
    result.external = ledger.revenue(outside) - ledger.cost(outside);
    result.commissioner = state.commissioner;
    result.termination_month = state.ended_early;
    payers::close(model, state, result);
    result
        .performance
        .copy_from_slice(&state.measurements.performance);
    result.shifted.copy_from_slice(&state.people.shifted);
    result.corridors.copy_from_slice(&state.risk.settled);
    state.instruments.copy_to(&mut result.instruments);
    let investors = &state.investors;
    for (i, pair) in result.investors.iter_mut().enumerate() {
        *pair = (investors.drawn[i], investors.repaid[i]);
    }
    let m = &state.measurements;
    result.verdicts.copy_from_slice(&m.verdicts);
    result
        .improvement_earned
        .copy_from_slice(&m.improvement_earned);
    result
        .additional_earned
        .copy_from_slice(&m.additional_earned);
    let (h, months) = (model.horizon, model.referral_months);
    for (s, segment) in result.segments.iter_mut().enumerate() {
        let referrals = &state.people.referrals[s * months..][..months];
        let by_month = &mut result.referrals_by_month[s * h..][..h];
        by_month[..months.min(h)].copy_from_slice(&referrals[..months.min(h)]);
        let outcomes = &m.outcomes_by_segment[s * h..][..h];
        result.outcomes_by_month[s * h..][..h].copy_from_slice(outcomes);
        *segment = SegmentResult {
            referrals: referrals.iter().sum(),
            outcomes: outcomes.iter().sum(),
            paid: state.books.paid_by_segment[s],
        };
    }
}

/// Public bodies reported with their shares: the commissioner and each
/// payer, or none when payments are not shared.
fn bodies(model: &Model) -> usize {
    if model.shared_payments() {
        model.payers.len() + 1
    } else {
        0
    }
}

/// The number of minimum performance levels.
fn performance_levels(model: &Model) -> usize {
    model
        .termination
        .as_ref()
        .map_or(0, |t| t.minimum_performance.len())
}

/// Whether any minimum performance level is measured (and so referrals
/// and outcome events are counted per delivery group and month).
fn performance_measured(model: &Model) -> bool {
    performance_levels(model) > 0
}

/// The participants' random stream.
type Rng = ChaCha8Rng;
