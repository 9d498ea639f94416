//! The GradBench protocol, end to end: scripted sessions piped through the
//! built binary, checking every reply (one line per message, the same `id`,
//! the keys the protocol allows, success flags, timings) and that the tool
//! exits cleanly at EOF, whatever it was sent.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

/// Runs the tool on `input` (the whole of stdin) and returns its exit status
/// success, its replies and its stderr.
fn session(input: &str) -> (bool, Vec<Value>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_chainrule-gradbench"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the tool starts");
    let mut stdin = child.stdin.take().expect("stdin");
    let input = input.to_owned();
    let writer = std::thread::spawn(move || {
        stdin.write_all(input.as_bytes()).expect("writing the session");
    });
    let output = child.wait_with_output().expect("the tool exits");
    writer.join().expect("the writer thread");
    let stdout = String::from_utf8(output.stdout).expect("stdout is UTF-8");
    let replies = stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("reply `{line}` is not JSON: {e}")))
        .collect();
    (
        output.status.success(),
        replies,
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The messages as newline-delimited JSON.
fn script(messages: &[Value]) -> String {
    messages.iter().map(|m| format!("{m}\n")).collect()
}

fn keys(reply: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = reply
        .as_object()
        .expect("a reply is an object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}

/// A successful evaluate reply: exactly `id`, `success`, `output`,
/// `timings`, with `count` timings named `evaluate`.
#[track_caller]
fn assert_evaluated(reply: &Value, id: u64, count: Option<usize>) -> &Value {
    assert_eq!(reply["id"], id, "{reply}");
    assert_eq!(reply["success"], true, "{reply}");
    assert_eq!(keys(reply), ["id", "output", "success", "timings"], "{reply}");
    let timings = reply["timings"].as_array().expect("timings");
    assert!(!timings.is_empty(), "{reply}");
    if let Some(count) = count {
        assert_eq!(timings.len(), count, "{reply}");
    }
    for timing in timings {
        assert_eq!(timing["name"], "evaluate");
        assert!(timing["nanoseconds"].is_u64(), "{timing}");
    }
    &reply["output"]
}

/// A failure reply: exactly `id`, `success: false` and a non-empty `error`
/// containing `mentions`.
#[track_caller]
fn assert_failed(reply: &Value, id: Value, mentions: &str) {
    assert_eq!(reply["id"], id, "{reply}");
    assert_eq!(reply["success"], false, "{reply}");
    assert_eq!(keys(reply), ["error", "id", "success"], "{reply}");
    let error = reply["error"].as_str().expect("an error string");
    assert!(error.contains(mentions), "`{error}` should mention `{mentions}`");
}

#[test]
fn hello_session_as_the_eval_runs_it() {
    let mut messages = vec![
        json!({"id": 0, "kind": "start", "eval": "hello", "config": {}}),
        json!({"id": 1, "kind": "define", "module": "hello"}),
    ];
    // square and double alternate, each output feeding the next input.
    let expected = [1.0, 2.0, 4.0, 8.0, 64.0, 128.0, 16384.0, 32768.0];
    let mut x = 1.0;
    for (i, function) in ["square", "double"].iter().cycle().take(8).enumerate() {
        messages
            .push(json!({"id": 2 + 2 * i, "kind": "evaluate", "module": "hello", "function": function, "input": x}));
        messages.push(json!({"id": 3 + 2 * i, "kind": "analysis", "of": 2 + 2 * i, "valid": true}));
        x = expected[i];
    }
    let (ok, replies, _) = session(&script(&messages));
    assert!(ok, "exit status");
    assert_eq!(replies.len(), messages.len(), "one reply per message");
    assert_eq!(replies[0], json!({"id": 0, "tool": "chainrule"}));
    assert_eq!(replies[1], json!({"id": 1, "success": true}));
    for (i, value) in expected.iter().enumerate() {
        let output = assert_evaluated(&replies[2 + 2 * i], 2 + 2 * i as u64, Some(1));
        assert_eq!(output.as_f64(), Some(*value));
        assert_eq!(
            replies[3 + 2 * i],
            json!({"id": 3 + 2 * i}),
            "analysis gets the id only"
        );
    }
}

#[test]
fn every_module_answers_its_functions() {
    let tiny = [
        ("lse", "primal", json!({"x": [0.1, 0.5, 0.2]})),
        ("lse", "gradient", json!({"x": [0.1, 0.5, 0.2]})),
        ("llsq", "primal", json!({"x": [0.3, 0.6, 0.1], "n": 5})),
        ("llsq", "gradient", json!({"x": [0.3, 0.6, 0.1], "n": 5})),
        ("ode", "primal", json!({"x": [0.3, 0.6, 0.1, 0.9], "s": 3})),
        ("ode", "gradient", json!({"x": [0.3, 0.6, 0.1, 0.9], "s": 3})),
        ("det", "primal", json!({"A": [2.0, 1.0, 0.5, 3.0], "ell": 2})),
        ("det", "gradient", json!({"A": [2.0, 1.0, 0.5, 3.0], "ell": 2})),
    ];
    let mut messages = vec![json!({"id": 0, "kind": "start"})];
    for (i, (module, function, input)) in tiny.iter().enumerate() {
        let mut input = input.clone();
        input["min_runs"] = json!(3);
        input["min_seconds"] = json!(0.001);
        messages.push(
            json!({"id": 1 + i, "kind": "evaluate", "module": module, "function": function,
                             "input": input, "description": "tiny"}),
        );
    }
    let (ok, replies, _) = session(&script(&messages));
    assert!(ok);
    assert_eq!(replies.len(), messages.len());
    for (i, (module, function, input)) in tiny.iter().enumerate() {
        let reply = &replies[1 + i];
        let output = assert_evaluated(reply, 1 + i as u64, None);
        assert!(reply["timings"].as_array().unwrap().len() >= 3, "min_runs = 3: {reply}");
        match (*module, *function) {
            ("det", "primal") => assert!((output.as_f64().unwrap() - 5.5).abs() < 1e-12),
            ("det", "gradient") => assert_eq!(output, &json!([3.0, -0.5, -1.0, 2.0])),
            (_, "primal") if *module != "ode" => assert!(output.is_f64()),
            _ => {
                let n = input["x"].as_array().unwrap().len();
                let expected = if *module == "llsq" {
                    n
                } else {
                    input["x"].as_array().unwrap().len()
                };
                assert_eq!(output.as_array().map(Vec::len), Some(expected), "{module}.{function}");
            }
        }
    }
}

#[test]
fn gmm_jacobian_has_the_shape_of_the_input() {
    let (d, k, n) = (3, 2, 4);
    let input = json!({
        "d": d, "k": k, "n": n, "m": 1, "gamma": 1.0,
        "x": [[0.1, 0.2, 0.3], [0.4, -0.5, 0.6], [-0.7, 0.8, 0.9], [1.0, 1.1, -1.2]],
        "alpha": [0.2, -0.3],
        "mu": [[0.1, 0.1, 0.1], [0.5, 0.4, 0.3]],
        "q": [[0.1, -0.2, 0.3], [0.0, 0.2, -0.1]],
        "l": [[0.1, 0.2, 0.3], [-0.1, 0.4, 0.2]],
        "min_runs": 1, "min_seconds": 0
    });
    let messages = [
        json!({"id": 0, "kind": "define", "module": "gmm"}),
        json!({"id": 1, "kind": "evaluate", "module": "gmm", "function": "objective", "input": input}),
        json!({"id": 2, "kind": "evaluate", "module": "gmm", "function": "jacobian", "input": input}),
    ];
    let (ok, replies, _) = session(&script(&messages));
    assert!(ok);
    assert_eq!(replies[0], json!({"id": 0, "success": true}));
    assert!(assert_evaluated(&replies[1], 1, Some(1)).is_f64());
    let jacobian = assert_evaluated(&replies[2], 2, Some(1));
    assert_eq!(keys(jacobian), ["alpha", "l", "mu", "q"]);
    let shape = |v: &Value| -> Vec<usize> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|row| row.as_array().unwrap().len())
            .collect()
    };
    assert_eq!(jacobian["alpha"].as_array().unwrap().len(), k);
    assert!(jacobian["alpha"].as_array().unwrap().iter().all(Value::is_f64));
    assert_eq!(shape(&jacobian["mu"]), vec![d; k]);
    assert_eq!(shape(&jacobian["q"]), vec![d; k]);
    assert_eq!(shape(&jacobian["l"]), vec![d * (d - 1) / 2; k]);
}

#[test]
fn min_seconds_keeps_running_until_the_time_is_spent() {
    let input = json!({"x": [1.0, 2.0], "min_runs": 1, "min_seconds": 0.05});
    let messages = [json!({"id": 0, "kind": "evaluate", "module": "lse", "function": "primal", "input": input})];
    let (ok, replies, _) = session(&script(&messages));
    assert!(ok);
    assert_evaluated(&replies[0], 0, None);
    let total: u64 = replies[0]["timings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["nanoseconds"].as_u64().unwrap())
        .sum();
    assert!(total >= 50_000_000, "{total} ns timed, 0.05 s asked");
    assert!(replies[0]["timings"].as_array().unwrap().len() > 1);
}

#[test]
fn bad_input_gets_an_error_and_the_session_goes_on() {
    let session_text = [
        "{\"id\": 0, \"kind\": \"start\"}".to_owned(),
        // Malformed JSON with a recoverable id, then one without.
        "{\"id\": 1, \"kind\": \"evaluate\", \"module\": \"lse\", \"input\": {\"x\": [1, 2,}".to_owned(),
        "this is not JSON".to_owned(),
        // Unknown module, in define and in evaluate.
        json!({"id": 3, "kind": "define", "module": "kmeans"}).to_string(),
        json!({"id": 4, "kind": "evaluate", "module": "kmeans", "function": "cost", "input": {}}).to_string(),
        // Unknown function.
        json!({"id": 5, "kind": "evaluate", "module": "lse", "function": "hessian", "input": {"x": [1.0]}}).to_string(),
        // Wrong shapes and types.
        json!({"id": 6, "kind": "evaluate", "module": "gmm", "function": "jacobian", "input": {
            "d": 2, "k": 1, "n": 1, "m": 0, "gamma": 1.0, "x": [[0.0, 1.0]], "alpha": [0.0],
            "mu": [[0.0, 0.0, 0.0]], "q": [[0.0, 0.0]], "l": [[0.0]]}})
        .to_string(),
        json!({"id": 7, "kind": "evaluate", "module": "det", "function": "primal",
               "input": {"A": [1.0, 2.0, 3.0], "ell": 2}})
        .to_string(),
        json!({"id": 8, "kind": "evaluate", "module": "llsq", "function": "primal", "input": {"x": [1.0]}}).to_string(),
        json!({"id": 9, "kind": "evaluate", "module": "lse", "function": "primal", "input": {"x": "many"}}).to_string(),
        json!({"id": 10, "kind": "evaluate", "module": "lse", "function": "gradient", "input": {"x": []}}).to_string(),
        json!({"id": 11, "kind": "evaluate", "module": "ode", "function": "primal", "input": {"x": [1.0], "s": 0}})
            .to_string(),
        json!({"id": 12, "kind": "evaluate", "module": "det", "function": "primal",
               "input": {"A": vec![0.0; 400], "ell": 20}})
        .to_string(),
        json!({"id": 13, "kind": "evaluate", "module": "hello", "function": "square", "input": [1.0]}).to_string(),
        // A number that overflows to ∞ is reported, not written as null.
        json!({"id": 14, "kind": "evaluate", "module": "hello", "function": "square", "input": 1e200}).to_string(),
        // Missing fields.
        json!({"id": 15, "kind": "evaluate", "module": "lse"}).to_string(),
        json!({"id": 16}).to_string(),
        // Unknown kinds get the id back; the session still works afterwards.
        json!({"id": 17, "kind": "end"}).to_string(),
        String::new(),
        json!({"id": 18, "kind": "evaluate", "module": "hello", "function": "double", "input": 3.0}).to_string(),
    ]
    .join("\n")
        + "\n";
    let (ok, replies, stderr) = session(&session_text);
    assert!(ok, "exits 0 at EOF");
    assert_eq!(replies.len(), 19, "one reply per non-empty line: {replies:#?}");
    assert_eq!(replies[0], json!({"id": 0, "tool": "chainrule"}));
    assert_failed(&replies[1], json!(1), "malformed JSON");
    assert_failed(&replies[2], Value::Null, "malformed JSON");
    assert_failed(&replies[3], json!(3), "kmeans");
    assert_failed(&replies[4], json!(4), "kmeans");
    assert_failed(&replies[5], json!(5), "hessian");
    assert_failed(&replies[6], json!(6), "`mu[0]` has 3 entries where 2 were expected");
    assert_failed(&replies[7], json!(7), "`A` has 3 entries");
    assert_failed(&replies[8], json!(8), "missing field `n`");
    assert_failed(&replies[9], json!(9), "invalid lse input");
    assert_failed(&replies[10], json!(10), "`x` is empty");
    assert_failed(&replies[11], json!(11), "s = 0");
    assert_failed(&replies[12], json!(12), "ell = 20");
    assert_failed(&replies[13], json!(13), "invalid hello input");
    assert_failed(&replies[14], json!(14), "non-finite");
    assert_failed(&replies[15], json!(15), "function");
    assert_failed(&replies[16], json!(16), "kind");
    assert_eq!(replies[17], json!({"id": 17}));
    assert_eq!(assert_evaluated(&replies[18], 18, Some(1)), &json!(6.0));
    assert!(stderr.contains("malformed"), "errors are logged on stderr: {stderr}");
}

#[test]
fn ids_are_copied_verbatim() {
    let messages = [
        json!({"id": "abc", "kind": "start"}),
        json!({"id": 7.5, "kind": "define", "module": "lse"}),
        json!({"id": {"nested": [1]}, "kind": "analysis", "of": 0, "valid": false, "error": "x"}),
    ];
    let (ok, replies, _) = session(&script(&messages));
    assert!(ok);
    assert_eq!(replies[0], json!({"id": "abc", "tool": "chainrule"}));
    assert_eq!(replies[1], json!({"id": 7.5, "success": true}));
    assert_eq!(replies[2], json!({"id": {"nested": [1]}}));
}

#[test]
fn empty_input_exits_cleanly() {
    let (ok, replies, _) = session("");
    assert!(ok);
    assert!(replies.is_empty());
}

#[test]
fn a_large_line_is_read_whole() {
    let x: Vec<f64> = (0..200_000).map(|i| (i % 1000) as f64 / 1000.0).collect();
    let messages = [
        json!({"id": 0, "kind": "evaluate", "module": "lse", "function": "gradient",
                           "input": {"x": x, "min_runs": 1, "min_seconds": 0}}),
    ];
    let (ok, replies, _) = session(&script(&messages));
    assert!(ok);
    let gradient = assert_evaluated(&replies[0], 0, Some(1)).as_array().unwrap();
    assert_eq!(gradient.len(), 200_000);
    let sum: f64 = gradient.iter().map(|g| g.as_f64().unwrap()).sum();
    assert!((sum - 1.0).abs() < 1e-9, "the softmax sums to 1: {sum}");
}
