//! Replayed loops: which loops the adjoint sweep runs forward again instead
//! of reading a tape.
//!
//! A loop whose body holds other loops tapes, for every one of its
//! iterations, everything those inner loops need: for a mixture model that
//! is a hundred values per point and component, tens of megabytes written in
//! the forward sweep and read back in the adjoint. When an iteration can be
//! run again from little state, it is cheaper to keep only that state and,
//! in the adjoint sweep, run each iteration forward once more (taping its
//! inner loops into tapes that hold one iteration, so stay in cache) right
//! before its adjoint. The primal sweep of such a loop then tapes nothing
//! but its carried values.
//!
//! An iteration can be run again when everything it reads is as it was:
//! - its carried variables, which are taped (or counted back down);
//! - values defined outside the loop, which the adjoint sweep has anyway;
//! - buffers it reads but does not write, if nothing writes them once the
//!   loop has started (*settled* buffers: their final state is the one the
//!   loop read);
//! - buffers it writes and reads, if every iteration overwrites them whole
//!   before reading them (*scratch* buffers): a loop `for i in 0..n
//!   { b[i] = … }` over a buffer `vec![…; n]`, whose body uses `b` for
//!   nothing else, reached before any read of `b` in the iteration (or in
//!   each iteration of a loop inside it); buffers it only writes into need
//!   nothing.
//!
//! `reverse.rs` then keeps only the loops whose inner loops tape something.
//! Only cheap bodies are replayed (scalar arithmetic and element accesses,
//! no `exp`, no matrix product, no call): replaying is a second forward
//! pass, a loss where the body's own work outweighs its tape. Loops with
//! `break`, loops over buffers that helpers write through `&mut`, and loops
//! with no loop inside are left to the tape. Of nested loops that
//! qualify, the innermost is replayed (an outer one would compute
//! everything around it twice, its `exp`s included); the loops inside it
//! are taped during the replay, the loops around it as usual.

use std::collections::{BTreeSet, HashMap, HashSet};

use quote::ToTokens;

use crate::check::Activity;
use crate::ir::{Block, Function, LoopStmt, Op, Operand, Stmt, Var, stored_buffers};
use crate::lower::is_effect;

/// `f64` methods cheap enough to compute twice.
const CHEAP_METHODS: &[&str] = &["abs", "max", "min", "mul_add", "clamp", "signum"];

/// The loops to replay, by tape variable.
/// Loops in `eager` (see `eager.rs`) and the loops inside them are never
/// replayed: their adjoint already runs right after their forward sweep.
pub fn replayed_loops(function: &Function, activity: &Activity, eager: &HashSet<Var>) -> HashSet<Var> {
    let mut analysis = Analysis {
        activity,
        buffers: BufferUse::new(function),
        eager,
        stores: Vec::new(),
        loop_spans: HashMap::new(),
        position: 0,
        mutated_by_calls: HashSet::new(),
    };
    analysis.walk(&function.body, &mut Vec::new());
    let mut settled = HashMap::new();
    for (buffer, position, outermost_loop) in &analysis.stores {
        let last = outermost_loop.map_or(*position, |tape| analysis.loop_spans[&tape].1);
        let entry = settled.entry(*buffer).or_insert(0);
        *entry = last.max(*entry);
    }
    let mut replayed = HashSet::new();
    analysis.choose(&function.body, &settled, &mut replayed);
    replayed
}

/// Every variable a block uses but does not define, nested blocks included:
/// what running it again needs from outside.
pub fn free_reads(block: &Block) -> BTreeSet<Var> {
    let mut used = BTreeSet::new();
    mentions_in(block, &mut used);
    let mut defined = BTreeSet::new();
    all_defined(block, &mut defined);
    used.difference(&defined).copied().collect()
}

struct Analysis<'a> {
    activity: &'a Activity,
    buffers: BufferUse<'a>,
    eager: &'a HashSet<Var>,
    /// Each store: the buffer, its position, and the outermost loop around it.
    stores: Vec<(Var, usize, Option<Var>)>,
    /// Each loop's first and last positions, by tape variable.
    loop_spans: HashMap<Var, (usize, usize)>,
    position: usize,
    /// Buffers (and `f64`s) passed by `&mut` to a helper.
    mutated_by_calls: HashSet<Var>,
}

