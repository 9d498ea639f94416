use chainrule::differentiate;

#[differentiate]
fn f(x: f64, xs: &[f64]) -> f64 {
    let mut y = 0.0;
    for (a, b) in xs.iter().zip(xs).skip(1) {
        y += a * b * x;
    }
    y
}

fn main() {}
