use chainrule::prelude::*;

#[differentiate(jacobian)]
fn f(x: &Col<f64>, s: f64) -> Col<f64> {
    s * x
}

fn main() {}
