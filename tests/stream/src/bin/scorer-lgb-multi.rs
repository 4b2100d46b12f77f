//! The scorer CLI over `LgbMulticlass` (LightGBM, f64), exactly as a generated crate's
//! `main.rs`.

fn main() -> std::process::ExitCode {
    timber_serve::scorer::main(timber_stream_tests::LgbMulticlass)
}
