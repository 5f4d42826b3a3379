//! Step 2 of a month: entries into a sustained outcome and stays in it
//! (reference model §4a). Participants waiting in the programme enter
//! outcome with the month's probability; each month's entrants are then
//! followed through their whole stay at once (dropout does not depend on
//! service), which fixes their outcome event, sustainment months and
//! savings months, and schedules the payments they earn.

use super::{
    Books, Buffers, CommissionerResult, Contract, Group, Measurements, Month, Providers, Rng,
    Service, State,
};
use crate::engine::plan::{GroupPlan, PoolPrices};
use crate::engine::plan::{KEPT_POWERS, Leaving};
use crate::math;
use crate::model::{Pence, PriceYear, Sustained};
use crate::sample::{Binomial, binomial, expected_binomial, kept, open_unit};

/// Programme-month costs, entries and stays of every delivery group.
pub(super) fn enter_and_stay(contract: &Contract, month: Month, state: &mut State, rng: &mut Rng) {
    let Contract {
        model,
        plan,
        hazards,
        ..
    } = contract;
    let State {
        people,
        books,
        providers,
        measurements,
        buffers,
        commissioner,
        live,
        ..
    } = state;
    let live = *live;
    let groups = &mut people.groups;
    let realised_months = &mut people.realised_months;
    for (group, gp) in plan.groups.iter().enumerate() {
        let segment = gp.segment;
        let participants = &mut groups[group];
        if month.within && live {
            bear_programme_costs(contract, gp, participants, providers);
        }
        let Some(process) = model.segments[segment].sustained() else {
            continue;
        };
        let served = live && participants.service != Service::Unserved;
        let p = hazards.entry(segment, month.year, served);
        participants.entrants.fill(0);
        let first = (month.t + 1).saturating_sub(process.window);
        let last = month.t.min(model.referral_months.saturating_sub(1));
        if first <= last && model.counts.expected() {
            enter_expected(participants, p, first..=last, process.window, |m| {
                plan.pool_of(segment, m)
            });
        } else if first <= last {
            enter(
                participants,
                &Binomial::new(p),
                p,
                first..=last,
                process.window,
                |m| plan.pool_of(segment, m),
                rng,
            );
        }
        let measured = !plan.rules_of_segment[segment].is_empty();
        // Counts at their expectations fix who reaches the outcome event
        // per cohort whether measured or not, so measuring moves nothing.
        if measured || model.counts.expected() {
            measurements.reach_outcome(contract, segment, participants, first..=last, process, rng);
        }
        let entered = Entered {
            month,
            segment,
            group,
            measured,
        };
        let counts = (&mut *books, &mut *measurements, &mut *commissioner);
        follow_entrants(
            contract,
            entered,
            process,
            participants,
            buffers,
            realised_months,
            counts,
            rng,
        );
    }
}

/// Programme-month costs of a group, borne by whoever serves it.
fn bear_programme_costs(
    contract: &Contract,
    gp: &GroupPlan,
    participants: &Group,
    providers: &mut Providers,
) {
    if participants.service == Service::Unserved {
        return;
    }
    let in_programme: u64 = participants.size.iter().sum();
    let bearer = if participants.service == Service::Transferred {
        0
    } else {
        gp.provider
    };
    providers.accrued_cost[bearer] +=
        in_programme as Pence * contract.model.providers[bearer].cost_per_participant_month;
}

/// This month's entrants of one group, by price pool.
#[derive(Clone, Copy, Debug)]
struct Entered {
    month: Month,
    segment: usize,
    group: usize,
    /// Whether an improvement rule measures the segment (then how many
    /// reach the outcome event was drawn first).
    measured: bool,
}

