//! `step_by`, `skip` and `take` on a range: `for i in (a..b).step_by(s)`,
//! `for i in (0..n).skip(1)`, `(0..n).take(k).rev()`, in any order and
//! with `.rev()` anywhere in the chain.
//!
//! The loop is rewritten, as `syn`, into a counted loop over its values,
//! which the lowering knows: the ends and each adapter's argument are bound
//! once before the loop, in the order the iterator evaluates them (the
//! range first, then the adapters from the inside out); the loop counts
//! `k in 0..range_count(&chain)`; and the body first binds the pattern to
//! the chain's `k`-th value, `range_value(&chain, k)`, where `chain` is the
//! adapted range rebuilt from those bindings. For a range `Iterator::nth`
//! (and `nth_back`, under a `.rev()`) of every one of these adapters is a
//! constant-time computation on the range's ends, so the loop costs what
//! the loop as written costs. Both helpers take the chain as written, so
//! any integer type works, and every iteration sees the value it sees in
//! the loop as written: the values and derivatives are that loop's. A
//! `map`/`filter` chain over an adapted range becomes such a loop first
//! (`pipelines.rs`).

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::spanned::Spanned;
use syn::{Expr, ExprMethodCall};

use super::strip_parens;

/// The helpers the rewritten loop calls: integer computations on the
/// range, which the lowering keeps as written.
pub(super) const RANGE_QUERIES: [&str; 2] = ["range_count", "range_value"];

/// `for pat in (a..b).skip(k) { body }` (or any chain of `rev`, `step_by`,
/// `skip` and `take` on a range with both ends, with at least one of the
/// last three) as the block that counts its values (see the module docs);
/// `None` when the loop walks anything else. A range without an end is
/// left to the error for loops over open ranges.
pub(super) fn adapted_range_loop(for_loop: &syn::ExprForLoop) -> Option<Expr> {
    // Collected from the outside in.
    let mut adapters: Vec<(&syn::Ident, Option<&Expr>)> = Vec::new();
    let mut current = strip_parens(&for_loop.expr);
    let range = loop {
        match current {
            Expr::MethodCall(ExprMethodCall {
                method,
                args,
                receiver,
                turbofish: None,
                ..
            }) => {
                match (method.to_string().as_str(), args.len()) {
                    ("rev", 0) => adapters.push((method, None)),
                    ("step_by" | "skip" | "take", 1) => adapters.push((method, Some(&args[0]))),
                    _ => return None,
                }
                current = strip_parens(receiver);
            }
            Expr::Range(range) => break range,
            _ => return None,
        }
    };
    let (Some(start), Some(end)) = (&range.start, &range.end) else {
        return None;
    };
    if adapters.iter().all(|(_, argument)| argument.is_none()) {
        return None;
    }
    let limits = &range.limits;
    let mut chain = quote!((chainrule_from #limits chainrule_to));
    let mut bindings = vec![quote!(let chainrule_from = #start;), quote!(let chainrule_to = #end;)];
    for (position, (method, argument)) in adapters.iter().rev().enumerate() {
        chain = match argument {
            Some(argument) => {
                let name = format_ident!("chainrule_by_{position}");
                bindings.push(quote!(let #name = #argument;));
                quote!(#chain.#method(#name))
            }
            None => quote!(#chain.#method()),
        };
    }
    Some(counted_loop(for_loop, &bindings, &chain))
}

/// The block binding `bindings` and then counting `chain`'s values.
fn counted_loop(for_loop: &syn::ExprForLoop, bindings: &[TokenStream], chain: &TokenStream) -> Expr {
    let (label, pat, body) = (&for_loop.label, &for_loop.pat, &for_loop.body.stmts);
    syn::parse_quote_spanned!(for_loop.span()=> {
        #(#bindings)*
        #label for chainrule_steps in 0..::chainrule::rules::range_count(&#chain) {
            let #pat = ::chainrule::rules::range_value(&#chain, chainrule_steps);
            #(#body)*
        }
    })
}
