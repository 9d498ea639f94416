//! `lse`: log-sum-exp, `max + ln Σ exp(xᵢ − max)`, built from `max`, `exp`,
//! `ln` and a sum as the eval asks. `primal` returns it, `gradient` the
//! generated gradient (the softmax of `x`).

use chainrule::differentiate;
use serde::Deserialize;
use serde_json::Value;

use super::{Evaluated, Module, check_runs, number, numbers, parse_input};
use crate::runs::Runs;

pub const MODULE: Module = Module {
    name: "lse",
    functions: &["primal", "gradient"],
    evaluate,
};

/// `max(x) + ln Σᵢ exp(xᵢ − max(x))`, for a non-empty `x`.
#[differentiate]
pub fn logsumexp(x: &[f64]) -> f64 {
    let mut a = x[0];
    for &v in x {
        if v > a {
            a = v;
        }
    }
    let mut s = 0.0;
    for &v in x {
        s += (v - a).exp();
    }
    s.ln() + a
}

/// The input of both functions.
#[derive(Debug, Deserialize)]
pub struct Input {
    pub x: Vec<f64>,
    #[serde(flatten)]
    pub runs: Runs,
}

fn evaluate(function: &str, input: Value) -> Result<Evaluated, String> {
    if !MODULE.functions.contains(&function) {
        return Err(MODULE.unknown_function(function));
    }
    let input: Input = parse_input("lse", input)?;
    check_runs(&input.runs)?;
    if input.x.is_empty() {
        return Err("`x` is empty: log-sum-exp needs at least one element".to_owned());
    }
    let x = input.x.as_slice();
    let (output, timings) = if function == "primal" {
        let (value, timings) = input.runs.repeat(x, logsumexp);
        (number(value), timings)
    } else {
        let (gradient, timings) = input.runs.repeat(x, |x| logsumexp_grad(x).1);
        (numbers(&gradient), timings)
    };
    Ok(Evaluated { output, timings })
}
