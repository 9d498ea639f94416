//! Points where a function is finite but one of its partial derivatives is
//! infinite or undefined: √x and ∛x at 0, asin, acos at 1 and acosh at 1,
//! xʸ at x = 0 or x < 0. A derivative that does not go through that partial
//! (a direction that leaves x alone, a branch that does not use √x) is finite
//! there and must come out finite: neither ∞·0 nor NaN·0 may leak into it.
//! Each case was NaN before the rules skipped a term whose seed or tangent
//! is exactly zero.

mod common;

use chainrule::fd;
use chainrule::prelude::*;
use common::{EXACT_TOLERANCE, POINTS, Rng, assert_all_close, assert_value};

/// √(x² + y²) away from the origin, 0 within 10⁻¹² of it: the guard written
/// to keep the derivative finite.
#[differentiate]
fn guarded_norm(x: f64, y: f64) -> f64 {
    let r = (x * x + y * y).sqrt();
    if r > 1e-12 { r } else { 0.0 }
}

#[test]
fn a_branch_that_skips_a_square_root_has_the_derivative_of_the_other_branch() {
    assert_eq!(guarded_norm_grad(0.0, 0.0), (0.0, 0.0, 0.0));
    let mut rng = Rng::for_test("guarded_norm");
    for _ in 0..POINTS {
        let (x, y) = (rng.signed(0.1, 2.0), rng.signed(0.1, 2.0));
        let (value, dx, dy) = guarded_norm_grad(x, y);
        let r = x.hypot(y);
        assert_value(value, guarded_norm(x, y));
        assert_all_close(&[dx, dy], &[x / r, y / r], 1e-12);
        let numeric = fd::central_gradient(|p| guarded_norm(p[0], p[1]), &[x, y]);
        assert_all_close(&[dx, dy], &numeric, 1e-6);
    }
}

/// max(√x, y): at x = 0 < y, y is the maximum near the point, and √x, whose
/// adjoint is 0 there, must send x nothing.
#[differentiate]
fn root_or_floor(x: f64, y: f64) -> f64 {
    x.sqrt().max(y)
}

/// c·∛x + x: at c = 0, ∂/∂x = 1 (f is x along the x axis).
#[differentiate]
fn scaled_root(x: f64, c: f64) -> f64 {
    c * x.cbrt() + x
}

#[test]
fn a_root_whose_adjoint_is_zero_sends_nothing_back() {
    assert_eq!(root_or_floor_grad(0.0, 1.0), (1.0, 0.0, 1.0));
    assert_eq!(scaled_root_grad(0.0, 0.0), (0.0, 1.0, 0.0));
    let mut rng = Rng::for_test("root_or_floor");
    for _ in 0..POINTS {
        let (x, y) = (rng.uniform(0.1, 4.0), rng.uniform(0.0, 2.0));
        if (x.sqrt() - y).abs() < 1e-3 {
            continue;
        }
        let (_, dx, dy) = root_or_floor_grad(x, y);
        let numeric = fd::central_gradient(|p| root_or_floor(p[0], p[1]), &[x, y]);
        assert_all_close(&[dx, dy], &numeric, 1e-6);
        let (_, dx, dc) = scaled_root_grad(x, y);
        let numeric = fd::central_gradient(|p| scaled_root(p[0], p[1]), &[x, y]);
        assert_all_close(&[dx, dc], &numeric, 1e-6);
    }
}

/// √x and ∛x beside y: at x = 0 the derivative along y is 1.
#[differentiate(hessian)]
fn roots_beside(x: f64, y: f64) -> f64 {
    x.sqrt() + x.cbrt() + y
}

/// asin, acos and acosh at 1, beside y²: along y the derivative is 2y.
#[differentiate(forward)]
fn inverse_trigonometry_beside(x: f64, y: f64) -> f64 {
    x.asin() + x.acos() + x.acosh() + y * y
}

/// xʸ: defined for x < 0 at integer y, and at x = 0 for y > 0.
#[differentiate(forward)]
fn power(x: f64, y: f64) -> f64 {
    x.powf(y)
}

#[test]
fn a_direction_that_leaves_the_kink_alone_has_a_finite_tangent() {
    assert_eq!(roots_beside_jvp(0.0, 2.0, 0.0, 1.0), (2.0, 1.0));
    assert_eq!(roots_beside_hvp(0.0, 2.0, 0.0, 1.0), (2.0, 0.0, 0.0));
    assert_eq!(
        inverse_trigonometry_beside_jvp(1.0, 3.0, 0.0, 1.0),
        (std::f64::consts::FRAC_PI_2 + 9.0, 6.0)
    );
    // d/dx (−2)³ = 3·(−2)² = 12, although ∂/∂y = (−2)³·ln(−2) is undefined.
    assert_eq!(power_jvp(-2.0, 3.0, 1.0, 0.0), (-8.0, 12.0));
    // 0ʸ = 0 for every y > 0, although ∂/∂x = y·0^(y−1) is infinite for y < 1.
    assert_eq!(power_jvp(0.0, 0.5, 0.0, 1.0), (0.0, 0.0));
    let (_, dx, _) = power_grad(-2.0, 3.0);
    assert_eq!(dx, 12.0);
}

