//! Tuples taken apart where they are written: `let (s, c) = x.sin_cos();`,
//! `x.sin_cos().0`, `let (a, b) = (e0, e1);` with nested patterns and tuple
//! types, `if`s whose branches are tuples, the simultaneous assignment
//! `(a, b) = (b, a + b)` inside a loop,
//! and a tuple parameter that is not differentiated.
//!
//! Every derivative is checked against its closed form and central
//! differences at random points; forward mode and the Hessian too.

#[macro_use]
mod common;

use chainrule::fd;
use chainrule::prelude::*;
use common::{EXACT_TOLERANCE, FD_TOLERANCE, POINTS, Rng, assert_all_close, assert_close, uniform_point};

/// sin x / 2 − 2 cos x + 3 cos x + sin x / 2 = sin x + cos x, from `sin_cos` both ways:
/// f′ = cos x − sin x, f″ = −sin x − cos x.
#[differentiate(forward, hessian)]
fn sine_and_cosine(x: f64) -> f64 {
    let (s, c) = x.sin_cos();
    0.5 * s - 2.0 * c + 3.0 * x.sin_cos().1 + 0.5 * x.sin_cos().0
}

#[test]
fn sin_cos_has_the_derivatives_of_sin_and_cos() {
    let mut rng = Rng::for_test("sine_and_cosine");
    for _ in 0..POINTS {
        let x = rng.uniform(-1.5, 1.5);
        let (value, derivative) = sine_and_cosine_grad(x);
        assert_eq!(value, sine_and_cosine(x));
        assert_close(value, x.sin() + x.cos(), EXACT_TOLERANCE);
        assert_close(derivative, x.cos() - x.sin(), EXACT_TOLERANCE);
        let (_, tangent) = sine_and_cosine_jvp(x, 1.0);
        assert_close(tangent, derivative, EXACT_TOLERANCE);
        let (_, hessian) = sine_and_cosine_hessian(x);
        assert_close(hessian[(0, 0)], -x.sin() - x.cos(), 1e-10);
    }
}

/// a·b with (a, (b, _)) = (xy, (x + y, 3)): ∂x = y(x + y) + xy,
/// ∂y = x(x + y) + xy.
#[differentiate(forward, hessian)]
fn nested_pattern(x: f64, y: f64) -> f64 {
    let (a, (b, _)): (f64, (f64, f64)) = (x * y, (x + y, 3.0));
    let (mut c, d) = (a, b);
    c *= d;
    c
}

fn nested_pattern_at(p: &[f64]) -> f64 {
    nested_pattern(p[0], p[1])
}

#[test]
fn nested_tuple_patterns_bind_each_part() {
    let mut rng = Rng::for_test("nested_pattern");
    for _ in 0..POINTS {
        let p = uniform_point(&mut rng, 2, -2.0, 2.0);
        let (x, y) = (p[0], p[1]);
        let (value, dx, dy) = nested_pattern_grad(x, y);
        assert_eq!(value, nested_pattern(x, y));
        assert_all_close(&[dx, dy], &[y * (x + y) + x * y, x * (x + y) + x * y], EXACT_TOLERANCE);
        fd::check_gradient(nested_pattern_at, &p, &[dx, dy]).assert_within(FD_TOLERANCE);
        let (_, tangent) = nested_pattern_jvp(x, y, 0.3, -0.7);
        assert_close(tangent, 0.3 * dx - 0.7 * dy, EXACT_TOLERANCE);
        let (_, hessian) = nested_pattern_hessian(x, y);
        // f = x²y + xy²: the Hessian is [[2y, 2x + 2y], [2x + 2y, 2x]].
        let expected = [2.0 * y, 2.0 * (x + y), 2.0 * (x + y), 2.0 * x];
        let actual = [hessian[(0, 0)], hessian[(0, 1)], hessian[(1, 0)], hessian[(1, 1)]];
        assert_all_close(&actual, &expected, 1e-10);
    }
}

/// The larger and smaller of x and y, then of their squares, from `if`s
/// whose branches are tuples: max·min² + (x² ∨ y²) − (x² ∧ y²).
#[differentiate(forward, hessian)]
fn ordered_pair(x: f64, y: f64) -> f64 {
    let (high, low) = if x > y { (x, y) } else { (y, x) };
    let (big, small) = if x * x > y * y {
        (x * x, y * y)
    } else if x * x < y * y {
        (y * y, x * x)
    } else {
        (x * x, x * x)
    };
    high * low * low + big - small
}

