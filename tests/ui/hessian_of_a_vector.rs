use chainrule::differentiate;
use chainrule::faer::Col;

#[differentiate(hessian)]
fn scaled(x: &Col<f64>, a: f64) -> Col<f64> {
    x * a
}

fn main() {}
