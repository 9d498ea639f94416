//! `+ - * /` and negation, for every shape: the forward operation, then one
//! pullback per operand. `y` is the result, `ȳ` its adjoint, `a` and `b` the
//! operands, `ā` and `b̄` their adjoints; `ᵀ` is the transpose.
//!
//! Sums need operands of the same shape. Products follow faer: scalar times
//! anything, matrix·matrix, matrix·column, row·matrix, row·column (a scalar)
//! and column·row (an outer product). Their adjoints accumulate in place with
//! faer's `matmul(…, Accum::Add, …)` and transposed views, never materialising
//! a transpose of an operand (a tall, narrow product's right operand gets its
//! adjoint faster through a transposed product: `add_transposed_product`).
//! Division is by a scalar.

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatMut, MatRef};

use super::kinds::{Column, Kind, Matrix, Operand, RowVector, Scalar, Target, parallelism};

/// Shapes that can be added and subtracted: the same shape on both sides.
#[diagnostic::on_unimplemented(
    message = "chainrule cannot add or subtract a `{Self}` and a `{Rhs}`",
    label = "both sides of `+` and `-` must have the same shape",
    note = "to add a scalar to every element, write `chainrule::ops::add_scalar(a, s)`"
)]
pub trait SumRule<Rhs: Kind>: Kind {
    /// `alpha · a + beta · b`.
    fn combine(alpha: f64, a: Self::View<'_>, beta: f64, b: Rhs::View<'_>) -> Self::Owned;
    /// `dst += alpha · src` where `dst` has this shape and `src` the other's.
    fn axpy_other(dst: Rhs::ViewMut<'_>, alpha: f64, src: Self::View<'_>);
}

impl<K: Kind> SumRule<K> for K {
    #[inline]
    fn combine(alpha: f64, a: K::View<'_>, beta: f64, b: K::View<'_>) -> K::Owned {
        K::lincomb(alpha, a, beta, b)
    }
    #[inline]
    fn axpy_other(dst: K::ViewMut<'_>, alpha: f64, src: K::View<'_>) {
        K::axpy(dst, alpha, src);
    }
}

/// y = a + b
#[inline]
pub fn add<A, B>(a: &A, b: &B) -> <A::Kind as Kind>::Owned
where
    A: Operand + ?Sized,
    B: Operand + ?Sized,
    A::Kind: SumRule<B::Kind>,
{
    <A::Kind as SumRule<B::Kind>>::combine(1.0, a.view(), 1.0, b.view())
}

/// y = a − b
#[inline]
pub fn sub<A, B>(a: &A, b: &B) -> <A::Kind as Kind>::Owned
where
    A: Operand + ?Sized,
    B: Operand + ?Sized,
    A::Kind: SumRule<B::Kind>,
{
    <A::Kind as SumRule<B::Kind>>::combine(1.0, a.view(), -1.0, b.view())
}

