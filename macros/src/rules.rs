//! The rule table: every operation chainrule can differentiate, with its
//! derivative written beside it.
//!
//! A rule lists, for each operand a derivative flows to, the runtime kernel
//! that accumulates that operand's adjoint and the primal values the kernel
//! reads. The generated adjoint sweep calls
//! `::chainrule::rules::KERNEL(&mut adj_operand, &adj_out, &reads...)`.
//! Notation: `y` is the result, `ȳ` its adjoint, `a` the receiver (or left
//! operand), `b`, `c` the following arguments. The kernels themselves live in
//! `runtime/src/rules/`, with the same formulas.
//!
//! Knowing which primal values each kernel reads is what lets the reverse
//! transform keep only those values alive for the adjoint sweep.

use crate::ir::BinaryOp;

/// A primal value a kernel reads.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Input {
    /// The operation's result `y`.
    Out,
    /// Operand `i`: 0 is the receiver or left operand.
    Arg(usize),
}

/// How the adjoint flows to one operand.
pub struct Pullback {
    pub operand: usize,
    pub kernel: &'static str,
    pub reads: &'static [Input],
}

pub struct Rule {
    pub name: &'static str,
    /// Number of operands, the receiver included.
    pub arity: usize,
    /// One entry per operand a derivative flows to. Empty for functions
    /// whose derivative is zero wherever it exists (`signum`).
    pub pullbacks: &'static [Pullback],
}

use Input::{Arg, Out};

const fn pb(operand: usize, kernel: &'static str, reads: &'static [Input]) -> Pullback {
    Pullback { operand, kernel, reads }
}

/// The arithmetic operators.
pub fn binary_rule(op: BinaryOp) -> Option<&'static Rule> {
    match op {
        // y = a + b: ā += ȳ, b̄ += ȳ
        BinaryOp::Add => Some(&ADD),
        // y = a − b: ā += ȳ, b̄ −= ȳ
        BinaryOp::Sub => Some(&SUB),
        // y = a·b: ā += ȳ·bᵀ, b̄ += aᵀ·ȳ
        BinaryOp::Mul => Some(&MUL),
        // y = a / b: ā += ȳ / b, b̄ −= ȳ·y / b
        BinaryOp::Div => Some(&DIV),
        BinaryOp::Rem => None,
    }
}

static ADD: Rule = Rule {
    name: "+",
    arity: 2,
    pullbacks: &[pb(0, "add_pb_lhs", &[]), pb(1, "add_pb_rhs", &[])],
};
static SUB: Rule = Rule {
    name: "-",
    arity: 2,
    pullbacks: &[pb(0, "sub_pb_lhs", &[]), pb(1, "sub_pb_rhs", &[])],
};
static MUL: Rule = Rule {
    name: "*",
    arity: 2,
    pullbacks: &[pb(0, "mul_pb_lhs", &[Arg(1)]), pb(1, "mul_pb_rhs", &[Arg(0)])],
};
/// A product of a value with its own transpose, `aᵀ·a` (`transposed_first`)
/// or `a·aᵀ`: [`binary_rule`]'s two pullbacks would each add half of its
/// adjoint with a product of their own; this rule adds both halves with one.
pub fn self_product_rule(transposed_first: bool) -> &'static Rule {
    if transposed_first {
        // y = aᵀ·a: ā += a·(ȳ + ȳᵀ)
        &GRAM_OF_COLUMNS
    } else {
        // y = a·aᵀ: ā += (ȳ + ȳᵀ)·a
        &GRAM_OF_ROWS
    }
}

static GRAM_OF_COLUMNS: Rule = Rule {
    name: "*",
    arity: 2,
    pullbacks: &[pb(1, "gram_of_columns_pb", &[Arg(1)])],
};
static GRAM_OF_ROWS: Rule = Rule {
    name: "*",
    arity: 2,
    pullbacks: &[pb(0, "gram_of_rows_pb", &[Arg(0)])],
};
static DIV: Rule = Rule {
    name: "/",
    arity: 2,
    pullbacks: &[pb(0, "div_pb_lhs", &[Arg(1)]), pb(1, "div_pb_rhs", &[Out, Arg(1)])],
};

