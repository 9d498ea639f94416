use chainrule::differentiate;

#[differentiate]
fn f(xs: &[f64]) -> f64 {
    let last = *xs.last().unwrap();
    last * xs[0]
}

fn main() {}
