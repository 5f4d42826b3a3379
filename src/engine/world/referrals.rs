//! Step 1 of a month: referrals (reference model §3). Each segment's
//! referrals to each provider arrive as one Poisson count (or the expected
//! count, rounded, for a fixed process); the cohort joins its provider's
//! delivery group, earns its attachment fees and the subcontractor's fee
//! per referral. A cohort in an adverse-event segment has its events over
//! the whole follow-up drawn now (§4b), and a cohort measured by an
//! improvement rule is tallied with its comparison group (§5).

use super::{
    Books, Buffers, CommissionerResult, Contract, Measurements, Month, People, Providers, Rng,
    Service, State,
};
use crate::engine::improvement::{
    Counts, draw_events, draw_time_in_state, event_pmf, expected_events,
};
use crate::math;
use crate::model::{Pence, ReferralProcess, Segment};
use crate::sample::{binomial, expected_binomial, poisson};

/// A cohort just referred: `size` participants of `segment` to the group
/// `group` (of provider `provider`), in month `month`.
#[derive(Clone, Copy, Debug)]
struct Cohort {
    segment: usize,
    provider: usize,
    group: usize,
    size: u64,
}

/// This month's referrals, by segment and provider.
pub(super) fn refer(contract: &Contract, month: Month, state: &mut State, rng: &mut Rng) {
    let Contract { model, draws, .. } = contract;
    let State {
        people,
        books,
        providers,
        measurements,
        buffers,
        commissioner,
        ..
    } = state;
    let mut parts = Parts {
        people,
        books,
        providers,
        measurements,
        buffers,
        commissioner,
    };
    // With counts at their expectations every referral count is rounded,
    // whatever the referral process says.
    let expected_counts = model.counts.expected();
    let count = |mean: f64, process: ReferralProcess, rng: &mut Rng| match process {
        ReferralProcess::Poisson if !expected_counts => poisson(rng, mean),
        _ => mean.round() as u64,
    };
    for (segment, seg) in model.segments.iter().enumerate() {
        let expected = draws.volume * seg.volume * seg.referrals[month.t];
        for (provider, &share) in seg.allocation.iter().enumerate() {
            if share <= 0.0 {
                continue;
            }
            // A minimum performance level may have moved a share of this
            // provider's referrals to another provider.
            let shift = parts.people.shifts[segment * model.providers.len() + provider];
            let kept = shift.map_or(1.0, |(_, moved, _)| 1.0 - moved);
            let size = count(expected * share * kept, seg.referral_process, rng);
            receive(contract, month, segment, provider, size, &mut parts, rng);
            if let Some((to, moved, level)) = shift {
                let size = count(expected * share * moved, seg.referral_process, rng);
                parts.people.shifted[level] += size;
                receive(contract, month, segment, to, size, &mut parts, rng);
            }
        }
    }
}

/// The parts of the state referrals change.
struct Parts<'a> {
    people: &'a mut People,
    books: &'a mut Books,
    providers: &'a mut Providers,
    measurements: &'a mut Measurements,
    buffers: &'a mut Buffers,
    commissioner: &'a mut CommissionerResult,
}

/// `size` referrals of `segment` allocated to `provider` (the prime's if it
/// has failed) join its delivery group.
fn receive(
    contract: &Contract,
    month: Month,
    segment: usize,
    provider: usize,
    size: u64,
    parts: &mut Parts,
    rng: &mut Rng,
) {
    let Contract {
        model, plan, draws, ..
    } = contract;
    let seg = &model.segments[segment];
    if size == 0 {
        return;
    }
    let Parts {
        people,
        books,
        providers,
        measurements,
        buffers,
        commissioner,
    } = parts;
    // A failed subcontractor's new referrals go to the prime.
    let provider = if providers.failed[provider].is_some() {
        0
    } else {
        provider
    };
    let group = plan.group_of[segment][provider].expect("prime group exists for every segment");
    let cohort = Cohort {
        segment,
        provider,
        group,
        size,
    };
    admit(
        contract,
        month,
        cohort,
        people,
        books,
        providers,
        commissioner,
    );
    if let Some(events) = seg.adverse_events() {
        let served = people.groups[group].service != Service::Unserved;
        let base_mean = events.rate * draws.macro_by_year[month.year];
        draw_adverse_events(
            contract,
            month,
            cohort,
            seg,
            served,
            base_mean,
            measurements,
            buffers,
            commissioner,
            rng,
        );
    } else if let Some(process) = seg.time_in_state() {
        let served = people.groups[group].service != Service::Unserved;
        let base_entry = process.entry * draws.macro_by_year[month.year];
        let entry = if served {
            base_entry * (1.0 - draws.effect[segment])
        } else {
            base_entry
        };
        let path = &mut buffers.in_state[..process.follow_up];
        let rounded = model.counts.expected();
        let (initial, exit) = (process.initial_share, process.exit);
        draw_time_in_state(rng, rounded, size, initial, entry, exit, path);
        if !plan.rules_of_segment[segment].is_empty() {
            let comparison = &mut buffers.in_state_base[..process.follow_up];
            measurements.add_state_cohort(
                contract,
                month.t,
                cohort.group,
                segment,
                (size, &*path),
                comparison,
                |people, months| {
                    draw_time_in_state(
                        rng,
                        rounded,
                        people,
                        process.initial_share,
                        base_entry,
                        process.exit,
                        months,
                    )
                },
            );
        }
    } else if !plan.rules_of_segment[segment].is_empty() {
        tally_measured_outcomes(contract, month, cohort, measurements, rng);
    }
}

