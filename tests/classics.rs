//! Textbook derivatives, checked exactly where the arithmetic is exact, to a
//! relative error of 1e-12 against the closed form elsewhere, and at random
//! points against central finite differences. Ends with the chain rule for a
//! composite function built from separate `#[differentiate]` functions.

#[macro_use]
mod common;

use chainrule::differentiate;
use common::{EXACT_TOLERANCE, Rng, assert_all_close, assert_close, assert_gradient, check_box_exact};

// ----- d/dx (3x² − 4x) = 6x − 4 ---------------------------------------------------

#[differentiate]
fn quadratic(x: f64) -> f64 {
    3.0 * x * x - 4.0 * x
}

#[test]
fn quadratic_at_one_is_two() {
    assert_eq!(quadratic_grad(1.0), (-1.0, 2.0));
    assert_eq!(quadratic_vjp(1.0, 0.5), (-1.0, 1.0));
    let (value, pullback) = quadratic_pullback(1.0);
    assert_eq!((value, pullback(&1.0, (1.0,))), (-1.0, (2.0,)));
}

#[test]
fn quadratic_at_random_points() {
    let g = generated!(quadratic, quadratic_grad, quadratic_vjp, quadratic_pullback; x);
    check_box_exact(&g, &mut Rng::for_test("quadratic"), &[(-10.0, 10.0)], |p| {
        vec![6.0 * p[0] - 4.0]
    });
}

// ----- ∇(3x²y) = [6xy, 3x²] ---------------------------------------------------------

#[differentiate]
fn three_x_squared_y(x: f64, y: f64) -> f64 {
    3.0 * x * x * y
}

#[test]
fn three_x_squared_y_exact() {
    assert_eq!(three_x_squared_y_grad(2.0, 5.0), (60.0, 60.0, 12.0));
    assert_eq!(three_x_squared_y_grad(-1.0, 3.0), (9.0, -18.0, 3.0));
    assert_eq!(three_x_squared_y_grad(0.0, 7.0), (0.0, 0.0, 0.0));
}

#[test]
fn three_x_squared_y_at_random_points() {
    let g = generated!(three_x_squared_y, three_x_squared_y_grad, three_x_squared_y_vjp,
        three_x_squared_y_pullback; x, y);
    check_box_exact(&g, &mut Rng::for_test("3x2y"), &[(-5.0, 5.0), (-5.0, 5.0)], |p| {
        let (x, y) = (p[0], p[1]);
        vec![6.0 * x * y, 3.0 * x * x]
    });
}

// ----- ∇(2x + y⁸) = [2, 8y⁷] -----------------------------------------------------

#[differentiate]
fn linear_plus_eighth_power(x: f64, y: f64) -> f64 {
    2.0 * x + y.powi(8)
}

#[differentiate]
fn linear_plus_eighth_power_by_products(x: f64, y: f64) -> f64 {
    let y2 = y * y;
    let y4 = y2 * y2;
    2.0 * x + y4 * y4
}

#[test]
fn linear_plus_eighth_power_exact() {
    assert_eq!(linear_plus_eighth_power_grad(3.0, 2.0), (262.0, 2.0, 1024.0));
    assert_eq!(linear_plus_eighth_power_grad(-1.0, -1.0), (-1.0, 2.0, -8.0));
    assert_eq!(
        linear_plus_eighth_power_by_products_grad(3.0, 2.0),
        (262.0, 2.0, 1024.0)
    );
    assert_eq!(linear_plus_eighth_power_by_products_grad(-1.0, -1.0), (-1.0, 2.0, -8.0));
}

