//! The forward transform: from the primal IR to an IR that computes every
//! value together with its tangent (forward mode, `f_jvp`).
//!
//! The body is walked once, in order. Each statement is kept, and right after
//! a `let` of an active value `y = op(a, b)` come the statements computing its
//! tangent `ẏ = ∂op/∂a·ȧ + ∂op/∂b·ḃ`, built from the same operations the IR
//! already has (`+ − · /`, methods of `f64`, `chainrule::ops` calls, `if`s
//! for kinks), so the result is ordinary IR: emitted as it is for `f_jvp`, and
//! differentiated again by `reverse.rs` for `f_hvp` (reverse over forward).
//! Inactive operands contribute nothing and are left out; a tangent that is
//! certainly zero is the constant `0.0` for an `f64`, else a `zero_like` of
//! the value's shape.
//!
//! Control flow needs no record: an `if` computes the tangents of the values
//! it merges in each branch, a loop carries each active value's tangent next
//! to it, and an element store into a buffer also stores the tangent into the
//! buffer's tangent. A call of another `#[differentiate(forward)]` function
//! goes through its `_pushforward`, which returns the value and its tangent
//! from one run of the callee.

use std::collections::{HashMap, HashSet};

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::parse_quote;

use crate::check::Activity;
use crate::ctxt::Ctxt;
use crate::ir::{
    BinaryOp, Block, CallArg, Carried, Function, IfStmt, LoopStmt, Names, Op, Operand, Origin, Param, ParamKind, Phi,
    Stmt, Var, VarInfo, callee_name, stored_buffers,
};

/// The primal function with its tangents woven in.
pub struct Tangent {
    /// The function's parameters followed by one tangent parameter per
    /// differentiated parameter (typed like it, itself not differentiated),
    /// and the body computing values and tangents. Its result is the primal
    /// result.
    pub function: Function,
    /// For each parameter of the primal function, the index in
    /// `function.params` of its tangent parameter, if it is differentiated.
    pub tangent_params: Vec<Option<usize>>,
    /// The tangent of the result.
    pub tangent_result: Operand,
}

/// How calls of other differentiated functions are written in the tangent
/// function.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum CallTangents {
    /// For `f_pushforward`: one call of `g_pushforward` gives the value and
    /// its tangent.
    Pushforward,
    /// For the directional derivative that `f_hvp` differentiates in reverse
    /// mode: the value is a call of `g` (differentiated through `g_pullback`)
    /// and the tangent a call of `g_tangent` (differentiated through
    /// `g_tangent_pullback`, which `hessian` on `g` generates, so only for a
    /// `g` returning `f64`).
    Differentiable,
}

/// Builds the tangent function of `function`, or records why it cannot.
pub fn forward(cx: &mut Ctxt, function: &Function, activity: &Activity, calls: CallTangents) -> Tangent {
    let mut names = Names::new();
    for info in &function.vars {
        names.reserve(&info.ident.to_string());
        names.reserve(&info.adjoint.to_string());
    }
    let mut stored = HashSet::new();
    stored_buffers(&function.body, &mut stored);
    let mut forward = Forward {
        cx,
        activity,
        vars: function.vars.clone(),
        names,
        tangents: HashMap::new(),
        stored,
        origin: Origin {
            start: Span::call_site(),
            end: Span::call_site(),
        },
        primal_count: function.vars.len(),
        calls,
    };
    let mut params: Vec<Param> = function.params.clone();
    let mut tangent_params = Vec::new();
    for param in &function.params {
        if param.kind.is_inout() {
            forward.cx.error_spanned_by(
                &param.ty,
                "forward mode does not take `&mut` parameters yet; return the value instead, or use reverse mode \
                 (`#[differentiate]` without `forward`)",
            );
        }
        if !param.wrt || param.kind.is_inout() {
            tangent_params.push(None);
            continue;
        }
        let name = forward.names.fresh(&format!("d_{}", param.ident));
        let var = if param.kind == ParamKind::ScalarRef {
            forward.new_var(&name.to_string())
        } else {
            forward.vars.push(VarInfo {
                ident: name.clone(),
                adjoint: forward.names.fresh(&format!("adj_{name}")),
            });
            Var(forward.vars.len() - 1)
        };
        forward.tangents.insert(param.var, Operand::Var(var));
        tangent_params.push(Some(params.len()));
        params.push(Param {
            var,
            ident: name,
            ty: param.ty.clone(),
            kind: param.kind,
            wrt: false,
        });
    }
    let mut body = forward.block(&function.body);
    let tangent_result = forward.tangent_or_zero(&function.result, &mut body.stmts);
    Tangent {
        function: Function {
            vars: forward.vars,
            output: function.output,
            params,
            body,
            result: function.result.clone(),
            recursive: function.recursive,
            inout: Vec::new(),
        },
        tangent_params,
        tangent_result,
    }
}

/// The name of a callee's split forward form: `g` → `g_pushforward`.
pub fn pushforward_path(func: &syn::ExprPath) -> syn::ExprPath {
    suffixed(func, "pushforward")
}

/// The name of a callee's tangent alone, `g` → `g_tangent`, which `hessian`
/// generates with its pullback.
fn tangent_path(func: &syn::ExprPath) -> syn::ExprPath {
    suffixed(func, "tangent")
}

fn suffixed(func: &syn::ExprPath, suffix: &str) -> syn::ExprPath {
    let mut path = func.clone();
    if let Some(last) = path.path.segments.last_mut() {
        last.ident = syn::Ident::new(&format!("{}_{suffix}", last.ident), last.ident.span());
    }
    path
}

struct Forward<'a> {
    cx: &'a mut Ctxt,
    activity: &'a Activity,
    vars: Vec<VarInfo>,
    names: Names,
    /// The tangent of each active variable: a variable, a transposed view of
    /// one, or `0.0` for an `f64` whose tangent is certainly zero.
    tangents: HashMap<Var, Operand>,
    /// The buffers the primal writes into element by element.
    stored: HashSet<Var>,
    /// The user code the statement being transformed came from.
    origin: Origin,
    /// How many variables the primal has: the ones `activity` knows.
    primal_count: usize,
    calls: CallTangents,
}

