//! Randomised quasi-Monte Carlo for the parameter level.
//!
//! With [`Sampling::Sobol`], the uniforms behind an iteration's parameter
//! scores come from scrambled Sobol' points instead of independent draws,
//! while every participant-level event keeps its own stream. A run's
//! iterations are dealt round-robin to `R` independent randomisations:
//! iteration `i` is point `i / R` of randomisation `i % R`. Each
//! randomisation is an Owen-scrambled Sobol' sequence (the nested
//! hash scramble of Burley 2020, from the `sobol_burley` crate) followed by
//! a random digital shift, so every point is exactly uniform on its own and
//! the first `2^m` points of a randomisation are a scrambled `(t, m,
//! s)`-net. The `R` randomisations are independent, so their `R` estimates
//! give an honest standard error (the spread of the replicate means), which
//! the points of one sequence, being dependent, cannot.
//!
//! The point of iteration `i` depends only on `(seed, i)`, so a run is
//! bit-identical on any thread count and shard split. The direction
//! numbers cover 2^16 points and 256 dimensions; past either, a fresh,
//! independent scramble takes over (a new sequence for each further 2^16
//! points of a randomisation, and for each further 256 dimensions), which
//! keeps every point uniform and the randomisations independent.

use sobol_burley::NUM_DIMENSIONS;
use sobol_burley::parts::{owen_scramble_rev, sobol_rev};

/// How the parameter level of each iteration is sampled.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum Sampling {
    /// Independent draws for every iteration (plain Monte Carlo).
    #[default]
    MonteCarlo,
    /// Scrambled Sobol' points, dealt round-robin to `randomisations`
    /// independent scrambles (at least 2: their spread is the error bar).
    Sobol {
        /// Independent randomisations.
        randomisations: u32,
    },
}

/// Randomisations of a Sobol' run unless asked otherwise: enough for a
/// standard error on 15 degrees of freedom, few enough that each keeps
/// hundreds of points at the default 10,000 iterations.
pub const DEFAULT_RANDOMISATIONS: u32 = 16;
/// The most randomisations a run may ask for.
pub const MAX_RANDOMISATIONS: u32 = 1024;
/// Points of one scrambled sequence before the next takes over.
const SEQUENCE_POINTS: u64 = 1 << 16;

impl Sampling {
    /// The number of independent randomisations, `None` for plain Monte
    /// Carlo.
    pub fn randomisations(&self) -> Option<usize> {
        match *self {
            Sampling::MonteCarlo => None,
            Sampling::Sobol { randomisations } => Some(randomisations as usize),
        }
    }

    /// The randomisation iteration `i` belongs to.
    pub fn replicate(&self, i: u64) -> Option<usize> {
        self.randomisations().map(|r| randomisation_of(i, r))
    }

    /// The method's name, as the command line and `summary.json` write it.
    pub fn name(&self) -> &'static str {
        match self {
            Sampling::MonteCarlo => "monte-carlo",
            Sampling::Sobol { .. } => "sobol",
        }
    }

    /// The command-line options that ask for this sampling (none for
    /// plain Monte Carlo), as a job passes them to its shards and reruns.
    pub fn options(&self) -> Vec<String> {
        match self.randomisations() {
            None => vec![],
            Some(r) => vec![
                "--sampling".into(),
                "sobol".into(),
                "--randomisations".into(),
                r.to_string(),
            ],
        }
    }

    /// The `sampling` and `randomisations` cells of an analysis table
    /// (the second empty for plain Monte Carlo).
    pub fn columns(&self) -> [String; 2] {
        [
            self.name().into(),
            self.randomisations()
                .map_or(String::new(), |r| r.to_string()),
        ]
    }
}

/// The randomisation iteration `i` belongs to among `randomisations`: the
/// one dealing of iterations every error of a Sobol' run relies on.
pub fn randomisation_of(i: u64, randomisations: usize) -> usize {
    (i % randomisations.max(1) as u64) as usize
}

/// How many of `randomisations` hold iterations in a run of `iterations`
/// (all unless the run is shorter), at least one.
pub fn randomisations_holding(randomisations: usize, iterations: u64) -> usize {
    randomisations
        .min(iterations.try_into().unwrap_or(usize::MAX))
        .max(1)
}

