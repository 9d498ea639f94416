use chainrule::differentiate;

#[differentiate]
fn pairs(x: &[f64]) -> f64 {
    let mut products = Vec::new();
    for i in 0..x.len() {
        for j in 0..i {
            products.push(x[i] * x[j]);
        }
    }
    products.iter().sum::<f64>()
}

fn main() {}
