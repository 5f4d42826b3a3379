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
//!    co-funding, pass-through to subcontractors and investors' repayment;
//! 6. `failures`: investors fund shortfalls, then providers below their
//!    credit line fail.
//!
//! After the last month, `counterfactual` adds the closed-form
//! expectations without the intervention, and the ledger closes into each
//! party's figures.
//!
//! **Invariants:** no allocation (every buffer lives in [`Scratch`], sized
//! once per model); every draw comes from the two streams of
//! `rng::stream(seed, iteration, ..)`, in a fixed order; money moves only
//! through the ledger (`engine::money`).

mod counterfactual;
mod delivery;
mod failures;
mod measurement;
mod outcomes;
mod parameters;
mod payments;
mod referrals;
pub mod results;

use super::improvement::{Tally, Verdict};
use super::money::{Due, Ledger};
use super::plan::Plan;
use crate::model::{Model, Pence};
use crate::rng::{Purpose, stream};
use rand::rngs::ChaCha8Rng;

pub use parameters::{Band, Input, SECOND_REPLICATE, Worlds, draw_scores};
pub use results::{ByRule, CommissionerResult, Draws, IterationResult, PartyResult};

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
                self.base[s * self.years + y] = 1.0 - (-base).exp();
                self.effect[s * self.years + y] =
                    1.0 - (-base * (1.0 + draws.effect[s]).max(0.0)).exp();
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
#[derive(Clone, Debug)]
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
    /// This month's entrants per price pool.
    entrants: Vec<u64>,
}

/// Payments earned by one delivery group's participants, by rule and
/// month due.
#[derive(Clone, Debug)]
struct GroupDues {
    attachment: Due,
    outcome: Due,
    sustainment: Due,
    improvement: Due,
}

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
}

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
}

/// Where each provider stands.
struct Providers {
    failed: Vec<Option<usize>>,
    cash: Vec<Pence>,
    /// This month's delivery costs before the cost multiplier.
    accrued_cost: Vec<Pence>,
    /// Outcome-related payments received this month.
    results_received: Vec<Pence>,
}

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
}

/// Sampling buffers reused by the steps.
struct Buffers {
    /// Participants leaving outcome after exactly `L` months (index `L`).
    stay_lengths: Vec<u64>,
    /// Event-count distributions of one person, treated and without effect.
    pmf: Vec<f64>,
    pmf_base: Vec<f64>,
    /// Expected counterfactual entrants per pool and month.
    counterfactual_entrants: Vec<f64>,
}

/// The normal scores of an iteration: one per factor, then one per
/// parameter slot ([`Model::slots`]); and per slot, a percentile it is held
/// at, or NaN to draw it from its score.
pub(crate) struct Scores {
    pub(crate) values: Vec<f64>,
    pub(crate) pinned: Vec<f64>,
}

/// Every buffer an iteration needs, allocated once and reused.
pub struct Scratch {
    pub(crate) scores: Scores,
    hazards: Hazards,
    people: People,
    books: Books,
    providers: Providers,
    owed_to_investors: Vec<f64>,
    measurements: Measurements,
    buffers: Buffers,
    /// The result, reused between iterations.
    pub result: IterationResult,
}

