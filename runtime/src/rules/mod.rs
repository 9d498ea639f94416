//! The kernels that generated code calls, one per derivative rule.
//!
//! The macro's rule table (`macros/src/rules.rs`) names a kernel for each
//! operand of each operation; the kernel adds that operand's share of the
//! result's adjoint to the operand's adjoint, in place:
//! `kernel(&mut adj_operand, &adj_result, &primal values...)`. Every kernel is
//! `#[inline]`, so generated scalar code compiles to what one would write by
//! hand. The kernels are ordinary public functions, usable outside the macro.
//!
//! - [`adjoint`]: creating and accumulating adjoints, branch records;
//! - [`arithmetic`]: `+ - * /` and negation, forward and pullbacks;
//! - [`scalar`]: the elementary functions of `f64`.

pub mod adjoint;
pub mod arithmetic;
pub mod scalar;

pub use adjoint::{Accumulate, Branch, ZeroLike, accumulate, keep, zero_like};
pub use arithmetic::*;
pub use scalar::*;
