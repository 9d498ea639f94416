//! Forward mode (`#[differentiate(forward)]` → `f_jvp`, `f_pushforward`):
//! every tangent is checked against central differences along the same
//! direction, and against reverse mode by the dot-product test
//! `f_jvp(x, v) = ⟨∇f(x), v⟩`, at several random points and directions.

mod common;

use chainrule::fd;
use chainrule::prelude::*;
use common::{POINTS, Rng, assert_value, relative_error_with_floor};

/// Checks a tangent against central differences of `primal` along `direction`
/// and against `⟨gradient, direction⟩`.
#[track_caller]
fn check_tangent(primal: impl Fn(&[f64]) -> f64, point: &[f64], direction: &[f64], tangent: f64, gradient: &[f64]) {
    let numeric = fd::central_gradient(&primal, point);
    let along: f64 = numeric.iter().zip(direction).map(|(n, v)| n * v).sum();
    let scale: f64 = numeric.iter().zip(direction).map(|(n, v)| (n * v).abs()).sum();
    let error = relative_error_with_floor(tangent, along, 1e-6 * scale.max(1e-300));
    assert!(
        error < 1e-6,
        "tangent {tangent:e} vs central differences {along:e} at {point:?} along {direction:?}"
    );
    let exact: f64 = gradient.iter().zip(direction).map(|(g, v)| g * v).sum();
    let error = relative_error_with_floor(tangent, exact, 1e-12 * scale.max(1e-300));
    assert!(
        error < 1e-10,
        "tangent {tangent:e} vs reverse mode {exact:e} at {point:?} along {direction:?}"
    );
}

/// Draws points in `domain` and random directions, and checks `jvp` there.
fn check_scalar_function(
    name: &str,
    domain: &[(f64, f64)],
    primal: impl Fn(&[f64]) -> f64,
    jvp: impl Fn(&[f64], &[f64]) -> (f64, f64),
    gradient: impl Fn(&[f64]) -> Vec<f64>,
) {
    let mut rng = Rng::for_test(name);
    for _ in 0..POINTS {
        let point = rng.point(domain);
        let direction: Vec<f64> = domain.iter().map(|_| rng.signed(0.25, 2.0)).collect();
        let (value, tangent) = jvp(&point, &direction);
        assert_value(value, primal(&point));
        check_tangent(&primal, &point, &direction, tangent, &gradient(&point));
    }
}

#[differentiate(forward)]
fn polynomial(x: f64, y: f64) -> f64 {
    3.0 * x * x * y - y / x + (x - y) * -2.0
}

#[test]
fn sums_products_quotients_and_the_chain_rule() {
    check_scalar_function(
        "polynomial",
        &[(0.5, 2.0), (-2.0, 2.0)],
        |p| polynomial(p[0], p[1]),
        |p, v| polynomial_jvp(p[0], p[1], v[0], v[1]),
        |p| {
            let (_, gx, gy) = polynomial_grad(p[0], p[1]);
            vec![gx, gy]
        },
    );
}

#[test]
fn the_signature_is_primals_then_tangents() {
    // ∂/∂x (3x²y) = 6xy = 12 at (1, 2); ∂/∂y = 3x² = 3.
    let (value, tangent) = polynomial_jvp(1.0, 2.0, 1.0, 0.0);
    assert_value(value, polynomial(1.0, 2.0));
    assert!((tangent - (12.0 + 2.0 - 2.0)).abs() < 1e-12, "{tangent}");
    let (_, tangent) = polynomial_jvp(1.0, 2.0, 0.0, 1.0);
    assert!((tangent - (3.0 - 1.0 + 2.0)).abs() < 1e-12, "{tangent}");
}

#[differentiate(forward)]
fn exponentials_and_logarithms(x: f64, y: f64) -> f64 {
    x.exp() + x.exp2() * 0.5 + y.exp_m1() + x.ln() * y + y.log(x + 2.0) + x.log2() - x.log10() * y + y.ln_1p()
}

