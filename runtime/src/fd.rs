//! Numerical derivatives, to watch the limit that defines a derivative and
//! to check generated gradients.
//!
//! The derivative is the limit of the difference quotient
//! `(f(x + h) − f(x)) / h` as `h → 0`. [`forward_difference`] computes one
//! quotient and [`limit_table`] a whole row of them for shrinking `h`, showing
//! them approach the exact value (until rounding error takes over, around
//! `h ≈ 1e-8`). The central quotient `(f(x + h) − f(x − h)) / 2h` converges
//! faster (error O(h²) instead of O(h)); [`central_gradient`] uses it for every
//! coordinate, and [`check_gradient`] compares a generated gradient with it.
//! [`to_vec`] and [`from_vec_like`] flatten faer values to use them with these
//! checkers, and [`central_jacobian`] differentiates vector-valued functions.
//!
//! ```
//! use chainrule::fd;
//!
//! // f(x) = 3x² − 4x has f'(1) = 2.
//! let f = |x: f64| 3.0 * x * x - 4.0 * x;
//! for row in fd::limit_table(f, 1.0, &[0.1, 0.01, 0.001]) {
//!     println!("h = {:<6} quotient = {:.6}", row.h, row.quotient);
//! }
//! assert!((fd::forward_difference(f, 1.0, 1e-6) - 2.0).abs() < 1e-5);
//!
//! let g = |v: &[f64]| v[0] * v[0] * v[1];
//! let check = fd::check_gradient(g, &[3.0, 2.0], &[12.0, 9.0]);
//! assert!(check.max_relative_error < 1e-8, "{check}");
//! ```

use std::fmt;

use faer::Mat;

use crate::rules::kinds::{Kind, Operand, Target};

/// The forward difference quotient `(f(x + h) − f(x)) / h`.
pub fn forward_difference(f: impl Fn(f64) -> f64, x: f64, h: f64) -> f64 {
    (f(x + h) - f(x)) / h
}

/// The central difference quotient `(f(x + h) − f(x − h)) / 2h`.
pub fn central_difference(f: impl Fn(f64) -> f64, x: f64, h: f64) -> f64 {
    (f(x + h) - f(x - h)) / (2.0 * h)
}

/// One row of [`limit_table`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LimitRow {
    pub h: f64,
    /// `(f(x + h) − f(x)) / h`.
    pub quotient: f64,
}

/// The forward difference quotient of `f` at `x` for each step in `steps`:
/// the classic table showing the quotient approach `f'(x)` as `h` shrinks.
pub fn limit_table(f: impl Fn(f64) -> f64, x: f64, steps: &[f64]) -> Vec<LimitRow> {
    steps
        .iter()
        .map(|&h| LimitRow {
            h,
            quotient: forward_difference(&f, x, h),
        })
        .collect()
}

/// The step for a central difference at `x`: `∛ε · max(1, |x|)`, balancing
/// the O(h²) truncation error against the O(ε/h) rounding error.
pub fn central_step(x: f64) -> f64 {
    f64::EPSILON.cbrt() * x.abs().max(1.0)
}

/// The gradient of `f` at `x` by central differences, one coordinate at a time.
pub fn central_gradient(f: impl Fn(&[f64]) -> f64, x: &[f64]) -> Vec<f64> {
    let mut point = x.to_vec();
    (0..x.len())
        .map(|i| {
            let h = central_step(x[i]);
            point[i] = x[i] + h;
            let forward = f(&point);
            point[i] = x[i] - h;
            let backward = f(&point);
            point[i] = x[i];
            (forward - backward) / (2.0 * h)
        })
        .collect()
}

/// The outcome of comparing a gradient with central differences.
#[derive(Clone, Debug)]
pub struct GradientCheck {
    /// The gradient under test.
    pub analytic: Vec<f64>,
    /// The central-difference gradient.
    pub numeric: Vec<f64>,
    /// The largest relative error over the coordinates.
    pub max_relative_error: f64,
    /// The coordinate where it occurs.
    pub worst_index: usize,
}

/// Compares `gradient` with the central-difference gradient of `f` at `x`.
///
/// The error of coordinate `i` is `|aᵢ − nᵢ| / max(|aᵢ|, |nᵢ|, s)`: relative to
/// the derivative itself, with `s = 1e-6 · max(1e-300, maxⱼ |nⱼ|)` keeping a
/// derivative that is exactly zero from turning rounding noise into a large
/// relative error. A NaN anywhere is an infinite error.
///
/// # Panics
/// If `gradient` and `x` have different lengths.
pub fn check_gradient(f: impl Fn(&[f64]) -> f64, x: &[f64], gradient: &[f64]) -> GradientCheck {
    assert_eq!(
        x.len(),
        gradient.len(),
        "the gradient has {} entries for a point of {} coordinates",
        gradient.len(),
        x.len()
    );
    let numeric = central_gradient(f, x);
    let (worst_index, max_relative_error) = worst_relative_error(gradient, &numeric);
    GradientCheck {
        analytic: gradient.to_vec(),
        numeric,
        max_relative_error,
        worst_index,
    }
}

