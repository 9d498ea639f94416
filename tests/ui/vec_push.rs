use chainrule::differentiate;

// The condition reads the vector being grown.
#[differentiate]
fn first_two_positives(w: &[f64]) -> f64 {
    let mut v = Vec::new();
    for &x in w {
        if x > 0.0 && v.len() < 2 {
            v.push(x * x);
        }
    }
    v.iter().sum::<f64>()
}

fn main() {}
