use chainrule::differentiate;

#[differentiate]
fn f(xs: &[f64], w: f64) -> f64 {
    let kept: Vec<f64> = xs.iter().filter(|&&x| x > 0.0).map(|&x| x * w).collect();
    kept[0]
}

#[differentiate]
fn g(xs: &[f64]) -> f64 {
    let kept: Vec<f64> = xs.iter().filter(|x| **x > 0.0).cloned().collect();
    kept.iter().sum::<f64>()
}

fn main() {}