/// SplitMix64's finaliser: a bijection of 64-bit words whose outputs for
/// consecutive inputs look independent.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Coordinate `dim` of iteration `i`'s point, in (0, 1), with `randomisations`
/// independent scrambles; `dither` (a uniform 64-bit word from the
/// iteration's parameter stream) fills the bits below the point's 32.
pub(crate) fn coordinate(seed: u64, randomisations: u32, i: u64, dim: u32, dither: u64) -> f64 {
    let replicate = randomisation_of(i, randomisations as usize) as u64;
    let k = i / u64::from(randomisations.max(1));
    let (sequence, point) = (k / SEQUENCE_POINTS, (k % SEQUENCE_POINTS) as u32);
    let (group, d) = (dim / NUM_DIMENSIONS, dim % NUM_DIMENSIONS);
    let key =
        mix(seed ^ mix(replicate ^ mix(sequence ^ mix(u64::from(group) << 8 | u64::from(d)))));
    let (scramble, shift) = (key as u32, (key >> 32) as u32);
    // Owen scrambling maps the net's elementary intervals onto each other;
    // the digital shift then makes each point exactly uniform whatever the
    // scramble's hash.
    let x = owen_scramble_rev(sobol_rev(point.reverse_bits(), d), scramble).reverse_bits() ^ shift;
    const TWO_M32: f64 = 1.0 / 4_294_967_296.0;
    const TWO_M53: f64 = 1.0 / 9_007_199_254_740_992.0;
    let below = ((dither >> 11) as f64 + 0.5) * TWO_M53;
    (f64::from(x) + below) * TWO_M32
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cell of coordinate `u` among `cells` equal intervals.
    fn cell(u: f64, cells: u64) -> u64 {
        (u * cells as f64) as u64
    }

    #[test]
    fn each_randomisation_is_a_net_in_every_pair_of_its_first_dimensions() {
        // The first 2^m points of a randomisation of Sobol' dimensions 0 and 1
        // (t = 0) put exactly one point in each of the 2^m boxes of every
        // shape 2^a x 2^(m - a): a (0, m, 2)-net, which scrambling and the
        // digital shift preserve. Other pairs are nets with a larger t:
        // every 1-D projection is stratified exactly.
        let (r, m) = (4u32, 10u32);
        let n = 1u64 << m;
        for replicate in 0..u64::from(r) {
            let points: Vec<[f64; 2]> = (0..n)
                .map(|k| {
                    let i = k * u64::from(r) + replicate;
                    [coordinate(9, r, i, 0, i), coordinate(9, r, i, 1, !i)]
                })
                .collect();
            for a in 0..=m {
                let mut seen = vec![0u32; n as usize];
                for p in &points {
                    let b = cell(p[0], 1 << a) * (1 << (m - a)) + cell(p[1], 1 << (m - a));
                    seen[b as usize] += 1;
                }
                assert!(
                    seen.iter().all(|&c| c == 1),
                    "replicate {replicate}, a = {a}"
                );
            }
        }
        for dim in [2, 7, 63, 255, 256, 300] {
            let mut seen = vec![0u32; n as usize];
            for k in 0..n {
                seen[cell(coordinate(3, 1, k, dim, k), n) as usize] += 1;
            }
            assert!(seen.iter().all(|&c| c == 1), "dimension {dim}");
        }
    }

    #[test]
    fn every_coordinate_is_inside_the_open_interval_and_differs_by_randomisation() {
        for i in [0u64, 1, 65_535 * 16, 65_536 * 16 + 3, u64::MAX / 2] {
            for dim in [0u32, 1, 255, 256, 1000] {
                for dither in [0u64, u64::MAX] {
                    let u = coordinate(1, 16, i, dim, dither);
                    assert!(u > 0.0 && u < 1.0, "{i} {dim} {u}");
                }
            }
        }
        // The same point index in two randomisations, or two seeds, differs.
        assert_ne!(coordinate(1, 2, 0, 0, 0), coordinate(1, 2, 1, 0, 0));
        assert_ne!(coordinate(1, 2, 0, 0, 0), coordinate(2, 2, 0, 0, 0));
    }

    #[test]
    fn a_coordinate_is_uniform_over_randomisations() {
        // Point k of a randomisation, over many independent randomisations
        // (seeds), is uniform: a chi-square test on 16 cells, with the
        // bound df + 5 sd. Checked for the first point (the one most
        // exposed to a weak scramble) and a later one, in two dimensions.
        let draws = 64_000u64;
        let cells = 16u64;
        for (k, dim) in [(0u64, 0u32), (0, 5), (777, 1), (70_000, 300)] {
            let mut count = vec![0u64; cells as usize];
            for seed in 0..draws {
                count[cell(coordinate(seed, 1, k, dim, seed), cells) as usize] += 1;
            }
            let expected = draws as f64 / cells as f64;
            let chi2: f64 = count
                .iter()
                .map(|&c| crate::math::powi(c as f64 - expected, 2) / expected)
                .sum();
            let df = (cells - 1) as f64;
            assert!(
                chi2 < df + 5.0 * (2.0 * df).sqrt(),
                "k {k} dim {dim}: {chi2}"
            );
        }
    }
}
