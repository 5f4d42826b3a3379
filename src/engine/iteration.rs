//! One Monte Carlo iteration: draw the scenario-level parameters, then walk
//! the months, moving counts of participants between states and money
//! between parties.
//!
//! **Invariants:** no allocation (every buffer lives in [`Scratch`], sized
//! once per model); every draw comes from the two streams of
//! `rng::stream(seed, iteration, ..)`, in a fixed order; money moves only
//! through [`Ledger::transfer`], so what one party pays another receives.

use super::improvement::{Tally, Verdict, draw_events, event_pmf, final_payment, judge, payment};
use super::plan::Plan;
use crate::model::*;
use crate::rng::{Purpose, stream};
use crate::sample::{Binomial, binomial, normal_quantile, open_unit, poisson};

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
    }
}

/// The commissioner's view of one iteration.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CommissionerResult {
    /// Paid to the prime within the horizon, by rule (both payers).
    pub paid: ByRule,
    /// Part of `paid` that the co-funder paid.
    pub co_funded: Pence,
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
}

/// Double-entry money: every amount leaves one account and enters another.
#[derive(Clone, Debug)]
pub struct Ledger {
    accounts: usize,
    horizon: usize,
    /// `[account][month]` net flow.
    flows: Vec<Pence>,
    revenue: Vec<Pence>,
    cost: Vec<Pence>,
}

impl Ledger {
    fn new(accounts: usize, horizon: usize) -> Self {
        Ledger {
            accounts,
            horizon,
            flows: vec![0; (accounts + 1) * horizon],
            revenue: vec![0; accounts + 1],
            cost: vec![0; accounts + 1],
        }
    }

    fn clear(&mut self) {
        self.flows.fill(0);
        self.revenue.fill(0);
        self.cost.fill(0);
    }

    /// The account for money leaving the contract (delivery costs).
    pub fn external(&self) -> usize {
        self.accounts
    }

    /// Moves `amount` from `from` to `to` in `month`.
    #[inline]
    pub fn transfer(&mut self, from: usize, to: usize, month: usize, amount: Pence) {
        if amount == 0 {
            return;
        }
        self.flows[from * self.horizon + month] -= amount;
        self.flows[to * self.horizon + month] += amount;
        self.cost[from] += amount;
        self.revenue[to] += amount;
    }

    fn cash(&self, account: usize, month: usize) -> Pence {
        self.flows[account * self.horizon + month]
    }
}

/// State of a delivery group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum GroupStatus {
    /// Served by its provider.
    Active,
    /// Its provider failed; the prime serves it.
    Transferred,
    /// Nobody serves it (provider failed with lose_service, or the contract ended).
    Unserved,
}

/// Per-group participant counts.
#[derive(Clone, Debug)]
struct GroupState {
    status: GroupStatus,
    /// Waiting (in programme, not yet in outcome) per cohort slot `m % window`.
    waiting: Vec<u64>,
    /// Cohort size per slot, for programme-month costs.
    size: Vec<u64>,
    /// This month's entrants into outcome per slot.
    entered: Vec<u64>,
    /// Per slot, `q^waiting` for the failure probability `power_of`, so
    /// that a month's entry draw needs no `exp`; NaN when not known.
    power: Vec<f64>,
    power_of: f64,
    /// Entrants this month per pool.
    entrants: Vec<u64>,
    /// Payments due per month (attachment, outcome+sustainment), pence.
    due_attachment: Vec<Pence>,
    due_outcome: Vec<Pence>,
    due_sustainment: Vec<Pence>,
    due_improvement: Vec<Pence>,
}

