//! `step_by` on a range: `for i in (a..b).step_by(s) { … }`.
//!
//! The loop is rewritten, as `syn`, into a counted loop over its steps,
//! which the lowering knows: the ends and the step are bound once before
//! the loop, as the iterator evaluates them once; the loop counts
//! `k in 0..step_count(&(a..b), s)`; and the body first binds the pattern to
//! step `k`'s value, `step_value(&(a..b), s, k)`, the `k·s`-th value of the
//! range, which `Iterator::nth` finds in constant time for a range. Both
//! helpers take the range as written, so any integer type works, and so do
//! `a..=b` and `(a..b).rev().step_by(s)`; a `.rev()` of the whole,
//! `(a..b).step_by(s).rev()`, counts the steps down. Every iteration sees
//! the value it sees in the loop as written, so the values and derivatives
//! are those of that loop; a `map`/`filter` chain over a stepped range
//! becomes such a loop first (`pipelines.rs`).

use syn::spanned::Spanned;
use syn::{Expr, ExprMethodCall};

use super::strip_parens;

/// The helpers the rewritten loop calls: integer computations on the
/// range, which the lowering keeps as written.
pub(super) const STEP_QUERIES: [&str; 2] = ["step_count", "step_value"];

/// `for pat in (a..b).step_by(s) { body }` as the block that counts its
/// steps (see the module docs); `None` when the loop walks anything else.
/// A range without an end is left to the error for loops over open ranges.
pub(super) fn stepped_range_loop(for_loop: &syn::ExprForLoop) -> Option<Expr> {
    let (stepped, counts_down) = reversed(strip_parens(&for_loop.expr));
    let Expr::MethodCall(step_by) = stepped else {
        return None;
    };
    if step_by.method != "step_by" || step_by.args.len() != 1 {
        return None;
    }
    let (range, range_reversed) = reversed(strip_parens(&step_by.receiver));
    let Expr::Range(syn::ExprRange {
        start: Some(start),
        end: Some(end),
        limits,
        ..
    }) = range
    else {
        return None;
    };
    let step = &step_by.args[0];
    let range = if range_reversed {
        quote::quote!((chainrule_from #limits chainrule_to).rev())
    } else {
        quote::quote!((chainrule_from #limits chainrule_to))
    };
    let steps = if counts_down {
        quote::quote!((0..::chainrule::rules::step_count(&#range, chainrule_step)).rev())
    } else {
        quote::quote!(0..::chainrule::rules::step_count(&#range, chainrule_step))
    };
    let (label, pat, body) = (&for_loop.label, &for_loop.pat, &for_loop.body.stmts);
    Some(syn::parse_quote_spanned!(for_loop.span()=> {
        let chainrule_from = #start;
        let chainrule_to = #end;
        let chainrule_step = #step;
        #label for chainrule_steps in #steps {
            let #pat = ::chainrule::rules::step_value(&#range, chainrule_step, chainrule_steps);
            #(#body)*
        }
    }))
}

/// `iterator.rev()` as `(iterator, true)`, anything else as `(it, false)`.
fn reversed(expr: &Expr) -> (&Expr, bool) {
    match expr {
        Expr::MethodCall(ExprMethodCall {
            method, args, receiver, ..
        }) if method == "rev" && args.is_empty() => (strip_parens(receiver), true),
        expr => (expr, false),
    }
}
