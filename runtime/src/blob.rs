//! Reading the layouts' blobs: little-endian fields, the header the node and bit-vector
//! layouts share, and sections mapped without copying where the bytes allow.

use alloc::borrow::Cow;
use alloc::format;
use alloc::string::String;

/// A 64-byte-aligned value: generated code wraps each layout's blob in it
/// (`&Aligned(*include_bytes!(...))`) so the layout can map its records without copying.
#[repr(C, align(64))]
pub struct Aligned<T: ?Sized>(pub T);

/// The little-endian `u32` at byte `at` (the caller has checked the bounds).
pub(crate) fn u32_at(blob: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([blob[at], blob[at + 1], blob[at + 2], blob[at + 3]])
}

/// The little-endian `f64` at byte `at` (the caller has checked the bounds).
pub(crate) fn f64_at(blob: &[u8], at: usize) -> f64 {
    f64::from_le_bytes(blob[at..at + 8].try_into().unwrap_or_default())
}

/// Checks the start of a blob whose header is `header_bytes` long and holds `u32` fields after
/// the magic: the format version, then the key and value widths in bytes. Returns a reader of
/// header field `i` (0 is the version), or what is wrong; `name` says what the blob should be.
pub(crate) fn check_header<'a>(
    blob: &'a [u8],
    magic: [u8; 4],
    header_bytes: usize,
    name: &str,
    version: u32,
    key_bytes: usize,
    value_bytes: usize,
) -> Result<impl Fn(usize) -> usize + 'a, String> {
    if blob.len() < header_bytes || blob[..4] != magic {
        return Err(format!("not a Timber {name} blob"));
    }
    let header = move |i: usize| u32_at(blob, 4 + 4 * i) as usize;
    if header(0) != version as usize {
        return Err(format!("format version {} (expected {version})", header(0)));
    }
    if header(1) != key_bytes || header(2) != value_bytes {
        return Err(format!(
            "{}-byte keys and {}-byte values, but the model reads {key_bytes}-byte keys and \
             sums {value_bytes}-byte floats",
            header(1),
            header(2),
        ));
    }
    Ok(header)
}

/// A section as a typed slice: borrowed when the bytes are aligned little-endian, else
/// decoded into a copy.
pub(crate) fn section<T: Copy + 'static>(
    bytes: &'static [u8],
    decode: impl Fn(&[u8]) -> T,
) -> Cow<'static, [T]> {
    let size = core::mem::size_of::<T>();
    if cfg!(target_endian = "little") {
        // SAFETY: `T` is u32, u64, f32 or f64: every bit pattern is a valid value, and
        // `align_to` only reinterprets the aligned middle part.
        let (head, mid, tail) = unsafe { bytes.align_to::<T>() };
        if head.is_empty() && tail.is_empty() {
            return Cow::Borrowed(mid);
        }
    }
    Cow::Owned(bytes.chunks_exact(size).map(decode).collect())
}

/// The accessors every layout has (`num_features`, `num_groups`, `num_trees`), inside its
/// `impl` block; the layout has fields `num_features`, `num_groups` and `trees`.
macro_rules! shape_accessors {
    () => {
        /// Input features per row.
        pub fn num_features(&self) -> usize {
            self.num_features
        }

        /// Margins per row.
        pub fn num_groups(&self) -> usize {
            self.num_groups
        }

        /// Trees held, in model order.
        pub fn num_trees(&self) -> usize {
            self.trees.len()
        }
    };
}
pub(crate) use shape_accessors;
