//! `filter` and `map` between a sequence and what consumes it: sums,
//! products, folds and `for` loops over `xs.iter().filter(|&&x| x > 0.0)`,
//! `.map(…).filter(…)`, `.copied()` or `.cloned()` between them, filters
//! after `enumerate` and `zip`, over ranges,
//! with the closure's parameter taken apart (`|&&x|`, `|&(i, &x)|`) or
//! named whole (`|x| **x > 0.0`, `|(a, b)| **a > **b`), the test an
//! expression or a block with `let`s of its own.
//!
//! A filter is decided on primal values, like an `if`: the elements it
//! skips get no derivative from the reduction. Gradients are checked against
//! closed forms and central differences at random points; forward mode and
//! the Hessian against the gradient.

#[macro_use]
mod common;

use chainrule::fd;
use chainrule::prelude::*;
use common::{EXACT_TOLERANCE, FD_TOLERANCE, POINTS, Rng, assert_all_close, away_from, uniform_point};

/// The hinge loss of a linear classifier, Σ max(0, 1 − yᵢ(w xᵢ + b)) written
/// with a filter: ∂/∂w = −Σ yᵢ xᵢ and ∂/∂b = −Σ yᵢ over the points inside
/// the margin.
#[differentiate]
fn hinge_loss(w: f64, b: f64, xs: &[f64], ys: &[f64]) -> f64 {
    xs.iter()
        .zip(ys)
        .map(|(&x, &y)| 1.0 - y * (w * x + b))
        .filter(|&margin| margin > 0.0)
        .sum()
}

#[test]
fn a_filtered_hinge_loss_has_its_closed_form_gradient() {
    let mut rng = Rng::for_test("hinge_loss");
    for _ in 0..POINTS {
        let xs = uniform_point(&mut rng, 8, -2.0, 2.0);
        let ys: Vec<f64> = (0..8).map(|i| if i % 3 == 0 { -1.0 } else { 1.0 }).collect();
        let (w, b) = (rng.uniform(-1.5, 1.5), rng.uniform(-0.5, 0.5));
        let margins: Vec<f64> = xs.iter().zip(&ys).map(|(x, y)| 1.0 - y * (w * x + b)).collect();
        if !margins.iter().all(|&m| away_from(m, &[0.0], 1e-4)) {
            continue;
        }
        let (value, adj_w, adj_b, adj_xs, adj_ys) = hinge_loss_grad(w, b, &xs, &ys);
        assert_eq!(value, hinge_loss(w, b, &xs, &ys));
        let inside: Vec<usize> = (0..8).filter(|&i| margins[i] > 0.0).collect();
        let expected_value: f64 = inside.iter().map(|&i| margins[i]).sum();
        let expected_w: f64 = inside.iter().map(|&i| -ys[i] * xs[i]).sum();
        let expected_b: f64 = inside.iter().map(|&i| -ys[i]).sum();
        assert_all_close(
            &[value, adj_w, adj_b],
            &[expected_value, expected_w, expected_b],
            EXACT_TOLERANCE,
        );
        for i in 0..8 {
            let expected = if margins[i] > 0.0 { -ys[i] * w } else { 0.0 };
            assert_all_close(&[adj_xs[i]], &[expected], EXACT_TOLERANCE);
            let expected = if margins[i] > 0.0 { -(w * xs[i] + b) } else { 0.0 };
            assert_all_close(&[adj_ys[i]], &[expected], EXACT_TOLERANCE);
        }
    }
}

/// Every form of filter, in every mode.
#[differentiate(forward, hessian)]
fn every_filter(xs: &[f64], w: f64) -> f64 {
    // Taken apart, then mapped through the element's value.
    let positive: f64 = xs.iter().filter(|&&x| x > 0.0).map(|&x| x * w).sum();
    // Named whole, with the `*`s of a reference to a reference, then
    // copied out of the reference before the map.
    let small: f64 = xs.iter().filter(|x| **x < 0.5).cloned().map(|x| (x * w).sin()).sum();
    // A filter after a map, on the mapped value; a product.
    let shifted: f64 = xs.iter().map(|&x| x * w + 1.0).filter(|s| *s > 0.8).product();
    // After `enumerate`, on the index and the element.
    let even: f64 = xs
        .iter()
        .enumerate()
        .filter(|&(i, &x)| i % 2 == 0 && x > -1.0)
        .map(|(i, &x)| (i as f64 + 1.0) * x * x * w)
        .sum::<f64>();
    // After `zip`, by match ergonomics.
    let above: f64 = xs
        .iter()
        .zip(xs.iter().rev())
        .filter(|(a, b)| **a > **b)
        .map(|(a, b)| (a - b) * w)
        .sum();
    // A fold over a filtered range.
    let ranged = (0..xs.len())
        .filter(|i| i % 3 != 1)
        .fold(0.0, |acc: f64, i| acc + xs[i].exp() * w);
    // A test written as a block, reading a value computed before.
    let mean = xs.iter().sum::<f64>() / xs.len() as f64;
    let centred: f64 = xs
        .iter()
        .filter(|&&x| {
            let deviation = x - mean;
            deviation > 0.0
        })
        .map(|&x| (x - mean) * w)
        .sum();
    positive + small + shifted + even + above * ranged.sqrt() + centred * centred
}

