//! Loops and iterator reductions over two or more sequences at once, with
//! `zip`: `w.iter().zip(x).map(|(a, b)| a * b).sum()`, `for (a, &b) in
//! w.iter().zip(x)`, `zip` inside `enumerate` and `enumerate` inside `zip`,
//! folds and collected maps over zipped sequences, `.rev()` inside a zip,
//! ranges zipped with sequences, and `skip`/`take` after a zip. A zipped loop stops at
//! the end of its shortest sequence, as `zip` does; elements past it get no
//! derivative.
//!
//! Gradients are checked against closed forms and central differences at
//! random points; forward mode and the Hessian against the gradient.

#[macro_use]
mod common;

use chainrule::fd;
use chainrule::prelude::*;
use common::{EXACT_TOLERANCE, FD_TOLERANCE, POINTS, Rng, assert_all_close, uniform_point};

/// w · x, the way Rust code usually writes a dot product: ∇_w = x, ∇_x = w.
#[differentiate]
fn zipped_dot(w: &[f64], x: &[f64]) -> f64 {
    w.iter().zip(x.iter()).map(|(a, b)| a * b).sum()
}

#[test]
fn a_zipped_dot_product_has_the_other_vector_as_gradient() {
    let mut rng = Rng::for_test("zipped_dot");
    for _ in 0..POINTS {
        let w = uniform_point(&mut rng, 4, -2.0, 2.0);
        let x = uniform_point(&mut rng, 4, -2.0, 2.0);
        let (value, adj_w, adj_x) = zipped_dot_grad(&w, &x);
        assert_eq!(value, zipped_dot(&w, &x));
        assert_all_close(&adj_w, &x, EXACT_TOLERANCE);
        assert_all_close(&adj_x, &w, EXACT_TOLERANCE);
    }
}

/// Mean squared error of a prediction against targets, in a `for` loop over
/// zipped references: ∂/∂pᵢ = 2 (pᵢ − tᵢ) / n.
#[differentiate(wrt(predictions))]
fn zipped_mse(predictions: &[f64], targets: &[f64]) -> f64 {
    let mut total = 0.0;
    for (p, &t) in predictions.iter().zip(targets) {
        let error = *p - t;
        total += error * error;
    }
    total / predictions.len() as f64
}

#[test]
fn a_mean_squared_error_over_zipped_sequences_has_its_closed_form_gradient() {
    let mut rng = Rng::for_test("zipped_mse");
    for _ in 0..POINTS {
        let predictions = uniform_point(&mut rng, 5, -2.0, 2.0);
        let targets = uniform_point(&mut rng, 5, -2.0, 2.0);
        let (value, gradient) = zipped_mse_grad(&predictions, &targets);
        assert_eq!(value, zipped_mse(&predictions, &targets));
        let expected: Vec<f64> = predictions
            .iter()
            .zip(&targets)
            .map(|(p, t)| 2.0 * (p - t) / 5.0)
            .collect();
        assert_all_close(&gradient, &expected, EXACT_TOLERANCE);
    }
}

/// Three sequences and a counter, nested both ways, with a fold and a
/// collected map, differentiated in every mode.
#[differentiate(forward, hessian)]
fn every_zipped_form(a: &[f64], b: &[f64], c: &[f64]) -> f64 {
    let mut weighted = 0.0;
    for (i, ((&x, y), z)) in a.iter().zip(b).zip(c.iter()).enumerate() {
        weighted += (i as f64 + 1.0) * x * y.sin() + z * z * x;
    }
    let mut counted = 0.0;
    for ((i, x), &y) in a.iter().enumerate().zip(b.iter()) {
        counted += x.exp() * (y - i as f64);
    }
    let largest_gap = a
        .iter()
        .zip(c)
        .fold(f64::NEG_INFINITY, |acc: f64, (x, z)| acc.max(x - z));
    let products: Vec<f64> = b.iter().zip(c).map(|(&y, &z)| y * z.cos()).collect();
    weighted + counted + largest_gap * products[0] + products[1] * products[2]
}

fn every_zipped_form_at(point: &[f64]) -> f64 {
    every_zipped_form(&point[..3], &point[3..6], &point[6..])
}

fn every_zipped_form_gradient(point: &[f64]) -> Vec<f64> {
    let (_, adj_a, adj_b, adj_c) = every_zipped_form_grad(&point[..3], &point[3..6], &point[6..]);
    [adj_a, adj_b, adj_c].concat()
}

