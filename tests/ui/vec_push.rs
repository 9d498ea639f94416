use chainrule::differentiate;

#[differentiate]
fn squares(w: &[f64]) -> f64 {
    let mut v = Vec::new();
    for &x in w {
        v.push(x * x);
    }
    v.iter().sum::<f64>()
}

fn main() {}