#[test]
fn linear_plus_eighth_power_at_random_points() {
    let mut rng = Rng::for_test("y8");
    let expected = |p: &[f64]| vec![2.0, 8.0 * p[1].powi(7)];
    let g = generated!(linear_plus_eighth_power, linear_plus_eighth_power_grad, linear_plus_eighth_power_vjp,
        linear_plus_eighth_power_pullback; x, y);
    // y away from 0, where 8y⁷ would drown in the rounding error of the 2x term.
    common::check_sampled_exact(
        &g,
        &mut rng,
        |r| vec![r.uniform(-3.0, 3.0), r.signed(0.5, 1.5)],
        expected,
    );
    let g = generated!(linear_plus_eighth_power_by_products, linear_plus_eighth_power_by_products_grad,
        linear_plus_eighth_power_by_products_vjp, linear_plus_eighth_power_by_products_pullback; x, y);
    // y away from 0, where 8y⁷ would drown in the rounding error of the 2x term.
    common::check_sampled_exact(
        &g,
        &mut rng,
        |r| vec![r.uniform(-3.0, 3.0), r.signed(0.5, 1.5)],
        expected,
    );
}

// ----- total derivative: d/dx (x + x²) = 1 + 2x ------------------------------------

#[differentiate]
fn x_plus_x_squared(x: f64) -> f64 {
    x + x * x
}

#[test]
fn x_plus_x_squared_is_a_total_derivative() {
    // x reaches the output along two paths (three uses); the derivative sums them.
    assert_eq!(x_plus_x_squared_grad(3.0), (12.0, 7.0));
    assert_eq!(x_plus_x_squared_grad(-0.5), (-0.25, 0.0));
    let g = generated!(x_plus_x_squared, x_plus_x_squared_grad, x_plus_x_squared_vjp,
        x_plus_x_squared_pullback; x);
    check_box_exact(&g, &mut Rng::for_test("x+x2"), &[(-10.0, 10.0)], |p| {
        vec![1.0 + 2.0 * p[0]]
    });
}

#[differentiate]
fn shared_intermediate(x: f64) -> f64 {
    let s = x * x;
    s + s * x + x
}

#[test]
fn an_intermediate_used_twice_accumulates() {
    // x² + x³ + x: 2x + 3x² + 1
    assert_eq!(shared_intermediate_grad(2.0), (14.0, 17.0));
    let g = generated!(shared_intermediate, shared_intermediate_grad, shared_intermediate_vjp,
        shared_intermediate_pullback; x);
    check_box_exact(&g, &mut Rng::for_test("shared"), &[(-5.0, 5.0)], |p| {
        let x = p[0];
        vec![2.0 * x + 3.0 * x * x + 1.0]
    });
}

// ----- d/dx sin(x²) = 2x cos(x²) ---------------------------------------------------

#[differentiate]
fn sin_of_square(x: f64) -> f64 {
    (x * x).sin()
}

#[test]
fn sin_of_square_chain_rule() {
    assert_eq!(sin_of_square_grad(0.0), (0.0, 0.0));
    let g = generated!(sin_of_square, sin_of_square_grad, sin_of_square_vjp, sin_of_square_pullback; x);
    check_box_exact(&g, &mut Rng::for_test("sin_x2"), &[(-2.0, 2.0)], |p| {
        let x = p[0];
        vec![2.0 * x * (x * x).cos()]
    });
}

// ----- ∇(x₁² + x₁x₂ + x₂x₃) = [2x₁ + x₂, x₁ + x₃, x₂] -------------------------------

#[differentiate]
fn three_variables(x1: f64, x2: f64, x3: f64) -> f64 {
    x1 * x1 + x1 * x2 + x2 * x3
}

#[test]
fn three_variables_exact() {
    assert_eq!(three_variables_grad(1.0, 2.0, 3.0), (9.0, 4.0, 4.0, 2.0));
    assert_eq!(three_variables_grad(-2.0, 0.5, 4.0), (5.0, -3.5, 2.0, 0.5));
    let g = generated!(three_variables, three_variables_grad, three_variables_vjp,
        three_variables_pullback; x1, x2, x3);
    check_box_exact(
        &g,
        &mut Rng::for_test("three_variables"),
        &[(-5.0, 5.0), (-5.0, 5.0), (-5.0, 5.0)],
        |p| vec![2.0 * p[0] + p[1], p[0] + p[2], p[1]],
    );
}

