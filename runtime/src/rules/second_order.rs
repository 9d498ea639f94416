//! Helpers of the generated `f_hessian`, which builds the Hessian one column
//! at a time: column `k` is the Hessian–vector product with the unit
//! direction `eₖ` over the differentiated parameters flattened in order (a
//! matrix column by column, as faer stores it).

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

/// Writes `part`, flattened, into column `column` of `hessian` from row
/// `offset` on.
///
/// # Panics
/// If `part` does not fit below `offset`.
pub fn set_hessian_column<V: Operand + ?Sized>(hessian: &mut Mat<f64>, column: usize, offset: usize, part: &V) {
    let part = V::Kind::as_2d(part.view());
    let (nrows, ncols) = (part.nrows(), part.ncols());
    for j in 0..ncols {
        for i in 0..nrows {
            hessian[(offset + j * nrows + i, column)] = part[(i, j)];
        }
    }
}
