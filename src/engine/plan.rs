//! What the engine precomputes once per model: delivery groups, price
//! tables per pool, and buffer sizes. Shared read-only by every iteration.

use crate::math;
use crate::model::*;
use crate::sample::{Binomial, BinomialTable, kept};

/// Participants of one segment delivered by one provider.
#[derive(Clone, Debug)]
pub struct GroupPlan {
    /// Segment index.
    pub segment: usize,
    /// Provider index (0 = prime).
    pub provider: usize,
}

/// Prices of one segment for one pool (a referral year, or all years).
#[derive(Clone, Debug)]
pub struct PoolPrices {
    /// Outcome payment after the per-participant cap.
    pub outcome: Pence,
    /// What the per-participant cap removed from the outcome payment.
    pub outcome_removed: Pence,
    /// Payment for sustainment month `k` (index `k - 1`) after the cap.
    pub sustainment: Vec<Pence>,
    /// What the cap removed from sustainment month `k`.
    pub sustainment_removed: Vec<Pence>,
}

/// Per-model precomputation.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Delivery groups; the prime's group of every segment always exists.
    pub groups: Vec<GroupPlan>,
    /// Group index of each (segment, provider), if it exists.
    pub group_of: Vec<Vec<Option<usize>>>,
    /// Price pools per segment: one per referral year where prices or caps
    /// differ by year, else one.
    pub pools: Vec<Vec<PoolPrices>>,
    /// Ages in outcome tracked per segment: enough for payments and savings.
    pub ages: Vec<usize>,
    /// Attachment fee per segment and referral year, after the cap.
    pub attachment: Vec<Vec<Pence>>,
    /// What the per-participant cap removed from the attachment fee.
    pub attachment_removed: Vec<Vec<Pence>>,
    /// Monthly discount factors for NPVs.
    pub discount: Vec<f64>,
    /// Samplers of leaving outcome in a month, one per distinct dropout.
    pub leave_tables: Vec<Leaving>,
    /// Per segment, its index in `leave_tables`.
    pub leave: Vec<usize>,
    /// Per improvement rule, the measurement cohort of each referral month.
    pub cohort_of: Vec<Vec<Option<usize>>>,
    /// Per segment, the improvement rules that measure it.
    pub rules_of_segment: Vec<Vec<usize>>,
    /// Per segment, the additional-outcome rules that count its outcomes.
    pub additional_of_segment: Vec<Vec<usize>>,
    /// Months the entry process runs: past the horizon while anyone can
    /// still enter outcome, so that payments beyond it are counted.
    pub months_simulated: usize,
    /// Per provider and month, what its planned caseload costs at its unit
    /// costs ([`Model::planned_unit_costs`]): its capacity, for providers
    /// with a fixed cost share.
    pub planned_unit_costs: Vec<Vec<f64>>,
}

impl Plan {
    /// Precomputes everything the iterations share.
    pub fn new(model: &Model) -> Plan {
        let (groups, group_of) = delivery_groups(model);
        let (attachment, attachment_removed, pools) = prices(model);
        let ages = model
            .segments
            .iter()
            .map(|s| {
                s.sustained().map_or(1, |o| {
                    (o.qualifying_months + o.max_sustainment_months)
                        .max(s.savings_months)
                        .max(1)
                })
            })
            .collect();
        let r = model.commissioner.discount_rate;
        let discount = (0..model.horizon)
            .map(|t| math::pow(1.0 + r, -(t as f64) / 12.0))
            .collect();
        let cohort_of = model
            .payments
            .improvement
            .iter()
            .map(|r| {
                (0..model.referral_months)
                    .map(|m| r.cohorts.iter().position(|c| c.from <= m && m < c.to))
                    .collect()
            })
            .collect();
        let segments = model.segments.len();
        let payments = &model.payments;
        let (leave, leave_tables) = leave_tables(model);
        Plan {
            groups,
            group_of,
            pools,
            ages,
            attachment,
            attachment_removed,
            discount,
            leave_tables,
            leave,
            cohort_of,
            rules_of_segment: rules_by_segment(
                segments,
                payments.improvement.iter().map(|r| &r.segments[..]),
            ),
            additional_of_segment: rules_by_segment(
                segments,
                payments.additional_outcomes.iter().map(|r| &r.segments[..]),
            ),
            months_simulated: months_simulated(model),
            planned_unit_costs: (0..model.providers.len())
                .map(|d| {
                    if model.providers[d].fixed_cost_share > 0.0 {
                        model.planned_unit_costs(d)
                    } else {
                        Vec::new()
                    }
                })
                .collect(),
        }
    }

