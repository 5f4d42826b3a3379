//! The scenario-level draws of an iteration (reference model §2): normal
//! scores from the parameter stream, turned into parameter values slot by
//! slot ([`Model::slot_kinds`]), and the ways an analysis may move them
//! ([`Worlds`]: percentile bands, pinned percentiles, inputs taken from a
//! second replicate).
//!
//! Every uncertain quantity of an iteration is a function of independent
//! standard normal scores (one per shared factor, one per parameter slot)
//! and of the participant stream. Those are the *inputs* of sensitivity
//! analysis: independent by construction, so Sobol indices are well defined
//! even when parameters are correlated through factors. A parameter's
//! percentile is `Phi(loading * factor + sqrt(1 - loading^2) * own)`.

use super::{Draws, Scores};
use crate::math::{normal_cdf, normal_quantile};
use crate::model::{Model, SlotKind};
use crate::qmc::{self, Sampling};
use crate::rng::{Purpose, key_stream, stream};
use crate::sample::standard_normal;
use rand::Rng;

/// Fills `scores` with iteration `iteration`'s normal scores: one per
/// factor, then one per parameter slot. A named slot consumes its score even
/// when its value is fixed or the segment uses the shared effect, and each
/// uncertain plain key (the last `model.uncertain_keys.len()` slots) draws
/// from its own stream, so making one parameter uncertain never shifts
/// another's draw.
pub(crate) fn draw_scores(model: &Model, seed: u64, iteration: u64, scores: &mut [f64]) {
    let (named, keys) = scores.split_at_mut(scores.len() - model.uncertain_keys.len());
    let mut rng = stream(seed, iteration, Purpose::Parameters);
    for z in named.iter_mut() {
        *z = standard_normal(&mut rng);
    }
    for (z, key) in keys.iter_mut().zip(&model.uncertain_keys) {
        *z = standard_normal(&mut key_stream(seed, iteration, key.stream_tag));
    }
}

/// Fills `scores` from iteration `iteration`'s scrambled Sobol' point
/// (see [`crate::qmc`]) with `randomisations` independent scrambles: a
/// coordinate for each score that moves a value (every factor, every
/// uncertain slot, in score order, so the best-spread first coordinates go
/// to the first inputs), its normal quantile the score. Scores that move
/// nothing stay 0. Below its 32 bits, each coordinate is filled from the
/// parameter stream.
pub(crate) fn sobol_scores(
    model: &Model,
    seed: u64,
    randomisations: u32,
    iteration: u64,
    scores: &mut [f64],
) {
    let (factors, slots) = scores.split_at_mut(model.factors.len());
    let mut rng = stream(seed, iteration, Purpose::Parameters);
    let mut dim = 0u32;
    let mut next = |z: &mut f64| {
        let u = qmc::coordinate(seed, randomisations, iteration, dim, rng.next_u64());
        *z = normal_quantile(u);
        dim += 1;
    };
    factors.iter_mut().for_each(&mut next);
    for (z, kind) in slots.iter_mut().zip(model.slot_kinds()) {
        if model.slot_param(kind).is_some_and(|p| p.is_uncertain()) {
            next(z);
        } else {
            *z = 0.0;
        }
    }
}

/// The parameter values of one iteration from its scores, with any pinned
/// percentiles.
pub(super) fn values(model: &Model, scores: &Scores, draws: &mut Draws) {
    let (factors, own) = scores.values.split_at(model.factors.len());
    for (slot, kind) in model.slot_kinds().enumerate() {
        let Some(param) = model.slot_param(kind) else {
            continue;
        };
        let pinned = scores.pinned[slot];
        let value = if pinned.is_nan() {
            param.draw(own[slot], factors)
        } else {
            param.at_percentile(pinned)
        };
        match kind {
            SlotKind::Volume => draws.volume = value,
            SlotKind::Cost => draws.cost = value,
            SlotKind::Macro(k) => draws.macro_draws[k] = value,
            SlotKind::SharedEffect => {
                for (s, seg) in model.segments.iter().enumerate() {
                    if seg.effect.is_none() {
                        draws.effect[s] = value;
                    }
                }
            }
            SlotKind::SegmentEffect(s) => draws.effect[s] = value,
            SlotKind::Key(k) => draws.keys[k] = value,
        }
    }
    for (y, &k) in model.macro_of_year.iter().enumerate() {
        draws.macro_by_year[y] = draws.macro_draws[k];
    }
}

