//! The element-wise rules of `chainrule::ops`: each kernel adds to `ā` the
//! element-wise product of `ȳ` with the derivative at each element. `y` is the
//! result, `ȳ` its adjoint, `a` the argument, `⊙` and `⊘` the element-wise
//! product and quotient. The functions themselves are in [`crate::ops`].

use core::marker::PhantomData;

use faer::{unzip, zip};

use super::adjoint::Pullback;
use super::kinds::{Kind, Operand, Scalar, Target};

/// `ā += f(ȳ, p)` element by element, for a primal `p` of the same shape.
///
/// # Panics
/// If the shapes differ.
#[inline]
fn accumulate_with<T, Y, P>(adj_a: &mut T, adj_y: &Y, primal: &P, f: impl Fn(f64, f64) -> f64)
where
    T: Target + ?Sized,
    Y: Operand<Kind = T::Kind> + ?Sized,
    P: Operand<Kind = T::Kind> + ?Sized,
{
    zip!(
        T::Kind::as_2d_mut(adj_a.view_mut()),
        T::Kind::as_2d(adj_y.view()),
        T::Kind::as_2d(primal.view())
    )
    .for_each(|unzip!(d, g, p)| *d += f(*g, *p));
}

/// Defines one element-wise pullback kernel `ā += f(ȳ, p)`.
macro_rules! elementwise_pullback {
    ($(#[$doc:meta])* $name:ident($primal:ident) => |$g:ident, $p:ident| $body:expr) => {
        $(#[$doc])*
        #[inline]
        pub fn $name<T, Y, P>(adj_a: &mut T, adj_y: &Y, $primal: &P)
        where
            T: Target + ?Sized,
            Y: Operand<Kind = T::Kind> + ?Sized,
            P: Operand<Kind = T::Kind> + ?Sized,
        {
            accumulate_with(adj_a, adj_y, $primal, |$g, $p| $body);
        }
    };
}

elementwise_pullback!(
    /// y = a ⊙ b: ā += ȳ ⊙ b (and b̄ += ȳ ⊙ a)
    hadamard_pb(other) => |g, b| g * b
);
elementwise_pullback!(
    /// y = exp(a): ā += ȳ ⊙ y
    ew_exp_pb(y) => |g, y| g * y
);
elementwise_pullback!(
    /// y = ln(a): ā += ȳ ⊘ a
    ew_ln_pb(a) => |g, a| g / a
);
elementwise_pullback!(
    /// y = √a: ā += ȳ ⊘ (2y), nothing where ȳ is 0 (∞·0 at a = 0 would be NaN)
    ew_sqrt_pb(y) => |g, y| if g != 0.0 { g / (2.0 * y) } else { 0.0 }
);
elementwise_pullback!(
    /// y = tanh(a): ā += ȳ ⊙ (1 − y²)
    ew_tanh_pb(y) => |g, y| g * (1.0 - y * y)
);
elementwise_pullback!(
    /// y = σ(a) = 1 / (1 + e⁻ᵃ): ā += ȳ ⊙ y ⊙ (1 − y)
    sigmoid_pb(y) => |g, y| g * y * (1.0 - y)
);
elementwise_pullback!(
    /// y = max(a, 0): ā += ȳ where a > 0 (equivalently y > 0), with relu'(0) = 0
    relu_pb(a) => |g, a| if a > 0.0 { g } else { 0.0 }
);

/// y = aⁿ element-wise: ā += ȳ ⊙ n·aⁿ⁻¹; for n = 0, y ≡ 1 and ā is
/// unchanged (n·aⁿ⁻¹ would be 0·∞ where a = 0).
#[inline]
pub fn ew_powi_pb<T, Y, P>(adj_a: &mut T, adj_y: &Y, a: &P, n: &i32)
where
    T: Target + ?Sized,
    Y: Operand<Kind = T::Kind> + ?Sized,
    P: Operand<Kind = T::Kind> + ?Sized,
{
    let n = *n;
    if n != 0 {
        accumulate_with(adj_a, adj_y, a, |g, a| g * f64::from(n) * a.powi(n - 1));
    }
}

/// y = a + s (s added to every element): s̄ += Σ ȳ
#[inline]
pub fn add_scalar_pb_scalar<T, Y>(adj_s: &mut T, adj_y: &Y)
where
    T: Target<Kind = Scalar> + ?Sized,
    Y: Operand + ?Sized,
{
    *adj_s.view_mut() += Y::Kind::as_2d(adj_y.view()).sum();
}

/// `t ⊘ d` element by element, 0 where `t` and `d` are both 0: forward mode
/// of `ops::sqrt` writes its tangent ẏ = ȧ ⊘ 2y with it, so that an element
/// the direction leaves alone at a root of 0 has the tangent 0, as the scalar
/// rule gives, not 0/0 = NaN.
///
/// # Panics
/// If the shapes differ.
pub fn tangent_quotient<T, D>(t: T, d: D) -> <T::Kind as Kind>::Owned
where
    T: Operand,
    D: Operand<Kind = T::Kind>,
{
    T::Kind::zip_map(
        t.view(),
        d.view(),
        |t, d| if t == 0.0 && d == 0.0 { 0.0 } else { t / d },
    )
}

/// The pullback of [`tangent_quotient`], which `f_hvp` calls: t̄ = ȳ ⊘ d and
/// d̄ = −ȳ ⊙ t ⊘ d², from the arguments, and nothing at an element whose
/// quotient is the constant 0 or whose ȳ is 0. There the tangent is not used
/// (`r[0].max(y)` taking `y`) and may be infinite (ȧ ≠ 0 at y = 0), where
/// `⊘` would add 0·∞ = NaN to second derivatives that are 0.
pub struct TangentQuotientPullback<K>(PhantomData<K>);

impl<K: Kind, T: Operand<Kind = K>, D: Operand<Kind = K>> Pullback<K::Owned, (T, D), (K::Owned, K::Owned)>
    for TangentQuotientPullback<K>
{
    fn pull(self, seed: &K::Owned, (t, d): (T, D)) -> (K::Owned, K::Owned) {
        let (mut adj_t, mut adj_d) = (K::zeros_like(seed.view()), K::zeros_like(seed.view()));
        zip!(
            K::as_2d_mut(adj_t.view_mut()),
            K::as_2d_mut(adj_d.view_mut()),
            K::as_2d(seed.view()),
            K::as_2d(t.view()),
            K::as_2d(d.view())
        )
        .for_each(|unzip!(adj_t, adj_d, g, t, d)| {
            if *g != 0.0 && !(*t == 0.0 && *d == 0.0) {
                *adj_t = g / d;
                *adj_d = -(g * t) / (d * d);
            }
        });
        (adj_t, adj_d)
    }
}

/// Split form of [`tangent_quotient`].
pub fn tangent_quotient_pullback<T, D>(t: T, d: D) -> (<T::Kind as Kind>::Owned, TangentQuotientPullback<T::Kind>)
where
    T: Operand,
    D: Operand<Kind = T::Kind>,
{
    (tangent_quotient(&t, &d), TangentQuotientPullback(PhantomData))
}

/// The slope of ReLU at each element of `a`: 1 where `a > 0`, else 0 (the
/// convention `relu'(0) = 0`). Forward mode multiplies tangents by it.
pub fn relu_slope<A: Operand + ?Sized>(a: &A) -> <A::Kind as Kind>::Owned {
    A::Kind::map(a.view(), |value| if value > 0.0 { 1.0 } else { 0.0 })
}
