//! Command-line arguments and help text.

use clap::{Args, Parser, Subcommand};
use pbrsim::scenario::Override;
use std::path::PathBuf;

/// The version and the hash of the source it was built from (batch jobs
/// refuse to mix builds).
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (source ",
    env!("PBRSIM_SOURCE_HASH"),
    ")"
);

/// Simulate payment-by-results contracts: who is paid what, who runs out of
/// cash, and what each extra outcome costs the public purse.
#[derive(Parser, Debug)]
#[command(name = "pbrsim", version = VERSION, about, long_about = None, after_help = "\
Examples:
  pbrsim run                                   run the embedded Work Programme scenario
  pbrsim run scenarios/work_programme.toml --iterations 20000 --out results/
  pbrsim run scenarios/work_programme.toml --set uncertainty.volume=0.7
  pbrsim sweep sweeps/work_programme_esa_charity.toml --out results/esa
                                               every point of a sweep, on common random numbers
  pbrsim validate my_contract.toml             check a scenario without running it
  pbrsim explain my_contract.toml              the contract in plain words

Progress goes to stderr: a bar on a terminal; elsewhere (a log) a line every 5 seconds
(PBRSIM_PROGRESS_SECONDS sets the interval); long runs first say how long they will take.

The scenario format is documented in docs/scenario-format.md; the model in docs/model.md;
sweeps, shards and Slurm in docs/batch.md; shell completion: pbrsim completions SHELL;
a manual page: pbrsim man.")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// No progress, no time estimate and no report on stdout; files in --out
    /// are still written, and stderr still lists them (and which shards ran
    /// or are left), with any error. The same in every command, before or
    /// after its name (completions and man still print what they are asked
    /// for).
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Simulate a scenario and report every party's risk.
    #[command(after_help = "\
Outputs with --out DIR:
  summary.json   run identity, every figure's mean, SE, sd, p5/p50/p95, failure curves
  figures.csv    one row per party and figure (tidy; loads into pandas, R, Excel)
  risk.csv       per party, money figure and level: value at risk, expected shortfall
  allocation.csv per party and level: who bears the contract's downside in its worst worlds
  monthly.csv    per party and month: cash flow and cumulative cash quantiles, failure probability
  distribution.csv per party: the histogram of its net value
  draws.csv      with --draws: one row per iteration, one column per figure
  report.html    with --report: every result as a chart with its numbers, one page (also without --out)
  report.xlsx    with --xlsx: every table as a sheet of one Excel workbook

Every file records the scenario hash, seed, iterations and pbrsim version.
Same scenario and seed give the same numbers, bit for bit, on any number of threads.")]
    Run(RunArgs),
    /// Compare two contracts on common random numbers: the same simulated
    /// people and uncertain draws in every iteration, so the paired
    /// differences are the contracts' own, not noise.
    #[command(after_help = "\
Examples:
  pbrsim compare scenarios/work_programme.toml --set-b payments.price_discount=0.12
  pbrsim compare contract_a.toml contract_b.toml --iterations 20000 --out cmp/

B is A's file when no second file is given. The table shows, per figure, A, B,
the paired difference B - A with its standard error, and the standard error the
difference would have from two independent runs of the same size. With --out DIR,
compare.csv has every figure the two contracts share.")]
    Compare(CompareArgs),
    /// Run many variants of a contract: every point of a sweep file (a list,
    /// a grid or a Latin hypercube of scenario values), or a batch of
    /// scenario files, on common random numbers.
    #[command(after_help = "\
Examples:
  pbrsim sweep sweeps/work_programme_discount_by_volume.toml --out results/discount
  pbrsim sweep scenarios/minimal.toml scenarios/supply_chain.toml --out results/batch
  pbrsim sweep sweeps/work_programme_discount_by_volume.toml --out results/discount --shard 1/4

Writes DIR/sweep.csv and DIR/sweep.parquet: one row per point and figure, with the
swept values as columns. Every point uses the same seed, so the same simulated people
and uncertain draws: differences between points are the contract's, not noise.

Interrupted (Ctrl-C, a kill, a lost node), the same command resumes: finished points
are kept and not run again. With --shard I/N only that share of the work runs; when
all N shards are done, `pbrsim merge DIR` writes the tables, identical to one process.
The sweep format is in docs/batch.md.")]
    Sweep(SweepArgs),
    /// Combine the shards of a run, sweep or design into its results (bit-identical
    /// to running it in one process), or say which shards are missing.
    Merge(MergeArgs),
    /// Write Slurm batch scripts for a run, a sweep or a design: an array
    /// job of shards (one per stage of a design) and a merge job that runs
    /// after it.
    #[command(after_help = "\
Examples:
  pbrsim slurm sweeps/work_programme_discount_by_volume.toml --tasks 8 --out /scratch/me/discount
  pbrsim slurm scenarios/work_programme.toml -n 1000000 --tasks 16 --out runs/wp --submit
  pbrsim slurm designs/work_programme_supply_chain.toml --tasks 8 --out runs/design

Writes DIR/slurm/shards.sbatch (an array of --tasks shards), DIR/slurm/merge.sbatch and
DIR/slurm/submit.sh (submits both, the merge depending on the array). A failed or
killed shard is rerun alone with `sbatch --array=I DIR/slurm/shards.sbatch`.
See docs/batch.md for a walkthrough.")]
    Slurm(SlurmArgs),
    /// Search candidate contract terms for the best design: race them on
    /// common random numbers against an objective and chance constraints,
    /// dropping a candidate only when that holds with the stated confidence.
    #[command(after_help = "\
