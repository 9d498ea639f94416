//! The shapes chainrule differentiates, and the traits that let one kernel
//! serve owned values, references and views alike.
//!
//! The macro does not know types, so generated code calls generic kernels and
//! rustc picks the implementation from the real types. Every differentiable
//! type is an [`Operand`] of one [`Kind`]: `f64` is a [`Scalar`]; `Col<f64>`,
//! `ColRef`, `ColMut` are [`Column`]s; `Row…` are [`RowVector`]s; `Mat…` are
//! [`Matrix`]es; `[f64]` and `Vec<f64>` are [`Slice`]s and `[f64; N]` an
//! [`Array`], both seen as columns; and `&T` is whatever `T` is, so `&a` works
//! whether `a` is owned, a reference or a view. Rules are implemented once per
//! kind (or pair of kinds), each on the kind's borrowed view, and every kind
//! can also be seen as a 2-D matrix view (a scalar is 1×1, a column n×1, a row
//! 1×n), which lets one `matmul` line serve every shape of product.
//!
//! Adjoints are written through a [`Target`]: an owned value or a mutable view,
//! such as the transposed view of an adjoint that `.transpose()` accumulates
//! into without a buffer of its own.

use faer::{Col, ColMut, ColRef, Mat, MatMut, MatRef, Row, RowMut, RowRef, unzip, zip};

/// `f64`.
pub struct Scalar;
/// `Col<f64>` and its views.
pub struct Column;
/// `Row<f64>` and its views.
pub struct RowVector;
/// `Mat<f64>` and its views.
pub struct Matrix;
/// `[f64]`, `Vec<f64>`: a slice of any length, seen as a column.
pub struct Slice;
/// `[f64; N]`: an array, seen as a column of length `N`.
pub struct Array<const N: usize>;

/// A shape of value, with its borrowed and owned forms.
pub trait Kind {
    /// A read-only view: `&f64`, `ColRef`, `RowRef`, `MatRef`.
    type View<'a>: Copy;
    /// A writable view: `&mut f64`, `ColMut`, `RowMut`, `MatMut`.
    type ViewMut<'a>;
    /// The owned value, which is also the type of gradients of this kind.
    type Owned: Clone + Operand<Kind = Self> + Target<Kind = Self>;
    /// The view as a matrix (a scalar is 1×1, a column n×1, a row 1×n).
    fn as_2d<'a>(view: Self::View<'a>) -> MatRef<'a, f64>;
    /// The writable view as a matrix.
    fn as_2d_mut<'a>(view: Self::ViewMut<'a>) -> MatMut<'a, f64>;
    /// A zero value of the given 2-D shape.
    fn zeros(nrows: usize, ncols: usize) -> Self::Owned;

    /// The 2-D shape `(nrows, ncols)`.
    #[inline]
    fn shape(view: Self::View<'_>) -> (usize, usize) {
        let view = Self::as_2d(view);
        (view.nrows(), view.ncols())
    }

    /// A zero value shaped like `view`.
    #[inline]
    fn zeros_like(view: Self::View<'_>) -> Self::Owned {
        let (nrows, ncols) = Self::shape(view);
        Self::zeros(nrows, ncols)
    }

    /// `dst += alpha · src`, element by element.
    ///
    /// # Panics
    /// If the shapes differ (faer's `zip!` message).
    #[inline]
    fn axpy(dst: Self::ViewMut<'_>, alpha: f64, src: Self::View<'_>) {
        zip!(Self::as_2d_mut(dst), Self::as_2d(src)).for_each(|unzip!(d, s)| *d += alpha * *s);
    }

    /// `dst += src / divisor`, element by element.
    #[inline]
    fn axpy_div(dst: Self::ViewMut<'_>, src: Self::View<'_>, divisor: f64) {
        zip!(Self::as_2d_mut(dst), Self::as_2d(src)).for_each(|unzip!(d, s)| *d += *s / divisor);
    }

    /// `alpha · a + beta · b`, a new value.
    ///
    /// # Panics
    /// If the shapes differ.
    #[inline]
    fn lincomb(alpha: f64, a: Self::View<'_>, beta: f64, b: Self::View<'_>) -> Self::Owned {
        let mut out = Self::zeros_like(a);
        zip!(Self::as_2d_mut(out.view_mut()), Self::as_2d(a), Self::as_2d(b))
            .for_each(|unzip!(o, a, b)| *o = alpha * *a + beta * *b);
        out
    }

    /// `f` applied to every element, a new value.
    #[inline]
    fn map(a: Self::View<'_>, f: impl Fn(f64) -> f64) -> Self::Owned {
        let mut out = Self::zeros_like(a);
        zip!(Self::as_2d_mut(out.view_mut()), Self::as_2d(a)).for_each(|unzip!(o, a)| *o = f(*a));
        out
    }

    /// `f` applied to the elements of `a` and `b` in the same place, a new
    /// value.
    ///
    /// # Panics
    /// If the shapes differ.
    #[inline]
    fn zip_map(a: Self::View<'_>, b: Self::View<'_>, f: impl Fn(f64, f64) -> f64) -> Self::Owned {
        let mut out = Self::zeros_like(a);
        zip!(Self::as_2d_mut(out.view_mut()), Self::as_2d(a), Self::as_2d(b))
            .for_each(|unzip!(o, a, b)| *o = f(*a, *b));
        out
    }

    /// `a / divisor`, computed as faer's `/` does for vectors and matrices:
    /// each element times `1 / divisor`.
    #[inline]
    fn divide(a: Self::View<'_>, divisor: f64) -> Self::Owned {
        let factor = 1.0 / divisor;
        Self::map(a, |x| x * factor)
    }

    /// The inner product `⟨a, b⟩ = Σ aᵢⱼ bᵢⱼ`.
    ///
    /// # Panics
    /// If the shapes differ.
    #[inline]
    fn inner(a: Self::View<'_>, b: Self::View<'_>) -> f64 {
        let mut total = 0.0;
        zip!(Self::as_2d(a), Self::as_2d(b)).for_each(|unzip!(a, b)| total += *a * *b);
        total
    }
}

