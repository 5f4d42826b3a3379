//! The race: which candidates are dropped after each stage, and why.
//!
//! Every candidate still racing has run the same iterations (common
//! random numbers), kept as sums per block of 64 iterations. A decision is
//! taken only when it holds with the stated confidence:
//!
//! - a chance constraint is **met** when the one-sided Clopper-Pearson
//!   upper bound of P(event) is at most its level, **violated** when the
//!   lower bound is above it, and otherwise undecided; a decision, once
//!   taken, stands;
//! - a candidate is **dominated** when a candidate whose constraints are
//!   all met is better, by the one-sided Student-t bound on the paired
//!   difference of their objectives (batch means of the blocks, a ratio
//!   linearised);
//! - every bound is at level `alpha` = (1 - confidence) / (S (C K + C - 1))
//!   for S stages, C candidates and K constraints (Bonferroni): with
//!   probability at least the confidence, no constraint decision is wrong
//!   and the best feasible candidate is not dropped.
//!
//! Candidates still racing after the last stage (or when the race cannot
//! separate anything more) are **feasible** when every constraint is met
//! and **too close to call** otherwise.

use crate::math;

/// Where each quantity sits in a candidate's vector of sums.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Number of constraints.
    pub constraints: usize,
}

impl Layout {
    /// Numerator and denominator of the objective (the denominator counts
    /// iterations for a mean).
    pub const OBJECTIVE: (usize, usize) = (0, 1);

    /// Count of iterations with constraint `k`'s event.
    pub fn constraint(&self, k: usize) -> usize {
        2 + k
    }

    /// Numerator and denominator of the public value.
    pub fn value(&self) -> (usize, usize) {
        (2 + self.constraints, 3 + self.constraints)
    }

    /// Count of iterations with the provider-risk event.
    pub fn risk(&self) -> usize {
        4 + self.constraints
    }

    /// Sums per block.
    pub fn width(&self) -> usize {
        5 + self.constraints
    }
}

/// A constraint's decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// P(event) <= level with the stated confidence.
    Met,
    /// P(event) > level with the stated confidence.
    Violated,
    /// Not decided.
    Undecided,
}

impl Verdict {
    /// The word in outputs.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Met => "met",
            Verdict::Violated => "violated",
            Verdict::Undecided => "too close to call",
        }
    }
}

/// Where a candidate stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Still in the race.
    Racing,
    /// A constraint is violated.
    Infeasible,
    /// A feasible candidate is better.
    Dominated,
    /// Every constraint met, not beaten.
    Feasible,
    /// A constraint could not be decided.
    TooCloseToCall,
}

impl Status {
    /// The word in outputs.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Racing => "racing",
            Status::Infeasible => "infeasible",
            Status::Dominated => "dominated",
            Status::Feasible => "feasible",
            Status::TooCloseToCall => "too close to call",
        }
    }
}

/// A candidate's place in the race.
#[derive(Clone, Debug, PartialEq)]
pub struct Standing {
    /// Its status.
    pub status: Status,
    /// Stages run (1-based count).
    pub stages: usize,
    /// Per constraint.
    pub verdicts: Vec<Verdict>,
    /// The candidate that dominated it.
    pub dominated_by: Option<usize>,
}

impl Standing {
    /// At the start.
    pub fn new(constraints: usize) -> Standing {
        Standing {
            status: Status::Racing,
            stages: 0,
            verdicts: vec![Verdict::Undecided; constraints],
            dominated_by: None,
        }
    }
}

/// The per-test error of a race: `(1 - confidence) / (S (C K + C - 1))`.
pub fn test_level(confidence: f64, stages: usize, candidates: usize, constraints: usize) -> f64 {
    let tests = stages * (candidates * constraints + candidates.saturating_sub(1));
    (1.0 - confidence) / tests.max(1) as f64
}

/// The block sums of one candidate (`blocks * width`, block-major).
#[derive(Clone, Copy, Debug)]
pub struct Evidence<'a> {
    /// The sums.
    pub sums: &'a [f64],
    /// Sums per block.
    pub width: usize,
    /// Iterations per block.
    pub per_block: u64,
}