Examples:
  pbrsim design designs/work_programme_supply_chain.toml --out results/wp-design
  pbrsim design designs/work_programme_supply_chain.toml --out results/wp-design --shard 1/4
  pbrsim slurm designs/work_programme_supply_chain.toml --tasks 4 --out /scratch/me/wp-design

The design file names a scenario and candidate terms (a [list], [grid] or
[latin_hypercube] as in a sweep file), an [objective] (minimise or maximise a figure's
mean or a commissioner ratio), [[constraints]] (event and at_most: P(event) <= level;
events: `any subcontractor fails`, `any provider fails`, `investors lose`, a 0/1 figure
such as `prime.failed`, or `party.figure < value` with <, <=, >, >=), `confidence`
(default 0.95) and `iterations`, the iterations of each candidate still racing at the
end of each stage.

Stage 1 runs every candidate; after each stage a candidate is dropped as infeasible
(a constraint's one-sided Clopper-Pearson lower bound above its level) or dominated
(a candidate with every constraint met is better by the one-sided Student-t bound on
the paired difference); each bound at level (1 - confidence) / (S (C K + C - 1)) for
S stages, C candidates, K constraints. The others run the next stage's iterations (the
same iterations, extended). At the end a candidate is feasible, infeasible, dominated
or too close to call.

