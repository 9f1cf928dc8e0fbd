//! `shm_write`: publish into a System V segment, as the classic C example
//! does, but keep the key across restarts, refuse to fight another writer,
//! and clean up on SIGTERM.

mod claim;
mod flags;
mod stream;
mod time;
mod value;

use std::process::ExitCode;

use clap::Parser;
use shm_common::cli::exit::Exit;
use shm_common::cli::failure;
pub use shm_common::cli::failure::Failure;

fn main() -> ExitCode {
    let args = flags::Args::parse();
    let run = if args.stream {
        stream::run
    } else if args.value.is_some() || args.stdin {
        value::run
    } else {
        time::run
    };
    match run(&args) {
        Ok(()) => Exit::Ok.into(),
        Err(failure) => failure::report("shm_write", failure).into(),
    }
}