/// Every buffer an iteration needs, allocated once and reused.
pub struct Scratch {
    groups: Vec<GroupState>,
    ledger: Ledger,
    due_service_fee: Vec<Pence>,
    /// Fee-for-service instalments and top-ups, and clawbacks, by month due.
    due_fee_for_service: Vec<Pence>,
    due_clawback: Vec<Pence>,
    referrals: Vec<u64>,
    cost_raw: Vec<Pence>,
    p_effect: Vec<f64>,
    p_base: Vec<f64>,
    /// This iteration's normal scores: the factors', then one per parameter
    /// slot ([`Model::slots`]). Set by [`draw_scores`] or by a caller that
    /// controls the draws (stress bands, sensitivity designs).
    pub scores: Vec<f64>,
    /// Per parameter slot, a percentile the parameter is held at, or NaN to
    /// draw it from its score.
    pub pinned: Vec<f64>,
    realised_months: Vec<u64>,
    cf_entrants: Vec<f64>,
    paid_in_year: Vec<Pence>,
    failed: Vec<Option<usize>>,
    cash: Vec<Pence>,
    /// Event-count distributions of one person, treated and without effect.
    pmf: Vec<f64>,
    pmf_base: Vec<f64>,
    /// Per improvement rule, per cohort then final: the counts.
    tallies: Vec<Tally>,
    /// The same, treated participants per delivery group (for pass-through).
    tally_groups: Vec<u64>,
    /// Per improvement rule: offset of its tallies.
    rule_offset: Vec<usize>,
    /// Per price pool: this month's entrants who reach the outcome event.
    reached: Vec<u64>,
    /// Per improvement rule: the fraction of a comparison person carried over.
    comparison_carry: Vec<f64>,
    /// Per additional-outcome rule, contract year and group: outcome events.
    yearly_outcomes: Vec<u64>,
    /// Per investor, what its cap still allows it to receive (pence): a
    /// multiple of each draw, or the draws growing at the annual rate.
    owed: Vec<f64>,
    /// Per provider, outcome-related payments received this month.
    results_received: Vec<Pence>,
    /// Participants leaving outcome after exactly `L` months (index `L`).
    stay_lengths: Vec<u64>,
    /// Paid outcome+sustainment per group this month (for pass-through).
    group_paid: Vec<Pence>,
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
                let seg = &model.segments[g.segment];
                let pools = plan.pools[g.segment].len();
                GroupState {
                    status: GroupStatus::Active,
                    waiting: vec![0; seg.service_months()],
                    size: vec![0; seg.service_months()],
                    entered: vec![0; seg.service_months()],
                    power: vec![f64::NAN; seg.service_months()],
                    power_of: f64::NAN,
                    entrants: vec![0; pools],
                    due_attachment: vec![0; h],
                    due_outcome: vec![0; h],
                    due_sustainment: vec![0; h],
                    due_improvement: vec![0; h],
                }
            })
            .collect();
        let accounts = model.accounts();
        let mut rule_offset = Vec::new();
        let mut measurements = 0;
        for r in &model.payments.improvement {
            rule_offset.push(measurements);
            measurements += r.cohorts.len() + 1;
        }
        let max_pools = plan.pools.iter().map(|p| p.len()).max().unwrap_or(1);
        Scratch {
            groups,
            ledger: Ledger::new(accounts, h),
            due_service_fee: vec![0; h],
            due_fee_for_service: vec![0; h],
            due_clawback: vec![0; h],
            referrals: vec![0; model.segments.len() * model.referral_months],
            cost_raw: vec![0; model.providers.len()],
            p_effect: vec![0.0; model.segments.len() * model.years()],
            p_base: vec![0.0; model.segments.len() * model.years()],
            scores: vec![0.0; model.score_count()],
            pinned: vec![f64::NAN; model.score_count() - model.factors.len()],
            realised_months: vec![0; model.segments.len() * h],
            cf_entrants: vec![0.0; max_pools * h],
            paid_in_year: vec![0; model.years()],
            failed: vec![None; model.providers.len()],
            cash: vec![0; model.providers.len()],
            group_paid: vec![0; plan.groups.len()],
            stay_lengths: vec![0; plan.ages.iter().max().copied().unwrap_or(1) + 1],
            pmf: Vec::with_capacity(512),
            pmf_base: Vec::with_capacity(512),
            tallies: vec![Tally::default(); measurements],
            tally_groups: vec![0; measurements * plan.groups.len()],
            rule_offset,
            comparison_carry: vec![0.0; model.payments.improvement.len()],
            reached: vec![0; max_pools],
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
                verdicts: vec![
                    Verdict {
                        relative: f64::NAN,
                        met: false,
                        units: 0.0
                    };
                    measurements
                ],
                improvement_earned: vec![0; model.payments.improvement.len()],
                investors: vec![(0, 0); model.investors.len()],
                additional_earned: vec![0; model.payments.additional_outcomes.len()],
            },
            yearly_outcomes: vec![
                0;
                model.payments.additional_outcomes.len()
                    * model.years()
                    * plan.groups.len()
            ],
            owed: vec![0.0; model.investors.len()],
            results_received: vec![0; model.providers.len()],
        }
    }

    fn reset(&mut self) {
        for g in &mut self.groups {
            g.status = GroupStatus::Active;
            g.waiting.fill(0);
            g.size.fill(0);
            g.power.fill(f64::NAN);
            g.power_of = f64::NAN;
            g.due_attachment.fill(0);
            g.due_outcome.fill(0);
            g.due_sustainment.fill(0);
            g.due_improvement.fill(0);
        }
        self.ledger.clear();
        self.due_service_fee.fill(0);
        self.due_fee_for_service.fill(0);
        self.due_clawback.fill(0);
        self.referrals.fill(0);
        self.realised_months.fill(0);
        self.paid_in_year.fill(0);
        self.failed.fill(None);
        self.result.commissioner = CommissionerResult::default();
        for p in &mut self.result.parties {
            *p = PartyResult::default();
        }
        self.tallies.fill(Tally::default());
        self.tally_groups.fill(0);
        self.comparison_carry.fill(0.0);
        self.result.verdicts.fill(Verdict {
            relative: f64::NAN,
            met: false,
            units: 0.0,
        });
        self.result.improvement_earned.fill(0);
        self.result.investors.fill((0, 0));
        self.result.additional_earned.fill(0);
        self.yearly_outcomes.fill(0);
        self.owed.fill(0.0);
    }
}

/// Fills `scores` with iteration `iteration`'s normal scores: one per
/// factor, then one per parameter slot ([`Model::slots`]). A slot consumes
/// its score even when its value is fixed or the segment uses the shared
/// effect, so making one parameter uncertain never shifts another's draw.
pub fn draw_scores(seed: u64, iteration: u64, scores: &mut [f64]) {
    let mut rng = stream(seed, iteration, Purpose::Parameters);
    for z in scores.iter_mut() {
        *z = normal_quantile(open_unit(&mut rng));
    }
}

/// The scenario-level parameter values of one iteration from its scores,
/// with any pinned percentiles.
fn parameter_values(model: &Model, scores: &[f64], pinned: &[f64], draws: &mut Draws) {
    let (factors, own) = scores.split_at(model.factors.len());
    let mut slot = 0;
    let mut next = |p: &crate::param::Param| {
        let u = pinned[slot];
        let v = if u.is_nan() {
            p.draw(own[slot], factors)
        } else {
            p.at_percentile(u)
        };
        slot += 1;
        v
    };
    draws.volume = next(&model.volume);
    draws.cost = next(&model.cost);
    for (k, p) in model.macro_params.iter().enumerate() {
        draws.macro_draws[k] = next(p);
    }
    for (y, &k) in model.macro_of_year.iter().enumerate() {
        draws.macro_by_year[y] = draws.macro_draws[k];
    }
    let shared = next(&model.shared_effect);
    for (s, seg) in model.segments.iter().enumerate() {
        let own = next(seg.effect.as_ref().unwrap_or(&model.shared_effect));
        draws.effect[s] = if seg.effect.is_some() { own } else { shared };
    }
}

/// Runs iteration `iteration` of a run with `seed`; the result is in
/// `scratch.result`.
pub fn simulate(model: &Model, plan: &Plan, seed: u64, iteration: u64, scratch: &mut Scratch) {
    draw_scores(seed, iteration, &mut scratch.scores);
    scratch.pinned.fill(f64::NAN);
    simulate_world(model, plan, seed, iteration, scratch);
}