#[test]
fn exponentials_and_logarithms_match_central_differences() {
    check_scalar_function(
        "exponentials_and_logarithms",
        &[(0.3, 2.0), (0.2, 1.5)],
        |p| exponentials_and_logarithms(p[0], p[1]),
        |p, v| exponentials_and_logarithms_jvp(p[0], p[1], v[0], v[1]),
        |p| {
            let (_, gx, gy) = exponentials_and_logarithms_grad(p[0], p[1]);
            vec![gx, gy]
        },
    );
}

/// Unsuffixed literals as the other operand (`x.log(2.5)`, `f64::powf(2.0, y)`):
/// the tangents call `ln` on them, which needs their type spelled out.
#[differentiate(forward, hessian)]
fn literal_bases_and_exponents(x: f64, y: f64) -> f64 {
    x.log(2.5) + f64::powf(2.0, y) + f64::log(x * y, 10.0) + (2.0 * x).log(3.0) + 1.5_f64.powf(x * y)
}

#[test]
fn literal_bases_and_exponents_match_central_differences() {
    check_scalar_function(
        "literal_bases_and_exponents",
        &[(0.3, 2.0), (0.2, 1.5)],
        |p| literal_bases_and_exponents(p[0], p[1]),
        |p, v| literal_bases_and_exponents_jvp(p[0], p[1], v[0], v[1]),
        |p| {
            let (_, gx, gy) = literal_bases_and_exponents_grad(p[0], p[1]);
            vec![gx, gy]
        },
    );
    let mut rng = Rng::for_test("literal_bases_and_exponents_hessian");
    for _ in 0..POINTS {
        let point = rng.point(&[(0.3, 2.0), (0.2, 1.5)]);
        let (value, hessian) = literal_bases_and_exponents_hessian(point[0], point[1]);
        assert_value(value, literal_bases_and_exponents(point[0], point[1]));
        let numeric = fd::central_jacobian(
            |p| {
                let (_, gx, gy) = literal_bases_and_exponents_grad(p[0], p[1]);
                vec![gx, gy]
            },
            &point,
        );
        for i in 0..2 {
            for j in 0..2 {
                let error = relative_error_with_floor(hessian[(i, j)], numeric[(i, j)], 1e-8);
                assert!(error < 1e-6, "H[{i}][{j}] = {} vs {}", hessian[(i, j)], numeric[(i, j)]);
            }
        }
    }
}

#[differentiate(forward)]
fn powers_and_roots(x: f64, y: f64, n: i32) -> f64 {
    x.powi(3) + y.powi(-2) + x.powi(n) + x.powf(y) + 2.5_f64.powf(y) + y.powf(1.5) + x.sqrt() * y.cbrt() + x.recip()
        - y.powi(0)
        + x.powi(1)
}

/// An exponent computed from integers by calls the macro cannot see into.
#[differentiate(forward, hessian)]
fn computed_power(x: f64, n: u32) -> f64 {
    let k = 2_i32.pow(n) - 1;
    x.powi(k) + x.powi(i32::max(k, 2))
}

#[test]
fn computed_integer_exponents_match_central_differences() {
    for n in [0, 1, 2] {
        check_scalar_function(
            &format!("computed_power {n}"),
            &[(0.3, 2.0)],
            |p| computed_power(p[0], n),
            |p, v| computed_power_jvp(p[0], n, v[0]),
            |p| vec![computed_power_grad(p[0], n).1],
        );
        let (_, hessian) = computed_power_hessian(1.5, n);
        let k = 2_i32.pow(n) - 1;
        let second = |k: i32| f64::from(k * (k - 1)) * 1.5_f64.powi(k - 2);
        let expected = second(k) + second(k.max(2));
        assert!(
            (hessian[(0, 0)] - expected).abs() <= 1e-12 * expected.abs(),
            "{hessian:?} vs {expected}"
        );
    }
}

