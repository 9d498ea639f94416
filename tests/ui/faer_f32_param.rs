use chainrule::prelude::*;

#[differentiate]
fn f(x: &Col<f32>) -> f64 {
    x.sum() as f64
}

fn main() {}
