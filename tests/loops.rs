//! Loops in differentiated functions: `for` over ranges (`a..b`, `a..=b`,
//! `(a..b).rev()`) and over the elements of slices, `Vec`s, arrays and faer
//! columns (`for &x in xs`, `for x in xs.iter()`, `.enumerate()`), nested
//! loops, loop-carried scalars and matrices, branches and `match` inside
//! loops, `while`, `loop`, `break` and `continue` with trip counts decided on
//! primal values, calls of other differentiated functions inside loops, and a
//! long loop.
//!
//! Every function is checked against central finite differences at random
//! points (`_grad`, `_vjp` and `_pullback` all agreeing), and against the
//! derivative worked out by hand where that is simple.

// The differentiated functions index in `for i in 0..n` loops on purpose:
// that is the form under test.
#![allow(clippy::needless_range_loop)]

#[macro_use]
mod common;

use chainrule::fd;
use chainrule::prelude::*;
use common::{
    EXACT_TOLERANCE, FD_TOLERANCE, POINTS, Rng, assert_all_close, assert_close, assert_gradient, assert_identical,
    assert_value, away_from, check_at, check_branches, check_lengths_exact, check_sampled_exact, uniform_point,
};

/// A point of `len` coordinates in `±[lo, hi)`.
fn signed_point(rng: &mut Rng, len: usize, lo: f64, hi: f64) -> Vec<f64> {
    (0..len).map(|_| rng.signed(lo, hi)).collect()
}

// ----- for over ranges --------------------------------------------------------------

#[differentiate]
fn sum_of_squares(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        s += x[i] * x[i];
    }
    s
}

#[test]
fn range_loop_accumulating_squares() {
    let g = of_slice!(
        sum_of_squares,
        sum_of_squares_grad,
        sum_of_squares_vjp,
        sum_of_squares_pullback
    );
    let mut rng = Rng::for_test("sum_of_squares");
    check_lengths_exact(&g, &mut rng, &[1, 2, 5, 9], (-2.0, 2.0), |p| {
        p.iter().map(|x| 2.0 * x).collect()
    });
    assert_eq!(sum_of_squares_grad(&[3.0, -1.0]), (10.0, vec![6.0, -2.0]));
}

#[test]
fn range_loop_with_no_iterations() {
    let (value, gradient) = sum_of_squares_grad(&[]);
    assert_eq!((value, gradient), (0.0, Vec::<f64>::new()));
}

/// (a + 1)(a + 2)⋯(a + n), over `1..=n`.
#[differentiate]
fn rising_product(a: f64, n: usize) -> f64 {
    let mut p = 1.0;
    for i in 1..=n {
        p *= a + i as f64;
    }
    p
}

#[test]
fn inclusive_range_product() {
    let mut rng = Rng::for_test("rising_product");
    for n in [0, 1, 2, 5] {
        for _ in 0..POINTS {
            let a = rng.uniform(0.1, 2.0);
            let (value, da) = rising_product_grad(a, n);
            assert_value(value, rising_product(a, n));
            let expected_value: f64 = (1..=n).map(|i| a + i as f64).product();
            assert_close(value, expected_value, EXACT_TOLERANCE);
            // d/da Π(a + i) = Π(a + i) · Σ 1/(a + i)
            let expected = expected_value * (1..=n).map(|i| 1.0 / (a + i as f64)).sum::<f64>();
            assert_close(da, expected, EXACT_TOLERANCE);
            assert_gradient(|p| rising_product(p[0], n), &[a], &[da]);
            let seed = rng.seed();
            let (_, sa) = rising_product_vjp(a, n, seed);
            assert_close(sa, seed * da, EXACT_TOLERANCE);
            let (_, pullback) = rising_product_pullback(a, n);
            assert_eq!(pullback(&seed, (a, n)), (sa, ()));
        }
    }
}

/// Σ_{i=lo..=hi} i·sin(xᵢ)
#[differentiate]
fn weighted_window(x: &[f64], lo: usize, hi: usize) -> f64 {
    let mut s = 0.0;
    for i in lo..=hi {
        s += i as f64 * x[i].sin();
    }
    s
}

#[test]
fn inclusive_range_with_both_bounds_from_parameters() {
    let mut rng = Rng::for_test("weighted_window");
    for (lo, hi) in [(0, 5), (2, 4), (3, 3), (1, 5), (4, 2)] {
        let g = of_slice!(weighted_window, weighted_window_grad, weighted_window_vjp, weighted_window_pullback;
            lo, hi);
        check_sampled_exact(
            &g,
            &mut rng,
            |r| uniform_point(r, 6, -3.0, 3.0),
            |p| {
                (0..p.len())
                    .map(|i| {
                        if (lo..=hi).contains(&i) {
                            i as f64 * p[i].cos()
                        } else {
                            0.0
                        }
                    })
                    .collect()
            },
        );
    }
}

/// Σ cᵢtⁱ by Horner's rule, which needs the coefficients from the last.
#[differentiate]
fn horner(c: &[f64], t: f64) -> f64 {
    let mut acc = 0.0;
    for i in (0..c.len()).rev() {
        acc = acc * t + c[i];
    }
    acc
}

#[test]
fn reversed_range_horner() {
    let mut rng = Rng::for_test("horner");
    for len in [1, 2, 4, 7] {
        for _ in 0..POINTS {
            let c = uniform_point(&mut rng, len, -2.0, 2.0);
            let t = rng.uniform(-1.5, 1.5);
            let (value, dc, dt) = horner_grad(&c, t);
            assert_value(value, horner(&c, t));
            let polynomial: f64 = c.iter().enumerate().map(|(i, ci)| ci * t.powi(i as i32)).sum();
            assert_close(value, polynomial, 1e-12);
            let expected_dc: Vec<f64> = (0..len).map(|i| t.powi(i as i32)).collect();
            let expected_dt: f64 = (1..len).map(|i| i as f64 * c[i] * t.powi(i as i32 - 1)).sum();
            assert_all_close(&dc, &expected_dc, EXACT_TOLERANCE);
            assert_all_close(&[dt], &[expected_dt], 1e-11);

            let mut point = c.clone();
            point.push(t);
            let mut gradient = dc.clone();
            gradient.push(dt);
            assert_gradient(|p| horner(&p[..len], p[len]), &point, &gradient);

            let seed = rng.seed();
            let (vjp_value, sc, st) = horner_vjp(&c, t, seed);
            assert_value(vjp_value, value);
            assert_all_close(&sc, &dc.iter().map(|d| seed * d).collect::<Vec<_>>(), EXACT_TOLERANCE);
            assert_close(st, seed * dt, EXACT_TOLERANCE);
            let (_, pullback) = horner_pullback(&c, t);
            let (pc, pt) = pullback(&seed, (&c, t));
            assert_identical(&pc, &sc);
            assert_identical(&[pt], &[st]);
        }
    }
}

/// Σ_{k=0..n} xᵏ/k! by Horner's rule over `(1..=n).rev()`.
#[differentiate]
fn exp_taylor(x: f64, n: usize) -> f64 {
    let mut y = 1.0;
    for k in (1..=n).rev() {
        y = 1.0 + x * y / k as f64;
    }
    y
}

#[test]
fn reversed_inclusive_range_taylor_polynomial() {
    let mut rng = Rng::for_test("exp_taylor");
    let partial = |x: f64, n: usize| -> f64 {
        let mut term = 1.0;
        let mut sum = 1.0;
        for k in 1..=n {
            term *= x / k as f64;
            sum += term;
        }
        sum
    };
    for n in [1, 2, 3, 8, 20] {
        for _ in 0..POINTS {
            let x = rng.uniform(-2.0, 2.0);
            let (value, dx) = exp_taylor_grad(x, n);
            assert_close(value, partial(x, n), 1e-13);
            // The derivative of the degree-n partial sum is the degree-(n−1) one.
            assert_close(dx, partial(x, n - 1), 1e-12);
            assert_gradient(|p| exp_taylor(p[0], n), &[x], &[dx]);
        }
    }
    assert_close(exp_taylor_grad(1.0, 20).1, std::f64::consts::E, 1e-15);
}

// ----- for over stepped ranges ------------------------------------------------------

/// Σ over odd i of sin(x_{i−1})·x_i: the pairs (x₀, x₁), (x₂, x₃), … of
/// `(1..n).step_by(2)`.
#[differentiate]
fn paired_sines(xs: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in (1..xs.len()).step_by(2) {
        s += xs[i - 1].sin() * xs[i];
    }
    s
}

#[test]
fn stepped_range_pairs_elements() {
    let g = of_slice!(paired_sines, paired_sines_grad, paired_sines_vjp, paired_sines_pullback);
    let mut rng = Rng::for_test("paired_sines");
    check_lengths_exact(&g, &mut rng, &[1, 2, 5, 8], (-2.0, 2.0), |x| {
        let mut expected = vec![0.0; x.len()];
        for i in (1..x.len()).step_by(2) {
            expected[i - 1] = x[i - 1].cos() * x[i];
            expected[i] = x[i - 1].sin();
        }
        expected
    });
}

/// A loop-carried value over every third element counted down from the
/// last (`(1..=n − 1).rev().step_by(3)`), then over an `i32` range stepped
/// by 2 and walked backwards (`.step_by(2).rev()`): the values of the steps
/// and their order both reach the derivative.
#[differentiate(forward, hessian)]
fn stepped_recurrence(xs: &[f64], w: f64) -> f64 {
    let mut s = 1.0;
    for i in (1..=xs.len() - 1).rev().step_by(3) {
        s = s * w + xs[i] * xs[i - 1];
    }
    for j in (0..xs.len() as i32).step_by(2).rev() {
        s = (s + xs[j as usize] * w).tanh();
    }
    s
}

#[test]
fn stepped_ranges_reversed_inclusive_and_of_i32() {
    let recurrence = Recurrence {
        name: "stepped_recurrence",
        value: stepped_recurrence,
        grad: stepped_recurrence_grad,
        jvp: stepped_recurrence_jvp,
        hessian: stepped_recurrence_hessian,
    };
    recurrence.check(&[2, 3, 7, 10], |xs, w| {
        // The recurrence written out with the indices the steps visit.
        let len = xs.len();
        let mut by_hand = 1.0;
        let mut i = len - 1;
        loop {
            by_hand = by_hand * w + xs[i] * xs[i - 1];
            if i < 4 {
                break;
            }
            i -= 3;
        }
        for j in (0..len).filter(|j| j % 2 == 0).rev() {
            by_hand = (by_hand + xs[j] * w).tanh();
        }
        by_hand
    });
}

/// `f_grad` of a function `f(xs: &[f64], w: f64) -> f64`.
type GradOfXsW = fn(&[f64], f64) -> (f64, Vec<f64>, f64);
/// `f_jvp` of such a function: the point, then the tangents.
type JvpOfXsW = fn(&[f64], f64, &[f64], f64) -> (f64, f64);

/// A function of `(xs, w)` with its generated gradient, JVP and Hessian.
struct Recurrence {
    name: &'static str,
    value: fn(&[f64], f64) -> f64,
    grad: GradOfXsW,
    jvp: JvpOfXsW,
    hessian: fn(&[f64], f64) -> (f64, Mat<f64>),
}

impl Recurrence {
    /// At random points of each length: the value against `by_hand`, the
    /// gradient against central differences of the function, the JVP
    /// against the gradient, and the Hessian against central differences of
    /// the gradient, relative to its largest entry.
    fn check(&self, lengths: &[usize], by_hand: impl Fn(&[f64], f64) -> f64) {
        let mut rng = Rng::for_test(self.name);
        for &len in lengths {
            for _ in 0..POINTS {
                let xs = uniform_point(&mut rng, len, -1.0, 1.0);
                let w = rng.uniform(-1.2, 1.2);
                let (value, dxs, dw) = (self.grad)(&xs, w);
                assert_close(value, by_hand(&xs, w), EXACT_TOLERANCE);

                let mut point = xs.clone();
                point.push(w);
                let mut gradient = dxs.clone();
                gradient.push(dw);
                let f = |p: &[f64]| (self.value)(&p[..len], p[len]);
                assert_gradient(f, &point, &gradient);

                // Forward mode along a random direction agrees with the gradient.
                let tangent = signed_point(&mut rng, len + 1, 0.1, 1.0);
                let (jvp_value, directional) = (self.jvp)(&xs, w, &tangent[..len], tangent[len]);
                assert_value(jvp_value, value);
                let expected: f64 = gradient.iter().zip(&tangent).map(|(g, t)| g * t).sum();
                assert_close(directional, expected, 1e-11);

                let (_, hessian) = (self.hessian)(&xs, w);
                let numeric = fd::central_jacobian(
                    |p: &[f64]| {
                        let (_, mut gradient, dw) = (self.grad)(&p[..len], p[len]);
                        gradient.push(dw);
                        gradient
                    },
                    &point,
                );
                assert_eq!((hessian.nrows(), hessian.ncols()), (len + 1, len + 1));
                let entries = |m: &Mat<f64>| -> Vec<f64> {
                    (0..=len)
                        .flat_map(|i| (0..=len).map(move |j| (i, j)))
                        .map(|(i, j)| m[(i, j)])
                        .collect()
                };
                let scale = entries(&numeric).iter().fold(1e-300_f64, |max, h| max.max(h.abs()));
                for (generated, central) in entries(&hessian).iter().zip(entries(&numeric)) {
                    assert!(
                        (generated - central).abs() <= FD_TOLERANCE * scale,
                        "{generated:e} vs {central:e}"
                    );
                }
            }
        }
    }
}