impl Kind for Scalar {
    type View<'a> = &'a f64;
    type ViewMut<'a> = &'a mut f64;
    type Owned = f64;
    #[inline]
    fn as_2d<'a>(view: Self::View<'a>) -> MatRef<'a, f64> {
        MatRef::from_column_major_slice(core::slice::from_ref(view), 1, 1)
    }
    #[inline]
    fn as_2d_mut<'a>(view: Self::ViewMut<'a>) -> MatMut<'a, f64> {
        MatMut::from_column_major_slice_mut(core::slice::from_mut(view), 1, 1)
    }
    #[inline]
    fn zeros(_: usize, _: usize) -> f64 {
        0.0
    }
    #[inline]
    fn shape(_: &f64) -> (usize, usize) {
        (1, 1)
    }
    #[inline]
    fn zeros_like(_: &f64) -> f64 {
        0.0
    }
    #[inline]
    fn axpy(dst: &mut f64, alpha: f64, src: &f64) {
        *dst += alpha * src;
    }
    #[inline]
    fn axpy_div(dst: &mut f64, src: &f64, divisor: f64) {
        *dst += src / divisor;
    }
    #[inline]
    fn lincomb(alpha: f64, a: &f64, beta: f64, b: &f64) -> f64 {
        alpha * a + beta * b
    }
    #[inline]
    fn map(a: &f64, f: impl Fn(f64) -> f64) -> f64 {
        f(*a)
    }
    #[inline]
    fn zip_map(a: &f64, b: &f64, f: impl Fn(f64, f64) -> f64) -> f64 {
        f(*a, *b)
    }
    #[inline]
    fn divide(a: &f64, divisor: f64) -> f64 {
        a / divisor
    }
    #[inline]
    fn inner(a: &f64, b: &f64) -> f64 {
        a * b
    }
}

impl Kind for Column {
    type View<'a> = ColRef<'a, f64>;
    type ViewMut<'a> = ColMut<'a, f64>;
    type Owned = Col<f64>;
    #[inline]
    fn as_2d<'a>(view: Self::View<'a>) -> MatRef<'a, f64> {
        view.as_mat()
    }
    #[inline]
    fn as_2d_mut<'a>(view: Self::ViewMut<'a>) -> MatMut<'a, f64> {
        view.as_mat_mut()
    }
    fn zeros(nrows: usize, _: usize) -> Col<f64> {
        Col::zeros(nrows)
    }
}