impl Scratch {
    /// Buffers sized for `model`.
    pub fn new(model: &Model, plan: &Plan) -> Scratch {
        let h = model.horizon;
        let groups = plan
            .groups
            .iter()
            .map(|g| {
                let slots = model.segments[g.segment].service_months();
                Group {
                    service: Service::Active,
                    waiting: vec![0; slots],
                    size: vec![0; slots],
                    entered: vec![0; slots],
                    power: vec![f64::NAN; slots],
                    power_of: f64::NAN,
                    entrants: vec![0; plan.pools[g.segment].len()],
                }
            })
            .collect();
        let group_dues = plan
            .groups
            .iter()
            .map(|_| GroupDues {
                attachment: Due::new(h),
                outcome: Due::new(h),
                sustainment: Due::new(h),
                improvement: Due::new(h),
            })
            .collect();
        let rules = &model.payments.improvement;
        let mut first_tally = Vec::with_capacity(rules.len());
        let mut tallies = 0;
        for rule in rules {
            first_tally.push(tallies);
            tallies += rule.cohorts.len() + 1;
        }
        let max_pools = plan.pools.iter().map(|p| p.len()).max().unwrap_or(1);
        let accounts = model.accounts();
        let providers = model.providers.len();
        let slots = model.score_count() - model.factors.len();
        Scratch {
            scores: Scores {
                values: vec![0.0; model.score_count()],
                pinned: vec![f64::NAN; slots],
            },
            hazards: Hazards::new(model),
            people: People {
                groups,
                referrals: vec![0; model.segments.len() * model.referral_months],
                realised_months: vec![0; model.segments.len() * h],
            },
            books: Books {
                ledger: Ledger::new(accounts, h),
                group_dues,
                service_fee: Due::new(h),
                fee_for_service: Due::new(h),
                clawback: Due::new(h),
                paid_in_year: vec![0; model.years()],
            },
            providers: Providers {
                failed: vec![None; providers],
                cash: vec![0; providers],
                accrued_cost: vec![0; providers],
                results_received: vec![0; providers],
            },
            owed_to_investors: vec![0.0; model.investors.len()],
            measurements: Measurements {
                tallies: vec![Tally::default(); tallies],
                treated_by_group: vec![0; tallies * plan.groups.len()],
                first_tally,
                comparison_carry: vec![0.0; rules.len()],
                reached: vec![0; max_pools],
                yearly_outcomes: vec![
                    0;
                    model.payments.additional_outcomes.len()
                        * model.years()
                        * plan.groups.len()
                ],
            },
            buffers: Buffers {
                stay_lengths: vec![0; plan.ages.iter().max().copied().unwrap_or(1) + 1],
                pmf: Vec::with_capacity(512),
                pmf_base: Vec::with_capacity(512),
                counterfactual_entrants: vec![0.0; max_pools * h],
            },
            result: IterationResult {
                draws: Draws {
                    macro_by_year: vec![0.0; model.years()],
                    macro_draws: vec![0.0; model.macro_params.len()],
                    effect: vec![0.0; model.segments.len()],
                    ..Default::default()
                },
                parties: vec![PartyResult::default(); accounts],
                commissioner: CommissionerResult::default(),
                monthly: vec![0; accounts * h],
                external: 0,
                verdicts: vec![Verdict::NOT_MEASURED; tallies],
                improvement_earned: vec![0; rules.len()],
                investors: vec![(0, 0); model.investors.len()],
                additional_earned: vec![0; model.payments.additional_outcomes.len()],
            },
        }
    }

    fn reset(&mut self, model: &Model) {
        for g in &mut self.people.groups {
            g.service = Service::Active;
            g.waiting.fill(0);
            g.size.fill(0);
            g.power.fill(f64::NAN);
            g.power_of = f64::NAN;
        }
        self.people.referrals.fill(0);
        self.people.realised_months.fill(0);
        let books = &mut self.books;
        books.ledger.clear();
        for dues in &mut books.group_dues {
            dues.attachment.clear();
            dues.outcome.clear();
            dues.sustainment.clear();
            dues.improvement.clear();
        }
        books.service_fee.clear();
        books.fee_for_service.clear();
        books.clawback.clear();
        books.paid_in_year.fill(0);
        self.providers.failed.fill(None);
        for (cash, p) in self.providers.cash.iter_mut().zip(&model.providers) {
            *cash = p.reserves;
        }
        self.owed_to_investors.fill(0.0);
        let m = &mut self.measurements;
        m.tallies.fill(Tally::default());
        m.treated_by_group.fill(0);
        m.comparison_carry.fill(0.0);
        m.yearly_outcomes.fill(0);
        let r = &mut self.result;
        r.commissioner = CommissionerResult::default();
        r.parties.fill(PartyResult::default());
        r.verdicts.fill(Verdict::NOT_MEASURED);
        r.improvement_earned.fill(0);
        r.investors.fill((0, 0));
        r.additional_earned.fill(0);
    }
}