    /// The pool a cohort referred in `month` belongs to.
    #[inline]
    pub fn pool_of(&self, segment: usize, month: usize) -> usize {
        if self.pools[segment].len() == 1 {
            0
        } else {
            month / 12
        }
    }
}

/// Delivery groups (a segment at a provider): every segment has one at the
/// prime, which takes a failed subcontractor's referrals; others where the
/// segment allocates referrals.
fn delivery_groups(model: &Model) -> (Vec<GroupPlan>, Vec<Vec<Option<usize>>>) {
    let mut groups = Vec::new();
    let mut group_of = Vec::new();
    for (segment, seg) in model.segments.iter().enumerate() {
        let mut row = vec![None; model.providers.len()];
        for (provider, &share) in seg.allocation.iter().enumerate() {
            if provider == 0 || share > 0.0 {
                row[provider] = Some(groups.len());
                groups.push(GroupPlan { segment, provider });
            }
        }
        group_of.push(row);
    }
    (groups, group_of)
}

/// Per segment and contract year: the attachment fee and what the
/// per-participant cap removes of it; and the price pools (one, unless
/// prices change by referral year).
#[allow(clippy::type_complexity)]
fn prices(model: &Model) -> (Vec<Vec<Pence>>, Vec<Vec<Pence>>, Vec<Vec<PoolPrices>>) {
    let (mut attachment, mut attachment_removed, mut pools) = (Vec::new(), Vec::new(), Vec::new());
    for seg in &model.segments {
        let process = seg.sustained().unwrap_or(&NO_SUSTAINMENT);
        let by_year: Vec<(Pence, Pence, PoolPrices)> = (0..model.years())
            .map(|y| capped_prices(&seg.tariff, process, y))
            .collect();
        attachment.push(by_year.iter().map(|p| p.0).collect());
        attachment_removed.push(by_year.iter().map(|p| p.1).collect());
        let all: Vec<PoolPrices> = by_year.into_iter().map(|p| p.2).collect();
        let same = model.payments.price_year == PriceYear::Event
            || all.iter().all(|p| same_prices(p, &all[0]));
        pools.push(if same { vec![all[0].clone()] } else { all });
    }
    (attachment, attachment_removed, pools)
}

/// Months to simulate: the horizon, and past it while participants can
/// still earn something (counted beyond the horizon).
fn months_simulated(model: &Model) -> usize {
    let last_event = model
        .segments
        .iter()
        .map(|s| model.referral_months + s.service_months())
        .max()
        .unwrap_or(0);
    let last_measurement = model
        .payments
        .improvement
        .iter()
        .map(|r| r.final_measured_in + 1)
        .max()
        .unwrap_or(0);
    model.horizon.max(last_event).max(last_measurement)
}

/// Per segment, the indices of the rules whose segments include it.
fn rules_by_segment<'a>(
    segments: usize,
    rules: impl Iterator<Item = &'a [usize]> + Clone,
) -> Vec<Vec<usize>> {
    (0..segments)
        .map(|s| {
            rules
                .clone()
                .enumerate()
                .filter(|(_, covered)| covered.contains(&s))
                .map(|(i, _)| i)
                .collect()
        })
        .collect()
}

/// How a segment's participants in outcome leave it each month.
#[derive(Clone, Debug)]
pub enum Leaving {
    /// A dropout fixed for the run: tabulated once.
    Table(BinomialTable),
    /// A dropout drawn per iteration (an uncertain key): sampled directly,
    /// since tabulating costs more than an iteration's draws.
    Direct(Binomial),
}

