//! Sub-slices of differentiated slices: `&w[1..]` passed to another
//! `#[differentiate]` function, `let v = &w[1..3]`, `w[..=2].iter()`. Each
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
