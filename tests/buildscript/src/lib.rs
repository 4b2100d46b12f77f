//! Every fixture model, compiled by `build.rs` through `timber_codegen::Config` and included
//! from `OUT_DIR`. The tests hold each to the training library's predictions bit for bit.

include!(concat!(env!("OUT_DIR"), "/all.rs"));
