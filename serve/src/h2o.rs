//! H2O's rules for text cells ([`TextRule::H2o`](timber_runtime::TextRule::H2o)): what its
//! `PredictCsv` scorer (opencsv, then `EasyPredictModelWrapper`) makes of a cell, so that an
//! H2O model served by Timber reads the same file to the same row.
//!
//! - `""`, `NA`, `N/A` and `-` (exactly) are missing, in any column;
//! - a numerical cell is trimmed as Java trims (characters up to U+0020) and parsed as Java's
//!   `Double.parseDouble` parses it: `NaN`, `Infinity` and `-Infinity` are accepted, a decimal
//!   too large for a double is infinity, an `f`/`d` suffix is ignored; anything else is an
//!   error (hexadecimal floats, which Java also reads, are refused here);
//! - a categorical cell is a level name, never a code, compared untrimmed and
//!   case-sensitively; a name not in the domain is retried as `COLUMN.NAME` (H2O's
//!   `EnumEncoder`), and an unknown level is missing.

use std::collections::HashMap;
use timber_runtime::FeatureKind;

/// The value of one cell for a feature of `kind` named `name`, whose levels (categorical
/// features) are `levels`; `Ok(NaN)` for missing, `Err` with the reason when H2O would
/// refuse the cell.
pub(crate) fn parse_cell(
    cell: &str,
    kind: FeatureKind,
    levels: &HashMap<String, u32>,
    name: &str,
) -> Result<f64, String> {
    if matches!(cell, "" | "NA" | "N/A" | "-") {
        return Ok(f64::NAN);
    }
    match kind {
        FeatureKind::Categorical => {
            let code = levels
                .get(cell)
                .or_else(|| levels.get(&format!("{name}.{cell}")));
            Ok(code.map_or(f64::NAN, |&c| f64::from(c)))
        }
        FeatureKind::Numerical => {
            let trimmed = cell.trim_matches(|c: char| c <= ' ');
            java_double(trimmed).ok_or_else(|| {
                format!("`{cell}` is not a number (as Java's Double.parseDouble reads it)")
            })
        }
    }
}

/// Java's `Double.parseDouble` of a trimmed string, for its decimal forms: an optional sign,
/// then `NaN`, `Infinity`, or digits with an optional point and exponent and an optional
/// `f`/`F`/`d`/`D` suffix. Java's parse is correctly rounded, as Rust's is.
pub(crate) fn java_double(s: &str) -> Option<f64> {
    let (negative, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let value = match body {
        "NaN" => f64::NAN,
        "Infinity" => f64::INFINITY,
        _ => {
            let number = body.strip_suffix(['f', 'F', 'd', 'D']).unwrap_or(body);
            if !is_decimal(number) {
                return None;
            }
            number.parse::<f64>().ok()?
        }
    };
    Some(if negative { -value } else { value })
}

/// `digits [. digits] [(e|E) [+|-] digits]` with at least one mantissa digit (either side of
/// the point), and only ASCII digits: the decimal grammar Java and Rust share.
fn is_decimal(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |mut i: usize| {
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        (i, i - start)
    };
    let (mut i, whole) = digits(0);
    let mut fraction = 0;
    if i < b.len() && b[i] == b'.' {
        (i, fraction) = digits(i + 1);
    }
    if whole + fraction == 0 {
        return false;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        let (end, exponent) = digits(i);
        if exponent == 0 {
            return false;
        }
        i = end;
    }
    i == b.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_as_java_reads_them() {
        let bits = |s| java_double(s).map(f64::to_bits);
        assert_eq!(java_double("0.25"), Some(0.25));
        assert_eq!(java_double("+0.25"), Some(0.25));
        assert_eq!(java_double("1e400"), Some(f64::INFINITY));
        assert_eq!(java_double("-1e400"), Some(f64::NEG_INFINITY));
        assert_eq!(java_double("Infinity"), Some(f64::INFINITY));
        assert_eq!(java_double("-Infinity"), Some(f64::NEG_INFINITY));
        assert!(java_double("NaN").unwrap().is_nan());
        assert_eq!(bits("-0.0"), Some((-0.0f64).to_bits()));
        assert_eq!(java_double("4.9e-324"), Some(f64::from_bits(1)));
        assert_eq!(java_double("1.5f"), Some(1.5));
        assert_eq!(java_double("2D"), Some(2.0));
        assert_eq!(java_double(".5"), Some(0.5));
        assert_eq!(java_double("5."), Some(5.0));
        for bad in [
            "", ".", "inf", "infinity", "nan", "INFINITY", "1e", "e5", "1.5ff", "0x1p3", "1,5",
            "--1",
        ] {
            assert_eq!(java_double(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn cells_as_predictcsv_reads_them() {
        let levels: HashMap<String, u32> = [("blue", 0), ("red", 1), ("c.3", 2), ("7", 3)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        let cat = |cell| parse_cell(cell, FeatureKind::Categorical, &levels, "c").unwrap();
        assert_eq!(cat("red"), 1.0);
        assert_eq!(cat("7"), 3.0, "a number is a level name");
        assert_eq!(cat("3"), 2.0, "retried as COLUMN.NAME");
        for missing in ["", "NA", "N/A", "-", " blue", "blue ", "BLUE", "0", "1"] {
            assert!(cat(missing).is_nan(), "{missing:?}");
        }
        let num = |cell| parse_cell(cell, FeatureKind::Numerical, &levels, "x");
        assert_eq!(num(" 0.25"), Ok(0.25));
        assert_eq!(num("0.25 \t"), Ok(0.25));
        assert!(num("NA").unwrap().is_nan());
        assert!(num("-").unwrap().is_nan());
        assert!(num(" NA").is_err(), "only the exact token is missing");
        assert!(num("abc").unwrap_err().contains("`abc` is not a number"));
    }
}
