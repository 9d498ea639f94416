// `f64`'s methods on a faer value or a slice: faer has no `exp` or `sin`,
// and its `max()` of the elements has no rule. The error names what to
// write (an element-wise function of `chainrule::ops`, a `from_fn` or a
// fold) and nothing follows from the result it could not differentiate.
use chainrule::differentiate;
use faer::{Col, Mat};

#[differentiate]
fn exponentials(x: &Col<f64>) -> f64 {
    x.exp().sum()
}

#[differentiate]
fn sines(a: &Mat<f64>) -> f64 {
    a.sin().sum()
}

#[differentiate]
fn largest(x: &Col<f64>) -> f64 {
    x.max().unwrap() * 2.0
}

#[differentiate]
fn squares(xs: &[f64]) -> f64 {
    xs.powi(2).iter().sum()
}

fn main() {}
