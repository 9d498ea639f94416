//! Macros run for their effect (`assert!`, `assert_eq!`, `debug_assert!`,
//! `println!`, `eprintln!`, `panic!`, `unreachable!`) inside
//! `#[differentiate]` functions. Each generated function runs them where the
//! user wrote them, with the values the variables hold there: the
//! derivatives are checked against central differences, and the messages of
//! the assertions a generated function fails are checked to carry the values
//! of that point (which they would not if a captured `{s}` read another
//! version of `s`).

#![allow(clippy::needless_range_loop)]

#[macro_use]
mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};

use chainrule::fd;
use chainrule::prelude::*;
use common::{POINTS, Rng, assert_all_close, assert_value, check_box, uniform_point};

/// The message of the panic `f` ends in, or `None` if it returns.
fn panic_message<T>(f: impl FnOnce() -> T) -> Option<String> {
    let payload = catch_unwind(AssertUnwindSafe(f)).err()?;
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .or_else(|| Some(String::new()))
}

/// `s = x·y + Σ_{i<3} i·sin x`, checked on the way, times `y`.
#[differentiate(forward, hessian)]
fn checked(x: f64, y: f64) -> f64 {
    assert!(x > 0.0, "x must be positive, got {x}");
    let mut s = x * y;
    let precision = 3;
    println!("s = {s:.precision$}, y = {}", y);
    for i in 0..3 {
        s += (i as f64) * x.sin();
        eprintln!("step {i}: s = {s}");
        assert!(s < 100.0, "s = {s} after step {i}");
    }
    if s > 50.0 {
        panic!("s = {} is too large", s);
    }
    debug_assert!(s.is_finite());
    s * y
}

fn checked_gradient(x: f64, y: f64) -> [f64; 2] {
    let s = x * y + 3.0 * x.sin();
    [(y + 3.0 * x.cos()) * y, s + x * y]
}

#[test]
fn assertions_and_prints_leave_derivatives_as_they_are() {
    let g = generated!(checked, checked_grad, checked_vjp, checked_pullback; x, y);
    let mut rng = Rng::for_test("checked");
    check_box(&g, &mut rng, &[(0.1, 2.0), (-2.0, 2.0)]);
    for _ in 0..POINTS {
        let (x, y) = (rng.uniform(0.1, 2.0), rng.signed(0.1, 2.0));
        let (_, dx, dy) = checked_grad(x, y);
        assert_all_close(&[dx, dy], &checked_gradient(x, y), 1e-12);

        let (v, w) = (rng.signed(0.25, 2.0), rng.signed(0.25, 2.0));
        let (value, tangent) = checked_jvp(x, y, v, w);
        assert_value(value, checked(x, y));
        let expected = checked_gradient(x, y);
        assert_all_close(&[tangent], &[expected[0] * v + expected[1] * w], 1e-12);

        let (value, hessian) = checked_hessian(x, y);
        assert_value(value, checked(x, y));
        let numeric = fd::central_jacobian(|p: &[f64]| checked_gradient(p[0], p[1]).to_vec(), &[x, y]);
        for i in 0..2 {
            for j in 0..2 {
                assert_all_close(&[hessian[(i, j)]], &[numeric[(i, j)]], 1e-6);
            }
        }
    }
}

#[test]
fn every_generated_function_checks_its_assertions() {
    let expected = "x must be positive, got -1.5";
    let messages = [
        panic_message(|| checked(-1.5, 1.0)),
        panic_message(|| checked_grad(-1.5, 1.0)),
        panic_message(|| checked_vjp(-1.5, 1.0, 2.0)),
        panic_message(|| checked_pullback(-1.5, 1.0).0),
        panic_message(|| checked_jvp(-1.5, 1.0, 1.0, 0.0)),
        panic_message(|| checked_hessian(-1.5, 1.0)),
    ];
    for message in messages {
        assert_eq!(message.as_deref(), Some(expected));
    }
}

#[test]
fn assertion_messages_read_the_values_where_they_stand() {
    // x = 1, y = 60: s = 60 before the loop, 60 + sin 1 after step 1, and
    // 60 + 3 sin 1 ≈ 62.52 after the loop, above 50.
    let after_loop = format!("s = {} is too large", 60.0 + 1.0_f64.sin() + 2.0 * 1.0_f64.sin());
    assert_eq!(panic_message(|| checked_grad(1.0, 60.0)), Some(after_loop.clone()));
    assert_eq!(panic_message(|| checked_jvp(1.0, 60.0, 1.0, 1.0)), Some(after_loop));
    // y = 99.5: s passes 100 at step 1.
    let step_1 = format!("s = {} after step 1", 99.5 + 1.0_f64.sin());
    assert_eq!(panic_message(|| checked_grad(1.0, 99.5)), Some(step_1.clone()));
    assert_eq!(panic_message(|| checked_hessian(1.0, 99.5)), Some(step_1));
}