impl<'a> Analysis<'a> {
    /// Numbers the statements in order, and records loop spans and stores.
    fn walk(&mut self, block: &'a Block, enclosing: &mut Vec<Var>) {
        for stmt in &block.stmts {
            self.position += 1;
            match stmt {
                Stmt::Let { op, .. } => {
                    if let Op::Call { args, .. } = op {
                        let mutated = args.iter().filter(|arg| arg.buffer || arg.mutated.is_some());
                        self.mutated_by_calls
                            .extend(mutated.filter_map(|arg| arg.operand.var()));
                    }
                }
                Stmt::Store { buffer, .. } => {
                    self.stores.push((*buffer, self.position, enclosing.first().copied()));
                }
                Stmt::If(stmt) => {
                    self.walk(&stmt.then_block, enclosing);
                    self.walk(&stmt.else_block, enclosing);
                }
                Stmt::Loop(stmt) => {
                    let start = self.position;
                    enclosing.push(stmt.tape);
                    self.walk(&stmt.body, enclosing);
                    enclosing.pop();
                    self.loop_spans.insert(stmt.tape, (start, self.position));
                }
            }
        }
    }

    /// Marks the innermost replayable loops of `block` that hold loops.
    fn choose(&self, block: &Block, settled: &HashMap<Var, usize>, replayed: &mut HashSet<Var>) {
        for stmt in &block.stmts {
            match stmt {
                Stmt::Loop(stmt) if self.eager.contains(&stmt.tape) => {}
                Stmt::Loop(stmt) => {
                    let before = replayed.len();
                    self.choose(&stmt.body, settled, replayed);
                    if replayed.len() == before && self.replayable(stmt, settled) {
                        replayed.insert(stmt.tape);
                    }
                }
                Stmt::If(stmt) => {
                    self.choose(&stmt.then_block, settled, replayed);
                    self.choose(&stmt.else_block, settled, replayed);
                }
                Stmt::Let { .. } | Stmt::Store { .. } => {}
            }
        }
    }

    fn replayable(&self, stmt: &LoopStmt, settled: &HashMap<Var, usize>) -> bool {
        if stmt.exit_flag.is_some() || stmt.end.is_none() || !contains_loop(&stmt.body) || !self.cheap(&stmt.body) {
            return false;
        }
        let mut used = BTreeSet::new();
        mentions_in(&stmt.body, &mut used);
        let mut stored = HashSet::new();
        stores_in(&stmt.body, &mut stored);
        // A buffer made in the body is new in every iteration.
        let mut fresh = BTreeSet::new();
        all_defined(&stmt.body, &mut fresh);
        let start = self.loop_spans[&stmt.tape].0;
        used.difference(&fresh).all(|var| {
            if self.mutated_by_calls.contains(var) {
                false
            } else if stored.contains(var) {
                self.buffers.scratch(*var, &stmt.body.stmts)
            } else {
                settled.get(var).is_none_or(|last| *last < start)
            }
        })
    }

    /// Whether computing `block` twice costs little next to taping it: scalar
    /// arithmetic, element reads and writes, comparisons and the methods of
    /// [`CHEAP_METHODS`]; no `exp` or `sin`, no matrix products, no calls, no
    /// effects (`println!`).
    fn cheap(&self, block: &Block) -> bool {
        block.stmts.iter().all(|stmt| match stmt {
            Stmt::Let { var, op, .. } => match op {
                Op::Binary(..) | Op::Neg(_) => !self.activity.is_active(*var) || self.activity.is_scalar(*var),
                Op::Method { method, .. } => CHEAP_METHODS.contains(&method.to_string().as_str()),
                // A `println!` would print twice.
                Op::Opaque { expr, .. } => !is_effect(expr),
                Op::Cast(..) | Op::Index { .. } | Op::Array { .. } | Op::Fill { .. } => true,
                Op::Call { .. } => false,
            },
            Stmt::If(branch) => self.cheap(&branch.then_block) && self.cheap(&branch.else_block),
            Stmt::Loop(inner) => self.cheap(&inner.body),
            Stmt::Store { .. } => true,
        })
    }
}

