use chainrule::differentiate;

#[differentiate]
fn f(xs: &[f64]) -> f64 {
    let m = xs.iter().copied().reduce(f64::max).unwrap();
    m * 2.0
}

fn main() {}