/// Checks `jvp` against central differences of `primal` along `direction`.
#[track_caller]
fn check_tangent(primal: impl Fn(&[f64]) -> f64, jvp: (f64, f64), point: &[f64], direction: &[f64]) {
    let (value, tangent) = jvp;
    assert_value(value, primal(point));
    let along = fd::central_gradient(
        |t: &[f64]| {
            let moved: Vec<f64> = point.iter().zip(direction).map(|(p, v)| p + t[0] * v).collect();
            primal(&moved)
        },
        &[0.0],
    )[0];
    assert_all_close(&[tangent], &[along], 1e-6);
}

#[test]
fn the_guarded_tangents_match_central_differences() {
    let mut rng = Rng::for_test("infinite_partials");
    for _ in 0..POINTS {
        let (x, y) = (rng.uniform(0.1, 0.9), rng.signed(0.1, 2.0));
        let (vx, vy) = (rng.signed(0.25, 2.0), rng.signed(0.25, 2.0));
        let roots = |p: &[f64]| roots_beside(p[0], p[1]);
        check_tangent(roots, roots_beside_jvp(x, y, vx, vy), &[x, y], &[vx, vy]);
        let powers = |p: &[f64]| power(p[0], p[1]);
        check_tangent(powers, power_jvp(x, y, vx, vy), &[x, y], &[vx, vy]);
        // asin and acos need x ≤ 1, acosh x ≥ 1: at their kink x = 1, along
        // y only.
        let trigonometry = |p: &[f64]| inverse_trigonometry_beside(p[0], p[1]);
        check_tangent(
            trigonometry,
            inverse_trigonometry_beside_jvp(1.0, y, 0.0, vy),
            &[1.0, y],
            &[0.0, vy],
        );
    }
}

/// √x, ∛x and x^½ under a floor y: at x = 0 < y the floor is the maximum
/// near the point, so the Hessian is that of 3y, 0, although the roots'
/// tangents along x are infinite there and `f_hvp` differentiates them.
#[differentiate(hessian)]
fn roots_under_floor(x: f64, y: f64) -> f64 {
    x.sqrt().max(y) + x.cbrt().max(y) + x.powf(0.5).max(y)
}

/// asin x, acos(2 − x) and acosh x under a floor y > π/2: at x = 1 the
/// Hessian is that of 3y, 0.
#[differentiate(hessian)]
fn inverse_trigonometry_under_floor(x: f64, y: f64) -> f64 {
    x.asin().max(y) + (2.0 - x).acos().max(y) + x.acosh().max(y)
}

/// xᵉ under a floor y: at x = −2, e = 2 the derivative along e, xᵉ·ln x, is
/// undefined, and the Hessian is that of y, 0.
#[differentiate(hessian)]
fn power_under_floor(x: f64, e: f64, y: f64) -> f64 {
    x.powf(e).max(y)
}

/// The element-wise square root: `√v₀` under a floor y, plus `√v₁`.
#[differentiate(hessian, wrt(v))]
fn root_elements_under_floor(v: &Col<f64>, y: f64) -> f64 {
    let roots = sqrt(v);
    roots[0].max(y) + roots[1]
}

