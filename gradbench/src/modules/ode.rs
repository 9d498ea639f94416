//! `ode`: the solution at t = 2 of `y₀' = x₀`, `yᵢ' = xᵢ·yᵢ₋₁` (i > 0) with
//! `y(0) = 0`, by s steps of the classic fourth-order Runge–Kutta method, as
//! GradBench's reference codes it. `primal` returns y(2); `gradient` the
//! generated gradient of its last component with respect to `x`.

use chainrule::prelude::*;
use serde::Deserialize;
use serde_json::Value;

use super::{Evaluated, Module, check_runs, numbers, parse_input};
use crate::runs::Runs;

pub const MODULE: Module = Module {
    name: "ode",
    functions: &["primal", "gradient"],
    evaluate,
};

/// The largest n·s whose gradient this tool computes (its tape then takes
/// 8 GB).
pub const MAX_TAPED_STEPS: usize = 250_000_000;

/// y(2) after `s` Runge–Kutta steps of size `h = 2/s`.
///
/// Each stage's slope at component i reads only component i − 1 of the
/// stage's argument (`kᵢ = xᵢ·(y + c·k_prev)ᵢ₋₁`), so one pass over the
/// components computes all four stages and the update of a step, carrying
/// component i − 1's values (`y` at the start of the step and the stage
/// slopes) to component i. Setting `y₋₁ = 1` with zero slopes makes
/// `y₀' = x₀` the same rule.
#[differentiate(wrt(x))]
pub fn ode(x: &[f64], s: usize) -> Col<f64> {
    let n = x.len();
    let h = 2.0 / s as f64;
    let mut y = Col::zeros(n);
    for _ in 0..s {
        let mut y_prev = 1.0;
        let mut k1_prev = 0.0;
        let mut k2_prev = 0.0;
        let mut k3_prev = 0.0;
        for i in 0..n {
            let k1 = x[i] * y_prev;
            let k2 = x[i] * (y_prev + h * k1_prev / 2.0);
            let k3 = x[i] * (y_prev + h * k2_prev / 2.0);
            let k4 = x[i] * (y_prev + h * k3_prev);
            let yi = y[i];
            y[i] = yi + h * (k1 + 2.0 * k2 + 2.0 * k3 + k4) / 6.0;
            y_prev = yi;
            k1_prev = k1;
            k2_prev = k2;
            k3_prev = k3;
        }
    }
    y
}

/// The gradient of the last component of [`ode`] with respect to `x`.
pub fn ode_gradient(x: &[f64], s: usize) -> Vec<f64> {
    let n = x.len();
    let seed = Col::from_fn(n, |i| if i + 1 == n { 1.0 } else { 0.0 });
    ode_vjp(x, s, &seed).1
}

/// The input of both functions.
#[derive(Debug, Deserialize)]
pub struct Input {
    pub x: Vec<f64>,
    pub s: usize,
    #[serde(flatten)]
    pub runs: Runs,
}

fn evaluate(function: &str, input: Value) -> Result<Evaluated, String> {
    if !MODULE.functions.contains(&function) {
        return Err(MODULE.unknown_function(function));
    }
    let input: Input = parse_input("ode", input)?;
    check_runs(&input.runs)?;
    if input.x.is_empty() {
        return Err("`x` is empty".to_owned());
    }
    if input.s == 0 {
        return Err("s = 0: the step size 2/s needs at least one step".to_owned());
    }
    let s = input.s;
    // The gradient's tape keeps 4 values per component and step.
    if function == "gradient" && input.x.len().saturating_mul(s) > MAX_TAPED_STEPS {
        return Err(format!(
            "n·s = {}·{s}: the gradient would keep {} GB of intermediate values",
            input.x.len(),
            input.x.len().saturating_mul(s).saturating_mul(32) / 1_000_000_000
        ));
    }
    let x = input.x.as_slice();
    let (output, timings) = if function == "primal" {
        let (y, timings) = input.runs.repeat(x, |x| ode(x, s));
        let y: Vec<f64> = y.iter().copied().collect();
        (numbers(&y), timings)
    } else {
        let (gradient, timings) = input.runs.repeat(x, |x| ode_gradient(x, s));
        (numbers(&gradient), timings)
    };
    Ok(Evaluated { output, timings })
}