/// How many `(1 - dropout)^n` an iteration keeps per sampler of leaving
/// outcome ([`Leaving::sample`]).
pub const KEPT_POWERS: usize = 512;

impl Leaving {
    /// Of `n` in outcome, how many leave this month. A drawn dropout's
    /// sampler keeps `(1 - dropout)^n` in `powers[n]` (NaN until first
    /// needed in the iteration): the same counts recur month after month,
    /// and each would otherwise cost an `exp`.
    #[inline]
    pub fn sample<R: rand::Rng + ?Sized>(&self, rng: &mut R, n: u64, powers: &mut [f64]) -> u64 {
        match self {
            Leaving::Table(t) => t.sample(rng, n),
            Leaving::Direct(b) if b.inverts(n) && b.failure_probability().is_some() => {
                b.sample_with_power(rng, n, kept(powers, n, || b.failure_power(n)))
            }
            Leaving::Direct(b) => b.sample(rng, n),
        }
    }
}

/// The samplers of leaving outcome, one per distinct fixed dropout and one
/// per segment whose dropout is uncertain, and each segment's sampler.
fn leave_tables(model: &Model) -> (Vec<usize>, Vec<Leaving>) {
    // Segments usually share a dropout; one table each would only crowd
    // the cache.
    let mut dropouts: Vec<(f64, bool)> = Vec::new();
    let leave = model
        .segments
        .iter()
        .enumerate()
        .map(|(s, seg)| {
            let dropout = seg.sustained().map_or(0.0, |o| o.dropout);
            let drawn = dropout_is_drawn(model, s);
            match dropouts
                .iter()
                .position(|&(d, shared)| !drawn && !shared && d == dropout)
            {
                Some(i) => i,
                None => {
                    dropouts.push((dropout, drawn));
                    dropouts.len() - 1
                }
            }
        })
        .collect();
    let leave_tables = dropouts
        .into_iter()
        .map(|(d, drawn)| {
            if drawn {
                Leaving::Direct(Binomial::new(d))
            } else {
                Leaving::Table(BinomialTable::new(d))
            }
        })
        .collect();
    (leave, leave_tables)
}

fn dropout_is_drawn(model: &Model, segment: usize) -> bool {
    model
        .uncertain_keys
        .iter()
        .any(|k| k.target == Target::Dropout(segment))
}

impl Plan {
    /// Recomputes, in place and without allocating, what depends on values
    /// an uncertain key may have changed in the iteration's copy of the
    /// model: prices after the per-participant cap, discount factors and
    /// drawn dropouts. The shape of the plan (price pools, samplers) was
    /// fixed from the base model and does not change: a key given one price
    /// for every year moves every year alike.
    pub fn refresh(&mut self, model: &Model, what: Refresh) {
        for (s, seg) in model.segments.iter().enumerate() {
            if let (true, Some(o), Leaving::Direct(b)) = (
                what.dropouts,
                seg.sustained(),
                &mut self.leave_tables[self.leave[s]],
            ) {
                *b = Binomial::new(o.dropout);
            }
            if !what.prices {
                continue;
            }
            let process = seg.sustained().unwrap_or(&NO_SUSTAINMENT);
            let pools = self.pools[s].len();
            for y in 0..model.years() {
                let (att, removed) = if y < pools {
                    capped_prices_into(&seg.tariff, process, y, &mut self.pools[s][y])
                } else {
                    // Paid first, so the cap takes from it alone.
                    let price = seg.tariff.attachment[y];
                    let paid = price.min(seg.tariff.cap_per_participant.unwrap_or(Pence::MAX));
                    (paid, price - paid)
                };
                self.attachment[s][y] = att;
                self.attachment_removed[s][y] = removed;
            }
        }
        if what.discount {
            let r = model.commissioner.discount_rate;
            for (t, d) in self.discount.iter_mut().enumerate() {
                *d = math::pow(1.0 + r, -(t as f64) / 12.0);
            }
        }
    }
}

