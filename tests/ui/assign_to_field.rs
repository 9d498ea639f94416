use chainrule::differentiate;

struct Out {
    value: f64,
}

#[differentiate]
fn f(x: f64, out: &mut Out) -> f64 {
    out.value = x;
    x
}

fn main() {}
