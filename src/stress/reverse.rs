//! Reverse stress tests: how large a shock, along the directions a user
//! names, makes a party fail with probability at least `p`; and which
//! worlds fail, as rules a person can read.
//!
//! A direction is a shock at full size (`uncertainty.volume*0.5`: volume
//! halved; `uncertainty.effect+-0.2`: effect 20 points lower). Size `s` in
//! [0, 1] scales it: a multiplier `1 + s (f - 1)`, a shift `s d`. Each
//! direction is searched alone, then all together, by bisection on `s`
//! with common random numbers ([`super::solve`]).
//!
//! The failing worlds are described by the uncertain parameters' draws:
//! every world's draw falls in a decile of the parameter's marginal, and
//! failures are counted per decile and per pair of deciles (memory fixed
//! whatever the iterations). Rules are the one- and two-parameter cuts at
//! decile boundaries that best separate failing worlds from the rest
//! (largest information gain).

use super::arms::{Arm, Estimate, run_arms};
use super::file::{Amount, Op, Shock};
use super::solve::{Problem, Solution, solve};
use super::statistic::Statistic;
use super::worlds::Worlds;
use crate::engine::RunConfig;
use crate::figures::Catalog;
use crate::math;
use crate::model::Model;
use crate::scenario::{self, Draft, Override, Source};

/// A direction of shock, at full size.
#[derive(Clone, Debug, PartialEq)]
pub struct Direction {
    /// Scenario path.
    pub path: String,
    /// The full shock: `Multiply(f)` or `Shift(d)`.
    pub full: Op,
}

impl std::str::FromStr for Direction {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "`{s}` is not PATH*FACTOR or PATH+SHIFT, e.g. uncertainty.volume*0.5 or uncertainty.effect+-0.2"
            )
        };
        let (path, op) = if let Some((p, f)) = s.split_once('*') {
            (
                p,
                Op::Multiply(Amount::One(f.trim().parse().map_err(|_| bad())?)),
            )
        } else if let Some((p, d)) = s.split_once('+') {
            (
                p,
                Op::Shift(Amount::One(d.trim().parse().map_err(|_| bad())?)),
            )
        } else {
            return Err(bad());
        };
        if path.trim().is_empty() {
            return Err(bad());
        }
        Ok(Direction {
            path: path.trim().to_string(),
            full: op,
        })
    }
}

impl Direction {
    /// The shock of size `s`.
    pub fn at(&self, s: f64) -> Shock {
        let op = match &self.full {
            Op::Multiply(Amount::One(f)) => Op::Multiply(Amount::One(1.0 + s * (f - 1.0))),
            Op::Shift(Amount::One(d)) => Op::Shift(Amount::One(s * d)),
            other => other.clone(),
        };
        Shock {
            path: self.path.clone(),
            op,
            at: 0,
        }
    }

    /// `path*f` or `path+d` at size `s`, for reading.
    pub fn describe(&self, s: f64) -> String {
        match self.at(s).op {
            Op::Multiply(Amount::One(f)) => format!("{} x {}", self.path, round(f)),
            Op::Shift(Amount::One(d)) => format!("{} {:+}", self.path, round(d)),
            _ => self.path.clone(),
        }
    }
}

fn round(x: f64) -> f64 {
    (x * 1e4).round() / 1e4
}

/// One condition of a rule: a parameter below or above a decile boundary.
#[derive(Clone, Debug, PartialEq)]
pub struct Condition {
    /// Parameter path.
    pub input: String,
    /// `true` for "at most", `false` for "above".
    pub at_most: bool,
    /// The boundary's value.
    pub value: f64,
    /// Its percentile (0.1 to 0.9).
    pub percentile: f64,
}

/// A rule describing failing worlds.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    /// All must hold.
    pub conditions: Vec<Condition>,
    /// Share of worlds the rule covers.
    pub worlds: f64,
    /// Failure rate among them.
    pub failure_rate: f64,
    /// Share of all failures they hold.
    pub failures_covered: f64,
}

