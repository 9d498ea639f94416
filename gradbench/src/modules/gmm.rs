//! `gmm`: the log posterior of a Gaussian mixture model with a Wishart prior
//! on the precision matrices, as GradBench defines it. `objective` returns
//! it, `jacobian` the gradient chainrule generated, with respect to `alpha`,
//! `mu`, `q` and `l`, nested like the input.
//!
//! For K components in d dimensions and n points `xᵢ`:
//!
//! ```text
//! Q_k  = lower triangular, diagonal exp(q_k), strict lower part l_k filled
//!        column by column (column c = 0..d, then rows r = c+1..d)
//! β_ik = α_k + Σ_j q_kj − ½ ‖Q_k (xᵢ − μ_k)‖²
//! F    = − n·(d/2)·ln 2π − n·lse(α) + Σᵢ lse_k(β_ik)
//!        + K·(N_w·d·ln(γ/√2) − ln Γ_d(N_w/2))
//!        − (γ²/2) Σ_k (‖exp(q_k)‖² + ‖l_k‖²) + m Σ_kj q_kj,   N_w = d + m + 1
//! ```
//!
//! The Wishart term has the sign of a log posterior (it is added), the
//! opposite of ADBench's objective.
//!
//! [`gmm_objective`] computes every squared distance at once: with
//! `x̃ᵢ = [xᵢ; 1]` and `W_k` the (d+1)×d matrix stacking `Q_kᵀ` over the row
//! `−(Q_k μ_k)ᵀ`, `Q_k (xᵢ − μ_k) = W_kᵀ x̃ᵢ`, so `‖Q_k (xᵢ − μ_k)‖²` is
//! `x̃ᵢᵀ (W_k W_kᵀ) x̃ᵢ`: the product of a constant n × (d+1)(d+2)/2 matrix of
//! the points' products with the matrix whose column k is the upper triangle
//! of `W_k W_kᵀ`. The generated adjoint of that product is one product of the
//! same size (the data needs no adjoint), and everything else is small.

use std::f64::consts::PI;

use chainrule::prelude::*;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::{Evaluated, Module, check_runs, flatten_rows, number, numbers, parse_input};
use crate::runs::Runs;

pub const MODULE: Module = Module {
    name: "gmm",
    functions: &["objective", "jacobian"],
    evaluate,
};

/// The GMM log posterior (see the module docs). `alpha` has K entries; `mu`
/// and `q` are d×K, `l` is d(d−1)/2×K (column k = component k, so that a
/// component's parameters are contiguous in faer's column-major storage);
/// `x` is n×d.
#[differentiate(wrt(alpha, mu, q, l))]
pub fn gmm_objective(
    alpha: &Col<f64>,
    mu: &Mat<f64>,
    q: &Mat<f64>,
    l: &Mat<f64>,
    x: &Mat<f64>,
    gamma: f64,
    m: usize,
) -> f64 {
    let n = x.nrows();
    let d = x.ncols();
    let kk = alpha.nrows();

    // Column k of `gram` holds the upper triangle of W_k W_kᵀ, with W_k the
    // (d+1)×d matrix stacking Q_kᵀ over the row −(Q_k μ_k)ᵀ: then
    // Q_k (xᵢ − μ_k) = W_kᵀ x̃ᵢ with x̃ᵢ = [xᵢ; 1], and
    // ‖Q_k (xᵢ − μ_k)‖² = x̃ᵢᵀ W_k W_kᵀ x̃ᵢ is row i of `outer` times column k.
    let mut gram = Mat::zeros((d + 1) * (d + 2) / 2, kk);
    for k in 0..kk {
        // `w` is W_kᵀ = [Q_k  −Q_k μ_k], d × (d+1): Q_k's strict lower part
        // goes in column by column, down contiguous columns.
        let mut w = Mat::zeros(d, d + 1);
        for c in 0..d {
            let diagonal = q[(c, k)].exp();
            w[(c, c)] = diagonal;
            w[(c, d)] -= diagonal * mu[(c, k)];
            for r in c + 1..d {
                // Q_k[r, c]: the strict lower part is stored column by column.
                let lrc = l[(c * (2 * d - c - 1) / 2 + r - c - 1, k)];
                w[(r, c)] = lrc;
                w[(r, d)] -= lrc * mu[(c, k)];
            }
        }
        let g = w.transpose() * &w;
        for b in 0..d + 1 {
            for a in 0..b + 1 {
                gram[(b * (b + 1) / 2 + a, k)] = g[(a, b)];
            }
        }
    }
    let outer = point_outer_products(x);
    let squared = outer * gram;
    let shift = alpha + q.transpose() * ones_col(d);

    // Σᵢ logsumexp_k β_ik with β_ik = α_k + Σ_j q_kj − ½ ‖Q_k (xᵢ − μ_k)‖²,
    // each β_ik computed where it is read: an n × K matrix of them (and its
    // adjoint, and those of the terms it is summed from) would cost the
    // gradient more than the subtraction repeated. Terms below e⁻⁷⁰⁰ count as
    // e⁻⁷⁰⁰: the sum, whose largest term is 1, is unchanged in f64, and no
    // subnormal number (whose arithmetic is ~100× slower on x86) reaches the
    // adjoint sweep.
    let mut sum_lse = 0.0;
    for i in 0..n {
        let mut top = shift[0] - 0.5 * squared[(i, 0)];
        for k in 1..kk {
            top = top.max(shift[k] - 0.5 * squared[(i, k)]);
        }
        let mut sum_exp = 0.0;
        for k in 0..kk {
            sum_exp += (shift[k] - 0.5 * squared[(i, k)] - top).max(-700.0).exp();
        }
        sum_lse += sum_exp.ln() + top;
    }

    // logsumexp α
    let mut top_alpha = alpha[0];
    for k in 1..kk {
        top_alpha = top_alpha.max(alpha[k]);
    }
    let mut sum_exp_alpha = 0.0;
    for k in 0..kk {
        sum_exp_alpha += (alpha[k] - top_alpha).exp();
    }
    let lse_alpha = sum_exp_alpha.ln() + top_alpha;

    // The Wishart prior.
    let frobenius = exp(q).squared_norm_l2() + l.squared_norm_l2();
    let prior = (kk as f64) * wishart_constant(d, m, gamma) - 0.5 * gamma * gamma * frobenius + (m as f64) * q.sum();

    let gaussian = -(n as f64) * (d as f64) * 0.5 * (2.0 * PI).ln();
    gaussian + sum_lse - (n as f64) * lse_alpha + prior
}

