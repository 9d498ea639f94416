//! Sub-slices of differentiated slices: `&w[1..]` passed to another
//! `#[differentiate]` function, `let v = &w[1..3]`, `w[..=2].iter()`, and
//! loops over `windows`, `chunks` and `chunks_exact`. Each
//! is read as a copy of that part, so its derivative flows back into the
//! elements it came from. Gradients are checked against closed forms and
//! central differences at random points, in reverse and forward mode.

mod common;

use chainrule::fd;
use chainrule::prelude::*;
use common::{EXACT_TOLERANCE, FD_TOLERANCE, POINTS, Rng, assert_all_close, uniform_point};

#[differentiate(forward)]
fn squared_norm(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>()
}

/// A regulariser that leaves the bias `w[0]` alone: ∇ = (1, 2w₁, …, 2wₙ).
#[differentiate(forward)]
fn without_bias(w: &[f64]) -> f64 {
    squared_norm(&w[1..]) + w[0]
}

#[test]
fn a_sub_slice_passed_on_has_its_gradient_in_the_right_elements() {
    let mut rng = Rng::for_test("without_bias");
    for _ in 0..POINTS {
        let w = uniform_point(&mut rng, 5, -2.0, 2.0);
        let (value, gradient) = without_bias_grad(&w);
        assert_eq!(value, without_bias(&w));
        let mut expected: Vec<f64> = w.iter().map(|x| 2.0 * x).collect();
        expected[0] = 1.0;
        assert_all_close(&gradient, &expected, EXACT_TOLERANCE);

        let direction = uniform_point(&mut rng, 5, -1.0, 1.0);
        let (_, tangent) = without_bias_jvp(&w, &direction);
        let along: f64 = expected.iter().zip(&direction).map(|(g, d)| g * d).sum();
        assert_all_close(&[tangent], &[along], EXACT_TOLERANCE);
    }
}

/// Every kind of range, as a `let`, in a loop's sequence and in a sum.
#[differentiate(forward, hessian)]
fn windows(w: &[f64], k: usize) -> f64 {
    let middle = &w[1..3];
    let head = w[..=1].iter().map(|x| x.sin()).sum::<f64>();
    let mut tail = 0.0;
    for &x in &w[k..] {
        tail += x * x * x;
    }
    middle[0] * middle[1] + head * tail + w[..].iter().sum::<f64>()
}

#[test]
fn every_kind_of_range_matches_central_differences() {
    let mut rng = Rng::for_test("windows");
    for _ in 0..POINTS {
        let w = uniform_point(&mut rng, 5, -1.5, 1.5);
        let (value, gradient) = windows_grad(&w, 2);
        let by_hand = w[1] * w[2]
            + (w[0].sin() + w[1].sin()) * (w[2].powi(3) + w[3].powi(3) + w[4].powi(3))
            + w.iter().sum::<f64>();
        assert_all_close(&[value], &[by_hand], EXACT_TOLERANCE);
        fd::check_gradient(|p| windows(p, 2), &w, &gradient).assert_within(FD_TOLERANCE);

        let direction = uniform_point(&mut rng, 5, -1.0, 1.0);
        let (_, tangent) = windows_jvp(&w, 2, &direction);
        let along: f64 = gradient.iter().zip(&direction).map(|(g, d)| g * d).sum();
        assert_all_close(&[tangent], &[along], EXACT_TOLERANCE);

        let (_, hessian) = windows_hessian(&w, 2);
        let numeric = fd::central_jacobian(|p| windows_grad(p, 2).1, &w);
        for i in 0..5 {
            let row: Vec<f64> = (0..5).map(|j| hessian[(i, j)]).collect();
            let expected: Vec<f64> = (0..5).map(|j| numeric[(i, j)]).collect();
            assert_all_close(&row, &expected, FD_TOLERANCE);
        }
    }
}

/// Σ (xᵢ₊₁ − xᵢ)² over `windows(2)`, chunk products over `chunks(2)` (the
/// last chunk of an odd length is shorter), `chunks_exact(2)` (the rest left
/// out) and `windows(3)` zipped with the elements, in every mode.
#[differentiate(forward, hessian)]
fn sliding_and_chunked(xs: &[f64]) -> f64 {
    let smooth: f64 = xs.windows(2).map(|w| (w[1] - w[0]).powi(2)).sum();
    let mut chunked = 0.0;
    for (i, c) in xs.chunks(2).enumerate() {
        chunked += (i as f64 + 1.0) * c[0] * c[c.len() - 1];
    }
    let mut exact = 0.0;
    for c in xs.chunks_exact(2) {
        exact += c[0].sin() * c[1];
    }
    let mut triples = 0.0;
    for (w, &x) in xs.windows(3).zip(xs) {
        triples += w[0] * w[1] * w[2] * x;
    }
    // Windows and a bound sub-slice passed to a function taking `&[f64]`.
    let mut passed = 0.0;
    for w in xs.windows(2) {
        passed += sum_of_cubes(w);
    }
    let middle = &xs[1..3];
    smooth + chunked + exact + triples + passed + sum_of_cubes(middle)
}

#[differentiate(forward, hessian)]
fn sum_of_cubes(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x * x).sum::<f64>()
}

fn sliding_and_chunked_by_hand(xs: &[f64]) -> f64 {
    let n = xs.len();
    let smooth: f64 = (0..n - 1).map(|i| (xs[i + 1] - xs[i]).powi(2)).sum();
    let chunked: f64 = (0..n.div_ceil(2))
        .map(|i| (i as f64 + 1.0) * xs[2 * i] * xs[(2 * i + 1).min(n - 1)])
        .sum();
    let exact: f64 = (0..n / 2).map(|i| xs[2 * i].sin() * xs[2 * i + 1]).sum();
    let triples: f64 = (0..n - 2).map(|i| xs[i] * xs[i + 1] * xs[i + 2] * xs[i]).sum();
    let cube = |x: f64| x * x * x;
    let passed: f64 = (0..n - 1).map(|i| cube(xs[i]) + cube(xs[i + 1])).sum();
    smooth + chunked + exact + triples + passed + cube(xs[1]) + cube(xs[2])
}

#[test]
fn windows_and_chunks_have_exact_derivatives_in_every_mode() {
    let mut rng = Rng::for_test("sliding_and_chunked");
    for len in [4, 5] {
        for _ in 0..POINTS {
            let x = uniform_point(&mut rng, len, -1.5, 1.5);
            let (value, gradient) = sliding_and_chunked_grad(&x);
            assert_eq!(value, sliding_and_chunked(&x));
            assert_all_close(&[value], &[sliding_and_chunked_by_hand(&x)], EXACT_TOLERANCE);
            fd::check_gradient(sliding_and_chunked, &x, &gradient).assert_within(FD_TOLERANCE);
            let direction = uniform_point(&mut rng, len, -1.0, 1.0);
            let (_, tangent) = sliding_and_chunked_jvp(&x, &direction);
            let expected: f64 = gradient.iter().zip(&direction).map(|(g, d)| g * d).sum();
            assert_all_close(&[tangent], &[expected], EXACT_TOLERANCE);
            let (_, hessian) = sliding_and_chunked_hessian(&x);
            let numeric = fd::central_jacobian(|p| sliding_and_chunked_grad(p).1, &x);
            for i in 0..len {
                let row: Vec<f64> = (0..len).map(|j| hessian[(i, j)]).collect();
                let expected: Vec<f64> = (0..len).map(|j| numeric[(i, j)]).collect();
                assert_all_close(&row, &expected, FD_TOLERANCE);
            }
        }
    }
}
