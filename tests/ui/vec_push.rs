use chainrule::differentiate;

#[differentiate]
fn positives(w: &[f64]) -> f64 {
    let mut v = Vec::new();
    for &x in w {
        if x > 0.0 {
            v.push(x * x);
        }
    }
    v.iter().sum::<f64>()
}

fn main() {}