/// Runs one world whose parameter scores are already in `scratch.scores`
/// (and `scratch.pinned`), with the participant events of stream
/// `participants`: the entry point for designs that choose their draws.
pub fn simulate_world(
    model: &Model,
    plan: &Plan,
    seed: u64,
    participants: u64,
    scratch: &mut Scratch,
) {
    scratch.reset();
    parameter_values(
        model,
        &scratch.scores,
        &scratch.pinned,
        &mut scratch.result.draws,
    );
    let mut rng = stream(seed, participants, Purpose::Participants);
    let Scratch {
        groups,
        ledger,
        due_service_fee,
        due_fee_for_service,
        due_clawback,
        referrals,
        cost_raw,
        p_effect,
        p_base,
        realised_months,
        cf_entrants,
        paid_in_year,
        failed,
        cash,
        group_paid,
        stay_lengths,
        pmf,
        pmf_base,
        tallies,
        tally_groups,
        rule_offset,
        comparison_carry,
        reached,
        owed,
        results_received,
        yearly_outcomes,
        result,
        ..
    } = scratch;
    let draws = &result.draws;
    let years = model.years();
    let h = model.horizon;
    for (s, seg) in model.segments.iter().enumerate() {
        for y in 0..years {
            let base = seg.sustained().map_or(0.0, |o| o.baseline_hazard) * draws.macro_by_year[y];
            p_base[s * years + y] = 1.0 - (-base).exp();
            p_effect[s * years + y] = 1.0 - (-base * (1.0 + draws.effect[s]).max(0.0)).exp();
        }
    }
    let c = &mut result.commissioner;
    let ext = ledger.external();
    let lags = model.payments.lags;
    let co_share = model.co_funder.as_ref().map_or(0.0, |f| f.share);
    let mut contract_live = true;
    for (d, p) in model.providers.iter().enumerate() {
        cash[d] = p.reserves;
    }

    for t in 0..plan.months_simulated {
        // Past the horizon only participants move, so that payments they
        // would earn are counted in `beyond_horizon`.
        let within = t < h;
        let year = (t / 12).min(years - 1);
        // A cohort referred in month m is in the programme in m..m+window-1;
        // the slot of cohort t-window is free from month t.
        for (g, gp) in groups.iter_mut().zip(&plan.groups) {
            let w = model.segments[gp.segment].service_months();
            g.waiting[t % w] = 0;
            g.size[t % w] = 0;
        }
        cost_raw.fill(0);
        for (i, inv) in model.investors.iter().enumerate() {
            if let ReturnCap::AnnualRate(r) = inv.cap {
                owed[i] *= (1.0 + r).powf(1.0 / 12.0);
            }
        }

        // 1. Referrals, attachment fees, fees per referral.
        if contract_live && t < model.referral_months {
            for (s, seg) in model.segments.iter().enumerate() {
                let lambda = draws.volume * seg.referrals[t];
                for (d, &share) in seg.allocation.iter().enumerate() {
                    if share <= 0.0 {
                        continue;
                    }
                    let n = match seg.referral_process {
                        ReferralProcess::Poisson => poisson(&mut rng, lambda * share),
                        ReferralProcess::Fixed => (lambda * share).round() as u64,
                    };
                    if n == 0 {
                        continue;
                    }
                    // A failed subcontractor's new referrals go to the prime.
                    let d = if failed[d].is_some() { 0 } else { d };
                    let gi = plan.group_of[s][d].expect("prime group exists for every segment");
                    let w = seg.service_months();
                    groups[gi].waiting[t % w] += n;
                    groups[gi].power[t % w] = f64::NAN;
                    groups[gi].size[t % w] += n;
                    referrals[s * model.referral_months + t] += n;
                    c.referrals += n;
                    cost_raw[d] += n as Pence * model.providers[d].cost_per_referral;
                    let fee = n as Pence * plan.attachment[s][year];
                    c.removed_by_participant_cap += n as Pence * plan.attachment_removed[s][year];
                    schedule(
                        &mut groups[gi].due_attachment,
                        t + lags.attachment,
                        fee,
                        &mut c.beyond_horizon,
                    );
                    if let Some(terms) = &model.providers[d].terms {
                        let gross = n as Pence * terms.fee_per_referral;
                        pass_down(
                            ledger,
                            c,
                            model.account_of(d),
                            t,
                            gross,
                            terms.management_fee,
                        );
                    }
                    if let Some(ev) = seg.adverse_events() {
                        // The cohort's events over its follow-up, drawn now;
                        // the effect is that of its provider's status at referral.
                        let served = groups[gi].status != GroupStatus::Unserved;
                        let base_mean = ev.rate * draws.macro_by_year[year];
                        let mean = if served {
                            base_mean * (1.0 - draws.effect[s])
                        } else {
                            base_mean
                        };
                        event_pmf(mean, ev.frailty_shape, pmf);
                        let (people, events) = draw_events(&mut rng, n, pmf);
                        c.adverse_events += events;
                        c.people_with_event += people;
                        c.counterfactual_adverse_events += n as f64 * base_mean;
                        let end = t + ev.follow_up - 1;
                        if end < h {
                            let saving = (n as f64 * base_mean - events as f64)
                                * seg.savings_per_event_avoided as f64;
                            c.savings += saving;
                            c.savings_npv += saving * plan.discount[end];
                        }
                        let rules = &plan.rules_of_segment[s];
                        if !rules.is_empty() {
                            event_pmf(base_mean, ev.frailty_shape, pmf_base);
                        }
                        let mut tally = Tally {
                            treated: [n, people, events],
                            comparison: [0; 3],
                        };
                        tally_referrals(
                            model,
                            plan,
                            s,
                            t,
                            gi,
                            &mut tally,
                            tallies,
                            tally_groups,
                            rule_offset,
                            comparison_carry,
                            |size| draw_events(&mut rng, size, pmf_base),
                        );
                    } else if let Some(proc_) = seg
                        .sustained()
                        .filter(|_| !plan.rules_of_segment[s].is_empty())
                    {
                        // Measured sustained outcomes: the treated cohort is
                        // counted now, its outcome events as they are drawn; a
                        // simulated comparison reaches an outcome with the
                        // closed-form probability without the programme.
                        let mut p_outcome = 0.0;
                        let mut waiting = 1.0;
                        for j in 0..proc_.window {
                            let p = p_base[s * years + ((t + j) / 12).min(years - 1)];
                            p_outcome += waiting * p;
                            waiting *= 1.0 - p;
                        }
                        p_outcome *= (1.0 - proc_.dropout).powi(proc_.qualifying_months as i32 - 1);
                        let mut tally = Tally {
                            treated: [n, 0, 0],
                            comparison: [0; 3],
                        };
                        tally_referrals(
                            model,
                            plan,
                            s,
                            t,
                            gi,
                            &mut tally,
                            tallies,
                            tally_groups,
                            rule_offset,
                            comparison_carry,
                            |size| {
                                let outcomes = binomial(&mut rng, size, p_outcome);
                                (outcomes, outcomes)
                            },
                        );
                    }
                }
            }
        }

        // 2. Entries into outcome, 3. ageing in outcome, outcome events.
        for (gi, gp) in plan.groups.iter().enumerate() {
            let s = gp.segment;
            let seg = &model.segments[s];
            let g = &mut groups[gi];
            // Programme-month costs, borne by whoever serves the group.
            if within && contract_live && g.status != GroupStatus::Unserved {
                let in_programme: u64 = g.size.iter().sum();
                let bearer = if g.status == GroupStatus::Transferred {
                    0
                } else {
                    gp.provider
                };
                cost_raw[bearer] +=
                    in_programme as Pence * model.providers[bearer].cost_per_participant_month;
            }
            let Some(proc_) = seg.sustained() else {
                continue;
            };
            let served = contract_live && g.status != GroupStatus::Unserved;
            let p = if served {
                p_effect[s * years + year]
            } else {
                p_base[s * years + year]
            };
            let entry = Binomial::new(p);
            g.entrants.fill(0);
            let first = (t + 1).saturating_sub(proc_.window);
            let last = t.min(model.referral_months.saturating_sub(1));
            if first <= last {
                enter(
                    g,
                    &entry,
                    p,
                    first,
                    last,
                    proc_.window,
                    |m| plan.pool_of(s, m),
                    &mut rng,
                );
            }
            // Measured by an improvement rule: which cohort's entrants reach
            // the outcome event, drawn per cohort (then the stays below are
            // drawn given how many reach it).
            let measured = !plan.rules_of_segment[s].is_empty();
            if measured {
                reached.fill(0);
                let reach = (1.0 - proc_.dropout).powi(proc_.qualifying_months as i32 - 1);
                for m in first..=last {
                    let e = g.entered[m % proc_.window];
                    if e == 0 {
                        continue;
                    }
                    let r_c = binomial(&mut rng, e, reach);
                    reached[plan.pool_of(s, m)] += r_c;
                    for &r in &plan.rules_of_segment[s] {
                        let Some(cohort) = plan.cohort_of[r][m] else {
                            continue;
                        };
                        let rule = &model.payments.improvement[r];
                        for ci in [cohort, rule.cohorts.len()] {
                            let tally = &mut tallies[rule_offset[r] + ci];
                            tally.treated[1] += r_c;
                            tally.treated[2] += r_c;
                        }
                    }
                }
            }
            // Each month's entrants are followed through their whole stay in
            // outcome at once: dropout does not depend on service, so their
            // outcome, sustainment and savings months are known now.
            let ages = plan.ages[s];
            let q = proc_.qualifying_months;
            for (pool, prices) in plan.pools[s].iter().enumerate() {
                let entrants = g.entrants[pool];
                if entrants == 0 {
                    continue;
                }
                let stays = &mut stay_lengths[..=ages];
                if measured {
                    sample_stays_given_reached(
                        &mut rng,
                        entrants,
                        reached[pool],
                        proc_,
                        &plan.leave_tables[plan.leave[s]],
                        ages,
                        stays,
                    );
                } else {
                    sample_stays(
                        &mut rng,
                        entrants,
                        proc_.dropout,
                        &plan.leave_tables[plan.leave[s]],
                        ages,
                        stays,
                    );
                }
                // in_outcome = entrants still in outcome at age a (month t + a - 1)
                let mut in_outcome = entrants;
                for a in 1..=ages {
                    if in_outcome == 0 {
                        break;
                    }
                    let month = t + a - 1;
                    let n = in_outcome as Pence;
                    let price_year = (month / 12).min(years - 1);
                    if a == q {
                        if month < h {
                            c.outcomes += in_outcome;
                            for &r in &plan.additional_of_segment[s] {
                                yearly_outcomes
                                    [(r * years + month / 12) * plan.groups.len() + gi] +=
                                    in_outcome;
                            }
                        }
                        let (price, removed) = match model.payments.price_year {
                            PriceYear::Event => (seg.tariff.outcome[price_year], 0),
                            PriceYear::Referral => (prices.outcome, prices.outcome_removed),
                        };
                        if month + lags.outcome < h {
                            c.removed_by_participant_cap += n * removed;
                        }
                        schedule(
                            &mut g.due_outcome,
                            month + lags.outcome,
                            n * price,
                            &mut c.beyond_horizon,
                        );
                    } else if a > q && a - q <= proc_.max_sustainment_months {
                        let k = a - q;
                        let (price, removed) = match model.payments.price_year {
                            PriceYear::Event => (seg.tariff.sustainment[price_year], 0),
                            PriceYear::Referral => {
                                (prices.sustainment[k - 1], prices.sustainment_removed[k - 1])
                            }
                        };
                        if month + lags.sustainment < h {
                            c.removed_by_participant_cap += n * removed;
                        }
                        schedule(
                            &mut g.due_sustainment,
                            month + lags.sustainment,
                            n * price,
                            &mut c.beyond_horizon,
                        );
                    }
                    if a <= seg.savings_months && month < h {
                        realised_months[s * h + month] += in_outcome;
                    }
                    in_outcome -= stays[a];
                }
            }
        }

        // Improvement measurements falling in this month (cohorts first,
        // then the final one, which pays the excess over the cohorts).
        for (r, rule) in model.payments.improvement.iter().enumerate() {
            let price = rule.price_per_unit[year];
            for (ci, cohort) in rule
                .cohorts
                .iter()
                .enumerate()
                .map(|(i, co)| (i, (co.measured_in, co.threshold_ppm, co.from)))
                .chain(
                    rule.final_threshold_ppm
                        .map(|th| (rule.cohorts.len(), (rule.final_measured_in, th, 0))),
                )
            {
                let (measured_in, threshold, from) = cohort;
                if measured_in != t {
                    continue;
                }
                let k = rule_offset[r] + ci;
                let mut verdict = judge(rule, &tallies[k], (from / 12).min(years - 1), threshold);
                if let Some(hurdle) = rule.requires {
                    verdict.met &= result.verdicts[rule_offset[hurdle] + ci].met;
                }
                result.verdicts[k] = verdict;
                if !verdict.met {
                    continue;
                }
                let earned = result.improvement_earned[r];
                let amount = if ci == rule.cohorts.len() {
                    final_payment(verdict.units, price, earned)
                } else {
                    payment(verdict.units, price)
                };
                result.improvement_earned[r] += amount;
                // Shared between delivery groups by their treated participants.
                let weights = &tally_groups[k * plan.groups.len()..(k + 1) * plan.groups.len()];
                share_by_weight(groups, weights, amount, t + rule.lag, &mut c.beyond_horizon);
            }
        }

        // Additional outcomes over each contract year, at its last month.
        if within && (t % 12 == 11 || t + 1 == h) {
            let groups_n = plan.groups.len();
            for (r, rule) in model.payments.additional_outcomes.iter().enumerate() {
                let at = |y: usize| {
                    &yearly_outcomes[(r * years + y) * groups_n..(r * years + y + 1) * groups_n]
                };
                let count: u64 = at(year).iter().sum();
                let baseline = if rule.rolling && year > 0 {
                    at(year - 1).iter().sum::<u64>() as f64
                } else {
                    rule.baseline[year]
                };
                let amount = payment(count as f64 - baseline, rule.price_per_unit[year]);
                result.additional_earned[r] += amount;
                share_by_weight(
                    groups,
                    at(year),
                    amount,
                    t + rule.lag,
                    &mut c.beyond_horizon,
                );
            }
        }

        if !within {
            continue;
        }
        // 4. Delivery costs, fixed fees.
        if contract_live {
            for (d, p) in model.providers.iter().enumerate() {
                if failed[d].is_some() {
                    continue;
                }
                if t < p.overhead_months {
                    cost_raw[d] += p.overhead_per_month;
                }
                let cost = (cost_raw[d] as f64 * draws.cost).round() as Pence;
                ledger.transfer(model.account_of(d), ext, t, cost);
                if let Some(terms) = &p.terms
                    && t < model.delivery_months
                {
                    pass_down(
                        ledger,
                        c,
                        model.account_of(d),
                        t,
                        terms.monthly_fee,
                        terms.management_fee,
                    );
                }
            }
            if t < model.payments.service_fee_months {
                schedule(
                    due_service_fee,
                    t + lags.service_fee,
                    model.payments.service_fee[year],
                    &mut c.beyond_horizon,
                );
            }
            if let Some(ffs) = &model.payments.fee_for_service
                && t < model.referral_months
            {
                let instalment = (ffs.annual_fee[year] as f64 / 12.0).round() as Pence;
                schedule(
                    due_fee_for_service,
                    t + ffs.lag,
                    instalment,
                    &mut c.beyond_horizon,
                );
                // Year end (or the last referral month): reconcile the
                // year's volume against the band around its baseline.
                if t % 12 == 11 || t + 1 == model.referral_months {
                    let first = t - t % 12;
                    let actual: u64 = (0..model.segments.len())
                        .map(|s| {
                            referrals
                                [s * model.referral_months + first..=s * model.referral_months + t]
                                .iter()
                                .sum::<u64>()
                        })
                        .sum();
                    let amount = reconciliation(ffs, actual, t + 1 - first);
                    if amount >= 0 {
                        schedule(
                            due_fee_for_service,
                            t + ffs.lag,
                            amount,
                            &mut c.beyond_horizon,
                        );
                    } else {
                        match due_clawback.get_mut(t + ffs.lag) {
                            Some(slot) => *slot -= amount,
                            None => c.beyond_horizon += amount,
                        }
                    }
                }
            }
            if t < model.delivery_months {
                ledger.transfer(COMMISSIONER, ext, t, model.commissioner.own_costs_per_month);
                c.own_costs += model.commissioner.own_costs_per_month;
            }
        }

        // 5. Payments falling due this month, under the contract caps.
        let due_fee = due_service_fee[t] + due_fee_for_service[t];
        let due_att: Pence = groups.iter().map(|g| g.due_attachment[t]).sum();
        let due_out: Pence = groups.iter().map(|g| g.due_outcome[t]).sum();
        let due_sust: Pence = groups.iter().map(|g| g.due_sustainment[t]).sum();
        let due_imp: Pence = groups.iter().map(|g| g.due_improvement[t]).sum();
        if !contract_live {
            c.cancelled += due_fee + due_att + due_out + due_sust + due_imp;
        } else {
            let mut allowance = Pence::MAX;
            if let Some(cap) = model.payments.cap_per_year {
                allowance = allowance.min(cap - paid_in_year[year]);
            }
            if let Some(cap) = model.payments.cap_total {
                allowance = allowance.min(cap - paid_in_year.iter().sum::<Pence>());
            }
            let mut pay = |due: Pence| {
                let paid = due.min(allowance.max(0));
                allowance -= paid;
                paid
            };
            let fee = pay(due_fee);
            let att = pay(due_att);
            let out = pay(due_out);
            let sust = pay(due_sust);
            let imp = pay(due_imp);
            c.removed_by_contract_cap += (due_fee - fee)
                + (due_att - att)
                + (due_out - out)
                + (due_sust - sust)
                + (due_imp - imp);
            // Split what was paid of the fixed fees between the two rules.
            let ffs_paid = if due_fee > 0 {
                ((fee as i128 * due_fee_for_service[t] as i128) / due_fee as i128) as Pence
            } else {
                0
            };
            c.paid.service_fee += fee - ffs_paid;
            c.paid.fee_for_service += ffs_paid;
            if due_clawback[t] > 0 {
                ledger.transfer(PRIME, COMMISSIONER, t, due_clawback[t]);
                c.paid.fee_for_service -= due_clawback[t];
            }
            c.paid.attachment += att;
            c.paid.outcome += out;
            c.paid.sustainment += sust;
            c.paid.improvement += imp;
            let total = fee + att + out + sust + imp;
            paid_in_year[year] += total;
            let results = out + sust + imp;
            let co = (results as f64 * co_share).round() as Pence;
            c.co_funded += co;
            ledger.transfer(COMMISSIONER, PRIME, t, total - co);
            ledger.transfer(CO_FUNDER, PRIME, t, co);
            results_received.fill(0);
            results_received[0] = results;
            // Pass-through of what was actually paid for each active
            // subcontractor's participants (pro rata under a contract cap).
            for (gi, gp) in plan.groups.iter().enumerate() {
                let g = &groups[gi];
                let due = g.due_outcome[t] + g.due_sustainment[t] + g.due_improvement[t];
                group_paid[gi] = if due_out + due_sust + due_imp > 0 {
                    ((due as i128 * results as i128) / (due_out + due_sust + due_imp) as i128)
                        as Pence
                } else {
                    0
                };
                if g.status != GroupStatus::Active || failed[gp.provider].is_some() {
                    continue;
                }
                if let Some(terms) = &model.providers[gp.provider].terms {
                    let gross = (group_paid[gi] as f64 * terms.pass_through).round() as Pence;
                    let kept = pass_down(
                        ledger,
                        c,
                        model.account_of(gp.provider),
                        t,
                        gross,
                        terms.management_fee,
                    );
                    results_received[gp.provider] += gross - kept;
                }
            }
            // Investors are repaid first from their provider's outcome
            // receipts, up to what their cap still allows; once the cap is
            // reached they take `excess_share` of the rest. They are paid
            // only from cash the provider has, so a repayment never creates
            // a shortfall that capital would then refill; investors in the
            // same provider are paid in turn from what is left.
            for (i, inv) in model.investors.iter().enumerate() {
                let d = inv.funds;
                if failed[d].is_some() || result.investors[i].0 == 0 {
                    continue;
                }
                let cash_now = (cash[d] + ledger.cash(model.account_of(d), t)).max(0);
                let available = results_received[d].min(cash_now);
                let cap_left = (owed[i].floor() as Pence).max(0);
                let repay = available.min(cap_left);
                let excess = if repay == cap_left {
                    ((available - repay) as f64 * inv.excess_share).round() as Pence
                } else {
                    0
                };
                ledger.transfer(
                    model.account_of(d),
                    model.investor_account(i),
                    t,
                    repay + excess,
                );
                result.investors[i].1 += repay + excess;
                results_received[d] -= repay + excess;
                owed[i] -= repay as f64;
            }
        }

        // 6. Investors fund their provider's shortfall, then failures: cash
        // below minus the credit line at the end of the month.
        if contract_live {
            for (i, inv) in model.investors.iter().enumerate() {
                let d = inv.funds;
                if failed[d].is_some() {
                    continue;
                }
                let projected = cash[d] + ledger.cash(model.account_of(d), t);
                let (drawn, _) = result.investors[i];
                let draw = (-projected).min(inv.committed - drawn);
                if draw > 0 {
                    ledger.transfer(model.investor_account(i), model.account_of(d), t, draw);
                    result.investors[i].0 += draw;
                    // What the cap allows grows with each draw.
                    owed[i] += match inv.cap {
                        ReturnCap::Multiple(m) => m * draw as f64,
                        ReturnCap::AnnualRate(_) => draw as f64,
                    };
                }
            }
            for (d, p) in model.providers.iter().enumerate() {
                if failed[d].is_some() {
                    continue;
                }
                cash[d] += ledger.cash(model.account_of(d), t);
                if cash[d] < -p.credit_line {
                    failed[d] = Some(t);
                    ledger.transfer(COMMISSIONER, ext, t, p.reprocurement_cost);
                    c.own_costs += p.reprocurement_cost;
                    let new_status = match p.terms.as_ref().map(|t| t.on_failure) {
                        None => None,
                        Some(OnFailure::Transfer) => Some(GroupStatus::Transferred),
                        Some(OnFailure::LoseService) => Some(GroupStatus::Unserved),
                    };
                    for (g, gp) in groups.iter_mut().zip(&plan.groups) {
                        if gp.provider == d
                            && let Some(st) = new_status
                        {
                            g.status = st;
                        }
                    }
                }
            }
            if failed[0].is_some() {
                contract_live = false;
                for g in groups.iter_mut() {
                    g.status = GroupStatus::Unserved;
                }
            }
        }
    }

    // Per-party figures from the ledger.
    let accounts = model.accounts();
    let reserves = |a: usize| model.reserves_of(a);
    for a in 0..accounts {
        let mut cum: Pence = 0;
        let mut low: Pence = 0;
        let mut npv = 0.0;
        for t in 0..h {
            let f = ledger.cash(a, t);
            result.monthly[a * h + t] = f;
            cum += f;
            low = low.min(cum);
            npv += f as f64 * plan.discount[t];
        }
        let pr = &mut result.parties[a];
        pr.revenue = ledger.revenue[a];
        pr.cost = ledger.cost[a];
        pr.npv = npv;
        pr.lowest_cash = reserves(a) + low;
        pr.peak_funding_need = -low;
        pr.failure_month = model.provider_of_account(a).and_then(|d| failed[d]);
    }
    result.external = ledger.revenue[ext] - ledger.cost[ext];
    counterfactual(
        model,
        plan,
        referrals,
        realised_months,
        cf_entrants,
        &mut result.commissioner,
        p_base,
    );
}