/// y = −a: ā −= ȳ
pub static NEG: Rule = Rule {
    name: "-",
    arity: 1,
    pullbacks: &[pb(0, "neg_pb", &[])],
};

/// The methods of `f64` (also callable as `f64::name(a, ...)`).
pub static METHODS: &[Rule] = &[
    // y = eᵃ: ā += ȳ·y
    Rule {
        name: "exp",
        arity: 1,
        pullbacks: &[pb(0, "exp_pb", &[Out])],
    },
    // y = 2ᵃ: ā += ȳ·y·ln 2
    Rule {
        name: "exp2",
        arity: 1,
        pullbacks: &[pb(0, "exp2_pb", &[Out])],
    },
    // y = eᵃ − 1: ā += ȳ·(y + 1)
    Rule {
        name: "exp_m1",
        arity: 1,
        pullbacks: &[pb(0, "exp_m1_pb", &[Out])],
    },
    // y = ln a: ā += ȳ / a
    Rule {
        name: "ln",
        arity: 1,
        pullbacks: &[pb(0, "ln_pb", &[Arg(0)])],
    },
    // y = ln a / ln b: ā += ȳ / (a ln b), b̄ −= ȳ·y / (b ln b)
    Rule {
        name: "log",
        arity: 2,
        pullbacks: &[
            pb(0, "log_pb_value", &[Arg(0), Arg(1)]),
            pb(1, "log_pb_base", &[Out, Arg(1)]),
        ],
    },
    // y = log₂ a: ā += ȳ / (a ln 2)
    Rule {
        name: "log2",
        arity: 1,
        pullbacks: &[pb(0, "log2_pb", &[Arg(0)])],
    },
    // y = log₁₀ a: ā += ȳ / (a ln 10)
    Rule {
        name: "log10",
        arity: 1,
        pullbacks: &[pb(0, "log10_pb", &[Arg(0)])],
    },
    // y = ln(1 + a): ā += ȳ / (1 + a)
    Rule {
        name: "ln_1p",
        arity: 1,
        pullbacks: &[pb(0, "ln_1p_pb", &[Arg(0)])],
    },
    // y = √a: ā += ȳ / (2y)
    Rule {
        name: "sqrt",
        arity: 1,
        pullbacks: &[pb(0, "sqrt_pb", &[Out])],
    },
    // y = ∛a: ā += ȳ / (3y²)
    Rule {
        name: "cbrt",
        arity: 1,
        pullbacks: &[pb(0, "cbrt_pb", &[Out])],
    },
    // y = aⁿ (n an integer constant): ā += ȳ·n·aⁿ⁻¹
    Rule {
        name: "powi",
        arity: 2,
        pullbacks: &[pb(0, "powi_pb", &[Arg(0), Arg(1)])],
    },
    // y = aᵇ: ā += ȳ·b·aᵇ⁻¹, b̄ += ȳ·y·ln a (0 where y = 0)
    Rule {
        name: "powf",
        arity: 2,
        pullbacks: &[
            pb(0, "powf_pb_base", &[Arg(0), Arg(1)]),
            pb(1, "powf_pb_exponent", &[Out, Arg(0)]),
        ],
    },
    // y = 1 / a: ā −= ȳ·y²
    Rule {
        name: "recip",
        arity: 1,
        pullbacks: &[pb(0, "recip_pb", &[Out])],
    },
    // y = a·180/π: ā += ȳ·180/π
    Rule {
        name: "to_degrees",
        arity: 1,
        pullbacks: &[pb(0, "to_degrees_pb", &[])],
    },
    // y = a·π/180: ā += ȳ·π/180
    Rule {
        name: "to_radians",
        arity: 1,
        pullbacks: &[pb(0, "to_radians_pb", &[])],
    },
    // y = |a|: ā += ȳ·sign(a), with |·|'(0) = 0
    Rule {
        name: "abs",
        arity: 1,
        pullbacks: &[pb(0, "abs_pb", &[Arg(0)])],
    },
    // y = sign(a), ⌊a⌋, ⌈a⌉, round(a), trunc(a): piecewise constant, zero
    // derivative wherever it exists (the convention of JAX and PyTorch)
    Rule {
        name: "signum",
        arity: 1,
        pullbacks: &[],
    },
    Rule {
        name: "floor",
        arity: 1,
        pullbacks: &[],
    },
    Rule {
        name: "ceil",
        arity: 1,
        pullbacks: &[],
    },
    Rule {
        name: "round",
        arity: 1,
        pullbacks: &[],
    },
    Rule {
        name: "trunc",
        arity: 1,
        pullbacks: &[],
    },
    // y = a − trunc(a): ā += ȳ
    Rule {
        name: "fract",
        arity: 1,
        pullbacks: &[pb(0, "add_pb_lhs", &[])],
    },
    // y = sin a: ā += ȳ·cos a
    Rule {
        name: "sin",
        arity: 1,
        pullbacks: &[pb(0, "sin_pb", &[Arg(0)])],
    },
    // y = cos a: ā −= ȳ·sin a
    Rule {
        name: "cos",
        arity: 1,
        pullbacks: &[pb(0, "cos_pb", &[Arg(0)])],
    },
    // y = tan a: ā += ȳ·(1 + y²)
    Rule {
        name: "tan",
        arity: 1,
        pullbacks: &[pb(0, "tan_pb", &[Out])],
    },
    // y = asin a: ā += ȳ / √(1 − a²)
    Rule {
        name: "asin",
        arity: 1,
        pullbacks: &[pb(0, "asin_pb", &[Arg(0)])],
    },
    // y = acos a: ā −= ȳ / √(1 − a²)
    Rule {
        name: "acos",
        arity: 1,
        pullbacks: &[pb(0, "acos_pb", &[Arg(0)])],
    },
    // y = atan a: ā += ȳ / (1 + a²)
    Rule {
        name: "atan",
        arity: 1,
        pullbacks: &[pb(0, "atan_pb", &[Arg(0)])],
    },
    // y = atan2(a, b): ā += ȳ·b / (a² + b²), b̄ −= ȳ·a / (a² + b²)
    Rule {
        name: "atan2",
        arity: 2,
        pullbacks: &[
            pb(0, "atan2_pb_lhs", &[Arg(0), Arg(1)]),
            pb(1, "atan2_pb_rhs", &[Arg(0), Arg(1)]),
        ],
    },
    // y = sinh a: ā += ȳ·cosh a
    Rule {
        name: "sinh",
        arity: 1,
        pullbacks: &[pb(0, "sinh_pb", &[Arg(0)])],
    },
    // y = cosh a: ā += ȳ·sinh a
    Rule {
        name: "cosh",
        arity: 1,
        pullbacks: &[pb(0, "cosh_pb", &[Arg(0)])],
    },
    // y = tanh a: ā += ȳ·(1 − y²)
    Rule {
        name: "tanh",
        arity: 1,
        pullbacks: &[pb(0, "tanh_pb", &[Out])],
    },
    // y = asinh a: ā += ȳ / √(a² + 1)
    Rule {
        name: "asinh",
        arity: 1,
        pullbacks: &[pb(0, "asinh_pb", &[Arg(0)])],
    },
    // y = acosh a: ā += ȳ / √(a² − 1)
    Rule {
        name: "acosh",
        arity: 1,
        pullbacks: &[pb(0, "acosh_pb", &[Arg(0)])],
    },
    // y = atanh a: ā += ȳ / (1 − a²)
    Rule {
        name: "atanh",
        arity: 1,
        pullbacks: &[pb(0, "atanh_pb", &[Arg(0)])],
    },
    // y = √(a² + b²): ā += ȳ·a / y, b̄ += ȳ·b / y (0 where y = 0)
    Rule {
        name: "hypot",
        arity: 2,
        pullbacks: &[pb(0, "hypot_pb", &[Out, Arg(0)]), pb(1, "hypot_pb", &[Out, Arg(1)])],
    },
    // y = max(a, b): the operand equal to y gets ȳ, `a` on ties
    Rule {
        name: "max",
        arity: 2,
        pullbacks: &[
            pb(0, "select_pb_first", &[Out, Arg(0)]),
            pb(1, "select_pb_second", &[Out, Arg(0)]),
        ],
    },
    // y = min(a, b): the operand equal to y gets ȳ, `a` on ties
    Rule {
        name: "min",
        arity: 2,
        pullbacks: &[
            pb(0, "select_pb_first", &[Out, Arg(0)]),
            pb(1, "select_pb_second", &[Out, Arg(0)]),
        ],
    },
    // y = a·b + c: ā += ȳ·b, b̄ += ȳ·a, c̄ += ȳ
    Rule {
        name: "mul_add",
        arity: 3,
        pullbacks: &[
            pb(0, "mul_pb_lhs", &[Arg(1)]),
            pb(1, "mul_pb_rhs", &[Arg(0)]),
            pb(2, "add_pb_rhs", &[]),
        ],
    },
    // y = clamp(a, lo, hi): ȳ goes to whichever of a, lo, hi equals y, `a` first
    Rule {
        name: "clamp",
        arity: 3,
        pullbacks: &[
            pb(0, "clamp_pb_value", &[Out, Arg(0)]),
            pb(1, "clamp_pb_low", &[Out, Arg(0), Arg(1)]),
            pb(2, "clamp_pb_high", &[Out, Arg(0), Arg(1)]),
        ],
    },
];