// ----- for over ranges with skip and take -----------------------------------------

/// A sum over neighbours, `(0..n).skip(1)`; then a
/// recurrence over the first n/2 values of `(0..n).skip(1).step_by(2).rev()`,
/// over `(0..n as i32).take(n/2 + 1).rev()` and over `(1..=n − 1).take(3)`,
/// which takes all when there are fewer: which values the adapters leave,
/// and in which order, reach the derivative.
#[differentiate(forward, hessian)]
fn skipped_and_taken(xs: &[f64], w: f64) -> f64 {
    let half = xs.len() / 2;
    let mut s = 0.0;
    for i in (0..xs.len()).skip(1) {
        s += 0.2 * (xs[i] * xs[i - 1] + w).exp();
    }
    for i in (0..xs.len()).skip(1).step_by(2).rev().take(half) {
        s = (s + w * xs[i]).tanh();
    }
    for j in (0..xs.len() as i32).take(half + 1).rev() {
        s += xs[j as usize].sin() * s;
    }
    for i in (1..=xs.len() - 1).take(3) {
        s = (s + xs[i]).sin() + w;
    }
    s
}

#[test]
fn ranges_with_skip_and_take() {
    let recurrence = Recurrence {
        name: "skipped_and_taken",
        value: skipped_and_taken,
        grad: skipped_and_taken_grad,
        jvp: skipped_and_taken_jvp,
        hessian: skipped_and_taken_hessian,
    };
    recurrence.check(&[1, 2, 5, 8], |xs, w| {
        // The same loops over the indices the adapters leave, listed.
        let (len, half) = (xs.len(), xs.len() / 2);
        let mut s = 0.0;
        for i in 1..len {
            s += 0.2 * (xs[i] * xs[i - 1] + w).exp();
        }
        let odd_down: Vec<usize> = (1..len).filter(|i| i % 2 == 1).rev().collect();
        for &i in odd_down.iter().take(half) {
            s = (s + w * xs[i]).tanh();
        }
        for j in (0..(half + 1).min(len)).rev() {
            s += xs[j].sin() * s;
        }
        for i in 1..len.min(4) {
            s = (s + xs[i]).sin() + w;
        }
        s
    });
}

/// Σ xᵢ·xᵢ₋₁ over `(0..n).skip(1)` and Σ xᵢ³ over the first two indices, as
/// `map` and `sum` of adapted ranges.
#[differentiate]
fn neighbour_products(xs: &[f64]) -> f64 {
    (0..xs.len()).skip(1).map(|i| xs[i] * xs[i - 1]).sum::<f64>()
        + (0..xs.len()).take(2).map(|i| xs[i] * xs[i] * xs[i]).sum::<f64>()
}

#[test]
fn adapted_ranges_in_iterator_sums() {
    let g = of_slice!(
        neighbour_products,
        neighbour_products_grad,
        neighbour_products_vjp,
        neighbour_products_pullback
    );
    let mut rng = Rng::for_test("neighbour_products");
    check_lengths_exact(&g, &mut rng, &[1, 2, 3, 6], (-2.0, 2.0), |x| {
        let n = x.len();
        (0..n)
            .map(|i| {
                let left = if i > 0 { x[i - 1] } else { 0.0 };
                let right = if i + 1 < n { x[i + 1] } else { 0.0 };
                let cube = if i < 2 { 3.0 * x[i] * x[i] } else { 0.0 };
                left + right + cube
            })
            .collect()
    });
}

/// Σ x_i² over every third index, as a `map` and `sum` of a stepped range.
#[differentiate]
fn every_third_square(xs: &[f64]) -> f64 {
    (0..xs.len()).step_by(3).map(|i| xs[i] * xs[i]).sum::<f64>()
}

#[test]
fn stepped_range_in_an_iterator_sum() {
    let g = of_slice!(
        every_third_square,
        every_third_square_grad,
        every_third_square_vjp,
        every_third_square_pullback
    );
    let mut rng = Rng::for_test("every_third_square");
    check_lengths_exact(&g, &mut rng, &[1, 3, 4, 10], (-2.0, 2.0), |x| {
        (0..x.len())
            .map(|i| if i % 3 == 0 { 2.0 * x[i] } else { 0.0 })
            .collect()
    });
    assert_eq!(every_third_square_grad(&[]), (0.0, Vec::new()));
}

/// `for _ in 0..n`: xⁿ by repeated multiplication.
#[differentiate]
fn power_by_loop(x: f64, n: usize) -> f64 {
    let mut t = 1.0;
    for _ in 0..n {
        t *= x;
    }
    t
}

#[test]
fn loop_carried_product() {
    let mut rng = Rng::for_test("power_by_loop");
    for n in [0_usize, 1, 2, 3, 7] {
        for _ in 0..POINTS {
            let x = rng.signed(0.3, 1.7);
            let (value, dx) = power_by_loop_grad(x, n);
            assert_close(value, x.powi(n as i32), 1e-14);
            let expected = if n == 0 { 0.0 } else { n as f64 * x.powi(n as i32 - 1) };
            assert_close(dx, expected, EXACT_TOLERANCE);
            assert_gradient(|p| power_by_loop(p[0], n), &[x], &[dx]);
        }
    }
}

/// Π xᵢ with `t *= x`.
#[differentiate]
fn product_of_elements(xs: &[f64]) -> f64 {
    let mut t = 1.0;
    for &x in xs {
        t *= x;
    }
    t
}

#[test]
fn loop_carried_product_over_elements() {
    let g = of_slice!(
        product_of_elements,
        product_of_elements_grad,
        product_of_elements_vjp,
        product_of_elements_pullback
    );
    let mut rng = Rng::for_test("product_of_elements");
    for len in [1, 3, 6] {
        check_sampled_exact(
            &g,
            &mut rng,
            |r| signed_point(r, len, 0.5, 1.5),
            |p| {
                (0..p.len())
                    .map(|i| p.iter().enumerate().filter(|&(j, _)| j != i).map(|(_, x)| x).product())
                    .collect()
            },
        );
    }
}

// ----- for over elements ---------------------------------------------------------------

/// Σ sin(w·x) with `for &x in xs`.
#[differentiate]
fn sum_by_pattern(xs: &[f64], w: f64) -> f64 {
    let mut s = 0.0;
    for &x in xs {
        s += (w * x).sin();
    }
    s
}

/// Σ (w·x + x²) with `for x in xs.iter()`, reading `x` only through `x * ..`.
#[differentiate]
fn sum_by_iter_ref(xs: &[f64], w: f64) -> f64 {
    let mut s = 0.0;
    for x in xs.iter() {
        s += x * w + x * x;
    }
    s
}

/// `(value, ∇xs, ∂/∂w)` of a function of a slice and a scalar.
type SliceAndScalarGradient = (f64, Vec<f64>, f64);
/// A closed-form `(∇xs, ∂/∂w)`.
type SliceAndScalarClosedForm = dyn Fn(&[f64], f64) -> (Vec<f64>, f64);

/// Checks a function `f(xs, w)` of a slice and a scalar: the point is `xs`
/// followed by `w`.
#[track_caller]
fn check_slice_and_scalar(
    name: &str,
    f: &dyn Fn(&[f64], f64) -> f64,
    grad: &dyn Fn(&[f64], f64) -> SliceAndScalarGradient,
    vjp: &dyn Fn(&[f64], f64, f64) -> SliceAndScalarGradient,
    expected: &SliceAndScalarClosedForm,
    point: &[f64],
    rng: &mut Rng,
) {
    let (xs, w) = point.split_at(point.len() - 1);
    let w = w[0];
    let (value, dxs, dw) = grad(xs, w);
    assert_value(value, f(xs, w));
    assert_eq!(dxs.len(), xs.len(), "{name}: gradient length");
    let mut gradient = dxs.clone();
    gradient.push(dw);
    assert_gradient(|p| f(&p[..p.len() - 1], p[p.len() - 1]), point, &gradient);
    let (expected_xs, expected_w) = expected(xs, w);
    let mut expected_gradient = expected_xs;
    expected_gradient.push(expected_w);
    common::assert_matches_closed_form(name, point, &gradient, &expected_gradient);
    let seed = rng.seed();
    let (vjp_value, sxs, sw) = vjp(xs, w, seed);
    assert_value(vjp_value, value);
    let mut scaled = sxs;
    scaled.push(sw);
    assert_all_close(
        &scaled,
        &gradient.iter().map(|d| seed * d).collect::<Vec<_>>(),
        EXACT_TOLERANCE,
    );
}

#[test]
fn for_over_elements_by_pattern() {
    let mut rng = Rng::for_test("sum_by_pattern");
    for len in [0, 1, 4, 7] {
        for _ in 0..POINTS {
            let point = uniform_point(&mut rng, len + 1, -2.0, 2.0);
            check_slice_and_scalar(
                "sum_by_pattern",
                &sum_by_pattern,
                &sum_by_pattern_grad,
                &sum_by_pattern_vjp,
                &|xs, w| {
                    let dxs = xs.iter().map(|x| w * (w * x).cos()).collect();
                    (dxs, xs.iter().map(|x| x * (w * x).cos()).sum())
                },
                &point,
                &mut rng,
            );
        }
    }
    let xs = [0.5, -1.0];
    let (_, pullback) = sum_by_pattern_pullback(&xs, 0.3);
    let (pxs, pw) = pullback(&1.0, (&xs, 0.3));
    let (_, gxs, gw) = sum_by_pattern_grad(&xs, 0.3);
    assert_identical(&pxs, &gxs);
    assert_identical(&[pw], &[gw]);
}

#[test]
fn for_over_iter_reading_only_through_references() {
    let expected =
        |xs: &[f64], w: f64| -> (Vec<f64>, f64) { (xs.iter().map(|x| w + 2.0 * x).collect(), xs.iter().sum()) };
    let mut rng = Rng::for_test("sum_by_iter_ref");
    for len in [1, 3, 6] {
        for _ in 0..POINTS {
            let point = uniform_point(&mut rng, len + 1, -2.0, 2.0);
            check_slice_and_scalar(
                "sum_by_iter_ref",
                &sum_by_iter_ref,
                &sum_by_iter_ref_grad,
                &sum_by_iter_ref_vjp,
                &expected,
                &point,
                &mut rng,
            );
        }
    }
}

/// Σ (i + 1)·w·xᵢ with `for (i, x) in xs.iter().enumerate()`.
#[differentiate]
fn enumerate_by_reference(xs: &[f64], w: f64) -> f64 {
    let mut s = 0.0;
    for (i, x) in xs.iter().enumerate() {
        s += (i as f64 + 1.0) * x * w;
    }
    s
}

/// Σ xᵢ^(i+1) with `for (i, &x) in xs.iter().enumerate()`.
#[differentiate]
fn enumerate_by_value(xs: &[f64]) -> f64 {
    let mut s = 0.0;
    for (i, &x) in xs.iter().enumerate() {
        s += x.powi(i as i32 + 1);
    }
    s
}

