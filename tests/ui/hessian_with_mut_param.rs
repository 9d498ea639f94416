use chainrule::prelude::*;

#[differentiate(hessian)]
fn f(x: f64, log: &mut f64) -> f64 {
    *log += x;
    x * x
}

fn main() {}