Writes DIR/design.csv (every candidate: terms, status, iterations, estimates with
bounds), DIR/pareto.csv (the front of public value against provider risk, with the
designs' terms) and DIR/report.txt (the report printed). Interrupted, the same command
resumes; with --shard I/N each stage's work is split, and any shard that finds every
stage done writes the outputs (or `pbrsim merge DIR`). See docs/design.md.")]
    Design(DesignArgs),
    /// Run a contract's baseline and named stresses (shocks, percentile
    /// bands, combinations) on common random numbers: per party, the change
    /// in expected net, P(loss), P(failure) and peak funding need.
    #[command(after_help = "\
Examples:
  pbrsim stress stresses/programme_history.toml
                          what happened to the real programmes, on the Work Programme scenario
  pbrsim stress stresses/programme_history.toml --scenario my_contract.toml --only volume_48pct_short
  pbrsim stress my_contract.toml          the [[stress]] tables a scenario carries itself

A stress file names a scenario and lists [[stress]] tables:
  scenario = \"../scenarios/work_programme.toml\"
  [[stress]]
  name = \"volume_30pct_short\"
  shocks = [{ path = \"uncertainty.volume\", multiply = 0.7 }]     (or shift = x, set = value)
  [[stress]]
  name = \"worst_decile_economy\"
  bands = [{ input = \"economy\", percentiles = [0, 10] }]       (outputs conditional on the band)
  [[stress]]
  name = \"both\"
  combine = [\"volume_30pct_short\", \"worst_decile_economy\"]

A shock on an uncertain parameter moves every draw and keeps each world's percentile, so
the stressed world is the baseline world, shocked. A shock to a later year's macro
multiplier (uncertainty.macro_by_year[k]) costs only the months from that year on: each
world takes the baseline's months before it (the same numbers, less time). With --out DIR,
stress.csv: one row per stress, party and statistic. The format and a worked example:
docs/stress-testing.md.")]
    Stress(StressArgs),
    /// Which uncertain inputs drive a statistic: a tornado (each input at a
    /// low and a high percentile, the others as drawn) and Sobol indices
    /// (first-order and total shares of variance), on common random numbers.
    #[command(after_help = "\
Examples:
  pbrsim sensitivity scenarios/work_programme.toml --statistic prime.net
  pbrsim sensitivity scenarios/work_programme.toml --statistic esa_charity.failed --method tornado --low 5 --high 95
  pbrsim sensitivity scenarios/work_programme.toml --statistic commissioner.cost_per_attributable_outcome -n 4000 --out sens/

A statistic is a figure's mean (party.figure: prime.net, prime.failed = P(failure),
prime.loss = P(loss), commissioner.paid.total) or a commissioner ratio
(commissioner.cost_per_attributable_outcome). Inputs are the shared factors, each
uncertain parameter (by path) and, for Sobol, the participants (participant-level noise).
Cost: a tornado runs 1 + 2k arms and Sobol k + 2 arms of --iterations worlds for k
inputs. With --out DIR: tornado.csv and sobol.csv. Method: docs/stress-testing.md.")]
    Sensitivity(SensitivityArgs),
    /// What better evidence would buy: per party, how much of the variance
    /// of its net value and of its failure comes from the uncertain
    /// parameters (which evidence could narrow) and how much from
    /// participant-level noise (which it could not).
    #[command(after_help = "\
Examples:
  pbrsim evidence scenarios/work_programme.toml
  pbrsim evidence scenarios/peterborough_sib.toml -n 20000 --out results/

Each world is simulated twice with the same parameter draws and independent participants;
the covariance of the pair is the parameters' share (Var E[Y|parameters]) and half their
mean squared difference the participants' (E Var(Y|parameters)). The two add up to the
total variance. \"sd if parameters known\" is the spread that would remain with perfect
evidence on every uncertain parameter. With --out DIR, evidence.csv: one row per party and
statistic.")]
    Evidence(EvidenceArgs),
    /// Value of information for a choice between contract designs: what
    /// perfect evidence on every uncertain input (EVPI), and on each group
    /// of inputs (EVPPI), would be worth to the commissioner choosing.
    #[command(after_help = "\
Examples:
  two designs in two files:
    pbrsim voi wp.toml wp_corridor.toml -n 20000 --out voi/
  designs as variants of one file, valued on the public's net value:
    pbrsim voi scenarios/work_programme.toml \\
      --variant deeper_discount:payments.price_discount=0.25 \\
      --variant higher_fee:segments.esa_flow.tariff.attachment=600
  valued on a cost (less is better), inputs grouped by hand:
    pbrsim voi a.toml b.toml --objective commissioner.paid.total --minimise \\
      --group economy='macro.*' --group take_up=volume,segments.esa_flow.volume

Every design runs the same worlds (common random numbers): world i draws the same volume,
effect, macro path and costs under each, so the designs must share their uncertain inputs.
The objective of each design is regressed on the inputs of a group (a polynomial whose
degree grows with the worlds; Strong, Oakley and Brennan 2014); EVPPI is the mean over worlds
of the best design's fitted objective, less the fitted objective of the design best on
average. Standard errors combine the worlds' sampling error and the fit's. Default groups:
volume, effect, macro, cost, and each other uncertain key alone. All worlds' results are
kept in memory (about 8 bytes x worlds x designs x exported figures).
With --out DIR: voi.csv (per group), voi_designs.csv (per design), draws_long.csv
(iteration, design, figure, value) and inputs.csv (iteration and each input), the layout
R's voi, BCEA and dampack read (docs/value-of-information.md).")]
    Voi(VoiArgs),
    /// Find the value of one scenario value at which a statistic meets a
    /// target, with a 95% interval (bisection on common random numbers).
    #[command(after_help = "\
Examples:
  smallest reserves for which the charity fails with probability at most 5%:
    pbrsim solve scenarios/work_programme.toml --vary subcontractors.esa_charity.reserves \\
      --between 0 2000000 --statistic esa_charity.failed --target 0.05
  deepest bid discount for which P(prime loss) stays at 10%:
    pbrsim solve scenarios/work_programme.toml --vary payments.price_discount --between 0 0.3 \\
      --statistic prime.loss --target 0.10
  the outcome tariff at which expected payments equal expected savings:
    pbrsim solve scenarios/minimal.toml --vary segments.jobseekers.tariff.outcome \\
      --between 0 5000 --statistic commissioner.benefit_cost_ratio --target 1

Every value is run on the same iterations from the same seed, so the statistic is a
fixed function of the value and bisection is exact for it. The interval is the set of
values whose statistic's 95% interval contains the target. When the statistic does not
cross the target between the ends of --between, the answer is \"unreachable in range\",
with the statistic at both ends (exit code 1). With --out DIR, solve.csv: the answer in one row.")]
    Solve(SolveArgs),
    /// Reverse stress test: the smallest shock, along directions you name,
    /// at which a party fails with probability at least p, and rules
    /// describing the worlds that fail.
    #[command(
        name = "reverse-stress",
        after_help = "\
Examples:
  pbrsim reverse-stress scenarios/work_programme.toml --party prime --probability 0.5 \\
    --direction uncertainty.volume*0.4 --direction uncertainty.macro_by_year*0.5 --direction uncertainty.cost*1.5

A direction is a shock at full size: PATH*FACTOR (multiply: uncertainty.volume*0.4 is volume
60% short) or PATH+SHIFT (uncertainty.effect+-0.2). Size s in [0, 1] scales it (a multiplier
1 + s (FACTOR - 1), a shift s SHIFT). Each direction is searched alone, then all together.
The rules say which draws of the uncertain parameters the failing worlds have, at the
shock found: one- and two-parameter cuts at deciles that best separate them. With --out DIR,
reverse_stress.csv (one row per search) and failure_rules.csv (one row per rule)."
    )]
    ReverseStress(ReverseArgs),
    /// Fit a reference class from the planned and actual payments of real
    /// contracts: each contract's achievement ratio and delay against its
    /// first plan, their spread, and how well that spread predicts each
    /// contract left out of the fit.
    #[command(
        name = "reference-class",
        after_help = "\
Examples:
  pbrsim reference-class backtests/impact_bonds/outcome_payments.csv \\
    --projects backtests/impact_bonds/projects.csv --out results/reference-class

The payments file has one row per payment record: project_id, type (planned or actual),
plan (planned rows), period_start and period_end (YYYY-MM), currency, amount; other columns
are ignored. Records of one series add up and are spread over their months. Each contract is
compared with its first plan (plan1, else a plan called original, else the first): the
ratio r and delay d minimising the squared distance between the actual cumulative payments
and r times the plan's cumulative payments d months later, up to the last actual payment
(to the later end for a contract the projects file marks Complete). The class is normal in
ln r and d; each contract left out is predicted by the others through the Student-t
predictive distribution. With --out DIR: contracts.csv (one row per contract) and
reference_class.toml. See docs/backtesting.md."
    )]
    ReferenceClass(ReferenceClassArgs),
    /// Write a scenario whose expected payments follow a contract's payment
    /// plan, with a reference class as the uncertainty of its volume.
    #[command(
        name = "from-plan",
        after_help = "\
Examples:
  pbrsim from-plan backtests/impact_bonds/outcome_payments.csv --contract INDIGO-POJ-0167 \\
    --class results/reference-class/reference_class.toml -o cornwall.toml
  pbrsim run cornwall.toml --out results/cornwall

The contract's first plan (plan1, else a plan called original, else the first) becomes a
referral profile of payment units of 1,000 each, paid on arrival, from its first planned
payment to its last: at volume 1 the expected payments are the plan's, month by month.
With --class, the volume is the class's achievement ratio: lognormal, median exp(mean ln r),
sigma the predictive sd (sd x sqrt(1 + 1/n)). See docs/backtesting.md."
    )]
    FromPlan(FromPlanArgs),
    /// Back-test a scenario: where realised series (payments, referrals,
    /// outcomes by period)
    /// fell in its predictive distribution, period by period and as running
    /// totals.
    #[command(after_help = "\