/// Runs iteration `iteration` of a run with `seed`; the result is in
/// `scratch.result`.
pub fn simulate(model: &Model, plan: &Plan, seed: u64, iteration: u64, scratch: &mut Scratch) {
    draw_scores(seed, iteration, &mut scratch.scores.values);
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
    scratch.reset(model);
    let Scratch {
        scores,
        hazards,
        people,
        books,
        providers,
        owed_to_investors,
        measurements,
        buffers,
        result,
    } = scratch;
    let IterationResult {
        draws,
        parties,
        commissioner,
        monthly,
        external,
        verdicts,
        improvement_earned,
        investors,
        additional_earned,
    } = result;
    parameters::values(model, scores, draws);
    hazards.set(model, draws);
    let contract = Contract {
        model,
        plan,
        draws,
        hazards,
    };
    let rng = &mut stream(seed, participants, Purpose::Participants);
    let mut earned = measurement::Earned {
        verdicts,
        improvement: improvement_earned,
        additional: additional_earned,
    };
    let mut live = true;
    for t in 0..plan.months_simulated {
        let month = Month {
            t,
            year: (t / 12).min(model.years() - 1),
            within: t < model.horizon,
        };
        start_month(&contract, month, people, providers, owed_to_investors);
        if live && t < model.referral_months {
            referrals::refer(
                &contract,
                month,
                people,
                books,
                providers,
                measurements,
                buffers,
                commissioner,
                rng,
            );
        }
        outcomes::enter_and_stay(
            &contract,
            month,
            live,
            people,
            books,
            providers,
            measurements,
            buffers,
            commissioner,
            rng,
        );
        measurement::measure(
            &contract,
            month,
            measurements,
            books,
            &mut earned,
            commissioner,
        );
        if !month.within {
            // Past the horizon only participants move, so that what they
            // would earn is counted in `beyond_horizon`.
            continue;
        }
        if live {
            delivery::deliver(&contract, month, people, books, providers, commissioner);
        }
        payments::pay(
            &contract,
            month,
            live,
            people,
            books,
            providers,
            owed_to_investors,
            investors,
            commissioner,
        );
        if live {
            failures::fund_shortfalls(
                &contract,
                month,
                books,
                providers,
                owed_to_investors,
                investors,
            );
            live = failures::fail(&contract, month, people, books, providers, commissioner);
        }
    }
    close_books(
        model,
        plan,
        &books.ledger,
        &providers.failed,
        parties,
        monthly,
        external,
    );
    counterfactual::expect(&contract, people, buffers, commissioner);
}

/// The start of a month: the slot of the cohort referred `window` months
/// ago is freed; costs accrue afresh; what investors on an annual rate may
/// receive grows.
fn start_month(
    contract: &Contract,
    month: Month,
    people: &mut People,
    providers: &mut Providers,
    owed_to_investors: &mut [f64],
) {
    let Contract { model, plan, .. } = contract;
    for (g, gp) in people.groups.iter_mut().zip(&plan.groups) {
        let window = model.segments[gp.segment].service_months();
        g.waiting[month.t % window] = 0;
        g.size[month.t % window] = 0;
    }
    providers.accrued_cost.fill(0);
    for (owed, investor) in owed_to_investors.iter_mut().zip(&model.investors) {
        if let crate::model::ReturnCap::AnnualRate(rate) = investor.cap {
            *owed *= (1.0 + rate).powf(1.0 / 12.0);
        }
    }
}

/// Each party's figures from the ledger.
fn close_books(
    model: &Model,
    plan: &Plan,
    ledger: &Ledger,
    failed: &[Option<usize>],
    parties: &mut [PartyResult],
    monthly: &mut [Pence],
    external: &mut Pence,
) {
    let h = model.horizon;
    for (account, party) in parties.iter_mut().enumerate() {
        let mut cumulative: Pence = 0;
        let mut lowest: Pence = 0;
        let mut npv = 0.0;
        for t in 0..h {
            let flow = ledger.flow(account, t);
            monthly[account * h + t] = flow;
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
            failure_month: model.provider_of_account(account).and_then(|d| failed[d]),
        };
    }
    let outside = ledger.external();
    *external = ledger.revenue(outside) - ledger.cost(outside);
}

/// The participants' random stream.
type Rng = ChaCha8Rng;
