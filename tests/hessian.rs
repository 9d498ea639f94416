//! Second derivatives (`#[differentiate(hessian)]` → `f_hessian`, `f_hvp`):
//! each Hessian is checked against central differences of the generated
//! gradient, for symmetry, and against `f_hvp` at random directions; closed
//! forms (`∇²(xᵀAx) = A + Aᵀ`, `∇²‖X‖_F² = 2I`) are checked exactly.

mod common;

use chainrule::fd;
use chainrule::prelude::*;
use common::{POINTS, Rng, assert_value};

/// Asserts that `hessian` matches central differences of `gradient` at
/// `point` (relative to the largest entry) and is symmetric.
#[track_caller]
fn check_hessian(gradient: impl Fn(&[f64]) -> Vec<f64>, point: &[f64], hessian: &Mat<f64>) {
    let numeric = fd::central_jacobian(gradient, point);
    let n = point.len();
    assert_eq!((hessian.nrows(), hessian.ncols()), (n, n));
    let scale = (0..n)
        .flat_map(|i| (0..n).map(move |j| (i, j)))
        .fold(1e-300_f64, |max, (i, j)| max.max(numeric[(i, j)].abs()));
    for i in 0..n {
        for j in 0..n {
            let error = (hessian[(i, j)] - numeric[(i, j)]).abs() / scale;
            assert!(
                error < 1e-6,
                "H[{i}, {j}] = {:e}, central differences of the gradient give {:e}, at {point:?}",
                hessian[(i, j)],
                numeric[(i, j)]
            );
            assert!(
                (hessian[(i, j)] - hessian[(j, i)]).abs() <= 1e-12 * scale,
                "the Hessian is not symmetric at ({i}, {j})"
            );
        }
    }
}

/// Asserts that `product` is `hessian · direction`.
#[track_caller]
fn check_product(hessian: &Mat<f64>, direction: &[f64], product: &[f64]) {
    let scale = product.iter().fold(1e-300_f64, |max, value| max.max(value.abs()));
    for (i, value) in product.iter().enumerate() {
        let expected: f64 = direction.iter().enumerate().map(|(j, d)| hessian[(i, j)] * d).sum();
        assert!(
            (value - expected).abs() <= 1e-10 * scale.max(expected.abs()),
            "(Hv)[{i}] = {value:e}, H·v gives {expected:e}"
        );
    }
}

#[differentiate(hessian)]
fn rosenbrock(x: f64, y: f64) -> f64 {
    (1.0 - x).powi(2) + 100.0 * (y - x * x).powi(2)
}

#[test]
fn the_hessian_of_rosenbrock_is_its_closed_form() {
    let mut rng = Rng::for_test("rosenbrock");
    for _ in 0..POINTS {
        let (x, y) = (rng.signed(0.1, 2.0), rng.signed(0.1, 2.0));
        let (value, hessian) = rosenbrock_hessian(x, y);
        assert_value(value, rosenbrock(x, y));
        let expected = [
            [2.0 - 400.0 * (y - x * x) + 800.0 * x * x, -400.0 * x],
            [-400.0 * x, 200.0],
        ];
        for i in 0..2 {
            for j in 0..2 {
                let error = (hessian[(i, j)] - expected[i][j]).abs() / expected[i][j].abs().max(1.0);
                assert!(error < 1e-12, "H[{i}, {j}] = {} vs {}", hessian[(i, j)], expected[i][j]);
            }
        }
        let (dx, dy) = (rng.seed(), rng.seed());
        let (value, hx, hy) = rosenbrock_hvp(x, y, dx, dy);
        assert_value(value, rosenbrock(x, y));
        check_product(&hessian, &[dx, dy], &[hx, hy]);
    }
}

#[differentiate(hessian)]
fn with_control_flow(x: f64, y: f64, n: usize) -> f64 {
    let mut s = 0.0;
    for i in 0..n {
        s += (x * i as f64).cos() * y + (x * y).exp() / (i as f64 + 1.0);
        if s > 50.0 {
            break;
        }
    }
    if x > 0.0 {
        s * x.powi(3) + y.ln()
    } else {
        s + y.powf(2.5) * x.sin()
    }
}