#[test]
fn zipped_and_enumerated_loops_have_exact_derivatives_in_every_mode() {
    let mut rng = Rng::for_test("every_zipped_form");
    for _ in 0..POINTS {
        let point = uniform_point(&mut rng, 9, -1.5, 1.5);
        let (a, b, c) = (&point[..3], &point[3..6], &point[6..]);
        let (value, ..) = every_zipped_form_grad(a, b, c);
        assert_eq!(value, every_zipped_form(a, b, c));
        let mut by_hand = 0.0;
        for i in 0..3 {
            by_hand += (i as f64 + 1.0) * a[i] * b[i].sin() + c[i] * c[i] * a[i];
            by_hand += a[i].exp() * (b[i] - i as f64);
        }
        let gap = (0..3).map(|i| a[i] - c[i]).fold(f64::NEG_INFINITY, f64::max);
        let products: Vec<f64> = (0..3).map(|i| b[i] * c[i].cos()).collect();
        by_hand += gap * products[0] + products[1] * products[2];
        assert_all_close(&[value], &[by_hand], EXACT_TOLERANCE);

        let gradient = every_zipped_form_gradient(&point);
        fd::check_gradient(every_zipped_form_at, &point, &gradient).assert_within(FD_TOLERANCE);

        let direction = uniform_point(&mut rng, 9, -1.0, 1.0);
        let (_, tangent) = every_zipped_form_jvp(a, b, c, &direction[..3], &direction[3..6], &direction[6..]);
        let expected: f64 = gradient.iter().zip(&direction).map(|(g, d)| g * d).sum();
        assert_all_close(&[tangent], &[expected], EXACT_TOLERANCE);

        let (_, hessian) = every_zipped_form_hessian(a, b, c);
        let numeric = fd::central_jacobian(every_zipped_form_gradient, &point);
        for i in 0..9 {
            let row: Vec<f64> = (0..9).map(|j| hessian[(i, j)]).collect();
            let expected: Vec<f64> = (0..9).map(|j| numeric[(i, j)]).collect();
            assert_all_close(&row, &expected, FD_TOLERANCE);
        }
    }
}

/// Σ wᵢ xᵢ over the shorter of the two: `zip` stops there.
#[differentiate(wrt(w))]
fn zipped_to_the_shorter(w: &[f64], x: &[f64]) -> f64 {
    w.iter().zip(x).map(|(a, b)| (a * b).tanh()).sum::<f64>()
}

#[test]
fn a_zipped_loop_stops_at_the_shorter_sequence() {
    let mut rng = Rng::for_test("zipped_to_the_shorter");
    for _ in 0..POINTS {
        let w = uniform_point(&mut rng, 5, -1.0, 1.0);
        let x = uniform_point(&mut rng, 3, -1.0, 1.0);
        let (value, gradient) = zipped_to_the_shorter_grad(&w, &x);
        assert_eq!(value, zipped_to_the_shorter(&w, &x));
        assert_eq!(gradient.len(), 5);
        assert_eq!(&gradient[3..], &[0.0, 0.0]);
        fd::check_gradient(|w| zipped_to_the_shorter(w, &x), &w, &gradient).assert_within(FD_TOLERANCE);
        let expected: Vec<f64> = (0..3).map(|i| x[i] / (w[i] * x[i]).cosh().powi(2)).collect();
        assert_all_close(&gradient[..3], &expected, EXACT_TOLERANCE);
    }
}

/// `.rev()` inside a `zip` or under an `enumerate`, and ranges zipped with
/// sequences, counting up or down.
#[differentiate(forward, hessian)]
fn reversed_and_counted(w: &[f64], x: &[f64]) -> f64 {
    let flipped: f64 = w.iter().zip(x.iter().rev()).map(|(p, q)| p * q).sum();
    let mut backwards = 0.0;
    for (p, &q) in w.iter().rev().zip(x) {
        backwards += p.sin() * q;
    }
    let mut counted = 0.0;
    for (i, &q) in (1..4).zip(x) {
        counted += i as f64 * q * q;
    }
    let mut down = 0.0;
    for (i, p) in (0..w.len()).rev().zip(w.iter()) {
        down += i as f64 * p * x[i];
    }
    let mut numbered = 0.0;
    for (k, v) in x.iter().rev().enumerate() {
        numbered += (k as f64 + 1.0) * v * w[0];
    }
    flipped + backwards + counted + down + numbered
}

fn reversed_and_counted_by_hand(w: &[f64], x: &[f64]) -> f64 {
    let (m, n) = (w.len(), x.len());
    let shortest = m.min(n);
    let flipped: f64 = (0..shortest).map(|i| w[i] * x[n - 1 - i]).sum();
    let backwards: f64 = (0..shortest).map(|i| w[m - 1 - i].sin() * x[i]).sum();
    let counted: f64 = (0..3.min(n)).map(|i| (i + 1) as f64 * x[i] * x[i]).sum();
    let down: f64 = (0..m).map(|k| (m - 1 - k) as f64 * w[k] * x[m - 1 - k]).sum();
    let numbered: f64 = (0..n).map(|k| (k as f64 + 1.0) * x[n - 1 - k] * w[0]).sum();
    flipped + backwards + counted + down + numbered
}