/// The coordinate with the largest relative error between `analytic` and
/// `numeric`, and that error (see [`check_gradient`]).
pub fn worst_relative_error(analytic: &[f64], numeric: &[f64]) -> (usize, f64) {
    let scale = numeric.iter().fold(1e-300_f64, |max, value| max.max(value.abs()));
    let floor = 1e-6 * scale;
    analytic
        .iter()
        .zip(numeric)
        .map(|(a, n)| {
            if a.is_nan() || n.is_nan() {
                f64::INFINITY
            } else {
                (a - n).abs() / a.abs().max(n.abs()).max(floor)
            }
        })
        .enumerate()
        .fold(
            (0, 0.0),
            |worst, (i, error)| if error > worst.1 { (i, error) } else { worst },
        )
}

impl GradientCheck {
    /// Panics with the whole comparison unless the worst relative error is
    /// at most `tolerance`.
    #[track_caller]
    pub fn assert_within(&self, tolerance: f64) {
        assert!(
            self.max_relative_error <= tolerance,
            "gradient differs from central differences by more than {tolerance:e}:\n{self}"
        );
    }
}

impl fmt::Display for GradientCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "worst relative error {:.3e} at coordinate {}",
            self.max_relative_error, self.worst_index
        )?;
        writeln!(f, "{:>5} {:>24} {:>24}", "i", "gradient", "central difference")?;
        for (i, (a, n)) in self.analytic.iter().zip(&self.numeric).enumerate() {
            writeln!(f, "{i:>5} {a:>24.15e} {n:>24.15e}")?;
        }
        Ok(())
    }
}

/// The elements of a scalar, vector or matrix, in column-major order, to use
/// faer values with the slice-based checkers of this module.
///
/// ```
/// use chainrule::fd;
/// use faer::mat;
///
/// let a = mat![[1.0, 2.0], [3.0, 4.0]];
/// assert_eq!(fd::to_vec(&a), vec![1.0, 3.0, 2.0, 4.0]);
/// let b: faer::Mat<f64> = fd::from_vec_like(&a, &[0.0, 1.0, 0.0, 1.0]);
/// assert_eq!(b, mat![[0.0, 0.0], [1.0, 1.0]]);
/// ```
pub fn to_vec<A: Operand + ?Sized>(value: &A) -> Vec<f64> {
    let view = A::Kind::as_2d(value.view());
    let mut elements = Vec::with_capacity(view.nrows() * view.ncols());
    for j in 0..view.ncols() {
        for i in 0..view.nrows() {
            elements.push(view[(i, j)]);
        }
    }
    elements
}

/// A value shaped like `template` holding `elements` in column-major order:
/// the inverse of [`to_vec`].
///
/// # Panics
/// If the number of elements does not match the shape.
pub fn from_vec_like<A: Operand + ?Sized>(template: &A, elements: &[f64]) -> <A::Kind as Kind>::Owned {
    let mut value = A::Kind::zeros_like(template.view());
    let mut view = A::Kind::as_2d_mut(value.view_mut());
    assert_eq!(
        elements.len(),
        view.nrows() * view.ncols(),
        "{} elements for a {}×{} value",
        elements.len(),
        view.nrows(),
        view.ncols()
    );
    let nrows = view.nrows();
    for (k, element) in elements.iter().enumerate() {
        view[(k % nrows, k / nrows)] = *element;
    }
    value
}

/// The Jacobian of `f` at `x` by central differences, in numerator layout
/// (row i = output i).
pub fn central_jacobian(f: impl Fn(&[f64]) -> Vec<f64>, x: &[f64]) -> Mat<f64> {
    let mut point = x.to_vec();
    let mut columns = Vec::with_capacity(x.len());
    for i in 0..x.len() {
        let h = central_step(x[i]);
        point[i] = x[i] + h;
        let forward = f(&point);
        point[i] = x[i] - h;
        let backward = f(&point);
        point[i] = x[i];
        columns.push(
            forward
                .iter()
                .zip(&backward)
                .map(|(f, b)| (f - b) / (2.0 * h))
                .collect::<Vec<f64>>(),
        );
    }
    let rows = columns.first().map_or(0, Vec::len);
    Mat::from_fn(rows, x.len(), |i, j| columns[j][i])
}
