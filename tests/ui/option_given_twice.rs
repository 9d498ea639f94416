use chainrule::prelude::*;

#[differentiate(forward, jacobian, forward)]
fn f(x: &Col<f64>) -> Col<f64> {
    2.0 * x
}

fn main() {}