/// Draws how long each pool's entrants stay in outcome and follows them.
#[allow(clippy::too_many_arguments)]
fn follow_entrants(
    contract: &Contract,
    entered: Entered,
    process: &Sustained,
    participants: &Group,
    buffers: &mut Buffers,
    realised_months: &mut [u64],
    (books, measurements, commissioner): (&mut Books, &mut Measurements, &mut CommissionerResult),
    rng: &mut Rng,
) {
    let plan = contract.plan;
    let Entered {
        month,
        segment,
        group,
        measured,
    } = entered;
    let ages = plan.ages[segment];
    let table = plan.leave[segment];
    let leave = &plan.leave_tables[table];
    let rounded = contract.model.counts.expected();
    for (pool, prices) in plan.pools[segment].iter().enumerate() {
        let entrants = participants.entrants[pool];
        if entrants == 0 {
            continue;
        }
        let Buffers {
            stay_lengths,
            leave_powers,
            ..
        } = &mut *buffers;
        let stays = &mut stay_lengths[..=ages];
        let leave = (
            leave,
            &mut leave_powers[table * KEPT_POWERS..(table + 1) * KEPT_POWERS],
        );
        if rounded {
            let reached = measurements.reached[pool];
            expected_stays(entrants, reached, process, ages, stays);
        } else if measured {
            let reached = measurements.reached[pool];
            sample_stays_given_reached(rng, entrants, reached, process, leave, ages, stays);
        } else {
            sample_stays(rng, entrants, process.dropout, leave, ages, stays);
        }
        let entry = Entry {
            month,
            segment,
            group,
            entrants,
        };
        follow_stays(
            contract,
            entry,
            process,
            prices,
            stays,
            realised_months,
            books,
            measurements,
            commissioner,
        );
    }
}

/// Participants of one group and price pool entering outcome together.
#[derive(Clone, Copy, Debug)]
struct Entry {
    month: Month,
    segment: usize,
    group: usize,
    entrants: u64,
}

/// Walks the entrants' stays (`stays[L]` leave after `L` months): the
/// outcome event at the `q`-th month in outcome, paid sustainment months
/// after it, and months counted for savings.
#[allow(clippy::too_many_arguments)]
fn follow_stays(
    contract: &Contract,
    entry: Entry,
    process: &Sustained,
    prices: &PoolPrices,
    stays: &[u64],
    realised_months: &mut [u64],
    books: &mut Books,
    measurements: &mut Measurements,
    commissioner: &mut CommissionerResult,
) {
    let Contract { model, plan, .. } = contract;
    let seg = &model.segments[entry.segment];
    let (h, years, lags) = (model.horizon, model.years(), model.payments.lags);
    let dues = &mut books.group_dues[entry.group];
    let qualifying = process.qualifying_months;
    let mut in_outcome = entry.entrants;
    for age in 1..=plan.ages[entry.segment] {
        if in_outcome == 0 {
            break;
        }
        let t = entry.month.t + age - 1;
        let n = in_outcome as Pence;
        let price_year = (t / 12).min(years - 1);
        if age == qualifying {
            if t < h {
                commissioner.outcomes += in_outcome;
                measurements.outcomes_by_segment[entry.segment * h + t] += in_outcome;
                if !measurements.group_outcomes.is_empty() {
                    measurements.group_outcomes[entry.group * h + t] += in_outcome;
                }
                measurements.count_yearly_outcome(
                    contract,
                    entry.segment,
                    entry.group,
                    t,
                    in_outcome,
                );
            }
            let (price, removed) = match model.payments.price_year {
                PriceYear::Event => (seg.tariff.outcome[price_year], 0),
                PriceYear::Referral => (prices.outcome, prices.outcome_removed),
            };
            if t + lags.outcome < h {
                commissioner.removed_by_participant_cap += n * removed;
            }
            dues.outcome.add(
                t + lags.outcome,
                n * price,
                &mut commissioner.beyond_horizon,
            );
        } else if age > qualifying && age - qualifying <= process.max_sustainment_months {
            let k = age - qualifying;
            let (price, removed) = match model.payments.price_year {
                PriceYear::Event => (seg.tariff.sustainment[price_year], 0),
                PriceYear::Referral => {
                    (prices.sustainment[k - 1], prices.sustainment_removed[k - 1])
                }
            };
            if t + lags.sustainment < h {
                commissioner.removed_by_participant_cap += n * removed;
            }
            dues.sustainment.add(
                t + lags.sustainment,
                n * price,
                &mut commissioner.beyond_horizon,
            );
        }
        if age <= seg.savings_months && t < h {
            realised_months[entry.segment * h + t] += in_outcome;
        }
        in_outcome -= stays[age];
    }
}

