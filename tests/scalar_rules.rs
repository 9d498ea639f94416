//! Every operator and `f64` method that `#[differentiate]` supports, each in a
//! function of its own, checked at random points inside its domain (away from
//! kinks and singularities) against:
//! - central finite differences (relative error ≤ 1e-6),
//! - the closed-form derivative (relative error ≤ 1e-12),
//! - the primal function's value (exactly),
//! - `_vjp` with a random seed (seed × gradient) and `_pullback` (the same
//!   numbers as `_vjp` and `_grad`).
//!
//! Each method is also checked in its path form, `f64::exp(x)` (or
//! `<f64>::hypot(x, y)`).

#[macro_use]
mod common;

use chainrule::differentiate;
use common::{Rng, check_box, check_box_exact, check_sampled_exact};
use std::f64::consts::{LN_2, LN_10, PI};

/// A value at least 0.1 away from every integer and half-integer, so that
/// `floor`, `ceil`, `round`, `trunc` and `fract` are smooth around it.
fn away_from_integers(rng: &mut Rng) -> f64 {
    let whole = rng.uniform(-4.0, 4.0).floor();
    let frac = rng.uniform(0.1, 0.4);
    if rng.next_u64() & 1 == 0 {
        whole + frac
    } else {
        whole + 1.0 - frac
    }
}

// ----- arithmetic -------------------------------------------------------------

#[differentiate]
fn f_add(x: f64, y: f64) -> f64 {
    x + y
}

#[test]
fn add() {
    let g = generated!(f_add, f_add_grad, f_add_vjp, f_add_pullback; x, y);
    check_box_exact(&g, &mut Rng::for_test("add"), &[(-5.0, 5.0), (-5.0, 5.0)], |_| {
        vec![1.0, 1.0]
    });
}

#[differentiate]
fn f_sub(x: f64, y: f64) -> f64 {
    x - y
}

#[test]
fn sub() {
    let g = generated!(f_sub, f_sub_grad, f_sub_vjp, f_sub_pullback; x, y);
    check_box_exact(&g, &mut Rng::for_test("sub"), &[(-5.0, 5.0), (-5.0, 5.0)], |_| {
        vec![1.0, -1.0]
    });
}

#[differentiate]
fn f_mul(x: f64, y: f64) -> f64 {
    x * y
}

#[test]
fn mul() {
    let g = generated!(f_mul, f_mul_grad, f_mul_vjp, f_mul_pullback; x, y);
    check_box_exact(&g, &mut Rng::for_test("mul"), &[(-5.0, 5.0), (-5.0, 5.0)], |p| {
        vec![p[1], p[0]]
    });
}

#[differentiate]
fn f_div(x: f64, y: f64) -> f64 {
    x / y
}

#[test]
fn div() {
    let g = generated!(f_div, f_div_grad, f_div_vjp, f_div_pullback; x, y);
    check_sampled_exact(
        &g,
        &mut Rng::for_test("div"),
        |r| vec![r.uniform(-5.0, 5.0), r.signed(0.2, 4.0)],
        |p| vec![1.0 / p[1], -p[0] / (p[1] * p[1])],
    );
}

#[differentiate]
fn f_neg(x: f64) -> f64 {
    -x
}

#[test]
fn neg() {
    let g = generated!(f_neg, f_neg_grad, f_neg_vjp, f_neg_pullback; x);
    check_box_exact(&g, &mut Rng::for_test("neg"), &[(-5.0, 5.0)], |_| vec![-1.0]);
}

#[differentiate]
fn f_neg_product(x: f64, y: f64) -> f64 {
    -(x * y)
}

#[test]
fn neg_of_product() {
    let g = generated!(f_neg_product, f_neg_product_grad, f_neg_product_vjp, f_neg_product_pullback; x, y);
    check_box_exact(
        &g,
        &mut Rng::for_test("neg_product"),
        &[(-5.0, 5.0), (-5.0, 5.0)],
        |p| vec![-p[1], -p[0]],
    );
}

#[differentiate]
fn f_double_neg(x: f64, y: f64) -> f64 {
    x - -y * -x
}

#[test]
fn double_negation() {
    // x − (−y)(−x) = x − xy
    let g = generated!(f_double_neg, f_double_neg_grad, f_double_neg_vjp, f_double_neg_pullback; x, y);
    check_box_exact(&g, &mut Rng::for_test("double_neg"), &[(-5.0, 5.0), (-5.0, 5.0)], |p| {
        vec![1.0 - p[1], -p[0]]
    });
}

/// Constants on either side of each operator.
#[differentiate]
fn f_constant_operands(x: f64) -> f64 {
    (x + 2.5) * (1.5 - x) + 3.0 * x - x / 4.0 + 2.0 / x - 0.5
}

#[test]
fn constant_operands() {
    let g = generated!(f_constant_operands, f_constant_operands_grad, f_constant_operands_vjp,
        f_constant_operands_pullback; x);
    check_sampled_exact(
        &g,
        &mut Rng::for_test("constant_operands"),
        |r| vec![r.signed(0.3, 4.0)],
        |p| {
            let x = p[0];
            vec![(1.5 - x) - (x + 2.5) + 3.0 - 0.25 - 2.0 / (x * x)]
        },
    );
}

/// The same variable as both operands.
#[differentiate]
fn f_same_operand(x: f64) -> f64 {
    x * x + (x + x) - x / (x + 3.0)
}

#[test]
fn same_variable_as_both_operands() {
    let g = generated!(f_same_operand, f_same_operand_grad, f_same_operand_vjp, f_same_operand_pullback; x);
    check_box_exact(&g, &mut Rng::for_test("same_operand"), &[(-2.0, 5.0)], |p| {
        let x = p[0];
        vec![2.0 * x + 2.0 - 3.0 / ((x + 3.0) * (x + 3.0))]
    });
}

// ----- exponentials and logarithms --------------------------------------------

#[differentiate]
fn f_exp(x: f64) -> f64 {
    x.exp()
}

#[test]
fn exp() {
    let g = generated!(f_exp, f_exp_grad, f_exp_vjp, f_exp_pullback; x);
    check_box_exact(&g, &mut Rng::for_test("exp"), &[(-3.0, 3.0)], |p| vec![p[0].exp()]);
}

