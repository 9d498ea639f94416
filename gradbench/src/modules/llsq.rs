//! `llsq`: linear least squares on a polynomial fit. With n points
//! `tᵢ = −1 + 2i/(n − 1)` and targets `sᵢ = sign(tᵢ)` (0 at 0), the primal is
//! `½ Σᵢ (sᵢ − Σⱼ xⱼ tᵢʲ)²` for the m coefficients `x`; `gradient` returns
//! the generated gradient with respect to `x`.

use chainrule::differentiate;
use serde::Deserialize;
use serde_json::Value;

use super::{Evaluated, Module, check_runs, number, numbers, parse_input};
use crate::runs::Runs;

pub const MODULE: Module = Module {
    name: "llsq",
    functions: &["primal", "gradient"],
    evaluate,
};

/// The i-th of n points, `−1 + 2i/(n − 1)`.
pub fn t(i: usize, n: usize) -> f64 {
    -1.0 + i as f64 * 2.0 / (n as f64 - 1.0)
}

/// The sign of `t`: −1, 0 or 1.
pub fn s(t: f64) -> f64 {
    if t > 0.0 {
        1.0
    } else if t < 0.0 {
        -1.0
    } else {
        0.0
    }
}

/// `½ Σᵢ (sᵢ − p(tᵢ))²` for the polynomial `p(t) = Σⱼ xⱼ tʲ`, evaluated by
/// Horner's rule.
#[differentiate(wrt(x))]
pub fn llsq(x: &[f64], n: usize) -> f64 {
    let mut sum = 0.0;
    for i in 0..n {
        let ti = -1.0 + i as f64 * 2.0 / (n as f64 - 1.0);
        let si = if ti > 0.0 {
            1.0
        } else if ti < 0.0 {
            -1.0
        } else {
            0.0
        };
        let mut p = 0.0;
        for &xj in x.iter().rev() {
            p = p * ti + xj;
        }
        let r = si - p;
        sum += r * r;
    }
    sum / 2.0
}

/// The input of both functions: the coefficients and the number of points.
#[derive(Debug, Deserialize)]
pub struct Input {
    pub x: Vec<f64>,
    pub n: usize,
    #[serde(flatten)]
    pub runs: Runs,
}

fn evaluate(function: &str, input: Value) -> Result<Evaluated, String> {
    if !MODULE.functions.contains(&function) {
        return Err(MODULE.unknown_function(function));
    }
    let input: Input = parse_input("llsq", input)?;
    check_runs(&input.runs)?;
    if input.n == 1 {
        return Err("n = 1: the points tᵢ = −1 + 2i/(n − 1) need n ≠ 1".to_owned());
    }
    let n = input.n;
    let x = input.x.as_slice();
    let (output, timings) = if function == "primal" {
        let (value, timings) = input.runs.repeat(x, |x| llsq(x, n));
        (number(value), timings)
    } else {
        let (gradient, timings) = input.runs.repeat(x, |x| llsq_grad(x, n).1);
        (numbers(&gradient), timings)
    };
    Ok(Evaluated { output, timings })
}
