//! `edgevae`: a thin command line over the edgevae-trainer library.

use std::process::ExitCode;

use clap::Parser;

mod bench;
mod cli;

// candle allocates a tensor per op; glibc's allocator makes that several times slower.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("edgevae: {err:#}");
            ExitCode::from(2)
        }
    }
}