#[test]
fn enumerate_with_a_reference_element() {
    let mut rng = Rng::for_test("enumerate_by_reference");
    for len in [1, 2, 5] {
        for _ in 0..POINTS {
            let point = uniform_point(&mut rng, len + 1, -2.0, 2.0);
            check_slice_and_scalar(
                "enumerate_by_reference",
                &enumerate_by_reference,
                &enumerate_by_reference_grad,
                &enumerate_by_reference_vjp,
                &|xs, w| {
                    let dxs = (0..xs.len()).map(|i| (i as f64 + 1.0) * w).collect();
                    (dxs, xs.iter().enumerate().map(|(i, x)| (i as f64 + 1.0) * x).sum())
                },
                &point,
                &mut rng,
            );
        }
    }
}

#[test]
fn enumerate_with_a_value_element() {
    let g = of_slice!(
        enumerate_by_value,
        enumerate_by_value_grad,
        enumerate_by_value_vjp,
        enumerate_by_value_pullback
    );
    let mut rng = Rng::for_test("enumerate_by_value");
    check_lengths_exact(&g, &mut rng, &[1, 2, 5], (-1.5, 1.5), |p| {
        p.iter()
            .enumerate()
            .map(|(i, x)| (i + 1) as f64 * x.powi(i as i32))
            .collect()
    });
}

// ----- containers: &Vec<f64>, Vec<f64>, arrays, faer columns -------------------------------

/// Σ xᵢ³ − Σ xᵢ xᵢ₊₁ over a `&Vec<f64>`.
#[allow(clippy::ptr_arg)]
#[differentiate]
fn over_vec_ref(xs: &Vec<f64>) -> f64 {
    let mut s = 0.0;
    let mut previous = 0.0;
    for &x in xs {
        s += x * x * x - previous * x;
        previous = x;
    }
    s
}

/// The same over an owned `Vec<f64>`, with `.iter().enumerate()`.
#[differentiate]
fn over_owned_vec(xs: Vec<f64>) -> f64 {
    let mut s = 0.0;
    for (i, &x) in xs.iter().enumerate() {
        s += x * x * x;
        if i > 0 {
            s -= xs[i - 1] * x;
        }
    }
    s
}

/// The same over an array, with `for x in xs.iter()`.
#[differentiate]
fn over_array(xs: [f64; 4]) -> f64 {
    let mut s = 0.0;
    let mut previous = 0.0;
    for x in xs.iter() {
        let v = x * 1.0;
        s += v * v * v - previous * v;
        previous = v;
    }
    s
}

/// The same over a reference to an array, with `for &x in xs`.
#[differentiate]
fn over_array_ref(xs: &[f64; 4]) -> f64 {
    let mut s = 0.0;
    let mut previous = 0.0;
    for &x in xs {
        s += x * x * x - previous * x;
        previous = x;
    }
    s
}

/// The same over a faer column, with `for &x in xs.iter()`.
#[differentiate]
fn over_col(xs: &Col<f64>) -> f64 {
    let mut s = 0.0;
    let mut previous = 0.0;
    for &x in xs.iter() {
        s += x * x * x - previous * x;
        previous = x;
    }
    s
}

/// The same over a faer column, with `.iter().enumerate()`.
#[differentiate]
fn over_col_enumerate(xs: &Col<f64>) -> f64 {
    let mut s = 0.0;
    for (i, x) in xs.iter().enumerate() {
        s += x * x * x;
        if i > 0 {
            s -= xs[i - 1] * x;
        }
    }
    s
}

/// Σ exp(xᵢ)·i over an owned array, with `for &x in &xs` and a counter.
#[differentiate]
fn over_array_by_reference(xs: [f64; 3]) -> f64 {
    let mut s = 0.0;
    let mut i = 0.0;
    for &x in &xs {
        i += 1.0;
        s += x.exp() * i;
    }
    s
}

/// ∂/∂xᵢ of Σ xᵢ³ − Σ xᵢ xᵢ₊₁.
fn cubic_chain_gradient(x: &[f64]) -> Vec<f64> {
    let n = x.len();
    (0..n)
        .map(|i| {
            let left = if i > 0 { x[i - 1] } else { 0.0 };
            let right = if i + 1 < n { x[i + 1] } else { 0.0 };
            3.0 * x[i] * x[i] - left - right
        })
        .collect()
}

#[test]
fn loops_over_vec_references_and_owned_vecs() {
    let mut rng = Rng::for_test("over_vecs");
    for len in [1, 2, 6] {
        for _ in 0..POINTS {
            let x = uniform_point(&mut rng, len, -2.0, 2.0);
            let expected = cubic_chain_gradient(&x);
            let xv = x.clone();
            let (value, gradient): (f64, Vec<f64>) = over_vec_ref_grad(&xv);
            assert_value(value, over_vec_ref(&xv));
            assert_all_close(&gradient, &expected, EXACT_TOLERANCE);
            assert_gradient(|p| over_vec_ref(&p.to_vec()), &x, &gradient);

            let (value, owned): (f64, Vec<f64>) = over_owned_vec_grad(x.clone());
            assert_value(value, over_owned_vec(x.clone()));
            assert_all_close(&owned, &expected, EXACT_TOLERANCE);
            assert_gradient(|p| over_owned_vec(p.to_vec()), &x, &owned);

            let seed = rng.seed();
            let (_, pullback) = over_owned_vec_pullback(x.clone());
            let (pulled,) = pullback(&seed, (x.clone(),));
            let (_, vjp) = over_owned_vec_vjp(x.clone(), seed);
            assert_identical(&pulled, &vjp);
            assert_all_close(
                &vjp,
                &owned.iter().map(|d| seed * d).collect::<Vec<_>>(),
                EXACT_TOLERANCE,
            );
        }
    }
}

#[test]
fn loops_over_arrays_and_array_references() {
    let mut rng = Rng::for_test("over_arrays");
    for _ in 0..POINTS {
        let x: [f64; 4] = std::array::from_fn(|_| rng.uniform(-2.0, 2.0));
        let expected = cubic_chain_gradient(&x);
        let (value, gradient): (f64, [f64; 4]) = over_array_grad(x);
        assert_value(value, over_array(x));
        assert_all_close(&gradient, &expected, EXACT_TOLERANCE);
        assert_gradient(|p| over_array(p.try_into().unwrap()), &x, &gradient);

        let (value, by_ref): (f64, [f64; 4]) = over_array_ref_grad(&x);
        assert_value(value, over_array_ref(&x));
        assert_all_close(&by_ref, &expected, EXACT_TOLERANCE);
        assert_gradient(|p| over_array_ref(p.try_into().unwrap()), &x, &by_ref);

        let y = [x[0], x[1], x[2]];
        let (value, by_reference): (f64, [f64; 3]) = over_array_by_reference_grad(y);
        assert_value(value, over_array_by_reference(y));
        assert_all_close(
            &by_reference,
            &[y[0].exp(), 2.0 * y[1].exp(), 3.0 * y[2].exp()],
            EXACT_TOLERANCE,
        );
        assert_gradient(|p| over_array_by_reference(p.try_into().unwrap()), &y, &by_reference);

        let seed = rng.seed();
        let (_, vjp): (f64, [f64; 4]) = over_array_ref_vjp(&x, seed);
        let (_, pullback) = over_array_ref_pullback(&x);
        let (pulled,): ([f64; 4],) = pullback(&seed, (&x,));
        assert_identical(&pulled, &vjp);
        assert_all_close(&vjp, &by_ref.map(|d| seed * d), EXACT_TOLERANCE);
    }
}

#[test]
fn loops_over_faer_columns() {
    let mut rng = Rng::for_test("over_col");
    for len in [1, 2, 6] {
        for _ in 0..POINTS {
            let x = Col::from_fn(len, |_| rng.uniform(-2.0, 2.0));
            let flat = fd::to_vec(&x);
            let expected = cubic_chain_gradient(&flat);
            for (name, f, grad) in [
                (
                    "over_col",
                    over_col as fn(&Col<f64>) -> f64,
                    over_col_grad as fn(&Col<f64>) -> (f64, Col<f64>),
                ),
                ("over_col_enumerate", over_col_enumerate, over_col_enumerate_grad),
            ] {
                let (value, gradient) = grad(&x);
                assert_value(value, f(&x));
                assert_eq!(gradient.nrows(), len, "{name}");
                let gradient = fd::to_vec(&gradient);
                common::assert_matches_closed_form(name, &flat, &gradient, &expected);
                assert_gradient(|p| f(&fd::from_vec_like(&x, p)), &flat, &gradient);
            }
        }
    }
}

// ----- nested loops ------------------------------------------------------------------------

/// Σᵢ tanh(Σⱼ aᵢⱼxⱼ) with `a` stored row by row in a slice.
#[differentiate(wrt(x))]
fn tanh_layer(a: &[f64], x: &[f64]) -> f64 {
    let n = x.len();
    let m = a.len() / n;
    let mut s = 0.0;
    for i in 0..m {
        let mut row = 0.0;
        for j in 0..n {
            row += a[i * n + j] * x[j];
        }
        s += row.tanh();
    }
    s
}

#[test]
fn two_nested_loops_with_an_inner_accumulator() {
    let mut rng = Rng::for_test("tanh_layer");
    for (m, n) in [(1, 1), (2, 3), (4, 2)] {
        let a = uniform_point(&mut rng, m * n, -1.0, 1.0);
        for _ in 0..POINTS {
            let x = uniform_point(&mut rng, n, -1.5, 1.5);
            let (value, gradient): (f64, Vec<f64>) = tanh_layer_grad(&a, &x);
            assert_value(value, tanh_layer(&a, &x));
            let expected: Vec<f64> = (0..n)
                .map(|j| {
                    (0..m)
                        .map(|i| {
                            let row: f64 = (0..n).map(|k| a[i * n + k] * x[k]).sum();
                            (1.0 - row.tanh().powi(2)) * a[i * n + j]
                        })
                        .sum()
                })
                .collect();
            assert_all_close(&gradient, &expected, EXACT_TOLERANCE);
            assert_gradient(|p| tanh_layer(&a, p), &x, &gradient);
            let (_, pullback) = tanh_layer_pullback(&a, &x);
            assert_eq!(pullback(&1.0, (&a, &x)), ((), gradient));
        }
    }
}

/// Σ_{i>j} exp(−(xᵢ − yⱼ)²) over the elements of two slices.
#[differentiate]
fn pair_kernel(xs: &[f64], ys: &[f64]) -> f64 {
    let mut s = 0.0;
    for &x in xs {
        for &y in ys {
            let d = x - y;
            s += (-d * d).exp();
        }
    }
    s
}

#[test]
fn two_nested_loops_over_elements() {
    let mut rng = Rng::for_test("pair_kernel");
    for (m, n) in [(1, 1), (3, 2), (2, 5)] {
        for _ in 0..POINTS {
            let point = uniform_point(&mut rng, m + n, -2.0, 2.0);
            let (xs, ys) = point.split_at(m);
            let (value, dxs, dys) = pair_kernel_grad(xs, ys);
            assert_value(value, pair_kernel(xs, ys));
            let k = |x: f64, y: f64| -2.0 * (x - y) * (-(x - y) * (x - y)).exp();
            let expected_x: Vec<f64> = xs.iter().map(|&x| ys.iter().map(|&y| k(x, y)).sum()).collect();
            let expected_y: Vec<f64> = ys.iter().map(|&y| xs.iter().map(|&x| -k(x, y)).sum()).collect();
            let gradient = [dxs, dys].concat();
            assert_all_close(&gradient, &[expected_x, expected_y].concat(), EXACT_TOLERANCE);
            assert_gradient(|p| pair_kernel(&p[..m], &p[m..]), &point, &gradient);
        }
    }
}

/// e₃(x) = Σ_{i>j>k} xᵢxⱼxₖ, three nested loops with inner bounds from the outer counters.
#[differentiate]
fn elementary_symmetric_3(x: &[f64]) -> f64 {
    let n = x.len();
    let mut s = 0.0;
    for i in 0..n {
        for j in 0..i {
            for k in 0..j {
                s += x[i] * x[j] * x[k];
            }
        }
    }
    s
}

#[test]
fn three_nested_loops() {
    let g = of_slice!(
        elementary_symmetric_3,
        elementary_symmetric_3_grad,
        elementary_symmetric_3_vjp,
        elementary_symmetric_3_pullback
    );
    let mut rng = Rng::for_test("e3");
    check_lengths_exact(&g, &mut rng, &[2, 3, 4, 7], (-1.5, 1.5), |p| {
        // ∂e₃/∂xₘ = e₂ of the other coordinates.
        (0..p.len())
            .map(|m| {
                let others: Vec<f64> = p.iter().enumerate().filter(|&(i, _)| i != m).map(|(_, x)| *x).collect();
                let mut e2 = 0.0;
                for i in 0..others.len() {
                    for j in 0..i {
                        e2 += others[i] * others[j];
                    }
                }
                e2
            })
            .collect()
    });
    assert_eq!(
        elementary_symmetric_3_grad(&[1.0, 2.0, 3.0]),
        (6.0, vec![6.0, 3.0, 2.0])
    );
}

