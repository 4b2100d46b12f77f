//! Layouts checked on first use: what a generated model keeps its blobs in, e.g.
//! `static TABLES: LazyTables<f32> = LazyTables::new(BLOB);` with `BLOB` an
//! `&'static Aligned<[u8]>`. [`Lazy`] is written once for every layout
//! ([`crate::tables::LazyTables`], [`crate::nodes::LazyNodes`],
//! [`crate::quick::LazyQuick`] are aliases of it).

use crate::blob::Aligned;
use alloc::boxed::Box;
use core::fmt::Display;

/// A layout that is read from, and checked in, a blob that a generated model embeds.
pub trait FromBlob: Sized {
    /// Why a blob is not valid.
    type Error: Display;

    /// What the layout is called in the panic message of [`Lazy::get`], e.g. `"tables"`.
    const NAME: &'static str;

    /// Checks `blob` and maps it.
    ///
    /// # Errors
    ///
    /// When the blob is not a valid layout of this type.
    fn from_blob(blob: &'static [u8]) -> Result<Self, Self::Error>;
}

/// A layout checked on first use. Works without `std` (a racing first use may check the
/// blob twice; one result is kept).
pub struct Lazy<T> {
    blob: &'static Aligned<[u8]>,
    value: once_cell::race::OnceBox<T>,
}

impl<T: FromBlob> Lazy<T> {
    /// A layout that will be read from `blob`.
    pub const fn new(blob: &'static Aligned<[u8]>) -> Self {
        Lazy {
            blob,
            value: once_cell::race::OnceBox::new(),
        }
    }

    /// The checked layout.
    ///
    /// # Panics
    ///
    /// When the blob is not valid for this layout and these precisions: a bug in the
    /// generator.
    #[inline]
    pub fn get(&self) -> &T {
        self.value.get_or_init(|| match T::from_blob(&self.blob.0) {
            Ok(v) => Box::new(v),
            Err(e) => panic!("Timber-generated {} are invalid: {e}", T::NAME),
        })
    }
}

/// `FromBlob` for a layout: `Layout<params> where [bounds] => its error, "its name"`, read
/// by the layout's own `new`. Each layout says it next to its type.
macro_rules! from_blob {
    ($layout:ident<$($p:ident),*> where [$($bounds:tt)*] => $error:ty, $name:literal) => {
        impl<$($bounds)*> $crate::lazy::FromBlob for $layout<$($p),*> {
            type Error = $error;
            const NAME: &'static str = $name;

            fn from_blob(blob: &'static [u8]) -> Result<Self, $error> {
                $layout::new(blob)
            }
        }
    };
}
pub(crate) use from_blob;
