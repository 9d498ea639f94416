//! Operations faer does not have, as plain functions that work inside and
//! outside `#[differentiate]` functions, each with its derivative rule.
//!
//! Every function takes owned values, references and views alike (`relu(&z)`,
//! `hadamard(w, x)` with `w, x: &Col<f64>`, `add_scalar(&xw, b)`) and returns
//! an owned value of the argument's shape. The element-wise ones also take an
//! `f64`. Each has a split form `name_pullback` (below) through which
//! `#[differentiate]` functions differentiate it, as they do calls of other
//! differentiated functions.
//!
//! ```
//! use chainrule::ops::{add_scalar, hadamard, relu, sum};
//! use faer::col;
//!
//! let x = col![1.0, -2.0, 3.0];
//! let w = col![0.5, 0.5, 2.0];
//! assert_eq!(hadamard(&w, &x), col![0.5, -1.0, 6.0]);
//! assert_eq!(relu(add_scalar(&x, 1.0)), col![2.0, 0.0, 4.0]);
//! assert_eq!(sum(&x), 2.0);
//! assert_eq!(relu(-1.5), 0.0);
//! ```

use std::borrow::Borrow;
use std::marker::PhantomData;

use faer::{unzip, zip};

use crate::rules::kinds::{Kind, Operand, Scalar, Target};
use crate::rules::{Pullback, elementwise, reductions};

/// The owned value of the same shape as `A`.
pub type Owned<A> = <<A as Operand>::Kind as Kind>::Owned;

/// The element-wise (Hadamard) product `a ⊙ b`.
///
/// # Panics
/// If the shapes differ.
pub fn hadamard<A, B>(a: A, b: B) -> Owned<A>
where
    A: Operand,
    B: Operand<Kind = A::Kind>,
{
    let mut out = A::Kind::zeros_like(a.view());
    zip!(
        A::Kind::as_2d_mut(out.view_mut()),
        A::Kind::as_2d(a.view()),
        A::Kind::as_2d(b.view())
    )
    .for_each(|unzip!(o, a, b)| *o = a * b);
    out
}

/// `a + s`: the scalar `s` added to every element (a broadcast).
pub fn add_scalar<A, S>(a: A, s: S) -> Owned<A>
where
    A: Operand,
    S: Operand<Kind = Scalar>,
{
    let s = *s.view();
    A::Kind::map(a.view(), |x| x + s)
}

/// `eᵃ` element-wise.
pub fn exp<A: Operand>(a: A) -> Owned<A> {
    A::Kind::map(a.view(), f64::exp)
}

/// `ln a` element-wise.
pub fn ln<A: Operand>(a: A) -> Owned<A> {
    A::Kind::map(a.view(), f64::ln)
}

/// `√a` element-wise.
pub fn sqrt<A: Operand>(a: A) -> Owned<A> {
    A::Kind::map(a.view(), f64::sqrt)
}

/// `tanh a` element-wise.
pub fn tanh<A: Operand>(a: A) -> Owned<A> {
    A::Kind::map(a.view(), f64::tanh)
}

/// The logistic function `σ(a) = 1 / (1 + e⁻ᵃ)` element-wise.
pub fn sigmoid<A: Operand>(a: A) -> Owned<A> {
    A::Kind::map(a.view(), |x| 1.0 / (1.0 + (-x).exp()))
}

/// `max(a, 0)` element-wise, with `relu'(0) = 0`.
pub fn relu<A: Operand>(a: A) -> Owned<A> {
    A::Kind::map(a.view(), |x| x.max(0.0))
}

/// `aⁿ` element-wise, for an integer `n`.
pub fn powi<A: Operand, N: Borrow<i32>>(a: A, n: N) -> Owned<A> {
    let n = *n.borrow();
    A::Kind::map(a.view(), |x| x.powi(n))
}

/// The inner product of two values of the same shape: `xᵀy` for columns
/// (or rows, slices, arrays), the Frobenius product `Σ xᵢⱼ yᵢⱼ` for matrices.
///
/// # Panics
/// If the shapes differ.
pub fn dot<X, Y>(x: X, y: Y) -> f64
where
    X: Operand,
    Y: Operand<Kind = X::Kind>,
{
    X::Kind::inner(x.view(), y.view())
}

