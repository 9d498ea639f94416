//! Helpers of the generated `f_jacobian`, which builds the Jacobian of a
//! column-valued function one row at a time: row `i` is the pullback of the
//! unit seed `eᵢ`, i.e. the gradient of output `i`.

use faer::{Col, Mat};

use super::kinds::{Column, Kind, Operand};

/// The unit column `eᵢ` of length `n`.
pub fn unit_column(n: usize, i: usize) -> Col<f64> {
    Col::from_fn(n, |k| if k == i { 1.0 } else { 0.0 })
}

/// Writes the gradient of output `row` (a column of the input's length) into
/// that row of a numerator-layout Jacobian.
///
/// # Panics
/// If the lengths differ.
pub fn set_jacobian_row<G: Operand<Kind = Column> + ?Sized>(jacobian: &mut Mat<f64>, row: usize, gradient: &G) {
    let gradient = Column::as_2d(gradient.view());
    assert_eq!(
        gradient.nrows(),
        jacobian.ncols(),
        "the gradient does not match the Jacobian's width"
    );
    for (j, value) in gradient.col(0).iter().enumerate() {
        jacobian[(row, j)] = *value;
    }
}

/// Writes the derivatives of output `row` with respect to each scalar input
/// into that row of a numerator-layout Jacobian.
pub fn set_jacobian_row_scalars(jacobian: &mut Mat<f64>, row: usize, derivatives: &[f64]) {
    for (j, value) in derivatives.iter().enumerate() {
        jacobian[(row, j)] = *value;
    }
}