#[differentiate]
fn f_exp2(x: f64) -> f64 {
    x.exp2()
}

#[test]
fn exp2() {
    let g = generated!(f_exp2, f_exp2_grad, f_exp2_vjp, f_exp2_pullback; x);
    check_box_exact(&g, &mut Rng::for_test("exp2"), &[(-3.0, 3.0)], |p| {
        vec![p[0].exp2() * LN_2]
    });
}

/// Angle conversions, scalings by 180/π and π/180.
#[differentiate(forward)]
fn f_angles(x: f64, y: f64) -> f64 {
    x.to_degrees() * y.to_radians().sin()
}

#[test]
fn angle_conversions() {
    let g = generated!(f_angles, f_angles_grad, f_angles_vjp, f_angles_pullback; x, y);
    check_box_exact(&g, &mut Rng::for_test("angles"), &[(-3.0, 3.0), (-200.0, 200.0)], |p| {
        let (degrees, radians) = (p[0].to_degrees(), p[1].to_radians());
        vec![180.0 / PI * radians.sin(), degrees * radians.cos() * PI / 180.0]
    });
    let (value, tangent) = f_angles_jvp(1.0, 90.0, 0.5, 2.0);
    assert_eq!(value, f_angles(1.0, 90.0));
    let (_, dx, dy) = f_angles_grad(1.0, 90.0);
    assert!((tangent - (0.5 * dx + 2.0 * dy)).abs() <= 1e-12 * tangent.abs());
}

#[differentiate]
fn f_exp_m1(x: f64) -> f64 {
    x.exp_m1()
}

#[test]
fn exp_m1() {
    let g = generated!(f_exp_m1, f_exp_m1_grad, f_exp_m1_vjp, f_exp_m1_pullback; x);
    check_box_exact(&g, &mut Rng::for_test("exp_m1"), &[(-3.0, 3.0)], |p| vec![p[0].exp()]);
}

#[differentiate]
fn f_ln(x: f64) -> f64 {
    x.ln()
}

#[test]
fn ln() {
    let g = generated!(f_ln, f_ln_grad, f_ln_vjp, f_ln_pullback; x);
    check_box_exact(&g, &mut Rng::for_test("ln"), &[(0.1, 10.0)], |p| vec![1.0 / p[0]]);
}

#[differentiate]
fn f_log_value(x: f64) -> f64 {
    x.log(3.0)
}

#[test]
fn log_active_value() {
    let g = generated!(f_log_value, f_log_value_grad, f_log_value_vjp, f_log_value_pullback; x);
    check_box_exact(&g, &mut Rng::for_test("log_value"), &[(0.1, 10.0)], |p| {
        vec![1.0 / (p[0] * 3f64.ln())]
    });
}

/// The logarithm's base: both below and above 1.
fn log_base(rng: &mut Rng) -> f64 {
    if rng.next_u64() & 1 == 0 {
        rng.uniform(0.2, 0.7)
    } else {
        rng.uniform(1.5, 6.0)
    }
}

#[differentiate]
fn f_log_base(b: f64) -> f64 {
    7.0_f64.log(b)
}

#[test]
fn log_active_base() {
    let g = generated!(f_log_base, f_log_base_grad, f_log_base_vjp, f_log_base_pullback; b);
    check_sampled_exact(
        &g,
        &mut Rng::for_test("log_base"),
        |r| vec![log_base(r)],
        |p| {
            let b = p[0];
            vec![-(7f64.ln()) / (b * b.ln() * b.ln())]
        },
    );
}

#[differentiate]
fn f_log_both(x: f64, b: f64) -> f64 {
    x.log(b)
}

#[test]
fn log_active_value_and_base() {
    let g = generated!(f_log_both, f_log_both_grad, f_log_both_vjp, f_log_both_pullback; x, b);
    check_sampled_exact(
        &g,
        &mut Rng::for_test("log_both"),
        |r| vec![r.uniform(0.1, 10.0), log_base(r)],
        |p| {
            let (x, b) = (p[0], p[1]);
            vec![1.0 / (x * b.ln()), -x.ln() / (b * b.ln() * b.ln())]
        },
    );
}

#[differentiate]
fn f_log2(x: f64) -> f64 {
    x.log2()
}

#[test]
fn log2() {
    let g = generated!(f_log2, f_log2_grad, f_log2_vjp, f_log2_pullback; x);
    check_box_exact(&g, &mut Rng::for_test("log2"), &[(0.1, 10.0)], |p| {
        vec![1.0 / (p[0] * LN_2)]
    });
}

#[differentiate]
fn f_log10(x: f64) -> f64 {
    x.log10()
}

#[test]
fn log10() {
    let g = generated!(f_log10, f_log10_grad, f_log10_vjp, f_log10_pullback; x);
    check_box_exact(&g, &mut Rng::for_test("log10"), &[(0.1, 10.0)], |p| {
        vec![1.0 / (p[0] * LN_10)]
    });
}

#[differentiate]
fn f_ln_1p(x: f64) -> f64 {
    x.ln_1p()
}

#[test]
fn ln_1p() {
    let g = generated!(f_ln_1p, f_ln_1p_grad, f_ln_1p_vjp, f_ln_1p_pullback; x);
    check_box_exact(&g, &mut Rng::for_test("ln_1p"), &[(-0.9, 5.0)], |p| {
        vec![1.0 / (1.0 + p[0])]
    });
}

// ----- powers and roots -------------------------------------------------------

#[differentiate]
fn f_sqrt(x: f64) -> f64 {
    x.sqrt()
}

#[test]
fn sqrt() {
    let g = generated!(f_sqrt, f_sqrt_grad, f_sqrt_vjp, f_sqrt_pullback; x);
    check_box_exact(&g, &mut Rng::for_test("sqrt"), &[(0.05, 10.0)], |p| {
        vec![0.5 / p[0].sqrt()]
    });
}

#[differentiate]
fn f_cbrt(x: f64) -> f64 {
    x.cbrt()
}