#[test]
fn reversed_sequences_and_zipped_ranges_have_exact_derivatives() {
    let mut rng = Rng::for_test("reversed_and_counted");
    for _ in 0..POINTS {
        let point = uniform_point(&mut rng, 7, -1.5, 1.5);
        let (w, x) = (&point[..3], &point[3..]);
        let (value, adj_w, adj_x) = reversed_and_counted_grad(w, x);
        assert_eq!(value, reversed_and_counted(w, x));
        assert_all_close(&[value], &[reversed_and_counted_by_hand(w, x)], EXACT_TOLERANCE);
        let gradient = [adj_w, adj_x].concat();
        let f = |p: &[f64]| reversed_and_counted(&p[..3], &p[3..]);
        fd::check_gradient(f, &point, &gradient).assert_within(FD_TOLERANCE);
        let direction = uniform_point(&mut rng, 7, -1.0, 1.0);
        let (_, tangent) = reversed_and_counted_jvp(w, x, &direction[..3], &direction[3..]);
        let expected: f64 = gradient.iter().zip(&direction).map(|(g, d)| g * d).sum();
        assert_all_close(&[tangent], &[expected], EXACT_TOLERANCE);
        let (_, hessian) = reversed_and_counted_hessian(w, x);
        let numeric = fd::central_jacobian(
            |p| {
                let (_, gw, gx) = reversed_and_counted_grad(&p[..3], &p[3..]);
                [gw, gx].concat()
            },
            &point,
        );
        for i in 0..7 {
            let row: Vec<f64> = (0..7).map(|j| hessian[(i, j)]).collect();
            let expected: Vec<f64> = (0..7).map(|j| numeric[(i, j)]).collect();
            assert_all_close(&row, &expected, FD_TOLERANCE);
        }
    }
}

/// `skip` and `take` after a `zip`, with `.rev()`, `copied` inside it, and
/// under an `enumerate`, whose counter keeps the positions in the zipped
/// walk: each is the part of the two sequences' common length it walks.
#[differentiate]
fn zipped_parts(w: &[f64], x: &[f64], k: usize) -> f64 {
    let mut chained = 0.0;
    for (p, q) in w.iter().zip(x.iter()).skip(1) {
        chained = chained * p + q;
    }
    let mut taken = 0.0;
    for (p, &q) in w.iter().zip(x).take(k).rev() {
        taken = taken * p + q.sin();
    }
    let skipped: f64 = w.iter().copied().zip(x).skip(k).map(|(p, q)| p * q).sum();
    let mut numbered = 0.0;
    for (i, (p, q)) in w.iter().zip(x).enumerate().skip(1).rev() {
        numbered = numbered * p + q * i as f64;
    }
    chained + taken + skipped + numbered
}

fn zipped_parts_by_hand(w: &[f64], x: &[f64], k: usize) -> f64 {
    let shortest = w.len().min(x.len());
    let mut chained = 0.0;
    for i in 1..shortest {
        chained = chained * w[i] + x[i];
    }
    let mut taken = 0.0;
    for i in (0..k.min(shortest)).rev() {
        taken = taken * w[i] + x[i].sin();
    }
    let skipped: f64 = (k.min(shortest)..shortest).map(|i| w[i] * x[i]).sum();
    let mut numbered = 0.0;
    for i in (1..shortest).rev() {
        numbered = numbered * w[i] + x[i] * i as f64;
    }
    chained + taken + skipped + numbered
}

#[test]
fn skip_and_take_after_a_zip_walk_the_common_part() {
    let mut rng = Rng::for_test("zipped_parts");
    for (m, n) in [(4, 3), (3, 5), (1, 1), (0, 2), (5, 5)] {
        for k in [0, 2, 7] {
            for _ in 0..POINTS {
                let point = uniform_point(&mut rng, m + n, -1.0, 1.0);
                let (w, x) = (&point[..m], &point[m..]);
                let (value, adj_w, adj_x) = zipped_parts_grad(w, x, k);
                assert_eq!(value, zipped_parts(w, x, k));
                assert_all_close(&[value], &[zipped_parts_by_hand(w, x, k)], EXACT_TOLERANCE);
                let f = |p: &[f64]| zipped_parts_by_hand(&p[..m], &p[m..], k);
                fd::check_gradient(f, &point, &[adj_w, adj_x].concat()).assert_within(FD_TOLERANCE);
            }
        }
    }
}
