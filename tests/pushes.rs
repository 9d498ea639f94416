//! Vectors grown with `push` where their final length, or a bound on it, is
//! known before the first push: `let mut v = Vec::new();` (or
//! `Vec::with_capacity(n)`, `vec![]`) filled by push statements of its own
//! block, of one `for` loop's body or of `if` branches in it, then read. Each is checked against its closed form and
//! central differences, in reverse mode, forward mode, the Jacobian and the
//! Hessian.

// Pushes in loops over index ranges on purpose: their trip count is a form
// under test.
#![allow(clippy::needless_range_loop)]

#[macro_use]
mod common;

use chainrule::fd;
use chainrule::prelude::*;
use common::{EXACT_TOLERANCE, FD_TOLERANCE, POINTS, Rng, assert_all_close, assert_close, uniform_point};

/// softmax(x), its exponentials and its outputs each pushed in a loop:
/// ∂sᵢ/∂xⱼ = sᵢ (δᵢⱼ − sⱼ).
#[differentiate(jacobian, forward)]
fn pushed_softmax(xs: &[f64]) -> Vec<f64> {
    let mut exps = Vec::new();
    for x in xs.iter() {
        exps.push(x.exp());
    }
    let total: f64 = exps.iter().sum();
    let mut out = Vec::with_capacity(xs.len());
    for i in 0..xs.len() {
        out.push(exps[i] / total);
    }
    out
}

#[test]
fn a_softmax_built_by_push_has_its_closed_form_jacobian() {
    let mut rng = Rng::for_test("pushed_softmax");
    for _ in 0..POINTS {
        let x = uniform_point(&mut rng, 4, -2.0, 2.0);
        let (value, jacobian) = pushed_softmax_jacobian(&x);
        assert_eq!(value, pushed_softmax(&x));
        let total: f64 = x.iter().map(|v| v.exp()).sum();
        let s: Vec<f64> = x.iter().map(|v| v.exp() / total).collect();
        assert_all_close(&value, &s, EXACT_TOLERANCE);
        for i in 0..4 {
            let row: Vec<f64> = (0..4).map(|j| jacobian[(i, j)]).collect();
            let expected: Vec<f64> = (0..4).map(|j| s[i] * (if i == j { 1.0 } else { 0.0 } - s[j])).collect();
            assert_all_close(&row, &expected, EXACT_TOLERANCE);
        }
        let numeric = fd::central_jacobian(pushed_softmax, &x);
        for i in 0..4 {
            let row: Vec<f64> = (0..4).map(|j| jacobian[(i, j)]).collect();
            let expected: Vec<f64> = (0..4).map(|j| numeric[(i, j)]).collect();
            assert_all_close(&row, &expected, FD_TOLERANCE);
        }
        let direction = uniform_point(&mut rng, 4, -1.0, 1.0);
        let (_, tangent) = pushed_softmax_jvp(&x, &direction);
        let along: Vec<f64> = (0..4)
            .map(|i| (0..4).map(|j| jacobian[(i, j)] * direction[j]).sum())
            .collect();
        assert_all_close(&tangent, &along, EXACT_TOLERANCE);
    }
}

/// Features pushed as statements, then two per iteration of a loop:
/// f = xy + y sin(x + 1) + xy sin(x + 1) + 6.
#[differentiate(hessian)]
fn pushed_features(x: f64, y: f64) -> f64 {
    let mut features: Vec<f64> = Vec::new();
    features.push(x * y);
    let shifted = x + 1.0;
    features.push(shifted.sin());
    features.push(y);
    let mut scaled = vec![];
    for k in 0..3 {
        scaled.push(features[k] * k as f64);
        scaled.push(features[k]);
    }
    features[0] + features[1] * features[2] + scaled[1] * scaled[2] + scaled.len() as f64
}

