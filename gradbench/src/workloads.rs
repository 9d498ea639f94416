//! Inputs shaped like the evals' default workloads, generated
//! deterministically (seed 31337, with this crate's own generator: the
//! evals draw theirs with numpy, whose streams are not reproduced, but the
//! distributions and sizes are the evals').

use serde_json::{Value, json};

use crate::rng::Rng;

/// The evals' seed.
pub const SEED: u64 = 31337;

/// One workload: the module, a label as the eval's `description`, and the
/// input (without `min_runs`/`min_seconds`).
pub struct Workload {
    pub module: &'static str,
    pub description: String,
    pub input: Value,
}

/// `lse`: x ~ U(0, 1) of length n.
pub fn lse(n: usize) -> Workload {
    let mut rng = Rng::new(SEED);
    Workload {
        module: "lse",
        description: format!("n={n}"),
        input: json!({ "x": rng.uniform_vec(n) }),
    }
}

/// `llsq`: m coefficients ~ U(0, 1), n points.
pub fn llsq(n: usize, m: usize) -> Workload {
    let mut rng = Rng::new(SEED);
    Workload {
        module: "llsq",
        description: format!("n={n},m={m}"),
        input: json!({ "x": rng.uniform_vec(m), "n": n }),
    }
}

/// `gmm`: x, q, l, alpha ~ N(0, 1), mu ~ U(0, 1), m = 0, gamma = 1.
pub fn gmm(d: usize, k: usize, n: usize) -> Workload {
    let mut rng = Rng::new(SEED);
    let rows = |rng: &mut Rng, count: usize, width: usize, normal: bool| -> Vec<Vec<f64>> {
        (0..count)
            .map(|_| {
                if normal {
                    rng.normal_vec(width)
                } else {
                    rng.uniform_vec(width)
                }
            })
            .collect()
    };
    let x = rows(&mut rng, n, d, true);
    let mu = rows(&mut rng, k, d, false);
    let q = rows(&mut rng, k, d, true);
    let l = rows(&mut rng, k, d * (d - 1) / 2, true);
    let alpha = rng.normal_vec(k);
    Workload {
        module: "gmm",
        description: format!("{d}_{k}_{n}"),
        input: json!({
            "d": d, "k": k, "n": n, "m": 0, "gamma": 1.0,
            "x": x, "mu": mu, "q": q, "l": l, "alpha": alpha,
        }),
    }
}

/// `ode`: x ~ U(0, 1) of length n, s steps.
pub fn ode(n: usize, s: usize) -> Workload {
    let mut rng = Rng::new(SEED);
    Workload {
        module: "ode",
        description: format!("n={n},s={s}"),
        input: json!({ "x": rng.uniform_vec(n), "s": s }),
    }
}

/// `det`: an ℓ×ℓ matrix ~ U(0, 1), row-major.
pub fn det(ell: usize) -> Workload {
    let mut rng = Rng::new(SEED);
    Workload {
        module: "det",
        description: format!("{ell}"),
        input: json!({ "A": rng.uniform_vec(ell * ell), "ell": ell }),
    }
}

/// With `min_runs` and `min_seconds` added.
pub fn with_runs(input: &Value, min_runs: u64, min_seconds: f64) -> Value {
    let mut input = input.clone();
    if let Value::Object(fields) = &mut input {
        fields.insert("min_runs".to_owned(), json!(min_runs));
        fields.insert("min_seconds".to_owned(), json!(min_seconds));
    }
    input
}
