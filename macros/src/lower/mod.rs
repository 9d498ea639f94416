//! Lowering: the user's `syn` function body becomes the IR of `ir.rs`.
//!
//! The body is walked once, statement by statement, with a stack of scopes
//! mapping each user variable to the operand that currently holds its value.
//! Every operation gets a fresh [`Var`] (A-normal form); `x = e` and `x += e`
//! rebind `x` to a new variable instead of mutating it, so the IR is in static
//! single assignment form. An `if` lowers both branches from the same scopes
//! and merges every variable they bind differently through a [`Phi`].
//!
//! `return` inside `if` statements is handled by moving the rest of the
//! function into the branches: `if c { return a; } rest` lowers like
//! `if c { a } else { rest }`. To do this the statements still to run are kept
//! as a stack of frames, one per enclosing block.
//!
//! Anything outside the supported language becomes a spanned error in the
//! [`Ctxt`]; lowering then continues with a placeholder so that every problem
//! in the function is reported in the same compile.

use std::collections::HashMap;
use std::rc::Rc;

use proc_macro2::Span;
use quote::ToTokens;
use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::visit_mut::VisitMut;
use syn::{Expr, Ident};

mod adapted_ranges;
mod closures;
mod effects;
mod exponents;
mod faer_macros;
mod narrowing;
mod pipelines;
mod pushes;
mod sequences;
mod subslices;
mod tuples;

pub use effects::is_effect;

use sequences::{Walk, WalkBindings};

use crate::ctxt::Ctxt;
use crate::early_exit;
use crate::hoist;
use crate::ir::{
    BinaryOp, Block, CallArg, Carried, Function, IfStmt, LoopStmt, Names, Op, Operand, Origin, Param, Phi, Stmt, Var,
    VarInfo, callee_name,
};
use crate::rules;
use crate::signature::Signature;

/// The parameters alone, for a function whose derivative is a user's rule:
/// its body is not lowered.
pub fn lower_signature(signature: &Signature) -> Function {
    let mut cx = Ctxt::default();
    let mut lowerer = Lowerer::new(&mut cx, String::new());
    let params = lowerer.bind_params(signature);
    Function {
        vars: lowerer.vars,
        output: signature.output,
        params,
        body: Block::default(),
        result: Operand::Const(syn::parse_quote!(())),
        recursive: false,
        inout: Vec::new(),
    }
}

/// Lowers the body of `item`, whose parameters were already classified.
pub fn lower_function(cx: &mut Ctxt, item: &syn::ItemFn, signature: &Signature) -> Function {
    let mut lowerer = Lowerer::new(cx, item.sig.ident.to_string());
    let params = lowerer.bind_params(signature);
    let stmts = narrowing::narrowed_iterators(&item.block.stmts);
    let stmts = pushes::preallocated_pushes(&stmts);
    let stmts = closures::typed_iterator_ends(&stmts, &item.sig.output);
    let body = early_exit::returns_to_breaks(&stmts, signature.output, &item.sig.output);
    let frames = vec![Frame::new(&body)];
    lowerer.scopes.push(HashMap::new());
    let mut stmts = Vec::new();
    let result = lowerer.lower_tail(frames, &mut stmts);
    let inout = lowerer.inout_values(signature, &params, item);
    let mut function = Function {
        vars: lowerer.vars,
        output: signature.output,
        params,
        body: Block { stmts },
        result,
        recursive: lowerer.recursive,
        inout,
    };
    let in_bounds = hoist::in_bounds_indices(&function);
    hoist::hoist_invariant_reads(
        &mut function.body,
        &function.params,
        &mut function.vars,
        &mut lowerer.names,
        &in_bounds,
    );
    function
}

/// What a user variable holds at a point of the body.
#[derive(Clone)]
struct Binding {
    /// `None` for `let x;` before its first assignment.
    value: Option<Operand>,
    /// Bound by `let v = x.as_ref()`: the value of `x`, which calls are
    /// passed as a view again.
    view: bool,
}

type Scope = HashMap<String, Binding>;

/// The statements of one block that are still to be lowered.
#[derive(Clone)]
struct Frame {
    stmts: Rc<[syn::Stmt]>,
    next: usize,
}

impl Frame {
    fn new(stmts: &[syn::Stmt]) -> Self {
        Frame {
            stmts: stmts.into(),
            next: 0,
        }
    }

    fn is_done(&self) -> bool {
        self.next >= self.stmts.len()
    }
}

struct Lowerer<'a> {
    cx: &'a mut Ctxt,
    vars: Vec<VarInfo>,
    scopes: Vec<Scope>,
    names: Names,
    /// The parameters' variables, which element writes must not target.
    param_vars: std::collections::HashSet<Var>,
    /// The copies of `&f64` parameters the body reads (`*x` reads them),
    /// and the elements of loops over references.
    deref_copies: std::collections::HashSet<Var>,
    /// The parameters passed by reference (`&[f64]`, `&Col<f64>`, …).
    borrowed_params: std::collections::HashSet<Var>,
    /// The parameters passed by reference to something never differentiated
    /// (`&usize`, `&bool`, a user type), which `*` really dereferences.
    constant_refs: std::collections::HashSet<Var>,
    /// The parameters holding values other than `f64` by index (`&[Mat<f64>]`),
    /// whose elements are borrowed, not moved: `&ws[i]`.
    borrowed_elements: std::collections::HashSet<Var>,
    /// The parameters never differentiated (`n: usize`, `data: &Dataset`),
    /// whose fields the body may read (`data.xs[i]`, `data.scale`).
    constant_params: std::collections::HashSet<Var>,
    /// Borrows of places inside those parameters (`&data.rows`,
    /// `&data.rows[i]`), whose elements may be values other than `f64`.
    constant_borrows: std::collections::HashSet<Var>,
    /// The name of the function being lowered, to recognise recursion.
    function_name: String,
    /// How many loops enclose the code being lowered.
    loop_depth: usize,
    /// How many scopes enclose the innermost loop being lowered: its
    /// carried variables are bound in these, not in the iteration's own.
    carried_scopes: usize,
    /// The names of `&mut f64` parameters, whose values the body may change.
    inout_names: std::collections::HashSet<String>,
    /// Variables a call being lowered passes by `&mut`, with their new values.
    pending_writes: Vec<(String, Var)>,
    /// Buffers: written element by element, or passed as `&mut [f64]`.
    buffers: std::collections::HashSet<Var>,
    /// Fixed-size arrays (`[a, b]`, `[v; N]`, `[f64; N]` parameters): `Copy`
    /// values, so `let b = a` makes a second buffer, not a second name.
    copy_arrays: std::collections::HashSet<Var>,
    /// Whether the function calls itself.
    recursive: bool,
    /// The parameters of an integer type other than `i32`, with the type's
    /// name, for the error on `x.powi(n)` with `n: usize`.
    integer_params: HashMap<Var, String>,
}

impl<'a> Lowerer<'a> {
    /// A lowerer with nothing bound yet, for the function `function_name`.
    fn new(cx: &'a mut Ctxt, function_name: String) -> Self {
        Lowerer {
            cx,
            vars: Vec::new(),
            scopes: vec![HashMap::new()],
            names: Names::new(),
            param_vars: std::collections::HashSet::new(),
            deref_copies: std::collections::HashSet::new(),
            borrowed_params: std::collections::HashSet::new(),
            constant_refs: std::collections::HashSet::new(),
            borrowed_elements: std::collections::HashSet::new(),
            constant_borrows: std::collections::HashSet::new(),
            constant_params: std::collections::HashSet::new(),
            copy_arrays: std::collections::HashSet::new(),
            function_name,
            loop_depth: 0,
            carried_scopes: 0,
            recursive: false,
            inout_names: std::collections::HashSet::new(),
            pending_writes: Vec::new(),
            buffers: std::collections::HashSet::new(),
            integer_params: HashMap::new(),
        }
    }
}