/// How many `q^e` a group keeps for the entry probability in force.
pub(super) const SMALL_POWERS: usize = 64;

/// Expected entries below which a group's entries are drawn as one total
/// and then assigned to cohorts; above it, cohort by cohort.
const POOLED_ENTRY_LIMIT: f64 = 2.0;

/// This month's entries into outcome of the group's cohorts `cohorts`
/// (all waiting participants share the probability `p`), added to
/// `participants.entrants` by price pool and removed from the cohorts' waiting counts.
///
/// Two exact methods. When few entries are expected, one binomial draw over
/// everyone waiting gives the total, and each entrant is then assigned to a
/// cohort by drawing without replacement among those waiting (every
/// subset of that size is equally likely, as the binomial model implies).
/// Otherwise each cohort gets its own binomial draw, so the cost never
/// grows with the number of participants.
#[inline]
fn enter(
    participants: &mut Group,
    entry: &Binomial,
    p: f64,
    cohorts: std::ops::RangeInclusive<usize>,
    window: usize,
    pool_of: impl Fn(usize) -> usize,
    rng: &mut Rng,
) {
    // Cohort m lives in slot m % window; walk the slots without dividing.
    let first_slot = cohorts.start() % window;
    let next = |slot: usize| if slot + 1 == window { 0 } else { slot + 1 };
    let mut waiting = 0;
    let mut slot = first_slot;
    for _ in cohorts.clone() {
        waiting += participants.waiting[slot];
        participants.entered[slot] = 0;
        slot = next(slot);
    }
    if waiting == 0 {
        return;
    }
    if (waiting as f64) * p < POOLED_ENTRY_LIMIT {
        let entrants = entry.sample(rng, waiting);
        assign_entrants(
            participants,
            entrants,
            waiting,
            cohorts,
            window,
            pool_of,
            rng,
        );
        return;
    }
    // One draw per cohort. With p <= 1/2 each slot keeps q^waiting for
    // this q, updated by q^-e after a draw, so the draws need no exp while
    // q stays the same (a whole contract year, unless service changes).
    let stay_out = entry.failure_probability();
    let cached = stay_out.is_some_and(|q| q == participants.power_of);
    if let Some(q) = stay_out {
        if !cached {
            participants.small_powers.fill(f64::NAN);
        }
        participants.power_of = q;
    }
    let mut slot = first_slot;
    for m in cohorts {
        let waiting = participants.waiting[slot];
        if waiting > 0 {
            let entered = match stay_out.filter(|_| entry.inverts(waiting)) {
                Some(q) => {
                    let known = participants.power[slot];
                    let power = if cached && !known.is_nan() {
                        known
                    } else {
                        math::powi(q, waiting as i64)
                    };
                    let e = entry.sample_with_power(rng, waiting, power);
                    participants.power[slot] = if e == 0 {
                        power
                    } else {
                        power
                            / kept(&mut participants.small_powers, e, || {
                                math::powi(q, e as i64)
                            })
                    };
                    e
                }
                None => {
                    participants.power[slot] = f64::NAN;
                    entry.sample(rng, waiting)
                }
            };
            participants.waiting[slot] = waiting - entered;
            participants.entered[slot] = entered;
            participants.entrants[pool_of(m)] += entered;
        }
        slot = next(slot);
    }
}