/// An independent source of randomness.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Input {
    /// A shared factor (index into `Model::factors`).
    Factor(usize),
    /// An uncertain parameter's own score (index into the slot table).
    Parameter(usize),
    /// Every participant-level event: what better evidence cannot narrow.
    Participants,
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
    /// Independent draws, or scrambled Sobol' points; a Sobol' arm takes
    /// nothing from a second replicate.
    pub sampling: Sampling,
}

impl Worlds {
    /// Sets the scores of iteration `i` and returns the participant stream
    /// to use; `second` holds the second replicate's scores when needed.
    ///
    /// A band maps the input's own percentile `u` to `lo + (hi - lo) u`:
    /// exact conditioning by inversion, monotone, so the banded world is
    /// the plain world moved into the band. A parameter tied to a factor
    /// with loading `l` is conditioned jointly: its score `z` is banded and
    /// the factor redrawn from its conditional law given `z`, `l z + sqrt(1
    /// - l^2) w` with `w` the part of the world's (factor, own) scores
    /// independent of `z`, so parameters sharing the factor move with it.
    pub(crate) fn prepare(
        &self,
        model: &Model,
        seed: u64,
        i: u64,
        scores: &mut Scores,
        second: &mut [f64],
    ) -> u64 {
        match self.sampling {
            Sampling::MonteCarlo => draw_scores(model, seed, i, &mut scores.values),
            Sampling::Sobol { randomisations } => {
                sobol_scores(model, seed, randomisations, i, &mut scores.values)
            }
        }
        scores.pinned.fill(f64::NAN);
        let mut participants = i;
        if !self.from_second.is_empty() {
            participants = self.take_second(model, seed, i, scores, second);
        }
        for band in &self.bands {
            band.squeeze(model, scores);
        }
        for &(input, u) in &self.pinned {
            match input {
                Input::Factor(k) => scores.values[k] = normal_quantile(u),
                Input::Parameter(j) => scores.pinned[j] = u,
                Input::Participants => {}
            }
        }
        participants
    }

    /// Replaces the inputs of `from_second` by those of the second
    /// replicate; returns the participant stream.
    fn take_second(
        &self,
        model: &Model,
        seed: u64,
        i: u64,
        scores: &mut Scores,
        second: &mut [f64],
    ) -> u64 {
        let nf = model.factors.len();
        let mut participants = i;
        draw_scores(model, seed, SECOND_REPLICATE + i, second);
        for input in &self.from_second {
            match *input {
                Input::Factor(k) => scores.values[k] = second[k],
                Input::Parameter(j) => scores.values[nf + j] = second[nf + j],
                Input::Participants => participants = SECOND_REPLICATE + i,
            }
        }
        participants
    }
}

impl Band {
    /// Moves the world's input into the band.
    fn squeeze(&self, model: &Model, scores: &mut Scores) {
        let nf = model.factors.len();
        let squeeze = |z: f64| {
            normal_quantile(
                (self.lo + (self.hi - self.lo) * normal_cdf(z)).clamp(1e-300, 1.0 - 1e-16),
            )
        };
        match self.input {
            Input::Factor(k) => scores.values[k] = squeeze(scores.values[k]),
            Input::Parameter(j) => {
                let kind = model.slot_kinds().nth(j).expect("a slot of this model");
                let param = model
                    .slot_param(kind)
                    .expect("bands name uncertain parameters");
                let z = squeeze(param.score(scores.values[nf + j], &scores.values[..nf]));
                if let Some(link) = param.factor {
                    // The factor given the banded score: l z + s w, with
                    // w = s f - l e the standard normal part of (f, e)
                    // independent of the score l f + s e.
                    let (l, s) = (
                        link.loading,
                        (1.0 - link.loading * link.loading).max(0.0).sqrt(),
                    );
                    let w = s * scores.values[link.factor] - l * scores.values[nf + j];
                    scores.values[link.factor] = l * z + s * w;
                }
                scores.pinned[j] = normal_cdf(z);
            }
            Input::Participants => {}
        }
    }
}
