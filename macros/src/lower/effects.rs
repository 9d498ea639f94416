//! Macros run for their effect: `assert!`, `assert_eq!`, `println!`,
//! `panic!` and their relatives, and `dbg!`, which also passes its value on.
//!
//! They compute nothing a derivative depends on, so each becomes an opaque
//! statement that every generated function runs where the user wrote it,
//! with the values the variables it names hold there: the macro's arguments
//! are parsed as expressions and their reads renamed like those of any
//! opaque expression. A format string can name variables too (`"{x}"`,
//! `"{v:.prec$}"`), which renaming cannot reach and which the hygienic names
//! of generated code would not resolve: each such capture of a local becomes
//! an explicit named argument (`x = x_2`). Nothing else changes, so an
//! `assert!` guards the gradient as it guards the function, and a
//! `println!` prints once per call of a generated function (loops that run
//! twice in the adjoint sweep are never chosen for a body that prints; see
//! `replay.rs`).

use quote::{ToTokens, quote};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::{Expr, Token};

use super::{Lowerer, OpaqueChecker, Renamed};
use crate::ir::{Op, Operand, Origin, Stmt, Var};

/// The macros run for their effect, with the position of their format string
/// among their arguments.
const EFFECT_MACROS: &[(&str, usize)] = &[
    ("assert", 1),
    ("debug_assert", 1),
    ("assert_eq", 2),
    ("assert_ne", 2),
    ("debug_assert_eq", 2),
    ("debug_assert_ne", 2),
    ("println", 0),
    ("print", 0),
    ("eprintln", 0),
    ("eprint", 0),
    ("panic", 0),
    ("unreachable", 0),
    ("todo", 0),
    ("unimplemented", 0),
];

/// The position of the format string of `mac`'s arguments if `mac` is run for
/// its effect.
pub(super) fn effect_macro(mac: &syn::Macro) -> Option<usize> {
    let name = mac.path.get_ident()?.to_string();
    EFFECT_MACROS
        .iter()
        .find(|(known, _)| *known == name)
        .map(|(_, format_at)| *format_at)
}

/// Whether `expr` is one of the effect macros, which must run exactly once
/// where it stands.
pub fn is_effect(expr: &Expr) -> bool {
    matches!(expr, Expr::Macro(mac) if effect_macro(&mac.mac).is_some())
}

