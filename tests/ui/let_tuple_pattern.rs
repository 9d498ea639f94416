use chainrule::differentiate;

#[differentiate]
fn f(x: f64, pair: (f64, f64)) -> f64 {
    let (a, b) = pair;
    x * a + b
}

fn main() {}