/// What the primal says of buffers: how each was made, to tell which are
/// overwritten whole (*scratch*) in a loop.
pub struct BufferUse<'a> {
    function: &'a Function,
    definitions: HashMap<Var, &'a Op>,
    /// The buffers written anywhere: an expression reading one may give
    /// another value each time it runs.
    written: HashSet<Var>,
}

impl<'a> BufferUse<'a> {
    pub fn new(function: &'a Function) -> Self {
        let mut definitions = HashMap::new();
        collect_definitions(&function.body, &mut definitions);
        let mut written = HashSet::new();
        stored_buffers(&function.body, &mut written);
        BufferUse {
            function,
            definitions,
            written,
        }
    }

    /// Whether `stmts` never read `buffer`'s elements before overwriting all
    /// of them (see the module documentation).
    pub fn scratch(&self, buffer: Var, stmts: &[Stmt]) -> bool {
        for stmt in stmts {
            if !stmt_mentions(stmt, buffer) {
                continue;
            }
            match stmt {
                Stmt::Loop(inner) if self.overwrites(buffer, inner) => return true,
                Stmt::Loop(inner) if !loop_header_mentions(inner, buffer) => {
                    if !self.scratch(buffer, &inner.body.stmts) {
                        return false;
                    }
                }
                Stmt::If(branch) if operand_mentions(&branch.cond, buffer) => return false,
                Stmt::If(branch) => {
                    if !self.scratch(buffer, &branch.then_block.stmts)
                        || !self.scratch(buffer, &branch.else_block.stmts)
                    {
                        return false;
                    }
                }
                // A write that reads nothing of the buffer.
                Stmt::Store {
                    buffer: written,
                    index,
                    value,
                    ..
                } if *written == buffer && !operand_mentions(index, buffer) && !operand_mentions(value, buffer) => {}
                _ => return false,
            }
        }
        true
    }

    /// Whether `inner` is `for i in 0..n { …; buffer[i] = v; … }` over all of
    /// a buffer `vec![…; n]`, using `buffer` for nothing else.
    fn overwrites(&self, buffer: Var, inner: &LoopStmt) -> bool {
        let Some(Op::Fill { len, .. }) = self.definitions.get(&buffer) else {
            return false;
        };
        let starts_at_zero = matches!(&inner.start, Operand::Const(start) if is_zero(start));
        let covers = starts_at_zero
            && !inner.inclusive
            && inner.exit_flag.is_none()
            && inner.end.as_ref().is_some_and(|end| self.same_value(end, len))
            && !loop_header_mentions(inner, buffer);
        let mut stores = inner.body.stmts.iter().filter(|stmt| stmt_mentions(stmt, buffer));
        let whole = matches!(
            (stores.next(), stores.next()),
            (Some(Stmt::Store { buffer: written, index, value, .. }), None)
                if *written == buffer
                    && !operand_mentions(value, buffer)
                    && self.same_value(index, &Operand::Var(inner.index))
        );
        covers && whole
    }

    /// Whether two operands certainly hold the same integer: the same
    /// variable or constant, or the same expression of the same variables,
    /// none of them a buffer written somewhere (`idx[0]` before and after
    /// `idx[0] = 1` are two values).
    pub fn same_value(&self, a: &Operand, b: &Operand) -> bool {
        self.value_key(a).is_some_and(|key| Some(key) == self.value_key(b))
    }

    fn value_key(&self, operand: &Operand) -> Option<String> {
        match operand {
            Operand::Const(expr) => Some(expr.to_token_stream().to_string()),
            Operand::Var(var) => match self.definitions.get(var) {
                Some(Op::Opaque { expr, reads, .. }) if reads.iter().all(|read| !self.written.contains(read)) => {
                    Some(expr.to_token_stream().to_string())
                }
                Some(_) => None,
                None => Some(self.function.ident(*var).to_string()),
            },
            Operand::Transposed(_) => None,
        }
    }
}

fn collect_definitions<'a>(block: &'a Block, definitions: &mut HashMap<Var, &'a Op>) {
    for stmt in &block.stmts {
        match stmt {
            Stmt::Let { var, op, .. } => {
                definitions.insert(*var, op);
            }
            Stmt::If(branch) => {
                collect_definitions(&branch.then_block, definitions);
                collect_definitions(&branch.else_block, definitions);
            }
            Stmt::Loop(inner) => collect_definitions(&inner.body, definitions),
            Stmt::Store { .. } => {}
        }
    }
}

