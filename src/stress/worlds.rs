//! Which worlds an analysis simulates: the independent inputs of a model
//! and the rules that move an iteration's draws (percentile bands, pinned
//! percentiles, inputs taken from a second replicate).
//!
//! Every uncertain quantity of an iteration is a function of independent
//! standard normal scores (one per shared factor, one per parameter slot)
//! and of the participant stream. Those are the *inputs* of sensitivity
//! analysis: independent by construction, so Sobol indices are well defined
//! even when parameters are correlated through factors. A parameter's
//! percentile is `Phi(loading * factor + sqrt(1 - loading^2) * own)`.

use crate::engine::iteration::{Scratch, draw_scores};
use crate::error::Problem;
use crate::model::Model;
use crate::sample::{normal_cdf, normal_quantile};

/// An independent source of randomness.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Input {
    /// A shared factor (index into `Model::factors`).
    Factor(usize),
    /// An uncertain parameter's own score (index into `Model::slots`).
    Parameter(usize),
    /// Every participant-level event: what better evidence cannot narrow.
    Participants,
}

/// The inputs of `model` that vary: each factor, each uncertain parameter
/// slot, and the participants, with the names used in outputs and on the
/// command line (factor names, parameter paths, `participants`).
pub fn inputs(model: &Model) -> Vec<(String, Input)> {
    let mut v: Vec<(String, Input)> = model
        .factors
        .iter()
        .enumerate()
        .map(|(k, f)| (f.clone(), Input::Factor(k)))
        .collect();
    for (j, slot) in model.slots().iter().enumerate() {
        if slot.param.is_some_and(|p| p.is_uncertain()) {
            v.push((slot.path.clone(), Input::Parameter(j)));
        }
    }
    v.push(("participants".into(), Input::Participants));
    v
}

/// The input named `name` (a factor name or a parameter path), or an error
/// message with a suggestion.
pub fn find_input(model: &Model, name: &str) -> Result<Input, Problem> {
    let all = inputs(model);
    if let Some((_, i)) = all.iter().find(|(n, _)| n == name) {
        return Ok(*i);
    }
    if model.slots().iter().any(|s| s.path == name) {
        return Err(Problem::with_help(
            format!("`{name}` is not uncertain in this scenario (it has a fixed value)"),
            Some("give it a distribution in the scenario, or pick an uncertain input".into()),
        ));
    }
    let names: Vec<&str> = all.iter().map(|(n, _)| n.as_str()).collect();
    Err(Problem::with_help(
        format!(
            "`{name}` is not an uncertain input of this scenario; its inputs are {}",
            names.join(", ")
        ),
        crate::error::suggest(name, &names),
    ))
}

/// A restriction of one input to a percentile band.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Band {
    /// A factor or an uncertain parameter.
    pub input: Input,
    /// Lower percentile, in [0, 1).
    pub lo: f64,
    /// Upper percentile, in (lo, 1].
    pub hi: f64,
}

/// Stream offset of the second, independent replicate of every iteration
/// (pick-freeze designs): far above any iteration count.
pub const SECOND_REPLICATE: u64 = 1 << 62;

/// How an arm of an analysis draws iteration `i`'s world. The default is
/// the plain run's world.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Worlds {
    /// Inputs taken from the second replicate of the iteration.
    pub from_second: Vec<Input>,
    /// Inputs held at a percentile: a parameter's marginal percentile, or a
    /// factor's (which moves every parameter tied to it).
    pub pinned: Vec<(Input, f64)>,
    /// Inputs restricted to percentile bands (at most one per factor).
    pub bands: Vec<Band>,
}