/// Three nested loops of different kinds, each carrying its own accumulator:
/// Σᵢ (Σ_{j=0..=i} (Π_{k in (0..j).rev()} xₖ))·w.
#[differentiate]
fn nested_kinds(x: &[f64], w: f64) -> f64 {
    let mut total = 0.0;
    for (i, &xi) in x.iter().enumerate() {
        let mut inner = 0.0;
        for j in 0..=i {
            let mut p = xi;
            for k in (0..j).rev() {
                p *= x[k];
            }
            inner += p;
        }
        total += inner * w;
    }
    total
}

#[test]
fn three_nested_loops_of_different_kinds() {
    let mut rng = Rng::for_test("nested_kinds");
    for len in [1, 2, 4] {
        for _ in 0..POINTS {
            let point = signed_point(&mut rng, len + 1, 0.4, 1.4);
            let (x, w) = (&point[..len], point[len]);
            let (value, dx, dw) = nested_kinds_grad(x, w);
            assert_value(value, nested_kinds(x, w));
            let mut gradient = dx;
            gradient.push(dw);
            assert_gradient(|p| nested_kinds(&p[..len], p[len]), &point, &gradient);
            // The value is linear in w.
            assert_close(dw, value / w, 1e-12);
        }
    }
}

// ----- counters stepped by inner loops ----------------------------------------------------

/// Packed pairs: `p` counts the pairs `i < j`, stepped only by the inner
/// loop, as ADBench's GMM walks the packed lower triangle of its factors.
/// The adjoint counts `p` back down through both loops instead of taping it.
#[differentiate]
fn packed_pairs(x: &[f64], n: usize) -> f64 {
    let mut s = 0.0;
    let mut p = n;
    for i in 0..n {
        for j in i + 1..n {
            s = 0.9 * s + (x[p] * x[i]).sin() * x[j];
            p += 1;
        }
    }
    s
}

#[test]
fn a_counter_stepped_only_by_an_inner_loop() {
    let n = 5;
    check_slice_function!(packed_pairs, packed_pairs_grad, packed_pairs_vjp, packed_pairs_pullback;
        n, n + n * (n - 1) / 2, -1.5, 1.5);
}

/// Three levels, the counter stepped by 2 in the innermost loop only, and
/// read between the loops after they stepped it: the end-of-iteration value
/// the countdown starts from.
#[differentiate]
fn counter_three_levels_down(x: &[f64], n: usize) -> f64 {
    let mut s = 0.0;
    let mut p = 0;
    for a in 0..n {
        for b in 0..a {
            for c in b..a {
                s = 0.9 * s + x[p] * x[c].sin();
                p += 2;
            }
            s += x[p] * x[b];
        }
        s *= x[p].cos();
    }
    s
}

#[test]
fn a_counter_stepped_three_loops_down_and_read_between_them() {
    // n = 4 steps the counter Σ_a a(a + 1)/2 = 10 times, by 2.
    check_slice_function!(counter_three_levels_down, counter_three_levels_down_grad, counter_three_levels_down_vjp,
        counter_three_levels_down_pullback; 4, 21, -1.2, 1.2);
}

/// Look-alike: the outer body reads the counter before the inner loop steps
/// it, in a quotient and as an argument of a call, values the adjoint cannot
/// count back to before that loop's adjoint has run, so they are taped.
#[differentiate]
fn counter_read_before_the_inner_loop(x: &[f64], n: usize) -> f64 {
    let mut s = 0.0;
    let mut p = 0;
    for i in 0..n {
        s = (s / (p as f64 + 1.0) + weighted_window(x, p, p)).sin();
        for j in 0..i {
            s += x[p] * x[j];
            p += 1;
        }
    }
    s
}

#[test]
fn a_counter_read_before_the_inner_loop_steps_it() {
    check_slice_function!(counter_read_before_the_inner_loop, counter_read_before_the_inner_loop_grad,
        counter_read_before_the_inner_loop_vjp, counter_read_before_the_inner_loop_pullback; 5, 11, -1.5, 1.5);
}

// ----- loop-carried values ---------------------------------------------------------------

/// Swaps `a` and `b` n times: the value is a·b² for even n and b·a² for odd n.
#[allow(clippy::manual_swap)]
#[differentiate]
fn swap_n_times(mut a: f64, mut b: f64, n: usize) -> f64 {
    for _ in 0..n {
        let t = a;
        a = b;
        b = t;
    }
    a * b * b
}

// Regression test: a carried variable whose next value is another carried
// variable's value at the start of the iteration (a swap) used to read it
// after it was already advanced, because the generated loop copied the
// carried values back one after the other, giving a wrong value and gradient.
#[test]
fn loop_carried_swap() {
    let mut rng = Rng::for_test("swap");
    for n in [0, 1, 2, 5] {
        for _ in 0..POINTS {
            let (a, b) = (rng.uniform(-2.0, 2.0), rng.uniform(-2.0, 2.0));
            let (value, da, db) = swap_n_times_grad(a, b, n);
            assert_value(value, swap_n_times(a, b, n));
            let expected = if n % 2 == 0 {
                [b * b, 2.0 * a * b]
            } else {
                [2.0 * a * b, a * a]
            };
            assert_all_close(&[da, db], &expected, EXACT_TOLERANCE);
            assert_gradient(|p| swap_n_times(p[0], p[1], n), &[a, b], &[da, db]);
            let (_, pullback) = swap_n_times_pullback(a, b, n);
            assert_eq!(pullback(&1.0, (a, b, n)), (da, db, ()));
        }
    }
    // One swap: a·b² at (b, a) is b·a², so the gradient is (2ab, a²).
    assert_eq!(swap_n_times_grad(2.0, 3.0, 1), (12.0, 12.0, 4.0));
}

/// A three-term recurrence: (a, b) ← (b, a + x·b), n times.
#[differentiate]
fn recurrence(a: f64, b: f64, x: f64, n: usize) -> f64 {
    let mut p = a;
    let mut q = b;
    for _ in 0..n {
        let t = p;
        p = q;
        q = t + x * q;
    }
    q
}

#[test]
fn loop_carried_swap_with_update() {
    let mut rng = Rng::for_test("recurrence");
    for n in [0, 1, 2, 6] {
        for _ in 0..POINTS {
            let point = rng.point(&[(-2.0, 2.0), (-2.0, 2.0), (-1.5, 1.5)]);
            let (value, da, db, dx) = recurrence_grad(point[0], point[1], point[2], n);
            assert_value(value, recurrence(point[0], point[1], point[2], n));
            assert_gradient(|p| recurrence(p[0], p[1], p[2], n), &point, &[da, db, dx]);
            // Forward-mode by hand: carry (value, ∂/∂a, ∂/∂b, ∂/∂x) of p and q.
            let x = point[2];
            let mut p = [point[0], 1.0, 0.0, 0.0];
            let mut q = [point[1], 0.0, 1.0, 0.0];
            for _ in 0..n {
                let t = p;
                p = q;
                q = [
                    t[0] + x * q[0],
                    t[1] + x * q[1],
                    t[2] + x * q[2],
                    t[3] + q[0] + x * q[3],
                ];
            }
            assert_all_close(&[da, db, dx], &q[1..], EXACT_TOLERANCE);
        }
    }
}

/// The recurrence of `recurrence` with the carried variables named the other
/// way round, so that the one shifted (`q = p`) sorts after the one updated.
#[differentiate]
fn recurrence_renamed(a: f64, b: f64, x: f64, n: usize) -> f64 {
    let mut q = a;
    let mut p = b;
    for _ in 0..n {
        let next = q + x * p;
        q = p;
        p = next;
    }
    p
}

// Regression test: a shift `q = p; p = next;` used to read `p` after it was
// already advanced when `q` sorted after `p`, because the generated loop copied
// the carried values back one after the other in the order of their names.
#[test]
fn loop_carried_shift_whatever_the_names() {
    let mut rng = Rng::for_test("recurrence_renamed");
    for n in [0, 1, 2, 6] {
        for _ in 0..POINTS {
            let point = rng.point(&[(-2.0, 2.0), (-2.0, 2.0), (-1.5, 1.5)]);
            let (a, b, x) = (point[0], point[1], point[2]);
            assert_value(recurrence_renamed(a, b, x, n), recurrence(a, b, x, n));
            let (value, da, db, dx) = recurrence_renamed_grad(a, b, x, n);
            assert_value(value, recurrence_renamed(a, b, x, n));
            let (_, ea, eb, ex) = recurrence_grad(a, b, x, n);
            assert_all_close(&[da, db, dx], &[ea, eb, ex], EXACT_TOLERANCE);
            assert_gradient(|p| recurrence_renamed(p[0], p[1], p[2], n), &point, &[da, db, dx]);
        }
    }
}

/// Σ over k of the matrix sum m + m + ..., carried as a faer matrix:
/// ‖(n + 1)·m + Σ …‖² with `acc = &acc + &m2` and `acc = &acc + m`.
#[differentiate]
fn accumulate_matrices(m: &Mat<f64>, n: usize) -> f64 {
    let m2 = m * m;
    let mut acc = m.to_owned();
    for _ in 0..n {
        acc = &acc + m;
        acc = &acc + &m2;
    }
    acc.squared_norm_l2()
}

#[test]
fn loop_carried_matrix_sum() {
    let mut rng = Rng::for_test("accumulate_matrices");
    for (size, n) in [(1, 0), (2, 1), (3, 4)] {
        for _ in 0..POINTS {
            let m = Mat::from_fn(size, size, |_, _| rng.uniform(-1.0, 1.0));
            let (value, gradient) = accumulate_matrices_grad(&m, n);
            assert_value(value, accumulate_matrices(&m, n));
            // acc = (n + 1)m + n·m², f = ‖acc‖², ∇ = 2(n + 1)acc + 2n(accmᵀ + mᵀacc)
            let k = n as f64;
            let acc = (k + 1.0) * &m + k * (&m * &m);
            let expected = 2.0 * (k + 1.0) * &acc + 2.0 * k * (&acc * m.transpose() + m.transpose() * &acc);
            let flat = fd::to_vec(&gradient);
            common::assert_matches_closed_form("accumulate_matrices", &fd::to_vec(&m), &flat, &fd::to_vec(&expected));
            assert_gradient(
                |p| accumulate_matrices(&fd::from_vec_like(&m, p), n),
                &fd::to_vec(&m),
                &flat,
            );
        }
    }
}

/// sum(mᵏ), with the power carried as a faer matrix.
#[differentiate]
fn matrix_power_sum(m: &Mat<f64>, k: usize) -> f64 {
    let mut p = m.to_owned();
    for _ in 1..k {
        p = &p * m;
    }
    p.sum()
}

#[test]
fn loop_carried_matrix_product() {
    let mut rng = Rng::for_test("matrix_power_sum");
    for (size, k) in [(1, 3), (2, 1), (2, 2), (3, 4)] {
        for _ in 0..POINTS {
            let m = Mat::from_fn(size, size, |_, _| rng.uniform(-1.0, 1.0));
            let (value, gradient) = matrix_power_sum_grad(&m, k);
            assert_value(value, matrix_power_sum(&m, k));
            // ∇ sum(mᵏ) = Σ_{j<k} (mᵀ)ʲ 1 1ᵀ (mᵀ)^(k−1−j)
            let ones = Mat::<f64>::from_fn(size, size, |_, _| 1.0);
            let power = |j: usize| {
                let mut p = Mat::<f64>::identity(size, size);
                for _ in 0..j {
                    p = &p * m.transpose();
                }
                p
            };
            let mut expected = Mat::<f64>::zeros(size, size);
            for j in 0..k {
                expected = &expected + power(j) * &ones * power(k - 1 - j);
            }
            let flat = fd::to_vec(&gradient);
            common::assert_matches_closed_form("matrix_power_sum", &fd::to_vec(&m), &flat, &fd::to_vec(&expected));
            assert_gradient(
                |p| matrix_power_sum(&fd::from_vec_like(&m, p), k),
                &fd::to_vec(&m),
                &flat,
            );
        }
    }
}