// ----- ∇(3x₁² + 5e^{x₂}) = [6x₁, 5e^{x₂}] -------------------------------------------

#[differentiate]
fn square_plus_exponential(x1: f64, x2: f64) -> f64 {
    3.0 * x1 * x1 + 5.0 * x2.exp()
}

#[test]
fn square_plus_exponential_gradient() {
    assert_eq!(square_plus_exponential_grad(1.0, 0.0), (8.0, 6.0, 5.0));
    let g = generated!(square_plus_exponential, square_plus_exponential_grad, square_plus_exponential_vjp,
        square_plus_exponential_pullback; x1, x2);
    check_box_exact(&g, &mut Rng::for_test("sq_exp"), &[(-5.0, 5.0), (-3.0, 3.0)], |p| {
        vec![6.0 * p[0], 5.0 * p[1].exp()]
    });
}

// ----- d/dx (x³ − 1/x) = 3x² + 1/x², 4 at x = 1 -------------------------------------

#[differentiate]
fn cube_minus_reciprocal(x: f64) -> f64 {
    x * x * x - 1.0 / x
}

#[differentiate]
fn cube_minus_reciprocal_by_methods(x: f64) -> f64 {
    x.powi(3) - x.recip()
}

#[test]
fn cube_minus_reciprocal_at_one_is_four() {
    assert_eq!(cube_minus_reciprocal_grad(1.0), (0.0, 4.0));
    assert_eq!(cube_minus_reciprocal_by_methods_grad(1.0), (0.0, 4.0));
    assert_eq!(cube_minus_reciprocal_grad(2.0), (7.5, 12.25));
    assert_eq!(cube_minus_reciprocal_by_methods_grad(2.0), (7.5, 12.25));
}

#[test]
fn cube_minus_reciprocal_at_random_points() {
    let mut rng = Rng::for_test("cube_recip");
    let expected = |p: &[f64]| vec![3.0 * p[0] * p[0] + 1.0 / (p[0] * p[0])];
    let g = generated!(cube_minus_reciprocal, cube_minus_reciprocal_grad, cube_minus_reciprocal_vjp,
        cube_minus_reciprocal_pullback; x);
    common::check_sampled_exact(&g, &mut rng, |r| vec![r.signed(0.3, 4.0)], expected);
    let g = generated!(cube_minus_reciprocal_by_methods, cube_minus_reciprocal_by_methods_grad,
        cube_minus_reciprocal_by_methods_vjp, cube_minus_reciprocal_by_methods_pullback; x);
    common::check_sampled_exact(&g, &mut rng, |r| vec![r.signed(0.3, 4.0)], expected);
}

// ----- quotient rule: d/dx sin(x)/(x² + 1) ---------------------------------------------

#[differentiate]
fn quotient(x: f64) -> f64 {
    x.sin() / (x * x + 1.0)
}

#[test]
fn quotient_rule() {
    // (u/v)' = (u'v − uv')/v²
    assert_eq!(quotient_grad(0.0), (0.0, 1.0));
    let g = generated!(quotient, quotient_grad, quotient_vjp, quotient_pullback; x);
    check_box_exact(&g, &mut Rng::for_test("quotient"), &[(-4.0, 4.0)], |p| {
        let x = p[0];
        let (u, du, v, dv) = (x.sin(), x.cos(), x * x + 1.0, 2.0 * x);
        vec![(du * v - u * dv) / (v * v)]
    });
}

#[differentiate]
fn general_quotient(u: f64, v: f64) -> f64 {
    (u * u + 1.0) / (v.exp() + u)
}

