use chainrule::differentiate;

#[differentiate(wrt(x))]
fn scale(x: f64, k: f64) -> f64 {
    x * k
}

#[differentiate]
fn f(x: f64) -> f64 {
    scale(2.0, x)
}

fn main() {}
