//! Design files: a sweep of candidate contract terms (the same `scenario`,
//! `[list]`, `[grid]` or `[latin_hypercube]` as a sweep file) with an
//! objective, chance constraints, a confidence level and the iterations of
//! each stage of the race. Errors are located at the line of the file.

use crate::batch::sweep::{self, Sweep};
use crate::error::{ScenarioErrors, suggest};
use crate::figures::{Catalog, Unit};
use crate::stress::statistic::Statistic;
use serde::Deserialize;
use std::path::Path;

/// Top-level keys a design file adds to a sweep file's.
pub const DESIGN_KEYS: [&str; 5] = [
    "confidence",
    "iterations",
    "objective",
    "constraints",
    "pareto",
];
/// A sweep file's top-level keys.
const SWEEP_KEYS: [&str; 7] = [
    "description",
    "scenario",
    "scenarios",
    "set",
    "list",
    "grid",
    "latin_hypercube",
];
/// Most stages of a race.
pub const MAX_STAGES: usize = 20;
/// Most candidates of a design.
pub const MAX_CANDIDATES: usize = 10_000;
/// Most iterations of a candidate.
pub const MAX_ITERATIONS: u64 = 100_000_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDesign {
    confidence: Option<f64>,
    iterations: Vec<u64>,
    objective: RawObjective,
    #[serde(default)]
    constraints: Vec<RawConstraint>,
    pareto: Option<RawPareto>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawObjective {
    minimise: Option<String>,
    maximise: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConstraint {
    event: String,
    at_most: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPareto {
    value: String,
    risk: String,
}

/// A comparison in an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `<`
    Less,
    /// `<=`
    AtMost,
    /// `>`
    Greater,
    /// `>=`
    AtLeast,
}

impl Op {
    fn parse(s: &str) -> Option<Op> {
        Some(match s {
            "<" => Op::Less,
            "<=" => Op::AtMost,
            ">" => Op::Greater,
            ">=" => Op::AtLeast,
            _ => return None,
        })
    }

    /// Whether `x op v` holds (never for an undefined `x`).
    #[inline]
    pub fn holds(self, x: f64, v: f64) -> bool {
        match self {
            Op::Less => x < v,
            Op::AtMost => x <= v,
            Op::Greater => x > v,
            Op::AtLeast => x >= v,
        }
    }
}

/// What happens in an iteration whose probability a constraint bounds.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// Some subcontractor fails (`<id>.failed` of any subcontractor).
    AnySubcontractorFails,
    /// Some provider, the prime or a subcontractor, fails.
    AnyProviderFails,
    /// Some investor ends with a negative net (`<id>.net < 0`).
    InvestorsLose,
    /// A figure compared with a value: `prime.net < 0`.
    Compare {
        /// `party.figure`.
        figure: String,
        /// The comparison.
        op: Op,
        /// The value, in the figure's unit (money in pounds).
        value: f64,
    },
}

/// The words of the events that are not comparisons.
const NAMED_EVENTS: [&str; 3] = [
    "any subcontractor fails",
    "any provider fails",
    "investors lose",
];

impl Event {
    /// Parses an event's text; figures are checked against a catalog later.
    pub fn parse(text: &str) -> Result<Event, (String, Option<String>)> {
        let words: Vec<&str> = text.split_whitespace().collect();
        let joined = words.join(" ");
        match joined.as_str() {
            "any subcontractor fails" => return Ok(Event::AnySubcontractorFails),
            "any provider fails" => return Ok(Event::AnyProviderFails),
            "investors lose" => return Ok(Event::InvestorsLose),
            _ => {}
        }
        let help = "an event is `any subcontractor fails`, `any provider fails`, `investors lose`, a 0/1 figure such as `prime.failed`, or a figure compared with a number such as `prime.net < 0` (operators <, <=, >, >=)";
        match words.as_slice() {
            [figure] if figure.contains('.') => Ok(Event::Compare {
                figure: figure.to_string(),
                op: Op::Greater,
                value: 0.5,
            }),
            [figure, op, value] if figure.contains('.') => {
                let op = Op::parse(op).ok_or_else(|| {
                    (
                        format!("`{op}` is not a comparison in event `{text}`"),
                        Some(help.to_string()),
                    )
                })?;
                let value: f64 = value.replace('_', "").parse().map_err(|_| {
                    (
                        format!("`{value}` is not a number in event `{text}`"),
                        Some(help.to_string()),
                    )
                })?;
                if !value.is_finite() {
                    return Err((format!("the value in event `{text}` is not finite"), None));
                }
                Ok(Event::Compare {
                    figure: figure.to_string(),
                    op,
                    value,
                })
            }
            _ => Err((
                format!("`{text}` is not an event"),
                suggest(&joined, &NAMED_EVENTS).or_else(|| Some(help.to_string())),
            )),
        }
    }

    /// The event in words, as written in outputs.
    pub fn text(&self) -> String {
        match self {
            Event::AnySubcontractorFails => NAMED_EVENTS[0].into(),
            Event::AnyProviderFails => NAMED_EVENTS[1].into(),
            Event::InvestorsLose => NAMED_EVENTS[2].into(),
            Event::Compare { figure, op, value } => {
                if *op == Op::Greater && *value == 0.5 {
                    return figure.clone();
                }
                let op = match op {
                    Op::Less => "<",
                    Op::AtMost => "<=",
                    Op::Greater => ">",
                    Op::AtLeast => ">=",
                };
                format!("{figure} {op} {value}")
            }
        }
    }

    /// The figure comparisons, in `catalog`, of which any one holding is
    /// the event; or why the event is not one of this model.
    pub fn resolve(
        &self,
        catalog: &Catalog,
        model: &crate::model::Model,
    ) -> Result<Tests, Complaint> {
        let index = |key: &str| catalog.figures.iter().position(|f| f.key() == key);
        let providers = |from: usize| -> Vec<(usize, Op, f64)> {
            model.providers[from..]
                .iter()
                .filter_map(|p| index(&format!("{}.failed", p.id)))
                .map(|i| (i, Op::Greater, 0.5))
                .collect()
        };
        let found = match self {
            Event::AnySubcontractorFails => providers(1),
            Event::AnyProviderFails => providers(0),
            Event::InvestorsLose => model
                .investors
                .iter()
                .filter_map(|inv| index(&format!("{}.net", inv.id)))
                .map(|i| (i, Op::Less, 0.0))
                .collect(),
            Event::Compare { figure, op, value } => {
                let Some(i) = index(figure) else {
                    let names: Vec<String> = catalog
                        .figures
                        .iter()
                        .filter(|f| f.party != "draw")
                        .map(|f| f.key())
                        .collect();
                    let refs: Vec<&str> = names.iter().map(|s| s.as_str()).collect();
                    return Err((
                        format!("`{figure}` is not a figure of this scenario"),
                        suggest(figure, &refs).or(Some(
                            "figures are `party.figure` as in figures.csv (e.g. prime.net, tier1.failed, commissioner.net_value)".into(),
                        )),
                    ));
                };
                vec![(i, *op, *value)]
            }
        };
        if found.is_empty() {
            let what = match self {
                Event::AnySubcontractorFails => "has no subcontractors",
                Event::InvestorsLose => "has no investors",
                _ => "has none of its figures",
            };
            return Err((
                format!("event `{}`: the scenario {what}", self.text()),
                None,
            ));
        }
        Ok(found)
    }
}

/// Figure comparisons of which any one holding is an event:
/// `(figure index, comparison, value)`.
pub type Tests = Vec<(usize, Op, f64)>;

/// What is wrong, and a suggestion.
pub type Complaint = (String, Option<String>);

/// A chance constraint: P(event) <= level.
#[derive(Clone, Debug, PartialEq)]
pub struct Constraint {
    /// The event.
    pub event: Event,
    /// The most probability allowed.
    pub at_most: f64,
}

/// What is optimised.
#[derive(Clone, Debug, PartialEq)]
pub struct Objective {
    /// A figure's mean or a commissioner ratio.
    pub statistic: Statistic,
    /// Larger is better.
    pub maximise: bool,
}

/// A parsed design file.
#[derive(Clone, Debug)]
pub struct DesignFile {
    /// The candidates: the file's sweep part.
    pub sweep: Sweep,
    /// The objective.
    pub objective: Objective,
    /// The chance constraints, in file order.
    pub constraints: Vec<Constraint>,
    /// The stated confidence (e.g. 0.95).
    pub confidence: f64,
    /// Iterations of every candidate still racing at the end of each stage.
    pub stages: Vec<u64>,
    /// Public value (maximised) for the Pareto front.
    pub value: Statistic,
    /// Provider risk (a probability, minimised) for the Pareto front.
    pub risk: Event,
}

/// Reads and checks a design file and every scenario it names.
pub fn load_file(path: &Path) -> Result<DesignFile, crate::Error> {
    let text = crate::scenario::read_text(path)?;
    let origin = path.display().to_string();
    let base = path.parent().unwrap_or(Path::new("."));
    Ok(parse(&text, &origin, base)?)
}

/// Whether a TOML text is a design file (it has an `[objective]`).
pub fn is_design_text(text: &str) -> bool {
    text.parse::<toml::Table>()
        .is_ok_and(|t| t.contains_key("objective"))
}

/// Parses design text; scenario paths are relative to `base`.
pub fn parse(text: &str, origin: &str, base: &Path) -> Result<DesignFile, ScenarioErrors> {
    let fail = |at: Option<(&str, Option<&str>)>, message: String, help: Option<String>| {
        sweep::error(origin, text, at, message, help)
    };
    let table = crate::scenario::parse_toml(text, origin)?;
    let allowed: Vec<&str> = SWEEP_KEYS.iter().chain(&DESIGN_KEYS).copied().collect();
    for key in table.keys() {
        if !allowed.contains(&key.as_str()) {
            return Err(fail(
                Some((key, None)),
                format!("unknown key `{key}`"),
                suggest(key, &allowed)
                    .or_else(|| Some(format!("allowed here: {}", allowed.join(", ")))),
            ));
        }
    }
    let mut own = toml::Table::new();
    for k in DESIGN_KEYS {
        if let Some(v) = table.get(k) {
            own.insert(k.to_string(), v.clone());
        }
    }
    let raw: RawDesign = serde_path_to_error::deserialize(toml::Value::Table(own)).map_err(|e| {
        let path = e.path().to_string();
        let message = e.inner().message().to_string();
        let top = path.split('.').next().unwrap_or("").to_string();
        let (message, help) = match message
            .strip_prefix("unknown field `")
            .and_then(|r| r.split_once('`'))
        {
            Some((field, expected)) => {
                let candidates: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
                (
                    format!("unknown key `{field}` in `{top}`"),
                    suggest(field, &candidates)
                        .or_else(|| Some(format!("allowed here: {}", candidates.join(", ")))),
                )
            }
            None if message.starts_with("missing field") => (
                format!("{message} (in `{}`)", if top == "." || top.is_empty() { "the design file" } else { &top }),
                Some("a design file needs `iterations = [...]` and `[objective]` with `minimise` or `maximise`; see docs/design.md".into()),
            ),
            None => (format!("`{path}`: {}", message.replace("invalid type: ", "wrong type: ")), None),
        };
        let base_key = top.split('[').next().unwrap_or("").to_string();
        let at = DESIGN_KEYS.iter().find(|k| **k == base_key).copied();
        fail(at.map(|t| (t, None)), message, help)
    })?;
    let sweep = sweep::parse_within(text, origin, base, &DESIGN_KEYS)?;
    if sweep.points.len() > MAX_CANDIDATES {
        return Err(fail(
            None,
            format!(
                "{} candidates; a design races at most {MAX_CANDIDATES}",
                sweep.points.len()
            ),
            Some("search a coarser grid first, then a finer one around its best".into()),
        ));
    }
    let confidence = raw.confidence.unwrap_or(0.95);
    if !(0.5..1.0).contains(&confidence) {
        return Err(fail(
            Some(("confidence", None)),
            format!("confidence {confidence} is outside [0.5, 1)"),
            Some("e.g. confidence = 0.95".into()),
        ));
    }
    let stages = raw.iterations;
    let block = crate::engine::BLOCK;
    let stage_help = Some(format!(
        "iterations per candidate at the end of each stage, increasing multiples of {block}, at least {}: e.g. iterations = [1024, 4096, 16384]",
        2 * block
    ));
    if stages.is_empty() || stages.len() > MAX_STAGES {
        return Err(fail(
            Some(("iterations", None)),
            format!("{} stages; give 1 to {MAX_STAGES}", stages.len()),
            stage_help,
        ));
    }
    for (k, n) in stages.iter().enumerate() {
        let previous = if k == 0 { 0 } else { stages[k - 1] };
        if *n < 2 * block || !n.is_multiple_of(block) || *n <= previous || *n > MAX_ITERATIONS {
            return Err(fail(
                Some(("iterations", None)),
                format!("stage {} has {n} iterations", k + 1),
                stage_help,
            ));
        }
    }
    let objective_text = match (&raw.objective.minimise, &raw.objective.maximise) {
        (Some(s), None) => (s.clone(), false),
        (None, Some(s)) => (s.clone(), true),
        _ => {
            return Err(fail(
                Some(("objective", None)),
                "`[objective]` needs exactly one of `minimise` or `maximise`".into(),
                Some("e.g. minimise = \"commissioner.cost_per_attributable_outcome\"".into()),
            ));
        }
    };
    let mut constraints = Vec::new();
    for c in &raw.constraints {
        let event =
            Event::parse(&c.event).map_err(|(m, h)| fail(Some(("constraints", None)), m, h))?;
        if !(0.0..=1.0).contains(&c.at_most) {
            return Err(fail(
                Some(("constraints", None)),
                format!(
                    "`at_most = {}` for `{}` is not a probability",
                    c.at_most, c.event
                ),
                Some("a level in [0, 1], e.g. at_most = 0.10".into()),
            ));
        }
        constraints.push(Constraint {
            event,
            at_most: c.at_most,
        });
    }
    let (value_text, risk) = match &raw.pareto {
        Some(p) => (
            p.value.clone(),
            Event::parse(&p.risk).map_err(|(m, h)| fail(Some(("pareto", Some("risk"))), m, h))?,
        ),
        None => (
            "commissioner.net_value".to_string(),
            constraints
                .first()
                .map_or(Event::AnyProviderFails, |c| c.event.clone()),
        ),
    };
    // Names are checked against the first candidate's figures; every
    // candidate is checked again when it runs.
    let loaded = sweep.load_point(0)?;
    let catalog = Catalog::new(&loaded.model);
    let objective = Statistic::parse(&objective_text.0, &catalog).map_err(|p| {
        let key = if objective_text.1 {
            "maximise"
        } else {
            "minimise"
        };
        fail(Some(("objective", Some(key))), p.message, p.help)
    })?;
    let value = Statistic::parse(&value_text, &catalog)
        .map_err(|p| fail(Some(("pareto", Some("value"))), p.message, p.help))?;
    for c in &constraints {
        c.event
            .resolve(&catalog, &loaded.model)
            .map_err(|(m, h)| fail(Some(("constraints", None)), m, h))?;
        if let Event::Compare { figure, .. } = &c.event
            && catalog
                .figures
                .iter()
                .any(|f| f.key() == *figure && f.unit == Unit::Draw)
        {
            return Err(fail(
                Some(("constraints", None)),
                format!("`{figure}` is an uncertain input, not an outcome of the contract"),
                None,
            ));
        }
    }
    risk.resolve(&catalog, &loaded.model)
        .map_err(|(m, h)| fail(Some(("pareto", None)), m, h))?;
    Ok(DesignFile {
        sweep,
        objective: Objective {
            statistic: objective,
            maximise: objective_text.1,
        },
        constraints,
        confidence,
        stages,
        value,
        risk,
    })
}