/// Defines a pullback of a sum `adj += alpha · ȳ`, for an operand of the
/// result's shape.
macro_rules! sum_pullback {
    ($(#[$doc:meta])* $name:ident, $alpha:expr) => {
        $(#[$doc])*
        #[inline]
        pub fn $name<T, Y>(adjoint: &mut T, adj_y: &Y)
        where
            T: Target + ?Sized,
            Y: Operand + ?Sized,
            Y::Kind: SumRule<T::Kind>,
        {
            Y::Kind::axpy_other(adjoint.view_mut(), $alpha, adj_y.view());
        }
    };
}

sum_pullback!(
    /// y = a + b: ā += ȳ
    add_pb_lhs, 1.0
);
sum_pullback!(
    /// y = a + b: b̄ += ȳ
    add_pb_rhs, 1.0
);
sum_pullback!(
    /// y = a − b: ā += ȳ
    sub_pb_lhs, 1.0
);
sum_pullback!(
    /// y = a − b: b̄ −= ȳ
    sub_pb_rhs, -1.0
);
sum_pullback!(
    /// y = −a: ā −= ȳ
    neg_pb, -1.0
);

/// y = −a
#[inline]
pub fn neg<A: Operand + ?Sized>(a: &A) -> <A::Kind as Kind>::Owned {
    A::Kind::map(a.view(), |x| -x)
}

/// The shapes faer can multiply, with the shape of the product.
#[diagnostic::on_unimplemented(
    message = "chainrule has no product rule for a `{Self}` times a `{Rhs}`",
    label = "faer does not multiply these shapes",
    note = "products are scalar·anything, Mat·Mat, Mat·Col, Row·Mat, Row·Col (a scalar) and Col·Row (an outer \
            product); for the dot product of two columns write `x.transpose() * y` or `chainrule::ops::dot(x, y)`, \
            for an element-wise product `chainrule::ops::hadamard(a, b)`"
)]
pub trait ProductRule<Rhs: Kind>: Kind {
    type Output: Kind;
    /// y = a·b
    fn product(a: Self::View<'_>, b: Rhs::View<'_>) -> <Self::Output as Kind>::Owned;
    /// ā += ȳ·bᵀ
    fn pullback_lhs(adj_a: Self::ViewMut<'_>, adj_y: <Self::Output as Kind>::View<'_>, b: Rhs::View<'_>);
    /// b̄ += aᵀ·ȳ
    fn pullback_rhs(adj_b: Rhs::ViewMut<'_>, adj_y: <Self::Output as Kind>::View<'_>, a: Self::View<'_>);
}

impl ProductRule<Scalar> for Scalar {
    type Output = Scalar;
    #[inline]
    fn product(a: &f64, b: &f64) -> f64 {
        a * b
    }
    #[inline]
    fn pullback_lhs(adj_a: &mut f64, adj_y: &f64, b: &f64) {
        *adj_a += adj_y * b;
    }
    #[inline]
    fn pullback_rhs(adj_b: &mut f64, adj_y: &f64, a: &f64) {
        *adj_b += a * adj_y;
    }
}

/// Scalar times a vector or matrix and the other way round: y = a·B has
/// ā += ⟨ȳ, B⟩ and B̄ += a·ȳ.
macro_rules! scaling_rules {
    ($($kind:ty),*) => {$(
        impl ProductRule<$kind> for Scalar {
            type Output = $kind;
            #[inline]
            fn product(a: &f64, b: <$kind as Kind>::View<'_>) -> <$kind as Kind>::Owned {
                <$kind>::map(b, |x| a * x)
            }
            #[inline]
            fn pullback_lhs(adj_a: &mut f64, adj_y: <$kind as Kind>::View<'_>, b: <$kind as Kind>::View<'_>) {
                *adj_a += <$kind>::inner(adj_y, b);
            }
            #[inline]
            fn pullback_rhs(adj_b: <$kind as Kind>::ViewMut<'_>, adj_y: <$kind as Kind>::View<'_>, a: &f64) {
                <$kind>::axpy(adj_b, *a, adj_y);
            }
        }
        impl ProductRule<Scalar> for $kind {
            type Output = $kind;
            #[inline]
            fn product(a: <$kind as Kind>::View<'_>, b: &f64) -> <$kind as Kind>::Owned {
                <$kind>::map(a, |x| x * b)
            }
            #[inline]
            fn pullback_lhs(adj_a: <$kind as Kind>::ViewMut<'_>, adj_y: <$kind as Kind>::View<'_>, b: &f64) {
                <$kind>::axpy(adj_a, *b, adj_y);
            }
            #[inline]
            fn pullback_rhs(adj_b: &mut f64, adj_y: <$kind as Kind>::View<'_>, a: <$kind as Kind>::View<'_>) {
                *adj_b += <$kind>::inner(adj_y, a);
            }
        }
    )*};
}

scaling_rules!(Column, RowVector, Matrix);

/// Matrix products through 2-D views: y = a·b, ā += ȳ·bᵀ, b̄ += aᵀ·ȳ, each one
/// `matmul` writing into its destination.
macro_rules! matmul_rules {
    ($($lhs:ty, $rhs:ty => $out:ty;)*) => {$(
        impl ProductRule<$rhs> for $lhs {
            type Output = $out;
            fn product(a: <$lhs as Kind>::View<'_>, b: <$rhs as Kind>::View<'_>) -> <$out as Kind>::Owned {
                let (a, b) = (<$lhs>::as_2d(a), <$rhs>::as_2d(b));
                let mut y = <$out>::zeros(a.nrows(), b.ncols());
                matmul(<$out>::as_2d_mut(y.view_mut()), Accum::Replace, a, b, 1.0, parallelism());
                y
            }
            fn pullback_lhs(
                adj_a: <$lhs as Kind>::ViewMut<'_>,
                adj_y: <$out as Kind>::View<'_>,
                b: <$rhs as Kind>::View<'_>,
            ) {
                let b_transposed = <$rhs>::as_2d(b).transpose();
                matmul(<$lhs>::as_2d_mut(adj_a), Accum::Add, <$out>::as_2d(adj_y), b_transposed, 1.0, parallelism());
            }
            fn pullback_rhs(
                adj_b: <$rhs as Kind>::ViewMut<'_>,
                adj_y: <$out as Kind>::View<'_>,
                a: <$lhs as Kind>::View<'_>,
            ) {
                add_transposed_product(<$rhs>::as_2d_mut(adj_b), <$lhs>::as_2d(a), <$out>::as_2d(adj_y));
            }
        }
    )*};
}

/// `dst += aᵀ·ȳ`, the adjoint of a product's right operand.
///
/// faer reads the left operand of a product down its columns; `aᵀ` of a
/// column-major `a` has to be repacked element by element first. When `a` is
/// tall (its m rows, the sum's length, are many) and `ȳ` narrow, that
/// repacking dominates, and `dst += (ȳᵀ·a)ᵀ` — `a` read down its columns, the
/// n × k result added transposed — is faster: 0.43–0.9 of the time for
/// m ≥ 256, m ≥ 4n and k ≥ 2n (a data matrix's weight gradient, ADBench's GMM),
/// while near-square shapes are 1.0–2.0× slower that way and keep the direct
/// product.
fn add_transposed_product(mut dst: MatMut<'_, f64>, a: MatRef<'_, f64>, adj_y: MatRef<'_, f64>) {
    let (m, k, n) = (a.nrows(), a.ncols(), adj_y.ncols());
    let tall_column_major = a.row_stride() == 1 && n >= 2 && m >= 256 && m >= 4 * n && k >= 2 * n;
    if tall_column_major {
        let mut transposed = Mat::zeros(n, k);
        matmul(
            transposed.as_mut(),
            Accum::Replace,
            adj_y.transpose(),
            a,
            1.0,
            parallelism(),
        );
        dst += transposed.transpose();
    } else {
        matmul(dst, Accum::Add, a.transpose(), adj_y, 1.0, parallelism());
    }
}

matmul_rules! {
    Matrix, Matrix => Matrix;
    Matrix, Column => Column;
    RowVector, Matrix => RowVector;
    RowVector, Column => Scalar;
    Column, RowVector => Matrix;
}

/// The shape of `a · b`.
pub type Product<A, B> = <<<A as Operand>::Kind as ProductRule<<B as Operand>::Kind>>::Output as Kind>::Owned;

/// y = a·b
#[inline]
pub fn mul<A, B>(a: &A, b: &B) -> Product<A, B>
where
    A: Operand + ?Sized,
    B: Operand + ?Sized,
    A::Kind: ProductRule<B::Kind>,
{
    A::Kind::product(a.view(), b.view())
}

/// y = a·b: ā += ȳ·bᵀ
#[inline]
pub fn mul_pb_lhs<T, Y, B>(adj_a: &mut T, adj_y: &Y, b: &B)
where
    T: Target + ?Sized,
    B: Operand + ?Sized,
    T::Kind: ProductRule<B::Kind>,
    Y: Operand<Kind = <T::Kind as ProductRule<B::Kind>>::Output> + ?Sized,
{
    T::Kind::pullback_lhs(adj_a.view_mut(), adj_y.view(), b.view());
}

/// y = a·b: b̄ += aᵀ·ȳ
#[inline]
pub fn mul_pb_rhs<T, Y, A>(adj_b: &mut T, adj_y: &Y, a: &A)
where
    T: Target + ?Sized,
    A: Operand + ?Sized,
    A::Kind: ProductRule<T::Kind>,
    Y: Operand<Kind = <A::Kind as ProductRule<T::Kind>>::Output> + ?Sized,
{
    A::Kind::pullback_rhs(adj_b.view_mut(), adj_y.view(), a.view());
}

/// y = aᵀ·a, the same `a` on both sides (a Gram matrix, or ‖a‖² for a
/// column): the operands' two rules, ā += (ȳ·aᵀ)ᵀ = a·ȳᵀ and ā += a·ȳ, add
/// up to ā += a·(ȳ + ȳᵀ), one product instead of two.
#[inline]
pub fn gram_of_columns_pb<T, Y, A>(adj_a: &mut T, adj_y: &Y, a: &A)
where
    T: Target + ?Sized,
    Y: Operand + ?Sized,
    A: Operand<Kind = T::Kind> + ?Sized,
{
    add_symmetrized_product(adj_a, adj_y, a, false);
}

/// y = a·aᵀ, the same `a` on both sides: ā += (ȳ + ȳᵀ)·a, one product
/// instead of the two of the operands' rules (ā += ȳ·a and ā += ȳᵀ·a).
#[inline]
pub fn gram_of_rows_pb<T, Y, A>(adj_a: &mut T, adj_y: &Y, a: &A)
where
    T: Target + ?Sized,
    Y: Operand + ?Sized,
    A: Operand<Kind = T::Kind> + ?Sized,
{
    add_symmetrized_product(adj_a, adj_y, a, true);
}

/// ā += a·(ȳ + ȳᵀ), or (ȳ + ȳᵀ)·a when `symmetric_first`. A 1×1 `ȳ` (the
/// adjoint of ‖a‖²) is used as it is with the factor 2, without allocating.
fn add_symmetrized_product<T, Y, A>(adj_a: &mut T, adj_y: &Y, a: &A, symmetric_first: bool)
where
    T: Target + ?Sized,
    Y: Operand + ?Sized,
    A: Operand<Kind = T::Kind> + ?Sized,
{
    let a = A::Kind::as_2d(a.view());
    let adj_y = Y::Kind::as_2d(adj_y.view());
    let summed;
    let (alpha, symmetric) = if adj_y.nrows() == 1 && adj_y.ncols() == 1 {
        (2.0, adj_y)
    } else {
        summed = adj_y + adj_y.transpose();
        (1.0, summed.as_ref())
    };
    let (lhs, rhs) = if symmetric_first {
        (symmetric, a)
    } else {
        (a, symmetric)
    };
    matmul(
        T::Kind::as_2d_mut(adj_a.view_mut()),
        Accum::Add,
        lhs,
        rhs,
        alpha,
        parallelism(),
    );
}

/// Division by a scalar.
#[diagnostic::on_unimplemented(
    message = "chainrule can only divide by a scalar, not by a `{Rhs}`",
    label = "the divisor must be an `f64`",
    note = "for an element-wise quotient write `hadamard(a, &chainrule::ops::powi(b, -1))`"
)]
pub trait DivRule<Rhs: Kind>: Kind {}

