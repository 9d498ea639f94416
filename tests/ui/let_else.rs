use chainrule::differentiate;

#[differentiate]
fn f(x: f64, n: Option<i32>) -> f64 {
    let Some(k) = n else { return x };
    x * k as f64
}

fn main() {}
