//! `timber::model!`: compiles a model file into Rust while the crate builds.
//!
//! ```ignore
//! timber::model!(pub Churn, "models/churn.json");
//! timber::model!(ChurnNested, "models/churn.json", layout = "nested");
//! ```
//!
//! `layout` is `"auto"` (the default: the fastest layout per tree), `"tables"`, `"quick"`,
//! `"nodes"` or `"nested"`; see `timber_codegen::emit::Layout`.
//!
//! The path is relative to the crate's `CARGO_MANIFEST_DIR`. The expansion includes the
//! model file with `include_bytes!`, so Cargo rebuilds when the file changes. All the work
//! is done by `timber-codegen`; this crate only parses the invocation.

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

use proc_macro::TokenStream;
use proc_macro2::Span;
use quote::quote;
use std::path::PathBuf;
use syn::parse::{Parse, ParseStream};
use syn::{Ident, LitStr, Token, Visibility};
use timber_codegen::emit::Layout;

struct Invocation {
    vis: Visibility,
    name: Ident,
    path: LitStr,
    layout: Layout,
}

impl Parse for Invocation {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let vis = input.parse()?;
        let name = input.parse()?;
        input.parse::<Token![,]>()?;
        let path = input.parse()?;
        let mut layout = Layout::Auto;
        if input.parse::<Option<Token![,]>>()?.is_some() && !input.is_empty() {
            let key: Ident = input.parse()?;
            if key != "layout" {
                return Err(syn::Error::new(key.span(), "expected `layout = \"...\"`"));
            }
            input.parse::<Token![=]>()?;
            let value: LitStr = input.parse()?;
            layout = Layout::from_name(&value.value()).ok_or_else(|| {
                syn::Error::new(
                    value.span(),
                    format!(
                        "unknown layout `{}` (expected \"auto\", \"tables\", \"quick\", \"nodes\" or \"nested\")",
                        value.value()
                    ),
                )
            })?;
            let _ = input.parse::<Option<Token![,]>>()?;
        }
        Ok(Invocation {
            vis,
            name,
            path,
            layout,
        })
    }
}

/// `model!(VIS NAME, "PATH")`: defines the unit struct `NAME` implementing
/// `timber::Model` for the model file at `PATH` (relative to `CARGO_MANIFEST_DIR`).
/// An optional `layout = "auto" | "tables" | "quick" | "nodes" | "nested"` picks the code
/// layout.
#[proc_macro]
pub fn model(input: TokenStream) -> TokenStream {
    let inv = syn::parse_macro_input!(input as Invocation);
    match expand(&inv) {
        Ok(tokens) => tokens.into(),
        Err(message) => syn::Error::new(inv.path.span(), message)
            .to_compile_error()
            .into(),
    }
}

fn expand(inv: &Invocation) -> Result<proc_macro2::TokenStream, String> {
    let rel = inv.path.value();
    let base = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_default();
    let full = base.join(&rel);
    let bytes =
        std::fs::read(&full).map_err(|e| format!("timber: cannot read {}: {e}", full.display()))?;
    let forest =
        timber_codegen::load::load_bytes(&bytes, &rel, &timber_codegen::LoadOptions::default())
            .map_err(|e| format!("timber: {e}"))?;
    let vis = &inv.vis;
    let options = timber_codegen::emit::EmitOptions {
        type_name: inv.name.to_string(),
        runtime_path: "::timber::runtime".into(),
        visibility: quote!(#vis).to_string(),
        layout: inv.layout,
    };
    let emitted =
        timber_codegen::emit::emit(&forest, &options).map_err(|e| format!("timber: {e}"))?;
    let body = timber_codegen::emit::inline_tokens(&emitted);
    let full_str = LitStr::new(&full.to_string_lossy(), Span::call_site());
    Ok(quote! {
        // Makes Cargo rebuild this crate when the model file changes.
        const _: &[u8] = include_bytes!(#full_str);
        #body
    })
}