/// Row i holds the products `x̃_a x̃_b` of `x̃ = [xᵢ; 1]` for `a ≤ b`, entry
/// `(a, b)` at `b(b+1)/2 + a`, doubled off the diagonal: its dot product with
/// the upper triangle of a symmetric `G` stored in the same order is `x̃ᵀ G x̃`.
pub fn point_outer_products(x: &Mat<f64>) -> Mat<f64> {
    let d = x.ncols();
    let mut out = Mat::zeros(x.nrows(), (d + 1) * (d + 2) / 2);
    for b in 0..=d {
        for a in 0..=b {
            let column = b * (b + 1) / 2 + a;
            let factor = if a == b { 1.0 } else { 2.0 };
            for i in 0..x.nrows() {
                let xa = if a == d { 1.0 } else { x[(i, a)] };
                let xb = if b == d { 1.0 } else { x[(i, b)] };
                out[(i, column)] = factor * xa * xb;
            }
        }
    }
    out
}

/// A column of `len` ones.
pub fn ones_col(len: usize) -> Col<f64> {
    Col::from_fn(len, |_| 1.0)
}

/// `N_w·d·(ln γ − ½ ln 2) − ln Γ_d(N_w/2)` with `N_w = d + m + 1`: the
/// Wishart prior's normalising constant, per component.
pub fn wishart_constant(d: usize, m: usize, gamma: f64) -> f64 {
    let nw = (d + m + 1) as f64;
    nw * d as f64 * (gamma.ln() - 0.5 * 2.0_f64.ln()) - log_multigamma(0.5 * nw, d)
}

/// The multivariate log-gamma `ln Γ_d(a) = ¼·d(d−1)·ln π + Σ_{j=1..d} ln Γ(a + (1 − j)/2)`.
pub fn log_multigamma(a: f64, d: usize) -> f64 {
    let dimension = d as f64;
    let mut out = 0.25 * dimension * (dimension - 1.0) * PI.ln();
    for j in 1..=d {
        out += ln_gamma(a + 0.5 * (1.0 - j as f64));
    }
    out
}

/// `ln Γ(x)` for `x > 0`, by the Lanczos approximation (g = 7, 9 terms),
/// with the reflection formula below ½. Accurate to about 1e-15 relative.
pub fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    #[allow(clippy::excessive_precision)]
    const COEFFICIENTS: [f64; 9] = [
        0.999_999_999_999_809_93,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_13,
        -176.615_029_162_140_59,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_571_6e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Γ(x)Γ(1 − x) = π / sin(πx)
        return (PI / (PI * x).sin().abs()).ln() - ln_gamma(1.0 - x);
    }
    let z = x - 1.0;
    let mut sum = COEFFICIENTS[0];
    for (i, c) in COEFFICIENTS.iter().enumerate().skip(1) {
        sum += c / (z + i as f64);
    }
    let t = z + G + 0.5;
    0.5 * (2.0 * PI).ln() + (z + 0.5) * t.ln() - t + sum.ln()
}

