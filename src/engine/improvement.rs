//! Counted adverse events (reference model 4b) and payments for an
//! improvement over a comparison (reference model 5).
//!
//! A referral month's cohort of `n` people in an adverse-event segment is
//! drawn as counts: how many people have 0, 1, 2, … events over the
//! follow-up, a multinomial over the (negative binomial, or Poisson without
//! frailty) distribution of one person's events, by conditional binomials.
//! That gives both measures at once: people with an event and events, at a
//! cost that grows with the spread of the distribution, not with `n`. A
//! simulated comparison group is drawn the same way without the effect.
//!
//! Thresholds are decided in exact integer arithmetic on the counts, so a
//! relative improvement of exactly the threshold pays.

use crate::math;
use crate::model::{Comparison, ImprovementRule, Measure, Pence};
use crate::sample::{Binomial, expected_binomial};
use rand::Rng;

/// Largest number of events per person tabulated; the mass beyond it is
/// below 1e-16 for any realistic mean, and is counted at the last entry.
const MAX_EVENTS: usize = 400;

/// Probabilities of 0, 1, 2, … events for one person with mean `mean` and
/// gamma frailty of shape `shape` (negative binomial), or none (Poisson),
/// into `pmf` (cleared first); stops once the tail is below 1e-16.
pub fn event_pmf(mean: f64, shape: Option<f64>, pmf: &mut Vec<f64>) {
    pmf.clear();
    if mean <= 0.0 {
        pmf.push(1.0);
        return;
    }
    let mut f = match shape {
        Some(k) => math::pow(k / (k + mean), k),
        None => math::exp(-mean),
    };
    let mut total = 0.0;
    for j in 0..MAX_EVENTS {
        pmf.push(f);
        total += f;
        if 1.0 - total < 1e-16 && j as f64 > mean {
            break;
        }
        let next = j as f64 + 1.0;
        f *= match shape {
            Some(k) => (k + j as f64) / next * (mean / (k + mean)),
            None => mean / next,
        };
    }
}

/// People with at least one event and total events among `n` people whose
/// event counts follow `pmf`.
pub fn draw_events<R: Rng + ?Sized>(rng: &mut R, n: u64, pmf: &[f64]) -> (u64, u64) {
    let mut remaining = n;
    let mut tail = 1.0;
    let (mut none, mut events) = (0, 0);
    for (j, &p) in pmf.iter().enumerate() {
        if remaining == 0 {
            break;
        }
        let k = if j + 1 == pmf.len() || tail <= p {
            remaining
        } else {
            Binomial::new(p / tail).sample(rng, remaining)
        };
        if j == 0 {
            none = k;
        }
        events += k * j as u64;
        remaining -= k;
        tail -= p;
    }
    (n - none, events)
}

/// People with at least one event and total events among `n` people whose
/// event counts follow `pmf` with mean `mean`, as their expectations
/// rounded half away from zero: `n (1 - pmf[0])` and `n mean`. Rounding
/// the two totals (rather than each step of [`draw_events`]) keeps the
/// events exactly the cohort's expected events, as a published cohort's
/// arithmetic counts them.
pub fn expected_events(n: u64, pmf: &[f64], mean: f64) -> (u64, u64) {
    let none = pmf.first().copied().unwrap_or(1.0);
    let with_event = expected_binomial(n, 1.0 - none);
    let events = (n as f64 * mean.max(0.0)).round() as u64;
    (with_event, events.max(with_event))
}

/// How many of a cohort of `n` people are in a state in each month of
/// their follow-up, into `in_state` (one entry per month): a two-state
/// Markov chain drawn on counts. In the first month each person is in the
/// state with probability `initial`; in each later month, of those in the
/// state `Binomial(in, exit)` leave it and of the others
/// `Binomial(n - in, entry)` enter it. Each person's path is the chain's,
/// so months in the state cluster within people as they do in the chain.
/// With `expected`, each of these counts is its expectation rounded half
/// away from zero, month by month, and nothing is drawn.
pub fn draw_time_in_state<R: Rng + ?Sized>(
    rng: &mut R,
    expected: bool,
    n: u64,
    initial: f64,
    entry: f64,
    exit: f64,
    in_state: &mut [u64],
) {
    if expected {
        let mut now = expected_binomial(n, initial);
        for (j, month) in in_state.iter_mut().enumerate() {
            if j > 0 {
                let left = expected_binomial(now, exit);
                let entered = expected_binomial(n - now, entry);
                now = now - left + entered;
            }
            *month = now;
        }
        return;
    }
    let (enter, leave) = (Binomial::new(entry), Binomial::new(exit));
    let mut now = Binomial::new(initial).sample(rng, n);
    for (j, month) in in_state.iter_mut().enumerate() {
        if j > 0 {
            let left = leave.sample(rng, now);
            let entered = enter.sample(rng, n - now);
            now = now - left + entered;
        }
        *month = now;
    }
}

