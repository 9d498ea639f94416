use chainrule::differentiate;

#[differentiate]
fn f(x: f64) -> f64 {
    let v = vec![x; 2; 3];
    v[0]
}

fn main() {}
