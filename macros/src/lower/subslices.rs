//! Sub-slices: `&w[a..b]`, `&w[a..]`, `&w[..b]`, `w[a..=b]`.
//!
//! A sub-slice is a view of part of a buffer, and the IR has no views of
//! parts. Each one is rewritten, as `syn`, into a copy of that part: a
//! `vec!` of zeros of its length, written element by element from the
//! buffer in a loop. That loop is lowered like one the user wrote, so the
//! part's derivative flows back into the elements it came from, in every
//! mode. Reading a copy instead of a view changes no value; the copy costs
//! one pass over the part.

use quote::quote;
use syn::Expr;
use syn::spanned::Spanned;

use super::{Lowerer, strip_parens};
use crate::ir::{Operand, Stmt};

impl Lowerer<'_> {
    /// `base[range]`: a copy of that part of `base`. `None` when the index
    /// is not a range.
    pub(super) fn lower_subslice(&mut self, index: &syn::ExprIndex, out: &mut Vec<Stmt>) -> Option<Operand> {
        let Expr::Range(range) = strip_parens(&index.index) else {
            return None;
        };
        let base = &index.expr;
        let span = index.span();
        let start = match &range.start {
            Some(start) => quote!(#start),
            None => quote!(0),
        };
        let end = match (&range.end, &range.limits) {
            (Some(end), syn::RangeLimits::HalfOpen(_)) => quote!(#end),
            (Some(end), syn::RangeLimits::Closed(_)) => quote!(#end + 1),
            (None, _) => quote!(#base.len()),
        };
        // The bounds are bound first: the loop must not read the copy's own
        // name, which takes the user's name once bound by a `let`.
        let block: Expr = syn::parse_quote_spanned!(span=> {
            let chainrule_start = #start;
            let chainrule_len = #end - chainrule_start;
            let mut chainrule_part = vec![0.0_f64; chainrule_len];
            for chainrule_i in 0..chainrule_len {
                chainrule_part[chainrule_i] = #base[chainrule_start + chainrule_i];
            }
            chainrule_part
        });
        Some(self.lower_expr(&block, out))
    }
}