/// Quotients and products that the forward transform writes into the
/// tangents of functions whose derivative is infinite where the function is
/// finite (√a and ∛a at 0, asin and acos at ±1, acosh at 1, aᵇ at a = 0 with
/// b < 1). `f_hvp` differentiates those tangents again, and where one is not
/// used (`x.sqrt().max(y)` taking `y`) its adjoint is 0: the rules of `/` and
/// `*` would add 0·∞ = NaN there. These add nothing where ȳ = 0. They are
/// emitted as `::chainrule::rules::tangent_div(t, d)` and `tangent_mul(f, t)`;
/// the `chainrule_` prefix keeps their names apart from any method a user
/// writes.
pub static TANGENT_METHODS: &[Rule] = &[
    // y = t / d: t̄ += ȳ / d, d̄ −= ȳ·y / d, nothing where ȳ = 0
    Rule {
        name: "chainrule_tangent_div",
        arity: 2,
        pullbacks: &[
            pb(0, "tangent_div_pb_lhs", &[Arg(1)]),
            pb(1, "tangent_div_pb_rhs", &[Out, Arg(1)]),
        ],
    },
    // y = f·t: f̄ += ȳ·t, t̄ += ȳ·f, nothing where ȳ = 0
    Rule {
        name: "chainrule_tangent_mul",
        arity: 2,
        pullbacks: &[pb(0, "tangent_mul_pb", &[Arg(1)]), pb(1, "tangent_mul_pb", &[Arg(0)])],
    },
];

