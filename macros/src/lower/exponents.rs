//! Exponents of the wrong type: `x.powi(2.0)`, `x.powf(2)`, and `x.powi(n)`
//! with `n: usize` or `x.powi(xs.len())`.
//!
//! rustc reports each at the exponent, but the generated functions pass the
//! same exponent to the derivative rules, which would add errors of their
//! own at the attribute, one with a nonsensical suggestion. Found here, by
//! the exponent's literal or by the declared type of the parameter it names
//! (`usize` for `len()`, `nrows()` and `ncols()`), the expansion is the
//! function alone, and the error says what to write. Other exponents are
//! left to rustc, whose error then stands beside the generated code's.

use syn::{Expr, Lit};

use super::{Lowerer, strip_parens};
use crate::ir::{Operand, signed_literal};
use crate::rules;

/// An exponent whose type is known from how it is written.
enum Exponent {
    /// An integer literal that is an `i32` (no suffix, or `i32`).
    I32Literal(String),
    /// A float literal, written as `text`, with its value where that is a
    /// whole number.
    FloatLiteral { text: String, integral: Option<i64> },
    /// A value of an integer type other than `i32`: `code` is what the user
    /// wrote, or `None` for an expression too long to repeat.
    OtherInteger { code: Option<String>, ty: String },
}

impl Lowerer<'_> {
    /// Reports the exponent of a `powi` or `powf` call that it cannot take,
    /// and says what to write; whether it did.
    pub(super) fn report_exponent_type(&mut self, call: &syn::ExprMethodCall) -> bool {
        let method = call.method.to_string();
        if call.args.len() != 1 || !(method == "powi" || method == "powf") {
            return false;
        }
        let exponent = &call.args[0];
        let Some(found) = self.exponent(exponent) else {
            return false;
        };
        let message = match (method.as_str(), found) {
            ("powi", Exponent::FloatLiteral { integral: Some(n), .. }) => {
                format!("`powi` takes an `i32` exponent: write `powi({n})`")
            }
            ("powi", Exponent::FloatLiteral { text, integral: None }) => {
                format!("`powi` takes an `i32` exponent; for the power {text}, write `powf({text})`")
            }
            ("powi", Exponent::OtherInteger { code, ty }) => match code {
                Some(code) => {
                    format!("`powi` takes an `i32` exponent and `{code}` is a `{ty}`: write `powi({code} as i32)`")
                }
                None => format!("`powi` takes an `i32` exponent and this is a `{ty}`: convert it with `as i32`"),
            },
            ("powf", Exponent::I32Literal(n)) => {
                format!("`powf` takes an `f64` exponent: write `powf({n}.0)`, or `powi({n})` for an integer power")
            }
            ("powf", Exponent::OtherInteger { code, ty }) => match code {
                Some(code) => format!(
                    "`powf` takes an `f64` exponent and `{code}` is a `{ty}`: write `powi({code} as i32)`, or \
                     `powf({code} as f64)`"
                ),
                None => format!("`powf` takes an `f64` exponent and this is a `{ty}`: convert it with `as f64`"),
            },
            _ => return false,
        };
        self.cx.error_spanned_by(exponent, message);
        true
    }

    /// The type of `exponent` where its writing tells it.
    fn exponent(&self, exponent: &Expr) -> Option<Exponent> {
        if let Some((literal, negated)) = signed_literal(exponent) {
            return literal_exponent(literal, if negated { "-" } else { "" });
        }
        match strip_parens(exponent) {
            Expr::Path(path) => {
                let name = path.path.get_ident()?.to_string();
                let Some(Operand::Var(var)) = self.lookup(&name)?.value else {
                    return None;
                };
                let ty = self.integer_params.get(&var)?.clone();
                Some(Exponent::OtherInteger { code: Some(name), ty })
            }
            Expr::MethodCall(call)
                if call.args.is_empty() && rules::LENGTH_QUERIES.iter().any(|size| call.method == size) =>
            {
                let code = match strip_parens(&call.receiver) {
                    Expr::Path(path) => path.path.get_ident().map(|name| format!("{name}.{}()", call.method)),
                    _ => None,
                };
                Some(Exponent::OtherInteger {
                    code,
                    ty: "usize".to_owned(),
                })
            }
            _ => None,
        }
    }
}

/// The exponent a literal is, with `sign` (`"-"` or `""`) before it.
fn literal_exponent(literal: &Lit, sign: &str) -> Option<Exponent> {
    match literal {
        Lit::Int(int) => match int.suffix() {
            "" | "i32" => Some(Exponent::I32Literal(format!("{sign}{}", int.base10_digits()))),
            ty => Some(Exponent::OtherInteger {
                code: Some(format!("{sign}{}", int.base10_digits())),
                ty: ty.to_owned(),
            }),
        },
        Lit::Float(float) if matches!(float.suffix(), "" | "f64") => {
            let text = format!("{sign}{}", float.base10_digits());
            let value: f64 = text.parse().ok()?;
            let integral = (value.fract() == 0.0 && value.abs() <= f64::from(i32::MAX)).then_some(value as i64);
            Some(Exponent::FloatLiteral { text, integral })
        }
        _ => None,
    }
}

/// The name of an integer type other than `i32`, as the parameter's type
/// `ty` writes it.
pub(super) fn integer_other_than_i32(ty: &syn::Type) -> Option<String> {
    integer_type(ty).filter(|name| name != "i32")
}

/// The name of the primitive integer type `ty`, if it is one.
pub(super) fn integer_type(ty: &syn::Type) -> Option<String> {
    const INTEGERS: &[&str] = &[
        "usize", "isize", "u8", "u16", "u32", "u64", "u128", "i8", "i16", "i32", "i64", "i128",
    ];
    match ty {
        syn::Type::Path(path) if path.qself.is_none() => {
            let name = path.path.get_ident()?.to_string();
            INTEGERS.contains(&name.as_str()).then_some(name)
        }
        _ => None,
    }
}