/// The result along one direction (or all together).
#[derive(Clone, Debug)]
pub struct Reverse {
    /// The directions shocked together.
    pub directions: Vec<Direction>,
    /// The smallest size reaching the probability, or why there is none.
    pub solution: Solution,
    /// P(failure) with no shock.
    pub baseline: Estimate,
    /// The size the rules describe: the solution, or the full shock when
    /// the probability is not reached.
    pub described_at: f64,
    /// P(failure) at that size.
    pub failure: Estimate,
    /// Rules, the most informative first.
    pub rules: Vec<Rule>,
}

/// The scenario with `directions` shocked to size `s`; a shock moves the
/// world, not the contract `signed` (a blended payment keeps its fee).
pub fn shocked(
    src: &Source,
    baseline: &[Override],
    directions: &[Direction],
    s: f64,
    signed: Option<&Model>,
) -> Result<Model, crate::Error> {
    let mut draft = Draft::new(src, baseline)?;
    let mut overrides = baseline.to_vec();
    for d in directions {
        let shock = d.at(s);
        let more = draft.shock(&shock.path, &shock.op).map_err(|p| {
            crate::Error::Setting(format!(
                "--direction {}: {}{}",
                d.path,
                p.message,
                p.help.map_or(String::new(), |h| format!("\n  help: {h}"))
            ))
        })?;
        overrides.extend(more);
    }
    scenario::load_str(&src.text, &src.origin, &overrides)
        .map(|l| {
            let mut model = l.model;
            if let Some(signed) = signed {
                crate::engine::blend::hold_fee(&mut model, signed);
            }
            model
        })
        .map_err(|e| {
            let sizes: Vec<String> = directions.iter().map(|d| d.describe(s)).collect();
            crate::Error::Setting(format!(
                "the shock {} makes the scenario invalid:\n{e}",
                sizes.join(", ")
            ))
        })
}