/// A few steps of power iteration, then the Rayleigh quotient: the column
/// `v` is carried through the loop.
#[differentiate(wrt(a))]
fn power_iteration(a: &Mat<f64>, v0: &Col<f64>, steps: usize) -> f64 {
    let mut v = v0.to_owned();
    for _ in 0..steps {
        let w = a * &v;
        v = &w / w.norm_l2();
    }
    v.transpose() * a * &v
}

#[test]
fn loop_carried_column() {
    let mut rng = Rng::for_test("power_iteration");
    for (size, steps) in [(2, 1), (3, 3), (4, 6)] {
        for _ in 0..POINTS {
            let a = Mat::from_fn(size, size, |_, _| rng.uniform(-1.0, 1.0));
            let v0 = Col::from_fn(size, |_| rng.uniform(0.5, 1.0));
            let (value, gradient) = power_iteration_grad(&a, &v0, steps);
            // Not bitwise: faer divides a column by a scalar by multiplying
            // it by the reciprocal, chainrule's `div` kernel divides each
            // element (an ulp apart, also outside loops).
            assert_close(value, power_iteration(&a, &v0, steps), 1e-14);
            assert_eq!((gradient.nrows(), gradient.ncols()), (size, size));
            assert_gradient(
                |p| power_iteration(&fd::from_vec_like(&a, p), &v0, steps),
                &fd::to_vec(&a),
                &fd::to_vec(&gradient),
            );
        }
    }
}

// ----- branches and match inside loops -----------------------------------------------------

/// Σ (x − t)² over the elements above t, minus Σ x·t over the others.
#[differentiate]
fn hinge_sum(xs: &[f64], t: f64) -> f64 {
    let mut s = 0.0;
    for &x in xs {
        if x > t {
            s += (x - t) * (x - t);
        } else {
            s -= x * t;
        }
    }
    s
}

#[test]
fn if_else_inside_a_loop_with_elements_on_both_sides() {
    let mut rng = Rng::for_test("hinge_sum");
    let mut checked = 0;
    while checked < 3 * POINTS {
        let len = 2 + checked % 5;
        let point = uniform_point(&mut rng, len + 1, -2.0, 2.0);
        let (xs, t) = (&point[..len], point[len]);
        let above = xs.iter().filter(|&&x| x > t).count();
        if above == 0 || above == len || xs.iter().any(|&x| !away_from(x, &[t], 0.01)) {
            continue;
        }
        checked += 1;
        check_slice_and_scalar(
            "hinge_sum",
            &hinge_sum,
            &hinge_sum_grad,
            &hinge_sum_vjp,
            &|xs, t| {
                let dxs = xs.iter().map(|&x| if x > t { 2.0 * (x - t) } else { -t }).collect();
                let dt = xs.iter().map(|&x| if x > t { -2.0 * (x - t) } else { -x }).sum();
                (dxs, dt)
            },
            &point,
            &mut rng,
        );
    }
}

/// A branch whose two sides carry the accumulator differently.
#[differentiate]
fn branch_carried(xs: &[f64]) -> f64 {
    let mut s = 1.0;
    for i in 0..xs.len() {
        let x = xs[i];
        s = if x * s > 0.0 { s * x + 1.0 } else { (s - x).sin() };
    }
    s
}

#[test]
fn if_else_expression_inside_a_loop_on_the_carried_value() {
    let g = of_slice!(
        branch_carried,
        branch_carried_grad,
        branch_carried_vjp,
        branch_carried_pullback
    );
    let mut rng = Rng::for_test("branch_carried");
    // The taken paths, recomputed independently; None near a kink.
    let path = |p: &[f64]| -> Option<usize> {
        let mut s: f64 = 1.0;
        let mut taken = 0;
        for (i, &x) in p.iter().enumerate() {
            if (x * s).abs() < 1e-3 {
                return None;
            }
            if x * s > 0.0 {
                s = s * x + 1.0;
                taken |= 1 << i;
            } else {
                s = (s - x).sin();
            }
        }
        Some(taken)
    };
    let mut seen = std::collections::HashSet::new();
    let mut checked = 0;
    while checked < 4 * POINTS {
        let point = uniform_point(&mut rng, 4, -2.0, 2.0);
        let Some(taken) = path(&point) else { continue };
        seen.insert(taken);
        checked += 1;
        check_at(&g, &point, &mut rng);
    }
    assert!(seen.len() >= 4, "only {} paths were taken: {seen:?}", seen.len());
}

/// `match i % 4` inside a loop, with a `|` pattern and a wildcard.
#[differentiate]
fn match_in_loop(xs: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..xs.len() {
        match i % 4 {
            0 => s += xs[i],
            1 | 2 => {
                s += xs[i] * xs[i];
            }
            _ => s *= xs[i],
        }
    }
    s
}

#[test]
fn match_on_an_integer_inside_a_loop() {
    let g = of_slice!(
        match_in_loop,
        match_in_loop_grad,
        match_in_loop_vjp,
        match_in_loop_pullback
    );
    let mut rng = Rng::for_test("match_in_loop");
    check_lengths_exact(&g, &mut rng, &[1, 3, 4, 9], (-2.0, 2.0), |p| {
        // Forward mode by hand: carry s and ∂s/∂x.
        let n = p.len();
        let mut s = 0.0;
        let mut ds = vec![0.0; n];
        for i in 0..n {
            match i % 4 {
                0 => {
                    s += p[i];
                    ds[i] += 1.0;
                }
                1 | 2 => {
                    s += p[i] * p[i];
                    ds[i] += 2.0 * p[i];
                }
                _ => {
                    for d in &mut ds {
                        *d *= p[i];
                    }
                    ds[i] += s;
                    s *= p[i];
                }
            }
        }
        ds
    });
}

/// `match` on an integer as an expression, outside loops, with a range pattern.
#[differentiate]
fn match_on_integer(x: f64, k: i32) -> f64 {
    let y = match k {
        0 => x.sin(),
        1 | 2 => x * x * k as f64,
        3..=5 => x.exp(),
        _ => x,
    };
    y * x
}

