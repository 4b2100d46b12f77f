//! The scorer CLI over `BinaryLogistic`, exactly as a generated crate's `main.rs`.

fn main() -> std::process::ExitCode {
    timber_serve::scorer::main(timber_stream_tests::BinaryLogistic)
}