#[test]
fn cbrt() {
    let g = generated!(f_cbrt, f_cbrt_grad, f_cbrt_vjp, f_cbrt_pullback; x);
    check_sampled_exact(
        &g,
        &mut Rng::for_test("cbrt"),
        |r| vec![r.signed(0.1, 8.0)],
        |p| vec![1.0 / (3.0 * p[0].abs().powf(2.0 / 3.0))],
    );
}

#[differentiate]
fn f_powi_cube(x: f64) -> f64 {
    x.powi(3)
}

#[test]
fn powi_positive_exponent() {
    let g = generated!(f_powi_cube, f_powi_cube_grad, f_powi_cube_vjp, f_powi_cube_pullback; x);
    check_sampled_exact(
        &g,
        &mut Rng::for_test("powi_cube"),
        |r| vec![r.signed(0.2, 3.0)],
        |p| vec![3.0 * p[0] * p[0]],
    );
}

#[differentiate]
fn f_powi_negative(x: f64) -> f64 {
    x.powi(-2)
}

#[test]
fn powi_negative_exponent() {
    let g = generated!(f_powi_negative, f_powi_negative_grad, f_powi_negative_vjp, f_powi_negative_pullback; x);
    check_sampled_exact(
        &g,
        &mut Rng::for_test("powi_negative"),
        |r| vec![r.signed(0.3, 3.0)],
        |p| vec![-2.0 / (p[0] * p[0] * p[0])],
    );
}

#[differentiate]
fn f_powi_param(x: f64, n: i32) -> f64 {
    x.powi(n)
}

#[test]
fn powi_integer_parameter_exponent() {
    let mut rng = Rng::for_test("powi_param");
    for n in [-3, -1, 0, 1, 2, 5] {
        for _ in 0..common::POINTS {
            let x = rng.signed(0.3, 2.5);
            let (value, dx) = f_powi_param_grad(x, n);
            common::assert_value(value, f_powi_param(x, n));
            common::assert_gradient(|p| f_powi_param(p[0], n), &[x], &[dx]);
            common::assert_close(dx, f64::from(n) * x.powi(n - 1), common::EXACT_TOLERANCE);
            let seed = rng.seed();
            let (value, sx) = f_powi_param_vjp(x, n, seed);
            common::assert_value(value, f_powi_param(x, n));
            common::assert_close(sx, seed * dx, common::EXACT_TOLERANCE);
            let (value, pullback) = f_powi_param_pullback(x, n);
            common::assert_value(value, f_powi_param(x, n));
            let (px, ()) = pullback(&seed, (x, n));
            common::assert_identical(&[px], &[sx]);
        }
    }
}

#[differentiate]
fn f_powf_base(a: f64) -> f64 {
    a.powf(2.5)
}

#[test]
fn powf_active_base() {
    let g = generated!(f_powf_base, f_powf_base_grad, f_powf_base_vjp, f_powf_base_pullback; a);
    check_box_exact(&g, &mut Rng::for_test("powf_base"), &[(0.1, 4.0)], |p| {
        vec![2.5 * p[0].powf(1.5)]
    });
}

#[differentiate]
fn f_powf_negative_base(a: f64) -> f64 {
    a.powf(3.0)
}

#[test]
fn powf_active_negative_base_integral_exponent() {
    let g = generated!(f_powf_negative_base, f_powf_negative_base_grad, f_powf_negative_base_vjp,
        f_powf_negative_base_pullback; a);
    check_box_exact(&g, &mut Rng::for_test("powf_negative_base"), &[(-3.0, -0.2)], |p| {
        vec![3.0 * p[0] * p[0]]
    });
}

#[differentiate]
fn f_powf_exponent(x: f64) -> f64 {
    2.5_f64.powf(x)
}

#[test]
fn powf_active_exponent() {
    // d/dx aˣ = ln(a)·aˣ
    let g = generated!(f_powf_exponent, f_powf_exponent_grad, f_powf_exponent_vjp, f_powf_exponent_pullback; x);
    check_box_exact(&g, &mut Rng::for_test("powf_exponent"), &[(-3.0, 3.0)], |p| {
        vec![2.5f64.ln() * 2.5f64.powf(p[0])]
    });
}

#[differentiate]
fn f_powf_both(a: f64, x: f64) -> f64 {
    a.powf(x)
}

#[test]
fn powf_active_base_and_exponent() {
    let g = generated!(f_powf_both, f_powf_both_grad, f_powf_both_vjp, f_powf_both_pullback; a, x);
    check_box_exact(&g, &mut Rng::for_test("powf_both"), &[(0.2, 4.0), (-2.0, 2.0)], |p| {
        let (a, x) = (p[0], p[1]);
        vec![x * a.powf(x - 1.0), a.powf(x) * a.ln()]
    });
}

#[differentiate]
fn f_recip(x: f64) -> f64 {
    x.recip()
}

#[test]
fn recip() {
    let g = generated!(f_recip, f_recip_grad, f_recip_vjp, f_recip_pullback; x);
    check_sampled_exact(
        &g,
        &mut Rng::for_test("recip"),
        |r| vec![r.signed(0.2, 5.0)],
        |p| vec![-1.0 / (p[0] * p[0])],
    );
}

// ----- piecewise functions ----------------------------------------------------

#[differentiate]
fn f_abs(x: f64) -> f64 {
    x.abs()
}

#[test]
fn abs_of_positive() {
    let g = generated!(f_abs, f_abs_grad, f_abs_vjp, f_abs_pullback; x);
    check_box_exact(&g, &mut Rng::for_test("abs_positive"), &[(0.1, 5.0)], |_| vec![1.0]);
}

#[test]
fn abs_of_negative() {
    let g = generated!(f_abs, f_abs_grad, f_abs_vjp, f_abs_pullback; x);
    check_box_exact(&g, &mut Rng::for_test("abs_negative"), &[(-5.0, -0.1)], |_| vec![-1.0]);
}

#[differentiate]
fn f_abs_product(x: f64, y: f64) -> f64 {
    (x * y).abs()
}

#[test]
fn abs_of_product_both_signs() {
    let g = generated!(f_abs_product, f_abs_product_grad, f_abs_product_vjp, f_abs_product_pullback; x, y);
    check_sampled_exact(
        &g,
        &mut Rng::for_test("abs_product"),
        |r| vec![r.signed(0.2, 3.0), r.signed(0.2, 3.0)],
        |p| {
            let sign = (p[0] * p[1]).signum();
            vec![sign * p[1], sign * p[0]]
        },
    );
}

