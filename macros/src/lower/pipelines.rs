//! The `map`s and `filter`s between a reduction and the sequence it walks:
//! `xs.iter().filter(|&&x| x > 0.0).map(|x| x * w).sum()`.
//!
//! A chain of them becomes the body of the reduction's loop, as `syn`
//! statements: the first closure's parameter is the loop's pattern (a
//! `filter`'s without its `&`: the closure gets a reference to the element),
//! each later closure's parameter is bound with `let` to the value the
//! chain holds so far, a `map` replaces that value with its body, and a
//! `filter` skips the rest of the iteration with `continue` when its body is
//! false. The condition is decided on primal values, like any `if`, so
//! filtered elements simply get no derivative from the reduction.
//!
//! References are taken apart where they are bound (`|&&x|`, `|&(i, x)|`)
//! or, for a parameter that names the reference itself (`|x| **x > 0.0`),
//! by binding the value and dropping the `*`s in front of the name: the
//! lowering holds numbers, not references to them.

use syn::spanned::Spanned;
use syn::visit_mut::VisitMut;
use syn::{Expr, Ident, Pat};

use super::closures::{ends_with_stage, untyped};
use super::{Lowerer, strip_parens};

/// What a reduction's loop runs for each element of `source`.
pub(super) struct Pipeline<'e> {
    /// The sequence walked, as a `for` loop reads it.
    pub source: &'e Expr,
    /// The loop's pattern.
    pub pattern: Pat,
    /// The bindings and `filter` tests, in order.
    pub stmts: Vec<syn::Stmt>,
    /// The element as the chain leaves it.
    pub value: Expr,
    /// Whether a `filter` skips elements.
    pub filtered: bool,
}

/// One step of the chain.
enum Stage {
    Map(syn::ExprClosure),
    Filter(syn::ExprClosure),
}

impl Stage {
    fn closure(&self) -> &syn::ExprClosure {
        match self {
            Stage::Map(closure) | Stage::Filter(closure) => closure,
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Stage::Map(_) => "map",
            Stage::Filter(_) => "filter",
        }
    }
}

