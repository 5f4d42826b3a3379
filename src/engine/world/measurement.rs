//! Step 3 of a month: measurements (reference model §5, improvement over a
//! comparison; and the engine's additional-outcome rules). Cohorts are
//! tallied as they are referred and as their outcomes are drawn; at a
//! measurement month the tally is judged against its threshold, and a
//! payment met is shared between delivery groups by their treated
//! participants. A final measurement pays the excess over what its
//! cohorts earned.

use super::{Books, Contract, Group, Measurements, Month, Rng, State};
use crate::engine::improvement::{Counts, Tally, Verdict, final_payment, judge_against, payment};
use crate::engine::money::{Due, share_by_weight};
use crate::engine::plan::Plan;
use crate::math;
use crate::model::{Comparison, Model, Pence, Sustained};
use crate::sample::{binomial, expected_binomial};

impl Measurements {
    pub(super) fn new(model: &Model, plan: &Plan) -> Measurements {
        let rules = &model.payments.improvement;
        let mut first_tally = Vec::with_capacity(rules.len());
        let mut tallies = 0;
        for rule in rules {
            first_tally.push(tallies);
            tallies += rule.measurements();
        }
        let additional = model.payments.additional_outcomes.len();
        Measurements {
            tallies: vec![Tally::default(); tallies],
            treated_by_group: vec![0; tallies * plan.groups.len()],
            first_tally,
            comparison_carry: vec![0.0; rules.len()],
            reached: vec![0; plan.pools.iter().map(|p| p.len()).max().unwrap_or(1)],
            yearly_outcomes: vec![0; additional * model.years() * plan.groups.len()],
            verdicts: vec![Verdict::NOT_MEASURED; tallies],
            improvement_earned: vec![0; rules.len()],
            interims_earned: vec![0; tallies],
            additional_earned: vec![0; additional],
            outcomes_by_segment: vec![0; model.segments.len() * model.horizon],
            savings_by_segment: vec![(0.0, 0.0); model.segments.len()],
            group_outcomes: vec![
                0;
                if super::performance_measured(model) {
                    plan.groups.len() * model.horizon
                } else {
                    0
                }
            ],
            performance: vec![(f64::NAN, false); super::performance_levels(model)],
        }
    }

    pub(super) fn reset(&mut self) {
        self.tallies.fill(Tally::default());
        self.treated_by_group.fill(0);
        self.comparison_carry.fill(0.0);
        self.yearly_outcomes.fill(0);
        self.verdicts.fill(Verdict::NOT_MEASURED);
        self.improvement_earned.fill(0);
        self.interims_earned.fill(0);
        self.additional_earned.fill(0);
        self.outcomes_by_segment.fill(0);
        self.savings_by_segment.fill((0.0, 0.0));
        self.group_outcomes.fill(0);
        self.performance.fill((f64::NAN, false));
    }

    /// Adds a referral month's cohort (`treated`) to every measurement of
    /// the improvement rules that measure `segment`, with a simulated
    /// comparison group drawn by `draw(size) -> (people with an outcome or
    /// event, events)`; fractions of a comparison person carry over to the
    /// rule's next cohort, so its groups total `per_participant` times its
    /// referrals.
    pub(super) fn add_cohort(
        &mut self,
        contract: &Contract,
        t: usize,
        segment: usize,
        group: usize,
        treated: Counts,
        mut draw: impl FnMut(u64) -> (u64, u64),
    ) {
        let Contract { model, plan, .. } = contract;
        let groups = plan.groups.len();
        for &r in &plan.rules_of_segment[segment] {
            let Some(cohort) = plan.cohort_of[r][t] else {
                continue;
            };
            let rule = &model.payments.improvement[r];
            let comparison = match rule.comparison {
                Comparison::Simulated { per_participant } => {
                    let exact = treated.people as f64 * per_participant + self.comparison_carry[r];
                    let size = exact.floor() as u64;
                    self.comparison_carry[r] = exact - size as f64;
                    let (with_event, events) = draw(size);
                    Counts {
                        people: size,
                        with_event,
                        events,
                        followed: 0,
                    }
                }
                Comparison::Baseline { .. } => Counts::default(),
            };
            for measurement in [cohort, rule.cohorts.len()] {
                let k = self.first_tally[r] + measurement;
                self.tallies[k].treated.add(treated);
                self.tallies[k].comparison.add(comparison);
                self.treated_by_group[k * groups + group] += treated.people;
            }
        }
    }

