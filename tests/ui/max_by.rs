use chainrule::differentiate;

#[differentiate]
fn f(xs: &[f64]) -> f64 {
    *xs.iter().max_by(|a, b| a.total_cmp(b)).unwrap()
}

fn main() {}