/// The cohort joins its group; its referral costs, attachment fees and
/// the subcontractor's fee per referral are booked.
fn admit(
    contract: &Contract,
    month: Month,
    cohort: Cohort,
    people: &mut People,
    books: &mut Books,
    providers: &mut Providers,
    commissioner: &mut CommissionerResult,
) {
    let Contract { model, plan, .. } = contract;
    let Cohort {
        segment,
        provider,
        group,
        size,
    } = cohort;
    let t = month.t;
    let slot = t % model.segments[segment].service_months();
    let participants = &mut people.groups[group];
    participants.waiting[slot] += size;
    participants.power[slot] = f64::NAN;
    participants.size[slot] += size;
    people.referrals[segment * model.referral_months + t] += size;
    if !people.group_referrals.is_empty() {
        people.group_referrals[group * model.referral_months + t] += size;
    }
    commissioner.referrals += size;
    providers.referred[provider] += size;
    let n = size as Pence;
    providers.accrued_cost[provider] += n * model.providers[provider].cost_per_referral;
    let fee = n * plan.attachment[segment][month.year];
    commissioner.removed_by_participant_cap += n * plan.attachment_removed[segment][month.year];
    let lag = model.payments.lags.attachment;
    books.group_dues[group]
        .attachment
        .add(t + lag, fee, &mut commissioner.beyond_horizon);
    if let (Some(blended), Some(_)) = (&model.payments.blended, &model.providers[provider].terms) {
        // The fee is counted first in the (capped) attachment price.
        let year = month.year;
        let part = blended.fee[segment][year].min(plan.attachment[segment][year]);
        let mut beyond = 0;
        books.group_dues[group]
            .blended_fee
            .add(t + lag, n * part, &mut beyond);
    }
    if let Some(terms) = &model.providers[provider].terms {
        let gross = n * terms.fee_per_referral;
        commissioner.management_fees +=
            books
                .ledger
                .pass_down(model.account_of(provider), t, gross, terms.management_fee);
    }
}

/// The cohort's adverse events over its follow-up, drawn now; the effect
/// is that of its provider's service at referral. Savings count the events
/// avoided against the expectation without the intervention.
#[allow(clippy::too_many_arguments)]
fn draw_adverse_events(
    contract: &Contract,
    month: Month,
    cohort: Cohort,
    seg: &Segment,
    served: bool,
    base_mean: f64,
    measurements: &mut Measurements,
    buffers: &mut Buffers,
    commissioner: &mut CommissionerResult,
    rng: &mut Rng,
) {
    let Contract {
        model, plan, draws, ..
    } = contract;
    let process = seg.adverse_events().expect("an adverse-event segment");
    let size = cohort.size;
    let mean = if served {
        base_mean * (1.0 - draws.effect[cohort.segment])
    } else {
        base_mean
    };
    event_pmf(mean, process.frailty_shape, &mut buffers.pmf);
    let expected = model.counts.expected();
    let (with_event, events) = if expected {
        expected_events(size, &buffers.pmf, mean)
    } else {
        draw_events(rng, size, &buffers.pmf)
    };
    commissioner.adverse_events += events;
    commissioner.people_with_event += with_event;
    commissioner.counterfactual_adverse_events += size as f64 * base_mean;
    let end = month.t + process.follow_up - 1;
    if end < model.horizon {
        let saving =
            (size as f64 * base_mean - events as f64) * seg.savings_per_event_avoided as f64;
        commissioner.savings += saving;
        commissioner.savings_npv += saving * plan.discount[end];
        let by_segment = &mut measurements.savings_by_segment[cohort.segment];
        by_segment.0 += saving;
        by_segment.1 += saving * plan.discount[end];
    }
    if !plan.rules_of_segment[cohort.segment].is_empty() {
        event_pmf(base_mean, process.frailty_shape, &mut buffers.pmf_base);
    }
    let treated = Counts {
        people: size,
        with_event,
        events,
        followed: 0,
    };
    let pmf_base = &buffers.pmf_base;
    measurements.add_cohort(
        contract,
        month.t,
        cohort.segment,
        cohort.group,
        treated,
        |people| {
            if expected {
                expected_events(people, pmf_base, base_mean)
            } else {
                draw_events(rng, people, pmf_base)
            }
        },
    );
}

/// A measured sustained-outcome cohort is counted now, its outcome events
/// as they are drawn; a simulated comparison reaches an outcome with the
/// closed-form probability without the programme.
fn tally_measured_outcomes(
    contract: &Contract,
    month: Month,
    cohort: Cohort,
    measurements: &mut Measurements,
    rng: &mut Rng,
) {
    let Contract { model, hazards, .. } = contract;
    let process = model.segments[cohort.segment]
        .sustained()
        .expect("a sustained-outcome segment");
    let mut reaches_outcome = 0.0;
    let mut waiting = 1.0;
    for j in 0..process.window {
        let p = hazards.base_at(cohort.segment, month.t + j);
        reaches_outcome += waiting * p;
        waiting *= 1.0 - p;
    }
    reaches_outcome *= math::powi(1.0 - process.dropout, process.qualifying_months as i64 - 1);
    let treated = Counts {
        people: cohort.size,
        with_event: 0,
        events: 0,
        followed: 0,
    };
    measurements.add_cohort(
        contract,
        month.t,
        cohort.segment,
        cohort.group,
        treated,
        |people| {
            let outcomes = if model.counts.expected() {
                expected_binomial(people, reaches_outcome)
            } else {
                binomial(rng, people, reaches_outcome)
            };
            (outcomes, outcomes)
        },
    );
}
