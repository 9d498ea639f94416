//! The `#[differentiate]` attribute of chainrule.
//!
//! This crate is the compile-time half of chainrule; use it through the
//! `chainrule` crate, which re-exports the attribute and provides the runtime
//! kernels the generated code calls. The expansion is a pipeline, one stage
//! per module: `attr` (options) → `signature` (parameter types) →
//! `early_exit` (`return` in loops to `break`) → `lower` (body to IR) →
//! `hoist` (loop-invariant reads out of loops) → `check` (activity, missing rules) → `replay` (loops to run again rather
//! than tape) → `snapshots` (buffers to copy rather than tape their reads) → `reverse` (adjoint IR) → `emit` (tokens), driven by
//! `expand`.

mod attr;
mod check;
mod ctxt;
mod eager;
mod early_exit;
mod emit;
mod expand;
mod forward;
mod hoist;
mod increments;
mod ir;
mod lower;
mod replay;
mod reverse;
mod rules;
mod signature;
mod snapshots;

use proc_macro::TokenStream;

/// Generates derivative functions beside an `f64` function.
///
/// For `fn f(x: f64, y: f64) -> f64`, generates `f_grad(x, y) -> (f64, f64,
/// f64)` (the value, then ∂f/∂x, ∂f/∂y), `f_vjp(x, y, seed: f64)` (the same
/// derivatives times `seed`) and the split form `f_pullback(x, y)`. See the
/// `chainrule` crate documentation for the supported language.
#[proc_macro_attribute]
pub fn differentiate(args: TokenStream, input: TokenStream) -> TokenStream {
    expand::expand(args.into(), input.into()).into()
}