#[test]
fn powers_and_roots_match_central_differences() {
    for n in [0, 1, 2, -3] {
        check_scalar_function(
            &format!("powers_and_roots {n}"),
            &[(0.3, 2.0), (0.4, 1.8)],
            |p| powers_and_roots(p[0], p[1], n),
            |p, v| powers_and_roots_jvp(p[0], p[1], n, v[0], v[1]),
            |p| {
                let (_, gx, gy) = powers_and_roots_grad(p[0], p[1], n);
                vec![gx, gy]
            },
        );
    }
}

#[differentiate(forward)]
fn zeroth_powers(x: f64, n: i32) -> f64 {
    x.powi(n) + x.powi(0) + x.powf(0.0) + powi(x, n) + powi(x, 0)
}

#[test]
fn zeroth_powers_have_zero_tangent_at_zero() {
    // x⁰ = 1 everywhere, so its derivative is 0 at 0 too (not 0·0⁻¹ = NaN).
    assert_eq!(zeroth_powers_jvp(0.0, 0, 1.0), (5.0, 0.0));
    assert_eq!(zeroth_powers_jvp(0.0, 1, 1.0), (3.0, 2.0));
}

#[differentiate(forward)]
fn trigonometry(x: f64, y: f64) -> f64 {
    x.sin() * y.cos() + (x * 0.3).tan() + (x * 0.5).asin() - (y * 0.4).acos() + x.atan() * y + x.atan2(y)
}

#[test]
fn trigonometric_functions_match_central_differences() {
    check_scalar_function(
        "trigonometry",
        &[(-1.5, 1.5), (0.3, 2.0)],
        |p| trigonometry(p[0], p[1]),
        |p, v| trigonometry_jvp(p[0], p[1], v[0], v[1]),
        |p| {
            let (_, gx, gy) = trigonometry_grad(p[0], p[1]);
            vec![gx, gy]
        },
    );
}

#[differentiate(forward)]
fn hyperbolic(x: f64, y: f64) -> f64 {
    x.sinh() + x.cosh() * y + (x * y).tanh() + y.asinh() + (y + 1.5).acosh() + (x * 0.4).atanh() + x.hypot(y)
}

#[test]
fn hyperbolic_functions_match_central_differences() {
    check_scalar_function(
        "hyperbolic",
        &[(-1.5, 1.5), (0.3, 2.0)],
        |p| hyperbolic(p[0], p[1]),
        |p, v| hyperbolic_jvp(p[0], p[1], v[0], v[1]),
        |p| {
            let (_, gx, gy) = hyperbolic_grad(p[0], p[1]);
            vec![gx, gy]
        },
    );
}

#[differentiate(forward)]
fn kinks(x: f64, y: f64) -> f64 {
    x.abs() * y + x.max(y) - x.min(0.5 * y)
        + x.clamp(-0.5, y)
        + x.mul_add(y, x)
        + x.fract()
        + (x * 3.0).floor() * y
        + y.signum()
}

#[test]
fn kinks_take_the_derivative_of_the_side_taken() {
    check_scalar_function(
        "kinks",
        &[(-2.0, 2.0), (0.2, 1.7)],
        |p| kinks(p[0], p[1]),
        |p, v| kinks_jvp(p[0], p[1], v[0], v[1]),
        |p| {
            let (_, gx, gy) = kinks_grad(p[0], p[1]);
            vec![gx, gy]
        },
    );
    // |x|'(0) = 0, as in reverse mode.
    assert_eq!(kinks_jvp(0.0, 1.0, 1.0, 0.0).1, kinks_grad(0.0, 1.0).1);
}

#[differentiate(forward, wrt(x))]
fn only_x(x: f64, y: f64, scale: f64) -> f64 {
    (x * y).sin() * scale
}

