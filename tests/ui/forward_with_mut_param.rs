use chainrule::differentiate;

#[differentiate(forward)]
fn accumulate(total: &mut f64, x: f64) {
    *total += x * x;
}

fn main() {}