impl Evidence<'_> {
    /// Blocks.
    pub fn blocks(&self) -> usize {
        self.sums.len() / self.width
    }

    /// Iterations.
    pub fn iterations(&self) -> u64 {
        self.blocks() as u64 * self.per_block
    }

    /// Total of sum `k` over the blocks, in block order.
    pub fn total(&self, k: usize) -> f64 {
        self.sums.chunks(self.width).map(|b| b[k]).sum()
    }

    /// Iterations with the event counted at `k`.
    pub fn count(&self, k: usize) -> u64 {
        self.total(k).round() as u64
    }

    /// The ratio `sum(num) / sum(den)` and its per-block linearised
    /// residuals `(num_b - R den_b) / mean(den_b)`, whose mean is zero and
    /// whose batch-means variance is the ratio's.
    pub fn ratio(&self, (num, den): (usize, usize)) -> (f64, Vec<f64>) {
        let (n, d) = (self.total(num), self.total(den));
        let r = n / d;
        let mean_den = d / self.blocks() as f64;
        let residuals = self
            .sums
            .chunks(self.width)
            .map(|b| (b[num] - r * b[den]) / mean_den)
            .collect();
        (r, residuals)
    }
}

/// The standard error of a mean of batch residuals (zero mean), with
/// `blocks - 1` degrees of freedom.
pub fn standard_error(residuals: &[f64]) -> f64 {
    let b = residuals.len() as f64;
    let m = residuals.iter().sum::<f64>() / b;
    let ss: f64 = residuals.iter().map(|x| math::powi(x - m, 2)).sum();
    (ss / (b - 1.0) / b).sqrt()
}

/// Standard error of a paired difference of two ratios on the same blocks.
pub fn paired_error(a: &[f64], b: &[f64]) -> f64 {
    let d: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
    standard_error(&d)
}

/// The one-sided Student-t quantile: P(T > t) = alpha on `df`.
pub fn t_quantile(df: usize, alpha: f64) -> f64 {
    math::StudentT::standard(df.max(1) as f64).quantile(1.0 - alpha)
}