#[test]
fn wrt_gives_one_tangent_per_differentiated_parameter() {
    let mut rng = Rng::for_test("only_x");
    for _ in 0..POINTS {
        let (x, y, scale, dx) = (
            rng.signed(0.1, 2.0),
            rng.signed(0.1, 2.0),
            rng.uniform(0.5, 2.0),
            rng.seed(),
        );
        let (value, tangent) = only_x_jvp(x, y, scale, dx);
        assert_value(value, only_x(x, y, scale));
        let expected = y * (x * y).cos() * scale * dx;
        assert!(relative_error_with_floor(tangent, expected, 1e-300) < 1e-12);
    }
}

#[differentiate(forward)]
fn control_flow(x: f64, y: f64, n: usize) -> f64 {
    let mut s = 0.0;
    let mut t = 1.0;
    for i in 0..n {
        if (i % 2 == 0) == (x > 0.0) {
            s += (x * i as f64).sin() * y;
        } else {
            t *= 1.0 + 0.1 * x;
            continue;
        }
        if s > 10.0 {
            break;
        }
    }
    let mut k = 0;
    while t < 3.0 {
        t *= 1.5 + y * y;
        k += 1;
        if k > 20 {
            return s;
        }
    }
    s * t
}

#[test]
fn loops_and_branches_carry_their_tangents() {
    for n in [0, 1, 5, 12] {
        check_scalar_function(
            &format!("control_flow {n}"),
            &[(-1.5, 1.5), (0.2, 1.5)],
            |p| control_flow(p[0], p[1], n),
            |p, v| control_flow_jvp(p[0], p[1], n, v[0], v[1]),
            |p| {
                let (_, gx, gy) = control_flow_grad(p[0], p[1], n);
                vec![gx, gy]
            },
        );
    }
}

#[differentiate(forward)]
fn buffers(xs: &[f64], y: f64) -> f64 {
    let n = xs.len();
    let mut v = vec![0.0; n];
    for i in 0..n {
        v[i] = xs[i] * y;
        if i > 0 {
            v[i] += v[i - 1] * xs[i];
        }
    }
    let pair = [y, v[n - 1] * y];
    let mut total = pair[0] * pair[1];
    for &x in xs {
        total += x.exp();
    }
    total
}

#[test]
fn buffers_and_slices_store_their_tangents() {
    let mut rng = Rng::for_test("buffers");
    for _ in 0..POINTS {
        let point: Vec<f64> = (0..5).map(|_| rng.signed(0.1, 1.2)).collect();
        let direction: Vec<f64> = (0..5).map(|_| rng.signed(0.25, 2.0)).collect();
        let primal = |p: &[f64]| buffers(&p[..4], p[4]);
        let (value, tangent) = buffers_jvp(&point[..4], point[4], &direction[..4], direction[4]);
        assert_value(value, primal(&point));
        let (_, gxs, gy) = buffers_grad(&point[..4], point[4]);
        let gradient: Vec<f64> = gxs.iter().copied().chain([gy]).collect();
        check_tangent(primal, &point, &direction, tangent, &gradient);
    }
}

#[differentiate(forward)]
fn least_squares(w: &Col<f64>, x: &Mat<f64>, y: &Col<f64>) -> f64 {
    let residual = x * w - y;
    residual.squared_norm_l2() + w.norm_l2() + (x.transpose() * &residual).sum() + x.squared_norm_l2() * 0.1
}

#[differentiate(forward, wrt(w, b))]
fn neuron(w: &Col<f64>, b: f64, x: &Col<f64>) -> f64 {
    let z = add_scalar(hadamard(w, x), b);
    let a = relu(&z) + sigmoid(&z) + tanh(&z) + exp(&z) * 0.1;
    let positive = ln(add_scalar(hadamard(&z, &z), 1.0)) + sqrt(add_scalar(powi(&z, 2), 1.0));
    sum(&a) + dot(&positive, x) + dot(w, w)
}

