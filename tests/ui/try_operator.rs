use chainrule::differentiate;

#[differentiate]
fn f(x: f64, k: Option<f64>) -> f64 {
    let k = k?;
    x * k
}

fn main() {}
