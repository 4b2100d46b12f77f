//! Writing predictions: one line per row, values separated by commas, each float in Rust's
//! shortest round-trip form, so that parsing the text gives back the exact bits.

use crate::model::Float;
use std::io::{self, Write};

/// Writes one row of outputs as a CSV line.
pub fn write_csv_line<W: Write, F: Float>(w: &mut W, values: &[F]) -> io::Result<()> {
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            w.write_all(b",")?;
        }
        write!(w, "{v}")?;
    }
    w.write_all(b"\n")
}