/// Adds one referral month's treated counts (`tally.treated`) to every
/// measurement of the improvement rules that measure segment `s`, with a
/// simulated comparison group drawn by `draw(size) -> (people with an
/// outcome or event, events)`; fractions of a comparison person carry over
/// to the rule's next draw, so its groups total `per_participant` times its
/// referrals.
#[allow(clippy::too_many_arguments)]
fn tally_referrals(
    model: &Model,
    plan: &Plan,
    s: usize,
    t: usize,
    group: usize,
    tally: &mut Tally,
    tallies: &mut [Tally],
    tally_groups: &mut [u64],
    rule_offset: &[usize],
    carry: &mut [f64],
    mut draw: impl FnMut(u64) -> (u64, u64),
) {
    let n = tally.treated[0];
    for &r in &plan.rules_of_segment[s] {
        let Some(cohort) = plan.cohort_of[r][t] else {
            continue;
        };
        let rule = &model.payments.improvement[r];
        tally.comparison = match rule.comparison {
            Comparison::Simulated { per_participant } => {
                let exact = n as f64 * per_participant + carry[r];
                let size = exact.floor() as u64;
                carry[r] = exact - size as f64;
                let (people, events) = draw(size);
                [size, people, events]
            }
            Comparison::Baseline { .. } => [0, 0, 0],
        };
        for m in [cohort, rule.cohorts.len()] {
            let k = rule_offset[r] + m;
            for (acc, x) in tallies[k].treated.iter_mut().zip(tally.treated) {
                *acc += x;
            }
            for (acc, x) in tallies[k].comparison.iter_mut().zip(tally.comparison) {
                *acc += x;
            }
            tally_groups[k * plan.groups.len() + group] += n;
        }
    }
}

