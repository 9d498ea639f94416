//! `return` from inside loops: `for`, `while` and `loop`, nested loops, a
//! `return` in a `match` arm, a loop inside an `if`, and results that are
//! faer columns. The trip count, and which `return` ends the function, are
//! decided on primal values; every function is checked against central finite
//! differences at points away from the thresholds, with each exit taken, and
//! against the derivative worked out by hand where that is simple.

#![allow(clippy::needless_range_loop)]

#[macro_use]
mod common;

use std::collections::HashSet;

use chainrule::fd;
use chainrule::prelude::*;
use common::{EXACT_TOLERANCE, POINTS, Rng, assert_all_close, assert_close, assert_gradient, away_from, check_at};

/// s·x at the first element where the running Σx² passes `limit`, or −Σx²
/// when it never does.
#[differentiate(wrt(xs))]
fn first_large_square(xs: &[f64], limit: f64) -> f64 {
    let mut s = 0.0;
    for &x in xs {
        s += x * x;
        if s > limit {
            return s * x;
        }
    }
    -s
}

/// The number of elements `first_large_square` reads, or `None` when the
/// running sum comes within `margin` of `limit`.
fn elements_read(xs: &[f64], limit: f64, margin: f64) -> Option<usize> {
    let mut s = 0.0;
    for (i, x) in xs.iter().enumerate() {
        s += x * x;
        if !away_from(s, &[limit], margin) {
            return None;
        }
        if s > limit {
            return Some(i + 1);
        }
    }
    Some(xs.len())
}

#[test]
fn return_from_a_for_loop() {
    let mut rng = Rng::for_test("first_large_square");
    let mut exits = HashSet::new();
    let mut checked = 0;
    while checked < 4 * POINTS {
        let xs = common::uniform_point(&mut rng, 5, -1.5, 1.5);
        let limit = rng.uniform(0.0, 6.0);
        let Some(read) = elements_read(&xs, limit, 1e-3) else {
            continue;
        };
        checked += 1;
        exits.insert(read);
        let g = of_slice!(
            first_large_square,
            first_large_square_grad,
            first_large_square_vjp,
            first_large_square_pullback;
            limit
        );
        let gradient = check_at(&g, &xs, &mut rng);
        let s: f64 = xs[..read].iter().map(|x| x * x).sum();
        let returned = s > limit;
        let expected: Vec<f64> = (0..xs.len())
            .map(|i| match (returned, i + 1 == read, i < read) {
                (true, true, _) => 2.0 * xs[i] * xs[i] + s,
                (true, false, true) => 2.0 * xs[i] * xs[read - 1],
                (false, _, _) => -2.0 * xs[i],
                _ => 0.0,
            })
            .collect();
        assert_all_close(&gradient, &expected, EXACT_TOLERANCE);
    }
    assert!(exits.len() >= 3, "too few different exits: {exits:?}");
}

/// Products of the first `split` elements with the rest, summed until the
/// sum passes 3; the `return` leaves both loops.
#[differentiate(wrt(ab))]
fn nested_search(ab: &[f64], split: usize) -> f64 {
    let mut acc = 0.0;
    for i in 0..split {
        for j in split..ab.len() {
            acc += ab[i] * ab[j];
            if acc > 3.0 {
                return acc.sqrt() + ab[i];
            }
        }
        acc *= 0.5;
    }
    acc
}

/// The `(i, j)` at which `nested_search` returns, `None` when it does not,
/// or `Err` when a partial sum is within `margin` of 3.
fn nested_exit(ab: &[f64], split: usize, margin: f64) -> Result<Option<(usize, usize)>, ()> {
    let mut acc = 0.0;
    for i in 0..split {
        for j in split..ab.len() {
            acc += ab[i] * ab[j];
            if !away_from(acc, &[3.0], margin) {
                return Err(());
            }
            if acc > 3.0 {
                return Ok(Some((i, j)));
            }
        }
        acc *= 0.5;
    }
    Ok(None)
}

#[test]
fn return_from_an_inner_loop_leaves_both() {
    let mut rng = Rng::for_test("nested_search");
    let mut exits = HashSet::new();
    let mut checked = 0;
    while checked < 4 * POINTS {
        let ab = common::uniform_point(&mut rng, 6, 0.0, 1.8);
        let Ok(exit) = nested_exit(&ab, 3, 1e-3) else {
            continue;
        };
        checked += 1;
        exits.insert(exit);
        let g = of_slice!(nested_search, nested_search_grad, nested_search_vjp, nested_search_pullback; 3);
        check_at(&g, &ab, &mut rng);
    }
    assert!(exits.contains(&None), "never ran to the end: {exits:?}");
    assert!(exits.len() >= 3, "too few different exits: {exits:?}");
}