/// The sum of all elements.
pub fn sum<A: Operand>(a: A) -> f64 {
    A::Kind::as_2d(a.view()).sum()
}

// ----- split forms --------------------------------------------------------
//
// Each function above has a split form `name_pullback`, with the convention
// of generated `f_pullback` functions: it returns the value and a pullback
// that, given the seed and the arguments again, returns one gradient per
// argument. A `#[differentiate]` function calling `relu(&z)` calls
// `relu_pullback(&z)` in its forward sweep, so keep both in scope (the
// prelude has them). The pullbacks hold no borrows, only what the rule needs.

/// The pullback of an element-wise function `y = f(a)`: `ā = kernel(ȳ, saved)`,
/// where `saved` is the value or the argument, as the rule needs.
pub struct ElementwisePullback<K: Kind> {
    saved: K::Owned,
    kernel: fn(&mut K::Owned, &K::Owned, &K::Owned),
}

impl<K: Kind, A: Operand<Kind = K>> Pullback<K::Owned, (A,), (K::Owned,)> for ElementwisePullback<K> {
    fn pull(self, seed: &K::Owned, _: (A,)) -> (K::Owned,) {
        let mut gradient = K::zeros_like(seed.view());
        (self.kernel)(&mut gradient, seed, &self.saved);
        (gradient,)
    }
}

