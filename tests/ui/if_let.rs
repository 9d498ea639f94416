use chainrule::differentiate;

#[differentiate]
fn f(x: f64, n: Option<f64>) -> f64 {
    if let Some(k) = n { k * x } else { x }
}

fn main() {}