#[differentiate]
fn f_signum(x: f64) -> f64 {
    x.signum()
}

#[test]
fn signum_has_zero_derivative() {
    let g = generated!(f_signum, f_signum_grad, f_signum_vjp, f_signum_pullback; x);
    check_sampled_exact(
        &g,
        &mut Rng::for_test("signum"),
        |r| vec![r.signed(0.1, 5.0)],
        |_| vec![0.0],
    );
}

#[differentiate]
fn f_signum_times(x: f64, y: f64) -> f64 {
    x.signum() * y + x
}

#[test]
fn signum_in_a_product() {
    let g = generated!(f_signum_times, f_signum_times_grad, f_signum_times_vjp, f_signum_times_pullback; x, y);
    check_sampled_exact(
        &g,
        &mut Rng::for_test("signum_times"),
        |r| vec![r.signed(0.1, 5.0), r.uniform(-3.0, 3.0)],
        |p| vec![1.0, p[0].signum()],
    );
}

#[differentiate]
fn f_floor(x: f64) -> f64 {
    x.floor()
}

#[differentiate]
fn f_ceil(x: f64) -> f64 {
    x.ceil()
}

#[differentiate]
fn f_round(x: f64) -> f64 {
    x.round()
}

#[differentiate]
fn f_trunc(x: f64) -> f64 {
    x.trunc()
}

#[test]
fn floor_ceil_round_trunc_have_zero_derivative() {
    let mut rng = Rng::for_test("rounding");
    let floor = generated!(f_floor, f_floor_grad, f_floor_vjp, f_floor_pullback; x);
    let ceil = generated!(f_ceil, f_ceil_grad, f_ceil_vjp, f_ceil_pullback; x);
    let round = generated!(f_round, f_round_grad, f_round_vjp, f_round_pullback; x);
    let trunc = generated!(f_trunc, f_trunc_grad, f_trunc_vjp, f_trunc_pullback; x);
    for g in [&floor, &ceil, &round, &trunc] {
        check_sampled_exact(g, &mut rng, |r| vec![away_from_integers(r)], |_| vec![0.0]);
    }
}

/// Rounded values in a product: the derivative flows to `y` through the
/// rounded factor and to `x` only through the smooth term.
#[differentiate]
fn f_rounded_mix(x: f64, y: f64) -> f64 {
    x.floor() * y + x.ceil() * y * y - x.round() / y + x.trunc() + x * y
}

#[test]
fn rounding_functions_in_products() {
    let g = generated!(f_rounded_mix, f_rounded_mix_grad, f_rounded_mix_vjp, f_rounded_mix_pullback; x, y);
    check_sampled_exact(
        &g,
        &mut Rng::for_test("rounded_mix"),
        |r| vec![away_from_integers(r), r.signed(0.5, 3.0)],
        |p| {
            let (x, y) = (p[0], p[1]);
            vec![y, x.floor() + 2.0 * x.ceil() * y + x.round() / (y * y) + x]
        },
    );
}

#[differentiate]
fn f_fract(x: f64) -> f64 {
    x.fract()
}

#[test]
fn fract() {
    let g = generated!(f_fract, f_fract_grad, f_fract_vjp, f_fract_pullback; x);
    check_sampled_exact(
        &g,
        &mut Rng::for_test("fract"),
        |r| vec![away_from_integers(r)],
        |_| vec![1.0],
    );
}

#[differentiate]
fn f_fract_product(x: f64, y: f64) -> f64 {
    x.fract() * y
}

#[test]
fn fract_in_a_product() {
    let g = generated!(f_fract_product, f_fract_product_grad, f_fract_product_vjp, f_fract_product_pullback; x, y);
    check_sampled_exact(
        &g,
        &mut Rng::for_test("fract_product"),
        |r| vec![away_from_integers(r), r.uniform(-3.0, 3.0)],
        |p| vec![p[1], p[0].fract()],
    );
}

// ----- trigonometric functions ------------------------------------------------

#[differentiate]
fn f_sin(x: f64) -> f64 {
    x.sin()
}

#[test]
fn sin() {
    let g = generated!(f_sin, f_sin_grad, f_sin_vjp, f_sin_pullback; x);
    check_box_exact(&g, &mut Rng::for_test("sin"), &[(-1.4, 1.4)], |p| vec![p[0].cos()]);
}

#[differentiate]
fn f_cos(x: f64) -> f64 {
    x.cos()
}

#[test]
fn cos() {
    let g = generated!(f_cos, f_cos_grad, f_cos_vjp, f_cos_pullback; x);
    check_sampled_exact(
        &g,
        &mut Rng::for_test("cos"),
        |r| vec![r.signed(0.2, 2.9)],
        |p| vec![-p[0].sin()],
    );
}

#[differentiate]
fn f_tan(x: f64) -> f64 {
    x.tan()
}

#[test]
fn tan() {
    let g = generated!(f_tan, f_tan_grad, f_tan_vjp, f_tan_pullback; x);
    check_box_exact(&g, &mut Rng::for_test("tan"), &[(-1.3, 1.3)], |p| {
        vec![1.0 / (p[0].cos() * p[0].cos())]
    });
}

#[differentiate]
fn f_asin(x: f64) -> f64 {
    x.asin()
}

#[test]
fn asin() {
    let g = generated!(f_asin, f_asin_grad, f_asin_vjp, f_asin_pullback; x);
    check_box_exact(&g, &mut Rng::for_test("asin"), &[(-0.9, 0.9)], |p| {
        vec![1.0 / (1.0 - p[0] * p[0]).sqrt()]
    });
}

#[differentiate]
fn f_acos(x: f64) -> f64 {
    x.acos()
}

#[test]
fn acos() {
    let g = generated!(f_acos, f_acos_grad, f_acos_vjp, f_acos_pullback; x);
    check_box_exact(&g, &mut Rng::for_test("acos"), &[(-0.9, 0.9)], |p| {
        vec![-1.0 / (1.0 - p[0] * p[0]).sqrt()]
    });
}

#[differentiate]
fn f_atan(x: f64) -> f64 {
    x.atan()
}

