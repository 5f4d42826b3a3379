//! Named stresses against the baseline, on common random numbers: per
//! party, the change in expected net, P(loss), P(failure) and peak funding
//! need, with paired intervals.

use super::arms::{Arm, Estimate, run_arms};
use super::file::Prepared;
use super::statistic::{Layout, Statistic};
use super::worlds::Worlds;
use crate::engine::RunConfig;
use crate::figures::Catalog;
use crate::model::Model;

/// One statistic under one stress.
#[derive(Clone, Debug)]
pub struct StressRow {
    /// Stress name.
    pub stress: String,
    /// Party id (`commissioner`, `prime`, a subcontractor, an investor).
    pub party: String,
    /// The statistic (`prime.net`, `commissioner.cost_per_attributable_outcome`).
    pub statistic: String,
    /// Its unit.
    pub unit: crate::figures::Unit,
    /// Without the stress.
    pub baseline: Estimate,
    /// With it.
    pub stressed: Estimate,
    /// Stressed minus baseline, iteration by iteration.
    pub change: Estimate,
}

/// Every stress's rows, and the work the arms took.
#[derive(Clone, Debug)]
pub struct Stresses {
    /// Per stress, party and statistic.
    pub rows: Vec<StressRow>,
    /// Months simulated: arms that differ from the baseline only in a late
    /// year's macro multiplier take its months before that year.
    pub work: crate::engine::Work,
}

/// What a stress report shows for each party: its expected net, P(loss),
/// P(failure) for providers, the peak funding need; for the commissioner
/// also what it pays, the outcomes it buys and their unit cost.
pub fn reported_statistics(catalog: &Catalog) -> Vec<(String, Statistic)> {
    let mut out = Vec::new();
    for (_, id, _) in &catalog.parties {
        for name in ["net", "loss", "failed", "peak_funding_need"] {
            let key = format!("{id}.{name}");
            if catalog.figures.iter().any(|f| f.key() == key) {
                out.push((id.clone(), Statistic::Mean(key)));
            }
        }
        if id == "commissioner" {
            out.push((
                id.clone(),
                Statistic::Mean("commissioner.paid.total".into()),
            ));
            out.push((
                id.clone(),
                Statistic::Mean("commissioner.attributable_outcomes".into()),
            ));
            out.push((
                id.clone(),
                Statistic::Ratio("cost_per_attributable_outcome".into()),
            ));
        }
    }
    out
}

/// Runs the baseline and every stress on common random numbers.
pub fn run_stresses(
    baseline: &Model,
    stresses: &[Prepared],
    config: &RunConfig,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Stresses, crate::Error> {
    let mut arms = vec![Arm {
        model: baseline,
        worlds: Worlds::default(),
    }];
    for s in stresses {
        arms.push(Arm {
            model: &s.model,
            worlds: Worlds {
                bands: s.bands.clone(),
                ..Default::default()
            },
        });
    }
    let base_catalog = Catalog::new(baseline);
    let stats = reported_statistics(&base_catalog);
    let catalogs: Vec<Catalog> = arms.iter().map(|a| Catalog::new(a.model)).collect();
    let only: Vec<Statistic> = stats.iter().map(|(_, s)| s.clone()).collect();
    // A stress may lack a figure (say, one that removes a subcontractor).
    let layout = Layout::new(&catalogs, &only);
    let sums = run_arms(
        &arms,
        config,
        layout.width,
        |rows, sums| layout.push(rows, sums),
        progress,
    )?;
    let value = |arm: usize, s: usize, t: &[f64], n: f64| layout.value(arm, s, t, n);
    let mut out = Vec::new();
    for (k, st) in stresses.iter().enumerate() {
        for (s, (party, stat)) in stats.iter().enumerate() {
            out.push(StressRow {
                stress: st.stress.name.clone(),
                party: party.clone(),
                statistic: stat.name(),
                unit: stat.unit(&base_catalog),
                baseline: sums.estimate(|t, n| value(0, s, t, n)),
                stressed: sums.estimate(|t, n| value(k + 1, s, t, n)),
                change: sums.estimate(|t, n| value(k + 1, s, t, n) - value(0, s, t, n)),
            });
        }
    }
    Ok(Stresses {
        rows: out,
        work: sums.work,
    })
}
