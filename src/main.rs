//! The `pbrsim` command: parses arguments, calls the library, prints
//! results or errors, sets the exit code (0 ok, 1 run failure, 2 bad input).

mod cli;

use clap::Parser;
use cli::{Cli, Command, CompareArgs, RunArgs, ScenarioArgs};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use pbrsim::engine::{self, RunConfig};
use pbrsim::output::{DrawsWriter, RunInfo, render_report, write_outputs};
use pbrsim::scenario::{self, Loaded};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Run(args) => run(args),
        Command::Compare(args) => compare(args),
        Command::Validate(args) => validate(args),
        Command::Explain(args) => explain(args),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            let bad_input = matches!(e.downcast_ref::<pbrsim::Error>(), Some(pbrsim::Error::Scenario(_) | pbrsim::Error::Read { .. } | pbrsim::Error::Option(_)));
            ExitCode::from(if bad_input { 2 } else { 1 })
        }
    }
}

fn load(path: Option<&std::path::Path>, overrides: &[scenario::Override]) -> Result<Loaded, pbrsim::Error> {
    match path {
        Some(p) => scenario::load_file(p, overrides),
        None => Ok(scenario::load_str(scenario::DEFAULT_SCENARIO, scenario::DEFAULT_SCENARIO_NAME, overrides)?),
    }
}

fn compare(args: CompareArgs) -> anyhow::Result<()> {
    let a = load(Some(&args.a), &args.set_a)?;
    let b = load(Some(args.b.as_deref().unwrap_or(&args.a)), &args.set_b)?;
    let config = RunConfig { iterations: args.sim.iterations, seed: args.sim.seed, threads: args.sim.threads, ..Default::default() };
    let pairs = pbrsim::engine::compare::compare(&a.model, &b.model, &config)?;
    if let Some(dir) = &args.out {
        let path = pbrsim::output::write_comparison(dir, &pairs, &a.hash, &b.hash, &config)?;
        eprintln!("wrote {}", path.display());
    }
    print!("{}", pbrsim::output::render_comparison(&a, &b, &pairs, &config));
    Ok(())
}

fn validate(args: ScenarioArgs) -> anyhow::Result<()> {
    let loaded = load(Some(&args.scenario), &args.overrides)?;
    let m = &loaded.model;
    println!(
        "{}: ok: \"{}\", {} segment(s), {} provider(s), {} months (referrals in the first {})",
        loaded.origin,
        m.name,
        m.segments.len(),
        m.providers.len(),
        m.horizon,
        m.referral_months
    );
    Ok(())
}

fn explain(args: ScenarioArgs) -> anyhow::Result<()> {
    let loaded = load(Some(&args.scenario), &args.overrides)?;
    print!("{}", pbrsim::explain::explain(&loaded.model));
    Ok(())
}

fn run(args: RunArgs) -> anyhow::Result<()> {
    let loaded = load(args.scenario.as_deref(), &args.overrides)?;
    let config = RunConfig {
        iterations: args.sim.iterations,
        seed: args.sim.seed,
        threads: args.sim.threads,
        precision: args.precision.clone(),
        max_iterations: args.max_iterations,
        ..Default::default()
    };
    let mut info = RunInfo {
        scenario_name: loaded.model.name.clone(),
        scenario_origin: loaded.origin.clone(),
        scenario_hash: loaded.hash.clone(),
        seed: args.sim.seed,
        iterations: args.sim.iterations,
        version: pbrsim::VERSION.to_string(),
        overrides: args.overrides.iter().map(|o| format!("{}={}", o.path, o.value)).collect(),
        risk_levels: args.risk_levels.clone(),
        quantiles: args.quantiles.clone(),
    };
    let planned = if args.precision.is_empty() { args.sim.iterations } else { args.max_iterations.max(args.sim.iterations) };
    let bar = ProgressBar::with_draw_target(Some(planned), ProgressDrawTarget::stderr());
    bar.set_style(ProgressStyle::with_template("{spinner} {human_pos}/{human_len} iterations [{bar:30}] {percent}% elapsed {elapsed} eta {eta}").expect("valid template").progress_chars("=> "));
    let progress = |done: u64| bar.set_position(done);
    let mut draws = match (&args.out, args.draws) {
        (Some(dir), true) => Some(DrawsWriter::create(dir, &pbrsim::figures::Catalog::new(&loaded.model), &info)?),
        _ => None,
    };
    let mut sink = |first: u64, rows: &[f64]| draws.as_mut().map_or(Ok(()), |w| w.write_rows(first, rows));
    let result = engine::run(&loaded.model, &config, &progress, if args.draws { Some(&mut sink) } else { None })?;
    bar.finish_and_clear();
    info.iterations = result.summary.iterations;
    if !args.precision.is_empty() {
        eprintln!("--precision: {} iterations used", result.summary.iterations);
    }
    if let Some(dir) = &args.out {
        let mut written = write_outputs(dir, &info, &result, &loaded.model)?;
        if let Some(w) = draws.take() {
            written.push(w.finish()?);
        }
        for p in written {
            eprintln!("wrote {}", p.display());
        }
    }
    if !args.quiet {
        print!("{}", render_report(&info, &loaded.model, &result));
    }
    Ok(())
}
