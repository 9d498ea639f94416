use chainrule::differentiate;

#[differentiate]
fn f(xs: &[f64]) -> f64 {
    *xs.iter().max_by(|a, b| a.total_cmp(b)).unwrap()
}

#[differentiate]
fn g(xs: &[f64]) -> f64 {
    let m = xs.iter().cloned().max_by(|a, b| a.partial_cmp(b).unwrap()).unwrap();
    m * m
}

fn main() {}