/// Clopper-Pearson bounds on a probability from `k` events in `n`
/// iterations, each end one-sided at level `alpha`.
pub fn clopper_pearson(k: u64, n: u64, alpha: f64) -> (f64, f64) {
    let (kf, nf) = (k as f64, n as f64);
    // P(X >= k | p) increases with p: the lower bound solves it = alpha.
    let upper_tail = |p: f64| math::beta_reg(kf, nf - kf + 1.0, p);
    // P(X <= k | p) decreases with p: the upper bound solves it = alpha.
    let lower_tail = |p: f64| 1.0 - math::beta_reg(kf + 1.0, nf - kf, p);
    let solve = |f: &dyn Fn(f64) -> f64, increasing: bool| {
        let (mut lo, mut hi) = (0.0f64, 1.0f64);
        for _ in 0..200 {
            let mid = 0.5 * (lo + hi);
            if (f(mid) < alpha) == increasing {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        0.5 * (lo + hi)
    };
    let low = if k == 0 {
        0.0
    } else {
        solve(&upper_tail, true)
    };
    let high = if k >= n {
        1.0
    } else {
        solve(&lower_tail, false)
    };
    (low, high)
}

/// A constraint's decision from `k` events in `n` iterations.
pub fn verdict(k: u64, n: u64, level: f64, alpha: f64) -> Verdict {
    let (lo, hi) = clopper_pearson(k, n, alpha);
    if lo > level {
        Verdict::Violated
    } else if hi <= level {
        Verdict::Met
    } else {
        Verdict::Undecided
    }
}

/// What a race needs to know besides the evidence.
#[derive(Clone, Debug)]
pub struct Rules {
    /// Per-test level (see [`test_level`]).
    pub alpha: f64,
    /// Larger objective is better.
    pub maximise: bool,
    /// Each constraint's level.
    pub levels: Vec<f64>,
    /// This is the last stage.
    pub last: bool,
}

/// Takes the decisions of one stage: every racing candidate has
/// `evidence[c]` over the same iterations. Returns whether another stage
/// could decide more (more than one candidate racing, or a constraint
/// undecided); when it could not, or on the last stage, every candidate
/// still racing gets its final status.
pub fn step(standings: &mut [Standing], evidence: &[Option<Evidence>], rules: &Rules) -> bool {
    let layout = Layout {
        constraints: rules.levels.len(),
    };
    let racing: Vec<usize> = (0..standings.len())
        .filter(|&c| standings[c].status == Status::Racing)
        .collect();
    for &c in &racing {
        let e = evidence[c].expect("a racing candidate has evidence");
        let s = &mut standings[c];
        s.stages += 1;
        for (k, level) in rules.levels.iter().enumerate() {
            if s.verdicts[k] == Verdict::Undecided {
                s.verdicts[k] = verdict(
                    e.count(layout.constraint(k)),
                    e.iterations(),
                    *level,
                    rules.alpha,
                );
            }
        }
        if s.verdicts.contains(&Verdict::Violated) {
            s.status = Status::Infeasible;
        }
    }
    let racing: Vec<usize> = racing
        .into_iter()
        .filter(|&c| standings[c].status == Status::Racing)
        .collect();
    let sign = if rules.maximise { -1.0 } else { 1.0 };
    let objective: Vec<(f64, Vec<f64>)> = racing
        .iter()
        .map(|&c| {
            let (r, res) = evidence[c]
                .expect("a racing candidate has evidence")
                .ratio(Layout::OBJECTIVE);
            (sign * r, res)
        })
        .collect();
    let feasible: Vec<usize> = (0..racing.len())
        .filter(|&i| {
            standings[racing[i]]
                .verdicts
                .iter()
                .all(|v| *v == Verdict::Met)
        })
        .collect();
    let mut beaten = Vec::new();
    for i in 0..racing.len() {
        // The best-estimated feasible candidate that beats it.
        let by = feasible
            .iter()
            .filter(|&&j| j != i)
            .filter(|&&j| {
                let blocks = objective[i].1.len();
                let t = t_quantile(blocks - 1, rules.alpha);
                let se = paired_error(&objective[j].1, &objective[i].1);
                objective[j].0 - objective[i].0 + t * se < 0.0
            })
            .min_by(|&&a, &&b| objective[a].0.total_cmp(&objective[b].0).then(a.cmp(&b)));
        if let Some(&j) = by {
            beaten.push((racing[i], racing[j]));
        }
    }
    for (c, by) in beaten {
        standings[c].status = Status::Dominated;
        standings[c].dominated_by = Some(by);
    }
    let left: Vec<usize> = racing
        .into_iter()
        .filter(|&c| standings[c].status == Status::Racing)
        .collect();
    let more = left.len() > 1
        || left
            .iter()
            .any(|&c| standings[c].verdicts.contains(&Verdict::Undecided));
    if !more || rules.last {
        for c in left {
            let s = &mut standings[c];
            s.status = if s.verdicts.iter().all(|v| *v == Verdict::Met) {
                Status::Feasible
            } else {
                Status::TooCloseToCall
            };
        }
        return false;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Evidence of `blocks` blocks of 64 iterations: objective block means
    /// from `objective`, the events of one constraint per block from
    /// `events`.
    fn sums(objective: &[f64], events: &[f64]) -> Vec<f64> {
        let layout = Layout { constraints: 1 };
        let mut s = Vec::new();
        for (o, e) in objective.iter().zip(events) {
            let mut b = vec![0.0; layout.width()];
            b[0] = o * 64.0;
            b[1] = 64.0;
            b[layout.constraint(0)] = *e;
            b[layout.value().1] = 64.0;
            s.extend(b);
        }
        s
    }

    #[test]
    fn clopper_pearson_matches_its_closed_forms() {
        // With no event the upper bound is 1 - alpha^(1/n); with all
        // events the lower bound is alpha^(1/n).
        let (lo, hi) = clopper_pearson(0, 100, 0.025);
        assert_eq!(lo, 0.0);
        assert!((hi - (1.0 - math::pow(0.025, 0.01))).abs() < 1e-12, "{hi}");
        let (lo, hi) = clopper_pearson(100, 100, 0.025);
        assert!((lo - math::pow(0.025, 0.01)).abs() < 1e-12, "{lo}");
        assert_eq!(hi, 1.0);
        // One event in ten: the upper bound solves (1-p)^10 + 10p(1-p)^9 = alpha.
        let (_, hi) = clopper_pearson(1, 10, 0.05);
        let tail = math::powi(1.0 - hi, 10) + 10.0 * hi * math::powi(1.0 - hi, 9);
        assert!((tail - 0.05).abs() < 1e-10, "{tail}");
    }

    #[test]
    fn verdicts_follow_the_bounds() {
        // 0 events in 1024: upper bound 1 - 0.001^(1/1024) = 0.0067.
        assert_eq!(verdict(0, 1024, 0.01, 0.001), Verdict::Met);
        assert_eq!(verdict(0, 1024, 0.005, 0.001), Verdict::Undecided);
        // 200 events in 1024 (19.5%): lower bound well above 10%.
        assert_eq!(verdict(200, 1024, 0.10, 0.001), Verdict::Violated);
        assert_eq!(verdict(102, 1024, 0.10, 0.001), Verdict::Undecided);
    }

    #[test]
    fn the_level_of_each_test_is_bonferroni_over_stages_candidates_and_constraints() {
        // 3 stages, 10 candidates, 2 constraints: 3 x (20 + 9) = 87 tests.
        assert!((test_level(0.95, 3, 10, 2) - 0.05 / 87.0).abs() < 1e-15);
        assert_eq!(test_level(0.9, 1, 1, 0), 1.0 - 0.9);
    }

    #[test]
    fn ratio_residuals_give_the_batch_means_error_of_a_mean() {
        let s = sums(&[1.0, 3.0, 2.0, 6.0], &[0.0; 4]);
        let e = Evidence {
            sums: &s,
            width: 6,
            per_block: 64,
        };
        let (r, res) = e.ratio(Layout::OBJECTIVE);
        assert_eq!(r, 3.0);
        assert_eq!(res, vec![-2.0, 0.0, -1.0, 3.0]);
        // sd of batch means (1, 3, 2, 6) is sqrt(14/3); over sqrt(4).
        assert!((standard_error(&res) - (14.0f64 / 3.0 / 4.0).sqrt()).abs() < 1e-12);
    }

    fn ev(s: &[f64]) -> Option<Evidence<'_>> {
        Some(Evidence {
            sums: s,
            width: 6,
            per_block: 64,
        })
    }

    /// The race's decisions on constructed evidence, exactly.
    #[test]
    fn a_stage_drops_the_infeasible_and_the_dominated_and_keeps_the_undecided() {
        // Four blocks each (256 iterations). Minimise.
        // 0: objective 10 +- small, no events: feasible.
        // 1: objective 20 (worse than 0 in every block by 10): dominated by 0.
        // 2: objective 5 (better than 0) but 128 events in 256: infeasible.
        // 3: objective 10.01 +- noise crossing 0's, 25 events in 256
        //    (9.8%, level 10%): undecided, and not separable from 0.
        let c0 = sums(&[10.0, 10.1, 9.9, 10.0], &[0.0; 4]);
        let c1 = sums(&[20.0, 20.1, 19.9, 20.0], &[0.0; 4]);
        let c2 = sums(&[5.0; 4], &[32.0; 4]);
        let c3 = sums(&[10.5, 9.6, 10.4, 9.54], &[6.0, 6.0, 6.0, 7.0]);
        let evidence = [ev(&c0), ev(&c1), ev(&c2), ev(&c3)];
        let mut st = vec![Standing::new(1); 4];
        let rules = Rules {
            alpha: 0.01,
            maximise: false,
            levels: vec![0.10],
            last: false,
        };
        let more = step(&mut st, &evidence, &rules);
        assert!(more);
        assert_eq!(st[0].status, Status::Racing);
        assert_eq!(st[0].verdicts, vec![Verdict::Met]);
        assert_eq!(st[1].status, Status::Dominated);
        assert_eq!(st[1].dominated_by, Some(0));
        assert_eq!(st[2].status, Status::Infeasible);
        assert_eq!(st[2].verdicts, vec![Verdict::Violated]);
        assert_eq!(st[3].status, Status::Racing);
        assert_eq!(st[3].verdicts, vec![Verdict::Undecided]);
        // On the last stage the survivors get their final status.
        let last = Rules {
            last: true,
            ..rules
        };
        assert!(!step(&mut st, &evidence, &last));
        assert_eq!(st[0].status, Status::Feasible);
        assert_eq!(st[3].status, Status::TooCloseToCall);
        assert_eq!(st[0].stages, 2);
        assert_eq!(st[1].stages, 1);
    }

    #[test]
    fn only_a_feasible_candidate_dominates_and_a_tie_is_not_a_win() {
        // 0 is much better but undecided on its constraint: it drops
        // nobody. 1 and 2 tie exactly (no noise in the difference).
        let c0 = sums(&[1.0, 1.1, 0.9, 1.0], &[6.0, 6.0, 6.0, 7.0]);
        let c1 = sums(&[10.0, 10.1, 9.9, 10.0], &[0.0; 4]);
        let c2 = sums(&[10.0, 10.1, 9.9, 10.0], &[0.0; 4]);
        let evidence = [ev(&c0), ev(&c1), ev(&c2)];
        let mut st = vec![Standing::new(1); 3];
        let rules = Rules {
            alpha: 0.01,
            maximise: false,
            levels: vec![0.10],
            last: false,
        };
        assert!(step(&mut st, &evidence, &rules));
        assert!(st.iter().all(|s| s.status == Status::Racing), "{st:?}");
        // Maximising, the feasible 1 and 2 beat 0; of the two equally
        // good, the first is named.
        let mut st = vec![Standing::new(1); 3];
        let rules = Rules {
            maximise: true,
            ..rules
        };
        assert!(step(&mut st, &evidence, &rules));
        assert_eq!(st[0].status, Status::Dominated);
        assert_eq!(st[0].dominated_by, Some(1));
        assert_eq!(
            (st[1].status, st[2].status),
            (Status::Racing, Status::Racing)
        );
    }
}