/// Expected entrants below which a group's entries are drawn as one total
/// and then assigned to cohorts; above it, cohort by cohort.
const POOLED_ENTRY_LIMIT: f64 = 2.0;

/// This month's entries into outcome of the group's cohorts `first..=last`
/// (all waiting participants share the probability `p`), added to
/// `g.entrants` by price pool and removed from the cohorts' waiting counts.
///
/// Two exact methods. When few entries are expected, one binomial draw over
/// everyone waiting gives the total, and each entrant is then assigned to a
/// cohort by drawing without replacement among those waiting (every
/// subset of that size is equally likely, as the binomial model implies).
/// Otherwise each cohort gets its own binomial draw, so the cost never
/// grows with the number of participants.
#[allow(clippy::too_many_arguments)]
#[inline]
fn enter<R: rand::Rng + ?Sized>(
    g: &mut GroupState,
    entry: &Binomial,
    p: f64,
    first: usize,
    last: usize,
    window: usize,
    pool_of: impl Fn(usize) -> usize,
    rng: &mut R,
) {
    // Cohort m lives in slot m % window; walk the slots without dividing.
    let first_slot = first % window;
    let next = |slot: usize| if slot + 1 == window { 0 } else { slot + 1 };
    let mut total = 0;
    let mut slot = first_slot;
    for _ in first..=last {
        total += g.waiting[slot];
        slot = next(slot);
    }
    let mut slot = first_slot;
    for _ in first..=last {
        g.entered[slot] = 0;
        slot = next(slot);
    }
    if total == 0 {
        return;
    }
    if (total as f64) * p < POOLED_ENTRY_LIMIT {
        // Counts change one by one here: the cached powers no longer hold.
        g.power_of = f64::NAN;
        let entrants = entry.sample(rng, total);
        let mut left = total;
        for _ in 0..entrants {
            let mut pick = ((open_unit(rng) * left as f64) as u64).min(left - 1);
            let mut slot = first_slot;
            for m in first..=last {
                let w = g.waiting[slot];
                if pick < w {
                    g.waiting[slot] = w - 1;
                    g.entered[slot] += 1;
                    g.entrants[pool_of(m)] += 1;
                    break;
                }
                pick -= w;
                slot = next(slot);
            }
            left -= 1;
        }
        return;
    }
    // One draw per cohort. With p <= 1/2 each slot keeps q^waiting for
    // this q, updated by q^-e after a draw, so the draws need no exp while
    // q stays the same (a whole contract year, unless service changes).
    let q = entry.failure_probability();
    let cache = q.is_some_and(|q| q == g.power_of);
    if let Some(q) = q {
        g.power_of = q;
    }
    let mut slot = first_slot;
    for m in first..=last {
        let waiting = g.waiting[slot];
        if waiting > 0 {
            let e = match q.filter(|_| entry.inverts(waiting)) {
                Some(q) => {
                    let known = g.power[slot];
                    let power = if cache && !known.is_nan() {
                        known
                    } else {
                        q.powf(waiting as f64)
                    };
                    let e = entry.sample_with_power(rng, waiting, power);
                    g.power[slot] = if e == 0 {
                        power
                    } else {
                        power / q.powi(e as i32)
                    };
                    e
                }
                None => {
                    g.power[slot] = f64::NAN;
                    entry.sample(rng, waiting)
                }
            };
            g.waiting[slot] = waiting - e;
            g.entered[slot] = e;
            g.entrants[pool_of(m)] += e;
        }
        slot = next(slot);
    }
}

