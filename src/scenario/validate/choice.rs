//! The scenario's enumerated strings (`counts`, `referral_process`, `on_failure`,
//! `price_year`, `measure`, `comparison.kind`, `dist`), each a table of
//! names and values read by one function, so every refused name gets the
//! same error: the name given, the names allowed, and a "did you mean".

use crate::error::{Problem, suggest};
use crate::model::{Consequence, CountMode, Measure, OnFailure, PriceYear, ReferralProcess};

/// A value a scenario names by one of a fixed set of strings.
pub trait Choice: Copy + 'static {
    /// What the value is called in messages, e.g. "measure".
    const WHAT: &'static str;
    /// Every name, with its value, in the order messages list them.
    const CHOICES: &'static [(&'static str, Self)];
}

/// The value named `text`, or the problem with it.
pub fn parse<T: Choice>(text: &str) -> Result<T, Problem> {
    if let Some((_, v)) = T::CHOICES.iter().find(|(name, _)| *name == text) {
        return Ok(*v);
    }
    let names: Vec<&str> = T::CHOICES.iter().map(|(name, _)| *name).collect();
    // Two names read best as an alternative; more as a list.
    let message = match names.as_slice() {
        [a, b] => format!("must be \"{a}\" or \"{b}\", got \"{text}\""),
        _ => format!(
            "unknown {} \"{text}\"; expected one of {}",
            T::WHAT,
            names.join(", ")
        ),
    };
    Err(Problem::with_help(message, suggest(text, &names)))
}

impl Choice for ReferralProcess {
    const WHAT: &'static str = "referral process";
    const CHOICES: &'static [(&'static str, Self)] = &[
        ("poisson", ReferralProcess::Poisson),
        ("fixed", ReferralProcess::Fixed),
    ];
}

impl Choice for CountMode {
    const WHAT: &'static str = "count mode";
    const CHOICES: &'static [(&'static str, Self)] = &[
        ("random", CountMode::Random),
        ("expected", CountMode::Expected),
    ];
}

impl Choice for OnFailure {
    const WHAT: &'static str = "failure rule";
    const CHOICES: &'static [(&'static str, Self)] = &[
        ("transfer", OnFailure::Transfer),
        ("lose_service", OnFailure::LoseService),
    ];
}

impl Choice for Consequence {
    const WHAT: &'static str = "consequence";
    const CHOICES: &'static [(&'static str, Self)] = &[
        ("end", Consequence::End),
        ("shift", Consequence::Shift { to: 0, share: 0.0 }),
    ];
}

impl Choice for crate::model::OnShortfall {
    const WHAT: &'static str = "shortfall rule";
    const CHOICES: &'static [(&'static str, Self)] = &[
        ("write_off", crate::model::OnShortfall::WriteOff),
        ("repay", crate::model::OnShortfall::Repay),
    ];
}

impl Choice for PriceYear {
    const WHAT: &'static str = "price year";
    const CHOICES: &'static [(&'static str, Self)] = &[
        ("referral", PriceYear::Referral),
        ("event", PriceYear::Event),
    ];
}

impl Choice for Measure {
    const WHAT: &'static str = "measure";
    const CHOICES: &'static [(&'static str, Self)] = &[
        ("binary", Measure::Binary),
        ("frequency", Measure::Frequency),
        (
            "frequency_per_person_with_event",
            Measure::FrequencyPerPersonWithEvent,
        ),
        ("time_in_state", Measure::TimeInState),
    ];
}

/// `comparison.kind` of an improvement rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ComparisonKind {
    /// A comparison group simulated beside the treated cohort.
    Simulated,
    /// A historical value of the measure.
    Baseline,
}

impl Choice for ComparisonKind {
    const WHAT: &'static str = "comparison";
    const CHOICES: &'static [(&'static str, Self)] = &[
        ("simulated", ComparisonKind::Simulated),
        ("baseline", ComparisonKind::Baseline),
    ];
}

/// `dist` of an uncertain parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DistKind {
    /// `min`, `max`.
    Uniform,
    /// `mean`, `sd`, optionally truncated by `min`, `max`.
    Normal,
    /// `median` and `sigma`, or `mean` and `sd`.
    LogNormal,
    /// `alpha`, `beta`, optionally rescaled to `min`, `max`.
    Beta,
    /// `min`, `mode`, `max`.
    Triangular,
    /// `min`, `mode`, `max`, optionally `lambda`.
    Pert,
    /// `class`: a shipped reference class's achievement ratio, lognormal.
    ReferenceClass,
}

impl Choice for DistKind {
    const WHAT: &'static str = "distribution";
    const CHOICES: &'static [(&'static str, Self)] = &[
        ("uniform", DistKind::Uniform),
        ("normal", DistKind::Normal),
        ("lognormal", DistKind::LogNormal),
        ("beta", DistKind::Beta),
        ("triangular", DistKind::Triangular),
        ("pert", DistKind::Pert),
        ("reference_class", DistKind::ReferenceClass),
    ];
}

impl DistKind {
    /// The keys a distribution of this kind takes (besides `dist`, the
    /// factor link and the stress transform).
    pub fn keys(self) -> &'static [&'static str] {
        match self {
            DistKind::Uniform => &["min", "max"],
            DistKind::Normal => &["mean", "sd", "min", "max"],
            DistKind::LogNormal => &["median", "sigma", "mean", "sd"],
            DistKind::Beta => &["alpha", "beta", "min", "max"],
            DistKind::Triangular => &["min", "mode", "max"],
            DistKind::Pert => &["min", "mode", "max", "lambda"],
            DistKind::ReferenceClass => &["class"],
        }
    }
}

impl Choice for crate::model::CorridorMeasure {
    const WHAT: &'static str = "corridor measure";
    const CHOICES: &'static [(&'static str, Self)] = &[
        ("cost", crate::model::CorridorMeasure::Cost),
        ("margin", crate::model::CorridorMeasure::Margin),
        ("payments", crate::model::CorridorMeasure::Payments),
    ];
}

impl Choice for crate::model::Settle {
    const WHAT: &'static str = "settlement";
    const CHOICES: &'static [(&'static str, Self)] = &[
        ("yearly", crate::model::Settle::Yearly),
        ("end", crate::model::Settle::End),
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_name_lists_the_allowed_ones_and_the_closest() {
        let p = parse::<OnFailure>("transfr").unwrap_err();
        assert_eq!(
            p.message,
            "must be \"transfer\" or \"lose_service\", got \"transfr\""
        );
        assert_eq!(p.help.as_deref(), Some("did you mean `transfer`?"));
        let p = parse::<DistKind>("gaussian").unwrap_err();
        assert_eq!(
            p.message,
            "unknown distribution \"gaussian\"; expected one of uniform, normal, lognormal, beta, triangular, pert, reference_class"
        );
        assert_eq!(parse::<Measure>("frequency"), Ok(Measure::Frequency));
    }
}
