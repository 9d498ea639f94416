//! The sequences a `for` loop walks: `xs`, `&xs`, `xs.iter()`, `.copied()`,
//! `.windows(k)`, `.chunks(k)`, `.enumerate()` and `.zip(ys)`, nested in
//! any order.
//!
//! An iterable is read as a tree, a [`Walk`]: its leaves are sequences read
//! element by element, an `enumerate` adds a counter and a `zip` pairs two
//! walks. The loop's pattern is matched against the tree, binding each
//! leaf's element and each counter. All leaves advance together, so the loop
//! is a counted loop over as many elements as the shortest leaf has (where
//! `zip` stops), and every counter is its index: element `i` of each leaf is
//! `leaf[i]`, read with an ordinary index, so its derivative flows back to
//! the element it came from.
//!
//! `xs.windows(k)`, `xs.chunks(k)` and `xs.chunks_exact(k)` are leaves
//! whose element is a sub-slice: step `i` binds `&xs[i..i + k]` (or
//! `&xs[i·k..]` up to `(i + 1)·k`) as a statement at the top of the body,
//! lowered as any sub-slice is (`subslices.rs`). A leaf under a `.rev()`
//! inside the tree reads `leaf[len − 1 − i]` (a `.rev()` of the whole walk
//! runs the loop backwards instead), and a range zipped with sequences,
//! `(a..b).zip(xs)`, binds `a + i`.

use syn::Expr;
use syn::spanned::Spanned;

use super::{Lowerer, pattern_name, strip_parens};

