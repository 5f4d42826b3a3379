//! A provider's operating leverage in closed form, for `explain`: its
//! planned delivery costs split into fixed and variable parts, and the
//! volume multiplier at which its expected income meets its expected cost.
//!
//! The expectation is that of one world with every uncertain parameter
//! but the volume at its median (cost multiplier, economy of each year,
//! effects) and expected counts in place of random ones. Income is what
//! the provider would receive before the contract caps, with nobody
//! failing and no investor: attachment, outcome and sustainment payments
//! (the closed form of the counterfactual, with the effect), the service
//! fee and the fee for service with its year-end reconciliation on the
//! expected referrals, less what the prime passes down (a blended
//! payment's fee passed down like the results it replaces); for a
//! subcontractor its fees and pass-through, net of the management fee.
//! Improvement and additional-outcome payments, which turn on thresholds,
//! are left out. Amounts falling due at or after the horizon do not count,
//! as in a run.

use super::plan::Plan;
use crate::math;
use crate::model::{Model, PriceYear};

/// Volume multipliers searched for a break-even: up to this many times
/// the planned volume.
pub const MAX_VOLUME: f64 = 5.0;

/// Where a provider's expected income meets its expected cost.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum BreakEven {
    /// At a volume multiplier.
    At {
        /// The multiplier.
        volume: f64,
        /// Whether the provider gains above it (else it loses above it).
        gains_above: bool,
    },
    /// It gains at every volume up to [`MAX_VOLUME`].
    AlwaysGains,
    /// It loses at every volume up to [`MAX_VOLUME`].
    NeverGains,
}

/// A provider's planned costs and break-even volume.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Leverage {
    /// Delivery costs at planned volume over the horizon that do not vary
    /// with volume (overhead, and the fixed cost share of the planned
    /// caseload's unit costs), in pence before the cost multiplier.
    pub fixed: f64,
    /// The rest of the planned caseload's unit costs, in pence before the
    /// cost multiplier.
    pub variable: f64,
    /// Where its expected income meets its expected cost.
    pub break_even: BreakEven,
}

/// The leverage of `provider` (0 = prime).
pub fn leverage(model: &Model, provider: usize) -> Leverage {
    let plan = Plan::new(model);
    let p = &model.providers[provider];
    let planned = model.planned_unit_costs(provider);
    let planned_total: f64 = planned.iter().sum();
    let overhead = p.overhead_per_month as f64 * p.overhead_months.min(model.horizon) as f64;
    let share = p.fixed_cost_share;
    let income = Income::new(model, &plan, provider);
    let cost = model.cost.at_percentile(0.5);
    let profit = |v: f64| {
        let capacity: f64 = (0..model.horizon)
            .map(|t| match p.capacity_notice_months {
                Some(n) if t >= n && planned[t - n] > 0.0 => planned[t] * v.min(1.0),
                _ => planned[t],
            })
            .sum();
        let spent = cost * (overhead + share * capacity + (1.0 - share) * v * planned_total);
        income.at(model, v) - spent
    };
    Leverage {
        fixed: overhead + share * planned_total,
        variable: (1.0 - share) * planned_total,
        break_even: solve(profit),
    }
}

