use chainrule::differentiate;

#[differentiate]
fn f(x: f64, v: Option<i32>) -> f64 {
    match v {
        Some(k) => x * k as f64,
        None => x,
    }
}

fn main() {}