/// The input of both functions, as the eval sends it.
#[derive(Debug, Deserialize)]
pub struct RawInput {
    pub d: usize,
    pub k: usize,
    pub n: usize,
    pub m: usize,
    pub gamma: f64,
    pub x: Vec<Vec<f64>>,
    pub alpha: Vec<f64>,
    pub mu: Vec<Vec<f64>>,
    pub q: Vec<Vec<f64>>,
    pub l: Vec<Vec<f64>>,
    #[serde(flatten)]
    pub runs: Runs,
}

/// An input checked and laid out as [`gmm_objective`] takes it: `mu`, `q`
/// and `l` with one column per component.
#[derive(Clone, Debug)]
pub struct Input {
    pub alpha: Col<f64>,
    pub mu: Mat<f64>,
    pub q: Mat<f64>,
    pub l: Mat<f64>,
    pub x: Mat<f64>,
    pub gamma: f64,
    pub m: usize,
}

impl Input {
    /// Checks every shape against `d`, `k` and `n`.
    pub fn from_raw(raw: RawInput) -> Result<(Input, Runs), String> {
        let RawInput {
            d,
            k,
            n,
            m,
            gamma,
            x,
            alpha,
            mu,
            q,
            l,
            runs,
        } = raw;
        check_runs(&runs)?;
        if d == 0 || k == 0 {
            return Err(format!("d = {d} and k = {k} must both be at least 1"));
        }
        if !(gamma > 0.0 && gamma.is_finite()) {
            return Err(format!("gamma = {gamma} must be a positive number"));
        }
        if alpha.len() != k {
            return Err(format!(
                "`alpha` has {} entries where k = {k} were expected",
                alpha.len()
            ));
        }
        let lsize = d * (d - 1) / 2;
        let matrix = |name: &str, rows: Vec<Vec<f64>>, count: usize, width: usize| {
            let flat = flatten_rows(name, rows, count, width)?;
            Ok::<_, String>(Mat::from_fn(count, width, |i, j| flat[i * width + j]))
        };
        // The eval's rows are the components; they become columns.
        let input = Input {
            mu: matrix("mu", mu, k, d)?.transpose().to_owned(),
            q: matrix("q", q, k, d)?.transpose().to_owned(),
            l: matrix("l", l, k, lsize)?.transpose().to_owned(),
            x: matrix("x", x, n, d)?,
            alpha: Col::from_fn(k, |i| alpha[i]),
            gamma,
            m,
        };
        Ok((input, runs))
    }

    pub fn objective(&self) -> f64 {
        gmm_objective(&self.alpha, &self.mu, &self.q, &self.l, &self.x, self.gamma, self.m)
    }

    /// The generated gradient: `(value, ∂/∂alpha, ∂/∂mu, ∂/∂q, ∂/∂l)`.
    pub fn gradient(&self) -> (f64, Col<f64>, Mat<f64>, Mat<f64>, Mat<f64>) {
        gmm_objective_grad(&self.alpha, &self.mu, &self.q, &self.l, &self.x, self.gamma, self.m)
    }
}

/// One JSON list per column: a gradient laid out like [`Input`]'s
/// parameters, one column per component, as the eval's rows.
fn component_lists(a: &Mat<f64>) -> Value {
    let columns = (0..a.ncols()).map(|k| {
        let column: Vec<f64> = a.col(k).iter().copied().collect();
        numbers(&column)
    });
    Value::Array(columns.collect())
}

fn evaluate(function: &str, input: Value) -> Result<Evaluated, String> {
    if !MODULE.functions.contains(&function) {
        return Err(MODULE.unknown_function(function));
    }
    let raw: RawInput = parse_input("gmm", input)?;
    let (input, runs) = Input::from_raw(raw)?;
    if function == "objective" {
        let (value, timings) = runs.repeat(&input, Input::objective);
        return Ok(Evaluated {
            output: number(value),
            timings,
        });
    }
    let ((_, alpha, mu, q, l), timings) = runs.repeat(&input, Input::gradient);
    let mut output = Map::new();
    let alpha: Vec<f64> = alpha.iter().copied().collect();
    output.insert("alpha".to_owned(), numbers(&alpha));
    output.insert("mu".to_owned(), component_lists(&mu));
    output.insert("q".to_owned(), component_lists(&q));
    output.insert("l".to_owned(), component_lists(&l));
    Ok(Evaluated {
        output: Value::Object(output),
        timings,
    })
}
