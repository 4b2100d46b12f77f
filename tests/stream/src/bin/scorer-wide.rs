//! The scorer CLI over `Wide` (the binary classifier declared over 20,000 features).

fn main() -> std::process::ExitCode {
    timber_serve::scorer::main(timber_stream_tests::Wide)
}
