//! The values of optional scenario keys that the raw types leave as `None`
//! (uncertain parameters, a distribution's optional keys), in one place:
//! validation builds the model from them, and a shock on a key the
//! scenario does not give starts from them. Keys with a plain serde
//! default (zero, empty, `default_currency`) have it in `raw.rs`.

/// `uncertainty.volume`: referrals as planned.
pub const VOLUME: f64 = 1.0;
/// `uncertainty.cost`: costs as planned.
pub const COST: f64 = 1.0;
/// `uncertainty.macro`: no macroeconomic shift.
pub const MACRO: f64 = 1.0;
/// `uncertainty.effect`: no shared change in the effect.
pub const EFFECT: f64 = 0.0;
/// An uncertain parameter's `scale`: draws as the distribution gives them.
pub const SCALE: f64 = 1.0;
/// An uncertain parameter's `shift`.
pub const SHIFT: f64 = 0.0;
/// A PERT distribution's `lambda`: the classic PERT weight on the mode.
pub const PERT_LAMBDA: f64 = 4.0;

/// The number a scenario tree stands for at `path` when it leaves the key
/// out, for the keys that have one.
pub fn number(tree: &toml::Table, path: &str) -> Option<f64> {
    match path {
        // `macro` defaults to 1 only when `macro_by_year` is not given.
        "uncertainty.macro" if super::lookup(tree, "uncertainty.macro_by_year").is_some() => None,
        "uncertainty.volume" => Some(VOLUME),
        "uncertainty.cost" => Some(COST),
        "uncertainty.macro" => Some(MACRO),
        "uncertainty.effect" => Some(EFFECT),
        _ => None,
    }
}
