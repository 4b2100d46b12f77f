//! What the JSON frontends share: path-aware parsing into typed structs, numbers read from
//! their exact text, and the non-standard tokens (`NaN`, `Infinity`) that Python's `json` and
//! older XGBoost write.

use super::LoadError;
use serde::de::DeserializeOwned;
use serde_json::Number;
use std::borrow::Cow;

/// A [`LoadError::Malformed`] for `path`.
pub(crate) fn malformed(path: &str, detail: impl Into<String>) -> LoadError {
    LoadError::Malformed {
        path: path.into(),
        detail: detail.into(),
    }
}

/// Parses JSON bytes into `T`; an error names the field's path (`learner.objective.name`)
/// or the line and column of a syntax error. Non-standard number tokens are read first
/// ([`standard_numbers`]).
pub(crate) fn parse<T: DeserializeOwned>(bytes: &[u8], path: &str) -> Result<T, LoadError> {
    let text = standard_numbers(bytes);
    let de = &mut serde_json::Deserializer::from_slice(&text);
    serde_path_to_error::deserialize(de).map_err(|e| at_path(path, e))
}

/// Deserializes a parsed value into `T`, with errors naming the field's path.
pub(crate) fn from_value<T: DeserializeOwned>(
    value: serde_json::Value,
    path: &str,
) -> Result<T, LoadError> {
    serde_path_to_error::deserialize(value).map_err(|e| at_path(path, e))
}

fn at_path<E: std::fmt::Display>(path: &str, e: serde_path_to_error::Error<E>) -> LoadError {
    malformed(path, format!("at `{}`: {}", e.path(), e.inner()))
}

/// Rewrites the number tokens that are not JSON, outside strings: `NaN` and `-NaN` (older
/// XGBoost's dummy threshold of categorical nodes; Python's `json` for a float NaN) become
/// `null`, a missing number; `Infinity` and `-Infinity` (Python's `json` for an infinite
/// float, e.g. a LightGBM or scikit-learn threshold splitting the missing values from every
/// number) become `1e999` and `-1e999`, which the number readers here parse to ±infinity.
pub(crate) fn standard_numbers(bytes: &[u8]) -> Cow<'_, [u8]> {
    if !bytes.windows(3).any(|w| w == b"NaN" || w == b"Inf") {
        return bytes.into();
    }
    const TOKENS: [(&[u8], &[u8]); 4] = [
        (b"-NaN", b"null"),
        (b"NaN", b"null"),
        (b"-Infinity", b"-1e999"),
        (b"Infinity", b"1e999"),
    ];
    let mut out = Vec::with_capacity(bytes.len() + 16);
    let (mut in_string, mut escaped) = (false, false);
    let mut i = 0;
    'bytes: while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
        } else if b == b'"' {
            in_string = true;
        } else {
            for (token, replacement) in TOKENS {
                if bytes[i..].starts_with(token) {
                    out.extend_from_slice(replacement);
                    i += token.len();
                    continue 'bytes;
                }
            }
        }
        out.push(b);
        i += 1;
    }
    out.into()
}

/// A JSON number as `f64`, from its exact text (correctly rounded; `1e999` is +infinity).
pub(crate) fn f64_of(n: &Number, path: &str, what: &dyn Fn() -> String) -> Result<f64, LoadError> {
    let text = n.to_string();
    text.parse::<f64>()
        .map_err(|_| malformed(path, format!("{}: `{text}` is not a number", what())))
}

/// A finite JSON number as `f64`.
pub(crate) fn finite_f64_of(
    n: &Number,
    path: &str,
    what: &dyn Fn() -> String,
) -> Result<f64, LoadError> {
    let v = f64_of(n, path, what)?;
    if !v.is_finite() {
        return Err(malformed(
            path,
            format!("{}: `{n}` is not a finite number", what()),
        ));
    }
    Ok(v)
}

/// A float token parsed straight to `f32` (never through `f64`, which would round twice).
pub(crate) fn f32_of_text(
    text: &str,
    path: &str,
    what: &dyn Fn() -> String,
) -> Result<f32, LoadError> {
    text.trim()
        .parse::<f32>()
        .map_err(|_| malformed(path, format!("{}: `{text}` is not a number", what())))
}

/// A JSON number parsed straight to `f32`.
pub(crate) fn f32_of(n: &Number, path: &str, what: &dyn Fn() -> String) -> Result<f32, LoadError> {
    f32_of_text(&n.to_string(), path, what)
}

/// A non-negative integer written as text (XGBoost writes counts as strings).
pub(crate) fn count_of_text(text: &str, path: &str, field: &str) -> Result<usize, LoadError> {
    text.trim().parse::<usize>().map_err(|_| {
        malformed(
            path,
            format!("`{field}`: `{text}` is not a non-negative integer"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_standard_tokens_outside_strings_become_json() {
        let out =
            standard_numbers(br#"{"a":[NaN,-NaN,1,Infinity,-Infinity],"NaN":"x NaN Infinity"}"#);
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            r#"{"a":[null,null,1,1e999,-1e999],"NaN":"x NaN Infinity"}"#
        );
    }

    #[test]
    fn infinite_numbers_parse_from_their_replacement() {
        let v: Vec<Number> =
            serde_json::from_slice(&standard_numbers(b"[Infinity, -Infinity, 0.5]")).unwrap();
        let none = String::new;
        assert_eq!(f64_of(&v[0], "m", &none).unwrap(), f64::INFINITY);
        assert_eq!(f64_of(&v[1], "m", &none).unwrap(), f64::NEG_INFINITY);
        assert!(finite_f64_of(&v[0], "m", &none).is_err());
        assert_eq!(finite_f64_of(&v[2], "m", &none).unwrap(), 0.5);
    }

    #[test]
    fn floats_parse_straight_to_f32() {
        // 1.00000005960464477539 is exactly halfway between two f32s; through f64 it would
        // round twice. Parsed straight from text it rounds once, to even.
        let direct = f32_of_text("1.000000059604644775390625000001", "m", &String::new).unwrap();
        assert_eq!(direct, 1.0000001f32);
        let via_f64 = "1.000000059604644775390625000001".parse::<f64>().unwrap() as f32;
        assert_ne!(direct.to_bits(), via_f64.to_bits());
    }
}