impl Lowerer<'_> {
    fn bind_params(&mut self, signature: &Signature) -> Vec<Param> {
        let mut params = Vec::new();
        for param in &signature.params {
            self.names.reserve(&param.ident.to_string());
        }
        for param in &signature.params {
            let var = if matches!(
                param.kind,
                crate::ir::ParamKind::ScalarRef | crate::ir::ParamKind::ScalarInOut
            ) {
                let copy = self.new_var(&param.ident.to_string());
                self.deref_copies.insert(copy);
                copy
            } else {
                let adjoint = self.names.fresh(&format!("adj_{}", param.ident));
                self.vars.push(VarInfo {
                    ident: param.ident.clone(),
                    adjoint,
                });
                Var(self.vars.len() - 1)
            };
            if let Some(name) = &param.user_name {
                self.bind(name, Operand::Var(var));
            }
            if param.kind == crate::ir::ParamKind::SliceInOut {
                self.buffers.insert(var);
            } else {
                self.param_vars.insert(var);
            }
            // `[f64; N]`, and `&[f64; N]` whose `*a` copies the array.
            let array = match &param.ty {
                syn::Type::Reference(reference) => &*reference.elem,
                ty => ty,
            };
            if matches!(array, syn::Type::Array(_)) {
                self.copy_arrays.insert(var);
            }
            if matches!(param.kind, crate::ir::ParamKind::Constant { .. }) {
                self.constant_params.insert(var);
            }
            if let Some(integer) = exponents::integer_other_than_i32(&param.ty) {
                self.integer_params.insert(var, integer);
            }
            if matches!(param.ty, syn::Type::Reference(_)) {
                self.borrowed_params.insert(var);
                if matches!(param.kind, crate::ir::ParamKind::Constant { .. }) {
                    self.constant_refs.insert(var);
                    if holds_values_read_by_reference(&param.ty) {
                        self.borrowed_elements.insert(var);
                    }
                }
            }
            if param.kind.is_inout()
                && let Some(name) = &param.user_name
            {
                self.inout_names.insert(name.clone());
            }
            params.push(Param {
                var,
                ident: param.ident.clone(),
                ty: param.ty.clone(),
                kind: param.kind,
                wrt: param.wrt,
            });
        }
        params
    }

    /// The value each `&mut f64` parameter has when the function ends, to be
    /// written back. A `return` would end it elsewhere: reported.
    fn inout_values(&mut self, signature: &Signature, params: &[Param], item: &syn::ItemFn) -> Vec<(Var, Operand)> {
        let mut values = Vec::new();
        for (sig_param, param) in signature.params.iter().zip(params) {
            if param.kind != crate::ir::ParamKind::ScalarInOut {
                continue;
            }
            if block_contains_return(&item.block) {
                self.cx.error_spanned_by(
                    &sig_param.ty,
                    "a function with `&mut f64` parameters cannot `return` early in #[differentiate] yet; \
                     let the body end with its value",
                );
            }
            let value = sig_param
                .user_name
                .as_ref()
                .and_then(|name| self.lookup(name))
                .and_then(|binding| binding.value.clone())
                .unwrap_or(Operand::Var(param.var));
            values.push((param.var, value));
        }
        values
    }

    /// Makes `var`, which takes one of `values` (the arms of a branch, or a
    /// loop-carried variable's values before and after an iteration), a
    /// local buffer if any is one: element writes and `&mut` calls may
    /// change it in place, and an array is copied when bound again.
    fn inherit_buffer(&mut self, var: Var, values: &[&Operand]) {
        let vars: Vec<Var> = values.iter().filter_map(|value| value.var()).collect();
        if vars.iter().any(|value| self.buffers.contains(value)) {
            self.buffers.insert(var);
        }
        if vars.iter().any(|value| self.copy_arrays.contains(value)) {
            self.copy_arrays.insert(var);
        }
    }

    /// A new variable with a readable, hygienic identifier derived from `hint`.
    fn new_var(&mut self, hint: &str) -> Var {
        crate::ir::new_var(&mut self.vars, &mut self.names, hint)
    }

    /// Names the variable computed for `let name = ...` or `name = ...` after
    /// the user's variable, when the expression created it.
    fn name_after_user(&mut self, value: &Operand, first_new: usize, name: &str) {
        if let Operand::Var(var) = value
            && var.0 >= first_new
        {
            self.vars[var.0].ident = self.names.fresh(name);
            self.vars[var.0].adjoint = self.names.fresh(&format!("adj_{name}"));
        }
    }

    fn bind(&mut self, name: &str, value: Operand) {
        self.declare(name, Some(value));
    }

    fn declare(&mut self, name: &str, value: Option<Operand>) {
        if self.scopes.is_empty() {
            self.scopes.push(Scope::new());
        }
        let last = self.scopes.len() - 1;
        self.scopes[last].insert(name.to_owned(), Binding { value, view: false });
    }

    fn lookup(&self, name: &str) -> Option<&Binding> {
        self.scopes.iter().rev().find_map(|scope| scope.get(name))
    }

    /// Rebinds an existing variable in the scope that declared it.
    fn assign(&mut self, name: &str, value: Operand) -> bool {
        for scope in self.scopes.iter_mut().rev() {
            if let Some(binding) = scope.get_mut(name) {
                binding.value = Some(value);
                return true;
            }
        }
        false
    }

    fn emit(&mut self, out: &mut Vec<Stmt>, hint: &str, origin: Origin, op: Op) -> Operand {
        let var = self.new_var(hint);
        out.push(Stmt::Let { var, op, origin });
        Operand::Var(var)
    }

    /// A placeholder after an error, so that lowering can go on.
    fn placeholder(&mut self, expr: &Expr) -> Operand {
        Operand::Const(expr.clone())
    }

    // ----- statements in tail position: `return` allowed -------------------

    /// Lowers the statements of `frames` (innermost last) up to the end of the
    /// function and returns the function's result.
    fn lower_tail(&mut self, mut frames: Vec<Frame>, out: &mut Vec<Stmt>) -> Operand {
        loop {
            let Some(frame) = frames.last_mut() else {
                return Operand::Const(syn::parse_quote!(()));
            };
            if frame.is_done() {
                frames.pop();
                self.scopes.pop();
                continue;
            }
            let stmts = Rc::clone(&frame.stmts);
            let stmt = &stmts[frame.next];
            frame.next += 1;
            let at_end = frames.iter().all(Frame::is_done);
            // A `match` is an `if` chain on its arms' patterns.
            let converted;
            let stmt = match stmt {
                syn::Stmt::Expr(Expr::Match(expr_match), semi) => {
                    let Some(expr_if) = self.match_as_if(expr_match, out) else {
                        continue;
                    };
                    converted = syn::Stmt::Expr(expr_if, *semi);
                    &converted
                }
                stmt => stmt,
            };
            match stmt {
                syn::Stmt::Expr(Expr::Return(ret), _) => return self.lower_return(ret, out),
                syn::Stmt::Expr(Expr::If(expr_if), _) if if_contains_return(expr_if) => {
                    return self.lower_returning_if(expr_if, frames, out);
                }
                syn::Stmt::Expr(Expr::Block(block), _)
                    if block.label.is_none() && block_contains_return(&block.block) =>
                {
                    frames.push(Frame::new(&block.block.stmts));
                    self.scopes.push(Scope::new());
                }
                syn::Stmt::Expr(expr, None) if at_end => return self.lower_expr(expr, out),
                stmt => self.lower_stmt(stmt, out),
            }
        }
    }

    fn lower_return(&mut self, ret: &syn::ExprReturn, out: &mut Vec<Stmt>) -> Operand {
        match &ret.expr {
            Some(expr) => self.lower_expr(expr, out),
            None => {
                self.cx
                    .error_spanned_by(ret, "`return` needs a value: write `return value;`");
                Operand::Const(syn::parse_quote!(0.0))
            }
        }
    }

    /// `if c { ..return.. } rest`: each branch continues with a copy of the
    /// rest of the function, so the `if` produces the function's result.
    fn lower_returning_if(&mut self, expr_if: &syn::ExprIf, frames: Vec<Frame>, out: &mut Vec<Stmt>) -> Operand {
        let cond = self.lower_expr(&expr_if.cond, out);
        let saved = self.scopes.clone();

        let mut then_frames = frames.clone();
        then_frames.push(Frame::new(&expr_if.then_branch.stmts));
        self.scopes.push(Scope::new());
        let mut then_stmts = Vec::new();
        let then_value = self.lower_tail(then_frames, &mut then_stmts);
        self.scopes = saved.clone();

        let mut else_frames = frames;
        if let Some((_, else_expr)) = &expr_if.else_branch {
            let stmt = syn::Stmt::Expr((**else_expr).clone(), None);
            else_frames.push(Frame::new(std::slice::from_ref(&stmt)));
            self.scopes.push(Scope::new());
        }
        let mut else_stmts = Vec::new();
        let else_value = self.lower_tail(else_frames, &mut else_stmts);
        self.scopes = saved;

        let result = self.new_var("result");
        let record = self.new_var("branch");
        out.push(Stmt::If(IfStmt {
            cond,
            then_block: Block { stmts: then_stmts },
            else_block: Block { stmts: else_stmts },
            outputs: vec![Phi {
                var: result,
                then_value,
                else_value,
            }],
            record,
        }));
        Operand::Var(result)
    }

    // ----- statements -------------------------------------------------------

    fn lower_stmt(&mut self, stmt: &syn::Stmt, out: &mut Vec<Stmt>) {
        match stmt {
            syn::Stmt::Local(local) => self.lower_local(local, out),
            syn::Stmt::Item(item) => self.cx.error_spanned_by(
                item,
                "items inside a #[differentiate] function are not supported; move this item out of the function",
            ),
            syn::Stmt::Macro(mac) => match effects::effect_macro(&mac.mac) {
                Some(format_at) => {
                    self.lower_effect(&mac.mac, format_at, out);
                }
                None if mac.mac.path.is_ident("dbg") => {
                    self.lower_dbg(&mac.mac, out);
                }
                None => self.unsupported_macro(&mac.mac),
            },
            syn::Stmt::Expr(expr, _) => {
                let first_new = out.len();
                self.lower_expr(expr, out);
                // A call whose value is dropped (`add_into(&mut s, x);`).
                let emitted = out.len() > first_new;
                if let (
                    Expr::Call(_),
                    true,
                    Some(Stmt::Let {
                        op: Op::Call { discarded, .. },
                        ..
                    }),
                ) = (strip_parens(expr), emitted, out.last_mut())
                {
                    *discarded = true;
                }
            }
        }
    }

    fn lower_local(&mut self, local: &syn::Local, out: &mut Vec<Stmt>) {
        if self.lower_tuple_local(local, out) {
            return;
        }
        let first_new = self.vars.len();
        let value = match &local.init {
            Some(init) => {
                if let Some((else_token, _)) = &init.diverge {
                    self.cx.error_spanned_by(
                        else_token,
                        "`let ... else` is not supported in a #[differentiate] function; use `if`/`else` instead",
                    );
                }
                // `let k: f64 = n.into();` is `n as f64`, the same value for
                // every type with `Into<f64>`: the `let` that gave `into` its
                // type is gone once lowered.
                let converted: Expr;
                let init_expr = match (&local.pat, strip_parens(&init.expr)) {
                    (syn::Pat::Type(typed), Expr::MethodCall(call))
                        if call.method == "into"
                            && call.args.is_empty()
                            && call.turbofish.is_none()
                            && matches!(&*typed.ty, syn::Type::Path(path) if path.path.is_ident("f64")) =>
                    {
                        let receiver = &call.receiver;
                        converted = syn::parse_quote_spanned!(call.span()=> (#receiver) as f64);
                        &converted
                    }
                    _ => &init.expr,
                };
                // `let k: usize = argmax(xs);`: an integer has no
                // derivative, so a call stated to give one is kept as
                // written, whatever function it calls.
                if let syn::Pat::Type(typed) = &local.pat
                    && exponents::integer_type(&typed.ty).is_some()
                    && let Expr::Call(_) = strip_parens(&init.expr)
                {
                    Some(self.opaque(&init.expr, out))
                // `let m: f64 = -10.0;` keeps its type too: its methods
                // (`m.max(x)`) need it.
                } else if let syn::Pat::Type(typed) = &local.pat
                    && let Expr::Unary(unary) = strip_parens(&init.expr)
                    && matches!(unary.op, syn::UnOp::Neg(_))
                    && let Expr::Lit(literal) = strip_parens(&unary.expr)
                {
                    let literal = typed_literal(literal, &typed.ty);
                    Some(Operand::Const(syn::parse_quote!(-#literal)))
                } else {
                    let value = self.lower_expr(init_expr, out);
                    Some(self.bound_value(init_expr, value, out))
                }
            }
            None => None,
        };
        // `let v = &w[1..3];` binds a copy of the part, which the user's
        // code sees as a `&[f64]`: a call is passed `&v`.
        if let (Some(init), Some(Operand::Var(var))) = (&local.init, &value)
            && let Expr::Reference(reference) = strip_parens(&init.expr)
            && let Expr::Index(index) = strip_parens(&reference.expr)
            && matches!(strip_parens(&index.index), Expr::Range(_))
        {
            self.deref_copies.insert(*var);
        }
        let value = match (&local.pat, value) {
            // `let s: f64 = 0.0;` keeps its type: `0.0_f64`.
            (syn::Pat::Type(typed), Some(Operand::Const(Expr::Lit(literal)))) => {
                Some(Operand::Const(typed_literal(&literal, &typed.ty)))
            }
            (_, value) => value,
        };
        match binding_name(&local.pat) {
            Ok(Some(name)) => {
                if let Some(value) = &value {
                    self.name_after_user(value, first_new, &name);
                }
                self.declare(&name, value);
                if let Some(init) = &local.init
                    && alias_receiver(&init.expr).is_some()
                    && let Some(binding) = self.scopes.last_mut().and_then(|scope| scope.get_mut(&name))
                {
                    binding.view = true;
                }
            }
            Ok(None) => {}
            Err(pat) => self.cx.error_spanned_by(
                pat,
                "this pattern is not supported by #[differentiate]; bind one variable per `let`, e.g. `let x = ...;`",
            ),
        }
    }

    fn unsupported_macro(&mut self, mac: &syn::Macro) {
        let name = mac.path.to_token_stream().to_string().replace(' ', "");
        self.cx.error_spanned_by(
            mac,
            format!(
                "macro calls are not supported in a #[differentiate] function: chainrule cannot see inside `{name}!`; \
                 compute the value with ordinary expressions, or call a function that has its own #[differentiate] \
                 (the macros it accepts are `vec!`, faer's `col!`, `row!` and `mat!`, `dbg!`, and those it \
                 runs as written: the `assert!`, `println!` and `panic!` families)"
            ),
        );
    }

    // ----- expressions ------------------------------------------------------

    fn lower_expr(&mut self, expr: &Expr, out: &mut Vec<Stmt>) -> Operand {
        match expr {
            Expr::Lit(_) => Operand::Const(expr.clone()),
            Expr::Path(path) => self.lower_path(path, expr),
            Expr::Paren(paren) => self.lower_expr(&paren.expr, out),
            Expr::Group(group) => self.lower_expr(&group.expr, out),
            Expr::Binary(binary) => self.lower_binary(binary, expr, out),
            Expr::Unary(unary) => match unary.op {
                syn::UnOp::Neg(_) => {
                    let operand = self.lower_expr(&unary.expr, out);
                    self.emit(out, "neg", Origin::of(expr), Op::Neg(operand))
                }
                // `*x` for a `&f64` parameter (the body already reads a copy), a
                // borrowed array or a local reference: the value itself.
                syn::UnOp::Deref(_) if self.derefs_to_itself(&unary.expr) => self.lower_expr(&unary.expr, out),
                _ => self.opaque(expr, out),
            },
            Expr::Cast(cast) => self.lower_cast(cast, expr, out),
            // `&data.xs`: a borrow of a constant parameter's field.
            Expr::Reference(reference) if reference.mutability.is_none() && self.is_constant_place(&reference.expr) => {
                self.borrowed_field(&reference.expr, out)
            }
            // `&a * &b`: the generated code borrows its operands anyway.
            Expr::Reference(reference) if reference.mutability.is_none() => self.lower_expr(&reference.expr, out),
            // `data.scale`, `data.n as f64`: a field of a constant parameter,
            // copied as the user's code copies it.
            Expr::Field(_) if self.is_constant_place(expr) => self.opaque(expr, out),
            Expr::Field(field) => self.lower_sin_cos_field(field, out).unwrap_or_else(|| {
                self.unsupported_expr(expr);
                self.placeholder(expr)
            }),
            // `ws[i]` of a `&[Mat<f64>]` parameter: a constant element,
            // borrowed rather than moved out of the slice.
            Expr::Index(index)
                if self
                    .named_var(&index.expr)
                    .is_some_and(|var| self.borrowed_elements.contains(&var)) =>
            {
                self.opaque(&syn::parse_quote!(&#index), out)
            }
            Expr::Index(index) if matches!(strip_parens(&index.index), Expr::Range(_)) => self
                .lower_subslice(index, out)
                .unwrap_or_else(|| self.placeholder(expr)),
            // `data.xs[i]`: an element of a constant parameter's field, read
            // through a borrow of the field rather than a copy of it.
            Expr::Index(index) if self.is_constant_place(&index.expr) => {
                let base = self.borrowed_field(&index.expr, out);
                let position = self.opaque(&index.index, out);
                self.emit(out, "element", Origin::of(expr), Op::Index { base, index: position })
            }
            Expr::Index(index) => {
                let base = self.lower_expr(&index.expr, out);
                let position = self.opaque(&index.index, out);
                self.emit(out, "element", Origin::of(expr), Op::Index { base, index: position })
            }
            Expr::MethodCall(call) => self.lower_method_call(call, expr, out),
            Expr::Call(call) => self.lower_call(call, expr, out),
            Expr::If(expr_if) => self
                .lower_if(expr_if, out)
                .unwrap_or_else(|| Operand::Const(syn::parse_quote!(()))),
            Expr::Block(block) if block.label.is_none() => self
                .lower_block_value(&block.block, out)
                .unwrap_or_else(|| Operand::Const(syn::parse_quote!(()))),
            Expr::Assign(assign) if matches!(strip_parens(&assign.left), Expr::Tuple(_)) => {
                self.lower_tuple_assign(&assign.left, &assign.right, out);
                Operand::Const(syn::parse_quote!(()))
            }
            Expr::Assign(assign) => {
                let first_new = self.vars.len();
                let value = self.lower_expr(&assign.right, out);
                let value = self.bound_value(&assign.right, value, out);
                if let Some(name) = target_name(&assign.left) {
                    self.name_after_user(&value, first_new, &name);
                }
                self.assign_to(&assign.left, value, out);
                Operand::Const(syn::parse_quote!(()))
            }
            Expr::Macro(mac) => self.lower_macro(mac, expr, out),
            Expr::Match(expr_match) => match self.match_as_if(expr_match, out) {
                Some(expr_if) => self.lower_expr(&expr_if, out),
                None => self.placeholder(expr),
            },
            Expr::Array(array) => self.lower_array(&array.elems, false, expr, out),
            Expr::Repeat(repeat) => self.lower_fill(repeat, false, expr, out),
            Expr::ForLoop(for_loop) => {
                self.lower_for(for_loop, out);
                Operand::Const(syn::parse_quote!(()))
            }
            Expr::While(expr_while) if matches!(strip_parens(&expr_while.cond), Expr::Let(_)) => {
                self.cx.error_spanned_by(
                    &expr_while.cond,
                    "`while let` is not supported by #[differentiate]; loop over a range or the elements \
                     (`for i in 0..xs.len()`, `for &x in xs`), or write `while` with a condition and read \
                     the value in the body",
                );
                Operand::Const(syn::parse_quote!(()))
            }
            Expr::While(expr_while) => {
                let origin = Origin::of(&WhileHeaderTokens(expr_while));
                self.lower_unbounded(
                    expr_while.label.as_ref(),
                    Some(&expr_while.cond),
                    &expr_while.body,
                    origin,
                    out,
                );
                Operand::Const(syn::parse_quote!(()))
            }
            Expr::Loop(expr_loop) => {
                let origin = Origin::of(&expr_loop.loop_token);
                self.lower_unbounded(expr_loop.label.as_ref(), None, &expr_loop.body, origin, out);
                Operand::Const(syn::parse_quote!(()))
            }
            Expr::Return(ret) => {
                let message = if self.loop_depth > 0 {
                    "`return` inside a loop is supported as a statement of the loop's body or of the `if`s in it; \
                     write `if condition { return value; }`"
                } else {
                    "`return` is supported in the branches of an `if` or `match` written as a statement, and at \
                     the end of the function; write the `if` or `match` around it as a statement and return from \
                     its branches (`match k { 0 => return a, _ => {} }`)"
                };
                self.cx.error_spanned_by(ret, message);
                self.placeholder(expr)
            }
            other => {
                self.unsupported_expr(other);
                self.placeholder(expr)
            }
        }
    }

    fn unsupported_expr(&mut self, expr: &Expr) {
        let message = match expr {
            Expr::Closure(_) => CLOSURES,
            Expr::Unsafe(_) => "`unsafe` is not supported in a #[differentiate] function",

            Expr::Let(_) => "`if let` is not supported by #[differentiate]; use a plain `if` on a comparison",
            Expr::Field(_) => {
                "#[differentiate] reads fields only of parameters it does not differentiate (`data.xs[i]`, \
                 `config.scale`) and the parts of `x.sin_cos()`; compute each value separately or pass the \
                 value as a parameter"
            }
            Expr::Reference(_) => {
                "`&mut` is not supported in a #[differentiate] function; values are read, not mutated"
            }
            Expr::Tuple(_) => {
                "#[differentiate] takes tuples apart where they are written (`let (a, b) = (x, y);`) but has no \
                 tuple values; use `f64` values, arrays or faer `Col`/`Mat` values"
            }
            Expr::Async(_) | Expr::Await(_) | Expr::Yield(_) | Expr::TryBlock(_) | Expr::Try(_) => {
                "this control flow is not supported by #[differentiate]; compute the value with plain expressions"
            }
            Expr::Break(_) | Expr::Continue(_) => {
                "`break` and `continue` are supported as statements of a loop's body or of the `if`s in it; \
                 write them as their own statement"
            }
            _ => {
                "this expression is not supported by #[differentiate]; write the computation with `let` bindings, \
                 arithmetic, method calls, `if`, `for` and calls of named functions"
            }
        };
        self.cx.error_spanned_by(expr, message);
    }

    fn lower_path(&mut self, path: &syn::ExprPath, expr: &Expr) -> Operand {
        let Some(ident) = path.path.get_ident().filter(|_| path.qself.is_none()) else {
            return Operand::Const(expr.clone());
        };
        match self.lookup(&ident.to_string()) {
            Some(Binding { value: Some(value), .. }) => value.clone(),
            // Read before assignment: rustc reports it on the original function.
            Some(Binding { value: None, .. }) => self.placeholder(expr),
            // Not a local: a constant such as `PI` or a `const` item.
            None => Operand::Const(expr.clone()),
        }
    }

    fn lower_binary(&mut self, binary: &syn::ExprBinary, expr: &Expr, out: &mut Vec<Stmt>) -> Operand {
        use syn::BinOp as B;
        let arithmetic = match binary.op {
            B::Add(_) => Some((BinaryOp::Add, false)),
            B::Sub(_) => Some((BinaryOp::Sub, false)),
            B::Mul(_) => Some((BinaryOp::Mul, false)),
            B::Div(_) => Some((BinaryOp::Div, false)),
            B::Rem(_) => Some((BinaryOp::Rem, false)),
            B::AddAssign(_) => Some((BinaryOp::Add, true)),
            B::SubAssign(_) => Some((BinaryOp::Sub, true)),
            B::MulAssign(_) => Some((BinaryOp::Mul, true)),
            B::DivAssign(_) => Some((BinaryOp::Div, true)),
            B::RemAssign(_) => Some((BinaryOp::Rem, true)),
            _ => None,
        };
        let Some((op, compound)) = arithmetic else {
            if is_compound_assignment(&binary.op) {
                self.cx.error_spanned_by(
                    binary,
                    "bitwise compound assignment is not supported by #[differentiate]; write `x = x op y`",
                );
                return self.placeholder(expr);
            }
            // Comparisons, `&&`, `||` and bit operations give no derivative.
            return self.opaque(expr, out);
        };
        let lhs = self.lower_expr(&binary.left, out);
        let rhs = self.lower_expr(&binary.right, out);
        let hint = match op {
            BinaryOp::Add => "sum",
            BinaryOp::Sub => "diff",
            BinaryOp::Mul => "prod",
            BinaryOp::Div => "quot",
            BinaryOp::Rem => "rem",
        };
        let hint = if compound {
            target_name(&binary.left).unwrap_or_else(|| hint.to_owned())
        } else {
            hint.to_owned()
        };
        let value = self.emit(out, &hint, Origin::of(expr), Op::Binary(op, lhs, rhs));
        if compound {
            self.assign_to(&binary.left, value, out);
            return Operand::Const(syn::parse_quote!(()));
        }
        value
    }

    fn assign_to(&mut self, target: &Expr, value: Operand, out: &mut Vec<Stmt>) {
        if let Expr::Index(index) = strip_parens(target) {
            self.store(index, value, out);
            return;
        }
        // `*acc = ...` for a `&mut f64` parameter: its value is rebound.
        if let Expr::Unary(unary) = strip_parens(target)
            && let syn::UnOp::Deref(_) = unary.op
            && let Some(name) = target_name(&unary.expr)
            && self.inout_names.contains(&name)
        {
            self.assign(&name, value);
            return;
        }
        let name = target_name(target);
        match name {
            Some(name) if self.assign(&name, value) => {}
            _ => self.cx.error_spanned_by(
                target,
                "only local variables and elements of local buffers (`v[i] = ...`) can be assigned in a \
                 #[differentiate] function",
            ),
        }
    }

    /// `buffer[index] = value`, where `buffer` is a local `Vec`, array or
    /// faer value: an in-place write.
    fn store(&mut self, target: &syn::ExprIndex, value: Operand, out: &mut Vec<Stmt>) {
        let buffer = match (target_name(&target.expr), self.lower_expr(&target.expr, out)) {
            (Some(_), Operand::Var(var)) if !self.param_vars.contains(&var) => var,
            (Some(name), Operand::Var(_)) => {
                self.cx.error_spanned_by(
                    &target.expr,
                    format!(
                        "`{name}` is a parameter, which #[differentiate] does not write into; \
                         copy it into a local buffer first (`let mut {name}_copy = {name}.to_vec();` for a slice or `Vec`, \
                         `{name}.to_owned()` for a faer value)"
                    ),
                );
                return;
            }
            _ => {
                self.cx.error_spanned_by(
                    &target.expr,
                    "element writes need a local buffer: `let mut v = vec![0.0; n];` then `v[i] = ...`",
                );
                return;
            }
        };
        self.buffers.insert(buffer);
        let index = self.opaque(&target.index, out);
        out.push(Stmt::Store {
            buffer,
            index,
            value,
            origin: Origin::of(target),
        });
    }

    /// `[a, b]` or `vec![a, b]`: a local buffer.
    fn lower_array(
        &mut self,
        elements: &syn::punctuated::Punctuated<Expr, syn::Token![,]>,
        vec: bool,
        expr: &Expr,
        out: &mut Vec<Stmt>,
    ) -> Operand {
        let elements = elements.iter().map(|element| self.lower_expr(element, out)).collect();
        self.emit_buffer(out, vec, expr, Op::Array { elements, vec })
    }

    /// `[value; len]` or `vec![value; len]`: a local buffer.
    fn lower_fill(&mut self, repeat: &syn::ExprRepeat, vec: bool, expr: &Expr, out: &mut Vec<Stmt>) -> Operand {
        let value = self.lower_expr(&repeat.expr, out);
        let len = self.opaque(&repeat.len, out);
        self.emit_buffer(out, vec, expr, Op::Fill { value, len, vec })
    }

    /// Emits an operation creating a buffer, which element writes and
    /// `&mut` calls may then change in place.
    fn emit_buffer(&mut self, out: &mut Vec<Stmt>, vec: bool, expr: &Expr, op: Op) -> Operand {
        let buffer = self.emit(out, if vec { "buffer" } else { "array" }, Origin::of(expr), op);
        self.buffers.extend(buffer.var());
        if !vec {
            self.copy_arrays.extend(buffer.var());
        }
        buffer
    }

    /// `value`, the value of `source`, as a new binding takes it: a copy
    /// when `source` names a fixed-size array (Rust copies it, and element
    /// writes to either must not show in the other), the value itself
    /// otherwise (a `Vec` is moved, a scalar is immutable in the IR).
    fn bound_value(&mut self, source: &Expr, value: Operand, out: &mut Vec<Stmt>) -> Operand {
        let names_a_value = match strip_parens(source) {
            Expr::Path(_) => true,
            Expr::Unary(unary) => matches!(unary.op, syn::UnOp::Deref(_)),
            _ => false,
        };
        match value {
            Operand::Var(var) if names_a_value && self.copy_arrays.contains(&var) => {
                let copy = self.emit(
                    out,
                    "copy",
                    Origin::of(source),
                    Op::Method {
                        method: syn::Ident::new("clone", Span::call_site()),
                        receiver: Operand::Var(var),
                        args: Vec::new(),
                        path: None,
                    },
                );
                self.buffers.extend(copy.var());
                self.copy_arrays.extend(copy.var());
                copy
            }
            value => value,
        }
    }

    /// `vec![a, b]`, `vec![value; len]`, faer's `col!`, `row!` and `mat!`,
    /// `dbg!(value)` and the macros run for their effect (`assert!`,
    /// `println!`, see `effects.rs`); any other macro is an error.
    fn lower_macro(&mut self, mac: &syn::ExprMacro, expr: &Expr, out: &mut Vec<Stmt>) -> Operand {
        if let Some(format_at) = effects::effect_macro(&mac.mac) {
            return self.lower_effect(&mac.mac, format_at, out);
        }
        if mac.mac.path.is_ident("dbg") {
            return self.lower_dbg(&mac.mac, out);
        }
        if let Some(value) = self.lower_faer_macro(&mac.mac, out) {
            return value;
        }
        if !mac.mac.path.is_ident("vec") {
            self.unsupported_macro(&mac.mac);
            return self.placeholder(expr);
        }
        let tokens = &mac.mac.tokens;
        if let Ok(repeat) = syn::parse2::<syn::ExprRepeat>(quote::quote!([#tokens])) {
            return self.lower_fill(&repeat, true, expr, out);
        }
        match syn::parse2::<syn::ExprArray>(quote::quote!([#tokens])) {
            Ok(array) => self.lower_array(&array.elems, true, expr, out),
            Err(_) => {
                self.cx
                    .error_spanned_by(mac, "write `vec![value; len]` or `vec![a, b, ...]`");
                self.placeholder(expr)
            }
        }
    }

    fn lower_cast(&mut self, cast: &syn::ExprCast, expr: &Expr, out: &mut Vec<Stmt>) -> Operand {
        let is_float = |name| matches!(&*cast.ty, syn::Type::Path(p) if p.qself.is_none() && p.path.is_ident(name));
        if !is_float("f64") && !is_float("f32") {
            return self.opaque(expr, out);
        }
        match self.lower_expr(&cast.expr, out) {
            // `2 as f64`, `N as f64`: a constant stays a constant.
            Operand::Const(_) => Operand::Const(self.rename_reads(expr).expr),
            operand => self.emit(out, "cast", Origin::of(expr), Op::Cast(operand, (*cast.ty).clone())),
        }
    }

    /// `xs.iter().map(…).collect::<Vec<f64>>().iter().sum()`: the collected
    /// sequence is lowered first, as `let` would bind it, and the methods
    /// after `collect` then read it by a name of its own.
    fn lower_after_collect(&mut self, call: &syn::ExprMethodCall, out: &mut Vec<Stmt>) -> Option<Operand> {
        let mut rewritten = call.clone();
        let mut receiver = &mut *rewritten.receiver;
        loop {
            receiver = match receiver {
                Expr::MethodCall(inner) if inner.method == "collect" => break,
                Expr::MethodCall(inner) => &mut *inner.receiver,
                Expr::Paren(paren) => &mut *paren.expr,
                _ => return None,
            };
        }
        let collected = self.lower_expr(receiver, out);
        let name = format!("chainrule_collected_{}", self.vars.len());
        self.declare(&name, Some(collected));
        let ident = Ident::new(&name, receiver.span());
        *receiver = syn::parse_quote!(#ident);
        Some(self.lower_expr(&Expr::MethodCall(rewritten), out))
    }

    fn lower_method_call(&mut self, call: &syn::ExprMethodCall, expr: &Expr, out: &mut Vec<Stmt>) -> Operand {
        if let Some(value) = self.lower_after_collect(call, out) {
            return value;
        }
        if let Some(value) = self
            .lower_iterator_reduction(call, out)
            .or_else(|| self.lower_collected_map(call, out))
        {
            return value;
        }
        let name = call.method.to_string();
        if rules::PREDICATES.contains(&name.as_str()) {
            return self.opaque(expr, out);
        }
        if let Some(call) = as_call_of_self(call) {
            return self.lower_expr(&call, out);
        }
        if self.report_exponent_type(call) {
            return self.placeholder(expr);
        }
        if is_search_by_order(&call.method) {
            // One error for the search, none for its comparison closure.
            self.cx.error_at(call.method.span(), SEARCH_BY_ORDER);
            return self.placeholder(expr);
        }
        if let Some(turbofish) = &call.turbofish {
            self.cx.error_spanned_by(
                turbofish,
                "generic method calls are not supported by #[differentiate]; call the method without `::<...>`",
            );
            return self.placeholder(expr);
        }
        let receiver = self.lower_expr(&call.receiver, out);
        if rules::ALIASES.contains(&name.as_str()) && call.args.is_empty() {
            // Values in the IR are never mutated, so a clone or a view of a
            // value is the value itself.
            return receiver;
        }
        if name == "transpose" && call.args.is_empty() {
            return match receiver {
                Operand::Var(var) => Operand::Transposed(var),
                Operand::Transposed(var) => Operand::Var(var),
                Operand::Const(_) => Operand::Const(self.rename_reads(expr).expr),
            };
        }
        let args = call.args.iter().map(|arg| self.lower_expr(arg, out)).collect();
        // `x.to_vec()`, or a clone of a buffer, is a buffer of its own, which
        // element writes and `&mut` helpers may change in place.
        let copies_a_buffer = name == "to_vec"
            || (name == "clone" || name == "to_owned") && receiver.var().is_some_and(|var| self.buffers.contains(&var));
        let value = self.emit(
            out,
            &name,
            Origin::of(expr),
            Op::Method {
                method: call.method.clone(),
                receiver,
                args,
                path: None,
            },
        );
        if copies_a_buffer {
            self.buffers.extend(value.var());
        }
        value
    }

    fn lower_call(&mut self, call: &syn::ExprCall, expr: &Expr, out: &mut Vec<Stmt>) -> Operand {
        let Expr::Path(func) = &*call.func else {
            self.cx.error_spanned_by(
                &call.func,
                "only calls of named functions are supported by #[differentiate]: call `f(x)` where `f` is a \
                 function with #[differentiate], a `chainrule::ops` function or one with a `rule`",
            );
            return self.placeholder(expr);
        };
        if let Some(value) = self.lower_from_fn(func, call, out) {
            return value;
        }
        if is_length_query(func) || is_integer_call(func) {
            return self.opaque(expr, out);
        }
        if let Some(name) = func.path.get_ident().map(ToString::to_string) {
            // A closure bound with `let` has had its error where it is written.
            if let Some(Binding {
                value: Some(Operand::Const(Expr::Closure(_))),
                ..
            }) = self.lookup(&name)
            {
                return self.placeholder(expr);
            }
            if self.lookup(&name).is_some() {
                self.cx.error_spanned_by(
                    func,
                    format!(
                        "`{name}` is a variable: #[differentiate] cannot differentiate through a function passed as \
                         a value; call a named function with #[differentiate] instead"
                    ),
                );
                return self.placeholder(expr);
            }
            if name == self.function_name {
                self.recursive = true;
            }
        }
        // `f64::exp(x)` is the method `x.exp()`.
        if let Some(method) = f64_method_path(func) {
            if rules::PREDICATES.contains(&method.to_string().as_str()) {
                return self.opaque(expr, out);
            }
            let mut operands: Vec<Operand> = call.args.iter().map(|arg| self.lower_expr(arg, out)).collect();
            if operands.is_empty() {
                self.cx
                    .error_spanned_by(call, format!("`f64::{method}` needs its argument"));
                return self.placeholder(expr);
            }
            let receiver = operands.remove(0);
            return self.emit(
                out,
                &method.to_string(),
                Origin::of(expr),
                Op::Method {
                    method,
                    receiver,
                    args: operands,
                    path: Some(func.clone()),
                },
            );
        }
        // A vector passed by value is passed by value (a clone when the
        // adjoint keeps it), also to the functions of `chainrule::ops`, which
        // would take a reference: a function of the user's own with the same
        // name (`fn relu(z: Col<f64>)`) needs the owned value.
        let from_ops = is_ops_function(func);
        let args = call
            .args
            .iter()
            .map(|arg| match arg {
                // `&mut x` for a local `f64`, or a `&mut f64` parameter passed on:
                // the callee may change it, so it gets a new variable.
                Expr::Reference(reference) if reference.mutability.is_some() => self.mutated_arg(&reference.expr, out),
                arg if target_name(arg).is_some_and(|name| self.inout_names.contains(&name)) => {
                    self.mutated_arg(arg, out)
                }
                // `&data.xs`: the borrow of a constant parameter's field, passed on.
                Expr::Reference(reference)
                    if reference.mutability.is_none() && self.is_constant_place(&reference.expr) =>
                {
                    CallArg::plain(self.borrowed_field(&reference.expr, out))
                }
                Expr::Reference(reference) if reference.mutability.is_none() => CallArg {
                    by_ref: true,
                    ..CallArg::plain(self.lower_expr(&reference.expr, out))
                },
                // A `&f64` the body reads through a copy is passed on as a reference.
                arg if self.is_deref_copy(arg) => CallArg {
                    by_ref: true,
                    ..CallArg::plain(self.lower_expr(arg, out))
                },
                // `x.as_ref()`, or a `v` bound to it: the value itself in the IR,
                // a view again at the call.
                arg if alias_receiver(arg).is_some() || self.names_view(arg) => CallArg {
                    view: true,
                    ..CallArg::plain(self.lower_expr(alias_receiver(arg).unwrap_or(arg), out))
                },
                arg => CallArg::plain(self.lower_expr(arg, out)),
            })
            .collect();
        let name = callee_name(func);
        let pullback = self.new_var(&format!("{name}_pb"));
        let gradients = (0..call.args.len())
            .map(|_| self.names.fresh(&format!("{name}_grad")))
            .collect();
        let value = self.emit(
            out,
            &name,
            Origin::of(expr),
            Op::Call {
                func: func.clone(),
                args,
                pullback,
                elementwise: from_ops && !matches!(name.as_str(), "dot" | "sum"),
                gradients,
                discarded: false,
            },
        );
        for (name, new) in std::mem::take(&mut self.pending_writes) {
            self.assign(&name, Operand::Var(new));
        }
        value
    }

    /// An argument `&mut x` (or a `&mut f64` parameter passed on): the call
    /// reads `x` and leaves its new value in a fresh variable, bound to `x`
    /// once the call is emitted.
    fn mutated_arg(&mut self, place: &Expr, out: &mut Vec<Stmt>) -> CallArg {
        let name = target_name(place);
        let operand = self.lower_expr(place, out);
        let Some(name) = name.filter(|name| matches!(self.lookup(name), Some(Binding { value: Some(_), .. }))) else {
            self.cx.error_spanned_by(
                place,
                "#[differentiate] passes `&mut` only to a local `f64` variable or a `&mut f64` parameter",
            );
            return CallArg::plain(operand);
        };
        if let Operand::Var(var) = operand
            && self.buffers.contains(&var)
        {
            // A buffer is written in place: no new variable.
            return CallArg {
                buffer: true,
                ..CallArg::plain(operand)
            };
        }
        let new = self.new_var(&name);
        self.pending_writes.push((name, new));
        CallArg {
            mutated: Some(new),
            ..CallArg::plain(operand)
        }
    }

    /// An `if` used for its value or for the variables it assigns. Returns its
    /// value, or `None` when its branches produce none.
    fn lower_if(&mut self, expr_if: &syn::ExprIf, out: &mut Vec<Stmt>) -> Option<Operand> {
        let cond = self.lower_expr(&expr_if.cond, out);
        let before = self.scopes.clone();

        let mut then_stmts = Vec::new();
        let then_value = self.lower_block_value(&expr_if.then_branch, &mut then_stmts);
        let then_scopes = std::mem::replace(&mut self.scopes, before.clone());

        let mut else_stmts = Vec::new();
        let else_value = expr_if
            .else_branch
            .as_ref()
            .map(|(_, else_expr)| self.lower_expr(else_expr, &mut else_stmts));
        let else_scopes = std::mem::replace(&mut self.scopes, before.clone());

        let mut outputs = Vec::new();
        for (level, scope) in before.iter().enumerate() {
            for (name, binding) in scope {
                let branch_value = |scopes: &[Scope]| scopes.get(level)?.get(name)?.value.clone();
                let (Some(then_op), Some(else_op)) = (branch_value(&then_scopes), branch_value(&else_scopes)) else {
                    continue;
                };
                if same_operand(&then_op, &else_op) {
                    let unchanged = binding
                        .value
                        .as_ref()
                        .is_some_and(|value| same_operand(value, &then_op));
                    if !unchanged {
                        self.scopes[level].insert(
                            name.clone(),
                            Binding {
                                value: Some(then_op),
                                view: binding.view,
                            },
                        );
                    }
                    continue;
                }
                let var = self.new_var(name);
                self.inherit_buffer(var, &[&then_op, &else_op]);
                outputs.push(Phi {
                    var,
                    then_value: then_op,
                    else_value: else_op,
                });
                self.scopes[level].insert(
                    name.clone(),
                    Binding {
                        value: Some(Operand::Var(var)),
                        view: binding.view,
                    },
                );
            }
        }
        // Deterministic output order, whatever the hash map's.
        outputs.sort_by_key(|phi| phi.var);

        let value = match (then_value, else_value) {
            (Some(then_value), Some(else_value)) if !is_unit(&then_value) && !is_unit(&else_value) => {
                let var = self.new_var("value");
                outputs.push(Phi {
                    var,
                    then_value,
                    else_value,
                });
                Some(Operand::Var(var))
            }
            _ => None,
        };
        let record = self.new_var("branch");
        out.push(Stmt::If(IfStmt {
            cond,
            then_block: Block { stmts: then_stmts },
            else_block: Block { stmts: else_stmts },
            outputs,
            record,
        }));
        value
    }

    /// `match s { P1 => a, P2 if g => b, _ => c }` as the `if` chain
    /// `if matches(s, P1) { a } else if matches(s, P2) && g { b } else { c }`,
    /// with the scrutinee evaluated once. The arms are taken on primal
    /// values, as branches are. An arm that names the whole value, `n => a`
    /// or `n @ P => a`, is the arm `_` or `P` whose body starts with
    /// `let n = s;`. `None` after reporting another pattern that binds.
    fn match_as_if(&mut self, expr_match: &syn::ExprMatch, out: &mut Vec<Stmt>) -> Option<Expr> {
        let binds =
            |arm: &syn::Arm| binds_variables(&arm.pat) && (arm.guard.is_some() || whole_value(&arm.pat).is_none());
        if let Some(arm) = expr_match.arms.iter().find(|arm| binds(arm)) {
            let message = if arm.guard.is_some() {
                "#[differentiate] supports `match` patterns that bind nothing (integers, ranges, enum variants \
                 without fields, `_`) or name the whole value without a guard (`n => …`, `n @ 1..=3 => …`); for \
                 an arm such as `v if v < 0.0 =>`, test the matched value by its own name, `_ if x < 0.0 =>`, or \
                 write `if x < 0.0 { … } else { … }`"
            } else {
                "#[differentiate] supports `match` patterns that bind nothing (integers, ranges, enum variants \
                 without fields, `_`) or name the whole value (`n => …`, `n @ 1..=3 => …`); match the variant \
                 alone, `Some(_) =>`, and read its field in the arm, e.g. `let k = v.unwrap_or_default();`"
            };
            self.cx.error_spanned_by(&arm.pat, message);
            return None;
        }
        let scrutinee = self.opaque(&expr_match.expr, out);
        let scrutinee_name = format!("chainrule_scrutinee_{}", self.vars.len());
        if expr_match.arms.iter().any(|arm| whole_value(&arm.pat).is_some()) {
            self.declare(&scrutinee_name, Some(scrutinee.clone()));
        }
        let scrutinee_name = Ident::new(&scrutinee_name, Span::call_site());
        let arms: Vec<syn::Arm> = expr_match
            .arms
            .iter()
            .map(|arm| match whole_value(&arm.pat) {
                Some((binding, pat)) => {
                    let body = &arm.body;
                    syn::Arm {
                        pat,
                        body: syn::parse_quote!({ let #binding = #scrutinee_name; #body }),
                        ..arm.clone()
                    }
                }
                None => arm.clone(),
            })
            .collect();
        let scrutinee_reads: Vec<Var> = scrutinee.var().into_iter().collect();
        let scrutinee = match &scrutinee {
            Operand::Var(var) => self.vars[var.0].ident.to_token_stream(),
            Operand::Transposed(_) | Operand::Const(_) => {
                let renamed = self.rename_reads(&expr_match.expr).expr;
                quote::quote!((#renamed))
            }
        };
        let (last, arms) = arms.split_last()?;
        // The arms' tests in order, each bound to a name the `if` chain reads.
        let mut conditions = Vec::new();
        for arm in arms {
            let pat = &arm.pat;
            let mut reads = scrutinee_reads.clone();
            let mut shapes = Vec::new();
            let mut changes = Vec::new();
            let renamed: Expr = match &arm.guard {
                Some((_, guard)) => {
                    let guard = self.rename_reads(guard);
                    reads.extend(guard.reads);
                    shapes = guard.shapes;
                    changes = guard.changes;
                    let guard = guard.expr;
                    syn::parse_quote!(::core::matches!(#scrutinee, #pat) && (#guard))
                }
                None => syn::parse_quote!(::core::matches!(#scrutinee, #pat)),
            };
            let condition = if reads.is_empty() {
                Operand::Const(renamed)
            } else {
                self.emit(
                    out,
                    "arm",
                    Origin::of(&arm.pat),
                    Op::Opaque {
                        expr: renamed,
                        reads,
                        shapes,
                        changes,
                    },
                )
            };
            let condition_name = format!("chainrule_arm_{}", self.vars.len());
            self.declare(&condition_name, Some(condition));
            conditions.push(Ident::new(&condition_name, Span::call_site()));
        }
        let body = &last.body;
        let mut chain: Expr = syn::parse_quote!({ #body });
        for (arm, condition) in arms.iter().zip(&conditions).rev() {
            let body = &arm.body;
            chain = syn::parse_quote!(if #condition { #body } else #chain);
        }
        if let Expr::Block(block) = chain {
            let block = block.block;
            return Some(syn::parse_quote!(if true #block else {}));
        }
        Some(chain)
    }

    // ----- loops ------------------------------------------------------------

    /// `for pattern in iterable { body }`: a counted loop, whose reassigned
    /// outer variables are carried from one iteration to the next.
    fn lower_for(&mut self, for_loop: &syn::ExprForLoop, out: &mut Vec<Stmt>) {
        match self.loop_over_pipeline(for_loop) {
            Some(Ok(rewritten)) => return self.lower_for(&rewritten, out),
            Some(Err(())) => return,
            None => {}
        }
        if let Some(counted) = adapted_ranges::adapted_range_loop(for_loop) {
            self.lower_expr(&counted, out);
            return;
        }
        if let Some(label) = &for_loop.label {
            self.cx.error_spanned_by(label, LABELS);
        }
        let Some(header) = self.lower_loop_header(&for_loop.expr, &for_loop.pat, out) else {
            return;
        };
        let origin = Origin::of(&LoopHeaderTokens(for_loop));
        self.lower_loop(header, None, &for_loop.body.stmts, origin, out);
    }

    /// `while cond { body }` is `loop { if !(cond) { break; } body }`; both run
    /// until a `break`, with a trip count decided on primal values.
    fn lower_unbounded(
        &mut self,
        label: Option<&syn::Label>,
        cond: Option<&Expr>,
        body: &syn::Block,
        origin: Origin,
        out: &mut Vec<Stmt>,
    ) {
        if let Some(label) = label {
            self.cx.error_spanned_by(label, LABELS);
        }
        let header = LoopHeader {
            start: Operand::Const(syn::parse_quote!(0_usize)),
            end: None,
            inclusive: false,
            reverse: false,
            index_names: Vec::new(),
            elements: Vec::new(),
            computed: Vec::new(),
        };
        let check: Option<syn::Stmt> = cond.map(|cond| syn::parse_quote!(if !(#cond) { break; }));
        self.lower_loop(header, check, &body.stmts, origin, out);
    }

    /// The body of any loop: carried variables get a head before the body and
    /// an exit after it; `break` and `continue` end the iteration, and a
    /// `break` also clears the carried flag that keeps the loop running.
    fn lower_loop(
        &mut self,
        header: LoopHeader,
        prefix: Option<syn::Stmt>,
        stmts: &[syn::Stmt],
        origin: Origin,
        out: &mut Vec<Stmt>,
    ) {
        let mut body_stmts: Vec<syn::Stmt> = header.computed.iter().cloned().chain(prefix).collect();
        body_stmts.extend(stmts.iter().cloned());
        let breaks = body_stmts.iter().any(stmt_breaks_loop);
        // A buffer lent by `&mut` is written in place, like an element store:
        // it is not carried.
        let mut carried_names: Vec<String> = body_stmts
            .iter()
            .flat_map(|stmt| assigned_names_in_stmt(stmt, &self.inout_names))
            .filter(|(name, lent)| match self.lookup(name) {
                Some(Binding {
                    value: Some(Operand::Var(var)),
                    ..
                }) => !(*lent && self.buffers.contains(var)),
                Some(Binding { value: Some(_), .. }) => true,
                _ => false,
            })
            .map(|(name, _)| name)
            .collect();
        carried_names.sort();
        carried_names.dedup();
        if breaks {
            self.declare(RUNNING, Some(Operand::Const(syn::parse_quote!(true))));
            carried_names.push(RUNNING.to_owned());
        }
        let mut carried = Vec::new();
        for name in &carried_names {
            let Some(Binding { value: Some(init), .. }) = self.lookup(name).cloned() else {
                continue;
            };
            let head = self.new_var(if name == RUNNING { "running" } else { name });
            self.inherit_buffer(head, &[&init]);
            self.assign(name, Operand::Var(head));
            carried.push((name.clone(), init, head));
        }
        let exit_flag = carried
            .iter()
            .find(|(name, ..)| name == RUNNING)
            .map(|(_, _, head)| *head);

        // The iteration's scope; `lower_iteration` pops it when the body ends,
        // but not when it stops early at a `break` or `continue`.
        let depth = self.scopes.len();
        self.scopes.push(Scope::new());
        let index = self.new_var(header.index_names.first().map_or("_index", String::as_str));
        for name in &header.index_names {
            self.bind(name, Operand::Var(index));
        }
        let mut body = Vec::new();
        for LoopElement {
            name,
            sequence,
            is_reference,
            reversed,
            destructured,
        } in &header.elements
        {
            let position = if *reversed {
                self.reversed_position(sequence, index, origin, &mut body)
            } else {
                Operand::Var(index)
            };
            let op = match sequence {
                // `for w in ws` over a `&[Mat<f64>]` parameter, or `for row in
                // &data.rows` over a constant's field: each element borrowed,
                // `&ws[i]`, a constant.
                Operand::Var(var)
                    if self.borrowed_elements.contains(var)
                        || (*is_reference && self.constant_borrows.contains(var)) =>
                {
                    let sequence_ident = &self.vars[var.0].ident;
                    let position_tokens = self.render_operand(&position);
                    Op::Opaque {
                        expr: syn::parse_quote!(&#sequence_ident[#position_tokens]),
                        reads: std::iter::once(*var).chain(position.var()).collect(),
                        shapes: Vec::new(),
                        changes: Vec::new(),
                    }
                }
                _ => Op::Index {
                    base: sequence.clone(),
                    index: position,
                },
            };
            let copied = matches!(op, Op::Index { .. });
            let constant_sequence = sequence.var().is_some_and(|var| {
                self.constant_params.contains(&var)
                    || self.constant_borrows.contains(&var)
                    || self.borrowed_elements.contains(&var)
            });
            let element = self.emit(&mut body, name, origin, op);
            if constant_sequence && (!copied || *destructured) {
                // `for s in samples`, `for &(x, y) in data`: the element of a
                // constant holds constants, read as `s.x` or taken apart.
                self.constant_borrows.extend(element.var());
            }
            if *is_reference
                && copied
                && let Operand::Var(var) = element
            {
                // `x` is a `&f64` in the user's loop but a copy here: `*x`
                // reads it, and a call is passed `&x`.
                self.deref_copies.insert(var);
            }
            self.bind(name, element);
        }
        let names: Vec<String> = carried.iter().map(|(name, ..)| name.clone()).collect();
        self.loop_depth += 1;
        let outer_scopes = std::mem::replace(&mut self.carried_scopes, depth);
        let nexts = self.lower_iteration(vec![Frame::new(&body_stmts)], &names, &mut body);
        self.carried_scopes = outer_scopes;
        self.loop_depth -= 1;
        self.scopes.truncate(depth);

        let carried = carried
            .into_iter()
            .zip(nexts)
            .map(|((name, init, head), next)| {
                let exit = self.new_var(if name == RUNNING { "running" } else { &name });
                self.inherit_buffer(exit, &[&Operand::Var(head), &next]);
                self.assign(&name, Operand::Var(exit));
                Carried { init, head, next, exit }
            })
            .collect();
        let tape = self.new_var("tape");
        let trips = self.new_var("trips");
        out.push(Stmt::Loop(LoopStmt {
            index,
            start: header.start,
            end: header.end,
            inclusive: header.inclusive,
            reverse: header.reverse,
            carried,
            exit_flag,
            body: Block { stmts: body },
            tape,
            trips,
            origin,
        }));
    }

    /// `len(sequence) − 1 − index`: the element step `index` reads under a
    /// `.rev()` inside a `zip` or an `enumerate`.
    fn reversed_position(&mut self, sequence: &Operand, index: Var, origin: Origin, out: &mut Vec<Stmt>) -> Operand {
        let sequence_tokens = self.render_operand(sequence);
        let index_ident = &self.vars[index.0].ident;
        let expr = syn::parse_quote!(::chainrule::rules::length(&#sequence_tokens) - 1 - #index_ident);
        let op = Op::Opaque {
            expr,
            reads: vec![index],
            shapes: sequence.var().into_iter().collect(),
            changes: Vec::new(),
        };
        self.emit(out, "position", origin, op)
    }

    /// The tokens that read `operand` inside an opaque expression.
    fn render_operand(&self, operand: &Operand) -> proc_macro2::TokenStream {
        match operand {
            Operand::Var(var) | Operand::Transposed(var) => self.vars[var.0].ident.to_token_stream(),
            Operand::Const(expr) => expr.to_token_stream(),
        }
    }

    /// Lowers the rest of one iteration (the innermost block last) and returns
    /// the values the carried variables `names` have when it ends: at the end
    /// of the body, at a `continue`, or at a `break` (which clears the flag
    /// that keeps the loop running). An `if` containing `break` or `continue`
    /// takes the rest of the iteration into its branches and merges the
    /// carried values they end with.
    fn lower_iteration(&mut self, mut frames: Vec<Frame>, names: &[String], out: &mut Vec<Stmt>) -> Vec<Operand> {
        loop {
            let Some(frame) = frames.last_mut() else {
                return self.current_values(names);
            };
            if frame.is_done() {
                frames.pop();
                self.scopes.pop();
                continue;
            }
            let stmts = Rc::clone(&frame.stmts);
            let stmt = &stmts[frame.next];
            frame.next += 1;
            let converted;
            let stmt = match stmt {
                syn::Stmt::Expr(Expr::Match(expr_match), semi) if stmt_exits_loop(stmt) => {
                    let Some(expr_if) = self.match_as_if(expr_match, out) else {
                        continue;
                    };
                    converted = syn::Stmt::Expr(expr_if, *semi);
                    &converted
                }
                stmt => stmt,
            };
            match stmt {
                syn::Stmt::Expr(Expr::Break(exit), _) => {
                    if exit.label.is_some() || exit.expr.is_some() {
                        self.cx.error_spanned_by(
                            exit,
                            "#[differentiate] supports a plain `break` (no label, no value); \
                             assign the value to a variable before breaking",
                        );
                    }
                    // This loop's flag: one an inner loop declared in this
                    // iteration's scope is not it.
                    let flag = self.scopes[..self.carried_scopes]
                        .iter_mut()
                        .rev()
                        .find_map(|scope| scope.get_mut(RUNNING));
                    if let Some(flag) = flag {
                        flag.value = Some(Operand::Const(syn::parse_quote!(false)));
                    }
                    return self.current_values(names);
                }
                syn::Stmt::Expr(Expr::Continue(exit), _) => {
                    if exit.label.is_some() {
                        self.cx.error_spanned_by(exit, LABELS);
                    }
                    return self.current_values(names);
                }
                syn::Stmt::Expr(Expr::If(expr_if), _) if stmt_exits_loop(stmt) => {
                    return self.lower_exiting_if(expr_if, frames, names, out);
                }
                syn::Stmt::Expr(Expr::Block(block), _) if block.label.is_none() && stmt_exits_loop(stmt) => {
                    frames.push(Frame::new(&block.block.stmts));
                    self.scopes.push(Scope::new());
                }
                syn::Stmt::Expr(expr, None) => {
                    self.lower_expr(expr, out);
                }
                stmt => self.lower_stmt(stmt, out),
            }
        }
    }

    /// `if c { ..break.. } rest-of-iteration`: each branch continues with a
    /// copy of the rest of the iteration; the carried values merge after.
    fn lower_exiting_if(
        &mut self,
        expr_if: &syn::ExprIf,
        frames: Vec<Frame>,
        names: &[String],
        out: &mut Vec<Stmt>,
    ) -> Vec<Operand> {
        let cond = self.lower_expr(&expr_if.cond, out);
        let saved = self.scopes.clone();

        let mut then_frames = frames.clone();
        then_frames.push(Frame::new(&expr_if.then_branch.stmts));
        self.scopes.push(Scope::new());
        let mut then_stmts = Vec::new();
        let then_values = self.lower_iteration(then_frames, names, &mut then_stmts);
        self.scopes = saved.clone();

        let mut else_frames = frames;
        if let Some((_, else_expr)) = &expr_if.else_branch {
            let stmt = syn::Stmt::Expr((**else_expr).clone(), Some(Default::default()));
            else_frames.push(Frame::new(std::slice::from_ref(&stmt)));
            self.scopes.push(Scope::new());
        }
        let mut else_stmts = Vec::new();
        let else_values = self.lower_iteration(else_frames, names, &mut else_stmts);
        self.scopes = saved;

        let mut outputs = Vec::new();
        let mut values = Vec::new();
        for ((name, then_value), else_value) in names.iter().zip(then_values).zip(else_values) {
            if same_operand(&then_value, &else_value) {
                values.push(then_value);
                continue;
            }
            let var = self.new_var(if name == RUNNING { "running" } else { name });
            self.inherit_buffer(var, &[&then_value, &else_value]);
            outputs.push(Phi {
                var,
                then_value,
                else_value,
            });
            values.push(Operand::Var(var));
        }
        let record = self.new_var("branch");
        out.push(Stmt::If(IfStmt {
            cond,
            then_block: Block { stmts: then_stmts },
            else_block: Block { stmts: else_stmts },
            outputs,
            record,
        }));
        values
    }

    /// The current values of the carried variables `names`.
    fn current_values(&self, names: &[String]) -> Vec<Operand> {
        // Looked up outside the iteration's scopes: a `let` in the body that
        // shadows a carried variable ends with the iteration, also at a
        // `break` or `continue` that leaves its scope early.
        let outside = &self.scopes[..self.carried_scopes];
        names
            .iter()
            .map(|name| match outside.iter().rev().find_map(|scope| scope.get(name)) {
                Some(Binding { value: Some(value), .. }) => value.clone(),
                _ => Operand::Const(syn::parse_quote!(())),
            })
            .collect()
    }

    /// What a `for` iterates over: `a..b`, `a..=b`, `(a..b).rev()`, or the
    /// elements of a slice, `Vec`, array or faer vector (`xs`, `&xs`,
    /// `xs.iter()`, `xs.iter().enumerate()`), which become reads `xs[i]` over
    /// `0..len`.
    fn lower_loop_header(&mut self, iterable: &Expr, pat: &syn::Pat, out: &mut Vec<Stmt>) -> Option<LoopHeader> {
        let (iterable, reverse) = match iterable {
            Expr::MethodCall(call) if call.method == "rev" && call.args.is_empty() => (&*call.receiver, true),
            iterable => (iterable, false),
        };
        if let Expr::Range(range) = strip_parens(iterable) {
            let (Some(start), Some(end)) = (&range.start, &range.end) else {
                self.cx
                    .error_spanned_by(range, "#[differentiate] needs a loop range with both ends, e.g. `0..n`");
                return None;
            };
            let index_names = match pattern_name(pat) {
                Ok(name) => name.into_iter().collect(),
                Err(()) => {
                    self.cx
                        .error_spanned_by(pat, "bind the loop counter to a name, e.g. `for i in 0..n`");
                    return None;
                }
            };
            let start = self.opaque(start, out);
            let end = Some(self.opaque(end, out));
            return Some(LoopHeader {
                start,
                end,
                inclusive: matches!(range.limits, syn::RangeLimits::Closed(_)),
                reverse,
                index_names,
                elements: Vec::new(),
                computed: Vec::new(),
            });
        }
        let Some(walk) = Walk::of(iterable) else {
            if let Some((adapter, instead)) = sequences::adapter_without_rule(iterable) {
                self.cx.error_at(
                    adapter.span(),
                    format!("#[differentiate] has no rule for the iterator adapter `{adapter}` here: {instead}"),
                );
                return None;
            }
            self.cx.error_spanned_by(
                iterable,
                "#[differentiate] loops over a range (`0..n`, `(0..n).rev()`, `(0..n).step_by(2)`, `(0..n).skip(1)`) or over the elements of slices, \
                 `Vec`s, arrays or faer vectors (`for &x in xs`, `for x in xs.iter()`, \
                 `for (i, x) in xs.iter().enumerate()`, `for (a, b) in xs.iter().zip(ys)`, `xs.windows(2)`, \
                 `xs.chunks(3)`, then `.filter(…)` and `.map(…)` last); iterator adapters other than `rev`, \
                 `enumerate`, `zip`, `filter` and `map` have no rule: index the elements in a counted loop instead (`for i in 1..xs.len() { … xs[i] … }`)",
            );
            return None;
        };
        let mut bound = WalkBindings::default();
        self.bind_walk(&walk, pat, &mut bound)?;
        let mut elements = Vec::new();
        for element in std::mem::take(&mut bound.elements) {
            let sequence = element.sequence;
            let operand = if self.is_constant_place(sequence) {
                self.borrowed_field(sequence, out)
            } else {
                self.lower_expr(sequence, out)
            };
            // `for v in a` iterates over a copy of an array `a`, which the body may write.
            let yields_references = self.yields_references(element.iterable, sequence);
            let operand = if yields_references {
                operand
            } else {
                self.bound_value(sequence, operand, out)
            };
            elements.push(LoopElement {
                name: element.name,
                sequence: operand,
                is_reference: yields_references && !element.dereferenced,
                reversed: element.reversed,
                destructured: element.destructured,
            });
        }
        let end = Some(self.opaque(&walk.length(), out));
        let mut index_names = std::mem::take(&mut bound.counters);
        if index_names.is_empty() && !bound.computed.is_empty() {
            index_names.push("chainrule_step".to_owned());
        }
        let mut computed = index_names
            .first()
            .map(|counter| bound.computed_statements(counter))
            .unwrap_or_default();
        computed.append(&mut bound.destructured);
        Some(LoopHeader {
            start: Operand::Const(syn::parse_quote!(0)),
            end,
            inclusive: false,
            reverse,
            index_names,
            elements,
            computed,
        })
    }

    /// Lowers a block in its own scope and returns its tail value, if any.
    fn lower_block_value(&mut self, block: &syn::Block, out: &mut Vec<Stmt>) -> Option<Operand> {
        self.scopes.push(Scope::new());
        let mut value = None;
        for (i, stmt) in block.stmts.iter().enumerate() {
            match stmt {
                syn::Stmt::Expr(expr, None) if i + 1 == block.stmts.len() => {
                    let operand = self.lower_expr(expr, out);
                    value = (!is_unit(&operand)).then_some(operand);
                }
                stmt => self.lower_stmt(stmt, out),
            }
        }
        self.scopes.pop();
        value
    }

    /// An expression without derivative, kept as written with the local
    /// variables it reads renamed to their current values.
    /// Whether `expr` refers to a local variable or parameter at all (even
    /// only for its shape), so that it cannot be treated as a constant.
    fn mentions_locals(&self, expr: &Expr) -> bool {
        struct Finder<'l, 'a> {
            lowerer: &'l Lowerer<'a>,
            found: bool,
        }
        impl<'ast> Visit<'ast> for Finder<'_, '_> {
            fn visit_expr_path(&mut self, path: &'ast syn::ExprPath) {
                if let Some(ident) = path.path.get_ident()
                    && matches!(
                        self.lowerer.lookup(&ident.to_string()),
                        Some(Binding {
                            value: Some(Operand::Var(_) | Operand::Transposed(_)),
                            ..
                        })
                    )
                {
                    self.found = true;
                }
            }
        }
        let mut finder = Finder {
            lowerer: self,
            found: false,
        };
        finder.visit_expr(expr);
        finder.found
    }

    /// Whether iterating over `iterable` yields references to the elements of
    /// `sequence`: `.iter()`, `&xs`, or a parameter or constant's field passed
    /// by reference; an owned `Vec` or array iterated by value yields the
    /// elements themselves.
    fn yields_references(&self, iterable: &Expr, sequence: &Expr) -> bool {
        let by_value = matches!(strip_parens(iterable), Expr::Path(_))
            || matches!(strip_parens(iterable), Expr::MethodCall(call) if call.method == "enumerate"
                && matches!(strip_parens(&call.receiver), Expr::Path(_)));
        if !by_value {
            return true;
        }
        self.named_var(sequence)
            .is_some_and(|var| self.borrowed_params.contains(&var) || self.constant_borrows.contains(&var))
    }

    /// Whether `expr` is a place inside a parameter that is never
    /// differentiated: a field (`data.xs`, `data.prior.scale`), or an element
    /// of one or of a borrow of one (`data.rows[i]`, `rows[i]` after
    /// `let rows = &data.rows;`), at any depth.
    fn is_constant_place(&self, expr: &Expr) -> bool {
        let holds_constants = |base: &Expr| {
            self.named_constant(base)
                || self.is_constant_place(base)
                || self
                    .named_var(base)
                    .is_some_and(|var| self.constant_borrows.contains(&var))
        };
        match strip_parens(expr) {
            Expr::Field(field) => holds_constants(&field.base) || self.is_constant_element(&field.base),
            Expr::Index(index) if !matches!(strip_parens(&index.index), Expr::Range(_)) => {
                !self.named_constant(&index.expr) && holds_constants(&index.expr)
            }
            _ => false,
        }
    }

    /// Whether `expr` is an element of a parameter never differentiated,
    /// `data[i]`: a place of its own only as the base of a field
    /// (`data[i].0`, `samples[i].x`) or of a tuple pattern; alone, it is an
    /// ordinary element read.
    fn is_constant_element(&self, expr: &Expr) -> bool {
        matches!(strip_parens(expr), Expr::Index(index)
            if !matches!(strip_parens(&index.index), Expr::Range(_)) && self.named_constant(&index.expr))
    }

    /// Whether `expr` is a value whose parts (`.0`, `.x`) are constants: a
    /// parameter never differentiated, a place inside one, an element of
    /// one, or a borrow of such a place.
    fn is_constant_value(&self, expr: &Expr) -> bool {
        self.named_constant(expr)
            || self.is_constant_place(expr)
            || self.is_constant_element(expr)
            || self
                .named_var(expr)
                .is_some_and(|var| self.constant_borrows.contains(&var))
    }

    /// `&place` of a place inside a constant parameter: a borrow, so that a
    /// `Vec` or a matrix is read where it is rather than moved or copied.
    fn borrowed_field(&mut self, place: &Expr, out: &mut Vec<Stmt>) -> Operand {
        let borrow = self.opaque(&syn::parse_quote!(&#place), out);
        self.constant_borrows.extend(borrow.var());
        borrow
    }

    /// Whether `expr` names a parameter that is never differentiated.
    fn named_constant(&self, expr: &Expr) -> bool {
        self.named_var(expr)
            .is_some_and(|var| self.constant_params.contains(&var))
    }

    /// The variable a plain name (`x`, `(x)`) holds, if it holds one.
    fn named_var(&self, expr: &Expr) -> Option<Var> {
        let Expr::Path(path) = strip_parens(expr) else {
            return None;
        };
        match self.lookup(&path.path.get_ident()?.to_string()) {
            Some(Binding {
                value: Some(Operand::Var(var)),
                ..
            }) => Some(*var),
            _ => None,
        }
    }

    /// Whether `expr` names a variable bound to a view (`let v = x.as_ref()`).
    fn names_view(&self, expr: &Expr) -> bool {
        target_name(expr).is_some_and(|name| self.lookup(&name).is_some_and(|binding| binding.view))
    }

    /// Whether `expr` names a `&f64` parameter, which the body reads through
    /// its dereferenced copy.
    fn is_deref_copy(&self, expr: &Expr) -> bool {
        self.named_var(expr).is_some_and(|var| self.deref_copies.contains(&var))
    }

    /// Whether `*expr` means the value `expr` names in the generated code:
    /// `expr` is a local (whose `&x` the body binds to `x` itself), the copy
    /// of a `&f64` parameter, or a parameter borrowing a slice, an array, a
    /// vector or a matrix (which indexing and methods see through). Only
    /// references to values never differentiated (`&usize`, `&bool`) are
    /// really dereferenced.
    fn derefs_to_itself(&self, expr: &Expr) -> bool {
        self.named_var(expr)
            .is_some_and(|var| !self.constant_refs.contains(&var))
    }

    fn opaque(&mut self, expr: &Expr, out: &mut Vec<Stmt>) -> Operand {
        // `(i + 1)` is kept as `i + 1`: the `let` it becomes needs no parentheses.
        let expr = strip_parens(expr);
        let mut checker = OpaqueChecker { problem: None };
        checker.visit_expr(expr);
        if let Some((span, message)) = checker.problem {
            self.cx.error_at(span, message);
            return self.placeholder(expr);
        }
        let Renamed {
            expr: renamed,
            reads,
            shapes,
            changes,
        } = self.rename_reads(expr);
        if reads.is_empty() && !self.mentions_locals(expr) {
            return Operand::Const(renamed);
        }
        self.emit(
            out,
            "cond",
            Origin::of(expr),
            Op::Opaque {
                expr: renamed,
                reads,
                shapes,
                changes,
            },
        )
    }

    /// Replaces each read of a local variable in `expr` with its current value,
    /// and lists the variables whose values it reads, those whose shapes only
    /// it reads (`v.len()`), and those it changes in place (`p.swap(0, 1)`).
    fn rename_reads(&self, expr: &Expr) -> Renamed {
        let mut renamer = Renamer {
            lowerer: self,
            reads: Vec::new(),
            shapes: Vec::new(),
            changes: Vec::new(),
        };
        let mut renamed = expr.clone();
        renamer.visit_expr_mut(&mut renamed);
        let Renamer {
            mut reads,
            mut shapes,
            mut changes,
            ..
        } = renamer;
        for vars in [&mut reads, &mut shapes, &mut changes] {
            vars.sort();
            vars.dedup();
        }
        Renamed {
            expr: renamed,
            reads,
            shapes,
            changes,
        }
    }
}

/// An opaque expression with its reads renamed; see [`Lowerer::rename_reads`].
struct Renamed {
    expr: Expr,
    reads: Vec<Var>,
    shapes: Vec<Var>,
    changes: Vec<Var>,
}

/// Rewrites local variable reads inside an opaque expression.
struct Renamer<'l, 'a> {
    lowerer: &'l Lowerer<'a>,
    reads: Vec<Var>,
    shapes: Vec<Var>,
    changes: Vec<Var>,
}

impl VisitMut for Renamer<'_, '_> {
    fn visit_expr_mut(&mut self, expr: &mut Expr) {
        // A shape query reads the shape of its receiver, not its values.
        let shape_query = match expr {
            Expr::MethodCall(call) => rules::SHAPE_QUERIES.contains(&call.method.to_string().as_str()),
            Expr::Call(call) => matches!(&*call.func, Expr::Path(path) if is_length_query(path)),
            _ => false,
        };
        // `p.swap(0, 1)` or `&mut p` changes `p` in place.
        let changed = match expr {
            Expr::MethodCall(call) if rules::IN_PLACE_METHODS.contains(&call.method.to_string().as_str()) => {
                self.lowerer.named_var(&call.receiver)
            }
            Expr::Reference(reference) if reference.mutability.is_some() => self.lowerer.named_var(&reference.expr),
            _ => None,
        };
        self.changes.extend(changed);
        if shape_query {
            let reads = self.reads.len();
            syn::visit_mut::visit_expr_mut(self, expr);
            let shapes: Vec<Var> = self.reads.drain(reads..).collect();
            self.shapes.extend(shapes);
            return;
        }
        if let Expr::Unary(unary) = expr
            && let syn::UnOp::Deref(_) = unary.op
            && self.lowerer.derefs_to_itself(&unary.expr)
        {
            // `*x` for a `&f64` parameter reads its dereferenced copy; see
            // `derefs_to_itself` for the others.
            let mut inner = (*unary.expr).clone();
            self.visit_expr_mut(&mut inner);
            *expr = inner;
            return;
        }
        if let Expr::Path(path) = expr
            && let Some(ident) = path.path.get_ident()
            && path.qself.is_none()
            && let Some(Binding { value: Some(value), .. }) = self.lowerer.lookup(&ident.to_string())
        {
            self.reads.extend(value.var());
            let code = value.to_code(&self.lowerer.vars);
            *expr = syn::parse_quote!(#code);
            return;
        }
        syn::visit_mut::visit_expr_mut(self, expr);
    }
}

/// Where closures may be written, and what to write for a helper closure.
const CLOSURES: &str = "closures are supported only in `xs.iter().map(|x| …).sum()`, `.fold(init, |acc, x| …)` \
     and `.map(|x| …).collect()` pipelines and as the last argument of `Col::from_fn`, `Row::from_fn` and \
     `Mat::from_fn`; for a helper such as `let sq = |v| v * v`, write `fn sq(v: f64) -> f64` with its own \
     #[differentiate] and call it";

/// What to write for `max_by` and its kin, which compare through a closure.
const SEARCH_BY_ORDER: &str = "`max_by`, `min_by` and their `_key` forms have no derivative rule; find the \
     extreme value with a fold, `xs.iter().fold(f64::NEG_INFINITY, |m, &x| m.max(x))`, or a loop \
     (`let mut m = xs[0]; for &x in xs { m = m.max(x); }`)";

/// Whether a method searches an iterator through a comparison closure.
fn is_search_by_order(method: &Ident) -> bool {
    matches!(
        method.to_string().as_str(),
        "max_by" | "min_by" | "max_by_key" | "min_by_key"
    )
}

/// Finds constructs that cannot be kept inside an opaque expression.
struct OpaqueChecker {
    problem: Option<(Span, &'static str)>,
}

impl<'ast> Visit<'ast> for OpaqueChecker {
    fn visit_expr(&mut self, expr: &'ast Expr) {
        if self.problem.is_some() {
            return;
        }
        let problem = match expr {
            Expr::Closure(_) => Some(CLOSURES),
            Expr::MethodCall(call) if is_search_by_order(&call.method) => Some(SEARCH_BY_ORDER),
            Expr::Macro(_) => Some("macro calls are not supported in a #[differentiate] function"),
            Expr::Block(_) | Expr::Unsafe(_) => {
                Some("blocks are not supported inside a condition; bind the value with `let` first")
            }
            Expr::Assign(_) => Some("assignments are not supported inside a condition"),
            Expr::ForLoop(_) | Expr::While(_) | Expr::Loop(_) => {
                Some("loops are not supported inside a condition; compute the value before the `if` with `let`")
            }
            Expr::Return(_) => Some("`return` is not supported inside a condition"),
            _ => None,
        };
        if let Some(message) = problem {
            let span = match expr {
                Expr::MethodCall(call) => call.method.span(),
                _ => expr.span(),
            };
            self.problem = Some((span, message));
            return;
        }
        syn::visit::visit_expr(self, expr);
    }
}

/// For a pattern naming the whole matched value, `n` or `mut n` (a
/// lowercase name) or `n @ P` with `P` binding nothing: the binding, as
/// `let` writes it, and the pattern left to test, `_` or `P`.
fn whole_value(pat: &syn::Pat) -> Option<(syn::Pat, syn::Pat)> {
    let syn::Pat::Ident(ident) = pat else {
        return None;
    };
    if ident.by_ref.is_some() || !ident.ident.to_string().starts_with(|c: char| c.is_lowercase()) {
        return None;
    }
    let test = match &ident.subpat {
        None => syn::parse_quote!(_),
        Some((_, subpat)) if !binds_variables(subpat) => (**subpat).clone(),
        Some(_) => return None,
    };
    let binding = syn::Pat::Ident(syn::PatIdent {
        subpat: None,
        ..ident.clone()
    });
    Some((binding, test))
}

/// Whether a pattern binds a variable (`Some(x)`, `n @ 1..=3`, `x`).
/// A lone identifier counts as a binding unless it is capitalised like a
/// constant or a variant.
fn binds_variables(pat: &syn::Pat) -> bool {
    struct Finder(bool);
    impl<'ast> Visit<'ast> for Finder {
        fn visit_pat_ident(&mut self, pat: &'ast syn::PatIdent) {
            // A lone lowercase identifier binds; `CONST` and `Variant` are paths.
            let name = pat.ident.to_string();
            if pat.subpat.is_some() || name.starts_with(|c: char| c.is_lowercase()) {
                self.0 = true;
            }
        }
    }
    let mut finder = Finder(false);
    finder.visit_pat(pat);
    finder.0
}

/// The tokens of a `for` loop's header, `for pattern in iterable`.
struct LoopHeaderTokens<'a>(&'a syn::ExprForLoop);

impl quote::ToTokens for LoopHeaderTokens<'_> {
    fn to_tokens(&self, tokens: &mut proc_macro2::TokenStream) {
        self.0.for_token.to_tokens(tokens);
        self.0.expr.to_tokens(tokens);
    }
}

/// The error at a loop label, and what to write instead.
const LABELS: &str = "#[differentiate] does not support loop labels; carry a flag instead (`let mut done = false;`, \
                      set before the inner `break` and tested after the inner loop by the outer one), or move the \
                      inner loop into a `#[differentiate]` helper function whose `return` ends it";

/// The name under which a loop with `break` carries its "still running"
/// flag; not a name users write.
const RUNNING: &str = "chainrule_running";

/// Finds the `break`s (and, if asked, `continue`s) of one loop in its
/// body: nested loops and closures have their own.
struct LoopExitFinder {
    continues_count: bool,
    found: bool,
}

impl<'ast> Visit<'ast> for LoopExitFinder {
    fn visit_expr_break(&mut self, _: &'ast syn::ExprBreak) {
        self.found = true;
    }
    fn visit_expr_continue(&mut self, _: &'ast syn::ExprContinue) {
        self.found |= self.continues_count;
    }
    fn visit_expr_for_loop(&mut self, _: &'ast syn::ExprForLoop) {}
    fn visit_expr_while(&mut self, _: &'ast syn::ExprWhile) {}
    fn visit_expr_loop(&mut self, _: &'ast syn::ExprLoop) {}
    fn visit_expr_closure(&mut self, _: &'ast syn::ExprClosure) {}
}

fn find_loop_exit(stmt: &syn::Stmt, continues_count: bool) -> bool {
    let mut finder = LoopExitFinder {
        continues_count,
        found: false,
    };
    finder.visit_stmt(stmt);
    finder.found
}

/// Whether a statement of a loop body contains a `break` or `continue` of
/// that loop (not of a nested loop).
fn stmt_exits_loop(stmt: &syn::Stmt) -> bool {
    find_loop_exit(stmt, true)
}

/// Whether a statement of a loop body contains a `break` of that loop.
pub fn stmt_breaks_loop(stmt: &syn::Stmt) -> bool {
    find_loop_exit(stmt, false)
}

/// The tokens of a `while` loop's header, `while cond`.
struct WhileHeaderTokens<'a>(&'a syn::ExprWhile);

impl quote::ToTokens for WhileHeaderTokens<'_> {
    fn to_tokens(&self, tokens: &mut proc_macro2::TokenStream) {
        self.0.while_token.to_tokens(tokens);
        self.0.cond.to_tokens(tokens);
    }
}

/// The header of a lowered loop.
struct LoopHeader {
    start: Operand,
    /// `None` for `while` and `loop`, which run until a `break`.
    end: Option<Operand>,
    inclusive: bool,
    reverse: bool,
    /// The user's names for the counter (`i` in `for i in 0..n` or
    /// `(i, x)` of an `enumerate`), if the loop exposes it.
    index_names: Vec<String>,
    /// For loops over elements: the elements each step binds.
    elements: Vec<LoopElement>,
    /// For loops over sub-slices (`xs.windows(2)`) or zipped ranges: the
    /// statements binding them, at the top of the body.
    computed: Vec<syn::Stmt>,
}

/// An element a loop over sequences binds at each step: `sequence[i]`.
struct LoopElement {
    name: String,
    sequence: Operand,
    /// Whether the element is a reference (`for x in xs.iter()`), not a
    /// value (`for &x in xs`).
    is_reference: bool,
    /// Whether step `i` reads `sequence[len − 1 − i]`, under a `.rev()`
    /// inside a `zip` or an `enumerate`.
    reversed: bool,
    /// Whether the element is a tuple the loop's pattern takes apart
    /// (`for &(x, y) in data`).
    destructured: bool,
}

fn strip_parens(expr: &Expr) -> &Expr {
    match expr {
        Expr::Paren(paren) => strip_parens(&paren.expr),
        Expr::Group(group) => strip_parens(&group.expr),
        expr => expr,
    }
}

/// The name a pattern binds: `Ok(None)` for `_`, `Err` for other patterns.
fn pattern_name(pat: &syn::Pat) -> Result<Option<String>, ()> {
    binding_name(pat).map_err(|_| ())
}

/// The local variables a statement assigns to (`x = ..`, `x += ..`, and
/// `*acc = ..` for a `&mut f64` parameter `acc`), which a loop carries from
/// one iteration to the next, each with whether it is only lent by `&mut`
/// there (`&mut x`, or a parameter of `inout_names` passed on as it is).
fn assigned_names_in_stmt(stmt: &syn::Stmt, inout_names: &std::collections::HashSet<String>) -> Vec<(String, bool)> {
    struct Finder<'names> {
        inout_names: &'names std::collections::HashSet<String>,
        found: Vec<(String, bool)>,
    }
    impl Finder<'_> {
        fn assigned(&mut self, target: &Expr) {
            if let Expr::Tuple(targets) = strip_parens(target) {
                targets.elems.iter().for_each(|target| self.assigned(target));
                return;
            }
            let name = match strip_parens(target) {
                Expr::Unary(unary) if matches!(unary.op, syn::UnOp::Deref(_)) => {
                    target_name(&unary.expr).filter(|name| self.inout_names.contains(name))
                }
                target => target_name(target),
            };
            self.found.extend(name.map(|name| (name, false)));
        }
        fn passed(&mut self, args: &syn::punctuated::Punctuated<Expr, syn::Token![,]>) {
            let lent = args
                .iter()
                .filter_map(target_name)
                .filter(|name| self.inout_names.contains(name));
            self.found.extend(lent.map(|name| (name, true)));
        }
    }
    impl<'ast> Visit<'ast> for Finder<'_> {
        fn visit_expr_assign(&mut self, assign: &'ast syn::ExprAssign) {
            self.assigned(&assign.left);
            syn::visit::visit_expr_assign(self, assign);
        }
        fn visit_expr_binary(&mut self, binary: &'ast syn::ExprBinary) {
            if is_compound_assignment(&binary.op) || is_arithmetic_assignment(&binary.op) {
                self.assigned(&binary.left);
            }
            syn::visit::visit_expr_binary(self, binary);
        }
        fn visit_expr_reference(&mut self, reference: &'ast syn::ExprReference) {
            // `&mut x` passed to a call that may change `x`.
            if reference.mutability.is_some() {
                self.found.extend(target_name(&reference.expr).map(|name| (name, true)));
            }
            syn::visit::visit_expr_reference(self, reference);
        }
        fn visit_expr_call(&mut self, call: &'ast syn::ExprCall) {
            self.passed(&call.args);
            syn::visit::visit_expr_call(self, call);
        }
        fn visit_expr_method_call(&mut self, call: &'ast syn::ExprMethodCall) {
            self.passed(&call.args);
            syn::visit::visit_expr_method_call(self, call);
        }
        fn visit_expr_closure(&mut self, _: &'ast syn::ExprClosure) {}
    }
    let mut finder = Finder {
        inout_names,
        found: Vec::new(),
    };
    finder.visit_stmt(stmt);
    finder.found
}

fn is_arithmetic_assignment(op: &syn::BinOp) -> bool {
    use syn::BinOp as B;
    matches!(
        op,
        B::AddAssign(_) | B::SubAssign(_) | B::MulAssign(_) | B::DivAssign(_) | B::RemAssign(_)
    )
}

/// Finds a `return` (closures excluded: they are rejected on their own).
#[derive(Default)]
struct ReturnFinder(bool);

impl<'ast> Visit<'ast> for ReturnFinder {
    fn visit_expr_return(&mut self, _: &'ast syn::ExprReturn) {
        self.0 = true;
    }
    fn visit_expr_closure(&mut self, _: &'ast syn::ExprClosure) {}
}

fn if_contains_return(expr_if: &syn::ExprIf) -> bool {
    let mut finder = ReturnFinder::default();
    finder.visit_expr_if(expr_if);
    finder.0
}

fn block_contains_return(block: &syn::Block) -> bool {
    let mut finder = ReturnFinder::default();
    finder.visit_block(block);
    finder.0
}

/// Whether `ty` is a reference to a slice, `Vec` or array whose elements
/// are values that are not `Copy` numbers (`&[Mat<f64>]`, `&Vec<Col<f64>>`),
/// read by reference. Elements of primitive types and references are read
/// by copy, as ever.
fn holds_values_read_by_reference(ty: &syn::Type) -> bool {
    let syn::Type::Reference(reference) = ty else {
        return false;
    };
    let element = match &*reference.elem {
        syn::Type::Slice(slice) => &*slice.elem,
        syn::Type::Array(array) => &*array.elem,
        syn::Type::Path(path) => match path.path.segments.last() {
            Some(last) if last.ident == "Vec" => match &last.arguments {
                syn::PathArguments::AngleBracketed(arguments) => match arguments.args.first() {
                    Some(syn::GenericArgument::Type(element)) => element,
                    _ => return false,
                },
                _ => return false,
            },
            _ => return false,
        },
        _ => return false,
    };
    match element {
        syn::Type::Path(path) => !path
            .path
            .get_ident()
            .is_some_and(|name| name == "f64" || name == "f32" || crate::signature::is_primitive(name)),
        syn::Type::Reference(_) | syn::Type::Tuple(_) => false,
        _ => true,
    }
}

/// The variable a `let` pattern binds: `Ok(None)` for `_`, `Err` for
/// patterns chainrule does not destructure.
fn binding_name(pat: &syn::Pat) -> Result<Option<String>, &syn::Pat> {
    match pat {
        syn::Pat::Ident(ident) if ident.by_ref.is_none() && ident.subpat.is_none() => Ok(Some(ident.ident.to_string())),
        syn::Pat::Type(typed) => binding_name(&typed.pat),
        syn::Pat::Wild(_) => Ok(None),
        other => Err(other),
    }
}

/// `x` in `x.as_ref()` (a method of [`rules::ALIASES`]).
fn alias_receiver(expr: &Expr) -> Option<&Expr> {
    match strip_parens(expr) {
        Expr::MethodCall(call)
            if call.args.is_empty() && rules::ALIASES.contains(&call.method.to_string().as_str()) =>
        {
            Some(&call.receiver)
        }
        _ => None,
    }
}

/// `self.predict(x)`, a method of the `impl` block's own (no rule has its
/// name), as the call `Self::predict(self, x)`: differentiated through
/// `Self::predict_pullback` like any other call.
fn as_call_of_self(call: &syn::ExprMethodCall) -> Option<Expr> {
    let Expr::Path(receiver) = strip_parens(&call.receiver) else {
        return None;
    };
    if !receiver.path.is_ident("self")
        || call.turbofish.is_some()
        || rules::method_rule(&call.method.to_string()).is_some()
    {
        return None;
    }
    let method = &call.method;
    let args = &call.args;
    Some(syn::parse_quote_spanned!(method.span()=> Self::#method(#receiver, #args)))
}

/// The local variable an assignment writes, if it is a plain name.
fn target_name(target: &Expr) -> Option<String> {
    match target {
        Expr::Path(path) if path.qself.is_none() => path.path.get_ident().map(ToString::to_string),
        Expr::Paren(paren) => target_name(&paren.expr),
        _ => None,
    }
}

/// A numeric literal given the type of its `let` (`0.0` → `0.0_f64`), so the
/// value keeps its type once the `let` is gone.
fn typed_literal(literal: &syn::ExprLit, ty: &syn::Type) -> Expr {
    let syn::Type::Path(path) = ty else {
        return Expr::Lit(literal.clone());
    };
    let Some(suffix) = path.path.get_ident() else {
        return Expr::Lit(literal.clone());
    };
    let typed = match &literal.lit {
        syn::Lit::Float(float) if float.suffix().is_empty() => syn::Lit::Float(syn::LitFloat::new(
            &format!("{}_{suffix}", float.base10_digits()),
            float.span(),
        )),
        syn::Lit::Int(int) if int.suffix().is_empty() => syn::Lit::Int(syn::LitInt::new(
            &format!("{}_{suffix}", int.base10_digits()),
            int.span(),
        )),
        _ => return Expr::Lit(literal.clone()),
    };
    Expr::Lit(syn::ExprLit {
        attrs: Vec::new(),
        lit: typed,
    })
}

/// The names along a function's path: `["std", "mem", "swap"]`.
pub fn path_segments(func: &syn::ExprPath) -> Vec<String> {
    func.path
        .segments
        .iter()
        .map(|segment| segment.ident.to_string())
        .collect()
}

/// Whether `func` is `::chainrule::rules::length`, which the lowering
/// writes for the number of elements of a sequence: an integer read from
/// its receiver's shape.
fn is_length_query(func: &syn::ExprPath) -> bool {
    path_segments(func) == ["chainrule", "rules", "length"]
}

/// Whether `func` computes an integer from integers, kept as written:
/// `std::cmp::min` and `max` (of `Ord` values, so never of `f64`s) and the
/// helpers of a loop over an adapted range (`adapted_ranges.rs`).
fn is_integer_call(func: &syn::ExprPath) -> bool {
    let segments = path_segments(func);
    match segments.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["std" | "core", "cmp", "min" | "max"] | ["cmp", "min" | "max"] => true,
        ["chainrule", "rules", helper] => adapted_ranges::RANGE_QUERIES.contains(helper),
        _ => false,
    }
}

/// Whether `func` names a function of `chainrule::ops` (`relu`,
/// `ops::relu`, `chainrule::prelude::relu`). A function of the user's with
/// such a name that takes an owned vector would get a type error, not a
/// wrong result.
pub fn is_ops_function(func: &syn::ExprPath) -> bool {
    if func.qself.is_some() {
        return false;
    }
    let segments = path_segments(func);
    let Some((name, prefix)) = segments.split_last() else {
        return false;
    };
    let from_chainrule = match prefix {
        [] => true,
        [.., module] => module == "ops" || module == "prelude",
    };
    from_chainrule && rules::OPS_FUNCTIONS.contains(&name.as_str())
}

/// `f64::name` (or `core::f64::name`, `<f64>::name`): the method form it
/// abbreviates.
fn f64_method_path(func: &syn::ExprPath) -> Option<Ident> {
    if let Some(qself) = &func.qself {
        let is_f64 = matches!(&*qself.ty, syn::Type::Path(ty) if ty.qself.is_none() && ty.path.is_ident("f64"));
        return match func.path.segments.iter().collect::<Vec<_>>().as_slice() {
            [method] if is_f64 && qself.position == 0 => Some(method.ident.clone()),
            _ => None,
        };
    }
    let segments: Vec<&syn::PathSegment> = func.path.segments.iter().collect();
    let [.., ty, method] = segments.as_slice() else {
        return None;
    };
    (ty.ident == "f64" && ty.arguments.is_none()).then(|| method.ident.clone())
}

fn is_compound_assignment(op: &syn::BinOp) -> bool {
    use syn::BinOp as B;
    matches!(
        op,
        B::BitXorAssign(_) | B::BitAndAssign(_) | B::BitOrAssign(_) | B::ShlAssign(_) | B::ShrAssign(_)
    )
}

fn is_unit(operand: &Operand) -> bool {
    matches!(operand, Operand::Const(Expr::Tuple(tuple)) if tuple.elems.is_empty())
}

fn same_operand(a: &Operand, b: &Operand) -> bool {
    match (a, b) {
        (Operand::Var(a), Operand::Var(b)) | (Operand::Transposed(a), Operand::Transposed(b)) => a == b,
        (Operand::Const(a), Operand::Const(b)) => a.to_token_stream().to_string() == b.to_token_stream().to_string(),
        _ => false,
    }
}