#[test]
fn features_pushed_in_a_block_and_a_loop_have_exact_derivatives() {
    let mut rng = Rng::for_test("pushed_features");
    for _ in 0..POINTS {
        let p = uniform_point(&mut rng, 2, -2.0, 2.0);
        let (x, y) = (p[0], p[1]);
        let (value, dx, dy) = pushed_features_grad(x, y);
        assert_eq!(value, pushed_features(x, y));
        let (s, c) = (x + 1.0).sin_cos();
        assert_close(value, x * y + y * s + x * y * s + 6.0, EXACT_TOLERANCE);
        assert_all_close(
            &[dx, dy],
            &[y + y * c + y * s + x * y * c, x + s + x * s],
            EXACT_TOLERANCE,
        );
        fd::check_gradient(|p| pushed_features(p[0], p[1]), &p, &[dx, dy]).assert_within(FD_TOLERANCE);
        let (_, hessian) = pushed_features_hessian(x, y);
        let numeric = fd::central_jacobian(
            |p| {
                let (_, dx, dy) = pushed_features_grad(p[0], p[1]);
                vec![dx, dy]
            },
            &p,
        );
        for (i, j) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
            assert_all_close(&[hessian[(i, j)]], &[numeric[(i, j)]], FD_TOLERANCE);
        }
    }
}

/// Two vectors pushed in one loop, a vector shadowed by another of the
/// same name, pushed from the first one's sum, and a vector of indices:
/// Σ sin xᵢ + x₁² + x₀·Σ xᵢ for three xᵢ.
#[differentiate]
fn two_pushed_in_one_loop(xs: &[f64]) -> f64 {
    let mut sines = Vec::new();
    let mut squares = Vec::new();
    for &x in xs {
        sines.push(x.sin());
        squares.push(x * x);
    }
    let mut v = Vec::new();
    for &x in xs {
        v.push(x * 2.0);
    }
    let total: f64 = v.iter().sum();
    let mut v = Vec::new();
    for &x in xs {
        v.push(x * total);
    }
    // Indices pushed too: the vector's element type is what is pushed.
    let mut order = Vec::new();
    for i in 0..xs.len() {
        order.push(xs.len() - 1 - i);
    }
    sines.iter().sum::<f64>() + squares[order[1]] + v[0] / 2.0
}

#[test]
fn vectors_pushed_side_by_side_or_shadowed_are_each_preallocated() {
    let mut rng = Rng::for_test("two_pushed_in_one_loop");
    for _ in 0..POINTS {
        let x = uniform_point(&mut rng, 3, -2.0, 2.0);
        let (value, gradient) = two_pushed_in_one_loop_grad(&x);
        assert_eq!(value, two_pushed_in_one_loop(&x));
        let sum: f64 = x.iter().sum();
        let by_hand = x.iter().map(|v| v.sin()).sum::<f64>() + x[1] * x[1] + x[0] * sum;
        assert_close(value, by_hand, EXACT_TOLERANCE);
        let expected: Vec<f64> = (0..3)
            .map(|i| x[i].cos() + if i == 1 { 2.0 * x[1] } else { 0.0 } + x[0] + if i == 0 { sum } else { 0.0 })
            .collect();
        assert_all_close(&gradient, &expected, EXACT_TOLERANCE);
        fd::check_gradient(two_pushed_in_one_loop, &x, &gradient).assert_within(FD_TOLERANCE);
    }
}

/// Pairwise products pushed from nested loops, with a push of the outer
/// loop too: xᵢ for each i, then sin(xᵢxⱼ) for each j, weighted by position.
#[differentiate(forward)]
fn pushed_from_nested_loops(x: &[f64]) -> f64 {
    let n = x.len();
    let mut features = Vec::new();
    for i in 0..n {
        features.push(x[i]);
        for j in 0..n {
            let product = x[i] * x[j];
            features.push(product.sin());
        }
    }
    let mut total = 0.0;
    for (k, feature) in features.iter().enumerate() {
        total += feature * (k as f64 + 1.0);
    }
    total
}

fn pushed_from_nested_loops_by_hand(x: &[f64]) -> f64 {
    let n = x.len();
    let mut total = 0.0;
    let mut k = 0.0;
    for i in 0..n {
        k += 1.0;
        total += x[i] * k;
        for j in 0..n {
            k += 1.0;
            total += (x[i] * x[j]).sin() * k;
        }
    }
    total
}

/// Checks a function of a slice built with pushes at `x`: `_grad`'s value
/// against the function and a version written without pushes, its gradient
/// against central differences, and `_jvp` along a random direction against
/// the gradient.
#[track_caller]
fn check_pushed(
    rng: &mut Rng,
    x: &[f64],
    primal: fn(&[f64]) -> f64,
    by_hand: fn(&[f64]) -> f64,
    grad: fn(&[f64]) -> (f64, Vec<f64>),
    jvp: fn(&[f64], &[f64]) -> (f64, f64),
) {
    let (value, gradient) = grad(x);
    assert_eq!(value, primal(x));
    assert_close(value, by_hand(x), EXACT_TOLERANCE);
    fd::check_gradient(primal, x, &gradient).assert_within(FD_TOLERANCE);
    let direction = uniform_point(rng, x.len(), -1.0, 1.0);
    let (_, tangent) = jvp(x, &direction);
    let expected: f64 = gradient.iter().zip(&direction).map(|(g, d)| g * d).sum();
    assert_close(tangent, expected, EXACT_TOLERANCE);
}

