//! Helpers shared by the integration tests: a small deterministic random
//! number generator, finite-difference gradient checks, relative comparisons
//! and a harness that checks all three generated functions (`_grad`, `_vjp`,
//! `_pullback`) of a function against its primal and central differences.
//!
//! Each test file uses a different subset of these helpers.
#![allow(dead_code, unused_macros)]

use chainrule::fd;

/// Relative tolerance for comparisons with central differences.
pub const FD_TOLERANCE: f64 = 1e-6;

/// Relative tolerance for comparisons with closed-form derivatives.
pub const EXACT_TOLERANCE: f64 = 1e-12;

/// How many random points each property is checked at.
pub const POINTS: usize = 8;

/// SplitMix64: a tiny, fast, deterministic generator, so that every test run
/// sees the same points and a failure can be reproduced.
#[derive(Clone, Debug)]
pub struct Rng {
    state: u64,
}

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng { state: seed }
    }

    /// A generator whose stream depends on `name` (FNV-1a of it), so that
    /// each test draws its own points.
    pub fn for_test(name: &str) -> Self {
        let hash = name.bytes().fold(0xCBF2_9CE4_8422_2325_u64, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x100_0000_01B3)
        });
        Rng::new(hash)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`, with 53 random bits.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in `[lo, hi)`.
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        assert!(lo < hi, "empty interval [{lo}, {hi})");
        lo + (hi - lo) * self.unit()
    }

    /// Uniform in `[lo, hi)` with a random sign: `±[lo, hi)`.
    pub fn signed(&mut self, lo: f64, hi: f64) -> f64 {
        let magnitude = self.uniform(lo, hi);
        if self.next_u64() & 1 == 0 {
            magnitude
        } else {
            -magnitude
        }
    }

    /// A point with coordinate `i` uniform in `domain[i]`.
    pub fn point(&mut self, domain: &[(f64, f64)]) -> Vec<f64> {
        domain.iter().map(|&(lo, hi)| self.uniform(lo, hi)).collect()
    }

    /// A random seed for vector–Jacobian products, away from zero and one.
    pub fn seed(&mut self) -> f64 {
        self.signed(0.25, 4.0)
    }
}

/// Asserts that `gradient` agrees with the central-difference gradient of
/// `f_numeric` at `point` to a relative error of [`FD_TOLERANCE`].
#[track_caller]
pub fn assert_gradient(f_numeric: impl Fn(&[f64]) -> f64, point: &[f64], gradient: &[f64]) {
    let check = fd::check_gradient(f_numeric, point, gradient);
    if check.max_relative_error > FD_TOLERANCE {
        eprintln!("gradient check failed at point {point:?}");
    }
    check.assert_within(FD_TOLERANCE);
}

/// Asserts that the value returned by a generated function is the value of
/// the primal function. Both compute the same operations in the same order,
/// so they agree exactly.
#[track_caller]
pub fn assert_value(generated: f64, primal: f64) {
    assert!(
        generated.to_bits() == primal.to_bits() || generated == primal || (generated.is_nan() && primal.is_nan()),
        "generated value {generated:e} differs from the primal value {primal:e}"
    );
}

/// Relative error of `actual` against `expected`; an exact zero must be an
/// exact zero.
pub fn relative_error(actual: f64, expected: f64) -> f64 {
    relative_error_with_floor(actual, expected, 0.0)
}

/// `|actual − expected| / max(|actual|, |expected|, floor)`, infinite for a NaN.
pub fn relative_error_with_floor(actual: f64, expected: f64, floor: f64) -> f64 {
    if actual == expected {
        return 0.0;
    }
    if actual.is_nan() || expected.is_nan() {
        return f64::INFINITY;
    }
    (actual - expected).abs() / actual.abs().max(expected.abs()).max(floor)
}

/// The index and size of the largest entrywise relative error between two
/// gradients. An entry smaller than a thousandth of the largest entry is
/// compared relative to that thousandth instead: a partial derivative that is
/// zero in exact arithmetic may come out as rounding noise (`x·y/y − x`).
pub fn gradient_error(actual: &[f64], expected: &[f64]) -> (usize, f64) {
    assert_eq!(
        actual.len(),
        expected.len(),
        "length mismatch: {actual:?} vs {expected:?}"
    );
    let scale = actual.iter().chain(expected).fold(0.0_f64, |max, v| max.max(v.abs()));
    let floor = 1e-3 * scale;
    actual
        .iter()
        .zip(expected)
        .map(|(a, e)| relative_error_with_floor(*a, *e, floor))
        .enumerate()
        .fold(
            (0, 0.0),
            |worst, (i, error)| if error > worst.1 { (i, error) } else { worst },
        )
}

/// Asserts `actual ≈ expected` to a relative error of `tolerance`.
#[track_caller]
pub fn assert_close(actual: f64, expected: f64, tolerance: f64) {
    let error = relative_error(actual, expected);
    assert!(
        error <= tolerance,
        "{actual:e} differs from the expected {expected:e} (relative error {error:.3e} > {tolerance:e})"
    );
}

/// Asserts each entry of `actual` is within `tolerance` of `expected`,
/// relative to the entry (see [`gradient_error`]).
#[track_caller]
pub fn assert_all_close(actual: &[f64], expected: &[f64], tolerance: f64) {
    let (i, error) = gradient_error(actual, expected);
    assert!(
        error <= tolerance,
        "entry {i}: {:e} differs from the expected {:e} (relative error {error:.3e} > {tolerance:e})\n\
         actual:   {actual:?}\nexpected: {expected:?}",
        actual[i],
        expected[i],
    );
}

/// Asserts the two vectors are bitwise equal (the same computation).
#[track_caller]
pub fn assert_identical(actual: &[f64], expected: &[f64]) {
    assert_eq!(
        actual.len(),
        expected.len(),
        "length mismatch: {actual:?} vs {expected:?}"
    );
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        assert!(
            a.to_bits() == e.to_bits() || a == e,
            "entry {i}: {a:e} differs from {e:e}\nactual:   {actual:?}\nexpected: {expected:?}"
        );
    }
}

/// The generated functions of one `#[differentiate]` function whose
/// parameters are all differentiated `f64`s, adapted to slices. Build it with
/// [`generated!`].
pub struct Generated<'a> {
    pub name: &'static str,
    pub primal: &'a PrimalFn,
    /// `point ↦ (value, gradient)`.
    pub grad: &'a GradFn,
    /// `(point, seed) ↦ (value, seed × gradient)`.
    pub vjp: &'a VjpFn,
    /// `(point, seed) ↦ (value, pullback(seed, arguments))`.
    pub pullback: &'a VjpFn,
}

