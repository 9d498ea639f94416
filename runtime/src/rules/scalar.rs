//! The elementary functions of `f64`: one pullback kernel per operand,
//! `kernel(&mut ā, &ȳ, &primal values...)`, adding the operand's share of the
//! result's adjoint. `y` is the result, `ȳ` its adjoint, `a` the receiver and
//! `b`, `c` the following arguments. Kinks follow the documented conventions:
//! `|·|'(0) = 0`, ties of `max`/`min`/`clamp` go to the first operand.
//!
//! Where a partial derivative is infinite or undefined at a point where the
//! function itself is finite (√a and ∛a at 0, asin and acos at ±1, acosh at
//! 1, aᵇ at a = 0 or a < 0), the kernel adds nothing when ȳ = 0: a value
//! nothing depends on contributes nothing, where ∞·0 would make the whole
//! gradient NaN. `let r = x.sqrt(); if r > 0.0 { … r … } else { … }` at
//! x = 0 sends r the adjoint 0 and must leave x̄ as the other branch has it.

/// y = eᵃ: ā += ȳ·y
#[inline]
pub fn exp_pb(adj_a: &mut f64, adj_y: &f64, y: &f64) {
    *adj_a += adj_y * y;
}

/// y = 2ᵃ: ā += ȳ·y·ln 2
#[inline]
pub fn exp2_pb(adj_a: &mut f64, adj_y: &f64, y: &f64) {
    *adj_a += adj_y * y * core::f64::consts::LN_2;
}

/// y = eᵃ − 1: ā += ȳ·(y + 1)
#[inline]
pub fn exp_m1_pb(adj_a: &mut f64, adj_y: &f64, y: &f64) {
    *adj_a += adj_y * (y + 1.0);
}

/// y = ln a: ā += ȳ / a (+∞ at a = 0)
#[inline]
pub fn ln_pb(adj_a: &mut f64, adj_y: &f64, a: &f64) {
    *adj_a += adj_y / a;
}

/// y = log₂ a: ā += ȳ / (a ln 2)
#[inline]
pub fn log2_pb(adj_a: &mut f64, adj_y: &f64, a: &f64) {
    *adj_a += adj_y / (a * core::f64::consts::LN_2);
}

/// y = log₁₀ a: ā += ȳ / (a ln 10)
#[inline]
pub fn log10_pb(adj_a: &mut f64, adj_y: &f64, a: &f64) {
    *adj_a += adj_y / (a * core::f64::consts::LN_10);
}

/// y = ln(1 + a): ā += ȳ / (1 + a)
#[inline]
pub fn ln_1p_pb(adj_a: &mut f64, adj_y: &f64, a: &f64) {
    *adj_a += adj_y / (1.0 + a);
}

/// y = √a: ā += ȳ / (2y) (+∞ at a = 0; nothing where ȳ = 0)
#[inline]
pub fn sqrt_pb(adj_a: &mut f64, adj_y: &f64, y: &f64) {
    if *adj_y != 0.0 {
        *adj_a += adj_y / (2.0 * y);
    }
}

/// y = ∛a: ā += ȳ / (3y²) (nothing where ȳ = 0)
#[inline]
pub fn cbrt_pb(adj_a: &mut f64, adj_y: &f64, y: &f64) {
    if *adj_y != 0.0 {
        *adj_a += adj_y / (3.0 * y * y);
    }
}

/// y = 1 / a: ā −= ȳ·y²
#[inline]
pub fn recip_pb(adj_a: &mut f64, adj_y: &f64, y: &f64) {
    *adj_a += -(adj_y * y * y);
}

/// y = a·180/π: ā += ȳ·180/π (the same rounding as `to_degrees`)
#[inline]
pub fn to_degrees_pb(adj_a: &mut f64, adj_y: &f64) {
    *adj_a += adj_y.to_degrees();
}

/// y = a·π/180: ā += ȳ·π/180 (the same rounding as `to_radians`)
#[inline]
pub fn to_radians_pb(adj_a: &mut f64, adj_y: &f64) {
    *adj_a += adj_y.to_radians();
}

/// The sign of `a` as the derivative of `|a|`: −1, 0 or 1, with `|·|'(0) = 0`
/// (where `f64::signum` gives ±1). Forward mode multiplies tangents by it.
#[inline]
pub fn sign(a: f64) -> f64 {
    if a > 0.0 {
        1.0
    } else if a < 0.0 {
        -1.0
    } else {
        0.0
    }
}

/// y = |a|: ā += ȳ·sign(a), with |·|'(0) = 0
#[inline]
pub fn abs_pb(adj_a: &mut f64, adj_y: &f64, a: &f64) {
    *adj_a += if *a > 0.0 {
        *adj_y
    } else if *a < 0.0 {
        -adj_y
    } else {
        0.0
    };
}

