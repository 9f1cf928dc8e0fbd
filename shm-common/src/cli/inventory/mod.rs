//! What one IPC namespace holds, for a person ([`text()`]: `ipcs`-shaped
//! blocks, one per kind) or a script ([`json()`]: `lsipc --json`'s table
//! and column names beside ours). Both take what
//! [`session::inventory`](crate::session::inventory) collected; a listing
//! of many namespaces calls them once per namespace, with its own heading.

mod json;
mod text;

pub use json::json;
pub use text::{heading_here, text};

use crate::protocol::clock::Timestamp;
use crate::protocol::describe::Holds;
use crate::session::inventory::{Creator, Target};
use crate::transport::table::TableEntry;

/// The `ipcs -m` status words of a segment.
pub fn status(entry: &TableEntry) -> Vec<&'static str> {
    let mut status = Vec::new();
    if entry.more.dest {
        status.push("dest");
    }
    if entry.more.locked {
        status.push("locked");
    }
    status
}

/// A machine name for what a segment holds.
pub fn kind(holds: Option<&Holds>) -> &'static str {
    holds.map_or("unreadable", Holds::machine_name)
}

/// The phrase for what a segment holds.
pub fn summary(holds: Option<&Holds>) -> String {
    holds.map_or_else(
        || "no read permission for this user".to_owned(),
        |h| h.summary(Timestamp::now()),
    )
}

/// The kinds `ipcrm` removes by id.
#[derive(Debug, Clone, Copy)]
enum Object {
    Segment,
    Queue,
    Semaphores,
}

/// The command that removes object `id` of `target`'s namespace, entering
/// it first when it is not this process's.
fn ipcrm(target: &Target, object: Object, id: i32) -> String {
    let flag = match object {
        Object::Segment => "-m",
        Object::Queue => "-q",
        Object::Semaphores => "-s",
    };
    match target.enter_via {
        Some(pid) => format!("{} ipcrm {flag} {id}", enter(pid)),
        None => format!("ipcrm {flag} {id}"),
    }
}

/// The `nsenter` prefix that enters the IPC namespace of process `pid`.
fn enter(pid: u32) -> String {
    format!("nsenter --ipc=/proc/{pid}/ns/ipc")
}

/// Seconds from `since` (Unix seconds) to now; 0 for a time ahead.
fn age_secs(since: i64) -> u64 {
    u64::try_from(Timestamp::now().secs - since).unwrap_or(0)
}

/// A machine word for a creator.
fn creator_word(creator: &Creator) -> &'static str {
    match creator {
        Creator::Running { .. } => "running",
        Creator::Gone => "gone",
        Creator::Unknown(_) => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::namespace::Ns;
    use crate::transport::root::Root;

    #[test]
    fn ipcrm_enters_another_namespace() {
        let here = Target {
            ns: Ns(1),
            root: Root::here(),
            enter_via: None,
        };
        assert_eq!(ipcrm(&here, Object::Segment, 3), "ipcrm -m 3");
        let there = Target {
            enter_via: Some(42),
            root: Root::of_process(42),
            ..here
        };
        assert_eq!(
            ipcrm(&there, Object::Queue, 0),
            "nsenter --ipc=/proc/42/ns/ipc ipcrm -q 0"
        );
        assert_eq!(
            ipcrm(&there, Object::Semaphores, 7),
            "nsenter --ipc=/proc/42/ns/ipc ipcrm -s 7"
        );
    }
}
