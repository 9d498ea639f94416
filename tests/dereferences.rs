//! `*` in the body: a copy out of a borrowed array or view, a read through a
//! local reference, and references to values never differentiated, which
//! stay real dereferences. Each gradient is checked against its closed form
//! and against central finite differences at random points.

// The bound `*n` is what is tested, so the loop indexes by range.
#![allow(clippy::needless_range_loop)]

#[macro_use]
mod common;

use chainrule::prelude::*;
use common::{EXACT_TOLERANCE, POINTS, Rng, assert_all_close, assert_gradient, uniform_point};

/// `*xs` copies the array: its elements keep their derivatives.
#[differentiate]
fn copied_array(xs: &[f64; 3]) -> f64 {
    let ys = *xs;
    ys[0] * ys[1] + (*xs)[2] * xs[2]
}

/// `let mut ys = *xs` is a copy of its own: writing into it leaves `xs`
/// as it was.
#[differentiate]
fn written_copy(xs: &[f64; 3]) -> f64 {
    let mut ys = *xs;
    ys[0] *= ys[1];
    ys[2] += xs[0];
    ys[0] + ys[2] * xs[2]
}

/// `*x` copies the view.
#[differentiate]
fn copied_view(x: &ColRef<'_, f64>) -> f64 {
    let y = *x;
    y.squared_norm_l2() + (*x)[0]
}

/// `*r` reads `x` through a local reference.
#[differentiate]
fn through_local_references(x: f64, y: f64) -> f64 {
    let r = &x;
    let s = &y;
    *r * *r * *s + (*s).sin()
}

/// `*n` and `*flag` dereference values that have no derivative.
#[differentiate(wrt(x))]
fn constant_references(x: &[f64], n: &usize, flag: &bool) -> f64 {
    let mut s = 0.0;
    for i in 0..*n {
        s += x[i] * x[i];
    }
    if *flag { 3.0 * s } else { s }
}

#[test]
fn a_copy_out_of_a_borrowed_array_keeps_its_derivative() {
    let mut rng = Rng::for_test("copied_array");
    for _ in 0..POINTS {
        let p = uniform_point(&mut rng, 3, -2.0, 2.0);
        let xs = [p[0], p[1], p[2]];
        let (value, gradient) = copied_array_grad(&xs);
        assert_eq!(value, copied_array(&xs));
        assert_all_close(&gradient, &[p[1], p[0], 2.0 * p[2]], EXACT_TOLERANCE);
        assert_gradient(|q| copied_array(&[q[0], q[1], q[2]]), &p, &gradient);
    }
}

#[test]
fn a_written_copy_of_a_borrowed_array_leaves_the_array_as_it_was() {
    let mut rng = Rng::for_test("written_copy");
    for _ in 0..POINTS {
        let p = uniform_point(&mut rng, 3, -2.0, 2.0);
        let xs = [p[0], p[1], p[2]];
        let (value, gradient) = written_copy_grad(&xs);
        assert_eq!(value, written_copy(&xs));
        // f = x₀x₁ + (x₂ + x₀)·x₂
        assert_all_close(&gradient, &[p[1] + p[2], p[0], 2.0 * p[2] + p[0]], EXACT_TOLERANCE);
        assert_gradient(|q| written_copy(&[q[0], q[1], q[2]]), &p, &gradient);
    }
}

#[test]
fn a_copy_of_a_borrowed_view_keeps_its_derivative() {
    let mut rng = Rng::for_test("copied_view");
    for _ in 0..POINTS {
        let p = uniform_point(&mut rng, 4, -2.0, 2.0);
        let x = Col::from_fn(4, |i| p[i]);
        let (value, gradient) = copied_view_grad(&x.as_ref());
        assert_eq!(value, copied_view(&x.as_ref()));
        let gradient: Vec<f64> = gradient.iter().copied().collect();
        let expected: Vec<f64> = (0..4).map(|i| 2.0 * p[i] + if i == 0 { 1.0 } else { 0.0 }).collect();
        assert_all_close(&gradient, &expected, EXACT_TOLERANCE);
        assert_gradient(|q| copied_view(&Col::from_fn(4, |i| q[i]).as_ref()), &p, &gradient);
    }
}

#[test]
fn reads_through_local_references_keep_their_derivatives() {
    let mut rng = Rng::for_test("through_local_references");
    for _ in 0..POINTS {
        let p = uniform_point(&mut rng, 2, -2.0, 2.0);
        let (x, y) = (p[0], p[1]);
        let (value, dx, dy) = through_local_references_grad(x, y);
        assert_eq!(value, through_local_references(x, y));
        assert_all_close(&[dx, dy], &[2.0 * x * y, x * x + y.cos()], EXACT_TOLERANCE);
        assert_gradient(|q| through_local_references(q[0], q[1]), &p, &[dx, dy]);
    }
}

#[test]
fn references_to_constants_are_dereferenced() {
    let mut rng = Rng::for_test("constant_references");
    for _ in 0..POINTS {
        let x = uniform_point(&mut rng, 5, -2.0, 2.0);
        for (n, flag) in [(3, true), (5, false), (0, true)] {
            let (value, gradient, ..) = constant_references_grad(&x, &n, &flag);
            assert_eq!(value, constant_references(&x, &n, &flag));
            let factor = if flag { 3.0 } else { 1.0 };
            let expected: Vec<f64> = (0..5).map(|i| if i < n { 2.0 * factor * x[i] } else { 0.0 }).collect();
            assert_all_close(&gradient, &expected, EXACT_TOLERANCE);
            assert_gradient(|q| constant_references(q, &n, &flag), &x, &gradient);
        }
    }
}