/// [`every_filter`] written with counted loops and `if`s.
fn every_filter_by_hand(xs: &[f64], w: f64) -> f64 {
    let n = xs.len();
    let (mut positive, mut small, mut shifted, mut even, mut above, mut ranged) = (0.0, 0.0, 1.0, 0.0, 0.0, 0.0);
    for i in 0..n {
        let x = xs[i];
        if x > 0.0 {
            positive += x * w;
        }
        if x < 0.5 {
            small += (x * w).sin();
        }
        if x * w + 1.0 > 0.8 {
            shifted *= x * w + 1.0;
        }
        if i % 2 == 0 && x > -1.0 {
            even += (i as f64 + 1.0) * x * x * w;
        }
        if x > xs[n - 1 - i] {
            above += (x - xs[n - 1 - i]) * w;
        }
        if i % 3 != 1 {
            ranged += x.exp() * w;
        }
    }
    let mean = xs.iter().sum::<f64>() / n as f64;
    let mut centred = 0.0;
    for &x in xs {
        if x - mean > 0.0 {
            centred += (x - mean) * w;
        }
    }
    positive + small + shifted + even + above * ranged.sqrt() + centred * centred
}

fn every_filter_at(point: &[f64]) -> f64 {
    every_filter(&point[..5], point[5])
}

fn every_filter_gradient(point: &[f64]) -> Vec<f64> {
    let (_, adj_xs, adj_w) = every_filter_grad(&point[..5], point[5]);
    [adj_xs, vec![adj_w]].concat()
}

/// Whether no filter of [`every_filter`] is within `margin` of its boundary
/// at `point`, so that central differences do not cross one.
fn clear_of_the_filters(point: &[f64], margin: f64) -> bool {
    let (xs, w) = (&point[..5], point[5]);
    let mean = xs.iter().sum::<f64>() / 5.0;
    (0..5).all(|i| {
        let x = xs[i];
        away_from(x, &[0.0, 0.5, -1.0], margin)
            && away_from(x * w + 1.0, &[0.8], margin)
            && (i == 2 || away_from(x - xs[4 - i], &[0.0], margin))
            && away_from(x - mean, &[0.0], margin)
    })
}

#[test]
fn filtered_reductions_have_exact_derivatives_in_every_mode() {
    let mut rng = Rng::for_test("every_filter");
    let mut checked = 0;
    while checked < POINTS {
        let mut point = uniform_point(&mut rng, 6, -1.5, 1.5);
        point[5] = rng.uniform(0.5, 1.5);
        if !clear_of_the_filters(&point, 1e-3) {
            continue;
        }
        checked += 1;
        let (xs, w) = (&point[..5], point[5]);
        let (value, ..) = every_filter_grad(xs, w);
        assert_eq!(value, every_filter(xs, w));
        assert_all_close(&[value], &[every_filter_by_hand(xs, w)], EXACT_TOLERANCE);

        let gradient = every_filter_gradient(&point);
        fd::check_gradient(every_filter_at, &point, &gradient).assert_within(FD_TOLERANCE);

        let direction = uniform_point(&mut rng, 6, -1.0, 1.0);
        let (_, tangent) = every_filter_jvp(xs, w, &direction[..5], direction[5]);
        let expected: f64 = gradient.iter().zip(&direction).map(|(g, d)| g * d).sum();
        assert_all_close(&[tangent], &[expected], EXACT_TOLERANCE);

        let (_, hessian) = every_filter_hessian(xs, w);
        let numeric = fd::central_jacobian(every_filter_gradient, &point);
        for i in 0..6 {
            let row: Vec<f64> = (0..6).map(|j| hessian[(i, j)]).collect();
            let expected: Vec<f64> = (0..6).map(|j| numeric[(i, j)]).collect();
            assert_all_close(&row, &expected, FD_TOLERANCE);
        }
    }
}

/// `for` loops over filtered and mapped sequences, with `break` and a
/// loop-carried value.
#[differentiate(forward)]
fn filtered_loops(xs: &[f64], w: f64) -> f64 {
    let mut carried = 1.0;
    for x in xs.iter().filter(|x| x.abs() < 1.0) {
        if *x > 0.9 {
            break;
        }
        carried = carried * (*x * w).cos() + x;
    }
    let mut total = 0.0;
    for &x in xs.iter().filter(|&&x| x > 0.0) {
        total += (x * w).exp();
    }
    for v in xs.iter().map(|x| x * w) {
        total += v * carried;
    }
    total
}

fn filtered_loops_by_hand(xs: &[f64], w: f64) -> f64 {
    let mut carried = 1.0;
    for &x in xs {
        if x.abs() < 1.0 {
            if x > 0.9 {
                break;
            }
            carried = carried * (x * w).cos() + x;
        }
    }
    let mut total = 0.0;
    for &x in xs {
        if x > 0.0 {
            total += (x * w).exp();
        }
    }
    for &x in xs {
        total += x * w * carried;
    }
    total
}

#[test]
fn loops_over_filtered_sequences_have_exact_derivatives() {
    let mut rng = Rng::for_test("filtered_loops");
    let mut checked = 0;
    while checked < POINTS {
        let point = uniform_point(&mut rng, 7, -1.5, 1.5);
        if !point[..6].iter().all(|&x| away_from(x, &[0.0, 0.9, 1.0, -1.0], 1e-3)) {
            continue;
        }
        checked += 1;
        let (xs, w) = (&point[..6], point[6]);
        let (value, adj_xs, adj_w) = filtered_loops_grad(xs, w);
        assert_eq!(value, filtered_loops(xs, w));
        assert_all_close(&[value], &[filtered_loops_by_hand(xs, w)], EXACT_TOLERANCE);
        let gradient = [adj_xs, vec![adj_w]].concat();
        fd::check_gradient(|p| filtered_loops(&p[..6], p[6]), &point, &gradient).assert_within(FD_TOLERANCE);
        let direction = uniform_point(&mut rng, 7, -1.0, 1.0);
        let (_, tangent) = filtered_loops_jvp(xs, w, &direction[..6], direction[6]);
        let expected: f64 = gradient.iter().zip(&direction).map(|(g, d)| g * d).sum();
        assert_all_close(&[tangent], &[expected], EXACT_TOLERANCE);
    }
}
