//! User-supplied rules: `#[differentiate(rule = my_derivative)]` makes
//! chainrule use the user's derivative instead of differentiating the body.
//! The rule takes the parameters and the seed; for a single differentiated
//! parameter it returns that gradient, for several a tuple of them.
//!
//! The bodies here use what differentiated functions may not (iterators,
//! closures, `%`), since a function with a rule is never lowered. Each rule
//! is checked against central finite differences with
//! `chainrule::fd::check_gradient`, alone and called from other
//! differentiated functions inside loops and branches.
//!
//! A function that returns an integer needs no rule: `let k: usize =
//! argmax(xs);` keeps the call as written, since an index has no
//! derivative.

#[macro_use]
mod common;

use chainrule::fd;
use chainrule::prelude::*;
use common::{
    EXACT_TOLERANCE, FD_TOLERANCE, POINTS, Rng, assert_all_close, assert_close, assert_identical, assert_value,
    check_box_exact, check_sampled,
};
use std::f64::consts::PI;

/// Checks `gradient` against central differences of `f` at `x` with
/// `fd::check_gradient`.
#[track_caller]
fn check_fd(f: impl Fn(&[f64]) -> f64, x: &[f64], gradient: &[f64]) {
    fd::check_gradient(f, x, gradient).assert_within(FD_TOLERANCE);
}

/// A point of `len` coordinates uniform in `[lo, hi)`.
fn uniform_point(rng: &mut Rng, len: usize, lo: f64, hi: f64) -> Vec<f64> {
    (0..len).map(|_| rng.uniform(lo, hi)).collect()
}

// ----- one parameter ----------------------------------------------------------------------

fn erf_derivative(x: f64, seed: f64) -> f64 {
    seed * 2.0 / PI.sqrt() * (-x * x).exp()
}

/// erf by its Maclaurin series near 0 (summed with an iterator and a
/// closure, which `#[differentiate]` could not lower, and with a rule does
/// not need to), and by the continued fraction of erfc further out.
#[differentiate(rule = erf_derivative)]
fn erf(x: f64) -> f64 {
    if x.abs() < 2.5 {
        let term = |k: i32| {
            let factorial: f64 = (1..=k).map(f64::from).product();
            (-1.0_f64).powi(k) * x.powi(2 * k + 1) / (factorial * f64::from(2 * k + 1))
        };
        return 2.0 / PI.sqrt() * (0..60).map(term).sum::<f64>();
    }
    let a = x.abs();
    let fraction = (1..80).rev().fold(a, |tail, k| a + f64::from(k) / 2.0 / tail);
    x.signum() * (1.0 - (-a * a).exp() / (PI.sqrt() * fraction))
}

#[test]
fn a_rule_for_one_parameter() {
    let g = generated!(erf, erf_grad, erf_vjp, erf_pullback; x);
    check_box_exact(&g, &mut Rng::for_test("erf"), &[(-2.5, 2.5)], |p| {
        vec![2.0 / PI.sqrt() * (-p[0] * p[0]).exp()]
    });
    let (value, dx) = erf_grad(0.0);
    assert_eq!((value, dx), (0.0, 2.0 / PI.sqrt()));
    assert_close(erf(1.0), 0.842_700_792_949_714_9, 1e-14);
    assert_close(erf(-3.0), -0.999_977_909_503_001_4, 1e-15);
    check_box_exact(&g, &mut Rng::for_test("erf_tails"), &[(2.5, 3.0)], |p| {
        vec![2.0 / PI.sqrt() * (-p[0] * p[0]).exp()]
    });
}

fn softplus_derivative(x: f64, seed: f64) -> f64 {
    seed / (1.0 + (-x).exp())
}

/// softplus, with a branch for large inputs.
#[differentiate(rule = softplus_derivative)]
fn softplus(x: f64) -> f64 {
    if x > 30.0 { x } else { x.exp().ln_1p() }
}