/// Flattens the parameters of a function of faer values into one vector.
fn flat(parts: &[&[f64]]) -> Vec<f64> {
    parts.iter().flat_map(|part| part.iter().copied()).collect()
}

#[test]
fn vectors_and_matrices_match_central_differences() {
    let mut rng = Rng::for_test("least_squares");
    let (rows, cols) = (4, 3);
    for _ in 0..POINTS {
        let point: Vec<f64> = (0..cols + rows * cols + rows).map(|_| rng.signed(0.1, 1.5)).collect();
        let direction: Vec<f64> = point.iter().map(|_| rng.signed(0.25, 2.0)).collect();
        let split = |p: &[f64]| {
            let w = Col::from_fn(cols, |i| p[i]);
            let x = Mat::from_fn(rows, cols, |i, j| p[cols + j * rows + i]);
            let y = Col::from_fn(rows, |i| p[cols + rows * cols + i]);
            (w, x, y)
        };
        let primal = |p: &[f64]| {
            let (w, x, y) = split(p);
            least_squares(&w, &x, &y)
        };
        let (w, x, y) = split(&point);
        let (dw, dx, dy) = split(&direction);
        let (value, tangent) = least_squares_jvp(&w, &x, &y, &dw, &dx, &dy);
        assert_value(value, primal(&point));
        let (_, gw, gx, gy) = least_squares_grad(&w, &x, &y);
        let gradient = flat(&[&fd::to_vec(&gw), &fd::to_vec(&gx), &fd::to_vec(&gy)]);
        check_tangent(primal, &point, &direction, tangent, &gradient);
    }
}

#[test]
fn element_wise_operations_match_central_differences() {
    let mut rng = Rng::for_test("neuron");
    let n = 5;
    for _ in 0..POINTS {
        let point: Vec<f64> = (0..n + 1).map(|_| rng.signed(0.1, 1.5)).collect();
        let direction: Vec<f64> = point.iter().map(|_| rng.signed(0.25, 2.0)).collect();
        let x = Col::from_fn(n, |i| 0.3 + 0.2 * i as f64);
        let primal = |p: &[f64]| neuron(&Col::from_fn(n, |i| p[i]), p[n], &x);
        let w = Col::from_fn(n, |i| point[i]);
        let dw = Col::from_fn(n, |i| direction[i]);
        let (value, tangent) = neuron_jvp(&w, point[n], &x, &dw, direction[n]);
        assert_value(value, primal(&point));
        let (_, gw, gb) = neuron_grad(&w, point[n], &x);
        let gradient = flat(&[&fd::to_vec(&gw), &[gb]]);
        check_tangent(primal, &point, &direction, tangent, &gradient);
    }
}

#[differentiate(forward, jacobian, wrt(x))]
fn layer(x: &Col<f64>, a: f64) -> Col<f64> {
    let scaled = x * a;
    tanh(&scaled) + x
}

#[test]
fn vector_outputs_push_forward_the_jacobian_times_the_direction() {
    let mut rng = Rng::for_test("layer");
    for _ in 0..POINTS {
        let x = Col::from_fn(4, |_| rng.signed(0.1, 1.5));
        let dx = Col::from_fn(4, |_| rng.signed(0.25, 2.0));
        let a = rng.uniform(0.5, 2.0);
        let (value, tangent) = layer_jvp(&x, a, &dx);
        assert_eq!(value, layer(&x, a));
        let (_, jacobian) = layer_jacobian(&x, a);
        let expected = &jacobian * &dx;
        for i in 0..4 {
            assert!(relative_error_with_floor(tangent[i], expected[i], 1e-12) < 1e-10);
        }
    }
}

#[differentiate(forward)]
fn inner(x: f64, y: &Col<f64>, scale: f64) -> f64 {
    (x * scale).sin() + y.squared_norm_l2() * x
}