impl Lowerer<'_> {
    /// The chain of `map`s and `filter`s `expr` ends with, as a loop body
    /// over its source. `None` when `expr` is not such a chain; `Some(Err)`
    /// when a closure cannot be such a body, already reported.
    pub(super) fn pipeline<'e>(&mut self, expr: &'e Expr) -> Option<Result<Pipeline<'e>, ()>> {
        let (source, stages) = stages(expr)?;
        for stage in &stages {
            if !self.closure_becomes_loop_body(stage.closure(), stage.name()) {
                return Some(Err(()));
            }
        }
        let filtered = stages.iter().any(|stage| matches!(stage, Stage::Filter(_)));
        let mut stages = stages.into_iter();
        let (pattern, mut stmts, mut value) = match stages.next()? {
            Stage::Map(closure) => (parameter(&closure).clone(), Vec::new(), (*closure.body).clone()),
            Stage::Filter(closure) => {
                // The closure gets `&element`: its pattern without the `&`
                // is the loop's, and a name for the reference names the
                // element.
                let (pattern, derefs_dropped) = match parameter(&closure) {
                    Pat::Reference(reference) => (self.named_pattern(&reference.pat), Vec::new()),
                    // `|x|` names the reference; `|(a, b)|` takes it apart
                    // by match ergonomics, each name a reference.
                    pat @ (Pat::Ident(_) | Pat::Tuple(_)) => {
                        let pattern = self.named_pattern(pat);
                        let names = pattern_names(&pattern);
                        (pattern, names)
                    }
                    pat => return self.filter_pattern_error(pat),
                };
                let Some(value) = pattern_value(&pattern) else {
                    return self.filter_pattern_error(parameter(&closure));
                };
                let mut test = (*closure.body).clone();
                DropDerefs(derefs_dropped).visit_expr_mut(&mut test);
                (pattern, skip_unless(&test), value)
            }
        };
        for stage in stages {
            let mut body = (*stage.closure().body).clone();
            match &stage {
                Stage::Map(closure) => {
                    bind_to(parameter(closure), &value, &mut stmts).visit_expr_mut(&mut body);
                    value = body;
                }
                Stage::Filter(closure) => {
                    value = self.settled(value, &mut stmts);
                    let reference: Expr = syn::parse_quote!(&#value);
                    let Some(names) = bind(parameter(closure), &reference, &mut stmts) else {
                        return self.filter_pattern_error(parameter(closure));
                    };
                    DropDerefs(names).visit_expr_mut(&mut body);
                    stmts.extend(skip_unless(&body));
                }
            }
        }
        Some(Ok(Pipeline {
            source,
            pattern,
            stmts,
            value,
            filtered,
        }))
    }

    /// `for pat in xs.iter().filter(…).map(…) { body }` as the loop over
    /// `xs` that runs the chain, binds `pat` to its value and runs `body`.
    /// `None` when the loop's sequence is not such a chain.
    pub(super) fn loop_over_pipeline(&mut self, for_loop: &syn::ExprForLoop) -> Option<Result<syn::ExprForLoop, ()>> {
        let Pipeline {
            source,
            pattern,
            mut stmts,
            value,
            ..
        } = match self.pipeline(&for_loop.expr)? {
            Ok(pipeline) => pipeline,
            Err(()) => return Some(Err(())),
        };
        let mut body = for_loop.body.clone();
        bind_to(&for_loop.pat, &value, &mut stmts).visit_block_mut(&mut body);
        let body = body.stmts;
        let label = &for_loop.label;
        Some(Ok(syn::parse_quote_spanned!(for_loop.span()=>
            #label for #pattern in #source {
                #(#stmts)*
                #(#body)*
            }
        )))
    }

    /// `value` as names, paths and tuples of them, each computed part bound
    /// first to a fresh name: what a `filter` can test while the chain keeps
    /// the value.
    fn settled(&mut self, value: Expr, stmts: &mut Vec<syn::Stmt>) -> Expr {
        match value {
            Expr::Tuple(mut tuple) => {
                for element in tuple.elems.iter_mut() {
                    *element = self.settled(element.clone(), stmts);
                }
                Expr::Tuple(tuple)
            }
            value if is_plain(&value) => value,
            value => {
                let name = Ident::new(&self.names.fresh("chainrule_item").to_string(), value.span());
                stmts.push(syn::parse_quote!(let #name = #value;));
                syn::parse_quote!(#name)
            }
        }
    }

    /// `pat` with each `_` replaced by a fresh name, so that the element it
    /// matched can be written again.
    fn named_pattern(&mut self, pat: &Pat) -> Pat {
        match pat {
            Pat::Wild(wild) => {
                let name = Ident::new(&self.names.fresh("chainrule_unused").to_string(), wild.span());
                syn::parse_quote!(#name)
            }
            Pat::Reference(reference) => {
                let mut reference = reference.clone();
                *reference.pat = self.named_pattern(&reference.pat);
                Pat::Reference(reference)
            }
            Pat::Tuple(tuple) => {
                let mut tuple = tuple.clone();
                for element in tuple.elems.iter_mut() {
                    *element = self.named_pattern(element);
                }
                Pat::Tuple(tuple)
            }
            Pat::Paren(paren) => self.named_pattern(&paren.pat),
            pat => pat.clone(),
        }
    }

    /// Reports a `filter` parameter the chain cannot bind.
    fn filter_pattern_error<T>(&mut self, pat: &Pat) -> Option<Result<T, ()>> {
        self.cx.error_spanned_by(
            pat,
            "#[differentiate] reads a `filter` closure's parameter as a reference to the element taken apart \
             (`|&&x| x > 0.0` over `xs.iter()`, `|&x| x > 0.0` over values, `|&(i, &x)| …` after `enumerate`) or \
             as one name (`|x| **x > 0.0`)",
        );
        Some(Err(()))
    }
}

/// The `map`s and `filter`s `expr` ends with, first one first, and the
/// sequence before them; `None` if `expr` does not end with one.
fn stages(expr: &Expr) -> Option<(&Expr, Vec<Stage>)> {
    let mut stages = Vec::new();
    let mut current = strip_parens(expr);
    while let Expr::MethodCall(call) = current {
        // `.copied()` and `.cloned()` after a stage: the chain holds numbers
        // already. (Right after the sequence they are the sequence's.)
        if call.args.is_empty()
            && matches!(call.method.to_string().as_str(), "copied" | "cloned")
            && ends_with_stage(&call.receiver)
        {
            current = strip_parens(&call.receiver);
            continue;
        }
        if call.args.len() != 1 {
            break;
        }
        let stage = match (call.method.to_string().as_str(), strip_parens(&call.args[0])) {
            ("map", Expr::Closure(closure)) if closure.inputs.len() == 1 => Stage::Map(closure.clone()),
            // `.map(f64::exp)`, `.map(sigmoid)`
            ("map", Expr::Path(function)) => Stage::Map(syn::parse_quote_spanned!(function.span()=>
                |chainrule_element| #function(chainrule_element)
            )),
            ("filter", Expr::Closure(closure)) if closure.inputs.len() == 1 => Stage::Filter(closure.clone()),
            _ => break,
        };
        stages.push(stage);
        current = strip_parens(&call.receiver);
    }
    if stages.is_empty() {
        return None;
    }
    stages.reverse();
    Some((current, stages))
}

/// A closure's only parameter, without its type.
fn parameter(closure: &syn::ExprClosure) -> &Pat {
    untyped(&closure.inputs[0])
}

/// `if !(test) { continue; }`; a test written as a block is evaluated
/// first, in its own scope, so that its `let`s stay inside it.
fn skip_unless(test: &Expr) -> Vec<syn::Stmt> {
    let span = test.span();
    match strip_parens(test) {
        Expr::Block(_) => {
            let keep = Ident::new("chainrule_keep", span);
            syn::parse_quote_spanned!(span=>
                let #keep: bool = #test;
                if !#keep { continue; }
            )
        }
        _ => syn::parse_quote_spanned!(span=> if !(#test) { continue; }),
    }
}

/// The expression a loop pattern's names rebuild: `(i, &x)` for `(i, &x)`.
/// `None` for patterns other than names, references and tuples.
fn pattern_value(pat: &Pat) -> Option<Expr> {
    match pat {
        Pat::Ident(ident) if ident.by_ref.is_none() && ident.subpat.is_none() => {
            let name = &ident.ident;
            Some(syn::parse_quote!(#name))
        }
        Pat::Reference(reference) => {
            let inner = pattern_value(&reference.pat)?;
            Some(syn::parse_quote!(&#inner))
        }
        Pat::Tuple(tuple) => {
            let elements = tuple.elems.iter().map(pattern_value).collect::<Option<Vec<_>>>()?;
            Some(syn::parse_quote!((#(#elements,)*)))
        }
        Pat::Paren(paren) => pattern_value(&paren.pat),
        _ => None,
    }
}

/// The names a pattern binds.
fn pattern_names(pat: &Pat) -> Vec<Ident> {
    match pat {
        Pat::Ident(ident) => vec![ident.ident.clone()],
        Pat::Reference(reference) => pattern_names(&reference.pat),
        Pat::Tuple(tuple) => tuple.elems.iter().flat_map(pattern_names).collect(),
        Pat::Paren(paren) => pattern_names(&paren.pat),
        Pat::Type(typed) => pattern_names(&typed.pat),
        _ => Vec::new(),
    }
}

/// Names, `&` of them and tuples of them: values a `filter` can bind
/// without computing them again.
fn is_plain(expr: &Expr) -> bool {
    match expr {
        Expr::Path(path) => path.path.get_ident().is_some(),
        Expr::Reference(reference) => is_plain(&reference.expr),
        Expr::Tuple(tuple) => tuple.elems.iter().all(is_plain),
        Expr::Paren(paren) => is_plain(&paren.expr),
        _ => false,
    }
}

/// `let` statements binding `pat` to `value`, taking references and tuples
/// apart; a name bound to a reference is bound to the value behind it. The
/// names so bound, whose `*`s the closure's body must drop; `None` if the
/// pattern and the value do not fit together.
fn bind(pat: &Pat, value: &Expr, stmts: &mut Vec<syn::Stmt>) -> Option<Vec<Ident>> {
    match (pat, strip_parens(value)) {
        (Pat::Type(typed), _) => bind(&typed.pat, value, stmts),
        (Pat::Paren(paren), _) => bind(&paren.pat, value, stmts),
        (Pat::Wild(_), _) => Some(Vec::new()),
        (Pat::Reference(reference), Expr::Reference(referent)) => bind(&reference.pat, &referent.expr, stmts),
        (Pat::Reference(reference), value) => bind(&reference.pat, &syn::parse_quote!(*#value), stmts),
        // Match ergonomics: a tuple pattern against a reference binds
        // references, which hold values here.
        (Pat::Tuple(_), Expr::Reference(referent)) => {
            let mut dropped = bind(pat, &referent.expr, stmts)?;
            dropped.extend(pattern_names(pat));
            Some(dropped)
        }
        (Pat::Tuple(tuple), Expr::Tuple(values)) if tuple.elems.len() == values.elems.len() => {
            let mut dropped = Vec::new();
            for (pat, value) in tuple.elems.iter().zip(&values.elems) {
                dropped.extend(bind(pat, value, stmts)?);
            }
            Some(dropped)
        }
        (Pat::Ident(ident), value) if ident.by_ref.is_none() && ident.subpat.is_none() => {
            let mut behind = value;
            let mut dropped = Vec::new();
            while let Expr::Reference(reference) = behind {
                behind = strip_parens(&reference.expr);
                dropped = vec![ident.ident.clone()];
            }
            let mutability = &ident.mutability;
            let name = &ident.ident;
            stmts.push(syn::parse_quote!(let #mutability #name = #behind;));
            Some(dropped)
        }
        _ => None,
    }
}

/// Binds `pat` to `value` as [`bind`] does, or with a plain
/// `let pat = value;` if they do not fit together (rustc then says why).
/// Returns what drops, from the code that reads them, the `*`s in front of
/// the names bound to what was behind a reference.
pub(super) fn bind_to(pat: &Pat, value: &Expr, stmts: &mut Vec<syn::Stmt>) -> DropDerefs {
    let mut bound = Vec::new();
    match bind(pat, value, &mut bound) {
        Some(names) => {
            stmts.append(&mut bound);
            DropDerefs(names)
        }
        None => {
            stmts.push(syn::parse_quote!(let #pat = #value;));
            DropDerefs(Vec::new())
        }
    }
}

/// Drops every `*` in front of the given names: they hold the value a
/// closure received a reference to.
pub(super) struct DropDerefs(Vec<Ident>);

impl VisitMut for DropDerefs {
    fn visit_expr_mut(&mut self, expr: &mut Expr) {
        if let Expr::Unary(unary) = expr
            && matches!(unary.op, syn::UnOp::Deref(_))
            && self.names_value(&unary.expr)
        {
            let mut inner = (*unary.expr).clone();
            self.visit_expr_mut(&mut inner);
            *expr = inner;
            return;
        }
        syn::visit_mut::visit_expr_mut(self, expr);
    }

    // A closure inside may name its own parameters alike.
    fn visit_expr_closure_mut(&mut self, _: &mut syn::ExprClosure) {}
}

impl DropDerefs {
    /// Whether `expr` is one of the names, or `*` of one.
    fn names_value(&self, expr: &Expr) -> bool {
        match strip_parens(expr) {
            Expr::Path(path) => path.path.get_ident().is_some_and(|name| self.0.contains(name)),
            Expr::Unary(unary) if matches!(unary.op, syn::UnOp::Deref(_)) => self.names_value(&unary.expr),
            _ => false,
        }
    }
}
