//! `shm_read`: print what a writer publishes in System V shared memory, as
//! the classic C example does, but never create a segment, flush every
//! line, and explain on stderr why no writer answers.

mod flags;
mod follow;
mod inspect;
mod list;
mod output;
mod report;
mod stop;
mod stream;

use std::process::ExitCode;

use clap::Parser;
use shm_common::cli::failure;
pub use shm_common::cli::failure::Failure;

fn main() -> ExitCode {
    let args = flags::Args::parse();
    let run = if args.stream {
        stream::run
    } else if args.list {
        list::run
    } else if args.inspect {
        inspect::run
    } else {
        follow::run
    };
    match run(&args) {
        Ok(exit) => exit,
        Err(failure) => failure::report("shm_read", failure),
    }
    .into()
}
