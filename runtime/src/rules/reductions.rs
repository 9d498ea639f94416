//! Reductions to a scalar and reads of parts: `.sum()`, `.squared_norm_l2()`,
//! `.norm_l2()`, `x[i]`, `a[(i, j)]`, `a.row(i)`, `a.col(j)`, and the
//! function forms `sum(a)` and `dot(x, y)` of `chainrule::ops`. `y` is the
//! result (a scalar but for rows and columns), `ȳ` its adjoint, `a` the
//! vector or matrix, `ā` its adjoint.

use faer::{unzip, zip};

use faer::{ColRef, MatRef, RowRef};

use super::kinds::{Array, Column, Kind, Matrix, Operand, RowVector, Slice, Target};

/// y = Σ aᵢⱼ: ā += ȳ·1 (every element)
#[inline]
pub fn sum_pb<T: Target + ?Sized>(adj_a: &mut T, adj_y: &f64) {
    let adj_y = *adj_y;
    zip!(T::Kind::as_2d_mut(adj_a.view_mut())).for_each(|unzip!(d)| *d += adj_y);
}

/// y = ‖a‖² = Σ aᵢⱼ²: ā += 2ȳ·a
#[inline]
pub fn squared_norm_pb<T, A>(adj_a: &mut T, adj_y: &f64, a: &A)
where
    T: Target + ?Sized,
    A: Operand<Kind = T::Kind> + ?Sized,
{
    T::Kind::axpy(adj_a.view_mut(), 2.0 * adj_y, a.view());
}

/// y = ‖a‖: ā += ȳ·a / y, and 0 where y = 0 (the convention of `|x|'(0)`)
#[inline]
pub fn norm_pb<T, A>(adj_a: &mut T, adj_y: &f64, y: &f64, a: &A)
where
    T: Target + ?Sized,
    A: Operand<Kind = T::Kind> + ?Sized,
{
    if *y != 0.0 {
        T::Kind::axpy(adj_a.view_mut(), adj_y / y, a.view());
    }
}

/// y = x·z for two columns: x̄ += ȳ·z (and z̄ += ȳ·x with the roles swapped)
#[inline]
pub fn dot_pb<T, Z>(adj_x: &mut T, adj_y: &f64, z: &Z)
where
    T: Target + ?Sized,
    Z: Operand<Kind = T::Kind> + ?Sized,
{
    T::Kind::axpy(adj_x.view_mut(), *adj_y, z.view());
}

/// Kinds whose elements can be read by index, with direct access to one
/// element of a view (no 2-D view is built: these run in inner loops).
#[diagnostic::on_unimplemented(
    message = "chainrule cannot read elements of a `{Self}` with this index",
    note = "index a column, row, slice or array with `x[i]` and a matrix with `a[(i, j)]`"
)]
pub trait ElementIndex<I>: Kind {
    fn get_at(view: Self::View<'_>, index: I) -> f64;
    fn element_at<'a>(view: Self::ViewMut<'a>, index: I) -> &'a mut f64;
}

impl ElementIndex<usize> for Column {
    #[inline]
    fn get_at(view: ColRef<'_, f64>, i: usize) -> f64 {
        view[i]
    }
    #[inline]
    fn element_at<'a>(view: Self::ViewMut<'a>, i: usize) -> &'a mut f64 {
        view.get_mut(i)
    }
}

impl ElementIndex<usize> for RowVector {
    #[inline]
    fn get_at(view: RowRef<'_, f64>, j: usize) -> f64 {
        view[j]
    }
    #[inline]
    fn element_at<'a>(view: Self::ViewMut<'a>, j: usize) -> &'a mut f64 {
        view.get_mut(j)
    }
}

impl ElementIndex<usize> for Slice {
    #[inline]
    fn get_at(view: &[f64], i: usize) -> f64 {
        view[i]
    }
    #[inline]
    fn element_at<'a>(view: Self::ViewMut<'a>, i: usize) -> &'a mut f64 {
        &mut view[i]
    }
}

impl<const N: usize> ElementIndex<usize> for Array<N> {
    #[inline]
    fn get_at(view: &[f64; N], i: usize) -> f64 {
        view[i]
    }
    #[inline]
    fn element_at<'a>(view: Self::ViewMut<'a>, i: usize) -> &'a mut f64 {
        &mut view[i]
    }
}

impl ElementIndex<(usize, usize)> for Matrix {
    #[inline]
    fn get_at(view: MatRef<'_, f64>, (i, j): (usize, usize)) -> f64 {
        view[(i, j)]
    }
    #[inline]
    fn element_at<'a>(view: Self::ViewMut<'a>, (i, j): (usize, usize)) -> &'a mut f64 {
        view.get_mut(i, j)
    }
}

