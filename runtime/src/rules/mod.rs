//! The kernels that generated code calls, one per derivative rule.
//!
//! The macro's rule table (`macros/src/rules.rs`) names a kernel for each
//! operand of each operation; the kernel adds that operand's share of the
//! result's adjoint to the operand's adjoint, in place:
//! `kernel(&mut adj_operand, &adj_result, &primal values...)`. Every kernel is
//! generic over the shapes of [`kinds`] and `#[inline]`, so generated scalar
//! code compiles to what one would write by hand and matrix code runs faer's
//! kernels. They are ordinary public functions, usable outside the macro.
//!
//! - [`kinds`]: the shapes and the traits that dispatch on them;
//! - [`adjoint`]: creating and accumulating adjoints, branch records;
//! - [`arithmetic`]: `+ - * /` and negation, forward and pullbacks;
//! - [`scalar`]: the elementary functions of `f64`;
//! - [`reductions`]: sums, norms, dot products and element reads;
//! - [`elementwise`]: the element-wise functions of [`crate::ops`];
//! - [`constants`]: the check that a constant parameter is not a
//!   differentiable type under another name;
//! - [`tape`]: the tapes of loops, whose memory is reused across calls;
//! - [`flat`]: values as flat lists of numbers, the layout of
//!   `f_jacobian` and `f_hessian`.

pub mod adjoint;
pub mod arithmetic;
pub mod constants;
pub mod elementwise;
pub mod flat;
pub mod kinds;
pub mod reductions;
pub mod scalar;
pub mod tape;

pub use adjoint::{
    Branch, Pullback, ZeroShape, accumulate, accumulate_scaled, adjoint_from, check_seed, check_tangent, keep, pull,
    shape_for_zero, shape_of, zero_like, zero_shaped,
};
pub use arithmetic::*;
pub use elementwise::*;
pub use flat::{flat_len, set_hessian_column, set_jacobian_row, unit_like};
pub use reductions::*;
pub use scalar::*;
pub use tape::{Snapshots, Tape, kept_bytes, push_reserved, release_tapes};