fn is_zero(expr: &syn::Expr) -> bool {
    matches!(expr, syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Int(int), .. })
        if int.base10_parse::<u64>().is_ok_and(|value| value == 0))
}

fn contains_loop(block: &Block) -> bool {
    block.stmts.iter().any(|stmt| match stmt {
        Stmt::Loop(_) => true,
        Stmt::If(branch) => contains_loop(&branch.then_block) || contains_loop(&branch.else_block),
        Stmt::Let { .. } | Stmt::Store { .. } => false,
    })
}

pub fn stores_in(block: &Block, stored: &mut HashSet<Var>) {
    for stmt in &block.stmts {
        match stmt {
            Stmt::Store { buffer, .. } => {
                stored.insert(*buffer);
            }
            Stmt::If(branch) => {
                stores_in(&branch.then_block, stored);
                stores_in(&branch.else_block, stored);
            }
            Stmt::Loop(inner) => stores_in(&inner.body, stored),
            Stmt::Let { .. } => {}
        }
    }
}

fn operand_mentions(operand: &Operand, var: Var) -> bool {
    operand.var() == Some(var)
}

fn loop_header_mentions(stmt: &LoopStmt, var: Var) -> bool {
    let mut used = BTreeSet::new();
    loop_header_reads(stmt, &mut used);
    used.contains(&var)
}

pub fn stmt_mentions(stmt: &Stmt, var: Var) -> bool {
    let mut used = BTreeSet::new();
    stmt_reads(stmt, &mut used);
    used.contains(&var)
}

/// Every variable a block reads, nested blocks included.
pub fn mentions_in(block: &Block, used: &mut BTreeSet<Var>) {
    for stmt in &block.stmts {
        stmt_reads(stmt, used);
    }
}

/// Every variable a statement reads, nested blocks included.
pub fn stmt_reads(stmt: &Stmt, used: &mut BTreeSet<Var>) {
    match stmt {
        Stmt::Let { op, .. } => {
            used.extend(op.operands().into_iter().filter_map(Operand::var));
            if let Op::Opaque { reads, shapes, .. } = op {
                used.extend(reads.iter().chain(shapes).copied());
            }
        }
        Stmt::Store {
            buffer, index, value, ..
        } => {
            used.insert(*buffer);
            used.extend(index.var());
            used.extend(value.var());
        }
        Stmt::If(branch) => {
            used.extend(branch.cond.var());
            for phi in &branch.outputs {
                used.extend(phi.then_value.var());
                used.extend(phi.else_value.var());
            }
            mentions_in(&branch.then_block, used);
            mentions_in(&branch.else_block, used);
        }
        Stmt::Loop(inner) => {
            loop_header_reads(inner, used);
            mentions_in(&inner.body, used);
        }
    }
}

fn loop_header_reads(stmt: &LoopStmt, used: &mut BTreeSet<Var>) {
    used.extend(stmt.start.var());
    used.extend(stmt.end.as_ref().and_then(Operand::var));
    for carried in &stmt.carried {
        used.extend(carried.init.var());
        used.extend(carried.next.var());
    }
}

/// Every variable a block defines, nested blocks included.
pub fn all_defined(block: &Block, defined: &mut BTreeSet<Var>) {
    for stmt in &block.stmts {
        match stmt {
            Stmt::Let { var, op, .. } => {
                defined.insert(*var);
                if let Op::Call { pullback, args, .. } = op {
                    defined.insert(*pullback);
                    defined.extend(args.iter().filter_map(|arg| arg.mutated));
                }
            }
            Stmt::If(branch) => {
                defined.insert(branch.record);
                defined.extend(branch.outputs.iter().map(|phi| phi.var));
                all_defined(&branch.then_block, defined);
                all_defined(&branch.else_block, defined);
            }
            Stmt::Loop(inner) => {
                defined.extend([inner.index, inner.tape, inner.trips]);
                defined.extend(inner.carried.iter().flat_map(|carried| [carried.head, carried.exit]));
                all_defined(&inner.body, defined);
            }
            Stmt::Store { .. } => {}
        }
    }
}