Examples:
  pbrsim from-plan backtests/impact_bonds/outcome_payments.csv --contract INDIGO-POJ-0167 \\
    --class results/reference-class/reference_class.toml \\
    -o cornwall.toml --realised cornwall_paid.csv
  pbrsim backtest cornwall.toml cornwall_paid.csv --out results/cornwall-backtest

The realised file has one row per period: series (payments, referrals or outcomes),
segment (optional column: a segment's id for its referrals or outcomes, empty for the
total), period_start, period_end (YYYY-MM, inclusive), currency (the scenario's for
payments, empty for counts), value; one value per period of each series, no overlaps and
no gaps between its first period and its last. The scenario's `time.start_month` says
which calendar month its month 0 is. Payments are the public side's net outflow in the
period: every payment to the prime less refunds, plus the commissioner's own costs.
For each period and each running total from the first period: the predictive mean and
5/25/50/75/95% quantiles over the iterations and the realised value's PIT (its mid-rank
among them). Every iteration's monthly outflow, figures and counts are kept: about 8
bytes x iterations x (months x (1 + count series) + figures). With --out DIR: backtest.csv, one row per period and running total.")]
    Backtest(BacktestArgs),
    /// Re-forecast mid-contract: reweight a scenario's iterations by how
    /// well they reproduce the payments realised before a month, and
    /// re-forecast every party's payments, net and failure risk.
    #[command(after_help = "\
Examples:
  pbrsim reforecast cornwall.toml cornwall_paid.csv --at 2021-10
  pbrsim reforecast cornwall.toml cornwall_paid.csv --at 2021-10 --tolerance 0.5 \\
    -n 40000 --out results/cornwall-2021-10

The realised file is the one `pbrsim backtest` reads (payments, referrals, outcomes).
The periods that end before --at are conditioned on: each is read as the world's value
plus normal error with sd TOLERANCE x the period's prior predictive sd, and each
iteration (a whole world: its parameters and every participant's path) is weighted by
the likelihood of all of them. Counts of a few dozen a period vary by chance as much as
the parameters move them: give them a tolerance of about 1. Every figure is then
re-forecast from the weighted iterations, with the uncertain inputs' values, the public
side's payments before and from --at, and each provider's chance of failing from --at.
The effective sample size says how many equally weighted worlds the re-forecast is
worth; below 100 it warns. Periods from --at on, if any, are placed in the prior and the
re-forecast (PIT). With nothing before --at, the re-forecast is the prior forecast.
With --out DIR: reforecast.csv, one row per figure, and weights.csv, each iteration's
weight (the iterations of `pbrsim run --draws` with the same seed). See docs/backtesting.md.")]
    Reforecast(ReforecastArgs),
    /// Calibration over many back-tests and re-forecasts: how many realised
    /// values fell inside their forecasts' 50% and 90% bands.
    #[command(after_help = "\
Examples:
  pbrsim calibration results/backtest-impact-bonds
  pbrsim calibration a/backtest.csv b/backtest.csv c/reforecast.csv --out results/calibration

Reads backtest.csv and reforecast.csv files (directories are searched for them). A case is
each series of a back-test, placed by its last running total, or each series of a
re-forecast, placed by what was realised after --at, in the prior and in the re-forecast.
For each kind: the cases inside their central 50% and 90% bands, with the binomial 95%
range a calibrated forecast of independent cases would give, the mean PIT (0.5 if
calibrated) and the PITs by tenth. With --out DIR: calibration.csv, one row per case.
See docs/backtesting.md.")]
    Calibration(CalibrationArgs),
    /// Turn a results directory into report.html (charts, their numbers and
    /// a reading of each, in one self-contained page) and report.xlsx (every
    /// table as a sheet of one Excel workbook).
    #[command(after_help = "\
Examples:
  pbrsim run scenarios/work_programme.toml --out results/wp
  pbrsim report results/wp                      # report.html and report.xlsx
  pbrsim report results/wp --html --charts slides/   # the page, and each chart as an SVG file
  pbrsim stress stresses/programme_history.toml --out results/stress && pbrsim report results/stress

DIR is the --out directory of any pbrsim command (run, compare, sweep, stress, sensitivity,
evidence, solve, reverse-stress, voi, design, backtest, ...). The page draws every chart
from the tables there (no second computation): for a run, each provider's cash fan, its
failure curve and net-value histogram, who bears the downside and what the commissioner
pays; for an analysis, its comparison, stresses, tornado, Sobol indices, variance split,
search path, sweep lines or reverse-stress rules. It opens offline and prints to PDF. When
the run's scenario file is still where it was, unchanged, the page also explains the
contract. In the workbook, every CSV becomes a sheet with the same numbers; a table longer
than a sheet holds (1,048,576 rows, e.g. a large draws.csv) is left out and the first
sheet says so. See docs/outputs.md.")]
    Report(ReportArgs),
    /// Check a scenario file and report every problem, without running it.
    Validate(ScenarioArgs),
    /// Describe a scenario's contract in plain words.
    Explain(ScenarioArgs),
    /// Print a shell completion script.
    #[command(after_help = "\
Examples:
  pbrsim completions bash > ~/.local/share/bash-completion/completions/pbrsim
  pbrsim completions zsh > ~/.zfunc/_pbrsim        (with fpath+=~/.zfunc in ~/.zshrc)
  pbrsim completions fish > ~/.config/fish/completions/pbrsim.fish")]
    Completions(CompletionsArgs),
    /// Print the manual page (roff), or write one page per command into a
    /// directory.
    #[command(after_help = "\
Examples:
  pbrsim man > pbrsim.1 && man ./pbrsim.1
  pbrsim man --out man/        man/pbrsim.1, man/pbrsim-run.1, ... (one page per command)")]
    Man(ManArgs),
}