fn softplus_gradient(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

#[test]
fn a_rule_returns_the_gradient_times_the_seed() {
    let mut rng = Rng::for_test("softplus");
    for _ in 0..POINTS {
        let x = rng.uniform(-5.0, 5.0);
        let seed = rng.seed();
        let (value, dx) = softplus_grad(x);
        assert_value(value, softplus(x));
        assert_close(dx, softplus_gradient(x), EXACT_TOLERANCE);
        check_fd(|p| softplus(p[0]), &[x], &[dx]);
        let (vjp_value, sx) = softplus_vjp(x, seed);
        assert_value(vjp_value, value);
        assert_eq!(sx, softplus_derivative(x, seed));
        let (pullback_value, pullback) = softplus_pullback(x);
        assert_value(pullback_value, value);
        assert_eq!(pullback(&seed, (x,)), (sx,));
    }
}

/// The straight-through estimator: rounding, whose derivative is zero almost
/// everywhere, given the derivative of the identity. Central differences
/// disagree with it, which shows the rule is used instead of the body.
fn straight_through(_x: f64, seed: f64) -> f64 {
    seed
}

#[differentiate(rule = straight_through)]
fn quantize(x: f64) -> f64 {
    (x * 4.0).round() / 4.0
}

#[test]
fn the_rule_is_used_instead_of_the_body() {
    let mut rng = Rng::for_test("quantize");
    for _ in 0..POINTS {
        let x = rng.uniform(-3.0, 3.0);
        let (value, dx) = quantize_grad(x);
        assert_value(value, quantize(x));
        assert_eq!(dx, 1.0);
        assert_eq!(quantize_vjp(x, -2.5), (value, -2.5));
        // The derivative of the body is 0 away from the steps.
        if (x * 4.0 - (x * 4.0).round()).abs() < 0.4 {
            assert_eq!(fd::central_gradient(|p| quantize(p[0]), &[x]), vec![0.0]);
        }
    }
}

// ----- several parameters, constants, module paths ------------------------------------------

mod derivatives {
    /// ∂/∂a and ∂/∂b of log(eᵃ + eᵇ), times the seed: the softmax of (a, b).
    pub fn log_add_exp_derivative(a: f64, b: f64, seed: f64) -> (f64, f64) {
        let m = a.max(b);
        let (ea, eb) = ((a - m).exp(), (b - m).exp());
        (seed * ea / (ea + eb), seed * eb / (ea + eb))
    }
}

/// log(eᵃ + eᵇ), computed stably; the rule's path has a module.
#[differentiate(rule = derivatives::log_add_exp_derivative)]
fn log_add_exp(a: f64, b: f64) -> f64 {
    let m = a.max(b);
    m + ((a - m).exp() + (b - m).exp()).ln()
}

#[test]
fn a_rule_for_two_parameters_returns_a_tuple() {
    let g = generated!(log_add_exp, log_add_exp_grad, log_add_exp_vjp, log_add_exp_pullback; a, b);
    check_box_exact(
        &g,
        &mut Rng::for_test("log_add_exp"),
        &[(-4.0, 4.0), (-4.0, 4.0)],
        |p| {
            let z = p[0].exp() + p[1].exp();
            vec![p[0].exp() / z, p[1].exp() / z]
        },
    );
}

fn smooth_power_derivative(x: f64, n: i32, seed: f64) -> f64 {
    seed * f64::from(n) * x.powi(n - 1)
}

/// xⁿ by repeated squaring, `n` a constant: the rule takes it but returns
/// only the gradient of `x`.
#[differentiate(rule = smooth_power_derivative, wrt(x))]
fn power(x: f64, n: i32) -> f64 {
    let (mut result, mut base, mut k) = (1.0, x, n);
    while k > 0 {
        if k % 2 == 1 {
            result *= base;
        }
        base *= base;
        k /= 2;
    }
    result
}

#[test]
fn a_rule_with_a_constant_parameter() {
    let mut rng = Rng::for_test("power");
    for n in [0, 1, 2, 5, 8] {
        for _ in 0..POINTS {
            let x = rng.uniform(-1.5, 1.5);
            let (value, dx) = power_grad(x, n);
            assert_value(value, power(x, n));
            assert_close(dx, f64::from(n) * x.powi(n - 1), EXACT_TOLERANCE);
            check_fd(|p| power(p[0], n), &[x], &[dx]);
            let (_, pullback) = power_pullback(x, n);
            assert_eq!(pullback(&3.0, (x, n)), (smooth_power_derivative(x, n, 3.0), ()));
        }
    }
}

/// A rule for three parameters where `wrt` leaves out the middle one.
fn interpolate_derivative(a: f64, _t_steps: usize, t: f64, seed: f64) -> (f64, f64) {
    (seed * (1.0 - t), seed * -a)
}

#[differentiate(rule = interpolate_derivative, wrt(a, t))]
fn interpolate(a: f64, t_steps: usize, t: f64) -> f64 {
    let t = (t * t_steps as f64).round() / t_steps as f64;
    (1.0 - t) * a
}

#[test]
fn a_rule_for_a_subset_of_parameters() {
    let (value, da, dt) = interpolate_grad(2.0, 4, 0.25);
    assert_eq!((value, da, dt), (1.5, 0.75, -2.0));
    let (_, pullback) = interpolate_pullback(2.0, 4, 0.25);
    assert_eq!(pullback(&2.0, (2.0, 4, 0.25)), (1.5, (), -4.0));
}

// ----- sequence and faer parameters ------------------------------------------------------------

fn norm_derivative(x: &[f64], seed: f64) -> Vec<f64> {
    let norm = x.iter().map(|v| v * v).sum::<f64>().sqrt();
    x.iter().map(|v| seed * v / norm).collect()
}

/// The Euclidean norm with scaling against overflow, written with iterators.
#[differentiate(rule = norm_derivative)]
fn stable_norm(x: &[f64]) -> f64 {
    let scale = x.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
    if scale == 0.0 {
        return 0.0;
    }
    scale * x.iter().map(|v| (v / scale).powi(2)).sum::<f64>().sqrt()
}

#[test]
fn a_rule_for_a_slice_parameter() {
    let mut rng = Rng::for_test("stable_norm");
    for len in [1, 3, 7] {
        for _ in 0..POINTS {
            let x = uniform_point(&mut rng, len, -2.0, 2.0);
            let (value, gradient): (f64, Vec<f64>) = stable_norm_grad(&x);
            assert_value(value, stable_norm(&x));
            assert_eq!(gradient.len(), len);
            assert_all_close(
                &gradient,
                &x.iter().map(|v| v / value).collect::<Vec<_>>(),
                EXACT_TOLERANCE,
            );
            check_fd(stable_norm, &x, &gradient);
        }
    }
}

fn col_log_sum_exp_derivative(x: &Col<f64>, seed: f64) -> Col<f64> {
    let m = x.iter().fold(f64::NEG_INFINITY, |m, v| m.max(*v));
    let z: f64 = x.iter().map(|v| (v - m).exp()).sum();
    Col::from_fn(x.nrows(), |i| seed * (x[i] - m).exp() / z)
}

/// log Σ exp(xᵢ) over a faer column.
#[differentiate(rule = col_log_sum_exp_derivative)]
fn col_log_sum_exp(x: &Col<f64>) -> f64 {
    let m = x.iter().fold(f64::NEG_INFINITY, |m, v| m.max(*v));
    m + x.iter().map(|v| (v - m).exp()).sum::<f64>().ln()
}

#[test]
fn a_rule_for_a_faer_parameter() {
    let mut rng = Rng::for_test("col_log_sum_exp");
    for n in [1, 4] {
        for _ in 0..POINTS {
            let x = Col::from_fn(n, |_| rng.uniform(-3.0, 3.0));
            let (value, gradient): (f64, Col<f64>) = col_log_sum_exp_grad(&x);
            assert_value(value, col_log_sum_exp(&x));
            assert_close(gradient.sum(), 1.0, 1e-14);
            check_fd(
                |p| col_log_sum_exp(&fd::from_vec_like(&x, p)),
                &fd::to_vec(&x),
                &fd::to_vec(&gradient),
            );
        }
    }
}

fn scale_column_derivative(x: &Col<f64>, a: f64, seed: &Col<f64>) -> (Col<f64>, f64) {
    (seed * a, seed.transpose() * x)
}

/// a·x, a vector output: the seed of the rule is a column.
#[differentiate(rule = scale_column_derivative)]
fn scale_column(x: &Col<f64>, a: f64) -> Col<f64> {
    Col::from_fn(x.nrows(), |i| a * x[i])
}

#[test]
fn a_rule_for_a_vector_valued_function() {
    let x = faer::col![1.0, -2.0, 3.0];
    let seed = faer::col![0.5, 1.0, -1.0];
    let (value, dx, da) = scale_column_vjp(&x, 2.0, &seed);
    assert_eq!(value, faer::col![2.0, -4.0, 6.0]);
    assert_eq!(dx, faer::col![1.0, 2.0, -2.0]);
    assert_eq!(da, 0.5 - 2.0 - 3.0);
}

fn cube_derivative(x: &f64, seed: f64) -> f64 {
    seed * 3.0 * x * x
}

/// A rule for a `&f64` parameter.
#[differentiate(rule = cube_derivative)]
fn cube(x: &f64) -> f64 {
    x.powi(3)
}

fn pair_product_derivative(x: [f64; 2], seed: f64) -> [f64; 2] {
    [seed * x[1], seed * x[0]]
}

/// A rule for an array parameter, returning an array.
#[differentiate(rule = pair_product_derivative)]
fn pair_product(x: [f64; 2]) -> f64 {
    x.iter().product()
}

#[test]
fn rules_for_reference_and_array_parameters() {
    let mut rng = Rng::for_test("cube_and_pair_product");
    for _ in 0..POINTS {
        let x = rng.uniform(-2.0, 2.0);
        let (value, dx) = cube_grad(&x);
        assert_value(value, cube(&x));
        assert_close(dx, 3.0 * x * x, EXACT_TOLERANCE);
        check_fd(|p| cube(&p[0]), &[x], &[dx]);

        let pair = [rng.uniform(-2.0, 2.0), rng.uniform(-2.0, 2.0)];
        let (value, gradient): (f64, [f64; 2]) = pair_product_grad(pair);
        assert_value(value, pair_product(pair));
        assert_eq!(gradient, [pair[1], pair[0]]);
        check_fd(|p| pair_product([p[0], p[1]]), &pair, &gradient);
    }
}

// ----- rules called from differentiated functions ------------------------------------------------

/// Σ softplus(w·xᵢ + b), one rule call per iteration.
#[differentiate(wrt(w, b))]
fn softplus_layer(xs: &[f64], w: f64, b: f64) -> f64 {
    let mut s = 0.0;
    for &x in xs {
        s += softplus(w * x + b);
    }
    s
}

#[test]
fn a_rule_called_inside_a_loop() {
    let mut rng = Rng::for_test("softplus_layer");
    for len in [1, 3, 8] {
        let xs = uniform_point(&mut rng, len, -3.0, 3.0);
        for _ in 0..POINTS {
            let (w, b) = (rng.uniform(-2.0, 2.0), rng.uniform(-2.0, 2.0));
            let (value, dw, db) = softplus_layer_grad(&xs, w, b);
            assert_value(value, softplus_layer(&xs, w, b));
            let expected_w: f64 = xs.iter().map(|x| x * softplus_gradient(w * x + b)).sum();
            let expected_b: f64 = xs.iter().map(|x| softplus_gradient(w * x + b)).sum();
            assert_all_close(&[dw, db], &[expected_w, expected_b], EXACT_TOLERANCE);
            check_fd(|p| softplus_layer(&xs, p[0], p[1]), &[w, b], &[dw, db]);
            let seed = rng.seed();
            let (_, pullback) = softplus_layer_pullback(&xs, w, b);
            let ((), pw, pb) = pullback(&seed, (&xs, w, b));
            let (_, sw, sb) = softplus_layer_vjp(&xs, w, b, seed);
            assert_identical(&[pw, pb], &[sw, sb]);
            assert_all_close(&[sw, sb], &[seed * dw, seed * db], EXACT_TOLERANCE);
        }
    }
}

/// log Σ exp(xᵢ) by folding the two-parameter rule over the elements: the
/// carried value goes through the rule each iteration.
#[allow(clippy::needless_range_loop)]
#[differentiate]
fn log_sum_exp(xs: &[f64]) -> f64 {
    let mut acc = xs[0];
    for i in 1..xs.len() {
        acc = log_add_exp(acc, xs[i]);
    }
    acc
}

#[test]
fn a_two_parameter_rule_folded_over_a_loop() {
    let mut rng = Rng::for_test("log_sum_exp");
    for len in [1, 2, 6] {
        for _ in 0..POINTS {
            let xs = uniform_point(&mut rng, len, -4.0, 4.0);
            let (value, gradient) = log_sum_exp_grad(&xs);
            assert_value(value, log_sum_exp(&xs));
            // The gradient of log-sum-exp is the softmax.
            let z: f64 = xs.iter().map(|x| x.exp()).sum();
            assert_close(value, z.ln(), 1e-14);
            assert_all_close(
                &gradient,
                &xs.iter().map(|x| x.exp() / z).collect::<Vec<_>>(),
                EXACT_TOLERANCE,
            );
            check_fd(log_sum_exp, &xs, &gradient);
        }
    }
}

/// Rules called in both branches of an `if` inside a loop, and on a value
/// carried through the loop.
#[differentiate]
fn rules_in_branches(xs: &[f64], a: f64) -> f64 {
    let mut s = a;
    for &x in xs {
        if x > 0.0 {
            s = erf(x * s) + 0.5 * s;
        } else {
            s += softplus(x) * power(s, 2) * 0.1;
        }
    }
    s
}

#[test]
fn rules_called_inside_a_branch_inside_a_loop() {
    let mut rng = Rng::for_test("rules_in_branches");
    for len in [1, 2, 5] {
        for _ in 0..POINTS {
            let mut point: Vec<f64> = (0..len).map(|_| rng.signed(0.05, 1.5)).collect();
            point.push(rng.uniform(-1.0, 1.0));
            let (xs, a) = (&point[..len], point[len]);
            let (value, dxs, da) = rules_in_branches_grad(xs, a);
            assert_value(value, rules_in_branches(xs, a));
            let gradient = [dxs, vec![da]].concat();
            check_fd(|p| rules_in_branches(&p[..len], p[len]), &point, &gradient);
            // Forward mode by hand: s and ∂s/∂(xs, a).
            let mut s = a;
            let mut ds = vec![0.0; len + 1];
            ds[len] = 1.0;
            for (i, &x) in xs.iter().enumerate() {
                if x > 0.0 {
                    let slope = 2.0 / PI.sqrt() * (-(x * s) * (x * s)).exp();
                    for d in &mut ds {
                        *d *= slope * x + 0.5;
                    }
                    ds[i] += slope * s;
                    s = erf(x * s) + 0.5 * s;
                } else {
                    let factor = 1.0 + softplus(x) * 0.2 * s;
                    for d in &mut ds {
                        *d *= factor;
                    }
                    ds[i] += softplus_gradient(x) * s * s * 0.1;
                    s += softplus(x) * s * s * 0.1;
                }
            }
            assert_all_close(&gradient, &ds, 1e-11);
        }
    }
}

/// The norm of x − x shifted by `shift` / 2, through the slice rule on a
/// local buffer.
#[differentiate]
fn shifted_norm(xs: &[f64], shift: usize) -> f64 {
    let n = xs.len();
    let mut v = vec![0.0; n];
    for i in 0..n {
        v[i] = xs[i] - xs[(i + shift) % n] * 0.5;
    }
    stable_norm(&v)
}

/// The slice rule called inside a loop, directly on the parameter and
/// through `shifted_norm` on a buffer built for each shift. (A buffer built
/// inside the loop itself is rejected: see the ignored test
/// `a_buffer_declared_inside_a_loop_and_used_whole` in `buffers.rs`.)
#[differentiate]
fn norms_of_shifts(xs: &[f64], k: usize) -> f64 {
    let mut total = 0.0;
    for shift in 0..k {
        total += shifted_norm(xs, shift) + stable_norm(xs) * shift as f64;
    }
    total
}

#[test]
fn a_slice_rule_called_inside_a_loop() {
    let mut rng = Rng::for_test("norms_of_shifts");
    for (len, k) in [(1, 1), (3, 2), (5, 4)] {
        for _ in 0..POINTS {
            let xs = uniform_point(&mut rng, len, -2.0, 2.0);
            let (value, gradient) = norms_of_shifts_grad(&xs, k);
            assert_value(value, norms_of_shifts(&xs, k));
            assert_eq!(gradient.len(), len);
            check_fd(|p| norms_of_shifts(p, k), &xs, &gradient);
        }
    }
    // The generated functions agree with each other.
    let g = common::Generated {
        name: "norms_of_shifts",
        primal: &|p: &[f64]| norms_of_shifts(p, 3),
        grad: &|p: &[f64]| norms_of_shifts_grad(p, 3),
        vjp: &|p: &[f64], seed: f64| norms_of_shifts_vjp(p, 3, seed),
        pullback: &|p: &[f64], seed: f64| {
            let (value, pullback) = norms_of_shifts_pullback(p, 3);
            let (gradient, ()) = pullback(&seed, (p, 3));
            (value, gradient)
        },
    };
    check_sampled(&g, &mut rng, |r| uniform_point(r, 4, -2.0, 2.0));
}

/// Rules with reference and array parameters called in a loop, on an
/// element reference and on an array literal that reads the carried value.
#[allow(clippy::needless_range_loop)]
#[differentiate]
fn rules_on_elements_and_arrays(xs: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..xs.len() {
        let pair = [xs[i], s + 1.0];
        s += cube(&xs[i]) + pair_product(pair);
    }
    s
}

#[test]
fn reference_and_array_rules_called_inside_a_loop() {
    let g = common::Generated {
        name: "rules_on_elements_and_arrays",
        primal: &|p: &[f64]| rules_on_elements_and_arrays(p),
        grad: &|p: &[f64]| rules_on_elements_and_arrays_grad(p),
        vjp: &|p: &[f64], seed: f64| rules_on_elements_and_arrays_vjp(p, seed),
        pullback: &|p: &[f64], seed: f64| {
            let (value, pullback) = rules_on_elements_and_arrays_pullback(p);
            let (gradient,) = pullback(&seed, (p,));
            (value, gradient)
        },
    };
    let mut rng = Rng::for_test("rules_on_elements_and_arrays");
    for len in [1, 2, 5] {
        common::check_sampled_exact(
            &g,
            &mut rng,
            |r| uniform_point(r, len, -1.5, 1.5),
            |p| {
                // s ← s + x³ + x(s + 1): forward mode by hand.
                let mut s = 0.0;
                let mut ds = vec![0.0; p.len()];
                for (i, &x) in p.iter().enumerate() {
                    for d in &mut ds {
                        *d *= 1.0 + x;
                    }
                    ds[i] += 3.0 * x * x + s + 1.0;
                    s += x * x * x + x * (s + 1.0);
                }
                ds
            },
        );
    }
}

/// A rule called 10 000 times in a loop: each call's pullback is kept.
#[differentiate]
fn sum_of_erf(xs: &[f64]) -> f64 {
    let mut s = 0.0;
    for &x in xs {
        s += erf(x);
    }
    s
}

#[test]
fn a_rule_called_in_a_long_loop() {
    let mut rng = Rng::for_test("sum_of_erf");
    let xs = uniform_point(&mut rng, 10_000, -2.0, 2.0);
    let (value, gradient) = sum_of_erf_grad(&xs);
    assert_value(value, sum_of_erf(&xs));
    let expected: Vec<f64> = xs.iter().map(|&x| erf_derivative(x, 1.0)).collect();
    assert_identical(&gradient, &expected);
}

// ----- the callee runs once per call ------------------------------------------------------------

thread_local! {
    /// How many times `counted_square` and its rule ran on this thread.
    static CALLS: std::cell::Cell<(usize, usize)> = const { std::cell::Cell::new((0, 0)) };
}

fn count(primal: usize, rule: usize) {
    CALLS.with(|calls| {
        let (p, r) = calls.get();
        calls.set((p + primal, r + rule));
    });
}

fn take_counts() -> (usize, usize) {
    CALLS.with(|calls| calls.replace((0, 0)))
}

fn counted_square_derivative(x: f64, seed: f64) -> f64 {
    count(0, 1);
    seed * 2.0 * x
}

/// x², counting its calls.
#[differentiate(rule = counted_square_derivative)]
fn counted_square(x: f64) -> f64 {
    count(1, 0);
    x * x
}

/// Σ xᵢ² over the elements, and the positive ones once more inside a branch.
#[differentiate]
fn sum_counted(xs: &[f64]) -> f64 {
    let mut s = 0.0;
    for &x in xs {
        s += counted_square(x);
        if x > 0.0 {
            s += counted_square(x * 0.5);
        }
    }
    s
}

#[test]
fn a_callee_in_a_loop_runs_once_per_iteration_and_its_rule_once_in_the_sweep() {
    let xs = [0.5, -1.0, 2.0, -0.25, 1.5, 3.0, -2.0];
    let positive = xs.iter().filter(|&&x| x > 0.0).count();
    let calls = xs.len() + positive;
    take_counts();
    let (value, pullback) = sum_counted_pullback(&xs);
    assert_eq!(
        take_counts(),
        (calls, 0),
        "the forward pass calls the callee once per call site and iteration"
    );
    let (gradient,) = pullback(&1.0, (&xs,));
    assert_eq!(
        take_counts(),
        (0, calls),
        "the adjoint sweep calls only the rule, once per call"
    );
    let expected: Vec<f64> = xs.iter().map(|&x| if x > 0.0 { 2.5 * x } else { 2.0 * x }).collect();
    assert_identical(&gradient, &expected);
    assert_value(value, sum_counted(&xs));
    take_counts();
    let (_, grad) = sum_counted_grad(&xs);
    assert_eq!(take_counts(), (calls, calls));
    assert_identical(&grad, &gradient);
}

// ----- functions that return an integer -------------------------------------------

/// The index of the largest element (the first of equals).
fn argmax(xs: &[f64]) -> usize {
    let mut best = 0;
    for i in 1..xs.len() {
        if xs[i] > xs[best] {
            best = i;
        }
    }
    best
}

/// The squared top logit above the mean: the index is chosen on primal
/// values, and only the element it picks carries the square's derivative.
#[differentiate(forward, hessian)]
fn top_logit_margin(logits: &[f64]) -> f64 {
    let k: usize = argmax(logits);
    logits[k] * logits[k] - logits.iter().sum::<f64>() / logits.len() as f64
}

#[test]
fn an_integer_stated_by_the_let_is_kept_as_the_call_gives_it() {
    let mut rng = Rng::for_test("top_logit_margin");
    for _ in 0..POINTS {
        let logits: Vec<f64> = (0..5).map(|_| rng.uniform(-2.0, 2.0)).collect();
        let (value, gradient) = top_logit_margin_grad(&logits);
        assert_value(value, top_logit_margin(&logits));
        let k = argmax(&logits);
        let expected: Vec<f64> = (0..5)
            .map(|i| if i == k { 2.0 * logits[k] } else { 0.0 } - 0.2)
            .collect();
        assert_all_close(&gradient, &expected, EXACT_TOLERANCE);
        check_fd(top_logit_margin, &logits, &gradient);

        let direction: Vec<f64> = (0..5).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let (_, tangent) = top_logit_margin_jvp(&logits, &direction);
        let along: f64 = expected.iter().zip(&direction).map(|(g, d)| g * d).sum();
        assert_close(tangent, along, EXACT_TOLERANCE);
        let (_, hessian) = top_logit_margin_hessian(&logits);
        for i in 0..5 {
            for j in 0..5 {
                let entry = if i == k && j == k { 2.0 } else { 0.0 };
                assert_eq!(hessian[(i, j)], entry, "H[{i}, {j}]");
            }
        }
    }
}
