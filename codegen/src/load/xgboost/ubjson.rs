//! XGBoost `save_model("model.ubj")`: the saved model in Universal Binary JSON (UBJSON,
//! draft 12), XGBoost's binary format since 2.1. The reader here yields the same
//! [`serde_json::Value`] tree as the JSON text of the model would, so both build the same way.
//!
//! XGBoost writes objects with `L`-length keys, strings, `int64` scalars and typed arrays
//! (`[$d#L<n>` of big-endian `f32` for thresholds and leaf values, `$l` for `int32` indices,
//! `$U` for flags). A `float32` becomes the JSON number with the shortest text that parses back
//! to the same `f32`, so the JSON frontend's straight-to-`f32` parsing is exact; NaN becomes
//! `null`, which is how the JSON frontend reads NaN too.
//!
//! Damaged input is an error naming the byte offset, never a panic: lengths and counts are
//! checked against the bytes left before anything is allocated, and nesting is bounded.

use super::{build, ModelFile};
use crate::ir::Forest;
use crate::load::{json, Frontend, LoadError, LoadOptions, Probe};
use serde_json::{Map, Number, Value};

/// The frontend.
pub const FRONTEND: Frontend = Frontend {
    name: "xgboost-ubjson",
    description: "XGBoost UBJSON (`save_model(\"model.ubj\")`)",
    signature: "UBJSON: `{` then a type marker as the first two bytes",
    sniff,
    load,
    takes_dump_options: false,
};

/// UBJSON objects start with `{` and a key-length marker, JSON's with `"`, `}` or whitespace.
fn sniff(probe: &Probe<'_>) -> bool {
    let bytes = probe.bytes();
    bytes.first() == Some(&b'{')
        && matches!(
            bytes.get(1),
            Some(b'i' | b'U' | b'I' | b'l' | b'L' | b'$' | b'#')
        )
}

/// Loads an XGBoost UBJSON model.
pub fn load(bytes: &[u8], path: &str, options: &LoadOptions) -> Result<Forest, LoadError> {
    let value = parse(bytes).map_err(|e| json::malformed(path, e.to_string()))?;
    let file: ModelFile = json::from_value(value, path)?;
    build(file.learner, path, options)
}

/// Containers nested deeper than this are taken as a damaged file (XGBoost nests 6 deep).
const MAX_DEPTH: usize = 64;

/// Why UBJSON could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("UBJSON byte {offset}: {what}")]
pub struct UbjsonError {
    /// Where in the file.
    pub offset: usize,
    /// What is wrong.
    pub what: String,
}