#[test]
fn atan() {
    let g = generated!(f_atan, f_atan_grad, f_atan_vjp, f_atan_pullback; x);
    check_box_exact(&g, &mut Rng::for_test("atan"), &[(-5.0, 5.0)], |p| {
        vec![1.0 / (1.0 + p[0] * p[0])]
    });
}

#[differentiate]
fn f_atan2(y: f64, x: f64) -> f64 {
    y.atan2(x)
}

/// A point `(y, x)` away from the origin and from the branch cut `y = 0, x < 0`.
fn atan2_point(rng: &mut Rng) -> Vec<f64> {
    vec![rng.signed(0.2, 3.0), rng.uniform(-3.0, 3.0)]
}

#[test]
fn atan2_both_arguments() {
    let g = generated!(f_atan2, f_atan2_grad, f_atan2_vjp, f_atan2_pullback; y, x);
    check_sampled_exact(&g, &mut Rng::for_test("atan2"), atan2_point, |p| {
        let (y, x) = (p[0], p[1]);
        let r2 = x * x + y * y;
        vec![x / r2, -y / r2]
    });
}

#[differentiate]
fn f_atan2_y(y: f64) -> f64 {
    y.atan2(-1.5)
}

#[differentiate]
fn f_atan2_x(x: f64) -> f64 {
    0.7_f64.atan2(x)
}

#[test]
fn atan2_each_argument_alone() {
    let mut rng = Rng::for_test("atan2_alone");
    let gy = generated!(f_atan2_y, f_atan2_y_grad, f_atan2_y_vjp, f_atan2_y_pullback; y);
    check_sampled_exact(
        &gy,
        &mut rng,
        |r| vec![r.signed(0.2, 3.0)],
        |p| vec![-1.5 / (p[0] * p[0] + 2.25)],
    );
    let gx = generated!(f_atan2_x, f_atan2_x_grad, f_atan2_x_vjp, f_atan2_x_pullback; x);
    check_box_exact(&gx, &mut rng, &[(-3.0, 3.0)], |p| vec![-0.7 / (0.49 + p[0] * p[0])]);
}

// ----- hyperbolic functions ---------------------------------------------------

#[differentiate]
fn f_sinh(x: f64) -> f64 {
    x.sinh()
}

#[test]
fn sinh() {
    let g = generated!(f_sinh, f_sinh_grad, f_sinh_vjp, f_sinh_pullback; x);
    check_box_exact(&g, &mut Rng::for_test("sinh"), &[(-3.0, 3.0)], |p| vec![p[0].cosh()]);
}

#[differentiate]
fn f_cosh(x: f64) -> f64 {
    x.cosh()
}

#[test]
fn cosh() {
    let g = generated!(f_cosh, f_cosh_grad, f_cosh_vjp, f_cosh_pullback; x);
    check_sampled_exact(
        &g,
        &mut Rng::for_test("cosh"),
        |r| vec![r.signed(0.2, 3.0)],
        |p| vec![p[0].sinh()],
    );
}

#[differentiate]
fn f_tanh(x: f64) -> f64 {
    x.tanh()
}

#[test]
fn tanh() {
    let g = generated!(f_tanh, f_tanh_grad, f_tanh_vjp, f_tanh_pullback; x);
    check_box_exact(&g, &mut Rng::for_test("tanh"), &[(-3.0, 3.0)], |p| {
        vec![1.0 / (p[0].cosh() * p[0].cosh())]
    });
}

#[differentiate]
fn f_asinh(x: f64) -> f64 {
    x.asinh()
}

#[test]
fn asinh() {
    let g = generated!(f_asinh, f_asinh_grad, f_asinh_vjp, f_asinh_pullback; x);
    check_box_exact(&g, &mut Rng::for_test("asinh"), &[(-5.0, 5.0)], |p| {
        vec![1.0 / (p[0] * p[0] + 1.0).sqrt()]
    });
}

#[differentiate]
fn f_acosh(x: f64) -> f64 {
    x.acosh()
}

#[test]
fn acosh() {
    let g = generated!(f_acosh, f_acosh_grad, f_acosh_vjp, f_acosh_pullback; x);
    check_box_exact(&g, &mut Rng::for_test("acosh"), &[(1.1, 6.0)], |p| {
        vec![1.0 / (p[0] * p[0] - 1.0).sqrt()]
    });
}

#[differentiate]
fn f_atanh(x: f64) -> f64 {
    x.atanh()
}

#[test]
fn atanh() {
    let g = generated!(f_atanh, f_atanh_grad, f_atanh_vjp, f_atanh_pullback; x);
    check_box_exact(&g, &mut Rng::for_test("atanh"), &[(-0.9, 0.9)], |p| {
        vec![1.0 / (1.0 - p[0] * p[0])]
    });
}

// ----- functions of several arguments -----------------------------------------

#[differentiate]
fn f_hypot(x: f64, y: f64) -> f64 {
    x.hypot(y)
}

#[test]
fn hypot() {
    let g = generated!(f_hypot, f_hypot_grad, f_hypot_vjp, f_hypot_pullback; x, y);
    check_sampled_exact(
        &g,
        &mut Rng::for_test("hypot"),
        |r| vec![r.signed(0.2, 3.0), r.signed(0.2, 3.0)],
        |p| {
            let h = (p[0] * p[0] + p[1] * p[1]).sqrt();
            vec![p[0] / h, p[1] / h]
        },
    );
}

#[differentiate]
fn f_max(a: f64, b: f64) -> f64 {
    a.max(b)
}

#[differentiate]
fn f_min(a: f64, b: f64) -> f64 {
    a.min(b)
}

/// `(a, b)` with `a` at least 0.1 above `b`.
fn first_larger(rng: &mut Rng) -> Vec<f64> {
    let b = rng.uniform(-3.0, 3.0);
    vec![b + rng.uniform(0.1, 2.0), b]
}

/// `(a, b)` with `b` at least 0.1 above `a`.
fn second_larger(rng: &mut Rng) -> Vec<f64> {
    let a = rng.uniform(-3.0, 3.0);
    vec![a, a + rng.uniform(0.1, 2.0)]
}