/// The lowest volume multiplier in `[0, MAX_VOLUME]` at which `profit`
/// changes sign, to within 1e-9.
fn solve(profit: impl Fn(f64) -> f64) -> BreakEven {
    const STEPS: usize = 5000;
    let at = |i: usize| MAX_VOLUME * i as f64 / STEPS as f64;
    let first = profit(0.0);
    let mut before = first;
    for i in 1..=STEPS {
        let now = profit(at(i));
        if (before < 0.0) != (now < 0.0) {
            let (mut lo, mut hi) = (at(i - 1), at(i));
            let below = before < 0.0;
            while hi - lo > 1e-9 {
                let mid = 0.5 * (lo + hi);
                if (profit(mid) < 0.0) == below {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            return BreakEven::At {
                volume: 0.5 * (lo + hi),
                gains_above: below,
            };
        }
        before = now;
    }
    if first < 0.0 {
        BreakEven::NeverGains
    } else {
        BreakEven::AlwaysGains
    }
}

/// A provider's expected income: `fixed + per_volume * v`, plus the fee
/// for service's reconciliation for the prime.
struct Income {
    fixed: f64,
    per_volume: f64,
    fee_for_service: bool,
}

impl Income {
    fn new(model: &Model, plan: &Plan, provider: usize) -> Income {
        let h = model.horizon;
        let pay = &model.payments;
        let mut per_volume = 0.0;
        for (s, seg) in model.segments.iter().enumerate() {
            let effect = seg
                .effect
                .as_ref()
                .unwrap_or(&model.shared_effect)
                .at_percentile(0.5);
            for m in 0..model.referral_months {
                let results = expected_results(model, plan, s, m, effect);
                let year = (m / 12).min(model.years() - 1);
                let (attachment, fee) = if m + pay.lags.attachment < h {
                    let attachment = plan.attachment[s][year];
                    let fee = pay.blended.as_ref().map_or(0, |b| b.fee[s][year]);
                    (attachment as f64, fee.min(attachment) as f64)
                } else {
                    (0.0, 0.0)
                };
                for (j, &share) in seg.allocation.iter().enumerate() {
                    if share <= 0.0 {
                        continue;
                    }
                    let n = seg.referrals[m] * share;
                    let passed = model.providers[j].terms.as_ref().map_or(0.0, |t| {
                        (t.fee_per_referral as f64 + t.pass_through * (results + fee))
                            * (1.0 - t.management_fee)
                    });
                    if provider == 0 {
                        per_volume += n * (attachment + results - passed);
                    } else if provider == j {
                        per_volume += n * passed;
                    }
                }
            }
        }
        let monthly = |d: usize| {
            model.providers[d].terms.as_ref().map_or(0.0, |t| {
                t.monthly_fee as f64
                    * (1.0 - t.management_fee)
                    * model.delivery_months.min(h) as f64
            })
        };
        let fixed = if provider == 0 {
            let service: f64 = (0..pay.service_fee_months.min(h))
                .filter(|t| t + pay.lags.service_fee < h)
                .map(|t| pay.service_fee[t / 12] as f64)
                .sum();
            let instalments: f64 = pay.fee_for_service.as_ref().map_or(0.0, |f| {
                (0..model.referral_months)
                    .filter(|t| t + f.lag < h)
                    .map(|t| (f.annual_fee[t / 12] as f64 / 12.0).round())
                    .sum()
            });
            let subcontractors: f64 = (1..model.providers.len()).map(monthly).sum();
            service + instalments - subcontractors
        } else {
            monthly(provider)
        };
        Income {
            fixed,
            per_volume,
            fee_for_service: provider == 0,
        }
    }

    /// At volume multiplier `v`.
    fn at(&self, model: &Model, v: f64) -> f64 {
        let mut income = self.fixed + self.per_volume * v;
        if let (true, Some(f)) = (self.fee_for_service, &model.payments.fee_for_service) {
            let r = model.referral_months;
            for first in (0..r).step_by(12) {
                let last = (first + 11).min(r - 1);
                if last + f.lag >= model.horizon {
                    continue;
                }
                let referred: f64 = model
                    .segments
                    .iter()
                    .map(|s| s.referrals[first..=last].iter().sum::<f64>())
                    .sum();
                let baseline = f.baseline_referrals_per_year * (last + 1 - first) as f64 / 12.0;
                let (low, high) = (baseline * (1.0 - f.band), baseline * (1.0 + f.band));
                let a = v * referred;
                let outside = if a > high {
                    a - high
                } else if a < low {
                    a - low
                } else {
                    0.0
                };
                income += outside * f.reconciliation_price as f64;
            }
        }
        income
    }
}

/// The outcome and sustainment payments one participant of segment `s`
/// referred in month `m` is expected to earn, falling due before the
/// horizon, with the segment's effect and the economy at its median.
fn expected_results(model: &Model, plan: &Plan, s: usize, m: usize, effect: f64) -> f64 {
    let seg = &model.segments[s];
    let by_event = model.payments.price_year == PriceYear::Event;
    let prices = &plan.pools[s][plan.pool_of(s, m)];
    expected_payments(model, s, m, effect, |k, t| {
        let price = match (k, by_event) {
            (0, true) => seg.tariff.outcome.get(t / 12).copied().unwrap_or(0),
            (0, false) => prices.outcome,
            (_, true) => seg.tariff.sustainment.get(t / 12).copied().unwrap_or(0),
            (k, false) => prices.sustainment[k - 1],
        };
        price as f64
    })
}

/// What one participant of sustained-outcome segment `s` referred in month
/// `m` is expected to earn at `price(k, t)` for its `k`-th paid month in
/// outcome (0: the outcome event, `k` >= 1: the `k`-th sustainment month)
/// in month `t`, counting only what falls due before the horizon, with the
/// segment's `effect` and the economy of each year at its median. Zero for
/// other segments.
pub fn expected_payments(
    model: &Model,
    s: usize,
    m: usize,
    effect: f64,
    price: impl Fn(usize, usize) -> f64,
) -> f64 {
    let seg = &model.segments[s];
    let Some(process) = seg.sustained() else {
        return 0.0;
    };
    let h = model.horizon;
    let lags = model.payments.lags;
    let last_year = model.years() - 1;
    let economy = |t: usize| {
        model.macro_params[model.macro_of_year[(t / 12).min(last_year)]].at_percentile(0.5)
    };
    let stay = 1.0 - process.dropout;
    let q = process.qualifying_months;
    let mut waiting = 1.0;
    let mut total = 0.0;
    for e in m..m + process.window {
        let p = 1.0 - math::exp(-process.baseline_hazard * economy(e) * (1.0 + effect).max(0.0));
        let entrants = waiting * p;
        waiting -= entrants;
        for k in 0..=process.max_sustainment_months {
            let age = q + k;
            let t = e + age - 1;
            let lag = if k == 0 {
                lags.outcome
            } else {
                lags.sustainment
            };
            if t + lag < h {
                total += entrants * math::powi(stay, age as i64 - 1) * price(k, t);
            }
        }
    }
    total
}
