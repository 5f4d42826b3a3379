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

pub use crate::engine::world::{Band, Input, SECOND_REPLICATE, Worlds};
use crate::error::Problem;
use crate::model::Model;

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
