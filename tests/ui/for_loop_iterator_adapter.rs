use chainrule::differentiate;

#[differentiate]
fn f(x: f64, xs: &[f64]) -> f64 {
    let mut y = 0.0;
    for w in xs.windows(2).skip(1) {
        y += w[0] * w[1] * x;
    }
    y
}

fn main() {}
