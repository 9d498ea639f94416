use chainrule::differentiate;

#[differentiate]
fn f(x: f64, s: &str) -> f64 {
    let k = s.parse::<f64>().unwrap();
    x * k
}

fn main() {}