    /// Adds a referral month's time-in-state cohort of `people` with
    /// `in_state` of them in the state in each month of follow-up to every
    /// measurement of the rules that measure `segment`: its whole follow-up
    /// to the cohort's and the final measurement, its first months to each
    /// interim. A simulated comparison group is drawn into `comparison` by
    /// `draw(size, comparison)`, sized as in [`Measurements::add_cohort`].
    #[allow(clippy::too_many_arguments)]
    pub(super) fn add_state_cohort(
        &mut self,
        contract: &Contract,
        t: usize,
        group: usize,
        segment: usize,
        (people, in_state): (u64, &[u64]),
        comparison: &mut [u64],
        mut draw: impl FnMut(u64, &mut [u64]),
    ) {
        let Contract { model, plan, .. } = contract;
        let groups = plan.groups.len();
        let months = in_state.len();
        // Person-months in the state over the first `k` months of follow-up.
        let counts = |n: u64, path: &[u64], k: usize| Counts {
            people: n,
            with_event: 0,
            events: path[..k].iter().sum(),
            followed: n * k as u64,
        };
        for &r in &plan.rules_of_segment[segment] {
            let Some(cohort) = plan.cohort_of[r][t] else {
                continue;
            };
            let rule = &model.payments.improvement[r];
            let size = match rule.comparison {
                Comparison::Simulated { per_participant } => {
                    let exact = people as f64 * per_participant + self.comparison_carry[r];
                    let size = exact.floor() as u64;
                    self.comparison_carry[r] = exact - size as f64;
                    draw(size, comparison);
                    size
                }
                Comparison::Baseline { .. } => {
                    comparison.fill(0);
                    0
                }
            };
            let whole = [cohort, rule.cohorts.len()].map(|m| (m, months));
            let interims = rule
                .interim_months
                .iter()
                .enumerate()
                .map(|(i, &k)| (rule.interim_index(cohort, i), k));
            for (measurement, k) in whole.into_iter().chain(interims) {
                let at = self.first_tally[r] + measurement;
                self.tallies[at].treated.add(counts(people, in_state, k));
                self.tallies[at].comparison.add(counts(size, comparison, k));
                self.treated_by_group[at * groups + group] += people;
            }
        }
    }

    /// Which of this month's entrants of cohorts `cohorts` reach the
    /// outcome event (stay `q` months), drawn per cohort into `reached` by
    /// price pool and counted as outcomes of the cohort's measurements.
    pub(super) fn reach_outcome(
        &mut self,
        contract: &Contract,
        segment: usize,
        participants: &Group,
        cohorts: std::ops::RangeInclusive<usize>,
        process: &Sustained,
        rng: &mut Rng,
    ) {
        let Contract { model, plan, .. } = contract;
        self.reached.fill(0);
        let reach = math::powi(1.0 - process.dropout, process.qualifying_months as i64 - 1);
        for m in cohorts {
            let entered = participants.entered[m % process.window];
            if entered == 0 {
                continue;
            }
            let reached = if model.counts.expected() {
                expected_binomial(entered, reach)
            } else {
                binomial(rng, entered, reach)
            };
            self.reached[plan.pool_of(segment, m)] += reached;
            for &r in &plan.rules_of_segment[segment] {
                let Some(cohort) = plan.cohort_of[r][m] else {
                    continue;
                };
                let rule = &model.payments.improvement[r];
                for measurement in [cohort, rule.cohorts.len()] {
                    let treated = &mut self.tallies[self.first_tally[r] + measurement].treated;
                    treated.with_event += reached;
                    treated.events += reached;
                }
            }
        }
    }

    /// Counts `outcomes` events of `group` in month `t` for the
    /// additional-outcome rules of `segment`.
    pub(super) fn count_yearly_outcome(
        &mut self,
        contract: &Contract,
        segment: usize,
        group: usize,
        t: usize,
        outcomes: u64,
    ) {
        let Contract { model, plan, .. } = contract;
        for &r in &plan.additional_of_segment[segment] {
            self.yearly_outcomes[(r * model.years() + t / 12) * plan.groups.len() + group] +=
                outcomes;
        }
    }
}

/// Judges the measurements falling in this month (cohorts first, then the
/// final one) and, at a contract year's end, the year's additional
/// outcomes.
pub(super) fn measure(contract: &Contract, month: Month, state: &mut State) {
    let State {
        books,
        measurements,
        commissioner,
        ..
    } = state;
    let beyond = &mut commissioner.beyond_horizon;
    for r in 0..contract.model.payments.improvement.len() {
        judge_improvement(contract, month, r, measurements, books, beyond);
    }
    let year_end = month.t % 12 == 11 || month.t + 1 == contract.model.horizon;
    if month.within && year_end {
        for r in 0..contract.model.payments.additional_outcomes.len() {
            pay_additional_outcomes(contract, month, r, measurements, books, beyond);
        }
    }
}

