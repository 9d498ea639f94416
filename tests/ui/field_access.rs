use chainrule::differentiate;

#[differentiate]
fn f(x: f64) -> f64 {
    (x * x, x).0 * x
}

fn main() {}
