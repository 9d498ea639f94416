use chainrule::differentiate;

#[differentiate(forward)]
fn square(x: f64) -> f64 {
    x * x
}

#[differentiate(hessian)]
fn f(x: f64, y: f64) -> f64 {
    square(x) * y
}

fn main() {}
