use chainrule::differentiate;

#[differentiate]
fn f(x: f64, xs: &[f64]) -> f64 {
    let mut y = 0.0;
    for (ref _i, &v) in xs.iter().enumerate() {
        y += v * x;
    }
    y
}

fn main() {}
