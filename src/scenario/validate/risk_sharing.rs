//! `[[corridors]]` and `segments.<id>.floor_per_referral`: risk-sharing
//! instruments between payers and providers.

use super::super::raw::{RawCorridor, RawSegment};
use super::{Checker, shown};
use crate::model::{
    Bands, COMMISSIONER, Corridor, CorridorMeasure, PRIME, Provider, RiskSharing, Settle,
};
use indexmap::IndexMap;

/// The widest band edge, as a multiple of the target.
pub const MAX_BAND_EDGE: f64 = 1000.0;

/// The corridors and payment floors of a scenario.
pub fn risk_sharing(
    c: &mut Checker,
    corridors: &[RawCorridor],
    segments: &IndexMap<String, RawSegment>,
    providers: &[Provider],
) -> RiskSharing {
    let floors = segments
        .iter()
        .map(|(id, s)| {
            s.floor_per_referral
                .map(|f| c.money(&format!("segments.{id}.floor_per_referral"), f))
        })
        .collect();
    let mut labels: Vec<String> = Vec::new();
    let corridors = corridors
        .iter()
        .enumerate()
        .map(|(i, raw)| {
            let corridor = corridor(c, i, raw, providers);
            if labels.contains(&corridor.label) {
                c.err(
                    &format!("corridors[{i}].label"),
                    format!(
                        "`{}` is already the label of another corridor (labels name figures)",
                        corridor.label
                    ),
                );
            }
            labels.push(corridor.label.clone());
            corridor
        })
        .collect();
    RiskSharing { corridors, floors }
}

fn corridor(c: &mut Checker, i: usize, raw: &RawCorridor, providers: &[Provider]) -> Corridor {
    let k = |f: &str| format!("corridors[{i}].{f}");
    let label = raw.label.clone().unwrap_or(format!("corridor{}", i + 1));
    if raw.label.is_some() {
        c.label(&k("label"), &label);
    }
    let (payer, provider) = between(c, &k("between"), &raw.between, providers);
    let measure = c.choose_or(&k("measure"), Some(&raw.measure), CorridorMeasure::Cost);
    let settle = c.choose_or(&k("settle"), Some(&raw.settle), Settle::Yearly);
    let target = c.money(&k("target"), raw.target);
    if raw.target.is_finite() && raw.target <= 0.0 {
        c.err(
            &k("target"),
            format!(
                "must be positive (the bands are fractions of it), got {}",
                shown(raw.target)
            ),
        );
    }
    let pain = bands(c, &k("bands"), &k("share"), &raw.bands, &raw.share);
    let gain = match (&raw.gain_bands, &raw.gain_share) {
        (None, None) => pain.clone(),
        (Some(edges), Some(shares)) => bands(c, &k("gain_bands"), &k("gain_share"), edges, shares),
        (Some(_), None) => {
            c.err(
                &k("gain_share"),
                "is needed with gain_bands (the payer's share in each gain band)".into(),
            );
            pain.clone()
        }
        (None, Some(_)) => {
            c.err(
                &k("gain_bands"),
                "is needed with gain_share (the edges of the gain bands)".into(),
            );
            pain.clone()
        }
    };
    Corridor {
        label,
        payer,
        provider,
        measure,
        target,
        settle,
        pain,
        gain,
    }
}

/// `between = [payer, provider]`: the commissioner and the prime, or the
/// prime and one of its subcontractors. Returns the payer's account and the
/// provider's index.
fn between(c: &mut Checker, key: &str, raw: &[String], providers: &[Provider]) -> (usize, usize) {
    let [payer, provider] = raw else {
        c.err(
            key,
            format!(
                "must name two parties, the payer then the provider, got {}",
                raw.len()
            ),
        );
        return (COMMISSIONER, 0);
    };
    match payer.as_str() {
        "commissioner" => {
            if provider != "prime" {
                c.err_help(
                    &format!("{key}[1]"),
                    format!("the commissioner's corridor is with the prime, got `{provider}`"),
                    Some("a subcontractor's corridor is with the prime: between = [\"prime\", \"<id>\"]".into()),
                );
            }
            (COMMISSIONER, 0)
        }
        "prime" => match providers.iter().skip(1).position(|p| &p.id == provider) {
            Some(d) => (PRIME, d + 1),
            None => {
                let ids: Vec<&str> = providers.iter().skip(1).map(|p| p.id.as_str()).collect();
                c.err_help(
                    &format!("{key}[1]"),
                    format!("the prime's corridor is with one of its subcontractors, and `{provider}` is not one"),
                    crate::error::suggest(provider, &ids),
                );
                (PRIME, 0)
            }
        },
        _ => {
            c.err(
                &format!("{key}[0]"),
                format!("the payer must be \"commissioner\" or \"prime\", got \"{payer}\""),
            );
            (COMMISSIONER, 0)
        }
    }
}

/// Band edges (fractions of the target, positive and increasing) and the
/// payer's share in each band (one more share than edges, each in [0, 1]).
fn bands(
    c: &mut Checker,
    edges_key: &str,
    shares_key: &str,
    edges: &[f64],
    shares: &[f64],
) -> Bands {
    let mut before = 0.0;
    for (j, &e) in edges.iter().enumerate() {
        if !(e.is_finite() && e > before && e <= MAX_BAND_EDGE) {
            c.err(
                &format!("{edges_key}[{j}]"),
                format!(
                    "band edges are fractions of the target, positive, increasing and at most {MAX_BAND_EDGE}, got {}",
                    shown(e)
                ),
            );
        }
        if e.is_finite() {
            before = before.max(e);
        }
    }
    if shares.len() != edges.len() + 1 {
        c.err(
            shares_key,
            format!(
                "needs one share more than there are band edges ({}: inside the first edge, between each pair, beyond the last), got {}",
                edges.len() + 1,
                shares.len()
            ),
        );
    }
    let shares = (0..=edges.len())
        .map(|j| match shares.get(j) {
            Some(&s) => c.prob(&format!("{shares_key}[{j}]"), s),
            None => 0.0,
        })
        .collect();
    Bands {
        edges: edges
            .iter()
            .map(|e| {
                if e.is_finite() {
                    e.clamp(0.0, MAX_BAND_EDGE)
                } else {
                    0.0
                }
            })
            .collect(),
        shares,
    }
}