impl Kind for RowVector {
    type View<'a> = RowRef<'a, f64>;
    type ViewMut<'a> = RowMut<'a, f64>;
    type Owned = Row<f64>;
    #[inline]
    fn as_2d<'a>(view: Self::View<'a>) -> MatRef<'a, f64> {
        view.as_mat()
    }
    #[inline]
    fn as_2d_mut<'a>(view: Self::ViewMut<'a>) -> MatMut<'a, f64> {
        view.as_mat_mut()
    }
    fn zeros(_: usize, ncols: usize) -> Row<f64> {
        Row::zeros(ncols)
    }
}

impl Kind for Matrix {
    type View<'a> = MatRef<'a, f64>;
    type ViewMut<'a> = MatMut<'a, f64>;
    type Owned = Mat<f64>;
    #[inline]
    fn as_2d<'a>(view: Self::View<'a>) -> MatRef<'a, f64> {
        view
    }
    #[inline]
    fn as_2d_mut<'a>(view: Self::ViewMut<'a>) -> MatMut<'a, f64> {
        view
    }
    fn zeros(nrows: usize, ncols: usize) -> Mat<f64> {
        Mat::zeros(nrows, ncols)
    }
}

impl Kind for Slice {
    type View<'a> = &'a [f64];
    type ViewMut<'a> = &'a mut [f64];
    type Owned = Vec<f64>;
    #[inline]
    fn as_2d<'a>(view: Self::View<'a>) -> MatRef<'a, f64> {
        MatRef::from_column_major_slice(view, view.len(), 1)
    }
    #[inline]
    fn as_2d_mut<'a>(view: Self::ViewMut<'a>) -> MatMut<'a, f64> {
        let len = view.len();
        MatMut::from_column_major_slice_mut(view, len, 1)
    }
    fn zeros(nrows: usize, _: usize) -> Vec<f64> {
        vec![0.0; nrows]
    }
}

impl<const N: usize> Kind for Array<N> {
    type View<'a> = &'a [f64; N];
    type ViewMut<'a> = &'a mut [f64; N];
    type Owned = [f64; N];
    #[inline]
    fn as_2d<'a>(view: Self::View<'a>) -> MatRef<'a, f64> {
        MatRef::from_column_major_slice(view, N, 1)
    }
    #[inline]
    fn as_2d_mut<'a>(view: Self::ViewMut<'a>) -> MatMut<'a, f64> {
        MatMut::from_column_major_slice_mut(view, N, 1)
    }
    fn zeros(_: usize, _: usize) -> [f64; N] {
        [0.0; N]
    }
}

/// A value chainrule can differentiate, seen through its kind's view.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a value chainrule can differentiate",
    label = "expected `f64`, or a faer `Col`, `Row` or `Mat` of `f64` (owned, a reference or a view)",
    note = "if the type is `()`, a gradient: a called #[differentiate] function does not differentiate \
            with respect to this argument, although the caller passes a value that depends on the differentiated \
            parameters: add the parameter to the callee's `wrt(...)`",
    note = "if the type is an integer (`{{integer}}`, `usize`), fix the expression rustc reports at its own span, \
            or write float literals as `2.0`, not `2`"
)]
pub trait Operand {
    type Kind: Kind;
    fn view(&self) -> <Self::Kind as Kind>::View<'_>;
}

/// Where an adjoint is accumulated: an owned gradient or a writable view.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot hold an adjoint",
    label = "expected `f64`, a faer `Col`, `Row` or `Mat` of `f64`, or a mutable view of one"
)]
pub trait Target {
    type Kind: Kind;
    fn view_mut(&mut self) -> <Self::Kind as Kind>::ViewMut<'_>;

    /// An owned value with no elements becomes a zero of the given shape;
    /// anything else stays as it is. The value a function returns from
    /// inside a loop starts as such an empty placeholder, whose shape is
    /// not known until a `return` replaces it, and so does its adjoint.
    #[inline]
    fn fill_if_empty(&mut self, _nrows: usize, _ncols: usize) {}
}

impl Operand for f64 {
    type Kind = Scalar;
    #[inline]
    fn view(&self) -> &f64 {
        self
    }
}