/// Runs the reverse stress test for `party` failing with probability at
/// least `p`: each direction alone, then all together when there are
/// several.
pub fn reverse_stress(
    src: &Source,
    baseline: &[Override],
    party: &str,
    p: f64,
    directions: &[Direction],
    config: &RunConfig,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Vec<Reverse>, crate::Error> {
    let base = shocked(src, baseline, &[], 0.0, None)?;
    let key = format!("{party}.failed");
    let catalog = Catalog::new(&base);
    if !catalog.figures.iter().any(|f| f.key() == key) {
        let providers: Vec<&str> = base.providers.iter().map(|p| p.id.as_str()).collect();
        return Err(crate::Error::Setting(format!(
            "--party {party}: not a provider of {} (providers: {}){}",
            src.origin,
            providers.join(", "),
            crate::error::suggest(party, &providers).map_or(String::new(), |s| format!("; {s}"))
        )));
    }
    // Every shocked scenario must be valid over the whole range (a value
    // that must be whole, say, cannot take a fractional size): checked at
    // several sizes, alone and together, before anything runs.
    for size in [0.25, 0.5, 0.75, 1.0] {
        for d in directions {
            shocked(src, baseline, std::slice::from_ref(d), size, Some(&base))?;
        }
        shocked(src, baseline, directions, size, Some(&base))?;
    }
    let statistic = Statistic::Mean(key);
    let mut sets: Vec<Vec<Direction>> = directions.iter().map(|d| vec![d.clone()]).collect();
    if directions.len() > 1 {
        sets.push(directions.to_vec());
    }
    let mut out = Vec::new();
    for set in sets {
        let build = |s: f64| shocked(src, baseline, &set, s, Some(&base));
        let problem = Problem {
            build: &build,
            statistic: &statistic,
            target: p,
            range: (0.0, 1.0),
            integer: false,
        };
        let baseline_p = problem.evaluate(0.0, config, progress)?;
        // Failing often enough already: no shock is needed (a direction
        // that lowers failure would otherwise cross p from above).
        let solution = if baseline_p.value >= p {
            Solution::Unreachable {
                at_low: baseline_p,
                at_high: problem.evaluate(1.0, config, progress)?,
            }
        } else {
            solve(&problem, &[(0.0, baseline_p)], config, progress)?
        };
        let described_at = match &solution {
            Solution::Found { value, .. } => *value,
            Solution::Unreachable { at_low, .. } if at_low.value >= p => 0.0,
            Solution::Unreachable { .. } => 1.0,
        };
        let model = build(described_at)?;
        let (failure, rules) = failure_rules(&model, party, config, progress)?;
        out.push(Reverse {
            directions: set,
            solution,
            baseline: baseline_p,
            described_at,
            failure,
            rules,
        });
    }
    Ok(out)
}

const DECILES: usize = 10;
/// Fewest failing (and surviving) worlds for rules to be drawn.
pub const MIN_FAILURES: f64 = 20.0;

/// The uncertain parameters of `model` with their draw figure and decile
/// boundaries.
fn described_inputs(model: &Model, catalog: &Catalog) -> Vec<(String, usize, [f64; DECILES - 1])> {
    let mut out = Vec::new();
    for slot in model.slots() {
        let Some(param) = slot.param.filter(|p| p.is_uncertain()) else {
            continue;
        };
        let figure = catalog.draw_of(model, slot.kind);
        let Some(figure) = figure else { continue };
        let mut edges = [0.0; DECILES - 1];
        for (d, e) in edges.iter_mut().enumerate() {
            *e = param.at_percentile((d + 1) as f64 / DECILES as f64);
        }
        edges.sort_by(f64::total_cmp);
        out.push((slot.path.clone(), figure, edges));
    }
    out
}

/// P(failure) of `party` in `model` and the rules that best describe its
/// failing worlds.
pub fn failure_rules(
    model: &Model,
    party: &str,
    config: &RunConfig,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<(Estimate, Vec<Rule>), crate::Error> {
    let catalog = Catalog::new(model);
    let failed = catalog
        .figures
        .iter()
        .position(|f| f.key() == format!("{party}.failed"))
        .ok_or_else(|| crate::Error::Setting(format!("`{party}` is not a provider")))?;
    let ins = described_inputs(model, &catalog);
    let k = ins.len();
    let pairs: Vec<(usize, usize)> = (0..k)
        .flat_map(|a| (a + 1..k).map(move |b| (a, b)))
        .collect();
    // Sums: [worlds, failures], then per input and decile [count, failures],
    // then per pair and decile pair [count, failures].
    let one = |j: usize, d: usize| 2 + 2 * (j * DECILES + d);
    let two = |q: usize, d: usize, e: usize| {
        2 + 2 * k * DECILES + 2 * (q * DECILES * DECILES + d * DECILES + e)
    };
    let width = 2 + 2 * k * DECILES + 2 * pairs.len() * DECILES * DECILES;
    let decile = |row: &[f64], j: usize| ins[j].2.iter().filter(|&&e| e < row[ins[j].1]).count();
    let observe = |rows: &[Vec<f64>], s: &mut [f64]| {
        let row = &rows[0];
        let f = row[failed];
        s[0] += 1.0;
        s[1] += f;
        for j in 0..k {
            let at = one(j, decile(row, j));
            s[at] += 1.0;
            s[at + 1] += f;
        }
        for (q, &(a, b)) in pairs.iter().enumerate() {
            let at = two(q, decile(row, a), decile(row, b));
            s[at] += 1.0;
            s[at + 1] += f;
        }
    };
    let arms = [Arm {
        model,
        worlds: Worlds::default(),
    }];
    let sums = run_arms(&arms, config, width, observe, progress)?;
    let failure = sums.estimate(|t, n| t[1] / n);
    let (t, _) = sums.total();
    let (n, fails) = (t[0], t[1]);
    // Too few failing (or surviving) worlds to tell them apart.
    if fails < MIN_FAILURES || n - fails < MIN_FAILURES {
        return Ok((failure, Vec::new()));
    }
    let entropy = |w: f64, f: f64| {
        if w <= 0.0 {
            return 0.0;
        }
        let p = f / w;
        let h = |x: f64| if x <= 0.0 { 0.0 } else { -x * math::ln(x) };
        w * (h(p) + h(1.0 - p))
    };
    let gain = |w: f64, f: f64| entropy(n, fails) - entropy(w, f) - entropy(n - w, fails - f);
    let rule = |conditions: Vec<Condition>, w: f64, f: f64| Rule {
        conditions,
        worlds: w / n,
        failure_rate: if w > 0.0 { f / w } else { f64::NAN },
        failures_covered: f / fails,
    };
    let condition = |j: usize, at_most: bool, cut: usize| Condition {
        input: ins[j].0.clone(),
        at_most,
        value: ins[j].2[cut - 1],
        percentile: cut as f64 / DECILES as f64,
    };
    let inside = |at_most: bool, cut: usize, d: usize| if at_most { d < cut } else { d >= cut };
    let mut candidates: Vec<(f64, Rule)> = Vec::new();
    for j in 0..k {
        for cut in 1..DECILES {
            for at_most in [true, false] {
                let (mut w, mut f) = (0.0, 0.0);
                for d in (0..DECILES).filter(|&d| inside(at_most, cut, d)) {
                    w += t[one(j, d)];
                    f += t[one(j, d) + 1];
                }
                // Only rules where failure is more common than overall.
                if w > 0.0 && f / w > fails / n {
                    candidates.push((gain(w, f), rule(vec![condition(j, at_most, cut)], w, f)));
                }
            }
        }
    }
    // In a two-parameter rule, a condition that holds in 80% of worlds or
    // more says little; leave such rules to the one-parameter ones.
    let telling = |at_most: bool, cut: usize| if at_most { cut < 8 } else { cut > 2 };
    for (q, &(a, b)) in pairs.iter().enumerate() {
        for ca in 1..DECILES {
            for cb in 1..DECILES {
                for (ma, mb) in [(true, true), (true, false), (false, true), (false, false)] {
                    if !telling(ma, ca) || !telling(mb, cb) {
                        continue;
                    }
                    let (mut w, mut f) = (0.0, 0.0);
                    for d in (0..DECILES).filter(|&d| inside(ma, ca, d)) {
                        for e in (0..DECILES).filter(|&e| inside(mb, cb, e)) {
                            w += t[two(q, d, e)];
                            f += t[two(q, d, e) + 1];
                        }
                    }
                    if w > 0.0 && f / w > fails / n {
                        candidates.push((
                            gain(w, f),
                            rule(vec![condition(a, ma, ca), condition(b, mb, cb)], w, f),
                        ));
                    }
                }
            }
        }
    }
    // A two-parameter rule must tell more than the best one-parameter rule
    // on either of its parameters.
    let mut best_single = vec![0.0f64; k];
    for (g, r) in candidates.iter().filter(|(_, r)| r.conditions.len() == 1) {
        let j = ins
            .iter()
            .position(|i| i.0 == r.conditions[0].input)
            .expect("an input");
        best_single[j] = best_single[j].max(*g);
    }
    let single_of = |c: &Condition| {
        ins.iter()
            .position(|i| i.0 == c.input)
            .map_or(0.0, |j| best_single[j])
    };
    candidates
        .retain(|(g, r)| r.conditions.len() == 1 || r.conditions.iter().all(|c| *g > single_of(c)));
    candidates.sort_by(|x, y| y.0.total_cmp(&x.0));
    // The best rule per set of inputs, then the best few overall.
    let mut rules: Vec<Rule> = Vec::new();
    for (_, r) in candidates {
        let inputs = |r: &Rule| {
            r.conditions
                .iter()
                .map(|c| c.input.clone())
                .collect::<Vec<_>>()
        };
        if !rules.iter().any(|x| inputs(x) == inputs(&r)) {
            rules.push(r);
        }
        if rules.len() == 5 {
            break;
        }
    }
    Ok((failure, rules))
}