#[test]
fn loops_and_branches_have_second_derivatives() {
    let mut rng = Rng::for_test("with_control_flow");
    for n in [0, 1, 4, 9] {
        for _ in 0..POINTS {
            let point = [rng.signed(0.1, 1.5), rng.uniform(0.2, 1.5)];
            let (value, hessian) = with_control_flow_hessian(point[0], point[1], n);
            assert_value(value, with_control_flow(point[0], point[1], n));
            let gradient = |p: &[f64]| {
                let (_, gx, gy) = with_control_flow_grad(p[0], p[1], n);
                vec![gx, gy]
            };
            check_hessian(gradient, &point, &hessian);
            let direction = [rng.seed(), rng.seed()];
            let (_, hx, hy) = with_control_flow_hvp(point[0], point[1], n, direction[0], direction[1]);
            check_product(&hessian, &direction, &[hx, hy]);
        }
    }
}

#[differentiate(hessian, wrt(x))]
fn quadratic_form(x: &Col<f64>, a: &Mat<f64>) -> f64 {
    x.transpose() * (a * x)
}

#[test]
fn the_hessian_of_a_quadratic_form_is_a_plus_a_transpose() {
    let mut rng = Rng::for_test("quadratic_form");
    let n = 4;
    for _ in 0..POINTS {
        let x = Col::from_fn(n, |_| rng.signed(0.1, 2.0));
        let a = Mat::from_fn(n, n, |_, _| rng.signed(0.1, 2.0));
        let (value, hessian) = quadratic_form_hessian(&x, &a);
        assert_value(value, quadratic_form(&x, &a));
        let expected = &a + a.transpose();
        for i in 0..n {
            for j in 0..n {
                assert!((hessian[(i, j)] - expected[(i, j)]).abs() < 1e-12);
            }
        }
        let v = Col::from_fn(n, |_| rng.seed());
        let (_, product) = quadratic_form_hvp(&x, &a, &v);
        check_product(&hessian, &fd::to_vec(&v), &fd::to_vec(&product));
    }
}

/// Σ (AᵀA ∘ C): the adjoint of AᵀA takes one product (`gram_of_columns_pb`),
/// which the Hessian differentiates again.
#[differentiate(hessian, wrt(a))]
fn weighted_gram(a: &Mat<f64>, c: &Mat<f64>) -> f64 {
    let g = a.transpose() * a;
    sum(hadamard(&g, c))
}

#[test]
fn the_hessian_of_a_weighted_gram_matrix() {
    // ∇ = A(C + Cᵀ), so the Hessian times V is V(C + Cᵀ).
    let mut rng = Rng::for_test("weighted_gram");
    let (m, n) = (3, 2);
    for _ in 0..POINTS {
        let a = Mat::from_fn(m, n, |_, _| rng.signed(0.1, 2.0));
        let c = Mat::from_fn(n, n, |_, _| rng.signed(0.1, 2.0));
        let (value, hessian) = weighted_gram_hessian(&a, &c);
        assert_value(value, weighted_gram(&a, &c));
        let v = Mat::from_fn(m, n, |_, _| rng.seed());
        let (_, product) = weighted_gram_hvp(&a, &c, &v);
        let expected = &v * (&c + c.transpose());
        for i in 0..m {
            for j in 0..n {
                assert!((product[(i, j)] - expected[(i, j)]).abs() < 1e-12 * (1.0 + expected[(i, j)].abs()));
            }
        }
        check_product(&hessian, &fd::to_vec(&v), &fd::to_vec(&product));
    }
}

#[differentiate(hessian)]
fn frobenius(m: &Mat<f64>) -> f64 {
    m.squared_norm_l2()
}

#[test]
fn the_hessian_of_the_squared_frobenius_norm_is_twice_the_identity() {
    let m = Mat::from_fn(2, 3, |i, j| (i + 2 * j) as f64 - 1.5);
    let (value, hessian) = frobenius_hessian(&m);
    assert_value(value, frobenius(&m));
    assert_eq!(hessian, Mat::<f64>::identity(6, 6) * 2.0);
}

