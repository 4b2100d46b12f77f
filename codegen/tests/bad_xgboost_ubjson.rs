//! Bad XGBoost UBJSON models: damaged real `.ubj` files give an error naming the file and
//! the byte offset or field, never a panic.

mod common;

use common::*;
use serde_json::{json, Value};
use timber_codegen::LoadOptions;

// ---------------------------------------------------------------------------------------
// XGBoost UBJSON
// ---------------------------------------------------------------------------------------

/// Writes a JSON value as UBJSON the way XGBoost does (int64 lengths and integers, float32
/// numbers, typed containers not used), so that damaged JSON can be tested as UBJSON.
fn ubjson(v: &Value, out: &mut Vec<u8>) {
    fn len(n: usize, out: &mut Vec<u8>) {
        out.push(b'L');
        out.extend((n as i64).to_be_bytes());
    }
    match v {
        Value::Null => out.push(b'Z'),
        Value::Bool(b) => out.push(if *b { b'T' } else { b'F' }),
        Value::Number(n) => match n.as_i64() {
            Some(i) => {
                out.push(b'L');
                out.extend(i.to_be_bytes());
            }
            None => {
                out.push(b'd');
                out.extend(n.to_string().parse::<f32>().unwrap().to_be_bytes());
            }
        },
        Value::String(s) => {
            out.push(b'S');
            len(s.len(), out);
            out.extend(s.as_bytes());
        }
        Value::Array(items) => {
            out.extend(b"[#");
            len(items.len(), out);
            for item in items {
                ubjson(item, out);
            }
        }
        Value::Object(map) => {
            out.push(b'{');
            for (k, item) in map {
                len(k.len(), out);
                out.extend(k.as_bytes());
                ubjson(item, out);
            }
            out.push(b'}');
        }
    }
}

fn to_ubjson(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    ubjson(v, &mut out);
    out
}

#[test]
fn re_encoded_ubjson_loads_like_the_json() {
    // The test's own encoder (untyped arrays, `}`-terminated objects) is read too.
    let v = fixture_json("tiny_reg", "model.json");
    let from_ubjson = load(&to_ubjson(&v)).unwrap();
    let from_json = load(&fixture_file("tiny_reg", "model.json")).unwrap();
    assert_eq!(from_ubjson.trees, from_json.trees);
    assert_eq!(from_ubjson.origin.format, "xgboost-ubjson");
}

#[test]
fn every_truncation_of_a_real_ubj_file_is_an_error() {
    let bytes = fixture_file("tiny_reg", "model.ubj");
    let cuts = every_truncation_fails(&bytes, 1, &LoadOptions::default());
    assert!(cuts > 3000, "{cuts}");
    assert_contains(&error(load(&bytes[..bytes.len() - 10])), &["UBJSON byte"]);
}

#[test]
fn damaged_ubjson_bytes_name_the_offset() {
    let mut bytes = fixture_file("tiny_reg", "model.ubj");
    // A count of 2^62 elements in the first typed array.
    let at = bytes.windows(3).position(|w| w == b"[$d").unwrap();
    bytes[at + 5..at + 13].copy_from_slice(&(1i64 << 62).to_be_bytes());
    assert_contains(&error(load(&bytes)), &["UBJSON byte", "elements"]);
    // An unknown type marker.
    let mut bytes = fixture_file("tiny_reg", "model.ubj");
    let at = bytes.windows(3).position(|w| w == b"SL\0").unwrap();
    bytes[at] = b'?';
    assert_contains(
        &error(load(&bytes)),
        &[&format!("UBJSON byte {at}"), "unknown type marker `?`"],
    );
}

#[test]
fn ubjson_with_a_wrong_field_names_the_field() {
    let mut v = fixture_json("tiny_reg", "model.json");
    v["learner"]["gradient_booster"]["model"]["trees"][1]["left_children"] = json!("1,3,5");
    assert_contains(
        &error(load(&to_ubjson(&v))),
        &[
            "learner.gradient_booster.model.trees[1].left_children",
            "invalid type",
        ],
    );
    let mut v = fixture_json("tiny_reg", "model.json");
    v["learner"]["gradient_booster"]["model"]["trees"][0]["split_conditions"]
        .as_array_mut()
        .unwrap()
        .pop();
    assert_contains(
        &error(load(&to_ubjson(&v))),
        &[
            "tree 0",
            "`split_conditions` has 6 entries but `left_children` has 7",
        ],
    );
}
