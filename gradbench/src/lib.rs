//! A [GradBench](https://github.com/gradbench/gradbench) tool for chainrule.
//!
//! The binary `chainrule-gradbench` speaks the GradBench protocol on stdin
//! and stdout ([`protocol`]); each eval it implements is a module of
//! [`modules`] whose functions are written once, as ordinary Rust with
//! `#[differentiate]`, so every gradient it reports is the one chainrule
//! generated. `chainrule-gradbench --report` times the evals' workloads
//! ([`report`]).

pub mod modules;
pub mod protocol;
pub mod report;
pub mod rng;
pub mod runs;
pub mod workloads;
