//! # pbrsim
//!
//! A Monte Carlo engine for payment-by-results (PbR) contracts. A scenario
//! describes the contract: parties, segments of participants, referral
//! volumes, outcome processes, tariffs, caps, lags, supply-chain terms,
//! reserves and uncertain parameters. Each iteration draws one possible
//! world and follows every pound between commissioner, prime and
//! subcontractors; a run summarises thousands of them.
//!
//! ```no_run
//! use pbrsim::{engine, scenario};
//! let loaded = scenario::load_file("scenarios/work_programme.toml".as_ref(), &[])?;
//! let config = engine::RunConfig { iterations: 2_000, seed: 1, ..Default::default() };
//! let result = engine::run(&loaded.model, &config, &|_| {}, None)?;
//! let net = &result.summary.moments[0];
//! println!("{:.0}", net.mean());
//! # Ok::<(), pbrsim::Error>(())
//! ```
//!
//! The model it implements is in `docs/model.md`; the file format in
//! `docs/scenario-format.md`; the code map in `ARCHITECTURE.md`.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod backtest;
pub mod batch;
pub mod design;
pub mod engine;
pub mod error;
pub mod explain;
pub(crate) mod finance;
pub mod math;
pub mod model;
pub mod output;
pub mod param;
pub mod qmc;
pub mod rng;
pub mod sample;
pub mod scenario;
pub mod stats;
pub mod stress;

pub use engine::figures;
pub use error::Error;

/// The version recorded in every output.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// A hash of the source this binary was built from (see `build.rs`):
/// batch jobs refuse to mix shards of two builds of the same version.
pub const SOURCE_HASH: &str = env!("PBRSIM_SOURCE_HASH");
