//! Adjoint values: a zero of the right shape, accumulation, and the record an
//! `if` keeps of the branch it took.

use std::marker::PhantomData;

use super::kinds::{Kind, Operand, Target};

/// A zero adjoint shaped like `value`: `0.0` for an `f64`, a zero `Col`,
/// `Row` or `Mat` of the same size for the faer types.
#[inline]
pub fn zero_like<V: Operand + ?Sized>(value: &V) -> <V::Kind as Kind>::Owned {
    V::Kind::zeros_like(value.view())
}

/// The shape of a value of kind `K`, all that a loop's tape keeps of a
/// value whose adjoint reads nothing but its shape (`g = w·wᵀ` read only
/// element by element): a zero of that shape, not the value, is what the
/// adjoint sweep needs, so the value is dropped with its iteration.
pub struct ZeroShape<K> {
    nrows: usize,
    ncols: usize,
    kind: PhantomData<K>,
}

impl<K> Clone for ZeroShape<K> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<K> Copy for ZeroShape<K> {}

/// What [`zero_shaped`] needs of `value` later: its shape and kind.
#[inline]
pub fn shape_for_zero<V: Operand + ?Sized>(value: &V) -> ZeroShape<V::Kind> {
    let (nrows, ncols) = V::Kind::shape(value.view());
    ZeroShape {
        nrows,
        ncols,
        kind: PhantomData,
    }
}

/// A zero adjoint of the shape [`shape_for_zero`] kept: the same value as
/// `zero_like` of the value it was taken from.
#[inline]
pub fn zero_shaped<K: Kind>(shape: &ZeroShape<K>) -> K::Owned {
    K::zeros(shape.nrows, shape.ncols)
}

/// The 2-D shape of a value (a column or a `Vec` of n numbers is n×1, a
/// row 1×n), which a pullback keeps to check its seed against.
#[inline]
pub fn shape_of<V: Operand + ?Sized>(value: &V) -> (usize, usize) {
    V::Kind::shape(value.view())
}

/// Checks that the seed handed to `function`'s pullback (or `_vjp`) is
/// shaped like `function`'s value, `value_shape`: a seed of another size
/// would be read out of bounds or silently cut short.
///
/// # Panics
/// With a message naming `function` and both shapes, when they differ.
#[track_caller]
pub fn check_seed<V: Operand + ?Sized>(seed: &V, value_shape: (usize, usize), function: &str) {
    let seed_shape = shape_of(seed);
    assert!(
        seed_shape == value_shape,
        "the seed given to `{function}_vjp` (or to the pullback of `{function}`) is {}×{} but the value of \
         `{function}` is {}×{} (rows × columns, a vector of n numbers being n×1): pass a seed shaped like \
         the value",
        seed_shape.0,
        seed_shape.1,
        value_shape.0,
        value_shape.1
    );
}

/// Checks that the tangent of `parameter` handed to `function_jvp` (or the
/// direction handed to `function_hvp`) is shaped like the parameter: a
/// shorter one would be read out of bounds, a longer one silently cut short.
///
/// # Panics
/// With a message naming the function, the parameter and both shapes, when
/// they differ.
#[track_caller]
pub fn check_tangent<T: Operand + ?Sized, P: Operand + ?Sized>(
    tangent: &T,
    primal: &P,
    function: &str,
    parameter: &str,
) {
    let (tangent_shape, primal_shape) = (shape_of(tangent), shape_of(primal));
    assert!(
        tangent_shape == primal_shape,
        "the tangent of `{parameter}` given to `{function}_jvp` (or the direction given to `{function}_hvp`) is \
         {}×{} but `{parameter}` is {}×{} (rows × columns, a vector of n numbers being n×1): pass a tangent shaped \
         like the parameter",
        tangent_shape.0,
        tangent_shape.1,
        primal_shape.0,
        primal_shape.1
    );
}

/// `adjoint += contribution`.
///
/// An empty value stands for a zero of a shape not known yet (see
/// [`Target::fill_if_empty`]): an empty contribution adds nothing, and an
/// empty owned adjoint takes the contribution's shape.
///
/// # Panics
/// If the shapes differ otherwise.
#[inline]
pub fn accumulate<T, G>(adjoint: &mut T, contribution: &G)
where
    T: Target + ?Sized,
    G: Operand<Kind = T::Kind> + ?Sized,
{
    let (nrows, ncols) = T::Kind::shape(contribution.view());
    if nrows * ncols == 0 {
        return;
    }
    adjoint.fill_if_empty(nrows, ncols);
    T::Kind::axpy(adjoint.view_mut(), 1.0, contribution.view());
}

/// `adjoint += scale · contribution`: the gradient an eager loop summed in the
/// forward sweep, scaled by the adjoint of its running sum.
///
/// # Panics
/// If the shapes differ.
#[inline]
pub fn accumulate_scaled<T, G>(adjoint: &mut T, scale: &f64, contribution: &G)
where
    T: Target + ?Sized,
    G: Operand<Kind = T::Kind> + ?Sized,
{
    T::Kind::axpy(adjoint.view_mut(), *scale, contribution.view());
}

/// A gradient returned by a callee's pullback, taken as the adjoint it starts
/// (the bound reports a gradient that is not a differentiable value, such as
/// the `()` of a parameter the callee does not differentiate).
#[inline]
pub fn adjoint_from<G: Operand>(gradient: G) -> G {
    gradient
}

/// A copy of a value that the forward sweep must both pass on and keep for
/// the adjoint sweep (free for `f64` and views).
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

/// The reverse half of a split function: given the seed (the adjoint of the
/// function's value) and the function's arguments again, returns one gradient
/// per argument. Every closure `FnOnce(&Seed, Args) -> Gradients` is one, as
/// returned by a generated `f_pullback`; the functions of [`crate::ops`]
/// return small structs that are.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not the pullback of a function called with these arguments",
    note = "a function called with arguments that depend on the differentiated parameters must have a \
            split form `name_pullback`: put #[differentiate] on it, or write `name_pullback` by hand"
)]
pub trait Pullback<Seed: ?Sized, Args, Gradients> {
    fn pull(self, seed: &Seed, args: Args) -> Gradients;
}

impl<F, Seed: ?Sized, Args, Gradients> Pullback<Seed, Args, Gradients> for F
where
    F: FnOnce(&Seed, Args) -> Gradients,
{
    #[inline]
    fn pull(self, seed: &Seed, args: Args) -> Gradients {
        self(seed, args)
    }
}

/// Runs a pullback: `pullback(seed, args)`.
#[inline]
pub fn pull<P, Seed, Args, Gradients>(pullback: P, seed: &Seed, args: Args) -> Gradients
where
    P: Pullback<Seed, Args, Gradients>,
    Seed: ?Sized,
{
    pullback.pull(seed, args)
}
