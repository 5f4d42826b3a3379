//! The `pbrsim` command: parses arguments, calls the library, prints
//! results or errors, sets the exit code (0 ok, 1 run failure, 2 bad input).

mod cli;
mod progress;

use clap::{CommandFactory, Parser};
use cli::{
    BacktestArgs, CalibrationArgs, Cli, Command, CompareArgs, DesignArgs, EvidenceArgs,
    FromPlanArgs, MergeArgs, Method, ReferenceClassArgs, ReforecastArgs, ReverseArgs, RunArgs,
    ScenarioArgs, SensitivityArgs, SlurmArgs, SolveArgs, StressArgs, SweepArgs, VoiArgs,
};
use pbrsim::batch::{self, Manifest, shard::Shard, sweep};
use pbrsim::engine::{self, RunConfig};
use pbrsim::output::{DrawsWriter, RunInfo, render_report, write_outputs};
use pbrsim::scenario::{self, Loaded, Source};
use progress::{Progress, note, thousands};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let quiet = cli.quiet;
    let outcome = match cli.command {
        Command::Run(args) => run(args, quiet),
        Command::Compare(args) => compare(args, quiet),
        Command::Sweep(args) => sweep_command(args, quiet),
        Command::Merge(args) => merge(args),
        Command::Slurm(args) => slurm(args),
        Command::Design(args) => design_command(args, quiet),
        Command::Stress(args) => stress(args, quiet),
        Command::Sensitivity(args) => sensitivity(args, quiet),
        Command::Evidence(args) => evidence(args, quiet),
        Command::Voi(args) => voi(args, quiet),
        Command::Solve(args) => solve(args, quiet),
        Command::ReverseStress(args) => reverse_stress(args, quiet),
        Command::ReferenceClass(args) => reference_class(args, quiet),
        Command::FromPlan(args) => from_plan(args),
        Command::Backtest(args) => backtest(args, quiet),
        Command::Reforecast(args) => reforecast(args, quiet),
        Command::Calibration(args) => calibration(args, quiet),
        Command::Report(args) => report(args),
        Command::Validate(args) => validate(args, quiet),
        Command::Explain(args) => explain(args, quiet),
        Command::Completions(args) => {
            let mut command = Cli::command();
            clap_complete::generate(args.shell, &mut command, "pbrsim", &mut std::io::stdout());
            Ok(())
        }
        Command::Man(args) => man(args),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            let bad_input = e
                .downcast_ref::<pbrsim::Error>()
                .is_some_and(pbrsim::Error::is_bad_input);
            ExitCode::from(if bad_input { 2 } else { 1 })
        }
    }
}

fn load(
    path: Option<&std::path::Path>,
    overrides: &[scenario::Override],
) -> Result<Loaded, pbrsim::Error> {
    match path {
        Some(p) => scenario::load_file(p, overrides),
        None => Ok(scenario::load_str(
            scenario::DEFAULT_SCENARIO,
            scenario::DEFAULT_SCENARIO_NAME,
            overrides,
        )?),
    }
}

fn compare(args: CompareArgs, quiet: bool) -> anyhow::Result<()> {
    let a = load(Some(&args.a), &args.set_a)?;
    let b = load(Some(args.b.as_deref().unwrap_or(&args.a)), &args.set_b)?;
    let config = RunConfig {
        sampling: args.sampling.sampling()?,
        ..config_of(&args.sim)
    };
    let bar = Progress::new(
        quiet,
        config.iterations,
        "iterations",
        format!("{} iterations x 2 contracts", thousands(config.iterations)),
    );
    let pairs =
        pbrsim::engine::compare::compare(&a.model, &b.model, &config, &|done| bar.set(done))?;
    bar.finish();
    if let Some(dir) = &args.out {
        let path = pbrsim::output::write_comparison(dir, &pairs, &a.hash, &b.hash, &config)?;
        note(format!("wrote {}", path.display()));
    }
    show(
        quiet,
        &pbrsim::output::render_comparison(&a, &b, &pairs, &config),
    );
    Ok(())
}

fn stress(args: StressArgs, quiet: bool) -> anyhow::Result<()> {
    let mut file = pbrsim::stress::file::load_file(&args.file, args.scenario.as_deref())?;
    file.keep_only(&args.only)?;
    let baseline = scenario::load_str(&file.scenario.text, &file.scenario.origin, &args.overrides)?;
    let prepared = file.prepare(&args.overrides).map_err(pbrsim::Error::from)?;
    let config = RunConfig {
        sampling: args.sampling.sampling()?,
        ..config_of(&args.sim)
    };
    let bar = Progress::new(
        quiet,
        config.iterations,
        "iterations",
        format!(
            "{} iterations x {} arms",
            thousands(config.iterations),
            prepared.len() + 1
        ),
    );
    let stresses =
        pbrsim::stress::stresses::run_stresses(&baseline.model, &prepared, &config, &|n| {
            bar.inc(n)
        })?;
    bar.finish();
    if let Some(dir) = &args.out {
        let path = pbrsim::output::stress::write_stresses(
            &dir.join("stress.csv"),
            &stresses.rows,
            &baseline.hash,
            &config,
        )?;
        note(format!("wrote {}", path.display()));
    }
    show(
        quiet,
        &pbrsim::output::stress::render_stresses(&baseline.origin, &prepared, &stresses, &config),
    );
    Ok(())
}

