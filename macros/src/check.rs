//! Activity analysis and the checks that need it.
//!
//! A variable is *active* when its value depends on a differentiated
//! parameter: only active variables get an adjoint, and only operations with an
//! active operand need a derivative rule. Activity flows forward from the
//! `wrt` parameters through every operation that has a rule, through calls,
//! through the `Phi`s of `if`s and through loop-carried variables. The
//! analysis is iterated to a fixed point, which a body without loops reaches
//! in one pass.
//!
//! An operation the rule table does not know is fine on constants (`n.pow(2)`
//! on an integer, `c.floor()` on a constant) and an error on an active value,
//! reported at the expression with the list of what is supported.
//!
//! The same pass learns which variables are certainly `Copy` (scalars from
//! `f64` arithmetic and methods, element reads, reductions; references and
//! views among the parameters), so that the emitter can pass and return them
//! as they are and clone only values that could otherwise be moved.

use std::collections::HashSet;

use crate::attr::Options;
use crate::ctxt::Ctxt;
use crate::ir::{BinaryOp, Block, Function, Op, Operand, Origin, ParamKind, Shape, Stmt, Var, signed_literal};
use crate::rules;

/// Which variables carry a derivative, and which are certainly `Copy`.
pub struct Activity {
    active: Vec<bool>,
    /// Depends on a differentiated parameter in any way, even through a
    /// comparison or a cast to an integer.
    tainted: Vec<bool>,
    scalar: Vec<bool>,
    /// A `Copy` value whose arithmetic gives `Copy` values again: an `f64`,
    /// an integer, a `bool`.
    primitive: Vec<bool>,
    /// A parameter passed by reference or as a view: `Copy`, but arithmetic
    /// on it gives owned values.
    borrowed: Vec<bool>,
    /// Certainly an owned vector or matrix (a product, an element-wise
    /// function's result, a buffer), which a call can borrow.
    owned_array: Vec<bool>,
    /// Certainly a number, `f64` or integer: a type with no lifetime (unlike
    /// `scalar`, which also holds for variables nothing defines, such as the
    /// records of branches). See `find_numbers`.
    number: Vec<bool>,
    /// The shape of a parameter that is a vector or matrix (`&Col<f64>`,
    /// `&[f64]`, `Mat<f64>`, …): certainly not a number, unlike some
    /// `owned_array`s (`w.transpose() * x`, whose shape this pass does not
    /// follow).
    array_param: Vec<Option<Shape>>,
}

impl Activity {
    pub fn is_active(&self, var: Var) -> bool {
        self.active[var.0]
    }

    /// Whether the variable is certainly an `f64`.
    pub fn is_scalar(&self, var: Var) -> bool {
        self.scalar[var.0]
    }

    /// Whether the variable is certainly a number, `f64` or integer: a type
    /// with no lifetime.
    pub fn is_number(&self, var: Var) -> bool {
        self.number[var.0]
    }

    /// Whether the operand is a vector or matrix, owned or borrowed.
    fn operand_is_array(&self, operand: &Operand) -> bool {
        match operand {
            Operand::Var(var) => self.owned_array[var.0] || self.borrowed[var.0],
            Operand::Transposed(_) => true,
            Operand::Const(_) => false,
        }
    }

    /// Whether the operand is a vector or matrix parameter, or its
    /// transpose.
    fn operand_is_array_param(&self, operand: &Operand) -> bool {
        self.array_param_shape(operand).is_some()
    }

    /// The shape of a vector or matrix parameter, or of its transpose.
    fn array_param_shape(&self, operand: &Operand) -> Option<Shape> {
        match operand {
            Operand::Var(var) => self.array_param[var.0],
            Operand::Transposed(var) => self.array_param[var.0].map(|shape| match shape {
                Shape::Column => Shape::Row,
                Shape::Row => Shape::Column,
                other => other,
            }),
            Operand::Const(_) => None,
        }
    }

    /// Whether passing the variable by value copies it.
    pub fn is_copyable(&self, var: Var) -> bool {
        self.primitive[var.0] || self.scalar[var.0] || self.borrowed[var.0]
    }

    fn operand_is_scalar(&self, operand: &Operand) -> bool {
        match operand {
            Operand::Var(var) => self.scalar[var.0],
            Operand::Transposed(_) => false,
            Operand::Const(_) => true,
        }
    }

    /// What is known from the signature alone: the parameters' activity and
    /// shapes.
    pub fn of_params(function: &Function) -> Self {
        let count = function.vars.len();
        let mut activity = Activity {
            active: vec![false; count],
            tainted: vec![false; count],
            scalar: vec![false; count],
            primitive: vec![false; count],
            borrowed: vec![false; count],
            owned_array: vec![false; count],
            number: vec![false; count],
            array_param: vec![None; count],
        };
        for param in &function.params {
            activity.active[param.var.0] = param.wrt;
            activity.set_param_facts(param);
        }
        activity
    }