/// How long each of `n` participants entering outcome together stays in
/// it: `stays[L]` counts those in outcome for exactly `L` months (`L` <
/// `ages`), `stays[ages]` those still in outcome at age `ages`.
///
/// Each month in outcome after the first is kept with probability
/// `1 - dropout`, so `L - 1` is geometric. Few participants draw their own
/// geometric length by inversion; many go through conditional binomials
/// (how many of those still in outcome at age `L` leave then), so the cost
/// is bounded by `min(n, ages)` draws whatever the volume.
fn sample_stays<R: rand::Rng + ?Sized>(
    rng: &mut R,
    n: u64,
    dropout: f64,
    leave: &crate::sample::BinomialTable,
    ages: usize,
    stays: &mut [u64],
) {
    stays.fill(0);
    if dropout <= 0.0 {
        stays[ages] = n;
        return;
    }
    if dropout >= 1.0 {
        stays[1.min(ages)] = n;
        return;
    }
    if n as usize <= ages / 2 {
        let log_stay = (1.0 - dropout).ln();
        for _ in 0..n {
            let extra = (open_unit(rng).ln() / log_stay).floor();
            let l = if extra >= (ages - 1) as f64 {
                ages
            } else {
                1 + extra as usize
            };
            stays[l] += 1;
        }
        return;
    }
    let mut remaining = n;
    for l in 1..ages {
        let left = leave.sample(rng, remaining);
        stays[l] = left;
        remaining -= left;
        if remaining == 0 {
            return;
        }
    }
    stays[ages] = remaining;
}