/// Methods whose result carries no derivative (a `bool` or an ordering):
/// they may be called on any value and are kept as written.
pub static PREDICATES: &[&str] = &[
    "is_nan",
    "is_infinite",
    "is_finite",
    "is_normal",
    "is_subnormal",
    "is_sign_positive",
    "is_sign_negative",
    "partial_cmp",
    "total_cmp",
    "to_bits",
    // Shape queries: integers.
    "nrows",
    "ncols",
    "shape",
    "len",
    "is_empty",
];

/// Methods that read the shape of their receiver, not its values.
pub static SHAPE_QUERIES: &[&str] = &["nrows", "ncols", "shape", "len", "is_empty"];

/// The shape queries that give a length, a `usize`.
pub static LENGTH_QUERIES: &[&str] = &["len", "nrows", "ncols"];

/// Methods of slices and `Vec` that change their receiver in place; allowed
/// on constant buffers (a permutation `p.swap(i, j)`), which they make
/// change without an element store.
pub static IN_PLACE_METHODS: &[&str] = &[
    "swap",
    "fill",
    "reverse",
    "sort",
    "sort_unstable",
    "rotate_left",
    "rotate_right",
    "copy_from_slice",
    "clone_from_slice",
    "push",
    "pop",
    "clear",
    "truncate",
    "resize",
    "extend_from_slice",
    "insert",
    "remove",
    "swap_remove",
    "retain",
    "dedup",
];