/// A value and a gradient.
pub type ValueAndGradient = (f64, Vec<f64>);
/// `point ↦ value`.
pub type PrimalFn = dyn Fn(&[f64]) -> f64;
pub type GradFn = dyn Fn(&[f64]) -> ValueAndGradient;
pub type VjpFn = dyn Fn(&[f64], f64) -> ValueAndGradient;
/// A closed-form gradient: `point ↦ gradient`.
pub type ClosedForm = dyn Fn(&[f64]) -> Vec<f64>;

/// `generated!(f, f_grad, f_vjp, f_pullback; x, y)` for `fn f(x: f64, y: f64)`;
/// the functions may be paths, `Model::f`.
macro_rules! generated {
    ($f:path, $grad:path, $vjp:path, $pullback:path; $($x:ident),+ $(,)?) => {
        $crate::common::Generated {
            name: stringify!($f),
            primal: &|p: &[f64]| {
                let &[$($x),+] = p else { panic!("wrong number of coordinates") };
                $f($($x),+)
            },
            grad: &|p: &[f64]| {
                let &[$($x),+] = p else { panic!("wrong number of coordinates") };
                let (value, $($x),+) = $grad($($x),+);
                (value, vec![$($x),+])
            },
            vjp: &|p: &[f64], seed: f64| {
                let &[$($x),+] = p else { panic!("wrong number of coordinates") };
                let (value, $($x),+) = $vjp($($x,)+ seed);
                (value, vec![$($x),+])
            },
            pullback: &|p: &[f64], seed: f64| {
                let &[$($x),+] = p else { panic!("wrong number of coordinates") };
                let (value, pullback) = $pullback($($x),+);
                let ($($x,)+) = pullback(&seed, ($($x,)+));
                (value, vec![$($x),+])
            },
        }
    };
}