impl<K: Kind> DivRule<Scalar> for K {}

/// y = a / b, b a scalar
#[inline]
pub fn div<A, B>(a: &A, b: &B) -> <A::Kind as Kind>::Owned
where
    A: Operand + ?Sized,
    B: Operand<Kind = Scalar> + ?Sized,
    A::Kind: DivRule<B::Kind>,
{
    A::Kind::divide(a.view(), *b.view())
}

/// y = a / b: ā += ȳ / b
#[inline]
pub fn div_pb_lhs<T, Y, B>(adj_a: &mut T, adj_y: &Y, b: &B)
where
    T: Target + ?Sized,
    Y: Operand<Kind = T::Kind> + ?Sized,
    B: Operand<Kind = Scalar> + ?Sized,
{
    T::Kind::axpy_div(adj_a.view_mut(), adj_y.view(), *b.view());
}

/// y = a / b: b̄ −= ⟨ȳ, a⟩ / b² = ⟨ȳ, y⟩ / b
#[inline]
pub fn div_pb_rhs<T, Y, B>(adj_b: &mut T, adj_y: &Y, y: &Y, b: &B)
where
    T: Target<Kind = Scalar> + ?Sized,
    Y: Operand + ?Sized,
    B: Operand<Kind = Scalar> + ?Sized,
{
    *adj_b.view_mut() -= Y::Kind::inner(adj_y.view(), y.view()) / b.view();
}
