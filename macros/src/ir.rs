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

use std::collections::{HashMap, HashSet};

use proc_macro2::Span;
use syn::Ident;

/// Where in the user's code something came from: the spans of its first and
/// last tokens, so that a diagnostic underlines the whole expression (a
/// single `Span` covers only one token on stable Rust).
#[derive(Clone, Copy)]
pub struct Origin {
    pub start: Span,
    pub end: Span,
}

impl Origin {
    pub fn of<T: quote::ToTokens + ?Sized>(node: &T) -> Self {
        let tokens = node.to_token_stream();
        let mut spans = tokens.into_iter().map(|token| token.span());
        let start = spans.next().unwrap_or_else(Span::call_site);
        let end = spans.last().unwrap_or(start);
        Origin { start, end }
    }
}

impl quote::ToTokens for Origin {
    /// Two tokens at the start and end spans, for `syn::Error::new_spanned`.
    fn to_tokens(&self, tokens: &mut proc_macro2::TokenStream) {
        tokens.extend([
            proc_macro2::TokenTree::Ident(Ident::new("start", self.start)),
            proc_macro2::TokenTree::Ident(Ident::new("end", self.end)),
        ]);
    }
}

/// A value defined once in the function.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Var(pub usize);

/// What the emitter needs to know about a variable.
#[derive(Clone)]
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

    /// An identifier no other generated variable has: `hint`, else `hint_1`,
    /// … A raw identifier's `r#` is dropped from the hint (`adj_r#type` is no
    /// identifier) and put back where the name is a keyword (`r#type`).
    pub fn fresh(&mut self, hint: &str) -> Ident {
        let hint = hint.replace("r#", "");
        let hint = hint.as_str();
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
                return match syn::parse_str::<Ident>(&name) {
                    Ok(_) => Ident::new(&name, Span::mixed_site()),
                    Err(_) => Ident::new_raw(&name, Span::mixed_site()),
                };
            }
        }
    }
}

/// A new variable with a readable, hygienic identifier derived from `hint`,
/// and its adjoint's.
pub fn new_var(vars: &mut Vec<VarInfo>, names: &mut Names, hint: &str) -> Var {
    let ident = names.fresh(hint);
    let adjoint = names.fresh(&format!("adj_{ident}"));
    vars.push(VarInfo { ident, adjoint });
    Var(vars.len() - 1)
}

/// An argument of an operation.
#[derive(Clone)]
pub enum Operand {
    Var(Var),
    /// `x.transpose()`: a view of `x`, created where it is used. Its adjoint is
    /// accumulated into a transposed view of `x`'s adjoint, so it needs no
    /// variable or buffer of its own.
    Transposed(Var),
    /// A literal or a path to a constant (`2.0`, `PI`, `std::f64::consts::E`),
    /// emitted as written.
    Const(syn::Expr),
}

impl Operand {
    /// The variable the operand reads, transposed or not.
    pub fn var(&self) -> Option<Var> {
        match self {
            Operand::Var(var) | Operand::Transposed(var) => Some(*var),
            Operand::Const(_) => None,
        }
    }