#[test]
fn a_hessian_where_an_infinite_tangent_goes_unused_is_zero() {
    let (_, hessian) = roots_under_floor_hessian(0.0, 1.0);
    assert_all_close(&fd::to_vec(&hessian), &[0.0; 4], 0.0);
    let (_, hessian) = inverse_trigonometry_under_floor_hessian(1.0, 2.0);
    assert_all_close(&fd::to_vec(&hessian), &[0.0; 4], 0.0);
    let (_, hessian) = power_under_floor_hessian(-2.0, 2.0, 5.0);
    assert_all_close(&fd::to_vec(&hessian), &[0.0; 9], 0.0);
    // At v₀ = 0 < y only √v₁ curves: H = diag(0, −¼ v₁^(−3/2)).
    let v = Col::from_fn(2, |i| i as f64 * 2.0);
    let (_, hessian) = root_elements_under_floor_hessian(&v, 1.0);
    let expected = [0.0, 0.0, 0.0, -0.25 * 2.0_f64.powf(-1.5)];
    assert_all_close(&fd::to_vec(&hessian), &expected, EXACT_TOLERANCE);

    // Where the functions themselves are the maxima, the same kernels give
    // their second derivatives: checked against central differences of the
    // gradients.
    let mut rng = Rng::for_test("functions_under_floor");
    for _ in 0..POINTS {
        let (x, y) = (rng.uniform(1.5, 4.0), rng.uniform(-2.0, -1.0));
        let (_, hessian) = roots_under_floor_hessian(x, y);
        let root = -0.25 * x.powf(-1.5);
        let expected = [2.0 * root - 2.0 / 9.0 * x.powf(-5.0 / 3.0), 0.0, 0.0, 0.0];
        assert_all_close(&fd::to_vec(&hessian), &expected, EXACT_TOLERANCE);
        let numeric = fd::central_gradient(|p| roots_under_floor_grad(p[0], y).1, &[x]);
        assert_all_close(&[hessian[(0, 0)]], &numeric, 1e-6);

        // asin x is defined below 1, acos(2 − x) and acosh x above it (the
        // floor takes the place of a NaN).
        for t in [rng.uniform(0.2, 0.8), rng.uniform(1.2, 1.8)] {
            let (_, hessian) = inverse_trigonometry_under_floor_hessian(t, -1.0);
            let numeric = fd::central_gradient(|p| inverse_trigonometry_under_floor_grad(p[0], -1.0).1, &[t]);
            assert_all_close(&[hessian[(0, 0)]], &numeric, 1e-6);
        }

        let (x, e) = (rng.uniform(0.5, 2.0), rng.uniform(0.3, 2.5));
        let (_, hessian) = power_under_floor_hessian(x, e, -1.0);
        let gradient = |p: &[f64]| {
            let (_, dx, de, _) = power_under_floor_grad(p[0], p[1], -1.0);
            vec![dx, de]
        };
        let numeric = fd::central_jacobian(gradient, &[x, e]);
        let corner = [hessian[(0, 0)], hessian[(0, 1)], hessian[(1, 0)], hessian[(1, 1)]];
        assert_all_close(&corner, &fd::to_vec(&numeric), 1e-6);
    }
}

/// ⟨√v, w⟩ over the elements of v, whose first element is 0 with weight 0.
#[differentiate(wrt(v))]
fn weighted_roots(v: &Col<f64>, w: &Col<f64>) -> f64 {
    let roots = sqrt(v);
    roots.transpose() * w
}

#[test]
fn an_element_with_no_weight_gets_no_derivative_from_its_square_root() {
    let v = Col::from_fn(3, |i| i as f64);
    let w = Col::from_fn(3, |i| if i == 0 { 0.0 } else { 1.0 / (i as f64) });
    let (_, gradient) = weighted_roots_grad(&v, &w);
    let expected = [0.0, 0.5, 0.5 / 2.0 / 2.0_f64.sqrt()];
    assert_all_close(&fd::to_vec(&gradient), &expected, 1e-12);
}

/// Σ √vᵢ + v₁·v₂ over the elements of a vector, for forward mode at an
/// element equal to 0.
#[differentiate(forward, hessian)]
fn summed_roots(v: &Col<f64>) -> f64 {
    sqrt(v).sum() + v[1] * v[2]
}

#[test]
fn a_direction_that_leaves_a_zero_element_alone_has_finite_elementwise_tangents() {
    let mut rng = Rng::for_test("summed_roots");
    for _ in 0..POINTS {
        let v = Col::from_fn(3, |i| if i == 0 { 0.0 } else { rng.uniform(0.2, 2.0) });
        let direction = Col::from_fn(3, |i| if i == 0 { 0.0 } else { rng.signed(0.25, 2.0) });
        // ∂/∂v₁ = 1/(2√v₁) + v₂, ∂/∂v₂ = 1/(2√v₂) + v₁; v₀ does not move.
        let slope = |i: usize, j: usize| 0.5 / v[i].sqrt() + v[j];
        let (value, tangent) = summed_roots_jvp(&v, &direction);
        assert_value(value, summed_roots(&v));
        let expected = slope(1, 2) * direction[1] + slope(2, 1) * direction[2];
        assert_all_close(&[tangent], &[expected], EXACT_TOLERANCE);
        // H = [·, ·, ·; ·, −¼v₁^(−3/2), 1; ·, 1, −¼v₂^(−3/2)] on the elements
        // that move, and row 0 meets the direction only through its 0.
        let (_, product) = summed_roots_hvp(&v, &direction);
        let curvature = |i: usize| -0.25 * v[i].powf(-1.5);
        let expected = [
            0.0,
            curvature(1) * direction[1] + direction[2],
            direction[1] + curvature(2) * direction[2],
        ];
        assert_all_close(&fd::to_vec(&product), &expected, EXACT_TOLERANCE);
    }
}
