//! `+ - * /` and negation of `f64`: the forward operation, then one pullback
//! per operand. `y` is the result, `ȳ` its adjoint, `a` and `b` the operands.

/// y = a + b
#[inline]
pub fn add(a: &f64, b: &f64) -> f64 {
    a + b
}

/// ā += ȳ
#[inline]
pub fn add_pb_lhs(adj_a: &mut f64, adj_y: &f64) {
    *adj_a += adj_y;
}

/// b̄ += ȳ
#[inline]
pub fn add_pb_rhs(adj_b: &mut f64, adj_y: &f64) {
    *adj_b += adj_y;
}

/// y = a − b
#[inline]
pub fn sub(a: &f64, b: &f64) -> f64 {
    a - b
}

/// ā += ȳ
#[inline]
pub fn sub_pb_lhs(adj_a: &mut f64, adj_y: &f64) {
    *adj_a += adj_y;
}

/// b̄ −= ȳ
#[inline]
pub fn sub_pb_rhs(adj_b: &mut f64, adj_y: &f64) {
    *adj_b -= adj_y;
}

/// y = a·b
#[inline]
pub fn mul(a: &f64, b: &f64) -> f64 {
    a * b
}

/// ā += ȳ·b
#[inline]
pub fn mul_pb_lhs(adj_a: &mut f64, adj_y: &f64, b: &f64) {
    *adj_a += adj_y * b;
}

/// b̄ += a·ȳ
#[inline]
pub fn mul_pb_rhs(adj_b: &mut f64, adj_y: &f64, a: &f64) {
    *adj_b += a * adj_y;
}

/// y = a / b
#[inline]
pub fn div(a: &f64, b: &f64) -> f64 {
    a / b
}

/// ā += ȳ / b
#[inline]
pub fn div_pb_lhs(adj_a: &mut f64, adj_y: &f64, b: &f64) {
    *adj_a += adj_y / b;
}

/// b̄ −= ȳ·a / b² = ȳ·y / b
#[inline]
pub fn div_pb_rhs(adj_b: &mut f64, adj_y: &f64, y: &f64, b: &f64) {
    *adj_b -= adj_y * y / b;
}

/// y = −a
#[inline]
pub fn neg(a: &f64) -> f64 {
    -a
}

/// ā −= ȳ
#[inline]
pub fn neg_pb(adj_a: &mut f64, adj_y: &f64) {
    *adj_a -= adj_y;
}