/// How an iterable walks its sequences.
pub(super) enum Walk<'a> {
    /// `xs`, `&xs`, `xs.iter()`, `xs.iter().copied()`: the elements of
    /// `sequence`, where `iterable` is the leaf as written; `copied` for
    /// `.copied()` and `.cloned()`, which yield values, not references.
    Elements {
        iterable: &'a Expr,
        sequence: &'a Expr,
        copied: bool,
        /// `.rev()` inside a `zip` or under an `enumerate`: step `i` reads
        /// the element `len − 1 − i`.
        reversed: bool,
    },
    /// A range zipped with other walks, `(0..n).zip(xs)`: step `i` gives
    /// `start + i` (or counts down from the end under `.rev()`).
    Counter { range: &'a syn::ExprRange, reversed: bool },
    /// `xs.windows(k)`, `xs.chunks(k)`, `xs.chunks_exact(k)`: sub-slices of
    /// `sequence` of `size` elements.
    Slices {
        sequence: &'a Expr,
        size: &'a Expr,
        kind: SliceKind,
    },
    /// `walk.enumerate()`: pairs `(i, element)`.
    Enumerate(Box<Walk<'a>>),
    /// `left.zip(right)`: pairs `(left element, right element)`.
    Zip(Box<Walk<'a>>, Box<Walk<'a>>),
}

/// Which sub-slices a [`Walk::Slices`] takes.
#[derive(Clone, Copy)]
pub(super) enum SliceKind {
    /// Overlapping, one per start: `windows`.
    Windows,
    /// Consecutive, the last one shorter: `chunks`.
    Chunks,
    /// Consecutive, a shorter rest left out: `chunks_exact`.
    ChunksExact,
}

impl<'a> Walk<'a> {
    /// The walk `iterable` stands for; `None` for a range, or for adapters
    /// with no rule (`skip`, `chain`, `step_by`, …).
    pub(super) fn of(iterable: &'a Expr) -> Option<Self> {
        match strip_parens(iterable) {
            Expr::MethodCall(call) if call.args.len() == 1 => {
                let kind = match call.method.to_string().as_str() {
                    "windows" => SliceKind::Windows,
                    "chunks" => SliceKind::Chunks,
                    "chunks_exact" => SliceKind::ChunksExact,
                    "zip" => {
                        return Some(Walk::Zip(
                            Box::new(Walk::of(&call.receiver)?),
                            Box::new(Walk::of(&call.args[0])?),
                        ));
                    }
                    _ => return None,
                };
                let sequence = match Walk::of(&call.receiver) {
                    Some(Walk::Elements {
                        sequence,
                        reversed: false,
                        ..
                    }) => sequence,
                    Some(_) => return None,
                    None => &call.receiver,
                };
                Some(Walk::Slices {
                    sequence,
                    size: &call.args[0],
                    kind,
                })
            }
            Expr::MethodCall(call) if call.method == "enumerate" && call.args.is_empty() => {
                Some(Walk::Enumerate(Box::new(Walk::of(&call.receiver)?)))
            }
            Expr::MethodCall(call) if call.method == "rev" && call.args.is_empty() => match Walk::of(&call.receiver)? {
                Walk::Elements {
                    iterable,
                    sequence,
                    copied,
                    reversed,
                } => Some(Walk::Elements {
                    iterable,
                    sequence,
                    copied,
                    reversed: !reversed,
                }),
                Walk::Counter { range, reversed } => Some(Walk::Counter {
                    range,
                    reversed: !reversed,
                }),
                _ => None,
            },
            Expr::Range(range) if range.start.is_some() && range.end.is_some() => {
                Some(Walk::Counter { range, reversed: false })
            }
            Expr::MethodCall(call)
                if call.args.is_empty()
                    && matches!(
                        call.method.to_string().as_str(),
                        "iter" | "into_iter" | "copied" | "cloned"
                    ) =>
            {
                let copies = matches!(call.method.to_string().as_str(), "copied" | "cloned");
                match Walk::of(&call.receiver) {
                    Some(Walk::Elements {
                        sequence,
                        copied,
                        reversed,
                        ..
                    }) => Some(Walk::Elements {
                        iterable,
                        sequence,
                        copied: copied || copies,
                        reversed,
                    }),
                    Some(walk) => Some(walk),
                    None => Some(Walk::Elements {
                        iterable,
                        sequence: &call.receiver,
                        copied: copies,
                        reversed: false,
                    }),
                }
            }
            Expr::Reference(reference) if reference.mutability.is_none() => Some(Walk::Elements {
                iterable,
                sequence: &reference.expr,
                copied: false,
                reversed: false,
            }),
            Expr::Path(_) => Some(Walk::Elements {
                iterable,
                sequence: iterable,
                copied: false,
                reversed: false,
            }),
            _ => None,
        }
    }

    /// The number of steps: the fewest any leaf has.
    pub(super) fn length(&self) -> Expr {
        let mut steps = Vec::new();
        self.collect_steps(&mut steps);
        let mut steps = steps.into_iter();
        let first = steps.next().expect("a walk has at least one leaf");
        steps.fold(first, |fewest, steps| syn::parse_quote!(#fewest.min(#steps)))
    }

    /// The number of steps of each leaf, left to right.
    fn collect_steps(&self, steps: &mut Vec<Expr>) {
        match self {
            Walk::Elements { sequence, .. } => steps.push(elements_in(sequence)),
            Walk::Counter { range, .. } => {
                steps.push(syn::parse_quote!(::core::iter::Iterator::size_hint(&(#range)).0))
            }
            Walk::Slices { sequence, size, kind } => {
                let length = quote::quote!(::chainrule::rules::length(&#sequence));
                steps.push(match kind {
                    // n − k + 1 windows, none when k > n.
                    SliceKind::Windows => syn::parse_quote!((#length + 1).saturating_sub(#size)),
                    SliceKind::Chunks => syn::parse_quote!(#length.div_ceil(#size)),
                    SliceKind::ChunksExact => syn::parse_quote!(#length / (#size)),
                });
            }
            Walk::Enumerate(inner) => inner.collect_steps(steps),
            Walk::Zip(left, right) => {
                left.collect_steps(steps);
                right.collect_steps(steps);
            }
        }
    }
}

/// The number of elements of `sequence`. A sub-slice `xs[a..b]` has
/// `b − a`, counted from its bounds, since a faer vector has no sub-slice
/// to ask (the lowering copies the part element by element).
fn elements_in(sequence: &Expr) -> Expr {
    let Expr::Index(syn::ExprIndex { expr: base, index, .. }) = strip_parens(sequence) else {
        return syn::parse_quote!(::chainrule::rules::length(&#sequence));
    };
    let Expr::Range(range) = strip_parens(index) else {
        return syn::parse_quote!(::chainrule::rules::length(&#sequence));
    };
    let end = match (&range.end, &range.limits) {
        (Some(end), syn::RangeLimits::HalfOpen(_)) => quote::quote!(#end),
        (Some(end), syn::RangeLimits::Closed(_)) => quote::quote!(#end + 1),
        (None, _) => quote::quote!(::chainrule::rules::length(&#base)),
    };
    match &range.start {
        Some(start) => syn::parse_quote!((#end - (#start))),
        None => syn::parse_quote!(#end),
    }
}

/// The first adapter of `iterable`'s chain that no [`Walk`] has, with what
/// to write instead, for the adapters with a usual rewrite: `skip`, `take`,
/// `step_by`, `chain`. `None` for others.
pub(super) fn adapter_without_rule(iterable: &Expr) -> Option<(&syn::Ident, &'static str)> {
    let mut current = strip_parens(iterable);
    let mut first = None;
    while let Expr::MethodCall(call) = current {
        let instead = match call.method.to_string().as_str() {
            "skip" => Some(
                "it is differentiated on a range (`(0..n).skip(k)`) or on the elements of sequences \
                 (`xs.iter().skip(k)`, `xs.iter().enumerate().skip(k)`, `xs.iter().zip(ys).skip(k)`); \
                 count from `k` instead: `for i in k..xs.len() { … xs[i] … }`",
            ),
            "take" => Some(
                "it is differentiated on a range (`(0..n).take(k)`) or on the elements of sequences \
                 (`xs.iter().take(k)`, `xs.iter().enumerate().take(k)`, `xs.iter().zip(ys).take(k)`); \
                 count to `k` instead: `for i in 0..k.min(xs.len()) { … xs[i] … }`",
            ),
            "step_by" => Some(
                "it is differentiated on a range with both ends; step over the indices and read the elements: \
                 `for i in (0..xs.len()).step_by(s) { … xs[i] … }`",
            ),
            "chain" => Some("write one loop for each sequence, one after the other"),
            _ => None,
        };
        if let Some(instead) = instead {
            first = Some((&call.method, instead));
        }
        current = strip_parens(&call.receiver);
    }
    first
}

/// What a loop's pattern binds in a [`Walk`].
#[derive(Default)]
pub(super) struct WalkBindings<'a> {
    /// The names of the counters of `enumerate`s, all the loop's index.
    pub(super) counters: Vec<String>,
    /// The elements bound to a name (not `_`).
    pub(super) elements: Vec<BoundElement<'a>>,
    /// The sub-slices and range values bound to a name, computed from the
    /// loop's index at the top of its body.
    pub(super) computed: Vec<(String, Computed<'a>)>,
    /// `let (x, y) = element;` for each element bound to a tuple pattern,
    /// at the top of the body: the element gets a name of its own.
    pub(super) destructured: Vec<syn::Stmt>,
}

/// A value each step computes from the loop's index.
pub(super) enum Computed<'a> {
    /// `&sequence[…]`, a window or chunk.
    Slice {
        sequence: &'a Expr,
        size: &'a Expr,
        kind: SliceKind,
    },
    /// A range's value, `start + i`.
    Counter { range: &'a syn::ExprRange, reversed: bool },
}

impl WalkBindings<'_> {
    /// The statements binding the sub-slices and range values at the top of
    /// the loop's body, with `counter` the loop's index.
    pub(super) fn computed_statements(&self, counter: &str) -> Vec<syn::Stmt> {
        let counter = syn::Ident::new(counter, proc_macro2::Span::mixed_site());
        self.computed
            .iter()
            .map(|(name, computed)| {
                let name = syn::Ident::new(name, proc_macro2::Span::call_site());
                match computed {
                    Computed::Slice { sequence, size, kind } => {
                        let length = quote::quote!(#sequence.len());
                        let range = match kind {
                            SliceKind::Windows => quote::quote!(#counter..#counter + #size),
                            SliceKind::Chunks => {
                                quote::quote!(#counter * #size..((#counter + 1) * #size).min(#length))
                            }
                            SliceKind::ChunksExact => quote::quote!(#counter * #size..(#counter + 1) * #size),
                        };
                        syn::parse_quote!(let #name = &#sequence[#range];)
                    }
                    Computed::Counter { range, reversed } => {
                        let (start, end) = (&range.start, &range.end);
                        let last = match range.limits {
                            syn::RangeLimits::HalfOpen(_) => quote::quote!((#end) - 1),
                            syn::RangeLimits::Closed(_) => quote::quote!(#end),
                        };
                        if *reversed {
                            syn::parse_quote!(let #name = #last - #counter;)
                        } else {
                            syn::parse_quote!(let #name = (#start) + #counter;)
                        }
                    }
                }
            })
            .collect()
    }
}

/// One leaf's element, bound to `name`.
pub(super) struct BoundElement<'a> {
    pub(super) name: String,
    pub(super) iterable: &'a Expr,
    pub(super) sequence: &'a Expr,
    /// Whether the element is taken by value (`&x`, or `.copied()`), so
    /// that `x` is an `f64` even where the sequence is read by reference.
    pub(super) dereferenced: bool,
    /// Whether step `i` reads the element `len − 1 − i`.
    pub(super) reversed: bool,
    /// Whether the element is a tuple of constants that the loop's pattern
    /// takes apart (`for &(x, y) in data`), in one of
    /// [`WalkBindings::destructured`].
    pub(super) destructured: bool,
}

impl Lowerer<'_> {
    /// Matches `pat` against `walk`, recording what it binds in `bound`;
    /// `None` after reporting a pattern that does not fit the walk.
    pub(super) fn bind_walk<'a>(
        &mut self,
        walk: &Walk<'a>,
        pat: &syn::Pat,
        bound: &mut WalkBindings<'a>,
    ) -> Option<()> {
        let pat = match pat {
            syn::Pat::Paren(paren) => &*paren.pat,
            pat => pat,
        };
        match walk {
            Walk::Elements {
                iterable,
                sequence,
                copied,
                reversed,
            } => {
                let (inner, dereferenced) = match pat {
                    syn::Pat::Reference(reference) if reference.mutability.is_none() => (&*reference.pat, true),
                    pat => (pat, *copied),
                };
                let destructured = matches!(inner, syn::Pat::Tuple(_));
                let name = if destructured {
                    // `for &(x, y) in data` over a constant sequence of
                    // tuples: the element is named, then taken apart as a
                    // constant tuple is.
                    let name = format!("chainrule_element{}", bound.destructured.len());
                    let ident = syn::Ident::new(&name, proc_macro2::Span::call_site());
                    bound
                        .destructured
                        .push(syn::parse_quote_spanned!(inner.span()=> let #inner = #ident;));
                    Some(name)
                } else {
                    self.bound_name(pattern_name(inner), pat, "each element", "`for &x in xs`")?
                };
                if let Some(name) = name {
                    bound.elements.push(BoundElement {
                        name,
                        iterable,
                        sequence,
                        dereferenced,
                        reversed: *reversed,
                        destructured,
                    });
                }
                Some(())
            }
            Walk::Counter { range, reversed } => {
                if let Some(name) = self.bound_name(pattern_name(pat), pat, "each value of the range", "`(i, x)`")? {
                    let reversed = *reversed;
                    bound.computed.push((name, Computed::Counter { range, reversed }));
                }
                Some(())
            }
            Walk::Slices { sequence, size, kind } => {
                let example = "`for w in xs.windows(2)`";
                if let Some(name) = self.bound_name(pattern_name(pat), pat, "each sub-slice", example)? {
                    let kind = *kind;
                    bound.computed.push((name, Computed::Slice { sequence, size, kind }));
                }
                Some(())
            }
            Walk::Enumerate(inner) => {
                let Some((index, element)) = pair(pat) else {
                    self.cx
                        .error_spanned_by(pat, "with `.enumerate()`, bind the pair as `(i, x)` or `(i, &x)`");
                    return None;
                };
                if let Some(name) = self.bound_name(pattern_name(index), index, "the index", "`(i, x)`")? {
                    bound.counters.push(name);
                }
                self.bind_walk(inner, element, bound)
            }
            Walk::Zip(left, right) => {
                let Some((left_pat, right_pat)) = pair(pat) else {
                    self.cx
                        .error_spanned_by(pat, "with `.zip(..)`, bind the pair as `(x, y)` or `(&x, &y)`");
                    return None;
                };
                self.bind_walk(left, left_pat, bound)?;
                self.bind_walk(right, right_pat, bound)
            }
        }
    }
    /// The name `pattern` binds (`None` for `_`), given as `name` by
    /// `pattern_name`; `None` after reporting a pattern that binds no single
    /// name, asking to bind `what` to one as in `example`.
    fn bound_name(
        &mut self,
        name: Result<Option<String>, ()>,
        pattern: &syn::Pat,
        what: &str,
        example: &str,
    ) -> Option<Option<String>> {
        match name {
            Ok(name) => Some(name),
            Err(()) => {
                self.cx
                    .error_spanned_by(pattern, format!("bind {what} to a name, e.g. {example}"));
                None
            }
        }
    }
}

/// The two halves of a pair pattern `(a, b)`.
fn pair(pat: &syn::Pat) -> Option<(&syn::Pat, &syn::Pat)> {
    match pat {
        syn::Pat::Tuple(tuple) if tuple.elems.len() == 2 => Some((&tuple.elems[0], &tuple.elems[1])),
        _ => None,
    }
}
