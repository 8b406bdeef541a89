//! `edge-node`: a Bacalhau-compatible WASM runner. All logic lives in the library (`cli.rs`).
#![forbid(unsafe_code)]
fn main() -> std::process::ExitCode {
    edge_node::cli::main(
        std::env::args_os()
            .skip(1)
            .map(|a| a.to_string_lossy().into_owned())
            .collect(),
    )
}
