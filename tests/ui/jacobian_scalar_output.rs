use chainrule::prelude::*;

#[differentiate(jacobian)]
fn f(x: &Col<f64>) -> f64 {
    x.sum()
}

fn main() {}
