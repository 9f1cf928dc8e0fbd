//! `shm_write`: publish into a System V segment, as the classic C example
//! does, but keep the key across restarts, refuse to fight another writer,
//! and clean up on SIGTERM.

mod flags;
mod time;

use std::process::ExitCode;

use clap::Parser;
use shm_common::cli::exit::Exit;

/// What ends a run early: the status and the sentence to print.
pub type Failure = (Exit, String);

fn main() -> ExitCode {
    let args = flags::Args::parse();
    match time::run(&args) {
        Ok(()) => Exit::Ok.into(),
        Err((exit, message)) => {
            eprintln!("shm_write: error: {message}");
            exit.into()
        }
    }
}
