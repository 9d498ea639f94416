//! Error collection.
//!
//! Every stage reports problems here instead of stopping at the first one, so a
//! user sees all the unsupported constructs of a function in one compile. At the
//! end of expansion the errors are combined into one `syn::Error`, which renders
//! as one `compile_error!` per problem, each spanned on its own expression.

use std::fmt::Display;

use quote::ToTokens;

#[derive(Default)]
pub struct Ctxt {
    errors: Vec<syn::Error>,
}

impl Ctxt {
    /// Records an error spanned on the tokens of `at`.
    pub fn error_spanned_by<T: ToTokens, M: Display>(&mut self, at: T, message: M) {
        self.errors
            .push(syn::Error::new_spanned(at.into_token_stream(), message));
    }

    /// Records an error at an explicit span.
    pub fn error_at<M: Display>(&mut self, span: proc_macro2::Span, message: M) {
        self.errors.push(syn::Error::new(span, message));
    }

    /// Records an error produced by syn itself (a parse error).
    pub fn syn_error(&mut self, error: syn::Error) {
        self.errors.push(error);
    }

    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }

    /// How many errors have been recorded so far.
    pub fn error_count(&self) -> usize {
        self.errors.len()
    }

    /// All errors recorded so far, combined into one.
    pub fn check(self) -> Result<(), syn::Error> {
        let mut errors = self.errors.into_iter();
        let Some(mut combined) = errors.next() else {
            return Ok(());
        };
        for error in errors {
            combined.combine(error);
        }
        Err(combined)
    }
}