#[derive(Args, Debug)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Args, Debug)]
pub struct ManArgs {
    /// Directory for pbrsim.1 and a page per command (created if missing);
    /// without it, pbrsim.1 on stdout.
    #[arg(short, long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct ScenarioArgs {
    /// Scenario file (TOML).
    pub scenario: PathBuf,
    /// Override a scenario value by its path, e.g.
    /// --set segments.jsa_25_plus.referrals_per_month=1200 (repeatable).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub overrides: Vec<Override>,
}

#[derive(Args, Debug)]
pub struct StressArgs {
    /// Stress file (TOML), or a scenario carrying [[stress]] tables.
    pub file: PathBuf,
    /// Apply the stresses to this scenario instead of the one the file names.
    #[arg(long, value_name = "SCENARIO")]
    pub scenario: Option<PathBuf>,
    /// Run only these stresses (repeatable).
    #[arg(long, value_name = "NAME")]
    pub only: Vec<String>,
    /// Override a baseline value before the stresses apply (repeatable).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub overrides: Vec<Override>,
    #[command(flatten)]
    pub sim: Simulation,
    #[command(flatten)]
    pub sampling: SamplingArgs,
    /// Directory for stress.csv (created if missing).
    #[arg(short, long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct SensitivityArgs {
    #[command(flatten)]
    pub contract: Contract,
    /// The statistic to explain (repeatable).
    #[arg(long, value_name = "STATISTIC", default_value = "prime.net")]
    pub statistic: Vec<String>,
    /// Tornado, Sobol indices, or both.
    #[arg(long, value_enum, default_value_t = Method::Both)]
    pub method: Method,
    /// Low percentile of each input for the tornado (0-100).
    #[arg(long, default_value_t = 10.0)]
    pub low: f64,
    /// High percentile of each input for the tornado (0-100).
    #[arg(long, default_value_t = 90.0)]
    pub high: f64,
    #[command(flatten)]
    pub sampling: SamplingArgs,
    /// Directory for tornado.csv and sobol.csv.
    #[arg(short, long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// Which sensitivity analysis to run.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// One input at a time, at a low and a high percentile.
    Tornado,
    /// First-order and total Sobol indices.
    Sobol,
    /// Both.
    Both,
}