/// The functions of `chainrule::ops`, which take any operand (owned,
/// reference or view) and are differentiated through their split forms.
pub static OPS_FUNCTIONS: &[&str] = &[
    "hadamard",
    "add_scalar",
    "exp",
    "ln",
    "sqrt",
    "tanh",
    "sigmoid",
    "relu",
    "powi",
    "dot",
    "sum",
];

/// Methods of faer values that return a view of a part of their receiver,
/// which borrows it.
pub static VIEWS: &[&str] = &["row", "col"];

/// Methods that return a view of their receiver as it is: the same value.
pub static ALIASES: &[&str] = &["as_ref"];

/// Methods of faer vectors and matrices. `a` is the receiver.
pub static ARRAY_METHODS: &[Rule] = &[
    // y = Σ aᵢⱼ: ā += ȳ·1
    Rule {
        name: "sum",
        arity: 1,
        pullbacks: &[pb(0, "sum_pb", &[])],
    },
    // y = ‖a‖²: ā += 2ȳ·a
    Rule {
        name: "squared_norm_l2",
        arity: 1,
        pullbacks: &[pb(0, "squared_norm_pb", &[Arg(0)])],
    },
    // y = ‖a‖: ā += ȳ·a / y (0 where y = 0)
    Rule {
        name: "norm_l2",
        arity: 1,
        pullbacks: &[pb(0, "norm_pb", &[Out, Arg(0)])],
    },
    // y = a.row(i): ā.row(i) += ȳ
    Rule {
        name: "row",
        arity: 2,
        pullbacks: &[pb(0, "row_pb", &[Arg(1)])],
    },
    // y = a.col(j): ā.col(j) += ȳ
    Rule {
        name: "col",
        arity: 2,
        pullbacks: &[pb(0, "col_pb", &[Arg(1)])],
    },
    // y = a, a copy (`x.transpose().to_owned()`, `m.clone()`, `xs.to_vec()`): ā += ȳ
    Rule {
        name: "to_owned",
        arity: 1,
        pullbacks: &[pb(0, "add_pb_lhs", &[])],
    },
    Rule {
        name: "clone",
        arity: 1,
        pullbacks: &[pb(0, "add_pb_lhs", &[])],
    },
    Rule {
        name: "to_vec",
        arity: 1,
        pullbacks: &[pb(0, "add_pb_lhs", &[])],
    },
];

/// y = a[i] or a[(i, j)]: ā[i] += ȳ
pub static INDEX: Rule = Rule {
    name: "index",
    arity: 2,
    pullbacks: &[pb(0, "index_pb", &[Arg(1)])],
};

/// The rule of a method, if the table knows it.
pub fn method_rule(name: &str) -> Option<&'static Rule> {
    METHODS
        .iter()
        .chain(ARRAY_METHODS)
        .chain(TANGENT_METHODS)
        .find(|rule| rule.name == name)
}

/// Whether faer vectors and matrices have a rule for the method.
pub fn is_array_method(name: &str) -> bool {
    ARRAY_METHODS.iter().any(|rule| rule.name == name)
}

/// The names of all known methods, for error messages.
pub fn method_names() -> String {
    let names: Vec<&str> = METHODS.iter().map(|rule| rule.name).collect();
    let array_names: Vec<&str> = ARRAY_METHODS.iter().map(|rule| rule.name).collect();
    format!(
        "{} (on `f64`), `.transpose()`, {} (on faer values)",
        names.join(", "),
        array_names.join(", ")
    )
}

/// Whether a method's result is a scalar when its receiver is one or when
/// it reduces a vector or matrix.
pub fn method_gives_scalar(name: &str) -> bool {
    METHODS.iter().chain(TANGENT_METHODS).any(|rule| rule.name == name)
        || matches!(name, "sum" | "squared_norm_l2" | "norm_l2")
}