/// Schedules `amount` as improvement payments due in `month`, shared
/// between delivery groups in proportion to `weights` (the remainder of the
/// rounding to the first group with weight).
fn share_by_weight(
    groups: &mut [GroupState],
    weights: &[u64],
    amount: Pence,
    month: usize,
    beyond: &mut Pence,
) {
    let total: u64 = weights.iter().sum();
    let first = weights.iter().position(|&w| w > 0).unwrap_or(0);
    let mut left = amount;
    for (gi, &w) in weights.iter().enumerate().rev() {
        let share = if gi == first {
            left
        } else {
            ((amount as i128 * w as i128) / total.max(1) as i128) as Pence
        };
        left -= share;
        schedule(&mut groups[gi].due_improvement, month, share, beyond);
    }
}

/// The year-end volume reconciliation of a fee for service, in pence:
/// positive (a top-up) for each referral above the band, negative (a
/// clawback) for each below it, nothing inside; `months` is the length of
/// the contract year so far (a short last year gets a pro-rata baseline).
pub fn reconciliation(ffs: &FeeForService, actual: u64, months: usize) -> Pence {
    let baseline = ffs.baseline_referrals_per_year * months as f64 / 12.0;
    let (low, high) = (baseline * (1.0 - ffs.band), baseline * (1.0 + ffs.band));
    let a = actual as f64;
    let referrals_outside = if a > high {
        a - high
    } else if a < low {
        a - low
    } else {
        0.0
    };
    (referrals_outside * ffs.reconciliation_price as f64).round() as Pence
}