#[test]
fn pushes_from_nested_loops_are_counted_before_the_outer_loop() {
    let mut rng = Rng::for_test("pushed_from_nested_loops");
    for _ in 0..POINTS {
        let x = uniform_point(&mut rng, 3, -1.5, 1.5);
        check_pushed(
            &mut rng,
            &x,
            pushed_from_nested_loops,
            pushed_from_nested_loops_by_hand,
            pushed_from_nested_loops_grad,
            pushed_from_nested_loops_jvp,
        );
    }
}

/// Positive values squared; values below −1 as x and then x·k + sin x for
/// k = 0, 1; the rest dropped. Each push is under an `if`, so the length of
/// the vector depends on the values and is bounded before the loop.
#[differentiate(forward, hessian)]
fn pushed_where_kept(xs: &[f64]) -> f64 {
    let mut kept = Vec::new();
    for &x in xs {
        if x > 0.0 {
            kept.push(x * x);
        } else if x < -1.0 {
            kept.push(x);
            for k in 0..2 {
                kept.push(x * k as f64 + x.sin());
            }
        }
    }
    let mut total = 0.0;
    for (k, value) in kept.iter().enumerate() {
        total += value.sin() * (k as f64 + 1.0);
    }
    total * kept.len() as f64
}

fn pushed_where_kept_by_hand(xs: &[f64]) -> f64 {
    let mut kept = Vec::new();
    for &x in xs {
        if x > 0.0 {
            kept.push(x * x);
        } else if x < -1.0 {
            kept.extend([x, x.sin(), x + x.sin()]);
        }
    }
    let total: f64 = kept.iter().enumerate().map(|(k, v)| v.sin() * (k as f64 + 1.0)).sum();
    total * kept.len() as f64
}

/// exp(x) for each positive x, in order: a vector as long as the positives.
#[differentiate(jacobian)]
fn exp_of_positives(xs: &[f64]) -> Vec<f64> {
    let mut out = Vec::new();
    for x in xs.iter() {
        if *x > 0.0 {
            out.push(x.exp());
        }
    }
    out
}

#[test]
fn pushes_under_if_fill_a_vector_as_long_as_the_branches_taken() {
    let mut rng = Rng::for_test("pushed_where_kept");
    // Values away from the conditions' edges 0 and −1, where the derivative jumps.
    let away_from_edges = |rng: &mut Rng| {
        let x = rng.uniform(-2.0, 1.5);
        if x.abs() < 0.05 || (x + 1.0).abs() < 0.05 {
            0.5
        } else {
            x
        }
    };
    for _ in 0..POINTS {
        let x: Vec<f64> = (0..5).map(|_| away_from_edges(&mut rng)).collect();
        check_pushed(
            &mut rng,
            &x,
            pushed_where_kept,
            pushed_where_kept_by_hand,
            pushed_where_kept_grad,
            pushed_where_kept_jvp,
        );
        let (_, hessian) = pushed_where_kept_hessian(&x);
        let numeric = fd::central_jacobian(|p| pushed_where_kept_grad(p).1, &x);
        assert_all_close(&fd::to_vec(&hessian), &fd::to_vec(&numeric), FD_TOLERANCE);

        let (value, jacobian) = exp_of_positives_jacobian(&x);
        let positives: Vec<usize> = (0..5).filter(|&i| x[i] > 0.0).collect();
        assert_eq!(value, positives.iter().map(|&i| x[i].exp()).collect::<Vec<f64>>());
        assert_eq!((jacobian.nrows(), jacobian.ncols()), (positives.len(), 5));
        let expected = Mat::from_fn(
            positives.len(),
            5,
            |r, i| if i == positives[r] { x[i].exp() } else { 0.0 },
        );
        assert_all_close(&fd::to_vec(&jacobian), &fd::to_vec(&expected), EXACT_TOLERANCE);
    }
}