#[test]
fn max_first_operand_wins() {
    let g = generated!(f_max, f_max_grad, f_max_vjp, f_max_pullback; a, b);
    check_sampled_exact(&g, &mut Rng::for_test("max_first"), first_larger, |_| vec![1.0, 0.0]);
}

#[test]
fn max_second_operand_wins() {
    let g = generated!(f_max, f_max_grad, f_max_vjp, f_max_pullback; a, b);
    check_sampled_exact(&g, &mut Rng::for_test("max_second"), second_larger, |_| vec![0.0, 1.0]);
}

#[test]
fn min_first_operand_wins() {
    let g = generated!(f_min, f_min_grad, f_min_vjp, f_min_pullback; a, b);
    check_sampled_exact(&g, &mut Rng::for_test("min_first"), second_larger, |_| vec![1.0, 0.0]);
}

#[test]
fn min_second_operand_wins() {
    let g = generated!(f_min, f_min_grad, f_min_vjp, f_min_pullback; a, b);
    check_sampled_exact(&g, &mut Rng::for_test("min_second"), first_larger, |_| vec![0.0, 1.0]);
}

#[test]
fn max_and_min_ties_go_to_the_first_operand() {
    for v in [-2.0, 0.0, 1.5] {
        assert_eq!(f_max_grad(v, v), (v, 1.0, 0.0));
        assert_eq!(f_min_grad(v, v), (v, 1.0, 0.0));
    }
}

#[differentiate]
fn f_max_of_expressions(x: f64, y: f64) -> f64 {
    (x * y).max(x.sin() + y) * 2.0
}

#[test]
fn max_of_expressions() {
    let g = generated!(f_max_of_expressions, f_max_of_expressions_grad, f_max_of_expressions_vjp,
        f_max_of_expressions_pullback; x, y);
    check_sampled_exact(
        &g,
        &mut Rng::for_test("max_of_expressions"),
        |r| loop {
            let (x, y) = (r.uniform(-3.0, 3.0), r.uniform(-3.0, 3.0));
            if (x * y - (x.sin() + y)).abs() > 0.1 {
                break vec![x, y];
            }
        },
        |p| {
            let (x, y) = (p[0], p[1]);
            if x * y > x.sin() + y {
                vec![2.0 * y, 2.0 * x]
            } else {
                vec![2.0 * x.cos(), 2.0]
            }
        },
    );
}

#[differentiate]
fn f_mul_add(a: f64, b: f64, c: f64) -> f64 {
    a.mul_add(b, c)
}

#[test]
fn mul_add_all_three_arguments() {
    let g = generated!(f_mul_add, f_mul_add_grad, f_mul_add_vjp, f_mul_add_pullback; a, b, c);
    check_box_exact(
        &g,
        &mut Rng::for_test("mul_add"),
        &[(-3.0, 3.0), (-3.0, 3.0), (-3.0, 3.0)],
        |p| vec![p[1], p[0], 1.0],
    );
}

#[differentiate]
fn f_mul_add_shared(x: f64) -> f64 {
    x.mul_add(x, x)
}

#[test]
fn mul_add_same_variable_in_every_argument() {
    let g = generated!(f_mul_add_shared, f_mul_add_shared_grad, f_mul_add_shared_vjp, f_mul_add_shared_pullback; x);
    check_box_exact(&g, &mut Rng::for_test("mul_add_shared"), &[(-3.0, 3.0)], |p| {
        vec![2.0 * p[0] + 1.0]
    });
}

#[differentiate]
fn f_clamp(x: f64, lo: f64, hi: f64) -> f64 {
    x.clamp(lo, hi)
}

#[test]
fn clamp_value_inside() {
    let g = generated!(f_clamp, f_clamp_grad, f_clamp_vjp, f_clamp_pullback; x, lo, hi);
    check_box_exact(
        &g,
        &mut Rng::for_test("clamp_inside"),
        &[(-0.9, 0.9), (-3.0, -1.0), (1.0, 3.0)],
        |_| vec![1.0, 0.0, 0.0],
    );
}

#[test]
fn clamp_value_below() {
    let g = generated!(f_clamp, f_clamp_grad, f_clamp_vjp, f_clamp_pullback; x, lo, hi);
    check_sampled_exact(
        &g,
        &mut Rng::for_test("clamp_below"),
        |r| {
            let lo = r.uniform(-3.0, -1.0);
            vec![lo - r.uniform(0.1, 2.0), lo, r.uniform(1.0, 3.0)]
        },
        |_| vec![0.0, 1.0, 0.0],
    );
}

#[test]
fn clamp_value_above() {
    let g = generated!(f_clamp, f_clamp_grad, f_clamp_vjp, f_clamp_pullback; x, lo, hi);
    check_sampled_exact(
        &g,
        &mut Rng::for_test("clamp_above"),
        |r| {
            let hi = r.uniform(1.0, 3.0);
            vec![hi + r.uniform(0.1, 2.0), r.uniform(-3.0, -1.0), hi]
        },
        |_| vec![0.0, 0.0, 1.0],
    );
}

#[differentiate]
fn f_clamp_constant_bounds(x: f64) -> f64 {
    x.clamp(-1.0, 1.0) * 3.0
}

#[test]
fn clamp_with_constant_bounds() {
    let g = generated!(f_clamp_constant_bounds, f_clamp_constant_bounds_grad, f_clamp_constant_bounds_vjp,
        f_clamp_constant_bounds_pullback; x);
    let mut rng = Rng::for_test("clamp_constant");
    check_box_exact(&g, &mut rng, &[(-0.9, 0.9)], |_| vec![3.0]);
    check_sampled_exact(&g, &mut rng, |r| vec![r.signed(1.1, 4.0)], |_| vec![0.0]);
}

// ----- path forms: f64::method(receiver, args) ---------------------------------

#[differentiate]
fn f_path_unary(x: f64) -> f64 {
    f64::exp(x) + f64::ln(x) + f64::sin(x) * f64::sqrt(x) - f64::tanh(x) + f64::abs(x) + f64::cbrt(x)
}

