//! faer's constructor macros `col![a, b]`, `row![a, b]` and
//! `mat![[a, b], [c, d]]`, whose entries may have derivatives.
//!
//! chainrule cannot see inside a macro, so each one is rewritten, as `syn`,
//! into what it builds: a faer value of zeros of its size, then one element
//! write per entry, `v[i] = a` or `m[(i, j)] = a`. Those writes are lowered
//! like ones the user wrote, so each entry's derivative flows back from the
//! element it is stored in, in every mode.

use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, Token};

use super::Lowerer;
use crate::ir::{Operand, Stmt};

impl Lowerer<'_> {
    /// `col![…]`, `row![…]`, `mat![[…], …]` (also as `faer::col!`): the
    /// value built entry by entry. `None` for other macros.
    pub(super) fn lower_faer_macro(&mut self, mac: &syn::Macro, out: &mut Vec<Stmt>) -> Option<Operand> {
        let segments = &mac.path.segments;
        let kind = segments.last()?.ident.to_string();
        let from_faer = segments.len() == 1 || segments[segments.len() - 2].ident == "faer";
        if !from_faer || !matches!(kind.as_str(), "col" | "row" | "mat") {
            return None;
        }
        let span = mac.span();
        let value = self.names.fresh(&format!("chainrule_{kind}"));
        let Ok(entries) = mac.parse_body_with(Punctuated::<Expr, Token![,]>::parse_terminated) else {
            self.cx.error_spanned_by(
                mac,
                format!("write `{kind}![a, b, …]` with entries separated by commas"),
            );
            return Some(Operand::Const(syn::parse_quote!(())));
        };
        let mut block: Vec<syn::Stmt> = Vec::new();
        if kind == "mat" {
            let mut rows = Vec::new();
            for row in &entries {
                match row {
                    Expr::Array(row) => rows.push(row.elems.iter().collect::<Vec<_>>()),
                    row => {
                        self.cx.error_spanned_by(row, "write each row of `mat!` as `[a, b, …]`");
                        return Some(Operand::Const(syn::parse_quote!(())));
                    }
                }
            }
            let columns = rows.first().map_or(0, Vec::len);
            if let Some(ragged) = entries.iter().zip(&rows).find(|(_, row)| row.len() != columns) {
                self.cx.error_spanned_by(
                    ragged.0,
                    format!("every row of `mat!` needs the same number of entries as the first, {columns}"),
                );
                return Some(Operand::Const(syn::parse_quote!(())));
            }
            let nrows = rows.len();
            block.push(syn::parse_quote_spanned!(span=>
                let mut #value = ::chainrule::faer::Mat::<f64>::zeros(#nrows, #columns);
            ));
            for (i, row) in rows.iter().enumerate() {
                for (j, entry) in row.iter().enumerate() {
                    block.push(syn::parse_quote_spanned!(entry.span()=> #value[(#i, #j)] = #entry;));
                }
            }
        } else {
            let constructor: syn::Path = if kind == "col" {
                syn::parse_quote!(::chainrule::faer::Col::<f64>::zeros)
            } else {
                syn::parse_quote!(::chainrule::faer::Row::<f64>::zeros)
            };
            let len = entries.len();
            block.push(syn::parse_quote_spanned!(span=> let mut #value = #constructor(#len);));
            for (i, entry) in entries.iter().enumerate() {
                block.push(syn::parse_quote_spanned!(entry.span()=> #value[#i] = #entry;));
            }
        }
        block.push(syn::Stmt::Expr(syn::parse_quote!(#value), None));
        Some(self.lower_expr(&syn::parse_quote_spanned!(span=> { #(#block)* }), out))
    }
}
