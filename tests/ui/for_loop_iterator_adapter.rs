use chainrule::differentiate;

#[differentiate]
fn f(x: f64, xs: &[f64]) -> f64 {
    let mut y = 0.0;
    for v in xs.iter().skip(1) {
        y += v * x;
    }
    y
}

fn main() {}
