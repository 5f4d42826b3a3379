//! Integration tests: one binary, one module per concern.

mod bad_input;
mod batch;
mod bounds;
mod cli;
mod common;
mod compare;
mod conservation;
mod determinism;
mod expected_counts;
mod failure;
mod fixed_costs;
mod fuzz;
mod golden;
mod improvement;
mod input_files;
mod instruments;
mod investors;
mod mechanics;
mod parameters;
mod slurm;
mod slurm_scripts;
mod statistics;
mod stress;
mod termination;
mod time_in_state;