    fn set_param_facts(&mut self, param: &crate::ir::Param) {
        let slot = param.var.0;
        self.scalar[slot] = param.kind.shape() == Some(Shape::Scalar);
        let copyable = param.kind.is_copyable();
        self.primitive[slot] = copyable && !param.kind.is_differentiable() || self.scalar[slot];
        self.borrowed[slot] = copyable && !self.primitive[slot];
        self.owned_array[slot] = !copyable && param.kind.is_differentiable();
        self.array_param[slot] = match param.kind {
            ParamKind::Array { shape, .. } => Some(shape),
            ParamKind::SliceInOut => Some(Shape::Slice),
            _ => None,
        };
    }

    /// Whether a derivative flows through the operation: one of its operands
    /// is active and has a rule. (A buffer can be active while the `let`
    /// that allocated it is not: its element writes make it active.)
    pub fn op_is_active(&self, op: &Op) -> bool {
        op_is_active(self, op)
    }

    pub fn operand_is_active(&self, operand: &Operand) -> bool {
        operand.var().is_some_and(|var| self.is_active(var))
    }

    fn operand_is_primitive(&self, operand: &Operand) -> bool {
        match operand {
            Operand::Var(var) => self.primitive[var.0] || self.scalar[var.0],
            Operand::Transposed(_) => false,
            Operand::Const(_) => true,
        }
    }

    fn operand_is_tainted(&self, operand: &Operand) -> bool {
        operand.var().is_some_and(|var| self.tainted[var.0])
    }
}

