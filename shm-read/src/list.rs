//! `--list`: everything this IPC namespace holds (System V segments with
//! what each holds and who is attached, message queues, semaphore sets,
//! POSIX message queues, and the files of `/dev/shm` apart), with leaks
//! flagged and the command that removes each. Read-only: segments are
//! attached `SHM_RDONLY` for a moment to look, never written, and nothing
//! is removed.

use shm_common::cli::console;
use shm_common::cli::exit::Exit;
use shm_common::cli::inventory;
use shm_common::cli::messages;
use shm_common::session::inventory::collect_here;
use shm_common::transport::users::Users;

use crate::output::Format;
use crate::Failure;

/// List what this namespace holds.
pub fn run(format: Format) -> Result<Exit, Failure> {
    let inv = collect_here().map_err(|e| (Exit::Failure, messages::no_table(e.path, &e.source)))?;
    let users = Users::load();
    let text = match format {
        Format::Json => format!("{}\n", inventory::json(&inv, &users)),
        _ => inventory::text(&inv, &inventory::heading_here(&inv), &users),
    };
    console::print(&text)?;
    Ok(Exit::Ok)
}