/// Prints a report on stdout, unless `quiet`.
fn show(quiet: bool, text: &str) {
    if !quiet {
        print!("{text}");
    }
}

fn config_of(sim: &cli::Simulation) -> RunConfig {
    RunConfig {
        iterations: sim.iterations,
        seed: sim.seed,
        threads: sim.threads,
        allow_large: sim.allow_large,
        ..Default::default()
    }
}

fn sensitivity(args: SensitivityArgs, quiet: bool) -> anyhow::Result<()> {
    use pbrsim::output::stress as out;
    let loaded = load(args.contract.scenario.as_deref(), &args.contract.overrides)?;
    let model = &loaded.model;
    let stats = pbrsim::stress::statistic::parse_all(model, &args.statistic)?;
    let inputs =
        pbrsim::stress::sensitivity::check_inputs(model, &loaded.origin, args.low, args.high)?;
    let config = RunConfig {
        sampling: args.sampling.sampling()?,
        ..config_of(&args.contract.sim)
    };
    if config.sampling.randomisations().is_some() && args.method != Method::Tornado {
        return Err(pbrsim::Error::Usage {
            option: "--sampling sobol".into(),
            message: "Sobol indices need a second, independent replicate of each world: use it with --method tornado".into(),
        }
        .into());
    }
    let mut written = Vec::new();
    let (mut tornadoes, mut sobol) = (None, None);
    let tornado_arms = if args.method == Method::Sobol {
        0
    } else {
        1 + 2 * (inputs - 1)
    };
    let sobol_arms = if args.method == Method::Tornado {
        0
    } else {
        inputs + 2
    };
    let bar = Progress::new(
        quiet,
        config.iterations * (tornado_arms + sobol_arms),
        "iteration-arms",
        format!(
            "{} iterations x {} arms",
            thousands(config.iterations),
            tornado_arms + sobol_arms
        ),
    );
    if args.method != Method::Sobol {
        let t = pbrsim::stress::sensitivity::tornado(
            model,
            &stats,
            args.low / 100.0,
            args.high / 100.0,
            &config,
            &|n| bar.inc(n * tornado_arms),
        )?;
        if let Some(dir) = &args.out {
            written.push(out::write_tornado(
                &dir.join("tornado.csv"),
                &t,
                &loaded.hash,
                &config,
            )?);
        }
        tornadoes = Some(t);
    }
    if args.method != Method::Tornado {
        let s = pbrsim::stress::sensitivity::sobol(model, &stats, &config, &|n| {
            bar.inc(n * sobol_arms)
        })?;
        if let Some(dir) = &args.out {
            written.push(out::write_sobol(
                &dir.join("sobol.csv"),
                &s,
                &loaded.hash,
                &config,
            )?);
        }
        sobol = Some(s);
    }
    bar.finish();
    for p in written {
        note(format!("wrote {}", p.display()));
    }
    show(
        quiet,
        &out::render_sensitivity(
            &loaded.origin,
            &config,
            tornadoes.as_deref(),
            sobol.as_deref(),
        ),
    );
    Ok(())
}

fn evidence(args: EvidenceArgs, quiet: bool) -> anyhow::Result<()> {
    let loaded = load(args.contract.scenario.as_deref(), &args.contract.overrides)?;
    let config = config_of(&args.contract.sim);
    let bar = Progress::new(
        quiet,
        config.iterations,
        "iterations",
        format!("{} iterations x 2 arms", thousands(config.iterations)),
    );
    let split =
        pbrsim::stress::sensitivity::variance_split(&loaded.model, &config, &|n| bar.inc(n))?;
    bar.finish();
    if let Some(dir) = &args.out {
        let p = pbrsim::output::stress::write_split(
            &dir.join("evidence.csv"),
            &split,
            &loaded.hash,
            &config,
        )?;
        note(format!("wrote {}", p.display()));
    }
    show(
        quiet,
        &pbrsim::output::stress::render_evidence(&loaded.origin, &config, &split),
    );
    Ok(())
}

