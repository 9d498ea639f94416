use chainrule::differentiate;

#[differentiate]
fn f(x: &[f64], y: &[f64]) -> f64 {
    x.iter().chain(y.iter()).map(|a| a * a).sum::<f64>()
}

fn main() {}
