use chainrule::differentiate;

#[differentiate]
fn f(x: f64) -> f64 {
    x * f64::exp()
}

fn main() {}
