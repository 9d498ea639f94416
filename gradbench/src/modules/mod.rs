//! The evals this tool implements, one module each.
//!
//! Each module writes its functions once, as ordinary Rust with
//! `#[differentiate]`; the derivative that a `gradient` or `jacobian`
//! evaluation returns is always the one chainrule generated. A module also
//! parses the eval's input (checking every shape), times the function under
//! the repetition rule of [`crate::runs`], and shapes the output as the eval
//! expects it.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::runs::{Runs, Timing};

pub mod det;
pub mod gmm;
pub mod hello;
pub mod llsq;
pub mod lse;
pub mod ode;

/// The result of an `evaluate`: the output of the last run and one timing
/// per run.
#[derive(Debug)]
pub struct Evaluated {
    pub output: Value,
    pub timings: Vec<Timing>,
}

/// An implemented eval.
pub struct Module {
    /// The eval's name, which `define` and `evaluate` messages use.
    pub name: &'static str,
    /// The functions `evaluate` accepts.
    pub functions: &'static [&'static str],
    /// Evaluates one function on an input, or says why it cannot.
    pub evaluate: fn(function: &str, input: Value) -> Result<Evaluated, String>,
}

/// Every implemented eval.
pub const MODULES: &[Module] = &[
    hello::MODULE,
    lse::MODULE,
    llsq::MODULE,
    gmm::MODULE,
    ode::MODULE,
    det::MODULE,
];

/// The module called `name`.
pub fn find(name: &str) -> Option<&'static Module> {
    MODULES.iter().find(|module| module.name == name)
}

/// The names of the implemented modules, for error messages.
pub fn names() -> String {
    MODULES.iter().map(|module| module.name).collect::<Vec<_>>().join(", ")
}

impl Module {
    /// The error for a function this module does not have.
    pub fn unknown_function(&self, function: &str) -> String {
        format!(
            "module `{}` has no function `{function}` (it has: {})",
            self.name,
            self.functions.join(", ")
        )
    }
}

/// Deserialises an eval's input, naming the module in the error.
pub(crate) fn parse_input<T: DeserializeOwned>(module: &str, input: Value) -> Result<T, String> {
    serde_json::from_value(input).map_err(|e| format!("invalid {module} input: {e}"))
}

/// Checks the repetition fields.
pub(crate) fn check_runs(runs: &Runs) -> Result<(), String> {
    runs.validate()
}

/// A `k × d` list of lists, checked and flattened row-major.
pub(crate) fn flatten_rows(name: &str, rows: Vec<Vec<f64>>, count: usize, width: usize) -> Result<Vec<f64>, String> {
    if rows.len() != count {
        return Err(format!("`{name}` has {} rows where {count} were expected", rows.len()));
    }
    let mut flat = Vec::with_capacity(count * width);
    for (i, row) in rows.into_iter().enumerate() {
        if row.len() != width {
            return Err(format!(
                "`{name}[{i}]` has {} entries where {width} were expected",
                row.len()
            ));
        }
        flat.extend(row);
    }
    Ok(flat)
}

/// A JSON number from an `f64` (non-finite values become `null`, which the
/// protocol layer reports as an error).
pub(crate) fn number(value: f64) -> Value {
    Value::from(value)
}

/// A JSON array of numbers.
pub(crate) fn numbers(values: &[f64]) -> Value {
    Value::Array(values.iter().map(|&v| Value::from(v)).collect())
}