#[differentiate(hessian, wrt(w))]
fn logistic_loss(w: &Col<f64>, x: &Mat<f64>, y: &Col<f64>) -> f64 {
    let z = x * w;
    let p = sigmoid(&z);
    let ones = add_scalar(hadamard(&p, &p) * 0.0, 1.0);
    let loss = -(dot(y, &ln(&p)) + dot(&(&ones - y), &ln(&(&ones - &p))));
    loss + 0.5 * w.squared_norm_l2()
}

#[test]
fn the_hessian_of_a_logistic_loss_matches_central_differences() {
    let mut rng = Rng::for_test("logistic_loss");
    let (rows, cols) = (6, 3);
    for _ in 0..POINTS {
        let x = Mat::from_fn(rows, cols, |_, _| rng.signed(0.1, 1.5));
        let y = Col::from_fn(rows, |_| if rng.unit() < 0.5 { 0.0 } else { 1.0 });
        let point: Vec<f64> = (0..cols).map(|_| rng.signed(0.1, 1.0)).collect();
        let w = Col::from_fn(cols, |i| point[i]);
        let (value, hessian) = logistic_loss_hessian(&w, &x, &y);
        assert_value(value, logistic_loss(&w, &x, &y));
        let gradient = |p: &[f64]| {
            let (_, g) = logistic_loss_grad(&Col::from_fn(cols, |i| p[i]), &x, &y);
            fd::to_vec(&g)
        };
        check_hessian(gradient, &point, &hessian);
    }
}

#[differentiate(hessian)]
fn chain_energy(xs: &[f64], stiffness: f64) -> f64 {
    let mut energy = 0.0;
    for i in 1..xs.len() {
        let stretch = xs[i] - xs[i - 1] - 1.0;
        energy += stiffness * stretch * stretch + (xs[i] * xs[i - 1]).sin();
    }
    energy
}

#[test]
fn slices_and_scalars_are_flattened_in_parameter_order() {
    let mut rng = Rng::for_test("chain_energy");
    for _ in 0..POINTS {
        let point: Vec<f64> = (0..5).map(|_| rng.signed(0.1, 2.0)).collect();
        let (value, hessian) = chain_energy_hessian(&point[..4], point[4]);
        assert_value(value, chain_energy(&point[..4], point[4]));
        let gradient = |p: &[f64]| {
            let (_, gxs, gk) = chain_energy_grad(&p[..4], p[4]);
            gxs.into_iter().chain([gk]).collect()
        };
        check_hessian(gradient, &point, &hessian);
    }
}

#[differentiate(hessian)]
fn norm_plus_square(x: &Col<f64>, y: f64, z: f64) -> f64 {
    x.norm_l2() + y.hypot(z) * 0.0 + y * y + z.hypot(0.0) * z
}

#[test]
fn second_derivatives_at_the_kink_of_a_norm_stay_finite() {
    // At x = 0 the norm's derivative is 0 by convention; the Hessian's rows
    // for x must not turn the guarded 0/0 into NaN, and y's row is exact.
    let x = Col::<f64>::zeros(2);
    let (_, hessian) = norm_plus_square_hessian(&x, 1.0, 0.5);
    for i in 0..4 {
        for j in 0..4 {
            assert!(hessian[(i, j)].is_finite(), "H[{i}, {j}] = {}", hessian[(i, j)]);
        }
    }
    assert_eq!(hessian[(2, 2)], 2.0);
    let (_, hx, hy, _) = norm_plus_square_hvp(&x, 1.0, 0.5, &Col::zeros(2), 1.0, 0.0);
    assert_eq!((hx, hy), (Col::zeros(2), 2.0));
}

/// Functions whose inner value has zero slope at 0 but whose outer function
/// has a derivative that is infinite somewhere else (√ at 0, `asin` at ±1):
/// at 0 the tangent of the inner value is 0, and the Hessian is not.
#[differentiate(hessian)]
fn pseudo_huber(r: f64) -> f64 {
    (1.0 + r * r).sqrt() - 1.0
}

#[differentiate(hessian)]
fn smooth_distance(x: f64, y: f64) -> f64 {
    (x * x + y * y + 1.0).sqrt()
}