/// Parses a whole UBJSON document (one value, then nothing else).
pub fn parse(bytes: &[u8]) -> Result<Value, UbjsonError> {
    let mut reader = Reader { bytes, pos: 0 };
    let marker = reader.marker()?;
    let value = reader.value(marker, 0)?;
    if reader.pos != bytes.len() {
        return Err(reader.error(format!(
            "{} bytes after the end of the document",
            bytes.len() - reader.pos
        )));
    }
    Ok(value)
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn error(&self, what: impl Into<String>) -> UbjsonError {
        UbjsonError {
            offset: self.pos,
            what: what.into(),
        }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], UbjsonError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or_else(|| {
                self.error(format!(
                    "the file ends early ({} of {n} bytes left)",
                    self.bytes.len() - self.pos
                ))
            })?;
        let slice = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(slice)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], UbjsonError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    /// The next type marker, skipping no-ops.
    fn marker(&mut self) -> Result<u8, UbjsonError> {
        loop {
            let [m] = self.array::<1>()?;
            if m != b'N' {
                return Ok(m);
            }
        }
    }

    /// An integer of any integer type (lengths and counts).
    fn length(&mut self) -> Result<usize, UbjsonError> {
        let start = self.pos;
        let marker = self.marker()?;
        let v: i64 = match marker {
            b'i' => i64::from(i8::from_be_bytes(self.array()?)),
            b'U' => i64::from(self.array::<1>()?[0]),
            b'I' => i64::from(i16::from_be_bytes(self.array()?)),
            b'l' => i64::from(i32::from_be_bytes(self.array()?)),
            b'L' => i64::from_be_bytes(self.array()?),
            other => {
                self.pos = start;
                return Err(self.error(format!(
                    "expected a length (an integer), found marker {}",
                    show(other)
                )));
            }
        };
        usize::try_from(v).map_err(|_| UbjsonError {
            offset: start,
            what: format!("negative length {v}"),
        })
    }

    fn string(&mut self) -> Result<String, UbjsonError> {
        let len = self.length()?;
        let start = self.pos;
        let bytes = self.take(len)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| UbjsonError {
            offset: start,
            what: "a string is not valid UTF-8".into(),
        })
    }

    fn value(&mut self, marker: u8, depth: usize) -> Result<Value, UbjsonError> {
        Ok(match marker {
            b'Z' => Value::Null,
            b'T' => Value::Bool(true),
            b'F' => Value::Bool(false),
            b'i' => Value::from(i8::from_be_bytes(self.array()?)),
            b'U' => Value::from(self.array::<1>()?[0]),
            b'I' => Value::from(i16::from_be_bytes(self.array()?)),
            b'l' => Value::from(i32::from_be_bytes(self.array()?)),
            b'L' => Value::from(i64::from_be_bytes(self.array()?)),
            b'd' => float(f32::from_be_bytes(self.array()?).into(), |v| {
                format!("{:e}", v as f32)
            }),
            b'D' => float(f64::from_be_bytes(self.array()?), |v| format!("{v:e}")),
            b'H' => {
                let start = self.pos;
                let text = self.string()?;
                let number = text.parse::<Number>().map_err(|_| UbjsonError {
                    offset: start,
                    what: format!("`{text}` is not a high-precision number"),
                })?;
                Value::Number(number)
            }
            b'C' => Value::String(char::from(self.array::<1>()?[0]).to_string()),
            b'S' => Value::String(self.string()?),
            b'[' => self.container(depth, false)?,
            b'{' => self.container(depth, true)?,
            other => {
                self.pos -= 1;
                return Err(self.error(format!("unknown type marker {}", show(other))));
            }
        })
    }

    /// An array or object after its opening marker.
    fn container(&mut self, depth: usize, object: bool) -> Result<Value, UbjsonError> {
        if depth >= MAX_DEPTH {
            return Err(self.error(format!("containers nested more than {MAX_DEPTH} deep")));
        }
        let (element_type, count) = self.container_header()?;
        let mut items = Vec::new();
        let mut map = Map::new();
        let mut index = 0usize;
        loop {
            match count {
                Some(n) if index == n => break,
                None => {
                    let peek = self.marker()?;
                    let end = if object { b'}' } else { b']' };
                    if peek == end {
                        break;
                    }
                    self.pos -= 1;
                }
                _ => {}
            }
            let key = if object { Some(self.string()?) } else { None };
            let marker = match element_type {
                Some(t) => t,
                None => self.marker()?,
            };
            let value = self.value(marker, depth + 1)?;
            match key {
                Some(k) => {
                    map.insert(k, value);
                }
                None => items.push(value),
            }
            index += 1;
        }
        Ok(if object {
            Value::Object(map)
        } else {
            Value::Array(items)
        })
    }

    /// The optional `$type` and `#count` of a container. A count is checked against the
    /// bytes left, so a damaged count fails at once instead of allocating.
    fn container_header(&mut self) -> Result<(Option<u8>, Option<usize>), UbjsonError> {
        let start = self.pos;
        let mut element_type = None;
        if self.bytes.get(self.pos) == Some(&b'$') {
            self.pos += 1;
            let [t] = self.array::<1>()?;
            if matches!(t, b'Z' | b'N' | b'T' | b'F' | b'[' | b'{') {
                self.pos -= 1;
                return Err(
                    self.error(format!("typed containers of {} are not supported", show(t)))
                );
            }
            element_type = Some(t);
        }
        let count = if self.bytes.get(self.pos) == Some(&b'#') {
            self.pos += 1;
            Some(self.length()?)
        } else {
            None
        };
        if element_type.is_some() && count.is_none() {
            return Err(UbjsonError {
                offset: start,
                what: "a typed container without a count".into(),
            });
        }
        if let Some(n) = count {
            // Every element takes at least one byte (a marker, or a typed value).
            let left = self.bytes.len() - self.pos;
            if n > left {
                return Err(UbjsonError {
                    offset: start,
                    what: format!("a container of {n} elements, but only {left} bytes are left"),
                });
            }
        }
        Ok((element_type, count))
    }
}

