use chainrule::differentiate;
use std::ops::Mul;

#[differentiate]
fn f(x: f64, y: f64) -> f64 {
    x.mul(y)
}

fn main() {}