#[differentiate(hessian)]
fn stationary_roots(x: f64) -> f64 {
    (1.0 + x * x).powf(1.5) + (1.0 + x * x).cbrt() + (0.5 * x * x).asin() + (2.0 + x * x).acosh() + 2f64.powf(x * x)
}

#[differentiate(hessian)]
fn power_of_a_square(x: f64, b: f64) -> f64 {
    (1.0 + x * x).powf(b * b)
}

#[differentiate(hessian)]
fn smooth_norm(w: &Col<f64>) -> f64 {
    (w.squared_norm_l2() + 1.0).sqrt()
}

#[test]
fn second_derivatives_where_an_inner_value_is_stationary() {
    let (value, hessian) = pseudo_huber_hessian(0.0);
    assert_eq!((value, hessian[(0, 0)]), (0.0, 1.0));
    assert_eq!(pseudo_huber_hvp(0.0, 1.0).1, 1.0);

    // ∇² √(x² + y² + 1) at the origin is I.
    let (_, hessian) = smooth_distance_hessian(0.0, 0.0);
    assert_eq!(hessian, Mat::<f64>::identity(2, 2));

    // (1 + x²)^1.5 → 3, ∛(1 + x²) → 2/3, asin(x²/2) → 1, acosh(2 + x²) → 2/√3,
    // 2^(x²) → 2 ln 2.
    let (_, hessian) = stationary_roots_hessian(0.0);
    let expected = 3.0 + 2.0 / 3.0 + 1.0 + 2.0 / 3.0_f64.sqrt() + 2.0 * 2.0_f64.ln();
    assert!(
        (hessian[(0, 0)] - expected).abs() < 1e-14,
        "{} ≠ {expected}",
        hessian[(0, 0)]
    );

    // (1 + x²)^(b²): ∂²/∂x² = 2b² at x = 0, and ∂²/∂b² = 0 there (1^(b²) = 1).
    for b in [0.5, 1.0, 2.0] {
        let (_, hessian) = power_of_a_square_hessian(0.0, b);
        assert!((hessian[(0, 0)] - 2.0 * b * b).abs() < 1e-14);
        assert_eq!((hessian[(0, 1)], hessian[(1, 0)], hessian[(1, 1)]), (0.0, 0.0, 0.0));
    }

    let (_, hessian) = smooth_norm_hessian(&Col::zeros(3));
    assert_eq!(hessian, Mat::<f64>::identity(3, 3));

    // And at random points, against central differences of the gradient.
    let mut rng = Rng::for_test("stationary_roots");
    for _ in 0..POINTS {
        let point = [rng.signed(0.01, 0.9), rng.signed(0.3, 1.5)];
        let (_, hessian) = stationary_roots_hessian(point[0]);
        check_hessian(|p| vec![stationary_roots_grad(p[0]).1], &point[..1], &hessian);
        let (_, hessian) = power_of_a_square_hessian(point[0], point[1]);
        check_hessian(
            |p| {
                let (_, dx, db) = power_of_a_square_grad(p[0], p[1]);
                vec![dx, db]
            },
            &point,
            &hessian,
        );
        let (_, hessian) = smooth_distance_hessian(point[0], point[1]);
        check_hessian(
            |p| {
                let (_, dx, dy) = smooth_distance_grad(p[0], p[1]);
                vec![dx, dy]
            },
            &point,
            &hessian,
        );
    }
}

#[differentiate(hessian)]
fn power(x: f64, y: f64) -> f64 {
    x.powf(y)
}

/// ∇²(xʸ) = [[y(y−1)xʸ⁻², xʸ⁻¹(1 + y ln x)], [·, xʸ ln²x]]: at y = 0 the
/// first derivative along x is 0 for every x, but its derivative along y,
/// the mixed partial 1/x, is not.
#[test]
fn the_mixed_partial_of_a_power_survives_a_zero_exponent() {
    let mut rng = Rng::for_test("power");
    for x in [0.5, 2.0, 3.7, rng.uniform(0.1, 4.0)] {
        let (value, hessian) = power_hessian(x, 0.0);
        assert_eq!(value, 1.0);
        let expected = [[0.0, 1.0 / x], [1.0 / x, x.ln() * x.ln()]];
        for (i, row) in expected.iter().enumerate() {
            for (j, entry) in row.iter().enumerate() {
                assert!(
                    (hessian[(i, j)] - entry).abs() <= 1e-14 * (1.0 + entry.abs()),
                    "H[{i}, {j}] = {} at x = {x}, y = 0, not {entry}",
                    hessian[(i, j)]
                );
            }
        }
        let (_, along_x, along_y) = power_hvp(x, 0.0, 1.0, 0.0);
        check_product(&hessian, &[1.0, 0.0], &[along_x, along_y]);
        check_hessian(
            |p| {
                let (_, dx, dy) = power_grad(p[0], p[1]);
                vec![dx, dy]
            },
            &[x, 0.0],
            &hessian,
        );
    }
}

