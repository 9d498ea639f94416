//! Sub-slices of differentiated slices: `&w[1..]` passed to another
//! `#[differentiate]` function, `let v = &w[1..3]`, `w[..=2].iter()`, loops
//! over `windows`, `chunks` and `chunks_exact`, and the parts `skip` and
//! `take` walk (`xs.iter().skip(1)`). Each is read as a copy of that part,
//! so its derivative flows back into the elements it came from. Gradients are checked against closed forms and
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

// The loops index on purpose: the counted form is under test, and it is
// how the by-hand value spells out each part.
/// `skip` and `take` of a sequence's elements, alone, after `enumerate`,
/// with `.rev()` on either side and clamped past the end, in loops, a sum
/// and a collected map: each walks a part of `xs`.
#[differentiate(forward, hessian)]
#[allow(clippy::needless_range_loop)]
fn skipped_and_taken(xs: &[f64], w: f64) -> f64 {
    let mut s = 0.0;
    // `std::cmp::min` of integers is an integer, kept as written.
    for i in 0..std::cmp::min(3, xs.len()) {
        s += w * w * xs[i];
    }
    for x in xs.iter().skip(1) {
        s += x * x * w;
    }
    for &x in xs.iter().take(2).rev() {
        s = 0.5 * s + x;
    }
    for (i, x) in xs.iter().enumerate().skip(1) {
        s += x * xs[i - 1] * i as f64;
    }
    for (i, x) in xs.iter().copied().enumerate().rev().skip(1).take(3) {
        s += x.sin() * (i as f64 + w);
    }
    let squares: Vec<f64> = xs.iter().rev().skip(1).map(|x| x * x).collect();
    let paired = xs.iter().skip(1).zip(xs.iter()).map(|(a, b)| a * b).sum::<f64>();
    s + squares.iter().sum::<f64>() + paired + xs.iter().take(10).skip(7).map(|x| x.exp()).sum::<f64>()
}

#[allow(clippy::needless_range_loop)]
fn skipped_and_taken_by_hand(xs: &[f64], w: f64) -> f64 {
    let n = xs.len();
    let mut s = 0.0;
    for x in &xs[..n.min(3)] {
        s += w * w * x;
    }
    for i in 1..n {
        s += xs[i] * xs[i] * w;
    }
    for i in (0..n.min(2)).rev() {
        s = 0.5 * s + xs[i];
    }
    for i in 1..n {
        s += xs[i] * xs[i - 1] * i as f64;
    }
    // Backwards from the last, the first of those skipped, at most three.
    for i in (0..n.saturating_sub(1)).rev().take(3) {
        s += xs[i].sin() * (i as f64 + w);
    }
    let squares: f64 = (0..n.saturating_sub(1)).map(|i| xs[i] * xs[i]).sum();
    let paired: f64 = (1..n).map(|i| xs[i] * xs[i - 1]).sum();
    let tail: f64 = (7..n.min(10)).map(|i| xs[i].exp()).sum();
    s + squares + paired + tail
}

#[test]
fn skip_and_take_walk_their_part_in_every_mode() {
    let mut rng = Rng::for_test("skipped_and_taken");
    for len in [0, 1, 2, 4, 9] {
        for _ in 0..POINTS {
            let xs = uniform_point(&mut rng, len, -1.5, 1.5);
            let w = rng.uniform(-1.0, 1.0);
            let (value, dxs, dw) = skipped_and_taken_grad(&xs, w);
            assert_eq!(value, skipped_and_taken(&xs, w));
            assert_all_close(&[value], &[skipped_and_taken_by_hand(&xs, w)], EXACT_TOLERANCE);

            let mut point = xs.clone();
            point.push(w);
            let mut gradient = dxs.clone();
            gradient.push(dw);
            let f = |p: &[f64]| skipped_and_taken(&p[..len], p[len]);
            fd::check_gradient(f, &point, &gradient).assert_within(FD_TOLERANCE);

            let direction = uniform_point(&mut rng, len + 1, -1.0, 1.0);
            let (_, tangent) = skipped_and_taken_jvp(&xs, w, &direction[..len], direction[len]);
            let along: f64 = gradient.iter().zip(&direction).map(|(g, d)| g * d).sum();
            assert_all_close(&[tangent], &[along], EXACT_TOLERANCE);

            let (_, hessian) = skipped_and_taken_hessian(&xs, w);
            let gradient_at = |p: &[f64]| {
                let (_, mut g, gw) = skipped_and_taken_grad(&p[..len], p[len]);
                g.push(gw);
                g
            };
            let numeric = fd::central_jacobian(gradient_at, &point);
            for i in 0..=len {
                let row: Vec<f64> = (0..=len).map(|j| hessian[(i, j)]).collect();
                let expected: Vec<f64> = (0..=len).map(|j| numeric[(i, j)]).collect();
                assert_all_close(&row, &expected, FD_TOLERANCE);
            }
        }
    }
}

/// `skip` and `take` of faer vectors' elements, zipped: Σ_{k<3} x_{k+1}·y_k.
#[differentiate]
fn shifted_dot(x: &Col<f64>, y: &Col<f64>) -> f64 {
    x.iter().skip(1).zip(y.iter().take(3)).map(|(a, b)| a * b).sum::<f64>()
}

#[test]
fn skip_and_take_of_faer_vectors() {
    let mut rng = Rng::for_test("shifted_dot");
    for _ in 0..POINTS {
        let x = Col::from_fn(5, |_| rng.uniform(-1.0, 1.0));
        let y = Col::from_fn(5, |_| rng.uniform(-1.0, 1.0));
        let (value, dx, dy) = shifted_dot_grad(&x, &y);
        assert_eq!(value, shifted_dot(&x, &y));
        let expected_dx: Vec<f64> = (0..5)
            .map(|i| if (1..4).contains(&i) { y[i - 1] } else { 0.0 })
            .collect();
        let expected_dy: Vec<f64> = (0..5).map(|i| if i < 3 { x[i + 1] } else { 0.0 }).collect();
        assert_all_close(&dx.iter().copied().collect::<Vec<_>>(), &expected_dx, EXACT_TOLERANCE);
        assert_all_close(&dy.iter().copied().collect::<Vec<_>>(), &expected_dy, EXACT_TOLERANCE);
    }
}