#[test]
fn match_on_an_integer_outside_loops() {
    let mut rng = Rng::for_test("match_on_integer");
    for k in [0, 1, 2, 3, 5, 6, -1] {
        for _ in 0..POINTS {
            let x = rng.uniform(-2.0, 2.0);
            let (value, dx) = match_on_integer_grad(x, k);
            assert_value(value, match_on_integer(x, k));
            let expected = match k {
                0 => x.sin() + x * x.cos(),
                1 | 2 => 3.0 * x * x * f64::from(k),
                3..=5 => x.exp() * (1.0 + x),
                _ => 2.0 * x,
            };
            assert_close(dx, expected, EXACT_TOLERANCE);
            assert_gradient(|p| match_on_integer(p[0], k), &[x], &[dx]);
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Activation {
    Identity,
    Tanh,
    Softplus,
}

/// `match` on a fieldless enum outside loops.
#[differentiate]
fn activate(x: f64, activation: Activation) -> f64 {
    match activation {
        Activation::Identity => x,
        Activation::Tanh => x.tanh(),
        Activation::Softplus => (1.0 + x.exp()).ln(),
    }
}

/// `match` on a fieldless enum inside a loop: one activation per layer.
#[differentiate(wrt(x, w))]
fn layers(x: f64, w: &[f64], activations: &[Activation]) -> f64 {
    let mut h = x;
    for i in 0..w.len() {
        let z = w[i] * h;
        h = match activations[i] {
            Activation::Identity => z,
            Activation::Tanh => z.tanh(),
            Activation::Softplus => (1.0 + z.exp()).ln(),
        };
    }
    h
}

fn activation_derivative(z: f64, activation: Activation) -> (f64, f64) {
    match activation {
        Activation::Identity => (z, 1.0),
        Activation::Tanh => (z.tanh(), 1.0 - z.tanh().powi(2)),
        Activation::Softplus => ((1.0 + z.exp()).ln(), 1.0 / (1.0 + (-z).exp())),
    }
}

#[test]
fn match_on_an_enum_outside_loops() {
    let mut rng = Rng::for_test("activate");
    for activation in [Activation::Identity, Activation::Tanh, Activation::Softplus] {
        for _ in 0..POINTS {
            let x = rng.uniform(-3.0, 3.0);
            let (value, dx) = activate_grad(x, activation);
            let (expected_value, expected) = activation_derivative(x, activation);
            assert_value(value, activate(x, activation));
            assert_close(value, expected_value, 1e-15);
            assert_close(dx, expected, EXACT_TOLERANCE);
            assert_gradient(|p| activate(p[0], activation), &[x], &[dx]);
            let (_, pullback) = activate_pullback(x, activation);
            assert_eq!(pullback(&2.0, (x, activation)), (2.0 * dx, ()));
        }
    }
}

#[test]
fn match_on_an_enum_inside_a_loop() {
    use Activation::{Identity, Softplus, Tanh};
    let mut rng = Rng::for_test("layers");
    for activations in [
        vec![Tanh],
        vec![Identity, Softplus, Tanh],
        vec![Softplus, Softplus, Identity, Tanh, Tanh],
    ] {
        let n = activations.len();
        for _ in 0..POINTS {
            let point = uniform_point(&mut rng, n + 1, -1.5, 1.5);
            let (x, w) = (point[0], &point[1..]);
            let (value, dx, dw) = layers_grad(x, w, &activations);
            assert_value(value, layers(x, w, &activations));
            // Forward pass keeping each layer's input and slope, then the chain rule backwards.
            let mut inputs = Vec::new();
            let mut slopes = Vec::new();
            let mut h = x;
            for i in 0..n {
                inputs.push(h);
                let (next, slope) = activation_derivative(w[i] * h, activations[i]);
                slopes.push(slope);
                h = next;
            }
            let mut adjoint = 1.0;
            let mut expected_w = vec![0.0; n];
            for i in (0..n).rev() {
                expected_w[i] = adjoint * slopes[i] * inputs[i];
                adjoint *= slopes[i] * w[i];
            }
            let mut gradient = vec![dx];
            gradient.extend(&dw);
            let mut expected = vec![adjoint];
            expected.extend(expected_w);
            assert_all_close(&gradient, &expected, EXACT_TOLERANCE);
            assert_gradient(|p| layers(p[0], &p[1..], &activations), &point, &gradient);
        }
    }
}

// ----- while, loop, break, continue ------------------------------------------------------------

/// √a by Newton's method with `while`, until the residual is at rounding level.
#[differentiate]
fn newton_sqrt_while(a: f64) -> f64 {
    let mut y = if a > 1.0 { a } else { 1.0 };
    while (y * y - a).abs() > 4.0 * f64::EPSILON * a {
        y = 0.5 * (y + a / y);
    }
    y
}

/// √a by Newton's method with `loop` and `break` once the step stalls.
#[differentiate]
fn newton_sqrt_loop(a: f64) -> f64 {
    let mut y = if a > 1.0 { a } else { 1.0 };
    loop {
        let next = 0.5 * (y + a / y);
        if (next - y).abs() <= 4.0 * f64::EPSILON * y {
            break;
        }
        y = next;
    }
    y
}

#[test]
fn newton_iterations_converge_to_the_derivative_of_sqrt() {
    let mut rng = Rng::for_test("newton");
    for (lo, hi) in [(0.01, 1.0), (1.0, 10.0), (10.0, 1e4)] {
        for _ in 0..POINTS {
            let a = rng.uniform(lo, hi);
            for (name, f, grad) in [
                (
                    "newton_sqrt_while",
                    newton_sqrt_while as fn(f64) -> f64,
                    newton_sqrt_while_grad as fn(f64) -> (f64, f64),
                ),
                ("newton_sqrt_loop", newton_sqrt_loop, newton_sqrt_loop_grad),
            ] {
                let (value, da) = grad(a);
                assert_value(value, f(a));
                assert_close(value, a.sqrt(), 1e-14);
                let expected = 0.5 / a.sqrt();
                assert!(
                    common::relative_error(da, expected) <= 1e-12,
                    "{name}: d/da at a = {a} is {da:e}, expected 1/(2√a) = {expected:e}"
                );
                assert_gradient(|p| f(p[0]), &[a], &[da]);
            }
        }
    }
}

/// Doubles y (plus x) until it reaches `limit`: the trip count depends on x.
#[differentiate]
fn double_until(x: f64, limit: f64) -> f64 {
    let mut y = x;
    while y < limit {
        y = 2.0 * y + x;
    }
    y * y
}

/// The trip count of `double_until`, and whether the point is safely away
/// from a change of trip count.
fn double_until_trips(x: f64, limit: f64) -> Option<usize> {
    let mut y = x;
    let mut trips = 0;
    while y < limit {
        if !away_from(y, &[limit], 1e-3) {
            return None;
        }
        y = 2.0 * y + x;
        trips += 1;
    }
    away_from(y, &[limit], 1e-3).then_some(trips)
}

#[test]
fn while_with_a_trip_count_decided_on_primal_values() {
    let g = generated!(double_until, double_until_grad, double_until_vjp, double_until_pullback; x, limit);
    check_branches(
        &g,
        &mut Rng::for_test("double_until"),
        &[(0.2, 3.0), (0.0, 40.0)],
        5,
        |p| double_until_trips(p[0], p[1]).filter(|&trips| trips < 5),
        Some(&|p| {
            // After k trips y = (2^(k+1) − 1)·x.
            let trips = double_until_trips(p[0], p[1]).unwrap();
            let c = f64::from((1 << (trips + 1)) - 1);
            vec![2.0 * c * c * p[0], 0.0]
        }),
    );
}

/// A `while` counting with an integer carried alongside a float.
#[differentiate]
fn while_with_counter(x: f64, n: usize) -> f64 {
    let mut k = 0;
    let mut s = 1.0;
    while k < n {
        s = s * x + 1.0;
        k += 1;
    }
    s
}

#[test]
fn while_with_an_integer_counter() {
    let mut rng = Rng::for_test("while_with_counter");
    for n in [0, 1, 4] {
        for _ in 0..POINTS {
            let x = rng.uniform(-1.5, 1.5);
            let (value, dx) = while_with_counter_grad(x, n);
            assert_value(value, while_with_counter(x, n));
            // s = 1 + x + ... + xⁿ
            let expected: f64 = (1..=n).map(|i| i as f64 * x.powi(i as i32 - 1)).sum();
            assert_close(dx, expected, EXACT_TOLERANCE);
            assert_gradient(|p| while_with_counter(p[0], n), &[x], &[dx]);
        }
    }
}

/// Σ x² over the elements until the sum passes `limit` (early exit).
#[differentiate(wrt(xs))]
fn sum_until(xs: &[f64], limit: f64) -> f64 {
    let mut s = 0.0;
    for &x in xs {
        s += x * x;
        if s > limit {
            break;
        }
    }
    s
}

#[test]
fn break_inside_for() {
    let mut rng = Rng::for_test("sum_until");
    let mut stops = std::collections::HashSet::new();
    let mut checked = 0;
    while checked < 4 * POINTS {
        let xs = uniform_point(&mut rng, 6, -1.5, 1.5);
        let limit = rng.uniform(0.0, 6.0);
        // The number of elements summed; skip points near the threshold.
        let mut s = 0.0;
        let mut used = xs.len();
        let mut near = false;
        for (i, x) in xs.iter().enumerate() {
            s += x * x;
            near |= !away_from(s, &[limit], 1e-3);
            if s > limit {
                used = i + 1;
                break;
            }
        }
        if near {
            continue;
        }
        checked += 1;
        stops.insert(used);
        let (value, gradient) = sum_until_grad(&xs, limit);
        assert_value(value, sum_until(&xs, limit));
        let expected: Vec<f64> = (0..xs.len())
            .map(|i| if i < used { 2.0 * xs[i] } else { 0.0 })
            .collect();
        assert_all_close(&gradient, &expected, EXACT_TOLERANCE);
        assert_gradient(|p| sum_until(p, limit), &xs, &gradient);
        let (_, pullback) = sum_until_pullback(&xs, limit);
        let (pulled, ()) = pullback(&1.0, (&xs, limit));
        assert_identical(&pulled, &gradient);
    }
    assert!(stops.len() >= 3, "too few different exits: {stops:?}");
}

/// Σ x^1.5 over the positive elements, skipping the others with `continue`.
#[differentiate]
fn skip_negatives(xs: &[f64]) -> f64 {
    let mut s = 0.0;
    for &x in xs {
        if x < 0.0 {
            continue;
        }
        s += x.sqrt() * x;
    }
    s
}

#[test]
fn continue_inside_for() {
    let g = of_slice!(
        skip_negatives,
        skip_negatives_grad,
        skip_negatives_vjp,
        skip_negatives_pullback
    );
    let mut rng = Rng::for_test("skip_negatives");
    for len in [1, 3, 7] {
        check_sampled_exact(
            &g,
            &mut rng,
            |r| signed_point(r, len, 0.1, 2.0),
            |p| p.iter().map(|&x| if x < 0.0 { 0.0 } else { 1.5 * x.sqrt() }).collect(),
        );
    }
}

/// `continue` and `break` in one loop, on the counter and on primal values.
#[differentiate]
fn continue_and_break(xs: &[f64], w: f64) -> f64 {
    let mut s = 0.0;
    for i in 0..xs.len() {
        if i % 2 == 1 {
            continue;
        }
        let term = w * xs[i];
        if term > 2.0 {
            break;
        }
        s += term * term;
    }
    s
}

#[test]
fn continue_and_break_in_the_same_loop() {
    let mut rng = Rng::for_test("continue_and_break");
    let mut checked = 0;
    while checked < 3 * POINTS {
        let point = uniform_point(&mut rng, 8, -2.0, 2.0);
        let (xs, w) = (&point[..7], point[7]);
        if xs.iter().any(|&x| !away_from(w * x, &[2.0], 1e-3)) {
            continue;
        }
        checked += 1;
        check_slice_and_scalar(
            "continue_and_break",
            &continue_and_break,
            &continue_and_break_grad,
            &continue_and_break_vjp,
            &|xs, w| {
                let mut dxs = vec![0.0; xs.len()];
                let mut dw = 0.0;
                for i in (0..xs.len()).step_by(2) {
                    let term = w * xs[i];
                    if term > 2.0 {
                        break;
                    }
                    dxs[i] = 2.0 * term * w;
                    dw += 2.0 * term * xs[i];
                }
                (dxs, dw)
            },
            &point,
            &mut rng,
        );
    }
}

/// `loop` with the exit test in the middle and a carried counter.
#[differentiate]
fn halve_until_small(x: f64) -> f64 {
    let mut y = x;
    let mut acc = 0.0;
    loop {
        acc += y.sin();
        if y.abs() < 0.1 {
            break;
        }
        y *= 0.5;
    }
    acc
}

#[test]
fn loop_with_break() {
    let g = generated!(halve_until_small, halve_until_small_grad, halve_until_small_vjp,
        halve_until_small_pullback; x);
    let trips = |x: f64| -> Option<usize> {
        let mut y = x;
        let mut k = 0;
        loop {
            if !away_from(y.abs(), &[0.1], 1e-4) {
                return None;
            }
            if y.abs() < 0.1 {
                return Some(k);
            }
            y *= 0.5;
            k += 1;
        }
    };
    check_branches(
        &g,
        &mut Rng::for_test("halve_until_small"),
        &[(-3.0, 3.0)],
        4,
        |p| trips(p[0]).map(|k| k.min(3)),
        Some(&move |p| {
            let k = trips(p[0]).unwrap();
            // acc = Σ_{j=0..=k} sin(x/2ʲ)
            vec![
                (0..=k)
                    .map(|j| 0.5_f64.powi(j as i32) * (p[0] * 0.5_f64.powi(j as i32)).cos())
                    .sum(),
            ]
        }),
    );
}

// ----- calls inside loops ---------------------------------------------------------------------

#[differentiate]
fn smooth_abs(x: f64, eps: f64) -> f64 {
    (x * x + eps * eps).sqrt()
}

#[differentiate]
fn square(x: f64) -> f64 {
    x * x
}

#[differentiate]
fn cube(x: f64) -> f64 {
    x * x * x
}

/// Smoothed total variation: Σ √((xᵢ − xᵢ₋₁)² + ε²), one call per iteration.
#[differentiate]
fn total_variation(xs: &[f64], eps: f64) -> f64 {
    let mut s = 0.0;
    for i in 1..xs.len() {
        s += smooth_abs(xs[i] - xs[i - 1], eps);
    }
    s
}

#[test]
fn a_call_inside_a_loop() {
    let mut rng = Rng::for_test("total_variation");
    for len in [1, 2, 6] {
        for _ in 0..POINTS {
            let mut point = uniform_point(&mut rng, len, -2.0, 2.0);
            point.push(rng.uniform(0.1, 1.0));
            check_slice_and_scalar(
                "total_variation",
                &total_variation,
                &total_variation_grad,
                &total_variation_vjp,
                &|xs, eps| {
                    let mut dxs = vec![0.0; xs.len()];
                    let mut deps = 0.0;
                    for i in 1..xs.len() {
                        let d = xs[i] - xs[i - 1];
                        let r = (d * d + eps * eps).sqrt();
                        dxs[i] += d / r;
                        dxs[i - 1] -= d / r;
                        deps += eps / r;
                    }
                    (dxs, deps)
                },
                &point,
                &mut rng,
            );
        }
    }
}

/// A call whose result feeds the carried value multiplicatively, so each
/// iteration's pullback sees a different seed.
#[differentiate]
fn chained_calls(xs: &[f64], a: f64) -> f64 {
    let mut s = a;
    for &x in xs {
        s = square(s) * 0.5 + x;
    }
    s
}

#[test]
fn calls_inside_a_loop_on_the_carried_value() {
    let mut rng = Rng::for_test("chained_calls");
    for len in [1, 3, 5] {
        for _ in 0..POINTS {
            let point = uniform_point(&mut rng, len + 1, -1.0, 1.0);
            check_slice_and_scalar(
                "chained_calls",
                &chained_calls,
                &chained_calls_grad,
                &chained_calls_vjp,
                &|xs, a| {
                    // s_{k+1} = s_k²/2 + x_k; ∂s_n/∂s_k = Π_{j≥k} s_j.
                    let mut s = vec![a];
                    for &x in xs {
                        s.push(s[s.len() - 1].powi(2) * 0.5 + x);
                    }
                    let n = xs.len();
                    let mut adjoint = 1.0;
                    let mut dxs = vec![0.0; n];
                    for k in (0..n).rev() {
                        dxs[k] = adjoint;
                        adjoint *= s[k];
                    }
                    (dxs, adjoint)
                },
                &point,
                &mut rng,
            );
        }
    }
}

/// Calls inside both branches of an `if` inside a loop.
#[differentiate]
fn calls_in_branches(xs: &[f64]) -> f64 {
    let mut s = 0.0_f64;
    for &x in xs {
        if x > 0.0 {
            s += square(x) * s.cos();
        } else {
            s += cube(x);
        }
    }
    s
}

#[test]
fn calls_inside_a_branch_inside_a_loop() {
    let g = of_slice!(
        calls_in_branches,
        calls_in_branches_grad,
        calls_in_branches_vjp,
        calls_in_branches_pullback
    );
    let mut rng = Rng::for_test("calls_in_branches");
    for len in [1, 2, 5] {
        check_sampled_exact(
            &g,
            &mut rng,
            |r| signed_point(r, len, 0.05, 1.5),
            |p| {
                // Forward mode by hand: s and ∂s/∂x.
                let n = p.len();
                let mut s: f64 = 0.0;
                let mut ds = vec![0.0; n];
                for (i, &x) in p.iter().enumerate() {
                    if x > 0.0 {
                        let factor = 1.0 - x * x * s.sin();
                        for d in &mut ds {
                            *d *= factor;
                        }
                        ds[i] += 2.0 * x * s.cos();
                        s += x * x * s.cos();
                    } else {
                        ds[i] += 3.0 * x * x;
                        s += x * x * x;
                    }
                }
                ds
            },
        );
    }
}

/// Σ of the squared elements of row `i` of a row-major matrix: a callee
/// with its own loop.
#[differentiate(wrt(a))]
fn row_sum_of_squares(a: &[f64], i: usize, n: usize) -> f64 {
    let mut s = 0.0;
    for j in 0..n {
        s += a[i * n + j] * a[i * n + j];
    }
    s
}

/// Σᵢ ‖rowᵢ‖: a callee with a loop, called once per iteration.
#[differentiate]
fn sum_of_row_norms(a: &[f64], n: usize) -> f64 {
    let mut s = 0.0;
    for i in 0..a.len() / n {
        s += row_sum_of_squares(a, i, n).sqrt();
    }
    s
}

#[test]
fn a_callee_with_a_loop_called_inside_a_loop() {
    let mut rng = Rng::for_test("sum_of_row_norms");
    for (m, n) in [(1, 1), (2, 3), (4, 2)] {
        let g = of_slice!(sum_of_row_norms, sum_of_row_norms_grad, sum_of_row_norms_vjp, sum_of_row_norms_pullback;
            n);
        check_sampled_exact(
            &g,
            &mut rng,
            |r| signed_point(r, m * n, 0.2, 1.5),
            |p| {
                (0..p.len())
                    .map(|k| {
                        let row = k / n;
                        let norm = (0..n).map(|j| p[row * n + j].powi(2)).sum::<f64>().sqrt();
                        p[k] / norm
                    })
                    .collect()
            },
        );
    }
}

/// A `while` with `continue`: Σ over odd k ≤ n of xᵏ/k.
#[differentiate]
fn odd_powers(x: f64, n: usize) -> f64 {
    let mut k = 0;
    let mut s = 0.0;
    while k < n {
        k += 1;
        if k % 2 == 0 {
            continue;
        }
        s += x.powi(k as i32) / k as f64;
    }
    s
}

#[test]
fn continue_inside_while() {
    let mut rng = Rng::for_test("odd_powers");
    for n in [0, 1, 2, 5, 8] {
        for _ in 0..POINTS {
            let x = rng.uniform(-1.5, 1.5);
            let (value, dx) = odd_powers_grad(x, n);
            assert_value(value, odd_powers(x, n));
            let expected: f64 = (1..=n).filter(|k| k % 2 == 1).map(|k| x.powi(k as i32 - 1)).sum();
            assert_close(dx, expected, EXACT_TOLERANCE);
            assert_gradient(|p| odd_powers(p[0], n), &[x], &[dx]);
        }
    }
}

/// Loops inside the branches of an `if`: a `for` on one side, a `while` on the other.
#[differentiate]
fn loops_in_branches(x: f64, n: usize) -> f64 {
    let mut y = x;
    if x > 0.0 {
        for i in 0..n {
            y = y * x + i as f64;
        }
    } else {
        let mut k = 0;
        while k < n {
            y = (y + x).sin();
            k += 1;
        }
    }
    y
}

#[test]
fn loops_inside_branches() {
    let mut rng = Rng::for_test("loops_in_branches");
    for n in [0, 1, 3] {
        for _ in 0..2 * POINTS {
            let x = rng.signed(0.05, 1.5);
            let (value, dx) = loops_in_branches_grad(x, n);
            assert_value(value, loops_in_branches(x, n));
            // Forward mode by hand.
            let (mut y, mut dy) = (x, 1.0);
            for i in 0..n {
                if x > 0.0 {
                    (y, dy) = (y * x + i as f64, dy * x + y);
                } else {
                    (y, dy) = ((y + x).sin(), (y + x).cos() * (dy + 1.0));
                }
            }
            assert_close(dx, dy, EXACT_TOLERANCE);
            assert_gradient(|p| loops_in_branches(p[0], n), &[x], &[dx]);
        }
    }
}

#[differentiate]
fn weighted(x: &f64, w: f64) -> f64 {
    x * w * x
}

/// A callee with a `&f64` parameter, given a reference to the loop element.
#[differentiate]
fn sum_weighted(xs: &[f64], w: f64) -> f64 {
    let mut s = 0.0;
    for &x in xs {
        s += weighted(&x, w);
    }
    s
}

#[test]
fn a_callee_with_a_reference_parameter_inside_a_loop() {
    let mut rng = Rng::for_test("sum_weighted");
    for len in [1, 4] {
        for _ in 0..POINTS {
            let point = uniform_point(&mut rng, len + 1, -2.0, 2.0);
            check_slice_and_scalar(
                "sum_weighted",
                &sum_weighted,
                &sum_weighted_grad,
                &sum_weighted_vjp,
                &|xs, w| (xs.iter().map(|x| 2.0 * w * x).collect(), xs.iter().map(|x| x * x).sum()),
                &point,
                &mut rng,
            );
        }
    }
}

// ----- a long loop -----------------------------------------------------------------------------

/// Σ sin(xᵢ·xᵢ₋₁) + Σ smooth_abs(xᵢ, 0.1), over 10 000 elements.
#[differentiate]
fn long_chain(xs: &[f64]) -> f64 {
    let mut s = 0.0;
    let mut previous = 0.0;
    for &x in xs {
        s += (x * previous).sin() + smooth_abs(x, 0.1);
        previous = x;
    }
    s
}

#[test]
fn a_long_loop_runs_in_linear_time() {
    let mut rng = Rng::for_test("long_chain");
    let n = 10_000;
    let xs = uniform_point(&mut rng, n, -1.0, 1.0);
    let start = std::time::Instant::now();
    let (value, gradient) = long_chain_grad(&xs);
    let elapsed = start.elapsed();
    eprintln!("long_chain_grad over {n} elements: {elapsed:?}");
    assert_value(value, long_chain(&xs));
    assert_eq!(gradient.len(), n);
    let expected: Vec<f64> = (0..n)
        .map(|i| {
            let left = if i > 0 {
                xs[i - 1] * (xs[i] * xs[i - 1]).cos()
            } else {
                0.0
            };
            let right = if i + 1 < n {
                xs[i + 1] * (xs[i + 1] * xs[i]).cos()
            } else {
                0.0
            };
            left + right + xs[i] / (xs[i] * xs[i] + 0.01).sqrt()
        })
        .collect();
    assert_all_close(&gradient, &expected, EXACT_TOLERANCE);
    // Central differences on a few coordinates.
    for i in [0, 1, 4_321, n - 1] {
        let numeric = fd::central_difference(
            |t| {
                let mut p = xs.clone();
                p[i] = t;
                long_chain(&p)
            },
            xs[i],
            fd::central_step(xs[i]),
        );
        assert_close(gradient[i], numeric, FD_TOLERANCE * 100.0);
    }
    let seed = 0.75;
    let (_, pullback) = long_chain_pullback(&xs);
    let (pulled,) = pullback(&seed, (&xs,));
    let (_, vjp) = long_chain_vjp(&xs, seed);
    assert_identical(&pulled, &vjp);
}

#[test]
fn long_loop_sum_of_squares() {
    let xs: Vec<f64> = (0..10_000).map(|i| (i as f64 * 0.37).sin()).collect();
    let (value, gradient) = sum_of_squares_grad(&xs);
    assert_value(value, sum_of_squares(&xs));
    assert_identical(&gradient, &xs.iter().map(|x| 2.0 * x).collect::<Vec<_>>());
}

// ----- regression tests for former compile errors -----------------------------------------------

/// Σ (w·x + x²) with `for x in xs.iter()`, reading `x` through `*x`.
#[differentiate]
fn sum_deref(xs: &[f64], w: f64) -> f64 {
    let mut s = 0.0;
    for x in xs.iter() {
        s += *x * w + x * x;
    }
    s
}

// Regression test: the element `x` of `for x in xs.iter()` used to be an
// `f64` in the generated code, so the user's `*x` failed to compile (E0614:
// type `f64` cannot be dereferenced).
#[test]
fn deref_of_an_iter_element() {
    let (value, dxs, dw) = sum_deref_grad(&[1.0, -2.0], 3.0);
    assert_eq!(value, sum_deref(&[1.0, -2.0], 3.0));
    assert_eq!((dxs, dw), (vec![5.0, -1.0], -1.0));
    let mut rng = Rng::for_test("sum_deref");
    for len in [0, 1, 4] {
        for _ in 0..POINTS {
            let point = uniform_point(&mut rng, len + 1, -2.0, 2.0);
            check_slice_and_scalar(
                "sum_deref",
                &sum_deref,
                &sum_deref_grad,
                &sum_deref_vjp,
                &|xs, w| (xs.iter().map(|x| w + 2.0 * x).collect(), xs.iter().sum()),
                &point,
                &mut rng,
            );
        }
    }
}

/// x·w, with `x` by reference.
#[differentiate]
fn weighted_by_reference(x: &f64, w: f64) -> f64 {
    x * w
}

/// Σ xᵢ·w, passing the element of `for x in xs.iter()` to a `&f64` parameter.
#[differentiate]
fn sum_weighted_by_reference(xs: &[f64], w: f64) -> f64 {
    let mut s = 0.0;
    for x in xs.iter() {
        s += weighted_by_reference(x, w);
    }
    s
}

// Regression test: the element of `for x in xs.iter()` used to be an `f64` in
// the generated code, so passing it to a `&f64` parameter of another
// differentiated function failed to compile (E0308: expected `&f64`, found
// `f64`).
#[test]
fn iter_element_passed_to_a_reference_parameter() {
    let (value, dxs, dw) = sum_weighted_by_reference_grad(&[1.0, -2.0], 3.0);
    assert_eq!((value, dxs, dw), (-3.0, vec![3.0, 3.0], -1.0));
    let mut rng = Rng::for_test("sum_weighted_by_reference");
    for len in [1, 4] {
        for _ in 0..POINTS {
            let point = uniform_point(&mut rng, len + 1, -2.0, 2.0);
            check_slice_and_scalar(
                "sum_weighted_by_reference",
                &sum_weighted_by_reference,
                &sum_weighted_by_reference_grad,
                &sum_weighted_by_reference_vjp,
                &|xs, w| (vec![w; xs.len()], xs.iter().sum()),
                &point,
                &mut rng,
            );
        }
    }
}

/// sum((n + 1)·m), carrying `m.clone()` of a `&Mat<f64>` parameter.
#[differentiate]
fn sum_of_multiples(m: &Mat<f64>, n: usize) -> f64 {
    let mut acc = m.clone();
    for _ in 0..n {
        acc = &acc + m;
    }
    acc.sum()
}

// Regression test: `.clone()` of a `&Mat<f64>` parameter used to be lowered
// as the reference itself, so a loop carrying the clone (`acc = &acc + m`)
// failed to compile (E0308: expected `&Mat<f64>`, found `Mat<f64>`).
#[test]
fn clone_of_a_reference_parameter_carried_by_a_loop() {
    let m = faer::mat![[1.0, 2.0], [3.0, 4.0]];
    let (value, gradient) = sum_of_multiples_grad(&m, 2);
    assert_eq!(value, 30.0);
    assert_eq!(gradient, Mat::from_fn(2, 2, |_, _| 3.0));
    let mut rng = Rng::for_test("sum_of_multiples");
    for (size, n) in [(1, 0), (2, 1), (3, 4)] {
        for _ in 0..POINTS {
            let m = Mat::from_fn(size, size, |_, _| rng.uniform(-1.0, 1.0));
            let (value, gradient) = sum_of_multiples_grad(&m, n);
            assert_value(value, sum_of_multiples(&m, n));
            let flat = fd::to_vec(&gradient);
            assert_identical(&flat, &vec![n as f64 + 1.0; size * size]);
            assert_gradient(
                |p| sum_of_multiples(&fd::from_vec_like(&m, p), n),
                &fd::to_vec(&m),
                &flat,
            );
        }
    }
}

/// s ← cos(s) + x twice from `let mut s: f64 = 0.0;`: cos(1 + x) + x.
#[differentiate]
fn cosine_iteration(x: f64) -> f64 {
    let mut s: f64 = 0.0;
    for _ in 0..2 {
        s = s.cos() + x;
    }
    s
}

// Regression test: the type of `let mut s: f64 = 0.0;` used to be dropped
// when the constant was inlined, so `s.cos()` failed to compile (E0689:
// ambiguous numeric type `{float}`).
#[test]
fn method_call_on_a_typed_constant_local() {
    let x = 0.5_f64;
    let (value, dx) = cosine_iteration_grad(x);
    assert_eq!(value, cosine_iteration(x));
    assert!((dx - (1.0 - (1.0 + x).sin())).abs() < 1e-15);
    let g = generated!(
        cosine_iteration,
        cosine_iteration_grad,
        cosine_iteration_vjp,
        cosine_iteration_pullback;
        x
    );
    let mut rng = Rng::for_test("cosine_iteration");
    // Away from x = π/2 − 1, where the derivative vanishes.
    check_sampled_exact(
        &g,
        &mut rng,
        |r| vec![r.uniform(-3.0, 0.3)],
        |p| vec![1.0 - (1.0 + p[0]).sin()],
    );
}

// ----- adjoints passed on inside the branch that gave them ---------------------------

/// `for &v in x { if v > top { top = v } }`: only the path that took `v`
/// gives it an adjoint, so only that path adds it to `x̄`. The look-alike
/// also uses `v` after the branch, so its adjoint is passed on after it on
/// both paths.
#[differentiate]
fn running_maximum(x: &[f64]) -> f64 {
    let mut top = x[0];
    for &v in x {
        if v > top {
            top = v;
        }
    }
    top * top.sin()
}

#[differentiate]
fn maximum_and_sum(x: &[f64]) -> f64 {
    let mut top = x[0];
    let mut s = 0.0;
    for &v in x {
        if v > top {
            top = v;
        }
        s += v * v.exp();
    }
    top * s
}

#[test]
fn an_element_whose_adjoint_one_branch_gives() {
    let maximum = of_slice!(
        running_maximum,
        running_maximum_grad,
        running_maximum_vjp,
        running_maximum_pullback
    );
    let with_sum = of_slice!(
        maximum_and_sum,
        maximum_and_sum_grad,
        maximum_and_sum_vjp,
        maximum_and_sum_pullback
    );
    let mut rng = Rng::for_test("running_maximum");
    for _ in 0..POINTS {
        let point = uniform_point(&mut rng, 6, -2.0, 2.0);
        check_at(&maximum, &point, &mut rng);
        check_at(&with_sum, &point, &mut rng);
    }
}

// ----- bounds read from a value the loop reassigns -----------------------------------

/// `0..v.nrows()` where `v` is reassigned by the enclosing loop: the adjoint
/// of each iteration reads the bound of that iteration, not the final `v`
/// (which the adjoint no longer holds).
#[differentiate(wrt(x))]
fn bound_of_a_carried_vector(x: &Col<f64>, a: &Mat<f64>, b: &Mat<f64>) -> f64 {
    let mut v = x.clone();
    let mut s = 0.0;
    for step in 0..4 {
        for i in 0..v.nrows() {
            s += v[i] * v[i].sin();
        }
        v = if step % 2 == 0 { a * &v } else { b * &v };
    }
    s + v.sum()
}

#[test]
fn a_loop_bound_read_from_a_reassigned_vector() {
    let mut rng = Rng::for_test("bound_of_a_carried_vector");
    for _ in 0..POINTS {
        let a = Mat::from_fn(3, 3, |_, _| rng.uniform(-1.0, 1.0));
        let b = Mat::from_fn(3, 3, |_, _| rng.uniform(-1.0, 1.0));
        let x = Col::from_fn(3, |_| rng.uniform(-1.0, 1.0));
        let (value, gradient) = bound_of_a_carried_vector_grad(&x, &a, &b);
        assert_eq!(value, bound_of_a_carried_vector(&x, &a, &b));
        let point: Vec<f64> = x.iter().copied().collect();
        let flat: Vec<f64> = gradient.iter().copied().collect();
        fd::check_gradient(
            |p| bound_of_a_carried_vector(&Col::from_fn(3, |i| p[i]), &a, &b),
            &point,
            &flat,
        )
        .assert_within(1e-6);
    }
}

/// Index buffers the loop permutes in place (`swap`, `rotate_left`,
/// `reverse`), with no element store: every iteration reads the indices
/// as they are then, and so must its adjoint.
#[differentiate(wrt(x))]
fn permuted_reads(x: &[f64], n: usize) -> f64 {
    let mut p = vec![0; n];
    for i in 0..n {
        p[i] = n - 1 - i;
    }
    let mut order = [2, 0, 1];
    let mut s = 0.0;
    for i in 0..n {
        s += x[p[0]] * x[i].sin() + x[order[0]] * x[p[1]];
        p.swap(0, i);
        p.rotate_left(1);
        order.swap(0, 2);
        order.reverse();
    }
    s * x[p[0]]
}

#[test]
fn index_buffers_permuted_in_place() {
    check_slice_function!(permuted_reads, permuted_reads_grad, permuted_reads_vjp, permuted_reads_pullback;
        4, 4, -1.0, 1.0);
}

/// Two buffers swapped by moves every iteration (`let t = a; a = b; b = t;`),
/// and three rotated the same way: each iteration reads the buffers it
/// was given, which the tape keeps while the next ones are taken.
#[differentiate(wrt(x))]
#[allow(clippy::manual_swap)]
fn buffers_swapped_by_moves(x: &[f64], n: usize) -> f64 {
    let mut a = vec![0.0; n];
    let mut b = vec![0.0; n];
    let mut c = vec![1.0; n];
    for i in 0..n {
        a[i] = x[i];
        b[i] = 2.0 * x[i] * x[i];
    }
    let mut s = 0.0;
    for i in 0..n {
        for j in 0..n {
            s += a[i] * b[j].sin() + c[j] * a[j];
        }
        let t = a;
        a = b;
        b = t;
        let u = c;
        c = b;
        b = a;
        a = u;
        a[0] *= x[i];
    }
    s
}

#[test]
fn buffers_swapped_by_moves_in_a_loop() {
    check_slice_function!(buffers_swapped_by_moves, buffers_swapped_by_moves_grad, buffers_swapped_by_moves_vjp,
        buffers_swapped_by_moves_pullback; 3, 3, -1.0, 1.0);
}

/// A network's layers of different widths applied to its input, the
/// weights fixed (`wrt(x)`) and borrowed from their slice (`for w in ws`,
/// `ws[i]`): what the loop carries changes shape every iteration, and the
/// adjoint of each iteration's head has the head's shape.
#[differentiate(wrt(x))]
fn layers_of_different_widths(ws: &[Mat<f64>], x: &Col<f64>) -> f64 {
    let mut h = x.clone();
    for w in ws.iter() {
        let z = w * &h;
        h = relu(&z) + &z * 0.1;
    }
    let mut back = h.clone();
    for i in (0..ws.len()).rev() {
        back = ws[i].transpose() * &back;
    }
    let mut s = 0.0;
    for (i, w) in ws.iter().enumerate() {
        s += (&ws[i] * w.transpose()).squared_norm_l2() * back[i % back.nrows()];
    }
    h.squared_norm_l2() + s
}

/// One step of a non-square map, and a buffer that grows by one element
/// per iteration.
#[differentiate(wrt(x))]
fn growing_and_shrinking(a: &Mat<f64>, x: &Col<f64>, xs: &[f64], n: usize) -> f64 {
    let mut h = x.clone();
    for _ in 0..1 {
        h = a * &h;
    }
    let mut v = vec![x[0]; 1];
    for i in 1..n {
        let mut w = vec![0.0; i + 1];
        for j in 0..i {
            w[j] = v[j] * xs[i];
        }
        w[i] = h[i % h.nrows()].sin();
        v = w;
    }
    let mut s = h.squared_norm_l2();
    for j in 0..n {
        s += v[j] * v[j];
    }
    s
}

#[test]
fn loop_carried_values_that_change_shape() {
    let mut rng = Rng::for_test("layers_of_different_widths");
    for _ in 0..POINTS {
        let widths = [3, 5, 2, 4];
        let ws: Vec<Mat<f64>> = widths
            .windows(2)
            .map(|pair| Mat::from_fn(pair[1], pair[0], |_, _| rng.uniform(-1.0, 1.0)))
            .collect();
        let x = Col::from_fn(3, |_| rng.uniform(-1.0, 1.0));
        let (value, gradient) = layers_of_different_widths_grad(&ws, &x);
        assert_value(value, layers_of_different_widths(&ws, &x));
        assert_gradient(
            |p| layers_of_different_widths(&ws, &fd::from_vec_like(&x, p)),
            &fd::to_vec(&x),
            &fd::to_vec(&gradient),
        );

        let a = Mat::from_fn(2, 3, |_, _| rng.uniform(-1.0, 1.0));
        let xs = uniform_point(&mut rng, 4, -1.0, 1.0);
        let (value, gradient) = growing_and_shrinking_grad(&a, &x, &xs, 4);
        assert_value(value, growing_and_shrinking(&a, &x, &xs, 4));
        assert_gradient(
            |p| growing_and_shrinking(&a, &fd::from_vec_like(&x, p), &xs, 4),
            &fd::to_vec(&x),
            &fd::to_vec(&gradient),
        );
    }
}

/// Σ e³ over a slice, read whole by the caller below.
#[differentiate]
fn sum_of_cubes(v: &[f64]) -> f64 {
    let mut t = 0.0;
    for &e in v {
        t += e * e * e;
    }
    t
}

/// A loop-carried buffer written, then either kept (`continue`) or
/// replaced, then read whole: the buffer that goes on to the next
/// iteration is one of two, chosen by a branch that reads neither.
#[differentiate(wrt(x))]
fn written_then_kept_or_replaced(x: &[f64], n: usize) -> f64 {
    let mut s = 0.0;
    let mut v = vec![0.5; n];
    for i in 0..n {
        v[i] = x[i] * 0.5;
    }
    for i in 0..n {
        v[0] = s + x[i];
        if i % 2 == 1 {
            continue;
        }
        v = vec![s * 0.1 + x[i]; n];
        s += x[i] * v[i] + sum_of_cubes(&v);
    }
    s + v[0] * 0.3
}

#[test]
fn a_continue_between_a_write_and_a_reassignment() {
    for n in [1, 3, 4] {
        check_slice_function!(written_then_kept_or_replaced, written_then_kept_or_replaced_grad,
            written_then_kept_or_replaced_vjp, written_then_kept_or_replaced_pullback; n, n, -1.0, 1.0);
    }
}

/// A `let` in the body shadows a carried variable, then the iteration
/// ends early: what the loop carries on is the outer variable, not the
/// shadow (with `break`, with `continue`, and with a `while` counter).
#[differentiate(wrt(x))]
fn shadowed_before_an_early_end(x: &[f64], n: usize) -> f64 {
    let mut s = 0.0;
    for i in 0..n {
        s += x[i];
        let s = s * 2.0;
        if i == 1 && s != 0.0 {
            break;
        }
    }
    let mut t = 0.0;
    for i in 0..n {
        t += x[i] * x[i];
        let t = t * 2.0 + x[0];
        if i % 2 == 0 {
            continue;
        }
        s += t;
    }
    let mut u = 0.5;
    let mut q = 0;
    while q < n {
        q += 1;
        let q = q - 1;
        if q == 0 {
            continue;
        }
        u *= x[q];
    }
    s + t + u
}

#[test]
fn shadowing_lets_end_with_their_iteration() {
    for n in [1, 3, 4] {
        check_slice_function!(shadowed_before_an_early_end, shadowed_before_an_early_end_grad,
            shadowed_before_an_early_end_vjp, shadowed_before_an_early_end_pullback; n, n, -1.0, 1.0);
    }
}

/// Indices from a constant `&[usize]` parameter, read by copy (`let k =
/// perm[i]`, `for &k in perm`), and sequences of matrices iterated by
/// reference: Σ x[perm[i]]·x[i] + Σ_k x[k]² + Σ_i ‖M_i‖_F²·x[i].
#[differentiate(wrt(x))]
#[allow(clippy::ptr_arg)]
fn indexed_by_a_permutation(x: &[f64], perm: &[usize], ms: &Vec<Mat<f64>>) -> f64 {
    let mut s = 0.0;
    for i in 0..perm.len() {
        let k = perm[i];
        s += x[k] * x[i];
    }
    for &k in perm {
        s += x[k] * x[k];
    }
    for (i, m) in ms.iter().enumerate() {
        s += m.squared_norm_l2() * x[i];
    }
    s
}

#[test]
fn constant_index_and_matrix_sequences() {
    let perm = [2, 0, 3, 1];
    let ms: Vec<Mat<f64>> = (0..4)
        .map(|i| Mat::from_fn(2, i + 1, |r, c| (r + 2 * c) as f64 * 0.3 - 0.4))
        .collect();
    let mut rng = Rng::for_test("indexed_by_a_permutation");
    for _ in 0..POINTS {
        let x = uniform_point(&mut rng, 4, -1.0, 1.0);
        let (value, gradient) = indexed_by_a_permutation_grad(&x, &perm, &ms);
        assert_value(value, indexed_by_a_permutation(&x, &perm, &ms));
        assert_gradient(|p| indexed_by_a_permutation(p, &perm, &ms), &x, &gradient);
    }
}