// ----- through calls of other functions with `hessian` ------------------------

/// x³, a helper with a Hessian of its own.
#[differentiate(hessian)]
fn cube(x: f64) -> f64 {
    x * x * x
}

/// a · b over slices, called with differentiated and constant arguments.
#[differentiate(hessian)]
fn inner_product(a: &[f64], b: &[f64]) -> f64 {
    let mut total = 0.0;
    for i in 0..a.len() {
        total += a[i] * b[i];
    }
    total
}

/// softplus(n · w·x): a helper calling a helper, with an integer argument.
#[differentiate(hessian, wrt(w))]
fn scaled_softplus(w: &[f64], x: &[f64], n: usize) -> f64 {
    let z = inner_product(w, x) * n as f64;
    (1.0 + z.exp()).ln()
}

/// (xy)³ + sin(y³)·x: calls whose arguments carry derivatives along several
/// paths.
#[differentiate(hessian)]
fn through_scalar_calls(x: f64, y: f64) -> f64 {
    cube(x * y) + cube(y).sin() * x
}

/// Calls with constant arguments, with both arguments differentiated, in a
/// loop, and two levels deep.
#[differentiate(hessian, wrt(w))]
fn through_slice_calls(w: &[f64], x: &[f64]) -> f64 {
    let mut total = scaled_softplus(w, x, 2) + inner_product(w, w) * cube(w[0]);
    for i in 0..w.len() {
        total += cube(w[i] - x[i]);
    }
    total
}

/// xⁿ by recursion: the Hessian goes through its calls of itself.
#[differentiate(hessian)]
fn recursive_power(x: f64, n: usize) -> f64 {
    if n == 0 { 1.0 } else { x * recursive_power(x, n - 1) }
}

/// Two functions calling each other. `descend` is `recursive`: its pullback
/// is boxed, so that `ascend`'s, which holds it, has a type (without the
/// option rustc reports E0720, a recursive opaque type).
#[differentiate(recursive, hessian)]
fn descend(x: f64, n: usize) -> f64 {
    if n == 0 { x } else { ascend(x.sin(), n - 1) }
}

#[differentiate(hessian)]
fn ascend(x: f64, n: usize) -> f64 {
    if n == 0 { x * x } else { descend(2.0 * x, n - 1) + x }
}

#[test]
fn functions_calling_each_other_have_exact_first_and_second_derivatives() {
    let mut rng = Rng::for_test("descend");
    for n in 0..6 {
        for _ in 0..POINTS {
            let point = [rng.uniform(-1.5, 1.5)];
            let (value, dx) = descend_grad(point[0], n);
            assert_value(value, descend(point[0], n));
            fd::check_gradient(|p| descend(p[0], n), &point, &[dx]).assert_within(common::FD_TOLERANCE);
            let (_, dx) = ascend_grad(point[0], n);
            fd::check_gradient(|p| ascend(p[0], n), &point, &[dx]).assert_within(common::FD_TOLERANCE);
            let (value, hessian) = descend_hessian(point[0], n);
            assert_value(value, descend(point[0], n));
            check_hessian(|p| vec![descend_grad(p[0], n).1], &point, &hessian);
            let (_, hessian) = ascend_hessian(point[0], n);
            check_hessian(|p| vec![ascend_grad(p[0], n).1], &point, &hessian);
        }
    }
}