/// ⟨w, xs⟩ over a running sum whose loop holds another loop (run eagerly),
/// after checking the lengths.
#[differentiate(wrt(xs))]
fn checked_dot(xs: &[f64], w: &[f64], repeats: usize) -> f64 {
    assert_eq!(xs.len(), w.len(), "lengths differ: {} and {}", xs.len(), w.len());
    assert_ne!(repeats, 0);
    let mut total = 0.0;
    for r in 0..repeats {
        let mut term = 0.0;
        for i in 0..xs.len() {
            term += xs[i] * w[i];
        }
        println!("repeat {r}: term = {term}");
        total += term * term;
    }
    total
}

#[test]
fn assertions_on_lengths_guard_the_gradient() {
    let mut rng = Rng::for_test("checked_dot");
    let w: &'static [f64] = &[0.5, -0.75, 1.25, -0.3];
    let g = of_slice!(checked_dot, checked_dot_grad, checked_dot_vjp, checked_dot_pullback; w, 3);
    for _ in 0..POINTS {
        let xs = uniform_point(&mut rng, 4, -2.0, 2.0);
        let gradient = common::check_at(&g, &xs, &mut rng);
        let dot: f64 = xs.iter().zip(w).map(|(x, w)| x * w).sum();
        let expected: Vec<f64> = w.iter().map(|w| 6.0 * dot * w).collect();
        assert_all_close(&gradient, &expected, 1e-12);
    }
    assert_eq!(
        panic_message(|| checked_dot_grad(&[1.0, 2.0], w, 3)),
        Some("assertion `left == right` failed: lengths differ: 2 and 4\n  left: 2\n right: 4".to_owned())
    );
    assert!(panic_message(|| checked_dot_grad(&[0.0; 4], w, 0)).is_some());
}

/// x² on the positive half-line; the other branch never returns.
#[differentiate]
fn positive_square(x: f64) -> f64 {
    if x > 0.0 {
        x * x
    } else {
        unreachable!("x = {x} is not positive")
    }
}

#[test]
fn a_branch_that_panics_needs_no_value() {
    let mut rng = Rng::for_test("positive_square");
    for _ in 0..POINTS {
        let x = rng.uniform(0.1, 3.0);
        let (value, derivative) = positive_square_grad(x);
        assert_value(value, x * x);
        assert_all_close(&[derivative], &[2.0 * x], 1e-12);
    }
    assert_eq!(
        panic_message(|| positive_square_grad(-2.0)),
        Some("internal error: entered unreachable code: x = -2 is not positive".to_owned())
    );
}

/// √x, for x ≥ 0 only.
#[differentiate]
fn root(x: f64) -> f64 {
    let shifted = x - 1.0;
    assert!(shifted >= -1.0);
    (shifted + 1.0).sqrt()
}

#[test]
fn a_failed_assertion_names_the_condition_as_written() {
    let (value, derivative) = root_grad(4.0);
    assert_value(value, 2.0);
    assert_all_close(&[derivative], &[0.25], 1e-12);
    assert_eq!(
        panic_message(|| root_grad(-1.0)),
        Some("assertion failed: shifted >= -1.0".to_owned())
    );
}

/// A loop the adjoint sweep would run forward again (see `replay.rs`) if it
/// did not print: with the `println!` it is taped, and prints once per call.
#[differentiate(wrt(w))]
fn discounted_squares(w: &[f64], n: usize) -> f64 {
    let mut s = 0.0;
    for i in 0..n {
        let mut inner = 0.0;
        for j in 0..w.len() {
            inner += w[j] * (i as f64 + j as f64);
        }
        println!("{i}: {inner}");
        s = s * 0.5 + inner * inner;
    }
    s
}

#[test]
fn a_loop_that_prints_is_taped_and_differentiated() {
    check_slice_function!(
        discounted_squares, discounted_squares_grad, discounted_squares_vjp, discounted_squares_pullback;
        4, 3, -1.0, 1.0
    );
}

/// `dbg!` passes its value on, derivative included, and prints it.
#[differentiate(hessian)]
fn traced(x: f64, y: f64) -> f64 {
    let z = dbg!(x * y);
    dbg!(z + 1.0);
    let w = dbg!(2.0);
    dbg!(z * z + w * x.sin())
}

#[test]
fn dbg_passes_its_value_and_derivative_on() {
    let g = generated!(traced, traced_grad, traced_vjp, traced_pullback; x, y);
    let mut rng = Rng::for_test("traced");
    check_box(&g, &mut rng, &[(-2.0, 2.0), (-2.0, 2.0)]);
    for _ in 0..POINTS {
        let (x, y) = (rng.signed(0.1, 2.0), rng.signed(0.1, 2.0));
        let (_, dx, dy) = traced_grad(x, y);
        assert_all_close(&[dx, dy], &[2.0 * x * y * y + 2.0 * x.cos(), 2.0 * x * x * y], 1e-12);
        let (_, hessian) = traced_hessian(x, y);
        let expected = [[2.0 * y * y - 2.0 * x.sin(), 4.0 * x * y], [4.0 * x * y, 2.0 * x * x]];
        for i in 0..2 {
            assert_all_close(&[hessian[(i, 0)], hessian[(i, 1)]], &expected[i], 1e-12);
        }
    }
}