/// The measurements of improvement rule `r` falling in this month.
fn judge_improvement(
    contract: &Contract,
    month: Month,
    r: usize,
    measurements: &mut Measurements,
    books: &mut Books,
    beyond: &mut Pence,
) {
    let Contract { model, plan, .. } = contract;
    let rule = &model.payments.improvement[r];
    let groups = plan.groups.len();
    let price = rule.price_per_unit[month.year];
    let cohorts = rule
        .cohorts
        .iter()
        .enumerate()
        .map(|(i, co)| (i, co.measured_in, co.threshold_ppm, co.from));
    let last = rule
        .final_threshold_ppm
        .map(|th| (rule.cohorts.len(), rule.final_measured_in, th, 0));
    // A cohort's interims come before its end of follow-up (in earlier
    // months), so its payment there can net off what they earned.
    let interims = rule.cohorts.iter().enumerate().flat_map(|(j, co)| {
        co.interims_measured_in
            .iter()
            .enumerate()
            .map(move |(i, &at)| (rule.interim_index(j, i), at, co.threshold_ppm, co.from))
    });
    for (measurement, measured_in, threshold, from) in interims.chain(cohorts).chain(last) {
        if measured_in != month.t {
            continue;
        }
        let k = measurements.first_tally[r] + measurement;
        let year = (from / 12).min(model.years() - 1);
        let comparison = match rule.comparison {
            Comparison::Baseline { drift_per_year, .. }
                if measurement > rule.cohorts.len() && !rule.interim_baselines.is_empty() =>
            {
                let interim = (measurement - rule.cohorts.len() - 1) % rule.interim_months.len();
                Comparison::Baseline {
                    value: rule.interim_baselines[interim],
                    drift_per_year,
                }
            }
            c => c,
        };
        let mut verdict =
            judge_against(rule, comparison, &measurements.tallies[k], year, threshold);
        if let Some(hurdle) = rule.requires {
            verdict.met &=
                measurements.verdicts[measurements.first_tally[hurdle] + measurement].met;
        }
        measurements.verdicts[k] = verdict;
        if !verdict.met {
            continue;
        }
        let amount = if measurement == rule.cohorts.len() {
            final_payment(verdict.units, price, measurements.improvement_earned[r])
        } else if rule.interim_months.is_empty() {
            payment(verdict.units, price)
        } else {
            // Each of a cohort's measurements pays what its time in the
            // state so far earns less what the cohort was already paid.
            let cohort = if measurement < rule.cohorts.len() {
                measurement
            } else {
                (measurement - rule.cohorts.len() - 1) / rule.interim_months.len()
            };
            let earned = &mut measurements.interims_earned[measurements.first_tally[r] + cohort];
            let amount = final_payment(verdict.units, price, *earned);
            *earned += amount;
            amount
        };
        measurements.improvement_earned[r] += amount;
        let weights = &measurements.treated_by_group[k * groups..(k + 1) * groups];
        share_by_weight(
            improvement_dues(books),
            weights,
            amount,
            month.t + rule.lag,
            beyond,
        );
    }
}

/// Additional-outcome rule `r` at a contract year's end: the year's outcome
/// events above the baseline (fixed, or last year's), paid per unit.
fn pay_additional_outcomes(
    contract: &Contract,
    month: Month,
    r: usize,
    measurements: &mut Measurements,
    books: &mut Books,
    beyond: &mut Pence,
) {
    let Contract { model, plan, .. } = contract;
    let rule = &model.payments.additional_outcomes[r];
    let (groups, years, year) = (plan.groups.len(), model.years(), month.year);
    let at = |y: usize| {
        &measurements.yearly_outcomes[(r * years + y) * groups..(r * years + y + 1) * groups]
    };
    let count: u64 = at(year).iter().sum();
    let baseline = if rule.rolling && year > 0 {
        at(year - 1).iter().sum::<u64>() as f64
    } else {
        rule.baseline[year]
    };
    let amount = payment(count as f64 - baseline, rule.price_per_unit[year]);
    measurements.additional_earned[r] += amount;
    share_by_weight(
        improvement_dues(books),
        at(year),
        amount,
        month.t + rule.lag,
        beyond,
    );
}

fn improvement_dues(
    books: &mut Books,
) -> impl DoubleEndedIterator<Item = &mut Due> + ExactSizeIterator {
    books.group_dues.iter_mut().map(|d| &mut d.improvement)
}
