//! `skip` and `take` on the elements of a sequence or of two zipped:
//! `xs.iter().skip(1)`, `xs.iter().take(k)`, `xs.iter().enumerate().skip(1)`,
//! `xs.iter().zip(ys).skip(1)`, in a `for` loop, a reduction or a collected
//! `map`.
//!
//! Such an iterator walks a contiguous part of the sequence, so before the
//! body is lowered each one is rewritten, as `syn`, into the sub-slice it
//! walks: `xs.iter().skip(k)` into `(&xs[min(k, n)..n]).iter()` with
//! `n = length(&xs)`, which the lowering reads as any sub-slice
//! (`subslices.rs`), so the derivative of each element flows back to the
//! element it came from. The bounds are clamped as the adapters clamp them:
//! skipping or taking more elements than there are gives an empty or whole
//! walk, never a panic. Adapters apply in order, innermost first, on a part
//! `start..end` of the sequence: `skip(k)` moves `start` forward and
//! `take(k)` moves `end` back to `start + k`, or, after a `.rev()`, from the
//! other end; `copied`/`cloned` and the final direction are kept.
//!
//! After `enumerate`, the counter keeps counting the positions in the whole
//! sequence, so `xs.iter().enumerate().skip(k)` becomes the range of those
//! positions zipped with the part, `(k..n).zip((&xs[k..n]).iter())`, a
//! `.rev()` reversing both. Before `enumerate` (`xs.iter().skip(k)
//! .enumerate()`) the part is enumerated from 0 as written.
//!
//! A `zip` of two sequences walks the first `min(m, n)` positions of both,
//! so the adapters after it leave the same part of each:
//! `xs.iter().zip(ys).skip(k)` becomes `(&xs[s..e]).iter()
//! .zip((&ys[s..e]).iter())`, and a `.rev()` reverses each side (both have
//! the same length).
//!
//! Only chains of `iter`/`into_iter`, `copied`/`cloned`, `rev`, `skip`,
//! `take` and one `enumerate` on a sequence, or on a `zip` of two plain
//! walks (`xs.iter()`, with `copied`, or the sequence itself as `zip`'s
//! argument), are rewritten, with nothing but `copied` before an
//! `enumerate` that `skip` or `take` follows. On a range,
//! `adapted_ranges.rs` counts the values instead; anything else (a `skip`
//! after `windows` or `map`) keeps the error that gives the rewrite to
//! write.

use proc_macro2::TokenStream;
use quote::quote;
use syn::spanned::Spanned;
use syn::visit_mut::VisitMut;
use syn::{Expr, ExprMethodCall};

use super::strip_parens;

/// `stmts` with every `skip`/`take` of a sequence's elements written as the
/// sub-slice it walks.
pub(super) fn narrowed_iterators(stmts: &[syn::Stmt]) -> Vec<syn::Stmt> {
    let mut stmts = stmts.to_vec();
    for stmt in &mut stmts {
        Narrower.visit_stmt_mut(stmt);
    }
    stmts
}

struct Narrower;

impl VisitMut for Narrower {
    fn visit_expr_mut(&mut self, expr: &mut Expr) {
        if let Some(narrowed) = narrowed_elements(expr) {
            *expr = narrowed;
        }
        syn::visit_mut::visit_expr_mut(self, expr);
    }
}

