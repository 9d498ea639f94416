//! Helpers that take `&mut f64` and change it: the callee writes its result
//! through the reference, and its pullback takes the adjoint of the new value
//! through the same reference and leaves there the adjoint of the old one.
//! Each function is checked against central finite differences and, where
//! simple, against its derivative worked out by hand.

use chainrule::differentiate;
use chainrule::fd;

/// acc ← acc + x²
#[differentiate]
fn add_square(acc: &mut f64, x: f64) {
    *acc += x * x;
}

/// v ← v·k + sin(v), returning the old v.
#[differentiate]
fn scale_in_place(v: &mut f64, k: f64) -> f64 {
    let old = *v;
    *v = *v * k + old.sin();
    old
}

/// Passes its own `&mut f64` on to another helper, twice.
#[differentiate]
fn add_two_squares(acc: &mut f64, x: f64, y: f64) {
    add_square(acc, x);
    add_square(acc, y * x);
}

#[differentiate]
fn sum_of_squares(xs: &[f64]) -> f64 {
    let mut s = 0.0;
    for &x in xs {
        add_square(&mut s, x);
    }
    s
}

#[differentiate]
fn scaled_sum(xs: &[f64], k: f64) -> f64 {
    let mut s = 0.0;
    for &x in xs {
        add_square(&mut s, x);
    }
    let old = scale_in_place(&mut s, k);
    s + old
}

#[differentiate]
fn branchy(x: f64, y: f64) -> f64 {
    let mut s = x;
    if x > y {
        add_two_squares(&mut s, x, y);
    } else {
        add_square(&mut s, y);
    }
    s * y
}

fn points() -> Vec<Vec<f64>> {
    vec![vec![0.5, -1.0, 2.0], vec![1.5, 0.25, -0.75], vec![-2.0, 3.0, 0.1]]
}

#[test]
fn an_accumulator_in_a_loop() {
    for xs in points() {
        let (value, gradient) = sum_of_squares_grad(&xs);
        assert_eq!(value, sum_of_squares(&xs));
        let expected: Vec<f64> = xs.iter().map(|x| 2.0 * x).collect();
        assert_eq!(gradient, expected);
        fd::check_gradient(sum_of_squares, &xs, &gradient).assert_within(1e-6);
    }
}

#[test]
fn a_helper_that_changes_its_argument_and_returns_a_value() {
    for xs in points() {
        for k in [0.5, 1.5, -2.0] {
            let (value, d_xs, d_k) = scaled_sum_grad(&xs, k);
            assert_eq!(value, scaled_sum(&xs, k));
            // f = s·k + sin(s) + s with s = Σx²: ∂f/∂xᵢ = (k + cos s + 1)·2xᵢ, ∂f/∂k = s
            let s: f64 = xs.iter().map(|x| x * x).sum();
            for (d, x) in d_xs.iter().zip(&xs) {
                let expected = (k + s.cos() + 1.0) * 2.0 * x;
                assert!((d - expected).abs() <= 1e-12 * expected.abs().max(1.0));
            }
            assert!((d_k - s).abs() <= 1e-12 * s);
            let mut point = xs.clone();
            point.push(k);
            let mut gradient = d_xs.clone();
            gradient.push(d_k);
            fd::check_gradient(|p| scaled_sum(&p[..3], p[3]), &point, &gradient).assert_within(1e-6);
        }
    }
}

#[test]
fn helpers_in_branches_and_passed_on() {
    for (x, y) in [(2.0, 0.5), (0.3, 1.2), (-1.0, -1.5), (0.7, 0.9)] {
        let (value, dx, dy) = branchy_grad(x, y);
        assert_eq!(value, branchy(x, y));
        let expected = if x > y {
            // s = x + x² + (yx)², f = s·y
            (
                (1.0 + 2.0 * x + 2.0 * y * y * x) * y,
                x + x * x + x * x * y * y + 2.0 * x * x * y * y,
            )
        } else {
            // s = x + y², f = s·y
            (y, x + 3.0 * y * y)
        };
        assert!((dx - expected.0).abs() <= 1e-12 * expected.0.abs().max(1.0));
        assert!((dy - expected.1).abs() <= 1e-12 * expected.1.abs().max(1.0));
        fd::check_gradient(|p| branchy(p[0], p[1]), &[x, y], &[dx, dy]).assert_within(1e-6);
    }
}

