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
use std::path::Path;

use crate::cli::shell::shell_word;
use crate::session::inventory::{Creator, Target};
use crate::transport::procs::printable;
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

/// Why a namespace's POSIX objects are not listed when no process of it
/// was given to see its mounts through.
const NO_PROCESS: &str =
    "no process of this IPC namespace to see its mounts through (its /dev/mqueue and /dev/shm belong to its processes' mount namespace)";

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
    match &target.enter_via {
        Some(file) => format!("{} ipcrm {flag} {id}", enter(file)),
        None => format!("ipcrm {flag} {id}"),
    }
}

/// The `nsenter` prefix that enters the IPC namespace through `file`,
/// quoted for a shell where it needs it, control characters escaped.
fn enter(file: &Path) -> String {
    let path = printable(&file.to_string_lossy());
    format!("nsenter {}", shell_word(&format!("--ipc={path}")))
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

    /// A namespace seen through no process: its POSIX objects are said to
    /// be unlisted, in text and JSON, rather than shown from this root.
    #[test]
    fn a_namespace_without_a_process_lists_no_posix_objects() {
        use crate::session::inventory::{Inventory, Unlisted};
        use crate::transport::users::Users;
        let inv = Inventory {
            target: Target {
                ns: Ns(9),
                root: None,
                enter_via: Some("/run/ipcns/a".into()),
            },
            segments: Vec::new(),
            messages: Vec::new(),
            semaphores: Vec::new(),
            posix_messages: Err(Unlisted::NoProcess),
            posix_shm: Err(Unlisted::NoProcess),
        };
        let users = Users::default();
        let shown = text(&inv, "IPC namespace ipc:[9]", &users);
        assert!(
            shown.contains(&format!(
                "\nPOSIX message queues: not listed: {NO_PROCESS}\n"
            )),
            "{shown}"
        );
        assert!(
            shown.contains(&format!(
                "\nPOSIX shared memory (/dev/shm): not listed: {NO_PROCESS}\n"
            )),
            "{shown}"
        );
        let value = json(&inv, &users);
        assert_eq!(value["posix-messages"], serde_json::Value::Null);
        assert_eq!(value["posix-sharedmemory-unavailable"], NO_PROCESS);
        assert_eq!(value["namespace"]["enter"], "nsenter --ipc=/run/ipcns/a");
    }

    #[test]
    fn ipcrm_enters_another_namespace() {
        let here = Target {
            ns: Ns(1),
            root: Some(Root::here()),
            enter_via: None,
        };
        assert_eq!(ipcrm(&here, Object::Segment, 3), "ipcrm -m 3");
        let there = Target::of_process(Ns(1), 42);
        assert_eq!(
            ipcrm(&there, Object::Queue, 0),
            "nsenter --ipc=/proc/42/ns/ipc ipcrm -q 0"
        );
        assert_eq!(
            ipcrm(&there, Object::Semaphores, 7),
            "nsenter --ipc=/proc/42/ns/ipc ipcrm -s 7"
        );
        let mounted = Target {
            enter_via: Some("/run/ipc ns/it's".into()),
            root: None,
            ..here
        };
        assert_eq!(
            ipcrm(&mounted, Object::Segment, 1),
            r"nsenter '--ipc=/run/ipc ns/it'\''s' ipcrm -m 1"
        );
    }
}
