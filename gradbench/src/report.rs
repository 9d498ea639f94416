//! `--report`: each module's workloads at a small and a large size, the
//! primal and the generated gradient timed through the same code path as the
//! protocol (median of the per-run `evaluate` timings), as Markdown tables.

use std::fmt::Write as _;
use std::time::Duration;

use crate::modules;
use crate::workloads::{self, Workload};

/// One module's table: its functions and workloads, and the ratio targeted.
struct Table {
    module: &'static str,
    primal: &'static str,
    gradient: &'static str,
    target: f64,
    workloads: Vec<Workload>,
}

fn tables() -> Vec<Table> {
    vec![
        Table {
            module: "lse",
            primal: "primal",
            gradient: "gradient",
            target: 2.0,
            workloads: vec![workloads::lse(2_500), workloads::lse(1_280_000)],
        },
        Table {
            module: "llsq",
            primal: "primal",
            gradient: "gradient",
            target: 3.0,
            workloads: vec![workloads::llsq(16, 128), workloads::llsq(16_392, 128)],
        },
        Table {
            module: "gmm",
            primal: "objective",
            gradient: "jacobian",
            target: 2.0,
            workloads: vec![workloads::gmm(2, 5, 1000), workloads::gmm(64, 100, 1000)],
        },
        Table {
            module: "ode",
            primal: "primal",
            gradient: "gradient",
            target: 3.0,
            workloads: vec![workloads::ode(1_000, 1), workloads::ode(100_000, 100)],
        },
        Table {
            module: "det",
            primal: "primal",
            gradient: "gradient",
            target: 3.0,
            workloads: vec![workloads::det(5), workloads::det(11)],
        },
    ]
}

/// Rounds of measurement: each round times the primal, then the gradient,
/// for at least [`ROUND_RUNS`] runs and [`ROUND_SECONDS`] seconds each, so
/// that a change in the machine's load affects both alike.
const ROUNDS: usize = 5;
const ROUND_RUNS: u64 = 2;
const ROUND_SECONDS: f64 = 0.2;

/// The per-run `evaluate` timings of `function` on the workload, through the
/// module's `evaluate` (the timings the protocol would report).
fn timings(workload: &Workload, function: &str) -> Result<Vec<u64>, String> {
    let module = modules::find(workload.module).ok_or("unknown module")?;
    let input = workloads::with_runs(&workload.input, ROUND_RUNS, ROUND_SECONDS);
    let evaluated = (module.evaluate)(function, input)
        .map_err(|e| format!("{} {function} {}: {e}", workload.module, workload.description))?;
    Ok(evaluated.timings.iter().map(|t| t.nanoseconds).collect())
}

/// The medians of the primal's and the gradient's run times, measured in
/// alternating rounds.
fn medians(workload: &Workload, primal: &str, gradient: &str) -> Result<(Duration, Duration), String> {
    let (mut primal_times, mut gradient_times) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        primal_times.extend(timings(workload, primal)?);
        gradient_times.extend(timings(workload, gradient)?);
    }
    let median = |mut times: Vec<u64>| {
        times.sort_unstable();
        Duration::from_nanos(times[times.len() / 2])
    };
    Ok((median(primal_times), median(gradient_times)))
}

fn format_time(t: Duration) -> String {
    let ns = t.as_nanos() as f64;
    if ns < 1e3 {
        format!("{ns:.0} ns")
    } else if ns < 1e6 {
        format!("{:.1} µs", ns / 1e3)
    } else if ns < 1e9 {
        format!("{:.2} ms", ns / 1e6)
    } else {
        format!("{:.2} s", ns / 1e9)
    }
}

/// Runs the tables of `only` (all when empty), printing each as it
/// completes, and writes them all to `target/gradbench-report.md`.
pub fn run(only: &[String]) -> Result<(), String> {
    let mut report = String::from("# chainrule-gradbench: gradient ÷ primal\n\n");
    for table in tables() {
        if !only.is_empty() && !only.iter().any(|name| name == table.module) {
            continue;
        }
        let mut text = format!(
            "## {}\n\n| workload | {} | {} | {} ÷ {} | target |\n|---|--:|--:|--:|--:|\n",
            table.module, table.primal, table.gradient, table.gradient, table.primal
        );
        for workload in &table.workloads {
            let (primal, gradient) = medians(workload, table.primal, table.gradient)?;
            let ratio = gradient.as_secs_f64() / primal.as_secs_f64();
            let _ = writeln!(
                text,
                "| {} | {} | {} | {:.2} | ≤ {} |",
                workload.description,
                format_time(primal),
                format_time(gradient),
                ratio,
                table.target
            );
        }
        println!("{text}");
        report.push_str(&text);
        report.push('\n');
    }
    let _ = writeln!(
        report,
        "Median of the per-run `evaluate` timings over {ROUNDS} alternating rounds of at least {ROUND_RUNS} runs \
         and {ROUND_SECONDS} s per function, one thread, inputs generated as the evals describe them (seed {}).",
        workloads::SEED
    );
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../target/gradbench-report.md");
    std::fs::write(path, &report).map_err(|e| format!("writing {path}: {e}"))?;
    eprintln!("written to {path}");
    Ok(())
}