/// √a by Newton's method in a `while` loop that returns once the step is
/// below 1e-12 (and gives up after 60 steps).
#[differentiate]
fn newton_sqrt(a: f64) -> f64 {
    let mut x = a.max(1.0);
    let mut step = 0;
    while step < 60 {
        let next = 0.5 * (x + a / x);
        if (next - x).abs() < 1e-12 {
            return next;
        }
        x = next;
        step += 1;
    }
    x
}

#[test]
fn return_from_a_while_loop() {
    let g = generated!(newton_sqrt, newton_sqrt_grad, newton_sqrt_vjp, newton_sqrt_pullback; a);
    let mut rng = Rng::for_test("newton_sqrt");
    for _ in 0..POINTS {
        let a = rng.uniform(0.2, 50.0);
        let gradient = check_at(&g, &[a], &mut rng);
        // The iterates converge quadratically, so the derivative of the
        // iteration converges to that of √a.
        assert_close(gradient[0], 0.5 / a.sqrt(), 1e-9);
    }
}

/// Doubles `x` until it passes `limit`, in a `loop` with no `break`: the
/// only way out is the `return`, worth 1 + the number of doublings.
#[differentiate(wrt(x))]
fn doublings(x: f64, limit: f64) -> f64 {
    let mut y = x;
    let mut count = 0.0;
    loop {
        if y > limit {
            return y * y + count;
        }
        y *= 2.0;
        count += 1.0;
    }
}

#[test]
fn return_is_the_only_exit_of_a_loop() {
    let mut rng = Rng::for_test("doublings");
    let mut counts = HashSet::new();
    for _ in 0..POINTS {
        let x = rng.uniform(0.1, 1.0);
        let limit = rng.uniform(1.0, 20.0);
        let (value, dx) = doublings_grad(x, limit);
        common::assert_value(value, doublings(x, limit));
        let k = (0..).find(|&k| x * 2f64.powi(k) > limit).unwrap_or(0);
        counts.insert(k);
        // y = 2ᵏx, so d(y² + k)/dx = 2·2ᵏx·2ᵏ.
        assert_close(dx, 2.0 * x * 4f64.powi(k), EXACT_TOLERANCE);
        assert_gradient(|p| doublings(p[0], limit), &[x], &[dx]);
    }
    assert!(counts.len() >= 3, "too few different trip counts: {counts:?}");
}

/// A `return` in a `match` arm inside a loop.
#[differentiate(wrt(xs))]
fn sine_sum_stopping_at(xs: &[f64], stop: usize) -> f64 {
    let mut s = 0.0;
    for i in 0..xs.len() {
        match i % 4 {
            3 if i >= stop => return s * xs[i],
            0 => s += xs[i].sin(),
            _ => s += xs[i] * xs[i],
        }
    }
    s
}

#[test]
fn return_from_a_match_arm_inside_a_loop() {
    let mut rng = Rng::for_test("sine_sum_stopping_at");
    for stop in [0, 4, 9] {
        let g = of_slice!(
            sine_sum_stopping_at,
            sine_sum_stopping_at_grad,
            sine_sum_stopping_at_vjp,
            sine_sum_stopping_at_pullback;
            stop
        );
        for _ in 0..POINTS {
            let xs = common::uniform_point(&mut rng, 9, -2.0, 2.0);
            check_at(&g, &xs, &mut rng);
        }
    }
}

/// A loop inside an `if` branch, returning from the loop or after the `if`.
#[differentiate]
fn loop_in_a_branch(x: f64, y: f64) -> f64 {
    let mut z = x * y;
    if x > 0.0 {
        for k in 0..5 {
            z = z.sin() + y;
            if z > 1.5 {
                return z * (k as f64 + 1.0);
            }
        }
    }
    z + x
}

#[test]
fn return_from_a_loop_inside_an_if() {
    let g = generated!(loop_in_a_branch, loop_in_a_branch_grad, loop_in_a_branch_vjp, loop_in_a_branch_pullback; x, y);
    let mut rng = Rng::for_test("loop_in_a_branch");
    let mut checked = 0;
    while checked < 3 * POINTS {
        let point = [rng.signed(0.1, 2.0), rng.uniform(0.0, 1.5)];
        // Skip points where some iterate is near the threshold.
        let (x, y) = (point[0], point[1]);
        let mut z = x * y;
        let mut near = false;
        if x > 0.0 {
            for _ in 0..5 {
                z = z.sin() + y;
                near |= !away_from(z, &[1.5], 1e-3);
                if z > 1.5 {
                    break;
                }
            }
        }
        if near {
            continue;
        }
        checked += 1;
        check_at(&g, &point, &mut rng);
    }
}

/// A column result: the carried column is returned, scaled, once its norm
/// passes `limit`.
#[differentiate(wrt(v))]
fn grow_until(v: &Col<f64>, limit: f64) -> Col<f64> {
    let mut y = v.to_owned();
    for _ in 0..8 {
        y = &y * 1.5 + v;
        if y.norm_l2() > limit {
            return &y * 2.0;
        }
    }
    y
}