    /// The operand as emitted code writes it (`x_2`, `w.transpose()`,
    /// `(2.0)`), for expressions built as tokens.
    pub fn to_code(&self, vars: &[VarInfo]) -> proc_macro2::TokenStream {
        match self {
            Operand::Var(var) => quote::ToTokens::to_token_stream(&vars[var.0].ident),
            Operand::Transposed(var) => {
                let ident = &vars[var.0].ident;
                quote::quote!(#ident.transpose())
            }
            Operand::Const(expr) => quote::quote!((#expr)),
        }
    }
}

/// An argument of a call, with whether the user passed it by reference.
#[derive(Clone)]
pub struct CallArg {
    pub operand: Operand,
    pub by_ref: bool,
    /// `&mut x` for a local `f64`: the variable that holds `x` after the
    /// call, which the callee may have changed.
    pub mutated: Option<Var>,
    /// `&mut v` for a buffer, which the callee writes into in place.
    pub buffer: bool,
    /// `x.as_ref()`: passed as a view of the value (`ColRef`, `MatRef`).
    pub view: bool,
    /// A tangent passed in its slot of a callee's `g_tangent`, as
    /// `Some(tangent)` (see `forward.rs`).
    pub tangent_slot: bool,
}

impl CallArg {
    /// `operand` passed by value as it is: the other ways are set on it.
    pub fn plain(operand: Operand) -> Self {
        CallArg {
            operand,
            by_ref: false,
            mutated: None,
            buffer: false,
            view: false,
            tangent_slot: false,
        }
    }
}

/// The literal `expr` is, through parentheses and one minus sign, with
/// whether it is negated: `(2.5, false)` of `2.5`, `(1, true)` of `-(1)`.
pub fn signed_literal(expr: &syn::Expr) -> Option<(&syn::Lit, bool)> {
    fn unparenthesised(mut expr: &syn::Expr) -> &syn::Expr {
        while let syn::Expr::Paren(paren) = expr {
            expr = &paren.expr;
        }
        expr
    }
    let (expr, negated) = match unparenthesised(expr) {
        syn::Expr::Unary(syn::ExprUnary {
            op: syn::UnOp::Neg(_),
            expr,
            ..
        }) => (unparenthesised(expr), true),
        expr => (expr, false),
    };
    match expr {
        syn::Expr::Lit(literal) => Some((&literal.lit, negated)),
        _ => None,
    }
}

/// The name a call is known by, the last segment of its path: `g` of
/// `m::g(x)`, which its pullback and gradients are named after.
pub fn callee_name(func: &syn::ExprPath) -> String {
    func.path
        .segments
        .last()
        .map_or_else(|| "call".to_owned(), |segment| segment.ident.to_string())
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
#[derive(Clone)]
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
    /// `base[index]`, an element read; `index` is an integer or a pair.
    Index {
        base: Operand,
        index: Operand,
    },
    /// `[a, b, c]`, or `vec![a, b, c]` when `vec`: a local buffer.
    Array {
        elements: Vec<Operand>,
        vec: bool,
    },
    /// `[value; len]`, or `vec![value; len]` when `vec`: a local buffer.
    Fill {
        value: Operand,
        len: Operand,
        vec: bool,
    },

    /// A call of a function. When an argument is active, the callee must have
    /// a split form `name_pullback` (generated by `#[differentiate]`, or one
    /// of `chainrule::ops`): it is called instead, and the pullback it returns
    /// is kept in `pullback` for the adjoint sweep.
    Call {
        func: syn::ExprPath,
        args: Vec<CallArg>,
        pullback: Var,
        /// A function of `chainrule::ops` whose result has its first
        /// argument's shape (all but `dot` and `sum`).
        elementwise: bool,
        /// The names the adjoint sweep gives the gradients the pullback
        /// returns, one per argument.
        gradients: Vec<Ident>,
        /// A call made for its effect (`add_into(&mut s, x);`), whose value is
        /// not used: it gets no adjoint, and its pullback a default seed.
        discarded: bool,
    },
    /// An expression that carries no derivative (a comparison, a logical
    /// operator, a cast to an integer), emitted as the user wrote it with the
    /// variables it reads renamed.
    Opaque {
        expr: syn::Expr,
        /// The variables whose values it reads.
        reads: Vec<Var>,
        /// The variables whose shapes only it reads (`v.len()`, `m.nrows()`):
        /// no derivative flows from them, but the expression gives another
        /// value when they are reassigned.
        shapes: Vec<Var>,
        /// The local buffers it changes in place (`p.swap(0, 1)`, `&mut p`),
        /// which only constant buffers can be: like element stores, these
        /// make the buffer's reads depend on when they happen.
        changes: Vec<Var>,
    },
}

impl Op {
    /// The operands through which a derivative can flow, in rule order.
    pub fn operands(&self) -> Vec<&Operand> {
        match self {
            Op::Binary(_, lhs, rhs) => vec![lhs, rhs],
            Op::Neg(operand) | Op::Cast(operand, _) => vec![operand],
            Op::Method { receiver, args, .. } => std::iter::once(receiver).chain(args).collect(),
            Op::Index { base, index } => vec![base, index],
            Op::Array { elements, .. } => elements.iter().collect(),
            Op::Fill { value, len, .. } => vec![value, len],

            Op::Call { args, .. } => args.iter().map(|arg| &arg.operand).collect(),
            Op::Opaque { .. } => Vec::new(),
        }
    }
}

pub enum Stmt {
    Let {
        var: Var,
        op: Op,
        origin: Origin,
    },
    If(IfStmt),
    Loop(LoopStmt),
    /// `buffer[index] = value`: an element write into a local buffer (a
    /// `Vec`, an array or a faer value), which is mutated in place.
    Store {
        buffer: Var,
        index: Operand,
        value: Operand,
        origin: Origin,
    },
}

/// `for index in start..end { body }` (or `..=`, or reversed), which is also
/// what iteration over a slice or a vector lowers to, and `while`/`loop`
/// (`start..` with no end). The variables the body reassigns are carried from
/// one iteration to the next; `break` clears a carried flag.
pub struct LoopStmt {
    /// The counter, an integer that carries no derivative.
    pub index: Var,
    pub start: Operand,
    /// `None` for `while` and `loop`: they run until a `break`.
    pub end: Option<Operand>,
    pub inclusive: bool,
    pub reverse: bool,
    pub carried: Vec<Carried>,
    /// For a loop with `break`, the head of the carried flag that is `true`
    /// while the loop keeps running.
    pub exit_flag: Option<Var>,
    pub body: Block,
    /// The forward sweep's record of each iteration's residuals: one stack
    /// for the whole function, however often the loop runs, so that a loop
    /// nested in another allocates nothing per outer iteration.
    pub tape: Var,
    /// For a loop that may stop early, how many iterations ran (the adjoint
    /// replays that many entries of the tape).
    pub trips: Var,
    /// The loop's header (`for i in 0..n`), for diagnostics.
    pub origin: Origin,
}

/// A variable the loop body reassigns: `init` before the loop, `head` at the
/// start of each iteration, `next` at its end, `exit` after the loop.
pub struct Carried {
    pub init: Operand,
    pub head: Var,
    pub next: Operand,
    pub exit: Var,
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

/// The shape of a differentiable value, read from a type in the signature.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Shape {
    Scalar,
    Column,
    Row,
    Matrix,
    /// `&[f64]`, `&Vec<f64>`, `Vec<f64>`: gradients are `Vec<f64>`.
    Slice,
    /// `[f64; N]`, `&[f64; N]`: gradients are `[f64; N]`.
    Array,
    /// `()`: a function whose results are what it writes through `&mut`.
    Unit,
}

impl Shape {
    /// The owned type of this shape, the type of its gradients, for a
    /// parameter or result of type `ty`.
    pub fn owned_type(self, ty: &syn::Type) -> proc_macro2::TokenStream {
        match self {
            Shape::Scalar => quote::quote!(f64),
            Shape::Column => quote::quote!(::chainrule::faer::Col<f64>),
            Shape::Row => quote::quote!(::chainrule::faer::Row<f64>),
            Shape::Matrix => quote::quote!(::chainrule::faer::Mat<f64>),
            Shape::Slice => quote::quote!(::std::vec::Vec<f64>),
            Shape::Unit => quote::quote!(()),
            Shape::Array => match ty {
                syn::Type::Reference(reference) => {
                    let elem = &reference.elem;
                    quote::quote!(#elem)
                }
                ty => quote::quote!(#ty),
            },
        }
    }
}

/// How a parameter takes part in differentiation, read from its type.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ParamKind {
    /// `f64`.
    Scalar,
    /// `&f64`: dereferenced on entry, its gradient is an `f64`.
    ScalarRef,
    /// `&mut f64`: read on entry and written back on exit. Its derivative
    /// flows through the same reference in the pullback: the caller passes
    /// the adjoint of the value after the call, and gets back the adjoint of
    /// the value before it.
    ScalarInOut,
    /// `&mut [f64]`, `&mut Vec<f64>`: a buffer the function writes into. Its
    /// adjoint likewise comes in and goes out through the reference.
    SliceInOut,
    /// A faer vector or matrix: owned (`Col<f64>`), a reference (`&Col<f64>`)
    /// or a view (`ColRef<'_, f64>`). Its gradient is the owned type.
    Array { shape: Shape, copyable: bool },
    /// Anything else: integers, `bool`, user types. Never differentiated.
    Constant { copyable: bool },
}

impl ParamKind {
    /// Whether the parameter's gradient comes back through the reference
    /// it was passed by (`&mut f64`) rather than in the gradient tuple.
    pub fn is_inout(self) -> bool {
        matches!(self, ParamKind::ScalarInOut | ParamKind::SliceInOut)
    }

    pub fn is_differentiable(self) -> bool {
        !matches!(self, ParamKind::Constant { .. })
    }

    /// Whether passing the parameter by value copies it (no move).
    pub fn is_copyable(self) -> bool {
        match self {
            ParamKind::Scalar | ParamKind::ScalarRef => true,
            ParamKind::ScalarInOut | ParamKind::SliceInOut => false,
            ParamKind::Array { copyable, .. } | ParamKind::Constant { copyable } => copyable,
        }
    }

    pub fn shape(self) -> Option<Shape> {
        match self {
            ParamKind::Scalar | ParamKind::ScalarRef | ParamKind::ScalarInOut => Some(Shape::Scalar),
            ParamKind::SliceInOut => Some(Shape::Slice),
            ParamKind::Array { shape, .. } => Some(shape),
            ParamKind::Constant { .. } => None,
        }
    }
}

#[derive(Clone)]
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
    /// The shape of the returned value.
    pub output: Shape,
    pub params: Vec<Param>,
    pub body: Block,
    pub result: Operand,
    /// Whether the function calls itself.
    pub recursive: bool,
    /// For each `&mut f64` parameter: the variable of its value on entry and
    /// its value on exit, written back.
    pub inout: Vec<(Var, Operand)>,
}

impl Function {
    pub fn ident(&self, var: Var) -> &Ident {
        &self.vars[var.0].ident
    }

    pub fn adjoint(&self, var: Var) -> &Ident {
        &self.vars[var.0].adjoint
    }
}

/// The buffers `block` writes into, at any depth: by element stores, lent
/// by `&mut` to calls, and changed by methods such as `p.swap(i, j)`.
pub fn stored_buffers(block: &Block, stored: &mut HashSet<Var>) {
    for stmt in &block.stmts {
        stored.extend(buffers_stored_by(stmt));
        match stmt {
            Stmt::If(stmt) => {
                stored_buffers(&stmt.then_block, stored);
                stored_buffers(&stmt.else_block, stored);
            }
            Stmt::Loop(stmt) => stored_buffers(&stmt.body, stored),
            Stmt::Let { .. } | Stmt::Store { .. } => {}
        }
    }
}

/// The buffers one statement writes into itself (not in nested blocks).
pub fn buffers_stored_by(stmt: &Stmt) -> Vec<Var> {
    match stmt {
        Stmt::Store { buffer, .. } => vec![*buffer],
        Stmt::Let {
            op: Op::Call { args, .. },
            ..
        } => args
            .iter()
            .filter(|arg| arg.buffer)
            .filter_map(|arg| arg.operand.var())
            .collect(),
        Stmt::Let {
            op: Op::Opaque { changes, .. },
            ..
        } => changes.clone(),
        Stmt::Let {
            op: Op::Method { method, receiver, .. },
            ..
        } if crate::rules::IN_PLACE_METHODS.contains(&method.to_string().as_str()) => {
            receiver.var().into_iter().collect()
        }
        _ => Vec::new(),
    }
}

/// The element reads (`let e = v[i]`) of a local buffer that nothing writes
/// into once the read has run: the buffer still holds the element when the
/// adjoint sweep reaches the read, so the adjoint can read it again instead
/// of keeping it.
pub fn frozen_element_reads(function: &Function) -> HashSet<Var> {
    let params: HashSet<Var> = function.params.iter().map(|param| param.var).collect();
    reads_after_last_write(&function.body)
        .into_iter()
        .filter(|read| !params.contains(&read.buffer))
        .map(|read| read.var)
        .collect()
}

/// An element read `let var = buffer[i]` that no write in its block follows.
pub struct ReadAfterWrites {
    pub var: Var,
    pub buffer: Var,
    /// Whether the read is inside a loop of the block, so may run many times.
    pub in_loop: bool,
}

/// The element reads of `block` (at any depth) after which nothing in
/// `block` writes their buffer.
///
/// Statements are numbered in the order they are written. A write at
/// position `p` can follow a read at `r` when `r < p`, or when both are in a
/// loop, whose next iteration runs the write again; so a write inside a loop
/// counts as written at the end of its outermost loop in `block`. A read is
/// frozen when it comes after the last such position of its buffer.
pub fn reads_after_last_write(block: &Block) -> Vec<ReadAfterWrites> {
    #[derive(Default)]
    struct Scan {
        position: usize,
        last_write: HashMap<Var, usize>,
        reads: Vec<(ReadAfterWrites, usize)>,
    }
    fn scan(block: &Block, state: &mut Scan, in_loop: &mut Option<Vec<Var>>) {
        for stmt in &block.stmts {
            state.position += 1;
            let written = buffers_stored_by(stmt);
            match in_loop {
                Some(pending) => pending.extend(written),
                None => {
                    for buffer in written {
                        state.last_write.insert(buffer, state.position);
                    }
                }
            }
            match stmt {
                Stmt::Let {
                    var,
                    op:
                        Op::Index {
                            base: Operand::Var(base),
                            ..
                        },
                    ..
                } => {
                    let read = ReadAfterWrites {
                        var: *var,
                        buffer: *base,
                        in_loop: in_loop.is_some(),
                    };
                    state.reads.push((read, state.position));
                }
                Stmt::If(stmt) => {
                    scan(&stmt.then_block, state, in_loop);
                    scan(&stmt.else_block, state, in_loop);
                }
                Stmt::Loop(stmt) if in_loop.is_some() => scan(&stmt.body, state, in_loop),
                Stmt::Loop(stmt) => {
                    let mut pending = Some(Vec::new());
                    scan(&stmt.body, state, &mut pending);
                    for buffer in pending.into_iter().flatten() {
                        state.last_write.insert(buffer, state.position);
                    }
                }
                Stmt::Let { .. } | Stmt::Store { .. } => {}
            }
        }
    }
    let mut state = Scan::default();
    scan(block, &mut state, &mut None);
    let last_write = state.last_write;
    state
        .reads
        .into_iter()
        .filter(|(read, position)| last_write.get(&read.buffer).is_none_or(|written| position > written))
        .map(|(read, _)| read)
        .collect()
}
