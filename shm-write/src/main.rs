//! `shm_write`: publish into a System V segment, as the classic C example
//! does, but keep the key across restarts, refuse to fight another writer,
//! and clean up on SIGTERM.

mod claim;
mod flags;
mod lines;
mod mqueue;
mod stream;
mod time;
mod value;

use std::process::ExitCode;

use shm_common::cli::exit::{Exit, Tool};
use shm_common::cli::failure;
pub use shm_common::cli::failure::Failure;
use shm_common::cli::messages;
use shm_common::transport::signals::StopSignals;

use crate::flags::{Args, Mode};

fn main() -> ExitCode {
    let mode =
        shm_common::cli::flags::parse::<Args>(Tool::Writer, env!("SHM_TOOLS_BUILD_COMMIT")).mode();
    match run(mode) {
        Ok(()) => Exit::Ok,
        Err(failure) => failure::report("shm_write", failure),
    }
    .into()
}

/// Run `mode`, with the stop signals taken over: every mode cleans up
/// (removes its segment) when one arrives.
fn run(mode: Mode) -> Result<(), Failure> {
    let signals =
        StopSignals::install().map_err(|e| (Exit::Failure, messages::signals_setup(e)))?;
    match mode {
        Mode::Time(time) => time::run(&time, &signals),
        Mode::Value(value) => value::run(&value, &signals),
        Mode::Stream(stream) => stream::run(&stream, &signals),
        Mode::Mqueue(mqueue) => mqueue::run(&mqueue, &signals),
    }
}