/// Which parts of a plan uncertain keys move (so an iteration recomputes
/// only those).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Refresh {
    /// Prices after the per-participant cap (tariffs, caps).
    pub prices: bool,
    /// Discount factors (the discount rate).
    pub discount: bool,
    /// Drawn dropouts' samplers.
    pub dropouts: bool,
}

impl Refresh {
    /// What the uncertain keys of `model` move.
    pub fn of(model: &Model) -> Refresh {
        let mut what = Refresh::default();
        for key in &model.uncertain_keys {
            match key.target {
                Target::Tariff(..) | Target::CapPerParticipant(_) => what.prices = true,
                Target::DiscountRate => what.discount = true,
                Target::Dropout(_) => what.dropouts = true,
                _ => {}
            }
        }
        what
    }
}

/// A segment without sustainment: what prices read for adverse-event
/// segments.
const NO_SUSTAINMENT: Sustained = Sustained {
    baseline_hazard: 0.0,
    window: 1,
    qualifying_months: 1,
    dropout: 0.0,
    max_sustainment_months: 0,
};

fn same_prices(a: &PoolPrices, b: &PoolPrices) -> bool {
    a.outcome == b.outcome
        && a.sustainment == b.sustainment
        && a.outcome_removed == b.outcome_removed
        && a.sustainment_removed == b.sustainment_removed
}

/// One participant's prices for referral year `y`, with the per-participant
/// cap applied in payment order (attachment, outcome, sustainment months):
/// returns (attachment, attachment removed, outcome and sustainment prices).
pub fn capped_prices(tariff: &Tariff, process: &Sustained, y: usize) -> (Pence, Pence, PoolPrices) {
    let months = process.max_sustainment_months;
    let mut prices = PoolPrices {
        outcome: 0,
        outcome_removed: 0,
        sustainment: vec![0; months],
        sustainment_removed: vec![0; months],
    };
    let (att, att_removed) = capped_prices_into(tariff, process, y, &mut prices);
    (att, att_removed, prices)
}

/// [`capped_prices`] into an existing pool of the right shape: returns the
/// attachment fee and what the cap removes of it.
fn capped_prices_into(
    tariff: &Tariff,
    process: &Sustained,
    y: usize,
    prices: &mut PoolPrices,
) -> (Pence, Pence) {
    let cap = tariff.cap_per_participant.unwrap_or(Pence::MAX);
    let mut left = cap;
    let mut take = |price: Pence| {
        let paid = price.min(left);
        left -= paid;
        (paid, price - paid)
    };
    let (att, att_removed) = take(tariff.attachment[y]);
    (prices.outcome, prices.outcome_removed) = take(tariff.outcome[y]);
    for m in 0..process.max_sustainment_months {
        (prices.sustainment[m], prices.sustainment_removed[m]) = take(tariff.sustainment[y]);
    }
    (att, att_removed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{Purpose, stream};

    /// A drawn dropout's sampler gives the same counts with the powers it
    /// keeps as computing each afresh, on every path (few in outcome,
    /// inversion, beyond the kept powers, rejection).
    #[test]
    fn kept_powers_change_no_draw() {
        for d in [0.02, 0.09, 0.3, 0.7] {
            let leave = Leaving::Direct(Binomial::new(d));
            let mut powers = vec![f64::NAN; KEPT_POWERS];
            let (mut a, mut b) = (
                stream(5, 1, Purpose::Participants),
                stream(5, 1, Purpose::Participants),
            );
            for k in 0..4000u64 {
                let n = (k * 7919) % 900;
                let kept = leave.sample(&mut a, n, &mut powers);
                let afresh = leave.sample(&mut b, n, &mut []);
                assert_eq!(kept, afresh, "dropout {d}, n {n}");
            }
            assert!(powers.iter().any(|p| !p.is_nan()) || d > 0.5);
        }
    }
}