/// y = a[index]: ā[index] += ȳ
///
/// # Panics
/// If the index is out of bounds (as the forward read would have).
#[inline]
pub fn index_pb<T, I>(adj_a: &mut T, adj_y: &f64, index: &I)
where
    T: Target + ?Sized,
    T::Kind: ElementIndex<I>,
    I: Copy,
{
    *T::Kind::element_at(adj_a.view_mut(), *index) += adj_y;
}

/// y = a.row(i): ā.row(i) += ȳ
///
/// # Panics
/// If `i` is out of bounds (as the forward read would have).
#[inline]
pub fn row_pb<T, Y>(adj_a: &mut T, adj_y: &Y, i: &usize)
where
    T: Target + ?Sized,
    Y: Operand + ?Sized,
{
    let adj_y = Y::Kind::as_2d(adj_y.view());
    let row = T::Kind::as_2d_mut(adj_a.view_mut()).subrows_mut(*i, 1);
    zip!(row, adj_y).for_each(|unzip!(a, y)| *a += *y);
}

/// y = a.col(j): ā.col(j) += ȳ
///
/// # Panics
/// If `j` is out of bounds (as the forward read would have).
#[inline]
pub fn col_pb<T, Y>(adj_a: &mut T, adj_y: &Y, j: &usize)
where
    T: Target + ?Sized,
    Y: Operand + ?Sized,
{
    let adj_y = Y::Kind::as_2d(adj_y.view());
    let col = T::Kind::as_2d_mut(adj_a.view_mut()).subcols_mut(*j, 1);
    zip!(col, adj_y).for_each(|unzip!(a, y)| *a += *y);
}

/// Sequences a `#[differentiate]` loop can iterate over by index: slices,
/// `Vec`s and arrays (of `f64`, or of constants such as a network's weight
/// matrices), and faer vectors.
#[diagnostic::on_unimplemented(
    message = "chainrule cannot iterate over the elements of `{Self}`",
    label = "expected a slice, `Vec`, array or faer `Col`/`Row`"
)]
pub trait Length {
    fn length(&self) -> usize;
}

impl<T> Length for [T] {
    fn length(&self) -> usize {
        self.len()
    }
}

impl<T> Length for Vec<T> {
    fn length(&self) -> usize {
        self.len()
    }
}

impl<T, const N: usize> Length for [T; N] {
    fn length(&self) -> usize {
        N
    }
}

impl<T: Length + ?Sized> Length for &T {
    fn length(&self) -> usize {
        (**self).length()
    }
}

/// Implements [`Length`] for faer vectors and their views.
macro_rules! vector_length {
    ($($vector:ty => $len:ident),*) => {$(
        impl Length for $vector {
            fn length(&self) -> usize {
                self.$len()
            }
        }
    )*};
}

vector_length!(
    faer::Col<f64> => nrows,
    faer::ColRef<'_, f64> => nrows,
    faer::Row<f64> => ncols,
    faer::RowRef<'_, f64> => ncols
);

/// The number of elements of `sequence`: the trip count of `for x in sequence`.
#[inline]
pub fn length<S: Length + ?Sized>(sequence: &S) -> usize {
    sequence.length()
}

/// How many values `range` yields, a range with `step_by`, `skip`, `take`
/// and `rev` adapters: the trip count of a loop over it, which
/// `#[differentiate]` writes as a counted loop.
#[inline]
pub fn range_count<R: Iterator + Clone>(range: &R) -> usize {
    // Exact for ranges of integers and those adapters: their size hint is
    // their length.
    range.clone().size_hint().0
}

/// The `k`-th value of `range` (see [`range_count`]), found in constant
/// time: `Iterator::nth` of a range adds to its start, and each adapter
/// turns `nth` into one `nth` (or `nth_back`) of what it adapts.
///
/// # Panics
/// If the range has no such value (`k` is not below [`range_count`]).
#[inline]
pub fn range_value<R: Iterator + Clone>(range: &R, k: usize) -> R::Item {
    range
        .clone()
        .nth(k)
        .expect("a value of an adapted range within its count")
}

/// An element of a buffer built or written element by element: `e` is stored
/// at `index` (`v = [.., e, ..]` or `v[index] = e`), so ē += v̄[index].
#[inline]
pub fn element_pb<T, B, I>(adj_element: &mut T, adj_buffer: &B, index: &I)
where
    T: Target<Kind = super::kinds::Scalar> + ?Sized,
    B: Operand + ?Sized,
    B::Kind: ElementIndex<I>,
    I: Copy,
{
    *adj_element.view_mut() += B::Kind::get_at(adj_buffer.view(), *index);
}

/// `v[index] = e` overwrote the element: its earlier value no longer reaches
/// the result, so v̄[index] = 0 before going further back.
#[inline]
pub fn clear_element<T, I>(adj_buffer: &mut T, index: &I)
where
    T: Target + ?Sized,
    T::Kind: ElementIndex<I>,
    I: Copy,
{
    *T::Kind::element_at(adj_buffer.view_mut(), *index) = 0.0;
}