#[test]
fn path_form_unary_methods() {
    let g = generated!(f_path_unary, f_path_unary_grad, f_path_unary_vjp, f_path_unary_pullback; x);
    check_box_exact(&g, &mut Rng::for_test("path_unary"), &[(0.2, 3.0)], |p| {
        let x = p[0];
        let t = x.tanh();
        vec![
            x.exp() + 1.0 / x + x.cos() * x.sqrt() + x.sin() * 0.5 / x.sqrt() - (1.0 - t * t)
                + 1.0
                + 1.0 / (3.0 * x.cbrt() * x.cbrt()),
        ]
    });
}

#[differentiate]
fn f_path_exp(x: f64) -> f64 {
    f64::exp(x)
}

#[differentiate]
fn f_path_cos(x: f64) -> f64 {
    f64::cos(x)
}

#[differentiate]
fn f_path_recip(x: f64) -> f64 {
    f64::recip(x)
}

#[test]
fn path_form_single_methods() {
    let mut rng = Rng::for_test("path_single");
    let exp = generated!(f_path_exp, f_path_exp_grad, f_path_exp_vjp, f_path_exp_pullback; x);
    check_box_exact(&exp, &mut rng, &[(-3.0, 3.0)], |p| vec![p[0].exp()]);
    let cos = generated!(f_path_cos, f_path_cos_grad, f_path_cos_vjp, f_path_cos_pullback; x);
    check_box_exact(&cos, &mut rng, &[(0.2, 2.9)], |p| vec![-p[0].sin()]);
    let recip = generated!(f_path_recip, f_path_recip_grad, f_path_recip_vjp, f_path_recip_pullback; x);
    check_box_exact(&recip, &mut rng, &[(0.2, 5.0)], |p| vec![-1.0 / (p[0] * p[0])]);
}

#[differentiate]
fn f_path_powf(a: f64, x: f64) -> f64 {
    f64::powf(a, x)
}

#[test]
fn path_form_powf() {
    let g = generated!(f_path_powf, f_path_powf_grad, f_path_powf_vjp, f_path_powf_pullback; a, x);
    check_box_exact(&g, &mut Rng::for_test("path_powf"), &[(0.2, 4.0), (-2.0, 2.0)], |p| {
        let (a, x) = (p[0], p[1]);
        vec![x * a.powf(x - 1.0), a.powf(x) * a.ln()]
    });
}

#[differentiate]
fn f_path_powf_constant_base(x: f64) -> f64 {
    f64::powf(3.0, x)
}

#[test]
fn path_form_powf_constant_base() {
    let g = generated!(f_path_powf_constant_base, f_path_powf_constant_base_grad, f_path_powf_constant_base_vjp,
        f_path_powf_constant_base_pullback; x);
    check_box_exact(&g, &mut Rng::for_test("path_powf_constant"), &[(-3.0, 3.0)], |p| {
        vec![3f64.ln() * 3f64.powf(p[0])]
    });
}

#[differentiate]
fn f_path_powi(x: f64) -> f64 {
    f64::powi(x, 4)
}

#[test]
fn path_form_powi() {
    let g = generated!(f_path_powi, f_path_powi_grad, f_path_powi_vjp, f_path_powi_pullback; x);
    check_sampled_exact(
        &g,
        &mut Rng::for_test("path_powi"),
        |r| vec![r.signed(0.2, 3.0)],
        |p| vec![4.0 * p[0].powi(3)],
    );
}

#[differentiate]
fn f_path_max(a: f64, b: f64) -> f64 {
    f64::max(a, b)
}

#[differentiate]
fn f_path_min(a: f64, b: f64) -> f64 {
    f64::min(a, b)
}

#[test]
fn path_form_max_and_min() {
    let mut rng = Rng::for_test("path_max_min");
    let max = generated!(f_path_max, f_path_max_grad, f_path_max_vjp, f_path_max_pullback; a, b);
    check_sampled_exact(&max, &mut rng, first_larger, |_| vec![1.0, 0.0]);
    check_sampled_exact(&max, &mut rng, second_larger, |_| vec![0.0, 1.0]);
    let min = generated!(f_path_min, f_path_min_grad, f_path_min_vjp, f_path_min_pullback; a, b);
    check_sampled_exact(&min, &mut rng, first_larger, |_| vec![0.0, 1.0]);
    check_sampled_exact(&min, &mut rng, second_larger, |_| vec![1.0, 0.0]);
}

#[differentiate]
fn f_path_relu(x: f64) -> f64 {
    f64::max(0.0, x)
}

#[test]
fn path_form_max_with_constant_receiver() {
    let g = generated!(f_path_relu, f_path_relu_grad, f_path_relu_vjp, f_path_relu_pullback; x);
    check_sampled_exact(
        &g,
        &mut Rng::for_test("path_relu"),
        |r| vec![r.signed(0.1, 3.0)],
        |p| vec![if p[0] > 0.0 { 1.0 } else { 0.0 }],
    );
}

#[differentiate]
fn f_path_binary(y: f64, x: f64) -> f64 {
    // The qualified form `<f64>::name` is the same function.
    f64::atan2(y, x) + <f64>::hypot(x, y) + f64::log(x * x + 1.0, y * y + 2.0)
}

#[test]
fn path_form_atan2_hypot_log() {
    let g = generated!(f_path_binary, f_path_binary_grad, f_path_binary_vjp, f_path_binary_pullback; y, x);
    check_sampled_exact(&g, &mut Rng::for_test("path_binary"), atan2_point, |p| {
        let (y, x) = (p[0], p[1]);
        let r2 = x * x + y * y;
        let (u, v) = (x * x + 1.0, y * y + 2.0);
        // log_v(u) = ln u / ln v
        let dlog_du = 1.0 / (u * v.ln());
        let dlog_dv = -u.ln() / (v * v.ln() * v.ln());
        vec![
            x / r2 + y / r2.sqrt() + dlog_dv * 2.0 * y,
            -y / r2 + x / r2.sqrt() + dlog_du * 2.0 * x,
        ]
    });
}

#[differentiate]
fn f_path_mul_add(a: f64, b: f64, c: f64) -> f64 {
    f64::mul_add(a, b, c)
}

#[test]
fn path_form_mul_add() {
    let g = generated!(f_path_mul_add, f_path_mul_add_grad, f_path_mul_add_vjp, f_path_mul_add_pullback; a, b, c);
    check_box_exact(
        &g,
        &mut Rng::for_test("path_mul_add"),
        &[(-3.0, 3.0), (-3.0, 3.0), (-3.0, 3.0)],
        |p| vec![p[1], p[0], 1.0],
    );
}