/// y = sin a: ā += ȳ·cos a
#[inline]
pub fn sin_pb(adj_a: &mut f64, adj_y: &f64, a: &f64) {
    *adj_a += adj_y * a.cos();
}

/// y = cos a: ā −= ȳ·sin a
#[inline]
pub fn cos_pb(adj_a: &mut f64, adj_y: &f64, a: &f64) {
    *adj_a += -(adj_y * a.sin());
}

/// y = tan a: ā += ȳ·(1 + y²)
#[inline]
pub fn tan_pb(adj_a: &mut f64, adj_y: &f64, y: &f64) {
    *adj_a += adj_y * (1.0 + y * y);
}

/// y = asin a: ā += ȳ / √(1 − a²) (nothing where ȳ = 0)
#[inline]
pub fn asin_pb(adj_a: &mut f64, adj_y: &f64, a: &f64) {
    if *adj_y != 0.0 {
        *adj_a += adj_y / (1.0 - a * a).sqrt();
    }
}

/// y = acos a: ā −= ȳ / √(1 − a²) (nothing where ȳ = 0)
#[inline]
pub fn acos_pb(adj_a: &mut f64, adj_y: &f64, a: &f64) {
    if *adj_y != 0.0 {
        *adj_a += -(adj_y / (1.0 - a * a).sqrt());
    }
}

/// y = atan a: ā += ȳ / (1 + a²)
#[inline]
pub fn atan_pb(adj_a: &mut f64, adj_y: &f64, a: &f64) {
    *adj_a += adj_y / (1.0 + a * a);
}

/// y = sinh a: ā += ȳ·cosh a
#[inline]
pub fn sinh_pb(adj_a: &mut f64, adj_y: &f64, a: &f64) {
    *adj_a += adj_y * a.cosh();
}

/// y = cosh a: ā += ȳ·sinh a
#[inline]
pub fn cosh_pb(adj_a: &mut f64, adj_y: &f64, a: &f64) {
    *adj_a += adj_y * a.sinh();
}

/// y = tanh a: ā += ȳ·(1 − y²)
#[inline]
pub fn tanh_pb(adj_a: &mut f64, adj_y: &f64, y: &f64) {
    *adj_a += adj_y * (1.0 - y * y);
}

/// y = asinh a: ā += ȳ / √(a² + 1)
#[inline]
pub fn asinh_pb(adj_a: &mut f64, adj_y: &f64, a: &f64) {
    *adj_a += adj_y / (a * a + 1.0).sqrt();
}

/// y = acosh a: ā += ȳ / √(a² − 1) (nothing where ȳ = 0)
#[inline]
pub fn acosh_pb(adj_a: &mut f64, adj_y: &f64, a: &f64) {
    if *adj_y != 0.0 {
        *adj_a += adj_y / (a * a - 1.0).sqrt();
    }
}

/// y = atanh a: ā += ȳ / (1 − a²)
#[inline]
pub fn atanh_pb(adj_a: &mut f64, adj_y: &f64, a: &f64) {
    *adj_a += adj_y / (1.0 - a * a);
}

/// y = ln a / ln b: ā += ȳ / (a ln b)
#[inline]
pub fn log_pb_value(adj_a: &mut f64, adj_y: &f64, a: &f64, b: &f64) {
    *adj_a += adj_y / (a * b.ln());
}

/// y = ln a / ln b: b̄ −= ȳ·ln a / (b (ln b)²) = ȳ·y / (b ln b)
#[inline]
pub fn log_pb_base(adj_b: &mut f64, adj_y: &f64, y: &f64, b: &f64) {
    *adj_b -= adj_y * y / (b * b.ln());
}

/// y = aⁿ, n an integer: ā += ȳ·n·aⁿ⁻¹; for n = 0, y ≡ 1 and ā is
/// unchanged (n·aⁿ⁻¹ would be 0·∞ at a = 0).
#[inline]
pub fn powi_pb(adj_a: &mut f64, adj_y: &f64, a: &f64, n: &i32) {
    if *n != 0 {
        *adj_a += adj_y * f64::from(*n) * a.powi(n - 1);
    }
}

/// y = aᵇ: ā += ȳ·b·aᵇ⁻¹; for b = 0, y ≡ 1 and ā is unchanged (nothing
/// where ȳ = 0 either: aᵇ⁻¹ is infinite at a = 0 for b < 1).
#[inline]
pub fn powf_pb_base(adj_a: &mut f64, adj_y: &f64, a: &f64, b: &f64) {
    if *b != 0.0 && *adj_y != 0.0 {
        *adj_a += adj_y * b * a.powf(b - 1.0);
    }
}

