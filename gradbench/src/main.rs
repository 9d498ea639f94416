//! The chainrule GradBench tool: speaks the GradBench protocol on stdin and
//! stdout (see the crate docs), or with `--report` times each module's
//! default workloads and prints Markdown tables.

use std::io;
use std::process::ExitCode;

use chainrule_gradbench::{protocol, report};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|arg| arg == "--help" || arg == "-h") {
        eprintln!(
            "usage: chainrule-gradbench            speak the GradBench protocol on stdin/stdout\n       \
             chainrule-gradbench --report [MODULE...]   time each module's workloads (or the named\n                                      \
             modules'), print Markdown tables and write them to target/gradbench-report.md"
        );
        return ExitCode::SUCCESS;
    }
    if args.first().is_some_and(|arg| arg == "--report") {
        return match report::run(&args[1..]) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("chainrule-gradbench: {e}");
                ExitCode::FAILURE
            }
        };
    }
    for arg in &args {
        // GradBench passes `--multithreaded` to tools that support it; this
        // tool always runs on one thread.
        eprintln!("chainrule-gradbench: ignoring argument `{arg}`");
    }
    let stdin = io::stdin().lock();
    let stdout = io::stdout().lock();
    match protocol::serve(stdin, stdout) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
            eprintln!("chainrule-gradbench: the eval closed its end of the pipe");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("chainrule-gradbench: {e}");
            ExitCode::FAILURE
        }
    }
}

/// mimalloc keeps the memory a run frees for the next one: a gradient's
/// tape is allocated afresh on every run, and with glibc's defaults each run
/// of a large workload pays again for the kernel to map and zero its pages.
/// The primal and the gradient run under the same allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
