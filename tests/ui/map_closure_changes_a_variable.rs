use chainrule::differentiate;

#[differentiate]
fn f(x: &[f64]) -> f64 {
    let mut count = 0.0;
    x.iter()
        .map(|v| {
            count += 1.0;
            v * count
        })
        .sum::<f64>()
}

fn main() {}
