//! Helpers shared by the matrix tests (`matrix_calculus`, `neuron`,
//! `jacobian`): a small deterministic random number generator, random faer
//! values, relative comparisons and finite-difference checks.
//!
//! Every test file uses a different subset, hence the `dead_code` allowance.
#![allow(dead_code)]

use chainrule::fd;
use chainrule::rules::kinds::{Kind, Operand};
use faer::{Col, Mat, Row};

/// Tolerance of the comparisons with closed-form derivatives.
pub const EXACT: f64 = 1e-10;
/// Tolerance of the comparisons with central differences.
pub const FD: f64 = 1e-6;

/// The vector lengths the tests sweep (a 1-element vector included).
pub const SIZES: [usize; 4] = [1, 2, 5, 8];
/// The matrix shapes `(nrows, ncols)` the tests sweep: square, tall, wide.
pub const SHAPES: [(usize, usize); 4] = [(1, 1), (3, 3), (5, 2), (2, 6)];

/// SplitMix64: tiny, deterministic and good enough for test points.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `[lo, hi)`.
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    /// Uniform in `[-1, 1)`.
    pub fn scalar(&mut self) -> f64 {
        self.uniform(-1.0, 1.0)
    }

    /// A magnitude in `[0.25, 1.5)` with a random sign: away from the kinks
    /// of `relu` and from 0, where finite differences are unreliable.
    pub fn away_from_zero(&mut self) -> f64 {
        let magnitude = self.uniform(0.25, 1.5);
        if self.unit() < 0.5 { -magnitude } else { magnitude }
    }

    /// Uniform in `[0.5, 2)`: for `ln` and `sqrt`.
    pub fn positive(&mut self) -> f64 {
        self.uniform(0.5, 2.0)
    }

    pub fn index(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    pub fn col(&mut self, n: usize) -> Col<f64> {
        Col::from_fn(n, |_| self.scalar())
    }

    pub fn row(&mut self, n: usize) -> Row<f64> {
        Row::from_fn(n, |_| self.scalar())
    }

    pub fn mat(&mut self, nrows: usize, ncols: usize) -> Mat<f64> {
        Mat::from_fn(nrows, ncols, |_, _| self.scalar())
    }

    pub fn col_away_from_zero(&mut self, n: usize) -> Col<f64> {
        Col::from_fn(n, |_| self.away_from_zero())
    }

    pub fn positive_col(&mut self, n: usize) -> Col<f64> {
        Col::from_fn(n, |_| self.positive())
    }
}

/// The 2-D shape of a value (a scalar is 1×1, a column n×1, a row 1×n).
pub fn shape<A: Operand + ?Sized>(value: &A) -> (usize, usize) {
    A::Kind::shape(value.view())
}

/// `⟨a, b⟩ = Σ aᵢⱼ bᵢⱼ` for values of the same shape.
pub fn inner<A: Operand + ?Sized, B: Operand<Kind = A::Kind> + ?Sized>(a: &A, b: &B) -> f64 {
    assert_eq!(shape(a), shape(b), "inner product of values of different shapes");
    fd::to_vec(a).iter().zip(fd::to_vec(b)).map(|(x, y)| x * y).sum()
}

fn max_abs(values: &[f64]) -> f64 {
    values.iter().fold(0.0_f64, |max, value| max.max(value.abs()))
}

/// Asserts `actual` and `expected` have the same kind and shape and
/// `‖actual − expected‖∞ ≤ tolerance · max(‖actual‖∞, ‖expected‖∞)`.
#[track_caller]
pub fn assert_close<A: Operand + ?Sized, B: Operand<Kind = A::Kind> + ?Sized>(
    actual: &A,
    expected: &B,
    tolerance: f64,
) {
    assert_eq!(shape(actual), shape(expected), "shapes differ");
    let (a, e) = (fd::to_vec(actual), fd::to_vec(expected));
    assert_slices_close(&a, &e, tolerance);
}

/// [`assert_close`] for slices.
#[track_caller]
pub fn assert_slices_close(actual: &[f64], expected: &[f64], tolerance: f64) {
    assert_eq!(actual.len(), expected.len(), "lengths differ");
    let error = max_abs(&actual.iter().zip(expected).map(|(a, e)| a - e).collect::<Vec<_>>());
    let scale = max_abs(actual).max(max_abs(expected));
    assert!(
        actual.iter().chain(expected).all(|value| value.is_finite()) && error <= tolerance * scale,
        "values differ by {error:e} (relative {:e}, tolerance {tolerance:e}):\n  actual   {actual:?}\n  expected {expected:?}",
        error / scale
    );
}

/// Checks `gradient` (shaped like `at`) against the central-difference
/// gradient of `f` at `at`, `f` taking an owned value of `at`'s shape.
#[track_caller]
pub fn check_fd<A, G>(at: &A, f: impl Fn(&<A::Kind as Kind>::Owned) -> f64, gradient: &G)
where
    A: Operand + ?Sized,
    G: Operand<Kind = A::Kind> + ?Sized,
{
    assert_eq!(
        shape(gradient),
        shape(at),
        "the gradient is not shaped like its parameter"
    );
    fd::check_gradient(
        |v: &[f64]| f(&fd::from_vec_like(at, v)),
        &fd::to_vec(at),
        &fd::to_vec(gradient),
    )
    .assert_within(FD);
}

/// Checks a numerator-layout `jacobian` of a column-valued `f` at `at`
/// against central differences.
#[track_caller]
pub fn check_fd_jacobian<A: Operand + ?Sized>(
    at: &A,
    f: impl Fn(&<A::Kind as Kind>::Owned) -> Col<f64>,
    jacobian: &Mat<f64>,
) {
    let numeric = fd::central_jacobian(|v: &[f64]| fd::to_vec(&f(&fd::from_vec_like(at, v))), &fd::to_vec(at));
    assert_eq!(shape(jacobian), shape(&numeric), "Jacobian shapes differ");
    let (worst, error) = fd::worst_relative_error(&fd::to_vec(jacobian), &fd::to_vec(&numeric));
    assert!(
        error <= FD,
        "Jacobian differs from central differences by {error:e} at element {worst} (column-major):\n{jacobian:?}\n{numeric:?}"
    );
}