impl Forward<'_> {
    fn new_var(&mut self, hint: &str) -> Var {
        crate::ir::new_var(&mut self.vars, &mut self.names, hint)
    }

    fn ident(&self, var: Var) -> &syn::Ident {
        &self.vars[var.0].ident
    }

    /// `let d = op;` appended to `out`.
    fn push(&mut self, out: &mut Vec<Stmt>, hint: &str, op: Op) -> Operand {
        let var = self.new_var(hint);
        out.push(Stmt::Let {
            var,
            op,
            origin: self.origin,
        });
        Operand::Var(var)
    }

    fn tangent_name(&self, var: Var) -> String {
        format!("d{}", self.ident(var))
    }

    // ----- tangents of operands --------------------------------------------

    /// The tangent of an operand, or `None` when it is certainly zero.
    fn tangent(&self, operand: &Operand) -> Option<Operand> {
        let var = operand.var()?;
        if !self.activity.is_active(var) {
            return None;
        }
        let transposed = matches!(operand, Operand::Transposed(_));
        match self.tangents.get(&var)? {
            Operand::Const(_) => None,
            Operand::Var(tangent) if transposed => Some(Operand::Transposed(*tangent)),
            Operand::Transposed(tangent) if transposed => Some(Operand::Var(*tangent)),
            tangent => Some(tangent.clone()),
        }
    }

    /// A zero tangent shaped like `operand`.
    fn zero_of(&mut self, operand: &Operand, out: &mut Vec<Stmt>) -> Operand {
        match operand {
            Operand::Var(var) if var.0 < self.primal_count && self.activity.is_scalar(*var) => zero(),
            Operand::Var(var) | Operand::Transposed(var) => {
                let value = self.render(operand);
                let var = *var;
                let expr = parse_quote!(::chainrule::rules::zero_like(&#value));
                self.push(
                    out,
                    "zero",
                    Op::Opaque {
                        expr,
                        reads: Vec::new(),
                        shapes: vec![var],
                        changes: Vec::new(),
                    },
                )
            }
            Operand::Const(_) => zero(),
        }
    }

    fn tangent_or_zero(&mut self, operand: &Operand, out: &mut Vec<Stmt>) -> Operand {
        match self.tangent(operand) {
            Some(tangent) => tangent,
            None => self.zero_of(operand, out),
        }
    }

    /// The operand as emitted code writes it, for opaque expressions.
    fn render(&self, operand: &Operand) -> TokenStream {
        operand.to_code(&self.vars)
    }

    // ----- building blocks --------------------------------------------------

    fn binary(&mut self, op: BinaryOp, lhs: Operand, rhs: Operand, out: &mut Vec<Stmt>) -> Operand {
        self.push(out, "t", Op::Binary(op, lhs, rhs))
    }

    fn mul(&mut self, lhs: Operand, rhs: Operand, out: &mut Vec<Stmt>) -> Operand {
        self.binary(BinaryOp::Mul, lhs, rhs, out)
    }

    fn div(&mut self, lhs: Operand, rhs: Operand, out: &mut Vec<Stmt>) -> Operand {
        self.binary(BinaryOp::Div, lhs, rhs, out)
    }

    fn add(&mut self, lhs: Operand, rhs: Operand, out: &mut Vec<Stmt>) -> Operand {
        self.binary(BinaryOp::Add, lhs, rhs, out)
    }

    fn sub(&mut self, lhs: Operand, rhs: Operand, out: &mut Vec<Stmt>) -> Operand {
        self.binary(BinaryOp::Sub, lhs, rhs, out)
    }

    fn neg(&mut self, operand: Operand, out: &mut Vec<Stmt>) -> Operand {
        self.push(out, "t", Op::Neg(operand))
    }

    fn method(&mut self, name: &str, receiver: Operand, args: Vec<Operand>, out: &mut Vec<Stmt>) -> Operand {
        let method = syn::Ident::new(name, Span::call_site());
        self.push(
            out,
            "t",
            Op::Method {
                method,
                receiver,
                args,
                path: None,
            },
        )
    }

    /// `t / d` or `f·t` (`name` "div" or "mul") for a tangent `t` whose
    /// divisor may be 0 or whose factor may be infinite: its adjoint adds
    /// nothing where the tangent's is 0 (see `rules::TANGENT_METHODS`).
    fn tangent_kernel(&mut self, name: &str, lhs: Operand, rhs: Operand, out: &mut Vec<Stmt>) -> Operand {
        let kernel = syn::Ident::new(&format!("tangent_{name}"), Span::call_site());
        self.push(
            out,
            "t",
            Op::Method {
                method: syn::Ident::new(&format!("chainrule_tangent_{name}"), Span::call_site()),
                receiver: lhs,
                args: vec![rhs],
                path: Some(parse_quote!(::chainrule::rules::#kernel)),
            },
        )
    }

    /// A call of `::chainrule::ops::name`, each variable passed by reference.
    fn ops_call(&mut self, name: &str, args: Vec<Operand>, out: &mut Vec<Stmt>) -> Operand {
        let ident = syn::Ident::new(name, Span::call_site());
        let elementwise = !matches!(name, "dot" | "sum");
        self.call_by_ref(parse_quote!(::chainrule::ops::#ident), name, args, elementwise, out)
    }

    /// A call of `func`, which has a split form `func_pullback` (named
    /// `name` in the generated variables), each variable passed by reference.
    fn call_by_ref(
        &mut self,
        func: syn::ExprPath,
        name: &str,
        args: Vec<Operand>,
        elementwise: bool,
        out: &mut Vec<Stmt>,
    ) -> Operand {
        let args = args
            .into_iter()
            .map(|operand| CallArg {
                by_ref: !matches!(operand, Operand::Const(_)),
                ..CallArg::plain(operand)
            })
            .collect();
        let call = self.call(func, args, name, elementwise);
        self.push(out, "t", call)
    }

    /// `n - 1` for the integer exponent of `powi`: integer arithmetic,
    /// written as it is (the runtime's `sub` takes only `f64`s and faer values).
    fn exponent_minus_one(&mut self, n: &Operand, out: &mut Vec<Stmt>) -> Operand {
        let rendered = self.render(n);
        self.opaque(parse_quote!(#rendered - 1), n.var().into_iter().collect(), out)
    }

    /// A value derived from primal values that carries no derivative of its
    /// own (the sign of `a`, a comparison).
    fn opaque(&mut self, expr: syn::Expr, reads: Vec<Var>, out: &mut Vec<Stmt>) -> Operand {
        self.push(
            out,
            "c",
            Op::Opaque {
                expr,
                reads,
                shapes: Vec::new(),
                changes: Vec::new(),
            },
        )
    }

    /// `lhs == rhs`, a condition.
    fn equals(&mut self, lhs: &Operand, rhs: &Operand, out: &mut Vec<Stmt>) -> Operand {
        let (left, right) = (self.render(lhs), self.render(rhs));
        let reads = lhs.var().into_iter().chain(rhs.var()).collect();
        self.opaque(parse_quote!(#left == #right), reads, out)
    }

    /// `if cond { then } else { otherwise }` over values computed before it.
    fn select(&mut self, cond: Operand, then: Operand, otherwise: Operand, out: &mut Vec<Stmt>) -> Operand {
        self.merge(cond, Vec::new(), then, otherwise, out)
    }

    /// `if cond { then } else { else_stmts; otherwise }`: an `if` whose
    /// `else` branch may compute its value.
    fn merge(
        &mut self,
        cond: Operand,
        else_stmts: Vec<Stmt>,
        then: Operand,
        otherwise: Operand,
        out: &mut Vec<Stmt>,
    ) -> Operand {
        let var = self.new_var("t");
        let record = self.new_var("branch");
        out.push(Stmt::If(IfStmt {
            cond,
            then_block: Block::default(),
            else_block: Block { stmts: else_stmts },
            outputs: vec![Phi {
                var,
                then_value: then,
                else_value: otherwise,
            }],
            record,
        }));
        Operand::Var(var)
    }

    /// 0 where the guard holds, else the value `build` computes, inside the
    /// `else` branch so that it is not evaluated (nor differentiated again,
    /// for `f_hvp`) where it is not finite: the conventions that `x⁰` has
    /// derivative 0 at 0, and `‖a‖`, `hypot` have 0 at the origin.
    fn zero_where(
        &mut self,
        guard: Operand,
        build: impl FnOnce(&mut Self, &mut Vec<Stmt>) -> Operand,
        out: &mut Vec<Stmt>,
    ) -> Operand {
        let mut else_stmts = Vec::new();
        let value = build(self, &mut else_stmts);
        self.merge(guard, else_stmts, zero(), value, out)
    }

    /// `if ṫ == 0 && singular { 0 } else { build }`, for the term `∂·ṫ` of a
    /// partial derivative `∂` that is infinite or undefined where `singular`
    /// holds although the function is finite there (√a at a = 0, ln a of aᵇ
    /// at a ≤ 0): a tangent that is exactly zero contributes zero there, not
    /// ∞·0 = NaN. Only there: elsewhere the term is `build`'s even where `ṫ`
    /// is 0, so that `f_hvp`, differentiating it again, gets `∂·∂ṫ/∂x`, which
    /// need not be 0 (√(1 + r²) at r = 0 has ṫ = 2r·ṙ = 0 but ∂ṫ/∂r = 2ṙ).
    fn unless_still(
        &mut self,
        tangent: &Operand,
        singular: Operand,
        build: impl FnOnce(&mut Self, &mut Vec<Stmt>) -> Operand,
        out: &mut Vec<Stmt>,
    ) -> Operand {
        let (still, singular_code) = (self.render(tangent), self.render(&singular));
        let reads = tangent.var().into_iter().chain(singular.var()).collect();
        let guard = self.opaque(parse_quote!(#still == 0.0 && #singular_code), reads, out);
        self.zero_where(guard, build, out)
    }

    /// A condition on the primal value `a`, written by `condition` from its code.
    fn primal_condition(
        &mut self,
        a: &Operand,
        condition: impl FnOnce(TokenStream) -> syn::Expr,
        out: &mut Vec<Stmt>,
    ) -> Operand {
        let code = self.render(a);
        self.opaque(condition(code), a.var().into_iter().collect(), out)
    }

    /// The sum of the terms that are present.
    fn sum(&mut self, terms: Vec<Operand>, out: &mut Vec<Stmt>) -> Option<Operand> {
        terms.into_iter().reduce(|sum, term| self.add(sum, term, out))
    }

    // ----- statements -------------------------------------------------------

    fn block(&mut self, block: &Block) -> Block {
        let mut out = Vec::new();
        for stmt in &block.stmts {
            self.stmt(stmt, &mut out);
        }
        Block { stmts: out }
    }

    fn stmt(&mut self, stmt: &Stmt, out: &mut Vec<Stmt>) {
        match stmt {
            Stmt::Let { var, op, origin } => {
                self.origin = *origin;
                if let Op::Call { func, args, .. } = op
                    && self.activity.op_is_active(op)
                    && !crate::lower::is_ops_function(func)
                {
                    self.call_of_differentiated(*var, func, args, out);
                    return;
                }
                out.push(Stmt::Let {
                    var: *var,
                    op: op.clone(),
                    origin: *origin,
                });
                if !self.activity.is_active(*var) {
                    return;
                }
                let known = self.vars.len();
                let tangent = match self.let_tangent(*var, op, out) {
                    Some(Operand::Var(alias)) if alias.0 < known && self.stored.contains(var) => {
                        // The buffer is written later: its tangent must be its own.
                        self.method("clone", Operand::Var(alias), Vec::new(), out)
                    }
                    Some(tangent) => tangent,
                    None => self.zero_of(&Operand::Var(*var), out),
                };
                self.tangents.insert(*var, tangent);
            }
            Stmt::Store {
                buffer,
                index,
                value,
                origin,
            } => {
                self.origin = *origin;
                out.push(Stmt::Store {
                    buffer: *buffer,
                    index: index.clone(),
                    value: value.clone(),
                    origin: *origin,
                });
                if !self.activity.is_active(*buffer) {
                    return;
                }
                let Some(Operand::Var(tangent_buffer)) = self.tangents.get(buffer).cloned() else {
                    self.cx.error_spanned_by(
                        origin,
                        "forward mode cannot follow this element write: the buffer has no tangent of its own",
                    );
                    return;
                };
                let tangent = self.tangent_or_zero(value, out);
                out.push(Stmt::Store {
                    buffer: tangent_buffer,
                    index: index.clone(),
                    value: tangent,
                    origin: *origin,
                });
            }
            Stmt::If(stmt) => self.if_stmt(stmt, out),
            Stmt::Loop(stmt) => self.loop_stmt(stmt, out),
        }
    }

    fn if_stmt(&mut self, stmt: &IfStmt, out: &mut Vec<Stmt>) {
        let mut then_block = self.block(&stmt.then_block);
        let mut else_block = self.block(&stmt.else_block);
        let mut outputs = Vec::new();
        for phi in &stmt.outputs {
            outputs.push(Phi {
                var: phi.var,
                then_value: phi.then_value.clone(),
                else_value: phi.else_value.clone(),
            });
            if !self.activity.is_active(phi.var) {
                continue;
            }
            let then_value = self.tangent_or_zero(&phi.then_value, &mut then_block.stmts);
            let else_value = self.tangent_or_zero(&phi.else_value, &mut else_block.stmts);
            let hint = self.tangent_name(phi.var);
            let var = self.new_var(&hint);
            self.tangents.insert(phi.var, Operand::Var(var));
            outputs.push(Phi {
                var,
                then_value,
                else_value,
            });
        }
        out.push(Stmt::If(IfStmt {
            cond: stmt.cond.clone(),
            then_block,
            else_block,
            outputs,
            record: stmt.record,
        }));
    }

    fn loop_stmt(&mut self, stmt: &LoopStmt, out: &mut Vec<Stmt>) {
        // Tangents of the carried values: their first values before the loop,
        // their heads known before the body is transformed.
        let mut tangent_heads = Vec::new();
        for carried in &stmt.carried {
            if !self.activity.is_active(carried.head) {
                continue;
            }
            let init = self.tangent_or_zero(&carried.init, out);
            let hint = self.tangent_name(carried.head);
            let head = self.new_var(&hint);
            self.tangents.insert(carried.head, Operand::Var(head));
            tangent_heads.push((carried, init, head));
        }
        let mut body = self.block(&stmt.body);
        let mut carried: Vec<Carried> = stmt
            .carried
            .iter()
            .map(|carried| Carried {
                init: carried.init.clone(),
                head: carried.head,
                next: carried.next.clone(),
                exit: carried.exit,
            })
            .collect();
        for (primal, init, head) in tangent_heads {
            let next = self.tangent_or_zero(&primal.next, &mut body.stmts);
            let hint = self.tangent_name(primal.exit);
            let exit = self.new_var(&hint);
            self.tangents.insert(primal.exit, Operand::Var(exit));
            carried.push(Carried { init, head, next, exit });
        }
        let tape = self.new_var("tape");
        let trips = self.new_var("trips");
        out.push(Stmt::Loop(LoopStmt {
            index: stmt.index,
            start: stmt.start.clone(),
            end: stmt.end.clone(),
            inclusive: stmt.inclusive,
            reverse: stmt.reverse,
            carried,
            exit_flag: stmt.exit_flag,
            body,
            tape,
            trips,
            origin: stmt.origin,
        }));
    }

    /// `y = g(args)` for another differentiated function `g`: one call of
    /// `g_pushforward` gives `y` and its tangent.
    fn call_of_differentiated(&mut self, var: Var, func: &syn::ExprPath, args: &[CallArg], out: &mut Vec<Stmt>) {
        if args.iter().any(|arg| arg.mutated.is_some() || arg.buffer) {
            self.cx.error_spanned_by(
                self.origin,
                "forward mode does not follow calls that write through `&mut` yet; return the value from the \
                 helper instead",
            );
            return;
        }
        if self.calls == CallTangents::Differentiable {
            self.differentiable_call(var, func, args, out);
            return;
        }
        let mut reads = Vec::new();
        let mut primal_args = Vec::new();
        let mut tangent_args = Vec::new();
        for arg in args {
            reads.extend(arg.operand.var());
            primal_args.push(self.render_arg(arg, &arg.operand, &arg.operand));
            match self.tangent(&arg.operand) {
                Some(tangent) => {
                    reads.extend(tangent.var());
                    let tangent = self.render_arg(arg, &tangent, &arg.operand);
                    tangent_args.push(quote!(::core::option::Option::Some(#tangent)));
                }
                None => tangent_args.push(quote!(::core::option::Option::None)),
            }
        }
        let pushforward = pushforward_path(func);
        let both = self.opaque(
            parse_quote!(#pushforward(#(#primal_args,)* #(#tangent_args),*)),
            reads,
            out,
        );
        let Some(both) = both.var() else {
            return;
        };
        let both_var = both;
        let both = self.ident(both).clone();
        out.push(Stmt::Let {
            var,
            op: Op::Opaque {
                expr: parse_quote!(#both.0),
                reads: vec![both_var],
                shapes: Vec::new(),
                changes: Vec::new(),
            },
            origin: self.origin,
        });
        let hint = self.tangent_name(var);
        let tangent = self.new_var(&hint);
        out.push(Stmt::Let {
            var: tangent,
            op: Op::Opaque {
                expr: parse_quote!(#both.1),
                reads: vec![both_var],
                shapes: Vec::new(),
                changes: Vec::new(),
            },
            origin: self.origin,
        });
        self.tangents.insert(var, Operand::Var(tangent));
    }

    /// `y = g(args)` with its tangent `ẏ = g_tangent(args, Some(ȧ) | None…)`,
    /// two calls the reverse transform differentiates like any other: `g`'s
    /// through `g_pullback`, `g_tangent`'s through `g_tangent_pullback`.
    fn differentiable_call(&mut self, var: Var, func: &syn::ExprPath, args: &[CallArg], out: &mut Vec<Stmt>) {
        let name = callee_name(func);
        let slots: Vec<CallArg> = args
            .iter()
            .map(|arg| match self.tangent(&arg.operand) {
                Some(tangent) => CallArg {
                    operand: tangent,
                    tangent_slot: true,
                    ..arg.clone()
                },
                None => CallArg::plain(Operand::Const(parse_quote!(::core::option::Option::None))),
            })
            .collect();
        let primal = self.call(func.clone(), args.to_vec(), &name, false);
        out.push(Stmt::Let {
            var,
            op: primal,
            origin: self.origin,
        });
        let tangent_args = args.iter().cloned().chain(slots).collect();
        let tangent_call = self.call(tangent_path(func), tangent_args, &format!("{name}_tangent"), false);
        let hint = self.tangent_name(var);
        let tangent = self.new_var(&hint);
        out.push(Stmt::Let {
            var: tangent,
            op: tangent_call,
            origin: self.origin,
        });
        self.tangents.insert(var, Operand::Var(tangent));
    }

    /// A call of `func` with `args`, its pullback and gradients named after
    /// `name`; `elementwise` for the element-wise functions of `ops`.
    fn call(&mut self, func: syn::ExprPath, args: Vec<CallArg>, name: &str, elementwise: bool) -> Op {
        let pullback = self.new_var(&format!("{name}_pb"));
        let gradients = args.iter().map(|_| self.names.fresh(&format!("{name}_grad"))).collect();
        Op::Call {
            func,
            args,
            pullback,
            elementwise,
            gradients,
            discarded: false,
        }
    }

    /// `operand` (the argument or its tangent) passed as the primal passes
    /// `primal`: by reference, as a view, or by value, which clones it
    /// unless it is an `f64`.
    fn render_arg(&self, arg: &CallArg, operand: &Operand, primal: &Operand) -> TokenStream {
        let tokens = self.render(operand);
        if arg.view {
            quote!(#tokens.as_ref())
        } else if arg.by_ref {
            quote!(&#tokens)
        } else {
            match primal.var() {
                Some(var) if !self.activity.is_copyable(var) => quote!(::chainrule::rules::keep(&#tokens)),
                _ => tokens,
            }
        }
    }

    // ----- the rules --------------------------------------------------------

    /// The tangent of `y = op`, or `None` if it is certainly zero.
    fn let_tangent(&mut self, var: Var, op: &Op, out: &mut Vec<Stmt>) -> Option<Operand> {
        let y = Operand::Var(var);
        match op {
            Op::Binary(op, a, b) => {
                let (ta, tb) = (self.tangent(a), self.tangent(b));
                match op {
                    // ẏ = ȧ + ḃ
                    BinaryOp::Add => match (ta, tb) {
                        (Some(ta), Some(tb)) => Some(self.add(ta, tb, out)),
                        (ta, tb) => ta.or(tb),
                    },
                    // ẏ = ȧ − ḃ
                    BinaryOp::Sub => match (ta, tb) {
                        (Some(ta), Some(tb)) => Some(self.sub(ta, tb, out)),
                        (Some(ta), None) => Some(ta),
                        (None, Some(tb)) => Some(self.neg(tb, out)),
                        (None, None) => None,
                    },
                    // ẏ = ȧ·b + a·ḃ (in this order: matrix products do not commute)
                    BinaryOp::Mul => {
                        let left = ta.map(|ta| self.mul(ta, b.clone(), out));
                        let right = tb.map(|tb| self.mul(a.clone(), tb, out));
                        self.sum(left.into_iter().chain(right).collect(), out)
                    }
                    // ẏ = (ȧ − ḃ·y) / b
                    BinaryOp::Div => {
                        let scaled = tb.map(|tb| self.mul(tb, y, out));
                        let numerator = match (ta, scaled) {
                            (Some(ta), Some(scaled)) => self.sub(ta, scaled, out),
                            (Some(ta), None) => ta,
                            (None, Some(scaled)) => self.neg(scaled, out),
                            (None, None) => return None,
                        };
                        Some(self.div(numerator, b.clone(), out))
                    }
                    BinaryOp::Rem => {
                        self.cx
                            .error_spanned_by(self.origin, "`%` has no derivative; it is allowed on constants only");
                        None
                    }
                }
            }
            // ẏ = −ȧ
            Op::Neg(a) => {
                let ta = self.tangent(a)?;
                Some(self.neg(ta, out))
            }
            // `a as f64` is the identity: ẏ = ȧ
            Op::Cast(a, _) => self.tangent(a),
            Op::Method {
                method, receiver, args, ..
            } => self.method_tangent(&method.to_string(), y, receiver, args, out),
            // y = a[i]: ẏ = ȧ[i]
            Op::Index { base, index } => {
                let base = self.tangent(base)?;
                Some(self.push(
                    out,
                    "t",
                    Op::Index {
                        base,
                        index: index.clone(),
                    },
                ))
            }
            // y = [a, b, …]: ẏ = [ȧ, ḃ, …]
            Op::Array { elements, vec } => {
                let elements = elements
                    .iter()
                    .map(|element| self.tangent_or_zero(element, out))
                    .collect();
                Some(self.push(out, "t", Op::Array { elements, vec: *vec }))
            }
            // y = [a; n]: ẏ = [ȧ; n]
            Op::Fill { value, len, vec } => {
                let value = self.tangent_or_zero(value, out);
                Some(self.push(
                    out,
                    "t",
                    Op::Fill {
                        value,
                        len: len.clone(),
                        vec: *vec,
                    },
                ))
            }
            Op::Call { func, args, .. } => {
                let name = func.path.segments.last().map(|segment| segment.ident.to_string());
                let operands: Vec<Operand> = args.iter().map(|arg| arg.operand.clone()).collect();
                // `Col::zeros(n)`: a buffer its element writes make active starts at zero.
                if operands.iter().all(|operand| self.tangent(operand).is_none()) {
                    return None;
                }
                self.ops_tangent(name.as_deref().unwrap_or(""), y, &operands, out)
            }
            Op::Opaque { .. } => None,
        }
    }

    /// Tangents of the methods of `f64` and of faer values.
    fn method_tangent(
        &mut self,
        name: &str,
        y: Operand,
        a: &Operand,
        args: &[Operand],
        out: &mut Vec<Stmt>,
    ) -> Option<Operand> {
        let ta = self.tangent(a);
        let targs: Vec<Option<Operand>> = args.iter().map(|arg| self.tangent(arg)).collect();
        let b = args.first().cloned();
        let tb = targs.first().cloned().flatten();
        let a = a.clone();
        let scale =
            |this: &mut Self, factor: Operand, out: &mut Vec<Stmt>| ta.clone().map(|ta| this.mul(factor, ta, out));
        let over =
            |this: &mut Self, divisor: Operand, out: &mut Vec<Stmt>| ta.clone().map(|ta| this.div(ta, divisor, out));
        match name {
            // ẏ = y·ȧ
            "exp" => scale(self, y, out),
            // ẏ = y·ln 2·ȧ
            "exp2" => {
                ta.as_ref()?;
                let factor = self.mul(y, constant("::core::f64::consts::LN_2"), out);
                scale(self, factor, out)
            }
            // ẏ = (y + 1)·ȧ
            "exp_m1" => {
                ta.as_ref()?;
                let factor = self.add(y, constant("1.0"), out);
                scale(self, factor, out)
            }
            // ẏ = ȧ / a
            "ln" => over(self, a, out),
            // ẏ = ȧ·180/π, ȧ·π/180: the same conversion of the tangent
            "to_degrees" | "to_radians" => {
                let ta = ta?;
                Some(self.method(name, ta, Vec::new(), out))
            }
            // ẏ = ȧ / (a ln 2), ȧ / (a ln 10)
            "log2" | "log10" => {
                ta.as_ref()?;
                let ln_base = if name == "log2" {
                    "::core::f64::consts::LN_2"
                } else {
                    "::core::f64::consts::LN_10"
                };
                let divisor = self.mul(a, constant(ln_base), out);
                over(self, divisor, out)
            }
            // ẏ = ȧ / (1 + a)
            "ln_1p" => {
                ta.as_ref()?;
                let divisor = self.add(a, constant("1.0"), out);
                over(self, divisor, out)
            }
            // y = ln a / ln b: ẏ = ȧ / (a ln b) − ḃ·y / (b ln b)
            "log" => {
                let b = b?;
                if ta.is_none() && tb.is_none() {
                    return None;
                }
                let ln_b = self.method("ln", b.clone(), Vec::new(), out);
                let value_term = match &ta {
                    Some(ta) => {
                        let divisor = self.mul(a, ln_b.clone(), out);
                        Some(self.div(ta.clone(), divisor, out))
                    }
                    None => None,
                };
                let base_term = match tb {
                    Some(tb) => {
                        let scaled = self.mul(tb, y, out);
                        let divisor = self.mul(b, ln_b, out);
                        let term = self.div(scaled, divisor, out);
                        Some(self.neg(term, out))
                    }
                    None => None,
                };
                self.sum(value_term.into_iter().chain(base_term).collect(), out)
            }
            // ẏ = ȧ / (2y), 0 where ȧ = 0 and y = 0
            "sqrt" => {
                let ta = ta?;
                let singular = self.equals(&y, &constant("0.0"), out);
                Some(self.unless_still(
                    &ta.clone(),
                    singular,
                    |this, out| {
                        let divisor = this.mul(constant("2.0"), y, out);
                        this.tangent_kernel("div", ta, divisor, out)
                    },
                    out,
                ))
            }
            // ẏ = ȧ / (3y²), 0 where ȧ = 0 and y = 0
            "cbrt" => {
                let ta = ta?;
                let singular = self.equals(&y, &constant("0.0"), out);
                Some(self.unless_still(
                    &ta.clone(),
                    singular,
                    |this, out| {
                        let square = this.mul(y.clone(), y, out);
                        let divisor = this.mul(constant("3.0"), square, out);
                        this.tangent_kernel("div", ta, divisor, out)
                    },
                    out,
                ))
            }
            // y = aⁿ: ẏ = n·aⁿ⁻¹·ȧ, and 0 for n = 0
            "powi" => {
                ta.as_ref()?;
                let n = b?;
                let factor = match int_literal(&n) {
                    Some(0) => return None,
                    Some(1) => return ta,
                    Some(n) => {
                        let power = self.method("powi", a, vec![constant(&(n - 1).to_string())], out);
                        self.mul(constant(&format!("{n}.0")), power, out)
                    }
                    None => {
                        let guard = self.equals(&n, &constant("0"), out);
                        self.zero_where(
                            guard,
                            |this, out| {
                                let lowered = this.exponent_minus_one(&n, out);
                                let power = this.method("powi", a, vec![lowered], out);
                                let n_float = this.push(out, "n", Op::Cast(n.clone(), parse_quote!(f64)));
                                this.mul(n_float, power, out)
                            },
                            out,
                        )
                    }
                };
                scale(self, factor, out)
            }
            // y = aᵇ: ẏ = b·aᵇ⁻¹·ȧ (0 at a = b = 0, where y ≡ 1 along a but
            // 0·0⁻¹ is NaN) + y·ln a·ḃ (0 where y = 0), each term 0 where its
            // tangent is and its factor is not finite (a = 0 with b < 1;
            // a ≤ 0). Only a = 0 is cut out of the first factor: at b = 0
            // elsewhere it is computed, so its derivative along b, aᵇ⁻¹(1 +
            // b·ln a), reaches second derivatives.
            "powf" => {
                let b = b?;
                let base_term = ta.as_ref().map(|ta| {
                    let (base, exponent) = (self.render(&a), self.render(&b));
                    let reads: Vec<Var> = a.var().into_iter().chain(b.var()).collect();
                    let singular = self.opaque(parse_quote!(#base == 0.0 && #exponent < 1.0), reads.clone(), out);
                    self.unless_still(
                        ta,
                        singular,
                        |this, out| {
                            let guard = this.opaque(parse_quote!(#base == 0.0 && #exponent == 0.0), reads, out);
                            let factor = this.zero_where(
                                guard,
                                |this, out| {
                                    let lowered = this.sub(b.clone(), constant("1.0"), out);
                                    let power = this.method("powf", a.clone(), vec![lowered], out);
                                    this.mul(b.clone(), power, out)
                                },
                                out,
                            );
                            this.tangent_kernel("mul", factor, ta.clone(), out)
                        },
                        out,
                    )
                });
                let exponent_term = tb.map(|tb| {
                    let singular = self.primal_condition(&a, |base| parse_quote!(!(#base > 0.0)), out);
                    self.unless_still(
                        &tb.clone(),
                        singular,
                        |this, out| {
                            let guard = this.equals(&y, &constant("0.0"), out);
                            let factor = this.zero_where(
                                guard,
                                |this, out| {
                                    let ln_a = this.method("ln", a, Vec::new(), out);
                                    this.tangent_kernel("mul", y.clone(), ln_a, out)
                                },
                                out,
                            );
                            this.tangent_kernel("mul", factor, tb, out)
                        },
                        out,
                    )
                });
                self.sum(base_term.into_iter().chain(exponent_term).collect(), out)
            }
            // y = 1/a: ẏ = −y²·ȧ
            "recip" => {
                ta.as_ref()?;
                let square = self.mul(y.clone(), y, out);
                let term = scale(self, square, out)?;
                Some(self.neg(term, out))
            }
            // y = |a|: ẏ = sign(a)·ȧ, with sign(0) = 0
            "abs" => {
                ta.as_ref()?;
                let value = self.render(&a);
                let sign = self.opaque(
                    parse_quote!(::chainrule::rules::sign(#value)),
                    a.var().into_iter().collect(),
                    out,
                );
                scale(self, sign, out)
            }
            // Piecewise constant: zero wherever the derivative exists.
            "signum" | "floor" | "ceil" | "round" | "trunc" => None,
            // y = a − trunc(a): ẏ = ȧ
            "fract" => ta,
            // ẏ = cos a·ȧ
            "sin" => {
                ta.as_ref()?;
                let cos = self.method("cos", a, Vec::new(), out);
                scale(self, cos, out)
            }
            // ẏ = −sin a·ȧ
            "cos" => {
                ta.as_ref()?;
                let sin = self.method("sin", a, Vec::new(), out);
                let term = scale(self, sin, out)?;
                Some(self.neg(term, out))
            }
            // ẏ = (1 + y²)·ȧ
            "tan" => {
                ta.as_ref()?;
                let square = self.mul(y.clone(), y, out);
                let factor = self.add(constant("1.0"), square, out);
                scale(self, factor, out)
            }
            // ẏ = ±ȧ / √(1 − a²), 0 where ȧ = 0 and |a| = 1
            "asin" | "acos" => {
                let ta = ta?;
                let singular = self.primal_condition(&a, |a| parse_quote!(f64::abs(#a) >= 1.0), out);
                Some(self.unless_still(
                    &ta.clone(),
                    singular,
                    |this, out| {
                        let square = this.mul(a.clone(), a, out);
                        let difference = this.sub(constant("1.0"), square, out);
                        let root = this.method("sqrt", difference, Vec::new(), out);
                        let term = this.tangent_kernel("div", ta, root, out);
                        if name == "acos" { this.neg(term, out) } else { term }
                    },
                    out,
                ))
            }
            // ẏ = ȧ / (1 + a²)
            "atan" => {
                ta.as_ref()?;
                let square = self.mul(a.clone(), a, out);
                let divisor = self.add(constant("1.0"), square, out);
                over(self, divisor, out)
            }
            // y = atan2(a, b): ẏ = (b·ȧ − a·ḃ) / (a² + b²)
            "atan2" => {
                let b = b?;
                let left = ta.clone().map(|ta| self.mul(b.clone(), ta, out));
                let right = tb.map(|tb| self.mul(a.clone(), tb, out));
                let numerator = match (left, right) {
                    (Some(left), Some(right)) => self.sub(left, right, out),
                    (Some(left), None) => left,
                    (None, Some(right)) => self.neg(right, out),
                    (None, None) => return None,
                };
                let a_square = self.mul(a.clone(), a, out);
                let b_square = self.mul(b.clone(), b, out);
                let divisor = self.add(a_square, b_square, out);
                Some(self.div(numerator, divisor, out))
            }
            // ẏ = cosh a·ȧ, sinh a·ȧ
            "sinh" | "cosh" => {
                ta.as_ref()?;
                let derivative = self.method(if name == "sinh" { "cosh" } else { "sinh" }, a, Vec::new(), out);
                scale(self, derivative, out)
            }
            // ẏ = (1 − y²)·ȧ
            "tanh" => {
                ta.as_ref()?;
                let square = self.mul(y.clone(), y, out);
                let factor = self.sub(constant("1.0"), square, out);
                scale(self, factor, out)
            }
            // ẏ = ȧ / √(a² + 1)
            "asinh" => {
                ta.as_ref()?;
                let square = self.mul(a.clone(), a, out);
                let shifted = self.add(square, constant("1.0"), out);
                let root = self.method("sqrt", shifted, Vec::new(), out);
                over(self, root, out)
            }
            // ẏ = ȧ / √(a² − 1), 0 where ȧ = 0 and a = 1
            "acosh" => {
                let ta = ta?;
                let singular = self.primal_condition(&a, |a| parse_quote!(#a <= 1.0), out);
                Some(self.unless_still(
                    &ta.clone(),
                    singular,
                    |this, out| {
                        let square = this.mul(a.clone(), a, out);
                        let shifted = this.sub(square, constant("1.0"), out);
                        let root = this.method("sqrt", shifted, Vec::new(), out);
                        this.tangent_kernel("div", ta, root, out)
                    },
                    out,
                ))
            }
            // ẏ = ȧ / (1 − a²)
            "atanh" => {
                ta.as_ref()?;
                let square = self.mul(a.clone(), a, out);
                let divisor = self.sub(constant("1.0"), square, out);
                over(self, divisor, out)
            }
            // y = √(a² + b²): ẏ = (a·ȧ + b·ḃ) / y, 0 where y = 0
            "hypot" => {
                let b = b?;
                let guard = self.equals(&y, &constant("0.0"), out);
                let (ta, tb) = (ta.clone(), tb.clone());
                if ta.is_none() && tb.is_none() {
                    return None;
                }
                Some(self.zero_where(
                    guard,
                    |this, out| {
                        let left = ta.map(|ta| this.mul(a.clone(), ta, out));
                        let right = tb.map(|tb| this.mul(b, tb, out));
                        let numerator = this
                            .sum(left.into_iter().chain(right).collect(), out)
                            .unwrap_or_else(zero);
                        this.div(numerator, y.clone(), out)
                    },
                    out,
                ))
            }
            // y = max(a, b) or min(a, b): the tangent of the operand equal to y, `a` on ties
            "max" | "min" => {
                let b = b?;
                if ta.is_none() && tb.is_none() {
                    return None;
                }
                let ta = self.tangent_or_zero(&a, out);
                let tb = self.tangent_or_zero(&b, out);
                let guard = self.equals(&y, &a, out);
                Some(self.select(guard, ta, tb, out))
            }
            // y = a·b + c: ẏ = ȧ·b + a·ḃ + ċ
            "mul_add" => {
                let (b, c) = (b?, args.get(1)?.clone());
                let left = ta.map(|ta| self.mul(ta, b, out));
                let right = tb.map(|tb| self.mul(a, tb, out));
                let last = self.tangent(&c);
                self.sum(left.into_iter().chain(right).chain(last).collect(), out)
            }
            // y = clamp(a, lo, hi): the tangent of whichever equals y, `a` first
            "clamp" => {
                let (low, high) = (b?, args.get(1)?.clone());
                if ta.is_none() && targs.iter().all(Option::is_none) {
                    return None;
                }
                let ta = self.tangent_or_zero(&a, out);
                let t_low = self.tangent_or_zero(&low, out);
                let t_high = self.tangent_or_zero(&high, out);
                let is_value = self.equals(&y, &a, out);
                let is_low = self.equals(&y, &low, out);
                let bound = self.select(is_low, t_low, t_high, out);
                Some(self.select(is_value, ta, bound, out))
            }
            // y = Σ aᵢⱼ: ẏ = Σ ȧᵢⱼ
            "sum" => {
                let ta = ta?;
                Some(self.method("sum", ta, Vec::new(), out))
            }
            // y = ‖a‖²: ẏ = 2⟨a, ȧ⟩
            "squared_norm_l2" => {
                let ta = ta?;
                let inner = self.ops_call("dot", vec![a, ta], out);
                Some(self.mul(constant("2.0"), inner, out))
            }
            // y = ‖a‖: ẏ = ⟨a, ȧ⟩ / y, 0 where y = 0
            "norm_l2" => {
                let ta = ta?;
                let guard = self.equals(&y, &constant("0.0"), out);
                Some(self.zero_where(
                    guard,
                    |this, out| {
                        let inner = this.ops_call("dot", vec![a, ta], out);
                        this.div(inner, y.clone(), out)
                    },
                    out,
                ))
            }
            // y = a.row(i), a.col(j): ẏ is the same part of ȧ
            "row" | "col" => {
                let ta = ta?;
                Some(self.method(name, ta, args.to_vec(), out))
            }
            // A copy or a view of a: ẏ is the same of ȧ
            "to_owned" | "clone" | "to_vec" | "as_ref" => {
                let ta = ta?;
                Some(self.method(name, ta, Vec::new(), out))
            }
            _ => {
                if ta.is_some() || targs.iter().any(Option::is_some) {
                    self.cx.error_spanned_by(
                        self.origin,
                        format!("forward mode has no rule for `.{name}()` on a differentiated value"),
                    );
                }
                None
            }
        }
    }

    /// Tangents of the functions of `chainrule::ops`.
    fn ops_tangent(&mut self, name: &str, y: Operand, args: &[Operand], out: &mut Vec<Stmt>) -> Option<Operand> {
        let a = args.first()?.clone();
        let ta = self.tangent(&a);
        let b = args.get(1).cloned();
        let tb = b.as_ref().and_then(|b| self.tangent(b));
        match name {
            // y = a ⊙ b: ẏ = ȧ ⊙ b + a ⊙ ḃ
            "hadamard" => {
                let b = b?;
                let left = ta.map(|ta| self.ops_call("hadamard", vec![ta, b], out));
                let right = tb.map(|tb| self.ops_call("hadamard", vec![a, tb], out));
                self.sum(left.into_iter().chain(right).collect(), out)
            }
            // y = a + s·1: ẏ = ȧ + ṡ·1
            "add_scalar" => match (ta, tb) {
                (Some(ta), Some(tb)) => Some(self.ops_call("add_scalar", vec![ta, tb], out)),
                (Some(ta), None) => Some(ta),
                (None, Some(tb)) => {
                    let zero = self.zero_of(&a, out);
                    Some(self.ops_call("add_scalar", vec![zero, tb], out))
                }
                (None, None) => None,
            },
            // ẏ = y ⊙ ȧ
            "exp" => {
                let ta = ta?;
                Some(self.ops_call("hadamard", vec![ta, y], out))
            }
            // ẏ = ȧ ⊙ a⁻¹
            "ln" => {
                let ta = ta?;
                let inverse = self.ops_call("powi", vec![a, constant("-1")], out);
                Some(self.ops_call("hadamard", vec![ta, inverse], out))
            }
            // ẏ = ȧ ⊘ 2y, 0 where ȧ = 0 and y = 0 (`rules::tangent_quotient`,
            // whose pullback adds nothing where the tangent is unused)
            "sqrt" => {
                let ta = ta?;
                let divisor = self.mul(constant("2.0"), y, out);
                let func = parse_quote!(::chainrule::rules::tangent_quotient);
                Some(self.call_by_ref(func, "tangent_quotient", vec![ta, divisor], true, out))
            }
            // ẏ = ȧ − ȧ ⊙ y ⊙ y
            "tanh" => {
                let ta = ta?;
                let square = self.ops_call("hadamard", vec![y.clone(), y], out);
                let product = self.ops_call("hadamard", vec![ta.clone(), square], out);
                Some(self.sub(ta, product, out))
            }
            // ẏ = ȧ ⊙ (y − y ⊙ y)
            "sigmoid" => {
                let ta = ta?;
                let square = self.ops_call("hadamard", vec![y.clone(), y.clone()], out);
                let slope = self.sub(y, square, out);
                Some(self.ops_call("hadamard", vec![ta, slope], out))
            }
            // ẏ = ȧ ⊙ [a > 0], with relu'(0) = 0
            "relu" => {
                let ta = ta?;
                let value = self.render(&a);
                let step = self.opaque(
                    parse_quote!(::chainrule::rules::relu_slope(&#value)),
                    a.var().into_iter().collect(),
                    out,
                );
                Some(self.ops_call("hadamard", vec![ta, step], out))
            }
            // y = aⁿ: ẏ = n·aⁿ⁻¹ ⊙ ȧ, and 0 for n = 0
            "powi" => {
                let ta = ta?;
                let n = b?;
                match int_literal(&n) {
                    Some(0) => None,
                    Some(1) => Some(ta),
                    Some(n) => {
                        let power = self.ops_call("powi", vec![a, constant(&(n - 1).to_string())], out);
                        let product = self.ops_call("hadamard", vec![ta, power], out);
                        Some(self.mul(constant(&format!("{n}.0")), product, out))
                    }
                    None => {
                        let lowered = self.exponent_minus_one(&n, out);
                        let power = self.ops_call("powi", vec![a, lowered], out);
                        let product = self.ops_call("hadamard", vec![ta, power], out);
                        let n_float = self.push(out, "n", Op::Cast(n.clone(), parse_quote!(f64)));
                        let term = self.mul(n_float, product, out);
                        let zero = self.zero_of(&term, out);
                        let guard = self.equals(&n, &constant("0"), out);
                        Some(self.select(guard, zero, term, out))
                    }
                }
            }
            // y = ⟨a, b⟩: ẏ = ⟨ȧ, b⟩ + ⟨a, ḃ⟩
            "dot" => {
                let b = b?;
                let left = ta.map(|ta| self.ops_call("dot", vec![ta, b], out));
                let right = tb.map(|tb| self.ops_call("dot", vec![a, tb], out));
                self.sum(left.into_iter().chain(right).collect(), out)
            }
            // y = Σ aᵢ: ẏ = Σ ȧᵢ
            "sum" => {
                let ta = ta?;
                Some(self.ops_call("sum", vec![ta], out))
            }
            _ => {
                self.cx
                    .error_spanned_by(self.origin, format!("forward mode has no rule for `{name}`"));
                None
            }
        }
    }
}

/// The tangent of a constant: the `f64` zero.
fn zero() -> Operand {
    constant("0.0")
}

fn constant(text: &str) -> Operand {
    Operand::Const(syn::parse_str(text).expect("a literal or a path"))
}

/// The value of an integer literal operand (`3`, `-2`, `3_i32`).
fn int_literal(operand: &Operand) -> Option<i64> {
    match operand {
        Operand::Const(syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Int(int),
            ..
        })) => int.base10_parse().ok(),
        Operand::Const(syn::Expr::Unary(syn::ExprUnary {
            op: syn::UnOp::Neg(_),
            expr,
            ..
        })) => int_literal(&Operand::Const((**expr).clone())).map(|value: i64| -value),
        Operand::Const(syn::Expr::Paren(paren)) => int_literal(&Operand::Const((*paren.expr).clone())),
        _ => None,
    }
}
