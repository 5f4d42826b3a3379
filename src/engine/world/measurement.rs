//! Step 3 of a month: measurements (reference model §5, improvement over a
//! comparison; and the engine's additional-outcome rules). Cohorts are
//! tallied as they are referred and as their outcomes are drawn; at a
//! measurement month the tally is judged against its threshold, and a
//! payment met is shared between delivery groups by their treated
//! participants. A final measurement pays the excess over what its
//! cohorts earned.

use super::{Books, CommissionerResult, Contract, Group, Measurements, Month, Rng};
use crate::engine::improvement::{Counts, Verdict, final_payment, judge, payment};
use crate::engine::money::{Due, share_by_weight};
use crate::model::{Comparison, Pence, Sustained};
use crate::sample::binomial;

/// What the measurements of an iteration decided and earned.
pub(super) struct Earned<'a> {
    /// Per improvement rule, per cohort then final.
    pub(super) verdicts: &'a mut [Verdict],
    /// Per improvement rule.
    pub(super) improvement: &'a mut [Pence],
    /// Per additional-outcome rule.
    pub(super) additional: &'a mut [Pence],
}

impl Measurements {
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

    /// Which of this month's entrants of cohorts `cohorts` reach the
    /// outcome event (stay `q` months), drawn per cohort into `reached` by
    /// price pool and counted as outcomes of the cohort's measurements.
    pub(super) fn reach_outcome(
        &mut self,
        contract: &Contract,
        segment: usize,
        g: &Group,
        cohorts: std::ops::RangeInclusive<usize>,
        process: &Sustained,
        rng: &mut Rng,
    ) {
        let Contract { model, plan, .. } = contract;
        self.reached.fill(0);
        let reach = (1.0 - process.dropout).powi(process.qualifying_months as i32 - 1);
        for m in cohorts {
            let entered = g.entered[m % process.window];
            if entered == 0 {
                continue;
            }
            let reached = binomial(rng, entered, reach);
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
pub(super) fn measure(
    contract: &Contract,
    month: Month,
    measurements: &Measurements,
    books: &mut Books,
    earned: &mut Earned,
    commissioner: &mut CommissionerResult,
) {
    let Contract { model, plan, .. } = contract;
    let groups = plan.groups.len();
    let years = model.years();
    let beyond = &mut commissioner.beyond_horizon;
    for (r, rule) in model.payments.improvement.iter().enumerate() {
        let price = rule.price_per_unit[month.year];
        let cohorts = rule
            .cohorts
            .iter()
            .enumerate()
            .map(|(i, co)| (i, co.measured_in, co.threshold_ppm, co.from));
        let last = rule
            .final_threshold_ppm
            .map(|th| (rule.cohorts.len(), rule.final_measured_in, th, 0));
        for (measurement, measured_in, threshold, from) in cohorts.chain(last) {
            if measured_in != month.t {
                continue;
            }
            let k = measurements.first_tally[r] + measurement;
            let mut verdict = judge(
                rule,
                &measurements.tallies[k],
                (from / 12).min(years - 1),
                threshold,
            );
            if let Some(hurdle) = rule.requires {
                verdict.met &= earned.verdicts[measurements.first_tally[hurdle] + measurement].met;
            }
            earned.verdicts[k] = verdict;
            if !verdict.met {
                continue;
            }
            let amount = if measurement == rule.cohorts.len() {
                final_payment(verdict.units, price, earned.improvement[r])
            } else {
                payment(verdict.units, price)
            };
            earned.improvement[r] += amount;
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
    if month.within && (month.t % 12 == 11 || month.t + 1 == model.horizon) {
        let year = month.year;
        for (r, rule) in model.payments.additional_outcomes.iter().enumerate() {
            let at = |y: usize| {
                &measurements.yearly_outcomes
                    [(r * years + y) * groups..(r * years + y + 1) * groups]
            };
            let count: u64 = at(year).iter().sum();
            let baseline = if rule.rolling && year > 0 {
                at(year - 1).iter().sum::<u64>() as f64
            } else {
                rule.baseline[year]
            };
            let amount = payment(count as f64 - baseline, rule.price_per_unit[year]);
            earned.additional[r] += amount;
            share_by_weight(
                improvement_dues(books),
                at(year),
                amount,
                month.t + rule.lag,
                beyond,
            );
        }
    }
}

fn improvement_dues(
    books: &mut Books,
) -> impl DoubleEndedIterator<Item = &mut Due> + ExactSizeIterator {
    books.group_dues.iter_mut().map(|d| &mut d.improvement)
}
