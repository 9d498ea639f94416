use chainrule::differentiate;
use chainrule::faer::Mat;

#[differentiate]
fn f(x: f64) -> f64 {
    let m = Mat::from_fn(2, 2, |i| x * i as f64);
    m.sum()
}

fn main() {}