impl Worlds {
    /// Sets `scratch.scores` and `scratch.pinned` for iteration `i` and
    /// returns the participant stream to use.
    ///
    /// A band maps the input's own percentile `u` to `lo + (hi - lo) u`:
    /// exact conditioning by inversion, monotone, so the banded world is
    /// the plain world moved into the band. A parameter tied to a factor
    /// with loading `l` is conditioned jointly: its score `z` is banded and
    /// the factor redrawn from its conditional law given `z`, `l z + sqrt(1
    /// - l^2) w` with `w` the part of the world's (factor, own) scores
    /// independent of `z`, so parameters sharing the factor move with it.
    pub fn prepare(
        &self,
        model: &Model,
        seed: u64,
        i: u64,
        scratch: &mut Scratch,
        second: &mut [f64],
    ) -> u64 {
        draw_scores(seed, i, &mut scratch.scores);
        scratch.pinned.fill(f64::NAN);
        let nf = model.factors.len();
        let mut participants = i;
        if !self.from_second.is_empty() {
            draw_scores(seed, SECOND_REPLICATE + i, second);
            for input in &self.from_second {
                match *input {
                    Input::Factor(k) => scratch.scores[k] = second[k],
                    Input::Parameter(j) => scratch.scores[nf + j] = second[nf + j],
                    Input::Participants => participants = SECOND_REPLICATE + i,
                }
            }
        }
        if !self.bands.is_empty() {
            let slots = model.slots();
            for b in &self.bands {
                let squeeze = |z: f64| {
                    normal_quantile(
                        (b.lo + (b.hi - b.lo) * normal_cdf(z)).clamp(1e-300, 1.0 - 1e-16),
                    )
                };
                match b.input {
                    Input::Factor(k) => scratch.scores[k] = squeeze(scratch.scores[k]),
                    Input::Parameter(j) => {
                        let param = slots[j].param.expect("bands name uncertain parameters");
                        let z = squeeze(param.score(scratch.scores[nf + j], &scratch.scores[..nf]));
                        if let Some(link) = param.factor {
                            // The factor given the banded score: l z + s w, with
                            // w = s f - l e the standard normal part of (f, e)
                            // independent of the score l f + s e.
                            let (l, s) = (
                                link.loading,
                                (1.0 - link.loading * link.loading).max(0.0).sqrt(),
                            );
                            let w = s * scratch.scores[link.factor] - l * scratch.scores[nf + j];
                            scratch.scores[link.factor] = l * z + s * w;
                        }
                        scratch.pinned[j] = normal_cdf(z);
                    }
                    Input::Participants => {}
                }
            }
        }
        for &(input, u) in &self.pinned {
            match input {
                Input::Factor(k) => scratch.scores[k] = normal_quantile(u),
                Input::Parameter(j) => scratch.pinned[j] = u,
                Input::Participants => {}
            }
        }
        participants
    }
}

/// Checks a set of bands: known inputs, proper ranges, and no two bands
/// conditioning the same factor (the joint condition has no closed form).
pub fn check_bands(model: &Model, bands: &[Band]) -> Result<(), String> {
    let slots = model.slots();
    let factor_of = |b: &Band| match b.input {
        Input::Factor(k) => Some(k),
        Input::Parameter(j) => slots[j].param.and_then(|p| p.factor).map(|l| l.factor),
        Input::Participants => None,
    };
    let name = |b: &Band| match b.input {
        Input::Factor(k) => model.factors[k].clone(),
        Input::Parameter(j) => slots[j].path.clone(),
        Input::Participants => "participants".into(),
    };
    for (i, b) in bands.iter().enumerate() {
        if b.input == Input::Participants {
            return Err("participant-level events cannot be banded; band a factor or an uncertain parameter".into());
        }
        if !(0.0 <= b.lo && b.lo < b.hi && b.hi <= 1.0) {
            return Err(format!(
                "the band of `{}` must satisfy 0 <= lo < hi <= 100 (percentiles)",
                name(b)
            ));
        }
        for c in &bands[..i] {
            if c.input == b.input {
                return Err(format!("`{}` is banded twice", name(b)));
            }
            if let (Some(f), Some(g)) = (factor_of(b), factor_of(c))
                && f == g
            {
                return Err(format!(
                    "`{}` and `{}` are both tied to factor `{}`; band the factor itself, or one of them",
                    name(c),
                    name(b),
                    model.factors[f]
                ));
            }
        }
    }
    Ok(())
}
