use chainrule::differentiate;

#[differentiate]
fn f(x: f64, _: ...) -> f64 {
    x * x
}

fn main() {}
