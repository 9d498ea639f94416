use chainrule::differentiate;

#[differentiate]
fn total(v: &[f64]) -> f64 {
    v[0] + v[1]
}

#[differentiate]
fn f(x: f64) -> f64 {
    let mut v = vec![0.0; 2];
    v[0] = x;
    let sum = total(&v);
    v[1] = x * x;
    sum + v[1]
}

fn main() {}
