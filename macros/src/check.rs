//! Activity analysis and the checks that need it.
//!
//! A variable is *active* when its value depends on a differentiated
//! parameter: only active variables get an adjoint, and only operations with an
//! active operand need a derivative rule. Activity flows forward from the
//! `wrt` parameters through every operation that has a rule, through calls,
//! and through the `Phi`s of `if`s. The analysis is iterated to a fixed point,
//! which a straight-line body reaches in one pass.
//!
//! An operation the rule table does not know is fine on constants (`n.pow(2)`
//! on an integer, `c.floor()` on a constant) and an error on an active value,
//! reported at the expression with the list of what is supported.

use crate::ctxt::Ctxt;
use crate::ir::{BinaryOp, Block, Function, Op, Operand, Stmt, Var};
use crate::rules;

/// Which variables carry a derivative.
pub struct Activity {
    active: Vec<bool>,
}

impl Activity {
    pub fn is_active(&self, var: Var) -> bool {
        self.active[var.0]
    }

    pub fn operand_is_active(&self, operand: &Operand) -> bool {
        operand.var().is_some_and(|var| self.is_active(var))
    }
}

pub fn analyse(cx: &mut Ctxt, function: &Function) -> Activity {
    let mut activity = Activity {
        active: vec![false; function.vars.len()],
    };
    for param in function.params.iter().filter(|param| param.wrt) {
        activity.active[param.var.0] = true;
    }
    while propagate(&mut activity, &function.body) {}
    report_block(cx, &activity, &function.body);
    activity
}

/// One forward pass; returns whether any variable became active.
fn propagate(activity: &mut Activity, block: &Block) -> bool {
    let mut changed = false;
    for stmt in &block.stmts {
        match stmt {
            Stmt::Let { var, op, .. } => {
                if !activity.is_active(*var) && op_is_active(activity, op) {
                    activity.active[var.0] = true;
                    changed = true;
                }
            }
            Stmt::If(stmt) => {
                changed |= propagate(activity, &stmt.then_block);
                changed |= propagate(activity, &stmt.else_block);
                for phi in &stmt.outputs {
                    let incoming =
                        activity.operand_is_active(&phi.then_value) || activity.operand_is_active(&phi.else_value);
                    if incoming && !activity.is_active(phi.var) {
                        activity.active[phi.var.0] = true;
                        changed = true;
                    }
                }
            }
        }
    }
    changed
}

/// Whether an operation's result depends on an active operand through a rule.
fn op_is_active(activity: &Activity, op: &Op) -> bool {
    match op {
        Op::Binary(BinaryOp::Rem, ..) | Op::Opaque(_) => false,
        Op::Method { method, .. } => {
            let Some(rule) = rules::method_rule(&method.to_string()) else {
                return false;
            };
            let operands = op.operands();
            rule.pullbacks.iter().any(|pullback| {
                operands
                    .get(pullback.operand)
                    .is_some_and(|operand| activity.operand_is_active(operand))
            })
        }
        Op::Binary(..) | Op::Neg(_) | Op::Cast(..) | Op::Call { .. } => op
            .operands()
            .into_iter()
            .any(|operand| activity.operand_is_active(operand)),
    }
}

/// Reports every operation that needs a derivative rule it does not have.
fn report_block(cx: &mut Ctxt, activity: &Activity, block: &Block) {
    for stmt in &block.stmts {
        match stmt {
            Stmt::Let { op, span, .. } => report_op(cx, activity, op, *span),
            Stmt::If(stmt) => {
                report_block(cx, activity, &stmt.then_block);
                report_block(cx, activity, &stmt.else_block);
            }
        }
    }
}

fn report_op(cx: &mut Ctxt, activity: &Activity, op: &Op, span: proc_macro2::Span) {
    let any_active = op
        .operands()
        .into_iter()
        .any(|operand| activity.operand_is_active(operand));
    if !any_active {
        return;
    }
    match op {
        Op::Binary(BinaryOp::Rem, ..) => cx.error_at(
            span,
            "`%` has no derivative rule in chainrule; it may only be applied to values that do not depend on \
             the differentiated parameters (use `x - (x / m).trunc() * m` for a differentiable remainder)",
        ),
        Op::Method { method, args, .. } => match rules::method_rule(&method.to_string()) {
            None => cx.error_at(
                method.span(),
                format!(
                    "chainrule has no derivative rule for the method `{method}`; the supported `f64` methods are: {}. \
                     Put the computation in a function with its own #[differentiate], or apply `{method}` only to constants",
                    rules::method_names()
                ),
            ),
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