/// A design's name: letters, digits, `_`, `-` and `.`, so that it reads
/// as one cell in every table.
fn design_name(name: &str) -> Option<&str> {
    (!name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
    .then_some(name)
}

fn reference_class(args: ReferenceClassArgs, quiet: bool) -> anyhow::Result<()> {
    let fitted =
        pbrsim::backtest::fit_files(&args.payments, args.projects.as_deref(), &args.leave_out)?;
    if !quiet {
        print!("{}", pbrsim::backtest::render(&fitted));
    }
    if let Some(dir) = &args.out {
        let name = args.name.clone().unwrap_or_else(|| {
            let parent = args.payments.parent().and_then(|p| p.file_name());
            parent.map_or("reference_class".into(), |p| {
                p.to_string_lossy().into_owned()
            })
        });
        let source = args.payments.display().to_string();
        for p in pbrsim::backtest::write(dir, &fitted, &name, &source)? {
            note(format!("wrote {}", p.display()));
        }
    }
    Ok(())
}

fn from_plan(args: FromPlanArgs) -> anyhow::Result<()> {
    let (text, realised) =
        pbrsim::backtest::from_plan_files(&args.payments, &args.contract, args.class.as_deref())?;
    // What is written is a scenario pbrsim reads back.
    scenario::load_str(&text, "from-plan", &[])?;
    match &args.output {
        Some(path) => {
            pbrsim::output::write_atomic(path, |w| w.write_all(text.as_bytes()))?;
            note(format!("wrote {}", path.display()));
        }
        None => print!("{text}"),
    }
    if let Some(path) = &args.realised {
        pbrsim::output::write_atomic(path, |w| w.write_all(realised.as_bytes()))?;
        note(format!("wrote {}", path.display()));
    }
    Ok(())
}

/// A scenario and the realised series to place in it, in its currency.
fn scenario_and_realised(
    path: &std::path::Path,
    overrides: &[scenario::Override],
    realised: &std::path::Path,
) -> anyhow::Result<(Loaded, Vec<pbrsim::backtest::realised::Period>)> {
    let loaded = scenario::load_file(path, overrides)?;
    let text = scenario::read_text(realised)?;
    let origin = realised.display().to_string();
    let segments: Vec<&str> = loaded
        .model
        .segments
        .iter()
        .map(|s| s.id.as_str())
        .collect();
    let periods =
        pbrsim::backtest::realised::parse(&text, &origin, &loaded.model.currency, &segments)
            .map_err(pbrsim::Error::from)?;
    Ok((loaded, periods))
}

/// The predictive distribution a back-test or re-forecast of `periods`
/// needs, with a progress bar.
fn predictive_for(
    model: &pbrsim::model::Model,
    periods: &[pbrsim::backtest::realised::Period],
    sim: &cli::Simulation,
    quiet: bool,
) -> anyhow::Result<pbrsim::backtest::check::Predictive> {
    let keep: Vec<_> = periods.iter().map(|p| p.key).collect();
    let bar = Progress::new(
        quiet,
        sim.iterations,
        "iterations",
        format!("{} iterations", thousands(sim.iterations)),
    );
    let predictive = pbrsim::backtest::check::predictive_with_progress(
        model,
        &keep,
        sim.iterations,
        sim.seed,
        sim.threads,
        sim.allow_large,
        &|done| bar.set(done),
    )?;
    bar.finish();
    Ok(predictive)
}

fn backtest(args: BacktestArgs, quiet: bool) -> anyhow::Result<()> {
    let (loaded, periods) = scenario_and_realised(&args.scenario, &args.overrides, &args.realised)?;
    let model = &loaded.model;
    let sim = &args.sim;
    let rows = predictive_for(model, &periods, sim, quiet)?.place(&periods)?;
    if !quiet {
        print!(
            "{}",
            pbrsim::backtest::render_backtest(model, &rows, sim.iterations, sim.seed)
        );
    }
    if let Some(dir) = &args.out {
        let p = pbrsim::backtest::write_backtest(dir, &rows, &loaded, sim.iterations, sim.seed)?;
        note(format!("wrote {}", p.display()));
    }
    Ok(())
}

fn calibration(args: CalibrationArgs, quiet: bool) -> anyhow::Result<()> {
    use pbrsim::backtest::calibration;
    let files = calibration::find(&args.results)?;
    let mut cases = Vec::new();
    for f in &files {
        cases.extend(calibration::read(f)?);
    }
    if !quiet {
        print!("{}", calibration::render(&cases, files.len()));
    }
    if let Some(dir) = &args.out {
        let p = calibration::write(dir, &cases)?;
        note(format!("wrote {}", p.display()));
    }
    Ok(())
}

fn reforecast(args: ReforecastArgs, quiet: bool) -> anyhow::Result<()> {
    let at = pbrsim::backtest::payments::month(args.at.trim()).ok_or_else(|| {
        usage(
            "--at",
            format!("`{}` is not a month: give YYYY-MM, e.g. 2021-10", args.at),
        )
    })?;
    let (loaded, periods) = scenario_and_realised(&args.scenario, &args.overrides, &args.realised)?;
    let model = &loaded.model;
    let sim = &args.sim;
    let predictive = predictive_for(model, &periods, sim, quiet)?;
    let r =
        pbrsim::backtest::reforecast::reforecast(model, &predictive, &periods, at, args.tolerance)?;
    if !quiet {
        print!(
            "{}",
            pbrsim::backtest::render_reforecast(model, &r, sim.iterations, sim.seed)
        );
    } else if r.collapsed() {
        note(format!(
            "warning: the re-forecast rests on {:.0} effective worlds: its tails are unreliable",
            r.ess
        ));
    }
    if let Some(dir) = &args.out {
        for p in pbrsim::backtest::write_reforecast(dir, &r, &loaded, sim.iterations, sim.seed)? {
            note(format!("wrote {}", p.display()));
        }
    }
    Ok(())
}

fn voi(args: VoiArgs, quiet: bool) -> anyhow::Result<()> {
    use pbrsim::output::DesignSource;
    use pbrsim::stress::voi::{Design, Spec};
    if args.designs.is_empty() {
        return Err(usage(
            "DESIGN",
            "give the designs to choose between: scenario files (FILE or NAME=FILE), or one file and --variant NAME:PATH=VALUE",
        )
        .into());
    }
    // (name, file, overrides of its own)
    let mut specs: Vec<(String, std::path::PathBuf, Vec<scenario::Override>)> = Vec::new();
    for d in &args.designs {
        let (name, file) = match d.split_once('=') {
            Some((n, f)) if !std::path::Path::new(d).exists() => (n.to_string(), f.to_string()),
            _ => {
                let stem = std::path::Path::new(d)
                    .file_stem()
                    .map_or_else(|| d.clone(), |s| s.to_string_lossy().into_owned());
                (stem, d.clone())
            }
        };
        specs.push((name, file.into(), Vec::new()));
    }
    for v in &args.variant {
        let bad = || {
            usage(
                format!("--variant {v}"),
                "expected NAME:PATH=VALUE, e.g. deeper_discount:payments.price_discount=0.25",
            )
        };
        let (name, value) = v.split_once(':').ok_or_else(bad)?;
        let value: scenario::Override = value.parse().map_err(|_| bad())?;
        match specs
            .iter_mut()
            .skip(args.designs.len())
            .find(|s| s.0 == name)
        {
            Some(s) => s.2.push(value),
            None => specs.push((name.to_string(), specs[0].1.clone(), vec![value])),
        }
    }
    for (k, (name, _, _)) in specs.iter().enumerate() {
        if design_name(name).is_none() {
            return Err(usage(
                format!("design `{name}`"),
                "a design's name is letters, digits, `_`, `-` and `.`; name it with NAME=FILE",
            )
            .into());
        }
        if specs[..k].iter().any(|s| &s.0 == name) {
            return Err(usage(
                format!("design `{name}`"),
                "two designs have this name; name them with NAME=FILE",
            )
            .into());
        }
    }
    if specs.len() < 2 {
        return Err(usage(
            "DESIGN",
            "a value of information needs at least two designs: give another file, or --variant NAME:PATH=VALUE",
        )
        .into());
    }
    let mut loaded = Vec::with_capacity(specs.len());
    let mut sources = Vec::with_capacity(specs.len());
    for (_, file, own) in &specs {
        let mut overrides = args.overrides.clone();
        overrides.extend(own.iter().cloned());
        let l = load(Some(file), &overrides)?;
        let mut origin = l.origin.clone();
        for o in own {
            origin.push_str(&format!(" {}={}", o.path, o.value));
        }
        sources.push(DesignSource {
            origin,
            hash: l.hash.clone(),
        });
        loaded.push(l);
    }
    let designs: Vec<Design> = specs
        .iter()
        .zip(&loaded)
        .map(|((name, _, _), l)| Design {
            name: name.clone(),
            model: &l.model,
        })
        .collect();
    let mut groups = Vec::new();
    for g in &args.group {
        let (name, inputs) = g
            .split_once('=')
            .filter(|(n, i)| !n.trim().is_empty() && !i.trim().is_empty())
            .ok_or_else(|| {
                usage(
                    format!("--group {g}"),
                    "expected NAME=INPUT[,INPUT...], e.g. economy=macro.*",
                )
            })?;
        groups.push((
            name.trim().to_string(),
            inputs.split(',').map(|s| s.trim().to_string()).collect(),
        ));
    }
    let catalog = pbrsim::figures::Catalog::new(&loaded[0].model);
    let export = if args.export.is_empty() {
        let mut e: Vec<String> = [
            "commissioner.paid.total",
            "commissioner.savings",
            "commissioner.attributable_outcomes",
            "commissioner.net_value",
        ]
        .map(String::from)
        .to_vec();
        for (_, id, _) in &catalog.parties {
            e.push(format!("{id}.net"));
            e.push(format!("{id}.failed"));
        }
        e.retain(|k| catalog.figures.iter().any(|f| &f.key() == k));
        e
    } else {
        args.export.clone()
    };
    let spec = Spec {
        objective: args.objective.clone(),
        maximise: !args.minimise,
        export,
        groups,
    };
    let unit = catalog
        .figures
        .iter()
        .find(|f| f.key() == spec.objective)
        .map_or(pbrsim::figures::Unit::Money, |f| f.unit);
    let config = config_of(&args.sim);
    let bar = Progress::new(
        quiet,
        config.iterations,
        "iterations",
        format!(
            "{} iterations x {} designs",
            thousands(config.iterations),
            designs.len()
        ),
    );
    let result = pbrsim::stress::voi::voi(&designs, &spec, &config, &|done| bar.set(done))?;
    bar.finish();
    if let Some(dir) = &args.out {
        for p in pbrsim::output::write_voi(dir, &result, &sources, &config)? {
            note(format!("wrote {}", p.display()));
        }
    }
    show(
        quiet,
        &pbrsim::output::render_voi(&result, unit, &sources, &config),
    );
    Ok(())
}

fn solve(args: SolveArgs, quiet: bool) -> anyhow::Result<()> {
    let src = Source::read_or_embedded(args.contract.scenario.as_deref())?;
    let base = scenario::load_str(&src.text, &src.origin, &args.contract.overrides)?;
    let stat =
        pbrsim::stress::statistic::parse_all(&base.model, std::slice::from_ref(&args.statistic))?
            .remove(0);
    let search = pbrsim::stress::solve::KeySearch {
        source: &src,
        overrides: &args.contract.overrides,
        vary: &args.vary,
        range: (args.between[0], args.between[1]),
        statistic: &stat,
        target: args.target,
    };
    let config = RunConfig {
        sampling: args.sampling.sampling()?,
        ..config_of(&args.contract.sim)
    };
    let bar = Progress::new(
        quiet,
        config.iterations * pbrsim::stress::solve::TYPICAL_EVALUATIONS,
        "iteration-values",
        format!(
            "{} iterations x about {} values",
            thousands(config.iterations),
            pbrsim::stress::solve::TYPICAL_EVALUATIONS
        ),
    );
    let (solution, evaluated) = search.solve_traced(&config, &|n| bar.inc(n))?;
    bar.finish();
    let report = pbrsim::output::stress::SolveReport {
        origin: &src.origin,
        vary: &args.vary,
        statistic: &stat.name(),
        unit: stat.unit(&pbrsim::figures::Catalog::new(&base.model)),
        target: args.target,
        range: search.range,
        integer: search.integer(),
        config: &config,
        solution: &solution,
        evaluated: &evaluated,
    };
    if let Some(dir) = &args.out {
        let p = pbrsim::output::stress::write_solve(&dir.join("solve.csv"), &report, &base.hash)?;
        note(format!("wrote {}", p.display()));
        let p = pbrsim::output::stress::write_solve_path(
            &dir.join("solve_path.csv"),
            &report,
            &base.hash,
        )?;
        note(format!("wrote {}", p.display()));
    }
    show(quiet, &pbrsim::output::stress::render_solve(&report));
    Ok(report.outcome()?)
}

fn reverse_stress(args: ReverseArgs, quiet: bool) -> anyhow::Result<()> {
    if !(0.0 < args.probability && args.probability < 1.0) {
        return Err(usage(
            format!("--probability {}", args.probability),
            "must be between 0 and 1",
        )
        .into());
    }
    let src = Source::read_or_embedded(args.contract.scenario.as_deref())?;
    let config = RunConfig {
        sampling: args.sampling.sampling()?,
        ..config_of(&args.contract.sim)
    };
    let searches = args.direction.len() as u64 + u64::from(args.direction.len() > 1);
    let bar = Progress::new(
        quiet,
        config.iterations * pbrsim::stress::solve::TYPICAL_EVALUATIONS * searches,
        "iteration-sizes",
        format!(
            "{} iterations x about {} shock sizes in {searches} search(es)",
            thousands(config.iterations),
            pbrsim::stress::solve::TYPICAL_EVALUATIONS * searches
        ),
    );
    let results = pbrsim::stress::reverse::reverse_stress(
        &src,
        &args.contract.overrides,
        &args.party,
        args.probability,
        &args.direction,
        &config,
        &|n| bar.inc(n),
    )?;
    bar.finish();
    if let Some(dir) = &args.out {
        let hash = scenario::load_str(&src.text, &src.origin, &args.contract.overrides)?.hash;
        for p in pbrsim::output::stress::write_reverse_stress(
            dir,
            &args.party,
            args.probability,
            &results,
            &hash,
            &config,
        )? {
            note(format!("wrote {}", p.display()));
        }
    }
    show(
        quiet,
        &pbrsim::output::stress::render_reverse_stress(
            &src.origin,
            &args.party,
            args.probability,
            &config,
            &results,
        ),
    );
    Ok(())
}

fn report(args: cli::ReportArgs) -> anyhow::Result<()> {
    let both = !args.html && !args.xlsx;
    let mut written = Vec::new();
    if args.html || both {
        if let (true, Err(why)) = (
            args.dir.join("summary.json").is_file(),
            pbrsim::output::explain_recorded(&args.dir),
        ) {
            note(format!(
                "the contract is not explained in report.html: {why}"
            ));
        }
        written.extend(pbrsim::output::write_html(
            &args.dir,
            None,
            args.charts.as_deref(),
        )?);
    }
    if args.xlsx || both {
        written.push(pbrsim::output::write_workbook(&args.dir)?);
    }
    for p in written {
        note(format!("wrote {}", p.display()));
    }
    Ok(())
}

fn man(args: cli::ManArgs) -> anyhow::Result<()> {
    let command = Cli::command();
    match &args.out {
        Some(dir) => {
            let written = |source| pbrsim::Error::Write {
                path: dir.clone(),
                source,
            };
            std::fs::create_dir_all(dir).map_err(written)?;
            clap_mangen::generate_to(command, dir).map_err(written)?;
            note(format!("wrote {}", dir.join("pbrsim.1").display()));
        }
        None => clap_mangen::Man::new(command).render(&mut std::io::stdout())?,
    }
    Ok(())
}

fn validate(args: ScenarioArgs, quiet: bool) -> anyhow::Result<()> {
    let loaded = load(Some(&args.scenario), &args.overrides)?;
    show(quiet, &pbrsim::output::render_validation(&loaded));
    Ok(())
}

fn explain(args: ScenarioArgs, quiet: bool) -> anyhow::Result<()> {
    let loaded = load(Some(&args.scenario), &args.overrides)?;
    show(quiet, &pbrsim::explain::explain(&loaded.model));
    Ok(())
}

/// A malformed or out-of-range command-line option.
fn usage(option: impl Into<String>, message: impl Into<String>) -> pbrsim::Error {
    pbrsim::Error::Usage {
        option: option.into(),
        message: message.into(),
    }
}

fn shard_of(arg: &Option<cli::ShardArg>) -> Result<Option<Shard>, pbrsim::Error> {
    arg.as_ref()
        .map(|s| s.resolve().map_err(|e| usage("--shard", e)))
        .transpose()
}

/// A run split into shards: this process runs one and stores its part.
fn run_shard(args: &RunArgs, shard: Shard, quiet: bool) -> anyhow::Result<()> {
    pbrsim::output::check_levels(&args.quantiles, &args.risk_levels)?;
    let dir = args.out.as_deref().expect("clap: --shard requires --out");
    let src = Source::read_or_embedded(args.scenario.as_deref())?;
    scenario::load_str(&src.text, &src.origin, &args.overrides)?;
    let options = batch::Options {
        iterations: args.sim.iterations,
        seed: args.sim.seed,
        threads: args.sim.threads,
        quantiles: args.quantiles.clone(),
        risk_levels: args.risk_levels.clone(),
        sampling: args.sampling.sampling()?,
    };
    let manifest = Manifest::of_run(src, &args.overrides, &options, shard.count);
    if shard.count > 1 {
        // The merge command printed at the end names the directory.
        batch::slurm::script_text("--out", dir.as_os_str())?;
    }
    batch::prepare(dir, &manifest)?;
    let total = batch::shard_iterations(&manifest, shard);
    let bar = Progress::new(
        quiet,
        total,
        "iterations",
        format!("{} iterations", thousands(total)),
    );
    let report = batch::run_shard(
        dir,
        &manifest,
        shard,
        args.sim.threads,
        args.sim.allow_large,
        &Default::default(),
        &|_, done| bar.set(done),
    )?;
    bar.finish();
    note(format!(
        "shard {shard}: {} iterations run{}",
        report.iterations,
        if report.kept > 0 {
            " (already done: kept)"
        } else {
            ""
        }
    ));
    if shard.count == 1 {
        for p in batch::merge(dir)?.written {
            note(format!("wrote {}", p.display()));
        }
    } else {
        note(format!(
            "when all {} shards are done: pbrsim merge {}",
            shard.count,
            batch::slurm::shell_quote(&dir.display().to_string())
        ));
    }
    Ok(())
}

fn sweep_command(args: SweepArgs, quiet: bool) -> anyhow::Result<()> {
    pbrsim::output::check_levels(&args.reporting.quantiles, &args.reporting.risk_levels)?;
    let shard = shard_of(&args.shard)?.unwrap_or(Shard::WHOLE);
    let sweep = sweep::load_paths(&args.files)?;
    let options = batch::Options {
        iterations: args.sim.iterations,
        seed: args.sim.seed,
        threads: args.sim.threads,
        quantiles: args.reporting.quantiles.clone(),
        risk_levels: args.reporting.risk_levels.clone(),
        sampling: args.sampling.sampling()?,
    };
    let manifest = Manifest::of_sweep(&sweep, &options, shard.count);
    if shard.count > 1 {
        // The merge command printed at the end names the directory.
        batch::slurm::script_text("--out", args.out.as_os_str())?;
    }
    batch::prepare(&args.out, &manifest)?;
    let points = manifest.points.len();
    let total = batch::shard_iterations(&manifest, shard);
    let bar = Progress::new(
        quiet,
        total,
        "iterations",
        format!("{} iterations", thousands(total)),
    );
    let report = batch::run_shard(
        &args.out,
        &manifest,
        shard,
        args.sim.threads,
        args.sim.allow_large,
        &Default::default(),
        &|p, done| {
            bar.set_message(format!("point {}/{points}, ", p + 1));
            bar.set(done);
        },
    )?;
    bar.finish();
    let kept = if report.kept > 0 {
        format!(", {} already done (kept)", report.kept)
    } else {
        String::new()
    };
    if shard.count > 1 {
        note(format!(
            "shard {shard}: {} point(s) and {} partial point(s) run{kept}",
            report.points_run, report.parts_run
        ));
        note(format!(
            "when all {} shards are done: pbrsim merge {}",
            shard.count,
            batch::slurm::shell_quote(&args.out.display().to_string())
        ));
        return Ok(());
    }
    note(format!(
        "{points} point(s) x {} iterations: {} run{kept}",
        manifest.iterations, report.points_run
    ));
    for p in batch::merge(&args.out)?.written {
        note(format!("wrote {}", p.display()));
    }
    Ok(())
}

fn design_command(args: DesignArgs, quiet: bool) -> anyhow::Result<()> {
    let shard = shard_of(&args.shard)?.unwrap_or(Shard::WHOLE);
    let design = pbrsim::design::load_file(&args.file)?;
    let manifest = pbrsim::design::Manifest::new(&design, args.seed, shard.count);
    if shard.count > 1 {
        batch::slurm::script_text("--out", args.out.as_os_str())?;
    }
    pbrsim::design::prepare(&args.out, &manifest)?;
    let options = pbrsim::design::Options {
        seed: args.seed,
        threads: args.threads,
        allow_large: args.allow_large,
        stop: Default::default(),
    };
    let candidates = design.sweep.points.len() as u64;
    let most = candidates * design.stages.last().copied().unwrap_or(0);
    let bar = Progress::new(
        quiet,
        most,
        "iterations",
        format!("at most {} iterations", thousands(most)),
    )
    .without_estimate();
    let (outcome, work) = pbrsim::design::run(
        &args.out,
        &design,
        &manifest,
        Some(shard),
        &options,
        &|s, racing, n| {
            bar.set_message(format!(
                "stage {} done ({racing} racing to {} iterations), ",
                s + 1,
                thousands(n)
            ))
        },
        &|n| bar.inc(n),
    )?;
    bar.finish();
    let kept = if work.kept > 0 {
        format!(", {} already done (kept)", work.kept)
    } else {
        String::new()
    };
    match outcome {
        pbrsim::design::Outcome::Waiting { stage, shards } => {
            note(format!(
                "shard {shard}: {} part(s) run{kept}; stage {} waits for shard(s) {}",
                work.run,
                stage + 1,
                shards
                    .iter()
                    .map(|s| s.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            note(format!(
                "rerun each shard after the others to go on to the next stage; when all are done: pbrsim merge {}",
                batch::slurm::shell_quote(&args.out.display().to_string())
            ));
        }
        pbrsim::design::Outcome::Done(results) => {
            note(format!(
                "{candidates} candidate(s), {} stage(s) run: {} part(s) run{kept}",
                results.stages.len(),
                work.run
            ));
            let written = pbrsim::design::table::write(&args.out, &design, &manifest, &results)?;
            show(quiet, &pbrsim::design::table::render(&design, &results));
            for p in written {
                note(format!("wrote {}", p.display()));
            }
        }
    }
    Ok(())
}

fn merge(args: MergeArgs) -> anyhow::Result<()> {
    if args.dir.join("design.json").exists() {
        let (design, results, written) = pbrsim::design::finish(&args.dir)?;
        print!("{}", pbrsim::design::table::render(&design, &results));
        for p in written {
            note(format!("wrote {}", p.display()));
        }
        return Ok(());
    }
    let merged = batch::merge(&args.dir)?;
    note(format!("merged {} point(s)", merged.points));
    for p in merged.written {
        note(format!("wrote {}", p.display()));
    }
    Ok(())
}

fn absolute(p: &std::path::Path) -> Result<std::path::PathBuf, pbrsim::Error> {
    std::path::absolute(p).map_err(|source| pbrsim::Error::Read {
        path: p.into(),
        source,
    })
}

fn slurm(args: SlurmArgs) -> anyhow::Result<()> {
    pbrsim::output::check_levels(&args.reporting.quantiles, &args.reporting.risk_levels)?;
    let text = scenario::read_text(&args.file)?;
    let options = batch::Options {
        iterations: args.iterations,
        seed: args.seed,
        threads: args.cpus_per_task as usize,
        quantiles: args.reporting.quantiles.clone(),
        risk_levels: args.reporting.risk_levels.clone(),
        sampling: args.sampling.sampling()?,
    };
    if pbrsim::design::is_design_text(&text) {
        if options.sampling.randomisations().is_some() {
            return Err(usage(
                "--sampling sobol",
                "applies to a run or a sweep; a design samples its candidates' worlds independently",
            )
            .into());
        }
        return design_slurm(args);
    }
    let is_sweep = sweep::is_sweep_text(&text);
    let manifest = if is_sweep {
        if !args.overrides.is_empty() {
            return Err(usage(
                "--set",
                "applies to a scenario run; in a sweep, put the value in the sweep file",
            )
            .into());
        }
        Manifest::of_sweep(&sweep::load_file(&args.file)?, &options, args.tasks)
    } else {
        let src = Source::read_or_embedded(Some(&args.file))?;
        scenario::load_str(&src.text, &src.origin, &args.overrides)?;
        Manifest::of_run(src, &args.overrides, &options, args.tasks)
    };
    let mut extra = vec![
        "--iterations".to_string(),
        args.iterations.to_string(),
        "--seed".into(),
        args.seed.to_string(),
    ];
    extra.push("--quantiles".into());
    extra.push(
        args.reporting
            .quantiles
            .iter()
            .map(|q| q.to_string())
            .collect::<Vec<_>>()
            .join(","),
    );
    extra.push("--risk-levels".into());
    extra.push(
        args.reporting
            .risk_levels
            .iter()
            .map(|q| q.to_string())
            .collect::<Vec<_>>()
            .join(","),
    );
    for o in &args.overrides {
        extra.push(format!("--set={}={}", o.path, o.value));
    }
    extra.extend(options.sampling.options());
    if args.allow_large {
        extra.push("--allow-large".into());
    }
    let command = if is_sweep { "sweep" } else { "run" };
    let job = slurm_job(&args, command, extra)?;
    // Refused before anything is written: a value a script cannot carry.
    job.check()?;
    // The shards must rebuild exactly this manifest: same file path as given here.
    batch::prepare(&args.out, &manifest)?;
    for p in job.write()? {
        note(format!("wrote {}", p.display()));
    }
    submit_or_say(&job.out, args.submit)
}

/// Runs the job's `slurm/submit.sh` when asked to, or says how to.
fn submit_or_say(out: &std::path::Path, submit_now: bool) -> anyhow::Result<()> {
    let submit = out.join("slurm").join("submit.sh");
    if submit_now {
        let status = std::process::Command::new("bash")
            .arg(&submit)
            .current_dir(std::env::current_dir()?)
            .status()?;
        if !status.success() {
            anyhow::bail!(
                "{} failed ({status}); is sbatch on PATH and the cluster reachable?",
                submit.display()
            );
        }
    } else {
        note(format!(
            "submit with: bash {}",
            batch::slurm::shell_quote(&submit.display().to_string())
        ));
    }
    Ok(())
}

/// The Slurm job of `args` running `command` on its file with `extra`
/// arguments: this binary, from the current directory, into `--out`.
fn slurm_job(
    args: &SlurmArgs,
    command: &str,
    extra: Vec<String>,
) -> Result<batch::slurm::SlurmJob, pbrsim::Error> {
    Ok(batch::slurm::SlurmJob {
        binary: std::env::current_exe().map_err(|source| pbrsim::Error::Read {
            path: "pbrsim".into(),
            source,
        })?,
        command: command.into(),
        file: args.file.clone(),
        chdir: std::env::current_dir().map_err(|source| pbrsim::Error::Read {
            path: ".".into(),
            source,
        })?,
        args: extra,
        out: absolute(&args.out)?,
        tasks: args.tasks,
        cpus_per_task: args.cpus_per_task,
        max_running: args.max_running,
        partition: args.partition.clone(),
        account: args.account.clone(),
        time: args.time.clone(),
        mem: args.mem.clone(),
        name: format!(
            "pbrsim-{}",
            args.file
                .file_stem()
                .map_or("job".into(), |s| s.to_string_lossy().to_string())
        ),
    })
}

/// Slurm scripts for a design: one array of shards per stage, each
/// stage's array after the previous one has ended, then the merge.
fn design_slurm(args: SlurmArgs) -> anyhow::Result<()> {
    if !args.overrides.is_empty() {
        return Err(usage(
            "--set",
            "applies to a scenario run; in a design, put the values in the design file",
        )
        .into());
    }
    let design = pbrsim::design::load_file(&args.file)?;
    let manifest = pbrsim::design::Manifest::new(&design, args.seed, args.tasks);
    let mut extra = vec!["--seed".to_string(), args.seed.to_string()];
    if args.allow_large {
        extra.push("--allow-large".into());
    }
    let job = slurm_job(&args, "design", extra)?;
    job.check()?;
    pbrsim::design::prepare(&args.out, &manifest)?;
    for p in pbrsim::design::write_slurm(&job, design.stages.len())? {
        note(format!("wrote {}", p.display()));
    }
    submit_or_say(&job.out, args.submit)
}

fn run(args: RunArgs, quiet: bool) -> anyhow::Result<()> {
    if let Some(shard) = shard_of(&args.shard)? {
        return run_shard(&args, shard, quiet);
    }
    pbrsim::output::check_levels(&args.quantiles, &args.risk_levels)?;
    let loaded = load(args.scenario.as_deref(), &args.overrides)?;
    let config = RunConfig {
        iterations: args.sim.iterations,
        seed: args.sim.seed,
        threads: args.sim.threads,
        precision: args.precision.clone(),
        max_iterations: args.max_iterations,
        allow_large: args.sim.allow_large,
        sampling: args.sampling.sampling()?,
        // Only monthly.csv reads the monthly cash distributions (parties x
        // months sketches, most of a small contract's statistics): a run
        // reported on the terminal alone does not keep them.
        skip_monthly: args.out.is_none() && !args.report,
        ..Default::default()
    };
    let mut info = RunInfo::new(
        &loaded,
        &args.overrides,
        args.sim.seed,
        args.sim.iterations,
        &args.quantiles,
        &args.risk_levels,
    );
    let planned = if args.precision.is_empty() {
        args.sim.iterations
    } else {
        args.max_iterations.max(args.sim.iterations)
    };
    let mut bar = Progress::new(
        quiet,
        planned,
        "iterations",
        format!("{} iterations", thousands(planned)),
    );
    if !args.precision.is_empty() {
        // The run stops when the precision is met: no time to foresee.
        bar = bar.without_estimate();
    }
    let progress = |done: u64| bar.set(done);
    let mut draws = match (&args.out, args.draws) {
        (Some(dir), true) => Some(DrawsWriter::create(
            dir,
            &pbrsim::figures::Catalog::new(&loaded.model),
            &info,
        )?),
        _ => None,
    };
    let mut sink =
        |first: u64, rows: &[f64]| draws.as_mut().map_or(Ok(()), |w| w.write_rows(first, rows));
    let result = engine::run(
        &loaded.model,
        &config,
        &progress,
        if args.draws { Some(&mut sink) } else { None },
    )?;
    bar.finish();
    info.iterations = result.summary.iterations;
    if !args.precision.is_empty() {
        note(format!(
            "--precision: {} iterations used",
            result.summary.iterations
        ));
    }
    if let Some(dir) = &args.out {
        let mut written = write_outputs(dir, &info, &result, &loaded.model)?;
        if let Some(w) = draws.take() {
            written.push(w.finish()?);
        }
        if args.xlsx {
            written.push(pbrsim::output::write_workbook(dir)?);
        }
        if args.report {
            let explained = pbrsim::explain::explain(&loaded.model);
            written.extend(pbrsim::output::write_html(
                dir,
                Some(&explained),
                args.charts.as_deref(),
            )?);
        }
        for p in written {
            note(format!("wrote {}", p.display()));
        }
    } else if args.report {
        // The page is drawn from the tables: write them out of sight,
        // then keep only the page.
        let tables = tempfile::tempdir().map_err(|source| pbrsim::Error::Write {
            path: std::env::temp_dir(),
            source,
        })?;
        write_outputs(tables.path(), &info, &result, &loaded.model)?;
        let explained = pbrsim::explain::explain(&loaded.model);
        let html = pbrsim::output::render_html(tables.path(), Some(&explained))?;
        let path = std::path::PathBuf::from("report.html");
        pbrsim::output::write_report_page(&path, &html, args.charts.as_deref())?;
        note(format!("wrote {}", path.display()));
    }
    show(quiet, &render_report(&info, &loaded.model, &result));
    Ok(())
}