/// As [`sample_stays`], given that exactly `reached` of the `n` entrants
/// stay the `q` months that make the outcome event: the others' stays are
/// drawn from lengths 1..q-1 (conditional binomials on the truncated
/// geometric), and the reached ones' from q on, which is the same
/// memoryless process as [`sample_stays`] shifted by q - 1 months.
#[allow(clippy::too_many_arguments)]
fn sample_stays_given_reached<R: rand::Rng + ?Sized>(
    rng: &mut R,
    n: u64,
    reached: u64,
    process: &Sustained,
    leave: &crate::sample::BinomialTable,
    ages: usize,
    stays: &mut [u64],
) {
    let q = process.qualifying_months;
    let stay = 1.0 - process.dropout;
    stays.fill(0);
    // Those who leave before the outcome: P(L = l | l <= L < q) = dropout / (1 - stay^(q - l)).
    let mut short = n - reached;
    for l in 1..q {
        if short == 0 {
            break;
        }
        let left = if l + 1 == q {
            short
        } else {
            binomial(
                rng,
                short,
                process.dropout / (1.0 - stay.powi((q - l) as i32)),
            )
        };
        stays[l] += left;
        short -= left;
    }
    // Those who reach it: from age q on, each month kept with probability `stay`.
    let mut remaining = reached;
    if process.dropout <= 0.0 {
        stays[ages] += remaining;
        return;
    }
    for l in q..ages {
        if remaining == 0 {
            return;
        }
        let left = leave.sample(rng, remaining);
        stays[l] += left;
        remaining -= left;
    }
    stays[ages] += remaining;
}

/// Adds a payment due at `month`, or counts it as beyond the horizon.
#[inline]
fn schedule(due: &mut [Pence], month: usize, amount: Pence, beyond: &mut Pence) {
    if amount == 0 {
        return;
    }
    match due.get_mut(month) {
        Some(slot) => *slot += amount,
        None => *beyond += amount,
    }
}

/// The prime pays a subcontractor `gross` less its management fee, which it
/// keeps (and returns).
#[inline]
fn pass_down(
    ledger: &mut Ledger,
    c: &mut CommissionerResult,
    sub_account: usize,
    t: usize,
    gross: Pence,
    management_fee: f64,
) -> Pence {
    let kept = (gross as f64 * management_fee).round() as Pence;
    c.management_fees += kept;
    ledger.transfer(PRIME, sub_account, t, gross - kept);
    kept
}

/// Closed-form expectations without the intervention, for the referrals
/// actually made: outcome events, months in outcome counted for savings,
/// and the outcome and sustainment payments they would have earned.
fn counterfactual(
    model: &Model,
    plan: &Plan,
    referrals: &[u64],
    realised_months: &[u64],
    cf_entrants: &mut [f64],
    c: &mut CommissionerResult,
    p_base: &[f64],
) {
    let h = model.horizon;
    let years = model.years();
    let lags = model.payments.lags;
    let (mut outcomes, mut months_cf, mut payments, mut savings, mut savings_npv) =
        (0.0, 0.0, 0.0, 0.0, 0.0);
    let mut months_real: u64 = 0;
    for (s, seg) in model.segments.iter().enumerate() {
        let Some(proc_) = seg.sustained() else {
            continue;
        };
        let pools = plan.pools[s].len();
        let cf = &mut cf_entrants[..pools * h];
        cf.fill(0.0);
        for m in 0..model.referral_months {
            let n = referrals[s * model.referral_months + m];
            if n == 0 {
                continue;
            }
            let pool = plan.pool_of(s, m);
            let mut surv = n as f64;
            for t in m..(m + proc_.window).min(h) {
                let p = p_base[s * years + t / 12];
                cf[pool * h + t] += surv * p;
                surv *= 1.0 - p;
            }
        }
        let stay = 1.0 - proc_.dropout;
        let q = proc_.qualifying_months;
        let ages = plan.ages[s];
        for pool in 0..pools {
            let prices = &plan.pools[s][pool];
            for e in 0..h {
                let entrants = cf[pool * h + e];
                if entrants == 0.0 {
                    continue;
                }
                let mut in_outcome = entrants;
                for a in 1..=ages {
                    let t = e + a - 1;
                    if t >= h {
                        break;
                    }
                    if a <= seg.savings_months {
                        months_cf += in_outcome;
                        let saving = in_outcome * seg.savings_per_outcome_month as f64;
                        savings -= saving;
                        savings_npv -= saving * plan.discount[t];
                    }
                    let price = if a == q {
                        outcomes += in_outcome;
                        let price = if model.payments.price_year == PriceYear::Event {
                            seg.tariff.outcome[t / 12]
                        } else {
                            prices.outcome
                        };
                        (t + lags.outcome < h).then_some(price)
                    } else if a > q && a - q <= proc_.max_sustainment_months {
                        let k = a - q;
                        let price = if model.payments.price_year == PriceYear::Event {
                            seg.tariff.sustainment[t / 12]
                        } else {
                            prices.sustainment[k - 1]
                        };
                        (t + lags.sustainment < h).then_some(price)
                    } else {
                        None
                    };
                    if let Some(price) = price {
                        payments += in_outcome * price as f64;
                    }
                    in_outcome *= stay;
                }
            }
        }
        for t in 0..h {
            let n = realised_months[s * h + t];
            months_real += n;
            let saving = n as f64 * seg.savings_per_outcome_month as f64;
            savings += saving;
            savings_npv += saving * plan.discount[t];
        }
    }
    c.counterfactual_outcomes = outcomes;
    c.outcome_months = months_real;
    c.counterfactual_outcome_months = months_cf;
    c.savings += savings;
    c.savings_npv += savings_npv;
    c.deadweight = payments.min((c.paid.outcome + c.paid.sustainment) as f64);
}
