//! Stress testing a contract before it is signed: named stresses and
//! percentile bands, sensitivity (tornado and Sobol indices), the split of
//! variance between what evidence could narrow and what it could not,
//! solving for a parameter that meets a target, and reverse stress tests.
//!
//! Every analysis runs its arms on common random numbers
//! ([`arms::run_arms`]): iteration `i` of every arm starts from the same
//! streams, and a change of terms or a shock leaves each world's draws in
//! place. Estimates carry delete-one-batch jackknife errors over fixed
//! batches of blocks, so they, like runs, do not depend on the thread count.

pub mod arms;
pub mod evppi;
pub mod file;
pub mod reverse;
pub mod sensitivity;
pub mod solve;
pub mod statistic;
pub mod stresses;
pub mod voi;
pub mod worlds;

pub use arms::Estimate;
pub use statistic::Statistic;
