//! A compile-time check that a parameter chainrule treats as a constant is
//! not a differentiable type under another name.
//!
//! The macro classifies parameters by how their types are written, so a
//! `type Real = f64;` parameter looks like a user type and would silently get
//! no derivative. For each parameter of a single-name type it does not know,
//! the generated code evaluates `Constant::<T>::DIFFERENTIABLE` in a `const`
//! assertion: for `f64` and the faer types of `f64` an inherent associated
//! constant (`true`) is found first; for every other type only the blanket
//! trait's (`false`) exists, so the assertion passes.

use core::marker::PhantomData;

/// The type `T` of a parameter taken as a constant.
pub struct Constant<T: ?Sized>(PhantomData<T>);

/// What every other type answers: not differentiable.
pub trait NotDifferentiable {
    const DIFFERENTIABLE: bool = false;
}

impl<T: ?Sized> NotDifferentiable for Constant<T> {}

/// Implements the inherent `DIFFERENTIABLE = true` for the types chainrule
/// differentiates when they are written by name.
macro_rules! differentiable {
    ($($ty:ty),*) => {$(
        impl Constant<$ty> {
            pub const DIFFERENTIABLE: bool = true;
        }
    )*};
}

differentiable!(f64, [f64], Vec<f64>, faer::Col<f64>, faer::Row<f64>, faer::Mat<f64>);