/// Defines `name_pullback` for an element-wise function from its kernel,
/// saving the value (`y`) or the argument (`a`).
macro_rules! elementwise_split {
    ($(#[$doc:meta])* $name:ident, $function:ident, $kernel:ident, saves value) => {
        $(#[$doc])*
        pub fn $name<A: Operand>(a: A) -> (Owned<A>, ElementwisePullback<A::Kind>) {
            let value = $function(&a);
            let pullback = ElementwisePullback {
                saved: value.clone(),
                kernel: elementwise::$kernel::<Owned<A>, Owned<A>, Owned<A>>,
            };
            (value, pullback)
        }
    };
        ($(#[$doc:meta])* $name:ident, $function:ident, $kernel:ident, reads argument $pullback:ident) => {
        /// The pullback of an element-wise function whose rule reads the
        /// argument, which the pullback is given again: it stores nothing.
        pub struct $pullback<K>(PhantomData<K>);

        impl<K: Kind, A: Operand<Kind = K>> Pullback<K::Owned, (A,), (K::Owned,)> for $pullback<K> {
            fn pull(self, seed: &K::Owned, (a,): (A,)) -> (K::Owned,) {
                let mut gradient = K::zeros_like(seed.view());
                elementwise::$kernel(&mut gradient, seed, &a);
                (gradient,)
            }
        }

        $(#[$doc])*
        pub fn $name<A: Operand>(a: A) -> (Owned<A>, $pullback<A::Kind>) {
            ($function(&a), $pullback(PhantomData))
        }
    };
}

elementwise_split!(
    /// Split form of [`exp`]: ā = ȳ ⊙ y.
    exp_pullback, exp, ew_exp_pb, saves value
);
elementwise_split!(
    /// Split form of [`ln`]: ā = ȳ ⊘ a.
    ln_pullback, ln, ew_ln_pb, reads argument LnPullback
);
elementwise_split!(
    /// Split form of [`sqrt`]: ā = ȳ ⊘ 2y.
    sqrt_pullback, sqrt, ew_sqrt_pb, saves value
);
elementwise_split!(
    /// Split form of [`tanh`]: ā = ȳ ⊙ (1 − y²).
    tanh_pullback, tanh, ew_tanh_pb, saves value
);
elementwise_split!(
    /// Split form of [`sigmoid`]: ā = ȳ ⊙ y ⊙ (1 − y).
    sigmoid_pullback, sigmoid, sigmoid_pb, saves value
);
elementwise_split!(
    /// Split form of [`relu`]: ā = ȳ where a > 0, else 0.
    relu_pullback, relu, relu_pb, reads argument ReluPullback
);

/// The pullback of [`powi`]: ā = ȳ ⊙ n·aⁿ⁻¹; the integer `n` has no gradient.
pub struct PowiPullback<K: Kind> {
    argument: K::Owned,
    n: i32,
}

impl<K: Kind, A: Operand<Kind = K>, N> Pullback<K::Owned, (A, N), (K::Owned, ())> for PowiPullback<K> {
    fn pull(self, seed: &K::Owned, _: (A, N)) -> (K::Owned, ()) {
        let mut gradient = K::zeros_like(seed.view());
        elementwise::ew_powi_pb(&mut gradient, seed, &self.argument, &self.n);
        (gradient, ())
    }
}

/// Split form of [`powi`].
pub fn powi_pullback<A: Operand, N: Borrow<i32>>(a: A, n: N) -> (Owned<A>, PowiPullback<A::Kind>) {
    let n = *n.borrow();
    let argument = A::Kind::map(a.view(), |x| x);
    (powi(&a, n), PowiPullback { argument, n })
}

/// The pullback of [`hadamard`]: ā = ȳ ⊙ b, b̄ = ȳ ⊙ a, from the arguments.
pub struct HadamardPullback<K>(PhantomData<K>);

impl<K: Kind, A: Operand<Kind = K>, B: Operand<Kind = K>> Pullback<K::Owned, (A, B), (K::Owned, K::Owned)>
    for HadamardPullback<K>
{
    fn pull(self, seed: &K::Owned, (a, b): (A, B)) -> (K::Owned, K::Owned) {
        (hadamard(seed, &b), hadamard(seed, &a))
    }
}

/// Split form of [`hadamard`].
pub fn hadamard_pullback<A, B>(a: A, b: B) -> (Owned<A>, HadamardPullback<A::Kind>)
where
    A: Operand,
    B: Operand<Kind = A::Kind>,
{
    (hadamard(&a, &b), HadamardPullback(PhantomData))
}

/// The pullback of [`add_scalar`]: ā = ȳ, s̄ = Σ ȳ.
pub struct AddScalarPullback<K>(PhantomData<K>);

impl<K: Kind, A: Operand<Kind = K>, S> Pullback<K::Owned, (A, S), (K::Owned, f64)> for AddScalarPullback<K> {
    fn pull(self, seed: &K::Owned, _: (A, S)) -> (K::Owned, f64) {
        (seed.clone(), sum(seed))
    }
}

/// Split form of [`add_scalar`].
pub fn add_scalar_pullback<A, S>(a: A, s: S) -> (Owned<A>, AddScalarPullback<A::Kind>)
where
    A: Operand,
    S: Operand<Kind = Scalar>,
{
    (add_scalar(&a, &s), AddScalarPullback(PhantomData))
}

/// The pullback of [`dot`]: x̄ = ȳ·y, ȳ_vec = ȳ·x, from the arguments.
pub struct DotPullback;

impl<K: Kind, X: Operand<Kind = K>, Y: Operand<Kind = K>> Pullback<f64, (X, Y), (K::Owned, K::Owned)> for DotPullback {
    fn pull(self, seed: &f64, (x, y): (X, Y)) -> (K::Owned, K::Owned) {
        (K::map(y.view(), |e| seed * e), K::map(x.view(), |e| seed * e))
    }
}

/// Split form of [`dot`].
pub fn dot_pullback<X, Y>(x: X, y: Y) -> (f64, DotPullback)
where
    X: Operand,
    Y: Operand<Kind = X::Kind>,
{
    (dot(&x, &y), DotPullback)
}

/// The pullback of [`sum`]: ā = ȳ·1, shaped like the argument.
pub struct SumPullback<K>(PhantomData<K>);

impl<K: Kind, A: Operand<Kind = K>> Pullback<f64, (A,), (K::Owned,)> for SumPullback<K> {
    fn pull(self, seed: &f64, (a,): (A,)) -> (K::Owned,) {
        let mut gradient = K::zeros_like(a.view());
        reductions::sum_pb(&mut gradient, seed);
        (gradient,)
    }
}

/// Split form of [`sum`].
pub fn sum_pullback<A: Operand>(a: A) -> (f64, SumPullback<A::Kind>) {
    (sum(&a), SumPullback(PhantomData))
}