#[derive(Args, Debug)]
pub struct EvidenceArgs {
    #[command(flatten)]
    pub contract: Contract,
    /// Directory for evidence.csv (created if missing).
    #[arg(short, long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct VoiArgs {
    /// The designs: scenario files, each `FILE` or `NAME=FILE` (the name
    /// defaults to the file's stem).
    #[arg(value_name = "DESIGN")]
    pub designs: Vec<String>,
    /// A further design: the first file with these values, `NAME:PATH=VALUE`
    /// (repeatable; the same NAME again adds a value to that design).
    #[arg(long, value_name = "NAME:PATH=VALUE")]
    pub variant: Vec<String>,
    /// Override a value of every design (repeatable).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub overrides: Vec<Override>,
    /// The figure the commissioner chooses on (party.figure).
    #[arg(long, default_value = "commissioner.net_value")]
    pub objective: String,
    /// Less of the objective is better (a cost); by default more is.
    #[arg(long)]
    pub minimise: bool,
    /// A group of inputs valued together: NAME=INPUT[,INPUT...], an input
    /// by its name in draws.csv without `draw.` (`volume`, `macro.year2`,
    /// `segments.esa_flow.volume`) or a prefix ending in `*` (repeatable;
    /// replaces the default groups).
    #[arg(long, value_name = "NAME=INPUTS")]
    pub group: Vec<String>,
    /// A figure written per world to draws_long.csv (repeatable; replaces
    /// the default: the objective, the commissioner's payments, savings,
    /// attributable outcomes and net value, and each party's net and
    /// failure).
    #[arg(long, value_name = "FIGURE")]
    pub export: Vec<String>,
    #[command(flatten)]
    pub sim: Simulation,
    /// Directory for voi.csv, voi_designs.csv, draws_long.csv and
    /// inputs.csv (created if missing).
    #[arg(short, long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct ReferenceClassArgs {
    /// Planned and actual payments, one row per payment record.
    #[arg(value_name = "PAYMENTS.csv")]
    pub payments: PathBuf,
    /// A projects file (`project_id`, `stage`): contracts whose stage is
    /// `Complete` are compared to the later of the two series' ends; the
    /// others only up to their last actual payment.
    #[arg(long, value_name = "PROJECTS.csv")]
    pub projects: Option<PathBuf>,
    /// Fit the class without this contract (repeatable): the class a
    /// back-test of that contract should use.
    #[arg(long, value_name = "ID")]
    pub leave_out: Vec<String>,
    /// The class's name in reference_class.toml [default: the payments
    /// file's directory name]
    #[arg(long)]
    pub name: Option<String>,
    /// Directory for contracts.csv and reference_class.toml (created if
    /// missing).
    #[arg(short, long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct FromPlanArgs {
    /// Planned and actual payments, one row per payment record.
    #[arg(value_name = "PAYMENTS.csv")]
    pub payments: PathBuf,
    /// The contract (its `project_id`).
    #[arg(long, value_name = "ID")]
    pub contract: String,
    /// A reference class (`reference_class.toml` from `pbrsim
    /// reference-class`): the volume's uncertainty [default: none, volume 1]
    #[arg(long, value_name = "FILE")]
    pub class: Option<PathBuf>,
    /// Write the scenario here (atomically) [default: standard output]
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Also write what the contract actually paid, by calendar quarter, as
    /// realised series for `pbrsim backtest`.
    #[arg(long, value_name = "FILE")]
    pub realised: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct BacktestArgs {
    /// The scenario as tendered (with `time.start_month`).
    #[arg(value_name = "SCENARIO")]
    pub scenario: PathBuf,
    /// Realised series, one row per period.
    #[arg(value_name = "REALISED.csv")]
    pub realised: PathBuf,
    /// Override a scenario value (repeatable).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub overrides: Vec<Override>,
    #[command(flatten)]
    pub sim: Simulation,
    /// Directory for backtest.csv (created if missing).
    #[arg(short, long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct CalibrationArgs {
    /// backtest.csv or reforecast.csv files, or directories holding them.
    #[arg(value_name = "RESULTS", required = true)]
    pub results: Vec<PathBuf>,
    /// Directory for calibration.csv (created if missing).
    #[arg(short, long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct ReportArgs {
    /// A results directory: the --out DIR of a pbrsim command.
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// Write report.html (without --html or --xlsx, both are written).
    #[arg(long)]
    pub html: bool,
    /// Write report.xlsx (without --html or --xlsx, both are written).
    #[arg(long)]
    pub xlsx: bool,
    /// Also write each chart of report.html as an SVG file in CHARTS (for
    /// slides and papers).
    #[arg(long, value_name = "CHARTS")]
    pub charts: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct ReforecastArgs {
    /// The scenario as tendered (with `time.start_month`).
    #[arg(value_name = "SCENARIO")]
    pub scenario: PathBuf,
    /// Realised series, one row per period.
    #[arg(value_name = "REALISED.csv")]
    pub realised: PathBuf,
    /// The month to re-forecast from, YYYY-MM: periods ending before it are
    /// conditioned on.
    #[arg(long, value_name = "YYYY-MM")]
    pub at: String,
    /// Observation error, as a share of each period's prior predictive sd.
    #[arg(long, value_name = "SHARE", default_value_t = pbrsim::backtest::reforecast::DEFAULT_TOLERANCE)]
    pub tolerance: f64,
    /// Override a scenario value (repeatable).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub overrides: Vec<Override>,
    #[command(flatten)]
    pub sim: Simulation,
    /// Directory for reforecast.csv (created if missing).
    #[arg(short, long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct SolveArgs {
    #[command(flatten)]
    pub contract: Contract,
    /// The scenario value to vary, by path (as for --set).
    #[arg(long, value_name = "PATH")]
    pub vary: String,
    /// The range searched.
    #[arg(long, num_args = 2, value_names = ["LOW", "HIGH"], allow_negative_numbers = true, required = true, action = clap::ArgAction::Set)]
    pub between: Vec<f64>,
    /// The statistic (a figure's mean, e.g. esa_charity.failed, or a commissioner ratio).
    #[arg(long, value_name = "STATISTIC")]
    pub statistic: String,
    /// The value the statistic should take.
    #[arg(long, allow_negative_numbers = true)]
    pub target: f64,
    #[command(flatten)]
    pub sampling: SamplingArgs,
    /// Directory for solve.csv (created if missing).
    #[arg(short, long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct ReverseArgs {
    #[command(flatten)]
    pub contract: Contract,
    /// The provider whose failure is searched for (prime or a subcontractor id).
    #[arg(long)]
    pub party: String,
    /// The failure probability to reach.
    #[arg(long, default_value_t = 0.5)]
    pub probability: f64,
    /// A shock at full size: PATH*FACTOR or PATH+SHIFT (repeatable).
    #[arg(long, value_name = "SHOCK", required = true)]
    pub direction: Vec<pbrsim::stress::reverse::Direction>,
    #[command(flatten)]
    pub sampling: SamplingArgs,
    /// Directory for reverse_stress.csv and failure_rules.csv (created if
    /// missing).
    #[arg(short, long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// The contract an analysis runs on, and how.
#[derive(Args, Debug)]
pub struct Contract {
    /// Scenario file (TOML); without it, the embedded Work Programme scenario.
    pub scenario: Option<PathBuf>,
    /// Override a scenario value (repeatable).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub overrides: Vec<Override>,
    #[command(flatten)]
    pub sim: Simulation,
}

/// How many worlds, from which seed, on how many threads.
#[derive(Args, Debug)]
pub struct Simulation {
    /// Number of Monte Carlo iterations (possible worlds).
    #[arg(short = 'n', long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    pub iterations: u64,
    /// Seed for every random stream: same seed, same numbers.
    #[arg(short, long, default_value_t = 1)]
    pub seed: u64,
    /// Worker threads (0 = one per core; at most 1024). Results do not
    /// depend on it.
    #[arg(short = 'j', long, default_value_t = 0, value_parser = parse_threads)]
    pub threads: usize,
    /// Run even when the run's estimated memory (4 GiB) or one iteration's
    /// work is beyond its limit.
    #[arg(long)]
    pub allow_large: bool,
}

#[derive(Args, Debug)]
pub struct CompareArgs {
    /// Contract A (TOML).
    pub a: PathBuf,
    /// Contract B (TOML); A's file when omitted.
    pub b: Option<PathBuf>,
    /// Override a value of A (repeatable).
    #[arg(long = "set-a", value_name = "PATH=VALUE")]
    pub set_a: Vec<Override>,
    /// Override a value of B (repeatable).
    #[arg(long = "set-b", value_name = "PATH=VALUE")]
    pub set_b: Vec<Override>,
    #[command(flatten)]
    pub sim: Simulation,
    #[command(flatten)]
    pub sampling: SamplingArgs,
    /// Directory for compare.csv.
    #[arg(short, long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// Scenario file (TOML); without it, the embedded Work Programme scenario.
    pub scenario: Option<PathBuf>,
    #[command(flatten)]
    pub sim: Simulation,
    /// Directory for machine-readable results (created if missing).
    #[arg(short, long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Also write draws.csv: one row per iteration (needs --out and a fixed
    /// number of iterations).
    #[arg(long, requires = "out", conflicts_with = "precision")]
    pub draws: bool,
    /// Also write report.xlsx in --out: every table as a sheet of one Excel
    /// workbook (as `pbrsim report DIR`).
    #[arg(long, requires = "out")]
    pub xlsx: bool,
    /// Also write report.html: the contract explained and every result as a
    /// chart with its numbers, in one page that opens offline. In --out when
    /// given, otherwise in the current directory.
    #[arg(long)]
    pub report: bool,
    /// With --report, also write each chart as an SVG file in CHARTS.
    #[arg(long, value_name = "CHARTS", requires = "report")]
    pub charts: Option<PathBuf>,
    /// Keep adding iterations (1,024 at a time) until FIGURE's mean has a
    /// relative standard error of at most RSE, e.g. --precision prime.net=0.01
    /// (repeatable: all must be met); -n is then the least number of
    /// iterations. The result equals a fixed run of the iterations used.
    #[arg(long, value_name = "FIGURE=RSE", value_parser = parse_precision)]
    pub precision: Vec<(String, f64)>,
    /// The most iterations --precision may use.
    #[arg(long, default_value_t = 1_000_000)]
    pub max_iterations: u64,
    #[command(flatten)]
    pub sampling: SamplingArgs,
    /// Override a scenario value by its path, e.g.
    /// --set segments.jsa_25_plus.referrals_per_month=1200 (repeatable).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub overrides: Vec<Override>,
    /// Quantiles reported for every figure, comma-separated (columns p5,
    /// p50, ...; p2_5 for 0.025; two levels with the same column are
    /// refused).
    #[arg(long, value_delimiter = ',', default_value = "0.05,0.5,0.95", value_parser = parse_quantile)]
    pub quantiles: Vec<f64>,
    /// Levels of value at risk and expected shortfall, comma-separated
    /// (0.95 = the worst 5% of worlds; a level given twice is refused).
    #[arg(long, value_delimiter = ',', default_value = "0.95,0.99", value_parser = parse_risk_level)]
    pub risk_levels: Vec<f64>,
    /// Run only shard I of N of the iterations and store its partial result
    /// in --out; `pbrsim merge DIR` combines the shards. `auto` takes the
    /// shard from SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT when
    /// present (the whole run otherwise).
    #[arg(long, value_name = "I/N", requires = "out", conflicts_with_all = ["draws", "precision"])]
    pub shard: Option<ShardArg>,
}

/// `--sampling`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum SamplingArg {
    /// Independent draws for every iteration.
    MonteCarlo,
    /// Scrambled Sobol' points for the uncertain parameters.
    Sobol,
}

/// `--sampling` and `--randomisations`.
#[derive(Args, Debug)]
pub struct SamplingArgs {
    /// How the uncertain parameters are sampled. `monte-carlo`: independent
    /// draws. `sobol`: scrambled Sobol' points (randomised quasi-Monte
    /// Carlo), which spread the parameters' worlds evenly and usually give
    /// smaller errors for the same iterations (docs/analytics.md);
    /// participant-level events stay random. Its error bars come from
    /// --randomisations independent scrambles.
    #[arg(long, value_enum, default_value_t = SamplingArg::MonteCarlo)]
    pub sampling: SamplingArg,
    /// With --sampling sobol: independent randomisations, whose spread
    /// gives every standard error (2 to 1024, default 16; more gives a
    /// steadier error bar, fewer points per scramble).
    #[arg(long, value_parser = clap::value_parser!(u32).range(2..=pbrsim::qmc::MAX_RANDOMISATIONS as i64))]
    pub randomisations: Option<u32>,
}

impl SamplingArgs {
    /// The sampling the options ask for; `--randomisations` without
    /// `--sampling sobol` is refused, as it would change nothing.
    pub fn sampling(&self) -> Result<pbrsim::engine::Sampling, pbrsim::Error> {
        match (self.sampling, self.randomisations) {
            (SamplingArg::MonteCarlo, None) => Ok(pbrsim::engine::Sampling::MonteCarlo),
            (SamplingArg::MonteCarlo, Some(_)) => Err(pbrsim::Error::Usage {
                option: "--randomisations".into(),
                message:
                    "it applies to --sampling sobol only: add --sampling sobol, or leave it out"
                        .into(),
            }),
            (SamplingArg::Sobol, r) => Ok(pbrsim::engine::Sampling::Sobol {
                randomisations: r.unwrap_or(pbrsim::qmc::DEFAULT_RANDOMISATIONS),
            }),
        }
    }
}

/// `--shard I/N` or `--shard auto`.
#[derive(Clone, Debug)]
pub enum ShardArg {
    /// An explicit shard.
    Fixed(pbrsim::batch::shard::Shard),
    /// From the scheduler's environment.
    Auto,
}

impl std::str::FromStr for ShardArg {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s == "auto" {
            Ok(ShardArg::Auto)
        } else {
            s.parse().map(ShardArg::Fixed)
        }
    }
}

impl ShardArg {
    /// The shard to run (the whole job when `auto` finds no array task).
    pub fn resolve(&self) -> Result<pbrsim::batch::shard::Shard, String> {
        use pbrsim::batch::shard::Shard;
        match self {
            ShardArg::Fixed(s) => Ok(*s),
            ShardArg::Auto => Shard::from_slurm_env().unwrap_or(Ok(Shard::WHOLE)),
        }
    }
}

/// The statistics reported for every figure.
#[derive(Args, Debug, Clone)]
pub struct Reporting {
    /// Quantiles reported for every figure, comma-separated (two levels
    /// with the same column, p5 for 0.05, are refused).
    #[arg(long, value_delimiter = ',', default_value = "0.05,0.5,0.95", value_parser = parse_quantile)]
    pub quantiles: Vec<f64>,
    /// Levels of value at risk and expected shortfall, comma-separated (a
    /// level given twice is refused).
    #[arg(long, value_delimiter = ',', default_value = "0.95,0.99", value_parser = parse_risk_level)]
    pub risk_levels: Vec<f64>,
}

#[derive(Args, Debug)]
pub struct SweepArgs {
    /// A sweep file, or several scenario files to run as a batch.
    #[arg(required = true, num_args = 1..)]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub sim: Simulation,
    /// Directory for the results and the resumable state (created if missing).
    #[arg(short, long, value_name = "DIR")]
    pub out: PathBuf,
    /// Run only shard I of N (0-based), or `auto` (from SLURM_ARRAY_TASK_ID
    /// and SLURM_ARRAY_TASK_COUNT when present).
    #[arg(long, value_name = "I/N")]
    pub shard: Option<ShardArg>,
    #[command(flatten)]
    pub reporting: Reporting,
    #[command(flatten)]
    pub sampling: SamplingArgs,
}

#[derive(Args, Debug)]
pub struct DesignArgs {
    /// A design file (docs/design.md).
    pub file: PathBuf,
    /// Seed for every random stream: same seed, same numbers.
    #[arg(short, long, default_value_t = 1)]
    pub seed: u64,
    /// Worker threads (0 = one per core; at most 1024). Results do not
    /// depend on it.
    #[arg(short = 'j', long, default_value_t = 0, value_parser = parse_threads)]
    pub threads: usize,
    /// Run even when a candidate's estimated memory (4 GiB) or one
    /// iteration's work is beyond its limit.
    #[arg(long)]
    pub allow_large: bool,
    /// Directory for the results and the resumable state (created if missing).
    #[arg(short, long, value_name = "DIR")]
    pub out: PathBuf,
    /// Run only shard I of N (0-based) of each stage, or `auto` (from
    /// SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT when present).
    #[arg(long, value_name = "I/N")]
    pub shard: Option<ShardArg>,
}

#[derive(Args, Debug)]
pub struct MergeArgs {
    /// The output directory the shards wrote to.
    pub dir: PathBuf,
}

#[derive(Args, Debug)]
pub struct SlurmArgs {
    /// A sweep file, a design file, or a scenario file for a single run.
    pub file: PathBuf,
    /// Override a value of a scenario run (repeatable; not for sweeps).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub overrides: Vec<Override>,
    /// Number of array tasks (shards).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub tasks: u64,
    /// Output directory, on a file system every node can write.
    #[arg(short, long, value_name = "DIR")]
    pub out: PathBuf,
    /// Number of Monte Carlo iterations (per point for a sweep).
    #[arg(short = 'n', long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    pub iterations: u64,
    /// Seed for every random stream.
    #[arg(short, long, default_value_t = 1)]
    pub seed: u64,
    /// CPUs per task (threads of each shard; at most 1024).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=MAX_THREADS as i64))]
    pub cpus_per_task: u32,
    /// Array tasks running at once (sbatch's %N throttle); all when omitted.
    #[arg(long)]
    pub max_running: Option<u32>,
    /// Partition (queue).
    #[arg(long)]
    pub partition: Option<String>,
    /// Account to charge.
    #[arg(long)]
    pub account: Option<String>,
    /// Time limit per task, e.g. 01:00:00.
    #[arg(long)]
    pub time: Option<String>,
    /// Memory per task, e.g. 2G.
    #[arg(long)]
    pub mem: Option<String>,
    #[command(flatten)]
    pub reporting: Reporting,
    // A run's or a sweep's sampling, passed to every array task (a design
    // refuses Sobol' points).
    #[command(flatten)]
    pub sampling: SamplingArgs,
    /// Let every shard run even when a run's estimated memory (4 GiB) or
    /// one iteration's work is beyond its limit.
    #[arg(long)]
    pub allow_large: bool,
    /// Submit with sbatch after writing the scripts.
    #[arg(long)]
    pub submit: bool,
}

fn parse_precision(s: &str) -> Result<(String, f64), String> {
    let (key, value) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}` is not FIGURE=RSE, e.g. prime.net=0.01"))?;
    let rse: f64 = value.trim().parse().map_err(|_| {
        format!("`{value}` is not a number (a relative standard error such as 0.01)")
    })?;
    if !(rse > 0.0 && rse < 1.0) {
        return Err(format!(
            "a relative standard error must be in (0, 1), got {rse}"
        ));
    }
    Ok((key.trim().to_string(), rse))
}

/// The most worker threads a command starts: more than any machine's cores
/// gains nothing, and starting a hundred thousand takes minutes.
pub const MAX_THREADS: usize = 1024;

fn parse_threads(s: &str) -> Result<usize, String> {
    let n: usize = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a thread count such as 4 (0 = one per core)"))?;
    if n > MAX_THREADS {
        return Err(format!(
            "at most {MAX_THREADS} worker threads, got {n}; 0 uses one per core"
        ));
    }
    Ok(n)
}

fn parse_quantile(s: &str) -> Result<f64, String> {
    parse_level(s, "a quantile", "0.05")
}

fn parse_risk_level(s: &str) -> Result<f64, String> {
    parse_level(s, "a risk level", "0.95")
}

fn parse_level(s: &str, what: &str, example: &str) -> Result<f64, String> {
    let level: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not {what} such as {example}"))?;
    if !(level > 0.0 && level < 1.0) {
        return Err(format!("{what} must be in (0, 1), got {level}"));
    }
    Ok(level)
}
