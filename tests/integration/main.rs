//! Integration tests: one binary, one module per concern.

mod bad_input;
mod batch;
mod bounds;
mod cli;
mod common;
mod compare;
mod conservation;
mod determinism;
mod failure;
mod golden;
mod improvement;
mod investors;
mod mechanics;
mod parameters;
mod slurm;
mod statistics;
mod stress;