/// y = aᵇ: b̄ += ȳ·y·ln a, taken as 0 where y = 0 (so 0ᵇ contributes
/// nothing) and where ȳ = 0 (ln a is NaN for a < 0, where integer b give
/// finite y).
#[inline]
pub fn powf_pb_exponent(adj_b: &mut f64, adj_y: &f64, y: &f64, a: &f64) {
    if *y != 0.0 && *adj_y != 0.0 {
        *adj_b += adj_y * y * a.ln();
    }
}

/// y = atan2(a, b): ā += ȳ·b / (a² + b²)
#[inline]
pub fn atan2_pb_lhs(adj_a: &mut f64, adj_y: &f64, a: &f64, b: &f64) {
    *adj_a += adj_y * b / (a * a + b * b);
}

/// y = atan2(a, b): b̄ −= ȳ·a / (a² + b²)
#[inline]
pub fn atan2_pb_rhs(adj_b: &mut f64, adj_y: &f64, a: &f64, b: &f64) {
    *adj_b -= adj_y * a / (a * a + b * b);
}

/// y = √(a² + b²): ā += ȳ·a / y for either operand `a`; 0 where y = 0
#[inline]
pub fn hypot_pb(adj_a: &mut f64, adj_y: &f64, y: &f64, a: &f64) {
    if *y != 0.0 {
        *adj_a += adj_y * a / y;
    }
}

/// y = max(a, b) or min(a, b): ā += ȳ when y = a (ties go to `a`)
#[inline]
pub fn select_pb_first(adj_a: &mut f64, adj_y: &f64, y: &f64, a: &f64) {
    if y == a {
        *adj_a += adj_y;
    }
}

/// y = max(a, b) or min(a, b): b̄ += ȳ when y ≠ a
#[inline]
pub fn select_pb_second(adj_b: &mut f64, adj_y: &f64, y: &f64, a: &f64) {
    if y != a {
        *adj_b += adj_y;
    }
}

/// y = clamp(a, lo, hi): ā += ȳ when y = a (a within the bounds, inclusive)
#[inline]
pub fn clamp_pb_value(adj_a: &mut f64, adj_y: &f64, y: &f64, a: &f64) {
    if y == a {
        *adj_a += adj_y;
    }
}

/// y = clamp(a, lo, hi): l̄o += ȳ when y = lo ≠ a
#[inline]
pub fn clamp_pb_low(adj_lo: &mut f64, adj_y: &f64, y: &f64, a: &f64, lo: &f64) {
    if y != a && y == lo {
        *adj_lo += adj_y;
    }
}

/// y = clamp(a, lo, hi): h̄i += ȳ when y = hi and y ≠ a, lo
#[inline]
pub fn clamp_pb_high(adj_hi: &mut f64, adj_y: &f64, y: &f64, a: &f64, lo: &f64) {
    if y != a && y != lo {
        *adj_hi += adj_y;
    }
}

// The tangents of the functions above, written by `f_jvp` and differentiated
// again by `f_hvp`. Where the derivative is infinite (√a at 0), a tangent
// that nothing uses has the adjoint 0, and `/` and `*` would add 0·∞ = NaN
// to second derivatives that are 0: these add nothing where ȳ = 0.

/// y = t / d: a tangent `t` over a factor `d` of the derivative that may be 0
/// (√a: d = 2√a; asin a: d = √(1 − a²))
#[inline]
pub fn tangent_div(t: f64, d: f64) -> f64 {
    t / d
}

/// y = t / d: t̄ += ȳ / d (nothing where ȳ = 0)
#[inline]
pub fn tangent_div_pb_lhs(adj_t: &mut f64, adj_y: &f64, d: &f64) {
    if *adj_y != 0.0 {
        *adj_t += adj_y / d;
    }
}

/// y = t / d: d̄ −= ȳ·y / d (nothing where ȳ = 0)
#[inline]
pub fn tangent_div_pb_rhs(adj_d: &mut f64, adj_y: &f64, y: &f64, d: &f64) {
    if *adj_y != 0.0 {
        *adj_d -= adj_y * y / d;
    }
}

/// y = f·t: a tangent `t` times a factor `f` of the derivative that may be
/// infinite (aᵇ at a = 0 with b < 1: f = b·aᵇ⁻¹)
#[inline]
pub fn tangent_mul(f: f64, t: f64) -> f64 {
    f * t
}

/// y = f·t: f̄ += ȳ·t and t̄ += ȳ·f, each `tangent_mul_pb(&mut ā, &ȳ, &other)`
/// (nothing where ȳ = 0)
#[inline]
pub fn tangent_mul_pb(adj_a: &mut f64, adj_y: &f64, other: &f64) {
    if *adj_y != 0.0 {
        *adj_a += adj_y * other;
    }
}
