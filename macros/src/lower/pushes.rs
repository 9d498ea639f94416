//! Vectors grown by `push`, when their final length, or a bound on it, is
//! known before the first push.
//!
//! The IR's buffers never change length, so a `Vec` that grows cannot be
//! differentiated as it is written. Before lowering, the body is rewritten,
//! as `syn`. A `let mut v = Vec::new();` (or `Vec::with_capacity(n)`, or
//! `vec![]`) qualifies when its pushes are statements of its own block
//! (`v.push(a); v.push(b);`), or statements of the body of one `for` loop of
//! that block or of `for` loops nested in it whose bounds do not depend on
//! the loops around them, or of the branches of `if`s there, with no
//! `break`, `continue` or `return` in the loops, and no push or condition
//! reads the vector (`v.push(v.len() as f64)` would see its final length).
//! It becomes `let mut v = vec![Default::default(); count];` just before the
//! first push, where `count` is the number of pushes (the element type is
//! what the pushes store, as for the `Vec` written), and each `v.push(e);`
//! becomes `v[pushed] = e; pushed += 1;`. Under an `if`, `count` is only a
//! bound (each `if` counts as its branch with the most pushes): the pushes
//! write into a buffer of that length, and after the last one `v` is its
//! first `pushed` elements, `let mut v = grown[..pushed].to_vec();`. The
//! vector is not mentioned between its `let` and its last push other than
//! by the pushes, so no read sees it half full. Any other use of `push` is
//! left as it is, and reported where it is lowered.

use proc_macro2::Span;
use quote::quote;
use syn::visit::Visit;
use syn::visit_mut::VisitMut;
use syn::{Expr, Ident};

use super::sequences::Walk;
use super::{LoopExitFinder, ReturnFinder, assigned_names_in_stmt, strip_parens};

/// `stmts` with every vector grown by `push` to a known length, at any
/// depth, written by index into a vector of that length.
pub(super) fn preallocated_pushes(stmts: &[syn::Stmt]) -> Vec<syn::Stmt> {
    let mut block = syn::Block {
        brace_token: Default::default(),
        stmts: stmts.to_vec(),
    };
    Preallocator.visit_block_mut(&mut block);
    block.stmts
}

struct Preallocator;

impl VisitMut for Preallocator {
    fn visit_block_mut(&mut self, block: &mut syn::Block) {
        syn::visit_mut::visit_block_mut(self, block);
        let mut start = 0;
        while let Some(found) = block.stmts[start..]
            .iter()
            .position(|stmt| grown_vector(stmt).is_some())
        {
            let declaration = start + found;
            // A rewritten declaration is gone: what follows it is now at its place.
            start = if preallocate(&mut block.stmts, declaration) {
                declaration
            } else {
                declaration + 1
            };
        }
    }

    fn visit_expr_closure_mut(&mut self, _: &mut syn::ExprClosure) {}
}

/// The name of the vector `stmt` declares empty to grow it,
/// `let mut v = Vec::new();`, and its element type if written, only `f64`.
fn grown_vector(stmt: &syn::Stmt) -> Option<Ident> {
    let syn::Stmt::Local(local) = stmt else {
        return None;
    };
    let (pat, ty) = match &local.pat {
        syn::Pat::Type(typed) => (&*typed.pat, Some(&*typed.ty)),
        pat => (pat, None),
    };
    let syn::Pat::Ident(ident) = pat else {
        return None;
    };
    if ident.mutability.is_none() || ident.by_ref.is_some() || ident.subpat.is_some() {
        return None;
    }
    if ty.is_some_and(|ty| !is_vec_of_f64(ty)) {
        return None;
    }
    let init = local.init.as_ref().filter(|init| init.diverge.is_none())?;
    let empty = match strip_parens(&init.expr) {
        Expr::Call(call) => match &*call.func {
            Expr::Path(path) => {
                let segments: Vec<String> = path.path.segments.iter().map(|s| s.ident.to_string()).collect();
                matches!(
                    segments.iter().map(String::as_str).collect::<Vec<_>>().as_slice(),
                    [.., "Vec", "new"] | [.., "Vec", "with_capacity"]
                )
            }
            _ => false,
        },
        Expr::Macro(mac) => mac.mac.path.is_ident("vec") && mac.mac.tokens.is_empty(),
        _ => false,
    };
    empty.then(|| ident.ident.clone())
}

