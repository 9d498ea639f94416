use chainrule::prelude::*;

#[differentiate(jacobian, layout = rows)]
fn f(x: &Col<f64>) -> Col<f64> {
    2.0 * x
}

fn main() {}
