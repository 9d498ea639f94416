//! The GradBench protocol: newline-delimited JSON on stdin and stdout, one
//! reply per message, carrying the message's `id`.
//!
//! | message | reply |
//! |---|---|
//! | `start` | `{"id", "tool": "chainrule"}` |
//! | `define` | `{"id", "success"}`, with an `error` when the module is unknown |
//! | `evaluate` | `{"id", "success": true, "output", "timings"}` or `{"id", "success": false, "error"}` |
//! | `analysis`, any other kind | `{"id"}` |
//!
//! Nothing an eval sends makes the tool panic or stop: a line that is not
//! JSON gets `success: false` with the `id` recovered from the text when it
//! can be (else `null`), and a panic inside an evaluation is caught and
//! reported as an error.

use std::io::{self, BufRead, Write};
use std::panic::{self, AssertUnwindSafe};

use serde_json::{Map, Value, json};

use crate::modules::{self, Evaluated};

/// The name this tool gives in its reply to `start`.
pub const TOOL: &str = "chainrule";

/// Reads messages from `input` until EOF and writes one reply line per
/// message to `output`, flushing after each. Empty lines are skipped.
pub fn serve(mut input: impl BufRead, mut output: impl Write) -> io::Result<()> {
    let mut line = Vec::new();
    loop {
        line.clear();
        if input.read_until(b'\n', &mut line)? == 0 {
            return Ok(());
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let reply = respond(&line);
        // One write per reply: the whole line, then a flush.
        let mut bytes = serde_json::to_vec(&reply).map_err(io::Error::other)?;
        bytes.push(b'\n');
        output.write_all(&bytes)?;
        output.flush()?;
    }
}

/// The reply to one line.
pub fn respond(line: &[u8]) -> Value {
    let message: Value = match serde_json::from_slice(line) {
        Ok(message) => message,
        Err(e) => {
            log(format_args!("malformed message: {e}"));
            return failure(recover_id(line), format!("malformed JSON message: {e}"));
        }
    };
    let Value::Object(message) = message else {
        return failure(Value::Null, "a message must be a JSON object".to_owned());
    };
    let id = message.get("id").cloned().unwrap_or(Value::Null);
    match message.get("kind").and_then(Value::as_str) {
        Some("start") => json!({ "id": id, "tool": TOOL }),
        Some("define") => define(id, &message),
        Some("evaluate") => evaluate(id, message),
        Some(_) => json!({ "id": id }),
        None => failure(id, "the message has no `kind` string".to_owned()),
    }
}

fn define(id: Value, message: &Map<String, Value>) -> Value {
    match message.get("module").and_then(Value::as_str) {
        Some(name) if modules::find(name).is_some() => json!({ "id": id, "success": true }),
        Some(name) => failure(id, unknown_module(name)),
        None => failure(id, "`define` needs a `module` string".to_owned()),
    }
}

fn unknown_module(name: &str) -> String {
    format!(
        "chainrule-gradbench does not implement the module `{name}` (it implements: {})",
        modules::names()
    )
}

fn evaluate(id: Value, mut message: Map<String, Value>) -> Value {
    let Some(module) = message.get("module").and_then(Value::as_str) else {
        return failure(id, "`evaluate` needs a `module` string".to_owned());
    };
    let Some(module) = modules::find(module) else {
        return failure(id, unknown_module(module));
    };
    let Some(function) = message.get("function").and_then(Value::as_str).map(str::to_owned) else {
        return failure(id, "`evaluate` needs a `function` string".to_owned());
    };
    let Some(input) = message.remove("input") else {
        return failure(id, "`evaluate` needs an `input`".to_owned());
    };
    let description = message.get("description").and_then(Value::as_str).unwrap_or("");
    let result = panic::catch_unwind(AssertUnwindSafe(|| (module.evaluate)(&function, input)));
    let result = result.unwrap_or_else(|payload| {
        let reason = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(no message)".to_owned());
        Err(format!("the evaluation panicked: {reason}"))
    });
    match result {
        Ok(Evaluated { output, timings }) => {
            if let Some(path) = first_null(&output, String::new()) {
                let error = format!(
                    "{}.{function}: the output has a non-finite number (NaN or ±∞, which JSON cannot represent) at {}",
                    module.name,
                    if path.is_empty() { "the top level" } else { &path }
                );
                log(format_args!("{error}"));
                return failure(id, error);
            }
            json!({ "id": id, "success": true, "output": output, "timings": timings })
        }
        Err(error) => {
            log(format_args!("{}.{function} {description}: {error}", module.name));
            failure(id, error)
        }
    }
}

fn failure(id: Value, error: String) -> Value {
    json!({ "id": id, "success": false, "error": error })
}

fn log(message: std::fmt::Arguments<'_>) {
    eprintln!("chainrule-gradbench: {message}");
}

/// Where a `null` (a non-finite number) is in `value`, as a path like
/// `mu[3][1]`.
fn first_null(value: &Value, path: String) -> Option<String> {
    match value {
        Value::Null => Some(path),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| first_null(item, format!("{path}[{i}]"))),
        Value::Object(fields) => fields.iter().find_map(|(key, item)| {
            let path = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            first_null(item, path)
        }),
        _ => None,
    }
}

/// The `id` of a message that is not valid JSON, when its text has
/// `"id": <integer or string>` at the top level: the first `"id"` key found
/// before any nested object or array opens.
pub fn recover_id(line: &[u8]) -> Value {
    let text = String::from_utf8_lossy(line);
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'{' | b'[' => depth += 1,
            b'}' | b']' => depth = depth.saturating_sub(1),
            b'"' => {
                let Some(end) = string_end(bytes, i) else {
                    return Value::Null;
                };
                if depth == 1 && &text[i..=end] == "\"id\"" {
                    return id_after_key(&text[end + 1..]).unwrap_or(Value::Null);
                }
                i = end;
            }
            _ => {}
        }
        i += 1;
    }
    Value::Null
}

/// The index of the quote closing the string that opens at `start`.
fn string_end(bytes: &[u8], start: usize) -> Option<usize> {
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return Some(i),
            _ => i += 1,
        }
    }
    None
}

/// The value after `: ` if it is a JSON integer or string.
fn id_after_key(rest: &str) -> Option<Value> {
    let rest = rest.trim_start().strip_prefix(':')?.trim_start();
    if rest.starts_with('"') {
        let end = string_end(rest.as_bytes(), 0)?;
        return serde_json::from_str(&rest[..=end]).ok();
    }
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '-'))
        .unwrap_or(rest.len());
    let number: Value = serde_json::from_str(&rest[..end]).ok()?;
    (number.is_i64() || number.is_u64()).then_some(number)
}