#[differentiate(forward)]
fn outer(x: f64, y: &Col<f64>) -> f64 {
    let mut total = 0.0;
    for k in 0..3 {
        total += inner(x * k as f64, y, 2.0) * x;
    }
    total + inner(1.0, y, x)
}

#[test]
fn calls_of_forward_functions_push_forward_through_the_callee() {
    let mut rng = Rng::for_test("outer");
    for _ in 0..POINTS {
        let point: Vec<f64> = (0..4).map(|_| rng.signed(0.1, 1.5)).collect();
        let direction: Vec<f64> = point.iter().map(|_| rng.signed(0.25, 2.0)).collect();
        let primal = |p: &[f64]| outer(p[0], &Col::from_fn(3, |i| p[1 + i]));
        let y = Col::from_fn(3, |i| point[1 + i]);
        let dy = Col::from_fn(3, |i| direction[1 + i]);
        let (value, tangent) = outer_jvp(point[0], &y, direction[0], &dy);
        assert_value(value, primal(&point));
        let (_, gx, gy) = outer_grad(point[0], &y);
        let gradient = flat(&[&[gx], &fd::to_vec(&gy)]);
        check_tangent(primal, &point, &direction, tangent, &gradient);
    }
}

#[differentiate(forward)]
fn squared_map(a: &Mat<f64>, b: &Mat<f64>) -> Mat<f64> {
    a * b
}

#[differentiate(forward)]
fn as_row(a: &Mat<f64>, x: &Col<f64>) -> Row<f64> {
    (a * x).transpose().to_owned()
}

/// Owned matrices and rows returned by calls, used in products afterwards.
#[differentiate(forward)]
fn uses_owned_results(a: &Mat<f64>, x: &Col<f64>) -> f64 {
    let square = squared_map(a, a);
    let row = as_row(a, x);
    (&square * x).sum() + row * x + (&square * &square).sum()
}

#[test]
fn owned_results_of_calls_are_borrowed_by_later_products() {
    let mut rng = Rng::for_test("uses_owned_results");
    let n = 3;
    for _ in 0..POINTS {
        let point: Vec<f64> = (0..n * n + n).map(|_| rng.signed(0.1, 1.5)).collect();
        let direction: Vec<f64> = point.iter().map(|_| rng.signed(0.25, 2.0)).collect();
        let split = |p: &[f64]| {
            (
                Mat::from_fn(n, n, |i, j| p[j * n + i]),
                Col::from_fn(n, |i| p[n * n + i]),
            )
        };
        let primal = |p: &[f64]| {
            let (a, x) = split(p);
            uses_owned_results(&a, &x)
        };
        let ((a, x), (da, dx)) = (split(&point), split(&direction));
        let (value, tangent) = uses_owned_results_jvp(&a, &x, &da, &dx);
        assert_value(value, primal(&point));
        let (_, ga, gx) = uses_owned_results_grad(&a, &x);
        let gradient = flat(&[&fd::to_vec(&ga), &fd::to_vec(&gx)]);
        check_tangent(primal, &point, &direction, tangent, &gradient);
    }
}

#[test]
fn the_split_form_takes_none_for_a_zero_tangent() {
    let y = Col::from_fn(3, |i| i as f64 + 1.0);
    let (value, tangent) = inner_pushforward(0.5, &y, 2.0, Some(1.0), None, None);
    assert_value(value, inner(0.5, &y, 2.0));
    let expected = 2.0 * 1.0_f64.cos() + 14.0;
    assert!(relative_error_with_floor(tangent, expected, 1e-300) < 1e-12);
}

fn gauss_derivative(x: f64, width: f64, seed: f64) -> (f64, f64) {
    let value = (-x * x / width).exp();
    (seed * value * -2.0 * x / width, seed * value * x * x / (width * width))
}

