//! Differentiable values seen as flat lists of numbers, a matrix column by
//! column as faer stores it: the layout of the matrices that the generated
//! `f_jacobian` and `f_hessian` return.
//!
//! `f_jacobian` builds its matrix one row at a time: row `i` is the pullback
//! of the unit seed `eᵢ` shaped like the value ([`unit_like`]), i.e. the
//! gradient of output `i`, each parameter's part written from its offset
//! ([`set_jacobian_row`]). `f_hessian` builds its matrix one column at a
//! time: column `k` is the Hessian–vector product with the unit direction
//! `eₖ` over the parameters ([`set_hessian_column`]).

use faer::Mat;

use super::kinds::{Kind, Operand, Target};

/// How many numbers the value holds: 1 for an `f64`, `n` for a vector,
/// `m·n` for a matrix.
pub fn flat_len<V: Operand + ?Sized>(value: &V) -> usize {
    let (nrows, ncols) = V::Kind::shape(value.view());
    nrows * ncols
}

/// A value shaped like `value`, zero except for a 1 at flat position `index`
/// (all zero when `index` is past the end).
pub fn unit_like<V: Operand + ?Sized>(value: &V, index: usize) -> <V::Kind as Kind>::Owned {
    let mut unit = V::Kind::zeros_like(value.view());
    let mut view = V::Kind::as_2d_mut(unit.view_mut());
    let nrows = view.nrows();
    if nrows > 0 && index < nrows * view.ncols() {
        view[(index % nrows, index / nrows)] = 1.0;
    }
    unit
}

/// Writes `part`, flattened, into row `row` of `jacobian` from column
/// `offset` on.
///
/// # Panics
/// If `part` does not fit right of `offset`.
pub fn set_jacobian_row<V: Operand + ?Sized>(jacobian: &mut Mat<f64>, row: usize, offset: usize, part: &V) {
    for_each_flat(part, |k, number| jacobian[(row, offset + k)] = number);
}

/// Writes `part`, flattened, into column `column` of `hessian` from row
/// `offset` on.
///
/// # Panics
/// If `part` does not fit below `offset`.
pub fn set_hessian_column<V: Operand + ?Sized>(hessian: &mut Mat<f64>, column: usize, offset: usize, part: &V) {
    for_each_flat(part, |k, number| hessian[(offset + k, column)] = number);
}

/// Calls `write(k, number)` for the numbers of `value` at flat positions `k`.
fn for_each_flat<V: Operand + ?Sized>(value: &V, mut write: impl FnMut(usize, f64)) {
    let value = V::Kind::as_2d(value.view());
    let nrows = value.nrows();
    for j in 0..value.ncols() {
        for i in 0..nrows {
            write(j * nrows + i, value[(i, j)]);
        }
    }
}
