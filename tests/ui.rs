//! Compile-fail tests: every diagnostic of `#[differentiate]`, checked
//! against the expected compiler output in `tests/ui/*.stderr`.
//!
//! Regenerate the expected output with `TRYBUILD=overwrite cargo test --test ui`
//! and review the diff.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}