#[test]
fn an_if_of_tuples_takes_the_branch_its_condition_picks() {
    let mut rng = Rng::for_test("ordered_pair");
    for _ in 0..POINTS {
        let p = uniform_point(&mut rng, 2, -2.0, 2.0);
        let (x, y) = (p[0], p[1]);
        let (value, dx, dy) = ordered_pair_grad(x, y);
        assert_eq!(value, ordered_pair(x, y));
        let (high, low) = (x.max(y), x.min(y));
        assert_close(value, high * low * low + (x * x - y * y).abs(), EXACT_TOLERANCE);
        fd::check_gradient(|p| ordered_pair(p[0], p[1]), &p, &[dx, dy]).assert_within(FD_TOLERANCE);
        let (_, tangent) = ordered_pair_jvp(x, y, 0.3, -0.6);
        assert_close(tangent, 0.3 * dx - 0.6 * dy, EXACT_TOLERANCE);
        let (_, hessian) = ordered_pair_hessian(x, y);
        let numeric = fd::central_jacobian(
            |p| {
                let (_, dx, dy) = ordered_pair_grad(p[0], p[1]);
                vec![dx, dy]
            },
            &p,
        );
        for (i, j) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
            assert_all_close(&[hessian[(i, j)]], &[numeric[(i, j)]], FD_TOLERANCE);
        }
    }
}

/// (a, b) ← (b, a·b + 1), n times: both parts are read before either is
/// written, as in Rust.
#[differentiate]
fn simultaneous_update(x: f64, y: f64, n: usize) -> f64 {
    let (mut a, mut b) = (x, y);
    for _ in 0..n {
        (a, b) = (b, a * b + 1.0);
    }
    // `_` takes a part and drops it.
    (a, _) = (a + 0.0, b * 7.0);
    a + b
}

fn simultaneous_update_by_hand(x: f64, y: f64, n: usize) -> f64 {
    let mut a = x;
    let mut b = y;
    for _ in 0..n {
        let next = a * b + 1.0;
        a = b;
        b = next;
    }
    a + b
}

#[test]
fn a_simultaneous_assignment_in_a_loop_reads_the_old_values() {
    let mut rng = Rng::for_test("simultaneous_update");
    for _ in 0..POINTS {
        let p = uniform_point(&mut rng, 2, -1.2, 1.2);
        let (value, dx, dy) = simultaneous_update_grad(p[0], p[1], 4);
        assert_eq!(value, simultaneous_update_by_hand(p[0], p[1], 4));
        fd::check_gradient(|p| simultaneous_update(p[0], p[1], 4), &p, &[dx, dy]).assert_within(FD_TOLERANCE);
    }
}

/// A weight w against a constant (centre, scale): ((w − centre) / scale)²,
/// with ∂w = 2 (w − centre) / scale². A tuple of `f64`s is constant only
/// when `wrt` leaves it out.
#[differentiate(wrt(w))]
fn scaled_distance(w: f64, settings: (f64, f64)) -> f64 {
    let (centre, scale) = settings;
    ((w - centre) / scale).powi(2)
}

/// The same through a reference, taken apart with `*settings`.
#[differentiate(wrt(w))]
fn scaled_distance_by_reference(w: f64, settings: &(f64, f64)) -> f64 {
    let (centre, scale) = *settings;
    ((w - centre) / scale).powi(2)
}

#[test]
fn a_constant_tuple_parameter_is_taken_apart() {
    let mut rng = Rng::for_test("scaled_distance");
    for _ in 0..POINTS {
        let w = rng.uniform(-3.0, 3.0);
        let settings = (rng.uniform(-1.0, 1.0), rng.uniform(0.5, 2.0));
        let (value, derivative) = scaled_distance_grad(w, settings);
        assert_eq!(value, scaled_distance(w, settings));
        assert_close(derivative, 2.0 * (w - settings.0) / settings.1.powi(2), EXACT_TOLERANCE);
        let (value, derivative) = scaled_distance_by_reference_grad(w, &settings);
        assert_eq!(value, scaled_distance(w, settings));
        assert_close(derivative, 2.0 * (w - settings.0) / settings.1.powi(2), EXACT_TOLERANCE);
        fd::check_gradient(|p| scaled_distance_by_reference(p[0], &settings), &[w], &[derivative])
            .assert_within(FD_TOLERANCE);
    }
}
