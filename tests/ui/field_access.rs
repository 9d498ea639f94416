use chainrule::differentiate;

struct Params {
    k: f64,
}

#[differentiate]
fn f(x: f64, p: &Params) -> f64 {
    x * p.k
}

fn main() {}
