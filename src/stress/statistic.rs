//! The statistics analyses target: the mean of a figure (a 0/1 figure's
//! mean is a probability: `prime.failed`, `prime.loss`) or a run-level
//! ratio of means (`commissioner.cost_per_attributable_outcome`).

use crate::error::Problem;
use crate::figures::{Catalog, Unit};

/// A statistic, by name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Statistic {
    /// Mean of the figure `party.figure`.
    Mean(String),
    /// A ratio of means, `commissioner.<ratio>`.
    Ratio(String),
}

/// A statistic resolved against one catalog: its components, each a sum
/// of figures of one iteration.
#[derive(Clone, Debug, PartialEq)]
pub struct Resolved {
    parts: Vec<Vec<usize>>,
}

impl Statistic {
    /// Parses `party.figure` or `commissioner.<ratio>`; the error names the
    /// closest statistic.
    pub fn parse(text: &str, catalog: &Catalog) -> Result<Statistic, Problem> {
        if let Some(f) = catalog.figures.iter().find(|f| f.key() == text) {
            if f.unit == Unit::Month
                || matches!(f.name.as_str(), "irr" | "money_multiple")
                || f.name.ends_with("relative_improvement")
            {
                return Err(Problem::with_help(format!("`{text}` is undefined in some worlds (no failure, nothing drawn), so it has no mean to analyse"), Some("use a figure defined in every world, e.g. a party's `net`, `failed` or `peak_funding_need`".into())));
            }
            return Ok(Statistic::Mean(text.to_string()));
        }
        if let Some(r) = catalog
            .ratios
            .iter()
            .find(|r| format!("commissioner.{}", r.name) == text)
        {
            return Ok(Statistic::Ratio(r.name.to_string()));
        }
        let mut names: Vec<String> = catalog
            .figures
            .iter()
            .filter(|f| f.party != "draw")
            .map(|f| f.key())
            .collect();
        names.extend(
            catalog
                .ratios
                .iter()
                .map(|r| format!("commissioner.{}", r.name)),
        );
        let refs: Vec<&str> = names.iter().map(|s| s.as_str()).collect();
        Err(Problem::with_help(
            format!("`{text}` is not a figure or ratio of this scenario"),
            crate::error::suggest(text, &refs).or(Some("figures are `party.figure` (e.g. prime.net, prime.failed, commissioner.paid.total) or commissioner ratios (e.g. commissioner.cost_per_attributable_outcome); `pbrsim run --out` lists them in figures.csv".into())),
        ))
    }

    /// The name in outputs.
    pub fn name(&self) -> String {
        match self {
            Statistic::Mean(k) => k.clone(),
            Statistic::Ratio(r) => format!("commissioner.{r}"),
        }
    }

    /// The statistic in `catalog`, or `None` when that model lacks it.
    pub fn resolve(&self, catalog: &Catalog) -> Option<Resolved> {
        match self {
            Statistic::Mean(k) => {
                catalog
                    .figures
                    .iter()
                    .position(|f| f.key() == *k)
                    .map(|i| Resolved {
                        parts: vec![vec![i]],
                    })
            }
            Statistic::Ratio(r) => catalog
                .ratios
                .iter()
                .find(|x| x.name == *r)
                .map(|x| Resolved {
                    parts: vec![x.numerator.clone(), x.denominator.clone()],
                }),
        }
    }

    /// The unit of its value.
    pub fn unit(&self, catalog: &Catalog) -> Unit {
        match self {
            Statistic::Mean(k) => catalog
                .figures
                .iter()
                .find(|f| f.key() == *k)
                .map_or(Unit::Draw, |f| f.unit),
            Statistic::Ratio(r) if r.starts_with("cost_per") => Unit::Money,
            Statistic::Ratio(_) => Unit::Ratio,
        }
    }
}

impl Resolved {
    /// Number of sums it needs.
    pub fn width(&self) -> usize {
        self.parts.len()
    }

    /// The iteration's components.
    #[inline]
    pub fn component(&self, row: &[f64], k: usize) -> f64 {
        self.parts[k].iter().map(|&i| row[i]).sum()
    }

    /// Adds one iteration's components to `sums`.
    #[inline]
    pub fn push(&self, row: &[f64], sums: &mut [f64]) {
        for (k, s) in sums.iter_mut().enumerate().take(self.parts.len()) {
            *s += self.component(row, k);
        }
    }

    /// The statistic from the sums of `n` iterations.
    pub fn value(&self, sums: &[f64], n: f64) -> f64 {
        if self.parts.len() == 1 {
            sums[0] / n
        } else {
            sums[0] / sums[1]
        }
    }
}

/// Where each arm's statistics keep their sums: `Layout::at[arm][stat]` is
/// the statistic resolved in that arm's catalog and the offset of its
/// components, or `None` when the arm's model lacks it.
#[derive(Clone, Debug)]
pub struct Layout {
    /// Per arm, per statistic.
    pub at: Vec<Vec<Option<(Resolved, usize)>>>,
    /// Total width.
    pub width: usize,
}

impl Layout {
    /// One block of sums per arm and statistic.
    pub fn new(catalogs: &[Catalog], stats: &[Statistic]) -> Layout {
        let mut width = 0;
        let at = catalogs
            .iter()
            .map(|c| {
                stats
                    .iter()
                    .map(|s| {
                        s.resolve(c).map(|r| {
                            let at = width;
                            width += r.width();
                            (r, at)
                        })
                    })
                    .collect()
            })
            .collect();
        Layout { at, width }
    }

    /// Adds one iteration of every arm.
    pub fn push(&self, rows: &[Vec<f64>], sums: &mut [f64]) {
        for (row, arm) in rows.iter().zip(&self.at) {
            for (r, at) in arm.iter().flatten() {
                r.push(row, &mut sums[*at..*at + r.width()]);
            }
        }
    }

    /// Statistic `stat` of arm `arm` from sums over `n` iterations.
    pub fn value(&self, arm: usize, stat: usize, sums: &[f64], n: f64) -> f64 {
        self.at[arm][stat]
            .as_ref()
            .map_or(f64::NAN, |(r, at)| r.value(&sums[*at..], n))
    }
}

/// The statistics named by `--statistic`, each parsed against `model`'s
/// figures; an unknown one is a usage error naming it, with a suggestion.
pub fn parse_all(
    model: &crate::model::Model,
    names: &[String],
) -> Result<Vec<Statistic>, crate::Error> {
    let catalog = Catalog::new(model);
    names
        .iter()
        .map(|n| {
            Statistic::parse(n, &catalog).map_err(|p| {
                let help = p.help.map_or(String::new(), |h| format!("\n  help: {h}"));
                crate::Error::Usage {
                    option: format!("--statistic {n}"),
                    message: format!("{}{help}", p.message),
                }
            })
        })
        .collect()
}