/// People, people with at least one event (or outcome), and events (or
/// outcomes) of one group.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// People in the group.
    pub people: u64,
    /// People with at least one event (for a positive outcome: with it).
    pub with_event: u64,
    /// Events (for a positive outcome: outcomes; for time in a state:
    /// person-months in the state).
    pub events: u64,
    /// Person-months followed (time in a state; 0 otherwise).
    pub followed: u64,
}

impl Counts {
    /// Adds another group's counts.
    pub fn add(&mut self, other: Counts) {
        self.people += other.people;
        self.with_event += other.with_event;
        self.events += other.events;
        self.followed += other.followed;
    }
}

/// Counts of one measurement (a cohort, or all cohorts for the final one).
#[derive(Clone, Copy, Debug, Default)]
pub struct Tally {
    /// The treated participants.
    pub treated: Counts,
    /// The simulated comparison group.
    pub comparison: Counts,
}

/// The outcome of one measurement.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Verdict {
    /// Relative improvement `d` (NaN when a measure is undefined).
    pub relative: f64,
    /// Whether `d` reached the threshold (and any hurdle was met).
    pub met: bool,
    /// Units improved: (comparison - treated) x treated denominator.
    pub units: f64,
}

impl Verdict {
    /// A measurement not (yet) taken.
    pub const NOT_MEASURED: Verdict = Verdict {
        relative: f64::NAN,
        met: false,
        units: 0.0,
    };
}

/// Measures a tally under `rule`, in contract year `year` (for a drifting
/// baseline), against `threshold_ppm`.
pub fn judge(rule: &ImprovementRule, tally: &Tally, year: usize, threshold_ppm: i64) -> Verdict {
    judge_against(rule, rule.comparison, tally, year, threshold_ppm)
}

/// As [`judge`], against `comparison` in place of the rule's own (an
/// interim's baseline).
pub fn judge_against(
    rule: &ImprovementRule,
    comparison: Comparison,
    tally: &Tally,
    year: usize,
    threshold_ppm: i64,
) -> Verdict {
    // The measure as a fraction: numerator and denominator.
    let pick = |c: &Counts| -> (i128, i128) {
        match rule.measure {
            Measure::Binary => (c.with_event as i128, c.people as i128),
            Measure::Frequency => (c.events as i128, c.people as i128),
            Measure::FrequencyPerPersonWithEvent => (c.events as i128, c.with_event as i128),
            Measure::TimeInState => (c.events as i128, c.followed as i128),
        }
    };
    let (t_num, t_den) = pick(&tally.treated);
    // The comparison as a fraction a / b.
    let (a, b) = match comparison {
        Comparison::Simulated { .. } => pick(&tally.comparison),
        Comparison::Baseline {
            value,
            drift_per_year,
        } => {
            let v = value * math::powi(1.0 + drift_per_year, year as i64);
            ((v * 1e9).round() as i128, 1_000_000_000)
        }
    };
    if t_den == 0 || b == 0 || a <= 0 {
        return Verdict::NOT_MEASURED;
    }
    // Lower is better: d = (a/b - t/e) / (a/b) = (a e - t b) / (a e);
    // higher is better: the sign turns.
    let sign = if rule.higher_is_better { -1 } else { 1 };
    let gain = sign * (a * t_den - t_num * b);
    let base = a * t_den;
    let met = gain * 1_000_000 >= threshold_ppm as i128 * base;
    let relative = gain as f64 / base as f64;
    let units = sign as f64 * (a as f64 / b as f64 - t_num as f64 / t_den as f64) * t_den as f64;
    Verdict {
        relative,
        met,
        units,
    }
}

/// The payment for `units` at `price`, in pence (never negative).
pub fn payment(units: f64, price: Pence) -> Pence {
    (units * price as f64).round().max(0.0) as Pence
}

/// The final measurement's payment: what all cohorts together earn, less
/// what the cohort measurements already paid (never negative).
pub fn final_payment(units: f64, price: Pence, already_paid: Pence) -> Pence {
    (payment(units, price) - already_paid).max(0)
}
