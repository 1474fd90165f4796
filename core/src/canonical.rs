//! The one canonical JSON writer of the workspace: object keys sorted by their UTF-8 bytes (the
//! same order as by code point) at every level, no insignificant whitespace. What is signed (the
//! laudo, §14), hashed (the package manifest, 2e) and MAC'd (the central's receipt) is written
//! here, so the station and the central can never disagree on the bytes. Written by hand rather
//! than relying on `serde_json`'s map order, which a feature elsewhere in the build
//! (`preserve_order`) could change.

use std::fmt::Write as _;

use serde_json::Value;

/// The canonical JSON text of a value: object keys sorted by their UTF-8 bytes, no whitespace,
/// strings escaped as `serde_json` does (`"` `\` and control characters only; other characters
/// as raw UTF-8), numbers as `serde_json` prints them.
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push('{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(key, out);
                out.push(':');
                write_canonical(item, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        Value::String(s) => write_string(s, out),
        // Null, booleans and numbers print the same in every serde_json configuration.
        other => out.push_str(&other.to_string()),
    }
}

fn write_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if u32::from(c) < 0x20 => {
                // Writing to a String cannot fail.
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn canonical_json_sorts_keys_and_drops_whitespace() {
        let value: Value = serde_json::from_str(
            r#"{ "b": [1, 2.5, {"z": null, "a": true}], "a": "x\"y\n\u0001é" }"#,
        )
        .unwrap();
        assert_eq!(
            canonical_json(&value),
            r#"{"a":"x\"y\n\u0001é","b":[1,2.5,{"a":true,"z":null}]}"#
        );
    }

    #[test]
    fn canonical_json_round_trips_through_serde_json() {
        let value: Value = serde_json::from_str(r#"{"k":"\u001f\b\f\t\r\\","n":-0.125}"#).unwrap();
        let text = canonical_json(&value);
        let back: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, value);
        assert_eq!(canonical_json(&back), text);
    }

    #[test]
    fn keys_are_sorted_at_every_level() {
        let value: Value =
            serde_json::from_str(r#"{"b":1,"a":{"z":[{"y":2,"x":"é\n"}],"c":null}}"#).unwrap();
        assert_eq!(
            canonical_json(&value),
            r#"{"a":{"c":null,"z":[{"x":"é\n","y":2}]},"b":1}"#
        );
    }
}