/// Assigns `entrants` among the `waiting` participants of `cohorts` to
/// cohorts, drawing without replacement.
fn assign_entrants(
    participants: &mut Group,
    entrants: u64,
    waiting: u64,
    cohorts: std::ops::RangeInclusive<usize>,
    window: usize,
    pool_of: impl Fn(usize) -> usize,
    rng: &mut Rng,
) {
    // Counts change one by one here: the cached powers no longer hold.
    participants.power_of = f64::NAN;
    let next = |slot: usize| if slot + 1 == window { 0 } else { slot + 1 };
    let mut left = waiting;
    for _ in 0..entrants {
        let mut pick = ((open_unit(rng) * left as f64) as u64).min(left - 1);
        let mut slot = cohorts.start() % window;
        for m in cohorts.clone() {
            let w = participants.waiting[slot];
            if pick < w {
                participants.waiting[slot] = w - 1;
                participants.entered[slot] += 1;
                participants.entrants[pool_of(m)] += 1;
                break;
            }
            pick -= w;
            slot = next(slot);
        }
        left -= 1;
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
fn sample_stays(
    rng: &mut Rng,
    n: u64,
    dropout: f64,
    (leave, powers): (&Leaving, &mut [f64]),
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
        let log_stay = math::ln(1.0 - dropout);
        for _ in 0..n {
            let extra = (math::ln(open_unit(rng)) / log_stay).floor();
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
        let left = leave.sample(rng, remaining, powers);
        stays[l] = left;
        remaining -= left;
        if remaining == 0 {
            return;
        }
    }
    stays[ages] = remaining;
}

/// As [`sample_stays`], given that exactly `reached` of the `n` entrants
/// stay the `q` months that make the outcome event: the others' stays are
/// drawn from lengths 1..q-1 (conditional binomials on the truncated
/// geometric), and the reached ones' from q on, which is the same
/// memoryless process as [`sample_stays`] shifted by q - 1 months.
fn sample_stays_given_reached(
    rng: &mut Rng,
    n: u64,
    reached: u64,
    process: &Sustained,
    (leave, powers): (&Leaving, &mut [f64]),
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
                process.dropout / (1.0 - math::powi(stay, (q - l) as i64)),
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
        let left = leave.sample(rng, remaining, powers);
        stays[l] += left;
        remaining -= left;
    }
    stays[ages] += remaining;
}

/// As [`enter`] when counts are their expectations: each cohort's entries
/// are its waiting participants times `p`, rounded half away from zero.
fn enter_expected(
    participants: &mut Group,
    p: f64,
    cohorts: std::ops::RangeInclusive<usize>,
    window: usize,
    pool_of: impl Fn(usize) -> usize,
) {
    // Drawn counts would cache powers of 1 - p against these counts.
    participants.power_of = f64::NAN;
    for m in cohorts {
        let slot = m % window;
        let waiting = participants.waiting[slot];
        let entered = expected_binomial(waiting, p);
        participants.waiting[slot] = waiting - entered;
        participants.entered[slot] = entered;
        participants.entrants[pool_of(m)] += entered;
    }
}

/// As [`sample_stays_given_reached`] when counts are their expectations:
/// the same conditional binomials, each rounded half away from zero, so
/// the stays still add up to `n`.
fn expected_stays(n: u64, reached: u64, process: &Sustained, ages: usize, stays: &mut [u64]) {
    let dropout = process.dropout;
    stays.fill(0);
    let q = process.qualifying_months;
    let stay = 1.0 - dropout;
    let (mut short, mut remaining) = (n - reached, reached);
    for l in 1..q {
        if short == 0 {
            break;
        }
        let left = if l + 1 == q {
            short
        } else {
            expected_binomial(short, dropout / (1.0 - math::powi(stay, (q - l) as i64)))
        };
        stays[l] += left;
        short -= left;
    }
    for l in q..ages {
        if remaining == 0 {
            return;
        }
        let left = expected_binomial(remaining, dropout);
        stays[l] += left;
        remaining -= left;
    }
    stays[ages] += remaining;
}