#[test]
fn the_split_form_passes_adjoints_through_the_reference() {
    let mut acc = 1.5;
    let ((), pullback) = add_square_pullback(&mut acc, 3.0);
    assert_eq!(acc, 10.5);
    // The adjoint of the new value goes in; that of the old value comes out.
    let mut adjoint = 2.0;
    let ((), d_x) = pullback(&(), (&mut adjoint, 3.0));
    assert_eq!(adjoint, 2.0);
    assert_eq!(d_x, 12.0);
}

/// v ← v + w·x, element by element, in the caller's buffer.
#[differentiate]
#[allow(clippy::needless_range_loop)]
fn axpy_into(v: &mut [f64], w: f64, x: &[f64]) {
    for i in 0..x.len() {
        v[i] += w * x[i];
    }
}

/// v ← tanh(v), element by element (a `&mut Vec` on purpose).
#[differentiate]
#[allow(clippy::ptr_arg, clippy::needless_range_loop)]
fn squash(v: &mut Vec<f64>) {
    for i in 0..v.len() {
        v[i] = v[i].tanh();
    }
}

/// Σ tanh(b + w·xᵢ)², through two helpers writing into one buffer.
#[differentiate]
fn layer(x: &[f64], w: f64, b: f64) -> f64 {
    let mut v = vec![b; x.len()];
    axpy_into(&mut v, w, x);
    squash(&mut v);
    let mut s = 0.0;
    for &e in v.iter() {
        s += e * e;
    }
    s
}

#[test]
fn helpers_that_write_into_a_buffer() {
    for (x, w, b) in [(vec![0.5, -1.0, 2.0], 0.7, 0.2), (vec![1.5, 0.3], -1.1, 0.4)] {
        let (value, d_x, d_w, d_b) = layer_grad(&x, w, b);
        assert_eq!(value, layer(&x, w, b));
        // ∂/∂xᵢ = 2tᵢ(1 − tᵢ²)·w, ∂/∂w = Σ 2tᵢ(1 − tᵢ²)·xᵢ, ∂/∂b = Σ 2tᵢ(1 − tᵢ²), tᵢ = tanh(b + w·xᵢ)
        let slopes: Vec<f64> = x
            .iter()
            .map(|xi| {
                let t = (b + w * xi).tanh();
                2.0 * t * (1.0 - t * t)
            })
            .collect();
        for (d, slope) in d_x.iter().zip(&slopes) {
            assert!((d - slope * w).abs() <= 1e-12 * (slope * w).abs().max(1.0));
        }
        let expected_w: f64 = slopes.iter().zip(&x).map(|(s, xi)| s * xi).sum();
        let expected_b: f64 = slopes.iter().sum();
        assert!((d_w - expected_w).abs() <= 1e-12 * expected_w.abs().max(1.0));
        assert!((d_b - expected_b).abs() <= 1e-12 * expected_b.abs().max(1.0));
        let n = x.len();
        let mut point = x.clone();
        point.extend([w, b]);
        let mut gradient = d_x.clone();
        gradient.extend([d_w, d_b]);
        fd::check_gradient(|p| layer(&p[..n], p[n], p[n + 1]), &point, &gradient).assert_within(1e-6);
    }
}

/// The buffer helpers called in a loop, with element writes between the
/// calls: each call's pullback gets the buffer as that call saw it.
#[differentiate]
#[allow(clippy::needless_range_loop)]
fn layers_in_a_loop(x: &[f64], w: f64, b: f64) -> f64 {
    let mut v = vec![b; x.len()];
    for _ in 0..3 {
        axpy_into(&mut v, w, x);
        squash(&mut v);
        v[0] *= v[1];
    }
    let mut s = 0.0;
    for i in 0..v.len() {
        s += v[i] * v[i];
    }
    s
}

#[test]
fn buffer_helpers_called_in_a_loop() {
    for (x, w, b) in [(vec![0.5, -1.0, 2.0], 0.7, 0.2), (vec![1.5, 0.3], -1.1, 0.4)] {
        let (value, d_x, d_w, d_b) = layers_in_a_loop_grad(&x, w, b);
        assert_eq!(value, layers_in_a_loop(&x, w, b));
        let n = x.len();
        let mut point = x.clone();
        point.extend([w, b]);
        let mut gradient = d_x.clone();
        gradient.extend([d_w, d_b]);
        fd::check_gradient(|p| layers_in_a_loop(&p[..n], p[n], p[n + 1]), &point, &gradient).assert_within(1e-6);
    }
}

/// A copy of the parameter made with `to_vec()`, then a clone of that copy,
/// each lent to the helpers: both are buffers of their own.
#[differentiate]
fn copies_lent_to_helpers(x: &[f64], w: f64) -> f64 {
    let mut v = x.to_vec();
    squash(&mut v);
    let mut u = v.clone();
    axpy_into(&mut u, w, x);
    let mut s = 0.0;
    for (i, a) in v.iter().enumerate() {
        s += a * u[i];
    }
    s
}