#[test]
fn quotient_rule_in_both_operands() {
    let g = generated!(general_quotient, general_quotient_grad, general_quotient_vjp,
        general_quotient_pullback; u, v);
    check_box_exact(
        &g,
        &mut Rng::for_test("general_quotient"),
        &[(0.0, 3.0), (-2.0, 2.0)],
        |p| {
            let (u, v) = (p[0], p[1]);
            let (num, den) = (u * u + 1.0, v.exp() + u);
            vec![(2.0 * u * den - num) / (den * den), -num * v.exp() / (den * den)]
        },
    );
}

// ----- d/dx aˣ = ln(a)·aˣ ----------------------------------------------------------

#[differentiate(wrt(x))]
fn exponential_base_a(a: f64, x: f64) -> f64 {
    a.powf(x)
}

#[test]
fn exponential_with_any_base() {
    assert_eq!(exponential_base_a_grad(2.0, 0.0), (1.0, 2f64.ln()));
    assert_close(
        exponential_base_a_grad(std::f64::consts::E, 1.5).1,
        1.5f64.exp(),
        EXACT_TOLERANCE,
    );
    assert_close(exponential_base_a_grad(2.0, 3.0).1, 8.0 * 2f64.ln(), EXACT_TOLERANCE);
    let mut rng = Rng::for_test("a^x");
    for _ in 0..common::POINTS {
        let (a, x) = (rng.uniform(0.2, 5.0), rng.uniform(-3.0, 3.0));
        let (value, dx) = exponential_base_a_grad(a, x);
        common::assert_value(value, exponential_base_a(a, x));
        assert_close(dx, a.ln() * a.powf(x), EXACT_TOLERANCE);
        assert_gradient(|p| exponential_base_a(a, p[0]), &[x], &[dx]);
        let seed = rng.seed();
        let (_, sx) = exponential_base_a_vjp(a, x, seed);
        assert_close(sx, seed * dx, EXACT_TOLERANCE);
        let (_, pullback) = exponential_base_a_pullback(a, x);
        assert_eq!(pullback(&seed, (a, x)), ((), sx));
    }
}

// ----- the chain rule across functions -------------------------------------------
//
// u = f(x, y, z) with x = g1(a, b), y = g2(a, b), z = g3(a, b), each its own
// function:  ∂u/∂a = f_x·∂g1/∂a + f_y·∂g2/∂a + f_z·∂g3/∂a, and the same for b.

#[differentiate]
fn outer(x: f64, y: f64, z: f64) -> f64 {
    x * y + (y * z).sin()
}

#[differentiate]
fn inner1(a: f64, b: f64) -> f64 {
    a * b
}

#[differentiate]
fn inner2(a: f64, b: f64) -> f64 {
    a + b * b
}

#[differentiate]
fn inner3(a: f64, b: f64) -> f64 {
    (a - b).sin()
}

#[differentiate]
fn composite(a: f64, b: f64) -> f64 {
    let x = inner1(a, b);
    let y = inner2(a, b);
    let z = inner3(a, b);
    outer(x, y, z)
}

/// The same composite, written as one expression with nested calls.
#[differentiate]
fn composite_nested(a: f64, b: f64) -> f64 {
    outer(inner1(a, b), inner2(a, b), inner3(a, b))
}

/// ∂u/∂a and ∂u/∂b from the closed forms of every partial derivative.
fn composite_analytic(a: f64, b: f64) -> [f64; 2] {
    let (x, y, z) = (a * b, a + b * b, (a - b).sin());
    let (fx, fy, fz) = (y, x + z * (y * z).cos(), y * (y * z).cos());
    let (g1a, g1b) = (b, a);
    let (g2a, g2b) = (1.0, 2.0 * b);
    let (g3a, g3b) = ((a - b).cos(), -(a - b).cos());
    [fx * g1a + fy * g2a + fz * g3a, fx * g1b + fy * g2b + fz * g3b]
}

