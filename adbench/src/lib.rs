//! ADBench objectives differentiated with chainrule.
//!
//! [ADBench](https://github.com/microsoft/ADBench) (Srajer, Kukelova and
//! Fitzgibbon, "A benchmark of selected algorithmic differentiation tools on
//! some problems in computer vision and machine learning", 2018) compares AD
//! tools on a few objectives written the way a C++ programmer writes them:
//! loops over raw arrays, small scratch buffers, `exp`/`log` in the inner
//! loops. This crate writes those objectives once, as plain Rust over slices,
//! puts `#[differentiate]` on them and checks and times the generated
//! gradients.
//!
//! - [`gmm`]: the Gaussian mixture model log-likelihood with a Wishart prior,
//!   its ADBench file reader and an independent reference implementation.
//! - [`gmm_hand`]: a gradient of the same objective derived by hand, the
//!   baseline the generated one is timed against.
//!
//! The data files live outside the repository, in
//! `../shared/data/adbench/` relative to the workspace root; the tests and the
//! benchmark skip with a message when they are absent.
//!
//! ```text
//! cargo test -p chainrule-adbench
//! cargo bench -p chainrule-adbench --bench gmm                             # table, then divan
//! CHAINRULE_BENCH_TABLE_ONLY=1 cargo bench -p chainrule-adbench --bench gmm  # the table only
//! ```

pub mod gmm;
pub mod gmm_hand;
