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
//! // The split form: the value now, the derivatives later (given the seed
//! // and the arguments again), without running `f` again.
//! let (value, pullback) = f_pullback(2.0, 5.0);
//! let (dx, dy) = pullback(&1.0, (2.0, 5.0));
//! assert_eq!((value, dx, dy), (60.0, 60.0, 12.0));
//! ```
//!
//! Vectors and matrices are faer's, and gradients come back shaped like their
//! parameter. The least-squares gradient 2Xᵀ(Xw − y):
//!
//! ```
//! use chainrule::prelude::*;
//! use faer::{col, mat};
//!
//! #[differentiate(wrt(w))]
//! fn least_squares(w: &Col<f64>, x: &Mat<f64>, y: &Col<f64>) -> f64 {
//!     (x * w - y).squared_norm_l2()
//! }
//!
//! let x = mat![[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]];
//! let y = col![1.0, 0.0, 1.0];
//! let w = col![0.5, -0.5];
//! let (loss, grad_w) = least_squares_grad(&w, &x, &y);
//! assert_eq!(grad_w, 2.0 * x.transpose() * (&x * &w - &y));
//! # let _ = loss;
//! ```
//!
//! ## What is generated
//!
//! For `fn f(x: f64, y: f64) -> f64`, with the visibility of `f`:
//! - `f_grad(x, y) -> (f64, f64, f64)`: the value, then one derivative per
//!   differentiated parameter in parameter order (only for `f64` outputs);
//! - `f_vjp(x, y, seed: f64) -> (f64, f64, f64)`: the value, then `seed` times
//!   each derivative. For a vector or matrix output, `seed` is a reference to
//!   a value of the output's shape (`seed: &Col<f64>`);
//! - `f_pullback(x, y) -> (f64, impl FnOnce(&f64, (f64, f64)) -> (f64, f64))`:
//!   the split form, the value and a pullback. The pullback takes the seed and
//!   the arguments again (so it borrows nothing and stores only intermediate
//!   values) and returns one gradient per parameter, `()` for parameters that
//!   are not differentiated. A `#[differentiate]` function calling `f` uses
//!   this form, so the adjoint sweep never runs `f`'s primal twice;
//! - with `#[differentiate(jacobian)]`: `f_jacobian(x, ...) -> (value,
//!   Mat<f64>)`, in numerator layout (row i = output i); `layout =
//!   denominator` transposes it. Rows are the value's numbers, columns the
//!   differentiated parameters' numbers one parameter after the other; a
//!   matrix counts column by column, as faer stores it.
//!
//! Results may be `f64`, `Vec<f64>`, `[f64; N]`, or a faer `Col`, `Row` or
//! `Mat` of `f64`; a function of vectors written without faer works too:
//!
//! ```
//! use chainrule::prelude::*;
//!
//! #[differentiate(jacobian)]
//! fn polar(r: f64, theta: f64) -> [f64; 2] {
//!     [r * theta.cos(), r * theta.sin()]
//! }
//!
//! let (xy, jacobian) = polar_jacobian(2.0, 0.0); // rows: x, y; columns: r, θ
//! assert_eq!(xy, [2.0, 0.0]);
//! assert_eq!(jacobian, faer::mat![[1.0, 0.0], [0.0, 2.0]]);
//! let (_, d_r, d_theta) = polar_vjp(2.0, 0.0, &[0.0, 1.0]); // ∇y
//! assert_eq!((d_r, d_theta), (0.0, 2.0));
//! ```
//!
//! Both Jacobian layouts on the same example, ∂(Ax)/∂x = A:
//!
//! ```
//! use chainrule::prelude::*;
//! use faer::{col, mat};
//!
//! #[differentiate(jacobian, wrt(x))]
//! fn apply(a: &Mat<f64>, x: &Col<f64>) -> Col<f64> {
//!     a * x
//! }
//!
//! #[differentiate(jacobian, layout = denominator, wrt(x))]
//! fn apply_denominator(a: &Mat<f64>, x: &Col<f64>) -> Col<f64> {
//!     a * x
//! }
//!
//! let a = mat![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]];
//! let x = col![1.0, 0.0, -1.0];
//! let (y, numerator) = apply_jacobian(&a, &x); // 2 × 3: row i is ∇yᵢ
//! assert_eq!(y, col![-2.0, -2.0]);
//! assert_eq!(numerator, a);
//! let (_, denominator) = apply_denominator_jacobian(&a, &x); // 3 × 2: column i is ∇yᵢ
//! assert_eq!(denominator, a.transpose().to_owned());
//! ```
//!
//! `#[differentiate(wrt(x))]` differentiates only the listed parameters.
//! Without it, every parameter of a float type is differentiated: `f64`,
//! `&f64`, and faer's `Col`, `Row` and `Mat` of `f64`, owned, by reference or
//! as `ColRef`/`RowRef`/`MatRef` views. Gradients have the shape of their
//! parameter and are owned (`Col<f64>` for a `&Col<f64>` or a `ColRef`).
//! Integers, `bool` and other types are constants.
//!
//! ## Forward mode and second derivatives
//!
//! `forward` adds `f_jvp(primals…, tangents…) -> (value, tangent)`, the
//! derivative along the tangents (one per differentiated parameter, typed like
//! it) computed beside the value in one run. `hessian`, for an `f64` result,
//! adds `f_hvp(primals…, directions…)`, the Hessian times the direction
//! shaped like the gradient (reverse mode over forward mode), and
//! `f_hessian(primals…) -> (value, Mat<f64>)` over the differentiated
//! parameters flattened in order.
//!
//! ```
//! use chainrule::prelude::*;
//! use faer::{col, mat};
//!
//! #[differentiate(forward, hessian)]
//! fn rosenbrock(x: f64, y: f64) -> f64 {
//!     (1.0 - x).powi(2) + 100.0 * (y - x * x).powi(2)
//! }
//!
//! let (value, slope) = rosenbrock_jvp(1.0, 1.0, 1.0, 0.0); // ∂f/∂x at the minimum
//! assert_eq!((value, slope), (0.0, 0.0));
//! let (_, hessian) = rosenbrock_hessian(1.0, 1.0);
//! assert_eq!(hessian, mat![[802.0, -400.0], [-400.0, 200.0]]);
//! let (_, hx, hy) = rosenbrock_hvp(1.0, 1.0, 1.0, 1.0);
//! assert_eq!((hx, hy), (402.0, -200.0));
//!
//! #[differentiate(hessian, wrt(x))]
//! fn quadratic_form(x: &Col<f64>, a: &Mat<f64>) -> f64 {
//!     x.transpose() * (a * x)
//! }
//!
//! let a = mat![[1.0, 2.0], [0.0, 3.0]];
//! let (_, hessian) = quadratic_form_hessian(&col![1.0, -1.0], &a); // A + Aᵀ
//! assert_eq!(hessian, &a + a.transpose());
//! ```
//!
//! ## The language of differentiated functions
//!
//! `let` (with shadowing), `let mut` with `=`, `+=`, `-=`, `*=`, `/=`;
//! `+ - * /` and unary `-`; literals and constants (`std::f64::consts::PI`,
//! `n as f64`); the `f64` methods `exp, exp2, exp_m1, ln, log, log2, log10,
//! ln_1p, sqrt, cbrt, powi, powf, recip, to_degrees, to_radians, abs, signum,
//! sin, cos, tan, asin, acos, atan, atan2, sinh, cosh, tanh, asinh, acosh,
//! atanh, hypot, max, min, mul_add, clamp` (also as `f64::exp(x)`); `if`/`else` as statements and
//! expressions, with `return` from their branches; `match` on values without
//! bindings or naming the whole value (`n => n as f64 * x`); calls of other `#[differentiate]` functions, recursive ones
//! included.
//!
//! Loops: `for i in a..b` (also `a..=b`, `.rev()`), `for &x in xs`,
//! `for x in xs.iter()`, `for (i, x) in xs.iter().enumerate()`, `while`,
//! `loop`, `break`, `continue` and `return` from inside a loop, nested to
//! any depth, with trip counts decided on primal values; variables reassigned
//! in a loop are carried from one iteration to the next. Parameters `&[f64]`, `&Vec<f64>`, `Vec<f64>`
//! (gradient `Vec<f64>`) and `[f64; N]`, `&[f64; N]` (gradient `[f64; N]`);
//! local buffers `vec![0.0; n]`, `vec![a, b]`, `[a, b, c]`, `[0.0; N]` and
//! local faer values, with element writes `v[i] = …`, `v[i] += …`,
//! `m[(i, j)] = …`.
//!
//! ```
//! use chainrule::differentiate;
//!
//! #[differentiate]
//! fn soft_maximum(xs: &[f64], sharpness: f64) -> f64 {
//!     let mut total = 0.0;
//!     for &x in xs {
//!         total += (sharpness * x).exp();
//!     }
//!     total.ln() / sharpness
//! }
//!
//! let (_, d_xs, _) = soft_maximum_grad(&[1.0, 2.0, 3.0], 1.0);
//! let sum: f64 = d_xs.iter().sum(); // a softmax: the weights sum to 1
//! assert!((sum - 1.0).abs() < 1e-12);
//! ```
//!
//! A function the macro cannot see into gets its derivative by hand:
//!
//! ```
//! use chainrule::differentiate;
//!
//! /// erf by its series, standing in for `libm::erf` or an FFI routine.
//! #[differentiate(rule = erf_derivative)]
//! fn erf(x: f64) -> f64 {
//!     let mut sum = 0.0;
//!     let mut term = x;
//!     for n in 0..40 {
//!         sum += term / (2 * n + 1) as f64;
//!         term *= -x * x / (n + 1) as f64;
//!     }
//!     sum * std::f64::consts::FRAC_2_SQRT_PI
//! }
//!
//! /// erf'(x) = 2/√π · e^(−x²): the arguments and the seed in, the gradient out.
//! fn erf_derivative(x: f64, seed: f64) -> f64 {
//!     seed * std::f64::consts::FRAC_2_SQRT_PI * (-x * x).exp()
//! }
//!
//! let (_, slope) = erf_grad(0.5);
//! chainrule::fd::check_gradient(|p| erf(p[0]), &[0.5], &[slope]).assert_within(1e-8);
//! ```
//!
//! On faer values: the operators `+ - *` (every product faer has: Mat·Mat,
//! Mat·Col, Row·Mat, Row·Col giving a scalar, Col·Row giving an outer
//! product, a scalar times anything) and `/` by a scalar, on owned values,
//! references and views; `.transpose()`, `.transpose().to_owned()`, `.sum()`,
//! `.squared_norm_l2()`, `.norm_l2()`, element reads `x[i]` and `a[(i, j)]`,
//! `.nrows()`/`.ncols()` as constants; the constructors `Col::from_fn`,
//! `Row::from_fn` and `Mat::from_fn` with the closure written in the call,
//! which are filled element by element in loops, so the closure may read
//! differentiated values; and the functions of [`ops`] (`hadamard`,
//! `add_scalar`, `exp`, `ln`, `sqrt`, `tanh`, `sigmoid`, `relu`, `powi`,
//! `dot`, `sum`).
//!
//! ```
//! use chainrule::prelude::*;
//!
//! /// Σᵢⱼ (xᵢ xⱼ)², built with `Mat::from_fn`: its gradient is 4‖x‖² x.
//! #[differentiate]
//! fn outer_norm(x: &Col<f64>) -> f64 {
//!     Mat::from_fn(x.nrows(), x.nrows(), |i, j| x[i] * x[j]).squared_norm_l2()
//! }
//!
//! let x = Col::from_fn(2, |i| i as f64 + 1.0);
//! let (_, gradient) = outer_norm_grad(&x);
//! assert!((gradient[1] - 4.0 * 5.0 * 2.0).abs() < 1e-12);
//! ```
//!
//! Sums, products and folds over what a `for` loop iterates are written as
//! that loop: `x.iter().map(|v| v * v).sum::<f64>()`,
//! `(0..n).map(|i| x[i] * y[i]).sum::<f64>()`, `.product()`,
//! `x.iter().fold(init, |acc, &v| …)`, and maps collected into a `Vec<f64>`,
//! `x.iter().map(|v| v.exp()).collect::<Vec<f64>>()`.
//!
//! Anything else is a compile error at the expression, saying what to write
//! instead: `&mut` faer values, other closures and macros other than `vec!`
//! among others.
//!
//! A helper may change its argument through `&mut f64`, `&mut [f64]` or
//! `&mut Vec<f64>` (`fn add_square(acc: &mut f64, x: f64)`, called as
//! `add_square(&mut s, x)`): it gets only the split form, whose pullback
//! takes the adjoint of the new value through the same reference and leaves
//! there the adjoint of the old one. Shapes that do not fit panic at run time
//! with faer's message.
//!
//! ## Functions in an `impl` block
//!
//! An attribute on a function cannot tell that the function is in an
//! `impl` block, where the generated functions must call one another as
//! `Self::f_vjp(…)`; so the block says it, with `#[differentiate]` of its
//! own, and each associated function to differentiate keeps its
//! `#[differentiate(…)]` with its options. The generated functions are
//! associated functions beside it, methods when it takes `&self`. `self` (or
//! a parameter `model: &Self`) is a constant whose fields are read as
//! constants; a function calls the others as `self.f(…)` or `Self::f(…)`,
//! and code outside calls them as `neuron.f_grad(…)` or `Neuron::f_grad(…)`.
//! `&mut self` and `self` by value are compile errors.
//!
//! ```
//! use chainrule::differentiate;
//!
//! struct Neuron {
//!     inputs: Vec<f64>,
//! }
//!
//! #[differentiate]
//! impl Neuron {
//!     #[differentiate]
//!     fn softplus(z: f64) -> f64 {
//!         (1.0 + z.exp()).ln()
//!     }
//!
//!     /// softplus(w·x + b) on the neuron's inputs.
//!     #[differentiate(wrt(w, b))]
//!     fn predict(&self, w: &[f64], b: f64) -> f64 {
//!         let mut z = b;
//!         for (wi, xi) in w.iter().zip(&self.inputs) {
//!             z += wi * xi;
//!         }
//!         Self::softplus(z)
//!     }
//!
//!     /// (predict − target)², calling `predict` as a method.
//!     #[differentiate(wrt(w, b))]
//!     fn loss(&self, w: &[f64], b: f64, target: f64) -> f64 {
//!         let error = self.predict(w, b) - target;
//!         error * error
//!     }
//! }
//!
//! let neuron = Neuron { inputs: vec![1.0, 2.0] };
//! let (_, d_w, d_b) = neuron.predict_grad(&[0.0, 0.0], 0.0);
//! assert_eq!((d_w, d_b), (vec![0.5, 1.0], 0.5)); // σ(0) = ½, times each input
//! let (_, d_w, d_b) = Neuron::loss_grad(&neuron, &[0.0, 0.0], 0.0, 0.0);
//! let slope = 2.0 * 2.0_f64.ln() * 0.5; // 2·(softplus(0) − 0)·σ(0)
//! assert!((d_b - slope).abs() < 1e-15 && (d_w[1] - 2.0 * slope).abs() < 1e-15);
//! ```
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
/// The faer the generated code names (`::chainrule::faer::Col<f64>`), so a
/// crate using faer only through the [`prelude`] needs no faer of its own.
pub use faer;

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