impl Lowerer<'_> {
    /// `dbg!(value)`: the value, lowered like any expression so that its
    /// derivative flows on, and an effect that prints it as `dbg!` does
    /// (`[src/lib.rs:7:13] x * 2.0 = 3.0` on stderr) with the user's own text.
    pub(super) fn lower_dbg(&mut self, mac: &syn::Macro, out: &mut Vec<Stmt>) -> Operand {
        let placeholder = Operand::Const(syn::parse_quote!(()));
        let args = match mac.parse_body_with(Punctuated::<Expr, Token![,]>::parse_terminated) {
            Ok(args) if args.len() == 1 => args,
            _ => {
                self.cx
                    .error_spanned_by(mac, "write `dbg!(value)` with one value in a #[differentiate] function");
                return placeholder;
            }
        };
        let value = self.lower_expr(&args[0], out);
        let printed = value.to_code(&self.vars);
        let text = &mac.tokens;
        let span = mac.path.span();
        let eprintln = syn::Ident::new("eprintln", span);
        let expr: Expr = syn::parse_quote_spanned!(span=>
            #eprintln!(
                "[{}:{}:{}] {} = {:#?}",
                ::core::file!(),
                ::core::line!(),
                ::core::column!(),
                ::core::stringify!(#text),
                &#printed
            )
        );
        let origin = Origin::of(mac);
        self.emit_effect(expr, value.var().into_iter().collect(), Vec::new(), origin, out);
        // A copy, which `let y = dbg!(…)` may name `y`: the print has
        // `value`'s identifier written into it.
        self.emit(
            out,
            "dbg",
            origin,
            Op::Method {
                method: syn::Ident::new("clone", span),
                receiver: value,
                args: Vec::new(),
                path: None,
            },
        )
    }

    /// `assert!(x > 0.0, "{x}")` and its relatives: an opaque statement with
    /// its reads renamed. Its value is `()` (or `!`).
    pub(super) fn lower_effect(&mut self, mac: &syn::Macro, format_at: usize, out: &mut Vec<Stmt>) -> Operand {
        let origin = Origin::of(mac);
        let placeholder = Operand::Const(syn::parse_quote!(()));
        let args = match mac.parse_body_with(Punctuated::<Expr, Token![,]>::parse_terminated) {
            Ok(args) => args,
            Err(error) => {
                self.cx.error_at(
                    error.span(),
                    format!(
                        "chainrule could not read the arguments of this `{}!`: {error}",
                        name_of(mac)
                    ),
                );
                return placeholder;
            }
        };
        let mut renamed_args = Vec::new();
        let mut named = Vec::new();
        let mut all_reads = Vec::new();
        let mut all_shapes = Vec::new();
        for arg in &args {
            // `name = value`: only the value reads variables.
            let (name, value) = match arg {
                Expr::Assign(assign) => (Some(&assign.left), &*assign.right),
                value => (None, value),
            };
            let mut checker = OpaqueChecker { problem: None };
            checker.visit_expr(value);
            if let Some((span, message)) = checker.problem {
                self.cx.error_at(span, message);
                return placeholder;
            }
            let Renamed {
                expr, reads, shapes, ..
            } = self.rename_reads(value);
            all_reads.extend(reads);
            all_shapes.extend(shapes);
            renamed_args.push(match name {
                Some(name) => {
                    named.push(name.to_token_stream().to_string());
                    quote!(#name = #expr)
                }
                None => expr.to_token_stream(),
            });
        }
        // `assert!(c)` names the condition that failed as the user wrote it,
        // not renamed (`s_3 > 0.0`).
        if format_at == 1 && args.len() == 1 {
            // The user's own tokens: re-quoting the parsed `syn::Expr` would
            // space them differently (`- 1.0`).
            let condition = &mac.tokens;
            renamed_args.push(quote!(
                "{}",
                ::core::concat!("assertion failed: ", ::core::stringify!(#condition))
            ));
        }
        if let Some(Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(format),
            ..
        })) = args.iter().nth(format_at)
        {
            for capture in format_captures(&format.value()) {
                // Constants and statics named by the string need nothing.
                if named.contains(&capture) || self.lookup(&capture).is_none() {
                    continue;
                }
                let name = syn::Ident::new(&capture, format.span());
                let Renamed {
                    expr, reads, shapes, ..
                } = self.rename_reads(&syn::parse_quote!(#name));
                all_reads.extend(reads);
                all_shapes.extend(shapes);
                renamed_args.push(quote!(#name = #expr));
                named.push(capture);
            }
        }
        for vars in [&mut all_reads, &mut all_shapes] {
            vars.sort();
            vars.dedup();
        }
        let expr = Expr::Macro(syn::ExprMacro {
            attrs: Vec::new(),
            mac: syn::Macro {
                tokens: quote!(#(#renamed_args),*),
                ..mac.clone()
            },
        });
        self.emit_effect(expr, all_reads, all_shapes, origin, out)
    }

    /// An opaque statement run for its effect, reading `reads` and the
    /// shapes of `shapes`.
    fn emit_effect(
        &mut self,
        expr: Expr,
        reads: Vec<Var>,
        shapes: Vec<Var>,
        origin: Origin,
        out: &mut Vec<Stmt>,
    ) -> Operand {
        let op = Op::Opaque {
            expr,
            reads,
            shapes,
            changes: Vec::new(),
        };
        self.emit(out, "effect", origin, op)
    }
}

fn name_of(mac: &syn::Macro) -> String {
    mac.path.to_token_stream().to_string().replace(' ', "")
}

/// The variables a format string names: `{x}`, `{x:?}`, and the widths and
/// precisions `{:w$}`, `{:.p$}`; not positions (`{0}`) or escaped braces.
fn format_captures(format: &str) -> Vec<String> {
    let mut captures = Vec::new();
    let mut rest = format;
    while let Some(open) = rest.find('{') {
        rest = &rest[open + 1..];
        if let Some(escaped) = rest.strip_prefix('{') {
            rest = escaped;
            continue;
        }
        let close = rest.find('}').unwrap_or(rest.len());
        let field = &rest[..close];
        rest = &rest[close..];
        let (argument, spec) = field.split_once(':').unwrap_or((field, ""));
        captures.extend(identifier(argument.trim()));
        // `w$` and `.p$` in the spec name variables too.
        for (dollar, _) in spec.match_indices('$') {
            let before = &spec[..dollar];
            let start = before
                .rfind(|c: char| !(c.is_alphanumeric() || c == '_'))
                .map_or(0, |i| i + 1);
            captures.extend(identifier(&before[start..]));
        }
    }
    captures.sort();
    captures.dedup();
    captures
}

/// `text` if it is an identifier (not a position, not empty, not `_`).
fn identifier(text: &str) -> Option<String> {
    let first = text.chars().next()?;
    let valid =
        (first.is_alphabetic() || first == '_') && text.chars().all(|c| c.is_alphanumeric() || c == '_') && text != "_";
    valid.then(|| text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::format_captures;

    #[test]
    fn finds_the_variables_a_format_string_names() {
        assert_eq!(
            format_captures("{x} {y:?} {{z}} {0} {} {w:>width$.prec$}"),
            ["prec", "w", "width", "x", "y"]
        );
        assert_eq!(format_captures("{:.p$} {_}"), ["p"]);
        assert!(format_captures("no fields {{}}").is_empty());
    }
}