#[test]
fn hessians_go_through_calls_of_functions_with_hessian() {
    for x in [-1.3, 0.4, 2.0] {
        let (value, hessian) = recursive_power_hessian(x, 4);
        assert_value(value, recursive_power(x, 4));
        let expected = 12.0 * x * x;
        assert!((hessian[(0, 0)] - expected).abs() <= 1e-12 * expected);
    }
    let mut rng = Rng::for_test("through_scalar_calls");
    for _ in 0..POINTS {
        let point = [rng.uniform(-1.5, 1.5), rng.uniform(-1.5, 1.5)];
        let (value, hessian) = through_scalar_calls_hessian(point[0], point[1]);
        assert_value(value, through_scalar_calls(point[0], point[1]));
        let gradient = |p: &[f64]| {
            let (_, dx, dy) = through_scalar_calls_grad(p[0], p[1]);
            vec![dx, dy]
        };
        check_hessian(gradient, &point, &hessian);
        let (x, y) = (point[0], point[1]);
        // ∂²/∂x² of (xy)³ + x·sin(y³) is 6xy³.
        let expected = 6.0 * x * y.powi(3);
        assert!((hessian[(0, 0)] - expected).abs() <= 1e-12 * expected.abs().max(1.0));
    }
    let mut rng = Rng::for_test("through_slice_calls");
    for _ in 0..POINTS {
        let w: Vec<f64> = (0..3).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let x: Vec<f64> = (0..3).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let (value, hessian) = through_slice_calls_hessian(&w, &x);
        assert_value(value, through_slice_calls(&w, &x));
        check_hessian(|p: &[f64]| through_slice_calls_grad(p, &x).1, &w, &hessian);
        let direction: Vec<f64> = (0..3).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let (_, product) = through_slice_calls_hvp(&w, &x, &direction);
        check_product(&hessian, &direction, &product);
    }
}

/// Xw: a vector-valued callee, with `hessian` for its callers' sake.
#[differentiate(hessian, wrt(w))]
fn linear_predictions(w: &Col<f64>, x: &Mat<f64>) -> Col<f64> {
    x * w
}

/// tanh of each element, into a `Vec`.
#[differentiate(hessian)]
fn squashed(v: &[f64]) -> Vec<f64> {
    v.iter().map(|z| z.tanh()).collect()
}

/// The logistic loss Σ ln(1 + e^{−yᵢ(Xw)ᵢ}) through `linear_predictions`, plus
/// a product of `squashed` values: a Newton step's Hessian.
#[differentiate(hessian, wrt(w))]
fn logistic_loss_through_calls(w: &Col<f64>, x: &Mat<f64>, y: &Col<f64>) -> f64 {
    let predictions = linear_predictions(w, x);
    let mut total = 0.0;
    for i in 0..y.nrows() {
        total += (1.0 + (-y[i] * predictions[i]).exp()).ln();
    }
    let squashed_pair = squashed(&[w[0], w[1] * w[0]]);
    total + squashed_pair[0] * squashed_pair[1]
}

#[test]
fn hessians_go_through_calls_of_vector_valued_functions() {
    let mut rng = Rng::for_test("logistic_loss_through_calls");
    for _ in 0..POINTS {
        let x = Mat::from_fn(4, 2, |_, _| rng.uniform(-1.5, 1.5));
        let y = Col::from_fn(4, |i| if i % 2 == 0 { 1.0 } else { -1.0 });
        let w = [rng.uniform(-1.0, 1.0), rng.uniform(-1.0, 1.0)];
        let w_col = Col::from_fn(2, |i| w[i]);
        let (value, hessian) = logistic_loss_through_calls_hessian(&w_col, &x, &y);
        assert_value(value, logistic_loss_through_calls(&w_col, &x, &y));
        let gradient = |p: &[f64]| {
            let (_, g) = logistic_loss_through_calls_grad(&Col::from_fn(2, |i| p[i]), &x, &y);
            vec![g[0], g[1]]
        };
        check_hessian(gradient, &w, &hessian);
        let direction = [rng.uniform(-1.0, 1.0), rng.uniform(-1.0, 1.0)];
        let (_, product) = logistic_loss_through_calls_hvp(&w_col, &x, &y, &Col::from_fn(2, |i| direction[i]));
        check_product(&hessian, &direction, &[product[0], product[1]]);
    }
}