#[test]
fn copies_made_by_to_vec_and_clone_lent_to_helpers() {
    for (x, w) in [(vec![0.5, -1.0, 2.0], 0.7), (vec![1.5, 0.3], -1.1)] {
        let (value, d_x, d_w) = copies_lent_to_helpers_grad(&x, w);
        assert_eq!(value, copies_lent_to_helpers(&x, w));
        let n = x.len();
        let mut point = x.clone();
        point.push(w);
        let mut gradient = d_x.clone();
        gradient.push(d_w);
        fd::check_gradient(|p| copies_lent_to_helpers(&p[..n], p[n]), &point, &gradient).assert_within(1e-6);
    }
}

/// acc ← (acc + x₁²)·0.9, then (· + x₂²)·0.9, …: the parameter is updated
/// through the reference inside a loop. It is left out of `wrt`, yet its
/// pullback still hands back the adjoint of its old value (0.9ⁿ·seed).
#[differentiate(wrt(xs))]
fn decaying_squares(acc: &mut f64, xs: &[f64]) {
    for &x in xs {
        *acc += x * x;
        *acc *= 0.9;
    }
}

/// Passes its own reference on to a helper inside a loop.
#[differentiate]
fn add_sine_squares(acc: &mut f64, xs: &[f64]) {
    for &x in xs {
        add_square(acc, x.sin());
    }
}

/// v ← v·a.
#[differentiate]
#[allow(clippy::needless_range_loop)]
fn scale_in(v: &mut [f64], a: f64) {
    for i in 0..v.len() {
        v[i] *= a;
    }
}

/// Passes its own `&mut [f64]` on, twice: v ← v·a·a².
#[differentiate]
fn scale_by_cube(v: &mut [f64], a: f64) {
    scale_in(v, a);
    scale_in(v, a * a);
}

#[differentiate]
fn references_updated_in_loops(xs: &[f64], a: f64) -> f64 {
    let mut s = a;
    decaying_squares(&mut s, xs);
    add_sine_squares(&mut s, xs);
    let mut v = xs.to_vec();
    scale_by_cube(&mut v, a);
    for e in v.iter() {
        s += e * e;
    }
    s
}

#[test]
fn references_updated_and_passed_on_inside_loops() {
    for (xs, a) in [(vec![0.5, -1.0, 2.0], 0.7), (vec![1.5, 0.3], -1.1), (vec![-0.2], 1.3)] {
        let (value, d_xs, d_a) = references_updated_in_loops_grad(&xs, a);
        assert_eq!(value, references_updated_in_loops(&xs, a));
        let n = xs.len();
        let mut point = xs.clone();
        point.push(a);
        let mut gradient = d_xs.clone();
        gradient.push(d_a);
        fd::check_gradient(|p| references_updated_in_loops(&p[..n], p[n]), &point, &gradient).assert_within(1e-6);

        let mut acc = a;
        let ((), pullback) = decaying_squares_pullback(&mut acc, &xs);
        let mut adjoint = 2.0;
        let ((), d_xs) = pullback(&(), (&mut adjoint, &xs));
        let expected = 2.0 * 0.9_f64.powi(n as i32);
        assert!((adjoint - expected).abs() <= 1e-12 * expected);
        fd::check_gradient(
            |p| {
                let mut acc = a;
                decaying_squares(&mut acc, p);
                2.0 * acc
            },
            &xs,
            &d_xs,
        )
        .assert_within(1e-6);
    }
}

/// s = x, then t = s (a copy), then s ← s + t²: the helper's `&mut`
/// argument and its value argument both start as `x`.
#[differentiate]
fn copy_then_lend(x: f64) -> f64 {
    let mut s = x;
    let t = s;
    add_square(&mut s, t);
    s * t
}

#[test]
fn a_copy_and_the_variable_it_copies_passed_to_one_helper() {
    for x in [0.5, -1.5, 2.0] {
        let (value, d_x) = copy_then_lend_grad(x);
        assert_eq!(value, copy_then_lend(x));
        // f = (x + x²)·x = x² + x³
        let expected = 2.0 * x + 3.0 * x * x;
        assert!((d_x - expected).abs() <= 1e-12 * expected.abs().max(1.0));
        fd::check_gradient(|p| copy_then_lend(p[0]), &[x], &[d_x]).assert_within(1e-6);
    }
}