impl Target for f64 {
    type Kind = Scalar;
    #[inline]
    fn view_mut(&mut self) -> &mut f64 {
        self
    }
}

/// Implements [`Operand`] and [`Target`] for an owned faer type and its views.
macro_rules! faer_kind {
    ($kind:ty, $owned:ty, $view:ident, $view_mut:ident) => {
        impl Operand for $owned {
            type Kind = $kind;
            #[inline]
            fn view(&self) -> $view<'_, f64> {
                self.as_ref()
            }
        }
        impl Operand for $view<'_, f64> {
            type Kind = $kind;
            #[inline]
            fn view(&self) -> $view<'_, f64> {
                *self
            }
        }
        impl Operand for $view_mut<'_, f64> {
            type Kind = $kind;
            #[inline]
            fn view(&self) -> $view<'_, f64> {
                self.as_ref()
            }
        }
        impl Target for $owned {
            type Kind = $kind;
            #[inline]
            fn view_mut(&mut self) -> $view_mut<'_, f64> {
                self.as_mut()
            }
            #[inline]
            fn fill_if_empty(&mut self, nrows: usize, ncols: usize) {
                let (rows, cols) = <$kind as Kind>::shape(self.as_ref());
                if rows * cols == 0 {
                    *self = <$kind as Kind>::zeros(nrows, ncols);
                }
            }
        }
        impl Target for $view_mut<'_, f64> {
            type Kind = $kind;
            #[inline]
            fn view_mut(&mut self) -> $view_mut<'_, f64> {
                self.as_mut()
            }
        }
    };
}

impl Operand for [f64] {
    type Kind = Slice;
    #[inline]
    fn view(&self) -> &[f64] {
        self
    }
}

impl Operand for Vec<f64> {
    type Kind = Slice;
    #[inline]
    fn view(&self) -> &[f64] {
        self
    }
}

impl Target for [f64] {
    type Kind = Slice;
    #[inline]
    fn view_mut(&mut self) -> &mut [f64] {
        self
    }
}

impl Target for Vec<f64> {
    type Kind = Slice;
    #[inline]
    fn view_mut(&mut self) -> &mut [f64] {
        self
    }
    #[inline]
    fn fill_if_empty(&mut self, nrows: usize, _: usize) {
        if self.is_empty() {
            self.resize(nrows, 0.0);
        }
    }
}

impl<const N: usize> Operand for [f64; N] {
    type Kind = Array<N>;
    #[inline]
    fn view(&self) -> &[f64; N] {
        self
    }
}

impl<const N: usize> Target for [f64; N] {
    type Kind = Array<N>;
    #[inline]
    fn view_mut(&mut self) -> &mut [f64; N] {
        self
    }
}

faer_kind!(Column, Col<f64>, ColRef, ColMut);
faer_kind!(RowVector, Row<f64>, RowRef, RowMut);
faer_kind!(Matrix, Mat<f64>, MatRef, MatMut);

impl<T: Operand + ?Sized> Operand for &T {
    type Kind = T::Kind;
    #[inline]
    fn view(&self) -> <T::Kind as Kind>::View<'_> {
        (**self).view()
    }
}

impl<T: Target + ?Sized> Target for &mut T {
    type Kind = T::Kind;
    #[inline]
    fn view_mut(&mut self) -> <T::Kind as Kind>::ViewMut<'_> {
        (**self).view_mut()
    }
}

impl<T: Operand + ?Sized> Operand for &mut T {
    type Kind = T::Kind;
    #[inline]
    fn view(&self) -> <T::Kind as Kind>::View<'_> {
        (**self).view()
    }
}

/// The 2-D view of any operand.
#[inline]
pub fn view_2d<A: Operand + ?Sized>(a: &A) -> MatRef<'_, f64> {
    A::Kind::as_2d(a.view())
}

/// The 2-D writable view of any target.
#[inline]
pub fn view_2d_mut<T: Target + ?Sized>(t: &mut T) -> MatMut<'_, f64> {
    T::Kind::as_2d_mut(t.view_mut())
}

/// The parallelism faer's kernels run with: sequential, unless the `rayon`
/// feature is on and the global setting asks for threads.
#[inline]
pub fn parallelism() -> faer::Par {
    faer::get_global_parallelism()
}
