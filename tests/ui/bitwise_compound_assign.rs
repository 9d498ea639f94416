use chainrule::differentiate;

#[differentiate]
fn f(x: f64) -> f64 {
    let mut n = 1;
    n <<= 2;
    x * n as f64
}

fn main() {}