/// A function the macro does not see into, with a reverse-mode rule: its
/// forward mode is the rule's gradient times the tangents.
#[differentiate(forward, rule = gauss_derivative)]
fn gauss(x: f64, width: f64) -> f64 {
    [x].iter().map(|x| (-x * x / width).exp()).sum()
}

#[differentiate(forward)]
fn uses_a_rule(x: f64, y: f64) -> f64 {
    gauss(x * y, 1.5 + y * y) * x
}

#[test]
fn functions_with_a_rule_push_forward_through_their_gradient() {
    check_scalar_function(
        "uses_a_rule",
        &[(-1.5, 1.5), (-1.0, 1.0)],
        |p| uses_a_rule(p[0], p[1]),
        |p, v| uses_a_rule_jvp(p[0], p[1], v[0], v[1]),
        |p| {
            let (_, gx, gy) = uses_a_rule_grad(p[0], p[1]);
            vec![gx, gy]
        },
    );
    let (value, tangent) = gauss_jvp(0.5, 2.0, 1.0, 0.0);
    assert_value(value, gauss(0.5, 2.0));
    assert!(relative_error_with_floor(tangent, gauss_derivative(0.5, 2.0, 1.0).0, 1e-300) < 1e-15);
}

#[differentiate(forward)]
fn written_column(x: &Col<f64>) -> f64 {
    let n = x.nrows();
    let mut v = Col::<f64>::zeros(n);
    for i in 0..n {
        v[i] = x[i] * x[(i + 1) % n];
    }
    v.squared_norm_l2()
}

#[test]
fn local_faer_buffers_written_by_element_carry_tangents() {
    let mut rng = Rng::for_test("written_column");
    for _ in 0..POINTS {
        let point: Vec<f64> = (0..4).map(|_| rng.signed(0.1, 1.5)).collect();
        let direction: Vec<f64> = point.iter().map(|_| rng.signed(0.25, 2.0)).collect();
        let primal = |p: &[f64]| written_column(&Col::from_fn(4, |i| p[i]));
        let x = Col::from_fn(4, |i| point[i]);
        let (value, tangent) = written_column_jvp(&x, &Col::from_fn(4, |i| direction[i]));
        assert_value(value, primal(&point));
        let (_, gradient) = written_column_grad(&x);
        check_tangent(primal, &point, &direction, tangent, &fd::to_vec(&gradient));
    }
}

/// A tangent of another size than its parameter is refused with a message
/// naming the function, the parameter and both shapes, not read out of
/// bounds or cut short.
#[test]
#[should_panic(
    expected = "the tangent of `xs` given to `buffers_jvp` (or the direction given to `buffers_hvp`) is 1×1 but `xs` \
                is 2×1"
)]
fn a_slice_tangent_shorter_than_its_parameter_is_refused() {
    let _ = buffers_jvp(&[1.0, 2.0], 0.5, &[1.0], 0.0);
}

#[test]
#[should_panic(
    expected = "the tangent of `w` given to `least_squares_jvp` (or the direction given to `least_squares_hvp`) is \
                3×1 but `w` is 2×1"
)]
fn a_column_tangent_longer_than_its_parameter_is_refused() {
    let (w, x, y) = (Col::zeros(2), Mat::zeros(4, 2), Col::zeros(4));
    let _ = least_squares_jvp(&w, &x, &y, &Col::zeros(3), &Mat::zeros(4, 2), &Col::zeros(4));
}

#[differentiate(hessian)]
fn squared_sum(xs: &[f64]) -> f64 {
    let s: f64 = xs.iter().sum();
    s * s
}

#[test]
#[should_panic(
    expected = "the tangent of `xs` given to `squared_sum_jvp` (or the direction given to `squared_sum_hvp`) is 3×1 \
                but `xs` is 2×1"
)]
fn a_direction_longer_than_its_parameter_is_refused() {
    let _ = squared_sum_hvp(&[1.0, 2.0], &[1.0, 0.0, 5.0]);
}
