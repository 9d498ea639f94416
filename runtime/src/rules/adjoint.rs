//! Adjoint values: a zero of the right shape, accumulation, and the record an
//! `if` keeps of the branch it took.

/// A value whose adjoint starts as a zero of the same shape.
pub trait ZeroLike {
    /// The type of the adjoint (the gradient type).
    type Adjoint;
    fn zero_like(&self) -> Self::Adjoint;
}

impl ZeroLike for f64 {
    type Adjoint = f64;
    #[inline]
    fn zero_like(&self) -> f64 {
        0.0
    }
}

/// A zero adjoint shaped like `value`.
#[inline]
pub fn zero_like<T: ZeroLike + ?Sized>(value: &T) -> T::Adjoint {
    value.zero_like()
}

/// An adjoint that contributions of type `G` can be added to.
#[diagnostic::on_unimplemented(
    message = "a gradient of type `{G}` cannot be added to an adjoint of type `{Self}`",
    note = "when `{G}` is `()`, the called function does not differentiate with respect to this argument, \
            but the caller passes a value that depends on the differentiated parameters: \
            add the parameter to the callee's `wrt(...)`"
)]
pub trait Accumulate<G: ?Sized> {
    fn accumulate(&mut self, contribution: &G);
}

impl Accumulate<f64> for f64 {
    #[inline]
    fn accumulate(&mut self, contribution: &f64) {
        *self += *contribution;
    }
}

/// `adjoint += contribution`.
#[inline]
pub fn accumulate<T: Accumulate<G> + ?Sized, G: ?Sized>(adjoint: &mut T, contribution: &G) {
    adjoint.accumulate(contribution);
}

/// A copy of a value that the forward sweep must both pass on and keep for
/// the adjoint sweep.
#[inline]
pub fn keep<T: Clone>(value: &T) -> T {
    value.clone()
}

/// What the forward sweep of an `if` records for the adjoint sweep: which
/// branch ran, with the values defined in that branch that its adjoint needs.
#[derive(Clone, Debug)]
pub enum Branch<T, E> {
    Then(T),
    Else(E),
}