#[test]
fn return_a_column_from_a_loop() {
    let mut rng = Rng::for_test("grow_until");
    for _ in 0..POINTS {
        let v = Col::from_fn(3, |_| rng.uniform(0.1, 1.0));
        let limit = rng.uniform(2.0, 30.0);
        let seed = Col::from_fn(3, |_| rng.signed(0.5, 1.5));
        let (value, gradient) = grow_until_vjp(&v, limit, &seed);
        assert_eq!(value, grow_until(&v, limit));
        assert_gradient(
            |p| {
                let y = grow_until(&fd::from_vec_like(&v, p), limit);
                (0..3).map(|i| y[i] * seed[i]).sum()
            },
            &fd::to_vec(&v),
            &fd::to_vec(&gradient),
        );
    }
}

/// Two `return`s of a matrix product from a loop, one from a nested loop:
/// the returned value starts as an empty placeholder, whose adjoint must
/// take the shape of what flows into it.
#[differentiate(jacobian)]
fn returns_a_power(a: &Mat<f64>, x: &Col<f64>) -> Col<f64> {
    let mut m = x.to_owned();
    for _ in 0..3 {
        if m[0] > 50.0 {
            return 0.5 * &m;
        }
        m = a * &m;
        for i in 0..m.nrows() {
            if m[i] < -3.0 {
                return 3.0 * &m;
            }
        }
    }
    m
}

#[test]
fn a_matrix_returned_from_a_nested_loop_has_the_jacobian_of_the_exit_taken() {
    let mut rng = Rng::for_test("returns_a_power");
    let n = 3;
    // −2I from 2·1 returns 3·A·x from the inner loop, 8I returns 0.5·A²x from
    // the outer one, and 0.2I runs to the end.
    for diagonal in [-2.0, 0.2, 8.0] {
        for _ in 0..POINTS {
            let a = Mat::from_fn(n, n, |i, j| if i == j { diagonal } else { rng.signed(0.0, 0.05) });
            let x = Col::from_fn(n, |_| 2.0 + rng.signed(0.0, 0.1));
            let at = |p: &[f64]| {
                let x = Col::from_fn(n, |i| p[i]);
                fd::to_vec(&returns_a_power(&a, &x))
            };
            let point = fd::to_vec(&x);
            let (value, jacobian) = returns_a_power_jacobian(&a, &x);
            assert_all_close(&fd::to_vec(&value), &at(&point), EXACT_TOLERANCE);
            let numeric = fd::central_jacobian(at, &point);
            for i in 0..n {
                let row: Vec<f64> = (0..n).map(|j| jacobian[(i, n * n + j)]).collect();
                let expected: Vec<f64> = (0..n).map(|j| numeric[(i, j)]).collect();
                assert_all_close(&row, &expected, 1e-6);
            }
        }
    }
}

/// `return` from a loop in functions returning an array and a `Vec`.
#[differentiate(jacobian)]
fn first_large_pair(x: &[f64]) -> [f64; 2] {
    for i in 0..x.len() {
        if x[i] > 1.0 {
            return [x[i] * x[i], x[0]];
        }
    }
    [x[0], x[1] * x[2]]
}

#[differentiate(jacobian)]
fn first_large_list(x: &[f64]) -> Vec<f64> {
    for i in 0..x.len() {
        if x[i] > 1.0 {
            return vec![x[i] * x[i], x[0]];
        }
    }
    vec![x[0], x[1] * x[2]]
}

#[test]
fn arrays_and_vecs_returned_from_a_loop_have_the_jacobian_of_the_exit_taken() {
    let mut rng = Rng::for_test("first_large_pair");
    for _ in 0..POINTS {
        for large in [None, Some(1), Some(2)] {
            let mut x: Vec<f64> = (0..3).map(|_| rng.signed(0.1, 0.9)).collect();
            if let Some(i) = large {
                x[i] = 1.5 + rng.uniform(0.0, 1.0);
            }
            let (pair, pair_jacobian) = first_large_pair_jacobian(&x);
            let (list, list_jacobian) = first_large_list_jacobian(&x);
            assert_eq!(pair.to_vec(), first_large_pair(&x).to_vec());
            assert_eq!(list, first_large_list(&x));
            let numeric = fd::central_jacobian(first_large_list, &x);
            for jacobian in [&pair_jacobian, &list_jacobian] {
                for i in 0..2 {
                    let row: Vec<f64> = (0..3).map(|j| jacobian[(i, j)]).collect();
                    let expected: Vec<f64> = (0..3).map(|j| numeric[(i, j)]).collect();
                    assert_all_close(&row, &expected, 1e-6);
                }
            }
        }
    }
}