/// How a variable gets its value, for the fixed-point analyses.
enum Definition<'a> {
    Let(Var, &'a Op),
    /// A merge of values: the outputs of an `if`, the head of a loop-carried
    /// variable (its value before the loop or at the end of the body).
    Merge(Var, [&'a Operand; 2]),
    /// The value of a loop-carried variable after the loop: its head's.
    Exit(Var, Var),
    /// A loop counter.
    Counter(Var),
    /// An element write, which makes the buffer depend on the value.
    Store(Var, &'a Operand),
    /// An `f64` a call changed through `&mut`.
    Written(Var, &'a Op),
    /// A buffer a call wrote into through `&mut`.
    Filled(Var, &'a Op),
}

fn definitions<'a>(block: &'a Block, out: &mut Vec<Definition<'a>>) {
    for stmt in &block.stmts {
        match stmt {
            Stmt::Let { var, op, .. } => {
                out.push(Definition::Let(*var, op));
                if let Op::Call { args, .. } = op {
                    // A value passed by `&mut` comes back depending on every argument.
                    for mutated in args.iter().filter_map(|arg| arg.mutated) {
                        out.push(Definition::Written(mutated, op));
                    }
                    for buffer in args.iter().filter(|arg| arg.buffer).filter_map(|arg| arg.operand.var()) {
                        out.push(Definition::Filled(buffer, op));
                    }
                }
            }
            Stmt::If(stmt) => {
                definitions(&stmt.then_block, out);
                definitions(&stmt.else_block, out);
                for phi in &stmt.outputs {
                    out.push(Definition::Merge(phi.var, [&phi.then_value, &phi.else_value]));
                }
            }
            Stmt::Loop(stmt) => {
                out.push(Definition::Counter(stmt.index));
                for carried in &stmt.carried {
                    out.push(Definition::Merge(carried.head, [&carried.init, &carried.next]));
                }
                definitions(&stmt.body, out);
                for carried in &stmt.carried {
                    out.push(Definition::Exit(carried.exit, carried.head));
                }
            }
            Stmt::Store { buffer, value, .. } => out.push(Definition::Store(*buffer, value)),
        }
    }
}

pub fn analyse(cx: &mut Ctxt, function: &Function) -> Activity {
    let count = function.vars.len();
    let mut activity = Activity {
        active: vec![false; count],
        tainted: vec![false; count],
        scalar: vec![true; count],
        primitive: vec![true; count],
        borrowed: vec![false; count],
        owned_array: vec![false; count],
        number: vec![false; count],
        array_param: vec![None; count],
    };
    for param in &function.params {
        activity.active[param.var.0] = param.wrt;
        activity.tainted[param.var.0] = param.wrt;
        activity.set_param_facts(param);
    }
    let mut defs = Vec::new();
    definitions(&function.body, &mut defs);
    // Activity grows from the parameters; being a scalar or `Copy` shrinks
    // from "everything is", so that a loop-carried sum of scalars stays one.
    let mut changed = true;
    while changed {
        changed = false;
        for def in &defs {
            if let Definition::Let(var, op) = def
                && !activity.owned_array[var.0]
                && op_gives_owned_array(&activity, op)
            {
                activity.owned_array[var.0] = true;
                changed = true;
            }
            let primitive = match def {
                Definition::Let(_, op) => op_gives_primitive(&activity, op),
                Definition::Merge(_, operands) => operands.iter().all(|operand| activity.operand_is_primitive(operand)),
                Definition::Exit(_, head) => activity.primitive[head.0],
                Definition::Counter(_) | Definition::Written(..) => true,
                Definition::Store(..) | Definition::Filled(..) => false,
            };
            let (var, active, tainted, scalar) = match def {
                Definition::Let(var, op) => {
                    let active = op_is_active(&activity, op);
                    let tainted = active
                        || match op {
                            Op::Opaque { reads, .. } => reads.iter().any(|read| activity.tainted[read.0]),
                            op => op
                                .operands()
                                .into_iter()
                                .any(|operand| activity.operand_is_tainted(operand)),
                        };
                    (*var, active, tainted, op_gives_scalar(&activity, op))
                }
                Definition::Merge(var, operands) => (
                    *var,
                    operands.iter().any(|operand| activity.operand_is_active(operand)),
                    operands.iter().any(|operand| activity.operand_is_tainted(operand)),
                    operands.iter().all(|operand| activity.operand_is_scalar(operand)),
                ),
                Definition::Exit(var, head) => (
                    *var,
                    activity.active[head.0],
                    activity.tainted[head.0],
                    activity.scalar[head.0],
                ),
                Definition::Counter(var) => (*var, false, false, false),
                Definition::Written(var, op) => (
                    *var,
                    op_is_active(&activity, op),
                    op.operands()
                        .into_iter()
                        .any(|operand| activity.operand_is_tainted(operand)),
                    true,
                ),
                Definition::Filled(buffer, op) => (
                    *buffer,
                    op_is_active(&activity, op),
                    op.operands()
                        .into_iter()
                        .any(|operand| activity.operand_is_tainted(operand)),
                    false,
                ),
                Definition::Store(buffer, value) => (
                    *buffer,
                    activity.operand_is_active(value),
                    activity.operand_is_tainted(value),
                    false,
                ),
            };
            let slot = var.0;
            if active && !activity.active[slot] {
                activity.active[slot] = true;
                changed = true;
            }
            if tainted && !activity.tainted[slot] {
                activity.tainted[slot] = true;
                changed = true;
            }
            if !scalar && activity.scalar[slot] {
                activity.scalar[slot] = false;
                changed = true;
            }
            if !primitive && activity.primitive[slot] {
                activity.primitive[slot] = false;
                changed = true;
            }
        }
    }
    find_numbers(&mut activity, function, &defs);
    report_block(cx, &activity, function, &function.body, &mut HashSet::new());
    let mut order = WriteOrder::default();
    order.block(cx, &function.body);
    activity
}

/// Marks the variables that are certainly numbers, types with no lifetime:
/// `f64` and integer parameters, loop counters, casts, elements of vectors
/// of `f64`s (parameters, buffers, anything differentiated), and arithmetic
/// and merges of numbers. Shrinks from "every defined variable is", so that
/// a loop-carried counter stays one; a variable nothing defines (a branch
/// record) is not.
fn find_numbers(activity: &mut Activity, function: &Function, defs: &[Definition<'_>]) {
    for param in &function.params {
        activity.number[param.var.0] = activity.primitive[param.var.0];
    }
    for def in defs {
        match def {
            Definition::Let(var, _)
            | Definition::Merge(var, _)
            | Definition::Exit(var, _)
            | Definition::Counter(var) => activity.number[var.0] = true,
            Definition::Store(..) | Definition::Written(..) | Definition::Filled(..) => {}
        }
    }
    let is_float_buffer = |activity: &Activity, base: &Operand| match base {
        Operand::Var(base) => {
            activity.owned_array[base.0]
                || activity.active[base.0]
                || function
                    .params
                    .iter()
                    .any(|param| param.var == *base && param.kind.is_differentiable())
        }
        Operand::Transposed(_) | Operand::Const(_) => false,
    };
    let is_number = |activity: &Activity, operand: &Operand| match operand {
        Operand::Var(var) => activity.number[var.0],
        Operand::Const(_) => true,
        Operand::Transposed(_) => false,
    };
    let mut changed = true;
    while changed {
        changed = false;
        for def in defs {
            let (var, number) = match def {
                Definition::Let(var, op) => (
                    *var,
                    match op {
                        Op::Index { base, .. } => activity.scalar[var.0] && is_float_buffer(activity, base),
                        Op::Cast(..) => true,
                        Op::Binary(..) | Op::Neg(_) | Op::Method { .. } => {
                            activity.primitive[var.0]
                                && op.operands().into_iter().all(|operand| is_number(activity, operand))
                        }
                        Op::Opaque { expr, reads, .. } => {
                            is_arithmetic(expr) && reads.iter().all(|read| activity.number[read.0])
                        }
                        Op::Call { .. } | Op::Array { .. } | Op::Fill { .. } => false,
                    },
                ),
                Definition::Merge(var, operands) => (*var, operands.iter().all(|operand| is_number(activity, operand))),
                Definition::Exit(var, head) => (*var, activity.number[head.0]),
                Definition::Counter(var) => (*var, true),
                Definition::Store(..) | Definition::Written(..) | Definition::Filled(..) => continue,
            };
            if !number && activity.number[var.0] {
                activity.number[var.0] = false;
                changed = true;
            }
        }
    }
}

/// Whether `expr` is arithmetic on numbers, whatever the variables it reads
/// hold: literals, variables, operators, casts, and lengths (`v.len()`,
/// `m.nrows()`, `m.ncols()`), as in the integer expressions of indices and
/// counters (`i + 1`, `ik * d + id`).
fn is_arithmetic(expr: &syn::Expr) -> bool {
    match expr {
        syn::Expr::Lit(_) | syn::Expr::Cast(_) => true,
        syn::Expr::Path(path) => path.qself.is_none() && path.path.get_ident().is_some(),
        syn::Expr::Paren(paren) => is_arithmetic(&paren.expr),
        syn::Expr::Group(group) => is_arithmetic(&group.expr),
        syn::Expr::Unary(unary) => !matches!(unary.op, syn::UnOp::Deref(_)) && is_arithmetic(&unary.expr),
        syn::Expr::Binary(binary) => is_arithmetic(&binary.left) && is_arithmetic(&binary.right),
        syn::Expr::MethodCall(call) => {
            call.args.is_empty() && rules::LENGTH_QUERIES.iter().any(|length| call.method == length)
        }
        _ => false,
    }
}

/// The variables `let` defines in `block`, nested blocks included.
fn lets_in(block: &Block, out: &mut Vec<Var>) {
    for stmt in &block.stmts {
        match stmt {
            Stmt::Let { var, .. } => out.push(*var),
            Stmt::If(stmt) => {
                lets_in(&stmt.then_block, out);
                lets_in(&stmt.else_block, out);
            }
            Stmt::Loop(stmt) => lets_in(&stmt.body, out),
            Stmt::Store { .. } => {}
        }
    }
}

/// Checks that a buffer is not written after its whole value was used: the
/// adjoint of such a use would read the buffer as it is at the end, not as it
/// was when used. Element reads are fine: each keeps the value it read.
#[derive(Default)]
struct WriteOrder {
    used_whole: std::collections::HashSet<Var>,
}

impl WriteOrder {
    fn block(&mut self, cx: &mut Ctxt, block: &Block) {
        for stmt in &block.stmts {
            match stmt {
                Stmt::Let { op, .. } => {
                    let operands = match op {
                        Op::Index { index, .. } => vec![index],
                        // A copy's adjoint flows back unchanged: it reads no value.
                        Op::Method { method, args, .. } if method == "clone" && args.is_empty() => Vec::new(),
                        // A buffer lent by `&mut` is written in place; the
                        // callee's pullback keeps what it needs of it.
                        Op::Call { args, .. } => {
                            args.iter().filter(|arg| !arg.buffer).map(|arg| &arg.operand).collect()
                        }
                        op => op.operands(),
                    };
                    self.used_whole.extend(operands.into_iter().filter_map(Operand::var));
                }
                Stmt::If(stmt) => {
                    // Each arm starts from what was used before the branch:
                    // a use in one arm does not precede a write in the other.
                    let before = self.used_whole.clone();
                    self.block(cx, &stmt.then_block);
                    let after_then = std::mem::replace(&mut self.used_whole, before);
                    self.block(cx, &stmt.else_block);
                    // A branch's merged value only moves a buffer, or copies
                    // it when the adjoint reads it: it reads no values.
                    self.used_whole.extend(after_then);
                }
                Stmt::Loop(stmt) => {
                    // Twice: a use in one iteration precedes the writes of the
                    // next, except to buffers the body creates afresh each time.
                    self.block(cx, &stmt.body);
                    let mut fresh = Vec::new();
                    lets_in(&stmt.body, &mut fresh);
                    for var in fresh {
                        self.used_whole.remove(&var);
                    }
                    self.block(cx, &stmt.body);
                }
                Stmt::Store { buffer, origin, .. } => {
                    if self.used_whole.contains(buffer) {
                        cx.error_spanned_by(
                            origin,
                            "this element write changes a buffer after its whole value was used; chainrule keeps \
                             no copies of buffers, so write into a new buffer instead",
                        );
                        self.used_whole.remove(buffer);
                    }
                }
            }
        }
    }
}

/// Whether an operation's result depends on an active operand through a rule.
fn op_is_active(activity: &Activity, op: &Op) -> bool {
    let through_rule = |rule: Option<&rules::Rule>| {
        let operands = op.operands();
        rule.is_some_and(|rule| {
            rule.pullbacks.iter().any(|pullback| {
                operands
                    .get(pullback.operand)
                    .is_some_and(|operand| activity.operand_is_active(operand))
            })
        })
    };
    match op {
        Op::Binary(BinaryOp::Rem, ..) | Op::Opaque { .. } => false,
        Op::Method { method, .. } => through_rule(rules::method_rule(&method.to_string())),

        Op::Binary(..)
        | Op::Neg(_)
        | Op::Cast(..)
        | Op::Index { .. }
        | Op::Call { .. }
        | Op::Array { .. }
        | Op::Fill { .. } => op
            .operands()
            .into_iter()
            .any(|operand| activity.operand_is_active(operand)),
    }
}

/// Whether an operation certainly produces an owned vector or matrix.
fn op_gives_owned_array(activity: &Activity, op: &Op) -> bool {
    match op {
        Op::Binary(..) | Op::Neg(_) => op
            .operands()
            .into_iter()
            .any(|operand| activity.operand_is_array(operand)),
        Op::Call {
            elementwise: true,
            args,
            ..
        } => args.first().is_some_and(|arg| activity.operand_is_array(&arg.operand)),
        Op::Method { method, receiver, .. } => {
            matches!(method.to_string().as_str(), "to_owned" | "to_vec")
                || (method == "clone" && activity.operand_is_array(receiver))
        }
        Op::Array { .. } | Op::Fill { .. } => true,
        _ => false,
    }
}

/// Whether an operation certainly produces a primitive value: arithmetic on
/// primitives (integers, `f64`), comparisons, element reads, reductions.
fn op_gives_primitive(activity: &Activity, op: &Op) -> bool {
    match op {
        Op::Binary(..) | Op::Neg(_) | Op::Cast(..) => op
            .operands()
            .into_iter()
            .all(|operand| activity.operand_is_primitive(operand)),
        Op::Index { .. } => true,
        // What the user wrote as it is (a comparison, `n / 2`, `v.len()`),
        // or a part of what a call returned, which is a number when what
        // it reads is.
        Op::Opaque { reads, .. } => reads
            .iter()
            .all(|read| activity.primitive[read.0] || activity.scalar[read.0]),
        // A method with no rule on numbers (`2_i32.pow(n)`, `k.max(2)`)
        // computes a number.
        Op::Method { method, .. } => {
            let method = method.to_string();
            rules::method_gives_scalar(&method)
                || rules::method_rule(&method).is_none()
                    && op
                        .operands()
                        .into_iter()
                        .all(|operand| activity.operand_is_primitive(operand))
        }
        Op::Call { .. } | Op::Array { .. } | Op::Fill { .. } => false,
    }
}

/// Whether an operation certainly produces an `f64`.
fn op_gives_scalar(activity: &Activity, op: &Op) -> bool {
    match op {
        Op::Binary(..) | Op::Neg(_) => op
            .operands()
            .into_iter()
            .all(|operand| activity.operand_is_scalar(operand)),
        Op::Cast(..) | Op::Index { .. } => true,
        Op::Method { method, .. } => rules::method_gives_scalar(&method.to_string()),

        Op::Call { .. } | Op::Opaque { .. } | Op::Array { .. } | Op::Fill { .. } => false,
    }
}

/// Reports every operation that needs a derivative rule it does not have.
/// Reports the operations of `block` that cannot be differentiated. An
/// operation reading the result of one already reported is not reported
/// again (`x.max().unwrap()` is one mistake): `reported` holds those
/// results.
fn report_block(cx: &mut Ctxt, activity: &Activity, function: &Function, block: &Block, reported: &mut HashSet<Var>) {
    for stmt in &block.stmts {
        match stmt {
            Stmt::Let { var, op, origin } => {
                let errors_before = cx.error_count();
                if op
                    .operands()
                    .into_iter()
                    .any(|operand| operand.var().is_some_and(|read| reported.contains(&read)))
                {
                    reported.insert(*var);
                    continue;
                }
                report_op(cx, activity, function, op, *origin);
                if cx.error_count() > errors_before {
                    reported.insert(*var);
                }
            }
            Stmt::If(stmt) => {
                report_block(cx, activity, function, &stmt.then_block, reported);
                report_block(cx, activity, function, &stmt.else_block, reported);
            }
            Stmt::Loop(stmt) => {
                if [Some(&stmt.start), stmt.end.as_ref()]
                    .into_iter()
                    .flatten()
                    .into_iter()
                    .any(|bound| activity.operand_is_tainted(bound))
                {
                    cx.error_spanned_by(
                        stmt.origin,
                        "the bounds of this loop depend on a differentiated parameter; chainrule needs a \
                         trip count that does not change with the parameters: compute it from integers, \
                         lengths or parameters outside `wrt(...)`",
                    );
                }
                report_block(cx, activity, function, &stmt.body, reported);
            }
            Stmt::Store { .. } => {}
        }
    }
}

fn report_op(cx: &mut Ctxt, activity: &Activity, function: &Function, op: &Op, origin: Origin) {
    // `*r` through a reference the body cannot see into would drop the
    // derivative of what it reads.
    if let Op::Opaque {
        expr:
            syn::Expr::Unary(syn::ExprUnary {
                op: syn::UnOp::Deref(_),
                expr: pointer,
                ..
            }),
        reads,
        ..
    } = op
        && reads.iter().any(|read| activity.is_active(*read))
    {
        // `*xs.last().unwrap()`: the method that makes the reference says what to do.
        if let Some((method, hint)) = chained_methods(pointer)
            .into_iter()
            .find_map(|method| unsupported_method_hint(&method.to_string()).map(|hint| (method, hint)))
        {
            cx.error_at(
                method.span(),
                format!("chainrule cannot differentiate through `{method}`: {hint}"),
            );
            return;
        }
        cx.error_spanned_by(
            origin,
            "chainrule cannot follow this `*` to a value with a derivative; use the value it points to directly \
             (index or call methods on the reference itself: `xs[0]`, `x.squared_norm_l2()`)",
        );
        return;
    }
    let any_active = op
        .operands()
        .into_iter()
        .any(|operand| activity.operand_is_active(operand));
    if !any_active {
        return;
    }
    match op {
                Op::Cast(_, ty) if !matches!(ty, syn::Type::Path(path) if path.path.is_ident("f64")) => cx.error_spanned_by(
            origin,
            "converting a differentiated value to `f32` would drop its derivative; keep it `f64`",
        ),
        // Neither faer nor Rust adds a number to every element: rustc says so
        // at the `+`, and the sum's rule would add an error of its own.
        Op::Binary(op @ (BinaryOp::Add | BinaryOp::Sub), a, b)
            if activity.operand_is_array_param(a) && is_number(activity, b)
                || is_number(activity, a) && activity.operand_is_array_param(b) =>
        {
            let (written, instead) = match (op, activity.operand_is_array_param(a)) {
                (BinaryOp::Add, _) => ("x + s", "add_scalar(x, s)"),
                (_, true) => ("x - s", "add_scalar(x, -s)"),
                (_, false) => ("s - x", "add_scalar(-x, s)"),
            };
            cx.error_spanned_by(
                origin,
                format!(
                    "a vector or matrix and a number cannot be added or subtracted; for `{written}` element by \
                     element, write `chainrule::ops::{instead}`"
                ),
            );
        }
        // faer divides by numbers only; the quotient's rule would ask for a
        // number too.
        Op::Binary(BinaryOp::Div, a, b) if activity.operand_is_array_param(b) => {
            let (written, instead) = if is_number(activity, a) {
                ("s / y", "chainrule::ops::powi(y, -1) * s")
            } else {
                ("x / y", "chainrule::ops::hadamard(x, chainrule::ops::powi(y, -1))")
            };
            cx.error_spanned_by(
                origin,
                format!(
                    "faer divides only by a number, not by a vector or matrix; for `{written}` element by \
                     element, write `{instead}`"
                ),
            );
        }
        // Two columns (or two rows) have no matrix product.
        Op::Binary(BinaryOp::Mul, a, b)
            if let (Some(shape @ (Shape::Column | Shape::Row)), Some(other)) =
                (activity.array_param_shape(a), activity.array_param_shape(b))
                && shape == other =>
        {
            let (what, dot) = match shape {
                Shape::Column => ("two columns", "x.transpose() * y"),
                _ => ("two rows", "x * y.transpose()"),
            };
            cx.error_spanned_by(
                origin,
                format!(
                    "{what} have no matrix product; for the element-wise product write \
                     `chainrule::ops::hadamard(x, y)`, for the dot product `{dot}` or `chainrule::ops::dot(x, y)`"
                ),
            );
        }
        Op::Binary(BinaryOp::Rem, ..) => cx.error_spanned_by(
            origin,
            "`%` has no derivative rule in chainrule; it may only be applied to values that do not depend on \
             the differentiated parameters (use `x - (x / m).trunc() * m` for a differentiable remainder)",
        ),
        Op::Call { func, .. } => {
            if let Some(message) = library_function_hint(func) {
                cx.error_spanned_by(func, message);
            }
        }
        Op::Method {
            method, receiver, args, ..
        } => match rules::method_rule(&method.to_string()) {
            None => match unsupported_method_hint(&method.to_string()) {
                Some(hint) => cx.error_at(
                    method.span(),
                    format!("chainrule cannot differentiate through `{method}`: {hint}"),
                ),
                None => cx.error_at(
                method.span(),
                format!(
                    "chainrule has no derivative rule for the method `{method}`; the supported `f64` methods are: {}. \
                     Put the computation in a function with its own #[differentiate], or apply `{method}` only to constants",
                    rules::method_names()
                ),
                ),
            },
            // `x.exp()` on a faer vector: rustc finds no method, and the
            // pullback would apply `f64`'s rule to a vector.
            Some(rule)
                if !rules::is_array_method(&method.to_string())
                    && let Some(shape) = activity.array_param_shape(receiver) =>
            {
                let receiver = match receiver {
                    Operand::Transposed(var) => format!("{}.transpose()", function.ident(*var)),
                    _ => receiver.var().map_or_else(|| "x".to_owned(), |var| function.ident(var).to_string()),
                };
                cx.error_at(method.span(), scalar_method_on_array(rule, &receiver, shape));
            }
            Some(rule) if rule.arity != args.len() + 1 => cx.error_at(
                method.span(),
                format!(
                    "`{method}` takes {} argument(s) besides its receiver, as in `f64::{method}`",
                    rule.arity - 1
                ),
            ),
            Some(_) => {}
        },
        _ => {}
    }
}

/// What to write instead of `f64`'s method `rule` on `x`, a vector or
/// matrix of shape `shape`: the element-wise function of `chainrule::ops`
/// where there is one, else the elements mapped one by one. (faer's own
/// `max()` and `min()` of the elements have no rule: a fold takes their
/// place.)
fn scalar_method_on_array(rule: &rules::Rule, x: &str, shape: Shape) -> String {
    let method = rule.name;
    let (what, length, element) = match shape {
        Shape::Column => ("a faer column", format!("{x}.nrows()"), format!("{x}[i]")),
        Shape::Row => ("a faer row", format!("{x}.ncols()"), format!("{x}[i]")),
        Shape::Matrix => ("a faer matrix", format!("{x}.nrows()"), format!("{x}[(i, j)]")),
        _ => ("a slice", format!("{x}.len()"), format!("{x}[i]")),
    };
    if matches!(method, "max" | "min") {
        let start = if method == "max" { "NEG_INFINITY" } else { "INFINITY" };
        let fold = if shape == Shape::Matrix {
            format!(
                "let mut m = f64::{start}; for j in 0..{x}.ncols() {{ for i in 0..{length} {{ m = \
                 m.{method}({element}); }} }}"
            )
        } else {
            format!("(0..{length}).map(|i| {element}).fold(f64::{start}, f64::{method})")
        };
        return format!("chainrule has no derivative rule for the `{method}` of {what}'s elements; write `{fold}`");
    }
    let instead = if rules::OPS_FUNCTIONS.contains(&method) {
        let extra = if method == "powi" { ", n" } else { "" };
        format!("chainrule::ops::{method}({x}{extra})")
    } else {
        let arguments = ["", "y", "a, b"][rule.arity.saturating_sub(1).min(2)];
        let call = format!("{element}.{method}({arguments})");
        match shape {
            Shape::Column => format!("Col::from_fn({length}, |i| {call})"),
            Shape::Row => format!("Row::from_fn({length}, |i| {call})"),
            Shape::Matrix => format!("Mat::from_fn({length}, {x}.ncols(), |i, j| {call})"),
            _ => format!("{x}.iter().map(|v| v.{method}({arguments})).collect::<Vec<f64>>()"),
        }
    };
    format!("`{method}` is a method of `f64`, and {what} has none; for `{method}` of every element, write `{instead}`")
}

/// Whether `operand` is certainly a number: a variable [`find_numbers`]
/// marks, or a numeric literal.
fn is_number(activity: &Activity, operand: &Operand) -> bool {
    match operand {
        Operand::Var(var) => activity.is_number(*var),
        Operand::Transposed(_) => false,
        Operand::Const(expr) => {
            matches!(signed_literal(expr), Some((syn::Lit::Float(_) | syn::Lit::Int(_), _)))
        }
    }
}

/// The methods of a chain `a.f().g()`, outermost first.
fn chained_methods(expr: &syn::Expr) -> Vec<&syn::Ident> {
    let mut methods = Vec::new();
    let mut expr = expr;
    loop {
        match expr {
            syn::Expr::MethodCall(call) => {
                methods.push(&call.method);
                expr = &call.receiver;
            }
            syn::Expr::Paren(paren) => expr = &paren.expr,
            _ => return methods,
        }
    }
}

/// What to write instead of a standard library function that has no rule,
/// for a call whose path names the library (`std::mem::swap(…)`).
fn library_function_hint(func: &syn::ExprPath) -> Option<String> {
    let segments = crate::lower::path_segments(func);
    let names: Vec<&str> = segments.iter().map(String::as_str).collect();
    let from_library = matches!(
        names.as_slice(),
        ["std" | "core" | "alloc", ..] | ["mem", "swap" | "replace" | "take"]
    );
    if !from_library {
        return None;
    }
    let path = segments.join("::");
    let hint = match names.last() {
        Some(&"swap") => "swap two values with a tuple assignment: `(a, b) = (b, a);`",
        Some(&("replace" | "take")) => "keep the old value with `let` and assign the new one: `let old = a; a = new;`",
        _ => {
            "write the computation with operators and `f64` methods, or put it in a function with its own \
             #[differentiate] (or a `rule`) and call that"
        }
    };
    Some(format!("chainrule has no derivative rule for `{path}`: {hint}"))
}

/// What to write instead of a method users reach for that has no rule.
fn unsupported_method_hint(method: &str) -> Option<&'static str> {
    Some(match method {
        "push" | "extend" | "extend_from_slice" | "insert" | "append" => {
            "a `Vec` is grown only where a bound on its final length is known before the first push: pushes as \
             statements of its own block, of `for` loop bodies or of `if` branches in them (no `break` or \
             `continue` around them, no inner loop bounded by an outer one's variables, no push or condition \
             reading the vector), none after it is read; otherwise allocate it whole with `vec![0.0; n]` and \
             write `v[i] = …`, or build it with `xs.iter().map(|x| …).collect::<Vec<f64>>()`"
        }
        "pop" | "clear" | "truncate" | "resize" | "remove" | "drain" | "retain" | "dedup" => {
            "a `Vec` whose length changes has no fixed length to differentiate; keep its length and read the \
             elements you need by index (`v[v.len() - 1]` for the last), or build a new vector with \
             `xs.iter().map(|x| …).collect::<Vec<f64>>()`"
        }
        "copy_from_slice" | "clone_from_slice" => {
            "copy the elements in a loop (`for i in 0..n { v[i] = xs[i]; }`), or start from a copy with \
             `let mut v = xs.to_vec();`"
        }
        "iter" | "into_iter" | "iter_mut" | "zip" | "chain" | "skip" | "take" | "step_by" | "chunks" | "windows" => {
            "iterators are differentiated only as the sequence of a `for` loop and in `.map(|x| …).sum()`, \
             `.fold(init, |acc, x| …)` and `.map(|x| …).collect()` over `xs.iter()`, `.enumerate()`, \
             `.zip(ys)`, `xs.windows(k)`, `xs.chunks(k)` or a range (a sum needs its type, `.sum::<f64>()` or \
             `let s: f64 = …`; the largest element is `.fold(f64::NEG_INFINITY, f64::max)`, not `reduce` or \
             `max_by`); index the elements in a loop instead (`for i in 0..xs.len() { … xs[i] … }`)"
        }
        "add" | "sub" | "mul" | "div" | "neg" | "add_assign" | "sub_assign" | "mul_assign" | "div_assign" => {
            "write the operator instead: `a + b`, `a - b`, `a * b`, `a / b`, `-a`, `a += b`"
        }
        "reverse" | "rotate_left" | "rotate_right" => {
            "only buffers of indices are permuted in place; build the permuted values as a new buffer instead, \
             e.g. `let r: Vec<f64> = (0..n).map(|i| v[n - 1 - i]).collect();`"
        }
        "swap" => {
            "only buffers of indices are permuted in place; swap two elements with a derivative through a \
             local: `let t = v[i]; v[i] = v[j]; v[j] = t;`"
        }
        "sin_cos" => "take the pair apart where it is computed: `let (s, c) = x.sin_cos();`, or read `x.sin_cos().0`",
        "first" | "last" | "get" => "index the element instead: `xs[0]`, `xs[xs.len() - 1]`, `xs[i]`",
        "from" | "into" => {
            "a value with a derivative is already an `f64`: use it as it is (`n as f64` converts a constant integer)"
        }
        "norm_l1" => "sum the absolute values instead: `(0..x.nrows()).map(|i| x[i].abs()).sum::<f64>()`",
        "diagonal" => "read the diagonal's entries `a[(i, i)]` in a loop instead",
        _ => return None,
    })
}

/// `jacobian` needs a returned value: its numbers are the Jacobian's rows.
pub fn check_jacobian(cx: &mut Ctxt, options: &Options, function: &Function) {
    let Some(span) = options.jacobian else {
        return;
    };
    if function.output == Shape::Unit {
        cx.error_at(
            span,
            "`jacobian` needs a function that returns its result (`f64`, a vector or a matrix); for results \
             written through `&mut`, use `f_pullback`",
        );
    }
}
