//! What the data layouts share in generated code: a blob built in the model's precision,
//! and the `static` that holds it, checked on first use (`timber_runtime::lazy`).

use super::keys::EmitFloat;
use super::{lit, Ctx};
use crate::ir::Precision;
use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;
use std::ops::Range;

/// A data layout whose trees generated code embeds as a blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobLayout {
    /// Complete-tree tables (`timber_runtime::tables`).
    Tables,
    /// Node arrays (`timber_runtime::nodes`).
    Nodes,
    /// QuickScorer bit vectors (`timber_runtime::quick`).
    Quick,
}

/// What generated code calls a layout's items.
struct Names {
    /// The `const` holding the blob's bytes.
    blob: &'static str,
    /// The `static` holding the checked layout.
    name: &'static str,
    /// The runtime's module of the layout.
    module: &'static str,
    /// The runtime's lazily checked type of the layout.
    lazy: &'static str,
    /// What the layout is called in doc comments.
    what: &'static str,
}

impl BlobLayout {
    fn names(self) -> Names {
        let (blob, name, module, lazy, what) = match self {
            BlobLayout::Tables => (
                "BLOB",
                "TABLES",
                "tables",
                "LazyTables",
                "complete-tree tables",
            ),
            BlobLayout::Nodes => ("NODE_BLOB", "NODES", "nodes", "LazyNodes", "node arrays"),
            BlobLayout::Quick => (
                "QUICK_BLOB",
                "QUICK",
                "quick",
                "LazyQuick",
                "bit-vector trees",
            ),
        };
        Names {
            blob,
            name,
            module,
            lazy,
            what,
        }
    }

    /// Adds this layout's trees `trees` (indices into its blob) to one row's margins `m`.
    pub(crate) fn row_step(self, module: &Ident, trees: Range<usize>) -> TokenStream {
        let (name, a, b) = (ident(self.names().name), lit(trees.start), lit(trees.end));
        // Node arrays also read the row's values (special splits, linear leaves).
        let row = (self == BlobLayout::Nodes).then(|| quote!(x,));
        quote!(#module::#name.get().add_row(#a..#b, #row &keys, &mut m);)
    }

    /// Adds this layout's trees `trees` to a batch's blocks `b`.
    pub(crate) fn block_step(self, module: &Ident, trees: Range<usize>) -> TokenStream {
        let (name, a, b) = (ident(self.names().name), lit(trees.start), lit(trees.end));
        quote!(#module::#name.get().add_block(b, #a..#b);)
    }

    /// The blob's file name when the model is written as files.
    pub fn file_name(self) -> &'static str {
        match self {
            BlobLayout::Tables => "tables.bin",
            BlobLayout::Nodes => "nodes.bin",
            BlobLayout::Quick => "quick.bin",
        }
    }
}

/// A model's blob of one layout, as generated code embeds it.
#[derive(Debug, Clone)]
pub struct LayoutBlob {
    /// The blob.
    pub bytes: Vec<u8>,
    /// Its layout.
    pub layout: BlobLayout,
    /// The float types of the layout's runtime type: `f32` for `Tables<f32>`, `f32, f64`
    /// for `Nodes<f32, f64>`.
    floats: TokenStream,
}

impl LayoutBlob {
    /// A blob of `layout` whose runtime type takes the float types `floats`.
    pub(crate) fn new(layout: BlobLayout, bytes: Vec<u8>, floats: TokenStream) -> LayoutBlob {
        LayoutBlob {
            bytes,
            layout,
            floats,
        }
    }

    /// The layout's `static` in the model's private module (`TABLES`, `NODES` or `QUICK`):
    /// the blob (`value`, an `&Aligned<[u8]>` expression), checked on first use.
    pub(crate) fn static_item(&self, rt: &TokenStream, value: TokenStream) -> TokenStream {
        let n = self.layout.names();
        let (blob, name) = (ident(n.blob), ident(n.name));
        let (module, lazy) = (ident(n.module), ident(n.lazy));
        let blob_doc = format!(" The {}' bytes (see `timber_runtime::{module}`).", n.what);
        let doc = format!(" The {}, checked on first use.", n.what);
        let floats = &self.floats;
        // A `const` initializer extends the blob's borrow to `'static`; a function argument
        // in a `static` initializer would not.
        quote! {
            #[doc = #blob_doc]
            const #blob: &#rt::tables::Aligned<[u8]> = #value;
            #[doc = #doc]
            pub(crate) static #name: #rt::#module::#lazy<#floats> = #rt::#module::#lazy::new(#blob);
        }
    }
}

/// A layout's encoder, generic over the input (`I`) and sum (`O`) float types.
pub(crate) trait Encode {
    /// The blob of a model of `nf` features and `ng` groups, in these precisions.
    fn encode<I: EmitFloat, O: EmitFloat>(&self, nf: usize, ng: usize) -> Vec<u8>;
}

/// `encoder`'s blob in the model's precision.
pub(crate) fn encode_in(ctx: &Ctx, encoder: &impl Encode) -> Vec<u8> {
    let (nf, ng) = (ctx.nf, ctx.ng);
    match ctx.precision {
        Precision::F32 => encoder.encode::<f32, f32>(nf, ng),
        Precision::F64 => encoder.encode::<f64, f64>(nf, ng),
        Precision::F32InF64Sum => encoder.encode::<f32, f64>(nf, ng),
    }
}

fn ident(name: &str) -> Ident {
    Ident::new(name, Span::call_site())
}
