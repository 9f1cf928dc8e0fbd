//! `shm_read`: print what a writer publishes in System V shared memory, as
//! the classic C example does, but never create a segment, flush every
//! line, and explain on stderr why no writer answers.

mod all_namespaces;
mod flags;
mod follow;
mod hex;
mod inspect;
mod list;
mod mqueue;
mod ns_names;
mod output;
mod report;
mod stop;
mod stream;

use std::process::ExitCode;

use shm_common::cli::exit::{Exit, Tool};
use shm_common::cli::failure;
pub use shm_common::cli::failure::Failure;
use shm_common::cli::messages;
use shm_common::transport::signals::StopSignals;

use crate::flags::{Args, Mode};

fn main() -> ExitCode {
    let mode =
        shm_common::cli::flags::parse::<Args>(Tool::Reader, env!("SHM_TOOLS_BUILD_COMMIT")).mode();
    run(mode)
        .unwrap_or_else(|failure| failure::report("shm_read", failure))
        .into()
}

/// Run `mode`. Only the modes that wait take over the stop signals: a
/// listing stays stoppable by the default SIGINT and SIGTERM.
fn run(mode: Mode) -> Result<Exit, Failure> {
    let signals =
        || StopSignals::install().map_err(|e| (Exit::Failure, messages::signals_setup(e)));
    match mode {
        Mode::Follow(follow) => follow::run(&follow, &signals()?),
        Mode::Stream(stream) => stream::run(&stream, &signals()?),
        Mode::Mqueue(mqueue) => mqueue::run(&mqueue, &signals()?),
        Mode::InspectQueue(name, format) => mqueue::inspect(&name, format),
        Mode::List(format) => list::run(format),
        Mode::ListAll(format) => all_namespaces::run(format),
        Mode::Inspect(inspect) => inspect::run(&inspect),
    }
}