/// A float as a JSON number (shortest round-trip text), or `null` for NaN; infinities become
/// the strings `"inf"`/`"-inf"`, which no model field accepts.
fn float(v: f64, text: impl Fn(f64) -> String) -> Value {
    if v.is_nan() {
        return Value::Null;
    }
    if v.is_infinite() {
        return Value::String(if v > 0.0 { "inf" } else { "-inf" }.into());
    }
    text(v)
        .parse::<Number>()
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

fn show(marker: u8) -> String {
    if marker.is_ascii_graphic() {
        format!("`{}`", char::from(marker))
    } else {
        format!("0x{marker:02x}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(k: &str) -> Vec<u8> {
        let mut out = vec![b'i', k.len() as u8];
        out.extend_from_slice(k.as_bytes());
        out
    }

    #[test]
    fn reads_objects_strings_and_typed_arrays() {
        let mut doc = vec![b'{'];
        doc.extend(key("s"));
        doc.extend([b'S', b'i', 2, b'h', b'i']);
        doc.extend(key("f"));
        doc.extend([b'[', b'$', b'd', b'#', b'i', 3]);
        for v in [0.1f32, -2.5, f32::NAN] {
            doc.extend(v.to_be_bytes());
        }
        doc.extend(key("n"));
        doc.extend([b'[', b'L']);
        doc.extend((-7i64).to_be_bytes());
        doc.extend([b'T', b'Z', b']']);
        doc.push(b'}');
        let v = parse(&doc).unwrap();
        assert_eq!(v["s"], "hi");
        let f = v["f"].as_array().unwrap();
        // The f32 0.1 reads back as the same f32, from its shortest text.
        assert_eq!(f[0].to_string().parse::<f32>().unwrap(), 0.1f32);
        assert_eq!(f[1].as_f64(), Some(-2.5));
        assert_eq!(f[2], Value::Null);
        assert_eq!(v["n"], serde_json::json!([-7, true, null]));
    }

    #[test]
    fn damaged_input_is_an_error_with_an_offset() {
        // Truncated inside a key.
        let err = parse(b"{i\x05lea").unwrap_err();
        assert!(err.what.contains("ends early"), "{err}");
        // A count larger than the file.
        let err = parse(b"[$l#L\x7f\xff\xff\xff\xff\xff\xff\xff").unwrap_err();
        assert!(err.what.contains("elements"), "{err}");
        // A negative length.
        let err = parse(b"Si\xff").unwrap_err();
        assert!(err.what.contains("negative"), "{err}");
        // An unknown marker, and trailing bytes.
        assert!(parse(b"?")
            .unwrap_err()
            .what
            .contains("unknown type marker"));
        assert!(parse(b"Z}").unwrap_err().what.contains("after the end"));
        // Deep nesting.
        let deep = vec![b'['; 1000];
        assert!(parse(&deep).unwrap_err().what.contains("nested"));
        // Zero-size typed containers could claim any count.
        assert!(parse(b"[$Z#L\x00\x00\x00\x00\x00\x00\x00\x05")
            .unwrap_err()
            .what
            .contains("not supported"));
    }
}