fn is_vec_of_f64(ty: &syn::Type) -> bool {
    let syn::Type::Path(path) = ty else {
        return false;
    };
    let Some(last) = path.path.segments.last() else {
        return false;
    };
    let syn::PathArguments::AngleBracketed(arguments) = &last.arguments else {
        return false;
    };
    last.ident == "Vec"
        && matches!(
            arguments.args.first(),
            Some(syn::GenericArgument::Type(syn::Type::Path(element))) if element.path.is_ident("f64")
        )
}

/// Rewrites the vector declared at `stmts[declaration]` if its pushes
/// allow it, and says whether it did; leaves the block as it is otherwise.
fn preallocate(stmts: &mut Vec<syn::Stmt>, declaration: usize) -> bool {
    let Some(name) = grown_vector(&stmts[declaration]) else {
        return false;
    };
    // The vector's uses, up to a `let` that declares another of its name.
    let scope_end = (declaration + 1..stmts.len())
        .find(|&i| declares(&stmts[i], &name))
        .map_or(stmts.len(), |shadowing| shadowing + 1);
    let uses: Vec<usize> = (declaration + 1..scope_end)
        .filter(|&i| mentions(&stmts[i], &name))
        .collect();
    let Some(&first) = uses.first() else {
        return false;
    };
    // The pushes: a run of push statements, or one loop or `if` pushing.
    let (count, exact, last_push): (Expr, bool, usize) = if push_of(&stmts[first], &name).is_some() {
        let pushes = uses
            .iter()
            .take_while(|&&i| push_of(&stmts[i], &name).is_some())
            .count();
        (syn::parse_quote!(#pushes), true, uses[pushes - 1])
    } else {
        let Some((count, exact)) = push_count(&stmts[first], &name, &[]) else {
            return false;
        };
        (count, exact, first)
    };
    // No push after the vector is first read.
    if uses
        .iter()
        .filter(|&&i| i > last_push)
        .any(|&i| contains_push(&stmts[i], &name))
    {
        return false;
    }
    let pushed = Ident::new(&format!("chainrule_pushed_{name}"), Span::mixed_site());
    let buffer = if exact {
        name.clone()
    } else {
        Ident::new(&format!("chainrule_grown_{name}"), Span::mixed_site())
    };
    let mut writer = PushWriter {
        name: &name,
        buffer: &buffer,
        pushed: &pushed,
    };
    for stmt in &mut stmts[first..=last_push] {
        writer.write_by_index(stmt);
        writer.visit_stmt_mut(stmt);
    }
    let syn::Stmt::Local(local) = &stmts[declaration] else {
        return false;
    };
    let pat = local.pat.clone();
    if !exact {
        stmts.insert(
            last_push + 1,
            syn::parse_quote!(let #pat = #buffer[..#pushed].to_vec();),
        );
    }
    stmts.remove(declaration);
    let allocation: syn::Stmt = if exact {
        syn::parse_quote!(let #pat = vec![::core::default::Default::default(); #count];)
    } else {
        syn::parse_quote!(let mut #buffer = vec![::core::default::Default::default(); #count];)
    };
    let allocation: [syn::Stmt; 2] = [allocation, syn::parse_quote!(let mut #pushed = 0_usize;)];
    stmts.splice(first - 1..first - 1, allocation);
    true
}

/// Whether `stmt` is a `let` declaring a variable named `name`.
fn declares(stmt: &syn::Stmt, name: &Ident) -> bool {
    let syn::Stmt::Local(local) = stmt else {
        return false;
    };
    let pat = &local.pat;
    token_mentions(quote!(#pat), name)
}

/// `e` of a statement `name.push(e);` whose `e` does not read `name` (it
/// would see the whole vector, not the part pushed so far).
fn push_of<'s>(stmt: &'s syn::Stmt, name: &Ident) -> Option<&'s Expr> {
    let syn::Stmt::Expr(Expr::MethodCall(call), Some(_)) = stmt else {
        return None;
    };
    let receiver_is_name = matches!(strip_parens(&call.receiver), Expr::Path(path) if path.path.is_ident(name));
    let pushes_onto_name = call.method == "push" && call.args.len() == 1 && receiver_is_name;
    (pushes_onto_name && !mentions_expr(&call.args[0], name)).then(|| &call.args[0])
}

/// The pushes onto `name` that `stmt` makes, a push, a `for` loop or an
/// `if` pushing, and whether that number is exact: with an `if` among them
/// it is a bound.
fn push_count(stmt: &syn::Stmt, name: &Ident, bound: &[Ident]) -> Option<(Expr, bool)> {
    if push_of(stmt, name).is_some() {
        return Some((syn::parse_quote!(1), true));
    }
    match stmt {
        syn::Stmt::Expr(Expr::ForLoop(_), _) => loop_push_count(stmt, name, bound),
        syn::Stmt::Expr(Expr::If(expr_if), _) => Some((if_push_count(expr_if, name, bound)?, false)),
        _ => None,
    }
}

/// The pushes the statements of a block make ([`push_count`] of each that
/// mentions `name`). Loops inside may not bound their trips by `bound`, nor
/// by what the block declares or assigns.
fn block_push_count(stmts: &[syn::Stmt], name: &Ident, bound: &[Ident]) -> Option<(Expr, bool)> {
    let mut inner_bound = bound.to_vec();
    for stmt in stmts {
        if let syn::Stmt::Local(local) = stmt {
            let pat = &local.pat;
            bound_idents(quote!(#pat), &mut inner_bound);
        }
        let assigned = assigned_names_in_stmt(stmt, &std::collections::HashSet::new());
        inner_bound.extend(
            assigned
                .into_iter()
                .map(|(name, _)| Ident::new(&name, Span::call_site())),
        );
    }
    let (mut counts, mut exact): (Vec<Expr>, bool) = (Vec::new(), true);
    for stmt in stmts.iter().filter(|stmt| mentions(stmt, name)) {
        let (count, stmt_exact) = push_count(stmt, name, &inner_bound)?;
        counts.push(count);
        exact &= stmt_exact;
    }
    if counts.is_empty() {
        return Some((syn::parse_quote!(0), true));
    }
    Some((syn::parse_quote!((#(#counts)+*)), exact))
}

/// A bound on the pushes of an `if` (`else if` included) whose condition
/// does not read `name`: the most that one of its branches makes.
fn if_push_count(expr_if: &syn::ExprIf, name: &Ident, bound: &[Ident]) -> Option<Expr> {
    if mentions_expr(&expr_if.cond, name) {
        return None;
    }
    let (then, _) = block_push_count(&expr_if.then_branch.stmts, name, bound)?;
    let otherwise: Expr = match expr_if.else_branch.as_ref().map(|(_, branch)| &**branch) {
        None => syn::parse_quote!(0),
        Some(Expr::Block(block)) => block_push_count(&block.block.stmts, name, bound)?.0,
        Some(Expr::If(nested)) => if_push_count(nested, name, bound)?,
        Some(_) => return None,
    };
    Some(syn::parse_quote!(::core::cmp::max(#then, #otherwise)))
}

/// For a `for` loop that pushes onto `name` in statements of its body, or
/// of the bodies of `for` loops and the branches of `if`s in it (and
/// mentions it nowhere else), none of which breaks, continues or returns:
/// the number of pushes it makes, the pushes of one iteration × the trip
/// count, and whether it is exact (no `if` around a push). An inner loop's
/// bounds may not read `bound`, what the loops around it bind or change
/// (`for j in 0..i` has no count known before the outer loop starts).
fn loop_push_count(stmt: &syn::Stmt, name: &Ident, bound: &[Ident]) -> Option<(Expr, bool)> {
    let syn::Stmt::Expr(Expr::ForLoop(for_loop), _) = stmt else {
        return None;
    };
    let reads_bound = bound.iter().any(|ident| mentions_expr(&for_loop.expr, ident));
    if for_loop.label.is_some() || mentions_expr(&for_loop.expr, name) || reads_bound {
        return None;
    }
    let body = &for_loop.body.stmts;
    let mut exits = LoopExitFinder {
        continues_count: true,
        found: false,
    };
    body.iter().for_each(|stmt| exits.visit_stmt(stmt));
    let returns = body.iter().any(|stmt| {
        let mut finder = ReturnFinder::default();
        finder.visit_stmt(stmt);
        finder.0
    });
    if exits.found || returns {
        return None;
    }
    // What the inner loops may not read: this loop's pattern, and what its
    // body declares or assigns.
    let mut inner_bound = bound.to_vec();
    let pattern = &for_loop.pat;
    bound_idents(quote!(#pattern), &mut inner_bound);
    if !body.iter().any(|stmt| mentions(stmt, name)) {
        return None;
    }
    let (per_iteration, exact) = block_push_count(body, name, &inner_bound)?;
    let iterable = match strip_parens(&for_loop.expr) {
        Expr::MethodCall(call) if call.method == "rev" && call.args.is_empty() => &*call.receiver,
        iterable => iterable,
    };
    let trips: Expr = match strip_parens(iterable) {
        Expr::Range(range) if range.start.is_some() && range.end.is_some() => {
            syn::parse_quote!(::core::iter::Iterator::size_hint(&(#range)).0)
        }
        Expr::Range(_) => return None,
        iterable => Walk::of(iterable)?.length(),
    };
    Some((syn::parse_quote!(#per_iteration * #trips), exact))
}

/// Adds the identifiers in `tokens` (a pattern) to `idents`.
fn bound_idents(tokens: proc_macro2::TokenStream, idents: &mut Vec<Ident>) {
    for token in tokens {
        match token {
            proc_macro2::TokenTree::Ident(ident) if ident != "mut" && ident != "ref" => idents.push(ident),
            proc_macro2::TokenTree::Group(group) => bound_idents(group.stream(), idents),
            _ => {}
        }
    }
}

/// Rewrites the pushes onto `name`, as statements or statements of loop
/// bodies and branches, into writes by index into `buffer` (`name` itself,
/// or the buffer a bound allocated): `{ buffer[pushed] = e; pushed += 1; }`.
struct PushWriter<'n> {
    name: &'n Ident,
    buffer: &'n Ident,
    pushed: &'n Ident,
}

impl PushWriter<'_> {
    fn write_by_index(&self, stmt: &mut syn::Stmt) {
        if let Some(value) = push_of(stmt, self.name).cloned() {
            let (buffer, pushed) = (self.buffer, self.pushed);
            *stmt = syn::parse_quote!({ #buffer[#pushed] = #value; #pushed += 1; });
        }
    }
}

impl VisitMut for PushWriter<'_> {
    fn visit_block_mut(&mut self, block: &mut syn::Block) {
        block.stmts.iter_mut().for_each(|stmt| self.write_by_index(stmt));
        syn::visit_mut::visit_block_mut(self, block);
    }
}

/// Whether `stmt` pushes onto `name` anywhere in it.
fn contains_push(stmt: &syn::Stmt, name: &Ident) -> bool {
    struct Finder<'n> {
        name: &'n Ident,
        found: bool,
    }
    impl<'ast> Visit<'ast> for Finder<'_> {
        fn visit_expr_method_call(&mut self, call: &'ast syn::ExprMethodCall) {
            if call.method == "push"
                && matches!(strip_parens(&call.receiver), Expr::Path(path) if path.path.is_ident(self.name))
            {
                self.found = true;
            }
            syn::visit::visit_expr_method_call(self, call);
        }
    }
    let mut finder = Finder { name, found: false };
    finder.visit_stmt(stmt);
    finder.found
}

/// Whether `stmt` mentions the name `name` anywhere, macros included.
fn mentions(stmt: &syn::Stmt, name: &Ident) -> bool {
    token_mentions(quote!(#stmt), name)
}

fn mentions_expr(expr: &Expr, name: &Ident) -> bool {
    token_mentions(quote!(#expr), name)
}

fn token_mentions(tokens: proc_macro2::TokenStream, name: &Ident) -> bool {
    tokens.into_iter().any(|token| match token {
        proc_macro2::TokenTree::Ident(ident) => ident == *name,
        proc_macro2::TokenTree::Group(group) => token_mentions(group.stream(), name),
        _ => false,
    })
}