/// Checks the generated functions of `g` at one point:
/// - `_grad` returns the primal value and the central-difference gradient;
/// - `_vjp` with a random seed returns the value and seed × gradient;
/// - `_pullback` returns the value, and its closure gives the same as `_vjp`
///   for that seed and the same as `_grad` for the seed 1.
///
/// Returns the gradient.
#[track_caller]
pub fn check_at(g: &Generated<'_>, point: &[f64], rng: &mut Rng) -> Vec<f64> {
    let primal = (g.primal)(point);
    assert!(primal.is_finite(), "{}: primal is not finite at {point:?}", g.name);
    let (value, gradient) = (g.grad)(point);
    assert_value(value, primal);
    assert!(
        gradient.iter().all(|d| d.is_finite()),
        "{}: gradient {gradient:?} is not finite at {point:?}",
        g.name
    );
    let check = fd::check_gradient(g.primal, point, &gradient);
    assert!(
        check.max_relative_error <= FD_TOLERANCE,
        "{}: gradient differs from central differences at point {point:?}:\n{check}",
        g.name
    );

    let seed = rng.seed();
    let (vjp_value, vjp) = (g.vjp)(point, seed);
    assert_value(vjp_value, primal);
    let scaled: Vec<f64> = gradient.iter().map(|d| seed * d).collect();
    assert_all_close(&vjp, &scaled, EXACT_TOLERANCE);

    let (pullback_value, pulled) = (g.pullback)(point, seed);
    assert_value(pullback_value, primal);
    assert_identical(&pulled, &vjp);
    let (_, unit) = (g.pullback)(point, 1.0);
    assert_identical(&unit, &gradient);
    gradient
}

/// [`check_at`] at [`POINTS`] points drawn by `sample`.
#[track_caller]
pub fn check_sampled(g: &Generated<'_>, rng: &mut Rng, mut sample: impl FnMut(&mut Rng) -> Vec<f64>) {
    for _ in 0..POINTS {
        let point = sample(rng);
        check_at(g, &point, rng);
    }
}

/// [`check_sampled`], and also compares the gradient with the closed form
/// `expected` to a relative error of [`EXACT_TOLERANCE`].
#[track_caller]
pub fn check_sampled_exact(
    g: &Generated<'_>,
    rng: &mut Rng,
    mut sample: impl FnMut(&mut Rng) -> Vec<f64>,
    expected: impl Fn(&[f64]) -> Vec<f64>,
) {
    for _ in 0..POINTS {
        let point = sample(rng);
        let gradient = check_at(g, &point, rng);
        assert_matches_closed_form(g.name, &point, &gradient, &expected(&point));
    }
}

/// [`check_sampled_exact`] at points of each length in `lengths`, their
/// coordinates uniform in `[lo, hi)`.
#[track_caller]
pub fn check_lengths_exact(
    g: &Generated<'_>,
    rng: &mut Rng,
    lengths: &[usize],
    (lo, hi): (f64, f64),
    expected: impl Fn(&[f64]) -> Vec<f64>,
) {
    for &len in lengths {
        check_sampled_exact(g, rng, |r| uniform_point(r, len, lo, hi), &expected);
    }
}

/// [`check_at`] at [`POINTS`] points uniform in the box `domain`.
#[track_caller]
pub fn check_box(g: &Generated<'_>, rng: &mut Rng, domain: &[(f64, f64)]) {
    check_sampled(g, rng, |rng| rng.point(domain));
}