#[differentiate]
fn f_path_clamp(x: f64, lo: f64, hi: f64) -> f64 {
    f64::clamp(x, lo, hi)
}

#[test]
fn path_form_clamp() {
    let mut rng = Rng::for_test("path_clamp");
    let g = generated!(f_path_clamp, f_path_clamp_grad, f_path_clamp_vjp, f_path_clamp_pullback; x, lo, hi);
    check_box_exact(&g, &mut rng, &[(-0.9, 0.9), (-3.0, -1.0), (1.0, 3.0)], |_| {
        vec![1.0, 0.0, 0.0]
    });
    check_box_exact(&g, &mut rng, &[(-6.0, -3.1), (-3.0, -1.0), (1.0, 3.0)], |_| {
        vec![0.0, 1.0, 0.0]
    });
    check_box_exact(&g, &mut rng, &[(3.1, 6.0), (-3.0, -1.0), (1.0, 3.0)], |_| {
        vec![0.0, 0.0, 1.0]
    });
}

#[differentiate]
fn f_path_and_method_mixed(x: f64, y: f64) -> f64 {
    f64::exp(x).sin() + y.cos() * f64::sinh(x * y)
}

#[test]
fn path_and_method_forms_mixed() {
    let g = generated!(f_path_and_method_mixed, f_path_and_method_mixed_grad, f_path_and_method_mixed_vjp,
        f_path_and_method_mixed_pullback; x, y);
    check_box_exact(&g, &mut Rng::for_test("path_mixed"), &[(-1.0, 1.0), (-1.5, 1.5)], |p| {
        let (x, y) = (p[0], p[1]);
        vec![
            x.exp().cos() * x.exp() + y.cos() * (x * y).cosh() * y,
            -y.sin() * (x * y).sinh() + y.cos() * (x * y).cosh() * x,
        ]
    });
}

// ----- all rules at once ------------------------------------------------------

/// Many rules composed, so that adjoints accumulate through long chains.
#[differentiate]
fn f_composed(x: f64, y: f64) -> f64 {
    let a = (x * x + 1.0).ln().sqrt() * y.exp2();
    let b = (x / (1.0 + y * y)).atan().sinh() + x.hypot(y).cbrt();
    let c = y.tanh().asinh() - (x * 0.3).asin() * (y * 0.3).acos();
    let d = (x * x + 2.0).acosh() + (y * 0.2).atanh() + x.exp_m1().ln_1p();
    a * b - c / (2.0 + d.cos()) + (x + 3.0).log10() * (y + 3.0).log2()
}

#[test]
fn composition_of_many_rules() {
    let g = generated!(f_composed, f_composed_grad, f_composed_vjp, f_composed_pullback; x, y);
    check_box(&g, &mut Rng::for_test("composed"), &[(-2.0, 2.0), (-2.0, 2.0)]);
}

/// max(x, −10)·y + min(y, 10): the constants are typed by their `let`
/// (`let m: f64 = -10.0;`), which their methods need.
#[differentiate]
fn typed_negative_constant(x: f64, y: f64) -> f64 {
    let mut m: f64 = -10.0;
    m = m.max(x);
    let c: f64 = 10.0;
    m * y + c.min(y)
}

#[test]
fn methods_of_typed_negative_constants() {
    let g = generated!(typed_negative_constant, typed_negative_constant_grad, typed_negative_constant_vjp,
        typed_negative_constant_pullback; x, y);
    check_sampled_exact(
        &g,
        &mut Rng::for_test("typed_negative_constant"),
        |rng| vec![rng.uniform(-3.0, 3.0), rng.uniform(-3.0, 3.0)],
        |p| vec![p[1], p[0] + 1.0],
    );
}

/// x⁰ ≡ 1 has derivative 0 everywhere, also at x = 0, where n·xⁿ⁻¹ is 0·∞:
/// `powi(0)`, `powf(0.0)` and the element-wise `ops::powi(v, 0)`.
#[differentiate]
fn zeroth_powers(x: f64, n: i32) -> f64 {
    x.powi(n) + x.powf(f64::from(n)) + x
}

#[differentiate]
fn zeroth_powers_of_elements(v: &chainrule::faer::Col<f64>) -> f64 {
    chainrule::ops::powi(v, 0).sum() + v.sum()
}

#[test]
fn zeroth_powers_have_zero_derivative_at_zero() {
    assert_eq!(zeroth_powers_grad(0.0, 0), (2.0, 1.0));
    assert_eq!(zeroth_powers_grad(2.0, 0), (4.0, 1.0));
    let v = chainrule::faer::Col::from_fn(3, |i| i as f64 - 1.0);
    let (value, gradient) = zeroth_powers_of_elements_grad(&v);
    assert_eq!(value, 3.0);
    assert_eq!(gradient, chainrule::faer::Col::<f64>::from_fn(3, |_| 1.0));
}

/// `let k: f64 = n.into();` of a constant integer and of the differentiated
/// `x` itself: x·k + 2n·x², with derivative k + 4n·x.
// `x.into()` converts an f64 to itself on purpose: it is a form under test.
#[allow(clippy::useless_conversion)]
#[differentiate]
fn converted_with_into(x: f64, n: i32) -> f64 {
    let k: f64 = n.into();
    let twice: f64 = (n * 2).into();
    let same: f64 = x.into();
    same * k + twice * x * x
}

#[test]
fn into_with_a_type_converts_as_from_does() {
    let mut rng = Rng::for_test("converted_with_into");
    for n in [-2, 0, 3] {
        let x = rng.uniform(-3.0, 3.0);
        let (value, derivative) = converted_with_into_grad(x, n);
        assert_eq!(value, converted_with_into(x, n));
        let n = f64::from(n);
        common::assert_close(derivative, n + 4.0 * n * x, 1e-12);
        let h = 1e-6;
        let central = (converted_with_into(x + h, n as i32) - converted_with_into(x - h, n as i32)) / (2.0 * h);
        common::assert_close(derivative, central, 1e-6);
    }
}
