use chainrule_adbench::gmm::GmmInput;
fn main() {
    let which = std::env::args().nth(1).unwrap_or("d2_K5".into());
    let mode = std::env::args().nth(2).unwrap_or("gen".into());
    let input = GmmInput::read(format!("../../shared/data/adbench/gmm/1k/gmm_{which}.txt")).unwrap();
    let reps = if which == "d2_K5" { 20000 } else { 1000 };
    let mut acc = 0.0;
    let t = std::time::Instant::now();
    for _ in 0..reps {
        let (v, g) = match mode.as_str() {
            "gen" => input.gradient(),
            "hand" => input.hand_gradient(),
            _ => (input.objective(), vec![0.0]),
        };
        acc += v + g[0];
    }
    println!("{acc} {:?}", t.elapsed() / reps);
}