/// Asserts a generated gradient equals the closed form to [`EXACT_TOLERANCE`].
#[track_caller]
pub fn assert_matches_closed_form(name: &str, point: &[f64], gradient: &[f64], expected: &[f64]) {
    assert_eq!(gradient.len(), expected.len(), "{name}: gradient length");
    let (i, error) = gradient_error(gradient, expected);
    assert!(
        error <= EXACT_TOLERANCE,
        "{name}: ∂/∂x{i} = {:e} at {point:?}, but the closed form gives {:e} (relative error {error:.3e})\n\
         gradient:    {gradient:?}\nclosed form: {expected:?}",
        gradient[i],
        expected[i],
    );
}

/// [`check_box`], and also compares the gradient with the closed form `expected`.
#[track_caller]
pub fn check_box_exact(g: &Generated<'_>, rng: &mut Rng, domain: &[(f64, f64)], expected: impl Fn(&[f64]) -> Vec<f64>) {
    check_sampled_exact(g, rng, |rng| rng.point(domain), expected);
}

/// Checks `g` ([`check_at`], and the closed form `expected` if given) at
/// random points of `domain` until each of the `branches` paths through it
/// has been checked at [`POINTS`] points. `classify` tells the path a point
/// takes, computed independently of `g`, or `None` for a point too close to
/// a boundary between paths for central differences.
#[track_caller]
pub fn check_branches(
    g: &Generated<'_>,
    rng: &mut Rng,
    domain: &[(f64, f64)],
    branches: usize,
    classify: impl Fn(&[f64]) -> Option<usize>,
    expected: Option<&ClosedForm>,
) {
    let mut hits = vec![0; branches];
    for _ in 0..100_000 {
        if hits.iter().all(|&count| count >= POINTS) {
            return;
        }
        let point = rng.point(domain);
        let Some(branch) = classify(&point) else { continue };
        if hits[branch] >= POINTS {
            continue;
        }
        hits[branch] += 1;
        let gradient = check_at(g, &point, rng);
        if let Some(expected) = expected {
            assert_matches_closed_form(g.name, &point, &gradient, &expected(&point));
        }
    }
    panic!("{}: some paths were never taken: {hits:?} points per path", g.name);
}

/// Whether `value` is at least `margin` away from each of `boundaries`.
pub fn away_from(value: f64, boundaries: &[f64], margin: f64) -> bool {
    boundaries.iter().all(|boundary| (value - boundary).abs() >= margin)
}

/// The generated functions of `f(xs: &[f64], constants...)`, adapted to
/// slices: the point is `xs`, the constants are fixed.
macro_rules! of_slice {
    ($f:ident, $grad:ident, $vjp:ident, $pullback:ident $(; $($c:expr),*)?) => {
        $crate::common::Generated {
            name: stringify!($f),
            primal: &move |p: &[f64]| $f(p $($(, $c)*)?),
            grad: &move |p: &[f64]| {
                let (value, gradient, ..) = $grad(p $($(, $c)*)?);
                (value, gradient)
            },
            vjp: &move |p: &[f64], seed: f64| {
                let (value, gradient, ..) = $vjp(p $($(, $c)*)?, seed);
                (value, gradient)
            },
            pullback: &move |p: &[f64], seed: f64| {
                let (value, pullback) = $pullback(p $($(, $c)*)?);
                let (gradient, ..) = pullback(&seed, (p, $($($c,)*)?));
                (value, gradient)
            },
        }
    };
}

/// Checks `f(xs, n)` at random points of `len` coordinates in `[lo, hi)`.
macro_rules! check_slice_function {
    ($f:ident, $grad:ident, $vjp:ident, $pullback:ident; $n:expr, $len:expr, $lo:expr, $hi:expr) => {{
        let g = of_slice!($f, $grad, $vjp, $pullback; $n);
        let mut rng = $crate::common::Rng::for_test(stringify!($f));
        for _ in 0..$crate::common::POINTS {
            let point = $crate::common::uniform_point(&mut rng, $len, $lo, $hi);
            $crate::common::check_at(&g, &point, &mut rng);
        }
    }};
}

/// A point of `len` coordinates uniform in `[lo, hi)`.
pub fn uniform_point(rng: &mut Rng, len: usize, lo: f64, hi: f64) -> Vec<f64> {
    (0..len).map(|_| rng.uniform(lo, hi)).collect()
}
