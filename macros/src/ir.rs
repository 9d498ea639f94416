//! The intermediate representation the transforms work on.
//!
//! A function body is lowered to A-normal form: every intermediate value is a
//! [`Var`] defined exactly once by a [`Stmt::Let`] applying one [`Op`] to
//! [`Operand`]s, which are variables or constants. Reassignment of a `let mut`
//! creates a new variable (static single assignment), and an `if` merges the
//! values its branches produce through [`Phi`] nodes. Each variable keeps the
//! identifier it is emitted under and the span of the user code it came from.
//!
//! The IR holds no types: whether `a * b` multiplies scalars or matrices is
//! left to the runtime traits the emitted code calls.

use std::collections::HashMap;

use proc_macro2::Span;
use syn::Ident;

/// A value defined once in the function.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Var(pub usize);

/// What the emitter needs to know about a variable.
pub struct VarInfo {
    /// The identifier of the primal value in generated code.
    pub ident: Ident,
    /// The identifier of its adjoint (`adj_x`) in the adjoint sweep.
    pub adjoint: Ident,
}

/// Hands out the identifiers of generated code: readable (`s`, `s_1`,
/// `adj_s`), distinct from each other, and hygienic: their mixed-site span
/// keeps them apart from every name the user writes.
#[derive(Default)]
pub struct Names {
    taken: HashMap<String, usize>,
}

impl Names {
    /// Names the generated code uses for its own purposes.
    pub fn new() -> Self {
        let mut names = Names::default();
        for reserved in ["seed", "value", "pullback", "grad"] {
            names.reserve(reserved);
        }
        names
    }

    /// Marks `name` as used, so that `fresh` never returns it.
    pub fn reserve(&mut self, name: &str) {
        self.taken.entry(name.to_owned()).or_insert(1);
    }

    /// An identifier no other generated variable has: `hint`, else `hint_1`, …
    pub fn fresh(&mut self, hint: &str) -> Ident {
        loop {
            let count = self.taken.entry(hint.to_owned()).or_insert(0);
            let name = if *count == 0 {
                hint.to_owned()
            } else {
                format!("{hint}_{count}")
            };
            *count += 1;
            if name == hint || !self.taken.contains_key(&name) {
                self.reserve(&name);
                return Ident::new(&name, Span::mixed_site());
            }
        }
    }
}

/// An argument of an operation.
#[derive(Clone)]
pub enum Operand {
    Var(Var),
    /// A literal or a path to a constant (`2.0`, `PI`, `std::f64::consts::E`),
    /// emitted as written.
    Const(syn::Expr),
}

impl Operand {
    pub fn var(&self) -> Option<Var> {
        match self {
            Operand::Var(var) => Some(*var),
            Operand::Const(_) => None,
        }
    }
}

/// Arithmetic operators, each with a rule in `rules.rs`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    /// `%` has no derivative rule; it is fine on constants only.
    Rem,
}

/// The right-hand side of a `let`.
pub enum Op {
    Binary(BinaryOp, Operand, Operand),
    Neg(Operand),
    /// `receiver.method(args)`, or the path form `f64::method(receiver, args)`.
    Method {
        method: Ident,
        receiver: Operand,
        args: Vec<Operand>,
        /// `Some(f64::exp)` when written in path form, re-emitted the same way.
        path: Option<syn::ExprPath>,
    },
    /// `operand as f64`: the identity for derivatives.
    Cast(Operand, syn::Type),
    /// A call of a function. When an argument is active, the callee must carry
    /// `#[differentiate]`: it is called through its `_pullback`, whose pullback
    /// closure is kept in `pullback` for the adjoint sweep.
    Call {
        func: syn::ExprPath,
        args: Vec<Operand>,
        pullback: Var,
    },
    /// An expression that carries no derivative (a comparison, a logical
    /// operator, a cast to an integer), emitted as the user wrote it with the
    /// variables it reads renamed.
    Opaque(syn::Expr),
}

impl Op {
    /// The operands through which a derivative can flow, in rule order.
    pub fn operands(&self) -> Vec<&Operand> {
        match self {
            Op::Binary(_, lhs, rhs) => vec![lhs, rhs],
            Op::Neg(operand) | Op::Cast(operand, _) => vec![operand],
            Op::Method { receiver, args, .. } => std::iter::once(receiver).chain(args).collect(),
            Op::Call { args, .. } => args.iter().collect(),
            Op::Opaque { .. } => Vec::new(),
        }
    }
}

pub enum Stmt {
    Let { var: Var, op: Op, span: Span },
    If(IfStmt),
}

/// `if cond { then } else { otherwise }`, with the values it merges.
pub struct IfStmt {
    pub cond: Operand,
    pub then_block: Block,
    pub else_block: Block,
    pub outputs: Vec<Phi>,
    /// Records in the forward sweep which branch ran and the values its
    /// adjoint needs (a `chainrule::rules::Branch`).
    pub record: Var,
}

/// A value after an `if`: `var` is `then_value` if the then-branch ran, else
/// `else_value`.
pub struct Phi {
    pub var: Var,
    pub then_value: Operand,
    pub else_value: Operand,
}

#[derive(Default)]
pub struct Block {
    pub stmts: Vec<Stmt>,
}

/// How a parameter takes part in differentiation, read from its type.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ParamKind {
    /// `f64`.
    Scalar,
    /// `&f64`: dereferenced on entry, its gradient is an `f64`.
    ScalarRef,
    /// Anything else: integers, `bool`, user types. Never differentiated.
    Constant,
}

pub struct Param {
    /// The parameter's value inside the body; for `&f64`, a dereferenced
    /// copy made on entry.
    pub var: Var,
    pub ident: Ident,
    pub ty: syn::Type,
    pub kind: ParamKind,
    /// Whether a derivative with respect to this parameter is returned.
    pub wrt: bool,
}

pub struct Function {
    pub vars: Vec<VarInfo>,
    pub params: Vec<Param>,
    pub body: Block,
    pub result: Operand,
}

impl Function {
    pub fn ident(&self, var: Var) -> &Ident {
        &self.vars[var.0].ident
    }

    pub fn adjoint(&self, var: Var) -> &Ident {
        &self.vars[var.0].adjoint
    }
}