#[test]
fn each_piece_of_the_composite() {
    let mut rng = Rng::for_test("pieces");
    let f = generated!(outer, outer_grad, outer_vjp, outer_pullback; x, y, z);
    check_box_exact(&f, &mut rng, &[(-2.0, 2.0), (-2.0, 2.0), (-2.0, 2.0)], |p| {
        let (x, y, z) = (p[0], p[1], p[2]);
        vec![y, x + z * (y * z).cos(), y * (y * z).cos()]
    });
    let g1 = generated!(inner1, inner1_grad, inner1_vjp, inner1_pullback; a, b);
    check_box_exact(&g1, &mut rng, &[(-2.0, 2.0), (-2.0, 2.0)], |p| vec![p[1], p[0]]);
    let g2 = generated!(inner2, inner2_grad, inner2_vjp, inner2_pullback; a, b);
    check_box_exact(&g2, &mut rng, &[(-2.0, 2.0), (-2.0, 2.0)], |p| vec![1.0, 2.0 * p[1]]);
    let g3 = generated!(inner3, inner3_grad, inner3_vjp, inner3_pullback; a, b);
    check_box_exact(&g3, &mut rng, &[(-2.0, 2.0), (-2.0, 2.0)], |p| {
        let c = (p[0] - p[1]).cos();
        vec![c, -c]
    });
}

#[test]
fn composite_function_chain_rule() {
    let mut rng = Rng::for_test("composite");
    let g = generated!(composite, composite_grad, composite_vjp, composite_pullback; a, b);
    check_box_exact(&g, &mut rng, &[(-2.0, 2.0), (-2.0, 2.0)], |p| {
        composite_analytic(p[0], p[1]).to_vec()
    });
    let g = generated!(composite_nested, composite_nested_grad, composite_nested_vjp,
        composite_nested_pullback; a, b);
    check_box_exact(&g, &mut rng, &[(-2.0, 2.0), (-2.0, 2.0)], |p| {
        composite_analytic(p[0], p[1]).to_vec()
    });
}

#[test]
fn composite_equals_the_chain_rule_applied_by_hand() {
    let mut rng = Rng::for_test("composite_by_hand");
    for _ in 0..common::POINTS {
        let (a, b) = (rng.uniform(-2.0, 2.0), rng.uniform(-2.0, 2.0));
        // The Jacobian of (g1, g2, g3) and the gradient of f from their own _grad.
        let (x, g1a, g1b) = inner1_grad(a, b);
        let (y, g2a, g2b) = inner2_grad(a, b);
        let (z, g3a, g3b) = inner3_grad(a, b);
        let (u, fx, fy, fz) = outer_grad(x, y, z);
        let by_hand = [fx * g1a + fy * g2a + fz * g3a, fx * g1b + fy * g2b + fz * g3b];

        let (value, ua, ub) = composite_grad(a, b);
        common::assert_value(value, u);
        common::assert_value(value, composite(a, b));
        assert_all_close(&[ua, ub], &by_hand, EXACT_TOLERANCE);
        assert_all_close(&[ua, ub], &composite_analytic(a, b), EXACT_TOLERANCE);
        assert_gradient(|p| composite(p[0], p[1]), &[a, b], &[ua, ub]);

        // Reverse mode by hand: pull the seed back through f, then through each g.
        let seed = rng.seed();
        let (_, pb1) = inner1_pullback(a, b);
        let (_, pb2) = inner2_pullback(a, b);
        let (_, pb3) = inner3_pullback(a, b);
        let (_, pbf) = outer_pullback(x, y, z);
        let (sx, sy, sz) = pbf(&seed, (x, y, z));
        let (a1, b1) = pb1(&sx, (a, b));
        let (a2, b2) = pb2(&sy, (a, b));
        let (a3, b3) = pb3(&sz, (a, b));
        let (_, sa, sb) = composite_vjp(a, b, seed);
        assert_all_close(&[sa, sb], &[a1 + a2 + a3, b1 + b2 + b3], EXACT_TOLERANCE);
        assert_all_close(&[sa, sb], &[seed * ua, seed * ub], EXACT_TOLERANCE);
    }
}
