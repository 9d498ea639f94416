//! # chainrule
//!
//! Compile-time, source-to-source automatic differentiation for Rust. Put
//! `#[differentiate]` on an ordinary `f64` function and chainrule writes its
//! derivative functions beside it as plain Rust: no tape of closures, no
//! special number type, stable Rust.
//!
//! ```
//! use chainrule::differentiate;
//!
//! #[differentiate]
//! fn f(x: f64, y: f64) -> f64 {
//!     3.0 * x * x * y
//! }
//!
//! // (f, ∂f/∂x, ∂f/∂y) = (3x²y, 6xy, 3x²)
//! let (value, dx, dy) = f_grad(2.0, 5.0);
//! assert_eq!((value, dx, dy), (60.0, 60.0, 12.0));
//!
//! // The same derivatives times a seed (a vector–Jacobian product).
//! let (_, sx, sy) = f_vjp(2.0, 5.0, 0.5);
//! assert_eq!((sx, sy), (30.0, 6.0));
//!
//! // The split form: the value now, the derivatives later, without
//! // running `f` again.
//! let (value, pullback) = f_pullback(2.0, 5.0);
//! let (dx, dy) = pullback(&1.0);
//! assert_eq!((value, dx, dy), (60.0, 60.0, 12.0));
//! ```
//!
//! ## What is generated
//!
//! For `fn f(x: f64, y: f64) -> f64`, with the visibility of `f`:
//! - `f_grad(x, y) -> (f64, f64, f64)`: the value, then one derivative per
//!   differentiated parameter in parameter order;
//! - `f_vjp(x, y, seed: f64) -> (f64, f64, f64)`: the value, then `seed` times
//!   each derivative;
//! - `f_pullback(x, y) -> (f64, impl FnOnce(&f64) -> (f64, f64))`: the value
//!   and a closure mapping a seed to the derivatives times the seed. It has
//!   one entry per parameter, `()` for parameters that are not differentiated.
//!   A `#[differentiate]` function calling `f` uses this form, so the adjoint
//!   sweep never runs `f`'s primal twice.
//!
//! `#[differentiate(wrt(x))]` differentiates only the listed parameters.
//! Without it, every `f64` and `&f64` parameter is differentiated; integers,
//! `bool` and other types are constants.
//!
//! ## The language of differentiated functions
//!
//! `let` (with shadowing), `let mut` with `=`, `+=`, `-=`, `*=`, `/=`;
//! `+ - * /` and unary `-`; literals and constants (`std::f64::consts::PI`,
//! `n as f64`); the `f64` methods `exp, exp2, exp_m1, ln, log, log2, log10,
//! ln_1p, sqrt, cbrt, powi, powf, recip, abs, signum, sin, cos, tan, asin,
//! acos, atan, atan2, sinh, cosh, tanh, asinh, acosh, atanh, hypot, max, min,
//! mul_add, clamp` (also as `f64::exp(x)`); `if`/`else` as statements and
//! expressions, with `return` from their branches; calls of other
//! `#[differentiate]` functions. Anything else is a compile error at the
//! expression, saying what to write instead.
//!
//! ## Conventions at kinks
//!
//! Branches are decided on primal values and the derivative is that of the
//! branch taken. `|x|'(0) = 0`; `max`/`min` send the derivative to the first
//! operand on ties; `clamp` to the value when it is within the bounds
//! (inclusive); `signum`, `floor`, `ceil`, `round`, `trunc` have derivative 0.
//! `sqrt'(0)` and `ln'(0)` are `+∞` (IEEE results, never a panic).
//!
//! ## Checking derivatives
//!
//! [`fd`] has finite differences: the forward difference quotient, central
//! gradients and [`fd::check_gradient`], which compares a generated gradient
//! with them and reports the worst relative error.

pub use chainrule_macros::differentiate;

pub mod fd;
pub mod ops;
pub mod rules;

/// Everything a differentiated function usually needs: the attribute, the
/// operations of [`ops`] and faer's vector and matrix types.
pub mod prelude {
    pub use crate::differentiate;
    pub use crate::ops::{
        add_scalar, add_scalar_pullback, dot, dot_pullback, exp, exp_pullback, hadamard, hadamard_pullback, ln,
        ln_pullback, powi, powi_pullback, relu, relu_pullback, sigmoid, sigmoid_pullback, sqrt, sqrt_pullback, sum,
        sum_pullback, tanh, tanh_pullback,
    };
    pub use faer::{Col, ColRef, Mat, MatRef, Row, RowRef};
}
