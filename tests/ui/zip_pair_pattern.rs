use chainrule::differentiate;

#[differentiate]
fn f(x: &[f64], y: &[f64]) -> f64 {
    let mut s = 0.0;
    for pair in x.iter().zip(y) {
        s += pair.0 * pair.1;
    }
    s
}

fn main() {}