/// One adapter between a sequence's `iter()` and the end of the chain.
enum Adapter<'e> {
    Skip(&'e Expr),
    Take(&'e Expr),
    Rev,
    Copied(&'e syn::Ident),
}

impl Adapter<'_> {
    fn narrows(&self) -> bool {
        matches!(self, Adapter::Skip(_) | Adapter::Take(_))
    }
}

/// The sub-slice walk `expr` stands for, if it is a chain of adapters on a
/// sequence's `iter()`, or on a `zip` of two, with at least one `skip` or
/// `take` (see the module docs for which chains).
fn narrowed_elements(expr: &Expr) -> Option<Expr> {
    // Collected from the outside in; those after an `enumerate` move to
    // `enumerated` when it is reached.
    let mut adapters = Vec::new();
    let mut enumerated = None;
    let mut current = strip_parens(expr);
    let source = loop {
        let Expr::MethodCall(ExprMethodCall {
            method,
            args,
            receiver,
            turbofish: None,
            ..
        }) = current
        else {
            return None;
        };
        match (method.to_string().as_str(), args.len()) {
            ("iter" | "into_iter", 0) => {
                break Source::One(Elements {
                    sequence: receiver,
                    iter: quote!(.#method()),
                });
            }
            ("zip", 1) if adapters.iter().all(|a| !matches!(a, Adapter::Copied(_))) => {
                break Source::Zip(Elements::plain(receiver)?, Elements::plain_or_sequence(&args[0])?);
            }
            ("skip", 1) => adapters.push(Adapter::Skip(&args[0])),
            ("take", 1) => adapters.push(Adapter::Take(&args[0])),
            ("rev", 0) => adapters.push(Adapter::Rev),
            ("copied" | "cloned", 0) => adapters.push(Adapter::Copied(method)),
            ("enumerate", 0) if enumerated.is_none() => enumerated = Some(std::mem::take(&mut adapters)),
            _ => return None,
        }
        current = strip_parens(receiver);
    };
    let copied = adapters.iter().find_map(|adapter| match adapter {
        Adapter::Copied(method) => Some(quote!(.#method())),
        _ => None,
    });
    let span = expr.span();
    match enumerated {
        None if adapters.iter().any(Adapter::narrows) => {
            let Part { start, end, reversed } = part(&adapters, &source.length());
            let walk = source.walk(&start, &end, copied, reversed);
            Some(syn::parse_quote_spanned!(span=> #walk))
        }
        // Only `copied` before the `enumerate`: positions are indices.
        Some(after)
            if after.iter().any(Adapter::narrows) && adapters.iter().all(|a| matches!(a, Adapter::Copied(_))) =>
        {
            let Part { start, end, reversed } = part(&after, &source.length());
            let walk = source.walk(&start, &end, copied, reversed);
            let reversed = reversed.then(|| quote!(.rev()));
            Some(syn::parse_quote_spanned!(span=> (#start..#end) #reversed .zip(#walk)))
        }
        _ => None,
    }
}

/// What the adapters walk: one sequence, or two zipped, which walk their
/// first `min` of the two lengths together.
enum Source<'e> {
    One(Elements<'e>),
    Zip(Elements<'e>, Elements<'e>),
}

impl Source<'_> {
    /// The number of elements walked before any adapter.
    fn length(&self) -> TokenStream {
        match self {
            Source::One(walk) => walk.length(),
            Source::Zip(left, right) => {
                let (left, right) = (left.length(), right.length());
                quote!(::core::cmp::min(#left, #right))
            }
        }
    }

    /// The walk of the elements at positions `start..end`, with the
    /// `copied` written after the source, backwards when `reversed`. Both
    /// parts of a `zip` have the same length, so it is reversed by
    /// reversing each.
    fn walk(&self, start: &TokenStream, end: &TokenStream, copied: Option<TokenStream>, reversed: bool) -> TokenStream {
        let reversed = reversed.then(|| quote!(.rev()));
        match self {
            Source::One(walk) => {
                let part = walk.part(start, end);
                quote!(#part #copied #reversed)
            }
            Source::Zip(left, right) => {
                let (left, right) = (left.part(start, end), right.part(start, end));
                quote!(#left #reversed .zip(#right #reversed))
            }
        }
    }
}

/// A sequence's elements: `xs.iter()`, `xs.into_iter()`, either followed by
/// `copied`/`cloned`, or, as the argument of `zip`, the sequence itself.
struct Elements<'e> {
    sequence: &'e Expr,
    /// `.iter()` and the `.copied()` after it, as written.
    iter: TokenStream,
}

impl<'e> Elements<'e> {
    /// `xs.iter()` or `xs.into_iter()`, with a `.copied()` or `.cloned()`.
    fn plain(expr: &'e Expr) -> Option<Self> {
        let Expr::MethodCall(call) = strip_parens(expr) else {
            return None;
        };
        let method = &call.method;
        match (method.to_string().as_str(), call.args.len()) {
            ("iter" | "into_iter", 0) => Some(Elements {
                sequence: &call.receiver,
                iter: quote!(.#method()),
            }),
            ("copied" | "cloned", 0) => {
                let inner = Elements::plain(&call.receiver)?;
                let iter = &inner.iter;
                Some(Elements {
                    sequence: inner.sequence,
                    iter: quote!(#iter.#method()),
                })
            }
            _ => None,
        }
    }

    /// A plain walk, or a sequence given to `zip` as it is (`.zip(ys)`,
    /// `.zip(&ys)`), which it walks as `ys.iter()`.
    fn plain_or_sequence(expr: &'e Expr) -> Option<Self> {
        let sequence = match strip_parens(expr) {
            Expr::MethodCall(_) => return Elements::plain(expr),
            Expr::Reference(reference) if reference.mutability.is_none() => strip_parens(&reference.expr),
            sequence => sequence,
        };
        matches!(sequence, Expr::Path(_) | Expr::Field(_)).then(|| Elements {
            sequence,
            iter: quote!(.iter()),
        })
    }

    fn length(&self) -> TokenStream {
        let sequence = self.sequence;
        quote!(::chainrule::rules::length(&#sequence))
    }

    fn part(&self, start: &TokenStream, end: &TokenStream) -> TokenStream {
        let (sequence, iter) = (self.sequence, &self.iter);
        quote!((&#sequence[#start..#end])#iter)
    }
}

/// The part of a sequence a chain of adapters walks, and whether it walks
/// it backwards.
struct Part {
    start: TokenStream,
    end: TokenStream,
    reversed: bool,
}

/// The part of `length` elements that `adapters` (outermost first) leave.
fn part(adapters: &[Adapter<'_>], length: &TokenStream) -> Part {
    // `start` is `None` while it is 0.
    let mut start: Option<TokenStream> = None;
    let mut end = length.clone();
    let mut reversed = false;
    for adapter in adapters.iter().rev() {
        // The part left bounds every count taken from it.
        let left = match &start {
            Some(start) => quote!((#end - #start)),
            None => end.clone(),
        };
        let from_start = |k: &Expr| match &start {
            Some(start) => quote!(#start + ::core::cmp::min(#k, #left)),
            None => quote!(::core::cmp::min(#k, #left)),
        };
        match (adapter, reversed) {
            (Adapter::Skip(k), false) => start = Some(from_start(k)),
            (Adapter::Take(k), false) => end = from_start(k),
            (Adapter::Skip(k), true) => end = quote!(#end - ::core::cmp::min(#k, #left)),
            (Adapter::Take(k), true) => start = Some(quote!(#end - ::core::cmp::min(#k, #left))),
            (Adapter::Rev, _) => reversed = !reversed,
            (Adapter::Copied(_), _) => {}
        }
    }
    Part {
        start: start.unwrap_or_else(|| quote!(0)),
        end,
        reversed,
    }
}
